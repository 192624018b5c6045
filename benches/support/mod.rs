//! Helpers shared by the benches: guest files and the example program,
//! scratch directories, timing in wall and CPU time (of this thread, of
//! the children waited for, of another process) and memory of a process,
//! and whole-process runs of `qemu-riscv64` or of `mswap` itself (with the
//! start-up of an empty guest measured, so that it can be told apart from
//! the run). Each bench includes this file with `#[path]`.
#![allow(dead_code)]

pub mod ckb;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The crate's root directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// A committed guest ELF, `examples/guests/bin/NAME.elf`.
pub fn guest(name: &str) -> Vec<u8> {
    std::fs::read(
        root()
            .join("examples/guests/bin")
            .join(format!("{name}.elf")),
    )
    .expect("guest ELF")
}

/// The example program of `proofs/` and its input, as paths.
pub fn example_paths() -> (PathBuf, PathBuf) {
    let dir = root().join("proofs");
    (dir.join("example.elf"), dir.join("example.input"))
}

/// The example program of `proofs/` and its input.
pub fn example() -> (Vec<u8>, Vec<u8>) {
    let (elf, input) = example_paths();
    (
        std::fs::read(elf).expect("proofs/example.elf"),
        std::fs::read(input).expect("proofs/example.input"),
    )
}

/// A path for a scratch directory of the bench (`mswap-bench-TAG-PID` in
/// the system's temporary directory), removed if it was there and not
/// created.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mswap-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A static RV64 ELF that exits with code 0 at once (`li a0, 0; li a7, 93;
/// ecall`): what a whole-process run costs before the guest's first
/// instruction of work.
pub fn empty_guest() -> Vec<u8> {
    use mswap::elf::{PF_R, PF_X, write_elf};
    let code: Vec<u8> = [0x0000_0513u32, 0x05d0_0893, 0x0000_0073]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    write_elf(&[(0x10000, PF_R | PF_X, &code, code.len() as u64)], 0x10000)
}

/// Seconds of a duration.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// A separator between sections.
pub fn line() {
    println!("{}", "-".repeat(78));
}

/// How many runs each engine gets (the best one counts).
pub fn runs() -> usize {
    std::env::var("MSWAP_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// CPU time of the calling thread, in seconds (Linux: the first field of
/// `/proc/thread-self/schedstat`, in nanoseconds).
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 * 1e-9)
}

/// CPU seconds of this whole process so far, every thread's (the
/// JIT translates on a thread of its own), to the nanosecond
/// (`CLOCK_PROCESS_CPUTIME_ID`).
#[allow(unsafe_code)]
pub fn process_cpu() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (r == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// Two fields of `/proc/PROC/stat` after the command's closing parenthesis
/// (0-based), summed and read as ticks of 1/100 s: seconds.
fn stat_secs(proc: &str, first: usize) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{proc}/stat")).ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(first)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    (f.len() == 2).then(|| (f[0] + f[1]) as f64 / 100.0)
}

/// User plus system CPU time of the children waited for, in seconds
/// (Linux: `cutime + cstime` of `/proc/self/stat`).
pub fn children_cpu() -> Option<f64> {
    stat_secs("self", 13)
}

/// User plus system CPU seconds of process `pid` so far (Linux: `utime +
/// stime` of `/proc/PID/stat`); 0 where it cannot be read.
pub fn cpu_secs(pid: u32) -> f64 {
    stat_secs(&pid.to_string(), 11).unwrap_or(0.0)
}

/// A memory figure of process `pid` in MiB, the line `FIELD:` of
/// `/proc/PID/status` (`VmRSS`: resident now, `VmHWM`: the peak); 0 where
/// it cannot be read.
pub fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Wall and CPU time of one measurement.
#[derive(Clone, Copy, Debug)]
pub struct Time {
    /// Wall-clock seconds.
    pub wall: f64,
    /// CPU seconds (the wall time where it cannot be read).
    pub cpu: f64,
}

impl Time {
    /// No measurement yet: worse than any.
    pub const NONE: Time = Time {
        wall: f64::MAX,
        cpu: f64::MAX,
    };

    /// This measurement less `o` (a start-up paid before the work). The
    /// CPU time of a child is counted in ticks of 10 ms: where the
    /// difference is not above zero, the net wall time stands for it.
    pub fn minus(self, o: Time) -> Time {
        let wall = (self.wall - o.wall).max(0.0);
        let cpu = if self.cpu > o.cpu {
            self.cpu - o.cpu
        } else {
            wall
        };
        Time { wall, cpu }
    }

    /// The better of two measurements (by CPU time).
    pub fn best(self, o: Time) -> Time {
        if o.cpu < self.cpu { o } else { self }
    }
}

/// Times `f` on this thread.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Time) {
    let c0 = thread_cpu();
    let t = Instant::now();
    let r = f();
    let wall = secs(t.elapsed());
    let cpu = match (c0, thread_cpu()) {
        (Some(a), Some(b)) => b - a,
        _ => wall,
    };
    (r, Time { wall, cpu })
}

/// Runs `cmd` as a whole process with `input` on stdin: its stdout, exit
/// code, and time (wall, and CPU time of the child process).
pub fn process(mut cmd: Command, input: &[u8]) -> Result<(Vec<u8>, i32, Time), String> {
    use std::io::Write;
    let c0 = children_cpu();
    let t = Instant::now();
    let run = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            // Fed from another thread while this one drains the output: a
            // guest that writes as much as it reads (echo) would otherwise
            // block on a full pipe while its input is still being written.
            let si = c.stdin.take();
            std::thread::scope(|s| {
                if let Some(mut si) = si {
                    s.spawn(move || {
                        let _ = si.write_all(input);
                    });
                }
                c.wait_with_output()
            })
        });
    let wall = secs(t.elapsed());
    let out = run.map_err(|e| e.to_string())?;
    let cpu = match (c0, children_cpu()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall,
    };
    Ok((
        out.stdout,
        out.status.code().unwrap_or(-1),
        Time { wall, cpu },
    ))
}

/// Runs `elf` under `qemu-riscv64` with `input` on stdin: output, exit
/// code, and time of the whole process.
pub fn qemu(elf: &[u8], input: &[u8]) -> Result<(Vec<u8>, i32, Time), String> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = std::env::temp_dir().join(format!("mswap-bench-{}.elf", std::process::id()));
    std::fs::write(&tmp, elf).map_err(|e| e.to_string())?;
    let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755));
    let mut cmd = Command::new("qemu-riscv64");
    cmd.arg(&tmp);
    let r = process(cmd, input);
    let _ = std::fs::remove_file(&tmp);
    r
}

/// Runs `elf` as `mswap --engine ENGINE run` (the bench profile's binary)
/// with `input` on stdin: output, exit code, and time of the whole process.
pub fn mswap_process(
    elf: &[u8],
    input: &[u8],
    engine: &str,
) -> Result<(Vec<u8>, i32, Time), String> {
    let tmp = std::env::temp_dir().join(format!("mswap-bench-run-{}.elf", std::process::id()));
    std::fs::write(&tmp, elf).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mswap"));
    cmd.args(["--engine", engine, "run", "--input", "-"])
        .arg(&tmp);
    let r = process(cmd, input);
    let _ = std::fs::remove_file(&tmp);
    r
}

/// The best (by wall time) of `n` whole-process runs of the empty guest
/// by `run`: the start-up every whole-process run of it pays.
pub fn startup(
    n: usize,
    run: impl Fn(&[u8], &[u8]) -> Result<(Vec<u8>, i32, Time), String>,
) -> Result<Time, String> {
    let elf = empty_guest();
    let mut best = Time::NONE;
    for _ in 0..n {
        let (out, code, t) = run(&elf, b"")?;
        if (out.as_slice(), code) != (b"".as_slice(), 0) {
            return Err(format!("the empty guest ends with code {code}"));
        }
        if t.wall < best.wall {
            best = t;
        }
    }
    Ok(best)
}

/// `n` pseudo-random bytes (xorshift64 from `seed`): the same bytes on every run.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// About `n` bytes of text for the word-frequency guest: words made of
/// syllables from a vocabulary of 5,000, drawn with a skew (a few words
/// are frequent, most are rare, as in prose), separated by spaces, commas,
/// full stops and line breaks. The same text on every run.
pub fn word_text(n: usize, seed: u64) -> Vec<u8> {
    const SYL: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "po", "ve", "da", "gu", "he", "jo", "ba", "ce",
        "fi", "wu", "yo", "ze", "qua", "str", "ing", "tion", "er",
    ];
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let vocab: Vec<String> = (0..5000)
        .map(|_| {
            let k = 1 + next() % 4;
            (0..k).map(|_| SYL[(next() % 24) as usize]).collect()
        })
        .collect();
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        // The smaller of two uniform draws, squared: skewed towards the front.
        let r = (next() % 5000).min(next() % 5000);
        let w = &vocab[(r * r / 5000) as usize];
        out.extend_from_slice(w.as_bytes());
        out.push(match next() % 16 {
            0 => b',',
            1 => b'.',
            2 => b'\n',
            _ => b' ',
        });
    }
    out
}

/// A JSON array of about `n` bytes of people (`{"name", "age", "city"}`,
/// some without a city), the shape of `rust_json`'s example input, for a
/// run long enough to measure (the example's 576 bytes take 70,000 steps,
/// under 1 ms).
pub fn people_json(n: usize, seed: u64) -> Vec<u8> {
    const FIRST: [&str; 12] = [
        "Ada",
        "Alan",
        "Grace",
        "Edsger",
        "Barbara",
        "Donald",
        "Frances",
        "Tony",
        "Niklaus",
        "Margaret",
        "John",
        "Katherine",
    ];
    const LAST: [&str; 12] = [
        "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Hoare", "Wirth",
        "Hamilton", "McCarthy", "Johnson",
    ];
    const CITY: [&str; 8] = [
        "London",
        "Manchester",
        "New York",
        "Austin",
        "Boston",
        "Cambridge",
        "Zürich",
        "Paris",
    ];
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = b"[\n".to_vec();
    let mut first = true;
    while out.len() < n {
        if !first {
            out.extend_from_slice(b",\n");
        }
        first = false;
        let name = format!(
            "{} {} {}",
            FIRST[(next() % 12) as usize],
            LAST[(next() % 12) as usize],
            next() % 1000
        );
        let age = next() % 100;
        let person = match next() % 8 {
            0 => format!("  {{\"name\": \"{name}\", \"age\": {age}}}"),
            c => format!(
                "  {{\"name\": \"{name}\", \"age\": {age}, \"city\": \"{}\"}}",
                CITY[(c as usize + next() as usize) % 8]
            ),
        };
        out.extend_from_slice(person.as_bytes());
    }
    out.extend_from_slice(b"\n]\n");
    out
}

/// `rust_evm`'s input for a transaction that runs a loop of `n` rounds
/// (`n < 2^24`): the committed `stExample/add11` case (Cancun) with its
/// 9-byte contract replaced by the loop and its gas limit raised to 30M.
/// Each round stores the counter in memory, hashes it (`SHA3`), adds the
/// hash to storage slot 0 and xors in the counter (`SLOAD`, `ADD`, `XOR`,
/// `SSTORE`), then counts down (`SUB`, `JUMPI`): some 20 opcodes and 290
/// gas a round, the interpreter loop, stack, memory, Keccak and storage of
/// revm, where the add11 case runs 6 opcodes.
pub fn evm_loop(n: u32) -> Vec<u8> {
    assert!(n < 1 << 24, "the loop counts in 3 bytes");
    let case = std::fs::read(root().join("examples/guests/inputs/evm_add11.bin"))
        .expect("examples/guests/inputs/evm_add11.bin");
    let [_, n2, n1, n0] = n.to_be_bytes();
    #[rustfmt::skip]
    let code = [
        0x62, n2, n1, n0,       // PUSH3 n                [i]
        0x5b,                   // 4: JUMPDEST
        0x80, 0x60, 0x00, 0x52, // DUP1 PUSH1 0 MSTORE     mem[0] = i
        0x60, 0x20, 0x60, 0x00, 0x20, // PUSH1 32 PUSH1 0 SHA3  [i h]
        0x60, 0x00, 0x54,       // PUSH1 0 SLOAD          [i h s]
        0x01, 0x81, 0x18,       // ADD DUP2 XOR           [i (h+s)^i]
        0x60, 0x00, 0x55,       // PUSH1 0 SSTORE         [i]
        0x60, 0x01, 0x90, 0x03, // PUSH1 1 SWAP1 SUB      [i-1]
        0x80, 0x60, 0x04, 0x57, // DUP1 PUSH1 4 JUMPI     back while i-1 != 0
        0x00,                   // STOP
    ];
    // The contract is a byte string: its length (u32), then its bytes.
    let old: &[u8] = &[0, 0, 0, 9, 0x60, 1, 0x60, 1, 1, 0x60, 0, 0x55, 0];
    let at = |hay: &[u8], needle: &[u8]| {
        let k: Vec<usize> = (0..=hay.len() - needle.len())
            .filter(|&k| hay[k..].starts_with(needle))
            .collect();
        assert_eq!(k.len(), 1, "the add11 case has the bytes once");
        k[0]
    };
    let mut out = case.clone();
    // The transaction's gas limit (u64), 400,000 in the case.
    let gas = at(&out, &400_000u64.to_be_bytes());
    out[gas..gas + 8].copy_from_slice(&30_000_000u64.to_be_bytes());
    let c = at(&out, old);
    let mut contract = (code.len() as u32).to_be_bytes().to_vec();
    contract.extend_from_slice(&code);
    out.splice(c..c + old.len(), contract);
    out
}
