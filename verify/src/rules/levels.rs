//! The list of bisection levels.
//!
//! A game bisects `2^b` A-steps and then the `2^a` micro-steps of one of
//! them, possibly in several levels each: level `i` bisects `2^(log2_i)`
//! units, and one unit of level `i` is `2^(log2 of the levels below it of
//! the same kind)` steps. The default is two levels, `[steps b, micro a]`;
//! `[steps b-k, steps k, micro a]` first bisects strides of `2^k`
//! instructions. The same code plays any such list.
//!
//! The first level is always a steps level (`steps 0` when `b = 0`): the
//! micro levels then start at a hand-over, where the referee computes
//! `root(attach(Q*, S_t))` itself, so no list lets a player choose the
//! root a micro level starts from.

use serde::{Deserialize, Serialize};

/// What a level bisects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LevelKind {
    /// A-steps (instructions): roots are `root(S_t)`.
    Steps,
    /// Micro-steps of one A-step: roots are `root(R_j)`.
    Micro,
}

/// One level: its kind and the log2 of the units it bisects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// What the level bisects.
    pub kind: LevelKind,
    /// log2 of its number of units.
    pub log2: u32,
}

impl std::fmt::Display for Level {
    /// `2^12 A-steps`, `2^10 micro-steps`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.kind {
            LevelKind::Steps => "A-steps",
            LevelKind::Micro => "micro-steps",
        };
        write!(f, "2^{} {unit}", self.log2)
    }
}

/// Why a level list is not playable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    /// No levels.
    #[error("the level list is empty")]
    Empty,
    /// Steps levels must come first.
    #[error("level {0}: a steps level after a micro level")]
    Order(usize),
    /// The steps levels do not add up to b.
    #[error("the steps levels add up to 2^{found} A-steps, the claim runs 2^{b}")]
    StepsSum {
        /// The claim's b.
        b: u32,
        /// Their sum.
        found: u32,
    },
    /// The micro levels do not add up to a.
    #[error("the micro levels add up to 2^{found} micro-steps, an A-step has 2^{a}")]
    MicroSum {
        /// This build's a.
        a: u32,
        /// Their sum.
        found: u32,
    },
    /// Too many levels.
    #[error("{0} levels; at most 64")]
    TooMany(usize),
    /// The list starts with a micro level.
    #[error(
        "level 0 is a micro level: the first level must be a steps level (`steps 0` when b = 0), so that the micro levels start where the referee attaches Q* itself"
    )]
    MicroFirst,
}

/// The largest `b` a claim may have ([`crate::rules::policy::MAX_B`]).
pub const MAX_B: u32 = crate::rules::policy::MAX_B;

/// The default levels for `b`: `[steps b, micro a]`.
pub fn two_levels(b: u32) -> Vec<Level> {
    vec![
        Level {
            kind: LevelKind::Steps,
            log2: b,
        },
        Level {
            kind: LevelKind::Micro,
            log2: crate::micro::LOG2_USTEPS,
        },
    ]
}

/// Levels of the given strides: `[steps b-k, steps k, micro a]` for `k` in `strides`.
pub fn with_strides(b: u32, stride_log2s: &[u32]) -> Vec<Level> {
    let mut v = Vec::new();
    let mut left = b;
    for &k in stride_log2s {
        let k = k.min(left);
        v.push(Level {
            kind: LevelKind::Steps,
            log2: left - k,
        });
        left = k;
    }
    v.push(Level {
        kind: LevelKind::Steps,
        log2: left,
    });
    v.push(Level {
        kind: LevelKind::Micro,
        log2: crate::micro::LOG2_USTEPS,
    });
    v
}

/// Checks that `levels` bisect exactly `2^b` A-steps and `2^a` micro-steps.
pub fn validate(levels: &[Level], b: u32) -> Result<(), LevelError> {
    if levels.is_empty() {
        return Err(LevelError::Empty);
    }
    if levels.len() > 64 {
        return Err(LevelError::TooMany(levels.len()));
    }
    // A micro level bisects from root(attach(Q*, S_t)), which the referee
    // derives at the hand-over from a steps level. Without a steps level
    // first, level 0 would start from a bare root(S_0).
    if levels.first().is_some_and(|l| l.kind == LevelKind::Micro) {
        return Err(LevelError::MicroFirst);
    }
    let mut seen_micro = false;
    let (mut steps, mut micro) = (0u64, 0u64);
    for (i, l) in levels.iter().enumerate() {
        match l.kind {
            LevelKind::Steps if seen_micro => return Err(LevelError::Order(i)),
            LevelKind::Steps => steps += l.log2 as u64,
            LevelKind::Micro => {
                seen_micro = true;
                micro += l.log2 as u64;
            }
        }
    }
    if steps != b as u64 {
        return Err(LevelError::StepsSum {
            b,
            found: steps.min(u32::MAX as u64) as u32,
        });
    }
    let a = crate::micro::LOG2_USTEPS;
    if micro != a as u64 {
        return Err(LevelError::MicroSum {
            a,
            found: micro.min(u32::MAX as u64) as u32,
        });
    }
    Ok(())
}

/// log2 of the steps in one unit of level `i` (the levels below of the same kind).
pub fn unit_log2(levels: &[Level], i: usize) -> u32 {
    let kind = levels.get(i).map(|l| l.kind);
    levels
        .iter()
        .skip(i + 1)
        .filter(|l| Some(l.kind) == kind)
        .map(|l| l.log2)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_lists_are_checked() {
        assert_eq!(validate(&two_levels(20), 20), Ok(()));
        assert_eq!(validate(&with_strides(20, &[8]), 20), Ok(()));
        assert_eq!(
            with_strides(20, &[8])
                .iter()
                .map(|l| l.log2)
                .collect::<Vec<_>>(),
            vec![12, 8, crate::micro::LOG2_USTEPS]
        );
        assert_eq!(
            validate(&two_levels(20), 21),
            Err(LevelError::StepsSum { b: 21, found: 20 })
        );
        let mut bad = two_levels(3);
        bad.swap(0, 1);
        assert_eq!(validate(&bad, 3), Err(LevelError::MicroFirst));
        let mut bad = with_strides(3, &[1]);
        bad.swap(1, 2);
        assert_eq!(validate(&bad, 3), Err(LevelError::Order(2)));
        assert_eq!(validate(&[], 3), Err(LevelError::Empty));
        // b = 0 needs its steps level too (log2 0): no list starts micro.
        assert_eq!(validate(&two_levels(0), 0), Ok(()));
        let micro_only = [Level {
            kind: LevelKind::Micro,
            log2: crate::micro::LOG2_USTEPS,
        }];
        assert_eq!(validate(&micro_only, 0), Err(LevelError::MicroFirst));
        let levels = with_strides(20, &[8]);
        assert_eq!(
            (
                unit_log2(&levels, 0),
                unit_log2(&levels, 1),
                unit_log2(&levels, 2)
            ),
            (8, 0, 0)
        );
    }
}
