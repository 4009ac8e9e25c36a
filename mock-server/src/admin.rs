//! The mock's own API under `/__admin/`, for tests and the conformance runner (the API under test
//! never sees these requests, and they are not journaled):
//!
//! | verb and path | what it does |
//! |---|---|
//! | `GET /__admin/health` | `{"status":"ok","product":"m4"}` |
//! | `POST /__admin/reset` | back to the start world, settings, quirks, clock and overlay |
//! | `GET`, `PATCH /__admin/settings` | read, or change with a JSON `SettingsPatch` |
//! | `GET`, `PATCH /__admin/quirks` | read, or change with a JSON `QuirksPatch` |
//! | `POST /__admin/scenario` | lay a YAML scenario over the live state (400 with `file:line` on error) |
//! | `GET`, `DELETE /__admin/journal` | the last 1000 requests within 4 MiB (credentials redacted), or forget them and the counts |
//! | `GET /__admin/counts` | requests per method and outcome |
//!
//! Who may ask ([`guard`], before any endpoint): a web page must not reach this API through the
//! user's browser, so a request naming another origin (`Origin`, `Sec-Fetch-Site`) is refused,
//! and so is a write whose body a page can send cross-site without a preflight (`text/plain`,
//! form, multipart). Without a token, only loopback host names are answered (a DNS-rebound name
//! is not); with a token (`MOR_MOCK_ADMIN_TOKEN` or `--admin-token-file`), every request must
//! carry it (`Authorization: Bearer TOKEN` or `X-Mor-Mock-Admin-Token`). Listening on a
//! non-loopback address without a token switches the admin API off. Settings are answered with
//! the API secret and the admin's uniquehash masked.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN};
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use model::quirks::QuirksPatch;
use model::settings::SettingsPatch;
use serde::Serialize;
use thiserror::Error;

use crate::config::AdminToken;
use crate::render::respond;
use crate::state::Shared;

const JSON: &str = "application/json";

/// The header that may carry the admin token (besides `Authorization: Bearer`).
pub const TOKEN_HEADER: &str = "x-mor-mock-admin-token";

/// What replaces a credential in an admin answer.
pub const MASKED: &str = "<masked>";

/// Who may use the admin API of one instance, decided when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAccess {
    /// Listening on loopback without a token: loopback host names, same origin only.
    Loopback,
    /// Every request must carry this token (same origin only, any host name).
    Token(AdminToken),
    /// Listening on a non-loopback address without a token: every admin request is refused.
    Off,
}

impl AdminAccess {
    /// The access for an instance listening on `ip` with this token.
    pub fn of(ip: IpAddr, token: Option<&AdminToken>) -> AdminAccess {
        match token {
            Some(t) => AdminAccess::Token(t.clone()),
            None if ip.is_loopback() => AdminAccess::Loopback,
            None => AdminAccess::Off,
        }
    }
}

/// Whether a `Host` value (name or address, with or without a port) names this machine's
/// loopback interface.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:8080`
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => match host.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !n.contains(':') => n,
            _ => host,
        },
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn header(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why an admin request is not answered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct AdminRefusal {
    /// The HTTP status answered.
    pub status: StatusCode,
    /// Why, as the JSON `error` of the answer.
    pub message: &'static str,
}

impl AdminRefusal {
    fn new(status: StatusCode, message: &'static str) -> Self {
        AdminRefusal { status, message }
    }

    /// The answer: the status and `{"error": message}`.
    pub fn response(&self) -> Response<Bytes> {
        problem(self.status, self.message)
    }
}

/// Decide whether an admin request may be answered; the refusal says why (JSON `error`).
pub fn guard(
    access: &AdminAccess,
    verb: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), AdminRefusal> {
    if *access == AdminAccess::Off {
        return Err(AdminRefusal::new(StatusCode::FORBIDDEN, "admin API is off: mor-mock listens on a non-loopback address without an admin token (set MOR_MOCK_ADMIN_TOKEN or --admin-token-file)"));
    }
    let host = header(headers, HOST).or_else(|| uri.authority().map(|a| a.as_str()));
    if let Some(origin) = headers.get(ORIGIN) {
        // Same origin: the page was served by this very host. `null` and anything else is a page
        // of another site driving the user's browser.
        let same = match (origin.to_str().ok(), host) {
            (Some(o), Some(h)) => o.strip_prefix("http://") == Some(h),
            _ => false,
        };
        if !same {
            return Err(AdminRefusal::new(
                StatusCode::FORBIDDEN,
                "admin API refuses cross-origin requests (the Origin header names another site)",
            ));
        }
    }
    if let Some(site) = header(headers, "sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return Err(AdminRefusal::new(
                StatusCode::FORBIDDEN,
                "admin API refuses cross-site requests (Sec-Fetch-Site)",
            ));
        }
    }
    match access {
        AdminAccess::Loopback => {
            if let Some(h) = host {
                if !is_loopback_host(h) {
                    return Err(AdminRefusal::new(StatusCode::FORBIDDEN, "admin API answers only loopback host names (localhost, 127.0.0.1, [::1]) unless an admin token is set"));
                }
            }
        }
        AdminAccess::Token(token) => {
            let offered = header(headers, AUTHORIZATION)
                .and_then(|v| v.strip_prefix("Bearer "))
                .or_else(|| header(headers, TOKEN_HEADER));
            if !offered.is_some_and(|o| token.matches(o.trim().as_bytes())) {
                return Err(AdminRefusal::new(StatusCode::UNAUTHORIZED, "admin API needs the admin token (Authorization: Bearer TOKEN or X-Mor-Mock-Admin-Token)"));
            }
        }
        AdminAccess::Off => {}
    }
    if !matches!(*verb, Method::GET | Method::HEAD) {
        let ct = header(headers, CONTENT_TYPE)
            .unwrap_or("")
            .to_ascii_lowercase();
        let simple = [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ];
        if simple.iter().any(|s| ct.trim_start().starts_with(s)) {
            return Err(AdminRefusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "admin writes need a Content-Type such as application/yaml or application/json (any web page can send text/plain, form and multipart bodies cross-site)"));
        }
    }
    Ok(())
}

/// Settings as the admin API shows them: credentials masked.
fn masked_settings(settings: &model::Settings) -> Response<Bytes> {
    let mut shown = settings.clone();
    shown.api_secret = MASKED.to_string();
    shown.uniquehash = MASKED.to_string();
    json(StatusCode::OK, &shown)
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Bytes> {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => respond(status, JSON, body.into()),
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn problem(status: StatusCode, message: &str) -> Response<Bytes> {
    json_value(status, serde_json::json!({ "error": message }))
}

fn json_value(status: StatusCode, v: serde_json::Value) -> Response<Bytes> {
    let body = serde_json::to_vec_pretty(&v).unwrap_or_default();
    respond(status, JSON, body.into())
}

/// Answer an admin request for `endpoint` (the path after `/__admin/`).
///
/// With `owner` (the server's handle on the same state), the costly work, parsing a scenario
/// and building its world, or copying the start world back on reset, runs on tokio's blocking
/// pool instead of a runtime thread that API requests need; without it (in-process callers
/// with no runtime of their own to protect) it runs here.
pub async fn handle(
    shared: &Shared,
    owner: Option<&Arc<Shared>>,
    verb: &Method,
    endpoint: &str,
    body: Bytes,
) -> Response<Bytes> {
    match (verb.as_str(), endpoint, owner) {
        ("POST", "reset", Some(owner)) => {
            let owner = owner.clone();
            off_the_runtime(move || reset(&owner)).await
        }
        ("POST", "scenario", Some(owner)) => {
            let owner = owner.clone();
            off_the_runtime(move || load_scenario(&owner, &body)).await
        }
        _ => answer(shared, verb, endpoint, &body),
    }
}

/// Run `work` on the blocking pool; a panic in it is answered 500.
async fn off_the_runtime(
    work: impl FnOnce() -> Response<Bytes> + Send + 'static,
) -> Response<Bytes> {
    match tokio::task::spawn_blocking(work).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "admin task failed");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "admin task failed")
        }
    }
}

fn reset(shared: &Shared) -> Response<Bytes> {
    shared.reset();
    json_value(StatusCode::OK, serde_json::json!({ "reset": true }))
}

fn answer(shared: &Shared, verb: &Method, endpoint: &str, body: &[u8]) -> Response<Bytes> {
    match (verb.as_str(), endpoint) {
        ("GET", "health") => json_value(
            StatusCode::OK,
            serde_json::json!({ "status": "ok", "product": shared.product.as_str() }),
        ),
        ("POST", "reset") => reset(shared),
        ("GET", "settings") => masked_settings(&shared.read().settings),
        ("PATCH", "settings") => match serde_json::from_slice::<SettingsPatch>(body) {
            Ok(patch) => {
                let mut live = shared.write();
                live.settings.apply(&patch);
                masked_settings(&live.settings)
            }
            Err(e) => problem(StatusCode::BAD_REQUEST, &format!("settings patch: {e}")),
        },
        ("GET", "quirks") => json(StatusCode::OK, &shared.read().quirks),
        ("PATCH", "quirks") => match serde_json::from_slice::<QuirksPatch>(body) {
            Ok(patch) => {
                let mut live = shared.write();
                live.quirks.apply(&patch);
                json(StatusCode::OK, &live.quirks)
            }
            Err(e) => problem(StatusCode::BAD_REQUEST, &format!("quirks patch: {e}")),
        },
        ("POST", "scenario") => load_scenario(shared, body),
        ("GET", "journal") => json(StatusCode::OK, &shared.journal.entries()),
        ("DELETE", "journal") => {
            shared.journal.clear();
            json_value(StatusCode::OK, serde_json::json!({ "cleared": true }))
        }
        ("GET", "counts") => json(StatusCode::OK, &shared.journal.counts()),
        ("GET", "proxy") => match &shared.proxy {
            Some(p) => json(StatusCode::OK, &p.report()),
            None => problem(StatusCode::NOT_FOUND, "this mock is not a proxy (--proxy)"),
        },
        (
            _,
            "health" | "reset" | "settings" | "quirks" | "scenario" | "journal" | "counts"
            | "proxy",
        ) => problem(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{verb} is not allowed on /__admin/{endpoint}"),
        ),
        _ => problem(
            StatusCode::NOT_FOUND,
            &format!("no admin endpoint /__admin/{endpoint}"),
        ),
    }
}

fn load_scenario(shared: &Shared, body: &[u8]) -> Response<Bytes> {
    let Ok(text) = std::str::from_utf8(body) else {
        return problem(StatusCode::BAD_REQUEST, "scenario: body is not UTF-8");
    };
    let loaded =
        match model::scenario::load_str(text, Path::new("<admin scenario>"), &shared.catalogue) {
            Ok(l) => l,
            Err(e) => return problem(StatusCode::BAD_REQUEST, &e.to_string()),
        };
    if !loaded.scenario.applies_to(shared.product) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("scenario does not apply to product {}", shared.product),
        );
    }
    match shared.apply_scenario(&loaded.scenario) {
        Ok(()) => json_value(
            StatusCode::OK,
            serde_json::json!({ "loaded": loaded.scenario.name }),
        ),
        Err(e) => problem(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}
