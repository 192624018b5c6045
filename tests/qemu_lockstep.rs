//! Lockstep differential test against qemu-riscv64, on every committed
//! guest: qemu writes the pc and every register before each instruction
//! (`-singlestep -d cpu,nochain`, streamed through a FIFO so that long
//! guests need no disk), and machine A must be in the same place with the
//! same registers at every step. Beyond the registers:
//! - **memory written**: every store qemu makes (address and value from
//!   qemu's own registers, width from the instruction) and every byte its
//!   `read` calls deposit are laid over `S_0`; at the end, machine A's memory
//!   must be exactly that image on every page either side wrote (for a
//!   guest that qemu runs past mswap's fault, qemu's writes up to there);
//! - **output and status**: stdout, stderr and the exit code are qemu's;
//! - **faults**: where qemu faults too, it must die at the same instruction
//!   (the same number of steps, the same pc) of the signal Linux sends for
//!   mswap's cause. Where qemu emulates what mswap refuses (CSRs, misaligned
//!   data access, a 2-aligned jump, an unknown system call), the guest is
//!   listed below, every step up to mswap's fault must match, and qemu must
//!   indeed go on past it.
//!
//! qemu runs with 4 GiB of reserved guest address space (`-R`) so that its
//! stack lies inside mswap's memory; mswap starts from qemu's initial sp.
//! Without qemu the test fails, unless `MSWAP_SKIP_QEMU=1`.

mod support;

use mswap::fast::Machine;
use mswap::fast::isa::disassemble;
use mswap::layout::{MEM_SIZE, Status, sys};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Guests whose fault qemu-user does not raise: it runs on past it.
const QEMU_GOES_ON: &[&str] = &["fault_csr", "fault_ecall"];

/// How far a short read or write may take mswap's path from qemu's before
/// the two meet again.
const RESYNC_WINDOW: u64 = 20_000;

/// Inputs that keep the long guests' traces short (the others use their
/// sample input).
fn input_for(name: &str) -> Vec<u8> {
    match name {
        "loop" => b"10".to_vec(),
        "collatz" => b"100".to_vec(),
        // One read call takes the whole input under qemu: a JSON document
        // shorter than mswap's 512-byte read chunk, so that the allocator's
        // pointers (sized by the bytes read) follow the same path.
        "rust_json" => {
            br#"[{"name": "Ada", "age": 36, "city": "London"}, {"name": "Alan", "age": 41}]"#
                .to_vec()
        }
        // The same for the EVM guest: a state test encoded in under 512
        // bytes (tests/fixtures/lockstep/README.md).
        "rust_evm" => include_bytes!("fixtures/lockstep/rust_evm.bin").to_vec(),
        _ => support::sample_input(name),
    }
}

/// A write to memory that qemu makes.
struct Store {
    addr: u64,
    value: u64,
    width: u64,
    /// A store-conditional: it writes only if this register is 0 after it.
    if_rd_zero: Option<usize>,
}

/// The write the instruction `word` makes, given the registers before it
/// and `old(addr, width)`, the memory before it: stores, compressed stores
/// (RV64C) and atomics (RV64A), decoded here independently of mswap.
fn qemu_store(word: u32, regs: &[u64; 32], old: impl Fn(u64, u64) -> u64) -> Option<Store> {
    let store = |addr: u64, value: u64, width: u64| Store {
        addr,
        value,
        width,
        if_rd_zero: None,
    };
    let bits = |hi: u32, lo: u32| (word >> lo) & ((1 << (hi - lo + 1)) - 1);
    let (op, f3) = (word & 0x7f, bits(14, 12));
    if word & 3 != 3 {
        // 16 bits: c.sw, c.sd (quadrant 0), c.swsp, c.sdsp (quadrant 2).
        let (q, f) = (word & 3, bits(15, 13));
        let r = |i: u32| regs[8 + i as usize];
        return match (q, f) {
            (0, 6) => {
                let imm = (bits(12, 10) << 3) | (bits(6, 6) << 2) | (bits(5, 5) << 6);
                Some(store(
                    r(bits(9, 7)).wrapping_add(imm.into()),
                    r(bits(4, 2)),
                    4,
                ))
            }
            (0, 7) => {
                let imm = (bits(12, 10) << 3) | (bits(6, 5) << 6);
                Some(store(
                    r(bits(9, 7)).wrapping_add(imm.into()),
                    r(bits(4, 2)),
                    8,
                ))
            }
            (2, 6) => {
                let imm = (bits(12, 9) << 2) | (bits(8, 7) << 6);
                Some(store(
                    regs[2].wrapping_add(imm.into()),
                    regs[bits(6, 2) as usize],
                    4,
                ))
            }
            (2, 7) => {
                let imm = (bits(12, 10) << 3) | (bits(9, 7) << 6);
                Some(store(
                    regs[2].wrapping_add(imm.into()),
                    regs[bits(6, 2) as usize],
                    8,
                ))
            }
            _ => None,
        };
    }
    let (rs1, rs2) = (regs[bits(19, 15) as usize], regs[bits(24, 20) as usize]);
    match op {
        0x23 if f3 < 4 => {
            let imm = (((word as i32) >> 25) << 5) | (bits(11, 7) as i32);
            Some(store(rs1.wrapping_add(imm as i64 as u64), rs2, 1 << f3))
        }
        0x2f if f3 == 2 || f3 == 3 => {
            let width = 1u64 << f3;
            let sext = |v: u64| {
                if width == 4 {
                    v as u32 as i32 as i64
                } else {
                    v as i64
                }
            };
            let o = old(rs1, width);
            let new = match bits(31, 27) {
                0b00010 => return None, // lr
                0b00011 => {
                    return Some(Store {
                        if_rd_zero: Some(bits(11, 7) as usize),
                        ..store(rs1, rs2, width)
                    });
                }
                0b00001 => rs2,
                0b00000 => o.wrapping_add(rs2),
                0b00100 => o ^ rs2,
                0b01100 => o & rs2,
                0b01000 => o | rs2,
                0b10000 => sext(o).min(sext(rs2)) as u64,
                0b10100 => sext(o).max(sext(rs2)) as u64,
                0b11000 if width == 4 => (o as u32).min(rs2 as u32).into(),
                0b11100 if width == 4 => (o as u32).max(rs2 as u32).into(),
                0b11000 => o.min(rs2),
                0b11100 => o.max(rs2),
                _ => return None,
            };
            Some(store(rs1, new, width))
        }
        _ => None,
    }
}

/// Kills qemu if the comparison stops early (a failed assertion).
struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Parses one `xN/name value ...` line into `regs`.
fn parse_regs(line: &str, regs: &mut [u64; 32]) {
    let mut t = line.split_whitespace();
    while let (Some(n), Some(v)) = (t.next(), t.next()) {
        let idx: usize = n
            .trim_start_matches('x')
            .split('/')
            .next()
            .and_then(|i| i.parse().ok())
            .expect("a register name");
        regs[idx & 31] = u64::from_str_radix(v, 16).expect("a hex value");
    }
}

/// What one guest run compared.
struct Compared {
    steps: u64,
    /// Steps compared register by register.
    locked: u64,
    /// Short reads or writes after which the lockstep found qemu again.
    resyncs: usize,
    stores: usize,
    pages: usize,
}

fn lockstep(name: &str, elf: &Path, input: &[u8]) -> Compared {
    let elf_bytes = std::fs::read(elf).unwrap();
    let dir = std::env::temp_dir().join(format!("mswap-lockstep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("trace");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let mut q = Qemu(
        Command::new("env")
            .args([
                "-i",
                "qemu-riscv64",
                "-R",
                "0x100000000",
                "-singlestep",
                "-d",
                "cpu,nochain",
                "-D",
            ])
            .arg(&fifo)
            .arg(elf)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("qemu starts"),
    );
    let mut stdin = q.0.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out_t = drain(Box::new(q.0.stdout.take().unwrap()));
    let err_t = drain(Box::new(q.0.stderr.take().unwrap()));
    let trace = std::io::BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(&fifo).expect("the trace FIFO"),
    );

    let program = mswap::elf::Program::load(&elf_bytes).expect("loads");
    let s0 = program.initial_state(input);
    let mut m: Option<Machine> = None;
    // qemu's writes to memory, laid over S_0.
    let mut image: BTreeMap<u64, u8> = BTreeMap::new();
    let mut image_at_halt: Option<BTreeMap<u64, u8>> = None;
    let mut stores = 0;
    let mut input_pos = 0usize;
    let mut pending_read: Option<u64> = None;
    let mut pending_store: Option<Store> = None;
    let mut steps = 0u64;
    let mut mswap_halted_at: Option<u64> = None;
    let mut prev = String::from("(start)");
    let mut regs = [0u64; 32];
    let mut pc: Option<u64> = None;
    let mut records = 0u64;
    let mut last_io: Option<u64> = None;
    // The step of the first short read or write that qemu made whole.
    let mut short_io_at: Option<u64> = None;
    let mut resync: Option<HashMap<(u64, [u64; 32]), u64>> = None;
    let mut resync_from = 0u64;
    let mut resyncs = 0usize;
    let mut extra = 0u64;
    // One record is complete when the next `pc` line (or the end) comes.
    let mut on_record = |pc: u64, regs: &[u64; 32]| {
        records += 1;
        if let Some(w) = pending_store.take() {
            // A store-conditional writes if its rd (here, after it) is 0.
            if w.if_rd_zero.is_none_or(|rd| regs[rd] == 0) {
                for k in 0..w.width {
                    image.insert(w.addr.wrapping_add(k), (w.value >> (8 * k)) as u8);
                }
                stores += 1;
            }
        }
        if let Some(buf) = pending_read.take() {
            // The read before returned a0 bytes, taken from the input in order.
            let n = regs[10] as i64;
            if n > 0 {
                for k in 0..n as u64 {
                    image.insert(buf + k, input[input_pos]);
                    input_pos += 1;
                }
            }
        }
        // What qemu does to memory at this instruction, from its registers
        // (applied when qemu goes on to the next instruction: a store that
        // faults writes nothing).
        let word = s0.mem.read_u32(pc);
        let old = |a: u64, width: u64| {
            (0..width).fold(0u64, |v, k| {
                let b = image.get(&(a + k)).copied().unwrap_or_else(|| {
                    let mut x = [0u8];
                    s0.read_bytes(a + k, &mut x);
                    x[0]
                });
                v | (u64::from(b) << (8 * k))
            })
        };
        if let Some(w) = qemu_store(word, regs, old) {
            pending_store = Some(w);
        }
        if word == 0x73 && regs[17] == sys::READ && regs[10] as u32 == 0 {
            pending_read = Some(regs[11]);
        }
        let after_io = last_io.take();
        if word == 0x73 && (regs[17] == sys::READ || regs[17] == sys::WRITE) {
            last_io = Some(records - 1);
        }
        let m = m.get_or_insert_with(|| {
            let mut s = s0.clone();
            s.set_x(2, regs[2]);
            let mut m = Machine::new(s);
            m.record_writes = true;
            m
        });
        if mswap_halted_at.is_some() || short_io_at.is_some() {
            return;
        }
        if let Some(ahead) = &resync {
            // Waiting for qemu to reach a state mswap's own path passes through.
            match ahead.get(&(pc, *regs)) {
                Some(&k) => {
                    steps += m.run(k);
                    // mswap's extra steps: its k against qemu's records skipped.
                    extra += k - (records - 1 - resync_from);
                    resync = None;
                    resyncs += 1;
                }
                None if records - 1 > resync_from + RESYNC_WINDOW => {
                    short_io_at = Some(resync_from);
                    return;
                }
                None => return,
            }
        }
        let st = m.state();
        if after_io.is_some()
            && st.x(10) == sys::IO_CHUNK
            && regs[10] > sys::IO_CHUNK
            && regs[10] as i64 > 0
            && st.pc() == pc
        {
            // mswap moved one chunk where qemu moved everything (short I/O,
            // as POSIX allows and the runtime loops over): the two take
            // different paths to the same state. mswap runs on alone,
            // remembering each state it passes; the lockstep resumes at the
            // first qemu record that is one of them.
            let mut probe = Machine::new(st.clone());
            let mut ahead = HashMap::new();
            for k in 0..RESYNC_WINDOW {
                let t = probe.state();
                let mut x = [0u64; 32];
                for (r, v) in x.iter_mut().enumerate() {
                    *v = t.x(r);
                }
                ahead.entry((t.pc(), x)).or_insert(k);
                if !probe.step() {
                    break;
                }
            }
            resync = Some(ahead);
            resync_from = records - 1;
            return;
        }
        // After a short I/O the two rejoined on pc and registers, but not
        // necessarily on memory (a spilled byte count, a buffer grown in
        // other steps): a later difference parts the paths for good, and
        // the guest is compared on its output and exit from there.
        if resyncs > 0 && (st.halted() || st.pc() != pc || (1..32).any(|r| st.x(r) != regs[r])) {
            short_io_at = Some(records - 1);
            return;
        }
        assert!(
            !st.halted(),
            "{name}: mswap halted ({}) before qemu's step {}",
            st.status(),
            records - 1
        );
        assert_eq!(
            st.pc(),
            pc,
            "{name}: pc before step {}, after {prev}",
            records - 1
        );
        for (r, want) in regs.iter().enumerate().skip(1) {
            assert_eq!(
                st.x(r),
                *want,
                "{name}: x{r} before step {} (pc {pc:#x}), after {prev}",
                records - 1
            );
        }
        prev = format!("{} at {pc:#x}", disassemble(word));
        m.step();
        steps += 1;
        if m.state().halted() {
            mswap_halted_at = Some(steps);
            // What qemu had written when mswap stopped (the halting
            // instruction's own store, if qemu makes it, is not yet applied).
            image_at_halt = Some(image.clone());
        }
    };
    for line in trace.lines() {
        let line = line.expect("the trace");
        let line = line.trim_start();
        if let Some(v) = line.strip_prefix("pc") {
            if let Some(p) = pc {
                on_record(p, &regs);
            }
            pc = Some(u64::from_str_radix(v.trim(), 16).expect("a pc"));
        } else if line.starts_with('x') {
            parse_regs(line, &mut regs);
        }
    }
    on_record(pc.expect("qemu wrote no trace"), &regs);
    // qemu ended while mswap's shorter chunks were still on their way to
    // a state of qemu's (the last write before exit): on alone, as below.
    if resync.is_some() && short_io_at.is_none() && mswap_halted_at.is_none() {
        short_io_at = Some(resync_from);
    }
    let status = q.0.wait().expect("qemu ends");
    feeder.join().unwrap();
    let (q_out, q_err) = (out_t.join().unwrap(), err_t.join().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let mut m = m.expect("a machine");
    // An instruction qemu cannot even fetch leaves no record: mswap's next
    // step must be that fault.
    let mut unfetchable = false;
    if mswap_halted_at.is_none() && short_io_at.is_none() && status.signal().is_some() {
        steps += m.run(1);
        unfetchable = true;
        mswap_halted_at = m.state().halted().then_some(steps);
    }
    if short_io_at.is_some() {
        // On alone to the end (the guests are short).
        steps += m.run(100_000_000);
        mswap_halted_at = m.state().halted().then_some(steps);
    }
    let same_path = short_io_at.is_none();
    let halted_at = mswap_halted_at.unwrap_or_else(|| {
        panic!("{name}: qemu ended ({status}) but mswap still runs after {steps} steps")
    });

    // Output, stream by stream, and the status.
    let mut out: [Vec<u8>; 3] = Default::default();
    for w in m.take_writes() {
        out[w.fd as usize].extend(m.state().output_range(w.start, w.start + w.len));
    }
    let qemu_goes_on = QEMU_GOES_ON.contains(&name);
    if qemu_goes_on {
        assert!(
            matches!(m.status(), Status::Faulted { .. }),
            "{name}: mswap must fault, it {}",
            m.status()
        );
    }
    match (m.status(), status.code(), status.signal()) {
        (Status::Faulted { .. }, _, _) if qemu_goes_on => {
            // qemu runs past the instruction mswap faults at (and may end
            // in a fault of its own later on). After a short I/O that never
            // rejoined the two step counts do not line up: the output and
            // the memory below still must.
            assert!(
                !same_path || records + extra > halted_at,
                "{name}: qemu went on past mswap's fault"
            );
            assert!(
                q_out.starts_with(&out[1]),
                "{name}: stdout before the fault"
            );
        }
        (Status::Exited(code), Some(q_code), _) => {
            if same_path {
                assert_eq!(
                    halted_at,
                    records + extra,
                    "{name}: mswap exits after {halted_at} steps, qemu after {records} and mswap's {extra} extra steps of short I/O"
                );
            }
            assert_eq!(code as u8 as i32, q_code, "{name}: exit code");
            assert_eq!(
                String::from_utf8_lossy(&out[1]),
                String::from_utf8_lossy(&q_out),
                "{name}: stdout"
            );
            assert_eq!(out[2], q_err, "{name}: stderr");
        }
        (Status::Faulted { fault, .. }, None, Some(sig)) => {
            // After a short I/O that never rejoined (the registers of the
            // write loop differ), the step counts do not line up; the
            // fault, the output and the memory still must.
            if unfetchable {
                assert_eq!(
                    fault,
                    mswap::layout::Fault::InstructionAccess,
                    "{name}: qemu could not fetch"
                );
            }
            if same_path {
                assert_eq!(
                    halted_at,
                    records + extra + unfetchable as u64,
                    "{name}: mswap faults at step {halted_at}, qemu at step {records}"
                );
            }
            assert_eq!(
                fault.signal(),
                sig,
                "{name}: {fault:?} is signal {} in Linux, qemu died of {sig}",
                fault.signal()
            );
            assert_eq!(out[1], q_out, "{name}: stdout before the fault");
        }
        // The guests qemu runs on past a fault took the first arm.
        (Status::Faulted { fault, .. }, Some(_), _) => {
            panic!("{name}: mswap faults ({fault:?}) at step {halted_at}, qemu exits normally")
        }
        (s, code, sig) => panic!("{name}: mswap {s}, qemu exit {code:?} signal {sig:?}"),
    }

    // Memory: exactly S_0 with qemu's writes laid over it, on every page
    // either side wrote (up to mswap's halt, where qemu went on).
    let image = match image_at_halt {
        Some(at_halt) if records + extra > halted_at => at_halt,
        _ => image,
    };
    if !same_path {
        return Compared {
            steps,
            resyncs,
            locked: short_io_at.unwrap_or(halted_at),
            stores,
            pages: 0,
        };
    }
    let fin = m.state();
    let mut pages: BTreeSet<u64> = fin.mem.written_pages().into_iter().map(u64::from).collect();
    pages.extend(image.keys().map(|a| a >> 12));
    for &p in &pages {
        assert!(
            p < MEM_SIZE >> 12,
            "{name}: qemu wrote outside mswap's memory at page {p:#x}"
        );
        let mut want = vec![0u8; 4096];
        let mut got = vec![0u8; 4096];
        s0.mem.read_into(p << 12, &mut want);
        fin.mem.read_into(p << 12, &mut got);
        for (k, b) in image.range(p << 12..(p + 1) << 12) {
            want[(k & 0xfff) as usize] = *b;
        }
        if let Some(i) = (0..4096).find(|&i| want[i] != got[i]) {
            panic!(
                "{name}: memory at {:#x} is {:#04x}, qemu's is {:#04x}",
                (p << 12) + i as u64,
                got[i],
                want[i]
            );
        }
    }
    Compared {
        steps,
        resyncs,
        locked: halted_at,
        stores,
        pages: pages.len(),
    }
}

#[test]
fn machine_a_matches_qemu_on_every_guest() {
    let Some(_) = support::qemu("qemu_lockstep") else {
        return;
    };
    let guests = support::guests();
    assert!(guests.len() >= 20, "the guest suite is missing");
    // Two guests at a time (qemu and the comparison each take a core); the
    // longest first.
    let mut queue: Vec<String> = guests.into_iter().map(|g| g.0).collect();
    queue.sort_by_key(|n| !matches!(n.as_str(), "numeric" | "alu"));
    queue.reverse();
    let queue = std::sync::Mutex::new(queue);
    let short_paths = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    // Not in the loop's condition: the lock would be held
                    // for the whole body.
                    let next = queue.lock().unwrap().pop();
                    let Some(name) = next else { break };
                    let path = support::guest_path(&name);
                    let c = lockstep(&name, &path, &input_for(&name));
                    eprintln!(
                        "{name}: {} steps, {} in lockstep ({} short I/O rejoined), {} stores, {} pages compared",
                        c.steps, c.locked, c.resyncs, c.stores, c.pages
                    );
                    assert!(c.locked > 30, "{name}: only {} steps compared", c.locked);
                    assert!(
                        c.stores > 0 && (c.pages > 0 || c.locked != c.steps),
                        "{name}: no memory compared"
                    );
                    if c.locked != c.steps {
                        short_paths.lock().unwrap().push(name.clone());
                    }
                }
            });
        }
    });
    let short_paths = short_paths.into_inner().unwrap();
    // qemu reads and writes whole where mswap moves at most IO_CHUNK
    // bytes a call. The C guests that exit buffer their output and rejoin
    // after each short call, so they run in lockstep to their end; the
    // faulting ones may fault before the registers of the write loop
    // rejoin, and the Rust guests grow their buffers in other steps.
    let must_lock: Vec<&String> = short_paths
        .iter()
        .filter(|n| !n.starts_with("fault_") && !n.starts_with("rust_"))
        .collect();
    assert!(
        must_lock.is_empty(),
        "lockstep stops early on {must_lock:?}"
    );
}

/// The system calls' edge cases where Linux (qemu-user) and mswap see the
/// same memory: a hand-made guest makes each call and the lockstep compares
/// `a0` after it (and everything else), then its output and exit.
#[test]
fn system_call_edge_cases_match_qemu() {
    use mswap::elf::{PF_R, PF_W, PF_X, write_elf};
    use mswap::layout::sys::{READ, WRITE};
    use support::enc;
    let Some(_) = support::qemu("qemu_lockstep") else {
        return;
    };
    const DATA: u64 = 0x11000;
    const MSG: u64 = DATA + 0x400;
    const BUF: u64 = DATA + 0x800;
    let top = MEM_SIZE;
    // (a7, a0, a1, a2): each case, in order.
    let cases: &[(u64, u64, u64, u64)] = &[
        (WRITE, 0xffff_ffff_0000_0001, MSG, 5), // fd is an unsigned int
        (WRITE, 0x7fff_fff0, MSG, 5),           // no such fd
        (WRITE, 1, top - 8, 16),                // the range leaves memory
        (WRITE, 1, u64::MAX - 7, 4),            // far outside
        (WRITE, 0x1_0000_0002, MSG + 2, 3),     // stderr
        (READ, 0x1_0000_0000, BUF, 3),          // fd 0 with upper bits
        (READ, 0, 0x10000, 3),                  // into the code
        (READ, 0, 0x10ff0, 3),                  // the rest of the code page
        (READ, 0, top - 2, 3),                  // the range leaves memory
        (READ, 0, BUF + 0x100, 2),              // the rest of the input
        (READ, 0, BUF + 0x100, 2),              // its end
        (WRITE, 1, BUF, 5),                     // what was read
    ];
    let mut table = Vec::new();
    let mut code = vec![0x0001_1437u32]; // lui s0, 0x11
    for (k, &(a7, a0, a1, a2)) in cases.iter().enumerate() {
        for (r, v) in [(17u32, a7), (10, a0), (11, a1), (12, a2)] {
            code.push(enc::i((table.len() * 8) as i32, 8, 3, r, 0x03)); // ld r, off(s0)
            table.push(v);
        }
        code.push(enc::ECALL);
        code.push(enc::s(0x600 + 8 * k as i32, 10, 8, 3)); // sd a0, 0x600+8k(s0)
    }
    code.extend([enc::addi(17, 0, 93), enc::addi(10, 0, 7), enc::ECALL]);
    let text: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    // The data page: the register table at DATA, "hello" at MSG, results
    // at 0x600 and read buffers at 0x800 (clear of the table).
    let mut seg = Vec::new();
    for v in &table {
        seg.extend_from_slice(&v.to_le_bytes());
    }
    assert!(seg.len() <= 0x400);
    seg.resize(0x400, 0);
    seg.extend_from_slice(b"hello");
    let text_len = text.len() as u64;
    let elf = write_elf(
        &[
            (0x10000, PF_R | PF_X, &text, text_len),
            (DATA, PF_R | PF_W, &seg, 0x1000),
        ],
        0x10000,
    );
    let dir = std::env::temp_dir().join(format!("mswap-sys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("syscalls.elf");
    std::fs::write(&path, &elf).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // What each call returns (qemu returns the same: the lockstep compares a0).
    use mswap::layout::sys::{EBADF, EFAULT};
    let want = [
        5, EBADF, EFAULT, EFAULT, 3, 3, EFAULT, EFAULT, EFAULT, 2, 0, 5,
    ];
    let mut m = Machine::new(
        mswap::elf::Program::load(&elf)
            .unwrap()
            .initial_state(b"abcde"),
    );
    m.run(10_000);
    assert_eq!(m.status(), Status::Exited(7));
    let got: Vec<u64> = (0..cases.len() as u64)
        .map(|k| m.state().mem.read_u64(DATA + 0x600 + 8 * k))
        .collect();
    assert_eq!(got, want);
    assert_eq!(m.state().output(), b"hellolloabc\0\0");
    let c = lockstep("syscalls", &path, b"abcde");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(c.locked, c.steps, "in lockstep to the exit");
    assert!(c.steps as usize > 6 * cases.len());
}

/// The lockstep's own decoding of writes (compressed and atomic ones too,
/// for guests built for RV64IMAC), on hand-encoded instructions.
#[test]
fn the_write_decoder_knows_every_store() {
    let mut regs = [0u64; 32];
    regs[1] = 0x1111; // ra
    regs[2] = 0x8000; // sp
    regs[10] = 0x9000; // a0
    regs[11] = 0xa000; // a1
    regs[12] = 5; // a2
    let mem = |_: u64, _: u64| 0xffff_fff0u64; // the word before: -16 as i32
    let w = |word| qemu_store(word, &regs, mem).map(|s| (s.addr, s.value, s.width, s.if_rd_zero));
    assert_eq!(
        w(0xe406),
        Some((0x8008, 0x1111, 8, None)),
        "c.sdsp ra, 8(sp)"
    );
    assert_eq!(w(0xc14c), Some((0x9004, 0xa000, 4, None)), "c.sw a1, 4(a0)");
    assert_eq!(
        w(0x00b5_3423),
        Some((0x9008, 0xa000, 8, None)),
        "sd a1, 8(a0)"
    );
    // amoadd.w a0, a2, (a1): old + 5.
    assert_eq!(w(0x00c5_a52f), Some((0xa000, 0xffff_fff5, 4, None)));
    // amomin.w a0, a2, (a1): signed, -16 < 5.
    assert_eq!(w(0x80c5_a52f), Some((0xa000, (-16i64) as u64, 4, None)));
    // amominu.w: 5 < 0xfffffff0.
    assert_eq!(w(0xc0c5_a52f), Some((0xa000, 5, 4, None)));
    // sc.d a0, a2, (a1): writes if a0 is 0 after it; lr.d writes nothing.
    assert_eq!(w(0x18c5_b52f), Some((0xa000, 5, 8, Some(10))));
    assert_eq!(w(0x1005_b52f), None);
    assert_eq!(w(0x0000_0013), None, "nop");
}
