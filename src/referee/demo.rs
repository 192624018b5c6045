//! `mswap dispute`: the players' demo ([`crate::players::demo`]) on this
//! HTTP referee, serving on a loopback port with its log in a temporary
//! directory; the defender and the challenger each talk real HTTP to it
//! through a [`Client`] of their own.

use crate::players::api::RefereeApi;
use crate::players::demo::{Backend, DemoError, Report, Say, Setup, play, prepare};
use crate::referee::client::Client;
use crate::referee::{Config, Policy, Referee};
use std::path::PathBuf;

/// A temporary data directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let d = std::env::temp_dir().join(format!(
            "mswap-dispute-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        TempDir(d)
    }
}

/// Removes the temporary data directories of this process's demos (for a
/// process about to exit without unwinding, e.g. on Ctrl-C). The referee
/// may still be writing in one (a log line, a blob): a file made while it
/// is removed leaves it there, not empty, so removal is tried again until
/// none is left (the referee never makes its data directory again).
pub fn remove_temp_dirs() {
    let prefix = format!("mswap-dispute-{}-", std::process::id());
    for _ in 0..100 {
        let mut left = false;
        if let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(e.path());
                    left |= e.path().exists();
                }
            }
        }
        if !left {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The two players' connections to the referee.
struct Http {
    defender: Client,
    challenger: Client,
}

impl Backend for Http {
    fn defender(&self) -> &dyn RefereeApi {
        &self.defender
    }
    fn challenger(&self) -> &dyn RefereeApi {
        &self.challenger
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> DemoError {
    DemoError::Backend(Box::new(e))
}

/// Plays the dispute. `say` gets the demo's own lines (`None`) and each
/// side's lines about its moves (`Some(side)`), as they happen.
pub fn run(setup: Setup, say: &Say) -> Result<Report, DemoError> {
    run_with_progress(setup, say, &|_| {})
}

/// [`run`], with `progress` told the steps run so far by the defender's
/// first pass (which, without `b`, looks for the halt).
pub fn run_with_progress(
    setup: Setup,
    say: &Say,
    progress: &dyn Fn(u64),
) -> Result<Report, DemoError> {
    let clock_ms = setup.clock_ms;
    let prepared = prepare(setup, say, progress)?;
    let dir = TempDir::new();
    let server = Referee::open(
        &dir.0,
        Config {
            policy: Policy {
                clock_base_ms: clock_ms,
                window_base_ms: clock_ms,
                ..Policy::default()
            },
            ..Config::default()
        },
    )
    .and_then(|r| r.serve("127.0.0.1:0"))
    .map_err(backend)?;
    let url = server.url();
    say(
        None,
        &format!("referee at {url}, log in {}", dir.0.display()),
    );
    let connect = || Client::connect(&url).map_err(backend);
    let players = Http {
        defender: connect()?,
        challenger: connect()?,
    };
    let report = play(prepared, &players, say);
    server.stop();
    report
}
