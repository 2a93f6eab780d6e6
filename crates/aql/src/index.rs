//! The query rows derived from a committed object: its archetype roots numbered as nested
//! sets (so CONTAINS is a range test) and one typed row per data value (so a condition on an
//! element's magnitude, code, text or date is an index lookup). The store writes these rows
//! for the latest version of every object; the AQL compiler reads them. Both sides agree on
//! the path keys and columns defined here, and nowhere else.
//!
//! # Path keys
//! Every path is written in the frame of an archetype root: the root's archetype id followed
//! by the attribute steps from that root, with a node id predicate on each step into a
//! LOCATABLE and none on other steps:
//!
//! ```text
//! openEHR-EHR-OBSERVATION.blood_pressure.v2/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value
//! openEHR-EHR-COMPOSITION.encounter.v1/context/start_time
//! openEHR-EHR-COMPOSITION.encounter.v1/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]
//! ```
//!
//! A value row's path is the path of the data value in the frame of its nearest archetype
//! root. A root's `parent_path` is its own path in the frame of the root above it (none for
//! the object's root). Names are not part of keys (they are kept on root rows, and a query
//! that constrains the name of another node checks it on the document).
//!
//! # Node rows
//! One per archetype root (a LOCATABLE with `archetype_details`, or whose node id is an
//! archetype id), numbered in document order
//! from 0 (the object's root): `seq`, and `last_seq`, the highest number in its subtree. A
//! root B lies inside root A of the same object exactly when `A.seq < B.seq <= A.last_seq`.
//! The stores keep a node's archetype id as the id of its own path key (the archetype id
//! alone, see [`split_path_key`]) in `archetype_path_id`, not as text in every row.
//!
//! # Value rows
//! One per DATA_VALUE reached from the object without crossing into another data value
//! (except the limits of a DV_INTERVAL, which get rows of their own at `…/lower` and
//! `…/upper`). Not indexed: names, `archetype_details`, `uid`, `feeder_audit`, `links`, and
//! `language`, `territory` and `encoding` (the same on nearly every object). Typed columns, by value type:
//!
//! | type | `num` | `text` | `code` | `system` | `units` | `instant` | `iso8601` |
//! |---|---|---|---|---|---|---|---|
//! | DV_BOOLEAN | 1 or 0 | | | | | | |
//! | DV_TEXT, DV_PARAGRAPH (none) | | value | | | | | |
//! | DV_CODED_TEXT | | value | code_string | terminology | | | |
//! | DV_QUANTITY | magnitude | | | | units | | |
//! | DV_COUNT | magnitude | | | | | | |
//! | DV_PROPORTION | numerator | | | | | | |
//! | DV_ORDINAL, DV_SCALE | value | symbol's value | symbol's code | symbol's terminology | | | |
//! | DV_DATE_TIME, DV_DATE | | | | | | µs since the epoch (UTC) | value |
//! | DV_TIME | | | | | | µs since midnight (UTC) | value |
//! | DV_DURATION | nominal seconds | | | | | | value |
//! | DV_IDENTIFIER | | id | type | issuer | | | |
//! | DV_URI, DV_EHR_URI | | value | | | | | |
//! | DV_PARSABLE | | value | formalism | | | | |
//! | DV_STATE | | value's value | value's code | value's terminology | | | |
//! | CODE_PHRASE | | | code_string | terminology | | | |
//! | DV_MULTIMEDIA | | uri's value | media type code | | | | |
//!
//! Partial dates take their first instant (`2020-05` is 2020-05-01T00:00Z); a date-time
//! without a zone is read as UTC. Dates, times and durations are compared by `instant` or
//! `num` and only returned as written, so their text is in `iso8601`, out of the `text`
//! index (they are more than half of all values). Anything a query needs beyond these
//! columns is read from the stored document.

use openehr_rm::{RmObject, RmValue};
use templates::validate::iso8601;

/// The rows of one object, with the path keys they use listed once in `paths`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexRows {
    /// Distinct path keys; rows refer to them by position.
    pub paths: Vec<String>,
    pub nodes: Vec<NodeRow>,
    pub values: Vec<ValueRow>,
}

/// An archetype root.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub seq: u32,
    pub last_seq: u32,
    pub rm_type: &'static str,
    pub archetype_id: String,
    /// Position in [`IndexRows::paths`] of this root's path in its parent root's frame.
    pub parent_path: Option<u32>,
    /// `name/value`.
    pub name: Option<String>,
}

/// A data value and its typed columns (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueRow {
    /// `seq` of the nearest archetype root above the value.
    pub root_seq: u32,
    /// Position in [`IndexRows::paths`].
    pub path: u32,
    pub kind: ValueKind,
    pub num: Option<f64>,
    pub text: Option<String>,
    pub code: Option<String>,
    pub system: Option<String>,
    pub units: Option<String>,
    pub instant: Option<i64>,
    pub iso8601: Option<String>,
}

macro_rules! value_kinds {
    ($($variant:ident = $code:literal, $name:literal;)*) => {
        /// The RM type of an indexed value, stored as a small code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ValueKind {
            $($variant,)*
        }

        impl ValueKind {
            /// Every kind, in code order.
            pub const ALL: &[ValueKind] = &[$(ValueKind::$variant,)*];

            pub fn code(self) -> u8 {
                match self {
                    $(ValueKind::$variant => $code,)*
                }
            }

            pub fn from_code(code: u8) -> Option<ValueKind> {
                match code {
                    $($code => Some(ValueKind::$variant),)*
                    _ => None,
                }
            }

            pub fn type_name(self) -> &'static str {
                match self {
                    $(ValueKind::$variant => $name,)*
                }
            }

            pub fn from_type_name(name: &str) -> Option<ValueKind> {
                match name {
                    $($name => Some(ValueKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

value_kinds! {
    Other = 0, "DATA_VALUE";
    Boolean = 1, "DV_BOOLEAN";
    Text = 2, "DV_TEXT";
    CodedText = 3, "DV_CODED_TEXT";
    Quantity = 4, "DV_QUANTITY";
    Count = 5, "DV_COUNT";
    Proportion = 6, "DV_PROPORTION";
    Ordinal = 7, "DV_ORDINAL";
    Scale = 8, "DV_SCALE";
    DateTime = 9, "DV_DATE_TIME";
    Date = 10, "DV_DATE";
    Time = 11, "DV_TIME";
    Duration = 12, "DV_DURATION";
    Identifier = 13, "DV_IDENTIFIER";
    Uri = 14, "DV_URI";
    EhrUri = 15, "DV_EHR_URI";
    Parsable = 16, "DV_PARSABLE";
    Multimedia = 17, "DV_MULTIMEDIA";
    Interval = 18, "DV_INTERVAL";
    CodePhrase = 19, "CODE_PHRASE";
    State = 20, "DV_STATE";
    Paragraph = 21, "DV_PARAGRAPH";
}

/// Attributes whose content is never indexed, on any class.
pub const SKIPPED: &[&str] = &[
    "name",
    "archetype_node_id",
    "archetype_details",
    "uid",
    "feeder_audit",
    "links",
    // The same on nearly every composition and entry: an index on them would cost more
    // than it saves.
    "language",
    "territory",
    "encoding",
];

/// A path key's archetype id and its path from that archetype's root (`/context/start_time`,
/// or empty for the key of a root itself).
pub fn split_path_key(key: &str) -> (&str, &str) {
    key.find('/').map_or((key, ""), |slash| key.split_at(slash))
}

/// The rows for one object (a COMPOSITION, EHR_STATUS or FOLDER). An object without
/// `archetype_details` still gets a root row, with its `archetype_node_id` as archetype id.
pub fn index_rows(object: &RmObject) -> IndexRows {
    let mut builder = Builder::default();
    let archetype_id = object.get_str("archetype_node_id").unwrap_or_default();
    builder.root(object, archetype_id, None);
    builder.rows
}

/// Whether a LOCATABLE with this `archetype_node_id` is an archetype root: it has
/// `archetype_details`, or its node id is an archetype id (compositions written without
/// `archetype_details` on inner roots are common, and still name the archetype).
fn is_root(object: &RmObject, node_id: &str) -> bool {
    object.get("archetype_details").is_some() || is_archetype_id(node_id)
}

/// `originator-RM-ENTITY.concept.v1`, as opposed to an at- or id-code.
pub fn is_archetype_id(node_id: &str) -> bool {
    let mut parts = node_id.split('.');
    let qualified = parts.next().unwrap_or_default();
    let version = node_id.rsplit('.').next().unwrap_or_default();
    qualified.matches('-').count() >= 2
        && node_id.split('.').count() >= 3
        && version.starts_with('v')
        && version[1..].starts_with(|c: char| c.is_ascii_digit())
}

/// The archetype root numbered `seq` in [`index_rows`]'s document order (0 is `object`
/// itself), found by the same walk, so that a node row leads back to its object.
pub fn root_at(object: &RmObject, seq: u32) -> Option<&RmObject> {
    fn walk<'a>(object: &'a RmObject, seq: u32, next: &mut u32) -> Option<&'a RmObject> {
        for (attribute, value) in object.attributes() {
            if SKIPPED.contains(&attribute.name) {
                continue;
            }
            let children: &[RmValue] = match value {
                RmValue::Object(_) => std::slice::from_ref(value),
                RmValue::List(items) => items,
                _ => continue,
            };
            for child in children {
                let RmValue::Object(child) = child else {
                    continue;
                };
                if child.is_a("DATA_VALUE") {
                    continue;
                }
                if child
                    .get_str("archetype_node_id")
                    .is_some_and(|node_id| is_root(child, node_id))
                {
                    if *next == seq {
                        return Some(child);
                    }
                    *next += 1;
                }
                if let Some(found) = walk(child, seq, next) {
                    return Some(found);
                }
            }
        }
        None
    }
    if seq == 0 {
        return Some(object);
    }
    walk(object, seq, &mut 1)
}

#[derive(Default)]
struct Builder {
    rows: IndexRows,
    path_positions: std::collections::HashMap<String, u32>,
    next_seq: u32,
}

impl Builder {
    fn intern(&mut self, path: &str) -> u32 {
        if let Some(position) = self.path_positions.get(path) {
            return *position;
        }
        let position = u32::try_from(self.rows.paths.len()).unwrap_or(u32::MAX);
        self.rows.paths.push(path.to_owned());
        self.path_positions.insert(path.to_owned(), position);
        position
    }

    fn root(&mut self, object: &RmObject, archetype_id: &str, parent_path: Option<u32>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let node = self.rows.nodes.len();
        self.rows.nodes.push(NodeRow {
            seq,
            last_seq: seq,
            rm_type: object.type_name(),
            archetype_id: archetype_id.to_owned(),
            parent_path,
            name: object
                .get_object("name")
                .and_then(|name| name.get_str("value"))
                .map(str::to_owned),
        });
        let mut path = archetype_id.to_owned();
        self.children(object, &mut path, seq);
        self.rows.nodes[node].last_seq = self.next_seq - 1;
    }

    /// Walks the attributes of a non-root object (or of a root, at `path` = its archetype id).
    fn children(&mut self, object: &RmObject, path: &mut String, root_seq: u32) {
        for (attribute, value) in object.attributes() {
            if SKIPPED.contains(&attribute.name) {
                continue;
            }
            match value {
                RmValue::Object(child) => self.child(child, attribute.name, path, root_seq),
                RmValue::List(items) => {
                    for item in items {
                        if let RmValue::Object(child) = item {
                            self.child(child, attribute.name, path, root_seq);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn child(&mut self, child: &RmObject, attribute: &str, path: &mut String, root_seq: u32) {
        let length = path.len();
        path.push('/');
        path.push_str(attribute);
        if child.is_a("DATA_VALUE") {
            self.value(child, path, root_seq);
        } else if let Some(node_id) = child.get_str("archetype_node_id") {
            path.push('[');
            path.push_str(node_id);
            path.push(']');
            if is_root(child, node_id) {
                let parent_path = self.intern(path);
                self.root(child, node_id, Some(parent_path));
            } else {
                self.children(child, path, root_seq);
            }
        } else {
            self.children(child, path, root_seq);
        }
        path.truncate(length);
    }

    fn value(&mut self, value: &RmObject, path: &mut String, root_seq: u32) {
        let kind = ValueKind::from_type_name(value.type_name()).unwrap_or(ValueKind::Other);
        let mut row = ValueRow {
            root_seq,
            path: self.intern(path),
            kind,
            num: None,
            text: None,
            code: None,
            system: None,
            units: None,
            instant: None,
            iso8601: None,
        };
        let string =
            |object: &RmObject, attribute: &str| object.get_str(attribute).map(str::to_owned);
        match kind {
            ValueKind::Boolean => {
                row.num = match value.get("value") {
                    Some(RmValue::Boolean(true)) => Some(1.0),
                    Some(RmValue::Boolean(false)) => Some(0.0),
                    _ => None,
                };
            }
            ValueKind::Text | ValueKind::Uri | ValueKind::EhrUri => {
                row.text = string(value, "value");
            }
            ValueKind::CodedText => {
                row.text = string(value, "value");
                set_code(&mut row, value.get_object("defining_code"));
            }
            ValueKind::Quantity => {
                row.num = number(value.get("magnitude"));
                row.units = string(value, "units");
            }
            ValueKind::Count => row.num = number(value.get("magnitude")),
            ValueKind::Proportion => row.num = number(value.get("numerator")),
            ValueKind::Ordinal | ValueKind::Scale => {
                row.num = number(value.get("value"));
                if let Some(symbol) = value.get_object("symbol") {
                    row.text = string(symbol, "value");
                    set_code(&mut row, symbol.get_object("defining_code"));
                }
            }
            ValueKind::DateTime | ValueKind::Date | ValueKind::Time => {
                row.iso8601 = string(value, "value");
                row.instant = row.iso8601.as_deref().and_then(|text| instant(kind, text));
            }
            ValueKind::Duration => {
                row.iso8601 = string(value, "value");
                row.num = row
                    .iso8601
                    .as_deref()
                    .and_then(iso8601::parse_duration)
                    .map(|duration| iso8601::duration_key(&duration));
            }
            ValueKind::Identifier => {
                row.text = string(value, "id");
                row.code = string(value, "type");
                row.system = string(value, "issuer");
            }
            ValueKind::Parsable => {
                row.text = string(value, "value");
                row.code = string(value, "formalism");
            }
            ValueKind::State => {
                if let Some(state) = value.get_object("value") {
                    row.text = string(state, "value");
                    set_code(&mut row, state.get_object("defining_code"));
                }
            }
            ValueKind::CodePhrase => set_code(&mut row, Some(value)),
            ValueKind::Multimedia => {
                row.text = value
                    .get_object("uri")
                    .and_then(|uri| uri.get_str("value"))
                    .map(str::to_owned);
                row.code = value
                    .get_object("media_type")
                    .and_then(|media_type| media_type.get_str("code_string"))
                    .map(str::to_owned);
            }
            ValueKind::Interval | ValueKind::Paragraph | ValueKind::Other => {}
        }
        self.rows.values.push(row);
        if kind == ValueKind::Interval {
            for limit in ["lower", "upper"] {
                if let Some(bound) = value.get_object(limit) {
                    let length = path.len();
                    path.push('/');
                    path.push_str(limit);
                    self.value(bound, path, root_seq);
                    path.truncate(length);
                }
            }
        }
    }
}

fn set_code(row: &mut ValueRow, code_phrase: Option<&RmObject>) {
    if let Some(code_phrase) = code_phrase {
        row.code = code_phrase.get_str("code_string").map(str::to_owned);
        row.system = code_phrase
            .get_object("terminology_id")
            .and_then(|id| id.get_str("value"))
            .map(str::to_owned);
    }
}

#[allow(clippy::cast_precision_loss)]
fn number(value: Option<&RmValue>) -> Option<f64> {
    match value {
        Some(RmValue::Real(number)) => Some(*number),
        Some(RmValue::Integer(number)) => Some(*number as f64),
        _ => None,
    }
}

/// The `instant` column of a date, time or date-time value, in microseconds; `None` when the
/// text is not a valid ISO 8601 value of that type (the validator refuses those, but
/// EHR_STATUS and FOLDER content is not validated against a template).
pub fn instant(kind: ValueKind, text: &str) -> Option<i64> {
    let seconds = match kind {
        ValueKind::DateTime => iso8601::date_time_key(&iso8601::parse_date_time(text)?),
        ValueKind::Date => iso8601::date_key(&iso8601::parse_date(text)?),
        ValueKind::Time => iso8601::time_key(&iso8601::parse_time(text)?),
        _ => return None,
    };
    #[allow(clippy::cast_possible_truncation)]
    Some((seconds * 1_000_000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn composition() -> RmObject {
        let json = r#"{
            "_type": "COMPOSITION",
            "name": {"_type": "DV_TEXT", "value": "Vital signs"},
            "archetype_node_id": "openEHR-EHR-COMPOSITION.encounter.v1",
            "archetype_details": {
                "archetype_id": {"value": "openEHR-EHR-COMPOSITION.encounter.v1"},
                "template_id": {"value": "vitals"},
                "rm_version": "1.1.0"
            },
            "language": {"terminology_id": {"value": "ISO_639-1"}, "code_string": "en"},
            "territory": {"terminology_id": {"value": "ISO_3166-1"}, "code_string": "GB"},
            "category": {
                "_type": "DV_CODED_TEXT", "value": "event",
                "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "433"}
            },
            "composer": {"_type": "PARTY_SELF"},
            "context": {
                "start_time": {"_type": "DV_DATE_TIME", "value": "2024-03-01T10:00:00Z"},
                "setting": {
                    "_type": "DV_CODED_TEXT", "value": "other care",
                    "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "238"}
                }
            },
            "content": [{
                "_type": "OBSERVATION",
                "name": {"_type": "DV_TEXT", "value": "Blood pressure"},
                "archetype_node_id": "openEHR-EHR-OBSERVATION.blood_pressure.v2",
                "archetype_details": {
                    "archetype_id": {"value": "openEHR-EHR-OBSERVATION.blood_pressure.v2"},
                    "rm_version": "1.1.0"
                },
                "language": {"terminology_id": {"value": "ISO_639-1"}, "code_string": "en"},
                "encoding": {"terminology_id": {"value": "IANA_character-sets"}, "code_string": "UTF-8"},
                "subject": {"_type": "PARTY_SELF"},
                "data": {
                    "_type": "HISTORY", "archetype_node_id": "at0001",
                    "name": {"_type": "DV_TEXT", "value": "History"},
                    "origin": {"_type": "DV_DATE_TIME", "value": "2024-03-01T10:00:00Z"},
                    "events": [{
                        "_type": "POINT_EVENT", "archetype_node_id": "at0006",
                        "name": {"_type": "DV_TEXT", "value": "Any event"},
                        "time": {"_type": "DV_DATE_TIME", "value": "2024-03-01T10:00:00+01:00"},
                        "data": {
                            "_type": "ITEM_TREE", "archetype_node_id": "at0003",
                            "name": {"_type": "DV_TEXT", "value": "Tree"},
                            "items": [{
                                "_type": "ELEMENT", "archetype_node_id": "at0004",
                                "name": {"_type": "DV_TEXT", "value": "Systolic"},
                                "value": {"_type": "DV_QUANTITY", "magnitude": 142.0, "units": "mm[Hg]"}
                            }, {
                                "_type": "CLUSTER", "archetype_node_id": "openEHR-EHR-CLUSTER.device.v1",
                                "name": {"_type": "DV_TEXT", "value": "Device"},
                                "archetype_details": {
                                    "archetype_id": {"value": "openEHR-EHR-CLUSTER.device.v1"},
                                    "rm_version": "1.1.0"
                                },
                                "items": [{
                                    "_type": "ELEMENT", "archetype_node_id": "at0001",
                                    "name": {"_type": "DV_TEXT", "value": "Range"},
                                    "value": {
                                        "_type": "DV_INTERVAL",
                                        "lower": {"_type": "DV_COUNT", "magnitude": 1},
                                        "upper": {"_type": "DV_COUNT", "magnitude": 5},
                                        "lower_unbounded": false, "upper_unbounded": false
                                    }
                                }]
                            }]
                        }
                    }]
                }
            }]
        }"#;
        openehr_rm::json::from_slice(json.as_bytes(), "COMPOSITION").expect("a valid composition")
    }

    fn path_of(rows: &IndexRows, value: &ValueRow) -> String {
        rows.paths[value.path as usize].clone()
    }

    #[test]
    fn roots_are_nested_sets_in_document_order() {
        let rows = index_rows(&composition());
        let roots: Vec<_> = rows
            .nodes
            .iter()
            .map(|node| {
                (
                    node.seq,
                    node.last_seq,
                    node.rm_type,
                    node.archetype_id.as_str(),
                    node.parent_path
                        .map(|path| rows.paths[path as usize].as_str()),
                )
            })
            .collect();
        assert_eq!(
            roots,
            [
                (
                    0,
                    2,
                    "COMPOSITION",
                    "openEHR-EHR-COMPOSITION.encounter.v1",
                    None
                ),
                (
                    1,
                    2,
                    "OBSERVATION",
                    "openEHR-EHR-OBSERVATION.blood_pressure.v2",
                    Some(
                        "openEHR-EHR-COMPOSITION.encounter.v1/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]"
                    )
                ),
                (
                    2,
                    2,
                    "CLUSTER",
                    "openEHR-EHR-CLUSTER.device.v1",
                    Some(
                        "openEHR-EHR-OBSERVATION.blood_pressure.v2/data[at0001]/events[at0006]/data[at0003]/items[openEHR-EHR-CLUSTER.device.v1]"
                    )
                ),
            ]
        );
        assert_eq!(rows.nodes[1].name.as_deref(), Some("Blood pressure"));
        let object = composition();
        for node in &rows.nodes {
            let root = root_at(&object, node.seq).expect("every numbered root is found");
            assert_eq!(root.type_name(), node.rm_type);
            assert_eq!(
                root.get_str("archetype_node_id"),
                Some(node.archetype_id.as_str())
            );
        }
        assert!(root_at(&object, 3).is_none());
    }

    #[test]
    fn values_carry_their_typed_columns_in_their_root_frame() {
        let rows = index_rows(&composition());
        let values: Vec<_> = rows
            .values
            .iter()
            .map(|value| (value.root_seq, path_of(&rows, value), value.kind))
            .collect();
        let observation = "openEHR-EHR-OBSERVATION.blood_pressure.v2/data[at0001]";
        assert_eq!(
            values,
            [
                (
                    0,
                    "openEHR-EHR-COMPOSITION.encounter.v1/category".to_owned(),
                    ValueKind::CodedText
                ),
                (
                    0,
                    "openEHR-EHR-COMPOSITION.encounter.v1/context/start_time".to_owned(),
                    ValueKind::DateTime
                ),
                (
                    0,
                    "openEHR-EHR-COMPOSITION.encounter.v1/context/setting".to_owned(),
                    ValueKind::CodedText
                ),
                (1, format!("{observation}/origin"), ValueKind::DateTime),
                (
                    1,
                    format!("{observation}/events[at0006]/time"),
                    ValueKind::DateTime
                ),
                (
                    1,
                    format!("{observation}/events[at0006]/data[at0003]/items[at0004]/value"),
                    ValueKind::Quantity
                ),
                (
                    2,
                    "openEHR-EHR-CLUSTER.device.v1/items[at0001]/value".to_owned(),
                    ValueKind::Interval
                ),
                (
                    2,
                    "openEHR-EHR-CLUSTER.device.v1/items[at0001]/value/lower".to_owned(),
                    ValueKind::Count
                ),
                (
                    2,
                    "openEHR-EHR-CLUSTER.device.v1/items[at0001]/value/upper".to_owned(),
                    ValueKind::Count
                ),
            ]
        );
        let systolic = &rows.values[5];
        assert_eq!(systolic.num, Some(142.0));
        assert_eq!(systolic.units.as_deref(), Some("mm[Hg]"));
        let setting = &rows.values[2];
        assert_eq!(
            (
                setting.text.as_deref(),
                setting.code.as_deref(),
                setting.system.as_deref()
            ),
            (Some("other care"), Some("238"), Some("openehr"))
        );
        // 10:00+01:00 is an hour before 10:00Z.
        assert_eq!(
            rows.values[1]
                .instant
                .zip(rows.values[4].instant)
                .map(|(utc, plus_one)| utc - plus_one),
            Some(3_600_000_000)
        );
        assert_eq!(rows.values[7].num, Some(1.0));
        // Dates are compared by instant: their text stays out of the text column and its index.
        assert_eq!(
            (
                rows.values[1].text.as_deref(),
                rows.values[1].iso8601.as_deref()
            ),
            (None, Some("2024-03-01T10:00:00Z"))
        );
    }

    #[test]
    fn instants_order_partial_and_zoned_values() {
        assert_eq!(instant(ValueKind::Date, "1970-01-02"), Some(86_400_000_000));
        assert_eq!(
            instant(ValueKind::Date, "2020-05"),
            instant(ValueKind::DateTime, "2020-05-01T00:00:00Z")
        );
        assert_eq!(instant(ValueKind::Time, "00:00:01.5"), Some(1_500_000));
        assert_eq!(instant(ValueKind::DateTime, "not a date"), None);
        for kind in ValueKind::ALL {
            assert_eq!(ValueKind::from_code(kind.code()), Some(*kind));
            assert_eq!(ValueKind::from_type_name(kind.type_name()), Some(*kind));
        }
    }
}
