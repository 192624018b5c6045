//! The guest crate's panic handler: prints a line (buffered, so the panic
//! handler must flush it first), then indexes past the end of its input,
//! which panics: the message goes to stderr, the exit code is 101.
#![no_std]
#![no_main]

use mswap_guest::{println, read_input};

mswap_guest::entry!(main);

fn main() {
    let input = read_input();
    println!("{} bytes of input; reading one past the end", input.len());
    let past = core::hint::black_box(input.len());
    println!("byte: {}", input[past]);
}
