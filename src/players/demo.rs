//! A whole dispute in one process, on any referee: the defender's run
//! (which finds `b` from the program's halt), its claim, an honest or
//! lying challenger that re-executes the program and disputes the claim
//! if its run ends elsewhere, the two players on two threads, each with
//! its own connection to the referee, then the transcript checked
//! offline. The players know the referee only as a [`RefereeApi`]: a
//! [`Backend`] gives one per player and how it tells their moves (the
//! HTTP referee on a loopback port in `src/referee/demo.rs`, the
//! contracts on a local node in `src/chain/demo.rs`). `mswap dispute`
//! prints what it says; tests and benches read its [`Report`].

use crate::elf::Program;
use crate::hash::keccak;
use crate::players::api::{ClientError, RefereeApi};
use crate::players::play::{defend, play_with};
use crate::players::player::{Honest, Liar, Lie, Player, Strategy, claimed_by, describe_lies};
use crate::players::timeline::Timeline;
use crate::players::wire::{ClaimStatus, CreateGame};
use crate::rules::claim::Claim;
use crate::rules::levels::{DEFAULT_MICRO_K, DEFAULT_STEPS_K, Level, with_fans, with_strides};
use crate::rules::transcript::{Checked, Transcript, TranscriptError, verify_transcript};
use crate::rules::{Move, Outcome, Side};
use std::time::Instant;

/// Where the demo's lines go: its own (`None`) and each side's
/// (`Some(side)`), as they happen.
pub type Say<'a> = dyn Fn(Option<Side>, &str) + Sync + 'a;

/// A referee for the demo's two players: one connection per player, and
/// how the backend tells what they do.
pub trait Backend: Sync {
    /// The defender's connection.
    fn defender(&self) -> &dyn RefereeApi;
    /// The challenger's connection.
    fn challenger(&self) -> &dyn RefereeApi;
    /// Whether the defender plays its whole claim ([`defend`]: every
    /// dispute, until the claim is decided, as a chain needs before it
    /// pays the bonds back) rather than the one dispute.
    fn whole_claim(&self) -> bool {
        false
    }
    /// What to add to the line that says the claim is open (e.g. the gas
    /// its transaction took).
    fn claim_note(&self) -> String {
        String::new()
    }
    /// Tells a player's line: `player` is the side whose thread says it,
    /// `dispute` the dispute it is about (0: the claim's own news) and
    /// `side` the side it is about. By default each thread tells its own
    /// side's lines, so that each move shows once.
    fn tell(&self, player: Side, dispute: u64, side: Side, line: &str, say: &Say) {
        let _ = dispute;
        if side == player {
            say(Some(side), line)
        }
    }
    /// Called once both players are done: says any line held back.
    fn flush(&self, say: &Say) {
        let _ = say;
    }
}

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
    /// Fan-out of the steps levels.
    pub steps_k: u32,
    /// Fan-out of the micro levels.
    pub micro_k: u32,
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
    /// A setup with the defaults: two levels of the default fan-outs, the
    /// default lie, 2-minute clocks.
    pub fn new(elf: Vec<u8>, input: Vec<u8>) -> Setup {
        Setup {
            elf,
            input,
            b: None,
            strides: Vec::new(),
            steps_k: DEFAULT_STEPS_K,
            micro_k: DEFAULT_MICRO_K,
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
    /// The claim's id at the referee.
    pub id: String,
    /// The dispute's number (none if nobody disputed).
    pub dispute: Option<u64>,
    /// Where the claim stands once decided, when the defender played its
    /// whole claim ([`Backend::whole_claim`]).
    pub claim_status: Option<ClaimStatus>,
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The program, the lies or the levels.
    #[error("{0}")]
    Setup(String),
    /// The referee's backend (the HTTP service, the chain node or its
    /// contracts) could not be set up or settled.
    #[error("{0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
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

fn strategy(timeline: Timeline, lies: Vec<Lie>) -> Box<dyn Strategy> {
    let honest = Honest { timeline };
    if lies.is_empty() {
        Box::new(honest)
    } else {
        Box::new(Liar::new(honest, lies))
    }
}

/// What every backend plays: the program, the defender's run, the claim's
/// size and levels, and the lies. Made by [`prepare`] before the referee
/// is set up (which may need `b`).
pub struct Prepared {
    /// The ELF file.
    pub elf: Vec<u8>,
    /// Its input.
    pub input: Vec<u8>,
    program: Program,
    timeline: Timeline,
    /// The claim's `b`.
    pub b: u32,
    /// The levels played.
    pub levels: Vec<Level>,
    defender_lies: Vec<Lie>,
    challenger_lies: Vec<Lie>,
    checkpoints: u32,
    started: Instant,
}

/// Loads the program and runs the defender's first pass (which, without
/// `b`, looks for the halt, telling `progress` the steps run so far);
/// checks the levels; picks the default lie; says what will be played.
pub fn prepare(setup: Setup, say: &Say, progress: &dyn Fn(u64)) -> Result<Prepared, DemoError> {
    let started = Instant::now();
    let program = Program::load(&setup.elf).map_err(|e| DemoError::Setup(e.to_string()))?;
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
    let levels = with_fans(
        with_strides(b, &setup.strides),
        setup.steps_k,
        setup.micro_k,
    );
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
    Ok(Prepared {
        elf: setup.elf,
        input: setup.input,
        program,
        timeline,
        b,
        levels,
        defender_lies,
        challenger_lies,
        checkpoints: setup.checkpoints,
        started,
    })
}

/// Plays `p` on the referee of `backend`: the defender opens its claim,
/// the challenger re-executes the program and, if its run ends elsewhere,
/// opens a dispute; the two play it on two threads, each through its own
/// connection; the transcript is fetched and checked offline. `say` gets
/// the demo's lines and, through [`Backend::tell`], the players'.
pub fn play(p: Prepared, backend: &dyn Backend, say: &Say) -> Result<Report, DemoError> {
    let Prepared {
        elf,
        input,
        program,
        timeline,
        b,
        levels,
        defender_lies,
        challenger_lies,
        checkpoints,
        started,
    } = p;
    let honest = match (defender_lies.is_empty(), challenger_lies.is_empty()) {
        (true, false) => Some(Side::Defender),
        (false, true) => Some(Side::Challenger),
        _ => None,
    };
    let halted_at = timeline.halted_at();
    let (defender, challenger) = (backend.defender(), backend.challenger());
    let honest_claim = timeline.claim(program.hash, keccak(&[&input]), b);
    let mut d_strategy = strategy(timeline, defender_lies.clone());
    let claim = claimed_by(honest_claim, &mut *d_strategy);
    let game_start = Instant::now();
    let created = defender.create(&CreateGame {
        claim: claim.clone(),
        program: elf.clone(),
        input: input.clone(),
        levels: Some(levels.clone()),
        clock_ms: None,
        window_ms: None,
    })?;
    let id = created.game.clone();
    say(
        Some(Side::Defender),
        &format!(
            "opens game {id}: 2^{b} steps end in root {} ({}){}",
            claim.final_root,
            claim.status,
            backend.claim_note()
        ),
    );

    // The challenger re-executes the program on its own.
    let view = challenger.claim(&id, None, 0)?;
    let c_start = Instant::now();
    let c_timeline = Timeline::new(&program, &input, b, checkpoints.min(b));
    let setup_secs = (c_start.elapsed() + (game_start - started)).as_secs_f64();
    let c_root = c_timeline.final_root();
    let c_strategy = strategy(c_timeline, challenger_lies.clone());
    let mut c_player = Player {
        side: Side::Challenger,
        strategy: c_strategy,
    };
    let mut outcome = None;
    let mut dispute = None;
    let mut claim_status = None;
    if c_player.strategy.disputes(&view.claim.final_root) {
        say(
            Some(Side::Challenger),
            &format!("disputes the claim: its run ends in root {c_root}"),
        );
        let joined = challenger.join(&id)?;
        let n = joined.dispute;
        dispute = Some(n);
        say(
            Some(Side::Challenger),
            &format!("opens dispute {n} of claim {id}"),
        );
        let tell = |player: Side| {
            move |n: u64, side: Side, line: &str| backend.tell(player, n, side, line, say)
        };
        let (d_tell, c_tell) = (tell(Side::Defender), tell(Side::Challenger));
        let run_defender = || -> Result<(Outcome, Option<ClaimStatus>), ClientError> {
            if backend.whole_claim() {
                let end = defend(
                    defender,
                    &id,
                    &created.token,
                    d_strategy,
                    &|n, side, line| d_tell(n, side, &line),
                )?;
                let o = end
                    .outcomes
                    .iter()
                    .find(|(m, _)| *m == n)
                    .map(|(_, o)| o.clone());
                let o = o.ok_or_else(|| {
                    ClientError::Protocol(format!("claim {id} was decided without dispute {n}"))
                })?;
                Ok((o, Some(end.status)))
            } else {
                let mut player = Player {
                    side: Side::Defender,
                    strategy: d_strategy,
                };
                let o = play_with(
                    defender,
                    &id,
                    n,
                    &created.token,
                    &mut player,
                    &mut |side, line| d_tell(n, side, &line),
                )?;
                Ok((o, None))
            }
        };
        let run_challenger = || {
            play_with(
                challenger,
                &id,
                n,
                &joined.token,
                &mut c_player,
                &mut |side, line| c_tell(n, side, &line),
            )
        };
        let results = std::thread::scope(|s| {
            let d = s.spawn(run_defender);
            let c = s.spawn(run_challenger);
            (d.join(), c.join())
        });
        backend.flush(say);
        let (d, status) = results.0.map_err(|_| DemoError::Panic(Side::Defender))??;
        let c = results
            .1
            .map_err(|_| DemoError::Panic(Side::Challenger))??;
        if d != c {
            return Err(DemoError::Setup(format!(
                "the players saw different results: {d} / {c}"
            )));
        }
        outcome = Some(c);
        claim_status = status;
    } else {
        say(
            Some(Side::Challenger),
            "finds the claim correct and does not dispute it",
        );
    }
    let game_secs = game_start.elapsed().as_secs_f64();
    let bytes = defender.bytes() + challenger.bytes();
    let transcript = match dispute {
        Some(n) => Some(challenger.transcript(&id, n)?),
        None => None,
    };
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
        .filter(|r| matches!(r.mv, Move::Dissect { .. }))
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
        id,
        dispute,
        claim_status,
    })
}
