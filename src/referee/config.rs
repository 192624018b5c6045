//! The referee's settings: its rules of time ([`Policy`]), its bounds on
//! claims and clients ([`Config`]), the HTTP service's ([`Limits`]), and
//! the fixed sizes and periods of the service.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest body of a request other than a new claim.
pub const MAX_BODY: usize = 1 << 20;
/// Longest long-poll.
pub const MAX_WAIT_MS: u64 = 30_000;
/// Longest clock or window a claim may ask for (7 days).
pub const MAX_CLOCK_MS: u64 = 7 * 24 * 3_600_000;
/// How often the ticker looks for clocks that ran out.
pub const TICK_MS: u64 = 50;
/// How often a heartbeat is logged while a dispute runs.
pub const HEARTBEAT_MS: u64 = 1_000;
pub use crate::players::wire::MAX_RECENT;
/// Most entries of any list in one answer (claims, disputes of a claim,
/// disputes in an event feed answer are fewer: [`FEED_PAGE`]).
pub const MAX_PAGE: usize = 100;
/// Most disputes in one answer of a claim's event feed.
pub const FEED_PAGE: usize = 64;
pub use crate::players::wire::MAX_BATCH;
/// Longest free text of a claim (its `status`), bytes.
pub const MAX_STATUS: usize = 256;

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The referee's rules of time and size.
///
/// Re-executing `2^b` steps at `min_steps_per_s` takes
/// `r(b) = ceil(2^b * 1000 / min_steps_per_s)` ms. Each side's clock in a
/// dispute is `clock_base_ms + margin * r(b)` and the challenge window
/// `window_base_ms + margin * r(b)`: the window covers a challenger's
/// re-execution before it disputes, the clock the honest side's replays
/// during the bisection (at most about one re-execution in all, from its
/// checkpoints) plus the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Clock per side before the re-execution allowance, ms.
    pub clock_base_ms: u64,
    /// Challenge window before the re-execution allowance, ms.
    pub window_base_ms: u64,
    /// The slowest machine A allowed for, steps per second.
    pub min_steps_per_s: u64,
    /// Re-executions of `2^b` steps the clock and window each allow.
    pub margin: u64,
    /// Largest `b` a claim may have.
    pub max_b: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            clock_base_ms: 60_000,
            window_base_ms: 60_000,
            min_steps_per_s: 10_000_000,
            margin: 2,
            max_b: 36,
        }
    }
}

impl Policy {
    /// Milliseconds to re-execute `2^b` steps at the slowest speed allowed.
    pub fn reexec_ms(&self, b: u32) -> u64 {
        crate::rules::policy::reexec(b, self.min_steps_per_s, 1000)
    }

    /// Each side's clock in a dispute of a claim over `2^b` steps.
    pub fn clock_ms(&self, b: u32) -> u64 {
        let p = self;
        crate::rules::policy::scaled(p.clock_base_ms, p.margin, p.min_steps_per_s, b, 1000)
    }

    /// The challenge window of a claim over `2^b` steps.
    pub fn window_ms(&self, b: u32) -> u64 {
        let p = self;
        crate::rules::policy::scaled(p.window_base_ms, p.margin, p.min_steps_per_s, b, 1000)
    }
}

/// Referee settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Rules of time.
    pub policy: Policy,
    /// Largest program, bytes.
    pub max_program: usize,
    /// Largest input, bytes.
    pub max_input: usize,
    /// Most claims open (window open or disputes running) at once.
    pub max_open_claims: usize,
    /// Most claims and disputes one client address may open per minute.
    pub max_opens_per_minute: usize,
    /// Most claims and disputes the addresses of one network (an IPv4
    /// /24, an IPv6 /64) may open per minute, together.
    pub max_opens_per_minute_per_prefix: usize,
    /// Most open claims opened from one client address (counted until
    /// the claim is decided and leaves memory).
    pub max_open_claims_per_address: usize,
    /// Most open claims opened from the addresses of one network.
    pub max_open_claims_per_prefix: usize,
    /// Most disputes of one claim running at once; more are queued, their
    /// clocks stopped, and start in order as running ones end.
    pub max_running_disputes: usize,
    /// The HTTP service's bounds.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            policy: Policy::default(),
            max_program: 16 << 20,
            max_input: 16 << 20,
            max_open_claims: 10_000,
            max_opens_per_minute: 60,
            max_opens_per_minute_per_prefix: 240,
            max_open_claims_per_address: 250,
            max_open_claims_per_prefix: 1_000,
            max_running_disputes: 32,
            limits: Limits::default(),
        }
    }
}

/// The service's bounds.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections, in total.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_per_client: usize,
    /// Requests computing at once (long-polls excepted).
    pub max_busy: usize,
    /// Bytes of a request's start line and headers.
    pub max_header_bytes: usize,
    /// Header lines of a request.
    pub max_headers: usize,
    /// Time for a request's body to arrive.
    pub body_timeout: Duration,
    /// Bytes of request bodies read at once, in all (503 beyond).
    pub body_budget: usize,
    /// Time a connection may sit with no request running and no byte moving.
    pub idle_timeout: Duration,
    /// Open connections from one network (an IPv4 /24, an IPv6 /64).
    pub max_per_prefix: usize,
    /// Slowest a body may arrive, bytes a second (after its first second).
    pub min_body_rate: usize,
    /// Longest a streamed answer may wait for its client to read.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 2048,
            max_per_client: 64,
            max_busy: 64,
            max_header_bytes: 16 << 10,
            max_headers: 32,
            body_timeout: Duration::from_secs(20),
            body_budget: 512 << 20,
            idle_timeout: Duration::from_secs(30),
            max_per_prefix: 256,
            min_body_rate: 16 << 10,
            write_timeout: Duration::from_secs(10),
        }
    }
}
