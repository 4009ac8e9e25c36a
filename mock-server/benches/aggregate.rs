//! aggregate_get over a generated world of 1,000,000 calls: builds the world, then times the
//! handler (median of several runs) for this month with the default grouping, with a filter,
//! and with a finer grouping. Target: under 100 ms.
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
            let ms = time(product, &world, now, today, &params);
            println!("{product}: aggregate_get {label}: median {ms:.1} ms");
        }
    }
}

fn time(product: Product, world: &World, now: i64, today: i64, params: &[(&str, &str)]) -> f64 {
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
    for _ in 0..7 {
        let t = Instant::now();
        let reply = run(&ctx, world);
        runs.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(
            matches!(reply, Reply::Xml(_)),
            "aggregate answered {reply:?}"
        );
    }
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}
