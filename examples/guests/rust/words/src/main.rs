//! Word frequencies, the shape of everyday Rust: reads the whole input,
//! splits it into words (runs of ASCII letters, digits and apostrophes,
//! lowercased), counts them in a `BTreeMap<String, u64>`, sorts the words
//! by count (then alphabetically) and prints the 20 most frequent with
//! their counts, then the number of words, of distinct words, and of
//! distinct words that occur once.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use mswap_guest::{println, read_input};

mswap_guest::entry!(main);

fn main() -> i32 {
    let input = read_input();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0u64;
    let mut word = String::new();
    for &b in input.iter().chain(core::iter::once(&b' ')) {
        if b.is_ascii_alphanumeric() || b == b'\'' {
            word.push(b.to_ascii_lowercase() as char);
        } else if !word.is_empty() {
            total += 1;
            match counts.get_mut(word.as_str()) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(word.clone(), 1);
                }
            }
            word.clear();
        }
    }
    let mut by_count: Vec<(&String, &u64)> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    for (w, n) in by_count.iter().take(20) {
        println!("{n:>8}  {w}");
    }
    let once = counts.values().filter(|&&n| n == 1).count();
    println!("words: {total}");
    println!("distinct: {}", counts.len());
    println!("once: {once}");
    0
}
