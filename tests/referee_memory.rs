//! The referee's memory and open quotas: finished claims leave memory and
//! are served from the log (views, lists, feeds, transcripts, after a
//! restart too), and opening claims and disputes is limited per address
//! and per network, from many loopback addresses.

mod support;

use mswap::elf::Program;
use mswap::players::client::{RefereeApi, challenge_many, defend};
use mswap::players::player::{Lie, claimed_by};
use mswap::players::wire::{ClaimStatus, MoveRequest};
use mswap::referee::client::Client;
use mswap::referee::{Config, Referee};
use mswap::rules::transcript::verify_transcript;
use mswap::rules::{Move, Outcome, Side};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use support::raw::Raw;
use support::referee::{create_game, refused, serve, stop, true_claim, window_config};
use support::{example, strategy};

const B: u32 = 5;

/// Waits (up to a minute) until `ok` holds; whether it did.
fn eventually(mut ok: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ok()
}

#[test]
fn finished_claims_leave_memory_and_are_served_from_the_log() {
    let (server, dir) = serve("finished", window_config(300));
    let referee = server.referee().clone();
    let url = server.url();
    let api = Client::new(&url);
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    let window = |ms: u64| {
        let mut g = create_game(true_claim(&p, &input, B), elf.clone(), input.clone());
        g.window_ms = Some(ms);
        g
    };
    // 40 claims nobody disputes, and two disputed ones: a true claim
    // against a lying challenger, a false one against an honest one.
    let quiet: Vec<String> = (0..40)
        .map(|_| api.create(&window(10_000)).expect("creates").game)
        .collect();
    let mut disputed = Vec::new();
    for (defender_lies, challenger_lies) in [
        (vec![], vec![Lie::DisputeCorrect]),
        (vec![Lie::Final], vec![]),
    ] {
        let mut g = window(10_000);
        g.claim = claimed_by(
            true_claim(&p, &input, B),
            &mut *strategy(&p, &input, B, &defender_lies),
        );
        let c = api.create(&g).expect("creates");
        let j = api.join(&c.game).expect("joins");
        disputed.push((c, j, defender_lies, challenger_lies));
    }
    assert_eq!(referee.claims_in_memory(), 42, "every claim is open");
    let players: Vec<_> = disputed
        .iter()
        .map(|(c, j, dl, cl)| {
            let (url, id) = (url.clone(), c.game.clone());
            let (token, seat) = (c.token.clone(), (j.dispute, j.token.clone()));
            let (dl, cl) = (dl.clone(), cl.clone());
            let (p, input) = (p.clone(), input.clone());
            let (pp, ii) = (p.clone(), input.clone());
            let d = std::thread::spawn(move || {
                defend(
                    &Client::new(&url),
                    &id,
                    &token,
                    strategy(&p, &input, B, &dl),
                    &|_, _, _| {},
                )
                .expect("defends")
            });
            let (url, id) = (server.url(), c.game.clone());
            let ch = std::thread::spawn(move || {
                challenge_many(
                    &Client::new(&url),
                    &id,
                    &[seat],
                    strategy(&pp, &ii, B, &cl),
                    &|_, _, _| {},
                )
                .expect("challenges")
            });
            (d, ch)
        })
        .collect();
    // Each dispute over (the windows still open): what the live referee says.
    let mut live = Vec::new();
    let mut outcomes = Vec::new();
    let (mut defenders, mut challengers) = (Vec::new(), Vec::new());
    for (d, ch) in players {
        defenders.push(d);
        challengers.push(ch);
    }
    for ((c, ..), ch) in disputed.iter().zip(challengers) {
        let o: Vec<(u64, Outcome)> = ch.join().unwrap();
        outcomes.push(o[0].1.clone());
        live.push((
            serde_json::to_string(&referee.view(&c.game, 1, None).unwrap()).unwrap(),
            serde_json::to_string(&referee.transcript(&c.game, 1).unwrap()).unwrap(),
        ));
    }
    assert_eq!(outcomes[0].winner(), Side::Defender, "{}", outcomes[0]);
    assert_eq!(outcomes[1].winner(), Side::Challenger, "{}", outcomes[1]);
    let ends: Vec<_> = defenders.into_iter().map(|d| d.join().unwrap()).collect();
    assert_eq!(ends[0].status, ClaimStatus::Stands);
    assert_eq!(ends[1].status, ClaimStatus::Refuted);
    // Windows closed, disputes over: every claim leaves memory.
    assert!(
        eventually(|| referee.claims_in_memory() == 0),
        "{} claims still in memory",
        referee.claims_in_memory()
    );
    let check = |referee: &Referee| {
        for (k, (c, ..)) in disputed.iter().enumerate() {
            let id = &c.game;
            let view = serde_json::to_string(&referee.view(id, 1, None).unwrap()).unwrap();
            assert_eq!(
                view, live[k].0,
                "the dispute view of {id}, rebuilt from the log"
            );
            let t = referee.transcript(id, 1).unwrap();
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                live[k].1,
                "the transcript of {id}"
            );
            let image = mswap::elf::image_of(&t.program).expect("the transcript's program");
            let checked = verify_transcript(&t, &image).expect("the transcript checks out");
            assert_eq!(checked.game.outcome(), Some(&outcomes[k]), "{id}");
            assert_eq!(checked.winner, Some(outcomes[k].winner()));
            let cv = referee.claim(id).unwrap();
            assert_eq!(cv.status, [ClaimStatus::Stands, ClaimStatus::Refuted][k]);
            assert_eq!((cv.disputes_total, cv.window_left_ms), (1, 0));
            assert_eq!(cv.disputes[0].outcome.as_ref(), Some(&outcomes[k]));
            let feed = referee.feed(id, 0).unwrap();
            assert_eq!(
                (feed.status, feed.more, feed.disputes.len()),
                (cv.status, false, 1)
            );
            assert_eq!(feed.disputes[0].game.outcome(), Some(&outcomes[k]));
            let next = referee.feed(id, feed.cursor).unwrap();
            assert!(
                next.disputes.is_empty() && !next.more,
                "nothing new past the cursor"
            );
        }
        let list = referee.list();
        assert_eq!(list.len(), 42);
        let stands = list
            .iter()
            .filter(|s| s.status == ClaimStatus::Stands)
            .count();
        assert_eq!(
            stands, 41,
            "every quiet claim and the true disputed one stand"
        );
        for id in &quiet[..3] {
            let cv = referee.claim(id).unwrap();
            assert_eq!((cv.status, cv.disputes_total), (ClaimStatus::Stands, 0));
        }
    };
    check(&referee);
    // Over HTTP too; and a finished claim changes no more.
    let (c, j, ..) = &disputed[1];
    let v = api.view(&c.game, 1, None, 0).expect("a view over HTTP");
    assert!(v.game.is_over());
    refused(api.join(&c.game), 409, "decided");
    refused(
        api.send(
            &c.game,
            1,
            &MoveRequest {
                side: Side::Challenger,
                token: j.token.clone(),
                seq: v.game.seq,
                mv: Move::Challenge {
                    root: Default::default(),
                },
            },
        ),
        409,
        "decided",
    );
    refused(api.view("g999", 1, None, 0), 404, "unknown game");
    // After a restart, they stay on disk and read the same.
    server.stop();
    drop(referee);
    let referee = Referee::open(&dir, Config::default()).expect("reopens");
    assert_eq!(referee.claims_in_memory(), 0);
    check(&referee);
    drop(referee);
    let _ = std::fs::remove_dir_all(dir);
}

/// Loopback address 127.0.`net`.`host`.
fn ip(net: u8, host: u8) -> IpAddr {
    IpAddr::from([127, 0, net, host])
}

#[test]
fn opening_quotas_hold_per_address_and_per_network() {
    let (server, dir) = serve(
        "quotas",
        Config {
            max_opens_per_minute: 100,
            max_opens_per_minute_per_prefix: 12,
            max_open_claims_per_address: 2,
            max_open_claims_per_prefix: 4,
            ..window_config(1_500)
        },
    );
    let url = server.url();
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    let game = create_game(true_claim(&p, &input, B), elf, input);
    let from = |net: u8, host: u8| Raw::new(&url, vec![ip(net, host)]);
    // One address: two open claims, no more.
    let a = from(5, 1);
    a.create(&game).expect("first");
    a.create(&game).expect("second");
    refused(a.create(&game), 429, "client address");
    // Its neighbours in the same /24: the network's share is 4.
    from(5, 2).create(&game).expect("third of the network");
    from(5, 3).create(&game).expect("fourth of the network");
    refused(from(5, 4).create(&game), 429, "network");
    // Another network is not held back.
    from(6, 1).create(&game).expect("another network");
    // Decided and out of memory: the places come back. (6 opens of
    // network 5 so far this minute.)
    assert!(eventually(|| server.referee().claims_in_memory() == 0));
    let open = from(5, 4).create(&game).expect("a place again").game;
    // Rate: 12 opens a minute for the whole /24, from however many
    // addresses (each of them far below its own 100).
    for host in 10..15 {
        from(5, host)
            .join(&open)
            .expect("disputes within the network's rate");
    }
    refused(from(5, 15).join(&open), 429, "a minute per network");
    refused(from(5, 200).create(&game), 429, "a minute per network");
    from(7, 1).join(&open).expect("another network's dispute");
    stop(server, dir);
}
