//! The gate between a parsed request and a method handler: checks in the documented order of
//! precedence (API-REFERENCE.md 1.7; INF from the error lists of quickstats_get and users_get),
//! then the handler under the right lock, then `render`.
//!
//! 1. API disabled (`settings.api_enabled`) -> `API Requests are disabled`;
//! 2. GET while Allow GET API is off, or GET on a POST-only method -> `GET Requests are disabled`
//!    (a method of the quirk `open_methods` skips this step and the login and hash steps; a path
//!    name of the quirk `redirects` is answered here with a redirect to its target);
//! 3. login then hash (quirk `error_precedence: login_first`, the default) or hash then login
//!    (`hash_first`), per method where the quirk `check_order` names it: `u` missing, unknown or
//!    blocked -> the method's `bad_login_error` or `Bad login`; hash missing or wrong ->
//!    `Incorrect hash`;
//! 4. the caller's role is not in the method's `access` -> `Access Denied` (steps 4 to 6 are
//!    the handler's where the quirk positions `payment_create_answers: x3` and
//!    `devices_get_answers: x3` say the action checks them);
//! 5. a permission the role needs is missing -> the access rule's `permission_error` or `You are
//!    not authorized to use this functionality`;
//! 6. the method's feature setting is off -> `Feature disabled`;
//! 7. the method: its behaviour declared in the catalogue (`engine`, run by [`crate::engine`]),
//!    else its handler, else, for a method catalogued only, its documented sample as the page
//!    shows it (catalogue `sample`), else its answer's shape (an `inferred` shape, or a
//!    catalogue file's `response.sample`) with plausible values. An answer
//!    taken from a sample is never silent: it carries [`ANSWER_HEADER`], the journal's `answer`
//!    says what it was taken from, and so does [`EXPLAIN_HEADER`] under `--explain`.
//!
//! Every error takes the wrapper of the method's own `errors` entry with the same text, else the
//! general one, unless the quirk `error_wrappers` gives that method and text another.
//!
//! The hash is verified when hash checking is on (`settings.hash_check`, and the signing
//! reseller has not disabled it for himself) and either a `hash` parameter is sent or the method
//! requires one (catalogue `hash_required`, default true; false for user_simple_balance_get, whose
//! documented request carries no hash while `Incorrect hash` is a listed error).
//!
//! Methods with `requires_login: false` skip the login and role steps: user_simple_balance_get
//! (the uniquehash `id` names the user, whose signer's secret verifies), user_login and
//! user_logout (`u` is the user logging in or out, not a caller: the hash is verified with the
//! secret that signs for that user, the admin's when he is unknown, and the handler answers
//! unknown or blocked users with the `<action>` failure). user_balance_get without `u` while the
//! quirk `balance_get_requires_u` is off skips them too and is verified with the admin's secret.
//! These run their handler with no caller in the [`Ctx`].
//!
//! A deliberate defect (test only, `MockConfig::defect`; see `defect`) bends this stage where
//! its behaviour lives: `get_allowed`, `checks_wrong_order`, `any_hash_accepted`,
//! `unknown_user_answers_access_denied` in the checks, the hash defects in `auth::verify`, the
//! handler defects through `methods::answer_with_defect`, and the answer defects on the reply
//! and the rendered response.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Response};
use model::catalogue::{ErrorSpec, HttpVerb, Method, MethodName, ProductCatalogue, Wrapper};
use model::params::Params;
use model::world::{format_date, format_datetime, User};
use model::xml::{self, Document};
use model::{Role, Settings};

use crate::auth;
use crate::clock::today_bounds;
use crate::defect::Defect;
use crate::methods::{self, Ctx, Handler, Reply};
use crate::render;
use crate::state::{Live, Shared};

/// The response header that explains a hash mismatch, or an answer taken from a sample, when
/// `--explain` is on.
pub const EXPLAIN_HEADER: &str = "x-mor-mock-explain";

/// The response header every answer taken from a sample carries, `--explain` or not: its value
/// is [`DOCUMENTED_SAMPLE`] or [`SAMPLE_SHAPE`].
pub const ANSWER_HEADER: &str = "x-mor-mock-answer";

/// [`ANSWER_HEADER`] of a method catalogued only: its documented sample, as the page shows it.
pub const DOCUMENTED_SAMPLE: &str = "documented-sample";

/// [`ANSWER_HEADER`] of a method with neither behaviour nor documented sample (a method
/// catalogued only with an inferred shape, or a catalogue file's method without `engine`): its
/// answer's shape with plausible values.
pub const SAMPLE_SHAPE: &str = "sample-shape";

/// The text of the Elasticsearch fault (M4 quickstats_get page).
pub const ELASTICSEARCH: &str = "Cannot connect to Elasticsearch";

/// The outcome of an API request.
#[derive(Debug)]
pub struct Dispatched {
    /// The rendered answer.
    pub response: Response<Bytes>,
    /// The canonical method, when the path named a known one.
    pub method: Option<MethodName>,
    /// `ok`, or the error text answered.
    pub outcome: Cow<'static, str>,
    /// What a success taken from a sample was answered from (the journal's `answer`): the
    /// documented sample and its source, or the sample's shape. None when computed.
    pub answer: Option<String>,
}

/// A failed check: the error and, for a hash mismatch, the mismatch (explained only when
/// someone reads the explanation: the explain header or the info log).
struct Refusal<'c> {
    method: Option<&'c Method>,
    reply: Reply,
    mismatch: Option<model::sign::HashMismatch>,
    status: Option<http::StatusCode>,
}

/// The reply of a general error spec, in the method's wrapper for that text if it has one.
pub fn general_error(method: Option<&Method>, spec: &ErrorSpec) -> Reply {
    Reply::Error {
        text: spec.text.clone(),
        wrapper: method
            .and_then(|m| m.error(&spec.text))
            .map_or(spec.wrapper, |e| e.wrapper),
    }
}

fn text_error(cat: &ProductCatalogue, method: &Method, text: &str) -> Reply {
    let g = &cat.general;
    let wrapper = method
        .error(text)
        .map(|e| e.wrapper)
        .or_else(|| {
            [&g.bad_login, &g.access_denied, &g.not_authorized]
                .into_iter()
                .find(|s| s.text == text)
                .map(|s| s.wrapper)
        })
        .unwrap_or(Wrapper::Page);
    Reply::Error {
        text: text.to_string(),
        wrapper,
    }
}

/// Where and when a request arrived.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// The TCP peer's address (None without a socket).
    pub client: Option<std::net::IpAddr>,
    /// The real time it reached the API flow: the request's one reading of the system clock,
    /// the mock's "now" unless its clock is pinned (see [`crate::clock::Clock::at`]).
    pub at: SystemTime,
}

/// Dispatch an API request for the path name `name` from `client` (the TCP peer's address;
/// None without a socket). `elasticsearch` replaces the handler's answer by the Elasticsearch
/// error once every check has passed (overlay fault).
pub fn dispatch(
    shared: &Shared,
    verb: HttpVerb,
    name: &str,
    params: &Params,
    elasticsearch: bool,
    client: Option<std::net::IpAddr>,
) -> Dispatched {
    let found = shared.methods().method(name);
    let arrival = Arrival {
        client,
        at: SystemTime::now(),
    };
    dispatch_found(shared, verb, name, found, params, elasticsearch, arrival)
}

/// [`dispatch`] with the catalogue method the name found (`shared.methods().method(name)`),
/// looked up once by the caller, and the time the caller read.
pub fn dispatch_found<'c>(
    shared: &'c Shared,
    verb: HttpVerb,
    name: &str,
    found: Option<&'c Method>,
    params: &Params,
    elasticsearch: bool,
    arrival: Arrival,
) -> Dispatched {
    let cat = shared.methods();
    let writes = found
        .is_some_and(|m| m.writes || matches!(methods::handler(&m.name), Some(Handler::Write(_))));
    let req = Req {
        verb,
        name,
        found,
        params,
        elasticsearch,
        arrival,
    };
    let run = |live: &mut Access<'_>| run(shared, cat, live, &req);
    let step = if writes {
        let mut guard = shared.write();
        catch_unwind(AssertUnwindSafe(|| run(&mut Access::Write(&mut guard))))
    } else {
        let guard = shared.read();
        catch_unwind(AssertUnwindSafe(|| run(&mut Access::Read(&guard))))
    };
    // The lock is released here: a listing is rendered without it.
    let result = step.and_then(|step| catch_unwind(AssertUnwindSafe(|| step.finish())));
    match result {
        Ok(d) => d,
        Err(_) => {
            tracing::error!(method = name, "a method handler panicked; answered 500");
            Dispatched {
                response: render::html_status(500),
                method: found.map(|m| m.name.clone()),
                outcome: "panic".into(),
                answer: None,
            }
        }
    }
}

/// What `run` needs of the request.
#[derive(Clone, Copy)]
struct Req<'r, 'c> {
    verb: HttpVerb,
    name: &'r str,
    /// The catalogue method `name` found (before the quirks that switch aliases).
    found: Option<&'c Method>,
    params: &'r Params,
    elasticsearch: bool,
    arrival: Arrival,
}

/// What `run` decided: a rendered answer, or a listing to render once the lock is released
/// (with copies of the settings and quirks that decide its delivery).
enum Step<'c> {
    Done(Dispatched),
    Later {
        reply: Reply,
        method: &'c Method,
        settings: Box<Settings>,
        quirks: Box<model::Quirks>,
    },
}

impl Step<'_> {
    fn finish(self) -> Dispatched {
        match self {
            Step::Done(d) => d,
            Step::Later {
                reply,
                method,
                settings,
                quirks,
            } => Dispatched {
                response: render::render(&reply, Some(method), &settings, &quirks),
                method: Some(method.name.clone()),
                outcome: "ok".into(),
                answer: None,
            },
        }
    }
}

enum Access<'a> {
    Read(&'a Live),
    Write(&'a mut Live),
}

impl Access<'_> {
    fn live(&self) -> &Live {
        match self {
            Access::Read(l) => l,
            Access::Write(l) => l,
        }
    }
}

fn run<'c>(
    shared: &Shared,
    cat: &'c ProductCatalogue,
    access: &mut Access<'_>,
    req: &Req<'_, 'c>,
) -> Step<'c> {
    let Req {
        params,
        elasticsearch,
        arrival,
        ..
    } = *req;
    let live = access.live();
    let defect = shared.defect;
    let now = live.clock.at(arrival.at);
    let today = today_bounds(now);
    let (method, caller) = match gate(cat, live, req, defect, today) {
        Ok(pass) => pass,
        Err(mut refusal) => {
            if let Some(m) = refusal.method {
                refusal.reply = rewrap(refusal.reply, &m.name, &live.quirks);
            }
            if let Some(d) = defect {
                refusal.reply = crate::defect::apply_to_reply(d, refusal.reply);
            }
            let outcome: Cow<'static, str> = match &refusal.reply {
                Reply::Error { text, .. } => Cow::Owned(text.clone()),
                _ => Cow::Borrowed("error"),
            };
            let mut response = match refusal.status {
                Some(status) => match &refusal.reply {
                    Reply::Error { text, wrapper } => render::error(
                        text,
                        *wrapper,
                        refusal.method,
                        status,
                        &live.settings,
                        &live.quirks,
                    ),
                    other => {
                        let mut r =
                            render::render(other, refusal.method, &live.settings, &live.quirks);
                        *r.status_mut() = status;
                        r
                    }
                },
                None => {
                    render::render(&refusal.reply, refusal.method, &live.settings, &live.quirks)
                }
            };
            if let (Some(m), Some(method)) = (&refusal.mismatch, refusal.method) {
                let log = tracing::enabled!(tracing::Level::INFO);
                if log || shared.explain {
                    // Redacted (a hashed password) and escaped (one log line, a header value).
                    let why = crate::redact::explain_mismatch(method, m);
                    tracing::info!(method = %method.name, "{why}");
                    if shared.explain {
                        if let Ok(v) = HeaderValue::from_str(&why) {
                            response.headers_mut().insert(EXPLAIN_HEADER, v);
                        }
                    }
                }
            }
            if let Some(d) = defect {
                response = crate::defect::apply_to_response(d, true, response);
            }
            let method = refusal.method.map(|m| m.name.as_str());
            // X3 zips get_tariff's in-action errors, not its filters' (API, GET, hash).
            let g = &cat.general;
            let filter = [&g.api_disabled, &g.get_disabled, &g.incorrect_hash]
                .iter()
                .any(|s| s.text == outcome);
            let zip = method == Some("tariff_rates_get") && !filter;
            let response = deliver(response, method, zip, params, live, now);
            return Step::Done(Dispatched {
                response,
                method: refusal.method.map(|m| m.name.clone()),
                outcome,
                answer: None,
            });
        }
    };
    // Set when the answer is taken from a sample rather than computed: said in the journal,
    // a response header and `--explain`, never silently.
    let mut from_sample: Option<&'static str> = None;
    let reply = if elasticsearch {
        Reply::Error {
            text: ELASTICSEARCH.to_string(),
            wrapper: method
                .error(ELASTICSEARCH)
                .map_or(Wrapper::Status, |e| e.wrapper),
        }
    } else if let Some(engine) = &method.engine {
        // Behaviour declared in the catalogue (see `engine`); its writes are stored here, under
        // the write lock a method with `writes: true` holds.
        if let Access::Read(live) = &*access {
            let ctx = Ctx {
                product: shared.product,
                method,
                params,
                caller,
                settings: &live.settings,
                quirks: &live.quirks,
                now,
                today,
            };
            let out = crate::engine::run(&ctx, engine, &live.world);
            if out.data.is_some() {
                // Refused when the catalogue loads (an engine that writes needs `writes:
                // true`).
                return unlocked_write(method);
            }
            out.reply
        } else {
            // A declared write changes the world the caller lives in: it gets a copy.
            let caller = caller.cloned();
            let Access::Write(live) = &mut *access else {
                return unlocked_write(method);
            };
            let Live {
                world,
                settings,
                quirks,
                ..
            } = &mut **live;
            let ctx = Ctx {
                product: shared.product,
                method,
                params,
                caller: caller.as_ref(),
                settings,
                quirks,
                now,
                today,
            };
            let out = crate::engine::run(&ctx, engine, world);
            if let Some(data) = out.data {
                world.replace_records(data);
            }
            out.reply
        }
    } else {
        match methods::handler(&method.name) {
            Some(Handler::Write(f)) => {
                // A writer changes the world the caller lives in: it gets a copy. Readers
                // borrow the caller.
                let caller = caller.cloned();
                let Access::Write(live) = &mut *access else {
                    return unlocked_write(method);
                };
                let Live {
                    world,
                    settings,
                    quirks,
                    ..
                } = &mut **live;
                let ctx = Ctx {
                    product: shared.product,
                    method,
                    params,
                    caller: caller.as_ref(),
                    settings,
                    quirks,
                    now,
                    today,
                };
                f(&ctx, world)
            }
            Some(Handler::Read(f)) => {
                let live = access.live();
                let ctx = Ctx {
                    product: shared.product,
                    method,
                    params,
                    caller,
                    settings: &live.settings,
                    quirks: &live.quirks,
                    now,
                    today,
                };
                match defect.and_then(|d| methods::answer_with_defect(d, &ctx, &live.world)) {
                    Some(reply) => reply,
                    None => f(&ctx, &live.world),
                }
            }
            None => {
                from_sample = Some(if method.is_documented_sample() {
                    DOCUMENTED_SAMPLE
                } else {
                    SAMPLE_SHAPE
                });
                sample_reply(method, now)
            }
        }
    };
    let live = access.live();
    let reply = if method.name == "user_login"
        && live.quirks.login_throttle == model::quirks::LoginThrottle::X3
    {
        crate::login_throttle::apply(reply, arrival.client, &shared.logins)
    } else {
        reply
    };
    let reply = rewrap(reply, &method.name, &live.quirks);
    let reply = match defect {
        Some(d) => crate::defect::apply_to_reply(d, reply.settled()),
        None => reply,
    };
    if matches!(reply, Reply::Listing(_))
        && live.quirks.answer_delivery == model::quirks::AnswerDelivery::Inline
    {
        // A long list: rendered once the state's lock is released (`Step::finish`). (Under
        // X3 delivery, which needs the live clock, it is rendered here, row by row as well.)
        return Step::Later {
            reply,
            method,
            settings: Box::new(live.settings.clone()),
            quirks: Box::new(live.quirks.clone()),
        };
    }
    let (outcome, is_error) = match &reply {
        Reply::Error { text, .. } => (Cow::Owned(text.clone()), true),
        _ => (Cow::Borrowed("ok"), false),
    };
    let mut response = render::render_owned(reply, Some(method), &live.settings, &live.quirks);
    if let Some(d) = defect {
        response = crate::defect::apply_to_response(d, is_error, response);
    }
    let zip = method.name == "tariff_rates_get";
    let mut response = deliver(response, Some(&method.name), zip, params, live, now);
    let answer = match from_sample {
        Some(kind) if !is_error => Some(mark_sample(&mut response, method, kind, shared.explain)),
        _ => None,
    };
    Step::Done(Dispatched {
        response,
        method: Some(method.name.clone()),
        outcome,
        answer,
    })
}

/// Mark an answer taken from a sample (`kind`, see [`ANSWER_HEADER`]): the header, and with
/// `--explain` what it was taken from; returns the journal's text.
fn mark_sample(
    response: &mut Response<Bytes>,
    method: &Method,
    kind: &'static str,
    explain: bool,
) -> String {
    let headers = response.headers_mut();
    headers.insert(ANSWER_HEADER, HeaderValue::from_static(kind));
    let said = match (&method.sample, &method.inferred) {
        (Some(s), _) => format!("documented sample ({})", s.source),
        (None, Some(i)) => format!(
            "inferred shape, not a documented sample (INF: {}), placeholders filled",
            i.source
        ),
        (None, None) => {
            "sample shape: no behaviour and no documented sample, placeholders filled".into()
        }
    };
    if explain {
        let why = format!(
            "{} answered from its {said}; not computed from the world",
            method.name
        );
        // Sources are printable ASCII (checked when the catalogue loads); a method name from a
        // catalogue file may not be.
        if let Ok(v) = HeaderValue::from_str(&why) {
            headers.insert(EXPLAIN_HEADER, v);
        }
    }
    said
}

/// The rendered answer as the quirk `answer_delivery` sends it (X3: a download, get_tariff a
/// zip, inline with `test=1`; see `delivery`).
/// A write reached without the write lock: unreachable by construction (writers take the
/// write lock, and a catalogue whose engine writes without `writes: true` is refused when it
/// loads). Answered like a crashed app server rather than a panic or an unlocked write.
fn unlocked_write(method: &Method) -> Step<'_> {
    tracing::error!(method = %method.name, "a write reached without the write lock");
    Step::Done(Dispatched {
        response: render::html_status(500),
        method: Some(method.name.clone()),
        outcome: "internal error".into(),
        answer: None,
    })
}

fn deliver(
    response: Response<Bytes>,
    method: Option<&str>,
    zip: bool,
    params: &Params,
    live: &Live,
    now: i64,
) -> Response<Bytes> {
    match live.quirks.answer_delivery {
        model::quirks::AnswerDelivery::Inline => response,
        model::quirks::AnswerDelivery::X3 => {
            crate::delivery::x3(response, method, zip, params, &live.settings, now)
        }
    }
}

/// Run every check; on success the method and the (cloned) caller.
fn gate<'c, 'l>(
    cat: &'c ProductCatalogue,
    live: &'l Live,
    req: &Req<'_, 'c>,
    defect: Option<Defect>,
    today: (i64, i64),
) -> Result<(&'c Method, Option<&'l User>), Box<Refusal<'c>>> {
    let Req {
        verb,
        name,
        found,
        params,
        ..
    } = *req;
    let g = &cat.general;
    // A method of the quirk unimplemented_methods, and a name outside served_names, are
    // answered as a name naming none.
    let resolved = crate::router::resolve_found(found, &live.quirks, name)
        .filter(|m| !live.quirks.is_unimplemented(&m.name) && live.quirks.serves(name));
    let Some(method) = resolved else {
        use model::quirks::UnknownMethod;
        let (reply, status) = match live.quirks.unknown_method {
            UnknownMethod::ApiError => (general_error(None, &g.unknown_method), Some(404)),
            UnknownMethod::NotFound => (Reply::Text("Not Found".into()), Some(404)),
            UnknownMethod::UndefinedMethod => (undefined_method(name), None),
        };
        return Err(Box::new(Refusal {
            method: None,
            reply,
            mismatch: None,
            status: status.and_then(|s| http::StatusCode::from_u16(s).ok()),
        }));
    };
    let refuse = |reply: Reply| {
        Box::new(Refusal {
            method: Some(method),
            reply,
            mismatch: None,
            status: None,
        })
    };
    let settings = &live.settings;
    if !settings.api_enabled {
        return Err(refuse(general_error(Some(method), &g.api_disabled)));
    }
    let open = live.quirks.is_open(&method.name);
    let get_off = !settings.allow_get && defect != Some(Defect::GetAllowed);
    if verb == HttpVerb::Get && !open && (get_off || !method.http.contains(&HttpVerb::Get)) {
        return Err(refuse(general_error(Some(method), &g.get_disabled)));
    }
    if let Some(to) = live.quirks.redirects.get(name) {
        // Quirk redirects (X3 user_calls): the same parameters, at the other method's path.
        let query = params.to_query();
        let sep = if query.is_empty() { "" } else { "?" };
        return Err(Box::new(Refusal {
            method: Some(method),
            reply: Reply::Redirect(format!("{}{to}{sep}{query}", crate::router::API_PREFIX)),
            mismatch: None,
            status: None,
        }));
    }
    if open {
        // Quirk open_methods (X3 simple_balance and balance): no hash, no login, no caller.
        return feature(method, g, settings)
            .map(|()| (method, None))
            .map_err(refuse);
    }
    let world = &live.world;

    // Whether the request's hash must be verified, and with whose secret (`signer`: the user
    // whose requests that secret signs; None for the admin's).
    let check_hash = |signer: Option<&User>| -> Result<(), Box<Refusal<'c>>> {
        // Quirk login_answers x3: the X3 login action runs no hash filter.
        if !auth::must_verify(method, params, signer, settings)
            || live.quirks.hash_unchecked(&method.name)
            || defect == Some(Defect::AnyHashAccepted)
        {
            return Ok(());
        }
        let secret = auth::secret_for(signer, world, settings, &live.quirks);
        auth::verify(method, params, signer, secret, &live.quirks, today, defect)
            .map_err(|m| hash_refusal(method, g, m))
    };

    if !method.requires_login {
        // No caller to log in: user_simple_balance_get (the uniquehash names the user),
        // user_login and user_logout (`u` is the user logging in or out; their handlers answer
        // unknown or blocked users with the documented `<action>` failure), unless the quirk
        // `check_order` lists the method: then `u` is looked up first (X3's logout filter).
        let subject = auth::subject(method, world, params);
        if subject.is_none() && live.quirks.check_order.contains_key(method.name.as_str()) {
            return Err(refuse(general_error(Some(method), &g.bad_login)));
        }
        check_hash(subject)?;
        return feature(method, g, settings)
            .map(|()| (method, None))
            .map_err(refuse);
    }
    if auth::login_optional(method, params, &live.quirks) {
        // user_balance_get without `u` (quirk balance_get_requires_u off): authenticated by the
        // hash alone, with the admin's secret.
        check_hash(None)?;
        return feature(method, g, settings)
            .map(|()| (method, None))
            .map_err(refuse);
    }

    let caller = auth::login(world, params);
    let unknown = || {
        params
            .get("u")
            .is_some_and(|u| world.user_by_name(u).is_none())
    };
    let bad_login = || match &method.bad_login_error {
        _ if defect == Some(Defect::UnknownUserAnswersAccessDenied) && unknown() => {
            general_error(Some(method), &g.access_denied)
        }
        Some(text) => text_error(cat, method, text),
        None => general_error(Some(method), &g.bad_login),
    };
    let precedence = match defect {
        Some(Defect::ChecksWrongOrder) => model::quirks::Precedence::HashFirst,
        _ => live.quirks.precedence_of(&method.name),
    };
    match precedence {
        model::quirks::Precedence::LoginFirst => {
            let Some(c) = caller else {
                return Err(refuse(bad_login()));
            };
            check_hash(Some(c))?;
        }
        model::quirks::Precedence::HashFirst => {
            check_hash(caller)?;
            if caller.is_none() {
                return Err(refuse(bad_login()));
            }
        }
    }
    let Some(caller) = caller else {
        return Err(refuse(bad_login()));
    };
    if live.quirks.checks_in_action(&method.name) {
        // X3 positions of payment_create_answers and devices_get_answers: the action checks
        // the role, the ownership and the payments switch itself, in its own order and wrapper.
        return Ok((method, Some(caller)));
    }
    let Some(rule) = method.access_for(caller.role) else {
        return Err(refuse(general_error(Some(method), &g.access_denied)));
    };
    if let Some(perm) = &rule.permission {
        // The System Admin holds every permission.
        if caller.role != Role::Admin && !caller.permissions.iter().any(|p| p == perm) {
            let reply = match &rule.permission_error {
                Some(text) => text_error(cat, method, text),
                None => general_error(Some(method), &g.not_authorized),
            };
            return Err(refuse(reply));
        }
    }
    feature(method, g, settings).map_err(refuse)?;
    Ok((method, Some(caller)))
}

/// The X3 controller's answer to an action it does not define (quirk `unknown_method:
/// undefined_method`): the name as the path gave it, no declaration, HTTP 200.
fn undefined_method(name: &str) -> Reply {
    let root = model::xml::Element::new("error")
        .leaf("type", "Undefined method")
        .leaf("name", name);
    Reply::Xml(Document {
        declaration: model::catalogue::Declaration::None,
        root,
    })
}

/// An error reply in the wrapper the quirk `error_wrappers` gives its text on `method`, if any.
fn rewrap(reply: Reply, method: &str, quirks: &model::Quirks) -> Reply {
    match reply {
        Reply::Error { text, wrapper } => Reply::Error {
            wrapper: quirks.error_wrapper(method, &text).unwrap_or(wrapper),
            text,
        },
        other => other,
    }
}

fn hash_refusal<'c>(
    method: &'c Method,
    g: &model::catalogue::General,
    m: model::sign::HashMismatch,
) -> Box<Refusal<'c>> {
    Box::new(Refusal {
        method: Some(method),
        reply: general_error(Some(method), &g.incorrect_hash),
        mismatch: Some(m),
        status: None,
    })
}

fn feature(
    method: &Method,
    g: &model::catalogue::General,
    settings: &Settings,
) -> Result<(), Reply> {
    let Some(name) = &method.feature else {
        return Ok(());
    };
    if feature_on(settings, name) {
        Ok(())
    } else {
        Err(general_error(Some(method), &g.feature_disabled))
    }
}

/// Whether the Settings bool field `name` is on (an unknown name counts as on, and is logged).
pub fn feature_on(settings: &Settings, name: &str) -> bool {
    match name {
        "balance_over_http" => settings.balance_over_http,
        "api_allow_payments" => settings.api_allow_payments,
        other => match serde_json::to_value(settings)
            .ok()
            .and_then(|v| v.get(other).and_then(serde_json::Value::as_bool))
        {
            Some(on) => on,
            None => {
                tracing::warn!(
                    feature = other,
                    "catalogue feature names no boolean setting; treated as on"
                );
                true
            }
        },
    }
}

/// The answer of a method without a handler: its documented sample as the page shows it, else
/// its catalogue sample with placeholders filled by plausible values.
pub fn sample_reply(method: &Method, now: i64) -> Reply {
    let filled = match &method.sample {
        Some(documented) => documented.answer.clone(),
        None => fill_placeholders(&method.response.sample, now),
    };
    if method.response.body == model::catalogue::BodyKind::Text {
        return Reply::Text(filled);
    }
    match xml::parse(&filled) {
        Ok(doc) => Reply::Xml(Document {
            declaration: method.response.declaration,
            root: doc.root,
        }),
        Err(e) => {
            tracing::warn!(method = %method.name, error = %e, "catalogue sample is not XML; sent as text");
            Reply::Text(filled)
        }
    }
}

/// Replace `{{int}}`, `{{number}}`, `{{text}}`, `{{datetime}}`, `{{date}}` and `{{any}}`.
pub fn fill_placeholders(sample: &str, now: i64) -> String {
    let mut out = String::with_capacity(sample.len());
    let mut rest = sample;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let value = match after[..j].trim() {
            "int" => "1".to_string(),
            "number" => "1.0".to_string(),
            "datetime" => format_datetime(now),
            "date" => format_date(now),
            "text" | "any" => "text".to_string(),
            other => other.to_string(),
        };
        out.push_str(&value);
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockConfig;
    use model::catalogue::Product;

    #[test]
    fn a_listing_is_rendered_after_the_lock_is_released() {
        let shared = Shared::new(
            MockConfig::new(Product::M4)
                .settings(model::settings::SettingsPatch {
                    hash_check: Some(false),
                    ..Default::default()
                })
                .clock(1_795_435_200),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let params = Params::parse_query(b"u=admin");
        let whole = dispatch(
            &shared,
            HttpVerb::Post,
            "payments_get",
            &params,
            false,
            None,
        );
        let cat = shared.methods();
        let guard = shared.read();
        let req = Req {
            verb: HttpVerb::Post,
            name: "payments_get",
            found: cat.method("payments_get"),
            params: &params,
            elasticsearch: false,
            arrival: Arrival {
                client: None,
                at: SystemTime::now(),
            },
        };
        let step = run(&shared, cat, &mut Access::Read(&guard), &req);
        // What run decided under the lock: the rows, nothing rendered yet.
        let Step::Later { reply, .. } = &step else {
            panic!("payments_get was rendered under the lock");
        };
        assert!(matches!(reply, Reply::Listing(_)));
        drop(guard);
        // A writer goes first, before the answer is rendered: it renders what was read.
        shared.write().world.data.payments.clear();
        let answered = step.finish();
        assert_eq!(answered.outcome, "ok");
        assert_eq!(answered.response.body(), whole.response.body());
        assert!(String::from_utf8_lossy(answered.response.body()).contains("<payment>"));
    }

    #[test]
    fn placeholders_are_filled_with_plausible_values() {
        assert_eq!(
            fill_placeholders("<a>{{int}}</a><b>{{number}}</b><c>{{date}}</c>{{", 86_400),
            "<a>1</a><b>1.0</b><c>1970-01-02</c>{{"
        );
    }
}
