//! Helpers of the referee tests: a referee served on loopback from a fresh
//! directory, and claims and game requests on the example program.

use mswap::elf::Program;
use mswap::hash::keccak;
use mswap::players::timeline::Timeline;
use mswap::players::wire::CreateGame;
use mswap::referee::{Config, Referee, Server};
use mswap::rules::claim::Claim;
use std::path::PathBuf;

/// A fresh (removed if it was there) temporary directory for test `tag`.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mswap-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A referee with `config` on a fresh directory for `tag`, served on an
/// ephemeral loopback port; and its directory.
pub fn serve(tag: &str, config: Config) -> (Server, PathBuf) {
    let dir = temp_dir(tag);
    let referee = Referee::open(&dir, config).expect("opens");
    (referee.serve("127.0.0.1:0").expect("serves"), dir)
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
