//! The tests' helpers, one home for each, by topic: running the `mswap`
//! binary and reading what it prints ([`cli`]), the guests, the example
//! program and qemu ([`guests`]), a referee in this process and requests to
//! it ([`referee`], [`raw`]), referee and players as processes of the
//! binary ([`procs`]), random programs ([`random`]), sharded checks
//! ([`shards`]), the tools outside Rust ([`tools`]); here: temporary
//! directories, hand-made machine states, strategies, proof files and
//! deterministic randomness.
#![allow(dead_code)]

pub mod cli;
pub mod guests;
pub mod procs;
pub mod random;
pub mod raw;
pub mod referee;
pub mod shards;
pub mod tools;

// Each test file uses some of these.
#[allow(unused_imports)]
pub use guests::{
    example, example_paths, guest_bytes, guest_dir, guest_elf, guest_path, guest_state, guests,
    sample_input,
};

use mswap::elf::Program;
use mswap::layout::ctrl;
use mswap::state::State;
use std::path::{Path, PathBuf};

/// A fresh (emptied if it was there) temporary directory for test `tag`
/// (`mswap-TAG-PID` in the system's temporary directory).
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mswap-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A state whose executable range holds `code` at 0x1000 (pc there), with
/// the write-protected range over the code, and registers set by `regs`.
pub fn code_state(code: &[u32], regs: &[(usize, u64)]) -> State {
    let bytes: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    code_bytes_state(&bytes, regs)
}

/// [`code_state`] with the code given as bytes; `regs` are set in order.
pub fn code_bytes_state(code: &[u8], regs: &[(usize, u64)]) -> State {
    let mut s = State::new();
    if !code.is_empty() {
        s.mem.write(0x1000, code);
    }
    s.set_pc(0x1000);
    s.set_ctrl(ctrl::EXEC_LO, 0x1000);
    s.set_ctrl(ctrl::EXEC_SIZE, code.len() as u64);
    s.set_ctrl(ctrl::RO_LO, 0x1000);
    s.set_ctrl(ctrl::RO_SIZE, code.len() as u64);
    for &(r, v) in regs {
        s.set_x(r, v);
    }
    s
}

/// Tiny RV64 encoders for hand-written test programs.
pub mod enc {
    /// R-type.
    pub fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
        (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    }
    /// I-type.
    pub fn i(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
        (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
    }
    /// S-type.
    pub fn s(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
        let imm = imm as u32;
        (((imm >> 5) & 0x7f) << 25)
            | (rs2 << 20)
            | (rs1 << 15)
            | (f3 << 12)
            | ((imm & 0x1f) << 7)
            | 0x23
    }
    /// B-type (conditional branch by `imm` bytes).
    pub fn b(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
        let imm = imm as u32;
        (((imm >> 12) & 1) << 31)
            | (((imm >> 5) & 0x3f) << 25)
            | (rs2 << 20)
            | (rs1 << 15)
            | (f3 << 12)
            | (((imm >> 1) & 0xf) << 8)
            | (((imm >> 11) & 1) << 7)
            | 0x63
    }
    /// `addi rd, rs1, imm`.
    pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(imm, rs1, 0, rd, 0x13)
    }
    /// `ecall`.
    pub const ECALL: u32 = 0x73;
}

/// An honest strategy over `2^b` steps with 8 checkpoints, bent by `lies` if any.
pub fn strategy(
    p: &Program,
    input: &[u8],
    b: u32,
    lies: &[mswap::players::player::Lie],
) -> Box<dyn mswap::players::player::Strategy> {
    use mswap::players::player::{Honest, Liar};
    let honest = Honest {
        timeline: mswap::players::timeline::Timeline::new(p, input, b, 3),
    };
    if lies.is_empty() {
        Box::new(honest)
    } else {
        Box::new(Liar::new(honest, lies.to_vec()))
    }
}

/// The step proof files of `proofs/`, one for each kind of micro-step.
pub const PROOF_FILES: [&str; 10] = [
    "alu.json",
    "clean.json",
    "exit.json",
    "fault.json",
    "fetch.json",
    "idle.json",
    "load.json",
    "read.json",
    "store.json",
    "write.json",
];

/// The folder `proofs/`: the exported step proofs, the example program
/// and its transcript.
pub fn proofs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs")
}

/// A step proof file of `proofs/`.
pub fn proof_file(name: &str) -> mswap::proof::ProofFile {
    let p = proofs_dir().join(name);
    serde_json::from_slice(&std::fs::read(&p).expect("proof file"))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every step proof file of `proofs/` (not its transcript), by name.
pub fn proof_files() -> Vec<mswap::proof::ProofFile> {
    let mut names: Vec<_> = std::fs::read_dir(proofs_dir())
        .expect("proofs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("transcript.json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("proof file"))
        .collect()
}

/// A xorshift generator: deterministic randomness for tests.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 if `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index below `n` (0 if `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}

/// `qemu-riscv64` if it is installed; if not, `test` fails unless
/// `MSWAP_SKIP_QEMU=1` (see [`tools::need`]).
pub fn qemu(test: &str) -> Option<PathBuf> {
    tools::need(&tools::QEMU, test, "the comparison with qemu-riscv64")
}

/// Whether the contracts' toolchain (`contracts/node_modules/.bin/TOOL`,
/// installed by `npm ci` in contracts/) is here for `what`; if not, the
/// test fails unless `MSWAP_SKIP_FOUNDRY=1` (see [`tools::need`]).
pub fn have_contract_tool(tool: &str, what: &str) -> bool {
    tools::need(&tools::FOUNDRY, what, &format!("what needs {tool}"))
        .is_some_and(|bin| bin.join(tool).is_file())
}
