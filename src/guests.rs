//! Guest programs embedded in the binary.
//!
//! The default guest is what `mswap run` and `mswap dispute` use when no
//! ELF is given. Until the guest suite is committed under
//! `examples/guests/`, it is the small example program of `proofs/`.

/// The default guest: `(name, ELF bytes, input bytes)`.
pub fn default_guest() -> (&'static str, &'static [u8], &'static [u8]) {
    (
        "example",
        include_bytes!("../proofs/example.elf"),
        include_bytes!("../proofs/example.input"),
    )
}
