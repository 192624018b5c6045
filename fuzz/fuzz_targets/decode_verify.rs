//! Any bytes: decoded as a binary or JSON step proof and verified. Must never
//! panic. Run with `cargo +nightly fuzz run decode_verify` from the
//! repository root; seed the corpus with `proofs/*.json` and `proofs/*.bin`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mswap::fuzz::decode_and_verify(data);
});
