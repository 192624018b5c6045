//! A committed game transcript checked with this crate alone (no ELF
//! loader, no machine, no referee): the transcript of a real dispute over
//! `hello.elf` and the image of its program (`fixtures/README.md` says how
//! both were made) replay to the recorded result, and copies changed in
//! one place are refused with an error naming that place.

// An integration test is a crate of its own: the verifier's other
// dependencies (hashing, hex, error derives) are not its business.
#![allow(unused_crate_dependencies)]

use mswap_verify::hash::Hash;
use mswap_verify::layout::image::{Image, ImageError};
use mswap_verify::proof::error::VerifyError;
use mswap_verify::rules::transcript::{
    Transcript, TranscriptError, read_transcript, verify_transcript,
};
use mswap_verify::rules::{Move, MoveError, Outcome, Phase, SetupError, Side};
use std::path::PathBuf;

/// A file of `verify/tests/fixtures/`.
fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The committed transcript.
fn transcript() -> Transcript {
    read_transcript(&fixture("hello.transcript.json")).expect("the fixture reads as a transcript")
}

/// The committed image of the transcript's program, its witness checked
/// against its root.
fn image() -> Image {
    let image: Image =
        serde_json::from_slice(&fixture("hello.image.json")).expect("the image fixture reads");
    Image::checked(image.root, image.mem, image.regs, image.words)
        .expect("the image's witness hashes to its root")
}

/// The error of a transcript that must be refused.
fn refused(t: &Transcript) -> TranscriptError {
    match verify_transcript(t, &image()) {
        Ok(c) => panic!("a changed transcript was accepted: {c:?}"),
        Err(e) => e,
    }
}

/// The number of the last move, the final step proof.
fn proof_move(t: &Transcript) -> usize {
    let last = t.moves.len() - 1;
    assert!(
        matches!(t.moves[last].mv, Move::Proof { .. }),
        "the fixture's game ends with a step proof: {:?}",
        t.moves[last].mv
    );
    last
}

#[test]
fn the_committed_transcript_checks_out() {
    let t = transcript();
    let checked = verify_transcript(&t, &image()).expect("the committed transcript verifies");
    // A lying defender against an honest challenger, settled by the step
    // proof, as recorded.
    assert_eq!(checked.winner, Some(Side::Challenger));
    assert!(!checked.by_timeout, "settled by the proof, not a clock");
    assert!(matches!(checked.last_phase, Some(Phase::Prove(_))));
    assert_eq!(checked.game.seq, t.moves.len() as u64);
    assert!(matches!(
        t.outcome,
        Some(Outcome::Proof {
            winner: Side::Challenger,
            ..
        })
    ));
    assert_eq!(checked.game.outcome(), t.outcome.as_ref());
    // The game really bisected: both levels, every move in order.
    assert!(t.moves.len() >= 10, "{} moves", t.moves.len());
    for (i, r) in t.moves.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
    }
}

#[test]
fn a_wrong_root_is_refused() {
    let mut t = transcript();
    let last = proof_move(&t);
    // The root the last pick agreed on (the end of the part before the
    // picked one), which the proof starts from.
    let (picked, part) = (0..last)
        .rev()
        .find_map(|i| match t.moves[i].mv {
            Move::Pick { part, .. } if part > 0 => Some((i, part as usize)),
            _ => None,
        })
        .expect("a pick past the first part before the proof");
    let last_level = t.levels.len() - 1;
    assert!(matches!(t.moves[picked].mv, Move::Pick { level, .. } if level == last_level));
    let wrong = Hash([0x11; 32]);
    let Move::Dissect { roots, .. } = &mut t.moves[picked - 1].mv else {
        panic!("a pick answers a dissection")
    };
    roots[part - 1] = wrong;
    match refused(&t) {
        TranscriptError::Move {
            seq,
            name: "proof",
            error:
                MoveError::Proof(VerifyError::RootMismatch {
                    expected, computed, ..
                }),
            ..
        } => {
            assert_eq!(seq, last as u64);
            assert_eq!(expected, wrong, "the error names the changed root");
            assert_ne!(computed, wrong);
        }
        e => panic!("not the proof's root mismatch: {e}"),
    }
}

#[test]
fn another_format_version_is_refused_by_name() {
    let mut t = transcript();
    t.version = 1;
    let e = refused(&t);
    assert!(
        matches!(
            e,
            TranscriptError::Version {
                found: 1,
                expected: 2
            }
        ),
        "{e}"
    );
    // A version 1 file (no version field, binary moves) is named as such
    // when read, not refused for its first unknown move.
    let text = String::from_utf8(fixture("hello.transcript.json")).unwrap();
    let old = text.replacen("\"version\": 2,", "", 1);
    assert_ne!(old, text);
    let e = read_transcript(old.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("transcript format version 1"), "{e}");
}

#[test]
fn a_cut_move_list_is_refused() {
    // Without its final proof: the moves end in an unfinished game, not
    // in the recorded result.
    let mut t = transcript();
    t.moves.pop();
    let e = refused(&t);
    assert!(
        matches!(&e, TranscriptError::Outcome { replayed, .. } if replayed == "an unfinished game"),
        "{e}"
    );
    assert!(e.to_string().contains("result:"), "{e}");

    // A move taken out of the middle: the next one is out of sequence.
    let mut t = transcript();
    t.moves.remove(5);
    match refused(&t) {
        TranscriptError::Move {
            seq: 6,
            error:
                MoveError::Seq {
                    expected: 5,
                    found: 6,
                },
            ..
        } => {}
        e => panic!("not move 6 out of sequence: {e}"),
    }
}

#[test]
fn a_wrong_final_step_proof_is_refused() {
    let mut t = transcript();
    let last = proof_move(&t);
    let Move::Proof { proof } = &mut t.moves[last].mv else {
        unreachable!()
    };
    // One word of the micro-machine's state before the step: the proof
    // no longer starts from the root both sides agreed on.
    proof.q[2] ^= 1;
    let e = refused(&t);
    match &e {
        TranscriptError::Move {
            seq,
            side: Side::Challenger,
            name: "proof",
            error: MoveError::Proof(VerifyError::RootMismatch { expected, computed }),
        } => {
            assert_eq!(*seq, last as u64);
            assert_ne!(expected, computed);
            assert!(
                e.to_string().contains("invalid proof: root mismatch"),
                "{e}"
            );
        }
        e => panic!("not the proof refused: {e}"),
    }
}

#[test]
fn a_wrong_program_input_or_image_is_refused() {
    // The program is named by its hash in the claim.
    let mut t = transcript();
    let n = t.program.len() / 2;
    t.program[n] ^= 0x80;
    assert!(matches!(
        refused(&t),
        TranscriptError::Setup(SetupError::ProgramHash { .. })
    ));
    // So is the input.
    let mut t = transcript();
    t.input.push(b'x');
    assert!(matches!(
        refused(&t),
        TranscriptError::Setup(SetupError::InputHash { .. })
    ));
    // An image whose witness is not its root's.
    let good = image();
    let e = Image::checked(good.root, good.regs, good.mem, good.words)
        .expect_err("a swapped witness does not hash to the root");
    assert!(matches!(e, ImageError::Witness { stated, .. } if stated == good.root));
    // Not a transcript at all.
    let mut t = transcript();
    t.kind = "proof".into();
    assert_eq!(refused(&t), TranscriptError::Type("proof".into()));
}

#[test]
fn the_fixture_reads_strictly() {
    // An unknown field is refused, not ignored.
    let text = String::from_utf8(fixture("hello.transcript.json")).expect("UTF-8");
    let extra = text.replacen('{', "{\"extra\": 1, ", 1);
    let err = read_transcript(extra.as_bytes()).expect_err("an unknown field is refused");
    assert!(err.to_string().contains("extra"), "{err}");
}
