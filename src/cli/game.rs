//! `mswap referee`, `mswap defend`, `mswap challenge` and the in-process
//! demo `mswap dispute`.

use super::chain::PlayChainArgs;
use super::input::{InputArg, load_program, read_file};
use super::output::{self, CliError, Exit, outln};
use super::play::{Disputed, asked, say_line, say_line_gas};
use super::validate;
use clap::Args;
use mswap::chain::referee::ChainReferee;
use mswap::elf::Program;
use mswap::hash::Hash;
use mswap::hash::keccak;
use mswap::players::api::RefereeApi;
use mswap::players::demo::{self, HALT_LIMIT, Setup};
use mswap::players::play::{defend as defend_claim, play_with};
use mswap::players::player::{Honest, Liar, Lie, Place, Player, Query, Strategy, claimed_by};
use mswap::players::timeline::Timeline;
use mswap::players::wire::ClaimStatus;
use mswap::players::wire::CreateGame;
use mswap::proof::StepProof;
use mswap::referee::client::Client;
use mswap::referee::demo as http_demo;
use mswap::referee::{Config, Limits, Policy, Referee};
use mswap::rules::transcript::Transcript;
use mswap::rules::{Outcome, Side};
use serde::Serialize;
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
    /// The most claims and disputes the addresses of one network (an IPv4
    /// /24, an IPv6 /64) may open a minute, together.
    #[arg(long, default_value_t = 240)]
    max_opens_per_minute_per_prefix: usize,
    /// The most open claims opened from one client address.
    #[arg(long, default_value_t = 250)]
    max_open_claims_per_address: usize,
    /// The most open claims opened from the addresses of one network.
    #[arg(long, default_value_t = 1_000)]
    max_open_claims_per_prefix: usize,
    /// The most disputes of one claim running at once; more wait in a
    /// queue, their clocks stopped, and start as running ones end.
    #[arg(long, default_value_t = 32)]
    max_running_disputes: usize,
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
    /// Print one JSON line per accepted move, then one summary line (other
    /// news goes to standard error).
    #[arg(long)]
    json: bool,
}

/// A client of the referee at `url` with the player's patience; a
/// malformed URL fails here, before any work.
fn client(url: &str, play: &PlayArgs) -> Result<Client, CliError> {
    let url = validate::url("--referee", url)?;
    let mut c = Client::connect(&url)?;
    c.patience = play.connect_timeout.map(std::time::Duration::from_secs);
    c.on_wait = Some(Box::new(|line| eprintln!("{line}")));
    Ok(c)
}

/// The referee a player talks to: the HTTP service, or a contract on a
/// chain. Everything else is the same code (the [`RefereeApi`] is the seam).
enum Conn {
    Http(Client, String),
    Chain(Box<ChainReferee>),
}

impl Conn {
    /// `--referee URL` or `--chain URL --contract ADDR` (clap lets exactly
    /// one through); `account` is the development account a chain player
    /// signs with when no key is given.
    fn open(
        referee: &Option<String>,
        on_chain: &PlayChainArgs,
        play: &PlayArgs,
        account: usize,
    ) -> Result<Conn, CliError> {
        match referee {
            Some(url) => Ok(Conn::Http(client(url, play)?, url.clone())),
            None => Ok(Conn::Chain(Box::new(super::chain::referee(
                on_chain,
                account,
                play.connect_timeout.map(std::time::Duration::from_secs),
                play.json,
            )?))),
        }
    }

    fn api(&self) -> &dyn RefereeApi {
        match self {
            Conn::Http(c, _) => c,
            Conn::Chain(r) => &**r,
        }
    }

    fn chain(&self) -> Option<&ChainReferee> {
        match self {
            Conn::Http(..) => None,
            Conn::Chain(r) => Some(&**r),
        }
    }

    /// Where a claim's games go on, for the Ctrl-C message.
    fn where_claim(&self, id: &str) -> String {
        match self {
            Conn::Http(_, url) => format!("at the referee: {url}/games/{id}/view"),
            Conn::Chain(r) => format!("on chain: claim {id} of the contract {}", r.contract()),
        }
    }

    /// The gas of the player's own move in dispute `n` at `seq`, on chain.
    fn gas(&self, n: u64, seq: u64) -> Option<u64> {
        self.chain().and_then(|r| r.gas_of(n, seq))
    }
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
    fn roots(&mut self, asked: &[(Query, Place)]) -> Vec<Hash> {
        self.inner.roots(asked)
    }
    fn pick(&mut self, asked: &[(Query, Place)], roots: &[Hash]) -> u64 {
        self.inner.pick(asked, roots)
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
    /// The referee's URL, e.g. http://127.0.0.1:4000 (or --chain).
    #[arg(long, required_unless_present = "chain")]
    referee: Option<String>,
    #[command(flatten)]
    on_chain: PlayChainArgs,
    /// The program (a static RV64IMAC ELF file).
    elf: PathBuf,
    #[command(flatten)]
    input: InputArg,
    /// log2 of the steps in the claim (default: the smallest covering the halt).
    #[arg(long)]
    b: Option<u32>,
    /// Without --b, the most steps run to find the program's halt (default
    /// 2^36); a program still running there is refused (give --b).
    #[arg(long, value_name = "N", conflicts_with = "b")]
    max_steps: Option<u64>,
    /// The bisection levels, a comma-separated list of `two`,
    /// `strides:K[,K2...]`, `steps:k=N`, `micro:k=N` (fan-outs: 2 where the
    /// list does not say; default without --levels: k = 32 at every level,
    /// over HTTP and on chain).
    #[arg(long)]
    levels: Option<String>,
    /// Each side's clock in each dispute, ms (default and least: the
    /// referee's policy for b; on chain, the contract's deployment sets it).
    #[arg(long, conflicts_with = "chain")]
    clock_ms: Option<u64>,
    /// The challenge window, ms (default and least: the referee's policy
    /// for b; on chain, the contract's deployment sets it).
    #[arg(long, conflicts_with = "chain")]
    window_ms: Option<u64>,
    #[command(flatten)]
    play: PlayArgs,
}

/// Arguments of `mswap challenge`.
#[derive(Args)]
pub struct ChallengeArgs {
    /// The referee's URL (or --chain).
    #[arg(long, required_unless_present = "chain")]
    referee: Option<String>,
    #[command(flatten)]
    on_chain: PlayChainArgs,
    /// The game to check.
    #[arg(long)]
    game: String,
    /// The program (must be the claim's).
    elf: PathBuf,
    /// The guest's input (must be the claim's; with --chain, the claim's
    /// own by default, from its log).
    #[command(flatten)]
    input: InputArg,
    #[command(flatten)]
    play: PlayArgs,
}

/// Arguments of `mswap dispute`.
#[derive(Args)]
pub struct DisputeArgs {
    /// The program (default: the embedded guest, with its own input
    /// unless --input is given).
    elf: Option<PathBuf>,
    #[command(flatten)]
    input: InputArg,
    /// The defender's lie (repeatable; default: from the middle of the run).
    #[arg(long = "lie")]
    lies: Vec<String>,
    /// The challenger's lie (repeatable; default: none).
    #[arg(long = "challenger-lie")]
    challenger_lies: Vec<String>,
    /// log2 of the steps in the claim (default: the smallest covering the halt).
    #[arg(long)]
    b: Option<u32>,
    /// Without --b, the most steps run to find the program's halt (default
    /// 2^36); a program still running there is refused (give --b).
    #[arg(long, value_name = "N", conflicts_with = "b")]
    max_steps: Option<u64>,
    /// The bisection levels, a comma-separated list of `two`,
    /// `strides:K[,K2...]`, `steps:k=N`, `micro:k=N` (fan-outs: 2 where the
    /// list does not say; default without --levels: k = 32 at every level,
    /// over HTTP and on chain).
    #[arg(long)]
    levels: Option<String>,
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
    /// (needs anvil: `npm ci` in contracts/).
    #[arg(long)]
    chain: bool,
    /// The anvil to start for --chain (default: contracts/node_modules/.bin/anvil
    /// of the source tree mswap was built from, else `anvil` on the PATH).
    #[arg(long, value_name = "PATH", requires = "chain")]
    anvil: Option<PathBuf>,
    /// Print one JSON line per accepted move, then one summary line.
    #[arg(long)]
    json: bool,
}

fn parse_lies(specs: &[String]) -> Result<Vec<Lie>, CliError> {
    specs
        .iter()
        .map(|s| {
            s.parse::<Lie>()
                .map_err(|e| CliError::usage(format!("--lie {s}: {e}")))
        })
        .collect()
}

/// A player ready to play: its strategy, the claim its run makes (the
/// lies included), `b`, and `root(S_0)` of its run.
struct Prepared {
    strategy: Box<dyn Strategy>,
    claim: mswap::rules::claim::Claim,
    b: u32,
    initial_root: Hash,
}

/// The player's strategy and its claim over `2^b` steps of `program` on
/// `input` (whose hash is `input_hash`): one pass, its timeline's first.
/// Without `b`, the pass runs the program to its halt and picks the
/// smallest `b` covering it.
fn strategy(
    program: &Program,
    input: &[u8],
    input_hash: Hash,
    b: Option<u32>,
    halt_limit: u64,
    c: u32,
    lies: Vec<Lie>,
) -> Result<Prepared, CliError> {
    // The first pass can be long: show it on a terminal.
    let bar = super::progress::Progress::new("running the program", None);
    let last = std::sync::atomic::AtomicU64::new(0);
    let report = |done: u64| {
        let before = last.swap(done, std::sync::atomic::Ordering::Relaxed);
        bar.add(done.saturating_sub(before));
    };
    let (mut timeline, b) = match b {
        Some(b) => (
            Timeline::with_progress(program, input, b, c.min(b), &report),
            b,
        ),
        None => Timeline::until_halt(program, input, halt_limit, c, &report)
            .ok_or_else(|| CliError::usage(demo::no_halt(halt_limit)))?,
    };
    bar.finish();
    // The first pass hashed S_0 (its tree starts the run): no second tree.
    let initial_root = timeline.root_at(0);
    let claim = timeline.claim(program.hash, input_hash, b);
    let honest = Honest { timeline };
    let (strategy, claim): (Box<dyn Strategy>, _) = if lies.is_empty() {
        (Box::new(honest), claim)
    } else {
        let mut liar = Liar::new(honest, lies);
        let claim = claimed_by(claim, &mut liar);
        (Box::new(liar), claim)
    };
    Ok(Prepared {
        strategy,
        claim,
        b,
        initial_root,
    })
}

/// Writes a transcript (pretty JSON), atomically.
fn write_transcript(path: &Path, t: &Transcript) -> Result<(), CliError> {
    let mut bytes = serde_json::to_vec_pretty(t).map_err(|e| CliError::io(e.to_string()))?;
    bytes.push(b'\n');
    output::write_output(path, &bytes)
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

/// A dispute's summary in `--json` output.
#[derive(Serialize)]
struct DisputeEnd {
    dispute: u64,
    outcome: Outcome,
    winner: Side,
    moves: u64,
    rounds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    transcript: Option<PathBuf>,
}

/// What dispute `n` of game `id` cost; saves its transcript if asked.
fn report_dispute(
    client: &dyn RefereeApi,
    id: &str,
    n: u64,
    outcome: &Outcome,
    path: &Option<PathBuf>,
    json: bool,
) -> Result<DisputeEnd, CliError> {
    // The whole transcript (the program and input with the moves: maybe
    // megabytes) only when it is to be written; the moves alone otherwise.
    let t = match path {
        Some(_) => Some(client.transcript(id, n)?),
        None => None,
    };
    let fetched;
    let (dispute, moves) = match &t {
        Some(t) => (t.dispute, &t.moves),
        None => {
            fetched = client.moves(id, n)?;
            (fetched.dispute, &fetched.moves)
        }
    };
    // The referee's number for the dispute (on chain, known once the
    // challenge was mined; `n` may have been a provisional one).
    let n = if dispute > 0 { dispute } else { n };
    let rounds = moves
        .iter()
        .filter(|r| matches!(r.mv, mswap::rules::Move::Dissect { .. }))
        .count() as u64;
    if !json {
        outln!(
            "game {id} dispute {n}: {} moves, {rounds} bisection rounds",
            moves.len(),
        );
    }
    let mut written = None;
    if let (Some(path), Some(t)) = (path, &t) {
        let path = transcript_path(path, n);
        write_transcript(&path, t)?;
        if !json {
            outln!("transcript written to {}", path.display());
        }
        written = Some(path);
    }
    Ok(DisputeEnd {
        dispute: n,
        outcome: outcome.clone(),
        winner: outcome.winner(),
        moves: moves.len() as u64,
        rounds,
        transcript: written,
    })
}

/// Checks the options of a player before any work.
fn check_play(play: &PlayArgs) -> Result<(), CliError> {
    if let Some(p) = &play.transcript {
        output::check_writable("--transcript", p)?;
    }
    parse_lies(&play.lies)?;
    Ok(())
}

pub fn referee(a: RefereeArgs) -> Result<i32, CliError> {
    let policy = Policy {
        clock_base_ms: a.clock_ms,
        window_base_ms: a.window_ms,
        min_steps_per_s: a.min_speed.max(1),
        margin: a.margin,
        max_b: a.max_b.min(mswap::rules::levels::MAX_B),
    };
    // Both options before anything is created: the address must parse and
    // be free, the data directory must be one (or not exist yet).
    let addr = std::net::ToSocketAddrs::to_socket_addrs(a.listen.as_str())
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            CliError::usage(format!(
                "--listen {}: not an address to listen on (HOST:PORT, e.g. 127.0.0.1:4000)",
                a.listen
            ))
        })?;
    drop(
        std::net::TcpListener::bind(addr)
            .map_err(|e| CliError::io(format!("--listen {}: cannot listen: {e}", a.listen)))?,
    );
    if a.data.exists() && !a.data.is_dir() {
        return Err(CliError::usage(format!(
            "--data {}: not a directory",
            a.data.display()
        )));
    }
    let created = !a.data.exists();
    let referee = Referee::open(
        &a.data,
        Config {
            policy: policy.clone(),
            max_program: a.max_program,
            max_input: a.max_input,
            max_open_claims: a.max_open_claims,
            max_opens_per_minute: a.max_opens_per_minute,
            max_opens_per_minute_per_prefix: a.max_opens_per_minute_per_prefix,
            max_open_claims_per_address: a.max_open_claims_per_address,
            max_open_claims_per_prefix: a.max_open_claims_per_prefix,
            max_running_disputes: a.max_running_disputes,
            limits: Limits {
                max_connections: a.max_connections,
                max_per_client: a.max_per_client,
                ..Limits::default()
            },
        },
    )?;
    let server = match referee.serve(&a.listen) {
        Ok(s) => s,
        Err(e) => {
            drop(referee);
            if created {
                // Nothing was accepted: leave no directory behind.
                let _ = std::fs::remove_dir_all(&a.data);
            }
            return Err(CliError::io(e.to_string()));
        }
    };
    {
        let (url, data) = (server.url(), a.data.display().to_string());
        output::on_interrupt(move || {
            eprintln!(
                "mswap: interrupted: the referee at {url} stopped; its log in {data} keeps every \
accepted move, and `mswap referee --data {data}` resumes its games"
            )
        });
    }
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

/// What `defend --json` prints first.
#[derive(Serialize)]
struct ClaimLine<'a> {
    game: &'a str,
    b: u32,
    final_root: Hash,
    halted_after: Option<u64>,
}

/// What `defend --json` prints at the end.
#[derive(Serialize)]
struct Defended {
    game: String,
    status: ClaimStatus,
    b: u32,
    final_root: Hash,
    disputes: Vec<DisputeEnd>,
    bytes: u64,
    /// On chain: the withdrawal and the gas.
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<super::chain::Settled>,
}

pub fn defend(a: DefendArgs) -> Result<i32, CliError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    // Every option before any work.
    let conn = Conn::open(&a.referee, &a.on_chain, &a.play, 1)?;
    let client = conn.api();
    validate::b(a.b)?;
    validate::levels(a.levels.as_deref(), a.b)?;
    check_play(&a.play)?;
    a.input.check()?;
    let program = load_program(&a.elf)?;
    let elf = read_file(&a.elf)?;
    let input = a.input.read()?;
    let lies = parse_lies(&a.play.lies)?;
    let halt_limit = max_steps(a.max_steps)?;
    let Prepared {
        strategy, claim, b, ..
    } = strategy(
        &program,
        &input,
        keccak(&[&input]),
        a.b,
        halt_limit,
        a.play.checkpoints,
        lies,
    )?;
    let levels = validate::levels_for(a.levels.as_deref(), b)?;
    let created = client
        .create(&CreateGame {
            claim: claim.clone(),
            program: elf,
            input,
            // On chain without --levels, the chain's referee chooses
            // (`chain::referee::chain_levels`: the fan-out of least gas).
            levels: (a.levels.is_some() || a.on_chain.chain.is_none()).then_some(levels),
            clock_ms: a.clock_ms,
            window_ms: a.window_ms,
        })
        .map_err(asked)?;
    let json = a.play.json;
    let id = created.game.clone();
    let claim_line = format!(
        "claim: 2^{b} steps end in root {} ({}{})",
        output::hash(&claim.final_root),
        claim.status,
        claim
            .halted_after
            .map_or(String::new(), |h| format!(" after {h} steps"))
    );
    if json {
        // First line, for scripts: the game's id and the claim.
        output::json(&ClaimLine {
            game: &id,
            b,
            final_root: claim.final_root,
            halted_after: claim.halted_after,
        });
        eprintln!("game: {id}\n{claim_line}");
    } else {
        // First line, for scripts.
        outln!("game: {id}");
        outln!("{claim_line}");
    }
    if let Some(e) = conn
        .chain()
        .and_then(|r| r.gas_log().into_iter().find(|e| e.what == "claim"))
    {
        let line = format!("tx claim: {} gas ({})", e.gas, e.tx);
        if json {
            eprintln!("{line}");
        } else {
            outln!("{line}");
        }
    }
    let seen = Arc::new(AtomicU64::new(0));
    {
        let (seen, id, place) = (seen.clone(), id.clone(), conn.where_claim(&id));
        output::on_interrupt(move || {
            eprintln!(
                "mswap: interrupted: claim {id}, {} moves seen; its disputes go on {place} \
(the defender's clock runs)",
                seen.load(Ordering::Relaxed)
            )
        });
    }
    let strategy = paced(strategy, a.play.delay_ms);
    let say = |n: u64, side: Side, line: String| {
        let gas = |seq| (side == Side::Defender).then(|| conn.gas(n, seq)).flatten();
        say_line_gas(json, n, side, &line, &seen, &gas)
    };
    let end = defend_claim(client, &id, &created.token, strategy, &say)?;
    output::clear_interrupt();
    let mut disputes = Vec::new();
    for (n, o) in &end.outcomes {
        if !json {
            outln!("dispute {n}: {o}");
        }
        disputes.push(report_dispute(
            client,
            &id,
            *n,
            o,
            &a.play.transcript,
            json,
        )?);
    }
    let settled = match conn.chain() {
        Some(r) => Some(super::chain::settle(r, &id, json)?),
        None => None,
    };
    if json {
        output::json(&Defended {
            game: id,
            status: end.status,
            b,
            final_root: claim.final_root,
            disputes,
            bytes: client.bytes(),
            chain: settled,
        });
    } else {
        outln!(
            "result: the claim {} ({}; {} bytes exchanged by the defender)",
            match end.status {
                ClaimStatus::Stands if end.outcomes.is_empty() =>
                    "stands: no dispute was opened in the window",
                ClaimStatus::Stands =>
                    "stands: the defender won every dispute opened in the window",
                ClaimStatus::Refuted => "is refuted: a challenger won its dispute",
                ClaimStatus::Open => "is still open",
            },
            output::count(end.outcomes.len() as u64, "dispute"),
            client.bytes()
        );
    }
    Ok(if end.status == ClaimStatus::Stands {
        Exit::Ok.code()
    } else {
        Exit::Negative.code()
    })
}

/// What `challenge --json` prints at the end.
#[derive(Serialize)]
struct Challenged {
    game: String,
    /// Whether the claim's final root is the challenger's own.
    claim_correct: bool,
    final_root: Hash,
    #[serde(skip_serializing_if = "Option::is_none")]
    dispute: Option<DisputeEnd>,
    bytes: u64,
    /// On chain: the withdrawal and the gas.
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<super::chain::Settled>,
}

pub fn challenge(a: ChallengeArgs) -> Result<i32, CliError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let conn = Conn::open(&a.referee, &a.on_chain, &a.play, 2)?;
    let client = conn.api();
    {
        let (id, place) = (a.game.clone(), conn.where_claim(&a.game));
        output::on_interrupt(move || {
            eprintln!(
                "mswap: interrupted before any move: no dispute of claim {id} was opened \
(the claim goes on {place})"
            )
        });
    }
    check_play(&a.play)?;
    a.input.check()?;
    let program = load_program(&a.elf)?;
    let input = match (conn.chain(), &a.input.input) {
        // On chain the claim carries its input (its ClaimMade log): without
        // --input the challenger plays that one.
        (Some(r), None) => r.claim_input(&a.game).map_err(asked)?,
        _ => a.input.read()?,
    };
    if let Some(r) = conn.chain() {
        // The chain holds only the hashes: the transcript carries our own bytes.
        r.set_program(read_file(&a.elf)?, input.clone());
    }
    let json = a.play.json;
    let view = client.claim(&a.game, None, 0).map_err(asked)?;
    let claim = view.claim.clone();
    if claim.program != program.hash {
        return Err(CliError::usage(format!(
            "game {} is about program {}, not {} ({})",
            a.game,
            output::hash(&claim.program),
            a.elf.display(),
            output::hash(&program.hash)
        )));
    }
    let input_hash = keccak(&[&input]);
    if claim.input != input_hash {
        return Err(CliError::usage(format!(
            "game {} is about input {}, not {} (give the claim's input with --input)",
            a.game,
            output::hash(&claim.input),
            output::hash(&input_hash)
        )));
    }
    // The rules' other checks before the run (the hashes are checked above).
    mswap::rules::check_limits(&claim, &input)
        .map_err(|e| CliError::usage(format!("game {}: {e}", a.game)))?;
    let lies = parse_lies(&a.play.lies)?;
    let Prepared {
        mut strategy,
        claim: mine,
        initial_root,
        ..
    } = strategy(
        &program,
        &input,
        input_hash,
        Some(claim.b),
        HALT_LIMIT,
        a.play.checkpoints,
        lies,
    )?;
    // The claim names root(S_0) (on chain, the defender states it): it
    // must be the one this program and input give (the first pass's own
    // tree of S_0, which the rules' `initial_root` equals: see
    // src/state/initial.rs).
    if view.initial_root != initial_root {
        return Err(CliError::usage(format!(
            "game {} starts from root(S_0) = {}, but {} with this input starts from {}: refusing to play another program",
            a.game,
            output::hash(&view.initial_root),
            a.elf.display(),
            output::hash(&initial_root)
        )));
    }
    if !strategy.disputes(&claim.final_root) {
        if json {
            output::json(&Challenged {
                game: a.game.clone(),
                claim_correct: true,
                final_root: claim.final_root,
                dispute: None,
                bytes: client.bytes(),
                chain: None,
            });
        } else {
            outln!(
                "the claim is correct: 2^{} steps end in root {} ({})",
                claim.b,
                output::hash(&claim.final_root),
                mine.status
            );
        }
        return Ok(Exit::Ok.code());
    }
    let joined = client.join(&a.game).map_err(asked)?;
    let n = joined.dispute;
    // On chain the dispute gets its number when the challenge is mined
    // (another challenger may come first): the number is told then.
    let which = match &conn {
        Conn::Http(..) => format!(" (dispute {n})"),
        Conn::Chain(_) => String::new(),
    };
    let opening = format!(
        "disputing game {}{which}: the claim says root {}, the run gives {} ({})",
        a.game,
        output::hash(&claim.final_root),
        output::hash(&mine.final_root),
        mine.status
    );
    if json {
        eprintln!("{opening}");
    } else {
        outln!("{opening}");
    }
    let seen = Arc::new(AtomicU64::new(0));
    {
        let (seen, id) = (seen.clone(), a.game.clone());
        let place = match &conn {
            Conn::Http(_, url) => format!("at the referee: {url}/games/{id}/disputes/{n}/view"),
            Conn::Chain(r) => format!("on chain: claim {id} of the contract {}", r.contract()),
        };
        output::on_interrupt(move || {
            eprintln!(
                "mswap: interrupted: game {id} dispute {n}, {} moves seen; the dispute goes on {place} \
(the challenger's clock runs)",
                seen.load(Ordering::Relaxed)
            )
        });
    }
    let mut player = Player {
        side: Side::Challenger,
        strategy: paced(strategy, a.play.delay_ms),
    };
    let outcome = play_with(
        client,
        &a.game,
        n,
        &joined.token,
        &mut player,
        // Its lines on screen as before (one dispute: no "[dispute N]");
        // with --json, each move names its dispute.
        &mut |side, l| {
            let gas = |seq| {
                (side == Side::Challenger)
                    .then(|| conn.gas(n, seq))
                    .flatten()
            };
            say_line_gas(json, if json { n } else { 0 }, side, &l, &seen, &gas)
        },
    )?;
    output::clear_interrupt();
    if !json {
        outln!("result: {outcome}");
    }
    let end = report_dispute(client, &a.game, n, &outcome, &a.play.transcript, json)?;
    let settled = match conn.chain() {
        Some(r) => Some(super::chain::settle(r, &a.game, json)?),
        None => None,
    };
    if json {
        output::json(&Challenged {
            game: a.game.clone(),
            claim_correct: false,
            final_root: claim.final_root,
            dispute: Some(end),
            bytes: client.bytes(),
            chain: settled,
        });
    } else {
        outln!("{} bytes exchanged by the challenger", client.bytes());
    }
    Ok(if outcome.winner() == Side::Challenger {
        Exit::Ok.code()
    } else {
        Exit::Negative.code()
    })
}

/// `--max-steps` of `defend` and `dispute`: at least 1, default [`HALT_LIMIT`].
fn max_steps(n: Option<u64>) -> Result<u64, CliError> {
    match n {
        Some(0) => Err(CliError::usage("--max-steps 0: at least 1")),
        Some(n) => Ok(n),
        None => Ok(HALT_LIMIT),
    }
}

pub fn dispute(a: DisputeArgs) -> Result<i32, CliError> {
    validate::b(a.b)?;
    let halt_limit = max_steps(a.max_steps)?;
    let spec = validate::levels(a.levels.as_deref(), a.b)?;
    output::check_writable("--transcript", &a.transcript)?;
    let defender_lies = parse_lies(&a.lies)?;
    let challenger_lies = parse_lies(&a.challenger_lies)?;
    a.input.check()?;
    let (name, elf, input) = match &a.elf {
        Some(p) => (p.display().to_string(), read_file(p)?, a.input.read()?),
        None => {
            let (name, elf, input) = mswap::guests::default_guest();
            let input = match &a.input.input {
                Some(_) => a.input.read()?,
                None => input.to_vec(),
            };
            (format!("{name} (embedded)"), elf.to_vec(), input)
        }
    };
    output::on_interrupt(|| {
        // Nothing of the demo outlives it: its data directory, its node.
        http_demo::remove_temp_dirs();
        mswap::chain::local::stop_nodes();
        eprintln!("mswap: interrupted: the dispute was stopped before its end");
    });
    if a.chain {
        return super::chain::dispute(
            &name,
            &elf,
            &input,
            a.b,
            defender_lies.clone(),
            challenger_lies.clone(),
            &a.transcript,
            a.json,
            a.anvil.as_deref(),
        );
    }
    let setup = Setup {
        b: a.b,
        strides: spec.strides,
        steps_k: spec.steps_k,
        micro_k: spec.micro_k,
        defender_lies,
        challenger_lies,
        clock_ms: a.clock_ms,
        checkpoints: a.checkpoints,
        halt_limit,
        ..Setup::new(elf, input)
    };
    let json = a.json;
    let seen = std::sync::atomic::AtomicU64::new(0);
    if !json {
        outln!("== mswap dispute: {name}");
    }
    // The defender's first pass can be long (to the halt, or 2^b steps):
    // shown until the game's first line.
    let bar = super::progress::Progress::new("running the program", None);
    let last = std::sync::atomic::AtomicU64::new(0);
    let progress = |done: u64| {
        let before = last.swap(done, std::sync::atomic::Ordering::Relaxed);
        bar.add(done.saturating_sub(before));
    };
    let say = |who: Option<Side>, line: &str| {
        bar.finish();
        match (json, who) {
            (true, Some(side)) => say_line(true, 1, side, line, &seen),
            (true, None) => eprintln!("== {line}"),
            (false, None) => outln!("== {line}"),
            (false, Some(Side::Defender)) => outln!("[defender]   {line}"),
            (false, Some(Side::Challenger)) => outln!("[challenger] {line}"),
        }
    };
    let r = http_demo::run_with_progress(setup, &say, &progress)
        .map_err(|e| CliError::usage(format!("{name}: {e}")))?;
    bar.finish();
    if let Some(t) = &r.transcript {
        write_transcript(&a.transcript, t)?;
    }
    let bug = match (r.honest, &r.outcome) {
        (Some(h), Some(o)) if o.winner() != h => Some(o.winner()),
        _ => None,
    };
    if json {
        output::json(&Disputed {
            outcome: r.outcome.clone(),
            winner: r.outcome.as_ref().map(Outcome::winner),
            honest: r.honest,
            moves: r.moves as u64,
            rounds: r.rounds as u64,
            bytes: Some(r.bytes),
            transcript: r.transcript.as_ref().map(|_| a.transcript.clone()),
            clock_notes: r.checked.as_ref().map_or(Vec::new(), |c| c.clock_notes()),
            chain: None,
        });
    } else {
        match &r.outcome {
            Some(o) => outln!("== result: {o}"),
            None => outln!(
                "== result: no dispute; the claim stands unless someone disputes it before its window closes"
            ),
        }
        outln!(
            "== {} moves, {} bisection rounds, {} bytes exchanged, game {:.2} s (first passes {:.2} s)",
            r.moves,
            r.rounds,
            r.bytes,
            r.game_secs,
            r.setup_secs
        );
        if let Some(checked) = &r.checked {
            outln!(
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
                outln!("== note: {note}");
            }
        }
        if let (Some(h), None, Some(_)) = (r.honest, bug, &r.outcome) {
            outln!("== the honest {h} won");
        }
    }
    match bug {
        Some(w) => Err(CliError::negative(format!(
            "the dishonest {w} won: this is a bug"
        ))),
        None => Ok(Exit::Ok.code()),
    }
}
