//! `mswap new`: a Rust project (with the guest crate) and a C project are
//! written, build with one command, and the ELF runs under `mswap run`
//! (equal to qemu-riscv64 when it is installed), passes `mswap check` and
//! settles an `mswap dispute`. The Rust build needs the target
//! riscv64imac-unknown-none-elf and crates.io; the C build needs
//! riscv64-unknown-elf-gcc. A missing tool fails its part, unless
//! `MSWAP_SKIP_RUST_TARGET=1` or `MSWAP_SKIP_GCC=1` (tests/support/tools.rs).

mod support;

use std::path::Path;
use std::process::Command;
use support::cli::{mswap_in as mswap, text};
use support::scratch;

/// run (== qemu if present), check, dispute on a freshly built guest.
fn exercise(dir: &Path, elf: &str, name: &str) {
    let input = b"one\ntwo\nthree\n";
    let o = mswap(&["run", elf], dir, input);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with(&format!("{name}: 14 bytes, 3 lines, fnv-1a ")),
        "{name}: {out}"
    );
    if let Some(qemu) = support::qemu(name) {
        let q = support::guests::qemu_run(&qemu, &dir.join(elf), input);
        assert_eq!(text(&q.stdout), out, "{name}: mswap run == qemu-riscv64");
    }
    std::fs::write(dir.join("input.txt"), input).expect("input");
    let ok = |command: &str| {
        let o = mswap(&[command, elf, "--input", "input.txt"], dir, b"");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {command}: {}",
            text(&o.stderr)
        );
        o
    };
    ok("check");
    let o = ok("dispute");
    assert!(
        text(&o.stdout).contains("the honest challenger won"),
        "{name}: {}",
        text(&o.stdout)
    );
}

#[test]
fn a_new_rust_guest_builds_and_runs() {
    if support::tools::need(
        &support::tools::RUST_TARGET,
        module_path!(),
        "the Rust guest template",
    )
    .is_none()
    {
        return;
    }
    let dir = scratch("new-rust");
    let o = mswap(&["new", "hello"], &dir, b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout)
            .contains("with a copy of the guest crate mswap-guest 0.1.0 in mswap-guest/"),
        "it says what it did: {}",
        text(&o.stdout)
    );
    let made = dir.join("hello");
    for f in [
        "Cargo.toml",
        ".cargo/config.toml",
        "src/main.rs",
        "mswap-guest/Cargo.toml",
        "mswap-guest/src/lib.rs",
        "mswap-guest/mswap-guest.x",
    ] {
        assert!(made.join(f).is_file(), "{f} written");
    }
    // No path of this machine in the project: it builds where it is moved.
    let source_tree = env!("CARGO_MANIFEST_DIR");
    for f in ["Cargo.toml", ".cargo/config.toml", "mswap-guest/Cargo.toml"] {
        let t = std::fs::read_to_string(made.join(f)).unwrap();
        assert!(
            !t.contains(source_tree) && !t.contains(&*dir.to_string_lossy()),
            "{f}: {t}"
        );
    }
    // A second `new` at the same place is refused and changes nothing.
    let o = mswap(&["new", "hello"], &dir, b"");
    assert_eq!(o.status.code(), Some(2), "a usage error");
    assert!(text(&o.stderr).contains("already exists"));
    let o = mswap(&["new", "9lives"], &dir, b"");
    assert_eq!(o.status.code(), Some(2), "a usage error");
    assert!(text(&o.stderr).contains("not a valid program name"));
    let project = dir.join("moved");
    std::fs::rename(&made, &project).unwrap();
    // Built as a user would, outside any outer cargo settings.
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .current_dir(&project)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --release of the new project");
    exercise(
        &project,
        "target/riscv64imac-unknown-none-elf/release/hello",
        "hello",
    );
    // --guest-crate: a path dependency on the crate given.
    let o = mswap(
        &[
            "new",
            "linked",
            "--guest-crate",
            &format!("{source_tree}/guest"),
        ],
        &dir,
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("depending on the guest crate at "));
    assert!(!dir.join("linked/mswap-guest").exists());
    let o = mswap(
        &["new", "nowhere", "--guest-crate", "/no/such/dir"],
        &dir,
        b"",
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_new_c_guest_builds_and_runs() {
    if support::tools::need(&support::tools::GCC, module_path!(), "the C guest template").is_none()
    {
        return;
    }
    let dir = scratch("new-c");
    let o = mswap(&["new", "hello-c", "--lang", "c"], &dir, b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let project = dir.join("hello-c");
    let o = Command::new("make")
        .current_dir(&project)
        .output()
        .expect("make runs");
    assert!(o.status.success(), "make: {}", text(&o.stderr));
    exercise(&project, "hello-c.elf", "hello-c");
    let _ = std::fs::remove_dir_all(&dir);
}
