//! `--serve ADDR`: the stream as a Prometheus exporter. A small HTTP server on the run's
//! runtime answers from the [`Board`] the stream's consumer keeps, so a scrape costs no request
//! to Binance and takes well under a millisecond:
//!
//! - `GET /metrics`: every symbol's latest value and its age, the gaps reconnects left, the
//!   stream's and the process's counters; OpenMetrics text when the scraper asks for
//!   `application/openmetrics-text` (Prometheus does), the classic text format otherwise;
//! - `GET /healthz`: 200 while a value arrived within `--stale`, 503 once none did (every link
//!   is stale, or reconnecting);
//! - `GET /`: a tiny page naming the two.
//!
//! It binds loopback unless told otherwise (and says so when it is). When the run ends (a
//! signal, `--count`, `--until`), the server stops taking connections and finishes the scrapes
//! in progress, for at most a second.
//!
//! **Under abuse** (any local user, or anyone who can reach a non-loopback address, can open
//! connections): a connection has [`HEADER_TIMEOUT`] to send a request's headers, and as long
//! between requests on a kept-alive connection, then it is closed; at most [`MAX_CONNECTIONS`]
//! are open at once, and a new one beyond that closes the oldest (the one holding its place
//! longest, never a scrape in progress in practice: a scrape takes well under a millisecond).
//! So a scraper always gets in, memory is bounded by the cap, and a slow client costs a
//! descriptor for a few seconds at most.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::board::Board;
use crate::error::UsageError;
use crate::output::metrics::{CLASSIC_TYPE, OPENMETRICS_TYPE, exposition};

/// How long a connection may take to send a request's headers, or wait between requests.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections open at once; a new one beyond it closes the oldest.
pub(crate) const MAX_CONNECTIONS: usize = 256;

/// A running exporter.
pub(crate) struct Server {
    /// Where it listens (the port chosen, if 0 was asked).
    pub(crate) addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Binds `addr` and serves `board` until [`Server::shut_down`]. Binding fails as a usage error
/// (exit 2): the address is the user's to change.
pub(crate) async fn start(addr: SocketAddr, board: Arc<Board>) -> anyhow::Result<Server> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        UsageError(format!(
            "--serve: cannot listen on {addr}: {}",
            crate::error::io_reason(&e)
        ))
    })?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "--serve {addr} is not a loopback address: anyone who can reach this machine on \
             port {} can read /metrics",
            addr.port()
        );
    }
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/", get(index))
        .with_state(board);
    let stop = CancellationToken::new();
    let task = tokio::spawn(accept(listener, app, stop.clone()));
    Ok(Server { addr, stop, task })
}

/// The open connections, oldest first: an id and what closes it.
#[derive(Default)]
struct Open {
    next: u64,
    list: VecDeque<(u64, CancellationToken)>,
}

/// Takes connections until `stop`, each served on a task of its own (see the module's docs).
async fn accept(listener: tokio::net::TcpListener, app: axum::Router, stop: CancellationToken) {
    let open = Arc::new(Mutex::new(Open::default()));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, or a connection reset before it was taken: go on.
                Err(e) => {
                    tracing::debug!("--serve: a connection was not taken: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            Some(_) = tasks.join_next() => continue,
        };
        let (id, close) = {
            let mut open = open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if open.list.len() >= MAX_CONNECTIONS
                && let Some((_, oldest)) = open.list.pop_front()
            {
                oldest.cancel();
            }
            open.next += 1;
            let close = CancellationToken::new();
            let id = open.next;
            open.list.push_back((id, close.clone()));
            (id, close)
        };
        let (app, open, stop) = (app.clone(), Arc::clone(&open), stop.clone());
        tasks.spawn(async move {
            serve_one(stream, app, close, stop).await;
            let mut open = open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            open.list.retain(|(other, _)| *other != id);
            if open.list.is_empty() && open.next >= MAX_CONNECTIONS as u64 {
                give_back_memory();
            }
        });
    }
    // Let the scrapes in progress finish (the caller waits at most a second).
    while tasks.join_next().await.is_some() {}
}

/// Returns the heap's free pages to the system once the last connection of a burst has
/// closed: glibc keeps what 256 connections' buffers used (4-5 MiB) otherwise, and an exporter
/// is a long-lived process.
#[allow(unsafe_code, reason = "malloc_trim: see SAFETY")]
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps and arenas; it
    // touches no memory in use and is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// One connection: HTTP/1.1 with the header timeout, until it ends, a newer connection needs
/// its place (`evict`: closed at once), or the run ends (`stop`: a request in progress ends
/// first).
async fn serve_one(
    stream: tokio::net::TcpStream,
    app: axum::Router,
    evict: CancellationToken,
    stop: CancellationToken,
) {
    let service = hyper_util::service::TowerToHyperService::new(app);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = evict.cancelled() => {}
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

impl Server {
    /// Stops taking connections and lets the scrapes in progress finish, for at most a second.
    pub(crate) async fn shut_down(self) {
        self.stop.cancel();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(1), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Whether the scraper takes OpenMetrics text (Prometheus asks for it first).
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut fields = part.split(';').map(str::trim);
            let is_om = fields
                .next()
                .is_some_and(|t| t.eq_ignore_ascii_case("application/openmetrics-text"));
            // `q=0` means "not this one".
            let refused = fields.any(|f| {
                f.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            is_om && !refused
        })
}

async fn metrics(State(board): State<Arc<Board>>, headers: HeaderMap) -> Response {
    let om = wants_openmetrics(&headers);
    let body = exposition(&board, om);
    board.scraped();
    let kind = if om { OPENMETRICS_TYPE } else { CLASSIC_TYPE };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn healthz(State(board): State<Arc<Board>>) -> Response {
    match board.fresh() {
        Ok(()) => (StatusCode::OK, "ok\n".to_owned()).into_response(),
        Err(since) => {
            let why = match since {
                Some(age) => format!(
                    "stale: no value for {} (--stale {})\n",
                    crate::text::duration(age.as_secs_f64()),
                    crate::text::span(board.stale)
                ),
                None => "stale: no value yet\n".to_owned(),
            };
            (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
        }
    }
}

async fn index() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><title>pricefetch exporter</title><h1>pricefetch exporter</h1>\n\
         <p><a href=\"/metrics\">/metrics</a>: the latest Binance prices and the stream's counters \
         (OpenMetrics or Prometheus text).</p>\n\
         <p><a href=\"/healthz\">/healthz</a>: 200 while prices arrive, 503 when the stream is stale.</p>\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_only_when_asked_for() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, accept.parse().unwrap());
            wants_openmetrics(&h)
        };
        // What Prometheus 2.x/3.x sends.
        assert!(with(
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"
        ));
        assert!(!with("text/plain;version=0.0.4"));
        assert!(!with("application/openmetrics-text;q=0,text/plain"));
        assert!(!wants_openmetrics(&HeaderMap::new()));
    }
}
