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
    // Two bytes a level.
    uint256 n = 2 * uint256(uint8(d[at + 65]));
    g.levels = Fixture.slice(d, at + 66, n);
    g.moves = Fixture.u16(d, at + 66 + n);
    g.movesAt = at + 68 + n;
}

// Move kinds of a fixture.
uint8 constant CHALLENGE = 0;
uint8 constant DISSECT = 1;
uint8 constant PICK = 2;
uint8 constant PROVE = 3;

/// One move of a fixture (`game_fixture`): its kind and fields.
struct FixtureMove {
    uint8 kind;
    uint8 level;
    uint64 position;
    uint8 part;
    bytes32[] roots;
    /// The challenger's root.
    bytes32 root;
    bytes proof;
}

/// The move of `d` at byte `at`, and the offset of the next one.
function moveAt(bytes memory d, uint256 at) pure returns (FixtureMove memory m, uint256 next) {
    m.kind = uint8(d[at]);
    if (m.kind == CHALLENGE) {
        m.root = word(d, at + 1);
        return (m, at + 33);
    }
    if (m.kind == PROVE) {
        uint256 len = Fixture.u16(d, at + 1);
        m.proof = Fixture.slice(d, at + 3, len);
        return (m, at + 3 + len);
    }
    m.level = uint8(d[at + 1]);
    m.position = u64at(d, at + 2);
    uint256 r = at + 10;
    if (m.kind == PICK) {
        m.part = uint8(d[r]);
        r += 1;
    }
    uint256 count = uint8(d[r]);
    m.roots = new bytes32[](count);
    for (uint256 i = 0; i < count; i++) {
        m.roots[i] = word(d, r + 1 + 32 * i);
    }
    next = r + 1 + 32 * count;
}

/// The calldata of move `m` in dispute `dispute` of claim `id`.
function callOf(uint256 id, uint256 dispute, FixtureMove memory m) pure returns (bytes memory) {
    if (m.kind == CHALLENGE) return abi.encodeCall(DisputeGame.challenge, (id, m.root));
    if (m.kind == DISSECT) return abi.encodeCall(DisputeGame.dissect, (dispute, m.level, m.position, m.roots));
    if (m.kind == PICK) return abi.encodeCall(DisputeGame.pick, (dispute, m.level, m.position, m.part, m.roots));
    return abi.encodeCall(DisputeGame.prove, (dispute, m.proof));
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

    /// Plays the move of the file at byte `at` for dispute `d`; returns the
    /// next offset and the gas and kind of the move.
    function play(GameFile memory g, uint256 id, uint256 d, uint256 at, address challenger)
        internal
        returns (uint256 next, uint256 gas, uint8 kind)
    {
        FixtureMove memory m;
        (m, next) = moveAt(g.data, at);
        kind = m.kind;
        vm.prank(kind == DISSECT ? DEFENDER : challenger);
        (bool ok, bytes memory ret) = address(game).call(callOf(id, d, m));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
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
            if (kind == DISSECT || kind == PICK) {
                bisection += gas;
                moves++;
            }
            if (kind == PROVE) proofGas = gas;
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
            (, end) = moveAt(g.data, end);
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

    /// The game the Rust players play at the chain's default fan-out, k = 32
    /// at both levels (`[steps 20 k=32, micro 7 k=32]`: 4 + 2 rounds).
    function test_wholeGame_b20_k32() public {
        GameFile memory g = load("test/fixtures/game20k32.bin");
        vm.assertEq(g.levels, hex"14058705", "two levels of k = 32");
        vm.assertEq(g.moves, 1 + 2 * 6 + 1, "the challenge, 6 rounds, the proof");
        wholeGame("test/fixtures/game20k32.bin");
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

    /// One root (a binary level's dissection).
    function one(bytes32 root) internal pure returns (bytes32[] memory r) {
        r = new bytes32[](1);
        r[0] = root;
    }

    function test_outOfTurnMovesAreRefused() public {
        (GameFile memory g,) = started();
        (FixtureMove memory first,) = moveAt(g.data, g.movesAt);
        // The challenger may not dissect, nor pick before a dissection.
        expectOutOfTurn(CHALLENGER, DisputeGame.Side.Defender);
        game.dissect(0, 0, 16, one(bytes32(uint256(1))));
        expectOutOfTurn(CHALLENGER, DisputeGame.Side.Defender);
        game.pick(0, 0, 16, 1, one(bytes32(uint256(1))));
        // A stranger may not move for the defender.
        expectOutOfTurn(OTHER, DisputeGame.Side.Defender);
        game.dissect(0, 0, 16, one(bytes32(uint256(1))));
        // The defender dissects; now it may not dissect again, nor pick.
        vm.prank(DEFENDER);
        game.dissect(0, 0, 16, first.roots);
        expectOutOfTurn(DEFENDER, DisputeGame.Side.Challenger);
        game.dissect(0, 0, 16, one(bytes32(uint256(1))));
        expectOutOfTurn(DEFENDER, DisputeGame.Side.Challenger);
        game.pick(0, 0, 16, 0, first.roots);
        // A stranger may not pick for the challenger.
        expectOutOfTurn(OTHER, DisputeGame.Side.Challenger);
        game.pick(0, 0, 16, 0, first.roots);
        // No proof is awaited yet.
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Unexpected.selector, DisputeGame.Phase.Bisect, true));
        game.prove(0, hex"02");
    }

    function test_wrongLevelOrPositionIsRefused() public {
        started();
        vm.startPrank(DEFENDER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Place.selector, 1, 16, 0, 16));
        game.dissect(0, 1, 16, one(bytes32(uint256(1))));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Place.selector, 0, 15, 0, 16));
        game.dissect(0, 0, 15, one(bytes32(uint256(1))));
        game.dissect(0, 0, 16, one(bytes32(uint256(1))));
        vm.stopPrank();
        vm.startPrank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Place.selector, 0, 8, 0, 16));
        game.pick(0, 0, 8, 1, one(bytes32(uint256(1))));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Place.selector, 1, 16, 0, 16));
        game.pick(0, 1, 16, 1, one(bytes32(uint256(1))));
        vm.stopPrank();
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
                (FixtureMove memory m,) = moveAt(g.data, moveOffset(g, k));
                (lastLo, lastHi) = m.part == 1 ? (m.roots[0], before.hiRoot) : (before.loRoot, m.roots[0]);
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
        vm.assertEq(p.rootsHash, bytes32(0), "no dissection");
        vm.assertFalse(p.hasRoots, "no dissection");
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

    /// The offset of move `k` of the file.
    function moveOffset(GameFile memory g, uint256 k) internal pure returns (uint256 at) {
        at = g.movesAt;
        for (uint256 i = 0; i < k; i++) {
            (, at) = moveAt(g.data, at);
        }
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
        game.dissect(0, 0, 16, one(bytes32(uint256(1))));
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
        game.dissect(0, 0, 16, one(bytes32(uint256(1))));
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
        (FixtureMove memory first,) = moveAt(g.data, g.movesAt + 33);
        vm.startPrank(DEFENDER);
        game.dissect(d1, 0, 16, first.roots);
        game.dissect(d2, 0, 16, first.roots);
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
        uint256 a = game.claim(PROGRAM, INPUT, 0, 0, 5, hex"05018701");
        uint256 b = game.claim(PROGRAM, INPUT, 0, 0, 5, hex"05018701");
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
        game.dissect(d, 0, 16, one(bytes32(uint256(7))));
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
        game.claim(p, w, g.input, 0, 49, hex"31018701");
        vm.expectRevert(DisputeGame.LevelsEmpty.selector);
        game.claim(p, w, g.input, 0, 5, hex"");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.StepsSum.selector, 5, 4));
        game.claim(p, w, g.input, 0, 5, hex"04018701");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.MicroSum.selector, Const.LOG2_USTEPS, 6));
        game.claim(p, w, g.input, 0, 5, hex"05018601");
        vm.expectRevert(DisputeGame.MicroFirst.selector);
        game.claim(p, w, g.input, 0, 5, hex"87010501");
        vm.expectRevert(DisputeGame.MicroFirst.selector);
        game.claim(p, w, g.input, 0, 0, hex"8701");
        // Two bytes a level; fan-outs from 2 to MAX_FAN (byte 1 is log2 k).
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.LevelBytes.selector, 3));
        game.claim(p, w, g.input, 0, 5, hex"058701");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Fan.selector, 1, 1));
        game.claim(p, w, g.input, 0, 5, hex"05018700");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.Fan.selector, 0, 2 * Policy.MAX_FAN));
        game.claim(p, w, g.input, 0, 5, hex"05078701");
        bytes memory many = new bytes(2 * 65);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.TooManyLevels.selector, 65));
        game.claim(p, w, g.input, 0, 5, many);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.LevelOrder.selector, 2));
        game.claim(p, w, g.input, 0, 5, hex"0501850101018601");
        // A witness that is not the image's: the program is another one.
        bytes32[3] memory swapped = [g.image[1], g.image[3], g.image[2]];
        bytes32 other = InitialState.imageRoot(g.image[1], g.image[3], g.image[2]);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BadImage.selector, p, other));
        game.claim(p, swapped, g.input, 0, 5, hex"05018701");
        bytes memory big = new bytes(Policy.MAX_INPUT_BYTES + 1);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.InputTooLarge.selector, big.length, Policy.MAX_INPUT_BYTES));
        game.claim(p, w, big, 0, 5, hex"05018701");
        // The largest fan-out, 64, at both kinds.
        game.claim(p, w, g.input, 0, 5, hex"05068706");
        // Strides: [steps 3, steps 2, micro 7]; the largest input.
        game.claim(p, w, g.input, 0, 5, hex"030102018701");
        vm.recordLogs();
        game.claim(p, w, new bytes(Policy.MAX_INPUT_BYTES), 0, 5, hex"05018701");
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
            next, DEFENDER, g.image[0], keccak256(g.input), g.initialRoot, 0, 5, hex"05018701", g.input
        );
        uint256 a = game.claim(g.image[0], w, g.input, 0, 5, hex"05018701");
        uint256 b = game.claim(g.image[0], w, hex"", 0, 5, hex"05018701");
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
