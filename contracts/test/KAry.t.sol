// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {KAryPlay} from "./KAryPlay.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Const} from "../src/Generated.sol";

/// The k-ary game: whole games at k = 2 .. 32 and mixed level lists (an
/// honest challenger against a lying defender, an honest defender against
/// a lying challenger, the lie first seen at the first, a middle and the
/// last part), and each refusal of `dissect` and `pick`.
contract KAryTest is KAryPlay {
    uint64 internal constant LAST_MICRO = uint64(1 << Const.LOG2_USTEPS) - 2;

    function setUp() public {
        deploy(0, 0);
        loadProof();
    }

    /// Plays `[steps b, micro a]` at fan-out `2^f` both ways, with the lie
    /// from A-step `t + 1` and micro-step `j + 1`; checks the winner and
    /// the number of rounds.
    function both(uint8 b, uint256 f, uint64 t, uint64 j) internal {
        bytes memory levels = twoLevels(b, f);
        uint256 rounds = roundsOf(b, f) + roundsOf(Const.LOG2_USTEPS, f);
        Run memory r = open(b, levels, t, j, true);
        vm.assertEq(uint256(playOut(r)), uint256(DisputeGame.Side.Challenger), "the honest challenger wins");
        vm.assertEq(uint256(game.getClaim(r.id).status), uint256(DisputeGame.Status.Falls), "the claim falls");
        vm.assertEq(r.rounds, rounds, "ceil(b / log2 k) + ceil(a / log2 k) rounds");
        r = open(b, levels, t, j, false);
        vm.assertEq(uint256(playOut(r)), uint256(DisputeGame.Side.Defender), "the honest defender wins");
        vm.assertEq(r.rounds, rounds, "rounds");
    }

    /// Each k at b = 20 (and b = 5), the lie first seen in a middle part,
    /// at the first part (A-step 1, micro-step 2) and at the last.
    function fan(uint256 f) internal {
        both(20, f, 9, 40);
        both(20, f, 0, 1);
        both(20, f, (1 << 20) - 1, LAST_MICRO);
        both(5, f, 17, 100);
    }

    function test_k2() public {
        fan(1);
    }

    function test_k4() public {
        fan(2);
    }

    function test_k8() public {
        fan(3);
    }

    function test_k16() public {
        fan(4);
    }

    function test_k32() public {
        fan(5);
    }

    function test_k64() public {
        both(12, 6, 1000, 70);
    }

    /// Several levels of each kind with their own fan-outs:
    /// `[steps 7 k=8, steps 6 k=4, micro 4 k=16, micro 3 k=2]`.
    function test_mixedLevels() public {
        bytes memory levels = bytes.concat(level(false, 7, 3), level(false, 6, 2), level(true, 4, 4), level(true, 3, 1));
        uint256 rounds = roundsOf(7, 3) + roundsOf(6, 2) + roundsOf(4, 4) + roundsOf(3, 1);
        for (uint256 i = 0; i < 3; i++) {
            (uint64 t, uint64 j) = i == 0 ? (uint64(5000), uint64(33)) : i == 1 ? (0, 1) : (8191, LAST_MICRO);
            Run memory r = open(13, levels, t, j, true);
            vm.assertEq(uint256(playOut(r)), uint256(DisputeGame.Side.Challenger), "the honest challenger wins");
            vm.assertEq(r.rounds, rounds, "rounds");
            r = open(13, levels, t, j, false);
            vm.assertEq(uint256(playOut(r)), uint256(DisputeGame.Side.Defender), "the honest defender wins");
        }
    }

    /// The next call, by `who`, reverts with `err`; afterwards the dispute's
    /// `seq` is unchanged (checked by the caller).
    function expectRefusal(address who, bytes memory err) internal {
        vm.prank(who);
        vm.expectRevert(err);
    }

    function roots(uint256 n, bytes32 salt) internal pure returns (bytes32[] memory r) {
        r = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            r[i] = keccak256(abi.encode(salt, i));
        }
    }

    /// A dispute at k = 8 over 32 A-steps (`[steps 5 k=8, micro 7 k=8]`):
    /// its first round has 8 parts of 4 A-steps, 7 roots, the first at 4.
    function opened() internal returns (uint256 d) {
        d = open(5, twoLevels(5, 3), 9, 40, true).d;
    }

    /// `opened`, dissected with `roots(7, "a")`: the challenger's turn.
    function dissected() internal returns (uint256 d, bytes32[] memory seven) {
        d = opened();
        seven = roots(7, "a");
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Dissected(d, 0, 4, seven);
        vm.prank(DEFENDER);
        game.dissect(d, 0, 4, seven);
    }

    function assertSeq(uint256 d, uint256 seq) internal view {
        vm.assertEq(uint256(game.getDispute(d).seq), seq, "nothing moved");
    }

    /// Dispute `d` stands at `[lo, hi]` with these end roots.
    function assertInterval(uint256 d, uint64 lo, uint64 hi, bytes32 loRoot, bytes32 hiRoot) internal view {
        DisputeGame.Dispute memory v = game.getDispute(d);
        vm.assertEq(uint256(v.lo), lo, "lo");
        vm.assertEq(uint256(v.hi), hi, "hi");
        vm.assertEq(v.loRoot, loRoot, "the root at lo");
        vm.assertEq(v.hiRoot, hiRoot, "the root at hi");
    }

    function test_outOfTurnIsRefused() public {
        uint256 d = opened();
        bytes32[] memory seven = roots(7, "a");
        // The challenger before any dissection, a stranger for the defender.
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.OutOfTurn.selector, 0, CHALLENGER));
        game.dissect(d, 0, 4, seven);
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.OutOfTurn.selector, 0, CHALLENGER));
        game.pick(d, 0, 4, 0, seven);
        expectRefusal(OTHER, abi.encodeWithSelector(DisputeGame.OutOfTurn.selector, 0, OTHER));
        game.dissect(d, 0, 4, seven);
        assertSeq(d, 1);
        vm.prank(DEFENDER);
        game.dissect(d, 0, 4, seven);
        // The challenger's turn: the defender may not dissect again nor
        // pick, a stranger may not pick; no proof is awaited.
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.OutOfTurn.selector, 1, DEFENDER));
        game.dissect(d, 0, 4, seven);
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.OutOfTurn.selector, 1, DEFENDER));
        game.pick(d, 0, 4, 2, seven);
        expectRefusal(OTHER, abi.encodeWithSelector(DisputeGame.OutOfTurn.selector, 1, OTHER));
        game.pick(d, 0, 4, 2, seven);
        expectRefusal(
            CHALLENGER, abi.encodeWithSelector(DisputeGame.Unexpected.selector, DisputeGame.Phase.Bisect, true)
        );
        game.prove(d, proof);
        assertSeq(d, 2);
    }

    function test_wrongCountIsRefused() public {
        uint256 d = opened();
        // 8 parts take 7 roots.
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.Roots.selector, 7, 6));
        game.dissect(d, 0, 4, roots(6, "a"));
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.Roots.selector, 7, 8));
        game.dissect(d, 0, 4, roots(8, "a"));
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.Roots.selector, 7, 0));
        game.dissect(d, 0, 4, new bytes32[](0));
        assertSeq(d, 1);
        bytes32[] memory seven;
        (d, seven) = dissected();
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.Roots.selector, 7, 6));
        game.pick(d, 0, 4, 2, roots(6, "a"));
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.Roots.selector, 7, 8));
        game.pick(d, 0, 4, 2, roots(8, "a"));
        assertSeq(d, 2);
    }

    function test_partOutOfRangeIsRefused() public {
        (uint256 d, bytes32[] memory seven) = dissected();
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.Part.selector, 8, 8));
        game.pick(d, 0, 4, 8, seven);
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.Part.selector, 255, 8));
        game.pick(d, 0, 4, 255, seven);
        assertSeq(d, 2);
        // The last part is in range.
        vm.prank(CHALLENGER);
        game.pick(d, 0, 4, 7, seven);
        assertInterval(d, 28, 32, seven[6], game.getClaim(0).finalRoot);
    }

    function test_rootsOtherThanTheDissectionsAreRefused() public {
        (uint256 d, bytes32[] memory seven) = dissected();
        bytes32[] memory other = roots(7, "a");
        other[3] = bytes32(uint256(1));
        bytes32 stored = keccak256(abi.encodePacked(seven));
        vm.assertEq(game.getDispute(d).rootsHash, stored, "only the roots' hash is stored");
        expectRefusal(
            CHALLENGER,
            abi.encodeWithSelector(DisputeGame.RootsMismatch.selector, stored, keccak256(abi.encodePacked(other)))
        );
        game.pick(d, 0, 4, 2, other);
        // The same roots in another order.
        other = roots(7, "a");
        (other[0], other[1]) = (other[1], other[0]);
        expectRefusal(
            CHALLENGER,
            abi.encodeWithSelector(DisputeGame.RootsMismatch.selector, stored, keccak256(abi.encodePacked(other)))
        );
        game.pick(d, 0, 4, 0, other);
        assertSeq(d, 2);
    }

    function test_wrongPlaceIsRefused() public {
        uint256 d = opened();
        bytes32[] memory seven = roots(7, "a");
        // The binary midpoint, another level.
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.Place.selector, 0, 16, 0, 4));
        game.dissect(d, 0, 16, seven);
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.Place.selector, 1, 4, 0, 4));
        game.dissect(d, 1, 4, seven);
        assertSeq(d, 1);
        (d, seven) = dissected();
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.Place.selector, 0, 16, 0, 4));
        game.pick(d, 0, 16, 2, seven);
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.Place.selector, 1, 4, 0, 4));
        game.pick(d, 1, 4, 2, seven);
        assertSeq(d, 2);
    }

    /// After part 2 ([8, 12]) the last round of the level has 4 parts of 1
    /// A-step, 3 roots from 9; its last part hands over to the micro level.
    function test_theLastRoundHasFewerParts() public {
        (uint256 d, bytes32[] memory seven) = dissected();
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Picked(d, 0, 4, 2);
        vm.prank(CHALLENGER);
        game.pick(d, 0, 4, 2, seven);
        assertInterval(d, 8, 12, seven[1], seven[2]);
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.Roots.selector, 3, 7));
        game.dissect(d, 0, 9, seven);
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.Place.selector, 0, 12, 0, 9));
        game.dissect(d, 0, 12, roots(3, "b"));
        vm.prank(DEFENDER);
        game.dissect(d, 0, 9, roots(3, "b"));
        expectRefusal(CHALLENGER, abi.encodeWithSelector(DisputeGame.Part.selector, 4, 4));
        game.pick(d, 0, 9, 4, roots(3, "b"));
        vm.prank(CHALLENGER);
        game.pick(d, 0, 9, 3, roots(3, "b"));
        DisputeGame.Dispute memory v = game.getDispute(d);
        vm.assertEq(uint256(v.level), 1, "the micro level");
        vm.assertEq(uint256(v.t), 11, "A-step 11");
        vm.assertEq(v.loRoot, attach(roots(3, "b")[2]), "attach(Q*, S_11)");
        vm.assertEq(v.hiRoot, attach(seven[2]), "attach(Q*, S_12)");
        vm.assertEq(uint256(v.fanLog2), 3, "k = 8");
        // The micro level of 2^7: 8 parts of 16 first.
        expectRefusal(DEFENDER, abi.encodeWithSelector(DisputeGame.Place.selector, 1, 4, 1, 16));
        game.dissect(d, 1, 4, seven);
        vm.prank(DEFENDER);
        game.dissect(d, 1, 16, seven);
    }
}
