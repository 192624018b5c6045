//! Entry points for fuzzing the decoders and the verifier (used by the
//! `fuzz/` targets and by `tests/fuzz_corpus.rs` on stable Rust). They must
//! never panic, whatever the bytes.

use crate::hash::Hash;
use crate::micro::{q_root, r_root};
use crate::proof::{ProofFile, StepProof, binary};

/// Decodes `data` as a binary proof, or as a JSON proof file if it starts
/// with `{`, and verifies it against the root it claims (a JSON file's
/// `root_before`, or for a binary proof the root its `q` and `s_root` hash
/// to) and against a fixed root. Returns `(root before, root after)` if it
/// verifies.
pub fn decode_and_verify(data: &[u8]) -> Option<(Hash, Hash)> {
    let (proof, root): (StepProof, Hash) = if data.first() == Some(&b'{') {
        let f: ProofFile = serde_json::from_slice(data).ok()?;
        (f.proof, f.root_before)
    } else {
        let p = binary::decode(data).ok()?;
        let root = r_root(&q_root(&p.q), &p.s_root);
        (p, root)
    };
    // Re-encoding a decoded proof must decode to the same proof.
    let again = binary::decode(&binary::encode(&proof));
    debug_assert!(
        again.as_ref().is_ok_and(|p| *p == proof)
            || proof.s_leaf.as_ref().is_some_and(
                |l| l.siblings.len() > binary::MAX_SIBLINGS || l.root() != proof.s_root
            )
    );
    let _ = crate::verify::verify_step(&Hash::ZERO, &proof);
    crate::verify::verify_step(&root, &proof)
        .ok()
        .map(|after| (root, after))
}

/// Parses `data` as a transcript and replays it offline.
pub fn transcript(data: &[u8]) -> Option<crate::game::transcript::Checked> {
    let t: crate::game::transcript::Transcript = serde_json::from_slice(data).ok()?;
    crate::game::transcript::verify_transcript(&t).ok()
}
