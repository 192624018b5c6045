// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Vm} from "./Vm.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Policy} from "../src/Generated.sol";
import {TestGame} from "./TestGame.sol";

/// Deploys the verifier as on a chain: the data contract, then the verifier
/// reading it. From the compiled artifacts (`vm.getCode`), so that no test
/// contract embeds the 17 KB of data and itself exceeds the EIP-170 limit
/// that foundry.toml enforces.
library Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// The creation code of `MicrocodeData`.
    function dataInitCode() internal view returns (bytes memory) {
        return vm.getCode("MicrocodeData.sol:MicrocodeData");
    }

    /// The creation code that deploys `code` as it is, as the Rust deployer
    /// makes the data contract's (`src/chain/rpc.rs` `data_init_code`): a
    /// 12-byte prefix (`PUSH2 len DUP1 PUSH1 12 PUSH1 0 CODECOPY PUSH1 0
    /// RETURN`), then `code`. The tests alter a data contract's bytes in it
    /// at known offsets (solc may lay `MicrocodeData`'s out in its own way).
    function rawInitCode(bytes memory code) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"61", uint16(code.length), hex"80600c6000396000f3", code);
    }

    /// Creates a contract with creation code `init` (zero address if it fails).
    function create(bytes memory init) internal returns (address a) {
        assembly ("memory-safe") {
            a := create(0, add(init, 0x20), mload(init))
        }
    }

    /// The creation code of a verifier over the data contract at `data`.
    function verifierInitCode(address data) internal view returns (bytes memory) {
        return abi.encodePacked(vm.getCode("StepVerifier.sol:StepVerifier"), abi.encode(data));
    }

    /// A data contract and a verifier reading it.
    function verifier() internal returns (StepVerifier v) {
        address data = create(dataInitCode());
        require(data != address(0), "data contract");
        v = StepVerifier(create(verifierInitCode(data)));
        require(address(v) != address(0), "verifier");
    }

    /// The creation code of a game with its constructor arguments, as
    /// `game_init_code` in src/chain/rpc.rs builds it.
    function gameInitCode(
        StepVerifier v,
        uint64 clockSeconds,
        uint64 windowSeconds,
        uint64 margin,
        uint64 minSpeed,
        uint8 maxB,
        uint256 claimBond,
        uint256 challengeBond
    ) internal view returns (bytes memory) {
        return abi.encodePacked(
            vm.getCode("DisputeGame.sol:DisputeGame"),
            abi.encode(v, clockSeconds, windowSeconds, margin, minSpeed, maxB, claimBond, challengeBond)
        );
    }

    /// A `TestGame` (the DisputeGame with claims from a stated root) over
    /// verifier `v` whose clocks and window are `clock` and `window`
    /// seconds for every `b` up to 26: the bases are one second less, the
    /// margin 1 and the speed `Policy.MAX_MIN_SPEED` (10^8 steps/s), so
    /// that `ceil(2^b / 10^8)` adds the second back (`clockFor(b)` and
    /// `windowFor(b)` for larger `b`).
    function game(StepVerifier v, uint64 clock, uint64 window, uint8 maxB, uint256 claimBond, uint256 challengeBond)
        internal
        returns (TestGame g)
    {
        uint64 speed = uint64(Policy.MAX_MIN_SPEED);
        g = TestGame(
            create(
                abi.encodePacked(
                    vm.getCode("TestGame.sol:TestGame"),
                    abi.encode(v, clock - 1, window - 1, 1, speed, maxB, claimBond, challengeBond)
                )
            )
        );
        require(address(g) != address(0), "game");
    }
}
