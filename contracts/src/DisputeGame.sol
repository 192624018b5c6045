// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Const, InitialState, Policy} from "./Generated.sol";
import {IStepVerifier} from "./IStepVerifier.sol";

/// @title DisputeGame: the k-ary bisection game of verify/src/rules/mod.rs on chain.
/// @notice A defender claims that a program with an input, run for `2^b`
/// A-steps from `root(S_0)`, ends in a final root. During the challenge
/// window anyone may dispute the claim; each challenger plays a bisection
/// of its own against the defender (the same rules as the Rust referee,
/// with the same names: `startLevel`, `settleLevel`, `checkPlace`,
/// `timeLeft`). Each level has a fan-out `k`: the defender dissects the
/// interval into `min(k, n)` parts with its `parts - 1` roots (only their
/// hash is stored; the roots are in the calldata and in `Dissected`), the
/// challenger picks the first part it disputes, sending the same roots
/// back. The claim stands only if the defender wins every
/// dispute opened in the window; it falls as soon as one challenger wins.
/// The verifier, the clocks, the window, the largest `b` and the bonds are
/// the deployment's, never the claimant's.
///
/// Bonds are pull payments: a claim carries `claimBond`, a challenge
/// `challengeBond`. A dispute the defender wins credits it the challenger's
/// bond; a challenger who wins is credited its own bond back at once, and
/// once the window has closed and every dispute is decided, a reward from
/// the claim bond (`collect`): each dispute that refuted the claim gets
/// `challengeBond`, or an equal share of the claim bond if it does not
/// cover them all, and the rest of the claim bond is burnt (it stays in
/// the contract, credited to nobody). So a liar that refutes its own false
/// claim from other accounts gets back at most a reward per such dispute,
/// never the honest challenger's, never the claim bond, and the order in
/// which disputes are opened or won does not matter (contracts/README.md,
/// "The economics"). A claim that stands credits the defender its bond
/// back. Only `withdraw` moves ether.
///
/// Nothing agreed is taken from a player beyond the claim itself: the
/// contract computes `root(attach(Q*, S)) = keccak256(Q* root || root(S))`
/// at the hand-over from the steps levels to the micro levels, and settles
/// the disputed micro-step with the `StepVerifier` against the agreed root.
/// Chess clocks run on `block.timestamp`; a side whose clock has run out
/// loses when anyone calls `timeout`. Every move emits an event, so a game
/// can be followed from logs alone.
///
/// A claim never states `root(S_0)`: it names its program by its image
/// root (`root(S_0)` with an empty input) with the image's witness, and
/// carries the input's bytes; the contract checks the witness and derives
/// `root(S_0)` itself (`InitialState`, generated from src/state/initial.rs).
/// The input's bytes are in `ClaimMade`, so a challenger rebuilds the run
/// from the chain and the program alone.
///
/// The limits (largest `b`, level lists, input size, the ranges of the
/// deployment's parameters) and the clocks and window as a function of `b`
/// are the library `Policy`, generated from verify/src/rules/policy.rs: the
/// contract refuses every claim the Rust players cannot play.
contract DisputeGame {
    enum Side {
        Defender,
        Challenger
    }

    enum Phase {
        Bisect,
        Prove,
        Done
    }

    enum Status {
        None,
        Pending,
        Stands,
        Falls
    }

    /// A claim and the disputes against it, as `getClaim` returns it
    /// (stored as a `ClaimRecord`).
    struct Claim {
        address defender;
        uint64 createdAt;
        uint32 disputes;
        uint32 undecided;
        uint8 b;
        Status status;
        /// `root(S_0)`, derived from the program's image root and the input
        /// (both in `ClaimMade`, the only place they are kept).
        bytes32 initialRoot;
        bytes32 finalRoot;
        /// Two bytes per level: byte 0 bit 7 set for a micro level, bits
        /// 0..6 its log2; byte 1 the log2 of its fan-out `k` (1 ..= log2 MAX_FAN).
        bytes levels;
        /// Disputes the challenger won.
        uint32 winners;
    }

    /// One challenger's bisection against a claim (`Bisection` and
    /// `Disputed` of verify/src/rules/mod.rs in one record), as `getDispute`
    /// returns it (stored packed as a `Record`).
    struct Dispute {
        uint256 claim;
        address challenger;
        Phase phase;
        Side turn;
        Side winner;
        /// The defender has dissected the interval: the challenger picks.
        bool hasRoots;
        bool hasT;
        uint8 level;
        /// log2 of the level's fan-out.
        uint8 fanLog2;
        uint8 unitLog2;
        uint64 base;
        uint64 t;
        uint64 lo;
        uint64 hi;
        uint64 turnSince;
        uint64 seq;
        uint64[2] clock;
        bytes32 loRoot;
        bytes32 hiRoot;
        /// `keccak256(abi.encodePacked(roots))` of the dissection awaiting its pick.
        bytes32 rootsHash;
    }

    event ClaimMade(
        uint256 indexed claim,
        address indexed defender,
        bytes32 program,
        bytes32 input,
        bytes32 initialRoot,
        bytes32 finalRoot,
        uint8 b,
        bytes levels,
        bytes inputBytes
    );
    /// Dispute `dispute` is the `index`-th (from 0) of claim `claim`.
    event Challenged(
        uint256 indexed claim, uint256 indexed dispute, address indexed challenger, uint256 index, bytes32 root
    );
    /// A level begins: `[0, 2^log2]` from `loRoot` (agreed) to `hiRoot` (the defender's).
    event LevelStarted(
        uint256 indexed dispute, uint8 level, uint64 base, uint64 t, uint64 hi, bytes32 loRoot, bytes32 hiRoot
    );
    /// The defender's roots at `position`, `position + step`, ... (`step =
    /// n / parts`; `position` is the interval's lo plus one step).
    event Dissected(uint256 indexed dispute, uint8 level, uint64 position, bytes32[] roots);
    /// The challenger disputes part `part` (and agrees with every root before it).
    event Picked(uint256 indexed dispute, uint8 level, uint64 position, uint8 part);
    /// Micro-step `j` of A-step `t` awaits its proof from either side.
    event ProofAwaited(uint256 indexed dispute, uint64 t, uint64 j, bytes32 rootBefore, bytes32 rootAfter);
    /// The proof's bytes are in the event, so that a game can be rebuilt from logs alone.
    event Proved(uint256 indexed dispute, address by, bytes32 computed, Side winner, bytes proof);
    event TimedOut(uint256 indexed dispute, Side winner);
    event ClaimResolved(uint256 indexed claim, bool stands);
    /// `amount` more wei may be withdrawn by `to`.
    event Credited(address indexed to, uint256 amount);
    /// `to` withdrew `amount` wei.
    event Withdrawn(address indexed to, uint256 amount);
    /// The challenger of dispute `dispute` collected its reward from the claim bond.
    event Collected(uint256 indexed dispute, address indexed challenger, uint256 amount);

    error BadB(uint256 b, uint256 max);
    error LevelsEmpty();
    error TooManyLevels(uint256 count);
    error LevelOrder(uint256 level);
    error StepsSum(uint256 b, uint256 found);
    error MicroSum(uint256 a, uint256 found);
    error UnknownClaim(uint256 claim);
    error UnknownDispute(uint256 dispute);
    error WindowClosed(uint256 claim, uint256 closedAt);
    error WindowOpen(uint256 claim, uint256 closesAt);
    error ClaimDecided(uint256 claim);
    error Undecided(uint256 claim, uint256 disputes);
    error Over(uint256 dispute);
    error OutOfTurn(Side turn, address sender);
    error Unexpected(Phase phase, bool hasRoots);
    error Roots(uint256 expected, uint256 found);
    error Part(uint256 part, uint256 parts);
    error RootsMismatch(bytes32 stored, bytes32 sent);
    error Fan(uint256 level, uint256 k);
    error LevelBytes(uint256 length);
    error Place(uint256 level, uint256 position, uint256 wantLevel, uint256 wantPosition);
    error ClockRanOut(Side side);
    error ClockLeft(Side side, uint256 secondsLeft);
    error BadBond(uint256 sent, uint256 want);
    error TransferFailed(address to, uint256 amount);
    error MicroFirst();
    error InputTooLarge(uint256 length, uint256 max);
    error BadImage(bytes32 image, bytes32 computed);
    error MaxBOutOfRange(uint256 maxB, uint256 limit);
    error ClockOutOfRange(uint256 secondsBase, uint256 min, uint256 max);
    error WindowOutOfRange(uint256 secondsBase, uint256 min, uint256 max);
    error MarginOutOfRange(uint256 margin, uint256 min, uint256 max);
    error SpeedOutOfRange(uint256 stepsPerSecond, uint256 max);
    error TooLong(uint256 b, uint256 secondsAtB, uint256 max);
    error NoShare(uint256 dispute);

    /// The step verifier (deployment policy), known only by its interface.
    IStepVerifier public immutable verifier;
    /// Each side's clock in a dispute before the re-execution allowance,
    /// seconds (deployment policy; `clockFor(b)` is the clock).
    uint64 public immutable clockSeconds;
    /// How long after a claim disputes may be opened before the
    /// re-execution allowance, seconds (deployment policy; `windowFor(b)`).
    uint64 public immutable windowSeconds;
    /// Re-executions of `2^b` steps each clock and window allow (deployment policy).
    uint64 public immutable margin;
    /// The slowest re-execution allowed for, steps per second (deployment policy).
    uint64 public immutable minSpeed;
    /// The largest `b` a claim may have (deployment policy).
    uint8 public immutable maxB;
    /// The defender's bond with each claim, wei (deployment policy).
    uint256 public immutable claimBond;
    /// The challenger's bond with each dispute, wei (deployment policy).
    uint256 public immutable challengeBond;

    // ------------------------------------------------------------------
    // Storage. A bisection move reads one hot slot and the mover's address
    // slot and writes the hot slot; a dissection also writes the roots'
    // hash into the third root slot, a pick one or two roots (slots which
    // held a root before, so no 0 -> non-zero store after the first move).

    /// A claim as stored, with what its disputes change (counters, status,
    /// the first dispute's id) in a slot of its own.
    struct ClaimRecord {
        // slot 0, written once
        address defender;
        uint64 createdAt;
        uint8 b;
        // slot 1: what disputes change
        uint32 disputes;
        uint32 undecided;
        Status status;
        /// The global id of the claim's first dispute (the others: `moreDisputes`).
        uint64 firstDispute;
        /// Disputes the challenger won (each is rewarded from the claim bond).
        uint32 winners;
        // The program's image root and the input's hash are not stored:
        // `root(S_0)` binds them, and `ClaimMade` carries both (two fresh
        // slots, 44k gas a claim).
        bytes32 initialRoot;
        bytes32 finalRoot;
        bytes levels;
    }

    /// A dispute as stored.
    struct Record {
        /// Everything a bisection move reads and writes, packed (`Hot`).
        uint256 hot;
        // slot 1: read by the defender's moves
        address defender;
        uint64 claim;
        // slot 2: read by the challenger's moves; t, unitLog2 and hasT change with the level
        address challenger;
        uint64 t;
        uint8 unitLog2;
        bool hasT;
        // slot 3: the base of the level (0 but below a second level of the same kind)
        uint64 base;
        /// The roots at lo and at hi in the slots that `loIdx` and `hiIdx`
        /// name; the third holds the hash of a dissection's roots: a pick
        /// writes the new lo or hi root over it and moves an index.
        bytes32[3] roots;
    }

    /// `Record.hot` unpacked. Bits: lo 0..63, w 64..71 (the interval is
    /// `[lo, lo + 2^w]`), the defender's clock 72..119, the challenger's
    /// 120..167 (seconds), turnSince 168..207, seq 208..223, level
    /// 224..231, phase 232..233, turn 234, winner 235, hasRoots 236, atStep
    /// 237 (the proof phase was reached: `lo` is the absolute micro-step),
    /// loIdx 238..239, hiIdx 240..241, collected 242 (the challenger took
    /// its reward from the claim bond), fan 243..245 (log2 of the level's
    /// fan-out).
    struct Hot {
        uint64 lo;
        uint256 w;
        uint256 clockD;
        uint256 clockC;
        uint256 turnSince;
        uint256 seq;
        uint256 level;
        Phase phase;
        Side turn;
        Side winner;
        bool hasRoots;
        bool atStep;
        uint256 loIdx;
        uint256 hiIdx;
        uint256 fan;
    }

    /// A clock longer than this (8.9 million years) is this long.
    uint256 internal constant CLOCK_MAX = (1 << 48) - 1;
    uint256 internal constant SINCE_MAX = (1 << 40) - 1;
    // Bit offsets in `Record.hot`.
    uint256 internal constant W = 64;
    uint256 internal constant CLOCK_D = 72;
    uint256 internal constant CLOCK_C = 120;
    uint256 internal constant SINCE = 168;
    uint256 internal constant SEQ = 208;
    uint256 internal constant LEVEL = 224;
    uint256 internal constant PHASE = 232;
    uint256 internal constant TURN = 234;
    uint256 internal constant WINNER = 235;
    uint256 internal constant HAS_ROOTS = 236;
    uint256 internal constant AT_STEP = 237;
    uint256 internal constant LO_IDX = 238;
    uint256 internal constant HI_IDX = 240;
    uint256 internal constant COLLECTED = 242;
    uint256 internal constant FAN = 243;

    uint128 internal claimCount;
    uint128 internal disputeCount;
    mapping(uint256 => ClaimRecord) internal claims;
    mapping(uint256 => Record) internal disputes;
    /// The global id of the k-th dispute (k >= 1) of a claim, by claim.
    mapping(uint256 => mapping(uint256 => uint256)) internal moreDisputes;
    /// What each address may withdraw, wei.
    mapping(address => uint256) internal credits;

    /// Refuses a policy outside `Policy`'s limits (`ChainPolicy::check` in
    /// verify/src/rules/policy.rs, same order, same errors).
    constructor(
        IStepVerifier verifier_,
        uint64 clockSeconds_,
        uint64 windowSeconds_,
        uint64 margin_,
        uint64 minSpeed_,
        uint8 maxB_,
        uint256 claimBond_,
        uint256 challengeBond_
    ) {
        if (maxB_ == 0 || maxB_ > Policy.MAX_B) revert MaxBOutOfRange(maxB_, Policy.MAX_B);
        if (clockSeconds_ < Policy.MIN_CLOCK_SECONDS || clockSeconds_ > Policy.MAX_BASE_SECONDS) {
            revert ClockOutOfRange(clockSeconds_, Policy.MIN_CLOCK_SECONDS, Policy.MAX_BASE_SECONDS);
        }
        if (windowSeconds_ < Policy.MIN_WINDOW_SECONDS || windowSeconds_ > Policy.MAX_BASE_SECONDS) {
            revert WindowOutOfRange(windowSeconds_, Policy.MIN_WINDOW_SECONDS, Policy.MAX_BASE_SECONDS);
        }
        if (margin_ < Policy.MIN_MARGIN || margin_ > Policy.MAX_MARGIN) {
            revert MarginOutOfRange(margin_, Policy.MIN_MARGIN, Policy.MAX_MARGIN);
        }
        if (minSpeed_ == 0 || minSpeed_ > Policy.MAX_MIN_SPEED) {
            revert SpeedOutOfRange(minSpeed_, Policy.MAX_MIN_SPEED);
        }
        uint256 c = Policy.scaled(clockSeconds_, margin_, minSpeed_, maxB_);
        uint256 w = Policy.scaled(windowSeconds_, margin_, minSpeed_, maxB_);
        uint256 longest = c > w ? c : w;
        if (longest > Policy.MAX_SECONDS) revert TooLong(maxB_, longest, Policy.MAX_SECONDS);
        verifier = verifier_;
        clockSeconds = clockSeconds_;
        windowSeconds = windowSeconds_;
        margin = margin_;
        minSpeed = minSpeed_;
        maxB = maxB_;
        claimBond = claimBond_;
        challengeBond = challengeBond_;
    }

    function unpack(uint256 x) internal pure returns (Hot memory h) {
        h.lo = uint64(x);
        h.w = (x >> W) & 0xff;
        h.clockD = (x >> CLOCK_D) & CLOCK_MAX;
        h.clockC = (x >> CLOCK_C) & CLOCK_MAX;
        h.turnSince = (x >> SINCE) & SINCE_MAX;
        h.seq = uint16(x >> SEQ);
        h.level = uint8(x >> LEVEL);
        h.phase = Phase((x >> PHASE) & 3);
        h.turn = Side((x >> TURN) & 1);
        h.winner = Side((x >> WINNER) & 1);
        h.hasRoots = (x >> HAS_ROOTS) & 1 == 1;
        h.atStep = (x >> AT_STEP) & 1 == 1;
        h.loIdx = (x >> LO_IDX) & 3;
        h.hiIdx = (x >> HI_IDX) & 3;
        h.fan = (x >> FAN) & 7;
    }

    function pack(Hot memory h) internal pure returns (uint256 x) {
        x = uint256(h.lo) | (h.w << W) | (h.clockD << CLOCK_D) | (h.clockC << CLOCK_C);
        x |= (h.turnSince & SINCE_MAX) << SINCE;
        x |= (h.seq << SEQ) | (h.level << LEVEL) | (uint256(h.phase) << PHASE) | (uint256(h.turn) << TURN);
        x |= (uint256(h.winner) << WINNER) | (h.hasRoots ? 1 << HAS_ROOTS : 0) | (h.atStep ? 1 << AT_STEP : 0);
        x |= (h.loIdx << LO_IDX) | (h.hiIdx << HI_IDX) | (h.fan << FAN);
    }

    // ------------------------------------------------------------------
    // Claims.

    /// @notice Each side's clock in a dispute of a claim over `2^b` steps, seconds.
    function clockFor(uint256 b) public view returns (uint256) {
        return Policy.scaled(clockSeconds, margin, minSpeed, b);
    }

    /// @notice The challenge window of a claim over `2^b` steps, seconds.
    function windowFor(uint256 b) public view returns (uint256) {
        return Policy.scaled(windowSeconds, margin, minSpeed, b);
    }

    /// @notice Claims that the program of image root `program` (with the
    /// image's witness: the root of guest memory, the node over the
    /// registers and the node over the next control words), given `input`
    /// and run for `2^b` A-steps, ends in `finalRoot`, to be bisected over
    /// `levels`, with the claim bond as the value. The contract derives
    /// `root(S_0)`.
    function claim(
        bytes32 program,
        bytes32[3] calldata image,
        bytes calldata input,
        bytes32 finalRoot,
        uint8 b,
        bytes calldata levels
    ) external payable returns (uint256 id) {
        if (msg.value != claimBond) revert BadBond(msg.value, claimBond);
        if (b > maxB) revert BadB(b, maxB);
        validate(levels, b);
        if (input.length > Policy.MAX_INPUT_BYTES) revert InputTooLarge(input.length, Policy.MAX_INPUT_BYTES);
        bytes32 computed = InitialState.imageRoot(image[0], image[1], image[2]);
        if (computed != program) revert BadImage(program, computed);
        bytes32 initialRoot = InitialState.initialRoot(image[0], image[1], image[2], input);
        id = open(initialRoot, finalRoot, b, levels);
        emit ClaimMade(id, msg.sender, program, keccak256(input), initialRoot, finalRoot, b, levels, input);
    }

    /// Records a claim checked by `claim` (its event is the caller's).
    function open(bytes32 initialRoot, bytes32 finalRoot, uint8 b, bytes calldata levels)
        internal
        returns (uint256 id)
    {
        id = claimCount;
        claimCount = uint128(id + 1);
        ClaimRecord storage c = claims[id];
        c.defender = msg.sender;
        c.createdAt = uint64(block.timestamp);
        c.b = b;
        c.status = Status.Pending;
        c.initialRoot = initialRoot;
        c.finalRoot = finalRoot;
        c.levels = levels;
    }

    /// Checks that `levels` (two bytes a level) bisect exactly `2^b` A-steps
    /// and `2^a` micro-steps with fan-outs from 2 to `MAX_FAN` (`validate`
    /// in verify/src/rules/levels.rs).
    function validate(bytes calldata levels, uint256 b) internal pure {
        if (levels.length % 2 != 0) revert LevelBytes(levels.length);
        uint256 count = levels.length / 2;
        if (count == 0) revert LevelsEmpty();
        if (count > 64) revert TooManyLevels(count);
        // A micro level bisects from root(attach(Q*, S_t)), which the
        // contract derives at the hand-over from a steps level.
        if (uint8(levels[0]) & 0x80 != 0) revert MicroFirst();
        bool seenMicro = false;
        uint256 steps;
        uint256 micro;
        for (uint256 i = 0; i < count; i++) {
            uint8 l = uint8(levels[2 * i]);
            uint256 f = uint8(levels[2 * i + 1]);
            if (f == 0 || (uint256(1) << f) > Policy.MAX_FAN) revert Fan(i, uint256(1) << f);
            if (l & 0x80 == 0) {
                if (seenMicro) revert LevelOrder(i);
                steps += l & 0x7f;
            } else {
                seenMicro = true;
                micro += l & 0x7f;
            }
        }
        if (steps != b) revert StepsSum(b, steps);
        if (micro != Const.LOG2_USTEPS) revert MicroSum(Const.LOG2_USTEPS, micro);
    }

    /// @notice Disputes claim `id` (with the challenger's own final root,
    /// for the record), with the challenge bond as the value: a bisection of
    /// its own begins, the defender to move.
    function challenge(uint256 id, bytes32 root) external payable returns (uint256 d) {
        if (msg.value != challengeBond) revert BadBond(msg.value, challengeBond);
        ClaimRecord storage c = claimAt(id);
        if (c.status != Status.Pending) revert ClaimDecided(id);
        uint256 b = c.b;
        uint256 closes = uint256(c.createdAt) + windowFor(b);
        if (block.timestamp >= closes) revert WindowClosed(id, closes);
        d = disputeCount;
        disputeCount = uint128(d + 1);
        uint32 k = c.disputes;
        if (k == 0) c.firstDispute = uint64(d);
        else moreDisputes[id][k] = d;
        c.disputes = k + 1;
        c.undecided += 1;
        Record storage g = disputes[d];
        g.defender = c.defender;
        g.claim = uint64(id);
        g.challenger = msg.sender;
        bytes32 initialRoot = c.initialRoot;
        bytes32 finalRoot = c.finalRoot;
        g.roots[0] = initialRoot;
        g.roots[1] = finalRoot;
        Hot memory h;
        // At most Policy.MAX_SECONDS = CLOCK_MAX (checked at deployment).
        uint256 clock = clockFor(b);
        h.clockD = clock;
        h.clockC = clock;
        h.turnSince = block.timestamp;
        h.hiIdx = 1;
        emit Challenged(id, d, msg.sender, k, root);
        startLevel(g, h, d, c.levels, 0, 0, false, 0, initialRoot, finalRoot);
        h.seq = 1;
        h.turn = nextTurn(h);
        g.hot = pack(h);
    }

    /// @notice Settles claim `id`: it falls once a challenger has won, and
    /// stands once its window has closed with every dispute won by the
    /// defender, who is then credited the claim bond back.
    function resolve(uint256 id) external returns (bool stands) {
        ClaimRecord storage c = claimAt(id);
        if (c.status == Status.Stands || c.status == Status.Falls) return c.status == Status.Stands;
        uint256 closes = uint256(c.createdAt) + windowFor(c.b);
        if (block.timestamp < closes) revert WindowOpen(id, closes);
        if (c.undecided != 0) revert Undecided(id, c.undecided);
        c.status = Status.Stands;
        emit ClaimResolved(id, true);
        pay(c.defender, claimBond);
        return true;
    }

    // ------------------------------------------------------------------
    // Moves (`Game::apply` in verify/src/rules/mod.rs). A refused move reverts
    // and changes nothing.

    /// @notice The defender dissects the interval `[lo, hi]` of `n = hi - lo`
    /// units into `parts = min(k, n)` parts of `step = n / parts`: `roots[i]`
    /// is its root at `lo + (i + 1) * step`, `position` is `lo + step`. Only
    /// the roots' hash is stored; the roots are in `Dissected`.
    function dissect(uint256 d, uint8 level, uint64 position, bytes32[] calldata roots) external {
        Record storage g = disputes[d];
        uint256 x = move(g, d, Side.Defender);
        if ((x >> PHASE) & 3 != uint256(Phase.Bisect) || (x >> HAS_ROOTS) & 1 == 1) refuse(x);
        (, uint256 s) = checkPlace(x, level, position);
        uint256 expected = (uint256(1) << (((x >> W) & 0xff) - s)) - 1;
        if (roots.length != expected) revert Roots(expected, roots.length);
        g.roots[3 - ((x >> LO_IDX) & 3) - ((x >> HI_IDX) & 3)] = hashRoots(roots);
        // The challenger's turn, with roots.
        g.hot = x | (1 << HAS_ROOTS) | (1 << TURN);
        emit Dissected(d, level, position, roots);
    }

    /// @notice The challenger disputes part `part` of the dissection (and
    /// agrees with every root before it), sending the dissection's roots
    /// back: the interval becomes `[lo + part * step, lo + (part + 1) * step]`.
    function pick(uint256 d, uint8 level, uint64 position, uint8 part, bytes32[] calldata roots) external {
        Record storage g = disputes[d];
        uint256 x = move(g, d, Side.Challenger);
        if ((x >> PHASE) & 3 != uint256(Phase.Bisect) || (x >> HAS_ROOTS) & 1 == 0) refuse(x);
        (, uint256 s) = checkPlace(x, level, position);
        uint256 parts = uint256(1) << (((x >> W) & 0xff) - s);
        if (roots.length != parts - 1) revert Roots(parts - 1, roots.length);
        if (part >= parts) revert Part(part, parts);
        uint256 loIdx = (x >> LO_IDX) & 3;
        uint256 hiIdx = (x >> HI_IDX) & 3;
        uint256 midIdx = 3 - loIdx - hiIdx;
        bytes32 stored = g.roots[midIdx];
        bytes32 sent = hashRoots(roots);
        if (sent != stored) revert RootsMismatch(stored, sent);
        // The new lo root (unless part 0) goes over the hash; the new hi root
        // (unless the last part) over it too when lo stays, else over the old hi.
        if (part == 0) {
            g.roots[midIdx] = roots[0];
            hiIdx = midIdx;
        } else {
            g.roots[midIdx] = roots[part - 1];
            if (part != parts - 1) g.roots[hiIdx] = roots[part];
            loIdx = midIdx;
        }
        emit Picked(d, level, position, part);
        // The part's interval, no roots, the defender's turn (also at a new
        // level or the proof).
        uint256 lo = uint64(x) + (uint256(part) << s);
        x &= ~(uint256(type(uint64).max) | (uint256(0xff) << W) | (1 << HAS_ROOTS) | (1 << TURN) | (15 << LO_IDX));
        x |= lo | (s << W) | (loIdx << LO_IDX) | (hiIdx << HI_IDX);
        if (s == 0) {
            Hot memory h = unpack(x);
            settleLevel(g, h, d, claims[g.claim].levels);
            x = pack(h);
        }
        g.hot = x;
    }

    /// `keccak256(abi.encodePacked(roots))`.
    function hashRoots(bytes32[] calldata roots) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            let n := shl(5, roots.length)
            calldatacopy(p, roots.offset, n)
            h := keccak256(p, n)
        }
    }

    /// @notice The proof of the disputed micro-step, from either side: the
    /// verifier computes the root after the step from the agreed root; the
    /// defender wins if it is the defender's root. An invalid proof reverts.
    function prove(uint256 d, bytes calldata proof) external {
        Record storage g = disputes[d];
        Hot memory h = running(g, d);
        if (msg.sender != g.defender && msg.sender != g.challenger) revert OutOfTurn(h.turn, msg.sender);
        if (h.phase != Phase.Prove) revert Unexpected(h.phase, h.hasRoots);
        // The defender's clock runs while the proof is awaited.
        if (timeLeft(h, h.turn) == 0) revert ClockRanOut(h.turn);
        chargeClock(h);
        bytes32 computed = verifier.step(g.roots[h.loIdx], proof);
        Side winner = computed == g.roots[h.hiIdx] ? Side.Defender : Side.Challenger;
        emit Proved(d, msg.sender, computed, winner, proof);
        finish(g, h, winner);
    }

    /// @notice Ends dispute `d` if the side on turn has run out of time.
    function timeout(uint256 d) external {
        Record storage g = disputes[d];
        Hot memory h = running(g, d);
        uint256 left = timeLeft(h, h.turn);
        if (left > 0) revert ClockLeft(h.turn, left);
        Side winner;
        if (h.turn == Side.Defender) {
            h.clockD = 0;
            winner = Side.Challenger;
        } else {
            h.clockC = 0;
            winner = Side.Defender;
        }
        emit TimedOut(d, winner);
        finish(g, h, winner);
    }

    // ------------------------------------------------------------------
    // The rules.

    /// Dispute `d`, checked to exist and to be running.
    function running(Record storage g, uint256 d) internal view returns (Hot memory h) {
        uint256 x = g.hot;
        // seq >= 1 in every dispute: only a missing one reads 0.
        if (x == 0) revert UnknownDispute(d);
        h = unpack(x);
        if (h.phase == Phase.Done) revert Over(d);
    }

    /// The hot word of dispute `d`, checked to be running with `side` on
    /// turn and the sender playing that side with time left; returned with
    /// that side's clock charged and the move counted (`apply`).
    function move(Record storage g, uint256 d, Side side) internal view returns (uint256 x) {
        x = g.hot;
        // seq >= 1 in every dispute: only a missing one reads 0.
        if (x == 0) revert UnknownDispute(d);
        if ((x >> PHASE) & 3 == uint256(Phase.Done)) revert Over(d);
        uint256 turn = (x >> TURN) & 1;
        address player = side == Side.Defender ? g.defender : g.challenger;
        if (turn != uint256(side) || msg.sender != player) revert OutOfTurn(Side(turn), msg.sender);
        uint256 shift = side == Side.Defender ? CLOCK_D : CLOCK_C;
        uint256 left = (x >> shift) & CLOCK_MAX;
        uint256 used = block.timestamp - ((x >> SINCE) & SINCE_MAX);
        if (used >= left) revert ClockRanOut(side);
        // left - used >= 1: no borrow from the next field; seq stays below
        // 2^16 (at most 64 levels of at most 127 rounds).
        x = ((x - (used << shift)) & ~(SINCE_MAX << SINCE)) | ((block.timestamp & SINCE_MAX) << SINCE);
        x += 1 << SEQ;
    }

    /// Refuses a move the phase of hot word `x` does not expect.
    function refuse(uint256 x) internal pure {
        revert Unexpected(Phase((x >> PHASE) & 3), (x >> HAS_ROOTS) & 1 == 1);
    }

    /// The first root's position `m = lo + step` of hot word `x`, checked to
    /// be the move's place, and log2 of `step` (the interval is `2^w` units,
    /// cut into `min(k, 2^w)` parts).
    function checkPlace(uint256 x, uint8 level, uint64 position) internal pure returns (uint64 m, uint256 s) {
        uint256 w = (x >> W) & 0xff;
        uint256 f = (x >> FAN) & 7;
        s = w > f ? w - f : 0;
        m = uint64(x) + uint64(1 << s);
        uint256 want = (x >> LEVEL) & 0xff;
        if (level != want || position != m) revert Place(level, position, want, m);
    }

    function chargeClock(Hot memory h) internal view {
        uint256 used = block.timestamp - h.turnSince;
        if (h.turn == Side.Defender) h.clockD = used >= h.clockD ? 0 : h.clockD - used;
        else h.clockC = used >= h.clockC ? 0 : h.clockC - used;
        h.turnSince = block.timestamp;
        h.seq += 1;
    }

    function nextTurn(Hot memory h) internal pure returns (Side) {
        if (h.phase == Phase.Bisect && h.hasRoots) return Side.Challenger;
        return Side.Defender;
    }

    /// Ends a dispute and settles its bonds: the defender's win takes the
    /// challenger's bond; a challenger's win returns its own bond and counts
    /// it among the winners rewarded from the claim bond (`collect`).
    function finish(Record storage g, Hot memory h, Side winner) internal {
        h.phase = Phase.Done;
        h.winner = winner;
        g.hot = pack(h);
        uint256 id = g.claim;
        ClaimRecord storage c = claims[id];
        c.undecided -= 1;
        if (winner == Side.Defender) {
            pay(g.defender, challengeBond);
            return;
        }
        c.winners += 1;
        if (c.status == Status.Pending) {
            c.status = Status.Falls;
            emit ClaimResolved(id, false);
        }
        pay(g.challenger, challengeBond);
    }

    /// @notice Credits the challenger of dispute `d`, which refuted its
    /// claim, its reward from the claim bond: `challengeBond`, or the claim
    /// bond divided equally among the disputes that refuted the claim if
    /// that is less; known once the window has closed and every dispute is
    /// decided (anyone may call it; once per dispute). What the rewards
    /// leave of the claim bond is burnt: it stays in the contract, credited
    /// to nobody, so a liar's own refuting disputes recover at most their
    /// rewards and the claim bond is lost whoever refuted first.
    function collect(uint256 d) external returns (uint256 amount) {
        Record storage g = disputes[d];
        uint256 x = g.hot;
        if (x == 0) revert UnknownDispute(d);
        if ((x >> PHASE) & 3 != uint256(Phase.Done) || (x >> WINNER) & 1 != uint256(Side.Challenger)) {
            revert NoShare(d);
        }
        if ((x >> COLLECTED) & 1 == 1) revert NoShare(d);
        uint256 id = g.claim;
        ClaimRecord storage c = claims[id];
        uint256 closes = uint256(c.createdAt) + windowFor(c.b);
        if (block.timestamp < closes) revert WindowOpen(id, closes);
        if (c.undecided != 0) revert Undecided(id, c.undecided);
        g.hot = x | (1 << COLLECTED);
        amount = claimBond / c.winners;
        if (amount > challengeBond) amount = challengeBond;
        emit Collected(d, g.challenger, amount);
        pay(g.challenger, amount);
    }

    /// Time left for `side`.
    function timeLeft(Hot memory h, Side side) internal view returns (uint256) {
        uint256 left = side == Side.Defender ? h.clockD : h.clockC;
        if (side != h.turn || h.phase == Phase.Done) return left;
        uint256 used = block.timestamp - h.turnSince;
        return used >= left ? 0 : left - used;
    }

    /// log2 of the steps in one unit of level `i` (`unit_log2` in verify/src/rules/levels.rs).
    function unitLog2(bytes memory levels, uint256 i) internal pure returns (uint8 sum) {
        uint8 kind = uint8(levels[2 * i]) & 0x80;
        for (uint256 k = 2 * i + 2; k < levels.length; k += 2) {
            uint8 l = uint8(levels[k]);
            if (l & 0x80 == kind) sum += l & 0x7f;
        }
    }

    /// Level `level` over `[0, 2^log2]` with the given end roots (already
    /// in the slots `h.loIdx` and `h.hiIdx`).
    function startLevel(
        Record storage g,
        Hot memory h,
        uint256 d,
        bytes memory levels,
        uint8 level,
        uint64 base,
        bool hasT,
        uint64 t,
        bytes32 loRoot,
        bytes32 hiRoot
    ) internal {
        h.level = level;
        // Level 0 starts with a new record, whose base is 0.
        if (level != 0 && g.base != base) g.base = base;
        g.unitLog2 = unitLog2(levels, level);
        g.hasT = hasT;
        g.t = t;
        uint256 log2 = uint8(levels[2 * uint256(level)]) & 0x7f;
        h.lo = 0;
        // An interval of 2^64 or more units is settled at once, as a hi of
        // 1 << log2 truncated to 64 bits (0) would be.
        h.w = log2 < 64 ? log2 : 0;
        h.fan = uint8(levels[2 * uint256(level) + 1]) & 7;
        h.hasRoots = false;
        h.phase = Phase.Bisect;
        emit LevelStarted(d, level, base, t, uint64(1) << log2, loRoot, hiRoot);
        if (h.w == 0) settleLevel(g, h, d, levels);
    }

    /// A bisection whose interval is one unit hands over to the next level
    /// (or to the proof).
    function settleLevel(Record storage g, Hot memory h, uint256 d, bytes memory levels) internal {
        uint64 start = g.base + (h.lo << g.unitLog2);
        uint256 level = h.level;
        uint256 nextLevel = level + 1;
        bytes32 loRoot = g.roots[h.loIdx];
        bytes32 hiRoot = g.roots[h.hiIdx];
        if (2 * nextLevel < levels.length) {
            bool sameKind = (uint8(levels[2 * nextLevel]) & 0x80) == (uint8(levels[2 * level]) & 0x80);
            if (sameKind) {
                startLevel(g, h, d, levels, uint8(nextLevel), start, g.hasT, g.t, loRoot, hiRoot);
            } else {
                // Steps -> micro: the contract attaches Q* to both roots itself.
                loRoot = attach(loRoot);
                hiRoot = attach(hiRoot);
                g.roots[h.loIdx] = loRoot;
                g.roots[h.hiIdx] = hiRoot;
                startLevel(g, h, d, levels, uint8(nextLevel), 0, true, start, loRoot, hiRoot);
            }
            return;
        }
        h.phase = Phase.Prove;
        uint64 t = g.hasT ? g.t : start;
        emit ProofAwaited(d, t, start, loRoot, hiRoot);
        if (!g.hasT) {
            g.t = t;
            g.hasT = true;
        }
        h.lo = start;
        h.atStep = true;
    }

    /// `root(attach(Q*, S))` from `root(S)`.
    function attach(bytes32 sRoot) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(Const.Q_STAR_ROOT, sRoot));
    }

    // ------------------------------------------------------------------
    // Bonds: pull payments.

    /// Credits `amount` wei to `to` (nothing if zero).
    function pay(address to, uint256 amount) internal {
        if (amount == 0) return;
        credits[to] += amount;
        emit Credited(to, amount);
    }

    /// @notice Pays the sender all its credit (nothing if it has none). The
    /// credit is cleared before the transfer; a refused transfer reverts
    /// with `TransferFailed` and the credit stays.
    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) return;
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    /// @notice What `who` may withdraw, wei.
    function credit(address who) external view returns (uint256) {
        return credits[who];
    }

    // ------------------------------------------------------------------
    // Views.

    function claimAt(uint256 id) internal view returns (ClaimRecord storage c) {
        c = claims[id];
        // A claim's defender is its sender, never the zero address.
        if (c.defender == address(0)) revert UnknownClaim(id);
    }

    /// @notice Claim `id`.
    function getClaim(uint256 id) external view returns (Claim memory) {
        ClaimRecord storage c = claimAt(id);
        return Claim({
            defender: c.defender,
            createdAt: c.createdAt,
            disputes: c.disputes,
            undecided: c.undecided,
            b: c.b,
            status: c.status,
            initialRoot: c.initialRoot,
            finalRoot: c.finalRoot,
            levels: c.levels,
            winners: c.winners
        });
    }

    /// @notice Dispute `d`.
    function getDispute(uint256 d) external view returns (Dispute memory r) {
        Record storage g = disputes[d];
        if (g.hot == 0) revert UnknownDispute(d);
        Hot memory h = unpack(g.hot);
        r.claim = g.claim;
        r.challenger = g.challenger;
        r.phase = h.phase;
        r.turn = h.turn;
        r.winner = h.winner;
        r.hasRoots = h.hasRoots;
        r.fanLog2 = uint8(h.fan);
        r.hasT = g.hasT;
        r.level = uint8(h.level);
        r.unitLog2 = g.unitLog2;
        r.base = g.base;
        r.t = g.t;
        r.lo = h.lo;
        unchecked {
            // At the proof `lo` is the absolute micro-step; `hi` stays the
            // level's position.
            uint64 relative = h.atStep ? (h.lo - r.base) >> r.unitLog2 : h.lo;
            r.hi = relative + uint64(1 << h.w);
        }
        r.turnSince = uint64(h.turnSince);
        r.seq = uint64(h.seq);
        r.clock = [uint64(h.clockD), uint64(h.clockC)];
        r.loRoot = g.roots[h.loIdx];
        r.hiRoot = g.roots[h.hiIdx];
        if (h.hasRoots) r.rootsHash = g.roots[3 - h.loIdx - h.hiIdx];
    }

    /// @notice Time left for `side` in dispute `d`, seconds.
    function clockLeft(uint256 d, Side side) external view returns (uint256) {
        uint256 x = disputes[d].hot;
        if (x == 0) revert UnknownDispute(d);
        return timeLeft(unpack(x), side);
    }

    /// @notice The global id of the `k`-th (from 0) dispute of claim `id`.
    function disputeOf(uint256 id, uint256 k) external view returns (uint256) {
        ClaimRecord storage c = claimAt(id);
        if (k >= c.disputes) revert UnknownDispute(k);
        return k == 0 ? c.firstDispute : moreDisputes[id][k];
    }

    /// @notice Number of claims and of disputes.
    function counts() external view returns (uint256, uint256) {
        return (claimCount, disputeCount);
    }
}
