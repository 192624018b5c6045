//! Many challengers: any number of disputes per claim, each a game of its
//! own with its own secret. A squatter, a defender disputing its own claim
//! and many colluding dishonest challengers cannot stop one honest
//! challenger from refuting a false claim; a true claim stands against
//! them all. The referee, not the claimant, sets the clocks, the window and
//! the largest b; level lists start with a steps level.

mod support;

use mswap::elf::Program;
use mswap::players::client::{ClientError, defend, play};
use mswap::players::player::{Lie, Player, claimed_by};
use mswap::players::wire::{ClaimStatus, CreateGame};
use mswap::referee::client::Client;
use mswap::referee::{Config, Policy};
use mswap::rules::levels::{Level, LevelKind, two_levels};
use mswap::rules::transcript::verify_transcript;
use mswap::rules::{Outcome, Side};
use support::referee::{create_game, refused, serve, serve_clocks, stop, true_claim};
use support::{example, strategy};

const B: u32 = 5;

fn create(url: &str, d_lies: &[Lie]) -> (mswap::players::wire::Created, CreateGame) {
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    let mut ds = strategy(&p, &input, B, d_lies);
    let claim = claimed_by(true_claim(&p, &input, B), &mut *ds);
    let req = create_game(claim, elf, input);
    (Client::new(url).create(&req).expect("creates"), req)
}

/// Opens a dispute and plays it with `lies` on a thread: (dispute, outcome).
fn challenger(url: &str, id: &str, lies: Vec<Lie>) -> std::thread::JoinHandle<(u64, Outcome)> {
    let (url, id) = (url.to_string(), id.to_string());
    let client = Client::new(&url);
    let joined = client.join(&id).expect("joins");
    std::thread::spawn(move || {
        let (elf, input) = example();
        let p = Program::load(&elf).unwrap();
        let mut player = Player {
            side: Side::Challenger,
            strategy: strategy(&p, &input, B, &lies),
        };
        let o = play(
            &client,
            &id,
            joined.dispute,
            &joined.token,
            &mut player,
            &mut |_| {},
        )
        .expect("plays");
        (joined.dispute, o)
    })
}

fn defender(
    url: &str,
    created: &mswap::players::wire::Created,
    lies: Vec<Lie>,
) -> std::thread::JoinHandle<mswap::players::client::ClaimEnd> {
    let (url, id, token) = (url.to_string(), created.game.clone(), created.token.clone());
    std::thread::spawn(move || {
        let (elf, input) = example();
        let p = Program::load(&elf).unwrap();
        let s = strategy(&p, &input, B, &lies);
        defend(&Client::new(&url), &id, &token, s, &|_, _, _| {}).expect("defends")
    })
}

#[test]
fn one_honest_challenger_refutes_a_false_claim_whatever_the_others_do() {
    let (server, dir) = serve_clocks("false", 4_000, 60_000);
    let url = server.url();
    let (created, _) = create(&url, &[Lie::Final]);
    let id = created.game.clone();
    let d = defender(&url, &created, vec![Lie::Final]);
    // A squatter who joins first and never moves.
    let squatter = challenger(&url, &id, vec![Lie::Silent { after: 0 }]);
    // The defender disputes its own claim and plays along with itself.
    let self_join = challenger(
        &url,
        &id,
        vec![Lie::At(mswap::players::player::Place {
            level: 0,
            position: 16,
        })],
    );
    // Five colluders who agree with whatever the defender says, or go silent.
    let colluders: Vec<_> = (0..5)
        .map(|i| {
            let lie = if i % 2 == 0 {
                Lie::Random(i + 3)
            } else {
                Lie::Silent { after: 3 }
            };
            challenger(&url, &id, vec![lie])
        })
        .collect();
    // And one honest challenger, last in line.
    let honest = challenger(&url, &id, vec![]);
    let (n, o) = honest.join().unwrap();
    assert_eq!(n, 8, "every challenger has a dispute of its own");
    assert_eq!(
        o.winner(),
        Side::Challenger,
        "the honest challenger wins: {o}"
    );
    let end = d.join().unwrap();
    assert_eq!(end.status, ClaimStatus::Refuted);
    for h in colluders.into_iter().chain([squatter, self_join]) {
        h.join().unwrap();
    }
    let client = Client::new(&url);
    let view = client.claim(&id, None, 0).unwrap();
    assert_eq!(view.status, ClaimStatus::Refuted);
    assert_eq!(view.disputes.len(), 8);
    // The honest dispute's transcript checks out offline.
    let t = client.transcript(&id, n).unwrap();
    assert_eq!(t.dispute, n);
    assert_eq!(
        verify_transcript(&t, &mswap::elf::image_of(&t.program).unwrap())
            .unwrap()
            .winner,
        Some(Side::Challenger)
    );
    // A challenger's secret is good for its own dispute only.
    let mine = client.join(&id).unwrap();
    let r = client.send(
        &id,
        1,
        &mswap::players::wire::MoveRequest {
            side: Side::Challenger,
            token: mine.token,
            seq: 0,
            mv: mswap::rules::Move::Challenge {
                root: view.claim.final_root,
            },
        },
    );
    refused(r, 403, "wrong token for the challenger of dispute 1");
    stop(server, dir);
}

#[test]
fn a_true_claim_stands_only_after_it_beats_every_dispute_of_the_window() {
    let (server, dir) = serve_clocks("true", 4_000, 6_000);
    let url = server.url();
    let (created, _) = create(&url, &[]);
    let id = created.game.clone();
    let d = defender(&url, &created, vec![]);
    let liars: Vec<_> = [
        vec![Lie::DisputeCorrect],
        vec![Lie::Random(5)],
        vec![Lie::DisputeCorrect, Lie::Silent { after: 2 }],
        vec![Lie::DisputeCorrect, Lie::BadProof],
    ]
    .into_iter()
    .map(|l| challenger(&url, &id, l))
    .collect();
    for h in liars {
        let (n, o) = h.join().unwrap();
        assert_eq!(o.winner(), Side::Defender, "dispute {n}: {o}");
    }
    let end = d.join().unwrap();
    assert_eq!(end.status, ClaimStatus::Stands);
    assert_eq!(end.outcomes.len(), 4);
    // The window has closed: no one can open a dispute now.
    refused(Client::new(&url).join(&id), 409, "closed");
    stop(server, dir);
}

#[test]
fn the_referee_sets_the_clocks_the_window_and_the_largest_b() {
    let (server, dir) = serve_clocks("policy", 1_500, 60_000);
    let url = server.url();
    let client = Client::new(&url);
    let (_, req) = create(&url, &[]);
    let policy = server.referee().config().policy.clone();
    for (what, mut r) in [
        (
            "a 1 ms clock",
            CreateGame {
                clock_ms: Some(1),
                ..req.clone()
            },
        ),
        (
            "a 1 ms window",
            CreateGame {
                window_ms: Some(1),
                ..req.clone()
            },
        ),
        (
            "a clock just under the policy",
            CreateGame {
                clock_ms: Some(policy.clock_ms(B) - 1),
                ..req.clone()
            },
        ),
        ("a b over the largest", req.clone()),
        (
            "a micro level first",
            CreateGame {
                levels: Some(vec![
                    Level {
                        kind: LevelKind::Micro,
                        log2: mswap::micro::LOG2_USTEPS,
                        k: 2,
                    },
                    Level {
                        kind: LevelKind::Steps,
                        log2: B,
                        k: 2,
                    },
                ]),
                ..req.clone()
            },
        ),
        (
            "a fan-out that is not a power of two",
            CreateGame {
                levels: Some(mswap::rules::levels::kary_levels(B, 16, 12)),
                ..req.clone()
            },
        ),
        (
            "a fan-out over the largest",
            CreateGame {
                levels: Some(mswap::rules::levels::kary_levels(B, 128, 8)),
                ..req.clone()
            },
        ),
    ] {
        if what.starts_with("a b over") {
            r.claim.b = policy.max_b + 1;
        }
        match client.create(&r) {
            Err(ClientError::Refused {
                status: 400,
                reason,
            }) => {
                assert!(!reason.is_empty(), "{what}");
                if what.contains("clock") || what.contains("window") {
                    assert!(reason.contains("policy"), "{what}: {reason}");
                }
                if what.contains("micro") {
                    assert!(
                        reason.contains("first level must be a steps level"),
                        "{what}: {reason}"
                    );
                }
                if what.contains("fan-out") {
                    assert!(
                        (reason.contains("level 1: fan-out 12 ")
                            || reason.contains("level 0: fan-out 128 "))
                            && reason.contains("is not a power of two between 2 and 64"),
                        "{what}: {reason}"
                    );
                }
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // The clock grows with the work: re-executing 2^b steps at the
    // slowest speed (10^7 steps/s), times the margin (2): 2^30 steps take
    // 107375 ms (rounded up), 2^0 steps 1 ms.
    assert_eq!(policy.clock_ms(30), 1_500 + 2 * 107_375);
    assert_eq!(policy.clock_ms(0), 1_500 + 2);
    // More time than the policy is fine; the default is the policy's.
    let c = client
        .create(&CreateGame {
            clock_ms: Some(policy.clock_ms(B) + 5_000),
            ..req.clone()
        })
        .expect("creates");
    assert_eq!(c.clock_ms, policy.clock_ms(B) + 5_000);
    let c = client.create(&req).expect("creates");
    assert_eq!(c.clock_ms, policy.clock_ms(B));
    // b = 0 with its steps level (log2 0) is a claim like any other.
    assert_eq!(mswap::rules::levels::validate(&two_levels(0), 0), Ok(()));
    stop(server, dir);
}

#[test]
fn sizes_open_claims_and_opens_per_minute_are_capped() {
    let (elf, input) = example();
    let (server, dir) = serve(
        "caps",
        Config {
            max_program: elf.len(),
            max_input: input.len(),
            max_open_claims: 2,
            max_opens_per_minute: 4,
            ..Config::default()
        },
    );
    let url = server.url();
    let client = Client::new(&url);
    let (a, req) = create(&url, &[]);
    // Too large: 413, whatever else.
    let mut big = req.clone();
    big.input.push(0);
    refused(client.create(&big).map(|_| ()), 413, "input");
    let mut big = req.clone();
    big.program.push(0);
    refused(client.create(&big).map(|_| ()), 413, "program");
    // The client holds the sizes against the referee's policy before it
    // sends them; the referee refuses them itself too, in the same words.
    let raw = |g: &CreateGame| {
        let mut resp = ureq::post(&format!("{url}/games"))
            .config()
            .http_status_as_error(false)
            .build()
            .send(serde_json::to_string(g).unwrap())
            .expect("answers");
        let text = resp.body_mut().read_to_string().unwrap();
        (resp.status().as_u16(), text)
    };
    let (status, text) = raw(&big);
    assert_eq!(status, 413, "{text}");
    let words = format!(
        "the program is {} bytes, over this referee's",
        elf.len() + 1
    );
    assert!(text.contains(&words), "{text}");
    // Two claims open at most.
    client.create(&req).expect("the second claim");
    refused(client.create(&req).map(|_| ()), 429, "claims are open");
    // Four opens a minute from one address: two claims, two disputes.
    client.join(&a.game).expect("a dispute");
    client.join(&a.game).expect("another");
    refused(client.join(&a.game).map(|_| ()), 429, "a minute");
    assert!(client.claim(&a.game, None, 0).is_ok(), "still answering");
    stop(server, dir);
}

#[test]
fn disputes_past_the_running_share_wait_with_stopped_clocks_and_start_in_order() {
    use mswap::referee::Referee;
    let dir = support::scratch("queue");
    let config = || Config {
        policy: Policy {
            clock_base_ms: 400,
            window_base_ms: 60_000,
            min_steps_per_s: u64::MAX / 2,
            ..Policy::default()
        },
        max_running_disputes: 1,
        ..Config::default()
    };
    let (elf, input) = example();
    let p = Program::load(&elf).unwrap();
    let id = {
        let referee = Referee::open(&dir, config()).expect("opens");
        let c = referee
            .create(create_game(true_claim(&p, &input, B), elf, input))
            .expect("creates");
        let joined: Vec<_> = (0..3)
            .map(|_| referee.join(&c.game).expect("joins"))
            .collect();
        assert_eq!(
            joined.iter().map(|j| j.queued).collect::<Vec<_>>(),
            [false, true, true]
        );
        // A queued dispute takes no move, and its clocks do not run.
        std::thread::sleep(std::time::Duration::from_millis(600));
        let v = referee.view(&c.game, 2, None).unwrap();
        assert!(v.queued && v.time_left_ms.challenger == c.clock_ms, "{v:?}");
        let refused = referee.play(
            &c.game,
            2,
            mswap::players::wire::MoveRequest {
                side: Side::Challenger,
                token: joined[1].token.clone(),
                seq: 0,
                mv: mswap::rules::Move::Challenge {
                    root: mswap::hash::keccak(&[b"x"]),
                },
            },
        );
        assert_eq!(refused.err().map(|r| r.status), Some(409));
        // Dispute 1's challenger never moved: its clock ran out, and
        // dispute 2 started then (its clock runs from its start).
        let v1 = referee.view(&c.game, 1, None).unwrap();
        assert!(v1.game.is_over(), "{v1:?}");
        let v2 = referee.view(&c.game, 2, None).unwrap();
        assert!(!v2.queued && v2.time_left_ms.challenger <= c.clock_ms);
        assert!(referee.view(&c.game, 3, None).unwrap().queued);
        c.game
    };
    // A restart replays the queue as it was.
    let referee = Referee::open(&dir, config()).expect("reopens");
    let c = referee.claim(&id).unwrap();
    let phases: Vec<&str> = c.disputes.iter().map(|d| d.phase.as_str()).collect();
    assert_eq!(phases[0], "done");
    assert!(phases[1] == "open" || phases[1] == "done", "{phases:?}");
    assert_eq!(
        phases[2],
        if phases[1] == "done" {
            "open"
        } else {
            "queued"
        }
    );
    assert_eq!(c.status, ClaimStatus::Open, "open while disputes wait");
    drop(referee);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_honest_challenger_queued_behind_stalling_colluders_still_refutes_a_false_claim() {
    let (server, dir) = serve(
        "queued-honest",
        Config {
            policy: Policy {
                clock_base_ms: 2_500,
                window_base_ms: 60_000,
                ..Policy::default()
            },
            max_running_disputes: 2,
            ..Config::default()
        },
    );
    let url = server.url();
    let (created, _) = create(&url, &[Lie::Final]);
    let id = created.game.clone();
    let d = defender(&url, &created, vec![Lie::Final]);
    // The liar's own six disputes come first and use their clocks to the end.
    let colluders: Vec<_> = (0..6)
        .map(|_| challenger(&url, &id, vec![Lie::Silent { after: 0 }]))
        .collect();
    let honest = challenger(&url, &id, vec![]);
    let (n, o) = honest.join().unwrap();
    assert_eq!(n, 7);
    assert_eq!(o.winner(), Side::Challenger, "{o}");
    for c in colluders {
        assert_eq!(c.join().unwrap().1.winner(), Side::Defender);
    }
    // The claim is refuted (the defender's loop ends with the window; not awaited).
    let view = Client::new(&url).claim(&id, None, 0).unwrap();
    assert_eq!(view.status, ClaimStatus::Refuted);
    drop(d);
    stop(server, dir);
}
