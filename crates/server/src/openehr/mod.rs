//! The openEHR REST API (ITS-REST 1.1.0 development line, accepting 1.0.3 header spellings),
//! mounted at `/rest/openehr/v1` and `/ehrbase/rest/openehr/v1`.

// An axum handler lists its extractors (state, caller, uri, headers, path, prefer, accept,
// body) as arguments; bundling them would only hide what each handler needs.
#![allow(clippy::too_many_arguments)]

pub(crate) mod composition;
mod contribution;
pub(crate) mod definition;
mod directory;
pub(crate) mod ehr;
mod ehr_status;
mod query;
mod simplified;

use axum::Router;
use axum::http::Uri;
use axum::routing::{get, post};
use openehr_rm::RmObject;
use store::{IndexRows, LifecycleState, ObjectKind, StoredVersion, VersionSelector};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{Format, RawBody, VersionUid, parse_uuid};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ehr", post(ehr::create).get(ehr::find_by_subject))
        .route("/ehr/{ehr_id}", get(ehr::get).put(ehr::create_with_id))
        .route(
            "/ehr/{ehr_id}/ehr_status",
            get(ehr_status::get_latest).put(ehr_status::update),
        )
        .route(
            "/ehr/{ehr_id}/ehr_status/{version_uid}",
            get(ehr_status::get_version),
        )
        .route(
            "/ehr/{ehr_id}/versioned_ehr_status",
            get(ehr_status::versioned),
        )
        .route(
            "/ehr/{ehr_id}/versioned_ehr_status/revision_history",
            get(ehr_status::revision_history),
        )
        .route(
            "/ehr/{ehr_id}/versioned_ehr_status/version",
            get(ehr_status::version_at_time),
        )
        .route(
            "/ehr/{ehr_id}/versioned_ehr_status/version/{version_uid}",
            get(ehr_status::version_by_id),
        )
        .route("/ehr/{ehr_id}/composition", post(composition::create))
        .route(
            "/ehr/{ehr_id}/composition/{uid}",
            get(composition::get)
                .put(composition::update)
                .delete(composition::delete),
        )
        .route(
            "/ehr/{ehr_id}/versioned_composition/{object_id}",
            get(composition::versioned),
        )
        .route(
            "/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history",
            get(composition::revision_history),
        )
        .route(
            "/ehr/{ehr_id}/versioned_composition/{object_id}/version",
            get(composition::version_at_time),
        )
        .route(
            "/ehr/{ehr_id}/versioned_composition/{object_id}/version/{version_uid}",
            get(composition::version_by_id),
        )
        .route(
            "/ehr/{ehr_id}/directory",
            get(directory::get_latest)
                .post(directory::create)
                .put(directory::update)
                .delete(directory::delete),
        )
        .route(
            "/ehr/{ehr_id}/directory/{version_uid}",
            get(directory::get_version),
        )
        .route("/ehr/{ehr_id}/contribution", post(contribution::create))
        .route(
            "/ehr/{ehr_id}/contribution/{contribution_id}",
            get(contribution::get),
        )
        .route(
            "/definition/template/adl1.4",
            post(definition::upload_template).get(definition::list_templates),
        )
        .route(
            "/definition/template/adl1.4/{template_id}",
            get(definition::get_template),
        )
        .route(
            "/definition/template/adl1.4/{template_id}/example",
            get(definition::example_composition),
        )
        .route("/query/aql", get(query::adhoc_get).post(query::adhoc_post))
        .route(
            "/query/{name}",
            get(query::stored_get).post(query::stored_post),
        )
        .route(
            "/query/{name}/{version}",
            get(query::stored_version_get).post(query::stored_version_post),
        )
        .route("/definition/query", get(definition::list_queries))
        .route(
            "/definition/query/{name}",
            get(definition::list_queries_named).put(definition::store_query),
        )
        .route(
            "/definition/query/{name}/{version}",
            get(definition::get_query).put(definition::store_query_version),
        )
}

/// The API root of this request (`/rest/openehr/v1` or its EHRbase alias), for `Location`.
pub(crate) fn api_base(uri: &Uri) -> &'static str {
    if uri.path().starts_with("/ehrbase/") {
        "/ehrbase/rest/openehr/v1"
    } else {
        "/rest/openehr/v1"
    }
}

/// An EHR id from the path. Kith's EHR ids are UUIDs, so any other text names no EHR: 404,
/// as for an unknown id (the specification lists 404, not 400, for reads).
pub(crate) fn ehr_id(text: &str) -> ApiResult<Uuid> {
    parse_uuid(text, "ehr id")
        .map_err(|_| ApiError::new(ErrorCode::EhrNotFound, format!("ehr {text} does not exist")))
}

/// The EHR, or 404 naming it.
pub(crate) async fn require_ehr(state: &AppState, ehr_id: Uuid) -> ApiResult<store::EhrRecord> {
    // The same answer a refused caller gets (`guard::ehr_not_visible`).
    state
        .store
        .get_ehr(ehr_id)
        .await?
        .ok_or_else(|| crate::guard::ehr_not_visible(ehr_id))
}

/// A composition from a canonical JSON or XML body. An absent mandatory attribute is not a
/// reading error here: the template validation that every composition goes through next
/// reports it with its AQL path (422), with every other violation.
pub(crate) fn parse_composition_body(body: &RawBody) -> ApiResult<RmObject> {
    parse_body_deferring_mandatory(body, "COMPOSITION")
}

/// An RM object from a canonical JSON or XML body, its absent mandatory attributes left to
/// the validation that follows: [`checked_template_id`](composition::checked_template_id)
/// for a composition, [`checked_optional_templates`] for an EHR_STATUS or FOLDER.
pub(crate) fn parse_body_deferring_mandatory(
    body: &RawBody,
    expected_type: &str,
) -> ApiResult<RmObject> {
    if body.is_empty() {
        return Err(ApiError::new(
            ErrorCode::MalformedBody,
            format!("the request body is empty; a {expected_type} is required"),
        ));
    }
    let object = match body.format_among(&[Format::Json, Format::Xml])? {
        Format::Xml => openehr_rm::xml::from_slice_deferring_mandatory(&body.bytes, expected_type)?,
        _ => openehr_rm::json::from_slice_deferring_mandatory(&body.bytes, expected_type)?,
    };
    Ok(object)
}

/// The 422 answer to template violations: one detail per violation, with its path.
pub(crate) fn template_violation(
    what: &str,
    template_id: &str,
    violations: Vec<templates::validate::Violation>,
) -> ApiError {
    let mut error = ApiError::new(
        ErrorCode::TemplateViolation,
        format!(
            "the {what} does not conform to template \"{template_id}\": {} violation{}",
            violations.len(),
            if violations.len() == 1 { "" } else { "s" }
        ),
    );
    error.details = violations
        .into_iter()
        .map(|violation| crate::error::Detail {
            path: violation.path,
            message: violation.message,
            ..Default::default()
        })
        .collect();
    error
}

/// Validates an EHR_STATUS or a FOLDER tree against the templates it names in
/// `archetype_details.template_id` (the root's, or a sub-folder's), where they have been
/// uploaded: 422 with the violations' paths otherwise. Their templates are optional (EHRbase
/// checks an EHR_STATUS against the RM only), so a template that is not known leaves the RM
/// checks alone rather than refusing the object. The object was read with its mandatory
/// attributes deferred: under a template they are violations with AQL paths (422), as in a
/// composition; everywhere else, and without a template, a missing one is a 400 as when
/// reading. Returns the outermost template validated against, for the version's metadata.
pub(crate) async fn checked_optional_templates(
    state: &AppState,
    object: &RmObject,
) -> ApiResult<Option<String>> {
    let mut known = std::collections::HashMap::new();
    for template_id in templates::validate::named_template_ids(object) {
        if let Some(template) = state.template(template_id).await? {
            known.insert(template_id, template);
        }
    }
    if known.is_empty() {
        object.check_mandatory_everywhere()?;
        return Ok(None);
    }
    let violations = templates::validate::validate_named_templates(object, |template_id| {
        known.get(template_id).map(|known| &known.template)
    });
    let validated = templates::validate::named_template_ids(object)
        .into_iter()
        .find(|template_id| known.contains_key(template_id))
        .map(str::to_owned);
    if !violations.is_empty() {
        let what = object.type_name().to_ascii_lowercase();
        let template_id = validated.as_deref().unwrap_or_default();
        return Err(template_violation(&what, template_id, violations));
    }
    object.check_mandatory_everywhere()?;
    Ok(validated)
}

/// The query rows of a version about to be committed: none for a deleted version, so the
/// object drops out of every query.
pub(crate) fn index_rows(object: &RmObject, lifecycle_state: LifecycleState) -> IndexRows {
    if lifecycle_state == LifecycleState::Deleted {
        IndexRows::default()
    } else {
        aql::index::index_rows(object)
    }
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Composition => "composition",
        ObjectKind::EhrStatus => "ehr_status",
        ObjectKind::Folder => "directory",
    }
}

/// Reads a version of an object of the given kind; 404 naming the EHR or the object.
pub(crate) async fn read_version(
    state: &AppState,
    ehr_id: Uuid,
    object_id: Uuid,
    kind: ObjectKind,
    selector: VersionSelector,
) -> ApiResult<StoredVersion> {
    let found = state.store.get_version(ehr_id, object_id, selector).await?;
    let missing = |selector: VersionSelector| {
        let what = match selector {
            VersionSelector::Latest => format!("{} {object_id}", kind_name(kind)),
            VersionSelector::Number(number) => {
                format!("version {number} of {} {object_id}", kind_name(kind))
            }
            VersionSelector::AtTime(_) => {
                format!("a version of {} {object_id} at that time", kind_name(kind))
            }
        };
        ApiError::new(
            ErrorCode::ObjectNotFound,
            format!("{what} does not exist in ehr {ehr_id}"),
        )
    };
    match found {
        Some(stored) if stored.meta.kind == kind => {
            // A composition in a data category is decided again, with its category.
            crate::guard::check_categories(state, &stored, || missing(selector)).await?;
            Ok(stored)
        }
        _ => {
            require_ehr(state, ehr_id).await?;
            let what = match selector {
                VersionSelector::Latest => format!("{} {object_id}", kind_name(kind)),
                VersionSelector::Number(number) => {
                    format!("version {number} of {} {object_id}", kind_name(kind))
                }
                VersionSelector::AtTime(_) => {
                    format!("a version of {} {object_id} at that time", kind_name(kind))
                }
            };
            Err(ApiError::new(
                ErrorCode::ObjectNotFound,
                format!("{what} does not exist in ehr {ehr_id}"),
            ))
        }
    }
}

/// Reads the version a version uid names, checking its kind.
pub(crate) async fn read_version_uid(
    state: &AppState,
    ehr_id: Uuid,
    uid: &VersionUid,
    kind: ObjectKind,
) -> ApiResult<StoredVersion> {
    read_version(
        state,
        ehr_id,
        uid.object_id,
        kind,
        VersionSelector::Number(uid.version),
    )
    .await
}

/// The 412 answer to a stale `If-Match`, carrying the latest version's id.
pub(crate) fn stale(
    base: &str,
    location_path: &str,
    object_id: Uuid,
    latest: Option<u32>,
    system_id: &str,
) -> ApiError {
    match latest {
        Some(latest) => {
            let uid = VersionUid::format(object_id, system_id, latest);
            ApiError::new(
                ErrorCode::PreconditionFailed,
                format!("if-match does not name the latest version; the latest is {uid}"),
            )
            .with_header(axum::http::header::ETAG, &format!("\"{uid}\""))
            .with_header(
                axum::http::header::LOCATION,
                &format!("{base}{location_path}/{uid}"),
            )
        }
        None => ApiError::new(
            ErrorCode::PreconditionFailed,
            format!("object {object_id} does not exist"),
        ),
    }
}

/// The version's data as the client asked: stored JSON as is, or XML via the RM.
pub(crate) fn represent_data(
    stored: &StoredVersion,
    accept: Format,
    rm_type: &str,
    root_element: &str,
) -> ApiResult<Vec<u8>> {
    match accept {
        Format::Json | Format::Flat | Format::Structured => Ok(stored.data.clone()),
        Format::Xml => {
            let object = openehr_rm::json::from_slice(&stored.data, rm_type).map_err(|error| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("stored {rm_type} does not parse: {error}"),
                )
            })?;
            Ok(openehr_rm::xml::to_vec(&object, root_element))
        }
    }
}

/// `VERSIONED_*` of an object.
pub(crate) async fn versioned_reply(
    state: &AppState,
    ehr_id: Uuid,
    object_id: Uuid,
    kind: ObjectKind,
    accept: Format,
) -> ApiResult<crate::http::Reply> {
    let meta = state.store.get_versioned_object(ehr_id, object_id).await?;
    let Some(meta) = meta.filter(|meta| meta.kind == kind) else {
        require_ehr(state, ehr_id).await?;
        return Err(ApiError::new(
            ErrorCode::ObjectNotFound,
            format!(
                "{} {object_id} does not exist in ehr {ehr_id}",
                kind_name(kind)
            ),
        ));
    };
    let missing = || {
        ApiError::new(
            ErrorCode::ObjectNotFound,
            format!(
                "{} {object_id} does not exist in ehr {ehr_id}",
                kind_name(kind)
            ),
        )
    };
    crate::guard::check_object(state, ehr_id, object_id, VersionSelector::Latest, missing).await?;
    let type_name = format!("VERSIONED_{}", kind.as_str());
    let value =
        crate::versioning::versioned_object_json(&type_name, ehr_id, object_id, meta.time_created);
    let body = crate::http::render_value(&value, &type_name, accept, "versioned_object")?;
    Ok(crate::http::Reply::new(axum::http::StatusCode::OK).body(accept, body))
}

/// `REVISION_HISTORY` of an object.
pub(crate) async fn revision_history_reply(
    state: &AppState,
    ehr_id: Uuid,
    object_id: Uuid,
    kind: ObjectKind,
    accept: Format,
) -> ApiResult<crate::http::Reply> {
    let versions = state.store.list_versions(ehr_id, object_id).await?;
    if versions.is_empty() || versions[0].kind != kind {
        require_ehr(state, ehr_id).await?;
        return Err(ApiError::new(
            ErrorCode::ObjectNotFound,
            format!(
                "{} {object_id} does not exist in ehr {ehr_id}",
                kind_name(kind)
            ),
        ));
    }
    crate::guard::check_object(state, ehr_id, object_id, VersionSelector::Latest, || {
        ApiError::new(
            ErrorCode::ObjectNotFound,
            format!(
                "{} {object_id} does not exist in ehr {ehr_id}",
                kind_name(kind)
            ),
        )
    })
    .await?;
    let value = crate::versioning::revision_history_json(&versions);
    let body = crate::http::render_value(&value, "REVISION_HISTORY", accept, "revision_history")?;
    Ok(crate::http::Reply::new(axum::http::StatusCode::OK).body(accept, body))
}

/// An `ORIGINAL_VERSION` of an object.
pub(crate) async fn original_version_reply(
    state: &AppState,
    ehr_id: Uuid,
    object_id: Uuid,
    kind: ObjectKind,
    selector: VersionSelector,
    accept: Format,
) -> ApiResult<crate::http::Reply> {
    let stored = read_version(state, ehr_id, object_id, kind, selector).await?;
    let value = crate::versioning::original_version_json(&stored)?;
    let body = crate::http::render_value(&value, "ORIGINAL_VERSION", accept, "version")?;
    Ok(crate::http::Reply::new(axum::http::StatusCode::OK)
        .etag(&crate::versioning::version_uid(&stored.meta))
        .last_modified(stored.meta.audit.time_committed)
        .body(accept, body))
}

#[derive(serde::Deserialize)]
pub(crate) struct AtTime {
    version_at_time: Option<String>,
}

impl AtTime {
    pub(crate) fn selector(&self) -> ApiResult<VersionSelector> {
        match &self.version_at_time {
            None => Ok(VersionSelector::Latest),
            Some(text) => Ok(VersionSelector::AtTime(crate::http::parse_time(
                text,
                "version_at_time",
            )?)),
        }
    }
}

/// A version uid from the path that must belong to `object_id` when one is given.
pub(crate) fn version_uid_for(text: &str, object_id: Option<Uuid>) -> ApiResult<VersionUid> {
    let uid = VersionUid::parse(text, "version uid")?;
    if let Some(object_id) = object_id
        && uid.object_id != object_id
    {
        return Err(ApiError::new(
            ErrorCode::ObjectNotFound,
            format!("version uid {text} does not belong to object {object_id}"),
        ));
    }
    Ok(uid)
}

/// Commits one version as a contribution of its own. On success returns what was stored
/// (metadata and canonical JSON), so the reply needs no read back; store errors are left to
/// the caller, which knows what each means for its resource.
pub(crate) async fn commit_one(
    state: &AppState,
    ehr_id: Uuid,
    audit: store::Audit,
    version: store::NewVersion,
) -> Result<StoredVersion, store::StoreError> {
    let meta = store::VersionMeta {
        ehr_id,
        object_id: version.object_id,
        kind: version.kind,
        version: version.version,
        contribution_id: Uuid::new_v4(),
        audit: store::Audit {
            change_type: version.change_type,
            ..audit.clone()
        },
        lifecycle_state: version.lifecycle_state,
        template_id: version.template_id.clone(),
    };
    let data = version.data.clone();
    let contribution = store::NewContribution {
        ehr_id,
        contribution_id: meta.contribution_id,
        audit,
        versions: vec![version],
    };
    state.store.commit(contribution).await?;
    Ok(StoredVersion { meta, data })
}
