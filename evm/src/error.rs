//! Errors of the runner.

use std::path::PathBuf;
use thiserror::Error;

/// An error that stops a command (exit 2): bad usage or bad input.
#[derive(Debug, Error)]
pub enum EvmError {
    /// A path could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not state-test JSON.
    #[error("{path} is not a state-test fixture: {source}")]
    Json {
        /// The path.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// No JSON file under the paths given.
    #[error("no .json fixture under {paths:?}")]
    NoFixtures {
        /// The paths given.
        paths: Vec<PathBuf>,
    },
    /// `--case` does not name a case of the file.
    #[error("{file}: {why}")]
    NoCase {
        /// The fixture file.
        file: PathBuf,
        /// What is missing, with the choices.
        why: String,
    },
    /// A case cannot be written as the guest's input.
    #[error("{case}: {source}")]
    Encode {
        /// `NAME:FORK:INDEX`.
        case: String,
        /// Why.
        source: EncodeError,
    },
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The embedded guest does not load (a broken build).
    #[error("the EVM guest does not load: {0}")]
    Guest(String),
}

/// Why a case cannot be written as the guest's input.
#[derive(Debug, Clone, Error)]
pub enum EncodeError {
    /// A fork the guest does not run.
    #[error(
        "fork {fork} is not supported (the guest runs Frontier to Prague, without Constantinople's withdrawn EIP-1283)"
    )]
    Fork {
        /// The fork's name.
        fork: String,
    },
    /// A number that does not parse or does not fit.
    #[error("{field} = {value:?}: {why}")]
    Number {
        /// The field.
        field: String,
        /// The text.
        value: String,
        /// Why.
        why: String,
    },
    /// Bad hex.
    #[error("{field}: bad hex: {why}")]
    Hex {
        /// The field.
        field: String,
        /// Why.
        why: String,
    },
    /// Hex of the wrong length.
    #[error("{field}: {got} bytes, expected {expected}")]
    Length {
        /// The field.
        field: String,
        /// Bytes expected.
        expected: usize,
        /// Bytes found.
        got: usize,
    },
    /// An index past its list.
    #[error("{field}: index {index} of a list of {len}")]
    Index {
        /// The list.
        field: String,
        /// The index.
        index: usize,
        /// The list's length.
        len: usize,
    },
    /// A list or byte string longer than 2^32 - 1.
    #[error("{field}: too long for the encoding")]
    TooLong {
        /// The field.
        field: String,
    },
    /// A feature the encoding does not carry.
    #[error("not supported: {what}")]
    Unsupported {
        /// What.
        what: String,
    },
}
