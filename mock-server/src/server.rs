//! The network edge and the whole flow of one request.
//!
//! [`handle`] is the flow without sockets (in-process use, fuzzing): `router` -> `request` ->
//! `overlay` -> `dispatch` (-> `auth`, `methods`) -> `render` -> `journal`. [`run`] serves it
//! over HTTP/1.1 with keep-alive on a listener until a shutdown future resolves (mini-redis'
//! `server::run` shape), and [`MockServer`] is the handle tests and the runner hold.
//!
//! The server is hyper without a router framework because two overlay faults need the
//! connection itself: `connection_reset` closes it without an answer (the service returns an
//! error, so hyper drops the connection), `truncate` announces the full Content-Length and then
//! fails the body stream after N bytes (hyper aborts the connection mid-body).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::{ConfigError, MockConfig};
use crate::defect::Defect;
use crate::dispatch;
use crate::journal::Entry;
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

/// How an answer leaves the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The whole response.
    Full,
    /// Close the connection without answering (overlay fault `connection_reset`).
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

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Answer one request: the whole flow without sockets. Never panics; any input gets a
/// well-formed answer (API errors in the API's own vocabulary, plain 404 elsewhere).
///
/// In-process callers get admin work (scenario parsing, world building) done on their own
/// thread; the server moves it off the runtime (see `admin::handle`).
pub async fn handle(
    shared: &Shared,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Answer {
    flow(shared, None, None, method, uri, headers, body).await
}

async fn flow(
    shared: &Shared,
    owner: Option<&Arc<Shared>>,
    client: Option<std::net::IpAddr>,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Answer {
    let path = uri.path();
    match router::route(path) {
        Route::Admin(endpoint) => match crate::admin::guard(&shared.admin, &method, uri, headers) {
            Ok(()) => {
                Answer::full(crate::admin::handle(shared, owner, &method, endpoint, body).await)
            }
            Err(refusal) => {
                tracing::warn!(
                    status = refusal.status.as_u16(),
                    "admin request refused: {refusal}"
                );
                Answer::full(refusal.response())
            }
        },
        Route::NotFound => {
            let response = render::not_found();
            shared.journal.record(Entry {
                time_ms: now_ms(),
                verb: method.to_string(),
                path: path.to_string(),
                method: None,
                u: None,
                params: Vec::new(),
                outcome: "not found".into(),
                status: response.status().as_u16(),
            });
            Answer::full(response)
        }
        Route::Api(name) if shared.proxy.is_some() => {
            Answer::full(proxied(shared, method, uri, headers, body, name).await)
        }
        Route::Api(name) => {
            let mut answer = api(shared, client, method, uri, headers, &body, name).await;
            // A pinned clock is the server's time: its `Date` header says so (hyper's own would
            // tell the machine's), so a client reading the server's day gets the mock's.
            if let Clock::Pinned(t) = shared.read().clock {
                let at = UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
                if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at)) {
                    answer.response.headers_mut().insert(http::header::DATE, v);
                }
            }
            answer
        }
    }
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
    let verb = method.to_string();
    let cat = shared.methods();
    let (response, deviations) = proxy
        .exchange(
            cat, &quirks, today, method, uri, headers, body, &params, name,
        )
        .await;
    let outcome = if deviations.is_empty() {
        "proxied".to_string()
    } else {
        let list: Vec<String> = deviations
            .iter()
            .map(|d| format!("{}: {}", d.side.as_str(), d.what))
            .collect();
        format!("proxied; {}", list.join("; "))
    };
    shared.journal.record(Entry {
        time_ms: now_ms(),
        verb,
        path: uri.path().to_string(),
        method: cat.method(name).map(|m| m.name.clone()),
        u: params.get("u").map(str::to_string),
        params: Entry::redact(&params, cat.method(name)),
        outcome,
        status: response.status().as_u16(),
    });
    response
}

async fn api(
    shared: &Shared,
    client: Option<std::net::IpAddr>,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    name: &str,
) -> Answer {
    let verb = router::verb_of(&method);
    let json_body =
        shared.read().quirks.json_body && shared.defect != Some(Defect::JsonBodyIgnored);
    let mut parsed = request::parse(uri.query(), headers, body, json_body);
    if shared.defect == Some(Defect::FormBodyIgnored) && parsed.body == request::BodyKind::Form {
        parsed = request::parse(uri.query(), headers, &[], json_body);
    }
    let params = parsed.params;
    let cat = shared.methods();
    let (canned, faults) = {
        let live = shared.read();
        let canonical = router::resolve(cat, &live.quirks, name).map(|m| m.name.as_str());
        let probe = Probe {
            name,
            canonical,
            params: &params,
            verb,
        };
        if live.overlay.is_empty() {
            (None, Default::default())
        } else {
            let canned = live.overlay.canned(&probe);
            let faults = match canned {
                Some(_) => Default::default(),
                None => live.overlay.faults(&probe),
            };
            (canned, faults)
        }
    };
    let journal = |canonical: Option<String>, outcome: String, status: u16| Entry {
        time_ms: now_ms(),
        verb: method.to_string(),
        path: uri.path().to_string(),
        method: canonical,
        u: params.get("u").map(str::to_string),
        params: Entry::redact(&params, cat.method(name)),
        outcome,
        status,
    };
    let canonical_name = || cat.method(name).map(|m| m.name.clone());

    if let Some(c) = canned {
        let status = StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK);
        let mut response = Response::new(Bytes::from(c.body));
        *response.status_mut() = status;
        let ct = c.content_type.as_deref().unwrap_or(render::XML);
        let ct = HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static(render::XML));
        response.headers_mut().insert(CONTENT_TYPE, ct);
        shared
            .journal
            .record(journal(canonical_name(), "canned".into(), c.status));
        return Answer::full(response);
    }
    if let Some(delay) = faults.delay {
        tokio::time::sleep(delay).await;
    }
    let (elasticsearch, truncate) = match faults.action {
        Some(FaultAction::HttpStatus(status)) => {
            let response = render::html_status(status);
            let code = response.status().as_u16();
            shared
                .journal
                .record(journal(canonical_name(), "fault:http_status".into(), code));
            return Answer::full(response);
        }
        Some(FaultAction::ConnectionReset) => {
            shared.journal.record(journal(
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
    let d = dispatch::dispatch(shared, verb, name, &params, elasticsearch, client);
    let outcome = match truncate {
        Some(_) => FaultAction::Truncate(0).label().to_string(),
        None => d.outcome,
    };
    shared
        .journal
        .record(journal(d.method, outcome, d.response.status().as_u16()));
    Answer {
        response: d.response,
        delivery: truncate.map_or(Delivery::Full, Delivery::Truncate),
    }
}

/// The response body type on the wire: whole, or cut short with an error.
#[derive(Debug)]
pub struct WireBody {
    data: Option<Bytes>,
    fail_after: bool,
}

impl Body for WireBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(d) = self.data.take() {
            if !d.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(d))));
            }
        }
        if self.fail_after {
            self.fail_after = false;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "overlay fault: truncated body",
            ))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && !self.fail_after
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, self.fail_after) {
            (Some(d), false) => SizeHint::with_exact(d.len() as u64),
            (None, false) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// Turn an [`Answer`] into what hyper sends (an `Err` makes hyper close the connection).
fn to_wire(answer: Answer) -> Result<Response<WireBody>, std::io::Error> {
    let (mut parts, body) = answer.response.into_parts();
    match answer.delivery {
        Delivery::Full => Ok(Response::from_parts(
            parts,
            WireBody {
                data: Some(body),
                fail_after: false,
            },
        )),
        Delivery::Reset => Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "overlay fault: connection reset",
        )),
        Delivery::Truncate(n) => {
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            let kept = body.slice(..n.min(body.len()));
            Ok(Response::from_parts(
                parts,
                WireBody {
                    data: Some(kept),
                    fail_after: true,
                },
            ))
        }
    }
}

/// An HTML error page that also closes the connection (the rest of the body is not read).
fn refuse_body(
    shared: &Shared,
    parts: &http::request::Parts,
    status: u16,
    outcome: &str,
) -> Response<WireBody> {
    let response = render::html_status(status);
    shared.journal.record(Entry {
        time_ms: now_ms(),
        verb: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        method: None,
        u: None,
        params: Vec::new(),
        outcome: outcome.to_string(),
        status,
    });
    let (head, body) = with_close(response).into_parts();
    Response::from_parts(
        head,
        WireBody {
            data: Some(body),
            fail_after: false,
        },
    )
}

/// The response with `Connection: close` (its request's body is left unread).
fn with_close(mut response: Response<Bytes>) -> Response<Bytes> {
    response
        .headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn serve(
    shared: Arc<Shared>,
    client: std::net::IpAddr,
    req: Request<Incoming>,
) -> Result<Response<WireBody>, std::io::Error> {
    let limits = shared.limits;
    let (parts, body) = req.into_parts();
    // The admin API decides who may ask before any body is read; its bodies (scenario worlds)
    // may be larger than an API request's.
    let max_body = match router::route(parts.uri.path()) {
        Route::Admin(_) => {
            if let Err(refusal) =
                crate::admin::guard(&shared.admin, &parts.method, &parts.uri, &parts.headers)
            {
                tracing::warn!(
                    status = refusal.status.as_u16(),
                    "admin request refused: {refusal}"
                );
                return to_wire(Answer::full(with_close(refusal.response())));
            }
            limits.max_admin_body
        }
        _ => limits.max_body,
    };
    let announced = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > max_body as u64) {
        tracing::info!(
            bytes = announced.unwrap_or(0),
            limit = max_body,
            "request body over the limit; answered 413"
        );
        return Ok(refuse_body(&shared, &parts, 413, "body too large"));
    }
    let read = Limited::new(body, max_body).collect();
    let body = match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            tracing::info!(
                limit = max_body,
                "request body over the limit; answered 413"
            );
            return Ok(refuse_body(&shared, &parts, 413, "body too large"));
        }
        Ok(Err(e)) => {
            // The client broke the body off: nobody is left to answer.
            tracing::info!(error = %e, "request body not read; connection closed");
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request body not read",
            ));
        }
        Err(_) => {
            tracing::info!(
                timeout_ms = limits.body_timeout.as_millis() as u64,
                "request body not complete in time; answered 408"
            );
            return Ok(refuse_body(&shared, &parts, 408, "body timeout"));
        }
    };
    let answer = flow(
        &shared,
        Some(&shared),
        Some(client),
        parts.method,
        &parts.uri,
        &parts.headers,
        body,
    )
    .await;
    to_wire(answer)
}

/// Serve `shared` on `listener` until `shutdown` resolves, then let requests in flight finish
/// (up to a few seconds).
pub async fn run(listener: TcpListener, shared: Arc<Shared>, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
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
        let limits = shared.limits;
        let shared = shared.clone();
        let client = peer.ip();
        let svc = service_fn(move |req| serve(shared.clone(), client, req));
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), svc);
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

    #[test]
    fn a_truncated_answer_announces_the_full_length() {
        let answer = Answer {
            response: Response::new(Bytes::from_static(b"0123456789")),
            delivery: Delivery::Truncate(4),
        };
        let r = to_wire(answer).expect("a response");
        assert_eq!(r.headers()[CONTENT_LENGTH], "10");
        assert!(!r.body().is_end_stream());
    }

    #[test]
    fn a_reset_answer_is_an_error_for_hyper() {
        let answer = Answer {
            response: Response::new(Bytes::new()),
            delivery: Delivery::Reset,
        };
        assert!(to_wire(answer).is_err());
    }

    #[test]
    fn verbs_other_than_get_count_as_post() {
        assert_eq!(router::verb_of(&Method::PUT), HttpVerb::Post);
        assert_eq!(router::verb_of(&Method::GET), HttpVerb::Get);
    }
}
