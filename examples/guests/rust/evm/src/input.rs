//! The guest's input: one state-test case in the binary encoding that
//! `mswap-evm claim` and `mswap-evm statetest` write (`evm/src/encode.rs`
//! in the repository; the format is documented in `evm/README.md`).
//!
//! All integers are big-endian; `U256` is 32 bytes, `u128` 16, `u64` 8,
//! lengths and counts `u32`. An optional value is a flag byte (0 or 1)
//! followed by the value when the flag is 1. Byte strings are a `u32`
//! length and the bytes.

use alloc::string::String;
use alloc::vec::Vec;
use revm::primitives::{Address, B256, U256};

/// The first bytes of every input: `MSEVM` and the format version.
pub const MAGIC: &[u8; 6] = b"MSEVM\x01";

/// One account of the pre-state.
pub struct Account {
    pub address: Address,
    pub nonce: u64,
    pub balance: U256,
    pub code: Vec<u8>,
    pub storage: Vec<(U256, U256)>,
}

/// The block the transaction runs in.
pub struct Block {
    pub number: U256,
    pub coinbase: Address,
    pub timestamp: U256,
    pub gas_limit: u64,
    pub base_fee: u64,
    pub difficulty: U256,
    pub random: Option<B256>,
    pub excess_blob_gas: Option<u64>,
}

/// The transaction (one entry of the state test's post list picks its
/// data, gas limit and value).
pub struct Tx {
    pub tx_type: u8,
    /// Non-zero when a field of the fixture's transaction does not fit its
    /// type in any transaction encoding (a value of 2^256 or more, a nonce
    /// of 2^64 or more): such a transaction is invalid, whatever the state.
    pub malformed: u8,
    pub sender: Address,
    pub to: Option<Address>,
    pub nonce: u64,
    pub gas_limit: u64,
    pub gas_price: u128,
    pub priority_fee: Option<u128>,
    pub max_fee_per_blob_gas: u128,
    pub value: U256,
    pub data: Vec<u8>,
    pub access_list: Vec<(Address, Vec<B256>)>,
    pub blob_hashes: Vec<B256>,
}

/// A whole case.
pub struct Case {
    /// The fork, as the table in `fork_name` numbers it.
    pub fork: u8,
    pub chain_id: u64,
    pub block: Block,
    pub tx: Tx,
    pub pre: Vec<Account>,
}

/// The forks the guest knows, by their code in the input (the names are
/// those of the state tests' `post` keys).
pub const FORKS: [&str; 14] = [
    "Frontier",
    "Homestead",
    "EIP150",
    "EIP158",
    "Byzantium",
    "Constantinople",
    "ConstantinopleFix",
    "Istanbul",
    "Berlin",
    "London",
    "Paris",
    "Shanghai",
    "Cancun",
    "Prague",
];

/// A reader over the input with errors that say what was being read.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(alloc::format!(
                "input ends at byte {} while reading {what} ({n} bytes)",
                self.buf.len()
            )),
        }
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u32(&mut self, what: &str) -> Result<usize, String> {
        Ok(u32::from_be_bytes(self.array(what)?) as usize)
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    fn u128(&mut self, what: &str) -> Result<u128, String> {
        Ok(u128::from_be_bytes(self.array(what)?))
    }
    fn u256(&mut self, what: &str) -> Result<U256, String> {
        Ok(U256::from_be_bytes(self.array::<32>(what)?))
    }
    fn b256(&mut self, what: &str) -> Result<B256, String> {
        Ok(B256::from(self.array::<32>(what)?))
    }
    fn address(&mut self, what: &str) -> Result<Address, String> {
        Ok(Address::from(self.array::<20>(what)?))
    }
    fn flag(&mut self, what: &str) -> Result<bool, String> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(alloc::format!(
                "flag byte {b} of {what} at offset {} is neither 0 nor 1",
                self.pos - 1
            )),
        }
    }
    fn bytes(&mut self, what: &str) -> Result<Vec<u8>, String> {
        let n = self.u32(what)?;
        Ok(self.take(n, what)?.to_vec())
    }
    /// A count of items of at least `min_size` bytes each, checked against
    /// what is left, so that a bad count cannot make a huge allocation.
    fn count(&mut self, min_size: usize, what: &str) -> Result<usize, String> {
        let n = self.u32(what)?;
        if n.saturating_mul(min_size) > self.buf.len() - self.pos {
            return Err(alloc::format!(
                "{what}: {n} items do not fit in the {} bytes left",
                self.buf.len() - self.pos
            ));
        }
        Ok(n)
    }
}

/// Decodes a case; the error says which field is wrong.
pub fn decode(buf: &[u8]) -> Result<Case, String> {
    let mut r = Reader { buf, pos: 0 };
    let magic = r.take(MAGIC.len(), "the magic")?;
    if magic != MAGIC {
        return Err(alloc::format!(
            "not an mswap-evm case: the input starts with {magic:02x?}, expected {MAGIC:02x?} (\"MSEVM\", version 1)"
        ));
    }
    let fork = r.u8("the fork")?;
    if usize::from(fork) >= FORKS.len() {
        return Err(alloc::format!("unknown fork code {fork}"));
    }
    let chain_id = r.u64("the chain id")?;
    let block = Block {
        number: r.u256("the block number")?,
        coinbase: r.address("the coinbase")?,
        timestamp: r.u256("the timestamp")?,
        gas_limit: r.u64("the block gas limit")?,
        base_fee: r.u64("the base fee")?,
        difficulty: r.u256("the difficulty")?,
        random: if r.flag("the random flag")? {
            Some(r.b256("the random value")?)
        } else {
            None
        },
        excess_blob_gas: if r.flag("the excess blob gas flag")? {
            Some(r.u64("the excess blob gas")?)
        } else {
            None
        },
    };
    let tx_type = r.u8("the transaction type")?;
    let malformed = r.u8("the malformed-field code")?;
    let sender = r.address("the sender")?;
    let to = if r.flag("the recipient flag")? {
        Some(r.address("the recipient")?)
    } else {
        None
    };
    let nonce = r.u64("the nonce")?;
    let gas_limit = r.u64("the gas limit")?;
    let gas_price = r.u128("the gas price")?;
    let priority_fee = if r.flag("the priority fee flag")? {
        Some(r.u128("the priority fee")?)
    } else {
        None
    };
    let max_fee_per_blob_gas = r.u128("the max fee per blob gas")?;
    let value = r.u256("the value")?;
    let data = r.bytes("the transaction data")?;
    let n = r.count(24, "the access list")?;
    let mut access_list = Vec::with_capacity(n);
    for _ in 0..n {
        let address = r.address("an access list address")?;
        let k = r.count(32, "an access list's storage keys")?;
        let mut keys = Vec::with_capacity(k);
        for _ in 0..k {
            keys.push(r.b256("an access list storage key")?);
        }
        access_list.push((address, keys));
    }
    let n = r.count(32, "the blob hashes")?;
    let mut blob_hashes = Vec::with_capacity(n);
    for _ in 0..n {
        blob_hashes.push(r.b256("a blob hash")?);
    }
    let tx = Tx {
        tx_type,
        malformed,
        sender,
        to,
        nonce,
        gas_limit,
        gas_price,
        priority_fee,
        max_fee_per_blob_gas,
        value,
        data,
        access_list,
        blob_hashes,
    };
    let n = r.count(20 + 8 + 32 + 4 + 4, "the pre-state accounts")?;
    let mut pre = Vec::with_capacity(n);
    for _ in 0..n {
        let address = r.address("an account's address")?;
        let nonce = r.u64("an account's nonce")?;
        let balance = r.u256("an account's balance")?;
        let code = r.bytes("an account's code")?;
        let k = r.count(64, "an account's storage")?;
        let mut storage = Vec::with_capacity(k);
        for _ in 0..k {
            storage.push((r.u256("a storage key")?, r.u256("a storage value")?));
        }
        pre.push(Account {
            address,
            nonce,
            balance,
            code,
            storage,
        });
    }
    if r.pos != buf.len() {
        return Err(alloc::format!(
            "{} bytes after the end of the case",
            buf.len() - r.pos
        ));
    }
    Ok(Case {
        fork,
        chain_id,
        block,
        tx,
        pre,
    })
}
