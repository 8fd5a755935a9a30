//! The HTTPS server: TLS, HTTP/1.1 and HTTP/2, the routes, and the way every request is
//! bounded (body size, read time, evaluation deadline).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use paved::{AdmissionRequest, Decision};
use serde_json::Value;
use tokio::sync::watch;

use crate::bounds::Activity;
use crate::metrics::Answer;
use crate::State;

/// What an answer needs to travel back before the API server's own timeout.
const MARGIN: Duration = Duration::from_millis(500);

type Body = Full<Bytes>;

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<State>,
    mut stopped: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let limits = &state.limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(limits.read_timeout)
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(MAX_HEADERS);
    let builder = Arc::new(builder);
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, rather than spin.
                    tracing::warn!(error = %e, "accept");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let Ok(open) = Arc::clone(&connections).try_acquire_owned() else {
            state.metrics.reject("connections");
            tracing::warn!(%peer, max = limits.max_connections, "connection refused: too many open");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, state, builder) = (acceptor.clone(), Arc::clone(&state), Arc::clone(&builder));
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _open = open;
            let stream = match tokio::time::timeout(state.limits.read_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            let activity = Activity::new();
            let service = {
                let (state, activity) = (Arc::clone(&state), Arc::clone(&activity));
                hyper::service::service_fn(move |req| {
                    let busy = activity.begin();
                    let state = Arc::clone(&state);
                    async move {
                        let answer = handle(state, req).await;
                        drop(busy);
                        answer
                    }
                })
            };
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                done = watcher.watch(conn.into_owned()) => if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection");
                },
                () = activity.idle(&state.limits) => tracing::debug!(%peer, "idle connection closed"),
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("drained"),
        () = tokio::time::sleep(limits.drain) => {
            tracing::warn!("requests still in flight after the drain time: their evaluations are stopped");
            state.running.stop_all();
        }
    }
}

/// The most streams an HTTP/2 connection may have open, and the largest header block it may
/// send.
const MAX_STREAMS: u32 = 64;
const MAX_HEADERS: u32 = 64 << 10;

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(match (req.method(), req.uri().path()) {
        (&Method::POST, "/validate") => admit(&state, req, Endpoint::Validate).await,
        (&Method::POST, "/mutate") => admit(&state, req, Endpoint::Mutate).await,
        (_, "/validate" | "/mutate") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "POST an admission.k8s.io/v1 AdmissionReview")
        }
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok"),
        (&Method::GET, "/readyz") => match state.not_ready() {
            None => text(StatusCode::OK, "ready"),
            Some(why) => text(StatusCode::SERVICE_UNAVAILABLE, &format!("not ready: {why}")),
        },
        (&Method::GET, "/metrics") => metrics(&state),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: paved serves POST /validate and /mutate, /healthz, /readyz and /metrics",
        ),
    })
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

fn json_response(value: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(serde_json::to_vec(value).unwrap_or_default())));
    r.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    r
}

/// A request refused before judging: counted, logged, answered with `status`.
fn reject(state: &State, status: StatusCode, cause: &str, why: &str) -> Response<Body> {
    state.metrics.reject(cause);
    tracing::warn!(cause, reason = why, "request refused");
    text(status, why)
}

fn metrics(state: &State) -> Response<Body> {
    let loaded = state.current();
    state.metrics.exceptions.clear();
    for e in loaded.engine.exceptions(jiff::Timestamp::now()) {
        let status = e.status.as_str().to_owned();
        state.metrics.exceptions.get_or_create(&crate::metrics::Status { status }).inc();
    }
    let mut r = text(StatusCode::OK, state.metrics.encode().trim_end());
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// What an admission request asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `/validate`: the verdict (the mutations run first, as everywhere, on the object given).
    Validate,
    /// `/mutate`: the mutations, as a JSON Patch.
    Mutate,
}

async fn admit(state: &Arc<State>, req: Request<Incoming>, endpoint: Endpoint) -> Response<Body> {
    let (review, deadline, start) = match read_review(state, req).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let request = match AdmissionRequest::read(review) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            let Some(denial) = e.denial() else {
                return reject(state, StatusCode::BAD_REQUEST, "not-admission-review", &e.to_string());
            };
            state.metrics.reject("not-admission-review");
            let logged = Logged { uid: e.uid.as_deref().unwrap_or_default(), ..Logged::default() };
            record(state, &logged, Decision::Deny, &e.reason, start.elapsed());
            return json_response(&denial);
        }
    };
    let loaded = state.current();
    let unjudged = |reason: &str, cause: &str| {
        tracing::error!(reason, "request not judged");
        state.metrics.error(cause);
        loaded.engine.admit_unjudged(&request, reason)
    };
    let budget = paved::Budget::new();
    let Some(ticket) = state.running.enter(&budget) else {
        let reason = format!("the server is judging its most requests at once ({})", state.running.max);
        let (answer, decision) = unjudged(&reason, "overloaded");
        record(state, &Logged::of(&request), decision, &reason, start.elapsed());
        return json_response(&answer);
    };
    let ctx = state.context(&loaded, request.namespace()).budget(budget.clone());
    let judged = {
        let (loaded, request, images) = (Arc::clone(&loaded), Arc::clone(&request), state.images.clone());
        tokio::task::spawn_blocking(move || {
            let _ticket = ticket;
            let requests = loaded.engine.image_requests(std::slice::from_ref(request.resource()));
            let ctx = match images.filter(|_| !requests.is_empty()) {
                Some(verify) => ctx.images(verify(&requests)),
                None => ctx,
            };
            match endpoint {
                Endpoint::Validate => loaded.engine.admit_request(&request, &ctx),
                Endpoint::Mutate => loaded.engine.admit_mutation(&request, &ctx),
            }
        })
    };
    let (answer, decision) = match tokio::time::timeout(deadline, judged).await {
        Ok(Ok((answer, report))) => {
            for e in report.findings.iter().filter_map(|f| f.error.as_ref()) {
                state.metrics.error(e.kind.as_str());
            }
            if endpoint == Endpoint::Mutate {
                state.metrics.mutated(&report);
            }
            (answer, report.decision)
        }
        Ok(Err(panic)) => unjudged(&format!("an internal error: {panic}"), "internal"),
        Err(_) => {
            budget.stop();
            unjudged(&format!("the evaluation did not finish within its deadline of {deadline:?}"), "deadline")
        }
    };
    let reason = answer.pointer("/response/status/message").and_then(Value::as_str).unwrap_or_default();
    record(state, &Logged::of(&request), decision, reason, start.elapsed());
    json_response(&answer)
}

/// The AdmissionReview of a request, as JSON, the deadline its caller gave and when reading it
/// as JSON started (the latency metric's start); or the answer that refuses it (too large, too
/// slow, not JSON).
async fn read_review(state: &State, req: Request<Incoming>) -> Result<(Value, Duration, Instant), Response<Body>> {
    let declared =
        req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.max_body) {
        return Err(reject(state, StatusCode::PAYLOAD_TOO_LARGE, "too-large", &too_large(state.max_body)));
    }
    let json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let deadline = deadline(req.uri().query(), state.deadline);
    let read = Limited::new(req.into_body(), state.max_body).collect();
    let body = match tokio::time::timeout(state.limits.read_timeout, read).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(reject(state, StatusCode::PAYLOAD_TOO_LARGE, "too-large", &too_large(state.max_body)))
        }
        Ok(Err(e)) => {
            let why = format!("cannot read the body: {e}");
            return Err(reject(state, StatusCode::BAD_REQUEST, "unreadable-request", &why));
        }
        Err(_) => {
            let why = "the body did not arrive in time";
            return Err(reject(state, StatusCode::REQUEST_TIMEOUT, "unreadable-request", why));
        }
    };
    // Refused after the body is read, so the connection stays usable.
    if !json {
        let why = "an AdmissionReview is sent as Content-Type: application/json";
        return Err(reject(state, StatusCode::UNSUPPORTED_MEDIA_TYPE, "content-type", why));
    }
    let start = Instant::now();
    match serde_json::from_slice(&body) {
        Ok(review) => Ok((review, deadline, start)),
        Err(e) => Err(reject(state, StatusCode::BAD_REQUEST, "malformed", &format!("the body is not JSON: {e}"))),
    }
}

/// What an answer is logged and counted by.
#[derive(Default)]
struct Logged<'a> {
    uid: &'a str,
    operation: &'a str,
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
}

impl<'a> Logged<'a> {
    fn of(request: &'a AdmissionRequest) -> Self {
        Logged {
            uid: request.uid(),
            operation: request.operation().as_str(),
            kind: request.kind(),
            namespace: request.namespace(),
            name: request.name(),
        }
    }
}

/// Counts and logs an answer: its decision by operation and kind, and its latency.
fn record(state: &State, logged: &Logged<'_>, decision: Decision, reason: &str, elapsed: Duration) {
    state.metrics.latency.observe(elapsed.as_secs_f64());
    let Logged { uid, operation, kind, namespace, name } = *logged;
    let answer = Answer { decision: decision.as_str().into(), operation: operation.to_owned(), kind: kind.to_owned() };
    state.metrics.answers.get_or_create(&answer).inc();
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let decision = decision.as_str();
    // Denials and warnings are news, up to a rate (the rest are counted in one line a second);
    // allowed requests are logged at debug level.
    macro_rules! log {
        ($level:expr) => {
            tracing::event!($level, uid, operation, kind, namespace, name, decision, reason, micros, "admission")
        };
    }
    if decision == "allow" {
        log!(tracing::Level::DEBUG);
    } else if state.lines.take() {
        log!(tracing::Level::INFO);
    }
}

fn too_large(max: usize) -> String {
    format!("the body is larger than {max} bytes (--max-body)")
}

/// The time an evaluation may take: the cap, or less when the API server says (its
/// `?timeout=10s`, from the webhook configuration's `timeoutSeconds`) leaves less, keeping a
/// margin for the answer's way back.
pub(crate) fn deadline(query: Option<&str>, cap: Duration) -> Duration {
    let asked = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("timeout="))
        .and_then(parse_duration);
    match asked {
        Some(t) => cap.min(t.saturating_sub(MARGIN).max(t / 2)),
        None => cap,
    }
}

/// A Go duration as the API server writes it: `10s`, `1m30s`, `500ms`, `2.5s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (number, tail) = rest.split_at(digits);
        let number: f64 = number.parse().ok()?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_is_the_cap_or_the_api_servers_timeout_less_a_margin() {
        let cap = Duration::from_secs(9);
        assert_eq!(deadline(None, cap), cap);
        assert_eq!(deadline(Some("timeout=10s"), cap), cap);
        assert_eq!(deadline(Some("timeout=3s"), cap), Duration::from_millis(2500));
        assert_eq!(deadline(Some("x=1&timeout=1m30s"), cap), cap);
        assert_eq!(deadline(Some("timeout=600ms"), cap), Duration::from_millis(300));
        assert_eq!(deadline(Some("timeout=2.5s"), cap), Duration::from_secs(2));
        assert_eq!(deadline(Some("timeout=bogus"), cap), cap);
        assert_eq!(parse_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("5"), None);
    }
}
