//! The whole scenario suite (`scenarios/`) passes against the in-process mock, for both products:
//! `mor-conformance run scenarios/<product> scenarios/common scenarios/quirks --product <product>`
//! exits 0 with `N passed, 0 failed, 0 skipped` (issue 4: the suite and the mock agree, in CI).
//! A failure prints the runner's report, which names each failing case with its diff and a
//! reproduction.

use std::path::Path;

use crate::{run, text};

/// Run the suite for `product` and check the exit code and the summary line.
fn suite_passes(product: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let dirs: Vec<String> = [product, "common", "quirks"]
        .iter()
        .map(|d| root.join(d).display().to_string())
        .collect();
    let mut args = vec!["run"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--product", product]);
    let out = run(&args, &[("CI", "true")]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{product}: the suite fails against the in-process mock\n{stdout}\n{}",
        text(&out.stderr)
    );
    let summary = stdout.lines().last().unwrap_or_default();
    let planned = stdout
        .lines()
        .find_map(|l| l.split_once(" cases against the in-process mock"))
        .and_then(|(n, _)| n.trim().parse::<usize>().ok())
        .unwrap_or_else(|| panic!("{product}: no case count in the report\n{stdout}"));
    assert!(planned > 0, "{product}: no cases ran\n{stdout}");
    assert_eq!(
        summary,
        format!("{planned} passed, 0 failed, 0 skipped"),
        "{product}\n{stdout}"
    );
}

#[test]
fn the_whole_suite_passes_against_the_in_process_mock_for_m4() {
    suite_passes("m4");
}

#[test]
fn the_whole_suite_passes_against_the_in_process_mock_for_mor() {
    suite_passes("mor");
}
