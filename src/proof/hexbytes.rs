//! Serde helpers that write byte strings as lowercase hex.

/// `[u8; 32]` as 64 hex digits.
pub mod array32 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as hex.
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    /// Parses 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(&s), &mut out)
            .map_err(|e| serde::de::Error::custom(format!("expected 64 hex digits: {e}")))?;
        Ok(out)
    }
}

/// `Vec<u8>` as hex.
pub mod vec {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as hex.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    /// Parses hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s.strip_prefix("0x").unwrap_or(&s))
            .map_err(|e| serde::de::Error::custom(format!("bad hex: {e}")))
    }
}
