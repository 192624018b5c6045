//! The referee against outsiders who want the honest side to lose, from
//! many loopback addresses on many networks (127.x.y.z), as attackers
//! would: Sybil disputes against a true claim (200 and 1,000), unread
//! downloads, stalled bodies, long-poll floods, status amplification, and
//! edits of the log. Through each, `/health` answers within a second, the
//! honest side moves and wins, and memory stays bounded.

mod support;

use mswap::elf::Program;
use mswap::players::client::{RefereeApi, challenge_many, defend, play};
use mswap::players::player::{Lie, Player, claimed_by};
use mswap::players::wire::{ClaimStatus, Created};
use mswap::referee::client::Client;
use mswap::referee::{Config, Limits, Referee};
use mswap::rules::{Outcome, Side};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::raw::{self, Raw, addresses};
use support::referee::{create_game, serve, stop, true_claim, window_config};
use support::{example, strategy};

const B: u32 = 5;

/// Checks `/health` from 127.0.0.1 every 100 ms until stopped; the
/// slowest answer in ms (`u64::MAX`: one was not 200).
fn watch_health(url: &str) -> (Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (s, to) = (stop.clone(), url.trim_start_matches("http://").to_string());
    let h = std::thread::spawn(move || {
        let mut worst = 0u64;
        while !s.load(Ordering::Relaxed) {
            let t = Instant::now();
            let ok = raw::request([127, 0, 0, 1].into(), &to, "GET", "/health", b"")
                .is_some_and(|(status, _)| status == 200);
            worst = worst.max(if ok {
                t.elapsed().as_millis() as u64
            } else {
                u64::MAX
            });
            std::thread::sleep(Duration::from_millis(100));
        }
        worst
    });
    (stop, h)
}

fn healthy_throughout(watch: (Arc<AtomicBool>, std::thread::JoinHandle<u64>)) {
    watch.0.store(true, Ordering::Relaxed);
    let worst = watch.1.join().unwrap();
    assert!(
        worst < 1000,
        "/health: slowest answer {worst} ms (MAX: refused)"
    );
}

/// A claim on the example, true or with `lies`, opened through `api`.
fn open_claim(api: &dyn RefereeApi, lies: &[Lie]) -> Created {
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    let mut s = strategy(&p, &input, B, lies);
    let claim = claimed_by(true_claim(&p, &input, B), &mut *s);
    api.create(&create_game(claim, elf, input))
        .expect("creates")
}

fn example_strategy(lies: &[Lie]) -> Box<dyn mswap::players::player::Strategy> {
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    strategy(&p, &input, B, lies)
}

/// `n` lying disputes against a true claim, opened from `nets` networks of
/// 4 addresses each and played by the liars as fast as they can (half of
/// them disputing everything, half answering at random), against one
/// honest defender on one connection; the default clocks, a short window.
fn sybil(n: usize, nets: usize) {
    let (server, dir) = serve(&format!("sybil{n}"), window_config(15_000));
    let url = server.url();
    let health = watch_health(&url);
    let defender_api = Client::new(&url);
    let created = open_claim(&defender_api, &[]);
    let id = created.game.clone();
    let d = {
        let (id, token) = (id.clone(), created.token.clone());
        std::thread::spawn(move || {
            let api = Client::new(&url);
            let end =
                defend(&api, &id, &token, example_strategy(&[]), &|_, _, _| {}).expect("defends");
            (end, api.bytes())
        })
    };
    // The Sybils open their disputes from every address in turn.
    let from = addresses(4 * nets, 4, 1);
    let liars = Raw::new(&server.url(), from.clone());
    let mut joined = Vec::new();
    for _ in 0..n {
        let j = liars.join(&id).expect("a Sybil joins");
        joined.push((j.dispute, j.token, j.queued));
    }
    let queued = joined.iter().filter(|j| j.2).count();
    assert!(queued > 0, "past the running share, disputes wait");
    // Two swarms of liars, each on addresses of its own.
    let swarms: Vec<_> = [Lie::DisputeCorrect, Lie::Random(7)]
        .into_iter()
        .enumerate()
        .map(|(k, lie)| {
            let mine: Vec<(u64, String)> = joined
                .iter()
                .filter(|j| j.0 as usize % 2 == k)
                .map(|j| (j.0, j.1.clone()))
                .collect();
            let api = Raw::new(&server.url(), from.clone());
            let id = id.clone();
            std::thread::spawn(move || {
                challenge_many(&api, &id, &mine, example_strategy(&[lie]), &|_, _, _| {})
                    .expect("the liars play")
            })
        })
        .collect();
    let mut lost_by_liars = 0;
    for s in swarms {
        for (_, o) in s.join().unwrap() {
            assert_eq!(o.winner(), Side::Defender, "{o}");
            lost_by_liars += 1;
        }
    }
    assert_eq!(lost_by_liars, n);
    let (end, bytes) = d.join().unwrap();
    assert_eq!(end.status, ClaimStatus::Stands, "the true claim is kept");
    assert_eq!(end.outcomes.len(), n);
    for (k, o) in &end.outcomes {
        assert!(
            matches!(
                o,
                Outcome::Proof {
                    winner: Side::Defender,
                    ..
                }
            ),
            "dispute {k}: {o} (never on time: queued disputes charge no clock)"
        );
    }
    eprintln!(
        "{n} Sybil disputes ({queued} queued at first): the claim stands; the defender exchanged {bytes} bytes"
    );
    healthy_throughout(health);
    stop(server, dir);
}

#[test]
fn two_hundred_sybil_disputes_from_four_addresses_do_not_refute_a_true_claim() {
    sybil(200, 1);
}

#[test]
fn a_thousand_sybil_disputes_from_many_networks_do_not_refute_a_true_claim() {
    sybil(1000, 5);
}

/// Plays one honest dispute against a lying defender through `api`s from
/// 127.0.0.1: the challenger refutes the claim.
fn honest_refutes(url: &str) {
    let api = Client::new(url);
    let created = open_claim(&api, &[Lie::Final]);
    let id = created.game.clone();
    let d = {
        let (url, id, token) = (url.to_string(), id.clone(), created.token.clone());
        std::thread::spawn(move || {
            defend(
                &Client::new(&url),
                &id,
                &token,
                example_strategy(&[Lie::Final]),
                &|_, _, _| {},
            )
        })
    };
    let j = api.join(&id).expect("joins");
    let mut player = Player {
        side: Side::Challenger,
        strategy: example_strategy(&[]),
    };
    let o = play(&api, &id, j.dispute, &j.token, &mut player, &mut |_| {}).expect("plays");
    assert_eq!(o.winner(), Side::Challenger, "{o}");
    // The liar's defender gives up once the window closes; not awaited.
    drop(d);
}

fn read_some(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = vec![0u8; 4096];
    let n = s.read(&mut out).unwrap_or(0);
    String::from_utf8_lossy(&out[..n]).into_owned()
}

#[test]
fn unread_transcript_downloads_hold_no_compute_slot() {
    let limits = Limits {
        write_timeout: Duration::from_secs(3),
        ..Limits::default()
    };
    let (server, dir) = serve(
        "unread",
        Config {
            limits,
            ..Config::default()
        },
    );
    let url = server.url();
    let to = server.addr.clone();
    // A claim with a 4 MiB input: each transcript is 8 MiB of hex.
    let (elf, _) = example();
    let input = vec![7u8; 4 << 20];
    let p = Program::load(&elf).unwrap();
    let claim = true_claim(&p, &input, B);
    let c = Client::new(&url)
        .create(&create_game(claim, elf, input))
        .expect("creates");
    Client::new(&url).join(&c.game).expect("joins");
    // 128 downloads, never read, from 32 addresses on 8 networks.
    let from = addresses(32, 4, 1);
    let health = watch_health(&url);
    let mut held = Vec::new();
    let mut refused = 0;
    for i in 0..128 {
        let mut s = raw::connect(from[i % from.len()], &to).unwrap();
        write!(
            s,
            "GET /games/{}/disputes/1/transcript HTTP/1.1\r\nHost: x\r\n\r\n",
            c.game
        )
        .unwrap();
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    // The honest side plays a whole game meanwhile.
    honest_refutes(&url);
    for s in held.iter_mut() {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut b = [0u8; 12];
        if s.read(&mut b).is_ok_and(|n| n == 12) && b.starts_with(b"HTTP/1.1 503") {
            refused += 1;
        }
    }
    assert!(
        refused >= 64,
        "beyond the shares of streams, refused: {refused}"
    );
    let streams = server.stats().streams.load(Ordering::SeqCst);
    assert!(streams <= 32, "{streams} streams");
    assert_eq!(
        server.stats().busy.load(Ordering::SeqCst),
        0,
        "no busy slot held"
    );
    // The stalled writers give up after the write timeout.
    let t = Instant::now();
    while server.stats().streams.load(Ordering::SeqCst) > 0 {
        assert!(t.elapsed() < Duration::from_secs(20), "writers stay");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(held);
    healthy_throughout(health);
    stop(server, dir);
}

#[test]
fn stalled_bodies_fill_no_budget_and_are_dropped_early() {
    let (server, dir) = serve("stalled", Config::default());
    let url = server.url();
    let to = server.addr.clone();
    let health = watch_health(&url);
    let max = server.referee().max_create_body();
    // 64 bodies announcing the largest size, one byte sent, 16 addresses.
    let from = addresses(16, 4, 1);
    let mut stalled: Vec<TcpStream> = (0..64)
        .map(|i| {
            let mut s = raw::connect(from[i % 16], &to).unwrap();
            write!(
                s,
                "POST /games HTTP/1.1\r\nHost: x\r\nContent-Length: {max}\r\n\r\n{{"
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.stats().body_bytes.load(Ordering::SeqCst) <= 64);
    // Claims can be opened and moves made meanwhile.
    honest_refutes(&url);
    // Each stalled body is dropped within seconds, not the 20 s timeout.
    let t = Instant::now();
    for s in stalled.iter_mut() {
        let out = read_some(s);
        assert!(out.starts_with("HTTP/1.1 408"), "{out:?}");
        assert!(out.contains("too slowly"), "{out:?}");
    }
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(server.stats().slow_bodies.load(Ordering::Relaxed) >= 64);
    healthy_throughout(health);
    stop(server, dir);
}

#[test]
fn long_poll_floods_do_not_lock_out_a_new_challenger() {
    let (server, dir) = serve("flood", Config::default());
    let url = server.url();
    let to = server.addr.clone();
    let c = open_claim(&Client::new(&url), &[]);
    // 2,304 keep-alive long-polls from 36 addresses on 9 networks: more
    // than the 2,048 connections the referee takes in all.
    let from = addresses(36, 4, 1);
    let mut polls = Vec::new();
    for i in 0..2304 {
        let Ok(mut s) = raw::connect(from[i % 36], &to) else {
            continue;
        };
        let _ = write!(
            s,
            "GET /games/{}?after_seq=100&wait_ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n",
            c.game
        );
        polls.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let open = server.stats().connections.load(Ordering::SeqCst);
    assert!(open <= 2048 + 8, "{open} connections");
    // A new challenger on another network gets in and refutes a false claim.
    let health = watch_health(&url);
    honest_refutes(&url);
    healthy_throughout(health);
    assert!(server.stats().evicted.load(Ordering::Relaxed) > 0);
    drop(polls);
    stop(server, dir);
}

#[test]
fn a_long_status_is_refused_and_every_page_is_bounded() {
    let (server, dir) = serve("status", Config::default());
    let url = server.url();
    let from = addresses(12, 4, 1);
    let api = Raw::new(&url, from);
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    for (len, ok) in [(4 << 20, false), (257, false), (256, true)] {
        let mut claim = true_claim(&p, &input, B);
        claim.status = "<".repeat(len);
        let r = api.create(&create_game(claim, elf.clone(), input.clone()));
        match (r, ok) {
            (Ok(_), true) => {}
            (
                Err(mswap::players::client::ClientError::Refused {
                    status: 400,
                    reason,
                }),
                false,
            ) => {
                assert!(reason.contains("status"), "{reason}")
            }
            (r, _) => panic!("a status of {len} bytes: {r:?}"),
        }
    }
    // 300 claims with the longest status, and disputes on one of them.
    let mut ids = Vec::new();
    for _ in 0..300 {
        let mut claim = true_claim(&p, &input, B);
        claim.status = "&".repeat(256);
        ids.push(
            api.create(&create_game(claim, elf.clone(), input.clone()))
                .expect("creates")
                .game,
        );
    }
    for _ in 0..150 {
        api.join(&ids[0]).expect("joins");
    }
    let to = server.addr.clone();
    let me: IpAddr = [127, 0, 0, 1].into();
    let size = |path: &str| {
        let (status, body) = raw::request(me, &to, "GET", path, b"").expect("answers");
        assert_eq!(status, 200, "{path}");
        body.len()
    };
    let index = size("/");
    assert!(index < 512 << 10, "GET / is {index} bytes");
    let list = size("/games");
    assert!(list < 64 << 10, "GET /games is {list} bytes");
    let listed: Vec<serde_json::Value> = serde_json::from_slice(
        &raw::request(me, &to, "GET", "/games?limit=1000", b"")
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(listed.len(), 100, "a page of claims");
    let claim = size(&format!("/games/{}", ids[0]));
    assert!(claim < 64 << 10, "a claim is {claim} bytes");
    let page = size(&format!("/games/{}/view", ids[0]));
    assert!(page < 256 << 10, "a claim's page is {page} bytes");
    let feed = size(&format!("/games/{}/events?after=0", ids[0]));
    assert!(feed < 512 << 10, "a feed answer is {feed} bytes");
    // Four concurrent indexes, many times: memory stays where it was.
    let rss = || {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    let before = rss();
    let grown = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10 {
                    size("/");
                    grown.fetch_max(rss().saturating_sub(before), Ordering::Relaxed);
                }
            });
        }
    });
    let grown = grown.load(Ordering::Relaxed);
    assert!(grown < 200 << 10, "memory grew by {grown} kB");
    stop(server, dir);
}

#[test]
fn a_truncated_log_and_a_keyless_rechain_are_refused_naming_the_line() {
    let dir = support::scratch("logedit");
    {
        let referee = Referee::open(&dir, Config::default()).expect("opens");
        let (elf, input) = example();
        let p = Program::load(&elf).unwrap();
        let c = referee
            .create(create_game(true_claim(&p, &input, B), elf, input))
            .expect("creates");
        referee.join(&c.game).expect("joins");
    }
    let log = mswap::referee::store::log_path(&dir);
    let good = std::fs::read(&log).unwrap();
    let ends: Vec<usize> = (0..good.len()).filter(|i| good[*i] == b'\n').collect();
    let refused = |what: &str, line: usize| {
        let e = Referee::open(&dir, Config::default())
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        let text = e.to_string();
        assert!(text.contains(&format!("line {line} ")), "{what}: {text}");
    };
    // The last line dropped.
    std::fs::write(&log, &good[..ends[ends.len() - 2] + 1]).unwrap();
    refused("the last line dropped", ends.len());
    // A cut in the middle of line 2.
    std::fs::write(&log, &good[..ends[0] + 20]).unwrap();
    refused("a cut in line 2", 2);
    // The whole chain recomputed with another key (the old unkeyed scheme
    // is one): refused at line 1.
    std::fs::write(&log, &good).unwrap();
    let key = mswap::referee::store::key_path(&dir);
    let real = std::fs::read(&key).unwrap();
    std::fs::write(&key, "11".repeat(32)).unwrap();
    refused("another key", 1);
    std::fs::write(&key, real).unwrap();
    // A torn last line that was never acknowledged is recovered.
    let mut torn = good.clone();
    torn.extend_from_slice(b"{\"event\":\"heartbeat\",\"time_");
    std::fs::write(&log, &torn).unwrap();
    Referee::open(&dir, Config::default()).expect("a torn line is recovered");
    let _ = std::fs::remove_dir_all(dir);
}
