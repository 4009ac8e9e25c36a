//! `payments_get` without filters over a large world (issue 13 item 8): 200,000 payments dated
//! today (so every one is in the default period), four unfiltered reads by the admin at once,
//! while a writer changes a balance (`user_balance_update`) every 5 ms. Prints each read's time
//! and answer size, the writer's slowest answer during the reads (how long the reads kept the
//! state's write lock from it), and the process's peak resident memory. It runs in a child
//! process of its own (this binary re-executed), so the peak is the mock's.
//!
//! Run: `cargo bench -p mock-server --bench payments` (optionally `-- <payments>`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_server::generate::default_world;
use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::sign::{self, SignOptions};
use mock_server::model::world::{format_datetime, Money, Payment, When};
use mock_server::{MockConfig, MockServer};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// 2026-11-23 12:00:00 UTC.
const NOW: i64 = 1_795_435_200;

/// The default world's admin secret.
const SECRET: &str = "secret";

fn main() -> Result<(), BoxError> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    if std::env::var_os("PAYMENTS_CHILD").is_some() {
        return run(n);
    }
    let status = std::process::Command::new(std::env::current_exe()?)
        .arg(n.to_string())
        .env("PAYMENTS_CHILD", "1")
        .status()?;
    if !status.success() {
        return Err(format!("payments bench: {status}").into());
    }
    Ok(())
}

/// The path and query of a request signed by the admin.
fn signed(method: &str, params: &[(&str, &str)]) -> Result<String, BoxError> {
    let m = Catalogue::embedded()
        .method(Product::M4, method)
        .ok_or("no such method")?;
    let mut p = Params::new().with("u", "admin");
    for (k, v) in params {
        p.push(*k, *v);
    }
    let digest = sign::sign(m, &p, true, SECRET, &SignOptions::default());
    p.push("hash", digest);
    Ok(format!("/billing/api/{method}?{}", p.to_query()))
}

fn run(n: usize) -> Result<(), BoxError> {
    let mut world = default_world(Product::M4, 1, NOW);
    let users: Vec<u64> = world.users.iter().map(|u| u.id).collect();
    let today = NOW.div_euclid(86_400) * 86_400;
    let template = world.payments.first().cloned().ok_or("no payment")?;
    world.payments = (0..n)
        .map(|i| -> Result<Payment, BoxError> {
            Ok(Payment {
                id: 1_000_000 + i as u64,
                user_id: users[i % users.len()],
                date: When::parse(&format_datetime(today + (i % 43_200) as i64))?,
                amount: Money((i % 10_000) as i64 * 10_000 + 10_000),
                comment: format!("payment {i}"),
                transaction: format!("tx{i}"),
                ..template.clone()
            })
        })
        .collect::<Result<_, _>>()?;
    // Laid over the default world (its users, currencies and own payments stay), as a scenario
    // file, read the way `--scenario` reads one.
    let text = serde_json::to_string(&serde_json::json!({
        "version": 1,
        "world": { "base": "default", "payments": world.payments },
    }))?;
    drop(world);
    let file = std::env::temp_dir().join(format!("mor-mock-payments-{}.json", std::process::id()));
    std::fs::write(&file, text)?;
    let scenario = MockConfig::load_scenario(&file, Catalogue::embedded());
    std::fs::remove_file(&file)?;
    let scenario = scenario?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let server = MockServer::start(MockConfig::new(Product::M4).clock(NOW).scenario(scenario))
            .await?;
        let url = server.url();
        let client = reqwest::Client::new();
        let read = format!("{url}{}", signed("payments_get", &[])?);
        let write = format!(
            "{url}{}",
            signed("user_balance_update", &[("user_id", "2"), ("balance", "0.01")])?
        );
        let base_kb = vm_hwm_kb().unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (client, stop, write) = (client.clone(), stop.clone(), write.clone());
            tokio::spawn(async move {
                let (mut slowest, mut answered) = (Duration::ZERO, 0u32);
                while !stop.load(Ordering::SeqCst) {
                    let t = Instant::now();
                    let ok = client
                        .post(&write)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    slowest = slowest.max(t.elapsed());
                    answered += u32::from(ok);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (slowest, answered)
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let reads: Vec<_> = (0..4)
            .map(|_| {
                let (client, read) = (client.clone(), read.clone());
                tokio::spawn(async move {
                    let t = Instant::now();
                    let r = client.post(&read).send().await?;
                    let status = r.status();
                    let body = r.bytes().await?;
                    let rows = body.windows(9).filter(|w| w == b"<payment>").count();
                    Ok::<_, BoxError>((status, body.len(), rows, t.elapsed()))
                })
            })
            .collect();
        let mut lines = Vec::new();
        for r in reads {
            let (status, bytes, rows, took) = r.await??;
            lines.push(format!(
                "HTTP {status}, {:.1} MB, {rows} payments in {:.2} s",
                bytes as f64 / 1e6,
                took.as_secs_f64()
            ));
        }
        let all = started.elapsed();
        stop.store(true, Ordering::SeqCst);
        let (slowest, answered) = writer.await?;
        println!("payments_get without filters over {n} payments, four at once (release, in-process mock on loopback):");
        for l in lines {
            println!("  read       : {l}");
        }
        println!(
            "  all four   : {:.2} s; writer (a balance update every 5 ms): {answered} answers, slowest {:.0} ms",
            all.as_secs_f64(),
            slowest.as_secs_f64() * 1e3
        );
        println!(
            "  peak RSS   : {} MB ({} MB with the world loaded, before the reads)",
            vm_hwm_kb().unwrap_or(0) / 1024,
            base_kb / 1024
        );
        server.shutdown().await;
        Ok::<(), BoxError>(())
    })
}

/// Peak resident memory of this process, in KiB.
fn vm_hwm_kb() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}
