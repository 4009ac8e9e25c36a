//! The example CI workflow (`conformance/ci/github-actions.yml`) parses as the GitHub Actions
//! subset it uses, and its commands pass when run here as a runner would run them: every `run:`
//! step but the install (the binaries under test are put on PATH instead), with `bash -e`, the
//! job's env, `${{ matrix.* }}` filled in per shard and `GITHUB_ENV` carried from step to step.
//! Actions (`uses:`) are not run; their inputs are checked against the files the steps wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Workflow {
    name: String,
    #[serde(rename = "on")]
    triggers: BTreeMap<String, Option<serde_json::Value>>,
    jobs: BTreeMap<String, Job>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Job {
    #[serde(rename = "runs-on")]
    runs_on: String,
    strategy: Strategy,
    #[serde(default)]
    env: BTreeMap<String, String>,
    steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Strategy {
    #[serde(rename = "fail-fast")]
    fail_fast: bool,
    matrix: BTreeMap<String, Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    name: Option<String>,
    uses: Option<String>,
    run: Option<String>,
    #[serde(rename = "if")]
    condition: Option<String>,
    #[serde(default)]
    with: BTreeMap<String, String>,
}

/// `text` with `${{ matrix.K }}` filled in; any other expression is a failure (it could not be
/// run locally).
fn expand(text: &str, matrix: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in matrix {
        out = out.replace(&format!("${{{{ matrix.{k} }}}}"), v);
    }
    assert!(
        !out.contains("${{"),
        "an expression the local run cannot fill: {out}"
    );
    out
}

/// The folder holding both binaries: `mor-conformance` is this package's; `mor-mock` is built
/// beside it (a no-op when `cargo test --workspace` built it already).
fn binaries() -> PathBuf {
    let conformance = Path::new(env!("CARGO_BIN_EXE_mor-conformance"));
    let dir = conformance.parent().expect("binary folder").to_path_buf();
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build.args(["build", "--quiet", "-p", "mock-server", "--bin", "mor-mock"]);
    if dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let out = build.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo build -p mock-server --bin mor-mock: {}",
        super::text(&out.stderr)
    );
    assert!(
        dir.join("mor-mock").exists(),
        "mor-mock beside mor-conformance"
    );
    dir
}

/// Kills the job's background mock if a step failed before the stop step did.
struct StopMock(PathBuf);

impl Drop for StopMock {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

/// `KEY=VALUE` lines a step appended to `GITHUB_ENV`.
fn github_env(file: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The names of the test cases of a JUnit file (it must be well-formed XML).
fn junit_cases(path: &Path) -> BTreeSet<String> {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).expect("JUnit file written");
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut cases = BTreeSet::new();
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let attr = |n: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == n)
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                        .unwrap_or_default()
                };
                cases.insert(format!("{}::{}", attr(b"classname"), attr(b"name")));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    cases
}

#[test]
fn the_example_ci_workflow_parses_and_its_commands_pass_locally() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/github-actions.yml");
    let text = std::fs::read_to_string(&file).expect("workflow file");
    let workflow: Workflow = model::yaml::from_str(&text, &file).expect("the workflow parses");
    assert_eq!(workflow.name, "conformance");
    assert!(
        workflow.triggers.contains_key("push") && workflow.triggers.contains_key("pull_request")
    );
    assert_eq!(workflow.jobs.len(), 1, "one job");
    let job = workflow.jobs.values().next().expect("a job");
    assert!(job.runs_on.starts_with("ubuntu"), "{}", job.runs_on);
    assert!(
        !job.strategy.fail_fast,
        "every shard reports, even after a failing one"
    );
    let shards: Vec<String> = job.strategy.matrix["shard"]
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert!(shards.len() >= 2, "sharded: {shards:?}");

    // What the workflow must do, whatever its wording.
    let runs: String = job.steps.iter().filter_map(|s| s.run.clone()).collect();
    for needed in [
        "mor-mock ",
        "mor-conformance run ",
        "--partition ",
        "--junit ",
    ] {
        assert!(runs.contains(needed), "a step runs `{needed}`");
    }
    let uses: Vec<&str> = job.steps.iter().filter_map(|s| s.uses.as_deref()).collect();
    assert!(
        uses.iter()
            .any(|u| u.starts_with("actions/upload-artifact@")),
        "the reports are uploaded: {uses:?}"
    );

    let bin = binaries();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut per_shard = Vec::new();
    for shard in &shards {
        let matrix = BTreeMap::from([("shard".to_string(), shard.clone())]);
        let work =
            std::env::temp_dir().join(format!("mor-workflow-{}-{shard}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).expect("work folder");
        std::os::unix::fs::symlink(root.join("scenarios"), work.join("scenarios"))
            .expect("scenarios linked");
        let env_file = work.join("github_env");
        std::fs::write(&env_file, "").expect("GITHUB_ENV");
        let _stop = StopMock(work.join("mor-mock.pid"));
        for step in &job.steps {
            let label = step.name.clone().or(step.uses.clone()).unwrap_or_default();
            if let Some(uses) = &step.uses {
                // The reports an upload sends must exist.
                if uses.starts_with("actions/upload-artifact@") {
                    for p in expand(&step.with["path"], &matrix).lines() {
                        assert!(work.join(p.trim()).exists(), "{label}: {p} was written");
                    }
                }
                continue;
            }
            let run = expand(step.run.as_deref().expect("a run step"), &matrix);
            if run.lines().all(|l| l.trim().starts_with("cargo install ")) {
                // Installing is replaced by the binaries under test on PATH.
                assert!(run.contains("--path mock-server") && run.contains("--path conformance"));
                continue;
            }
            assert!(
                step.condition.is_none() || step.condition.as_deref() == Some("always()"),
                "{label}: only always() conditions are run locally"
            );
            let out = Command::new("bash")
                .args(["-e", "-c", &run])
                .current_dir(&work)
                .env_clear()
                .env("PATH", &path)
                .env("HOME", std::env::var("HOME").unwrap_or_default())
                .env("GITHUB_ENV", &env_file)
                .envs(&job.env)
                .envs(github_env(&env_file))
                .output()
                .expect("bash runs");
            assert!(
                out.status.success(),
                "shard {shard}, step {label} failed ({}):\n{}\n{}",
                out.status,
                super::text(&out.stdout),
                super::text(&out.stderr)
            );
        }
        let cases = junit_cases(&work.join(format!("junit-{shard}.xml")));
        assert!(!cases.is_empty(), "shard {shard} ran cases");
        per_shard.push(cases);
        std::fs::remove_dir_all(&work).expect("work folder removed");
    }
    for (i, a) in per_shard.iter().enumerate() {
        for b in &per_shard[i + 1..] {
            assert!(a.is_disjoint(b), "shards run different cases");
        }
    }
}
