//! The C and A extensions, `fence.i` and misaligned loads and stores, one
//! instruction at a time against values worked out by hand from the RISC-V
//! specification. Every case runs on machine A and on machine AB (the
//! microcode), which must end in the same state. Encodings were checked
//! against GNU `as -march=rv64imac` (the comments give the assembly).

mod support;

use mswap::fast::Machine;
use mswap::layout::{Fault, Status, ctrl};
use mswap::micro::MicroMachine;
use mswap::state::State;

const MIN: u64 = i64::MIN as u64;
const DATA: u64 = 0x8000;

/// A state with `code` (little-endian halfwords) at 0x1000, the code
/// write-protected, `sp = 0x8000` unless `regs` says otherwise.
fn state(code: &[u16], regs: &[(usize, u64)]) -> State {
    let bytes: Vec<u8> = code.iter().flat_map(|h| h.to_le_bytes()).collect();
    support::code_bytes_state(&bytes, &[&[(2, DATA)], regs].concat())
}

/// The halfwords of 32-bit instructions.
fn words(ws: &[u32]) -> Vec<u16> {
    ws.iter()
        .flat_map(|w| [*w as u16, (*w >> 16) as u16])
        .collect()
}

/// Runs `steps` instructions on machine A and on machine AB; they must
/// agree; returns the state.
fn both(s: State, steps: u64, what: &str) -> State {
    let mut a = Machine::new(s.clone());
    a.run(steps);
    let mut ab = MicroMachine::attach(s);
    for _ in 0..steps {
        let run = ab.run_a_step(None);
        assert!(!run.overrun, "{what}: AB overran 2^a micro-steps");
    }
    if let Some(d) = a.state().first_difference(&ab.s) {
        panic!("{what}: A and AB disagree on {d}");
    }
    a.into_state()
}

fn running(s: &State, what: &str) {
    assert_eq!(s.status(), Status::Running, "{what}");
}

#[test]
fn every_compressed_register_instruction() {
    // (assembly, halfword, registers before, registers after, pc after)
    type Case = (
        &'static str,
        u16,
        &'static [(usize, u64)],
        &'static [(usize, u64)],
        u64,
    );
    let cases: &[Case] = &[
        (
            "c.addi4spn x8, x2, 1020",
            0x1fe0,
            &[],
            &[(8, DATA + 1020)],
            0x1002,
        ),
        (
            "c.addi4spn x15, x2, 4",
            0x005c,
            &[],
            &[(15, DATA + 4)],
            0x1002,
        ),
        ("c.nop", 0x0001, &[], &[], 0x1002),
        (
            "c.addi x5, -32",
            0x1281,
            &[(5, 10)],
            &[(5, (-22i64) as u64)],
            0x1002,
        ),
        (
            "c.addiw x6, 31 sign-extends",
            0x237d,
            &[(6, 0x7fff_ffff)],
            &[(6, 0xffff_ffff_8000_001e)],
            0x1002,
        ),
        ("c.li x7, -1", 0x53fd, &[(7, 5)], &[(7, u64::MAX)], 0x1002),
        (
            "c.addi16sp x2, -512",
            0x7101,
            &[],
            &[(2, DATA - 512)],
            0x1002,
        ),
        (
            "c.addi16sp x2, 496",
            0x617d,
            &[],
            &[(2, DATA + 496)],
            0x1002,
        ),
        (
            "c.lui x9, 0xfffe1",
            0x7485,
            &[],
            &[(9, 0xffff_ffff_fffe_1000)],
            0x1002,
        ),
        ("c.lui x9, 1", 0x6485, &[], &[(9, 0x1000)], 0x1002),
        ("c.srli x8, 63", 0x907d, &[(8, MIN)], &[(8, 1)], 0x1002),
        (
            "c.srai x8, 63",
            0x947d,
            &[(8, MIN)],
            &[(8, u64::MAX)],
            0x1002,
        ),
        ("c.andi x8, -2", 0x9879, &[(8, 0xff)], &[(8, 0xfe)], 0x1002),
        (
            "c.sub x8, x9",
            0x8c05,
            &[(8, 0), (9, 1)],
            &[(8, u64::MAX)],
            0x1002,
        ),
        (
            "c.xor x8, x9",
            0x8c25,
            &[(8, 0xff00), (9, 0x0ff0)],
            &[(8, 0xf0f0)],
            0x1002,
        ),
        (
            "c.or x8, x9",
            0x8c45,
            &[(8, 0xf0), (9, 0x0f)],
            &[(8, 0xff)],
            0x1002,
        ),
        (
            "c.and x8, x9",
            0x8c65,
            &[(8, 0xf0), (9, 0x3c)],
            &[(8, 0x30)],
            0x1002,
        ),
        (
            "c.subw x8, x9",
            0x9c05,
            &[(8, 0x1_8000_0000), (9, 1)],
            &[(8, 0x7fff_ffff)],
            0x1002,
        ),
        (
            "c.addw x8, x9",
            0x9c25,
            &[(8, 0x7fff_ffff), (9, 1)],
            &[(8, 0xffff_ffff_8000_0000)],
            0x1002,
        ),
        ("c.slli x5, 63", 0x12fe, &[(5, 3)], &[(5, MIN)], 0x1002),
        (
            "c.mv x5, x6",
            0x829a,
            &[(5, 1), (6, 42)],
            &[(5, 42)],
            0x1002,
        ),
        (
            "c.add x5, x6",
            0x929a,
            &[(5, 1), (6, 42)],
            &[(5, 43)],
            0x1002,
        ),
        // Jumps and branches: pc-relative to the compressed instruction.
        ("c.j -2048", 0xb001, &[], &[], 0x1000 - 2048),
        ("c.j 2046", 0xaffd, &[], &[], 0x1000 + 2046),
        (
            "c.beqz x8, -256 taken",
            0xd001,
            &[(8, 0)],
            &[],
            0x1000 - 256,
        ),
        ("c.beqz x8, -256 not taken", 0xd001, &[(8, 1)], &[], 0x1002),
        ("c.bnez x8, 254 taken", 0xec7d, &[(8, 1)], &[], 0x1000 + 254),
        ("c.bnez x8, 254 not taken", 0xec7d, &[(8, 0)], &[], 0x1002),
        ("c.jr x5 clears bit 0", 0x8282, &[(5, 0x2003)], &[], 0x2002),
        (
            "c.jalr x5 links pc + 2",
            0x9282,
            &[(5, 0x2000)],
            &[(1, 0x1002)],
            0x2000,
        ),
        (
            "c.jalr x1 uses the old x1",
            0x9082,
            &[(1, 0x3000)],
            &[(1, 0x1002)],
            0x3000,
        ),
    ];
    for &(what, h, before, after, pc) in cases {
        let s0 = state(&[h, 0x0001], before);
        let s = both(s0.clone(), 1, what);
        running(&s, what);
        assert_eq!(s.pc(), pc, "{what}: pc");
        for r in 1..32 {
            let want = after
                .iter()
                .find(|(i, _)| *i == r)
                .map_or(s0.x(r), |(_, v)| *v);
            assert_eq!(s.x(r), want, "{what}: x{r}");
        }
    }
}

#[test]
fn compressed_loads_and_stores() {
    let mem = |s: &mut State| {
        for i in 0..64u64 {
            s.mem.write_u64(DATA + 8 * i, 0x8877_6655_8433_2211 ^ i);
        }
    };
    // c.lw x9, 124(x10): word at DATA+124 = high half of the dword at DATA+120.
    let mut s = state(&[0x5d64], &[(10, DATA)]);
    mem(&mut s);
    let s = both(s, 1, "c.lw");
    assert_eq!(s.x(9), 0xffff_ffff_8877_6655);
    // c.ld x11, 248(x12) = dword 31.
    let mut s = state(&[0x7e6c], &[(12, DATA)]);
    mem(&mut s);
    let s = both(s, 1, "c.ld");
    assert_eq!(s.x(11), 0x8877_6655_8433_2211 ^ 31);
    // c.lwsp x5, 252(x2); c.ldsp x6, 504(x2).
    let mut s = state(&[0x52fe, 0x737e], &[]);
    mem(&mut s);
    let s = both(s, 2, "c.lwsp, c.ldsp");
    assert_eq!(s.x(5), 0xffff_ffff_8877_6655);
    assert_eq!(s.x(6), 0x8877_6655_8433_2211 ^ 63);
    assert_eq!(s.pc(), 0x1004);
    // c.sw x13, 124(x14); c.sd x15, 248(x8); c.swsp x5, 252(x2); c.sdsp x6, 504(x2).
    let v = 0x0123_4567_89ab_cdef;
    let s = state(
        &[0xdf74, 0xfc7c, 0xdf96, 0xff9a],
        &[
            (13, v),
            (14, DATA),
            (15, v),
            (8, DATA + 0x200),
            (5, v),
            (6, !v),
        ],
    );
    let s = both(s, 4, "compressed stores");
    running(&s, "compressed stores");
    assert_eq!(s.mem.read_u64(DATA + 120), 0x89ab_cdef_0000_0000);
    assert_eq!(s.mem.read_u64(DATA + 0x200 + 248), v);
    assert_eq!(s.mem.read_u64(DATA + 248), 0x89ab_cdef_0000_0000);
    assert_eq!(s.mem.read_u64(DATA + 504), !v);
}

#[test]
fn compressed_and_long_instructions_mix_and_straddle_words() {
    // c.li x5, 1; addi x6, x0, 7 at 0x1002 (2 mod 4); c.addi x5, 1; three
    // c.nop; lui x7, 0x12345 at 0x100e (straddling two 8-byte words of S);
    // six c.nop; addi x6, x6, 1 at 0x101e (straddling two 32-byte leaves); c.nop.
    let mut code = vec![0x4285u16];
    code.extend(words(&[0x0070_0313]));
    code.extend([0x0285, 1, 1, 1]);
    code.extend(words(&[0x1234_53b7]));
    code.extend([1; 6]);
    code.extend(words(&[0x0013_0313]));
    code.push(1);
    let s = both(state(&code, &[]), 15, "mixed");
    running(&s, "mixed");
    assert_eq!((s.x(5), s.x(6), s.x(7)), (2, 8, 0x1234_5000));
    assert_eq!(s.pc(), 0x1000 + 2 * code.len() as u64);
    // jal x1 from a 2 mod 4 address links pc + 4.
    let mut code = vec![0x0001u16];
    code.extend(words(&[0x0080_00ef])); // jal x1, 8
    let s = both(state(&code, &[]), 2, "jal at 0x1002");
    assert_eq!((s.pc(), s.x(1)), (0x100a, 0x1006));
}

#[test]
fn reserved_compressed_encodings_are_illegal_with_the_halfword_as_tval() {
    for (what, h) in [
        ("all zero (c.addi4spn 0)", 0x0000u16),
        ("c.fld", 0x2000),
        ("quadrant 0 funct3 4", 0x8000),
        ("c.fsd", 0xa000),
        ("c.addiw x0", 0x2001),
        ("c.addi16sp 0", 0x6101),
        ("c.lui x1, 0", 0x6081),
        ("c.subw group slot 2", 0x9c41),
        ("c.subw group slot 3", 0x9c61),
        ("c.fldsp", 0x2002),
        ("c.lwsp x0", 0x4002),
        ("c.ldsp x0", 0x6002),
        ("c.jr x0", 0x8002),
        ("c.fsdsp", 0xa002),
    ] {
        let s = both(state(&[h, 0x0001], &[]), 1, what);
        assert_eq!(
            s.status(),
            Status::Faulted {
                fault: Fault::IllegalInstruction,
                tval: h as u64
            },
            "{what}"
        );
        assert_eq!(s.pc(), 0x1000, "{what}");
    }
    let s = both(state(&[0x9002], &[]), 1, "c.ebreak");
    assert_eq!(
        s.status(),
        Status::Faulted {
            fault: Fault::Breakpoint,
            tval: 0x1000
        }
    );
}

/// amo rd=x7, rs2=x6, rs1=x5 at DATA; returns (x7, memory dword at DATA).
fn amo(word: u32, mem: u64, src: u64) -> (u64, u64) {
    let mut s = state(&words(&[word]), &[(5, DATA), (6, src)]);
    s.mem.write_u64(DATA, mem);
    let s = both(s, 1, &format!("{word:#010x}"));
    running(&s, "amo");
    (s.x(7), s.mem.read_u64(DATA))
}

#[test]
fn every_amo_w_and_d() {
    // .w on the low word 0xffff_fffe (-2) with x6 = 5; the high word stays.
    let m = 0x1111_1111_ffff_fffe;
    let old = 0xffff_ffff_ffff_fffe;
    let hi = 0x1111_1111_0000_0000;
    for (what, w, new_low) in [
        ("amoswap.w", 0x0862_a3afu32, 5u64),
        ("amoadd.w", 0x0062_a3af, 3),
        ("amoxor.w", 0x2062_a3af, 0xffff_fffb),
        ("amoand.w", 0x6062_a3af, 4),
        ("amoor.w", 0x4062_a3af, 0xffff_ffff),
        ("amomin.w", 0x8062_a3af, 0xffff_fffe),
        ("amomax.w", 0xa062_a3af, 5),
        ("amominu.w", 0xc062_a3af, 5),
        ("amomaxu.w", 0xe062_a3af, 0xffff_fffe),
    ] {
        assert_eq!(amo(w, m, 5), (old, hi | new_low), "{what}");
    }
    // .w compares only the low 32 bits of x6: 0xffff_ffff_0000_0003 is 3.
    assert_eq!(amo(0x8062_a3af, 0x7, 0xffff_ffff_0000_0003), (7, 3));
    // .d on 0x8000_0000_0000_0001 (negative) with x6 = 5.
    let m = 0x8000_0000_0000_0001;
    for (what, w, new) in [
        ("amoswap.d", 0x0862_b3afu32, 5u64),
        ("amoadd.d", 0x0062_b3af, 0x8000_0000_0000_0006),
        ("amoxor.d", 0x2062_b3af, 0x8000_0000_0000_0004),
        ("amoand.d", 0x6062_b3af, 1),
        ("amoor.d", 0x4062_b3af, 0x8000_0000_0000_0005),
        ("amomin.d", 0x8062_b3af, m),
        ("amomax.d", 0xa062_b3af, 5),
        ("amominu.d", 0xc062_b3af, 5),
        ("amomaxu.d", 0xe062_b3af, m),
        ("amoadd.d.aqrl", 0x0662_b3af, 0x8000_0000_0000_0006),
    ] {
        assert_eq!(amo(w, m, 5), (m, new), "{what}");
    }
    // rd == rs2: the old value lands in rd, the stored value used the old rs2.
    let mut s = state(&words(&[0x0062_a32f]), &[(5, DATA), (6, 5)]); // amoadd.w x6, x6, (x5)
    s.mem.write_u64(DATA, 10);
    let s = both(s, 1, "amoadd.w x6, x6");
    assert_eq!((s.x(6), s.mem.read_u64(DATA)), (10, 15));
}

#[test]
fn lr_sc_pairs_and_the_reservation() {
    const LR_W: u32 = 0x1002_a3af; // lr.w x7, (x5)
    const SC_W: u32 = 0x1862_a42f; // sc.w x8, x6, (x5)
    const LR_D: u32 = 0x1002_b3af; // lr.d x7, (x5)
    const SC_D: u32 = 0x1862_b42f; // sc.d x8, x6, (x5)
    // lr.w; sc.w succeeds (x8 = 0) and stores; a second sc.w fails (x8 = 1).
    let mut s = state(&words(&[LR_W, SC_W, SC_W]), &[(5, DATA), (6, 0x1234)]);
    s.mem.write_u64(DATA, 0x5555_5555_8000_0000);
    let s1 = both(s.clone(), 1, "lr.w");
    assert_eq!(s1.x(7), 0xffff_ffff_8000_0000);
    assert_eq!(s1.ctrl(ctrl::RESERVATION), DATA | 1);
    let s2 = both(s.clone(), 2, "lr.w; sc.w");
    assert_eq!(s2.x(8), 0);
    assert_eq!(s2.mem.read_u64(DATA), 0x5555_5555_0000_1234);
    assert_eq!(s2.ctrl(ctrl::RESERVATION), 0);
    let s3 = both(s.clone(), 3, "lr.w; sc.w; sc.w");
    assert_eq!(s3.x(8), 1);
    assert_eq!(s3.mem.read_u64(DATA), 0x5555_5555_0000_1234);
    // sc.d without a reservation fails and stores nothing.
    let mut s = state(&words(&[SC_D]), &[(5, DATA), (6, 7), (8, 9)]);
    s.mem.write_u64(DATA, 3);
    let s = both(s, 1, "sc.d alone");
    assert_eq!((s.x(8), s.mem.read_u64(DATA)), (1, 3));
    // lr.d at one address, sc.d at another: fails, and the reservation is gone.
    let s = state(
        &words(&[LR_D, 0x0082_8293, SC_D]), // addi x5, x5, 8 in between
        &[(5, DATA), (6, 7)],
    );
    let s = both(s, 3, "lr.d; sc.d elsewhere");
    assert_eq!((s.x(8), s.ctrl(ctrl::RESERVATION)), (1, 0));
    assert_eq!(s.mem.read_u64(DATA + 8), 0);
    // lr.d; sc.d into write-protected memory with the reservation faults.
    let mut s = state(&words(&[LR_D, SC_D]), &[(5, 0x1000), (6, 7)]);
    s.set_ctrl(ctrl::RO_SIZE, 0x10);
    let s = both(s, 2, "sc.d into code");
    assert_eq!(
        s.status(),
        Status::Faulted {
            fault: Fault::StoreAccess,
            tval: 0x1000
        }
    );
    assert_eq!(
        s.ctrl(ctrl::RESERVATION),
        0x1001,
        "a fault changes nothing else"
    );
    // Misaligned lr and sc fault, as do AMOs; lr beyond memory is an access fault.
    for (what, w, a, fault) in [
        ("lr.w", LR_W, DATA + 2, Fault::LoadMisaligned),
        ("lr.d", LR_D, DATA + 4, Fault::LoadMisaligned),
        ("sc.w", SC_W, DATA + 1, Fault::StoreMisaligned),
        ("sc.d", SC_D, DATA + 4, Fault::StoreMisaligned),
        ("amoswap.d", 0x0862_b3af, DATA + 4, Fault::StoreMisaligned),
        ("amoadd.w", 0x0062_a3af, DATA + 6, Fault::StoreMisaligned),
        ("lr.d beyond memory", LR_D, 1 << 32, Fault::LoadAccess),
        (
            "amoor.w beyond memory",
            0x4062_a3af,
            1 << 32,
            Fault::StoreAccess,
        ),
    ] {
        let s = both(state(&words(&[w]), &[(5, a)]), 1, what);
        assert_eq!(s.status(), Status::Faulted { fault, tval: a }, "{what}");
    }
}

#[test]
fn misaligned_loads_and_stores_succeed_across_words_and_pages() {
    // Bytes 0x00, 0x01, .. 0xff from 0x7f80 (crossing the page at 0x8000).
    let fill = |s: &mut State| {
        let bytes: Vec<u8> = (0..=255u8).collect();
        s.mem.write(0x7f80, &bytes);
    };
    // (load funct3, address offset from 0x7f80, value)
    for (f3, off, want) in [
        (1u32, 0x7fu64, 0xffff_ffff_ffff_807f), // lh across the page: 0x7f, 0x80
        (5, 0x7f, 0x807f),                      // lhu
        (2, 0x7d, 0xffff_ffff_807f_7e7d),       // lw
        (6, 0x7d, 0x807f_7e7d),                 // lwu
        (3, 0x7b, 0x8281_807f_7e7d_7c7b),       // ld across the page
        (3, 0x01, 0x0807_0605_0403_0201),       // ld inside a page, across words
        (1, 0x03, 0x0403),                      // lh inside one word
        (2, 0x05, 0x0807_0605),                 // lw across words
    ] {
        let w = support::enc::i(0, 5, f3, 7, 0x03);
        let mut s = state(&words(&[w]), &[(5, 0x7f80 + off)]);
        fill(&mut s);
        let s = both(s, 1, &format!("load f3 {f3} at +{off:#x}"));
        running(&s, "load");
        assert_eq!(s.x(7), want, "load f3 {f3} at +{off:#x}");
    }
    // Stores: sh/sw/sd at odd addresses, across words and the page.
    for (f3, a, n) in [
        (1u32, 0x7fffu64, 2usize),
        (2, 0x7ffd, 4),
        (3, 0x7ffb, 8),
        (3, 0x8003, 8),
    ] {
        let w = support::enc::s(0, 6, 5, f3);
        let s = state(&words(&[w]), &[(5, a), (6, 0x8877_6655_4433_2211)]);
        let s = both(s, 1, &format!("store f3 {f3} at {a:#x}"));
        running(&s, "store");
        let mut got = vec![0u8; n + 2];
        s.mem.read_into(a - 1, &mut got);
        let mut want = vec![0u8; n + 2];
        want[1..=n].copy_from_slice(&0x8877_6655_4433_2211u64.to_le_bytes()[..n]);
        assert_eq!(got, want, "store f3 {f3} at {a:#x}");
    }
    // The last bytes of memory: a misaligned ld ending exactly there works,
    // one byte further is an access fault and stores nothing.
    let end = 1u64 << 32;
    let mut s = state(
        &words(&[support::enc::i(0, 5, 3, 7, 0x03)]),
        &[(5, end - 8)],
    );
    s.mem.write_u64(end - 8, 0x0102_0304_0506_0708);
    let s = both(s, 1, "ld at the end");
    assert_eq!(s.x(7), 0x0102_0304_0506_0708);
    for (what, w, a) in [
        ("ld one past", support::enc::i(0, 5, 3, 7, 0x03), end - 7),
        ("sw one past", support::enc::s(0, 6, 5, 2), end - 3),
    ] {
        let s = both(state(&words(&[w]), &[(5, a), (6, u64::MAX)]), 1, what);
        let fault = if what.starts_with('l') {
            Fault::LoadAccess
        } else {
            Fault::StoreAccess
        };
        assert_eq!(s.status(), Status::Faulted { fault, tval: a }, "{what}");
        assert_eq!(s.mem.read_u64(end - 8), 0, "{what}: nothing stored");
    }
}

#[test]
fn fence_i_orders_a_store_into_writable_code() {
    // The code is writable here: sw x6, 12(x5) overwrites the c.nop pair at
    // 0x100c with `addi x7, x0, 42`; fence.i; then that instruction runs.
    let code = words(&[
        support::enc::s(12, 6, 5, 2),
        0x0000_100f, // fence.i
        0x0000_0013, // nop
        0x0001_0001, // c.nop; c.nop (replaced)
    ]);
    let mut s = state(&code, &[(5, 0x1000), (6, 0x02a0_0393)]);
    s.set_ctrl(ctrl::RO_SIZE, 0);
    let s = both(s, 4, "self-modifying code");
    running(&s, "fence.i");
    assert_eq!((s.x(7), s.pc()), (42, 0x1010));
}
