//! aggregate_get over a generated world of 1,000,000 calls: builds the world, then times the
//! handler (median of several runs) for this month with the default grouping, with a filter,
//! and with a finer grouping. Target: under 20 ms (issue 15). Beside the wall-clock median it
//! prints the CPU time per run (the process's utime + stime over all runs, from /proc), which a
//! busy machine disturbs less.
//!
//! Run: `cargo bench -p mock-server --bench aggregate` (optionally `-- <calls>`).

use std::time::Instant;

use mock_server::generate::generated_calls;
use mock_server::methods::{handler, Ctx, Handler, Reply};
use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::world::month_start;
use mock_server::model::{Quirks, Settings};
use mock_server::world::World;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let today = now.div_euclid(86_400) * 86_400;
    for product in [Product::M4, Product::Mor] {
        let t = Instant::now();
        let data = generated_calls(product, 1, now, n);
        let generated = t.elapsed();
        let t = Instant::now();
        let world = World::build(data, today);
        let built = t.elapsed();
        println!(
            "{product}: {n} calls generated in {:.0} ms, world built in {:.0} ms",
            generated.as_secs_f64() * 1e3,
            built.as_secs_f64() * 1e3
        );
        let month = month_start(now).to_string();
        let cases: [(&str, Vec<(&str, &str)>); 3] = [
            ("this month, default grouping", vec![("from", &month)]),
            (
                "this month, a_dst=3706% filter",
                vec![("from", &month), ("a_dst", "3706%")],
            ),
            (
                "this month, grouped by destination too",
                vec![
                    ("from", &month),
                    ("group_by_dst", "1"),
                    ("group_by_originator", "1"),
                ],
            ),
        ];
        for (label, params) in cases {
            let (ms, cpu_ms) = time(product, &world, now, today, &params);
            println!(
                "{product}: aggregate_get {label}: median {ms:.1} ms, CPU {cpu_ms:.1} ms per run"
            );
        }
    }
}

/// utime + stime of this process, in clock ticks (None without /proc).
fn cpu_ticks() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The median wall-clock time of a run and the CPU time per run, in ms.
fn time(
    product: Product,
    world: &World,
    now: i64,
    today: i64,
    params: &[(&str, &str)],
) -> (f64, f64) {
    let method = Catalogue::embedded()
        .method(product, "aggregate_get")
        .expect("aggregate_get is in the catalogue");
    let mut p = Params::new();
    for (k, v) in params {
        p.push(*k, *v);
    }
    let settings = Settings::default();
    let quirks = Quirks::default();
    let admin = world.user(0).cloned();
    let ctx = Ctx {
        product,
        method,
        params: &p,
        caller: admin.as_ref(),
        settings: &settings,
        quirks: &quirks,
        now,
        today: (today, today + 86_399),
    };
    let Some(Handler::Read(run)) = handler("aggregate_get") else {
        panic!("aggregate_get is a read handler");
    };
    let mut runs = Vec::new();
    let ticks = clock_ticks();
    let cpu0 = cpu_ticks();
    for _ in 0..15 {
        let t = Instant::now();
        let reply = run(&ctx, world);
        runs.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(
            matches!(reply, Reply::Xml(_) | Reply::Rendered(_)),
            "aggregate answered {reply:?}"
        );
    }
    let cpu = match (cpu0, cpu_ticks()) {
        (Some(a), Some(b)) => (b - a) / ticks * 1e3 / runs.len() as f64,
        _ => f64::NAN,
    };
    runs.sort_by(f64::total_cmp);
    (runs[runs.len() / 2], cpu)
}
