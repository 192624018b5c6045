//! Referee, defender and challenger as separate processes of the binary on
//! loopback: full games in both directions, and a referee killed with
//! SIGKILL mid-game and restarted from its log, with no acknowledged move
//! lost.

use mswap::game::rules::{Move, Side};
use mswap::game::transcript::{Transcript, verify_transcript};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mswap");

fn proofs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs")
}

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mswap-proc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts `mswap referee` and returns it with its URL (read from its first line).
fn referee(data: &Path, listen: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["referee", "--listen", listen, "--data"])
        .arg(data)
        .stderr(Stdio::piped())
        .spawn()
        .expect("referee starts");
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .expect("referee says where it listens");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    (child, url)
}

fn defend(url: &str, lies: &[&str], transcript: &Path) -> (Child, String) {
    defend_with(url, lies, transcript, &[])
}

fn defend_with(url: &str, lies: &[&str], transcript: &Path, extra: &[&str]) -> (Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["defend", "--referee", url, "--checkpoints", "3"])
        .args(extra)
        .arg(proofs().join("example.elf"))
        .arg("--input")
        .arg(proofs().join("example.input"))
        .arg("--transcript")
        .arg(transcript);
    for l in lies {
        cmd.args(["--lie", l]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("defender starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("defender prints the game");
    let id = line
        .trim()
        .strip_prefix("game: ")
        .unwrap_or_else(|| panic!("no game id in {line:?}"))
        .to_string();
    (child, id)
}

fn challenge(url: &str, id: &str, lies: &[&str]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "challenge",
        "--referee",
        url,
        "--game",
        id,
        "--checkpoints",
        "3",
    ])
    .arg(proofs().join("example.elf"))
    .arg("--input")
    .arg(proofs().join("example.input"));
    for l in lies {
        cmd.args(["--lie", l]);
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("challenger starts")
}

/// Waits for a player; returns (exit code, stderr).
fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().expect("player ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_transcript(p: &Path) -> Transcript {
    serde_json::from_slice(&std::fs::read(p).expect("transcript written"))
        .expect("transcript parses")
}

#[test]
fn three_processes_play_to_the_end_in_both_directions() {
    let dir = temp("both");
    let (mut r, url) = referee(&dir.join("data"), "127.0.0.1:0");
    // A lying defender against an honest challenger.
    let t1 = dir.join("t1.json");
    let (d, id) = defend(&url, &["from:9:40"], &t1);
    let c = challenge(&url, &id, &[]);
    let (cc, clog) = finish(c);
    let (dc, dlog) = finish(d);
    assert_eq!(
        (cc, dc),
        (0, 1),
        "challenger wins, defender loses\n{clog}\n{dlog}"
    );
    assert!(clog.contains("result: challenger wins"), "{clog}");
    let t = read_transcript(&t1);
    assert_eq!(
        verify_transcript(&t).expect("verifies").winner,
        Some(Side::Challenger)
    );
    let out = Command::new(BIN).arg("verify").arg(&t1).output().unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("challenger wins")
    );

    // An honest defender against a challenger disputing a correct claim.
    let t2 = dir.join("t2.json");
    let (d, id) = defend(&url, &[], &t2);
    let c = challenge(&url, &id, &["dispute-correct"]);
    let (cc, clog) = finish(c);
    let (dc, dlog) = finish(d);
    assert_eq!(
        (dc, cc),
        (0, 1),
        "defender wins, challenger loses\n{dlog}\n{clog}"
    );
    assert_eq!(
        verify_transcript(&read_transcript(&t2))
            .expect("verifies")
            .winner,
        Some(Side::Defender)
    );

    // An honest challenger finds a correct claim correct and does not join;
    // the claim stands when the challenge window (the challenger's clock) closes.
    let (d, id) = defend_with(&url, &[], &dir.join("t3.json"), &["--clock-ms", "1500"]);
    let c = challenge(&url, &id, &[]);
    let out = c.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the claim is correct"));
    let (dc, dlog) = finish(d);
    assert_eq!(dc, 0, "the unchallenged claim stands\n{dlog}");
    let _ = r.kill();
    let _ = r.wait();
    let _ = std::fs::remove_dir_all(dir);
}

/// `(seq, side)` of every move a player saw accepted, from its log.
fn acknowledged(log: &str, side: Side) -> Vec<(u64, Side)> {
    log.lines()
        .filter(|l| l.starts_with("[seq ") && !l.contains("refused"))
        .filter_map(|l| {
            l.trim_start_matches("[seq ")
                .split(']')
                .next()?
                .parse()
                .ok()
        })
        .map(|s| (s, side))
        .collect()
}

#[test]
fn a_killed_referee_restarts_from_its_log_and_the_game_completes() {
    let dir = temp("crash");
    let data = dir.join("data");
    let (mut r, url) = referee(&data, "127.0.0.1:0");
    let listen = url.trim_start_matches("http://").to_string();
    let t = dir.join("t.json");
    let (d, id) = defend(&url, &["final"], &t);
    let c = challenge(&url, &id, &[]);
    // Kill the referee once the game is under way.
    let client = mswap::game::client::Client::new(&url);
    let start = Instant::now();
    loop {
        let v = client.view(&id, None, 0).expect("view");
        if v.game.seq >= 12 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the game does not progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    r.kill().expect("SIGKILL");
    r.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (mut r2, url2) = referee(&data, &listen);
    assert_eq!(url2, url);
    let (cc, clog) = finish(c);
    let (dc, dlog) = finish(d);
    assert_eq!(
        (cc, dc),
        (0, 1),
        "the honest challenger wins after the restart\n{clog}\n{dlog}"
    );
    let tr = read_transcript(&t);
    let checked = verify_transcript(&tr).expect("the transcript across the crash verifies");
    assert_eq!(checked.winner, Some(Side::Challenger));
    for (i, m) in tr.moves.iter().enumerate() {
        assert_eq!(m.seq, i as u64, "moves are contiguous");
    }
    let mut acked = acknowledged(&clog, Side::Challenger);
    acked.extend(acknowledged(&dlog, Side::Defender));
    assert!(
        acked.len() >= 12,
        "players saw their moves acknowledged:\n{clog}\n{dlog}"
    );
    for (seq, side) in acked {
        let m = tr
            .moves
            .get(seq as usize)
            .unwrap_or_else(|| panic!("acknowledged move {seq} is lost"));
        assert_eq!(m.side, side, "move {seq}");
    }
    assert!(matches!(
        tr.moves.last().map(|m| &m.mv),
        Some(Move::Proof { .. })
    ));
    let _ = r2.kill();
    let _ = r2.wait();
    let _ = std::fs::remove_dir_all(dir);
}
