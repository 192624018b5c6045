//! A referee client of the tests that sends each request from a loopback
//! address of its choice (127.x.y.z), as many parties on many networks
//! would: plain HTTP/1.1 over a socket bound to that address, one request
//! per connection. It implements the players' `RefereeApi`, so the
//! library's players run through it unchanged.

use mswap::players::client::{ClientError, RefereeApi};
use mswap::players::wire::{
    Batch, BatchAnswer, BatchMove, BatchResult, ClaimView, CreateGame, Created, ErrorBody, Feed,
    Joined, MoveRequest, View,
};
use mswap::rules::transcript::Transcript;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// A connection from `from` (port chosen by the system) to `to`.
pub fn connect(from: IpAddr, to: &str) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let to: SocketAddr = to.parse().map_err(std::io::Error::other)?;
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.bind(&SocketAddr::new(from, 0).into())?;
    s.connect_timeout(&to.into(), Duration::from_secs(5))?;
    Ok(s.into())
}

/// One request from `from`: the status and body (`None`: no answer).
pub fn request(
    from: IpAddr,
    to: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let mut s = connect(from, to).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    // A referee may answer (413) and close before an oversized body is all
    // sent: the answer, not the failed write, is what counts.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let end = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = std::str::from_utf8(out.get(9..12)?).ok()?.parse().ok()?;
    let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
    let mut body = out[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = unchunk(&body)?;
    }
    Some((status, body))
}

fn unchunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n")?;
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).ok()?.trim(), 16).ok()?;
        if n == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(nl + 2..nl + 2 + n)?);
        b = b.get(nl + 4 + n..)?;
    }
}

/// A referee client whose requests come from the addresses `from`, in turn.
pub struct Raw {
    to: String,
    from: Vec<IpAddr>,
    next: AtomicUsize,
    bytes: AtomicU64,
}

impl Raw {
    /// A client of the referee at `url` (`http://HOST:PORT`) sending from `from`.
    pub fn new(url: &str, from: Vec<IpAddr>) -> Raw {
        Raw {
            to: url.trim_start_matches("http://").to_string(),
            from,
            next: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<T, ClientError> {
        // Busy (503) or unreachable: try again a little later, for a while.
        for attempt in 0..200u64 {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.from.len();
            match request(self.from[i], &self.to, method, path, body) {
                Some((status, text)) if (200..300).contains(&status) => {
                    self.bytes
                        .fetch_add((body.len() + text.len()) as u64, Ordering::Relaxed);
                    return serde_json::from_slice(&text)
                        .map_err(|e| ClientError::Protocol(e.to_string()));
                }
                Some((status, text)) if status < 500 => {
                    let reason = serde_json::from_slice::<ErrorBody>(&text)
                        .map_or_else(|_| String::from_utf8_lossy(&text).into(), |e| e.error);
                    return Err(ClientError::Refused { status, reason });
                }
                _ => std::thread::sleep(Duration::from_millis(20 + 10 * attempt.min(20))),
            }
        }
        Err(ClientError::Unreachable {
            url: self.to.clone(),
            reason: format!("{method} {path}: no answer after 200 tries"),
        })
    }
}

impl RefereeApi for Raw {
    fn create(&self, req: &CreateGame) -> Result<Created, ClientError> {
        self.call("POST", "/games", &serde_json::to_vec(req).unwrap())
    }
    fn claim(&self, id: &str, after: Option<u64>, wait_ms: u64) -> Result<ClaimView, ClientError> {
        let q = after.map_or(String::new(), |a| {
            format!("?after_seq={a}&wait_ms={wait_ms}")
        });
        self.call("GET", &format!("/games/{id}{q}"), b"")
    }
    fn join(&self, id: &str) -> Result<Joined, ClientError> {
        self.call("POST", &format!("/games/{id}/join"), b"{}")
    }
    fn view(
        &self,
        id: &str,
        n: u64,
        after: Option<u64>,
        wait_ms: u64,
    ) -> Result<View, ClientError> {
        let q = after.map_or(String::new(), |a| {
            format!("?after_seq={a}&wait_ms={wait_ms}")
        });
        self.call("GET", &format!("/games/{id}/disputes/{n}{q}"), b"")
    }
    fn send(&self, id: &str, n: u64, req: &MoveRequest) -> Result<View, ClientError> {
        self.call(
            "POST",
            &format!("/games/{id}/disputes/{n}/moves"),
            &serde_json::to_vec(req).unwrap(),
        )
    }
    fn transcript(&self, id: &str, n: u64) -> Result<Transcript, ClientError> {
        self.call("GET", &format!("/games/{id}/disputes/{n}/transcript"), b"")
    }
    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    fn feed(&self, id: &str, after: u64, wait_ms: u64) -> Result<Feed, ClientError> {
        self.call(
            "GET",
            &format!("/games/{id}/events?after={after}&wait_ms={wait_ms}"),
            b"",
        )
    }
    fn send_batch(&self, id: &str, moves: &[BatchMove]) -> Result<Vec<BatchResult>, ClientError> {
        let body = serde_json::to_vec(&Batch {
            moves: moves.to_vec(),
        })
        .unwrap();
        let a: BatchAnswer = self.call("POST", &format!("/games/{id}/moves"), &body)?;
        Ok(a.results)
    }
}

/// `n` loopback addresses, `per_net` in each /24: 127.`net_base + k / per_net`.x.1...
pub fn addresses(n: usize, per_net: usize, net_base: u8) -> Vec<IpAddr> {
    (0..n)
        .map(|k| {
            let net = net_base as usize + k / per_net;
            IpAddr::from([
                127,
                (net / 256) as u8,
                (net % 256) as u8,
                1 + (k % per_net) as u8,
            ])
        })
        .collect()
}
