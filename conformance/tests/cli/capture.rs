//! `capture`: a mock running an unseen world is captured into a world file; a second mock
//! serving that file answers every read request of the captured period as the first does
//! (`diff`), and the file holds no secret, no digest and, by default, no original personal data.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use model::catalogue::Product;
use model::world::WorldData;

use super::foreign::MockProcess;
use super::power::{write_target_file, SECRET, UNSEEN_SEED};
use crate::{run, text};

const CLOCK: &str = "2026-11-23T12:00:00";

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("capture-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn capture(url: &str, tf: &Path, env: &[(String, String)], out: &Path, extra: &[&str]) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let o = out.to_str().expect("utf-8 path");
    let tf = tf.to_str().expect("utf-8 path");
    let mut args = vec![
        "capture",
        "--target",
        url,
        "--target-file",
        tf,
        "--out",
        o,
        "--rate",
        "2000",
        "--max-id",
        "3000",
        "--id-gap",
        "400",
    ];
    args.extend_from_slice(extra);
    let r = run(&args, &env);
    assert_eq!(
        r.status.code(),
        Some(0),
        "capture failed:\n{}\n{}",
        text(&r.stdout),
        text(&r.stderr)
    );
}

fn world_of(file: &Path) -> WorldData {
    let text = std::fs::read_to_string(file).expect("the captured world is written");
    let s = model::scenario::load_str(&text, file, model::catalogue::Catalogue::embedded())
        .expect("the captured world loads");
    s.scenario.world.expect("a world").data
}

/// Read cases covering every read method over the captured world and period.
fn cases(w: &WorldData) -> String {
    let mut y = String::from("version: 1\nproducts: [m4]\ncases:\n");
    let mut case = |name: String, method: &str, params: String| {
        let _ = writeln!(
            y,
            "- name: {name}\n  request: {{ method: {method}, params: {{ {params} }} }}\n  expect: {{ success: true }}"
        );
    };
    // November 2026 (the mocks' month), and last month.
    for (label, a, b) in [
        ("this month", "1793491200", "1796083199"),
        ("last month", "1790812800", "1793491199"),
        ("today", "1795392000", "1795478399"),
    ] {
        case(
            format!("calls {label}"),
            "user_calls_get",
            format!("s_user: all, period_start: {a}, period_end: {b}"),
        );
        case(
            format!("payments {label}"),
            "payments_get",
            format!("from_s: {a}, till_s: {b}"),
        );
        case(
            format!("aggregate {label}"),
            "aggregate_get",
            format!("from: {a}, till: {b}"),
        );
    }
    case("quickstats".into(), "quickstats_get", String::new());
    for u in &w.users {
        let id = u.id;
        case(
            format!("details {id}"),
            "user_details_get",
            format!("user_id: {id}"),
        );
        case(
            format!("devices {id}"),
            "devices_get",
            format!("user_id: {id}"),
        );
        case(
            format!("balance {id}"),
            "user_balance_get",
            format!("username: {}", u.username),
        );
        case(
            format!("calls of {id}"),
            "user_calls_get",
            format!("s_user: {id}, period_start: 1793491200, period_end: 1796083199"),
        );
    }
    for d in &w.devices {
        let id = d.id;
        case(
            format!("device {id}"),
            "device_details_get",
            format!("device_id: {id}"),
        );
    }
    for t in &w.tariffs {
        let id = t.id;
        case(
            format!("tariff {id}"),
            "tariff_rates_get",
            format!("tariff_id: {id}"),
        );
    }
    y
}

#[test]
fn a_captured_world_answers_every_read_as_the_deployment_and_holds_no_secret_nor_personal_data() {
    let product = Product::M4;
    let dir = temp("m4");
    let (tf, env) = write_target_file(&dir, product, UNSEEN_SEED, &[]);
    let seed = UNSEEN_SEED.to_string();
    let original =
        MockProcess::start(&["--product", "m4", "--unseen-world", &seed, "--clock", CLOCK]);
    let kept = dir.join("kept.yaml");
    capture(
        &original.url,
        &tf,
        &env,
        &kept,
        &["--keep-personal-data", "--from", "2026-10-01"],
    );
    let w = world_of(&kept);
    assert!(w.users.len() > 3, "users captured: {}", w.users.len());
    assert!(!w.devices.is_empty() && !w.tariffs.is_empty());
    assert!(w.calls.len() >= 10, "calls captured: {}", w.calls.len());
    let twin = MockProcess::start(&[
        "--product",
        "m4",
        "--scenario",
        kept.to_str().expect("utf-8"),
        "--clock",
        CLOCK,
    ]);
    let cases_file = dir.join("cases.yaml");
    std::fs::write(&cases_file, cases(&w)).expect("cases written");
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let tfs = tf.to_str().expect("utf-8");
    for paths in [vec![], vec![cases_file.to_str().expect("utf-8")]] {
        let mut args = vec![
            "diff",
            "--baseline",
            &original.url,
            "--candidate",
            &twin.url,
            "--baseline-target-file",
            tfs,
            "--candidate-target-file",
            tfs,
            "--rate",
            "2000",
            // Device secrets are never captured.
            "--ignore",
            "device_details_get:**/secret",
            // Active calls are "now", not of the captured period: no read method lists them.
            "--ignore",
            "quickstats_get:**/active_calls/**",
        ];
        args.extend(paths);
        let r = run(&args, &envs);
        assert_eq!(
            r.status.code(),
            Some(0),
            "the twin differs:\n{}\n{}",
            text(&r.stdout),
            text(&r.stderr)
        );
    }

    // By default: pseudonyms; never a secret, a digest, a password or a uniquehash.
    let default = dir.join("default.yaml");
    capture(&original.url, &tf, &env, &default, &[]);
    let kept_text = std::fs::read_to_string(&kept).expect("kept");
    let text_default = std::fs::read_to_string(&default).expect("default");
    for t in [&kept_text, &text_default] {
        assert!(!t.contains(SECRET), "the admin's secret is written");
        for (_, v) in env.iter().filter(|(k, _)| k.ends_with("_SECRET")) {
            assert!(!t.contains(&format!(": {v}\n")), "a credential is written");
        }
        assert!(!t.contains("api_secret"), "an API secret is written");
        // No digest: no run of 40 hex digits anywhere.
        let digest = t
            .split(|c: char| !c.is_ascii_hexdigit())
            .find(|w| w.len() >= 40);
        assert_eq!(digest, None, "a digest is written");
    }
    let d = world_of(&default);
    assert_eq!(d.users.len(), w.users.len());
    for (a, b) in w.users.iter().zip(&d.users) {
        assert!(a.password.is_empty() && a.uniquehash.is_empty() && a.api_secret.is_none());
        for personal in [&a.first_name, &a.last_name, &a.email] {
            if !personal.is_empty() {
                assert!(
                    !text_default.contains(personal.as_str()),
                    "`{personal}` of user {} is written",
                    a.id
                );
            }
        }
        assert_eq!(a.username, b.username);
    }
    for c in w.calls.iter() {
        for personal in [&c.src, &c.clid] {
            if personal.len() > 3 {
                assert!(
                    !text_default.contains(personal.as_str()),
                    "caller id `{personal}` written"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
