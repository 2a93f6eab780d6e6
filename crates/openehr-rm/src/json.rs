//! Canonical openEHR JSON: reading into and writing from the generic RM tree.
//!
//! Every object is written with `_type` first and its attributes in metadata order. On input
//! `_type` may be omitted where the declared type is concrete; generic arguments in `_type`
//! (`DV_INTERVAL<DV_QUANTITY>`) are accepted and dropped. A JSON `null` reads as an absent
//! attribute, since some producers write optional attributes that way.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::model::{self, ANY_CLASS, AttributeDef, ValueKind};
use crate::object::{expected, kind_phrase, not_conforming, unknown_type};
use crate::{RmError, RmErrorKind, RmObject, RmValue};

/// Parses canonical JSON whose root is declared as `expected_type` (the root may be a subtype).
pub fn from_slice(bytes: &[u8], expected_type: &str) -> Result<RmObject, RmError> {
    read_slice(bytes, expected_type, Mandatory::Check)
}

/// Like [`from_slice`], but an absent mandatory attribute is left for a later check: for
/// documents that are validated next (a composition against its template), so that what is
/// missing is reported with the validator's paths, together with everything else.
pub fn from_slice_deferring_mandatory(
    bytes: &[u8],
    expected_type: &str,
) -> Result<RmObject, RmError> {
    read_slice(bytes, expected_type, Mandatory::Defer)
}

fn read_slice(
    bytes: &[u8],
    expected_type: &str,
    mandatory: Mandatory,
) -> Result<RmObject, RmError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| RmError {
        kind: RmErrorKind::Syntax,
        path: "/".to_owned(),
        message: format!("malformed json: {error}"),
    })?;
    read_value(&value, expected_type, mandatory)
}

/// Reads an already parsed JSON value whose root is declared as `expected_type`.
pub fn from_value(value: &Value, expected_type: &str) -> Result<RmObject, RmError> {
    read_value(value, expected_type, Mandatory::Check)
}

/// [`from_value`] leaving absent mandatory attributes for a later check, as
/// [`from_slice_deferring_mandatory`] does.
pub fn from_value_deferring_mandatory(
    value: &Value,
    expected_type: &str,
) -> Result<RmObject, RmError> {
    read_value(value, expected_type, Mandatory::Defer)
}

fn read_value(
    value: &Value,
    expected_type: &str,
    mandatory: Mandatory,
) -> Result<RmObject, RmError> {
    declared_class(expected_type)
        .and_then(|declared| read_object(value, declared, mandatory))
        .map_err(RmError::finish)
}

/// Whether reading checks that mandatory attributes are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mandatory {
    Check,
    Defer,
}

/// The class id for a declared root type; `Any` admits every class.
pub(crate) fn declared_class(expected_type: &str) -> Result<u16, RmError> {
    if expected_type == "Any" {
        return Ok(ANY_CLASS);
    }
    model::class_id(expected_type).ok_or_else(|| unknown_type(expected_type))
}

/// Resolves the runtime class of a node from its optional type name and its declared class.
/// `marker` names the type annotation of the format (`_type`, `xsi:type`) for messages.
pub(crate) fn runtime_class(
    type_name: Option<&str>,
    declared: u16,
    marker: &str,
) -> Result<RmObject, RmError> {
    let class = match type_name {
        Some(name) => {
            let class = model::class_id(name).ok_or_else(|| unknown_type(name))?;
            if !model::conforms(class, declared) {
                return Err(not_conforming(class, declared));
            }
            class
        }
        None if declared == ANY_CLASS => {
            return Err(RmError::new(
                RmErrorKind::AbstractType,
                format!("missing \"{marker}\" where any type is allowed"),
            ));
        }
        None if model::class(declared).is_abstract => {
            return Err(RmError::new(
                RmErrorKind::AbstractType,
                format!(
                    "missing \"{marker}\" for abstract type {}",
                    model::class(declared).name
                ),
            ));
        }
        None => declared,
    };
    RmObject::of_class(class)
}

/// What kind of JSON value this is, for messages ("a string", "an array").
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn read_object(value: &Value, declared: u16, mandatory: Mandatory) -> Result<RmObject, RmError> {
    let Value::Object(map) = value else {
        return Err(expected("an object", describe(value)));
    };
    let type_name = match map.get("_type") {
        None => None,
        Some(Value::String(name)) => Some(name.as_str()),
        Some(other) => return Err(expected("a string", describe(other)).within("_type")),
    };
    let mut object = runtime_class(type_name, declared, "_type")?;
    let class = object.class_def();
    for (key, value) in map {
        if key == "_type" || value.is_null() {
            continue;
        }
        let Some(index) = class.attribute_index(key) else {
            return Err(RmError::new(
                RmErrorKind::UnknownAttribute,
                format!("unknown attribute \"{key}\" of {}", class.name),
            )
            .within(key));
        };
        let attribute = &class.attributes[index];
        let value =
            read_attribute(attribute, value, mandatory).map_err(|error| error.within(key))?;
        object.insert(index, value);
    }
    if mandatory == Mandatory::Check {
        object.check_mandatory()?;
    }
    Ok(object)
}

fn read_attribute(
    attribute: &AttributeDef,
    value: &Value,
    mandatory: Mandatory,
) -> Result<RmValue, RmError> {
    if !attribute.list {
        return read_single(attribute, value, mandatory);
    }
    let Value::Array(items) = value else {
        return Err(expected("an array", describe(value)));
    };
    let mut list = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        list.push(
            read_single(attribute, item, mandatory).map_err(|error| error.within_index(index))?,
        );
    }
    Ok(RmValue::List(list))
}

fn read_single(
    attribute: &AttributeDef,
    value: &Value,
    mandatory: Mandatory,
) -> Result<RmValue, RmError> {
    match (attribute.kind, value) {
        (ValueKind::String, Value::String(text)) => Ok(RmValue::String(text.clone())),
        (ValueKind::Boolean, Value::Bool(flag)) => Ok(RmValue::Boolean(*flag)),
        (ValueKind::Integer | ValueKind::Integer64, Value::Number(number)) => {
            if let Some(integer) = number.as_i64() {
                Ok(RmValue::Integer(integer))
            } else if number.is_u64() {
                Err(RmError::new(
                    RmErrorKind::InvalidValue,
                    format!("integer {number} is out of range"),
                ))
            } else {
                Err(expected("an integer", "a decimal number"))
            }
        }
        (ValueKind::Real | ValueKind::Double, Value::Number(number)) => {
            number.as_f64().map(RmValue::Real).ok_or_else(|| {
                RmError::new(
                    RmErrorKind::InvalidValue,
                    format!("number {number} is out of range"),
                )
            })
        }
        (ValueKind::Object, value) => Ok(RmValue::Object(Box::new(read_object(
            value,
            attribute.class,
            mandatory,
        )?))),
        (kind, value) => Err(expected(kind_phrase(kind), describe(value))),
    }
}

/// The tree as a JSON value. Key order in the value follows `serde_json::Map`; use [`to_vec`]
/// for the canonical order.
pub fn to_value(object: &RmObject) -> Value {
    serde_json::to_value(object).unwrap_or_default()
}

/// Compact canonical JSON.
pub fn to_vec(object: &RmObject) -> Vec<u8> {
    serde_json::to_vec(object).unwrap_or_default()
}

/// Indented canonical JSON, for people.
pub fn to_vec_pretty(object: &RmObject) -> Vec<u8> {
    serde_json::to_vec_pretty(object).unwrap_or_default()
}

impl Serialize for RmObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let attributes = self.attributes();
        let mut map = serializer.serialize_map(Some(1 + attributes.size_hint().0))?;
        map.serialize_entry("_type", self.type_name())?;
        for (attribute, value) in attributes {
            map.serialize_entry(attribute.name, value)?;
        }
        map.end()
    }
}

impl Serialize for RmValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RmValue::Boolean(flag) => serializer.serialize_bool(*flag),
            RmValue::Integer(number) => serializer.serialize_i64(*number),
            RmValue::Real(number) => serializer.serialize_f64(*number),
            RmValue::String(text) => serializer.serialize_str(text),
            RmValue::Object(object) => object.serialize(serializer),
            RmValue::List(items) => {
                let mut sequence = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    sequence.serialize_element(item)?;
                }
                sequence.end()
            }
        }
    }
}
