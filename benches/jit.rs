//! Machine A's engines side by side: the JIT, the interpreter,
//! `qemu-riscv64` (a JIT: the ceiling) and ckb-vm's assembly interpreter,
//! on `loop.elf` and the compute guests, all in one run with their outputs
//! compared; the JIT's translation time; and the honest player's first
//! pass with each engine.
//!
//! ```text
//! cargo bench --bench jit
//! MSWAP_BENCH_ITERS=100000 cargo bench --bench jit   # a shorter loop.elf
//! ```
//!
//! The machine is shared and noisy: read the ratios, not the absolute numbers.

#[path = "support/ckb.rs"]
mod ckb;

use mswap::elf::Program;
use mswap::fast::Machine;
use mswap::fast::jit::{Engine, available, set_default_engine};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn guest(name: &str) -> Vec<u8> {
    std::fs::read(
        root()
            .join("examples/guests/bin")
            .join(format!("{name}.elf")),
    )
    .expect("guest ELF")
}

/// Seconds of `qemu-riscv64` on `elf` with `input` (whole process), and its stdout.
fn qemu(elf: &[u8], input: &[u8]) -> Option<(f64, Vec<u8>)> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let tmp = std::env::temp_dir().join(format!("mswap-jit-bench-{}.elf", std::process::id()));
    std::fs::write(&tmp, elf).ok()?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).ok()?;
    let t = Instant::now();
    let mut c = std::process::Command::new("qemu-riscv64")
        .arg(&tmp)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    if let Some(mut si) = c.stdin.take() {
        let _ = si.write_all(input);
    }
    let out = c.wait_with_output().ok()?;
    let s = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&tmp);
    Some((s, out.stdout))
}

/// One engine on a guest: (steps, seconds, output, translation seconds, regions, instructions translated).
fn mswap(p: &Program, input: &[u8], engine: Engine) -> (u64, f64, Vec<u8>, f64, u64, u64) {
    let s0 = p.initial_state(input);
    let t = Instant::now();
    let mut m = Machine::with_engine(s0, engine);
    let n = m.run(u64::MAX);
    let s = t.elapsed().as_secs_f64();
    assert!(m.state().halted(), "the guest halts");
    let st = m.jit_stats();
    (
        n,
        s,
        m.state().output(),
        st.translate_secs,
        st.regions,
        st.insts,
    )
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "--list") {
        return;
    }
    println!(
        "jit: machine A's engines ({} cores); JIT available: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        available()
    );
    let iters = std::env::var("MSWAP_BENCH_ITERS").unwrap_or_else(|_| "300000".into());
    let text = std::fs::read(root().join("examples/guests/inputs/text.txt")).expect("text.txt");
    let big_text: Vec<u8> = text.iter().copied().cycle().take(256 << 10).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("loop", iters.clone().into_bytes()),
        ("sha256", big_text.clone()),
        ("keccak", big_text),
        ("collatz", b"30000".to_vec()),
        ("numeric", Vec::new()),
    ];
    println!(
        "{:<8} {:>12} | {:>8} {:>8} {:>8} {:>8} | {:>7} {:>7} {:>7} | {:>8} {:>7} {:>6}",
        "guest",
        "instrs",
        "interp",
        "jit",
        "qemu",
        "ckb-asm",
        "jit/int",
        "jit/ckb",
        "jit/qemu",
        "transl.",
        "regions",
        "insts"
    );
    println!(
        "{:<21} | {:^35} | {:^23} | {:^23}",
        "", "MIPS", "speed ratios", "translated"
    );
    for (name, input) in &cases {
        let elf = guest(name);
        let p = Program::load(&elf).expect("loads");
        let (n, si, out, ..) = mswap(&p, input, Engine::Interp);
        let (nj, sj, outj, tr, regions, insts) = mswap(&p, input, Engine::Jit);
        assert_eq!((n, &out), (nj, &outj), "{name}: JIT and interpreter agree");
        let q = qemu(&elf, input);
        if let Some((_, qo)) = &q {
            assert_eq!(qo, &out, "{name}: qemu agrees");
        }
        let t = Instant::now();
        let (_, co, _) = ckb::asm(&elf, input, ckb::MEMORY);
        let sc = t.elapsed().as_secs_f64();
        assert_eq!(co, out, "{name}: ckb-vm asm agrees");
        let mips = |s: f64| n as f64 / s / 1e6;
        let sq = q.as_ref().map_or(f64::NAN, |x| x.0);
        println!(
            "{:<8} {:>12} | {:>8.0} {:>8.0} {:>8.0} {:>8.0} | {:>6.2}x {:>6.2}x {:>6.2}x | {:>6.1}ms {:>7} {:>6}",
            name,
            n,
            mips(si),
            mips(sj),
            mips(sq),
            mips(sc),
            si / sj,
            sc / sj,
            sq / sj,
            tr * 1e3,
            regions,
            insts
        );
    }
    println!(
        "(qemu: wall clock of the whole process; jit includes its translation time; ratios > 1: the JIT is faster)"
    );

    // The honest player's first pass (checkpoints and roots) with each engine.
    use mswap::game::claim::b_for_steps;
    use mswap::game::timeline::Timeline;
    let elf = guest("loop");
    let input = iters.into_bytes();
    let p = Program::load(&elf).expect("loads");
    let (steps, ..) = mswap(&p, &input, Engine::Interp);
    let b = b_for_steps(steps);
    let mut times = Vec::new();
    for engine in [Engine::Interp, Engine::Jit] {
        set_default_engine(engine);
        let t = Instant::now();
        let tl = Timeline::new(&p, &input, b, 10);
        times.push((engine, t.elapsed().as_secs_f64(), tl));
    }
    let roots: Vec<_> = times.iter().map(|(_, _, tl)| tl.final_root()).collect();
    assert_eq!(roots[0], roots[1], "both first passes end at the same root");
    println!(
        "honest player's first pass on loop.elf ({steps} steps, b = {b}): interp {:.2} s, jit {:.2} s ({:.2}x)",
        times[0].1,
        times[1].1,
        times[0].1 / times[1].1
    );
}
