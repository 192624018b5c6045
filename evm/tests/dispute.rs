//! A dispute over one state-test case, played over loopback HTTP: the
//! defender claims a wrong post-state root (its machine writes another root
//! than the EVM computed, so every state from that write on differs), the
//! honest challenger wins, and the transcript checks out offline. The test
//! prints the game's size: A-steps, rounds per level, moves.

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::hash::keccak;
use mswap::players::client::play;
use mswap::players::player::{Honest, Liar, Lie, Player, Strategy, claimed_by};
use mswap::players::timeline::Timeline;
use mswap::players::wire::CreateGame;
use mswap::referee::client::Client;
use mswap::referee::{Config, Referee};
use mswap::rules::Side;
use mswap::rules::claim::b_for_steps;
use mswap::rules::levels::two_levels;
use mswap::rules::transcript::verify_transcript;
use mswap_evm::runner::GUEST_ELF;

mod common;
use common::{add11, root_written_at};

#[test]
fn a_defender_claiming_a_wrong_post_state_root_loses_over_http() {
    let (case, input) = add11();
    let program = Program::load(GUEST_ELF).expect("the guest loads");

    // The honest run: the guest prints the fixture's root.
    let mut m = Machine::new(program.initial_state(&input));
    let steps = m.run(u64::MAX);
    let output = String::from_utf8(m.state().output()).expect("text");
    let expected = &case.post().hash;
    assert!(
        output.contains(&format!("state root: {expected}")),
        "{output}"
    );
    let b = b_for_steps(steps);
    let written = root_written_at(&program, &input, steps);

    // The defender's story: the same output but another root, from the
    // write on; the claim's (informational) output hash is of that story.
    let wrong_root = format!("0x{}", "ab".repeat(32));
    let told = output.replace(expected.as_str(), &wrong_root);
    let honest = |lies: Vec<Lie>| -> Box<dyn Strategy> {
        let h = Honest {
            timeline: Timeline::new(&program, &input, b, 3),
        };
        if lies.is_empty() {
            Box::new(h)
        } else {
            Box::new(Liar::new(h, lies))
        }
    };
    let mut ds = honest(vec![Lie::From {
        from: written,
        micro_from: 0,
    }]);
    let mut claim = claimed_by(
        Timeline::new(&program, &input, b, 3).claim(program.hash, keccak(&[&input]), b),
        &mut *ds,
    );
    claim.output = keccak(&[told.as_bytes()]);

    let dir = std::env::temp_dir().join(format!("mswap-evm-dispute-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let referee = Referee::open(&dir, Config::default()).expect("opens");
    let server = referee.serve("127.0.0.1:0").expect("serves");
    let url = server.url();
    let client = Client::new(&url);
    let created = client
        .create(&CreateGame {
            claim,
            program: GUEST_ELF.to_vec(),
            input: input.clone(),
            levels: Some(two_levels(b)),
            clock_ms: None,
            window_ms: None,
        })
        .expect("the referee takes the claim");
    let id = created.game.clone();
    let mut cs = honest(vec![]);
    let view = client.claim(&id, None, 0).expect("view");
    assert!(
        cs.disputes(&view.claim.final_root),
        "the challenger disputes the wrong root"
    );
    let joined = client.join(&id).expect("joins");
    let n = joined.dispute;
    let defender = {
        let url = url.clone();
        let token = created.token.clone();
        let id = id.clone();
        std::thread::spawn(move || {
            let mut player = Player {
                side: Side::Defender,
                strategy: ds,
            };
            play(&Client::new(&url), &id, n, &token, &mut player, &mut |_| {})
        })
    };
    let mut player = Player {
        side: Side::Challenger,
        strategy: cs,
    };
    let c = play(&client, &id, n, &joined.token, &mut player, &mut |_| {})
        .expect("the challenger plays");
    let d = defender
        .join()
        .expect("defender thread")
        .expect("the defender plays");
    assert_eq!(c, d, "both sides see the same outcome");
    assert_eq!(c.winner(), Side::Challenger, "{c:?}");

    let t = client.transcript(&id, n).expect("transcript");
    let checked = verify_transcript(&t, &mswap::elf::image_of(&t.program).unwrap())
        .unwrap_or_else(|e| panic!("transcript: {e}"));
    assert_eq!(checked.winner, Some(Side::Challenger));
    let levels = two_levels(b);
    println!(
        "case {}: {steps} A-steps (b = {b}), the root written at step {written}; \
         levels {:?}; {} moves in the transcript",
        case.id(),
        levels.iter().map(|l| l.log2).collect::<Vec<_>>(),
        t.moves.len()
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
