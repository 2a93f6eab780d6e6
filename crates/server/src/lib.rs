//! The HTTP layer: the openEHR REST API, the admin API, health and status, on axum.
//!
//! [`app`] builds the whole router from an [`AppState`]; tests drive it with `oneshot`
//! against a real store. Handlers are thin: they parse, call the RM crate and the store,
//! and shape the answer; errors go through the one table in [`error`].

mod admin;
mod api;
pub mod audit;
pub mod auth;
pub mod client;
pub mod error;
pub mod guard;
pub mod http;
pub mod ingest;
mod openehr;
pub mod query;
mod status;
mod versioning;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::Router;
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use store::Store;
use templates::model::Template;

use crate::error::{ApiError, ErrorCode};

/// Default limit on request bodies: 10 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Settings the server needs at run time.
pub struct Config {
    /// Appears in version ids (`uuid::system_id::1`) and audit details.
    pub system_id: String,
    /// The administrator's bearer token. Never logged; `Config` has no `Debug` for this reason.
    pub admin_token: String,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// The most EHRs a query that does not compile to SQL may read the documents of.
    pub aql_evaluation_limit: usize,
    /// How long a query may run before it is abandoned with a 408.
    pub query_timeout: std::time::Duration,
    /// Who else may call besides the administrator: trusted token issuers (with their key
    /// caches) and Basic users. `Authenticator::default()` trusts only the admin token.
    pub authentication: auth::Authenticator,
    /// The proxies whose `X-Forwarded-For` is believed for the audit trail's client address
    /// (`--trusted-proxies`); `TrustedProxies::default()` trusts none, and the header is
    /// then ignored.
    pub trusted_proxies: client::TrustedProxies,
}

/// [`Config::aql_evaluation_limit`] unless configured.
pub const DEFAULT_AQL_EVALUATION_LIMIT: usize = 10_000;
/// [`Config::query_timeout`] unless configured.
pub const DEFAULT_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// Parsed templates by id: an OPT is parsed once, at upload or on its first use after a
    /// start, never per request. On a miss the store is asked (another node may have
    /// uploaded it).
    templates: Arc<RwLock<HashMap<String, Arc<KnownTemplate>>>>,
    /// The data categories consent directives and the policy refer to.
    pub categories: Arc<access::DataCategories>,
    /// The audit trail's writer.
    pub audit: audit::AuditTrail,
    /// Organisation types by code, as read from the registry (None: not registered), for a
    /// short while: every access decision asks.
    organisation_types: Arc<RwLock<HashMap<String, KnownOrganisationType>>>,
    /// Callers' population AQL filters, while the registry stays the same.
    pub(crate) row_filters: guard::RowFilters,
    started: Instant,
}

/// An organisation's type as read from the registry (None: not registered), and when.
type KnownOrganisationType = (Option<access::OrganisationType>, Instant);

/// How long a registered organisation's type is trusted from memory (other nodes may change
/// it; this node's own changes replace it at once).
const ORGANISATION_TYPE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl AppState {
    pub async fn new(store: Arc<dyn Store>, config: Config) -> Result<AppState, store::StoreError> {
        Ok(AppState {
            audit: audit::AuditTrail::start(Arc::clone(&store)),
            store,
            config: Arc::new(config),
            templates: Arc::new(RwLock::new(HashMap::new())),
            categories: Arc::new(access::DataCategories::default()),
            organisation_types: Arc::new(RwLock::new(HashMap::new())),
            row_filters: guard::RowFilters::default(),
            started: Instant::now(),
        })
    }

    /// The type of the organisation registered under `code` (None if there is none).
    pub(crate) async fn organisation_type(
        &self,
        code: &str,
    ) -> Result<Option<access::OrganisationType>, ApiError> {
        if let Some((kind, read)) = self
            .organisation_types
            .read()
            .ok()
            .and_then(|types| types.get(code).copied())
            && read.elapsed() < ORGANISATION_TYPE_TTL
        {
            return Ok(kind);
        }
        let kind = self
            .store
            .get_organisation(code)
            .await?
            .and_then(|record| access::OrganisationType::from_code(&record.kind));
        self.remember_organisation_type(code, kind);
        Ok(kind)
    }

    pub(crate) fn remember_organisation_type(
        &self,
        code: &str,
        kind: Option<access::OrganisationType>,
    ) {
        if let Ok(mut types) = self.organisation_types.write() {
            // Bounded: codes come from callers' credentials.
            if types.len() > 10_000 {
                types.clear();
            }
            types.insert(code.to_owned(), (kind, Instant::now()));
        }
    }

    /// The same state with these data categories (from `--categories`).
    pub fn with_categories(mut self, categories: access::DataCategories) -> AppState {
        self.categories = Arc::new(categories);
        self
    }

    /// The parsed template with this id, or None if it has not been uploaded.
    pub(crate) async fn template(
        &self,
        template_id: &str,
    ) -> Result<Option<Arc<KnownTemplate>>, ApiError> {
        if let Some(template) = self
            .templates
            .read()
            .ok()
            .and_then(|templates| templates.get(template_id).cloned())
        {
            return Ok(Some(template));
        }
        let Some(record) = self.store.get_template(template_id).await? else {
            return Ok(None);
        };
        // It parsed when it was uploaded; failing now means the stored copy is damaged.
        let template = templates::opt::parse(&record.opt)
            .map_err(|error| ApiError::internal("a stored template does not parse", &error))?;
        Ok(Some(self.remember_template(template)))
    }

    /// Keeps a freshly parsed template (replacing any older parse of the same id).
    pub(crate) fn remember_template(&self, template: Template) -> Arc<KnownTemplate> {
        let known = Arc::new(KnownTemplate::new(template));
        if let Ok(mut templates) = self.templates.write() {
            templates.insert(known.template.template_id.clone(), known.clone());
        }
        known
    }

    pub(crate) fn forget_template(&self, template_id: &str) {
        if let Ok(mut templates) = self.templates.write() {
            templates.remove(template_id);
        }
    }
}

/// A template as the server keeps it: the constraint tree and what is derived from it once.
pub(crate) struct KnownTemplate {
    pub template: Template,
    /// The FLAT and STRUCTURED formats, indexed for conversion.
    pub formats: templates::flat::FlatFormat,
    /// The web template, serialised once: it only changes with the template.
    pub web_template: Vec<u8>,
}

impl KnownTemplate {
    fn new(template: Template) -> KnownTemplate {
        let formats = templates::flat::FlatFormat::new(&template);
        let web_template = templates::web_template::web_template(&template);
        // In the key order EHRbase sends, for clients that read the JSON as text.
        let web_template = serde_json::to_vec(&templates::web_template::InSdkOrder(&web_template))
            .unwrap_or_default();
        KnownTemplate {
            template,
            formats,
            web_template,
        }
    }
}

/// Builds the complete router.
pub fn app(state: AppState) -> Router {
    // Every /ehr/{ehr_id}/... route is decided before its handler runs.
    let openehr =
        openehr::router().route_layer(from_fn_with_state(state.clone(), guard::guard_ehr_routes));
    let admin = admin::router();
    let protected = Router::new()
        .nest("/rest/openehr/v1", openehr.clone())
        .nest("/ehrbase/rest/openehr/v1", openehr)
        .nest("/rest/admin", admin.clone())
        .nest("/ehrbase/rest/admin", admin)
        .nest("/api/v1", api::router())
        .fallback(not_found)
        // Inside authentication: the audit event names the authenticated caller.
        .layer(from_fn_with_state(state.clone(), guard::audit_requests))
        .layer(from_fn_with_state(state.clone(), auth::require_caller));
    Router::new()
        .route("/health", get(status::health))
        .route("/rest/status", get(status::status))
        .route("/ehrbase/rest/status", get(status::status))
        .merge(protected)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(map_response(json_errors))
        .with_state(state)
}

/// Gives every error the JSON error body, including the few answered by axum itself (a path
/// or query string that does not decode): clients parse one error shape.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        400..=499 => ErrorCode::InvalidParameter,
        _ => ErrorCode::Internal,
    };
    let text = axum::body::to_bytes(response.into_body(), 16 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_lowercase())
        .unwrap_or_default();
    let message = if code == ErrorCode::Internal || text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let mut answer = ApiError::new(code, message).into_response();
    *answer.status_mut() = status;
    answer
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no resource at {}", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on {}", uri.path()),
    )
}
