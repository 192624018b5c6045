//! The referee killed with SIGKILL in the middle of a game (twice, once
//! with a torn line at the end of its log and a downtime longer than the
//! players' clocks) restarts from its log on the same port, and the game
//! completes: no move a player saw acknowledged is lost, and the time the
//! referee was down is charged to nobody.

mod support;

use mswap::referee::client::Client;
use mswap::referee::store::{Event, Log};
use mswap::rules::{Move, Outcome, Side};
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};
use support::procs::{
    assert_in_transcript, assert_won, challenge, defend, referee, seen_moves, transcript_won_by,
};
use support::referee::{create_game, true_claim};
use support::scratch;

/// Waits until game `id` has at least `seq` moves; returns its move count
/// (the game must still be running).
fn wait_for_seq(url: &str, id: &str, seq: u64) -> u64 {
    let client = Client::new(url);
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the game does not progress"
        );
        let v = match client.view(id, 1, Some(seq - 1), 1_000) {
            Ok(v) => v,
            // The challenger has not opened its dispute yet.
            Err(mswap::players::client::ClientError::Refused { status: 404, .. }) => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => panic!("view: {e}"),
        };
        if v.game.seq >= seq {
            assert!(!v.game.is_over(), "the game ended before the kill");
            return v.game.seq;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the game does not progress"
        );
    }
}

#[test]
fn a_killed_referee_restarts_from_its_log_and_the_game_completes() {
    let dir = scratch("crash");
    let data = dir.join("data");
    let clocks = ["--clock-ms", "6000"];
    let (mut r, url) = referee(&data, "127.0.0.1:0", &clocks);
    let listen = url.trim_start_matches("http://").to_string();
    let t = dir.join("t.json");
    // Paced players (100 ms a move, about 1.7 s of each clock) with
    // 6-second clocks; the referee is down for longer than that. Binary
    // levels: a game long enough to be killed twice in its middle.
    let pace = ["--delay-ms", "100"];
    let (d, id) = defend(
        &url,
        &["final"],
        &t,
        &["--delay-ms", "100", "--levels", "two"],
    );
    let c = challenge(&url, &id, &[], &pace);

    // First kill, mid-game; then a torn line, as if the referee had died in
    // the middle of an append, and a downtime longer than the clocks.
    let at = wait_for_seq(&url, &id, 10);
    r.kill();
    let log = mswap::referee::store::log_path(&data);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"{\"event\":\"move\",\"game\":\"g1\",\"ti")
        .unwrap();
    std::thread::sleep(Duration::from_millis(6_500));
    let (r2, url2) = referee(&data, &listen, &clocks);
    assert_eq!(url2, url, "the referee takes its port back");
    let v = Client::new(&url).view(&id, 1, None, 0).expect("view");
    assert!(v.game.seq >= at, "the acknowledged moves are back");
    assert!(
        !v.game.is_over(),
        "nobody lost on time while the referee was down"
    );

    // Second kill, restarted at once.
    let mut r2 = r2;
    wait_for_seq(&url, &id, at + 8);
    r2.kill();
    let (_r3, _) = referee(&data, &listen, &clocks);

    let c = c.finish(60);
    let d = d.finish(60);
    assert_won(&c, &d, "the honest challenger wins after the restarts");
    // The transcript across the crashes verifies.
    let tr = transcript_won_by(&t, Side::Challenger);
    assert!(
        matches!(tr.outcome, Some(Outcome::Proof { .. })),
        "settled by the proof, not on time: {:?}",
        tr.outcome
    );
    assert!(matches!(
        tr.moves.last().map(|m| &m.mv),
        Some(Move::Proof { .. })
    ));
    for (i, m) in tr.moves.iter().enumerate() {
        assert_eq!(m.seq, i as u64, "moves are contiguous");
    }
    // Every move either player saw accepted is in the transcript.
    let mut seen = seen_moves(&c.stdout);
    seen.extend(seen_moves(&d.stdout));
    assert!(
        seen.len() >= 2 * tr.moves.len() - 2,
        "{}\n{}",
        c.stdout,
        d.stdout
    );
    assert_in_transcript(&seen, &tr);
    // The torn line was cut off: the log opens whole (its hash chain
    // checks out), with three starts (the first and two restarts).
    drop(_r3);
    let (_, events) = Log::open(&data).expect("the log checks out");
    let restarts = events
        .iter()
        .filter(|e| matches!(e, Event::Restart { .. }))
        .count();
    assert_eq!(restarts, 3);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_restart_charges_the_turn_up_to_the_crash_and_not_the_downtime() {
    use mswap::elf::Program;
    use mswap::players::wire::MoveRequest;
    use mswap::referee::{Config, Policy, Referee};
    let dir = scratch("charge");
    let clock = 20_000;
    let config = || Config {
        policy: Policy {
            clock_base_ms: clock,
            ..Policy::default()
        },
        ..Config::default()
    };
    let referee = Referee::open(&dir, config()).expect("opens");
    let (elf, input) = support::example();
    let p = Program::load(&elf).unwrap();
    let mut claim = true_claim(&p, &input, 5);
    claim.final_root = mswap::hash::keccak(&[b"a false claim"]);
    let created = referee
        .create(create_game(claim, elf, input))
        .expect("creates");
    let id = created.game;
    let window_ends = created.window_ends_ms;
    let joined = referee.join(&id).expect("joins");
    let v = referee
        .play(
            &id,
            1,
            MoveRequest {
                side: Side::Challenger,
                token: joined.token,
                seq: 0,
                mv: Move::Challenge {
                    root: mswap::hash::Hash::default(),
                },
            },
        )
        .expect("challenges");
    let full = v.time_left_ms.defender;
    // The defender's turn runs for 1.6 s while the ticker logs heartbeats;
    // then the referee dies (no clean stop) and stays down for 2 s.
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1_600) {
        referee.tick();
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(referee);
    std::thread::sleep(Duration::from_millis(2_000));
    let referee = Referee::open(&dir, config()).expect("reopens");
    let left = referee
        .view(&id, 1, None)
        .expect("view")
        .time_left_ms
        .defender;
    // Charged for the turn up to the last heartbeat (at least 1 s of the
    // 1.6 s), not for the 2 s of downtime.
    assert!(
        left <= full - 1_000 && left >= full - 1_700,
        "the defender had {full} ms and has {left} ms after the restart"
    );
    // The challenge window moves on by the downtime (2 s, plus what came
    // after the last heartbeat), not by the time the referee was up.
    let moved = referee.claim(&id).unwrap().window_ends_ms - window_ends;
    assert!(
        (2_000..3_500).contains(&moved),
        "the window moved by {moved} ms"
    );
    drop(referee);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_referee_refuses_to_start_on_a_log_with_a_changed_byte_naming_the_line() {
    use mswap::referee::{Config, Referee};
    let dir = scratch("flip");
    {
        // A log of several lines: a start, a claim, a dispute.
        let referee = Referee::open(&dir, Config::default()).expect("opens");
        let (elf, input) = support::example();
        let p = mswap::elf::Program::load(&elf).unwrap();
        let c = referee
            .create(create_game(true_claim(&p, &input, 5), elf, input))
            .expect("creates");
        referee.join(&c.game).expect("joins");
    }
    let log = mswap::referee::store::log_path(&dir);
    let good = std::fs::read(&log).unwrap();
    let lines: Vec<usize> = good
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .collect();
    assert!(lines.len() >= 3, "a start, a claim, a dispute");
    // A digit of the claim's b (line 2) changed, still valid JSON.
    let text = String::from_utf8(good.clone()).unwrap();
    let at = text.find("\"b\":5").expect("the claim's b") + 4;
    let mut bad = good.clone();
    bad[at] = b'4';
    std::fs::write(&log, &bad).unwrap();
    let out = Command::new(support::cli::BIN)
        .args(["referee", "--listen", "127.0.0.1:0", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("line 2") && err.contains("refusing to start"),
        "{err}"
    );
    // The log is left as it was found: no silent repair.
    assert_eq!(std::fs::read(&log).unwrap(), bad);
    std::fs::remove_dir_all(dir).ok();
}
