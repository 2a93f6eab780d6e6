//! The web template as an indexed tree of FLAT nodes, with the RM steps between them.
//!
//! Built from the web template's JSON once per template: the JSON is the SDK-compatible
//! source of ids (so FLAT ids can never disagree with what clients are served), and each
//! node's `aqlPath` is resolved against the constraint tree to learn the types and names of
//! the objects the web template hides.

use std::collections::{BTreeMap, HashMap};

use openehr_rm::model;
use serde_json::Value;

use crate::model::{ObjectConstraint, ObjectKind, PrimitiveConstraint, Template, Terminology};

/// One RM object on the way from a node's parent object to the node's own object.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub attribute: String,
    /// The archetype node id to match and to set (an at-code or an archetype id).
    pub node_id: Option<String>,
    /// The name in the path's predicate; objects must carry it.
    pub name: Option<String>,
    /// The concrete RM type to create.
    pub rm_type: String,
    /// Names for a created object, by language.
    pub names: BTreeMap<String, String>,
    pub archetype_id: Option<String>,
    /// Whether the RM attribute is a container.
    pub list: bool,
    /// The template constrains the object's `name` to a DV_CODED_TEXT.
    pub coded_name: Option<CodedName>,
    /// Structures (ITEM_TREE, HISTORY...) the object must have, by the RM or the template,
    /// created empty with the object so that no key is needed to fill them.
    pub required: Vec<Step>,
}

impl Step {
    /// The code the template fixes for the name: the one the path's name predicate names,
    /// or the only one allowed.
    pub fn fixed_name_code(&self) -> Option<&Code> {
        let coded = self.coded_name.as_ref()?;
        coded.codes.get(coded.fixed?)
    }

    /// Whether `object` carries the name the path's predicate requires (by code when the
    /// template fixes a coded name and the object's name is coded).
    pub fn name_matches(&self, object: &openehr_rm::RmObject) -> bool {
        let Some(expected) = &self.name else {
            return true;
        };
        let Some(name) = object.get_object("name") else {
            return false;
        };
        if let Some(fixed) = self.fixed_name_code()
            && let Some(code) = name
                .get_object("defining_code")
                .and_then(|code| code.get_str("code_string"))
        {
            return code == fixed.code;
        }
        name.get_str("value") == Some(expected.as_str())
    }
}

/// A name constrained to a DV_CODED_TEXT.
#[derive(Debug, Clone)]
pub(crate) struct CodedName {
    /// The terminology of the codes, when the template names one.
    pub terminology: Option<String>,
    /// The allowed codes with their term texts (empty for an external value set).
    pub codes: Vec<Code>,
    /// The position in `codes` of the code the step's name fixes.
    pub fixed: Option<usize>,
}

/// A code a coded input offers, with its labels and (for ordinals and scales) its score.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub code: String,
    pub labels: BTreeMap<String, String>,
    pub ordinal: Option<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub id: String,
    pub rm_type: String,
    /// `max != 1`: FLAT paths index it.
    pub multiple: bool,
    /// From the parent's own object to this node's own object.
    pub steps: Vec<Step>,
    /// The `value` step of a dissolved ELEMENT: the node's own object is the ELEMENT.
    pub inner: Option<Step>,
    pub children: Vec<usize>,
    pub child_ids: HashMap<String, usize>,
    /// The terminology of a coded input (`local`, `openehr`, an external id).
    pub terminology: Option<String>,
    pub codes: Vec<Code>,
    /// A coded text that also accepts free text.
    pub other: bool,
    /// The DV_PROPORTION types the template allows (numbers of the RM's `type`).
    pub proportion_types: Vec<i64>,
    /// Siblings reach the same place: an object must have exactly this node's type.
    pub exact_type: bool,
}

impl Node {
    /// A leaf holding a data value (or an RM value such as a PARTY_PROXY) rather than objects.
    pub fn is_value(&self) -> bool {
        self.children.is_empty()
            && (self.rm_type.starts_with("DV_")
                || matches!(
                    self.rm_type.as_str(),
                    "CODE_PHRASE" | "PARTY_PROXY" | "STRING" | "LOCATABLE_REF"
                ))
    }

    /// A DV_INTERVAL: its bounds are the `lower` and `upper` child nodes, its flags are
    /// suffixes of its own.
    pub fn is_interval(&self) -> bool {
        self.rm_type.starts_with("DV_INTERVAL")
    }

    pub fn code(&self, code: &str) -> Option<&Code> {
        self.codes.iter().find(|entry| entry.code == code)
    }

    /// A value node outside the web template (a feeder audit's original content), so that
    /// values there are read and written as values of the same type are elsewhere.
    pub fn detached(rm_type: &str) -> Node {
        Node {
            id: String::new(),
            rm_type: rm_type.to_owned(),
            multiple: false,
            steps: Vec::new(),
            inner: None,
            children: Vec::new(),
            child_ids: HashMap::new(),
            terminology: None,
            codes: Vec::new(),
            other: false,
            proportion_types: Vec::new(),
            exact_type: false,
        }
    }

    /// The type of this node's own object.
    pub fn own_type(&self) -> &str {
        self.steps
            .last()
            .map_or(self.rm_type.as_str(), |step| step.rm_type.as_str())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    /// The template's category code (openEHR terminology), when it fixes one.
    pub category: Option<String>,
    /// The composition's names by language and its archetype id.
    pub root_names: BTreeMap<String, String>,
    pub root_archetype: String,
}

impl Tree {
    pub fn new(template: &Template) -> Tree {
        let web_template = crate::web_template::web_template(template);
        let mut tree = Tree {
            nodes: Vec::new(),
            category: None,
            root_names: BTreeMap::new(),
            root_archetype: template.root.node_id.clone(),
        };
        let root = &web_template["tree"];
        if root.is_object() {
            tree.add(root, &[], template);
            tree.root_names = localized_names(root);
        }
        tree.category = tree.nodes.first().and_then(|root| {
            let category = tree.child(root, "category")?;
            match category.codes.as_slice() {
                [only] => Some(only.code.clone()),
                _ => None,
            }
        });
        tree
    }

    pub fn root(&self) -> Option<&Node> {
        self.nodes.first()
    }

    pub fn root_id(&self) -> &str {
        self.root().map_or("", |root| root.id.as_str())
    }

    pub fn child(&self, node: &Node, id: &str) -> Option<&Node> {
        node.child_ids.get(id).map(|index| &self.nodes[*index])
    }

    /// Adds `json` (a web template node) and its descendants; returns its index.
    fn add(&mut self, json: &Value, parent_segments: &[Segment], template: &Template) -> usize {
        let text = |key: &str| json.get(key).and_then(Value::as_str).unwrap_or_default();
        let rm_type = text("rmType").to_owned();
        let segments = parse_aql_path(text("aqlPath"));
        let full = resolve(template, &segments, &rm_type);
        let common = parent_segments.len().min(full.len());
        let mut steps: Vec<Step> = full[common..].to_vec();
        let names = localized_names(json);
        let value_like = rm_type.starts_with("DV_");
        let mut inner = None;
        if value_like
            && steps.len() >= 2
            && steps.last().is_some_and(|step| step.attribute == "value")
            && steps[steps.len() - 2].rm_type == "ELEMENT"
        {
            inner = steps.pop();
        }
        if let Some(own) = steps.last_mut()
            && own.node_id.is_some()
            && !names.is_empty()
        {
            own.names = names;
        }
        let max = json.get("max").and_then(Value::as_i64).unwrap_or(1);
        let mut node = Node {
            id: text("id").to_owned(),
            rm_type,
            multiple: max != 1,
            steps,
            inner,
            children: Vec::new(),
            child_ids: HashMap::new(),
            terminology: None,
            codes: Vec::new(),
            other: false,
            proportion_types: Vec::new(),
            exact_type: false,
        };
        read_inputs(&mut node, json);
        let index = self.nodes.len();
        self.nodes.push(node);
        let children = json.get("children").and_then(Value::as_array);
        let mut child_indexes = Vec::new();
        for child in children.into_iter().flatten() {
            child_indexes.push(self.add(child, &segments, template));
        }
        for child in interval_event_inputs(json) {
            child_indexes.push(self.add(&child, &segments, template));
        }
        // Alternatives at one place (a choice of value types) are told apart by type.
        for child in &child_indexes {
            let path = step_key(&self.nodes[*child]);
            let shared = child_indexes
                .iter()
                .filter(|other| step_key(&self.nodes[**other]) == path)
                .count();
            self.nodes[*child].exact_type = shared > 1;
        }
        let child_ids = child_indexes
            .iter()
            .map(|child| (self.nodes[*child].id.clone(), *child))
            .collect();
        let node = &mut self.nodes[index];
        node.children = child_indexes;
        node.child_ids = child_ids;
        index
    }
}

/// The `width` and `math_function` nodes of an event the template leaves abstract (EVENT),
/// which the web template does not list (it does for an INTERVAL_EVENT): the SDK reads and
/// writes them at `<event>/width` and `<event>/math_function|code`. For an event node they
/// are its children; for a single event the web template dissolves into its entry, they
/// sit next to its `time`. Input turns the event into an INTERVAL_EVENT when either is
/// given (see the module docs).
fn interval_event_inputs(json: &Value) -> Vec<Value> {
    let path_of = |json: &Value| {
        json.get("aqlPath")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let own = path_of(json);
    let children: Vec<&Value> = json
        .get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let mut events = Vec::new();
    if json.get("rmType").and_then(Value::as_str) == Some("EVENT") {
        events.push(own.clone());
    } else if !matches!(
        json.get("rmType").and_then(Value::as_str),
        Some("POINT_EVENT" | "INTERVAL_EVENT")
    ) {
        for child in &children {
            let path = path_of(child);
            if let Some(event) = path.strip_suffix("/time")
                && event != own
                && event
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.starts_with("events["))
                && !events.iter().any(|known: &String| known == event)
            {
                events.push(event.to_owned());
            }
        }
    }
    let taken = |id: &str, path: &str| {
        children.iter().any(|child| {
            child.get("id").and_then(Value::as_str) == Some(id) || path_of(child) == path
        })
    };
    let mut nodes = Vec::new();
    for event in events {
        let width = format!("{event}/width");
        if !taken("width", &width) {
            nodes.push(serde_json::json!({
                "id": "width", "name": "width", "rmType": "DV_DURATION", "min": 0, "max": 1,
                "aqlPath": width, "inputs": [{"type": "TEXT"}],
            }));
        }
        let function = format!("{event}/math_function");
        if !taken("math_function", &function) {
            nodes.push(serde_json::json!({
                "id": "math_function", "name": "math_function", "rmType": "DV_CODED_TEXT",
                "min": 0, "max": 1, "aqlPath": function,
                "inputs": [
                    {"suffix": "code", "type": "TEXT", "terminology": "openehr"},
                    {"suffix": "value", "type": "TEXT"},
                ],
            }));
        }
    }
    nodes
}

fn localized_names(json: &Value) -> BTreeMap<String, String> {
    json.get("localizedNames")
        .and_then(Value::as_object)
        .map(|names| {
            names
                .iter()
                .filter_map(|(language, name)| Some((language.clone(), name.as_str()?.into())))
                .collect()
        })
        .unwrap_or_default()
}

fn step_key(node: &Node) -> Vec<(String, Option<String>, Option<String>)> {
    node.steps
        .iter()
        .chain(node.inner.iter())
        .map(|step| {
            (
                step.attribute.clone(),
                step.node_id.clone(),
                step.name.clone(),
            )
        })
        .collect()
}

fn read_inputs(node: &mut Node, json: &Value) {
    for input in json
        .get("inputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let suffix = input.get("suffix").and_then(Value::as_str);
        if suffix == Some("other") {
            node.other = true;
        }
        if let Some(terminology) = input.get("terminology").and_then(Value::as_str)
            && node.terminology.is_none()
        {
            node.terminology = Some(terminology.to_owned());
        }
        let coded = input.get("type").and_then(Value::as_str) == Some("CODED_TEXT");
        if !coded || !matches!(suffix, None | Some("code")) {
            continue;
        }
        for entry in input
            .get("list")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(code) = entry.get("value").and_then(Value::as_str) else {
                continue;
            };
            let mut labels: BTreeMap<String, String> = entry
                .get("localizedLabels")
                .and_then(Value::as_object)
                .map(|labels| {
                    labels
                        .iter()
                        .filter_map(|(language, label)| {
                            let label = label.as_str()?;
                            (!label.is_empty()).then(|| (language.clone(), label.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if labels.is_empty()
                && let Some(label) = entry.get("label").and_then(Value::as_str)
            {
                labels.insert(String::new(), label.to_owned());
            }
            node.codes.push(Code {
                code: code.to_owned(),
                labels,
                ordinal: entry.get("ordinal").and_then(Value::as_f64),
            });
        }
    }
    if node.rm_type == "DV_ORDINAL" || node.rm_type == "DV_SCALE" {
        node.terminology = Some("local".into());
    }
    const TYPES: [&str; 5] = [
        "ratio",
        "unitary",
        "percent",
        "fraction",
        "integer_fraction",
    ];
    node.proportion_types = json
        .get("proportionTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|kind| {
            let kind = kind.as_str()?;
            TYPES
                .iter()
                .position(|known| *known == kind)
                .and_then(|position| i64::try_from(position).ok())
        })
        .collect();
}

/// One segment of a web template `aqlPath`: `attribute[node_id,'name']`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    attribute: String,
    node_id: Option<String>,
    name: Option<String>,
}

/// Splits an AQL path; names may hold `/`, `,`, `]` and escaped quotes.
fn parse_aql_path(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '/' {
            continue;
        }
        let mut attribute = String::new();
        while let Some(&c) = chars.peek() {
            if c == '/' || c == '[' {
                break;
            }
            attribute.push(c);
            chars.next();
        }
        let mut node_id = None;
        let mut name = None;
        if chars.peek() == Some(&'[') {
            chars.next();
            let mut id = String::new();
            while let Some(c) = chars.next() {
                match c {
                    ']' => break,
                    ',' => {
                        // The name: skip to the opening quote, read to the closing one.
                        let mut text = String::new();
                        for c in chars.by_ref() {
                            if c == '\'' {
                                break;
                            }
                        }
                        while let Some(c) = chars.next() {
                            match c {
                                '\\' => {
                                    if let Some(escaped) = chars.next() {
                                        text.push(escaped);
                                    }
                                }
                                '\'' => break,
                                c => text.push(c),
                            }
                        }
                        name = Some(text);
                    }
                    c => id.push(c),
                }
            }
            node_id = Some(id.trim().to_owned());
        }
        segments.push(Segment {
            attribute,
            node_id,
            name,
        });
    }
    segments
}

/// The concrete type to create for a (possibly abstract) constrained type.
pub(crate) fn concrete(rm_type: &str) -> &str {
    match rm_type {
        "EVENT" => "POINT_EVENT",
        "ITEM_STRUCTURE" => "ITEM_TREE",
        "PARTY_PROXY" => "PARTY_IDENTIFIED",
        "ENTRY" | "CARE_ENTRY" => "OBSERVATION",
        "CONTENT_ITEM" => "SECTION",
        "ITEM" => "CLUSTER",
        "DATA_VALUE" => "DV_TEXT",
        other => other,
    }
}

/// Resolves every segment of a path against the constraint tree (and the RM table where
/// the template says nothing), giving the steps from the composition root.
fn resolve(template: &Template, segments: &[Segment], final_rm_type: &str) -> Vec<Step> {
    let empty = Terminology::default();
    let mut current: Option<&ObjectConstraint> = Some(&template.root);
    let mut rm_type = template.root.rm_type.clone();
    let mut terms: &Terminology = match &template.root.kind {
        ObjectKind::ArchetypeRoot { terms, .. } => terms,
        _ => &empty,
    };
    let mut steps = Vec::with_capacity(segments.len());
    for (position, segment) in segments.iter().enumerate() {
        let last = position + 1 == segments.len();
        let definition =
            model::class_by_name(&rm_type).and_then(|class| class.attribute(&segment.attribute));
        let child = current
            .and_then(|object| object.attribute(&segment.attribute))
            .and_then(|attribute| pick(&attribute.children, segment, last, final_rm_type));
        let declared = match child {
            Some(child) => child.rm_type.clone(),
            None if last => final_rm_type.to_owned(),
            None => definition.map_or(String::new(), |definition| definition.type_name.into()),
        };
        let step_type = concrete(&declared).to_owned();
        let mut archetype_id = None;
        let mut code = segment.node_id.clone();
        if let Some(ObjectConstraint {
            kind:
                ObjectKind::ArchetypeRoot {
                    archetype_id: id,
                    terms: root_terms,
                    ..
                },
            ..
        }) = child
        {
            terms = root_terms;
            archetype_id = Some(id.clone());
            code = Some("at0000".into());
        }
        let names = step_names(template, terms, segment.name.as_deref(), code.as_deref());
        let coded_name = child.and_then(|child| coded_name(child, terms, segment.name.as_deref()));
        let required = child.map_or_else(Vec::new, |child| required(template, child, terms, 0));
        steps.push(Step {
            attribute: segment.attribute.clone(),
            node_id: segment.node_id.clone(),
            name: segment.name.clone(),
            rm_type: step_type.clone(),
            names,
            archetype_id,
            list: definition.is_some_and(|definition| definition.list),
            coded_name,
            required,
        });
        current = child;
        rm_type = step_type;
    }
    steps
}

/// Names for an object by language: the path's name predicate, else the term of its code.
fn step_names(
    template: &Template,
    terms: &Terminology,
    name: Option<&str>,
    code: Option<&str>,
) -> BTreeMap<String, String> {
    let mut names: BTreeMap<String, String> = match (name, code) {
        (Some(name), _) => BTreeMap::from([(template.language.clone(), name.to_owned())]),
        (None, Some(code)) => terms
            .terms
            .iter()
            .filter_map(|(language, terms)| {
                terms
                    .get(code)
                    .map(|term| (language.clone(), term.text.clone()))
            })
            .collect(),
        (None, None) => BTreeMap::new(),
    };
    if names.is_empty()
        && let Some(code) = code
    {
        names.insert(template.language.clone(), code.to_owned());
    }
    names
}

/// The DV_CODED_TEXT a template requires as an object's name, with its codes; the code
/// fixed is the one whose term is `name` (the web template makes one node per local code),
/// or the only one.
fn coded_name(
    object: &ObjectConstraint,
    terms: &Terminology,
    name: Option<&str>,
) -> Option<CodedName> {
    let constraint = object.attribute("name")?;
    let [text] = constraint.children.as_slice() else {
        return None;
    };
    if text.rm_type != "DV_CODED_TEXT" {
        return None;
    }
    let mut coded = CodedName {
        terminology: None,
        codes: Vec::new(),
        fixed: None,
    };
    for phrase in text
        .attribute("defining_code")
        .into_iter()
        .flat_map(|attribute| &attribute.children)
    {
        if let ObjectKind::CodePhrase(codes) = &phrase.kind {
            coded.terminology = Some(codes.terminology_id.clone());
            for code in &codes.codes {
                let labels = if codes.terminology_id == "local" {
                    terms
                        .terms
                        .iter()
                        .filter_map(|(language, terms)| {
                            Some((language.clone(), terms.get(code)?.text.clone()))
                        })
                        .collect()
                } else {
                    BTreeMap::new()
                };
                coded.codes.push(Code {
                    code: code.clone(),
                    labels,
                    ordinal: None,
                });
            }
        }
    }
    coded.fixed = match name {
        Some(name) => coded
            .codes
            .iter()
            .position(|code| code.labels.values().any(|label| label == name)),
        None if coded.codes.len() == 1 => Some(0),
        None => None,
    };
    Some(coded)
}

/// The structures an object of `object` must have (an EVENT's `data`, an ACTIVITY's
/// `description`...): single attributes, mandatory in the RM or the template, whose one
/// alternative is an ITEM_TREE/ITEM_LIST/ITEM_TABLE or HISTORY with a node id.
fn required(
    template: &Template,
    object: &ObjectConstraint,
    terms: &Terminology,
    depth: usize,
) -> Vec<Step> {
    let Some(class) = model::class_by_name(concrete(&object.rm_type)) else {
        return Vec::new();
    };
    if depth > 8 {
        return Vec::new();
    }
    let mut steps = Vec::new();
    for attribute in object.attributes() {
        let Some(definition) = class.attribute(&attribute.name) else {
            continue;
        };
        let mandatory = definition.mandatory || attribute.existence.lower.unwrap_or(0) >= 1;
        let [child] = attribute.children.as_slice() else {
            continue;
        };
        let structure = matches!(
            concrete(&child.rm_type),
            "ITEM_TREE" | "ITEM_LIST" | "ITEM_TABLE" | "HISTORY"
        );
        if definition.list || !mandatory || !structure || child.node_id.trim().is_empty() {
            continue;
        }
        // An archetype root (an ITEM_TREE archetype as an ACTIVITY's description) is
        // recreated as the template uses it: its archetype id, its own terms.
        let (terms, code, archetype_id) = match &child.kind {
            ObjectKind::Complex { .. } => (terms, child.node_id.as_str(), None),
            ObjectKind::ArchetypeRoot {
                archetype_id,
                terms: root_terms,
                ..
            } => (root_terms, "at0000", Some(archetype_id.clone())),
            _ => continue,
        };
        steps.push(Step {
            attribute: attribute.name.clone(),
            node_id: Some(child.node_id.clone()),
            name: None,
            rm_type: concrete(&child.rm_type).to_owned(),
            names: step_names(template, terms, None, Some(code)),
            archetype_id,
            list: false,
            coded_name: coded_name(child, terms, None),
            required: required(template, child, terms, depth + 1),
        });
    }
    steps
}

/// The alternative a segment names: by node id and name, or by type for the last step.
fn pick<'a>(
    children: &'a [ObjectConstraint],
    segment: &Segment,
    last: bool,
    final_rm_type: &str,
) -> Option<&'a ObjectConstraint> {
    let usable = |child: &&ObjectConstraint| {
        !matches!(
            child.kind,
            ObjectKind::Slot { .. }
                | ObjectKind::InternalRef { .. }
                | ObjectKind::ConstraintRef { .. }
                | ObjectKind::Primitive(_)
        )
    };
    match &segment.node_id {
        Some(node_id) => {
            let mut matching = children
                .iter()
                .filter(usable)
                .filter(|child| &child.node_id == node_id);
            let first = matching.clone().next();
            match &segment.name {
                Some(name) => matching
                    .find(|child| explicit_names(child).iter().any(|known| known == name))
                    .or(first),
                None => first,
            }
        }
        None => {
            let mut usable_children = children.iter().filter(usable);
            if last {
                let first = usable_children.clone().next();
                usable_children
                    .find(|child| child.rm_type == final_rm_type)
                    .or(first)
            } else {
                usable_children.next()
            }
        }
    }
}

/// The names a constraint fixes through its `name` attribute (texts of a DV_TEXT list).
fn explicit_names(object: &ObjectConstraint) -> Vec<&str> {
    let Some(name) = object.attribute("name") else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for child in &name.children {
        for attribute in child.attributes() {
            for value in &attribute.children {
                if let ObjectKind::Primitive(PrimitiveConstraint::String { list, .. }) = &value.kind
                {
                    names.extend(list.iter().map(String::as_str));
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aql_paths_split_with_names() {
        let segments =
            parse_aql_path("/content[openEHR-EHR-X.v0,'A / b, \\'c\\'']/items[at0001]/value");
        assert_eq!(segments.len(), 3);
        assert_eq!(segments[0].attribute, "content");
        assert_eq!(segments[0].node_id.as_deref(), Some("openEHR-EHR-X.v0"));
        assert_eq!(segments[0].name.as_deref(), Some("A / b, 'c'"));
        assert_eq!(segments[2].attribute, "value");
        assert_eq!(segments[2].node_id, None);
    }
}
