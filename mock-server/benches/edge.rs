//! The edge benchmark (issue 15): mor-mock beside a bare axum server answering fixed bytes, in
//! the same run, each server pinned to one core and this load generator on the other.
//!
//! The bare server answers the bytes of mor-mock's quickstats answer (its body and content type,
//! fetched from the mock at the start of the run), so the ratio is what the mock adds to the
//! HTTP exchange of its answer. A second one, "bare short", answers 66 bytes, as the bare server
//! of earlier runs did; quickstats_get's ratio to it is printed too. Both bare servers get the
//! very request quickstats_get is measured with (its signed path), so reading and parsing it
//! costs every server the same.
//!
//! For each request (quickstats_get, user_calls_get and aggregate_get as the admin on the
//! default world, and quickstats_get with a bad hash) and for the bare server: requests per
//! second, requests per server CPU-second (utime + stime of the server process from
//! /proc/PID/stat) and its ratio to the bare server's, those CPU microseconds per request split
//! into user space and kernel, p50 and p99 latency, all over rounds that
//! interleave the targets so that a change in the machine's load falls on all of them. Then
//! allocations per request (this binary re-executed as the server, with a counting global
//! allocator), start-up to the first answer (median of several starts) and the peak RSS of the
//! mor-mock process after the rounds.
//!
//! Run: `cargo bench -p mock-server --bench edge`. `EDGE_SECONDS` (per target and round,
//! default 5), `EDGE_ROUNDS` (default 3), `EDGE_CONNECTIONS` (default 50), `EDGE_SERVER_CPU`
//! (default 0) and `EDGE_LOAD_CPU` (default 1) change the run. Pinning uses `taskset`.

use std::io::{BufRead as _, Write as _};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::sign::{self, SignOptions};
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Counts every allocation of this process (the re-executed servers report theirs).
#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the short bare server answers (`--serve bare`).
const FIXED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page><quickstats/></page>\n";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let serve = args
        .iter()
        .position(|a| a == "--serve")
        .and_then(|i| args.get(i + 1))
        .cloned();
    if let Some(what) = serve {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let rest = args
            .iter()
            .skip_while(|a| *a != "--serve")
            .skip(2)
            .cloned()
            .collect::<Vec<_>>();
        rt.block_on(serve_counted(&what, &rest));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--load") {
        // Load only, against a server already running (for profiling it: `perf stat -p PID`).
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        if let Err(e) = rt.block_on(load_only(&args[i + 1..])) {
            eprintln!("load failed: {e}");
            std::process::exit(3);
        }
        return;
    }
    if args.iter().any(|a| a == "--list") {
        // `cargo bench -- --list` and the like: nothing to list.
        return;
    }
    let load_cpu = env_num("EDGE_LOAD_CPU", 1);
    // Pin this process (and the threads it starts from now on) to the load generator's core.
    let pinned = std::process::Command::new("taskset")
        .args([
            "-pc",
            &load_cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !pinned {
        eprintln!("taskset failed: the load generator is not pinned");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    if let Err(e) = rt.block_on(bench()) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(3);
    }
}

/// `--load ADDR TARGET [SECONDS] [CONNECTIONS]`: the load of one target (a label of
/// [`targets`], or `bare` for the bare server's request) against a server at ADDR; prints the
/// requests answered.
async fn load_only(args: &[String]) -> Result<(), BoxError> {
    let addr = args
        .first()
        .ok_or("--load ADDR TARGET [SECONDS] [CONNECTIONS]")?;
    let label = args.get(1).map_or("quickstats_get", String::as_str);
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let conns: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(50);
    let targets = targets();
    let request = if label == "bare" {
        quickstats_request(&targets)?
    } else {
        targets
            .into_iter()
            .find(|t| t.label == label)
            .ok_or("unknown target")?
            .request
    };
    let s = load(
        addr,
        &request,
        conns,
        Duration::from_secs(seconds),
        None,
        100.0,
    )
    .await?;
    println!(
        "{label}: {} requests in {:.2} s ({:.0} req/s), {} errors",
        s.requests,
        s.wall,
        s.requests as f64 / s.wall.max(1e-9),
        s.errors
    );
    Ok(())
}

/// Serve and answer `allocs` on stdin with this process's allocation count. `bare`: fixed short
/// bytes; `bare-answer CONTENT_TYPE BODY`: these bytes as that content type; `mock`: mor-mock.
async fn serve_counted(what: &str, args: &[String]) {
    std::thread::spawn(|| {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim() == "allocs" {
                let s = GLOBAL.stats();
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "allocs {} {}", s.allocations, s.reallocations);
                let _ = out.flush();
            }
        }
        // The parent is gone: so is this server.
        std::process::exit(0);
    });
    let bare = |app: axum::Router| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        if let Ok(addr) = listener.local_addr() {
            println!("bare axum listening on http://{addr}");
        }
        let _ = axum::serve(listener, app).await;
    };
    match what {
        "bare" => bare(axum::Router::new().fallback(|| async { FIXED })).await,
        "bare-answer" => {
            // Static for the server's life, as FIXED is: no copy per request.
            let leak = |i: usize| -> &'static str {
                Box::leak(args.get(i).cloned().unwrap_or_default().into_boxed_str())
            };
            let (content_type, body) = (leak(0), leak(1));
            bare(axum::Router::new().fallback(move || async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        axum::http::HeaderValue::from_static(content_type),
                    )],
                    body,
                )
            }))
            .await
        }
        _ => {
            // As mor-mock logs (info to stderr), so the count includes what logging costs.
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .init();
            let config = mock_server::MockConfig::new(Product::M4);
            let server = mock_server::MockServer::start(config)
                .await
                .unwrap_or_else(|e| panic!("mock: {e}"));
            println!("mor-mock listening on {}", server.url());
            std::future::pending::<()>().await;
        }
    }
}

/// One kind of request the load sends.
struct Target {
    label: &'static str,
    request: Vec<u8>,
    /// Whether the answer is an API error by design (the bad hash).
    error_expected: bool,
}

fn signed_path(method: &str, params: &[(&str, &str)]) -> String {
    let m = Catalogue::embedded()
        .method(Product::M4, method)
        .unwrap_or_else(|| panic!("{method} is in the catalogue"));
    let mut p = Params::new().with("u", "admin");
    for (k, v) in params {
        p.push(*k, *v);
    }
    let hash = sign::sign(m, &p, true, "secret", &SignOptions::default());
    p.push("hash", hash);
    format!("/billing/api/{method}?{}", p.to_query())
}

fn request_bytes(path: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

/// The request of the quickstats_get target, which the bare servers get too.
fn quickstats_request(targets: &[Target]) -> Result<Vec<u8>, BoxError> {
    Ok(targets
        .iter()
        .find(|t| t.label == "quickstats_get")
        .ok_or("no quickstats_get target")?
        .request
        .clone())
}

fn targets() -> Vec<Target> {
    let bad = "/billing/api/quickstats_get?u=admin&hash=0000000000000000000000000000000000000000";
    vec![
        Target {
            label: "quickstats_get",
            request: request_bytes(&signed_path("quickstats_get", &[])),
            error_expected: false,
        },
        Target {
            label: "user_calls_get",
            request: request_bytes(&signed_path("user_calls_get", &[("s_user", "1")])),
            error_expected: false,
        },
        Target {
            label: "aggregate_get",
            request: request_bytes(&signed_path("aggregate_get", &[])),
            error_expected: false,
        },
        Target {
            label: "bad hash",
            request: request_bytes(bad),
            error_expected: true,
        },
    ]
}

/// A server process: its address, pid and (for the counting ones) its stdin and stdout.
struct Server {
    child: Child,
    addr: String,
    pid: u32,
    stdin: Option<ChildStdin>,
    lines: Option<tokio::io::Lines<BufReader<ChildStdout>>>,
}

impl Server {
    async fn start(program: &str, args: &[&str], cpu: u64) -> Result<Server, BoxError> {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c")
            .arg(cpu.to_string())
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(out).lines();
        let addr = read_url(&mut lines).await?;
        // taskset execs the server: the pid is the server's.
        let pid = child.id().ok_or("no pid")?;
        let stdin = child.stdin.take();
        Ok(Server {
            child,
            addr,
            pid,
            stdin,
            lines: Some(lines),
        })
    }

    /// The server's allocation count (counting servers only).
    async fn allocs(&mut self) -> Result<u64, BoxError> {
        let stdin = self.stdin.as_mut().ok_or("no stdin")?;
        stdin.write_all(b"allocs\n").await?;
        stdin.flush().await?;
        let lines = self.lines.as_mut().ok_or("no stdout")?;
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("allocs ") {
                let mut it = rest
                    .split_whitespace()
                    .map(|n| n.parse::<u64>().unwrap_or(0));
                let allocs = it.next().unwrap_or(0);
                let reallocs = it.next().unwrap_or(0);
                return Ok(allocs + reallocs);
            }
        }
        Err("the server did not report its allocations".into())
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

async fn read_url(
    lines: &mut tokio::io::Lines<BufReader<ChildStdout>>,
) -> Result<String, BoxError> {
    while let Some(line) = lines.next_line().await? {
        if let Some(i) = line.find("http://") {
            let rest = &line[i + 7..];
            let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            return Ok(rest[..end].to_string());
        }
    }
    Err("the server printed no URL".into())
}

/// utime + stime of a process, in seconds.
/// The CPU seconds `pid` has used: (user, system).
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime / ticks_per_second, stime / ticks_per_second))
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Read one HTTP/1.1 response with a Content-Length into `buf` (cleared first).
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), BoxError> {
    buf.clear();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let len = content_length(&buf[..end]).ok_or("response without content-length")?;
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err("connection closed mid-body".into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(());
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The content type and the body of a whole response.
fn content_type_and_body(response: &[u8]) -> Result<(String, String), BoxError> {
    let end = find(response, b"\r\n\r\n").ok_or("a response without a head")?;
    let head = std::str::from_utf8(&response[..end])?;
    let content_type = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .ok_or("a response without a content type")?;
    let body = std::str::from_utf8(&response[end + 4..])?.to_string();
    Ok((content_type, body))
}

fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let line = std::str::from_utf8(line).ok()?;
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

async fn one_request(addr: &str, request: &[u8]) -> Result<Vec<u8>, BoxError> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(request).await?;
    let mut buf = Vec::new();
    read_response(&mut s, &mut buf).await?;
    Ok(buf)
}

fn check(answer: &[u8], error_expected: bool) -> Result<(), BoxError> {
    let text = String::from_utf8_lossy(answer);
    let ok = text.starts_with("HTTP/1.1 200") && text.contains("<error>") == error_expected;
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected answer: {text}").into())
    }
}

/// What one round of load against one target measured.
#[derive(Default, Clone)]
struct Sample {
    requests: u64,
    errors: u64,
    wall: f64,
    cpu: f64,
    /// The user-space part of `cpu`.
    user: f64,
    latencies_us: Vec<u32>,
}

/// `conns` keep-alive connections each sending `request` one after another for `duration`.
async fn load(
    addr: &str,
    request: &[u8],
    conns: usize,
    duration: Duration,
    pid: Option<u32>,
    ticks: f64,
) -> Result<Sample, BoxError> {
    let start = Instant::now();
    let deadline = start + duration;
    let cpu = |pid: Option<u32>| match pid {
        Some(pid) => cpu_seconds(pid, ticks).ok_or("no /proc stat for the server"),
        None => Ok((0.0, 0.0)),
    };
    let cpu0 = cpu(pid)?;
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let addr = addr.to_string();
        let req = request.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(200_000);
            let mut errors = 0u64;
            let mut buf = Vec::with_capacity(16384);
            let Ok(mut s) = TcpStream::connect(&addr).await else {
                return (lat, 1);
            };
            let _ = s.set_nodelay(true);
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = s.write_all(&req).await.is_ok()
                    && read_response(&mut s, &mut buf).await.is_ok();
                if ok {
                    lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                } else {
                    errors += 1;
                    match TcpStream::connect(&addr).await {
                        Ok(n) => s = n,
                        Err(_) => break,
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut sample = Sample::default();
    for t in tasks {
        let (lat, e) = t.await?;
        sample.requests += lat.len() as u64;
        sample.latencies_us.extend(lat);
        sample.errors += e;
    }
    sample.wall = start.elapsed().as_secs_f64();
    let cpu1 = cpu(pid)?;
    sample.user = cpu1.0 - cpu0.0;
    sample.cpu = sample.user + cpu1.1 - cpu0.1;
    Ok(sample)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Allocations per request of `server` for `request`, over `n` requests on one connection.
async fn allocs_per_request(server: &mut Server, request: &[u8], n: u64) -> Result<f64, BoxError> {
    let mut s = TcpStream::connect(&server.addr).await?;
    let _ = s.set_nodelay(true);
    let mut buf = Vec::new();
    for _ in 0..200 {
        s.write_all(request).await?;
        read_response(&mut s, &mut buf).await?;
    }
    let before = server.allocs().await?;
    for _ in 0..n {
        s.write_all(request).await?;
        read_response(&mut s, &mut buf).await?;
    }
    let after = server.allocs().await?;
    // The two `allocs` exchanges allocate a little themselves (a line, a lock): negligible
    // beside n requests.
    Ok((after - before) as f64 / n as f64)
}

async fn startup_ms(mock_bin: &str) -> Result<(f64, f64), BoxError> {
    let probe = request_bytes(&signed_path("quickstats_get", &[]));
    let t0 = Instant::now();
    let mut mock = Command::new(mock_bin)
        .args(["--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let out = mock.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(out).lines();
    let addr = read_url(&mut lines).await?;
    let url_at = t0.elapsed();
    let first = loop {
        if let Ok(answer) = one_request(&addr, &probe).await {
            check(&answer, false)?;
            break t0.elapsed();
        }
        if t0.elapsed() > Duration::from_secs(10) {
            return Err("mor-mock did not answer within 10 s".into());
        }
        tokio::task::yield_now().await;
    };
    let _ = mock.kill().await;
    Ok((url_at.as_secs_f64() * 1e3, first.as_secs_f64() * 1e3))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn bench() -> Result<(), BoxError> {
    let seconds = env_num("EDGE_SECONDS", 5);
    let rounds = env_num("EDGE_ROUNDS", 3);
    let conns = env_num("EDGE_CONNECTIONS", 50) as usize;
    let server_cpu = env_num("EDGE_SERVER_CPU", 0);
    let mock_bin = env!("CARGO_BIN_EXE_mor-mock");
    let me = std::env::current_exe()?;
    let me = me
        .to_str()
        .ok_or("the bench's path is not UTF-8")?
        .to_string();
    let ticks = clock_ticks();
    let load_before = loadavg();

    // Start-up: median of five starts (unpinned, as a user starts it).
    let mut url = Vec::new();
    let mut first = Vec::new();
    for _ in 0..if rounds == 0 { 0 } else { 5 } {
        let (u, f) = startup_ms(mock_bin).await?;
        url.push(u);
        first.push(f);
    }

    let targets = targets();
    let mock = Server::start(mock_bin, &["--bind", "127.0.0.1:0"], server_cpu).await?;
    let mut quickstats_answer = None;
    for t in &targets {
        let answer = one_request(&mock.addr, &t.request).await?;
        check(&answer, t.error_expected)?;
        if t.label == "quickstats_get" {
            quickstats_answer = Some(answer);
        }
    }
    // The bare server answers the bytes of mor-mock's quickstats answer, as the mock sends them
    // in this run: what both servers pay to send them is then the same, and the ratio is what the
    // mock adds to it. A second bare server answers 66 bytes (as this bench did before): the
    // answer's ~600 bytes cost either server about half a microsecond more per request, mostly
    // in the kernel (measured 2026-11-29: 1.86+3.83 us user+kernel against 1.71+3.44).
    let (content_type, body) = content_type_and_body(&quickstats_answer.unwrap_or_default())?;
    let bare_args = [
        "--serve",
        "bare-answer",
        content_type.as_str(),
        body.as_str(),
    ];
    let short_args = ["--serve", "bare"];
    let bare = Server::start(&me, &bare_args, server_cpu).await?;
    let short = Server::start(&me, &short_args, server_cpu).await?;
    // The bare servers get the very request quickstats_get is measured with (its signed path):
    // reading and parsing it is the HTTP stack's work, the same for every server.
    let fixed = quickstats_request(&targets)?;

    // Rounds: the bare servers, then every request, in an order that turns each round.
    let duration = Duration::from_secs(seconds);
    let n = targets.len() + 2;
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); n];
    for round in 0..rounds as usize {
        for k in 0..n {
            let i = (k + round) % n;
            let (server, request) = match i {
                0 => (&bare, &fixed),
                1 => (&short, &fixed),
                _ => (&mock, &targets[i - 2].request),
            };
            let sample = load(
                &server.addr,
                request,
                conns,
                duration,
                Some(server.pid),
                ticks,
            )
            .await?;
            samples[i].push(sample);
        }
    }
    let rss_kb = vm_hwm_kb(mock.pid).unwrap_or(0);
    let bare_rss_kb = vm_hwm_kb(bare.pid).unwrap_or(0);
    mock.stop().await;
    bare.stop().await;
    short.stop().await;

    // Allocations per request: this binary as the server, with its counting allocator.
    let mut counted = Server::start(&me, &["--serve", "mock"], server_cpu).await?;
    let mut allocs = Vec::new();
    for t in &targets {
        allocs.push(allocs_per_request(&mut counted, &t.request, 5_000).await?);
    }
    counted.stop().await;
    let mut bare_allocs = Vec::new();
    for args in [&bare_args[..], &short_args[..]] {
        let mut counted_bare = Server::start(&me, args, server_cpu).await?;
        bare_allocs.push(allocs_per_request(&mut counted_bare, &fixed, 5_000).await?);
        counted_bare.stop().await;
    }
    let load_after = loadavg();

    println!(
        "mor-mock edge benchmark: {conns} keep-alive connections, {rounds} interleaved rounds of {seconds} s per target"
    );
    println!(
        "  servers pinned to CPU {server_cpu}, load generator to CPU {}; load average before {load_before}, after {load_after}",
        env_num("EDGE_LOAD_CPU", 1)
    );
    println!(
        "  bare axum answers mor-mock's quickstats answer ({} bytes, {content_type}); bare short answers {} bytes",
        body.len(),
        FIXED.len()
    );
    println!(
        "  {:<16} {:>10} {:>14} {:>9} {:>8} {:>8} {:>10} {:>7} {:>14}",
        "target",
        "req/s",
        "req/server-s",
        "of bare",
        "p50 ms",
        "p99 ms",
        "allocs/req",
        "errors",
        "us/req usr+sys"
    );
    let summary = |s: &[Sample]| {
        let requests: u64 = s.iter().map(|x| x.requests).sum();
        let wall: f64 = s.iter().map(|x| x.wall).sum();
        let cpu: f64 = s.iter().map(|x| x.cpu).sum();
        let errors: u64 = s.iter().map(|x| x.errors).sum();
        let mut lat: Vec<u32> = s
            .iter()
            .flat_map(|x| x.latencies_us.iter().copied())
            .collect();
        lat.sort_unstable();
        let user: f64 = s.iter().map(|x| x.user).sum();
        // Server CPU microseconds per request, in user space and in the kernel.
        let per_request = |t: f64| t * 1e6 / (requests as f64).max(1.0);
        let split = format!("{:.2}+{:.2}", per_request(user), per_request(cpu - user));
        (
            requests as f64 / wall.max(1e-9),
            requests as f64 / cpu.max(1e-9),
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            errors,
            split,
        )
    };
    let labels = ["bare axum", "bare short"];
    if rounds == 0 {
        // Allocations only (EDGE_ROUNDS=0).
        for (label, a) in labels.iter().zip(&bare_allocs) {
            println!("  {label:<16} {a:>10.1}");
        }
        for (i, t) in targets.iter().enumerate() {
            println!("  {:<16} {:>10.1}", t.label, allocs[i]);
        }
        return Ok(());
    }
    let bare_summary = summary(&samples[0]);
    let rows = labels
        .iter()
        .zip(&bare_allocs)
        .chain(targets.iter().map(|t| &t.label).zip(&allocs));
    let mut quickstats_p99 = f64::MAX;
    for (i, (label, a)) in rows.enumerate() {
        let s = summary(&samples[i]);
        let ratio = s.1 / bare_summary.1.max(1e-9);
        if i == 2 {
            quickstats_p99 = s.3;
        }
        println!(
            "  {:<16} {:>10.0} {:>14.0} {:>9.2} {:>8.3} {:>8.3} {:>10.1} {:>7} {:>14}",
            label, s.0, s.1, ratio, s.2, s.3, a, s.4, s.5
        );
    }
    // Requests per server CPU-second of quickstats_get over a bare server's: overall and round
    // by round (mock/bare).
    let of = |b: usize| {
        let per_cpu = |s: &[Sample]| {
            let requests: u64 = s.iter().map(|x| x.requests).sum();
            requests as f64 / s.iter().map(|x| x.cpu).sum::<f64>().max(1e-9)
        };
        let rounds: Vec<String> = samples[2]
            .iter()
            .zip(&samples[b])
            .map(|(m, s)| {
                let (m, s) = (
                    per_cpu(std::slice::from_ref(m)),
                    per_cpu(std::slice::from_ref(s)),
                );
                format!("{:.2} ({m:.0}/{s:.0})", m / s)
            })
            .collect();
        (
            per_cpu(&samples[2]) / per_cpu(&samples[b]),
            rounds.join(", "),
        )
    };
    let (quickstats_ratio, by_round) = of(0);
    let (short_ratio, short_by_round) = of(1);
    println!("  quickstats_get per server CPU-second, of bare axum, round by round: {by_round}");
    println!(
        "  quickstats_get per server CPU-second, of bare short: {short_ratio:.2}; round by round: {short_by_round}"
    );
    let first_ms = median(first);
    println!(
        "  start-up: URL printed after {:.1} ms, first answer after {:.1} ms (median of 5)",
        median(url),
        first_ms
    );
    println!(
        "  peak RSS: mor-mock {:.1} MiB, bare axum {:.1} MiB",
        rss_kb as f64 / 1024.0,
        bare_rss_kb as f64 / 1024.0
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "  targets: >= 0.80 of bare per server CPU-second {} ({quickstats_ratio:.2}), p99 < 1 ms {} ({quickstats_p99:.3} ms), start-up < 20 ms {} ({first_ms:.1} ms), peak RSS < 20 MiB {} ({:.1} MiB)",
        verdict(quickstats_ratio >= 0.8),
        verdict(quickstats_p99 < 1.0),
        verdict(first_ms < 20.0),
        verdict(rss_kb < 20 * 1024),
        rss_kb as f64 / 1024.0
    );
    Ok(())
}
