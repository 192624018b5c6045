//! Random-program differential test, three ways: random straight-line
//! RV64IMAC programs (every ALU, M and W operation, loads and stores of
//! every width at aligned and misaligned addresses, short forward branches,
//! lui/auipc, compressed instructions of every non-jumping kind plus the
//! compressed forward branches and jumps, every AMO, LR/SC pairs and lone
//! SCs, fence.i) run under machine A, machine AB and `qemu-riscv64`; all
//! registers and the data memory are written out at the end and must be
//! identical.
//!
//! x31 holds the data address, x2 (sp) = data + 1024 is the base of the
//! atomics and of the sp-relative compressed forms, x8 = data + 1536 the
//! base of the other compressed loads and stores; no random instruction
//! writes these three. An LR is always followed by its SC (at most one
//! ALU instruction between), since qemu's SC also compares the value.

mod support;

use mswap::check::check_range;
use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::micro::microcode::microcode;
use std::path::Path;
use support::guests::qemu_run_bytes;
use support::random::program;

fn check_seed(seed: u64, qemu: Option<&Path>) {
    let elf = program(seed, 300);
    let p = Program::load(&elf).expect("loads");
    let mut a = Machine::new(p.initial_state(&[]));
    a.run(10_000);
    let st = a.state();
    assert_eq!(st.status(), mswap::layout::Status::Exited(0), "seed {seed}");
    let ours = st.output();
    assert_eq!(ours.len(), 4096, "seed {seed}");
    check_range(p.initial_state(&[]), 0, 2000, microcode())
        .unwrap_or_else(|m| panic!("seed {seed}: A vs AB: {m}"));
    if let Some(qemu) = qemu {
        let out = qemu_run_bytes(qemu, &elf, &format!("random-{seed}"), b"");
        assert!(
            out.status.success(),
            "seed {seed}: qemu status {:?}",
            out.status
        );
        if out.stdout != ours {
            let i = ours
                .iter()
                .zip(&out.stdout)
                .position(|(x, y)| x != y)
                .unwrap_or(ours.len().min(out.stdout.len()))
                & !7;
            panic!(
                "seed {seed}: mswap and qemu differ ({} vs {} bytes) at output byte {i} ({}): {:02x?} vs {:02x?}",
                ours.len(),
                out.stdout.len(),
                if i < 248 {
                    format!("x{}", i / 8)
                } else {
                    "data".into()
                },
                &ours[i..(i + 8).min(ours.len())],
                &out.stdout[i..(i + 8).min(out.stdout.len())]
            );
        }
    }
}

#[test]
fn random_programs_agree_on_a_ab_and_qemu() {
    // Without qemu (and MSWAP_SKIP_QEMU=1), machine A against machine AB only.
    let qemu = support::qemu("qemu_random");
    let extra = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    for seed in (1..=400).chain((0..20).map(|k| extra.wrapping_add(k))) {
        check_seed(seed, qemu.as_deref());
    }
}
