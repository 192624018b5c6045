//! Differential tests against `qemu-riscv64` (user mode) as an independent
//! oracle: every committed guest with its inputs gives the same stdout,
//! stderr and exit code under `mswap run` as under qemu; fault guests give
//! the same output up to the fault. Without qemu these tests fail, unless
//! `MSWAP_SKIP_QEMU=1` (then they say loudly that they skipped).

mod support;

use std::process::Command;
use support::cli::run;
use support::guests::{qemu_run, shell_code};

fn inputs_for(name: &str) -> Vec<Vec<u8>> {
    let mut v = vec![support::sample_input(name), Vec::new()];
    match name {
        "rust_json" => v.push(b"[{\"name\": \"Ada\", \"age\": \"thirty-six\"}]".to_vec()),
        // An invalid transaction (intrinsic gas too low), and a truncated case.
        "rust_evm" => {
            let case = support::sample_input(name);
            v.push(
                std::fs::read(support::guests::input_path("evm_invalid.bin"))
                    .expect("inputs/evm_invalid.bin"),
            );
            v.push(case[..case.len() / 2].to_vec());
        }
        "echo" | "sha256" | "keccak" | "rust_sha256" => {
            v.push(b"a".to_vec());
            v.push(vec![b'x'; 1000]); // crosses the 512-byte short-read chunk
            v.push((0..=255u8).cycle().take(4099).collect());
        }
        "sort" => v.push(b"3 -1 2\n9223372036854775807 -9223372036854775807\n".to_vec()),
        // The long benchmark guest runs with small counts only.
        "loop" => v = vec![b"10".to_vec(), b"3000".to_vec()],
        "collatz" => v.push(b"5000".to_vec()),
        _ => {}
    }
    v.dedup();
    v
}

#[test]
fn every_guest_matches_qemu() {
    let Some(q) = support::qemu(module_path!()) else {
        return;
    };
    let mswap = env!("CARGO_BIN_EXE_mswap");
    let guests = support::guests();
    assert!(guests.len() >= 10, "the guest suite is missing");
    for (name, _, _) in guests {
        let elf = support::guest_path(&name);
        for input in inputs_for(&name) {
            let ours = run(Command::new(mswap).arg("run").arg(&elf), &input);
            let theirs = qemu_run(&q, &elf, &input);
            let what = format!("{name} with {} input bytes", input.len());
            if name.starts_with("fault_") {
                // qemu emulates some of these (CSRs, unknown syscalls); the
                // output before the fault must agree.
                let n = ours.stdout.len().min(theirs.stdout.len());
                assert!(n > 0, "{what}: no output before the fault");
                assert_eq!(
                    ours.stdout[..n],
                    theirs.stdout[..n],
                    "{what}: stdout before the fault"
                );
                assert!(
                    shell_code(&ours) > 128,
                    "{what}: mswap must report the fault, exit {}",
                    shell_code(&ours)
                );
                let msg = String::from_utf8_lossy(&ours.stderr);
                assert!(
                    msg.contains("guest fault at pc"),
                    "{what}: fault message: {msg}"
                );
                continue;
            }
            assert_eq!(
                String::from_utf8_lossy(&ours.stdout),
                String::from_utf8_lossy(&theirs.stdout),
                "{what}: stdout"
            );
            assert_eq!(ours.stderr, theirs.stderr, "{what}: stderr");
            assert_eq!(shell_code(&ours), shell_code(&theirs), "{what}: exit code");
        }
    }
}

#[test]
fn faults_that_qemu_also_raises_give_the_same_signal() {
    let Some(q) = support::qemu(module_path!()) else {
        return;
    };
    let mswap = env!("CARGO_BIN_EXE_mswap");
    for name in [
        "fault_illegal",
        "fault_ebreak",
        "fault_load_range",
        "fault_store_range",
        "fault_store_code",
        "fault_fetch",
        "fault_amo_misaligned",
        "fault_rvc_illegal",
    ] {
        let elf = support::guest_path(name);
        let ours = run(Command::new(mswap).arg("run").arg(&elf), b"");
        let theirs = qemu_run(&q, &elf, b"");
        assert_eq!(
            shell_code(&ours),
            shell_code(&theirs),
            "{name}: 128 + signal"
        );
    }
}
