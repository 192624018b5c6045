//! The guest's input: one case in the binary encoding that the guest
//! (`examples/guests/rust/evm/src/input.rs`) decodes. The format is in
//! `evm/README.md`; in short: the magic `MSEVM\x01`, then big-endian
//! integers (`U256` 32 bytes, `u128` 16, `u64` 8, counts and lengths `u32`),
//! optional values as a flag byte and the value, byte strings as a length
//! and the bytes.

use crate::error::EncodeError;
use crate::fixture::Case;

/// The first bytes of every input.
pub const MAGIC: &[u8; 6] = b"MSEVM\x01";

/// The forks the guest knows, in the order of their code in the input.
/// `Constantinople` (with the withdrawn EIP-1283) has a code but the guest
/// refuses it: revm has only its fix, `ConstantinopleFix` (Petersburg).
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

/// The code of a fork the guest can run, by its state-test name
/// (`Merge` is another name of `Paris`).
pub fn fork_code(name: &str) -> Option<u8> {
    let name = if name == "Merge" { "Paris" } else { name };
    if name == "Constantinople" {
        return None;
    }
    FORKS.iter().position(|f| *f == name).map(|i| i as u8)
}

/// A number of the fixtures (`0x` hex, or decimal) as 32 big-endian bytes.
pub fn u256(s: &str, field: &str) -> Result<[u8; 32], EncodeError> {
    let bad = |why: &str| EncodeError::Number {
        field: field.to_string(),
        value: s.to_string(),
        why: why.to_string(),
    };
    let mut out = [0u8; 32];
    // retesteth writes a number that does not fit its field as
    // `0x:bigint 0x...`.
    let s = s.strip_prefix("0x:bigint ").unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let h = h.trim_start_matches('0');
        if h.len() > 64 {
            return Err(bad("more than 256 bits"));
        }
        let padded = format!("{h:0>64}");
        hex::decode_to_slice(&padded, &mut out).map_err(|_| bad("not hex"))?;
    } else {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("neither 0x hex nor decimal"));
        }
        for d in s.bytes() {
            // out = out * 10 + d, in base 256.
            let mut carry = u32::from(d - b'0');
            for byte in out.iter_mut().rev() {
                let v = u32::from(*byte) * 10 + carry;
                *byte = v as u8;
                carry = v >> 8;
            }
            if carry != 0 {
                return Err(bad("more than 256 bits"));
            }
        }
    }
    Ok(out)
}

/// A number that must fit `n` bytes (big-endian); `saturate` clamps a
/// larger one to the largest value instead of refusing it (gas limits and
/// prices, as other runners do: such a transaction is invalid anyway).
fn uint<const N: usize>(s: &str, field: &str, saturate: bool) -> Result<[u8; N], EncodeError> {
    let full = u256(s, field)?;
    if full[..32 - N].iter().any(|&b| b != 0) {
        if saturate {
            return Ok([0xff; N]);
        }
        return Err(EncodeError::Number {
            field: field.to_string(),
            value: s.to_string(),
            why: format!("more than {} bits", N * 8),
        });
    }
    let mut out = [0u8; N];
    out.copy_from_slice(&full[32 - N..]);
    Ok(out)
}

/// Hex bytes (`0x` optional).
pub fn bytes(s: &str, field: &str) -> Result<Vec<u8>, EncodeError> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(h).map_err(|e| EncodeError::Hex {
        field: field.to_string(),
        why: e.to_string(),
    })
}

/// Exactly `N` hex bytes.
pub fn fixed<const N: usize>(s: &str, field: &str) -> Result<[u8; N], EncodeError> {
    let b = bytes(s, field)?;
    b.try_into().map_err(|b: Vec<u8>| EncodeError::Length {
        field: field.to_string(),
        expected: N,
        got: b.len(),
    })
}

/// A growing input.
struct Out(Vec<u8>);

impl Out {
    fn raw(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn u32(&mut self, n: usize, field: &str) -> Result<(), EncodeError> {
        let n = u32::try_from(n).map_err(|_| EncodeError::TooLong {
            field: field.to_string(),
        })?;
        self.raw(&n.to_be_bytes());
        Ok(())
    }
    fn flag(&mut self, on: bool) {
        self.0.push(u8::from(on));
    }
    fn bytes(&mut self, b: &[u8], field: &str) -> Result<(), EncodeError> {
        self.u32(b.len(), field)?;
        self.raw(b);
        Ok(())
    }
}

/// The element of a list the case's index picks.
fn pick<'a>(list: &'a [String], index: usize, field: &str) -> Result<&'a str, EncodeError> {
    list.get(index)
        .map(String::as_str)
        .ok_or_else(|| EncodeError::Index {
            field: field.to_string(),
            index,
            len: list.len(),
        })
}

/// The transaction type: the fixture's `type` if given, else derived from
/// the fields as the fillers do (access list: 1, fee cap: 2, blob fee cap: 3).
fn tx_type(case: &Case) -> Result<u8, EncodeError> {
    let t = &case.test.transaction;
    if let Some(ty) = &t.tx_type {
        return Ok(uint::<1>(ty, "transaction.type", false)?[0]);
    }
    if t.max_fee_per_blob_gas.is_some() {
        return Ok(3);
    }
    if t.max_fee_per_gas.is_some() {
        return Ok(2);
    }
    let has_list = t
        .access_lists
        .as_ref()
        .and_then(|l| l.get(case.post().indexes.data))
        .is_some_and(Option::is_some);
    Ok(u8::from(has_list))
}

/// The address of a secret key (secp256k1, as older fixtures give the
/// sender only by its key).
fn sender_of(key: &str) -> Result<[u8; 20], EncodeError> {
    let k = fixed::<32>(key, "transaction.secretKey")?;
    let signer = alloy::signers::local::PrivateKeySigner::from_slice(&k).map_err(|e| {
        EncodeError::Number {
            field: "transaction.secretKey".to_string(),
            value: key.to_string(),
            why: e.to_string(),
        }
    })?;
    Ok(signer.address().into_array())
}

/// Whether `r` failed because the number is too large for its field.
fn too_big<T>(r: &Result<T, EncodeError>) -> bool {
    matches!(r, Err(EncodeError::Number { why, .. }) if why.starts_with("more than"))
}

/// The guest's input for one case.
pub fn encode(case: &Case) -> Result<Vec<u8>, EncodeError> {
    let fork = fork_code(&case.fork).ok_or_else(|| EncodeError::Fork {
        fork: case.fork.clone(),
    })?;
    let test = &case.test;
    let env = &test.env;
    let t = &test.transaction;
    let ix = case.post().indexes;
    if t.authorization_list.is_some() {
        return Err(EncodeError::Unsupported {
            what: "EIP-7702 authorization lists".to_string(),
        });
    }
    let mut o = Out(Vec::with_capacity(1024));
    o.raw(MAGIC);
    o.raw(&[fork]);
    let chain_id = match &env.current_chain_id {
        Some(c) => uint::<8>(c, "env.currentChainId", false)?,
        None => 1u64.to_be_bytes(),
    };
    o.raw(&chain_id);
    // The block.
    o.raw(&u256(&env.current_number, "env.currentNumber")?);
    o.raw(&fixed::<20>(&env.current_coinbase, "env.currentCoinbase")?);
    o.raw(&u256(&env.current_timestamp, "env.currentTimestamp")?);
    o.raw(&uint::<8>(
        &env.current_gas_limit,
        "env.currentGasLimit",
        true,
    )?);
    let base_fee = match &env.current_base_fee {
        Some(f) => uint::<8>(f, "env.currentBaseFee", true)?,
        None => [0; 8],
    };
    o.raw(&base_fee);
    let difficulty = match &env.current_difficulty {
        Some(d) => u256(d, "env.currentDifficulty")?,
        None => [0; 32],
    };
    o.raw(&difficulty);
    o.flag(env.current_random.is_some());
    if let Some(r) = &env.current_random {
        o.raw(&u256(r, "env.currentRandom")?);
    }
    o.flag(env.current_excess_blob_gas.is_some());
    if let Some(x) = &env.current_excess_blob_gas {
        o.raw(&uint::<8>(x, "env.currentExcessBlobGas", false)?);
    }
    // The transaction.
    o.raw(&[tx_type(case)?]);
    // A value or nonce out of range makes the transaction malformed (code
    // 1 or 2, the field then 0): the guest keeps the pre-state.
    let value_text = pick(&t.value, ix.value, "transaction.value")?;
    let value = u256(value_text, "transaction.value");
    let nonce = uint::<8>(&t.nonce, "transaction.nonce", false);
    let malformed = if too_big(&value) {
        1
    } else if too_big(&nonce) {
        2
    } else {
        0
    };
    o.raw(&[malformed]);
    let sender = match (&t.sender, &t.secret_key) {
        (Some(s), _) => fixed::<20>(s, "transaction.sender")?,
        (None, Some(key)) => sender_of(key)?,
        (None, None) => {
            return Err(EncodeError::Unsupported {
                what: "a transaction with neither `sender` nor `secretKey`".to_string(),
            });
        }
    };
    o.raw(&sender);
    match t.to.as_deref().filter(|s| !s.is_empty() && *s != "0x") {
        Some(to) => {
            o.flag(true);
            o.raw(&fixed::<20>(to, "transaction.to")?);
        }
        None => o.flag(false),
    }
    o.raw(&if too_big(&nonce) { [0; 8] } else { nonce? });
    let gas = pick(&t.gas_limit, ix.gas, "transaction.gasLimit")?;
    o.raw(&uint::<8>(gas, "transaction.gasLimit", true)?);
    let price = t.gas_price.as_ref().or(t.max_fee_per_gas.as_ref());
    o.raw(&match price {
        Some(p) => uint::<16>(p, "transaction.gasPrice", true)?,
        None => [0; 16],
    });
    o.flag(t.max_priority_fee_per_gas.is_some());
    if let Some(p) = &t.max_priority_fee_per_gas {
        o.raw(&uint::<16>(p, "transaction.maxPriorityFeePerGas", true)?);
    }
    o.raw(&match &t.max_fee_per_blob_gas {
        Some(p) => uint::<16>(p, "transaction.maxFeePerBlobGas", true)?,
        None => [0xff; 16],
    });
    o.raw(&if too_big(&value) { [0; 32] } else { value? });
    let data = bytes(
        pick(&t.data, ix.data, "transaction.data")?,
        "transaction.data",
    )?;
    o.bytes(&data, "transaction.data")?;
    let list = t
        .access_lists
        .as_ref()
        .and_then(|l| l.get(ix.data))
        .and_then(Option::as_ref);
    let list = list.map(Vec::as_slice).unwrap_or_default();
    o.u32(list.len(), "transaction.accessLists")?;
    for item in list {
        o.raw(&fixed::<20>(
            &item.address,
            "transaction.accessLists address",
        )?);
        o.u32(
            item.storage_keys.len(),
            "transaction.accessLists storageKeys",
        )?;
        for k in &item.storage_keys {
            o.raw(&u256(k, "transaction.accessLists storage key")?);
        }
    }
    let blobs = t.blob_versioned_hashes.as_deref().unwrap_or_default();
    o.u32(blobs.len(), "transaction.blobVersionedHashes")?;
    for h in blobs {
        o.raw(&fixed::<32>(h, "transaction.blobVersionedHashes")?);
    }
    // The pre-state.
    o.u32(test.pre.len(), "pre")?;
    for (address, a) in &test.pre {
        o.raw(&fixed::<20>(address, "pre address")?);
        o.raw(&uint::<8>(&a.nonce, "pre nonce", false)?);
        o.raw(&u256(&a.balance, "pre balance")?);
        o.bytes(&bytes(&a.code, "pre code")?, "pre code")?;
        o.u32(a.storage.len(), "pre storage")?;
        for (k, v) in &a.storage {
            o.raw(&u256(k, "pre storage key")?);
            o.raw(&u256(v, "pre storage value")?);
        }
    }
    Ok(o.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_hex_and_decimal() {
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(u256("0x01", "f").unwrap(), one);
        assert_eq!(u256("0x", "f").unwrap(), [0; 32]);
        assert_eq!(u256("1", "f").unwrap(), one);
        let mut big = [0u8; 32];
        big[30] = 0x01;
        big[31] = 0x00;
        assert_eq!(u256("256", "f").unwrap(), big);
        assert_eq!(
            u256(&format!("0x{}", "f".repeat(64)), "f").unwrap(),
            [0xff; 32]
        );
        assert!(u256(&format!("0x1{}", "0".repeat(64)), "f").is_err());
        assert!(u256("0xzz", "f").is_err());
        assert!(u256("-1", "f").is_err());
        assert_eq!(u256("0x:bigint 0x01", "f").unwrap(), one);
        // 2^256 in decimal overflows.
        let two_256 =
            "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert!(u256(two_256, "f").is_err());
    }

    #[test]
    fn narrow_numbers_refuse_or_saturate() {
        assert_eq!(
            uint::<8>("0x0100", "f", false).unwrap(),
            256u64.to_be_bytes()
        );
        assert!(uint::<8>("0x010000000000000000", "f", false).is_err());
        assert_eq!(
            uint::<8>("0x010000000000000000", "f", true).unwrap(),
            [0xff; 8]
        );
    }

    #[test]
    fn the_sender_of_a_secret_key() {
        // The key and sender of most ethereum/tests fixtures.
        let key = "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8";
        assert_eq!(
            hex::encode(sender_of(key).unwrap()),
            "a94f5374fce5edbc8e2a8697c15331677e6ebf0b"
        );
        assert!(sender_of("0x00").is_err());
    }

    #[test]
    fn forks_have_codes() {
        assert_eq!(fork_code("Cancun"), Some(12));
        assert_eq!(fork_code("Merge"), fork_code("Paris"));
        assert_eq!(fork_code("Constantinople"), None);
        assert_eq!(fork_code("Osaka"), None);
    }
}
