//! The official riscv-tests for RV64 I, M, A and C (user level, with
//! `ma_data` and `fence_i`; see examples/guests/riscv-tests/): every test
//! passes (exit 0) on machine A, every step of it is double-checked by
//! machine AB, and it passes under qemu-riscv64 too (which must be
//! installed, unless `MSWAP_SKIP_QEMU=1`).

mod support;

use mswap::check::{Options, double_check};
use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::layout::Status;
use mswap::micro::microcode::microcode;

#[test]
fn the_official_tests_pass_on_a_ab_and_qemu() {
    let qemu = support::qemu(module_path!());
    let dir = support::guest_dir().join("riscv-tests/bin");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/guests/riscv-tests/bin")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "elf"))
        .collect();
    names.sort();
    let mut suites = [0usize; 4];
    for path in &names {
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        for (i, s) in ["rv64ui", "rv64um", "rv64ua", "rv64uc"].iter().enumerate() {
            suites[i] += usize::from(name.starts_with(s));
        }
        let elf = std::fs::read(path).expect("read");
        let p = Program::load(&elf).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut a = Machine::new(p.initial_state(&[]));
        a.run(1_000_000);
        assert_eq!(
            a.status(),
            Status::Exited(0),
            "{name}: the failing case number is the exit code"
        );
        let stats = double_check(p.initial_state(&[]), &Options::default(), microcode())
            .unwrap_or_else(|m| panic!("{name}: A vs AB: {m}"));
        assert!(stats.transitions > 3, "{name}");
        if let Some(qemu) = &qemu {
            let s = support::guests::qemu_run(qemu, path, b"").status;
            assert_eq!(s.code(), Some(0), "{name} under qemu-riscv64");
        }
    }
    // rv64ui (with ma_data and fence_i), rv64um, rv64ua (with lrsc), rv64uc.
    assert_eq!(suites, [54, 13, 19, 1], "the committed test set");
}
