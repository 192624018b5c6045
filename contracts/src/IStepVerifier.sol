// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title IStepVerifier: the one-step verifier as the dispute game sees it.
/// @notice The game knows the verifier only through this interface (as
/// Optimism's `FaultDisputeGame` knows `IBigStepper`): it settles the
/// disputed micro-step with `step` against the agreed root and compares the
/// result with the defender's root. The players read `microcodeRoot` and
/// `DATA` to check a deployment, and decode a refused proof with the
/// errors below, which are the Rust decoder's and verifier's errors with
/// the same names and fields (`src/chain/abi.rs` gives the Rust side's
/// revert data for each). `StepVerifier` is the implementation.
interface IStepVerifier {
    // ------------------------------------------------------------------
    // Errors of the decoder (`DecodeError` in verify/src/proof/binary.rs).

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
    // The functions.

    /// @notice Verifies one micro-step of machine AB: from the agreed root
    /// before the step and a binary step proof (`proofs/README.md`), returns
    /// the root after it, or reverts with one of the errors above.
    function step(bytes32 rootBefore, bytes calldata proof) external view returns (bytes32 rootAfter);

    /// @notice The root of the microcode commitment the verifier runs
    /// (`MICROCODE_ROOT` in the Rust build).
    function microcodeRoot() external view returns (bytes32);

    /// @notice The data contract holding the zero-subtree table and the
    /// microcode (a player checks its code byte for byte).
    function DATA() external view returns (address);
}
