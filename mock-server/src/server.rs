//! The network edge and the whole flow of one request.
//!
//! The edge is an axum [`Router`] ([`app`]): `/billing/api/<method>` (and its trailing-slash
//! form) to the API flow, `/__admin/...` to the admin API behind its guard, anything else to a
//! journalled 404. tower-http layers bound it: a [`RequestBodyLimit`] for API requests
//! ([`ApiBodyLimit`], outside the router) and one on the admin routes after their guard (413
//! for a Content-Length over the limit before any byte is read, and a body counted while read),
//! and [`TraceLayer`] (a span and a line per request at debug level, when
//! `RUST_LOG=tower_http=debug` turns them on as the instance starts).
//! The body deadline (the whole body within `Limits::body_timeout`, else 408 and the connection
//! closed) is timed while the handler collects it: tower-http's body timeout restarts on every
//! frame, so a body trickled a byte at a time would never end.
//!
//! The API flow: `router` (the method name as the path writes it) -> `request` -> `overlay` ->
//! `dispatch` (-> `auth`, `methods`) -> `render` -> `journal`. [`run`] serves the router over
//! HTTP/1.1 with keep-alive through hyper-util's connection builder (graceful shutdown), the
//! connection's reads under the request head's deadline (`head_deadline`); [`handle`] sends one request through the same router without a socket
//! (in-process use, props, fuzzing); [`MockServer`] is the handle tests and the runner hold.
//!
//! Two overlay faults need the connection itself, which a router cannot reach: the API service
//! marks its response with a [`Delivery`] extension, and the thin wrapper between hyper and the
//! router turns `Reset` into a dropped connection (the service returns an error, so hyper
//! closes without answering) and `Truncate(n)` into the full Content-Length followed by `n`
//! bytes and a failed body stream (hyper aborts the connection mid-body).

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body as AxumBody;
use axum::extract::{Request as AxumRequest, State};
use axum::middleware::{self, Next};
use axum::response::Response as AxumResponse;
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::util::{Either, MapFuture};
use tower::Layer as _;
use tower::ServiceExt as _;
use tower_http::classify::{
    NeverClassifyEos, ServerErrorsAsFailures, ServerErrorsFailureClass, SharedClassifier,
};
use tower_http::limit::{RequestBodyLimit, RequestBodyLimitLayer};
use tower_http::trace::{
    DefaultOnBodyChunk, DefaultOnEos, DefaultOnFailure, ResponseBody, Trace, TraceLayer,
};

use model::catalogue::MethodName;
use model::params::Params;

use crate::clock::Clock;
use crate::config::{ConfigError, MockConfig};
use crate::defect::Defect;
use crate::dispatch;
use crate::head_deadline::{HeadClock, HeadDeadline};
use crate::journal::{Caller, Entry, EntryPath};
use crate::overlay::{FaultAction, Probe};
use crate::render;
use crate::request;
use crate::router::{self, Route};
use crate::state::Shared;

/// Bodies larger than this are refused with 413 unless [`crate::config::Limits`] says
/// otherwise.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// How long a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How an answer leaves the server. On a router response it travels as an extension (absent
/// means [`Delivery::Full`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The whole response.
    Full,
    /// Close the connection without answering (overlay fault `connection_reset`; also a
    /// request whose body the client broke off).
    Reset,
    /// Announce the full Content-Length, send this many body bytes, then break the connection
    /// (overlay fault `truncate`).
    Truncate(usize),
}

/// The answer to one request, before it meets a socket.
#[derive(Debug)]
pub struct Answer {
    /// The response (complete, even when only part of it is delivered).
    pub response: Response<Bytes>,
    /// How it is delivered.
    pub delivery: Delivery,
}

impl Answer {
    fn full(response: Response<Bytes>) -> Answer {
        Answer {
            response,
            delivery: Delivery::Full,
        }
    }
}

std::thread_local! {
    /// The peer's address of the request whose edge future this thread is polling (set by
    /// [`serve`] around each poll; absent in-process). Neither a request extension (a lookup in
    /// a map per request) nor a tokio task-local around the connection (swapped in and out on
    /// each of its polls: ~70 instructions per request more than this, callgrind).
    static CLIENT_IP: std::cell::Cell<Option<std::net::IpAddr>> = const { std::cell::Cell::new(None) };
}

std::thread_local! {
    /// The emptied extensions of an API request answered on this thread, for the next request
    /// this thread hands to the edge ([`recycle_extensions`]).
    static SPARE_EXTENSIONS: std::cell::Cell<Option<http::Extensions>> =
        const { std::cell::Cell::new(None) };
}

/// Keep an answered request's extensions, emptied, for the next request this thread hands to
/// the edge. axum's router inserts the path's parameters into every request's extensions
/// (none for a static path, but the insert all the same): in a request from hyper, which
/// brings none, that makes the map and its table, and the request frees them (~300
/// instructions per request net, callgrind, issue 15); in the spare's they are made already.
fn recycle_extensions(mut extensions: http::Extensions) {
    extensions.clear();
    SPARE_EXTENSIONS.set(Some(extensions));
}

/// Give a request the spare extensions ([`recycle_extensions`]) when it brings none of its own.
fn take_spare_extensions<B>(req: &mut Request<B>) {
    if req.extensions().is_empty() {
        if let Some(spare) = SPARE_EXTENSIONS.take() {
            *req.extensions_mut() = spare;
        }
    }
}

/// [`CLIENT_IP`] set while it lives, unset when dropped (also by a panic).
struct ClientScope;

impl ClientScope {
    fn enter(ip: std::net::IpAddr) -> ClientScope {
        CLIENT_IP.set(Some(ip));
        ClientScope
    }
}

impl Drop for ClientScope {
    fn drop(&mut self) {
        CLIENT_IP.set(None);
    }
}

/// The verb and URI of a request that announced a body, for the journal entry of a 413 that
/// tower-http's body limit answers from the announced length alone ([`finish`]). A request
/// without a body (hyper's body is at its end: no Content-Length, or 0) cannot be refused so,
/// and its verb and URI are not copied (their copies and drops: ~150 instructions per request,
/// callgrind, issue 15).
/// Boxed: the request's future, which hyper moves into place, holds it (8 bytes, not 112).
type Asked = Option<Box<(Method, Uri)>>;

/// What [`finish`] needs of a request: see [`Asked`].
fn asked<B: Body>(req: &Request<B>) -> Asked {
    (!req.body().is_end_stream()).then(|| Box::new((req.method().clone(), req.uri().clone())))
}

/// A response the edge has already journalled although its status is 413 (see [`finish`]).
#[derive(Debug, Clone, Copy)]
struct Journalled;

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// The router's state: the instance it serves. Weak, because the instance keeps its router
/// (see [`Shared::edge`]); every caller of the router holds the instance.
#[derive(Debug, Clone)]
pub struct Edge(Weak<Shared>);

impl Edge {
    fn shared(&self) -> Option<Arc<Shared>> {
        self.0.upgrade()
    }
}

/// The body of a response as tower-http's tracing hands it on.
type TracedBody = ResponseBody<
    AxumBody,
    NeverClassifyEos<ServerErrorsFailureClass>,
    DefaultOnBodyChunk,
    DefaultOnEos,
    DefaultOnFailure,
>;

/// The future of tower-http's tracing around the router's.
type TraceFuture = tower_http::trace::ResponseFuture<
    axum::routing::future::RouteFuture<Infallible>,
    ServerErrorsAsFailures,
>;

/// The traced router's answer, its body as the router's. Boxed: tracing's future holds a
/// span, the clock and its callbacks beside the router's (440 bytes against 320), and the edge's
/// future, which hyper moves for every request, is as large as its largest kind.
type TracedAnswer = Pin<Box<dyn Future<Output = Result<AxumResponse, Infallible>> + Send>>;

/// The router inside tower-http's [`TraceLayer`], its answer a [`TracedAnswer`].
type Traced = MapFuture<
    Trace<Router, SharedClassifier<ServerErrorsAsFailures>>,
    fn(TraceFuture) -> TracedAnswer,
>;

/// The router, inside tower-http's [`TraceLayer`] when its events are on
/// (`RUST_LOG=tower_http=debug` when the instance starts). The layer wraps the router as a
/// whole rather than each of its routes (`Router::layer`), so a request passes one tracing
/// service and no extra boxed route. Off, it is left out: it reads the clock five times per
/// request whether or not anything is logged (820 of the 35,000 instructions a keep-alive
/// quickstats_get cost, callgrind, issue 15).
pub type TracedRouter = Either<Traced, Router>;

/// The edge service: the API's body limit around the (traced) router.
pub type EdgeService = ApiBodyLimit<TracedRouter>;

/// The body of the edge's responses.
pub type EdgeBody = tower_http::limit::ResponseBody<AxumBody>;

/// tower-http's [`RequestBodyLimit`] with the API's limit for `/billing/api/...` requests, and
/// without one for any other path (the admin routes have theirs inside the router, after their
/// guard). One layer outside the router rather than one on the API's route group inside it: a
/// layer on a route group wraps every route in another boxed service, 1,490 of ~29,500
/// instructions per keep-alive quickstats_get (callgrind, issue 15).
#[derive(Debug, Clone)]
pub struct ApiBodyLimit<S> {
    api: RequestBodyLimit<S>,
    other: RequestBodyLimit<S>,
}

impl<S: Clone> ApiBodyLimit<S> {
    fn new(inner: S, api_limit: usize) -> Self {
        ApiBodyLimit {
            api: RequestBodyLimit::new(inner.clone(), api_limit),
            other: RequestBodyLimit::new(inner, usize::MAX),
        }
    }
}

impl<S, B> tower::Service<Request<B>> for ApiBodyLimit<S>
where
    RequestBodyLimit<S>: tower::Service<Request<B>>,
{
    type Response = <RequestBodyLimit<S> as tower::Service<Request<B>>>::Response;
    type Error = <RequestBodyLimit<S> as tower::Service<Request<B>>>::Error;
    type Future = <RequestBodyLimit<S> as tower::Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self.api.poll_ready(cx) {
            Poll::Ready(Ok(())) => self.other.poll_ready(cx),
            not_ready => not_ready,
        }
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if req.uri().path().starts_with(router::API_PREFIX) {
            self.api.call(req)
        } else {
            self.other.call(req)
        }
    }
}

/// The edge of one instance: routes, body limits, tracing. Built once per instance
/// ([`Shared::edge`]); served by [`run`] and called by [`handle`].
pub fn app(shared: &Arc<Shared>) -> EdgeService {
    let limits = shared.limits;
    let edge = Edge(Arc::downgrade(shared));
    let api = ApiService(edge.clone());
    // The admin API decides who may ask before any body is read; its bodies (scenario worlds)
    // may be larger than an API request's.
    let admin_routes = Router::new()
        .route("/__admin/", any(admin_endpoint))
        .route("/__admin/{*endpoint}", any(admin_endpoint))
        .layer(RequestBodyLimitLayer::new(limits.max_admin_body))
        .layer(middleware::from_fn_with_state(edge.clone(), admin_guard));
    // The API's routes go on the outer router itself: `Router::merge` boxes a merged service
    // route once more (a second `Route` around the first), which cost a boxed clone, a boxed
    // future and their moves on every API request (callgrind, issue 15).
    let mut routes = Router::new()
        .merge(admin_routes)
        .route_service("/billing/api/{method}", api.clone())
        // A trailing slash is tolerated as Rails' router does; nothing deeper is a method.
        .route_service("/billing/api/{method}/", api.clone());
    // Every name the catalogue knows is also a static path: matched without capturing a path
    // parameter, which axum decodes and stores per request. Any other name takes `{method}`;
    // the service reads the name from the path either way.
    for name in shared.methods().names().filter(|n| is_static_segment(n)) {
        routes = routes.route_service(&format!("{}{name}", router::API_PREFIX), api.clone());
    }
    let router = routes.fallback(not_found).with_state(edge);
    let traced = tracing::enabled!(target: "tower_http::trace::on_request", tracing::Level::DEBUG)
        || tracing::enabled!(target: "tower_http::trace::make_span", tracing::Level::DEBUG);
    let router = if traced {
        let boxed: fn(TraceFuture) -> TracedAnswer = |traced| {
            Box::pin(async move {
                let answer: Result<Response<TracedBody>, Infallible> = traced.await;
                answer.map(|r| r.map(AxumBody::new))
            })
        };
        Either::Left(MapFuture::new(
            TraceLayer::new_for_http().layer(router),
            boxed,
        ))
    } else {
        Either::Right(router)
    };
    ApiBodyLimit::new(router, limits.max_body)
}

/// Whether a method name can be a static route as it is: a plain path segment that axum's
/// route syntax reads literally (a catalogue file may name a method anything).
fn is_static_segment(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Answer one request through the instance's router, without a socket (in-process use,
/// props, fuzzing). Never panics; any input gets a well-formed answer (API errors in the API's
/// own vocabulary, plain 404 elsewhere). The admin API's costly work (parsing a scenario,
/// building its world) runs on tokio's blocking pool, as in the server.
pub async fn handle(
    shared: &Arc<Shared>,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Answer {
    let mut req = Request::new(AxumBody::from(body));
    *req.method_mut() = method;
    *req.uri_mut() = uri.clone();
    *req.headers_mut() = headers.clone();
    // In process, the headers given may announce a length the body does not have.
    let asked = Some(Box::new((req.method().clone(), req.uri().clone())));
    let mut response = call(shared, req).await;
    finish(shared, &asked, &mut response);
    let delivery = delivery_of(&response);
    let (parts, body) = response.into_parts();
    // The router's bodies are whole byte strings (`Full`): collecting is immediate.
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            tracing::error!(error = %e, "an edge response body failed");
            Bytes::new()
        }
    };
    Answer {
        response: Response::from_parts(parts, bytes),
        delivery,
    }
}

/// One request through the instance's router.
async fn call(shared: &Arc<Shared>, req: AxumRequest) -> Response<EdgeBody> {
    match shared.edge().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn delivery_of<B>(response: &Response<B>) -> Delivery {
    response
        .extensions()
        .get::<Delivery>()
        .copied()
        .unwrap_or(Delivery::Full)
}

/// What the edge adds to the router's answer: a 413 that tower-http's body limit answered
/// before any handler ran (an announced Content-Length over the limit) is journalled like the
/// 413 of a body counted while read, and closes the connection (the body is left unread).
/// `asked` is the request's verb and URI when it announced a body (see [`Asked`]).
fn finish<B>(shared: &Shared, asked: &Asked, response: &mut Response<B>) {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response.extensions().get::<Journalled>().is_none()
    {
        tracing::info!("request body over the limit; answered 413");
        if let Some(asked) = asked {
            let (verb, uri) = &**asked;
            journal_refusal(shared, verb, uri, 413, "body too large");
        }
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
}

fn journal_refusal(shared: &Shared, verb: &Method, uri: &Uri, status: u16, outcome: &'static str) {
    shared.journal.record(Entry {
        time_ms: now_ms(),
        verb: crate::journal::verb_text(verb),
        path: EntryPath::Text(uri.path().to_string()),
        method: None,
        u: Caller::None,
        params: Params::new(),
        outcome: Cow::Borrowed(outcome),
        status,
        answer: None,
    });
}

/// An [`Answer`] as a router response: the body whole, the delivery as an extension.
fn into_router_response(answer: Answer) -> AxumResponse {
    let (mut parts, body) = answer.response.into_parts();
    if answer.delivery != Delivery::Full {
        parts.extensions.insert(answer.delivery);
    }
    if parts.status == StatusCode::PAYLOAD_TOO_LARGE {
        // Journalled by the flow (a canned or faulted 413, or a deployment's through the proxy).
        parts.extensions.insert(Journalled);
    }
    AxumResponse::from_parts(parts, AxumBody::from(body))
}

fn gone() -> AxumResponse {
    // Only reachable if the instance were dropped while its router answers a request.
    into_router_response(Answer::full(render::html_status(503)))
}

/// Collect a request body within the instance's body deadline. `Err` is the answer instead:
/// 413 (over the limit while counted), 408 (not complete in time), or a dropped connection
/// (the client broke the body off: nobody is left to answer).
async fn read_body(
    shared: &Shared,
    verb: &Method,
    uri: &Uri,
    body: AxumBody,
) -> Result<Bytes, AxumResponse> {
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let limits = shared.limits;
    match tokio::time::timeout(limits.body_timeout, body.collect()).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if is_length_limit(&e) => {
            tracing::info!("request body over the limit; answered 413");
            Err(refuse_body(shared, verb, uri, 413, "body too large"))
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, "request body not read; connection closed");
            let mut response = AxumResponse::new(AxumBody::empty());
            response.extensions_mut().insert(Delivery::Reset);
            Err(response)
        }
        Err(_) => {
            tracing::info!(
                timeout_ms = limits.body_timeout.as_millis() as u64,
                "request body not complete in time; answered 408"
            );
            Err(refuse_body(shared, verb, uri, 408, "body timeout"))
        }
    }
}

/// Whether a body error is the body limit's.
fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// An HTML error page that also closes the connection (the rest of the body is not read).
fn refuse_body(
    shared: &Shared,
    verb: &Method,
    uri: &Uri,
    status: u16,
    outcome: &'static str,
) -> AxumResponse {
    journal_refusal(shared, verb, uri, status, outcome);
    let mut response = into_router_response(Answer::full(with_close(render::html_status(status))));
    response.extensions_mut().insert(Journalled);
    response
}

/// The response with `Connection: close` (its request's body is left unread).
fn with_close(mut response: Response<Bytes>) -> Response<Bytes> {
    response
        .headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// What the API service gives the router: the answer, or the future of one that has to wait.
type ApiFuture = futures_util::future::Either<
    std::future::Ready<Result<AxumResponse, Infallible>>,
    Pin<Box<dyn Future<Output = Result<AxumResponse, Infallible>> + Send>>,
>;

/// `/billing/api/<method>` as a service the router calls for every verb: the router's own
/// extraction, method routing and response mapping of a handler are left out (~250
/// instructions per request, callgrind).
#[derive(Clone)]
struct ApiService(Edge);

impl tower::Service<AxumRequest> for ApiService {
    type Response = AxumResponse;
    type Error = Infallible;
    type Future = ApiFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: AxumRequest) -> ApiFuture {
        api_endpoint(&self.0, req)
    }
}

/// `/billing/api/<method>`: the API flow, or the proxy. The usual request (no body, no proxy,
/// an empty overlay) cannot wait for anything: it is answered while the router calls the API, and
/// what axum boxes for it is a ready answer, not the whole flow's future (1,000 bytes, which
/// took mimalloc's slow path for every request: ~600 instructions with the copies, callgrind).
fn api_endpoint(edge: &Edge, req: AxumRequest) -> ApiFuture {
    let Some(shared) = edge.shared() else {
        return futures_util::future::Either::Left(std::future::ready(Ok(gone())));
    };
    let (parts, body) = req.into_parts();
    // The peer's address, when a socket brought the request (the X3 login throttle counts per
    // client): read as the router calls the API, before any wait.
    let client = CLIENT_IP.get();
    if !body.is_end_stream() || shared.proxy.is_some() || !shared.read().overlay.is_empty() {
        return futures_util::future::Either::Right(Box::pin(async move {
            Ok(api_endpoint_waiting(shared, client, parts, body).await)
        }));
    }
    let answer = {
        let flow = api_flow(&shared, client, &parts, Bytes::new(), false);
        // Nothing in the flow waits without the overlay (its delay fault is its only wait).
        let mut flow = std::pin::pin!(flow);
        match flow
            .as_mut()
            .poll(&mut Context::from_waker(std::task::Waker::noop()))
        {
            Poll::Ready(answer) => answer,
            Poll::Pending => {
                tracing::error!("an API request without the overlay waited; answered 500");
                into_router_response(Answer::full(render::html_status(500)))
            }
        }
    };
    // The request's header map, emptied, holds the next answer's headers, and its extensions
    // the next request's.
    render::recycle_headers(parts.headers);
    recycle_extensions(parts.extensions);
    futures_util::future::Either::Left(std::future::ready(Ok(answer)))
}

/// The API flow for a request that may wait: its body to read, the proxy's exchange,
/// or the overlay's delay fault.
async fn api_endpoint_waiting(
    shared: Arc<Shared>,
    client: Option<std::net::IpAddr>,
    parts: http::request::Parts,
    body: AxumBody,
) -> AxumResponse {
    let body = match read_body(&shared, &parts.method, &parts.uri, body).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    if shared.proxy.is_some() {
        let Route::Api(name) = router::route(parts.uri.path()) else {
            journal_refusal(&shared, &parts.method, &parts.uri, 404, "not found");
            return into_router_response(Answer::full(render::not_found()));
        };
        let response = proxied(
            &shared,
            parts.method,
            &parts.uri,
            &parts.headers,
            body,
            name,
        )
        .await;
        return into_router_response(Answer::full(response));
    }
    api_flow(&shared, client, &parts, body, true).await
}

/// The API flow of a request whose body is read: `api`, then the response as the router
/// gives it. `overlay: false` answers as if the overlay were empty (the caller saw it so).
async fn api_flow(
    shared: &Shared,
    client: Option<std::net::IpAddr>,
    parts: &http::request::Parts,
    body: Bytes,
    overlay: bool,
) -> AxumResponse {
    let Route::Api(name) = router::route(parts.uri.path()) else {
        // A path the router's pattern takes and `router::route` does not (an empty name).
        journal_refusal(shared, &parts.method, &parts.uri, 404, "not found");
        return into_router_response(Answer::full(render::not_found()));
    };
    let mut answer = api(shared, client, parts, &body, name, overlay).await;
    // A pinned clock is the server's time: its `Date` header says so (hyper's own would tell
    // the machine's), so a client reading the server's day gets the mock's.
    if let Clock::Pinned(t) = shared.read().clock {
        let at = UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at)) {
            answer.response.headers_mut().insert(http::header::DATE, v);
        }
    }
    into_router_response(answer)
}

/// Who may use the admin API, decided before any body is read.
async fn admin_guard(State(edge): State<Edge>, req: AxumRequest, next: Next) -> AxumResponse {
    let Some(shared) = edge.shared() else {
        return gone();
    };
    if let Err(refusal) = crate::admin::guard(&shared.admin, req.method(), req.uri(), req.headers())
    {
        tracing::warn!(
            status = refusal.status.as_u16(),
            "admin request refused: {refusal}"
        );
        return into_router_response(Answer::full(with_close(refusal.response())));
    }
    next.run(req).await
}

/// `/__admin/<endpoint>`.
async fn admin_endpoint(State(edge): State<Edge>, req: AxumRequest) -> AxumResponse {
    let Some(shared) = edge.shared() else {
        return gone();
    };
    let (parts, body) = req.into_parts();
    let body = match read_body(&shared, &parts.method, &parts.uri, body).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let endpoint = match router::route(parts.uri.path()) {
        Route::Admin(endpoint) => endpoint,
        _ => "",
    };
    let response =
        crate::admin::handle(&shared, Some(&shared), &parts.method, endpoint, body).await;
    into_router_response(Answer::full(response))
}

/// Any other path: a plain 404, journalled.
async fn not_found(State(edge): State<Edge>, verb: Method, uri: Uri) -> AxumResponse {
    let Some(shared) = edge.shared() else {
        return gone();
    };
    let response = render::not_found();
    journal_refusal(
        &shared,
        &verb,
        &uri,
        response.status().as_u16(),
        "not found",
    );
    into_router_response(Answer::full(response))
}

/// An API request through the proxy: forwarded, judged, journalled with its deviations.
async fn proxied(
    shared: &Shared,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    name: &str,
) -> Response<Bytes> {
    let Some(proxy) = &shared.proxy else {
        return render::not_found();
    };
    let (quirks, today) = {
        let live = shared.read();
        (live.quirks.clone(), live.clock.today())
    };
    let params = request::parse(uri.query(), headers, &body, quirks.json_body).params;
    let verb = crate::journal::verb_text(&method);
    let cat = shared.methods();
    let (response, deviations) = proxy
        .exchange(
            cat, &quirks, today, method, uri, headers, body, &params, name,
        )
        .await;
    let outcome: Cow<'static, str> = if deviations.is_empty() {
        Cow::Borrowed("proxied")
    } else {
        let list: Vec<String> = deviations
            .iter()
            .map(|d| format!("{}: {}", d.side.as_str(), d.what))
            .collect();
        Cow::Owned(format!("proxied; {}", list.join("; ")))
    };
    shared.journal.record(Entry {
        time_ms: now_ms(),
        verb,
        path: EntryPath::Text(uri.path().to_string()),
        method: cat.method(name).map(|m| m.name.clone()),
        u: params.get("u").map(str::to_string).into(),
        params: Entry::redact(&params, cat.method(name)),
        outcome,
        status: response.status().as_u16(),
        answer: None,
    });
    response
}

async fn api(
    shared: &Shared,
    client: Option<std::net::IpAddr>,
    parts: &http::request::Parts,
    body: &[u8],
    name: &str,
    overlay: bool,
) -> Answer {
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    // The request's one reading of the system clock: the journal's time, and dispatch's "now"
    // unless the clock is pinned.
    let at = SystemTime::now();
    let verb = router::verb_of(method);
    let json_body =
        shared.read().quirks.json_body && shared.defect != Some(Defect::JsonBodyIgnored);
    let mut parsed = request::parse(uri.query(), headers, body, json_body);
    if shared.defect == Some(Defect::FormBodyIgnored) && parsed.body == request::BodyKind::Form {
        parsed = request::parse(uri.query(), headers, &[], json_body);
    }
    let params = parsed.params;
    let cat = shared.methods();
    // The one catalogue lookup of the flow (the overlay, the journal and dispatch share it).
    let found = cat.method(name);
    let (canned, faults) = match overlay.then(|| shared.read()) {
        Some(live) if !live.overlay.is_empty() => {
            let canonical =
                router::resolve_found(found, &live.quirks, name).map(|m| m.name.as_str());
            let probe = Probe {
                name,
                canonical,
                params: &params,
                verb,
            };
            let canned = live.overlay.canned(&probe);
            let faults = match canned {
                Some(_) => Default::default(),
                None => live.overlay.faults(&probe),
            };
            (canned, faults)
        }
        // Without `overlay`, the caller saw it empty: no second look under the lock.
        _ => (None, Default::default()),
    };
    // The journal keeps the request's own parameter strings (redacted and cut in place).
    let journal = |mut params: Params,
                   canonical: Option<MethodName>,
                   outcome: Cow<'static, str>,
                   status: u16| {
        let u = Entry::redact_in_place(&mut params, found);
        Entry {
            time_ms: crate::clock::unix_ms(at),
            verb: crate::journal::verb_text(method),
            path: EntryPath::new(uri.path(), canonical.as_ref()),
            method: canonical,
            u,
            params,
            outcome,
            status,
            answer: None,
        }
    };
    let canonical_name = || found.map(|m| m.name.clone());

    if let Some(c) = canned {
        let status = StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK);
        let mut response = Response::new(Bytes::from(c.body));
        *response.status_mut() = status;
        let ct = c.content_type.as_deref().unwrap_or(render::XML);
        let ct = HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static(render::XML));
        response.headers_mut().insert(CONTENT_TYPE, ct);
        shared
            .journal
            .record(journal(params, canonical_name(), "canned".into(), c.status));
        return Answer::full(response);
    }
    // The mock's clock after an overlay delay is read again: the request is handled then.
    let mut handled_at = at;
    if let Some(delay) = faults.delay {
        tokio::time::sleep(delay).await;
        handled_at = SystemTime::now();
    }
    let (elasticsearch, truncate) = match faults.action {
        Some(FaultAction::HttpStatus(status)) => {
            let response = render::html_status(status);
            let code = response.status().as_u16();
            shared.journal.record(journal(
                params,
                canonical_name(),
                "fault:http_status".into(),
                code,
            ));
            return Answer::full(response);
        }
        Some(FaultAction::ConnectionReset) => {
            shared.journal.record(journal(
                params,
                canonical_name(),
                "fault:connection_reset".into(),
                0,
            ));
            return Answer {
                response: Response::new(Bytes::new()),
                delivery: Delivery::Reset,
            };
        }
        Some(FaultAction::Elasticsearch) => (true, None),
        Some(FaultAction::Truncate(n)) => (false, Some(n)),
        None => (false, None),
    };
    let d = dispatch::dispatch_found(
        shared,
        verb,
        name,
        found,
        &params,
        elasticsearch,
        dispatch::Arrival {
            client,
            at: handled_at,
        },
    );
    let outcome = match truncate {
        Some(_) => Cow::Borrowed(FaultAction::Truncate(0).label()),
        None => d.outcome,
    };
    let status = d.response.status().as_u16();
    let mut entry = journal(params, d.method, outcome, status);
    entry.answer = d.answer;
    shared.journal.record(entry);
    Answer {
        response: d.response,
        delivery: truncate.map_or(Delivery::Full, Delivery::Truncate),
    }
}

/// The response body type on the wire: the edge's body, or one cut short with an error.
#[derive(Debug)]
pub enum WireBody<B = EdgeBody> {
    /// The edge's body, whole.
    Whole(B),
    /// These bytes, then a failed stream (overlay fault `truncate`).
    Cut(Option<Bytes>),
}

impl<B> Body for WireBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        match self.get_mut() {
            WireBody::Whole(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            WireBody::Cut(data) => {
                if let Some(d) = data.take().filter(|d| !d.is_empty()) {
                    return Poll::Ready(Some(Ok(Frame::data(d))));
                }
                Poll::Ready(Some(Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "overlay fault: truncated body",
                )))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            WireBody::Whole(b) => b.is_end_stream(),
            WireBody::Cut(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            WireBody::Whole(b) => b.size_hint(),
            // Unknown: hyper then keeps the announced Content-Length.
            WireBody::Cut(_) => SizeHint::default(),
        }
    }
}

/// How an edge response leaves: now (whole, or as a dropped connection: an `Err` makes hyper
/// close it), or cut short once its body is collected ([`truncated`]).
enum Wire<B> {
    Now(Result<Response<WireBody<B>>, std::io::Error>),
    Cut(Response<B>, usize),
}

/// What hyper is to send for an edge response.
fn to_wire<B>(response: Response<B>) -> Wire<B> {
    match delivery_of(&response) {
        Delivery::Full => Wire::Now(Ok(response.map(WireBody::Whole))),
        Delivery::Reset => Wire::Now(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "overlay fault: connection reset",
        ))),
        Delivery::Truncate(n) => Wire::Cut(response, n),
    }
}

/// The response's full Content-Length announced, its first `n` body bytes, then a failed body.
async fn truncated<B>(response: Response<B>, n: usize) -> Response<WireBody<B>>
where
    B: Body<Data = Bytes> + Unpin,
{
    let (mut parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let kept = body.slice(..n.min(body.len()));
    Response::from_parts(parts, WireBody::Cut(Some(kept)))
}

/// One request from hyper through the router, its delivery applied. A future written out
/// rather than an async fn: the edge's future is polled where the request's future holds it
/// (an async fn moved it once more, into its pinned local), and a truncated answer's
/// collection is boxed, not part of every request's future (600 bytes), which hyper moves into
/// place for each request.
struct Serve {
    /// The edge's answer (see [`call_edge`]), polled with the peer's address in [`CLIENT_IP`].
    pending: EdgeCall,
    shared: Arc<Shared>,
    /// Told when the request is answered (see `head_deadline`).
    clock: Arc<HeadClock>,
    client: std::net::IpAddr,
    /// For [`finish`].
    asked: Asked,
    /// The answer cut short (overlay fault `truncate`), once its body is being collected.
    cut: Option<Pin<Box<dyn Future<Output = Response<WireBody>> + Send>>>,
}

impl Future for Serve {
    type Output = Result<Response<WireBody>, std::io::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(cut) = &mut this.cut {
            let response = std::task::ready!(cut.as_mut().poll(cx));
            this.clock.answered();
            return Poll::Ready(Ok(response));
        }
        let answered = {
            let _client = ClientScope::enter(this.client);
            Pin::new(&mut this.pending).poll(cx)
        };
        let mut response = match std::task::ready!(answered) {
            Ok(r) => r,
            Err(never) => match never {},
        };
        finish(&this.shared, &this.asked, &mut response);
        match to_wire(response) {
            Wire::Now(sent) => {
                this.clock.answered();
                Poll::Ready(sent)
            }
            Wire::Cut(response, n) => {
                this.cut = Some(Box::pin(truncated(response, n)));
                Pin::new(this).poll(cx)
            }
        }
    }
}

/// The future of the edge's answer to a request from hyper: called in place, or (never, with
/// the edge's layers) once the edge is ready.
type EdgeCall = futures_util::future::Either<
    <EdgeService as tower::Service<Request<Incoming>>>::Future,
    Pin<Box<tower::util::Oneshot<EdgeService, Request<Incoming>>>>,
>;

/// The edge's answer to one request from hyper. The edge is always ready (the router and its
/// layers hold no capacity), so it is called in place: `oneshot` would hold a copy of the
/// service and the request in every request's future (callgrind: ~300 instructions of copies).
/// It is the connection's own edge, borrowed, not a clone per request (a clone holds the
/// router twice, for the API's body limit and the others': two reference counts up and down).
fn call_edge(edge: &mut EdgeService, mut req: Request<Incoming>) -> EdgeCall {
    use tower::Service as _;
    take_spare_extensions(&mut req);
    let ready = tower::Service::<Request<Incoming>>::poll_ready(
        edge,
        &mut Context::from_waker(std::task::Waker::noop()),
    );
    match ready {
        Poll::Ready(Ok(())) => futures_util::future::Either::Left(edge.call(req)),
        // Not reached with the layers the edge has; a service that waits is waited for.
        _ => futures_util::future::Either::Right(Box::pin(edge.clone().oneshot(req))),
    }
}

/// Serve `shared` on `listener` until `shutdown` resolves, then let requests in flight finish
/// (up to a few seconds).
pub async fn run(listener: TcpListener, shared: Arc<Shared>, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    let limits = shared.limits;
    let mut builder = http1::Builder::new();
    // The head's deadline is kept by `HeadDeadline` on the connection's IO, not by hyper's
    // per-request timer (see `head_deadline`).
    builder.keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        // The router, fetched once per connection. hyper calls the connection's service one
        // request at a time, and the edge's future does not borrow it: the cell is never
        // borrowed twice.
        let edge = std::cell::RefCell::new(shared.edge());
        let clock = HeadClock::new();
        let io = HeadDeadline::new(TokioIo::new(stream), clock.clone(), limits.header_timeout);
        let svc = service_fn(move |req: Request<Incoming>| {
            clock.request_started();
            let asked = asked(&req);
            let pending = call_edge(&mut edge.borrow_mut(), req);
            Serve {
                pending,
                shared: shared.clone(),
                clock: clock.clone(),
                client: peer.ip(),
                asked,
                cut: None,
            }
        });
        let conn = builder.serve_connection(io, svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still in flight after the grace period; closing");
        }
    }
}

/// A running mock: bound, serving, stopped by [`MockServer::shutdown`] (or when dropped).
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Build the state from `config`, bind `config.bind` and start serving on the current tokio
    /// runtime. The socket accepts connections when this returns.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), mock_server::config::ConfigError> {
    /// use mock_server::{MockConfig, MockServer};
    /// let server = MockServer::start(MockConfig::new(model::Product::M4)).await?;
    /// println!("{}", server.url()); // http://127.0.0.1:PORT
    /// server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(config: MockConfig) -> Result<MockServer, ConfigError> {
        let addr = config.bind;
        let shared = Arc::new(Shared::new(config)?);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ConfigError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ConfigError::Bind { addr, source })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, shared.clone(), async move {
            // A dropped sender counts as a stop too.
            let _ = stopped.await;
        }));
        Ok(MockServer {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state (journal, live world, settings).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stop accepting, let requests in flight finish, and wait for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::catalogue::HttpVerb;

    #[tokio::test]
    async fn a_truncated_answer_announces_the_full_length() {
        let answer = Answer {
            response: Response::new(Bytes::from_static(b"0123456789")),
            delivery: Delivery::Truncate(4),
        };
        let Wire::Cut(response, n) = to_wire(into_router_response(answer)) else {
            panic!("a cut");
        };
        let r = truncated(response, n).await;
        assert_eq!(r.headers()[CONTENT_LENGTH], "10");
        assert!(!r.body().is_end_stream());
        let mut body = r.into_body();
        let first = body.frame().await.expect("a frame").expect("data");
        assert_eq!(first.into_data().ok(), Some(Bytes::from_static(b"0123")));
        assert!(body.frame().await.expect("a frame").is_err());
    }

    #[tokio::test]
    async fn a_reset_answer_is_an_error_for_hyper() {
        let answer = Answer {
            response: Response::new(Bytes::new()),
            delivery: Delivery::Reset,
        };
        assert!(matches!(
            to_wire(into_router_response(answer)),
            Wire::Now(Err(_))
        ));
    }

    #[tokio::test]
    async fn the_router_tells_api_admin_and_other_paths_apart() {
        let shared = Arc::new(
            Shared::new(MockConfig::new(model::Product::M4)).unwrap_or_else(|e| panic!("{e}")),
        );
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_static("127.0.0.1"));
        let status = |path: &'static str| {
            let shared = shared.clone();
            let headers = headers.clone();
            async move {
                let uri = Uri::from_static(path);
                let a = handle(&shared, Method::POST, &uri, &headers, Bytes::new()).await;
                (
                    a.response.status().as_u16(),
                    a.response.headers().get(CONTENT_TYPE).cloned(),
                )
            }
        };
        let xml = Some(HeaderValue::from_static(render::XML));
        let text = Some(HeaderValue::from_static(render::TEXT));
        assert_eq!(
            status("/billing/api/quickstats_get").await,
            (200, xml.clone())
        );
        assert_eq!(status("/billing/api/quickstats_get/").await, (200, xml));
        for other in [
            "/billing/api/",
            "/billing/api/a/b",
            "/billing/api//",
            "/",
            "/__admin",
        ] {
            assert_eq!(status(other).await, (404, text.clone()), "{other}");
        }
        let json = Some(HeaderValue::from_static("application/json"));
        assert_eq!(status("/__admin/").await, (404, json.clone()));
        assert_eq!(status("/__admin/health/x").await, (404, json.clone()));
        assert_eq!(status("/__admin/health").await, (405, json.clone()));
        let outcomes: Vec<String> = shared
            .journal
            .entries()
            .into_iter()
            .map(|e| e.outcome.into_owned())
            .collect();
        assert_eq!(
            outcomes.iter().filter(|o| *o == "not found").count(),
            5,
            "{outcomes:?}"
        );
    }

    #[test]
    fn a_request_gets_the_spare_extensions_emptied_and_keeps_its_own() {
        let mut answered = http::Extensions::new();
        answered.insert(7_u32);
        recycle_extensions(answered);
        let mut own = Request::new(());
        own.extensions_mut().insert("own");
        take_spare_extensions(&mut own);
        assert_eq!(own.extensions().get::<&str>(), Some(&"own"));
        let mut bare = Request::new(());
        take_spare_extensions(&mut bare);
        assert!(bare.extensions().get::<u32>().is_none());
        // The spare went to the request that brought none.
        assert!(SPARE_EXTENSIONS.take().is_none());
    }

    #[test]
    fn verbs_other_than_get_count_as_post() {
        assert_eq!(router::verb_of(&Method::PUT), HttpVerb::Post);
        assert_eq!(router::verb_of(&Method::GET), HttpVerb::Get);
    }
}
