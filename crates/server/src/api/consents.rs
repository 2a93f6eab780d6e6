//! `/api/v1/people/{id}/consents`: a person's consent directives (permit or deny, by actor,
//! purpose, data category and period), versioned, and exported as FHIR R4 Consent. The
//! policy reads them on every decision; the query filter reads their flattened rules.

use access::consent::{Actor, ConsentDirective, DirectiveStatus, to_fhir_consent};
use access::nhs::NhsNumber;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{ConsentRecord, ConsentRule};
use time::OffsetDateTime;
use uuid::Uuid;

use super::people::visible_person;
use super::{field_errors, json_body, version_from_if_match};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::guard::Guard;
use crate::http::{Format, RawBody, Reply, format_time};
use access::policy::{Action, Resource};

/// The audit action of every consent request.
const AUDIT_ACTION: &str = "consent";

/// The person whose directives `{id}` names, if the caller may manage them (the person,
/// their proxies with authority, administrators).
async fn consenting_person(
    state: &AppState,
    guard: &Guard,
    id: &str,
) -> ApiResult<store::PersonRecord> {
    visible_person(
        state,
        guard,
        id,
        Action::ManageConsent,
        Resource::Demographics,
        AUDIT_ACTION,
    )
    .await
}

/// The stored directive as the policy reads it.
pub(crate) fn directive_of(record: &ConsentRecord) -> Option<ConsentDirective> {
    serde_json::from_value(record.document.clone()).ok()
}

/// A directive's rules as rows: one per actor, purpose and category it names (an empty list
/// is one row meaning "any"); none while it is inactive.
pub(crate) fn rules_of(directive: &ConsentDirective) -> Vec<ConsentRule> {
    if directive.status != DirectiveStatus::Active {
        return Vec::new();
    }
    let actors: Vec<(&'static str, Option<String>)> = if directive.actors.is_empty() {
        vec![("any", None)]
    } else {
        directive
            .actors
            .iter()
            .map(|actor| match actor {
                Actor::Organisation { code } => ("organisation", Some(code.clone())),
                Actor::OrganisationType { organisation_type } => (
                    "organisation-type",
                    Some(organisation_type.code().to_owned()),
                ),
                Actor::Professional { user } => ("professional", Some(user.clone())),
                Actor::Proxy { user } => ("proxy", Some(user.clone())),
                Actor::Role { role } => ("role", Some(role.code().to_owned())),
            })
            .collect()
    };
    let purposes: Vec<Option<String>> = if directive.purposes.is_empty() {
        vec![None]
    } else {
        directive
            .purposes
            .iter()
            .map(|purpose| Some(purpose.code().to_owned()))
            .collect()
    };
    let categories: Vec<Option<String>> = if directive.categories.is_empty() {
        vec![None]
    } else {
        directive.categories.iter().cloned().map(Some).collect()
    };
    let mut rules = Vec::new();
    for (actor_kind, actor) in &actors {
        for purpose in &purposes {
            for category in &categories {
                rules.push(ConsentRule {
                    effect: directive.decision.code().to_owned(),
                    actor_kind: (*actor_kind).to_owned(),
                    actor: actor.clone(),
                    purpose: purpose.clone(),
                    category: category.clone(),
                    starts: directive.period.start,
                    ends: directive.period.end,
                });
            }
        }
    }
    rules
}

fn consent_json(record: &ConsentRecord) -> Value {
    let mut value = record.document.clone();
    value["version"] = json!(record.version);
    value["created"] = json!(format_time(record.created));
    value["updated"] = json!(format_time(record.updated));
    value
}

fn consent_reply(status: StatusCode, person_id: Uuid, record: &ConsentRecord) -> Reply {
    Reply::new(status)
        .etag(&record.version.to_string())
        .header(
            header::LOCATION,
            &format!(
                "/api/v1/people/{person_id}/consents/{}",
                record.directive_id
            ),
        )
        .body(
            Format::Json,
            serde_json::to_vec(&consent_json(record)).unwrap_or_default(),
        )
}

fn checked(state: &AppState, body: &RawBody) -> ApiResult<ConsentDirective> {
    let directive: ConsentDirective = json_body(body)?;
    let errors = directive.validate(&state.categories);
    if !errors.is_empty() {
        return Err(field_errors("the consent directive is not valid", errors));
    }
    Ok(directive)
}

/// `POST /api/v1/people/{id}/consents`: records a directive (version 1).
pub(super) async fn add(
    State(state): State<AppState>,
    guard: Guard,
    Path(id): Path<String>,
    body: RawBody,
) -> ApiResult<Reply> {
    let person = consenting_person(&state, &guard, &id).await?;
    let mut directive = checked(&state, &body)?;
    if !directive.id.is_nil() {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "/id",
            "the server assigns a directive's id; send none",
        ));
    }
    directive.id = Uuid::new_v4();
    let now = OffsetDateTime::now_utc();
    let record = ConsentRecord {
        ehr_id: person.ehr_id,
        directive_id: directive.id,
        version: 1,
        status: directive.status.code().to_owned(),
        rules: rules_of(&directive),
        document: serde_json::to_value(&directive).unwrap_or(Value::Null),
        created: now,
        updated: now,
    };
    state.store.put_consent(record.clone()).await?;
    Ok(consent_reply(
        StatusCode::CREATED,
        person.person_id,
        &record,
    ))
}

/// `GET /api/v1/people/{id}/consents`.
pub(super) async fn list(
    State(state): State<AppState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Reply> {
    let person = consenting_person(&state, &guard, &id).await?;
    let directives: Vec<Value> = state
        .store
        .list_consents(person.ehr_id)
        .await?
        .iter()
        .map(consent_json)
        .collect();
    Ok(super::json_reply(
        StatusCode::OK,
        &json!({ "consents": directives }),
    ))
}

async fn require_consent(state: &AppState, ehr_id: Uuid, text: &str) -> ApiResult<ConsentRecord> {
    let directive_id = crate::http::parse_uuid(text, "consent directive id")?;
    state
        .store
        .list_consents(ehr_id)
        .await?
        .into_iter()
        .find(|record| record.directive_id == directive_id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("consent directive {directive_id} does not exist"),
            )
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadParameters {
    /// `fhir` for a FHIR R4 Consent resource.
    format: Option<String>,
}

/// `GET /api/v1/people/{id}/consents/{directive_id}[?format=fhir]`.
pub(super) async fn read(
    State(state): State<AppState>,
    guard: Guard,
    Path((id, directive_id)): Path<(String, String)>,
    Query(parameters): Query<ReadParameters>,
) -> ApiResult<Reply> {
    let person = consenting_person(&state, &guard, &id).await?;
    let record = require_consent(&state, person.ehr_id, &directive_id).await?;
    match parameters.format.as_deref() {
        None | Some("json") => Ok(consent_reply(StatusCode::OK, person.person_id, &record)),
        Some("fhir") => {
            let directive = directive_of(&record).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Internal,
                    "a stored consent directive does not read back",
                )
            })?;
            let nhs_number = person
                .identifiers
                .iter()
                .find(|(system, _)| system == access::nhs::NHS_NUMBER_NAMESPACE)
                .and_then(|(_, value)| NhsNumber::parse(value).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::Conflict,
                        "the FHIR Consent names its patient by NHS number, and this person has none",
                    )
                })?;
            let fhir = to_fhir_consent(&directive, &nhs_number, record.updated);
            Ok(Reply::new(StatusCode::OK)
                .etag(&record.version.to_string())
                .header(header::CONTENT_TYPE, "application/fhir+json")
                .body(Format::Json, serde_json::to_vec(&fhir).unwrap_or_default()))
        }
        Some(other) => Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "format",
            format!("format \"{other}\" is not json or fhir"),
        )),
    }
}

/// `PUT /api/v1/people/{id}/consents/{directive_id}` with `If-Match: "<version>"`: a new
/// version of the directive (to withdraw one, set its status to inactive).
pub(super) async fn update(
    State(state): State<AppState>,
    guard: Guard,
    Path((id, directive_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: RawBody,
) -> ApiResult<Reply> {
    let expected = version_from_if_match(&headers)?;
    let person = consenting_person(&state, &guard, &id).await?;
    let stored = require_consent(&state, person.ehr_id, &directive_id).await?;
    let mut directive = checked(&state, &body)?;
    if !directive.id.is_nil() && directive.id != stored.directive_id {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "/id",
            format!(
                "the body's id {} is not the directive's {}",
                directive.id, stored.directive_id
            ),
        ));
    }
    if stored.version != expected {
        return Err(ApiError::new(
            ErrorCode::PreconditionFailed,
            format!(
                "consent directive {} is at version {}, not {expected}",
                stored.directive_id, stored.version
            ),
        ));
    }
    directive.id = stored.directive_id;
    let record = ConsentRecord {
        version: stored.version + 1,
        status: directive.status.code().to_owned(),
        rules: rules_of(&directive),
        document: serde_json::to_value(&directive).unwrap_or(Value::Null),
        updated: OffsetDateTime::now_utc(),
        ..stored
    };
    state.store.put_consent(record.clone()).await?;
    Ok(consent_reply(StatusCode::OK, person.person_id, &record))
}
