//! mswap as a library, end to end: load a guest, run it on machine A, take
//! the state root, prove one micro-step of machine AB and verify the proof.
//!
//! ```text
//! cargo run --release --example library [ELF [A-STEP]]
//! ```

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::prover::prove_run;
use mswap::state::tree::StateTree;
use mswap::verify::verify_step;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    // A static RV64IM ELF file (default: the embedded guest) and its input.
    let elf = match args.next() {
        Some(path) => std::fs::read(path)?,
        None => mswap::guests::default_guest().1.to_vec(),
    };
    let input: &[u8] = b"";
    let program = Program::load(&elf)?;

    // Machine A, the fast interpreter: run to the halt (steps = instructions).
    let mut machine = Machine::new(program.initial_state(input));
    let steps = machine.run(u64::MAX);
    let state = machine.into_state();
    println!("halted after {steps} steps: {}", state.status());

    // The Merkle root of the final state: what a claim about this run states.
    println!("final root: {}", StateTree::build(&state).root());

    // Machine AB: prove micro-step 3 of A-step t (an instruction of the run).
    let t: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(steps / 2);
    let file = prove_run(&program, input, t, 3)?;

    // The verifier module alone: from the agreed root before the step, the root after it.
    let after = verify_step(&file.root_before, &file.proof)?;
    assert_eq!(after, file.root_after, "the prover's next root");
    println!(
        "micro-step 3 of A-step {t} verified: {} -> {after}",
        file.root_before
    );
    Ok(())
}
