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
use model::catalogue::{Catalogue, Product};
use model::quirks::Quirks;
use model::scenario::{CheckKind, Invariant, Request};
use tokio::sync::Semaphore;

use crate::check::{self, CaseId, CheckOutcome, Mismatch, Status};
use crate::client::{build, today_utc, BuiltRequest, Client, Limits, SignContext};
use crate::exit::Failure;
use crate::inproc::InProcess;
use crate::plan::{self, Partition, Plan, PlannedCase, PlannedScenario, Policy, Probe, Selection};
use crate::report::{self, Redactor, RunReport, Summary};
use crate::target::{Credentials, External, TargetArgs};

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
    /// Write a JUnit XML report.
    #[arg(long, env = "MOR_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report.
    #[arg(long, env = "MOR_JSON", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Per-request timeout in seconds.
    #[arg(long, env = "MOR_TIMEOUT", default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// Requests in flight at most (and in-process mocks running at once).
    #[arg(long, env = "MOR_JOBS", default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Requests per second at most.
    #[arg(long, env = "MOR_RATE", value_name = "R")]
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
}

/// Where one scenario's cases go.
struct Endpoint<'a> {
    base: &'a str,
    credentials: &'a Credentials,
    quirks: &'a Quirks,
    today: (i64, i64),
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
    if args.list {
        for c in plan.cases() {
            println!(
                "{}:{} [{}] {} ({})",
                c.file,
                c.line,
                check::kind_name(c.case.kind),
                c.case.name,
                c.case.request.method
            );
        }
        println!("{} cases for {product}", plan.len());
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
    let mut secrets: Vec<String> = external
        .as_ref()
        .map(|e| e.credentials.secrets())
        .unwrap_or_default();
    let ctx = Arc::new(Ctx {
        catalogue,
        product,
        client,
        requests: Semaphore::new(args.jobs),
        external,
        seeded,
        allow_writes: args.allow_writes,
        recording: match (&args.record, &args.compare) {
            (Some(dir), _) => Some((dir.clone(), crate::record::Mode::Record)),
            (None, Some(dir)) => Some((dir.clone(), crate::record::Mode::Compare)),
            (None, None) => None,
        }
        .map(|(dir, mode)| crate::record::Recording {
            dir,
            mode,
            secrets: secrets.clone(),
        }),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.jobs.clamp(1, 4))
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    let total = plan.len();
    let started = Instant::now();
    let (mut outcomes, inproc_secrets) =
        runtime.block_on(execute(ctx.clone(), plan, args.jobs, total));
    secrets.extend(inproc_secrets);
    outcomes.sort_by(|a, b| {
        (a.case.file.as_str(), a.case.index).cmp(&(b.case.file.as_str(), b.case.index))
    });
    let redactor = Redactor::new(secrets);
    for o in &mut outcomes {
        redactor.outcome(o);
    }
    let summary = Summary::of(&outcomes);
    let report = RunReport {
        product: product.to_string(),
        target: target_label,
        seeded,
        summary,
        outcomes,
    };
    print!("{}", report::terminal(&report));
    if !is_ci() {
        eprintln!("finished in {:.1?}", started.elapsed());
    }
    let mut code = if summary.errors > 0 {
        crate::exit::RUNTIME
    } else if summary.failed > 0 {
        crate::exit::ASSERTION
    } else {
        crate::exit::PASS
    };
    if let Some(f) = &args.junit {
        let text = report::junit(&report).map(|t| redactor.apply(&t));
        if let Err(e) = text.and_then(|t| std::fs::write(f, t).map_err(|e| e.to_string())) {
            eprintln!("mor-conformance: cannot write {}: {e}", f.display());
            code = crate::exit::RUNTIME;
        }
    }
    if let Some(f) = &args.json {
        let text = report::json(&report).map(|t| redactor.apply(&t));
        if let Err(e) = text.and_then(|t| std::fs::write(f, t).map_err(|e| e.to_string())) {
            eprintln!("mor-conformance: cannot write {}: {e}", f.display());
            code = crate::exit::RUNTIME;
        }
    }
    Ok(code)
}

/// CI or not a terminal: plain output, no progress line.
fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
        || !std::io::stderr().is_terminal()
}

/// Run every scenario; returns the outcomes (unsorted) and the in-process secrets to redact.
async fn execute(
    ctx: Arc<Ctx>,
    plan: Plan,
    jobs: usize,
    total: usize,
) -> (Vec<CheckOutcome>, Vec<String>) {
    let scenarios = Arc::new(Semaphore::new(jobs));
    let progress = Arc::new(Progress::new(total));
    let mut set = tokio::task::JoinSet::new();
    for ps in plan.scenarios {
        let ctx = ctx.clone();
        let scenarios = scenarios.clone();
        let progress = progress.clone();
        set.spawn(async move {
            let _permit = scenarios.acquire().await.ok();
            run_scenario(&ctx, ps, &progress).await
        });
    }
    let mut outcomes = Vec::with_capacity(total);
    let mut secrets = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok((o, s)) => {
                outcomes.extend(o);
                secrets.extend(s);
            }
            Err(e) => outcomes.push(CheckOutcome::other(
                CaseId {
                    file: "<runner>".into(),
                    index: usize::MAX,
                    line: 0,
                    name: "a scenario task".into(),
                    method: String::new(),
                },
                CheckKind::Protocol,
                Status::Error,
                format!("the task running a scenario failed: {e}"),
            )),
        }
    }
    progress.finish();
    (outcomes, secrets)
}

/// A progress line on a terminal; nothing in CI.
struct Progress {
    total: usize,
    done: std::sync::atomic::AtomicUsize,
    on: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            done: Default::default(),
            on: !is_ci(),
        }
    }

    fn tick(&self) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if self.on {
            eprint!("\r{n}/{} cases", self.total);
        }
    }

    fn finish(&self) {
        if self.on && self.total > 0 {
            eprintln!();
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

async fn run_scenario(
    ctx: &Ctx,
    ps: PlannedScenario,
    progress: &Progress,
) -> (Vec<CheckOutcome>, Vec<String>) {
    let mut out = Vec::with_capacity(ps.cases.len());
    // Cases of one scenario run in file order: a write changes what later cases read.
    match &ctx.external {
        Some(ext) => {
            let ep = Endpoint {
                base: &ext.base,
                credentials: &ext.credentials,
                quirks: &ext.quirks,
                today: today_utc(),
            };
            for pc in &ps.cases {
                out.push(run_case(ctx, &ps, pc, &ep).await);
                progress.tick();
            }
            (out, Vec::new())
        }
        None => {
            let scenario = (ps.loaded.path != plan::POLICY_FILE).then_some(&ps.loaded.scenario);
            match InProcess::start(scenario, ctx.product).await {
                Ok(mock) => {
                    // `sign: auto` signs the way this target verifies (the scenario's quirks);
                    // the other modes sign against it.
                    let ep = Endpoint {
                        base: &mock.base,
                        credentials: &mock.credentials,
                        quirks: &mock.quirks,
                        today: mock.today,
                    };
                    for pc in &ps.cases {
                        out.push(run_case(ctx, &ps, pc, &ep).await);
                        progress.tick();
                    }
                    // The mock's documented default secret (`secret`) is public and a common
                    // word: masking it would garble case names. Any other secret is masked.
                    let secrets = mock
                        .credentials
                        .roles
                        .values()
                        .map(|c| c.secret.clone())
                        .filter(|s| s != "secret")
                        .collect();
                    mock.shutdown().await;
                    (out, secrets)
                }
                Err(m) => {
                    for pc in &ps.cases {
                        out.push(CheckOutcome::other(
                            case_id(pc),
                            pc.case.kind,
                            Status::Error,
                            m.clone(),
                        ));
                        progress.tick();
                    }
                    (out, Vec::new())
                }
            }
        }
    }
}

/// Why a case cannot run on this target, if it cannot.
fn skip_reason(ctx: &Ctx, ps: &PlannedScenario, pc: &PlannedCase) -> Option<String> {
    let external = ctx.external.is_some();
    if check::needs_seeded_world(pc.case.kind) && !ctx.seeded {
        return Some("needs the seeded world".into());
    }
    let s = &ps.loaded.scenario;
    if external && !ctx.seeded {
        let records = s
            .world
            .as_ref()
            .is_some_and(|w| w.data != Default::default());
        if s.settings.is_some() {
            return Some(
                "needs the scenario's settings, which a foreign target does not have".into(),
            );
        }
        if s.overlay.is_some() {
            return Some("needs the scenario's overlay (mock only)".into());
        }
        if records {
            return Some("needs the scenario's world records".into());
        }
    }
    let writes = ctx
        .catalogue
        .method(ctx.product, &pc.case.request.method)
        .is_some_and(|m| m.writes);
    if external && writes && !ctx.allow_writes {
        return Some("writes: needs --allow-writes against a real target".into());
    }
    None
}

/// Whether a case documents an undocumented behaviour (see the module documentation).
fn documents_quirk(ps: &PlannedScenario, pc: &PlannedCase) -> bool {
    ps.loaded.scenario.quirks.is_some()
        || pc
            .case
            .tags
            .iter()
            .any(|t| t == "unk" || t == "quirk" || t == "observe" || t.starts_with("quirk:"))
}

async fn run_case(
    ctx: &Ctx,
    ps: &PlannedScenario,
    pc: &PlannedCase,
    ep: &Endpoint<'_>,
) -> CheckOutcome {
    let started = Instant::now();
    let mut o = run_case_inner(ctx, ps, pc, ep).await;
    o.millis = started.elapsed().as_millis() as u64;
    if o.status == Status::Failed
        && ctx.external.is_some()
        && !ctx.seeded
        && documents_quirk(ps, pc)
    {
        o.status = Status::Observed;
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

async fn run_case_inner(
    ctx: &Ctx,
    ps: &PlannedScenario,
    pc: &PlannedCase,
    ep: &Endpoint<'_>,
) -> CheckOutcome {
    let id = case_id(pc);
    let kind = pc.case.kind;
    if let Some(r) = skip_reason(ctx, ps, pc) {
        return CheckOutcome::other(id, kind, Status::Skipped, r);
    }
    let sign_ctx = SignContext {
        catalogue: &ctx.catalogue,
        product: ctx.product,
        quirks: ep.quirks,
        today: ep.today,
    };
    let build_req = |r: &Request| build(r, ep.credentials, &sign_ctx, ep.base);
    let req = match build_req(&pc.case.request) {
        Ok(r) => r,
        Err(e) => return CheckOutcome::other(id, kind, Status::Error, e.to_string()),
    };
    let curl = Some(req.curl());
    let answer = match send(ctx, &req).await {
        Ok(a) => a,
        Err(e) => {
            let mut o = CheckOutcome::other(id, kind, Status::Error, e.to_string());
            o.curl = curl;
            return o;
        }
    };
    let reading = check::read(&answer);
    let sample = ctx
        .catalogue
        .method(ctx.product, &pc.case.request.method)
        .map(|m| m.response.sample.as_str());
    let mut mismatches = check::check_answer(&pc.case.expect, &answer, &reading, sample);
    if let Some(rec) = &ctx.recording {
        mismatches.extend(rec.observe(ctx.product, &id, &answer));
    }
    if pc.probe == Some(Probe::NotAnApiAnswer) && check::is_api_answer(&answer, &reading) {
        mismatches.push(Mismatch {
            what: "policy".into(),
            expected: "no API answer outside /billing/api/".into(),
            actual: check::describe(&answer, &reading),
            diff: None,
        });
    }
    for inv in &pc.case.expect.invariants {
        let root = reading.doc.as_ref().map(|d| &d.root);
        let derived = |params: &[(String, String)]| {
            let mut r = pc.case.request.clone();
            for (k, v) in params {
                match r.params.0.iter_mut().find(|(n, _)| n == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => r.params.0.push((k.clone(), v.clone())),
                }
            }
            r
        };
        let second = match inv {
            Invariant::NarrowerReturnsNoMore { params, .. } => Some(derived(&params.0)),
            Invariant::OrderDescReverses { .. } => {
                Some(derived(&[("order_desc".into(), "1".into())]))
            }
            Invariant::FinerGroupingSumsToCoarser { params, .. } => Some(derived(&params.0)),
            Invariant::ReadShowsWrite { read, .. } => Some((**read).clone()),
            _ => None,
        };
        let Some(second) = second else { continue };
        let what = format!("invariants.{}", invariant_name(inv));
        let Some(root) = root else {
            mismatches.push(Mismatch {
                what,
                expected: "an XML answer to compare".into(),
                actual: check::describe(&answer, &reading),
                diff: None,
            });
            continue;
        };
        let second_doc = match build_req(&second) {
            Err(e) => Err(e.to_string()),
            Ok(b) => match send(ctx, &b).await {
                Err(e) => Err(format!("the second request failed: {e}")),
                Ok(a) => {
                    let r = check::read(&a);
                    match r.doc {
                        Some(d) if r.error.is_none() => Ok(d),
                        _ => Err(format!(
                            "the second request answered {}",
                            check::describe(&a, &r)
                        )),
                    }
                }
            },
        };
        let doc = match second_doc {
            Ok(d) => d,
            Err(m) => {
                mismatches.push(Mismatch {
                    what,
                    expected: "a second answer to compare".into(),
                    actual: m,
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
            Invariant::ReadShowsWrite { path, value, .. } => {
                let params: BTreeMap<String, String> =
                    pc.case.request.params.0.iter().cloned().collect();
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
    CheckOutcome::from_mismatches(id, kind, mismatches, if failed { curl } else { None })
}

fn invariant_name(inv: &Invariant) -> &'static str {
    match inv {
        Invariant::TotalsEqualSumOfRows { .. } => "totals_equal_sum_of_rows",
        Invariant::ProfitIsRevenueMinusSelfCost { .. } => "profit_is_revenue_minus_self_cost",
        Invariant::NarrowerReturnsNoMore { .. } => "narrower_returns_no_more",
        Invariant::OrderDescReverses { .. } => "order_desc_reverses",
        Invariant::FinerGroupingSumsToCoarser { .. } => "finer_grouping_sums_to_coarser",
        Invariant::ReadShowsWrite { .. } => "read_shows_write",
    }
}
