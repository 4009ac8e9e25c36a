//! Fuzz target `request`: the mock's whole request flow without a socket
//! ([`mock_server::handle`]: router -> request parameters (query, form, JSON) -> overlay ->
//! dispatch -> methods -> render), plus [`mock_server::request::parse`] with the JSON quirk off.
//!
//! The input is a request written as text, so the seed corpus is readable and libFuzzer's
//! mutations stay close to requests:
//!
//! ```text
//! POST /billing/api/user_balance_update?u=admin&user_id=2&balance=5&hash=...
//! Content-Type: application/x-www-form-urlencoded
//!
//! body bytes (form, JSON, or anything)
//! ```
//!
//! The first line is the verb and the request target (a target hyper would refuse is skipped:
//! the server never sees it); header lines follow up to an empty line; the rest is the body.
//! Each input is answered by three mocks: M4 with the default settings (most requests stop at the
//! hash check), and M4 and MOR with hash checking off and GET allowed, so mutated parameters
//! reach the method handlers. The clock is pinned, so an input answers the same way every time.
//! Admin paths (`/__admin/`) are skipped: they reconfigure the mock (a scenario can add delay
//! faults), and their YAML is fuzzed by the `scenario` target.
//!
//! Checked: nothing panics, and an answer sent as XML is well-formed XML.

#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, Method, Uri};
use libfuzzer_sys::fuzz_target;
use mock_server::{Delivery, MockConfig, Shared};
use model::settings::SettingsPatch;
use model::Product;

/// 2026-11-23 12:00:00 UTC, the suite's usual pinned day.
const CLOCK: i64 = 1_795_435_200;

/// Writes (payments) grow the world; go back to the start world this often.
const RESET_EVERY: u64 = 4096;

struct Mocks {
    rt: tokio::runtime::Runtime,
    mocks: Vec<std::sync::Arc<Shared>>,
}

fn mocks() -> &'static Mocks {
    static CELL: OnceLock<Mocks> = OnceLock::new();
    CELL.get_or_init(|| {
        let open = SettingsPatch {
            hash_check: Some(false),
            allow_get: Some(true),
            ..Default::default()
        };
        let configs = [
            MockConfig::new(Product::M4).clock(CLOCK),
            MockConfig::new(Product::M4)
                .clock(CLOCK)
                .settings(open.clone()),
            MockConfig::new(Product::Mor).clock(CLOCK).settings(open),
        ];
        let mocks = configs
            .into_iter()
            .map(|c| {
                std::sync::Arc::new(Shared::new(c).unwrap_or_else(|e| panic!("mock config: {e}")))
            })
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        Mocks { rt, mocks }
    })
}

/// One request taken apart from the text form described in the module docs.
struct Input {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let line = &data[..i];
            (line.strip_suffix(b"\r").unwrap_or(line), &data[i + 1..])
        }
        None => (data, &[]),
    }
}

fn parse_input(data: &[u8]) -> Option<Input> {
    let (line, mut rest) = split_line(data);
    let (verb, target) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (&b"POST"[..], line),
    };
    let method = Method::from_bytes(verb).unwrap_or(Method::POST);
    let uri = Uri::try_from(target).ok()?;
    let mut headers = HeaderMap::new();
    loop {
        let (h, r) = split_line(rest);
        rest = r;
        if h.is_empty() {
            break;
        }
        let Some(colon) = h.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&h[..colon]),
            HeaderValue::from_bytes(h[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    Some(Input {
        method,
        uri,
        headers,
        body: Bytes::copy_from_slice(rest),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = parse_input(data) else {
        return;
    };
    // The parameter stage alone, with the JSON quirk off (handle() runs it with the quirk on).
    let _ = mock_server::request::parse(input.uri.query(), &input.headers, &input.body, false);
    if input
        .uri
        .path()
        .starts_with(mock_server::router::ADMIN_PREFIX)
    {
        return;
    }
    let m = mocks();
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let reset = RUNS.fetch_add(1, Ordering::Relaxed) % RESET_EVERY == RESET_EVERY - 1;
    for shared in &m.mocks {
        let answer = m.rt.block_on(mock_server::handle(
            shared,
            input.method.clone(),
            &input.uri,
            &input.headers,
            input.body.clone(),
        ));
        assert_eq!(answer.delivery, Delivery::Full, "no overlay, no fault");
        let r = &answer.response;
        let xml = r
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("xml") && !ct.contains("gzip"));
        if xml && !r.headers().contains_key(CONTENT_ENCODING) {
            let text = std::str::from_utf8(r.body())
                .unwrap_or_else(|e| panic!("an XML answer that is not UTF-8: {e}"));
            if let Err(e) = model::xml::parse(text) {
                panic!("an XML answer that is not well-formed ({e}):\n{text}");
            }
        }
        if reset {
            shared.reset();
        }
    }
});
