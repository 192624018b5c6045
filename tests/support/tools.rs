//! The tools outside Rust that some tests need (qemu, a RISC-V gcc, a
//! browser, the contracts' Foundry toolchain, the Rust guest target,
//! Slurm), and one rule for all of them: a test whose tool is missing
//! FAILS, naming the tool and the command that installs it
//! (`scripts/test` installs them all), unless `MSWAP_SKIP_<TOOL>=1` opts
//! out of that tool explicitly. A skip is then written straight to the
//! process's standard error (the harness captures `eprintln!` of passing
//! tests, not this) and appended to the file `MSWAP_SKIPPED_FILE` names,
//! from which `scripts/test` prints the list of what was skipped at the end.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A tool some tests need.
pub struct Tool {
    /// What it is, as a person would name it.
    pub name: &'static str,
    /// `<TOOL>` of its opt-out variable `MSWAP_SKIP_<TOOL>`.
    pub skip: &'static str,
    /// The command that installs it on Debian 12.
    pub install: &'static str,
}

/// qemu-riscv64, the oracle of the differential tests.
pub const QEMU: Tool = Tool {
    name: "qemu-riscv64",
    skip: "QEMU",
    install: "apt-get install qemu-user",
};

/// The RISC-V C compiler (and `make`) of the C guest template.
pub const GCC: Tool = Tool {
    name: "riscv64-unknown-elf-gcc and make",
    skip: "GCC",
    install: "apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf make",
};

/// Headless chromium, for the referee's live view.
pub const CHROMIUM: Tool = Tool {
    name: "chromium",
    skip: "CHROMIUM",
    install: "apt-get install chromium",
};

/// The contracts' pinned Foundry toolchain (forge, anvil, cast) and solc-js.
pub const FOUNDRY: Tool = Tool {
    name: "the contracts' toolchain (contracts/node_modules/.bin: forge, anvil)",
    skip: "FOUNDRY",
    install: "cd contracts && npm ci",
};

/// Rust's riscv64imac-unknown-none-elf target, for Rust guests.
pub const RUST_TARGET: Tool = Tool {
    name: "the Rust target riscv64imac-unknown-none-elf",
    skip: "RUST_TARGET",
    install: "rustup target add riscv64imac-unknown-none-elf",
};

/// Slurm (with munge), for the job array of the sharded double-check.
pub const SLURM: Tool = Tool {
    name: "Slurm (slurmctld, slurmd, sbatch) and munge",
    skip: "SLURM",
    install: "apt-get install slurmctld slurmd slurm-client munge",
};

/// `kubernetes-validate` (PyPI; it ships the Kubernetes API schemas), for
/// the offline validation of the Kubernetes manifests.
pub const KUBERNETES: Tool = Tool {
    name: "kubernetes-validate",
    skip: "KUBERNETES",
    install: "pip install kubernetes-validate",
};

/// Whether `MSWAP_SKIP_<TOOL>=1` is set.
pub fn opted_out(tool: &Tool) -> bool {
    std::env::var(format!("MSWAP_SKIP_{}", tool.skip)).is_ok_and(|v| v == "1")
}

/// `true` if `found`. If not, the test fails naming the tool and how to
/// install it, unless `MSWAP_SKIP_<TOOL>=1`: then the skip is said loudly
/// and recorded, and this returns `false` (the caller leaves out what
/// needs the tool). `test` names the test, `what` what it skips.
pub fn require(tool: &Tool, found: bool, test: &str, what: &str) -> bool {
    if found {
        return true;
    }
    let var = format!("MSWAP_SKIP_{}", tool.skip);
    assert!(
        opted_out(tool),
        "{test}: needs {}, which is not installed; install it with `{}` \
         (scripts/test installs every tool), or set {var}=1 to skip {what}",
        tool.name,
        tool.install
    );
    let line = format!("{var}: {test}: {what} (no {})", tool.name);
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
    false
}

/// Whether `program args` runs and exits 0.
pub fn runs(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `qemu-riscv64` if it runs; see [`require`] for when it does not.
pub fn qemu(test: &str, what: &str) -> Option<&'static str> {
    let found = runs("qemu-riscv64", &["--version"]);
    require(&QEMU, found, test, what).then_some("qemu-riscv64")
}

/// Whether riscv64-unknown-elf-gcc and make run; see [`require`].
pub fn gcc(test: &str, what: &str) -> bool {
    let found = runs("riscv64-unknown-elf-gcc", &["--version"]) && runs("make", &["--version"]);
    require(&GCC, found, test, what)
}

/// Whether the riscv64imac-unknown-none-elf target is installed; see [`require`].
pub fn rust_target(test: &str, what: &str) -> bool {
    let found = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "riscv64imac-unknown-none-elf")
        });
    require(&RUST_TARGET, found, test, what)
}

/// The first `chromium` on the PATH; see [`require`] for when there is none.
pub fn chromium(test: &str, what: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    require(&CHROMIUM, found.is_some(), test, what).then(|| found.unwrap_or_default())
}

/// `contracts/node_modules/.bin/TOOL` (forge, anvil, cast) if `npm ci` put
/// it there; see [`require`] for when it did not.
pub fn contract_tool(tool: &str, test: &str, what: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contracts/node_modules/.bin")
        .join(tool);
    let found = path.is_file();
    require(&FOUNDRY, found, test, what).then_some(path)
}
