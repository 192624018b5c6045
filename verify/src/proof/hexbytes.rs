//! Serde helpers that write byte strings as lowercase hex.

/// `[u8; 32]` as 64 hex digits.
pub mod array32 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as hex.
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&const_hex::encode(v))
    }

    /// Parses 64 hex digits (`const_hex` takes one `0x` prefix off itself).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        const_hex::decode_to_slice(&s, &mut out)
            .map_err(|e| serde::de::Error::custom(format!("expected 64 hex digits: {e}")))?;
        Ok(out)
    }
}

/// `Vec<u8>` as hex (programs and inputs: megabytes in a game document or
/// a transcript). Decoded from the document's own string, not a copy of
/// it, by `const-hex`, which checks and converts 32 digits at a time where
/// the processor has the instructions (the `hex` crate's one digit at a
/// time was 5% of an honest player's CPU on a 2 MB input).
pub mod vec {
    use serde::{Deserializer, Serializer, de};
    use std::fmt;

    /// Serializes as hex, a few KB at a time where the serializer can
    /// take a string in parts (`serde_json` writes them straight to its
    /// writer: a program and input sent as hex are never held as one
    /// string).
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Hex(v))
    }

    /// Bytes shown as lowercase hex digits.
    struct Hex<'a>(&'a [u8]);

    impl fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            let mut buf = [0u8; 8192];
            for chunk in self.0.chunks(buf.len() / 2) {
                let out = &mut buf[..2 * chunk.len()];
                const_hex::encode_to_slice(chunk, out).map_err(|_| fmt::Error)?;
                f.write_str(std::str::from_utf8(out).map_err(|_| fmt::Error)?)?;
            }
            Ok(())
        }
    }

    struct HexVisitor;

    impl de::Visitor<'_> for HexVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string of hex digits")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<u8>, E> {
            // (`const_hex::decode` takes one `0x` prefix off itself: a
            // second one is not hex.)
            const_hex::decode(s).map_err(|e| E::custom(format!("bad hex: {e}")))
        }
    }

    /// Parses hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_str(HexVisitor)
    }
}

/// `u64` as a `0x`-prefixed hex string (JSON numbers lose precision above 2^53).
pub mod u64hex {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as `0x...`.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:#x}"))
    }

    /// Parses the one documented form of a word (see [`parse`]).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// Parses a 64-bit word in its one documented form: `0x` followed by 1
    /// to 16 lowercase hex digits without leading zeros (`0x0` for zero),
    /// as [`serialize`] writes it. Anything else (no prefix, a sign,
    /// uppercase, padding, spaces) is refused, naming the string, so one
    /// value has one spelling and every reader sees the same word.
    pub fn parse(s: &str) -> Result<u64, String> {
        let bad = || {
            format!(
                "expected a 64-bit word as 0x and 1-16 lowercase hex digits without leading zeros, found {s:?}"
            )
        };
        let digits = s.strip_prefix("0x").ok_or_else(bad)?;
        if digits.is_empty()
            || digits.len() > 16
            || (digits.len() > 1 && digits.starts_with('0'))
            || !digits
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad());
        }
        u64::from_str_radix(digits, 16).map_err(|_| bad())
    }
}

/// The 16 words of `Q`, each as a hex string.
pub mod q_words {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    /// Serializes as 16 hex strings.
    pub fn serialize<S: Serializer>(v: &[u64; 16], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(16))?;
        for w in v {
            seq.serialize_element(&format!("{w:#x}"))?;
        }
        seq.end()
    }

    /// Parses exactly 16 hex strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u64; 16], D::Error> {
        let v: Vec<String> = Vec::deserialize(d)?;
        if v.len() != 16 {
            return Err(serde::de::Error::custom(format!(
                "q has 16 words, found {}",
                v.len()
            )));
        }
        let mut out = [0u64; 16];
        for (o, s) in out.iter_mut().zip(&v) {
            *o = super::u64hex::parse(s).map_err(serde::de::Error::custom)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Bytes(#[serde(with = "super::vec")] Vec<u8>);

    fn parse(json: &str) -> Result<Vec<u8>, String> {
        serde_json::from_str::<Bytes>(json)
            .map(|b| b.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn byte_strings_take_one_optional_prefix_and_nothing_but_hex() {
        assert_eq!(parse(r#""00ff7A""#), Ok(vec![0, 255, 0x7a]));
        assert_eq!(parse(r#""0x00ff""#), Ok(vec![0, 255]));
        assert_eq!(parse(r#""""#), Ok(vec![]));
        for bad in [r#""0x0x00""#, r#""0g""#, r#""abc""#, r#"" 00""#, "12"] {
            assert!(parse(bad).is_err(), "{bad} is refused");
        }
        assert!(parse(r#""0g""#).unwrap_err().contains("bad hex"));
        // Escapes make serde_json hand over a string of its own: the same bytes.
        assert_eq!(parse(r#""\u0030\u0031""#), Ok(vec![1]));
        let long: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let text = serde_json::to_string(&Bytes(long.clone())).unwrap();
        assert_eq!(parse(&text), Ok(long));
    }
}
