//! Throughput benchmark of `mor-mock` beside a bare axum server, measured in the same run with the
//! same load generator (issue 3's figures):
//!
//! - quickstats_get (admin, default world) requests/s and p50/p99 latency with 64 concurrent
//!   keep-alive connections on loopback for a fixed time;
//! - start-up time from spawning `mor-mock --bind 127.0.0.1:0` to the first successful answer;
//! - peak resident memory of that process (`VmHWM` in /proc/PID/status);
//! - the same load against a bare axum server returning fixed bytes (this binary re-executed with
//!   `--bare-axum`, so both servers are separate processes).
//!
//! Run: `cargo bench -p mock-server --bench throughput` (release profile). `BENCH_SECONDS`
//! changes the load duration (default 5), `BENCH_CONNECTIONS` the connection count (default 64).
//!
//! `benches/soak.rs` includes this file as a module to share its HTTP/1.1 helpers (`read_addr`,
//! `read_response`, `vm_hwm_kb`, `env_num`), which are `pub(crate)` for that reason.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// sha1("secret"): the admin's quickstats_get hash (no hashed parameters for the admin).
const REQUEST_PATH: &str =
    "/billing/api/quickstats_get?u=admin&hash=e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4";

pub(crate) fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            std::process::exit(3);
        }
    };
    if std::env::args().any(|a| a == "--bare-axum") {
        rt.block_on(bare_axum());
        return;
    }
    if let Err(e) = rt.block_on(bench()) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(3);
    }
}

/// A bare axum server answering fixed bytes to every request.
async fn bare_axum() {
    const FIXED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page><quickstats/></page>\n";
    let app = axum::Router::new().fallback(|| async { FIXED });
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bind: {e}");
            return;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("bare axum listening on http://{addr}");
    }
    let _ = axum::serve(listener, app).await;
}

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn bench() -> Result<(), BoxError> {
    let seconds = env_num("BENCH_SECONDS", 5);
    let conns = env_num("BENCH_CONNECTIONS", 64) as usize;
    let mock_bin = env!("CARGO_BIN_EXE_mor-mock");

    // Start-up: spawn, wait for the URL line, then poll until the first successful answer.
    let t0 = Instant::now();
    let mut mock = Command::new(mock_bin)
        .args(["--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let addr = read_addr(&mut mock).await?;
    let url_at = t0.elapsed();
    let first = loop {
        if let Ok(Ok(())) = one_request(&addr).await.map(|b| check_ok(&b)) {
            break t0.elapsed();
        }
        if t0.elapsed() > Duration::from_secs(10) {
            return Err("mor-mock did not answer within 10 s".into());
        }
        tokio::task::yield_now().await;
    };
    let pid = mock.id().ok_or("mor-mock has no pid")?;
    let sample = one_request(&addr).await?;
    check_ok(&sample)?;

    let mock_load = load(&addr, conns, Duration::from_secs(seconds)).await?;
    let rss_kb = vm_hwm_kb(pid).unwrap_or(0);
    let _ = mock.kill().await;

    let mut bare = Command::new(std::env::current_exe()?)
        .arg("--bare-axum")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let bare_addr = read_addr(&mut bare).await?;
    let bare_pid = bare.id().ok_or("bare axum has no pid")?;
    let bare_load = load(&bare_addr, conns, Duration::from_secs(seconds)).await?;
    let bare_rss_kb = vm_hwm_kb(bare_pid).unwrap_or(0);
    let _ = bare.kill().await;

    let ratio = mock_load.rps / bare_load.rps.max(1.0);
    println!("mor-mock throughput benchmark ({conns} keep-alive connections, {seconds} s each, loopback)");
    println!("  request: POST {REQUEST_PATH} (default world, product m4)");
    println!(
        "  mor-mock   : {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} requests, {} errors)",
        mock_load.rps, mock_load.p50_ms, mock_load.p99_ms, mock_load.max_ms, mock_load.requests, mock_load.errors
    );
    println!(
        "  bare axum  : {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} requests, {} errors)",
        bare_load.rps, bare_load.p50_ms, bare_load.p99_ms, bare_load.max_ms, bare_load.requests, bare_load.errors
    );
    println!("  ratio      : {:.2} of bare axum (target >= 0.50)", ratio);
    println!(
        "  start-up   : URL printed after {:.1} ms, first answer after {:.1} ms (target < 50 ms)",
        url_at.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3
    );
    println!(
        "  peak RSS   : mor-mock {:.1} MB, bare axum {:.1} MB (target < 30 MB)",
        rss_kb as f64 / 1024.0,
        bare_rss_kb as f64 / 1024.0
    );
    println!(
        "  targets    : throughput {}, p99 {}, start-up {}, memory {}",
        verdict(ratio >= 0.5),
        verdict(mock_load.p99_ms < 5.0),
        verdict(first < Duration::from_millis(50)),
        verdict(rss_kb < 30 * 1024)
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

pub(crate) async fn read_addr(child: &mut Child) -> Result<String, BoxError> {
    let out = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(out).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(i) = line.find("http://") {
            let rest = &line[i + 7..];
            let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            return Ok(rest[..end].to_string());
        }
    }
    Err("the server printed no URL".into())
}

pub(crate) fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn request_bytes() -> Vec<u8> {
    format!("POST {REQUEST_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        .into_bytes()
}

fn check_ok(response: &[u8]) -> Result<(), BoxError> {
    let text = String::from_utf8_lossy(response);
    if text.starts_with("HTTP/1.1 200") && !text.contains("<error>") {
        Ok(())
    } else {
        Err(format!("unexpected answer: {text}").into())
    }
}

async fn one_request(addr: &str) -> Result<Vec<u8>, BoxError> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(&request_bytes()).await?;
    let mut buf = Vec::new();
    read_response(&mut s, &mut buf).await?;
    Ok(buf)
}

/// Read one HTTP/1.1 response with a Content-Length into `buf` (cleared first).
pub(crate) async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), BoxError> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or("response without content-length")?;
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

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct LoadResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    requests: usize,
    errors: usize,
}

/// `conns` keep-alive connections each sending one request after another for `duration`.
async fn load(addr: &str, conns: usize, duration: Duration) -> Result<LoadResult, BoxError> {
    let req = request_bytes();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let addr = addr.to_string();
        let req = req.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(100_000);
            let mut errors = 0usize;
            let mut buf = Vec::with_capacity(2048);
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
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        f64::from(all[i]) / 1000.0
    };
    Ok(LoadResult {
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        requests: all.len(),
        errors,
    })
}
