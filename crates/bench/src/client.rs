//! A thin HTTP client for the openEHR REST API: one keep-alive connection per benchmark
//! client, bearer token on every request, and answers checked against the one status
//! each call expects.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub const API: &str = "/rest/openehr/v1";

/// A received answer: status, ETag without its quotes, body.
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    /// The `db` entry of `Server-Timing` in milliseconds (query answers carry it).
    pub database_ms: Option<f64>,
    pub body: Bytes,
}

/// One benchmark client. Each has its own hyper client, hence its own pool and its own
/// connection, so N clients really are N concurrent connections as N users would be.
#[derive(Clone)]
pub struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    authorization: HeaderValue,
}

impl Api {
    pub fn new(address: &str, token: &str) -> anyhow::Result<Api> {
        let mut connector = HttpConnector::new();
        // Small requests on a kept-alive connection: Nagle would add delayed-ACK stalls.
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(Duration::from_secs(300))
            .build(connector);
        Ok(Api {
            client,
            base: format!("http://{address}"),
            authorization: HeaderValue::from_str(&format!("Bearer {token}"))
                .context("the token is not a valid header value")?,
        })
    }

    /// Sends one request and reads the whole answer body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&'static str>,
        if_match: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<Answer> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header(header::AUTHORIZATION, self.authorization.clone());
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(version_uid) = if_match {
            builder = builder.header(header::IF_MATCH, format!("\"{version_uid}\""));
        }
        let request = builder.body(Full::new(body))?;
        let response = self.client.request(request).await?;
        let status = response.status();
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(|value| {
                value
                    .trim()
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .to_owned()
            });
        let database_ms = response
            .headers()
            .get("server-timing")
            .and_then(|value| value.to_str().ok())
            .and_then(|timing| {
                timing
                    .split(',')
                    .find_map(|entry| entry.trim().strip_prefix("db;dur="))
                    .and_then(|duration| duration.parse().ok())
            });
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            etag,
            database_ms,
            body,
        })
    }

    /// Sends one request and fails unless the status is `expected`; the error quotes the
    /// start of the body, which is where the server says what it disliked.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&'static str>,
        if_match: Option<&str>,
        body: Bytes,
        expected: StatusCode,
    ) -> anyhow::Result<Answer> {
        let description = format!("{method} {path}");
        let answer = self
            .send(method, path, content_type, if_match, body)
            .await?;
        if answer.status != expected {
            let text = String::from_utf8_lossy(&answer.body);
            let excerpt: String = text.chars().take(400).collect();
            bail!(
                "{description} answered {} where {} was expected: {excerpt}",
                answer.status,
                expected
            );
        }
        Ok(answer)
    }

    /// The ETag of an answer, which must be there.
    pub fn etag_of(answer: &Answer, what: &str) -> anyhow::Result<String> {
        answer
            .etag
            .clone()
            .ok_or_else(|| anyhow!("{what} answered without an ETag"))
    }

    /// `GET /health` until it answers 200, returning how long that took from `since`.
    pub async fn wait_healthy(&self, since: Instant, limit: Duration) -> anyhow::Result<Duration> {
        loop {
            let request =
                Request::get(format!("{}/health", self.base)).body(Full::new(Bytes::new()))?;
            if let Ok(response) = self.client.request(request).await
                && response.status() == StatusCode::OK
            {
                return Ok(since.elapsed());
            }
            if since.elapsed() > limit {
                bail!("the server did not answer GET /health with 200 within {limit:?}");
            }
            // Short enough not to inflate the cold start noticeably.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}
