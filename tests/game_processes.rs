//! Referee, defender and challenger as separate processes of the binary on
//! loopback: full games in both directions, an unchallenged claim, and the
//! one-process demo `mswap dispute`.

mod support;

use mswap::rules::Side;
use std::process::Command;
use support::procs::{
    assert_in_transcript, assert_won, challenge, defend, referee, seen_moves, transcript_won_by,
};
use support::scratch;

/// Every move a player's log shows is in the transcript, by the same side.
fn logs_match(log: &str, t: &mswap::rules::transcript::Transcript) {
    let seen = seen_moves(log);
    assert!(!seen.is_empty(), "no moves in the log:\n{log}");
    assert_in_transcript(&seen, t);
}

#[test]
fn three_processes_play_to_the_end_in_both_directions() {
    let dir = scratch("both");
    // A short challenge window, so that a claim that wins its dispute
    // stands soon after.
    let (_referee, url) = referee(&dir.join("data"), "127.0.0.1:0", &["--window-ms", "8000"]);

    // A lying defender against an honest challenger.
    let t1 = dir.join("t1.json");
    let (d, id) = defend(&url, &["from:9:40"], &t1, &[]);
    let c = challenge(&url, &id, &[], &[]).finish(60);
    let d = d.finish(60);
    assert_won(&c, &d, "the challenger wins, the defender loses");
    assert!(c.stdout.contains("result: challenger wins"), "{}", c.stdout);
    assert!(
        d.stdout.contains("dispute 1: challenger wins"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("the claim is refuted"), "{}", d.stdout);
    let t = transcript_won_by(&t1, Side::Challenger);
    // Both logs tell the whole game round by round, each move once.
    logs_match(&d.stdout, &t);
    logs_match(&c.stdout, &t);
    assert_eq!(seen_moves(&d.stdout).len(), t.moves.len(), "{}", d.stdout);
    assert!(
        d.stdout.contains("level 0 [0, 32] = S_0 .. S_32"),
        "intervals with absolute steps:\n{}",
        d.stdout
    );
    let out = Command::new(support::cli::BIN)
        .arg("verify")
        .arg(&t1)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("challenger wins"), "{text}");
    assert!(text.contains("disputed:    micro-step"), "{text}");

    // An honest defender against a challenger disputing a correct claim.
    let t2 = dir.join("t2.json");
    let (d, id) = defend(&url, &[], &t2, &[]);
    let c = challenge(&url, &id, &["dispute-correct"], &[]).finish(60);
    let d = d.finish(60);
    assert_won(&d, &c, "the defender wins, the challenger loses");
    assert!(d.stdout.contains("the claim stands"), "{}", d.stdout);
    let t = transcript_won_by(&t2, Side::Defender);
    logs_match(&c.stdout, &t);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_correct_claim_is_not_disputed_and_stands_when_the_window_closes() {
    let dir = scratch("correct");
    let (_referee, url) = referee(&dir.join("data"), "127.0.0.1:0", &["--window-ms", "3000"]);
    let t = dir.join("t.json");
    // Asking for less than the referee's policy is refused.
    let (elf, input) = support::example_paths();
    let out = Command::new(support::cli::BIN)
        .args(["defend", "--referee", &url, "--clock-ms", "1"])
        .arg(&elf)
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a refused claim: usage: {err}");
    assert!(err.contains("less than this referee's policy"), "{err}");
    let (d, id) = defend(&url, &[], &t, &[]);
    let c = challenge(&url, &id, &[], &[]).finish(60);
    assert_eq!(c.code, 0, "{}\n{}", c.stdout, c.stderr);
    assert!(c.stdout.contains("the claim is correct"), "{}", c.stdout);
    let d = d.finish(60);
    assert_eq!(d.code, 0, "the unchallenged claim stands\n{}", d.stdout);
    // How long it waits (the window less the time the defender's first
    // pass took) and what happens then.
    assert!(
        d.stdout.contains(": waiting ") && d.stdout.contains(" s for challengers"),
        "{}",
        d.stdout
    );
    assert!(
        d.stdout
            .contains("the claim stands: no dispute was opened in the window (0 disputes"),
        "{}",
        d.stdout
    );
    assert!(!t.exists(), "no dispute, no transcript");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_one_process_demo_runs_on_the_embedded_guest() {
    let dir = scratch("demo");
    let t = dir.join("t.json");
    let out = Command::new(support::cli::BIN)
        .arg("dispute")
        .arg("--transcript")
        .arg(&t)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        // The default levels: 32 parts a round.
        "[defender]   [seq 1] defender dissects level 0 [0, 1048576] = S_0 .. S_1048576 into 32 parts of 32768: 31 roots",
        "[challenger] [seq 2] challenger",
        "== result: challenger wins",
        "bytes exchanged",
        "verified offline: the challenger wins",
        "== the honest challenger won",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    transcript_won_by(&t, Side::Challenger);
    // The other way round, on the example program with three levels.
    let (elf, input) = support::example_paths();
    let out = Command::new(support::cli::BIN)
        .arg("dispute")
        .arg(elf)
        .arg("--input")
        .arg(input)
        .args([
            "--challenger-lie",
            "dispute-correct",
            "--levels",
            "strides:2",
        ])
        .arg("--transcript")
        .arg(&t)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("== the honest defender won"), "{text}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn players_wait_visibly_for_an_unreachable_referee_and_bad_urls_fail_at_once() {
    let (elf, input) = support::example_paths();
    let run = |url: &str, extra: &[&str]| {
        let t = std::time::Instant::now();
        let out = Command::new(support::cli::BIN)
            .args(["defend", "--referee", url])
            .args(extra)
            .arg(&elf)
            .arg("--input")
            .arg(&input)
            .output()
            .unwrap();
        (out, t.elapsed())
    };
    // Malformed URLs: refused at once, before the program runs.
    for bad in [
        "127.0.0.1:4000",
        "http://127.0.0.1",
        "http://:80",
        "http://h:99999",
    ] {
        let (out, took) = run(bad, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: a usage error");
        assert!(
            err.starts_with(&format!("mswap: --referee {bad}: ")),
            "{bad}: {err}"
        );
        assert!(took < std::time::Duration::from_secs(5), "{bad}: {took:?}");
    }
    // A port where nothing listens.
    let port = support::cli::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let (out, took) = run(&url, &["--connect-timeout", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "a network failure: {err}");
    assert!(
        err.contains(&format!("waiting for the referee at {url} (retry 1)")),
        "{err}"
    );
    assert!(err.contains("cannot reach the referee"), "{err}");
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    // Without a timeout the player keeps trying, and plays once the
    // referee comes up.
    let dir = scratch("wait");
    let t = dir.join("t.json");
    let mut args: Vec<std::ffi::OsString> =
        vec!["defend".into(), "--referee".into(), url.clone().into()];
    args.extend([
        elf.clone().into_os_string(),
        "--input".into(),
        input.into_os_string(),
    ]);
    args.extend(["--transcript".into(), t.into_os_string()]);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let d = support::procs::Proc::start(&refs, true);
    let line = d.line();
    assert!(line.contains("(retry 1)"), "{line}");
    let (_referee, url2) = referee(
        &dir.join("data"),
        &format!("127.0.0.1:{port}"),
        &["--window-ms", "1000"],
    );
    assert_eq!(url2, url);
    let d = d.finish(60);
    assert_eq!(
        d.code, 0,
        "the claim stands once the referee is up\n{}\n{}",
        d.stdout, d.stderr
    );
    assert!(d.stdout.starts_with("game: g1"), "{}", d.stdout);
    std::fs::remove_dir_all(dir).ok();
}
