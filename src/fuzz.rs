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
        let f = ProofFile::from_json(data).ok()?;
        (f.proof, f.root_before)
    } else {
        let p = binary::decode(data).ok()?;
        let root = r_root(&q_root(&p.q), &p.s_root);
        (p, root)
    };
    // Re-encoding a decoded proof decodes to the same proof whenever the
    // proof fits the binary format; one that does not fit must be refused,
    // never read back as another proof. The binary form sends no `s_root`
    // beside a leaf proof (the leaf's root is it), so a proof whose
    // `s_root` is not its leaf's root reads back with the leaf's root. A
    // real assertion, not a `debug_assert!`: the tests run in release.
    let fits = proof.version == crate::proof::PROOF_VERSION
        && proof.accesses.len() <= binary::MAX_ACCESSES
        && proof
            .s_leaf
            .as_ref()
            .is_none_or(|l| l.siblings.len() <= binary::MAX_SIBLINGS);
    match binary::decode(&binary::encode(&proof)) {
        Ok(again) => {
            let mut want = proof.clone();
            if let Some(l) = &proof.s_leaf {
                want.s_root = l.root();
            }
            if fits {
                assert!(again == want, "binary round trip changed a proof");
            } else {
                // The encoder keeps at most MAX_SIBLINGS siblings: what
                // reads back is another (shorter) proof, never this one.
                assert!(
                    again != proof,
                    "a proof too large for the format reads back"
                );
            }
        }
        Err(e) => assert!(
            !fits,
            "a proof that fits the binary format does not decode: {e}"
        ),
    }
    let _ = crate::verify::verify_step(&Hash::ZERO, &proof);
    crate::verify::verify_step(&root, &proof)
        .ok()
        .map(|after| (root, after))
}

/// Parses `data` as a transcript and replays it offline.
pub fn transcript(data: &[u8]) -> Option<crate::rules::transcript::Checked> {
    let t: crate::rules::transcript::Transcript = serde_json::from_slice(data).ok()?;
    let image = crate::elf::image_of(&t.program).ok()?;
    crate::rules::transcript::verify_transcript(&t, &image).ok()
}
