//! Prove-then-verify: for micro-steps of real runs, the verifier accepts the
//! proof and returns exactly the root the micro-machine reaches.

mod support;

use mswap::micro::microcode::microcode;
use mswap::micro::{CLEAN_AT, MicroMachine, q_root, r_root};
use mswap::prover::prove_micro_step;
use mswap::state::tree::root;
use mswap::verify::verify_step;
use support::{code_state, enc};

/// `root(R)` of a micro-machine, from scratch.
fn machine_root(m: &MicroMachine<mswap::state::State>) -> mswap::hash::Hash {
    r_root(&q_root(&m.q), &root(&m.s))
}

#[test]
fn every_micro_step_of_a_store_and_a_write_verifies() {
    // sd x5, 8(x6); addi a7, x0, 64; addi a0, x0, 1; ecall
    let code = [
        enc::s(8, 5, 6, 3),
        enc::addi(17, 0, 64),
        enc::addi(10, 0, 1),
        enc::ECALL,
    ];
    let mut s = code_state(
        &code,
        &[
            (5, 0x1122_3344_5566_7788),
            (6, 0x8000),
            (11, 0x8000),
            (12, 16),
        ],
    );
    let mut a = mswap::fast::Machine::new(s.clone());
    for t in 0..4u64 {
        // Step through every micro-step of A-step t, proving each.
        let mut m = MicroMachine::attach(s.clone());
        for j in 0..=CLEAN_AT {
            let before = machine_root(&m);
            let proven = prove_micro_step(s.clone(), j, microcode()).expect("proves");
            assert_eq!(
                proven.root_before, before,
                "t {t} j {j}: prover's root before"
            );
            let after =
                verify_step(&before, &proven.proof).unwrap_or_else(|e| panic!("t {t} j {j}: {e}"));
            m.step();
            assert_eq!(after, machine_root(&m), "t {t} j {j}: verified root after");
            assert_eq!(after, proven.root_after);
            // Idle ticks are all alike: jump to the last few.
            if proven.status == mswap::micro::step::UStatus::Idle && j < CLEAN_AT - 2 {
                let mut skip = MicroMachine::attach(s.clone());
                for _ in 0..=j {
                    skip.step();
                }
                skip.q[0] = (skip.q[0] & 0xffff_ffff) | ((CLEAN_AT - 2) << 32);
                m = skip;
                let mut jj = CLEAN_AT - 2;
                while jj <= CLEAN_AT {
                    let before = machine_root(&m);
                    let proven = prove_micro_step(s.clone(), jj, microcode()).expect("proves");
                    let after = verify_step(&before, &proven.proof).expect("verifies");
                    m.step();
                    assert_eq!(after, machine_root(&m));
                    jj += 1;
                }
                break;
            }
        }
        let stripped = m.strip();
        a.run(1);
        assert!(
            a.state().first_difference(&stripped).is_none(),
            "t {t}: AB == A"
        );
        s = stripped;
    }
    assert_eq!(
        s.output(),
        vec![
            0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11
        ]
    );
}

#[test]
fn random_micro_steps_of_every_guest_prove_and_verify() {
    use mswap::fast::Machine;
    use mswap::state::tree::StateTree;
    let mut x: u64 = 0x853c_49e6_748f_ea9b;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n.max(1)
    };
    let guests = support::guests();
    assert!(guests.len() >= 10);
    for (name, elf, input) in guests {
        let program = mswap::elf::Program::load(&elf).unwrap();
        // Steps to halt (capped: the benchmark loop runs long).
        let mut m = Machine::new(program.initial_state(&input));
        let steps = m.run(200_000);
        for _ in 0..6 {
            let t = next(steps + 2); // sometimes past the halt: the identity step
            let j = match next(4) {
                0 => next(40),
                1 => mswap::micro::CLEAN_AT - next(3),
                _ => next(mswap::micro::USTEPS),
            };
            let mut a = Machine::new(program.initial_state(&input));
            a.run(t);
            let s_t = a.into_state();
            // The machine's own root before and after micro-step j.
            let mut mm = MicroMachine::attach(s_t.clone());
            mm.run_usteps(j);
            let before = r_root(&q_root(&mm.q), &StateTree::build(&mm.s).root());
            mm.step();
            let after = r_root(&q_root(&mm.q), &StateTree::build(&mm.s).root());
            let proven = prove_micro_step(s_t, j, microcode()).expect("proves");
            assert_eq!(proven.root_before, before, "{name} t {t} j {j}");
            let verified = verify_step(&before, &proven.proof)
                .unwrap_or_else(|e| panic!("{name} t {t} j {j}: {e}"));
            assert_eq!(
                verified, after,
                "{name} t {t} j {j}: the verified root is AB's next root"
            );
        }
    }
}
