//! The honest side wins against every dishonest strategy, at every level
//! and at many positions, on in-memory games (the referee's rules without
//! the network); and every finished game's transcript checks out offline.

mod support;

use mswap::elf::Program;
use mswap::game::claim::make_claim;
use mswap::game::levels::{Level, two_levels, with_strides};
use mswap::game::local::{play, transcript};
use mswap::game::player::{Lie, Place, Player, claimed_by};
use mswap::game::rules::{Game, Outcome, Phase, Side};
use mswap::game::transcript::verify_transcript;
use support::{example, strategy};

/// Plays one game; returns the winner (None: no dispute) after checking the transcript.
fn game(
    elf: &[u8],
    input: &[u8],
    b: u32,
    levels: Vec<Level>,
    d_lies: &[Lie],
    c_lies: &[Lie],
) -> Option<Side> {
    let p = Program::load(elf).unwrap();
    let mut d = Player {
        side: Side::Defender,
        strategy: strategy(&p, input, b, d_lies),
    };
    let mut c = Player {
        side: Side::Challenger,
        strategy: strategy(&p, input, b, c_lies),
    };
    let claim = claimed_by(make_claim(&p, input, b), &mut *d.strategy);
    let start = Game::new(claim, elf, input, levels, 10_000, 1_000).unwrap();
    let mut g = start.clone();
    let log = play(&mut g, &mut d, &mut c, 10_000);
    if matches!(g.phase, Phase::Open) {
        return None;
    }
    let t = transcript("test", &start, elf, input, &log, &g);
    let checked = verify_transcript(&t).unwrap_or_else(|e| panic!("transcript: {e}"));
    assert_eq!(checked.game.phase, g.phase);
    // Rounds: one midpoint and one verdict per halving.
    let rounds = log
        .iter()
        .filter(|a| a.result.is_ok() && matches!(a.mv, mswap::game::rules::Move::Midpoint { .. }))
        .count();
    assert!(rounds as u32 <= b + mswap::micro::LOG2_USTEPS);
    g.outcome().map(Outcome::winner)
}

#[test]
fn honest_players_do_not_dispute_a_correct_claim() {
    let (elf, input) = example();
    assert_eq!(game(&elf, &input, 5, two_levels(5), &[], &[]), None);
}

#[test]
fn a_defender_lying_from_any_step_and_micro_step_loses() {
    let (elf, input) = example();
    for from in 1..=19u64 {
        for micro_from in [0u64, 1, 2, 17, 30, 100, 2046, 2047] {
            let w = game(
                &elf,
                &input,
                5,
                two_levels(5),
                &[Lie::From { from, micro_from }],
                &[],
            );
            assert_eq!(
                w,
                Some(Side::Challenger),
                "defender lying from step {from} micro-step {micro_from}"
            );
        }
    }
}

#[test]
fn a_defender_with_a_wrong_final_root_or_wrong_midpoints_loses() {
    let (elf, input) = example();
    assert_eq!(
        game(&elf, &input, 5, two_levels(5), &[Lie::Final], &[]),
        Some(Side::Challenger)
    );
    for level in 0..2usize {
        for position in [1u64, 2, 3, 8, 16, 24, 31, 512, 1024, 1536, 2047] {
            let lies = [Lie::Final, Lie::At(Place { level, position })];
            assert_eq!(
                game(&elf, &input, 5, two_levels(5), &lies, &[]),
                Some(Side::Challenger),
                "at {level}:{position}"
            );
        }
    }
    for seed in 1..40 {
        assert_eq!(
            game(&elf, &input, 5, two_levels(5), &[Lie::Random(seed)], &[]),
            Some(Side::Challenger),
            "random {seed}"
        );
    }
}

#[test]
fn a_lying_challenger_loses() {
    let (elf, input) = example();
    assert_eq!(
        game(&elf, &input, 5, two_levels(5), &[], &[Lie::DisputeCorrect]),
        Some(Side::Defender)
    );
    for level in 0..2usize {
        for position in [1u64, 2, 4, 8, 16, 24, 31, 512, 1024, 1536, 2047] {
            let w = game(
                &elf,
                &input,
                5,
                two_levels(5),
                &[],
                &[Lie::At(Place { level, position })],
            );
            assert_eq!(
                w,
                Some(Side::Defender),
                "challenger lying at {level}:{position}"
            );
        }
    }
    for seed in 1..40 {
        assert_eq!(
            game(&elf, &input, 5, two_levels(5), &[], &[Lie::Random(seed)]),
            Some(Side::Defender),
            "random {seed}"
        );
    }
}

#[test]
fn bad_proofs_and_silence_lose() {
    let (elf, input) = example();
    // A lying defender's broken proof is refused; the honest challenger's proof wins.
    assert_eq!(
        game(
            &elf,
            &input,
            5,
            two_levels(5),
            &[Lie::Final, Lie::BadProof],
            &[]
        ),
        Some(Side::Challenger)
    );
    // A lying challenger with a broken proof: the honest defender proves.
    assert_eq!(
        game(
            &elf,
            &input,
            5,
            two_levels(5),
            &[],
            &[Lie::DisputeCorrect, Lie::BadProof]
        ),
        Some(Side::Defender)
    );
    // Silence at any point loses on time.
    for after in 0..40 {
        assert_eq!(
            game(
                &elf,
                &input,
                5,
                two_levels(5),
                &[Lie::Final, Lie::Silent { after }],
                &[]
            ),
            Some(Side::Challenger),
            "defender silent after {after}"
        );
        let w = game(
            &elf,
            &input,
            5,
            two_levels(5),
            &[],
            &[Lie::DisputeCorrect, Lie::Silent { after: after + 1 }],
        );
        assert_eq!(
            w,
            Some(Side::Defender),
            "challenger silent after {}",
            after + 1
        );
    }
}

#[test]
fn three_levels_play_the_same_way() {
    let (elf, input) = example();
    let levels = with_strides(5, &[2]);
    assert_eq!(levels.len(), 3);
    for from in 1..=19u64 {
        let w = game(
            &elf,
            &input,
            5,
            levels.clone(),
            &[Lie::From {
                from,
                micro_from: 7,
            }],
            &[],
        );
        assert_eq!(
            w,
            Some(Side::Challenger),
            "three levels, defender lying from {from}"
        );
    }
    for position in [1u64, 2, 3, 4] {
        for level in 0..3usize {
            let w = game(
                &elf,
                &input,
                5,
                levels.clone(),
                &[],
                &[Lie::At(Place { level, position })],
            );
            assert_eq!(
                w,
                Some(Side::Defender),
                "three levels, challenger lying at {level}:{position}"
            );
        }
    }
    // Four levels: strides of 8 and 2 instructions.
    let four = with_strides(5, &[3, 1]);
    assert_eq!(four.len(), 4);
    assert_eq!(
        game(
            &elf,
            &input,
            5,
            four,
            &[Lie::From {
                from: 9,
                micro_from: 0
            }],
            &[]
        ),
        Some(Side::Challenger)
    );
}
