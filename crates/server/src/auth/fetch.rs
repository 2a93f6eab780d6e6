//! Fetching JSON documents (OpenID discovery, JWKS) over HTTPS, with a timeout and a size
//! limit: the only outgoing HTTP the server makes.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::config::check_fetch_url;

/// A key set or discovery document larger than this is refused: real ones are a few KiB.
const LARGEST_DOCUMENT: usize = 1024 * 1024;

type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Gets JSON documents; the HTTP client is built on first use, so a server whose issuers are
/// all configured from files never loads the system's root certificates.
pub(crate) struct Fetcher {
    timeout: Duration,
    client: OnceLock<HttpClient>,
}

impl Fetcher {
    pub(crate) fn new(timeout: Duration) -> Fetcher {
        Fetcher {
            timeout,
            client: OnceLock::new(),
        }
    }

    /// The document at `url`, which must be HTTPS (or HTTP to this machine); the error is a
    /// sentence for the log.
    pub(crate) async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let uri = check_fetch_url(url)?;
        let request = Request::get(uri)
            .header(header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|error| format!("{url}: {error}"))?;
        let client = self.client.get_or_init(build_client);
        let work = async {
            let response = client
                .request(request)
                .await
                .map_err(|error| format!("{url}: {}", error_chain(&error)))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("{url} answered {status}"));
            }
            let body = Limited::new(response.into_body(), LARGEST_DOCUMENT)
                .collect()
                .await
                .map_err(|error| format!("{url}: reading the answer: {error}"))?
                .to_bytes();
            serde_json::from_slice(&body)
                .map_err(|error| format!("{url} did not answer json: {error}"))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| format!("{url} did not answer within {:?}", self.timeout))?
    }
}

/// rustls with the *ring* provider (named explicitly, so that no other crate's choice of
/// provider can change it) and the operating system's trusted roots, so that an
/// organisation's own certificate authority, installed the usual way, is trusted.
fn build_client() -> HttpClient {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider.clone())
    {
        Ok(builder) => builder,
        Err(error) => {
            tracing::warn!(%error, "no trusted root certificates found; fetching keys over https will fail");
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls)
        }
    };
    let connector = builder.https_or_http().enable_http1().build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// hyper's client errors say little at the top ("client error (Connect)"); the cause says
/// what happened.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
