//! Every committed example guest (C and Rust) in a dispute: a defender
//! whose machine diverges in the middle of the run loses to the honest
//! challenger, at an instruction of the guest's own code; the transcript
//! checks out offline. (`qemu_diff` runs the same guests against qemu and
//! `micro_machine` double-checks every step of them.)

mod support;

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::players::local::{play, transcript};
use mswap::players::player::{Lie, Player, claimed_by};
use mswap::rules::levels::two_levels;
use mswap::rules::transcript::verify_transcript;
use mswap::rules::{DisputeState, Outcome, Phase, Side};
use support::{guests, strategy};

#[test]
fn every_guest_loses_a_lying_defender_its_dispute() {
    let all = guests();
    for need in ["hello", "sha256", "rust_sha256", "rust_json", "rust_panic"] {
        assert!(
            all.iter().any(|(n, _, _)| n == need),
            "guest {need} is missing"
        );
    }
    for (name, elf, input) in all {
        // The long benchmark guests keep their small inputs; the run length
        // decides b.
        let p = Program::load(&elf).expect("loads");
        let mut m = Machine::new(p.initial_state(&input));
        let steps = m.run(5_000_000);
        let b = 64 - steps.max(2).leading_zeros();
        let lie = Lie::From {
            from: steps / 2,
            micro_from: 3,
        };
        let mut d = Player {
            side: Side::Defender,
            strategy: strategy(&p, &input, b, &[lie]),
        };
        let mut c = Player {
            side: Side::Challenger,
            strategy: strategy(&p, &input, b, &[]),
        };
        let claim = claimed_by(p.claim(&input, b), &mut *d.strategy);
        let start = DisputeState::new(
            claim,
            &elf,
            &input,
            &p.image(),
            two_levels(b),
            10_000,
            1_000,
        )
        .expect("game");
        let mut g = start.clone();
        let log = play(&mut g, &mut d, &mut c, 10_000);
        assert!(
            !matches!(g.phase, Phase::Open),
            "{name}: the game did not end"
        );
        assert_eq!(
            g.outcome().map(Outcome::winner),
            Some(Side::Challenger),
            "{name}: {:?}",
            g.phase
        );
        let t = transcript(&name, &start, &elf, &input, &log, &g);
        let checked = verify_transcript(&t, &mswap::elf::image_of(&t.program).unwrap())
            .unwrap_or_else(|e| panic!("{name}: transcript: {e}"));
        assert_eq!(checked.game.phase, g.phase, "{name}");
    }
}
