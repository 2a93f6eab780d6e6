//! `/api/v1/people/{id}/relationships`: who cares for a person (a registered GP practice, an
//! episode of care, a named professional) and who acts for them (a proxy, with the
//! authority they act under). Direct care is allowed through these.

use access::Relationship;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use store::RelationshipRecord;
use time::OffsetDateTime;
use uuid::Uuid;

use super::people::{require_person, visible_person};
use super::{field_errors, json_body};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::guard::{AuditNote, Guard};
use crate::http::{Format, RawBody, Reply};
use access::Role;
use access::policy::{Action, Resource};

/// The roles that may record and remove relationships at all.
const MANAGERS: &[Role] = &[
    Role::Administrator,
    Role::AdministrativeStaff,
    Role::SystemIntegration,
];

/// Who records and removes relationships, which is what opens a record to direct care: the
/// administrator any; administrative staff and systems only their own organisation's, never
/// a named professional's (those only administrators record), and a registered-GP
/// relationship only for a GP practice. What remains is the organisation's own assertion
/// that it cares for the person, as a registration or an episode does in practice: it is
/// audited with the person, shown in their access log, and listed for review.
async fn may_manage(
    state: &AppState,
    caller: &Caller,
    relationship: &Relationship,
) -> ApiResult<()> {
    if caller.role == Role::Administrator {
        return Ok(());
    }
    let refuse = |why: &str| Err(ApiError::new(ErrorCode::Forbidden, why.to_owned()));
    if !matches!(
        caller.role,
        Role::AdministrativeStaff | Role::SystemIntegration
    ) {
        return refuse(
            "only administrators, and administrative staff or systems for their own organisation, record care relationships",
        );
    }
    if caller.organisation.is_none() || relationship.organisation != caller.organisation {
        return refuse(
            "administrative staff and systems record relationships of their own organisation only",
        );
    }
    if relationship.professional.is_some() {
        return refuse(
            "a relationship naming a professional or a proxy is recorded by an administrator",
        );
    }
    if relationship.kind == access::RelationshipKind::RegisteredGp {
        let principal = crate::guard::principal_of(state, caller).await?;
        let kind = principal
            .organisation
            .and_then(|organisation| organisation.kind);
        if kind != Some(access::OrganisationType::GpPractice) {
            return refuse("only a GP practice registers a person as its patient");
        }
    }
    Ok(())
}

/// The stored relationship as the policy reads it.
pub(crate) fn relationship_of(record: &RelationshipRecord) -> Option<Relationship> {
    serde_json::from_value(record.document.clone()).ok()
}

fn relationship_json(relationship: &Relationship) -> Value {
    serde_json::to_value(relationship).unwrap_or(Value::Null)
}

/// `POST /api/v1/people/{id}/relationships`: records a relationship.
pub(super) async fn add(
    State(state): State<AppState>,
    guard: Guard,
    Path(id): Path<String>,
    body: RawBody,
) -> ApiResult<Reply> {
    // Role, body and organisation first: none of those answers depends on the person, so
    // a caller who may not add relationships learns nothing of whether they exist.
    guard.require_role(MANAGERS, "record care relationships")?;
    let mut relationship: Relationship = json_body(&body)?;
    may_manage(&state, &guard.caller, &relationship).await?;
    if !relationship.id.is_nil() {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "/id",
            "the server assigns a relationship's id; send none",
        ));
    }
    let errors = relationship.validate();
    if !errors.is_empty() {
        return Err(field_errors("the relationship is not valid", errors));
    }
    if let Some(code) = &relationship.organisation
        && state.store.get_organisation(code).await?.is_none()
    {
        return Err(ApiError::at(
            ErrorCode::InvalidParameter,
            "/organisation",
            format!("organisation {code} is not registered (PUT /api/v1/organisations/{code})"),
        ));
    }
    let person = require_person(&state, &id).await?;
    relationship.id = Uuid::new_v4();
    let record = RelationshipRecord {
        ehr_id: person.ehr_id,
        relationship_id: relationship.id,
        kind: relationship.kind.code().to_owned(),
        organisation: relationship.organisation.clone(),
        professional: relationship.professional.clone(),
        authority: relationship
            .authority
            .map(|authority| authority.code().to_owned()),
        starts: relationship.period.start,
        ends: relationship.period.end,
        document: relationship_json(&relationship),
        created: OffsetDateTime::now_utc(),
    };
    guard.slot.note(AuditNote {
        person_id: Some(person.person_id),
        allowed: true,
        reason: format!(
            "allow {}: recorded relationship {} ({})",
            guard.caller.role, relationship.id, relationship.kind
        ),
        break_glass: None,
        action: "relationship-create".to_owned(),
        records: Vec::new(),
    });
    // Appended before the write: no relationship without its event.
    guard.slot.record_now(&state).await?;
    state.store.put_relationship(record).await?;
    Ok(Reply::new(StatusCode::CREATED)
        .header(
            axum::http::header::LOCATION,
            &format!(
                "/api/v1/people/{}/relationships/{}",
                person.person_id, relationship.id
            ),
        )
        .body(
            Format::Json,
            serde_json::to_vec(&relationship_json(&relationship)).unwrap_or_default(),
        ))
}

/// `GET /api/v1/people/{id}/relationships`.
pub(super) async fn list(
    State(state): State<AppState>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Reply> {
    let person = visible_person(
        &state,
        &guard,
        &id,
        Action::Read,
        Resource::Demographics,
        "read",
    )
    .await?;
    let relationships: Vec<Value> = state
        .store
        .list_relationships(person.ehr_id)
        .await?
        .iter()
        .filter_map(relationship_of)
        .map(|relationship| relationship_json(&relationship))
        .collect();
    Ok(super::json_reply(
        StatusCode::OK,
        &json!({ "relationships": relationships }),
    ))
}

/// `DELETE /api/v1/people/{id}/relationships/{relationship_id}`: ends nothing silently; the
/// relationship is removed (to end one but keep its history, update its period instead).
pub(super) async fn remove(
    State(state): State<AppState>,
    guard: Guard,
    Path((id, relationship_id)): Path<(String, String)>,
) -> ApiResult<Reply> {
    guard.require_role(MANAGERS, "remove care relationships")?;
    let relationship_id = crate::http::parse_uuid(&relationship_id, "relationship id")?;
    let person = require_person(&state, &id).await?;
    // Someone who may not see the person gets the answer a missing person gets, before
    // anything about their relationships is looked up.
    guard
        .person(
            &state,
            &person,
            Action::Write,
            Resource::Demographics,
            "relationship-delete",
        )
        .await?;
    let missing = || {
        ApiError::new(
            ErrorCode::NotFound,
            format!("relationship {relationship_id} does not exist"),
        )
    };
    let stored = state
        .store
        .list_relationships(person.ehr_id)
        .await?
        .into_iter()
        .find(|record| record.relationship_id == relationship_id)
        .ok_or_else(missing)?;
    let relationship = relationship_of(&stored).ok_or_else(missing)?;
    may_manage(&state, &guard.caller, &relationship).await?;
    guard.slot.note(AuditNote {
        person_id: Some(person.person_id),
        allowed: true,
        reason: format!(
            "allow {}: removed relationship {relationship_id}",
            guard.caller.role
        ),
        break_glass: None,
        action: "relationship-delete".to_owned(),
        records: Vec::new(),
    });
    guard.slot.record_now(&state).await?;
    if !state
        .store
        .delete_relationship(person.ehr_id, relationship_id)
        .await?
    {
        return Err(missing());
    }
    Ok(Reply::new(StatusCode::NO_CONTENT))
}
