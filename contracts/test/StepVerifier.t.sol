// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test, Vm} from "./Vm.sol";
import {Fixture} from "./Fixture.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {IStepVerifier} from "../src/IStepVerifier.sol";
import {Deploy} from "./Deploy.sol";
import {Microcode, Op, Cond} from "../src/Generated.sol";

/// Exposes the error selectors that the verifier's assembly spells as
/// literals, to compare them with the errors' own selectors.
contract SelectorView is StepVerifier {
    constructor(address data) StepVerifier(data) {}

    function selectors() external pure returns (uint256[20] memory s) {
        s = [
            E_TRUNCATED,
            E_VERSION,
            E_KIND,
            E_FLAGS,
            E_TOO_MANY_SIBLINGS,
            E_ZERO_MASK,
            E_TOO_MANY_ACCESSES,
            E_ACCESS_KIND_BYTE,
            E_TRAILING,
            E_ROOT_MISMATCH,
            E_WRONG_KIND,
            E_MISSING_ACCESS,
            E_ACCESS_KIND,
            E_ACCESS_ADDRESS,
            E_ACCESS_VALUE,
            E_MISSING_LEAF_PROOF,
            E_LEAF_INDEX,
            E_LEAF_DEPTH,
            E_UNUSED_LEAF_PROOF,
            E_LEFTOVER_ACCESSES
        ];
    }

    function zeroSlots() external pure returns (uint256[8] memory z) {
        z = [
            K_ZERO_SLOTS_0,
            K_ZERO_SLOTS_1,
            K_ZERO_SLOTS_2,
            K_ZERO_SLOTS_3,
            K_ZERO_SLOTS_4,
            K_ZERO_SLOTS_5,
            K_ZERO_SLOTS_6,
            K_ZERO_SLOTS_7
        ];
    }
}

/// The contract against the Rust verifier: every case of a fixture written
/// by the Rust build must get the same answer, the root after or the same
/// revert data (error and fields).
contract StepVerifierTest is Test {
    StepVerifier internal v;

    function setUp() public {
        v = Deploy.verifier();
    }

    /// Replays every case of `fx`; returns how many there were and how many were accepted.
    function replay(bytes memory fx) internal view returns (uint256 n, uint256 accepted) {
        uint256 at = 0;
        while (at < fx.length) {
            uint256 fmp;
            assembly ("memory-safe") {
                fmp := mload(0x40)
            }
            Fixture.Case memory c;
            (c, at) = Fixture.read(fx, at);
            (bool ok, bytes memory ret) =
                address(v).staticcall(abi.encodeCall(StepVerifier.step, (c.rootBefore, c.proof)));
            string memory what = string.concat("case ", vm.toString(n), ": ", vm.toString(c.rootBefore));
            vm.assertEq(ok, c.ok, string.concat(what, ": accept/reject differs from Rust"));
            vm.assertEq(ret, c.result, string.concat(what, ": result differs from Rust"));
            if (ok) accepted++;
            n++;
            assembly ("memory-safe") {
                mstore(0x40, fmp)
            }
        }
    }

    /// Verifies example proof `i` (in file-name order) to its root: one
    /// test per kind, so that `.gas-snapshot` tracks each.
    function one(uint256 i) internal view {
        bytes memory fx = vm.readFileBinary("test/fixtures/proofs.bin");
        uint256 at = 0;
        Fixture.Case memory c;
        for (uint256 k = 0; k <= i; k++) {
            (c, at) = Fixture.read(fx, at);
        }
        vm.assertEq(abi.encode(v.step(c.rootBefore, c.proof)), c.result, "root after");
    }

    function test_gas_alu() public view {
        one(0);
    }

    function test_gas_clean() public view {
        one(1);
    }

    function test_gas_exit() public view {
        one(2);
    }

    function test_gas_fault() public view {
        one(3);
    }

    function test_gas_fetch() public view {
        one(4);
    }

    function test_gas_idle() public view {
        one(5);
    }

    function test_gas_load() public view {
        one(6);
    }

    function test_gas_read() public view {
        one(7);
    }

    function test_gas_store() public view {
        one(8);
    }

    function test_gas_write() public view {
        one(9);
    }

    function test_everyExampleProofVerifiesToTheRustRoot() public view {
        (uint256 n, uint256 accepted) = replay(vm.readFileBinary("test/fixtures/proofs.bin"));
        vm.assertEq(n, 10, "example proofs");
        vm.assertEq(accepted, n, "every example proof verifies");
    }

    function test_everySingleFieldTamperingRevertsWithTheRustError() public view {
        (uint256 n, uint256 accepted) = replay(vm.readFileBinary("test/fixtures/tamper.bin"));
        vm.assertGt(n, 500, "tamperings");
        vm.assertEq(accepted, 0, "no tampered proof verifies");
    }

    /// Thousands of generated proofs (`cargo test --release --test contracts`
    /// writes the fixture and runs this test with MSWAP_DIFFERENTIAL set).
    function test_differentialFixture() public {
        string memory path = vm.envOr("MSWAP_DIFFERENTIAL", string(""));
        if (bytes(path).length == 0) {
            vm.skip(true);
            return;
        }
        (uint256 n,) = replay(vm.readFileBinary(path));
        vm.assertEq(n, vm.envOr("MSWAP_DIFFERENTIAL_CASES", uint256(0)), "cases replayed");
    }

    /// The assembly names each error by its selector, as a literal.
    function test_selectorsAreTheErrors() public {
        uint256[20] memory s = new SelectorView(v.DATA()).selectors();
        bytes4[20] memory want = [
            IStepVerifier.Truncated.selector,
            IStepVerifier.Version.selector,
            IStepVerifier.Kind.selector,
            IStepVerifier.Flags.selector,
            IStepVerifier.TooManySiblings.selector,
            IStepVerifier.ZeroMask.selector,
            IStepVerifier.TooManyAccesses.selector,
            IStepVerifier.AccessKindByte.selector,
            IStepVerifier.Trailing.selector,
            IStepVerifier.RootMismatch.selector,
            IStepVerifier.WrongKind.selector,
            IStepVerifier.MissingAccess.selector,
            IStepVerifier.AccessKind.selector,
            IStepVerifier.AccessAddress.selector,
            IStepVerifier.AccessValue.selector,
            IStepVerifier.MissingLeafProof.selector,
            IStepVerifier.LeafIndex.selector,
            IStepVerifier.LeafDepth.selector,
            IStepVerifier.UnusedLeafProof.selector,
            IStepVerifier.LeftoverAccesses.selector
        ];
        for (uint256 i = 0; i < 20; i++) {
            vm.assertEq(s[i], uint256(uint32(want[i])), string.concat("selector ", vm.toString(i)));
        }
    }

    /// Yul `switch` cases are literals: the numbering the step's assembly
    /// spells out (ALU operations 1..10 in this order, LD and ST adjacent,
    /// BR 13, JAL 14, conditions 0..5) must be the generated one.
    function test_assemblyCasesAreTheGeneratedNumbers() public pure {
        uint256[10] memory alu = [Op.ADD, Op.SUB, Op.AND, Op.OR, Op.XOR, Op.SLL, Op.SRL, Op.SRA, Op.SLTU, Op.SLT];
        for (uint256 i = 0; i < 10; i++) {
            vm.assertEq(alu[i], i + 1, "ALU operation numbers");
        }
        vm.assertEq(Op.IDLE, 0, "IDLE");
        vm.assertEq(Op.LD, 11, "LD");
        vm.assertEq(Op.ST, 12, "ST");
        vm.assertEq(Op.BR, 13, "BR");
        vm.assertEq(Op.JAL, 14, "JAL");
        uint256[8] memory m = [Op.MUL, Op.MULH, Op.MULHSU, Op.MULHU, Op.DIV, Op.DIVU, Op.REM, Op.REMU];
        for (uint256 i = 0; i < 8; i++) {
            vm.assertEq(m[i], i + 15, "multiply and divide operation numbers");
        }
        uint256[6] memory conds = [Cond.EQ, Cond.NE, Cond.LT, Cond.GE, Cond.LTU, Cond.GEU];
        for (uint256 i = 0; i < 6; i++) {
            vm.assertEq(conds[i], i, "condition numbers");
        }
    }

    /// The verifier skips the fetch of the slots its bitmaps mark as
    /// zero: they must be exactly the zero words of the microcode (eight
    /// bitmaps: the assembly picks one by the slot's top three bits).
    function test_zeroSlotBitmapsAreTheMicrocodes() public {
        vm.assertEq(Microcode.SLOTS, 2048, "the assembly's eight bitmaps cover 2048 slots");
        uint256[8] memory z = new SelectorView(v.DATA()).zeroSlots();
        bytes memory data = Microcode.DATA;
        uint256 marked;
        for (uint256 slot = 0; slot < Microcode.SLOTS; slot++) {
            uint256 w;
            if (slot < Microcode.WORDS) {
                uint256 at = Microcode.ZERO_TABLE_BYTES + slot * 8;
                assembly ("memory-safe") {
                    w := shr(192, mload(add(add(data, 0x20), at)))
                }
            }
            bool bit = (z[slot / 256] >> (slot % 256)) & 1 == 1;
            vm.assertEq(bit, w == 0, string.concat("slot ", vm.toString(slot)));
            if (bit) marked++;
        }
        vm.assertGt(marked, 2, "the padding and the program's IDLEs");
    }

    function test_carriedMicrocodeIsTheCommittedOne() public view {
        vm.assertEq(v.microcodeRoot(), Microcode.ROOT, "microcode root");
    }

    /// Deploys a verifier over the data contract of creation code `init`
    /// (that of `MicrocodeData`, maybe altered), expecting the revert `err`.
    function refused(bytes memory init, bytes memory err) internal {
        address a = Deploy.create(init);
        vm.assertTrue(a != address(0), "data contract");
        vm.expectRevert(err);
        Deploy.create(Deploy.verifierInitCode(a));
    }

    function test_wrongDataIsRefused() public {
        bytes memory init = Deploy.rawInitCode(address(v.DATA()).code);
        uint256 start = init.length - Microcode.DATA_BYTES;
        // Break Z(3) in the zero table.
        init[start + 3 * 32] ^= 0x01;
        refused(init, abi.encodeWithSelector(StepVerifier.ZeroTable.selector, 3));
        init[start + 3 * 32] ^= 0x01;
        // A first byte other than STOP would make the data callable.
        init[start - 1] = 0x01;
        refused(init, abi.encodeWithSelector(StepVerifier.DataPrefix.selector, 1));
        // An account without the data: no code at all, or the verifier itself.
        vm.expectRevert(abi.encodeWithSelector(StepVerifier.DataSize.selector, 1 + Microcode.DATA_BYTES, 0));
        Deploy.create(Deploy.verifierInitCode(address(0xdead)));
        vm.expectRevert(
            abi.encodeWithSelector(StepVerifier.DataSize.selector, 1 + Microcode.DATA_BYTES, address(v).code.length)
        );
        Deploy.create(Deploy.verifierInitCode(address(v)));
    }

    function test_changedMicrocodeWordIsNamed() public {
        bytes memory init = Deploy.rawInitCode(address(v.DATA()).code);
        // Change the last microcode word.
        init[init.length - 1] ^= 0x01;
        address a = Deploy.create(init);
        vm.expectPartialRevert(StepVerifier.MicrocodeMismatch.selector);
        Deploy.create(Deploy.verifierInitCode(a));
    }

    /// EIP-170: every deployed runtime stays under 24 KiB (forge does not
    /// enforce the limit on contracts that tests create).
    function test_deployedCodeIsUnderTheSizeLimit() public view {
        vm.assertLe(address(v).code.length, 24576, "StepVerifier runtime");
        vm.assertLe(v.DATA().code.length, 24576, "microcode data contract");
        vm.assertEq(v.DATA().code.length, 1 + Microcode.DATA_BYTES, "data contract size");
    }
}

