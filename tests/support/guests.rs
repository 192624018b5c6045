//! The committed guests (`examples/guests/bin/*.elf`), their sample inputs,
//! the example program of `proofs/`, and `qemu-riscv64` as the tests run
//! it on a guest.

use super::cli::run;
use mswap::elf::Program;
use mswap::state::State;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The guest directory.
pub fn guest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/guests")
}

/// The path of the committed guest `examples/guests/bin/NAME.elf`.
pub fn guest_path(name: &str) -> PathBuf {
    guest_dir().join("bin").join(format!("{name}.elf"))
}

/// Every committed guest ELF with its sample input (empty if none), sorted by name.
pub fn guests() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(guest_dir().join("bin")) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.extension().is_some_and(|e| e == "elf") {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let elf = std::fs::read(&p).expect("read guest");
            out.push((name.clone(), elf, sample_input(&name)));
        }
    }
    out
}

/// The bytes of the committed guest `NAME.elf`.
pub fn guest_bytes(name: &str) -> Vec<u8> {
    let p = guest_path(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The committed guest `NAME.elf` and its sample input.
pub fn guest_elf(name: &str) -> (Vec<u8>, Vec<u8>) {
    (guest_bytes(name), sample_input(name))
}

/// The path of `examples/guests/inputs/FILE`.
pub fn input_path(file: &str) -> PathBuf {
    guest_dir().join("inputs").join(file)
}

/// The small sample input used for a guest in tests.
pub fn sample_input(name: &str) -> Vec<u8> {
    let pick = mswap::chain::differential::sample_input_file(name);
    pick.and_then(|f| std::fs::read(input_path(f)).ok())
        .unwrap_or_default()
}

/// The initial state of a guest.
pub fn guest_state(elf: &[u8], input: &[u8]) -> State {
    Program::load(elf)
        .expect("guest loads")
        .initial_state(input)
}

/// The paths of the example program of `proofs/` (18 steps) and its input.
pub fn example_paths() -> (PathBuf, PathBuf) {
    let dir = super::proofs_dir();
    (dir.join("example.elf"), dir.join("example.input"))
}

/// The example program of `proofs/` and its input.
pub fn example() -> (Vec<u8>, Vec<u8>) {
    let (elf, input) = example_paths();
    (
        std::fs::read(elf).expect("proofs/example.elf"),
        std::fs::read(input).expect("proofs/example.input"),
    )
}

/// Runs the ELF file `elf` under `qemu` (as [`super::qemu`] found it) with
/// `input` on its standard input; its whole output.
pub fn qemu_run(qemu: &Path, elf: &Path, input: &[u8]) -> Output {
    run(Command::new(qemu).arg(elf), input)
}

/// [`qemu_run`] on an ELF given as bytes, written for the run to an
/// executable temporary file named after `tag` (qemu-user, like execve,
/// wants an executable file).
pub fn qemu_run_bytes(qemu: &Path, elf: &[u8], tag: &str, input: &[u8]) -> Output {
    use std::os::unix::fs::PermissionsExt;
    let file = std::env::temp_dir().join(format!("mswap-{tag}-{}.elf", std::process::id()));
    std::fs::write(&file, elf).expect("write elf");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = qemu_run(qemu, &file, input);
    let _ = std::fs::remove_file(&file);
    out
}

/// Exit code as a shell reports it: 128 + signal for a killed process.
pub fn shell_code(o: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status
        .code()
        .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0))
}
