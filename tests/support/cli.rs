//! Helpers of the tests that run the `mswap` binary (or another command,
//! such as `qemu-riscv64` or a shell script) as a user would: its output,
//! its JSON, Ctrl-C, and the README's examples.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

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

/// The path of the committed guest `examples/guests/bin/NAME.elf`, as
/// an argument.
pub fn guest(name: &str) -> String {
    super::guest_path(name).display().to_string()
}

/// The path of `examples/guests/inputs/FILE`, as an argument.
pub fn sample(file: &str) -> String {
    super::guests::input_path(file).display().to_string()
}

/// The path of `proofs/FILE`, as an argument.
pub fn proofs(file: &str) -> String {
    super::proofs_dir().join(file).display().to_string()
}

/// Bytes as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts that the output `out` (a standard output or error) says `want`.
#[track_caller]
pub fn assert_says(out: &[u8], want: &str) {
    let t = text(out);
    assert!(t.contains(want), "{t}");
}

/// Starts `cmd` with no standard input and both outputs piped.
pub fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} starts: {e}"))
}

/// One JSON document (white space around it allowed), or a failure that
/// shows the text.
pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not one JSON document ({e}): {s:?}"))
}

/// Sends SIGINT to process `pid` (as Ctrl-C in its terminal would).
pub fn interrupt(pid: u32) {
    let ok = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -INT {pid}");
}

/// Starts `mswap ARGS` with the variables `env`, presses Ctrl-C once a
/// line of its standard error starts with `ready` (with `None`: after
/// `after`), and returns its status and its standard error from then on.
pub fn ctrl_c(
    args: &[&str],
    env: &[(&str, &str)],
    ready: Option<&str>,
    after: Duration,
) -> (ExitStatus, String) {
    let mut c = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mswap starts");
    let mut err = BufReader::new(c.stderr.take().expect("stderr"));
    let mut seen = String::new();
    match ready {
        Some(prefix) => loop {
            let mut l = String::new();
            assert!(err.read_line(&mut l).unwrap() > 0, "ended early: {seen}");
            seen.push_str(&l);
            if l.starts_with(prefix) {
                break;
            }
        },
        None => std::thread::sleep(after),
    }
    interrupt(c.id());
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    (wait(&mut c, 30), rest)
}

/// Waits for `c` to exit, for `secs` at most (then kills it and fails).
pub fn wait(c: &mut Child, secs: u64) -> ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = c.try_wait().expect("wait") {
            return s;
        }
        if t.elapsed() > Duration::from_secs(secs) {
            let _ = c.kill();
            let _ = c.wait();
            panic!("still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// All of a child's standard error (piped).
pub fn stderr_of(c: &mut Child) -> String {
    let mut e = String::new();
    c.stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut e)
        .unwrap();
    e
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The first `sh` code block of the README after the text `heading`.
pub fn readme_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let from = readme
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in the README"));
    readme[from..]
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no code block after {heading:?} in the README"))
        .to_string()
}

/// Runs the README's example after `heading` with bash (see [`bash`]), on
/// a free port in place of `port` and with each file `(name, to)` of
/// `files` in place of `name` put at `to` in a fresh directory for `tag`;
/// waits `secs` at most. Asserts that it succeeds and that its standard
/// output says each of `says`.
pub fn readme_example(
    heading: &str,
    port: &str,
    tag: &str,
    files: &[(&str, &str)],
    secs: u64,
    says: &[&str],
) {
    let dir = super::scratch(tag);
    let mut script = readme_block(heading).replace(port, &free_port().to_string());
    for (name, to) in files {
        script = script.replace(name, &dir.join(to).display().to_string());
    }
    let (status, out, err) = bash(&script, secs);
    assert!(status.success(), "{out}\n{err}");
    for want in says {
        assert!(out.contains(want), "no {want:?} in:\n{out}\n{err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `script` with bash in the repository, as a user would paste it:
/// `mswap` on the PATH is this build's binary. Waits `secs` at most; the
/// status, standard output and standard error.
pub fn bash(script: &str, secs: u64) -> (ExitStatus, String, String) {
    let bin_dir = Path::new(BIN).parent().expect("the binary's folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = spawn(
        Command::new("bash")
            .args(["-c", script])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PATH", path),
    );
    // Standard error on a thread, so that neither pipe can fill and block.
    let mut err = c.stderr.take().expect("stderr piped");
    let err = std::thread::spawn(move || {
        // As bytes: a stray non-UTF-8 byte must not hide the message.
        let mut e = Vec::new();
        let _ = err.read_to_end(&mut e);
        String::from_utf8_lossy(&e).into_owned()
    });
    let mut out = String::new();
    c.stdout
        .take()
        .expect("stdout piped")
        .read_to_string(&mut out)
        .unwrap();
    let status = wait(&mut c, secs);
    (status, out, err.join().unwrap_or_default())
}
