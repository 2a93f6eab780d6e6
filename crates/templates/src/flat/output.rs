//! Canonical → FLAT: the composition walked along the nodes' steps.
//!
//! Every archetyped object a node's steps reach is remembered; one that none reached is
//! reported, because FLAT has no key for it and dropping it would lose clinical data. RM
//! attributes the format has no suffix for (a text's mappings, a quantity's normal range,
//! feeder audits, links) are not written: the format cannot carry them, and the
//! composition was validated before it was stored.

use std::collections::HashSet;

use openehr_rm::{RmObject, RmValue, conforms_to};
use serde_json::{Map, Value};

use super::tree::{Node, Step};
use super::{FlatFormat, FormatError};

struct Walk<'a> {
    format: &'a FlatFormat,
    out: Map<String, Value>,
    reached: HashSet<*const RmObject>,
    errors: Vec<FormatError>,
}

pub(super) fn from_canonical(
    format: &FlatFormat,
    composition: &RmObject,
) -> Result<Map<String, Value>, Vec<FormatError>> {
    let Some(root) = format.tree.root() else {
        return Err(vec![FormatError::new(
            "",
            "the template has no web template tree",
        )]);
    };
    if composition.type_name() != "COMPOSITION" {
        return Err(vec![FormatError::new("/", "expected a COMPOSITION")]);
    }
    let mut walk = Walk {
        format,
        out: Map::new(),
        reached: HashSet::new(),
        errors: Vec::new(),
    };
    walk.reached.insert(composition as *const RmObject);
    walk.complex(root, composition, &root.id);
    let mut unreached = Vec::new();
    find_unreached(composition, "", &walk.reached, &mut unreached);
    walk.errors.extend(
        unreached
            .into_iter()
            .map(|path| FormatError::new(path, "the template has no node for this object")),
    );
    if walk.errors.is_empty() {
        Ok(walk.out)
    } else {
        Err(walk.errors)
    }
}

fn find_unreached(
    object: &RmObject,
    path: &str,
    reached: &HashSet<*const RmObject>,
    unreached: &mut Vec<String>,
) {
    for (definition, value) in object.attributes() {
        let children: Vec<&RmObject> = match value {
            RmValue::Object(child) => vec![child],
            RmValue::List(items) => items
                .iter()
                .filter_map(|item| match item {
                    RmValue::Object(child) => Some(&**child),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for child in children {
            let Some(node_id) = child.get_str("archetype_node_id") else {
                continue;
            };
            let child_path = format!("{path}/{}[{node_id}]", definition.name);
            if reached.contains(&(child as *const RmObject)) {
                find_unreached(child, &child_path, reached, unreached);
            } else {
                unreached.push(child_path);
            }
        }
    }
}

fn objects<'o>(object: &'o RmObject, attribute: &str) -> Vec<&'o RmObject> {
    match object.get(attribute) {
        Some(RmValue::Object(child)) => vec![child],
        Some(RmValue::List(items)) => items
            .iter()
            .filter_map(|item| match item {
                RmValue::Object(child) => Some(&**child),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn step_matches(step: &Step, object: &RmObject) -> bool {
    let node_ok = match &step.node_id {
        Some(node_id) => {
            let expected = step.archetype_id.as_ref().unwrap_or(node_id);
            object.get_str("archetype_node_id") == Some(expected.as_str())
        }
        None => true,
    };
    let name_ok = match &step.name {
        Some(name) => name_of(object) == Some(name.as_str()),
        None => true,
    };
    node_ok && name_ok
}

fn name_of(object: &RmObject) -> Option<&str> {
    object
        .get_object("name")
        .and_then(|name| name.get_str("value"))
}

/// Whether a value of `type_name` belongs to `node`.
fn type_fits(node: &Node, type_name: &str) -> bool {
    if type_name == node.rm_type {
        return true;
    }
    if node.rm_type == "DV_CODED_TEXT" && type_name == "DV_TEXT" {
        return node.other || !node.exact_type;
    }
    !node.exact_type && conforms_to(type_name, &node.rm_type)
}

impl Walk<'_> {
    /// The own objects of `child` under `own` (its parent's own object).
    fn matches<'o>(&mut self, child: &Node, own: &'o RmObject) -> Vec<&'o RmObject> {
        let mut current = vec![own];
        let count = child.steps.len();
        for (position, step) in child.steps.iter().enumerate() {
            let last = position + 1 == count;
            let mut next = Vec::new();
            for object in current {
                for candidate in objects(object, &step.attribute) {
                    if !step_matches(step, candidate) {
                        continue;
                    }
                    if last && child.inner.is_none() && child.is_value() {
                        if !type_fits(child, candidate.type_name()) {
                            continue;
                        }
                    } else if last && child.inner.is_some() {
                        let value_type = candidate.get_object("value").map(RmObject::type_name);
                        if let Some(value_type) = value_type
                            && !type_fits(child, value_type)
                        {
                            continue;
                        }
                    }
                    next.push(candidate);
                }
            }
            current = next;
        }
        current
    }

    fn complex(&mut self, node: &Node, own: &RmObject, path: &str) {
        let format = self.format;
        for child_index in &node.children {
            let child = &format.tree.nodes[*child_index];
            if child.rm_type == "STRING" {
                // An RM string attribute (`activity_id`) rather than an object.
                if let [hidden @ .., last] = child.steps.as_slice() {
                    let mut holders = vec![own];
                    for step in hidden {
                        holders = holders
                            .into_iter()
                            .flat_map(|holder| objects(holder, &step.attribute))
                            .collect();
                    }
                    for holder in holders {
                        if let Some(value) = holder.get_str(&last.attribute) {
                            self.out
                                .insert(format!("{path}/{}", child.id), value.into());
                        }
                    }
                }
                continue;
            }
            let found = self.matches(child, own);
            if !child.multiple && found.len() > 1 {
                self.errors.push(FormatError::new(
                    format!("{path}/{}", child.id),
                    "the template allows one, the composition has more",
                ));
            }
            for (index, object) in found.into_iter().enumerate() {
                let child_path = if child.multiple {
                    format!("{path}/{}:{index}", child.id)
                } else {
                    format!("{path}/{}", child.id)
                };
                self.reach(child, own, object);
                if child.is_value() {
                    let value = match &child.inner {
                        Some(_) => object.get_object("value"),
                        None => Some(object),
                    };
                    if let Some(value) = value {
                        self.value(child, value, &child_path);
                    }
                } else {
                    self.complex(child, object, &child_path);
                }
                self.extras(object, &child_path);
            }
        }
        if node.steps.is_empty() {
            self.extras(own, path);
        }
    }

    /// Marks the hidden objects between `own` and `object` and `object` itself as reached.
    fn reach(&mut self, child: &Node, own: &RmObject, object: &RmObject) {
        self.reached.insert(object as *const RmObject);
        let mut current = vec![own];
        for step in child.steps.iter().take(child.steps.len().saturating_sub(1)) {
            let mut next = Vec::new();
            for holder in current {
                for candidate in objects(holder, &step.attribute) {
                    if step_matches(step, candidate) {
                        self.reached.insert(candidate as *const RmObject);
                        next.push(candidate);
                    }
                }
            }
            current = next;
        }
    }

    fn put(&mut self, key: String, value: impl Into<Value>) {
        self.out.insert(key, value.into());
    }

    fn value(&mut self, node: &Node, value: &RmObject, path: &str) {
        let text = |attribute: &str| value.get_str(attribute).map(str::to_owned);
        let type_name = value.type_name();
        match type_name {
            "DV_TEXT" => {
                if let Some(text) = text("value") {
                    if node.rm_type == "DV_CODED_TEXT" {
                        self.put(format!("{path}|other"), text);
                    } else {
                        self.put(path.to_owned(), text);
                    }
                }
            }
            "DV_CODED_TEXT" => self.coded(value, path),
            "DV_QUANTITY" => {
                if let Some(magnitude) = number(value.get("magnitude")) {
                    self.put(format!("{path}|magnitude"), magnitude);
                }
                if let Some(units) = text("units") {
                    self.put(format!("{path}|unit"), units);
                }
                if let Some(RmValue::Integer(precision)) = value.get("precision") {
                    self.put(format!("{path}|precision"), *precision);
                }
            }
            "DV_COUNT" => {
                if let Some(RmValue::Integer(magnitude)) = value.get("magnitude") {
                    self.put(path.to_owned(), *magnitude);
                }
            }
            "DV_PROPORTION" => {
                for attribute in ["numerator", "denominator"] {
                    if let Some(number) = number(value.get(attribute)) {
                        self.put(format!("{path}|{attribute}"), number);
                    }
                }
                if let Some(RmValue::Integer(kind)) = value.get("type") {
                    self.put(format!("{path}|type"), *kind);
                }
                if let Some(RmValue::Integer(precision)) = value.get("precision") {
                    self.put(format!("{path}|precision"), *precision);
                }
            }
            "DV_ORDINAL" | "DV_SCALE" => {
                let symbol = value.get_object("symbol");
                if let Some(label) = symbol.and_then(|symbol| symbol.get_str("value")) {
                    self.put(format!("{path}|value"), label);
                }
                if let Some(code) = symbol
                    .and_then(|symbol| symbol.get_object("defining_code"))
                    .and_then(|code| code.get_str("code_string"))
                {
                    self.put(format!("{path}|code"), code);
                }
                match value.get("value") {
                    Some(RmValue::Integer(ordinal)) => {
                        self.put(format!("{path}|ordinal"), *ordinal)
                    }
                    Some(RmValue::Real(ordinal)) => self.put(format!("{path}|ordinal"), *ordinal),
                    _ => {}
                }
            }
            "DV_DATE_TIME" | "DV_DATE" | "DV_TIME" | "DV_DURATION" | "DV_URI" | "DV_EHR_URI" => {
                if let Some(text) = text("value") {
                    self.put(path.to_owned(), text);
                }
            }
            "DV_BOOLEAN" => {
                if let Some(RmValue::Boolean(flag)) = value.get("value") {
                    self.put(path.to_owned(), *flag);
                }
            }
            "DV_IDENTIFIER" => {
                for attribute in ["id", "type", "issuer", "assigner"] {
                    if let Some(text) = text(attribute) {
                        self.put(format!("{path}|{attribute}"), text);
                    }
                }
            }
            "DV_PARSABLE" => {
                for attribute in ["value", "formalism"] {
                    if let Some(text) = text(attribute) {
                        self.put(format!("{path}|{attribute}"), text);
                    }
                }
            }
            "DV_MULTIMEDIA" => {
                if let Some(uri) = value.get_object("uri").and_then(|uri| uri.get_str("value")) {
                    self.put(path.to_owned(), uri);
                }
                if let Some(media_type) = value
                    .get_object("media_type")
                    .and_then(|code| code.get_str("code_string"))
                {
                    self.put(format!("{path}|mediatype"), media_type);
                }
                if let Some(RmValue::Integer(size)) = value.get("size") {
                    self.put(format!("{path}|size"), *size);
                }
                if let Some(alternate) = text("alternate_text") {
                    self.put(format!("{path}|alternatetext"), alternate);
                }
            }
            "DV_STATE" => {
                if let Some(state) = value.get_object("value") {
                    self.coded(state, path);
                }
            }
            "CODE_PHRASE" => {
                if let Some(code) = text("code_string") {
                    self.put(format!("{path}|code"), code);
                }
                if let Some(terminology) = value
                    .get_object("terminology_id")
                    .and_then(|id| id.get_str("value"))
                {
                    self.put(format!("{path}|terminology"), terminology);
                }
            }
            "PARTY_SELF" | "PARTY_IDENTIFIED" | "PARTY_RELATED" => self.party(value, path, ""),
            "LOCATABLE_REF" => {
                if let Some(id) = value.get_object("id").and_then(|id| id.get_str("value")) {
                    self.put(format!("{path}|id"), id);
                }
                for attribute in ["namespace", "type", "path"] {
                    if let Some(text) = text(attribute) {
                        self.put(format!("{path}|{attribute}"), text);
                    }
                }
            }
            other => self.errors.push(FormatError::new(
                path,
                format!("{other} values cannot be written as flat"),
            )),
        }
    }

    fn coded(&mut self, value: &RmObject, path: &str) {
        let code = value.get_object("defining_code");
        if let Some(code_string) = code.and_then(|code| code.get_str("code_string")) {
            self.put(format!("{path}|code"), code_string);
        }
        if let Some(text) = value.get_str("value") {
            self.put(format!("{path}|value"), text);
        }
        if let Some(terminology) = code
            .and_then(|code| code.get_object("terminology_id"))
            .and_then(|id| id.get_str("value"))
        {
            self.put(format!("{path}|terminology"), terminology);
        }
    }

    /// A party's `|name`, `|id`, `|id_scheme`, `|id_namespace` (a PARTY_SELF without a
    /// reference writes nothing: it is what FLAT input defaults to).
    fn party(&mut self, party: &RmObject, path: &str, prefix: &str) {
        if let Some(name) = party.get_str("name") {
            self.put(format!("{path}{prefix}|name"), name);
        }
        if let Some(reference) = party.get_object("external_ref") {
            if let Some(id) = reference.get_object("id") {
                if let Some(value) = id.get_str("value") {
                    self.put(format!("{path}{prefix}|id"), value);
                }
                if let Some(scheme) = id.get_str("scheme") {
                    self.put(format!("{path}{prefix}|id_scheme"), scheme);
                }
            }
            if let Some(namespace) = reference.get_str("namespace") {
                self.put(format!("{path}{prefix}|id_namespace"), namespace);
            }
        }
    }

    /// The underscore attributes of an object.
    fn extras(&mut self, object: &RmObject, path: &str) {
        if let Some(uid) = object
            .get_object("uid")
            .and_then(|uid| uid.get_str("value"))
        {
            self.put(format!("{path}/_uid"), uid);
        }
        if let Some(null_flavour) = object.get_object("null_flavour") {
            self.coded(null_flavour, &format!("{path}/_null_flavour"));
        }
        if object.type_name() == "EVENT_CONTEXT" {
            if let Some(end) = object
                .get_object("end_time")
                .and_then(|time| time.get_str("value"))
            {
                self.put(format!("{path}/_end_time"), end);
            }
            if let Some(facility) = object.get_object("health_care_facility") {
                self.party(facility, path, "/_health_care_facility");
            }
        }
        for (attribute, name) in [
            ("participations", "_participation"),
            ("other_participations", "_other_participation"),
        ] {
            let Some(RmValue::List(participations)) = object.get(attribute) else {
                continue;
            };
            for (index, participation) in participations.iter().enumerate() {
                let RmValue::Object(participation) = participation else {
                    continue;
                };
                let prefix = format!("/{name}:{index}");
                if let Some(function) = participation
                    .get_object("function")
                    .and_then(|function| function.get_str("value"))
                {
                    self.put(format!("{path}{prefix}|function"), function);
                }
                if let Some(mode) = participation.get_object("mode") {
                    if let Some(value) = mode.get_str("value") {
                        self.put(format!("{path}{prefix}|mode"), value);
                    }
                    // The code too, so that modes outside the built-in rubric table survive.
                    if let Some(code) = mode
                        .get_object("defining_code")
                        .and_then(|code| code.get_str("code_string"))
                    {
                        self.put(format!("{path}{prefix}|mode_code"), code);
                    }
                }
                if let Some(performer) = participation.get_object("performer") {
                    self.party(performer, path, &prefix);
                }
            }
        }
        if object.type_name() == "OBSERVATION"
            && let Some(history) = object.get_object("data")
            && let Some(origin) = history
                .get_object("origin")
                .and_then(|origin| origin.get_str("value"))
        {
            // Written only where it is not the default (the first event's time).
            let first = match history.get("events") {
                Some(RmValue::List(events)) => events.iter().find_map(|event| match event {
                    RmValue::Object(event) => event
                        .get_object("time")
                        .and_then(|time| time.get_str("value")),
                    _ => None,
                }),
                _ => None,
            };
            if first != Some(origin) {
                self.put(format!("{path}/_history_origin"), origin);
            }
        }
        if object.get("language").is_some() && object.get("subject").is_some() {
            if let Some(provider) = object.get_object("provider") {
                self.party(provider, path, "/_provider");
            }
            for attribute in ["work_flow_id", "guideline_id"] {
                if let Some(reference) = object.get_object(attribute) {
                    let prefix = format!("{path}/_{attribute}");
                    if let Some(id) = reference.get_object("id") {
                        if let Some(value) = id.get_str("value") {
                            self.put(format!("{prefix}|id"), value);
                        }
                        if let Some(scheme) = id.get_str("scheme") {
                            self.put(format!("{prefix}|id_scheme"), scheme);
                        }
                    }
                    for part in ["namespace", "type"] {
                        if let Some(value) = reference.get_str(part) {
                            self.put(format!("{prefix}|{part}"), value);
                        }
                    }
                }
            }
        }
    }
}

fn number(value: Option<&RmValue>) -> Option<Value> {
    match value {
        Some(RmValue::Real(number)) => serde_json::Number::from_f64(*number).map(Value::Number),
        Some(RmValue::Integer(number)) => Some((*number).into()),
        _ => None,
    }
}
