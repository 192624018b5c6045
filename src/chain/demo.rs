//! `mswap dispute --chain`: a whole dispute on a local `anvil` node that
//! this process starts itself, with the contracts as the referee: deploy,
//! a lying defender against an honest challenger (or as asked), every move
//! a transaction with its gas, the transcript exported and verified
//! offline.

use super::play::{ChainGame, Contract, play};
use super::rpc::{Rpc, game_init_code};
use crate::elf::Program;
use crate::game::claim::b_for_steps;
use crate::game::levels::two_levels;
use crate::game::local::{Attempt, transcript};
use crate::game::player::{Honest, Liar, Lie, Player, claimed_by};
use crate::game::rules::{Game, Side};
use crate::game::timeline::Timeline;
use crate::game::transcript::{Transcript, verify_transcript};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A node this process started; killed when dropped.
pub struct Node {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let child = Command::new(&bin)
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
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let node = Node {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let rpc = Rpc::new(&node.url);
    for _ in 0..200 {
        if rpc.accounts().is_ok() {
            return Ok(node);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("anvil did not answer at {}", node.url))
}

/// What a dispute on chain did.
pub struct Report {
    /// The moves and their gas.
    pub game: ChainGame,
    /// The transcript (verified offline).
    pub transcript: Transcript,
    /// The winner.
    pub winner: Side,
}

/// Plays a dispute on a fresh anvil node: `b` (default: the smallest that
/// covers the run, which must halt within 2^24 steps), two levels, the
/// defender and the challenger with the given lies (default: a defender
/// whose machine diverges in the middle of the run); `say` gets each line.
pub fn dispute(
    contracts: &Path,
    elf: &[u8],
    input: &[u8],
    b: Option<u32>,
    defender_lies: Vec<Lie>,
    challenger_lies: Vec<Lie>,
    say: &dyn Fn(&str),
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
    let node = start_anvil(contracts)?;
    let rpc = Rpc::new(&node.url);
    let accounts = rpc.accounts().map_err(|e| e.to_string())?;
    let [deployer, defender, challenger] = match accounts.get(..3) {
        Some([a, b, c]) => [a.clone(), b.clone(), c.clone()],
        _ => return Err("anvil has fewer than 3 accounts".into()),
    };
    let artifact = |n: &str| contracts.join(format!("out/{n}.sol/{n}.json"));
    let verifier = rpc
        .deploy_verifier(&deployer, &artifact("StepVerifier"))
        .map_err(|e| {
            format!("{e} (build the contracts: forge build --use script/solc --offline)")
        })?;
    let init = game_init_code(&artifact("DisputeGame"), &verifier, 3600, 3600, 48, 0, 0)
        .map_err(|e| e.to_string())?;
    let game_addr = rpc
        .send(&deployer, None, &init)
        .map_err(|e| e.to_string())?
        .contract
        .ok_or("no contract address")?;
    say(&format!(
        "anvil at {}; verifier {verifier}, game {game_addr}",
        node.url
    ));
    let timeline = || Timeline::new(&p, input, b, 10);
    let player = |side: Side, lies: Vec<Lie>| Player {
        side,
        strategy: if lies.is_empty() {
            Box::new(Honest {
                timeline: timeline(),
            })
        } else {
            Box::new(Liar::new(
                Honest {
                    timeline: timeline(),
                },
                lies,
            ))
        },
    };
    let mut d = player(Side::Defender, defender_lies);
    let mut c = player(Side::Challenger, challenger_lies);
    let claim = timeline().claim(p.hash, crate::hash::keccak(&[input]), b);
    let claim = claimed_by(claim, &mut *d.strategy);
    let start =
        Game::new(claim, elf, input, two_levels(b), 3_600_000, 0).map_err(|e| e.to_string())?;
    let mut game = start.clone();
    let contract = Contract {
        rpc: &rpc,
        game: game_addr,
        defender,
        challenger,
    };
    let played = play(&contract, &mut game, &mut d, &mut c, 10_000).map_err(|e| e.to_string())?;
    say(&format!("claim: b = {b}, {} gas", played.claim_gas));
    for (i, m) in played.moves.iter().enumerate() {
        let what = match &m.mv {
            crate::game::rules::Move::Midpoint {
                level,
                position,
                root,
            } => format!(
                "midpoint level {level} position {position}: {}",
                &root.to_hex()[..12]
            ),
            crate::game::rules::Move::Proof { .. } => "step proof".to_string(),
            other => format!("{other:?}").chars().take(60).collect(),
        };
        say(&format!(
            "{:3} {:<10} {:>7} gas  {what}",
            i + 1,
            m.side,
            m.gas
        ));
    }
    let log: Vec<Attempt> = played
        .moves
        .iter()
        .enumerate()
        .map(|(i, m)| Attempt {
            side: m.side,
            mv: m.mv.clone(),
            time_ms: i as u64 + 1,
            result: Ok(()),
        })
        .collect();
    let t = transcript("chain", &start, elf, input, &log, &game);
    verify_transcript(&t).map_err(|e| format!("the transcript does not verify: {e}"))?;
    let winner = game.outcome().ok_or("the game did not end")?.winner();
    Ok(Report {
        game: played,
        transcript: t,
        winner,
    })
}
