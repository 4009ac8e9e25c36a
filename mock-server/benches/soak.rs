//! Load-and-fault soak of `mor-mock` (issue 7): the release binary, started as its own process on
//! loopback (so its memory is measured alone), under concurrent mixed traffic for a fixed time,
//! then three checks:
//!
//! - **consistency**: the final balances of `user1` and `user3`, read back through the API
//!   (`user_details_get` and `user_balance_get`), equal their start balances plus every accepted
//!   `user_balance_update` (quirk `balance_update: add`) and `payment_create` (net amount, USD, no
//!   tax flag), and no write went unanswered;
//! - **memory**: resident memory of the mock (`VmRSS`, sampled every 500 ms) at the end is within
//!   bounds of what it was a quarter into the run (plus the payments the world now stores);
//! - **answers**: every well-formed request got a well-formed answer; deliberately broken ones got
//!   an answer or an expected transport outcome (counted by kind).
//!
//! Traffic, each kind on its own connections at once:
//!
//! | kind | what |
//! |---|---|
//! | reads | signed `quickstats_get`, `user_calls_get` (of `user1`, last 24 h), `aggregate_get` on keep-alive connections |
//! | writes | signed `user_balance_update` (nine in ten) and `payment_create` with known amounts |
//! | bad hashes | the same requests with a wrong digest: `Incorrect hash`, and the balances unchanged |
//! | malformed | garbage bytes, bad paths, unknown methods, 60 KB and 1 MB query strings, malformed JSON, a request cut short, a header without a colon, a 5 MB body |
//! | slow | requests written one byte at a time (`SOAK_SLOW_GAP_MS` apart) |
//! | idle | keep-alive connections answered once, then held idle to the end and used again |
//! | silent | connections opened and never written to (one after another: each closed within the header timeout) |
//! | endless chunked | attack: a chunked body that never ends (a chunk a second): 408 and closed within the body timeout |
//! | slow body | attack: a 4 KB body sent a byte every 500 ms: 408 and closed within the body timeout |
//! | nested YAML | attack: admin scenario posts of a 400 KB `[[[...` document: refused before parsing |
//! | large entries | attack: unsigned requests with a 3.5 MB body (journaled), the journal read back every tenth |
//! | probe | a signed read on a fresh connection every `SOAK_PROBE_MS` (100): every answer within 50 ms |
//!
//! The attack checks (issue 13): the probe's slowest answer within 50 ms, peak RSS under 200 MB,
//! and every attacking connection (silent, idle, endless, slow body) closed by the server within
//! its timeout (the binary's defaults: 10 s for headers and idle keep-alive, 30 s for a body)
//! plus 3 s of scheduling slack.
//!
//! Run: `cargo bench -p mock-server --bench soak`. Bounds: `SOAK_SECONDS` (default 60),
//! `SOAK_MAX_REQUESTS` (default 5,000,000, across all kinds). Connection counts: `SOAK_READERS`
//! (8), `SOAK_WRITERS` (4), `SOAK_BAD_HASH` (2), `SOAK_MALFORMED` (2), `SOAK_SLOW` (4),
//! `SOAK_IDLE` (32), `SOAK_SILENT` (8), `SOAK_ENDLESS` (8), `SOAK_SLOW_BODY` (8), `SOAK_NESTED` (1),
//! `SOAK_LARGE` (2). Exits 1 if a check fails.
//!
//! The HTTP/1.1 helpers (response reader, URL line, `/proc` memory) are those of
//! `benches/throughput.rs`, included as a module.

#[path = "throughput.rs"]
#[allow(dead_code)]
mod throughput;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::catalogue::{Catalogue, Product};
use model::params::Params;
use model::sign::{self, SignOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

use throughput::{env_num, read_addr, read_response, vm_hwm_kb, BoxError};

/// The default world's admin secret.
const SECRET: &str = "secret";

/// How long a client waits for an answer before counting it as missing.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The users whose balances the writers change (both in USD, so no conversion applies).
const USERS: [(u32, &str); 2] = [(1, "user1"), (3, "user3")];

/// Amounts of `user_balance_update` (added to the balance).
const UPDATES: [&str; 5] = ["0.25", "-0.10", "1.50", "-0.75", "0.01"];

/// Amounts of `payment_create` (the net amount is added to the balance).
const PAYMENTS: [&str; 3] = ["0.75", "2.00", "10.05"];

/// Outcome counts by kind, per task, merged at the end.
type Counts = BTreeMap<&'static str, u64>;

/// Outcomes that mean the mock failed a check.
const FAILURES: [&str; 5] = [
    "UNANSWERED well-formed request",
    "UNEXPECTED answer",
    "WRITE UNANSWERED (outcome unknown)",
    "BAD HASH ACCEPTED",
    "MALFORMED XML answer",
];

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
    match rt.block_on(soak()) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak failed: {e}");
            std::process::exit(3);
        }
    }
}

/// Shared budget and deadline of every task.
struct Budget {
    deadline: Instant,
    left: AtomicU64,
}

impl Budget {
    /// Whether another request may be sent.
    fn take(&self) -> bool {
        Instant::now() < self.deadline
            && self
                .left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
    }
}

/// An answer: status code and body text.
struct Answer {
    status: u16,
    body: String,
}

fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    Answer { status, body }
}

/// One client connection, reconnected when the server closes it.
struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            stream: None,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Send `req` and read one answer; any transport failure drops the connection.
    async fn call(&mut self, req: &[u8]) -> Result<Answer, String> {
        self.send_then(req, None).await
    }

    /// Send `req` (one byte every `gap` if given) and read one answer.
    async fn send_then(&mut self, req: &[u8], gap: Option<Duration>) -> Result<Answer, String> {
        let r = self.exchange(req, gap).await;
        if r.is_err() {
            self.stream = None;
        }
        r
    }

    async fn exchange(&mut self, req: &[u8], gap: Option<Duration>) -> Result<Answer, String> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
        }
        let s = self.stream.as_mut().ok_or("no stream")?;
        match gap {
            None => s.write_all(req).await.map_err(|e| format!("write: {e}"))?,
            Some(gap) => {
                for b in req {
                    s.write_all(std::slice::from_ref(b))
                        .await
                        .map_err(|e| format!("write: {e}"))?;
                    tokio::time::sleep(gap).await;
                }
            }
        }
        match tokio::time::timeout(READ_TIMEOUT, read_response(s, &mut self.buf)).await {
            Ok(Ok(())) => Ok(parse_answer(&self.buf)),
            Ok(Err(e)) => Err(format!("read: {e}")),
            Err(_) => Err("no answer within the timeout".into()),
        }
    }
}

/// The path and query of a request signed the documented way by the admin.
fn signed(method: &str, params: &[(&str, &str)]) -> String {
    let mut p = Params::new().with("u", "admin");
    for (k, v) in params {
        p.push(*k, *v);
    }
    if let Some(m) = Catalogue::embedded().method(Product::M4, method) {
        let digest = sign::sign(m, &p, true, SECRET, &SignOptions::default());
        p.push("hash", digest);
    }
    format!("/billing/api/{method}?{}", p.to_query())
}

/// The same request with a wrong digest.
fn wrongly_signed(path: &str) -> String {
    match path.find("hash=") {
        Some(i) => format!("{}hash={}", &path[..i], sign::sha1_hex("not the secret")),
        None => path.to_string(),
    }
}

fn post(path: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

fn post_body(path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A decimal string as ten-thousandths (the mock answers balances with up to 4 decimals).
fn money(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() > 4 || int.is_empty() {
        return None;
    }
    let v = int.parse::<i64>().ok()? * 10_000 + format!("{frac:0<4}").parse::<i64>().ok()?;
    Some(if neg { -v } else { v })
}

fn show_money(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", v.abs() / 10_000, v.abs() % 10_000)
}

/// The text of the first `<tag>` in an XML body.
fn leaf<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find("</")? + start;
    Some(&body[start..end])
}

/// Count an answer that must be 200 with well-formed XML and no `<error>` as `ok`, or as the
/// failure it is.
fn judge(c: &mut Counts, what: &str, a: &Answer, ok: &'static str) {
    if model::xml::parse(&a.body).is_err() {
        bump(c, "MALFORMED XML answer");
    } else if a.status != 200 || a.body.contains("<error>") {
        unexpected(c, what, a);
    } else {
        bump(c, ok);
    }
}

fn bump(c: &mut Counts, kind: &'static str) {
    *c.entry(kind).or_default() += 1;
}

/// Print the first few unexpected answers, so a failed soak says what it got.
fn unexpected(c: &mut Counts, what: &str, a: &Answer) {
    static SHOWN: AtomicU64 = AtomicU64::new(0);
    if SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
        let body: String = a.body.chars().take(300).collect();
        eprintln!("unexpected answer to {what}: HTTP {}: {body}", a.status);
    }
    bump(c, "UNEXPECTED answer");
}

/// Signed reads, rotating over three methods.
async fn reader(addr: String, budget: Arc<Budget>) -> Counts {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let start = (now - 86_400).to_string();
    let end = now.to_string();
    let reqs = [
        post(&signed("quickstats_get", &[])),
        post(&signed(
            "user_calls_get",
            &[
                ("period_start", &start),
                ("period_end", &end),
                ("s_user", "1"),
            ],
        )),
        post(&signed("aggregate_get", &[])),
    ];
    let mut conn = Conn::new(&addr);
    let mut counts = Counts::new();
    let mut i = 0usize;
    while budget.take() {
        match conn.call(&reqs[i % reqs.len()]).await {
            Ok(a) => judge(&mut counts, "a read", &a, "read ok"),
            Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
        }
        i += 1;
    }
    counts
}

/// What the writers changed: ten-thousandths per user id.
type Deltas = BTreeMap<u32, i64>;

/// Signed writes with known amounts; accepted ones are added to the expected balances.
async fn writer(addr: String, budget: Arc<Budget>, seed: usize) -> (Counts, Deltas) {
    let mut conn = Conn::new(&addr);
    let mut counts = Counts::new();
    let mut deltas = Deltas::new();
    let mut i = seed;
    while budget.take() {
        let (uid, name) = USERS[i % USERS.len()];
        let id = uid.to_string();
        let payment = i % 10 == 9;
        let (path, amount) = if payment {
            let amount = PAYMENTS[i % PAYMENTS.len()];
            let p = signed(
                "payment_create",
                &[
                    ("user_id", &id),
                    ("amount", amount),
                    ("currency", "USD"),
                    ("comment", "soak"),
                ],
            );
            (p, amount)
        } else {
            let amount = UPDATES[i % UPDATES.len()];
            let p = signed(
                "user_balance_update",
                &[("user_id", &id), ("balance", amount)],
            );
            (p, amount)
        };
        i += 1;
        let a = match conn.call(&post(&path)).await {
            Ok(a) => a,
            Err(_) => {
                bump(&mut counts, "WRITE UNANSWERED (outcome unknown)");
                continue;
            }
        };
        let accepted = if payment {
            // Amounts are answered Ruby-float style (`2.0` for `2.00`): compare values.
            a.body.contains("<status>ok</status>")
                && leaf(&a.body, "amount").and_then(money) == money(amount)
        } else {
            a.body.contains("<status>User balance updated</status>")
                && leaf(&a.body, "username") == Some(name)
        };
        if a.status == 200 && accepted && model::xml::parse(&a.body).is_ok() {
            let v = money(amount).unwrap_or(0);
            *deltas.entry(uid).or_default() += v;
            bump(
                &mut counts,
                if payment {
                    "payment accepted"
                } else {
                    "balance update accepted"
                },
            );
        } else {
            unexpected(&mut counts, "a write", &a);
        }
    }
    (counts, deltas)
}

/// Reads and writes with a wrong digest: each must be refused with `Incorrect hash`.
async fn bad_hasher(addr: String, budget: Arc<Budget>) -> Counts {
    let reqs = [
        post(&wrongly_signed(&signed("quickstats_get", &[]))),
        post(&wrongly_signed(&signed(
            "user_balance_update",
            &[("user_id", "1"), ("balance", "1000")],
        ))),
        post(&wrongly_signed(&signed(
            "payment_create",
            &[("user_id", "3"), ("amount", "1000"), ("currency", "USD")],
        ))),
    ];
    let mut conn = Conn::new(&addr);
    let mut counts = Counts::new();
    let mut i = 0usize;
    while budget.take() {
        match conn.call(&reqs[i % reqs.len()]).await {
            Ok(a) if a.body.contains("Incorrect hash") => {
                bump(&mut counts, "bad hash refused (Incorrect hash)")
            }
            Ok(a) if a.body.contains("<error>") => unexpected(&mut counts, "a bad hash", &a),
            Ok(_) => bump(&mut counts, "BAD HASH ACCEPTED"),
            Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
        }
        i += 1;
    }
    counts
}

/// A small deterministic generator for garbage bytes.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Send raw bytes on a fresh connection (optionally closing the write half) and classify.
async fn raw_exchange(addr: &str, bytes: &[u8], shutdown_write: bool) -> Result<Answer, String> {
    let mut s = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    // The server may answer and close before everything is written (a 1 MB head, a 5 MB body):
    // a failed write still leaves an answer to read.
    let _ = s.write_all(bytes).await;
    if shutdown_write {
        let _ = s.shutdown().await;
    }
    let mut buf = Vec::new();
    match tokio::time::timeout(READ_TIMEOUT, read_response(&mut s, &mut buf)).await {
        Ok(Ok(())) => Ok(parse_answer(&buf)),
        Ok(Err(e)) => Err(format!("read: {e}")),
        Err(_) => Err("no answer within the timeout".into()),
    }
}

/// Deliberately broken requests; each gets an answer or an expected transport outcome.
async fn malformed(addr: String, budget: Arc<Budget>, seed: u64) -> Counts {
    let mut counts = Counts::new();
    let mut conn = Conn::new(&addr);
    let mut rng = seed | 1;
    let huge_query = |n: usize| {
        let mut q = String::from("/billing/api/quickstats_get?u=admin&x=");
        q.extend(std::iter::repeat_n('A', n));
        q
    };
    // hyper refuses a request target over 64 KB with 414; under it the API answers.
    let q60k = post(&huge_query(60 * 1024));
    let q1m = post(&huge_query(1024 * 1024));
    let big_body = post_body(
        "/billing/api/quickstats_get?u=admin",
        "application/x-www-form-urlencoded",
        &vec![b'a'; 5 * 1024 * 1024],
    );
    let mut i = 0u64;
    while budget.take() {
        let kind = if i % 50 == 49 { 99 } else { i % 8 };
        i += 1;
        match kind {
            0 => {
                let mut g: Vec<u8> = (0..200).map(|_| xorshift(&mut rng) as u8).collect();
                g.extend_from_slice(b"\r\n\r\n");
                match raw_exchange(&addr, &g, false).await {
                    Ok(a) if a.status == 400 => bump(&mut counts, "garbage bytes: 400"),
                    Ok(a) if a.status == 404 => bump(&mut counts, "garbage bytes: 404"),
                    Ok(_) => bump(&mut counts, "garbage bytes: other answer"),
                    Err(_) => bump(&mut counts, "garbage bytes: closed without answer"),
                }
            }
            1 => match conn.call(&post("/nowhere/at/all?u=admin")).await {
                Ok(a) if a.status == 404 => bump(&mut counts, "bad path: 404"),
                Ok(a) => unexpected(&mut counts, "a bad path", &a),
                Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
            },
            2 => match conn
                .call(&post("/billing/api/no_such_method?u=admin"))
                .await
            {
                Ok(a) if a.body.contains("<error>") && model::xml::parse(&a.body).is_ok() => {
                    bump(&mut counts, "unknown method: API error")
                }
                Ok(a) => unexpected(&mut counts, "an unknown method", &a),
                Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
            },
            3 => match raw_exchange(&addr, &q60k, false).await {
                Ok(a) if a.body.contains("<error>") => bump(&mut counts, "60 KB query: API error"),
                Ok(a) => unexpected(&mut counts, "a 60 KB query", &a),
                Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
            },
            4 => match raw_exchange(&addr, &q1m, false).await {
                Ok(a) if a.status == 414 => bump(&mut counts, "1 MB query: 414 URI Too Long"),
                Ok(a) if a.status == 431 => {
                    bump(&mut counts, "1 MB query: 431 Header Fields Too Large")
                }
                Ok(a) if a.status == 400 => bump(&mut counts, "1 MB query: 400"),
                Ok(a) => unexpected(&mut counts, "a 1 MB query", &a),
                Err(_) => bump(&mut counts, "1 MB query: closed without answer"),
            },
            5 => {
                let r = post_body(
                    "/billing/api/user_balance_update?u=admin",
                    "application/json",
                    b"{\"user_id\": [1, {\"balance\": ",
                );
                match conn.call(&r).await {
                    Ok(a) if a.body.contains("<error>") => {
                        bump(&mut counts, "malformed JSON: API error")
                    }
                    Ok(a) => unexpected(&mut counts, "malformed JSON", &a),
                    Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
                }
            }
            6 => {
                let cut = b"POST /billing/api/quickstats_get?u=admin HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc";
                match raw_exchange(&addr, cut, true).await {
                    Ok(_) => bump(&mut counts, "body cut short: answered"),
                    Err(_) => bump(&mut counts, "body cut short: closed without answer"),
                }
            }
            7 => {
                let r = b"POST /billing/api/quickstats_get HTTP/1.1\r\nNoColonHere\r\n\r\n";
                match raw_exchange(&addr, r, false).await {
                    Ok(a) if a.status == 400 => bump(&mut counts, "header without colon: 400"),
                    Ok(_) => bump(&mut counts, "header without colon: other answer"),
                    Err(_) => bump(&mut counts, "header without colon: closed without answer"),
                }
            }
            _ => match raw_exchange(&addr, &big_body, false).await {
                Ok(a) if a.body.contains("<error>") || a.status >= 400 => {
                    bump(&mut counts, "5 MB body: answered with an error")
                }
                Ok(a) => unexpected(&mut counts, "a 5 MB body", &a),
                Err(_) => bump(&mut counts, "5 MB body: closed without answer"),
            },
        }
    }
    counts
}

/// Requests written one byte at a time on a keep-alive connection.
async fn slow(addr: String, budget: Arc<Budget>, gap: Duration) -> Counts {
    let req = post(&signed("quickstats_get", &[]));
    let mut conn = Conn::new(&addr);
    let mut counts = Counts::new();
    while budget.take() {
        match conn.send_then(&req, Some(gap)).await {
            Ok(a) => judge(&mut counts, "a slow request", &a, "slow client answered"),
            Err(_) => bump(&mut counts, "slow client: closed by the server"),
        }
    }
    counts
}

/// A keep-alive connection answered once, held idle until the deadline, then used again.
async fn idle(addr: String, budget: Arc<Budget>) -> Counts {
    let req = post(&signed("quickstats_get", &[]));
    let mut conn = Conn::new(&addr);
    let mut counts = Counts::new();
    if !budget.take() {
        return counts;
    }
    match conn.call(&req).await {
        Ok(a) => judge(
            &mut counts,
            "a first request",
            &a,
            "idle keep-alive: first answer",
        ),
        Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
    }
    // Held idle: the server closes it within the header timeout (or it is still open at the
    // deadline).
    if let Some(s) = conn.stream.as_mut() {
        let answered = Instant::now();
        let (_, was_closed) = read_until_closed(s, budget.deadline).await;
        if was_closed {
            closed("idle keep-alive", answered.elapsed(), HEADER_TIMEOUT);
        }
    }
    tokio::time::sleep_until(budget.deadline.into()).await;
    // The last request reuses the connection: either it is still open and answers, or the
    // server closed it while idle (the reconnect is not counted as a failure).
    let held = conn.stream.is_some();
    match conn.call(&req).await {
        Ok(a) if held => judge(
            &mut counts,
            "a request after the hold",
            &a,
            "idle keep-alive: answered after the hold",
        ),
        Ok(_) => bump(&mut counts, "idle keep-alive: reconnected"),
        Err(_) => bump(
            &mut counts,
            "idle keep-alive: closed by the server while idle",
        ),
    }
    counts
}

/// A connection opened and never written to; at the end, is it still open?
async fn silent(addr: String, budget: Arc<Budget>) -> Counts {
    let mut counts = Counts::new();
    // Opened one after another until the deadline: each must be closed by the server within
    // the header timeout.
    while Instant::now() < budget.deadline {
        let Ok(mut s) = TcpStream::connect(&addr).await else {
            bump(&mut counts, "silent connection: connect failed");
            return counts;
        };
        let opened = Instant::now();
        let (out, was_closed) = read_until_closed(&mut s, budget.deadline).await;
        if !was_closed {
            bump(&mut counts, "silent connection: still open at the end");
            break;
        }
        closed("silent", opened.elapsed(), HEADER_TIMEOUT);
        if out.is_empty() {
            bump(&mut counts, "silent connection: closed by the server");
        } else {
            bump(&mut counts, "silent connection: answered (408 or similar)");
        }
    }
    counts
}

/// The balance of a USD user, read two ways; `None` if the answers disagree or are unreadable.
async fn balance(addr: &str, uid: u32, name: &str) -> Result<(i64, i64), BoxError> {
    let mut conn = Conn::new(addr);
    let id = uid.to_string();
    let details = conn
        .call(&post(&signed("user_details_get", &[("user_id", &id)])))
        .await?;
    let a = leaf(&details.body, "balance_number")
        .and_then(money)
        .ok_or_else(|| format!("user_details_get without a balance: {}", details.body))?;
    let bal = conn
        .call(&post(&signed(
            "user_balance_get",
            &[("username", name), ("currency", "USD")],
        )))
        .await?;
    let b = leaf(&bal.body, "balance")
        .and_then(money)
        .ok_or_else(|| format!("user_balance_get without a balance: {}", bal.body))?;
    Ok((a, b))
}

fn vm_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn soak() -> Result<bool, BoxError> {
    let seconds = env_num("SOAK_SECONDS", 60);
    let max_requests = env_num("SOAK_MAX_REQUESTS", 5_000_000);
    let n = |name: &str, default: u64| env_num(name, default) as usize;
    let (readers, writers, bad, broken) = (
        n("SOAK_READERS", 8),
        n("SOAK_WRITERS", 4),
        n("SOAK_BAD_HASH", 2),
        n("SOAK_MALFORMED", 2),
    );
    let (slows, idles, silents) = (n("SOAK_SLOW", 4), n("SOAK_IDLE", 32), n("SOAK_SILENT", 8));
    let gap = Duration::from_millis(env_num("SOAK_SLOW_GAP_MS", 20));
    let (endless, slow_bodies, nested, large) = (
        n("SOAK_ENDLESS", 8),
        n("SOAK_SLOW_BODY", 8),
        n("SOAK_NESTED", 1),
        n("SOAK_LARGE", 2),
    );
    let probe_every = Duration::from_millis(env_num("SOAK_PROBE_MS", 100));

    let mut mock = Command::new(env!("CARGO_BIN_EXE_mor-mock"))
        .args(["--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let addr = read_addr(&mut mock).await?;
    let pid = mock.id().ok_or("mor-mock has no pid")?;

    let mut start_balances = BTreeMap::new();
    for (uid, name) in USERS {
        let (a, b) = balance(&addr, uid, name).await?;
        if a != b {
            return Err(
                format!("{name}: user_details_get {a} and user_balance_get {b} differ").into(),
            );
        }
        start_balances.insert(uid, a);
    }

    let budget = Arc::new(Budget {
        deadline: Instant::now() + Duration::from_secs(seconds),
        left: AtomicU64::new(max_requests),
    });
    let started = Instant::now();

    let sampler = {
        let budget = budget.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < budget.deadline {
                samples.push((started.elapsed(), vm_rss_kb(pid).unwrap_or(0)));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            samples
        })
    };

    let mut tasks: Vec<tokio::task::JoinHandle<Counts>> = Vec::new();
    let mut write_tasks = Vec::new();
    for _ in 0..readers {
        tasks.push(tokio::spawn(reader(addr.clone(), budget.clone())));
    }
    for w in 0..writers {
        write_tasks.push(tokio::spawn(writer(addr.clone(), budget.clone(), w * 7)));
    }
    for _ in 0..bad {
        tasks.push(tokio::spawn(bad_hasher(addr.clone(), budget.clone())));
    }
    for m in 0..broken {
        let seed = 0x9E37_79B9_7F4A_7C15 ^ m as u64;
        tasks.push(tokio::spawn(malformed(addr.clone(), budget.clone(), seed)));
    }
    for _ in 0..slows {
        tasks.push(tokio::spawn(slow(addr.clone(), budget.clone(), gap)));
    }
    for _ in 0..idles {
        tasks.push(tokio::spawn(idle(addr.clone(), budget.clone())));
    }
    for _ in 0..silents {
        tasks.push(tokio::spawn(silent(addr.clone(), budget.clone())));
    }
    for _ in 0..endless {
        tasks.push(tokio::spawn(endless_body(
            addr.clone(),
            budget.clone(),
            true,
        )));
    }
    for _ in 0..slow_bodies {
        tasks.push(tokio::spawn(endless_body(
            addr.clone(),
            budget.clone(),
            false,
        )));
    }
    for _ in 0..nested {
        tasks.push(tokio::spawn(nested_yaml(addr.clone(), budget.clone())));
    }
    for _ in 0..large {
        tasks.push(tokio::spawn(large_entries(addr.clone(), budget.clone())));
    }
    let prober = tokio::spawn(probe(addr.clone(), budget.clone(), probe_every));

    let mut counts = Counts::new();
    let mut deltas = Deltas::new();
    for t in tasks {
        for (k, v) in t.await? {
            *counts.entry(k).or_default() += v;
        }
    }
    for t in write_tasks {
        let (c, d) = t.await?;
        for (k, v) in c {
            *counts.entry(k).or_default() += v;
        }
        for (k, v) in d {
            *deltas.entry(k).or_default() += v;
        }
    }
    let (probe_counts, mut probe_times) = prober.await?;
    for (k, v) in probe_counts {
        *counts.entry(k).or_default() += v;
    }
    let elapsed = started.elapsed();
    let samples = sampler.await?;

    let alive = mock.try_wait()?.is_none();
    let mut consistent = alive;
    let mut balance_lines = Vec::new();
    if alive {
        for (uid, name) in USERS {
            let start = start_balances[&uid];
            let expected = start + deltas.get(&uid).copied().unwrap_or(0);
            let (a, b) = balance(&addr, uid, name).await?;
            let ok = a == expected && b == expected;
            consistent &= ok;
            balance_lines.push(format!(
                "{name}: start {} + accepted {} = expected {}; user_details_get {}, user_balance_get {} -> {}",
                show_money(start),
                show_money(expected - start),
                show_money(expected),
                show_money(a),
                show_money(b),
                if ok { "equal" } else { "DIFFERENT" }
            ));
        }
    }
    let peak_kb = vm_hwm_kb(pid).unwrap_or(0);
    let end_kb = vm_rss_kb(pid).unwrap_or(0);
    let _ = mock.kill().await;

    // Memory: the resident size a quarter into the run against the end. The world legitimately
    // grows by the payments it stores (a few hundred bytes each), so that is allowed for.
    let quarter = samples
        .iter()
        .find(|(t, _)| *t >= elapsed / 4)
        .or(samples.last())
        .map_or(0, |s| s.1);
    let payments = counts.get("payment accepted").copied().unwrap_or(0);
    let allowance_kb = 16 * 1024 + payments / 2; // 16 MB of slack + 512 bytes per payment
    let bounded = end_kb <= quarter.max(1) * 3 / 2 + allowance_kb;
    let trace: Vec<String> = samples
        .iter()
        .step_by((samples.len() / 8).max(1))
        .map(|(t, kb)| format!("{:.0}s {:.1}", t.as_secs_f64(), *kb as f64 / 1024.0))
        .collect();

    let total: u64 = counts.values().sum();
    let failures: u64 = FAILURES
        .iter()
        .map(|f| counts.get(f).copied().unwrap_or(0))
        .sum();
    let answered_all = failures == 0;

    // The attacks: the probe's answers, the attacking connections' close times, peak memory.
    probe_times.sort();
    let pct = |q: f64| {
        probe_times
            .get(((probe_times.len() as f64 * q) as usize).min(probe_times.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let probe_max = probe_times.last().copied().unwrap_or_default();
    let probe_ok = !probe_times.is_empty() && probe_max <= PROBE_BOUND;
    let closes = std::mem::take(
        &mut *CLOSES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let mut by_kind: BTreeMap<&str, (usize, Duration, Duration, usize)> = BTreeMap::new();
    for (kind, after, timeout) in &closes {
        let e = by_kind
            .entry(kind)
            .or_insert((0, Duration::ZERO, *timeout, 0));
        e.0 += 1;
        e.1 = e.1.max(*after);
        if *after > *timeout + CLOSE_SLACK {
            e.3 += 1;
        }
    }
    let held: usize = by_kind.values().map(|e| e.3).sum();
    let memory_ok = peak_kb < 200 * 1024;

    println!(
        "mor-mock soak ({:.1} s, loopback, product m4, default world; connections: {readers} read, {writers} write, {bad} bad-hash, {broken} malformed, {slows} slow, {idles} idle, {silents} silent; attacks: {endless} endless chunked, {slow_bodies} slow body, {nested} nested YAML, {large} large entries; a probe)",
        elapsed.as_secs_f64()
    );
    println!(
        "  requests   : {total} sent or held, {:.0}/s",
        total as f64 / elapsed.as_secs_f64()
    );
    println!("  by kind    :");
    for (k, v) in &counts {
        println!("    {v:>10}  {k}");
    }
    println!(
        "  answers    : {} (failures: {failures})",
        if answered_all {
            "every well-formed request answered well-formed"
        } else {
            "FAILED"
        }
    );
    for l in &balance_lines {
        println!("  balance    : {l}");
    }
    println!(
        "  consistency: {}",
        if !alive {
            "FAILED (the mock process exited)"
        } else if consistent {
            "ok (final balances = start + every accepted update and payment)"
        } else {
            "FAILED"
        }
    );
    println!(
        "  memory     : peak RSS {:.1} MB; RSS at 1/4 {:.1} MB, at the end {:.1} MB ({payments} payments stored) -> {}",
        peak_kb as f64 / 1024.0,
        quarter as f64 / 1024.0,
        end_kb as f64 / 1024.0,
        if bounded { "bounded" } else { "GREW" }
    );
    println!("  RSS trace  : {} (MB)", trace.join(", "));
    println!(
        "  probe      : {} answers every {} ms on fresh connections: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms -> {}",
        probe_times.len(),
        probe_every.as_millis(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        probe_max.as_secs_f64() * 1e3,
        if probe_ok { "within 50 ms" } else { "SLOWER than 50 ms" }
    );
    for (kind, (n, max, timeout, late)) in &by_kind {
        println!(
            "  closed     : {n} {kind} connections, the slowest closed after {:.1} s (timeout {} s){}",
            max.as_secs_f64(),
            timeout.as_secs(),
            if *late > 0 {
                format!(" -> {late} HELD past their timeout")
            } else {
                String::new()
            }
        );
    }
    println!(
        "  nested YAML: slowest refusal {:.1} ms; journal read back at most {:.1} MB",
        NESTED_MAX.load(Ordering::Relaxed) as f64 / 1e3,
        JOURNAL_MAX.load(Ordering::Relaxed) as f64 / 1e6
    );
    println!(
        "  attacks    : peak RSS {:.1} MB ({}), probe {}, attacking connections {}",
        peak_kb as f64 / 1024.0,
        if memory_ok {
            "under 200 MB"
        } else {
            "OVER 200 MB"
        },
        if probe_ok { "ok" } else { "FAILED" },
        if held == 0 {
            "all closed in time"
        } else {
            "HELD"
        }
    );
    Ok(alive && consistent && bounded && answered_all && probe_ok && memory_ok && held == 0)
}

// ------------------------------------------------------------------ attacks (issue 13)

/// The mock binary's default timeouts (`mock_server::config::Limits`): headers (and an idle
/// keep-alive connection) within 10 s, a whole body within 30 s.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How much later than its timeout an attacking connection may be closed (scheduling on a
/// loaded machine) before it counts as held.
const CLOSE_SLACK: Duration = Duration::from_secs(3);

/// The slowest answer the probe may get (issue 13: the mock keeps answering within 50 ms).
const PROBE_BOUND: Duration = Duration::from_millis(50);

/// Close times of attacking connections: (kind, time from its last byte sent to the server's
/// close, the timeout that applies).
static CLOSES: std::sync::Mutex<Vec<(&'static str, Duration, Duration)>> =
    std::sync::Mutex::new(Vec::new());

fn closed(kind: &'static str, after: Duration, timeout: Duration) {
    CLOSES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((kind, after, timeout));
}

/// Read until the server closes the connection or `deadline`; the bytes read and whether it
/// closed.
async fn read_until_closed(
    rd: &mut (impl tokio::io::AsyncRead + Unpin),
    deadline: Instant,
) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline.into(), rd.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&b[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// A body that never ends (`chunked`: a chunk every second) or never completes
/// (`Content-Length` 4 KB sent one byte every 500 ms): each must be answered 408 and closed
/// within the body timeout. Connections are opened one after another until the deadline.
async fn endless_body(addr: String, budget: Arc<Budget>, chunked: bool) -> Counts {
    let kind = if chunked {
        "endless chunked body"
    } else {
        "slow body"
    };
    let mut counts = Counts::new();
    while budget.take() {
        let Ok(s) = TcpStream::connect(&addr).await else {
            bump(&mut counts, "attack: connect failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (mut rd, mut wr) = s.into_split();
        let head = if chunked {
            "POST /billing/api/quickstats_get?u=admin HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        } else {
            "POST /billing/api/quickstats_get?u=admin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4096\r\n\r\n"
        };
        let opened = Instant::now();
        let feed = tokio::spawn(async move {
            if wr.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                let piece: &[u8] = if chunked { b"4\r\naaaa\r\n" } else { b"a" };
                if wr.write_all(piece).await.is_err() {
                    return;
                }
                let gap = if chunked { 1000 } else { 500 };
                tokio::time::sleep(Duration::from_millis(gap)).await;
            }
        });
        let (out, was_closed) = read_until_closed(&mut rd, budget.deadline).await;
        feed.abort();
        if !was_closed {
            bump(&mut counts, "attack: open at the end (within its timeout)");
            break;
        }
        let a = parse_answer(&out);
        match a.status {
            408 => bump(&mut counts, "attack: answered 408 and closed"),
            0 => bump(&mut counts, "attack: closed without an answer"),
            _ => unexpected(&mut counts, kind, &a),
        }
        // The body timeout runs from the end of the headers, written at `opened`.
        closed(kind, opened.elapsed(), BODY_TIMEOUT);
    }
    counts
}

/// Admin scenario posts of a 400 KB `[[[...` document: refused (400) before parsing, each
/// well within a second; the API goes on meanwhile (the probe).
async fn nested_yaml(addr: String, budget: Arc<Budget>) -> Counts {
    let deep = format!("version: 1\nsettings: {}", "[".repeat(400 * 1024));
    let req = post_body("/__admin/scenario", "application/yaml", deep.as_bytes());
    let mut conn = Conn::new(&addr);
    let mut counts = Counts::new();
    while budget.take() {
        let sent = Instant::now();
        match conn.call(&req).await {
            Ok(a) if a.status == 400 && a.body.contains("nested deeper than") => {
                bump(&mut counts, "nested YAML post: refused 400");
                NESTED_MAX.fetch_max(sent.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
            Ok(a) => unexpected(&mut counts, "a nested YAML post", &a),
            Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    counts
}

/// The slowest refusal of a nested YAML post, in microseconds.
static NESTED_MAX: AtomicU64 = AtomicU64::new(0);

/// The largest `/__admin/journal` answer seen, in bytes.
static JOURNAL_MAX: AtomicU64 = AtomicU64::new(0);

/// Requests with a body just under the API's 4 MiB limit (one 3.5 MB parameter), unsigned:
/// answered `Incorrect hash` and journaled; every tenth, the journal is read back, and its size
/// must stay bounded (the journal keeps values cut to 1 KB and at most 4 MiB in all).
async fn large_entries(addr: String, budget: Arc<Budget>) -> Counts {
    let mut body = b"u=admin&hash=0&pad=".to_vec();
    body.extend(std::iter::repeat_n(b'x', 3_500_000));
    let req = post_body(
        "/billing/api/quickstats_get",
        "application/x-www-form-urlencoded",
        &body,
    );
    let journal = b"GET /__admin/journal HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec();
    let mut conn = Conn::new(&addr);
    let mut counts = Counts::new();
    let mut n = 0u64;
    while budget.take() {
        match conn.call(&req).await {
            Ok(a) if a.body.contains("Incorrect hash") => {
                bump(&mut counts, "large request: answered Incorrect hash")
            }
            Ok(a) => unexpected(&mut counts, "a large request", &a),
            Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
        }
        n += 1;
        if n % 10 == 0 {
            match conn.call(&journal).await {
                Ok(a) if a.status == 200 => {
                    JOURNAL_MAX.fetch_max(a.body.len() as u64, Ordering::Relaxed);
                    bump(&mut counts, "journal read back");
                }
                Ok(a) => unexpected(&mut counts, "the journal", &a),
                Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    counts
}

/// A signed read on a fresh connection every `every`: its answer times, to the deadline.
async fn probe(addr: String, budget: Arc<Budget>, every: Duration) -> (Counts, Vec<Duration>) {
    let req = post(&signed("user_balance_get", &[("username", "user1")]));
    let mut counts = Counts::new();
    let mut times = Vec::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < budget.deadline {
        tick.tick().await;
        let sent = Instant::now();
        let mut conn = Conn::new(&addr);
        match conn.call(&req).await {
            Ok(a) => {
                times.push(sent.elapsed());
                judge(&mut counts, "the probe", &a, "probe answered");
            }
            Err(_) => bump(&mut counts, "UNANSWERED well-formed request"),
        }
    }
    (counts, times)
}
