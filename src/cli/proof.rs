//! `mswap prove` and `mswap verify`.

use super::input::{InputArg, load_program, read_file};
use super::output::{self, CliError, Exit, outln};
use clap::Args;
use mswap::hash::Hash;
use mswap::proof::file::document_type;
use mswap::proof::{PROOF_VERSION, ProofFile, STEP_PROOF_TYPE, binary};
use mswap::prover::{check_context, check_context_run, prove_run};
use mswap::verify::{verify_step, verify_step_to};
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `mswap prove`.
#[derive(Args)]
pub struct ProveArgs {
    /// The program (a static RV64IMAC ELF file).
    elf: PathBuf,
    #[command(flatten)]
    input: InputArg,
    /// The A-step `t` (0 = the first instruction).
    #[arg(long)]
    step: u64,
    /// The micro-step `j` within A-step `t` (0 ..= 2^a - 1).
    #[arg(long)]
    micro: u64,
    /// Where to write the proof (JSON), `-` for standard output.
    #[arg(short, long, value_name = "FILE|-")]
    output: PathBuf,
    /// Write the compact binary encoding instead of JSON.
    #[arg(long)]
    binary: bool,
    /// Print a JSON summary on standard output (not with `-o -`).
    #[arg(long)]
    json: bool,
}

/// Arguments of `mswap verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// A proof (JSON or binary) or a game transcript (JSON).
    file: PathBuf,
    /// The agreed root before the step (for binary proofs, which carry none).
    #[arg(long)]
    before: Option<String>,
    /// The claimed root after the step (checked if given).
    #[arg(long)]
    after: Option<String>,
    /// The program a JSON proof's context names: checks its hash, the
    /// instruction and that `root_before` is that run's state there.
    #[arg(long)]
    elf: Option<PathBuf>,
    /// The guest's input for `--elf`: FILE, or `-` for standard input
    /// (without it, standard input unless it is a terminal).
    #[arg(long, value_name = "FILE|-", requires = "elf")]
    input: Option<PathBuf>,
    /// Also ask the verifier deployed on this node (JSON-RPC URL), with `--verifier`.
    #[arg(long, requires = "verifier")]
    chain: Option<String>,
    /// The deployed `StepVerifier`'s address (see `mswap deploy`).
    #[arg(long, requires = "chain")]
    verifier: Option<String>,
    /// With --chain: give up on an unreachable node after this many seconds.
    #[arg(long, requires = "chain", default_value_t = 30)]
    connect_timeout: u64,
    /// Print the result as one JSON document.
    #[arg(long)]
    json: bool,
}

/// What `prove --json` prints.
#[derive(Serialize)]
struct Proved<'a> {
    step: u64,
    micro: u64,
    instruction: Option<&'a str>,
    uop: Option<&'a str>,
    root_before: Hash,
    root_after: Hash,
    proof_bytes: usize,
    written_bytes: usize,
    output: String,
}

pub fn prove(a: ProveArgs) -> Result<i32, CliError> {
    let to_stdout = a.output.as_os_str() == "-";
    if to_stdout && a.json {
        return Err(CliError::usage(
            "--json with -o -: both would go to standard output (write the proof to a file)",
        ));
    }
    if a.micro >= mswap::micro::USTEPS {
        return Err(CliError::usage(format!(
            "--micro {}: from 0 to {} (2^a micro-steps per A-step)",
            a.micro,
            mswap::micro::USTEPS - 1
        )));
    }
    output::check_writable("-o", &a.output)?;
    a.input.check()?;
    let program = load_program(&a.elf)?;
    let input = a.input.read()?;
    {
        let (step, micro, out) = (a.step, a.micro, a.output.display().to_string());
        output::on_interrupt(move || {
            eprintln!(
                "mswap: interrupted: running machine A to step {step} for micro-step {micro}; \
nothing written to {out}"
            )
        });
    }
    let file = prove_run(&program, &input, a.step, a.micro)?;
    output::clear_interrupt();
    let bytes = if a.binary {
        binary::encode(&file.proof)
    } else {
        let mut v = serde_json::to_vec_pretty(&file).map_err(|e| CliError::io(e.to_string()))?;
        v.push(b'\n');
        v
    };
    output::write_output(&a.output, &bytes)?;
    let proof_bytes = binary::encode(&file.proof).len();
    let shown = if to_stdout {
        "standard output".to_string()
    } else {
        a.output.display().to_string()
    };
    if a.json {
        output::json(&Proved {
            step: a.step,
            micro: a.micro,
            instruction: file.context.as_ref().map(|c| c.instruction.as_str()),
            uop: file.context.as_ref().map(|c| c.uop.as_str()),
            root_before: file.root_before,
            root_after: file.root_after,
            proof_bytes,
            written_bytes: bytes.len(),
            output: shown,
        });
        return Ok(Exit::Ok.code());
    }
    if let Some(c) = &file.context {
        eprintln!(
            "step {} micro-step {}: {} / {}",
            c.step, c.micro, c.instruction, c.uop
        );
    }
    eprintln!("root before: {}", output::hash(&file.root_before));
    eprintln!("root after:  {}", output::hash(&file.root_after));
    eprintln!(
        "proof: {proof_bytes} bytes binary, {} bytes written to {shown}",
        bytes.len(),
    );
    Ok(Exit::Ok.code())
}

fn parse_root(s: &Option<String>, what: &str) -> Result<Option<Hash>, CliError> {
    s.as_deref()
        .map(|h| Hash::from_hex(h).map_err(|e| CliError::usage(format!("--{what} {h}: {e}"))))
        .transpose()
}

/// What `verify` found, for people (`lines`) and for `--json`.
#[derive(Serialize)]
struct Verified {
    valid: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_before: Option<Hash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_after: Option<Hash>,
    /// Whether the proof's context was checked against the ELF and input.
    #[serde(skip_serializing_if = "Option::is_none")]
    context_checked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    game: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dispute: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    moves: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<mswap::rules::Outcome>,
    /// What rests on the referee's clock and cannot be re-checked offline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    clock_notes: Vec<String>,
    #[serde(skip)]
    lines: Vec<String>,
}

impl Verified {
    fn new(kind: &'static str) -> Verified {
        Verified {
            valid: true,
            kind,
            root_before: None,
            root_after: None,
            context_checked: None,
            game: None,
            dispute: None,
            moves: None,
            outcome: None,
            clock_notes: Vec::new(),
            lines: Vec::new(),
        }
    }
}

/// What `verify --json` prints for an invalid file.
#[derive(Serialize)]
struct Invalid<'a> {
    valid: bool,
    error: &'a str,
    /// The exit code: 1 invalid, 2 not a proof or transcript, 3 unreadable.
    exit: i32,
}

/// `verify --chain URL --verifier ADDRESS`: the deployed verifier's verdict beside Rust's.
fn verify_on_chain(a: &VerifyArgs, chain: &str, verifier: &str) -> Result<i32, CliError> {
    let bytes = std::fs::read(&a.file)
        .map_err(|e| CliError::io(format!("cannot read {}: {e}", a.file.display())))?;
    let name = a.file.display().to_string();
    let before = parse_root(&a.before, "before")?;
    let mut after = parse_root(&a.after, "after")?;
    let is_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let (proof, root) = if is_json {
        let file = ProofFile::from_json(&bytes)
            .map_err(|e| format!("{name}: not a step proof (--chain checks step proofs): {e}"))?;
        // What the file claims, unless --after says otherwise.
        after = after.or(Some(file.root_after));
        (
            binary::encode(&file.proof),
            before.unwrap_or(file.root_before),
        )
    } else {
        let root = match before {
            Some(r) => r,
            None => {
                let p =
                    binary::decode(&bytes).map_err(|e| format!("{name}: malformed proof: {e}"))?;
                mswap::micro::r_root(&mswap::micro::q_root(&p.q), &p.s_root)
            }
        };
        (bytes.clone(), root)
    };
    let timeout = std::time::Duration::from_secs(a.connect_timeout);
    super::chain::verify(&name, &proof, &root, after, chain, verifier, timeout)
}

pub fn verify(a: VerifyArgs) -> Result<i32, CliError> {
    if let (Some(chain), Some(verifier)) = (&a.chain, &a.verifier) {
        return verify_on_chain(&a, chain, verifier);
    }
    let json = a.json;
    match verify_file(a) {
        Ok(v) => {
            if json {
                output::json(&v);
            } else {
                for l in &v.lines {
                    outln!("{l}");
                }
            }
            Ok(Exit::Ok.code())
        }
        Err(e) => {
            if json {
                // Whatever failed (an invalid proof, exit 1; a file that
                // is not one or cannot be read, 2 or 3), one document.
                output::json_final(&Invalid {
                    valid: false,
                    error: &e.msg,
                    exit: e.code,
                });
            }
            Err(e)
        }
    }
}

fn verify_file(a: VerifyArgs) -> Result<Verified, CliError> {
    let bytes = read_file(&a.file)?;
    let name = a.file.display().to_string();
    let before = parse_root(&a.before, "before")?;
    let after = parse_root(&a.after, "after")?;
    let invalid =
        |what: &str, e: &dyn std::fmt::Display| CliError::negative(format!("{name}: {what}: {e}"));
    let is_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !is_json {
        if let Some(what) = not_a_proof(&bytes) {
            return Err(CliError::usage(format!(
                "{name}: {what}, not a step proof or a transcript"
            )));
        }
        if a.elf.is_some() {
            return Err(CliError::usage(format!(
                "{name}: a binary proof has no context to check against --elf (use the JSON file)"
            )));
        }
        let proof = binary::decode(&bytes).map_err(|e| invalid("malformed proof", &e))?;
        let root = match before {
            Some(r) => r,
            None => mswap::micro::r_root(&mswap::micro::q_root(&proof.q), &proof.s_root),
        };
        let computed = verify_step(&root, &proof).map_err(|e| invalid("invalid proof", &e))?;
        check_after(&name, &computed, after)?;
        let mut v = Verified::new("step-proof");
        v.lines = vec![
            format!("valid step proof ({} bytes, binary)", bytes.len()),
            format!(
                "root before: {}{}",
                output::hash(&root),
                if before.is_none() {
                    " (from the proof itself: pass --before to check an agreed root)"
                } else {
                    ""
                }
            ),
            format!("root after:  {}", output::hash(&computed)),
        ];
        v.root_before = Some(root);
        v.root_after = Some(computed);
        return Ok(v);
    }
    let kind = document_type(&bytes)
        .map_err(|e| CliError::usage(format!("{name}: not an mswap file (malformed JSON: {e})")))?;
    match kind.as_deref() {
        Some(STEP_PROOF_TYPE) => {
            let file =
                ProofFile::from_json(&bytes).map_err(|e| invalid("malformed step proof", &e))?;
            let root = before.unwrap_or(file.root_before);
            verify_step_to(&root, &file.proof, &file.root_after)
                .map_err(|e| invalid("invalid proof", &e))?;
            check_after(&name, &file.root_after, after)?;
            let checked_run = match &a.elf {
                Some(elf) => {
                    let input = InputArg {
                        input: a.input.clone(),
                    };
                    input.check()?;
                    let program = load_program(elf)?;
                    let input = input.read()?;
                    if file.context.is_none() {
                        return Err(CliError::negative(format!(
                            "{name}: no context to check against {}",
                            elf.display()
                        )));
                    }
                    check_context_run(&file, &program, &input)
                        .map_err(|e| invalid("wrong context", &e))?;
                    true
                }
                None => {
                    check_context(&file).map_err(|e| invalid("wrong context", &e))?;
                    false
                }
            };
            let mut v = Verified::new("step-proof");
            v.lines.push("valid step proof".into());
            if let Some(c) = &file.context {
                let note = if checked_run {
                    "  (checked against the ELF and input)"
                } else {
                    "  (stated by the prover, not checked: pass --elf and --input)"
                };
                v.lines.extend([
                    format!("program:     {}{note}", output::hash(&c.program)),
                    format!("input:       {}{note}", output::hash(&c.input)),
                    format!("step:        {} ({}){note}", c.step, c.instruction),
                    format!(
                        "micro-step:  {} ({})  (checked: the clock in q and the proven micro-instruction)",
                        c.micro, c.uop
                    ),
                ]);
                v.context_checked = Some(checked_run);
            }
            v.lines.push(format!(
                "root before: {}{}",
                output::hash(&root),
                if checked_run {
                    "  (the run's state at that micro-step)"
                } else {
                    ""
                }
            ));
            v.lines
                .push(format!("root after:  {}", output::hash(&file.root_after)));
            v.root_before = Some(root);
            v.root_after = Some(file.root_after);
            Ok(v)
        }
        Some(mswap::rules::transcript::TRANSCRIPT_TYPE) => {
            if a.elf.is_some() {
                return Err(CliError::usage(format!(
                    "{name}: a transcript carries its program and input; --elf is for step proofs"
                )));
            }
            verify_transcript_file(&name, &bytes)
        }
        Some(other) => Err(CliError::usage(format!(
            "{name}: not an mswap file: unknown type \"{}\" (expected \"{STEP_PROOF_TYPE}\" or \"transcript\")",
            other.escape_default()
        ))),
        None => Err(CliError::usage(format!(
            "{name}: not an mswap file (no \"type\" field)"
        ))),
    }
}

/// Names a file that is plainly something else than a binary proof (whose
/// first byte is the version, [`PROOF_VERSION`]).
fn not_a_proof(bytes: &[u8]) -> Option<String> {
    if bytes.starts_with(b"\x7fELF") {
        return Some("an ELF file (a program)".into());
    }
    match bytes.first() {
        None => Some("an empty file".into()),
        Some(&v) if v != PROOF_VERSION => Some(format!(
            "not JSON, and its first byte 0x{v:02x} is not a binary proof's version byte (0x{PROOF_VERSION:02x})"
        )),
        _ => None,
    }
}

fn check_after(name: &str, computed: &Hash, after: Option<Hash>) -> Result<(), CliError> {
    match after {
        Some(a) if a != *computed => Err(CliError::negative(format!(
            "{name}: invalid proof: the step leads to {}, not {}",
            output::hash(computed),
            output::hash(&a)
        ))),
        _ => Ok(()),
    }
}

fn verify_transcript_file(name: &str, bytes: &[u8]) -> Result<Verified, CliError> {
    use mswap::rules::levels::LevelKind;
    use mswap::rules::transcript::{read_transcript, verify_transcript};
    use mswap::rules::{Move, Phase};
    // Strictly: unknown fields and duplicated keys are refused.
    let t = read_transcript(bytes)
        .map_err(|e| CliError::negative(format!("{name}: malformed transcript: {e}")))?;
    let image = mswap::elf::image_of(&t.program)
        .map_err(|e| CliError::negative(format!("{name}: invalid transcript: program: {e}")))?;
    let checked = verify_transcript(&t, &image)
        .map_err(|e| CliError::negative(format!("{name}: invalid transcript: {e}")))?;
    let rounds = t
        .moves
        .iter()
        .filter(|r| matches!(r.mv, Move::Dissect { .. }))
        .count();
    let mut v = Verified::new("transcript");
    let l = &mut v.lines;
    l.push(format!(
        "valid transcript of game {}, dispute {}",
        t.game, t.dispute
    ));
    l.push(format!(
        "program:     {} ({} bytes)",
        output::hash(&t.claim.program),
        t.program.len()
    ));
    l.push(format!(
        "input:       {} ({} bytes)",
        output::hash(&t.claim.input),
        t.input.len()
    ));
    l.push(format!(
        "claim:       2^{} steps end in root {} ({})",
        t.claim.b,
        output::hash(&t.claim.final_root),
        t.claim.status
    ));
    l.push(format!(
        "levels:      {}",
        t.levels
            .iter()
            .map(|lv| format!(
                "2^{} {}{}",
                lv.log2,
                match lv.kind {
                    LevelKind::Steps => "A-steps",
                    LevelKind::Micro => "micro-steps",
                },
                if lv.k == 2 {
                    String::new()
                } else {
                    format!(" (k = {})", lv.k)
                }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    l.push(format!(
        "moves:       {} ({rounds} bisection rounds) in {:.1} s",
        t.moves.len(),
        t.moves
            .last()
            .map_or(0, |m| m.time_ms.saturating_sub(t.created_ms)) as f64
            / 1000.0
    ));
    match &checked.last_phase {
        Some(Phase::Prove(d)) => l.push(format!(
            "disputed:    micro-step {} of A-step {} (from root {})",
            d.j,
            d.t,
            output::hash(&d.root_before)
        )),
        Some(Phase::Bisect(b)) => l.push(format!(
            "disputed:    level {} interval [{}, {}] (the bisection did not finish)",
            b.level, b.lo, b.hi
        )),
        Some(Phase::Open) => l.push("disputed:    nothing (no challenge)".into()),
        _ => {}
    }
    match (&checked.game.phase, checked.winner) {
        (Phase::Done(o), Some(_)) => {
            l.push(format!("result:      {o}"));
            if !checked.by_timeout {
                l.push("             (re-checked offline: the step proof settles it)".into());
            }
            v.outcome = Some(o.clone());
        }
        _ => l.push(format!(
            "result:      the game is not over ({})",
            checked.game.waiting_for()
        )),
    }
    v.clock_notes = checked.clock_notes();
    for n in &v.clock_notes {
        v.lines.push(format!("note:        {n}"));
    }
    v.game = Some(t.game.clone());
    v.dispute = Some(t.dispute);
    v.moves = Some(t.moves.len() as u64);
    Ok(v)
}
