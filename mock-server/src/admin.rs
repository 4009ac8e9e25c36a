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
//! | `GET`, `DELETE /__admin/journal` | the last 1000 requests (`hash` and `p` redacted), or forget them and the counts |
//! | `GET /__admin/counts` | requests per method and outcome |

use std::path::Path;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use model::quirks::QuirksPatch;
use model::settings::SettingsPatch;
use serde::Serialize;

use crate::render::respond;
use crate::state::Shared;

const JSON: &str = "application/json";

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
pub fn handle(shared: &Shared, verb: &Method, endpoint: &str, body: &[u8]) -> Response<Bytes> {
    match (verb.as_str(), endpoint) {
        ("GET", "health") => json_value(
            StatusCode::OK,
            serde_json::json!({ "status": "ok", "product": shared.product.as_str() }),
        ),
        ("POST", "reset") => {
            shared.reset();
            json_value(StatusCode::OK, serde_json::json!({ "reset": true }))
        }
        ("GET", "settings") => json(StatusCode::OK, &shared.read().settings),
        ("PATCH", "settings") => match serde_json::from_slice::<SettingsPatch>(body) {
            Ok(patch) => {
                let mut live = shared.write();
                live.settings.apply(&patch);
                json(StatusCode::OK, &live.settings)
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
        (_, "health" | "reset" | "settings" | "quirks" | "scenario" | "journal" | "counts") => {
            problem(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{verb} is not allowed on /__admin/{endpoint}"),
            )
        }
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
