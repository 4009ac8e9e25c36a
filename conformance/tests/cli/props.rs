//! `mor-conformance props` end to end: the real binary against the in-process mock, as it is
//! and with each signature quirk flipped by a `--scenario` file; every broken position is caught
//! within the default case budget and the report names the attack that caught it.

use std::path::PathBuf;
use std::process::Output;

use crate::run;

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mor-props-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Run `props` with a quirk position set by a scenario file, on one method.
fn props_with_quirk(name: &str, quirk: &str, method: &str) -> Output {
    let dir = scratch(name);
    let scenario = dir.join("quirk.yaml");
    std::fs::write(&scenario, format!("version: 1\nquirks: {{ {quirk} }}\n")).expect("scenario");
    let regressions = dir.join("regressions.json");
    run(
        &[
            "props",
            "--scenario",
            scenario.to_str().expect("utf-8 path"),
            "--method",
            method,
            "--seed",
            "11",
            "--regressions",
            regressions.to_str().expect("utf-8 path"),
        ],
        &[("CI", "true")],
    )
}

fn assert_caught(o: &Output, method: &str, attack: &str) {
    let out = stdout(o);
    assert_eq!(o.status.code(), Some(4), "{out}");
    assert!(
        out.contains(&format!("FAIL     m4 {method} {attack}:")),
        "attack {attack} should catch it:\n{out}"
    );
    assert!(out.contains(&format!("attack {attack} (")), "{out}");
}

#[test]
fn passes_against_the_default_mock_for_every_method_of_both_products() {
    for product in ["m4", "mor"] {
        let dir = scratch(&format!("default-{product}"));
        let regressions = dir.join("regressions.json");
        let o = run(
            &[
                "props",
                "--product",
                product,
                "--cases",
                "32",
                "--seed",
                "5",
                "--regressions",
                regressions.to_str().expect("utf-8 path"),
            ],
            &[("CI", "true")],
        );
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(
            out.starts_with("props: seed 5 (replay with --seed 5)"),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "PASS     {product} user_details_get reordered (32 cases)"
            )),
            "{out}"
        );
        assert!(
            out.contains("concatenation_boundary (32 cases): accepted, the documented weakness"),
            "{out}"
        );
        let last = out.lines().last().unwrap_or_default();
        assert!(last.contains(" passed, 0 failed, "), "{last}");
        assert!(!regressions.exists(), "nothing failed, nothing saved");
    }
}

/// Every named profile (issue 11): the in-process mock at its quirk positions (`--profile`)
/// passes every property, signed the way that profile verifies (the MOR X3 global rule too).
#[test]
fn passes_on_every_profile() {
    for profile in model::profile::Profiles::embedded().all() {
        let dir = scratch(&format!("profile-{}", profile.name));
        let regressions = dir.join("regressions.json");
        let o = run(
            &[
                "props",
                "--profile",
                &profile.name,
                "--cases",
                "24",
                "--seed",
                "7",
                "--regressions",
                regressions.to_str().expect("utf-8 path"),
            ],
            &[("CI", "true")],
        );
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{}: {out}", profile.name);
        assert!(
            out.contains(&format!("PASS     {} ", profile.product)),
            "{}: the profile implies its product\n{out}",
            profile.name
        );
        let last = out.lines().last().unwrap_or_default();
        assert!(
            last.contains(" passed, 0 failed, "),
            "{}: {last}",
            profile.name
        );
        assert!(
            !regressions.exists(),
            "{}: nothing failed, nothing saved",
            profile.name
        );
    }
}

#[test]
fn catches_a_server_that_accepts_any_digest() {
    let o = props_with_quirk(
        "any-digest",
        "hash_verification: any_digest",
        "user_details_get",
    );
    for attack in [
        "digest_one_char",
        "wrong_secret",
        "no_secret",
        "reordered",
        "u_in_hash",
    ] {
        assert_caught(&o, "user_details_get", attack);
    }
}

#[test]
fn catches_a_server_that_ignores_the_secret() {
    let o = props_with_quirk(
        "ignore-secret",
        "hash_verification: ignore_secret",
        "user_details_get",
    );
    assert_caught(&o, "user_details_get", "no_secret");
    assert!(stdout(&o).contains("PASS     m4 user_details_get wrong_secret"));
}

#[test]
fn catches_a_server_that_accepts_any_order() {
    let o = props_with_quirk("any-order", "hash_order: any", "user_details_get");
    assert_caught(&o, "user_details_get", "reordered");
}

#[test]
fn catches_a_server_that_accepts_uppercase_only() {
    let o = props_with_quirk("upper", "hash_hex_case: upper", "user_details_get");
    assert_caught(&o, "user_details_get", "uppercase_digest");
    assert!(stdout(&o).contains("FAIL     m4 user_details_get valid_in_domain:"));
}

#[test]
fn catches_a_server_that_accepts_either_hex_case() {
    let o = props_with_quirk("any-case", "hash_hex_case: any", "quickstats_get");
    assert_caught(&o, "quickstats_get", "uppercase_digest");
}

#[test]
fn a_shrunk_failure_is_saved_and_replayed_first_without_the_secret() {
    let dir = scratch("replay");
    let scenario = dir.join("quirk.yaml");
    std::fs::write(
        &scenario,
        "version: 1\nsettings: { api_secret: Zq9-props-secret-Kx7 }\nquirks: { hash_verification: ignore_secret }\n",
    )
    .expect("scenario");
    let regressions = dir.join("saved/regressions.json");
    let args = [
        "props",
        "--scenario",
        scenario.to_str().expect("utf-8 path"),
        "--method",
        "devices_get",
        "--property",
        "no_secret",
        "--regressions",
        regressions.to_str().expect("utf-8 path"),
    ];
    let first = run(&args, &[("CI", "true")]);
    assert_eq!(first.status.code(), Some(4), "{}", stdout(&first));
    let saved = std::fs::read_to_string(&regressions).expect("regressions written");
    assert!(saved.contains("\"property\": \"no_secret\""), "{saved}");
    assert!(!saved.contains("Zq9-props-secret-Kx7"), "{saved}");
    assert!(!stdout(&first).contains("Zq9-props-secret-Kx7"));
    let second = run(&args, &[("CI", "true")]);
    let out = stdout(&second);
    assert_eq!(second.status.code(), Some(4), "{out}");
    assert!(out.contains("saved regression replayed"), "{out}");
}

#[test]
fn the_same_seed_gives_the_same_report() {
    let dir = scratch("seed");
    let scenario = dir.join("quirk.yaml");
    std::fs::write(&scenario, "version: 1\nquirks: { hash_order: any }\n").expect("scenario");
    let go = |n: &str| {
        let regressions = dir.join(format!("r{n}.json"));
        stdout(&run(
            &[
                "props",
                "--scenario",
                scenario.to_str().expect("utf-8 path"),
                "--method",
                "user_balance_update",
                "--seed",
                "42",
                "--cases",
                "32",
                "--regressions",
                regressions.to_str().expect("utf-8 path"),
            ],
            &[("CI", "true")],
        ))
        .replace(regressions.to_str().unwrap_or_default(), "<file>")
    };
    let a = go("1");
    assert!(
        a.contains("FAIL     m4 user_balance_update reordered:"),
        "{a}"
    );
    assert_eq!(a, go("2"));
}

#[test]
fn an_unknown_property_is_a_usage_error() {
    let o = run(&["props", "--property", "nope"], &[]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::BufRead as _;
    // `mor-conformance props | head -1`: the reader goes away after the first line.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mor-conformance"))
        .args(["props", "--cases", "20", "--seed", "1"])
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mor-conformance starts");
    let mut first = String::new();
    {
        let out = child.stdout.take().expect("stdout");
        std::io::BufReader::new(out)
            .read_line(&mut first)
            .expect("a first line");
    }
    let done = child.wait_with_output().expect("it ends");
    assert!(first.starts_with("props: seed 1"), "{first}");
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(done.status.code(), Some(101), "{err}");
}
