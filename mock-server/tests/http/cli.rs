//! The `mor-mock` binary's contract (PRODUCT.md): `--bind 127.0.0.1:0` prints one line with the
//! URL once it accepts connections, a bad scenario file exits 2 naming its file and line, and
//! `--unseen-world SEED` with the hidden `--defect NAME` starts a mock measuring the suite.

use std::io::Write as _;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_mor-mock");

/// Send a started mor-mock SIGTERM (what `kill` and service managers send).
fn terminate(child: &tokio::process::Child) {
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
}

/// The line a started mor-mock prints once it accepts connections, and the URL in it.
async fn listening(child: &mut tokio::process::Child) -> (String, String) {
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
    (line, url)
}

/// A started mor-mock with `args` and one environment variable, its output piped (stderr kept
/// for the test to read), and its URL.
async fn spawn_logging(args: &[&str], env: (&str, &str)) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .env(env.0, env.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mor-mock spawns");
    let (_, url) = listening(&mut child).await;
    (child, url)
}

/// POST quickstats_get as admin with this hash.
async fn post_quickstats(url: &str, hash: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!(
            "{url}/billing/api/quickstats_get?u=admin&hash={hash}"
        ))
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn the_binary_prints_its_url_and_answers_at_once() {
    let mut child = tokio::process::Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--product", "mor", "--allow-get"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mor-mock spawns");
    let (line, url) = listening(&mut child).await;
    assert!(line.contains("(product mor)"), "{line}");
    let r = reqwest::get(format!(
        "{url}/billing/api/quickstats_get?u=admin&hash=e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"
    ))
    .await
    .expect("answered");
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap_or_default();
    assert!(!body.contains("<error>"), "{body}");
    child.kill().await.expect("killed");
}

#[test]
fn a_bad_scenario_file_exits_2_with_its_file_and_line() {
    let dir = std::env::temp_dir().join(format!("mor-mock-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.yaml");
    let mut f = std::fs::File::create(&path).expect("file");
    f.write_all(b"version: 1\nsettings:\n  allow_gett: true\n")
        .expect("written");
    let out = std::process::Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--scenario"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:3:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_binary_starts_an_unseen_world_with_a_defect_and_hides_the_defect_flag() {
    let help = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--unseen-world"), "{help}");
    assert!(!help.contains("--defect"), "{help}");

    let mut child = tokio::process::Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--product", "m4"])
        .args(["--unseen-world", "4", "--defect", "any_hash_accepted"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mor-mock spawns");
    let (_, url) = listening(&mut child).await;
    let user = mock_server::unseen_accounts(mock_server::model::Product::M4, 4)
        .into_iter()
        .find(|a| a.role == "user")
        .expect("a user account");
    // A wrong hash is accepted (the defect), for an account of the unseen world.
    let body = reqwest::Client::new()
        .post(format!(
            "{url}/billing/api/quickstats_get?u={}&hash=wrong",
            user.username
        ))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .unwrap_or_default();
    assert!(body.contains("<quickstats>"), "{body}");
    child.kill().await.expect("killed");

    let bad = std::process::Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--defect", "no_such_defect"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(1));
}

/// `--profile NAME` sets every quirk at that profile's positions, under the scenario files'
/// quirks; an unknown name, or one of another product, exits 1 listing the known profiles.
#[tokio::test]
async fn a_profile_sets_every_quirk_under_the_scenario_files() {
    let dir = std::env::temp_dir().join(format!("mor-mock-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let scenario = dir.join("over.yaml");
    std::fs::write(
        &scenario,
        "version: 1\nquirks: { balance_update_nesting: single }\n",
    )
    .expect("written");
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--product",
            "mor",
            "--profile",
            "x3",
        ])
        .arg("--scenario")
        .arg(&scenario)
        .env_remove("MOR_MOCK_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mor-mock spawns");
    let (_, url) = listening(&mut child).await;
    let body = reqwest::get(format!("{url}/__admin/quirks"))
        .await
        .expect("answered")
        .text()
        .await
        .expect("a body");
    let quirks: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    child.kill().await.expect("killed");
    let _ = std::fs::remove_dir_all(&dir);
    let x3 = model::profile::Profiles::embedded()
        .get(model::catalogue::Product::Mor, "x3")
        .expect("x3");
    let mut want = serde_json::to_value(&x3.quirks).expect("json");
    want["balance_update_nesting"] = "single".into();
    assert_eq!(quirks, want);
    assert_eq!(quirks["mor_hash_rule"], "global");

    for (product, name, says) in [
        (
            "mor",
            "x5",
            "unknown profile `x5` for mor (known: wiki-2024, x3)",
        ),
        (
            "m4",
            "x3",
            "profile `x3` describes mor, not m4 (profiles of m4: m4)",
        ),
    ] {
        let out = std::process::Command::new(BIN)
            .args([
                "--bind",
                "127.0.0.1:0",
                "--product",
                product,
                "--profile",
                name,
            ])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_flags() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(args)
            .output()
            .expect("mor-mock runs");
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        String::from_utf8(out.stdout).expect("utf-8")
    };
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run(&["--completions", shell]);
        // Flag names without dashes: fish writes `-l bind`.
        for flag in ["bind", "product", "scenario", "profile", "unseen-world"] {
            assert!(script.contains(flag), "{shell} completion lacks {flag}");
        }
    }
    let page = run(&["--man"]);
    assert!(page.contains(".TH mor-mock 1"), "{page}");
    assert!(page.contains("\\-\\-unseen\\-world"), "{page}");
    // Printing either is all the command does.
    let both = std::process::Command::new(BIN)
        .args(["--man", "--bind", "127.0.0.1:0"])
        .output()
        .expect("mor-mock runs");
    assert_eq!(
        both.status.code(),
        Some(1),
        "--man with another flag is a usage error"
    );
}

#[tokio::test]
async fn a_proxy_takes_its_secret_from_the_environment_and_sums_up_when_stopped() {
    let deployment = crate::support::Mock::start(mock_server::model::catalogue::Product::M4).await;
    let target = format!("{}/billing", deployment.server.url());
    let (child, url) = spawn_logging(
        &["--bind", "127.0.0.1:0", "--proxy", &target],
        ("MOR_PROXY_SECRET", "secret"),
    )
    .await;
    // A corrupted hash: forwarded, refused by the deployment, the client's fault.
    let r = post_quickstats(&url, "0000000000000000000000000000000000000000").await;
    assert!(r
        .text()
        .await
        .unwrap_or_default()
        .contains("Incorrect hash"));
    terminate(&child);
    let done = child.wait_with_output().await.expect("mor-mock ends");
    assert!(done.status.success(), "{:?}", done.status);
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(
        err.contains("1 exchanges, 0 clean, 1 with a client deviation, 0 with a server deviation"),
        "{err}"
    );
    assert!(
        err.contains("quickstats_get: 1 exchanges, client 1, server 0"),
        "{err}"
    );
    deployment.stop().await;
}

/// tower-http's request tracing is in the edge when `RUST_LOG` turns its debug events on (a
/// span and a line per request), and out of it by default; the answers are the same.
#[tokio::test]
async fn requests_are_traced_when_rust_log_turns_tower_http_debug_on() {
    let run = |rust_log: &'static str| async move {
        let (child, url) = spawn_logging(&["--bind", "127.0.0.1:0"], ("RUST_LOG", rust_log)).await;
        let r = post_quickstats(&url, "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4").await;
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        terminate(&child);
        let done = child.wait_with_output().await.expect("mor-mock ends");
        let err = String::from_utf8_lossy(&done.stderr).into_owned();
        (status, body, err)
    };
    let (status, body, log) = run("info,tower_http=debug").await;
    assert_eq!(status, 200, "{body}");
    assert!(log.contains("finished processing request"), "{log}");
    let (status_off, body_off, log_off) = run("info").await;
    assert!(!log_off.contains("processing request"), "{log_off}");
    assert_eq!((status, body), (status_off, body_off));
}

/// A tool that stops the mock the moment it says it listens gets a graceful stop, not a process
/// killed by the signal (the handlers are installed before that line is printed). The window
/// was short: a few starts make a regression likely to show.
#[tokio::test]
async fn a_signal_sent_as_soon_as_the_server_listens_stops_it_gracefully() {
    for _ in 0..5 {
        let mut child = tokio::process::Command::new(BIN)
            .args(["--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mor-mock spawns");
        let (line, _) = listening(&mut child).await;
        assert!(line.contains("listening"), "{line}");
        terminate(&child);
        let status = child.wait().await.expect("mor-mock ends");
        assert!(status.success(), "{status:?}");
    }
}

#[test]
fn a_proxy_to_something_that_is_not_a_url_is_refused() {
    let out = std::process::Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--proxy", "ftp://x"])
        .output()
        .expect("mor-mock runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--proxy ftp://x: not an http:// or https:// URL"),
        "{err}"
    );
}
