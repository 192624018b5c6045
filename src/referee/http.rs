//! The referee's HTTP service: hyper (HTTP/1.1) on a tokio runtime of its
//! own, with every request bounded so that no client, however hostile,
//! can stop the service or delay another client's answer.
//!
//! - **Headers**: at most [`Limits::max_header_bytes`] bytes and
//!   [`Limits::max_headers`] lines (hyper answers 431 and closes).
//! - **Fair shares** ([`shares`]): connections, computing requests,
//!   transcript streams and bytes of bodies are counted in all, per client
//!   address and per network (IPv4 /24, IPv6 /64), each within its share;
//!   computing slots and body bytes keep a reserve for moves and players'
//!   reads, so that a player whose turn it is can always see the game and
//!   move.
//! - **Bodies**: counted against the budget as their bytes arrive; a
//!   `Content-Length` over the endpoint's cap is answered 413 with
//!   `Connection: close` before a byte of the body is read; a body must
//!   arrive within [`Limits::body_timeout`] and, after its first second, at
//!   [`Limits::min_body_rate`] at least (408 otherwise).
//! - **Connections**: at most [`Limits::max_connections`] in total,
//!   [`Limits::max_per_client`] per address and [`Limits::max_per_prefix`]
//!   per network; when all are taken, the network holding the most gives
//!   its oldest up to a newcomer from a smaller one. A connection with no
//!   request running and no byte moving for [`Limits::idle_timeout`] is
//!   closed (idle keep-alives, half-open sockets, clients that stop reading
//!   their answer).
//! - **Work**: requests that compute (creating a game, a move, a page) run
//!   on a bounded pool of blocking threads within their shares (503
//!   beyond), and give their slot back before their answer is written; a
//!   transcript is streamed by a task that holds no computing slot and
//!   gives up after [`Limits::write_timeout`] without a read; a long-poll
//!   waits without a thread and ends when its client hangs up (hyper drops
//!   the request's future on EOF); `/health` takes no slot.
//! - **Panics**: a handler that panics is answered 500; its counters are
//!   released by guards, and the accept loop never waits on a handler.

use crate::referee::{Referee, RefereeError, error_body};
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use super::config::Limits;
use super::shares;
use shares::{Over, Share, Taken, Tally};

impl Referee {
    /// Serves HTTP on `addr` (e.g. `127.0.0.1:0`) with the configured
    /// limits until [`Server::stop`]; returns at once with the bound address.
    pub fn serve(&self, addr: &str) -> Result<Server, RefereeError> {
        serve(self, addr, self.shared.config.limits.clone())
    }
}

/// Counters of the service, for `/health` and tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections open now.
    pub connections: AtomicUsize,
    /// Connections refused (over a connection cap).
    pub refused_connections: AtomicU64,
    /// Connections closed for idleness.
    pub idle_closed: AtomicU64,
    /// Requests computing now.
    pub busy: AtomicUsize,
    /// Long-polls waiting now.
    pub polls: AtomicUsize,
    /// Requests answered.
    pub answered: AtomicU64,
    /// Handlers that panicked.
    pub panics: AtomicU64,
    /// Bytes of request bodies reserved now.
    pub body_bytes: AtomicUsize,
    /// Connections closed to make room for another network's.
    pub evicted: AtomicU64,
    /// Bodies dropped for arriving too slowly.
    pub slow_bodies: AtomicU64,
    /// Streamed answers running now.
    pub streams: AtomicUsize,
}

/// Decrements a counter when dropped (so a panic or a cancelled future
/// cannot leak a slot).
struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn take(c: &'a AtomicUsize) -> Held<'a> {
        c.fetch_add(1, Ordering::SeqCst);
        Held(c)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Service {
    referee: Referee,
    limits: Limits,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    /// Open connections, by address and network.
    conns: Arc<Tally>,
    /// Requests computing, by address and network.
    busy: Arc<Tally>,
    /// Streamed answers (transcripts) being written.
    streams: Arc<Tally>,
    /// Bytes of bodies received and not yet answered.
    bodies: Arc<Tally>,
    /// Open connections by number: their address and the signal that
    /// closes them (to make room for another network's).
    registry: Mutex<HashMap<u64, (IpAddr, Arc<tokio::sync::Notify>)>>,
    next_conn: AtomicU64,
    /// When the service started (activity times are offsets from it).
    epoch: Instant,
}

impl Service {
    fn new(referee: Referee, limits: Limits, stats: Arc<Stats>, stop: Arc<AtomicBool>) -> Service {
        let l = &limits;
        let busy = l.max_busy.max(1);
        let create = referee.max_create_body();
        Service {
            conns: Tally::new(Share {
                total: l.max_connections,
                per_address: l.max_per_client,
                per_prefix: l.max_per_prefix.max(l.max_per_client),
            }),
            busy: Tally::new(Share {
                total: busy,
                per_address: (busy / 8).max(1),
                per_prefix: (busy / 4).max(1),
            }),
            streams: Tally::new(Share {
                total: (busy / 2).max(1),
                per_address: 2,
                per_prefix: 4,
            }),
            bodies: Tally::new(Share {
                total: l.body_budget,
                per_address: create.max(l.body_budget / 8),
                per_prefix: create.max(l.body_budget / 4),
            }),
            registry: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            epoch: Instant::now(),
            referee,
            limits,
            stats,
            stop,
        }
    }
}

/// A body's share of the budget, counted in [`Stats::body_bytes`] too.
struct BodyHeld {
    taken: Taken,
    stats: Arc<Stats>,
}

impl Drop for BodyHeld {
    fn drop(&mut self) {
        self.stats
            .body_bytes
            .fetch_sub(self.taken.amount(), Ordering::SeqCst);
    }
}

/// What a request needs, for the shares: a move keeps a reserve of the
/// busy slots and of the body budget that nothing else may take, so that a
/// player whose turn it is can always move.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Move,
    Other,
}

/// Moves, and what players read to make them (a claim's event feed, a
/// dispute's view), may use the reserve.
fn kind(method: &Method, path: &str) -> Kind {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let play = matches!(
        (method, parts.as_slice()),
        (
            &Method::POST,
            ["games", _, "moves"] | ["games", _, "disputes", _, "moves"]
        ) | (
            &Method::GET,
            ["games", _, "events"] | ["games", _, "disputes", _]
        )
    );
    if play { Kind::Move } else { Kind::Other }
}

/// One connection's activity, watched for idleness.
struct Activity {
    /// Milliseconds since the epoch of the last byte read or written.
    last_ms: AtomicU64,
    /// Requests of this connection being handled.
    running: AtomicUsize,
}

/// A socket that records when bytes last moved.
struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
    epoch: Instant,
}

impl<T> Watched<T> {
    fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.activity.last_ms.store(ms, Ordering::Relaxed);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

type Answer = Response<Either<Full<Bytes>, Streamed>>;

/// A response body written by a blocking task, chunk by chunk, through a
/// small channel: the transcript is never whole in memory, and a client
/// that stops reading stops the writer.
struct Streamed(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// Writes into a [`Streamed`] body, 64 KiB at a time; gives up when the
/// client has not taken a chunk for `patience`.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    buf: Vec<u8>,
    handle: tokio::runtime::Handle,
    patience: Duration,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 << 10 {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.handle
            .block_on(self.tx.send_timeout(chunk, self.patience))
            .map_err(|_| std::io::Error::other("the client went away or stopped reading"))
    }
}

fn answer(status: u16, body: String) -> Answer {
    let mut r = Response::new(Either::Left(Full::new(Bytes::from(body))));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// A refusal that also closes the connection (its body was not read).
fn closing(status: u16, reason: &str) -> Answer {
    let mut r = answer(status, error_body(reason));
    r.headers_mut()
        .insert(CONNECTION, hyper::header::HeaderValue::from_static("close"));
    r
}

fn busy(reason: &str) -> Answer {
    let mut r = answer(503, error_body(reason));
    r.headers_mut()
        .insert(RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
    r
}

/// The largest body an endpoint takes.
fn body_limit(referee: &Referee, method: &Method, path: &str) -> usize {
    if method == Method::POST && path.trim_end_matches('/') == "/games" {
        referee.max_create_body()
    } else {
        crate::referee::MAX_BODY
    }
}

impl Service {
    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        activity: Arc<Activity>,
        client: IpAddr,
    ) -> Answer {
        let _running = Held::take(&activity.running);
        if req.method() == Method::GET && req.uri().path() == "/health" {
            // Constant, and answered here: no slot, no thread.
            self.stats.answered.fetch_add(1, Ordering::Relaxed);
            return answer(200, "{\"ok\":true}".into());
        }
        let method = req.method().clone();
        let uri = req.uri().clone();
        let path = uri.path().to_string();
        let url = uri
            .path_and_query()
            .map_or(path.clone(), |p| p.as_str().to_string());
        let page = (method == Method::GET)
            .then(|| crate::referee::web::Page::route(&path))
            .flatten();
        let out = if let Some(page) = page {
            self.page(page, client).await
        } else if let Some((id, n)) = transcript_route(&method, &path) {
            self.stream_transcript(id, n, client).await
        } else if let Some((id, after, wait)) = feed_poll(&method, &url) {
            if wait == 0 {
                self.compute(method.as_str(), &url, Vec::new(), client, Kind::Move)
                    .await
            } else {
                self.poll_feed(id, after, wait, client).await
            }
        } else if let Some((id, n, after, wait)) = long_poll(&method, &url) {
            if wait == 0 {
                self.compute(
                    method.as_str(),
                    &url,
                    Vec::new(),
                    client,
                    kind(&method, &path),
                )
                .await
            } else {
                self.poll(id, n, after, wait, client).await
            }
        } else {
            let limit = body_limit(&self.referee, &method, &path);
            let announced = req
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().parse::<u64>());
            match announced {
                Some(Err(_)) => return closing(400, "the Content-Length is not a number"),
                Some(Ok(n)) if n > limit as u64 => {
                    return closing(
                        413,
                        &format!("request body of {n} bytes is too large (at most {limit})"),
                    );
                }
                _ => {}
            }
            let kind = kind(&method, &path);
            // The body's share of the budget is held until it is answered.
            let (body, _held) = match self.read_body(req.into_body(), limit, client, kind).await {
                Ok(b) => b,
                Err(refusal) => return refusal,
            };
            self.compute(method.as_str(), &url, body, client, kind)
                .await
        };
        self.stats.answered.fetch_add(1, Ordering::Relaxed);
        out
    }

    /// Reads a request body within its cap, the body budget's shares
    /// (bytes are counted as they arrive, so a stalled body holds only what
    /// it sent), the body timeout and the minimum rate. The bytes, with
    /// their share of the budget (given back once answered).
    async fn read_body(
        &self,
        mut body: Incoming,
        limit: usize,
        client: IpAddr,
        kind: Kind,
    ) -> Result<(Vec<u8>, BodyHeld), Answer> {
        use hyper::body::Body;
        let reserve = match kind {
            Kind::Move => 0,
            Kind::Other => self.limits.body_budget / 8,
        };
        let mut held = BodyHeld {
            taken: self.bodies.take(client, 0, 0).map_err(|_| {
                closing(
                    503,
                    "the referee is busy reading other requests' bodies; retry",
                )
            })?,
            stats: self.stats.clone(),
        };
        let mut out = Vec::new();
        let start = Instant::now();
        let rate = self.limits.min_body_rate.max(1) as u64;
        loop {
            // The time left before the body is too late or too slow.
            let elapsed = start.elapsed();
            let owed = (elapsed.as_millis() as u64).saturating_sub(1000) * rate / 1000;
            if elapsed >= self.limits.body_timeout || (out.len() as u64) < owed {
                let slow = elapsed < self.limits.body_timeout;
                if slow {
                    self.stats.slow_bodies.fetch_add(1, Ordering::Relaxed);
                }
                return Err(closing(
                    408,
                    &if slow {
                        format!(
                            "the request body arrives too slowly ({} bytes in {} ms; at least {rate} bytes a second)",
                            out.len(),
                            elapsed.as_millis()
                        )
                    } else {
                        format!(
                            "the request body did not arrive within {} s",
                            self.limits.body_timeout.as_secs()
                        )
                    },
                ));
            }
            // Until the next byte is due at the minimum rate.
            let due_ms = 1000 + (out.len() as u64 + 1) * 1000 / rate;
            let until = Duration::from_millis(due_ms.saturating_sub(elapsed.as_millis() as u64))
                .min(self.limits.body_timeout - elapsed)
                .max(Duration::from_millis(10));
            let frame = match tokio::time::timeout(
                until,
                std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)),
            )
            .await
            {
                Err(_) => continue,
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(closing(400, &format!("cannot read the request body: {e}")));
                }
                Ok(Some(Ok(f))) => f,
            };
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            if out.len() + data.len() > limit {
                return Err(closing(
                    413,
                    &format!("request body too large (at most {limit} bytes)"),
                ));
            }
            if !held.taken.grow(data.len(), reserve) {
                return Err(closing(
                    503,
                    "the referee is busy reading other requests' bodies; retry",
                ));
            }
            self.stats
                .body_bytes
                .fetch_add(data.len(), Ordering::SeqCst);
            out.extend_from_slice(&data);
        }
        Ok((out, held))
    }

    /// Runs a request on the blocking pool, within the shares of busy
    /// requests.
    async fn compute(
        &self,
        method: &str,
        url: &str,
        body: Vec<u8>,
        client: IpAddr,
        kind: Kind,
    ) -> Answer {
        let referee = self.referee.clone();
        let (method, url) = (method.to_string(), url.to_string());
        match self
            .blocking(client, kind, move || {
                referee.handle(&method, &url, &body, Some(client))
            })
            .await
        {
            Ok((status, text)) => answer(status, text),
            Err(refused) => refused,
        }
    }

    /// Renders a page of the live view on the blocking pool.
    async fn page(&self, page: crate::referee::web::Page, client: IpAddr) -> Answer {
        let referee = self.referee.clone();
        match self
            .blocking(client, Kind::Other, move || page.render(&referee))
            .await
        {
            Ok((status, html)) => {
                let mut r = answer(status, html);
                for (name, value) in crate::referee::web::HEADERS {
                    r.headers_mut().insert(
                        hyper::header::HeaderName::from_static(name),
                        hyper::header::HeaderValue::from_static(value),
                    );
                }
                r
            }
            Err(refused) => refused,
        }
    }

    /// Runs `f` on the blocking pool, within the shares of busy requests
    /// (a move may use the reserve); a panic in `f` is answered 500 and
    /// releases its slot.
    async fn blocking<T: Send + 'static>(
        &self,
        client: IpAddr,
        kind: Kind,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Answer> {
        let reserve = match kind {
            Kind::Move => 0,
            Kind::Other => self.limits.max_busy / 4,
        };
        let slot = self.busy.take(client, 1, reserve).map_err(|over| {
            busy(match over {
                Over::Total => "the referee is busy: too many requests at once; retry",
                Over::Address | Over::Prefix => {
                    "the referee is busy: too many requests at once from your network; retry"
                }
            })
        })?;
        let stats = self.stats.clone();
        let job = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let _busy = Held::take(&stats.busy);
            f()
        });
        job.await.map_err(|e| {
            if e.is_panic() {
                self.stats.panics.fetch_add(1, Ordering::Relaxed);
            }
            answer(
                500,
                error_body("internal error: the request's handler failed"),
            )
        })
    }

    /// Streams the transcript of dispute `n` of claim `id`: prepared
    /// within the busy shares, then written by a task of its own that holds
    /// no busy slot (a client that does not read cannot keep others from
    /// computing), within the shares of streams, and that gives up when
    /// its client has not read for [`Limits::write_timeout`].
    async fn stream_transcript(&self, id: String, n: u64, client: IpAddr) -> Answer {
        let stream = match self.streams.take(client, 1, 0) {
            Ok(s) => s,
            Err(_) => {
                return busy(
                    "the referee is busy: too many transcripts being sent (to your network); retry",
                );
            }
        };
        let referee = self.referee.clone();
        let source = match self
            .blocking(client, Kind::Other, move || {
                referee.transcript_source(&id, n)
            })
            .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(r)) => return answer(r.status, error_body(&r.reason)),
            Err(refused) => return refused,
        };
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let stats = self.stats.clone();
        let handle = tokio::runtime::Handle::current();
        let patience = self.limits.write_timeout;
        tokio::task::spawn_blocking(move || {
            let _stream = stream;
            let _counted = Held::take(&stats.streams);
            let mut w = ChannelWriter {
                tx,
                buf: Vec::with_capacity(64 << 10),
                handle,
                patience,
            };
            // A failure mid-way (the client left, a blob went bad) cuts the
            // body short: the client sees an incomplete document.
            if source.write(&mut w).is_ok() {
                let _ = std::io::Write::flush(&mut w);
            }
        });
        let mut r = Response::new(Either::Right(Streamed(rx)));
        r.headers_mut().insert(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        r
    }

    /// A long-poll: waits (without a thread) for claim `id` (or its
    /// dispute `n`) to move past `after`, to end, or for `wait_ms`, then
    /// answers its view.
    async fn poll(
        &self,
        id: String,
        n: Option<u64>,
        after: Option<u64>,
        wait_ms: u64,
        client: IpAddr,
    ) -> Answer {
        let _poll = Held::take(&self.stats.polls);
        let deadline =
            Instant::now() + Duration::from_millis(wait_ms.min(crate::referee::MAX_WAIT_MS));
        // Unknown: the answer below says so.
        let queued = n.is_some_and(|n| self.referee.queued(&id, n));
        if let Some(mut changes) = self.referee.subscribe(&id, n) {
            loop {
                // A queued dispute that starts is news, though no move was made.
                if queued && n.is_some_and(|n| !self.referee.queued(&id, n)) {
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                let Some(clock_left) = self.referee.poll_wait(&id, n, after) else {
                    break;
                };
                if left.is_zero() || clock_left == 0 || self.referee.stopping() {
                    break;
                }
                // Wake up at the latest when the clock on turn runs out
                // (and every second, to notice a stop).
                let tick = left
                    .min(Duration::from_millis(clock_left))
                    .min(Duration::from_secs(1));
                let _ = tokio::time::timeout(tick, changes.changed()).await;
            }
        }
        let path = match n {
            Some(n) => format!("/games/{id}/disputes/{n}"),
            None => format!("/games/{id}"),
        };
        let url = match after {
            Some(a) => format!("{path}?after_seq={a}"),
            None => path,
        };
        let kind = if n.is_some() { Kind::Move } else { Kind::Other };
        self.compute("GET", &url, Vec::new(), client, kind).await
    }

    /// A long-poll of a claim's event feed: waits (without a thread) for a
    /// change of its disputes past `after`, its decision, or `wait_ms`.
    async fn poll_feed(&self, id: String, after: u64, wait_ms: u64, client: IpAddr) -> Answer {
        let _poll = Held::take(&self.stats.polls);
        let deadline =
            Instant::now() + Duration::from_millis(wait_ms.min(crate::referee::MAX_WAIT_MS));
        if let Some(mut changes) = self.referee.subscribe_feed(&id) {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let Some(until) = self.referee.feed_wait(&id, after) else {
                    break;
                };
                if left.is_zero() || self.referee.stopping() {
                    break;
                }
                let tick = left
                    .min(Duration::from_millis(until.max(1)))
                    .min(Duration::from_secs(1));
                let _ = tokio::time::timeout(tick, changes.changed()).await;
            }
        }
        let url = format!("/games/{id}/events?after={after}");
        self.compute("GET", &url, Vec::new(), client, Kind::Move)
            .await
    }

    /// Takes a connection slot for `ip`, within its address's and its
    /// network's shares. When all slots are taken, the network holding the
    /// most gives one up (if it holds more than `ip`'s network would), so
    /// that many connections from a few networks cannot lock out another.
    /// The slot, the connection's number and the signal that closes it.
    fn admit(&self, ip: IpAddr) -> Option<(Taken, u64, Arc<tokio::sync::Notify>)> {
        let slot = match self.conns.take(ip, 1, 0) {
            Ok(t) => t,
            Err(Over::Total) => {
                let (heavy, n) = self.conns.largest_prefix()?;
                if n <= self.conns.of_prefix(ip) + 1 {
                    return None;
                }
                self.evict(heavy);
                self.conns.take_beyond_total(ip, 1).ok()?
            }
            Err(_) => return None,
        };
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(tokio::sync::Notify::new());
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (ip, close.clone()));
        self.stats.connections.fetch_add(1, Ordering::SeqCst);
        Some((slot, id, close))
    }

    /// Closes the oldest connection of network `heavy`.
    fn evict(&self, heavy: IpAddr) {
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        let oldest = registry
            .iter()
            .filter(|(_, (ip, _))| shares::prefix(*ip) == heavy)
            .min_by_key(|(id, _)| **id);
        if let Some((_, (_, close))) = oldest {
            close.notify_one();
            self.stats.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn release(&self, id: u64) {
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        self.stats.connections.fetch_sub(1, Ordering::SeqCst);
    }

    /// Serves one connection until it ends, goes idle or the service stops.
    async fn connection(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        ip: IpAddr,
        admitted: (Taken, u64, Arc<tokio::sync::Notify>),
    ) {
        struct Slot(Arc<Service>, u64);
        impl Drop for Slot {
            fn drop(&mut self) {
                self.0.release(self.1);
            }
        }
        let (taken, id, close) = admitted;
        let _taken = taken;
        let _slot = Slot(self.clone(), id);
        let activity = Arc::new(Activity {
            last_ms: AtomicU64::new(self.epoch.elapsed().as_millis() as u64),
            running: AtomicUsize::new(0),
        });
        let io = Watched {
            inner: stream,
            activity: activity.clone(),
            epoch: self.epoch,
        };
        let me = self.clone();
        let act = activity.clone();
        let service = service_fn(move |req| {
            let me = me.clone();
            let act = act.clone();
            async move { Ok::<_, std::convert::Infallible>(me.handle(req, act, ip).await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.idle_timeout)
            .max_headers(self.limits.max_headers)
            .max_header_size(self.limits.max_header_bytes)
            .max_buf_size(self.limits.max_header_bytes.max(8192) * 2)
            .keep_alive(true);
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        let idle = self.limits.idle_timeout.as_millis() as u64;
        let check = Duration::from_millis((idle / 4).clamp(10, 1000));
        loop {
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = close.notified() => return,
                _ = tokio::time::sleep(check) => {
                    if self.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let now = self.epoch.elapsed().as_millis() as u64;
                    let quiet = now.saturating_sub(activity.last_ms.load(Ordering::Relaxed));
                    if activity.running.load(Ordering::SeqCst) == 0 && quiet >= idle {
                        self.stats.idle_closed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }
    }
}

/// `GET /games/{id}/disputes/{n}/transcript`: the claim and the dispute.
fn transcript_route(method: &Method, path: &str) -> Option<(String, u64)> {
    if method != Method::GET {
        return None;
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["games", id, "disputes", n, "transcript"] => Some((id.to_string(), n.parse().ok()?)),
        _ => None,
    }
}

/// `GET /games/{id}[/disputes/{n}]?after_seq=N&wait_ms=M`: the claim,
/// the dispute, `N`, `M`. A malformed query is left to the ordinary path,
/// which refuses it.
fn long_poll(method: &Method, url: &str) -> Option<(String, Option<u64>, Option<u64>, u64)> {
    if method != Method::GET {
        return None;
    }
    let (path, query) = url.split_once('?')?;
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (id, n) = match parts.as_slice() {
        ["games", id] => (id, None),
        ["games", id, "disputes", n] => (id, Some(n.parse::<u64>().ok()?)),
        _ => return None,
    };
    let mut after = None;
    let mut wait = None;
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("after_seq", v)) => after = Some(v.parse::<u64>().ok()?),
            Some(("wait_ms", v)) => wait = Some(v.parse::<u64>().ok()?),
            _ => {}
        }
    }
    Some((id.to_string(), n, after, wait?))
}

/// `GET /games/{id}/events?after=V&wait_ms=M`: the claim, `V` (default 0), `M`.
fn feed_poll(method: &Method, url: &str) -> Option<(String, u64, u64)> {
    if method != Method::GET {
        return None;
    }
    let (path, query) = url.split_once('?')?;
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ["games", id, "events"] = parts.as_slice() else {
        return None;
    };
    let mut after = 0;
    let mut wait = None;
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("after", v)) => after = v.parse::<u64>().ok()?,
            Some(("wait_ms", v)) => wait = Some(v.parse::<u64>().ok()?),
            _ => {}
        }
    }
    Some((id.to_string(), after, wait?))
}

/// A serving referee.
pub struct Server {
    /// The address it listens on.
    pub addr: String,
    referee: Referee,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Serves `referee` over HTTP on `addr` (e.g. `127.0.0.1:0`) until
/// [`Server::stop`]; returns at once with the bound address.
pub fn serve(referee: &Referee, addr: &str, limits: Limits) -> Result<Server, RefereeError> {
    let fail = |reason: String| RefereeError::Listen {
        addr: addr.to_string(),
        reason,
    };
    let listener = listen(addr).map_err(|e| fail(e.to_string()))?;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| addr.to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Computing requests, streams (as many as half the busy slots),
        // and room.
        .max_blocking_threads(limits.max_busy + limits.max_busy / 2 + 16)
        .thread_name("referee-http")
        .enable_all()
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(tokio::sync::Notify::new());
    let service = Arc::new(Service::new(
        referee.clone(),
        limits,
        stats.clone(),
        stop.clone(),
    ));
    let (w, s) = (wake.clone(), stop.clone());
    let accept = std::thread::spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = w.notified() => break,
                };
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors or a reset before accept:
                        // pause a little and go on.
                        eprintln!("referee: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let Some(admitted) = service.admit(peer.ip()) else {
                    service
                        .stats
                        .refused_connections
                        .fetch_add(1, Ordering::Relaxed);
                    let body = error_body("too many connections; retry later");
                    let msg = format!(
                        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    // Never wait on a refused client.
                    let _ = stream.try_write(msg.as_bytes());
                    continue;
                };
                tokio::spawn(service.clone().connection(stream, peer.ip(), admitted));
            }
        });
        runtime.shutdown_timeout(Duration::from_secs(2));
    });
    let me = referee.clone();
    let s = stop.clone();
    let ticker = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            me.tick();
            std::thread::sleep(Duration::from_millis(crate::referee::TICK_MS));
        }
    });
    Ok(Server {
        addr: local,
        referee: referee.clone(),
        stats,
        stop,
        wake,
        threads: vec![accept, ticker],
    })
}

impl Server {
    /// The base URL, e.g. `http://127.0.0.1:4000`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The referee behind the server.
    pub fn referee(&self) -> &Referee {
        &self.referee
    }

    /// The service's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Stops serving and waits for the service threads.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.referee.stop();
        self.wake.notify_one();
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// A listening socket with `TCP_NODELAY`: an answer goes out as its header
/// and then its body, and without it the body would wait for the client's
/// delayed ACK of the header (40 ms a move on loopback).
fn listen(addr: &str) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    use std::net::ToSocketAddrs;
    let addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // As std does: a restarted referee can take its port back at once.
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_handler_is_answered_500_and_leaks_no_slot() {
        let dir = std::env::temp_dir().join(format!("mswap-http-panic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let referee = Referee::open(&dir, Default::default()).expect("opens");
        let limits = Limits {
            max_busy: 2,
            ..Limits::default()
        };
        let svc = Service::new(
            referee,
            limits,
            Arc::new(Stats::default()),
            Arc::new(AtomicBool::new(false)),
        );
        let me: IpAddr = [127, 0, 0, 1].into();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // More panics than slots: each one gives its slot back.
            for _ in 0..5 {
                let r = svc
                    .blocking(me, Kind::Other, || -> u32 { panic!("a handler bug") })
                    .await;
                let status = r.err().map(|a| a.status().as_u16());
                assert_eq!(status, Some(500));
            }
            assert_eq!(svc.stats.panics.load(Ordering::Relaxed), 5);
            assert_eq!(svc.stats.busy.load(Ordering::SeqCst), 0);
            assert_eq!(svc.blocking(me, Kind::Other, || 7).await.ok(), Some(7));
            assert_eq!(svc.busy.total(), 0);
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
