//! Stage 2 of `run`: build each request from a case (caller, parameters, signature from the
//! catalogue, encoding) and send it.
//!
//! Building is pure ([`build`]); sending ([`Client::send`]) never returns an error for an answer,
//! only for a failed exchange (refused connection, timeout, TLS, truncated or oversized body), as
//! a [`TransportError`] that the runner turns into a per-case error outcome. Gzip answers are
//! decoded here whichever way they come: `Content-Encoding: gzip`, or a gzip file as the body
//! (`application/x-gzip`, the documented devices_get / tariff_rates_get delivery); decoding is
//! bounded by `--max-body` too, so a gzip bomb is an error, not an out-of-memory.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use model::catalogue::{Catalogue, HttpVerb, Method, Product};
use model::params::{form_encode, Params};
use model::quirks::{AbsentParams, Quirks};
use model::scenario::{Encoding, Request, Signing};
use model::sign::{plan, HashPlan, SignOptions};
use thiserror::Error;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::target::{api_url, raw_url, Credentials, SecretSource};

/// What the signer needs to know about the target.
#[derive(Debug, Clone)]
pub struct SignContext<'a> {
    /// The catalogue.
    pub catalogue: &'a Catalogue,
    /// The product.
    pub product: Product,
    /// The target's quirks (known for the in-process mock; defaults otherwise).
    pub quirks: &'a Quirks,
    /// Today's 00:00:00 and 23:59:59 in the target's clock, for `@today_*` defaults.
    pub today: (i64, i64),
}

/// How the digest of a built request was made, for reproductions.
#[derive(Debug, Clone)]
pub struct Signature {
    /// The values hashed, in order (the secret not included).
    pub plan: HashPlan,
    /// Whether the secret was appended (false for `no_secret`).
    pub with_secret: bool,
    /// The signing mode.
    pub mode: Signing,
    /// Where the secret comes from.
    pub source: Option<SecretSource>,
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct BuiltRequest {
    /// HTTP method.
    pub verb: HttpVerb,
    /// URL without the query string.
    pub url: String,
    /// Query parameters (in order, `hash` last).
    pub query: Params,
    /// Body parameters for form and JSON encodings.
    pub body: Params,
    /// How the body is encoded.
    pub encoding: Encoding,
    /// How the digest was made (None: no hash sent).
    pub signature: Option<Signature>,
    /// The digest sent, if any (never printed: reports show `<redacted>`).
    pub digest: Option<String>,
    /// Parameters whose values are secret (a password), with where the value comes from: a
    /// reproduction names the source (`"$USER_PASSWORD"`) instead of the value.
    pub secret_params: Vec<(String, SecretSource)>,
}

/// Why a request could not be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The case names a role the target gave no credentials for.
    #[error("no credentials for role `{0}` (give them in the target file)")]
    NoCredentials(String),
    /// A deliberately wrong signature comes out right for these values (the hashed values
    /// read the same reversed, as `user1` + `user1`).
    #[error("the {0} signature equals the right one for these values: nothing to refuse")]
    NotWrong(&'static str),
}

/// Build a case's request against `base`.
pub fn build(
    req: &Request,
    creds: &Credentials,
    ctx: &SignContext<'_>,
    base: &str,
) -> Result<BuiltRequest, BuildError> {
    // `nobody` sends no `u` but still signs, with the admin's secret (user_simple_balance_get
    // and user_balance_get authenticate by the hash alone).
    let nobody = req.caller == "nobody";
    let role = if nobody { "admin" } else { req.caller.as_str() };
    let cred = match creds.get(role) {
        Some(c) => Some(c),
        None if nobody => None,
        None => return Err(BuildError::NoCredentials(req.caller.clone())),
    };
    let mut params = Params::new();
    let u = match (&req.u, nobody) {
        (Some(u), _) => Some(u.clone()),
        (None, true) => None,
        (None, false) => cred.map(|c| c.username.clone()),
    };
    if let Some(u) = &u {
        params.push("u", u.clone());
    }
    for (k, v) in &req.params.0 {
        params.push(k.clone(), v.clone());
    }
    let admin_name = creds.get("admin").map(|c| c.username.as_str());
    let is_admin = u.as_deref().is_some_and(|u| Some(u) == admin_name);
    let method = ctx.catalogue.method(ctx.product, &req.method);
    let canonical = method.map(|m| m.name.as_str()).unwrap_or(&req.method);
    let mut opts = if req.sign == Signing::Documented {
        SignOptions {
            today: ctx.today,
            ..SignOptions::default()
        }
    } else {
        SignOptions::from_quirks(ctx.quirks, canonical, ctx.today)
    };
    if req.sign == Signing::Defaults {
        opts.absent = AbsentParams::Defaults;
    }
    let (signature, digest) = match (req.sign, cred) {
        (Signing::None, _) => (None, None),
        (mode, cred) => {
            let mut p = match method {
                Some(m) => plan(m, &params, is_admin, &opts),
                None => HashPlan::new(req.method.clone(), Vec::new()),
            };
            if mode == Signing::Reversed {
                let forward = p.values();
                p.parts.reverse();
                if p.values() == forward {
                    return Err(BuildError::NotWrong("reversed"));
                }
            }
            let secret = cred.map(|c| c.secret.as_str()).unwrap_or("");
            let digest = match mode {
                Signing::WrongSecret => p.digest(&format!("{secret}-not-the-secret")),
                Signing::NoSecret => p.digest(""),
                Signing::Uppercase => p.digest(secret).to_ascii_uppercase(),
                Signing::Corrupt => corrupt(&p.digest(secret)),
                _ => p.digest(secret),
            };
            (
                Some(Signature {
                    plan: p,
                    with_secret: mode != Signing::NoSecret,
                    mode,
                    source: cred.map(|c| c.source.clone()),
                }),
                Some(digest),
            )
        }
    };
    if let Some(d) = &digest {
        params.push("hash", d.clone());
    }
    let verb = req.http.unwrap_or(HttpVerb::Post);
    let url = match &req.path {
        Some(p) => raw_url(base, &served_path(p, method, ctx.quirks)),
        // A case names a method; the target may answer to another of its names only.
        None => api_url(
            base,
            method.map_or(req.method.as_str(), |m| {
                ctx.quirks.name_to_send(m, &req.method)
            }),
        ),
    };
    // A GET carries everything in the query string whatever the encoding says.
    let (query, body) = match (req.encoding, verb) {
        (Encoding::Query, _) | (_, HttpVerb::Get) => (params, Params::new()),
        _ => (Params::new(), params),
    };
    Ok(BuiltRequest {
        verb,
        url,
        query,
        body,
        encoding: req.encoding,
        signature,
        digest,
        secret_params: Vec::new(),
    })
}

/// A case's raw `path`, with the method's name in `/billing/api/NAME` replaced by the name the
/// target answers to (quirk `served_names`) when NAME is one of the case's method's names; any
/// other path (a name of no method, another method's) as written.
fn served_path<'a>(
    path: &'a str,
    method: Option<&Method>,
    quirks: &Quirks,
) -> std::borrow::Cow<'a, str> {
    let (Some(m), Some(rest)) = (method, path.strip_prefix("/billing/api/")) else {
        return path.into();
    };
    let end = rest.find(['?', '.', '/']).unwrap_or(rest.len());
    let name = &rest[..end];
    let own = name == m.name || m.aliases.iter().any(|a| a == name);
    match quirks.name_to_send(m, name) {
        sent if own && sent != name => format!("/billing/api/{sent}{}", &rest[end..]).into(),
        _ => path.into(),
    }
}

/// The day holding the Unix time `t`: its 00:00:00 and 23:59:59 in UTC, for `@today_*` defaults.
pub fn day_of(t: i64) -> (i64, i64) {
    let start = t.div_euclid(86_400) * 86_400;
    (start, start + 86_399)
}

/// Today in UTC ([`day_of`] now): the day a foreign target's `@today_*` defaults are signed for.
pub fn today_utc() -> (i64, i64) {
    day_of(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    )
}

/// The digest with its first hex digit changed.
fn corrupt(d: &str) -> String {
    let mut chars: Vec<char> = d.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}

/// Whether `s` can be written as a JSON number with the same text.
fn json_number(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match d.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (d, None),
    };
    let int_ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'));
    int_ok && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// JSON object text of the parameters, numbers as numbers where the text is numeric (written
/// literally, so `0.10` keeps its trailing zero).
pub fn json_body(params: &Params) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::String(k.to_string()).to_string());
        out.push(':');
        if k != "hash" && k != "u" && json_number(v) {
            out.push_str(v);
        } else {
            out.push_str(&serde_json::Value::String(v.to_string()).to_string());
        }
    }
    out.push('}');
    out
}

impl BuiltRequest {
    /// Where a secret parameter's value comes from, if `name` is one.
    fn secret_source(&self, name: &str) -> Option<&SecretSource> {
        self.secret_params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    /// The full URL with the query string (contains the digest: never print it).
    pub fn full_url(&self) -> String {
        if self.query.is_empty() {
            self.url.clone()
        } else {
            format!("{}?{}", self.url, self.query.to_query())
        }
    }

    /// Content type and text of the body, if any.
    pub fn body_text(&self) -> Option<(&'static str, String)> {
        if self.body.is_empty() {
            return None;
        }
        Some(match self.encoding {
            Encoding::Json => ("application/json", json_body(&self.body)),
            _ => ("application/x-www-form-urlencoded", self.body.to_query()),
        })
    }

    /// A copy-pasteable `curl` line that re-signs the request in the shell from the secret's
    /// environment variable (or file): the secret and the digest never appear in it.
    pub fn curl(&self) -> String {
        let hash_expr = self
            .signature
            .as_ref()
            .map(|sig| hash_shell(sig, &self.secret_params));
        let render = |p: &Params, json: bool| -> String {
            if json {
                // A secret value is left as a marker in the JSON text, then spliced in as its
                // shell expression.
                const MARK: &str = "@@mor-secret-param@@";
                let mut without = Params::new();
                let mut spliced: Vec<&SecretSource> = Vec::new();
                for (k, v) in p.iter().filter(|(k, _)| *k != "hash") {
                    match self.secret_source(k) {
                        Some(src) => {
                            spliced.push(src);
                            without.push(k, MARK);
                        }
                        // A password without a source is shown by name, never as its value.
                        None => without.push(k, crate::secret::shown_param(k, v)),
                    }
                }
                let mut s = json_body(&without);
                let tail = if let Some(h) = &hash_expr {
                    s.pop();
                    if !without.is_empty() {
                        s.push(',');
                    }
                    s.push_str("\"hash\":\"");
                    Some(format!("\"{h}\"{}", shell_quote("\"}")))
                } else {
                    None
                };
                let mut out = String::new();
                for (i, piece) in s.split(MARK).enumerate() {
                    if i > 0 {
                        if let Some(src) = spliced.get(i - 1) {
                            out.push_str(&src.shell());
                        }
                    }
                    out.push_str(&shell_quote(piece));
                }
                if let Some(t) = tail {
                    out.push_str(&t);
                }
                out
            } else {
                // Literal text is single-quoted; a secret value and the digest are shell
                // expressions in double quotes, glued into one word.
                let mut out = String::new();
                let mut lit = String::new();
                for (i, (k, v)) in p.iter().filter(|(k, _)| *k != "hash").enumerate() {
                    if i > 0 {
                        lit.push('&');
                    }
                    lit.push_str(&form_encode(k));
                    lit.push('=');
                    match self.secret_source(k) {
                        Some(src) => {
                            out.push_str(&shell_quote(&lit));
                            lit.clear();
                            out.push_str(&src.shell());
                        }
                        None if crate::secret::is_password_param(k) => {
                            lit.push_str(&crate::secret::shown_param(k, v))
                        }
                        None => lit.push_str(&form_encode(v)),
                    }
                }
                if let (Some(h), true) = (&hash_expr, p.contains("hash")) {
                    if !out.is_empty() || !lit.is_empty() {
                        lit.push('&');
                    }
                    lit.push_str("hash=");
                    out.push_str(&shell_quote(&lit));
                    out.push_str(&format!("\"{h}\""));
                } else if !lit.is_empty() || out.is_empty() {
                    out.push_str(&shell_quote(&lit));
                }
                out
            }
        };
        let mut out = String::from("curl -sS");
        out.push_str(match self.verb {
            HttpVerb::Post => " -X POST",
            HttpVerb::Get => " -G",
        });
        if self.query.is_empty() {
            out.push(' ');
            out.push_str(&shell_quote(&self.url));
        } else if self.verb == HttpVerb::Get {
            out.push(' ');
            out.push_str(&shell_quote(&self.url));
            out.push_str(" --data ");
            out.push_str(&render(&self.query, false));
        } else {
            out.push(' ');
            let q = render(&self.query, false);
            // Glue URL and query into one shell word: 'http://x/y?'"...".
            out.push_str(&shell_quote(&format!("{}?", self.url)));
            out.push_str(&q);
        }
        if let Some((ct, _)) = self.body_text() {
            out.push_str(&format!(" -H 'Content-Type: {ct}' --data "));
            out.push_str(&render(&self.body, self.encoding == Encoding::Json));
        }
        out
    }
}

/// The shell expression that computes a signature's digest (as `$(...)`, for use inside double
/// quotes), without the secret's value.
fn hash_shell(sig: &Signature, secret_params: &[(String, SecretSource)]) -> String {
    // The hashed values, a secret one (a password) as its shell expression.
    let mut values = String::new();
    let mut lit = String::new();
    for part in &sig.plan.parts {
        match secret_params.iter().find(|(n, _)| *n == part.name) {
            Some((_, src)) => {
                values.push_str(&shell_quote(&lit));
                lit.clear();
                values.push_str(&src.shell());
            }
            None => lit.push_str(&crate::secret::shown_param(&part.name, &part.value)),
        }
    }
    values.push_str(&shell_quote(&lit));
    let secret = match (&sig.source, sig.with_secret) {
        (Some(s), true) => s.shell(),
        _ => String::new(),
    };
    let base = format!("printf %s {values}{secret} | sha1sum | cut -c1-40");
    match sig.mode {
        Signing::Uppercase => format!("$({base} | tr a-f A-F)"),
        Signing::Corrupt => format!("$({base} | sed 's/^0/1/;t;s/^./0/')"),
        Signing::WrongSecret => {
            format!("$(printf %s {values}{secret}'-not-the-secret' | sha1sum | cut -c1-40)")
        }
        _ => format!("$({base})"),
    }
}

/// Quote a string for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// How a body was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// As is.
    Plain,
    /// With `Content-Encoding: gzip`.
    ContentEncoding,
    /// A gzip file as the body (`application/x-gzip` or gzip magic bytes).
    GzipBody,
    /// A zip archive as the body (`application/zip` or zip magic bytes: X3's get_tariff); the
    /// body read is its first file.
    ZipBody,
}

/// An answer, whatever it is.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Content-Type header.
    pub content_type: Option<String>,
    /// How the body came.
    pub delivery: Delivery,
    /// The (decoded) body.
    pub body: Vec<u8>,
    /// The target's clock, from the HTTP `Date` header (Unix seconds), when it sent one.
    pub date: Option<i64>,
}

impl Answer {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A failed exchange: the target did not give a usable answer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The connection could not be made.
    #[error("cannot connect to the target: {0}")]
    Connect(String),
    /// No answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The body was cut short or the connection dropped mid-answer.
    #[error("the answer was cut short: {0}")]
    Truncated(String),
    /// The body was larger than `--max-body`.
    #[error("the answer is larger than {0} bytes (--max-body)")]
    TooLarge(usize),
    /// A gzip body could not be decoded.
    #[error("the gzip body cannot be decoded: {0}")]
    Gzip(String),
    /// A zip body could not be read.
    #[error("the zip body cannot be read: {0}")]
    Zip(String),
    /// Anything else.
    #[error("request failed: {0}")]
    Other(String),
}

/// Limits of the client.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Largest body accepted (after decoding).
    pub max_body: usize,
    /// Requests per second at most (None: unbounded).
    pub rate: Option<f64>,
    /// Retries of a failed exchange (never of an answer).
    pub retries: u32,
}

/// The HTTP client, shared by every case of a run.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    limits: Limits,
    next_slot: Arc<Mutex<Option<Instant>>>,
}

impl Client {
    /// A client with these limits. Redirects are not followed (a login redirect is an answer).
    pub fn new(limits: Limits) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Decoded here, so the check knows how the body was delivered.
            .no_gzip()
            .user_agent(concat!("mor-conformance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            limits,
            next_slot: Arc::new(Mutex::new(None)),
        })
    }

    /// Wait for the next slot under `--rate`.
    async fn pace(&self) {
        let Some(rate) = self.limits.rate.filter(|r| *r > 0.0) else {
            return;
        };
        let gap = Duration::from_secs_f64(1.0 / rate);
        let at = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + gap);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Send a request; retry a failed exchange up to `--retries` times.
    pub async fn send(&self, req: &BuiltRequest) -> Result<Answer, TransportError> {
        let mut attempt = 0;
        loop {
            self.pace().await;
            match self.send_once(req).await {
                Err(e) if attempt < self.limits.retries && retryable(&e) => attempt += 1,
                other => return other,
            }
        }
    }

    async fn send_once(&self, req: &BuiltRequest) -> Result<Answer, TransportError> {
        let mut rb = match req.verb {
            HttpVerb::Post => self.http.post(req.full_url()),
            HttpVerb::Get => self.http.get(req.full_url()),
        };
        rb = rb.header("Accept-Encoding", "gzip");
        if let Some((ct, text)) = req.body_text() {
            rb = rb.header("Content-Type", ct).body(text);
        }
        let mut resp = rb.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type");
        let encoding = header("content-encoding");
        let date = header("date")
            .and_then(|d| httpdate::parse_http_date(&d).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        let max = self.limits.max_body;
        if resp.content_length().is_some_and(|n| n as usize > max) {
            return Err(TransportError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > max {
                return Err(TransportError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        let (delivery, decoded) = decode(content_type.as_deref(), encoding.as_deref(), body, max)?;
        body = decoded;
        Ok(Answer {
            status,
            content_type,
            delivery,
            body,
            date,
        })
    }

    /// Turn a reqwest error into a transport error; the URL (which holds the digest) is dropped.
    fn classify(&self, e: reqwest::Error) -> TransportError {
        let timeout = e.is_timeout();
        let connect = e.is_connect();
        let body = e.is_body() || e.is_decode();
        let msg = chain(&e.without_url());
        if timeout {
            TransportError::Timeout(self.limits.timeout)
        } else if connect {
            TransportError::Connect(msg)
        } else if body
            || msg.contains("connection closed")
            || msg.contains("reset")
            || msg.contains("IncompleteMessage")
        {
            TransportError::Truncated(msg)
        } else {
            TransportError::Other(msg)
        }
    }
}

fn retryable(e: &TransportError) -> bool {
    matches!(
        e,
        TransportError::Connect(_) | TransportError::Timeout(_) | TransportError::Truncated(_)
    )
}

/// An error and its sources on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// How a body came and the body decoded: gzip by `Content-Encoding`, a gzip file (its type or
/// magic bytes), a zip archive (its type or magic bytes; its first file), or as is. Decoding
/// reads at most `max` bytes.
pub fn decode(
    content_type: Option<&str>,
    encoding: Option<&str>,
    body: Vec<u8>,
    max: usize,
) -> Result<(Delivery, Vec<u8>), TransportError> {
    let has = |what: &str| content_type.is_some_and(|c| c.to_ascii_lowercase().contains(what));
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("gzip")) {
        Ok((Delivery::ContentEncoding, gunzip(&body, max)?))
    } else if has("gzip") || body.starts_with(&[0x1f, 0x8b]) {
        Ok((Delivery::GzipBody, gunzip(&body, max)?))
    } else if has("zip") || body.starts_with(b"PK\x03\x04") {
        Ok((Delivery::ZipBody, unzip_first(&body, max)?))
    } else {
        Ok((Delivery::Plain, body))
    }
}

/// The first file of a zip archive, reading at most `max` bytes of it (X3 zips get_tariff's XML
/// alone into an archive).
pub fn unzip_first(data: &[u8], max: usize) -> Result<Vec<u8>, TransportError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data))
        .map_err(|e| TransportError::Zip(e.to_string()))?;
    if archive.is_empty() {
        return Err(TransportError::Zip("the archive holds no file".into()));
    }
    let file = archive
        .by_index(0)
        .map_err(|e| TransportError::Zip(e.to_string()))?;
    let mut out = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| TransportError::Zip(e.to_string()))?;
    if out.len() > max {
        return Err(TransportError::TooLarge(max));
    }
    Ok(out)
}

/// Decode gzip, reading at most `max` bytes of output.
pub fn gunzip(data: &[u8], max: usize) -> Result<Vec<u8>, TransportError> {
    let mut out = Vec::new();
    let mut dec = flate2::read::GzDecoder::new(data).take(max as u64 + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| TransportError::Gzip(e.to_string()))?;
    if out.len() > max {
        return Err(TransportError::TooLarge(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Credential;
    use model::scenario::ParamList;

    fn creds() -> Credentials {
        let mut c = Credentials::default();
        c.roles.insert(
            "admin".into(),
            Credential {
                username: "admin".into(),
                secret: "456789".into(),
                source: SecretSource::Env("MOR_SECRET".into()),
                password: None,
                password_source: None,
            },
        );
        c
    }

    #[test]
    fn a_password_enters_a_reproduction_only_through_its_source() {
        let cat = Catalogue::embedded();
        let quirks = Quirks::default();
        let ctx = SignContext {
            catalogue: cat,
            product: Product::M4,
            quirks: &quirks,
            today: (0, 86_399),
        };
        for enc in [Encoding::Query, Encoding::Form, Encoding::Json] {
            let mut r = request("user_login", &[("p", "pa'ss&1")], Signing::Auto);
            r.encoding = enc;
            let mut b = build(&r, &creds(), &ctx, "http://h").unwrap();
            b.secret_params
                .push(("p".into(), SecretSource::Env("USER_PASSWORD".into())));
            let c = b.curl();
            assert!(
                !c.contains("pa'ss") && !c.contains("pa%27ss"),
                "{enc:?}: {c}"
            );
            assert!(c.contains("\"$USER_PASSWORD\""), "{enc:?}: {c}");
            assert!(c.contains("\"$MOR_SECRET\""), "{enc:?}: {c}");
        }
    }

    fn request(method: &str, params: &[(&str, &str)], sign: Signing) -> Request {
        Request {
            method: method.into(),
            caller: "admin".into(),
            u: None,
            params: ParamList(
                params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            http: None,
            encoding: Encoding::Query,
            sign,
            path: None,
        }
    }

    fn ctx(q: &Quirks) -> SignContext<'_> {
        SignContext {
            catalogue: Catalogue::embedded(),
            product: Product::M4,
            quirks: q,
            today: (0, 86_399),
        }
    }

    #[test]
    fn signs_the_documented_example_and_puts_u_first_and_hash_last() {
        let q = Quirks::default();
        let r = request("devices_get", &[("user_id", "100")], Signing::Auto);
        let b = build(&r, &creds(), &ctx(&q), "http://h").unwrap();
        assert_eq!(
            b.full_url(),
            "http://h/billing/api/devices_get?u=admin&user_id=100&hash=71516eea4850f7e0300ac86adf9fb64bca845aa7"
        );
    }

    #[test]
    fn signing_modes_change_the_digest_as_named() {
        let q = Quirks::default();
        let good = build(
            &request("devices_get", &[("user_id", "100")], Signing::Auto),
            &creds(),
            &ctx(&q),
            "http://h",
        )
        .unwrap()
        .digest
        .unwrap();
        let with = |s| {
            build(
                &request("devices_get", &[("user_id", "100")], s),
                &creds(),
                &ctx(&q),
                "http://h",
            )
            .unwrap()
            .digest
        };
        assert_eq!(with(Signing::Uppercase), Some(good.to_ascii_uppercase()));
        assert_ne!(with(Signing::Corrupt), Some(good.clone()));
        assert_eq!(with(Signing::Corrupt).unwrap().len(), 40);
        assert_ne!(with(Signing::WrongSecret), Some(good.clone()));
        assert_eq!(with(Signing::NoSecret), Some(model::sign::sha1_hex("100")));
        assert_eq!(with(Signing::None), None);
    }

    #[test]
    fn the_curl_line_resigns_in_the_shell_without_secret_or_digest() {
        let q = Quirks::default();
        let r = request("devices_get", &[("user_id", "100")], Signing::Auto);
        let b = build(&r, &creds(), &ctx(&q), "http://h").unwrap();
        let c = b.curl();
        assert!(!c.contains("456789"), "{c}");
        assert!(!c.contains("71516eea"), "{c}");
        assert_eq!(
            c,
            "curl -sS -X POST 'http://h/billing/api/devices_get?''u=admin&user_id=100&hash='\"$(printf %s '100'\"$MOR_SECRET\" | sha1sum | cut -c1-40)\""
        );
    }

    #[test]
    fn json_bodies_keep_numeric_text_literally() {
        let p = Params::new()
            .with("a", "0.10")
            .with("b", "007")
            .with("c", "x\"y");
        assert_eq!(json_body(&p), r#"{"a":0.10,"b":"007","c":"x\"y"}"#);
    }

    #[test]
    fn a_zip_archive_reads_as_its_first_file_and_a_download_as_its_body() {
        use std::io::Write as _;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file(
            "get_tariff_1.xml",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        w.write_all(b"<page><pagename>Tariff</pagename></page>")
            .unwrap();
        let archive = w.finish().unwrap().into_inner();
        for ct in [Some("application/zip"), None] {
            let (d, body) = decode(ct, None, archive.clone(), 1000).unwrap();
            assert_eq!(d, Delivery::ZipBody);
            assert_eq!(body, b"<page><pagename>Tariff</pagename></page>");
        }
        assert_eq!(
            decode(Some("application/zip"), None, archive.clone(), 10),
            Err(TransportError::TooLarge(10))
        );
        assert!(matches!(
            decode(Some("application/zip"), None, b"not a zip".to_vec(), 1000),
            Err(TransportError::Zip(_))
        ));
        // X3's download: text/html with an attachment disposition; the body is the XML.
        let (d, body) = decode(Some("text/html"), None, b"<page/>".to_vec(), 1000).unwrap();
        assert_eq!((d, body.as_slice()), (Delivery::Plain, &b"<page/>"[..]));
    }

    #[test]
    fn a_gzip_bomb_is_refused_beyond_the_limit() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b'a'; 100_000]).unwrap();
        let z = e.finish().unwrap();
        assert_eq!(gunzip(&z, 1000), Err(TransportError::TooLarge(1000)));
        assert_eq!(gunzip(&z, 200_000).unwrap().len(), 100_000);
    }
}
