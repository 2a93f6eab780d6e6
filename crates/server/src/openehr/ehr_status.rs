//! EHR_STATUS and VERSIONED_EHR_STATUS.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use store::{ChangeType, LifecycleState, NewVersion, ObjectKind, StoreError, VersionSelector};
use uuid::Uuid;

use super::{
    AtTime, api_base, ehr_id, original_version_reply, parse_body_deferring_mandatory, read_version,
    read_version_uid, represent_data, require_ehr, revision_history_reply, stale, version_uid_for,
    versioned_reply,
};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{
    Accept, Format, Prefer, RawBody, Reply, VersionUid, audit_header, require_if_match,
    version_header,
};
use crate::versioning::{new_audit, set_version_uid, version_uid};

fn reply_with(
    base: &str,
    ehr_id: Uuid,
    stored: &store::StoredVersion,
    status: StatusCode,
) -> Reply {
    let uid = version_uid(&stored.meta);
    Reply::new(status)
        .etag(&uid)
        .header(
            header::LOCATION,
            &format!("{base}/ehr/{ehr_id}/ehr_status/{uid}"),
        )
        .last_modified(stored.meta.audit.time_committed)
}

/// `GET /ehr/{ehr_id}/ehr_status[?version_at_time=...]`
pub async fn get_latest(
    State(state): State<AppState>,
    _caller: Caller,
    uri: OriginalUri,
    Path(id): Path<String>,
    Query(at): Query<AtTime>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr = require_ehr(&state, ehr_id(&id)?).await?;
    let stored = read_version(
        &state,
        ehr.ehr_id,
        ehr.ehr_status_id,
        ObjectKind::EhrStatus,
        at.selector()?,
    )
    .await?;
    let body = represent_data(&stored, accept, "EHR_STATUS", "ehr_status")?;
    Ok(reply_with(api_base(&uri), ehr.ehr_id, &stored, StatusCode::OK).body(accept, body))
}

/// `GET /ehr/{ehr_id}/ehr_status/{version_uid}`
pub async fn get_version(
    State(state): State<AppState>,
    _caller: Caller,
    uri: OriginalUri,
    Path((id, version)): Path<(String, String)>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let uid = version_uid_for(&version, None)?;
    let stored = read_version_uid(&state, ehr_id, &uid, ObjectKind::EhrStatus).await?;
    let body = represent_data(&stored, accept, "EHR_STATUS", "ehr_status")?;
    Ok(reply_with(api_base(&uri), ehr_id, &stored, StatusCode::OK).body(accept, body))
}

/// `PUT /ehr/{ehr_id}/ehr_status` with `If-Match`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    prefer: Prefer,
    Accept(accept): Accept,
    body: RawBody,
) -> ApiResult<Reply> {
    let ehr = require_ehr(&state, ehr_id(&id)?).await?;
    let base = api_base(&uri);
    let preceding = VersionUid::parse(&require_if_match(&headers)?, "if-match")?;
    let mut status = parse_body_deferring_mandatory(&body, "EHR_STATUS")?;
    let lifecycle_state = version_header(&headers)?.unwrap_or(LifecycleState::Complete);
    let audit = new_audit(
        &state,
        &caller,
        &audit_header(&headers)?,
        ChangeType::Modification,
    );
    let conflict = |latest| {
        stale(
            base,
            &format!("/ehr/{}/ehr_status", ehr.ehr_id),
            ehr.ehr_status_id,
            latest,
            &state.config.system_id,
        )
    };
    if preceding.object_id != ehr.ehr_status_id {
        let latest = state
            .store
            .get_versioned_object(ehr.ehr_id, ehr.ehr_status_id)
            .await?;
        return Err(conflict(latest.map(|meta| meta.latest_version)));
    }
    let version = preceding.version + 1;
    set_version_uid(
        &mut status,
        &VersionUid::format(ehr.ehr_status_id, &state.config.system_id, version),
    )?;
    let template_id = super::checked_optional_templates(&state, &status).await?;
    let facts = super::ehr::status_facts(&status);
    let new_version = NewVersion {
        object_id: ehr.ehr_status_id,
        kind: ObjectKind::EhrStatus,
        version,
        change_type: ChangeType::Modification,
        lifecycle_state,
        template_id,
        status: Some(facts),
        data: openehr_rm::json::to_vec(&status),
        index: super::index_rows(&status, lifecycle_state),
    };
    let stored = match super::commit_one(&state, ehr.ehr_id, audit, new_version).await {
        Ok(stored) => stored,
        Err(StoreError::VersionConflict { latest, .. }) => return Err(conflict(latest)),
        Err(error) => return Err(error.into()),
    };
    representation(base, ehr.ehr_id, &stored, prefer, accept)
}

fn representation(
    base: &str,
    ehr_id: Uuid,
    stored: &store::StoredVersion,
    prefer: Prefer,
    accept: Format,
) -> ApiResult<Reply> {
    Ok(match prefer {
        Prefer::Representation => {
            let body = represent_data(stored, accept, "EHR_STATUS", "ehr_status")?;
            reply_with(base, ehr_id, stored, StatusCode::OK).body(accept, body)
        }
        Prefer::Identifier => reply_with(base, ehr_id, stored, StatusCode::OK)
            .identifier(&version_uid(&stored.meta), accept),
        Prefer::Minimal => reply_with(base, ehr_id, stored, StatusCode::NO_CONTENT),
    })
}

/// `GET /ehr/{ehr_id}/versioned_ehr_status`
pub async fn versioned(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr = require_ehr(&state, ehr_id(&id)?).await?;
    versioned_reply(
        &state,
        ehr.ehr_id,
        ehr.ehr_status_id,
        ObjectKind::EhrStatus,
        accept,
    )
    .await
}

/// `GET /ehr/{ehr_id}/versioned_ehr_status/revision_history`
pub async fn revision_history(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr = require_ehr(&state, ehr_id(&id)?).await?;
    revision_history_reply(
        &state,
        ehr.ehr_id,
        ehr.ehr_status_id,
        ObjectKind::EhrStatus,
        accept,
    )
    .await
}

/// `GET /ehr/{ehr_id}/versioned_ehr_status/version[?version_at_time=...]`
pub async fn version_at_time(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Query(at): Query<AtTime>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr = require_ehr(&state, ehr_id(&id)?).await?;
    original_version_reply(
        &state,
        ehr.ehr_id,
        ehr.ehr_status_id,
        ObjectKind::EhrStatus,
        at.selector()?,
        accept,
    )
    .await
}

/// `GET /ehr/{ehr_id}/versioned_ehr_status/version/{version_uid}`
pub async fn version_by_id(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, version)): Path<(String, String)>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr = require_ehr(&state, ehr_id(&id)?).await?;
    let uid = version_uid_for(&version, None)?;
    if uid.object_id != ehr.ehr_status_id {
        return Err(ApiError::new(
            ErrorCode::ObjectNotFound,
            format!(
                "{version} is not a version of the ehr_status of ehr {}",
                ehr.ehr_id
            ),
        ));
    }
    original_version_reply(
        &state,
        ehr.ehr_id,
        uid.object_id,
        ObjectKind::EhrStatus,
        VersionSelector::Number(uid.version),
        accept,
    )
    .await
}
