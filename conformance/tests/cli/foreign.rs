//! `run` against a deployment whose data it does not know: `mor-mock` started as a separate
//! process on an unseen world, reached only through a target file (credentials and nothing
//! else); the README's deployment example as written; and a deployment that serves only some
//! methods.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use model::catalogue::{Catalogue, Product};

use super::power::{run_suite, write_target_file, Outcome, SECRET, UNSEEN_SEED};
use crate::text;

/// `mor-mock` beside `mor-conformance` in the target directory, brought up to date once per
/// test run: a narrower build (`cargo test -p conformance`) neither builds nor rebuilds it, and
/// a binary left from an older checkout answered with the old code (false failures after a
/// rebase). Cargo's own freshness check makes this a no-op when it is current.
pub(super) fn mor_mock_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let exe = Path::new(env!("CARGO_BIN_EXE_mor-conformance"))
        .with_file_name(format!("mor-mock{}", std::env::consts::EXE_SUFFIX));
    BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-q", "-p", "mock-server", "--bin", "mor-mock"]);
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "cargo build of mor-mock failed");
    });
    exe
}

/// A `mor-mock` process, killed when dropped.
pub(super) struct MockProcess {
    child: Child,
    pub(super) url: String,
}

impl MockProcess {
    pub(super) fn start(args: &[&str]) -> MockProcess {
        let mut child = Command::new(mor_mock_binary())
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .env("MOR_MOCK_API_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mor-mock starts");
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("the listening line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in `{line}`"))
            .to_string();
        MockProcess { child, url }
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("foreign-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Cases per method: (planned, run).
fn per_method(
    outcomes: &[Outcome],
    methods: &BTreeMap<String, String>,
) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for o in outcomes {
        let Some(m) = methods.get(&o.case) else {
            continue;
        };
        let e = out.entry(m.clone()).or_default();
        e.0 += 1;
        if o.status != "skipped" {
            e.1 += 1;
        }
    }
    out
}

fn every_method_runs_and_nothing_fails(name: &str, product: Product, mock_args: &[&str]) {
    let dir = temp(name);
    let (tf, env) = write_target_file(&dir, product, UNSEEN_SEED, &[]);
    let seed = UNSEEN_SEED.to_string();
    let mut args = vec!["--product", product.as_str(), "--unseen-world", &seed];
    args.extend_from_slice(mock_args);
    let mock = MockProcess::start(&args);
    let json = dir.join("report.json");
    let (code, outcomes) = run_suite(product, &mock.url, &tf, &env, &json);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("json");
    let cat = Catalogue::embedded();
    // The method of each case, canonical (a routing case's path is not a method).
    let methods: BTreeMap<String, String> = report["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .zip(&outcomes)
        .filter_map(|(o, out)| {
            let m = o["case"]["method"].as_str()?;
            let file = o["case"]["file"].as_str()?;
            // Per-method files only: scenarios/<product>/<method>[.variant].yaml.
            if !file.contains(&format!("scenarios/{product}/")) {
                return None;
            }
            Some((out.case.clone(), cat.method(product, m)?.name.to_string()))
        })
        .collect();
    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status == "failed" || o.status == "error")
        .collect();
    assert!(
        failed.is_empty(),
        "{product}: {} case(s) fail on a correct mock with an unseen world:\n{}",
        failed.len(),
        failed
            .iter()
            .map(|o| format!("  {}\n    {}", o.case, o.message.replace('\n', "\n    ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(code, 0);
    let counts = per_method(&outcomes, &methods);
    let computed = |m: &str| {
        cat.method(product, m)
            .is_some_and(|m| !m.is_catalogued_only())
    };
    let mut low = Vec::new();
    for (m, (planned, ran)) in &counts {
        println!("{product} {m}: {ran} of {planned} cases run");
        // A method catalogued only (answered from its documented sample or inferred shape) has
        // cases of the answer's shape and the protocol; its success needs a deployment's own
        // ids where the fact vocabulary names none, so its share is shown, not held to 70%.
        if computed(m) && (*ran as f64) < 0.7 * (*planned as f64) {
            low.push(format!("{m} {ran}/{planned}"));
        }
    }
    let without: Vec<&str> = cat
        .product(product)
        .methods()
        .iter()
        .filter(|m| !m.is_catalogued_only() && !counts.contains_key(m.name.as_str()))
        .map(|m| m.name.as_str())
        .collect();
    assert!(
        without.is_empty(),
        "computed methods without cases: {without:?}"
    );
    assert!(
        low.is_empty(),
        "{product}: fewer than 70% of the cases run for {low:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn on_an_unseen_m4_world_every_method_runs_70_percent_of_its_cases_and_none_fails() {
    every_method_runs_and_nothing_fails("m4", Product::M4, &[]);
}

#[test]
fn on_an_unseen_mor_world_every_method_runs_70_percent_of_its_cases_and_none_fails() {
    every_method_runs_and_nothing_fails("mor", Product::Mor, &[]);
}

/// A deployment whose clock is years from the runner's: "today" is the target's day, read from
/// its `Date` header (the mock's pinned clock), not the machine's.
#[test]
fn on_a_deployment_whose_clock_is_not_the_runner_s_today_is_the_deployment_s() {
    every_method_runs_and_nothing_fails(
        "m4-clock",
        Product::M4,
        &["--clock", "2031-02-10T23:30:00"],
    );
}

#[test]
fn with_only_the_admin_s_credentials_the_run_passes_and_every_skip_names_what_it_lacked() {
    for product in [Product::M4, Product::Mor] {
        let dir = temp(&format!("admin-{product}"));
        let (tf, env) = write_target_file(&dir, product, UNSEEN_SEED, &["admin"]);
        let mock = MockProcess::start(&[
            "--product",
            product.as_str(),
            "--unseen-world",
            &UNSEEN_SEED.to_string(),
        ]);
        let json = dir.join("report.json");
        let (code, outcomes) = run_suite(product, &mock.url, &tf, &env, &json);
        assert_eq!(code, 0, "{product}: exit code");
        for o in outcomes.iter().filter(|o| o.status == "skipped") {
            let m = &o.message;
            let named = m.contains("needs credentials for role `")
                || m.contains("needs fact $")
                || m.contains("needs the seeded world")
                || m.contains("needs setting ")
                || m.contains("needs the scenario's overlay")
                || m.contains("the target does not serve ")
                || m.contains("signature equals the right one");
            assert!(
                named,
                "{product}: {} skipped without naming what it lacked: {m}",
                o.case
            );
        }
        assert!(
            outcomes
                .iter()
                .any(|o| o.message.contains("needs credentials for role `user`")),
            "{product}: no case says it lacked the user's credentials"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The README's deployment example, word for word (only the base URL and the secret differ).
fn readme_example() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README");
    let start = readme
        .find("# against a deployment")
        .expect("the README's deployment example");
    readme[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("```"))
        .map(|l| l.trim_end_matches('\\').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_readme_deployment_example_passes_on_a_correct_deployment_and_fails_on_a_broken_one() {
    let example = readme_example();
    let words: Vec<&str> = example.split_whitespace().collect();
    assert!(words[0].starts_with("MOR_SECRET="), "{example}");
    assert_eq!(words[1], "mor-conformance", "{example}");
    let dir = temp("readme");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (defect, want) in [(None, 0), (Some("any_hash_accepted"), 4)] {
        let mut args = vec!["--product", "m4", "--unseen-world", "77"];
        if let Some(d) = defect {
            args.extend(["--defect", d]);
        }
        let mock = MockProcess::start(&args);
        let mut cmd: Vec<String> = Vec::new();
        for w in &words[2..] {
            let w = w.replace(
                "https://billing.example.com/billing",
                &format!("{}/billing", mock.url),
            );
            let w = w
                .replace("junit.xml", &dir.join("junit.xml").display().to_string())
                .replace(
                    "report.json",
                    &dir.join("report.json").display().to_string(),
                );
            cmd.push(w);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_mor-conformance"))
            .args(&cmd)
            .current_dir(&root)
            .env("MOR_SECRET", SECRET)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(want),
            "defect {defect:?}: {}\n{}",
            text(&out.stdout)
                .lines()
                .filter(|l| l.starts_with("FAIL") || l.starts_with("ERROR"))
                .collect::<Vec<_>>()
                .join("\n"),
            text(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_deployment_serving_some_methods_still_runs_the_cases_of_those_it_serves() {
    let dir = temp("partial");
    let catalogue = dir.join("partial.yaml");
    // The mock pretends not to know two methods: 404, as a web server without the route.
    std::fs::write(
        &catalogue,
        "version: 1\noverlay:\n  responses:\n    - { match: { method: devices_get }, status: 404, body: Not Found, content_type: text/plain }\n    - { match: { method: payments_get }, status: 404, body: Not Found, content_type: text/plain }\n",
    )
    .expect("scenario written");
    let (tf, env) = write_target_file(&dir, Product::M4, UNSEEN_SEED, &[]);
    let mock = MockProcess::start(&[
        "--product",
        "m4",
        "--unseen-world",
        &UNSEEN_SEED.to_string(),
        "--scenario",
        catalogue.to_str().expect("utf-8"),
    ]);
    let json = dir.join("report.json");
    let (code, outcomes) = run_suite(Product::M4, &mock.url, &tf, &env, &json);
    fn of<'a>(outcomes: &'a [Outcome], file: &'a str) -> impl Iterator<Item = &'a Outcome> {
        outcomes.iter().filter(move |o| o.case.starts_with(file))
    }
    // Every case of the unserved methods is skipped, each saying why (exact ones still for the
    // seeded world, the rest because the method is not served).
    for file in ["m4/devices_get.yaml", "m4/payments_get.yaml"] {
        let mut unserved = 0;
        for o in of(&outcomes, file) {
            assert_eq!(o.status, "skipped", "{}: {}", o.case, o.message);
            if o.message.contains("the target does not serve ") && o.message.contains("(HTTP 404)")
            {
                unserved += 1;
            }
        }
        assert!(unserved > 0, "{file}: no case names the unserved method");
    }
    let ran = of(&outcomes, "m4/quickstats_get.yaml")
        .filter(|o| o.status == "passed")
        .count();
    assert!(ran > 0, "quickstats_get's cases ran");
    assert_eq!(code, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A deployment of `product` serving one scenario's world (`world`: its `world:` block, under
/// a pinned clock and the test's secret), run with `scenarios` (paths under `scenarios/`) and a
/// target file naming `admin` and the simple user `user` (username, password): the run's
/// output and its JSON report.
fn run_on_world(
    name: &str,
    product: &str,
    world: &str,
    user: (&str, &str),
    scenarios: &[&str],
) -> (Output, serde_json::Value) {
    let dir = temp(name);
    let file = dir.join("world.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\nclock: \"2026-11-23 12:00:00\"\nsettings: {{ api_secret: {SECRET} }}\n{world}"
        ),
    )
    .expect("world written");
    let mock = MockProcess::start(&[
        "--product",
        product,
        "--scenario",
        file.to_str().expect("utf-8"),
    ]);
    let tf = dir.join("target.yaml");
    std::fs::write(
        &tf,
        format!(
            "product: {product}\nseeded: false\ncredentials:\n\
             \x20 admin: {{ username: admin, secret_env: MOR_SECRET, password_env: T_ADMIN_PW }}\n\
             \x20 user: {{ username: {}, secret_env: MOR_SECRET, password_env: T_USER_PW }}\n",
            user.0
        ),
    )
    .expect("target file written");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let json = dir.join("report.json");
    let paths: Vec<String> = scenarios
        .iter()
        .map(|s| root.join(s).to_str().expect("utf-8").to_string())
        .collect();
    let mut args: Vec<&str> = vec!["run"];
    args.extend(paths.iter().map(String::as_str));
    let (url, tf, json_s) = (
        mock.url.clone(),
        tf.to_str().expect("utf-8").to_string(),
        json.to_str().expect("utf-8").to_string(),
    );
    args.extend(["--target", &url, "--target-file", &tf, "--json", &json_s]);
    let out = super::run(
        &args,
        &[
            ("MOR_SECRET", SECRET),
            ("T_ADMIN_PW", "admin"),
            ("T_USER_PW", user.1),
        ],
    );
    let report = serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("json");
    drop(mock);
    let _ = std::fs::remove_dir_all(&dir);
    (out, report)
}

/// A quiet day on a deployment: no call today nor this month. Quick stats count 0 calls, and
/// aggregate_get answers `No data found` for the period: the same quantity, zero, so the
/// cross-method checks pass.
#[test]
fn on_a_day_without_calls_an_aggregate_s_no_data_found_counts_as_zero() {
    let (out, report) = run_on_world(
        "quiet",
        "m4",
        "world:\n  base: empty\n  users:\n\
         \x20   - { id: 7, username: quiet, password: qpw, role: user, owner_id: 0, balance: \"5.00\" }\n\
         \x20 calls:\n\
         \x20   - { id: 1, calldate: \"2026-10-03 10:00:00\", dst: \"37060000001\", user_id: 7,\n\
         \x20       disposition: ANSWERED, billsec: 60, user_price: \"0.12\", provider_price: \"0.05\" }\n",
        ("quiet", "qpw"),
        &["common/consistency.yaml", "m4/quickstats_get.yaml"],
    );
    let stdout = text(&out.stdout);
    let outcomes = report["outcomes"].as_array().expect("outcomes");
    let zero_compared = outcomes.iter().any(|o| {
        o["status"] == "passed"
            && o["case"]["name"]
                .as_str()
                .is_some_and(|n| n.contains("equal the answered calls aggregated"))
    });
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        zero_compared,
        "no quick stats case compared against an empty aggregate:\n{stdout}"
    );
}

/// A MOR deployment with users but no invoices and no subscriptions: the reads answer their
/// documented "nothing matches" (`no invoices found`, `No Subscriptions found`), so the cases
/// that need rows are skipped saying so, none fails, and the error cases still run.
#[test]
fn on_a_deployment_without_billing_records_cases_needing_rows_skip_and_none_fails() {
    let (out, report) = run_on_world(
        "no-records",
        "mor",
        "world:\n  base: empty\n  users:\n\
         \x20   - { id: 7, username: plain, password: ppw, role: user, owner_id: 0, balance: \"5.00\" }\n\
         \x20   - { id: 8, username: other, password: opw, role: user, owner_id: 0, balance: \"1.00\" }\n",
        ("plain", "ppw"),
        &["mor/invoices_get.yaml", "mor/subscriptions_get.yaml"],
    );
    let stdout = text(&out.stdout);
    let outcomes = report["outcomes"].as_array().expect("outcomes");
    let no_rows = outcomes
        .iter()
        .filter(|o| {
            o["status"] == "skipped"
                && o["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("has no rows for this case"))
        })
        .count();
    let passed = outcomes.iter().filter(|o| o["status"] == "passed").count();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(no_rows > 0, "no case skipped for want of rows:\n{stdout}");
    assert!(passed > 0, "no case ran:\n{stdout}");
}

/// The import's cases create tariffs with names of their own: a second run against the same
/// deployment meets the first run's tariffs, and names built with the fact `run.id` keep its
/// cases from meeting `TARIFF with same name exists` (they did before the fact).
#[test]
fn a_second_run_with_writes_against_the_same_deployment_meets_none_of_the_first_s_names() {
    let dir = temp("second-run");
    let (tf, env) = write_target_file(&dir, Product::Mor, UNSEEN_SEED, &[]);
    let seed = UNSEEN_SEED.to_string();
    let mock = MockProcess::start(&["--product", "mor", "--unseen-world", &seed]);
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/mor/tariff_retail_import.yaml");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for run in ["first", "second"] {
        let out = super::run(
            &[
                "run",
                file.to_str().expect("utf-8 path"),
                "--target",
                &mock.url,
                "--target-file",
                tf.to_str().expect("utf-8 path"),
                "--allow-writes",
            ],
            &env,
        );
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{run} run\n{stdout}");
        let summary = stdout.lines().last().unwrap_or_default();
        assert!(
            summary.contains(" passed, 0 failed") && !summary.starts_with("0 passed"),
            "{run} run: {summary}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
