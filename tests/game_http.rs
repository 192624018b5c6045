//! The referee over real loopback HTTP: honest sides win against a sweep of
//! dishonest strategies, a silent side loses on its clock, and malformed or
//! misdirected requests get a 4xx answer with a reason and change nothing.

mod support;

use mswap::elf::Program;
use mswap::players::client::{ClientError, play};
use mswap::players::player::{Lie, Place, Player, claimed_by};
use mswap::players::wire::{CreateGame, MoveRequest};
use mswap::referee::client::Client;
use mswap::rules::levels::{default_levels, kary_levels, two_levels, with_strides};
use mswap::rules::transcript::verify_transcript;
use mswap::rules::{Move, Outcome, Side};
use support::referee::{LOCAL, a_game, create_game, request, serve_clocks, stop, true_claim};
use support::{example, strategy};

/// A whole game over HTTP between two threads; returns the outcome (None: no dispute).
fn game(
    url: &str,
    levels: Vec<mswap::rules::levels::Level>,
    d_lies: Vec<Lie>,
    c_lies: Vec<Lie>,
    clock_ms: Option<u64>,
) -> Option<Outcome> {
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    let b = 5;
    let mut ds = strategy(&p, &input, b, &d_lies);
    let claim = claimed_by(true_claim(&p, &input, b), &mut *ds);
    let client = Client::new(url);
    let created = client
        .create(&CreateGame {
            levels: Some(levels),
            clock_ms,
            ..create_game(claim, elf.clone(), input.clone())
        })
        .expect("creates");
    let id = created.game.clone();
    let mut cs = strategy(&p, &input, b, &c_lies);
    let view = client.claim(&id, None, 0).expect("view");
    if !cs.disputes(&view.claim.final_root) {
        return None;
    }
    let joined = client.join(&id).expect("joins");
    let n = joined.dispute;
    let url2 = url.to_string();
    let defender = std::thread::spawn(move || {
        let client = Client::new(&url2);
        let mut player = Player {
            side: Side::Defender,
            strategy: ds,
        };
        play(
            &client,
            &created.game,
            n,
            &created.token,
            &mut player,
            &mut |_| {},
        )
    });
    let mut player = Player {
        side: Side::Challenger,
        strategy: cs,
    };
    let c =
        play(&client, &id, n, &joined.token, &mut player, &mut |_| {}).expect("challenger plays");
    let d = defender
        .join()
        .expect("defender thread")
        .expect("defender plays");
    assert_eq!(c, d, "both sides see the same outcome");
    let t = client.transcript(&id, n).expect("transcript");
    let checked = verify_transcript(&t, &mswap::elf::image_of(&t.program).unwrap())
        .unwrap_or_else(|e| panic!("transcript: {e}"));
    assert_eq!(checked.winner, Some(c.winner()));
    // The moves alone (what a player reports without writing the
    // transcript) are the transcript's.
    let m = client.moves(&id, n).expect("moves");
    assert_eq!((m.dispute, &m.moves), (n, &t.moves));
    Some(c)
}

#[test]
fn honest_sides_win_over_http_against_a_sweep_of_lies() {
    let (server, dir) = serve_clocks("sweep", 60_000, 60_000);
    let url = server.url();
    let cases: Vec<(Vec<Lie>, Vec<Lie>, Side)> = vec![
        (vec![Lie::Final], vec![], Side::Challenger),
        (
            vec![Lie::From {
                from: 1,
                micro_from: 0,
            }],
            vec![],
            Side::Challenger,
        ),
        (
            vec![Lie::From {
                from: 9,
                micro_from: 40,
            }],
            vec![],
            Side::Challenger,
        ),
        (
            vec![Lie::From {
                from: 18,
                micro_from: mswap::micro::USTEPS - 1,
            }],
            vec![],
            Side::Challenger,
        ),
        (
            vec![
                Lie::Final,
                Lie::At(Place {
                    level: 0,
                    position: 16,
                }),
            ],
            vec![],
            Side::Challenger,
        ),
        (
            vec![
                Lie::Final,
                Lie::At(Place {
                    level: 1,
                    position: 1024,
                }),
            ],
            vec![],
            Side::Challenger,
        ),
        (vec![Lie::Random(7)], vec![], Side::Challenger),
        (vec![Lie::Final, Lie::BadProof], vec![], Side::Challenger),
        (vec![], vec![Lie::DisputeCorrect], Side::Defender),
        (
            vec![],
            vec![Lie::At(Place {
                level: 0,
                position: 16,
            })],
            Side::Defender,
        ),
        (
            vec![],
            vec![Lie::At(Place {
                level: 1,
                position: 512,
            })],
            Side::Defender,
        ),
        (vec![], vec![Lie::Random(11)], Side::Defender),
        (
            vec![],
            vec![Lie::DisputeCorrect, Lie::BadProof],
            Side::Defender,
        ),
    ];
    // Many games at once on one referee: four at a time.
    for batch in cases.chunks(4) {
        std::thread::scope(|s| {
            for (d, c, honest) in batch {
                let url = &url;
                s.spawn(move || {
                    let what = format!("defender {d:?} / challenger {c:?}");
                    let o = game(url, two_levels(5), d.clone(), c.clone(), None)
                        .unwrap_or_else(|| panic!("{what}: no dispute"));
                    assert_eq!(o.winner(), *honest, "{what}: {o}");
                });
            }
        });
    }
    // Three levels over the wire too.
    let o = game(
        &url,
        with_strides(5, &[2]),
        vec![Lie::From {
            from: 7,
            micro_from: 3,
        }],
        vec![],
        None,
    )
    .expect("dispute");
    assert_eq!(o.winner(), Side::Challenger);
    // k-ary levels over the wire: the default ones and 32 parts a round.
    for levels in [default_levels(5), kary_levels(5, 32, 32)] {
        let o = game(
            &url,
            levels.clone(),
            vec![Lie::From {
                from: 11,
                micro_from: 300,
            }],
            vec![],
            None,
        )
        .expect("dispute");
        assert_eq!(o.winner(), Side::Challenger, "{levels:?}");
        let o = game(&url, levels.clone(), vec![], vec![Lie::Random(7)], None).expect("dispute");
        assert_eq!(o.winner(), Side::Defender, "{levels:?}");
    }
    // A correct claim and an honest challenger: no dispute.
    assert_eq!(game(&url, two_levels(5), vec![], vec![], None), None);
    stop(server, dir);
}

#[test]
fn a_silent_side_loses_on_its_clock() {
    let (server, dir) = serve_clocks("silent", 2_000, 2_000);
    let url = server.url();
    let o = game(
        &url,
        two_levels(5),
        vec![Lie::Final, Lie::Silent { after: 3 }],
        vec![],
        None,
    )
    .expect("dispute");
    assert_eq!(
        o,
        Outcome::Timeout {
            winner: Side::Challenger
        }
    );
    let o = game(
        &url,
        two_levels(5),
        vec![],
        vec![Lie::DisputeCorrect, Lie::Silent { after: 4 }],
        None,
    )
    .expect("dispute");
    assert_eq!(
        o,
        Outcome::Timeout {
            winner: Side::Defender
        }
    );
    stop(server, dir);
}

/// A request that announces `len` body bytes and sends none: (status, body).
fn raw_head(url: &str, path: &str, len: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = support::raw::connect(LOCAL, addr).expect("connects");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut out = vec![0u8; 4096];
    let n = s.read(&mut out).unwrap_or(0);
    let text = String::from_utf8_lossy(&out[..n]).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn bad_requests_are_refused_with_a_reason_and_change_nothing() {
    let (server, dir) = serve_clocks("bad", 60_000, 60_000);
    let url = server.url();
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    let mut liar = strategy(&p, &input, 5, &[Lie::Final]);
    let claim = claimed_by(true_claim(&p, &input, 5), &mut *liar);
    let client = Client::new(&url);
    let created = client
        .create(&create_game(claim.clone(), elf.clone(), input.clone()))
        .expect("creates");
    let id = created.game.clone();
    let joined = client.join(&id).expect("joins");
    assert_eq!(joined.dispute, 1);
    // A second game, which nobody joins.
    let other = client
        .create(&create_game(claim.clone(), elf.clone(), input.clone()))
        .expect("creates")
        .game;
    // One good move: the challenge.
    let challenge = MoveRequest {
        side: Side::Challenger,
        token: joined.token.clone(),
        seq: 0,
        mv: Move::Challenge {
            root: claim.final_root,
        },
    };
    client.send(&id, 1, &challenge).expect("challenge accepted");
    let log = mswap::referee::store::log_path(&dir);
    let snapshot = || {
        let t = client.transcript(&id, 1).expect("transcript");
        let v = client.view(&id, 1, None, 0).unwrap();
        (
            serde_json::to_string(&t.moves).unwrap(),
            serde_json::to_string(&v.game).unwrap(),
            // Nothing is logged for a refusal.
            std::fs::metadata(&log).unwrap().len(),
        )
    };
    let before = snapshot();
    let mv = |side: Side, token: &str, seq: u64, mv: Move| {
        serde_json::to_vec(&MoveRequest {
            side,
            token: token.into(),
            seq,
            mv,
        })
        .unwrap()
    };
    let root = claim.final_root;
    // The default levels: the first round of 2^5 A-steps has `parts`
    // parts, so `parts - 1` roots from position `first`.
    let parts = (mswap::rules::levels::DEFAULT_STEPS_K as u64).min(32);
    let (first, n) = (32 / parts, parts as usize - 1);
    let dissect = |n: usize| Move::Dissect {
        level: 0,
        position: first,
        roots: vec![root; n],
    };
    let midpoint = dissect(n);
    let pick = Move::Pick {
        level: 0,
        position: first,
        part: 0,
    };
    let most = mswap::rules::policy::MAX_FAN as usize - 1;
    // The longest list of roots a move may carry fits a move's body (and
    // a batch of them the batch's), with room to spare.
    let longest = mv(Side::Defender, &created.token, 1, dissect(most));
    assert!(
        longest.len() * mswap::players::wire::MAX_BATCH < mswap::referee::MAX_BODY,
        "{} bytes",
        longest.len()
    );
    let cases: Vec<(&str, String, Vec<u8>, u16)> = vec![
        ("bad JSON", format!("/games/{id}/disputes/1/moves"), b"{not json".to_vec(), 400),
        ("wrong field type", format!("/games/{id}/disputes/1/moves"), br#"{"side":"defender","token":"x","seq":"one","move":{"type":"pick","level":0,"position":1,"part":0}}"#.to_vec(), 400),
        ("unknown field", format!("/games/{id}/disputes/1/moves"), br#"{"side":"defender","token":"x","seq":1,"move":{"type":"pick","level":0,"position":1,"part":0},"extra":1}"#.to_vec(), 400),
        ("bad hex root", format!("/games/{id}/disputes/1/moves"), format!(r#"{{"side":"defender","token":"{}","seq":1,"move":{{"type":"dissect","level":0,"position":2,"roots":["zz{}"]}}}}"#, created.token, "0".repeat(62)).into_bytes(), 400),
        ("short root", format!("/games/{id}/disputes/1/moves"), format!(r#"{{"side":"defender","token":"{}","seq":1,"move":{{"type":"dissect","level":0,"position":2,"roots":["abcd"]}}}}"#, created.token).into_bytes(), 400),
        ("unknown side", format!("/games/{id}/disputes/1/moves"), br#"{"side":"referee","token":"x","seq":1,"move":{"type":"pick","level":0,"position":1,"part":0}}"#.to_vec(), 400),
        ("wrong token", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, "00", 1, midpoint.clone()), 403),
        ("out of turn", format!("/games/{id}/disputes/1/moves"), mv(Side::Challenger, &joined.token, 1, pick.clone()), 409),
        ("replayed move", format!("/games/{id}/disputes/1/moves"), mv(Side::Challenger, &joined.token, 0, Move::Challenge { root }), 409),
        ("future seq", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, &created.token, 7, midpoint.clone()), 409),
        ("wrong position", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, &created.token, 1, Move::Dissect { level: 0, position: first + 1, roots: vec![root; n] }), 409),
        ("wrong level", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, &created.token, 1, Move::Dissect { level: 1, position: first, roots: vec![root; n] }), 409),
        ("too few roots", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, &created.token, 1, dissect(3)), 409),
        ("the most roots, more than the round's", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, &created.token, 1, dissect(most)), 409),
        ("more roots than any round has", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, &created.token, 1, dissect(most + 1)), 400),
        ("wrong kind of move", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, &created.token, 1, Move::Challenge { root }), 409),
        ("unknown game", "/games/g999/disputes/1/moves".to_string(), mv(Side::Defender, &created.token, 1, midpoint.clone()), 404),
        ("unknown endpoint", format!("/games/{id}/nothing"), b"{}".to_vec(), 404),
        ("an unknown dispute", format!("/games/{id}/disputes/2/moves"), mv(Side::Defender, &created.token, 1, midpoint.clone()), 404),
        ("dispute zero", format!("/games/{id}/disputes/0"), Vec::new(), 404),
        ("a dispute that is not a number", format!("/games/{id}/disputes/x/transcript"), Vec::new(), 404),
        ("the other side's token", format!("/games/{id}/disputes/1/moves"), mv(Side::Defender, &joined.token, 1, midpoint.clone()), 403),
        ("a duplicate key", format!("/games/{id}/disputes/1/moves"), format!(r#"{{"side":"defender","token":"{}","seq":1,"seq":1,"move":{{"type":"dissect","level":0,"position":2,"roots":["{}"]}}}}"#, created.token, root).into_bytes(), 400),
        ("a duplicate key inside the move", format!("/games/{id}/disputes/1/moves"), format!(r#"{{"side":"defender","token":"{}","seq":1,"move":{{"type":"dissect","level":0,"level":0,"position":2,"roots":["{}"]}}}}"#, created.token, root).into_bytes(), 400),
        ("oversized body", format!("/games/{id}/disputes/1/moves"), vec![b' '; (1 << 20) + 10], 413),
        ("bad query", format!("/games/{id}/disputes/1?after_seq=x"), Vec::new(), 400),
        ("view of an unknown game", "/games/g999".to_string(), Vec::new(), 404),
        ("transcript of an unknown game", "/games/g999/transcript".to_string(), Vec::new(), 404),
        ("moves of an unknown dispute", format!("/games/{id}/disputes/2/moves"), Vec::new(), 404),
        ("moves of an unknown game", "/games/g999/disputes/1/moves".to_string(), Vec::new(), 404),
        ("join of an unknown game", "/games/g999/join".to_string(), b"{}".to_vec(), 404),
        ("challenger of a game nobody joined", format!("/games/{other}/disputes/1/moves"), mv(Side::Challenger, &joined.token, 0, Move::Challenge { root }), 404),
        ("a move without a body", format!("/games/{id}/disputes/1/moves"), Vec::new(), 400),
        ("a move of the wrong shape", format!("/games/{id}/disputes/1/moves"), br#"{"side":"defender","token":"x","seq":1,"move":{"type":"dissect","level":0}}"#.to_vec(), 400),
        ("an unknown move", format!("/games/{id}/disputes/1/moves"), br#"{"side":"defender","token":"x","seq":1,"move":{"type":"resign"}}"#.to_vec(), 400),
        ("a bad game", "/games".to_string(), br#"{"claim":{},"program":"00","input":""}"#.to_vec(), 400),
        ("a game with bad hex", "/games".to_string(), format!(r#"{{"claim":{},"program":"0g","input":""}}"#, serde_json::to_string(&claim).unwrap()).into_bytes(), 400),
    ];
    for (what, path, body, want) in cases {
        let method = if what == "bad query"
            || what.starts_with("view")
            || what.starts_with("transcript")
            || what.starts_with("moves of")
            || what.starts_with("dispute zero")
            || what.starts_with("a dispute that")
        {
            "GET"
        } else {
            "POST"
        };
        let (status, text) = request(&url, method, &path, &body);
        assert_eq!(status, want, "{what}: {text}");
        let reason: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{what}: JSON error body: {text}"));
        let line = reason["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: error field: {text}"));
        assert!(
            !line.is_empty() && !line.contains('\n'),
            "{what}: one-line reason: {line:?}"
        );
        let names = match what {
            "too few roots" => format!("{parts} parts, so {n} roots, the move has 3"),
            "the most roots, more than the round's" => format!("so {n} roots, the move has 63"),
            "more roots than any round has" => {
                "at most 63 roots (a fan-out of at most 64), this one has 64".to_string()
            }
            _ => String::new(),
        };
        assert!(line.contains(&names), "{what}: {line}");
        assert_eq!(snapshot(), before, "{what}: the game changed");
    }
    assert_eq!(request(&url, "DELETE", &format!("/games/{id}"), b"").0, 405);
    // A game creation over the cap (twice 16 MiB of program and input in
    // hex, and 64 KiB) is refused from its Content-Length alone.
    let (status, text) = raw_head(&url, "/games", (64 << 20) + (64 << 10) + 1);
    assert_eq!(status, 413, "{text}");
    assert_eq!(snapshot(), before, "a refused creation");
    // A bad game creation: the program does not match the claim.
    let mut wrong = create_game(claim.clone(), elf.clone(), input.clone());
    wrong.program[100] ^= 1;
    assert!(matches!(
        client.create(&wrong),
        Err(ClientError::Refused { status: 400, .. })
    ));
    let mut wrong = CreateGame {
        levels: Some(two_levels(4)),
        ..create_game(claim.clone(), elf, input)
    };
    assert!(matches!(
        client.create(&wrong),
        Err(ClientError::Refused { status: 400, .. })
    ));
    wrong.levels = None;
    wrong.input.push(b'!');
    assert!(matches!(
        client.create(&wrong),
        Err(ClientError::Refused { status: 400, .. })
    ));
    // An invalid proof is 422; bring the game to its proof first.
    let mut d = Player {
        side: Side::Defender,
        strategy: liar,
    };
    let mut c = Player {
        side: Side::Challenger,
        strategy: strategy(&p, &example().1, 5, &[]),
    };
    loop {
        let v = client.view(&id, 1, None, 0).unwrap();
        if matches!(v.game.phase, mswap::rules::Phase::Prove(_)) {
            let Some(Move::Proof { mut proof }) = c.decide(&v.game) else {
                panic!("proof")
            };
            proof.accesses.push(mswap::proof::Access {
                kind: mswap::proof::AccessKind::Read,
                addr: 0,
                value: 0,
            });
            let body = mv(
                Side::Challenger,
                &joined.token,
                v.game.seq,
                Move::Proof { proof },
            );
            let (status, text) = request(
                &url,
                "POST",
                &format!("/games/{id}/disputes/1/moves"),
                &body,
            );
            assert_eq!(status, 422, "{text}");
            assert!(text.contains("invalid proof"), "{text}");
            break;
        }
        let (player, token) = if v.game.turn == Side::Defender {
            (&mut d, &created.token)
        } else {
            (&mut c, &joined.token)
        };
        let m = player.decide(&v.game).expect("a move");
        client
            .send(
                &id,
                1,
                &MoveRequest {
                    side: player.side,
                    token: token.clone(),
                    seq: v.game.seq,
                    mv: m,
                },
            )
            .expect("accepted");
    }
    stop(server, dir);
}

#[test]
fn answers_do_not_wait_for_delayed_acks() {
    // A view is a few kilobytes, sent as a header and a body: without
    // TCP_NODELAY on the referee's sockets each answer would wait about
    // 40 ms for the client's delayed ACK, and a game of 34 moves would
    // take seconds.
    let (server, dir) = serve_clocks("prompt", 60_000, 60_000);
    let url = server.url();
    let client = Client::new(&url);
    let id = a_game(&url);
    client.claim(&id, None, 0).expect("view");
    let t = std::time::Instant::now();
    for _ in 0..20 {
        client.claim(&id, None, 0).expect("view");
    }
    let ms = t.elapsed().as_millis();
    assert!(ms < 400, "20 views took {ms} ms");
    stop(server, dir);
}

#[test]
fn other_games_are_answered_while_a_large_game_is_created() {
    let (server, dir) = serve_clocks("large", 60_000, 60_000);
    let url = server.url();
    let (elf, _) = example();
    let p = Program::load(&elf).unwrap();
    let client = Client::new(&url);
    let small = a_game(&url);
    // A 15 MiB input (30 MiB of hex; the cap is 16 MiB): parsing,
    // hashing, building the initial state's tree and writing it out take a
    // while.
    let big: Vec<u8> = (0..15u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let big_claim = true_claim(&p, &big, 5);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (created, answered, slowest) = std::thread::scope(|s| {
        let creator = s.spawn(|| {
            let t = std::time::Instant::now();
            let r = Client::new(&url).create(&create_game(big_claim, elf.clone(), big.clone()));
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            (r, t.elapsed())
        });
        let (mut n, mut slowest) = (0u32, std::time::Duration::ZERO);
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let t = std::time::Instant::now();
            client.claim(&small, None, 0).expect("view");
            slowest = slowest.max(t.elapsed());
            n += 1;
        }
        (creator.join().unwrap(), n, slowest)
    });
    let (r, took) = created;
    r.expect("the large game is created");
    eprintln!("creation {took:?}; {answered} views meanwhile, the slowest {slowest:?}");
    assert!(
        answered >= 10,
        "{answered} views answered in the {took:?} of a creation"
    );
    stop(server, dir);
}
