//! The integration tests of `mor-conformance`, one binary: each module covers a subcommand,
//! running the real executable.

mod capture;
mod diff;
mod foreign;
mod hash;
mod hostile;
mod power;
mod probe;
mod props;
mod record;
mod reports;
mod run;
mod schema;
mod secrets;
mod suite;
mod suite_run;
mod workflow;

use std::process::{Command, Output};

/// Run `mor-conformance` with these arguments and extra environment.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mor-conformance"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("mor-conformance runs")
}

/// Bytes as text, lossily (outputs of the binary).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Start an M4 mock on port 0 with this admin secret, an optional pinned clock and world seed,
/// and scenarios given as YAML (applied in order).
pub async fn start_mock(
    secret: &str,
    clock: Option<i64>,
    seed: Option<u64>,
    scenarios: &[&str],
) -> mock_server::MockServer {
    use model::catalogue::{Catalogue, Product};
    let mut c =
        mock_server::MockConfig::new(Product::M4).settings(model::settings::SettingsPatch {
            api_secret: Some(secret.into()),
            ..Default::default()
        });
    if let Some(t) = clock {
        c = c.clock(t);
    }
    if let Some(s) = seed {
        c = c.seed(s);
    }
    for (i, y) in scenarios.iter().enumerate() {
        let s = model::scenario::load_str(
            y,
            std::path::Path::new(&format!("mock{i}.yaml")),
            Catalogue::embedded(),
        )
        .expect("test scenario loads");
        c = c.scenario(s.scenario);
    }
    mock_server::MockServer::start(c)
        .await
        .expect("mock starts")
}
