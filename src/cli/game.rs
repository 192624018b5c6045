//! `mswap referee`, `mswap defend`, `mswap challenge` and the in-process
//! demo `mswap dispute`.

use super::proof::write_atomic;
use super::{CliError, load_program, read_input};
use clap::Args;
use mswap::elf::Program;
use mswap::game::client::{Client, play};
use mswap::game::demo::{self, HALT_LIMIT, Setup};
use mswap::game::levels::{Level, two_levels, with_strides};
use mswap::game::player::{Honest, Liar, Lie, Place, Player, Query, Strategy, claimed_by};
use mswap::game::referee::{Config, Referee};
use mswap::game::rules::{Outcome, Side};
use mswap::game::timeline::Timeline;
use mswap::game::transcript::Transcript;
use mswap::game::wire::CreateGame;
use mswap::hash::Hash;
use mswap::hash::keccak;
use mswap::proof::StepProof;
use std::path::{Path, PathBuf};

/// Arguments of `mswap referee`.
#[derive(Args)]
pub struct RefereeArgs {
    /// Address to listen on (loopback), e.g. 127.0.0.1:4000.
    #[arg(long, default_value = "127.0.0.1:4000")]
    listen: String,
    /// Directory of the append-only log (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// Default clock of each side, in milliseconds.
    #[arg(long, default_value_t = 300_000)]
    clock_ms: u64,
}

/// What the players share on the command line.
#[derive(Args, Clone)]
pub struct PlayArgs {
    /// A dishonest strategy (repeatable): from:STEP[:MICRO], final,
    /// at:LEVEL:POSITION, random:SEED, dispute-correct, bad-proof, silent[:AFTER].
    #[arg(long = "lie")]
    lies: Vec<String>,
    /// Save the game's transcript here at the end.
    #[arg(long)]
    transcript: Option<PathBuf>,
    /// log2 of the number of checkpoints the player keeps.
    #[arg(long, default_value_t = 10)]
    checkpoints: u32,
    /// Pause this long before each move (to watch a game; tests use it to
    /// stop the referee in the middle of one). The player's clock runs.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

/// A strategy that pauses before each decision.
struct Paced {
    inner: Box<dyn Strategy>,
    delay: std::time::Duration,
}

impl Strategy for Paced {
    fn root(&mut self, q: Query, place: Option<Place>) -> Hash {
        self.inner.root(q, place)
    }
    fn proof(&mut self, t: u64, j: u64) -> Option<StepProof> {
        self.inner.proof(t, j)
    }
    fn answers(&mut self, seq: u64) -> bool {
        // Player::decide asks this first, once per move.
        std::thread::sleep(self.delay);
        self.inner.answers(seq)
    }
    fn disputes(&mut self, claimed: &Hash) -> bool {
        self.inner.disputes(claimed)
    }
    fn agrees(&mut self, q: Query, place: Place, root: &Hash) -> bool {
        self.inner.agrees(q, place, root)
    }
}

/// The strategy, paced if asked.
fn paced(inner: Box<dyn Strategy>, delay_ms: u64) -> Box<dyn Strategy> {
    if delay_ms == 0 {
        inner
    } else {
        Box::new(Paced {
            inner,
            delay: std::time::Duration::from_millis(delay_ms),
        })
    }
}

/// Arguments of `mswap defend`.
#[derive(Args)]
pub struct DefendArgs {
    /// The referee's URL, e.g. http://127.0.0.1:4000.
    #[arg(long)]
    referee: String,
    /// The program (a static RV64IM ELF file).
    elf: PathBuf,
    /// The guest's input file (`-` for standard input; empty by default).
    #[arg(long)]
    input: Option<PathBuf>,
    /// log2 of the steps in the claim (default: the smallest covering the halt).
    #[arg(long)]
    b: Option<u32>,
    /// The bisection levels: `two` (default) or `strides:K[,K2...]`.
    #[arg(long, default_value = "two")]
    levels: String,
    /// Each side's clock in milliseconds (default: the referee's).
    #[arg(long)]
    clock_ms: Option<u64>,
    #[command(flatten)]
    play: PlayArgs,
}

/// Arguments of `mswap challenge`.
#[derive(Args)]
pub struct ChallengeArgs {
    /// The referee's URL.
    #[arg(long)]
    referee: String,
    /// The game to check.
    #[arg(long)]
    game: String,
    /// The program (must be the claim's).
    elf: PathBuf,
    /// The guest's input file (must be the claim's; empty by default).
    #[arg(long)]
    input: Option<PathBuf>,
    #[command(flatten)]
    play: PlayArgs,
}

/// Arguments of `mswap dispute`.
#[derive(Args)]
pub struct DisputeArgs {
    /// The program (default: the embedded guest).
    elf: Option<PathBuf>,
    /// The guest's input file (default: empty, or the embedded guest's).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The defender's lie (repeatable; default: from the middle of the run).
    #[arg(long = "lie")]
    lies: Vec<String>,
    /// The challenger's lie (repeatable; default: none).
    #[arg(long = "challenger-lie")]
    challenger_lies: Vec<String>,
    /// log2 of the steps in the claim.
    #[arg(long)]
    b: Option<u32>,
    /// The bisection levels: `two` or `strides:K[,K2...]`.
    #[arg(long, default_value = "two")]
    levels: String,
    /// Where to write the transcript.
    #[arg(long, default_value = "transcript.json")]
    transcript: PathBuf,
    /// Each side's clock in milliseconds.
    #[arg(long, default_value_t = 120_000)]
    clock_ms: u64,
    /// log2 of the number of checkpoints each player keeps.
    #[arg(long, default_value_t = 10)]
    checkpoints: u32,
    /// Play on a local anvil node with the contracts as the referee
    /// (needs `npm ci` and `forge build` in contracts/).
    #[arg(long)]
    chain: bool,
}

/// Parses `two` or `strides:K[,K2...]` into the strides of the extra steps levels.
fn strides(spec: &str) -> Result<Vec<u32>, CliError> {
    if spec == "two" {
        return Ok(Vec::new());
    }
    let ks = spec
        .strip_prefix("strides:")
        .ok_or_else(|| format!("--levels {spec:?}: use `two` or `strides:K[,K2...]`"))?;
    ks.split(',')
        .map(|k| {
            k.parse::<u32>()
                .map_err(|e| CliError::from(format!("--levels {spec:?}: {e}")))
        })
        .collect()
}

/// The levels of `spec` for a claim over `2^b` steps.
fn levels_for(spec: &str, b: u32) -> Result<Vec<Level>, CliError> {
    let ks = strides(spec)?;
    Ok(if ks.is_empty() {
        two_levels(b)
    } else {
        with_strides(b, &ks)
    })
}

fn parse_lies(specs: &[String]) -> Result<Vec<Lie>, CliError> {
    specs
        .iter()
        .map(|s| s.parse::<Lie>().map_err(CliError::from))
        .collect()
}

/// The player's strategy and its claim over `2^b` steps. Without `b`, one
/// pass runs the program to its halt and picks the smallest `b` covering it.
fn strategy(
    program: &Program,
    input: &[u8],
    b: Option<u32>,
    c: u32,
    lies: Vec<Lie>,
) -> Result<(Box<dyn Strategy>, mswap::game::claim::Claim, u32), CliError> {
    // The first pass can be long: show it on a terminal.
    let bar = super::progress::Progress::new("running the program", None);
    let last = std::sync::atomic::AtomicU64::new(0);
    let report = |done: u64| {
        let before = last.swap(done, std::sync::atomic::Ordering::Relaxed);
        bar.add(done.saturating_sub(before));
    };
    let (timeline, b) = match b {
        Some(b) => (
            Timeline::with_progress(program, input, b, c.min(b), &report),
            b,
        ),
        None => Timeline::until_halt(program, input, HALT_LIMIT, c, &report)
            .ok_or_else(|| "the program does not halt within 2^36 steps: give --b".to_string())?,
    };
    bar.finish();
    let claim = timeline.claim(program.hash, keccak(&[input]), b);
    let honest = Honest { timeline };
    Ok(if lies.is_empty() {
        (Box::new(honest), claim, b)
    } else {
        let mut liar = Liar::new(honest, lies);
        let claim = claimed_by(claim, &mut liar);
        (Box::new(liar), claim, b)
    })
}

/// Writes a transcript (pretty JSON), atomically.
fn write_transcript(path: &Path, t: &Transcript) -> Result<(), CliError> {
    let mut bytes = serde_json::to_vec_pretty(t).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// The end of a player's log: the result and what the game cost; saves
/// the transcript if asked. Exit code 0 iff `me` won.
fn finish(
    client: &Client,
    id: &str,
    me: Side,
    outcome: &Outcome,
    path: &Option<PathBuf>,
) -> Result<i32, CliError> {
    println!("result: {outcome}");
    let t = client.transcript(id)?;
    println!(
        "game {id}: {} moves, {} bisection rounds, {} bytes exchanged by the {me}",
        t.moves.len(),
        t.moves
            .iter()
            .filter(|r| matches!(r.mv, mswap::game::rules::Move::Midpoint { .. }))
            .count(),
        client.bytes()
    );
    if let Some(path) = path {
        write_transcript(path, &t)?;
        println!("transcript written to {}", path.display());
    }
    Ok(if outcome.winner() == me { 0 } else { 1 })
}

pub fn referee(a: RefereeArgs) -> Result<i32, CliError> {
    let referee = Referee::open(
        &a.data,
        Config {
            clock_ms: a.clock_ms,
        },
    )?;
    let server = referee.serve(&a.listen)?;
    eprintln!(
        "referee listening on {} (log in {})",
        server.url(),
        a.data.display()
    );
    server.wait();
    Ok(0)
}

pub fn defend(a: DefendArgs) -> Result<i32, CliError> {
    let program = load_program(&a.elf)?;
    let elf = super::read_file(&a.elf)?;
    let input = read_input(a.input.as_ref(), false)?;
    let lies = parse_lies(&a.play.lies)?;
    let (strategy, claim, b) = strategy(&program, &input, a.b, a.play.checkpoints, lies)?;
    let levels = levels_for(&a.levels, b)?;
    let client = Client::new(&a.referee);
    let created = client.create(&CreateGame {
        claim: claim.clone(),
        program: elf,
        input,
        levels: Some(levels),
        clock_ms: a.clock_ms,
    })?;
    // First line, for scripts.
    println!("game: {}", created.game);
    println!(
        "claim: 2^{b} steps end in root 0x{} ({}{})",
        claim.final_root,
        claim.status,
        claim
            .halted_after
            .map_or(String::new(), |h| format!(" after {h} steps"))
    );
    let mut player = Player {
        side: Side::Defender,
        strategy: paced(strategy, a.play.delay_ms),
    };
    let outcome = play(
        &client,
        &created.game,
        &created.token,
        &mut player,
        &mut |l| println!("{l}"),
    )?;
    finish(
        &client,
        &created.game,
        Side::Defender,
        &outcome,
        &a.play.transcript,
    )
}

pub fn challenge(a: ChallengeArgs) -> Result<i32, CliError> {
    let program = load_program(&a.elf)?;
    let input = read_input(a.input.as_ref(), false)?;
    let client = Client::new(&a.referee);
    let view = client.view(&a.game, None, 0)?;
    let claim = view.game.claim.clone();
    if claim.program != program.hash {
        return Err(format!(
            "game {} is about program 0x{}, not {} (0x{})",
            a.game,
            claim.program,
            a.elf.display(),
            program.hash
        )
        .into());
    }
    let input_hash = keccak(&[&input]);
    if claim.input != input_hash {
        return Err(format!(
            "game {} is about input 0x{}, not 0x{input_hash}",
            a.game, claim.input
        )
        .into());
    }
    let lies = parse_lies(&a.play.lies)?;
    let (mut strategy, mine, _) =
        strategy(&program, &input, Some(claim.b), a.play.checkpoints, lies)?;
    if !strategy.disputes(&claim.final_root) {
        println!(
            "the claim is correct: 2^{} steps end in root 0x{} ({})",
            claim.b, claim.final_root, mine.status
        );
        return Ok(0);
    }
    println!(
        "disputing game {}: the claim says root 0x{}, the run gives 0x{} ({})",
        a.game, claim.final_root, mine.final_root, mine.status
    );
    let joined = client.join(&a.game)?;
    let mut player = Player {
        side: Side::Challenger,
        strategy: paced(strategy, a.play.delay_ms),
    };
    let outcome = play(&client, &a.game, &joined.token, &mut player, &mut |l| {
        println!("{l}")
    })?;
    finish(
        &client,
        &a.game,
        Side::Challenger,
        &outcome,
        &a.play.transcript,
    )
}

pub fn dispute(a: DisputeArgs) -> Result<i32, CliError> {
    let (name, elf, input) = match &a.elf {
        Some(p) => (
            p.display().to_string(),
            super::read_file(p)?,
            read_input(a.input.as_ref(), false)?,
        ),
        None => {
            let (name, elf, input) = mswap::guests::default_guest();
            let input = match &a.input {
                Some(_) => read_input(a.input.as_ref(), false)?,
                None => input.to_vec(),
            };
            (format!("{name} (embedded)"), elf.to_vec(), input)
        }
    };
    if a.chain {
        return super::chain::dispute(
            &name,
            &elf,
            &input,
            a.b,
            parse_lies(&a.lies)?,
            parse_lies(&a.challenger_lies)?,
            &a.transcript,
        );
    }
    let setup = Setup {
        b: a.b,
        strides: strides(&a.levels)?,
        defender_lies: parse_lies(&a.lies)?,
        challenger_lies: parse_lies(&a.challenger_lies)?,
        clock_ms: a.clock_ms,
        checkpoints: a.checkpoints,
        ..Setup::new(elf, input)
    };
    println!("== mswap dispute: {name}");
    let say = |who: Option<Side>, line: &str| match who {
        None => println!("== {line}"),
        Some(Side::Defender) => println!("[defender]   {line}"),
        Some(Side::Challenger) => println!("[challenger] {line}"),
    };
    let r = demo::run(setup, &say).map_err(|e| format!("{name}: {e}"))?;
    write_transcript(&a.transcript, &r.transcript)?;
    match &r.outcome {
        Some(o) => println!("== result: {o}"),
        None => println!("== result: no dispute; the claim stands"),
    }
    println!(
        "== {} moves, {} bisection rounds, {} bytes exchanged, game {:.2} s (first passes {:.2} s)",
        r.moves, r.rounds, r.bytes, r.game_secs, r.setup_secs
    );
    println!(
        "== transcript {} verified offline: {}{}",
        a.transcript.display(),
        r.checked
            .winner
            .map_or("the game is open".into(), |w| format!("the {w} wins")),
        if r.checked.by_timeout {
            " (on time: the referee's clock, which an offline check cannot re-measure)"
        } else {
            ""
        }
    );
    match (r.honest, &r.outcome) {
        (Some(h), Some(o)) if o.winner() != h => {
            Err(format!("the dishonest {} won: this is a bug", o.winner()).into())
        }
        (Some(h), Some(_)) => {
            println!("== the honest {h} won");
            Ok(0)
        }
        _ => Ok(0),
    }
}
