//! The snapshot suite: every `snapshot: true` case of `scenarios/`, for both products, against
//! the in-process mock; one insta snapshot per product, method and case, holding the answer as
//! canonical XML (or the plain text) with volatile values redacted.
//!
//! Each scenario file runs on its own mock, every case in file order (a write changes what later
//! cases read), and only the `snapshot: true` ones are asserted. The mock's clock is pinned
//! ([`PINNED`]) unless the scenario pins its own, so computed values that depend on the time of
//! day are stable; dates and times are still redacted for scenarios that do not pin the clock,
//! as they would move with a real clock. Digests are always redacted (`record::redacted_body`).
//!
//! Every mismatch is collected (insta prints each diff) and the test fails once at the end.
//! CI runs it with `CI=true INSTA_UPDATE=no`: it never writes a snapshot there.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Duration;

use conformance::client::{build, Client, Limits, SignContext};
use conformance::inproc::credentials;
use conformance::plan::{collect_files, load};
use conformance::record::{redacted_body, Redaction};
use conformance::secret::Known;
use mock_server::{MockConfig, MockServer};
use model::catalogue::{Catalogue, Product};
use model::quirks::Quirks;

/// The clock the mock runs on when a scenario does not pin one (UTC).
const PINNED: &str = "2026-01-15 12:00:00";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').chars().take(70).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_snapshot_case_matches_its_reviewed_snapshot() {
    let catalogue = Catalogue::embedded();
    let files = collect_files(&[root().join("scenarios")]).expect("scenarios/ is readable");
    let loaded = load(&files, catalogue).expect("the scenario suite loads");
    let client = Client::new(Limits {
        timeout: Duration::from_secs(10),
        max_body: 64 * 1024 * 1024,
        rate: None,
        retries: 0,
    })
    .expect("client");
    let pinned = mock_server::config::parse_clock(PINNED).expect("pinned clock");
    let mut asserted = Vec::new();
    let mut failures = Vec::new();
    for product in Product::ALL {
        for ls in &loaded {
            let s = &ls.scenario;
            let wanted = s
                .cases
                .iter()
                .any(|c| c.snapshot && c.applies_to(s, product));
            if !s.applies_to(product) || !wanted {
                continue;
            }
            let server =
                MockServer::start(MockConfig::new(product).clock(pinned).scenario(s.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{}: the mock starts: {e}", ls.path));
            let (creds, quirks, today) = {
                let live = server.shared().read();
                (
                    credentials(
                        &live.world.data.users,
                        &live.settings.api_secret,
                        &Quirks::default(),
                    ),
                    live.quirks.clone(),
                    live.clock.today(),
                )
            };
            let ctx = SignContext {
                catalogue,
                product,
                quirks: &quirks,
                today,
            };
            let times = s.clock.is_none();
            let file = Path::new(&ls.path)
                .strip_prefix(root())
                .map_or(ls.path.clone(), |p| p.display().to_string());
            for case in s.cases.iter().filter(|c| c.applies_to(s, product)) {
                let req = build(&case.request, &creds, &ctx, &server.url())
                    .unwrap_or_else(|e| panic!("{}: {}: {e}", ls.path, case.name));
                let answer = client
                    .send(&req)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {}: {e}", ls.path, case.name));
                if !case.snapshot {
                    continue;
                }
                let method = catalogue
                    .method(product, &case.request.method)
                    .map_or(case.request.method.clone(), |m| m.name.to_string());
                let name = format!("{method}__{}", slug(&case.name));
                let body = redacted_body(&answer.text(), Redaction { times }, &Known::default());
                let mut settings = insta::Settings::clone_current();
                settings.set_snapshot_path(format!("../{product}"));
                settings.set_prepend_module_to_snapshot(false);
                settings.set_omit_expression(true);
                settings.set_description(format!("{file}: {}", case.name));
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    settings.bind(|| insta::assert_snapshot!(name.clone(), body));
                }));
                asserted.push(format!("{product}/{name}"));
                if outcome.is_err() {
                    failures.push(format!("{product}/{name} ({}: {})", ls.path, case.name));
                }
            }
            server.shutdown().await;
        }
    }
    for product in Product::ALL {
        // A method catalogued only answers its documented sample or inferred shape (a test of
        // the mock checks every one of them); a snapshot would hold the catalogue's own text.
        for m in catalogue
            .product(product)
            .methods()
            .iter()
            .filter(|m| !m.is_catalogued_only())
        {
            assert!(
                asserted
                    .iter()
                    .any(|a| a.starts_with(&format!("{product}/{}__", m.name))),
                "no snapshot case for {product} {}",
                m.name
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} snapshot(s) differ (see the diffs above; review with `cargo insta review`):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
