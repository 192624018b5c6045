//! `mswap referee`, `mswap defend`, `mswap challenge` and the in-process
//! demo `mswap dispute`.

use super::proof::write_atomic;
use super::{CliError, load_program, read_input};
use clap::Args;
use mswap::elf::Program;
use mswap::game::claim::{b_for_steps, steps_to_halt};
use mswap::game::client::{Client, play};
use mswap::game::levels::{Level, two_levels, with_strides};
use mswap::game::player::{Honest, Liar, Lie, Player, Strategy, claimed_by};
use mswap::game::referee::{Config, Referee};
use mswap::game::rules::{Move, Outcome, Side};
use mswap::game::timeline::Timeline;
use mswap::game::transcript::{Transcript, verify_transcript};
use mswap::game::wire::CreateGame;
use mswap::hash::keccak;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

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
}

/// Parses `two` or `strides:K[,K2...]`.
fn levels_for(spec: &str, b: u32) -> Result<Vec<Level>, CliError> {
    if spec == "two" {
        return Ok(two_levels(b));
    }
    let ks = spec
        .strip_prefix("strides:")
        .ok_or_else(|| format!("--levels {spec:?}: use `two` or `strides:K[,K2...]`"))?;
    let ks: Vec<u32> = ks
        .split(',')
        .map(|k| {
            k.parse::<u32>()
                .map_err(|e| format!("--levels {spec:?}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(with_strides(b, &ks))
}

fn parse_lies(specs: &[String]) -> Result<Vec<Lie>, CliError> {
    specs
        .iter()
        .map(|s| s.parse::<Lie>().map_err(CliError::from))
        .collect()
}

/// How far a run may go when the claim's `b` is chosen from its halting step.
const HALT_LIMIT: u64 = 1 << 36;

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

fn outcome_line(o: &Outcome) -> String {
    o.to_string()
}

fn save_transcript(
    client: &Client,
    id: &str,
    path: &Option<PathBuf>,
) -> Result<Option<Transcript>, CliError> {
    let Some(path) = path else { return Ok(None) };
    let t = client.transcript(id)?;
    let mut bytes = serde_json::to_vec_pretty(&t).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)?;
    eprintln!("transcript written to {}", path.display());
    Ok(Some(t))
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
    println!("game: {}", created.game);
    eprintln!(
        "claim: 2^{b} steps end in root 0x{} ({})",
        claim.final_root, claim.status
    );
    let mut player = Player {
        side: Side::Defender,
        strategy,
    };
    let outcome = play(
        &client,
        &created.game,
        &created.token,
        &mut player,
        &mut |l| eprintln!("{l}"),
    )?;
    eprintln!("result: {}", outcome_line(&outcome));
    save_transcript(&client, &created.game, &a.play.transcript)?;
    Ok(if outcome.winner() == Side::Defender {
        0
    } else {
        1
    })
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
    eprintln!(
        "disputing: the claim says root 0x{}, the run gives 0x{} ({})",
        claim.final_root, mine.final_root, mine.status
    );
    let joined = client.join(&a.game)?;
    let mut player = Player {
        side: Side::Challenger,
        strategy,
    };
    let outcome = play(&client, &a.game, &joined.token, &mut player, &mut |l| {
        eprintln!("{l}")
    })?;
    eprintln!("result: {}", outcome_line(&outcome));
    save_transcript(&client, &a.game, &a.play.transcript)?;
    Ok(if outcome.winner() == Side::Challenger {
        0
    } else {
        1
    })
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
    let program = Program::load(&elf).map_err(|e| format!("{name}: {e}"))?;
    let halt = steps_to_halt(&program, &input, 1 << 36);
    let b = match (a.b, halt) {
        (Some(b), _) => b,
        (None, Some(steps)) => b_for_steps(steps).max(1),
        (None, None) => return Err("the program does not halt within 2^36 steps: give --b".into()),
    };
    let levels = levels_for(&a.levels, b)?;
    let mut d_lies = parse_lies(&a.lies)?;
    let c_lies = parse_lies(&a.challenger_lies)?;
    if d_lies.is_empty() && c_lies.is_empty() {
        let mid = halt.unwrap_or(1 << b) / 2;
        d_lies.push(Lie::From {
            from: mid.max(1),
            micro_from: 30,
        });
    }
    let honest = match (d_lies.is_empty(), c_lies.is_empty()) {
        (true, false) => Some(Side::Defender),
        (false, true) => Some(Side::Challenger),
        _ => None,
    };
    println!("== mswap dispute: {name}, {} input bytes", input.len());
    println!(
        "   program 0x{}, {} steps to halt, claim over 2^{b} steps, levels {}",
        program.hash,
        halt.map_or("no halt".into(), |s| s.to_string()),
        levels
            .iter()
            .map(|l| format!("{:?} 2^{}", l.kind, l.log2).to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "   defender lies: {:?}; challenger lies: {:?}",
        d_lies, c_lies
    );

    let dir = std::env::temp_dir().join(format!("mswap-dispute-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let referee = Referee::open(
        &dir,
        Config {
            clock_ms: a.clock_ms,
        },
    )?;
    let server = referee.serve("127.0.0.1:0")?;
    let url = server.url();
    println!("   referee at {url}, log in {}", dir.display());
    let start = Instant::now();
    let (tx, rx) = mpsc::channel::<String>();

    let d = std::thread::spawn({
        let (url, elf, input, program, levels) = (
            url.clone(),
            elf.clone(),
            input.clone(),
            program.clone(),
            levels.clone(),
        );
        move || -> Result<(Outcome, u64), String> {
            let (strategy, claim, _) =
                strategy(&program, &input, Some(b), 10, d_lies).map_err(|e| e.msg)?;
            let client = Client::new(&url);
            let created = client
                .create(&CreateGame {
                    claim: claim.clone(),
                    program: elf,
                    input,
                    levels: Some(levels),
                    clock_ms: None,
                })
                .map_err(|e| e.to_string())?;
            println!(
                "[defender]   claims root 0x{} after 2^{b} steps ({})",
                claim.final_root, claim.status
            );
            let _ = tx.send(created.game.clone());
            let mut player = Player {
                side: Side::Defender,
                strategy,
            };
            let o = play(
                &client,
                &created.game,
                &created.token,
                &mut player,
                &mut |l| println!("[defender]   {l}"),
            )
            .map_err(|e| e.to_string())?;
            Ok((o, client.bytes()))
        }
    });
    let id = match rx.recv() {
        Ok(id) => id,
        Err(_) => {
            return Err(match d.join() {
                Ok(Err(e)) => format!("the defender failed: {e}"),
                _ => "the defender failed".to_string(),
            }
            .into());
        }
    };
    let c = std::thread::spawn({
        let (url, input, program, id) = (url.clone(), input.clone(), program.clone(), id.clone());
        move || -> Result<Option<(Outcome, u64)>, String> {
            let client = Client::new(&url);
            let view = client.view(&id, None, 0).map_err(|e| e.to_string())?;
            let (mut strategy, mine, _) =
                strategy(&program, &input, Some(b), 10, c_lies).map_err(|e| e.msg)?;
            if !strategy.disputes(&view.game.claim.final_root) {
                println!("[challenger] the claim is correct; no dispute");
                return Ok(None);
            }
            println!(
                "[challenger] disputes: the run ends in root 0x{}",
                mine.final_root
            );
            let joined = client.join(&id).map_err(|e| e.to_string())?;
            let mut player = Player {
                side: Side::Challenger,
                strategy,
            };
            let o = play(&client, &id, &joined.token, &mut player, &mut |l| {
                println!("[challenger] {l}")
            })
            .map_err(|e| e.to_string())?;
            Ok(Some((o, client.bytes())))
        }
    });
    let (outcome, d_bytes) = d.join().map_err(|_| "the defender panicked")??;
    let c_result = c.join().map_err(|_| "the challenger panicked")??;
    let secs = start.elapsed().as_secs_f64();
    let client = Client::new(&url);
    let transcript = client.transcript(&id)?;
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let mut bytes = serde_json::to_vec_pretty(&transcript).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    write_atomic(&a.transcript, &bytes)?;

    println!("== result: {outcome}");
    let rounds = transcript
        .moves
        .iter()
        .filter(|r| matches!(r.mv, Move::Midpoint { .. }))
        .count();
    println!(
        "   {} moves, {rounds} bisection rounds, {:.2} s, {} bytes exchanged",
        transcript.moves.len(),
        secs,
        d_bytes + c_result.as_ref().map_or(0, |(_, b)| *b)
    );
    let checked = verify_transcript(&transcript)
        .map_err(|e| format!("the transcript does not verify: {e}"))?;
    println!(
        "== transcript {} verified offline: {} wins{}",
        a.transcript.display(),
        checked.winner.map_or("nobody".into(), |w| w.to_string()),
        if checked.by_timeout { " (on time)" } else { "" }
    );
    match honest {
        Some(h) if outcome.winner() != h => {
            Err(format!("the dishonest {} won: this is a bug", outcome.winner()).into())
        }
        Some(h) => {
            println!("== the honest {h} won");
            Ok(0)
        }
        None => Ok(0),
    }
}
