//! Running an AQL query for a caller: parse, check, compile to one SQL statement for the
//! store's dialect with the caller's row filter inside it, run it, and turn its rows into a
//! result set; or, for a query the compiler does not cover, evaluate it on the documents of
//! the EHRs that could match (`aql::eval`, the same evaluator the tests use as an oracle).
//!
//! Both ways give the same answer (the corpus and the differential tests hold them to it);
//! they differ in cost. The compiled way reads only index rows and the documents of the
//! objects it returns. The evaluated way reads every version document of every candidate
//! EHR, so it refuses to start on more than [`crate::Config::aql_evaluation_limit`] EHRs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aql::ast::{ComparisonOp, Condition, Expr, LiteralValue, Predicate, PredicateOperand, Query};
use aql::check::{CheckError, CheckErrorKind, Checked, VariableClass};
use aql::eval::{
    ChangeType as EvalChangeType, ContributionData, Dataset, EhrData, EvalError, EvalErrorKind,
    LifecycleState as EvalLifecycleState, ObjectKind as EvalObjectKind, VersionData,
};
use aql::result::{ResultMeta, ResultSet};
use aql::rows::ObjectRef;
use aql::sql::{Dialect, RowFilter, Scope, SqlParam, SqlQuery};
use aql::{ParseError, ast};
use serde::Serialize;
use serde_json::{Map, Value};
use store::{ChangeType, LifecycleState, ObjectKind, Store, StoredVersion};
use templates::model::{ObjectConstraint, ObjectKind as TemplateNode};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Detail, ErrorCode};

/// What to run, for whom.
pub struct QueryRequest<'a> {
    pub text: &'a str,
    pub parameters: Map<String, Value>,
    /// Rows to skip and to return, applied to the query's own result (after its LIMIT and
    /// OFFSET, if it has them).
    pub offset: Option<u64>,
    pub fetch: Option<u64>,
    /// `ehr_id` or `openEHR-EHR-id`: run within this EHR only.
    pub ehr_id: Option<Uuid>,
    /// The EHRs the caller may see (the access layer's decision).
    pub filter: RowFilter,
    /// The stored query's qualified name, when one is run.
    pub name: Option<String>,
    /// `_href` of the result, for GET requests.
    pub href: Option<String>,
}

/// Limits of query execution, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    pub evaluation_limit: usize,
    pub timeout: Duration,
}

/// A query's result set and where its time went, for the `Server-Timing` header.
#[derive(Debug)]
pub struct Answer {
    pub result: ResultSet,
    /// The records (EHRs) whose data the rows show, identified by an EHR id column or a
    /// whole object of the record; for the audit trail. Rows of values or aggregates alone
    /// name no record.
    pub records: Vec<Uuid>,
    /// Waiting for the database (the compiled statement, or the candidates and their
    /// documents when evaluated).
    pub database: Duration,
    /// The whole of [`run`]: parsing, checking, compiling, the database, building rows.
    pub total: Duration,
}

impl Answer {
    /// `Server-Timing` (W3C): lets a client tell the database's share of a query's time
    /// from the rest, as the AQL benchmark does.
    pub fn server_timing(&self) -> String {
        format!(
            "db;dur={:.3}, aql;dur={:.3}",
            self.database.as_secs_f64() * 1000.0,
            self.total.as_secs_f64() * 1000.0
        )
    }
}

/// Runs a query and builds its result set.
pub async fn run(
    store: &dyn Store,
    limits: QueryLimits,
    request: QueryRequest<'_>,
) -> ApiResult<Answer> {
    let started = Instant::now();
    let query = prepare(&request)?;
    let checked = aql::check::check(&query, &request.parameters).map_err(check_error)?;
    let filter = scoped_filter(&request.filter, request.ehr_id);
    let mut database = Duration::ZERO;
    let mut records = Vec::new();
    let execution = async {
        match compile(store, &checked, &filter).await? {
            Ok(sql) => run_compiled(store, &sql, &mut database, &mut records).await,
            Err(reason) => {
                evaluate(store, limits, &checked, &filter, &reason.0, &mut database).await
            }
        }
    };
    let rows = tokio::time::timeout(limits.timeout, execution)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::QueryTimeout,
                format!(
                    "the query did not finish within {} s",
                    limits.timeout.as_secs_f64()
                ),
            )
        })??;
    // The records the rows show: by their EHR ids, and (compiled) by the whole objects read.
    for column in ehr_id_columns(&checked) {
        records.extend(
            rows.iter()
                .filter_map(|row| row.get(column)?.as_str()?.parse::<Uuid>().ok()),
        );
    }
    records.sort_unstable();
    records.dedup();
    let resultsize = rows.len() as u64;
    let result = ResultSet {
        meta: Some(ResultMeta {
            href: request.href.clone(),
            result_type: Some("RESULTSET".into()),
            schema_version: Some("1.0.4".into()),
            created: time::OffsetDateTime::now_utc().format(&Rfc3339).ok(),
            generator: Some(concat!("Kith/", env!("CARGO_PKG_VERSION")).into()),
            executed_aql: Some(query.to_string()),
            fetch: request.fetch,
            offset: request.offset,
            resultsize: Some(resultsize),
            warnings: Vec::new(),
        }),
        q: request.text.to_owned(),
        name: request.name.clone(),
        columns: aql::result::columns(&query),
        rows,
    };
    Ok(Answer {
        result,
        records,
        database,
        total: started.elapsed(),
    })
}

/// The result columns that are an EHR's id (`e/ehr_id/value`).
fn ehr_id_columns(checked: &Checked<'_>) -> Vec<usize> {
    checked
        .query
        .select
        .columns
        .iter()
        .enumerate()
        .filter(|(_, column)| match &column.expr {
            Expr::Path(path) => {
                checked
                    .variable(&path.variable.name)
                    .is_some_and(|(_, variable)| variable.class == VariableClass::Ehr)
                    && path.segments.len() == 2
                    && path.segments[0].attribute.name == "ehr_id"
                    && path.segments[1].attribute.name == "value"
            }
            _ => false,
        })
        .map(|(index, _)| index)
        .collect()
}

/// Why a query can never match, given the uploaded templates:
/// - a variable every row needs (not under OR or NOT) names an archetype no template has, so
///   no stored composition holds it (EHR_STATUS and FOLDER archetypes are left out, as their
///   templates are optional);
/// - a path from a variable naming an archetype goes through a node id that archetype has
///   nowhere in the templates, so it yields nothing (attributes a template leaves open are
///   assumed to exist).
pub(crate) fn never_matches(
    text: &str,
    parameters: &Map<String, Value>,
    templates: &[std::sync::Arc<crate::KnownTemplate>],
) -> Vec<String> {
    let Ok(query) = aql::parse(text) else {
        return Vec::new();
    };
    let Ok(checked) = aql::check::check(&query, parameters) else {
        return Vec::new();
    };
    let mut roots: HashMap<&str, Vec<&ObjectConstraint>> = HashMap::new();
    for known in templates {
        archetype_roots(&known.template.root, &mut roots);
    }
    let optional_classes = ["EHR_STATUS", "FOLDER"];
    let mut warnings = Vec::new();
    for variable in &checked.variables {
        let Some(archetype_id) = variable.node_id.as_deref() else {
            continue;
        };
        let Some(class) = variable.rm_class() else {
            continue;
        };
        if !aql::index::is_archetype_id(archetype_id)
            || optional_classes.contains(&openehr_rm::model::class(class).name)
        {
            continue;
        }
        let Some(constraints) = roots.get(archetype_id) else {
            if !variable.negated && !variable.optional {
                warnings.push(format!(
                    "no uploaded template uses {archetype_id} (variable {}), so this query can match nothing",
                    variable.name
                ));
            }
            continue;
        };
        for path in query.paths() {
            if path.variable.name == variable.name
                && !constraints
                    .iter()
                    .any(|root| may_exist(root, &path.segments))
            {
                let warning = format!(
                    "{path} does not exist in {archetype_id} in any uploaded template, so it yields nothing"
                );
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
        }
    }
    warnings
}

fn archetype_roots<'t>(
    node: &'t ObjectConstraint,
    into: &mut HashMap<&'t str, Vec<&'t ObjectConstraint>>,
) {
    if aql::index::is_archetype_id(&node.node_id) {
        into.entry(node.node_id.as_str()).or_default().push(node);
    }
    for attribute in node.attributes() {
        for child in &attribute.children {
            archetype_roots(child, into);
        }
    }
}

/// Whether the path may reach something below this constraint: false only when a step's
/// node id matches none of the objects the template allows for a constrained attribute.
fn may_exist(node: &ObjectConstraint, segments: &[ast::PathSegment]) -> bool {
    let Some((segment, rest)) = segments.split_first() else {
        return true;
    };
    if !matches!(
        node.kind,
        TemplateNode::Complex { .. } | TemplateNode::ArchetypeRoot { .. }
    ) || node.attributes().is_empty()
    {
        return true;
    }
    let Some(attribute) = node.attribute(&segment.attribute.name) else {
        return true;
    };
    if attribute.children.is_empty()
        || attribute.children.iter().any(|child| {
            matches!(
                child.kind,
                TemplateNode::Slot { .. } | TemplateNode::InternalRef { .. }
            )
        })
    {
        return true;
    }
    let wanted = match &segment.predicate {
        Some(Predicate::Node { node, .. }) => Some(node.as_str()),
        _ => None,
    };
    attribute
        .children
        .iter()
        .filter(|child| wanted.is_none_or(|id| child.node_id == id))
        .any(|child| may_exist(child, rest))
}

/// How a query would run: the statement and the database's plan, or why it is evaluated.
#[derive(Debug, Serialize)]
pub struct Explanation {
    /// `sql` (one statement) or `evaluation` (documents, through the evaluator).
    pub strategy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The statement that runs: the query itself, or the one that finds the candidate EHRs.
    pub sql: String,
    pub parameters: Vec<Value>,
    pub plan: Vec<String>,
}

/// Compiles a query as [`run`] would and asks the database for its plan, without running it.
pub async fn explain(store: &dyn Store, request: QueryRequest<'_>) -> ApiResult<Explanation> {
    let query = prepare(&request)?;
    let checked = aql::check::check(&query, &request.parameters).map_err(check_error)?;
    let filter = scoped_filter(&request.filter, request.ehr_id);
    let (strategy, reason, sql) = match compile(store, &checked, &filter).await? {
        Ok(sql) => ("sql", None, sql),
        Err(reason) => (
            "evaluation",
            Some(reason.0),
            candidates_statement(&checked, store.dialect(), &filter),
        ),
    };
    let plan = store.explain_query(&sql).await?;
    Ok(Explanation {
        strategy,
        reason,
        parameters: sql
            .params
            .iter()
            .map(|param| match param {
                SqlParam::Text(text) => Value::from(text.clone()),
                SqlParam::Integer(integer) => Value::from(*integer),
                SqlParam::Real(real) => Value::from(*real),
                SqlParam::Uuid(bytes) => Value::from(Uuid::from_bytes(*bytes).to_string()),
                SqlParam::UuidList(ids) => Value::from(
                    ids.iter()
                        .map(|id| Value::from(Uuid::from_bytes(*id).to_string()))
                        .collect::<Vec<_>>(),
                ),
            })
            .collect(),
        sql: sql.text,
        plan,
    })
}

/// Checks a query about to be stored: it must parse and pass the semantic checks, except
/// for parameters, whose values only come when it runs.
pub fn check_stored(text: &str) -> ApiResult<()> {
    let query = aql::parse(text).map_err(|error| syntax_error(&error))?;
    match aql::check::check(&query, &Map::new()) {
        Err(error) if error.kind != CheckErrorKind::MissingParameter => Err(check_error(error)),
        _ => Ok(()),
    }
}

/// Parses the text and applies the request's paging.
fn prepare(request: &QueryRequest<'_>) -> ApiResult<Query> {
    let mut query = aql::parse(request.text).map_err(|error| syntax_error(&error))?;
    if request.offset.is_none() && request.fetch.is_none() {
        return Ok(query);
    }
    if let Some(top) = &query.top {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "fetch",
            format!(
                "fetch and offset cannot be combined with TOP (line {}, column {}); use LIMIT and OFFSET in the query or the parameters, not both kinds",
                top.span.line, top.span.column
            ),
        ));
    }
    // The request's window is taken from the query's own: skip `offset` more rows, and
    // return at most `fetch` of what is left of its LIMIT.
    let span = query.span;
    let own_offset = query.offset.as_ref().map_or(0, |count| count.value);
    let offset = own_offset.saturating_add(request.offset.unwrap_or(0));
    let limit = match (query.limit.as_ref().map(|count| count.value), request.fetch) {
        (Some(own), Some(fetch)) => {
            Some(own.saturating_sub(request.offset.unwrap_or(0)).min(fetch))
        }
        (Some(own), None) => Some(own.saturating_sub(request.offset.unwrap_or(0))),
        (None, fetch) => fetch,
    };
    match limit {
        Some(limit) => {
            query.limit = Some(ast::Count { value: limit, span });
            query.offset = (offset > 0).then_some(ast::Count {
                value: offset,
                span,
            });
        }
        None => {
            // OFFSET without LIMIT is not AQL: a limit no result reaches stands in.
            query.limit = Some(ast::Count {
                value: i64::MAX as u64,
                span,
            });
            query.offset = Some(ast::Count {
                value: offset,
                span,
            });
        }
    }
    Ok(query)
}

/// Compiles for the store's dialect with the ids of the paths the statement reads, which the
/// store knows (and caches): a first compilation names them, the second writes them in.
async fn compile(
    store: &dyn Store,
    checked: &Checked<'_>,
    filter: &RowFilter,
) -> ApiResult<Result<SqlQuery, aql::sql::NotCompiled>> {
    let first = match aql::sql::compile(checked, store.dialect(), filter) {
        Ok(first) => first,
        Err(reason) => return Ok(Err(reason)),
    };
    let ids = store.path_ids(&first.path_keys).await?;
    if ids.is_empty() {
        return Ok(Ok(first));
    }
    Ok(aql::sql::compile_with_paths(
        checked,
        store.dialect(),
        filter,
        &ids,
    ))
}

/// The caller's filter narrowed to the request's EHR, if it names one.
fn scoped_filter(filter: &RowFilter, ehr_id: Option<Uuid>) -> RowFilter {
    let Some(ehr_id) = ehr_id else {
        return filter.clone();
    };
    let id = *ehr_id.as_bytes();
    let ehrs = match &filter.scope {
        Scope::All => vec![id],
        Scope::Ehrs(ids) => ids.iter().copied().filter(|each| *each == id).collect(),
        Scope::Except(ids) if ids.contains(&id) => Vec::new(),
        Scope::Except(_) => vec![id],
    };
    RowFilter {
        scope: Scope::Ehrs(ehrs),
        withheld: filter.withheld.clone(),
    }
}

async fn run_compiled(
    store: &dyn Store,
    sql: &SqlQuery,
    database: &mut Duration,
    records: &mut Vec<Uuid>,
) -> ApiResult<Vec<Vec<Value>>> {
    let started = Instant::now();
    let read = store.run_query(sql).await?;
    *database += started.elapsed();
    let mut objects: HashMap<ObjectRef, Value> = HashMap::new();
    let mut parsed: HashMap<([u8; 16], [u8; 16]), openehr_rm::RmObject> = HashMap::new();
    for object in aql::rows::object_refs(sql, &read.rows) {
        records.push(Uuid::from_bytes(object.ehr_id));
        let key = (object.ehr_id, object.object_id);
        let Some(document) = read.documents.get(&key) else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(entry) = parsed.entry(key) {
            let root = openehr_rm::json::from_slice(document, "LOCATABLE")
                .map_err(|error| ApiError::internal("a stored document does not parse", &error))?;
            entry.insert(root);
        }
        if let Some(node) = parsed
            .get(&key)
            .and_then(|root| aql::index::root_at(root, object.seq))
        {
            objects.insert(object, openehr_rm::json::to_value(node));
        }
    }
    Ok(read
        .rows
        .iter()
        .map(|row| aql::rows::to_json(sql, row, &objects))
        .collect())
}

/// Answers a query the compiler does not cover by evaluating it on the documents of every
/// EHR that could match.
async fn evaluate(
    store: &dyn Store,
    limits: QueryLimits,
    checked: &Checked<'_>,
    filter: &RowFilter,
    reason: &str,
    database: &mut Duration,
) -> ApiResult<Vec<Vec<Value>>> {
    let statement = candidates_statement(checked, store.dialect(), filter);
    let started = Instant::now();
    let candidates = store.run_query(&statement).await?;
    *database += started.elapsed();
    if candidates.rows.len() > limits.evaluation_limit {
        return Err(ApiError::new(
            ErrorCode::QueryTooBroad,
            format!(
                "this query is answered by reading documents ({reason} is not compiled to SQL), and it could match {} EHRs, more than the {} allowed (KITH_AQL_EVALUATION_LIMIT); name an EHR or an archetype to narrow it",
                candidates.rows.len(),
                limits.evaluation_limit
            ),
        ));
    }
    let all_versions = aql::eval::mentions_version(&checked.query.from);
    let mut dataset = Dataset::default();
    for row in &candidates.rows {
        let Some(store::SqlValue::Uuid(bytes)) = row.first() else {
            continue;
        };
        let ehr_id = Uuid::from_bytes(*bytes);
        let started = Instant::now();
        let Some(ehr) = store.get_ehr(ehr_id).await? else {
            continue;
        };
        let versions = store.ehr_versions(ehr_id, !all_versions).await?;
        *database += started.elapsed();
        dataset.ehrs.push(ehr_data(&ehr, versions, filter)?);
    }
    let result = aql::eval::evaluate(checked.query, &parameters_of(checked), &dataset)
        .map_err(|error| eval_error(&error))?;
    Ok(result.rows)
}

fn parameters_of(checked: &Checked<'_>) -> Map<String, Value> {
    checked
        .parameters
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The statement listing the EHRs an evaluated query could match: those in the filter, the
/// one its EHR predicate names, and, unless it reads versions (whose history the index rows
/// do not describe), only EHRs holding every archetype a required variable names.
fn candidates_statement(checked: &Checked<'_>, dialect: Dialect, filter: &RowFilter) -> SqlQuery {
    let mut params = Vec::new();
    let placeholder = |param: SqlParam, params: &mut Vec<SqlParam>| -> String {
        let cast = match (dialect, &param) {
            (Dialect::Sqlite, _) => "",
            (Dialect::Postgres, SqlParam::Uuid(_)) => "::uuid",
            (Dialect::Postgres, SqlParam::Integer(_)) => "::int8",
            (Dialect::Postgres, SqlParam::Real(_)) => "::float8",
            (Dialect::Postgres, SqlParam::Text(_)) => "::text",
            (Dialect::Postgres, SqlParam::UuidList(_)) => "::uuid[]",
        };
        params.push(param);
        match dialect {
            Dialect::Sqlite => format!("?{}", params.len()),
            Dialect::Postgres => format!("${}{cast}", params.len()),
        }
    };
    let mut conditions = Vec::new();
    let id_list = |ids: &[[u8; 16]], negated: bool, params: &mut Vec<SqlParam>| -> String {
        aql::sql::id_list_condition(dialect, "e.ehr_id", ids, negated, |param| {
            placeholder(param, params)
        })
    };
    match &filter.scope {
        Scope::All => {}
        Scope::Ehrs(ids) => conditions.push(id_list(ids, false, &mut params)),
        Scope::Except(ids) if ids.is_empty() => {}
        Scope::Except(ids) => conditions.push(id_list(ids, true, &mut params)),
    }
    if let Some(ids) = named_ehrs(checked) {
        conditions.push(id_list(&ids, false, &mut params));
    }
    if !aql::eval::mentions_version(&checked.query.from) {
        for variable in &checked.variables {
            let required = !variable.negated
                && !variable.optional
                && matches!(variable.class, VariableClass::Rm(_));
            let Some(archetype_id) = variable.node_id.as_deref() else {
                continue;
            };
            if required && aql::index::is_archetype_id(archetype_id) {
                let param = placeholder(SqlParam::Text(archetype_id.to_owned()), &mut params);
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM query_node n WHERE n.ehr_id = e.ehr_id AND n.archetype_path_id = (SELECT path_id FROM query_path WHERE path = {param}))"
                ));
            }
        }
    }
    let mut text = "SELECT e.ehr_id FROM ehr e".to_owned();
    if !conditions.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conditions.join(" AND "));
    }
    text.push_str(" ORDER BY e.ehr_id");
    SqlQuery {
        text,
        params,
        cells: Vec::new(),
        width: 1,
        path_keys: Vec::new(),
    }
}

/// The EHRs an `EHR e[ehr_id/value = ...]` predicate names, or a top-level
/// `e/ehr_id/value = ...` condition of WHERE.
/// The EHRs a query names (`EHR e[ehr_id/value=...]`, by literal or parameter), when it
/// parses and checks; None otherwise (the query's own run reports why).
pub fn ehrs_named_by(text: &str, parameters: &Map<String, Value>) -> Option<Vec<Uuid>> {
    let query = aql::parse(text).ok()?;
    let checked = aql::check::check(&query, parameters).ok()?;
    named_ehrs(&checked).map(|ids| ids.into_iter().map(Uuid::from_bytes).collect())
}

fn named_ehrs(checked: &Checked<'_>) -> Option<Vec<[u8; 16]>> {
    let ehr = checked
        .variables
        .iter()
        .find(|variable| variable.class == VariableClass::Ehr && !variable.negated)?;
    // A string literal, or a parameter given a string.
    let text_of = |literal: Option<&ast::Literal>, parameter: Option<&ast::Parameter>| match (
        literal, parameter,
    ) {
        (Some(literal), _) => match &literal.value {
            LiteralValue::String(text) => Some(text.clone()),
            _ => None,
        },
        (None, Some(parameter)) => checked
            .parameters
            .get(&parameter.name)
            .and_then(Value::as_str)
            .map(str::to_owned),
        (None, None) => None,
    };
    let value_of = |operand: &PredicateOperand| match operand {
        PredicateOperand::Literal(literal) => text_of(Some(literal), None),
        PredicateOperand::Parameter(parameter) => text_of(None, Some(parameter)),
        _ => None,
    };
    let is_ehr_id = |segments: &[ast::PathSegment]| {
        segments.len() == 2
            && segments[0].attribute.name == "ehr_id"
            && segments[1].attribute.name == "value"
            && segments.iter().all(|segment| segment.predicate.is_none())
    };
    if let Some(Predicate::Comparison {
        path,
        op: ComparisonOp::Equal,
        operand,
        ..
    }) = &ehr.predicate
        && is_ehr_id(&path.segments)
    {
        let text = value_of(operand)?;
        return Some(aql::sql::parse_uuid(&text).into_iter().collect());
    }
    let mut conjuncts = Vec::new();
    if let Some(condition) = &checked.query.where_clause {
        flatten_and(condition, &mut conjuncts);
    }
    for condition in conjuncts {
        if let Condition::Comparison {
            left,
            op: ComparisonOp::Equal,
            right,
            ..
        } = condition
            && let Expr::Path(path) = &**left
            && path.variable.name == ehr.name
            && path.predicate.is_none()
            && is_ehr_id(&path.segments)
        {
            let text = match &**right {
                Expr::Literal(literal) => text_of(Some(literal), None),
                Expr::Parameter(parameter) => text_of(None, Some(parameter)),
                _ => None,
            }?;
            return Some(aql::sql::parse_uuid(&text).into_iter().collect());
        }
    }
    None
}

fn flatten_and<'c>(condition: &'c Condition, into: &mut Vec<&'c Condition>) {
    match condition {
        Condition::And { operands, .. } => {
            for operand in operands {
                flatten_and(operand, into);
            }
        }
        other => into.push(other),
    }
}

fn format_instant(instant: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6][offset_hour sign:mandatory]:[offset_minute]"
    );
    instant.format(&format).unwrap_or_default()
}

/// An EHR and its versions as the evaluator reads them, contributions in commit order.
/// An EHR's versions for the evaluator, without those the filter withholds (each version by
/// its own template and root archetype).
fn ehr_data(
    ehr: &store::EhrRecord,
    versions: Vec<StoredVersion>,
    filter: &RowFilter,
) -> ApiResult<EhrData> {
    let mut contributions: Vec<ContributionData> = Vec::new();
    for version in versions {
        let data: Value = serde_json::from_slice(&version.data)
            .map_err(|error| ApiError::internal("a stored document does not parse", &error))?;
        let meta = version.meta;
        if meta.kind == ObjectKind::Composition
            && filter.withholds(
                ehr.ehr_id.as_bytes(),
                meta.template_id.as_deref(),
                data.get("archetype_node_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )
        {
            continue;
        }
        let entry = VersionData {
            kind: match meta.kind {
                ObjectKind::Composition => EvalObjectKind::Composition,
                ObjectKind::EhrStatus => EvalObjectKind::EhrStatus,
                ObjectKind::Folder => EvalObjectKind::Folder,
            },
            object_id: meta.object_id.to_string(),
            version: meta.version,
            change_type: match meta.audit.change_type {
                ChangeType::Creation => EvalChangeType::Creation,
                ChangeType::Amendment => EvalChangeType::Amendment,
                ChangeType::Modification => EvalChangeType::Modification,
                ChangeType::Synthesis => EvalChangeType::Synthesis,
                ChangeType::Deleted => EvalChangeType::Deleted,
                ChangeType::AttestationOnly => EvalChangeType::AttestationOnly,
                ChangeType::FormatConversion => EvalChangeType::FormatConversion,
                ChangeType::Unknown => EvalChangeType::Unknown,
            },
            lifecycle_state: match meta.lifecycle_state {
                LifecycleState::Complete => EvalLifecycleState::Complete,
                LifecycleState::Incomplete => EvalLifecycleState::Incomplete,
                LifecycleState::Deleted => EvalLifecycleState::Deleted,
            },
            data,
        };
        let contribution_id = meta.contribution_id.to_string();
        match contributions.last_mut() {
            Some(last) if last.contribution_id == contribution_id => last.versions.push(entry),
            _ => contributions.push(ContributionData {
                contribution_id,
                time_committed: format_instant(meta.audit.time_committed),
                committer: meta.audit.committer,
                versions: vec![entry],
            }),
        }
    }
    Ok(EhrData {
        ehr_id: ehr.ehr_id.to_string(),
        system_id: ehr.system_id.clone(),
        time_created: format_instant(ehr.time_created),
        contributions,
    })
}

fn position(line: u32, column: u32, message: &str) -> Detail {
    Detail {
        path: "q".into(),
        message: message.to_owned(),
        line: Some(line),
        column: Some(column),
        ..Detail::default()
    }
}

fn syntax_error(error: &ParseError) -> ApiError {
    let mut detail = position(error.line, error.column, &error.message);
    detail.expected = error.expected.clone();
    detail.found = Some(error.found.clone());
    detail.hint = error.hint.clone();
    ApiError {
        details: vec![detail],
        ..ApiError::new(ErrorCode::AqlSyntax, error.to_string())
    }
}

fn check_error(error: CheckError) -> ApiError {
    let code = match error.kind {
        CheckErrorKind::UnknownClass => ErrorCode::AqlUnknownClass,
        CheckErrorKind::UnknownVariable => ErrorCode::AqlUnknownVariable,
        CheckErrorKind::DuplicateVariable => ErrorCode::AqlDuplicateVariable,
        CheckErrorKind::UnknownAttribute => ErrorCode::AqlUnknownAttribute,
        CheckErrorKind::MissingParameter => ErrorCode::AqlMissingParameter,
        CheckErrorKind::TypeMismatch => ErrorCode::AqlTypeMismatch,
        CheckErrorKind::ObjectComparison => ErrorCode::AqlObjectComparison,
        CheckErrorKind::InvalidQuery => ErrorCode::AqlInvalid,
        CheckErrorKind::Unsupported => ErrorCode::AqlUnsupported,
    };
    ApiError {
        details: vec![position(error.span.line, error.span.column, &error.message)],
        ..ApiError::new(code, error.to_string())
    }
}

fn eval_error(error: &EvalError) -> ApiError {
    let code = match error.kind {
        EvalErrorKind::UnknownVariable => ErrorCode::AqlUnknownVariable,
        EvalErrorKind::DuplicateVariable => ErrorCode::AqlDuplicateVariable,
        EvalErrorKind::MissingParameter => ErrorCode::AqlMissingParameter,
        EvalErrorKind::UnknownClass => ErrorCode::AqlUnknownClass,
        EvalErrorKind::ObjectComparison => ErrorCode::AqlObjectComparison,
        EvalErrorKind::TypeMismatch => ErrorCode::AqlTypeMismatch,
        EvalErrorKind::Unsupported => ErrorCode::AqlUnsupported,
        EvalErrorKind::Invalid => ErrorCode::AqlInvalid,
    };
    ApiError {
        details: vec![position(error.span.line, error.span.column, &error.message)],
        ..ApiError::new(code, error.to_string())
    }
}
