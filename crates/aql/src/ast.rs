//! The typed syntax tree of one AQL query, every node with its [`Span`] in the source.
//!
//! The tree keeps what the query says, not what it means: class names, variables and
//! attribute names are kept as written (semantic checks resolve them against the RM), date
//! and time literals stay strings (typed once the path they are compared with is known), and
//! a bare identifier in SELECT or ORDER BY is a [`Path`] without segments whether it names a
//! variable or a column alias. AND, OR and XOR chains are flattened into one node each, so
//! `a AND (b AND c)` and `a AND b AND c` are the same tree.

use std::fmt;

/// Where a node is in the query text: byte offsets (`start..end`) and the line and column
/// (1-based, in characters) of its first character.
///
/// Spans never take part in comparing trees (as in `syn`): two trees are equal when they say
/// the same thing, wherever it was written. That is what makes `parse(print(tree)) == tree`
/// a meaningful check. Compare the fields when positions matter.
#[derive(Clone, Copy, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: u32,
    pub column: u32,
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}..{}@{}:{}",
            self.start, self.end, self.line, self.column
        )
    }
}

/// A whole query: `SELECT ... FROM ... [WHERE ...] [ORDER BY ...] [LIMIT n [OFFSET m]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Select,
    pub from: ContainsExpr,
    pub where_clause: Option<Condition>,
    pub order_by: Vec<OrderBy>,
    pub limit: Option<Count>,
    pub offset: Option<Count>,
    /// The deprecated `SELECT TOP n [FORWARD|BACKWARD]`; never together with `limit`.
    pub top: Option<Top>,
    pub span: Span,
}

impl Query {
    /// Every path of SELECT, WHERE and ORDER BY, in that order.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths: Vec<&Path> = Vec::new();
        for column in &self.select.columns {
            paths.extend(column.expr.paths());
        }
        if let Some(condition) = &self.where_clause {
            paths.extend(condition.paths());
        }
        for item in &self.order_by {
            paths.extend(item.expr.paths());
        }
        paths
    }
}

/// The SELECT clause without its TOP (kept on [`Query`] beside LIMIT).
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub distinct: bool,
    pub columns: Vec<Column>,
    pub span: Span,
}

/// One column: an expression and its `AS` alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub expr: Expr,
    pub alias: Option<Identifier>,
    pub span: Span,
}

/// A name as written: a variable, an alias, a class, an attribute or a function.
#[derive(Debug, Clone, PartialEq)]
pub struct Identifier {
    pub name: String,
    pub span: Span,
}

/// A non-negative integer of LIMIT, OFFSET or TOP.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    pub value: u64,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Top {
    pub count: Count,
    pub direction: Option<TopDirection>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopDirection {
    Forward,
    Backward,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub expr: Expr,
    pub direction: SortDirection,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Also what an ORDER BY item without a direction means.
    #[default]
    Ascending,
    Descending,
}

/// The FROM clause: class expressions related by CONTAINS, AND, OR and NOT.
///
/// CONTAINS takes everything to its right: `A CONTAINS B AND C` is `A CONTAINS (B AND C)`, as
/// in the specification's grammar, so a containment on the left of AND needs parentheses.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainsExpr {
    /// A class expression that contains nothing further.
    Class(ClassExpr),
    /// `parent CONTAINS child`, or `parent NOT CONTAINS child` when `negated`.
    Contains {
        parent: ClassExpr,
        negated: bool,
        child: Box<ContainsExpr>,
        span: Span,
    },
    And {
        operands: Vec<ContainsExpr>,
        span: Span,
    },
    Or {
        operands: Vec<ContainsExpr>,
        span: Span,
    },
    /// `NOT x` under a CONTAINS (`A CONTAINS (B AND NOT C)`): the containing object has no
    /// such descendant. An extension of the grammar, which only has `A NOT CONTAINS C`; the
    /// parser accepts it only on the right of a CONTAINS.
    Not {
        operand: Box<ContainsExpr>,
        span: Span,
    },
}

impl ContainsExpr {
    pub fn span(&self) -> Span {
        match self {
            ContainsExpr::Class(class) => class.span,
            ContainsExpr::Contains { span, .. }
            | ContainsExpr::And { span, .. }
            | ContainsExpr::Or { span, .. }
            | ContainsExpr::Not { span, .. } => *span,
        }
    }
}

/// `CLASS [variable] [predicate]`, such as `EHR e[ehr_id/value=$id]`, `COMPOSITION c`,
/// `OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]` or `VERSION v[LATEST_VERSION]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassExpr {
    /// The RM class as written (`EHR`, `Composition`, `VERSION`, `VERSIONED_OBJECT`...).
    pub class: Identifier,
    pub variable: Option<Identifier>,
    pub predicate: Option<Predicate>,
    pub span: Span,
}

/// A variable, optionally with a predicate on it, followed by an attribute path:
/// `o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude`, `c`,
/// `o[name/value=$name]/data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub variable: Identifier,
    pub predicate: Option<Predicate>,
    pub segments: Vec<PathSegment>,
    pub span: Span,
}

/// A path without a variable, as inside predicates: `name/value`, `commit_audit/time_committed`.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectPath {
    pub segments: Vec<PathSegment>,
    pub span: Span,
}

/// One step of a path: an RM attribute, optionally narrowed by a predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct PathSegment {
    pub attribute: Identifier,
    pub predicate: Option<Predicate>,
    pub span: Span,
}

/// What is inside `[...]` after a class, a variable or a path attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `[at0001]`, `[id3]`, `[openEHR-EHR-OBSERVATION.blood_pressure.v2]`, optionally with the
    /// name shortcut: `[at0001, 'Systolic']`, `[at0001, $name]`, `[at0001, SNOMED-CT::1234]`.
    Node {
        node: NodeId,
        name: Option<NameShortcut>,
        span: Span,
    },
    /// `[$archetype_id]`: a parameter standing for an archetype or node id.
    Parameter(Parameter),
    /// The standard form `[path op operand]`: `[name/value='x']`, `[ehr_id/value=$id]`,
    /// `[commit_audit/time_committed <= '2025-01-01']`.
    Comparison {
        path: ObjectPath,
        op: ComparisonOp,
        operand: PredicateOperand,
        span: Span,
    },
    /// `[path matches {/regex/}]`; the pattern is kept as written between the braces.
    Matches {
        path: ObjectPath,
        pattern: String,
        span: Span,
    },
    And {
        operands: Vec<Predicate>,
        span: Span,
    },
    Or {
        operands: Vec<Predicate>,
        span: Span,
    },
    /// `VERSION v[LATEST_VERSION]`.
    LatestVersion(Span),
    /// `VERSION v[ALL_VERSIONS]`.
    AllVersions(Span),
}

impl Predicate {
    pub fn span(&self) -> Span {
        match self {
            Predicate::Parameter(parameter) => parameter.span,
            Predicate::LatestVersion(span) | Predicate::AllVersions(span) => *span,
            Predicate::Node { span, .. }
            | Predicate::Comparison { span, .. }
            | Predicate::Matches { span, .. }
            | Predicate::And { span, .. }
            | Predicate::Or { span, .. } => *span,
        }
    }
}

/// An archetype node id or an archetype id, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeId {
    /// An ADL 1.4 code: `at0001`, `at0002.1`.
    AtCode(String),
    /// An ADL 2 code: `id3`.
    IdCode(String),
    /// `openEHR-EHR-OBSERVATION.blood_pressure.v2`, with its namespace if it has one.
    Archetype(String),
}

impl NodeId {
    pub fn as_str(&self) -> &str {
        match self {
            NodeId::AtCode(code) | NodeId::IdCode(code) | NodeId::Archetype(code) => code,
        }
    }
}

/// The second part of `[at0001, ...]`, a shortcut for a condition on the node's name.
#[derive(Debug, Clone, PartialEq)]
pub enum NameShortcut {
    /// `name/value = 'Systolic'`.
    Value(StringLiteral),
    /// `name/value = $name`.
    Parameter(Parameter),
    /// A coded name: `SNOMED-CT::1234`, `snomed_ct(3.1)::313267000|Pain|`.
    TermCode(TermCode),
    /// A coded name in the archetype's own terminology: `[at0002, at0003]`.
    Code(NodeId, Span),
}

/// `terminology[(version)]::code[|value|]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TermCode {
    pub terminology: String,
    pub version: Option<String>,
    pub code: String,
    /// The informational text between bars, without the bars.
    pub value: Option<String>,
    pub span: Span,
}

/// The right-hand side of a standard predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum PredicateOperand {
    Literal(Literal),
    Parameter(Parameter),
    Node(NodeId, Span),
    Path(ObjectPath),
}

/// `$name`; the name is kept without the dollar.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub span: Span,
}

/// A string with its escapes decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub value: LiteralValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiteralValue {
    /// Also dates, times and date-times: their type depends on what they are compared with.
    String(String),
    Integer(i64),
    /// Decimals and scientific notation (`1.5`, `2e3`, `1.2E-4`); always finite.
    Real(f64),
    Boolean(bool),
    Null,
}

/// A value: what a column selects, what ORDER BY sorts on and what conditions compare.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Path(Path),
    Literal(Literal),
    Parameter(Parameter),
    Function(FunctionCall),
    /// Only in SELECT and ORDER BY.
    Aggregate(AggregateCall),
}

impl Expr {
    /// The paths the expression reads (in function arguments and aggregates too), in order.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths = Vec::new();
        self.collect_paths(&mut paths);
        paths
    }

    fn collect_paths<'e>(&'e self, into: &mut Vec<&'e Path>) {
        match self {
            Expr::Path(path) => into.push(path),
            Expr::Function(call) => {
                for arg in &call.args {
                    arg.collect_paths(into);
                }
            }
            Expr::Aggregate(call) => {
                if let AggregateArgument::Path(path) = &call.argument {
                    into.push(path);
                }
            }
            Expr::Literal(_) | Expr::Parameter(_) => {}
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Expr::Path(path) => path.span,
            Expr::Literal(literal) => literal.span,
            Expr::Parameter(parameter) => parameter.span,
            Expr::Function(call) => call.span,
            Expr::Aggregate(call) => call.span,
        }
    }
}

/// A single-row function: `LENGTH(c/name/value)`, `NOW()`, `TERMINOLOGY('expand', ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCall {
    pub function: Function,
    /// The canonical name of a function of the specification (`LENGTH`, however it was
    /// written), or the name as written for any other (the grammar allows
    /// implementation-defined functions).
    pub name: Identifier,
    pub args: Vec<Expr>,
    pub span: Span,
}

/// The functions of the specification; any other name is `Other`, kept in
/// [`FunctionCall::name`] for the semantic stage to accept or refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Length,
    Contains,
    Position,
    Substring,
    Concat,
    ConcatWs,
    Abs,
    Mod,
    Ceil,
    Floor,
    Round,
    CurrentDate,
    CurrentTime,
    CurrentDateTime,
    Now,
    CurrentTimezone,
    Terminology,
    Other,
}

impl Function {
    /// The function a name (in any case) calls.
    pub fn from_name(name: &str) -> Function {
        const FUNCTIONS: [(&str, Function); 17] = [
            ("LENGTH", Function::Length),
            ("CONTAINS", Function::Contains),
            ("POSITION", Function::Position),
            ("SUBSTRING", Function::Substring),
            ("CONCAT", Function::Concat),
            ("CONCAT_WS", Function::ConcatWs),
            ("ABS", Function::Abs),
            ("MOD", Function::Mod),
            ("CEIL", Function::Ceil),
            ("FLOOR", Function::Floor),
            ("ROUND", Function::Round),
            ("CURRENT_DATE", Function::CurrentDate),
            ("CURRENT_TIME", Function::CurrentTime),
            ("CURRENT_DATE_TIME", Function::CurrentDateTime),
            ("NOW", Function::Now),
            ("CURRENT_TIMEZONE", Function::CurrentTimezone),
            ("TERMINOLOGY", Function::Terminology),
        ];
        FUNCTIONS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map_or(Function::Other, |(_, function)| *function)
    }

    /// The canonical (upper-case) name; `None` for `Other`.
    pub fn canonical_name(self) -> Option<&'static str> {
        Some(match self {
            Function::Length => "LENGTH",
            Function::Contains => "CONTAINS",
            Function::Position => "POSITION",
            Function::Substring => "SUBSTRING",
            Function::Concat => "CONCAT",
            Function::ConcatWs => "CONCAT_WS",
            Function::Abs => "ABS",
            Function::Mod => "MOD",
            Function::Ceil => "CEIL",
            Function::Floor => "FLOOR",
            Function::Round => "ROUND",
            Function::CurrentDate => "CURRENT_DATE",
            Function::CurrentTime => "CURRENT_TIME",
            Function::CurrentDateTime => "CURRENT_DATE_TIME",
            Function::Now => "NOW",
            Function::CurrentTimezone => "CURRENT_TIMEZONE",
            Function::Terminology => "TERMINOLOGY",
            Function::Other => return None,
        })
    }

    /// How many arguments the specification gives the function: (least, most).
    pub fn arity(self) -> Option<(usize, Option<usize>)> {
        Some(match self {
            Function::Length | Function::Abs | Function::Ceil | Function::Floor => (1, Some(1)),
            Function::Contains | Function::Position | Function::Mod => (2, Some(2)),
            Function::Substring => (2, Some(3)),
            Function::Round => (1, Some(2)),
            Function::Concat => (1, None),
            Function::ConcatWs => (2, None),
            Function::CurrentDate
            | Function::CurrentTime
            | Function::CurrentDateTime
            | Function::Now
            | Function::CurrentTimezone => (0, Some(0)),
            Function::Terminology => (3, Some(3)),
            Function::Other => return None,
        })
    }
}

/// `COUNT(*)`, `COUNT(DISTINCT path)`, `MIN(path)`, `MAX(path)`, `SUM(path)`, `AVG(path)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateCall {
    pub function: Aggregate,
    /// `COUNT(DISTINCT ...)`; only COUNT takes it.
    pub distinct: bool,
    pub argument: AggregateArgument,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    Min,
    Max,
    Sum,
    Avg,
}

impl Aggregate {
    pub fn from_name(name: &str) -> Option<Aggregate> {
        [
            ("COUNT", Aggregate::Count),
            ("MIN", Aggregate::Min),
            ("MAX", Aggregate::Max),
            ("SUM", Aggregate::Sum),
            ("AVG", Aggregate::Avg),
        ]
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, aggregate)| *aggregate)
    }

    pub fn canonical_name(self) -> &'static str {
        match self {
            Aggregate::Count => "COUNT",
            Aggregate::Min => "MIN",
            Aggregate::Max => "MAX",
            Aggregate::Sum => "SUM",
            Aggregate::Avg => "AVG",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AggregateArgument {
    /// `COUNT(*)`.
    AllRows(Span),
    Path(Box<Path>),
}

/// A WHERE condition.
///
/// Expressions and paths are boxed to keep the node small: the parser recurses through
/// conditions, and unoptimised builds spend stack in proportion to their size.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `left op right`; either side may be a path (path-to-path comparison), a function call, a
    /// literal or a parameter.
    Comparison {
        left: Box<Expr>,
        op: ComparisonOp,
        right: Box<Expr>,
        span: Span,
    },
    Like {
        operand: Box<Expr>,
        pattern: LikePattern,
        span: Span,
    },
    Matches {
        operand: Box<Expr>,
        matches: MatchesOperand,
        span: Span,
    },
    Exists {
        path: Box<Path>,
        span: Span,
    },
    Not {
        operand: Box<Condition>,
        span: Span,
    },
    And {
        operands: Vec<Condition>,
        span: Span,
    },
    Or {
        operands: Vec<Condition>,
        span: Span,
    },
    /// Not in the 1.1 grammar but in the language's earlier definition and in issue 4.
    Xor {
        operands: Vec<Condition>,
        span: Span,
    },
}

impl Condition {
    /// The paths the condition reads, operands of AND, OR, XOR and NOT included, in order.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths = Vec::new();
        self.collect_paths(&mut paths);
        paths
    }

    fn collect_paths<'c>(&'c self, into: &mut Vec<&'c Path>) {
        match self {
            Condition::Comparison { left, right, .. } => {
                left.collect_paths(into);
                right.collect_paths(into);
            }
            Condition::Like { operand, .. } => operand.collect_paths(into),
            Condition::Matches {
                operand, matches, ..
            } => {
                operand.collect_paths(into);
                if let MatchesOperand::ValueList { items, .. } = matches {
                    for item in items {
                        item.collect_paths(into);
                    }
                }
            }
            Condition::Exists { path, .. } => into.push(path),
            Condition::Not { operand, .. } => operand.collect_paths(into),
            Condition::And { operands, .. }
            | Condition::Or { operands, .. }
            | Condition::Xor { operands, .. } => {
                for operand in operands {
                    operand.collect_paths(into);
                }
            }
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Condition::Comparison { span, .. }
            | Condition::Like { span, .. }
            | Condition::Matches { span, .. }
            | Condition::Exists { span, .. }
            | Condition::Not { span, .. }
            | Condition::And { span, .. }
            | Condition::Or { span, .. }
            | Condition::Xor { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonOp {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl ComparisonOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ComparisonOp::Equal => "=",
            ComparisonOp::NotEqual => "!=",
            ComparisonOp::Greater => ">",
            ComparisonOp::GreaterOrEqual => ">=",
            ComparisonOp::Less => "<",
            ComparisonOp::LessOrEqual => "<=",
        }
    }
}

/// The right side of LIKE.
#[derive(Debug, Clone, PartialEq)]
pub enum LikePattern {
    /// The pattern in AQL's own syntax: `?` matches one character, `*` any run, and a
    /// backslash makes the next character literal. Of the string escapes only `\?`, `\*` and
    /// `\\` are kept as written (they mean something to the pattern); the others are decoded.
    Pattern {
        pattern: String,
        span: Span,
    },
    Parameter(Parameter),
}

/// The right side of MATCHES.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchesOperand {
    /// `{'a', 1, $p, TERMINOLOGY(...)}`: literals, parameters and TERMINOLOGY calls.
    ValueList { items: Vec<Expr>, span: Span },
    /// `{terminology://snomed-ct/hierarchy?rootConceptId=50043002}`, kept as written.
    Uri { uri: String, span: Span },
    /// `matches TERMINOLOGY('expand', 'hl7.org/fhir/4.0', '...')`.
    Terminology(FunctionCall),
}
