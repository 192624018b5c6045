//! Any bytes as a game transcript: parsed and replayed offline. Must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mswap::fuzz::transcript(data);
});
