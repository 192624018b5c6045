//! What a subcommand reads: the program ([`load_program`], any file with
//! [`read_file`]) and, the one rule for a guest's input in every
//! subcommand that runs a guest:
//!
//! - `--input FILE`: the file's bytes;
//! - `--input -`: standard input, read to its end;
//! - no `--input`: standard input too (as `qemu-riscv64` does), unless it
//!   is a terminal: then `run` reads it when the guest first reads (so an
//!   interactive guest works and one that never reads does not wait), and
//!   the subcommands that need the whole input before they start (`root`,
//!   `check`, `prove`, `defend`, ...) take an empty input instead of
//!   waiting for end-of-file on the keyboard.
//!
//! A subcommand adopts it by flattening [`InputArg`] into its arguments
//! (`#[command(flatten)] input: InputArg`) and calling [`InputArg::read`].

use super::output::CliError;
use clap::Args;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// `--input FILE|-`.
#[derive(Args, Clone, Debug, Default)]
pub struct InputArg {
    /// The guest's input: FILE, or `-` for standard input. Without it,
    /// standard input unless it is a terminal (then `run` reads it when
    /// the guest first reads, the others use an empty input).
    #[arg(long, value_name = "FILE|-")]
    pub input: Option<PathBuf>,
}

/// Where the input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// Standard input, read to its end.
    Stdin,
    /// A terminal on standard input, without `--input`.
    Terminal,
}

impl InputArg {
    /// Where the input comes from, by the rule above.
    pub fn source(&self) -> Source {
        match &self.input {
            Some(p) if p.as_os_str() != "-" => Source::File(p.clone()),
            Some(_) => Source::Stdin,
            None if std::io::stdin().is_terminal() => Source::Terminal,
            None => Source::Stdin,
        }
    }

    /// Checks, before any long work, that an input file can be read.
    pub fn check(&self) -> Result<(), CliError> {
        if let Source::File(p) = self.source() {
            std::fs::File::open(&p)
                .map_err(|e| CliError::io(format!("--input {}: cannot read: {e}", p.display())))?;
            if p.is_dir() {
                return Err(CliError::usage(format!(
                    "--input {}: is a directory",
                    p.display()
                )));
            }
        }
        Ok(())
    }

    /// The whole input (a terminal without `--input` gives an empty input).
    pub fn read(&self) -> Result<Vec<u8>, CliError> {
        match self.source() {
            Source::File(p) => read_file(&p),
            Source::Stdin => read_stdin(),
            Source::Terminal => Ok(Vec::new()),
        }
    }
}

/// Standard input, read to its end.
pub fn read_stdin() -> Result<Vec<u8>, CliError> {
    let mut v = Vec::new();
    std::io::stdin()
        .read_to_end(&mut v)
        .map_err(|e| CliError::io(format!("cannot read standard input: {e}")))?;
    Ok(v)
}

/// Reads a file, naming it in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::io(format!("cannot read {}: {e}", path.display())))
}

/// Loads a program, printing its warnings.
pub fn load_program(path: &Path) -> Result<mswap::elf::Program, CliError> {
    let bytes = read_file(path)?;
    let p = mswap::elf::Program::load(&bytes)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    for w in &p.warnings {
        eprintln!("mswap: warning: {}: {w}", path.display());
    }
    Ok(p)
}
