//! Semantic checks of a parsed query, before anything runs: every variable is declared once
//! in FROM and names a known class, every path walks attributes its RM types have, every
//! parameter the query uses is given, and literals compared with a typed path have that
//! type. The result, [`Checked`], carries what the compiler needs: each variable's class and
//! archetype, and the RM typing of paths ([`type_path`]).
//!
//! Paths are typed by the RM alone: a path is accepted when at least one RM type its
//! variable may hold has the attribute at each step (`ELEMENT.value` is a DATA_VALUE, so
//! `value/magnitude` is accepted because DV_QUANTITY and others have `magnitude`). The EHR
//! class navigates `ehr_status` and `directory` into the objects they reference, as queries
//! written for other CDRs expect.

use std::collections::{BTreeSet, HashMap};

use openehr_rm::model::{self, ValueKind};
use serde_json::Value;

use crate::ast::{
    AggregateArgument, ClassExpr, Condition, ContainsExpr, Expr, LikePattern, Literal,
    LiteralValue, MatchesOperand, NameShortcut, NodeId, ObjectPath, Parameter, Path, PathSegment,
    Predicate, PredicateOperand, Query, Span,
};

/// A semantic error: what is wrong and where.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckError {
    pub kind: CheckErrorKind,
    pub message: String,
    pub span: Span,
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "line {}, column {}: {}",
            self.span.line, self.span.column, self.message
        )
    }
}

/// The kinds of semantic error, for clients that branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckErrorKind {
    UnknownClass,
    UnknownVariable,
    DuplicateVariable,
    UnknownAttribute,
    MissingParameter,
    TypeMismatch,
    /// A whole RM object (not one of its values) compared.
    ObjectComparison,
    /// A query the language gives no meaning to (a variable under NOT CONTAINS used).
    InvalidQuery,
    Unsupported,
}

impl CheckErrorKind {
    /// A stable code for the error body.
    pub fn code(self) -> &'static str {
        match self {
            CheckErrorKind::UnknownClass => "unknown_class",
            CheckErrorKind::UnknownVariable => "unknown_variable",
            CheckErrorKind::DuplicateVariable => "duplicate_variable",
            CheckErrorKind::UnknownAttribute => "unknown_attribute",
            CheckErrorKind::MissingParameter => "missing_parameter",
            CheckErrorKind::TypeMismatch => "type_mismatch",
            CheckErrorKind::ObjectComparison => "object_comparison",
            CheckErrorKind::InvalidQuery => "invalid_query",
            CheckErrorKind::Unsupported => "unsupported",
        }
    }
}

fn error(kind: CheckErrorKind, span: Span, message: impl Into<String>) -> CheckError {
    CheckError {
        kind,
        message: message.into(),
        span,
    }
}

/// What a FROM variable ranges over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableClass {
    Ehr,
    /// `VERSION`: versions of objects; `all` for `[ALL_VERSIONS]`.
    Version {
        all: bool,
    },
    VersionedObject,
    /// An RM class (its id in the RM table); objects of it or of a descendant match.
    Rm(u16),
}

/// One variable of the FROM clause (also anonymous class expressions, as `_1`, `_2`...).
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub class: VariableClass,
    /// The archetype id or node id of a `[...]` predicate, when the predicate is one.
    pub node_id: Option<String>,
    pub predicate: Option<Predicate>,
    /// The variable it is contained in.
    pub parent: Option<usize>,
    /// Under a NOT: it constrains its parent but binds nothing.
    pub negated: bool,
    /// Under an OR: it may be NULL in a row.
    pub optional: bool,
    /// The OR operands it is declared in, outermost first: (OR number in FROM, operand
    /// index). A row binds the variables of one operand of each OR.
    pub branches: Vec<(usize, usize)>,
    pub span: Span,
}

impl VariableClass {
    /// The RM class of the objects a variable of this class binds, for path typing.
    pub fn rm_class(self) -> Option<u16> {
        match self {
            VariableClass::Rm(class) => Some(class),
            VariableClass::Ehr => model::class_id("EHR"),
            VariableClass::Version { .. } => model::class_id("ORIGINAL_VERSION"),
            VariableClass::VersionedObject => model::class_id("VERSIONED_OBJECT"),
        }
    }
}

impl Variable {
    /// The RM class of the objects the variable binds, for path typing.
    pub fn rm_class(&self) -> Option<u16> {
        self.class.rm_class()
    }
}

/// A checked query.
#[derive(Debug, Clone)]
pub struct Checked<'q> {
    pub query: &'q Query,
    pub variables: Vec<Variable>,
    /// The parameters the query uses, with the values given.
    pub parameters: HashMap<String, Value>,
    /// SELECT aliases, by column.
    pub aliases: Vec<Option<String>>,
}

impl Checked<'_> {
    pub fn variable(&self, name: &str) -> Option<(usize, &Variable)> {
        self.variables
            .iter()
            .enumerate()
            .find(|(_, variable)| variable.name == name)
    }
}

/// The primitive type at the end of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    String,
    Integer,
    Real,
    Boolean,
}

/// What a path may yield, by the RM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathType {
    /// The concrete RM classes of the objects at the end (empty for a primitive).
    pub classes: BTreeSet<u16>,
    /// The primitive at the end, if the path ends at one.
    pub primitive: Option<Primitive>,
    /// For a primitive: the concrete classes of the object holding it (`value` of a
    /// DV_DATE_TIME is a date-time string).
    pub holders: BTreeSet<u16>,
    /// Whether a step goes through a list, so the path may yield several values.
    pub multiple: bool,
    /// Whether the path may end at values of different kinds (a primitive of one type or
    /// another, or an object): `items[at0002]/value/value` is a string of a DV_TEXT, an
    /// integer of a DV_ORDINAL or an object of a DV_STATE. Nothing is refused for its type.
    pub mixed: bool,
}

impl PathType {
    /// Whether the path yields the `value` string of a date, time or date-time.
    pub fn is_temporal(&self) -> bool {
        self.primitive == Some(Primitive::String)
            && !self.holders.is_empty()
            && self.holders.iter().all(|holder| {
                matches!(
                    model::class(*holder).name,
                    "DV_DATE_TIME" | "DV_DATE" | "DV_TIME"
                )
            })
    }

    /// Whether the path yields DV_DATE_TIME, DV_DATE, DV_TIME or DV_DURATION objects, which
    /// compare as their `value` (docs/aql.md).
    pub fn is_temporal_object(&self) -> bool {
        self.primitive.is_none()
            && !self.classes.is_empty()
            && self.classes.iter().all(|class| {
                matches!(
                    model::class(*class).name,
                    "DV_DATE_TIME" | "DV_DATE" | "DV_TIME" | "DV_DURATION"
                )
            })
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self.primitive, Some(Primitive::Integer | Primitive::Real))
    }
}

/// Concrete classes conforming to `class`.
pub(crate) fn concrete(class: u16) -> BTreeSet<u16> {
    (0..u16::try_from(model::CLASSES.len()).unwrap_or(u16::MAX))
        .filter(|candidate| {
            !model::class(*candidate).is_abstract && model::conforms(*candidate, class)
        })
        .collect()
}

/// Types a path from a variable of class `start` through `segments`.
pub fn type_path(start: u16, segments: &[PathSegment]) -> Result<PathType, CheckError> {
    let ehr = model::class_id("EHR");
    let mut classes = concrete(start);
    if Some(start) == ehr {
        classes = BTreeSet::from([start]);
    }
    let mut multiple = false;
    let mut mixed = false;
    let mut holders = BTreeSet::new();
    let mut primitive = None;
    for (position, segment) in segments.iter().enumerate() {
        let name = segment.attribute.name.as_str();
        if primitive.is_some() {
            return Err(error(
                CheckErrorKind::UnknownAttribute,
                segment.attribute.span,
                format!(
                    "'{name}' follows '{}', which is not an object",
                    segments[position - 1].attribute.name
                ),
            ));
        }
        let mut next = BTreeSet::new();
        let mut next_primitives: Vec<Primitive> = Vec::new();
        let mut found = false;
        for class in &classes {
            // The EHR's references are navigated into the objects they name.
            if Some(*class) == ehr && matches!(name, "ehr_status" | "directory") {
                let target = if name == "ehr_status" {
                    "EHR_STATUS"
                } else {
                    "FOLDER"
                };
                if let Some(id) = model::class_id(target) {
                    next.insert(id);
                    found = true;
                }
                continue;
            }
            let Some(attribute) = model::class(*class).attribute(name) else {
                continue;
            };
            found = true;
            multiple |= attribute.list;
            let found_primitive = match attribute.kind {
                ValueKind::Object => {
                    next.extend(concrete(attribute.class));
                    None
                }
                ValueKind::String => Some(Primitive::String),
                ValueKind::Integer | ValueKind::Integer64 => Some(Primitive::Integer),
                ValueKind::Real | ValueKind::Double => Some(Primitive::Real),
                ValueKind::Boolean => Some(Primitive::Boolean),
            };
            if let Some(found_primitive) = found_primitive
                && !next_primitives.contains(&found_primitive)
            {
                next_primitives.push(found_primitive);
            }
            if attribute.kind != ValueKind::Object {
                holders.insert(*class);
            }
        }
        if !found {
            let on = describe_classes(&classes);
            return Err(error(
                CheckErrorKind::UnknownAttribute,
                segment.attribute.span,
                format!("'{name}' is not an attribute of {on}"),
            ));
        }
        if let Some(Predicate::Node {
            node: NodeId::Archetype(archetype),
            ..
        }) = &segment.predicate
        {
            // An archetype id names the class: keep the classes it can be.
            if let Some(kind) = archetype_class(archetype) {
                next.retain(|class| model::conforms(*class, kind));
            }
        }
        if next.is_empty() && next_primitives.is_empty() {
            return Err(error(
                CheckErrorKind::UnknownAttribute,
                segment.span,
                format!("'{name}' cannot hold what the path asks for"),
            ));
        }
        // Integers and reals are both numbers.
        if next_primitives.contains(&Primitive::Real) {
            next_primitives.retain(|kind| *kind != Primitive::Integer);
        }
        mixed = next_primitives.len() > 1 || (!next_primitives.is_empty() && !next.is_empty());
        classes = next;
        primitive = match next_primitives.as_slice() {
            [one] if classes.is_empty() => Some(*one),
            _ => None,
        };
        if primitive.is_none() {
            holders.clear();
        }
    }
    Ok(PathType {
        classes,
        primitive,
        holders,
        multiple,
        mixed,
    })
}

/// The RM class an archetype id names (`openEHR-EHR-OBSERVATION.x.v1` is an OBSERVATION).
pub fn archetype_class(archetype_id: &str) -> Option<u16> {
    let class = archetype_id.split('-').nth(2)?.split('.').next()?;
    model::class_id(class)
}

fn describe_classes(classes: &BTreeSet<u16>) -> String {
    let names: Vec<&str> = classes
        .iter()
        .map(|class| model::class(*class).name)
        .collect();
    match names.as_slice() {
        [] => "a primitive value".to_owned(),
        [one] => (*one).to_owned(),
        many if many.len() <= 4 => many.join(" or "),
        many => format!("{} or {} other types", many[..3].join(", "), many.len() - 3),
    }
}

/// Checks a parsed query with the parameters given for it.
pub fn check<'q>(
    query: &'q Query,
    parameters: &serde_json::Map<String, Value>,
) -> Result<Checked<'q>, CheckError> {
    let mut checker = Checker {
        variables: Vec::new(),
        parameters: HashMap::new(),
        given: parameters,
        anonymous: 0,
        branch: Vec::new(),
        ors: 0,
    };
    checker.contains(&query.from, None, false, false)?;
    let aliases: Vec<Option<String>> = query
        .select
        .columns
        .iter()
        .map(|column| column.alias.as_ref().map(|alias| alias.name.clone()))
        .collect();
    for column in &query.select.columns {
        checker.expr(&column.expr, &[])?;
    }
    if let Some(condition) = &query.where_clause {
        checker.condition(condition)?;
    }
    for order in &query.order_by {
        checker.expr(&order.expr, &aliases)?;
    }
    Ok(Checked {
        query,
        variables: checker.variables,
        parameters: checker.parameters,
        aliases,
    })
}

struct Checker<'p> {
    variables: Vec<Variable>,
    parameters: HashMap<String, Value>,
    given: &'p serde_json::Map<String, Value>,
    anonymous: usize,
    /// The OR operands the class being declared is inside: (OR number, operand index).
    branch: Vec<(usize, usize)>,
    ors: usize,
}

impl Checker<'_> {
    fn contains(
        &mut self,
        expr: &ContainsExpr,
        parent: Option<usize>,
        negated: bool,
        optional: bool,
    ) -> Result<(), CheckError> {
        match expr {
            ContainsExpr::Class(class) => {
                self.class(class, parent, negated, optional)?;
            }
            ContainsExpr::Contains {
                parent: class,
                negated: not_contains,
                child,
                ..
            } => {
                let index = self.class(class, parent, negated, optional)?;
                self.contains(child, Some(index), negated || *not_contains, optional)?;
            }
            ContainsExpr::And { operands, .. } => {
                for operand in operands {
                    self.contains(operand, parent, negated, optional)?;
                }
            }
            ContainsExpr::Or { operands, .. } => {
                let or = self.ors;
                self.ors += 1;
                for (index, operand) in operands.iter().enumerate() {
                    self.branch.push((or, index));
                    let result = self.contains(operand, parent, negated, true);
                    self.branch.pop();
                    result?;
                }
            }
            ContainsExpr::Not { operand, .. } => {
                self.contains(operand, parent, true, optional)?;
            }
        }
        Ok(())
    }

    fn class(
        &mut self,
        class: &ClassExpr,
        parent: Option<usize>,
        negated: bool,
        optional: bool,
    ) -> Result<usize, CheckError> {
        let written = class.class.name.to_ascii_uppercase();
        let variable_class = match written.as_str() {
            "EHR" => VariableClass::Ehr,
            "VERSION" => VariableClass::Version {
                all: matches!(class.predicate, Some(Predicate::AllVersions(_))),
            },
            "VERSIONED_OBJECT" => VariableClass::VersionedObject,
            name => match model::class_id(name) {
                Some(id) => VariableClass::Rm(id),
                None => {
                    return Err(error(
                        CheckErrorKind::UnknownClass,
                        class.class.span,
                        format!("'{}' is not an RM class", class.class.name),
                    ));
                }
            },
        };
        if variable_class == VariableClass::Ehr && parent.is_some() {
            return Err(error(
                CheckErrorKind::Unsupported,
                class.class.span,
                "EHR can only be the outermost class of FROM",
            ));
        }
        let name = match &class.variable {
            Some(variable) => {
                if self
                    .variables
                    .iter()
                    .any(|known| known.name == variable.name)
                {
                    return Err(error(
                        CheckErrorKind::DuplicateVariable,
                        variable.span,
                        format!("variable '{}' is declared twice", variable.name),
                    ));
                }
                variable.name.clone()
            }
            None => {
                self.anonymous += 1;
                format!("_{}", self.anonymous)
            }
        };
        let node_id = match &class.predicate {
            Some(Predicate::Node { node, name, .. }) => {
                if let Some(name) = name {
                    self.name_shortcut(name)?;
                }
                if let (NodeId::Archetype(archetype), VariableClass::Rm(rm_class)) =
                    (node, variable_class)
                    && let Some(named) = archetype_class(archetype)
                    && !model::conforms(named, rm_class)
                    && !model::conforms(rm_class, named)
                {
                    return Err(error(
                        CheckErrorKind::TypeMismatch,
                        class.span,
                        format!(
                            "archetype {archetype} is a {}, not a {}",
                            model::class(named).name,
                            model::class(rm_class).name
                        ),
                    ));
                }
                Some(node.as_str().to_owned())
            }
            Some(Predicate::Parameter(parameter)) => Some(self.parameter_string(parameter)?),
            Some(Predicate::LatestVersion(_) | Predicate::AllVersions(_)) | None => None,
            Some(other) => {
                if let Some(start) = variable_class.rm_class() {
                    self.predicate(other, start)?;
                }
                None
            }
        };
        if matches!(
            (&variable_class, &class.predicate),
            (
                VariableClass::Rm(_) | VariableClass::Ehr,
                Some(Predicate::LatestVersion(_) | Predicate::AllVersions(_))
            )
        ) {
            return Err(error(
                CheckErrorKind::Unsupported,
                class.span,
                "LATEST_VERSION and ALL_VERSIONS apply to VERSION only",
            ));
        }
        self.variables.push(Variable {
            name,
            class: variable_class,
            node_id,
            predicate: class.predicate.clone(),
            parent,
            negated,
            optional,
            branches: self.branch.clone(),
            span: class.span,
        });
        Ok(self.variables.len() - 1)
    }

    fn parameter(&mut self, parameter: &Parameter) -> Result<Value, CheckError> {
        match self.given.get(&parameter.name) {
            Some(value) => {
                self.parameters
                    .insert(parameter.name.clone(), value.clone());
                Ok(value.clone())
            }
            None => Err(error(
                CheckErrorKind::MissingParameter,
                parameter.span,
                format!("parameter ${} is not given", parameter.name),
            )),
        }
    }

    fn parameter_string(&mut self, parameter: &Parameter) -> Result<String, CheckError> {
        match self.parameter(parameter)? {
            Value::String(text) => Ok(text),
            other => Err(error(
                CheckErrorKind::TypeMismatch,
                parameter.span,
                format!(
                    "parameter ${} must be a string, not {}",
                    parameter.name,
                    show(&other)
                ),
            )),
        }
    }

    fn name_shortcut(&mut self, name: &NameShortcut) -> Result<(), CheckError> {
        if let NameShortcut::Parameter(parameter) = name {
            self.parameter_string(parameter)?;
        }
        Ok(())
    }

    fn predicate(&mut self, predicate: &Predicate, start: u16) -> Result<(), CheckError> {
        match predicate {
            Predicate::Node { name, .. } => {
                if let Some(name) = name {
                    self.name_shortcut(name)?;
                }
            }
            Predicate::Parameter(parameter) => {
                self.parameter_string(parameter)?;
            }
            Predicate::Comparison { path, operand, .. } => {
                let path_type = self.object_path(path, start)?;
                match operand {
                    PredicateOperand::Literal(literal) => {
                        literal_fits(&path_type, literal, path.span)?;
                    }
                    PredicateOperand::Parameter(parameter) => {
                        let value = self.parameter(parameter)?;
                        value_fits(&path_type, &value, parameter.span)?;
                    }
                    PredicateOperand::Path(other) => {
                        self.object_path(other, start)?;
                    }
                    PredicateOperand::Node(..) => {}
                }
            }
            Predicate::Matches { path, .. } => {
                self.object_path(path, start)?;
            }
            Predicate::And { operands, .. } | Predicate::Or { operands, .. } => {
                for operand in operands {
                    self.predicate(operand, start)?;
                }
            }
            Predicate::LatestVersion(_) | Predicate::AllVersions(_) => {}
        }
        Ok(())
    }

    fn object_path(&mut self, path: &ObjectPath, start: u16) -> Result<PathType, CheckError> {
        self.segment_predicates(&path.segments, start)?;
        type_path(start, &path.segments)
    }

    /// Checks the predicates inside a path's segments (their own paths start at the object
    /// the segment reaches).
    fn segment_predicates(
        &mut self,
        segments: &[PathSegment],
        start: u16,
    ) -> Result<(), CheckError> {
        for (position, segment) in segments.iter().enumerate() {
            if let Some(predicate) = &segment.predicate {
                let reached = type_path(start, &segments[..=position])?;
                if let Some(class) = reached.classes.iter().next() {
                    self.predicate(predicate, *class)?;
                }
            }
        }
        Ok(())
    }

    /// Types a path in SELECT, WHERE or ORDER BY; `aliases` are the SELECT aliases a bare
    /// name may refer to (in ORDER BY).
    fn path(
        &mut self,
        path: &Path,
        aliases: &[Option<String>],
    ) -> Result<Option<PathType>, CheckError> {
        let found = self
            .variables
            .iter()
            .position(|variable| variable.name == path.variable.name);
        let Some(index) = found else {
            if path.segments.is_empty()
                && aliases
                    .iter()
                    .any(|alias| alias.as_deref() == Some(path.variable.name.as_str()))
            {
                return Ok(None);
            }
            return Err(error(
                CheckErrorKind::UnknownVariable,
                path.variable.span,
                format!("'{}' is not a variable of FROM", path.variable.name),
            ));
        };
        let variable = &self.variables[index];
        if variable.negated {
            return Err(error(
                CheckErrorKind::InvalidQuery,
                path.variable.span,
                format!(
                    "'{}' is under NOT CONTAINS and binds nothing to select or test",
                    path.variable.name
                ),
            ));
        }
        let Some(start) = variable.rm_class() else {
            return Ok(None);
        };
        if let Some(predicate) = &path.predicate {
            self.predicate(predicate, start)?;
        }
        self.segment_predicates(&path.segments, start)?;
        type_path(start, &path.segments).map(Some)
    }

    fn expr(
        &mut self,
        expr: &Expr,
        aliases: &[Option<String>],
    ) -> Result<Option<PathType>, CheckError> {
        match expr {
            Expr::Path(path) => self.path(path, aliases),
            Expr::Literal(_) => Ok(None),
            Expr::Parameter(parameter) => {
                self.parameter(parameter)?;
                Ok(None)
            }
            Expr::Function(call) => {
                if call.function == crate::ast::Function::Other {
                    return Err(error(
                        CheckErrorKind::Unsupported,
                        call.name.span,
                        format!("'{}' is not a function Kith knows", call.name.name),
                    ));
                }
                for argument in &call.args {
                    self.expr(argument, aliases)?;
                }
                Ok(None)
            }
            Expr::Aggregate(call) => {
                if let AggregateArgument::Path(path) = &call.argument {
                    let typed = self.path(path, aliases)?;
                    if matches!(
                        call.function,
                        crate::ast::Aggregate::Sum | crate::ast::Aggregate::Avg
                    ) && let Some(typed) = &typed
                        && !typed.is_numeric()
                    {
                        return Err(error(
                            CheckErrorKind::TypeMismatch,
                            path.span,
                            format!(
                                "{} needs a number, and this path is not one",
                                call.function.canonical_name()
                            ),
                        ));
                    }
                }
                Ok(None)
            }
        }
    }

    fn condition(&mut self, condition: &Condition) -> Result<(), CheckError> {
        match condition {
            Condition::Comparison { left, right, .. } => {
                let left_type = self.expr(left, &[])?;
                let right_type = self.expr(right, &[])?;
                for (typed, other) in [(&left_type, right.as_ref()), (&right_type, left.as_ref())] {
                    let Some(typed) = typed else {
                        continue;
                    };
                    if typed.primitive.is_none() && !typed.mixed && !typed.is_temporal_object() {
                        return Err(error(
                            CheckErrorKind::ObjectComparison,
                            condition.span(),
                            format!(
                                "this compares a whole {} rather than a value of it; add the attribute to compare (for example /value or /magnitude)",
                                describe_classes(&typed.classes)
                            ),
                        ));
                    }
                    match other {
                        Expr::Literal(literal) => literal_fits(typed, literal, literal.span)?,
                        Expr::Parameter(parameter) => {
                            let value = self.parameter(parameter)?;
                            value_fits(typed, &value, parameter.span)?;
                        }
                        _ => {}
                    }
                }
            }
            Condition::Like {
                operand, pattern, ..
            } => {
                let typed = self.expr(operand, &[])?;
                if let Some(typed) = typed
                    && !typed.mixed
                    && typed.primitive != Some(Primitive::String)
                {
                    return Err(error(
                        CheckErrorKind::TypeMismatch,
                        operand.span(),
                        "LIKE needs a string",
                    ));
                }
                if let LikePattern::Parameter(parameter) = pattern {
                    self.parameter_string(parameter)?;
                }
            }
            Condition::Matches {
                operand, matches, ..
            } => {
                let typed = self.expr(operand, &[])?;
                if let MatchesOperand::ValueList { items, .. } = matches {
                    for item in items {
                        self.expr(item, &[])?;
                        if let (Some(typed), Expr::Literal(literal)) = (&typed, item)
                            && typed.primitive.is_some()
                        {
                            literal_fits(typed, literal, literal.span)?;
                        }
                    }
                }
            }
            Condition::Exists { path, .. } => {
                self.path(path, &[])?;
            }
            Condition::Not { operand, .. } => self.condition(operand)?,
            Condition::And { operands, .. }
            | Condition::Or { operands, .. }
            | Condition::Xor { operands, .. } => {
                for operand in operands {
                    self.condition(operand)?;
                }
            }
        }
        Ok(())
    }
}

fn mismatch(span: Span, message: String) -> CheckError {
    error(CheckErrorKind::TypeMismatch, span, message)
}

/// Whether a literal can be compared with a value of the path's type.
fn literal_fits(typed: &PathType, literal: &Literal, span: Span) -> Result<(), CheckError> {
    let value = match &literal.value {
        LiteralValue::String(text) => Value::String(text.clone()),
        LiteralValue::Integer(number) => Value::from(*number),
        LiteralValue::Real(number) => Value::from(*number),
        LiteralValue::Boolean(flag) => Value::Bool(*flag),
        LiteralValue::Null => return Ok(()),
    };
    value_fits(typed, &value, span)
}

fn value_fits(typed: &PathType, value: &Value, span: Span) -> Result<(), CheckError> {
    let Some(primitive) = typed.primitive else {
        return Ok(());
    };
    match (primitive, value) {
        (_, Value::Null) => Ok(()),
        (Primitive::Integer | Primitive::Real, Value::Number(_))
        | (Primitive::Boolean, Value::Bool(_)) => Ok(()),
        (Primitive::String, Value::String(text)) => {
            if typed.is_temporal() && !is_temporal_text(typed, text) {
                return Err(mismatch(
                    span,
                    format!(
                        "'{text}' is not an ISO 8601 value of the date or time it is compared with"
                    ),
                ));
            }
            Ok(())
        }
        (Primitive::Integer | Primitive::Real, other) => Err(mismatch(
            span,
            format!("{} is compared with a number", show(other)),
        )),
        (Primitive::Boolean, other) => Err(mismatch(
            span,
            format!("{} is compared with a boolean", show(other)),
        )),
        (Primitive::String, other) => Err(mismatch(
            span,
            format!("{} is compared with a string", show(other)),
        )),
    }
}

/// A value as AQL would write it.
fn show(value: &Value) -> String {
    match value {
        Value::String(text) => format!("'{text}'"),
        other => other.to_string(),
    }
}

fn is_temporal_text(typed: &PathType, text: &str) -> bool {
    use templates::validate::iso8601;
    typed
        .holders
        .iter()
        .any(|holder| match model::class(*holder).name {
            "DV_DATE_TIME" => iso8601::parse_date_time(text).is_some(),
            "DV_DATE" => iso8601::parse_date(text).is_some(),
            "DV_TIME" => iso8601::parse_time(text).is_some(),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(query: &str, parameters: serde_json::Value) -> Result<(), String> {
        let parsed = crate::parse(query).map_err(|error| error.to_string())?;
        let parameters = parameters.as_object().cloned().unwrap_or_default();
        check(&parsed, &parameters)
            .map(|_| ())
            .map_err(|error| format!("{}: {error}", error.kind.code()))
    }

    #[test]
    fn good_queries_pass() {
        let bp = "openEHR-EHR-OBSERVATION.blood_pressure.v2";
        for query in [
            format!("SELECT o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[{bp}]"),
            "SELECT e/ehr_id/value, c/context/start_time/value FROM EHR e CONTAINS COMPOSITION c WHERE c/context/start_time/value > '2024-01-01' ORDER BY c/context/start_time/value DESC LIMIT 5".to_owned(),
            "SELECT e/ehr_status/subject/external_ref/id/value FROM EHR e".to_owned(),
            "SELECT v/commit_audit/time_committed/value FROM EHR e CONTAINS VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c".to_owned(),
            "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e CONTAINS OBSERVATION o WHERE o/data/events/data/items/value/magnitude > 140".to_owned(),
            "SELECT c AS composition FROM EHR e CONTAINS COMPOSITION c ORDER BY composition".to_owned(),
            "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/context/start_time <= '1986-01-01'".to_owned(),
        ] {
            assert_eq!(check_text(&query, serde_json::json!({})), Ok(()), "{query}");
        }
    }

    #[test]
    fn each_kind_of_error_names_itself_and_where() {
        let cases = [
            (
                "SELECT x/name/value FROM EHR e CONTAINS COMPOSITION c",
                "unknown_variable: line 1, column 8: 'x' is not a variable of FROM",
            ),
            (
                "SELECT c/nmae/value FROM EHR e CONTAINS COMPOSITION c",
                "unknown_attribute: line 1, column 10: 'nmae' is not an attribute of COMPOSITION",
            ),
            (
                "SELECT c FROM EHR e CONTAINS COMPOSTION c",
                "unknown_class: line 1, column 30: 'COMPOSTION' is not an RM class",
            ),
            (
                "SELECT c FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION c",
                "duplicate_variable: line 1, column 65: variable 'c' is declared twice",
            ),
            (
                "SELECT c FROM EHR e[ehr_id/value=$id] CONTAINS COMPOSITION c",
                "missing_parameter: line 1, column 34: parameter $id is not given",
            ),
            (
                "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/context/start_time/value > 'yesterday'",
                "type_mismatch: line 1, column 79: 'yesterday' is not an ISO 8601 value of the date or time it is compared with",
            ),
            (
                "SELECT o FROM EHR e CONTAINS OBSERVATION o WHERE o/data/events/data/items/value/magnitude = 'high'",
                "type_mismatch: line 1, column 93: 'high' is compared with a number",
            ),
            (
                "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/context = 1",
                "object_comparison: line 1, column 50: this compares a whole EVENT_CONTEXT rather than a value of it; add the attribute to compare (for example /value or /magnitude)",
            ),
            (
                "SELECT c FROM EHR e CONTAINS COMPOSITION c[openEHR-EHR-OBSERVATION.x.v1]",
                "type_mismatch: line 1, column 30: archetype openEHR-EHR-OBSERVATION.x.v1 is a OBSERVATION, not a COMPOSITION",
            ),
            (
                "SELECT c/name/value/x FROM EHR e CONTAINS COMPOSITION c",
                "unknown_attribute: line 1, column 21: 'x' follows 'value', which is not an object",
            ),
            (
                "SELECT o FROM EHR e CONTAINS COMPOSITION c NOT CONTAINS OBSERVATION o",
                "invalid_query: line 1, column 8: 'o' is under NOT CONTAINS and binds nothing to select or test",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(query, expected)| {
                let found = check_text(query, serde_json::json!({}));
                (found != Err((*expected).to_owned())).then(|| format!("{query}\n  {found:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn parameters_are_collected_and_typed() {
        let query = "SELECT c FROM EHR e[ehr_id/value=$id] CONTAINS COMPOSITION c WHERE c/context/start_time/value > $since";
        assert_eq!(
            check_text(
                query,
                serde_json::json!({"id": "7d44b88c-4199-4bad-97dc-d78268e01398", "since": "2024-01-01"})
            ),
            Ok(())
        );
        assert_eq!(
            check_text(query, serde_json::json!({"id": "x", "since": 5})),
            Err("type_mismatch: line 1, column 97: 5 is compared with a string".to_owned())
        );
    }

    #[test]
    fn path_types_follow_the_rm() {
        let parsed = crate::parse(
            "SELECT o/data/events/time/value, o/data/events/data/items/value/magnitude FROM EHR e CONTAINS OBSERVATION o",
        )
        .expect("parses");
        let observation = model::class_id("OBSERVATION").expect("known");
        let Expr::Path(time) = &parsed.select.columns[0].expr else {
            panic!()
        };
        let typed = type_path(observation, &time.segments).expect("types");
        assert!(typed.is_temporal());
        assert!(typed.multiple);
        let Expr::Path(magnitude) = &parsed.select.columns[1].expr else {
            panic!()
        };
        let typed = type_path(observation, &magnitude.segments).expect("types");
        assert!(typed.is_numeric());
    }
}
