//! `mor-conformance run`: plan -> client -> check -> report, with the exit code mapped in
//! `exit`.
//!
//! Targets. With `--target` (or a target file's `base_url`) every case goes to that base URL with
//! the credentials the target file and flags give. Without one, each scenario runs against its own
//! in-process mock (see `inproc`), so the suite is self-contained.
//!
//! What runs where (PRODUCT.md principle 4):
//! - `exact` cases need the seeded world: against a target that is not `seeded`, they are skipped
//!   with the reason "needs the seeded world";
//! - a scenario that sets `settings`, an `overlay` or world records describes a deployment the
//!   runner cannot create on a foreign target: its cases are skipped there, with that reason;
//! - a case documents an undocumented behaviour when its scenario sets `quirks`, or it carries the
//!   tag `unk`, `quirk` or `observe`. On a foreign target (not the in-process mock, not `seeded`),
//!   a failure of such a case is reported as an observation (`OBSERVED`), not a failure;
//! - methods the catalogue marks `writes: true` are sent to a real target only with
//!   `--allow-writes` (else skipped); the in-process mock always allows them.
//!
//! Recordings (see `record`): `--record DIR` writes every answer as a redacted snapshot file;
//! `--compare DIR` compares every answer with that recording and reports each changed path and
//! value as a failed check of its case (write nothing), so a run before an upgrade and one after
//! it show exactly what changed.
//!
//! Failure of the target is data: a refused connection, a timeout, a TLS failure, a truncated or
//! oversized body is an `ERROR` outcome for that case and the run goes on. Exit code: 3 if any
//! case errored (the run is incomplete), else 4 if any check failed, else 0.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use model::catalogue::{BodyKind, Catalogue, Product};
use model::quirks::Quirks;
use model::scenario::{CheckKind, Encoding, Expect, Invariant, Request};
use tokio::sync::Semaphore;

use crate::check::{self, CaseId, CheckOutcome, Mismatch, Status};
use crate::client::{build, today_utc, BuiltRequest, Client, Limits, SignContext};
use crate::discover::{self, Discovery};
use crate::exit::Failure;
use crate::inproc::InProcess;
use crate::plan::{self, Partition, Plan, PlannedCase, PlannedScenario, Policy, Probe, Selection};
use crate::report::{self, RunReport, Summary};
use crate::secret::Known;
use crate::target::{Credentials, External, TargetArgs};

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    /// Colour on a terminal, unless `NO_COLOR` is set or in CI.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--policy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    /// No policy probes.
    None,
    /// GET disabled, hash checking on, API only under /billing/api/.
    Production,
}

/// Arguments of `run`. Every flag can also be given by the environment variable named.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or directories (default: `scenarios/`).
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// The target, its target file, product and admin credentials.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Whether the target runs our seeded world (exact checks run only then).
    #[arg(long, env = "MOR_SEEDED", value_name = "BOOL")]
    pub seeded: Option<bool>,
    /// Policy probes to run (default: the target file's policy, else none).
    #[arg(long, env = "MOR_POLICY", value_enum)]
    pub policy: Option<PolicyArg>,
    /// Only cases calling this method (repeatable; aliases match their method).
    #[arg(long = "method", env = "MOR_METHOD", value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Only cases with this tag (repeatable).
    #[arg(long = "tag", env = "MOR_TAG", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Run shard k of n (count partitioning, as cargo-nextest does).
    #[arg(long, env = "MOR_PARTITION", value_name = "K/N")]
    pub partition: Option<Partition>,
    /// Print the planned cases and exit.
    #[arg(long)]
    pub list: bool,
    /// Colour the status labels: auto (a terminal, no `NO_COLOR`, not CI), always, never.
    #[arg(long, env = "MOR_COLOR", value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// Write a JUnit XML report.
    #[arg(long, env = "MOR_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report.
    #[arg(long, env = "MOR_JSON", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report: per method counts and coverage, every failure with
    /// its request, diff and curl reproduction.
    #[arg(long, env = "MOR_HTML", value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Per-request timeout in seconds.
    #[arg(long, value_parser = crate::flags::seconds, env = "MOR_TIMEOUT", default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// Requests in flight at most (and in-process mocks running at once).
    #[arg(long, value_parser = crate::flags::jobs, env = "MOR_JOBS", default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Requests per second at most.
    #[arg(long, value_parser = crate::flags::rate, env = "MOR_RATE", value_name = "R")]
    pub rate: Option<f64>,
    /// Retries of a failed exchange (never of an answer).
    #[arg(long, env = "MOR_RETRIES", default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// Largest body accepted, in bytes (after gzip decoding).
    #[arg(long, env = "MOR_MAX_BODY", default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,
    /// Send write methods to a real target.
    #[arg(long, env = "MOR_ALLOW_WRITES")]
    pub allow_writes: bool,
    /// An extra catalogue file adding or overriding methods.
    #[arg(long, env = "MOR_CATALOGUE", value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
    /// Write every answer as a redacted snapshot file under DIR (see `record`).
    #[arg(
        long,
        env = "MOR_RECORD",
        value_name = "DIR",
        conflicts_with = "compare"
    )]
    pub record: Option<PathBuf>,
    /// Compare every answer with the recording in DIR and report each changed value.
    #[arg(long, env = "MOR_COMPARE", value_name = "DIR")]
    pub compare: Option<PathBuf>,
}

/// Everything a case needs, shared by the tasks of a run.
struct Ctx {
    catalogue: Catalogue,
    product: Product,
    client: Client,
    requests: Semaphore,
    external: Option<External>,
    seeded: bool,
    allow_writes: bool,
    recording: Option<crate::record::Recording>,
    /// What an external target's answers are masked with.
    external_known: Known,
    /// What the target file and discovery established about a foreign target.
    discovery: Option<Discovery>,
    /// Quirk positions the target file pins (by quirk name, as JSON).
    pinned: serde_json::Map<String, serde_json::Value>,
    /// Quirk positions laid under each scenario's in the in-process mocks (`--profile`).
    inproc_quirks: Option<model::quirks::QuirksPatch>,
    /// The profile named (`--profile` or the target file's), for reproductions.
    profile: Option<String>,
    /// Whether the run checks a policy (`--policy` or the target file's): `kind: policy` cases
    /// run against a foreign target only then.
    policy: bool,
    /// The fact `run.id` against a deployment: the run's start (Unix milliseconds).
    run_id: String,
}

/// Where one scenario's cases go.
struct Endpoint<'a> {
    base: &'a str,
    credentials: &'a Credentials,
    quirks: &'a Quirks,
    today: (i64, i64),
    /// The fact `run.id`.
    run_id: &'a str,
    known: &'a Discovery,
    /// The secrets this target's answers are masked with.
    secrets: &'a Known,
}

/// Run `run` and return the exit code; everything is printed here.
pub fn run(args: RunArgs) -> i32 {
    crate::exit::finish(run_inner(args))
}

fn run_inner(args: RunArgs) -> Result<i32, Failure> {
    let catalogue = plan::catalogue(args.catalogue.as_deref())?;
    let target_file = args.target.file().map_err(Failure::invalid)?;
    let product = args
        .target
        .product(&target_file)
        .unwrap_or(plan::DEFAULT_PRODUCT);
    let paths = if args.paths.is_empty() {
        let d = PathBuf::from("scenarios");
        if !d.is_dir() {
            return Err(Failure::usage(
                "no scenario paths given and no scenarios/ directory here",
            ));
        }
        vec![d]
    } else {
        args.paths.clone()
    };
    if args.jobs == 0 {
        return Err(Failure::usage("--jobs must be at least 1"));
    }
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(Failure::usage(
            "--timeout must be a positive number of seconds",
        ));
    }
    let files = plan::collect_files(&paths)?;
    let loaded = plan::load(&files, &catalogue)?;
    let selection = Selection {
        product: Some(product),
        methods: args.methods.clone(),
        tags: args.tags.clone(),
        partition: args.partition,
    };
    let mut plan = plan::select(loaded, &selection, &catalogue);
    let policy = match args.policy {
        Some(PolicyArg::Production) => Policy::production(),
        Some(PolicyArg::None) => Policy::default(),
        None => target_file.policy.unwrap_or_default(),
    };
    // Probes are shard 1's, so a partitioned CI run sends them once.
    if args.partition.is_none_or(|p| p.k == 1) {
        if let Some(p) = plan::policy_probes(&policy, product, &catalogue) {
            plan.scenarios.push(p);
        }
    }
    if plan.is_empty() {
        return Err(Failure::usage(format!(
            "no case selected for {product} from {} file(s) (check --method, --tag, --partition and the paths)",
            files.len()
        )));
    }
    if args.list {
        let mut text = String::new();
        for c in plan.cases() {
            text.push_str(&format!(
                "{}:{} [{}] {} ({})\n",
                c.file,
                c.line,
                check::kind_name(c.case.kind),
                c.case.name,
                c.case.request.method
            ));
        }
        text.push_str(&format!("{} cases for {product}\n", plan.len()));
        out(&text);
        return Ok(crate::exit::PASS);
    }

    let external = match args.target.base(&target_file) {
        Some(b) => Some(
            args.target
                .external(&b, &target_file)
                .map_err(Failure::usage)?,
        ),
        None => None,
    };
    let seeded = match &external {
        None => true,
        Some(_) => args.seeded.or(target_file.seeded).unwrap_or(false),
    };
    let client = Client::new(Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        max_body: args.max_body,
        rate: args.rate,
        retries: args.retries,
    })
    .map_err(Failure::runtime)?;
    let target_label = external
        .as_ref()
        .map_or_else(|| "the in-process mock".to_string(), |e| e.base.clone());
    // What an external target's answers are masked with (an in-process mock's are its own).
    let external_known = external
        .as_ref()
        .map(|e| e.credentials.known())
        .unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.jobs.clamp(1, 4))
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    let discovery = match &external {
        None => None,
        Some(ext) => {
            let mut known = Discovery::from_file(&target_file.facts, target_file.settings.as_ref());
            let mut target = discover::Target {
                client: &client,
                base: &ext.base,
                credentials: &ext.credentials,
                quirks: &ext.quirks,
                catalogue: &catalogue,
                product,
                today: today_utc(),
                jobs: args.jobs,
            };
            // Every method of the catalogue: discovery reads through methods the plan may not
            // call (user ids through user_details_get, a device through devices_get). A method
            // catalogued only is probed when the plan calls it: discovery reads nothing
            // through it.
            let mut methods = plan_methods(&plan, &catalogue, product);
            for m in catalogue.product(product).methods() {
                if !methods.iter().any(|n| *n == m.name) && !m.is_catalogued_only() {
                    methods.push(m.name.to_string());
                }
            }
            match runtime.block_on(discover::reachable(&target)) {
                Err(e) => return Err(Failure::runtime(format!("{}: {e}", ext.base))),
                // Today is the target's: its `Date` header, else the runner's clock.
                Ok(Some(now)) => {
                    target.today = crate::client::day_of(now);
                    known.today = Some(target.today);
                }
                Ok(None) => {}
            }
            let d = runtime.block_on(discover::discover(&target, &methods, known));
            out(&d.summary());
            Some(d)
        }
    };
    let pinned = target_file
        .quirks
        .as_ref()
        .and_then(|q| serde_json::to_value(q).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let ctx = Arc::new(Ctx {
        catalogue,
        product,
        client,
        requests: Semaphore::new(args.jobs),
        external,
        seeded,
        allow_writes: args.allow_writes,
        discovery: discovery.clone(),
        external_known,
        pinned,
        inproc_quirks: target_file.quirks.clone(),
        profile: target_file.profile.clone(),
        policy: policy.any(),
        run_id: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            .to_string(),
        recording: match (&args.record, &args.compare) {
            (Some(dir), _) => Some((dir.clone(), crate::record::Mode::Record)),
            (None, Some(dir)) => Some((dir.clone(), crate::record::Mode::Compare)),
            (None, None) => None,
        }
        .map(|(dir, mode)| crate::record::Recording { dir, mode }),
    });
    let total = plan.len();
    // What each case exercises of the catalogue, for the coverage per method.
    let mut touches: BTreeMap<(String, usize), Vec<report::Touch>> = BTreeMap::new();
    for pc in plan.cases() {
        touches.insert(
            (pc.file.clone(), pc.index),
            touches_of(&pc.case, &ctx.catalogue, product),
        );
    }
    let started = Instant::now();
    let mut outcomes = runtime.block_on(execute(
        ctx.clone(),
        plan,
        args.jobs,
        Progress::new(total, args.color),
    ));
    outcomes.sort_by(|a, b| {
        (a.case.file.as_str(), a.case.index).cmp(&(b.case.file.as_str(), b.case.index))
    });
    let summary = Summary::of(&outcomes);
    let touched: Vec<Vec<report::Touch>> = outcomes
        .iter()
        .map(|o| {
            touches
                .remove(&(o.case.file.clone(), o.case.index))
                .unwrap_or_default()
        })
        .collect();
    let methods = report::methods(&outcomes, &touched, |m| ctx.catalogue.method(product, m));
    let report = RunReport {
        product: product.to_string(),
        target: target_label,
        seeded,
        summary,
        discovery,
        methods,
        outcomes,
    };
    let colour = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && !is_ci()
        }
    };
    out(&report::terminal_with(&report, colour));
    if !is_ci() {
        eprintln!("finished in {:.1?}", started.elapsed());
    }
    // A failed check is never hidden by another case's error.
    let mut code = if summary.failed > summary.errors {
        crate::exit::ASSERTION
    } else if summary.errors > 0 {
        crate::exit::RUNTIME
    } else {
        crate::exit::PASS
    };
    if let Some(f) = &args.junit {
        // Built from outcomes made of masked answers and shown parameters: no rendered text
        // is ever searched for a secret.
        let text = report::junit(&report);
        if let Err(e) = text.and_then(|t| std::fs::write(f, t).map_err(|e| e.to_string())) {
            eprintln!("mor-conformance: cannot write {}: {e}", f.display());
            code = crate::exit::RUNTIME;
        }
    }
    if let Some(f) = &args.json {
        let text = report::json(&report);
        if let Err(e) = text.and_then(|t| std::fs::write(f, t).map_err(|e| e.to_string())) {
            eprintln!("mor-conformance: cannot write {}: {e}", f.display());
            code = crate::exit::RUNTIME;
        }
    }
    if let Some(f) = &args.html {
        if let Err(e) = std::fs::write(f, crate::html::render(&report)) {
            eprintln!("mor-conformance: cannot write {}: {e}", f.display());
            code = crate::exit::RUNTIME;
        }
    }
    Ok(code)
}

/// Write to standard output; a closed pipe (`| head`) ends the output quietly instead of a panic.
fn out(text: &str) {
    use std::io::Write as _;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|()| o.flush());
}

/// CI or not a terminal: plain output, no progress line.
fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
        || !std::io::stderr().is_terminal()
}

/// Run every scenario; returns the outcomes (unsorted).
async fn execute(ctx: Arc<Ctx>, plan: Plan, jobs: usize, progress: Progress) -> Vec<CheckOutcome> {
    let total = progress.total;
    let scenarios = Arc::new(Semaphore::new(jobs));
    // Against a deployment with writes allowed, a scenario that writes runs alone: another
    // file's invariants must not read the world while it changes (two reads of one balance
    // around a write would differ). The in-process mocks are one per scenario: no sharing.
    let exclusive = Arc::new(tokio::sync::RwLock::new(()));
    let progress = Arc::new(progress);
    let mut set = tokio::task::JoinSet::new();
    // The cases of each task, so a task that panics reports its cases as errors instead of
    // losing them.
    let mut cases_of: BTreeMap<tokio::task::Id, Vec<(CaseId, CheckKind)>> = BTreeMap::new();
    for ps in plan.scenarios {
        let ctx = ctx.clone();
        let scenarios = scenarios.clone();
        let progress = progress.clone();
        let cases: Vec<(CaseId, CheckKind)> = ps
            .cases
            .iter()
            .map(|pc| (case_id(pc), pc.case.kind))
            .collect();
        let writes = ctx.external.is_some()
            && ctx.allow_writes
            && ps.cases.iter().any(|pc| {
                requests_of(&pc.case.request, &pc.case.expect)
                    .iter()
                    .any(|r| {
                        ctx.catalogue
                            .method(ctx.product, &r.method)
                            .is_some_and(|m| m.writes)
                    })
            });
        let exclusive = exclusive.clone();
        let handle = set.spawn(async move {
            let _alone = if writes {
                (None, Some(exclusive.write().await))
            } else {
                (Some(exclusive.read().await), None)
            };
            let _permit = scenarios.acquire().await.ok();
            run_scenario(&ctx, ps, &progress).await
        });
        cases_of.insert(handle.id(), cases);
    }
    let mut outcomes = Vec::with_capacity(total);
    while let Some(r) = set.join_next_with_id().await {
        match r {
            Ok((_, o)) => outcomes.extend(o),
            Err(e) => {
                for (id, kind) in cases_of.remove(&e.id()).unwrap_or_default() {
                    outcomes.push(CheckOutcome::other(
                        id,
                        kind,
                        Status::Error,
                        format!("the runner failed while running this scenario: {e}"),
                    ));
                }
            }
        }
    }
    progress.finish();
    outcomes
}

/// A live progress bar (indicatif) on stderr while cases run, with each failure printed above
/// it as it happens. Drawn only when stderr is a terminal, `CI` is not set and `--color` is not
/// `never`; without colour under `NO_COLOR`. Otherwise nothing: the report on stdout is one
/// plain line per case, with no control code.
struct Progress {
    total: usize,
    bar: Option<indicatif::ProgressBar>,
    colour: bool,
}

impl Progress {
    fn new(total: usize, color: ColorArg) -> Progress {
        let on = !is_ci() && color != ColorArg::Never && total > 0;
        if !on {
            return Progress {
                total,
                bar: None,
                colour: false,
            };
        }
        let plain = color != ColorArg::Always
            && std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let template = if plain {
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} cases {wide_msg}"
        } else {
            "{spinner:.green} [{elapsed_precise}] {bar:40.cyan/blue} {pos}/{len} cases {wide_msg:.dim}"
        };
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress {
            total,
            bar: Some(bar),
            colour: !plain,
        }
    }

    fn tick(&self, o: &CheckOutcome) {
        let Some(bar) = &self.bar else { return };
        if matches!(o.status, Status::Failed | Status::Error) {
            let label = if o.status == Status::Failed {
                "FAIL"
            } else {
                "ERROR"
            };
            bar.println(format!(
                "{} {}:{} {}",
                report::paint(&o.status, &format!("{label:<8}"), self.colour),
                o.case.file,
                o.case.line,
                o.case.name
            ));
        }
        bar.set_message(o.case.name.clone());
        bar.inc(1);
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn case_id(pc: &PlannedCase) -> CaseId {
    CaseId {
        file: pc.file.clone(),
        index: pc.index,
        line: pc.line,
        name: pc.case.name.clone(),
        method: pc.case.request.method.clone(),
    }
}

async fn run_scenario(ctx: &Ctx, ps: PlannedScenario, progress: &Progress) -> Vec<CheckOutcome> {
    let mut out = Vec::with_capacity(ps.cases.len());
    // Cases of one scenario run in file order: a write changes what later cases read.
    match &ctx.external {
        Some(ext) => {
            let empty = Discovery::default();
            let ep = Endpoint {
                base: &ext.base,
                credentials: &ext.credentials,
                quirks: &ext.quirks,
                today: ctx
                    .discovery
                    .as_ref()
                    .and_then(|d| d.today)
                    .unwrap_or_else(today_utc),
                run_id: &ctx.run_id,
                known: ctx.discovery.as_ref().unwrap_or(&empty),
                secrets: &ctx.external_known,
            };
            for pc in &ps.cases {
                let o = run_case(ctx, &ps, pc, &ep).await;
                progress.tick(&o);
                out.push(o);
            }
            out
        }
        None => {
            let scenario = (ps.loaded.path != plan::POLICY_FILE).then_some(&ps.loaded.scenario);
            match InProcess::start(scenario, ctx.product, ctx.inproc_quirks.as_ref()).await {
                Ok(mock) => {
                    let secrets = mock.credentials.known();
                    // `sign: auto` signs the way this target verifies (the scenario's quirks);
                    // the other modes sign against it.
                    let ep = Endpoint {
                        base: &mock.base,
                        credentials: &mock.credentials,
                        quirks: &mock.quirks,
                        today: mock.today,
                        // Each scenario has a mock of its own: nothing an earlier run wrote is
                        // there to meet, and the reports stay the same from run to run.
                        run_id: "1",
                        known: &mock.discovery,
                        secrets: &secrets,
                    };
                    for pc in &ps.cases {
                        let mut o = run_case(ctx, &ps, pc, &ep).await;
                        // The in-process mock is gone when the report is read: the reproduction
                        // starts the same mock from the same file on the default port.
                        if let (Some(c), Some(_)) = (&o.curl, scenario) {
                            o.curl = Some(format!(
                                "mor-mock --product {}{} --scenario {} &\n      {}",
                                ctx.product,
                                ctx.profile
                                    .as_ref()
                                    .map_or(String::new(), |p| format!(" --profile {p}")),
                                crate::client::shell_quote(&ps.loaded.path),
                                c.replace(&mock.base, "http://127.0.0.1:8080")
                            ));
                        }
                        progress.tick(&o);
                        out.push(o);
                    }
                    mock.shutdown().await;
                    out
                }
                Err(m) => {
                    for pc in &ps.cases {
                        let o = CheckOutcome::other(
                            case_id(pc),
                            pc.case.kind,
                            Status::Error,
                            m.clone(),
                        );
                        progress.tick(&o);
                        out.push(o);
                    }
                    out
                }
            }
        }
    }
}

/// The canonical methods the plan's cases call (nested requests included), for discovery.
fn plan_methods(plan: &Plan, catalogue: &Catalogue, product: Product) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for pc in plan.cases() {
        for r in requests_of(&pc.case.request, &pc.case.expect) {
            if r.path.is_some() {
                continue;
            }
            if let Some(m) = catalogue.method(product, &r.method) {
                if !out.iter().any(|n| *n == m.name) {
                    out.push(m.name.to_string());
                }
            }
        }
    }
    out
}

/// A case's request and the requests its invariants send.
/// Why the read-back `read` of a write case goes unchecked, if it does: the case's request is a
/// write and the read names a method the target does not serve (MOR X3 has no dids_get). The
/// write and its own expectations still run; a read-back the target cannot answer does not
/// turn the whole case into a skip.
fn unchecked_read_back(
    ctx: &Ctx,
    ep: &Endpoint<'_>,
    request: &Request,
    read: &Request,
) -> Option<String> {
    if std::ptr::eq(request, read) || read.path.is_some() {
        return None;
    }
    let writes = ctx
        .catalogue
        .method(ctx.product, &request.method)
        .is_some_and(|m| m.writes);
    let m = ctx.catalogue.method(ctx.product, &read.method)?;
    let why = ep.known.unavailable.get(m.name.as_str())?;
    writes.then(|| {
        format!(
            "the read-back through {} is not checked: the target does not serve it ({why})",
            m.name
        )
    })
}

fn requests_of<'a>(request: &'a Request, expect: &'a Expect) -> Vec<&'a Request> {
    let mut out = vec![request];
    for inv in &expect.invariants {
        match inv {
            Invariant::SubsetOf { of, .. } | Invariant::SameValueAs { of, .. } => out.push(of),
            Invariant::ReadShowsWrite { read, .. } => out.push(read),
            Invariant::ScalesAfterWrite { read, base, .. } => {
                out.push(read);
                out.push(base);
            }
            _ => {}
        }
    }
    out
}

/// A request as the scenario writes it, on one line: verb, method or path, caller, encoding and
/// signing when not the default, parameters (facts unresolved).
fn describe_request(r: &Request) -> String {
    let verb = match r.http {
        Some(model::catalogue::HttpVerb::Get) => "GET",
        _ => "POST",
    };
    let mut s = format!("{verb} {}", r.path.as_deref().unwrap_or(&r.method));
    s.push_str(&format!(" as {}", r.caller));
    let mut how = vec![format!("{:?}", r.encoding).to_lowercase()];
    if r.sign != model::scenario::Signing::Auto {
        let sign = serde_json::to_value(r.sign)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        how.push(format!("sign: {sign}"));
    }
    s.push_str(&format!(" ({})", how.join(", ")));
    let mut params: Vec<String> = Vec::new();
    if let Some(u) = &r.u {
        params.push(format!("u={u}"));
    }
    params.extend(r.params.0.iter().map(|(k, v)| format!("{k}={v}")));
    if !params.is_empty() {
        s.push_str(": ");
        s.push_str(&params.join(" "));
    }
    s
}

/// What a case exercises of the catalogue: the parameters each of its requests sends to a method
/// the catalogue knows (`u` included when sent, those its invariants add), and the documented
/// error it expects of its method.
fn touches_of(
    case: &model::scenario::Case,
    catalogue: &Catalogue,
    product: Product,
) -> Vec<report::Touch> {
    use report::Touch;
    let canonical = |name: &str| catalogue.method(product, name).map(|m| m.name.to_string());
    let mut out = Vec::new();
    for r in requests_of(&case.request, &case.expect) {
        let Some(m) = canonical(&r.method) else {
            continue;
        };
        if r.u.is_some() || r.caller != model::facts::NOBODY {
            out.push(Touch::Param(m.clone(), "u".into()));
        }
        for (k, _) in &r.params.0 {
            out.push(Touch::Param(m.clone(), k.clone()));
        }
    }
    if let Some(m) = canonical(&case.request.method) {
        for inv in &case.expect.invariants {
            match inv {
                Invariant::NarrowerReturnsNoMore { params, .. }
                | Invariant::FinerGroupingSumsToCoarser { params, .. } => {
                    for (k, _) in &params.0 {
                        out.push(Touch::Param(m.clone(), k.clone()));
                    }
                }
                Invariant::OrderDescReverses { .. } => {
                    out.push(Touch::Param(m.clone(), "order_desc".into()))
                }
                _ => {}
            }
        }
        if let Some(e) = &case.expect.error {
            out.push(Touch::Error(m, e.clone()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The facts a request names (in `u` and parameters).
fn facts_of(r: &Request) -> Vec<&str> {
    let mut out: Vec<&str> = r
        .params
        .0
        .iter()
        .flat_map(|(_, v)| model::facts::references(v))
        .collect();
    if let Some(u) = r.u.as_deref() {
        out.extend(model::facts::references(u));
    }
    out
}

/// The facts a case names anywhere.
fn case_facts(case: &model::scenario::Case) -> Vec<&str> {
    let mut out = Vec::new();
    for r in requests_of(&case.request, &case.expect) {
        out.extend(facts_of(r));
    }
    for inv in &case.expect.invariants {
        match inv {
            Invariant::NarrowerReturnsNoMore { params, .. }
            | Invariant::FinerGroupingSumsToCoarser { params, .. } => out.extend(
                params
                    .0
                    .iter()
                    .flat_map(|(_, v)| model::facts::references(v)),
            ),
            Invariant::RowsMatch { one_of, .. } => {
                out.extend(one_of.iter().flat_map(|v| model::facts::references(v)))
            }
            Invariant::ReadShowsWrite { value, .. } => out.extend(model::facts::references(value)),
            _ => {}
        }
    }
    out.extend(
        case.expect
            .values
            .values()
            .flat_map(|v| model::facts::references(v)),
    );
    out
}

/// The value of a fact for this endpoint: a password from the credentials, any other fact from
/// what is known of the target.
fn fact_value(name: &str, ep: &Endpoint<'_>) -> Option<String> {
    if let Some(role) = model::facts::password_of(name) {
        return ep.credentials.get(role).and_then(|c| c.password.clone());
    }
    match name {
        "today.start" => Some(ep.today.0.to_string()),
        "today.end" => Some(ep.today.1.to_string()),
        "month.start" => Some(model::world::month_start(ep.today.0).to_string()),
        "run.id" => Some(ep.run_id.to_string()),
        _ => ep.known.facts.get(name).map(str::to_string),
    }
}

/// `v` with its fact references replaced by their values (left as is when one is unknown: the
/// case is skipped before it is sent, see [`skip_reason`]).
fn resolve_value(v: &mut String, ep: &Endpoint<'_>) {
    if let Ok(x) = model::facts::interpolate(v, |n| fact_value(n, ep)) {
        *v = x;
    }
}

/// A request with its facts filled in (every fact is known: see [`skip_reason`]).
fn resolve_request(r: &Request, ep: &Endpoint<'_>) -> Request {
    let mut r = r.clone();
    for (_, v) in r.params.0.iter_mut() {
        resolve_value(v, ep);
    }
    if let Some(u) = r.u.as_mut() {
        resolve_value(u, ep);
    }
    r
}

/// Expectations with their facts filled in.
fn resolve_expect(e: &Expect, ep: &Endpoint<'_>) -> Expect {
    let mut e = e.clone();
    for v in e.values.values_mut() {
        resolve_value(v, ep);
    }
    for inv in e.invariants.iter_mut() {
        match inv {
            Invariant::NarrowerReturnsNoMore { params, .. }
            | Invariant::FinerGroupingSumsToCoarser { params, .. } => {
                for (_, v) in params.0.iter_mut() {
                    resolve_value(v, ep);
                }
            }
            Invariant::RowsMatch { one_of, .. } => {
                for v in one_of.iter_mut() {
                    resolve_value(v, ep);
                }
            }
            Invariant::SubsetOf { of, .. } | Invariant::SameValueAs { of, .. } => {
                **of = resolve_request(of, ep)
            }
            Invariant::ReadShowsWrite { read, value, .. } => {
                **read = resolve_request(read, ep);
                resolve_value(value, ep);
            }
            Invariant::ScalesAfterWrite { read, base, .. } => {
                **read = resolve_request(read, ep);
                **base = resolve_request(base, ep);
            }
            _ => {}
        }
    }
    e
}

/// Settings a scenario sets that a foreign target is not known to have: (setting, wanted,
/// known value or None).
fn settings_missing(
    scenario: &model::scenario::Scenario,
    known: &Discovery,
) -> Option<(String, serde_json::Value, Option<serde_json::Value>)> {
    let want = serde_json::to_value(scenario.settings.as_ref()?).ok()?;
    let have = serde_json::to_value(&known.settings).ok()?;
    for (k, v) in want.as_object()? {
        // Secrets and uniquehashes configure the mock's accounts, not the deployment's behaviour.
        if k == "api_secret" || k == "uniquehash" {
            continue;
        }
        match have.get(k) {
            Some(h) if h == v => {}
            other => return Some((k.clone(), v.clone(), other.cloned())),
        }
    }
    None
}

/// Why a case cannot run on this target, if it cannot.
fn skip_reason(
    ctx: &Ctx,
    ps: &PlannedScenario,
    pc: &PlannedCase,
    ep: &Endpoint<'_>,
) -> Option<String> {
    let external = ctx.external.is_some();
    let case = &pc.case;
    if check::needs_seeded_world(case.kind) && !ctx.seeded {
        return Some("needs the seeded world (kind: exact)".into());
    }
    let s = &ps.loaded.scenario;
    if external && case.kind == CheckKind::Policy && !ctx.policy {
        return Some(
            "a policy check: runs against a deployment with --policy production or a target file policy"
                .into(),
        );
    }
    if external && !ctx.seeded {
        if s.overlay.is_some() {
            return Some("needs the scenario's overlay (mock only)".into());
        }
        if let Some((k, want, have)) = settings_missing(s, ep.known) {
            return Some(match have {
                Some(h) => format!("needs setting {k} = {want}; the target has {k} = {h}"),
                None => format!(
                    "needs setting {k} = {want}; the target file does not state it and discovery could not tell"
                ),
            });
        }
        if let Some(q) = &s.quirks {
            let want = serde_json::to_value(q).unwrap_or_default();
            for (k, v) in want.as_object().into_iter().flatten() {
                if let Some(p) = ctx.pinned.get(k) {
                    if p != v {
                        return Some(format!(
                            "shows quirk {k} = {v}; the target file pins {k} = {p}"
                        ));
                    }
                }
            }
        }
    }
    for r in requests_of(&case.request, &case.expect) {
        if unchecked_read_back(ctx, ep, &case.request, r).is_some() {
            // The write still runs; only this read-back goes unchecked (said in the outcome).
            continue;
        }
        if let Some(path) = &r.path {
            // A raw path naming a method the target does not serve (a routing case) skips as
            // that method's cases do; any other path is the case's point.
            let named = path
                .strip_prefix("/billing/api/")
                .and_then(|n| ctx.catalogue.method(ctx.product, n));
            if let Some(m) = named {
                if let Some(why) = ep.known.unavailable.get(m.name.as_str()) {
                    return Some(format!("the target does not serve {} ({why})", m.name));
                }
            }
            continue;
        }
        let canonical = ctx
            .catalogue
            .method(ctx.product, &r.method)
            .map_or(r.method.as_str(), |m| m.name.as_str());
        if let Some(why) = ep.known.unavailable.get(canonical) {
            return Some(format!("the target does not serve {canonical} ({why})"));
        }
        let role = if r.caller == model::facts::NOBODY {
            "admin"
        } else {
            r.caller.as_str()
        };
        if ep.credentials.get(role).is_none() && r.caller != model::facts::NOBODY {
            return Some(format!(
                "needs credentials for role `{role}` (give them in the target file)"
            ));
        }
    }
    for f in case_facts(case) {
        if let Some(role) = model::facts::password_of(f) {
            if fact_value(f, ep).is_none() {
                return Some(format!(
                    "needs fact ${f}: the credentials of `{role}` give no password_env"
                ));
            }
            continue;
        }
        if fact_value(f, ep).is_none() {
            let why = ep
                .known
                .notes
                .iter()
                .find(|n| {
                    n.starts_with(&format!("${f}"))
                        || n.starts_with(&format!("${}", f.split('.').next().unwrap_or(f)))
                })
                .cloned();
            return Some(match why {
                Some(w) => format!("needs fact ${f} ({w})"),
                None => format!("needs fact ${f} (give it in the target file's facts)"),
            });
        }
    }
    let writes = requests_of(&case.request, &case.expect).iter().any(|r| {
        ctx.catalogue
            .method(ctx.product, &r.method)
            .is_some_and(|m| m.writes)
    });
    if external && writes && !ctx.allow_writes {
        return Some("writes: needs --allow-writes against a real target".into());
    }
    None
}

/// Whether a case documents an undocumented behaviour (see the module documentation), and the
/// target file does not pin it.
fn documents_quirk(ctx: &Ctx, ps: &PlannedScenario, pc: &PlannedCase) -> bool {
    if let Some(q) = &pc.case.quirk {
        return !ctx.pinned.contains_key(q);
    }
    let scenario_quirks = ps.loaded.scenario.quirks.as_ref().map(|q| {
        serde_json::to_value(q)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
    });
    if let Some(q) = scenario_quirks {
        // Every quirk the scenario shows is pinned to the same position: a real check.
        let all_pinned = !q.is_empty() && q.iter().all(|(k, v)| ctx.pinned.get(k) == Some(v));
        return !all_pinned;
    }
    pc.case
        .tags
        .iter()
        .any(|t| t == "unk" || t == "quirk" || t == "observe" || t.starts_with("quirk:"))
}

/// The expectation a case holds the target to. A case naming a `quirk` states its expectation
/// under that quirk's default position in `expect` and under the others in `positions`; when the
/// target's position is known (always in-process: the mock's quirks after `--profile` and the
/// scenario; on a foreign target when the target file or its profile pins the quirk), the
/// expectation of that position applies. A known position the case states nothing for is a
/// skip naming it.
fn expectation_for<'c>(
    ctx: &Ctx,
    pc: &'c PlannedCase,
    ep: &Endpoint<'_>,
) -> Result<&'c Expect, String> {
    let case = &pc.case;
    let Some(q) = &case.quirk else {
        return Ok(&case.expect);
    };
    if ctx.external.is_some() && !ctx.pinned.contains_key(q) {
        return Ok(&case.expect);
    }
    // `redirects` is about the name a request uses; every other quirk about the method.
    let method = if q == "redirects" {
        Some(case.request.method.as_str())
    } else {
        canonical_method(ctx, &case.request.method)
    };
    let (Some(pos), Some(default)) = (
        model::profile::position_for(ep.quirks, q, method),
        model::profile::position_for(&Quirks::default(), q, method),
    ) else {
        return Ok(&case.expect);
    };
    if let Some(e) = case.positions.get(&pos) {
        return Ok(e);
    }
    if pos == default {
        return Ok(&case.expect);
    }
    Err(format!(
        "the target has {q} = {pos}; the case states expectations for {} only",
        std::iter::once(default)
            .chain(case.positions.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The expectation with the Content-Type and body kind the target's quirk `answer_delivery`
/// gives the case's request (known in-process, or pinned by the target file or its profile):
/// under `x3` every answer is `text/html` (a download, or inline with `test=1`), `text/xml`
/// when a download goes out with the XML API Extension on, and get_tariff's answer without
/// `test=1` a zip archive (`application/zip`, body `zip_xml`).
fn redeliver_expect(ctx: &Ctx, pc: &PlannedCase, ep: &Endpoint<'_>, mut e: Expect) -> Expect {
    if ctx.external.is_some() && !ctx.pinned.contains_key("answer_delivery") {
        return e;
    }
    if ep.quirks.answer_delivery != model::quirks::AnswerDelivery::X3 {
        return e;
    }
    let request = &pc.case.request;
    let method = canonical_method(ctx, &request.method);
    let test = request
        .params
        .0
        .iter()
        .any(|(k, v)| k == "test" && mock_server::methods::ruby_to_i(v) == 1);
    let inline = test || matches!(method, Some("user_simple_balance_get" | "user_balance_get"));
    let zip =
        !inline && method == Some("tariff_rates_get") && e.error.is_none() && e.wrapper.is_none();
    if let Some(ct) = e.content_type.as_mut() {
        *ct = if zip {
            "application/zip".into()
        } else if !inline && ep.known.settings.xml_extension == Some(true) {
            "text/xml".into()
        } else {
            "text/html".into()
        };
    }
    if zip && matches!(e.body, Some(BodyKind::Xml | BodyKind::GzipXml)) {
        e.body = Some(BodyKind::ZipXml);
    }
    e
}

/// The canonical name of the method a request names (an alias resolved), if the catalogue knows it.
fn canonical_method<'c>(ctx: &'c Ctx, name: &str) -> Option<&'c str> {
    ctx.catalogue
        .method(ctx.product, name)
        .map(|m| m.name.as_str())
}

/// The expectation with its error wrapper as the target's quirk `error_wrappers` gives it for the
/// case's method and error text (known in-process, or pinned by the target file or its profile).
fn rewrap_expect(ctx: &Ctx, pc: &PlannedCase, ep: &Endpoint<'_>, mut e: Expect) -> Expect {
    if ctx.external.is_some() && !ctx.pinned.contains_key("error_wrappers") {
        return e;
    }
    let Some(method) = canonical_method(ctx, &pc.case.request.method) else {
        return e;
    };
    if let (Some(text), Some(w)) = (&e.error, e.wrapper.as_mut()) {
        if let Some(over) = ep.quirks.error_wrapper(method, text) {
            *w = over;
        }
    }
    e
}

async fn run_case(
    ctx: &Ctx,
    ps: &PlannedScenario,
    pc: &PlannedCase,
    ep: &Endpoint<'_>,
) -> CheckOutcome {
    let started = Instant::now();
    let (mut o, positions) = run_case_inner(ctx, ps, pc, ep).await;
    o.millis = started.elapsed().as_millis() as u64;
    o.request = Some(describe_request(&pc.case.request));
    if o.status == Status::Failed
        && ctx.external.is_some()
        && !ctx.seeded
        && documents_quirk(ctx, ps, pc)
    {
        o.status = Status::Observed;
        let quirk = pc
            .case
            .quirk
            .as_deref()
            .unwrap_or("this undocumented point");
        let note = if positions.is_empty() {
            if pc.case.positions.is_empty() {
                format!("observed: the target differs from the default position of {quirk}")
            } else {
                format!(
                    "observed: {quirk} matches none of the known positions ({})",
                    pc.case
                        .positions
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        } else {
            format!("observed: {quirk} = {}", positions.join(" or "))
        };
        o.message = format!("{note}\n{}", o.message);
    }
    o
}

async fn send(
    ctx: &Ctx,
    req: &BuiltRequest,
) -> Result<crate::client::Answer, crate::client::TransportError> {
    let _permit = ctx.requests.acquire().await.ok();
    ctx.client.send(req).await
}

/// A second request's answer as a document, or why there is none.
/// Why a second request gave nothing to compare: the message, and the API error text when the
/// target answered one.
struct Unanswered {
    message: String,
    error: Option<String>,
}

/// Whether `text` is `method`'s answer when nothing matches (an error the catalogue marks
/// `empty`, such as aggregate_get's `No data found`): a read with no rows, not a refusal.
fn is_empty_answer(ctx: &Ctx, method: &str, text: Option<&str>) -> bool {
    let Some(text) = text else { return false };
    ctx.catalogue
        .method(ctx.product, method)
        .is_some_and(|m| m.errors.iter().any(|e| e.empty && e.text == text))
}

async fn second_answer(
    ctx: &Ctx,
    known: &Known,
    built: Result<BuiltRequest, crate::client::BuildError>,
) -> Result<model::xml::Document, Unanswered> {
    let unanswered = |message: String| Unanswered {
        message,
        error: None,
    };
    match built {
        Err(e) => Err(unanswered(e.to_string())),
        Ok(b) => match send(ctx, &b).await {
            Err(e) => Err(unanswered(format!("the second request failed: {e}"))),
            Ok(a) => {
                let r = check::read(&a, known);
                match r.doc {
                    Some(d) if r.error.is_none() => Ok(d),
                    _ => Err(Unanswered {
                        message: format!("the second request answered {}", check::describe(&a, &r)),
                        error: r.error.map(|(text, _)| text),
                    }),
                }
            }
        },
    }
}

async fn run_case_inner(
    ctx: &Ctx,
    ps: &PlannedScenario,
    pc: &PlannedCase,
    ep: &Endpoint<'_>,
) -> (CheckOutcome, Vec<String>) {
    let id = case_id(pc);
    let kind = pc.case.kind;
    if let Some(r) = skip_reason(ctx, ps, pc, ep) {
        return (
            CheckOutcome::other(id, kind, Status::Skipped, r),
            Vec::new(),
        );
    }
    let sign_ctx = SignContext {
        catalogue: &ctx.catalogue,
        product: ctx.product,
        quirks: ep.quirks,
        today: ep.today,
    };
    let build_req = |r: &Request| build(r, ep.credentials, &sign_ctx, ep.base);
    let request = resolve_request(&pc.case.request, ep);
    let expect = match expectation_for(ctx, pc, ep) {
        Ok(e) => redeliver_expect(
            ctx,
            pc,
            ep,
            rewrap_expect(ctx, pc, ep, resolve_expect(e, ep)),
        ),
        Err(why) => {
            return (
                CheckOutcome::other(id, kind, Status::Skipped, why),
                Vec::new(),
            )
        }
    };
    let req = match build_req(&request) {
        Ok(mut r) => {
            // A password goes into the reproduction as its source, by construction.
            for (name, v) in &pc.case.request.params.0 {
                let role = model::facts::reference(v).and_then(model::facts::password_of);
                if let Some(src) = role
                    .and_then(|role| ep.credentials.get(role))
                    .and_then(|c| c.password_source.clone())
                {
                    r.secret_params.push((name.clone(), src));
                }
            }
            r
        }
        Err(e) => {
            // A signature attack that the data makes right has nothing to check: skipped.
            let status = match e {
                crate::client::BuildError::NotWrong(_) => Status::Skipped,
                _ => Status::Error,
            };
            return (
                CheckOutcome::other(id, kind, status, e.to_string()),
                Vec::new(),
            );
        }
    };
    let curl = Some(req.curl());
    let answer = match send(ctx, &req).await {
        Ok(a) => a,
        Err(e) => {
            let mut o =
                CheckOutcome::other(id, kind, Status::Error, ep.secrets.message(&e.to_string()));
            o.curl = curl;
            return (o, Vec::new());
        }
    };
    let reading = check::read(&answer, ep.secrets);
    // The catalogue's sample as the target's quirk positions answer it (X3's payment_create and
    // device_list leave elements out).
    let quirk_sample = ctx
        .catalogue
        .method(ctx.product, &request.method)
        .and_then(|m| ep.quirks.sample_for(&m.name, &m.response.sample));
    let sample = match &quirk_sample {
        Some(s) => Some(s.as_str()),
        None => ctx
            .catalogue
            .method(ctx.product, &request.method)
            .map(|m| m.response.sample.as_str()),
    };
    // Other documented success shapes (MOR tariff_rates_get's retail tariffs and custom rates):
    // `structure: sample` holds when the answer has any of them.
    let alternatives = ctx
        .catalogue
        .method(ctx.product, &request.method)
        .map(|m| {
            ep.quirks
                .alternative_samples(ctx.product, &m.name, sample.unwrap_or_default())
        })
        .unwrap_or_default();
    let check_against_samples = |e: &Expect| -> Vec<check::Mismatch> {
        let first = check::check_answer(e, &answer, &reading, sample);
        if alternatives.is_empty() || !first.iter().any(|m| m.what == "structure") {
            return first;
        }
        alternatives
            .iter()
            .map(|alt| check::check_answer(e, &answer, &reading, Some(alt)))
            .find(|m| !m.iter().any(|x| x.what == "structure"))
            .unwrap_or(first)
    };
    let mut mismatches = check_against_samples(&expect);
    // A deployment whose data has no rows for this case (its answer is the method's documented
    // "nothing matches") has nothing to check: skipped, saying so. Only on a foreign target not
    // seeded with our world: in-process and seeded, the rows are known to exist.
    if kind != CheckKind::Exact
        && expect.error.is_none()
        && ctx.external.is_some()
        && !ctx.seeded
        && is_empty_answer(
            ctx,
            &request.method,
            reading.error.as_ref().map(|(t, _)| t.as_str()),
        )
    {
        let text = reading.error.as_ref().map_or("", |(t, _)| t.as_str());
        let mut o = CheckOutcome::other(
            id,
            kind,
            Status::Skipped,
            format!(
                "the target has no rows for this case: it answered `{text}`, the method's answer when nothing matches"
            ),
        );
        o.curl = curl;
        return (o, Vec::new());
    }
    // Read-backs of a write that the target cannot answer (see `unchecked_read_back`).
    let mut unchecked: Vec<String> = Vec::new();
    let positions: Vec<String> = pc
        .case
        .positions
        .iter()
        .filter(|(_, e)| check_against_samples(e).is_empty())
        .map(|(n, _)| n.clone())
        .collect();
    if let Some(rec) = &ctx.recording {
        mismatches.extend(rec.observe(ctx.product, &id, &answer, ep.secrets));
    }
    if pc.probe == Some(Probe::NotAnApiAnswer) && check::is_api_answer(&answer, &reading) {
        mismatches.push(Mismatch {
            what: "policy".into(),
            expected: "no API answer outside /billing/api/".into(),
            actual: check::describe(&answer, &reading),
            diff: None,
        });
    }
    let params: BTreeMap<String, String> = request.params.0.iter().cloned().collect();
    for inv in &expect.invariants {
        let root = reading.doc.as_ref().map(|d| &d.root);
        let what = format!("invariants.{}", invariant_name(inv));
        let no_doc = |mismatches: &mut Vec<Mismatch>| {
            mismatches.push(Mismatch {
                what: what.clone(),
                expected: "an XML answer to compare".into(),
                actual: check::describe(&answer, &reading),
                diff: None,
            })
        };
        // Invariants on this answer alone.
        match inv {
            Invariant::RowsInPeriod {
                rows,
                field,
                from,
                till,
            } => {
                let Some(root) = root else {
                    no_doc(&mut mismatches);
                    continue;
                };
                let num = |k: &str| params.get(k).and_then(|v| v.parse::<i64>().ok());
                let period = (
                    num(from.as_deref().unwrap_or("period_start")).unwrap_or(ep.today.0),
                    num(till.as_deref().unwrap_or("period_end")).unwrap_or(ep.today.1),
                );
                mismatches.extend(check::rows_in_period(root, rows, field, period));
                continue;
            }
            Invariant::RowsMatch {
                rows,
                field,
                one_of,
            } => {
                let Some(root) = root else {
                    no_doc(&mut mismatches);
                    continue;
                };
                mismatches.extend(check::rows_match(root, rows, field, one_of));
                continue;
            }
            Invariant::RatioRounded {
                rows,
                value,
                numerator,
                denominator,
                scale,
            } => {
                let Some(root) = root else {
                    no_doc(&mut mismatches);
                    continue;
                };
                mismatches.extend(check::ratio_rounded(
                    root,
                    rows,
                    value,
                    numerator,
                    denominator,
                    *scale,
                ));
                continue;
            }
            Invariant::CountEquals { rows, path } => {
                let Some(root) = root else {
                    no_doc(&mut mismatches);
                    continue;
                };
                mismatches.extend(check::count_equals(root, rows, path));
                continue;
            }
            Invariant::SameAcrossEncodings {} => {
                for enc in [Encoding::Query, Encoding::Form, Encoding::Json] {
                    if enc == request.encoding {
                        continue;
                    }
                    let mut r = request.clone();
                    r.encoding = enc;
                    let other = match build_req(&r) {
                        Err(e) => Err(e.to_string()),
                        Ok(b) => send(ctx, &b).await.map_err(|e| e.to_string()),
                    };
                    let name = format!("{enc:?}").to_lowercase();
                    match other {
                        Err(e) => mismatches.push(Mismatch {
                            what: format!("{what}.{name}"),
                            expected: format!("the same answer with a {name} body"),
                            actual: e,
                            diff: None,
                        }),
                        Ok(a) => {
                            if let Some(m) =
                                check::same_answer(&answer, &reading, &a, &name, ep.secrets)
                            {
                                mismatches.push(m);
                            }
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        let derived = |changes: &[(String, String)]| {
            let mut r = request.clone();
            for (k, v) in changes {
                match r.params.0.iter_mut().find(|(n, _)| n == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => r.params.0.push((k.clone(), v.clone())),
                }
            }
            r
        };
        if let Invariant::ScalesAfterWrite {
            read,
            base,
            path,
            factor,
        } = inv
        {
            if reading.error.is_some() {
                mismatches.push(Mismatch {
                    what,
                    expected: "the write to succeed".into(),
                    actual: check::describe(&answer, &reading),
                    diff: None,
                });
                continue;
            }
            let a = second_answer(ctx, ep.secrets, build_req(read)).await;
            let b = second_answer(ctx, ep.secrets, build_req(base)).await;
            let factor = check::substitute_params(factor, &params);
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    mismatches.extend(check::scales_by(&a.root, &b.root, path, &factor))
                }
                (Err(u), _) | (_, Err(u)) => mismatches.push(Mismatch {
                    what,
                    expected: "two answers to compare".into(),
                    actual: u.message,
                    diff: None,
                }),
            }
            continue;
        }
        let second = match inv {
            Invariant::NarrowerReturnsNoMore { params, .. } => Some(derived(&params.0)),
            Invariant::OrderDescReverses { .. } => {
                Some(derived(&[("order_desc".into(), "1".into())]))
            }
            Invariant::FinerGroupingSumsToCoarser { params, .. } => Some(derived(&params.0)),
            Invariant::ReadShowsWrite { read, .. } => {
                if let Some(why) = unchecked_read_back(ctx, ep, &pc.case.request, read) {
                    unchecked.push(why);
                    continue;
                }
                Some((**read).clone())
            }
            Invariant::SubsetOf { of, .. } => Some((**of).clone()),
            _ => None,
        };
        if let Invariant::SameValueAs { path, of, of_path } = inv {
            let Some(root) = root else {
                no_doc(&mut mismatches);
                continue;
            };
            let b = match second_answer(ctx, ep.secrets, build_req(of)).await {
                Ok(d) => check::value_at(&d.root, of_path),
                // The quantity read through a method that has nothing for the period is zero
                // (a quiet day: quick stats say 0 calls, aggregate_get `No data found`).
                Err(u) if is_empty_answer(ctx, &of.method, u.error.as_deref()) => Some("0".into()),
                Err(u) => {
                    mismatches.push(Mismatch {
                        what,
                        expected: "a second answer to compare".into(),
                        actual: u.message,
                        diff: None,
                    });
                    continue;
                }
            };
            let a = check::value_at(root, path);
            // Numbers compare as numbers (`60.0` and `60.0000` are one balance).
            let same = match (a.as_deref(), b.as_deref()) {
                (Some(x), Some(y)) => {
                    x == y
                        || matches!(
                            (x.parse::<f64>(), y.parse::<f64>()),
                            (Ok(p), Ok(q)) if (p - q).abs() < 1e-9
                        )
                }
                _ => false,
            };
            if !same {
                mismatches.push(Mismatch {
                    what,
                    expected: format!(
                        "{path} equal to {of_path} of the other answer ({})",
                        b.map_or_else(|| "no element".into(), |b| format!("`{b}`"))
                    ),
                    actual: a.map_or_else(|| "no element".into(), |a| format!("`{a}`")),
                    diff: None,
                });
            }
            continue;
        }
        let Some(second) = second else { continue };
        let Some(root) = root else {
            no_doc(&mut mismatches);
            continue;
        };
        let doc = match second_answer(ctx, ep.secrets, build_req(&second)).await {
            Ok(d) => d,
            // A narrower read answering that nothing matches has no rows: it returns no more.
            Err(u)
                if matches!(inv, Invariant::NarrowerReturnsNoMore { .. })
                    && is_empty_answer(ctx, &second.method, u.error.as_deref()) =>
            {
                continue;
            }
            Err(u) => {
                mismatches.push(Mismatch {
                    what,
                    expected: "a second answer to compare".into(),
                    actual: u.message,
                    diff: None,
                });
                continue;
            }
        };
        match inv {
            Invariant::NarrowerReturnsNoMore { rows, .. } => {
                mismatches.extend(check::narrower_returns_no_more(root, &doc.root, rows))
            }
            Invariant::OrderDescReverses { rows } => {
                mismatches.extend(check::order_desc_reverses(root, &doc.root, rows))
            }
            Invariant::FinerGroupingSumsToCoarser { rows, fields, .. } => {
                mismatches.extend(check::finer_sums_to_coarser(root, &doc.root, rows, fields))
            }
            Invariant::SubsetOf { rows, .. } => {
                mismatches.extend(check::subset_of(root, &doc.root, rows))
            }
            Invariant::ReadShowsWrite { path, value, .. } => {
                let want = check::substitute_params(value, &params);
                let got = check::value_at(&doc.root, path);
                if !got
                    .as_deref()
                    .is_some_and(|g| check::value_matches(&want, g))
                {
                    mismatches.push(Mismatch {
                        what,
                        expected: format!("`{want}` at {path} after the write"),
                        actual: got.map_or_else(|| "no element".into(), |g| format!("`{g}`")),
                        diff: None,
                    });
                }
            }
            _ => {}
        }
    }
    let failed = !mismatches.is_empty();
    let mut outcome =
        CheckOutcome::from_mismatches(id, kind, mismatches, if failed { curl } else { None });
    if !failed && !unchecked.is_empty() {
        unchecked.dedup();
        outcome.message = unchecked.join("; ");
    }
    (outcome, positions)
}

fn invariant_name(inv: &Invariant) -> &'static str {
    match inv {
        Invariant::TotalsEqualSumOfRows { .. } => "totals_equal_sum_of_rows",
        Invariant::ProfitIsRevenueMinusSelfCost { .. } => "profit_is_revenue_minus_self_cost",
        Invariant::NarrowerReturnsNoMore { .. } => "narrower_returns_no_more",
        Invariant::OrderDescReverses { .. } => "order_desc_reverses",
        Invariant::FinerGroupingSumsToCoarser { .. } => "finer_grouping_sums_to_coarser",
        Invariant::RowsInPeriod { .. } => "rows_in_period",
        Invariant::RowsMatch { .. } => "rows_match",
        Invariant::CountEquals { .. } => "count_equals",
        Invariant::RatioRounded { .. } => "ratio_rounded",
        Invariant::SubsetOf { .. } => "subset_of",
        Invariant::SameValueAs { .. } => "same_value_as",
        Invariant::SameAcrossEncodings {} => "same_across_encodings",
        Invariant::ScalesAfterWrite { .. } => "scales_after_write",
        Invariant::ReadShowsWrite { .. } => "read_shows_write",
    }
}
