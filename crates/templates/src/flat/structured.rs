//! STRUCTURED ⇄ FLAT: the same paths, nested.
//!
//! Each id is a key whose value is an array with one member per index (EHRbase writes
//! arrays for every node, multiple or not); a member is an object of child ids and
//! `|suffix` keys, or a primitive when the node has only its bare value. A bare value next
//! to suffixes is kept under the key `""`. On input a single object or value is read as a
//! one-member array. `ctx` is an object of the `ctx/` names. Converting through FLAT keeps
//! one grammar (the FLAT one, with its checks) for both formats.

use serde_json::{Map, Value};

use super::FormatError;

pub(super) fn to_flat(structured: &Value) -> Result<Map<String, Value>, FormatError> {
    let Value::Object(top) = structured else {
        return Err(FormatError::new("/", "expected an object"));
    };
    let mut flat = Map::new();
    for (key, value) in top {
        if key == "ctx" {
            let Value::Object(context) = value else {
                return Err(FormatError::new("/ctx", "expected an object"));
            };
            for (name, value) in context {
                read_member(
                    &format!("ctx/{name}"),
                    &format!("/ctx/{name}"),
                    value,
                    &mut flat,
                )?;
            }
            continue;
        }
        read_node(key, &format!("/{key}"), value, &mut flat, true)?;
    }
    Ok(flat)
}

/// A node: an array of members, or one member.
fn read_node(
    path: &str,
    json_path: &str,
    value: &Value,
    flat: &mut Map<String, Value>,
    root: bool,
) -> Result<(), FormatError> {
    match value {
        Value::Array(members) => {
            for (index, member) in members.iter().enumerate() {
                let indexed = if root || members.len() == 1 && index == 0 {
                    path.to_owned()
                } else {
                    format!("{path}:{index}")
                };
                read_member(&indexed, &format!("{json_path}/{index}"), member, flat)?;
            }
            Ok(())
        }
        member => read_member(path, json_path, member, flat),
    }
}

fn read_member(
    path: &str,
    json_path: &str,
    member: &Value,
    flat: &mut Map<String, Value>,
) -> Result<(), FormatError> {
    match member {
        Value::Object(fields) => {
            for (key, value) in fields {
                let field_path = format!("{json_path}/{key}");
                if key.is_empty() {
                    insert(flat, path.to_owned(), value, &field_path)?;
                } else if key.starts_with('|') {
                    insert(flat, format!("{path}{key}"), value, &field_path)?;
                } else {
                    read_node(&format!("{path}/{key}"), &field_path, value, flat, false)?;
                }
            }
            Ok(())
        }
        Value::Array(_) => Err(FormatError::new(json_path, "an array inside an array")),
        primitive => insert(flat, path.to_owned(), primitive, json_path),
    }
}

fn insert(
    flat: &mut Map<String, Value>,
    key: String,
    value: &Value,
    json_path: &str,
) -> Result<(), FormatError> {
    if matches!(value, Value::Array(_) | Value::Object(_)) {
        return Err(FormatError::new(json_path, "expected a primitive value"));
    }
    if flat.insert(key, value.clone()).is_some() {
        return Err(FormatError::new(json_path, "the same value is given twice"));
    }
    Ok(())
}

/// Nests FLAT keys; every node becomes an array, indexes giving the positions.
pub(super) fn from_flat(flat: &Map<String, Value>) -> Value {
    let mut top = Map::new();
    for (key, value) in flat {
        if let Some(name) = key.strip_prefix("ctx/") {
            let context = top
                .entry("ctx")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(context) = context {
                context.insert(name.to_owned(), value.clone());
            }
            continue;
        }
        let (path, suffix) = match key.rfind('/') {
            Some(slash) => match key[slash..].find('|') {
                Some(bar) => (&key[..slash + bar], Some(&key[slash + bar..])),
                None => (key.as_str(), None),
            },
            None => match key.find('|') {
                Some(bar) => (&key[..bar], Some(&key[bar..])),
                None => (key.as_str(), None),
            },
        };
        let mut current = &mut top;
        let segments: Vec<&str> = path.split('/').collect();
        for (position, segment) in segments.iter().enumerate() {
            let (id, index) = match segment.split_once(':') {
                Some((id, index)) => (id, index.parse::<usize>().unwrap_or(0)),
                None => (*segment, 0),
            };
            let entry = current
                .entry(id.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            let Value::Array(members) = entry else {
                break;
            };
            while members.len() <= index {
                members.push(Value::Object(Map::new()));
            }
            let member = &mut members[index];
            if !member.is_object() {
                let bare = std::mem::take(member);
                let mut object = Map::new();
                object.insert(String::new(), bare);
                *member = Value::Object(object);
            }
            let Value::Object(member) = member else {
                break;
            };
            if position + 1 == segments.len() {
                member.insert(suffix.unwrap_or_default().to_owned(), value.clone());
            }
            current = member;
        }
    }
    let mut result = Value::Object(top);
    collapse(&mut result);
    result
}

/// A member holding only its bare value becomes that value.
fn collapse(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                collapse(child);
            }
        }
        Value::Array(members) => {
            for member in members.iter_mut() {
                collapse(member);
                if let Value::Object(map) = member
                    && map.len() == 1
                    && let Some(bare) = map.get("")
                {
                    *member = bare.clone();
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flat_and_structured_convert_both_ways() {
        let flat = json!({
            "ctx/language": "en",
            "t/a:0/b|code": "at1",
            "t/a:0/b|value": "One",
            "t/a:1/c": 3,
            "t/d": "text",
        });
        let Value::Object(flat) = flat else { return };
        let structured = from_flat(&flat);
        assert_eq!(
            structured,
            json!({
                "ctx": {"language": "en"},
                "t": [{
                    "a": [{"b": [{"|code": "at1", "|value": "One"}]}, {"c": [3]}],
                    "d": ["text"],
                }],
            })
        );
        let back = to_flat(&structured).expect("valid structured");
        assert_eq!(back.get("t/a:1/c"), Some(&json!(3)));
        assert_eq!(back.get("t/a:0/b|code"), Some(&json!("at1")));
        assert_eq!(back.get("t/d"), Some(&json!("text")));
    }
}
