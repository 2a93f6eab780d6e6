//! The reference evaluator: runs a parsed query over EHRs held in memory as canonical JSON,
//! following docs/aql.md to the letter. It is the oracle the SQL compiler is tested against,
//! so it is written to be obviously right rather than fast: every query walks every
//! document it could touch, and nothing is indexed.
//!
//! The stages are the ones docs/aql.md describes, one function each: [`check`] (names and
//! parameters, before any data is read), FROM bindings (`from`), WHERE (`condition`),
//! projection with row multiplication, grouping and aggregates, DISTINCT, ORDER BY, and
//! OFFSET/LIMIT/TOP (all in this file). Paths and predicates are in `path`, typed
//! comparison and sorting in `value`, functions and aggregates in `functions`.

mod check;
mod from;
mod functions;
mod path;
mod value;

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ast::*;
use crate::result::{ResultSet, columns};

pub use from::mentions_version;
use path::Row;
use value::Datum;

/// Every EHR a query may see, each with the full history of its objects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub ehrs: Vec<EhrData>,
}

/// One EHR: its identity and every contribution committed to it, in commit order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EhrData {
    pub ehr_id: String,
    pub system_id: String,
    /// ISO 8601, as the store writes it (`2024-01-02T03:04:05.000000+00:00`).
    pub time_created: String,
    pub contributions: Vec<ContributionData>,
}

/// A contribution: the audit shared by its versions, and the versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContributionData {
    pub contribution_id: String,
    pub time_committed: String,
    /// The committer's PARTY_PROXY in canonical JSON.
    pub committer: Value,
    pub versions: Vec<VersionData>,
}

/// One version of a COMPOSITION, EHR_STATUS or FOLDER with its canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionData {
    pub kind: ObjectKind,
    /// The versioned object's UUID (the first part of the version uid).
    pub object_id: String,
    /// 1 for the first version, one more for each following.
    pub version: u32,
    #[serde(default)]
    pub change_type: ChangeType,
    #[serde(default)]
    pub lifecycle_state: LifecycleState,
    /// The object; a deleted version keeps the content it replaces, as the store does.
    pub data: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ObjectKind {
    Composition,
    EhrStatus,
    Folder,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeType {
    #[default]
    Creation,
    Amendment,
    Modification,
    Synthesis,
    Deleted,
    AttestationOnly,
    FormatConversion,
    Unknown,
}

impl ChangeType {
    fn coded(self) -> Value {
        let (rubric, code) = match self {
            ChangeType::Creation => ("creation", "249"),
            ChangeType::Amendment => ("amendment", "250"),
            ChangeType::Modification => ("modification", "251"),
            ChangeType::Synthesis => ("synthesis", "252"),
            ChangeType::Deleted => ("deleted", "523"),
            ChangeType::AttestationOnly => ("attestation", "666"),
            ChangeType::FormatConversion => ("format conversion", "817"),
            ChangeType::Unknown => ("unknown", "253"),
        };
        openehr_coded(rubric, code)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    #[default]
    Complete,
    Incomplete,
    Deleted,
}

impl LifecycleState {
    fn coded(self) -> Value {
        let (rubric, code) = match self {
            LifecycleState::Complete => ("complete", "532"),
            LifecycleState::Incomplete => ("incomplete", "553"),
            LifecycleState::Deleted => ("deleted", "523"),
        };
        openehr_coded(rubric, code)
    }
}

fn openehr_coded(rubric: &str, code: &str) -> Value {
    json!({
        "_type": "DV_CODED_TEXT",
        "value": rubric,
        "defining_code": {
            "_type": "CODE_PHRASE",
            "terminology_id": { "_type": "TERMINOLOGY_ID", "value": "openehr" },
            "code_string": code,
        }
    })
}

/// Why a query cannot be evaluated, pointing at the node at fault. The semantic checker
/// refuses these queries before they reach SQL; the oracle reports them instead of panicking.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub kind: EvalErrorKind,
    /// Lowercase, no trailing period.
    pub message: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalErrorKind {
    UnknownVariable,
    DuplicateVariable,
    MissingParameter,
    UnknownClass,
    /// An RM object (not a primitive) compared, matched or summed.
    ObjectComparison,
    TypeMismatch,
    /// A construct the query language has but Kith does not evaluate (regular expressions
    /// in predicates, terminology services).
    Unsupported,
    /// A query the language does not give a meaning to (ORDER BY a path that is not grouped
    /// in an aggregate query, a variable under NOT CONTAINS used elsewhere).
    Invalid,
}

impl EvalError {
    pub(crate) fn new(kind: EvalErrorKind, span: Span, message: impl Into<String>) -> Self {
        EvalError {
            kind,
            message: message.into(),
            span,
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "line {}, column {}: {}",
            self.span.line, self.span.column, self.message
        )
    }
}

impl std::error::Error for EvalError {}

pub type EvalResult<T> = Result<T, EvalError>;

/// The instant the date and time functions read, so that a test can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// `YYYY-MM-DDThh:mm:ss.sss+00:00`; the oracle works in UTC.
    pub now: String,
}

impl Clock {
    pub fn system() -> Clock {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        Clock::from_unix_millis(i64::try_from(seconds).unwrap_or(0))
    }

    pub fn from_unix_millis(millis: i64) -> Clock {
        let days = millis.div_euclid(86_400_000);
        let rest = millis.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        Clock {
            now: format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}+00:00",
                rest / 3_600_000,
                rest / 60_000 % 60,
                rest / 1000 % 60,
                rest % 1000
            ),
        }
    }
}

/// The civil date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

fn refusal(error: crate::check::CheckError) -> EvalError {
    use crate::check::CheckErrorKind as Kind;
    let kind = match error.kind {
        Kind::UnknownClass => EvalErrorKind::UnknownClass,
        Kind::UnknownVariable => EvalErrorKind::UnknownVariable,
        Kind::DuplicateVariable => EvalErrorKind::DuplicateVariable,
        Kind::MissingParameter => EvalErrorKind::MissingParameter,
        Kind::UnknownAttribute | Kind::TypeMismatch => EvalErrorKind::TypeMismatch,
        Kind::ObjectComparison => EvalErrorKind::ObjectComparison,
        Kind::InvalidQuery => EvalErrorKind::Invalid,
        Kind::Unsupported => EvalErrorKind::Unsupported,
    };
    EvalError::new(kind, error.span, error.message)
}

/// Runs `query` over `dataset` with the system clock.
pub fn evaluate(
    query: &Query,
    parameters: &Map<String, Value>,
    dataset: &Dataset,
) -> EvalResult<ResultSet> {
    evaluate_at(query, parameters, dataset, &Clock::system())
}

/// Runs `query` over `dataset`, the date and time functions reading `clock`.
pub fn evaluate_at(
    query: &Query,
    parameters: &Map<String, Value>,
    dataset: &Dataset,
    clock: &Clock,
) -> EvalResult<ResultSet> {
    // The semantic checker's refusals are the language's, for every engine; the
    // evaluator's own checks below only bind names.
    crate::check::check(query, parameters).map_err(refusal)?;
    let variables = check::check(query, parameters)?;
    let needs_versions = from::mentions_version(&query.from);
    let views: Vec<from::EhrView<'_>> = dataset
        .ehrs
        .iter()
        .map(|ehr| from::EhrView::new(ehr, needs_versions))
        .collect();
    let context = Context {
        parameters,
        variables: &variables,
        clock,
    };

    let mut rows: Vec<Row<'_>> = Vec::new();
    for view in &views {
        for row in from::bind_query(&context, &query.from, view)? {
            let keep = match &query.where_clause {
                Some(condition) => context.holds(condition, &row)?,
                None => true,
            };
            if keep {
                rows.push(row);
            }
        }
    }

    let output = project(&context, query, &rows)?;
    Ok(ResultSet {
        meta: None,
        q: query.to_string(),
        name: None,
        columns: columns(query),
        rows: output,
    })
}

/// What every stage reads: the request's parameters, the FROM variables (name to slot) and
/// the clock.
pub(crate) struct Context<'q> {
    pub parameters: &'q Map<String, Value>,
    pub variables: &'q check::Variables,
    pub clock: &'q Clock,
}

/// One output row before it is rendered: its column values, the sort keys, and (for
/// aggregate queries) the binding rows of its group.
struct OutputRow<'a> {
    values: Vec<Option<Datum<'a>>>,
    keys: Vec<Option<Datum<'a>>>,
}

/// SELECT, grouping, DISTINCT, ORDER BY, OFFSET and LIMIT, in that order.
fn project<'a>(
    context: &Context<'_>,
    query: &'a Query,
    rows: &[Row<'a>],
) -> EvalResult<Vec<Vec<Value>>> {
    let columns = &query.select.columns;
    let aggregated = columns
        .iter()
        .any(|column| matches!(column.expr, Expr::Aggregate(_)));

    let mut output: Vec<OutputRow<'a>> = if aggregated {
        grouped(context, query, rows)?
    } else {
        let mut output = Vec::new();
        for row in rows {
            for values in context.expand(columns.iter().map(|column| &column.expr), row)? {
                let keys = query
                    .order_by
                    .iter()
                    .map(|order| match column_of(query, &order.expr) {
                        Some(index) => Ok(values[index].clone()),
                        None => Ok(context.eval_expr(&order.expr, row)?.into_iter().next()),
                    })
                    .collect::<EvalResult<Vec<_>>>()?;
                output.push(OutputRow { values, keys });
            }
        }
        output
    };

    if query.select.distinct {
        let mut kept: Vec<OutputRow<'a>> = Vec::new();
        for row in output {
            let duplicate = kept.iter().any(|earlier| {
                earlier.values.len() == row.values.len()
                    && earlier
                        .values
                        .iter()
                        .zip(&row.values)
                        .all(|(left, right)| value::same_cell(left.as_ref(), right.as_ref()))
            });
            if !duplicate {
                kept.push(row);
            }
        }
        output = kept;
    }

    if !query.order_by.is_empty() {
        // a stable sort: rows equal on every key keep their order of discovery
        let mut failure = None;
        output.sort_by(|left, right| {
            for (index, order) in query.order_by.iter().enumerate() {
                let ordering = match value::sort_order(
                    left.keys[index].as_ref(),
                    right.keys[index].as_ref(),
                    order.direction,
                    order.span,
                ) {
                    Ok(ordering) => ordering,
                    Err(error) => {
                        failure.get_or_insert(error);
                        Ordering::Equal
                    }
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            Ordering::Equal
        });
        if let Some(error) = failure {
            return Err(error);
        }
    }

    let offset = query.offset.as_ref().map_or(0, |count| count.value);
    let mut selected: Vec<OutputRow<'a>> = output
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .collect();
    if let Some(limit) = &query.limit {
        selected.truncate(usize::try_from(limit.value).unwrap_or(usize::MAX));
    }
    if let Some(top) = &query.top {
        let count = usize::try_from(top.count.value).unwrap_or(usize::MAX);
        if top.direction == Some(TopDirection::Backward) {
            let skip = selected.len().saturating_sub(count);
            selected.drain(..skip);
        } else {
            selected.truncate(count);
        }
    }
    Ok(selected
        .into_iter()
        .map(|row| {
            row.values
                .into_iter()
                .map(|cell| cell.map_or(Value::Null, Datum::into_json))
                .collect()
        })
        .collect())
}

/// The column an ORDER BY expression stands for: the one whose alias it names, or the one
/// with the same expression. Sorting on it sorts on the value shown in each row, which
/// matters when a multi-valued path multiplied the rows.
fn column_of(query: &Query, expr: &Expr) -> Option<usize> {
    let columns = &query.select.columns;
    if let Expr::Path(path) = expr
        && path.segments.is_empty()
        && path.predicate.is_none()
        && let Some(index) = columns.iter().position(|column| {
            column
                .alias
                .as_ref()
                .is_some_and(|alias| alias.name == path.variable.name)
        })
    {
        return Some(index);
    }
    columns.iter().position(|column| column.expr == *expr)
}

/// Aggregate queries: the non-aggregate columns group the (multiplied) rows; with none, the
/// whole result is one group, even when empty.
fn grouped<'a>(
    context: &Context<'_>,
    query: &'a Query,
    rows: &[Row<'a>],
) -> EvalResult<Vec<OutputRow<'a>>> {
    let columns = &query.select.columns;
    let key_columns: Vec<usize> = (0..columns.len())
        .filter(|index| !matches!(columns[*index].expr, Expr::Aggregate(_)))
        .collect();
    for order in &query.order_by {
        if !matches!(order.expr, Expr::Aggregate(_)) {
            let grouped_column =
                column_of(query, &order.expr).is_some_and(|index| key_columns.contains(&index));
            if !grouped_column {
                return Err(EvalError::new(
                    EvalErrorKind::Invalid,
                    order.span,
                    format!(
                        "ORDER BY {} in an aggregate query must be a grouping column or an aggregate",
                        order.expr
                    ),
                ));
            }
        }
    }

    // (key values, the rows of the group); groups in order of first appearance
    let mut groups: Vec<(Vec<Option<Datum<'a>>>, Vec<&Row<'a>>)> = Vec::new();
    for row in rows {
        for key in context.expand(key_columns.iter().map(|index| &columns[*index].expr), row)? {
            let position = groups.iter().position(|(existing, _)| {
                existing
                    .iter()
                    .zip(&key)
                    .all(|(left, right)| value::same_cell(left.as_ref(), right.as_ref()))
            });
            match position {
                Some(position) => groups[position].1.push(row),
                None => groups.push((key, vec![row])),
            }
        }
    }
    if groups.is_empty() && key_columns.is_empty() {
        groups.push((Vec::new(), Vec::new()));
    }

    let mut output = Vec::new();
    for (key, members) in groups {
        let mut key_values = key.into_iter();
        let mut values = Vec::with_capacity(columns.len());
        for column in columns {
            values.push(match &column.expr {
                Expr::Aggregate(call) => context.aggregate(call, &members)?,
                _ => key_values.next().flatten(),
            });
        }
        let keys = query
            .order_by
            .iter()
            .map(|order| match &order.expr {
                Expr::Aggregate(call) => context.aggregate(call, &members),
                expr => Ok(column_of(query, expr).and_then(|index| values[index].clone())),
            })
            .collect::<EvalResult<Vec<_>>>()?;
        output.push(OutputRow { values, keys });
    }
    Ok(output)
}

impl<'q> Context<'q> {
    /// Every combination of the values of `exprs` on `row` (a value-less expression gives
    /// NULL), in document order.
    fn expand<'a, 'e>(
        &self,
        exprs: impl Iterator<Item = &'a Expr>,
        row: &Row<'a>,
    ) -> EvalResult<Vec<Vec<Option<Datum<'a>>>>> {
        let mut combinations: Vec<Vec<Option<Datum<'a>>>> = vec![Vec::new()];
        for expr in exprs {
            let values = self.eval_expr(expr, row)?;
            let choices: Vec<Option<Datum<'a>>> = if values.is_empty() {
                vec![None]
            } else {
                values.into_iter().map(Some).collect()
            };
            combinations = combinations
                .into_iter()
                .flat_map(|prefix| {
                    choices.iter().map(move |choice| {
                        let mut next = prefix.clone();
                        next.push(choice.clone());
                        next
                    })
                })
                .collect();
        }
        Ok(combinations)
    }

    /// The values of an expression on a row; empty is NULL.
    pub(crate) fn eval_expr<'a>(
        &self,
        expr: &'a Expr,
        row: &Row<'a>,
    ) -> EvalResult<Vec<Datum<'a>>> {
        match expr {
            Expr::Path(path) => self.path_values(path, row),
            Expr::Literal(literal) => Ok(value::literal(literal).into_iter().collect()),
            Expr::Parameter(parameter) => self.parameter_values(parameter),
            Expr::Function(call) => self.call(call, row),
            Expr::Aggregate(call) => Err(EvalError::new(
                EvalErrorKind::Invalid,
                call.span,
                "an aggregate is only allowed as a column or an ORDER BY key",
            )),
        }
    }

    /// A parameter's value; a JSON array stands for its items (so `MATCHES {$ids}` takes a
    /// list) and `null` for no value.
    fn parameter_values<'a>(&self, parameter: &Parameter) -> EvalResult<Vec<Datum<'a>>> {
        let given = self.parameters.get(&parameter.name).ok_or_else(|| {
            EvalError::new(
                EvalErrorKind::MissingParameter,
                parameter.span,
                format!("parameter ${} has no value", parameter.name),
            )
        })?;
        let items: Vec<&Value> = match given {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        items
            .into_iter()
            .map(|item| match item {
                Value::Object(_) | Value::Array(_) => Err(EvalError::new(
                    EvalErrorKind::TypeMismatch,
                    parameter.span,
                    format!(
                        "parameter ${} must be a string, number or boolean",
                        parameter.name
                    ),
                )),
                primitive => Ok(Datum::owned(primitive.clone())),
            })
            .collect()
    }

    fn path_values<'a>(&self, path: &'a Path, row: &Row<'a>) -> EvalResult<Vec<Datum<'a>>> {
        let slot = self.variables.slot(&path.variable.name).ok_or_else(|| {
            EvalError::new(
                EvalErrorKind::UnknownVariable,
                path.variable.span,
                format!("unknown variable {}", path.variable.name),
            )
        })?;
        let Some(start) = row.get(slot).copied().flatten() else {
            return Ok(Vec::new());
        };
        if let Some(predicate) = &path.predicate
            && !self.predicate_holds(start, predicate)?
        {
            return Ok(Vec::new());
        }
        self.walk(start, &path.segments)
    }

    /// WHERE: two-valued logic over "some value satisfies".
    pub(crate) fn holds<'a>(&self, condition: &'a Condition, row: &Row<'a>) -> EvalResult<bool> {
        match condition {
            Condition::Comparison {
                left,
                op,
                right,
                span,
            } => {
                let left_values = self.eval_expr(left, row)?;
                let right_values = self.eval_expr(right, row)?;
                for left_value in &left_values {
                    for right_value in &right_values {
                        if value::compare(*op, left_value, right_value, *span)? {
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
            Condition::Like {
                operand,
                pattern,
                span,
            } => {
                let pattern = match pattern {
                    LikePattern::Pattern { pattern, .. } => pattern.clone(),
                    LikePattern::Parameter(parameter) => {
                        match self.parameters.get(&parameter.name) {
                            Some(Value::String(text)) => text.clone(),
                            _ => {
                                return Err(EvalError::new(
                                    EvalErrorKind::TypeMismatch,
                                    parameter.span,
                                    format!("LIKE pattern ${} must be a string", parameter.name),
                                ));
                            }
                        }
                    }
                };
                for datum in self.eval_expr(operand, row)? {
                    if value::like(&datum, &pattern, *span)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Matches {
                operand,
                matches,
                span,
            } => {
                let items = match matches {
                    MatchesOperand::ValueList { items, .. } => {
                        let mut values = Vec::new();
                        for item in items {
                            values.extend(self.eval_expr(item, row)?);
                        }
                        values
                    }
                    MatchesOperand::Uri { span, .. } => {
                        return Err(EvalError::new(
                            EvalErrorKind::Unsupported,
                            *span,
                            "MATCHES with a terminology uri needs a terminology service",
                        ));
                    }
                    MatchesOperand::Terminology(call) => {
                        return Err(EvalError::new(
                            EvalErrorKind::Unsupported,
                            call.span,
                            "TERMINOLOGY needs a terminology service",
                        ));
                    }
                };
                for datum in self.eval_expr(operand, row)? {
                    for item in &items {
                        if value::matches_item(&datum, item, *span)? {
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
            Condition::Exists { path, .. } => Ok(!self.path_values(path, row)?.is_empty()),
            Condition::Not { operand, .. } => Ok(!self.holds(operand, row)?),
            Condition::And { operands, .. } => {
                for operand in operands {
                    if !self.holds(operand, row)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or { operands, .. } => {
                for operand in operands {
                    if self.holds(operand, row)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Xor { operands, .. } => {
                // a chain of XOR holds when an odd number of its operands hold
                let mut odd = false;
                for operand in operands {
                    odd ^= self.holds(operand, row)?;
                }
                Ok(odd)
            }
        }
    }
}
