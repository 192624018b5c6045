//! The double-check's fast AB engine against the reference step function:
//! the same `Q`, the same `S` words written with the same values, after
//! every micro-step, on every instruction class of the real microcode and
//! on random micro-programs (every operation, every register, wild
//! branches, loads and stores anywhere in `S`).

#[path = "support/mod.rs"]
mod support;

use mswap::check::engine::FastAb;
use mswap::micro::access::direct::Direct;
use mswap::micro::asm::Program;
use mswap::micro::isa::{CLEAN_AT, Q, Uop, op};
use mswap::micro::microcode::{Microcode, microcode};
use mswap::micro::step::{UStatus, ustep};
use mswap::state::State;
use support::{code_state, enc, guests};

/// Steps both machines from `(q, s)` micro-step by micro-step until the
/// reference makes its cleaning step (or `most` steps), comparing after
/// each; returns the micro-instructions executed.
fn lockstep(
    code: &Microcode,
    fast: &FastAb,
    q: Q,
    s: State,
    most: u64,
    what: &dyn Fn() -> String,
) -> u64 {
    let (mut rq, mut rs) = (q, s.clone());
    let (mut fq, mut fs) = (q, s);
    let (mut rw, mut fw) = (Vec::new(), Vec::new());
    let mut executed = 0;
    for k in 0..most {
        rw.clear();
        fw.clear();
        let status = {
            let mut acc = Direct {
                q: &mut rq,
                s: &mut rs,
                code,
                written: Some(&mut rw),
            };
            match ustep(&mut acc, CLEAN_AT) {
                Ok(st) => st,
                Err(never) => match never {},
            }
        };
        let ran = fast.run(&mut fq, &mut fs, 1, &mut fw);
        assert_eq!(ran.steps, 1, "{}: micro-step {k} made no step", what());
        assert_eq!(
            ran.last,
            Some(status),
            "{}: status at micro-step {k}",
            what()
        );
        assert_eq!(fq, rq, "{}: Q after micro-step {k}", what());
        assert_eq!(fw, rw, "{}: S words written at micro-step {k}", what());
        for &w in &rw {
            assert_eq!(
                fs.read_word(w),
                rs.read_word(w),
                "{}: S word {w:#x} after micro-step {k}",
                what()
            );
        }
        executed += (status == UStatus::Executed) as u64;
        if status == UStatus::Cleaned {
            break;
        }
    }
    if let Some(d) = fs.first_difference(&rs) {
        panic!("{}: S at the end differs on {d}", what());
    }
    executed
}

/// The fast A-step (idle ticks skipped; the compiled microcode when `fast`
/// has it) ends where the reference's does: the same micro-instructions
/// executed, the same overrun, `Q`, `S` and `S` words written.
fn a_step_agrees(fast: &FastAb, s: State, what: &dyn Fn() -> String) {
    let mut reference = mswap::micro::MicroMachine::attach(s.clone());
    let mut rw = Vec::new();
    let want = reference.run_a_step(Some(&mut rw));
    let (mut q, mut st, mut w) = (mswap::micro::Q_PRISTINE, s, Vec::new());
    let got = fast.run_a_step(&mut q, &mut st, &mut w);
    assert_eq!(got, want, "{}: the A-step's run", what());
    assert_eq!(q, reference.q, "{}: Q after the A-step", what());
    assert_eq!(w, rw, "{}: S words written in the A-step", what());
    if let Some(d) = st.first_difference(&reference.s) {
        panic!("{}: S after the A-step differs on {d}", what());
    }
}

/// The compiled blocks hand an A-step over to the interpreter exactly,
/// wherever they stop: with every budget from 0 to the cleaning step, on a
/// spread of instructions and system calls, the A-step ends as the
/// reference's.
#[test]
fn the_compiled_engine_hands_over_to_the_interpreter_at_any_micro_step() {
    let code = microcode();
    let fast = FastAb::new(code);
    assert!(fast.is_compiled());
    let mut states = Vec::new();
    for h in (0..=0xffffu32).filter(|h| h & 3 != 3).step_by(251) {
        let regs: Vec<(usize, u64)> = (8..16).map(|r| (r, 0x8000 + r as u64 * 8)).collect();
        states.push((format!("{h:#06x}"), code_state(&[0x0001_0000 | h], &regs)));
    }
    let operands = [u64::MAX, 0x8003];
    for opcode in (0..128u32).filter(|o| o & 3 == 3) {
        for f3 in 0..8 {
            for f7 in [0u32, 0x01, 0x20] {
                let w = enc::r(f7, 6, 5, f3, 7, opcode);
                for &x in &operands {
                    let s = code_state(&[w], &[(5, x), (6, 0x8000), (8, x)]);
                    states.push((format!("{w:#010x} {x:#x}"), s));
                }
            }
        }
    }
    let input: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
    for (a7, fd, buf, len) in [(63u64, 0u64, 0x8001u64, 100u64), (64, 1, 0x8000, 16)] {
        let mut s = code_state(&[enc::ECALL], &[(17, a7), (10, fd), (11, buf), (12, len)]);
        s.set_input(&input);
        states.push((format!("ecall {a7}"), s));
    }
    let mut handed = 0;
    for (what, s) in &states {
        let mut reference = mswap::micro::MicroMachine::attach(s.clone());
        let mut rw = Vec::new();
        let want = reference.run_a_step(Some(&mut rw));
        for budget in 0..=CLEAN_AT {
            let (mut q, mut st, mut w) = (mswap::micro::Q_PRISTINE, s.clone(), Vec::new());
            let got = fast.run_a_step_handing_over(&mut q, &mut st, &mut w, budget);
            let at = || format!("{what}, handed over at {budget}");
            assert_eq!(got, want, "{}: the A-step's run", at());
            assert_eq!(q, reference.q, "{}: Q after the A-step", at());
            assert_eq!(w, rw, "{}: S words written", at());
            if let Some(d) = st.first_difference(&reference.s) {
                panic!("{}: S after the A-step differs on {d}", at());
            }
            handed += (budget < want.executed) as u64;
        }
    }
    assert!(handed > 10_000, "only {handed} A-steps handed over");
}

/// Every 16-bit encoding, every 32-bit major opcode with every funct3 and
/// the funct7 values that select, the system calls: the whole `2^a`
/// micro-steps of each, stepped side by side.
#[test]
fn the_fast_engine_steps_as_the_reference_on_every_instruction_class() {
    let code = microcode();
    let fast = FastAb::new(code);
    assert!(fast.is_compiled(), "the A-steps run the compiled microcode");
    let q = mswap::micro::Q_PRISTINE;
    let full = CLEAN_AT + 1;
    let mut executed = 0;
    for h in (0..=0xffffu32).filter(|h| h & 3 != 3) {
        for (x, y) in [(0x8000u64, 0x8003u64), (u64::MAX, 0x5555_5555_5555_5555)] {
            let mut regs = vec![(2, x)];
            regs.extend((8..16).map(|r| (r, if r % 2 == 0 { x } else { y })));
            let s = code_state(&[0x0001_0000 | h], &regs);
            let what = || format!("{h:#06x} {x:#x} {y:#x}");
            executed += lockstep(code, &fast, q, s.clone(), full, &what);
            a_step_agrees(&fast, s, &what);
        }
    }
    let funct7s = [0u32, 0x01, 0x20, 0x02, 0x04, 0x08, 0x0c, 0x10, 0x7f];
    let operands = [u64::MAX, 0, 0x8000_0000_0000_0000, 0x8000, 0x8003];
    for opcode in (0..128u32).filter(|o| o & 3 == 3) {
        for f3 in 0..8 {
            for f7 in funct7s {
                let w = enc::r(f7, 6, 5, f3, 7, opcode);
                for &x in &operands {
                    for &y in &operands[..3] {
                        let mut s = code_state(&[w], &[(5, x), (6, y), (8, x)]);
                        s.set_ctrl(mswap::layout::ctrl::RESERVATION, x | 1);
                        let what = || format!("{w:#010x} {x:#x} {y:#x}");
                        executed += lockstep(code, &fast, q, s.clone(), full, &what);
                        a_step_agrees(&fast, s, &what);
                    }
                }
            }
        }
    }
    let input: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
    for (a7, fd) in [(63u64, 0u64), (64, 1), (64, 9), (93, 0), (17, 0)] {
        for (buf, len) in [
            (0x8001u64, 100u64),
            (0x8000, 5),
            (u64::MAX - 3, 8),
            (0x8000, 0),
        ] {
            let mut s = code_state(&[enc::ECALL], &[(17, a7), (10, fd), (11, buf), (12, len)]);
            s.set_input(&input);
            let what = || format!("ecall {a7} fd {fd} buf {buf:#x} len {len}");
            executed += lockstep(code, &fast, q, s.clone(), full, &what);
            a_step_agrees(&fast, s, &what);
        }
    }
    assert!(
        executed > 1_000_000,
        "only {executed} micro-instructions compared"
    );
}

/// The first steps of every guest, each A-step micro-step by micro-step.
#[test]
fn the_fast_engine_steps_as_the_reference_on_the_guests() {
    let code = microcode();
    let fast = FastAb::new(code);
    assert!(fast.is_compiled(), "the A-steps run the compiled microcode");
    let all = guests();
    assert!(all.len() >= 20, "the guest suite is missing");
    for (name, elf, input) in all {
        let program = mswap::elf::Program::load(&elf).expect("loads");
        let mut a = mswap::fast::Machine::new(program.initial_state(&input));
        for t in 0..3000u64 {
            let s = a.state().clone();
            let what = || format!("{name} step {t}");
            lockstep(
                code,
                &fast,
                mswap::micro::Q_PRISTINE,
                s.clone(),
                CLEAN_AT + 1,
                &what,
            );
            a_step_agrees(&fast, s, &what);
            if !a.step() {
                break;
            }
        }
    }
}

/// `src/check/compiled.rs` is what the code generator makes of today's
/// microcode (`MSWAP_WRITE_COMPILED=1` rewrites it), and the fast engine
/// runs it on that microcode.
#[test]
fn the_compiled_microcode_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/check/compiled.rs");
    let want = mswap::check::codegen::generate(microcode());
    if std::env::var_os("MSWAP_WRITE_COMPILED").is_some() {
        std::fs::write(path, &want).expect("writes compiled.rs");
    }
    let have = std::fs::read_to_string(path).expect("reads compiled.rs");
    assert!(
        have == want,
        "src/check/compiled.rs is stale: run MSWAP_WRITE_COMPILED=1 cargo test --release --test check_engine the_compiled_microcode_is_up_to_date"
    );
    assert!(FastAb::new(microcode()).is_compiled());
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random micro-programs: every operation (and undefined ones), every
/// register (`u0` as a destination too), every `func`, immediates small
/// and wild, branch and jump targets inside and outside the program; from
/// a random `Q` (clocks near the cleaning step too) and an `S` with
/// random words where the loads and stores land.
#[test]
fn the_fast_engine_steps_as_the_reference_on_random_micro_programs() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut executed = 0;
    for p in 0..1000 {
        let len = 4 + rng.below(60) as usize;
        let words: Vec<u64> = (0..len)
            .map(|_| {
                // Mostly defined operations; now and then IDLE or an undefined one.
                let o = if rng.below(32) == 0 {
                    [op::IDLE, op::COUNT, 0xff][rng.below(3) as usize]
                } else {
                    1 + rng.below(op::COUNT as u64 - 1) as u8
                };
                let jump = o == op::BR || o == op::JAL;
                let imm = match rng.below(if jump { 8 } else { 4 }) {
                    0 => rng.below(64) as i64 - 32,
                    1 => (rng.below(0x8000) * 8) as i64,
                    2 => (rng.next() as i64) >> 24,
                    _ => rng.below(len as u64 + 2) as i64,
                };
                // A jump through u0 mostly, so that it lands in the program.
                let ra = if o == op::JAL && rng.below(4) != 0 {
                    0
                } else {
                    rng.below(16) as u8
                };
                Uop {
                    op: o,
                    rd: rng.below(16) as u8,
                    ra,
                    rb: rng.below(16) as u8,
                    func: rng.below(16) as u8,
                    imm,
                }
                .encode()
            })
            .collect();
        let code = Microcode::new(Program {
            words,
            names: Vec::new(),
            comments: Vec::new(),
        });
        let fast = FastAb::new(&code);
        let mut q: Q = [0; 16];
        for (i, w) in q.iter_mut().enumerate().skip(1) {
            *w = match rng.below(3) {
                0 => rng.below(0x40000),
                1 => rng.next(),
                _ => i as u64,
            };
        }
        let clock = if rng.below(4) == 0 {
            CLEAN_AT - rng.below(8)
        } else {
            0
        };
        q[0] = rng.below(len as u64) | (clock << 32);
        let mut s = State::new();
        for _ in 0..64 {
            let a = rng.below(0x40000) & !7;
            s.write_word(a, rng.next());
        }
        let what = || format!("random program {p}");
        executed += lockstep(&code, &fast, q, s, 300, &what);
    }
    assert!(
        executed > 20_000,
        "only {executed} micro-instructions compared"
    );
}
