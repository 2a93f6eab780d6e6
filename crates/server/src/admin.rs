//! The admin API, compatible with EHRbase's (`/rest/admin` and `/ehrbase/rest/admin`):
//! physical erasure of an EHR, replacement and deletion of unused templates, deletion of
//! stored queries. Every handler takes [`Admin`], so only the administrator reaches it.
//!
//! A template that compositions use is never replaced: a composition names its template only
//! by `archetype_details.template_id`, so two OPTs under one id would leave every existing
//! composition ambiguous. A changed template in use goes in as a new template id (the usual
//! `….v2`), through the ordinary upload.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, put};
use serde_json::json;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{Format, RawBody, Reply, parse_uuid};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ehr/{ehr_id}", delete(delete_ehr))
        .route("/template/{template_id}", delete(delete_template))
        .route("/template/{template_id}", put(replace_template))
        .route("/query/{name}/{version}", delete(delete_query))
}

/// `DELETE /rest/admin/ehr/{ehr_id}`: erases the EHR and everything in it.
async fn delete_ehr(
    State(state): State<AppState>,
    Admin(caller): Admin,
    slot: Option<axum::Extension<crate::guard::AuditSlot>>,
    Path(id): Path<String>,
) -> ApiResult<Reply> {
    let ehr_id = parse_uuid(&id, "ehr id")?;
    // The person goes with the EHR; the audit trail keeps who they were and who erased them,
    // appended before the erasure.
    if state.store.get_ehr(ehr_id).await?.is_none() {
        return Err(ApiError::new(
            ErrorCode::EhrNotFound,
            format!("ehr {ehr_id} does not exist"),
        ));
    }
    let person = state.store.person_by_ehr(ehr_id).await?;
    if let Some(axum::Extension(slot)) = slot {
        slot.note(crate::guard::AuditNote {
            person_id: person.as_ref().map(|person| person.person_id),
            allowed: true,
            reason: format!("allow administrator: erased ehr {ehr_id} and everything in it"),
            break_glass: None,
            action: "erase".to_owned(),
            records: Vec::new(),
        });
        slot.record_now(&state).await?;
    }
    if !state.store.delete_ehr(ehr_id).await? {
        return Err(ApiError::new(
            ErrorCode::EhrNotFound,
            format!("ehr {ehr_id} does not exist"),
        ));
    }
    tracing::warn!(target: "audit", action = "erase_ehr", %ehr_id, user = %caller.user, "erased an ehr and all its data");
    Ok(Reply::new(StatusCode::NO_CONTENT))
}

/// `DELETE /rest/admin/template/{template_id}`: only while no composition uses it.
async fn delete_template(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(template_id): Path<String>,
) -> ApiResult<Reply> {
    if !state.store.delete_template(&template_id).await? {
        return Err(ApiError::new(
            ErrorCode::TemplateNotFound,
            format!("template \"{template_id}\" does not exist"),
        ));
    }
    state.forget_template(&template_id);
    tracing::warn!(target: "audit", action = "delete_template", %template_id, user = %caller.user, "deleted a template");
    Ok(Reply::new(StatusCode::OK).body(
        Format::Json,
        serde_json::to_vec(&json!({ "deleted": 1 })).unwrap_or_default(),
    ))
}

/// `PUT /rest/admin/template/{template_id}` with an OPT in XML: replaces the template while no
/// composition uses it, and answers the new OPT.
async fn replace_template(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(template_id): Path<String>,
    body: RawBody,
) -> ApiResult<Reply> {
    body.format_among(&[Format::Xml])?;
    let template = templates::opt::parse(&body.bytes)
        .map_err(|error| ApiError::new(ErrorCode::InvalidTemplate, error.to_string()))?;
    if template.template_id != template_id {
        return Err(ApiError::new(
            ErrorCode::InvalidTemplate,
            format!(
                "the template's id is \"{}\", not \"{template_id}\" as the url says",
                template.template_id
            ),
        ));
    }
    let record = store::TemplateRecord {
        template_id: template_id.clone(),
        concept: template.concept.clone(),
        archetype_id: template.root.node_id.clone(),
        created_at: time::OffsetDateTime::now_utc(),
        opt: body.bytes.to_vec(),
    };
    let replaced = match state.store.replace_template(record).await {
        Err(store::StoreError::TemplateInUse(_)) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "template \"{template_id}\" is used by compositions and cannot be replaced; \
                     upload the changed template under a new template id"
                ),
            ));
        }
        other => other?,
    };
    if !replaced {
        return Err(ApiError::new(
            ErrorCode::TemplateNotFound,
            format!("template \"{template_id}\" does not exist"),
        ));
    }
    state.remember_template(template);
    tracing::warn!(target: "audit", action = "replace_template", %template_id, user = %caller.user, "replaced a template");
    Ok(Reply::new(StatusCode::OK).body(Format::Xml, body.bytes.to_vec()))
}

/// `DELETE /rest/admin/query/{qualified_query_name}/{version}`
async fn delete_query(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Reply> {
    let deleted = state
        .store
        .delete_stored_query(&name, Some(&version))
        .await?;
    if deleted == 0 {
        return Err(ApiError::new(
            ErrorCode::ObjectNotFound,
            format!("stored query {name} version {version} does not exist"),
        ));
    }
    tracing::warn!(target: "audit", action = "delete_stored_query", %name, %version, user = %caller.user, "deleted a stored query");
    Ok(Reply::new(StatusCode::OK).body(
        Format::Json,
        serde_json::to_vec(&json!({ "deleted": deleted })).unwrap_or_default(),
    ))
}
