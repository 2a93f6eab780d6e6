//! FLAT → canonical: keys grouped into node instances, objects built and placed through
//! their steps, then the RM's mandatory parts filled from `ctx/`, the template and
//! [`InputDefaults`].
//!
//! Every key is either consumed or reported: an unknown id, a suffix the node's type does
//! not have, an index on a single node or a gap in indexes, and a value of the wrong JSON
//! type or that does not parse are all [`FormatError`]s naming the key, collected rather
//! than stopping at the first. Strings are accepted for numbers and booleans because form
//! clients send what their inputs hold; nothing else is coerced.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use openehr_rm::json::describe;
use openehr_rm::{RmObject, RmValue};
use regex::Regex;
use serde_json::{Map, Value};

use super::tree::{Node, Step, concrete};
use super::{FlatFormat, FormatError, InputDefaults, localized};

type Entry<'a> = (&'a str, &'a str, &'a Value);

/// The keys that fall under one node instance.
#[derive(Default)]
struct Instance<'a> {
    /// `(suffix, key, value)`; the suffix is empty for a bare key.
    values: Vec<Entry<'a>>,
    /// By (position among the node's children, index).
    children: BTreeMap<(usize, usize), Instance<'a>>,
    /// Underscore RM attributes (`_uid`, `_participation:1`...), by name and index.
    extras: BTreeMap<(&'a str, usize), Vec<Entry<'a>>>,
}

/// What `ctx/` and the caller give, read once.
#[derive(Default)]
struct Context<'a> {
    values: BTreeMap<(&'a str, usize), (&'a str, &'a Value)>,
    language: String,
    time: Option<String>,
}

impl Context<'_> {
    fn text(&self, name: &str) -> Option<&str> {
        self.text_at(name, 0)
    }

    fn text_at(&self, name: &str, index: usize) -> Option<&str> {
        self.values
            .get(&(name, index))
            .and_then(|(_, value)| value.as_str())
    }
}

pub(super) fn to_canonical(
    format: &FlatFormat,
    flat: &Map<String, Value>,
    defaults: &InputDefaults,
) -> Result<RmObject, Vec<FormatError>> {
    let tree = &format.tree;
    let Some(root) = tree.root() else {
        return Err(vec![FormatError::new(
            "",
            "the template has no web template tree",
        )]);
    };
    let mut errors = Vec::new();
    let mut context = Context::default();
    let mut top = Instance::default();
    for (key, value) in flat {
        if let Some(name) = key.strip_prefix("ctx/") {
            match read_ctx(name, key, value) {
                Ok((name, index)) => {
                    context.values.insert((name, index), (key.as_str(), value));
                }
                Err(error) => errors.push(error),
            }
            continue;
        }
        if let Err(error) = insert_key(format, root, &mut top, key, value) {
            errors.push(error);
        }
    }
    check_indexes(&top, "", format, root, &mut errors);

    context.language = context
        .text("language")
        .map(str::to_owned)
        .or_else(|| {
            let language = root.child_ids.get("language")?;
            let position = root.children.iter().position(|child| child == language)?;
            let instance = top.children.get(&(position, 0))?;
            instance
                .values
                .iter()
                .find(|(suffix, _, _)| matches!(*suffix, "code" | ""))
                .and_then(|(_, _, value)| value.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format.default_language.clone());
    context.time = context
        .text("time")
        .map(str::to_owned)
        .or_else(|| defaults.time.clone());
    for name in ["time", "end_time", "history_origin"] {
        if let Some((key, value)) = context.values.get(&(name, 0)) {
            match value.as_str() {
                Some(text) if is_date_time(text) => {}
                _ => errors.push(FormatError::new(*key, "expected an iso 8601 date-time")),
            }
        }
    }

    let builder = Builder {
        format,
        context: &context,
    };
    let mut composition = match builder.complex(root, &top, root.id.as_str(), &mut errors) {
        Some(composition) => composition,
        None => return Err(errors),
    };
    builder.fill_composition(&mut composition, root, &mut errors);
    if errors.is_empty() {
        Ok(composition)
    } else {
        Err(errors)
    }
}

/// `ctx/` names of both styles, with an optional `:index` (participations).
fn read_ctx<'a>(name: &'a str, key: &str, value: &Value) -> Result<(&'a str, usize), FormatError> {
    let (name, index) = split_index(name).map_err(|message| FormatError::new(key, message))?;
    const KNOWN: &[&str] = &[
        "language",
        "territory",
        "composer_name",
        "composer_id",
        "composer_self",
        "id_namespace",
        "id_scheme",
        "time",
        "end_time",
        "history_origin",
        "health_care_facility|name",
        "health_care_facility|id",
        "participation_name",
        "participation_function",
        "participation_mode",
        "participation_id",
        "participation_id_namespace",
        "participation_id_scheme",
        "provider_name",
        "provider_id",
        "setting",
        "work_flow_id",
        "guideline_id",
    ];
    if !KNOWN.contains(&name) {
        return Err(FormatError::new(key, "unknown ctx value"));
    }
    match (name, value) {
        ("composer_self", Value::Bool(_)) => {}
        ("composer_self", Value::String(text)) if matches!(text.as_str(), "true" | "false") => {}
        ("composer_self", _) => return Err(FormatError::new(key, "expected a boolean")),
        (_, Value::String(_)) => {}
        (_, other) => {
            return Err(FormatError::new(
                key,
                format!("expected a string, found {}", describe(other)),
            ));
        }
    }
    Ok((name, index))
}

/// `id:3` → (`id`, 3); `id` → (`id`, 0).
fn split_index(segment: &str) -> Result<(&str, usize), String> {
    match segment.split_once(':') {
        None => Ok((segment, 0)),
        Some((id, index)) => {
            if index.is_empty() || !index.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(format!("bad index \"{index}\""));
            }
            let index: usize = index
                .parse()
                .map_err(|_| format!("index {index} is too large"))?;
            if index > 100_000 {
                return Err(format!("index {index} is too large"));
            }
            Ok((id, index))
        }
    }
}

fn insert_key<'a>(
    format: &FlatFormat,
    root: &Node,
    top: &mut Instance<'a>,
    key: &'a str,
    value: &'a Value,
) -> Result<(), FormatError> {
    let tree = &format.tree;
    let error = |message: String| FormatError::new(key, message);
    let (path, suffix) = match key.rfind('/') {
        Some(slash) => match key[slash..].find('|') {
            Some(bar) => (&key[..slash + bar], &key[slash + bar + 1..]),
            None => (key, ""),
        },
        None => match key.find('|') {
            Some(bar) => (&key[..bar], &key[bar + 1..]),
            None => (key, ""),
        },
    };
    let mut segments = path.split('/');
    let first = segments.next().unwrap_or_default();
    // Byte offset of the current segment's end in the key (the path is a prefix of it),
    // so that an underscore attribute can keep the rest of the key as its suffix.
    let mut end = first.len();
    let (first, first_index) = split_index(first).map_err(error)?;
    if first != root.id || first_index != 0 {
        return Err(error(format!(
            "paths start with the template's id \"{}\"",
            root.id
        )));
    }
    let mut node = root;
    let mut instance = top;
    for segment in segments {
        end += 1 + segment.len();
        let (id, index) = split_index(segment).map_err(error)?;
        if id.starts_with('_') {
            // Everything after `_attribute:index` is kept as the suffix: `|x` as `x`, a
            // deeper path (`/relationship|code`, `/_normal_range/lower|magnitude`...) with
            // its slash, read by the attribute's own reader (a slice of the key, so
            // nothing is allocated).
            let rest = &key[end..];
            let suffix = rest.strip_prefix('|').unwrap_or(rest);
            if !extra_allowed(node, id) {
                return Err(error(format!(
                    "\"{id}\" is not an attribute of {}",
                    node.id
                )));
            }
            instance
                .extras
                .entry((id, index))
                .or_default()
                .push((suffix, key, value));
            return Ok(());
        }
        let Some(child) = node.child_ids.get(id) else {
            return Err(error(format!("no node \"{id}\" under \"{}\"", node.id)));
        };
        let child_node = &tree.nodes[*child];
        if !child_node.multiple && index != 0 {
            return Err(error(format!("\"{id}\" occurs at most once")));
        }
        let child_position = node
            .children
            .iter()
            .position(|candidate| candidate == child)
            .unwrap_or_default();
        node = child_node;
        instance = instance
            .children
            .entry((child_position, index))
            .or_default();
    }
    if !suffix_allowed(node, suffix) {
        return Err(if suffix.is_empty() {
            error(format!(
                "{} \"{}\" takes no value of its own",
                node.rm_type, node.id
            ))
        } else {
            error(format!("{} has no \"|{suffix}\"", node.rm_type))
        });
    }
    instance.values.push((suffix, key, value));
    Ok(())
}

/// Underscore attributes of a data value (the rest belong to its ELEMENT or to the
/// node's own object).
fn is_value_extra(extra: &str) -> bool {
    matches!(
        extra,
        "_mapping" | "_language" | "_encoding" | "_normal_range" | "_other_reference_ranges"
    )
}

/// Data value types with a normal range and other reference ranges (DV_ORDERED).
fn is_ordered(rm_type: &str) -> bool {
    matches!(
        rm_type,
        "DV_QUANTITY"
            | "DV_COUNT"
            | "DV_PROPORTION"
            | "DV_ORDINAL"
            | "DV_SCALE"
            | "DV_DATE_TIME"
            | "DV_DATE"
            | "DV_TIME"
            | "DV_DURATION"
    )
}

fn is_text(rm_type: &str) -> bool {
    matches!(rm_type, "DV_TEXT" | "DV_CODED_TEXT")
}

fn extra_allowed(node: &Node, extra: &str) -> bool {
    let own = node.own_type();
    let entry = matches!(
        own,
        "OBSERVATION" | "EVALUATION" | "INSTRUCTION" | "ACTION" | "ADMIN_ENTRY" | "GENERIC_ENTRY"
    );
    let locatable = own != "EVENT_CONTEXT" && !node.is_value() || node.inner.is_some();
    match extra {
        "_uid" | "_link" | "_feeder_audit" => locatable,
        "_null_flavour" => own == "ELEMENT",
        "_name" => {
            (node.steps.is_empty() || node.steps.last().is_some_and(|step| step.node_id.is_some()))
                && (!node.is_value() || node.inner.is_some())
        }
        "_mapping" | "_language" | "_encoding" => node.is_value() && is_text(&node.rm_type),
        "_normal_range" | "_other_reference_ranges" => node.is_value() && is_ordered(&node.rm_type),
        "_null_reason" => own == "ELEMENT",
        "_end_time" | "_health_care_facility" | "_location" => own == "EVENT_CONTEXT",
        "_participation" => own == "EVENT_CONTEXT",
        "_history_origin" => own == "OBSERVATION",
        "_other_participation" | "_provider" | "_work_flow_id" | "_guideline_id" => entry,
        _ => false,
    }
}

/// Suffixes every value of a type takes besides its own (the SDK's keys for the
/// attributes of DV_TEXT, DV_ORDERED, DV_AMOUNT, DV_QUANTIFIED and CODE_PHRASE).
fn common_suffixes(rm_type: &str) -> &'static [&'static str] {
    match rm_type {
        "DV_TEXT" | "DV_CODED_TEXT" => &["formatting"],
        "DV_QUANTITY" => &[
            "normal_status",
            "magnitude_status",
            "accuracy",
            "accuracy_is_percent",
            "units_system",
            "units_display_name",
        ],
        "DV_COUNT" | "DV_PROPORTION" | "DV_DURATION" => &[
            "normal_status",
            "magnitude_status",
            "accuracy",
            "accuracy_is_percent",
        ],
        "DV_DATE_TIME" | "DV_DATE" | "DV_TIME" => &["normal_status", "magnitude_status"],
        "DV_ORDINAL" | "DV_SCALE" => &["normal_status"],
        "CODE_PHRASE" => &["preferred_term"],
        _ => &[],
    }
}

/// The suffixes a node's type accepts; `""` is the bare key.
fn suffix_allowed(node: &Node, suffix: &str) -> bool {
    if node.is_interval() {
        return matches!(
            suffix,
            "lower_included" | "upper_included" | "lower_unbounded" | "upper_unbounded"
        );
    }
    if is_event(node.own_type()) && !node.is_value() {
        return suffix == "sample_count";
    }
    value_suffix_allowed(&node.rm_type, suffix) && node.is_value()
}

fn is_event(rm_type: &str) -> bool {
    matches!(rm_type, "EVENT" | "POINT_EVENT" | "INTERVAL_EVENT")
}

/// Whether a data value of `rm_type` takes `suffix` (`""` is the bare key).
fn value_suffix_allowed(rm_type: &str, suffix: &str) -> bool {
    let allowed: &[&str] = match rm_type {
        "DV_TEXT" => &["", "value", "code", "terminology", "other"],
        "DV_CODED_TEXT" => &["", "value", "code", "terminology", "other"],
        "DV_QUANTITY" => &["", "magnitude", "unit", "precision"],
        "DV_COUNT" => &["", "magnitude"],
        "DV_PROPORTION" => &["numerator", "denominator", "type", "precision"],
        "DV_ORDINAL" | "DV_SCALE" => &["", "code", "value", "ordinal", "terminology"],
        "DV_DATE_TIME" | "DV_DATE" | "DV_TIME" | "DV_URI" | "DV_EHR_URI" | "STRING" => {
            &["", "value"]
        }
        "DV_DURATION" => &[
            "", "value", "year", "month", "week", "day", "hour", "minute", "second",
        ],
        "DV_BOOLEAN" => &["", "value"],
        "DV_IDENTIFIER" => &["", "id", "type", "issuer", "assigner"],
        "DV_PARSABLE" => &["", "value", "formalism"],
        "DV_MULTIMEDIA" => &["", "mediatype", "size", "alternatetext"],
        "DV_STATE" => &["code", "value", "terminology"],
        "CODE_PHRASE" => &["", "code", "terminology"],
        "PARTY_PROXY" => &["name", "id", "id_scheme", "id_namespace"],
        "LOCATABLE_REF" => &["id", "namespace", "type", "path"],
        _ => &[],
    };
    allowed.contains(&suffix) || common_suffixes(rm_type).contains(&suffix)
}

/// Indexes of a multiple node must run 0, 1, 2... without a gap.
fn check_indexes(
    instance: &Instance,
    path: &str,
    format: &FlatFormat,
    node: &Node,
    errors: &mut Vec<FormatError>,
) {
    let path = if path.is_empty() {
        node.id.clone()
    } else {
        path.to_owned()
    };
    let mut expected: BTreeMap<usize, usize> = BTreeMap::new();
    for (position, index) in instance.children.keys() {
        let next = expected.entry(*position).or_default();
        let child = &format.tree.nodes[node.children[*position]];
        if *index != *next {
            errors.push(FormatError::new(
                format!("{path}/{}:{index}", child.id),
                format!("index {index} follows a gap: {} is missing", *next),
            ));
        }
        *next = index + 1;
    }
    for ((position, index), child_instance) in &instance.children {
        let child = &format.tree.nodes[node.children[*position]];
        let child_path = if child.multiple {
            format!("{path}/{}:{index}", child.id)
        } else {
            format!("{path}/{}", child.id)
        };
        check_indexes(child_instance, &child_path, format, child, errors);
    }
    let mut extras: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, index) in instance.extras.keys() {
        let next = extras.entry(name).or_default();
        if *index != *next {
            errors.push(FormatError::new(
                format!("{path}/{name}:{index}"),
                format!("index {index} follows a gap: {} is missing", *next),
            ));
        }
        *next = index + 1;
    }
}

struct Builder<'a> {
    format: &'a FlatFormat,
    context: &'a Context<'a>,
}

fn object(type_name: &str) -> RmObject {
    // Only names of concrete RM classes written in this module reach here.
    RmObject::new(type_name)
        .unwrap_or_else(|_| RmObject::new("DV_TEXT").expect("DV_TEXT is a concrete RM class"))
}

fn set(object: &mut RmObject, attribute: &str, value: RmValue) {
    // Attributes and types written here match the RM; a mismatch would be a bug, not input.
    let _ = object.set(attribute, value);
}

fn text(value: &str) -> RmValue {
    RmValue::String(value.to_owned())
}

fn boxed(value: RmObject) -> RmValue {
    RmValue::Object(Box::new(value))
}

pub(super) fn dv_text(value: &str) -> RmObject {
    let mut text_value = object("DV_TEXT");
    set(&mut text_value, "value", text(value));
    text_value
}

pub(super) fn code_phrase(terminology: &str, code: &str) -> RmObject {
    let mut phrase = object("CODE_PHRASE");
    let mut id = object("TERMINOLOGY_ID");
    set(&mut id, "value", text(terminology));
    set(&mut phrase, "terminology_id", boxed(id));
    set(&mut phrase, "code_string", text(code));
    phrase
}

pub(super) fn coded_text(value: &str, terminology: &str, code: &str) -> RmObject {
    let mut coded = object("DV_CODED_TEXT");
    set(&mut coded, "value", text(value));
    set(
        &mut coded,
        "defining_code",
        boxed(code_phrase(terminology, code)),
    );
    coded
}

fn date_time(value: &str) -> RmObject {
    let mut time = object("DV_DATE_TIME");
    set(&mut time, "value", text(value));
    time
}

static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$|^\d{8}T\d{2}(\d{2}(\d{2}([.,]\d+)?)?)?(Z|[+-]\d{2}(\d{2})?)?$",
    )
    .expect("a valid regular expression")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}(-\d{2}(-\d{2})?)?$|^\d{8}$").expect("a valid regular expression")
});
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{2}(:\d{2}(:\d{2}([.,]\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$|^\d{6}([.,]\d+)?$")
        .expect("a valid regular expression")
});
static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^-?P(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$",
    )
    .expect("a valid regular expression")
});

fn is_date_time(text: &str) -> bool {
    DATE_TIME.is_match(text) && text.len() > 4 && month_and_day_valid(text)
}

/// Field ranges the patterns do not check (month 1-12, day 1-31, hour 0-23...).
fn month_and_day_valid(text: &str) -> bool {
    let digits = |from: usize| {
        text.get(from..from + 2)
            .and_then(|part| part.parse::<u32>().ok())
    };
    if text.as_bytes().get(4) == Some(&b'-') {
        if let Some(month) = digits(5)
            && !(1..=12).contains(&month)
        {
            return false;
        }
        if let Some(day) = digits(8)
            && !(1..=31).contains(&day)
        {
            return false;
        }
        if let Some(hour) = digits(11)
            && hour > 23
        {
            return false;
        }
        if let Some(minute) = digits(14)
            && minute > 59
        {
            return false;
        }
    }
    true
}

fn wrong(key: &str, expected: &str, value: &Value) -> FormatError {
    FormatError::new(
        key,
        format!("expected {expected}, found {}", describe(value)),
    )
}

fn as_text<'v>(key: &str, value: &'v Value) -> Result<&'v str, FormatError> {
    value.as_str().ok_or_else(|| wrong(key, "a string", value))
}

fn as_number(key: &str, value: &Value) -> Result<f64, FormatError> {
    match value {
        Value::Number(number) => number
            .as_f64()
            .ok_or_else(|| FormatError::new(key, "number out of range")),
        Value::String(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .ok_or_else(|| FormatError::new(key, format!("\"{text}\" is not a number"))),
        other => Err(wrong(key, "a number", other)),
    }
}

fn as_integer(key: &str, value: &Value) -> Result<i64, FormatError> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .ok_or_else(|| FormatError::new(key, format!("{number} is not an integer"))),
        Value::String(text) => text
            .trim()
            .parse::<i64>()
            .map_err(|_| FormatError::new(key, format!("\"{text}\" is not an integer"))),
        other => Err(wrong(key, "an integer", other)),
    }
}

fn as_boolean(key: &str, value: &Value) -> Result<bool, FormatError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text == "true" => Ok(true),
        Value::String(text) if text == "false" => Ok(false),
        other => Err(wrong(key, "a boolean", other)),
    }
}

fn number_value(number: f64) -> RmValue {
    RmValue::Real(number)
}

/// The suffix map of an instance: suffix → (key, value).
fn suffixes<'a>(values: &[Entry<'a>]) -> BTreeMap<&'a str, (&'a str, &'a Value)> {
    values
        .iter()
        .map(|(suffix, key, value)| (*suffix, (*key, *value)))
        .collect()
}

impl Builder<'_> {
    fn language(&self) -> &str {
        &self.context.language
    }

    /// A new object for a step: type, node id, name and archetype details.
    fn step_object(&self, step: &Step) -> Option<RmObject> {
        let mut created = RmObject::new(&step.rm_type).ok()?;
        if let Some(node_id) = &step.node_id {
            let node_id = step.archetype_id.as_ref().unwrap_or(node_id);
            if created.set("archetype_node_id", text(node_id)).is_ok() {
                set(
                    &mut created,
                    "name",
                    boxed(self.default_name(step, node_id)),
                );
            }
        }
        for structure in &step.required {
            if created.get(&structure.attribute).is_none()
                && let Some(empty) = self.step_object(structure)
            {
                set(&mut created, &structure.attribute, boxed(empty));
            }
        }
        if let Some(archetype_id) = &step.archetype_id {
            let mut details = object("ARCHETYPED");
            let mut id = object("ARCHETYPE_ID");
            set(&mut id, "value", text(archetype_id));
            set(&mut details, "archetype_id", boxed(id));
            set(&mut details, "rm_version", text("1.1.0"));
            set(&mut created, "archetype_details", boxed(details));
        }
        Some(created)
    }

    /// The name input gives an object when no `_name` key does: the template's coded name
    /// when it fixes one code, else the name of the path or the term of the node id.
    pub(super) fn default_name(&self, step: &Step, node_id: &str) -> RmObject {
        default_name(
            step,
            node_id,
            self.language(),
            &self.format.default_language,
        )
    }

    /// The own object of a complex node, with its children placed.
    fn complex(
        &self,
        node: &Node,
        instance: &Instance,
        path: &str,
        errors: &mut Vec<FormatError>,
    ) -> Option<RmObject> {
        let mut own = match node.steps.last() {
            Some(step) => self.step_object(step),
            None => {
                // The root: the composition itself.
                let root = &self.format.tree;
                let _ = root;
                RmObject::new("COMPOSITION").ok()
            }
        };
        let Some(own_object) = own.as_mut() else {
            errors.push(FormatError::new(
                path,
                format!("cannot create a {}", node.own_type()),
            ));
            return None;
        };
        if node.steps.is_empty() {
            self.root_identity(own_object, node);
        }
        for ((position, index), child_instance) in &instance.children {
            let child = &self.format.tree.nodes[node.children[*position]];
            let child_path = if child.multiple {
                format!("{path}/{}:{index}", child.id)
            } else {
                format!("{path}/{}", child.id)
            };
            let built = if child.is_interval() {
                self.interval_node(child, child_instance, errors)
            } else if child.is_value() {
                self.value_node(child, child_instance, errors)
            } else {
                self.complex(child, child_instance, &child_path, errors)
            };
            if let Some(built) = built
                && let Err(message) = place(self, own_object, &child.steps, built)
            {
                errors.push(FormatError::new(child_path, message));
            }
        }
        self.sample_count(own_object, node, instance, errors);
        self.extras(own_object, node.steps.last(), &instance.extras, errors);
        own
    }

    /// An event's `|sample_count` (the SDK's key): only an INTERVAL_EVENT has one, so an
    /// event the template leaves abstract becomes one, as for `width`.
    fn sample_count(
        &self,
        own: &mut RmObject,
        node: &Node,
        instance: &Instance,
        errors: &mut Vec<FormatError>,
    ) {
        for (suffix, key, value) in &instance.values {
            if *suffix != "sample_count" {
                continue;
            }
            let count = match as_integer(key, value) {
                Ok(count) => count,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            };
            if own.type_name() == "POINT_EVENT"
                && node
                    .steps
                    .last()
                    .is_some_and(|step| step.rm_type == "POINT_EVENT")
            {
                match interval_event(own) {
                    Ok(interval) => *own = interval,
                    Err(message) => {
                        errors.push(FormatError::new(*key, message));
                        continue;
                    }
                }
            }
            if let Err(error) = own.set("sample_count", RmValue::Integer(count)) {
                errors.push(FormatError::new(*key, error.message));
            }
        }
    }

    fn root_identity(&self, composition: &mut RmObject, root: &Node) {
        let archetype_id = self
            .format
            .tree
            .nodes
            .first()
            .map(|_| self.root_archetype())
            .unwrap_or_default();
        set(composition, "archetype_node_id", text(&archetype_id));
        let _ = root;
        let name = localized(
            &self.format.tree.root_names,
            self.language(),
            &self.format.default_language,
        )
        .unwrap_or(&self.format.template_id)
        .to_owned();
        set(composition, "name", boxed(dv_text(&name)));
        let mut details = object("ARCHETYPED");
        let mut id = object("ARCHETYPE_ID");
        set(&mut id, "value", text(&archetype_id));
        set(&mut details, "archetype_id", boxed(id));
        let mut template_id = object("TEMPLATE_ID");
        set(&mut template_id, "value", text(&self.format.template_id));
        set(&mut details, "template_id", boxed(template_id));
        set(&mut details, "rm_version", text("1.1.0"));
        set(composition, "archetype_details", boxed(details));
    }

    fn root_archetype(&self) -> String {
        self.format.tree.root_archetype.clone()
    }

    /// A value node: the data value, wrapped in its ELEMENT when the web template
    /// dissolved one.
    fn value_node(
        &self,
        node: &Node,
        instance: &Instance,
        errors: &mut Vec<FormatError>,
    ) -> Option<RmObject> {
        let value = if instance.values.is_empty() {
            None
        } else {
            match self.value(node, &instance.values) {
                Ok(value) => Some(value),
                Err(error) => {
                    errors.push(error);
                    return None;
                }
            }
        };
        // A value's own underscore attributes go to the value, the rest to its ELEMENT.
        let (value_extras, element_extras): (BTreeMap<_, _>, BTreeMap<_, _>) = instance
            .extras
            .iter()
            .map(|(name, entries)| (*name, entries.clone()))
            .partition(|((name, _), _)| is_value_extra(name));
        let value = match value {
            Some(mut value) => {
                for ((name, _), entries) in &value_extras {
                    if let Err(error) = self.value_attribute(node, &mut value, name, entries) {
                        errors.push(error);
                    }
                }
                Some(value)
            }
            None => {
                if let Some(entries) = value_extras.values().next() {
                    let key = entries.first().map_or("", |entry| entry.1);
                    errors.push(FormatError::new(key, "the value itself is missing"));
                }
                None
            }
        };
        match node.steps.last().filter(|_| node.inner.is_some()) {
            Some(element_step) => {
                let mut element = self.step_object(element_step)?;
                if let Some(value) = value {
                    set(&mut element, "value", boxed(value));
                }
                self.extras(&mut element, Some(element_step), &element_extras, errors);
                Some(element)
            }
            None => {
                if let Some(((name, _), entries)) = element_extras.iter().next() {
                    let key = entries.first().map_or("", |entry| entry.1);
                    errors.push(FormatError::new(
                        key,
                        format!("\"{name}\" is not allowed here"),
                    ));
                }
                value
            }
        }
    }

    /// A DV_INTERVAL in its ELEMENT: the bounds from the `lower`/`upper` child nodes, the
    /// flags from the node's own suffixes. An absent `|lower_unbounded` is derived from the
    /// bound (unbounded when there is none); an absent `|lower_included` stays absent.
    fn interval_node(
        &self,
        node: &Node,
        instance: &Instance,
        errors: &mut Vec<FormatError>,
    ) -> Option<RmObject> {
        let element_step = node.steps.last().filter(|_| node.inner.is_some())?;
        let mut element = self.step_object(element_step)?;
        if !instance.values.is_empty() || !instance.children.is_empty() {
            let mut interval = object("DV_INTERVAL");
            for ((position, _), bound_instance) in &instance.children {
                let bound_node = &self.format.tree.nodes[node.children[*position]];
                if let Some(((name, _), entries)) = bound_instance.extras.iter().next() {
                    let key = entries.first().map_or("", |entry| entry.1);
                    errors.push(FormatError::new(
                        key,
                        format!("\"{name}\" is not allowed here"),
                    ));
                    continue;
                }
                let Some(step) = bound_node.steps.last() else {
                    continue;
                };
                match self.value(bound_node, &bound_instance.values) {
                    Ok(bound) => {
                        if let Err(error) = interval.set(&step.attribute, boxed(bound)) {
                            let key = bound_instance.values.first().map_or("", |entry| entry.1);
                            errors.push(FormatError::new(key, error.message));
                        }
                    }
                    Err(error) => errors.push(error),
                }
            }
            for (flag, bound) in [
                ("lower_unbounded", Some("lower")),
                ("upper_unbounded", Some("upper")),
                ("lower_included", None),
                ("upper_included", None),
            ] {
                let given = instance
                    .values
                    .iter()
                    .find(|(suffix, _, _)| *suffix == flag);
                let value = match given {
                    Some((_, key, value)) => match as_boolean(key, value) {
                        Ok(flag) => Some(flag),
                        Err(error) => {
                            errors.push(error);
                            continue;
                        }
                    },
                    None => bound.map(|bound| interval.get(bound).is_none()),
                };
                if let Some(value) = value {
                    set(&mut interval, flag, RmValue::Boolean(value));
                }
            }
            set(&mut element, "value", boxed(interval));
        }
        self.extras(&mut element, Some(element_step), &instance.extras, errors);
        Some(element)
    }

    /// The data value of a value node from its suffixed keys, with the attributes every
    /// value of its type may carry (`|formatting`, `|normal_status`, `|accuracy`...).
    fn value(&self, node: &Node, values: &[Entry]) -> Result<RmObject, FormatError> {
        let mut result = self.typed_value(node, values)?;
        common_attributes(&mut result, values)?;
        Ok(result)
    }

    /// The data value of a value node from the suffixes of its type.
    fn typed_value(&self, node: &Node, values: &[Entry]) -> Result<RmObject, FormatError> {
        let values = suffixes(values);
        let any_key = values.values().next().map_or("", |(key, _)| *key);
        let get = |suffix: &str| values.get(suffix).copied();
        let text_of = |suffix: &str| -> Result<Option<&str>, FormatError> {
            get(suffix)
                .map(|(key, value)| as_text(key, value))
                .transpose()
        };
        let bare_or = |suffix: &str| get("").or_else(|| get(suffix));
        let mut result;
        match node.rm_type.as_str() {
            "DV_TEXT" | "DV_CODED_TEXT" => {
                let code = text_of("code")?;
                let other = text_of("other")?;
                let value = text_of("value")?;
                let bare = text_of("")?;
                let terminology = text_of("terminology")?;
                let known_bare = bare.filter(|bare| node.code(bare).is_some());
                match (code.or(known_bare), other) {
                    (Some(code), _) => {
                        let terminology = terminology
                            .map(str::to_owned)
                            .or_else(|| node.terminology.clone())
                            .unwrap_or_else(|| "local".into());
                        let label = match value {
                            Some(value) => value.to_owned(),
                            None => self.code_label(node, &terminology, code).ok_or_else(|| {
                                FormatError::new(
                                    get("code").map_or(any_key, |entry| entry.0),
                                    format!("unknown code \"{code}\" and no |value"),
                                )
                            })?,
                        };
                        result = coded_text(&label, &terminology, code);
                    }
                    (None, Some(other)) => result = dv_text(other),
                    (None, None) => {
                        let Some(value) = value.or(bare) else {
                            return Err(FormatError::new(any_key, "missing value"));
                        };
                        if node.rm_type == "DV_CODED_TEXT" && !node.other {
                            // A bare code of an open (external) value set.
                            let terminology = terminology
                                .map(str::to_owned)
                                .or_else(|| node.terminology.clone());
                            match terminology {
                                Some(terminology) if node.codes.is_empty() => {
                                    result = coded_text(value, &terminology, value);
                                }
                                _ => {
                                    return Err(FormatError::new(
                                        any_key,
                                        format!("\"{value}\" is not a code of this node"),
                                    ));
                                }
                            }
                        } else {
                            result = dv_text(value);
                        }
                    }
                }
                let _ = &result;
            }
            "DV_QUANTITY" => {
                result = object("DV_QUANTITY");
                let Some((key, magnitude)) = bare_or("magnitude") else {
                    return Err(FormatError::new(any_key, "missing |magnitude"));
                };
                set(
                    &mut result,
                    "magnitude",
                    number_value(as_number(key, magnitude)?),
                );
                match text_of("unit")? {
                    Some(unit) => set(&mut result, "units", text(unit)),
                    None => return Err(FormatError::new(any_key, "missing |unit")),
                }
                if let Some((key, precision)) = get("precision") {
                    set(
                        &mut result,
                        "precision",
                        RmValue::Integer(as_integer(key, precision)?),
                    );
                }
            }
            "DV_COUNT" => {
                result = object("DV_COUNT");
                let Some((key, magnitude)) = bare_or("magnitude") else {
                    return Err(FormatError::new(any_key, "missing value"));
                };
                set(
                    &mut result,
                    "magnitude",
                    RmValue::Integer(as_integer(key, magnitude)?),
                );
            }
            "DV_PROPORTION" => {
                result = object("DV_PROPORTION");
                let (Some((numerator_key, numerator)), Some((denominator_key, denominator))) =
                    (get("numerator"), get("denominator"))
                else {
                    return Err(FormatError::new(
                        any_key,
                        "needs |numerator and |denominator",
                    ));
                };
                let numerator = as_number(numerator_key, numerator)?;
                let denominator = as_number(denominator_key, denominator)?;
                set(&mut result, "numerator", number_value(numerator));
                set(&mut result, "denominator", number_value(denominator));
                let kind = match get("type") {
                    Some((key, kind)) => as_integer(key, kind)?,
                    None => match node.proportion_types.as_slice() {
                        [only] => *only,
                        _ if denominator == 100.0 => 2,
                        _ if denominator == 1.0 => 1,
                        _ => 0,
                    },
                };
                set(&mut result, "type", RmValue::Integer(kind));
                if let Some((key, precision)) = get("precision") {
                    set(
                        &mut result,
                        "precision",
                        RmValue::Integer(as_integer(key, precision)?),
                    );
                }
            }
            "DV_ORDINAL" | "DV_SCALE" => {
                if let (Some(code), Some(label), Some((ordinal_key, ordinal))) =
                    (text_of("code")?, text_of("value")?, get("ordinal"))
                    && node.code(code).is_none()
                {
                    // A code the template does not list, given in full: kept as given.
                    result = object(&node.rm_type);
                    let ordinal = as_number(ordinal_key, ordinal)?;
                    if node.rm_type == "DV_ORDINAL" {
                        #[allow(clippy::cast_possible_truncation)]
                        set(&mut result, "value", RmValue::Integer(ordinal as i64));
                    } else {
                        set(&mut result, "value", RmValue::Real(ordinal));
                    }
                    let terminology = text_of("terminology")?.unwrap_or("local");
                    set(
                        &mut result,
                        "symbol",
                        boxed(coded_text(label, terminology, code)),
                    );
                    return Ok(result);
                }
                let code = match (
                    text_of("code")?,
                    get("ordinal").or(get("value")).or(get("")),
                ) {
                    (Some(code), _) => node.code(code).ok_or_else(|| {
                        FormatError::new(
                            get("code").map_or(any_key, |entry| entry.0),
                            format!("\"{code}\" is not a code of this node"),
                        )
                    })?,
                    (None, Some((key, Value::String(label)))) => node
                        .codes
                        .iter()
                        .find(|entry| {
                            entry.code == *label || entry.labels.values().any(|text| text == label)
                        })
                        .ok_or_else(|| {
                            FormatError::new(
                                key,
                                format!("\"{label}\" is not a value of this node"),
                            )
                        })?,
                    (None, Some((key, value))) => {
                        let number = as_number(key, value)?;
                        node.codes
                            .iter()
                            .find(|entry| entry.ordinal == Some(number))
                            .ok_or_else(|| {
                                FormatError::new(
                                    key,
                                    format!("{number} is not a value of this node"),
                                )
                            })?
                    }
                    (None, None) => return Err(FormatError::new(any_key, "missing |code")),
                };
                let label = localized(&code.labels, self.language(), &self.format.default_language)
                    .unwrap_or(&code.code);
                result = object(&node.rm_type);
                let ordinal = code.ordinal.unwrap_or_default();
                if node.rm_type == "DV_ORDINAL" {
                    #[allow(clippy::cast_possible_truncation)]
                    set(&mut result, "value", RmValue::Integer(ordinal as i64));
                } else {
                    set(&mut result, "value", RmValue::Real(ordinal));
                }
                set(
                    &mut result,
                    "symbol",
                    boxed(coded_text(label, "local", &code.code)),
                );
            }
            "DV_DATE_TIME" | "DV_DATE" | "DV_TIME" | "DV_DURATION" => {
                result = object(&node.rm_type);
                let given = match bare_or("value") {
                    Some((key, value)) => Some((key, as_text(key, value)?.to_owned())),
                    None => None,
                };
                let (key, value) = match given {
                    Some(given) => given,
                    None if node.rm_type == "DV_DURATION" => {
                        (any_key, duration_from_parts(&values)?)
                    }
                    None => return Err(FormatError::new(any_key, "missing value")),
                };
                let valid = match node.rm_type.as_str() {
                    "DV_DATE_TIME" => is_date_time(&value),
                    "DV_DATE" => DATE.is_match(&value) && month_and_day_valid(&value),
                    "DV_TIME" => TIME.is_match(&value),
                    _ => DURATION.is_match(&value) && value.len() > 1 && !value.ends_with('T'),
                };
                if !valid {
                    return Err(FormatError::new(
                        key,
                        format!(
                            "\"{value}\" is not an iso 8601 {}",
                            temporal_noun(&node.rm_type)
                        ),
                    ));
                }
                set(&mut result, "value", text(&value));
            }
            "DV_BOOLEAN" => {
                result = object("DV_BOOLEAN");
                let Some((key, value)) = bare_or("value") else {
                    return Err(FormatError::new(any_key, "missing value"));
                };
                set(
                    &mut result,
                    "value",
                    RmValue::Boolean(as_boolean(key, value)?),
                );
            }
            "DV_URI" | "DV_EHR_URI" | "STRING" => {
                let Some((key, value)) = bare_or("value") else {
                    return Err(FormatError::new(any_key, "missing value"));
                };
                let value = as_text(key, value)?;
                if node.rm_type == "STRING" {
                    // A STRING node is an RM attribute; it is placed as a plain string.
                    result = dv_text(value);
                } else {
                    result = object(&node.rm_type);
                    set(&mut result, "value", text(value));
                }
            }
            "DV_IDENTIFIER" => {
                result = object("DV_IDENTIFIER");
                let id = text_of("id")?.or(text_of("")?);
                let Some(id) = id else {
                    return Err(FormatError::new(any_key, "missing |id"));
                };
                set(&mut result, "id", text(id));
                for (suffix, attribute) in [
                    ("type", "type"),
                    ("issuer", "issuer"),
                    ("assigner", "assigner"),
                ] {
                    if let Some(value) = text_of(suffix)? {
                        set(&mut result, attribute, text(value));
                    }
                }
            }
            "DV_PARSABLE" => {
                result = object("DV_PARSABLE");
                let value = text_of("value")?.or(text_of("")?).unwrap_or_default();
                set(&mut result, "value", text(value));
                let formalism = text_of("formalism")?.unwrap_or("text/plain");
                set(&mut result, "formalism", text(formalism));
            }
            "DV_MULTIMEDIA" => {
                result = object("DV_MULTIMEDIA");
                let Some(uri) = text_of("")? else {
                    return Err(FormatError::new(any_key, "missing the uri"));
                };
                let mut uri_value = object("DV_URI");
                set(&mut uri_value, "value", text(uri));
                set(&mut result, "uri", boxed(uri_value));
                let media_type = text_of("mediatype")?.unwrap_or("application/octet-stream");
                set(
                    &mut result,
                    "media_type",
                    boxed(code_phrase("IANA_media-types", media_type)),
                );
                if let Some((key, size)) = get("size") {
                    set(
                        &mut result,
                        "size",
                        RmValue::Integer(as_integer(key, size)?),
                    );
                }
                if let Some(alternate) = text_of("alternatetext")? {
                    set(&mut result, "alternate_text", text(alternate));
                }
            }
            "DV_STATE" => {
                result = object("DV_STATE");
                let code = text_of("code")?.unwrap_or_default();
                let terminology = text_of("terminology")?
                    .map(str::to_owned)
                    .or_else(|| node.terminology.clone())
                    .unwrap_or_else(|| "local".into());
                let label = match text_of("value")? {
                    Some(value) => value.to_owned(),
                    None => self
                        .code_label(node, &terminology, code)
                        .unwrap_or_else(|| code.to_owned()),
                };
                set(
                    &mut result,
                    "value",
                    boxed(coded_text(&label, &terminology, code)),
                );
                set(&mut result, "is_terminal", RmValue::Boolean(false));
            }
            "CODE_PHRASE" => {
                let Some(code) = text_of("code")?.or(text_of("")?) else {
                    return Err(FormatError::new(any_key, "missing |code"));
                };
                let terminology = text_of("terminology")?
                    .map(str::to_owned)
                    .or_else(|| node.terminology.clone())
                    .unwrap_or_else(|| default_code_terminology(node).to_owned());
                result = code_phrase(&terminology, code);
            }
            "PARTY_PROXY" => {
                let name = text_of("name")?;
                let id = text_of("id")?;
                let scheme = text_of("id_scheme")?;
                let namespace = text_of("id_namespace")?;
                result = party(
                    name,
                    id,
                    scheme.or(self.context.text("id_scheme")),
                    namespace.or(self.context.text("id_namespace")),
                );
            }
            "LOCATABLE_REF" => {
                result = object("LOCATABLE_REF");
                let mut id = object("HIER_OBJECT_ID");
                set(&mut id, "value", text(text_of("id")?.unwrap_or_default()));
                set(&mut result, "id", boxed(id));
                set(
                    &mut result,
                    "namespace",
                    text(text_of("namespace")?.unwrap_or("local")),
                );
                set(
                    &mut result,
                    "type",
                    text(text_of("type")?.unwrap_or("INSTRUCTION")),
                );
                if let Some(path) = text_of("path")? {
                    set(&mut result, "path", text(path));
                }
            }
            other => {
                return Err(FormatError::new(
                    any_key,
                    format!("{other} values are not supported"),
                ));
            }
        }
        Ok(result)
    }

    /// The label of a code: the template's term in the composition's language, or the
    /// openEHR rubric.
    fn code_label(&self, node: &Node, terminology: &str, code: &str) -> Option<String> {
        if let Some(entry) = node.code(code) {
            return localized(
                &entry.labels,
                self.language(),
                &self.format.default_language,
            )
            .map(str::to_owned);
        }
        if terminology == "openehr" {
            return crate::web_template::openehr_rubric(code).map(str::to_owned);
        }
        None
    }

    /// An underscore attribute of a data value (see [`is_value_extra`]): the SDK's
    /// `/_mapping:N`, `/_language`, `/_encoding`, `/_normal_range` and
    /// `/_other_reference_ranges:N`.
    fn value_attribute(
        &self,
        node: &Node,
        value: &mut RmObject,
        name: &str,
        entries: &[Entry],
    ) -> Result<(), FormatError> {
        match name {
            "_mapping" => {
                let mapping = term_mapping(entries)?;
                append(value, "mappings", mapping);
            }
            "_language" => set(
                value,
                "language",
                boxed(code_phrase_of(entries, Some("ISO_639-1"))?),
            ),
            "_encoding" => set(
                value,
                "encoding",
                boxed(code_phrase_of(entries, Some("IANA_character-sets"))?),
            ),
            "_normal_range" => {
                let (own, bounds) = regroup(entries)?;
                let range = self.range(node, &own, &bounds)?;
                set(value, "normal_range", boxed(range));
            }
            "_other_reference_ranges" => {
                let (own, mut parts) = regroup(entries)?;
                let key = entries.first().map_or("", |entry| entry.1);
                let Some(meaning) = parts.remove(&("meaning", 0)) else {
                    return Err(FormatError::new(key, "a reference range needs /meaning"));
                };
                let mut reference = object("REFERENCE_RANGE");
                set(&mut reference, "meaning", boxed(text_of_entries(&meaning)?));
                set(
                    &mut reference,
                    "range",
                    boxed(self.range(node, &own, &parts)?),
                );
                append(value, "other_reference_ranges", reference);
            }
            _ => {
                let key = entries.first().map_or("", |entry| entry.1);
                return Err(FormatError::new(
                    key,
                    format!("\"{name}\" is not allowed here"),
                ));
            }
        }
        Ok(())
    }

    /// A DV_INTERVAL of values of the node's type: bounds under `/lower` and `/upper`, flags
    /// as suffixes, an absent `|x_unbounded` derived from the bound as for interval nodes.
    fn range(
        &self,
        node: &Node,
        own: &[Entry],
        bounds: &BTreeMap<(&str, usize), Vec<Entry>>,
    ) -> Result<RmObject, FormatError> {
        let mut interval = object("DV_INTERVAL");
        for ((name, index), entries) in bounds {
            let key = entries.first().map_or("", |entry| entry.1);
            if !matches!(*name, "lower" | "upper") || *index != 0 {
                return Err(FormatError::new(key, format!("a range has no \"{name}\"")));
            }
            if let Some((suffix, key, _)) = entries
                .iter()
                .find(|(suffix, _, _)| !value_suffix_allowed(&node.rm_type, suffix))
            {
                return Err(FormatError::new(
                    *key,
                    format!("{} has no \"|{suffix}\"", node.rm_type),
                ));
            }
            let bound = self.value(node, entries)?;
            interval
                .set(name, boxed(bound))
                .map_err(|error| FormatError::new(key, error.message))?;
        }
        let flags = [
            "lower_unbounded",
            "upper_unbounded",
            "lower_included",
            "upper_included",
        ];
        if let Some((suffix, key, _)) = own.iter().find(|(suffix, _, _)| !flags.contains(suffix)) {
            return Err(FormatError::new(
                *key,
                format!("a range has no \"|{suffix}\""),
            ));
        }
        for (flag, bound) in [
            ("lower_unbounded", Some("lower")),
            ("upper_unbounded", Some("upper")),
            ("lower_included", None),
            ("upper_included", None),
        ] {
            let given = own.iter().find(|(suffix, _, _)| *suffix == flag);
            let value = match given {
                Some((_, key, value)) => Some(as_boolean(key, value)?),
                None => bound.map(|bound| interval.get(bound).is_none()),
            };
            if let Some(value) = value {
                set(&mut interval, flag, RmValue::Boolean(value));
            }
        }
        Ok(interval)
    }

    /// The SDK's `_feeder_audit`: `/originating_system_audit|system_id|version_id|time`
    /// with its `/location`, `/provider` and `/subject` parties, the same for
    /// `/feeder_system_audit`, `/originating_system_item_id:N|id|type|issuer|assigner`
    /// and `/feeder_system_item_id:N`, and the original content as `/original_content`
    /// (DV_PARSABLE) or `/original_content_multimedia` (DV_MULTIMEDIA).
    fn feeder_audit(&self, entries: &[Entry]) -> Result<RmObject, FormatError> {
        let first_key = entries.first().map_or("", |entry| entry.1);
        let (own, parts) = regroup(entries)?;
        if let Some((_, key, _)) = own.first() {
            return Err(FormatError::new(
                *key,
                "\"_feeder_audit\" takes no value of its own",
            ));
        }
        let mut audit = object("FEEDER_AUDIT");
        let mut originating_ids = Vec::new();
        let mut feeder_ids = Vec::new();
        for ((name, _), group) in &parts {
            let key = group.first().map_or(first_key, |entry| entry.1);
            match *name {
                "originating_system_audit" | "feeder_system_audit" => {
                    set(&mut audit, name, boxed(audit_details(group)?));
                }
                "originating_system_item_id" => originating_ids.push(boxed(identifier(group)?)),
                "feeder_system_item_id" => feeder_ids.push(boxed(identifier(group)?)),
                "original_content" => {
                    only_suffixes(group, &["", "value", "formalism"])?;
                    let node = Node::detached("DV_PARSABLE");
                    set(
                        &mut audit,
                        "original_content",
                        boxed(self.value(&node, group)?),
                    );
                }
                "original_content_multimedia" => {
                    only_suffixes(group, &["", "mediatype", "size", "alternatetext"])?;
                    let node = Node::detached("DV_MULTIMEDIA");
                    set(
                        &mut audit,
                        "original_content",
                        boxed(self.value(&node, group)?),
                    );
                }
                other => {
                    return Err(FormatError::new(
                        key,
                        format!("a feeder audit has no \"{other}\""),
                    ));
                }
            }
        }
        if !originating_ids.is_empty() {
            set(
                &mut audit,
                "originating_system_item_ids",
                RmValue::List(originating_ids),
            );
        }
        if !feeder_ids.is_empty() {
            set(
                &mut audit,
                "feeder_system_item_ids",
                RmValue::List(feeder_ids),
            );
        }
        if audit.get("originating_system_audit").is_none() {
            return Err(FormatError::new(
                first_key,
                "a feeder audit needs /originating_system_audit|system_id",
            ));
        }
        Ok(audit)
    }

    /// Underscore attributes of an instance set on its own object (created through
    /// `own_step`).
    fn extras(
        &self,
        own: &mut RmObject,
        own_step: Option<&Step>,
        extras: &BTreeMap<(&str, usize), Vec<Entry>>,
        errors: &mut Vec<FormatError>,
    ) {
        let mut participations = Vec::new();
        let mut other_participations = Vec::new();
        let mut links = Vec::new();
        for ((name, _), entries) in extras {
            let values = suffixes(entries);
            let key = entries.first().map_or("", |entry| entry.1);
            let outcome = (|| -> Result<(), FormatError> {
                let text_of = |suffix: &str| -> Result<Option<&str>, FormatError> {
                    values
                        .get(suffix)
                        .map(|(key, value)| as_text(key, value))
                        .transpose()
                };
                let only = |allowed: &[&str]| -> Result<(), FormatError> {
                    match values.iter().find(|(suffix, _)| !allowed.contains(suffix)) {
                        Some((suffix, (key, _))) => Err(FormatError::new(
                            *key,
                            format!("\"{name}\" has no \"|{suffix}\""),
                        )),
                        None => Ok(()),
                    }
                };
                match *name {
                    "_name" => {
                        // The SDK's name override: the bare key for a text, coded when a
                        // code is given; the name's own attributes as for any text.
                        let (own_entries, parts) = regroup(entries)?;
                        only_suffixes(
                            &own_entries,
                            &["", "code", "value", "terminology", "formatting"],
                        )?;
                        let coded = own_step.and_then(|step| step.coded_name.as_ref());
                        let value = text_of("value")?.or(text_of("")?);
                        let terminology = text_of("terminology")?;
                        let name = match text_of("code")? {
                            Some(code) => {
                                let terminology = terminology
                                    .or(coded.and_then(|coded| coded.terminology.as_deref()))
                                    .unwrap_or("local");
                                let label = match value {
                                    Some(value) => value.to_owned(),
                                    None => coded
                                        .and_then(|coded| {
                                            coded.codes.iter().find(|entry| entry.code == code)
                                        })
                                        .and_then(|entry| {
                                            localized(
                                                &entry.labels,
                                                self.language(),
                                                &self.format.default_language,
                                            )
                                        })
                                        .map(str::to_owned)
                                        .ok_or_else(|| {
                                            FormatError::new(
                                                key,
                                                format!("unknown code \"{code}\" and no |value"),
                                            )
                                        })?,
                                };
                                coded_text(&label, terminology, code)
                            }
                            None if terminology.is_some() => {
                                return Err(FormatError::new(key, "\"_name\" needs |code"));
                            }
                            None => match value {
                                Some(value) => dv_text(value),
                                None => {
                                    return Err(FormatError::new(
                                        key,
                                        "\"_name\" needs |code or |value",
                                    ));
                                }
                            },
                        };
                        let mut name = name;
                        common_attributes(&mut name, &own_entries)?;
                        let node = Node::detached(name.type_name());
                        for ((part, _), group) in &parts {
                            if !matches!(*part, "_mapping" | "_language" | "_encoding") {
                                return Err(FormatError::new(key, "no such attribute of a name"));
                            }
                            self.value_attribute(&node, &mut name, part, group)?;
                        }
                        set(own, "name", boxed(name));
                    }
                    "_feeder_audit" => {
                        set(own, "feeder_audit", boxed(self.feeder_audit(entries)?));
                    }
                    "_uid" => {
                        only(&[""])?;
                        let mut id = object("HIER_OBJECT_ID");
                        set(&mut id, "value", text(text_of("")?.unwrap_or_default()));
                        set(own, "uid", boxed(id));
                    }
                    "_null_flavour" => {
                        only(&["", "code", "value", "terminology"])?;
                        let code = text_of("code")?.or(text_of("")?).unwrap_or("271");
                        let value = match text_of("value")? {
                            Some(value) => value.to_owned(),
                            None => crate::web_template::openehr_rubric(code)
                                .unwrap_or(code)
                                .to_owned(),
                        };
                        let terminology = text_of("terminology")?.unwrap_or("openehr");
                        set(
                            own,
                            "null_flavour",
                            boxed(coded_text(&value, terminology, code)),
                        );
                    }
                    "_null_reason" => {
                        set(own, "null_reason", boxed(text_of_entries(entries)?));
                    }
                    "_location" => {
                        only(&[""])?;
                        set(own, "location", text(text_of("")?.unwrap_or_default()));
                    }
                    "_end_time" => {
                        only(&[""])?;
                        let value = text_of("")?.unwrap_or_default();
                        if !is_date_time(value) {
                            return Err(FormatError::new(key, "expected an iso 8601 date-time"));
                        }
                        set(own, "end_time", boxed(date_time(value)));
                    }
                    "_health_care_facility" | "_provider" => {
                        only(&[
                            "name",
                            "id",
                            "id_scheme",
                            "id_namespace",
                            "/relationship",
                            "/relationship|code",
                            "/relationship|value",
                            "/relationship|terminology",
                        ])?;
                        let party = party(
                            text_of("name")?,
                            text_of("id")?,
                            text_of("id_scheme")?.or(self.context.text("id_scheme")),
                            text_of("id_namespace")?.or(self.context.text("id_namespace")),
                        );
                        let mut party = related(party, &values)?;
                        if *name == "_health_care_facility" {
                            organisation(&mut party);
                        }
                        let attribute = if *name == "_provider" {
                            "provider"
                        } else {
                            "health_care_facility"
                        };
                        set(own, attribute, boxed(party));
                    }
                    "_participation" | "_other_participation" => {
                        only(&[
                            "function",
                            "mode",
                            "mode_code",
                            "name",
                            "id",
                            "id_scheme",
                            "id_namespace",
                            "/relationship",
                            "/relationship|code",
                            "/relationship|value",
                            "/relationship|terminology",
                        ])?;
                        let mut participation = participation(
                            key,
                            text_of("function")?,
                            text_of("mode")?
                                .map(|mode| (mode, text_of("mode_code").ok().flatten())),
                            text_of("name")?,
                            text_of("id")?,
                            text_of("id_scheme")?.or(self.context.text("id_scheme")),
                            text_of("id_namespace")?.or(self.context.text("id_namespace")),
                        )?;
                        if let Some(RmValue::Object(performer)) = participation.remove("performer")
                        {
                            let performer = related(*performer, &values)?;
                            set(&mut participation, "performer", boxed(performer));
                        }
                        if *name == "_participation" {
                            participations.push(boxed(participation));
                        } else {
                            other_participations.push(boxed(participation));
                        }
                    }
                    "_link" => {
                        only(&["meaning", "type", "target"])?;
                        let mut link = object("LINK");
                        set(
                            &mut link,
                            "meaning",
                            boxed(dv_text(text_of("meaning")?.unwrap_or_default())),
                        );
                        set(
                            &mut link,
                            "type",
                            boxed(dv_text(text_of("type")?.unwrap_or_default())),
                        );
                        let mut target = object("DV_EHR_URI");
                        set(
                            &mut target,
                            "value",
                            text(text_of("target")?.unwrap_or_default()),
                        );
                        set(&mut link, "target", boxed(target));
                        links.push(boxed(link));
                    }
                    "_history_origin" => {
                        only(&[""])?;
                        let value = text_of("")?.unwrap_or_default();
                        if !is_date_time(value) {
                            return Err(FormatError::new(key, "expected an iso 8601 date-time"));
                        }
                        match own.get_mut("data") {
                            Some(RmValue::Object(history)) => {
                                set(history, "origin", boxed(date_time(value)));
                            }
                            _ => return Err(FormatError::new(key, "the observation has no data")),
                        }
                    }
                    "_work_flow_id" | "_guideline_id" => {
                        only(&["id", "id_scheme", "namespace", "type"])?;
                        let mut reference = object("OBJECT_REF");
                        let mut id = object("GENERIC_ID");
                        set(&mut id, "value", text(text_of("id")?.unwrap_or_default()));
                        set(
                            &mut id,
                            "scheme",
                            text(text_of("id_scheme")?.unwrap_or("local")),
                        );
                        set(&mut reference, "id", boxed(id));
                        set(
                            &mut reference,
                            "namespace",
                            text(text_of("namespace")?.unwrap_or("local")),
                        );
                        set(
                            &mut reference,
                            "type",
                            text(text_of("type")?.unwrap_or("ANY")),
                        );
                        // The SDK's key says work_flow_id; the RM attribute is workflow_id.
                        let attribute = match *name {
                            "_work_flow_id" => "workflow_id",
                            _ => "guideline_id",
                        };
                        set(own, attribute, boxed(reference));
                    }
                    _ => {
                        return Err(FormatError::new(
                            key,
                            format!("unknown attribute \"{name}\""),
                        ));
                    }
                }
                Ok(())
            })();
            if let Err(error) = outcome {
                errors.push(error);
            }
        }
        if !participations.is_empty() {
            set(own, "participations", RmValue::List(participations));
        }
        if !links.is_empty() {
            set(own, "links", RmValue::List(links));
        }
        if !other_participations.is_empty() {
            set(
                own,
                "other_participations",
                RmValue::List(other_participations),
            );
        }
    }

    /// Fills the composition's mandatory parts top-down, `ctx/` first.
    fn fill_composition(
        &self,
        composition: &mut RmObject,
        root: &Node,
        errors: &mut Vec<FormatError>,
    ) {
        let context = self.context;
        if composition.get("language").is_none() {
            set(
                composition,
                "language",
                boxed(code_phrase("ISO_639-1", self.language())),
            );
        }
        if composition.get("territory").is_none() {
            match context.text("territory") {
                Some(territory) => set(
                    composition,
                    "territory",
                    boxed(code_phrase("ISO_3166-1", territory)),
                ),
                None => errors.push(FormatError::new(
                    "ctx/territory",
                    format!("no territory: give ctx/territory or {}/territory", root.id),
                )),
            }
        }
        if composition.get("composer").is_none() {
            let self_composer =
                context
                    .values
                    .get(&("composer_self", 0))
                    .is_some_and(|(_, value)| {
                        value.as_bool() == Some(true) || value.as_str() == Some("true")
                    });
            let name = context.text("composer_name");
            let id = context.text("composer_id");
            if self_composer {
                set(
                    composition,
                    "composer",
                    boxed(party(
                        None,
                        id,
                        context.text("id_scheme"),
                        context.text("id_namespace"),
                    )),
                );
            } else if name.is_some() || id.is_some() {
                let mut composer = party(
                    name,
                    id,
                    context.text("id_scheme"),
                    context.text("id_namespace"),
                );
                if composer.type_name() == "PARTY_SELF" {
                    composer = party(
                        Some(""),
                        id,
                        context.text("id_scheme"),
                        context.text("id_namespace"),
                    );
                }
                set(composition, "composer", boxed(composer));
            } else {
                errors.push(FormatError::new(
                    "ctx/composer_name",
                    format!(
                        "no composer: give ctx/composer_name or {}/composer|name",
                        root.id
                    ),
                ));
            }
        }
        if composition.get("category").is_none() {
            let code = self
                .format
                .tree
                .category
                .clone()
                .unwrap_or_else(|| "433".into());
            let rubric = crate::web_template::openehr_rubric(&code)
                .unwrap_or("event")
                .to_owned();
            set(
                composition,
                "category",
                boxed(coded_text(&rubric, "openehr", &code)),
            );
        }
        let persistent = composition
            .get_object("category")
            .and_then(|category| category.get_object("defining_code"))
            .and_then(|code| code.get_str("code_string"))
            == Some("431");
        let has_context_node = root.child_ids.contains_key("context");
        if composition.get("context").is_none() && has_context_node && !persistent {
            set(composition, "context", boxed(object("EVENT_CONTEXT")));
        }
        if let Some(RmValue::Object(event_context)) = composition.get_mut("context") {
            self.fill_context(event_context, errors);
        }
        if let Some(RmValue::List(content)) = composition.get_mut("content") {
            for item in content {
                if let RmValue::Object(item) = item {
                    self.fill(item, errors);
                }
            }
        }
    }

    fn time_or_error(&self, what: &str, errors: &mut Vec<FormatError>) -> Option<String> {
        match &self.context.time {
            Some(time) => Some(time.clone()),
            None => {
                errors.push(FormatError::new(
                    "ctx/time",
                    format!("no {what}: give it or ctx/time"),
                ));
                None
            }
        }
    }

    fn fill_context(&self, event_context: &mut RmObject, errors: &mut Vec<FormatError>) {
        let context = self.context;
        if event_context.get("start_time").is_none()
            && let Some(time) = self.time_or_error("context start time", errors)
        {
            set(event_context, "start_time", boxed(date_time(&time)));
        }
        if event_context.get("end_time").is_none()
            && let Some(end) = context.text("end_time")
        {
            set(event_context, "end_time", boxed(date_time(end)));
        }
        if event_context.get("setting").is_none() {
            let code = context.text("setting").unwrap_or("238");
            let rubric = crate::web_template::openehr_rubric(code)
                .unwrap_or(code)
                .to_owned();
            set(
                event_context,
                "setting",
                boxed(coded_text(&rubric, "openehr", code)),
            );
        }
        if event_context.get("health_care_facility").is_none()
            && (context.text("health_care_facility|name").is_some()
                || context.text("health_care_facility|id").is_some())
        {
            let mut facility = party(
                Some(
                    context
                        .text("health_care_facility|name")
                        .unwrap_or_default(),
                ),
                context.text("health_care_facility|id"),
                context.text("id_scheme"),
                context.text("id_namespace"),
            );
            organisation(&mut facility);
            set(event_context, "health_care_facility", boxed(facility));
        }
        if event_context.get("participations").is_none() {
            let mut participations = Vec::new();
            for index in 0.. {
                let field = |name: &str| context.text_at(name, index);
                if field("participation_name").is_none()
                    && field("participation_id").is_none()
                    && field("participation_function").is_none()
                {
                    break;
                }
                let key = context
                    .values
                    .get(&("participation_name", index))
                    .map_or("ctx/participation_name", |(key, _)| *key);
                match participation(
                    key,
                    field("participation_function"),
                    field("participation_mode").map(|mode| (mode, None)),
                    field("participation_name"),
                    field("participation_id"),
                    field("participation_id_scheme").or(context.text("id_scheme")),
                    field("participation_id_namespace").or(context.text("id_namespace")),
                ) {
                    Ok(participation) => participations.push(boxed(participation)),
                    Err(error) => errors.push(error),
                }
            }
            if !participations.is_empty() {
                set(
                    event_context,
                    "participations",
                    RmValue::List(participations),
                );
            }
        }
    }

    /// Mandatory parts of content items and their descendants.
    fn fill(&self, item: &mut RmObject, errors: &mut Vec<FormatError>) {
        let context = self.context;
        let type_name = item.type_name();
        let entry = matches!(
            type_name,
            "OBSERVATION"
                | "EVALUATION"
                | "INSTRUCTION"
                | "ACTION"
                | "ADMIN_ENTRY"
                | "GENERIC_ENTRY"
        );
        if entry {
            if item.get("language").is_none() {
                set(
                    item,
                    "language",
                    boxed(code_phrase("ISO_639-1", self.language())),
                );
            }
            if item.get("encoding").is_none() {
                set(
                    item,
                    "encoding",
                    boxed(code_phrase("IANA_character-sets", "UTF-8")),
                );
            }
            if item.get("subject").is_none() {
                set(item, "subject", boxed(object("PARTY_SELF")));
            }
            if item.get("provider").is_none()
                && (context.text("provider_name").is_some()
                    || context.text("provider_id").is_some())
            {
                let provider = party(
                    Some(context.text("provider_name").unwrap_or_default()),
                    context.text("provider_id"),
                    context.text("id_scheme"),
                    context.text("id_namespace"),
                );
                set(item, "provider", boxed(provider));
            }
            for (name, attribute) in [
                ("work_flow_id", "workflow_id"),
                ("guideline_id", "guideline_id"),
            ] {
                if item.get(attribute).is_none()
                    && let Some(id) = context.text(name)
                {
                    let mut reference = object("OBJECT_REF");
                    let mut generic = object("GENERIC_ID");
                    set(&mut generic, "value", text(id));
                    set(
                        &mut generic,
                        "scheme",
                        text(context.text("id_scheme").unwrap_or("local")),
                    );
                    set(&mut reference, "id", boxed(generic));
                    set(
                        &mut reference,
                        "namespace",
                        text(context.text("id_namespace").unwrap_or("local")),
                    );
                    set(&mut reference, "type", text("ANY"));
                    set(item, attribute, boxed(reference));
                }
            }
        }
        match type_name {
            "ACTION" => {
                if item.get("time").is_none()
                    && let Some(time) = self.time_or_error("action time", errors)
                {
                    set(item, "time", boxed(date_time(&time)));
                }
            }
            "INSTRUCTION" if item.get("narrative").is_none() => {
                let name = item
                    .get_object("name")
                    .and_then(|name| name.get_str("value"))
                    .unwrap_or_default()
                    .to_owned();
                set(item, "narrative", boxed(dv_text(&name)));
            }
            "ACTIVITY" if item.get("action_archetype_id").is_none() => {
                set(item, "action_archetype_id", text("/.*/"));
            }
            "HISTORY" if item.get("origin").is_none() => {
                let origin = context
                    .text("history_origin")
                    .map(str::to_owned)
                    .or_else(|| first_event_time(item))
                    .or_else(|| self.time_or_error("history origin", errors));
                if let Some(origin) = origin {
                    set(item, "origin", boxed(date_time(&origin)));
                }
            }
            "POINT_EVENT" | "INTERVAL_EVENT" => {
                if item.get("time").is_none()
                    && let Some(time) = self.time_or_error("event time", errors)
                {
                    set(item, "time", boxed(date_time(&time)));
                }
            }
            _ => {}
        }
        // Descend into every object-valued attribute.
        let attributes: Vec<&'static str> = item
            .attributes()
            .filter(|(_, value)| matches!(value, RmValue::Object(_) | RmValue::List(_)))
            .map(|(definition, _)| definition.name)
            .collect();
        for attribute in attributes {
            match item.get_mut(attribute) {
                Some(RmValue::Object(child)) if is_structure(child) => self.fill(child, errors),
                Some(RmValue::List(children)) => {
                    for child in children {
                        if let RmValue::Object(child) = child
                            && is_structure(child)
                        {
                            self.fill(child, errors);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The attributes of a value given by its type's common suffixes (see
/// [`common_suffixes`]); `|normal_status` is a code of the openEHR normal statuses.
fn common_attributes(value: &mut RmObject, values: &[Entry]) -> Result<(), FormatError> {
    for (suffix, key, given) in values {
        match *suffix {
            "formatting" | "magnitude_status" | "units_system" | "units_display_name"
            | "preferred_term" => set(value, suffix, text(as_text(key, given)?)),
            "accuracy" => set(value, suffix, number_value(as_number(key, given)?)),
            "accuracy_is_percent" => set(value, suffix, RmValue::Boolean(as_boolean(key, given)?)),
            "normal_status" => set(
                value,
                suffix,
                boxed(code_phrase("openehr_normal_statuses", as_text(key, given)?)),
            ),
            _ => {}
        }
    }
    Ok(())
}

/// The entries of an underscore attribute split by their first path segment:
/// `/lower|magnitude` goes to `("lower", 0)` as `magnitude`, `/target` to `("target", 0)`
/// as the bare key, `/feeder_system_item_id:1|id` to `("feeder_system_item_id", 1)`;
/// entries without a path are the attribute's own.
#[allow(clippy::type_complexity)]
fn regroup<'a>(
    entries: &[Entry<'a>],
) -> Result<(Vec<Entry<'a>>, BTreeMap<(&'a str, usize), Vec<Entry<'a>>>), FormatError> {
    let mut own = Vec::new();
    let mut parts: BTreeMap<(&str, usize), Vec<Entry>> = BTreeMap::new();
    for (suffix, key, value) in entries {
        let Some(path) = suffix.strip_prefix('/') else {
            own.push((*suffix, *key, *value));
            continue;
        };
        let end = path.find(['/', '|']).unwrap_or(path.len());
        let rest = &path[end..];
        let rest = rest.strip_prefix('|').unwrap_or(rest);
        let (name, index) =
            split_index(&path[..end]).map_err(|message| FormatError::new(*key, message))?;
        parts
            .entry((name, index))
            .or_default()
            .push((rest, *key, *value));
    }
    Ok((own, parts))
}

fn only_suffixes(entries: &[Entry], allowed: &[&str]) -> Result<(), FormatError> {
    match entries
        .iter()
        .find(|(suffix, _, _)| !allowed.contains(suffix))
    {
        Some((suffix, key, _)) if suffix.starts_with('/') => {
            Err(FormatError::new(*key, "no such attribute here"))
        }
        Some((suffix, key, _)) => Err(FormatError::new(*key, format!("no \"|{suffix}\" here"))),
        None => Ok(()),
    }
}

fn entry_text<'v>(entries: &[Entry<'v>], suffix: &str) -> Result<Option<&'v str>, FormatError> {
    entries
        .iter()
        .find(|(given, _, _)| *given == suffix)
        .map(|(_, key, value)| as_text(key, value))
        .transpose()
}

fn append(object: &mut RmObject, attribute: &str, item: RmObject) {
    let mut items = match object.remove(attribute) {
        Some(RmValue::List(items)) => items,
        _ => Vec::new(),
    };
    items.push(boxed(item));
    set(object, attribute, RmValue::List(items));
}

/// A DV_TEXT, or a DV_CODED_TEXT when a `|code` is given (a reference range's meaning, a
/// mapping's purpose): the bare key or `|value` is the text, an openEHR code without one
/// takes its rubric.
fn text_of_entries(entries: &[Entry]) -> Result<RmObject, FormatError> {
    only_suffixes(entries, &["", "value", "code", "terminology", "formatting"])?;
    let key = entries.first().map_or("", |entry| entry.1);
    let value = entry_text(entries, "value")?.or(entry_text(entries, "")?);
    let mut text_value = match entry_text(entries, "code")? {
        Some(code) => {
            let terminology = entry_text(entries, "terminology")?.unwrap_or("local");
            let label = match value {
                Some(value) => value,
                None if terminology == "openehr" => {
                    crate::web_template::openehr_rubric(code).unwrap_or(code)
                }
                None => code,
            };
            coded_text(label, terminology, code)
        }
        None => match value {
            Some(value) => dv_text(value),
            None => return Err(FormatError::new(key, "missing value")),
        },
    };
    common_attributes(&mut text_value, entries)?;
    Ok(text_value)
}

/// A CODE_PHRASE from `|code` (or the bare key), `|terminology` and `|preferred_term`.
fn code_phrase_of(entries: &[Entry], terminology: Option<&str>) -> Result<RmObject, FormatError> {
    only_suffixes(entries, &["", "code", "terminology", "preferred_term"])?;
    let key = entries.first().map_or("", |entry| entry.1);
    let Some(code) = entry_text(entries, "code")?.or(entry_text(entries, "")?) else {
        return Err(FormatError::new(key, "missing |code"));
    };
    let Some(terminology) = entry_text(entries, "terminology")?.or(terminology) else {
        return Err(FormatError::new(key, "missing |terminology"));
    };
    let mut phrase = code_phrase(terminology, code);
    common_attributes(&mut phrase, entries)?;
    Ok(phrase)
}

/// A TERM_MAPPING: `|match`, `/target|code|terminology` and `/purpose|code|value|terminology`.
fn term_mapping(entries: &[Entry]) -> Result<RmObject, FormatError> {
    let key = entries.first().map_or("", |entry| entry.1);
    let (own, parts) = regroup(entries)?;
    only_suffixes(&own, &["match"])?;
    let mut mapping = object("TERM_MAPPING");
    match entry_text(&own, "match")? {
        Some(matched) if matches!(matched, "=" | "<" | ">" | "?") => {
            set(&mut mapping, "match", text(matched));
        }
        Some(other) => {
            return Err(FormatError::new(
                key,
                format!("\"{other}\" is not a mapping match (=, <, > or ?)"),
            ));
        }
        None => return Err(FormatError::new(key, "a mapping needs |match")),
    }
    for ((name, index), group) in &parts {
        match (*name, index) {
            ("target", 0) => set(&mut mapping, "target", boxed(code_phrase_of(group, None)?)),
            ("purpose", 0) => {
                let purpose = text_of_entries(group)?;
                if purpose.type_name() != "DV_CODED_TEXT" {
                    return Err(FormatError::new(key, "a mapping's purpose needs |code"));
                }
                set(&mut mapping, "purpose", boxed(purpose));
            }
            _ => {
                return Err(FormatError::new(
                    key,
                    format!("a mapping has no \"{name}\""),
                ));
            }
        }
    }
    if mapping.get("target").is_none() {
        return Err(FormatError::new(key, "a mapping needs /target|code"));
    }
    Ok(mapping)
}

/// A DV_IDENTIFIER from `|id`, `|type`, `|issuer` and `|assigner`.
fn identifier(entries: &[Entry]) -> Result<RmObject, FormatError> {
    only_suffixes(entries, &["id", "type", "issuer", "assigner"])?;
    let key = entries.first().map_or("", |entry| entry.1);
    let mut identifier = object("DV_IDENTIFIER");
    let Some(id) = entry_text(entries, "id")? else {
        return Err(FormatError::new(key, "an identifier needs |id"));
    };
    set(&mut identifier, "id", text(id));
    for attribute in ["type", "issuer", "assigner"] {
        if let Some(value) = entry_text(entries, attribute)? {
            set(&mut identifier, attribute, text(value));
        }
    }
    Ok(identifier)
}

/// FEEDER_AUDIT_DETAILS: `|system_id` (required), `|version_id`, `|time` and the
/// `/location`, `/provider` (PARTY_IDENTIFIED) and `/subject` parties.
fn audit_details(entries: &[Entry]) -> Result<RmObject, FormatError> {
    let key = entries.first().map_or("", |entry| entry.1);
    let (own, parties) = regroup(entries)?;
    only_suffixes(&own, &["system_id", "version_id", "time"])?;
    let mut details = object("FEEDER_AUDIT_DETAILS");
    let Some(system) = entry_text(&own, "system_id")? else {
        return Err(FormatError::new(key, "audit details need |system_id"));
    };
    set(&mut details, "system_id", text(system));
    if let Some(version) = entry_text(&own, "version_id")? {
        set(&mut details, "version_id", text(version));
    }
    if let Some(time) = entry_text(&own, "time")? {
        if !is_date_time(time) {
            return Err(FormatError::new(key, "expected an iso 8601 date-time"));
        }
        set(&mut details, "time", boxed(date_time(time)));
    }
    for ((name, index), group) in &parties {
        if !matches!(*name, "location" | "provider" | "subject") || *index != 0 {
            return Err(FormatError::new(
                key,
                format!("audit details have no \"{name}\""),
            ));
        }
        only_suffixes(
            group,
            &[
                "name",
                "id",
                "id_scheme",
                "id_namespace",
                "_type",
                "/relationship",
                "/relationship|code",
                "/relationship|value",
                "/relationship|terminology",
            ],
        )?;
        let values = suffixes(group);
        let party_self = entry_text(group, "_type")? == Some("PARTY_SELF");
        let mut built = party(
            entry_text(group, "name")?,
            entry_text(group, "id")?,
            entry_text(group, "id_scheme")?,
            entry_text(group, "id_namespace")?,
        );
        if *name != "subject" || !party_self {
            built = related(identified(built), &values)?;
        }
        if *name != "subject" && built.type_name() == "PARTY_RELATED" {
            return Err(FormatError::new(
                key,
                format!("the {name} cannot be related"),
            ));
        }
        set(&mut details, name, boxed(built));
    }
    Ok(details)
}

/// The party as a PARTY_IDENTIFIED (a reference without a name makes a PARTY_SELF first).
fn identified(party: RmObject) -> RmObject {
    if party.type_name() == "PARTY_IDENTIFIED" {
        return party;
    }
    let mut identified = object("PARTY_IDENTIFIED");
    let mut party = party;
    if let Some(reference) = party.remove("external_ref") {
        set(&mut identified, "external_ref", reference);
    }
    identified
}

/// See [`Builder::default_name`]; output compares against it.
pub(super) fn default_name(
    step: &Step,
    node_id: &str,
    language: &str,
    default_language: &str,
) -> RmObject {
    if let Some(code) = step.fixed_name_code() {
        let terminology = step
            .coded_name
            .as_ref()
            .and_then(|coded| coded.terminology.as_deref())
            .unwrap_or("local");
        let label = localized(&code.labels, language, default_language)
            .or(step.name.as_deref())
            .unwrap_or(&code.code);
        return coded_text(label, terminology, &code.code);
    }
    let name = step
        .name
        .as_deref()
        .or_else(|| localized(&step.names, language, default_language));
    dv_text(name.unwrap_or(node_id))
}

fn is_structure(object: &RmObject) -> bool {
    object.get("archetype_node_id").is_some()
}

fn first_event_time(history: &RmObject) -> Option<String> {
    let Some(RmValue::List(events)) = history.get("events") else {
        return None;
    };
    events.iter().find_map(|event| match event {
        RmValue::Object(event) => event
            .get_object("time")
            .and_then(|time| time.get_str("value"))
            .map(str::to_owned),
        _ => None,
    })
}

fn temporal_noun(rm_type: &str) -> &'static str {
    match rm_type {
        "DV_DATE_TIME" => "date-time",
        "DV_DATE" => "date",
        "DV_TIME" => "time",
        _ => "duration",
    }
}

fn default_code_terminology(node: &Node) -> &'static str {
    match node.id.as_str() {
        "language" => "ISO_639-1",
        "territory" => "ISO_3166-1",
        "encoding" => "IANA_character-sets",
        _ => "local",
    }
}

/// A duration from its `|year`, `|month`... parts.
fn duration_from_parts(values: &BTreeMap<&str, (&str, &Value)>) -> Result<String, FormatError> {
    let mut date = String::new();
    let mut time = String::new();
    for (suffix, designator, in_time) in [
        ("year", 'Y', false),
        ("month", 'M', false),
        ("week", 'W', false),
        ("day", 'D', false),
        ("hour", 'H', true),
        ("minute", 'M', true),
        ("second", 'S', true),
    ] {
        if let Some((key, value)) = values.get(suffix) {
            let number = as_integer(key, value)?;
            let part = if in_time { &mut time } else { &mut date };
            part.push_str(&number.to_string());
            part.push(designator);
        }
    }
    let mut duration = format!("P{date}");
    if !time.is_empty() {
        duration.push('T');
        duration.push_str(&time);
    }
    Ok(duration)
}

/// A PARTY_PROXY: PARTY_IDENTIFIED with a name, else PARTY_SELF; an id becomes its
/// external reference.
pub(super) fn party(
    name: Option<&str>,
    id: Option<&str>,
    scheme: Option<&str>,
    namespace: Option<&str>,
) -> RmObject {
    let mut party = object(if name.is_some() {
        "PARTY_IDENTIFIED"
    } else {
        "PARTY_SELF"
    });
    if let Some(name) = name {
        set(&mut party, "name", text(name));
    }
    if let Some(id) = id {
        let mut reference = object("PARTY_REF");
        let mut generic = object("GENERIC_ID");
        set(&mut generic, "value", text(id));
        set(&mut generic, "scheme", text(scheme.unwrap_or("local")));
        set(&mut reference, "id", boxed(generic));
        set(
            &mut reference,
            "namespace",
            text(namespace.unwrap_or("local")),
        );
        set(&mut reference, "type", text("PERSON"));
        set(&mut party, "external_ref", boxed(reference));
    }
    party
}

/// The party as a PARTY_RELATED when `relationship|...` suffixes are given (the SDK's
/// `<party>/relationship|code`); the relationship is coded, in the openehr terminology
/// unless a terminology is given.
fn related(
    party: RmObject,
    values: &BTreeMap<&str, (&str, &Value)>,
) -> Result<RmObject, FormatError> {
    let get = |suffix: &str| -> Result<Option<&str>, FormatError> {
        values
            .get(suffix)
            .map(|(key, value)| as_text(key, value))
            .transpose()
    };
    let code = get("/relationship|code")?.or(get("/relationship")?);
    let value = get("/relationship|value")?;
    let terminology = get("/relationship|terminology")?.unwrap_or("openehr");
    let Some(code) = code else {
        return match values.get("/relationship|value") {
            Some((key, _)) => Err(FormatError::new(*key, "a relationship needs |code")),
            None => Ok(party),
        };
    };
    let label = match value {
        Some(value) => value.to_owned(),
        None if terminology == "openehr" => crate::web_template::openehr_rubric(code)
            .unwrap_or(code)
            .to_owned(),
        None => code.to_owned(),
    };
    let mut related = object("PARTY_RELATED");
    let mut party = party;
    for attribute in ["name", "external_ref"] {
        if let Some(value) = party.remove(attribute) {
            set(&mut related, attribute, value);
        }
    }
    set(
        &mut related,
        "relationship",
        boxed(coded_text(&label, terminology, code)),
    );
    Ok(related)
}

/// A care facility's reference names an organisation, not a person.
fn organisation(party: &mut RmObject) {
    if let Some(RmValue::Object(reference)) = party.get_mut("external_ref") {
        set(reference, "type", text("ORGANISATION"));
    }
}

/// The openEHR terminology's participation mode codes (rubrics in
/// `web_template::openehr_rubric`).
const MODES: &[&str] = &[
    "193", "216", "223", "217", "195", "198", "197", "218", "224", "194", "196", "202", "204",
    "203", "205", "222", "199", "200", "201", "212", "213", "214", "215", "206", "211", "210",
    "207", "208", "221", "209", "219", "220",
];

#[allow(clippy::too_many_arguments)]
fn participation(
    key: &str,
    function: Option<&str>,
    mode: Option<(&str, Option<&str>)>,
    name: Option<&str>,
    id: Option<&str>,
    scheme: Option<&str>,
    namespace: Option<&str>,
) -> Result<RmObject, FormatError> {
    let mut participation = object("PARTICIPATION");
    set(
        &mut participation,
        "function",
        boxed(dv_text(function.unwrap_or("unknown"))),
    );
    set(
        &mut participation,
        "performer",
        boxed(party(Some(name.unwrap_or_default()), id, scheme, namespace)),
    );
    if let Some((mode, Some(code))) = mode {
        set(
            &mut participation,
            "mode",
            boxed(coded_text(mode, "openehr", code)),
        );
    } else if let Some((mode, None)) = mode {
        let Some((code, rubric)) = MODES
            .iter()
            .filter_map(|code| Some((*code, crate::web_template::openehr_rubric(code)?)))
            .find(|(code, rubric)| *rubric == mode || *code == mode)
        else {
            return Err(FormatError::new(
                key,
                format!("\"{mode}\" is not a participation mode of the openehr terminology"),
            ));
        };
        set(
            &mut participation,
            "mode",
            boxed(coded_text(rubric, "openehr", code)),
        );
    }
    Ok(participation)
}

/// Places `child` under `parent` through `steps`, sharing (or creating) the hidden objects
/// on the way.
fn place(
    builder: &Builder,
    parent: &mut RmObject,
    steps: &[Step],
    child: RmObject,
) -> Result<(), String> {
    let Some((last, hidden)) = steps.split_last() else {
        return Err("the node has no place in the composition".into());
    };
    let mut current = parent;
    for step in hidden {
        current = find_or_create(builder, current, step)?;
    }
    if matches!(last.attribute.as_str(), "width" | "math_function")
        && current.type_name() == "POINT_EVENT"
    {
        *current = interval_event(current)?;
    }
    let value = if last.rm_type == "STRING" || child_is_string(&child, last) {
        match child.get_str("value") {
            Some(value) => RmValue::String(value.to_owned()),
            None => return Err("missing value".into()),
        }
    } else {
        boxed(child)
    };
    if last.list {
        match current.get_mut(&last.attribute) {
            Some(RmValue::List(items)) => {
                items.push(value);
                // Re-set to check the new member's type.
                let items = std::mem::take(items);
                current
                    .set(&last.attribute, RmValue::List(items))
                    .map_err(|error| error.message)
            }
            _ => current
                .set(&last.attribute, RmValue::List(vec![value]))
                .map_err(|error| error.message),
        }
    } else {
        current
            .set(&last.attribute, value)
            .map_err(|error| error.message)
    }
}

/// The event as an INTERVAL_EVENT, for a `width` or `math_function` key: an abstract EVENT
/// is built as a POINT_EVENT until something only an interval event has is given.
fn interval_event(event: &RmObject) -> Result<RmObject, String> {
    let mut interval = RmObject::new("INTERVAL_EVENT").map_err(|error| error.message)?;
    for (definition, value) in event.attributes() {
        interval
            .set(definition.name, value.clone())
            .map_err(|error| error.message)?;
    }
    Ok(interval)
}

fn child_is_string(child: &RmObject, step: &Step) -> bool {
    let _ = child;
    concrete(&step.rm_type) == "STRING"
}

fn find_or_create<'o>(
    builder: &Builder,
    parent: &'o mut RmObject,
    step: &Step,
) -> Result<&'o mut RmObject, String> {
    let matches = |object: &RmObject| {
        let node_ok = match &step.node_id {
            Some(node_id) => {
                let expected = step.archetype_id.as_ref().unwrap_or(node_id);
                object.get_str("archetype_node_id") == Some(expected.as_str())
            }
            None => true,
        };
        node_ok && step.name_matches(object)
    };
    let existing = match parent.get(&step.attribute) {
        Some(RmValue::List(items)) => items
            .iter()
            .position(|item| matches!(item, RmValue::Object(object) if matches(object))),
        Some(RmValue::Object(object)) if matches(object) => Some(0),
        _ => None,
    };
    if existing.is_none() {
        let Some(created) = builder.step_object(step) else {
            return Err(format!("cannot create a {}", step.rm_type));
        };
        if step.list {
            let mut items = match parent.remove(&step.attribute) {
                Some(RmValue::List(items)) => items,
                _ => Vec::new(),
            };
            items.push(boxed(created));
            parent
                .set(&step.attribute, RmValue::List(items))
                .map_err(|error| error.message)?;
        } else {
            parent
                .set(&step.attribute, boxed(created))
                .map_err(|error| error.message)?;
        }
    }
    let position = existing.unwrap_or(usize::MAX);
    match parent.get_mut(&step.attribute) {
        Some(RmValue::List(items)) => {
            let index = if position == usize::MAX {
                items.len().saturating_sub(1)
            } else {
                position
            };
            match items.get_mut(index) {
                Some(RmValue::Object(object)) => Ok(object),
                _ => Err("broken structure".into()),
            }
        }
        Some(RmValue::Object(object)) => Ok(object),
        _ => Err("broken structure".into()),
    }
}
