//! Building compositions from the constraint tree: one walk for both the example (no random
//! source: first choices, optional nodes present, optional slots empty) and random
//! compositions.

use openehr_rm::model::{self, AttributeDef, ValueKind};
use openehr_rm::{RmObject, RmValue};

use super::Rng;
use crate::model::{
    AttributeConstraint, CodePhraseConstraint, CodeRef, Interval, ObjectConstraint, ObjectKind,
    OrdinalItem, PrimitiveConstraint, QuantityItem, ScaleItem, Template, TemporalConstraint,
};
use crate::validate::{full_match, iso8601, slot_allows};

/// The instant every example time is (and random times are near).
const EXAMPLE_TIME: &str = "2024-01-15T09:30:00Z";

/// Beyond this depth optional content is left out, so that recursive internal references
/// terminate.
const MAX_DEPTH: usize = 40;

pub(crate) struct Generator<'t> {
    template: &'t Template,
    rng: Option<Rng>,
    /// The enclosing archetype roots, innermost last: their terminologies give names and
    /// code texts, and internal references resolve in them.
    roots: Vec<&'t ObjectConstraint>,
    depth: usize,
    /// How many of the enclosing nodes the example could leave out (optional members and
    /// attributes, alternatives of a choice), which is where a node that could only be
    /// built around an invented slot filler goes instead.
    droppable_depth: usize,
    /// Set inside such a node when it would need an invented slot filler; the innermost
    /// droppable scope catches it and leaves the node out.
    invented: bool,
}

fn object_value(object: RmObject) -> RmValue {
    RmValue::Object(Box::new(object))
}

fn text(value: &str) -> RmValue {
    RmValue::String(value.to_owned())
}

/// Sets an attribute the caller knows the class has with a conforming value; a mistake
/// there is a bug in this module, which the tests catch as a missing attribute.
fn put(object: &mut RmObject, attribute: &str, value: RmValue) {
    let _ = object.set(attribute, value);
}

fn new_object(type_name: &str) -> RmObject {
    RmObject::new(concrete_type(type_name)).unwrap_or_else(|_| {
        RmObject::new("DV_TEXT").unwrap_or_else(|_| unreachable!("DV_TEXT is concrete"))
    })
}

/// The concrete RM class to instantiate for a (possibly abstract or generic) type name.
pub(crate) fn concrete_type(type_name: &str) -> &'static str {
    let bare = type_name.split('<').next().unwrap_or(type_name).trim();
    let preferred = match bare {
        "EVENT" => "POINT_EVENT",
        "ITEM_STRUCTURE" => "ITEM_TREE",
        "ITEM" => "ELEMENT",
        "DATA_VALUE" => "DV_TEXT",
        "PARTY_PROXY" => "PARTY_SELF",
        "DV_ORDERED" | "DV_QUANTIFIED" | "DV_AMOUNT" | "DV_ABSOLUTE_QUANTITY" => "DV_COUNT",
        "DV_TEMPORAL" => "DV_DATE_TIME",
        "DV_ENCAPSULATED" => "DV_PARSABLE",
        "OBJECT_ID" | "UID_BASED_ID" => "HIER_OBJECT_ID",
        "CONTENT_ITEM" | "ENTRY" | "CARE_ENTRY" => "EVALUATION",
        "UID" => "ISO_OID",
        _ => bare,
    };
    if let Some(class) = model::class_by_name(preferred).filter(|class| !class.is_abstract) {
        return class.name;
    }
    // Any other abstract class: its first concrete descendant in the table.
    let ancestor = model::class_id(bare);
    model::CLASSES
        .iter()
        .enumerate()
        .find(|(_, class)| {
            !class.is_abstract
                && ancestor.is_some_and(|ancestor| {
                    u16::try_from(class_index(class)).is_ok_and(|id| model::conforms(id, ancestor))
                })
        })
        .map_or("DV_TEXT", |(_, class)| class.name)
}

fn class_index(class: &model::ClassDef) -> usize {
    model::CLASSES
        .iter()
        .position(|candidate| std::ptr::eq(candidate, class))
        .unwrap_or_default()
}

pub(crate) fn code_phrase(terminology: &str, code: &str) -> RmObject {
    let mut id = new_object("TERMINOLOGY_ID");
    put(&mut id, "value", text(terminology));
    let mut phrase = new_object("CODE_PHRASE");
    put(&mut phrase, "terminology_id", object_value(id));
    put(&mut phrase, "code_string", text(code));
    phrase
}

pub(crate) fn coded_text(value: &str, terminology: &str, code: &str) -> RmObject {
    let mut coded = new_object("DV_CODED_TEXT");
    put(&mut coded, "value", text(value));
    put(
        &mut coded,
        "defining_code",
        object_value(code_phrase(terminology, code)),
    );
    coded
}

pub(crate) fn dv(type_name: &str, value: &str) -> RmObject {
    let mut object = new_object(type_name);
    put(&mut object, "value", text(value));
    object
}

/// Rubrics of the openEHR terminology codes that compositions commonly carry.
fn openehr_rubric(code: &str) -> &'static str {
    match code {
        "433" => "event",
        "431" => "persistent",
        "451" => "episodic",
        "238" => "other care",
        "146" => "mean",
        "147" => "change",
        "144" => "maximum",
        "145" => "minimum",
        "148" => "total",
        "149" => "variation",
        "640" => "actual",
        "524" => "initial",
        "526" => "planned",
        "527" => "postponed",
        "528" => "cancelled",
        "529" => "scheduled",
        "530" => "suspended",
        "531" => "aborted",
        "532" => "completed",
        "533" => "expired",
        "245" => "active",
        "271" => "no information",
        "253" => "unknown",
        "272" => "masked",
        "273" => "not applicable",
        _ => "openehr term",
    }
}

/// A plausible magnitude for a unit, used when the template's range allows it.
fn typical_magnitude(units: &str) -> Option<f64> {
    Some(match units {
        "mm[Hg]" => 120.0,
        "Cel" => 37.0,
        "[degF]" => 98.6,
        "/min" => 72.0,
        "%" => 98.0,
        "kg" => 70.0,
        "g" => 250.0,
        "cm" => 170.0,
        "m" => 1.7,
        "mg" => 500.0,
        "ml" | "mL" => 250.0,
        "kg/m2" => 24.2,
        "mmol/l" | "mmol/L" => 5.4,
        _ => return None,
    })
}

/// Rounds to `places` decimal places (none when `places` is negative).
fn round_to(value: f64, places: Option<i32>) -> f64 {
    match places {
        Some(places) if places >= 0 => {
            let scale = 10_f64.powi(places.min(12));
            (value * scale).round() / scale
        }
        _ => value,
    }
}

/// A value inside a real interval: `preferred` when it fits, else a point a tenth into it.
fn real_in(range: Option<&Interval<f64>>, preferred: f64) -> f64 {
    let Some(range) = range else {
        return preferred;
    };
    if range.contains(preferred) {
        return preferred;
    }
    match (range.lower, range.upper) {
        (Some(lower), Some(upper)) => lower + (upper - lower) / 10.0,
        (Some(lower), None) => lower + 1.0,
        (None, Some(upper)) => upper - 1.0,
        (None, None) => preferred,
    }
}

/// Samples a string a simple regular expression matches: literals, escapes, `.`, classes,
/// groups, alternation (first branch) and quantifiers (fewest repetitions). The caller
/// checks the result, since lookarounds and back-references are out of reach.
pub(crate) fn sample_pattern(pattern: &str) -> String {
    fn sequence(chars: &[char], position: &mut usize, out: &mut String) {
        while *position < chars.len() {
            let start_len = out.len();
            let character = chars[*position];
            match character {
                ')' => return,
                '|' => {
                    // Keep the first branch: skip the rest of this group.
                    let mut depth = 0;
                    while *position < chars.len() {
                        match chars[*position] {
                            '\\' => *position += 1,
                            '(' => depth += 1,
                            ')' if depth == 0 => return,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        *position += 1;
                    }
                    return;
                }
                '^' | '$' => {
                    *position += 1;
                    continue;
                }
                '(' => {
                    *position += 1;
                    if chars.get(*position) == Some(&'?') {
                        *position += 2;
                    }
                    sequence(chars, position, out);
                    *position += 1;
                }
                '[' => {
                    *position += 1;
                    let negated = chars.get(*position) == Some(&'^');
                    if negated {
                        *position += 1;
                    }
                    let first = chars.get(*position).copied().unwrap_or('a');
                    let first = if first == '\\' {
                        *position += 1;
                        escaped(chars.get(*position).copied().unwrap_or('a'))
                    } else {
                        first
                    };
                    while *position < chars.len() && chars[*position] != ']' {
                        if chars[*position] == '\\' {
                            *position += 1;
                        }
                        *position += 1;
                    }
                    *position += 1;
                    out.push(if negated { '~' } else { first });
                }
                '\\' => {
                    *position += 1;
                    out.push(escaped(chars.get(*position).copied().unwrap_or('\\')));
                    *position += 1;
                }
                '.' => {
                    out.push('x');
                    *position += 1;
                }
                other => {
                    out.push(other);
                    *position += 1;
                }
            }
            // A quantifier applies to what was just written.
            match chars.get(*position) {
                Some('*' | '?') => {
                    out.truncate(start_len);
                    *position += 1;
                }
                Some('+') => *position += 1,
                Some('{') => {
                    let close = chars[*position..]
                        .iter()
                        .position(|character| *character == '}')
                        .map_or(chars.len(), |offset| *position + offset);
                    let body: String = chars[*position + 1..close.min(chars.len())]
                        .iter()
                        .collect();
                    let minimum: usize = body
                        .split(',')
                        .next()
                        .and_then(|number| number.trim().parse().ok())
                        .unwrap_or(1);
                    let piece = out[start_len..].to_owned();
                    out.truncate(start_len);
                    for _ in 0..minimum {
                        out.push_str(&piece);
                    }
                    *position = close + 1;
                }
                _ => {}
            }
            if chars.get(*position).is_some_and(|next| *next == '?') {
                *position += 1;
            }
        }
    }
    fn escaped(character: char) -> char {
        match character {
            'd' => '1',
            'w' => 'a',
            's' => ' ',
            other => other,
        }
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut position = 0;
    sequence(&chars, &mut position, &mut out);
    out
}

/// The node at an archetype path within an archetype root (`/data[at0001]/events[at0002]`).
pub(crate) fn resolve<'t>(
    root: &'t ObjectConstraint,
    target_path: &str,
) -> Option<&'t ObjectConstraint> {
    root.resolve_path(target_path)
}

impl<'t> Generator<'t> {
    pub(crate) fn new(template: &'t Template, rng: Option<Rng>) -> Self {
        Generator {
            template,
            rng,
            roots: Vec::new(),
            depth: 0,
            droppable_depth: 0,
            invented: false,
        }
    }

    pub(crate) fn composition(mut self) -> RmObject {
        let root = &self.template.root;
        self.build(root)
            .unwrap_or_else(|| new_object("COMPOSITION"))
    }

    /// Whether an optional attribute is present: always in the example, three times in
    /// four at random (templates nest optional attributes deeply, and a coin toss at every
    /// level would leave the leaves, where most constraints are, nearly always out).
    fn include_optional(&mut self) -> bool {
        if self.depth > MAX_DEPTH {
            return false;
        }
        match &mut self.rng {
            None => true,
            Some(rng) => rng.chance(3, 4),
        }
    }

    /// Which of `count` alternatives: the first in the example.
    fn choose(&mut self, count: usize) -> usize {
        match &mut self.rng {
            None => 0,
            Some(rng) => rng.index(count),
        }
    }

    fn is_random(&self) -> bool {
        self.rng.is_some()
    }

    /// Runs `build` as a part of the example that can be left out, reporting whether it
    /// needed an invented slot filler (then the caller leaves it out). Random compositions
    /// never need one: they fill slots freely.
    fn droppable<R>(&mut self, build: impl FnOnce(&mut Self) -> R) -> (R, bool) {
        let outer = std::mem::take(&mut self.invented);
        self.droppable_depth += 1;
        let result = build(self);
        self.droppable_depth -= 1;
        let invented = std::mem::replace(&mut self.invented, outer);
        (result, invented)
    }

    /// The first of `candidates` that builds and is `accepted`, by index, preferring one
    /// without an invented slot filler. When every candidate needs one, the enclosing
    /// droppable node is left out instead; only when there is none (the template and the
    /// RM require this node all the way up) is a candidate built with the filler.
    fn build_alternative(
        &mut self,
        candidates: &[(usize, &'t ObjectConstraint)],
        accept: impl Fn(&RmObject) -> bool,
    ) -> Option<(usize, RmObject)> {
        let mut needs_filler = false;
        for &(index, candidate) in candidates {
            match self.droppable(|this| this.build(candidate)) {
                (Some(built), false) if accept(&built) => return Some((index, built)),
                (_, invented) => needs_filler |= invented,
            }
        }
        if !needs_filler {
            return None;
        }
        if self.droppable_depth > 0 {
            self.invented = true;
            return None;
        }
        candidates.iter().find_map(|&(index, candidate)| {
            self.build(candidate)
                .filter(|built| accept(built))
                .map(|built| (index, built))
        })
    }

    /// The term text of a code in the innermost archetype's terminology.
    fn term_text(&self, code: &str) -> Option<String> {
        let root = self.roots.last()?;
        let ObjectKind::ArchetypeRoot { terms, .. } = &root.kind else {
            return None;
        };
        terms
            .term(&self.template.language, code)
            .map(|term| term.text.clone())
    }

    fn now(&mut self) -> String {
        match &mut self.rng {
            None => EXAMPLE_TIME.to_owned(),
            Some(rng) => {
                let day = rng.below(28) + 1;
                let hour = rng.below(24);
                let minute = rng.below(60);
                format!("2024-01-{day:02}T{hour:02}:{minute:02}:00Z")
            }
        }
    }

    /// Builds the object a constraint describes; `None` when it cannot be built (an unfilled
    /// slot with nothing it admits, an unresolvable reference).
    fn build(&mut self, constraint: &'t ObjectConstraint) -> Option<RmObject> {
        self.depth += 1;
        let object = self.build_kind(constraint);
        self.depth -= 1;
        object
    }

    fn build_kind(&mut self, constraint: &'t ObjectConstraint) -> Option<RmObject> {
        match &constraint.kind {
            ObjectKind::Complex { attributes } => Some(self.complex(constraint, attributes)),
            ObjectKind::ArchetypeRoot {
                archetype_id,
                attributes,
                ..
            } => {
                self.roots.push(constraint);
                let mut object = self.complex(constraint, attributes);
                self.roots.pop();
                self.archetype_details(&mut object, archetype_id);
                Some(object)
            }
            ObjectKind::Slot { includes, excludes } => {
                self.fill_slot(constraint, includes, excludes)
            }
            ObjectKind::InternalRef { target_path } => {
                let root = *self.roots.last()?;
                let target = resolve(root, target_path)?;
                if matches!(target.kind, ObjectKind::InternalRef { .. }) || self.depth > MAX_DEPTH {
                    return None;
                }
                self.build(target)
            }
            ObjectKind::ConstraintRef { reference } => Some(self.constraint_ref(reference)),
            ObjectKind::Primitive(_) => None,
            ObjectKind::CodePhrase(code) => Some(self.code_phrase(code)),
            ObjectKind::Quantity { property, items } => {
                Some(self.quantity(property.as_ref(), items))
            }
            ObjectKind::Ordinal { items } => Some(self.ordinal(items)),
            ObjectKind::Scale { items } => Some(self.scale(items)),
        }
    }

    fn archetype_details(&self, object: &mut RmObject, archetype_id: &str) {
        if object.class_def().attribute("archetype_details").is_none() {
            return;
        }
        let mut details = new_object("ARCHETYPED");
        let mut id = new_object("ARCHETYPE_ID");
        put(&mut id, "value", text(archetype_id));
        put(&mut details, "archetype_id", object_value(id));
        // The template's root names the template, whatever its type (COMPOSITION, EHR_STATUS,
        // FOLDER); no inner archetype root needs to.
        if self.depth == 1 {
            let mut template_id = new_object("TEMPLATE_ID");
            put(&mut template_id, "value", text(&self.template.template_id));
            put(&mut details, "template_id", object_value(template_id));
        }
        put(&mut details, "rm_version", text("1.1.0"));
        put(object, "archetype_details", object_value(details));
    }

    fn complex(
        &mut self,
        constraint: &'t ObjectConstraint,
        attributes: &'t [AttributeConstraint],
    ) -> RmObject {
        let mut object = new_object(&constraint.rm_type);
        if object.class_def().attribute("archetype_node_id").is_some() {
            let node_id = if constraint.node_id.is_empty() {
                "at0000"
            } else {
                &constraint.node_id
            };
            put(&mut object, "archetype_node_id", text(node_id));
        }
        // An INTERVAL_EVENT needs a width and a math function; a random EVENT is sometimes one.
        if object.type_name() == "POINT_EVENT"
            && constraint.rm_type == "EVENT"
            && self.rng.as_mut().is_some_and(|rng| rng.chance(1, 4))
        {
            object = new_object("INTERVAL_EVENT");
            put(&mut object, "archetype_node_id", text(&constraint.node_id));
        }
        let is_element = object.type_name() == "ELEMENT";
        let mut null_flavour = false;
        for attribute in attributes {
            // An element has a value or a null flavour, never both (RM invariant).
            if is_element && attribute.name == "null_flavour" {
                continue;
            }
            if is_element
                && attribute.name == "value"
                && attribute.existence.lower.unwrap_or(0) == 0
                && self.is_random()
                && self.rng.as_mut().is_some_and(|rng| rng.chance(1, 8))
            {
                null_flavour = true;
                continue;
            }
            // A name constraint that says nothing about the text: the node's own term reads better.
            if attribute.name == "name"
                && attribute
                    .children
                    .iter()
                    .all(|child| child.rm_type == "DV_TEXT" && child.attribute("value").is_none())
            {
                continue;
            }
            self.attribute(&mut object, attribute);
        }
        if null_flavour && object.get("value").is_none() {
            put(
                &mut object,
                "null_flavour",
                object_value(coded_text("no information", "openehr", "271")),
            );
        }
        self.complete(&mut object, constraint);
        object
    }

    fn attribute(&mut self, object: &mut RmObject, constraint: &'t AttributeConstraint) {
        let Some(definition) = object.class_def().attribute(&constraint.name) else {
            // The template constrains something the RM class does not have (DV_PROPORTION's
            // is_integral is a function): nothing to write.
            return;
        };
        if constraint.existence.upper == Some(0) {
            return;
        }
        // An element's value is what it is for; a missing one is a null flavour, drawn
        // separately and more rarely. A composition's context is needed by events.
        let mandatory = constraint.existence.lower.unwrap_or(0) >= 1
            || definition.mandatory
            || (object.type_name() == "COMPOSITION" && constraint.name == "context")
            || (object.type_name() == "ELEMENT" && constraint.name == "value");
        if !mandatory && !self.include_optional() {
            return;
        }
        if mandatory {
            self.fill_attribute(object, constraint, definition, true);
            return;
        }
        let ((), invented) =
            self.droppable(|this| this.fill_attribute(object, constraint, definition, false));
        if invented {
            let _ = object.remove(&constraint.name);
        }
    }

    fn fill_attribute(
        &mut self,
        object: &mut RmObject,
        constraint: &'t AttributeConstraint,
        definition: &'static AttributeDef,
        mandatory: bool,
    ) {
        if definition.list {
            self.container(object, constraint, definition, mandatory);
        } else if definition.kind == ValueKind::Object {
            self.single(object, constraint, definition);
        } else if let Some(value) = self.primitive_attribute(constraint, definition) {
            put(object, &constraint.name, value);
        }
    }

    fn single(
        &mut self,
        object: &mut RmObject,
        constraint: &'t AttributeConstraint,
        definition: &'static AttributeDef,
    ) {
        let children = &constraint.children;
        let value = if children.is_empty() {
            Some(self.default_object(object.type_name(), definition))
        } else {
            // The chosen alternative first, then the others in order, for one that builds.
            let first = self.choose(children.len());
            let candidates: Vec<_> = (0..children.len())
                .map(|offset| {
                    let index = (first + offset) % children.len();
                    (index, &children[index])
                })
                .collect();
            self.build_alternative(&candidates, |built| {
                definition.class == model::ANY_CLASS
                    || model::class_id(built.type_name())
                        .is_some_and(|id| model::conforms(id, definition.class))
            })
            .map(|(_, built)| built)
        };
        if let Some(value) = value {
            put(object, &constraint.name, object_value(value));
        }
    }

    fn container(
        &mut self,
        object: &mut RmObject,
        constraint: &'t AttributeConstraint,
        definition: &'static AttributeDef,
        mandatory: bool,
    ) {
        let mut members: Vec<RmValue> = Vec::new();
        let unique = constraint
            .cardinality
            .as_ref()
            .is_some_and(|cardinality| cardinality.is_unique);
        // How many of each child there are, for topping up to the cardinality's minimum.
        let mut counts = vec![0_u32; constraint.children.len()];
        for (index, child) in constraint.children.iter().enumerate() {
            let lower = child.occurrences.lower.unwrap_or(0);
            let upper = child.occurrences.upper.unwrap_or(u32::MAX);
            let is_slot = matches!(child.kind, ObjectKind::Slot { .. });
            let count = match &mut self.rng {
                _ if upper == 0 => 0,
                _ if self.depth > MAX_DEPTH => lower,
                None if is_slot => lower,
                None => lower.max(1),
                Some(rng) => {
                    let high = upper.min(lower.max(if is_slot { 1 } else { 3 }));
                    lower + u32::try_from(rng.below(u64::from(high - lower) + 1)).unwrap_or(0)
                }
            };
            for number in 0..count {
                // Beyond the occurrences' minimum the example's member is optional: it is
                // left out if it would need an invented slot filler.
                let member = if number < lower {
                    self.build(child)
                } else {
                    match self.droppable(|this| this.build(child)) {
                        (member, false) => member,
                        (_, true) => None,
                    }
                };
                if let Some(member) = member.map(object_value) {
                    // Where members must be unique, an optional repeat equal to an earlier
                    // member (the same defaults) is left out.
                    if unique && number >= lower && members.contains(&member) {
                        continue;
                    }
                    members.push(member);
                    counts[index] += 1;
                }
            }
        }
        // Top up to the cardinality's minimum, or to one member where the RM needs one
        // (CLUSTER.items). The example prefers defined nodes to slots, and fills a slot
        // for the RM's minimum only when no enclosing node can be left out instead.
        let template_minimum = constraint.cardinality.as_ref().map_or(0, |cardinality| {
            cardinality.interval.lower.unwrap_or(0) as usize
        });
        let minimum = template_minimum.max(usize::from(definition.mandatory));
        let example = !self.is_random();
        while members.len() < minimum {
            let slots_allowed =
                !example || members.len() < template_minimum || self.droppable_depth == 0;
            let mut candidates: Vec<_> = constraint
                .children
                .iter()
                .enumerate()
                .filter(|(index, child)| {
                    child
                        .occurrences
                        .upper
                        .is_none_or(|upper| counts[*index] < upper)
                        && (slots_allowed || !matches!(child.kind, ObjectKind::Slot { .. }))
                })
                .collect();
            if example {
                candidates.sort_by_key(|(_, child)| matches!(child.kind, ObjectKind::Slot { .. }));
            }
            let Some((index, member)) = self.build_alternative(&candidates, |_| true) else {
                break;
            };
            members.push(object_value(member));
            counts[index] += 1;
        }
        if example && members.len() < minimum && self.droppable_depth > 0 {
            // Short of the minimum without an invented slot filler: leave the enclosing
            // optional node out rather than write it invalid or with made-up content.
            self.invented = true;
            return;
        }
        if members.is_empty() && !mandatory {
            return;
        }
        if members.is_empty() && definition.mandatory {
            // The RM needs a member the template does not describe.
            members.push(object_value(self.default_object("", definition)));
        }
        put(object, &constraint.name, RmValue::List(members));
    }

    fn primitive_attribute(
        &mut self,
        constraint: &AttributeConstraint,
        definition: &AttributeDef,
    ) -> Option<RmValue> {
        let primitive = constraint
            .children
            .iter()
            .find_map(|child| match &child.kind {
                ObjectKind::Primitive(primitive) => Some(primitive),
                _ => None,
            });
        match primitive {
            Some(primitive) => self.primitive(primitive, definition),
            None => Some(self.default_primitive(definition)),
        }
    }

    fn primitive(
        &mut self,
        constraint: &PrimitiveConstraint,
        definition: &AttributeDef,
    ) -> Option<RmValue> {
        Some(match constraint {
            PrimitiveConstraint::String { pattern, list } => {
                if !list.is_empty() {
                    let index = self.choose(list.len());
                    text(&list[index])
                } else if let Some(pattern) = pattern {
                    // ACTIVITY.action_archetype_id is itself a regular expression: the
                    // archetype's pattern is the value to record.
                    if definition.name == "action_archetype_id" {
                        text(pattern)
                    } else {
                        let sample = sample_pattern(pattern);
                        if full_match(pattern, &sample) == Some(true) {
                            text(&sample)
                        } else {
                            text(pattern)
                        }
                    }
                } else {
                    self.default_primitive(definition)
                }
            }
            PrimitiveConstraint::Integer { list, range } => {
                RmValue::Integer(self.integer(list, range.as_ref()))
            }
            PrimitiveConstraint::Real { list, range } => {
                RmValue::Real(self.real(list, range.as_ref(), 1.0, Some(1)))
            }
            PrimitiveConstraint::Boolean {
                true_valid,
                false_valid,
            } => {
                let value = match (*true_valid, *false_valid) {
                    (true, true) => self.rng.as_mut().is_none_or(|rng| rng.chance(1, 2)),
                    (valid, _) => valid,
                };
                RmValue::Boolean(value)
            }
            PrimitiveConstraint::Date(temporal) => text(&self.date(temporal)),
            PrimitiveConstraint::Time(temporal) => text(&self.time(temporal)),
            PrimitiveConstraint::DateTime(temporal) => text(&self.date_time(temporal)),
            PrimitiveConstraint::Duration(temporal) => text(&self.duration(temporal)),
        })
    }

    fn integer(&mut self, list: &[i64], range: Option<&Interval<i64>>) -> i64 {
        if !list.is_empty() {
            let index = self.choose(list.len());
            return list[index];
        }
        let Some(range) = range else {
            return match &mut self.rng {
                None => 1,
                Some(rng) => i64::try_from(rng.below(100)).unwrap_or(1),
            };
        };
        let lower = range.lower.map(|lower| {
            if range.lower_included {
                lower
            } else {
                lower + 1
            }
        });
        let upper = range.upper.map(|upper| {
            if range.upper_included {
                upper
            } else {
                upper - 1
            }
        });
        let (lower, upper) = match (lower, upper) {
            (Some(lower), Some(upper)) => (lower, upper.max(lower)),
            (Some(lower), None) => (lower, lower + 100),
            (None, Some(upper)) => (upper - 100, upper),
            (None, None) => (0, 100),
        };
        match &mut self.rng {
            None => lower + (upper - lower) / 10 + i64::from(upper > lower && (upper - lower) < 10),
            Some(rng) => {
                let span = u64::try_from(upper - lower).unwrap_or(0) + 1;
                lower + i64::try_from(rng.below(span)).unwrap_or(0)
            }
        }
    }

    /// A real in the list or range, `preferred` in the example when it fits, rounded to
    /// `places` decimals.
    fn real(
        &mut self,
        list: &[f64],
        range: Option<&Interval<f64>>,
        preferred: f64,
        places: Option<i32>,
    ) -> f64 {
        if !list.is_empty() {
            let index = self.choose(list.len());
            return list[index];
        }
        let fallback = {
            let value = round_to(real_in(range, preferred), places);
            if range.is_none_or(|range| range.contains(value)) {
                value
            } else {
                real_in(range, preferred)
            }
        };
        let Some(rng) = &mut self.rng else {
            return fallback;
        };
        let (lower, upper) = match range.map(|range| (range.lower, range.upper)) {
            Some((Some(lower), Some(upper))) => (lower, upper),
            Some((Some(lower), None)) => (lower, lower + 200.0),
            Some((None, Some(upper))) => (upper - 200.0, upper),
            _ => (0.0, 200.0),
        };
        for _ in 0..8 {
            let value = round_to(lower + (upper - lower) * rng.unit(), places);
            if range.is_none_or(|range| range.contains(value)) {
                return value;
            }
        }
        fallback
    }

    fn date_parts(&mut self) -> (u64, u64, u64) {
        match &mut self.rng {
            None => (2024, 1, 15),
            Some(rng) => (1990 + rng.below(40), rng.below(12) + 1, rng.below(28) + 1),
        }
    }

    fn time_parts(&mut self) -> (u64, u64, u64) {
        match &mut self.rng {
            None => (9, 30, 0),
            Some(rng) => (rng.below(24), rng.below(60), rng.below(60)),
        }
    }

    /// Whether a component a pattern marks `??` is written: always in the example.
    fn optional_component(&mut self) -> bool {
        self.rng.as_mut().is_none_or(|rng| rng.chance(2, 3))
    }

    /// Which components a pattern component allows: (may be present, must be present).
    fn component(pattern: Option<&str>) -> (bool, bool) {
        match pattern {
            None => (true, false),
            Some("??") => (true, false),
            Some("XX" | "xx") => (false, false),
            Some(_) => (true, true),
        }
    }

    fn date_text(&mut self, pattern: Option<&str>) -> String {
        let (year, month, day) = self.date_parts();
        let mut parts = pattern.map(|pattern| pattern.split('-').skip(1));
        let month_rule = Self::component(parts.as_mut().and_then(Iterator::next));
        let day_rule = Self::component(parts.as_mut().and_then(Iterator::next));
        let with_month = month_rule.1 || (month_rule.0 && self.optional_component());
        let with_day = with_month && (day_rule.1 || (day_rule.0 && self.optional_component()));
        match (with_month, with_day) {
            (true, true) => format!("{year:04}-{month:02}-{day:02}"),
            (true, false) => format!("{year:04}-{month:02}"),
            _ => format!("{year:04}"),
        }
    }

    fn time_text(&mut self, pattern: Option<&str>) -> String {
        let (hour, minute, second) = self.time_parts();
        let mut parts = pattern.map(|pattern| pattern.split(':').skip(1));
        let minute_rule = Self::component(parts.as_mut().and_then(Iterator::next));
        let second_rule = Self::component(parts.as_mut().and_then(Iterator::next));
        let with_minute = minute_rule.1 || (minute_rule.0 && self.optional_component());
        let with_second =
            with_minute && (second_rule.1 || (second_rule.0 && self.optional_component()));
        match (with_minute, with_second) {
            (true, true) => format!("{hour:02}:{minute:02}:{second:02}"),
            (true, false) => format!("{hour:02}:{minute:02}"),
            _ => format!("{hour:02}"),
        }
    }

    /// The candidate, or a bound of the range when the candidate falls outside it.
    fn within_range(
        candidate: String,
        constraint: &TemporalConstraint,
        key: impl Fn(&str) -> Option<f64>,
    ) -> String {
        let Some(range) = &constraint.range else {
            return candidate;
        };
        let bounds = Interval {
            lower: range.lower.as_deref().and_then(&key),
            upper: range.upper.as_deref().and_then(&key),
            lower_included: range.lower_included,
            upper_included: range.upper_included,
        };
        if key(&candidate).is_some_and(|value| bounds.contains(value)) {
            return candidate;
        }
        match (&range.lower, &range.upper) {
            (Some(lower), _) if range.lower_included => lower.clone(),
            (_, Some(upper)) if range.upper_included => upper.clone(),
            _ => candidate,
        }
    }

    fn date(&mut self, constraint: &TemporalConstraint) -> String {
        let candidate = self.date_text(constraint.pattern.as_deref());
        Self::within_range(candidate, constraint, |value| {
            iso8601::parse_date(value).map(|date| iso8601::date_key(&date))
        })
    }

    fn time(&mut self, constraint: &TemporalConstraint) -> String {
        let candidate = self.time_text(constraint.pattern.as_deref());
        Self::within_range(candidate, constraint, |value| {
            iso8601::parse_time(value).map(|time| iso8601::time_key(&time))
        })
    }

    fn date_time(&mut self, constraint: &TemporalConstraint) -> String {
        let candidate = match constraint.pattern.as_deref() {
            None if !self.is_random() => EXAMPLE_TIME.to_owned(),
            None => {
                let date = self.date_text(Some("YYYY-MM-DD"));
                let time = self.time_text(Some("HH:MM:SS"));
                format!("{date}T{time}Z")
            }
            Some(pattern) => {
                let (date_pattern, time_pattern) = pattern.split_once('T').unwrap_or((pattern, ""));
                let hour_rule = Self::component(
                    Some(time_pattern.split(':').next().unwrap_or_default())
                        .filter(|hour| !hour.is_empty()),
                );
                let hour_rule = if time_pattern.is_empty() {
                    (false, false)
                } else {
                    hour_rule
                };
                let with_time = hour_rule.1 || (hour_rule.0 && self.optional_component());
                if with_time {
                    // A time needs a complete date before it.
                    let date = self.date_text(Some("YYYY-MM-DD"));
                    let time = self.time_text(Some(time_pattern));
                    let date = if iso8601::date_matches(
                        date_pattern,
                        &iso8601::parse_date(&date).unwrap_or(iso8601::Date {
                            year: 2024,
                            month: None,
                            day: None,
                        }),
                    ) {
                        date
                    } else {
                        self.date_text(Some(date_pattern))
                    };
                    format!("{date}T{time}")
                } else {
                    self.date_text(Some(date_pattern))
                }
            }
        };
        Self::within_range(candidate, constraint, |value| {
            iso8601::parse_date_time(value).map(|value| iso8601::date_time_key(&value))
        })
    }

    fn duration(&mut self, constraint: &TemporalConstraint) -> String {
        // Designators in order of preference for the example: minutes, hours, days...
        const PREFERENCE: [(bool, char, u64); 7] = [
            (true, 'M', 30),
            (true, 'H', 2),
            (false, 'D', 3),
            (false, 'W', 1),
            (false, 'M', 6),
            (false, 'Y', 1),
            (true, 'S', 45),
        ];
        let pattern = constraint
            .pattern
            .as_deref()
            .map(|pattern| pattern.split('/').next().unwrap_or_default().trim())
            .and_then(|pattern| pattern.strip_prefix('P'));
        let allowed: Vec<(bool, char, u64)> = PREFERENCE
            .iter()
            .copied()
            .filter(|(is_time, designator, _)| match pattern {
                None => true,
                Some(body) => {
                    let (date_part, time_part) = body.split_once('T').unwrap_or((body, ""));
                    if *is_time {
                        time_part.contains(*designator)
                    } else {
                        date_part.contains(*designator)
                    }
                }
            })
            .collect();
        let candidate = match allowed.as_slice() {
            [] => "PT0S".to_owned(),
            allowed => {
                let index = self.choose(allowed.len());
                let (is_time, designator, example) = allowed[index];
                let amount = match &mut self.rng {
                    None => example,
                    Some(rng) => rng.below(59) + 1,
                };
                if is_time {
                    format!("PT{amount}{designator}")
                } else {
                    format!("P{amount}{designator}")
                }
            }
        };
        Self::within_range(candidate, constraint, |value| {
            iso8601::parse_duration(value).map(|duration| iso8601::duration_key(&duration))
        })
    }

    fn code_phrase(&mut self, constraint: &CodePhraseConstraint) -> RmObject {
        let terminology = if constraint.terminology_id.is_empty() {
            // A value set names its terminology only in its URI (`terminology:SNOMED-CT?...`).
            let uri = constraint.reference_set_uri.as_deref().unwrap_or_default();
            let name = uri
                .trim_start_matches("terminology:")
                .trim_start_matches("//")
                .split(['?', '/'])
                .next()
                .unwrap_or_default();
            if name.is_empty() || name.to_ascii_lowercase().contains("snomed") {
                "SNOMED-CT".to_owned()
            } else {
                name.to_owned()
            }
        } else {
            constraint.terminology_id.clone()
        };
        let code = if constraint.codes.is_empty() {
            match terminology.as_str() {
                "local" => self.any_local_code(),
                "openehr" => "433".to_owned(),
                "IANA_media-types" => "application/pdf".to_owned(),
                "ISO_639-1" => self.template.language.clone(),
                "ISO_3166-1" => "GB".to_owned(),
                _ => "260385009".to_owned(),
            }
        } else {
            let index = self.choose(constraint.codes.len());
            constraint.codes[index].clone()
        };
        code_phrase(&terminology, &code)
    }

    /// A code for a constraint reference: of the terminology its ac-code is bound to, else
    /// the ac-code itself as a local code (nothing better is known without a terminology
    /// service).
    fn constraint_ref(&self, reference: &str) -> RmObject {
        let bound = self.roots.last().and_then(|root| match &root.kind {
            ObjectKind::ArchetypeRoot { terms, .. } => terms
                .constraint_bindings
                .get(reference)
                .and_then(|bindings| bindings.keys().next()),
            _ => None,
        });
        match bound {
            Some(terminology) => code_phrase(terminology, "260385009"),
            None => code_phrase("local", reference),
        }
    }

    /// A code of the innermost archetype's terminology, for a local code phrase with no list.
    fn any_local_code(&mut self) -> String {
        let codes: Vec<String> = self
            .roots
            .last()
            .and_then(|root| match &root.kind {
                ObjectKind::ArchetypeRoot { terms, .. } => terms
                    .terms
                    .get(&self.template.language)
                    .or_else(|| terms.terms.values().next())
                    .map(|terms| {
                        terms
                            .keys()
                            .filter(|code| code.starts_with("at"))
                            .cloned()
                            .collect()
                    }),
                _ => None,
            })
            .unwrap_or_default();
        if codes.is_empty() {
            return "at0000".to_owned();
        }
        let index = self.choose(codes.len());
        codes[index].clone()
    }

    /// The text of a code: its rubric in the archetype or the openEHR terminology.
    fn code_text(&self, terminology: &str, code: &str) -> String {
        match terminology {
            "local" => self
                .term_text(code)
                .unwrap_or_else(|| format!("local term {code}")),
            "openehr" => openehr_rubric(code).to_owned(),
            "SNOMED-CT" if code == "260385009" => "Negative".to_owned(),
            _ => format!("{terminology} term {code}"),
        }
    }

    fn quantity(&mut self, property: Option<&CodeRef>, items: &[QuantityItem]) -> RmObject {
        let mut quantity = new_object("DV_QUANTITY");
        let (units, magnitude, precision) = if items.is_empty() {
            // A unit of the property the template names, else a mass.
            let units = property
                .filter(|property| property.terminology_id == "openehr")
                .and_then(|property| crate::units::property_by_code(&property.code))
                .map_or("kg", |property| property.examples[0]);
            let preferred = typical_magnitude(units).unwrap_or(70.0);
            let magnitude = self.real(&[], None, preferred, Some(1));
            (units.to_owned(), magnitude, None)
        } else {
            let item = &items[self.choose(items.len())];
            let places = item
                .precision
                .as_ref()
                .and_then(|precision| precision.upper)
                .filter(|places| *places >= 0)
                .or(Some(1));
            let preferred = typical_magnitude(&item.units).unwrap_or(80.0);
            let magnitude = self.real(&[], item.magnitude.as_ref(), preferred, places);
            let precision = item.precision.as_ref().and_then(|precision| {
                let value = precision.lower.filter(|lower| *lower >= 0)?;
                precision.contains(value).then_some(value)
            });
            (item.units.clone(), magnitude, precision)
        };
        put(&mut quantity, "magnitude", RmValue::Real(magnitude));
        put(&mut quantity, "units", text(&units));
        if let Some(precision) = precision {
            put(
                &mut quantity,
                "precision",
                RmValue::Integer(i64::from(precision)),
            );
        }
        quantity
    }

    fn symbol(&self, terminology: &str, code: &str) -> RmObject {
        coded_text(&self.code_text(terminology, code), terminology, code)
    }

    fn ordinal(&mut self, items: &[OrdinalItem]) -> RmObject {
        let mut ordinal = new_object("DV_ORDINAL");
        let (value, symbol) = if items.is_empty() {
            let code = self.any_local_code();
            (1, self.symbol("local", &code))
        } else {
            let item = &items[self.choose(items.len())];
            (
                item.value,
                self.symbol(&item.symbol.terminology_id, &item.symbol.code),
            )
        };
        put(&mut ordinal, "value", RmValue::Integer(value));
        put(&mut ordinal, "symbol", object_value(symbol));
        ordinal
    }

    fn scale(&mut self, items: &[ScaleItem]) -> RmObject {
        let mut scale = new_object("DV_SCALE");
        let (value, symbol) = if items.is_empty() {
            let code = self.any_local_code();
            (1.0, self.symbol("local", &code))
        } else {
            let item = &items[self.choose(items.len())];
            (
                item.value,
                self.symbol(&item.symbol.terminology_id, &item.symbol.code),
            )
        };
        put(&mut scale, "value", RmValue::Real(value));
        put(&mut scale, "symbol", object_value(symbol));
        scale
    }

    /// Fills a slot with an archetype it admits: a made-up `example` archetype of the slot's
    /// class, or one sampled from an include pattern. Random compositions fill some optional
    /// slots; the example only those it must (see `container` and `build_alternative`).
    fn fill_slot(
        &mut self,
        constraint: &ObjectConstraint,
        includes: &[String],
        excludes: &[String],
    ) -> Option<RmObject> {
        let type_name = concrete_type(&constraint.rm_type);
        let mut candidates = vec![format!("openEHR-EHR-{type_name}.example.v1")];
        candidates.extend(includes.iter().map(|pattern| sample_pattern(pattern)));
        let archetype_id = candidates
            .into_iter()
            .find(|candidate| slot_allows(includes, excludes, candidate) == Ok(true))?;
        let mut object = new_object(type_name);
        put(&mut object, "archetype_node_id", text(&archetype_id));
        put(
            &mut object,
            "name",
            object_value(dv("DV_TEXT", "Slot content")),
        );
        self.archetype_details(&mut object, &archetype_id);
        self.complete(&mut object, constraint);
        Some(object)
    }

    /// A default object for an attribute the template leaves open.
    fn default_object(&mut self, owner: &str, definition: &AttributeDef) -> RmObject {
        let type_name = concrete_type(definition.type_name);
        // Attribute-specific content that reads like data.
        let special = match (owner, definition.name) {
            (_, "language") => Some(code_phrase("ISO_639-1", &self.template.language.clone())),
            (_, "territory") => Some(code_phrase("ISO_3166-1", "GB")),
            (_, "encoding") => Some(code_phrase("IANA_character-sets", "UTF-8")),
            (_, "category") => Some(coded_text("event", "openehr", "433")),
            (_, "setting") => Some(coded_text("other care", "openehr", "238")),
            (_, "math_function") => Some(coded_text("mean", "openehr", "146")),
            (_, "current_state") => Some(coded_text("completed", "openehr", "532")),
            (_, "null_flavour") => Some(coded_text("no information", "openehr", "271")),
            (_, "composer") => {
                let mut composer = new_object("PARTY_IDENTIFIED");
                put(&mut composer, "name", text("Dr Alex Example"));
                Some(composer)
            }
            (_, "subject") => Some(new_object("PARTY_SELF")),
            (_, "start_time" | "origin" | "time") => Some(dv("DV_DATE_TIME", &self.now())),
            (_, "width") => Some(dv("DV_DURATION", "PT1H")),
            (_, "narrative") => Some(dv("DV_TEXT", "As directed")),
            (_, "timing") => {
                let mut timing = dv("DV_PARSABLE", "R1/2024-01-15T09:30:00Z/P1D");
                put(&mut timing, "formalism", text("timing"));
                Some(timing)
            }
            _ => None,
        };
        if let Some(object) = special {
            return object;
        }
        let mut object = new_object(type_name);
        if object.class_def().attribute("archetype_node_id").is_some() {
            put(&mut object, "archetype_node_id", text("at0000"));
        }
        let placeholder = ObjectConstraint {
            rm_type: type_name.to_owned(),
            node_id: String::new(),
            occurrences: Interval::closed(1, 1),
            kind: ObjectKind::Complex {
                attributes: Vec::new(),
            },
        };
        if self.depth <= MAX_DEPTH {
            self.depth += 1;
            self.complete(&mut object, &placeholder);
            self.depth -= 1;
        }
        object
    }

    fn default_primitive(&mut self, definition: &AttributeDef) -> RmValue {
        match definition.kind {
            // An example EHR_STATUS must not lock its EHR or hide it from queries.
            ValueKind::Boolean => {
                RmValue::Boolean(matches!(definition.name, "is_modifiable" | "is_queryable"))
            }
            ValueKind::Integer | ValueKind::Integer64 => RmValue::Integer(1),
            ValueKind::Real | ValueKind::Double => RmValue::Real(1.0),
            ValueKind::String | ValueKind::Object => text(match definition.name {
                "rm_version" => "1.1.0",
                "action_archetype_id" => "openEHR-EHR-ACTION\\..*\\.v1",
                "formalism" => "text/plain",
                _ => "Example text",
            }),
        }
    }

    /// Fills what the RM requires (and a few things readers expect) that the template did
    /// not say, once the constrained attributes are in place.
    fn complete(&mut self, object: &mut RmObject, constraint: &ObjectConstraint) {
        let type_name = object.type_name();
        if object.class_def().attribute("name").is_some() && object.get("name").is_none() {
            let code = if matches!(constraint.kind, ObjectKind::ArchetypeRoot { .. }) {
                "at0000"
            } else {
                object.get_str("archetype_node_id").unwrap_or("at0000")
            };
            let name = self
                .term_text(code)
                .unwrap_or_else(|| constraint.node_id.clone());
            let name = if name.is_empty() {
                type_name.to_lowercase()
            } else {
                name
            };
            put(object, "name", object_value(dv("DV_TEXT", &name)));
        }
        match type_name {
            "DV_CODED_TEXT" if object.get("value").is_none() => {
                if object.get("defining_code").is_none() {
                    // Unconstrained: a code of an external terminology reads most like data.
                    put(
                        object,
                        "defining_code",
                        object_value(code_phrase("SNOMED-CT", "260385009")),
                    );
                }
                let (terminology, code) = object
                    .get_object("defining_code")
                    .map(|code| {
                        (
                            code.get_object("terminology_id")
                                .and_then(|id| id.get_str("value"))
                                .unwrap_or_default()
                                .to_owned(),
                            code.get_str("code_string").unwrap_or_default().to_owned(),
                        )
                    })
                    .unwrap_or_default();
                let value = self.code_text(&terminology, &code);
                put(object, "value", text(&value));
            }
            "DV_TEXT" if object.get("value").is_none() => {
                let value = match &mut self.rng {
                    None => "Example text".to_owned(),
                    Some(rng) => {
                        const WORDS: [&str; 6] = [
                            "Stable",
                            "Improving",
                            "No concerns",
                            "Reviewed",
                            "Noted",
                            "See notes",
                        ];
                        WORDS[rng.index(WORDS.len())].to_owned()
                    }
                };
                put(object, "value", text(&value));
            }
            "DV_DATE" if object.get("value").is_none() => {
                let value = self.date_text(Some("YYYY-MM-DD"));
                put(object, "value", text(&value));
            }
            "DV_TIME" if object.get("value").is_none() => {
                let value = self.time_text(Some("HH:MM:SS"));
                put(object, "value", text(&value));
            }
            "DV_DATE_TIME" if object.get("value").is_none() => {
                let value = self.now();
                put(object, "value", text(&value));
            }
            "DV_DURATION" if object.get("value").is_none() => {
                let value = self.duration(&TemporalConstraint::default());
                put(object, "value", text(&value));
            }
            "DV_COUNT" if object.get("magnitude").is_none() => {
                let value = self.integer(&[], None);
                put(object, "magnitude", RmValue::Integer(value));
            }
            "DV_QUANTITY" if object.get("magnitude").is_none() => {
                put(object, "magnitude", RmValue::Real(70.0));
                put(object, "units", text("kg"));
            }
            "DV_BOOLEAN" if object.get("value").is_none() => {
                put(object, "value", RmValue::Boolean(true));
            }
            "DV_URI" if object.get("value").is_none() => {
                put(object, "value", text("https://www.example.org/documents/1"));
            }
            "DV_EHR_URI" if object.get("value").is_none() => {
                put(object, "value", text("ehr:compositions/1"));
            }
            "DV_PARSABLE" if object.get("value").is_none() => {
                put(object, "value", text("Example content"));
            }
            "DV_IDENTIFIER" => {
                for (attribute, value) in [
                    ("id", "9434765919"),
                    ("issuer", "NHS England"),
                    ("assigner", "NHS England"),
                    ("type", "NHS number"),
                ] {
                    if object.get(attribute).is_none() {
                        put(object, attribute, text(value));
                    }
                }
            }
            "DV_MULTIMEDIA" => {
                if object.get("uri").is_none() && object.get("data").is_none() {
                    put(
                        object,
                        "uri",
                        object_value(dv("DV_URI", "https://www.example.org/report.pdf")),
                    );
                }
                if object.get("size").is_none() {
                    put(object, "size", RmValue::Integer(12_345));
                }
            }
            "DV_PROPORTION" => self.complete_proportion(object, constraint),
            "DV_INTERVAL" => self.complete_interval(object, constraint),
            "ELEMENT" if object.get("value").is_none() && object.get("null_flavour").is_none() => {
                // A value the template describes but that was left out (or forbidden) is
                // replaced by a null flavour; an open element gets some text.
                let described = constraint.attribute("value").is_some_and(|value| {
                    !value.children.is_empty() || value.existence.upper == Some(0)
                });
                if described {
                    put(
                        object,
                        "null_flavour",
                        object_value(coded_text("no information", "openehr", "271")),
                    );
                } else {
                    put(object, "value", object_value(dv("DV_TEXT", "Example text")));
                }
            }
            "ACTIVITY" if object.get("timing").is_none() => {
                let mut timing = dv("DV_PARSABLE", "R1/2024-01-15T09:30:00Z/P1D");
                put(&mut timing, "formalism", text("timing"));
                put(object, "timing", object_value(timing));
            }
            "COMPOSITION"
                if object.get("context").is_none()
                    && constraint
                        .attribute("context")
                        .is_none_or(|context| context.existence.upper != Some(0)) =>
            {
                if let Some(definition) = object.class_def().attribute("context") {
                    let context = self.default_object("COMPOSITION", definition);
                    put(object, "context", object_value(context));
                }
            }
            "PARTY_IDENTIFIED" if object.get("name").is_none() => {
                put(object, "name", text("Dr Alex Example"));
            }
            _ => {}
        }
        let definition = object.class_def();
        for attribute in definition.attributes {
            if !attribute.mandatory || object.get(attribute.name).is_some() {
                continue;
            }
            let value = if attribute.list {
                RmValue::List(vec![object_value(
                    self.default_object(type_name, attribute),
                )])
            } else if attribute.kind == ValueKind::Object {
                object_value(self.default_object(type_name, attribute))
            } else if attribute.name == "archetype_node_id" {
                text("at0000")
            } else {
                self.default_primitive(attribute)
            };
            put(object, attribute.name, value);
        }
    }

    /// DV_PROPORTION: the kind decides the denominator (RM invariants), within whatever the
    /// template allows for numerator and denominator.
    fn complete_proportion(&mut self, object: &mut RmObject, constraint: &ObjectConstraint) {
        let range_of = |name: &str| {
            constraint.attribute(name).and_then(|attribute| {
                attribute
                    .children
                    .iter()
                    .find_map(|child| match &child.kind {
                        ObjectKind::Primitive(PrimitiveConstraint::Real { range, .. }) => {
                            range.clone()
                        }
                        _ => None,
                    })
            })
        };
        let numerator_range = range_of("numerator");
        let denominator_range = range_of("denominator");
        let kind = match object.get("type") {
            Some(RmValue::Integer(kind)) => *kind,
            _ => 2,
        };
        let fits = |range: &Option<Interval<f64>>, value: f64| {
            range.as_ref().is_none_or(|range| range.contains(value))
        };
        let denominator = match kind {
            1 => 1.0,
            2 => 100.0,
            _ => {
                let current = match object.get("denominator") {
                    Some(RmValue::Real(value)) => value.round().max(1.0),
                    _ => 10.0,
                };
                [current, 10.0, 1.0, 2.0, 100.0]
                    .into_iter()
                    .find(|value| fits(&denominator_range, *value))
                    .unwrap_or(current)
            }
        };
        let numerator = match object.get("numerator") {
            Some(RmValue::Real(value)) if kind >= 3 => value.round(),
            Some(RmValue::Real(value)) => *value,
            _ => 1.0,
        };
        let numerator = if fits(&numerator_range, numerator) {
            numerator
        } else {
            real_in(numerator_range.as_ref(), 1.0).round()
        };
        put(object, "type", RmValue::Integer(kind));
        put(object, "numerator", RmValue::Real(numerator));
        put(object, "denominator", RmValue::Real(denominator));
    }

    /// DV_INTERVAL: bounded on both sides, limits included, lower not above upper.
    fn complete_interval(&mut self, object: &mut RmObject, constraint: &ObjectConstraint) {
        let parameter = constraint
            .rm_type
            .split_once('<')
            .map_or("DV_COUNT", |(_, rest)| rest.trim_end_matches('>').trim());
        for limit in ["lower", "upper"] {
            if object.get(limit).is_none() {
                let mut value = new_object(parameter);
                self.complete(
                    &mut value,
                    &ObjectConstraint {
                        rm_type: parameter.to_owned(),
                        node_id: String::new(),
                        occurrences: Interval::closed(1, 1),
                        kind: ObjectKind::Complex {
                            attributes: Vec::new(),
                        },
                    },
                );
                put(object, limit, object_value(value));
            }
        }
        // Same constraint on both limits: order them by swapping.
        if constraint.attribute("lower").map(|a| &a.children)
            == constraint.attribute("upper").map(|a| &a.children)
            && let (Some(lower), Some(upper)) =
                (object.get_object("lower"), object.get_object("upper"))
            && limit_key(lower) > limit_key(upper)
        {
            let lower = object.remove("lower");
            let upper = object.remove("upper");
            if let (Some(lower), Some(upper)) = (lower, upper) {
                put(object, "lower", upper);
                put(object, "upper", lower);
            }
        }
        // Equal limits read like a mistake: open the interval up where that is simple.
        if let (Some(lower), Some(RmValue::Object(upper))) = (
            object.get_object("lower").and_then(limit_key),
            object.get_mut("upper"),
        ) && limit_key(upper) == Some(lower)
        {
            match upper.get("magnitude").cloned() {
                Some(RmValue::Integer(magnitude)) => {
                    put(upper, "magnitude", RmValue::Integer(magnitude + 10));
                }
                Some(RmValue::Real(magnitude)) => {
                    put(upper, "magnitude", RmValue::Real(magnitude + 10.0));
                }
                _ => {}
            }
        }
        for (attribute, value) in [
            ("lower_unbounded", false),
            ("upper_unbounded", false),
            ("lower_included", true),
            ("upper_included", true),
        ] {
            put(object, attribute, RmValue::Boolean(value));
        }
    }
}

/// An ordering key for interval limits of the kinds generated here (also what the mutator
/// orders limits by).
pub(super) fn limit_key(object: &RmObject) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    let number = |value: Option<&RmValue>| match value {
        Some(RmValue::Real(number)) => Some(*number),
        Some(RmValue::Integer(number)) => Some(*number as f64),
        _ => None,
    };
    match object.type_name() {
        "DV_QUANTITY" | "DV_COUNT" => number(object.get("magnitude")),
        "DV_ORDINAL" | "DV_SCALE" => number(object.get("value")),
        "DV_DATE_TIME" => iso8601::parse_date_time(object.get_str("value")?)
            .map(|value| iso8601::date_time_key(&value)),
        "DV_DATE" => {
            iso8601::parse_date(object.get_str("value")?).map(|date| iso8601::date_key(&date))
        }
        "DV_TIME" => {
            iso8601::parse_time(object.get_str("value")?).map(|time| iso8601::time_key(&time))
        }
        "DV_DURATION" => iso8601::parse_duration(object.get_str("value")?)
            .map(|duration| iso8601::duration_key(&duration)),
        _ => None,
    }
}
