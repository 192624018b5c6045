//! The contracts as the Rust side sees them: `sol!` bindings generated
//! from the JSON ABI artifacts in `contracts/artifacts/` (`{"abi",
//! "bytecode"}`, committed, so that `mswap deploy` needs no forge build),
//! their creation code, and the contracts' custom errors in words.

use alloy::primitives::keccak256;
use serde_json::Value;

/// The generated bindings (their items are the contracts' own, documented there).
#[allow(missing_docs, clippy::too_many_arguments)]
mod generated {
    alloy::sol!(
        #[sol(all_derives)]
        DisputeGame,
        "contracts/artifacts/DisputeGame.json"
    );

    alloy::sol!(
        #[sol(all_derives)]
        StepVerifier,
        "contracts/artifacts/StepVerifier.json"
    );
}

pub use generated::{DisputeGame, StepVerifier};

alloy::sol! {
    /// The step verifier as the game sees it (`IStepVerifier` in
    /// `contracts/src/`, as Optimism's game sees `IBigStepper`): one step
    /// from the agreed root. A player reaches a deployed verifier through
    /// this interface; only the check that the deployment is this build's
    /// (`super::canonical`) reads the `StepVerifier`'s own ABI.
    #[sol(all_derives)]
    interface IStepVerifier {
        /// The root after the micro-step that `proof` proves from `rootBefore`.
        function step(bytes32 rootBefore, bytes calldata proof) external view returns (bytes32 rootAfter);
    }
}

/// `contracts/artifacts/DisputeGame.json`.
pub const DISPUTE_GAME_JSON: &str = include_str!("../../contracts/artifacts/DisputeGame.json");
/// `contracts/artifacts/StepVerifier.json`.
pub const STEP_VERIFIER_JSON: &str = include_str!("../../contracts/artifacts/StepVerifier.json");

/// The creation code (`bytecode`) of an artifact.
fn bytecode(json: &str) -> Vec<u8> {
    let v: Value = serde_json::from_str(json).expect("a committed artifact is JSON");
    let code = v["bytecode"]
        .as_str()
        .or_else(|| v["bytecode"]["object"].as_str())
        .expect("a committed artifact has its bytecode");
    hex::decode(code.trim_start_matches("0x")).expect("the bytecode is hex")
}

/// The creation code of the `DisputeGame` (constructor arguments not included).
pub fn dispute_game_bytecode() -> Vec<u8> {
    bytecode(DISPUTE_GAME_JSON)
}

/// The creation code of the `StepVerifier` (constructor arguments not included).
pub fn step_verifier_bytecode() -> Vec<u8> {
    bytecode(STEP_VERIFIER_JSON)
}

/// One custom error of the contracts' ABIs.
struct ErrorDef {
    name: String,
    /// (name, type, internal type) of each argument.
    inputs: Vec<(String, String, String)>,
}

fn errors() -> &'static [([u8; 4], ErrorDef)] {
    static ERRORS: std::sync::OnceLock<Vec<([u8; 4], ErrorDef)>> = std::sync::OnceLock::new();
    ERRORS.get_or_init(|| {
        let mut out = Vec::new();
        for json in [DISPUTE_GAME_JSON, STEP_VERIFIER_JSON] {
            let v: Value = serde_json::from_str(json).expect("a committed artifact is JSON");
            for item in v["abi"].as_array().into_iter().flatten() {
                if item["type"] != "error" {
                    continue;
                }
                let name = item["name"].as_str().unwrap_or_default().to_string();
                let inputs: Vec<(String, String, String)> = item["inputs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| {
                        let s = |k: &str| i[k].as_str().unwrap_or_default().to_string();
                        (s("name"), s("type"), s("internalType"))
                    })
                    .collect();
                let sig = format!(
                    "{name}({})",
                    inputs
                        .iter()
                        .map(|(_, t, _)| t.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                );
                let h = keccak256(sig.as_bytes());
                out.push(([h[0], h[1], h[2], h[3]], ErrorDef { name, inputs }));
            }
        }
        out
    })
}

/// One ABI word in words, by its type.
fn word(w: &[u8], ty: &str, internal: &str) -> String {
    let small = || {
        w[..24]
            .iter()
            .all(|b| *b == 0)
            .then(|| u64::from_be_bytes(w[24..32].try_into().unwrap_or([0; 8])))
    };
    match (ty, internal) {
        (_, i) if i.ends_with(".Side") => match small() {
            Some(0) => "defender".into(),
            Some(1) => "challenger".into(),
            _ => format!("0x{}", hex::encode(w)),
        },
        (_, i) if i.ends_with(".Phase") => match small() {
            Some(0) => "bisect".into(),
            Some(1) => "prove".into(),
            Some(2) => "done".into(),
            _ => format!("0x{}", hex::encode(w)),
        },
        ("address", _) => format!("0x{}", hex::encode(&w[12..])),
        // A root or a hash, written as every command writes one.
        ("bytes32", _) => hex::encode(w),
        ("bool", _) => (w[31] != 0).to_string(),
        (t, _) if t.starts_with("uint") => match small() {
            Some(n) => n.to_string(),
            None => format!("0x{}", hex::encode(w)),
        },
        _ => format!("0x{}", hex::encode(w)),
    }
}

/// A revert of one of the contracts in words: the custom error's name and
/// its arguments (`Place(level 1, position 3, wantLevel 0, wantPosition
/// 4)`), or the raw bytes if no contract of ours has that error.
pub fn describe_revert(data: &[u8]) -> String {
    if data.is_empty() {
        return "reverted without a reason".into();
    }
    let Some((_, e)) = data
        .get(..4)
        .and_then(|sel| errors().iter().find(|(s, _)| s == sel))
    else {
        return format!("reverted with 0x{}", hex::encode(data));
    };
    let args = &data[4..];
    if args.len() != 32 * e.inputs.len() {
        return format!("{} (0x{})", e.name, hex::encode(args));
    }
    let words: Vec<String> = e
        .inputs
        .iter()
        .enumerate()
        .map(|(i, (n, t, it))| format!("{n} {}", word(&args[32 * i..32 * i + 32], t, it)))
        .collect();
    format!("{}({})", e.name, words.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;

    #[test]
    fn reverts_are_named_with_their_arguments() {
        let e = DisputeGame::Place {
            level: alloy::primitives::U256::from(1),
            position: alloy::primitives::U256::from(3),
            wantLevel: alloy::primitives::U256::from(0),
            wantPosition: alloy::primitives::U256::from(4),
        };
        assert_eq!(
            describe_revert(&e.abi_encode()),
            "Place(level 1, position 3, wantLevel 0, wantPosition 4)"
        );
        let e = DisputeGame::OutOfTurn {
            turn: 1,
            sender: alloy::primitives::Address::repeat_byte(0xab),
        };
        assert_eq!(
            describe_revert(&e.abi_encode()),
            format!("OutOfTurn(turn challenger, sender 0x{})", "ab".repeat(20))
        );
        assert_eq!(describe_revert(&[1, 2, 3, 4]), "reverted with 0x01020304");
        // A root as every command prints one: 64 hex digits, no prefix.
        let e = StepVerifier::RootMismatch {
            expected: alloy::primitives::B256::repeat_byte(0x11),
            computed: alloy::primitives::B256::repeat_byte(0x22),
        };
        assert_eq!(
            describe_revert(&e.abi_encode()),
            format!(
                "RootMismatch(expected {}, computed {})",
                "11".repeat(32),
                "22".repeat(32)
            )
        );
        assert!(!dispute_game_bytecode().is_empty() && !step_verifier_bytecode().is_empty());
    }
}
