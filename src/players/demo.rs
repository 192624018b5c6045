//! A whole dispute in one process: a referee serving on a loopback port
//! (its log in a temporary directory), a defender and a challenger on two
//! threads talking real HTTP to it, then the transcript checked offline.
//! `mswap dispute` prints what [`run`] says; tests and benches read its
//! [`Report`].

use crate::elf::Program;
use crate::hash::keccak;
use crate::players::client::{Client, ClientError, play_with};
use crate::players::player::{Honest, Liar, Lie, Player, Strategy, claimed_by, describe_lies};
use crate::players::timeline::Timeline;
use crate::players::wire::CreateGame;
use crate::referee::{Config, Policy, Referee, RefereeError};
use crate::rules::claim::Claim;
use crate::rules::levels::{Level, two_levels, with_strides};
use crate::rules::transcript::{Checked, Transcript, TranscriptError, verify_transcript};
use crate::rules::{Move, Outcome, Side};
use std::path::PathBuf;
use std::time::Instant;

/// How far a run may go when `b` is chosen from its halting step.
pub const HALT_LIMIT: u64 = 1 << 36;

/// What to play.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The program (ELF file).
    pub elf: Vec<u8>,
    /// Its input.
    pub input: Vec<u8>,
    /// log2 of the steps in the claim (default: the smallest covering the halt).
    pub b: Option<u32>,
    /// Strides of extra steps levels (`levels::with_strides`); empty: two levels.
    pub strides: Vec<u32>,
    /// The defender's lies (if both lists are empty, the defender lies
    /// from the middle of the run on).
    pub defender_lies: Vec<Lie>,
    /// The challenger's lies.
    pub challenger_lies: Vec<Lie>,
    /// Each side's clock (the referee's base clock and challenge window), milliseconds.
    pub clock_ms: u64,
    /// log2 of the checkpoints each player keeps.
    pub checkpoints: u32,
    /// Without `b`, the most steps run to find the program's halt
    /// (default [`HALT_LIMIT`]); a program still running there is refused.
    pub halt_limit: u64,
}

impl Setup {
    /// A setup with the defaults: two levels, the default lie, 2-minute clocks.
    pub fn new(elf: Vec<u8>, input: Vec<u8>) -> Setup {
        Setup {
            elf,
            input,
            b: None,
            strides: Vec::new(),
            defender_lies: Vec::new(),
            challenger_lies: Vec::new(),
            clock_ms: 120_000,
            checkpoints: 10,
            halt_limit: HALT_LIMIT,
        }
    }
}

/// What happened.
#[derive(Clone, Debug)]
pub struct Report {
    /// The claim's `b`.
    pub b: u32,
    /// Steps after which the program halted, if it did within `2^b`.
    pub halted_at: Option<u64>,
    /// The levels played.
    pub levels: Vec<Level>,
    /// The lies played (after the default).
    pub defender_lies: Vec<Lie>,
    /// The challenger's lies.
    pub challenger_lies: Vec<Lie>,
    /// The defender's claim.
    pub claim: Claim,
    /// The result (`None`: the challenger found the claim correct and did not dispute it).
    pub outcome: Option<Outcome>,
    /// The side without lies, if exactly one side lied.
    pub honest: Option<Side>,
    /// The dispute's transcript (none if nobody disputed).
    pub transcript: Option<Transcript>,
    /// The offline check of the transcript.
    pub checked: Option<Checked>,
    /// Bisection rounds (midpoints posted).
    pub rounds: usize,
    /// Moves accepted.
    pub moves: usize,
    /// Body bytes the two players exchanged with the referee.
    pub bytes: u64,
    /// Seconds of the first passes (both players' runs of the program).
    pub setup_secs: f64,
    /// Seconds from the game's creation to its end.
    pub game_secs: f64,
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The program, the lies or the levels.
    #[error("{0}")]
    Setup(String),
    /// The referee.
    #[error(transparent)]
    Referee(#[from] RefereeError),
    /// A player's connection.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The transcript does not check out offline.
    #[error("the transcript does not verify: {0}")]
    Transcript(#[from] TranscriptError),
    /// A player's thread panicked.
    #[error("the {0}'s thread panicked")]
    Panic(Side),
}

/// Why a run without `b` is refused: it does not halt within `limit` steps.
pub fn no_halt(limit: u64) -> String {
    let limit = if limit.is_power_of_two() {
        format!("2^{}", limit.trailing_zeros())
    } else {
        limit.to_string()
    };
    format!(
        "the program does not halt within {limit} steps (--max-steps): give --b to claim \
         2^b steps of a run that does not halt, or a larger --max-steps"
    )
}

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
/// process about to exit without unwinding, e.g. on Ctrl-C).
pub fn remove_temp_dirs() {
    let prefix = format!("mswap-dispute-{}-", std::process::id());
    if let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn strategy(honest: Honest, lies: Vec<Lie>) -> Box<dyn Strategy> {
    if lies.is_empty() {
        Box::new(honest)
    } else {
        Box::new(Liar::new(honest, lies))
    }
}

/// Plays the dispute. `say` gets the demo's own lines (`None`) and each
/// side's lines about its moves (`Some(side)`), as they happen.
pub fn run(setup: Setup, say: &(dyn Fn(Option<Side>, &str) + Sync)) -> Result<Report, DemoError> {
    run_with_progress(setup, say, &|_| {})
}

/// [`run`], with `progress` told the steps run so far by the defender's
/// first pass (which, without `b`, looks for the halt).
pub fn run_with_progress(
    setup: Setup,
    say: &(dyn Fn(Option<Side>, &str) + Sync),
    progress: &dyn Fn(u64),
) -> Result<Report, DemoError> {
    let start = Instant::now();
    let program = Program::load(&setup.elf).map_err(|e| DemoError::Setup(e.to_string()))?;
    let input_hash = keccak(&[&setup.input]);
    // The defender's run: one pass, which also finds b if it is not given.
    let (timeline, b) = match setup.b {
        Some(b) => (
            Timeline::with_progress(
                &program,
                &setup.input,
                b,
                setup.checkpoints.min(b),
                progress,
            ),
            b,
        ),
        None => Timeline::until_halt(
            &program,
            &setup.input,
            setup.halt_limit,
            setup.checkpoints,
            progress,
        )
        .ok_or_else(|| DemoError::Setup(no_halt(setup.halt_limit)))?,
    };
    let halted_at = timeline.halted_at();
    if let Some(&k) = setup.strides.first().filter(|&&k| k >= b) {
        return Err(DemoError::Setup(format!(
            "--levels strides:{k}: stride 2^{k} is not smaller than the claim's 2^{b} steps \
             (b from the run's halt; give a smaller stride or a larger --b)"
        )));
    }
    let levels = if setup.strides.is_empty() {
        two_levels(b)
    } else {
        with_strides(b, &setup.strides)
    };
    crate::rules::levels::validate(&levels, b).map_err(|e| DemoError::Setup(e.to_string()))?;
    let mut defender_lies = setup.defender_lies;
    let challenger_lies = setup.challenger_lies;
    if defender_lies.is_empty() && challenger_lies.is_empty() {
        let end = halted_at.unwrap_or(1u64 << b);
        defender_lies.push(Lie::From {
            from: (end / 2).max(1),
            micro_from: 30,
        });
    }
    let honest = match (defender_lies.is_empty(), challenger_lies.is_empty()) {
        (true, false) => Some(Side::Defender),
        (false, true) => Some(Side::Challenger),
        _ => None,
    };
    say(
        None,
        &format!(
            "program {}, {} input bytes, {}; claim over 2^{b} steps; levels {}",
            program.hash,
            setup.input.len(),
            halted_at.map_or("does not halt within 2^b steps".into(), |h| format!(
                "halts after {h} steps"
            )),
            levels
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    say(
        None,
        &format!(
            "defender lies: {}; challenger lies: {}",
            describe_lies(&defender_lies),
            describe_lies(&challenger_lies)
        ),
    );

    let dir = TempDir::new();
    let server = Referee::open(
        &dir.0,
        Config {
            policy: Policy {
                clock_base_ms: setup.clock_ms,
                window_base_ms: setup.clock_ms,
                ..Policy::default()
            },
            ..Config::default()
        },
    )?
    .serve("127.0.0.1:0")?;
    let url = server.url();
    say(
        None,
        &format!("referee at {url}, log in {}", dir.0.display()),
    );

    let honest_claim = timeline.claim(program.hash, input_hash, b);
    let mut d_strategy = strategy(Honest { timeline }, defender_lies.clone());
    let claim = claimed_by(honest_claim, &mut *d_strategy);
    let d_client = Client::new(&url);
    let game_start = Instant::now();
    let created = d_client.create(&CreateGame {
        claim: claim.clone(),
        program: setup.elf.clone(),
        input: setup.input.clone(),
        levels: Some(levels.clone()),
        clock_ms: None,
        window_ms: None,
    })?;
    let id = created.game.clone();
    say(
        Some(Side::Defender),
        &format!(
            "opens game {id}: 2^{b} steps end in root {} ({})",
            claim.final_root, claim.status
        ),
    );

    // The challenger re-executes the program on its own.
    let c_client = Client::new(&url);
    let view = c_client.claim(&id, None, 0)?;
    let c_start = Instant::now();
    let c_timeline = Timeline::new(&program, &setup.input, b, setup.checkpoints.min(b));
    let setup_secs = (c_start.elapsed() + (game_start - start)).as_secs_f64();
    let c_root = c_timeline.final_root();
    let mut c_strategy = strategy(
        Honest {
            timeline: c_timeline,
        },
        challenger_lies.clone(),
    );
    let mut outcome = None;
    let mut dispute = None;
    if c_strategy.disputes(&view.claim.final_root) {
        say(
            Some(Side::Challenger),
            &format!("disputes the claim: its run ends in root {c_root}"),
        );
        let joined = c_client.join(&id)?;
        let n = joined.dispute;
        dispute = Some(n);
        say(
            Some(Side::Challenger),
            &format!("opens dispute {n} of claim {id}"),
        );
        let run_side = |side: Side, strategy: Box<dyn Strategy>, client: &Client, token: &str| {
            let mut player = Player { side, strategy };
            play_with(client, &id, n, token, &mut player, &mut |who, line| {
                // Each thread tells its own side's lines, so each move shows once.
                if who == side {
                    say(Some(side), &line)
                }
            })
        };
        let (d_token, c_token) = (&created.token, &joined.token);
        let (d_ref, c_ref, run_side) = (&d_client, &c_client, &run_side);
        let results = std::thread::scope(|s| {
            let d = s.spawn(move || run_side(Side::Defender, d_strategy, d_ref, d_token));
            let c = s.spawn(move || run_side(Side::Challenger, c_strategy, c_ref, c_token));
            (d.join(), c.join())
        });
        let d = results.0.map_err(|_| DemoError::Panic(Side::Defender))??;
        let c = results
            .1
            .map_err(|_| DemoError::Panic(Side::Challenger))??;
        if d != c {
            return Err(DemoError::Setup(format!(
                "the players saw different results: {d} / {c}"
            )));
        }
        outcome = Some(c);
    } else {
        say(
            Some(Side::Challenger),
            "finds the claim correct and does not dispute it",
        );
    }
    let game_secs = game_start.elapsed().as_secs_f64();
    let bytes = d_client.bytes() + c_client.bytes();
    let transcript = match dispute {
        Some(n) => Some(Client::new(&url).transcript(&id, n)?),
        None => None,
    };
    server.stop();
    let checked = match &transcript {
        Some(t) => {
            let image = crate::elf::image_of(&t.program)
                .map_err(|e| DemoError::Setup(format!("the transcript's program: {e}")))?;
            Some(verify_transcript(t, &image)?)
        }
        None => None,
    };
    let moves = transcript.as_ref().map_or(&[][..], |t| &t.moves[..]);
    let rounds = moves
        .iter()
        .filter(|r| matches!(r.mv, Move::Midpoint { .. }))
        .count();
    let n_moves = moves.len();
    Ok(Report {
        b,
        halted_at,
        levels,
        defender_lies,
        challenger_lies,
        claim,
        outcome,
        honest,
        moves: n_moves,
        transcript,
        checked,
        rounds,
        bytes,
        setup_secs,
        game_secs,
    })
}
