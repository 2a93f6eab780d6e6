//! COMPOSITION and VERSIONED_COMPOSITION.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use openehr_rm::RmObject;
use store::{
    ChangeType, IndexRows, LifecycleState, NewVersion, ObjectKind, StoreError, StoredVersion,
    VersionSelector,
};
use uuid::Uuid;

use super::simplified::{FormatQuery, composition_from_body, output_format, render_composition};
use super::{
    AtTime, api_base, ehr_id, original_version_reply, read_version, read_version_uid,
    revision_history_reply, stale, version_uid_for, versioned_reply,
};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{
    Accept, Format, Prefer, RawBody, Reply, VersionUid, audit_header, parse_uuid, require_if_match,
    version_header,
};
use crate::versioning::{client_object_id, new_audit, set_version_uid, version_uid};

/// The template a composition names, which must have been uploaded, and the composition's
/// conformance to it: 422 with one detail per violation (its AQL-style path) otherwise.
pub(crate) async fn checked_template_id(
    state: &AppState,
    composition: &RmObject,
) -> ApiResult<String> {
    let path = "/archetype_details/template_id/value";
    let template_id = composition
        .get_object("archetype_details")
        .and_then(|details| details.get_object("template_id"))
        .and_then(|id| id.get_str("value"))
        .ok_or_else(|| {
            ApiError::at(
                ErrorCode::UnknownTemplate,
                path,
                "the composition names no template (archetype_details.template_id)",
            )
        })?;
    let Some(template) = state.template(template_id).await? else {
        return Err(ApiError::at(
            ErrorCode::UnknownTemplate,
            path,
            format!("template \"{template_id}\" has not been uploaded"),
        ));
    };
    let violations = templates::validate::validate(&template.template, composition);
    if !violations.is_empty() {
        return Err(super::template_violation(
            "composition",
            template_id,
            violations,
        ));
    }
    // Reading deferred the RM's mandatory attributes to the validator, which reports them on
    // every object it visits; this catches any it did not visit, so nothing incomplete is
    // ever stored.
    composition.check_mandatory_everywhere()?;
    Ok(template_id.to_owned())
}

fn location(base: &str, ehr_id: Uuid, uid: &str) -> String {
    format!("{base}/ehr/{ehr_id}/composition/{uid}")
}

fn reply_for(base: &str, ehr_id: Uuid, meta: &store::VersionMeta, status: StatusCode) -> Reply {
    let uid = version_uid(meta);
    Reply::new(status)
        .etag(&uid)
        .header(header::LOCATION, &location(base, ehr_id, &uid))
        .last_modified(meta.audit.time_committed)
}

/// The answer to a write, shaped by `Prefer`, in the format the client asked for.
async fn written(
    state: &AppState,
    reply: Reply,
    stored: StoredVersion,
    prefer: Prefer,
    format: Format,
) -> ApiResult<Reply> {
    Ok(match prefer {
        Prefer::Minimal => reply,
        Prefer::Identifier => reply.identifier(&version_uid(&stored.meta), format),
        Prefer::Representation => {
            let body = render_composition(state, &stored.data, format).await?;
            reply.body(format, body)
        }
    })
}

/// Validates a new composition against its template and commits it as version 1 of a new
/// object, keeping the client's object id when its `uid` has one. The POST handler and
/// [`crate::ingest`] both commit through here, so a bulk load is checked like a request.
pub(crate) async fn commit_new(
    state: &AppState,
    ehr_id: Uuid,
    mut composition: RmObject,
    lifecycle_state: LifecycleState,
    audit: store::Audit,
) -> ApiResult<StoredVersion> {
    let template_id = checked_template_id(state, &composition).await?;
    let object_id = client_object_id(&composition).unwrap_or_else(Uuid::new_v4);
    set_version_uid(
        &mut composition,
        &VersionUid::format(object_id, &state.config.system_id, 1),
    )?;
    let data = openehr_rm::json::to_vec(&composition);
    let new_version = NewVersion {
        object_id,
        kind: ObjectKind::Composition,
        version: 1,
        change_type: ChangeType::Creation,
        lifecycle_state,
        template_id: Some(template_id),
        status: None,
        data,
        index: super::index_rows(&composition, lifecycle_state),
    };
    match super::commit_one(state, ehr_id, audit, new_version).await {
        Ok(stored) => Ok(stored),
        Err(StoreError::VersionConflict { .. }) | Err(StoreError::KindMismatch { .. }) => {
            Err(ApiError::at(
                ErrorCode::Conflict,
                "/uid/value",
                format!("an object with id {object_id} already exists"),
            ))
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /ehr/{ehr_id}/composition`, in canonical JSON or XML, FLAT or STRUCTURED.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<FormatQuery>,
    prefer: Prefer,
    body: RawBody,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let (composition, input) = composition_from_body(&state, &headers, &query, &body).await?;
    let output = output_format(&query, &headers, Some(input))?;
    let lifecycle_state = version_header(&headers)?.unwrap_or(LifecycleState::Complete);
    let audit = new_audit(
        &state,
        &caller,
        &audit_header(&headers)?,
        ChangeType::Creation,
    );
    let stored = commit_new(&state, ehr_id, composition, lifecycle_state, audit).await?;
    let reply = reply_for(api_base(&uri), ehr_id, &stored.meta, StatusCode::CREATED);
    written(&state, reply, stored, prefer, output).await
}

/// `GET /ehr/{ehr_id}/composition/{uid}`: a version id, or an object id (latest or at time).
/// A deleted composition answers 204. Canonical JSON or XML, FLAT or STRUCTURED.
pub async fn get(
    State(state): State<AppState>,
    _caller: Caller,
    uri: OriginalUri,
    headers: HeaderMap,
    Path((id, uid)): Path<(String, String)>,
    Query(at): Query<AtTime>,
    Query(query): Query<FormatQuery>,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let format = output_format(&query, &headers, None)?;
    let stored = if uid.contains("::") {
        let uid = VersionUid::parse(&uid, "composition version uid")?;
        read_version_uid(&state, ehr_id, &uid, ObjectKind::Composition).await?
    } else {
        let object_id = parse_uuid(&uid, "composition id")?;
        read_version(
            &state,
            ehr_id,
            object_id,
            ObjectKind::Composition,
            at.selector()?,
        )
        .await?
    };
    let reply = reply_for(api_base(&uri), ehr_id, &stored.meta, StatusCode::OK);
    if stored.meta.lifecycle_state == LifecycleState::Deleted {
        return Ok(Reply {
            status: StatusCode::NO_CONTENT,
            ..reply
        });
    }
    let body = render_composition(&state, &stored.data, format).await?;
    Ok(reply.body(format, body))
}

/// Commits version `preceding + 1` of a composition; a stale `preceding` answers 412.
async fn commit_next(
    state: &AppState,
    base: &str,
    ehr_id: Uuid,
    preceding: &VersionUid,
    new_version: (NewVersion, store::Audit),
) -> ApiResult<StoredVersion> {
    let (version, audit) = new_version;
    match super::commit_one(state, ehr_id, audit, version).await {
        Ok(stored) => Ok(stored),
        Err(StoreError::VersionConflict { latest: None, .. }) => {
            super::require_ehr(state, ehr_id).await?;
            Err(ApiError::new(
                ErrorCode::ObjectNotFound,
                format!(
                    "composition {} does not exist in ehr {ehr_id}",
                    preceding.object_id
                ),
            ))
        }
        Err(StoreError::VersionConflict { latest, .. }) => Err(stale(
            base,
            &format!("/ehr/{ehr_id}/composition"),
            preceding.object_id,
            latest,
            &state.config.system_id,
        )),
        Err(error) => Err(error.into()),
    }
}

/// The latest version of a composition, for the checks before a write: 404 when it does not
/// exist (or is not a composition).
async fn latest_of(state: &AppState, ehr_id: Uuid, object_id: Uuid) -> ApiResult<StoredVersion> {
    read_version(
        state,
        ehr_id,
        object_id,
        ObjectKind::Composition,
        VersionSelector::Latest,
    )
    .await
}

/// `PUT /ehr/{ehr_id}/composition/{versioned_object_uid}` with `If-Match`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    headers: HeaderMap,
    Path((id, uid)): Path<(String, String)>,
    Query(query): Query<FormatQuery>,
    prefer: Prefer,
    body: RawBody,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let base = api_base(&uri);
    // Clients send the versioned object id; some send a version id of it.
    let object_id = parse_uuid(uid.split("::").next().unwrap_or(""), "composition id")?;
    let preceding = VersionUid::parse(&require_if_match(&headers)?, "if-match")?;
    let (mut composition, input) = composition_from_body(&state, &headers, &query, &body).await?;
    let output = output_format(&query, &headers, Some(input))?;
    // A body uid naming another object is a mistake; a placeholder uid is replaced.
    if let Some(body_object) = client_object_id(&composition)
        && body_object != object_id
    {
        return Err(ApiError::at(
            ErrorCode::InvalidRmObject,
            "/uid/value",
            format!(
                "the composition's uid names object {body_object} but the path names {object_id}"
            ),
        ));
    }
    let latest = latest_of(&state, ehr_id, object_id).await?;
    if latest.meta.lifecycle_state == LifecycleState::Deleted {
        return Err(ApiError::new(
            ErrorCode::ObjectNotFound,
            format!("composition {object_id} was deleted; it cannot be updated"),
        ));
    }
    let stale_answer = || {
        stale(
            base,
            &format!("/ehr/{ehr_id}/composition"),
            object_id,
            Some(latest.meta.version),
            &latest.meta.audit.system_id,
        )
    };
    if preceding.object_id != object_id || preceding.version != latest.meta.version {
        return Err(stale_answer());
    }
    let template_id = checked_template_id(&state, &composition).await?;
    let lifecycle_state = version_header(&headers)?.unwrap_or(LifecycleState::Complete);
    let audit = new_audit(
        &state,
        &caller,
        &audit_header(&headers)?,
        ChangeType::Modification,
    );
    let version = preceding.version + 1;
    set_version_uid(
        &mut composition,
        &VersionUid::format(object_id, &state.config.system_id, version),
    )?;
    let new_version = NewVersion {
        object_id,
        kind: ObjectKind::Composition,
        version,
        change_type: audit.change_type,
        lifecycle_state,
        template_id: Some(template_id),
        status: None,
        data: openehr_rm::json::to_vec(&composition),
        index: super::index_rows(&composition, lifecycle_state),
    };
    let stored = commit_next(&state, base, ehr_id, &preceding, (new_version, audit)).await?;
    let status = if prefer == Prefer::Minimal {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    };
    let reply = reply_for(base, ehr_id, &stored.meta, status);
    written(&state, reply, stored, prefer, output).await
}

/// `DELETE /ehr/{ehr_id}/composition/{preceding_version_uid}`: a new version in state deleted.
///
/// As the specification says: 400 when the composition is already deleted, 409 (with the
/// latest version in `ETag`) when the uid is not the latest version.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    headers: HeaderMap,
    Path((id, uid)): Path<(String, String)>,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let base = api_base(&uri);
    let preceding = VersionUid::parse(&uid, "preceding version uid")?;
    let latest = latest_of(&state, ehr_id, preceding.object_id).await?;
    if latest.meta.lifecycle_state == LifecycleState::Deleted {
        return Err(ApiError::new(
            ErrorCode::AlreadyDeleted,
            format!("composition {} is already deleted", preceding.object_id),
        ));
    }
    let not_latest = |latest_version: Option<u32>| {
        let latest_uid = VersionUid::format(
            preceding.object_id,
            &latest.meta.audit.system_id,
            latest_version.unwrap_or(latest.meta.version),
        );
        ApiError::new(
            ErrorCode::Conflict,
            format!("{uid} is not the latest version; the latest is {latest_uid}"),
        )
        .with_header(header::ETAG, &format!("\"{latest_uid}\""))
    };
    if preceding.version != latest.meta.version {
        return Err(not_latest(None));
    }
    // The deleted version keeps the content it replaces, so the history stays readable.
    let mut composition =
        openehr_rm::json::from_slice(&latest.data, "COMPOSITION").map_err(|error| {
            ApiError::new(
                ErrorCode::Internal,
                format!("stored composition does not parse: {error}"),
            )
        })?;
    let version = preceding.version + 1;
    set_version_uid(
        &mut composition,
        &VersionUid::format(preceding.object_id, &state.config.system_id, version),
    )?;
    let audit = new_audit(
        &state,
        &caller,
        &audit_header(&headers)?,
        ChangeType::Deleted,
    );
    let new_version = NewVersion {
        object_id: preceding.object_id,
        kind: ObjectKind::Composition,
        version,
        change_type: ChangeType::Deleted,
        lifecycle_state: LifecycleState::Deleted,
        template_id: latest.meta.template_id.clone(),
        status: None,
        data: openehr_rm::json::to_vec(&composition),
        index: IndexRows::default(),
    };
    match super::commit_one(&state, ehr_id, audit, new_version).await {
        Ok(stored) => Ok(reply_for(
            base,
            ehr_id,
            &stored.meta,
            StatusCode::NO_CONTENT,
        )),
        // Another writer got there first.
        Err(StoreError::VersionConflict { latest, .. }) => Err(not_latest(latest)),
        Err(error) => Err(error.into()),
    }
}

fn object_id(text: &str) -> ApiResult<Uuid> {
    parse_uuid(text, "versioned object id")
}

/// `GET /ehr/{ehr_id}/versioned_composition/{versioned_object_uid}`
pub async fn versioned(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, object)): Path<(String, String)>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    versioned_reply(
        &state,
        ehr_id(&id)?,
        object_id(&object)?,
        ObjectKind::Composition,
        accept,
    )
    .await
}

/// `GET /ehr/{ehr_id}/versioned_composition/{versioned_object_uid}/revision_history`
pub async fn revision_history(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, object)): Path<(String, String)>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    revision_history_reply(
        &state,
        ehr_id(&id)?,
        object_id(&object)?,
        ObjectKind::Composition,
        accept,
    )
    .await
}

/// `GET /ehr/{ehr_id}/versioned_composition/{versioned_object_uid}/version[?version_at_time=...]`
pub async fn version_at_time(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, object)): Path<(String, String)>,
    Query(at): Query<AtTime>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    original_version_reply(
        &state,
        ehr_id(&id)?,
        object_id(&object)?,
        ObjectKind::Composition,
        at.selector()?,
        accept,
    )
    .await
}

/// `GET /ehr/{ehr_id}/versioned_composition/{versioned_object_uid}/version/{version_uid}`
pub async fn version_by_id(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, object, version)): Path<(String, String, String)>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let object_id = object_id(&object)?;
    let uid = version_uid_for(&version, Some(object_id))?;
    original_version_reply(
        &state,
        ehr_id(&id)?,
        object_id,
        ObjectKind::Composition,
        VersionSelector::Number(uid.version),
        accept,
    )
    .await
}
