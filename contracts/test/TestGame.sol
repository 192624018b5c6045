// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {StepVerifier} from "../src/StepVerifier.sol";
import {DisputeGame} from "../src/DisputeGame.sol";

/// The DisputeGame with one more way to claim, for tests of the rules and
/// the bonds that need a `root(S_0)` no program gives (a step proof's root)
/// or a level list the real `claim` refuses: the claim states its root and
/// skips the level checks. Everything else is the DisputeGame's.
contract TestGame is DisputeGame {
    constructor(
        StepVerifier verifier_,
        uint64 clockSeconds_,
        uint64 windowSeconds_,
        uint64 margin_,
        uint64 minSpeed_,
        uint8 maxB_,
        uint256 claimBond_,
        uint256 challengeBond_
    ) DisputeGame(verifier_, clockSeconds_, windowSeconds_, margin_, minSpeed_, maxB_, claimBond_, challengeBond_) {}

    /// A claim from a stated `root(S_0)`, with the bond and `b` checked.
    function claim(
        bytes32 program,
        bytes32 input,
        bytes32 initialRoot,
        bytes32 finalRoot,
        uint8 b,
        bytes calldata levels
    ) external payable returns (uint256 id) {
        if (msg.value != claimBond) revert BadBond(msg.value, claimBond);
        if (b > maxB) revert BadB(b, maxB);
        if (levels.length == 0) revert LevelsEmpty();
        id = open(initialRoot, finalRoot, b, levels);
        emit ClaimMade(id, msg.sender, program, input, initialRoot, finalRoot, b, levels, "");
    }
}
