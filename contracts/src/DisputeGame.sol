// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Const} from "./Generated.sol";
import {StepVerifier} from "./StepVerifier.sol";

/// @title DisputeGame: the bisection game of src/game/rules.rs on chain.
/// @notice A defender claims that a program with an input, run for `2^b`
/// A-steps from `root(S_0)`, ends in a final root. During the challenge
/// window anyone may dispute the claim; each challenger plays a bisection
/// of its own against the defender (the same rules as the Rust referee,
/// with the same names: `startLevel`, `settleLevel`, `checkPlace`, `mid`,
/// `absolute`, `timeLeft`). The claim stands only if the defender wins
/// every dispute opened in the window; it falls as soon as one challenger
/// wins. The verifier, the clocks, the window and the largest `b` are the
/// deployment's, never the claimant's.
///
/// Nothing agreed is taken from a player beyond the claim itself: the
/// contract computes `root(attach(Q*, S)) = keccak256(Q* root || root(S))`
/// at the hand-over from the steps levels to the micro levels, and settles
/// the disputed micro-step with the `StepVerifier` against the agreed root.
/// Chess clocks run on `block.timestamp`; a side whose clock has run out
/// loses when anyone calls `timeout`. Every move emits an event, so a game
/// can be followed from logs alone.
///
/// `root(S_0)` is named by the claim (as Optimism names its absolute
/// prestate): a challenger re-derives it from the program and input off
/// chain and refuses to play a different program.
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

    /// A claim and the disputes against it.
    struct Claim {
        address defender;
        uint64 createdAt;
        uint32 disputes;
        uint32 undecided;
        uint8 b;
        Status status;
        bytes32 program;
        bytes32 input;
        bytes32 initialRoot;
        bytes32 finalRoot;
        /// One byte per level: bit 7 set for a micro level, bits 0..6 its log2.
        bytes levels;
    }

    /// One challenger's bisection against a claim (`Bisection` and
    /// `Disputed` of src/game/rules.rs in one record).
    struct Dispute {
        uint256 claim;
        address challenger;
        Phase phase;
        Side turn;
        Side winner;
        bool hasMid;
        bool hasT;
        uint8 level;
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
        bytes32 midRoot;
    }

    event ClaimMade(
        uint256 indexed claim,
        address indexed defender,
        bytes32 program,
        bytes32 input,
        bytes32 initialRoot,
        bytes32 finalRoot,
        uint8 b,
        bytes levels
    );
    /// `index`: the dispute's 0-based number within its claim.
    event Challenged(
        uint256 indexed claim, uint256 indexed dispute, address indexed challenger, uint256 index, bytes32 root
    );
    /// A level begins: `[0, 2^log2]` from `loRoot` (agreed) to `hiRoot` (the defender's).
    event LevelStarted(
        uint256 indexed dispute, uint8 level, uint64 base, uint64 t, uint64 hi, bytes32 loRoot, bytes32 hiRoot
    );
    event Midpoint(uint256 indexed dispute, uint8 level, uint64 position, bytes32 root);
    event Agreed(uint256 indexed dispute, uint8 level, uint64 position);
    event Disagreed(uint256 indexed dispute, uint8 level, uint64 position);
    /// Micro-step `j` of A-step `t` awaits its proof from either side.
    event ProofAwaited(uint256 indexed dispute, uint64 t, uint64 j, bytes32 rootBefore, bytes32 rootAfter);
    /// Carries the proof's bytes, so that a game can be rebuilt from logs alone.
    event Proved(uint256 indexed dispute, address by, bytes32 computed, Side winner, bytes proof);
    event TimedOut(uint256 indexed dispute, Side winner);
    event ClaimResolved(uint256 indexed claim, bool stands);
    event Credited(address indexed to, uint256 amount);
    event Withdrawn(address indexed to, uint256 amount);

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
    error Unexpected(Phase phase, bool hasMid);
    error Place(uint256 level, uint256 position, uint256 wantLevel, uint256 wantPosition);
    error ClockRanOut(Side side);
    error ClockLeft(Side side, uint256 secondsLeft);
    error BadBond(uint256 sent, uint256 want);
    error TransferFailed(address to, uint256 amount);

    /// The step verifier (deployment policy).
    StepVerifier public immutable verifier;
    /// Each side's clock in every dispute, seconds (deployment policy).
    uint64 public immutable clockSeconds;
    /// How long after a claim disputes may be opened, seconds (deployment policy).
    uint64 public immutable windowSeconds;
    /// The largest `b` a claim may have (deployment policy).
    uint8 public immutable maxB;
    /// The defender's bond per claim, wei (deployment policy).
    uint256 public immutable claimBond;
    /// A challenger's bond per dispute, wei (deployment policy).
    uint256 public immutable challengeBond;

    Claim[] internal claims;
    Dispute[] internal disputes;
    /// The global dispute ids of each claim's disputes, in order.
    mapping(uint256 => uint256[]) internal claimDisputes;
    /// What each account may withdraw (pull payments).
    mapping(address => uint256) public credit;

    constructor(
        StepVerifier verifier_,
        uint64 clockSeconds_,
        uint64 windowSeconds_,
        uint8 maxB_,
        uint256 claimBond_,
        uint256 challengeBond_
    ) {
        verifier = verifier_;
        clockSeconds = clockSeconds_;
        windowSeconds = windowSeconds_;
        maxB = maxB_;
        claimBond = claimBond_;
        challengeBond = challengeBond_;
    }

    // ------------------------------------------------------------------
    // Claims.

    /// @notice Claims that `program` with `input`, from `initialRoot`, run
    /// for `2^b` A-steps ends in `finalRoot`, to be bisected over `levels`.
    function claim(
        bytes32 program,
        bytes32 input,
        bytes32 initialRoot,
        bytes32 finalRoot,
        uint8 b,
        bytes calldata levels
    ) external payable returns (uint256 id) {
        if (msg.value != claimBond) revert BadBond(msg.value, claimBond);
        if (b > maxB) revert BadB(b, maxB);
        validate(levels, b);
        id = claims.length;
        claims.push(
            Claim({
                defender: msg.sender,
                createdAt: uint64(block.timestamp),
                disputes: 0,
                undecided: 0,
                b: b,
                status: Status.Pending,
                program: program,
                input: input,
                initialRoot: initialRoot,
                finalRoot: finalRoot,
                levels: levels
            })
        );
        emit ClaimMade(id, msg.sender, program, input, initialRoot, finalRoot, b, levels);
    }

    /// Checks that `levels` bisect exactly `2^b` A-steps and `2^a`
    /// micro-steps (`validate` in src/game/levels.rs).
    function validate(bytes calldata levels, uint256 b) internal pure {
        if (levels.length == 0) revert LevelsEmpty();
        if (levels.length > 64) revert TooManyLevels(levels.length);
        bool seenMicro = false;
        uint256 steps;
        uint256 micro;
        for (uint256 i = 0; i < levels.length; i++) {
            uint8 l = uint8(levels[i]);
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
    /// for the record): a bisection of its own begins, the defender to move.
    function challenge(uint256 id, bytes32 root) external payable returns (uint256 d) {
        if (msg.value != challengeBond) revert BadBond(msg.value, challengeBond);
        Claim storage c = claimAt(id);
        if (c.status != Status.Pending) revert ClaimDecided(id);
        uint256 closes = uint256(c.createdAt) + windowSeconds;
        if (block.timestamp >= closes) revert WindowClosed(id, closes);
        d = disputes.length;
        disputes.push();
        Dispute storage g = disputes[d];
        g.claim = id;
        g.challenger = msg.sender;
        g.clock = [clockSeconds, clockSeconds];
        g.turnSince = uint64(block.timestamp);
        c.disputes += 1;
        c.undecided += 1;
        claimDisputes[id].push(d);
        emit Challenged(id, d, msg.sender, c.disputes - 1, root);
        startLevel(g, d, c.levels, 0, 0, false, 0, c.initialRoot, c.finalRoot);
        g.seq = 1;
        g.turn = nextTurn(g);
    }

    /// @notice Settles claim `id`: it falls once a challenger has won, and
    /// stands once its window has closed with every dispute won by the defender.
    function resolve(uint256 id) external returns (bool stands) {
        Claim storage c = claimAt(id);
        if (c.status == Status.Stands || c.status == Status.Falls) return c.status == Status.Stands;
        uint256 closes = uint256(c.createdAt) + windowSeconds;
        if (block.timestamp < closes) revert WindowOpen(id, closes);
        if (c.undecided != 0) revert Undecided(id, c.undecided);
        c.status = Status.Stands;
        emit ClaimResolved(id, true);
        pay(c.defender, claimBond);
        return true;
    }

    /// @notice Pays the sender all of its credit.
    function withdraw() external {
        uint256 amount = credit[msg.sender];
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    /// @notice The global id of the `k`-th (0-based) dispute of claim `id`.
    function disputeOf(uint256 id, uint256 k) external view returns (uint256) {
        uint256[] storage list = claimDisputes[id];
        if (k >= list.length) revert UnknownDispute(k);
        return list[k];
    }

    function pay(address to, uint256 amount) internal {
        credit[to] += amount;
        emit Credited(to, amount);
    }

    // ------------------------------------------------------------------
    // Moves (`Game::apply` in src/game/rules.rs). A refused move reverts
    // and changes nothing.

    /// @notice The defender's root at the midpoint of the current interval.
    function midpoint(uint256 d, uint8 level, uint64 position, bytes32 root) external {
        Dispute storage g = begin(d, Side.Defender);
        if (g.phase != Phase.Bisect || g.hasMid) revert Unexpected(g.phase, g.hasMid);
        checkPlace(g, level, position);
        g.midRoot = root;
        g.hasMid = true;
        emit Midpoint(d, level, position, root);
        end(g);
    }

    /// @notice The challenger agrees with the midpoint root.
    function agree(uint256 d, uint8 level, uint64 position) external {
        Dispute storage g = begin(d, Side.Challenger);
        verdict(g, d, level, position, true);
    }

    /// @notice The challenger disagrees with the midpoint root.
    function disagree(uint256 d, uint8 level, uint64 position) external {
        Dispute storage g = begin(d, Side.Challenger);
        verdict(g, d, level, position, false);
    }

    /// @notice The proof of the disputed micro-step, from either side: the
    /// verifier computes the root after the step from the agreed root; the
    /// defender wins if it is the defender's root. An invalid proof reverts.
    function prove(uint256 d, bytes calldata proof) external {
        Dispute storage g = disputeAt(d);
        if (g.phase == Phase.Done) revert Over(d);
        if (msg.sender != claims[g.claim].defender && msg.sender != g.challenger) {
            revert OutOfTurn(g.turn, msg.sender);
        }
        if (g.phase != Phase.Prove) revert Unexpected(g.phase, g.hasMid);
        // The defender's clock runs while the proof is awaited.
        if (timeLeft(g, g.turn) == 0) revert ClockRanOut(g.turn);
        chargeClock(g);
        bytes32 computed = verifier.step(g.loRoot, proof);
        Side winner = computed == g.hiRoot ? Side.Defender : Side.Challenger;
        emit Proved(d, msg.sender, computed, winner, proof);
        finish(g, winner);
    }

    /// @notice Ends dispute `d` if the side on turn has run out of time.
    function timeout(uint256 d) external {
        Dispute storage g = disputeAt(d);
        if (g.phase == Phase.Done) revert Over(d);
        uint256 left = timeLeft(g, g.turn);
        if (left > 0) revert ClockLeft(g.turn, left);
        g.clock[uint256(g.turn)] = 0;
        Side winner = g.turn == Side.Defender ? Side.Challenger : Side.Defender;
        emit TimedOut(d, winner);
        finish(g, winner);
    }

    // ------------------------------------------------------------------
    // The rules.

    /// The dispute, checked to be running with `side` on turn and the
    /// sender playing that side with time left.
    function begin(uint256 d, Side side) internal view returns (Dispute storage g) {
        g = disputeAt(d);
        if (g.phase == Phase.Done) revert Over(d);
        address player = side == Side.Defender ? claims[g.claim].defender : g.challenger;
        if (g.turn != side || msg.sender != player) revert OutOfTurn(g.turn, msg.sender);
        if (timeLeft(g, side) == 0) revert ClockRanOut(side);
    }

    /// Charges the running clock and hands the turn over (`apply`).
    function end(Dispute storage g) internal {
        chargeClock(g);
        g.turn = nextTurn(g);
    }

    function chargeClock(Dispute storage g) internal {
        uint256 used = block.timestamp - g.turnSince;
        uint256 i = uint256(g.turn);
        g.clock[i] = used >= g.clock[i] ? 0 : g.clock[i] - uint64(used);
        g.turnSince = uint64(block.timestamp);
        g.seq += 1;
    }

    function nextTurn(Dispute storage g) internal view returns (Side) {
        if (g.phase == Phase.Bisect && g.hasMid) return Side.Challenger;
        return Side.Defender;
    }

    function verdict(Dispute storage g, uint256 d, uint8 level, uint64 position, bool agreed) internal {
        if (g.phase != Phase.Bisect || !g.hasMid) revert Unexpected(g.phase, g.hasMid);
        checkPlace(g, level, position);
        uint64 m = mid(g);
        if (agreed) {
            g.lo = m;
            g.loRoot = g.midRoot;
            emit Agreed(d, level, position);
        } else {
            g.hi = m;
            g.hiRoot = g.midRoot;
            emit Disagreed(d, level, position);
        }
        g.hasMid = false;
        g.midRoot = bytes32(0);
        chargeClock(g);
        settleLevel(g, d, claims[g.claim].levels);
        g.turn = nextTurn(g);
    }

    function finish(Dispute storage g, Side winner) internal {
        g.phase = Phase.Done;
        g.winner = winner;
        Claim storage c = claims[g.claim];
        c.undecided -= 1;
        if (winner == Side.Defender) {
            pay(c.defender, challengeBond);
        } else {
            pay(g.challenger, challengeBond);
        }
        if (winner == Side.Challenger && c.status == Status.Pending) {
            c.status = Status.Falls;
            emit ClaimResolved(g.claim, false);
            pay(g.challenger, claimBond);
        }
    }

    function mid(Dispute storage g) internal view returns (uint64) {
        return g.lo + (g.hi - g.lo) / 2;
    }

    /// The absolute step (A-step, or micro-step of A-step `t`) of a position.
    function absolute(Dispute storage g, uint64 position) internal view returns (uint64) {
        return g.base + (position << g.unitLog2);
    }

    function checkPlace(Dispute storage g, uint8 level, uint64 position) internal view {
        if (level != g.level || position != mid(g)) revert Place(level, position, g.level, mid(g));
    }

    /// Time left for `side`.
    function timeLeft(Dispute storage g, Side side) internal view returns (uint256) {
        uint256 left = g.clock[uint256(side)];
        if (side != g.turn || g.phase == Phase.Done) return left;
        uint256 used = block.timestamp - g.turnSince;
        return used >= left ? 0 : left - used;
    }

    /// log2 of the steps in one unit of level `i` (`unit_log2` in src/game/levels.rs).
    function unitLog2(bytes storage levels, uint256 i) internal view returns (uint8 sum) {
        uint8 kind = uint8(levels[i]) & 0x80;
        for (uint256 k = i + 1; k < levels.length; k++) {
            uint8 l = uint8(levels[k]);
            if (l & 0x80 == kind) sum += l & 0x7f;
        }
    }

    /// Level `level` over `[0, 2^log2]` with the given end roots.
    function startLevel(
        Dispute storage g,
        uint256 d,
        bytes storage levels,
        uint8 level,
        uint64 base,
        bool hasT,
        uint64 t,
        bytes32 loRoot,
        bytes32 hiRoot
    ) internal {
        g.level = level;
        g.base = base;
        g.unitLog2 = unitLog2(levels, level);
        g.hasT = hasT;
        g.t = t;
        g.lo = 0;
        g.hi = uint64(1) << (uint8(levels[level]) & 0x7f);
        g.loRoot = loRoot;
        g.hiRoot = hiRoot;
        g.hasMid = false;
        g.phase = Phase.Bisect;
        emit LevelStarted(d, level, base, t, g.hi, loRoot, hiRoot);
        settleLevel(g, d, levels);
    }

    /// A bisection whose interval is one unit hands over to the next level
    /// (or to the proof); otherwise it goes on.
    function settleLevel(Dispute storage g, uint256 d, bytes storage levels) internal {
        if (g.hi - g.lo > 1) return;
        uint64 start = absolute(g, g.lo);
        uint256 nextLevel = uint256(g.level) + 1;
        if (nextLevel < levels.length) {
            bool sameKind = (uint8(levels[nextLevel]) & 0x80) == (uint8(levels[g.level]) & 0x80);
            if (sameKind) {
                startLevel(g, d, levels, uint8(nextLevel), start, g.hasT, g.t, g.loRoot, g.hiRoot);
            } else {
                // Steps -> micro: the contract attaches Q* to both roots itself.
                startLevel(g, d, levels, uint8(nextLevel), 0, true, start, attach(g.loRoot), attach(g.hiRoot));
            }
            return;
        }
        g.phase = Phase.Prove;
        emit ProofAwaited(d, g.hasT ? g.t : start, start, g.loRoot, g.hiRoot);
        g.t = g.hasT ? g.t : start;
        g.hasT = true;
        g.lo = start;
    }

    /// `root(attach(Q*, S))` from `root(S)`.
    function attach(bytes32 sRoot) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(Const.Q_STAR_ROOT, sRoot));
    }

    // ------------------------------------------------------------------
    // Views.

    function claimAt(uint256 id) internal view returns (Claim storage) {
        if (id >= claims.length) revert UnknownClaim(id);
        return claims[id];
    }

    function disputeAt(uint256 d) internal view returns (Dispute storage) {
        if (d >= disputes.length) revert UnknownDispute(d);
        return disputes[d];
    }

    /// @notice Claim `id`.
    function getClaim(uint256 id) external view returns (Claim memory) {
        return claimAt(id);
    }

    /// @notice Dispute `d`.
    function getDispute(uint256 d) external view returns (Dispute memory) {
        return disputeAt(d);
    }

    /// @notice Time left for `side` in dispute `d`, seconds.
    function clockLeft(uint256 d, Side side) external view returns (uint256) {
        return timeLeft(disputeAt(d), side);
    }

    /// @notice Number of claims and of disputes.
    function counts() external view returns (uint256, uint256) {
        return (claims.length, disputes.length);
    }
}
