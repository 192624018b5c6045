//! The `mswap` command as a user runs it: exit codes, streams, messages,
//! and clear one-line errors (never a panic) for bad files and arguments.

mod support;

use std::process::{Command, Output, Stdio};

use support::cli::{BIN, guest, mswap, text};
use support::scratch;

/// A one-line `mswap: ...` error, no panic.
fn clean_error(o: &Output) -> String {
    let e = text(&o.stderr);
    assert!(!o.status.success(), "should fail: {e}");
    assert!(!e.contains("panicked"), "panic: {e}");
    assert!(
        e.starts_with("mswap: ") && e.trim_end().lines().count() == 1,
        "one line: {e:?}"
    );
    e
}

#[test]
fn run_behaves_like_qemu() {
    let o = mswap(&["run", &guest("echo")], b"ab\ncd\n");
    assert_eq!(text(&o.stdout), "ba\ndc\nbytes: 6\n");
    assert_eq!(text(&o.stderr), "echo: done\n", "fd 2 goes to stderr");
    assert_eq!(o.status.code(), Some(2));
    let dir = std::env::temp_dir().join(format!("mswap-cli-{}", std::process::id()));
    std::fs::write(&dir, b"x\n").unwrap();
    let o = mswap(
        &["run", &guest("echo"), "--input", &dir.display().to_string()],
        b"ignored",
    );
    assert_eq!(text(&o.stdout), "x\nbytes: 2\n");
    let _ = std::fs::remove_file(&dir);
    // The embedded default guest.
    let o = mswap(&["run"], b"");
    assert!(
        text(&o.stdout).starts_with("longest Collatz chain below 2000"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn stats_step_limits_and_roots() {
    let o = mswap(&["run", &guest("hello"), "--stats"], b"");
    let e = text(&o.stderr);
    assert!(e.contains("status: exited with code 0"), "{e}");
    let steps = e
        .lines()
        .find_map(|l| l.strip_prefix("steps: "))
        .expect("steps line")
        .to_string();
    let root = e
        .lines()
        .find_map(|l| l.strip_prefix("root: "))
        .expect("root line")
        .to_string();
    assert_eq!(root.len(), 64);
    let o = mswap(&["root", &guest("hello"), "--step", &steps], b"");
    assert_eq!(
        text(&o.stdout).trim(),
        root,
        "root --step N == the root after N steps"
    );
    let o = mswap(
        &["run", &guest("loop"), "--max-steps", "1000", "--stats"],
        b"",
    );
    assert_eq!(o.status.code(), Some(124));
    let e = text(&o.stderr);
    assert!(
        e.contains("steps: 1000") && e.contains("still running"),
        "{e}"
    );
    let o = mswap(&["root", &guest("hello"), "--step", "1000"], b"");
    assert!(text(&o.stderr).contains(&format!("halted after {steps} steps")));
}

#[test]
fn faults_print_one_line_and_exit_128_plus_the_signal() {
    for (name, code, what) in [
        ("fault_illegal", 132, "illegal instruction"),
        ("fault_amo_misaligned", 135, "misaligned sc or AMO"),
        ("fault_rvc_illegal", 132, "illegal instruction"),
        ("fault_store_code", 139, "write-protected"),
        ("fault_fetch", 139, "fetch outside the executable range"),
        ("fault_ecall", 159, "unknown system call"),
        ("fault_ebreak", 133, "ebreak"),
    ] {
        let o = mswap(&["run", &guest(name)], b"");
        assert_eq!(o.status.code(), Some(code), "{name}");
        assert!(
            text(&o.stdout).starts_with("about to"),
            "{name}: output before the fault"
        );
        let e = text(&o.stderr);
        assert!(
            e.starts_with("mswap: guest fault at pc 0x")
                && e.contains(what)
                && e.lines().count() == 1,
            "{name}: {e}"
        );
    }
}

#[test]
fn bad_files_and_arguments_get_clear_errors() {
    let dir = scratch("cli-bad");
    let elf = std::fs::read(guest("hello")).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let truncated = write("truncated.elf", &elf[..elf.len() / 2]);
    let mut arm = elf.clone();
    arm[18] = 40;
    let arm = write("arm.elf", &arm);
    let mut elf32 = elf.clone();
    elf32[4] = 1;
    let elf32 = write("elf32.elf", &elf32);
    let text_file = write("notes.txt", b"not an ELF file, just text\n");
    for (file, want) in [
        (truncated.as_str(), "truncated"),
        (arm.as_str(), "not RISC-V"),
        (elf32.as_str(), "32-bit"),
        (text_file.as_str(), "not an ELF"),
        ("/nonexistent/prog.elf", "cannot read"),
        (dir.to_str().unwrap(), "cannot read"),
    ] {
        for cmd in ["run", "root", "check"] {
            let e = clean_error(&mswap(&[cmd, file], b""));
            assert!(e.contains(want), "{cmd} {file}: {e}");
        }
    }
    let o_micro = mswap(
        &[
            "prove",
            &guest("hello"),
            "--step",
            "1",
            "--micro",
            "9999",
            "-o",
            &dir.join("p.json").display().to_string(),
        ],
        b"",
    );
    let e = clean_error(&o_micro);
    let last = mswap::micro::USTEPS - 1;
    assert!(
        e.contains(&format!("--micro 9999: from 0 to {last}")),
        "{e}"
    );
    assert_eq!(o_micro.status.code(), Some(2), "a usage error");
    assert!(!dir.join("p.json").exists(), "nothing half-written");
    // A program given where a proof is expected is named as such.
    let e = clean_error(&mswap(&["verify", &guest("hello")], b""));
    assert!(
        e.contains("an ELF file (a program), not a step proof"),
        "{e}"
    );
    let e = clean_error(&mswap(&["verify", &text_file], b""));
    assert!(
        e.contains("first byte 0x6e is not a binary proof's version byte"),
        "{e}"
    );
    for bad in [
        &b"{"[..],
        b"{\"type\":\"step-proof\",\"type\":\"transcript\"}",
        b"{\"type\":\"step-proof\"}",
        b"\x01\x00",
        b"{\"type\":\"other\"}",
        b"[]",
    ] {
        let p = write("bad.json", bad);
        clean_error(&mswap(&["verify", &p], b""));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn prove_then_verify_from_the_command_line() {
    let dir = scratch("cli-prove");
    let sha256 = guest("sha256");
    // The proof of micro-step 20 of step 500 of sha256, to `out`.
    let prove = |out: &str, binary: bool| {
        let mut args = vec![
            "prove", &sha256, "--step", "500", "--micro", "20", "-o", out,
        ];
        if binary {
            args.push("--binary");
        }
        mswap(&args, b"")
    };
    let p = dir.join("p.json").display().to_string();
    let o = prove(&p, false);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = mswap(&["verify", &p], b"");
    assert!(o.status.success());
    let out = text(&o.stdout);
    assert!(
        out.contains("valid step proof")
            && out.contains("root before: ")
            && out.contains("root after:  ")
            && !out.contains(": 0x"),
        "{out}"
    );
    // Without the program, what only the program can confirm is marked so.
    for field in ["program:", "input:", "step:"] {
        let line = out.lines().find(|l| l.starts_with(field)).expect(field);
        assert!(
            line.ends_with("(stated by the prover, not checked: pass --elf and --input)"),
            "{line}"
        );
    }
    let o = mswap(&["verify", &p, "--elf", &guest("sha256")], b"");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("step:        500 (") && out.contains("(checked against the ELF and input)"),
        "{out}"
    );
    assert!(!out.contains("not checked"), "{out}");
    // The wrong program or input is named.
    let e = clean_error(&mswap(&["verify", &p, "--elf", &guest("hello")], b""));
    assert!(e.contains("context.program is "), "{e}");
    let inp = dir.join("in.txt");
    std::fs::write(&inp, b"other input").unwrap();
    let e = clean_error(&mswap(
        &[
            "verify",
            &p,
            "--elf",
            &guest("sha256"),
            "--input",
            inp.to_str().unwrap(),
        ],
        b"",
    ));
    assert!(e.contains("context.input is "), "{e}");
    // A step moved to another A-step: its state there is not root_before.
    let moved = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\"step\": 500", "\"step\": 501");
    let m = dir.join("moved.json");
    std::fs::write(&m, moved).unwrap();
    let e = clean_error(&mswap(
        &["verify", m.to_str().unwrap(), "--elf", &guest("sha256")],
        b"",
    ));
    assert!(
        e.contains("context.instruction") || e.contains("root_before is "),
        "{e}"
    );
    let b = dir.join("p.bin").display().to_string();
    assert!(prove(&b, true).status.success());
    assert!(mswap(&["verify", &b], b"").status.success());
    let o = mswap(&["verify", &b, "--before", &"00".repeat(32)], b"");
    assert!(clean_error(&o).contains("root mismatch"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_guest_that_never_reads_does_not_wait_for_standard_input() {
    // Standard input stays open (never written, never closed) for the whole run.
    let mut c = Command::new(BIN)
        .args(["run", &guest("hello")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let _keep_open = c.stdin.take();
    let t = std::time::Instant::now();
    loop {
        if let Some(status) = c.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            t.elapsed().as_secs() < 20,
            "mswap run waits for standard input"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut c.stdout.take().unwrap(), &mut out).unwrap();
    assert_eq!(out, "Hello from RV64IM!\n");
}
