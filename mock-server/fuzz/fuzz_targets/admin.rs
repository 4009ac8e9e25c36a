//! Fuzz target `admin`: the admin API's bodies (issue 13) through the whole flow without a socket
//! ([`mock_server::handle`] with a loopback Host: the guard, then the endpoint).
//!
//! The first byte of an input picks the request: `POST /__admin/scenario` (YAML, most inputs),
//! `PATCH /__admin/settings` or `PATCH /__admin/quirks` (JSON), `POST /__admin/reset`; the rest
//! is the body. The mock starts from an empty world with a pinned clock and goes back to it
//! after every input, so inputs do not accumulate state.
//!
//! Checked: nothing panics; every answer is JSON with a status under 500; no request takes
//! longer than a second (the nesting and size bounds hold); the settings answered never show
//! the API secret.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, HOST};
use http::{HeaderMap, Method, Uri};
use libfuzzer_sys::fuzz_target;
use mock_server::{MockConfig, Shared};
use model::catalogue::Catalogue;
use model::settings::SettingsPatch;
use model::Product;

/// 2026-11-23 12:00:00 UTC.
const CLOCK: i64 = 1_795_435_200;

/// A secret the answers must never contain.
const SECRET: &str = "fuzz-Secret-7f3a";

/// The longest an admin request may take.
const MAX_TIME: Duration = Duration::from_secs(1);

struct Mock {
    rt: tokio::runtime::Runtime,
    shared: std::sync::Arc<Shared>,
}

fn mock() -> &'static Mock {
    static CELL: OnceLock<Mock> = OnceLock::new();
    CELL.get_or_init(|| {
        let empty = model::scenario::load_str(
            "version: 1\nworld:\n  base: empty\n",
            std::path::Path::new("empty.yaml"),
            Catalogue::embedded(),
        )
        .unwrap_or_else(|e| panic!("empty world: {e}"))
        .scenario;
        let config = MockConfig::new(Product::M4)
            .clock(CLOCK)
            .settings(SettingsPatch {
                api_secret: Some(SECRET.to_string()),
                ..Default::default()
            })
            .scenario(empty);
        let shared =
            std::sync::Arc::new(Shared::new(config).unwrap_or_else(|e| panic!("mock config: {e}")));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        Mock { rt, shared }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (verb, path, content_type) = match pick % 8 {
        0 => (Method::PATCH, "/__admin/settings", "application/json"),
        1 => (Method::PATCH, "/__admin/quirks", "application/json"),
        2 => (Method::POST, "/__admin/reset", "application/json"),
        _ => (Method::POST, "/__admin/scenario", "application/yaml"),
    };
    let m = mock();
    let uri = Uri::from_static(path);
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    let started = Instant::now();
    let answer = m.rt.block_on(mock_server::handle(
        &m.shared,
        verb,
        &uri,
        &headers,
        Bytes::copy_from_slice(body),
    ));
    let took = started.elapsed();
    assert!(took < MAX_TIME, "{path} took {took:?}");
    let r = &answer.response;
    assert!(r.status().as_u16() < 500, "{path} answered {}", r.status());
    let text = std::str::from_utf8(r.body()).unwrap_or_else(|e| panic!("not UTF-8: {e}"));
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        panic!("{path} answered something that is not JSON ({e}): {text}");
    }
    // A patch may set a new secret; the one in force must not be shown either (unless the
    // input itself holds it: an unknown field name is echoed, and that is the client's text).
    let secret = m.shared.read().settings.api_secret.clone();
    let sent = String::from_utf8_lossy(body);
    for s in [SECRET, secret.as_str()] {
        if s.len() >= 4 && !sent.contains(s) {
            assert!(!text.contains(s), "{path} showed the API secret: {text}");
        }
    }
    m.shared.reset();
});
