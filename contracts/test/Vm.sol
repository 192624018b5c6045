// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// The few forge cheatcodes the tests use (forge-std cannot be installed
/// offline). Signatures as in forge's cheatcode table; forge answers calls
/// to `VM_ADDRESS`.
interface Vm {
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function deal(address account, uint256 balance) external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata data) external;
    function expectRevert() external;
    function expectPartialRevert(bytes4 selector) external;
    function getCode(string calldata artifactPath) external view returns (bytes memory);
    function cool(address target) external;
    function expectEmit(bool t1, bool t2, bool t3, bool data) external;
    function readFile(string calldata path) external view returns (string memory);
    function readFileBinary(string calldata path) external view returns (bytes memory);
    function readLine(string calldata path) external view returns (string memory);
    function parseBytes(string calldata s) external pure returns (bytes memory);
    function parseBytes32(string calldata s) external pure returns (bytes32);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonKeys(string calldata json, string calldata key) external pure returns (string[] memory);
    function toString(uint256 v) external pure returns (string memory);
    function toString(bytes32 v) external pure returns (string memory);
    function toString(bytes calldata v) external pure returns (string memory);
    function assertEq(uint256 a, uint256 b, string calldata err) external pure;
    function assertEq(bytes32 a, bytes32 b, string calldata err) external pure;
    function assertEq(bytes calldata a, bytes calldata b, string calldata err) external pure;
    function assertEq(address a, address b, string calldata err) external pure;
    function assertEq(bool a, bool b, string calldata err) external pure;
    function assertTrue(bool c, string calldata err) external pure;
    function assertFalse(bool c, string calldata err) external pure;
    function assertLe(uint256 a, uint256 b, string calldata err) external pure;
    function assertGt(uint256 a, uint256 b, string calldata err) external pure;
    function lastCallGas() external view returns (Gas memory);
    function envOr(string calldata name, string calldata defaultValue) external view returns (string memory);
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256);
    function skip(bool skipTest) external;
    function pauseGasMetering() external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
    function resumeGasMetering() external;

    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    struct Gas {
        uint64 gasLimit;
        uint64 gasTotalUsed;
        uint64 gasMemoryUsed;
        int64 gasRefunded;
        uint64 gasRemaining;
    }
}

/// Forge's console (what forge-std's `console.log(string)` calls): printed
/// by `forge test -vv`.
library console {
    address internal constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function log(string memory s) internal {
        (bool ok,) = CONSOLE.call(abi.encodeWithSignature("log(string)", s));
        ok;
    }
}

/// Base of the test contracts: the cheatcode handle.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
}
