//! Real allocation and collections: parses a JSON array of people
//! (`{"name": .., "age": .., "city": ..}`) with `serde_json` in `alloc`
//! mode, sorts them by age then name, prints them, then the number of
//! people and their mean age per city (a `BTreeMap`), and the whole list
//! back as JSON. Bad JSON: the error on stderr, exit code 2.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use mswap_guest::{eprintln, println, read_input};
use serde::{Deserialize, Serialize};

mswap_guest::entry!(main);

#[derive(Deserialize, Serialize)]
struct Person {
    name: String,
    age: u32,
    #[serde(default)]
    city: Option<String>,
}

fn main() -> i32 {
    let input = read_input();
    let mut people: Vec<Person> = match serde_json::from_slice(&input) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bad input: {e}");
            return 2;
        }
    };
    people.sort_by(|a, b| a.age.cmp(&b.age).then_with(|| a.name.cmp(&b.name)));
    for p in &people {
        println!(
            "{:>3}  {}  ({})",
            p.age,
            p.name,
            p.city.as_deref().unwrap_or("-")
        );
    }
    let mut cities: BTreeMap<&str, (u32, u64)> = BTreeMap::new();
    for p in &people {
        let e = cities.entry(p.city.as_deref().unwrap_or("-")).or_default();
        e.0 += 1;
        e.1 += p.age as u64;
    }
    for (city, (n, sum)) in &cities {
        println!("{city}: {n} people, mean age {}", *sum as f64 / *n as f64);
    }
    match serde_json::to_string(&people) {
        Ok(s) => println!("{s}"),
        Err(e) => {
            eprintln!("cannot serialize: {e}");
            return 3;
        }
    }
    0
}
