// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Const, Op, Cond, Microcode} from "./Generated.sol";

/// @title StepVerifier: one micro-step of machine AB, checked on chain.
/// @notice `step(rootBefore, proof)` re-executes one micro-step from a
/// binary step proof (`proofs/README.md`, version 2) and returns the root of
/// the state after it, or reverts with one custom error per kind of
/// failure. It mirrors the Rust verifier line by line, with the same names:
/// the decoder (`src/proof/binary.rs` `decode`), the checks of
/// `verify_step_with` (`src/verify/mod.rs`), the replaying accessor
/// (`src/verify/replay.rs`: `expect`, `leaf_for`, `read_s`, `write_s`,
/// `finish`) and the step function itself (`src/micro/step.rs`: `ustep`,
/// `reg`, `set_reg`, `low_mask`, `taken`, `alu_op`).
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
/// (128 bytes) is copied into memory, since the step rewrites it.
contract StepVerifier {
    // ------------------------------------------------------------------
    // Errors of the decoder (`DecodeError` in src/proof/binary.rs).

    /// The proof ended inside a field that starts at `offset` and needs `needed` bytes.
    error Truncated(uint256 offset, uint256 needed);
    /// Unknown format version.
    error Version(uint256 version);
    /// Unknown proof kind byte (0 = step, 1 = clean).
    error Kind(uint256 kind);
    /// Undefined flag bits (bit 0 = leaf proof).
    error Flags(uint256 flags);
    /// More siblings than the format allows.
    error TooManySiblings(uint256 count);
    /// The zero-sibling bitmap marks siblings beyond the `count` the proof has.
    error ZeroMask(uint256 mask, uint256 count);
    /// More accesses than the format allows.
    error TooManyAccesses(uint256 count);
    /// Unknown access kind byte (0 = read, 1 = write) of access `index`.
    error AccessKindByte(uint256 index, uint256 kindByte);
    /// Bytes after the end of the proof.
    error Trailing(uint256 offset, uint256 extra);

    // ------------------------------------------------------------------
    // Errors of the verifier (`VerifyError` in src/verify/mod.rs). Kinds
    // are 0 = read, 1 = write for accesses and 0 = step, 1 = clean for proofs.

    /// `H(root(Q) || s_root)` is not the agreed root.
    error RootMismatch(bytes32 expected, bytes32 computed);
    /// The proof's kind does not match the clock.
    error WrongKind(uint256 clock, uint256 expected, uint256 found);
    /// The step made access `index` but the log has no entry `index`.
    error MissingAccess(uint256 index, uint256 kind, uint256 addr);
    /// The logged access is a read where the step writes, or the reverse.
    error AccessKind(uint256 index, uint256 expected, uint256 found);
    /// The logged access names another address.
    error AccessAddress(uint256 index, uint256 expected, uint256 found);
    /// The logged value is not the value read or written.
    error AccessValue(uint256 index, uint256 logged, uint256 actual);
    /// The step reaches `S` but the proof has no leaf proof.
    error MissingLeafProof(uint256 index);
    /// The leaf proof is for another leaf than access `index` needs.
    error LeafIndex(uint256 index, uint256 expected, uint256 found);
    /// Wrong number of siblings in the leaf proof.
    error LeafDepth(uint256 expected, uint256 found);
    /// A leaf proof the step did not use.
    error UnusedLeafProof();
    /// Logged accesses the step did not make.
    error LeftoverAccesses(uint256 index, uint256 count);

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
    address public immutable DATA;

    uint256 private constant M64 = 0xffffffffffffffff;
    uint256 private constant M32 = 0xffffffff;

    /// The replay of one proof (`Replay` in src/verify/replay.rs), in memory.
    struct Replay {
        /// Calldata offset of the proof.
        uint256 proof;
        /// Memory address of `Q`: 16 little-endian words, as in the proof.
        uint256 q;
        /// Whether the proof has a leaf proof.
        bool hasLeaf;
        /// The leaf proof's index, sibling count, zero bitmap and the
        /// calldata offset of its first sent sibling.
        uint256 leafIndex;
        uint256 n;
        uint256 zeros;
        uint256 siblings;
        /// The proven leaf's current bytes (little-endian words).
        bytes32 leaf;
        /// Whether an access used the leaf proof (`leaf.is_some()` in Rust).
        bool leafUsed;
        /// Whether the step wrote the leaf.
        bool wrote;
        /// `root(S)` before the step.
        bytes32 sRoot;
        /// Number of logged accesses, and the calldata offset of the first.
        uint256 m;
        uint256 accesses;
        /// The next access to replay.
        uint256 next;
        /// Memory address of the zero-subtree table, once copied from the
        /// data contract (0 before: only proofs with zero siblings need it).
        uint256 zt;
        /// The leaf as the proof gives it.
        bytes32 leafBefore;
        /// `root(Q)` before the step, and the agreed root.
        bytes32 qRoot;
        bytes32 rootBefore;
    }

    /// The fields of one micro-instruction (`Uop` in src/micro/isa.rs).
    struct Uop {
        uint256 op;
        uint256 rd;
        uint256 ra;
        uint256 rb;
        uint256 func;
        /// The signed 40-bit immediate, sign-extended to 64 bits.
        uint256 imm;
    }

    /// Checks the data contract at `data` (its size, its `STOP` prefix, its
    /// zero-subtree table and the root of its microcode) and keeps its address.
    constructor(address data) {
        bytes32 found = commitmentRoot(data);
        if (found != Microcode.ROOT) revert MicrocodeMismatch(Microcode.ROOT, found);
        DATA = data;
    }

    /// @notice Verifies one micro-step: from the agreed root before the
    /// step and a binary step proof, returns the root after it.
    function step(bytes32 rootBefore, bytes calldata proof) external view returns (bytes32 rootAfter) {
        Replay memory r = decode(proof);
        return verifyStep(rootBefore, r);
    }

    // ------------------------------------------------------------------
    // Decoding (src/proof/binary.rs `decode`): the fields in order, the
    // first fault reverts. Nothing is copied but `Q`.

    /// Reverts with `Truncated` unless `needed` bytes start at `at`; returns the end.
    function take(uint256 at, uint256 needed, uint256 len) private pure returns (uint256) {
        unchecked {
            if (at + needed > len) revert Truncated(at, needed);
            return at + needed;
        }
    }

    function decode(bytes calldata proof) internal view returns (Replay memory r) {
        unchecked {
            uint256 len = proof.length;
            uint256 p;
            assembly ("memory-safe") {
                p := proof.offset
            }
            r.proof = p;
            take(0, 1, len);
            uint256 version = u8(p);
            if (version != Const.PROOF_VERSION) revert Version(version);
            take(1, 1, len);
            uint256 kind = u8(p + 1);
            if (kind > 1) revert Kind(kind);
            // Q is read word by word, as in Rust: a truncation names the word.
            if (len < 130) revert Truncated(2 + ((len - 2) / 8) * 8, 8);
            uint256 q;
            assembly ("memory-safe") {
                // Q, plus 32 spare bytes so that writing word 15 as a 32-byte
                // store stays inside the allocation.
                q := mload(0x40)
                mstore(0x40, add(q, 160))
                calldatacopy(q, add(p, 2), 128)
            }
            r.q = q;
            take(130, 1, len);
            uint256 flags = u8(p + 130);
            if (flags & ~uint256(1) != 0) revert Flags(flags);
            uint256 at;
            if (flags & 1 != 0) {
                r.hasLeaf = true;
                take(131, 8, len);
                r.leafIndex = le64(p + 131);
                take(139, 32, len);
                bytes32 leaf;
                assembly ("memory-safe") {
                    leaf := calldataload(add(p, 139))
                }
                r.leaf = leaf;
                r.leafBefore = leaf;
                take(171, 1, len);
                uint256 n = u8(p + 171);
                if (n > Const.MAX_SIBLINGS) revert TooManySiblings(n);
                r.n = n;
                take(172, 4, len);
                uint256 zeros = le32(p + 172);
                if (zeros >> n != 0) revert ZeroMask(zeros, n);
                r.zeros = zeros;
                r.siblings = p + 176;
                // The siblings not marked in the bitmap, 32 bytes each.
                at = 176 + 32 * (n - popcount32(zeros));
                if (at > len) revert Truncated(176 + 32 * ((len - 176) / 32), 32);
            } else {
                at = take(131, 32, len);
                bytes32 sr;
                assembly ("memory-safe") {
                    sr := calldataload(add(p, 131))
                }
                r.sRoot = sr;
            }
            at = take(at, 1, len);
            uint256 m = u8(p + at - 1);
            if (m > Const.MAX_ACCESSES) revert TooManyAccesses(m);
            r.m = m;
            r.accesses = p + at;
            for (uint256 index = 0; index < m; index++) {
                at = take(at, 1, len);
                uint256 b = u8(p + at - 1);
                if (b > 1) revert AccessKindByte(index, b);
                at = take(at, 8, len);
                at = take(at, 8, len);
            }
            if (at != len) revert Trailing(at, len - at);
            // With a leaf proof, s_root is the root it leads to: hashed once,
            // in finish, together with the root after a write.
        }
    }

    // ------------------------------------------------------------------
    // Verifying (src/verify/mod.rs `verify_step_with`).
    //
    // The checks come in Rust's order: root, kind, the step's accesses, the
    // leftovers. With a leaf proof, the leaf's path is hashed once, after
    // the step, for both roots (before and, after a write, after); a check
    // that fails before then goes through `fail`, which settles the root
    // check first, so the error is the one Rust reports.

    function verifyStep(bytes32 rootBefore, Replay memory r) internal view returns (bytes32) {
        bytes32 qBefore = qRoot(r.q);
        r.qRoot = qBefore;
        r.rootBefore = rootBefore;
        if (!r.hasLeaf) {
            bytes32 computed = hashNode(qBefore, r.sRoot);
            if (computed != rootBefore) revert RootMismatch(rootBefore, computed);
        }
        uint256 clock = readQ(r, 0) >> 32;
        uint256 expected = clock >= Const.CLEAN_AT ? 1 : 0;
        uint256 found = u8(r.proof + 1);
        if (found != expected) fail(r, abi.encodeWithSelector(WrongKind.selector, clock, expected, found));
        ustep(r, Const.CLEAN_AT);
        bytes32 sRootAfter = finish(r);
        return hashNode(qRoot(r.q), sRootAfter);
    }

    /// Reverts with `err`, unless the root check (not yet made for a proof
    /// with a leaf proof) fails, which Rust reports first.
    function fail(Replay memory r, bytes memory err) internal view {
        if (r.hasLeaf) {
            (bytes32 sRoot,) = pathRoots(r, r.leafBefore, r.leafBefore);
            bytes32 computed = hashNode(r.qRoot, sRoot);
            if (computed != r.rootBefore) revert RootMismatch(r.rootBefore, computed);
        }
        assembly ("memory-safe") {
            revert(add(err, 0x20), mload(err))
        }
    }

    // ------------------------------------------------------------------
    // The replaying accessor (src/verify/replay.rs).

    /// Word `i` of `Q`.
    function readQ(Replay memory r, uint256 i) internal pure returns (uint256 v) {
        uint256 q = r.q;
        assembly ("memory-safe") {
            v := shr(192, mload(add(q, shl(3, i))))
        }
        v = swap64(v);
    }

    /// Sets word `i` of `Q` to `v`.
    function writeQ(Replay memory r, uint256 i, uint256 v) internal pure {
        uint256 q = r.q;
        uint256 le = swap64(v & M64);
        assembly ("memory-safe") {
            let at := add(q, shl(3, i))
            mstore(at, or(shr(64, shl(64, mload(at))), shl(192, le)))
        }
    }

    /// The micro-instruction at slot `upc mod SLOTS` of the data contract's microcode.
    function fetch(uint256 upc) internal view returns (uint256 w) {
        address d = DATA;
        uint256 at = 1 + Microcode.ZERO_TABLE_BYTES + ((upc & (Microcode.SLOTS - 1)) << 3);
        assembly ("memory-safe") {
            // Past the end of code EXTCODECOPY gives zeros: the padding slots.
            extcodecopy(d, 0, at, 8)
            w := shr(192, mload(0))
        }
    }

    /// The logged access `index`, which must be of `kind` at `addr`; returns its value.
    function expect(Replay memory r, uint256 index, uint256 kind, uint256 addr) internal view returns (uint256) {
        if (index >= r.m) fail(r, abi.encodeWithSelector(MissingAccess.selector, index, kind, addr));
        uint256 a = r.accesses + 17 * index;
        uint256 k = u8(a);
        if (k != kind) fail(r, abi.encodeWithSelector(AccessKind.selector, index, kind, k));
        uint256 logged = le64(a + 1);
        if (logged != addr) fail(r, abi.encodeWithSelector(AccessAddress.selector, index, addr, logged));
        return le64(a + 9);
    }

    /// Checks the leaf proof for access `index` at `addr` (on first use, its depth).
    function leafFor(Replay memory r, uint256 index, uint256 addr) internal view {
        if (!r.hasLeaf) fail(r, abi.encodeWithSelector(MissingLeafProof.selector, index));
        if (r.leafIndex != addr >> 5) {
            fail(r, abi.encodeWithSelector(LeafIndex.selector, index, addr >> 5, r.leafIndex));
        }
        if (!r.leafUsed) {
            if (r.n != Const.S_TREE_DEPTH) {
                fail(r, abi.encodeWithSelector(LeafDepth.selector, Const.S_TREE_DEPTH, r.n));
            }
            // The leaf proof leads to s_root by construction: the decoder
            // took s_root from it (Rust's `LeafRoot` cannot happen here).
            r.leafUsed = true;
        }
    }

    function readS(Replay memory r, uint256 addr) internal view returns (uint256) {
        uint256 index = r.next;
        uint256 logged = expect(r, index, 0, addr);
        leafFor(r, index, addr);
        uint256 actual = wordOf(r.leaf, addr);
        if (logged != actual) fail(r, abi.encodeWithSelector(AccessValue.selector, index, logged, actual));
        r.next = index + 1;
        return actual;
    }

    function writeS(Replay memory r, uint256 addr, uint256 v) internal view {
        uint256 index = r.next;
        uint256 logged = expect(r, index, 1, addr);
        if (logged != v) fail(r, abi.encodeWithSelector(AccessValue.selector, index, logged, v));
        leafFor(r, index, addr);
        uint256 shift = 192 - (((addr & 31) >> 3) << 6);
        r.leaf = (r.leaf & ~bytes32(M64 << shift)) | bytes32(swap64(v) << shift);
        r.wrote = true;
        r.next = index + 1;
    }

    /// Checks that the whole proof was used; returns `root(S)` after the step.
    function finish(Replay memory r) internal view returns (bytes32) {
        if (r.next != r.m) fail(r, abi.encodeWithSelector(LeftoverAccesses.selector, r.next, r.m - r.next));
        if (r.hasLeaf && !r.leafUsed) fail(r, abi.encodeWithSelector(UnusedLeafProof.selector));
        if (!r.hasLeaf) return r.sRoot;
        (bytes32 before, bytes32 after_) = pathRoots(r, r.leafBefore, r.leaf);
        bytes32 computed = hashNode(r.qRoot, before);
        if (computed != r.rootBefore) revert RootMismatch(r.rootBefore, computed);
        return after_;
    }

    // ------------------------------------------------------------------
    // The step function (src/micro/step.rs), for this accessor.

    /// Reads micro-register `i` (`u0` is zero).
    function reg(Replay memory r, uint256 i) internal pure returns (uint256) {
        return i == 0 ? 0 : readQ(r, i);
    }

    /// Writes micro-register `i` (writes to `u0` are dropped).
    function setReg(Replay memory r, uint256 i, uint256 v) internal pure {
        if (i != 0) writeQ(r, i, v);
    }

    /// `2^(8 bytes) - 1` for `bytes` in 1, 2, 4, 8.
    function lowMask(uint256 bytes_) internal pure returns (uint256) {
        return bytes_ >= 8 ? M64 : (uint256(1) << (bytes_ * 8)) - 1;
    }

    /// Whether branch condition `c` holds for `a`, `b`.
    function taken(uint256 c, uint256 a, uint256 b) internal pure returns (bool) {
        if (c == Cond.EQ) return a == b;
        if (c == Cond.NE) return a != b;
        if (c == Cond.LT) return int64(uint64(a)) < int64(uint64(b));
        if (c == Cond.GE) return int64(uint64(a)) >= int64(uint64(b));
        if (c == Cond.LTU) return a < b;
        if (c == Cond.GEU) return a >= b;
        return false;
    }

    /// `u[rd] = f(u[ra], u[rb] + imm)`, with `f` the operation `op`.
    function aluOp(Replay memory r, Uop memory u) internal pure {
        uint256 a = reg(r, u.ra);
        uint256 b = (reg(r, u.rb) + u.imm) & M64;
        uint256 op = u.op;
        uint256 v;
        if (op == Op.ADD) v = (a + b) & M64;
        else if (op == Op.SUB) v = unchecked_sub(a, b) & M64;
        else if (op == Op.AND) v = a & b;
        else if (op == Op.OR) v = a | b;
        else if (op == Op.XOR) v = a ^ b;
        else if (op == Op.SLL) v = (a << (b & 63)) & M64;
        else if (op == Op.SRL) v = a >> (b & 63);
        else if (op == Op.SRA) v = uint64(int64(uint64(a)) >> (b & 63));
        else if (op == Op.SLTU) v = a < b ? 1 : 0;
        else v = int64(uint64(a)) < int64(uint64(b)) ? 1 : 0; // Op.SLT
        setReg(r, u.rd, v);
    }

    /// `a - b` modulo `2^256` (the caller keeps the low 64 bits).
    function unchecked_sub(uint256 a, uint256 b) internal pure returns (uint256) {
        unchecked {
            return a - b;
        }
    }

    /// Splits a micro-instruction word into fields (`Uop::decode`).
    function decodeUop(uint256 w) internal pure returns (Uop memory u) {
        u.op = w & 0xff;
        u.rd = (w >> 8) & 15;
        u.ra = (w >> 12) & 15;
        u.rb = (w >> 16) & 15;
        u.func = (w >> 20) & 15;
        u.imm = uint64(int64(uint64(w)) >> 24);
    }

    /// The `LD | ST` arm of `ustep` (a function of its own only for the
    /// compiler's stack).
    function loadStore(Replay memory r, Uop memory u) internal view {
        unchecked {
            uint256 bytes_ = uint256(1) << (u.func & 3);
            uint256 addr = ((reg(r, u.ra) + u.imm) & M64) & Const.S_ADDR_MASK & ~(bytes_ - 1);
            uint256 wordAddr = addr & ~uint256(7);
            uint256 shift = (addr & 7) * 8;
            uint256 mask = lowMask(bytes_);
            uint256 word = readS(r, wordAddr);
            if (u.op == Op.LD) {
                uint256 v = (word >> shift) & mask;
                if (u.func & 4 != 0 && bytes_ < 8) {
                    uint256 sign = uint256(1) << (bytes_ * 8 - 1);
                    v = ((v ^ sign) - sign) & M64;
                }
                setReg(r, u.rd, v);
            } else {
                uint256 v = reg(r, u.rb) & mask;
                writeS(r, wordAddr, (word & ~(mask << shift)) | (v << shift));
            }
        }
    }

    /// One micro-step. `cleanAt` is `2^a - 1`: at that clock value the step
    /// resets `Q` to `Q*`.
    function ustep(Replay memory r, uint256 cleanAt) internal view {
        unchecked {
            uint256 w0 = readQ(r, 0);
            uint256 upc = w0 & M32;
            uint256 clock = w0 >> 32;
            if (clock >= cleanAt) {
                for (uint256 i = 0; i < Const.Q_WORDS; i++) {
                    writeQ(r, i, 0);
                }
                return;
            }
            Uop memory u = decodeUop(fetch(upc));
            uint256 imm = u.imm;
            uint256 next = (upc + 1) & M64;
            uint256 op = u.op;
            if (op >= Op.ADD && op <= Op.SLT) {
                // One arm per ALU operation in Rust; one dispatch in aluOp here.
                aluOp(r, u);
            } else if (op == Op.LD || op == Op.ST) {
                loadStore(r, u);
            } else if (op == Op.BR) {
                uint256 a = reg(r, u.ra);
                uint256 b = reg(r, u.rb);
                if (taken(u.func, a, b)) next = imm;
            } else if (op == Op.JAL) {
                uint256 target = (reg(r, u.ra) + imm) & M64;
                setReg(r, u.rd, (upc + 1) & M64);
                next = target;
            } else {
                next = upc;
            }
            writeQ(r, 0, (next & M32) | (((clock + 1) << 32) & M64));
        }
    }

    // ------------------------------------------------------------------
    // Hashing (src/hash.rs) and little-endian reads.

    /// `keccak256(left || right)`, in scratch memory.
    function hashNode(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0, left)
            mstore(0x20, right)
            h := keccak256(0, 0x40)
        }
    }

    /// `root(Q)`: the root of `Q`'s four 32-byte leaves, hashed in place.
    function qRoot(uint256 q) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            mstore(0, keccak256(q, 32))
            mstore(0x20, keccak256(add(q, 32), 32))
            let left := keccak256(0, 0x40)
            mstore(0, keccak256(add(q, 64), 32))
            mstore(0x20, keccak256(add(q, 96), 32))
            mstore(0x20, keccak256(0, 0x40))
            mstore(0, left)
            root := keccak256(0, 0x40)
        }
    }

    /// The roots the leaf proof leads to with `a` and with `b` in the
    /// leaf's place, in one walk (once per level if `a == b`): siblings
    /// from calldata, or `Z(k)` from the code's table where bit `k` of the
    /// bitmap is set.
    function pathRoots(Replay memory r, bytes32 a, bytes32 b) internal view returns (bytes32 ha, bytes32 hb) {
        uint256 index = r.leafIndex;
        uint256 n = r.n;
        uint256 zeros = r.zeros;
        uint256 sib = r.siblings;
        uint256 ztable = r.zt;
        if (zeros != 0 && ztable == 0) {
            address d = DATA;
            uint256 bytes_ = Microcode.ZERO_TABLE_BYTES;
            assembly ("memory-safe") {
                ztable := mload(0x40)
                mstore(0x40, add(ztable, bytes_))
                extcodecopy(d, ztable, 1, bytes_)
            }
            r.zt = ztable;
        }
        assembly ("memory-safe") {
            mstore(0, a)
            ha := keccak256(0, 0x20)
            // One level of a's path: sibling k from calldata or the Z table.
            function up(h, k, idx, zs, s, zt) -> h2, s2 {
                let hpos := shl(5, and(shr(k, idx), 1))
                let spos := xor(hpos, 0x20)
                mstore(hpos, h)
                s2 := s
                switch and(shr(k, zs), 1)
                case 0 {
                    calldatacopy(spos, s, 0x20)
                    s2 := add(s, 0x20)
                }
                default { mstore(spos, mload(add(zt, shl(5, k)))) }
                h2 := keccak256(0, 0x40)
            }
            switch and(eq(a, b), eq(n, 29))
            case 1 {
                // A read, or no write, at the state tree's depth: unrolled,
                // so the compiler folds each level's constants.
                ha, sib := up(ha, 0, index, zeros, sib, ztable)
                ha, sib := up(ha, 1, index, zeros, sib, ztable)
                ha, sib := up(ha, 2, index, zeros, sib, ztable)
                ha, sib := up(ha, 3, index, zeros, sib, ztable)
                ha, sib := up(ha, 4, index, zeros, sib, ztable)
                ha, sib := up(ha, 5, index, zeros, sib, ztable)
                ha, sib := up(ha, 6, index, zeros, sib, ztable)
                ha, sib := up(ha, 7, index, zeros, sib, ztable)
                ha, sib := up(ha, 8, index, zeros, sib, ztable)
                ha, sib := up(ha, 9, index, zeros, sib, ztable)
                ha, sib := up(ha, 10, index, zeros, sib, ztable)
                ha, sib := up(ha, 11, index, zeros, sib, ztable)
                ha, sib := up(ha, 12, index, zeros, sib, ztable)
                ha, sib := up(ha, 13, index, zeros, sib, ztable)
                ha, sib := up(ha, 14, index, zeros, sib, ztable)
                ha, sib := up(ha, 15, index, zeros, sib, ztable)
                ha, sib := up(ha, 16, index, zeros, sib, ztable)
                ha, sib := up(ha, 17, index, zeros, sib, ztable)
                ha, sib := up(ha, 18, index, zeros, sib, ztable)
                ha, sib := up(ha, 19, index, zeros, sib, ztable)
                ha, sib := up(ha, 20, index, zeros, sib, ztable)
                ha, sib := up(ha, 21, index, zeros, sib, ztable)
                ha, sib := up(ha, 22, index, zeros, sib, ztable)
                ha, sib := up(ha, 23, index, zeros, sib, ztable)
                ha, sib := up(ha, 24, index, zeros, sib, ztable)
                ha, sib := up(ha, 25, index, zeros, sib, ztable)
                ha, sib := up(ha, 26, index, zeros, sib, ztable)
                ha, sib := up(ha, 27, index, zeros, sib, ztable)
                ha, sib := up(ha, 28, index, zeros, sib, ztable)
                hb := ha
            }
            case 0 {
                if eq(a, b) {
                    for { let k := 0 } lt(k, n) { k := add(k, 1) } { ha, sib := up(ha, k, index, zeros, sib, ztable) }
                    hb := ha
                }
            }
            // One level of both paths: b's pair sits in free memory (used as
            // scratch, not allocated).
            function up2(h, g, k, idx, zs, s, zt, buf) -> h2, g2, s2 {
                let hpos := shl(5, and(shr(k, idx), 1))
                let spos := xor(hpos, 0x20)
                s2 := s
                switch and(shr(k, zs), 1)
                case 0 {
                    calldatacopy(spos, s, 0x20)
                    s2 := add(s, 0x20)
                }
                default { mstore(spos, mload(add(zt, shl(5, k)))) }
                mstore(add(buf, spos), mload(spos))
                mstore(hpos, h)
                mstore(add(buf, hpos), g)
                h2 := keccak256(0, 0x40)
                g2 := keccak256(buf, 0x40)
            }
            if iszero(eq(a, b)) {
                let buf := mload(0x40)
                mstore(0, b)
                hb := keccak256(0, 0x20)
                switch eq(n, 29)
                case 1 {
                    ha, hb, sib := up2(ha, hb, 0, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 1, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 2, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 3, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 4, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 5, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 6, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 7, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 8, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 9, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 10, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 11, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 12, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 13, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 14, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 15, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 16, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 17, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 18, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 19, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 20, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 21, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 22, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 23, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 24, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 25, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 26, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 27, index, zeros, sib, ztable, buf)
                    ha, hb, sib := up2(ha, hb, 28, index, zeros, sib, ztable, buf)
                }
                default {
                    for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                        ha, hb, sib := up2(ha, hb, k, index, zeros, sib, ztable, buf)
                    }
                }
            }
        }
    }

    /// Bits set in a 32-bit value.
    function popcount32(uint256 x) internal pure returns (uint256) {
        unchecked {
            x = x - ((x >> 1) & 0x55555555);
            x = (x & 0x33333333) + ((x >> 2) & 0x33333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f;
            return ((x * 0x01010101) & 0xffffffff) >> 24;
        }
    }

    /// The 64-bit little-endian word of `leaf` holding `addr`.
    function wordOf(bytes32 leaf, uint256 addr) internal pure returns (uint256) {
        return swap64((uint256(leaf) >> (192 - (((addr & 31) >> 3) << 6))) & M64);
    }

    /// Reverses the bytes of a 64-bit value (little-endian <-> big-endian).
    function swap64(uint256 x) internal pure returns (uint256) {
        x = ((x & 0xff00ff00ff00ff00) >> 8) | ((x & 0x00ff00ff00ff00ff) << 8);
        x = ((x & 0xffff0000ffff0000) >> 16) | ((x & 0x0000ffff0000ffff) << 16);
        return (x >> 32) | ((x & M32) << 32);
    }

    function u8(uint256 at) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(248, calldataload(at))
        }
    }

    function le64(uint256 at) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(192, calldataload(at))
        }
        v = swap64(v);
    }

    function le32(uint256 at) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(224, calldataload(at))
        }
        v = ((v & 0xff00ff00) >> 8) | ((v & 0x00ff00ff) << 8);
        v = (v >> 16) | ((v & 0xffff) << 16);
    }

    // ------------------------------------------------------------------
    // The data contract, checked.

    /// @notice The root of the microcode commitment that the data contract
    /// holds (always `Microcode.ROOT`: the constructor checked it).
    function microcodeRoot() external view returns (bytes32) {
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
