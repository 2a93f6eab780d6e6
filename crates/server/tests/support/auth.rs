//! Test support for authentication: test keys that sign tokens, a real HTTP server on
//! 127.0.0.1 that serves an issuer's discovery document and key set (counting the fetches),
//! the app with an authentication configuration, and a log capture.

#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use server::auth::{AuthenticationConfig, Authenticator, Caller};
use tower::ServiceExt;

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const SYSTEM_ID: &str = "test.kith";
pub const AUDIENCE: &str = "kith-test";
/// An endpoint any authenticated caller may read.
pub const PROTECTED: &str = "/rest/openehr/v1/definition/template/adl1.4";

fn key_file(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// A test signing key with its key id.
#[derive(Clone)]
pub struct TestKey {
    pub algorithm: Algorithm,
    pub kid: String,
    pub encoding: EncodingKey,
    /// The PEM of the private key (the HS256 confusion test takes its public half).
    pub pem: Vec<u8>,
}

impl TestKey {
    pub fn rsa(kid: &str) -> TestKey {
        Self::load(Algorithm::RS256, kid, "rsa.pem")
    }
    pub fn other_rsa(kid: &str) -> TestKey {
        Self::load(Algorithm::RS256, kid, "rsa-other.pem")
    }
    pub fn ec(kid: &str) -> TestKey {
        Self::load(Algorithm::ES256, kid, "ec.pem")
    }
    pub fn ed25519(kid: &str) -> TestKey {
        Self::load(Algorithm::EdDSA, kid, "ed25519.pem")
    }

    fn load(algorithm: Algorithm, kid: &str, file: &str) -> TestKey {
        let pem = key_file(file);
        let encoding = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_ed_pem(&pem),
        }
        .expect("test key");
        TestKey {
            algorithm,
            kid: kid.to_owned(),
            encoding,
            pem,
        }
    }

    /// The public key as a JWK with this key's id (and `alg` declared, as issuers do).
    pub fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.algorithm).expect("jwk");
        jwk.common.key_id = Some(self.kid.clone());
        jwk
    }

    /// A token with these claims, signed with this key and naming its key id.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    serde_json::to_value(JwkSet {
        keys: keys.iter().map(|key| key.jwk()).collect(),
    })
    .expect("jwks")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims a configured issuer's token carries by default: valid for an hour.
pub fn claims(issuer: &str) -> Value {
    json!({
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "user-1",
        "kith_role": "clinician",
        "kith_org": "RRV",
        "iat": now(),
        "exp": now() + 3600,
    })
}

/// Sets fields of a JSON object (null removes one).
pub fn with(mut value: Value, changes: Value) -> Value {
    let object = value.as_object_mut().expect("object");
    for (name, change) in changes.as_object().expect("object") {
        if change.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), change.clone());
        }
    }
    value
}

/// An issuer's web server on 127.0.0.1: `/.well-known/openid-configuration` and `/jwks`.
pub struct KeyServer {
    pub issuer: String,
    pub jwks: Arc<Mutex<Value>>,
    pub discovery_fetches: Arc<AtomicUsize>,
    pub jwks_fetches: Arc<AtomicUsize>,
}

impl KeyServer {
    pub async fn start(keys: &[&TestKey]) -> KeyServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let jwks = Arc::new(Mutex::new(jwks(keys)));
        let discovery_fetches = Arc::new(AtomicUsize::new(0));
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let discovery = {
            let counter = discovery_fetches.clone();
            let document = json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/jwks"),
                "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            });
            move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let document = document.clone();
                async move { axum::Json(document) }
            }
        };
        let key_set = {
            let counter = jwks_fetches.clone();
            let jwks = jwks.clone();
            move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let document = jwks.lock().unwrap().clone();
                async move { axum::Json(document) }
            }
        };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(key_set));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        KeyServer {
            issuer,
            jwks,
            discovery_fetches,
            jwks_fetches,
        }
    }

    pub fn publish(&self, keys: &[&TestKey]) {
        *self.jwks.lock().unwrap() = jwks(keys);
    }

    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn discovery_fetches(&self) -> usize {
        self.discovery_fetches.load(Ordering::SeqCst)
    }

    /// The configuration of this issuer, by discovery, with extra settings merged in.
    pub fn issuer_config(&self, extra: Value) -> Value {
        with(
            json!({"issuer": self.issuer, "audience": AUDIENCE, "discovery": true}),
            extra,
        )
    }
}

/// The app under test: the real router on a real SQLite store, and beside it a router that
/// answers the authenticated [`Caller`] as JSON, behind the same middleware.
pub struct AuthApp {
    pub router: Router,
    pub whoami: Router,
    _directory: tempfile::TempDir,
}

impl AuthApp {
    /// With the authentication configuration file's content; local tokens from the key in
    /// `local_key_directory` if given.
    pub async fn new(config: Value, local_key_directory: Option<&std::path::Path>) -> AuthApp {
        let config = AuthenticationConfig::from_json(
            &config.to_string(),
            std::path::Path::new("/nonexistent/auth.json"),
        )
        .expect("authentication configuration");
        let local_key = local_key_directory.map(|directory| {
            server::auth::LocalSigningKey::load_or_create(directory).expect("local key")
        });
        let authenticator =
            Authenticator::new(&config, local_key.as_ref().map(|key| (SYSTEM_ID, key)))
                .expect("authenticator");
        Self::with_authenticator(authenticator).await
    }

    pub async fn with_authenticator(authentication: Authenticator) -> AuthApp {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = store::open_store(None, directory.path())
            .await
            .expect("sqlite store");
        let config = server::Config {
            system_id: SYSTEM_ID.into(),
            admin_token: ADMIN_TOKEN.into(),
            body_limit: server::DEFAULT_BODY_LIMIT,
            aql_evaluation_limit: server::DEFAULT_AQL_EVALUATION_LIMIT,
            query_timeout: server::DEFAULT_QUERY_TIMEOUT,
            authentication,
            trusted_proxies: server::client::TrustedProxies::default(),
        };
        let state = server::AppState::new(store, config).await.expect("state");
        let whoami = Router::new()
            .route("/whoami", get(whoami))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                server::auth::require_caller,
            ))
            .with_state(state.clone());
        AuthApp {
            router: server::app(state),
            whoami,
            _directory: directory,
        }
    }

    /// GET the protected endpoint of the real router with this authorization header and
    /// extra headers.
    pub async fn get(&self, authorization: Option<&str>, headers: &[(&str, &str)]) -> Answer {
        send(&self.router, PROTECTED, authorization, headers).await
    }

    /// The caller the middleware made of these credentials, or the refusal.
    pub async fn whoami(&self, authorization: Option<&str>, headers: &[(&str, &str)]) -> Answer {
        send(&self.whoami, "/whoami", authorization, headers).await
    }
}

async fn whoami(caller: Caller) -> axum::Json<Value> {
    axum::Json(json!({
        "user": caller.user,
        "is_admin": caller.is_admin,
        "role": caller.role,
        "organisation": caller.organisation,
        "organisation_type": caller.organisation_type,
        "nhs_number": caller.nhs_number,
        "purpose": caller.purpose,
        "break_glass": caller.break_glass,
        "method": format!("{:?}", caller.method),
    }))
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

async fn send(
    router: &Router,
    uri: &str,
    authorization: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = Request::get(uri);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Everything logged while it is installed (on this thread), as text.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs the capture for the current thread until the guard is dropped.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
