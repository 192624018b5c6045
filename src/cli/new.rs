//! `mswap new NAME`: writes a ready guest project, in Rust (with the guest
//! crate `mswap-guest`) or in C (`--lang c`, with the C runtime of the
//! example guests). Either builds with one command (`cargo build
//! --release`, `make`) into an ELF that `mswap run` runs.
//!
//! The project names no path of the machine it was made on: the guest
//! crate (Rust) and the runtime (C) are embedded in `mswap` and copied
//! into it, so it builds anywhere it is moved or cloned.

use super::output::CliError;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// The language of a new guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, `no_std`, with the guest crate (target riscv64imac-unknown-none-elf).
    Rust,
    /// C, freestanding, built with riscv64-unknown-elf-gcc for rv64imac.
    C,
}

/// Arguments of `mswap new`.
#[derive(Args)]
pub struct NewArgs {
    /// Directory to create; its last component names the program.
    pub path: PathBuf,
    /// Language of the guest.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
    /// Depend on the guest crate in DIR (a path dependency, e.g. a checkout
    /// of mswap's `guest/` you work on) instead of a copy in the project.
    #[arg(long, value_name = "DIR")]
    pub guest_crate: Option<PathBuf>,
}

/// The guest crate, embedded so that a project gets a copy of it: each
/// file with its path in the crate. (A test checks that this is every file.)
pub const GUEST_CRATE: [(&str, &str); 5] = [
    ("Cargo.toml", include_str!("../../guest/Cargo.toml")),
    ("README.md", include_str!("../../guest/README.md")),
    ("build.rs", include_str!("../../guest/build.rs")),
    ("mswap-guest.x", include_str!("../../guest/mswap-guest.x")),
    ("src/lib.rs", include_str!("../../guest/src/lib.rs")),
];

/// Where a project's copy of the guest crate goes.
const GUEST_COPY: &str = "mswap-guest";

// The C runtime, as the example guests use it (embedded, so that a C
// project needs nothing from the source tree).
const C_CRT0: &str = include_str!("../../examples/guests/rt/crt0.S");
const C_RT_C: &str = include_str!("../../examples/guests/rt/rt.c");
const C_RT_H: &str = include_str!("../../examples/guests/rt/rt.h");
const C_LD: &str = include_str!("../../examples/guests/guest.ld");

/// Runs `mswap new`.
pub fn new(args: NewArgs) -> Result<i32, CliError> {
    let name = program_name(&args.path)?;
    if args.path.exists() {
        return Err(CliError::usage(format!(
            "{} already exists",
            args.path.display()
        )));
    }
    let (files, guest_note) = match args.lang {
        Lang::Rust => match &args.guest_crate {
            Some(guest) => {
                if !guest.join("Cargo.toml").is_file() {
                    return Err(CliError::usage(format!(
                        "--guest-crate {}: no Cargo.toml there (the directory of the guest crate)",
                        guest.display()
                    )));
                }
                let guest = std::fs::canonicalize(guest)
                    .map_err(|e| format!("{}: {e}", guest.display()))?;
                let note = format!("depending on the guest crate at {}", guest.display());
                (rust_files(&name, &guest.display().to_string()), note)
            }
            None => {
                let mut files = rust_files(&name, GUEST_COPY);
                files.extend(guest_copy());
                let note = format!(
                    "with a copy of the guest crate mswap-guest {} in {GUEST_COPY}/",
                    guest_version()
                );
                (files, note)
            }
        },
        Lang::C => (
            c_files(&name)
                .into_iter()
                .map(|(rel, text)| (rel.to_string(), text))
                .collect(),
            "with a copy of the C runtime in rt/".to_string(),
        ),
    };
    for (rel, text) in &files {
        let p = args.path.join(rel);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    let dir = args.path.display();
    match args.lang {
        Lang::Rust => println!(
            "created {dir} (Rust guest {name}, {guest_note})\n  cd {dir} && cargo build --release\n  \
             mswap run target/riscv64imac-unknown-none-elf/release/{name} < some-input"
        ),
        Lang::C => println!(
            "created {dir} (C guest {name}, {guest_note})\n  cd {dir} && make\n  mswap run {name}.elf < some-input"
        ),
    }
    Ok(0)
}

/// The program name: the path's last component, a valid crate and file name.
fn program_name(path: &Path) -> Result<String, CliError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: no program name in this path", path.display()))?;
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(CliError::usage(format!(
            "{name:?} is not a valid program name (a letter, then letters, digits, '_' or '-')"
        )));
    }
    Ok(name.to_string())
}

/// The version of the embedded guest crate (its `Cargo.toml`).
fn guest_version() -> &'static str {
    GUEST_CRATE[0]
        .1
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or("?")
}

/// The guest crate's files for the project's copy. Its `[workspace]`
/// table (which keeps it out of the mswap workspace) is left out: in the
/// project it is a member of the project's workspace.
fn guest_copy() -> Vec<(String, String)> {
    GUEST_CRATE
        .iter()
        .map(|(rel, text)| {
            let text = if *rel == "Cargo.toml" {
                // The table and the comment lines just above it.
                let lines: Vec<&str> = text.lines().collect();
                let at = lines.iter().position(|l| l.trim() == "[workspace]");
                let from = at.map_or(lines.len(), |at| {
                    lines[..at]
                        .iter()
                        .rposition(|l| !l.starts_with('#'))
                        .map_or(0, |i| i + 1)
                });
                lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| at.is_none_or(|at| *i < from || *i > at))
                    .map(|(_, l)| format!("{l}\n"))
                    .collect()
            } else {
                text.to_string()
            };
            (format!("{GUEST_COPY}/{rel}"), text)
        })
        .collect()
}

fn rust_files(name: &str, guest: &str) -> Vec<(String, String)> {
    // A TOML basic string: escape backslashes and quotes of the path.
    let guest = guest.replace('\\', "\\\\").replace('"', "\\\"");
    vec![
        (
            "Cargo.toml",
            format!(
                r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
mswap-guest = {{ path = "{guest}" }}

# A project of its own, even inside another workspace.
[workspace]

[profile.release]
panic = "abort"
opt-level = 3
lto = true
codegen-units = 1
"#
            ),
        ),
        (
            ".cargo/config.toml",
            r#"[build]
target = "riscv64imac-unknown-none-elf"

[target.riscv64imac-unknown-none-elf]
# mswap-guest.x is the guest crate's linker script (W^X segments, stack, heap).
rustflags = ["-C", "link-arg=-Tmswap-guest.x"]
"#
            .to_string(),
        ),
        (
            "src/main.rs",
            format!(
                r#"//! {name}: an mswap guest. Reads all of its input and prints its size,
//! its number of lines and its FNV-1a hash.
#![no_std]
#![no_main]

use mswap_guest::{{println, read_input}};

mswap_guest::entry!(main);

fn main() {{
    let input = read_input();
    let lines = input.iter().filter(|&&b| b == b'\n').count();
    let hash = input
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    println!("{name}: {{}} bytes, {{lines}} lines, fnv-1a {{hash:016x}}", input.len());
}}
"#
            ),
        ),
        (".gitignore", "target/\n".to_string()),
    ]
    .into_iter()
    .map(|(rel, text)| (rel.to_string(), text))
    .collect()
}

fn c_files(name: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "Makefile",
            format!(
                r#"# {name}: an mswap guest in C. `make` builds {name}.elf with Debian's
# riscv64-unknown-elf-gcc (apt-get install gcc-riscv64-unknown-elf).
CC = riscv64-unknown-elf-gcc
CFLAGS = -march=rv64imac -mabi=lp64 -mcmodel=medany -O2 -ffreestanding -fno-builtin \
         -fno-tree-loop-distribute-patterns -fno-stack-protector -fno-pic \
         -fno-asynchronous-unwind-tables -fno-unwind-tables -Irt -Wall -Wextra
LDFLAGS = -nostdlib -static -no-pie -Wl,-T,guest.ld -Wl,--build-id=none -lgcc

{name}.elf: rt/crt0.S rt/rt.c rt/rt.h main.c guest.ld
	$(CC) $(CFLAGS) -o $@ rt/crt0.S rt/rt.c main.c $(LDFLAGS)

clean:
	rm -f {name}.elf

.PHONY: clean
"#
            ),
        ),
        (
            "main.c",
            format!(
                r#"/* {name}: an mswap guest. Reads all of its input and prints its size,
   its number of lines and its FNV-1a hash. The runtime (rt/) gives the
   system calls, buffered output and a few helpers. */
#include "rt.h"

int main(void) {{
    u8 *data;
    size_t n = read_all(&data);
    u64 lines = 0, hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {{
        lines += data[i] == '\n';
        hash = (hash ^ data[i]) * 0x100000001b3ull;
    }}
    put_str("{name}: ");
    put_u64(n);
    put_str(" bytes, ");
    put_u64(lines);
    put_str(" lines, fnv-1a ");
    put_hex(hash);
    put_char('\n');
    return 0;
}}
"#
            ),
        ),
        ("rt/crt0.S", C_CRT0.to_string()),
        ("rt/rt.c", C_RT_C.to_string()),
        ("rt/rt.h", C_RT_H.to_string()),
        ("guest.ld", C_LD.to_string()),
        (".gitignore", "*.elf\n".to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_guest_crate_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("guest");
        let mut found = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(&dir).unwrap().display().to_string();
                if p.is_dir() {
                    if rel != "target" {
                        stack.push(p);
                    }
                } else if rel != ".gitignore" {
                    found.push(rel);
                }
            }
        }
        found.sort();
        let mut embedded: Vec<String> = GUEST_CRATE.iter().map(|(r, _)| r.to_string()).collect();
        embedded.sort();
        assert_eq!(found, embedded, "GUEST_CRATE lists every file of guest/");
        let copy = guest_copy();
        let toml = &copy[0].1;
        assert!(!toml.contains("[workspace]") && !toml.contains("mswap workspace"));
        assert!(toml.contains("[dependencies]") && toml.contains("name = \"mswap-guest\""));
        assert_eq!(guest_version(), "0.1.0");
    }
}
