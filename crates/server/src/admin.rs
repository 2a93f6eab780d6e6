//! The admin API, compatible with EHRbase's (`/rest/admin` and `/ehrbase/rest/admin`):
//! physical erasure of an EHR, deletion of unused templates and of stored queries.
//! Every handler takes [`Admin`], so only the administrator reaches it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::delete;
use serde_json::json;

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::{Format, Reply, parse_uuid};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ehr/{ehr_id}", delete(delete_ehr))
        .route("/template/{template_id}", delete(delete_template))
        .route("/query/{name}/{version}", delete(delete_query))
}

/// `DELETE /rest/admin/ehr/{ehr_id}`: erases the EHR and everything in it.
async fn delete_ehr(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> ApiResult<Reply> {
    let ehr_id = parse_uuid(&id, "ehr id")?;
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
