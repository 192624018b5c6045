//! The HTTP referee's client: [`Client`] speaks the service's JSON API
//! (`src/referee/routes.rs`) over HTTP with retries, and is the HTTP
//! referee's implementation of [`RefereeApi`], the interface the players
//! know a referee by.

use crate::players::api::{ClientError, RefereeApi};
use crate::players::wire::{
    Batch, BatchAnswer, BatchMove, BatchResult, ClaimView, CreateGame, Created, DisputeMoves,
    ErrorBody, Feed, Joined, MoveRequest, PolicyView, View,
};
use crate::rules::transcript::Transcript;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a client tells about a retry.
pub type OnWait = Box<dyn Fn(&str) + Send + Sync>;

/// A connection to a referee over HTTP.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    /// Request body bytes sent (answered requests).
    pub sent: AtomicU64,
    /// Response body bytes received.
    pub received: AtomicU64,
    /// How long to keep retrying an unreachable or overloaded referee
    /// (`None`: as long as it takes; the referee charges nobody's clock
    /// while it is down, so the game stays open).
    pub patience: Option<Duration>,
    /// Told about each retry: "waiting for the referee at URL (retry N): reason".
    pub on_wait: Option<OnWait>,
}

/// Checks a referee URL: `http://HOST:PORT` (a trailing `/` allowed; no
/// path, query or user; `[...]` around an IPv6 host). Returns it without
/// the trailing `/`.
pub fn check_url(url: &str) -> Result<String, ClientError> {
    let bad = |reason: &str| ClientError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("use http://HOST:PORT, e.g. http://127.0.0.1:4000"))?;
    let hostport = rest.trim_end_matches('/');
    if hostport.contains(['/', '?', '#', '@']) || hostport.contains(char::is_whitespace) {
        return Err(bad("only http://HOST:PORT, no path, query or user"));
    }
    let (host, port) = if hostport.starts_with('[') {
        match hostport.split_once("]:") {
            Some((h, p)) => (h.trim_start_matches('['), Some(p)),
            None => (hostport, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    match port.map(str::parse::<u16>) {
        Some(Ok(0)) | Some(Err(_)) => Err(bad("the port must be a number from 1 to 65535")),
        None => Err(bad("no port (e.g. :4000)")),
        Some(Ok(_)) => Ok(format!("http://{hostport}")),
    }
}

/// A request body.
#[derive(Clone, Copy)]
enum Body<'a> {
    /// JSON made in advance (moves: a few KB).
    Text(&'a str),
    /// A document serialized as it is sent (a game's program and input).
    Json(&'a CreateGame),
}

/// Writes what goes through it to `inner`, counting the bytes.
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Sends `value` as the JSON body of `req` without ever holding the whole
/// document: a first pass counts its bytes (the `Content-Length`, so that
/// the referee refuses an oversized body before reading it), a second
/// writes it into a pipe on a thread of its own while `ureq` reads the
/// pipe onto the socket. A game's request carries the program and input
/// as hex; held whole, it cost the defender twice the input's size in
/// memory on top of its run. Returns the bytes sent with the answer.
fn send_streamed(
    req: ureq::RequestBuilder<ureq::typestate::WithBody>,
    value: &CreateGame,
) -> Result<(u64, Result<ureq::http::Response<ureq::Body>, ureq::Error>), ClientError> {
    let protocol = |e: std::io::Error| ClientError::Protocol(format!("the game's request: {e}"));
    let mut count = Counting {
        inner: std::io::sink(),
        n: 0,
    };
    serde_json::to_writer(&mut count, value).map_err(|e| protocol(e.into()))?;
    let len = count.n;
    let (mut from, to) = std::io::pipe().map_err(protocol)?;
    std::thread::scope(|s| {
        let writer = s.spawn(move || {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, to);
            // Fails only when the reading side stopped (the request
            // failed, which `send` says); the pipe closes as `out` drops.
            let _ = serde_json::to_writer(&mut out, value).map(|()| out.flush());
        });
        let answer = req
            .header("Content-Length", len)
            .send(ureq::SendBody::from_reader(&mut from));
        // Unblocks the writer if `send` stopped reading early.
        drop(from);
        let _ = writer.join();
        Ok((len, answer))
    })
}

impl Client {
    /// A client of the referee at `base` (e.g. `http://127.0.0.1:4000`);
    /// a malformed URL is refused at once.
    pub fn connect(base: &str) -> Result<Client, ClientError> {
        let base = check_url(base)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Ok(Client {
            agent: config.into(),
            base,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            patience: Some(Duration::from_secs(60)),
            on_wait: None,
        })
    }

    /// A client of the referee at `base`, for URLs known to be good (tests,
    /// the demo); panics on a malformed one.
    pub fn new(base: &str) -> Client {
        Client::connect(base).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Body bytes exchanged so far (requests and responses; HTTP headers
    /// not counted).
    pub fn bytes(&self) -> u64 {
        self.sent.load(Ordering::Relaxed) + self.received.load(Ordering::Relaxed)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Body<'_>>,
    ) -> Result<String, ClientError> {
        let url = format!("{}{path}", self.base);
        let start = Instant::now();
        let mut pause = Duration::from_millis(20);
        let mut retry = 0u64;
        let mut wait = |reason: String| -> Result<(), ClientError> {
            if self.patience.is_some_and(|p| start.elapsed() >= p) {
                return Err(ClientError::Unreachable {
                    url: url.clone(),
                    reason,
                });
            }
            retry += 1;
            if let Some(tell) = &self.on_wait {
                tell(&format!(
                    "waiting for the referee at {} (retry {retry}): {reason}",
                    self.base
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
            Ok(())
        };
        loop {
            let post = || {
                self.agent
                    .post(&url)
                    .header("Content-Type", "application/json")
            };
            let (sent, result) = match body {
                Some(Body::Text(b)) => (b.len() as u64, post().send(b)),
                Some(Body::Json(value)) => send_streamed(post(), value)?,
                None if method == "GET" => (0, self.agent.get(&url).call()),
                None => (2, post().send("{}")),
            };
            match result {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let text = resp
                        .body_mut()
                        .with_config()
                        .limit(256 << 20)
                        .read_to_string()
                        .map_err(|e| ClientError::Protocol(e.to_string()))?;
                    if (200..300).contains(&status) {
                        self.sent.fetch_add(sent, Ordering::Relaxed);
                        self.received
                            .fetch_add(text.len() as u64, Ordering::Relaxed);
                        return Ok(text);
                    }
                    let reason = serde_json::from_str::<ErrorBody>(&text).map_or(text, |e| e.error);
                    if status >= 500 {
                        // Busy or restarting: nothing changed; try again.
                        wait(format!("{status}: {reason}"))?;
                        continue;
                    }
                    return Err(ClientError::Refused { status, reason });
                }
                Err(e) => wait(e.to_string())?,
            }
        }
    }

    fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ClientError> {
        serde_json::from_str(text).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// `POST path` with `body` as JSON; the answer parsed.
    fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_string(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Self::json(&self.request("POST", path, Some(Body::Text(&body)))?)
    }

    /// The long-poll every wait goes through: `GET path`, and with
    /// `after = (name, cursor)` the referee holds the answer up to
    /// `wait_ms` until the resource moves past `cursor` (no cursor: the
    /// answer at once).
    fn poll<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        after: Option<(&str, u64)>,
        wait_ms: u64,
    ) -> Result<T, ClientError> {
        let query = match after {
            Some((name, cursor)) => format!("?{name}={cursor}&wait_ms={wait_ms}"),
            None => String::new(),
        };
        Self::json(&self.request("GET", &format!("{path}{query}"), None)?)
    }

    /// Opens a claim.
    pub fn create(&self, req: &CreateGame) -> Result<Created, ClientError> {
        // A referee refuses a body over its limit before reading it and
        // closes the connection: a client still writing sees a broken
        // pipe, not the refusal, and would retry until its patience ran
        // out. So the sizes are held against the referee's policy first,
        // with the referee's own words.
        let policy: PolicyView = Self::json(&self.request("GET", "/policy", None)?)?;
        if let Some(reason) = super::too_large(req.program.len(), req.input.len(), &policy) {
            return Err(ClientError::Refused {
                status: 413,
                reason,
            });
        }
        // The program and the input go as hex: a body twice their size,
        // written as it is sent rather than held (see `send_streamed`).
        Self::json(&self.request("POST", "/games", Some(Body::Json(req)))?)
    }

    /// Where a claim stands, waiting up to `wait_ms` for it to change past `after_seq`.
    pub fn claim(
        &self,
        id: &str,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<ClaimView, ClientError> {
        self.poll(
            &format!("/games/{id}"),
            after_seq.map(|n| ("after_seq", n)),
            wait_ms,
        )
    }

    /// Opens a dispute of one's own against claim `id`.
    pub fn join(&self, id: &str) -> Result<Joined, ClientError> {
        Self::json(&self.request("POST", &format!("/games/{id}/join"), None)?)
    }

    /// Where dispute `n` of claim `id` stands, waiting up to `wait_ms` for
    /// it to move past `after_seq`.
    pub fn view(
        &self,
        id: &str,
        n: u64,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError> {
        self.poll(
            &format!("/games/{id}/disputes/{n}"),
            after_seq.map(|s| ("after_seq", s)),
            wait_ms,
        )
    }

    /// Sends a move in dispute `n` of claim `id`.
    pub fn send(&self, id: &str, n: u64, req: &MoveRequest) -> Result<View, ClientError> {
        self.post(&format!("/games/{id}/disputes/{n}/moves"), req)
    }

    /// The transcript of dispute `n` of claim `id`.
    pub fn transcript(&self, id: &str, n: u64) -> Result<Transcript, ClientError> {
        Self::json(&self.request("GET", &format!("/games/{id}/disputes/{n}/transcript"), None)?)
    }

    /// The accepted moves of dispute `n` of claim `id`.
    pub fn moves(&self, id: &str, n: u64) -> Result<DisputeMoves, ClientError> {
        Self::json(&self.request("GET", &format!("/games/{id}/disputes/{n}/moves"), None)?)
    }

    /// What changed in claim `id`'s disputes after cursor `after`
    /// (`GET /games/{id}/events`), waiting up to `wait_ms`.
    pub fn feed(&self, id: &str, after: u64, wait_ms: u64) -> Result<Feed, ClientError> {
        self.poll(
            &format!("/games/{id}/events"),
            Some(("after", after)),
            wait_ms,
        )
    }

    /// Moves in several disputes of claim `id` (`POST /games/{id}/moves`).
    pub fn send_batch(
        &self,
        id: &str,
        moves: &[BatchMove],
    ) -> Result<Vec<BatchResult>, ClientError> {
        let batch = Batch {
            moves: moves.to_vec(),
        };
        let a: BatchAnswer = self.post(&format!("/games/{id}/moves"), &batch)?;
        if a.results.len() != moves.len() {
            return Err(ClientError::Protocol(format!(
                "{} results for {} moves",
                a.results.len(),
                moves.len()
            )));
        }
        Ok(a.results)
    }
}

impl RefereeApi for Client {
    fn create(&self, req: &CreateGame) -> Result<Created, ClientError> {
        Client::create(self, req)
    }
    fn claim(
        &self,
        id: &str,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<ClaimView, ClientError> {
        Client::claim(self, id, after_seq, wait_ms)
    }
    fn join(&self, id: &str) -> Result<Joined, ClientError> {
        Client::join(self, id)
    }
    fn view(
        &self,
        id: &str,
        dispute: u64,
        after_seq: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError> {
        Client::view(self, id, dispute, after_seq, wait_ms)
    }
    fn send(&self, id: &str, dispute: u64, req: &MoveRequest) -> Result<View, ClientError> {
        Client::send(self, id, dispute, req)
    }
    fn transcript(&self, id: &str, dispute: u64) -> Result<Transcript, ClientError> {
        Client::transcript(self, id, dispute)
    }
    fn moves(&self, id: &str, dispute: u64) -> Result<DisputeMoves, ClientError> {
        Client::moves(self, id, dispute)
    }
    fn bytes(&self) -> u64 {
        Client::bytes(self)
    }
    fn feed(&self, id: &str, after: u64, wait_ms: u64) -> Result<Feed, ClientError> {
        Client::feed(self, id, after, wait_ms)
    }
    fn send_batch(&self, id: &str, moves: &[BatchMove]) -> Result<Vec<BatchResult>, ClientError> {
        Client::send_batch(self, id, moves)
    }
}
