//! The running example of a rollup: a machine that executes one EVM
//! transaction with `revm` (no_std) and prints the result.
//!
//! Input (JSON): the contract's code and the transaction,
//! `{"code": "0x..", "calldata": "0x..", "value": 0, "gas_limit": 200000}`.
//! The state starts with a funded caller (0x11..11) and the contract
//! (0x22..22); the guest calls the contract and prints whether it
//! succeeded, the gas used, the output and every storage slot the
//! transaction wrote. Bad input: the error on stderr, exit 2.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use mswap_guest::{eprintln, println, read_input};
use revm::context::TxEnv;
use revm::context::result::ExecutionResult;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{Address, Bytes, TxKind, U256};
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};
use serde::Deserialize;

mswap_guest::entry!(main);

#[derive(Deserialize)]
struct Input {
    code: String,
    #[serde(default)]
    calldata: String,
    #[serde(default)]
    value: u64,
    #[serde(default = "default_gas")]
    gas_limit: u64,
}

fn default_gas() -> u64 {
    1_000_000
}

/// Hex digits (an optional `0x` prefix) to bytes.
fn hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() % 2 != 0 {
        return Err(alloc::format!("odd number of hex digits in {s:?}"));
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|e| alloc::format!("{e}")))
        .collect()
}

fn main() -> i32 {
    let input: Input = match serde_json::from_slice(&read_input()) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("bad input: {e}");
            return 2;
        }
    };
    let (code, calldata) = match (hex(&input.code), hex(&input.calldata)) {
        (Ok(c), Ok(d)) => (c, d),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("bad input: {e}");
            return 2;
        }
    };
    let caller = Address::from([0x11; 20]);
    let contract = Address::from([0x22; 20]);
    let mut db = CacheDB::<EmptyDB>::default();
    db.insert_account_info(
        caller,
        AccountInfo {
            balance: U256::from(10u64).pow(U256::from(18)),
            ..Default::default()
        },
    );
    db.insert_account_info(
        contract,
        AccountInfo::default().with_code(Bytecode::new_raw(Bytes::from(code))),
    );
    let mut evm = Context::mainnet().with_db(db).build_mainnet();
    let tx = TxEnv::builder()
        .caller(caller)
        .kind(TxKind::Call(contract))
        .value(U256::from(input.value))
        .data(Bytes::from(calldata))
        .gas_limit(input.gas_limit)
        .gas_price(1)
        .build_fill();
    let out = match evm.transact(tx) {
        Ok(out) => out,
        Err(e) => {
            println!("invalid transaction: {e:?}");
            return 1;
        }
    };
    match &out.result {
        ExecutionResult::Success { gas, output, .. } => {
            println!("success: gas used {}", gas.total_gas_spent());
            println!("output: {}", output.data());
        }
        ExecutionResult::Revert { gas, output, .. } => {
            println!(
                "revert: gas used {}, output {output}",
                gas.total_gas_spent()
            );
        }
        ExecutionResult::Halt { reason, gas, .. } => {
            println!("halt: {reason:?}, gas used {}", gas.total_gas_spent());
        }
    }
    if let Some(account) = out.state.get(&contract) {
        let mut slots: Vec<_> = account.storage.iter().collect();
        slots.sort_by_key(|(k, _)| **k);
        for (k, v) in slots {
            if v.is_changed() {
                println!("storage[{k}] = {}", v.present_value);
            }
        }
    }
    0
}
