//! The fuzz targets on stable Rust: the decoders and the verifier, fed the
//! example proofs and transcript mutated many ways (bit flips, byte
//! changes, truncations, splices, insertions, random bytes), never panic,
//! and never accept a mutated proof for the original root.

mod support;

use mswap::fuzz::{decode_and_verify, transcript};
use support::Rng;

fn corpus() -> Vec<Vec<u8>> {
    let dir = support::proofs_dir();
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "bin"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    v.sort();
    // Binary encodings of the JSON proofs too.
    for f in v.clone() {
        if let Ok(pf) = mswap::proof::ProofFile::from_json(&f) {
            v.push(mswap::proof::binary::encode(&pf.proof));
        }
    }
    v
}

fn mutate(g: &mut Rng, seed: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + g.index(4) {
        let n = b.len();
        match g.index(7) {
            0 if n > 0 => {
                let i = g.index(n);
                b[i] ^= 1 << g.index(8);
            }
            1 if n > 0 => {
                let i = g.index(n);
                b[i] = g.next() as u8;
            }
            2 => b.truncate(g.index(n + 1)),
            3 => {
                let o = &others[g.index(others.len())];
                let (i, j) = (g.index(n + 1), g.index(o.len() + 1));
                b.truncate(i);
                b.extend_from_slice(&o[j..]);
            }
            4 => {
                let i = g.index(n + 1);
                b.insert(i, g.next() as u8);
            }
            5 if n > 0 => {
                // JSON-aware: replace a digit or hex character.
                let i = g.index(n);
                if b[i].is_ascii_hexdigit() {
                    b[i] = b"0123456789abcdef"[g.index(16)];
                }
            }
            _ => b = (0..g.index(300)).map(|_| g.next() as u8).collect(),
        }
    }
    b
}

#[test]
fn mutated_proofs_and_transcripts_never_panic_and_never_verify_falsely() {
    let corpus = corpus();
    assert!(corpus.len() >= 20);
    let originals: Vec<Option<(mswap::hash::Hash, mswap::hash::Hash)>> =
        corpus.iter().map(|c| decode_and_verify(c)).collect();
    // Every proof in the corpus verifies as it stands (only the transcript
    // is not a proof), so the comparison below has something to compare.
    let proofs = corpus
        .iter()
        .filter(|c| !String::from_utf8_lossy(c).contains("\"transcript\""))
        .count();
    assert_eq!(originals.iter().flatten().count(), proofs);
    assert!(
        transcript(
            corpus
                .iter()
                .find(|c| String::from_utf8_lossy(c).contains("\"transcript\""))
                .unwrap()
        )
        .is_some(),
        "the example transcript replays"
    );
    let mut g = Rng(0x5eed_1234_5678_9abc);
    let mut accepted = 0;
    for round in 0..400_000 {
        let k = g.index(corpus.len());
        let m = mutate(&mut g, &corpus[k], &corpus);
        if let Some((before, after)) = decode_and_verify(&m) {
            accepted += 1;
            // Against the same agreed root, no mutation may lead anywhere else.
            if let Some((b0, a0)) = originals[k]
                && before == b0
            {
                assert_eq!(
                    after, a0,
                    "round {round}: a mutated proof verifies from the same root to another"
                );
            }
        }
        if round % 50 == 0 {
            let _ = transcript(&m);
        }
    }
    eprintln!("{accepted} mutated inputs still decoded and verified");
}
