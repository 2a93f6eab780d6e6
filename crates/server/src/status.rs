//! `GET /health` and `GET /rest/status`: the two answers given without a token.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Shaped like EHRbase's status endpoint (its clients read these keys), plus Kith's own.
pub async fn status(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "kith_version": env!("CARGO_PKG_VERSION"),
        "openehr_rest_version": "1.1.0",
        "rm_version": "1.1.0",
        "database": state.store.backend_name(),
        "system_id": state.config.system_id,
        "os_version": format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        "uptime_seconds": state.started.elapsed().as_secs(),
    }))
}
