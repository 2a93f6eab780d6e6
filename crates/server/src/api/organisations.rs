//! `/api/v1/organisations`: the organisations of the circle of care (GP practices, hospitals,
//! ambulance services, hospices, social care...), by code. Their type is what consent
//! directives and the default policy refer to.

use access::OrganisationType;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use store::OrganisationRecord;
use time::OffsetDateTime;

use super::json_body;
use crate::AppState;
use crate::auth::Admin;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{RawBody, Reply, format_time};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganisationInput {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    /// Kept as sent (address, contact, parent organisation...).
    #[serde(default)]
    details: Option<Value>,
}

/// What a code may be: the ODS code alphabet (letters and digits), up to 12 characters.
fn check_code(code: &str) -> ApiResult<()> {
    if code.is_empty() || code.len() > 12 || !code.bytes().all(|byte| byte.is_ascii_alphanumeric())
    {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "code",
            format!("organisation code \"{code}\" is not 1 to 12 letters and digits"),
        ));
    }
    Ok(())
}

fn organisation_json(organisation: &OrganisationRecord) -> Value {
    let mut value = json!({
        "code": organisation.code,
        "name": organisation.name,
        "type": organisation.kind,
        "created": format_time(organisation.created),
        "updated": format_time(organisation.updated),
    });
    if let Some(details) = organisation.document.get("details") {
        value["details"] = details.clone();
    }
    value
}

/// `PUT /api/v1/organisations/{code}` (administrators): creates or replaces.
pub(super) async fn put(
    State(state): State<AppState>,
    _admin: Admin,
    Path(code): Path<String>,
    body: RawBody,
) -> ApiResult<Reply> {
    check_code(&code)?;
    let input: OrganisationInput = json_body(&body)?;
    if input.name.trim().is_empty() {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "/name",
            "the name is empty",
        ));
    }
    if OrganisationType::from_code(&input.kind).is_none() {
        let known: Vec<&str> = OrganisationType::ALL
            .iter()
            .map(|kind| kind.code())
            .collect();
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "/type",
            format!(
                "\"{}\" is not an organisation type; use one of {}",
                input.kind,
                known.join(", ")
            ),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let existing = state.store.get_organisation(&code).await?;
    let organisation = OrganisationRecord {
        code: code.clone(),
        name: input.name.trim().to_owned(),
        kind: input.kind,
        document: json!({ "details": input.details }),
        created: existing.as_ref().map_or(now, |existing| existing.created),
        updated: now,
    };
    state.store.put_organisation(organisation.clone()).await?;
    state.remember_organisation_type(&code, OrganisationType::from_code(&organisation.kind));
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(super::json_reply(status, &organisation_json(&organisation)))
}

/// `GET /api/v1/organisations/{code}`.
pub(super) async fn read(
    State(state): State<AppState>,
    _caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<Reply> {
    let organisation = state.store.get_organisation(&code).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("organisation {code} does not exist"),
        )
    })?;
    Ok(super::json_reply(
        StatusCode::OK,
        &organisation_json(&organisation),
    ))
}

/// `GET /api/v1/organisations`.
pub(super) async fn list(State(state): State<AppState>, _caller: Caller) -> ApiResult<Reply> {
    let organisations: Vec<Value> = state
        .store
        .list_organisations()
        .await?
        .iter()
        .map(organisation_json)
        .collect();
    Ok(super::json_reply(
        StatusCode::OK,
        &json!({ "organisations": organisations }),
    ))
}
