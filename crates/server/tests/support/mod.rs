//! Test support: the real router on a real store (a SQLite file, or a fresh PostgreSQL
//! database when `KITH_TEST_DATABASE_URL` is set), driven with `oneshot`.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const TOKEN: &str = "test-admin-token";
pub const SYSTEM_ID: &str = "test.kith";
pub const BASE: &str = "/rest/openehr/v1";

pub fn testdata(relative: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PostgresDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PostgresDatabase {
    pub async fn create(admin_url: &str) -> PostgresDatabase {
        let name = format!("kith_api_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
            .await
            .expect("KITH_TEST_DATABASE_URL is set but PostgreSQL is unreachable");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(admin_url);
        PostgresDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a thread with its own runtime can block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok((client, connection)) =
                        tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(connection);
                        let _ = client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

/// Whether a request is about a person's data (for the audit completeness check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touches {
    Person,
    Nobody,
}

/// The routes that read or write a person's data: everything under an EHR, creating or
/// finding EHRs, queries, the people API and the access logs, the admin erasure.
pub fn touches_a_person(method: &Method, uri: &axum::http::Uri) -> Touches {
    let path = uri.path().trim_end_matches('/');
    let openehr = path
        .strip_prefix("/ehrbase")
        .unwrap_or(path)
        .strip_prefix("/rest/openehr/v1");
    let person = match openehr {
        Some(rest) => {
            rest.starts_with("/ehr/")
                || (rest == "/ehr" && (method == Method::POST || uri.query().is_some()))
                || rest.starts_with("/query/")
        }
        None => {
            path == "/api/v1/people"
                || path.starts_with("/api/v1/people/")
                || path == "/api/v1/me/access-log"
                || path
                    .strip_prefix("/ehrbase")
                    .unwrap_or(path)
                    .starts_with("/rest/admin/ehr/")
        }
    };
    if person {
        Touches::Person
    } else {
        Touches::Nobody
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn store::Store>,
    _dir: tempfile::TempDir,
    _database: Option<PostgresDatabase>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not json ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .expect("ascii header")
    }

    /// The ETag without quotes.
    pub fn etag(&self) -> String {
        self.header("etag").trim_matches('"').to_owned()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, and that errors carry the JSON error body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        if status >= 400 {
            let body = self.json();
            assert!(body["error"].is_string(), "error body without code: {body}");
            assert!(
                body["message"].is_string(),
                "error body without message: {body}"
            );
            assert!(
                body["details"].is_array(),
                "error body without details: {body}"
            );
        }
        self
    }

    /// The error code of an error answer.
    pub fn error_code(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> Option<TestApp> {
        Self::with_limit(backend, server::DEFAULT_BODY_LIMIT).await
    }

    pub async fn with_limit(backend: Backend, body_limit: usize) -> Option<TestApp> {
        Self::with_config(backend, |config| config.body_limit = body_limit).await
    }

    /// An app whose configuration `adjust` changes from the tests' defaults.
    pub async fn with_config(
        backend: Backend,
        adjust: impl FnOnce(&mut server::Config),
    ) -> Option<TestApp> {
        Self::with_setup(backend, adjust, |state| state).await
    }

    /// An app whose configuration and then state (its data categories, say) are adjusted.
    pub async fn with_setup(
        backend: Backend,
        adjust: impl FnOnce(&mut server::Config),
        adjust_state: impl FnOnce(server::AppState) -> server::AppState,
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, database) = match backend {
            Backend::Sqlite => (
                store::open_store(None, dir.path())
                    .await
                    .expect("open sqlite store"),
                None,
            ),
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("KITH_TEST_DATABASE_URL") else {
                    eprintln!("skipped: KITH_TEST_DATABASE_URL is not set");
                    return None;
                };
                let database = PostgresDatabase::create(&admin_url).await;
                let store = store::open_store(Some(&database.url), dir.path())
                    .await
                    .expect("open postgres store");
                (store, Some(database))
            }
        };
        let mut config = server::Config {
            system_id: SYSTEM_ID.into(),
            admin_token: TOKEN.into(),
            body_limit: server::DEFAULT_BODY_LIMIT,
            aql_evaluation_limit: server::DEFAULT_AQL_EVALUATION_LIMIT,
            query_timeout: server::DEFAULT_QUERY_TIMEOUT,
            authentication: server::auth::Authenticator::default(),
            trusted_proxies: server::client::TrustedProxies::default(),
        };
        adjust(&mut config);
        let state = adjust_state(
            server::AppState::new(store.clone(), config)
                .await
                .expect("state"),
        );
        Some(TestApp {
            router: server::app(state),
            store,
            _dir: dir,
            _database: database,
        })
    }

    /// Sends a request through the router, and checks the audit trail's completeness on
    /// the way: a request that touches a person's data and succeeds leaves exactly one audit
    /// event, any other request at most one, and a request about no person none.
    /// The SQLite database file (on the SQLite backend), for tests that reach past the API.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        let path = self._dir.path().join("kith.db");
        path.exists().then_some(path)
    }

    pub async fn send(&self, mut request: Request<Body>) -> Answer {
        let request_id = uuid::Uuid::new_v4().to_string();
        request
            .headers_mut()
            .insert("x-request-id", request_id.parse().expect("a header value"));
        let method = request.method().clone();
        let path = request.uri().to_string();
        let touches = touches_a_person(&method, request.uri());
        let before = self
            .store
            .audit_head()
            .await
            .expect("reads the audit head")
            .map_or(0, |(seq, _)| seq);
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        let events = self
            .store
            .read_audit(&store::AuditFilter {
                from_seq: before + 1,
                ..store::AuditFilter::default()
            })
            .await
            .expect("reads the audit trail")
            .iter()
            .filter(|row| {
                access::audit::parse_canonical(&row.canonical)
                    .expect("an audit event reads back")
                    .1
                    .request_id
                    == request_id
            })
            .count();
        match touches {
            Touches::Person if status.is_success() => assert_eq!(
                events, 1,
                "{method} {path} ({status}) touched a person and left {events} audit events"
            ),
            Touches::Person => assert!(
                events <= 1,
                "{method} {path} ({status}) left {events} audit events"
            ),
            Touches::Nobody => assert_eq!(
                events, 0,
                "{method} {path} ({status}) touched no person but left {events} audit events"
            ),
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A request with the admin token and the given extra headers.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {TOKEN}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body.into())).expect("request"))
            .await
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.call(Method::GET, uri, &[], Vec::new()).await
    }

    pub async fn post_json(&self, uri: &str, body: &[u8], extra: &[(&str, &str)]) -> Answer {
        let mut headers = vec![("content-type", "application/json")];
        headers.extend_from_slice(extra);
        self.call(Method::POST, uri, &headers, body.to_vec()).await
    }

    pub async fn create_ehr(&self) -> String {
        let answer = self
            .call(Method::POST, &format!("{BASE}/ehr"), &[], Vec::new())
            .await;
        answer.expect(201);
        answer.etag()
    }

    pub async fn upload_template(&self, file: &str) -> Answer {
        self.call(
            Method::POST,
            &format!("{BASE}/definition/template/adl1.4"),
            &[("content-type", "application/xml")],
            testdata(&format!("templates/{file}")),
        )
        .await
    }

    /// Uploads the minimal observation template and commits its example; returns the version uid.
    pub async fn create_composition(&self, ehr_id: &str) -> String {
        let answer = self.upload_template("minimal_observation.opt").await;
        assert!(
            answer.status == 201 || answer.status == 409,
            "{}",
            answer.text()
        );
        let answer = self
            .post_json(
                &format!("{BASE}/ehr/{ehr_id}/composition"),
                &testdata("compositions/minimal_observation.canonical.json"),
                &[],
            )
            .await;
        answer.expect(201);
        answer.etag()
    }
}

/// Declares each listed `async fn name(app: TestApp)` of the including file as a test on
/// SQLite and one on PostgreSQL (skipped without `KITH_TEST_DATABASE_URL`).
#[allow(unused_macros)]
macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::TestApp::new(super::support::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::TestApp::new(super::support::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}
