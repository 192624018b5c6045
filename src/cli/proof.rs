//! `mswap prove` and `mswap verify`.

use super::{CliError, load_program, read_file, read_input};
use clap::Args;
use mswap::hash::Hash;
use mswap::proof::file::document_type;
use mswap::proof::{PROOF_VERSION, ProofFile, STEP_PROOF_TYPE, binary};
use mswap::prover::{check_context, check_context_run, prove_run};
use mswap::verify::{verify_step, verify_step_to};
use std::path::{Path, PathBuf};

/// Arguments of `mswap prove`.
#[derive(Args)]
pub struct ProveArgs {
    /// The program (a static RV64IMAC ELF file).
    elf: PathBuf,
    /// The guest's input file (`-` for standard input; empty by default).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The A-step `t` (0 = the first instruction).
    #[arg(long)]
    step: u64,
    /// The micro-step `j` within A-step `t` (0 ..= 2^a - 1).
    #[arg(long)]
    micro: u64,
    /// Where to write the proof (JSON).
    #[arg(short, long)]
    output: PathBuf,
    /// Write the compact binary encoding instead of JSON.
    #[arg(long)]
    binary: bool,
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
    /// The guest's input for `--elf` (empty by default).
    #[arg(long, requires = "elf")]
    input: Option<PathBuf>,
    /// Also ask the verifier deployed on this node (JSON-RPC URL), with `--verifier`.
    #[arg(long, requires = "verifier")]
    chain: Option<String>,
    /// The deployed `StepVerifier`'s address (see `mswap deploy`).
    #[arg(long, requires = "chain")]
    verifier: Option<String>,
}

/// Writes a file whole: to a temporary name first, then renamed, so a
/// failure never leaves a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::from(format!("cannot write {}: {e}", path.display()))
        })
}

pub fn prove(a: ProveArgs) -> Result<i32, CliError> {
    let program = load_program(&a.elf)?;
    let input = read_input(a.input.as_ref(), false)?;
    let file = prove_run(&program, &input, a.step, a.micro)?;
    let bytes = if a.binary {
        binary::encode(&file.proof)
    } else {
        let mut v = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        v.push(b'\n');
        v
    };
    write_atomic(&a.output, &bytes)?;
    if let Some(c) = &file.context {
        eprintln!(
            "step {} micro-step {}: {} / {}",
            c.step, c.micro, c.instruction, c.uop
        );
    }
    eprintln!("root before: 0x{}", file.root_before);
    eprintln!("root after:  0x{}", file.root_after);
    eprintln!(
        "proof: {} bytes binary, {} bytes written to {}",
        binary::encode(&file.proof).len(),
        bytes.len(),
        a.output.display()
    );
    Ok(0)
}

fn parse_root(s: &Option<String>, what: &str) -> Result<Option<Hash>, CliError> {
    s.as_deref()
        .map(|h| Hash::from_hex(h).map_err(|e| CliError::from(format!("--{what}: {e}"))))
        .transpose()
}

pub fn verify(a: VerifyArgs) -> Result<i32, CliError> {
    let bytes = read_file(&a.file)?;
    let name = a.file.display().to_string();
    let before = parse_root(&a.before, "before")?;
    let after = parse_root(&a.after, "after")?;
    let is_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if let (Some(chain), Some(verifier)) = (&a.chain, &a.verifier) {
        let (proof, root) = if is_json {
            let file = ProofFile::from_json(&bytes).map_err(|e| {
                format!("{name}: not a step proof (--chain checks step proofs): {e}")
            })?;
            (
                binary::encode(&file.proof),
                before.unwrap_or(file.root_before),
            )
        } else {
            let root = match before {
                Some(r) => r,
                None => {
                    let p = binary::decode(&bytes)
                        .map_err(|e| format!("{name}: malformed proof: {e}"))?;
                    mswap::micro::r_root(&mswap::micro::q_root(&p.q), &p.s_root)
                }
            };
            (bytes.clone(), root)
        };
        return super::chain::verify(&name, &proof, &root, chain, verifier);
    }
    if !is_json {
        if let Some(what) = not_a_proof(&bytes) {
            return Err(format!("{name}: {what}, not a step proof or a transcript").into());
        }
        if a.elf.is_some() {
            return Err(format!(
                "{name}: a binary proof has no context to check against --elf (use the JSON file)"
            )
            .into());
        }
        let proof = binary::decode(&bytes).map_err(|e| format!("{name}: malformed proof: {e}"))?;
        let root = match before {
            Some(r) => r,
            None => mswap::micro::r_root(&mswap::micro::q_root(&proof.q), &proof.s_root),
        };
        let computed =
            verify_step(&root, &proof).map_err(|e| format!("{name}: invalid proof: {e}"))?;
        check_after(&name, &computed, after)?;
        println!("valid step proof ({} bytes, binary)", bytes.len());
        println!(
            "root before: 0x{root}{}",
            if before.is_none() {
                " (from the proof itself: pass --before to check an agreed root)"
            } else {
                ""
            }
        );
        println!("root after:  0x{computed}");
        return Ok(0);
    }
    let kind = document_type(&bytes).map_err(|e| format!("{name}: malformed JSON: {e}"))?;
    match kind.as_deref() {
        Some(STEP_PROOF_TYPE) => {
            let file = ProofFile::from_json(&bytes)
                .map_err(|e| format!("{name}: malformed step proof: {e}"))?;
            let root = before.unwrap_or(file.root_before);
            verify_step_to(&root, &file.proof, &file.root_after)
                .map_err(|e| format!("{name}: invalid proof: {e}"))?;
            check_after(&name, &file.root_after, after)?;
            let checked_run = match &a.elf {
                Some(elf) => {
                    let program = load_program(elf)?;
                    let input = read_input(a.input.as_ref(), false)?;
                    if file.context.is_none() {
                        return Err(format!(
                            "{name}: no context to check against {}",
                            elf.display()
                        )
                        .into());
                    }
                    check_context_run(&file, &program, &input)
                        .map_err(|e| format!("{name}: wrong context: {e}"))?;
                    true
                }
                None => {
                    check_context(&file).map_err(|e| format!("{name}: wrong context: {e}"))?;
                    false
                }
            };
            println!("valid step proof");
            if let Some(c) = &file.context {
                let note = if checked_run {
                    "  (checked against the ELF and input)"
                } else {
                    "  (stated by the prover, not checked: pass --elf and --input)"
                };
                println!("program:     0x{}{note}", c.program);
                println!("input:       0x{}{note}", c.input);
                println!("step:        {} ({}){note}", c.step, c.instruction);
                println!(
                    "micro-step:  {} ({})  (checked: the clock in q and the proven micro-instruction)",
                    c.micro, c.uop
                );
            }
            println!(
                "root before: 0x{root}{}",
                if checked_run {
                    "  (the run's state at that micro-step)"
                } else {
                    ""
                }
            );
            println!("root after:  0x{}", file.root_after);
            Ok(0)
        }
        Some(mswap::game::transcript::TRANSCRIPT_TYPE) => {
            if a.elf.is_some() {
                return Err(format!(
                    "{name}: a transcript carries its program and input; --elf is for step proofs"
                )
                .into());
            }
            verify_transcript_file(&name, &bytes)
        }
        Some(other) => Err(format!(
            "{name}: unknown file type {other:?} (expected \"{STEP_PROOF_TYPE}\" or \"transcript\")"
        )
        .into()),
        None => Err(format!("{name}: not an mswap proof (no \"type\" field)").into()),
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
        Some(a) if a != *computed => {
            Err(format!("{name}: invalid proof: the step leads to 0x{computed}, not 0x{a}").into())
        }
        _ => Ok(()),
    }
}

fn verify_transcript_file(name: &str, bytes: &[u8]) -> Result<i32, CliError> {
    use mswap::game::rules::{Game, Move, Phase};
    use mswap::game::transcript::{Transcript, verify_transcript};
    // Straight from the bytes, so a duplicated key is refused.
    let t: Transcript =
        serde_json::from_slice(bytes).map_err(|e| format!("{name}: malformed transcript: {e}"))?;
    let checked = verify_transcript(&t).map_err(|e| format!("{name}: invalid transcript: {e}"))?;
    // Replay once more (the moves are valid now) to see where the bisection ended.
    let mut last = None;
    if let Ok(mut g) = Game::new(
        t.claim.clone(),
        &t.program,
        &t.input,
        t.levels.clone(),
        t.clock_ms,
        t.created_ms,
    ) {
        for r in &t.moves {
            if !matches!(g.phase, Phase::Done(_)) {
                last = Some(g.phase.clone());
            }
            let _ = g.apply(r.side, r.seq, &r.mv, r.time_ms);
        }
        if !g.is_over() {
            last = Some(g.phase.clone());
        }
    }
    let rounds = t
        .moves
        .iter()
        .filter(|r| matches!(r.mv, Move::Midpoint { .. }))
        .count();
    println!("valid transcript of game {}", t.game);
    println!(
        "program:     0x{} ({} bytes)",
        t.claim.program,
        t.program.len()
    );
    println!("input:       0x{} ({} bytes)", t.claim.input, t.input.len());
    println!(
        "claim:       2^{} steps end in root 0x{} ({})",
        t.claim.b, t.claim.final_root, t.claim.status
    );
    println!(
        "levels:      {}",
        t.levels
            .iter()
            .map(|l| format!("{:?} 2^{}", l.kind, l.log2).to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "moves:       {} ({rounds} bisection rounds) in {:.1} s",
        t.moves.len(),
        t.moves
            .last()
            .map_or(0, |m| m.time_ms.saturating_sub(t.created_ms)) as f64
            / 1000.0
    );
    match &last {
        Some(Phase::Prove(d)) => println!(
            "disputed:    micro-step {} of A-step {} (from root 0x{})",
            d.j, d.t, d.root_before
        ),
        Some(Phase::Bisect(b)) => println!(
            "disputed:    level {} interval [{}, {}] (the bisection did not finish)",
            b.level, b.lo, b.hi
        ),
        Some(Phase::Open) => println!("disputed:    nothing (no challenge)"),
        _ => {}
    }
    match (&checked.game.phase, checked.winner) {
        (Phase::Done(o), Some(_)) => {
            println!("result:      {o}");
            if checked.by_timeout {
                println!(
                    "             (a timeout: it rests on the referee's clock, which an offline check cannot re-measure)"
                );
            } else {
                println!("             (re-checked offline: the step proof settles it)");
            }
        }
        _ => println!(
            "result:      the game is not over ({})",
            checked.game.waiting_for()
        ),
    }
    Ok(0)
}
