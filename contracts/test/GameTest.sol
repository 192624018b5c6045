// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./Vm.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {Deploy} from "./Deploy.sol";
import {TestGame} from "./TestGame.sol";
import {DisputeGame} from "../src/DisputeGame.sol";

/// What the game's tests share: the parties, a claim's program and input
/// hashes, and a verifier with a game over it deployed at a fixed time.
abstract contract GameTest is Test {
    StepVerifier internal verifier;
    TestGame internal game;
    address internal constant DEFENDER = address(0xD0);
    address internal constant CHALLENGER = address(0xC0);
    address internal constant OTHER = address(0xC1);
    uint64 internal constant CLOCK = 3600;
    uint64 internal constant WINDOW = 7 days;
    bytes32 internal constant PROGRAM = keccak256("program");
    bytes32 internal constant INPUT = keccak256("input");

    /// Deploys the verifier and a game over it (clocks CLOCK, window WINDOW,
    /// `b` up to 48) with these bonds.
    function deploy(uint256 claimBond, uint256 challengeBond) internal {
        vm.warp(1_700_000_000);
        verifier = Deploy.verifier();
        game = Deploy.game(verifier, CLOCK, WINDOW, 48, claimBond, challengeBond);
    }

    /// 100 ether to each party.
    function fundParties() internal {
        vm.deal(DEFENDER, 100 ether);
        vm.deal(CHALLENGER, 100 ether);
        vm.deal(OTHER, 100 ether);
    }

    /// Asserts that the honest challenger won dispute `d` and that claim
    /// `id` fell.
    function assertChallengerWon(uint256 id, uint256 d) internal view {
        vm.assertEq(
            uint256(game.getDispute(d).winner), uint256(DisputeGame.Side.Challenger), "the honest challenger wins"
        );
        vm.assertEq(uint256(game.getClaim(id).status), uint256(DisputeGame.Status.Falls), "the claim falls");
    }
}
