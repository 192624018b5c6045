// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Const, Microcode, LeafWalks} from "./Generated.sol";
import {IStepVerifier} from "./IStepVerifier.sol";

/// @title StepVerifier: one micro-step of machine AB, checked on chain.
/// @notice `step(rootBefore, proof)` re-executes one micro-step from a
/// binary step proof (`proofs/README.md`, version 2) and returns the root of
/// the state after it, or reverts with one custom error per kind of
/// failure. It mirrors the Rust verifier check by check, in the same order
/// and under the same names where it has functions: the decoder
/// (`verify/src/proof/binary.rs` `decode`), the checks of `verify_step_with`
/// (`src/verify/mod.rs`), the replaying accessor (`src/verify/replay.rs`:
/// `expect`, `leaf_for`, `read_s`, `write_s`, `finish`) and the step
/// function itself (`verify/src/micro/step.rs`: `ustep`, `reg`; the ALU, load and
/// store, branch and jump arms inline).
///
/// The microcode lives in a separate data contract (SSTORE2-style: its code
/// is a `STOP` byte, then `Microcode.DATA`: the zero-subtree table `Z(k)`,
/// then the microcode words), read with `EXTCODECOPY` at the immutable
/// address `DATA`: the verifier plus 17 KB of data would exceed the 24 KiB
/// code limit of EIP-170. The constructor checks the data contract against
/// `Microcode.ROOT`, so a deployed verifier always carries this build's
/// microcode. Deploy `MicrocodeData`, then the verifier (`mswap deploy` does).
///
/// The proof is read from calldata at offsets fixed by the format; only `Q`
/// (128 bytes) is copied into memory, since the step rewrites it. The hot
/// path is one assembly block (`step`), written for gas in the manner of
/// Optimism's `MIPS.sol`, then the leaf proof's walk: keccak over the
/// scratch words, the 29-level Merkle walks unrolled with the pristine
/// siblings `Z(k)` as code constants (`LeafWalks` and `StepConstants`,
/// generated from the Rust build), one walk for both roots of a write, and
/// only the changed leaves of `Q` re-hashed. Its errors are the interface's
/// (`IStepVerifier`), which is all the dispute game knows of it.
contract StepVerifier is IStepVerifier, LeafWalks {
    // ------------------------------------------------------------------
    // Errors of the deployment.

    /// The data contract's code is `size` bytes, not a `STOP` byte plus `Microcode.DATA_BYTES`.
    error DataSize(uint256 expected, uint256 size);
    /// The data contract's code starts with `first`, not `STOP` (so that it cannot be called).
    error DataPrefix(uint256 first);
    /// Entry `k` of the data's zero-subtree table is not `Z(k)`.
    error ZeroTable(uint256 k);
    /// The data's microcode commits to `found`, not this build's `Microcode.ROOT`.
    error MicrocodeMismatch(bytes32 expected, bytes32 found);

    /// The data contract: a `STOP` byte, then `Microcode.DATA`.
    address public immutable override DATA;

    uint256 private constant M64 = 0xffffffffffffffff;
    uint256 private constant M32 = 0xffffffff;

    // The errors' selectors, for the assembly (test_selectorsAreTheErrors
    // in StepVerifier.t.sol checks each against `Error.selector`).
    uint256 internal constant E_TRUNCATED = 0xed90bd60;
    uint256 internal constant E_VERSION = 0x19f7a69f;
    uint256 internal constant E_KIND = 0x0ecfc9e1;
    uint256 internal constant E_FLAGS = 0xb8cfce05;
    uint256 internal constant E_TOO_MANY_SIBLINGS = 0x3cb5c452;
    uint256 internal constant E_ZERO_MASK = 0x93020ecc;
    uint256 internal constant E_TOO_MANY_ACCESSES = 0xd64c07d9;
    uint256 internal constant E_ACCESS_KIND_BYTE = 0xd10af600;
    uint256 internal constant E_TRAILING = 0x7a833178;
    uint256 internal constant E_ROOT_MISMATCH = 0x7c532e31;
    uint256 internal constant E_WRONG_KIND = 0xc2ca8aa3;
    uint256 internal constant E_MISSING_ACCESS = 0x34027c0c;
    uint256 internal constant E_ACCESS_KIND = 0xb7307eb8;
    uint256 internal constant E_ACCESS_ADDRESS = 0x79b5e444;
    uint256 internal constant E_ACCESS_VALUE = 0x8a287146;
    uint256 internal constant E_MISSING_LEAF_PROOF = 0x8f74c937;
    uint256 internal constant E_LEAF_INDEX = 0xc7c6a10d;
    uint256 internal constant E_LEAF_DEPTH = 0xaff258b7;
    uint256 internal constant E_UNUSED_LEAF_PROOF = 0x551a3f44;
    uint256 internal constant E_LEFTOVER_ACCESSES = 0xe5569a5a;

    /// Checks the data contract at `data` (its size, its `STOP` prefix, its
    /// zero-subtree table and the root of its microcode) and keeps its address.
    constructor(address data) {
        bytes32 found = commitmentRoot(data);
        if (found != Microcode.ROOT) revert MicrocodeMismatch(Microcode.ROOT, found);
        DATA = data;
    }

    /// @notice Verifies one micro-step: from the agreed root before the
    /// step and a binary step proof, returns the root after it.
    /// @dev One assembly block, in the order of the Rust code: the decoder
    /// (`decode`), the root and kind checks of `verify_step_with`, the step
    /// (`ustep`) through the replaying accessor (`expect`, `leaf_for`,
    /// `read_s`, `write_s`) and `finish`; then the generated walk of the
    /// leaf proof (`LeafWalks`). The proof stays in calldata; `Q`
    /// (128 bytes) is copied to memory, where the step rewrites it, next to
    /// a small context of the decoded fields for the helpers. With a leaf
    /// proof the leaf's path is hashed once, after the step, for the roots
    /// before and (after a write) after, in one walk over the shared
    /// siblings; a check that fails before then goes through `fail`, which
    /// first settles the root check (the error Rust reports first).
    function step(bytes32 rootBefore, bytes calldata proof) external view override returns (bytes32 rootAfter) {
        address data = DATA;
        // Where the assembly leaves its context for the walk of a leaf proof.
        uint256 context;
        assembly ("memory-safe") {
            // ---------------------------------------------------------
            // Context (offsets from `ctx`), written once by the decoder.
            // 0x00 rootBefore   0x20 root(Q)   0x40 hasLeaf   0x60 leafIndex
            // 0x80 zeros        0xa0 first sent sibling (calldata)
            // 0xc0 leaf         0xe0 the leaf after the step (for the walk)
            // 0x100 m           0x120 first access (calldata)
            // 0x140 .. 0x180 the hashes of Q's leaves 1..3, then (for the
            // walk) root(Q) after at 0x140            0x1a0 n
            // (0x60 .. 0xe0 is the leaf proof as `LeafWalks` reads it.)

            /// Reverts with error `sel` and `nargs` 32-byte arguments.
            function raise(sel, nargs, a, b, c) {
                let e := mload(0x40)
                mstore(e, shl(224, sel))
                mstore(add(e, 0x04), a)
                mstore(add(e, 0x24), b)
                mstore(add(e, 0x44), c)
                revert(e, add(4, shl(5, nargs)))
            }

            /// `fail` of the Solidity version: with a leaf proof the root
            /// check has not been made yet, and Rust reports it first.
            function fail(ctx, sel, nargs, a, b, c) {
                if mload(add(ctx, 0x40)) {
                    mstore(0, mload(add(ctx, 0xc0)))
                    let h := keccak256(0, 0x20)
                    let idx := mload(add(ctx, 0x60))
                    let zs := mload(add(ctx, 0x80))
                    let s := mload(add(ctx, 0xa0))
                    let n := mload(add(ctx, 0x1a0))
                    // Any depth up to MAX_SIBLINGS: Z(k) computed on the way.
                    let z := Z_0
                    for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                        let sib := z
                        if iszero(and(shr(k, zs), 1)) {
                            sib := calldataload(s)
                            s := add(s, 0x20)
                        }
                        let hpos := shl(5, and(shr(k, idx), 1))
                        mstore(hpos, h)
                        mstore(xor(hpos, 0x20), sib)
                        h := keccak256(0, 0x40)
                        mstore(0, z)
                        mstore(0x20, z)
                        z := keccak256(0, 0x40)
                    }
                    let expected := mload(ctx)
                    let computed := hash2(mload(add(ctx, 0x20)), h)
                    if iszero(eq(computed, expected)) { raise(E_ROOT_MISMATCH, 2, expected, computed, 0) }
                }
                raise(sel, nargs, a, b, c)
            }

            function hash2(a, b) -> h {
                mstore(0, a)
                mstore(0x20, b)
                h := keccak256(0, 0x40)
            }

            /// Reverses the bytes of a 64-bit value (little-endian <-> big-endian).
            function swap64(x) -> y {
                x := or(shr(8, and(x, 0xff00ff00ff00ff00)), shl(8, and(x, 0x00ff00ff00ff00ff)))
                x := or(shr(16, and(x, 0xffff0000ffff0000)), shl(16, and(x, 0x0000ffff0000ffff)))
                y := or(shr(32, x), and(shl(32, x), 0xffffffff00000000))
            }

            function u8(at) -> v {
                v := shr(248, calldataload(at))
            }

            function le64(at) -> v {
                v := swap64(shr(192, calldataload(at)))
            }

            /// Micro-register `i` (`u0` is zero).
            function reg(q, i) -> v {
                if i { v := swap64(shr(192, mload(add(q, shl(3, i))))) }
            }

            /// Sets word `i` of `Q` to the 64-bit `v` (32 spare bytes follow `Q`).
            function writeQ(q, i, v) {
                let at := add(q, shl(3, i))
                mstore(at, or(shr(64, shl(64, mload(at))), shl(192, swap64(v))))
            }

            /// The 64-bit word of `leaf` holding `addr`.
            function wordOf(leaf, addr) -> v {
                v := swap64(and(shr(sub(192, shl(6, and(shr(3, addr), 3))), leaf), M64))
            }

            /// Whether microcode slot `slot` holds 0 (an `IDLE`), from the
            /// generated bitmaps (`SLOTS` = 2048: eight of them, picked by
            /// the slot's top three bits).
            function zeroSlot(slot) -> z {
                let j := shr(8, slot)
                let bm
                switch and(j, 4)
                case 0 {
                    switch and(j, 2)
                    case 0 {
                        switch and(j, 1)
                        case 0 { bm := K_ZERO_SLOTS_0 }
                        default { bm := K_ZERO_SLOTS_1 }
                    }
                    default {
                        switch and(j, 1)
                        case 0 { bm := K_ZERO_SLOTS_2 }
                        default { bm := K_ZERO_SLOTS_3 }
                    }
                }
                default {
                    switch and(j, 2)
                    case 0 {
                        switch and(j, 1)
                        case 0 { bm := K_ZERO_SLOTS_4 }
                        default { bm := K_ZERO_SLOTS_5 }
                    }
                    default {
                        switch and(j, 1)
                        case 0 { bm := K_ZERO_SLOTS_6 }
                        default { bm := K_ZERO_SLOTS_7 }
                    }
                }
                z := and(shr(and(slot, 255), bm), 1)
            }

            /// The logged access `index`, which must be of `kind` at `addr`; its value.
            function expect(ctx, index, kind, addr) -> v {
                if iszero(lt(index, mload(add(ctx, 0x100)))) { fail(ctx, E_MISSING_ACCESS, 3, index, kind, addr) }
                let a := add(mload(add(ctx, 0x120)), mul(17, index))
                let k := u8(a)
                if iszero(eq(k, kind)) { fail(ctx, E_ACCESS_KIND, 3, index, kind, k) }
                let logged := le64(add(a, 1))
                if iszero(eq(logged, addr)) { fail(ctx, E_ACCESS_ADDRESS, 3, index, addr, logged) }
                v := le64(add(a, 9))
            }

            /// The leaf proof for access `index` at `addr` (`leaf_for`);
            /// `first`: its first use, which checks the depth.
            function leafFor(ctx, index, addr, first) {
                if iszero(mload(add(ctx, 0x40))) { fail(ctx, E_MISSING_LEAF_PROOF, 1, index, 0, 0) }
                let found := mload(add(ctx, 0x60))
                if iszero(eq(found, shr(5, addr))) { fail(ctx, E_LEAF_INDEX, 3, index, shr(5, addr), found) }
                if first {
                    let n := mload(add(ctx, 0x1a0))
                    if iszero(eq(n, K_S_TREE_DEPTH)) { fail(ctx, E_LEAF_DEPTH, 2, K_S_TREE_DEPTH, n, 0) }
                    // The leaf proof leads to s_root by construction (the
                    // decoder took s_root from it): Rust's `LeafRoot` cannot happen.
                }
            }

            // ---------------------------------------------------------
            // Decoding (verify/src/proof/binary.rs `decode`): the fields in
            // order, the first fault reverts.

            /// Decodes the proof at calldata `p` (`len` bytes) into `q` and `ctx`; returns the kind.
            function decode(p, len, q, ctx) -> kind {
                if iszero(len) { raise(E_TRUNCATED, 2, 0, 1, 0) }
                let version := u8(p)
                if iszero(eq(version, K_PROOF_VERSION)) { raise(E_VERSION, 1, version, 0, 0) }
                if lt(len, 2) { raise(E_TRUNCATED, 2, 1, 1, 0) }
                kind := u8(add(p, 1))
                if gt(kind, 1) { raise(E_KIND, 1, kind, 0, 0) }
                // Q is read word by word, as in Rust: a truncation names the word.
                if lt(len, 130) { raise(E_TRUNCATED, 2, add(2, shl(3, shr(3, sub(len, 2)))), 8, 0) }
                calldatacopy(q, add(p, 2), 128)
                if lt(len, 131) { raise(E_TRUNCATED, 2, 130, 1, 0) }
                let flags := u8(add(p, 130))
                if gt(flags, 1) { raise(E_FLAGS, 1, flags, 0, 0) }
                mstore(add(ctx, 0x40), flags)
                let at
                switch flags
                case 0 {
                    if lt(len, 163) { raise(E_TRUNCATED, 2, 131, 32, 0) }
                    // s_root, kept where the leaf would be (unused without one).
                    mstore(add(ctx, 0xc0), calldataload(add(p, 131)))
                    at := 163
                }
                default {
                    if lt(len, 139) { raise(E_TRUNCATED, 2, 131, 8, 0) }
                    mstore(add(ctx, 0x60), le64(add(p, 131)))
                    if lt(len, 171) { raise(E_TRUNCATED, 2, 139, 32, 0) }
                    mstore(add(ctx, 0xc0), calldataload(add(p, 139)))
                    if lt(len, 172) { raise(E_TRUNCATED, 2, 171, 1, 0) }
                    let n := u8(add(p, 171))
                    if gt(n, K_MAX_SIBLINGS) { raise(E_TOO_MANY_SIBLINGS, 1, n, 0, 0) }
                    mstore(add(ctx, 0x1a0), n)
                    if lt(len, 176) { raise(E_TRUNCATED, 2, 172, 4, 0) }
                    let zs := shr(224, calldataload(add(p, 172)))
                    zs := or(shr(8, and(zs, 0xff00ff00)), shl(8, and(zs, 0x00ff00ff)))
                    zs := or(shr(16, zs), and(shl(16, zs), 0xffff0000))
                    if shr(n, zs) { raise(E_ZERO_MASK, 2, zs, n, 0) }
                    mstore(add(ctx, 0x80), zs)
                    mstore(add(ctx, 0xa0), add(p, 176))
                    // The siblings not marked in the bitmap, 32 bytes each.
                    let c := sub(zs, and(shr(1, zs), 0x55555555))
                    c := add(and(c, 0x33333333), and(shr(2, c), 0x33333333))
                    c := and(add(c, shr(4, c)), 0x0f0f0f0f)
                    c := shr(24, and(mul(c, 0x01010101), 0xffffffff))
                    at := add(176, shl(5, sub(n, c)))
                    if gt(at, len) { raise(E_TRUNCATED, 2, add(176, shl(5, shr(5, sub(len, 176)))), 32, 0) }
                }
                if iszero(lt(at, len)) { raise(E_TRUNCATED, 2, at, 1, 0) }
                let m := u8(add(p, at))
                if gt(m, K_MAX_ACCESSES) { raise(E_TOO_MANY_ACCESSES, 1, m, 0, 0) }
                at := add(at, 1)
                mstore(add(ctx, 0x100), m)
                mstore(add(ctx, 0x120), add(p, at))
                for { let i := 0 } lt(i, m) { i := add(i, 1) } {
                    if iszero(lt(at, len)) { raise(E_TRUNCATED, 2, at, 1, 0) }
                    let b := u8(add(p, at))
                    if gt(b, 1) { raise(E_ACCESS_KIND_BYTE, 2, i, b, 0) }
                    if gt(add(at, 9), len) { raise(E_TRUNCATED, 2, add(at, 1), 8, 0) }
                    if gt(add(at, 17), len) { raise(E_TRUNCATED, 2, add(at, 9), 8, 0) }
                    at := add(at, 17)
                }
                if iszero(eq(at, len)) { raise(E_TRAILING, 2, at, sub(len, at), 0) }
            }

            // ---------------------------------------------------------
            // The step (verify/src/micro/step.rs `ustep`) of a `step` proof,
            // clock below CLEAN_AT: returns the next access index, whether
            // the step wrote the leaf, the leaf after it, and which leaf
            // of Q besides leaf 0 it changed (0 if none).

            function ustep(ctx, q, dc, w0) -> next, wrote, leaf, dirty {
                let upc := and(w0, M32)
                let clock := shr(32, w0)
                // fetch: slot upc mod SLOTS of the data contract (zeros past
                // its end: padding), unless the code knows it holds 0.
                let slot := and(upc, K_SLOT_MASK)
                let w := 0
                if iszero(zeroSlot(slot)) {
                    extcodecopy(dc, 0, add(K_WORDS_AT, shl(3, slot)), 8)
                    w := shr(192, mload(0))
                }
                let op := and(w, 0xff)
                let rd := and(shr(8, w), 15)
                let ra := and(shr(12, w), 15)
                let rb := and(shr(16, w), 15)
                let func := and(shr(20, w), 15)
                // The signed 40-bit immediate, sign-extended to 64 bits.
                let imm := and(sar(24, signextend(7, w)), M64)
                let nextUpc := add(upc, 1)
                leaf := mload(add(ctx, 0xc0))
                switch lt(sub(op, 1), 10)
                case 1 {
                    // ALU: u[rd] = f(u[ra], u[rb] + imm).
                    let a := reg(q, ra)
                    let b := and(add(reg(q, rb), imm), M64)
                    let v
                    switch op
                    case 1 { v := and(add(a, b), M64) }
                    case 2 { v := and(sub(a, b), M64) }
                    case 3 { v := and(a, b) }
                    case 4 { v := or(a, b) }
                    case 5 { v := xor(a, b) }
                    case 6 { v := and(shl(and(b, 63), a), M64) }
                    case 7 { v := shr(and(b, 63), a) }
                    case 8 { v := and(sar(and(b, 63), signextend(7, a)), M64) }
                    case 9 { v := lt(a, b) }
                    default { v := slt(signextend(7, a), signextend(7, b)) }
                    if rd {
                        writeQ(q, rd, v)
                        dirty := shr(2, rd)
                    }
                }
                default {
                    switch lt(sub(op, K_OP_LD), 2)
                    case 1 {
                        // LD | ST: the word of S at the aligned address.
                        let bytes := shl(and(func, 3), 1)
                        let addr := and(and(add(reg(q, ra), imm), K_S_ADDR_MASK), not(sub(bytes, 1)))
                        let wordAddr := and(addr, not(7))
                        let shift := shl(3, and(addr, 7))
                        let mask := sub(shl(shl(3, bytes), 1), 1)
                        // read_s (access 0)
                        let logged := expect(ctx, 0, 0, wordAddr)
                        leafFor(ctx, 0, wordAddr, 1)
                        let word := wordOf(leaf, wordAddr)
                        if iszero(eq(logged, word)) { fail(ctx, E_ACCESS_VALUE, 3, 0, logged, word) }
                        next := 1
                        switch eq(op, K_OP_LD)
                        case 1 {
                            let v := and(shr(shift, word), mask)
                            if and(shr(2, func), lt(bytes, 8)) {
                                let sign := shl(sub(shl(3, bytes), 1), 1)
                                v := and(sub(xor(v, sign), sign), M64)
                            }
                            if rd {
                                writeQ(q, rd, v)
                                dirty := shr(2, rd)
                            }
                        }
                        default {
                            let v := and(reg(q, rb), mask)
                            let nw := or(and(word, not(shl(shift, mask))), shl(shift, v))
                            // write_s (access 1): value, then the leaf proof
                            // (its depth was checked on first use).
                            let lw := expect(ctx, 1, 1, wordAddr)
                            if iszero(eq(lw, nw)) { fail(ctx, E_ACCESS_VALUE, 3, 1, lw, nw) }
                            leafFor(ctx, 1, wordAddr, 0)
                            let sh := sub(192, shl(6, and(shr(3, wordAddr), 3)))
                            leaf := or(and(leaf, not(shl(sh, M64))), shl(sh, swap64(nw)))
                            wrote := 1
                            next := 2
                        }
                    }
                    default {
                        switch op
                        case 13 {
                            // BR
                            let a := reg(q, ra)
                            let b := reg(q, rb)
                            let t
                            switch func
                            case 0 { t := eq(a, b) }
                            case 1 { t := iszero(eq(a, b)) }
                            case 2 { t := slt(signextend(7, a), signextend(7, b)) }
                            case 3 { t := iszero(slt(signextend(7, a), signextend(7, b))) }
                            case 4 { t := lt(a, b) }
                            case 5 { t := iszero(lt(a, b)) }
                            if t { nextUpc := imm }
                        }
                        case 14 {
                            // JAL
                            let target := and(add(reg(q, ra), imm), M64)
                            if rd {
                                writeQ(q, rd, nextUpc)
                                dirty := shr(2, rd)
                            }
                            nextUpc := target
                        }
                        default {
                            switch lt(sub(op, K_OP_MUL), 8)
                            case 1 {
                                // MUL .. REMU: u[rd] = f(u[ra], u[rb] + imm), RISC-V's
                                // mul .. remu (MUL of two words is their full 128-bit
                                // product, of two sign-extended words the signed one;
                                // x / 0 = 2^64 - 1, x % 0 = x; -2^63 / -1 wraps to
                                // -2^63 and -2^63 % -1 = 0 under the mask).
                                let a := reg(q, ra)
                                let b := and(add(reg(q, rb), imm), M64)
                                let v
                                switch op
                                case 15 { v := and(mul(a, b), M64) }
                                case 16 { v := and(sar(64, mul(signextend(7, a), signextend(7, b))), M64) }
                                case 17 { v := and(sar(64, mul(signextend(7, a), b)), M64) }
                                case 18 { v := shr(64, mul(a, b)) }
                                case 19 {
                                    v := M64
                                    if b { v := and(sdiv(signextend(7, a), signextend(7, b)), M64) }
                                }
                                case 20 {
                                    v := M64
                                    if b { v := div(a, b) }
                                }
                                case 21 {
                                    v := a
                                    if b { v := and(smod(signextend(7, a), signextend(7, b)), M64) }
                                }
                                default {
                                    v := a
                                    if b { v := mod(a, b) }
                                }
                                if rd {
                                    writeQ(q, rd, v)
                                    dirty := shr(2, rd)
                                }
                            }
                            default { nextUpc := upc }
                        }
                    }
                }
                writeQ(q, 0, or(and(nextUpc, M32), and(shl(32, add(clock, 1)), M64)))
            }

            // ---------------------------------------------------------
            // verify_step_with (src/verify/mod.rs). A step without a leaf
            // proof ends here, returning root(R) after from the scratch
            // word (the ABI encoding of one bytes32 is the word itself);
            // with one, the walk of its path follows the block.

            let q := mload(0x40)
            // Q, 32 spare bytes (word 15 is written as a 32-byte store), the context.
            let ctx := add(q, 0xa0)
            context := ctx
            mstore(0x40, add(ctx, 0x1c0))
            let kind := decode(proof.offset, proof.length, q, ctx)
            let hasLeaf := mload(add(ctx, 0x40))
            mstore(ctx, rootBefore)
            let l0 := keccak256(q, 0x20)
            let l1 := keccak256(add(q, 0x20), 0x20)
            let l2 := keccak256(add(q, 0x40), 0x20)
            let l3 := keccak256(add(q, 0x60), 0x20)
            mstore(add(ctx, 0x140), l1)
            mstore(add(ctx, 0x160), l2)
            mstore(add(ctx, 0x180), l3)
            let qRoot := hash2(hash2(l0, l1), hash2(l2, l3))
            mstore(add(ctx, 0x20), qRoot)
            if iszero(hasLeaf) {
                let computed := hash2(qRoot, mload(add(ctx, 0xc0)))
                if iszero(eq(computed, rootBefore)) { raise(E_ROOT_MISMATCH, 2, rootBefore, computed, 0) }
            }
            let w0 := swap64(shr(192, mload(q)))
            let clock := shr(32, w0)
            let clean := iszero(lt(clock, K_CLEAN_AT))
            if iszero(eq(kind, clean)) { fail(ctx, E_WRONG_KIND, 3, clock, clean, kind) }
            let m := mload(add(ctx, 0x100))
            switch clean
            case 1 {
                // The cleaning step: Q becomes Q*, S unchanged; finish.
                if m { fail(ctx, E_LEFTOVER_ACCESSES, 2, 0, m, 0) }
                if hasLeaf { fail(ctx, E_UNUSED_LEAF_PROOF, 0, 0, 0, 0) }
                mstore(0, hash2(K_Q_STAR_ROOT, mload(add(ctx, 0xc0))))
                return(0, 0x20)
            }
            default {
                let next, wrote, leaf, dirty := ustep(ctx, q, data, w0)
                // finish (src/verify/replay.rs): every access used, and the leaf proof.
                if iszero(eq(next, m)) { fail(ctx, E_LEFTOVER_ACCESSES, 2, next, sub(m, next), 0) }
                // A step that reaches S makes access 0 (next > 0).
                if and(hasLeaf, iszero(next)) { fail(ctx, E_UNUSED_LEAF_PROOF, 0, 0, 0, 0) }
                // root(Q) after: leaf 0 (word 0) changed, and the written register's leaf.
                l0 := keccak256(q, 0x20)
                l1 := mload(add(ctx, 0x140))
                l2 := mload(add(ctx, 0x160))
                l3 := mload(add(ctx, 0x180))
                switch dirty
                case 1 { l1 := keccak256(add(q, 0x20), 0x20) }
                case 2 { l2 := keccak256(add(q, 0x40), 0x20) }
                case 3 { l3 := keccak256(add(q, 0x60), 0x20) }
                let qAfter := hash2(hash2(l0, l1), hash2(l2, l3))
                if iszero(hasLeaf) {
                    // s_root is where the leaf would be; the step is done.
                    mstore(0, hash2(qAfter, mload(add(ctx, 0xc0))))
                    return(0, 0x20)
                }
                // For the walk: root(Q) after, the leaf after.
                mstore(add(ctx, 0x140), qAfter)
                mstore(add(ctx, 0xe0), leaf)
            }
        }
        // The leaf proof's path, hashed once after the step by the
        // generated `LeafWalks`: the roots of S before and after (one walk
        // over the shared siblings). The root before must be the agreed one.
        uint256 leafProof;
        unchecked {
            leafProof = context + 0x60;
        }
        (bytes32 sBefore, bytes32 sAfter) = leafRoots(leafProof);
        assembly ("memory-safe") {
            mstore(0, mload(add(context, 0x20)))
            mstore(0x20, sBefore)
            let computed := keccak256(0, 0x40)
            if iszero(eq(computed, rootBefore)) {
                let e := mload(0x40)
                mstore(e, shl(224, E_ROOT_MISMATCH))
                mstore(add(e, 0x04), rootBefore)
                mstore(add(e, 0x24), computed)
                revert(e, 0x44)
            }
            // root(R) after, returned as the assembly above returns it.
            mstore(0, mload(add(context, 0x140)))
            mstore(0x20, sAfter)
            mstore(0, keccak256(0, 0x40))
            return(0, 0x20)
        }
    }

    /// `keccak256(left || right)`, in scratch memory.
    function hashNode(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0, left)
            mstore(0x20, right)
            h := keccak256(0, 0x40)
        }
    }

    /// Reverses the bytes of a 64-bit value (little-endian <-> big-endian).
    function swap64(uint256 x) internal pure returns (uint256) {
        x = ((x & 0xff00ff00ff00ff00) >> 8) | ((x & 0x00ff00ff00ff00ff) << 8);
        x = ((x & 0xffff0000ffff0000) >> 16) | ((x & 0x0000ffff0000ffff) << 16);
        return (x >> 32) | ((x & M32) << 32);
    }

    // ------------------------------------------------------------------
    // The data contract, checked.

    /// @notice The root of the microcode commitment that the data contract
    /// holds (always `Microcode.ROOT`: the constructor checked it).
    function microcodeRoot() external view override returns (bytes32) {
        return commitmentRoot(DATA);
    }

    /// Checks the data contract at `data` (size, `STOP` prefix, zero-subtree
    /// table) and returns the root of its microcode's commitment (the Merkle
    /// tree of `SLOTS` words, four little-endian words per 32-byte leaf).
    function commitmentRoot(address data) internal view returns (bytes32) {
        uint256 size = data.code.length;
        if (size != 1 + Microcode.DATA_BYTES) revert DataSize(1 + Microcode.DATA_BYTES, size);
        // The whole code in memory, read once.
        uint256 m;
        assembly ("memory-safe") {
            m := mload(0x40)
            mstore(0x40, add(m, add(size, 0x20)))
            extcodecopy(data, m, 0, size)
        }
        uint256 first;
        assembly ("memory-safe") {
            first := byte(0, mload(m))
        }
        if (first != 0) revert DataPrefix(first);
        bytes32 z;
        assembly ("memory-safe") {
            mstore(0, 0)
            z := keccak256(0, 0x20)
        }
        for (uint256 k = 0; k < Const.MAX_SIBLINGS; k++) {
            bytes32 t;
            assembly ("memory-safe") {
                t := mload(add(add(m, 1), shl(5, k)))
            }
            if (t != z) revert ZeroTable(k);
            z = hashNode(z, z);
        }
        uint256 leaves = Microcode.SLOTS / 4;
        bytes32[] memory level = new bytes32[](leaves);
        uint256 words = m + 1 + Microcode.ZERO_TABLE_BYTES;
        for (uint256 i = 0; i < leaves; i++) {
            uint256 leaf;
            for (uint256 j = 0; j < 4; j++) {
                uint256 slot = i * 4 + j;
                uint256 w;
                if (slot < Microcode.WORDS) {
                    uint256 at = words + slot * 8;
                    assembly ("memory-safe") {
                        w := shr(192, mload(at))
                    }
                }
                leaf |= swap64(w) << (192 - 64 * j);
            }
            bytes32 h;
            assembly ("memory-safe") {
                mstore(0, leaf)
                h := keccak256(0, 0x20)
            }
            level[i] = h;
        }
        for (uint256 width = leaves; width > 1; width /= 2) {
            for (uint256 i = 0; i < width / 2; i++) {
                level[i] = hashNode(level[2 * i], level[2 * i + 1]);
            }
        }
        return level[0];
    }
}
