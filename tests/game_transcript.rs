//! The example transcript in `proofs/` re-verifies offline and is what the
//! current code makes; every kind of tampering with a transcript is caught.

#[allow(dead_code)]
#[path = "../examples/export_proofs.rs"]
mod export;

use mswap::game::rules::{Move, Outcome, Side};
use mswap::game::transcript::{Transcript, TranscriptError, verify_transcript};
use std::path::Path;

fn load() -> Transcript {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs/transcript.json");
    serde_json::from_slice(&std::fs::read(p).expect("proofs/transcript.json")).expect("parses")
}

#[test]
fn the_example_transcript_verifies_and_is_up_to_date() {
    let t = load();
    let checked = verify_transcript(&t).expect("verifies");
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
    f(&mut t);
    match verify_transcript(&t) {
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
        .find(|&i| matches!(t.moves[i].mv, Move::Midpoint { .. }))
        .expect("a midpoint");
    rejects(
        "a changed midpoint root flips a verdict",
        |t| {
            // Change the root the challenger agreed with: the replayed game then
            // ends somewhere else and the recorded proof no longer fits.
            for m in t.moves.iter_mut() {
                if let Move::Midpoint { root, .. } = &mut m.mv {
                    root.0[0] ^= 1;
                }
            }
        },
        |e| matches!(e, E::Move { .. } | E::Outcome { .. }),
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
    assert_eq!(verify_transcript(&t).expect("verifies").winner, None);
}
