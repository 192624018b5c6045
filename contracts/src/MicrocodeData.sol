// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Microcode} from "./Generated.sol";

/// The data contract of the `StepVerifier` (SSTORE2-style): its code is a
/// `STOP` byte (so that a call to it does nothing), then `Microcode.DATA`
/// (the zero-subtree table, then the microcode words). Deploy it, then
/// `new StepVerifier(address(data))`, whose constructor checks it against
/// `Microcode.ROOT`. The Rust deployer (`mswap deploy`, `src/chain/rpc.rs`)
/// creates the same code with a 12-byte init code instead.
contract MicrocodeData {
    constructor() {
        bytes memory code = abi.encodePacked(hex"00", Microcode.DATA);
        assembly ("memory-safe") {
            return(add(code, 0x20), mload(code))
        }
    }
}
