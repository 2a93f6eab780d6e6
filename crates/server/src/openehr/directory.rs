//! DIRECTORY: the EHR's folder tree (one versioned FOLDER per EHR).

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;
use store::{
    ChangeType, LifecycleState, NewVersion, ObjectKind, StoreError, StoredVersion, VersionSelector,
};
use uuid::Uuid;

use super::{
    api_base, ehr_id, parse_body_deferring_mandatory, read_version, read_version_uid, require_ehr,
    stale, version_uid_for,
};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{
    Accept, Format, Prefer, RawBody, Reply, VersionUid, audit_header, parse_time, render_value,
    require_if_match,
};
use crate::versioning::{client_object_id, new_audit, set_version_uid, version_uid};

#[derive(Deserialize)]
pub struct DirectoryQuery {
    version_at_time: Option<String>,
    path: Option<String>,
}

fn reply_for(base: &str, ehr_id: Uuid, meta: &store::VersionMeta, status: StatusCode) -> Reply {
    let uid = version_uid(meta);
    Reply::new(status)
        .etag(&uid)
        .header(
            header::LOCATION,
            &format!("{base}/ehr/{ehr_id}/directory/{uid}"),
        )
        .last_modified(meta.audit.time_committed)
}

/// The folder at `path` (folder names separated by `/`) inside a stored directory.
fn folder_at(data: &[u8], path: Option<&str>) -> ApiResult<Value> {
    let mut folder: Value = serde_json::from_slice(data)
        .map_err(|error| ApiError::internal("stored folder is not json", &error))?;
    let Some(path) = path else { return Ok(folder) };
    for name in path.split('/').filter(|segment| !segment.is_empty()) {
        let child = folder
            .get_mut("folders")
            .and_then(Value::as_array_mut)
            .and_then(|folders| {
                let position = folders.iter().position(|child| {
                    child.pointer("/name/value").and_then(Value::as_str) == Some(name)
                })?;
                Some(folders.swap_remove(position))
            });
        folder = child.ok_or_else(|| {
            ApiError::new(
                ErrorCode::ObjectNotFound,
                format!("the directory has no folder at path \"{path}\""),
            )
        })?;
    }
    Ok(folder)
}

fn representation(
    base: &str,
    ehr_id: Uuid,
    stored: &StoredVersion,
    path: Option<&str>,
    accept: Format,
) -> ApiResult<Reply> {
    let reply = reply_for(base, ehr_id, &stored.meta, StatusCode::OK);
    if stored.meta.lifecycle_state == LifecycleState::Deleted {
        return Ok(Reply {
            status: StatusCode::NO_CONTENT,
            ..reply
        });
    }
    let body = match (path, accept) {
        (None, Format::Json) => stored.data.clone(),
        _ => render_value(&folder_at(&stored.data, path)?, "FOLDER", accept, "folder")?,
    };
    Ok(reply.body(accept, body))
}

fn written(
    reply: Reply,
    stored: StoredVersion,
    prefer: Prefer,
    accept: Format,
    base: &str,
) -> ApiResult<Reply> {
    Ok(match prefer {
        Prefer::Minimal => reply,
        Prefer::Identifier => reply.identifier(&version_uid(&stored.meta), accept),
        Prefer::Representation => Reply {
            status: reply.status,
            ..representation(base, stored.meta.ehr_id, &stored, None, accept)?
        },
    })
}

/// `POST /ehr/{ehr_id}/directory`
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    prefer: Prefer,
    Accept(accept): Accept,
    body: RawBody,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let mut folder = parse_body_deferring_mandatory(&body, "FOLDER")?;
    let template_id = super::checked_optional_templates(&state, &folder).await?;
    let object_id = client_object_id(&folder).unwrap_or_else(Uuid::new_v4);
    set_version_uid(
        &mut folder,
        &VersionUid::format(object_id, &state.config.system_id, 1),
    )?;
    let new_version = NewVersion {
        object_id,
        kind: ObjectKind::Folder,
        version: 1,
        change_type: ChangeType::Creation,
        lifecycle_state: LifecycleState::Complete,
        template_id,
        status: None,
        data: openehr_rm::json::to_vec(&folder),
        index: super::index_rows(&folder, LifecycleState::Complete),
    };
    let audit = new_audit(
        &state,
        &caller,
        &audit_header(&headers)?,
        ChangeType::Creation,
    );
    let stored = match super::commit_one(&state, ehr_id, audit, new_version).await {
        Ok(stored) => stored,
        Err(StoreError::VersionConflict { .. }) | Err(StoreError::KindMismatch { .. }) => {
            return Err(ApiError::at(
                ErrorCode::Conflict,
                "/uid/value",
                format!("an object with id {object_id} already exists"),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let base = api_base(&uri);
    let reply = reply_for(base, ehr_id, &stored.meta, StatusCode::CREATED);
    written(reply, stored, prefer, accept, base)
}

/// The EHR's directory id, or 404.
async fn directory_id(state: &AppState, ehr_id: Uuid) -> ApiResult<Uuid> {
    require_ehr(state, ehr_id)
        .await?
        .directory_id
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ObjectNotFound,
                format!("ehr {ehr_id} has no directory"),
            )
        })
}

/// Commits the next version of the directory named by `If-Match`.
async fn commit_next(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    base: &str,
    ehr_id: Uuid,
    folder: Option<openehr_rm::RmObject>,
) -> ApiResult<StoredVersion> {
    let directory = directory_id(state, ehr_id).await?;
    let preceding = VersionUid::parse(&require_if_match(headers)?, "if-match")?;
    let conflict = |latest| {
        stale(
            base,
            &format!("/ehr/{ehr_id}/directory"),
            directory,
            latest,
            &state.config.system_id,
        )
    };
    if preceding.object_id != directory {
        let latest = state.store.get_versioned_object(ehr_id, directory).await?;
        return Err(conflict(latest.map(|meta| meta.latest_version)));
    }
    let version = preceding.version + 1;
    let (mut folder, change_type, lifecycle_state) = match folder {
        Some(folder) => (folder, ChangeType::Modification, LifecycleState::Complete),
        None => {
            let stored = read_version(
                state,
                ehr_id,
                directory,
                ObjectKind::Folder,
                VersionSelector::Number(preceding.version),
            )
            .await?;
            if stored.meta.lifecycle_state == LifecycleState::Deleted {
                return Err(ApiError::new(
                    ErrorCode::AlreadyDeleted,
                    "the directory is already deleted",
                ));
            }
            let folder = openehr_rm::json::from_slice(&stored.data, "FOLDER").map_err(|error| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("stored folder does not parse: {error}"),
                )
            })?;
            (folder, ChangeType::Deleted, LifecycleState::Deleted)
        }
    };
    // A deletion keeps the content it replaces, which was validated when it was written.
    let template_id = if change_type == ChangeType::Deleted {
        None
    } else {
        super::checked_optional_templates(state, &folder).await?
    };
    set_version_uid(
        &mut folder,
        &VersionUid::format(directory, &state.config.system_id, version),
    )?;
    let new_version = NewVersion {
        object_id: directory,
        kind: ObjectKind::Folder,
        version,
        change_type,
        lifecycle_state,
        template_id,
        status: None,
        data: openehr_rm::json::to_vec(&folder),
        index: super::index_rows(&folder, lifecycle_state),
    };
    let audit = new_audit(state, caller, &audit_header(headers)?, change_type);
    match super::commit_one(state, ehr_id, audit, new_version).await {
        Ok(stored) => Ok(stored),
        Err(StoreError::VersionConflict { latest, .. }) => Err(conflict(latest)),
        Err(error) => Err(error.into()),
    }
}

/// `PUT /ehr/{ehr_id}/directory` with `If-Match`.
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
    let ehr_id = ehr_id(&id)?;
    let folder = parse_body_deferring_mandatory(&body, "FOLDER")?;
    let base = api_base(&uri);
    let stored = commit_next(&state, &caller, &headers, base, ehr_id, Some(folder)).await?;
    let status = if prefer == Prefer::Minimal {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    };
    let reply = reply_for(base, ehr_id, &stored.meta, status);
    written(reply, stored, prefer, accept, base)
}

/// `DELETE /ehr/{ehr_id}/directory` with `If-Match`.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let base = api_base(&uri);
    let stored = commit_next(&state, &caller, &headers, base, ehr_id, None).await?;
    Ok(reply_for(
        base,
        ehr_id,
        &stored.meta,
        StatusCode::NO_CONTENT,
    ))
}

/// `GET /ehr/{ehr_id}/directory[?version_at_time=...][&path=...]`
pub async fn get_latest(
    State(state): State<AppState>,
    _caller: Caller,
    uri: OriginalUri,
    Path(id): Path<String>,
    Query(query): Query<DirectoryQuery>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let directory = directory_id(&state, ehr_id).await?;
    let selector = match &query.version_at_time {
        Some(text) => VersionSelector::AtTime(parse_time(text, "version_at_time")?),
        None => VersionSelector::Latest,
    };
    let stored = read_version(&state, ehr_id, directory, ObjectKind::Folder, selector).await?;
    representation(
        api_base(&uri),
        ehr_id,
        &stored,
        query.path.as_deref(),
        accept,
    )
}

/// `GET /ehr/{ehr_id}/directory/{version_uid}[?path=...]`
pub async fn get_version(
    State(state): State<AppState>,
    _caller: Caller,
    uri: OriginalUri,
    Path((id, version)): Path<(String, String)>,
    Query(query): Query<DirectoryQuery>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let uid = version_uid_for(&version, None)?;
    let stored = read_version_uid(&state, ehr_id, &uid, ObjectKind::Folder).await?;
    representation(
        api_base(&uri),
        ehr_id,
        &stored,
        query.path.as_deref(),
        accept,
    )
}
