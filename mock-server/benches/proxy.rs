//! What `mor-mock --proxy` adds to each request: the same paced load (default 500 requests/s
//! for 10 s, quickstats_get as the admin on the default world) sent straight to a mock, then
//! through a proxy in front of it, both in this process on loopback; p50, p90 and p99 latency
//! of each and the difference (the proxy's added latency: parsing, checking the request and the
//! answer against the catalogue, the second hop).
//!
//! Run: `cargo bench -p mock-server --bench proxy` (release). `BENCH_RATE` and `BENCH_SECONDS`
//! change the load.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mock_server::model::catalogue::Product;
use mock_server::proxy::ProxyConfig;
use mock_server::{MockConfig, MockServer};

/// sha1("secret"): the admin's quickstats_get hash.
const PATH: &str =
    "/billing/api/quickstats_get?u=admin&hash=e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            std::process::exit(3);
        }
    };
    if let Err(e) = rt.block_on(bench()) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(3);
    }
}

/// Latencies of `rate` requests/s for `seconds` to `url` (open loop: a request starts every
/// 1/rate s whether or not the previous one finished), sorted; and the failures.
async fn paced(
    client: &reqwest::Client,
    url: &str,
    rate: u64,
    seconds: u64,
) -> (Vec<Duration>, usize) {
    let total = rate * seconds;
    let times = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let failures = Arc::new(Mutex::new(0usize));
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total as usize);
    for _ in 0..total {
        tick.tick().await;
        let (client, url) = (client.clone(), url.to_string());
        let (times, failures) = (times.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let ok = match client.post(&url).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            if ok {
                times.lock().map(|mut t| t.push(start.elapsed())).ok();
            } else {
                failures.lock().map(|mut f| *f += 1).ok();
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut times = times.lock().map(|t| t.clone()).unwrap_or_default();
    times.sort();
    let failed = failures.lock().map(|f| *f).unwrap_or(0);
    (times, failed)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn bench() -> Result<(), String> {
    let rate = env_num("BENCH_RATE", 500);
    let seconds = env_num("BENCH_SECONDS", 10);
    let deployment = MockServer::start(MockConfig::new(Product::M4))
        .await
        .map_err(|e| e.to_string())?;
    let mut config = MockConfig::new(Product::M4);
    config.proxy = Some(ProxyConfig {
        base: format!("{}/billing", deployment.url()),
        secret: Some("secret".into()),
        admin: "admin".into(),
        record: None,
    });
    let proxy = MockServer::start(config).await.map_err(|e| e.to_string())?;
    let client = reqwest::Client::new();
    // Warm both paths (connections, first answers).
    paced(&client, &format!("{}{PATH}", deployment.url()), rate, 1).await;
    paced(&client, &format!("{}{PATH}", proxy.url()), rate, 1).await;

    println!("{rate} requests/s for {seconds} s each, quickstats_get (admin, default world)");
    println!("path      answered  failed   p50 ms   p90 ms   p99 ms");
    let mut rows = Vec::new();
    for (name, base) in [("direct", deployment.url()), ("proxy", proxy.url())] {
        let (t, failed) = paced(&client, &format!("{base}{PATH}"), rate, seconds).await;
        println!(
            "{name:<9} {:>8} {failed:>7} {:>8.3} {:>8.3} {:>8.3}",
            t.len(),
            ms(pct(&t, 0.5)),
            ms(pct(&t, 0.9)),
            ms(pct(&t, 0.99))
        );
        rows.push(t);
    }
    let added = |p| ms(pct(&rows[1], p)) - ms(pct(&rows[0], p));
    println!(
        "added by the proxy: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
        added(0.5),
        added(0.9),
        added(0.99)
    );
    let report = proxy.shared().proxy.as_ref().map(|p| p.report());
    if let Some(r) = report {
        print!("{}", r.summary());
    }
    proxy.shutdown().await;
    deployment.shutdown().await;
    Ok(())
}
