//! Prints the SHA-256 of the whole input as 64 hex digits and a newline
//! (the same line as the C guest `sha256` and `sha256sum | cut -c1-64`),
//! using the `sha2` crate in `no_std` mode.
#![no_std]
#![no_main]

use mswap_guest::{print, println, read_input};
use sha2::{Digest, Sha256};

mswap_guest::entry!(main);

fn main() {
    let input = read_input();
    let digest = Sha256::digest(&input);
    for b in digest {
        print!("{b:02x}");
    }
    println!();
}
