//! `mor-conformance schema` publishes the JSON Schema of the scenario format; `completions` and
//! `man` the command line itself.

use crate::{run, text};

#[test]
fn prints_a_json_schema_of_the_scenario_format() {
    let out = run(&["schema"], &[]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["title"], "Scenario");
    assert!(v["properties"]["cases"].is_object());
    assert!(v["$defs"]["Case"]["properties"]["request"].is_object());
}

#[test]
fn completions_and_man_pages_come_from_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell], &[]);
        assert!(out.status.success(), "{shell}");
        let script = text(&out.stdout);
        // Flag names without dashes: fish writes `-l junit`.
        for word in ["run", "props", "target-file", "partition", "junit"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = run(&["man"], &[]);
    assert!(out.status.success());
    let page = text(&out.stdout);
    assert!(page.contains(".TH mor-conformance 1"), "{page}");
    assert!(
        page.contains("capture"),
        "the page lists the subcommands: {page}"
    );

    let dir = std::env::temp_dir().join(format!("mor-man-{}", std::process::id()));
    let out = run(&["man", "--out-dir", dir.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run_page = std::fs::read_to_string(dir.join("mor-conformance-run.1")).expect("run's page");
    assert!(run_page.contains(".TH mor-conformance-run 1"), "{run_page}");
    assert!(run_page.contains("partition"), "{run_page}");
    for sub in [
        "hash", "schema", "methods", "props", "probe", "diff", "capture",
    ] {
        assert!(
            dir.join(format!("mor-conformance-{sub}.1")).exists(),
            "{sub}"
        );
    }
    std::fs::remove_dir_all(&dir).expect("removed");
}
