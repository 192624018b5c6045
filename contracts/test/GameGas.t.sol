// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test, Vm, console} from "./Vm.sol";
import {Fixture} from "./Fixture.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {Deploy} from "./Deploy.sol";
import {TestGame} from "./TestGame.sol";
import {GameTest} from "./GameTest.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {TxGas} from "./TxGas.sol";
import {GameFile, parseGame, word, u64at} from "./DisputeGame.t.sol";

/// Gas of the dispute game's transactions, each move as a transaction of
/// its own would pay it:
///
///   forge test --use script/solc --offline --match-contract GameGas -vv
///
/// plays the whole games of the Rust fixtures at `b` = 20 and 40 (a lying
/// defender, an honest challenger who wins by the step proof), then, per
/// `b`, a claim whose challenger times out and which then stands. Before
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
contract GameGas is GameTest {
    address internal data;
    uint256 internal constant CLAIM_BOND = 1 ether;
    uint256 internal constant CHALLENGE_BOND = 0.1 ether;

    uint256 internal constant KINDS = 9;
    uint256 internal constant CAP = 256;
    string[KINDS] internal names =
        ["claim", "challenge", "midpoint", "agree", "disagree", "prove", "timeout", "resolve", "collect"];
    uint256 internal constant CLAIM = 0;
    uint256 internal constant CHALLENGE = 1;
    uint256 internal constant MIDPOINT = 2;
    uint256 internal constant PROVE = 5;
    uint256 internal constant TIMEOUT = 6;
    uint256 internal constant RESOLVE = 7;
    uint256 internal constant COLLECT = 8;

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
        // A claim and a dispute exist already.
        vm.prank(DEFENDER);
        uint256 id = game.claim{value: CLAIM_BOND}(PROGRAM, INPUT, 0, 0, 5, hex"058b");
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
        vm.warp(block.timestamp + 1);
        vm.cool(address(game));
        vm.cool(address(verifier));
        vm.cool(data);
        vm.prank(from);
        bool ok;
        (ok, ret) = address(game).call{value: value}(call);
        require(ok, "the move is accepted");
        if (kind == KINDS) return ret;
        Vm.Gas memory g = vm.lastCallGas();
        uint256 exec = g.gasTotalUsed;
        uint256 t = TxGas.tokens(call);
        uint256 refund = g.gasRefunded > 0 ? uint256(uint64(g.gasRefunded)) : 0;
        uint256 cap = (21_000 + 4 * t + exec) / 5;
        uint256 txg = TxGas.txGas(exec - (refund < cap ? refund : cap), t);
        Samples memory r = s[kind];
        r.exec[r.n] = exec;
        r.txg[r.n] = txg;
        r.n++;
        total.transactions++;
        total.exec += exec;
        total.txg += txg;
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
            uint8 kind = uint8(m[at]);
            if (kind == 0) {
                bytes memory call = abi.encodeCall(DisputeGame.challenge, (id, word(m, at + 1)));
                d = abi.decode(send(s, total, CHALLENGE, CHALLENGER, CHALLENGE_BOND, call), (uint256));
                at += 33;
            } else if (kind == 1) {
                bytes memory call =
                    abi.encodeCall(DisputeGame.midpoint, (d, uint8(m[at + 1]), u64at(m, at + 2), word(m, at + 10)));
                send(s, total, MIDPOINT, DEFENDER, 0, call);
                at += 42;
            } else if (kind == 2 || kind == 3) {
                bytes memory call = abi.encodeWithSelector(
                    kind == 2 ? DisputeGame.agree.selector : DisputeGame.disagree.selector,
                    d,
                    uint8(m[at + 1]),
                    u64at(m, at + 2)
                );
                send(s, total, kind + 1, CHALLENGER, 0, call);
                at += 10;
            } else {
                uint256 len = Fixture.u16(m, at + 1);
                bytes memory call = abi.encodeCall(DisputeGame.prove, (d, Fixture.slice(m, at + 3, len)));
                send(s, total, PROVE, CHALLENGER, 0, call);
                at += 3 + len;
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
        at = g.movesAt + 33;
        send(
            s,
            other,
            KINDS,
            DEFENDER,
            0,
            abi.encodeCall(DisputeGame.midpoint, (d, uint8(m[at + 1]), u64at(m, at + 2), word(m, at + 10)))
        );
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
}
