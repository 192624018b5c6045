//! Prints the SHA-256 of the whole input as 64 hex digits and a newline
//! (the same line as the C guest `sha256` and `sha256sum | cut -c1-64`),
//! using the `sha2` crate in `no_std` mode. The input is hashed as it is
//! read, so the guest needs almost no heap: its build script shrinks the
//! heap and the stack (which also lets ckb-vm, with 4 MiB of memory, run
//! it in the benchmark).
#![no_std]
#![no_main]

use mswap_guest::{eprintln, print, println, read};
use sha2::{Digest, Sha256};

mswap_guest::entry!(main);

fn main() -> i32 {
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 4096];
    loop {
        match read(0, &mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) => {
                eprintln!("read: {e}");
                return 1;
            }
        }
    }
    for b in hasher.finalize() {
        print!("{b:02x}");
    }
    println!();
    0
}
