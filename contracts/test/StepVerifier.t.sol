// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test, Vm} from "./Vm.sol";
import {Fixture} from "./Fixture.sol";
import {StepVerifier} from "../src/StepVerifier.sol";
import {StepVerifierDeploy} from "../src/StepVerifierDeploy.sol";
import {Microcode} from "../src/Generated.sol";

/// The contract against the Rust verifier: every case of a fixture written
/// by the Rust build must get the same answer, the root after or the same
/// revert data (error and fields).
contract StepVerifierTest is Test {
    StepVerifier internal v;

    function setUp() public {
        v = StepVerifierDeploy.deploy();
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

    function test_carriedMicrocodeIsTheCommittedOne() public view {
        vm.assertEq(v.microcodeRoot(), Microcode.ROOT, "microcode root");
    }

    /// Deploys the data contract of `init` (the creation code of `dataInitCode`, maybe altered).
    function data(bytes memory init) internal returns (address) {
        return StepVerifierDeploy.deployData(init);
    }

    function test_wrongDataIsRefused() public {
        bytes memory init = StepVerifierDeploy.dataInitCode();
        // Break Z(3) in the zero table.
        init[init.length - Microcode.DATA_BYTES + 3 * 32] ^= 0x01;
        address a = data(init);
        vm.expectRevert(abi.encodeWithSelector(StepVerifier.ZeroTable.selector, 3));
        new StepVerifier(a);
        init[init.length - Microcode.DATA_BYTES + 3 * 32] ^= 0x01;
        // A first byte other than STOP would make the data callable.
        init[12] = 0x01;
        a = data(init);
        vm.expectRevert(abi.encodeWithSelector(StepVerifier.DataPrefix.selector, 1));
        new StepVerifier(a);
        // An account without the data: no code at all, or the verifier itself.
        vm.expectRevert(abi.encodeWithSelector(StepVerifier.DataSize.selector, 1 + Microcode.DATA_BYTES, 0));
        new StepVerifier(address(0xdead));
        vm.expectRevert(
            abi.encodeWithSelector(StepVerifier.DataSize.selector, 1 + Microcode.DATA_BYTES, address(v).code.length)
        );
        new StepVerifier(address(v));
    }

    function test_changedMicrocodeWordIsNamed() public {
        bytes memory init = StepVerifierDeploy.dataInitCode();
        init[init.length - 1] ^= 0x01;
        address a = data(init);
        try new StepVerifier(a) {
            vm.assertTrue(false, "a changed word must be refused");
        } catch (bytes memory err) {
            bytes4 sel;
            assembly ("memory-safe") {
                sel := mload(add(err, 0x20))
            }
            vm.assertEq(uint32(sel), uint32(StepVerifier.MicrocodeMismatch.selector), "MicrocodeMismatch");
        }
    }

    /// EIP-170: every deployed runtime stays under 24 KiB (forge does not
    /// enforce the limit on contracts that tests create).
    function test_deployedCodeIsUnderTheSizeLimit() public view {
        vm.assertLe(address(v).code.length, 24576, "StepVerifier runtime");
        vm.assertLe(v.DATA().code.length, 24576, "microcode data contract");
        vm.assertEq(v.DATA().code.length, 1 + Microcode.DATA_BYTES, "data contract size");
    }
}

/// The EVM the tests run on refuses code over 24576 bytes (EIP-170), as a
/// real chain does: `code_size_limit` in foundry.toml.
contract CodeSizeLimitTest {
    function create(uint256 size) internal returns (address a) {
        bytes memory init = abi.encodePacked(hex"61", uint16(size), hex"6000f3");
        assembly ("memory-safe") {
            a := create(0, add(init, 0x20), mload(init))
        }
    }

    function test_codeOverTheLimitIsRefused() public {
        require(create(24576) != address(0), "24576 bytes are allowed");
        require(create(24577) == address(0), "24577 bytes are refused");
    }
}
