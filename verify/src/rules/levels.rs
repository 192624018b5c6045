//! The list of bisection levels.
//!
//! A game bisects `2^b` A-steps and then the `2^a` micro-steps of one of
//! them, possibly in several levels each: level `i` bisects `2^(log2_i)`
//! units, and one unit of level `i` is `2^(log2 of the levels below it of
//! the same kind)` steps. The default is two levels, `[steps b, micro a]`;
//! `[steps b-k, steps k, micro a]` first bisects strides of `2^k`
//! instructions. The same code plays any such list.
//!
//! Each level has a fan-out `k` (a power of two, `2 <= k <=`
//! [`MAX_FAN`]): a round splits the level's interval into `k` parts (fewer
//! in its last round when the interval has fewer units), the defender
//! puts forward the `k - 1` roots between them and the challenger picks the
//! first part it disputes. `k = 2` is bisection in halves.
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

/// One level: its kind, the log2 of the units it bisects and its fan-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// What the level bisects.
    pub kind: LevelKind,
    /// log2 of its number of units.
    pub log2: u32,
    /// Fan-out: the parts of a round (a power of two from 2 to
    /// [`MAX_FAN`]; 2 when a level list leaves it out).
    #[serde(default = "binary")]
    pub k: u32,
}

fn binary() -> u32 {
    2
}

impl Level {
    /// A binary level (`k = 2`).
    pub fn new(kind: LevelKind, log2: u32) -> Level {
        Level { kind, log2, k: 2 }
    }

    /// A binary steps level of `2^log2` A-steps.
    pub fn steps(log2: u32) -> Level {
        Level::new(LevelKind::Steps, log2)
    }

    /// A binary micro level of `2^log2` micro-steps.
    pub fn micro(log2: u32) -> Level {
        Level::new(LevelKind::Micro, log2)
    }

    /// The same level with fan-out `k`.
    pub fn with_k(self, k: u32) -> Level {
        Level { k, ..self }
    }

    /// The rounds the level takes: `ceil(log2 / log2(k))` (a `k` that is
    /// not a power of two counts as the power of two below it).
    pub fn rounds(&self) -> u32 {
        let per = self.k.max(2).ilog2();
        self.log2.div_ceil(per)
    }
}

impl std::fmt::Display for Level {
    /// `2^12 A-steps`, `2^7 micro-steps`; `2^30 A-steps (k = 16)` for a
    /// level that is not binary.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.kind {
            LevelKind::Steps => "A-steps",
            LevelKind::Micro => "micro-steps",
        };
        write!(f, "2^{} {unit}", self.log2)?;
        if self.k != 2 {
            write!(f, " (k = {})", self.k)?;
        }
        Ok(())
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
    /// A fan-out that is not a power of two from 2 to [`MAX_FAN`].
    #[error("level {level}: fan-out {k} is not a power of two between 2 and {max}", max = MAX_FAN)]
    Fan {
        /// The level's index.
        level: usize,
        /// Its fan-out.
        k: u32,
    },
}

/// The largest fan-out of a level ([`crate::rules::policy::MAX_FAN`]).
pub const MAX_FAN: u32 = crate::rules::policy::MAX_FAN;

/// The HTTP referee's default fan-out of the steps levels.
pub const DEFAULT_STEPS_K: u32 = 32;

/// The HTTP referee's default fan-out of the micro levels.
pub const DEFAULT_MICRO_K: u32 = 32;

/// Whether `k` is a fan-out a level may have.
pub fn fan_ok(k: u32) -> bool {
    k.is_power_of_two() && (2..=MAX_FAN).contains(&k)
}

/// The largest `b` a claim may have ([`crate::rules::policy::MAX_B`]).
pub const MAX_B: u32 = crate::rules::policy::MAX_B;

/// The binary levels for `b`: `[steps b, micro a]`, both `k = 2`.
pub fn two_levels(b: u32) -> Vec<Level> {
    vec![Level::steps(b), Level::micro(crate::micro::LOG2_USTEPS)]
}

/// `[steps b, micro a]` with fan-outs `steps_k` and `micro_k`.
pub fn kary_levels(b: u32, steps_k: u32, micro_k: u32) -> Vec<Level> {
    vec![
        Level::steps(b).with_k(steps_k),
        Level::micro(crate::micro::LOG2_USTEPS).with_k(micro_k),
    ]
}

/// The default levels for `b` (the HTTP referee's and players'):
/// `[steps b, micro a]` with fan-outs [`DEFAULT_STEPS_K`] and
/// [`DEFAULT_MICRO_K`].
pub fn default_levels(b: u32) -> Vec<Level> {
    kary_levels(b, DEFAULT_STEPS_K, DEFAULT_MICRO_K)
}

/// Levels of the given strides: `[steps b-k, steps k, micro a]` for `k` in `strides`.
pub fn with_strides(b: u32, stride_log2s: &[u32]) -> Vec<Level> {
    let mut v = Vec::new();
    let mut left = b;
    for &k in stride_log2s {
        let k = k.min(left);
        v.push(Level::steps(left - k));
        left = k;
    }
    v.push(Level::steps(left));
    v.push(Level::micro(crate::micro::LOG2_USTEPS));
    v
}

/// `levels` with fan-out `steps_k` at every steps level and `micro_k` at
/// every micro level.
pub fn with_fans(levels: Vec<Level>, steps_k: u32, micro_k: u32) -> Vec<Level> {
    levels
        .into_iter()
        .map(|l| match l.kind {
            LevelKind::Steps => l.with_k(steps_k),
            LevelKind::Micro => l.with_k(micro_k),
        })
        .collect()
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
        if !fan_ok(l.k) {
            return Err(LevelError::Fan { level: i, k: l.k });
        }
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
        let micro_only = [Level::micro(crate::micro::LOG2_USTEPS)];
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

    #[test]
    fn fan_outs_are_checked() {
        for k in [2, 4, 8, 16, 32, 64] {
            assert_eq!(validate(&kary_levels(20, k, k), 20), Ok(()), "k = {k}");
        }
        assert_eq!(validate(&default_levels(30), 30), Ok(()));
        for k in [0, 1, 3, 6, 12, 128, u32::MAX] {
            assert_eq!(
                validate(&kary_levels(20, 2, k), 20),
                Err(LevelError::Fan { level: 1, k }),
                "k = {k}"
            );
        }
        assert_eq!(
            LevelError::Fan { level: 1, k: 3 }.to_string(),
            "level 1: fan-out 3 is not a power of two between 2 and 64"
        );
        // Rounds: ceil(log2 / log2 k).
        assert_eq!(Level::steps(30).with_k(16).rounds(), 8);
        assert_eq!(Level::steps(30).with_k(32).rounds(), 6);
        assert_eq!(Level::steps(30).rounds(), 30);
        assert_eq!(Level::steps(0).with_k(8).rounds(), 0);
        assert_eq!(
            Level::steps(30).with_k(16).to_string(),
            "2^30 A-steps (k = 16)"
        );
        assert_eq!(Level::steps(30).to_string(), "2^30 A-steps");
    }

    #[test]
    fn old_level_json_is_binary() {
        let l: Level = serde_json::from_str(r#"{"kind":"steps","log2":12}"#).unwrap();
        assert_eq!(l, Level::steps(12));
        let l: Level = serde_json::from_str(r#"{"kind":"micro","log2":3,"k":8}"#).unwrap();
        assert_eq!(l, Level::micro(3).with_k(8));
        assert_eq!(
            serde_json::to_string(&Level::micro(3).with_k(8)).unwrap(),
            r#"{"kind":"micro","log2":3,"k":8}"#
        );
    }
}
