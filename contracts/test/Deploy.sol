// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Vm} from "./Vm.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {DisputeGame} from "../src/DisputeGame.sol";

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
        uint8 maxB,
        uint256 claimBond,
        uint256 challengeBond
    ) internal view returns (bytes memory) {
        return abi.encodePacked(
            vm.getCode("DisputeGame.sol:DisputeGame"),
            abi.encode(v, clockSeconds, windowSeconds, maxB, claimBond, challengeBond)
        );
    }

    /// A game over verifier `v` with the given deployment policy.
    function game(
        StepVerifier v,
        uint64 clockSeconds,
        uint64 windowSeconds,
        uint8 maxB,
        uint256 claimBond,
        uint256 challengeBond
    ) internal returns (DisputeGame g) {
        g = DisputeGame(create(gameInitCode(v, clockSeconds, windowSeconds, maxB, claimBond, challengeBond)));
        require(address(g) != address(0), "game");
    }
}
