//! `kith serve` as the brief names it: flags and environment, the generated admin token
//! (mode 0600, its path logged, the token never), health without a token, 401 without one.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A bare HTTP/1.1 exchange; returns the status code.
fn status_of(port: u16, path: &str, token: Option<&str>) -> Option<u16> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{authorization}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

fn wait_healthy(port: u16) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if status_of(port, "/health", None) == Some(200) {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("kith did not become healthy");
}

fn stop(mut child: Child) -> String {
    child.kill().ok();
    child.wait().ok();
    let mut log = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut log).ok();
    }
    log
}

#[test]
fn serve_generates_a_private_admin_token_and_never_logs_it() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let data = data_dir.path().join("data");
    let port = free_port();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_kith"))
            .arg("serve")
            .env("KITH_LISTEN", format!("127.0.0.1:{port}"))
            .env("KITH_DATA_DIR", &data)
            .env("KITH_SYSTEM_ID", "serve.test")
            .env_remove("KITH_ADMIN_TOKEN")
            .env_remove("KITH_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kith")
    };
    let child = start();
    wait_healthy(port);
    let token_path = data.join("admin-token");
    let token = std::fs::read_to_string(&token_path)
        .expect("token file")
        .trim()
        .to_owned();
    assert_eq!(token.len(), 64, "a 256-bit token in hex");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the token file is private");
    }
    assert!(
        data.join("kith.db").exists(),
        "sqlite lives in the data directory"
    );
    assert_eq!(status_of(port, "/rest/status", None), Some(200));
    assert_eq!(
        status_of(port, "/rest/openehr/v1/definition/template/adl1.4", None),
        Some(401)
    );
    assert_eq!(
        status_of(
            port,
            "/rest/openehr/v1/definition/template/adl1.4",
            Some("wrong")
        ),
        Some(401)
    );
    assert_eq!(
        status_of(
            port,
            "/rest/openehr/v1/definition/template/adl1.4",
            Some(&token)
        ),
        Some(200)
    );
    let log = stop(child);
    assert!(
        log.contains("admin-token"),
        "the log names the token file: {log}"
    );
    assert!(!log.contains(&token), "the token must never be logged");

    // A restart keeps the same token.
    let child = start();
    wait_healthy(port);
    assert_eq!(
        status_of(
            port,
            "/rest/openehr/v1/definition/template/adl1.4",
            Some(&token)
        ),
        Some(200)
    );
    let log = stop(child);
    assert!(!log.contains(&token));
    assert_eq!(std::fs::read_to_string(&token_path).unwrap().trim(), token);
}

#[test]
fn kith_admin_token_overrides_the_file() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--system-id",
            "flag.test",
        ])
        .arg("--data-dir")
        .arg(data_dir.path())
        .env("KITH_ADMIN_TOKEN", "from-the-environment")
        .env_remove("KITH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kith");
    wait_healthy(port);
    assert_eq!(
        status_of(
            port,
            "/rest/openehr/v1/definition/template/adl1.4",
            Some("from-the-environment")
        ),
        Some(200)
    );
    assert!(
        !data_dir.path().join("admin-token").exists(),
        "no file when the environment gives the token"
    );
    let log = stop(child);
    assert!(
        !log.contains("from-the-environment"),
        "the token must never be logged"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_down_gracefully() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir.path())
        .env("KITH_ADMIN_TOKEN", "sigterm-test")
        .env_remove("KITH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kith");
    wait_healthy(port);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "kith ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "a graceful shutdown exits 0: {status:?}");
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).ok();
    assert!(log.contains("shutting down"), "{log}");
}

#[test]
fn template_commands_check_and_print_templates() {
    let template = format!(
        "{}/../../testdata/templates/minimal_observation.opt",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["template", "validate", &template])
        .output()
        .expect("run");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("minimal_observation.en.v1"));

    let output = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["template", "web-template", &template])
        .output()
        .expect("run");
    assert!(output.status.success());
    let web_template: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(web_template["templateId"], "minimal_observation.en.v1");

    // A broken OPT: exit status 1 and the parser's message naming the file.
    let directory = tempfile::tempdir().expect("tempdir");
    let broken = directory.path().join("broken.opt");
    std::fs::write(&broken, "<template><concept>x</concept></template>").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["template", "validate"])
        .arg(&broken)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("broken.opt") && message.contains("template_id"),
        "{message}"
    );
}

#[test]
fn composition_validate_gives_the_api_messages() {
    let testdata = format!("{}/../../testdata", env!("CARGO_MANIFEST_DIR"));
    let template = format!("{testdata}/templates/Test_all_types.opt");
    let valid = format!("{testdata}/compositions/all_types_systematic_tests.valid.canonical.json");
    let output = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["composition", "validate", "--template", &template, &valid])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("conforms to template test_all_types.en.v1")
    );

    let invalid = format!("{testdata}/compositions/all_types_systematic_tests.canonical.json");
    let output = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["composition", "validate", "--template", &template, &invalid])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0019]/value/uri/value: \"www.iana.org\" is not a valid uri"), "{errors}");
    assert!(errors.contains("4 violations"), "{errors}");
}
