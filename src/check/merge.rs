//! Merging shard certificates ([`super::shard`]) into one verdict.
//!
//! A certificate vouches only for its own range. The merge trusts none of
//! them on how they fit together: it accepts a set only if every one is for
//! the given program, input and microcode, they agree on the number of
//! shards and on the run's length, each covers exactly the range its index
//! names, every index is there once, the first starts at the initial root
//! the merge computes itself from the program and the input, and each
//! shard's end root is the next one's start root. The verdict is then the
//! unsharded check's: valid with the last shard's end root as the final
//! root, or the first shard's mismatch. The boundary roots are committed to
//! by one Merkle root (`rs_merkle` with Keccak-256), which names the set.

use super::shard::{Certificate, FORMAT, MismatchRecord, ShardId};
use crate::elf::Program;
use crate::hash::{Hash, keccak};
use crate::micro::microcode::Microcode;
use crate::state::tree;
use rs_merkle::MerkleTree;
use rs_merkle::algorithms::Keccak256;

/// Why a set of certificates does not make one verdict. `file` names a
/// certificate as the caller gave it; `shard` is its index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// No certificate at all.
    #[error("no shard certificates given")]
    Empty,
    /// Not a certificate of this format.
    #[error("{file}: format: {found:?} is not {FORMAT:?}")]
    Format {
        /// The certificate.
        file: String,
        /// Its `format`.
        found: String,
    },
    /// The certificate's program, input or microcode is not the one given.
    #[error(
        "{file} (shard {shard}): {field}: the certificate has {found}, the {what} given has {expected}"
    )]
    Foreign {
        /// The certificate.
        file: String,
        /// Its index.
        shard: u64,
        /// `program`, `input` or `microcode`.
        field: &'static str,
        /// What was given, in words.
        what: &'static str,
        /// The certificate's hash.
        found: Hash,
        /// The hash of what was given.
        expected: Hash,
    },
    /// Two certificates disagree on a field that is the same for a whole set.
    #[error(
        "{file} (shard {shard}): {field}: {found}, but {other} (shard {other_shard}) has {expected}: not one set"
    )]
    Disagree {
        /// The certificate.
        file: String,
        /// Its index.
        shard: u64,
        /// `shards`, `run_transitions`, `max_steps` or `halted_after`.
        field: &'static str,
        /// Its value.
        found: String,
        /// The certificate it was compared with.
        other: String,
        /// That certificate's index.
        other_shard: u64,
        /// That certificate's value.
        expected: String,
    },
    /// A field that contradicts the certificate's own other fields.
    #[error("{file} (shard {shard}): {field}: {found}, expected {expected}")]
    Field {
        /// The certificate.
        file: String,
        /// Its index.
        shard: u64,
        /// The field.
        field: &'static str,
        /// Its value.
        found: String,
        /// What the other fields (or the program and input) imply.
        expected: String,
    },
    /// One index given twice.
    #[error("shard {shard} of {shards} is given twice: {file} and {other}")]
    Duplicate {
        /// The index.
        shard: u64,
        /// The number of shards.
        shards: u64,
        /// The first certificate for it.
        file: String,
        /// The second.
        other: String,
    },
    /// An index missing from the set.
    #[error("shard {shard} of {shards} is missing ({missing} of {shards} missing in all)")]
    Missing {
        /// The first missing index.
        shard: u64,
        /// The number of shards.
        shards: u64,
        /// How many are missing.
        missing: u64,
    },
    /// A shard that does not start where the one before it ended.
    #[error(
        "{file} (shard {shard}): start_root: {found} does not link to {previous} (shard {previous_shard}), which ended at {expected}"
    )]
    Unlinked {
        /// The certificate.
        file: String,
        /// Its index.
        shard: u64,
        /// Its start root.
        found: Hash,
        /// The certificate before it.
        previous: String,
        /// That certificate's index.
        previous_shard: u64,
        /// Its end root.
        expected: Hash,
    },
}

/// One verdict from a whole set of certificates.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// Keccak-256 of the ELF file.
    pub program: Hash,
    /// Keccak-256 of the input.
    pub input: Hash,
    /// The number of shards.
    pub shards: u64,
    /// `root(S_0)`, computed by the merge.
    pub initial_root: Hash,
    /// Whether every transition checked.
    pub valid: bool,
    /// The last shard's end root (`None` after a mismatch).
    pub final_root: Option<Hash>,
    /// The run's length in transitions.
    pub run_transitions: u64,
    /// Transitions checked, over the shards up to the first mismatch.
    pub transitions: u64,
    /// Micro-steps run, likewise.
    pub micro_steps: u64,
    /// The most micro-steps of one instruction, likewise.
    pub max_micro_steps: u64,
    /// The run's halt (steps executed), if it halted.
    pub halted_after: Option<u64>,
    /// The first shard with a mismatch, and the mismatch.
    pub mismatch: Option<(u64, MismatchRecord)>,
    /// The Merkle root (Keccak-256, `rs_merkle`) over the boundary roots in
    /// order: the first shard's start root, then each shard's end root (up
    /// to the first mismatch).
    pub commitment: Hash,
    /// The shards' wall-clock seconds, summed.
    pub shard_seconds: f64,
    /// The slowest shard's wall-clock seconds.
    pub slowest_shard_seconds: f64,
}

/// The commitment over boundary roots (see [`Merged::commitment`]).
pub fn commitment(boundaries: &[Hash]) -> Hash {
    let leaves: Vec<[u8; 32]> = boundaries.iter().map(|h| h.0).collect();
    MerkleTree::<Keccak256>::from_leaves(&leaves)
        .root()
        .map(Hash)
        .unwrap_or(Hash::ZERO)
}

/// Merges `certs` (each with the name to report it by) for `program` on
/// `input`, checked with `code`.
pub fn merge(
    certs: &[(String, Certificate)],
    program: &Program,
    input: &[u8],
    code: &Microcode,
) -> Result<Merged, Box<MergeError>> {
    let (name0, c0) = certs.first().ok_or_else(|| Box::new(MergeError::Empty))?;
    let input_hash = keccak(&[input]);
    for (file, c) in certs {
        if c.format != FORMAT {
            return Err(Box::new(MergeError::Format {
                file: file.clone(),
                found: c.format.clone(),
            }));
        }
        for (field, what, found, expected) in [
            ("program", "ELF file", c.program, program.hash),
            ("input", "input", c.input, input_hash),
            (
                "microcode",
                "microcode of this mswap",
                c.microcode,
                code.root,
            ),
        ] {
            if found != expected {
                return Err(Box::new(MergeError::Foreign {
                    file: file.clone(),
                    shard: c.shard,
                    field,
                    what,
                    found,
                    expected,
                }));
            }
        }
        let same: [(&'static str, String, String); 4] = [
            ("shards", c.shards.to_string(), c0.shards.to_string()),
            (
                "run_transitions",
                c.run_transitions.to_string(),
                c0.run_transitions.to_string(),
            ),
            ("max_steps", show(c.max_steps), show(c0.max_steps)),
            ("halted_after", show(c.halted_after), show(c0.halted_after)),
        ];
        for (field, found, expected) in same {
            if found != expected {
                return Err(Box::new(MergeError::Disagree {
                    file: file.clone(),
                    shard: c.shard,
                    field,
                    found,
                    other: name0.clone(),
                    other_shard: c0.shard,
                    expected,
                }));
            }
        }
        check_own_fields(file, c)?;
    }
    let n = c0.shards;
    // Every index once. (n fits in memory: each index has a certificate here.)
    let mut slots: Vec<Option<usize>> = vec![None; certs.len().min(n as usize)];
    if (certs.len() as u64) < n {
        // Fewer files than shards: find the first missing index without
        // allocating n slots.
        let mut ks: Vec<u64> = certs.iter().map(|(_, c)| c.shard).collect();
        ks.sort_unstable();
        duplicates(certs, &ks)?;
        let first_missing = (0..n)
            .zip(ks.iter().copied().chain(std::iter::repeat(u64::MAX)))
            .find(|(want, have)| want != have)
            .map_or(0, |(want, _)| want);
        return Err(Box::new(MergeError::Missing {
            shard: first_missing,
            shards: n,
            missing: n - ks.len() as u64,
        }));
    }
    for (i, (file, c)) in certs.iter().enumerate() {
        let slot = &mut slots[c.shard as usize];
        if let Some(j) = *slot {
            return Err(Box::new(MergeError::Duplicate {
                shard: c.shard,
                shards: n,
                file: certs[j].0.clone(),
                other: file.clone(),
            }));
        }
        *slot = Some(i);
    }
    // As many files as shards and no index twice: each index is there.
    let ordered: Vec<&(String, Certificate)> = slots
        .iter()
        .map(|s| &certs[s.unwrap_or_default()])
        .collect();

    let initial_root = tree::root(&program.initial_state(input));
    let (file, first) = ordered[0];
    if first.start_root != initial_root {
        return Err(Box::new(MergeError::Field {
            file: file.clone(),
            shard: 0,
            field: "start_root",
            found: first.start_root.to_hex(),
            expected: format!(
                "{} (the initial root of the program and input)",
                initial_root.to_hex()
            ),
        }));
    }
    let mut boundaries = vec![initial_root];
    let mut merged = Merged {
        program: program.hash,
        input: input_hash,
        shards: n,
        initial_root,
        valid: true,
        final_root: None,
        run_transitions: c0.run_transitions,
        transitions: 0,
        micro_steps: 0,
        max_micro_steps: 0,
        halted_after: c0.halted_after,
        mismatch: None,
        commitment: Hash::ZERO,
        shard_seconds: ordered.iter().map(|(_, c)| c.seconds).sum(),
        slowest_shard_seconds: ordered.iter().map(|(_, c)| c.seconds).fold(0.0, f64::max),
    };
    for (k, (file, c)) in ordered.iter().enumerate() {
        if k > 0 {
            let (prev, p) = ordered[k - 1];
            let end = p.end_root.unwrap_or_default();
            if c.start_root != end {
                return Err(Box::new(MergeError::Unlinked {
                    file: file.clone(),
                    shard: c.shard,
                    found: c.start_root,
                    previous: prev.clone(),
                    previous_shard: p.shard,
                    expected: end,
                }));
            }
        }
        merged.transitions += c.transitions;
        merged.micro_steps += c.micro_steps;
        merged.max_micro_steps = merged.max_micro_steps.max(c.max_micro_steps);
        if let Some(m) = &c.mismatch {
            // Later shards start from the fast engine's states, which the
            // failed one did not vouch for: the verdict stops here.
            merged.valid = false;
            merged.mismatch = Some((c.shard, m.clone()));
            merged.halted_after = None;
            break;
        }
        // A valid certificate has an end root (check_own_fields).
        boundaries.extend(c.end_root);
    }
    if merged.valid {
        merged.final_root = boundaries.last().copied();
    }
    merged.commitment = commitment(&boundaries);
    Ok(merged)
}

/// The fields of one certificate against each other: its index, its range
/// for its index, the transitions checked, the verdict.
fn check_own_fields(file: &str, c: &Certificate) -> Result<(), Box<MergeError>> {
    let field = |field: &'static str, found: String, expected: String| {
        Box::new(MergeError::Field {
            file: file.into(),
            shard: c.shard,
            field,
            found,
            expected,
        })
    };
    let id = ShardId::new(c.shard, c.shards)
        .map_err(|e| field("shard", c.shard.to_string(), format!("a shard index: {e}")))?;
    let length = match (c.halted_after, c.max_steps) {
        (Some(h), cap) => h.saturating_add(1).min(cap.unwrap_or(u64::MAX)),
        (None, Some(cap)) => cap,
        (None, None) => u64::MAX,
    };
    if c.run_transitions != length {
        return Err(field(
            "run_transitions",
            c.run_transitions.to_string(),
            format!(
                "{} (from halted_after {} and max_steps {})",
                if length == u64::MAX {
                    "a halt or a cap".to_string()
                } else {
                    length.to_string()
                },
                show(c.halted_after),
                show(c.max_steps)
            ),
        ));
    }
    let (first, end) = id.range(c.run_transitions);
    if c.first_step != first {
        return Err(field(
            "first_step",
            c.first_step.to_string(),
            format!(
                "{first} (shard {id} of a run of {} transitions)",
                c.run_transitions
            ),
        ));
    }
    if c.end_step != end {
        return Err(field(
            "end_step",
            c.end_step.to_string(),
            format!(
                "{end} (shard {id} of a run of {} transitions)",
                c.run_transitions
            ),
        ));
    }
    match (&c.mismatch, c.valid, c.end_root) {
        (None, true, Some(root)) => {
            if first == end && root != c.start_root {
                return Err(field(
                    "end_root",
                    root.to_hex(),
                    format!(
                        "{} (an empty range ends where it starts)",
                        c.start_root.to_hex()
                    ),
                ));
            }
            if c.transitions != end - first {
                return Err(field(
                    "transitions",
                    c.transitions.to_string(),
                    format!("{} (the range {first}..{end})", end - first),
                ));
            }
            Ok(())
        }
        (Some(m), false, None) if (first..end).contains(&m.step) => Ok(()),
        (Some(m), false, None) => Err(field(
            "mismatch",
            format!("step {}", m.step),
            format!("a step in the range {first}..{end}"),
        )),
        (None, true, None) => Err(field("end_root", "null".into(), "a root".into())),
        (Some(_), _, Some(_)) | (None, false, _) | (Some(_), true, None) => Err(field(
            "valid",
            c.valid.to_string(),
            format!(
                "{} (mismatch {}, end_root {})",
                c.mismatch.is_none(),
                if c.mismatch.is_some() {
                    "present"
                } else {
                    "null"
                },
                if c.end_root.is_some() {
                    "present"
                } else {
                    "null"
                }
            ),
        )),
    }
}

/// Indices given twice among sorted `ks`.
fn duplicates(certs: &[(String, Certificate)], ks: &[u64]) -> Result<(), Box<MergeError>> {
    if let Some(w) = ks.windows(2).find(|w| w[0] == w[1]) {
        let k = w[0];
        let mut files = certs
            .iter()
            .filter(|(_, c)| c.shard == k)
            .map(|(f, _)| f.clone());
        return Err(Box::new(MergeError::Duplicate {
            shard: k,
            shards: certs[0].1.shards,
            file: files.next().unwrap_or_default(),
            other: files.next().unwrap_or_default(),
        }));
    }
    Ok(())
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "null".into(), |x| x.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commitment_is_a_keccak_merkle_root() {
        let h = |b: u8| Hash([b; 32]);
        let node = crate::hash::hash_node;
        assert_eq!(commitment(&[h(1), h(2)]), node(&h(1), &h(2)));
        assert_eq!(
            commitment(&[h(1), h(2), h(3), h(4)]),
            node(&node(&h(1), &h(2)), &node(&h(3), &h(4)))
        );
        // An odd node is carried up as it is.
        assert_eq!(
            commitment(&[h(1), h(2), h(3)]),
            node(&node(&h(1), &h(2)), &h(3))
        );
        assert_ne!(commitment(&[h(1), h(2)]), commitment(&[h(2), h(1)]));
    }
}
