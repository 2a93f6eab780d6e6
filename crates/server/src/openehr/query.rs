//! Query execution: `GET`/`POST /query/aql` (ad hoc) and `GET`/`POST
//! /query/{qualified_query_name}[/{version}]` (stored). Parameters, paging and the
//! single-EHR scope come from the URL (GET) or the JSON body (POST); `?explain=true` returns
//! the plan instead of the rows, for administrators.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::definition::find_stored_query;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::guard::Guard;
use crate::http::{Format, RawBody, Reply, negotiate};
use crate::query::{QueryLimits, QueryRequest};

/// Everything a request says about how to run the query, whichever way it came.
struct Execution {
    text: Option<String>,
    parameters: Map<String, Value>,
    offset: Option<u64>,
    fetch: Option<u64>,
    ehr_id: Option<Uuid>,
    explain: bool,
    href: Option<String>,
}

fn invalid(name: &str, message: String) -> ApiError {
    ApiError::at(ErrorCode::InvalidParameter, name, message)
}

fn count(name: &str, value: &Value) -> ApiResult<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(
            name,
            format!("{name} must be a whole number from 0, not {value}"),
        )
    })
}

fn ehr_id_from(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text.trim()).map_err(|_| {
        invalid(
            "ehr_id",
            format!("ehr_id \"{text}\" is not an EHR id (a UUID)"),
        )
    })
}

/// A URL parameter's value: JSON when it reads as a number, a boolean, an array or a quoted
/// string (`140`, `true`, `["a","b"]`, `"0123"`), otherwise the text itself.
fn url_value(text: &str) -> Value {
    let trimmed = text.trim();
    let looks_typed = trimmed.starts_with('"')
        || trimmed.starts_with('[')
        || trimmed == "true"
        || trimmed == "false"
        || trimmed
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_digit() || first == '-');
    if looks_typed && let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return value;
    }
    Value::String(text.to_owned())
}

impl Execution {
    fn from_url(parameters: Vec<(String, String)>, uri: &OriginalUri) -> ApiResult<Execution> {
        let mut execution = Execution {
            href: Some(uri.0.to_string()),
            ..Execution::empty(&[])
        };
        for (name, value) in parameters {
            match name.as_str() {
                "q" => execution.text = Some(value),
                "offset" => execution.offset = Some(count("offset", &Value::String(value))?),
                "fetch" => execution.fetch = Some(count("fetch", &Value::String(value))?),
                "ehr_id" => execution.ehr_id = Some(ehr_id_from(&value)?),
                "explain" => execution.explain = value == "true" || value.is_empty(),
                _ => {
                    let name = name.strip_prefix('$').unwrap_or(&name).to_owned();
                    execution.parameters.insert(name, url_value(&value));
                }
            }
        }
        Ok(execution)
    }

    /// The JSON body of a POST: `q` (ad hoc only), `offset`, `fetch`, `query_parameters`,
    /// and Kith's `ehr_id`; `explain` still comes from the URL.
    fn from_body(body: &RawBody, url: Vec<(String, String)>) -> ApiResult<Execution> {
        body.format_among(&[Format::Json])?;
        let value: Value = serde_json::from_slice(&body.bytes).map_err(|error| {
            ApiError::new(
                ErrorCode::MalformedBody,
                format!("the body is not valid JSON: {error}"),
            )
        })?;
        let Value::Object(mut object) = value else {
            return Err(ApiError::new(
                ErrorCode::MalformedBody,
                "the body must be a JSON object with q, offset, fetch and query_parameters",
            ));
        };
        let mut execution = Execution::empty(&url);
        if let Some(q) = object.remove("q") {
            match q {
                Value::String(text) => execution.text = Some(text),
                other => return Err(invalid("q", format!("q must be a string, not {other}"))),
            }
        }
        for name in ["offset", "fetch"] {
            match object.remove(name) {
                None | Some(Value::Null) => {}
                Some(value) => {
                    let value = count(name, &value)?;
                    if name == "offset" {
                        execution.offset = Some(value);
                    } else {
                        execution.fetch = Some(value);
                    }
                }
            }
        }
        match object.remove("ehr_id") {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => execution.ehr_id = Some(ehr_id_from(&text)?),
            Some(other) => {
                return Err(invalid(
                    "ehr_id",
                    format!("ehr_id must be a string, not {other}"),
                ));
            }
        }
        match object.remove("query_parameters") {
            None | Some(Value::Null) => {}
            Some(Value::Object(parameters)) => {
                for (name, value) in parameters {
                    let name = name.strip_prefix('$').unwrap_or(&name).to_owned();
                    execution.parameters.insert(name, value);
                }
            }
            Some(other) => {
                return Err(invalid(
                    "query_parameters",
                    format!("query_parameters must be an object, not {other}"),
                ));
            }
        }
        Ok(execution)
    }

    /// A stored query's POST, whose body may be empty (no parameters, no paging).
    fn from_post(body: &RawBody, url: Vec<(String, String)>) -> ApiResult<Execution> {
        if !body.is_empty() {
            return Execution::from_body(body, url);
        }
        Ok(Execution::empty(&url))
    }

    /// Nothing given yet but `?explain` from the URL of a POST.
    fn empty(url: &[(String, String)]) -> Execution {
        Execution {
            text: None,
            parameters: Map::new(),
            offset: None,
            fetch: None,
            ehr_id: None,
            explain: url
                .iter()
                .any(|(name, value)| name == "explain" && (value == "true" || value.is_empty())),
            href: None,
        }
    }

    /// Adds the `openEHR-EHR-id` header's scope; it must agree with an `ehr_id` parameter.
    fn with_headers(mut self, headers: &HeaderMap) -> ApiResult<Execution> {
        if let Some(value) = headers.get("openehr-ehr-id") {
            let text = value.to_str().map_err(|_| {
                ApiError::new(ErrorCode::InvalidHeader, "openEHR-EHR-id is not text")
            })?;
            let id = Uuid::parse_str(text.trim()).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidHeader,
                    format!("openEHR-EHR-id \"{text}\" is not an EHR id (a UUID)"),
                )
            })?;
            if self.ehr_id.is_some_and(|given| given != id) {
                return Err(ApiError::new(
                    ErrorCode::InvalidHeader,
                    "the openEHR-EHR-id header and the ehr_id parameter name different EHRs",
                ));
            }
            self.ehr_id = Some(id);
        }
        Ok(self)
    }
}

async fn answer(
    state: &AppState,
    guard: &Guard,
    headers: &HeaderMap,
    execution: Execution,
    text: &str,
    name: Option<String>,
) -> ApiResult<Reply> {
    negotiate(headers, &[Format::Json])?;
    let caller = &guard.caller;
    // A query about named records is decided for those records only, as a read of them is.
    let named = execution
        .ehr_id
        .map(|ehr_id| vec![ehr_id])
        .or_else(|| crate::query::ehrs_named_by(text, &execution.parameters));
    let limits = QueryLimits {
        evaluation_limit: state.config.aql_evaluation_limit,
        timeout: state.config.query_timeout,
    };
    let person_of = |ehr_id: Option<Uuid>| async move {
        match ehr_id {
            Some(ehr_id) => state.store.person_by_ehr(ehr_id).await,
            None => Ok(None),
        }
    };
    let request_with = |filter: aql::sql::RowFilter| QueryRequest {
        text,
        parameters: execution.parameters.clone(),
        offset: execution.offset,
        fetch: execution.fetch,
        ehr_id: execution.ehr_id,
        filter,
        name: name.clone(),
        href: execution.href.clone(),
    };
    // A query about named records, by someone the policy must decide for: the decision and
    // the query confined to those records run side by side, and the answer is used only if
    // the decision allowed every one of them (otherwise the query runs again with what was
    // allowed). Nothing of a refused record leaves the server; the wait is the longer of the
    // two instead of their sum.
    let named_filter = named.as_ref().map(|named| {
        let mut ids: Vec<[u8; 16]> = named.iter().map(|id| *id.as_bytes()).collect();
        ids.sort();
        ids.dedup();
        aql::sql::RowFilter::ehrs(ids)
    });
    let speculative = match &named_filter {
        Some(named_filter) if !caller.is_admin && !execution.explain => Some(named_filter.clone()),
        _ => None,
    };
    let (filter, person, early) = match speculative {
        Some(named_filter) => {
            let (filter, person, early) = tokio::join!(
                crate::guard::row_filter(state, caller, named.as_deref()),
                person_of(execution.ehr_id),
                crate::query::run(
                    state.store.as_ref(),
                    limits,
                    request_with(named_filter.clone())
                ),
            );
            let filter = filter?;
            let early = (filter == named_filter).then_some(early);
            (filter, person?, early)
        }
        None => {
            let (filter, person) = tokio::join!(
                crate::guard::row_filter(state, caller, named.as_deref()),
                person_of(execution.ehr_id),
            );
            (filter?, person?, None)
        }
    };
    guard.slot.note(crate::guard::AuditNote {
        person_id: person.map(|person| person.person_id),
        allowed: true,
        reason: query_reason(&filter),
        break_glass: None,
        action: "query".to_owned(),
        records: Vec::new(),
    });
    let request = request_with(filter);
    if execution.explain {
        if !caller.is_admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "explain needs the administrator role",
            ));
        }
        let explanation = crate::query::explain(state.store.as_ref(), request).await?;
        return Ok(Reply::new(StatusCode::OK).body(
            Format::Json,
            serde_json::to_vec(&explanation).unwrap_or_default(),
        ));
    }
    let parameters = request.parameters.clone();
    let answer = match early {
        Some(early) => early?,
        None => crate::query::run(state.store.as_ref(), limits, request).await?,
    };
    // The people whose records the rows show find this query in their access logs.
    guard.slot.showed_records(
        answer
            .records
            .iter()
            .copied()
            .filter(|record| Some(*record) != execution.ehr_id),
    );
    let timing = answer.server_timing();
    let mut result = answer.result;
    if result.rows.is_empty() {
        // Only an empty answer needs explaining.
        let templates = uploaded_templates(state).await?;
        let warnings = crate::query::never_matches(text, &parameters, &templates);
        if let Some(meta) = result.meta.as_mut() {
            meta.warnings = warnings;
        }
    }
    Ok(Reply::new(StatusCode::OK)
        .header(HeaderName::from_static("server-timing"), &timing)
        .body(
            Format::Json,
            serde_json::to_vec(&result).unwrap_or_default(),
        ))
}

/// Every uploaded template, parsed (from the cache).
async fn uploaded_templates(
    state: &AppState,
) -> ApiResult<Vec<std::sync::Arc<crate::KnownTemplate>>> {
    let mut templates = Vec::new();
    for record in state.store.list_templates().await? {
        if let Some(known) = state.template(&record.template_id).await? {
            templates.push(known);
        }
    }
    Ok(templates)
}

fn required_text(execution: &Execution) -> ApiResult<String> {
    match execution.text.as_deref() {
        Some(text) if !text.trim().is_empty() => Ok(text.to_owned()),
        _ => Err(invalid("q", "the query (q) is missing or empty".into())),
    }
}

/// `GET /query/aql?q=...`
pub async fn adhoc_get(
    State(state): State<AppState>,
    guard: Guard,
    uri: OriginalUri,
    headers: HeaderMap,
    Query(url): Query<Vec<(String, String)>>,
) -> ApiResult<Reply> {
    let execution = Execution::from_url(url, &uri)?.with_headers(&headers)?;
    let text = required_text(&execution)?;
    answer(&state, &guard, &headers, execution, &text, None).await
}

/// `POST /query/aql` with `{"q": ..., "offset": ..., "fetch": ..., "query_parameters": {...}}`.
pub async fn adhoc_post(
    State(state): State<AppState>,
    guard: Guard,
    headers: HeaderMap,
    Query(url): Query<Vec<(String, String)>>,
    body: RawBody,
) -> ApiResult<Reply> {
    let execution = Execution::from_body(&body, url)?.with_headers(&headers)?;
    let text = required_text(&execution)?;
    answer(&state, &guard, &headers, execution, &text, None).await
}

async fn stored(
    state: &AppState,
    guard: &Guard,
    headers: &HeaderMap,
    execution: Execution,
    name: &str,
    version: Option<&str>,
) -> ApiResult<Reply> {
    if execution.text.is_some() {
        return Err(invalid(
            "q",
            "a stored query is run by its name; q is for /query/aql".into(),
        ));
    }
    let stored = find_stored_query(state, name, version).await?;
    answer(
        state,
        guard,
        headers,
        execution,
        &stored.text,
        Some(stored.name),
    )
    .await
}

/// `GET /query/{qualified_query_name}`
pub async fn stored_get(
    State(state): State<AppState>,
    guard: Guard,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(url): Query<Vec<(String, String)>>,
) -> ApiResult<Reply> {
    let execution = Execution::from_url(url, &uri)?.with_headers(&headers)?;
    stored(&state, &guard, &headers, execution, &name, None).await
}

/// `POST /query/{qualified_query_name}`
pub async fn stored_post(
    State(state): State<AppState>,
    guard: Guard,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(url): Query<Vec<(String, String)>>,
    body: RawBody,
) -> ApiResult<Reply> {
    let execution = Execution::from_post(&body, url)?.with_headers(&headers)?;
    stored(&state, &guard, &headers, execution, &name, None).await
}

/// `GET /query/{qualified_query_name}/{version}`
pub async fn stored_version_get(
    State(state): State<AppState>,
    guard: Guard,
    uri: OriginalUri,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
    Query(url): Query<Vec<(String, String)>>,
) -> ApiResult<Reply> {
    let execution = Execution::from_url(url, &uri)?.with_headers(&headers)?;
    stored(&state, &guard, &headers, execution, &name, Some(&version)).await
}

/// `POST /query/{qualified_query_name}/{version}`
pub async fn stored_version_post(
    State(state): State<AppState>,
    guard: Guard,
    headers: HeaderMap,
    Path((name, version)): Path<(String, String)>,
    Query(url): Query<Vec<(String, String)>>,
    body: RawBody,
) -> ApiResult<Reply> {
    let execution = Execution::from_post(&body, url)?.with_headers(&headers)?;
    stored(&state, &guard, &headers, execution, &name, Some(&version)).await
}

/// How a query's audit event describes what the caller's filter let it read.
fn query_reason(filter: &aql::sql::RowFilter) -> String {
    use aql::sql::Scope;
    let mut reason = match &filter.scope {
        Scope::All => "query over every record (administrator)".to_owned(),
        Scope::Ehrs(ehrs) => format!("query over the {} records the caller may read", ehrs.len()),
        Scope::Except(ehrs) => format!(
            "query for secondary use over every record but {} closed by directives",
            ehrs.len()
        ),
    };
    if !filter.withheld.is_empty() {
        reason.push_str(&format!(
            ", with the compositions of {} categories withheld where the caller may not read them",
            filter.withheld.len()
        ));
    }
    reason
}
