//! Lockstep differential test against qemu-riscv64: qemu writes the pc and
//! every register before each instruction (`-singlestep -d cpu,nochain`);
//! machine A must be in the same place with the same registers at every
//! step. qemu runs with 4 GiB of reserved guest address space (`-R`) so that
//! its stack lies inside mswap's memory; mswap starts from qemu's initial sp
//! (the Rust guests set their own stack in `_start`).

mod support;

use mswap::fast::Machine;
use mswap::fast::isa::disassemble;
use std::path::Path;
use std::process::{Command, Stdio};

fn qemu() -> bool {
    let ok = Command::new("qemu-riscv64")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("NOTICE: qemu-riscv64 not found; skipping the lockstep test");
    }
    ok
}

/// `(pc, x[0..32])` before each instruction, from qemu's CPU log.
fn trace(elf: &Path, input: &[u8], tag: &str) -> Vec<(u64, [u64; 32])> {
    let log = std::env::temp_dir().join(format!("mswap-lockstep-{}-{tag}.log", std::process::id()));
    let mut child = Command::new("env")
        .args([
            "-i",
            "qemu-riscv64",
            "-R",
            "0x100000000",
            "-singlestep",
            "-d",
            "cpu,nochain",
            "-D",
        ])
        .arg(&log)
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu starts");
    use std::io::Write;
    let _ = child.stdin.take().unwrap().write_all(input);
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).expect("qemu log");
    let _ = std::fs::remove_file(&log);
    let mut out: Vec<(u64, [u64; 32])> = Vec::new();
    for line in text.lines() {
        let mut t = line.split_whitespace();
        match t.next() {
            Some("pc") => {
                let pc = u64::from_str_radix(t.next().unwrap_or("0"), 16).unwrap_or(0);
                out.push((pc, [0; 32]));
            }
            Some(first) if first.starts_with('x') => {
                let mut name = Some(first);
                while let Some(n) = name {
                    let v = t
                        .next()
                        .and_then(|v| u64::from_str_radix(v, 16).ok())
                        .unwrap_or(0);
                    let idx: usize = n
                        .trim_start_matches('x')
                        .split('/')
                        .next()
                        .unwrap_or("0")
                        .parse()
                        .unwrap_or(0);
                    if let Some(last) = out.last_mut() {
                        last.1[idx & 31] = v;
                    }
                    name = t.next();
                }
            }
            _ => {}
        }
    }
    out
}

/// Steps machine A beside the trace; returns how many records matched.
fn lockstep(name: &str, elf_bytes: &[u8], elf: &Path, input: &[u8], stop_at_fault: bool) -> usize {
    let records = trace(elf, input, name);
    assert!(!records.is_empty(), "{name}: qemu wrote no trace");
    let program = mswap::elf::Program::load(elf_bytes).expect("loads");
    let mut s = program.initial_state(input);
    s.set_x(2, records[0].1[2]);
    let mut m = Machine::new(s);
    let mut prev = String::from("(start)");
    for (i, (pc, regs)) in records.iter().enumerate() {
        let st = m.state();
        if st.halted() {
            assert!(
                stop_at_fault,
                "{name}: mswap halted ({}) before qemu's step {i}",
                st.status()
            );
            return i;
        }
        assert_eq!(st.pc(), *pc, "{name}: pc before step {i}, after {prev}");
        for (r, want) in regs.iter().enumerate().skip(1) {
            assert_eq!(
                st.x(r),
                *want,
                "{name}: x{r} before step {i} (pc {pc:#x}), after {prev}"
            );
        }
        prev = format!(
            "{} at {:#x}",
            disassemble(mswap::fast::fetch(st, st.pc()).unwrap_or(0)),
            st.pc()
        );
        if !m.step() {
            break;
        }
        if m.state().halted()
            && stop_at_fault
            && !matches!(m.state().status(), mswap::layout::Status::Exited(_))
        {
            return i + 1;
        }
    }
    records.len()
}

#[test]
fn machine_a_matches_qemu_register_by_register() {
    if !qemu() {
        return;
    }
    let dir = support::guest_dir().join("bin");
    for name in [
        "hello",
        "echo",
        "sort",
        "sha256",
        "fault_illegal",
        "fault_store_code",
        "fault_fetch",
        "fault_ebreak",
        "fault_rvc_illegal",
        "fault_amo_misaligned",
        "misaligned_load",
        "misaligned_store",
        // Rust guests: compressed code, the allocator's atomics, panics.
        "rust_sha256",
        "rust_json",
        "rust_panic",
        "rust_evm",
    ] {
        let path = dir.join(format!("{name}.elf"));
        let elf = std::fs::read(&path).unwrap();
        // Inputs under 512 bytes: mswap's reads are short at 512 bytes, qemu's are not.
        let input = match name {
            "rust_json" => {
                br#"[{"name": "Ada", "age": 36, "city": "London"}, {"name": "Alan", "age": 41}]"#
                    .to_vec()
            }
            _ => support::sample_input(name),
        };
        assert!(input.len() < 512, "{name}: input too long for lockstep");
        let n = lockstep(name, &elf, &path, &input, name.starts_with("fault_"));
        assert!(n > 30, "{name}: only {n} steps compared");
    }
}
