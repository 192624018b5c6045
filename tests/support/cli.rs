//! Helpers of the tests that run the `mswap` binary (or another command,
//! such as `qemu-riscv64`) as a user would.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mswap");

/// Runs `mswap ARGS` with `stdin` written (on a thread, so that a large
/// input cannot block on a full pipe) and closed; its whole output.
pub fn mswap(args: &[&str], stdin: &[u8]) -> Output {
    run(Command::new(BIN).args(args), stdin)
}

/// [`mswap`] with `dir` as the working directory.
pub fn mswap_in(args: &[&str], dir: &Path, stdin: &[u8]) -> Output {
    run(Command::new(BIN).args(args).current_dir(dir), stdin)
}

/// Runs `cmd` with `stdin` written (on a thread) and closed; its whole output.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut c = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} starts: {e}"));
    let mut si = c.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let w = std::thread::spawn(move || {
        let _ = si.write_all(&data);
    });
    let o = c.wait_with_output().expect("the command ends");
    w.join().expect("stdin writer");
    o
}

/// The path of the committed guest `examples/guests/bin/NAME.elf`.
pub fn guest(name: &str) -> String {
    super::guest_dir()
        .join("bin")
        .join(format!("{name}.elf"))
        .display()
        .to_string()
}

/// Bytes as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
