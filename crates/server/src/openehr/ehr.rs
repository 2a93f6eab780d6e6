//! EHR: create (with or without an EHR_STATUS, with a server or client id), read by id
//! and by subject.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{StatusCode, header};
use openehr_rm::{RmObject, RmValue};
use serde::Deserialize;
use serde_json::json;
use store::{
    ChangeType, LifecycleState, NewContribution, NewEhr, NewVersion, ObjectKind, StatusFacts,
    SubjectKey,
};
use uuid::Uuid;

use super::{api_base, ehr_id, parse_body_deferring_mandatory, require_ehr};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{
    Accept, Format, Prefer, RawBody, Reply, VersionUid, audit_header, format_time, render_value,
};
use crate::versioning::{client_object_id, new_audit, object_ref, set_version_uid};

/// The EHR_STATUS a new EHR gets when the client sends none.
fn default_ehr_status() -> ApiResult<RmObject> {
    let value = json!({
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": { "_type": "DV_TEXT", "value": "EHR Status" },
        "subject": { "_type": "PARTY_SELF" },
        "is_queryable": true,
        "is_modifiable": true,
    });
    Ok(openehr_rm::json::from_value(&value, "EHR_STATUS")?)
}

/// What the store indexes of an EHR_STATUS: its subject and whether the EHR may be modified.
pub(crate) fn status_facts(status: &RmObject) -> StatusFacts {
    StatusFacts {
        subject: subject_key(status),
        is_modifiable: !matches!(status.get("is_modifiable"), Some(RmValue::Boolean(false))),
    }
}

/// The subject's external reference, the key of "one EHR per subject".
pub(crate) fn subject_key(status: &RmObject) -> Option<SubjectKey> {
    let reference = status.get_object("subject")?.get_object("external_ref")?;
    let id = reference.get_object("id")?.get_str("value")?;
    let namespace = reference.get_str("namespace")?;
    Some(SubjectKey {
        namespace: namespace.to_owned(),
        id: id.to_owned(),
    })
}

/// Creates an EHR with its first EHR_STATUS version, after checking the status against
/// the templates it names (if any), keeping the client's EHR_STATUS object id when its `uid`
/// has one; returns that id. The POST and PUT handlers and [`crate::ingest`] all create
/// EHRs through here.
pub(crate) async fn commit_new_ehr(
    state: &AppState,
    ehr_id: Uuid,
    mut status: RmObject,
    audit: store::Audit,
) -> ApiResult<Uuid> {
    let template_id = super::checked_optional_templates(state, &status).await?;
    let status_id = client_object_id(&status).unwrap_or_else(Uuid::new_v4);
    let status_uid = VersionUid::format(status_id, &state.config.system_id, 1);
    set_version_uid(&mut status, &status_uid)?;
    let ehr = NewEhr {
        ehr_id,
        system_id: state.config.system_id.clone(),
        time_created: audit.time_committed,
        subject: subject_key(&status),
        contribution: NewContribution {
            ehr_id,
            contribution_id: Uuid::new_v4(),
            audit,
            versions: vec![NewVersion {
                object_id: status_id,
                kind: ObjectKind::EhrStatus,
                version: 1,
                change_type: ChangeType::Creation,
                lifecycle_state: LifecycleState::Complete,
                template_id,
                status: Some(status_facts(&status)),
                data: openehr_rm::json::to_vec(&status),
                index: super::index_rows(&status, LifecycleState::Complete),
            }],
        },
    };
    state.store.create_ehr(ehr).await?;
    Ok(status_id)
}

async fn create_ehr(
    state: &AppState,
    guard: &crate::guard::Guard,
    uri: &OriginalUri,
    headers: &axum::http::HeaderMap,
    ehr_id: Uuid,
    body: RawBody,
    (prefer, accept): (Prefer, Format),
) -> ApiResult<Reply> {
    let caller = &guard.caller;
    crate::api::require_role(
        caller,
        &[
            access::Role::Administrator,
            access::Role::AdministrativeStaff,
            access::Role::SystemIntegration,
        ],
        "create EHRs",
    )?;
    let status = if body.is_empty() {
        default_ehr_status()?
    } else {
        parse_body_deferring_mandatory(&body, "EHR_STATUS")?
    };
    let audit = new_audit(state, caller, &audit_header(headers)?, ChangeType::Creation);
    let time_created = audit.time_committed;
    guard.slot.note(crate::guard::AuditNote {
        person_id: None,
        allowed: true,
        reason: format!("allow {}: created ehr {ehr_id}", caller.role),
        break_glass: None,
        action: "create".to_owned(),
        records: Vec::new(),
    });
    guard.slot.record_now(state).await?;
    let status_id = commit_new_ehr(state, ehr_id, status, audit).await?;
    let record = store::EhrRecord {
        ehr_id,
        system_id: state.config.system_id.clone(),
        time_created,
        ehr_status_id: status_id,
        directory_id: None,
        subject: None,
    };
    let location = format!("{}/ehr/{ehr_id}", api_base(uri));
    let reply = Reply::new(StatusCode::CREATED)
        .header(header::LOCATION, &location)
        .etag(&ehr_id.to_string())
        .last_modified(time_created);
    respond(reply, &record, 1, prefer, accept)
}

/// The EHR resource; `status_version` is the latest EHR_STATUS version, which clients send
/// back as `If-Match` when they update the status.
fn ehr_json(record: &store::EhrRecord, status_version: u32) -> serde_json::Value {
    let mut value = json!({
        "_type": "EHR",
        "system_id": { "_type": "HIER_OBJECT_ID", "value": record.system_id },
        "ehr_id": { "_type": "HIER_OBJECT_ID", "value": record.ehr_id.to_string() },
        "ehr_status": object_ref(
            "OBJECT_VERSION_ID",
            &VersionUid::format(record.ehr_status_id, &record.system_id, status_version),
            "EHR_STATUS",
        ),
        "ehr_access": object_ref(
            "HIER_OBJECT_ID",
            &Uuid::new_v5(&record.ehr_id, b"ehr_access").to_string(),
            "EHR_ACCESS",
        ),
        "time_created": { "_type": "DV_DATE_TIME", "value": format_time(record.time_created) },
    });
    if let Some(directory) = record.directory_id {
        value["directory"] = object_ref("HIER_OBJECT_ID", &directory.to_string(), "FOLDER");
    }
    value
}

fn respond(
    reply: Reply,
    record: &store::EhrRecord,
    status_version: u32,
    prefer: Prefer,
    accept: Format,
) -> ApiResult<Reply> {
    Ok(match prefer {
        Prefer::Minimal => reply,
        Prefer::Identifier => reply.identifier(&record.ehr_id.to_string(), accept),
        Prefer::Representation => {
            let value = ehr_json(record, status_version);
            let body = render_value(&value, "EHR", accept, "ehr")?;
            reply.body(accept, body)
        }
    })
}

/// The EHR with its latest EHR_STATUS version number.
async fn represent(state: &AppState, record: store::EhrRecord, accept: Format) -> ApiResult<Reply> {
    let status_version = state
        .store
        .get_versioned_object(record.ehr_id, record.ehr_status_id)
        .await?
        .map_or(1, |meta| meta.latest_version);
    let reply = Reply::new(StatusCode::OK)
        .etag(&record.ehr_id.to_string())
        .last_modified(record.time_created);
    respond(
        reply,
        &record,
        status_version,
        Prefer::Representation,
        accept,
    )
}

/// `POST /ehr`
pub async fn create(
    State(state): State<AppState>,
    guard: crate::guard::Guard,
    uri: OriginalUri,
    headers: axum::http::HeaderMap,
    prefer: Prefer,
    Accept(accept): Accept,
    body: RawBody,
) -> ApiResult<Reply> {
    create_ehr(
        &state,
        &guard,
        &uri,
        &headers,
        Uuid::new_v4(),
        body,
        (prefer, accept),
    )
    .await
}

/// `PUT /ehr/{ehr_id}`: create an EHR with the client's id.
pub async fn create_with_id(
    State(state): State<AppState>,
    guard: crate::guard::Guard,
    uri: OriginalUri,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    prefer: Prefer,
    Accept(accept): Accept,
    body: RawBody,
) -> ApiResult<Reply> {
    // Creating with a given id is a write: a malformed id is the client's error (400).
    let id = crate::http::parse_uuid(&id, "ehr id")?;
    create_ehr(&state, &guard, &uri, &headers, id, body, (prefer, accept)).await
}

/// `GET /ehr/{ehr_id}`
pub async fn get(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let record = require_ehr(&state, ehr_id(&id)?).await?;
    represent(&state, record, accept).await
}

#[derive(Deserialize)]
pub struct SubjectQuery {
    subject_id: Option<String>,
    subject_namespace: Option<String>,
}

/// `GET /ehr?subject_id=...&subject_namespace=...`: an EHR the caller may not read is
/// answered like one that does not exist.
pub async fn find_by_subject(
    State(state): State<AppState>,
    guard: crate::guard::Guard,
    Query(query): Query<SubjectQuery>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let (Some(id), Some(namespace)) = (query.subject_id, query.subject_namespace) else {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "subject_id and subject_namespace are both required",
        ));
    };
    let key = SubjectKey { namespace, id };
    let missing = || {
        ApiError::new(
            ErrorCode::EhrNotFound,
            format!(
                "no ehr for subject {} in namespace {}",
                key.id, key.namespace
            ),
        )
    };
    let record = state
        .store
        .find_ehr_by_subject(&key)
        .await?
        .ok_or_else(missing)?;
    let (person, decision) = crate::guard::decide_for_ehr(
        &state,
        &guard.caller,
        record.ehr_id,
        access::policy::Action::Read,
        access::policy::Resource::Record {
            categories: Vec::new(),
        },
    )
    .await?;
    crate::guard::note(
        &guard.slot,
        person.as_ref(),
        &decision,
        "read",
        &guard.caller,
    );
    if !decision.allowed {
        return Err(missing());
    }
    represent(&state, record, accept).await
}
