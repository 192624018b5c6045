//! `mswap referee`, `mswap defend`, `mswap challenge` and the in-process
//! demo `mswap dispute`.

use super::proof::write_atomic;
use super::{CliError, load_program, read_input};
use clap::Args;
use mswap::elf::Program;
use mswap::game::client::{Client, defend as defend_claim, play};
use mswap::game::demo::{self, HALT_LIMIT, Setup};
use mswap::game::levels::{Level, two_levels, with_strides};
use mswap::game::player::{Honest, Liar, Lie, Place, Player, Query, Strategy, claimed_by};
use mswap::game::referee::{Config, Limits, Policy, Referee};
use mswap::game::rules::Side;
use mswap::game::timeline::Timeline;
use mswap::game::transcript::Transcript;
use mswap::game::wire::ClaimStatus;
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
    /// Directory of the append-only log (created 0700 if missing).
    #[arg(long)]
    data: PathBuf,
    /// Each side's clock in a dispute before the re-execution allowance, ms.
    #[arg(long, default_value_t = 60_000)]
    clock_ms: u64,
    /// The challenge window before the re-execution allowance, ms.
    #[arg(long, default_value_t = 60_000)]
    window_ms: u64,
    /// The slowest machine A the clocks allow for, in steps per second:
    /// clock and window each add margin * 2^b / min-speed seconds.
    #[arg(long, default_value_t = 10_000_000)]
    min_speed: u64,
    /// Re-executions of 2^b steps the clock and the window each allow.
    #[arg(long, default_value_t = 2)]
    margin: u64,
    /// The largest b a claim may have.
    #[arg(long, default_value_t = 36)]
    max_b: u32,
    /// The largest program, bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_program: usize,
    /// The largest input, bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_input: usize,
    /// The most claims open at once.
    #[arg(long, default_value_t = 10_000)]
    max_open_claims: usize,
    /// The most claims and disputes one client address may open a minute.
    #[arg(long, default_value_t = 60)]
    max_opens_per_minute: usize,
    /// The most connections at once, in all.
    #[arg(long, default_value_t = 2048)]
    max_connections: usize,
    /// The most connections at once from one client address.
    #[arg(long, default_value_t = 64)]
    max_per_client: usize,
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
    /// Give up on an unreachable referee after this many seconds (default:
    /// keep retrying, with a line on stderr per retry, for as long as it
    /// takes: the referee charges nobody's clock while it is down).
    #[arg(long)]
    connect_timeout: Option<u64>,
}

/// A client of the referee at `url` with the player's patience; a
/// malformed URL fails here, before any work.
fn client(url: &str, play: &PlayArgs) -> Result<Client, CliError> {
    let mut c = Client::connect(url)?;
    c.patience = play.connect_timeout.map(std::time::Duration::from_secs);
    c.on_wait = Some(Box::new(|line| eprintln!("{line}")));
    Ok(c)
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
    /// The program (a static RV64IMAC ELF file).
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
    /// Each side's clock in each dispute, ms (default and least: the
    /// referee's policy for b).
    #[arg(long)]
    clock_ms: Option<u64>,
    /// The challenge window, ms (default and least: the referee's policy for b).
    #[arg(long)]
    window_ms: Option<u64>,
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

/// The file for dispute `n`'s transcript: `path` for the first, `STEM-dN.EXT` after.
fn transcript_path(path: &Path, n: u64) -> PathBuf {
    if n <= 1 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map_or("transcript".into(), |s| s.to_string_lossy());
    let name = match path.extension() {
        Some(e) => format!("{stem}-d{n}.{}", e.to_string_lossy()),
        None => format!("{stem}-d{n}"),
    };
    path.with_file_name(name)
}

/// What dispute `n` of game `id` cost; saves its transcript if asked.
fn report_dispute(
    client: &Client,
    id: &str,
    n: u64,
    path: &Option<PathBuf>,
) -> Result<(), CliError> {
    let t = client.transcript(id, n)?;
    println!(
        "game {id} dispute {n}: {} moves, {} bisection rounds",
        t.moves.len(),
        t.moves
            .iter()
            .filter(|r| matches!(r.mv, mswap::game::rules::Move::Midpoint { .. }))
            .count(),
    );
    if let Some(path) = path {
        let path = transcript_path(path, n);
        write_transcript(&path, &t)?;
        println!("transcript written to {}", path.display());
    }
    Ok(())
}

pub fn referee(a: RefereeArgs) -> Result<i32, CliError> {
    let policy = Policy {
        clock_base_ms: a.clock_ms,
        window_base_ms: a.window_ms,
        min_steps_per_s: a.min_speed.max(1),
        margin: a.margin,
        max_b: a.max_b.min(mswap::game::levels::MAX_B),
    };
    let referee = Referee::open(
        &a.data,
        Config {
            policy: policy.clone(),
            max_program: a.max_program,
            max_input: a.max_input,
            max_open_claims: a.max_open_claims,
            max_opens_per_minute: a.max_opens_per_minute,
            limits: Limits {
                max_connections: a.max_connections,
                max_per_client: a.max_per_client,
                ..Limits::default()
            },
        },
    )?;
    let server = referee.serve(&a.listen)?;
    eprintln!(
        "referee listening on {} (log in {})",
        server.url(),
        a.data.display()
    );
    eprintln!(
        "policy: clock {} ms + {} x 2^b / {} steps/s, window {} ms + the same, b <= {} (b = 20: clock {} ms, window {} ms)",
        policy.clock_base_ms,
        policy.margin,
        policy.min_steps_per_s,
        policy.window_base_ms,
        policy.max_b,
        policy.clock_ms(20),
        policy.window_ms(20)
    );
    server.wait();
    Ok(0)
}

pub fn defend(a: DefendArgs) -> Result<i32, CliError> {
    let client = client(&a.referee, &a.play)?;
    let program = load_program(&a.elf)?;
    let elf = super::read_file(&a.elf)?;
    let input = read_input(a.input.as_ref(), false)?;
    let lies = parse_lies(&a.play.lies)?;
    let (strategy, claim, b) = strategy(&program, &input, a.b, a.play.checkpoints, lies)?;
    let levels = levels_for(&a.levels, b)?;
    let created = client.create(&CreateGame {
        claim: claim.clone(),
        program: elf,
        input,
        levels: Some(levels),
        clock_ms: a.clock_ms,
        window_ms: a.window_ms,
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
    let strategy = paced(strategy, a.play.delay_ms);
    let say = |n: u64, _: Side, line: String| {
        if n == 0 {
            println!("{line}");
        } else {
            println!("[dispute {n}] {line}");
        }
    };
    let end = defend_claim(&client, &created.game, &created.token, strategy, &say)?;
    for (n, o) in &end.outcomes {
        println!("dispute {n}: {o}");
        report_dispute(&client, &created.game, *n, &a.play.transcript)?;
    }
    println!(
        "result: the claim {} ({} disputes; {} bytes exchanged by the defender)",
        match end.status {
            ClaimStatus::Stands => "stands: the defender won every dispute opened in the window",
            ClaimStatus::Refuted => "is refuted: a challenger won its dispute",
            ClaimStatus::Open => "is still open",
        },
        end.outcomes.len(),
        client.bytes()
    );
    Ok(if end.status == ClaimStatus::Stands {
        0
    } else {
        1
    })
}

pub fn challenge(a: ChallengeArgs) -> Result<i32, CliError> {
    let client = client(&a.referee, &a.play)?;
    let program = load_program(&a.elf)?;
    let input = read_input(a.input.as_ref(), false)?;
    let view = client.claim(&a.game, None, 0)?;
    let claim = view.claim.clone();
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
    let joined = client.join(&a.game)?;
    let n = joined.dispute;
    println!(
        "disputing game {} (dispute {n}): the claim says root 0x{}, the run gives 0x{} ({})",
        a.game, claim.final_root, mine.final_root, mine.status
    );
    let mut player = Player {
        side: Side::Challenger,
        strategy: paced(strategy, a.play.delay_ms),
    };
    let outcome = play(&client, &a.game, n, &joined.token, &mut player, &mut |l| {
        println!("{l}")
    })?;
    println!("result: {outcome}");
    report_dispute(&client, &a.game, n, &a.play.transcript)?;
    println!("{} bytes exchanged by the challenger", client.bytes());
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
    if let Some(t) = &r.transcript {
        write_transcript(&a.transcript, t)?;
    }
    match &r.outcome {
        Some(o) => println!("== result: {o}"),
        None => println!(
            "== result: no dispute; the claim stands unless someone disputes it before its window closes"
        ),
    }
    println!(
        "== {} moves, {} bisection rounds, {} bytes exchanged, game {:.2} s (first passes {:.2} s)",
        r.moves, r.rounds, r.bytes, r.game_secs, r.setup_secs
    );
    if let Some(checked) = &r.checked {
        println!(
            "== transcript {} verified offline: {}{}",
            a.transcript.display(),
            checked
                .winner
                .map_or("the game is open".into(), |w| format!("the {w} wins")),
            if checked.by_timeout {
                " (on time: the referee's clock, which an offline check cannot re-measure)"
            } else {
                " (the step proof settles it)"
            }
        );
        for note in checked.clock_notes() {
            println!("== note: {note}");
        }
    }
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
