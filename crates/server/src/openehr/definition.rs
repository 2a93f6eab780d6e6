//! Definitions: operational templates (ADL 1.4) and stored queries.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use store::{StoredQuery, TemplateRecord};
use time::OffsetDateTime;

use super::api_base;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{Format, Prefer, RawBody, Reply, format_time, negotiate};

/// Percent-encodes a path segment (template ids contain spaces).
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Parses an OPT, stores it and keeps the parse; returns the template id. The upload
/// handler and [`crate::ingest`] both store templates through here.
pub(crate) async fn store_template(state: &AppState, opt: &[u8]) -> ApiResult<String> {
    let template = templates::opt::parse(opt)
        .map_err(|error| ApiError::new(ErrorCode::InvalidTemplate, error.to_string()))?;
    let summary = TemplateRecord {
        template_id: template.template_id.clone(),
        concept: template.concept.clone(),
        archetype_id: template.root.node_id.clone(),
        created_at: OffsetDateTime::now_utc(),
        opt: opt.to_vec(),
    };
    let template_id = summary.template_id.clone();
    state.store.put_template(summary).await?;
    state.remember_template(template);
    Ok(template_id)
}

/// Templates and stored queries are shared definitions: administrators and systems (a
/// forms designer's pipeline, an integration) add them; everyone authenticated reads them.
fn may_define(caller: &Caller) -> ApiResult<()> {
    crate::api::require_role(
        caller,
        &[access::Role::Administrator, access::Role::SystemIntegration],
        "add templates or stored queries",
    )
}

/// `POST /definition/template/adl1.4` with an OPT in XML.
pub async fn upload_template(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    prefer: Prefer,
    body: RawBody,
) -> ApiResult<Reply> {
    may_define(&caller)?;
    body.format_among(&[Format::Xml])?;
    let template_id = store_template(&state, &body.bytes).await?;
    let location = format!(
        "{}/definition/template/adl1.4/{}",
        api_base(&uri),
        encode_segment(&template_id)
    );
    let reply = Reply::new(StatusCode::CREATED)
        .header(header::LOCATION, &location)
        .etag(&template_id);
    Ok(match prefer {
        Prefer::Representation => reply.body(Format::Xml, body.bytes.to_vec()),
        Prefer::Identifier => reply.identifier(&template_id, Format::Json),
        Prefer::Minimal => reply,
    })
}

/// `GET /definition/template/adl1.4/{template_id}/example`: a generated composition that
/// validates against the template, as canonical JSON or XML, FLAT or STRUCTURED (`?format=`
/// or `Accept`).
pub async fn example_composition(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
    Path(template_id): Path<String>,
    Query(query): Query<super::simplified::FormatQuery>,
) -> ApiResult<Reply> {
    let format = super::simplified::output_format(&query, &headers, None)?;
    let known = state.template(&template_id).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::TemplateNotFound,
            format!("template \"{template_id}\" does not exist"),
        )
    })?;
    let example = templates::example::example(&known.template);
    let canonical = openehr_rm::json::to_vec(&example);
    let root_type = known.template.root.rm_type.as_str();
    // An EHR_STATUS or FOLDER template's example: canonical forms only, since the simplified
    // formats are formats of compositions.
    let body = match format {
        _ if root_type == "COMPOSITION" => {
            super::simplified::render_composition(&state, &canonical, format).await?
        }
        Format::Json => canonical,
        Format::Xml => openehr_rm::xml::to_vec(&example, &root_type.to_ascii_lowercase()),
        Format::Flat | Format::Structured => {
            return Err(ApiError::new(
                ErrorCode::NotAcceptable,
                format!(
                    "template \"{template_id}\" is a template of {root_type}, which has no \
                     simplified format; ask for application/json or application/xml"
                ),
            ));
        }
    };
    Ok(Reply::new(StatusCode::OK).body(format, body))
}

/// `GET /definition/template/adl1.4`
pub async fn list_templates(State(state): State<AppState>, _caller: Caller) -> ApiResult<Reply> {
    let templates = state.store.list_templates().await?;
    let list: Vec<_> = templates
        .iter()
        .map(|template| {
            json!({
                "template_id": template.template_id,
                "concept": template.concept,
                "archetype_id": template.archetype_id,
                "created_timestamp": format_time(template.created_at),
            })
        })
        .collect();
    Ok(
        Reply::new(StatusCode::OK)
            .body(Format::Json, serde_json::to_vec(&list).unwrap_or_default()),
    )
}

/// The web template media type of EHRbase and Better.
const WEB_TEMPLATE: &str = "application/openehr.wt+json";

/// `GET /definition/template/adl1.4/{template_id}`: the OPT as uploaded (`application/xml`,
/// the default), or its web template (`application/openehr.wt+json`, or `application/json`
/// as EHRbase answers it).
pub async fn get_template(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
    Path(template_id): Path<String>,
) -> ApiResult<Reply> {
    let wants_web_template = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|range| {
                range
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case(WEB_TEMPLATE)
            })
        });
    let format = if wants_web_template {
        Format::Json
    } else {
        negotiate(&headers, &[Format::Xml, Format::Json])?
    };
    let not_found = || {
        ApiError::new(
            ErrorCode::TemplateNotFound,
            format!("template \"{template_id}\" does not exist"),
        )
    };
    if format == Format::Json {
        let template = state.template(&template_id).await?.ok_or_else(not_found)?;
        let body = template.web_template.clone();
        let mut reply = Reply::new(StatusCode::OK)
            .etag(&template.template.template_id)
            .body(Format::Json, body);
        if wants_web_template {
            reply = reply.header(header::CONTENT_TYPE, WEB_TEMPLATE);
        }
        return Ok(reply);
    }
    let template = state
        .store
        .get_template(&template_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Reply::new(StatusCode::OK)
        .etag(&template.template_id)
        .last_modified(template.created_at)
        .body(Format::Xml, template.opt))
}

/// A qualified query name is `[namespace::]name`: letters, digits, `.`, `_` and `-` in each
/// part; the name `aql` is reserved for the ad-hoc query endpoint.
fn check_query_name(name: &str) -> ApiResult<()> {
    let ok = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    let (namespace, local) = match name.split_once("::") {
        Some((namespace, local)) => (Some(namespace), local),
        None => (None, name),
    };
    if namespace.is_none_or(ok) && ok(local) && !local.eq_ignore_ascii_case("aql") {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!(
                "query name \"{name}\" is not a qualified name [namespace::]name (letters, digits, . _ -; not \"aql\")"
            ),
        ))
    }
}

/// Parses `major.minor.patch`.
pub(crate) fn semantic_version(text: &str) -> Option<[u64; 3]> {
    let mut parts = text.split('.').map(|part| part.parse::<u64>().ok());
    let version = [parts.next()??, parts.next()??, parts.next()??];
    parts.next().is_none().then_some(version)
}

/// `?query_type=AQL` (the specification's name; `type` is accepted too).
#[derive(Deserialize)]
pub struct QueryType {
    query_type: Option<String>,
    #[serde(rename = "type")]
    legacy_type: Option<String>,
}

impl QueryType {
    fn get(self) -> Option<String> {
        self.query_type.or(self.legacy_type)
    }
}

async fn store_query_at(
    state: &AppState,
    uri: &OriginalUri,
    name: String,
    version: Option<String>,
    query_type: Option<String>,
    body: RawBody,
) -> ApiResult<Reply> {
    check_query_name(&name)?;
    let query_type = query_type.unwrap_or_else(|| "AQL".into());
    if !query_type.eq_ignore_ascii_case("AQL") {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("query type \"{query_type}\" is not supported; use AQL"),
        ));
    }
    let text = std::str::from_utf8(&body.bytes)
        .map_err(|_| ApiError::new(ErrorCode::MalformedBody, "the query is not utf-8 text"))?
        .trim()
        .to_owned();
    // Clients send the AQL as text or as {"q": "..."}.
    let text = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) => value
            .get("q")
            .and_then(|q| q.as_str())
            .map(str::to_owned)
            .unwrap_or(text),
        Err(_) => text,
    };
    if text.is_empty() {
        return Err(ApiError::new(
            ErrorCode::MalformedBody,
            "the query text is empty",
        ));
    }
    crate::query::check_stored(&text)?;
    let version = match version {
        Some(version) => {
            semantic_version(&version).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("version \"{version}\" is not a semantic version major.minor.patch"),
                )
            })?;
            version
        }
        None => match state.store.get_stored_query(&name, None).await? {
            Some(latest) => {
                let [major, minor, patch] = semantic_version(&latest.version).unwrap_or([1, 0, 0]);
                format!("{major}.{minor}.{}", patch + 1)
            }
            None => "1.0.0".into(),
        },
    };
    let query = StoredQuery {
        name: name.clone(),
        version: version.clone(),
        query_type: "AQL".into(),
        text,
        saved: OffsetDateTime::now_utc(),
    };
    state.store.put_stored_query(query).await?;
    Ok(Reply::new(StatusCode::OK).header(
        header::LOCATION,
        &format!("{}/definition/query/{name}/{version}", api_base(uri)),
    ))
}

/// `PUT /definition/query/{qualified_query_name}`: the next patch version.
pub async fn store_query(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    Path(name): Path<String>,
    Query(query_type): Query<QueryType>,
    body: RawBody,
) -> ApiResult<Reply> {
    may_define(&caller)?;
    store_query_at(&state, &uri, name, None, query_type.get(), body).await
}

/// `PUT /definition/query/{qualified_query_name}/{version}`
pub async fn store_query_version(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    Path((name, version)): Path<(String, String)>,
    Query(query_type): Query<QueryType>,
    body: RawBody,
) -> ApiResult<Reply> {
    may_define(&caller)?;
    store_query_at(
        &state,
        &uri,
        name,
        Some(version),
        query_type.query_type,
        body,
    )
    .await
}

fn query_json(query: &StoredQuery, with_text: bool) -> serde_json::Value {
    let mut value = json!({
        "name": query.name,
        "type": query.query_type,
        "version": query.version,
        "saved": format_time(query.saved),
    });
    if with_text {
        value["q"] = json!(query.text);
    }
    value
}

/// Every version of the stored queries whose name starts with `prefix`, with their text.
async fn list_with_prefix(state: &AppState, prefix: &str) -> ApiResult<Reply> {
    let queries = state.store.list_stored_queries(prefix).await?;
    let list: Vec<_> = queries
        .iter()
        .map(|query| query_json(query, true))
        .collect();
    Ok(
        Reply::new(StatusCode::OK)
            .body(Format::Json, serde_json::to_vec(&list).unwrap_or_default()),
    )
}

/// `GET /definition/query`
pub async fn list_queries(State(state): State<AppState>, _caller: Caller) -> ApiResult<Reply> {
    list_with_prefix(&state, "").await
}

/// `GET /definition/query/{qualified_query_name}`
pub async fn list_queries_named(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Reply> {
    list_with_prefix(&state, &name).await
}

/// Whether `version` is matched by a version pattern `major`, `major.minor` or `major.minor.patch`.
fn version_matches(pattern: &str, version: &str) -> bool {
    let mut wanted = pattern.split('.');
    let mut actual = version.split('.');
    wanted.all(|part| actual.next() == Some(part))
}

/// A stored query by name and version: the version given, the highest matching a partial
/// one (`1` or `1.2`), or the highest of all when none is given; 404 otherwise.
pub(crate) async fn find_stored_query(
    state: &AppState,
    name: &str,
    version: Option<&str>,
) -> ApiResult<StoredQuery> {
    let not_found = || match version {
        Some(version) => ApiError::new(
            ErrorCode::ObjectNotFound,
            format!("stored query {name} version {version} does not exist"),
        ),
        None => ApiError::new(
            ErrorCode::ObjectNotFound,
            format!("stored query {name} does not exist"),
        ),
    };
    let Some(version) = version else {
        return state
            .store
            .get_stored_query(name, None)
            .await?
            .ok_or_else(not_found);
    };
    match state.store.get_stored_query(name, Some(version)).await? {
        Some(query) => Ok(query),
        None => state
            .store
            .list_stored_queries(name)
            .await?
            .into_iter()
            .filter(|query| query.name == name && version_matches(version, &query.version))
            .max_by_key(|query| semantic_version(&query.version))
            .ok_or_else(not_found),
    }
}

/// `GET /definition/query/{qualified_query_name}/{version}`: the version, or the highest
/// version matching a partial one (`1` or `1.2`).
pub async fn get_query(
    State(state): State<AppState>,
    _caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Reply> {
    let query = find_stored_query(&state, &name, Some(&version)).await?;
    Ok(Reply::new(StatusCode::OK).body(
        Format::Json,
        serde_json::to_vec(&query_json(&query, true)).unwrap_or_default(),
    ))
}
