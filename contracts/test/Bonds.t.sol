// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test, Vm} from "./Vm.sol";
import {Fixture} from "./Fixture.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {Deploy} from "./Deploy.sol";
import {TestGame} from "./TestGame.sol";
import {GameTest} from "./GameTest.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Const} from "../src/Generated.sol";

/// A challenger (or defender) that is a contract: on receiving ether it
/// tries the game's entry points again (a second withdraw, a timeout, a
/// resolve, a new claim and challenge), or refuses the ether.
contract Receiver {
    DisputeGame internal immutable game;
    bool public refuse;
    uint256 public reentries;
    uint256 public refusedCalls;
    uint256 internal claimId;
    uint256 internal disputeId;

    constructor(DisputeGame game_) {
        game = game_;
    }

    function setRefuse(bool r) external {
        refuse = r;
    }

    function challenge(uint256 id) external payable returns (uint256 d) {
        claimId = id;
        d = game.challenge{value: msg.value}(id, bytes32(0));
        disputeId = d;
    }

    function withdraw() external {
        game.withdraw();
    }

    receive() external payable {
        if (refuse) revert("refused");
        reentries++;
        // The credit is already cleared: nothing more comes out.
        game.withdraw();
        // The dispute is over, the claim decided: refused or without effect.
        try game.timeout(disputeId) {}
        catch {
            refusedCalls++;
        }
        game.resolve(claimId);
        uint256 bond = game.challengeBond();
        try game.challenge{value: bond}(claimId, bytes32(0)) {}
        catch {
            refusedCalls++;
        }
        game.withdraw();
    }
}

/// The bonds: who is credited what for each way a dispute ends, pull
/// payments, and what a hostile receiver can do.
contract BondsTest is GameTest {
    /// Half the micro level's `2^a` micro-steps: the first midpoint.
    uint256 internal constant HALF = 1 << (Const.LOG2_USTEPS - 1);
    uint256 internal constant CLAIM_BOND = 3 ether;
    uint256 internal constant CHALLENGE_BOND = 1 ether;

    /// A valid step proof: from `rootBefore` the verifier computes `rootAfter`.
    bytes32 internal rootBefore;
    bytes32 internal rootAfter;
    bytes internal proof;

    function setUp() public {
        deploy(CLAIM_BOND, CHALLENGE_BOND);
        (Fixture.Case memory c,) = Fixture.read(vm.readFileBinary("test/fixtures/proofs.bin"), 0);
        vm.assertTrue(c.ok, "the first example proof is valid");
        rootBefore = c.rootBefore;
        rootAfter = abi.decode(c.result, (bytes32));
        proof = c.proof;
        fundParties();
    }

    /// The level list of one binary micro level, as the contract encodes it.
    function micro() internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(0x80 | Const.LOG2_USTEPS), uint8(1));
    }

    /// A dissection's roots: one root (two parts).
    function one(bytes32 root) internal pure returns (bytes32[] memory r) {
        r = new bytes32[](1);
        r[0] = root;
    }

    /// A claim of one micro level (`b` = 0) from `rootBefore` to `finalRoot`:
    /// the step proof decides a dispute that agrees with every midpoint.
    function claimTo(bytes32 finalRoot) internal returns (uint256 id) {
        vm.prank(DEFENDER);
        id = game.claim{value: CLAIM_BOND}(PROGRAM, INPUT, rootBefore, finalRoot, 0, micro());
    }

    function challengeBy(address who, uint256 id) internal returns (uint256 d) {
        vm.prank(who);
        d = game.challenge{value: CHALLENGE_BOND}(id, bytes32(0));
    }

    /// The defender posts `rootBefore` at every midpoint and `who` agrees
    /// with each (picks the second half): the proof of the last micro-step
    /// is awaited, from `rootBefore` to the claim's final root.
    function bisect(uint256 d, address who) internal {
        for (uint64 w = uint64(HALF); w >= 1; w /= 2) {
            uint64 position = uint64(2 * HALF) - w;
            vm.prank(DEFENDER);
            game.dissect(d, 0, position, one(rootBefore));
            vm.prank(who);
            game.pick(d, 0, position, 1, one(rootBefore));
        }
        vm.assertEq(uint256(game.getDispute(d).phase), uint256(DisputeGame.Phase.Prove), "proof awaited");
    }

    function proveBy(uint256 d, address who) internal {
        vm.prank(who);
        game.prove(d, proof);
    }

    function assertCredits(uint256 defender, uint256 challenger, uint256 other) internal view {
        vm.assertEq(game.credit(DEFENDER), defender, "defender's credit");
        vm.assertEq(game.credit(CHALLENGER), challenger, "challenger's credit");
        vm.assertEq(game.credit(OTHER), other, "other's credit");
    }

    function test_theBondsAreTheDeployments() public view {
        vm.assertEq(game.claimBond(), CLAIM_BOND, "claim bond");
        vm.assertEq(game.challengeBond(), CHALLENGE_BOND, "challenge bond");
    }

    function test_wrongBondValuesAreRefused() public {
        vm.startPrank(DEFENDER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadBond.selector, 0, CLAIM_BOND));
        game.claim(PROGRAM, INPUT, rootBefore, rootAfter, 0, micro());
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadBond.selector, CLAIM_BOND + 1, CLAIM_BOND));
        game.claim{value: CLAIM_BOND + 1}(PROGRAM, INPUT, rootBefore, rootAfter, 0, micro());
        vm.stopPrank();
        uint256 id = claimTo(rootAfter);
        vm.startPrank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadBond.selector, 0, CHALLENGE_BOND));
        game.challenge(id, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadBond.selector, CLAIM_BOND, CHALLENGE_BOND));
        game.challenge{value: CLAIM_BOND}(id, bytes32(0));
        vm.stopPrank();
        // Without bonds, a value is refused as well.
        TestGame free = Deploy.game(verifier, CLOCK, WINDOW, 48, 0, 0);
        vm.prank(DEFENDER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadBond.selector, 1, 0));
        free.claim{value: 1}(PROGRAM, INPUT, rootBefore, rootAfter, 0, micro());
        vm.assertEq(address(game).balance, CLAIM_BOND, "only the accepted claim's bond is held");
        vm.assertEq(game.getClaim(id).disputes, 0, "no dispute opened");
    }

    function test_defenderWinsByProof_thenTheClaimStands() public {
        uint256 id = claimTo(rootAfter);
        uint256 d = challengeBy(CHALLENGER, id);
        bisect(d, CHALLENGER);
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Proved(d, CHALLENGER, rootAfter, DisputeGame.Side.Defender, proof);
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Credited(DEFENDER, CHALLENGE_BOND);
        proveBy(d, CHALLENGER);
        assertCredits(CHALLENGE_BOND, 0, 0);
        // The claim stands once the window closed: the claim bond comes back.
        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Credited(DEFENDER, CLAIM_BOND);
        vm.assertTrue(game.resolve(id), "stands");
        assertCredits(CLAIM_BOND + CHALLENGE_BOND, 0, 0);
        // Resolving again credits nothing more.
        vm.assertTrue(game.resolve(id), "still stands");
        assertCredits(CLAIM_BOND + CHALLENGE_BOND, 0, 0);
        uint256 before = DEFENDER.balance;
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Withdrawn(DEFENDER, CLAIM_BOND + CHALLENGE_BOND);
        vm.prank(DEFENDER);
        game.withdraw();
        vm.assertEq(DEFENDER.balance, before + CLAIM_BOND + CHALLENGE_BOND, "paid");
        assertCredits(0, 0, 0);
        vm.assertEq(address(game).balance, 0, "nothing left");
    }

    function test_defenderWinsByTimeout() public {
        uint256 id = claimTo(rootAfter);
        uint256 d = challengeBy(CHALLENGER, id);
        vm.prank(DEFENDER);
        game.dissect(d, 0, uint64(HALF), one(rootBefore));
        vm.warp(block.timestamp + CLOCK);
        vm.prank(OTHER);
        game.timeout(d);
        vm.assertEq(uint256(game.getDispute(d).winner), uint256(DisputeGame.Side.Defender), "defender wins");
        assertCredits(CHALLENGE_BOND, 0, 0);
        vm.assertEq(uint256(game.getClaim(id).status), uint256(DisputeGame.Status.Pending), "pending");
    }

    function test_challengerWinsByProof() public {
        uint256 id = claimTo(keccak256("a wrong final root"));
        uint256 d = challengeBy(CHALLENGER, id);
        bisect(d, CHALLENGER);
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Credited(CHALLENGER, CHALLENGE_BOND);
        proveBy(d, DEFENDER);
        vm.assertEq(uint256(game.getDispute(d).winner), uint256(DisputeGame.Side.Challenger), "challenger wins");
        assertCredits(0, CHALLENGE_BOND, 0);
        // The reward is paid once the window has closed: one winner, one
        // challenge bond; the rest of the claim bond is burnt.
        uint256 closes = uint256(game.getClaim(id).createdAt) + WINDOW;
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WindowOpen.selector, id, closes));
        game.collect(d);
        vm.warp(closes);
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Collected(d, CHALLENGER, CHALLENGE_BOND);
        vm.prank(OTHER);
        vm.assertEq(game.collect(d), CHALLENGE_BOND, "a reward of one challenge bond");
        assertCredits(0, 2 * CHALLENGE_BOND, 0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NoShare.selector, d));
        game.collect(d);
        // A fallen claim returns nothing to the defender.
        vm.assertFalse(game.resolve(id), "falls");
        assertCredits(0, 2 * CHALLENGE_BOND, 0);
    }

    function test_challengerWinsByTimeout() public {
        uint256 id = claimTo(rootAfter);
        uint256 d = challengeBy(CHALLENGER, id);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(d);
        assertCredits(0, CHALLENGE_BOND, 0);
        vm.assertEq(uint256(game.getClaim(id).status), uint256(DisputeGame.Status.Falls), "falls");
        vm.warp(uint256(game.getClaim(id).createdAt) + WINDOW);
        game.collect(d);
        assertCredits(0, 2 * CHALLENGE_BOND, 0);
    }

    /// The proof is awaited and nobody sends it: the defender's clock runs
    /// out and the challenger wins, as the Rust rules say.
    function test_challengerWinsWhenTheProofNeverComes() public {
        uint256 id = claimTo(rootAfter);
        uint256 d = challengeBy(CHALLENGER, id);
        bisect(d, CHALLENGER);
        DisputeGame.Dispute memory p = game.getDispute(d);
        vm.assertEq(uint256(p.turn), uint256(DisputeGame.Side.Defender), "the defender's clock runs");
        vm.assertEq(uint256(p.lo), 2 * HALF - 1, "the last micro-step");
        vm.assertEq(uint256(p.hi), 2 * HALF, "the end of its unit");
        vm.assertEq(p.loRoot, rootBefore, "agreed root");
        vm.assertEq(p.hiRoot, rootAfter, "defender's root");
        uint256 left = game.clockLeft(d, DisputeGame.Side.Defender);
        vm.warp(block.timestamp + left - 1);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockLeft.selector, DisputeGame.Side.Defender, 1));
        game.timeout(d);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockRanOut.selector, DisputeGame.Side.Defender));
        proveBy(d, CHALLENGER);
        game.timeout(d);
        DisputeGame.Dispute memory e = game.getDispute(d);
        vm.assertEq(uint256(e.phase), uint256(DisputeGame.Phase.Done), "over");
        vm.assertEq(uint256(e.winner), uint256(DisputeGame.Side.Challenger), "challenger wins");
        vm.assertEq(uint256(e.clock[0]), 0, "the defender's clock is spent");
        vm.assertEq(uint256(e.lo) + 1, uint256(e.hi), "the interval as it was");
        assertCredits(0, CHALLENGE_BOND, 0);
    }

    /// Two challengers win: each is rewarded one challenge bond, whoever won
    /// first, and the rest of the claim bond is burnt; a third, who loses,
    /// pays the defender and has no reward.
    function test_eachWinnerIsRewardedTheRestIsBurnt() public {
        uint256 id = claimTo(keccak256("a wrong final root"));
        uint256 d1 = challengeBy(CHALLENGER, id);
        uint256 d2 = challengeBy(OTHER, id);
        address third = address(0xC2);
        vm.deal(third, CHALLENGE_BOND);
        uint256 d3 = challengeBy(third, id);
        vm.prank(DEFENDER);
        game.dissect(d3, 0, uint64(HALF), one(rootBefore));
        // OTHER wins first (by proof); CHALLENGER later (by timeout).
        bisect(d2, OTHER);
        proveBy(d2, OTHER);
        assertCredits(0, 0, CHALLENGE_BOND);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(d1);
        assertCredits(0, CHALLENGE_BOND, CHALLENGE_BOND);
        vm.warp(uint256(game.getClaim(id).createdAt) + WINDOW);
        // The window has closed, but a dispute is undecided: no share yet.
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Undecided.selector, id, 1));
        game.collect(d2);
        game.timeout(d3);
        assertCredits(CHALLENGE_BOND, CHALLENGE_BOND, CHALLENGE_BOND);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NoShare.selector, d3));
        game.collect(d3);
        game.collect(d2);
        game.collect(d1);
        assertCredits(CHALLENGE_BOND, 2 * CHALLENGE_BOND, 2 * CHALLENGE_BOND);
        vm.assertEq(game.getClaim(id).winners, 2, "two winners");
        vm.assertEq(game.credit(third), 0, "the loser's bond is the defender's");
        vm.assertEq(address(game).balance, CLAIM_BOND + 3 * CHALLENGE_BOND, "all bonds held until withdrawn");
        vm.prank(CHALLENGER);
        game.withdraw();
        vm.prank(OTHER);
        game.withdraw();
        vm.prank(DEFENDER);
        game.withdraw();
        vm.assertEq(address(game).balance, CLAIM_BOND - 2 * CHALLENGE_BOND, "the rest of the claim bond is burnt");
    }

    /// A liar races an honest challenger with its own disputes from other
    /// accounts, opened first and lost (as the defender) first. Each
    /// refuting dispute, the honest one included, is rewarded the same,
    /// whatever the order: the liar gets back at most a reward per
    /// self-dispute out of its own claim bond and ends behind; the honest
    /// challenger ends a reward ahead.
    function test_selfDisputesGainTheLiarNothing() public {
        for (uint256 k = 0; k <= 5; k++) {
            selfDisputeRace(k);
        }
    }

    function selfDisputeRace(uint256 k) internal {
        uint256 id = claimTo(keccak256("a wrong final root"));
        address[] memory own = new address[](k);
        uint256 liarBefore = DEFENDER.balance + CLAIM_BOND;
        for (uint256 i = 0; i < k; i++) {
            own[i] = address(uint160(0xE000 + i));
            vm.deal(own[i], CHALLENGE_BOND);
            liarBefore += CHALLENGE_BOND;
            challengeBy(own[i], id);
        }
        uint256 honestBefore = CHALLENGER.balance;
        uint256 h = challengeBy(CHALLENGER, id);
        // The liar's disputes win first: each bisected to the proof at once,
        // which refutes the claim's final root.
        (, uint256 count) = game.counts();
        for (uint256 i = 0; i < k; i++) {
            uint256 d = count - k - 1 + i;
            bisect(d, own[i]);
            proveBy(d, own[i]);
        }
        // The honest dispute last, by the defender's timeout.
        vm.warp(block.timestamp + CLOCK);
        game.timeout(h);
        vm.warp(uint256(game.getClaim(id).createdAt) + WINDOW);
        uint256 reward = CLAIM_BOND / (k + 1) < CHALLENGE_BOND ? CLAIM_BOND / (k + 1) : CHALLENGE_BOND;
        for (uint256 i = 0; i < k; i++) {
            vm.assertEq(game.collect(count - k - 1 + i), reward, "a self-dispute's reward");
            vm.prank(own[i]);
            game.withdraw();
        }
        vm.assertEq(game.collect(h), reward, "the honest reward: the same, whatever the order");
        vm.prank(CHALLENGER);
        game.withdraw();
        vm.prank(DEFENDER);
        game.withdraw();
        uint256 liarAfter = DEFENDER.balance;
        for (uint256 i = 0; i < k; i++) {
            liarAfter += own[i].balance;
        }
        vm.assertEq(CHALLENGER.balance, honestBefore + reward, "the honest challenger ends a reward ahead");
        vm.assertEq(liarAfter + CLAIM_BOND - k * reward, liarBefore, "the liar recovers k rewards only");
        vm.assertLe(liarAfter, liarBefore - reward, "the liar ends behind by at least the honest reward");
        // Everything but the burnt rest of the claim bond has left this claim.
        vm.assertEq(game.credit(DEFENDER), 0, "nothing left to the liar");
    }

    function test_withdrawingNothingDoesNothing() public {
        claimTo(rootAfter);
        uint256 before = OTHER.balance;
        vm.recordLogs();
        vm.prank(OTHER);
        game.withdraw();
        vm.assertEq(vm.getRecordedLogs().length, 0, "no event");
        vm.assertEq(OTHER.balance, before, "nothing paid");
        vm.assertEq(address(game).balance, CLAIM_BOND, "the bond stays");
    }

    /// A challenger contract that re-enters the game from `receive`:
    /// another withdraw, a timeout, a resolve, a new challenge. It is paid
    /// its credit once and nothing more, while the game holds other bonds.
    function test_aReentrantReceiverGainsNothing() public {
        uint256 other = claimTo(rootAfter);
        uint256 id = claimTo(rootAfter);
        challengeBy(OTHER, other);
        Receiver r = new Receiver(game);
        vm.deal(address(r), 0);
        uint256 d = r.challenge{value: CHALLENGE_BOND}(id);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(d);
        vm.warp(uint256(game.getClaim(id).createdAt) + WINDOW);
        game.collect(d);
        vm.assertEq(game.credit(address(r)), 2 * CHALLENGE_BOND, "credited its bond and its reward");
        uint256 held = address(game).balance;
        r.withdraw();
        vm.assertEq(r.reentries(), 1, "re-entered once");
        vm.assertEq(r.refusedCalls(), 2, "the timeout and the new challenge were refused");
        vm.assertEq(address(r).balance, 2 * CHALLENGE_BOND, "paid its credit, nothing more");
        vm.assertEq(address(game).balance, held - 2 * CHALLENGE_BOND, "the other bonds stay");
        vm.assertEq(game.credit(address(r)), 0, "credit cleared");
        vm.assertEq(uint256(game.getClaim(id).status), uint256(DisputeGame.Status.Falls), "falls");
        // A second withdraw pays nothing.
        r.withdraw();
        vm.assertEq(address(r).balance, 2 * CHALLENGE_BOND, "still its credit only");
    }

    /// A receiver that refuses the ether: the withdraw reverts with
    /// `TransferFailed` and the credit stays, to be withdrawn later.
    function test_aRefusedTransferKeepsTheCredit() public {
        uint256 id = claimTo(rootAfter);
        Receiver r = new Receiver(game);
        uint256 d = r.challenge{value: CHALLENGE_BOND}(id);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(d);
        vm.warp(uint256(game.getClaim(id).createdAt) + WINDOW);
        game.collect(d);
        r.setRefuse(true);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.TransferFailed.selector, address(r), 2 * CHALLENGE_BOND));
        r.withdraw();
        vm.assertEq(game.credit(address(r)), 2 * CHALLENGE_BOND, "credit kept");
        vm.assertEq(address(game).balance, CLAIM_BOND + CHALLENGE_BOND, "ether kept");
        r.setRefuse(false);
        r.withdraw();
        vm.assertEq(address(r).balance, 2 * CHALLENGE_BOND, "paid once accepted");
        vm.assertEq(game.credit(address(r)), 0, "credit cleared");
    }
}
