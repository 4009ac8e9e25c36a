//! Hostile input (issue 13): the admin API reachable only from this machine and this origin, and
//! never showing a secret; bounded YAML, bodies, journal and read times; linear world loading;
//! logs without credentials or forged lines; money that refuses what it cannot represent. Each
//! test is the reproduction of the issue's item, through real HTTP or the real binary.

use std::process::Stdio;

use mock_server::config::AdminToken;
use mock_server::model::catalogue::Product;
use mock_server::MockConfig;

use crate::support::{read, scenario, Mock, SECRET, TEST_WORLD};

const BIN: &str = env!("CARGO_BIN_EXE_mor-mock");

/// A mock on the test world whose API secret is distinctive, so a leak is visible.
async fn mock_with_secret(secret: &str, token: Option<&str>) -> Mock {
    let mut config = MockConfig::new(Product::M4)
        .scenario(scenario(TEST_WORLD))
        .settings(mock_server::model::settings::SettingsPatch {
            api_secret: Some(secret.to_string()),
            ..Default::default()
        });
    if let Some(t) = token {
        config = config.admin_token(AdminToken::new(t).expect("a token"));
    }
    Mock::start_with(config).await
}

// ------------------------------------------------------------------ item 1: the admin API

#[tokio::test]
async fn a_cross_site_text_plain_scenario_post_is_refused_and_changes_nothing() {
    let mock = Mock::start(Product::M4).await;
    let body = "version: 1\nsettings: { hash_check: false }\n";
    let r = mock
        .client
        .post(mock.url("/__admin/scenario"))
        .header("origin", "http://evil.example")
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 403);
    // The same body without an Origin (an old browser, a plugin): still a simple cross-site
    // request, refused by its content type.
    let r = mock
        .client
        .post(mock.url("/__admin/scenario"))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 415);
    let r = mock
        .client
        .post(mock.url("/__admin/scenario"))
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/yaml")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 403);
    assert_eq!(mock.admin_get("settings").await["hash_check"], true);
    // Same origin is answered.
    let r = mock
        .client
        .post(mock.url("/__admin/scenario"))
        .header("origin", mock.server.url())
        .header("content-type", "application/yaml")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 200);
    assert_eq!(mock.admin_get("settings").await["hash_check"], false);
    mock.stop().await;
}

#[tokio::test]
async fn the_admin_api_answers_only_loopback_host_names_and_never_shows_the_secret() {
    let secret = "S3cr3t-never-shown";
    let mock = mock_with_secret(secret, None).await;
    let r = mock
        .client
        .get(mock.url("/__admin/settings"))
        .header("host", "x.example")
        .send()
        .await
        .expect("answered");
    let a = read(r).await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(!a.body.contains(secret));
    for host in [
        "localhost",
        "127.0.0.1",
        "[::1]:8080",
        "LOCALHOST.",
        "a.localhost:1",
    ] {
        let r = mock
            .client
            .get(mock.url("/__admin/health"))
            .header("host", host)
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status(), 200, "{host}");
    }
    let settings = mock.admin_get("settings").await;
    assert_eq!(settings["api_secret"], "<masked>");
    assert!(!settings.to_string().contains(secret));
    let a = mock.admin_patch("settings", r#"{"allow_get": true}"#).await;
    assert_eq!(a.status, 200);
    assert!(!a.body.contains(secret), "{}", a.body);
    mock.stop().await;
}

#[tokio::test]
async fn with_a_token_every_admin_request_must_carry_it_whatever_the_host() {
    let mock = mock_with_secret("secret", Some("t0ken-xyz")).await;
    let get = |auth: Option<(&'static str, &'static str)>| {
        let mut r = mock
            .client
            .get(mock.url("/__admin/settings"))
            .header("host", "mock.internal:8080");
        if let Some((k, v)) = auth {
            r = r.header(k, v);
        }
        r.send()
    };
    assert_eq!(get(None).await.expect("answered").status(), 401);
    let wrong = get(Some(("authorization", "Bearer t0ken-xyZ")))
        .await
        .expect("answered");
    assert_eq!(wrong.status(), 401);
    let ok = get(Some(("authorization", "Bearer t0ken-xyz")))
        .await
        .expect("answered");
    assert_eq!(ok.status(), 200);
    let ok = get(Some(("x-mor-mock-admin-token", "t0ken-xyz")))
        .await
        .expect("answered");
    assert_eq!(ok.status(), 200);
    mock.stop().await;
}

#[tokio::test]
async fn a_non_loopback_bind_without_a_token_switches_the_admin_api_off() {
    let shared = std::sync::Arc::new(
        mock_server::Shared::new(
            MockConfig::new(Product::M4).bind("0.0.0.0:0".parse().expect("an address")),
        )
        .expect("state builds"),
    );
    let uri: http::Uri = "/__admin/health".parse().expect("uri");
    let mut headers = http::HeaderMap::new();
    headers.insert("host", http::HeaderValue::from_static("127.0.0.1"));
    let a = mock_server::handle(
        &shared,
        http::Method::GET,
        &uri,
        &headers,
        bytes::Bytes::new(),
    )
    .await;
    assert_eq!(a.response.status(), 403);
    let body = String::from_utf8_lossy(a.response.body()).to_string();
    assert!(body.contains("MOR_MOCK_ADMIN_TOKEN"), "{body}");
}

#[tokio::test]
async fn the_binary_warns_when_bound_to_other_hosts_and_reads_the_token_from_a_file() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = std::env::temp_dir().join(format!("mor-mock-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let token_file = dir.join("token");
    std::fs::write(&token_file, "file-t0ken\n").expect("written");
    for with_token in [false, true] {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args(["--bind", "0.0.0.0:0"])
            .env_remove("MOR_MOCK_ADMIN_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if with_token {
            cmd.arg("--admin-token-file").arg(&token_file);
        }
        let mut child = cmd.spawn().expect("mor-mock spawns");
        let out = child.stdout.take().expect("stdout");
        let line = BufReader::new(out)
            .lines()
            .next_line()
            .await
            .expect("a line")
            .expect("not EOF");
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.split_whitespace().next())
            .expect("a port")
            .to_string();
        let status = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/__admin/health"))
            .header("authorization", "Bearer file-t0ken")
            .send()
            .await
            .expect("answered")
            .status();
        child.kill().await.expect("killed");
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use tokio::io::AsyncReadExt;
            let _ = e.read_to_string(&mut err).await;
        }
        assert!(err.contains("reachable from other hosts"), "{err}");
        if with_token {
            assert_eq!(status, 200);
            assert!(!err.contains("file-t0ken"), "{err}");
        } else {
            assert_eq!(status, 403);
            assert!(err.contains("the admin API is off"), "{err}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------ item 2: nested YAML

#[tokio::test]
async fn a_deeply_nested_scenario_post_is_refused_before_parsing_and_the_api_goes_on() {
    let mock = Mock::start(Product::M4).await;
    let deep = format!("version: 1\nsettings: {}", "[".repeat(400 * 1024));
    let r = mock
        .client
        .post(mock.url("/__admin/scenario"))
        .header("content-type", "application/yaml")
        .body(deep)
        .send()
        .await
        .expect("answered");
    let a = read(r).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("<admin scenario>:2") && a.body.contains("nested deeper than 64"),
        "{}",
        a.body
    );
    let compact = format!("version: 1\nworld:\n  users: {}x\n", "- ".repeat(100_000));
    let r = mock
        .client
        .post(mock.url("/__admin/scenario"))
        .header("content-type", "application/yaml")
        .body(compact)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 400);
    assert!(mock.post("quickstats_get", "admin", &[]).await.is_success());
    mock.stop().await;
}

// ------------------------------------------------------------ items 4 and 8: bodies

fn small_limits() -> mock_server::config::Limits {
    mock_server::config::Limits {
        max_body: 64 * 1024,
        max_admin_body: 64 * 1024,
        header_timeout: std::time::Duration::from_millis(500),
        body_timeout: std::time::Duration::from_millis(500),
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_not_answered_as_empty() {
    let mock = Mock::start(Product::M4).await;
    // 50 MB announced by Content-Length: refused without being read.
    let body = vec![b'a'; 50 * 1024 * 1024];
    let r = mock
        .client
        .post(mock.url("/billing/api/quickstats_get?u=admin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    // The server may close before the client has written everything; either way no API answer.
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    // A chunked body that grows past the limit is counted while read.
    let answer = chunked_exchange(&mock, 80).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let journal = mock.admin_get("journal").await;
    assert!(journal.to_string().contains("body too large"), "{journal}");
    mock.stop().await;
}

#[tokio::test]
async fn a_body_announced_over_the_limit_is_journalled_once_and_closes_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = Mock::start(Product::M4).await;
    let mut s = tokio::net::TcpStream::connect(mock.server.addr())
        .await
        .expect("connect");
    // 100 MB announced and none sent: refused from the announced length alone, by tower-http's
    // limit before any handler runs.
    let head = b"POST /billing/api/quickstats_get?u=admin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\n\r\n";
    s.write_all(head).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let answer = String::from_utf8_lossy(&out).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    let journal = mock.admin_get("journal").await;
    let entries = journal.as_array().expect("journal entries");
    assert_eq!(entries.len(), 1, "{journal}");
    assert_eq!(entries[0]["outcome"], "body too large", "{journal}");
    assert_eq!(entries[0]["status"], 413, "{journal}");
    assert_eq!(
        entries[0]["path"], "/billing/api/quickstats_get",
        "{journal}"
    );
    mock.stop().await;
}

/// Send `chunks` chunks of 64 KB as a chunked body over a raw socket (the server may stop
/// reading early); the status line and headers it answered.
async fn chunked_exchange(mock: &Mock, chunks: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(mock.server.addr())
        .await
        .expect("connect");
    let (mut rd, mut wr) = s.split();
    let write = async {
        let head = b"POST /billing/api/quickstats_get?u=admin HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        wr.write_all(head).await?;
        let mut chunk = b"10000\r\n".to_vec();
        chunk.extend(std::iter::repeat_n(b'a', 64 * 1024));
        chunk.extend_from_slice(b"\r\n");
        for _ in 0..chunks {
            wr.write_all(&chunk).await?;
        }
        wr.write_all(b"0\r\n\r\n").await
    };
    let mut out = Vec::new();
    let (_, _) = tokio::join!(write, rd.read_to_end(&mut out));
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn an_endless_chunked_body_is_answered_408_and_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = Mock::start_with(
        MockConfig::new(Product::M4)
            .scenario(scenario(TEST_WORLD))
            .limits(small_limits()),
    )
    .await;
    let mut s = tokio::net::TcpStream::connect(mock.server.addr())
        .await
        .expect("connect");
    s.write_all(
        b"POST /billing/api/quickstats_get HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nu=ad\r\n",
    )
    .await
    .expect("written");
    // Then nothing more: the server must answer and close by itself. The outer bound only
    // keeps a broken server from hanging the test.
    let mut out = Vec::new();
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the connection was not closed");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    // A connection that never finishes its headers is closed too.
    let mut s = tokio::net::TcpStream::connect(mock.server.addr())
        .await
        .expect("connect");
    s.write_all(b"POST /billing/api/quickstats_get HTTP/1.1\r\nHost: 1")
        .await
        .expect("written");
    let mut out = Vec::new();
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "a connection with unfinished headers was not closed"
    );
    assert!(mock.post("quickstats_get", "admin", &[]).await.is_success());
    mock.stop().await;
}

/// The head deadline (1 s here) runs from each wait for a request: a head trickled a byte
/// every 100 ms is cut off unanswered, an idle keep-alive connection is closed, and a
/// connection that sends a request every 300 ms stays open for as long as it does so.
#[tokio::test]
async fn the_head_deadline_closes_trickled_and_idle_connections_not_busy_ones() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = Mock::start_with(
        MockConfig::new(Product::M4)
            .scenario(scenario(TEST_WORLD))
            .limits(mock_server::config::Limits {
                header_timeout: Duration::from_secs(1),
                ..small_limits()
            }),
    )
    .await;
    let bound = Duration::from_secs(30);
    let hash = mock_server::model::sign::sha1_hex(SECRET);
    let request = format!(
        "POST /billing/api/quickstats_get?u=admin&hash={hash} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    );

    // A head trickled a byte every 100 ms (each byte well within the deadline, the whole head
    // never): closed without an answer.
    let mut s = tokio::net::TcpStream::connect(mock.server.addr())
        .await
        .expect("connect");
    let started = Instant::now();
    let mut closed = false;
    for b in request.as_bytes() {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        let mut one = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut one)).await {
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => panic!("a trickled head was answered"),
        }
    }
    assert!(
        closed,
        "a head trickled over {:?} was read whole",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(6));

    // Keep-alive: seven requests 300 ms apart (each within the deadline, the whole far beyond
    // it) are answered on the same connection (a count, not a duration: a loaded machine
    // answers slower, never fewer)...
    let mut s = tokio::net::TcpStream::connect(mock.server.addr())
        .await
        .expect("connect");
    let started = Instant::now();
    let mut answers = 0;
    let mut last_answer = started;
    for _ in 0..7 {
        s.write_all(request.as_bytes())
            .await
            .expect("the connection is open");
        let mut buf = vec![0u8; 8192];
        let n = tokio::time::timeout(bound, s.read(&mut buf))
            .await
            .expect("answered in time")
            .expect("read");
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
            "answer {answers} on a busy connection"
        );
        answers += 1;
        last_answer = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(answers, 7);
    assert!(last_answer - started >= Duration::from_millis(1800));
    // ...and, once it falls silent, closed within the deadline (and not before it).
    let mut rest = Vec::new();
    tokio::time::timeout(bound, s.read_to_end(&mut rest))
        .await
        .expect("an idle connection was not closed")
        .expect("read");
    assert!(rest.is_empty());
    let idle = last_answer.elapsed();
    assert!(
        idle >= Duration::from_millis(800) && idle < Duration::from_secs(6),
        "{idle:?}"
    );
    assert!(mock.post("quickstats_get", "admin", &[]).await.is_success());
    mock.stop().await;
}

#[tokio::test]
async fn a_slow_body_that_does_not_finish_in_time_is_answered_408_and_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = Mock::start_with(
        MockConfig::new(Product::M4)
            .scenario(scenario(TEST_WORLD))
            .limits(small_limits()),
    )
    .await;
    let mut s = tokio::net::TcpStream::connect(mock.server.addr())
        .await
        .expect("connect");
    // A body announced at 64 bytes and sent one byte every 100 ms: each byte comes well within
    // any per-read timeout, the whole body never within the body timeout (500 ms).
    s.write_all(
        b"POST /billing/api/quickstats_get HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 64\r\n\r\n",
    )
    .await
    .expect("written");
    let (mut rd, mut wr) = s.split();
    let trickle = async {
        for _ in 0..64 {
            if wr.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    let mut out = Vec::new();
    // The outer bound only keeps a broken server from hanging the test (the trickle alone
    // would end after 6.4 s with a complete body).
    let read = async {
        tokio::time::timeout(std::time::Duration::from_secs(30), rd.read_to_end(&mut out)).await
    };
    let (_, read) = tokio::join!(trickle, read);
    assert!(read.is_ok(), "the connection was not closed");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(mock.post("quickstats_get", "admin", &[]).await.is_success());
    mock.stop().await;
}

#[test]
fn a_scenario_from_dev_zero_or_a_non_yaml_file_is_refused_without_echoing_it() {
    let out = std::process::Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--scenario", "/dev/zero"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/dev/zero:1:") && err.contains("not YAML text"),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("mor-mock-nonyaml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, content) in [
        ("key.txt", "hunter2-Pa55word-X\n"),
        ("passwd", "root:x:0:0:hunter2-Pa55word-X:/root:/bin/bash\n"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, content).expect("written");
        let out = std::process::Command::new(BIN)
            .args(["--bind", "127.0.0.1:0", "--scenario"])
            .arg(&path)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------ item 3: the journal

#[tokio::test]
async fn the_journal_redacts_every_credential_and_stays_bounded_in_bytes() {
    let mock = Mock::start(Product::Mor).await;
    let a = mock
        .send(
            reqwest::Method::POST,
            "user_simple_balance_get",
            &mock_server::model::params::Params::new().with("id", "aliceuh"),
        )
        .await;
    assert_eq!(a.body, "12.5000");
    mock.post("user_login", "alice", &[("p", "pw-Secret-9")])
        .await;
    let text = mock.admin_get("journal").await.to_string();
    assert!(!text.contains("aliceuh"), "the uniquehash leaked: {text}");
    assert!(!text.contains("pw-Secret-9"), "the password leaked: {text}");
    // Large signed-or-not requests: each entry is cut, the whole stays under the byte bound.
    let body = format!(
        "u=admin&{}",
        "x=".to_string() + &"A".repeat(3 * 1024 * 1024)
    );
    for _ in 0..20 {
        let r = mock
            .client
            .post(mock.url("/billing/api/quickstats_get"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status(), 200);
    }
    let r = mock
        .client
        .get(mock.url("/__admin/journal"))
        .send()
        .await
        .expect("answered");
    let journal = r.bytes().await.expect("journal body");
    assert!(
        journal.len() < 2 * mock_server::journal::JOURNAL_MAX_BYTES,
        "{} bytes",
        journal.len()
    );
    let entries: serde_json::Value = serde_json::from_slice(&journal).expect("JSON");
    assert_eq!(entries.as_array().map(Vec::len), Some(22));
    mock.stop().await;
}

// ------------------------------------------------------------------ item 6: logs

#[tokio::test]
async fn logs_and_the_explain_header_hold_no_password_no_forged_line_and_one_line_per_body() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let mut child = tokio::process::Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--explain", "--product", "m4"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mor-mock spawns");
    let out = child.stdout.take().expect("stdout");
    let line = BufReader::new(out)
        .lines()
        .next_line()
        .await
        .expect("a line")
        .expect("not EOF");
    let start = line.find("http://127.0.0.1:").expect("URL in the line");
    let url = line[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let client = reqwest::Client::new();
    // A hash mismatch on user_login, whose hash covers the password; the password carries a
    // newline that would start a forged log line.
    let r = client
        .post(format!("{url}/billing/api/user_login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("u=user1&p=Pa55-w0rd%0AFORGED%20ERROR%20line&hash=0000")
        .send()
        .await
        .expect("answered");
    let explain = r
        .headers()
        .get("x-mor-mock-explain")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(explain.contains("user_login"), "no explanation: {explain}");
    assert!(!explain.contains("Pa55-w0rd"), "{explain}");
    assert!(explain.contains("<redacted>"), "{explain}");
    // A JSON body of 20,000 nested members.
    let members: Vec<String> = (0..20_000).map(|i| format!("\"k{i}\":[1]")).collect();
    let r = client
        .post(format!("{url}/billing/api/quickstats_get?u=admin&hash=0"))
        .header("content-type", "application/json")
        .body(format!("{{{}}}", members.join(",")))
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 200);
    // A uniquehash (a credential) in a request that fails its optional hash.
    let _ = client
        .post(format!(
            "{url}/billing/api/user_simple_balance_get?id=adm1nun1q&hash=0"
        ))
        .send()
        .await
        .expect("answered");
    child.kill().await.expect("killed");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err).await;
    }
    assert!(!err.contains("Pa55-w0rd"), "the password was logged: {err}");
    assert!(
        !err.contains("adm1nun1q"),
        "the uniquehash was logged: {err}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("FORGED")),
        "a forged line: {err}"
    );
    assert!(err.lines().count() < 50, "{} lines", err.lines().count());
}

// ------------------------------------------------------------------ item 10: money

#[tokio::test]
async fn a_payment_whose_conversion_is_not_representable_is_refused_not_clamped() {
    let mock = Mock::start(Product::M4).await;
    let balance = || async {
        mock.send(
            reqwest::Method::POST,
            "user_simple_balance_get",
            &mock_server::model::params::Params::new().with("id", "aliceuh"),
        )
        .await
        .body
    };
    assert_eq!(balance().await, "12.5000");
    let a = mock
        .post(
            "payment_create",
            "admin",
            &[
                ("user_id", "6"),
                ("amount", "1000000000"),
                ("currency", "USD"),
                ("exchange_rate", "0.000001"),
                ("payment_to_provider", "1"),
            ],
        )
        .await;
    assert_eq!(
        a.error().as_deref(),
        Some("Payment was not saved"),
        "{}",
        a.body
    );
    assert_eq!(balance().await, "12.5000", "the balance moved");
    // Large but representable: computed exactly.
    let a = mock
        .post(
            "payment_create",
            "admin",
            &[
                ("user_id", "6"),
                ("amount", "1000000"),
                ("currency", "USD"),
                ("exchange_rate", "0.000001"),
                ("payment_to_provider", "1"),
            ],
        )
        .await;
    assert!(a.is_success(), "{}", a.body);
    assert_eq!(balance().await, "-999999999987.5000");
    mock.stop().await;
}

// ------------------------------------------------------------------ item 5: world loading

#[tokio::test]
async fn an_admin_scenario_world_larger_than_an_api_body_is_merged_and_answered() {
    let limits = mock_server::config::Limits {
        max_admin_body: 8 * 1024 * 1024,
        ..small_limits()
    };
    let mock = Mock::start_with(
        MockConfig::new(Product::Mor)
            .scenario(scenario(TEST_WORLD))
            .limits(limits),
    )
    .await;
    let mut yaml = String::from("version: 1\nworld:\n  base: default\n  calls:\n");
    for i in 0..3_000 {
        yaml.push_str(&format!(
            "    - {{ id: {}, calldate: \"today 10:00:00\", dst: \"37060000000\", user_id: 6, disposition: ANSWERED, billsec: 60, duration: 60 }}\n",
            500_000 + i
        ));
    }
    assert!(yaml.len() > limits.max_body);
    // As a JSON object too (JSON is YAML, and streams): the same ids replace, never duplicate.
    let json = format!(
        "{{\"version\": 1, \"world\": {{\"base\": \"default\", \"calls\": [{}]}}}}",
        (0..3_000)
            .map(|i| format!("{{\"id\": {}, \"calldate\": \"today 11:00:00\", \"dst\": \"37060000000\", \"user_id\": 6, \"disposition\": \"ANSWERED\"}}", 500_000 + i))
            .collect::<Vec<_>>()
            .join(",")
    );
    for body in [yaml.clone(), json] {
        let r = mock
            .client
            .post(mock.url("/__admin/scenario"))
            .header("content-type", "application/yaml")
            .body(body)
            .send()
            .await
            .expect("answered");
        let a = read(r).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let calls = mock
        .server
        .shared()
        .read()
        .world
        .data
        .calls
        .iter()
        .filter(|c| c.id >= 500_000 && c.id < 503_000)
        .count();
    assert_eq!(calls, 3_000);
    // An API body of the same size is over the API's limit.
    let r = mock
        .client
        .post(mock.url("/billing/api/quickstats_get?u=admin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("x={}", "a".repeat(yaml.len())))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    mock.stop().await;
}
