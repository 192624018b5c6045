//! k-ary bisection under the rules, with made-up roots: a defender that
//! tells the truth up to a step and lies after it, against a challenger
//! that picks the first part whose root differs from its own, ends at the
//! first lie at every fan-out; malformed moves are refused and change
//! nothing.

use super::*;
use crate::micro::LOG2_USTEPS;
use crate::rules::levels::{default_levels, kary_levels, with_strides};

/// A made-up root.
fn h(tag: &str, x: u64) -> Hash {
    keccak(&[tag.as_bytes(), &x.to_le_bytes()])
}

/// The true root at an absolute position of a level kind (ends of a micro
/// level are the referee's attached roots, never asked for).
fn truth(kind: LevelKind, x: u64) -> Hash {
    match kind {
        LevelKind::Steps => h("s", x),
        LevelKind::Micro => h("m", x),
    }
}

/// A defender true up to A-step `t0` and micro-step `j0`, lying after.
struct Liar {
    t0: u64,
    j0: u64,
}

impl Liar {
    fn root(&self, kind: LevelKind, x: u64) -> Hash {
        match kind {
            LevelKind::Steps if x <= self.t0 => truth(kind, x),
            LevelKind::Steps => h("lie-s", x),
            LevelKind::Micro if x <= self.j0 => truth(kind, x),
            LevelKind::Micro => h("lie-m", x),
        }
    }
}

fn claim(b: u32, liar: &Liar) -> Claim {
    Claim {
        program: h("program", 0),
        input: h("input", 0),
        b,
        final_root: liar.root(LevelKind::Steps, 1 << b),
        status: String::new(),
        output: Hash::default(),
        halted_after: None,
    }
}

fn game(levels: Vec<Level>, liar: &Liar) -> DisputeState {
    let b = levels
        .iter()
        .filter(|l| l.kind == LevelKind::Steps)
        .map(|l| l.log2)
        .sum();
    DisputeState::with_root(claim(b, liar), levels, truth(LevelKind::Steps, 0), 1000, 0)
        .expect("the levels are valid")
}

fn bisection(g: &DisputeState) -> &Bisection {
    match &g.phase {
        Phase::Bisect(b) => b,
        p => panic!("not bisecting: {p:?}"),
    }
}

/// The defender's dissection of the current round.
fn dissect(g: &DisputeState, liar: &Liar) -> Move {
    let b = bisection(g);
    Move::Dissect {
        level: b.level,
        position: b.first(),
        roots: b
            .positions()
            .map(|x| liar.root(b.kind, b.absolute(x)))
            .collect(),
    }
}

/// The honest challenger's pick: the first part whose end root differs.
fn pick(g: &DisputeState) -> Move {
    let b = bisection(g);
    let part = b
        .roots
        .iter()
        .zip(b.positions())
        .position(|(r, x)| *r != truth(b.kind, b.absolute(x)))
        .unwrap_or(b.roots.len()) as u64;
    Move::Pick {
        level: b.level,
        position: b.first(),
        part,
    }
}

/// Plays to the proof; returns the rounds played and the parts of each.
fn play(g: &mut DisputeState, liar: &Liar) -> Vec<u64> {
    let mut parts = Vec::new();
    g.apply(Side::Challenger, 0, &Move::Challenge { root: h("x", 0) }, 1)
        .unwrap();
    while let Phase::Bisect(b) = &g.phase {
        parts.push(b.parts());
        assert_eq!(g.turn, Side::Defender);
        let mv = dissect(g, liar);
        g.apply(Side::Defender, g.seq, &mv, 2).unwrap();
        assert_eq!(g.turn, Side::Challenger);
        let mv = pick(g);
        g.apply(Side::Challenger, g.seq, &mv, 3).unwrap();
    }
    parts
}

/// The disputed step the game must end at.
fn expected(liar: &Liar, b: u32) -> Disputed {
    let a_end = 1u64 << LOG2_USTEPS;
    let _ = b;
    Disputed {
        t: liar.t0,
        j: liar.j0,
        root_before: if liar.j0 == 0 {
            attach_root(&truth(LevelKind::Steps, liar.t0))
        } else {
            truth(LevelKind::Micro, liar.j0)
        },
        root_after: if liar.j0 + 1 == a_end {
            attach_root(&liar.root(LevelKind::Steps, liar.t0 + 1))
        } else {
            liar.root(LevelKind::Micro, liar.j0 + 1)
        },
    }
}

#[test]
fn every_fan_out_finds_the_first_lie() {
    let a_end = 1u64 << LOG2_USTEPS;
    for k in [2, 4, 8, 16, 32] {
        // b = 7, 10, 12: log2 not always a multiple of log2 k, so the last
        // round of a level has fewer parts.
        for b in [0u32, 1, 7, 10, 12] {
            let n = 1u64 << b;
            for t0 in [0, n / 3, n / 2, n.saturating_sub(1)] {
                for j0 in [0, 1, a_end / 2 - 1, a_end - 1] {
                    let liar = Liar { t0, j0 };
                    let levels = kary_levels(b, k, k);
                    let rounds: u32 = levels.iter().map(Level::rounds).sum();
                    let mut g = game(levels.clone(), &liar);
                    let parts = play(&mut g, &liar);
                    assert_eq!(parts.len() as u32, rounds, "k {k} b {b}");
                    assert_eq!(g.seq, 1 + 2 * rounds as u64);
                    // Each level's rounds multiply to its units.
                    let steps_rounds = levels[0].rounds() as usize;
                    assert_eq!(parts[..steps_rounds].iter().product::<u64>(), n);
                    assert_eq!(parts[steps_rounds..].iter().product::<u64>(), a_end);
                    assert!(parts.iter().all(|&p| p >= 2 && p <= k as u64));
                    match &g.phase {
                        Phase::Prove(d) => {
                            assert_eq!(*d, expected(&liar, b), "k {k} b {b} t0 {t0} j0 {j0}")
                        }
                        p => panic!("k {k} b {b}: {p:?}"),
                    }
                    assert_eq!(g.turn, Side::Defender);
                }
            }
        }
    }
}

#[test]
fn the_last_round_has_fewer_parts() {
    // 2^10 with k = 8: rounds of 8, 8, 8 and 2 parts.
    let liar = Liar { t0: 700, j0: 3 };
    let mut levels = kary_levels(10, 8, 2);
    levels[1] = Level::micro(LOG2_USTEPS);
    let mut g = game(levels, &liar);
    let parts = play(&mut g, &liar);
    assert_eq!(&parts[..4], &[8, 8, 8, 2]);
    assert_eq!(parts.len(), 4 + LOG2_USTEPS as usize);
    assert!(matches!(g.phase, Phase::Prove(_)));
}

#[test]
fn mixed_levels_and_strides() {
    // Strides: [steps 7 k=4, steps 5 k=32, micro a k=16].
    let mut levels = with_strides(12, &[5]);
    levels[0].k = 4;
    levels[1].k = 32;
    levels[2].k = 16;
    for t0 in [0, 1, 31, 32, 1000, 4095] {
        let liar = Liar { t0, j0: 5 };
        let mut g = game(levels.clone(), &liar);
        let parts = play(&mut g, &liar);
        assert_eq!(
            parts.len() as u32,
            levels.iter().map(Level::rounds).sum::<u32>()
        );
        match &g.phase {
            Phase::Prove(d) => assert_eq!(*d, expected(&liar, 12)),
            p => panic!("{p:?}"),
        }
    }
}

#[test]
fn a_defender_true_to_the_end_is_picked_at_the_last_part() {
    // The defender lies only at the final root: the challenger agrees with
    // every root and picks the last part each round.
    let n = 1u64 << 9;
    let liar = Liar {
        t0: n - 1,
        j0: (1 << LOG2_USTEPS) - 1,
    };
    let mut g = game(kary_levels(9, 8, 8), &liar);
    g.apply(Side::Challenger, 0, &Move::Challenge { root: h("x", 0) }, 1)
        .unwrap();
    while let Phase::Bisect(b) = &g.phase {
        let last = b.parts() - 1;
        let mv = dissect(&g, &liar);
        g.apply(Side::Defender, g.seq, &mv, 2).unwrap();
        let mv = pick(&g);
        assert!(matches!(mv, Move::Pick { part, .. } if part == last));
        g.apply(Side::Challenger, g.seq, &mv, 3).unwrap();
    }
    assert_eq!(
        g.phase,
        Phase::Prove(expected(&liar, 9)),
        "the last A-step's last micro-step"
    );
}

/// A game of `b` with fan-out `k` after the challenge.
fn challenged(b: u32, k: u32, liar: &Liar) -> DisputeState {
    let mut g = game(kary_levels(b, k, k), liar);
    g.apply(Side::Challenger, 0, &Move::Challenge { root: h("x", 0) }, 1)
        .unwrap();
    g
}

#[test]
fn a_wrong_number_of_roots_is_refused() {
    let liar = Liar { t0: 5, j0: 5 };
    for (k, b) in [(2, 10), (4, 10), (16, 10), (32, 3)] {
        let g0 = challenged(b, k, &liar);
        let want = (k as u64).min(1 << b) as usize - 1;
        let Move::Dissect {
            level,
            position,
            roots,
        } = dissect(&g0, &liar)
        else {
            unreachable!()
        };
        assert_eq!(roots.len(), want);
        for found in [0, want - 1, want + 1, 64] {
            let mut g = g0.clone();
            let mv = Move::Dissect {
                level,
                position,
                roots: vec![h("r", 0); found],
            };
            assert_eq!(
                g.apply(Side::Defender, g.seq, &mv, 2),
                Err(MoveError::Roots {
                    expected: want,
                    found
                })
            );
            assert_eq!(g, g0, "nothing changed");
        }
    }
    assert_eq!(
        MoveError::Roots {
            expected: 15,
            found: 3
        }
        .to_string(),
        "wrong number of roots: this round has 16 parts, so 15 roots, the move has 3"
    );
}

#[test]
fn a_part_out_of_range_is_refused() {
    let liar = Liar { t0: 5, j0: 5 };
    // 2^5 with k = 8: 8 parts, then 4.
    let mut g = challenged(5, 8, &liar);
    let mv = dissect(&g, &liar);
    g.apply(Side::Defender, 1, &mv, 2).unwrap();
    let g0 = g.clone();
    for part in [8, 9, u64::MAX] {
        let mv = Move::Pick {
            level: 0,
            position: 4,
            part,
        };
        assert_eq!(
            g.apply(Side::Challenger, 2, &mv, 3),
            Err(MoveError::Part { part, parts: 8 })
        );
        assert_eq!(g, g0);
    }
    // Part 1 of 8: [4, 8]; then 4 parts of one unit.
    let mv = Move::Pick {
        level: 0,
        position: 4,
        part: 1,
    };
    g.apply(Side::Challenger, 2, &mv, 3).unwrap();
    let b = bisection(&g);
    assert_eq!(
        (b.lo, b.hi, b.parts(), b.step(), b.first()),
        (4, 8, 4, 1, 5)
    );
    assert_eq!(b.lo_root, liar.root(LevelKind::Steps, 4));
    assert_eq!(b.hi_root, liar.root(LevelKind::Steps, 8));
    let mv = dissect(&g, &liar);
    g.apply(Side::Defender, 3, &mv, 4).unwrap();
    let mv = Move::Pick {
        level: 0,
        position: 5,
        part: 4,
    };
    assert_eq!(
        g.clone().apply(Side::Challenger, 4, &mv, 5),
        Err(MoveError::Part { part: 4, parts: 4 })
    );
    assert_eq!(
        MoveError::Part { part: 4, parts: 4 }.to_string(),
        "part 4 out of range: this round has 4 parts (0 to 3)"
    );
}

#[test]
fn stale_and_misplaced_moves_are_refused() {
    let liar = Liar { t0: 100, j0: 5 };
    let mut g = challenged(10, 16, &liar);
    let first = dissect(&g, &liar);
    // 2^10 by 16: the first root at 64.
    assert!(matches!(first, Move::Dissect { position: 64, .. }));
    let g0 = g.clone();
    // Wrong position, wrong level, wrong seq, wrong side, wrong kind.
    let Move::Dissect { roots, .. } = first.clone() else {
        unreachable!()
    };
    let at = |level, position| Move::Dissect {
        level,
        position,
        roots: roots.clone(),
    };
    assert_eq!(
        g.apply(Side::Defender, 1, &at(0, 512), 2),
        Err(MoveError::Place {
            level: 0,
            position: 512,
            want_level: 0,
            want_position: 64
        })
    );
    assert!(matches!(
        g.apply(Side::Defender, 1, &at(1, 64), 2),
        Err(MoveError::Place { .. })
    ));
    assert!(matches!(
        g.apply(Side::Defender, 0, &first, 2),
        Err(MoveError::Seq {
            expected: 1,
            found: 0
        })
    ));
    assert!(matches!(
        g.apply(Side::Challenger, 1, &first, 2),
        Err(MoveError::OutOfTurn { .. })
    ));
    let early_pick = Move::Pick {
        level: 0,
        position: 64,
        part: 0,
    };
    assert!(matches!(
        g.apply(Side::Defender, 1, &early_pick, 2),
        Err(MoveError::Unexpected { got: "pick", .. })
    ));
    assert_eq!(g, g0);
    g.apply(Side::Defender, 1, &first, 2).unwrap();
    // The pick answers the dissection's position; the old round's (or a
    // replayed dissection) is refused.
    let mv = pick(&g);
    assert!(matches!(mv, Move::Pick { part: 1, .. }), "{mv:?}");
    g.apply(Side::Challenger, 2, &mv, 3).unwrap();
    let g1 = g.clone();
    assert!(matches!(
        g.apply(Side::Challenger, 3, &mv, 4),
        Err(MoveError::OutOfTurn { .. })
    ));
    assert!(matches!(
        g.apply(Side::Defender, 3, &first, 4),
        Err(MoveError::Place {
            position: 64,
            want_position: 68,
            ..
        })
    ));
    assert_eq!(g, g1);
}

#[test]
fn waiting_for_names_the_round() {
    let liar = Liar { t0: 100, j0: 5 };
    let mut g = challenged(10, 16, &liar);
    assert_eq!(
        g.waiting_for(),
        "the defender's 15 roots at level 0 positions 64, 128, ... (every 64)"
    );
    let mv = dissect(&g, &liar);
    g.apply(Side::Defender, 1, &mv, 2).unwrap();
    assert_eq!(
        g.waiting_for(),
        "the challenger's pick of one of 16 parts at level 0 position 64"
    );
}

#[test]
fn moves_in_json() {
    let mv = Move::Dissect {
        level: 0,
        position: 8,
        roots: vec![Hash::default()],
    };
    let json = serde_json::to_string(&mv).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"type":"dissect","level":0,"position":8,"roots":["{}"]}}"#,
            Hash::default()
        )
    );
    assert_eq!(serde_json::from_str::<Move>(&json).unwrap(), mv);
    let mv = Move::Pick {
        level: 0,
        position: 8,
        part: 3,
    };
    let json = serde_json::to_string(&mv).unwrap();
    assert_eq!(json, r#"{"type":"pick","level":0,"position":8,"part":3}"#);
    assert_eq!(serde_json::from_str::<Move>(&json).unwrap(), mv);
    // The binary moves are gone.
    for old in [
        r#"{"type":"agree","level":0,"position":8}"#,
        r#"{"type":"disagree","level":0,"position":8}"#,
    ] {
        assert!(serde_json::from_str::<Move>(old).is_err(), "{old}");
    }
}

#[test]
fn the_default_levels_are_k_ary() {
    let levels = default_levels(30);
    assert!(levels.iter().all(|l| l.k > 2));
    let rounds: u32 = levels.iter().map(Level::rounds).sum();
    assert!(rounds <= 16, "{rounds} rounds at b = 30");
}

#[test]
fn version_1_transcripts_are_refused_by_name() {
    use crate::rules::transcript::{TranscriptError, read_transcript};
    let old = br#"{"type":"transcript","game":"g1","moves":[{"seq":1,"side":"defender","time_ms":0,"move":{"type":"midpoint","level":0,"position":8,"root":"00"}}]}"#;
    let e = read_transcript(old).unwrap_err().to_string();
    assert!(
        e.contains("transcript format version 1") && e.contains("version 2"),
        "{e}"
    );
    let e = TranscriptError::Version {
        found: 3,
        expected: 2,
    };
    assert!(e.to_string().starts_with("transcript format version 3"));
}

#[test]
fn the_limits_a_player_checks_before_its_run_are_the_setups() {
    let liar = Liar { t0: 1, j0: 0 };
    let ok = claim(crate::rules::levels::MAX_B, &liar);
    assert_eq!(check_limits(&ok, b"input"), Ok(()));
    let big = claim(crate::rules::levels::MAX_B + 1, &liar);
    assert_eq!(
        check_limits(&big, b"input"),
        Err(SetupError::B(crate::rules::levels::MAX_B + 1))
    );
}
