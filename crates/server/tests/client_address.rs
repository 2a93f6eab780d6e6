//! The audit trail's client address and request id, through a real listener on 127.0.0.1
//! (the peer address only exists there): a forged `X-Forwarded-For` from an untrusted peer
//! is not recorded, a trusted proxy's is, and a request id that is not a plain token is
//! replaced. SQLite, and PostgreSQL when `KITH_TEST_DATABASE_URL` is set.

mod support;

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use server::client::TrustedProxies;
use support::{Backend, TOKEN, TestApp};

/// Declares each listed `async fn name(backend: Backend)` as a test on SQLite and one on
/// PostgreSQL (skipped without `KITH_TEST_DATABASE_URL`).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_forged_forwarded_for_from_an_untrusted_peer_is_not_recorded,
    behind_a_trusted_proxy_the_forwarded_client_is_recorded,
    a_request_id_that_is_not_a_plain_token_is_replaced,
);

/// The app served on 127.0.0.1 as `kith serve` serves it (with the peer's address), and a
/// client for it.
struct Served {
    address: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    _app: TestApp,
}

struct Reply {
    status: StatusCode,
    request_id: String,
    body: Value,
}

impl Served {
    /// None when the backend is not available (PostgreSQL without its URL).
    async fn start(backend: Backend, trusted_proxies: &str) -> Option<Served> {
        let trusted_proxies = TrustedProxies::parse(trusted_proxies).expect("trusted proxies");
        let app = TestApp::with_config(backend, |config| {
            config.trusted_proxies = trusted_proxies;
        })
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let service = app
            .router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, service).await;
        });
        Some(Served {
            address,
            client: Client::builder(TokioExecutor::new()).build_http(),
            _app: app,
        })
    }

    /// A request as the administrator with these extra headers (repeated names are sent
    /// as repeated headers).
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.address))
            .header("authorization", format!("Bearer {TOKEN}"));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = body.map(|body| body.to_string()).unwrap_or_default();
        let response = self
            .client
            .request(request.body(Full::from(body)).expect("request"))
            .await
            .expect("the server answers");
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .expect("every answer names its request id")
            .to_str()
            .expect("ascii")
            .to_owned();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).expect("a json body")
        };
        Reply {
            status,
            request_id,
            body,
        }
    }

    /// Registers a person (an event about them); returns the reply.
    async fn register(&self, headers: &[(&str, &str)]) -> Reply {
        let person = json!({"nhs_number": "9434765919", "name": {"family": "Smith"}});
        let reply = self
            .send(Method::POST, "/api/v1/people", headers, Some(person))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply
    }

    /// Reads the person (an event about them); returns the reply.
    async fn read(&self, person_id: &str, headers: &[(&str, &str)]) -> Reply {
        let reply = self
            .send(
                Method::GET,
                &format!("/api/v1/people/{person_id}"),
                headers,
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply
    }

    /// The whole trail, oldest first.
    async fn audit_trail(&self) -> Vec<Value> {
        let reply = self.send(Method::GET, "/api/v1/audit", &[], None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["events"].as_array().expect("events").clone()
    }

    /// The one event of the request with this id.
    async fn event(&self, request_id: &str) -> Value {
        let events: Vec<Value> = self
            .audit_trail()
            .await
            .into_iter()
            .filter(|event| event["request_id"] == request_id)
            .collect();
        assert_eq!(
            events.len(),
            1,
            "events of request {request_id}: {events:?}"
        );
        events[0].clone()
    }
}

async fn a_forged_forwarded_for_from_an_untrusted_peer_is_not_recorded(backend: Backend) {
    // No trusted proxies, and trusted proxies that do not include the peer.
    for trusted_proxies in ["", "10.0.0.0/8, ::ffff:192.168.0.0/112"] {
        let Some(served) = Served::start(backend, trusted_proxies).await else {
            return;
        };
        let registered = served
            .register(&[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-request-id", "forged-1"),
            ])
            .await;
        assert_eq!(registered.request_id, "forged-1", "a plain id is echoed");
        let event = served.event("forged-1").await;
        assert_eq!(
            event["client_address"], "127.0.0.1",
            "trusting {trusted_proxies:?}"
        );
        assert_eq!(event["action"], "register");
        assert_eq!(event["person"], registered.body["id"]);
    }
}

async fn behind_a_trusted_proxy_the_forwarded_client_is_recorded(backend: Backend) {
    let Some(served) = Served::start(backend, "127.0.0.1/32").await else {
        return;
    };
    // The client sent its own entry; the proxy appended the address it saw.
    let registered = served
        .register(&[("x-forwarded-for", "203.0.113.7, 198.51.100.23")])
        .await;
    let event = served.event(&registered.request_id).await;
    assert_eq!(event["client_address"], "198.51.100.23");
    let person_id = registered.body["id"]
        .as_str()
        .expect("person id")
        .to_owned();

    // Two proxies, each adding a header: trusted hops are skipped from the right.
    let read = served
        .read(
            &person_id,
            &[
                ("x-forwarded-for", "203.0.113.7, 2001:db8::24"),
                ("x-forwarded-for", "127.0.0.1"),
            ],
        )
        .await;
    let event = served.event(&read.request_id).await;
    assert_eq!(event["client_address"], "2001:db8::24");
    assert_eq!(event["person"], person_id.as_str());

    // What is not an address is never recorded: the last trusted hop is.
    let read = served
        .read(&person_id, &[("x-forwarded-for", "<script>, 127.0.0.1")])
        .await;
    assert_eq!(
        served.event(&read.request_id).await["client_address"],
        "127.0.0.1"
    );

    // A trusted proxy that forwards nothing is itself the address known.
    let read = served.read(&person_id, &[]).await;
    assert_eq!(
        served.event(&read.request_id).await["client_address"],
        "127.0.0.1"
    );
}

async fn a_request_id_that_is_not_a_plain_token_is_replaced(backend: Backend) {
    let Some(served) = Served::start(backend, "").await else {
        return;
    };
    let registered = served.register(&[]).await;
    let person_id = registered.body["id"]
        .as_str()
        .expect("person id")
        .to_owned();
    let too_long = "a".repeat(129);
    for bad in ["<script>alert(1)</script>", "two words", too_long.as_str()] {
        let read = served.read(&person_id, &[("x-request-id", bad)]).await;
        assert_ne!(read.request_id, bad);
        uuid::Uuid::parse_str(&read.request_id).expect("a fresh uuid in its place");
        let event = served.event(&read.request_id).await;
        assert_eq!(event["person"], person_id.as_str());
        assert!(
            served
                .audit_trail()
                .await
                .iter()
                .all(|event| event["request_id"] != bad),
            "{bad:?} is in the trail"
        );
    }
    let kept = "trace/7f3a:span@edge+1=ok.x_y-z";
    let read = served.read(&person_id, &[("x-request-id", kept)]).await;
    assert_eq!(read.request_id, kept);
    served.event(kept).await;
}
