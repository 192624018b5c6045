//! A referee of this process served on loopback from a fresh directory,
//! claims and game requests on the example program, and one-off HTTP
//! requests to it.

use mswap::elf::Program;
use mswap::hash::keccak;
use mswap::players::client::ClientError;
use mswap::players::timeline::Timeline;
use mswap::players::wire::CreateGame;
use mswap::referee::{Config, Limits, Policy, Referee, Server};
use mswap::rules::claim::Claim;
use std::net::IpAddr;
use std::path::PathBuf;

/// A referee with `config` on a fresh directory for `tag`, served on an
/// ephemeral loopback port; and its directory.
pub fn serve(tag: &str, config: Config) -> (Server, PathBuf) {
    let dir = super::scratch(tag);
    let referee = Referee::open(&dir, config).expect("opens");
    (referee.serve("127.0.0.1:0").expect("serves"), dir)
}

/// [`serve`] with the default configuration but for the base of the
/// clocks and of the challenge window, in milliseconds.
pub fn serve_clocks(tag: &str, clock_base_ms: u64, window_base_ms: u64) -> (Server, PathBuf) {
    let policy = Policy {
        clock_base_ms,
        window_base_ms,
        ..Policy::default()
    };
    serve(
        tag,
        Config {
            policy,
            ..Config::default()
        },
    )
}

/// The default configuration but for the base of the challenge window,
/// in milliseconds.
pub fn window_config(window_base_ms: u64) -> Config {
    Config {
        policy: Policy {
            window_base_ms,
            ..Policy::default()
        },
        ..Config::default()
    }
}

/// [`serve`] with the default configuration but for `limits`.
pub fn serve_limits(tag: &str, limits: Limits) -> (Server, PathBuf) {
    serve(
        tag,
        Config {
            limits,
            ..Config::default()
        },
    )
}

/// Stops `server` and removes its directory.
pub fn stop(server: Server, dir: PathBuf) {
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}

/// The true claim on `program` with `input` over `2^b` steps (from a
/// timeline with 8 checkpoints).
pub fn true_claim(program: &Program, input: &[u8], b: u32) -> Claim {
    Timeline::new(program, input, b, 3).claim(program.hash, keccak(&[input]), b)
}

/// Creates a game of the true claim on the example program (b = 5) at the
/// referee at `url`, unchallenged; its id.
pub fn a_game(url: &str) -> String {
    let (elf, input) = super::example();
    let p = Program::load(&elf).expect("the example loads");
    mswap::referee::client::Client::new(url)
        .create(&create_game(true_claim(&p, &input, 5), elf, input))
        .expect("creates")
        .game
}

/// A request for a game of `claim` with the referee's default levels,
/// clock and window.
pub fn create_game(claim: Claim, program: Vec<u8>, input: Vec<u8>) -> CreateGame {
    CreateGame {
        claim,
        program,
        input,
        levels: None,
        clock_ms: None,
        window_ms: None,
    }
}

/// The honest client's address.
pub const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// One request from 127.0.0.1 to the referee at `url` (`http://HOST:PORT`)
/// with `Connection: close`: the status and the body as text (a chunked
/// body joined); status 0 and no body where no answer came.
pub fn request(url: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let to = url.trim_start_matches("http://");
    super::raw::request(LOCAL, to, method, path, body).map_or((0, String::new()), |(s, b)| {
        (s, String::from_utf8_lossy(&b).into_owned())
    })
}

/// Asserts that `r` is a refusal with HTTP status `status` whose reason
/// says `words`.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(r: Result<T, ClientError>, status: u16, words: &str) {
    match r {
        Err(ClientError::Refused { status: s, reason }) => {
            assert_eq!(s, status, "{reason}");
            assert!(reason.contains(words), "{reason:?} should say {words:?}");
        }
        other => panic!("expected a {status} refusal saying {words:?}, got {other:?}"),
    }
}
