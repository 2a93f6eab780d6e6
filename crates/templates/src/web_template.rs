//! The "web template": the JSON view of a template that form renderers and SDK clients read.
//!
//! The format is the de-facto one that EHRbase (openEHR_SDK's `OPTParser` followed by its
//! web template `Filter`) and Better serve for `application/openehr.wt+json`. Its node ids
//! are what FLAT paths are made of, so the shape follows the SDK closely: the constraint
//! tree is first turned into a full node tree, with the RM attributes the SDK adds though
//! the template does not constrain them (`composer`, `language`, event `time`...), and then
//! filtered the way the SDK filters it (structure nodes such as HISTORY and ITEM_TREE and
//! single-valued ELEMENTs are dissolved into their parent). Annotations (term comments and
//! the OPT's `<annotations>`) and default values (assumed values and the OPT's
//! `<constraints>`) come from the template's [`TemplateDetails`]. The result is a
//! `serde_json::Value`; [`InSdkOrder`] writes it with EHRbase's key order. Nothing here does IO.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::model::{
    AssumedValue, AttributeConstraint, CodePhraseConstraint, Interval, ObjectConstraint,
    ObjectKind, OrdinalItem, PrimitiveConstraint, QuantityItem, ScaleItem, Template,
    TemplateDetails, TemporalConstraint, Terminology,
};

/// The web template format version the SDK and Better report.
const FORMAT_VERSION: &str = "2.3";

/// Builds the web template of `template`.
pub fn web_template(template: &Template) -> Value {
    let languages = template_languages(template);
    let no_details = TemplateDetails::default();
    let builder = Builder {
        default_language: template.language.clone(),
        languages: languages.clone(),
        details: template.details().unwrap_or(&no_details),
    };
    let empty_terms = Terminology::default();
    let mut roots = builder.object(&template.root, &[], "", &empty_terms);
    let tree = match roots.is_empty() {
        true => Value::Null,
        false => {
            let root = roots.remove(0);
            let mut filtered = filter(root, None, &builder);
            make_ids_unique(&mut filtered);
            filtered
                .into_iter()
                .next()
                .map(|node| node.to_json())
                .unwrap_or(Value::Null)
        }
    };
    json!({
        "templateId": template.template_id,
        "version": FORMAT_VERSION,
        "defaultLanguage": template.language,
        "languages": languages,
        "tree": tree,
    })
}

/// The languages of the template: the default one first, then every language the root
/// archetype has terms in (the SDK takes the description's languages, which the model does
/// not keep; the root archetype's translations are the same set in practice).
fn template_languages(template: &Template) -> Vec<String> {
    let mut languages = vec![template.language.clone()];
    if let ObjectKind::ArchetypeRoot { terms, .. } = &template.root.kind {
        for language in terms.terms.keys() {
            if !languages.contains(language) {
                languages.push(language.clone());
            }
        }
    }
    languages
}

/// One step of an AQL path: `attribute[node_id,'name']`.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    attribute: String,
    node_id: Option<String>,
    name: Option<String>,
}

fn format_path(path: &[Segment], with_names: bool) -> String {
    let mut text = String::new();
    for segment in path {
        text.push('/');
        text.push_str(&segment.attribute);
        if let Some(node_id) = &segment.node_id {
            text.push('[');
            text.push_str(node_id);
            if let (true, Some(name)) = (with_names, &segment.name) {
                text.push_str(",'");
                text.push_str(&name.replace('\'', "\\'"));
                text.push('\'');
            }
            text.push(']');
        }
    }
    text
}

fn child_path(path: &[Segment], attribute: &str) -> Vec<Segment> {
    let mut child = path.to_vec();
    child.push(Segment {
        attribute: attribute.to_owned(),
        node_id: None,
        name: None,
    });
    child
}

/// A node of the web template while it is being built and filtered.
#[derive(Debug, Clone, Default)]
struct Node {
    id: String,
    /// The SDK's "optional id number" that makes an id unique among siblings (`time2`).
    id_number: Option<usize>,
    name: String,
    localized_name: Option<String>,
    rm_type: String,
    node_id: Option<String>,
    min: i64,
    max: i64,
    localized_names: BTreeMap<String, String>,
    localized_descriptions: BTreeMap<String, String>,
    path: Vec<Segment>,
    children: Vec<Node>,
    inputs: Vec<Map<String, Value>>,
    in_context: bool,
    proportion_types: Vec<&'static str>,
    /// Named after the RM attribute it sits in (it has no at-code of its own): such a node
    /// is dropped by the filter when optional, as the SDK drops optional RM attributes.
    attribute_named: bool,
    annotations: Option<Annotations>,
    /// Limits on how many of its children a container attribute holds, where the
    /// children's own occurrences do not already say so.
    cardinalities: Vec<NodeCardinality>,
}

/// A node's annotations: its term's comment and other items, then the template's.
#[derive(Debug, Clone, Default, PartialEq)]
struct Annotations {
    comment: Option<String>,
    other: BTreeMap<String, String>,
}

impl Annotations {
    fn to_json(&self) -> Value {
        let mut object = Map::new();
        if let Some(comment) = &self.comment {
            object.insert("comment".into(), comment.clone().into());
        }
        for (key, value) in &self.other {
            object.insert(key.clone(), value.clone().into());
        }
        Value::Object(object)
    }
}

/// The SDK's `cardinalities` entry: a multiple attribute's bounds and the ids of the
/// children it holds.
#[derive(Debug, Clone, PartialEq)]
struct NodeCardinality {
    min: i64,
    max: i64,
    ids: Vec<String>,
}

impl Node {
    fn full_id(&self) -> String {
        match self.id_number {
            Some(number) => format!("{}{number}", self.id),
            None => self.id.clone(),
        }
    }

    fn aql_path(&self) -> String {
        format_path(&self.path, true)
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("id".into(), self.full_id().into());
        object.insert("name".into(), self.name.clone().into());
        if let Some(localized_name) = &self.localized_name {
            object.insert("localizedName".into(), localized_name.clone().into());
        }
        object.insert("rmType".into(), self.rm_type.clone().into());
        if let Some(node_id) = &self.node_id {
            object.insert("nodeId".into(), node_id.clone().into());
        }
        object.insert("min".into(), self.min.into());
        object.insert("max".into(), self.max.into());
        if !self.localized_names.is_empty() {
            object.insert("localizedNames".into(), json!(self.localized_names));
        }
        if !self.localized_descriptions.is_empty() {
            object.insert(
                "localizedDescriptions".into(),
                json!(self.localized_descriptions),
            );
        }
        // The root's path is empty, and the SDK leaves empty values out.
        let aql_path = self.aql_path();
        if !aql_path.is_empty() {
            object.insert("aqlPath".into(), aql_path.into());
        }
        if !self.children.is_empty() {
            let children = self.children.iter().map(Node::to_json).collect();
            object.insert("children".into(), Value::Array(children));
        }
        if !self.inputs.is_empty() {
            let inputs = self.inputs.iter().cloned().map(Value::Object).collect();
            object.insert("inputs".into(), Value::Array(inputs));
        }
        if self.in_context {
            object.insert("inContext".into(), true.into());
        }
        if let Some(annotations) = &self.annotations {
            object.insert("annotations".into(), annotations.to_json());
        }
        if !self.proportion_types.is_empty() {
            object.insert("proportionTypes".into(), json!(self.proportion_types));
        }
        if !self.cardinalities.is_empty() {
            let cardinalities = self
                .cardinalities
                .iter()
                .map(|cardinality| {
                    json!({"min": cardinality.min, "max": cardinality.max, "ids": cardinality.ids})
                })
                .collect();
            object.insert("cardinalities".into(), Value::Array(cardinalities));
        }
        Value::Object(object)
    }
}

/// An input of a node: `{suffix?, type}`; the rest is added by the caller.
fn input(suffix: Option<&str>, kind: &str) -> Map<String, Value> {
    let mut input = Map::new();
    if let Some(suffix) = suffix {
        input.insert("suffix".into(), suffix.into());
    }
    input.insert("type".into(), kind.into());
    input
}

fn input_list(input: &mut Map<String, Value>) -> &mut Vec<Value> {
    input
        .entry("list")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .expect("an input's list is an array")
}

/// The id the SDK derives from a name: letters, digits, `.`, `_` and `-` kept, every other
/// run of characters one `_`, lowercase, and an `a` before a leading digit.
pub fn node_id_from_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphabetic() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                ' '
            }
        })
        .collect();
    let id = cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase();
    match id.chars().next() {
        Some(first) if first.is_ascii_digit() => format!("a{id}"),
        _ => id,
    }
}

/// RM types that are LOCATABLE: only their node ids go into paths and names.
fn is_locatable(rm_type: &str) -> bool {
    matches!(
        rm_type,
        "COMPOSITION"
            | "SECTION"
            | "OBSERVATION"
            | "EVALUATION"
            | "INSTRUCTION"
            | "ACTION"
            | "ADMIN_ENTRY"
            | "GENERIC_ENTRY"
            | "ACTIVITY"
            | "HISTORY"
            | "EVENT"
            | "POINT_EVENT"
            | "INTERVAL_EVENT"
            | "ITEM_TREE"
            | "ITEM_LIST"
            | "ITEM_SINGLE"
            | "ITEM_TABLE"
            | "ITEM_STRUCTURE"
            | "ELEMENT"
            | "CLUSTER"
            | "FOLDER"
            | "EHR_STATUS"
            | "PARTICIPATION"
    )
}

fn is_event(rm_type: &str) -> bool {
    matches!(rm_type, "EVENT" | "POINT_EVENT" | "INTERVAL_EVENT")
}

fn is_entry(rm_type: &str) -> bool {
    matches!(
        rm_type,
        "OBSERVATION" | "EVALUATION" | "INSTRUCTION" | "ACTION" | "ADMIN_ENTRY" | "GENERIC_ENTRY"
    )
}

/// An RM attribute the SDK adds to a node when the template does not constrain it.
struct RmAttribute {
    name: &'static str,
    rm_type: &'static str,
    min: i64,
    max: i64,
}

/// A literal [`RmAttribute`] (a literal, so that tables of them are `'static`).
macro_rules! rm_attribute {
    ($name:literal, $rm_type:literal, $min:literal) => {
        RmAttribute {
            name: $name,
            rm_type: $rm_type,
            min: $min,
            max: 1,
        }
    };
}

/// The RM attributes the SDK adds to a node of `rm_type` and keeps after filtering: those
/// the RM makes mandatory (except `name`, `archetype_node_id` and HISTORY's `origin`, which
/// the SDK leaves out) and the optional ones it keeps on purpose (ACTIVITY `timing`,
/// INSTRUCTION `expiry_time`, ISM_TRANSITION `transition`, COMPOSITION `context`). The
/// order is the SDK's. ACTION's `instruction_details` is optional, so the SDK drops it but
/// keeps its mandatory parts, which [`Builder::add_rm_attributes`] adds directly.
fn rm_attributes(rm_type: &str) -> &'static [RmAttribute] {
    const ENTRY: &[RmAttribute] = &[
        rm_attribute!("subject", "PARTY_PROXY", 1),
        rm_attribute!("language", "CODE_PHRASE", 1),
        rm_attribute!("encoding", "CODE_PHRASE", 1),
    ];
    match rm_type {
        "COMPOSITION" => &[
            rm_attribute!("composer", "PARTY_PROXY", 1),
            rm_attribute!("language", "CODE_PHRASE", 1),
            rm_attribute!("territory", "CODE_PHRASE", 1),
            rm_attribute!("category", "DV_CODED_TEXT", 1),
            rm_attribute!("context", "EVENT_CONTEXT", 0),
        ],
        "EVENT_CONTEXT" => &[
            rm_attribute!("start_time", "DV_DATE_TIME", 1),
            rm_attribute!("setting", "DV_CODED_TEXT", 1),
        ],
        "OBSERVATION" | "EVALUATION" | "ADMIN_ENTRY" | "GENERIC_ENTRY" => ENTRY,
        "INSTRUCTION" => &[
            rm_attribute!("subject", "PARTY_PROXY", 1),
            rm_attribute!("narrative", "DV_TEXT", 1),
            rm_attribute!("language", "CODE_PHRASE", 1),
            rm_attribute!("encoding", "CODE_PHRASE", 1),
            rm_attribute!("expiry_time", "DV_DATE_TIME", 0),
        ],
        "ACTION" => &[
            rm_attribute!("subject", "PARTY_PROXY", 1),
            rm_attribute!("language", "CODE_PHRASE", 1),
            rm_attribute!("encoding", "CODE_PHRASE", 1),
            rm_attribute!("time", "DV_DATE_TIME", 1),
            rm_attribute!("ism_transition", "ISM_TRANSITION", 1),
        ],
        "ACTIVITY" => &[
            rm_attribute!("timing", "DV_PARSABLE", 0),
            rm_attribute!("action_archetype_id", "STRING", 1),
        ],
        "EVENT" | "POINT_EVENT" => &[rm_attribute!("time", "DV_DATE_TIME", 1)],
        // EHRbase serves both as optional (its webtemplate test data, corona_anamnese).
        "INTERVAL_EVENT" => &[
            rm_attribute!("time", "DV_DATE_TIME", 1),
            rm_attribute!("width", "DV_DURATION", 0),
            rm_attribute!("math_function", "DV_CODED_TEXT", 0),
        ],
        "ISM_TRANSITION" => &[
            rm_attribute!("current_state", "DV_CODED_TEXT", 1),
            rm_attribute!("transition", "DV_CODED_TEXT", 0),
        ],
        _ => &[],
    }
}

/// Whether the SDK marks `child_id` under a node of `parent_rm_type` as context: data a
/// client sets from its context (`ctx/...` in FLAT) rather than from a form.
fn in_context(parent_rm_type: &str, child_id: &str) -> bool {
    (is_locatable(parent_rm_type) && child_id == "language")
        || (parent_rm_type == "ACTION" && child_id == "time")
        || (parent_rm_type == "ACTIVITY" && matches!(child_id, "timing" | "action_archetype_id"))
        || (parent_rm_type == "INSTRUCTION" && child_id == "narrative")
        || (parent_rm_type == "ISM_TRANSITION"
            && matches!(child_id, "current_state" | "careflow_step" | "transition"))
        || (parent_rm_type == "HISTORY" && child_id == "origin")
        || (is_event(parent_rm_type) && matches!(child_id, "time" | "width" | "math_function"))
        || (is_entry(parent_rm_type)
            && matches!(
                child_id,
                "language" | "provider" | "other_participations" | "subject" | "encoding"
            ))
        || (parent_rm_type == "EVENT_CONTEXT"
            && matches!(
                child_id,
                "start_time" | "end_time" | "location" | "setting" | "participations"
            ))
        || (parent_rm_type == "COMPOSITION"
            && matches!(child_id, "language" | "territory" | "composer" | "category"))
}

/// The data value types an unconstrained ELEMENT may hold, in the SDK's order.
const ANY_VALUE_TYPES: &[&str] = &[
    "DV_TEXT",
    "DV_CODED_TEXT",
    "DV_MULTIMEDIA",
    "DV_PARSABLE",
    "DV_STATE",
    "DV_BOOLEAN",
    "DV_IDENTIFIER",
    "DV_URI",
    "DV_EHR_URI",
    "DV_DURATION",
    "DV_QUANTITY",
    "DV_COUNT",
    "DV_PROPORTION",
    "DV_DATE_TIME",
    "DV_TIME",
    "DV_ORDINAL",
    "DV_DATE",
];

/// The id of one alternative of a choice: `DV_QUANTITY` becomes `quantity_value`.
fn choice_id(rm_type: &str) -> String {
    format!(
        "{}_value",
        rm_type
            .strip_prefix("DV_")
            .unwrap_or(rm_type)
            .to_lowercase()
    )
}

/// English rubrics of the openEHR terminology codes compositions use (composition
/// category, setting, ISM states and transitions, null flavours, event math functions,
/// term mapping purposes, subject relationships, participation modes), as the openEHR
/// terminology (specifications-TERM, `computable/XML/en/openehr_terminology.xml`) has
/// them. The SDK has the whole terminology in several languages; a code missing here is
/// labelled by itself.
pub(crate) fn openehr_rubric(code: &str) -> Option<&'static str> {
    Some(match code {
        // composition category
        "431" => "persistent",
        "451" => "episodic",
        "433" => "event",
        "815" => "report",
        // null flavours
        "271" => "no information",
        "253" => "unknown",
        "272" => "masked",
        "273" => "not applicable",
        // participation mode
        "193" => "not specified",
        "216" => "face-to-face communication",
        "223" => "interpreted face-to-face communication",
        "217" => "signing (face-to-face)",
        "195" => "live audiovisual; videoconference; videophone",
        "198" => "videoconferencing",
        "197" => "videophone",
        "218" => "signing over video",
        "224" => "interpreted video communication",
        "194" => "asynchronous audiovisual; recorded video",
        "196" => "recorded video",
        "202" => "live audio-only; telephone; internet phone; teleconference",
        "204" => "telephone",
        "203" => "teleconference",
        "205" => "internet telephone",
        "222" => "interpreted audio-only",
        "199" => "asynchronous audio-only; dictated; voice mail",
        "200" => "dictated",
        "201" => "voice-mail",
        "212" => "live text-only; internet chat; SMS chat; interactive written note",
        "213" => "internet chat",
        "214" => "SMS chat",
        "215" => "interactive written note",
        "206" => "asynchronous text; email; fax; letter; handwritten note; SMS message",
        "211" => "handwritten note",
        "210" => "printed/typed letter",
        "207" => "email",
        "208" => "facsimile/telefax",
        "221" => "translated text",
        "209" => "SMS message",
        "219" => "physically present",
        "220" => "physically remote",
        // instruction states
        "524" => "initial",
        "526" => "planned",
        "527" => "postponed",
        "528" => "cancelled",
        "529" => "scheduled",
        "245" => "active",
        "530" => "suspended",
        "531" => "aborted",
        "532" => "completed",
        "533" => "expired",
        // instruction transitions
        "535" => "initiate",
        "536" => "plan step",
        "537" => "postpone",
        "538" => "restore",
        "166" => "cancel",
        "542" => "postponed step",
        "539" => "schedule",
        "534" => "scheduled step",
        "540" => "start",
        "541" => "do",
        "543" => "active step",
        "544" => "suspend",
        "545" => "suspended step",
        "546" => "resume",
        "547" => "abort",
        "548" => "finish",
        "549" => "time out",
        "550" => "notify aborted",
        "551" => "notify completed",
        "552" => "notify cancelled",
        // subject relationship
        "0" => "self",
        "3" => "foetus",
        "10" => "mother",
        "9" => "father",
        "6" => "donor",
        "261" => "adopted daughter",
        "260" => "adopted son",
        "259" => "adoptive father",
        "258" => "adoptive mother",
        "256" => "biological father",
        "255" => "biological mother",
        "23" => "brother",
        "28" => "child",
        "265" => "cohabitee",
        "257" => "cousin",
        "29" => "daughter",
        "264" => "guardian",
        "39" => "maternal aunt",
        "8" => "maternal grandfather",
        "7" => "maternal grandmother",
        "38" => "maternal uncle",
        "189" => "neonate",
        "254" => "parent",
        "22" => "partner/spouse",
        "41" => "paternal aunt",
        "36" => "paternal grandfather",
        "37" => "paternal grandmother",
        "40" => "paternal uncle",
        "27" => "sibling",
        "24" => "sister",
        "31" => "son",
        "263" => "step father",
        "262" => "step mother",
        "25" => "step or half brother",
        "26" => "step or half sister",
        // term mapping purpose
        "669" => "public health",
        "670" => "reimbursement",
        "671" => "research study",
        // event math function
        "145" => "minimum",
        "144" => "maximum",
        "267" => "mode",
        "268" => "median",
        "146" => "mean",
        "147" => "change",
        "148" => "total",
        "149" => "variation",
        "521" => "decrease",
        "522" => "increase",
        "640" => "actual",
        // setting
        "225" => "home",
        "227" => "emergency care",
        "228" => "primary medical care",
        "229" => "primary nursing care",
        "230" => "primary allied health care",
        "231" => "midwifery care",
        "232" => "secondary medical care",
        "233" => "secondary nursing care",
        "234" => "secondary allied health care",
        "235" => "complementary health care",
        "236" => "dental care",
        "237" => "nursing home care",
        "802" => "mental healthcare",
        "238" => "other care",
        _ => return None,
    })
}

/// What building needs besides the constraint tree.
struct Builder<'a> {
    default_language: String,
    languages: Vec<String>,
    details: &'a TemplateDetails,
}

impl Builder<'_> {
    /// The nodes for one constraint object under `attribute`; `path` ends with that
    /// attribute's segment. Primitive objects are read by the parent as inputs instead.
    fn object(
        &self,
        object: &ObjectConstraint,
        path: &[Segment],
        attribute: &str,
        terms: &Terminology,
    ) -> Vec<Node> {
        match &object.kind {
            ObjectKind::ArchetypeRoot {
                archetype_id,
                attributes,
                terms,
            } => {
                let path = with_node_id(path, archetype_id);
                let mut nodes =
                    self.complex(object, attributes, path, attribute, terms, archetype_id);
                for node in &mut nodes {
                    node.node_id = Some(archetype_id.clone());
                }
                nodes
            }
            ObjectKind::Complex { attributes } => {
                let path = match self.locatable_node_id(object) {
                    Some(node_id) => with_node_id(path, node_id),
                    None => path.to_vec(),
                };
                self.complex(object, attributes, path, attribute, terms, &object.node_id)
            }
            ObjectKind::CodePhrase(constraint) => {
                let mut node = self.base_node(object, attribute, terms, None);
                node.path = path.to_vec();
                self.code_phrase_inputs(&mut node, constraint, attribute, terms);
                // The SDK sets the assumed code after the template's default, so it wins.
                let default = self.assumed_code(path).or_else(|| self.default_code(path));
                set_default(&mut node.inputs, Some("code"), default);
                vec![node]
            }
            ObjectKind::Quantity { items, .. } => {
                let mut node = self.base_node(object, attribute, terms, None);
                node.path = path.to_vec();
                node.inputs = quantity_inputs(items, terms);
                // The template's default comes after the assumed value, so it wins.
                let (assumed_magnitude, assumed_units) = match self.assumed(path) {
                    Some(AssumedValue::Quantity { magnitude, units }) => (
                        magnitude.map(Value::from),
                        units.as_deref().map(Value::from),
                    ),
                    _ => (None, None),
                };
                let magnitude = self.default_field(path, "magnitude").or(assumed_magnitude);
                set_default(&mut node.inputs, Some("magnitude"), magnitude);
                let units = self.default_field(path, "units").or(assumed_units);
                set_default(&mut node.inputs, Some("unit"), units);
                vec![node]
            }
            ObjectKind::Ordinal { items } => {
                let mut node = self.base_node(object, attribute, terms, None);
                node.path = path.to_vec();
                node.inputs = vec![self.ordinal_input(items, terms)];
                // As for a code phrase, the assumed symbol wins over the template's default.
                let default = match self.assumed(path) {
                    Some(AssumedValue::Ordinal { symbol, .. }) => Some(default_value(&symbol.code)),
                    _ => self.default_code(path),
                };
                set_default(&mut node.inputs, None, default);
                vec![node]
            }
            ObjectKind::Scale { items } => {
                let mut node = self.base_node(object, attribute, terms, None);
                node.path = path.to_vec();
                node.inputs = vec![self.scale_input(items, terms)];
                vec![node]
            }
            // The SDK leaves unfilled slots and internal references out of the web template.
            ObjectKind::Slot { .. }
            | ObjectKind::InternalRef { .. }
            | ObjectKind::ConstraintRef { .. }
            | ObjectKind::Primitive(_) => Vec::new(),
        }
    }

    /// The inputs of a data value by its RM type, with the template's default values (the
    /// SDK's `InputHandler.addInputs`): a field's default goes to the input of the same
    /// suffix, `value` to the input without one.
    fn add_inputs(&self, node: &mut Node, primitive_inputs: &BTreeMap<String, Map<String, Value>>) {
        add_inputs(node, primitive_inputs);
        let Some(defaults) = self
            .details
            .default_values
            .get(&format_path(&node.path, false))
        else {
            return;
        };
        match node.rm_type.as_str() {
            "DV_COUNT" => set_default(
                &mut node.inputs,
                None,
                defaults.get("magnitude").map(|text| default_value(text)),
            ),
            "DV_QUANTITY" => set_default(
                &mut node.inputs,
                Some("magnitude"),
                defaults.get("magnitude").map(|text| default_value(text)),
            ),
            // A default duration fills every component, those it leaves out with 0.
            "DV_DURATION" => {
                if let Some(duration) = defaults.get("value") {
                    let components = duration_components(duration);
                    for input in &mut node.inputs {
                        let key = match input.get("suffix").and_then(Value::as_str) {
                            Some("year") => "Y",
                            Some("month") => "M",
                            Some("week") => "W",
                            Some("day") => "D",
                            Some("hour") => "H",
                            Some("minute") => "MT",
                            Some("second") => "S",
                            _ => continue,
                        };
                        let value = components.get(key).copied().unwrap_or(0);
                        input.insert("defaultValue".into(), value.into());
                    }
                }
            }
            _ => {}
        }
        for input in &mut node.inputs {
            let field = input
                .get("suffix")
                .and_then(Value::as_str)
                .unwrap_or("value");
            if let Some(default) = defaults.get(field) {
                let default = default_value(default);
                input.insert("defaultValue".into(), default);
            }
        }
    }

    fn assumed(&self, path: &[Segment]) -> Option<&AssumedValue> {
        self.details.assumed_values.get(&format_path(path, false))
    }

    fn assumed_code(&self, path: &[Segment]) -> Option<Value> {
        match self.assumed(path)? {
            AssumedValue::Code(code) => Some(default_value(&code.code)),
            _ => None,
        }
    }

    /// The template's default for one field of the data value at `path`.
    fn default_field(&self, path: &[Segment], field: &str) -> Option<Value> {
        self.details
            .default_values
            .get(&format_path(path, false))?
            .get(field)
            .map(|text| default_value(text))
    }

    fn default_code(&self, path: &[Segment]) -> Option<Value> {
        self.default_field(path, "defining_code")
    }

    /// A term's items besides text and description, in the default language: the SDK
    /// reads them from the OPT's own term definitions, which are in that language only.
    fn term_annotations(&self, terms: &Terminology, code: &str) -> Option<Annotations> {
        let items = terms.term_items.get(&self.default_language)?.get(code)?;
        let mut annotations = Annotations::default();
        for (id, text) in items {
            if id == "comment" {
                annotations.comment = Some(text.clone());
            } else {
                annotations.other.insert(id.clone(), text.clone());
            }
        }
        Some(annotations)
    }

    fn locatable_node_id<'a>(&self, object: &'a ObjectConstraint) -> Option<&'a str> {
        (is_locatable(&object.rm_type) && !object.node_id.trim().is_empty())
            .then_some(object.node_id.as_str())
    }

    /// A node with its identity (names, id, occurrences) and no content yet.
    fn base_node(
        &self,
        object: &ObjectConstraint,
        attribute: &str,
        terms: &Terminology,
        explicit_name: Option<&ExplicitName>,
    ) -> Node {
        let mut node = Node {
            rm_type: object.rm_type.clone(),
            min: i64::from(object.occurrences.lower.unwrap_or(0)),
            max: object.occurrences.upper.map_or(-1, i64::from),
            ..Node::default()
        };
        // An archetype root's node id is its archetype id; its term is `at0000`.
        let code = match &object.kind {
            ObjectKind::ArchetypeRoot { .. } => Some("at0000"),
            _ => self.locatable_node_id(object),
        };
        match code {
            Some(code) => {
                let name = match explicit_name {
                    Some(explicit) => explicit.label.clone(),
                    None => terms
                        .term(&self.default_language, code)
                        .map(|term| term.text.clone())
                        .unwrap_or_else(|| code.to_owned()),
                };
                node.id = node_id_from_name(&name);
                node.node_id = Some(code.to_owned());
                node.localized_name = Some(name.clone());
                node.localized_names = match explicit_name {
                    Some(explicit) => explicit.localized.clone(),
                    None => localized(terms, code, |term| term.text.clone()),
                };
                node.localized_names
                    .insert(self.default_language.clone(), name.clone());
                node.localized_descriptions = localized(terms, code, |term| {
                    if term.description.is_empty() {
                        term.text.clone()
                    } else {
                        term.description.clone()
                    }
                });
                node.annotations = self.term_annotations(terms, code);
                node.name = name;
            }
            None => {
                let name = if attribute.is_empty() {
                    object.rm_type.clone()
                } else {
                    attribute.to_owned()
                };
                node.id = node_id_from_name(&name);
                node.localized_name = Some(name.clone());
                node.name = name;
                node.attribute_named = true;
            }
        }
        node
    }

    /// The node(s) of a complex object: one per name the template allows it, usually one.
    fn complex(
        &self,
        object: &ObjectConstraint,
        attributes: &[AttributeConstraint],
        path: Vec<Segment>,
        attribute: &str,
        terms: &Terminology,
        node_id: &str,
    ) -> Vec<Node> {
        let names = self.explicit_names(attributes, terms);
        let has_node_id = !node_id.trim().is_empty();
        // The SDK matches template annotations against the path before the node's own name.
        let template_annotations = self.details.annotations.get(&format_path(&path, false));
        let build = |explicit: Option<&ExplicitName>| {
            let mut node = self.base_node(object, attribute, terms, explicit);
            if let Some(items) = template_annotations {
                node.annotations
                    .get_or_insert_with(Annotations::default)
                    .other
                    .extend(items.clone());
            }
            node.path = path.clone();
            if let (true, Some(explicit), Some(last)) =
                (has_node_id, explicit, node.path.last_mut())
            {
                last.name = Some(explicit.label.clone());
            }
            self.complex_content(&mut node, attributes, terms);
            node
        };
        match names.len() {
            0 => vec![build(None)],
            _ => names.iter().map(|name| build(Some(name))).collect(),
        }
    }

    /// The names a template fixes for a node through a constraint on its `name`: the
    /// values of a DV_TEXT or the codes of a DV_CODED_TEXT.
    fn explicit_names(
        &self,
        attributes: &[AttributeConstraint],
        terms: &Terminology,
    ) -> Vec<ExplicitName> {
        let Some(name) = attributes
            .iter()
            .find(|attribute| attribute.name == "name" && attribute.children.len() == 1)
        else {
            return Vec::new();
        };
        let ObjectKind::Complex { attributes } = &name.children[0].kind else {
            return Vec::new();
        };
        let mut names = Vec::new();
        for attribute in attributes {
            for child in &attribute.children {
                match (&attribute.name[..], &child.kind) {
                    ("value", ObjectKind::Primitive(PrimitiveConstraint::String { list, .. })) => {
                        names.extend(list.iter().map(|value| ExplicitName {
                            label: value.clone(),
                            localized: BTreeMap::from([(
                                self.default_language.clone(),
                                value.clone(),
                            )]),
                        }))
                    }
                    ("defining_code", ObjectKind::CodePhrase(codes))
                        if codes.terminology_id == "local" =>
                    {
                        for code in &codes.codes {
                            if let Some(term) = terms.term(&self.default_language, code) {
                                names.push(ExplicitName {
                                    label: term.text.clone(),
                                    localized: localized(terms, code, |term| term.text.clone()),
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        names
    }

    /// Children, inputs and RM attributes of a complex node (the SDK's
    /// `parseComplexObjectSingle`).
    fn complex_content(
        &self,
        node: &mut Node,
        attributes: &[AttributeConstraint],
        terms: &Terminology,
    ) {
        let mut primitive_inputs: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        let mut cardinalities = Vec::new();
        for attribute in attributes {
            // A fixed name is already in the node's name and path.
            if attribute.name == "name" {
                continue;
            }
            let path = child_path(&node.path, &attribute.name);
            let mut children = Vec::new();
            for child in &attribute.children {
                if let ObjectKind::Primitive(primitive) = &child.kind {
                    let mut input = primitive_input(primitive);
                    // The SDK copies every C_STRING's `list_open`, false when absent.
                    if let PrimitiveConstraint::String { .. } = primitive {
                        let open = self
                            .details
                            .open_string_lists
                            .contains(&format_path(&path, false));
                        input.insert("listOpen".into(), open.into());
                    }
                    if let Some(AssumedValue::Primitive(value)) = self.assumed(&path) {
                        input.insert("defaultValue".into(), default_value(value));
                    }
                    primitive_inputs.insert(attribute.name.clone(), input);
                } else {
                    children.extend(self.object(child, &path, &attribute.name, terms));
                }
            }
            if node.rm_type == "ACTION"
                && let Some(transition) = ism_transition(node, &attribute.name, &children)
            {
                node.children.push(transition);
            }
            // Taken before names are added to clashing paths, as the SDK takes them.
            if let Some(cardinality) = &attribute.cardinality {
                let paths: Vec<String> = children.iter().map(Node::aql_path).collect();
                cardinalities.push((cardinality.interval.clone(), paths));
            }
            add_distinguishing_names(&mut children);
            node.children.extend(children);
        }

        // Alternatives at one path are a choice: each is named after its type.
        let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
        for child in &node.children {
            *by_path.entry(child.aql_path()).or_default() += 1;
        }
        let has_choice = by_path.values().any(|count| *count > 1);
        for child in &mut node.children {
            if by_path[&child.aql_path()] > 1 && child.rm_type.starts_with("DV_") {
                child.id = choice_id(&child.rm_type);
            }
        }

        if node.rm_type == "ELEMENT" {
            if node.children.is_empty() {
                // An unconstrained value may be of any data value type.
                for rm_type in ANY_VALUE_TYPES {
                    let mut any = Node {
                        id: choice_id(rm_type),
                        name: node.name.clone(),
                        localized_name: node.localized_name.clone(),
                        rm_type: (*rm_type).to_owned(),
                        min: 0,
                        max: 1,
                        localized_names: node.localized_names.clone(),
                        localized_descriptions: node.localized_descriptions.clone(),
                        path: child_path(&node.path, "value"),
                        in_context: true,
                        ..Node::default()
                    };
                    self.add_inputs(&mut any, &BTreeMap::new());
                    node.children.push(any);
                }
            } else {
                // The value carries the element's identity, since the element is dissolved.
                let true_children: Vec<usize> = (0..node.children.len())
                    .filter(|index| is_true_element_child(&node.children[*index]))
                    .collect();
                for index in &true_children {
                    let child = &mut node.children[*index];
                    child.node_id = node.node_id.clone();
                    child.annotations = node.annotations.clone();
                    child.name = node.name.clone();
                    child.localized_name = node.localized_name.clone();
                    child.localized_names.extend(node.localized_names.clone());
                    child
                        .localized_descriptions
                        .extend(node.localized_descriptions.clone());
                    child.attribute_named = false;
                }
                if true_children.len() != 1 && !has_choice {
                    for index in true_children {
                        let child = &mut node.children[index];
                        if child.rm_type.starts_with("DV_") {
                            child.id = choice_id(&child.rm_type);
                        }
                    }
                }
            }
        }

        // A coded text shows the codes of its defining code.
        if node.rm_type == "DV_CODED_TEXT" {
            match find_code_phrase(&node.children) {
                Some(inputs) => node.inputs.extend(inputs),
                None => {
                    node.inputs.push(input(Some("value"), "TEXT"));
                    node.inputs.push(input(Some("code"), "TEXT"));
                }
            }
        }

        self.add_rm_attributes(node);
        if node.inputs.is_empty() {
            self.add_inputs(node, &primitive_inputs);
        }
        make_ids_unique(&mut node.children);
        for (interval, paths) in cardinalities {
            let min = i64::from(interval.lower.unwrap_or(0));
            let max = interval.upper.map_or(-1, i64::from);
            // Only limits the children's occurrences do not already imply are shown.
            if min <= 1 && max == -1 {
                continue;
            }
            let mut ids = Vec::new();
            ids_at_paths(node, &paths, &mut ids);
            if min > 1 || max < ids.len() as i64 {
                node.cardinalities.push(NodeCardinality { min, max, ids });
            }
        }
        let rm_type = node.rm_type.clone();
        for child in &mut node.children {
            if in_context(&rm_type, &child.id) {
                child.in_context = true;
            }
        }
    }

    /// Adds the RM attributes the template leaves unconstrained (see [`rm_attributes`]).
    fn add_rm_attributes(&self, node: &mut Node) {
        for attribute in rm_attributes(&node.rm_type) {
            if node.children.iter().any(|child| child.id == attribute.name) {
                continue;
            }
            // ACTION's optional instruction_details is dropped but its parts are kept, in
            // the SDK's order: after the entry attributes, before `time`.
            if node.rm_type == "ACTION" && attribute.name == "time" {
                let details = child_path(&node.path, "instruction_details");
                for (name, rm_type) in [
                    ("activity_id", "STRING"),
                    ("instruction_id", "LOCATABLE_REF"),
                ] {
                    if !node.children.iter().any(|child| child.id == name) {
                        let part = self.attribute_node(&details, name, rm_type, 1, 1);
                        node.children.push(part);
                    }
                }
            }
            let child = self.attribute_node(
                &node.path,
                attribute.name,
                attribute.rm_type,
                attribute.min,
                attribute.max,
            );
            node.children.push(child);
        }
    }

    fn attribute_node(
        &self,
        parent_path: &[Segment],
        name: &str,
        rm_type: &str,
        min: i64,
        max: i64,
    ) -> Node {
        let mut node = Node {
            id: node_id_from_name(name),
            name: name.to_owned(),
            rm_type: rm_type.to_owned(),
            min,
            max,
            path: child_path(parent_path, name),
            attribute_named: true,
            ..Node::default()
        };
        self.add_inputs(&mut node, &BTreeMap::new());
        if name == "math_function" {
            // The RM takes its codes from the openEHR terminology ("event math function");
            // saying so lets a FLAT `|code` alone find its terminology.
            for input in &mut node.inputs {
                if input.get("suffix").and_then(Value::as_str) == Some("code") {
                    input.insert("terminology".into(), "openehr".into());
                }
            }
        }
        self.add_rm_attributes(&mut node);
        let parent_type = node.rm_type.clone();
        for child in &mut node.children {
            if in_context(&parent_type, &child.id) {
                child.in_context = true;
            }
        }
        node
    }

    fn code_phrase_inputs(
        &self,
        node: &mut Node,
        constraint: &CodePhraseConstraint,
        attribute: &str,
        terms: &Terminology,
    ) {
        let _ = attribute;
        let terminology = match &constraint.reference_set_uri {
            // `terminology:LOINC?subset=...` shows as `LOINC?subset=...`, as in the SDK.
            Some(uri) => uri.split_once(':').map_or(uri.as_str(), |(_, rest)| rest),
            None => constraint.terminology_id.as_str(),
        }
        .to_owned();
        let mut code = input(Some("code"), "CODED_TEXT");
        let mut values = Vec::new();
        if terminology == "openehr" {
            let mut label_languages: BTreeSet<&str> =
                self.languages.iter().map(String::as_str).collect();
            label_languages.insert("en");
            for value in &constraint.codes {
                let rubric = openehr_rubric(value).unwrap_or(value);
                let labels: Map<String, Value> = label_languages
                    .iter()
                    .map(|language| {
                        let label = if *language == "en" { rubric } else { "" };
                        ((*language).to_owned(), Value::from(label))
                    })
                    .collect();
                values.push(json!({"value": value, "label": rubric, "localizedLabels": labels}));
            }
        } else if terminology.is_empty() || terminology == "local" {
            for value in &constraint.codes {
                if let Some(entry) = self.local_value(value, terms) {
                    values.push(entry);
                }
            }
        }
        // Codes of an external terminology have no labels in the template: the SDK leaves
        // them out and asks for free text, as for an open value set.
        if values.is_empty() {
            code.insert("type".into(), "TEXT".into());
            code.insert("terminology".into(), terminology.clone().into());
            let mut value = input(Some("value"), "TEXT");
            value.insert("terminology".into(), terminology.into());
            node.inputs.push(code);
            node.inputs.push(value);
        } else {
            code.insert("list".into(), Value::Array(values));
            code.insert("terminology".into(), terminology.into());
            node.inputs.push(code);
        }
    }

    /// A local code as a list entry, with its labels and descriptions in every language.
    fn local_value(&self, code: &str, terms: &Terminology) -> Option<Value> {
        let term = terms.term(&self.default_language, code)?;
        let labels = localized(terms, code, |term| term.text.clone());
        let mut descriptions: BTreeMap<String, String> =
            localized(terms, code, |term| term.description.clone())
                .into_iter()
                .filter(|(_, description)| !description.trim().is_empty())
                .collect();
        descriptions
            .entry(self.default_language.clone())
            .or_default();
        Some(json!({
            "value": code,
            "label": term.text,
            "localizedLabels": labels,
            "localizedDescriptions": descriptions,
        }))
    }

    fn ordinal_input(&self, items: &[OrdinalItem], terms: &Terminology) -> Map<String, Value> {
        let mut code = input(None, "CODED_TEXT");
        let list = input_list(&mut code);
        for item in items {
            list.push(self.scored_value(&item.symbol.code, json!(item.value), terms));
        }
        code
    }

    fn scale_input(&self, items: &[ScaleItem], terms: &Terminology) -> Map<String, Value> {
        let mut code = input(None, "CODED_TEXT");
        let list = input_list(&mut code);
        for item in items {
            list.push(self.scored_value(&item.symbol.code, json!(item.value), terms));
        }
        code
    }

    fn scored_value(&self, code: &str, score: Value, terms: &Terminology) -> Value {
        let labels = localized(terms, code, |term| term.text.clone());
        let mut descriptions = localized(terms, code, |term| term.description.clone());
        descriptions
            .entry(self.default_language.clone())
            .or_default();
        let mut value = Map::new();
        value.insert("value".into(), code.into());
        if let Some(label) = labels.get(&self.default_language) {
            value.insert("label".into(), label.clone().into());
        }
        value.insert("localizedLabels".into(), json!(labels));
        value.insert("localizedDescriptions".into(), json!(descriptions));
        value.insert("ordinal".into(), score);
        Value::Object(value)
    }
}

/// Sets `default` on the input with `suffix` (the one without a suffix for `None`).
fn set_default(inputs: &mut [Map<String, Value>], suffix: Option<&str>, default: Option<Value>) {
    let Some(default) = default else {
        return;
    };
    if let Some(input) = inputs
        .iter_mut()
        .find(|input| input.get("suffix").and_then(Value::as_str) == suffix)
    {
        input.insert("defaultValue".into(), default);
    }
}

/// A default value as the SDK writes it: a number when the text is a plain decimal
/// number, else the text. (The SDK would also read a code with a leading zero as an octal
/// number; such text stays text here.)
fn default_value(text: &str) -> Value {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    let plain =
        digits(whole) && fraction.is_none_or(digits) && (whole == "0" || !whole.starts_with('0'));
    if plain {
        let number = match fraction {
            None => text.parse::<i64>().ok().map(Value::from),
            Some(_) => text.parse::<f64>().ok().map(Value::from),
        };
        if let Some(number) = number {
            return number;
        }
    }
    Value::from(text)
}

/// The ids of the nodes under `node` (itself last) whose path is one of `paths`, in the
/// SDK's order: children before their parent.
fn ids_at_paths(node: &Node, paths: &[String], ids: &mut Vec<String>) {
    for child in &node.children {
        ids_at_paths(child, paths, ids);
    }
    if paths.contains(&node.aql_path()) {
        ids.push(node.full_id());
    }
}

/// A name a template fixes for a node, with its translations.
struct ExplicitName {
    label: String,
    localized: BTreeMap<String, String>,
}

fn with_node_id(path: &[Segment], node_id: &str) -> Vec<Segment> {
    let mut path = path.to_vec();
    if let Some(last) = path.last_mut() {
        last.node_id = Some(node_id.to_owned());
    }
    path
}

/// `code`'s term in every language, through `pick`.
fn localized(
    terms: &Terminology,
    code: &str,
    pick: impl Fn(&crate::model::Term) -> String,
) -> BTreeMap<String, String> {
    terms
        .terms
        .iter()
        .filter_map(|(language, terms)| terms.get(code).map(|term| (language.clone(), pick(term))))
        .collect()
}

/// Siblings that differ only by name (the same archetype used twice with different names)
/// need the name in their paths; the SDK adds it to the ones whose path has none.
fn add_distinguishing_names(children: &mut [Node]) {
    let paths: Vec<(String, String)> = children
        .iter()
        .map(|child| {
            (
                format_path(&child.path, true),
                format_path(&child.path, false),
            )
        })
        .collect();
    for (index, child) in children.iter_mut().enumerate() {
        let Some(last) = child.path.last() else {
            continue;
        };
        if last.name.is_some() || last.node_id.is_none() {
            continue;
        }
        let (full, bare) = &paths[index];
        let clashes = paths
            .iter()
            .any(|(other_full, other_bare)| other_full != full && other_bare == bare);
        if clashes {
            let old = child.path.clone();
            if let Some(last) = child.path.last_mut() {
                last.name = Some(child.name.clone());
            }
            let new = child.path.clone();
            rebase(&mut child.children, old.len(), &new);
        }
    }
}

/// Replaces the first `prefix_length` segments of every descendant's path by `prefix`.
fn rebase(nodes: &mut [Node], prefix_length: usize, prefix: &[Segment]) {
    for node in nodes {
        let rest = node.path.split_off(prefix_length.min(node.path.len()));
        node.path = prefix.to_vec();
        node.path.extend(rest);
        rebase(&mut node.children, prefix_length, prefix);
    }
}

/// Children of an ELEMENT that are its value (not its name or an optional null flavour).
fn is_true_element_child(child: &Node) -> bool {
    child.name != "name"
        && (!matches!(child.name.as_str(), "null_flavour" | "feeder_audit") || child.min != 0)
}

/// The inputs of the first CODE_PHRASE in a subtree (children before the node itself).
fn find_code_phrase(children: &[Node]) -> Option<Vec<Map<String, Value>>> {
    for child in children {
        if let Some(inputs) = find_code_phrase(&child.children) {
            return Some(inputs);
        }
        if child.rm_type == "CODE_PHRASE" {
            return Some(child.inputs.clone());
        }
    }
    None
}

/// The SDK's single `ism_transition` node of an ACTION, merging the template's
/// alternatives: one careflow step list (each step with the states it leads to) and one
/// current state list.
fn ism_transition(action: &Node, attribute: &str, children: &[Node]) -> Option<Node> {
    let transitions: Vec<&Node> = children
        .iter()
        .filter(|child| child.rm_type == "ISM_TRANSITION")
        .collect();
    let first = transitions.first()?;
    let find = |node: &Node, id: &str| node.children.iter().find(|c| c.id == id).cloned();
    let base = child_path(&action.path, attribute);
    let mut transition = Node {
        id: node_id_from_name(attribute),
        name: attribute.to_owned(),
        rm_type: "ISM_TRANSITION".into(),
        min: first.min,
        max: first.max,
        in_context: true,
        path: base.clone(),
        ..Node::default()
    };

    let mut steps = input(Some("code"), "CODED_TEXT");
    steps.insert("terminology".into(), "local".into());
    let mut states = input(Some("code"), "CODED_TEXT");
    states.insert("terminology".into(), "openehr".into());
    for alternative in &transitions {
        let state_values: Vec<Value> = find(alternative, "current_state")
            .and_then(|state| state.inputs.first().cloned())
            .and_then(|input| input.get("list").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        let step_value = find(alternative, "careflow_step")
            .and_then(|step| step.inputs.first().cloned())
            .and_then(|input| {
                input
                    .get("list")
                    .and_then(Value::as_array)
                    .and_then(|list| list.first().cloned())
            });
        if let Some(Value::Object(mut step)) = step_value {
            let codes: Vec<Value> = state_values
                .iter()
                .filter_map(|value| value.get("value").cloned())
                .collect();
            step.insert("currentStates".into(), Value::Array(codes));
            input_list(&mut steps).push(Value::Object(step));
        }
        input_list(&mut states).extend(state_values);
    }

    let occurrence = |id: &str| find(first, id).map_or(1, |node| node.min);
    let step_min = occurrence("careflow_step");
    transition.children.push(Node {
        id: "careflow_step".into(),
        name: "Careflow_step".into(),
        rm_type: "DV_CODED_TEXT".into(),
        // The SDK takes both bounds from the step's lower bound.
        min: step_min,
        max: step_min,
        in_context: true,
        path: child_path(&base, "careflow_step"),
        inputs: vec![steps],
        ..Node::default()
    });
    let state_min = occurrence("current_state");
    transition.children.push(Node {
        id: "current_state".into(),
        name: "Current_state".into(),
        rm_type: "DV_CODED_TEXT".into(),
        min: state_min,
        max: state_min,
        in_context: true,
        path: child_path(&base, "current_state"),
        inputs: vec![states],
        ..Node::default()
    });
    if let Some(mut change) = find(first, "transition") {
        change.path = child_path(&base, "transition");
        change.in_context = true;
        transition.children.push(change);
    }
    Some(transition)
}

/// The input a primitive constraint describes, keyed by its attribute in the caller.
fn primitive_input(primitive: &PrimitiveConstraint) -> Map<String, Value> {
    let (kind, mut validation) = match primitive {
        PrimitiveConstraint::String { .. } => ("TEXT", Map::new()),
        PrimitiveConstraint::Integer { range, .. } => {
            let mut validation = Map::new();
            if let Some(range) = range {
                validation.insert("range".into(), integer_interval(range));
            }
            ("INTEGER", validation)
        }
        PrimitiveConstraint::Real { range, .. } => {
            let mut validation = Map::new();
            if let Some(range) = range {
                validation.insert("range".into(), real_interval(range));
            }
            ("DECIMAL", validation)
        }
        PrimitiveConstraint::Boolean { .. } => ("BOOLEAN", Map::new()),
        PrimitiveConstraint::Date(temporal) => ("DATE", temporal_validation(temporal, false)),
        PrimitiveConstraint::Time(temporal) => ("TIME", temporal_validation(temporal, false)),
        PrimitiveConstraint::DateTime(temporal) => {
            ("DATETIME", temporal_validation(temporal, false))
        }
        PrimitiveConstraint::Duration(temporal) => {
            ("DURATION", temporal_validation(temporal, true))
        }
    };
    let mut result = input(None, kind);
    match primitive {
        PrimitiveConstraint::String { pattern, list } => {
            if !list.is_empty() {
                let values = list
                    .iter()
                    .map(|value| json!({"value": value, "label": value}))
                    .collect();
                result.insert("list".into(), Value::Array(values));
            }
            if let Some(pattern) = pattern
                .as_ref()
                .filter(|pattern| !pattern.trim().is_empty())
            {
                validation.insert("pattern".into(), pattern.clone().into());
            }
        }
        PrimitiveConstraint::Integer { list, .. } if !list.is_empty() => {
            let values = list
                .iter()
                .map(|value| json!({"value": value.to_string()}))
                .collect();
            result.insert("list".into(), Value::Array(values));
        }
        PrimitiveConstraint::Boolean {
            true_valid,
            false_valid,
        } if true_valid != false_valid => {
            let value = true_valid.to_string();
            result.insert("list".into(), json!([{"value": value, "label": value}]));
        }
        _ => {}
    }
    if !validation.is_empty() {
        result.insert("validation".into(), Value::Object(validation));
    }
    result
}

fn temporal_validation(temporal: &TemporalConstraint, with_range: bool) -> Map<String, Value> {
    let mut validation = Map::new();
    if let Some(pattern) = temporal.pattern.as_ref().filter(|p| !p.trim().is_empty()) {
        validation.insert("pattern".into(), pattern.clone().into());
    }
    if let (true, Some(range)) = (with_range, &temporal.range) {
        let mut interval = Map::new();
        if let Some(lower) = &range.lower {
            interval.insert("min".into(), lower.clone().into());
            interval.insert("minOp".into(), lower_op(range.lower_included).into());
        }
        if let Some(upper) = &range.upper {
            interval.insert("max".into(), upper.clone().into());
            interval.insert("maxOp".into(), upper_op(range.upper_included).into());
        }
        validation.insert("range".into(), Value::Object(interval));
    }
    validation
}

fn lower_op(included: bool) -> &'static str {
    if included { ">=" } else { ">" }
}

fn upper_op(included: bool) -> &'static str {
    if included { "<=" } else { "<" }
}

fn real_interval(interval: &Interval<f64>) -> Value {
    let mut range = Map::new();
    if let Some(lower) = interval.lower {
        range.insert("min".into(), json!(lower));
        range.insert("minOp".into(), lower_op(interval.lower_included).into());
    }
    if let Some(upper) = interval.upper {
        range.insert("max".into(), json!(upper));
        range.insert("maxOp".into(), upper_op(interval.upper_included).into());
    }
    Value::Object(range)
}

/// An integer interval, with exclusive bounds made inclusive as the SDK does.
fn integer_interval<T: Copy + Into<i64>>(interval: &Interval<T>) -> Value {
    let mut range = Map::new();
    if let Some(lower) = interval.lower {
        let lower: i64 = lower.into();
        let lower = if interval.lower_included {
            lower
        } else {
            lower + 1
        };
        range.insert("min".into(), lower.into());
        range.insert("minOp".into(), ">=".into());
    }
    if let Some(upper) = interval.upper {
        let upper: i64 = upper.into();
        let upper = if interval.upper_included {
            upper
        } else {
            upper - 1
        };
        range.insert("max".into(), upper.into());
        range.insert("maxOp".into(), "<=".into());
    }
    Value::Object(range)
}

fn quantity_inputs(items: &[QuantityItem], terms: &Terminology) -> Vec<Map<String, Value>> {
    let mut magnitude = input(Some("magnitude"), "DECIMAL");
    let mut unit = input(Some("unit"), "CODED_TEXT");
    let mut values = Vec::new();
    for item in items {
        let mut value = Map::new();
        value.insert("value".into(), item.units.clone().into());
        value.insert("label".into(), item.units.clone().into());
        let labels = localized(terms, &item.units, |term| term.text.clone());
        if !labels.is_empty() {
            value.insert("localizedLabels".into(), json!(labels));
        }
        let mut validation = Map::new();
        if let Some(range) = &item.magnitude {
            validation.insert("range".into(), real_interval(range));
        }
        if let Some(precision) = &item.precision {
            validation.insert("precision".into(), integer_interval(precision));
        }
        if !validation.is_empty() {
            value.insert("validation".into(), Value::Object(validation));
        }
        values.push(Value::Object(value));
    }
    // With a single unit its magnitude range is the magnitude's.
    if let [only] = values.as_slice()
        && let Some(validation) = only.get("validation")
    {
        magnitude.insert("validation".into(), validation.clone());
    }
    if !values.is_empty() {
        unit.insert("list".into(), Value::Array(values));
    }
    vec![magnitude, unit]
}

/// The inputs of a data value node by its RM type, taking what the template constrains
/// from `primitive_inputs` (the SDK's `InputHandler.addInputs`).
fn add_inputs(node: &mut Node, primitive_inputs: &BTreeMap<String, Map<String, Value>>) {
    let from_template = |key: &str, suffix: Option<&str>, kind: &str| {
        primitive_inputs
            .get(key)
            .cloned()
            .unwrap_or_else(|| input(suffix, kind))
    };
    let inputs = &mut node.inputs;
    match node.rm_type.as_str() {
        "DV_DATE" => inputs.push(from_template("value", None, "DATE")),
        "DV_DATE_TIME" => inputs.push(from_template("value", None, "DATETIME")),
        "DV_TIME" => inputs.push(from_template("value", None, "TIME")),
        "DV_ORDINAL" => inputs.push(from_template("value", None, "CODED_TEXT")),
        "PARTY_PROXY" => {
            for suffix in ["id", "id_scheme", "id_namespace", "name"] {
                inputs.push(input(Some(suffix), "TEXT"));
            }
        }
        "DV_PARSABLE" => {
            inputs.push(input(Some("value"), "TEXT"));
            inputs.push(input(Some("formalism"), "TEXT"));
        }
        "DV_TEXT" | "DV_EHR_URI" | "DV_URI" | "DV_MULTIMEDIA" | "UID_BASED_ID" | "STRING" => {
            inputs.push(from_template("value", None, "TEXT"))
        }
        "DV_COUNT" => inputs.push(from_template("magnitude", None, "INTEGER")),
        "DV_QUANTITY" => {
            inputs.push(from_template("magnitude", Some("magnitude"), "DECIMAL"));
            inputs.push(input(Some("unit"), "TEXT"));
        }
        "DV_BOOLEAN" => inputs.push(from_template("value", None, "BOOLEAN")),
        "DV_STATE" | "DV_CODED_TEXT" => {
            inputs.push(input(Some("code"), "TEXT"));
            inputs.push(input(Some("value"), "TEXT"));
        }
        "DV_PROPORTION" => {
            let mut numerator = from_template("numerator", Some("numerator"), "DECIMAL");
            numerator.insert("suffix".into(), "numerator".into());
            let mut denominator = from_template("denominator", Some("denominator"), "DECIMAL");
            denominator.insert("suffix".into(), "denominator".into());
            const TYPES: [&str; 5] = [
                "ratio",
                "unitary",
                "percent",
                "fraction",
                "integer_fraction",
            ];
            let allowed: Vec<usize> = primitive_inputs
                .get("type")
                .and_then(|input| input.get("list"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|value| value.get("value")?.as_str()?.parse().ok())
                        .filter(|kind: &usize| *kind < TYPES.len())
                        .collect()
                })
                .unwrap_or_default();
            node.proportion_types = if allowed.is_empty() {
                TYPES.to_vec()
            } else {
                allowed.iter().map(|kind| TYPES[*kind]).collect()
            };
            // A unitary or percent proportion fixes its denominator.
            let fixed = match allowed.as_slice() {
                [1] => Some(1.0),
                [2] => Some(100.0),
                _ => None,
            };
            if let Some(fixed) = fixed {
                denominator.insert(
                    "validation".into(),
                    json!({"range": {"min": fixed, "minOp": ">=", "max": fixed, "maxOp": "<="}}),
                );
            }
            inputs.push(numerator);
            inputs.push(denominator);
        }
        "DV_IDENTIFIER" => {
            for suffix in ["id", "type", "issuer", "assigner"] {
                inputs.push(input(Some(suffix), "TEXT"));
            }
        }
        "DV_DURATION" => {
            let template = primitive_inputs.get("value");
            *inputs = duration_inputs(template);
        }
        _ => {}
    }
}

/// One INTEGER input per duration component the pattern allows (all without a pattern),
/// each at least 0 unless the template's range says otherwise.
fn duration_inputs(template: Option<&Map<String, Value>>) -> Vec<Map<String, Value>> {
    let validation = template.and_then(|input| input.get("validation"));
    let pattern = validation
        .and_then(|validation| validation.get("pattern"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let range = validation.and_then(|validation| validation.get("range"));
    let bound = |key: &str| {
        range
            .and_then(|range| range.get(key))
            .and_then(Value::as_str)
            .map(duration_components)
            .unwrap_or_default()
    };
    let (lowers, uppers) = (bound("min"), bound("max"));
    let operator = |key: &str| range.and_then(|range| range.get(key)).cloned();
    let (date_part, time_part) = match pattern.split_once('T') {
        Some((date, time)) => (date, time),
        None => (pattern, ""),
    };
    let components = [
        ("Y", "year", date_part),
        ("M", "month", date_part),
        ("D", "day", date_part),
        ("W", "week", date_part),
        ("H", "hour", time_part),
        ("MT", "minute", time_part),
        ("S", "second", time_part),
    ];
    let mut inputs = Vec::new();
    for (key, suffix, part) in components {
        let symbol = &key[..1];
        if !pattern.is_empty() && !part.contains(symbol) {
            continue;
        }
        let mut interval = Map::new();
        match lowers.get(key) {
            Some(lower) => {
                interval.insert("min".into(), (*lower).into());
                interval.insert(
                    "minOp".into(),
                    operator("minOp").unwrap_or_else(|| ">=".into()),
                );
            }
            None => {
                interval.insert("min".into(), 0.into());
                interval.insert("minOp".into(), ">=".into());
            }
        }
        if let Some(upper) = uppers.get(key) {
            interval.insert("max".into(), (*upper).into());
            interval.insert(
                "maxOp".into(),
                operator("maxOp").unwrap_or_else(|| "<=".into()),
            );
        }
        let mut component = input(Some(suffix), "INTEGER");
        component.insert("validation".into(), json!({"range": interval}));
        inputs.push(component);
    }
    inputs
}

/// The numbers of an ISO 8601 duration by designator, minutes keyed `MT`.
fn duration_components(duration: &str) -> BTreeMap<String, i64> {
    let mut components = BTreeMap::new();
    let mut in_time = false;
    let mut digits = String::new();
    for c in duration.chars() {
        match c {
            'P' => {}
            'T' => in_time = true,
            c if c.is_ascii_digit() => digits.push(c),
            designator => {
                let mut key = designator.to_string();
                if in_time && key == "M" {
                    key.push('T');
                }
                components.insert(key, digits.parse().unwrap_or(0));
                digits.clear();
            }
        }
    }
    components
}

/// The SDK's filter: dissolves structure nodes into their parents and drops optional RM
/// attributes, bottom-up. Returns the node itself or, when dissolved, its children.
fn filter(mut node: Node, parent: Option<(&str, usize)>, builder: &Builder) -> Vec<Node> {
    pre_handle(&mut node, builder);
    let events = node
        .children
        .iter()
        .filter(|child| is_event(&child.rm_type))
        .count();
    let children = std::mem::take(&mut node.children);
    let rm_type = node.rm_type.clone();
    for child in children {
        let kept = filter(child, Some((&rm_type, events)), builder);
        node.children.extend(kept);
    }
    make_ids_unique(&mut node.children);
    if skip(&node, parent) {
        let (min, max) = (node.min, node.max);
        let mut children = node.children;
        if node.rm_type == "ELEMENT" {
            for child in &mut children {
                child.min = min;
                child.max = max;
            }
        }
        return children;
    }
    vec![node]
}

fn pre_handle(node: &mut Node, builder: &Builder) {
    match node.rm_type.as_str() {
        // Only the merged ism_transition stays, last.
        "ACTION" => {
            let mut transitions = Vec::new();
            let mut others = Vec::new();
            for child in std::mem::take(&mut node.children) {
                if child.rm_type == "ISM_TRANSITION" {
                    transitions.push(child);
                } else {
                    others.push(child);
                }
            }
            node.children = others;
            if let Some(first) = transitions.into_iter().next() {
                node.children.push(first);
            }
        }
        "ELEMENT" => {
            let true_children: Vec<usize> = (0..node.children.len())
                .filter(|index| is_true_element_child(&node.children[*index]))
                .collect();
            let ids: BTreeSet<&str> = true_children
                .iter()
                .map(|index| node.children[*index].id.as_str())
                .collect();
            if true_children.len() == 2 && ids == BTreeSet::from(["coded_text_value", "text_value"])
            {
                // A coded text that also allows free text is one coded input with "other".
                let coded = true_children
                    .iter()
                    .map(|index| &node.children[*index])
                    .find(|child| child.id == "coded_text_value")
                    .cloned()
                    .expect("the coded alternative is among the children");
                let mut merged = Node {
                    id: node.id.clone(),
                    name: node.name.clone(),
                    localized_name: node.localized_name.clone(),
                    rm_type: "DV_CODED_TEXT".into(),
                    min: node.min,
                    max: node.max,
                    localized_names: node.localized_names.clone(),
                    localized_descriptions: node.localized_descriptions.clone(),
                    node_id: coded.node_id.clone(),
                    path: coded.path.clone(),
                    inputs: coded.inputs.clone(),
                    annotations: node.annotations.clone(),
                    ..Node::default()
                };
                for input in &mut merged.inputs {
                    if input.get("suffix").and_then(Value::as_str) == Some("code") {
                        input.insert("listOpen".into(), true.into());
                    }
                }
                merged.inputs.push(input(Some("other"), "TEXT"));
                node.children = vec![merged];
            } else if let [only] = true_children.as_slice() {
                node.children[*only].id = node.id.clone();
            }
        }
        // An ordinal's symbol is always local.
        "DV_ORDINAL" => {
            for input in &mut node.inputs {
                if input.get("type").and_then(Value::as_str) == Some("CODED_TEXT") {
                    input.remove("terminology");
                }
            }
        }
        // English labels of openEHR codes are a fallback the SDK drops when the template
        // has no English.
        "DV_CODED_TEXT" if !builder.languages.iter().any(|language| language == "en") => {
            for input in &mut node.inputs {
                if input.get("terminology").and_then(Value::as_str) != Some("openehr") {
                    continue;
                }
                if let Some(list) = input.get_mut("list").and_then(Value::as_array_mut) {
                    for value in list {
                        if let Some(labels) = value
                            .get_mut("localizedLabels")
                            .and_then(Value::as_object_mut)
                        {
                            labels.remove("en");
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn skip(node: &Node, parent: Option<(&str, usize)>) -> bool {
    if let Some((parent_type, _)) = parent {
        let kept_optional = matches!(
            (parent_type, node.name.as_str()),
            ("ACTIVITY", "timing")
                | ("INSTRUCTION", "expiry_time")
                | ("ISM_TRANSITION", "transition")
                | ("COMPOSITION", "context")
        );
        let optional_attribute = node.attribute_named && node.min == 0;
        let never_shown = matches!(
            node.name.as_str(),
            "name"
                | "archetype_node_id"
                | "origin"
                | "media_type"
                | "upper_included"
                | "lower_included"
                | "upper_unbounded"
                | "lower_unbounded"
        );
        if (optional_attribute || never_shown) && !kept_optional {
            return true;
        }
    }
    match node.rm_type.as_str() {
        "HISTORY" | "ITEM_TREE" | "ITEM_LIST" | "ITEM_SINGLE" | "ITEM_TABLE" | "ITEM_STRUCTURE" => {
            true
        }
        "ELEMENT" => node.children.len() == 1,
        "CODE_PHRASE" => matches!(parent, Some(("DV_CODED_TEXT", _))),
        rm_type if is_event(rm_type) => matches!(parent, Some((_, 1))) && node.max == 1,
        _ => false,
    }
}

/// Numbers repeated ids among siblings: the second `time` becomes `time2`.
fn make_ids_unique(children: &mut [Node]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for child in children {
        let count = seen.entry(child.id.clone()).or_default();
        *count += 1;
        child.id_number = (*count > 1).then_some(*count);
    }
}

/// The web template for serialising with its keys in the order EHRbase sends them:
/// `serde_json::to_vec(&InSdkOrder(&web_template(&template)))`.
///
/// EHRbase serialises the SDK's model classes with Jackson, which writes a class's fields
/// in declaration order; `serde_json::Map` sorts its keys instead. Its `preserve_order`
/// feature would keep insertion order, but Cargo unifies features, so that would change
/// the key order of every JSON document the workspace builds (error bodies, FLAT, query
/// results) and the map type under all of them, for the sake of one document. So this
/// wrapper orders the keys of each kind of object by the SDK's field order while writing;
/// keys it does not know follow, sorted.
pub struct InSdkOrder<'a>(pub &'a Value);

impl serde::Serialize for InSdkOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Ordered {
            value: self.0,
            shape: Shape::WebTemplate,
        }
        .serialize(serializer)
    }
}

/// The kinds of objects in a web template, each with its key order.
#[derive(Clone, Copy)]
enum Shape {
    WebTemplate,
    Node,
    Input,
    InputValue,
    Validation,
    Interval,
    Annotations,
    Cardinality,
    /// Maps by language and the like: sorted.
    Other,
}

impl Shape {
    /// Field order of the SDK's WebTemplate, WebTemplateNode, WebTemplateInput,
    /// WebTemplateInputValue, WebTemplateValidation, WebTemplateInterval,
    /// WebTemplateAnnotation and WebtemplateCardinality.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Shape::WebTemplate => &[
                "templateId",
                "version",
                "defaultLanguage",
                "languages",
                "tree",
            ],
            Shape::Node => &[
                "id",
                "name",
                "localizedName",
                "rmType",
                "nodeId",
                "min",
                "max",
                "localizedNames",
                "localizedDescriptions",
                "aqlPath",
                "children",
                "inputs",
                "inContext",
                "termBindings",
                "dependsOn",
                "annotations",
                "proportionTypes",
                "cardinalities",
            ],
            Shape::Input => &[
                "suffix",
                "type",
                "list",
                "listOpen",
                "validation",
                "terminology",
                "defaultValue",
            ],
            Shape::InputValue => &[
                "value",
                "label",
                "localizedLabels",
                "localizedDescriptions",
                "termBindings",
                "ordinal",
                "currentStates",
                "validation",
            ],
            Shape::Validation => &["precision", "range", "pattern"],
            Shape::Interval => &["min", "minOp", "max", "maxOp"],
            Shape::Annotations => &["comment"],
            Shape::Cardinality => &["min", "max", "ids"],
            Shape::Other => &[],
        }
    }

    /// The shape of the value under `key` (of each member, for an array).
    fn of(self, key: &str) -> Shape {
        match (self, key) {
            (Shape::WebTemplate, "tree") | (Shape::Node, "children") => Shape::Node,
            (Shape::Node, "inputs") => Shape::Input,
            (Shape::Node, "annotations") => Shape::Annotations,
            (Shape::Node, "cardinalities") => Shape::Cardinality,
            (Shape::Input, "list") => Shape::InputValue,
            (Shape::Input | Shape::InputValue, "validation") => Shape::Validation,
            (Shape::Validation, "range" | "precision") => Shape::Interval,
            _ => Shape::Other,
        }
    }
}

struct Ordered<'a> {
    value: &'a Value,
    shape: Shape,
}

impl serde::Serialize for Ordered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.value {
            Value::Object(object) => {
                let known = self.shape.keys();
                let mut keys: Vec<&String> = object.keys().collect();
                keys.sort_by_key(|key| {
                    known
                        .iter()
                        .position(|known| known == key)
                        .unwrap_or(known.len())
                });
                let mut map = serializer.serialize_map(Some(keys.len()))?;
                for key in keys {
                    let value = Ordered {
                        value: &object[key],
                        shape: self.shape.of(key),
                    };
                    map.serialize_entry(key, &value)?;
                }
                map.end()
            }
            Value::Array(members) => {
                let mut sequence = serializer.serialize_seq(Some(members.len()))?;
                for member in members {
                    sequence.serialize_element(&Ordered {
                        value: member,
                        shape: self.shape,
                    })?;
                }
                sequence.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_sdk() {
        assert_eq!(node_id_from_name("Blood pressure"), "blood_pressure");
        assert_eq!(node_id_from_name("Any event"), "any_event");
        assert_eq!(
            node_id_from_name("ehrn_vital_signs.v2"),
            "ehrn_vital_signs.v2"
        );
        assert_eq!(
            node_id_from_name("Mean (arterial) pressure"),
            "mean_arterial_pressure"
        );
        assert_eq!(node_id_from_name("24 hour average"), "a24_hour_average");
        assert_eq!(node_id_from_name("Größe/Länge"), "größe_länge");
        assert_eq!(choice_id("DV_QUANTITY"), "quantity_value");
    }

    #[test]
    fn durations_split_into_components() {
        let components = duration_components("P1Y2M3DT4H5M6S");
        assert_eq!(components["M"], 2);
        assert_eq!(components["MT"], 5);
        assert_eq!(components["S"], 6);
    }
}
