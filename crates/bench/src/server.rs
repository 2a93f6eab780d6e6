//! The server under test: spawns the real `kith` binary on a free port with a fresh data
//! directory (and, for PostgreSQL, a fresh database it creates and drops), times its cold
//! start, reads its memory from /proc and stops it the way an operator would.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::client::Api;
use crate::machine::proc_field_kib;

/// Which store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// A PostgreSQL database made for one run and dropped afterwards, so runs never see
/// each other's rows and the size of the database is the size of what the run wrote.
pub struct ScratchDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl ScratchDatabase {
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<ScratchDatabase> {
        let name = format!("{prefix}_{}", random_hex(6)?);
        let admin = connect(admin_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("creating database {name}"))?;
        Ok(ScratchDatabase {
            admin_url: admin_url.to_owned(),
            url: database_url_with_name(admin_url, &name)?,
            name,
        })
    }

    pub async fn drop_database(self) -> anyhow::Result<()> {
        let admin = connect(&self.admin_url).await?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .with_context(|| format!("dropping database {}", self.name))?;
        Ok(())
    }

    /// `pg_database_size` of this database, in bytes.
    pub async fn size(&self) -> anyhow::Result<u64> {
        let client = connect(&self.url).await?;
        let row = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await?;
        let size: i64 = row.get(0);
        Ok(size as u64)
    }
}

pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; an error then is not news.
        let _ = connection.await;
    });
    Ok(client)
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Replaces the database name of a `postgres://` URL, keeping any query string.
fn database_url_with_name(url: &str, name: &str) -> anyhow::Result<String> {
    let (without_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let Some(scheme_end) = without_query.find("://") else {
        bail!("{} is not a postgres:// url", redact(url));
    };
    let authority_start = scheme_end + 3;
    let host_part = match without_query[authority_start..].find('/') {
        Some(slash) => &without_query[..authority_start + slash],
        None => without_query,
    };
    Ok(match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    })
}

/// A running `kith serve`.
pub struct RunningServer {
    child: Child,
    pub pid: u32,
    pub address: String,
    pub token: String,
    pub cold_start: Duration,
}

impl RunningServer {
    /// Spawns the server and waits for `GET /health` to answer 200.
    pub async fn start(
        binary: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        token: &str,
        log: &Path,
    ) -> anyhow::Result<RunningServer> {
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening the server log {}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg("--listen")
            .arg(&address)
            .arg("--data-dir")
            .arg(data_dir)
            .env("KITH_ADMIN_TOKEN", token)
            // Logging every request would measure the terminal, not the server.
            .env("RUST_LOG", "warn")
            .env_remove("KITH_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true);
        if let Some(url) = database_url {
            command.arg("--database-url").arg(url);
        }
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let api = Api::new(&address, token)?;
        let mut server = RunningServer {
            child,
            pid,
            address,
            token: token.to_owned(),
            cold_start: Duration::ZERO,
        };
        let waited = tokio::select! {
            waited = api.wait_healthy(started, Duration::from_secs(60)) => waited,
            status = server.child.wait() => {
                bail!("the server exited during start ({}); see {}", status?, log.display())
            }
        };
        server.cold_start = waited.with_context(|| format!("see {}", log.display()))?;
        Ok(server)
    }

    pub fn api(&self) -> anyhow::Result<Api> {
        Api::new(&self.address, &self.token)
    }

    /// Resident memory now (VmRSS), in KiB.
    pub fn resident_kib(&self) -> anyhow::Result<u64> {
        self.status_field("VmRSS")
    }

    /// The most resident memory the process ever had (VmHWM), in KiB.
    pub fn peak_resident_kib(&self) -> anyhow::Result<u64> {
        self.status_field("VmHWM")
    }

    fn status_field(&self, name: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .context("reading the server's /proc status")?;
        proc_field_kib(&status, name).with_context(|| format!("no {name} in /proc status"))
    }

    /// Stops the server with SIGINT, as Ctrl-C would, so it shuts down gracefully and the
    /// store closes its files; kills it if it has not exited within 30 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let signalled = std::process::Command::new("kill")
            .args(["-INT", &self.pid.to_string()])
            .status()
            .context("running kill -INT")?;
        if !signalled.success() {
            bail!("kill -INT {} failed", self.pid);
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    eprintln!("warning: the server exited with {status} after SIGINT");
                }
                Ok(())
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("the server did not stop within 30 s of SIGINT and was killed")
            }
        }
    }
}

/// A port nobody listens on now. The tiny race until the server binds is acceptable for a
/// benchmark on a machine we are the only tenant of for this port range.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Bytes of the SQLite database in `data_dir`: the main file plus its write-ahead log.
pub fn sqlite_size(data_dir: &Path) -> (u64, u64) {
    let size = |name: &str| {
        std::fs::metadata(data_dir.join(name))
            .map(|metadata| metadata.len())
            .unwrap_or(0)
    };
    (size("kith.db"), size("kith.db-wal"))
}

/// Bytes of the SQLite database once its write-ahead log has been checkpointed into the
/// main file and truncated. The server keeps up to 64 MiB of WAL around between
/// checkpoints (journal_size_limit), pages written many times over, so main file plus WAL
/// measures churn rather than what is stored. Only call this with the server stopped.
pub fn sqlite_checkpointed_size(data_dir: &Path) -> anyhow::Result<u64> {
    let path = data_dir.join("kith.db");
    checkpoint(&path)?;
    Ok(std::fs::metadata(&path)?.len())
}

/// Checkpoints and truncates the WAL of the SQLite database at `path`.
pub fn checkpoint(path: &Path) -> anyhow::Result<()> {
    let connection = rusqlite::Connection::open(path)
        .with_context(|| format!("opening {} to checkpoint it", path.display()))?;
    let busy: i64 =
        connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
    anyhow::ensure!(
        busy == 0,
        "the checkpoint of {} was blocked",
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_and_query_kept() {
        assert_eq!(
            database_url_with_name("postgres://postgres@127.0.0.1:5432/postgres", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            database_url_with_name("postgres://u:p@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            database_url_with_name("postgres://h:5432", "x").unwrap(),
            "postgres://h:5432/x"
        );
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u@h/db");
    }
}
