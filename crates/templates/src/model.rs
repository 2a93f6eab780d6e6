//! The constraint tree of an operational template (OPT 1.4), as parsed once per template.
//!
//! It mirrors the archetype model's constraint classes (C_COMPLEX_OBJECT, C_ATTRIBUTE,
//! C_ARCHETYPE_ROOT, ARCHETYPE_SLOT, C_PRIMITIVE_OBJECT and the openEHR profile's
//! C_CODE_PHRASE, C_DV_QUANTITY, C_DV_ORDINAL) closely enough that validation, web templates,
//! example compositions and the simplified formats can all walk the same tree. Nothing here
//! does IO or knows XML; `opt` builds it, the other modules read it.

use std::collections::{BTreeMap, BTreeSet};

/// An interval with optional bounds; `None` is unbounded on that side.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval<T> {
    pub lower: Option<T>,
    pub upper: Option<T>,
    pub lower_included: bool,
    pub upper_included: bool,
}

impl Template {
    /// The RM types a template may constrain at its root: the versioned objects of an EHR
    /// that are LOCATABLE.
    pub const ROOT_TYPES: [&'static str; 3] = ["COMPOSITION", "EHR_STATUS", "FOLDER"];
}

impl<T: PartialOrd + Copy> Interval<T> {
    /// The closed interval `lower..=upper`.
    pub fn closed(lower: T, upper: T) -> Self {
        Interval {
            lower: Some(lower),
            upper: Some(upper),
            lower_included: true,
            upper_included: true,
        }
    }

    /// Whether `value` lies inside the interval.
    pub fn contains(&self, value: T) -> bool {
        let above = match self.lower {
            None => true,
            Some(lower) if self.lower_included => value >= lower,
            Some(lower) => value > lower,
        };
        let below = match self.upper {
            None => true,
            Some(upper) if self.upper_included => value <= upper,
            Some(upper) => value < upper,
        };
        above && below
    }
}

/// Occurrences, existence and cardinality: counts, upper `None` meaning `*`.
pub type Multiplicity = Interval<u32>;

/// The parsed template: its identity and the constraint tree of its root (a COMPOSITION,
/// EHR_STATUS or FOLDER archetype).
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub template_id: String,
    pub concept: String,
    /// The template's original language (ISO 639-1 code), the default for names.
    pub language: String,
    /// The root: a C_ARCHETYPE_ROOT constraining one of [`Template::ROOT_TYPES`].
    pub root: ObjectConstraint,
}

/// A constraint on one RM object (C_OBJECT and its kinds).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectConstraint {
    /// The RM type it constrains (`rm_type_name`), e.g. `OBSERVATION`, `DV_QUANTITY`.
    pub rm_type: String,
    /// The node id: an at-code (`at0004`), or empty where the OPT gives none. For an
    /// archetype root this is the archetype id, as in AQL paths.
    pub node_id: String,
    pub occurrences: Multiplicity,
    pub kind: ObjectKind,
}

impl ObjectConstraint {
    /// The attribute constraints of a complex object or archetype root; none for other kinds.
    pub fn attributes(&self) -> &[AttributeConstraint] {
        match &self.kind {
            ObjectKind::Complex { attributes } | ObjectKind::ArchetypeRoot { attributes, .. } => {
                attributes
            }
            _ => &[],
        }
    }

    /// The node at an archetype path below this one (`/data[at0001]/events[at0002]`), as an
    /// ARCHETYPE_INTERNAL_REF names its target; an attribute without a predicate means its
    /// first child.
    pub fn resolve_path(&self, target_path: &str) -> Option<&ObjectConstraint> {
        let mut node = self;
        for segment in target_path.split('/').filter(|segment| !segment.is_empty()) {
            let (name, predicate) = match segment.split_once('[') {
                Some((name, rest)) => (name, Some(rest.trim_end_matches(']'))),
                None => (segment, None),
            };
            let attribute = node.attribute(name)?;
            node = match predicate {
                Some(id) => attribute
                    .children
                    .iter()
                    .find(|child| child.node_id == id)?,
                None => attribute.children.first()?,
            };
        }
        Some(node)
    }

    /// The constraint on the RM attribute `name`, if this object constrains it.
    pub fn attribute(&self, name: &str) -> Option<&AttributeConstraint> {
        self.attributes()
            .iter()
            .find(|attribute| attribute.name == name)
    }
}

/// What kind of constraint an [`ObjectConstraint`] is, with its content.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectKind {
    /// C_COMPLEX_OBJECT: constraints on attributes. No attributes means "any object of the
    /// type" (the archetype's `matches {*}`).
    Complex {
        attributes: Vec<AttributeConstraint>,
    },
    /// C_ARCHETYPE_ROOT: an archetype used in the template, with its own terminology.
    ArchetypeRoot {
        archetype_id: String,
        attributes: Vec<AttributeConstraint>,
        /// This archetype's term definitions (at-codes) and constraint definitions (ac-codes).
        terms: Terminology,
    },
    /// ARCHETYPE_SLOT not filled by the template: archetype ids matching an include pattern
    /// and no exclude pattern (patterns are the regular expressions of the OPT's assertions).
    Slot {
        includes: Vec<String>,
        excludes: Vec<String>,
    },
    /// ARCHETYPE_INTERNAL_REF: the same constraint as the node at `target_path` (an
    /// archetype path within the enclosing archetype root).
    InternalRef { target_path: String },
    /// CONSTRAINT_REF: a code constraint defined outside the archetype, named by an ac-code
    /// of the enclosing archetype root (its text is in that root's [`Terminology`]).
    ConstraintRef { reference: String },
    /// C_PRIMITIVE_OBJECT: a constraint on a primitive value (`value` of a DV_TEXT, etc.).
    Primitive(PrimitiveConstraint),
    /// C_CODE_PHRASE: allowed codes of one terminology (local at-codes when the terminology
    /// is `local`), or an external value set named by `reference_set_uri`.
    CodePhrase(CodePhraseConstraint),
    /// C_DV_QUANTITY: a property and allowed unit/magnitude/precision combinations.
    Quantity {
        property: Option<CodeRef>,
        items: Vec<QuantityItem>,
    },
    /// C_DV_ORDINAL: the allowed (value, symbol) pairs.
    Ordinal { items: Vec<OrdinalItem> },
    /// C_DV_SCALE (RM 1.1): the allowed (value, symbol) pairs of a scale.
    Scale { items: Vec<ScaleItem> },
}

/// A constraint on one RM attribute (C_SINGLE_ATTRIBUTE or C_MULTIPLE_ATTRIBUTE).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeConstraint {
    /// The RM attribute (`rm_attribute_name`), e.g. `data`, `items`, `value`.
    pub name: String,
    /// Whether the attribute must be present: `0..1` or `1..1`.
    pub existence: Multiplicity,
    /// For a container attribute (C_MULTIPLE_ATTRIBUTE): how many members it may hold.
    pub cardinality: Option<Cardinality>,
    /// The alternatives: for a single attribute, the value must match one of them; for a
    /// multiple attribute, each member must match one, within its occurrences.
    pub children: Vec<ObjectConstraint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cardinality {
    pub interval: Multiplicity,
    pub is_ordered: bool,
    pub is_unique: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PrimitiveConstraint {
    /// C_STRING: a pattern (a regular expression) or a list of allowed values; neither means any.
    String {
        pattern: Option<String>,
        list: Vec<String>,
    },
    Integer {
        list: Vec<i64>,
        range: Option<Interval<i64>>,
    },
    Real {
        list: Vec<f64>,
        range: Option<Interval<f64>>,
    },
    Boolean {
        true_valid: bool,
        false_valid: bool,
    },
    /// C_DATE, C_TIME, C_DATE_TIME: an ISO 8601 pattern such as `YYYY-MM-??` and/or a range
    /// of ISO 8601 values (kept as text; `validate` compares them).
    Date(TemporalConstraint),
    Time(TemporalConstraint),
    DateTime(TemporalConstraint),
    /// C_DURATION: a pattern such as `PYMWD` and/or a range of ISO 8601 durations.
    Duration(TemporalConstraint),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemporalConstraint {
    pub pattern: Option<String>,
    pub range: Option<Interval<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CodePhraseConstraint {
    /// `local` for at-codes of the enclosing archetype, else an external terminology id.
    pub terminology_id: String,
    /// Allowed codes; empty means any code of the terminology (or of the value set).
    pub codes: Vec<String>,
    /// An external value set (C_CODE_REFERENCE's `referenceSetUri`, e.g. `terminology:LOINC?subset=...`).
    pub reference_set_uri: Option<String>,
}

/// A code in a terminology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRef {
    pub terminology_id: String,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuantityItem {
    pub units: String,
    pub magnitude: Option<Interval<f64>>,
    pub precision: Option<Interval<i32>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrdinalItem {
    pub value: i64,
    pub symbol: CodeRef,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScaleItem {
    pub value: f64,
    pub symbol: CodeRef,
}

/// One archetype's terms, by language then code (`at0004`, `ac0001`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Terminology {
    pub terms: BTreeMap<String, BTreeMap<String, Term>>,
    /// Term bindings: by external terminology (`SNOMED-CT`), then local code, the bound code.
    pub bindings: BTreeMap<String, BTreeMap<String, CodeRef>>,
    /// Constraint bindings: by ac-code, then external terminology, the value set's URI
    /// (`terminology:SNOMED-CT?subset=...`): where a CONSTRAINT_REF's codes come from.
    pub constraint_bindings: BTreeMap<String, BTreeMap<String, String>>,
    /// A term's items besides its text and description (`comment`, `source`...), by
    /// language, code and item id: the web template shows them as annotations.
    pub term_items: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// What the OPT says about nodes outside their constraints. Only the template's root
    /// archetype carries it (read it through [`Template::details`]): it is template-wide,
    /// and the terminology is the one part of the tree built only through `Default`, so
    /// adding it changed no constructor.
    pub details: TemplateDetails,
}

/// What an OPT says about its nodes besides constraining them, by path. Paths are
/// archetype paths from the template root without its archetype id and without name
/// predicates (`/content[openEHR-EHR-OBSERVATION.x.v1]/data[at0001]/events[at0002]`), the
/// form AQL paths below a composition take.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemplateDetails {
    /// The template's `<annotations path=...>`: item id to text, by the annotated node's path.
    pub annotations: BTreeMap<String, BTreeMap<String, String>>,
    /// The template's `<constraints>` default values, by the path of the attribute holding
    /// the data value (`.../items[at0009]/value`), then by the value's field (`value`,
    /// `magnitude`, `units`, `numerator`; `defining_code` holds a code's `code_string`).
    pub default_values: BTreeMap<String, BTreeMap<String, String>>,
    /// The `assumed_value`s of constraints, by the constrained node's path
    /// (`.../items[at0004]/value` for a C_DV_QUANTITY, `.../value/magnitude` for a primitive).
    pub assumed_values: BTreeMap<String, AssumedValue>,
    /// The paths of the C_STRING lists marked `list_open` (values outside the list allowed
    /// as well: the list is a suggestion).
    pub open_string_lists: BTreeSet<String>,
}

/// The value a constraint assumes when the data leaves it out.
#[derive(Debug, Clone, PartialEq)]
pub enum AssumedValue {
    /// A primitive's value as the OPT writes it (`0`, `true`, `PT1H`).
    Primitive(String),
    /// A C_DV_QUANTITY's magnitude and units, either possibly absent.
    Quantity {
        magnitude: Option<f64>,
        units: Option<String>,
    },
    /// A C_DV_ORDINAL's value and symbol.
    Ordinal { value: Option<i64>, symbol: CodeRef },
    /// A C_CODE_PHRASE's code.
    Code(CodeRef),
}

impl Template {
    /// The OPT's annotations, default values and assumed values (kept on the root).
    pub fn details(&self) -> Option<&TemplateDetails> {
        match &self.root.kind {
            ObjectKind::ArchetypeRoot { terms, .. } => Some(&terms.details),
            _ => None,
        }
    }
}

impl Terminology {
    /// The term for `code` in `language`, falling back to any language that has it.
    pub fn term(&self, language: &str, code: &str) -> Option<&Term> {
        self.terms
            .get(language)
            .and_then(|terms| terms.get(code))
            .or_else(|| self.terms.values().find_map(|terms| terms.get(code)))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Term {
    pub text: String,
    pub description: String,
}
