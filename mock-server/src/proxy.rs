//! `mor-mock --proxy BASE_URL`: between a real client and a real deployment. Every API request
//! is forwarded to the deployment and its answer returned unchanged (status, headers, bytes),
//! while each exchange is judged from the catalogue:
//!
//! - the **client's** request: a method the catalogue knows, its required parameters present,
//!   and its `hash` recomputed with the secret the proxy was given (`MOR_PROXY_SECRET` or
//!   `--proxy-secret-file`, never argv), explained on a mismatch exactly as the mock explains it
//!   (`hash does not match for user_balance_get: expected sha1("user1" + <secret>) ...`, a hashed
//!   password masked);
//! - the **server's** answer: HTTP 200, well-formed XML where the method answers XML, an error
//!   text the catalogue documents for the method, and a success answer with the element tree of
//!   the documented sample (the runner's structural comparison, `model::xml::diff`).
//!
//! Each deviation is journalled with its side (client or server) next to the exchange, counted
//! per method, listed by `GET /__admin/proxy` and summarised when the proxy shuts down. What the
//! journal keeps is redacted as everywhere (credentials masked, values bounded); the secret
//! never leaves this module.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read as _;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Response, StatusCode, Uri};
use model::catalogue::{BodyKind, Method as ApiMethod, ProductCatalogue};
use model::mask::{is_credential, Known, RECORD};
use model::params::Params;
use model::sign::VerifyOptions;
use model::xml::{self, DiffMode};
use model::Quirks;
use serde::Serialize;

/// How many deviations the proxy keeps for `GET /__admin/proxy` (the counts cover all).
const KEPT_DEVIATIONS: usize = 1000;

/// The recording's file name inside `--record DIR`.
pub const RECORDING: &str = "proxy-recording.yaml";

/// The most distinct requests a recording keeps (a later answer to the same request replaces
/// the earlier one).
const RECORDED_REQUESTS: usize = 1000;

/// How long the deployment may take to answer one request.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// What the proxy is given.
#[derive(Clone)]
pub struct ProxyConfig {
    /// The deployment's base URL, as in a runner's target file: requests for
    /// `/billing/api/<method>` go to `BASE/api/<method>` (so `https://host/billing`).
    pub base: String,
    /// The secret hashes are recomputed with (`None`: hashes are not checked, and the summary
    /// says so).
    pub secret: Option<String>,
    /// The username whose requests are the System Admin's (`u` is hashed for him under some
    /// rules).
    pub admin: String,
    /// Write what the proxy saw into this folder as a scenario the mock serves
    /// (`proxy-recording.yaml`, see [`RECORDING`]).
    pub record: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("base", &self.base)
            .field("secret", &self.secret.as_ref().map(|_| "<secret>"))
            .field("admin", &self.admin)
            .field("record", &self.record)
            .finish()
    }
}

/// Whose fault a deviation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The request does not follow the catalogue.
    Client,
    /// The answer does not follow the catalogue.
    Server,
}

impl Side {
    /// `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// One deviation of one exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deviation {
    /// Whose fault.
    pub side: Side,
    /// The method as the path named it.
    pub method: String,
    /// What deviates, with the explanation.
    pub what: String,
}

/// Counts of one method's exchanges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MethodCounts {
    /// Exchanges forwarded.
    pub exchanges: u64,
    /// Exchanges with a deviation of the client.
    pub client: u64,
    /// Exchanges with a deviation of the server.
    pub server: u64,
}

/// What the proxy saw (the `GET /__admin/proxy` document and the shutdown summary).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProxyReport {
    /// The deployment.
    pub upstream: String,
    /// Whether hashes were recomputed (a secret was given).
    pub hash_checked: bool,
    /// Exchanges forwarded.
    pub exchanges: u64,
    /// Exchanges with no deviation.
    pub clean: u64,
    /// Requests the deployment did not answer (refused, timed out): answered 502 by the proxy.
    pub unanswered: u64,
    /// Per method.
    pub methods: BTreeMap<String, MethodCounts>,
    /// The latest deviations, oldest first (at most 1,000).
    pub deviations: VecDeque<Deviation>,
}

impl ProxyReport {
    /// The summary printed at shutdown: totals, then one line per method with a deviation.
    pub fn summary(&self) -> String {
        let client: u64 = self.methods.values().map(|m| m.client).sum();
        let server: u64 = self.methods.values().map(|m| m.server).sum();
        let mut out = format!(
            "proxy to {}: {} exchanges, {} clean, {} with a client deviation, {} with a server deviation, {} unanswered{}\n",
            self.upstream,
            self.exchanges,
            self.clean,
            client,
            server,
            self.unanswered,
            if self.hash_checked { "" } else { " (hashes not checked: no secret given)" }
        );
        for (name, m) in &self.methods {
            if m.client + m.server > 0 {
                out.push_str(&format!(
                    "  {name}: {} exchanges, client {}, server {}\n",
                    m.exchanges, m.client, m.server
                ));
            }
        }
        out
    }
}

/// The proxy: its configuration, its HTTP client and what it saw.
pub struct Proxy {
    config: ProxyConfig,
    client: reqwest::Client,
    report: Mutex<ProxyReport>,
    recording: Mutex<Recording>,
    /// The secret as the recording masks it (`model::mask`, the runner's rules).
    known: Known,
}

/// What `--record` keeps: one canned answer per distinct request, in first-seen order.
#[derive(Debug, Default)]
struct Recording {
    answers: Vec<model::scenario::CannedResponse>,
    /// Exchanges left out (an answer holding a secret in text that is not XML, or over the
    /// bound of distinct requests).
    left_out: u64,
    /// Whether `answers` changed since the file was last written.
    dirty: bool,
    /// When the file was last written.
    written: Option<std::time::Instant>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("config", &self.config)
            .finish()
    }
}

/// Why a proxy could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The base URL is not an http(s) URL.
    #[error("--proxy {0}: not an http:// or https:// URL")]
    BadBase(String),
    /// The secret file could not be read (its content is never shown).
    #[error("--proxy-secret-file {0}")]
    Secret(String),
    /// The HTTP client could not be built.
    #[error("--proxy: cannot build the HTTP client: {0}")]
    Client(String),
}

/// Headers that belong to one connection, never forwarded (RFC 9110 7.6.1), and those the
/// client library sets itself.
fn forwarded(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

impl Proxy {
    /// A proxy to `config.base`.
    pub fn new(config: ProxyConfig) -> Result<Proxy, ProxyError> {
        let base = config.base.trim_end_matches('/').to_string();
        let ok = base.parse::<Uri>().is_ok_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some()
        });
        if !ok {
            return Err(ProxyError::BadBase(config.base));
        }
        // Answers are returned as sent: no decompression, no redirects followed.
        let client = reqwest::Client::builder()
            .no_gzip()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(UPSTREAM_TIMEOUT)
            .build()
            .map_err(|e| ProxyError::Client(e.to_string()))?;
        let report = ProxyReport {
            upstream: base.clone(),
            hash_checked: config.secret.is_some(),
            ..ProxyReport::default()
        };
        let known = Known::new(config.secret.iter());
        Ok(Proxy {
            known,
            config: ProxyConfig { base, ..config },
            client,
            report: Mutex::new(report),
            recording: Mutex::new(Recording::default()),
        })
    }

    /// What the proxy saw so far.
    pub fn report(&self) -> ProxyReport {
        self.report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Forward one API request for method `name` and return the deployment's answer unchanged,
    /// with the deviations found (none when the exchange follows the catalogue).
    #[allow(clippy::too_many_arguments)]
    pub async fn exchange(
        &self,
        catalogue: &ProductCatalogue,
        quirks: &Quirks,
        today: (i64, i64),
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
        params: &Params,
        name: &str,
    ) -> (Response<Bytes>, Vec<Deviation>) {
        let api = crate::router::resolve(catalogue, quirks, name);
        let mut deviations = self.check_request(api, quirks, today, params, name);
        let url = match uri.query() {
            Some(q) => format!("{}/api/{name}?{q}", self.config.base),
            None => format!("{}/api/{name}", self.config.base),
        };
        let mut request = self.client.request(method, &url).body(body);
        for (k, v) in headers {
            if forwarded(k) {
                request = request.header(k, v);
            }
        }
        let answer = match request.send().await {
            Ok(r) => {
                let status = r.status();
                let mut out_headers = r.headers().clone();
                match r.bytes().await {
                    Ok(bytes) => {
                        out_headers.retain_forwarded();
                        let mut response = Response::new(bytes);
                        *response.status_mut() = status;
                        *response.headers_mut() = out_headers;
                        Some(response)
                    }
                    Err(e) => {
                        tracing::warn!(upstream = %self.config.base, "answer cut short: {e}");
                        None
                    }
                }
            }
            Err(e) => {
                tracing::warn!(upstream = %self.config.base, "no answer: {e}");
                None
            }
        };
        let response = match answer {
            Some(r) => {
                if let Some(api) = api {
                    deviations.extend(check_answer(catalogue, api, name, &r));
                    if self.config.record.is_some() {
                        self.record(api, params, &r);
                    }
                }
                r
            }
            None => {
                let mut r = Response::new(Bytes::from_static(
                    b"mor-mock proxy: the deployment did not answer\n",
                ));
                *r.status_mut() = StatusCode::BAD_GATEWAY;
                r
            }
        };
        self.count(
            name,
            &deviations,
            response.status() == StatusCode::BAD_GATEWAY,
        );
        (response, deviations)
    }

    fn check_request(
        &self,
        api: Option<&ApiMethod>,
        quirks: &Quirks,
        today: (i64, i64),
        params: &Params,
        name: &str,
    ) -> Vec<Deviation> {
        let client = |what: String| Deviation {
            side: Side::Client,
            method: name.to_string(),
            what,
        };
        let Some(api) = api else {
            return vec![client(format!("{name} is not a method of the catalogue"))];
        };
        let mut out = Vec::new();
        // `u` is optional where the server skips the login step (user_balance_get under the
        // quirk `balance_get_requires_u` off).
        let u_optional = crate::auth::login_optional(api, params, quirks);
        for p in api.params.iter().filter(|p| p.required) {
            if p.name == "u" && u_optional {
                continue;
            }
            if params.get(&p.name).is_none_or(str::is_empty) {
                out.push(client(format!("required parameter {} is missing", p.name)));
            }
        }
        if let Some(secret) = &self.config.secret {
            let must = api.hash_required || params.get("hash").is_some();
            if must {
                let opts = VerifyOptions::from_quirks(quirks, &api.name, today);
                let is_admin = params.get("u") == Some(self.config.admin.as_str());
                let sent = params.get("hash");
                if let Err(m) = model::sign::verify(api, params, sent, secret, is_admin, &opts) {
                    out.push(client(crate::redact::explain_mismatch(api, &m)));
                }
            }
        }
        out
    }

    /// Keep this exchange for the recording, credentials and digests left out, and write the
    /// file when it last was more than a second ago.
    fn record(&self, api: &ApiMethod, params: &Params, response: &Response<Bytes>) {
        let canned = recorded(api, params, response, &self.known);
        let mut rec = self
            .recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match canned {
            None => rec.left_out += 1,
            Some(c) => {
                if let Some(same) = rec.answers.iter_mut().find(|a| a.matches == c.matches) {
                    *same = c;
                } else if rec.answers.len() < RECORDED_REQUESTS {
                    rec.answers.push(c);
                } else {
                    rec.left_out += 1;
                    return;
                }
                rec.dirty = true;
            }
        }
        let due = rec
            .written
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due {
            self.write_recording(&mut rec);
        }
    }

    /// Write the recording now if it changed (called at shutdown; a no-op without `--record`).
    pub fn flush(&self) {
        let mut rec = self
            .recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.write_recording(&mut rec);
    }

    fn write_recording(&self, rec: &mut Recording) {
        let Some(dir) = &self.config.record else {
            return;
        };
        if !rec.dirty {
            return;
        }
        let scenario = model::scenario::Scenario {
            version: 1,
            name: Some(format!(
                "recorded by mor-mock --proxy from {}",
                self.config.base
            )),
            description: format!(
                "The deployment's answers to {} distinct requests, served before any other \
                 check (overlay responses). Left out: hash, p and every credential the catalogue \
                 marks, SHA-1 digests and the secret in answers; {} exchanges not recorded.",
                rec.answers.len(),
                rec.left_out
            ),
            products: Vec::new(),
            tags: Vec::new(),
            clock: None,
            world: None,
            settings: None,
            quirks: None,
            overlay: Some(model::scenario::Overlay {
                seed: 0,
                responses: rec.answers.clone(),
                faults: Vec::new(),
            }),
            cases: Vec::new(),
        };
        let written = model::yaml::to_string(&scenario)
            .map_err(std::io::Error::other)
            .and_then(|text| {
                std::fs::create_dir_all(dir)?;
                // Written beside, then renamed: a reader never sees half a file.
                let tmp = dir.join(format!("{RECORDING}.tmp"));
                std::fs::write(&tmp, text)?;
                std::fs::rename(&tmp, dir.join(RECORDING))
            });
        match written {
            Ok(()) => {
                rec.dirty = false;
                rec.written = Some(std::time::Instant::now());
            }
            Err(e) => tracing::error!(dir = %dir.display(), "cannot write the recording: {e}"),
        }
    }

    fn count(&self, name: &str, deviations: &[Deviation], unanswered: bool) {
        let mut r = self
            .report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        r.exchanges += 1;
        if unanswered {
            r.unanswered += 1;
        }
        if deviations.is_empty() && !unanswered {
            r.clean += 1;
        }
        let m = r.methods.entry(crate::journal::cut(name)).or_default();
        m.exchanges += 1;
        m.client += u64::from(deviations.iter().any(|d| d.side == Side::Client));
        m.server += u64::from(deviations.iter().any(|d| d.side == Side::Server));
        for d in deviations {
            if r.deviations.len() == KEPT_DEVIATIONS {
                r.deviations.pop_front();
            }
            r.deviations.push_back(Deviation {
                side: d.side,
                method: crate::journal::cut(&d.method),
                what: crate::journal::cut(&d.what),
            });
        }
    }
}

trait RetainForwarded {
    fn retain_forwarded(&mut self);
}

impl RetainForwarded for HeaderMap {
    fn retain_forwarded(&mut self) {
        let drop: Vec<HeaderName> = self.keys().filter(|k| !forwarded(k)).cloned().collect();
        for k in drop {
            self.remove(k);
        }
    }
}

/// The body as text, gunzipped when the deployment gzipped it (by header or by magic bytes);
/// `None` for a zip archive or bytes that are not UTF-8.
fn body_text(response: &Response<Bytes>) -> Option<String> {
    let bytes = response.body();
    if bytes.starts_with(b"PK\x03\x04") {
        return None;
    }
    let gzipped = bytes.starts_with(&[0x1f, 0x8b])
        || response
            .headers()
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if gzipped {
        let mut out = String::new();
        // Bounded: an answer that inflates past 64 MiB is not checked.
        let mut d = flate2::read::GzDecoder::new(&bytes[..]).take(64 << 20);
        return d.read_to_string(&mut out).ok().map(|_| out);
    }
    std::str::from_utf8(bytes).ok().map(str::to_string)
}

/// The canned answer an exchange records: matched on the method, `u` and every parameter but
/// the credentials; the body as sent unless something had to be left out (then re-rendered).
/// What is left out is decided value by value by `model::mask`, as in the runner's recordings:
/// credential elements, digests and values holding the secret. `None` when it cannot be written
/// safely (a text answer holding a secret or a digest, bytes that are not text).
fn recorded(
    api: &ApiMethod,
    params: &Params,
    response: &Response<Bytes>,
    known: &Known,
) -> Option<model::scenario::CannedResponse> {
    let text = body_text(response)?;
    let body = match xml::parse(&text) {
        Ok(mut doc) => {
            if known.mask_in_place(&mut doc.root, RECORD) {
                doc.render(xml::Layout::Pretty)
            } else {
                text
            }
        }
        Err(_) if known.text(&text, RECORD) != text => return None,
        Err(_) => text,
    };
    let kept = params
        .iter()
        .filter(|(k, v)| {
            *k != "u" && !is_credential(Some(api), k) && known.value(k, v, RECORD) == *v
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some(model::scenario::CannedResponse {
        matches: model::scenario::RequestMatch {
            method: Some(api.name.to_string()),
            u: params.get("u").map(str::to_string),
            params: model::scenario::ParamList(kept),
            http: None,
        },
        status: response.status().as_u16(),
        body,
        content_type: response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        times: None,
    })
}

/// The server's side of an exchange against the catalogue.
fn check_answer(
    catalogue: &ProductCatalogue,
    api: &ApiMethod,
    name: &str,
    response: &Response<Bytes>,
) -> Vec<Deviation> {
    let server = |what: String| Deviation {
        side: Side::Server,
        method: name.to_string(),
        what,
    };
    if response.status() != StatusCode::OK {
        return vec![server(format!(
            "HTTP {} (every documented answer is HTTP 200)",
            response.status().as_u16()
        ))];
    }
    let Some(text) = body_text(response) else {
        return Vec::new();
    };
    let doc = match xml::parse(&text) {
        Ok(doc) => doc,
        Err(e) if api.response.body == BodyKind::Text => {
            // A plain-text answer (user_simple_balance_get's balance or error text).
            let _ = e;
            return Vec::new();
        }
        Err(e) => return vec![server(format!("the answer is not well-formed XML: {e}"))],
    };
    let g = &catalogue.general;
    if let Some((error, _)) = model::answer::find_error(&doc.root) {
        let general = [
            &g.api_disabled,
            &g.get_disabled,
            &g.bad_login,
            &g.incorrect_hash,
            &g.access_denied,
            &g.not_authorized,
            &g.feature_disabled,
            &g.unknown_method,
        ];
        let documented =
            api.errors.iter().any(|e| e.text == error) || general.iter().any(|e| e.text == error);
        if documented {
            return Vec::new();
        }
        return vec![server(format!(
            "error `{error}` is not documented for {}",
            api.name
        ))];
    }
    let Ok(sample) = xml::parse(&api.response.sample) else {
        return Vec::new();
    };
    match xml::diff(&sample.root, &doc.root, DiffMode::Structure) {
        Some(d) => vec![server(format!(
            "the answer differs from the documented shape: {d}"
        ))],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_the_secret_and_credential_elements_are_left_out_of_a_recording() {
        let mut doc = xml::parse(
            "<page><uniquehash>u1</uniquehash><name>user1</name><h>e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4</h><note>key topsecret!</note></page>",
        )
        .expect("xml");
        let known = Known::new(["topsecret"]);
        assert!(known.mask_in_place(&mut doc.root, RECORD));
        let text = doc.render(xml::Layout::Compact);
        assert!(
            !text.contains("u1<") && !text.contains("e5e9fa1b") && !text.contains("topsecret"),
            "{text}"
        );
        assert!(text.contains("<name>user1</name>"), "{text}");
        // Nothing to mask: the body is kept as sent.
        let mut plain = xml::parse("<page><name>user1</name></page>").expect("xml");
        assert!(!known.mask_in_place(&mut plain.root, RECORD));
    }

    #[test]
    fn a_base_that_is_not_http_is_refused_and_the_secret_never_printed() {
        let bad = Proxy::new(ProxyConfig {
            base: "ftp://x".into(),
            secret: None,
            admin: "admin".into(),
            record: None,
        });
        assert!(matches!(bad, Err(ProxyError::BadBase(_))));
        let config = ProxyConfig {
            base: "http://127.0.0.1:9/billing/".into(),
            secret: Some("hunter2".into()),
            admin: "admin".into(),
            record: None,
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let p = Proxy::new(config).expect("proxy");
        assert_eq!(p.report().upstream, "http://127.0.0.1:9/billing");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        for h in ["connection", "transfer-encoding", "host", "content-length"] {
            assert!(!forwarded(&HeaderName::from_static(h)), "{h}");
        }
        for h in [
            "content-type",
            "content-encoding",
            "content-disposition",
            "date",
        ] {
            assert!(forwarded(&HeaderName::from_static(h)), "{h}");
        }
    }
}
