//! The tools outside Rust that some tests need (qemu, a RISC-V gcc, a
//! browser, the contracts' Foundry toolchain, the Rust guest target,
//! Slurm, kubernetes-validate), in one table, and one rule for all of
//! them: a test whose tool is missing FAILS, naming the tool, what of it is
//! missing and the command that installs it (`scripts/test` installs them
//! all), unless `MSWAP_SKIP_<TOOL>=1` opts out of that tool explicitly. A
//! skip is then written straight to the process's standard error (the
//! harness captures `eprintln!` of passing tests, not this) and appended to
//! the file `MSWAP_SKIPPED_FILE` names, from which `scripts/test` prints
//! the list of what was skipped at the end.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A tool some tests need: one row of the table.
pub struct Tool {
    /// What it is, as a person would name it.
    pub name: &'static str,
    /// `<TOOL>` of its opt-out variable `MSWAP_SKIP_<TOOL>`.
    pub skip: &'static str,
    /// The command that installs it on Debian 12.
    pub install: &'static str,
    /// Looks for it: the path the tests use (its program, or the folder of
    /// its programs), or what is missing.
    pub find: fn() -> Result<PathBuf, String>,
}

/// qemu-riscv64, the oracle of the differential tests.
pub const QEMU: Tool = Tool {
    name: "qemu-riscv64",
    skip: "QEMU",
    install: "apt-get install qemu-user",
    find: || running("qemu-riscv64", &["--version"]),
};

/// The RISC-V C compiler (and `make`) of the C guest template.
pub const GCC: Tool = Tool {
    name: "riscv64-unknown-elf-gcc and make",
    skip: "GCC",
    install: "apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf make",
    find: || {
        let make = running("make", &["--version"]);
        running("riscv64-unknown-elf-gcc", &["--version"]).and_then(|gcc| make.map(|_| gcc))
    },
};

/// Headless chromium, for the referee's live view.
pub const CHROMIUM: Tool = Tool {
    name: "chromium",
    skip: "CHROMIUM",
    install: "apt-get install chromium",
    find: || on_path("chromium", &[]),
};

/// The contracts' pinned Foundry toolchain (forge, anvil, cast) and
/// solc-js; found: the folder `contracts/node_modules/.bin`.
pub const FOUNDRY: Tool = Tool {
    name: "the contracts' toolchain (contracts/node_modules/.bin: forge, anvil)",
    skip: "FOUNDRY",
    install: "cd contracts && npm ci",
    find: || {
        let bin = repo().join("contracts/node_modules/.bin");
        let missing: Vec<String> = ["forge", "anvil"]
            .iter()
            .map(|t| bin.join(t))
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        missing.is_empty().then_some(bin).ok_or(missing.join(", "))
    },
};

/// Rust's riscv64imac-unknown-none-elf target, for Rust guests; found:
/// `rustup`.
pub const RUST_TARGET: Tool = Tool {
    name: "the Rust target riscv64imac-unknown-none-elf",
    skip: "RUST_TARGET",
    install: "rustup target add riscv64imac-unknown-none-elf",
    find: || {
        let o = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .map_err(|e| format!("rustup ({e})"))?;
        let there = String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.trim() == "riscv64imac-unknown-none-elf");
        there.then(|| PathBuf::from("rustup")).ok_or_else(|| {
            "riscv64imac-unknown-none-elf in `rustup target list --installed`".into()
        })
    },
};

/// Slurm (with munge), for the job array of the sharded double-check;
/// found: `sbatch`.
pub const SLURM: Tool = Tool {
    name: "Slurm (slurmctld, slurmd, sbatch) and munge",
    skip: "SLURM",
    install: "apt-get install slurmctld slurmd slurm-client munge",
    find: || {
        let sbin = ["/usr/sbin", "/sbin"];
        let programs = [
            ("munged", "munge"),
            ("slurmctld", "slurmctld"),
            ("slurmd", "slurmd"),
            ("squeue", "slurm-client"),
            ("sbatch", "slurm-client"),
        ];
        let mut missing = Vec::new();
        for (program, package) in programs {
            if on_path(program, &sbin).is_err() {
                missing.push(format!("{program} (package {package})"));
            }
        }
        if missing.is_empty() {
            on_path("sbatch", &sbin)
        } else {
            Err(missing.join(", "))
        }
    },
};

/// `kubernetes-validate` (PyPI; it ships the Kubernetes API schemas), for
/// the offline validation of the Kubernetes manifests.
pub const KUBERNETES: Tool = Tool {
    name: "kubernetes-validate",
    skip: "KUBERNETES",
    install: "pip install kubernetes-validate",
    find: || on_path("kubernetes-validate", &[]),
};

/// The whole table.
pub const ALL: [&Tool; 7] = [
    &QEMU,
    &GCC,
    &CHROMIUM,
    &FOUNDRY,
    &RUST_TARGET,
    &SLURM,
    &KUBERNETES,
];

/// The repository's root, from whichever crate of the workspace the test
/// belongs to (the root package, or one of its member crates below it).
pub fn repo() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|d| d.join("contracts/package.json").is_file())
        .unwrap_or(here)
        .to_path_buf()
}

/// Whether `MSWAP_SKIP_<TOOL>=1` is set.
pub fn opted_out(tool: &Tool) -> bool {
    std::env::var(format!("MSWAP_SKIP_{}", tool.skip)).is_ok_and(|v| v == "1")
}

/// `tool`'s path if it is here. If not, the test fails naming the tool,
/// what of it is missing and how to install it, unless
/// `MSWAP_SKIP_<TOOL>=1`: then the skip is said loudly and recorded, and
/// this returns `None` (the caller leaves out what needs the tool). `test`
/// names the test, `what` what it skips.
pub fn need(tool: &Tool, test: &str, what: &str) -> Option<PathBuf> {
    let missing = match (tool.find)() {
        Ok(path) => return Some(path),
        Err(missing) => missing,
    };
    let var = format!("MSWAP_SKIP_{}", tool.skip);
    assert!(
        opted_out(tool),
        "{test}: needs {}, which is not installed (missing: {missing}); install it with `{}` \
         (scripts/test installs every tool), or set {var}=1 to skip {what}",
        tool.name,
        tool.install
    );
    let line = format!("{var}: {test}: {what} (no {}: {missing})", tool.name);
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {line} ***\n");
    if let Some(mut f) = std::env::var_os("MSWAP_SKIPPED_FILE").and_then(|file| {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)
            .ok()
    }) {
        let _ = writeln!(f, "{line}");
    }
    None
}

/// `program` if `program args` runs and exits 0.
fn running(program: &str, args: &[&str]) -> Result<PathBuf, String> {
    let ok = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from(program))
        .ok_or_else(|| format!("`{program} {}` does not run", args.join(" ")))
}

/// The first `program` in a folder of the PATH or of `more`.
fn on_path(program: &str, more: &[&str]) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(more.iter().map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{program} on the PATH"))
}
