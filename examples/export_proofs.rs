//! Regenerates the example proofs in `proofs/`:
//!
//! ```text
//! cargo run --release --example export_proofs
//! ```
//!
//! It writes two tiny programs (`proofs/example.elf`, `proofs/fault.elf`,
//! made without a cross compiler), picks one characteristic micro-step for
//! each kind of work (an ALU op, a load, a store, each system call, a
//! fault, a fetch, an idle tick, the cleaning step) and exports its proof
//! as JSON (and the store's also in binary), and the transcript of a whole
//! game on `example.elf` (the defender lies from A-step 9, micro-step 40;
//! played in memory with a virtual clock, so the file is reproducible).
//! `tests/proof_files.rs` and `tests/game_transcript.rs` re-verify the
//! files and check that they are up to date.

use mswap::elf::{PF_R, PF_W, PF_X, Program, write_elf};
use mswap::layout::{CTRL_BASE, ctrl};
use mswap::micro::isa::{Uop, op};
use mswap::micro::microcode::microcode;
use mswap::micro::step::UStatus;
use mswap::micro::{CLEAN_AT, MicroMachine};
use mswap::proof::binary;
use mswap::prover::{prove_run, state_at};
use std::path::Path;

fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc
}
fn i(imm: i32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc
}
fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i(imm, rs1, 0, rd, 0x13)
}

/// The example program: each line is one A-step.
pub fn example_program() -> Vec<u32> {
    vec![
        0x0002_0337,            // 0  lui  x6, 0x20        x6 = 0x20000 (data)
        addi(7, 0, 42),         // 1  addi x7, x0, 42
        r(0, 7, 7, 0, 5, 0x33), // 2  add  x5, x7, x7      (ALU)
        i(0, 6, 3, 8, 0x03),    // 3  ld   x8, 0(x6)       (load)
        (5 << 20) | (6 << 15) | (3 << 12) | (8 << 7) | 0x23, // 4  sd x5, 8(x6) (store)
        addi(17, 0, 63),        // 5  addi a7, x0, 63      read
        addi(10, 0, 0),         // 6  addi a0, x0, 0       fd 0
        addi(11, 6, 16),        // 7  addi a1, x6, 16      buf
        addi(12, 0, 8),         // 8  addi a2, x0, 8       len
        0x73,                   // 9  ecall                (read)
        addi(17, 0, 64),        // 10 addi a7, x0, 64      write
        addi(10, 0, 1),         // 11 addi a0, x0, 1       fd 1
        addi(11, 6, 0),         // 12 addi a1, x6, 0       buf
        addi(12, 0, 24),        // 13 addi a2, x0, 24      len
        0x73,                   // 14 ecall                (write)
        addi(17, 0, 93),        // 15 addi a7, x0, 93      exit
        addi(10, 0, 7),         // 16 addi a0, x0, 7
        0x73,                   // 17 ecall                (exit 7)
    ]
}

fn elf(code: &[u32], data: &[u8]) -> Vec<u8> {
    let code: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    write_elf(
        &[
            (0x10000, PF_R | PF_X, &code, code.len() as u64),
            (0x20000, PF_R | PF_W, data, 0x1000),
        ],
        0x10000,
    )
}

/// The micro-register holding the copy's destination in the system calls
/// (`T1` of the microcode): their first store through it writes the buffer.
const COPY_DEST: u8 = 8;

/// The first micro-step `j` of A-step `t` whose micro-instruction satisfies `pick`.
fn find(program: &Program, input: &[u8], t: u64, pick: &dyn Fn(&Uop, UStatus) -> bool) -> u64 {
    let code = microcode();
    let mut m = MicroMachine::attach(state_at(program, input, t));
    for j in 0..=CLEAN_AT {
        let u = Uop::decode(code.fetch(m.upc()));
        let clean = m.clock() >= CLEAN_AT;
        let status = if clean {
            UStatus::Cleaned
        } else if u.op == op::IDLE {
            UStatus::Idle
        } else {
            UStatus::Executed
        };
        if pick(&u, status) {
            return j;
        }
        m.step();
    }
    panic!("no micro-step of A-step {t} matches");
}

/// The example game's transcript.
pub fn example_transcript(elf: &[u8], input: &[u8]) -> mswap::rules::transcript::Transcript {
    mswap::chain::fixtures::game_transcript(elf, input, 5)
}

/// The tamperings of the example proofs in the contracts' fixture: each
/// proof's, the first proof with a leaf lending the other leaf.
pub fn tamperings(files: &[mswap::proof::ProofFile]) -> Vec<mswap::chain::abi::Case> {
    let load = files
        .iter()
        .find(|f| f.proof.s_leaf.is_some())
        .expect("a proof with a leaf");
    files
        .iter()
        .flat_map(|f| mswap::chain::fixtures::tamper_cases(f, &load.proof))
        .collect()
}

/// The contracts' fixtures of the example proofs and their tamperings
/// (`tests/solidity_generated.rs` checks them).
pub fn write_fixtures(files: &[mswap::proof::ProofFile]) {
    use mswap::chain::abi::fixture;
    use mswap::chain::fixtures::{PROOFS_FIXTURE, TAMPER_FIXTURE, example_cases};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tamper = tamperings(files);
    std::fs::create_dir_all(root.join(PROOFS_FIXTURE).parent().expect("dir")).expect("mkdir");
    std::fs::write(root.join(PROOFS_FIXTURE), fixture(&example_cases(files))).expect("write");
    std::fs::write(root.join(TAMPER_FIXTURE), fixture(&tamper)).expect("write");
    println!("fixtures: {} tamperings", tamper.len());
}

/// The contracts' fixtures of whole games at b = 5, 20, 40 (binary) and
/// b = 20 at k = 32.
pub fn write_game_fixtures(elf: &[u8], input: &[u8]) {
    use mswap::chain::fixtures::{GAME_FIXTURES, game_fixture, game_transcript_with};
    use mswap::rules::levels::kary_levels;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (b, k, path) in GAME_FIXTURES {
        let t = game_transcript_with(elf, input, kary_levels(b, k, k), b);
        std::fs::write(root.join(path), game_fixture(&t)).expect("write game fixture");
        println!("game b={b} k={k}: {} moves", t.moves.len());
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs");
    let data: Vec<u8> = 0x1122_3344_5566_7788u64.to_le_bytes().to_vec();
    let example = elf(&example_program(), &data);
    let fault = elf(&[addi(5, 0, 1), 0xffff_ffff], &[]);
    std::fs::write(dir.join("example.elf"), &example).expect("write example.elf");
    std::fs::write(dir.join("fault.elf"), &fault).expect("write fault.elf");
    let input = b"ABCDEFGH".to_vec();
    std::fs::write(dir.join("example.input"), &input).expect("write example.input");
    let ex = Program::load(&example).expect("example loads");
    let fa = Program::load(&fault).expect("fault program loads");
    let status_word = (CTRL_BASE + ctrl::STATUS) as i64;
    type Pick = Box<dyn Fn(&Uop, UStatus) -> bool>;
    let cases: Vec<(&str, &Program, &[u8], u64, Pick)> = vec![
        ("fetch", &ex, &input, 0, Box::new(|_, _| true)),
        (
            "alu",
            &ex,
            &input,
            2,
            Box::new(|u, _| u.op == op::ADD && u.rd == 6 && u.ra == 3 && u.rb == 4),
        ),
        (
            "load",
            &ex,
            &input,
            3,
            Box::new(|u, _| u.op == op::LD && u.rd == 6 && u.ra == 3),
        ),
        (
            "store",
            &ex,
            &input,
            4,
            Box::new(|u, _| u.op == op::ST && u.ra == 3),
        ),
        (
            "read",
            &ex,
            &input,
            9,
            Box::new(|u, _| u.op == op::ST && u.ra == COPY_DEST),
        ),
        (
            "write",
            &ex,
            &input,
            14,
            Box::new(|u, _| u.op == op::ST && u.ra == COPY_DEST),
        ),
        (
            "exit",
            &ex,
            &input,
            17,
            Box::new(move |u, _| u.op == op::ST && u.imm == status_word),
        ),
        (
            "fault",
            &fa,
            &[],
            1,
            Box::new(move |u, _| u.op == op::ST && u.imm == status_word),
        ),
        ("idle", &ex, &input, 2, Box::new(|_, s| s == UStatus::Idle)),
        (
            "clean",
            &ex,
            &input,
            2,
            Box::new(|_, s| s == UStatus::Cleaned),
        ),
    ];
    let t = example_transcript(&example, &input);
    let mut json = serde_json::to_vec_pretty(&t).expect("serializes");
    json.push(b'\n');
    std::fs::write(dir.join("transcript.json"), json).expect("write transcript");
    println!("transcript: {} moves, {:?}", t.moves.len(), t.outcome);
    let mut files = Vec::new();
    for (name, program, input, t, pick) in cases {
        let j = find(program, input, t, &*pick);
        let file = prove_run(program, input, t, j).expect("proves");
        let mut json = serde_json::to_vec_pretty(&file).expect("serializes");
        json.push(b'\n');
        std::fs::write(dir.join(format!("{name}.json")), json).expect("write proof");
        if name == "store" {
            std::fs::write(dir.join("store.bin"), binary::encode(&file.proof))
                .expect("write binary proof");
        }
        println!(
            "{name:6} t={t:2} j={j:4} {:>5} bytes binary  {} / {}",
            binary::encode(&file.proof).len(),
            file.context.as_ref().map_or("", |c| c.instruction.as_str()),
            file.context.as_ref().map_or("", |c| c.uop.as_str())
        );
        files.push((name, file));
    }
    // In file-name order, as tests/solidity_generated.rs reads proofs/.
    files.sort_by_key(|(name, _)| *name);
    let files: Vec<_> = files.into_iter().map(|(_, f)| f).collect();
    write_fixtures(&files);
    write_game_fixtures(&example, &input);
}
