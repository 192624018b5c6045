// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test, Vm, console} from "./Vm.sol";
import {Fixture} from "./Fixture.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {Deploy} from "./Deploy.sol";
import {TestGame} from "./TestGame.sol";
import {KAryPlay} from "./KAryPlay.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Const} from "../src/Generated.sol";
import {TxGas} from "./TxGas.sol";
import {GameFile, parseGame, FixtureMove, moveAt, callOf} from "./DisputeGame.t.sol";

/// Gas of the dispute game's transactions, each move as a transaction of
/// its own would pay it:
///
///   forge test --use script/solc --offline --match-contract GameGas -vv
///
/// plays the whole games of the Rust fixtures at `b` = 20 and 40 (a lying
/// defender, an honest challenger who wins by the step proof), then, per
/// `b`, a claim whose challenger times out and which then stands; then
/// (`test_karyGameGas`) whole games at `b` = 20, 30, 40 over the levels
/// `[steps b, micro a]` with fan-out k = 2, 4, 8, 16, 32 at both, from the
/// fixture's claim (its program and input, `root(S_0)` derived by the
/// contract) with the made-up roots of `KAryPlay` (every root a new one, a
/// defender lying from A-step 9 and micro-step 40, the example step proof;
/// 4 of the 8 game's prove). Before
/// every transaction the game, the verifier and its data contract are
/// made cold (`vm.cool`: accounts and slots cold, the slots' values as a
/// new transaction finds them), so the execution gas is a real
/// transaction's; per transaction adds 21000 and the calldata with the
/// EIP-7623 floor (`TxGas`), net of the refunds a transaction gets (at most
/// a fifth of its gas). The deployment holds bonds (1 ether a claim, 0.1
/// a challenge) and, as a deployed game would, a claim and a dispute
/// already. One line per figure, parsed by the bench:
///
///   bench move kind=<kind> exec_min= exec_med= exec_max= tx_min= tx_med= tx_max= n=
///   bench game b=<b> transactions= exec= tx=
///   bench kary b=<b> k=<k> rounds= transactions= exec= tx= dissect_max= pick_max=
contract GameGas is KAryPlay {
    address internal data;
    uint256 internal constant CLAIM_BOND = 1 ether;
    uint256 internal constant CHALLENGE_BOND = 0.1 ether;

    uint256 internal constant KINDS = 8;
    uint256 internal constant CAP = 256;
    string[KINDS] internal names = ["claim", "challenge", "dissect", "pick", "prove", "timeout", "resolve", "collect"];
    uint256 internal constant CLAIM = 0;
    uint256 internal constant CHALLENGE = 1;
    uint256 internal constant MOVE_DISSECT = 2;
    uint256 internal constant MOVE_PICK = 3;
    uint256 internal constant MOVE_PROVE = 4;
    uint256 internal constant TIMEOUT = 5;
    uint256 internal constant RESOLVE = 6;
    uint256 internal constant COLLECT = 7;

    /// Per kind of move, the execution and per-transaction gas of each one.
    struct Samples {
        uint256[] exec;
        uint256[] txg;
        uint256 n;
    }

    /// The figures of one game.
    struct Total {
        uint256 transactions;
        uint256 exec;
        uint256 txg;
    }

    function setUp() public {
        deploy(CLAIM_BOND, CHALLENGE_BOND);
        data = verifier.DATA();
        fundParties();
        loadProof();
        // A claim and a dispute exist already.
        vm.prank(DEFENDER);
        uint256 id = game.claim{value: CLAIM_BOND}(PROGRAM, INPUT, 0, 0, 5, hex"05018701");
        vm.prank(OTHER);
        game.challenge{value: CHALLENGE_BOND}(id, bytes32(0));
    }

    /// Sends `call` from `from` with `value` as a transaction of its own;
    /// records its gas under `kind` (and in `total`) unless `kind` is
    /// `KINDS`. Returns the call's return data.
    function send(
        Samples[KINDS] memory s,
        Total memory total,
        uint256 kind,
        address from,
        uint256 value,
        bytes memory call
    ) internal returns (bytes memory ret) {
        uint256 exec;
        uint256 txg;
        (ret, exec, txg) = cold(from, value, call);
        if (kind == KINDS) return ret;
        Samples memory r = s[kind];
        r.exec[r.n] = exec;
        r.txg[r.n] = txg;
        r.n++;
        total.transactions++;
        total.exec += exec;
        total.txg += txg;
    }

    /// Sends `call` from `from` with `value` as a transaction of its own on
    /// a cold game; its return data, execution gas and gas per transaction.
    function cold(address from, uint256 value, bytes memory call)
        internal
        returns (bytes memory ret, uint256 exec, uint256 txg)
    {
        vm.warp(block.timestamp + 1);
        vm.cool(address(game));
        vm.cool(address(verifier));
        vm.cool(data);
        vm.prank(from);
        bool ok;
        (ok, ret) = address(game).call{value: value}(call);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        Vm.Gas memory g = vm.lastCallGas();
        exec = g.gasTotalUsed;
        uint256 t = TxGas.tokens(call);
        uint256 refund = g.gasRefunded > 0 ? uint256(uint64(g.gasRefunded)) : 0;
        uint256 cap = (21_000 + 4 * t + exec) / 5;
        txg = TxGas.txGas(exec - (refund < cap ? refund : cap), t);
    }

    /// The claim of fixture `g` from DEFENDER, counted as a move of kind
    /// `kind` in `total`; its id.
    function sendClaim(Samples[KINDS] memory s, Total memory total, uint256 kind, GameFile memory g)
        internal
        returns (uint256)
    {
        bytes memory call = abi.encodeCall(
            DisputeGame.claim, (g.image[0], [g.image[1], g.image[2], g.image[3]], g.input, g.finalRoot, g.b, g.levels)
        );
        return abi.decode(send(s, total, kind, DEFENDER, CLAIM_BOND, call), (uint256));
    }

    /// The whole game of fixture `path`, then a claim that stands after a
    /// timeout.
    function playGame(Samples[KINDS] memory s, string memory path) internal {
        GameFile memory g = parseGame(vm.readFileBinary(path));
        bytes memory m = g.data;
        Total memory total;
        uint256 id = sendClaim(s, total, CLAIM, g);
        uint256 d;
        uint256 at = g.movesAt;
        for (uint256 k = 0; k < g.moves; k++) {
            FixtureMove memory mv;
            (mv, at) = moveAt(m, at);
            bytes memory call = callOf(id, d, mv);
            if (mv.kind == 0) {
                d = abi.decode(send(s, total, CHALLENGE, CHALLENGER, CHALLENGE_BOND, call), (uint256));
            } else {
                send(s, total, MOVE_DISSECT + mv.kind - 1, mv.kind == 1 ? DEFENDER : CHALLENGER, 0, call);
            }
        }
        assertChallengerWon(id, d);
        console.log(
            string.concat(
                "bench game b=",
                vm.toString(g.b),
                " transactions=",
                vm.toString(total.transactions),
                " exec=",
                vm.toString(total.exec),
                " tx=",
                vm.toString(total.txg)
            )
        );
        // The winner's share of the claim bond, once the window has closed
        // (not part of the game's total).
        Total memory other;
        vm.warp(uint256(game.getClaim(id).createdAt) + game.windowFor(g.b));
        send(s, other, COLLECT, CHALLENGER, 0, abi.encodeCall(DisputeGame.collect, (d)));
        // A claim whose challenger gives up (times out), then stands.
        id = sendClaim(s, other, KINDS, g);
        d = abi.decode(
            send(s, other, KINDS, CHALLENGER, CHALLENGE_BOND, abi.encodeCall(DisputeGame.challenge, (id, bytes32(0)))),
            (uint256)
        );
        (FixtureMove memory first,) = moveAt(m, g.movesAt + 33);
        send(s, other, KINDS, DEFENDER, 0, callOf(id, d, first));
        vm.warp(block.timestamp + game.clockFor(g.b));
        send(s, other, TIMEOUT, OTHER, 0, abi.encodeCall(DisputeGame.timeout, (d)));
        vm.warp(block.timestamp + game.windowFor(g.b));
        send(s, other, RESOLVE, OTHER, 0, abi.encodeCall(DisputeGame.resolve, (id)));
        vm.assertEq(uint256(game.getClaim(id).status), uint256(DisputeGame.Status.Stands), "the claim stands");
    }

    function figures(string memory prefix, uint256[] memory a, uint256 n) internal pure returns (string memory) {
        TxGas.sort(a, n);
        return string.concat(
            prefix,
            "_min=",
            vm.toString(a[0]),
            " ",
            prefix,
            "_med=",
            vm.toString(a[n / 2]),
            " ",
            prefix,
            "_max=",
            vm.toString(a[n - 1])
        );
    }

    function test_gameGas() public {
        Samples[KINDS] memory s;
        for (uint256 k = 0; k < KINDS; k++) {
            s[k] = Samples(new uint256[](CAP), new uint256[](CAP), 0);
        }
        playGame(s, "test/fixtures/game20.bin");
        playGame(s, "test/fixtures/game40.bin");
        for (uint256 k = 0; k < KINDS; k++) {
            Samples memory r = s[k];
            vm.assertGt(r.n, 0, names[k]);
            console.log(
                string.concat(
                    "bench move kind=",
                    names[k],
                    " ",
                    figures("exec", r.exec, r.n),
                    " ",
                    figures("tx", r.txg, r.n),
                    " n=",
                    vm.toString(r.n)
                )
            );
        }
    }

    // ------------------------------------------------------------ k-ary games

    /// The figures of the k-ary game being played (`sendMove` adds to them).
    Total internal kary;
    uint256[4] internal karyMax;

    /// Each move of a k-ary game as a cold transaction of its own.
    function sendMove(uint256 kind, address from, bytes memory call) internal override {
        (, uint256 exec, uint256 txg) = cold(from, 0, call);
        kary.transactions++;
        kary.exec += exec;
        kary.txg += txg;
        if (txg > karyMax[kind]) karyMax[kind] = txg;
    }

    /// The claim (the fixture's program and input, the contract deriving
    /// `root(S_0)`) and the challenge, counted in `kary`.
    function openReal(GameFile memory g, uint8 b, bytes memory levels) internal returns (Run memory r) {
        r.initialRoot = g.initialRoot;
        r.t = 9;
        r.j = 40;
        r.liarDefends = true;
        bytes memory call = abi.encodeCall(
            DisputeGame.claim,
            (g.image[0], [g.image[1], g.image[2], g.image[3]], g.input, lie(r, false, uint256(1) << b), b, levels)
        );
        (bytes memory ret, uint256 exec, uint256 txg) = cold(DEFENDER, CLAIM_BOND, call);
        r.id = abi.decode(ret, (uint256));
        (bytes memory ret2, uint256 exec2, uint256 txg2) =
            cold(CHALLENGER, CHALLENGE_BOND, abi.encodeCall(DisputeGame.challenge, (r.id, bytes32(0))));
        r.d = abi.decode(ret2, (uint256));
        kary.transactions += 2;
        kary.exec += exec + exec2;
        kary.txg += txg + txg2;
    }

    function test_karyGameGas() public {
        GameFile memory g = parseGame(vm.readFileBinary("test/fixtures/game5.bin"));
        uint8[3] memory bs = [20, 30, 40];
        for (uint256 i = 0; i < bs.length; i++) {
            for (uint256 f = 1; f <= 5; f++) {
                delete kary;
                delete karyMax;
                Run memory r = openReal(g, bs[i], twoLevels(bs[i], f));
                vm.assertEq(uint256(playOut(r)), uint256(DisputeGame.Side.Challenger), "the honest challenger wins");
                vm.assertEq(r.rounds, roundsOf(bs[i], f) + roundsOf(Const.LOG2_USTEPS, f), "rounds");
                console.log(
                    string.concat(
                        string.concat(
                            "bench kary b=",
                            vm.toString(bs[i]),
                            " k=",
                            vm.toString(uint256(1) << f),
                            " rounds=",
                            vm.toString(r.rounds),
                            " transactions=",
                            vm.toString(kary.transactions)
                        ),
                        string.concat(
                            " exec=",
                            vm.toString(kary.exec),
                            " tx=",
                            vm.toString(kary.txg),
                            " dissect_max=",
                            vm.toString(karyMax[DISSECT]),
                            " pick_max=",
                            vm.toString(karyMax[PICK])
                        )
                    )
                );
            }
        }
    }
}
