//! The example transcript in `proofs/` re-verifies offline and is what the
//! current code makes; every kind of tampering with a transcript is caught.

#[allow(dead_code)]
#[path = "../examples/export_proofs.rs"]
mod export;
mod support;

use mswap::elf::image_of;
use mswap::rules::transcript::{Transcript, TranscriptError, verify_transcript};
use mswap::rules::{Move, Outcome, Side};
use support::cli::mswap;

fn load() -> Transcript {
    let p = support::proofs_dir().join("transcript.json");
    serde_json::from_slice(&std::fs::read(p).expect("proofs/transcript.json")).expect("parses")
}

#[test]
fn the_example_transcript_verifies_and_is_up_to_date() {
    let t = load();
    let image = image_of(&t.program).expect("the program loads");
    let checked = verify_transcript(&t, &image).expect("verifies");
    assert_eq!(checked.winner, Some(Side::Challenger));
    assert!(!checked.by_timeout);
    let again = export::example_transcript(&t.program, &t.input);
    assert_eq!(
        again, t,
        "proofs/transcript.json is stale: run `cargo run --release --example export_proofs`"
    );
}

fn rejects(what: &str, f: impl Fn(&mut Transcript), want: impl Fn(&TranscriptError) -> bool) {
    let mut t = load();
    // The image of the program the claim names: a tampered program is
    // refused by its hash, not loaded.
    let image = image_of(&t.program).expect("the program loads");
    f(&mut t);
    match verify_transcript(&t, &image) {
        Ok(c) => panic!("{what}: accepted (winner {:?})", c.winner),
        Err(e) => assert!(want(&e), "{what}: unexpected error {e}"),
    }
}

#[test]
fn tampered_transcripts_are_rejected() {
    use TranscriptError as E;
    let t = load();
    let n = t.moves.len();
    let mid = (0..n)
        .find(|&i| matches!(t.moves[i].mv, Move::Dissect { .. }))
        .expect("a dissection");
    rejects(
        "changed roots flip a pick",
        |t| {
            // Change the roots the challenger agreed with: the replayed game then
            // ends somewhere else and the recorded proof no longer fits.
            for m in t.moves.iter_mut() {
                if let Move::Dissect { roots, .. } = &mut m.mv {
                    for r in roots {
                        r.0[0] ^= 1;
                    }
                }
            }
        },
        |e| matches!(e, E::Move { .. } | E::Outcome { .. }),
    );
    // The last root the challenger agreed with (the root before the part
    // it picked) is where the proof starts. (An earlier agreed root,
    // superseded by later ones, has no bearing on the result: changing it
    // makes another valid game with the same end.)
    let (agreed, part) = (0..n - 1)
        .rev()
        .find_map(|i| match (&t.moves[i].mv, &t.moves[i + 1].mv) {
            (Move::Dissect { .. }, Move::Pick { part, .. }) if *part > 0 => {
                Some((i, *part as usize))
            }
            _ => None,
        })
        .expect("a dissection the challenger agreed with in part");
    rejects(
        "one changed root: the last the challenger agreed with",
        |t| {
            if let Move::Dissect { roots, .. } = &mut t.moves[agreed].mv {
                roots[part - 1].0[31] ^= 0x80;
            }
        },
        |e| matches!(e, E::Move { name: "proof", .. }),
    );
    rejects(
        "a dissection with a root more",
        |t| {
            if let Move::Dissect { roots, .. } = &mut t.moves[mid].mv {
                roots.push(roots[0]);
            }
        },
        |e| {
            matches!(
                e,
                E::Move {
                    error: mswap::rules::MoveError::Roots { found: 2, .. },
                    ..
                }
            )
        },
    );
    rejects(
        "a pick of a part the round does not have",
        |t| {
            if let Move::Pick { part, .. } = &mut t.moves[mid + 1].mv {
                *part = 2;
            }
        },
        |e| {
            matches!(
                e,
                E::Move {
                    error: mswap::rules::MoveError::Part { part: 2, parts: 2 },
                    ..
                }
            )
        },
    );
    rejects(
        "another format version",
        |t| t.version = 1,
        |e| matches!(e, E::Version { found: 1, .. }),
    );
    rejects(
        "a changed proof",
        |t| {
            if let Some(Move::Proof { proof }) = t.moves.last_mut().map(|m| &mut m.mv) {
                proof.q[3] ^= 1;
            }
        },
        |e| matches!(e, E::Move { name: "proof", .. }),
    );
    rejects(
        "a removed move",
        |t| {
            t.moves.remove(mid);
        },
        |e| matches!(e, E::Move { .. }),
    );
    rejects(
        "reordered moves",
        |t| {
            t.moves.swap(mid, mid + 1);
        },
        |e| matches!(e, E::Move { .. }),
    );
    rejects(
        "a move by the wrong side",
        |t| {
            t.moves[mid].side = Side::Challenger;
        },
        |e| matches!(e, E::Move { .. }),
    );
    rejects(
        "a changed outcome",
        |t| {
            t.outcome = Some(Outcome::Timeout {
                winner: Side::Defender,
            });
        },
        |e| matches!(e, E::Outcome { .. }),
    );
    rejects(
        "a changed winner",
        |t| {
            if let Some(Outcome::Proof { winner, .. }) = &mut t.outcome {
                *winner = Side::Defender;
            }
        },
        |e| matches!(e, E::Outcome { .. }),
    );
    rejects(
        "a changed program",
        |t| t.program[200] ^= 1,
        |e| matches!(e, E::Setup(_)),
    );
    rejects(
        "a changed input",
        |t| t.input.push(0),
        |e| matches!(e, E::Setup(_)),
    );
    rejects(
        "a changed claim",
        |t| t.claim.b += 1,
        |e| matches!(e, E::Setup(_)),
    );
    rejects(
        "changed levels",
        |t| t.levels.reverse(),
        |e| matches!(e, E::Setup(_)),
    );
    // (A different claimed final root alone is not caught: the recorded moves
    // are then a valid game on that claim, which the defender lost just the
    // same. A transcript shows who won the game it records, not more.)
    rejects(
        "not a transcript",
        |t| t.kind = "step-proof".into(),
        |e| matches!(e, E::Type(_)),
    );
    // An unfinished game's transcript verifies, with no winner.
    let mut t = load();
    t.moves.truncate(n - 1);
    t.outcome = None;
    assert_eq!(
        verify_transcript(&t, &image_of(&t.program).unwrap())
            .expect("verifies")
            .winner,
        None
    );
}

#[test]
fn mswap_verify_reports_a_transcript_and_refuses_a_tampered_one() {
    let path = support::proofs_dir().join("transcript.json");
    let out = mswap(&["verify", path.to_str().expect("a UTF-8 path")], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // b = 5 rounds of A-steps and a of micro-steps, two moves each, and
    // the challenge and the proof.
    let rounds = 5 + mswap::micro::LOG2_USTEPS;
    let moves = format!(
        "moves:       {} ({rounds} bisection rounds)",
        2 * rounds + 2
    );
    for want in [
        "valid transcript of game",
        moves.as_str(),
        "disputed:    micro-step ",
        "result:      challenger wins",
        "re-checked offline",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    // The same file with the winner changed.
    let mut t = load();
    if let Some(Outcome::Proof { winner, .. }) = &mut t.outcome {
        *winner = Side::Defender;
    }
    let dir = std::env::temp_dir().join(format!("mswap-transcript-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&t).unwrap()).unwrap();
    let out = mswap(&["verify", bad.to_str().expect("a UTF-8 path")], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("invalid transcript: result:"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn transcripts_are_read_strictly_and_levels_must_start_with_steps() {
    use mswap::rules::levels::{Level, LevelKind};
    use mswap::rules::transcript::read_transcript;
    let text = serde_json::to_string(&load()).unwrap();
    assert!(read_transcript(text.as_bytes()).is_ok());
    // A key given twice (serde_json alone keeps the last) and an unknown field.
    let dup = text.replacen("\"game\":", "\"game\":\"other\",\"game\":", 1);
    let e = read_transcript(dup.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("duplicate key"), "{e}");
    let extra = text.replacen("\"game\":", "\"judge\":1,\"game\":", 1);
    assert!(read_transcript(extra.as_bytes()).is_err());
    // The offline check applies the referee's level rule: no list may start
    // with a micro level (it would start from a bare root(S_0)).
    rejects(
        "a micro level first",
        |t| {
            t.levels.insert(
                0,
                Level {
                    kind: LevelKind::Micro,
                    log2: 0,
                    k: 2,
                },
            )
        },
        |e| matches!(e, TranscriptError::Setup(_)) && e.to_string().contains("steps level"),
    );
    // Which results rest on the referee's clock.
    let t = load();
    let checked = verify_transcript(&t, &image_of(&t.program).unwrap()).unwrap();
    let notes = checked.clock_notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("taken as given"), "{notes:?}");
}
