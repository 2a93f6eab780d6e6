//! The `kith` binary: `kith serve` runs the platform; `kith seed` fills a store with a
//! synthetic population; `kith template` and `kith composition` check files offline;
//! `kith token` mints a local token and `kith hash-password` hashes a Basic user's password.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's allocator: a commit allocates and frees thousands of small
/// objects (the RM tree, its JSON, the query rows) on one runtime thread and often drops
/// them on another, and glibc spent 15 % of `kith seed`'s instructions on it (callgrind,
/// BENCHMARKS.md "Bulk load").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kith",
    version,
    about = "Kith: an open health and care record platform on openEHR"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Fill the store with a synthetic population, reproducible from the seed, through the
    /// commit path the REST API uses.
    Seed(SeedArgs),
    /// Work with operational templates offline.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Work with compositions offline.
    #[command(subcommand)]
    Composition(CompositionCommand),
    /// Print a local token (a JWT signed by the key in the data directory) for development
    /// and integration.
    Token(TokenArgs),
    /// Read a password from standard input and print its Argon2id hash (a PHC string) for
    /// a Basic user in the authentication configuration.
    HashPassword,
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit trail's hash chain from its first event to its last; exit status 1
    /// and the first broken link if any event was changed, removed, inserted or reordered.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// A head printed by an earlier run (`SEQ:HASH`): the trail must still contain that event
    /// with that hash, which shows that no event up to it was cut from the end since.
    #[arg(long)]
    expect_head: Option<String>,
}

#[derive(clap::Args)]
struct StoreArgs {
    /// Directory of the embedded database.
    #[arg(long, env = "KITH_DATA_DIR", default_value = "./kith-data")]
    data_dir: PathBuf,
    /// A postgres:// URL selects PostgreSQL; without it Kith uses SQLite in the data directory.
    #[arg(long, env = "KITH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// The role, as a Kith role code (clinician, nurse, care-worker, administrative,
    /// patient, proxy, system, administrator).
    #[arg(long)]
    role: String,
    /// The caller's organisation code (for example an ODS code); required except for the
    /// patient and proxy roles.
    #[arg(long)]
    org: Option<String>,
    /// The organisation's type, as a Kith code (gp-practice, acute-hospital, ...).
    #[arg(long)]
    org_type: Option<String>,
    /// The user id.
    #[arg(long)]
    user: String,
    /// The caller's own NHS number; required for the patient role.
    #[arg(long)]
    nhs_number: Option<String>,
    /// A purpose of use the token fixes (direct-care, emergency-care, own-access, research,
    /// population-health); without it, requests name theirs in the Kith-Purpose header.
    #[arg(long)]
    purpose: Option<String>,
    /// How long the token lives: 30m, 8h, 7d (at most 30 days).
    #[arg(long, default_value = "8h")]
    ttl: String,
    /// Directory of the signing key (created there on first use).
    #[arg(long, env = "KITH_DATA_DIR", default_value = "./kith-data")]
    data_dir: PathBuf,
    /// The system id of the server that is to accept the token.
    #[arg(long, env = "KITH_SYSTEM_ID", default_value = "kith.local")]
    system_id: String,
}

#[derive(Subcommand)]
enum CompositionCommand {
    /// Validate a composition (canonical JSON, or XML by its .xml extension) against an OPT,
    /// with the messages the API gives; exit status 1 if it does not conform.
    Validate {
        #[arg(long)]
        template: PathBuf,
        composition: PathBuf,
    },
}

#[derive(Subcommand)]
enum TemplateCommand {
    /// Check that an OPT parses as the server would; exit status 1 and the message if not.
    Validate { file: PathBuf },
    /// Print the web template of an OPT as JSON.
    WebTemplate { file: PathBuf },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KITH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the embedded database and the generated admin token.
    #[arg(long, env = "KITH_DATA_DIR", default_value = "./kith-data")]
    data_dir: PathBuf,
    /// A postgres:// URL selects PostgreSQL; without it Kith uses SQLite in the data directory.
    #[arg(long, env = "KITH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The system id written into version ids (uuid::system_id::1) and audit details.
    #[arg(long, env = "KITH_SYSTEM_ID", default_value = "kith.local")]
    system_id: String,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "KITH_BODY_LIMIT", default_value_t = server::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// The most EHRs an AQL query that does not compile to SQL may read the documents of.
    #[arg(long, env = "KITH_AQL_EVALUATION_LIMIT", default_value_t = server::DEFAULT_AQL_EVALUATION_LIMIT)]
    aql_evaluation_limit: usize,
    /// Seconds an AQL query may run before it is abandoned with a 408.
    #[arg(long, env = "KITH_QUERY_TIMEOUT", default_value_t = server::DEFAULT_QUERY_TIMEOUT.as_secs())]
    query_timeout: u64,
    /// The proxies in front of Kith, as IP networks (10.0.0.0/8, ::1/128, or a bare
    /// address), comma-separated: from these peers the audit trail records the client named
    /// in X-Forwarded-For. Without it the header is ignored and the peer is recorded.
    #[arg(long, env = "KITH_TRUSTED_PROXIES", value_name = "NETWORKS")]
    trusted_proxies: Option<server::client::TrustedProxies>,
    /// A JSON file of trusted token issuers and Basic users (docs/authentication.md).
    #[arg(long, env = "KITH_AUTH_CONFIG")]
    auth_config: Option<PathBuf>,
    /// Whether tokens minted by `kith token` with this data directory's key are accepted;
    /// false for deployments that trust only their OpenID Connect issuer.
    #[arg(long, env = "KITH_LOCAL_TOKENS", default_value_t = true, action = clap::ArgAction::Set)]
    local_tokens: bool,
    /// A JSON file of data categories (which templates and archetypes are mental health,
    /// sexual health, safeguarding...; docs/access.md). Without it the three sensitive
    /// categories exist with no members.
    #[arg(long, env = "KITH_CATEGORIES")]
    categories: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SeedArgs {
    /// How many people to create (one EHR each).
    #[arg(long)]
    people: u64,
    /// The same seed gives the same people, ids and compositions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The mean number of compositions per person; most people have a few, some many.
    #[arg(long, default_value_t = 10.0)]
    compositions_per_person: f64,
    /// How many commits are in flight at once; more means larger SQLite group commits.
    #[arg(long, default_value_t = 2048)]
    concurrency: usize,
    /// Directory of the embedded database.
    #[arg(long, env = "KITH_DATA_DIR", default_value = "./kith-data")]
    data_dir: PathBuf,
    /// A postgres:// URL selects PostgreSQL; without it Kith uses SQLite in the data directory.
    #[arg(long, env = "KITH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The system id written into version ids and audit details.
    #[arg(long, env = "KITH_SYSTEM_ID", default_value = "kith.local")]
    system_id: String,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(serve(args)),
        Command::Seed(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(seed(args)),
        Command::Template(command) => template_command(command),
        Command::Composition(command) => composition_command(command),
        Command::Token(args) => token(args),
        Command::HashPassword => hash_password(),
        Command::Audit(AuditCommand::Verify(args)) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(verify_audit(args)),
    }
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    let role = access::Role::from_code(&args.role).with_context(|| {
        format!(
            "--role {} is not a kith role ({})",
            args.role,
            codes(access::Role::ALL.iter().map(|role| role.code()))
        )
    })?;
    let organisation_type = args
        .org_type
        .as_deref()
        .map(|code| {
            access::OrganisationType::from_code(code).with_context(|| {
                format!(
                    "--org-type {code} is not an organisation type ({})",
                    codes(access::OrganisationType::ALL.iter().map(|kind| kind.code()))
                )
            })
        })
        .transpose()?;
    let purpose = args
        .purpose
        .as_deref()
        .map(|code| {
            access::Purpose::from_code(code).with_context(|| {
                format!(
                    "--purpose {code} is not a purpose of use ({})",
                    codes(access::Purpose::ALL.iter().map(|purpose| purpose.code()))
                )
            })
        })
        .transpose()?;
    // People act for themselves; everyone else acts for an organisation.
    let organisation_optional = matches!(role, access::Role::Patient | access::Role::Proxy);
    anyhow::ensure!(
        args.org.is_some() || organisation_optional,
        "--org is required for the {} role",
        role.code()
    );
    let lifetime = server::auth::local::parse_lifetime(&args.ttl)
        .map_err(|message| anyhow::anyhow!("--ttl: {message}"))?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let key = server::auth::LocalSigningKey::load_or_create(&args.data_dir)?;
    let token = key.mint(
        &args.system_id,
        &server::auth::LocalToken {
            user: args.user,
            role,
            organisation: args.org,
            organisation_type,
            nhs_number: args.nhs_number,
            purpose,
            lifetime,
        },
    )?;
    println!("{token}");
    Ok(())
}

fn codes<'a>(codes: impl Iterator<Item = &'a str>) -> String {
    codes.collect::<Vec<_>>().join(", ")
}

fn hash_password() -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    // The line's end is not part of the password; other spaces are.
    let password = password.trim_end_matches(['\n', '\r']);
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    let hash =
        server::auth::hash_password(password.as_bytes()).map_err(|error| anyhow::anyhow!(error))?;
    println!("{hash}");
    Ok(())
}

fn composition_command(command: CompositionCommand) -> anyhow::Result<()> {
    let CompositionCommand::Validate {
        template,
        composition,
    } = command;
    let template = read_template(&template)?;
    let bytes = std::fs::read(&composition)
        .with_context(|| format!("reading {}", composition.display()))?;
    let is_xml = composition
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("xml"));
    let parsed = if is_xml {
        openehr_rm::xml::from_slice_deferring_mandatory(&bytes, "COMPOSITION")
    } else {
        openehr_rm::json::from_slice_deferring_mandatory(&bytes, "COMPOSITION")
    }
    .map_err(|error| anyhow::anyhow!("{}: {error}", composition.display()))?;
    let violations = templates::validate::validate(&template, &parsed);
    if violations.is_empty() {
        parsed
            .check_mandatory_everywhere()
            .map_err(|error| anyhow::anyhow!("{}: {error}", composition.display()))?;
        println!(
            "{}: conforms to template {}",
            composition.display(),
            template.template_id
        );
        return Ok(());
    }
    for violation in &violations {
        eprintln!(
            "{}: {}: {}",
            composition.display(),
            violation.path,
            violation.message
        );
    }
    anyhow::bail!(
        "{} does not conform to template {}: {} violation{}",
        composition.display(),
        template.template_id,
        violations.len(),
        if violations.len() == 1 { "" } else { "s" }
    )
}

/// Reads and parses an OPT, with the same messages as the upload endpoint.
fn read_template(file: &Path) -> anyhow::Result<templates::model::Template> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    templates::opt::parse(&bytes).map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))
}

fn template_command(command: TemplateCommand) -> anyhow::Result<()> {
    match command {
        TemplateCommand::Validate { file } => {
            let template = read_template(&file)?;
            println!(
                "{}: template {} ({}) is valid",
                file.display(),
                template.template_id,
                template.root.node_id
            );
        }
        TemplateCommand::WebTemplate { file } => {
            let template = read_template(&file)?;
            let web_template = templates::web_template::web_template(&template);
            let ordered = templates::web_template::InSdkOrder(&web_template);
            println!("{}", serde_json::to_string_pretty(&ordered)?);
        }
    }
    Ok(())
}

/// The administrator's token: `KITH_ADMIN_TOKEN`, else the one in the data directory,
/// else a new one written there with mode 0600. The token is never logged.
fn admin_token(data_dir: &Path) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("KITH_ADMIN_TOKEN")
        && !token.trim().is_empty()
    {
        tracing::info!("administrator token taken from KITH_ADMIN_TOKEN");
        return Ok(token.trim().to_owned());
    }
    let path = data_dir.join("admin-token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        let token = token.trim().to_owned();
        if !token.is_empty() {
            tracing::info!(path = %path.display(), "administrator token read from file");
            return Ok(token);
        }
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{token}")?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated an administrator token; it is in this file");
    Ok(token)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let token = admin_token(&args.data_dir)?;
    let authentication = authentication(&args)?;
    let categories = match &args.categories {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            access::DataCategories::from_json(&text)
                .with_context(|| format!("reading the data categories in {}", path.display()))?
        }
        None => access::DataCategories::default(),
    };
    let store = store::open_store(args.database_url.as_deref(), &args.data_dir)
        .await
        .context("opening the store")?;
    tracing::info!(backend = store.backend_name(), "store ready");
    let config = server::Config {
        system_id: args.system_id,
        admin_token: token,
        body_limit: args.body_limit,
        aql_evaluation_limit: args.aql_evaluation_limit,
        query_timeout: std::time::Duration::from_secs(args.query_timeout),
        authentication,
        trusted_proxies: args.trusted_proxies.unwrap_or_default(),
    };
    let state = server::AppState::new(store, config)
        .await?
        .with_categories(categories);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, "kith is serving");
    // The peer's address is the audit trail's client address (or the proxy it trusts).
    let app = server::app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// The issuers and users of `--auth-config`, and the local token key unless local tokens
/// are switched off.
fn authentication(args: &ServeArgs) -> anyhow::Result<server::auth::Authenticator> {
    let config = match &args.auth_config {
        Some(path) => server::auth::AuthenticationConfig::from_file(path)?,
        None => server::auth::AuthenticationConfig::default(),
    };
    let local_key = if args.local_tokens {
        Some(server::auth::LocalSigningKey::load_or_create(
            &args.data_dir,
        )?)
    } else {
        None
    };
    let authenticator = server::auth::Authenticator::new(
        &config,
        local_key.as_ref().map(|key| (args.system_id.as_str(), key)),
    )?;
    tracing::info!(
        issuers = ?authenticator.trusted_issuers(),
        basic_users = config.users.len(),
        local_tokens = args.local_tokens,
        "authentication ready"
    );
    Ok(authenticator)
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.compositions_per_person >= 1.0,
        "--compositions-per-person must be at least 1"
    );
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let store = store::open_store(args.database_url.as_deref(), &args.data_dir)
        .await
        .context("opening the store")?;
    let backend = store.backend_name();
    let config = server::Config {
        system_id: args.system_id,
        // Seeding serves no requests, so no token is needed and none is written.
        admin_token: String::new(),
        body_limit: server::DEFAULT_BODY_LIMIT,
        aql_evaluation_limit: server::DEFAULT_AQL_EVALUATION_LIMIT,
        query_timeout: server::DEFAULT_QUERY_TIMEOUT,
        authentication: server::auth::Authenticator::default(),
        trusted_proxies: server::client::TrustedProxies::default(),
    };
    let state = server::AppState::new(store, config).await?;
    let options = kith::seed::SeedOptions {
        people: args.people,
        seed: args.seed,
        compositions_per_person: args.compositions_per_person,
        concurrency: args.concurrency,
        progress_every: Some(std::time::Duration::from_secs(2)),
        ..kith::seed::SeedOptions::default()
    };
    eprintln!(
        "seed: {} people, seed {}, about {} compositions each, on {backend}",
        options.people, options.seed, options.compositions_per_person
    );
    let report = kith::seed::seed(&state, &options).await?;
    let by_template: Vec<String> = report
        .compositions_by_template
        .iter()
        .map(|(template_id, count)| format!("{template_id}: {count}"))
        .collect();
    eprintln!("seed: compositions by template: {}", by_template.join(", "));
    eprintln!(
        "seed: done: {} people, {} compositions in {:.1} s: {:.0} compositions/s ({backend})",
        report.people,
        report.compositions,
        report.elapsed.as_secs_f64(),
        report.compositions_per_second()
    );
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (service managers, containers): requests in
/// flight finish, new connections are refused.
/// `kith audit verify`: reads the trail in pages and checks every link; prints the count and
/// the head hash (keep it elsewhere: a trail cut short at its end still verifies, and only a
/// head recorded earlier shows that).
async fn verify_audit(args: VerifyArgs) -> anyhow::Result<()> {
    const PAGE: u32 = 10_000;
    let expected_head = match &args.expect_head {
        None => None,
        Some(text) => {
            let (seq, hash) = text
                .split_once(':')
                .context("--expect-head is SEQ:HASH, as `kith audit verify` prints it")?;
            let seq: u64 = seq
                .parse()
                .context("the seq of --expect-head is not a number")?;
            Some((seq, hash.to_ascii_lowercase()))
        }
    };
    let store = store::open_store(args.store.database_url.as_deref(), &args.store.data_dir)
        .await
        .context("cannot open the store")?;
    let mut verifier = access::audit::ChainVerifier::new();
    let mut from_seq = 1;
    let mut expected_seen = false;
    loop {
        let rows = store
            .read_audit(&store::AuditFilter {
                from_seq,
                limit: PAGE,
                ..store::AuditFilter::default()
            })
            .await
            .context("cannot read the audit trail")?;
        for row in &rows {
            let event = access::StoredEvent {
                seq: row.seq,
                canonical: row.canonical.clone(),
                hash: row.hash,
            };
            if let Err(broken) = verifier.check(&event) {
                anyhow::bail!("{broken}");
            }
            // The columns the access log and the review list are read by are copies of the
            // hashed event: they must agree with it.
            let (_, parsed) = access::audit::parse_canonical(&row.canonical)
                .map_err(|error| anyhow::anyhow!("event {}: {error}", row.seq))?;
            let person = parsed
                .person
                .as_deref()
                .map(uuid::Uuid::parse_str)
                .transpose()
                .ok()
                .flatten();
            let records: Vec<String> = row.ehr_ids.iter().map(uuid::Uuid::to_string).collect();
            if person != row.person_id
                || parsed.break_glass.is_some() != row.break_glass
                || (parsed.decision == access::AuditDecision::Allow) != row.allowed
                || parsed.user != row.user
                || parsed.records != records
            {
                anyhow::bail!(
                    "the audit trail breaks at event {}: its lookup columns (person, records, break-glass, decision, user) differ from the hashed event",
                    row.seq
                );
            }
            if let Some((seq, hash)) = &expected_head
                && row.seq == *seq
            {
                if access::audit::hex(&row.hash) != *hash {
                    anyhow::bail!("event {seq} does not have the expected head hash");
                }
                expected_seen = true;
            }
        }
        match rows.last() {
            Some(last) if rows.len() == PAGE as usize => from_seq = last.seq + 1,
            _ => break,
        }
    }
    if let Some((seq, _)) = &expected_head
        && !expected_seen
    {
        anyhow::bail!("the trail no longer holds event {seq}: events were cut from its end");
    }
    let verified = verifier.finish();
    println!(
        "audit trail verified: {} events, head {}:{}",
        verified.events,
        verified.events,
        access::audit::hex(&verified.head)
    );
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
