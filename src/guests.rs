//! Guest programs embedded in the binary.
//!
//! The default guest is what `mswap run` and `mswap dispute` use when no
//! ELF is given: `collatz` from `examples/guests/` (about 10^6
//! instructions), with an empty input.

/// The default guest: `(name, ELF bytes, input bytes)`.
pub fn default_guest() -> (&'static str, &'static [u8], &'static [u8]) {
    (
        "collatz",
        include_bytes!("../examples/guests/bin/collatz.elf"),
        b"",
    )
}
