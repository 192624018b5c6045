//! The `mswap` command as scripts and impatient users meet it: closed
//! pipes, Ctrl-C, the one input rule, early refusals, exit codes, JSON,
//! progress on a non-terminal and one step-numbering convention.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::cli::{
    BIN, assert_says, bash, ctrl_c, free_port, guest, json, mswap, proofs, readme_example, sample,
    spawn, stderr_of, text, wait,
};
use support::scratch;

/// Reads a child's stdout up to `lines` lines, then closes the pipe.
fn read_then_close(c: &mut Child, lines: usize) -> Vec<String> {
    let mut r = BufReader::new(c.stdout.take().unwrap());
    let mut got = Vec::new();
    for _ in 0..lines {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap() == 0 {
            break;
        }
        got.push(l);
    }
    got
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let hello = guest("hello");
    let sort = guest("sort");
    let cases: Vec<Vec<&str>> = vec![
        vec!["microcode"],
        vec!["root", &hello, "--step", "3"],
        vec!["root", &hello, "--json"],
        vec!["check", &hello, "--threads", "1", "--classes"],
        vec!["run", &sort, "--input", "/dev/null"],
        vec!["dispute"],
        vec!["--help"],
    ];
    for args in cases {
        let mut c = spawn(Command::new(BIN).args(&args));
        // Like `| head -0`: nothing read, the pipe closed at once.
        drop(c.stdout.take());
        let err = stderr_of(&mut c);
        let status = wait(&mut c, 60);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("broken pipe"),
            "{args:?}: {err}"
        );
        assert!(
            status.success() || status.signal() == Some(13),
            "{args:?}: ended with {status:?}: {err}"
        );
    }
    // `| head -1`: the first line arrives, then the pipe closes while the
    // guest still has about 1 MiB to write (more than a pipe holds).
    let dir = scratch("pipe");
    let big = dir.join("lines.txt");
    std::fs::write(&big, "abcdefg\n".repeat(1 << 17)).unwrap();
    let mut c = Command::new(BIN)
        .args(["run", &guest("echo"), "--input", big.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = read_then_close(&mut c, 1);
    assert_eq!(first[0], "gfedcba\n");
    let err = stderr_of(&mut c);
    let status = wait(&mut c, 60);
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(status.signal(), Some(13), "killed by SIGPIPE, as cat is");
    assert_eq!(err, "", "no message");
}

/// Starts `mswap ARGS` with progress lines every 0.1 s, sends SIGINT once
/// a stderr line starts with `ready` (or after 700 ms without it), checks
/// that it exits 130 and returns the last line of stderr (the summary,
/// after the progress lines).
fn interrupt_when(args: &[&str], ready: Option<&str>) -> String {
    let env = [("MSWAP_PROGRESS_SECS", "0.1")];
    let (status, rest) = ctrl_c(args, &env, ready, Duration::from_millis(700));
    let last = rest.lines().last().unwrap_or("").to_string();
    assert_eq!(status.code(), Some(130), "{args:?}: {last}");
    last
}

/// An input that makes loop.elf run far longer than any test waits
/// (10^12 iterations of 868 instructions: hours, even for the JIT).
fn endless_loop_input() -> String {
    let path =
        std::env::temp_dir().join(format!("mswap-cli-ux-endless-{}.txt", std::process::id()));
    std::fs::write(&path, "1000000000000").unwrap();
    path.display().to_string()
}

#[test]
fn ctrl_c_prints_what_was_done_and_exits_130() {
    let (lp, endless) = (guest("loop"), endless_loop_input());
    let run = ["run", &lp, "--input", &endless];
    let check = ["check", &lp, "--threads", "1", "--max-steps", "50000000"];
    let root = ["root", &lp, "--input", &endless, "--step", "100000000000"];
    // The command, the line that says it is at work, and what its summary
    // starts with and says.
    type Case<'a> = (&'a [&'a str], Option<&'a str>, &'a str, &'a str);
    let cases: [Case; 3] = [
        (&run, None, "mswap: interrupted after ", " steps"),
        (
            &check,
            Some("mswap: checking: "),
            "mswap: interrupted: ",
            " of 50000000 transitions (",
        ),
        (
            &root,
            Some("mswap: running: "),
            "mswap: interrupted after ",
            " of 100000000000 steps (",
        ),
    ];
    for (args, ready, starts, says) in cases {
        let err = interrupt_when(args, ready);
        assert!(
            err.starts_with(starts) && err.contains(says),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn progress_lines_on_a_non_terminal() {
    let mut c = spawn(
        Command::new(BIN)
            .args([
                "check",
                &guest("loop"),
                "--threads",
                "1",
                "--max-steps",
                "3000000",
            ])
            .env("MSWAP_PROGRESS_SECS", "0.05"),
    );
    let err = stderr_of(&mut c);
    assert!(wait(&mut c, 120).success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("mswap: checking: "))
        .unwrap_or_else(|| panic!("no progress line: {err}"));
    assert!(
        line.contains(" / 3.00 M transitions (")
            && line.contains("%), ")
            && line.ends_with(" left"),
        "{line}"
    );
}

#[test]
fn one_input_rule() {
    let sort = guest("sort");
    let input = sample("sort.txt");
    let data = std::fs::read(&input).unwrap();
    let root = |args: &[&str], stdin: &[u8]| {
        let o = mswap(args, stdin);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout).trim().to_string()
    };
    let from_file = root(&["root", &sort, "--step", "2000", "--input", &input], b"");
    assert_eq!(from_file.len(), 64, "bare hex: {from_file}");
    assert_eq!(root(&["root", &sort, "--step", "2000"], &data), from_file);
    assert_eq!(
        root(&["root", &sort, "--step", "2000", "--input", "-"], &data),
        from_file
    );
    assert_ne!(root(&["root", &sort, "--step", "2000"], b""), from_file);
    // check and run take standard input by the same rule.
    let keccak = mswap::hash::keccak(&[&data]).to_hex();
    let o = mswap(&["check", &sort, "--json"], &data);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(json(&text(&o.stdout))["input"], keccak.as_str());
    let o = mswap(&["run", &sort, "--json"], &data);
    let last = text(&o.stderr).lines().last().unwrap_or("").to_string();
    assert_eq!(json(&last)["input"], keccak.as_str());
    // A missing input file is refused before anything runs.
    let o = mswap(&["check", &sort, "--input", "/nonexistent/in.txt"], b"");
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o.stderr).starts_with("mswap: --input /nonexistent/in.txt: cannot read"));
}

#[test]
fn stats_stream_like_a_plain_run() {
    // The guest's output arrives while standard input is still open.
    let mut c = Command::new(BIN)
        .args(["run", &guest("hello"), "--stats"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = c.stdin.take();
    let mut r = BufReader::new(c.stdout.take().unwrap());
    let mut first = String::new();
    r.read_line(&mut first).unwrap();
    assert_eq!(first, "Hello from RV64IM!\n");
    drop(stdin);
    let err = stderr_of(&mut c);
    assert!(wait(&mut c, 20).success());
    assert!(err.contains("steps: ") && err.contains("status: exited with code 0"));
}

#[test]
fn options_are_checked_before_any_work() {
    for (args, want) in [
        (
            vec!["check", "X", "--threads", "1000"],
            "--threads 1000: at most ",
        ),
        (
            vec!["check", "X", "--threads", "0"],
            "--threads 0: at least 1",
        ),
        (
            vec!["check", "X", "--max-steps", "0"],
            "--max-steps 0: at least 1",
        ),
    ] {
        let t = Instant::now();
        let o = mswap(&args, b"");
        let e = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.starts_with(&format!("mswap: {want}")), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn exit_codes_are_distinct_and_in_help() {
    let help = text(&mswap(&["--help"], b"").stdout);
    for line in ["  0 ", "  1 ", "  2 ", "  3 ", "  130 "] {
        assert!(help.contains(line), "{line:?} in {help}");
    }
    assert!(text(&mswap(&["check", "--help"], b"").stdout).contains("Exit codes:"));
    let dir = scratch("ux");
    let not_elf = dir.join("notes.txt");
    std::fs::write(&not_elf, b"text").unwrap();
    let o = mswap(&["root", not_elf.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(2), "not an ELF: usage");
    let o = mswap(&["root", "/nonexistent/x.elf"], b"");
    assert_eq!(o.status.code(), Some(3), "cannot read: I/O");
    let o = mswap(&["check", "--bogus"], b"");
    assert_eq!(o.status.code(), Some(2), "clap's usage errors");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn json_and_one_step_numbering() {
    let hello = guest("hello");
    let o = mswap(&["run", &hello, "--json"], b"");
    assert!(o.status.success());
    let run = json(text(&o.stderr).lines().last().unwrap());
    let steps = run["steps"].as_u64().unwrap();
    assert_eq!(run["halted_after"].as_u64(), Some(steps));
    assert_eq!(run["status"], "exited with code 0");
    assert_eq!(run["exit_code"], 0);
    let o = mswap(
        &["root", &hello, "--json", "--step", &steps.to_string()],
        b"",
    );
    let root = json(&text(&o.stdout));
    assert_eq!(root["root"], run["final_root"], "the root after the run");
    assert_eq!(root["halted_after"].as_u64(), Some(steps));
    assert_eq!(root["program"], run["program"]);
    let o = mswap(&["check", &hello, "--json", "--classes"], b"");
    let check = json(&text(&o.stdout));
    assert_eq!(check["valid"], true);
    assert_eq!(
        check["halted_after"].as_u64(),
        Some(steps),
        "check counts steps as run does"
    );
    // The halted state's identity step is checked too.
    assert!(check["transitions"].as_u64() > Some(steps));
    let o = mswap(&["check", &hello], b"");
    assert_says(&o.stdout, &format!("halted after:        {steps} steps"));
    // No `0x` on hashes, as in files and HTTP answers.
    let o = mswap(&["run", &hello, "--stats"], b"");
    let e = text(&o.stderr);
    let r = e.lines().find_map(|l| l.strip_prefix("root: ")).unwrap();
    assert_eq!(Some(r), run["final_root"].as_str());
}

#[test]
fn the_readme_three_process_example_runs_as_pasted() {
    // Another port, files in a temporary directory, this build's binary.
    readme_example(
        "A dispute between three processes",
        "4000",
        "readme",
        &[
            ("$(mktemp -d)", "data"),
            ("defend.log", "defend.log"),
            ("t.json", "t.json"),
        ],
        180,
        &[
            "defender exit: 1",
            "valid transcript of game g1",
            "result:      challenger wins",
        ],
    );
}

#[test]
fn prove_writes_to_standard_output_and_speaks_json() {
    let dir = scratch("ux-prove");
    let sha = guest("sha256");
    let base = ["prove", sha.as_str(), "--step", "500", "--micro", "20"];
    // `-o -`: the proof on standard output, nothing named `-` written.
    let o = mswap(&[&base[..], &["-o", "-", "--input", "-"]].concat(), b"");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let proof = json(&text(&o.stdout));
    assert_eq!(proof["type"], "step-proof");
    assert!(!std::path::Path::new("-").exists());
    // --json: a summary with the same field names as the proof file.
    let p = dir.join("p.json").display().to_string();
    let o = mswap(&[&base[..], &["-o", &p, "--json"]].concat(), b"");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let summary = json(&text(&o.stdout));
    assert_eq!(summary["root_before"], proof["root_before"]);
    assert_eq!(summary["root_after"], proof["root_after"]);
    assert_eq!(summary["step"], 500);
    assert_eq!(json(&std::fs::read_to_string(&p).unwrap()), proof);
    // Both on standard output: refused; an unwritable -o: before any work.
    let o = mswap(&[&base[..], &["-o", "-", "--json"]].concat(), b"");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let t = Instant::now();
    let o = mswap(
        &[&base[..], &["-o", "/nonexistent/dir/p.json"]].concat(),
        b"",
    );
    let e = text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{e}");
    assert!(
        e.starts_with("mswap: -o /nonexistent/dir/p.json: cannot write"),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn verify_exit_codes_and_json() {
    let dir = scratch("ux-verify");
    // Valid: 0, and one JSON document.
    let alu = proofs("alu.json");
    let o = mswap(&["verify", &alu, "--json"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v = json(&text(&o.stdout));
    assert_eq!(
        (v["valid"].as_bool(), v["type"].as_str()),
        (Some(true), Some("step-proof"))
    );
    let file = json(&std::fs::read_to_string(&alu).unwrap());
    assert_eq!(v["root_after"], file["root_after"]);
    // Invalid (another claimed root after): 1, and valid: false.
    let o = mswap(
        &["verify", &alu, "--json", "--after", &"ab".repeat(32)],
        b"",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let v = json(&text(&o.stdout));
    assert_eq!(v["valid"], false);
    assert!(v["error"].as_str().unwrap().contains("invalid proof"));
    assert!(
        !text(&o.stderr).contains("0x"),
        "bare hashes: {}",
        text(&o.stderr)
    );
    // Not an mswap file: a usage error (2).
    let other = dir.join("other.json");
    std::fs::write(&other, b"{\"type\":\"other\"}").unwrap();
    for f in [guest("hello"), other.display().to_string()] {
        let o = mswap(&["verify", &f, "--json"], b"");
        let e = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{f}: {e}");
        assert!(e.contains("not") && e.lines().count() == 1, "{e}");
    }
    // A transcript: its result and what rests on the referee's clock.
    let t = proofs("transcript.json");
    let o = mswap(&["verify", &t, "--json"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v = json(&text(&o.stdout));
    assert_eq!(v["type"], "transcript");
    assert!(v["outcome"]["winner"].is_string(), "{v}");
    let notes = v["clock_notes"].as_array().expect("clock notes");
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("referee's"))
    );
    let o = mswap(&["verify", &t], b"");
    assert_says(&o.stdout, "note:        the times of the");
    // A duplicated key is refused (strict reading): invalid, 1.
    let s = std::fs::read_to_string(&t).unwrap();
    let dup = dir.join("dup.json");
    std::fs::write(&dup, s.replacen('{', "{\"game\":\"forged\",", 1)).unwrap();
    let o = mswap(&["verify", dup.to_str().unwrap()], b"");
    let e = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("duplicate") || e.contains("game"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn game_commands_refuse_bad_options_at_once_naming_them() {
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/proofs/example.elf");
    // Nothing listens on port 1: every refusal comes before any contact.
    let url = "http://127.0.0.1:1";
    for (args, code, want) in [
        (
            vec!["defend", "--referee", url, "--b", "70", elf],
            2,
            "--b 70: ",
        ),
        (
            vec!["defend", "--referee", url, "--levels", "strides:x", elf],
            2,
            "--levels strides:x: ",
        ),
        (
            vec![
                "defend",
                "--referee",
                url,
                "--b",
                "10",
                "--levels",
                "strides:30",
                elf,
            ],
            2,
            "--levels strides:30: stride 2^30 is not smaller than the claim's 2^10 steps",
        ),
        (
            vec![
                "defend",
                "--referee",
                url,
                "--transcript",
                "/nonexistent/t.json",
                elf,
            ],
            3,
            "--transcript /nonexistent/t.json: cannot write",
        ),
        (
            vec!["defend", "--referee", "127.0.0.1:4000", elf],
            2,
            "--referee 127.0.0.1:4000: ",
        ),
        (
            vec![
                "challenge",
                "--referee",
                "http://h:4000/games",
                "--game",
                "g1",
                elf,
            ],
            2,
            "--referee http://h:4000/games: ",
        ),
        (
            vec![
                "challenge",
                "--referee",
                url,
                "--game",
                "g1",
                "--transcript",
                "/nonexistent/t.json",
                elf,
            ],
            3,
            "--transcript /nonexistent/t.json: ",
        ),
        (
            vec!["dispute", "--levels", "strides:x"],
            2,
            "--levels strides:x: ",
        ),
        (vec!["dispute", "--b", "0"], 2, "--b 0: "),
    ] {
        let t = Instant::now();
        let o = mswap(&args, b"");
        let e = text(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {e}");
        assert!(e.starts_with(&format!("mswap: {want}")), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{args:?}");
    }
}

#[test]
fn dispute_json_is_one_line_per_move_then_a_summary() {
    let dir = scratch("ux-dispute");
    let t = dir.join("t.json");
    let (elf, input) = (
        concat!(env!("CARGO_MANIFEST_DIR"), "/proofs/example.elf"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/proofs/example.input"),
    );
    let o = mswap(
        &[
            "dispute",
            elf,
            "--input",
            input,
            "--json",
            "--transcript",
            t.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<serde_json::Value> = text(&o.stdout).lines().map(json).collect();
    let (summary, moves) = lines.split_last().expect("a summary");
    assert_eq!(summary["honest"], "challenger");
    assert_eq!(summary["outcome"]["winner"], "challenger");
    assert_eq!(summary["winner"], "challenger");
    assert_eq!(summary["moves"].as_u64(), Some(moves.len() as u64));
    // The summary of `dispute --chain --json` has the same fields; the
    // chain's own ones are only there, the bytes exchanged only here.
    assert!(
        summary["bytes"].as_u64().is_some_and(|b| b > 0),
        "{summary}"
    );
    assert!(summary.get("gas").is_none(), "{summary}");
    // Each player's thread tells its own moves: two neighbours may come
    // out of order, but every move is there once.
    let mut seqs: Vec<u64> = moves.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..moves.len() as u64).collect::<Vec<_>>(),
        "one line per accepted move"
    );
    for m in moves {
        assert!(m["side"].is_string() && m["text"].is_string(), "{m}");
        assert!(!m["text"].as_str().unwrap().contains("0x"), "{m}");
    }
    let saved = json(&std::fs::read_to_string(&t).unwrap());
    assert_eq!(saved["moves"].as_array().map(Vec::len), Some(moves.len()));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ctrl_c_on_a_waiting_defender_says_where_its_claim_goes_on() {
    let dir = support::scratch("ux-defend-int");
    let (_referee, url) = support::procs::referee(&dir.join("data"), "127.0.0.1:0", &[]);
    let (elf, input) = support::example_paths();
    let err = interrupt_when(
        &[
            "defend",
            "--referee",
            &url,
            elf.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--json",
        ],
        Some("claim g1: waiting "),
    );
    assert!(
        err.starts_with("mswap: interrupted: claim g1, 0 moves seen")
            && err.contains(&format!("{url}/games/g1/view")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_readme_chain_walkthrough_runs_as_pasted() {
    if !support::have_contract_tool("anvil", "the README's On a chain walkthrough") {
        return;
    }
    // Another port, files in a temporary directory, this build's binary;
    // the challenger starts at once, before the defender's claim is made.
    readme_example(
        "A claim and a dispute on a local node",
        "8545",
        "readme-chain",
        &[
            ("deploy.log", "deploy.log"),
            ("defend.log", "defend.log"),
            ("t.json", "t.json"),
        ],
        300,
        &["defender exit: 1", "result:      challenger wins"],
    );
}

#[test]
fn a_chain_challenger_started_first_waits_for_the_claim() {
    if !support::have_contract_tool("anvil", "the chain challenger's wait for a claim") {
        return;
    }
    let port = free_port();
    let dir = scratch("chain-wait");
    let d = dir.display();
    let script = format!(
        r#"contracts/node_modules/.bin/anvil --port {port} --silent &
node=http://127.0.0.1:{port}
mswap deploy --chain $node --window-seconds 60 > {d}/deploy.log
game=$(sed -n 's/^game: *\(0x[0-9a-fA-F]*\).*/\1/p' {d}/deploy.log)
mswap challenge --chain $node --contract $game --game 0 proofs/example.elf \
    --input proofs/example.input > {d}/challenge.log 2>&1 &
challenger=$!
sleep 3
mswap challenge --chain $node --contract $game --game 1 proofs/example.elf \
    --input proofs/example.input --connect-timeout 1; echo "claim 1: $?"
mswap defend --chain $node --contract $game proofs/example.elf --input proofs/example.input \
    --b 5 --lie from:9:40 > {d}/defend.log; echo "defender exit: $?"
wait $challenger; echo "challenger exit: $?"
cat {d}/challenge.log
kill %1
"#
    );
    let (status, out, err) = bash(&script, 300);
    assert!(status.success(), "{out}\n{err}");
    // Claim 1 is not the next one (claim 0 is not made yet): refused at once.
    assert!(out.contains("claim 1: 2"), "{out}\n{err}");
    assert!(err.contains("no claim 1"), "{err}");
    assert!(out.contains("defender exit: 1"), "{out}");
    assert!(out.contains("challenger exit: 0"), "{out}");
    assert!(out.contains("waiting for claim 0 to be made"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}
