//! Durability: the real `kith` binary is killed with SIGKILL in the middle of a burst of
//! commits and restarted; every commit it acknowledged must be there. Runs on SQLite and,
//! with `KITH_TEST_DATABASE_URL`, on PostgreSQL.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const TOKEN: &str = "durability-test-token";

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn testdata(relative: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn start(data_dir: &std::path::Path, port: u16, database_url: Option<&str>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kith"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env("KITH_ADMIN_TOKEN", TOKEN)
        .env_remove("KITH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    command.spawn().expect("start kith")
}

async fn request(
    client: &HttpClient,
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Option<(u16, String)> {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {TOKEN}"));
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    let response = client
        .request(builder.body(Full::new(Bytes::from(body))).ok()?)
        .await
        .ok()?;
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .trim_matches('"')
        .to_owned();
    response.into_body().collect().await.ok()?;
    Some((status, etag))
}

async fn wait_healthy(client: &HttpClient, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some((200, _)) =
            request(client, "GET", &format!("{base}/health"), None, Vec::new()).await
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("kith did not become healthy");
}

async fn kill_during_burst(database_url: Option<&str>) {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let api = format!("{base}/rest/openehr/v1");
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    let mut child = start(data_dir.path(), port, database_url);
    wait_healthy(&client, &base).await;
    let (status, _) = request(
        &client,
        "POST",
        &format!("{api}/definition/template/adl1.4"),
        Some("application/xml"),
        testdata("templates/minimal_observation.opt"),
    )
    .await
    .expect("upload");
    assert_eq!(status, 201);
    let (status, ehr_id) = request(&client, "POST", &format!("{api}/ehr"), None, Vec::new())
        .await
        .expect("ehr");
    assert_eq!(status, 201);

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let composition = testdata("compositions/minimal_observation.canonical.json");
    let mut writers = Vec::new();
    for _ in 0..8 {
        let (client, acknowledged, composition) =
            (client.clone(), acknowledged.clone(), composition.clone());
        let url = format!("{api}/ehr/{ehr_id}/composition");
        writers.push(tokio::spawn(async move {
            // Writes until the server dies under it.
            while let Some((status, uid)) = request(
                &client,
                "POST",
                &url,
                Some("application/json"),
                composition.clone(),
            )
            .await
            {
                assert_eq!(status, 201, "commit refused");
                acknowledged.lock().unwrap().push(uid);
            }
        }));
    }
    // Let the burst run, then cut the power.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < 300 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    for writer in writers {
        writer.await.expect("writer");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 300,
        "only {} commits before the deadline",
        acknowledged.len()
    );

    let fresh: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let mut child = start(data_dir.path(), port, database_url);
    wait_healthy(&fresh, &base).await;
    let mut missing = Vec::new();
    for uid in &acknowledged {
        let (status, _) = request(
            &fresh,
            "GET",
            &format!("{api}/ehr/{ehr_id}/composition/{uid}"),
            None,
            Vec::new(),
        )
        .await
        .expect("read");
        if status != 200 {
            missing.push(uid.clone());
        }
    }
    child.kill().ok();
    child.wait().ok();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged commits are lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    eprintln!(
        "durability: {} acknowledged commits all survived SIGKILL",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_commit_after_sigkill() {
    kill_during_burst(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_commit_after_sigkill() {
    let Ok(admin_url) = std::env::var("KITH_TEST_DATABASE_URL") else {
        eprintln!("skipped: KITH_TEST_DATABASE_URL is not set");
        return;
    };
    let name = format!("kith_durability_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .expect("postgresql is unreachable");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let url = format!(
        "{}/{name}",
        admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin_url)
    );
    kill_during_burst(Some(&url)).await;
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop database");
}
