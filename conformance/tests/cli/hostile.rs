//! `mor-conformance run` against a hostile target (issue 7): a tiny server in the test (a tokio
//! `TcpListener` on `127.0.0.1:0`) that stalls, resets the connection, sends garbage, sends a huge
//! body, or answers an HTML 500 page. In every case the run finishes, each case ends with a clear
//! error, and the runner's memory stays bounded (its peak resident size, `VmHWM`, sampled from
//! `/proc` while it runs).
//!
//! No timing is asserted: `--timeout 2` bounds each request, and a watchdog kills a run that
//! has not finished after [`WATCHDOG`] so a hang fails the test instead of blocking CI.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A run still going after this long is killed and the test fails.
const WATCHDOG: Duration = Duration::from_secs(120);

/// The largest body the runner is told to accept.
const MAX_BODY: usize = 1024 * 1024;

/// What the huge-body target streams (or tries to) per answer.
const HUGE: usize = 256 * 1024 * 1024;

/// How the target misbehaves on every connection.
#[derive(Debug, Clone, Copy)]
enum Hostility {
    /// Read the request, never answer, keep the connection open.
    Stall,
    /// Read one byte and close with the rest unread, which makes the kernel send a reset.
    Reset,
    /// Answer bytes that are not HTTP, then close.
    Garbage,
    /// Answer 200 without a length and stream [`HUGE`] bytes of XML-looking text until the
    /// client hangs up.
    HugeBody,
    /// Answer a Rails-style HTML 500 page.
    Html500,
}

/// Read until the end of the request head (or EOF / error); the body, if any, is not needed.
async fn read_head(s: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 1 << 20 {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn misbehave(mut s: TcpStream, how: Hostility) {
    match how {
        Hostility::Stall => {
            read_head(&mut s).await;
            // Held until the client gives up (its timeout) and closes, or the test ends.
            let mut b = [0u8; 1024];
            while let Ok(n) = s.read(&mut b).await {
                if n == 0 {
                    break;
                }
            }
        }
        Hostility::Reset => {
            let mut one = [0u8; 1];
            let _ = s.read(&mut one).await;
            drop(s);
        }
        Hostility::Garbage => {
            read_head(&mut s).await;
            let _ = s
                .write_all(b"\x00\xff\xfe NOT HTTP AT ALL \x1b[31m\r\n\r\n<<<>>>")
                .await;
        }
        Hostility::HugeBody => {
            read_head(&mut s).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n<page>";
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = "<x>0123456789</x>".repeat(4096);
            let mut sent = 0;
            while sent < HUGE {
                if s.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
                sent += chunk.len();
            }
        }
        Hostility::Html500 => {
            read_head(&mut s).await;
            let body = "<!DOCTYPE html>\n<html><head><title>We're sorry, but something went wrong (500)</title></head>\n<body><h1>We're sorry, but something went wrong.</h1></body></html>\n";
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(answer.as_bytes()).await;
        }
    }
}

/// Start a hostile target; it serves until the test's runtime ends.
async fn hostile(how: Hostility) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(misbehave(s, how));
        }
    });
    format!("http://{addr}")
}

/// What a run printed, how it ended, and the runner's peak resident memory.
struct Run {
    code: Option<i32>,
    stdout: String,
    peak_kb: u64,
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Run the fixture suite against `target` off the async runtime (so the target keeps serving),
/// sampling the runner's memory, with the watchdog.
async fn run_against(target: String) -> Run {
    run_with_jobs(target, 4).await
}

/// [`run_against`] with `jobs` cases at once.
async fn run_with_jobs(target: String, jobs: usize) -> Run {
    tokio::task::spawn_blocking(move || {
        let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suite");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mor-conformance"))
            .arg("run")
            .arg(&suite)
            .args(["--target", &target, "--timeout", "2"])
            .args(["--jobs", &jobs.to_string()])
            .args(["--max-body", &MAX_BODY.to_string()])
            .env("MOR_SECRET", "secret")
            .env("CI", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mor-conformance starts");
        let pid = child.id();
        // stdout is read on its own thread so a full pipe cannot block the runner.
        let mut out = child.stdout.take().expect("piped stdout");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut s);
            s
        });
        let started = Instant::now();
        let mut peak_kb = 0;
        let status = loop {
            if let Some(kb) = vm_hwm_kb(pid) {
                peak_kb = peak_kb.max(kb);
            }
            match child.try_wait().expect("wait for the runner") {
                Some(status) => break status,
                None if started.elapsed() > WATCHDOG => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("the run did not finish within {WATCHDOG:?}");
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        Run {
            code: status.code(),
            stdout: reader.join().expect("stdout reader"),
            peak_kb,
        }
    })
    .await
    .expect("runner thread")
}

/// The checks every hostile run shares: it finished with the run-time exit code (3) or the
/// assertion one (4), nothing passed, the report has one failure block per failed case and each
/// names one of `errors`, and the runner's memory stayed under `limit_mb`.
fn assert_every_case_fails_clearly(run: &Run, errors: &[&str], limit_mb: u64) {
    let out = &run.stdout;
    // Shown with `--nocapture`: what each hostile case looks like in the runner's report.
    println!("exit {:?}, peak {} KB\n{out}", run.code, run.peak_kb);
    assert!(
        matches!(run.code, Some(3) | Some(4)),
        "exit {:?}:\n{out}",
        run.code
    );
    let summary = out.lines().last().unwrap_or_default();
    let failed: usize = summary
        .strip_prefix("0 passed, ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("summary {summary:?}:\n{out}"));
    assert!(failed > 0, "{out}");
    let blocks: Vec<&str> = out
        .split("\n--- ")
        .skip(1)
        .filter(|b| b.starts_with("FAIL") || b.starts_with("ERROR"))
        .collect();
    assert_eq!(blocks.len(), failed, "one block per failed case:\n{out}");
    for b in &blocks {
        assert!(
            errors.iter().any(|e| b.contains(e)),
            "a case that does not say {errors:?}:\n{b}"
        );
    }
    assert!(
        run.peak_kb < limit_mb * 1024,
        "the runner peaked at {} KB:\n{out}",
        run.peak_kb
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalling_target_ends_each_case_with_a_timeout() {
    // Every case waits out its timeout: all at once, so the test takes a few timeouts, not one
    // per case (at the default 4 jobs it took a minute).
    let run = run_with_jobs(hostile(Hostility::Stall).await, 256).await;
    assert_eq!(run.code, Some(3), "{}", run.stdout);
    assert_every_case_fails_clearly(&run, &["no answer within 2s"], 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resetting_target_ends_each_case_with_a_transport_error() {
    let run = run_against(hostile(Hostility::Reset).await).await;
    assert_eq!(run.code, Some(3), "{}", run.stdout);
    assert_every_case_fails_clearly(&run, &["the answer was cut short"], 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_answering_garbage_ends_each_case_with_a_transport_error() {
    let run = run_against(hostile(Hostility::Garbage).await).await;
    assert_eq!(run.code, Some(3), "{}", run.stdout);
    assert_every_case_fails_clearly(&run, &["invalid HTTP version parsed"], 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_body_is_refused_at_max_body_without_reading_it_all() {
    let run = run_against(hostile(Hostility::HugeBody).await).await;
    assert_eq!(run.code, Some(3), "{}", run.stdout);
    // Each answer streams 256 MB; holding one would take the runner far past 128 MB.
    assert_every_case_fails_clearly(&run, &["larger than 1048576 bytes"], 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_500_page_fails_each_case_naming_the_status() {
    let run = run_against(hostile(Hostility::Html500).await).await;
    assert_eq!(run.code, Some(4), "{}", run.stdout);
    // A check that reads the status names it; a structural one names the HTML root instead.
    assert_every_case_fails_clearly(&run, &["(HTTP 500)", "got root <html>"], 128);
}
