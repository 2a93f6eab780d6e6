//! Validation of a composition, EHR_STATUS or FOLDER (an RM tree) against the constraint tree
//! of its template.
//!
//! [`validate`] walks the object and the template together and returns every
//! [`Violation`], each with the path of the offending node and a lowercase message; the root
//! may be any LOCATABLE whose RM type and archetype the template's root constrains.
//! [`validate_named_templates`] serves EHR_STATUS and FOLDER, whose templates are optional: it
//! validates each subtree that names a known template against it. It is pure
//! (no IO) and cheap on valid data: paths are kept as a stack of borrowed steps and only
//! written out when something is reported, and regular expressions are compiled once per
//! process.
//!
//! # Paths
//!
//! A violation's path is an AQL-style path from the root: every LOCATABLE is written
//! with its `archetype_node_id` as predicate (the archetype id for archetype roots, the
//! at-code otherwise), e.g.
//! `/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude`.
//! When several members of one container share a node id, the predicate adds the runtime
//! name in AQL's form, `[at0006 and name/value='Any event']`; when the names coincide too,
//! the 1-based position among the members of the container follows, `[at0006 and
//! name/value='Any event'][2]` (AQL has no positional form; this keeps the path unique).
//! Members of a container that are not LOCATABLE are written with their position only
//! (`/other_participations[1]`). A missing or surplus child constraint is reported at the
//! container's path with the constraint's node id, e.g. `/items[at0004]` for a missing
//! mandatory element. The root itself is `/`.
//!
//! # Decisions
//!
//! - An attribute the template does not constrain is open (ADL 1.4 semantics); its content is
//!   still checked against the RM invariants below. Inside a constrained container, a member
//!   that matches no child constraint is an unknown node and is reported without descending.
//! - An ELEMENT whose `value` is missing is not reported as a missing mandatory attribute when
//!   it has a `null_flavour`; the RM invariant `Inv_null_flavour_indicated` (exactly one of
//!   `value` and `null_flavour`) is checked on every ELEMENT instead.
//! - A DV_CODED_TEXT with a `local` code whose `value` is the text of that code in no language
//!   of the enclosing archetype's terminology is a violation: text and code disagreeing is a
//!   clinical-safety fault, not a warning. Codes absent from the terminology are left to the
//!   C_CODE_PHRASE list.
//! - ARCHETYPE_SLOT: an archetype id is allowed when it fully matches an include pattern and no
//!   exclude pattern, except that an exclude of `.*` only means "nothing but the includes"; with
//!   no include, anything not excluded is allowed.
//! - A C_DV_QUANTITY precision `p >= 0` limits both the `precision` attribute and the number of
//!   decimal places of the magnitude; `-1` means no constraint.
//! - Ranges of dates and times compare instants (zones applied, a partial value at its
//!   earliest instant); durations compare nominal seconds (a year is 365.2425 days).
//! - A C_STRING pattern also accepts a value equal to the pattern's text, because
//!   `ACTIVITY.action_archetype_id` is itself a regular expression and archetypes constrain it
//!   with the pattern to record (`openEHR-EHR-ACTION\.medication\.v1`).
//! - An invalid regular expression in the template is reported where it is used, since the
//!   constraint cannot be checked.
//! - A C_DV_QUANTITY `property` (a code of the openEHR terminology's group "property") is
//!   checked by dimension (see `crate::units`): the `units` must be a UCUM expression whose
//!   dimension the property admits (`mm[Hg]` for Pressure, `/min` for Frequency, `1`, `%` or
//!   an annotation for Qualified real), whether or not the template lists units. A unit the
//!   analyser cannot read is reported as "not a ucum unit of the property", except one the
//!   template lists itself: the list is the template author's word, and some published
//!   templates list non-UCUM symbols (`°`, `gm`) that data must then be able to use. A
//!   property code outside the group is not checked.
//! - Value sets defined outside the template (a C_CODE_PHRASE with `referenceSetUri`, or a
//!   CONSTRAINT_REF) cannot have their membership checked: that needs a terminology service,
//!   and validation does no IO. What the template says about the terminology is checked: a
//!   code phrase's `terminology_id`, else the terminology its value set URI names
//!   (`terminology:SNOMED-CT?subset=...`, `terminology://snomed.info`), else, for a
//!   CONSTRAINT_REF, the terminologies its ac-code is bound to (`constraint_bindings`). Names
//!   of SNOMED CT (`SNOMED-CT`, `SNOMED CT`, `http://snomed.info/sct`) count as one only
//!   where the terminology comes from a value set URI; an explicit `terminology_id` is
//!   compared exactly. A URI naming a terminology server rather than a terminology
//!   (`terminology://fhir.hl7.org/ValueSet/...`) fixes nothing.
//! - An ELEMENT's `null_flavour` must be coded in the openehr terminology with a code of its
//!   group "null flavours": 271 no information, 253 unknown, 272 masked, 273 not applicable.
//!   Its text is not compared with the rubric, which depends on the language.
//! - A container whose cardinality `is_unique` must not hold two equal members (equal as RM
//!   trees, every attribute alike); the later one is reported.
//! - Every LOCATABLE whose `archetype_details` names a `template_id` (the root, and any inner
//!   archetype root) must name the template validated against: data claiming another
//!   template would mislead every query that selects by template. `archetype_details.
//!   archetype_id` is not compared with `archetype_node_id`: the RM states no invariant
//!   between them, and a shared example (minimal_action2_1) has them differ.

pub mod iso8601;

use std::collections::HashMap;
use std::fmt::{Display, Write as _};
use std::sync::{Mutex, OnceLock, PoisonError};

use openehr_rm::{RmObject, RmValue};
use regex::Regex;

use crate::model::{
    AttributeConstraint, CodePhraseConstraint, CodeRef, Interval, ObjectConstraint, ObjectKind,
    OrdinalItem, PrimitiveConstraint, QuantityItem, ScaleItem, Template, TemporalConstraint,
};
use crate::units;

/// One way in which a composition breaks its template or the RM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

/// Every violation of `template` (and of the RM invariants that matter for safety) in
/// `root`, a composition or another LOCATABLE of the template's root type, in document
/// order; empty when it is valid.
pub fn validate(template: &Template, root: &RmObject) -> Vec<Violation> {
    let mut validator = Validator::new(template);
    validator.object(&template.root, root);
    validator.violations
}

/// Validates an object whose templates are optional (an EHR_STATUS, a FOLDER tree): every
/// subtree whose root names in `archetype_details.template_id` a template that `known`
/// returns is validated against it, the outermost first (inner ones naming another
/// template are then reported as such); everything else is checked against the RM
/// invariants only, as for data in an open slot. Paths are from `root`.
pub fn validate_named_templates<'a>(
    root: &'a RmObject,
    known: impl Fn(&str) -> Option<&'a Template>,
) -> Vec<Violation> {
    let mut validator = Validator {
        language: "",
        template_id: "",
        steps: Vec::with_capacity(16),
        roots: Vec::with_capacity(8),
        violations: Vec::new(),
    };
    validator.named_templates(root, &known);
    validator.violations
}

/// The template ids that `root` and the LOCATABLEs inside it name, each once, outermost
/// first: what [`validate_named_templates`] may ask for.
pub fn named_template_ids(root: &RmObject) -> Vec<&str> {
    let mut ids = Vec::new();
    collect_template_ids(root, &mut ids);
    ids
}

fn collect_template_ids<'a>(object: &'a RmObject, ids: &mut Vec<&'a str>) {
    if let Some(id) = template_id_of(object)
        && !ids.contains(&id)
    {
        ids.push(id);
    }
    for (_, value) in object.attributes() {
        match value {
            RmValue::Object(child) => collect_template_ids(child, ids),
            RmValue::List(members) => {
                for member in members {
                    if let RmValue::Object(child) = member {
                        collect_template_ids(child, ids);
                    }
                }
            }
            _ => {}
        }
    }
}

fn template_id_of(object: &RmObject) -> Option<&str> {
    object
        .get_object("archetype_details")?
        .get_object("template_id")?
        .get_str("value")
}

/// The codes of the openEHR terminology's group "null flavours".
const NULL_FLAVOURS: [(&str, &str); 4] = [
    ("271", "no information"),
    ("253", "unknown"),
    ("272", "masked"),
    ("273", "not applicable"),
];

/// The terminology a value set URI names (`terminology:LOINC?subset=...` names LOINC), if it
/// names one rather than a terminology server.
fn terminology_of_value_set(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("terminology:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let name = rest.split(['?', '/']).next().unwrap_or_default();
    if name.is_empty() {
        return None;
    }
    if is_snomed(name) {
        return Some("SNOMED-CT".to_owned());
    }
    // A host name (`fhir.hl7.org`) is a terminology server, which may serve any terminology.
    (!name.contains('.')).then(|| name.to_owned())
}

fn is_snomed(name: &str) -> bool {
    name.to_ascii_lowercase().contains("snomed")
}

/// Whether a code's terminology is the one a value set URI named.
fn same_terminology(actual: &str, named: &str) -> bool {
    actual == named || (is_snomed(actual) && is_snomed(named))
}

/// One step of the current path, borrowed from the composition and the template.
#[derive(Clone, Copy)]
enum Step<'a> {
    /// An attribute holding a single value; a LOCATABLE adds its node id.
    Single {
        attribute: &'a str,
        value: Option<&'a RmObject>,
    },
    /// A member of a container attribute.
    Member {
        attribute: &'a str,
        members: &'a [RmValue],
        index: usize,
    },
    /// A child constraint of a container, for occurrences (no member to point at).
    Constraint {
        attribute: &'a str,
        node_id: &'a str,
    },
}

struct Validator<'a> {
    language: &'a str,
    /// The id of the template being validated against.
    template_id: &'a str,
    steps: Vec<Step<'a>>,
    /// The enclosing archetype roots, innermost last; `None` inside data that no archetype
    /// in the template describes (an unfilled slot), where local codes mean something else.
    roots: Vec<Option<&'a ObjectConstraint>>,
    violations: Vec<Violation>,
}

fn node_id(object: &RmObject) -> Option<&str> {
    object.get_str("archetype_node_id")
}

fn name_value(object: &RmObject) -> Option<&str> {
    object
        .get_object("name")
        .and_then(|name| name.get_str("value"))
}

fn code_of(coded: &RmObject) -> Option<(&str, &str)> {
    let code = coded.get_object("defining_code")?;
    let terminology = code
        .get_object("terminology_id")
        .and_then(|id| id.get_str("value"))
        .unwrap_or_default();
    Some((terminology, code.get_str("code_string").unwrap_or_default()))
}

fn integer(value: Option<&RmValue>) -> Option<i64> {
    match value {
        Some(RmValue::Integer(number)) => Some(*number),
        _ => None,
    }
}

#[allow(clippy::cast_precision_loss)]
fn real(value: Option<&RmValue>) -> Option<f64> {
    match value {
        Some(RmValue::Real(number)) => Some(*number),
        Some(RmValue::Integer(number)) => Some(*number as f64),
        _ => None,
    }
}

fn join<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    let mut text = String::new();
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            text.push_str(", ");
        }
        let _ = write!(text, "{item}");
    }
    text
}

/// An interval in ADL's notation: `|0..10|`, `|>=0|`, `|0..<10|`, `|*|`.
fn interval_text<T: Display>(interval: &Interval<T>) -> String {
    match (&interval.lower, &interval.upper) {
        (None, None) => "|*|".to_owned(),
        (Some(lower), None) => {
            format!(
                "|{}{lower}|",
                if interval.lower_included { ">=" } else { ">" }
            )
        }
        (None, Some(upper)) => {
            format!(
                "|{}{upper}|",
                if interval.upper_included { "<=" } else { "<" }
            )
        }
        (Some(lower), Some(upper)) => format!(
            "|{}{lower}..{}{upper}|",
            if interval.lower_included { "" } else { ">" },
            if interval.upper_included { "" } else { "<" }
        ),
    }
}

/// A count range as in occurrences: `1..1`, `0..*`.
fn multiplicity_text(interval: &Interval<u32>) -> String {
    let lower = interval.lower.unwrap_or(0);
    match interval.upper {
        Some(upper) => format!("{lower}..{upper}"),
        None => format!("{lower}..*"),
    }
}

/// A regular expression anchored at both ends, compiled once per process.
pub(crate) fn full_match(pattern: &str, text: &str) -> Option<bool> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(compiled) = cache.get(pattern) {
        return compiled.as_ref().map(|regex| regex.is_match(text));
    }
    let compiled = Regex::new(&format!("^(?:{pattern})$")).ok();
    let result = compiled.as_ref().map(|regex| regex.is_match(text));
    cache.insert(pattern.to_owned(), compiled);
    result
}

fn is_match_all(pattern: &str) -> bool {
    matches!(pattern.trim(), ".*" | "^.*$" | "(.*)")
}

/// Where an archetype id is allowed by a slot; `Err` carries an invalid pattern.
pub(crate) fn slot_allows<'p>(
    includes: &'p [String],
    excludes: &'p [String],
    archetype_id: &str,
) -> Result<bool, &'p str> {
    let matches_any = |patterns: &'p [String], skip_match_all: bool| -> Result<bool, &'p str> {
        for pattern in patterns {
            if skip_match_all && is_match_all(pattern) {
                continue;
            }
            match full_match(pattern, archetype_id) {
                Some(true) => return Ok(true),
                Some(false) => {}
                None => return Err(pattern),
            }
        }
        Ok(false)
    };
    if includes.is_empty() {
        return Ok(!matches_any(excludes, false)?);
    }
    if !matches_any(includes, false)? {
        return Ok(false);
    }
    // An exclude of `.*` beside includes means "only the includes", which is already true.
    Ok(!matches_any(excludes, true)?)
}

/// The number of decimal places a magnitude needs (up to 15, beyond which f64 is noise).
fn decimal_places(magnitude: f64) -> i32 {
    let mut scaled = magnitude;
    for places in 0..15 {
        if (scaled - scaled.round()).abs() <= 1e-9 * scaled.abs().max(1.0) {
            return places;
        }
        scaled *= 10.0;
    }
    15
}

/// RFC 3986 syntax: a scheme, then only unreserved, reserved or percent-encoded characters.
fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut scheme_bytes = scheme.bytes();
    if !scheme_bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        || !scheme_bytes.all(|byte| byte.is_ascii_alphanumeric() || b"+-.".contains(&byte))
    {
        return false;
    }
    let bytes = rest.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            if !(bytes.get(index + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(index + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            index += 3;
            continue;
        }
        if !(byte.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&byte)) {
            return false;
        }
        index += 1;
    }
    true
}

/// A value on which DV_INTERVAL limits and ranges can be ordered, with what must agree for
/// two of them to be comparable (units of quantities).
fn ordered_value(object: &RmObject) -> Option<(f64, Option<&str>)> {
    match object.type_name() {
        "DV_QUANTITY" => Some((
            real(object.get("magnitude"))?,
            Some(object.get_str("units").unwrap_or_default()),
        )),
        "DV_COUNT" => Some((real(object.get("magnitude"))?, None)),
        "DV_ORDINAL" => Some((real(object.get("value"))?, None)),
        "DV_SCALE" => Some((real(object.get("value"))?, None)),
        "DV_PROPORTION" => {
            let denominator = real(object.get("denominator"))?;
            (denominator != 0.0).then_some(())?;
            Some((real(object.get("numerator"))? / denominator, None))
        }
        "DV_DATE" => Some((
            iso8601::date_key(&iso8601::parse_date(object.get_str("value")?)?),
            None,
        )),
        "DV_TIME" => Some((
            iso8601::time_key(&iso8601::parse_time(object.get_str("value")?)?),
            None,
        )),
        "DV_DATE_TIME" => Some((
            iso8601::date_time_key(&iso8601::parse_date_time(object.get_str("value")?)?),
            None,
        )),
        "DV_DURATION" => Some((
            iso8601::duration_key(&iso8601::parse_duration(object.get_str("value")?)?),
            None,
        )),
        _ => None,
    }
}

impl<'a> Validator<'a> {
    fn new(template: &'a Template) -> Validator<'a> {
        Validator {
            language: &template.language,
            template_id: &template.template_id,
            steps: Vec::with_capacity(16),
            roots: Vec::with_capacity(8),
            violations: Vec::new(),
        }
    }

    /// See [`validate_named_templates`]; the steps to `object` are on the path.
    fn named_templates(
        &mut self,
        object: &'a RmObject,
        known: &impl Fn(&str) -> Option<&'a Template>,
    ) {
        if let Some(template) = template_id_of(object).and_then(known) {
            let outside = (self.language, self.template_id);
            self.language = &template.language;
            self.template_id = &template.template_id;
            self.object(&template.root, object);
            (self.language, self.template_id) = outside;
            return;
        }
        self.rm_invariants(object);
        for (definition, value) in object.attributes() {
            match value {
                RmValue::Object(child) => {
                    self.steps.push(Step::Single {
                        attribute: definition.name,
                        value: Some(child),
                    });
                    self.named_templates(child, known);
                    self.steps.pop();
                }
                RmValue::List(members) => {
                    for (index, member) in members.iter().enumerate() {
                        if let RmValue::Object(child) = member {
                            self.steps.push(Step::Member {
                                attribute: definition.name,
                                members,
                                index,
                            });
                            self.named_templates(child, known);
                            self.steps.pop();
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Writes the current path, with `suffix` (such as `/units`) appended.
    fn path(&self, suffix: &str) -> String {
        let mut path = String::new();
        for step in &self.steps {
            match *step {
                Step::Single { attribute, value } => {
                    path.push('/');
                    path.push_str(attribute);
                    if let Some(id) = value.and_then(node_id).filter(|id| !id.is_empty()) {
                        let _ = write!(path, "[{id}]");
                    }
                }
                Step::Member {
                    attribute,
                    members,
                    index,
                } => {
                    path.push('/');
                    path.push_str(attribute);
                    write_member_predicate(&mut path, members, index);
                }
                Step::Constraint { attribute, node_id } => {
                    path.push('/');
                    path.push_str(attribute);
                    if !node_id.is_empty() {
                        let _ = write!(path, "[{node_id}]");
                    }
                }
            }
        }
        path.push_str(suffix);
        if path.is_empty() {
            path.push('/');
        }
        path
    }

    fn report(&mut self, suffix: &str, message: String) {
        let path = self.path(suffix);
        self.violations.push(Violation { path, message });
    }

    fn root(&self) -> Option<&'a ObjectConstraint> {
        self.roots.last().copied().flatten()
    }

    /// Validates `object`, already matched to `constraint` and with its step on the path.
    fn object(&mut self, constraint: &'a ObjectConstraint, object: &'a RmObject) {
        self.check_object(constraint, object, true);
    }

    fn check_object(
        &mut self,
        constraint: &'a ObjectConstraint,
        object: &'a RmObject,
        check_invariants: bool,
    ) {
        if !object.is_a(&constraint.rm_type) {
            self.report(
                "",
                format!(
                    "type {} does not conform to {}",
                    object.type_name(),
                    constraint.rm_type
                ),
            );
            return;
        }
        let is_slot = matches!(constraint.kind, ObjectKind::Slot { .. });
        if let Some(actual) = node_id(object)
            && !constraint.node_id.is_empty()
            && !is_slot
            && actual != constraint.node_id
        {
            self.report(
                "",
                format!(
                    "node id \"{actual}\" does not match the template's \"{}\"",
                    constraint.node_id
                ),
            );
            return;
        }
        if check_invariants {
            self.rm_invariants(object);
        }
        match &constraint.kind {
            ObjectKind::Complex { attributes } => {
                self.attributes(attributes, object);
                self.unconstrained_attributes(attributes, object);
            }
            ObjectKind::ArchetypeRoot { attributes, .. } => {
                self.roots.push(Some(constraint));
                self.attributes(attributes, object);
                self.unconstrained_attributes(attributes, object);
                self.roots.pop();
            }
            ObjectKind::Slot { includes, excludes } => {
                let archetype_id = node_id(object).unwrap_or_default();
                match slot_allows(includes, excludes, archetype_id) {
                    Ok(true) => {}
                    Ok(false) => self.report(
                        "",
                        format!("archetype \"{archetype_id}\" is not allowed in this slot"),
                    ),
                    Err(pattern) => self.report(
                        "",
                        format!("the template's slot pattern \"{pattern}\" is not a valid regular expression"),
                    ),
                }
                // The template says nothing about the archetype that fills the slot.
                self.roots.push(None);
                self.unconstrained_attributes(&[], object);
                self.roots.pop();
            }
            ObjectKind::InternalRef { target_path } => {
                match self.resolve(target_path) {
                    Some(target) => {
                        // The target carries the constraint; the reference only its own occurrences.
                        if matches!(target.kind, ObjectKind::InternalRef { .. }) {
                            self.unconstrained_attributes(&[], object);
                        } else {
                            // The invariants were checked at the reference.
                            self.check_object(target, object, false);
                        }
                    }
                    None => {
                        self.report(
                        "",
                        format!("the template's internal reference \"{target_path}\" cannot be resolved"),
                    );
                        self.unconstrained_attributes(&[], object);
                    }
                }
            }
            // A value set defined outside the template: its codes can only be checked against
            // a terminology service, which validation (pure, no IO) does not have; the
            // terminologies the ac-code is bound to can.
            ObjectKind::ConstraintRef { reference } => {
                self.constraint_ref(reference, object);
                self.unconstrained_attributes(&[], object);
            }
            ObjectKind::Primitive(_) => self.report(
                "",
                format!("expected a primitive value, found {}", object.type_name()),
            ),
            ObjectKind::CodePhrase(code) => {
                self.code_phrase(code, object);
                self.unconstrained_attributes(&[], object);
            }
            ObjectKind::Quantity { property, items } => {
                self.quantity(property.as_ref(), items, object);
                self.unconstrained_attributes(&[], object);
            }
            ObjectKind::Ordinal { items } => {
                self.ordinal(items, object);
                self.unconstrained_attributes(&[], object);
            }
            ObjectKind::Scale { items } => {
                self.scale(items, object);
                self.unconstrained_attributes(&[], object);
            }
        }
    }

    /// The node at `target_path` (an archetype path such as `/data[at0001]/events[at0002]`)
    /// within the innermost archetype root.
    fn resolve(&self, target_path: &str) -> Option<&'a ObjectConstraint> {
        let root = self.roots.iter().rev().find_map(|root| *root)?;
        root.resolve_path(target_path)
    }

    /// The node id a child constraint expects of a LOCATABLE, following internal references.
    fn expected_node_id(&self, child: &'a ObjectConstraint) -> &'a str {
        match &child.kind {
            ObjectKind::InternalRef { target_path } if child.node_id.is_empty() => self
                .resolve(target_path)
                .map_or("", |target| target.node_id.as_str()),
            _ => &child.node_id,
        }
    }

    /// Whether `child` names the node of `object` (same node id, or none on either side).
    fn matches_exactly(&self, child: &'a ObjectConstraint, object: &RmObject) -> bool {
        let Some(actual) = node_id(object) else {
            return !matches!(child.kind, ObjectKind::Slot { .. });
        };
        if matches!(child.kind, ObjectKind::Slot { .. }) {
            return false;
        }
        let expected = self.expected_node_id(child);
        expected.is_empty() || expected == actual
    }

    /// The children that may describe `object`: those naming its node exactly or, when there
    /// are none, the slots (an archetype root's id is not an at-code), so that a slot's
    /// includes are reported as such. Types and names are checked by validating, so that
    /// alternatives can differ only in those.
    fn candidates(
        &self,
        children: &'a [ObjectConstraint],
        object: &RmObject,
    ) -> impl Iterator<Item = usize> + Clone {
        let exact = children
            .iter()
            .any(|child| self.matches_exactly(child, object));
        let archetype = node_id(object).is_some_and(|id| !id.starts_with("at"));
        (0..children.len()).filter(move |index| {
            let child = &children[*index];
            if exact {
                self.matches_exactly(child, object)
            } else {
                archetype && matches!(child.kind, ObjectKind::Slot { .. })
            }
        })
    }

    /// Validates `object` against the first of `candidates` it satisfies; when it satisfies
    /// none, the violations of the first are kept. Returns the index of the child used.
    fn best_of(
        &mut self,
        children: &'a [ObjectConstraint],
        candidates: impl Iterator<Item = usize> + Clone,
        object: &'a RmObject,
    ) -> Option<usize> {
        let mut first: Option<(usize, Vec<Violation>)> = None;
        // Children whose type the object conforms to come first, so that the violations kept
        // are about the intended alternative.
        let conforming = candidates
            .clone()
            .filter(|index| object.is_a(&children[*index].rm_type));
        let others = candidates.filter(|index| !object.is_a(&children[*index].rm_type));
        for index in conforming.chain(others) {
            let before = self.violations.len();
            self.object(&children[index], object);
            if self.violations.len() == before {
                return Some(index);
            }
            let violations = self.violations.split_off(before);
            if first.is_none() {
                first = Some((index, violations));
            }
        }
        let (index, violations) = first?;
        self.violations.extend(violations);
        Some(index)
    }

    fn attributes(&mut self, constraints: &'a [AttributeConstraint], object: &'a RmObject) {
        for constraint in constraints {
            let attribute = constraint.name.as_str();
            match object.get(attribute) {
                None => {
                    let mandatory = constraint.existence.lower.unwrap_or(0) >= 1;
                    // A null flavour stands in for the value (RM `Inv_null_flavour_indicated`).
                    let null_element = attribute == "value"
                        && object.type_name() == "ELEMENT"
                        && object.get("null_flavour").is_some();
                    // Only attributes the RM class has can be present at all; one the RM
                    // itself requires is reported by `rm_invariants` already.
                    let definition = object.class_def().attribute(attribute);
                    let known = definition.is_some();
                    let required_by_rm = definition.is_some_and(|definition| definition.mandatory);
                    if mandatory && !null_element && known && !required_by_rm {
                        self.steps.push(Step::Single {
                            attribute,
                            value: None,
                        });
                        self.report("", "mandatory attribute is missing".to_owned());
                        self.steps.pop();
                    }
                }
                Some(value) => {
                    if constraint.existence.upper == Some(0) {
                        self.steps.push(Step::Single {
                            attribute,
                            value: None,
                        });
                        self.report("", "attribute is not allowed by the template".to_owned());
                        self.steps.pop();
                        continue;
                    }
                    match value {
                        RmValue::List(members) => self.container(constraint, members),
                        RmValue::Object(child) => self.single(constraint, child),
                        primitive => {
                            self.steps.push(Step::Single {
                                attribute,
                                value: None,
                            });
                            self.primitive_attribute(constraint, primitive);
                            self.steps.pop();
                        }
                    }
                }
            }
        }
    }

    /// Checks the RM invariants of everything under the attributes no constraint names.
    fn unconstrained_attributes(
        &mut self,
        constraints: &[AttributeConstraint],
        object: &'a RmObject,
    ) {
        for (definition, value) in object.attributes() {
            if constraints
                .iter()
                .any(|constraint| constraint.name == definition.name)
            {
                continue;
            }
            self.free_value(definition.name, value);
        }
    }

    fn free_value(&mut self, attribute: &'a str, value: &'a RmValue) {
        match value {
            RmValue::Object(child) => {
                self.steps.push(Step::Single {
                    attribute,
                    value: Some(child),
                });
                self.free_object(child);
                self.steps.pop();
            }
            RmValue::List(members) => {
                for (index, member) in members.iter().enumerate() {
                    if let RmValue::Object(child) = member {
                        self.steps.push(Step::Member {
                            attribute,
                            members,
                            index,
                        });
                        self.free_object(child);
                        self.steps.pop();
                    }
                }
            }
            _ => {}
        }
    }

    fn free_object(&mut self, object: &'a RmObject) {
        self.rm_invariants(object);
        self.unconstrained_attributes(&[], object);
    }

    fn single(&mut self, constraint: &'a AttributeConstraint, object: &'a RmObject) {
        self.steps.push(Step::Single {
            attribute: &constraint.name,
            value: Some(object),
        });
        let children = &constraint.children;
        if children.is_empty() {
            self.free_object(object);
        } else if let [child] = children.as_slice() {
            self.object(child, object);
        } else {
            let candidates: Vec<usize> = self.candidates(children, object).collect();
            if candidates.is_empty() {
                let message = match node_id(object) {
                    Some(id) => format!("node \"{id}\" is not allowed by the template"),
                    None => format!("type {} is not allowed by the template", object.type_name()),
                };
                self.report("", message);
            } else if !candidates
                .iter()
                .any(|index| object.is_a(&children[*index].rm_type))
            {
                self.report(
                    "",
                    format!(
                        "type {} conforms to none of the allowed types: {}",
                        object.type_name(),
                        join(
                            candidates
                                .iter()
                                .map(|index| children[*index].rm_type.as_str())
                        )
                    ),
                );
            } else {
                self.best_of(children, candidates.into_iter(), object);
            }
        }
        self.steps.pop();
    }

    fn container(&mut self, constraint: &'a AttributeConstraint, members: &'a [RmValue]) {
        let attribute = constraint.name.as_str();
        if let Some(cardinality) = &constraint.cardinality {
            let count = u32::try_from(members.len()).unwrap_or(u32::MAX);
            if !cardinality.interval.contains(count) {
                self.steps.push(Step::Single {
                    attribute,
                    value: None,
                });
                self.report(
                    "",
                    format!(
                        "expected {} members, found {count}",
                        multiplicity_text(&cardinality.interval)
                    ),
                );
                self.steps.pop();
            }
            if cardinality.is_unique {
                self.unique_members(attribute, members);
            }
        }
        let children = &constraint.children;
        if children.is_empty() {
            for (index, member) in members.iter().enumerate() {
                if let RmValue::Object(object) = member {
                    self.steps.push(Step::Member {
                        attribute,
                        members,
                        index,
                    });
                    self.free_object(object);
                    self.steps.pop();
                }
            }
            return;
        }
        // Occurrence counts per child; containers rarely have more than a few dozen children.
        let mut small = [0_u32; 32];
        let mut large = Vec::new();
        let counts: &mut [u32] = if children.len() <= small.len() {
            &mut small[..children.len()]
        } else {
            large.resize(children.len(), 0);
            &mut large
        };
        for (index, member) in members.iter().enumerate() {
            let RmValue::Object(object) = member else {
                continue;
            };
            self.steps.push(Step::Member {
                attribute,
                members,
                index,
            });
            let (first, second) = {
                let mut candidates = self.candidates(children, object);
                (candidates.next(), candidates.next())
            };
            match (first, second) {
                (None, _) => {
                    let message = match node_id(object) {
                        Some(id) => format!("node \"{id}\" is not allowed by the template"),
                        None => {
                            format!("type {} is not allowed by the template", object.type_name())
                        }
                    };
                    self.report("", message);
                }
                (Some(child), None) => {
                    self.object(&children[child], object);
                    counts[child] += 1;
                }
                _ => {
                    // Several constraints share the node id (a template's clones of one node,
                    // with different names or counts): those with room left are tried first,
                    // so that they fill in order.
                    let has_room = |child: &usize| {
                        children[*child]
                            .occurrences
                            .upper
                            .is_none_or(|upper| counts[*child] < upper)
                    };
                    let candidates: Vec<usize> = self.candidates(children, object).collect();
                    let order: Vec<usize> = candidates
                        .iter()
                        .copied()
                        .filter(has_room)
                        .chain(candidates.iter().copied().filter(|child| !has_room(child)))
                        .collect();
                    if let Some(child) = self.best_of(children, order.into_iter(), object) {
                        counts[child] += 1;
                    }
                }
            }
            self.steps.pop();
        }
        for (child, count) in children.iter().zip(counts.iter()) {
            if !child.occurrences.contains(*count) {
                self.steps.push(Step::Constraint {
                    attribute,
                    node_id: self.expected_node_id(child),
                });
                self.report(
                    "",
                    format!(
                        "expected {} occurrences, found {count}",
                        multiplicity_text(&child.occurrences)
                    ),
                );
                self.steps.pop();
            }
        }
    }

    /// A container whose cardinality is unique: each member equal to an earlier one.
    fn unique_members(&mut self, attribute: &'a str, members: &'a [RmValue]) {
        for (index, member) in members.iter().enumerate() {
            if let Some(earlier) = members[..index].iter().position(|other| other == member) {
                self.steps.push(Step::Member {
                    attribute,
                    members,
                    index,
                });
                self.report(
                    "",
                    format!(
                        "equal to member {} of {attribute}, whose members the template requires to be unique",
                        earlier + 1
                    ),
                );
                self.steps.pop();
            }
        }
    }

    fn primitive_attribute(&mut self, constraint: &'a AttributeConstraint, value: &RmValue) {
        let Some(primitive) = constraint
            .children
            .iter()
            .find_map(|child| match &child.kind {
                ObjectKind::Primitive(primitive) => Some(primitive),
                _ => None,
            })
        else {
            return;
        };
        self.primitive(primitive, value);
    }

    fn primitive(&mut self, constraint: &PrimitiveConstraint, value: &RmValue) {
        match (constraint, value) {
            (PrimitiveConstraint::String { pattern, list }, RmValue::String(text)) => {
                if !list.is_empty() && !list.iter().any(|allowed| allowed == text) {
                    self.report(
                        "",
                        format!(
                            "\"{text}\" is not one of the allowed values: {}",
                            join(list)
                        ),
                    );
                }
                // A value equal to the pattern is accepted: some RM attributes hold a regular
                // expression themselves (ACTIVITY.action_archetype_id), and the archetype's
                // pattern is then the very value to record.
                if let Some(pattern) = pattern.as_ref().filter(|pattern| *pattern != text) {
                    match full_match(pattern, text) {
                        Some(true) => {}
                        Some(false) => self.report(
                            "",
                            format!("\"{text}\" does not match the pattern {pattern}"),
                        ),
                        None => self.report(
                            "",
                            format!("the template's pattern \"{pattern}\" is not a valid regular expression"),
                        ),
                    }
                }
            }
            (PrimitiveConstraint::Integer { list, range }, RmValue::Integer(number)) => {
                if !list.is_empty() && !list.contains(number) {
                    self.report(
                        "",
                        format!("{number} is not one of the allowed values: {}", join(list)),
                    );
                }
                if let Some(range) = range
                    && !range.contains(*number)
                {
                    self.report("", format!("{number} is outside {}", interval_text(range)));
                }
            }
            (PrimitiveConstraint::Real { list, range }, RmValue::Real(_) | RmValue::Integer(_)) => {
                let number = real(Some(value)).unwrap_or_default();
                if !list.is_empty() && !list.contains(&number) {
                    self.report(
                        "",
                        format!("{number} is not one of the allowed values: {}", join(list)),
                    );
                }
                if let Some(range) = range
                    && !range.contains(number)
                {
                    self.report("", format!("{number} is outside {}", interval_text(range)));
                }
            }
            (
                PrimitiveConstraint::Boolean {
                    true_valid,
                    false_valid,
                },
                RmValue::Boolean(flag),
            ) => {
                if (*flag && !true_valid) || (!*flag && !false_valid) {
                    self.report("", format!("{flag} is not allowed"));
                }
            }
            (PrimitiveConstraint::Date(temporal), RmValue::String(text)) => {
                // Syntax is an RM invariant of the DV_DATE, reported there.
                if let Some(date) = iso8601::parse_date(text) {
                    let matches = |pattern: &str| iso8601::date_matches(pattern, &date);
                    self.temporal(temporal, text, matches, iso8601::date_key(&date), |bound| {
                        iso8601::parse_date(bound).map(|date| iso8601::date_key(&date))
                    });
                }
            }
            (PrimitiveConstraint::Time(temporal), RmValue::String(text)) => {
                if let Some(time) = iso8601::parse_time(text) {
                    let matches = |pattern: &str| iso8601::time_matches(pattern, &time);
                    self.temporal(temporal, text, matches, iso8601::time_key(&time), |bound| {
                        iso8601::parse_time(bound).map(|time| iso8601::time_key(&time))
                    });
                }
            }
            (PrimitiveConstraint::DateTime(temporal), RmValue::String(text)) => {
                if let Some(date_time) = iso8601::parse_date_time(text) {
                    let matches = |pattern: &str| iso8601::date_time_matches(pattern, &date_time);
                    let key = iso8601::date_time_key(&date_time);
                    self.temporal(temporal, text, matches, key, |bound| {
                        iso8601::parse_date_time(bound).map(|value| iso8601::date_time_key(&value))
                    });
                }
            }
            (PrimitiveConstraint::Duration(temporal), RmValue::String(text)) => {
                if let Some(duration) = iso8601::parse_duration(text) {
                    let matches = |pattern: &str| iso8601::duration_matches(pattern, &duration);
                    let key = iso8601::duration_key(&duration);
                    self.temporal(temporal, text, matches, key, |bound| {
                        iso8601::parse_duration(bound).map(|value| iso8601::duration_key(&value))
                    });
                }
            }
            (constraint, value) => {
                let expected = match constraint {
                    PrimitiveConstraint::String { .. }
                    | PrimitiveConstraint::Date(_)
                    | PrimitiveConstraint::Time(_)
                    | PrimitiveConstraint::DateTime(_)
                    | PrimitiveConstraint::Duration(_) => "a string",
                    PrimitiveConstraint::Integer { .. } => "an integer",
                    PrimitiveConstraint::Real { .. } => "a number",
                    PrimitiveConstraint::Boolean { .. } => "a boolean",
                };
                self.report(
                    "",
                    format!("expected {expected}, found {}", value.describe()),
                );
            }
        }
    }

    fn temporal(
        &mut self,
        constraint: &TemporalConstraint,
        text: &str,
        matches: impl Fn(&str) -> bool,
        key: f64,
        bound_key: impl Fn(&str) -> Option<f64>,
    ) {
        if let Some(pattern) = &constraint.pattern
            && !matches(pattern)
        {
            self.report(
                "",
                format!("\"{text}\" does not match the pattern {pattern}"),
            );
        }
        if let Some(range) = &constraint.range {
            let bounds = Interval {
                lower: range.lower.as_deref().and_then(&bound_key),
                upper: range.upper.as_deref().and_then(&bound_key),
                lower_included: range.lower_included,
                upper_included: range.upper_included,
            };
            if !bounds.contains(key) {
                self.report(
                    "",
                    format!("\"{text}\" is outside {}", interval_text(range)),
                );
            }
        }
    }

    fn code_phrase(&mut self, constraint: &CodePhraseConstraint, object: &RmObject) {
        let terminology = object
            .get_object("terminology_id")
            .and_then(|id| id.get_str("value"))
            .unwrap_or_default();
        if !constraint.terminology_id.is_empty() && terminology != constraint.terminology_id {
            self.report(
                "/terminology_id/value",
                format!(
                    "terminology \"{terminology}\" is not the allowed \"{}\"",
                    constraint.terminology_id
                ),
            );
            return;
        }
        if constraint.terminology_id.is_empty()
            && let Some(named) = constraint
                .reference_set_uri
                .as_deref()
                .and_then(terminology_of_value_set)
            && !same_terminology(terminology, &named)
        {
            self.report(
                "/terminology_id/value",
                format!(
                    "terminology \"{terminology}\" is not the value set's \"{named}\" ({})",
                    constraint.reference_set_uri.as_deref().unwrap_or_default()
                ),
            );
            return;
        }
        let code = object.get_str("code_string").unwrap_or_default();
        if !constraint.codes.is_empty() && !constraint.codes.iter().any(|allowed| allowed == code) {
            self.report(
                "/code_string",
                format!(
                    "code \"{code}\" is not one of the allowed codes: {}",
                    join(&constraint.codes)
                ),
            );
        }
    }

    /// A CODE_PHRASE under a CONSTRAINT_REF: its terminology must be one the ac-code is bound
    /// to, when the archetype binds it.
    fn constraint_ref(&mut self, reference: &str, object: &RmObject) {
        let Some(ObjectKind::ArchetypeRoot { terms, .. }) = self.root().map(|root| &root.kind)
        else {
            return;
        };
        let Some(bindings) = terms
            .constraint_bindings
            .get(reference)
            .filter(|bindings| !bindings.is_empty())
        else {
            return;
        };
        let terminology = object
            .get_object("terminology_id")
            .and_then(|id| id.get_str("value"))
            .unwrap_or_default();
        let bound = bindings.iter().any(|(name, uri)| {
            same_terminology(terminology, name)
                || terminology_of_value_set(uri)
                    .is_some_and(|named| same_terminology(terminology, &named))
        });
        if !bound {
            self.report(
                "/terminology_id/value",
                format!(
                    "terminology \"{terminology}\" is not one that {reference} is bound to: {}",
                    join(bindings.keys())
                ),
            );
        }
    }

    fn quantity(&mut self, property: Option<&CodeRef>, items: &[QuantityItem], object: &RmObject) {
        let units = object.get_str("units").unwrap_or_default();
        let item = items.iter().find(|item| item.units == units);
        if !items.is_empty() && item.is_none() {
            self.report(
                "/units",
                format!(
                    "units \"{units}\" are not allowed, expected one of: {}",
                    join(items.iter().map(|item| item.units.as_str()))
                ),
            );
            return;
        }
        if let Some(property) = property
            .filter(|property| property.terminology_id == "openehr")
            .and_then(|property| units::property_by_code(&property.code))
        {
            let measures = match units::dimension(units) {
                Some(dimension) => property.admits(dimension),
                // The template's own list is the author's word for units the analyser
                // does not know (see the module docs).
                None => item.is_some(),
            };
            if !measures {
                self.report(
                    "/units",
                    format!(
                        "units \"{units}\" are not a ucum unit of the property {} (openehr::{})",
                        property.name, property.code
                    ),
                );
                return;
            }
        }
        let Some(item) = item else {
            return;
        };
        let magnitude = real(object.get("magnitude"));
        if let (Some(range), Some(magnitude)) = (&item.magnitude, magnitude)
            && !range.contains(magnitude)
        {
            self.report(
                "/magnitude",
                format!("magnitude {magnitude} is outside {}", interval_text(range)),
            );
        }
        if let Some(precision) = &item.precision {
            if let Some(actual) = integer(object.get("precision"))
                && !i32::try_from(actual).is_ok_and(|actual| precision.contains(actual))
            {
                self.report(
                    "/precision",
                    format!("precision {actual} is outside {}", interval_text(precision)),
                );
            }
            if let (Some(places), Some(magnitude)) =
                (precision.upper.filter(|upper| *upper >= 0), magnitude)
                && decimal_places(magnitude) > places
            {
                self.report(
                    "/magnitude",
                    format!("magnitude {magnitude} has more than {places} decimal places"),
                );
            }
        }
    }

    fn ordinal(&mut self, items: &[OrdinalItem], object: &RmObject) {
        let allowed: Vec<(i64, &CodeRef)> = items
            .iter()
            .map(|item| (item.value, &item.symbol))
            .collect();
        self.coded_value("ordinal", &allowed, integer(object.get("value")), object);
    }

    fn scale(&mut self, items: &[ScaleItem], object: &RmObject) {
        let allowed: Vec<(f64, &CodeRef)> = items
            .iter()
            .map(|item| (item.value, &item.symbol))
            .collect();
        self.coded_value("scale value", &allowed, real(object.get("value")), object);
    }

    /// DV_ORDINAL and DV_SCALE: the (value, symbol) pair must be one of the allowed pairs.
    fn coded_value<T: PartialEq + Copy + std::fmt::Display>(
        &mut self,
        label: &str,
        allowed: &[(T, &CodeRef)],
        value: Option<T>,
        object: &RmObject,
    ) {
        if allowed.is_empty() {
            return;
        }
        let symbol = object.get_object("symbol").and_then(code_of);
        let matches = allowed.iter().any(|(allowed_value, allowed_symbol)| {
            Some(*allowed_value) == value
                && symbol.is_some_and(|(terminology, code)| {
                    terminology == allowed_symbol.terminology_id && code == allowed_symbol.code
                })
        });
        if !matches {
            let (terminology, code) = symbol.unwrap_or_default();
            self.report(
                "",
                format!(
                    "{label} {} with symbol {terminology}::{code} is not one of the allowed: {}",
                    value.map_or_else(|| "?".to_owned(), |value| value.to_string()),
                    join(allowed.iter().map(|(value, symbol)| format!(
                        "{value} {}::{}",
                        symbol.terminology_id, symbol.code
                    )))
                ),
            );
        }
    }

    /// The RM invariants that matter for safety, checked on every object whatever the template
    /// says about it.
    fn rm_invariants(&mut self, object: &RmObject) {
        self.archetype_details(object);
        let is_event = matches!(object.type_name(), "POINT_EVENT" | "INTERVAL_EVENT");
        let is_coded = object.type_name() == "DV_CODED_TEXT";
        for attribute in object.class_def().attributes {
            // An event's time and width, and a coded text's code, have their own messages.
            let own_message = (is_event && matches!(attribute.name, "time" | "width"))
                || (is_coded && attribute.name == "defining_code");
            if attribute.mandatory && !own_message && object.get(attribute.name).is_none() {
                self.steps.push(Step::Single {
                    attribute: attribute.name,
                    value: None,
                });
                self.report(
                    "",
                    format!(
                        "missing mandatory attribute \"{}\" of {}",
                        attribute.name,
                        object.type_name()
                    ),
                );
                self.steps.pop();
            }
        }
        match object.type_name() {
            "COMPOSITION" => {
                let is_event = object
                    .get_object("category")
                    .and_then(code_of)
                    .is_some_and(|(terminology, code)| terminology == "openehr" && code == "433");
                if is_event && object.get("context").is_none() {
                    self.report(
                        "/context",
                        "a composition of category event (433) must have a context".to_owned(),
                    );
                }
            }
            "POINT_EVENT" | "INTERVAL_EVENT" => {
                if object.get("time").is_none() {
                    self.report("/time", "an event must have a time".to_owned());
                }
                if object.type_name() == "INTERVAL_EVENT" && object.get("width").is_none() {
                    self.report("/width", "an interval event must have a width".to_owned());
                }
            }
            "ELEMENT" => {
                // RM `Inv_null_flavour_indicated`: is_null() xor null_flavour = Void.
                match (
                    object.get("value").is_some(),
                    object.get("null_flavour").is_some(),
                ) {
                    (true, true) => self.report(
                        "/null_flavour",
                        "an element with a value must not have a null flavour".to_owned(),
                    ),
                    (false, false) => self.report(
                        "",
                        "an element must have a value or a null flavour".to_owned(),
                    ),
                    _ => {}
                }
                if let Some(null_flavour) = object.get_object("null_flavour") {
                    self.null_flavour(null_flavour);
                }
            }
            "DV_CODED_TEXT" => self.coded_text(object),
            "DV_DATE" => self.iso_value(object, "date", |text| iso8601::parse_date(text).is_some()),
            "DV_TIME" => self.iso_value(object, "time", |text| iso8601::parse_time(text).is_some()),
            "DV_DATE_TIME" => self.iso_value(object, "date-time", |text| {
                iso8601::parse_date_time(text).is_some()
            }),
            "DV_DURATION" => self.iso_value(object, "duration", |text| {
                iso8601::parse_duration(text).is_some()
            }),
            "DV_URI" | "DV_EHR_URI" => {
                let value = object.get_str("value").unwrap_or_default();
                if !is_uri(value) {
                    self.report("/value", format!("\"{value}\" is not a valid uri"));
                } else if object.type_name() == "DV_EHR_URI" && !value.starts_with("ehr:") {
                    self.report("/value", format!("\"{value}\" is not an ehr: uri"));
                }
            }
            "DV_IDENTIFIER" => {
                for attribute in ["id", "issuer", "assigner", "type"] {
                    let empty = match object.get(attribute) {
                        Some(RmValue::String(text)) => text.trim().is_empty(),
                        _ => attribute == "id",
                    };
                    if empty {
                        self.report(&format!("/{attribute}"), "must not be empty".to_owned());
                    }
                }
            }
            "DV_MULTIMEDIA" if object.get("data").is_none() && object.get("uri").is_none() => {
                self.report("", "a multimedia value must have data or a uri".to_owned());
            }
            "DV_PARSABLE"
                if object
                    .get_str("formalism")
                    .is_none_or(|text| text.trim().is_empty()) =>
            {
                self.report("/formalism", "must not be empty".to_owned());
            }
            "DV_PROPORTION" => self.proportion(object),
            "DV_INTERVAL" => self.interval(object),
            _ => {}
        }
    }

    fn null_flavour(&mut self, null_flavour: &RmObject) {
        if null_flavour.type_name() != "DV_CODED_TEXT" {
            self.report(
                "/null_flavour",
                format!(
                    "a null flavour must be a DV_CODED_TEXT, not a {}",
                    null_flavour.type_name()
                ),
            );
            return;
        }
        // A missing defining code is reported by the coded text's own invariant.
        let Some((terminology, code)) = code_of(null_flavour) else {
            return;
        };
        if terminology != "openehr" {
            self.report(
                "/null_flavour/defining_code/terminology_id/value",
                format!(
                    "a null flavour must be coded in the openehr terminology, not \"{terminology}\""
                ),
            );
        } else if !NULL_FLAVOURS.iter().any(|(allowed, _)| *allowed == code) {
            self.report(
                "/null_flavour/defining_code/code_string",
                format!(
                    "code \"{code}\" is not a null flavour: {}",
                    join(
                        NULL_FLAVOURS
                            .iter()
                            .map(|(code, rubric)| format!("{code} {rubric}"))
                    )
                ),
            );
        }
    }

    /// `archetype_details.template_id` of a LOCATABLE: the template validated against, if it
    /// names one.
    fn archetype_details(&mut self, object: &RmObject) {
        if let Some(template_id) = template_id_of(object)
            && !self.template_id.is_empty()
            && template_id != self.template_id
        {
            self.report(
                "/archetype_details/template_id/value",
                format!(
                    "template id \"{template_id}\" does not match the template's \"{}\"",
                    self.template_id
                ),
            );
        }
    }

    fn iso_value(&mut self, object: &RmObject, kind: &str, valid: impl Fn(&str) -> bool) {
        let value = object.get_str("value").unwrap_or_default();
        if !valid(value) {
            self.report(
                "/value",
                format!("\"{value}\" is not a valid iso 8601 {kind}"),
            );
        }
    }

    fn coded_text(&mut self, object: &RmObject) {
        let Some((terminology, code)) = code_of(object) else {
            self.report(
                "/defining_code",
                "a coded text must have a defining code".to_owned(),
            );
            return;
        };
        if terminology != "local" {
            return;
        }
        let Some(ObjectKind::ArchetypeRoot { terms, .. }) = self.root().map(|root| &root.kind)
        else {
            return;
        };
        let value = object.get_str("value").unwrap_or_default();
        let mut texts = terms
            .terms
            .values()
            .filter_map(|terms| terms.get(code))
            .peekable();
        if texts.peek().is_none() {
            return;
        }
        if texts.any(|term| term.text == value) {
            return;
        }
        let expected = terms
            .term(self.language, code)
            .map(|term| term.text.clone())
            .unwrap_or_default();
        self.report(
            "/value",
            format!("\"{value}\" is not the text of local code {code} (\"{expected}\")"),
        );
    }

    fn proportion(&mut self, object: &RmObject) {
        let kind = integer(object.get("type"));
        let numerator = real(object.get("numerator"));
        let denominator = real(object.get("denominator"));
        let (Some(kind), Some(numerator), Some(denominator)) = (kind, numerator, denominator)
        else {
            return;
        };
        // RM DV_PROPORTION invariants, by PROPORTION_KIND.
        let problem = match kind {
            0 => (denominator == 0.0).then_some("a ratio must have a non-zero denominator"),
            1 => (denominator != 1.0).then_some("a unitary proportion must have denominator 1"),
            2 => (denominator != 100.0).then_some("a percent must have denominator 100"),
            3 | 4 => (numerator.fract() != 0.0 || denominator.fract() != 0.0 || denominator == 0.0)
                .then_some("a fraction must have an integral numerator and a non-zero integral denominator"),
            _ => Some("proportion type must be 0 to 4"),
        };
        if let Some(problem) = problem {
            self.report("", problem.to_owned());
        }
    }

    fn interval(&mut self, object: &RmObject) {
        for (bound, unbounded, included) in [
            ("lower", "lower_unbounded", "lower_included"),
            ("upper", "upper_unbounded", "upper_included"),
        ] {
            let is_unbounded = matches!(object.get(unbounded), Some(RmValue::Boolean(true)));
            if is_unbounded && matches!(object.get(included), Some(RmValue::Boolean(true))) {
                self.report(
                    &format!("/{included}"),
                    format!("an interval with an unbounded {bound} limit cannot include it"),
                );
            }
            if is_unbounded && object.get(bound).is_some() {
                self.report(
                    &format!("/{bound}"),
                    format!("an interval with an unbounded {bound} limit must not have one"),
                );
            }
        }
        let (Some(lower), Some(upper)) = (object.get_object("lower"), object.get_object("upper"))
        else {
            return;
        };
        if let (Some((low, low_units)), Some((high, high_units))) =
            (ordered_value(lower), ordered_value(upper))
            && low_units == high_units
            && low > high
        {
            self.report("", "the lower limit is above the upper limit".to_owned());
        }
    }
}

fn write_member_predicate(path: &mut String, members: &[RmValue], index: usize) {
    let object = match &members[index] {
        RmValue::Object(object) => object,
        _ => {
            let _ = write!(path, "[{}]", index + 1);
            return;
        }
    };
    let Some(id) = node_id(object) else {
        let _ = write!(path, "[{}]", index + 1);
        return;
    };
    let siblings = || {
        members.iter().filter_map(move |member| match member {
            RmValue::Object(sibling) if node_id(sibling) == Some(id) => Some(sibling),
            _ => None,
        })
    };
    if siblings().count() <= 1 {
        let _ = write!(path, "[{id}]");
        return;
    }
    let name = name_value(object).unwrap_or_default();
    let _ = write!(
        path,
        "[{id} and name/value='{}']",
        name.replace('\'', "\\'")
    );
    let same_name = siblings()
        .filter(|sibling| name_value(sibling).unwrap_or_default() == name)
        .count();
    if same_name > 1 {
        let _ = write!(path, "[{}]", index + 1);
    }
}

#[cfg(test)]
mod tests;
