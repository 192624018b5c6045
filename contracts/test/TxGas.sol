// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// What a transaction pays beside its execution (Prague): 21000, and its
/// calldata at 4 gas per token or, if that is more, the EIP-7623 floor of 10
/// per token, where a zero byte is one token and any other byte four; and
/// the sort the gas tables use.
library TxGas {
    /// Calldata tokens (EIP-7623): zero bytes count 1, others 4.
    function tokens(bytes memory data) internal pure returns (uint256 t) {
        for (uint256 i = 0; i < data.length; i++) {
            t += data[i] == 0 ? 1 : 4;
        }
    }

    /// Gas of a transaction whose execution (net of refunds) is `exec` and
    /// whose calldata has `t` tokens: `21000 + max(4 * t + exec, 10 * t)`.
    function txGas(uint256 exec, uint256 t) internal pure returns (uint256) {
        uint256 standard = 4 * t + exec;
        uint256 floor = 10 * t;
        return 21_000 + (standard > floor ? standard : floor);
    }

    /// Sorts the first `n` figures of `a` in place (insertion sort: the
    /// benches' tables have a few thousand rows at most).
    function sort(uint256[] memory a, uint256 n) internal pure {
        for (uint256 i = 1; i < n; i++) {
            uint256 x = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > x) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
    }
}
