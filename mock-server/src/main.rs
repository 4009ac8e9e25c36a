//! `mor-mock`: the command line over the `mock_server` library. Parses the fixed flags of
//! PRODUCT.md, loads scenario files (a bad one prints `file:line: ...` and exits 2), serves until
//! Ctrl-C, and reloads scenario files when they change on disk (a bad edit keeps the old state).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{CommandFactory, Parser};
use mock_server::config::{parse_clock, AdminToken, ConfigError};
use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::scenario::Scenario;
use mock_server::model::settings::SettingsPatch;
use mock_server::{Defect, MockConfig, MockServer, Shared};

/// The allocator (`mor-alloc`: mimalloc; see the README's edge benchmark: it pays per request at
/// an RSS under target).
#[global_allocator]
static ALLOCATOR: mor_alloc::MiMalloc = mor_alloc::MiMalloc;

/// Exit code: the command line is wrong.
const EXIT_USAGE: u8 = 1;
/// Exit code: a scenario or catalogue file is invalid.
const EXIT_INVALID: u8 = 2;
/// Exit code: the server could not start (address in use, ...).
const EXIT_RUNTIME: u8 = 3;

/// A local twin of the Kolmisoft MOR / M2 / M4 legacy XML billing API.
#[derive(Debug, Parser)]
#[command(name = "mor-mock", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free port (the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Product to mock: mor, m4 (m2 is an alias of m4).
    #[arg(long, default_value = "m4")]
    product: Product,
    /// The admin's API Secret Key.
    #[arg(
        long,
        default_value = "secret",
        env = "MOR_MOCK_API_SECRET",
        hide_env_values = true
    )]
    api_secret: String,
    /// Turn "Allow GET API" on.
    #[arg(long)]
    allow_get: bool,
    /// Turn "Allow API globally" off.
    #[arg(long)]
    disable_api: bool,
    /// Turn "Disable hash checking" on.
    #[arg(long)]
    disable_hash_check: bool,
    /// Scenario file laid over the defaults (repeatable, applied in order; reloaded on change).
    #[arg(long = "scenario", value_name = "FILE")]
    scenarios: Vec<PathBuf>,
    /// A server generation's quirk positions, all at once (`x3`, `wiki-2024` for mor; `m4`):
    /// laid under the scenario files, whose quirks win. Without it, the defaults.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Seed of the generated default world.
    #[arg(long)]
    seed: Option<u64>,
    /// Pin the clock: "YYYY-MM-DD HH:MM:SS" (UTC).
    #[arg(long)]
    clock: Option<String>,
    /// Explain hash mismatches in an X-Mor-Mock-Explain response header.
    #[arg(long)]
    explain: bool,
    /// An extra catalogue file adding or replacing methods.
    #[arg(long, value_name = "FILE")]
    catalogue: Option<PathBuf>,
    /// Start from a generated world the scenario suite has never seen (ids, usernames, owners,
    /// rates differ with SEED) instead of the default world.
    #[arg(long, value_name = "SEED")]
    unseen_world: Option<u64>,
    /// File holding the admin API token (or set MOR_MOCK_ADMIN_TOKEN; never on the command
    /// line). Required to use the admin API when --bind is not a loopback address.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// Test only: switch one deliberate defect on, to measure the conformance suite (names:
    /// mock_server::defect::Defect).
    #[arg(long, value_name = "NAME", hide = true, hide_possible_values = true)]
    defect: Option<Defect>,
    /// Forward every API request to this deployment (its base URL, as a runner's target file
    /// gives it: `https://host/billing`) and return its answers unchanged, checking each
    /// exchange against the catalogue: deviations of the client's request (hash recomputed with
    /// MOR_PROXY_SECRET or --proxy-secret-file) and of the server's answer are journalled,
    /// listed by GET /__admin/proxy and summarised at shutdown.
    #[arg(long, value_name = "BASE_URL")]
    proxy: Option<String>,
    /// File holding the API secret the proxy recomputes hashes with (or set MOR_PROXY_SECRET;
    /// never on the command line). Without either, hashes are not checked.
    #[arg(long, value_name = "FILE", requires = "proxy")]
    proxy_secret_file: Option<PathBuf>,
    /// The username whose requests the proxy treats as the System Admin's.
    #[arg(long, value_name = "NAME", default_value = "admin", requires = "proxy")]
    proxy_admin: String,
    /// With --proxy: write what the proxy saw into DIR/proxy-recording.yaml, a scenario that
    /// `mor-mock --scenario` serves offline (hash, passwords, other credentials, digests and
    /// the secret left out); rewritten at most once a second and at shutdown.
    #[arg(long, value_name = "DIR", requires = "proxy")]
    record: Option<PathBuf>,
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell) and
    /// exit.
    #[arg(long, value_name = "SHELL", exclusive = true)]
    completions: Option<mock_server::cli_docs::Shell>,
    /// Print the man page (roff) and exit: `mor-mock --man > mor-mock.1`.
    #[arg(long, exclusive = true)]
    man: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // A closed pipe (`| head`) ends the output quietly.
    if let Some(shell) = cli.completions {
        let _ =
            mock_server::cli_docs::completions(shell, &mut Cli::command(), &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    if cli.man {
        let _ = mock_server::cli_docs::man_page(Cli::command(), &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mor-mock: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    runtime.block_on(serve(cli))
}

fn config_of(cli: &Cli) -> Result<(MockConfig, Catalogue), ConfigError> {
    let mut config = MockConfig::new(cli.product).bind(cli.bind);
    config.settings = SettingsPatch {
        api_secret: Some(cli.api_secret.clone()),
        allow_get: cli.allow_get.then_some(true),
        api_enabled: cli.disable_api.then_some(false),
        hash_check: cli.disable_hash_check.then_some(false),
        ..SettingsPatch::default()
    };
    if let Some(name) = &cli.profile {
        let profile = mock_server::model::profile::Profiles::embedded()
            .get(cli.product, name)
            .map_err(ConfigError::Profile)?;
        config = config.quirks(profile.patch());
    }
    config.seed = cli.seed;
    config.clock = cli.clock.as_deref().map(parse_clock).transpose()?;
    config.explain = cli.explain;
    config.catalogue_file = cli.catalogue.clone();
    config.unseen_world = cli.unseen_world;
    config.defect = cli.defect;
    config.admin_token = admin_token(cli.admin_token_file.as_deref())?;
    if let Some(base) = &cli.proxy {
        config.proxy = Some(mock_server::proxy::ProxyConfig {
            base: base.clone(),
            secret: proxy_secret(cli.proxy_secret_file.as_deref())?,
            admin: cli.proxy_admin.clone(),
            record: cli.record.clone(),
        });
    }
    let catalogue = config.catalogue()?;
    config.scenarios = load_all(&cli.scenarios, &catalogue)?;
    Ok((config, catalogue))
}

/// The environment variable that may hold the admin token.
const ADMIN_TOKEN_ENV: &str = "MOR_MOCK_ADMIN_TOKEN";

/// A token file larger than this is not a token.
const MAX_TOKEN_FILE: u64 = 4096;

/// The admin token: from the file when given, else from the environment.
fn admin_token(file: Option<&std::path::Path>) -> Result<Option<AdminToken>, ConfigError> {
    let Some(path) = file else {
        return Ok(std::env::var(ADMIN_TOKEN_ENV)
            .ok()
            .and_then(|t| AdminToken::new(&t)));
    };
    let bad = |why: String| ConfigError::AdminToken(format!("{}: {why}", path.display()));
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(
            std::fs::File::open(path).map_err(|e| bad(e.to_string()))?,
            MAX_TOKEN_FILE + 1,
        ),
        &mut text,
    )
    .map_err(|e| bad(e.to_string()))?;
    if text.len() as u64 > MAX_TOKEN_FILE {
        return Err(bad(format!("larger than {MAX_TOKEN_FILE} bytes")));
    }
    AdminToken::new(&text)
        .map(Some)
        .ok_or_else(|| bad("empty".to_string()))
}

fn load_all(paths: &[PathBuf], catalogue: &Catalogue) -> Result<Vec<Scenario>, ConfigError> {
    paths
        .iter()
        .map(|p| MockConfig::load_scenario(p, catalogue))
        .collect()
}

async fn serve(cli: Cli) -> ExitCode {
    let (config, catalogue) = match config_of(&cli) {
        Ok(x) => x,
        Err(e @ (ConfigError::Clock(_) | ConfigError::AdminToken(_) | ConfigError::Profile(_))) => {
            eprintln!("mor-mock: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            eprintln!("mor-mock: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let product = config.product;
    if !config.bind.ip().is_loopback() {
        // Never silent: other hosts can reach this mock.
        match config.admin_token {
            Some(_) => eprintln!(
                "mor-mock: warning: {} is reachable from other hosts; the admin API requires the admin token",
                config.bind
            ),
            None => eprintln!(
                "mor-mock: warning: {} is reachable from other hosts and no admin token is set ({ADMIN_TOKEN_ENV} or --admin-token-file): the admin API is off",
                config.bind
            ),
        }
    }
    if let Some(d) = config.defect {
        // Never silent: a defective mock must not be mistaken for a faithful one.
        eprintln!("mor-mock: deliberate defect `{d}` is on: {}", d.describe());
    }
    let server = match MockServer::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mor-mock: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    // Signals are caught from here on, before the line below tells anyone the server is up.
    let stop = stopped();
    // The one line tools wait for; the socket already accepts connections.
    println!("mor-mock listening on {} (product {product})", server.url());
    if !cli.scenarios.is_empty() {
        tokio::spawn(watch(
            cli.scenarios.clone(),
            catalogue,
            server.shared().clone(),
        ));
    }
    stop.await;
    let proxy = server.shared().proxy.as_ref().map(|p| {
        p.flush();
        p.report()
    });
    server.shutdown().await;
    if let Some(report) = proxy {
        eprint!("{}", report.summary());
    }
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM (what `kill` and service managers send): time to shut down gracefully.
/// The handlers are installed when this is called, not when the future is first polled: the
/// caller calls it before printing the line tools wait for, so a signal sent as soon as that
/// line appears is caught (it used to kill the process: a tool's stop lost the proxy's summary).
fn stopped() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => Some((int, term)),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for signals; waiting for Ctrl-C");
                None
            }
        }
    };
    async move {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = signals {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            tracing::info!("shutting down");
            return;
        }
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("Ctrl-C: shutting down"),
            Err(e) => tracing::error!(error = %e, "cannot listen for Ctrl-C; shutting down"),
        }
    }
}

/// The proxy's secret: the file's content, else `MOR_PROXY_SECRET`, else none.
fn proxy_secret(file: Option<&std::path::Path>) -> Result<Option<String>, ConfigError> {
    if let Some(f) = file {
        return std::fs::read_to_string(f)
            .map(|t| Some(t.trim_end_matches(['\r', '\n']).to_string()))
            .map_err(|e| {
                ConfigError::Proxy(mock_server::proxy::ProxyError::Secret(format!(
                    "{}: {e}",
                    f.display()
                )))
            });
    }
    Ok(std::env::var("MOR_PROXY_SECRET")
        .ok()
        .filter(|s| !s.is_empty()))
}

fn mtimes(paths: &[PathBuf]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

/// Poll the scenario files' modification times every second; rebuild the state when one
/// changes. A file that no longer loads is reported and the old state kept.
async fn watch(paths: Vec<PathBuf>, catalogue: Catalogue, shared: Arc<Shared>) {
    let mut seen = mtimes(&paths);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = mtimes(&paths);
        if now == seen {
            continue;
        }
        seen = now;
        // Parsing and building a large world is blocking work: off the runtime threads.
        let (p, c, s) = (paths.clone(), catalogue.clone(), shared.clone());
        let done = tokio::task::spawn_blocking(move || load_all(&p, &c).and_then(|l| s.reload(l)));
        match done.await {
            Ok(Ok(())) => tracing::info!("scenario files changed: state rebuilt"),
            Ok(Err(e)) => {
                tracing::error!("scenario files changed but not reloaded (old state kept): {e}")
            }
            Err(e) => tracing::error!(error = %e, "scenario reload failed (old state kept)"),
        }
    }
}
