// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./Fixture.sol";
import {GameTest} from "./GameTest.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Const} from "../src/Generated.sol";

/// Players of the k-ary game over a run whose roots the test makes up: the
/// honest root of A-step `x` is `keccak256("S", x)` (`root(S_0)` the
/// claim's), of micro-step `j` of the disputed A-step `T` `keccak256("M",
/// j)` but at its ends (`attach(Q*, S_T)`, `attach(Q*, S_(T+1))`, as the
/// contract attaches them) and at `J` and `J + 1`, which are the example
/// step proof's roots before and after. A lying defender's roots are the
/// honest ones up to A-step `T` and micro-step `J`, made up after: an
/// honest challenger narrows every level to the first part it disputes and
/// wins by the step proof of micro-step `J`. An honest defender against a
/// lying challenger (who picks the part holding `T`, then `J`) wins by the
/// same proof. Each move goes through `sendMove`, which a gas bench
/// overrides.
abstract contract KAryPlay is GameTest {
    /// The example step proof: from `rootBefore` the verifier computes `rootAfter`.
    bytes32 internal rootBefore;
    bytes32 internal rootAfter;
    bytes internal proof;

    uint256 internal constant DISSECT = 1;
    uint256 internal constant PICK = 2;
    uint256 internal constant PROVE = 3;

    /// The game being played.
    struct Run {
        uint256 id;
        uint256 d;
        /// `root(S_0)`.
        bytes32 initialRoot;
        /// The disputed A-step and micro-step.
        uint64 t;
        uint64 j;
        /// The defender lies (else the challenger does).
        bool liarDefends;
        /// Dissections so far.
        uint256 rounds;
        /// The roots of the dissection awaiting its pick.
        bytes32[] roots;
    }

    function loadProof() internal {
        (Fixture.Case memory c,) = Fixture.read(vm.readFileBinary("test/fixtures/proofs.bin"), 0);
        vm.assertTrue(c.ok, "the first example proof is valid");
        rootBefore = c.rootBefore;
        rootAfter = abi.decode(c.result, (bytes32));
        proof = c.proof;
    }

    /// Sends move `call` of kind `kind` (DISSECT, PICK, PROVE) from `from`;
    /// reverts with the contract's error if it is refused.
    function sendMove(uint256 kind, address from, bytes memory call) internal virtual {
        kind;
        vm.prank(from);
        (bool ok, bytes memory ret) = address(game).call(call);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    /// A level list as the contract encodes it: per level its kind (micro
    /// or not), log2 and log2 of its fan-out.
    function level(bool micro, uint256 log2, uint256 fanLog2) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8((micro ? 0x80 : 0) | log2), uint8(fanLog2));
    }

    /// `[steps b, micro a]`, both with fan-out `2^f`.
    function twoLevels(uint256 b, uint256 f) internal pure returns (bytes memory) {
        return bytes.concat(level(false, b, f), level(true, Const.LOG2_USTEPS, f));
    }

    function attach(bytes32 s) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(Const.Q_STAR_ROOT, s));
    }

    /// The honest root at A-step `x` (steps) or micro-step `x` of A-step `T` (micro).
    function honest(Run memory r, bool micro, uint256 x) internal view returns (bytes32) {
        if (!micro) return x == 0 ? r.initialRoot : keccak256(abi.encode("S", x));
        if (x == 0) return attach(honest(r, false, r.t));
        if (x == uint256(1) << Const.LOG2_USTEPS) return attach(honest(r, false, r.t + 1));
        if (x == r.j) return rootBefore;
        if (x == r.j + 1) return rootAfter;
        return keccak256(abi.encode("M", x));
    }

    /// The lying defender's root: honest up to `T` and `J`.
    function lie(Run memory r, bool micro, uint256 x) internal view returns (bytes32) {
        if (!micro) return x <= r.t ? honest(r, false, x) : keccak256(abi.encode("lie S", x));
        if (x == uint256(1) << Const.LOG2_USTEPS) return attach(lie(r, false, r.t + 1));
        return x <= r.j ? honest(r, true, x) : keccak256(abi.encode("lie M", x));
    }

    /// The defender's root.
    function defenders(Run memory r, bool micro, uint256 x) internal view returns (bytes32) {
        return r.liarDefends ? lie(r, micro, x) : honest(r, micro, x);
    }

    /// A claim over `2^b` A-steps from a made-up `root(S_0)` to the
    /// defender's final root, challenged by CHALLENGER.
    function open(uint8 b, bytes memory levels, uint64 t, uint64 j, bool liarDefends) internal returns (Run memory r) {
        r.initialRoot = keccak256(abi.encode("S", 0));
        r.t = t;
        r.j = j;
        r.liarDefends = liarDefends;
        uint256 bond = game.claimBond();
        bytes32 finalRoot = defenders(r, false, uint256(1) << b);
        vm.prank(DEFENDER);
        r.id = game.claim{value: bond}(PROGRAM, INPUT, r.initialRoot, finalRoot, b, levels);
        bond = game.challengeBond();
        vm.prank(CHALLENGER);
        r.d = game.challenge{value: bond}(r.id, bytes32(0));
    }

    /// The interval of the dispute's view `v`: its parts and the log2 of the step.
    function cut(DisputeGame.Dispute memory v) internal pure returns (uint256 parts, uint256 step) {
        uint256 n = v.hi - v.lo;
        uint256 k = uint256(1) << v.fanLog2;
        parts = k < n ? k : n;
        step = n / parts;
    }

    /// The absolute position of level position `p` in view `v`.
    function absolute(DisputeGame.Dispute memory v, uint256 p) internal pure returns (uint256) {
        return v.base + (p << v.unitLog2);
    }

    /// The defender dissects the current interval.
    function dissect(Run memory r) internal returns (uint64 position) {
        DisputeGame.Dispute memory v = game.getDispute(r.d);
        (uint256 parts, uint256 step) = cut(v);
        r.roots = new bytes32[](parts - 1);
        for (uint256 i = 0; i < parts - 1; i++) {
            r.roots[i] = defenders(r, v.hasT, absolute(v, v.lo + (i + 1) * step));
        }
        position = uint64(v.lo + step);
        sendMove(DISSECT, DEFENDER, abi.encodeCall(DisputeGame.dissect, (r.d, v.level, position, r.roots)));
        r.rounds++;
        DisputeGame.Dispute memory after_ = game.getDispute(r.d);
        vm.assertTrue(after_.hasRoots, "the challenger picks next");
        vm.assertEq(after_.rootsHash, keccak256(abi.encodePacked(r.roots)), "the roots' hash is stored");
    }

    /// The challenger's part: the first it disputes if honest, else the
    /// one holding `T` (steps) or `J` (micro).
    function choose(Run memory r, DisputeGame.Dispute memory v) internal view returns (uint8) {
        (uint256 parts, uint256 step) = cut(v);
        if (r.liarDefends) {
            for (uint256 i = 0; i + 1 < parts; i++) {
                if (r.roots[i] != honest(r, v.hasT, absolute(v, v.lo + (i + 1) * step))) return uint8(i);
            }
            return uint8(parts - 1);
        }
        uint256 target = v.hasT ? r.j : r.t;
        return uint8((((target - v.base) >> v.unitLog2) - v.lo) / step);
    }

    /// The challenger picks; within a level, the new interval's roots are
    /// the ones the rules name.
    function pick(Run memory r) internal {
        DisputeGame.Dispute memory v = game.getDispute(r.d);
        (uint256 parts, uint256 step) = cut(v);
        uint8 part = choose(r, v);
        uint64 position = uint64(v.lo + step);
        sendMove(PICK, CHALLENGER, abi.encodeCall(DisputeGame.pick, (r.d, v.level, position, part, r.roots)));
        DisputeGame.Dispute memory w = game.getDispute(r.d);
        vm.assertFalse(w.hasRoots, "the defender dissects next");
        if (w.level == v.level && w.phase == DisputeGame.Phase.Bisect) {
            vm.assertEq(uint256(w.lo), v.lo + part * step, "lo");
            vm.assertEq(uint256(w.hi), v.lo + (part + 1) * step, "hi");
            vm.assertEq(w.loRoot, part == 0 ? v.loRoot : r.roots[part - 1], "the lo root");
            vm.assertEq(w.hiRoot, part == parts - 1 ? v.hiRoot : r.roots[part], "the hi root");
        }
    }

    /// Plays dispute `r` to the proof, then proves micro-step `J`; returns
    /// the winner.
    function playOut(Run memory r) internal returns (DisputeGame.Side) {
        while (game.getDispute(r.d).phase == DisputeGame.Phase.Bisect) {
            dissect(r);
            pick(r);
        }
        DisputeGame.Dispute memory v = game.getDispute(r.d);
        vm.assertEq(uint256(v.t), r.t, "the disputed A-step");
        vm.assertEq(uint256(v.lo), r.j, "the disputed micro-step");
        vm.assertEq(v.loRoot, rootBefore, "the agreed root before");
        sendMove(PROVE, CHALLENGER, abi.encodeCall(DisputeGame.prove, (r.d, proof)));
        return game.getDispute(r.d).winner;
    }

    /// Rounds of a level of `2^log2` units with fan-out `2^f`: `ceil(log2 / f)`.
    function roundsOf(uint256 log2, uint256 f) internal pure returns (uint256) {
        return (log2 + f - 1) / f;
    }
}
