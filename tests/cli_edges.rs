//! The rough edges a new user met, one test each: arguments refused early
//! (and nothing left behind), `--json` on failure, Ctrl-C summaries, a
//! closed standard output, a program that does not halt, the anvil lookup
//! of `dispute --chain`, and the text of `--help` and of a game.

mod support;

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::cli::{BIN, assert_says, guest, interrupt, json, mswap, spawn, text};
use support::procs::{Proc, referee};
use support::scratch;

/// Whether the temporary directory holds an entry named `prefix...`.
fn leftovers(prefix: &str) -> bool {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
}

/// Starts `mswap ARGS`, lets it work for 0.7 s, presses Ctrl-C, checks
/// that it exits 130 and returns its standard error.
fn interrupted(args: &[&str]) -> String {
    let (status, err) = support::cli::ctrl_c(args, &[], None, Duration::from_millis(700));
    assert_eq!(status.code(), Some(130), "{err}");
    err
}

#[test]
fn help_names_the_machine_rv64imac() {
    let o = mswap(&["--help"], b"");
    let help = text(&o.stdout);
    assert!(help.contains("RV64IMAC"), "{help}");
    assert!(
        !help.contains("RV64IM ") && !help.contains("RV64IM,"),
        "{help}"
    );
}

#[test]
fn arguments_are_refused_before_any_work() {
    let o = mswap(&["run", &guest("hello"), "--max-steps", "0"], b"");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--max-steps 0"));
    // A stride not below the b found from the run (the example halts
    // after 18 steps: b = 5).
    let (elf, input) = support::example_paths();
    let (elf, input) = (elf.display().to_string(), input.display().to_string());
    let o = mswap(
        &["dispute", &elf, "--input", &input, "--levels", "strides:5"],
        b"",
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert_says(
        &o.stderr,
        "stride 2^5 is not smaller than the claim's 2^5 steps",
    );
}

#[test]
fn the_referee_refuses_bad_options_and_leaves_nothing_behind() {
    let dir = scratch("edges-referee");
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let f = file.display().to_string();
    let o = mswap(&["referee", "--data", &f, "--listen", "127.0.0.1:0"], b"");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("not a directory"));
    let data = dir.join("data");
    let d = data.display().to_string();
    for bad in ["nonsense", "999.1.1.1:80", "127.0.0.1"] {
        let o = mswap(&["referee", "--data", &d, "--listen", bad], b"");
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(&format!("--listen {bad}")));
        assert!(!data.exists(), "--listen {bad}: no data directory left");
    }
    // An address in use: an I/O error, and still no directory.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let o = mswap(&["referee", "--data", &d, "--listen", &addr], b"");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(!data.exists(), "no data directory left");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn json_is_printed_on_failure_too() {
    let dir = scratch("edges-json");
    let proof = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/proofs/alu.json")).unwrap();
    let cut = dir.join("cut.json");
    std::fs::write(&cut, &proof[..100]).unwrap();
    let o = mswap(&["verify", "--json", &cut.display().to_string()], b"");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let v = json(&text(&o.stdout));
    assert_eq!(
        (v["valid"].as_bool(), v["exit"].as_i64()),
        (Some(false), Some(2))
    );
    assert!(v["error"].as_str().unwrap().contains("malformed JSON"));
    let missing = dir.join("missing.elf").display().to_string();
    for command in ["root", "check"] {
        let o = mswap(&[command, "--json", &missing], b"");
        assert_eq!(o.status.code(), Some(3), "{command}");
        let v = json(&text(&o.stdout));
        assert_eq!(v["exit"].as_i64(), Some(3), "{command}: {v}");
        assert!(v["error"].as_str().unwrap().contains("cannot read"));
    }
    // run keeps standard output for the guest: its document is stderr's last line.
    let o = mswap(&["run", "--json", &missing], b"");
    assert_eq!(o.status.code(), Some(3));
    assert!(o.stdout.is_empty());
    let v = json(text(&o.stderr).lines().last().unwrap());
    assert_eq!(v["exit"].as_i64(), Some(3));
    // A usage error found by the parser.
    let o = mswap(&["root", "--json", "--no-such-option"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&text(&o.stdout))["exit"].as_i64(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_closed_standard_output_is_an_error() {
    let script = format!(
        "'{BIN}' root '{}' >&-; echo \"closed: $?\"; '{BIN}' root '{}' > /dev/null; echo \"null: $?\"",
        guest("hello"),
        guest("hello")
    );
    let o = Command::new("bash").args(["-c", &script]).output().unwrap();
    let out = text(&o.stdout);
    assert!(out.contains("closed: 3"), "{out}\n{}", text(&o.stderr));
    assert!(out.contains("null: 0"), "{out}");
    assert!(text(&o.stderr).contains("cannot write to standard output"));
}

#[test]
fn ctrl_c_says_what_was_done_for_referee_prove_and_a_waiting_challenge() {
    let dir = scratch("edges-ctrl-c");
    let data = dir.join("data").display().to_string();
    let err = interrupted(&["referee", "--listen", "127.0.0.1:0", "--data", &data]);
    assert!(
        err.contains("mswap: interrupted: the referee at http://127.0.0.1:")
            && err.contains("resumes its games"),
        "{err}"
    );
    // prove, while machine A runs to a far step of a long run (10^9
    // iterations of loop.elf: about 8.7 * 10^11 steps).
    let out = dir.join("p.json").display().to_string();
    let long = dir.join("long.txt");
    std::fs::write(&long, b"1000000000\n").unwrap();
    let err = interrupted(&[
        "prove",
        &guest("loop"),
        "--input",
        &long.display().to_string(),
        "--step",
        "100000000000",
        "--micro",
        "0",
        "-o",
        &out,
    ]);
    assert!(
        err.contains("mswap: interrupted: running machine A to step 100000000000"),
        "{err}"
    );
    assert!(!std::path::Path::new(&out).exists());
    // A challenge waiting for a referee that is not there.
    let (elf, input) = support::example_paths();
    let err = interrupted(&[
        "challenge",
        "--referee",
        "http://127.0.0.1:1",
        "--game",
        "g1",
        &elf.display().to_string(),
        "--input",
        &input.display().to_string(),
    ]);
    assert!(
        err.contains("waiting for the referee")
            && err.contains("mswap: interrupted before any move: no dispute of claim g1"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_program_that_does_not_halt_shows_progress_and_stops_at_the_limit() {
    let lp = guest("loop");
    for command in [
        vec!["dispute", lp.as_str()],
        vec!["defend", "--referee", "http://127.0.0.1:1", lp.as_str()],
    ] {
        let o = Command::new(BIN)
            .args(&command)
            .args(["--max-steps", "20000000"])
            .env("MSWAP_PROGRESS_SECS", "0.000001")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{command:?}: {err}");
        assert!(
            err.contains("the program does not halt within 20000000 steps")
                && err.contains("give --b"),
            "{command:?}: {err}"
        );
        assert!(
            err.contains("mswap: running the program: "),
            "{command:?}: progress while it looks for the halt: {err}"
        );
    }
}

#[test]
fn an_honest_defender_reports_one_dispute_and_no_refused_move() {
    let dir = scratch("edges-honest");
    let (_referee, url) = referee(&dir.join("data"), "127.0.0.1:0", &["--window-ms", "3000"]);
    let t = dir.join("t.json");
    let (defender, id) = support::procs::defend(&url, &[], &t, &[]);
    let challenger = support::procs::challenge(&url, &id, &["final"], &[]);
    let c = challenger.finish(120);
    let d = defender.finish(120);
    assert_eq!(d.code, 0, "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("(1 dispute; "),
        "one dispute, singular: {}",
        d.stdout
    );
    assert!(
        !d.stdout.contains("refused (") && !d.stderr.contains("refused ("),
        "the honest defender: {}{}",
        d.stdout,
        d.stderr
    );
    assert_eq!(c.code, 1, "{}", c.stdout);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn defend_json_names_its_game_on_standard_output() {
    let dir = scratch("edges-defend-json");
    let (_referee, url) = referee(&dir.join("data"), "127.0.0.1:0", &[]);
    let (elf, input) = support::example_paths();
    let args: Vec<&OsStr> = vec![
        OsStr::new("defend"),
        OsStr::new("--referee"),
        OsStr::new(&url),
        elf.as_os_str(),
        OsStr::new("--input"),
        input.as_os_str(),
        OsStr::new("--json"),
    ];
    let mut p = Proc::start(&args, false);
    let first = json(&p.line());
    assert_eq!(first["game"].as_str(), Some("g1"), "{first}");
    assert_eq!(first["b"].as_u64(), Some(5), "{first}");
    assert_eq!(first["final_root"].as_str().map(str::len), Some(64));
    p.kill();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dispute_chain_finds_anvil_from_any_directory() {
    let dir = scratch("edges-anvil");
    let o = Command::new(BIN)
        .args(["dispute", "--chain", "--anvil", "/no/such/anvil"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--anvil /no/such/anvil: no such file"));
    let o = mswap(&["dispute", "--anvil", "/no/such/anvil"], b"");
    assert_eq!(o.status.code(), Some(2), "--anvil without --chain");
    if !support::have_contract_tool("anvil", "dispute --chain from another directory") {
        return;
    }
    // From a directory without contracts/: the build's contracts/ is used.
    let (elf, input) = support::example_paths();
    let child = Command::new(BIN)
        .args(["dispute", "--chain", "--b", "5"])
        .arg(&elf)
        .arg("--input")
        .arg(&input)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        !leftovers(&format!("mswap-anvil-{pid}-")),
        "no temporary directory left behind"
    );
    assert!(text(&o.stdout).contains("the honest challenger won"));
    assert!(dir.join("transcript.json").is_file());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_microcode_root_is_printed_like_every_hash() {
    let dir = scratch("edges-root");
    let f = dir.join("Generated.sol");
    let o = mswap(&["microcode", "--solidity", &f.display().to_string()], b"");
    assert_eq!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    let root = err
        .split("microcode root ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        root.len() == 64 && root.bytes().all(|b| b.is_ascii_hexdigit()),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_interrupted_dispute_leaves_no_directory_and_no_node_behind() {
    // In-process referee: its data directory goes with it.
    let child = Command::new(BIN)
        .args(["dispute", "--transcript"])
        .arg(scratch("edges-int-http").join("t.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let prefix = format!("mswap-dispute-{pid}-");
    let ours = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
    };
    let t = std::time::Instant::now();
    while !ours() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(pid);
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    // (A game that ended first exits 0; either way nothing is left.)
    assert!(matches!(o.status.code(), Some(130 | 0)), "{err}");
    assert!(!ours(), "the demo's data directory is gone: {err}");
    if !support::have_contract_tool("anvil", "an interrupted dispute --chain") {
        return;
    }
    // On chain: the anvil it started is stopped. A wrapper tells its pid.
    let dir = scratch("edges-int-chain");
    let pidfile = dir.join("anvil.pid");
    let wrapper = dir.join("anvil");
    let anvil =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/node_modules/.bin/anvil");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec '{}' \"$@\"\n",
            pidfile.display(),
            anvil.display()
        ),
    )
    .unwrap();
    let ok = Command::new("chmod")
        .arg("+x")
        .arg(&wrapper)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut child = spawn(
        Command::new(BIN)
            .args(["dispute", "--chain", "--anvil"])
            .arg(&wrapper)
            .current_dir(&dir),
    );
    // Once the first move is out, the node is up.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let started = lines.any(|l| l.is_ok_and(|l| l.contains("[seq 0]")));
    assert!(started, "the game started");
    let pid = child.id();
    interrupt(pid);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    assert!(
        !leftovers(&format!("mswap-anvil-{pid}-")),
        "the node's home directory is gone"
    );
    let node: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let t = std::time::Instant::now();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{node}/stat"))
            .is_ok_and(|s| !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
    };
    while alive() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(), "anvil (pid {node}) was stopped");
    let _ = std::fs::remove_dir_all(dir);
}
