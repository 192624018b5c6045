//! The running example of a rollup: a machine that executes one Ethereum
//! state transition with `revm` (no_std) and prints the post-state root.
//!
//! Input: one case of the Ethereum consensus tests' `GeneralStateTests` (a
//! pre-state, a block environment, one transaction and a fork) in the
//! binary encoding of `input.rs`, written by `mswap-evm claim` (the format
//! is documented in `evm/README.md` of the repository).
//!
//! Output (stdout, exit 0), one `key: value` per line:
//!
//! ```text
//! fork: Cancun
//! result: success | revert | halt <reason> | invalid <why>
//! gas used: 21000
//! state root: 0x...   (Merkle-Patricia root of the post-state)
//! logs hash: 0x...    (keccak256 of the RLP list of the logs)
//! ```
//!
//! An invalid transaction (a wrong nonce, too little balance, ...) changes
//! nothing: the roots are those of the pre-state and of no logs. So does a
//! malformed one, which no transaction encoding can carry (the host marks a
//! value or nonce out of range; a blob transaction without a recipient). Touched
//! accounts that end empty are deleted (EIP-161) from Spurious Dragon on.
//! The point-evaluation precompile (0x0a, EIP-4844) runs on revm's arkworks
//! BLS12-381 backend, the one revm builds without `std`. Bad input: the
//! error on stderr, exit 2.
#![no_std]
#![no_main]

extern crate alloc;

mod input;

use alloc::string::String;
use alloc::vec::Vec;
use alloy_primitives::Log;
use alloy_trie::TrieAccount;
use alloy_trie::root::{state_root_unhashed, storage_root_unhashed};
use input::{Case, FORKS};
use mswap_guest::{eprintln, println, read_input};
use revm::context::result::{EVMError, ExecutionResult};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::context_interface::transaction::{AccessList, AccessListItem};
use revm::database::{CacheState, State};
use revm::primitives::eip4844::{
    BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{B256, Bytes, TxKind, keccak256};
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

mswap_guest::entry!(main);

/// revm's rules for a fork code of the input; `None` for a fork revm does
/// not implement on its own (Constantinople, whose EIP-1283 was withdrawn
/// before it shipped: revm has only Petersburg, `ConstantinopleFix`).
fn spec(fork: u8) -> Option<SpecId> {
    Some(match fork {
        0 => SpecId::FRONTIER,
        1 => SpecId::HOMESTEAD,
        2 => SpecId::TANGERINE,
        3 => SpecId::SPURIOUS_DRAGON,
        4 => SpecId::BYZANTIUM,
        6 => SpecId::PETERSBURG,
        7 => SpecId::ISTANBUL,
        8 => SpecId::BERLIN,
        9 => SpecId::LONDON,
        10 => SpecId::MERGE,
        11 => SpecId::SHANGHAI,
        12 => SpecId::CANCUN,
        13 => SpecId::PRAGUE,
        _ => return None,
    })
}

/// `0x` and 64 hex digits.
fn hex32(h: &B256) -> String {
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for b in h.as_slice() {
        s.push_str(&alloc::format!("{b:02x}"));
    }
    s
}

/// The pre-state as revm's cache: code hashed, every account loaded (an
/// empty one as "empty, to be deleted if touched", EIP-161).
fn pre_state(case: &Case) -> CacheState {
    let mut cache = CacheState::new();
    for a in &case.pre {
        let raw = Bytes::from(a.code.clone());
        // Code that starts like an EIP-7702 delegation or EOF container but
        // does not decode as one is plain legacy code.
        let code =
            Bytecode::new_raw_checked(raw.clone()).unwrap_or_else(|_| Bytecode::new_legacy(raw));
        let info = AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            code_hash: keccak256(&a.code),
            code: Some(code),
            ..Default::default()
        };
        let storage = a.storage.iter().copied().collect();
        cache.insert_account_with_storage(a.address, info, storage);
    }
    cache
}

/// The Merkle-Patricia root of the accounts in `cache` (those that exist:
/// deleted and never-existing ones are left out), zero storage slots left
/// out of each storage trie.
fn state_root(cache: &CacheState) -> B256 {
    state_root_unhashed(cache.trie_account().into_iter().map(|(address, account)| {
        let storage_root = storage_root_unhashed(
            account
                .storage
                .iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(k, v)| (B256::from(k.to_be_bytes::<32>()), *v)),
        );
        let trie = TrieAccount {
            nonce: account.info.nonce,
            balance: account.info.balance,
            storage_root,
            code_hash: account.info.code_hash,
        };
        (address, trie)
    }))
}

/// keccak256 of the RLP list of the logs (the state tests' `logs`).
fn logs_hash(logs: &[Log]) -> B256 {
    let mut out = Vec::with_capacity(alloy_rlp::list_length(logs));
    alloy_rlp::encode_list(logs, &mut out);
    keccak256(&out)
}

fn main() -> i32 {
    let case = match input::decode(&read_input()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bad input: {e}");
            return 2;
        }
    };
    let fork_name = FORKS[usize::from(case.fork)];
    let Some(spec) = spec(case.fork) else {
        eprintln!("bad input: revm has no rules of its own for the fork {fork_name}");
        return 2;
    };

    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = case.chain_id;
    // EIP-4844 allows 6 blobs per transaction, EIP-7691 (Prague) 9.
    cfg.set_max_blobs_per_tx(if spec.is_enabled_in(SpecId::PRAGUE) {
        9
    } else {
        6
    });

    let b = &case.block;
    let mut block = BlockEnv {
        number: b.number,
        beneficiary: b.coinbase,
        timestamp: b.timestamp,
        gas_limit: b.gas_limit,
        basefee: b.base_fee,
        difficulty: b.difficulty,
        prevrandao: b.random,
        ..BlockEnv::default()
    };
    if let Some(excess) = b.excess_blob_gas {
        let fraction = if spec.is_enabled_in(SpecId::PRAGUE) {
            BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE
        } else {
            BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN
        };
        block.set_blob_excess_gas_and_price(excess, fraction);
    }
    if spec.is_enabled_in(SpecId::MERGE) && block.prevrandao.is_none() {
        block.prevrandao = Some(B256::ZERO);
    }

    let t = &case.tx;
    let tx = TxEnv {
        tx_type: t.tx_type,
        caller: t.sender,
        gas_limit: t.gas_limit,
        gas_price: t.gas_price,
        kind: match t.to {
            Some(a) => TxKind::Call(a),
            None => TxKind::Create,
        },
        value: t.value,
        data: Bytes::from(t.data.clone()),
        nonce: t.nonce,
        chain_id: Some(case.chain_id),
        access_list: AccessList(
            t.access_list
                .iter()
                .map(|(address, keys)| AccessListItem {
                    address: *address,
                    storage_keys: keys.clone(),
                })
                .collect(),
        ),
        gas_priority_fee: t.priority_fee,
        blob_hashes: t.blob_hashes.clone(),
        max_fee_per_blob_gas: t.max_fee_per_blob_gas,
        ..TxEnv::default()
    };

    let mut state = State::builder()
        .with_cached_prestate(pre_state(&case))
        .build();
    // What no transaction encoding can carry is invalid before revm sees
    // it: an out-of-range field, or a blob transaction (EIP-4844) without a
    // recipient (its `to` is an address, not an empty string).
    let malformed = match (t.malformed, t.tx_type, t.to) {
        (1, _, _) => Some("a value of 2^256 or more"),
        (2, _, _) => Some("a nonce of 2^64 or more"),
        (0, 3, None) => Some("a blob transaction that creates a contract"),
        (0, 4, None) => Some("a set-code transaction that creates a contract"),
        (0, _, _) => None,
        _ => Some("a field out of range"),
    };
    let result = if let Some(why) = malformed {
        Err(EVMError::Custom(alloc::format!(
            "malformed transaction: {why}"
        )))
    } else {
        let mut evm = Context::mainnet()
            .with_cfg(cfg)
            .with_block(block)
            .with_db(&mut state)
            .build_mainnet();
        evm.transact_commit(tx)
    };

    println!("fork: {fork_name}");
    let (gas_used, logs): (u64, &[Log]) = match &result {
        Ok(r) => {
            match r {
                ExecutionResult::Success { .. } => println!("result: success"),
                ExecutionResult::Revert { .. } => println!("result: revert"),
                ExecutionResult::Halt { reason, .. } => println!("result: halt {reason:?}"),
            }
            (r.tx_gas_used(), r.logs())
        }
        Err(EVMError::Transaction(e)) => {
            println!("result: invalid {e}");
            (0, &[])
        }
        Err(EVMError::Custom(why)) if malformed.is_some() => {
            println!("result: invalid {why}");
            (0, &[])
        }
        Err(EVMError::Header(e)) => {
            println!("result: invalid block header: {e}");
            (0, &[])
        }
        Err(e) => {
            // Not a property of the case: the in-memory database cannot
            // fail, so this is a fault of the guest's set-up.
            eprintln!("execution error: {e:?}");
            return 3;
        }
    };
    println!("gas used: {gas_used}");
    println!("state root: {}", hex32(&state_root(&state.cache)));
    println!("logs hash: {}", hex32(&logs_hash(logs)));
    0
}
