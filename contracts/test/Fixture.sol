// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// Reads the fixture files that the Rust build writes
/// (`src/chain/abi.rs` `fixture`): per case `ok` u8, `label` u8,
/// `rootBefore` bytes32, u16 result length + result, u16 proof length + proof.
library Fixture {
    struct Case {
        bool ok;
        uint256 label;
        bytes32 rootBefore;
        bytes result;
        bytes proof;
    }

    /// The case at byte `at` of `fx`, and the offset of the next one.
    function read(bytes memory fx, uint256 at) internal pure returns (Case memory c, uint256 next) {
        c.ok = uint8(fx[at]) == 1;
        c.label = uint8(fx[at + 1]);
        bytes32 root;
        assembly ("memory-safe") {
            root := mload(add(add(fx, 0x22), at))
        }
        c.rootBefore = root;
        uint256 rlen = u16(fx, at + 34);
        c.result = slice(fx, at + 36, rlen);
        uint256 p = at + 36 + rlen;
        uint256 plen = u16(fx, p);
        c.proof = slice(fx, p + 2, plen);
        next = p + 2 + plen;
    }

    function u16(bytes memory b, uint256 at) internal pure returns (uint256) {
        return (uint256(uint8(b[at])) << 8) | uint8(b[at + 1]);
    }

    function slice(bytes memory b, uint256 at, uint256 len) internal pure returns (bytes memory out) {
        require(at + len <= b.length, "fixture truncated");
        out = new bytes(len);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(b, 0x20), at), len)
        }
    }
}
