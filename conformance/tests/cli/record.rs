//! `mor-conformance run --record DIR` then `--compare DIR` against a mock this test starts: the
//! recording holds redacted canonical answers (no secret, no digest), and after one world value
//! changes, the comparison reports that value and nothing else.

use std::path::{Path, PathBuf};
use std::process::Output;

use mock_server::world::World;
use mock_server::{MockConfig, MockServer};
use model::catalogue::{Product, Role};
use model::settings::SettingsPatch;
use model::world::Money;

use crate::run;

const SECRET: &str = "Zq9-record-test-secret-Kx7";

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mor-record-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

async fn run_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a, &[("MOR_SECRET", SECRET), ("CI", "true")])
    })
    .await
    .expect("runner thread")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_a_world_change_reports_only_the_changed_value() {
    let server = MockServer::start(MockConfig::new(Product::M4).settings(SettingsPatch {
        api_secret: Some(SECRET.into()),
        ..SettingsPatch::default()
    }))
    .await
    .expect("mock starts");
    let user = {
        let live = server.shared().read();
        live.world
            .data
            .users
            .iter()
            .find(|u| u.role == Role::User)
            .map(|u| (u.id, u.username.clone()))
            .expect("the default world has a simple user")
    };
    let dir = scratch("replay");
    let scenario = dir.join("recorded.yaml");
    std::fs::write(
        &scenario,
        format!(
            "version: 1\nproducts: [m4]\ncases:\n\
             \x20 - {{ name: user details, request: {{ method: user_details_get, params: {{ user_id: {id} }} }}, expect: {{ success: true }} }}\n\
             \x20 - {{ name: user devices, request: {{ method: devices_get, params: {{ user_id: {id} }} }}, expect: {{ success: true }} }}\n\
             \x20 - {{ name: quick stats, request: {{ method: quickstats_get }}, expect: {{ success: true }} }}\n\
             \x20 - {{ name: an unknown user, request: {{ method: user_details_get, params: {{ username: nobody_here }} }}, expect: {{ error: User was not found }} }}\n",
            id = user.0
        ),
    )
    .expect("scenario");
    let rec = dir.join("rec");
    let common = |flag: &str| {
        vec![
            "run".to_string(),
            scenario.display().to_string(),
            "--target".into(),
            server.url(),
            "--product".into(),
            "m4".into(),
            flag.into(),
            rec.display().to_string(),
        ]
    };

    let first = run_async(common("--record")).await;
    let out = String::from_utf8_lossy(&first.stdout).into_owned();
    assert_eq!(first.status.code(), Some(0), "{out}");
    let written = files(&rec);
    assert_eq!(written.len(), 4, "{written:?}");
    for f in &written {
        let text = std::fs::read_to_string(f).expect("recording readable");
        assert!(!text.contains(SECRET), "{}: {text}", f.display());
        assert!(text.starts_with("# case: "), "{text}");
        let hex40 = text
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|w| w.len() == 40);
        assert!(!hex40, "a digest in {}: {text}", f.display());
    }

    // Unchanged world: the comparison is clean.
    let same = run_async(common("--compare")).await;
    let out = String::from_utf8_lossy(&same.stdout).into_owned();
    assert_eq!(same.status.code(), Some(0), "{out}");

    // One world value changes: the user's balance.
    {
        let mut live = server.shared().write();
        let mut data = live.world.data.clone();
        if let Some(u) = data.users.iter_mut().find(|u| u.id == user.0) {
            u.balance = Money(u.balance.0 + Money::units(7).0);
        }
        live.world = World::new(data);
    }
    let replay = run_async(common("--compare")).await;
    let out = String::from_utf8_lossy(&replay.stdout).into_owned();
    assert_eq!(replay.status.code(), Some(4), "{out}");
    let changed: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("recording "))
        .collect();
    assert!(!changed.is_empty(), "{out}");
    for l in &changed {
        assert!(
            l.starts_with("recording /page/details/main_detail/balance"),
            "only the balance changed, yet: {l}\n{out}"
        );
    }
    assert!(!out.contains(SECRET));
    server.shutdown().await;
}
