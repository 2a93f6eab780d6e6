//! Kith's own API at `/api/v1`: people and their identifiers, organisations, care
//! relationships and consent directives.

mod audit;
pub(crate) mod consents;
mod organisations;
pub(crate) mod people;
pub(crate) mod relationships;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use access::Role;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{Format, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", post(people::register).get(people::search))
        .route("/people/{id}", get(people::read).put(people::update))
        .route("/people/{id}/merge", post(people::merge))
        .route(
            "/people/{id}/relationships",
            get(relationships::list).post(relationships::add),
        )
        .route(
            "/people/{id}/relationships/{relationship_id}",
            axum::routing::delete(relationships::remove),
        )
        .route(
            "/people/{id}/consents",
            get(consents::list).post(consents::add),
        )
        .route(
            "/people/{id}/consents/{directive_id}",
            get(consents::read).put(consents::update),
        )
        .route("/people/{id}/access-log", get(audit::person_access_log))
        .route("/me/access-log", get(audit::my_access_log))
        .route("/audit", get(audit::read))
        .route("/organisations", get(organisations::list))
        .route(
            "/organisations/{code}",
            get(organisations::read).put(organisations::put),
        )
}

/// A JSON request body as `T`; 415 for another content type, 400 naming the line, the
/// column and what is wrong (an unknown field, a wrong type) otherwise.
pub(crate) fn json_body<T: DeserializeOwned>(body: &RawBody) -> ApiResult<T> {
    body.format_among(&[Format::Json])?;
    serde_json::from_slice(&body.bytes).map_err(|error| {
        ApiError::new(
            ErrorCode::MalformedBody,
            format!("the body is not valid here: {error}"),
        )
    })
}

/// Refuses (403) a caller whose role is not among `roles`: a refusal by role reveals nothing
/// about any record.
pub(crate) fn require_role(caller: &Caller, roles: &[Role], what: &str) -> ApiResult<()> {
    if roles.contains(&caller.role) {
        return Ok(());
    }
    let allowed: Vec<&str> = roles.iter().map(|role| role.label()).collect();
    Err(ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "the {} role may not {what} (allowed: {})",
            caller.role.label(),
            allowed.join(", ")
        ),
    ))
}

/// A 400 listing field errors (each at its JSON pointer) after a summary.
pub(crate) fn field_errors(summary: &str, errors: Vec<access::model::FieldError>) -> ApiError {
    let listed = errors
        .iter()
        .map(|error| format!("{}: {}", error.path, error.message))
        .collect::<Vec<_>>()
        .join("; ");
    let mut error = ApiError::new(ErrorCode::InvalidParameter, format!("{summary}: {listed}"));
    error.details = errors
        .into_iter()
        .map(|error| crate::error::Detail {
            path: error.path,
            message: error.message,
            ..crate::error::Detail::default()
        })
        .collect();
    error
}

/// A JSON answer.
pub(crate) fn json_reply(
    status: axum::http::StatusCode,
    value: &serde_json::Value,
) -> crate::http::Reply {
    crate::http::Reply::new(status)
        .body(Format::Json, serde_json::to_vec(value).unwrap_or_default())
}

/// The version an update expects, from `If-Match: "<version>"` (required).
pub(crate) fn version_from_if_match(headers: &HeaderMap) -> ApiResult<u32> {
    let tag = crate::http::require_if_match(headers)?;
    tag.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidHeader,
            format!("if-match \"{tag}\" is not a version number of this resource"),
        )
    })
}
