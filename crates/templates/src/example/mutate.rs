//! Single-constraint mutations of a valid composition.
//!
//! The mutator walks the composition beside the template the way `validate` does (members
//! matched to child constraints by node id, then by name), and at every node lists the
//! edits that break exactly one constraint there. Each edit is applied to a copy; the path
//! is then written from the mutated copy, because an edit can change the path itself (a new
//! node id or name appears in its predicate).
//!
//! What it leaves alone, so that one edit means one violation at one path:
//! - values inside a single attribute with several alternatives (a coded text beside a
//!   plain text): a broken code still satisfies the plain alternative, so only the type
//!   itself is mutated there;
//! - content of filled slots and of attributes the template does not constrain, except
//!   for the RM invariants the validator checks everywhere (times, URIs, identifiers...);
//! - removals that would also break a cardinality or occurrences next to the one meant.
//!
//! Constraints it cannot break, because no template in the test data has them (so a kind
//! for them could not be shown to work): a finite cardinality upper bound, an existence of
//! 0..0, a C_BOOLEAN that forbids a value, C_DV_SCALE pairs, internal references whose
//! target differs from the node (they are followed, not mutated), and membership of
//! external value sets (checking it needs a terminology service; their terminology is
//! mutated). A quantity's property is broken only where the template lists no units, since
//! a unit outside the list is a `QuantityUnit` mutation already.
//! `random` does not choose INTERVAL_EVENT where the template names POINT_EVENT, and picks
//! a bound of a date or duration range rather than a value strictly inside it.

use openehr_rm::{RmObject, RmValue};

use super::Rng;
use super::generate::{code_phrase, concrete_type, dv, limit_key, resolve};
use crate::model::{
    AttributeConstraint, CodePhraseConstraint, Interval, ObjectConstraint, ObjectKind, OrdinalItem,
    PrimitiveConstraint, QuantityItem, Template, TemporalConstraint,
};
use crate::units;
use crate::validate::{full_match, iso8601, slot_allows};

/// Which constraint a [`Mutation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MutationKind {
    /// A data value of a type no alternative of the attribute allows.
    WrongRmType,
    /// An archetype node id the template does not have at that place.
    UnknownNodeId,
    /// An attribute whose existence is 1..1 removed.
    MissingMandatory,
    /// One member fewer than a child's occurrences require.
    TooFewOccurrences,
    /// One member more than a child's occurrences allow.
    TooManyOccurrences,
    /// Fewer members than the container's cardinality requires.
    CardinalityTooFew,
    /// A name outside the template's list of names.
    NameNotAllowed,
    /// An archetype no slot of the container admits.
    SlotArchetypeNotAllowed,
    QuantityUnit,
    QuantityMagnitude,
    QuantityPrecision,
    CodeNotInList,
    WrongTerminology,
    /// A DV_CODED_TEXT whose text is not the rubric of its local code.
    CodedTextWrongTerm,
    CodedTextMissingDefiningCode,
    OrdinalPair,
    /// DV_COUNT magnitude (or another integer) outside its range.
    IntegerRange,
    /// An integer outside its list (DV_PROPORTION type).
    IntegerList,
    /// A real outside its range (DV_PROPORTION numerator or denominator).
    RealRange,
    /// A denominator that the proportion kind forbids (RM invariant).
    ProportionInvariant,
    StringPattern,
    StringList,
    DateInvalid,
    TimeInvalid,
    DateTimeInvalid,
    DurationInvalid,
    /// A date, time, date-time or duration that does not match its pattern.
    TemporalPattern,
    /// A date, time, date-time or duration outside its range.
    TemporalRange,
    IdentifierBroken,
    UriInvalid,
    MultimediaBroken,
    ParsableBroken,
    IntervalUnordered,
    NullFlavourWithValue,
    ElementWithoutValue,
    EventTimeMissing,
    IntervalEventWidthMissing,
    CompositionContextMissing,
    /// Units that do not measure the quantity's property (a length for a mass).
    QuantityProperty,
    /// A null flavour code outside the openehr group "null flavours".
    NullFlavourInvalid,
    /// A member equal to another in a container whose members must be unique.
    DuplicateMember,
    /// An `archetype_details.template_id` naming another template.
    TemplateIdMismatch,
}

impl MutationKind {
    /// Every kind, for tests that check each is produced somewhere.
    pub const ALL: [MutationKind; 42] = [
        MutationKind::WrongRmType,
        MutationKind::UnknownNodeId,
        MutationKind::MissingMandatory,
        MutationKind::TooFewOccurrences,
        MutationKind::TooManyOccurrences,
        MutationKind::CardinalityTooFew,
        MutationKind::NameNotAllowed,
        MutationKind::SlotArchetypeNotAllowed,
        MutationKind::QuantityUnit,
        MutationKind::QuantityMagnitude,
        MutationKind::QuantityPrecision,
        MutationKind::CodeNotInList,
        MutationKind::WrongTerminology,
        MutationKind::CodedTextWrongTerm,
        MutationKind::CodedTextMissingDefiningCode,
        MutationKind::OrdinalPair,
        MutationKind::IntegerRange,
        MutationKind::IntegerList,
        MutationKind::RealRange,
        MutationKind::ProportionInvariant,
        MutationKind::StringPattern,
        MutationKind::StringList,
        MutationKind::DateInvalid,
        MutationKind::TimeInvalid,
        MutationKind::DateTimeInvalid,
        MutationKind::DurationInvalid,
        MutationKind::TemporalPattern,
        MutationKind::TemporalRange,
        MutationKind::IdentifierBroken,
        MutationKind::UriInvalid,
        MutationKind::MultimediaBroken,
        MutationKind::ParsableBroken,
        MutationKind::IntervalUnordered,
        MutationKind::NullFlavourWithValue,
        MutationKind::ElementWithoutValue,
        MutationKind::EventTimeMissing,
        MutationKind::IntervalEventWidthMissing,
        MutationKind::CompositionContextMissing,
        MutationKind::QuantityProperty,
        MutationKind::NullFlavourInvalid,
        MutationKind::DuplicateMember,
        MutationKind::TemplateIdMismatch,
    ];
}

/// A valid composition with exactly one constraint broken, and where `validate` must say so.
#[derive(Debug, Clone)]
pub struct Mutation {
    pub kind: MutationKind,
    /// The path `validate` reports the violation at.
    pub path: String,
    pub description: String,
    pub composition: RmObject,
}

/// Every single-constraint mutation applicable to `composition`, which must be valid.
pub fn mutations(template: &Template, composition: &RmObject) -> Vec<Mutation> {
    let mut walker = Walker {
        roots: Vec::new(),
        edits: Vec::new(),
    };
    walker.object(&template.root, composition, &[]);
    walker
        .edits
        .into_iter()
        .filter_map(|edit| edit.apply(composition))
        .collect()
}

/// At most `count` of the mutations of `composition`, chosen reproducibly from `seed`.
pub fn random_mutations(
    template: &Template,
    composition: &RmObject,
    seed: u64,
    count: usize,
) -> Vec<Mutation> {
    let mut all = mutations(template, composition);
    let mut rng = Rng::new(seed);
    let mut chosen = Vec::new();
    while chosen.len() < count && !all.is_empty() {
        let index = rng.index(all.len());
        chosen.push(all.swap_remove(index));
    }
    chosen
}

/// One step from an object to a child: an attribute, and a position for container members.
#[derive(Debug, Clone)]
struct Segment {
    attribute: String,
    index: Option<usize>,
}

#[derive(Debug, Clone)]
enum Change {
    Set(String, RmValue),
    Remove(String),
    RemoveMember(String, usize),
    /// Inserts a member at a position.
    InsertMember(String, usize, RmValue),
    /// Exchanges the values of two attributes.
    Swap(String, String),
    /// Removes the first attribute and sets the second.
    Replace(String, String, RmValue),
}

/// An edit: what to change on the object at `target`, and how to write the path of the
/// violation from the mutated composition (`path_to`, then `suffix`).
struct Edit {
    kind: MutationKind,
    description: String,
    target: Vec<Segment>,
    change: Change,
    path_to: Vec<Segment>,
    suffix: String,
}

fn object_at<'a>(root: &'a mut RmObject, address: &[Segment]) -> Option<&'a mut RmObject> {
    let mut object = root;
    for segment in address {
        let value = object.get_mut(&segment.attribute)?;
        object = match (value, segment.index) {
            (RmValue::Object(child), None) => child,
            (RmValue::List(members), Some(index)) => match members.get_mut(index)? {
                RmValue::Object(child) => child,
                _ => return None,
            },
            _ => return None,
        };
    }
    Some(object)
}

impl Edit {
    fn apply(self, composition: &RmObject) -> Option<Mutation> {
        let mut mutated = composition.clone();
        let target = object_at(&mut mutated, &self.target)?;
        match self.change {
            Change::Set(attribute, value) => target.set(&attribute, value).ok()?,
            Change::Remove(attribute) => {
                target.remove(&attribute)?;
            }
            Change::RemoveMember(attribute, index) => match target.get_mut(&attribute)? {
                RmValue::List(members) if index < members.len() => {
                    members.remove(index);
                }
                _ => return None,
            },
            Change::InsertMember(attribute, index, value) => match target.get_mut(&attribute)? {
                RmValue::List(members) if index <= members.len() => members.insert(index, value),
                _ => return None,
            },
            Change::Replace(removed, attribute, value) => {
                target.remove(&removed)?;
                target.set(&attribute, value).ok()?;
            }
            Change::Swap(first, second) => {
                let first_value = target.remove(&first)?;
                let second_value = target.remove(&second)?;
                target.set(&first, second_value).ok()?;
                target.set(&second, first_value).ok()?;
            }
        }
        let path = render_path(&mutated, &self.path_to)? + &self.suffix;
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        Some(Mutation {
            kind: self.kind,
            path,
            description: self.description,
            composition: mutated,
        })
    }
}

fn node_id(object: &RmObject) -> Option<&str> {
    object.get_str("archetype_node_id")
}

fn name_value(object: &RmObject) -> Option<&str> {
    object
        .get_object("name")
        .and_then(|name| name.get_str("value"))
}

/// The path of the object at `address` in the validator's notation (see `validate`).
fn render_path(root: &RmObject, address: &[Segment]) -> Option<String> {
    let mut path = String::new();
    let mut object = root;
    for segment in address {
        path.push('/');
        path.push_str(&segment.attribute);
        match segment.index {
            None => {
                object = object.get_object(&segment.attribute)?;
                if let Some(id) = node_id(object).filter(|id| !id.is_empty()) {
                    path.push_str(&format!("[{id}]"));
                }
            }
            Some(index) => {
                let Some(RmValue::List(members)) = object.get(&segment.attribute) else {
                    return None;
                };
                let RmValue::Object(member) = members.get(index)? else {
                    return None;
                };
                path.push_str(&member_predicate(members, index, member));
                object = member;
            }
        }
    }
    Some(path)
}

fn member_predicate(members: &[RmValue], index: usize, object: &RmObject) -> String {
    let Some(id) = node_id(object) else {
        return format!("[{}]", index + 1);
    };
    let siblings: Vec<&RmObject> = members
        .iter()
        .filter_map(|member| match member {
            RmValue::Object(sibling) if node_id(sibling) == Some(id) => Some(&**sibling),
            _ => None,
        })
        .collect();
    if siblings.len() <= 1 {
        return format!("[{id}]");
    }
    let name = name_value(object).unwrap_or_default();
    let mut predicate = format!("[{id} and name/value='{}']", name.replace('\'', "\\'"));
    let same_name = siblings
        .iter()
        .filter(|sibling| name_value(sibling).unwrap_or_default() == name)
        .count();
    if same_name > 1 {
        predicate.push_str(&format!("[{}]", index + 1));
    }
    predicate
}

fn with(address: &[Segment], attribute: &str, index: Option<usize>) -> Vec<Segment> {
    let mut extended = address.to_vec();
    extended.push(Segment {
        attribute: attribute.to_owned(),
        index,
    });
    extended
}

#[allow(clippy::cast_precision_loss)]
fn real(value: Option<&RmValue>) -> Option<f64> {
    match value {
        Some(RmValue::Real(number)) => Some(*number),
        Some(RmValue::Integer(number)) => Some(*number as f64),
        _ => None,
    }
}

/// Whether a DV_PROPORTION with these parts satisfies the RM invariants the validator checks.
fn proportion_ok(kind: i64, numerator: f64, denominator: f64) -> bool {
    match kind {
        0 => denominator != 0.0,
        1 => denominator == 1.0,
        2 => denominator == 100.0,
        3 | 4 => numerator.fract() == 0.0 && denominator.fract() == 0.0 && denominator != 0.0,
        _ => false,
    }
}

/// A real just outside an interval, or `None` when it is unbounded on both sides.
fn real_outside(range: &Interval<f64>) -> Option<f64> {
    match (range.lower, range.upper) {
        (_, Some(upper)) => Some(if range.upper_included {
            upper + 1.0
        } else {
            upper
        }),
        (Some(lower), None) => Some(if range.lower_included {
            lower - 1.0
        } else {
            lower
        }),
        (None, None) => None,
    }
}

fn integer_outside(range: &Interval<i64>) -> Option<i64> {
    match (range.lower, range.upper) {
        (_, Some(upper)) => Some(if range.upper_included {
            upper + 1
        } else {
            upper
        }),
        (Some(lower), None) => Some(if range.lower_included {
            lower - 1
        } else {
            lower
        }),
        (None, None) => None,
    }
}

/// The primitive constraint of an attribute constraint, if it has one.
fn primitive_of(attribute: &AttributeConstraint) -> Option<&PrimitiveConstraint> {
    attribute
        .children
        .iter()
        .find_map(|child| match &child.kind {
            ObjectKind::Primitive(primitive) => Some(primitive),
            _ => None,
        })
}

struct Walker<'t> {
    roots: Vec<&'t ObjectConstraint>,
    edits: Vec<Edit>,
}

impl<'t> Walker<'t> {
    fn edit(
        &mut self,
        kind: MutationKind,
        description: String,
        target: &[Segment],
        change: Change,
        path_to: &[Segment],
        suffix: &str,
    ) {
        self.edits.push(Edit {
            kind,
            description,
            target: target.to_vec(),
            change,
            path_to: path_to.to_vec(),
            suffix: suffix.to_owned(),
        });
    }

    /// An edit of the object at `address` whose violation is reported at that object.
    fn local(
        &mut self,
        kind: MutationKind,
        description: String,
        address: &[Segment],
        change: Change,
        suffix: &str,
    ) {
        self.edit(kind, description, address, change, address, suffix);
    }

    fn object(&mut self, constraint: &'t ObjectConstraint, object: &RmObject, address: &[Segment]) {
        match &constraint.kind {
            ObjectKind::InternalRef { target_path } => {
                if let Some(target) = self
                    .roots
                    .last()
                    .and_then(|root| resolve(root, target_path))
                    .filter(|target| !matches!(target.kind, ObjectKind::InternalRef { .. }))
                    && address.len() < 64
                {
                    self.object(target, object, address);
                }
            }
            ObjectKind::ArchetypeRoot { attributes, .. } => {
                self.roots.push(constraint);
                if object
                    .get_object("archetype_details")
                    .is_some_and(|details| details.get("template_id").is_some())
                {
                    let mut details = object
                        .get_object("archetype_details")
                        .cloned()
                        .unwrap_or_else(|| unreachable!("checked above"));
                    if let Some(RmValue::Object(template_id)) = details.get_mut("template_id") {
                        let _ =
                            template_id.set("value", RmValue::String("another.template.v1".into()));
                    }
                    self.local(
                        MutationKind::TemplateIdMismatch,
                        "another template named".into(),
                        address,
                        Change::Set(
                            "archetype_details".into(),
                            RmValue::Object(Box::new(details)),
                        ),
                        "/archetype_details/template_id/value",
                    );
                }
                self.invariants(object, address, true);
                self.attributes(attributes, object, address);
                self.free(attributes, object, address);
                self.roots.pop();
            }
            ObjectKind::Complex { attributes } => {
                if object.type_name() == "DV_PROPORTION" {
                    self.proportion(constraint, object, address);
                }
                self.invariants(object, address, true);
                self.attributes(attributes, object, address);
                self.free(attributes, object, address);
            }
            ObjectKind::CodePhrase(code) => self.code_phrase(code, object, address),
            ObjectKind::Quantity { property, items } => {
                self.quantity(items, object, address);
                if items.is_empty()
                    && let Some(property) = property
                        .as_ref()
                        .filter(|property| property.terminology_id == "openehr")
                        .and_then(|property| units::property_by_code(&property.code))
                {
                    let wrong = units::unit_of_another_dimension(property);
                    self.local(
                        MutationKind::QuantityProperty,
                        format!("units {wrong} for a {}", property.name),
                        address,
                        Change::Set("units".into(), RmValue::String(wrong.into())),
                        "/units",
                    );
                }
            }
            ObjectKind::ConstraintRef { reference } => {
                let bound = matches!(self.roots.last().map(|root| &root.kind),
                    Some(ObjectKind::ArchetypeRoot { terms, .. })
                        if terms.constraint_bindings.get(reference).is_some_and(|bindings| !bindings.is_empty()));
                if bound {
                    self.wrong_terminology(address);
                }
            }
            ObjectKind::Ordinal { items } => {
                self.ordinal(items, object, address);
                self.free(&[], object, address);
            }
            // Slots: the template says nothing inside. Scales: no template here uses one.
            ObjectKind::Slot { .. } | ObjectKind::Primitive(_) | ObjectKind::Scale { .. } => {}
        }
    }

    /// RM-invariant mutations in the attributes no constraint names.
    fn free(
        &mut self,
        constraints: &[AttributeConstraint],
        object: &RmObject,
        address: &[Segment],
    ) {
        for (definition, value) in object.attributes() {
            if constraints
                .iter()
                .any(|constraint| constraint.name == definition.name)
            {
                continue;
            }
            if let RmValue::Object(child) = value {
                let child_address = with(address, definition.name, None);
                self.invariants(child, &child_address, false);
                self.free(&[], child, &child_address);
            }
        }
    }

    /// Mutations of the RM invariants the validator checks on every object.
    fn invariants(&mut self, object: &RmObject, address: &[Segment], constrained: bool) {
        use MutationKind as Kind;
        let set_text = |attribute: &str, value: &str| {
            Change::Set(attribute.to_owned(), RmValue::String(value.to_owned()))
        };
        match object.type_name() {
            "DV_DATE" => self.local(
                Kind::DateInvalid,
                "a date with month 13".into(),
                address,
                set_text("value", "2024-13-45"),
                "/value",
            ),
            "DV_TIME" => self.local(
                Kind::TimeInvalid,
                "a time at hour 25".into(),
                address,
                set_text("value", "25:61:00"),
                "/value",
            ),
            "DV_DATE_TIME" => self.local(
                Kind::DateTimeInvalid,
                "a date-time with month 13".into(),
                address,
                set_text("value", "2024-13-45T09:30:00Z"),
                "/value",
            ),
            "DV_DURATION" => self.local(
                Kind::DurationInvalid,
                "a duration with an unknown designator".into(),
                address,
                set_text("value", "P1X"),
                "/value",
            ),
            "DV_URI" => self.local(
                Kind::UriInvalid,
                "a uri without a scheme".into(),
                address,
                set_text("value", "not a uri"),
                "/value",
            ),
            "DV_IDENTIFIER" => self.local(
                Kind::IdentifierBroken,
                "a blank identifier".into(),
                address,
                set_text("id", " "),
                "/id",
            ),
            "DV_PARSABLE" => self.local(
                Kind::ParsableBroken,
                "a blank formalism".into(),
                address,
                set_text("formalism", ""),
                "/formalism",
            ),
            "DV_MULTIMEDIA" if object.get("data").is_none() && object.get("uri").is_some() => {
                self.local(
                    Kind::MultimediaBroken,
                    "multimedia with neither data nor uri".into(),
                    address,
                    Change::Remove("uri".into()),
                    "",
                );
            }
            "ELEMENT" if constrained && object.get("value").is_some() => {
                let null_flavour = super::generate::coded_text("no information", "openehr", "271");
                self.local(
                    Kind::NullFlavourWithValue,
                    "a null flavour beside a value".into(),
                    address,
                    Change::Set(
                        "null_flavour".into(),
                        RmValue::Object(Box::new(null_flavour)),
                    ),
                    "/null_flavour",
                );
                let not_a_null_flavour = super::generate::coded_text("event", "openehr", "433");
                self.local(
                    Kind::NullFlavourInvalid,
                    "a value replaced by a null flavour that is none".into(),
                    address,
                    Change::Replace(
                        "value".into(),
                        "null_flavour".into(),
                        RmValue::Object(Box::new(not_a_null_flavour)),
                    ),
                    "/null_flavour/defining_code/code_string",
                );
            }
            "POINT_EVENT" | "INTERVAL_EVENT" => {
                self.local(
                    Kind::EventTimeMissing,
                    "an event without time".into(),
                    address,
                    Change::Remove("time".into()),
                    "/time",
                );
                if object.type_name() == "INTERVAL_EVENT" {
                    self.local(
                        Kind::IntervalEventWidthMissing,
                        "an interval event without width".into(),
                        address,
                        Change::Remove("width".into()),
                        "/width",
                    );
                }
            }
            "COMPOSITION" => {
                let is_event = object
                    .get_object("category")
                    .and_then(|category| category.get_object("defining_code"))
                    .and_then(|code| code.get_str("code_string"))
                    == Some("433");
                if is_event && object.get("context").is_some() {
                    self.local(
                        Kind::CompositionContextMissing,
                        "an event composition without context".into(),
                        address,
                        Change::Remove("context".into()),
                        "/context",
                    );
                }
            }
            "DV_INTERVAL" => {
                let key = |limit: &str| object.get_object(limit).and_then(limit_key);
                if let (Some(lower), Some(upper)) = (key("lower"), key("upper"))
                    && lower < upper
                {
                    self.local(
                        Kind::IntervalUnordered,
                        "an interval with its limits swapped".into(),
                        address,
                        Change::Swap("lower".into(), "upper".into()),
                        "",
                    );
                }
            }
            "DV_CODED_TEXT" => {
                let local_code = object
                    .get_object("defining_code")
                    .filter(|code| {
                        code.get_object("terminology_id")
                            .and_then(|id| id.get_str("value"))
                            == Some("local")
                    })
                    .and_then(|code| code.get_str("code_string"));
                let known = local_code.is_some_and(|code| {
                    matches!(self.roots.last().map(|root| &root.kind), Some(ObjectKind::ArchetypeRoot { terms, .. })
                        if terms.terms.values().any(|terms| terms.contains_key(code)))
                });
                if known {
                    self.local(
                        Kind::CodedTextWrongTerm,
                        "a coded text whose text is not its code's".into(),
                        address,
                        set_text("value", "Not the term of this code"),
                        "/value",
                    );
                }
            }
            _ => {}
        }
    }

    fn attributes(
        &mut self,
        constraints: &'t [AttributeConstraint],
        object: &RmObject,
        address: &[Segment],
    ) {
        for constraint in constraints {
            let Some(value) = object.get(&constraint.name) else {
                continue;
            };
            let attribute = constraint.name.as_str();
            let mandatory = constraint.existence.lower.unwrap_or(0) >= 1;
            if mandatory && !(object.type_name() == "ELEMENT" && attribute == "value") {
                let kind = if object.type_name() == "DV_CODED_TEXT" && attribute == "defining_code"
                {
                    MutationKind::CodedTextMissingDefiningCode
                } else if attribute == "time" && object.is_a("EVENT") {
                    MutationKind::EventTimeMissing
                } else if attribute == "width" && object.is_a("INTERVAL_EVENT") {
                    MutationKind::IntervalEventWidthMissing
                } else if attribute == "context" && object.type_name() == "COMPOSITION" {
                    MutationKind::CompositionContextMissing
                } else {
                    MutationKind::MissingMandatory
                };
                self.local(
                    kind,
                    format!("mandatory attribute {attribute} removed"),
                    address,
                    Change::Remove(attribute.to_owned()),
                    &format!("/{attribute}"),
                );
            }
            if object.type_name() == "ELEMENT"
                && attribute == "value"
                && !mandatory
                && object.get("null_flavour").is_none()
            {
                self.local(
                    MutationKind::ElementWithoutValue,
                    "an element with neither value nor null flavour".into(),
                    address,
                    Change::Remove("value".into()),
                    "",
                );
            }
            match value {
                RmValue::List(members) if !constraint.children.is_empty() => {
                    self.container(constraint, members, object, address);
                }
                RmValue::Object(child) => self.single(constraint, object, child, address),
                RmValue::List(_) => {}
                primitive => {
                    if let Some(primitive_constraint) = primitive_of(constraint) {
                        self.primitive(primitive_constraint, primitive, object, attribute, address);
                    }
                }
            }
        }
    }

    fn single(
        &mut self,
        constraint: &'t AttributeConstraint,
        owner: &RmObject,
        child: &RmObject,
        address: &[Segment],
    ) {
        let attribute = constraint.name.as_str();
        let child_address = with(address, attribute, None);
        let children = &constraint.children;
        if children.is_empty() {
            self.invariants(child, &child_address, false);
            self.free(&[], child, &child_address);
            return;
        }
        if owner.type_name() == "ELEMENT" && attribute == "value" {
            let replacement = [
                dv("DV_BOOLEAN", ""),
                dv("DV_URI", "https://www.example.org/"),
                dv("DV_TEXT", "replaced"),
            ]
            .into_iter()
            .map(|mut candidate| {
                if candidate.type_name() == "DV_BOOLEAN" {
                    let _ = candidate.set("value", RmValue::Boolean(true));
                }
                candidate
            })
            .find(|candidate| {
                children.iter().all(|alternative| {
                    !candidate.is_a(concrete_type(&alternative.rm_type))
                        && !candidate.is_a(&alternative.rm_type)
                })
            });
            if let Some(replacement) = replacement {
                let description = format!(
                    "{} replaced by {}",
                    child.type_name(),
                    replacement.type_name()
                );
                self.edit(
                    MutationKind::WrongRmType,
                    description,
                    address,
                    Change::Set(attribute.to_owned(), RmValue::Object(Box::new(replacement))),
                    &child_address,
                    "",
                );
            }
        }
        let [only] = children.as_slice() else {
            return;
        };
        if node_id(child).is_some_and(|id| id.starts_with("at")) && !only.node_id.is_empty() {
            self.local(
                MutationKind::UnknownNodeId,
                format!("node id of {attribute} changed"),
                &child_address,
                Change::Set("archetype_node_id".into(), RmValue::String("at9999".into())),
                "",
            );
        }
        if attribute == "name" {
            self.name(only, child, &child_address);
            return;
        }
        if child.type_name() == "DV_INTERVAL" {
            // Swapping the limits breaks only the ordering when both have the same constraint.
            let same = only.attribute("lower").map(|limit| &limit.children)
                == only.attribute("upper").map(|limit| &limit.children);
            let before = self.edits.len();
            self.object(only, child, &child_address);
            if !same {
                self.edits.truncate(before);
            }
            return;
        }
        self.object(only, child, &child_address);
    }

    /// A name constrained by a list of texts (or codes, handled as code phrases).
    fn name(&mut self, constraint: &'t ObjectConstraint, name: &RmObject, address: &[Segment]) {
        if name.type_name() == "DV_TEXT"
            && let Some(PrimitiveConstraint::String { list, .. }) =
                constraint.attribute("value").and_then(primitive_of)
            && !list.is_empty()
        {
            self.local(
                MutationKind::NameNotAllowed,
                "a name outside the template's list".into(),
                address,
                Change::Set(
                    "value".into(),
                    RmValue::String("Not an allowed name".into()),
                ),
                "/value",
            );
            return;
        }
        self.object(constraint, name, address);
    }

    /// The child constraint a container member was validated against.
    fn matching_child(&self, children: &'t [ObjectConstraint], member: &RmObject) -> Option<usize> {
        let id = node_id(member).unwrap_or_default();
        let expected = |child: &'t ObjectConstraint| -> &'t str {
            match &child.kind {
                ObjectKind::InternalRef { target_path } if child.node_id.is_empty() => self
                    .roots
                    .last()
                    .and_then(|root| resolve(root, target_path))
                    .map_or("", |target| target.node_id.as_str()),
                _ => &child.node_id,
            }
        };
        let exact: Vec<usize> = (0..children.len())
            .filter(|index| {
                let child = &children[*index];
                !matches!(child.kind, ObjectKind::Slot { .. }) && expected(child) == id
            })
            .collect();
        if exact.is_empty() {
            // The validator takes the first slot that admits the archetype.
            return (!id.starts_with("at"))
                .then(|| {
                    children.iter().position(|child| {
                        matches!(&child.kind, ObjectKind::Slot { includes, excludes }
                            if slot_allows(includes, excludes, id) == Ok(true))
                    })
                })
                .flatten();
        }
        let name = name_value(member).unwrap_or_default();
        let accepts_name = |index: &usize| match children[*index]
            .attribute("name")
            .and_then(|name| name.children.first())
            .and_then(|name| name.attribute("value"))
            .and_then(primitive_of)
        {
            Some(PrimitiveConstraint::String { list, .. }) if !list.is_empty() => {
                list.iter().any(|allowed| allowed == name)
            }
            _ => true,
        };
        exact
            .iter()
            .copied()
            .find(accepts_name)
            .or(exact.first().copied())
    }

    fn container(
        &mut self,
        constraint: &'t AttributeConstraint,
        members: &[RmValue],
        owner: &RmObject,
        address: &[Segment],
    ) {
        let attribute = constraint.name.as_str();
        let children = &constraint.children;
        let matched: Vec<Option<usize>> = members
            .iter()
            .map(|member| match member {
                RmValue::Object(object) => self.matching_child(children, object),
                _ => None,
            })
            .collect();
        let mut counts = vec![0_u32; children.len()];
        for index in matched.iter().flatten() {
            counts[*index] += 1;
        }
        let length = u32::try_from(members.len()).unwrap_or(u32::MAX);
        let cardinality = constraint
            .cardinality
            .as_ref()
            .map(|cardinality| &cardinality.interval);
        let cardinality_allows =
            |count: u32| cardinality.is_none_or(|interval| interval.contains(count));
        let unique = constraint
            .cardinality
            .as_ref()
            .is_some_and(|cardinality| cardinality.is_unique);
        let _ = owner;
        for (position, child_index) in matched.iter().enumerate() {
            let Some(child_index) = *child_index else {
                continue;
            };
            let child = &children[child_index];
            let RmValue::Object(member) = &members[position] else {
                continue;
            };
            let lower = child.occurrences.lower.unwrap_or(0);
            let count = counts[child_index];
            let expected = if child.node_id.is_empty() {
                node_id(member).unwrap_or_default().to_owned()
            } else {
                child.node_id.clone()
            };
            let is_last_of_child = matched[position + 1..]
                .iter()
                .all(|other| *other != Some(child_index));
            if is_last_of_child && count == lower && count >= 1 && cardinality_allows(length - 1) {
                self.edit(
                    MutationKind::TooFewOccurrences,
                    format!("a member of {attribute} removed"),
                    address,
                    Change::RemoveMember(attribute.to_owned(), position),
                    address,
                    &format!("/{attribute}[{expected}]"),
                );
            }
            // A repeated slot member may be taken by another slot that admits it.
            let other_slot_admits = matches!(child.kind, ObjectKind::Slot { .. })
                && children.iter().enumerate().any(|(index, other)| {
                    index != child_index
                        && matches!(&other.kind, ObjectKind::Slot { includes, excludes }
                            if slot_allows(includes, excludes, node_id(member).unwrap_or_default()) != Ok(false))
                });
            // A repeat is also a duplicate where members must be unique: two violations.
            if is_last_of_child
                && !unique
                && !other_slot_admits
                && child.occurrences.upper == Some(count)
                && cardinality_allows(length + 1)
            {
                self.edit(
                    MutationKind::TooManyOccurrences,
                    format!("a member of {attribute} repeated"),
                    address,
                    Change::InsertMember(
                        attribute.to_owned(),
                        position + 1,
                        members[position].clone(),
                    ),
                    address,
                    &format!("/{attribute}[{expected}]"),
                );
            }
            if unique
                && child.occurrences.upper.is_none_or(|upper| count < upper)
                && cardinality_allows(length + 1)
            {
                self.edit(
                    MutationKind::DuplicateMember,
                    format!("a member of unique {attribute} repeated"),
                    address,
                    Change::InsertMember(
                        attribute.to_owned(),
                        position + 1,
                        members[position].clone(),
                    ),
                    &with(address, attribute, Some(position + 1)),
                    "",
                );
            }
            if count > lower && cardinality.is_some_and(|interval| interval.lower == Some(length)) {
                self.edit(
                    MutationKind::CardinalityTooFew,
                    format!("a member of {attribute} removed below its cardinality"),
                    address,
                    Change::RemoveMember(attribute.to_owned(), position),
                    address,
                    &format!("/{attribute}"),
                );
            }
            let member_address = with(address, attribute, Some(position));
            if count > lower
                && node_id(member).is_some()
                && !matches!(child.kind, ObjectKind::Slot { .. })
            {
                self.local(
                    MutationKind::UnknownNodeId,
                    format!("node id of a member of {attribute} changed"),
                    &member_address,
                    Change::Set("archetype_node_id".into(), RmValue::String("at9999".into())),
                    "",
                );
            }
            self.object(child, member, &member_address);
        }
        if cardinality.is_some_and(|interval| interval.lower.unwrap_or(0) >= 1) && length == 0 {
            // Nothing to remove.
        }
        self.slot_member(children, &counts, attribute, length, cardinality, address);
    }

    /// An archetype that no slot of the container admits, added as a new member.
    fn slot_member(
        &mut self,
        children: &'t [ObjectConstraint],
        counts: &[u32],
        attribute: &str,
        length: u32,
        cardinality: Option<&Interval<u32>>,
        address: &[Segment],
    ) {
        let slots: Vec<(usize, &ObjectConstraint)> = children
            .iter()
            .enumerate()
            .filter(|(_, child)| matches!(child.kind, ObjectKind::Slot { .. }))
            .collect();
        let Some((_, first)) = slots.first() else {
            return;
        };
        let type_name = concrete_type(&first.rm_type);
        let archetype_id = format!("openEHR-EHR-{type_name}.not_allowed.v1");
        let all_refuse = slots.iter().all(|(index, slot)| {
            let ObjectKind::Slot { includes, excludes } = &slot.kind else {
                return false;
            };
            slot.occurrences
                .upper
                .is_none_or(|upper| counts[*index] < upper)
                && slot_allows(includes, excludes, &archetype_id) == Ok(false)
        });
        if !all_refuse || cardinality.is_some_and(|interval| !interval.contains(length + 1)) {
            return;
        }
        let Ok(mut object) = RmObject::new(type_name) else {
            return;
        };
        let _ = object.set("archetype_node_id", RmValue::String(archetype_id.clone()));
        let _ = object.set(
            "name",
            RmValue::Object(Box::new(dv("DV_TEXT", "Not allowed here"))),
        );
        if type_name == "CLUSTER" {
            let mut element =
                RmObject::new("ELEMENT").unwrap_or_else(|_| unreachable!("ELEMENT is concrete"));
            let _ = element.set("archetype_node_id", RmValue::String("at0001".into()));
            let _ = element.set("name", RmValue::Object(Box::new(dv("DV_TEXT", "Detail"))));
            let _ = element.set(
                "value",
                RmValue::Object(Box::new(dv("DV_TEXT", "Example text"))),
            );
            let _ = object.set(
                "items",
                RmValue::List(vec![RmValue::Object(Box::new(element))]),
            );
        } else {
            return;
        }
        let position = length as usize;
        self.edit(
            MutationKind::SlotArchetypeNotAllowed,
            format!("{archetype_id} put in a slot of {attribute}"),
            address,
            Change::InsertMember(
                attribute.to_owned(),
                position,
                RmValue::Object(Box::new(object)),
            ),
            &with(address, attribute, Some(position)),
            "",
        );
    }

    fn primitive(
        &mut self,
        constraint: &PrimitiveConstraint,
        value: &RmValue,
        owner: &RmObject,
        attribute: &str,
        address: &[Segment],
    ) {
        use MutationKind as Kind;
        let suffix = format!("/{attribute}");
        let set = |value: RmValue| Change::Set(attribute.to_owned(), value);
        match (constraint, value) {
            (PrimitiveConstraint::String { list, .. }, RmValue::String(_)) if !list.is_empty() => {
                self.local(
                    Kind::StringList,
                    "a text outside the list".into(),
                    address,
                    set(RmValue::String("Not in the list".into())),
                    &suffix,
                );
            }
            (
                PrimitiveConstraint::String {
                    pattern: Some(pattern),
                    ..
                },
                RmValue::String(_),
            ) => {
                let wrong = "does not match!";
                if full_match(pattern, wrong) == Some(false) {
                    self.local(
                        Kind::StringPattern,
                        format!("a text not matching {pattern}"),
                        address,
                        set(RmValue::String(wrong.into())),
                        &suffix,
                    );
                }
            }
            (PrimitiveConstraint::Integer { list, range }, RmValue::Integer(_)) => {
                if owner.type_name() == "DV_PROPORTION" && attribute == "type" {
                    let numerator = real(owner.get("numerator")).unwrap_or_default();
                    let denominator = real(owner.get("denominator")).unwrap_or_default();
                    let other = (0..=4).find(|kind| {
                        (!list.is_empty()
                            && !list.contains(kind)
                            && range.as_ref().is_none_or(|range| range.contains(*kind)))
                            && proportion_ok(*kind, numerator, denominator)
                    });
                    if let Some(other) = other {
                        self.local(
                            Kind::IntegerList,
                            format!("proportion type {other}"),
                            address,
                            set(RmValue::Integer(other)),
                            &suffix,
                        );
                    }
                    return;
                }
                if !list.is_empty() {
                    let outside = list.iter().max().copied().unwrap_or_default() + 1;
                    if range.as_ref().is_none_or(|range| range.contains(outside)) {
                        self.local(
                            Kind::IntegerList,
                            format!("{outside} outside the list"),
                            address,
                            set(RmValue::Integer(outside)),
                            &suffix,
                        );
                    }
                } else if let Some(outside) = range.as_ref().and_then(integer_outside) {
                    self.local(
                        Kind::IntegerRange,
                        format!("{outside} outside the range"),
                        address,
                        set(RmValue::Integer(outside)),
                        &suffix,
                    );
                }
            }
            (PrimitiveConstraint::Real { list, range }, RmValue::Real(_) | RmValue::Integer(_)) => {
                let Some(outside) = range
                    .as_ref()
                    .and_then(real_outside)
                    .filter(|outside| !list.contains(outside))
                else {
                    return;
                };
                if owner.type_name() == "DV_PROPORTION" {
                    let kind = match owner.get("type") {
                        Some(RmValue::Integer(kind)) => *kind,
                        _ => return,
                    };
                    let numerator = real(owner.get("numerator")).unwrap_or_default();
                    let denominator = real(owner.get("denominator")).unwrap_or_default();
                    let (numerator, denominator) = match attribute {
                        "numerator" => (outside, denominator),
                        _ => (numerator, outside),
                    };
                    if !proportion_ok(kind, numerator, denominator) {
                        return;
                    }
                }
                self.local(
                    Kind::RealRange,
                    format!("{outside} outside the range"),
                    address,
                    set(RmValue::Real(outside)),
                    &suffix,
                );
            }
            (PrimitiveConstraint::Date(temporal), RmValue::String(_)) => {
                self.temporal(
                    temporal,
                    &["2024-01-15", "2024-01", "2024", "1800-01-01", "2300-12-31"],
                    |text| iso8601::parse_date(text).map(|date| (iso8601::date_key(&date), date)),
                    iso8601::date_matches,
                    address,
                    &suffix,
                );
            }
            (PrimitiveConstraint::Time(temporal), RmValue::String(_)) => {
                self.temporal(
                    temporal,
                    &["09:30:00", "09:30", "09", "00:00:00", "23:59:59"],
                    |text| iso8601::parse_time(text).map(|time| (iso8601::time_key(&time), time)),
                    iso8601::time_matches,
                    address,
                    &suffix,
                );
            }
            (PrimitiveConstraint::DateTime(temporal), RmValue::String(_)) => {
                self.temporal(
                    temporal,
                    &[
                        "2024-01-15T09:30:00Z",
                        "2024-01-15T09:30Z",
                        "2024-01-15T09Z",
                        "2024-01-15",
                        "2024-01",
                        "2024",
                        "1800-01-01T00:00:00Z",
                        "2300-12-31T23:59:59Z",
                    ],
                    |text| {
                        iso8601::parse_date_time(text)
                            .map(|value| (iso8601::date_time_key(&value), value))
                    },
                    iso8601::date_time_matches,
                    address,
                    &suffix,
                );
            }
            (PrimitiveConstraint::Duration(temporal), RmValue::String(_)) => {
                self.temporal(
                    temporal,
                    &[
                        "P1Y", "P1M", "P1W", "P1D", "PT1H", "PT1M", "PT1S", "PT25H", "PT0S",
                        "P400Y",
                    ],
                    |text| {
                        iso8601::parse_duration(text)
                            .map(|value| (iso8601::duration_key(&value), value))
                    },
                    iso8601::duration_matches,
                    address,
                    &suffix,
                );
            }
            _ => {}
        }
    }

    /// A value that breaks the pattern but not the range, and one that breaks the range but
    /// not the pattern, picked from candidates.
    #[allow(clippy::too_many_arguments)]
    fn temporal<T>(
        &mut self,
        constraint: &TemporalConstraint,
        candidates: &[&str],
        parse: impl Fn(&str) -> Option<(f64, T)>,
        matches: impl Fn(&str, &T) -> bool,
        address: &[Segment],
        suffix: &str,
    ) {
        let in_range = |key: f64| {
            constraint.range.as_ref().is_none_or(|range| {
                Interval {
                    lower: range.lower.as_deref().and_then(&parse).map(|(key, _)| key),
                    upper: range.upper.as_deref().and_then(&parse).map(|(key, _)| key),
                    lower_included: range.lower_included,
                    upper_included: range.upper_included,
                }
                .contains(key)
            })
        };
        let fits_pattern = |value: &T| {
            constraint
                .pattern
                .as_deref()
                .is_none_or(|pattern| matches(pattern, value))
        };
        if let Some(pattern) = &constraint.pattern
            && let Some(text) = candidates.iter().find(|text| {
                parse(text).is_some_and(|(key, value)| !matches(pattern, &value) && in_range(key))
            })
        {
            self.local(
                MutationKind::TemporalPattern,
                format!("{text} does not match {pattern}"),
                address,
                Change::Set(
                    suffix.trim_start_matches('/').to_owned(),
                    RmValue::String((*text).to_owned()),
                ),
                suffix,
            );
        }
        if constraint.range.is_some()
            && let Some(text) = candidates.iter().find(|text| {
                parse(text).is_some_and(|(key, value)| fits_pattern(&value) && !in_range(key))
            })
        {
            self.local(
                MutationKind::TemporalRange,
                format!("{text} outside the range"),
                address,
                Change::Set(
                    suffix.trim_start_matches('/').to_owned(),
                    RmValue::String((*text).to_owned()),
                ),
                suffix,
            );
        }
    }

    fn code_phrase(
        &mut self,
        constraint: &CodePhraseConstraint,
        object: &RmObject,
        address: &[Segment],
    ) {
        // A value set URI names its terminology, unless it names a terminology server.
        let value_set_names_one = constraint.reference_set_uri.as_deref().is_some_and(|uri| {
            uri.strip_prefix("terminology:")
                .map(|rest| rest.trim_start_matches('/'))
                .and_then(|rest| rest.split(['?', '/']).next())
                .is_some_and(|name| {
                    !name.is_empty()
                        && (!name.contains('.') || name.to_ascii_lowercase().contains("snomed"))
                })
        });
        if !constraint.terminology_id.is_empty() || value_set_names_one {
            self.wrong_terminology(address);
        }
        if !constraint.codes.is_empty() {
            let wrong = if constraint.terminology_id == "local" {
                "at9999"
            } else {
                "not-a-code"
            };
            self.local(
                MutationKind::CodeNotInList,
                format!("code {wrong} outside the list"),
                address,
                Change::Set("code_string".into(), RmValue::String(wrong.into())),
                "/code_string",
            );
        }
        let _ = object;
    }

    fn wrong_terminology(&mut self, address: &[Segment]) {
        self.local(
            MutationKind::WrongTerminology,
            "a code of another terminology".into(),
            address,
            Change::Set(
                "terminology_id".into(),
                RmValue::Object(Box::new(
                    code_phrase("WRONG-TERMINOLOGY", "x")
                        .get_object("terminology_id")
                        .cloned()
                        .unwrap_or_else(|| unreachable!("built above")),
                )),
            ),
            "/terminology_id/value",
        );
    }

    fn quantity(&mut self, items: &[QuantityItem], object: &RmObject, address: &[Segment]) {
        use MutationKind as Kind;
        if items.is_empty() {
            return;
        }
        self.local(
            Kind::QuantityUnit,
            "units outside the list".into(),
            address,
            Change::Set("units".into(), RmValue::String("[furlong]".into())),
            "/units",
        );
        let units = object.get_str("units").unwrap_or_default();
        let Some(item) = items.iter().find(|item| item.units == units) else {
            return;
        };
        if let Some(outside) = item.magnitude.as_ref().and_then(real_outside) {
            self.local(
                Kind::QuantityMagnitude,
                format!("magnitude {outside} outside the range"),
                address,
                Change::Set("magnitude".into(), RmValue::Real(outside)),
                "/magnitude",
            );
        }
        if let Some(precision) = &item.precision {
            let outside = match (precision.lower, precision.upper) {
                (_, Some(upper)) if upper >= 0 => Some(upper + 1),
                (Some(lower), _) if lower > 0 => Some(lower - 1),
                _ => None,
            };
            if let Some(outside) = outside {
                self.local(
                    Kind::QuantityPrecision,
                    format!("precision {outside}"),
                    address,
                    Change::Set("precision".into(), RmValue::Integer(i64::from(outside))),
                    "/precision",
                );
            }
        }
    }

    /// A denominator the proportion's kind forbids, where the template's range allows it.
    fn proportion(
        &mut self,
        constraint: &ObjectConstraint,
        object: &RmObject,
        address: &[Segment],
    ) {
        let Some(RmValue::Integer(kind)) = object.get("type") else {
            return;
        };
        let denominator = match kind {
            0 => 0.0,
            1 => 2.0,
            2 => 50.0,
            _ => 2.5,
        };
        let allowed = match constraint.attribute("denominator").and_then(primitive_of) {
            Some(PrimitiveConstraint::Real { list, range }) => {
                (list.is_empty() || list.contains(&denominator))
                    && range
                        .as_ref()
                        .is_none_or(|range| range.contains(denominator))
            }
            _ => true,
        };
        if allowed {
            self.local(
                MutationKind::ProportionInvariant,
                format!("denominator {denominator} for proportion kind {kind}"),
                address,
                Change::Set("denominator".into(), RmValue::Real(denominator)),
                "",
            );
        }
    }

    fn ordinal(&mut self, items: &[OrdinalItem], object: &RmObject, address: &[Segment]) {
        let Some(largest) = items.iter().map(|item| item.value).max() else {
            return;
        };
        let _ = object;
        self.local(
            MutationKind::OrdinalPair,
            "an ordinal value outside the list".into(),
            address,
            Change::Set("value".into(), RmValue::Integer(largest + 1000)),
            "",
        );
    }
}
