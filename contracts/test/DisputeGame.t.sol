// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test, Vm, console} from "./Vm.sol";
import {Fixture} from "./Fixture.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {Deploy} from "./Deploy.sol";
import {TestGame} from "./TestGame.sol";
import {GameTest} from "./GameTest.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Const, InitialState, Policy} from "../src/Generated.sol";

/// A whole game as the Rust build played it (`src/chain/fixtures.rs`
/// `game_fixture`): the claim, the moves, the outcome.
struct GameFile {
    /// The program's image root, then its witness (mem, regs, words).
    bytes32[4] image;
    bytes input;
    bytes32 initialRoot;
    bytes32 finalRoot;
    uint8 b;
    bytes levels;
    bytes data;
    uint256 movesAt;
    uint256 moves;
}

/// The game in fixture bytes `d` (layout in `game_fixture`).
function parseGame(bytes memory d) pure returns (GameFile memory g) {
    g.data = d;
    for (uint256 i = 0; i < 4; i++) {
        g.image[i] = word(d, 32 * i);
    }
    uint256 len = Fixture.u16(d, 128);
    g.input = Fixture.slice(d, 130, len);
    uint256 at = 130 + len;
    g.initialRoot = word(d, at);
    g.finalRoot = word(d, at + 32);
    g.b = uint8(d[at + 64]);
    uint256 n = uint8(d[at + 65]);
    g.levels = Fixture.slice(d, at + 66, n);
    g.moves = Fixture.u16(d, at + 66 + n);
    g.movesAt = at + 68 + n;
}

/// The 32 bytes of `d` at `at`.
function word(bytes memory d, uint256 at) pure returns (bytes32 w) {
    assembly ("memory-safe") {
        w := mload(add(add(d, 0x20), at))
    }
}

/// The big-endian u64 of `d` at `at`.
function u64at(bytes memory d, uint256 at) pure returns (uint64) {
    return uint64(uint256(word(d, at)) >> 192);
}

contract DisputeGameTest is GameTest {
    function setUp() public {
        deploy(0, 0);
    }

    // ------------------------------------------------------------ fixtures

    function load(string memory path) internal view returns (GameFile memory) {
        return parseGame(vm.readFileBinary(path));
    }

    /// The fixture's claim as a defender makes it: the program by its
    /// image, the input's bytes; the contract derives root(S_0), which must
    /// be the Rust build's.
    function claimFrom(GameFile memory g) internal returns (uint256 id) {
        (uint256 next,) = game.counts();
        // The program and the input's hash are kept in the event only.
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.ClaimMade(
            next, DEFENDER, g.image[0], keccak256(g.input), g.initialRoot, g.finalRoot, g.b, g.levels, g.input
        );
        vm.prank(DEFENDER);
        id = game.claim(g.image[0], [g.image[1], g.image[2], g.image[3]], g.input, g.finalRoot, g.b, g.levels);
        vm.assertEq(game.getClaim(id).initialRoot, g.initialRoot, "root(S_0) derived as in Rust");
    }

    /// Plays move `k` of the file starting at byte `at` for dispute `d`;
    /// returns the next offset and the gas of the move.
    function play(GameFile memory g, uint256 id, uint256 d, uint256 at, address challenger)
        internal
        returns (uint256 next, uint256 gas, uint8 kind)
    {
        bytes memory m = g.data;
        kind = uint8(m[at]);
        if (kind == 0) {
            vm.prank(challenger);
            game.challenge(id, word(m, at + 1));
            next = at + 33;
        } else if (kind == 1) {
            vm.prank(DEFENDER);
            game.midpoint(d, uint8(m[at + 1]), u64at(m, at + 2), word(m, at + 10));
            next = at + 42;
        } else if (kind == 2 || kind == 3) {
            vm.prank(challenger);
            if (kind == 2) game.agree(d, uint8(m[at + 1]), u64at(m, at + 2));
            else game.disagree(d, uint8(m[at + 1]), u64at(m, at + 2));
            next = at + 10;
        } else {
            uint256 len = Fixture.u16(m, at + 1);
            vm.prank(challenger);
            game.prove(d, Fixture.slice(m, at + 3, len));
            next = at + 3 + len;
        }
        gas = vm.lastCallGas().gasTotalUsed;
    }

    /// Plays the whole file; returns the total gas and the gas of the
    /// bisection moves and of the proof.
    function playAll(GameFile memory g, uint256 id, uint256 d, address challenger)
        internal
        returns (uint256 total, uint256 bisection, uint256 moves, uint256 proofGas)
    {
        uint256 at = g.movesAt;
        for (uint256 k = 0; k < g.moves; k++) {
            vm.warp(block.timestamp + 1);
            (uint256 next, uint256 gas, uint8 kind) = play(g, id, d, at, challenger);
            total += gas;
            if (kind >= 1 && kind <= 3) {
                bisection += gas;
                moves++;
            }
            if (kind == 4) proofGas = gas;
            at = next;
        }
    }

    function wholeGame(string memory path) internal {
        GameFile memory g = load(path);
        uint256 id = claimFrom(g);
        (uint256 total, uint256 bisection, uint256 moves, uint256 proofGas) = playAll(g, id, 0, CHALLENGER);
        uint256 end = g.movesAt;
        // The outcome follows the moves: winner byte and the computed root.
        for (uint256 k = 0; k < g.moves; k++) {
            uint8 kind = uint8(g.data[end]);
            end += kind == 0 ? 33 : kind == 1 ? 42 : kind <= 3 ? 10 : 3 + Fixture.u16(g.data, end + 1);
        }
        DisputeGame.Dispute memory d = game.getDispute(0);
        vm.assertEq(uint256(d.phase), uint256(DisputeGame.Phase.Done), "the game ended");
        vm.assertEq(uint256(d.winner), uint256(uint8(g.data[end])), "the winner Rust computed");
        assertChallengerWon(id, 0);
        console.log(
            string.concat(
                "game b=",
                vm.toString(g.b),
                ": ",
                vm.toString(g.moves),
                " moves, total execution gas ",
                vm.toString(total),
                "; ",
                vm.toString(moves),
                " bisection moves, ",
                vm.toString(bisection / moves),
                " gas each on average; the step proof ",
                vm.toString(proofGas)
            )
        );
    }

    // ------------------------------------------------------------ whole games

    function test_wholeGame_b5() public {
        wholeGame("test/fixtures/game5.bin");
    }

    function test_wholeGame_b20() public {
        wholeGame("test/fixtures/game20.bin");
    }

    function test_wholeGame_b40() public {
        wholeGame("test/fixtures/game40.bin");
    }

    // ------------------------------------------------------------ rules

    /// A claim with a challenge by CHALLENGER: the defender is to move.
    function started() internal returns (GameFile memory g, uint256 id) {
        g = load("test/fixtures/game5.bin");
        id = claimFrom(g);
        (uint256 next,,) = play(g, id, 0, g.movesAt, CHALLENGER);
        g.movesAt = next;
        g.moves -= 1;
    }

    /// The next call, by `who`, is refused: the move is `turn`'s.
    function expectOutOfTurn(address who, DisputeGame.Side turn) internal {
        vm.prank(who);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.OutOfTurn.selector, turn, who));
    }

    function test_outOfTurnMovesAreRefused() public {
        (GameFile memory g,) = started();
        // The challenger may not post a midpoint, nor agree before one.
        expectOutOfTurn(CHALLENGER, DisputeGame.Side.Defender);
        game.midpoint(0, 0, 16, bytes32(uint256(1)));
        expectOutOfTurn(CHALLENGER, DisputeGame.Side.Defender);
        game.agree(0, 0, 16);
        // A stranger may not move for the defender.
        expectOutOfTurn(OTHER, DisputeGame.Side.Defender);
        game.midpoint(0, 0, 16, bytes32(uint256(1)));
        // The defender posts; now it may not post again, nor agree.
        vm.prank(DEFENDER);
        game.midpoint(0, 0, 16, word(g.data, g.movesAt + 10));
        expectOutOfTurn(DEFENDER, DisputeGame.Side.Challenger);
        game.midpoint(0, 0, 16, bytes32(uint256(1)));
        expectOutOfTurn(DEFENDER, DisputeGame.Side.Challenger);
        game.disagree(0, 0, 16);
        // No proof is awaited yet.
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Unexpected.selector, DisputeGame.Phase.Bisect, true));
        game.prove(0, hex"02");
    }

    function test_wrongLevelOrPositionIsRefused() public {
        started();
        vm.startPrank(DEFENDER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Place.selector, 1, 16, 0, 16));
        game.midpoint(0, 1, 16, bytes32(uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Place.selector, 0, 15, 0, 16));
        game.midpoint(0, 0, 15, bytes32(uint256(1)));
        game.midpoint(0, 0, 16, bytes32(uint256(1)));
        vm.stopPrank();
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Place.selector, 0, 8, 0, 16));
        game.agree(0, 0, 8);
    }

    /// The micro level starts from roots the contract attached itself, and
    /// the final proof is checked against the agreed one: a proof from
    /// another root is refused and changes nothing.
    function test_handOverRootsAreTheContractsOwn() public {
        GameFile memory g = load("test/fixtures/game5.bin");
        uint256 id = claimFrom(g);
        uint256 at = g.movesAt;
        bytes32 lastLo;
        bytes32 lastHi;
        bytes32 microLo;
        bytes32 microHi;
        for (uint256 k = 0; k + 1 < g.moves; k++) {
            DisputeGame.Dispute memory before;
            if (k > 0) before = game.getDispute(0);
            (at,,) = play(g, id, 0, at, CHALLENGER);
            DisputeGame.Dispute memory d = game.getDispute(0);
            if (d.level == 1 && k > 0 && before.level == 0) {
                // The move that ended the steps level: its last interval
                // was one A-step from lo to lo + 1.
                (lastLo, lastHi) = kind(g, k) == 2 ? (before.midRoot, before.hiRoot) : (before.loRoot, before.midRoot);
                (microLo, microHi) = (d.loRoot, d.hiRoot);
            }
        }
        DisputeGame.Dispute memory p = game.getDispute(0);
        vm.assertEq(uint256(p.phase), uint256(DisputeGame.Phase.Prove), "awaiting the proof");
        // At the proof, lo is the absolute micro-step (the micro level has
        // base 0 and units of one micro-step) and hi the end of its unit.
        vm.assertTrue(p.hasT, "the A-step is known");
        vm.assertEq(uint256(p.unitLog2), 0, "micro-steps");
        vm.assertEq(uint256(p.lo) + 1, uint256(p.hi), "one micro-step");
        vm.assertEq(p.midRoot, bytes32(0), "no midpoint");
        vm.assertEq(uint256(p.seq), g.moves - 1, "the challenge and every bisection move counted");
        // At the hand-over the micro level began at attach(Q*, S_t) and
        // attach(Q*, S_(t+1)), computed by the contract.
        vm.assertEq(uint256(p.level), 1, "micro level");
        vm.assertTrue(lastLo != bytes32(0) && lastHi != bytes32(0), "saw the hand-over");
        vm.assertEq(microLo, keccak256(abi.encodePacked(Const.Q_STAR_ROOT, lastLo)), "attach(Q*, S_t)");
        vm.assertEq(microHi, keccak256(abi.encodePacked(Const.Q_STAR_ROOT, lastHi)), "attach(Q*, S_t+1)");
        // A valid proof of another step (the example ALU proof) does not fit.
        bytes memory fx = vm.readFileBinary("test/fixtures/proofs.bin");
        (Fixture.Case memory c,) = Fixture.read(fx, 0);
        vm.prank(CHALLENGER);
        vm.expectRevert();
        game.prove(0, c.proof);
        vm.assertEq(uint256(game.getDispute(0).phase), uint256(DisputeGame.Phase.Prove), "nothing changed");
        // The right proof settles it.
        play(g, id, 0, at, CHALLENGER);
        vm.assertEq(uint256(game.getDispute(0).winner), uint256(DisputeGame.Side.Challenger), "challenger wins");
    }

    /// The type of move `k` of the file.
    function kind(GameFile memory g, uint256 k) internal pure returns (uint8) {
        uint256 at = g.movesAt;
        for (uint256 i = 0; i < k; i++) {
            uint8 t = uint8(g.data[at]);
            at += t == 0 ? 33 : t == 1 ? 42 : t <= 3 ? 10 : 3 + Fixture.u16(g.data, at + 1);
        }
        return uint8(g.data[at]);
    }

    function test_timeouts() public {
        started();
        // The defender is silent: not yet out of time, then out.
        vm.warp(block.timestamp + CLOCK - 1);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockLeft.selector, DisputeGame.Side.Defender, 1));
        game.timeout(0);
        vm.warp(block.timestamp + 1);
        vm.prank(DEFENDER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockRanOut.selector, DisputeGame.Side.Defender));
        game.midpoint(0, 0, 16, bytes32(uint256(1)));
        vm.prank(OTHER);
        game.timeout(0);
        vm.assertEq(uint256(game.getDispute(0).winner), uint256(DisputeGame.Side.Challenger), "challenger wins");
        vm.assertEq(uint256(game.getClaim(0).status), uint256(DisputeGame.Status.Falls), "the claim falls");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Over.selector, 0));
        game.timeout(0);
    }

    function test_clocksAreChargedOnlyToTheSideOnTurn() public {
        started();
        vm.warp(block.timestamp + 100);
        vm.prank(DEFENDER);
        game.midpoint(0, 0, 16, bytes32(uint256(1)));
        vm.assertEq(game.clockLeft(0, DisputeGame.Side.Defender), CLOCK - 100, "defender charged");
        vm.warp(block.timestamp + 30);
        vm.assertEq(game.clockLeft(0, DisputeGame.Side.Challenger), CLOCK - 30, "challenger running");
        vm.assertEq(game.clockLeft(0, DisputeGame.Side.Defender), CLOCK - 100, "defender stopped");
    }

    /// Three challengers: two squat (and time out), one plays the game and
    /// wins; the claim falls. Alone, the squatters do not make it fall,
    /// and it stands only once the window has closed.
    function test_manyChallengers() public {
        GameFile memory g = load("test/fixtures/game5.bin");
        uint256 id = claimFrom(g);
        address squat1 = address(0x5A1);
        address squat2 = address(0x5A2);
        vm.prank(squat1);
        uint256 d1 = game.challenge(id, bytes32(0));
        vm.prank(squat2);
        uint256 d2 = game.challenge(id, bytes32(0));
        // The defender answers both squatters' first midpoint; they never answer.
        bytes32 mid = word(g.data, g.movesAt + 33 + 10);
        vm.startPrank(DEFENDER);
        game.midpoint(d1, 0, 16, mid);
        game.midpoint(d2, 0, 16, mid);
        vm.stopPrank();
        vm.warp(block.timestamp + CLOCK);
        game.timeout(d1);
        game.timeout(d2);
        vm.assertEq(uint256(game.getDispute(d1).winner), uint256(DisputeGame.Side.Defender), "squatter 1 loses");
        vm.assertEq(uint256(game.getDispute(d2).winner), uint256(DisputeGame.Side.Defender), "squatter 2 loses");
        vm.assertEq(uint256(game.getClaim(id).status), uint256(DisputeGame.Status.Pending), "still pending");
        // The window is open: the claim cannot stand yet, and an honest challenger joins.
        vm.expectRevert(
            abi.encodeWithSelector(DisputeGame.WindowOpen.selector, id, uint256(game.getClaim(id).createdAt) + WINDOW)
        );
        game.resolve(id);
        playAll(g, id, 2, CHALLENGER);
        vm.assertEq(uint256(game.getDispute(2).winner), uint256(DisputeGame.Side.Challenger), "honest wins");
        vm.assertEq(uint256(game.getClaim(id).status), uint256(DisputeGame.Status.Falls), "the claim falls");
        vm.assertEq(game.getClaim(id).disputes, 3, "three disputes");
        vm.assertEq(game.disputeOf(id, 0), d1, "first dispute");
        vm.assertEq(game.disputeOf(id, 1), d2, "second dispute");
        vm.assertEq(game.disputeOf(id, 2), 2, "third dispute");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.UnknownDispute.selector, 3));
        game.disputeOf(id, 3);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.UnknownClaim.selector, id + 1));
        game.disputeOf(id + 1, 0);
    }

    /// `Challenged` numbers the disputes of each claim from 0; the ids are global.
    function test_challengedCarriesTheIndexWithinTheClaim() public {
        vm.startPrank(DEFENDER);
        uint256 a = game.claim(PROGRAM, INPUT, 0, 0, 5, hex"0587");
        uint256 b = game.claim(PROGRAM, INPUT, 0, 0, 5, hex"0587");
        vm.stopPrank();
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Challenged(b, 0, CHALLENGER, 0, bytes32(uint256(5)));
        vm.prank(CHALLENGER);
        game.challenge(b, bytes32(uint256(5)));
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Challenged(a, 1, OTHER, 0, bytes32(0));
        vm.prank(OTHER);
        game.challenge(a, bytes32(0));
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.Challenged(b, 2, OTHER, 1, bytes32(0));
        vm.prank(OTHER);
        game.challenge(b, bytes32(0));
        vm.assertEq(game.disputeOf(b, 0), 0, "claim b, dispute 0");
        vm.assertEq(game.disputeOf(b, 1), 2, "claim b, dispute 1");
        vm.assertEq(game.disputeOf(a, 0), 1, "claim a, dispute 0");
    }

    function test_aClaimStandsWhenEveryDisputeIsWonAndTheWindowClosed() public {
        GameFile memory g = load("test/fixtures/game5.bin");
        uint256 id = claimFrom(g);
        vm.prank(OTHER);
        uint256 d = game.challenge(id, bytes32(0));
        vm.prank(DEFENDER);
        game.midpoint(d, 0, 16, bytes32(uint256(7)));
        vm.warp(block.timestamp + WINDOW);
        // Window closed, but a dispute is undecided.
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Undecided.selector, id, 1));
        game.resolve(id);
        vm.prank(CHALLENGER);
        vm.expectRevert(
            abi.encodeWithSelector(DisputeGame.WindowClosed.selector, id, uint256(game.getClaim(id).createdAt) + WINDOW)
        );
        game.challenge(id, bytes32(0));
        game.timeout(d);
        vm.assertTrue(game.resolve(id), "the claim stands");
        vm.assertEq(uint256(game.getClaim(id).status), uint256(DisputeGame.Status.Stands), "stands");
    }

    /// The real `claim`: the limits of verify/src/rules/policy.rs and the level
    /// rules of verify/src/rules/levels.rs, the image's witness, the input's size.
    function test_badClaimsAreRefused() public {
        GameFile memory g = load("test/fixtures/game5.bin");
        bytes32[3] memory w = [g.image[1], g.image[2], g.image[3]];
        bytes32 p = g.image[0];
        vm.startPrank(DEFENDER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadB.selector, 49, 48));
        game.claim(p, w, g.input, 0, 49, hex"3187");
        vm.expectRevert(DisputeGame.LevelsEmpty.selector);
        game.claim(p, w, g.input, 0, 5, hex"");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.StepsSum.selector, 5, 4));
        game.claim(p, w, g.input, 0, 5, hex"0487");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.MicroSum.selector, Const.LOG2_USTEPS, 6));
        game.claim(p, w, g.input, 0, 5, hex"0586");
        vm.expectRevert(DisputeGame.MicroFirst.selector);
        game.claim(p, w, g.input, 0, 5, hex"8705");
        vm.expectRevert(DisputeGame.MicroFirst.selector);
        game.claim(p, w, g.input, 0, 0, hex"87");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.LevelOrder.selector, 2));
        game.claim(p, w, g.input, 0, 5, hex"05830184");
        // A witness that is not the image's: the program is another one.
        bytes32[3] memory swapped = [g.image[1], g.image[3], g.image[2]];
        bytes32 other = InitialState.imageRoot(g.image[1], g.image[3], g.image[2]);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadImage.selector, p, other));
        game.claim(p, swapped, g.input, 0, 5, hex"0587");
        bytes memory big = new bytes(Policy.MAX_INPUT_BYTES + 1);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.InputTooLarge.selector, big.length, Policy.MAX_INPUT_BYTES));
        game.claim(p, w, big, 0, 5, hex"0587");
        // Strides: [steps 3, steps 2, micro 7]; the largest input.
        game.claim(p, w, g.input, 0, 5, hex"030287");
        vm.recordLogs();
        game.claim(p, w, new bytes(Policy.MAX_INPUT_BYTES), 0, 5, hex"0587");
        vm.stopPrank();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1, "one event");
        (, bytes32 inputHash,,,,, bytes memory inputBytes) =
            abi.decode(logs[0].data, (bytes32, bytes32, bytes32, bytes32, uint8, bytes, bytes));
        vm.assertEq(inputHash, keccak256(new bytes(Policy.MAX_INPUT_BYTES)), "input hash");
        vm.assertEq(inputBytes.length, Policy.MAX_INPUT_BYTES, "the input's bytes in the event");
    }

    /// A claim names its program by its image root and carries its input:
    /// another input gives another root(S_0), derived by the contract.
    function test_theInitialRootFollowsTheInput() public {
        GameFile memory g = load("test/fixtures/game5.bin");
        bytes32[3] memory w = [g.image[1], g.image[2], g.image[3]];
        (uint256 next,) = game.counts();
        vm.startPrank(DEFENDER);
        // The program is named by its image root, in the event.
        vm.expectEmit(true, true, true, true);
        emit DisputeGame.ClaimMade(
            next, DEFENDER, g.image[0], keccak256(g.input), g.initialRoot, 0, 5, hex"0587", g.input
        );
        uint256 a = game.claim(g.image[0], w, g.input, 0, 5, hex"0587");
        uint256 b = game.claim(g.image[0], w, hex"", 0, 5, hex"0587");
        vm.stopPrank();
        vm.assertEq(game.getClaim(a).initialRoot, g.initialRoot, "the fixture's root");
        vm.assertEq(game.getClaim(b).initialRoot, g.image[0], "no input: the image root");
    }

    /// The constructor refuses a policy outside verify/src/rules/policy.rs's limits.
    function test_badPoliciesAreRefused() public {
        bytes memory code = vm.getCode("DisputeGame.sol:DisputeGame");
        uint64 s = uint64(Policy.MAX_MIN_SPEED);
        uint64 big = uint64(Policy.MAX_BASE_SECONDS + 1);
        bytes[8] memory bad = [
            abi.encode(verifier, 60, 60, 2, s, 49, 0, 0),
            abi.encode(verifier, 60, 60, 2, s, 0, 0, 0),
            abi.encode(verifier, 0, 60, 2, s, 48, 0, 0),
            abi.encode(verifier, big, 60, 2, s, 48, 0, 0),
            abi.encode(verifier, 60, 0, 2, s, 48, 0, 0),
            abi.encode(verifier, 60, 60, 0, s, 48, 0, 0),
            abi.encode(verifier, 60, 60, 2, s + 1, 48, 0, 0),
            abi.encode(verifier, 60, 60, 1000, 1, 48, 0, 0)
        ];
        bytes[8] memory want = [
            abi.encodeWithSelector(DisputeGame.MaxBOutOfRange.selector, 49, 48),
            abi.encodeWithSelector(DisputeGame.MaxBOutOfRange.selector, 0, 48),
            abi.encodeWithSelector(
                DisputeGame.ClockOutOfRange.selector, 0, Policy.MIN_CLOCK_SECONDS, Policy.MAX_BASE_SECONDS
            ),
            abi.encodeWithSelector(
                DisputeGame.ClockOutOfRange.selector, big, Policy.MIN_CLOCK_SECONDS, Policy.MAX_BASE_SECONDS
            ),
            abi.encodeWithSelector(
                DisputeGame.WindowOutOfRange.selector, 0, Policy.MIN_WINDOW_SECONDS, Policy.MAX_BASE_SECONDS
            ),
            abi.encodeWithSelector(DisputeGame.MarginOutOfRange.selector, 0, Policy.MIN_MARGIN, Policy.MAX_MARGIN),
            abi.encodeWithSelector(DisputeGame.SpeedOutOfRange.selector, s + 1, Policy.MAX_MIN_SPEED),
            abi.encodeWithSelector(DisputeGame.TooLong.selector, 48, 60 + 1000 * (uint256(1) << 48), Policy.MAX_SECONDS)
        ];
        for (uint256 i = 0; i < bad.length; i++) {
            bytes memory init = abi.encodePacked(code, bad[i]);
            bool ok;
            bytes memory ret;
            assembly ("memory-safe") {
                let a := create(0, add(init, 0x20), mload(init))
                ok := iszero(iszero(a))
                ret := mload(0x40)
                mstore(ret, returndatasize())
                returndatacopy(add(ret, 0x20), 0, returndatasize())
                mstore(0x40, add(add(ret, 0x20), returndatasize()))
            }
            vm.assertFalse(ok, "refused");
            vm.assertEq(ret, want[i], "the policy's error");
        }
        // At the limits: deployed, and the clock of b = 48 scales with b.
        DisputeGame g =
            DisputeGame(Deploy.create(abi.encodePacked(code, abi.encode(verifier, 60, 60, 2, 10_000_000, 48, 0, 0))));
        // The figures of `ChainPolicy::clock` in verify/src/rules/policy.rs (its test
        // `the_contracts_figures_are_the_rust_ones` states the same).
        vm.assertEq(g.clockFor(48), 56_295_056, "clock at 48");
        vm.assertEq(g.windowFor(20), 60 + 2, "window at 20");
    }
}
