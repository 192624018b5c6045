// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {StepVerifier} from "./StepVerifier.sol";
import {Microcode} from "./Generated.sol";

/// Deploys a `StepVerifier` whose code carries its data: the compiled
/// runtime code followed by `Microcode.DATA`, under a 12-byte init code that
/// returns the rest of itself (`PUSH2 len DUP1 PUSH1 12 PUSH1 0 CODECOPY
/// PUSH1 0 RETURN`). The Rust deployer (`mswap deploy`) builds the same
/// bytes from the artifact.
library StepVerifierDeploy {
    /// The deployed verifier does not carry this build's microcode.
    error MicrocodeMismatch(bytes32 expected, bytes32 found);
    /// The creation failed.
    error CreateFailed();

    /// The creation code of a verifier carrying `Microcode.DATA`.
    function initCode() internal pure returns (bytes memory) {
        bytes memory runtime = abi.encodePacked(type(StepVerifier).runtimeCode, Microcode.DATA);
        return abi.encodePacked(hex"61", uint16(runtime.length), hex"80600c6000396000f3", runtime);
    }

    /// Deploys a verifier and checks its data against `Microcode.ROOT`.
    function deploy() internal returns (StepVerifier v) {
        bytes memory init = initCode();
        address a;
        assembly ("memory-safe") {
            a := create(0, add(init, 0x20), mload(init))
        }
        if (a == address(0)) revert CreateFailed();
        v = StepVerifier(a);
        bytes32 found = v.microcodeRoot();
        if (found != Microcode.ROOT) revert MicrocodeMismatch(Microcode.ROOT, found);
    }
}
