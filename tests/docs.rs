//! The figures the READMEs quote are the code's: each is read from the
//! text and compared with what the code computes or a run of the guest
//! gives, so a change to either side that is not carried to the other fails
//! here.

mod support;

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::layout::{S_TREE_DEPTH, Status, sys};
use mswap::micro::isa::{Q_WORDS, op};
use mswap::proof::binary;
use std::path::Path;

fn read(rel: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    // Lines joined, runs of spaces made one, so a sentence may wrap.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The number right after the first occurrence of `before` in `text`
/// (digits, with single spaces as thousands separators).
fn number_after(text: &str, before: &str) -> u64 {
    let at = text
        .find(before)
        .unwrap_or_else(|| panic!("the docs no longer say {before:?}"));
    let rest = &text[at + before.len()..];
    let mut digits = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c == ' ' && !digits.is_empty() && chars.peek().is_some_and(|n| n.is_ascii_digit())
        {
            // "993 098": a thousands separator, if three digits follow.
            let ahead: String = chars.clone().take(4).collect();
            if ahead.len() >= 3
                && ahead[..3].chars().all(|d| d.is_ascii_digit())
                && !ahead[3..].starts_with(|d: char| d.is_ascii_digit())
            {
                continue;
            }
            break;
        } else {
            break;
        }
    }
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {before:?}"))
}

/// Runs a guest on machine A to its halt (at most `cap` steps): the steps,
/// the status, stdout and stderr.
fn run(elf: &[u8], input: &[u8], cap: u64) -> (u64, Status, Vec<u8>, Vec<u8>) {
    let mut m = Machine::new(Program::load(elf).expect("loads").initial_state(input));
    m.record_writes = true;
    let n = m.run(cap);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for w in m.take_writes() {
        let bytes = m.state().output_range(w.start, w.start + w.len);
        if w.fd == 1 { &mut out } else { &mut err }.extend(bytes);
    }
    (n, m.status(), out, err)
}

#[test]
fn the_readme_figures_are_the_codes() {
    let readme = read("README.md");
    assert_eq!(number_after(&readme, "Both move **at most "), sys::IO_CHUNK);
    assert_eq!(number_after(&readme, "Machine AB** has "), op::COUNT as u64);
    assert_eq!(number_after(&readme, "idle) and a "), Q_WORDS as u64);
    assert_eq!(
        number_after(&readme, "and the leaf with those of its "),
        S_TREE_DEPTH as u64
    );
    assert_eq!(
        number_after(&readme, "a proof carries `Q` ("),
        8 * Q_WORDS as u64
    );
    assert_eq!(
        number_after(&readme, "subtree roots): "),
        no_leaf_size(),
        "a proof without a leaf"
    );
    assert_eq!(
        number_after(&readme, "bytes without a leaf, at most "),
        largest_size(),
        "the largest proof: a write with no pristine sibling"
    );
    // The claim example names the default guest's halting step.
    let (_, elf, input) = mswap::guests::default_guest();
    let (n, status, _, _) = run(elf, input, 10_000_000);
    assert!(status.is_halted());
    assert_eq!(number_after(&readme, "\"halted_after\": "), n);
}

/// Parts of the binary proof (`proofs/README.md`): version, kind, `Q`
/// and the leaf flag; a leaf proof without its siblings (index, leaf,
/// sibling count, pristine bitmap); one access (kind, address, value).
const HEAD: u64 = 1 + 1 + 8 * Q_WORDS as u64 + 1;
const LEAF: u64 = 8 + 32 + 1 + 4;
const ACCESS: u64 = 1 + 8 + 8;

/// A proof without a leaf: the header, `s_root`, the access count.
fn no_leaf_size() -> u64 {
    HEAD + 32 + 1
}

/// A write (two accesses) whose 29 siblings are all sent.
fn largest_size() -> u64 {
    HEAD + LEAF + 32 * S_TREE_DEPTH as u64 + 1 + 2 * ACCESS
}

/// The binary size of a proof, from its parts.
fn size_of(p: &mswap::proof::StepProof) -> u64 {
    let leaf = p.s_leaf.as_ref().map_or(32, |l| {
        let sent = (0..)
            .zip(&l.siblings)
            .filter(|(k, s)| **s != mswap::hash::zero_hash(*k))
            .count() as u64;
        LEAF + 32 * sent
    });
    HEAD + leaf + 1 + ACCESS * p.accesses.len() as u64
}

#[test]
fn the_proof_sizes_add_up() {
    let doc = read("proofs/README.md");
    // Every example's binary size is the sum of its parts.
    let mut largest = (0, String::new());
    for e in std::fs::read_dir(support::proofs_dir()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name == "transcript.json" {
            continue;
        }
        let proof = support::proof_file(&name).proof;
        let n = binary::encode(&proof).len() as u64;
        assert_eq!(n, size_of(&proof), "{name}: the parts add up");
        if n > largest.0 {
            largest = (n, name);
        }
    }
    assert_eq!(
        number_after(&doc, "A step that does not reach `S` is "),
        no_leaf_size()
    );
    assert_eq!(number_after(&doc, "carries a leaf proof of "), LEAF);
    assert_eq!(number_after(&doc, "bytes plus "), 32);
    assert_eq!(
        number_after(&doc, "sibling that is not pristine, and "),
        ACCESS
    );
    assert_eq!(
        number_after(&doc, "In the examples here the largest is "),
        largest.0
    );
    assert!(
        doc.contains(&format!(
            "the largest is {} bytes (`{}`)",
            largest.0, largest.1
        )),
        "the largest example is {}",
        largest.1
    );
    assert_eq!(number_after(&doc, "(up to "), S_TREE_DEPTH as u64);
    assert_eq!(
        number_after(&doc, &format!("(up to {}: ", S_TREE_DEPTH)),
        largest_size()
    );
}

/// The guests' README: the I/O chunk, every instruction count of the
/// table that runs in under 10^8 steps, and every command of the expected
/// output, run on mswap.
#[test]
fn the_guest_readme_is_what_the_guests_do() {
    let doc = std::fs::read_to_string(support::guest_dir().join("README.md")).unwrap();
    let flat = read("examples/guests/README.md");
    assert_eq!(number_after(&flat, "(mswap: at most "), sys::IO_CHUNK);
    let input = |file: &str| std::fs::read(support::guests::input_path(file)).expect("input");

    // The table: "| `name` | ... | count (input), count (input) |".
    let mut counts = 0;
    let table = doc
        .split("| guest | input |")
        .nth(1)
        .expect("the guest table");
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        let last = cells[cells.len() - 2];
        let elf = support::guest_bytes(name);
        let mut quoted: Vec<(u64, Vec<u8>)> = Vec::new();
        if last.chars().all(|c| c.is_ascii_digit() || c == ' ') {
            quoted.push((last.replace(' ', "").parse().unwrap(), Vec::new()));
        }
        for (i, _) in last.match_indices(" (") {
            let digits: String = last[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit() || *c == ' ')
                .collect();
            let digits: String = digits.chars().rev().filter(char::is_ascii_digit).collect();
            let inside = &last[i + 2..];
            let Ok(n) = digits.parse::<u64>() else {
                continue;
            };
            if inside.starts_with("empty)") {
                quoted.push((n, Vec::new()));
            } else if let Some(file) = inside.strip_prefix('`').and_then(|r| r.split('`').next()) {
                quoted.push((n, input(file)));
            }
        }
        for (n, inp) in quoted {
            if n > 100_000_000 {
                continue; // loop's default: seconds of running
            }
            let (steps, status, _, _) = run(&elf, &inp, 200_000_000);
            assert!(status.is_halted(), "{name}");
            assert_eq!(
                steps,
                n,
                "{name} with {} input bytes: instructions",
                inp.len()
            );
            counts += 1;
        }
    }
    assert!(counts >= 11, "only {counts} instruction counts checked");

    // The expected output: "$ qemu-riscv64 bin/X.elf [< FILE] [| tail -N]  [# ...]".
    let block = doc
        .split("Expected output under qemu-riscv64")
        .nth(1)
        .expect("the expected output");
    let block = block.split("```").nth(1).expect("a code block");
    let mut commands = 0;
    let mut lines = block.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(cmd) = line.strip_prefix("$ qemu-riscv64 bin/") else {
            continue;
        };
        let (cmd, comment) = cmd
            .split_once('#')
            .map_or((cmd, ""), |(a, b)| (a, b.trim()));
        let mut words = cmd.split_whitespace();
        let name = words.next().unwrap().trim_end_matches(".elf");
        let mut inp = Vec::new();
        let mut tail = None;
        while let Some(w) = words.next() {
            match w {
                "<" => {
                    let f = words.next().unwrap();
                    if let Some(file) = f.strip_prefix("inputs/") {
                        inp = input(file);
                    }
                }
                "|" => {
                    assert_eq!(words.next(), Some("tail"));
                    tail = Some(
                        words
                            .next()
                            .unwrap()
                            .trim_start_matches('-')
                            .parse::<usize>()
                            .unwrap(),
                    );
                }
                _ => panic!("{line}: unknown word {w}"),
            }
        }
        let mut want = Vec::new();
        while let Some(l) = lines.next_if(|l| !l.starts_with('$')) {
            want.push(l.to_string());
        }
        let (steps, status, out, err) = run(&support::guest_bytes(name), &inp, 200_000_000);
        if !status.is_halted() {
            assert!(steps > 100_000_000, "{line}");
            continue; // loop's default, as above
        }
        let out = String::from_utf8(out).unwrap();
        let got: Vec<&str> = out.lines().collect();
        let got = match tail {
            Some(k) => &got[got.len() - k..],
            None => &got[..],
        };
        assert_eq!(got, want, "{line}");
        if let Some(rest) = comment.strip_prefix("exit ") {
            let code: u64 = rest.split(';').next().unwrap().parse().unwrap();
            assert_eq!(status, Status::Exited(code), "{line}");
        } else {
            assert_eq!(status, Status::Exited(0), "{line}");
        }
        if let Some(s) = comment.split("stderr: \"").nth(1) {
            assert_eq!(
                String::from_utf8_lossy(&err).trim_end(),
                s.trim_end_matches('"'),
                "{line}"
            );
        }
        if let Some(n) = comment.strip_suffix(" lines in all") {
            assert_eq!(out.lines().count(), n.parse::<usize>().unwrap(), "{line}");
        }
        commands += 1;
    }
    assert!(commands >= 12, "only {commands} commands checked");
}

/// The README's set-up is two commands, the main job and the test command,
/// and CI runs that very test command (so CI tests what a new user runs).
#[test]
fn the_setup_is_two_commands_and_ci_runs_the_test_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let setup = readme
        .split("## Set-up")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("a sh block under ## Set-up");
    let commands: Vec<&str> = setup
        .lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        ["cargo run --release -- dispute", "scripts/test"],
        "the set-up block"
    );
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == commands[1]),
        ".ci/run runs the README's test command `{}` on a line of its own",
        commands[1]
    );
    let script = std::fs::read_to_string(root.join(commands[1])).expect("the test command");
    assert!(
        script.contains("cargo test --release --workspace"),
        "the test command runs the whole workspace's tests"
    );
}
