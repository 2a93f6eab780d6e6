//! CONTRIBUTION: several versions committed atomically, and reading a contribution back.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;
use store::{
    ChangeType, LifecycleState, NewContribution, NewVersion, ObjectKind, StoreError,
    VersionSelector,
};
use uuid::Uuid;

use super::composition::checked_template_id;
use super::{api_base, ehr_id, require_ehr};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{
    Accept, Format, Prefer, RawBody, Reply, VersionUid, audit_header, parse_uuid, render_value,
};
use crate::versioning::{client_object_id, contribution_json, new_audit, set_version_uid};

/// A code string from a DV_CODED_TEXT (or its bare value) in the request.
fn code_of(coded: &Value) -> Option<&str> {
    // DV_CODED_TEXT, TERMINOLOGY_CODE (a bare code_string) or a rubric in `value`.
    coded
        .pointer("/defining_code/code_string")
        .or_else(|| coded.get("code_string"))
        .or_else(|| coded.get("value"))
        .and_then(Value::as_str)
}

fn bad(path: String, message: impl Into<String>) -> ApiError {
    ApiError::at(ErrorCode::InvalidRmObject, path, message)
}

/// Turns one `versions[i]` entry of the request into a version to commit.
async fn new_version(
    state: &AppState,
    ehr: &store::EhrRecord,
    index: usize,
    entry: &Value,
) -> ApiResult<NewVersion> {
    let at = |suffix: &str| format!("/versions/{index}{suffix}");
    if !entry.is_object() {
        return Err(bad(at(""), "a version must be an object"));
    }
    let preceding = match entry.get("preceding_version_uid") {
        None | Some(Value::Null) => None,
        Some(uid) => {
            let text = uid
                .get("value")
                .and_then(Value::as_str)
                .or(uid.as_str())
                .ok_or_else(|| {
                    bad(
                        at("/preceding_version_uid/value"),
                        "preceding_version_uid has no value",
                    )
                })?;
            Some(
                VersionUid::parse(text, "preceding_version_uid").map_err(|error| {
                    ApiError::at(
                        ErrorCode::InvalidId,
                        at("/preceding_version_uid/value"),
                        error.message,
                    )
                })?,
            )
        }
    };
    let change_type = match entry.pointer("/commit_audit/change_type") {
        Some(coded) => {
            let code = code_of(coded).unwrap_or("");
            ChangeType::parse(code).ok_or_else(|| {
                bad(
                    at("/commit_audit/change_type"),
                    format!("unknown change type \"{code}\""),
                )
            })?
        }
        None if preceding.is_some() => ChangeType::Modification,
        None => ChangeType::Creation,
    };
    let mut lifecycle_state = match entry.pointer("/lifecycle_state") {
        Some(coded) => {
            let code = code_of(coded).unwrap_or("");
            let state = match code {
                "complete" => Some(LifecycleState::Complete),
                "incomplete" => Some(LifecycleState::Incomplete),
                "deleted" => Some(LifecycleState::Deleted),
                code => LifecycleState::from_code(code),
            };
            state.ok_or_else(|| {
                bad(
                    at("/lifecycle_state"),
                    format!("unknown lifecycle state \"{code}\""),
                )
            })?
        }
        None => LifecycleState::Complete,
    };
    if change_type == ChangeType::Deleted {
        lifecycle_state = LifecycleState::Deleted;
    }

    let (object_id, version) = match (&preceding, change_type) {
        (None, ChangeType::Creation) => (None, 1),
        (Some(_), ChangeType::Creation) => {
            return Err(bad(
                at("/preceding_version_uid"),
                "a creation has no preceding version",
            ));
        }
        (Some(preceding), _) => (Some(preceding.object_id), preceding.version + 1),
        (None, _) => {
            return Err(bad(
                at("/preceding_version_uid"),
                format!(
                    "a {} needs the preceding version's uid",
                    change_type.rubric()
                ),
            ));
        }
    };

    // The version a modification or deletion follows must exist and must not be deleted.
    let preceding_stored = match &preceding {
        None => None,
        Some(preceding) => {
            let path = at("/preceding_version_uid");
            let stored = state
                .store
                .get_version(
                    ehr.ehr_id,
                    preceding.object_id,
                    VersionSelector::Number(preceding.version),
                )
                .await?
                .ok_or_else(|| {
                    ApiError::at(
                        ErrorCode::ObjectNotFound,
                        path.clone(),
                        format!(
                            "version {} does not exist in ehr {}",
                            preceding.object_id, ehr.ehr_id
                        ),
                    )
                })?;
            // Changing a composition needs the right to read it first.
            crate::guard::check_categories(state, &stored, || {
                ApiError::at(
                    ErrorCode::ObjectNotFound,
                    path.clone(),
                    format!(
                        "version {} does not exist in ehr {}",
                        preceding.object_id, ehr.ehr_id
                    ),
                )
            })
            .await?;
            if stored.meta.lifecycle_state == LifecycleState::Deleted {
                let code = if change_type == ChangeType::Deleted {
                    ErrorCode::AlreadyDeleted
                } else {
                    ErrorCode::ObjectNotFound
                };
                return Err(ApiError::at(
                    code,
                    path,
                    format!("object {} is deleted", preceding.object_id),
                ));
            }
            Some(stored)
        }
    };
    let data = entry.get("data").filter(|data| !data.is_null());
    let (kind, mut object) = match data {
        Some(data) => {
            let type_name = data
                .get("_type")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(at("/data/_type"), "the version's data must name its _type"))?;
            let kind = ObjectKind::parse(type_name).ok_or_else(|| {
                bad(at("/data/_type"), format!("a contribution can hold COMPOSITION, EHR_STATUS or FOLDER versions, not {type_name}"))
            })?;
            // Absent mandatory attributes are reported by the validation that follows.
            let object = openehr_rm::json::from_value_deferring_mandatory(data, type_name)
                .map_err(|error| ApiError::from(error).under(&at("/data")))?;
            (kind, object)
        }
        None => {
            // A deletion may omit the data: it keeps the content it replaces.
            let Some(stored) = preceding_stored
                .as_ref()
                .filter(|_| change_type == ChangeType::Deleted)
            else {
                return Err(bad(at("/data"), "the version has no data"));
            };
            let kind = stored.meta.kind;
            let object =
                openehr_rm::json::from_slice(&stored.data, kind.as_str()).map_err(|error| {
                    ApiError::new(
                        ErrorCode::Internal,
                        format!("stored version does not parse: {error}"),
                    )
                })?;
            (kind, object)
        }
    };
    if let Some(stored) = &preceding_stored
        && stored.meta.kind != kind
    {
        return Err(ApiError::at(
            ErrorCode::Conflict,
            at("/data/_type"),
            format!(
                "the preceding version is a {}, not a {}",
                stored.meta.kind.as_str(),
                kind.as_str()
            ),
        ));
    }
    if kind == ObjectKind::EhrStatus && version == 1 {
        return Err(ApiError::at(
            ErrorCode::Conflict,
            at("/data"),
            "the ehr already has an EHR_STATUS; send a modification of it",
        ));
    }
    let template_id = match kind {
        ObjectKind::Composition => Some(
            checked_template_id(state, &object)
                .await
                .map_err(|error| error.under(&at("/data")))?,
        ),
        ObjectKind::EhrStatus | ObjectKind::Folder => {
            super::checked_optional_templates(state, &object)
                .await
                .map_err(|error| error.under(&at("/data")))?
        }
    };
    let object_id = object_id
        .or_else(|| client_object_id(&object))
        .unwrap_or_else(Uuid::new_v4);
    set_version_uid(
        &mut object,
        &VersionUid::format(object_id, &state.config.system_id, version),
    )?;
    let status = match kind {
        ObjectKind::EhrStatus => Some(super::ehr::status_facts(&object)),
        _ => None,
    };
    Ok(NewVersion {
        object_id,
        kind,
        version,
        change_type,
        lifecycle_state,
        template_id,
        status,
        data: openehr_rm::json::to_vec(&object),
        index: super::index_rows(&object, lifecycle_state),
    })
}

/// `POST /ehr/{ehr_id}/contribution`
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
    let ehr = require_ehr(&state, ehr_id(&id)?).await?;
    body.format_among(&[Format::Json])?;
    let request: Value = serde_json::from_slice(&body.bytes).map_err(|error| {
        ApiError::at(
            ErrorCode::MalformedBody,
            "",
            format!("malformed json: {error}"),
        )
    })?;
    let entries = request
        .get("versions")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad(
                "/versions".into(),
                "a contribution needs a list of versions",
            )
        })?;
    if entries.is_empty() {
        return Err(bad(
            "/versions".into(),
            "a contribution needs at least one version",
        ));
    }
    let mut versions = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        versions.push(new_version(&state, &ehr, index, entry).await?);
    }
    for (index, version) in versions.iter().enumerate() {
        if versions[..index]
            .iter()
            .any(|other| other.object_id == version.object_id)
        {
            return Err(bad(
                format!("/versions/{index}"),
                format!(
                    "object {} appears twice in the contribution",
                    version.object_id
                ),
            ));
        }
    }
    // The contribution's committer: the request's audit, else the first version's, else the header or caller.
    let mut header = audit_header(&headers)?;
    let request_audit = request
        .get("audit")
        .or_else(|| entries[0].get("commit_audit"));
    if let Some(audit) = request_audit {
        if let Some(name) = audit.pointer("/committer/name").and_then(Value::as_str) {
            header.committer_name.get_or_insert_with(|| name.to_owned());
        }
        if let Some(text) = audit.pointer("/description/value").and_then(Value::as_str) {
            header.description.get_or_insert_with(|| text.to_owned());
        }
    }
    let mut audit = new_audit(&state, &caller, &header, versions[0].change_type);
    if let Some(committer) = request_audit.and_then(|audit| audit.get("committer")) {
        let path = if request.get("audit").is_some() {
            "/audit/committer"
        } else {
            "/versions/0/commit_audit/committer"
        };
        openehr_rm::json::from_value(committer, "PARTY_PROXY")
            .map_err(|error| ApiError::from(error).under(path))?;
        audit.committer = committer.clone();
    }
    // A client may name the contribution (a migration keeps its ids); 409 if it is taken.
    let contribution_id = match request.pointer("/uid/value") {
        None => Uuid::new_v4(),
        Some(value) => value
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok().filter(|_| text.len() == 36))
            .ok_or_else(|| {
                ApiError::at(
                    ErrorCode::InvalidId,
                    "/uid/value",
                    "a contribution uid must be a uuid",
                )
            })?,
    };
    if let Some(system_id) = request.pointer("/audit/system_id") {
        let system_id = system_id.as_str().unwrap_or_default();
        if system_id != state.config.system_id {
            return Err(bad(
                "/audit/system_id".into(),
                format!(
                    "system_id \"{system_id}\" is not this system's id \"{}\"",
                    state.config.system_id
                ),
            ));
        }
    }
    let contribution = NewContribution {
        ehr_id: ehr.ehr_id,
        contribution_id,
        audit,
        versions,
    };
    let record = store::ContributionRecord {
        ehr_id: ehr.ehr_id,
        contribution_id,
        audit: contribution.audit.clone(),
        versions: contribution
            .versions
            .iter()
            .map(|v| (v.object_id, v.version, v.kind))
            .collect(),
    };
    let locate = |object_id: Uuid| {
        contribution
            .versions
            .iter()
            .position(|version| version.object_id == object_id)
            .unwrap_or(0)
    };
    match state.store.commit(contribution.clone()).await {
        Ok(()) => {}
        Err(StoreError::VersionConflict {
            object_id, latest, ..
        }) => {
            let index = locate(object_id);
            let message = match latest {
                Some(latest) => format!(
                    "object {object_id} has version {latest}, which the version does not follow; nothing was committed"
                ),
                None => format!("object {object_id} does not exist; nothing was committed"),
            };
            let code = if latest.is_some() {
                ErrorCode::PreconditionFailed
            } else {
                ErrorCode::ObjectNotFound
            };
            return Err(ApiError::at(
                code,
                format!("/versions/{index}/preceding_version_uid"),
                message,
            ));
        }
        Err(StoreError::KindMismatch { object_id, .. }) => {
            let index = locate(object_id);
            return Err(ApiError::at(
                ErrorCode::Conflict,
                format!("/versions/{index}/data/_type"),
                format!("object {object_id} is of another type; nothing was committed"),
            ));
        }
        Err(error) => return Err(error.into()),
    }
    let location = format!(
        "{}/ehr/{}/contribution/{contribution_id}",
        api_base(&uri),
        ehr.ehr_id
    );
    let reply = Reply::new(StatusCode::CREATED)
        .header(header::LOCATION, &location)
        .etag(&contribution_id.to_string())
        .last_modified(record.audit.time_committed);
    Ok(match prefer {
        Prefer::Minimal => reply,
        Prefer::Identifier => reply.identifier(&contribution_id.to_string(), accept),
        Prefer::Representation => {
            let value = contribution_json(&record);
            reply.body(
                accept,
                render_value(&value, "CONTRIBUTION", accept, "contribution")?,
            )
        }
    })
}

/// `GET /ehr/{ehr_id}/contribution/{contribution_uid}`
pub async fn get(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, contribution)): Path<(String, String)>,
    Accept(accept): Accept,
) -> ApiResult<Reply> {
    let ehr_id = ehr_id(&id)?;
    let contribution_id = parse_uuid(&contribution, "contribution id")?;
    let record = match state
        .store
        .get_contribution(ehr_id, contribution_id)
        .await?
    {
        Some(record) => record,
        None => {
            require_ehr(&state, ehr_id).await?;
            return Err(ApiError::new(
                ErrorCode::ObjectNotFound,
                format!("contribution {contribution_id} does not exist in ehr {ehr_id}"),
            ));
        }
    };
    // A contribution that committed a composition the caller may not read is answered as a
    // missing one: its listing would show that the composition exists.
    for (object_id, version, kind) in &record.versions {
        if *kind == ObjectKind::Composition {
            crate::guard::check_object(
                &state,
                ehr_id,
                *object_id,
                VersionSelector::Number(*version),
                || {
                    ApiError::new(
                        ErrorCode::ObjectNotFound,
                        format!("contribution {contribution_id} does not exist in ehr {ehr_id}"),
                    )
                },
            )
            .await?;
        }
    }
    let value = contribution_json(&record);
    Ok(Reply::new(StatusCode::OK)
        .etag(&contribution_id.to_string())
        .last_modified(record.audit.time_committed)
        .body(
            accept,
            render_value(&value, "CONTRIBUTION", accept, "contribution")?,
        ))
}
