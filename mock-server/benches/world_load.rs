//! World loading at 100k, 200k, 400k and 1,000,000 calls (issue 13 item 5): a scenario file of
//! that many calls (`base: empty`, the generated world's users, devices, providers and tariffs)
//! written as YAML (one flow mapping per call) and as JSON, is parsed (`scenario::load_str`),
//! then merged and indexed into a mock's state (`Shared::new`); each runs in its own process
//! (this binary re-executed), so its peak resident memory (`VmHWM`) is its own. Then an admin
//! scenario POST of 400k more calls (JSON) to a running mock of 400k calls, while a probe asks
//! the API every 5 ms: the probe's slowest answer during the POST is what the POST blocked.
//!
//! Run: `cargo bench -p mock-server --bench world_load` (optionally `-- <calls>...`).
//! Targets (issue 13): 200k calls under 5 s, 1,000,000 under 10 s and 1 GiB, no probe over 100 ms.

use std::path::Path;
use std::time::{Duration, Instant};

use mock_server::config::Limits;
use mock_server::generate::generated_calls;
use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::world::{format_datetime, When};
use mock_server::{MockConfig, MockServer, Shared};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// 2026-11-23 12:00:00 UTC.
const NOW: i64 = 1_795_435_200;

fn main() -> Result<(), BoxError> {
    if let Ok(job) = std::env::var("WORLD_LOAD_CHILD") {
        let words: Vec<&str> = job.split(' ').collect();
        return match words.as_slice() {
            ["gen", format, n, first_id, base, path] => {
                let text = scenario_text(n.parse()?, first_id.parse()?, Format::of(format)?, base)?;
                Ok(std::fs::write(path, text)?)
            }
            ["load", format, n, path] => load_once(n.parse()?, format, Path::new(path)),
            ["post", n, base, more] => admin_post(n.parse()?, Path::new(base), Path::new(more)),
            _ => Err(format!("unknown job {job}").into()),
        };
    }
    let sizes: Vec<usize> = {
        let given: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if given.is_empty() {
            vec![100_000, 200_000, 400_000, 1_000_000]
        } else {
            given
        }
    };
    let dir = std::env::temp_dir().join(format!("mor-mock-world-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = |name: &str| dir.join(name).display().to_string();
    let result = (|| {
        for format in ["yaml", "json"] {
            for n in &sizes {
                let path = file(&format!("{n}.{format}"));
                child(&format!("gen {format} {n} 1 empty {path}"))?;
                child(&format!("load {format} {n} {path}"))?;
                std::fs::remove_file(&path)?;
            }
        }
        let (base, more) = (file("base.json"), file("more.json"));
        child(&format!("gen json 400000 1 empty {base}"))?;
        child(&format!("gen json 400000 10000000 default {more}"))?;
        child(&format!("post 400000 {base} {more}"))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Run one job in a fresh process (this binary re-executed).
fn child(job: &str) -> Result<(), BoxError> {
    let status = std::process::Command::new(std::env::current_exe()?)
        .env("WORLD_LOAD_CHILD", job)
        .status()?;
    if !status.success() {
        return Err(format!("world_load {job}: {status}").into());
    }
    Ok(())
}

/// How a scenario file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// YAML, one flow mapping per call, as a user writes it.
    Yaml,
    /// A JSON object (JSON is YAML; the loader streams it).
    Json,
}

impl Format {
    fn of(name: &str) -> Result<Format, BoxError> {
        match name {
            "yaml" => Ok(Format::Yaml),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown format {name}").into()),
        }
    }
}

/// A scenario of `n` calls (ids from `first_id`) on the world `base` (`empty` or `default`).
fn scenario_text(n: usize, first_id: u64, format: Format, base: &str) -> Result<String, BoxError> {
    let mut world = generated_calls(Product::M4, 1, NOW, n);
    world.payments.clear();
    world.active_calls.clear();
    let today = NOW.div_euclid(86_400) * 86_400;
    for (i, c) in std::sync::Arc::make_mut(&mut world.calls)
        .iter_mut()
        .enumerate()
    {
        c.id = first_id + i as u64;
        c.calldate = When::parse(&format_datetime(c.calldate.resolve(today)?))?;
    }
    if format == Format::Json {
        #[derive(serde::Serialize)]
        struct Spec<'a> {
            base: &'a str,
            #[serde(flatten)]
            data: &'a mock_server::model::world::WorldData,
        }
        #[derive(serde::Serialize)]
        struct File<'a> {
            version: u32,
            world: Spec<'a>,
        }
        return Ok(serde_json::to_string(&File {
            version: 1,
            world: Spec { base, data: &world },
        })?);
    }
    let calls = std::mem::take(&mut world.calls);
    let mut text = String::with_capacity(n * 200);
    text.push_str(&format!("version: 1\nworld:\n  base: {base}\n"));
    for (key, value) in [
        ("users", serde_json::to_string(&world.users)?),
        ("devices", serde_json::to_string(&world.devices)?),
        ("providers", serde_json::to_string(&world.providers)?),
        ("destinations", serde_json::to_string(&world.destinations)?),
        ("tariffs", serde_json::to_string(&world.tariffs)?),
        ("currencies", serde_json::to_string(&world.currencies)?),
    ] {
        text.push_str(&format!("  {key}: {value}\n"));
    }
    text.push_str("  calls:\n");
    for c in calls.iter() {
        text.push_str(&format!(
            "    - {{ id: {}, calldate: \"{}\", src: \"{}\", dst: \"{}\", user_id: {}, device_id: {}, provider_id: {}, disposition: {}, billsec: {}, duration: {}, user_rate: \"{}\", user_price: \"{}\", provider_rate: \"{}\", provider_price: \"{}\" }}\n",
            c.id,
            c.calldate.as_str(),
            c.src,
            c.dst,
            c.user_id,
            c.device_id,
            c.provider_id,
            c.disposition.as_str(),
            c.billsec,
            c.duration,
            c.user_rate,
            c.user_price,
            c.provider_rate,
            c.provider_price,
        ));
    }
    Ok(text)
}

/// Load a scenario file as `mor-mock --scenario` does (bounded read, parse), then build the
/// state from it.
fn load_once(n: usize, format: &str, path: &Path) -> Result<(), BoxError> {
    let megabytes = std::fs::metadata(path)?.len() as f64 / 1e6;
    let t = Instant::now();
    let scenario = MockConfig::load_scenario(path, Catalogue::embedded())?;
    let parsed = t.elapsed();
    let t = Instant::now();
    let shared = Shared::new(MockConfig::new(Product::M4).clock(NOW).scenario(scenario))?;
    let built = t.elapsed();
    let calls = shared.read().world.data.calls.len();
    println!(
        "{format} {n:>9} calls ({megabytes:>3.0} MB): read and parsed in {:>5.2} s, merged and indexed in {:.2} s, up in {:>5.2} s, peak RSS {:>4} MB ({calls} calls)",
        parsed.as_secs_f64(),
        built.as_secs_f64(),
        (parsed + built).as_secs_f64(),
        vm_hwm_kb().unwrap_or(0) / 1024
    );
    Ok(())
}

/// A mock of `n` calls; POST a scenario of `n` more while probing the API.
fn admin_post(n: usize, base: &Path, more: &Path) -> Result<(), BoxError> {
    let scenario = MockConfig::load_scenario(base, Catalogue::embedded())?;
    let more = std::fs::read(more)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let limits = Limits {
            max_admin_body: 256 * 1024 * 1024,
            ..Limits::default()
        };
        let server = MockServer::start(
            MockConfig::new(Product::M4)
                .clock(NOW)
                .limits(limits)
                .scenario(scenario),
        )
        .await?;
        let url = server.url();
        let client = reqwest::Client::new();
        // The admin's balance by its uniquehash: a read that needs the state's read lock.
        let probe_url = format!("{url}/billing/api/user_simple_balance_get?id=adm1nun1q");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe = {
            let (client, stop) = (client.clone(), stop.clone());
            tokio::spawn(async move {
                let mut slowest = Duration::ZERO;
                let mut answered = 0u32;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let t = Instant::now();
                    let ok = client
                        .post(&probe_url)
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
        let megabytes = more.len() as f64 / 1e6;
        let t = Instant::now();
        let r = client
            .post(format!("{url}/__admin/scenario"))
            .header("content-type", "application/yaml")
            .body(more)
            .send()
            .await?;
        let status = r.status();
        let took = t.elapsed();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (slowest, answered) = probe.await?;
        let calls = server.shared().read().world.data.calls.len();
        println!(
            "admin POST of {n} calls (JSON, {megabytes:.0} MB) over {n}: HTTP {status} in {:.2} s, {calls} calls after; API probe: {answered} answers, slowest {:.0} ms; peak RSS {} MB",
            took.as_secs_f64(),
            slowest.as_secs_f64() * 1e3,
            vm_hwm_kb().unwrap_or(0) / 1024
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
