//! `kith token` end to end: the real binary mints a token into a fresh data directory, and a
//! server trusting that directory's key accepts it.

use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

const SYSTEM_ID: &str = "token.test";

fn kith_token(data_dir: &Path, arguments: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kith"))
        .arg("token")
        .args(arguments)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--system-id", SYSTEM_ID])
        .env_remove("KITH_DATA_DIR")
        .env_remove("KITH_SYSTEM_ID")
        .output()
        .expect("run kith")
}

/// A token `kith token` prints for these arguments (which must be accepted).
fn minted(data_dir: &Path, arguments: &[&str]) -> String {
    let output = kith_token(data_dir, arguments);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The status of `GET` on a protected endpoint with this bearer token, on a server trusting
/// the local tokens of `data_dir`.
async fn status_with(data_dir: &Path, token: &str) -> StatusCode {
    let key = server::auth::LocalSigningKey::load_or_create(data_dir).expect("key");
    let authentication = server::auth::Authenticator::new(
        &server::auth::AuthenticationConfig::default(),
        Some((SYSTEM_ID, &key)),
    )
    .expect("authenticator");
    status_of(authentication, &format!("Bearer {token}")).await
}

async fn status_of(authentication: server::auth::Authenticator, authorization: &str) -> StatusCode {
    let store_dir = tempfile::tempdir().unwrap();
    let store = store::open_store(None, store_dir.path()).await.unwrap();
    let config = server::Config {
        system_id: SYSTEM_ID.into(),
        admin_token: "admin".into(),
        body_limit: server::DEFAULT_BODY_LIMIT,
        aql_evaluation_limit: server::DEFAULT_AQL_EVALUATION_LIMIT,
        query_timeout: server::DEFAULT_QUERY_TIMEOUT,
        authentication,
        trusted_proxies: server::client::TrustedProxies::default(),
    };
    let app = server::app(server::AppState::new(store, config).await.unwrap());
    let request = Request::get("/rest/openehr/v1/definition/template/adl1.4")
        .header("authorization", authorization)
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn a_minted_token_is_accepted_and_its_key_is_private() {
    let data_dir = tempfile::tempdir().unwrap();
    let token = minted(
        data_dir.path(),
        &[
            "--role",
            "clinician",
            "--org",
            "RRV",
            "--user",
            "dr.jones",
            "--purpose",
            "direct-care",
            "--ttl",
            "30m",
        ],
    );
    assert_eq!(token.split('.').count(), 3, "{token}");
    assert_eq!(status_with(data_dir.path(), &token).await, StatusCode::OK);
    // A server with another data directory's key does not accept it.
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(
        status_with(elsewhere.path(), &token).await,
        StatusCode::UNAUTHORIZED
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.path().join("token-signing-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the signing key is readable by others");
    }
    // The key is made once: a second token is signed by the same key.
    let patient_token = minted(
        data_dir.path(),
        &[
            "--role",
            "patient",
            "--user",
            "p1",
            "--nhs-number",
            "9434765919",
        ],
    );
    assert_eq!(
        status_with(data_dir.path(), &patient_token).await,
        StatusCode::OK
    );
}

#[test]
fn refuses_tokens_it_must_not_mint() {
    let data_dir = tempfile::tempdir().unwrap();
    for (arguments, expected) in [
        (
            vec![
                "--role",
                "clinician",
                "--org",
                "RRV",
                "--user",
                "u",
                "--ttl",
                "31d",
            ],
            "at most 30 days",
        ),
        (
            vec!["--role", "patient", "--user", "p1"],
            "needs the patient's nhs number",
        ),
        (
            vec!["--role", "patient", "--user", "p1", "--nhs-number", "12345"],
            "not an nhs number",
        ),
        (
            vec!["--role", "clinician", "--user", "u"],
            "--org is required",
        ),
        (
            vec!["--role", "surgeon", "--org", "RRV", "--user", "u"],
            "not a kith role",
        ),
        (
            vec![
                "--role",
                "clinician",
                "--org",
                "RRV",
                "--user",
                "u",
                "--ttl",
                "8 hours",
            ],
            "--ttl",
        ),
        (
            vec![
                "--role",
                "clinician",
                "--org",
                "RRV",
                "--user",
                "u",
                "--purpose",
                "marketing",
            ],
            "not a purpose of use",
        ),
    ] {
        let output = kith_token(data_dir.path(), &arguments);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{arguments:?} was accepted");
        assert!(output.stdout.is_empty(), "{arguments:?} printed a token");
        assert!(stderr.contains(expected), "{arguments:?}: {stderr}");
    }
}

#[tokio::test]
async fn hashes_a_password_from_standard_input() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kith"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run kith");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let hash = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    // The hash is one the server accepts for a Basic user, with that password only.
    let config = server::auth::AuthenticationConfig::from_json(
        &serde_json::json!({"users": [{"user": "client", "password_hash": hash, "role": "system", "organisation": "RRV"}]})
            .to_string(),
        Path::new("auth.json"),
    )
    .unwrap();
    for (password, expected) in [
        ("correct horse", StatusCode::OK),
        ("correct horse\n", StatusCode::UNAUTHORIZED),
        ("wrong", StatusCode::UNAUTHORIZED),
    ] {
        use base64::Engine;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("client:{password}"));
        let authentication = server::auth::Authenticator::new(&config, None).unwrap();
        assert_eq!(
            status_of(authentication, &format!("Basic {credentials}")).await,
            expected,
            "{password:?}"
        );
    }
}
