//! The filled `GeneralStateTests` JSON format of ethereum/tests, and its
//! expansion into cases: one per (test, fork, entry of the fork's `post`
//! list).

use crate::error::EvmError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file of state tests: test name -> test.
pub type TestFile = BTreeMap<String, StateTest>;

/// One state test: a pre-state, an environment, a transaction template and
/// the expected results per fork.
#[derive(Debug, Clone, Deserialize)]
pub struct StateTest {
    /// The block environment.
    pub env: Env,
    /// The pre-state: address -> account.
    pub pre: BTreeMap<String, PreAccount>,
    /// The transaction, with lists of data, gas limits and values that each
    /// post entry indexes.
    pub transaction: Transaction,
    /// Fork name -> expected results.
    pub post: BTreeMap<String, Vec<PostEntry>>,
}

/// The block environment (`env`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Env {
    /// The block's beneficiary.
    pub current_coinbase: String,
    /// The block's difficulty.
    #[serde(default)]
    pub current_difficulty: Option<String>,
    /// The block's gas limit.
    pub current_gas_limit: String,
    /// The block number.
    pub current_number: String,
    /// The block's time stamp.
    pub current_timestamp: String,
    /// EIP-1559 base fee (London on).
    #[serde(default)]
    pub current_base_fee: Option<String>,
    /// `prevrandao` (Paris on).
    #[serde(default)]
    pub current_random: Option<String>,
    /// EIP-4844 excess blob gas (Cancun on).
    #[serde(default)]
    pub current_excess_blob_gas: Option<String>,
    /// The chain id, when not 1.
    #[serde(default)]
    pub current_chain_id: Option<String>,
}

/// An account of the pre-state.
#[derive(Debug, Clone, Deserialize)]
pub struct PreAccount {
    /// Balance in wei.
    pub balance: String,
    /// Code (hex).
    pub code: String,
    /// Nonce.
    pub nonce: String,
    /// Storage slot -> value.
    #[serde(default)]
    pub storage: BTreeMap<String, String>,
}

/// An access-list entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessListItem {
    /// The address.
    pub address: String,
    /// Its storage keys.
    pub storage_keys: Vec<String>,
}

/// The transaction template.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// The type, when the fixture names it (else derived from the fields).
    #[serde(default, rename = "type")]
    pub tx_type: Option<String>,
    /// Call data (or init code), one per `indexes.data`.
    pub data: Vec<String>,
    /// Gas limits, one per `indexes.gas`.
    pub gas_limit: Vec<String>,
    /// Legacy and EIP-2930 gas price.
    #[serde(default)]
    pub gas_price: Option<String>,
    /// EIP-1559 fee cap.
    #[serde(default)]
    pub max_fee_per_gas: Option<String>,
    /// EIP-1559 tip cap.
    #[serde(default)]
    pub max_priority_fee_per_gas: Option<String>,
    /// The sender's nonce.
    pub nonce: String,
    /// The sender (newer fixtures give it beside the secret key).
    #[serde(default)]
    pub sender: Option<String>,
    /// The sender's secret key (its address is the sender where `sender`
    /// is missing).
    #[serde(default)]
    pub secret_key: Option<String>,
    /// The recipient; empty for a contract creation.
    #[serde(default)]
    pub to: Option<String>,
    /// Values, one per `indexes.value`.
    pub value: Vec<String>,
    /// Access lists, one per `indexes.data` (null: none).
    #[serde(default)]
    pub access_lists: Option<Vec<Option<Vec<AccessListItem>>>>,
    /// EIP-4844 blob hashes.
    #[serde(default)]
    pub blob_versioned_hashes: Option<Vec<String>>,
    /// EIP-4844 blob fee cap.
    #[serde(default)]
    pub max_fee_per_blob_gas: Option<String>,
    /// EIP-7702 authorizations (not supported by the encoding: such a case
    /// fails with that reason).
    #[serde(default)]
    pub authorization_list: Option<serde_json::Value>,
}

/// Which data, gas limit and value a post entry uses.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Indexes {
    /// Index into `data` (and `accessLists`).
    pub data: usize,
    /// Index into `gasLimit`.
    pub gas: usize,
    /// Index into `value`.
    pub value: usize,
}

/// One expected result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostEntry {
    /// The post-state root.
    pub hash: String,
    /// keccak256 of the RLP list of logs.
    pub logs: String,
    /// The transaction's parts.
    pub indexes: Indexes,
    /// Set when the transaction is invalid (the state stays as it was).
    #[serde(default)]
    pub expect_exception: Option<String>,
}

/// One case: a test, a fork and a position in its post list.
#[derive(Debug, Clone)]
pub struct Case {
    /// The fixture file.
    pub file: PathBuf,
    /// The test's name.
    pub name: String,
    /// The fork's name.
    pub fork: String,
    /// The position in the fork's post list.
    pub index: usize,
    /// The test.
    pub test: std::sync::Arc<StateTest>,
}

impl Case {
    /// The expected result.
    pub fn post(&self) -> &PostEntry {
        &self.test.post[&self.fork][self.index]
    }

    /// `NAME:FORK:INDEX`, as `claim --case` takes it.
    pub fn id(&self) -> String {
        format!("{}:{}:{}", self.name, self.fork, self.index)
    }
}

/// Reads a fixture file.
pub fn read_file(path: &Path) -> Result<TestFile, EvmError> {
    let text = std::fs::read(path).map_err(|e| EvmError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    serde_json::from_slice(&text).map_err(|e| EvmError::Json {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Every case of a file, in the order test name, fork, index.
pub fn cases(path: &Path, file: TestFile) -> Vec<Case> {
    let mut out = Vec::new();
    for (name, test) in file {
        let test = std::sync::Arc::new(test);
        for (fork, entries) in &test.post {
            for index in 0..entries.len() {
                out.push(Case {
                    file: path.to_path_buf(),
                    name: name.clone(),
                    fork: fork.clone(),
                    index,
                    test: test.clone(),
                });
            }
        }
    }
    out
}

/// The JSON files under `paths` (a file is taken as it is, a directory is
/// walked), sorted; an error if a path does not exist or nothing is found.
pub fn json_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, EvmError> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| EvmError::Read {
            path: p.clone(),
            source: e,
        })?;
        if meta.is_dir() {
            walk(p, &mut files)?;
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(EvmError::NoFixtures {
            paths: paths.to_vec(),
        });
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), EvmError> {
    let entries = std::fs::read_dir(dir).map_err(|e| EvmError::Read {
        path: dir.to_path_buf(),
        source: e,
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| EvmError::Read {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}
