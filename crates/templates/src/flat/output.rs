//! Canonical → FLAT: the composition walked along the nodes' steps.
//!
//! Nothing a composition holds may be dropped silently, so the walk keeps accounts: every
//! object it reads is marked reached and every primitive attribute it writes (or that input
//! would recreate exactly) is marked used. Afterwards every object of the composition is
//! visited; an object not reached or an attribute not used is a [`FormatError`]. Checking
//! the whole tree, rather than only the archetyped objects, is what catches values the walk
//! did not understand (a DV_INTERVAL under an ELEMENT it did reach, a quantity's normal
//! range, a text's mappings, a feeder audit).
//!
//! What is deliberately not accounted for, because FLAT input recreates it from the
//! template: `archetype_node_id`, `archetype_details`, the type of a party reference and of
//! its id. A name is accounted for where it is compared with the one input recreates:
//! consumed when equal, written as `/_name` otherwise (see the module docs). Empty
//! ITEM_TREE/ITEM_LIST/ITEM_TABLE/HISTORY objects that the web template has no node for
//! are skipped: they carry nothing (see [`empty_structure`]), and input recreates the
//! mandatory ones from the template.

use std::collections::HashSet;

use openehr_rm::{RmObject, RmValue, conforms_to};
use serde_json::{Map, Value};

use super::input::{default_name, dv_text};
use super::tree::{Node, Step};
use super::{FlatFormat, FormatError, localized};

struct Walk<'a> {
    format: &'a FlatFormat,
    out: Map<String, Value>,
    /// Objects the walk read (addresses; the composition is borrowed throughout).
    reached: HashSet<*const RmObject>,
    /// Primitive attributes written, or recreated exactly by input.
    used: HashSet<(*const RmObject, &'static str)>,
    /// The composition's language, which input builds default names in.
    language: String,
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
        used: HashSet::new(),
        language: composition
            .get_object("language")
            .and_then(|language| language.get_str("code_string"))
            .unwrap_or(&format.default_language)
            .to_owned(),
        errors: Vec::new(),
    };
    walk.reached.insert(composition as *const RmObject);
    walk.complex(root, composition, &root.id);
    if let Some(name) = composition.get_object("name") {
        // Input names the composition after the template, in its language.
        let default = localized(
            &format.tree.root_names,
            &walk.language,
            &format.default_language,
        )
        .unwrap_or(&format.template_id);
        walk.name_against(&dv_text(default), name, &root.id);
    }
    let mut unexpressed = Vec::new();
    walk.check(composition, "", &mut unexpressed);
    walk.errors.extend(unexpressed);
    if walk.errors.is_empty() {
        Ok(walk.out)
    } else {
        Err(walk.errors)
    }
}

/// Attributes input recreates from the template (see the module docs). Names are not
/// among them: a name input would recreate is consumed where it is compared
/// ([`Walk::name`], [`Walk::reach`]), any other is written as `_name` or reported.
fn implied(object: &RmObject, attribute: &str) -> bool {
    match attribute {
        "archetype_node_id" | "archetype_details" => object.get("archetype_node_id").is_some(),
        // A reference's type is a category input fills in (PERSON, ORGANISATION, ANY).
        "type" => object.type_name() == "PARTY_REF",
        _ => false,
    }
}

/// An ITEM_TREE/ITEM_LIST/ITEM_TABLE/HISTORY with no items, rows or events and nothing
/// but its node id and name (its archetype details, when it is an archetype root, and a
/// HISTORY's mandatory origin): it holds no information,
/// so FLAT leaves it out, and input does not recreate it.
fn empty_structure(object: &RmObject) -> bool {
    let contents = match object.type_name() {
        "ITEM_TREE" | "ITEM_LIST" => "items",
        "ITEM_TABLE" => "rows",
        "HISTORY" => "events",
        _ => return false,
    };
    object
        .attributes()
        .all(|(definition, value)| match definition.name {
            // An archetype root's details, which input writes fresh (see `implied`).
            "archetype_node_id" | "name" | "archetype_details" => true,
            "origin" => contents == "events",
            name if name == contents => matches!(value, RmValue::List(items) if items.is_empty()),
            _ => false,
        })
}

fn segment(attribute: &str, child: &RmObject, index: Option<usize>) -> String {
    let index = index.map(|index| format!(":{index}")).unwrap_or_default();
    match child.get_str("archetype_node_id") {
        Some(node_id) => format!("/{attribute}[{node_id}]{index}"),
        None => format!("/{attribute}{index}"),
    }
}

impl Walk<'_> {
    /// Reports what the walk neither reached nor used, below a reached `object`.
    fn check(&self, object: &RmObject, path: &str, errors: &mut Vec<FormatError>) {
        let address = object as *const RmObject;
        for (definition, value) in object.attributes() {
            let name = definition.name;
            if implied(object, name) {
                continue;
            }
            let primitive = |errors: &mut Vec<FormatError>| {
                if !self.used.contains(&(address, name)) {
                    errors.push(FormatError::new(
                        format!("{path}/{name}"),
                        "flat has no place for this attribute",
                    ));
                }
            };
            match value {
                RmValue::Object(child) => {
                    self.check_child(
                        child,
                        &format!("{path}{}", segment(name, child, None)),
                        errors,
                    );
                }
                RmValue::List(items) => {
                    let many = items.len() > 1;
                    for (index, item) in items.iter().enumerate() {
                        match item {
                            RmValue::Object(child) => {
                                let index = many.then_some(index);
                                let child_path = format!("{path}{}", segment(name, child, index));
                                self.check_child(child, &child_path, errors);
                            }
                            _ => {
                                primitive(errors);
                                break;
                            }
                        }
                    }
                }
                _ => primitive(errors),
            }
        }
    }

    fn check_child(&self, child: &RmObject, path: &str, errors: &mut Vec<FormatError>) {
        if self.reached.contains(&(child as *const RmObject)) {
            self.check(child, path, errors);
        } else if !empty_structure(child) {
            let message = if child.get("archetype_node_id").is_some() {
                "the template has no node for this object"
            } else if path.ends_with("/name") {
                // The name of an object the web template hides (an ITEM_TREE, a single
                // HISTORY): input recreates the template's, and no key could carry another.
                "flat has no place for a name other than the template's here"
            } else {
                "flat has no place for this object"
            };
            errors.push(FormatError::new(path, message));
        }
    }

    /// Marks `object` and everything in it as written: for what input recreates exactly.
    fn consume(&mut self, object: &RmObject) {
        let address = object as *const RmObject;
        self.reached.insert(address);
        for (definition, value) in object.attributes() {
            match value {
                RmValue::Object(child) => self.consume(child),
                RmValue::List(items) => {
                    for item in items {
                        match item {
                            RmValue::Object(child) => self.consume(child),
                            _ => {
                                self.used.insert((address, definition.name));
                            }
                        }
                    }
                }
                _ => {
                    self.used.insert((address, definition.name));
                }
            }
        }
    }

    /// An object attribute, marked reached.
    fn object<'o>(&mut self, object: &'o RmObject, attribute: &str) -> Option<&'o RmObject> {
        let child = object.get_object(attribute)?;
        self.reached.insert(child as *const RmObject);
        Some(child)
    }

    /// A primitive attribute, marked used.
    fn primitive<'o>(&mut self, object: &'o RmObject, attribute: &str) -> Option<&'o RmValue> {
        let value = object.get(attribute)?;
        if let Some(definition) = object
            .class_def()
            .attributes
            .iter()
            .find(|definition| definition.name == attribute)
        {
            self.used
                .insert((object as *const RmObject, definition.name));
        }
        Some(value)
    }

    fn text<'o>(&mut self, object: &'o RmObject, attribute: &str) -> Option<&'o str> {
        match self.primitive(object, attribute) {
            Some(RmValue::String(text)) => Some(text),
            _ => None,
        }
    }

    fn integer(&mut self, object: &RmObject, attribute: &str) -> Option<i64> {
        match self.primitive(object, attribute) {
            Some(RmValue::Integer(number)) => Some(*number),
            _ => None,
        }
    }

    /// A primitive attribute input recreates only as `expected`: used when it has that value.
    fn recreated(&mut self, object: &RmObject, attribute: &str, expected: &RmValue) {
        if object.get(attribute) == Some(expected) {
            self.primitive(object, attribute);
        }
    }

    /// The text of a DV_TEXT (or DV_EHR_URI...) attribute: `object.attribute.value`.
    fn text_value<'o>(&mut self, object: &'o RmObject, attribute: &str) -> Option<&'o str> {
        let child = self.object(object, attribute)?;
        self.text(child, "value")
    }

    /// The value of an OBJECT_ID attribute (`uid`, a reference's `id`).
    fn id_value<'o>(&mut self, object: &'o RmObject, attribute: &str) -> Option<&'o str> {
        self.text_value(object, attribute)
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
    node_ok && step.name_matches(object)
}

/// The type of a value as the web template names it: an interval with its bounds' type.
fn value_type(value: &RmObject) -> String {
    if value.type_name() == "DV_INTERVAL" {
        let bound = value
            .get_object("lower")
            .or_else(|| value.get_object("upper"))
            .map_or("DV_ORDERED", RmObject::type_name);
        return format!("DV_INTERVAL<{bound}>");
    }
    value.type_name().to_owned()
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
                        let value_type = candidate.get_object("value").map(value_type);
                        if let Some(value_type) = value_type
                            && !type_fits(child, &value_type)
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
                        self.reached
                            .extend(holders.iter().map(|holder| *holder as *const RmObject));
                    }
                    for holder in holders {
                        if let Some(value) = self.text(holder, &last.attribute) {
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
            // Indexes count the instances that write a key: an instance that writes none
            // (all it holds input recreates) would leave a gap input refuses, so the next
            // one takes its index (see the module docs).
            let mut index = 0;
            for object in found {
                let written = self.out.len();
                let child_path = if child.multiple {
                    format!("{path}/{}:{index}", child.id)
                } else {
                    format!("{path}/{}", child.id)
                };
                self.reach(child, own, object);
                if child.is_interval() {
                    if let Some(interval) = self.object(object, "value") {
                        self.interval(child, interval, &child_path);
                    }
                } else if child.is_value() {
                    let value = match &child.inner {
                        Some(_) => self.object(object, "value"),
                        None => Some(object),
                    };
                    if let Some(value) = value {
                        self.value(child, value, &child_path);
                    }
                } else {
                    self.complex(child, object, &child_path);
                }
                self.name(child, object, &child_path);
                self.extras(object, &child_path);
                if self.out.len() > written {
                    index += 1;
                }
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
                        self.recreated_name(step, candidate);
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

    /// A DV_INTERVAL: its bounds under the `lower`/`upper` nodes, its flags as the SDK
    /// writes them (`|lower_unbounded` when true); `|lower_included` is written whenever
    /// present, true included, because input leaves an absent one absent.
    fn interval(&mut self, node: &Node, interval: &RmObject, path: &str) {
        let format = self.format;
        for child_index in &node.children {
            let bound_node = &format.tree.nodes[*child_index];
            let Some(step) = bound_node.steps.last() else {
                continue;
            };
            if let Some(bound) = self.object(interval, &step.attribute) {
                if type_fits(bound_node, bound.type_name()) {
                    self.value(bound_node, bound, &format!("{path}/{}", bound_node.id));
                } else {
                    self.errors.push(FormatError::new(
                        format!("{path}/{}", bound_node.id),
                        format!(
                            "a {} bound where the template has {}",
                            bound.type_name(),
                            bound_node.rm_type
                        ),
                    ));
                }
            }
        }
        self.interval_flags(interval, path);
    }

    /// An interval's flags as the SDK writes them (`|lower_unbounded` when true);
    /// `|lower_included` is written whenever present, true included, because input leaves
    /// an absent one absent.
    fn interval_flags(&mut self, interval: &RmObject, path: &str) {
        for (flag, bound) in [("lower_unbounded", "lower"), ("upper_unbounded", "upper")] {
            // Written when true, as the SDK does, and where a missing bound is not unbounded
            // (input derives false from a bound that is there).
            let missing = interval.get(bound).is_none();
            if let Some(RmValue::Boolean(unbounded)) = self.primitive(interval, flag)
                && (*unbounded || missing)
            {
                self.put(format!("{path}|{flag}"), *unbounded);
            }
        }
        for flag in ["lower_included", "upper_included"] {
            if let Some(RmValue::Boolean(included)) = self.primitive(interval, flag) {
                self.put(format!("{path}|{flag}"), *included);
            }
        }
    }

    /// A data value with all it carries: its type's keys, the common suffixes and its
    /// underscore attributes.
    fn value(&mut self, node: &Node, value: &RmObject, path: &str) {
        self.value_only(node, value, path);
        self.value_attributes(Some(node), value, path);
    }

    /// A data value's keys and common suffixes, without underscore attributes (the bounds
    /// of a range, which the SDK writes so).
    fn value_only(&mut self, node: &Node, value: &RmObject, path: &str) {
        self.typed_value(node, value, path);
        self.common(value, path);
    }

    fn typed_value(&mut self, node: &Node, value: &RmObject, path: &str) {
        self.reached.insert(value as *const RmObject);
        let type_name = value.type_name();
        match type_name {
            "DV_TEXT" => {
                if let Some(text) = self.text(value, "value") {
                    if node.rm_type == "DV_CODED_TEXT" {
                        self.put(format!("{path}|other"), text);
                    } else {
                        self.put(path.to_owned(), text);
                    }
                }
            }
            "DV_CODED_TEXT" => self.coded(value, path),
            "DV_QUANTITY" => {
                if let Some(magnitude) = number(self.primitive(value, "magnitude")) {
                    self.put(format!("{path}|magnitude"), magnitude);
                }
                if let Some(units) = self.text(value, "units") {
                    self.put(format!("{path}|unit"), units);
                }
                if let Some(precision) = self.integer(value, "precision") {
                    self.put(format!("{path}|precision"), precision);
                }
            }
            "DV_COUNT" => {
                if let Some(magnitude) = self.integer(value, "magnitude") {
                    self.put(path.to_owned(), magnitude);
                }
            }
            "DV_PROPORTION" => {
                for attribute in ["numerator", "denominator"] {
                    if let Some(number) = number(self.primitive(value, attribute)) {
                        self.put(format!("{path}|{attribute}"), number);
                    }
                }
                if let Some(kind) = self.integer(value, "type") {
                    self.put(format!("{path}|type"), kind);
                }
                if let Some(precision) = self.integer(value, "precision") {
                    self.put(format!("{path}|precision"), precision);
                }
            }
            "DV_ORDINAL" | "DV_SCALE" => {
                if let Some(symbol) = self.object(value, "symbol") {
                    if let Some(label) = self.text(symbol, "value") {
                        self.put(format!("{path}|value"), label);
                    }
                    if let Some(code) = self.object(symbol, "defining_code") {
                        if let Some(code_string) = self.text(code, "code_string") {
                            self.put(format!("{path}|code"), code_string);
                        }
                        if let Some(terminology) = self.object(code, "terminology_id")
                            && let Some(id) = self.text(terminology, "value")
                            && id != "local"
                        {
                            self.put(format!("{path}|terminology"), id);
                        }
                    }
                }
                match self.primitive(value, "value") {
                    Some(RmValue::Integer(ordinal)) => {
                        self.put(format!("{path}|ordinal"), *ordinal)
                    }
                    Some(RmValue::Real(ordinal)) => self.put(format!("{path}|ordinal"), *ordinal),
                    _ => {}
                }
            }
            "DV_DATE_TIME" | "DV_DATE" | "DV_TIME" | "DV_DURATION" | "DV_URI" | "DV_EHR_URI" => {
                if let Some(text) = self.text(value, "value") {
                    self.put(path.to_owned(), text);
                }
            }
            "DV_BOOLEAN" => {
                if let Some(RmValue::Boolean(flag)) = self.primitive(value, "value") {
                    self.put(path.to_owned(), *flag);
                }
            }
            "DV_IDENTIFIER" => {
                for attribute in ["id", "type", "issuer", "assigner"] {
                    if let Some(text) = self.text(value, attribute) {
                        self.put(format!("{path}|{attribute}"), text);
                    }
                }
            }
            "DV_PARSABLE" => {
                // The SDK writes the text as the bare key, except for a `wf_definition`.
                if let Some(text) = self.text(value, "value") {
                    if node.id == "wf_definition" {
                        self.put(format!("{path}|value"), text);
                    } else {
                        self.put(path.to_owned(), text);
                    }
                }
                if let Some(formalism) = self.text(value, "formalism") {
                    self.put(format!("{path}|formalism"), formalism);
                }
            }
            "DV_MULTIMEDIA" => {
                if let Some(uri) = self.text_value(value, "uri") {
                    self.put(path.to_owned(), uri);
                }
                if let Some(media_type) = self.object(value, "media_type") {
                    if let Some(code) = self.text(media_type, "code_string") {
                        self.put(format!("{path}|mediatype"), code);
                    }
                    if let Some(terminology) = self.object(media_type, "terminology_id") {
                        self.recreated(terminology, "value", &string_value("IANA_media-types"));
                    }
                }
                if let Some(size) = self.integer(value, "size") {
                    self.put(format!("{path}|size"), size);
                }
                if let Some(alternate) = self.text(value, "alternate_text") {
                    self.put(format!("{path}|alternatetext"), alternate);
                }
            }
            "DV_STATE" => {
                if let Some(state) = self.object(value, "value") {
                    self.coded(state, path);
                }
                self.recreated(value, "is_terminal", &RmValue::Boolean(false));
            }
            "CODE_PHRASE" => {
                if let Some(code) = self.text(value, "code_string") {
                    self.put(format!("{path}|code"), code);
                }
                if let Some(terminology) = self.text_value(value, "terminology_id") {
                    self.put(format!("{path}|terminology"), terminology);
                }
            }
            "PARTY_SELF" | "PARTY_IDENTIFIED" | "PARTY_RELATED" => self.party(value, path, ""),
            "LOCATABLE_REF" => {
                if let Some(id) = self.id_value(value, "id") {
                    self.put(format!("{path}|id"), id);
                }
                for attribute in ["namespace", "type", "path"] {
                    if let Some(text) = self.text(value, attribute) {
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

    /// A coded text's `|code`, `|value` and `|terminology`.
    fn coded(&mut self, value: &RmObject, path: &str) {
        let code = self.object(value, "defining_code");
        if let Some(code) = code {
            if let Some(code_string) = self.text(code, "code_string") {
                self.put(format!("{path}|code"), code_string);
            }
            if let Some(terminology) = self.text_value(code, "terminology_id") {
                self.put(format!("{path}|terminology"), terminology);
            }
        }
        if let Some(text) = self.text(value, "value") {
            self.put(format!("{path}|value"), text);
        }
    }

    /// A party's `|name`, `|id`, `|id_scheme`, `|id_namespace` and a PARTY_RELATED's
    /// `/relationship` (a PARTY_SELF without a reference writes nothing: it is what FLAT
    /// input defaults to).
    fn party(&mut self, party: &RmObject, path: &str, prefix: &str) {
        self.reached.insert(party as *const RmObject);
        if let Some(name) = self.text(party, "name") {
            self.put(format!("{path}{prefix}|name"), name);
        }
        if let Some(reference) = self.object(party, "external_ref") {
            if let Some(id) = self.object(reference, "id") {
                if let Some(value) = self.text(id, "value") {
                    self.put(format!("{path}{prefix}|id"), value);
                }
                if let Some(scheme) = self.text(id, "scheme") {
                    self.put(format!("{path}{prefix}|id_scheme"), scheme);
                }
            }
            if let Some(namespace) = self.text(reference, "namespace") {
                self.put(format!("{path}{prefix}|id_namespace"), namespace);
            }
        }
        if let Some(relationship) = self.object(party, "relationship") {
            self.coded(relationship, &format!("{path}{prefix}/relationship"));
        }
    }

    /// A name other than the one input builds by default, as the SDK's `/_name` (the bare
    /// key for a text, `|code`, `|value` and `|terminology` for a coded text), with its own
    /// attributes; the default one is consumed.
    fn name(&mut self, node: &Node, object: &RmObject, path: &str) {
        let (Some(step), Some(node_id), Some(name)) = (
            node.steps.last(),
            object.get_str("archetype_node_id"),
            object.get_object("name"),
        ) else {
            return;
        };
        let node_id = step.archetype_id.as_deref().unwrap_or(node_id);
        let default = default_name(step, node_id, &self.language, &self.format.default_language);
        self.name_against(&default, name, path);
    }

    /// The name of an object the web template hides, consumed when it is the one input
    /// recreates (any other is reported by the final check).
    fn recreated_name(&mut self, step: &Step, object: &RmObject) {
        let (Some(node_id), Some(name)) = (
            object.get_str("archetype_node_id"),
            object.get_object("name"),
        ) else {
            return;
        };
        let node_id = step.archetype_id.as_deref().unwrap_or(node_id);
        let default = default_name(step, node_id, &self.language, &self.format.default_language);
        if *name == default {
            self.consume(name);
        }
    }

    fn name_against(&mut self, default: &RmObject, name: &RmObject, path: &str) {
        if name == default {
            self.consume(name);
            return;
        }
        self.reached.insert(name as *const RmObject);
        let name_path = format!("{path}/_name");
        if name.type_name() == "DV_CODED_TEXT" {
            self.coded(name, &name_path);
        } else if let Some(text) = self.text(name, "value") {
            self.put(name_path.clone(), text);
        }
        self.common(name, &name_path);
        self.value_attributes(None, name, &name_path);
    }

    /// The attributes every value of a type may carry, as the SDK's suffixes (see
    /// `input::common_suffixes`): a text's `|formatting`, an ordered value's
    /// `|normal_status`, an amount's `|accuracy` and `|accuracy_is_percent`, a quantified's
    /// `|magnitude_status`, a quantity's `|units_system` and `|units_display_name`, a code
    /// phrase's `|preferred_term`.
    fn common(&mut self, value: &RmObject, path: &str) {
        for attribute in [
            "formatting",
            "magnitude_status",
            "units_system",
            "units_display_name",
            "preferred_term",
        ] {
            if let Some(text) = self.text(value, attribute) {
                self.put(format!("{path}|{attribute}"), text);
            }
        }
        // DV_AMOUNT's accuracy is a number; a temporal value's is a DV_DURATION, which the
        // SDK has no key for (reported).
        if let Some(RmValue::Real(_) | RmValue::Integer(_)) = value.get("accuracy")
            && let Some(accuracy) = number(self.primitive(value, "accuracy"))
        {
            self.put(format!("{path}|accuracy"), accuracy);
        }
        if let Some(RmValue::Boolean(percent)) = self.primitive(value, "accuracy_is_percent") {
            self.put(format!("{path}|accuracy_is_percent"), *percent);
        }
        if let Some(status) = value.get_object("normal_status")
            && let Some(terminology) = status.get_object("terminology_id")
            && terminology.get_str("value") == Some("openehr_normal_statuses")
        {
            self.reached.insert(status as *const RmObject);
            self.reached.insert(terminology as *const RmObject);
            self.primitive(terminology, "value");
            if let Some(code) = self.text(status, "code_string") {
                self.put(format!("{path}|normal_status"), code);
            }
        }
    }

    /// A data value's underscore attributes with the SDK's keys: a text's `/_mapping:N`,
    /// `/_language` and `/_encoding`; an ordered value's `/_normal_range` and
    /// `/_other_reference_ranges:N`. `node` gives the type of range bounds.
    fn value_attributes(&mut self, node: Option<&Node>, value: &RmObject, path: &str) {
        for (index, mapping) in objects(value, "mappings").into_iter().enumerate() {
            self.reached.insert(mapping as *const RmObject);
            let prefix = format!("{path}/_mapping:{index}");
            if let Some(matched) = self.text(mapping, "match") {
                self.put(format!("{prefix}|match"), matched);
            }
            if let Some(target) = self.object(mapping, "target") {
                self.code_phrase(target, &format!("{prefix}/target"));
            }
            if let Some(purpose) = self.object(mapping, "purpose") {
                self.coded(purpose, &format!("{prefix}/purpose"));
                self.common(purpose, &format!("{prefix}/purpose"));
            }
        }
        if matches!(value.type_name(), "DV_TEXT" | "DV_CODED_TEXT") {
            for attribute in ["language", "encoding"] {
                if let Some(phrase) = self.object(value, attribute) {
                    self.code_phrase(phrase, &format!("{path}/_{attribute}"));
                }
            }
        }
        let Some(node) = node else {
            return;
        };
        if let Some(range) = self.object(value, "normal_range") {
            self.range(node, range, &format!("{path}/_normal_range"));
        }
        for (index, reference) in objects(value, "other_reference_ranges")
            .into_iter()
            .enumerate()
        {
            self.reached.insert(reference as *const RmObject);
            let prefix = format!("{path}/_other_reference_ranges:{index}");
            if let Some(meaning) = self.object(reference, "meaning") {
                let meaning_path = format!("{prefix}/meaning");
                if meaning.type_name() == "DV_CODED_TEXT" {
                    self.coded(meaning, &meaning_path);
                } else if let Some(text) = self.text(meaning, "value") {
                    self.put(meaning_path.clone(), text);
                }
                self.common(meaning, &meaning_path);
            }
            if let Some(range) = self.object(reference, "range") {
                self.range(node, range, &prefix);
            }
        }
    }

    /// A range of values of the node's type (a normal or reference range): bounds under
    /// `/lower` and `/upper`, flags as for interval nodes.
    fn range(&mut self, node: &Node, interval: &RmObject, path: &str) {
        for bound in ["lower", "upper"] {
            if let Some(value) = self.object(interval, bound) {
                if type_fits(node, value.type_name()) {
                    self.value_only(node, value, &format!("{path}/{bound}"));
                } else {
                    self.errors.push(FormatError::new(
                        format!("{path}/{bound}"),
                        format!(
                            "a {} bound where the template has {}",
                            value.type_name(),
                            node.rm_type
                        ),
                    ));
                }
            }
        }
        self.interval_flags(interval, path);
    }

    /// A CODE_PHRASE's `|code`, `|terminology` and `|preferred_term`.
    fn code_phrase(&mut self, phrase: &RmObject, path: &str) {
        if let Some(code) = self.text(phrase, "code_string") {
            self.put(format!("{path}|code"), code);
        }
        if let Some(terminology) = self.text_value(phrase, "terminology_id") {
            self.put(format!("{path}|terminology"), terminology);
        }
        self.common(phrase, path);
    }

    /// The SDK's `_feeder_audit` keys (see `input`'s reader for the list).
    fn feeder_audit(&mut self, audit: &RmObject, path: &str) {
        for attribute in ["originating_system_audit", "feeder_system_audit"] {
            let Some(details) = self.object(audit, attribute) else {
                continue;
            };
            let prefix = format!("{path}/{attribute}");
            for part in ["system_id", "version_id"] {
                if let Some(text) = self.text(details, part) {
                    self.put(format!("{prefix}|{part}"), text);
                }
            }
            if let Some(time) = self.text_value(details, "time") {
                self.put(format!("{prefix}|time"), time);
            }
            for party in ["location", "provider", "subject"] {
                if let Some(value) = self.object(details, party) {
                    if value.type_name() == "PARTY_SELF" {
                        self.put(format!("{prefix}/{party}|_type"), "PARTY_SELF");
                    }
                    self.party(value, &prefix, &format!("/{party}"));
                }
            }
        }
        for (attribute, key) in [
            ("originating_system_item_ids", "originating_system_item_id"),
            ("feeder_system_item_ids", "feeder_system_item_id"),
        ] {
            for (index, identifier) in objects(audit, attribute).into_iter().enumerate() {
                self.reached.insert(identifier as *const RmObject);
                for part in ["id", "type", "issuer", "assigner"] {
                    if let Some(text) = self.text(identifier, part) {
                        self.put(format!("{path}/{key}:{index}|{part}"), text);
                    }
                }
            }
        }
        if let Some(content) = self.object(audit, "original_content") {
            match content.type_name() {
                "DV_PARSABLE" => {
                    let node = Node::detached("DV_PARSABLE");
                    self.value(&node, content, &format!("{path}/original_content"));
                }
                "DV_MULTIMEDIA" => {
                    let node = Node::detached("DV_MULTIMEDIA");
                    self.value(
                        &node,
                        content,
                        &format!("{path}/original_content_multimedia"),
                    );
                }
                _ => {}
            }
        }
    }

    /// The underscore attributes of an object.
    fn extras(&mut self, object: &RmObject, path: &str) {
        if let Some(uid) = self.id_value(object, "uid") {
            self.put(format!("{path}/_uid"), uid);
        }
        if object.get("archetype_node_id").is_some()
            && let Some(audit) = self.object(object, "feeder_audit")
        {
            self.feeder_audit(audit, &format!("{path}/_feeder_audit"));
        }
        if object.type_name() == "INTERVAL_EVENT"
            && let Some(count) = self.integer(object, "sample_count")
        {
            self.put(format!("{path}|sample_count"), count);
        }
        if let Some(null_flavour) = self.object(object, "null_flavour") {
            self.coded(null_flavour, &format!("{path}/_null_flavour"));
        }
        if object.type_name() == "ELEMENT"
            && let Some(reason) = self.object(object, "null_reason")
        {
            let reason_path = format!("{path}/_null_reason");
            if reason.type_name() == "DV_CODED_TEXT" {
                self.coded(reason, &reason_path);
            } else if let Some(text) = self.text(reason, "value") {
                self.put(reason_path.clone(), text);
            }
            self.common(reason, &reason_path);
        }
        if let Some(RmValue::List(links)) = object.get("links") {
            for (index, link) in links.iter().enumerate() {
                let RmValue::Object(link) = link else {
                    continue;
                };
                self.reached.insert(&**link as *const RmObject);
                let prefix = format!("{path}/_link:{index}");
                for attribute in ["meaning", "type", "target"] {
                    if let Some(text) = self.text_value(link, attribute) {
                        self.put(format!("{prefix}|{attribute}"), text);
                    }
                }
            }
        }
        if object.type_name() == "EVENT_CONTEXT" {
            if let Some(end) = self.text_value(object, "end_time") {
                self.put(format!("{path}/_end_time"), end);
            }
            if let Some(location) = self.text(object, "location") {
                self.put(format!("{path}/_location"), location);
            }
            if let Some(facility) = self.object(object, "health_care_facility") {
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
                self.reached.insert(&**participation as *const RmObject);
                let prefix = format!("/{name}:{index}");
                if let Some(function) = self.text_value(participation, "function") {
                    self.put(format!("{path}{prefix}|function"), function);
                }
                if let Some(mode) = self.object(participation, "mode") {
                    if let Some(value) = self.text(mode, "value") {
                        self.put(format!("{path}{prefix}|mode"), value);
                    }
                    // The code too, so that modes outside the built-in rubric table survive.
                    if let Some(code) = self.object(mode, "defining_code") {
                        if let Some(code_string) = self.text(code, "code_string") {
                            self.put(format!("{path}{prefix}|mode_code"), code_string);
                        }
                        if let Some(terminology) = self.object(code, "terminology_id") {
                            self.recreated(terminology, "value", &string_value("openehr"));
                        }
                    }
                }
                if let Some(performer) = self.object(participation, "performer") {
                    self.party(performer, path, &prefix);
                }
            }
        }
        if object.type_name() == "OBSERVATION"
            && let Some(history) = object.get_object("data")
            && let Some(origin) = history.get_object("origin")
            && let Some(origin_value) = origin.get_str("value")
        {
            self.reached.insert(origin as *const RmObject);
            self.primitive(origin, "value");
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
            if first != Some(origin_value) {
                self.put(format!("{path}/_history_origin"), origin_value);
            }
        }
        if object.get("language").is_some() && object.get("subject").is_some() {
            if let Some(provider) = self.object(object, "provider") {
                self.party(provider, path, "/_provider");
            }
            // The SDK's key says work_flow_id; the RM attribute is workflow_id.
            for (attribute, key) in [
                ("workflow_id", "_work_flow_id"),
                ("guideline_id", "_guideline_id"),
            ] {
                if let Some(reference) = self.object(object, attribute) {
                    let prefix = format!("{path}/{key}");
                    if let Some(id) = self.object(reference, "id") {
                        if let Some(value) = self.text(id, "value") {
                            self.put(format!("{prefix}|id"), value);
                        }
                        if let Some(scheme) = self.text(id, "scheme") {
                            self.put(format!("{prefix}|id_scheme"), scheme);
                        }
                    }
                    for part in ["namespace", "type"] {
                        if let Some(value) = self.text(reference, part) {
                            self.put(format!("{prefix}|{part}"), value);
                        }
                    }
                }
            }
        }
    }
}

fn string_value(text: &str) -> RmValue {
    RmValue::String(text.to_owned())
}

fn number(value: Option<&RmValue>) -> Option<Value> {
    match value {
        Some(RmValue::Real(number)) => serde_json::Number::from_f64(*number).map(Value::Number),
        Some(RmValue::Integer(number)) => Some((*number).into()),
        _ => None,
    }
}
