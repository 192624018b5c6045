//! What the players' commands (`defend`, `challenge`, `dispute`, over
//! HTTP or on chain) share in their output: a referee's refusal as an
//! exit code, each move as a line of text or of JSON, and the summary
//! line of `dispute --json`.

use super::output::{self, CliError, outln};
use mswap::players::api::ClientError;
use mswap::rules::{Outcome, Side};
use serde::Serialize;
use std::path::PathBuf;

/// A failure to open a claim, find one or join it: the referee's refusal
/// (no such game, a claim against its policy) is a usage error (exit 2);
/// a referee that cannot be reached, exit 3.
pub(super) fn asked(e: ClientError) -> CliError {
    match e {
        ClientError::Refused { .. } => CliError::usage(format!("the referee {e}")),
        other => CliError::io(other.to_string()),
    }
}

/// One accepted move in `--json` output.
#[derive(Serialize)]
pub(super) struct MoveLine<'a> {
    pub(super) dispute: u64,
    pub(super) seq: u64,
    pub(super) side: Side,
    pub(super) text: &'a str,
    /// Gas of the move's transaction, for the player's own moves on chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) gas: Option<u64>,
}

/// What `dispute --json` prints at the end, over HTTP or on chain
/// (`--chain`): the same fields, the chain's own ones only there and the
/// bytes exchanged only over HTTP.
#[derive(Serialize)]
pub(super) struct Disputed {
    pub(super) outcome: Option<Outcome>,
    pub(super) winner: Option<Side>,
    pub(super) honest: Option<Side>,
    pub(super) moves: u64,
    pub(super) rounds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) bytes: Option<u64>,
    pub(super) transcript: Option<PathBuf>,
    pub(super) clock_notes: Vec<String>,
    #[serde(flatten)]
    pub(super) chain: Option<OnChain>,
}

/// What `dispute --chain --json` adds to its summary.
#[derive(Serialize)]
pub(super) struct OnChain {
    /// The claim's status in the contract.
    pub(super) status: String,
    pub(super) transactions: usize,
    /// Gas of all the game's transactions (deployment not counted).
    pub(super) gas: u64,
    /// What the defender and the challenger withdrew.
    pub(super) withdrawn_wei: [String; 2],
}

/// Prints a player's line: on standard output (with `[dispute N] ` when
/// `n > 0`), or with `--json` a JSON line for an accepted move and the
/// rest (news, refused moves) on standard error. Counts the accepted
/// moves in `seen`.
pub(super) fn say_line(
    json: bool,
    n: u64,
    side: Side,
    line: &str,
    seen: &std::sync::atomic::AtomicU64,
) {
    say_line_gas(json, n, side, line, seen, &|_| None)
}

/// [`say_line`], with the gas `gas(seq)` of an accepted move's transaction
/// where there is one (the player's own moves on chain).
pub(super) fn say_line_gas(
    json: bool,
    n: u64,
    side: Side,
    line: &str,
    seen: &std::sync::atomic::AtomicU64,
    gas: &dyn Fn(u64) -> Option<u64>,
) {
    // The client says an accepted move as "[seq N] TEXT", a refused one as
    // "[seq N] refused (STATUS): ...".
    let mv = line
        .strip_prefix("[seq ")
        .and_then(|r| r.split_once("] "))
        .filter(|(_, text)| !text.starts_with("refused ("))
        .and_then(|(k, text)| Some((k.parse::<u64>().ok()?, text)));
    if mv.is_some() {
        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let g = mv.and_then(|(seq, _)| gas(seq));
    let line = match g {
        Some(g) => format!("{line} [{g} gas]"),
        None => line.to_string(),
    };
    match (json, mv) {
        (true, Some((seq, text))) => output::json(&MoveLine {
            dispute: n,
            seq,
            side,
            text,
            gas: g,
        }),
        (true, None) => eprintln!("{line}"),
        (false, _) if n == 0 => outln!("{line}"),
        (false, _) => outln!("[dispute {n}] {line}"),
    }
}
