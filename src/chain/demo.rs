//! `mswap dispute --chain`: a whole dispute on a local `anvil` node that
//! this process starts itself, with the contracts as the referee: deploy,
//! then a defender and a challenger, each with its own account and its own
//! [`ChainReferee`], played by the same loops as over HTTP
//! ([`crate::players::client::defend`] and [`crate::players::client::play_with`]),
//! every move a transaction with its gas; the transcript rebuilt from the
//! logs and verified offline; both players withdraw their credit.

use super::referee::{ChainReferee, GasEntry};
use super::rpc::{Chain, GamePolicy, Key, RpcError};
use crate::elf::Program;
use crate::players::client::{ClientError, RefereeApi, defend, play_with};
use crate::players::player::{Honest, Liar, Lie, Player, Strategy, claimed_by};
use crate::players::timeline::Timeline;
use crate::players::wire::{ClaimStatus, CreateGame};
use crate::rules::Side;
use crate::rules::claim::b_for_steps;
use crate::rules::levels::two_levels;
use crate::rules::transcript::{Checked, Transcript, verify_transcript};
use alloy::primitives::U256;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// A running node: the process and its own Foundry home directory.
type Running = std::sync::Arc<Mutex<Option<(Child, PathBuf)>>>;

/// A node this process started; killed when dropped (or by [`stop_nodes`]).
pub struct Node {
    child: Running,
    /// Its JSON-RPC URL.
    pub url: String,
}

/// Every node this process started and has not stopped yet.
static NODES: Mutex<Vec<Running>> = Mutex::new(Vec::new());

/// Kills the node and removes its home: anvil keeps states that overflow
/// its memory in `~/.foundry/anvil/tmp/` and removes them only on a
/// graceful exit, so a killed one would leave them behind (its `HOME` and
/// `FOUNDRY_HOME` are a directory of its own).
fn stop(child: &Mutex<Option<(Child, PathBuf)>>) {
    if let Some((mut c, home)) = child.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = c.kill();
        let _ = c.wait();
        let _ = std::fs::remove_dir_all(home);
    }
}

/// Stops every node this process started (for a process about to exit
/// without unwinding, e.g. on Ctrl-C: no anvil is left running).
pub fn stop_nodes() {
    for child in NODES.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
        stop(&child);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        stop(&self.child);
        NODES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|c| !std::sync::Arc::ptr_eq(c, &self.child));
    }
}

/// The `contracts/` directory of the source tree this binary was built from.
pub const BUILD_CONTRACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts");

/// The `anvil` to start: `given` (`--anvil PATH`) if any, else the one
/// `npm ci` put in [`BUILD_CONTRACTS`], else the first `anvil` on the
/// `PATH`; so the demo finds it from any working directory.
pub fn find_anvil(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("--anvil {}: no such file", p.display()))
        };
    }
    let built = Path::new(BUILD_CONTRACTS).join("node_modules/.bin/anvil");
    if built.is_file() {
        return Ok(built);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("anvil"))
            .find(|p| p.is_file())
    });
    on_path.ok_or_else(|| {
        format!(
            "anvil not found: not in {} (run `npm ci` in {BUILD_CONTRACTS}) nor on the PATH; \
             or give its path with --anvil PATH",
            built.display()
        )
    })
}

/// Starts `anvil` (from `contracts/node_modules/.bin`) on a free loopback
/// port and waits until it answers.
pub fn start_anvil(contracts: &Path) -> Result<Node, String> {
    let bin = contracts.join("node_modules/.bin/anvil");
    if !bin.exists() {
        return Err(format!(
            "{} not found: run `npm ci` in {} first",
            bin.display(),
            contracts.display()
        ));
    }
    start_anvil_at(&bin)
}

/// Starts the `anvil` at `bin` on a free loopback port and waits until it
/// answers.
pub fn start_anvil_at(bin: &Path) -> Result<Node, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    // A Foundry home of its own (see `stop`), removed with the node.
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let home = std::env::temp_dir().join(format!(
        "mswap-anvil-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&home).map_err(|e| format!("cannot create {}: {e}", home.display()))?;
    let child = Command::new(bin)
        .env("FOUNDRY_HOME", &home)
        .env("HOME", &home)
        .args([
            "--port",
            &port.to_string(),
            "--host",
            "127.0.0.1",
            "--silent",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            let _ = std::fs::remove_dir_all(&home);
            format!("cannot start {}: {e}", bin.display())
        })?;
    let child = std::sync::Arc::new(Mutex::new(Some((child, home))));
    NODES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(child.clone());
    let node = Node {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let mut probe = Chain::connect(&node.url, &Key::Dev(0)).map_err(|e| e.to_string())?;
    probe.patience = Some(Duration::from_secs(10));
    probe
        .chain_id()
        .map_err(|e| format!("anvil did not answer: {e}"))?;
    Ok(node)
}

/// The demo's deployment policy: clocks of 10 minutes, a window of 10 s
/// (a claim whose defender won stands soon after), bonds of 1 and 0.1 ether.
pub fn demo_policy() -> GamePolicy {
    GamePolicy {
        clock_seconds: 600,
        window_seconds: 10,
        margin: 2,
        min_speed: 10_000_000,
        max_b: 48,
        claim_bond: U256::from(10u64).pow(U256::from(18)),
        challenge_bond: U256::from(10u64).pow(U256::from(17)),
    }
}

/// What a dispute on chain did.
pub struct Report {
    /// The transcript, rebuilt from the logs.
    pub transcript: Transcript,
    /// Its offline check.
    pub checked: Checked,
    /// The winner of the dispute.
    pub winner: Side,
    /// The side that told the truth, if only one lied.
    pub honest: Option<Side>,
    /// Where the claim stands.
    pub status: ClaimStatus,
    /// Every transaction of the game (deployment excepted): the defender's, then the challenger's.
    pub txs: Vec<(Side, GasEntry)>,
    /// What each side withdrew, wei.
    pub withdrawn: [U256; 2],
}

impl Report {
    /// Gas of every transaction of the game.
    pub fn total_gas(&self) -> u64 {
        self.txs.iter().map(|(_, e)| e.gas).sum()
    }
}

fn strategy(timeline: Timeline, lies: Vec<Lie>) -> Box<dyn Strategy> {
    let honest = Honest { timeline };
    if lies.is_empty() {
        Box::new(honest)
    } else {
        Box::new(Liar::new(honest, lies))
    }
}

fn err(e: ClientError) -> String {
    e.to_string()
}

/// Plays a dispute on a fresh anvil node: `b` (default: the smallest that
/// covers the run, which must halt within 2^24 steps), two levels, the
/// defender and the challenger with the given lies (default: a defender
/// whose machine diverges in the middle of the run); `say` gets each line
/// (each move once, by the side that made it, with its gas).
pub fn dispute(
    anvil: &Path,
    elf: &[u8],
    input: &[u8],
    b: Option<u32>,
    defender_lies: Vec<Lie>,
    challenger_lies: Vec<Lie>,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Report, String> {
    let p = Program::load(elf).map_err(|e| e.to_string())?;
    let mut m = crate::fast::Machine::new(p.initial_state(input));
    let steps = m.run(1 << 24);
    let b = match b {
        Some(b) => b,
        None if m.state().halted() => b_for_steps(steps + 1),
        None => return Err("the program runs past 2^24 steps: give --b".into()),
    };
    let defender_lies = if defender_lies.is_empty() && challenger_lies.is_empty() {
        vec![Lie::From {
            from: steps / 2,
            micro_from: 40,
        }]
    } else {
        defender_lies
    };
    let node = start_anvil_at(anvil)?;
    let deployer = Chain::connect(&node.url, &Key::Dev(0)).map_err(|e| e.to_string())?;
    let (verifier, vgas) = deployer
        .deploy_verifier()
        .map_err(|e: RpcError| e.to_string())?;
    let policy = demo_policy();
    let (game, r) = deployer
        .deploy_game(verifier, &policy)
        .map_err(|e| e.to_string())?;
    say(&format!(
        "anvil at {}; verifier {verifier} ({vgas} gas with its microcode's data contract), game {game} ({} gas)",
        node.url, r.gas_used
    ));
    say(&format!(
        "policy: clocks {} s, window {} s, claim bond {} wei, challenge bond {} wei",
        policy.clock_seconds, policy.window_seconds, policy.claim_bond, policy.challenge_bond
    ));
    play(
        &node.url,
        game,
        elf,
        input,
        b,
        [defender_lies, challenger_lies],
        say,
    )
}

/// Plays one claim and one dispute on the `DisputeGame` at `game` of the
/// node at `url`: the defender from development account 1, the challenger
/// from account 2, each with its lies (`lies[0]` the defender's), `b`
/// steps in two levels; `say` gets each line.
pub fn play(
    url: &str,
    game: alloy::primitives::Address,
    elf: &[u8],
    input: &[u8],
    b: u32,
    lies: [Vec<Lie>; 2],
    say: &(dyn Fn(&str) + Sync),
) -> Result<Report, String> {
    let p = Program::load(elf).map_err(|e| e.to_string())?;
    let [defender_lies, challenger_lies] = lies;
    let honest = match (defender_lies.is_empty(), challenger_lies.is_empty()) {
        (true, false) => Some(Side::Defender),
        (false, true) => Some(Side::Challenger),
        _ => None,
    };
    let referee = |n: usize| -> Result<ChainReferee, String> {
        let chain = Chain::connect(url, &Key::Dev(n)).map_err(|e| e.to_string())?;
        let r = ChainReferee::connect(chain, game).map_err(err)?;
        r.set_program(elf.to_vec(), input.to_vec());
        Ok(r)
    };
    let defender = referee(1)?;
    let challenger = referee(2)?;
    let timeline = || Timeline::new(&p, input, b, 10);
    let mut d_strategy = strategy(timeline(), defender_lies);
    let c_strategy = strategy(timeline(), challenger_lies);
    let claim = timeline().claim(p.hash, crate::hash::keccak(&[input]), b);
    let claim = claimed_by(claim, &mut *d_strategy);
    let created = defender
        .create(&CreateGame {
            claim: claim.clone(),
            program: elf.to_vec(),
            input: input.to_vec(),
            levels: Some(two_levels(b)),
            clock_ms: None,
            window_ms: None,
        })
        .map_err(err)?;
    let id = created.game.clone();
    say(&format!(
        "claim {id}: 2^{b} steps end in root {}.. ({} gas)",
        &claim.final_root.to_hex()[..12],
        defender.total_gas()
    ));
    // Each side tells its own moves, with their gas; the two threads' lines
    // are put back in the game's order (a refused move after the moves
    // before it) before they are said.
    let order = Mutex::new(InOrder::default());
    let tell = |who: Side, referee: &ChainReferee, n: u64, side: Side, line: &str| {
        let seq = line
            .strip_prefix("[seq ")
            .and_then(|r| r.split_once("] "))
            .and_then(|(k, text)| Some((k.parse::<u64>().ok()?, text)));
        match seq {
            Some((s, text)) if side == who => {
                let gas = referee
                    .gas_of(n, s)
                    .map_or(String::new(), |g| format!("{g:>7} gas  "));
                let accepted = !text.starts_with("refused");
                let line = format!("[{who:<10}] {gas}[seq {s}] {text}");
                let mut order = order.lock().unwrap_or_else(|p| p.into_inner());
                order.put(s, accepted, line, say);
            }
            Some(_) => {}
            None if who == Side::Challenger || n == 0 => say(&format!("[{who:<10}] {line}")),
            None => {}
        }
    };
    let (defended, played) = std::thread::scope(|s| {
        let d = s.spawn(|| {
            defend(&defender, &id, "", d_strategy, &|n, side, line| {
                tell(Side::Defender, &defender, n, side, &line)
            })
        });
        let c = (|| -> Result<(u64, crate::rules::Outcome), ClientError> {
            let joined = challenger.join(&id)?;
            let n = joined.dispute;
            let mut player = Player {
                side: Side::Challenger,
                strategy: c_strategy,
            };
            let o = play_with(&challenger, &id, n, "", &mut player, &mut |side, line| {
                tell(Side::Challenger, &challenger, n, side, &line)
            })?;
            Ok((n, o))
        })();
        (d.join(), c)
    });
    order
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .flush(say);
    let defended = defended
        .map_err(|_| "the defender's thread panicked".to_string())?
        .map_err(err)?;
    let (n, outcome) = played.map_err(err)?;
    let transcript = challenger.transcript(&id, n).map_err(err)?;
    let image = crate::elf::image_of(&transcript.program)
        .map_err(|e| format!("the transcript's program: {e}"))?;
    let checked = verify_transcript(&transcript, &image)
        .map_err(|e| format!("the transcript does not verify: {e}"))?;
    let withdrawn = [
        defender.withdraw(&id).map_err(err)?,
        challenger.withdraw(&id).map_err(err)?,
    ];
    let txs: Vec<(Side, GasEntry)> = defender
        .gas_log()
        .into_iter()
        .map(|e| (Side::Defender, e))
        .chain(
            challenger
                .gas_log()
                .into_iter()
                .map(|e| (Side::Challenger, e)),
        )
        .collect();
    Ok(Report {
        transcript,
        checked,
        winner: outcome.winner(),
        honest,
        status: defended.status,
        txs,
        withdrawn,
    })
}

/// Lines of one dispute, said in the order of its moves: the line of move
/// `seq` after those of the moves before it, a refused attempt at `seq`
/// (made when `seq` moves had been accepted) after the same.
#[derive(Default)]
struct InOrder {
    /// The next accepted move to say.
    next: u64,
    /// Lines waiting for an earlier one, by (seq, accepted).
    waiting: std::collections::BTreeMap<(u64, bool), String>,
}

impl InOrder {
    fn put(&mut self, seq: u64, accepted: bool, line: String, say: &(dyn Fn(&str) + Sync)) {
        self.waiting.insert((seq, accepted), line);
        while let Some(entry) = self.waiting.first_entry() {
            let (s, accepted) = *entry.key();
            if s > self.next {
                break;
            }
            say(&entry.remove());
            if accepted && s == self.next {
                self.next += 1;
            }
        }
    }

    /// Says whatever still waits (a move nobody told).
    fn flush(self, say: &(dyn Fn(&str) + Sync)) {
        for line in self.waiting.into_values() {
            say(&line);
        }
    }
}
