// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {StepVerifier} from "./StepVerifier.sol";
import {Microcode} from "./Generated.sol";

/// Deploys a `StepVerifier` and its data contract: first the data contract,
/// whose code is a `STOP` byte then `Microcode.DATA`, under a 12-byte init
/// code that returns the rest of itself (`PUSH2 len DUP1 PUSH1 12 PUSH1 0
/// CODECOPY PUSH1 0 RETURN`), then the verifier, whose constructor checks the
/// data against `Microcode.ROOT`. The Rust deployer (`mswap deploy`,
/// `src/chain/rpc.rs`) sends the same two transactions.
library StepVerifierDeploy {
    /// The creation of the data contract failed.
    error CreateFailed();

    /// The creation code of the data contract holding `Microcode.DATA`.
    function dataInitCode() internal pure returns (bytes memory) {
        bytes memory code = abi.encodePacked(hex"00", Microcode.DATA);
        return abi.encodePacked(hex"61", uint16(code.length), hex"80600c6000396000f3", code);
    }

    /// Deploys the data contract of `init`; returns its address.
    function deployData(bytes memory init) internal returns (address a) {
        assembly ("memory-safe") {
            a := create(0, add(init, 0x20), mload(init))
        }
        if (a == address(0)) revert CreateFailed();
    }

    /// Deploys the data contract and a verifier reading it.
    function deploy() internal returns (StepVerifier) {
        return new StepVerifier(deployData(dataInitCode()));
    }
}
