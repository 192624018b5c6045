// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test, Vm, console} from "./Vm.sol";
import {Fixture} from "./Fixture.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {Deploy} from "./Deploy.sol";
import {TxGas} from "./TxGas.sol";
import {Microcode} from "../src/Generated.sol";

/// The version-1 alternative, for the comparison: a micro-instruction leaf
/// with its path to the microcode root, read from calldata as the
/// verifier reads its leaf proofs (v1 layout: index u64 (big-endian here,
/// saving the byte swap), leaf, n u8, n siblings).
contract UopPath {
    error UopRoot(bytes32 expected, bytes32 computed);

    function fetch(bytes32 root, bytes calldata path, uint256 upc) external pure returns (uint256 w) {
        bytes32 h;
        assembly ("memory-safe") {
            let p := path.offset
            let index := shr(192, calldataload(p))
            let leaf := calldataload(add(p, 8))
            let n := shr(248, calldataload(add(p, 40)))
            mstore(0, leaf)
            h := keccak256(0, 0x20)
            let sib := add(p, 41)
            for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                let hpos := shl(5, and(shr(k, index), 1))
                mstore(hpos, h)
                calldatacopy(xor(hpos, 0x20), sib, 0x20)
                sib := add(sib, 0x20)
                h := keccak256(0, 0x40)
            }
            w := shr(192, shl(shl(6, and(upc, 3)), leaf))
        }
        if (h != root) revert UopRoot(root, h);
    }
}

/// Gas of one step verification per kind of micro-step, beside the
/// anchors measured with the same toolchain (Foundry 1.7.1, solc 0.8.x):
///
///   forge test --use script/solc --offline --match-contract GasBench -vv
///
/// (`cargo bench --bench gas` writes the differential fixture, runs this
/// and collects its `bench step ...` lines),
/// on the example proofs, or on thousands of generated ones with
/// MSWAP_DIFFERENTIAL=FILE (see tests/contracts.rs). "Execution" is the gas
/// of the verifier's call frame; "per transaction" is what a transaction
/// calling `step` directly pays: 21000 + max(4 * tokens + execution,
/// 10 * tokens), where tokens = zero bytes + 4 * non-zero bytes of its
/// calldata (EIP-7623's floor since Prague).
contract GasBench is Test {
    StepVerifier internal v;

    // The anchors (medians) from the issue: Cannon's MIPS.sol, MIPS2.sol,
    // Cartesi's UArchStep.step.
    uint256 internal constant MIPS_EXEC = 18_900;
    uint256 internal constant MIPS_TX = 94_500;
    uint256 internal constant MIPS2_EXEC = 25_100;
    uint256 internal constant MIPS2_TX = 99_300;
    uint256 internal constant UARCH_EXEC = 591_000;
    uint256 internal constant UARCH_TX = 886_000;

    /// EIP-2929: a cold account access costs 2600, a warm one 100.
    uint256 internal constant COLD_ACCOUNT_SURCHARGE = 2600 - 100;
    /// The fixture's labels (`src/chain/abi.rs` `label`): the operations
    /// 0 .. 22, an undefined one (23), the cleaning step (`LABEL_CLEAN`).
    uint256 internal constant KINDS = 25;
    uint256 internal constant LABEL_CLEAN = 24;

    function setUp() public {
        v = Deploy.verifier();
    }

    function k(uint256 gas) internal pure returns (string memory) {
        return string.concat(vm.toString(gas / 1000), ".", vm.toString((gas % 1000) / 100), "k");
    }

    function ratio(uint256 a, uint256 b) internal pure returns (string memory) {
        return string.concat(vm.toString(a * 100 / b / 100), ".", pad2(a * 100 / b % 100));
    }

    function pad2(uint256 x) internal pure returns (string memory) {
        return x < 10 ? string.concat("0", vm.toString(x)) : vm.toString(x);
    }

    function name(uint256 label) internal pure returns (string memory) {
        string[KINDS] memory names = [
            "IDLE",
            "ADD",
            "SUB",
            "AND",
            "OR",
            "XOR",
            "SLL",
            "SRL",
            "SRA",
            "SLTU",
            "SLT",
            "LD",
            "ST",
            "BR",
            "JAL",
            "MUL",
            "MULH",
            "MULHSU",
            "MULHU",
            "DIV",
            "DIVU",
            "REM",
            "REMU",
            "IDLE*",
            "clean"
        ];
        return label < KINDS ? names[label] : "?";
    }

    struct Row {
        uint256[] exec;
        uint256[] txg;
        uint256[] size;
        uint256 n;
    }

    function triple(uint256[] memory a, uint256 n, bool kilo) internal pure returns (string memory) {
        if (!kilo) {
            return string.concat(vm.toString(a[0]), " / ", vm.toString(a[n / 2]), " / ", vm.toString(a[n - 1]));
        }
        return string.concat(k(a[0]), " / ", k(a[n / 2]), " / ", k(a[n - 1]));
    }

    function line(string memory label, Row memory r) internal {
        TxGas.sort(r.exec, r.n);
        TxGas.sort(r.txg, r.n);
        TxGas.sort(r.size, r.n);
        string memory head = string.concat(label, "  n=", vm.toString(r.n));
        string memory e = string.concat("  exec ", triple(r.exec, r.n, true));
        string memory t = string.concat("  tx ", triple(r.txg, r.n, true));
        console.log(string.concat(head, e, t, "  bytes ", triple(r.size, r.n, false)));
        benchLine(label, r);
    }

    /// ` key_min=.. key_med=.. key_max=..` of the sorted `a[0..n]`.
    function keys(string memory key, uint256[] memory a, uint256 n) internal pure returns (string memory s) {
        s = string.concat(" ", key, "_min=", vm.toString(a[0]));
        s = string.concat(s, " ", key, "_med=", vm.toString(a[n / 2]));
        s = string.concat(s, " ", key, "_max=", vm.toString(a[n - 1]));
    }

    /// The machine-readable line of a row (sorted by `line`), which
    /// `cargo bench --bench gas` collects: `bench step kind=NAME exec_min=..
    /// exec_med=.. exec_max=.. tx_min=.. tx_med=.. tx_max=.. bytes_min=..
    /// bytes_med=.. bytes_max=.. n=..`.
    function benchLine(string memory label, Row memory r) internal {
        string memory s = string.concat("bench step kind=", label, keys("exec", r.exec, r.n));
        s = string.concat(s, keys("tx", r.txg, r.n), keys("bytes", r.size, r.n));
        console.log(string.concat(s, " n=", vm.toString(r.n)));
    }

    /// Execution gas and calldata tokens of the accepted case `c`;
    /// `zero[slot]` says whether microcode slot `slot` holds 0.
    function measure(Fixture.Case memory c, bool[] memory zero) internal returns (uint256 exec, uint256 t) {
        bytes32 after_ = v.step(c.rootBefore, c.proof);
        exec = vm.lastCallGas().gasTotalUsed;
        // In a transaction of its own the data contract is cold (EIP-2929):
        // a step that fetches its micro-instruction from it pays for the
        // first access (forge keeps it warm across the loop). The cleaning
        // step and the idle ticks of zero slots fetch nothing.
        uint256 upc = uint8(c.proof[2]) | uint256(uint8(c.proof[3])) << 8 | uint256(uint8(c.proof[4])) << 16
            | uint256(uint8(c.proof[5])) << 24;
        if (c.label != LABEL_CLEAN && !zero[upc % Microcode.SLOTS]) exec += COLD_ACCOUNT_SURCHARGE;
        vm.assertEq(abi.encode(after_), c.result, "root after");
        t = TxGas.tokens(abi.encodeCall(StepVerifier.step, (c.rootBefore, c.proof)));
    }

    /// Which microcode slots hold 0 (the verifier does not fetch those).
    function zeroSlots() internal pure returns (bool[] memory zero) {
        zero = new bool[](Microcode.SLOTS);
        bytes memory data = Microcode.DATA;
        for (uint256 slot = 0; slot < Microcode.SLOTS; slot++) {
            uint256 w;
            if (slot < Microcode.WORDS) {
                uint256 at = Microcode.ZERO_TABLE_BYTES + slot * 8;
                assembly ("memory-safe") {
                    w := shr(192, mload(add(add(data, 0x20), at)))
                }
            }
            zero[slot] = w == 0;
        }
    }

    /// Appends one measurement to `r`.
    function add(Row memory r, uint256 exec, uint256 txg, uint256 size) internal pure {
        r.exec[r.n] = exec;
        r.txg[r.n] = txg;
        r.size[r.n] = size;
        r.n++;
    }

    function test_gasTable() public {
        string memory path = vm.envOr("MSWAP_DIFFERENTIAL", string("test/fixtures/proofs.bin"));
        bytes memory fx = vm.readFileBinary(path);
        uint256 cap = 8192;
        Row[KINDS] memory rows;
        Row memory all = Row(new uint256[](cap), new uint256[](cap), new uint256[](cap), 0);
        for (uint256 i = 0; i < KINDS; i++) {
            rows[i] = Row(new uint256[](cap), new uint256[](cap), new uint256[](cap), 0);
        }
        bool[] memory zero = zeroSlots();
        // Warm the data contract, so that every step below finds it warm
        // and `measure` adds the cold surcharge to each that reads it.
        vm.assertGt(v.DATA().code.length, 0, "data contract");
        uint256 at = 0;
        while (at < fx.length && all.n < cap) {
            Fixture.Case memory c;
            (c, at) = Fixture.read(fx, at);
            if (!c.ok || c.label >= KINDS) continue;
            (uint256 exec, uint256 t) = measure(c, zero);
            add(rows[c.label], exec, TxGas.txGas(exec, t), c.proof.length);
            add(all, exec, TxGas.txGas(exec, t), c.proof.length);
        }
        console.log(string.concat("step proofs from ", path, ": gas min / median / max"));
        for (uint256 i = 0; i < KINDS; i++) {
            if (rows[i].n > 0) line(name(i), rows[i]);
        }
        line("all", all);
        uint256 me = all.exec[all.n / 2];
        uint256 mt = all.txg[all.n / 2];
        console.log(
            string.concat(
                "median execution ",
                k(me),
                " = ",
                ratio(me, MIPS_EXEC),
                " of MIPS.sol (18.9k), ",
                ratio(me, MIPS2_EXEC),
                " of MIPS2.sol (25.1k), ",
                ratio(me, UARCH_EXEC),
                " of UArchStep (591k); goal 15k"
            )
        );
        console.log(
            string.concat(
                "median per tx    ",
                k(mt),
                " = ",
                ratio(mt, MIPS_TX),
                " of MIPS.sol (94.5k), ",
                ratio(mt, MIPS2_TX),
                " of MIPS2.sol (99.3k), ",
                ratio(mt, UARCH_TX),
                " of UArchStep (886k); goal 60k"
            )
        );
        vm.assertGt(all.n, 0, "accepted proofs measured");
    }

    /// The alternative kept out: a micro-instruction path in every proof
    /// (version 1) instead of the microcode in the verifier's code.
    function test_gasMicrocodePathAlternative() public {
        // The path of slot 0's leaf, built from the microcode.
        uint256 leaves = Microcode.SLOTS / 4;
        bytes32[] memory level = new bytes32[](leaves);
        bytes32[] memory leafBytes = new bytes32[](leaves);
        bytes memory data = Microcode.DATA;
        for (uint256 i = 0; i < leaves; i++) {
            uint256 leaf;
            for (uint256 j = 0; j < 4; j++) {
                uint256 slot = i * 4 + j;
                uint256 w;
                if (slot < Microcode.WORDS) {
                    uint256 at = Microcode.ZERO_TABLE_BYTES + slot * 8;
                    assembly ("memory-safe") {
                        w := shr(192, mload(add(add(data, 0x20), at)))
                    }
                }
                leaf |= swapBytes8(w) << (192 - 64 * j);
            }
            leafBytes[i] = bytes32(leaf);
            level[i] = keccak256(abi.encodePacked(leaf));
        }
        uint256 index = 37;
        bytes memory path = abi.encodePacked(uint64(index), leafBytes[index], uint8(Microcode.DEPTH));
        uint256 idx = index;
        for (uint256 width = leaves; width > 1; width /= 2) {
            path = abi.encodePacked(path, level[idx ^ 1]);
            for (uint256 i = 0; i < width / 2; i++) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
            idx >>= 1;
        }
        vm.assertEq(level[0], Microcode.ROOT, "the path's root");
        UopPath u = new UopPath();
        u.fetch(Microcode.ROOT, path, index * 4 + 1);
        uint256 exec = vm.lastCallGas().gasTotalUsed;
        // The same call with no siblings (it reverts), to separate the path's own cost.
        try u.fetch(Microcode.ROOT, new bytes(41), 0) {} catch {}
        uint256 empty = vm.lastCallGas().gasTotalUsed;
        uint256 t = TxGas.tokens(path);
        string memory head = string.concat(
            "micro-instruction path (v1): ", vm.toString(path.length), " bytes, ", vm.toString(t), " calldata tokens = "
        );
        console.log(
            string.concat(
                head,
                vm.toString(10 * t),
                " gas at the EIP-7623 floor (",
                vm.toString(4 * t),
                " standard), ",
                vm.toString(exec - empty),
                " execution gas to check it; the microcode in a data contract costs one EXTCODECOPY of 8 bytes (2.7k cold, once per transaction)"
            )
        );
    }

    function swapBytes8(uint256 x) internal pure returns (uint256) {
        x = ((x & 0xff00ff00ff00ff00) >> 8) | ((x & 0x00ff00ff00ff00ff) << 8);
        x = ((x & 0xffff0000ffff0000) >> 16) | ((x & 0x0000ffff0000ffff) << 16);
        return (x >> 32) | ((x & 0xffffffff) << 32);
    }
}
