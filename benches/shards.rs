//! The cost of sharding a double-check: the CPU time of all N shards
//! (`mswap check --shard K/N`, each a process on one thread, one after the
//! other) against one unsharded `mswap check --threads 1`, for
//! N = 1, 2, 4, 16, 64. A shard pays, besides its share of the check, one
//! fast run of the whole program (to learn the run's length and keep the
//! snapshots it starts from) and a process start; the table shows how that
//! grows with N. Every merge is checked against the unsharded final root.
//!
//! ```text
//! cargo bench --bench shards
//! MSWAP_BENCH_SHARD_KB=100 cargo bench --bench shards            # a shorter run (default 400 KB of input)
//! MSWAP_BENCH_SHARD_GUESTS="sha256 rust_sha256" MSWAP_BENCH_SHARDS="1 4 16" cargo bench --bench shards
//! MSWAP_BENCH_SHARD_ENGINE=interp cargo bench --bench shards      # machine A's engine (default: the JIT)
//! ```
//!
//! CPU time is the children's user + system time (`/proc/self/stat`),
//! read before and after each whole set, so its 10 ms ticks round once
//! per set, not once per shard.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "support/mod.rs"]
mod support;

const BIN: &str = env!("CARGO_BIN_EXE_mswap");

/// User plus system CPU seconds of the children waited for.
fn children_cpu() -> f64 {
    support::children_cpu().expect("/proc/self/stat")
}

/// Runs `mswap ARGS`, which must succeed; its standard output.
fn mswap(args: &[&str]) -> Vec<u8> {
    let mut cmd = Command::new(BIN);
    if let Ok(e) = std::env::var("MSWAP_BENCH_SHARD_ENGINE") {
        cmd.args(["--engine", &e]);
    }
    let o = cmd
        .args(args)
        .env("MSWAP_PROGRESS_SECS", "0")
        .output()
        .expect("mswap runs");
    assert!(
        o.status.success(),
        "mswap {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// (CPU seconds, wall seconds) of `f`'s child processes.
fn measure<R>(f: impl FnOnce() -> R) -> (R, f64, f64) {
    let (c0, t0) = (children_cpu(), Instant::now());
    let r = f();
    (r, children_cpu() - c0, t0.elapsed().as_secs_f64())
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// One row of the table.
struct Row {
    n: u64,
    cpu: f64,
    wall: f64,
    slowest: f64,
    fast_steps: u64,
    reach: f64,
}

fn bench_guest(name: &str, input: &Path, shards: &[u64], dir: &Path) {
    let elf = support::root()
        .join("examples/guests/bin")
        .join(format!("{name}.elf"));
    let elf = s(&elf).to_string();
    let whole_args = [
        "check",
        &elf,
        "--input",
        s(input),
        "--threads",
        "1",
        "--json",
    ];
    // The unsharded check before and after the shards: the better one counts.
    let (out, cpu_a, _) = measure(|| mswap(&whole_args));
    let whole: Value = serde_json::from_slice(&out).expect("JSON");
    let run = whole["transitions"].as_u64().unwrap_or(0);
    let mut rows = Vec::new();
    for &n in shards {
        let sub = dir.join(format!("{name}-{n}"));
        std::fs::create_dir_all(&sub).expect("dir");
        let (files, cpu, wall) = measure(|| {
            (0..n)
                .map(|k| {
                    let out: PathBuf = sub.join(format!("shard-{k}-of-{n}.json"));
                    let id = format!("{k}/{n}");
                    mswap(&[
                        "check",
                        &elf,
                        "--input",
                        s(input),
                        "--shard",
                        &id,
                        "--out",
                        s(&out),
                        "--threads",
                        "1",
                    ]);
                    out
                })
                .collect::<Vec<_>>()
        });
        let mut args = vec!["check", "--json", "--merge"];
        args.extend(files.iter().map(|f| s(f)));
        let merged: Value = serde_json::from_slice(&mswap(&args)).expect("JSON");
        assert_eq!(merged["final_root"], whole["final_root"], "{name}, N = {n}");
        assert_eq!(
            merged["micro_steps"], whole["micro_steps"],
            "{name}, N = {n}"
        );
        let certs: Vec<Value> = files
            .iter()
            .map(|f| serde_json::from_slice(&std::fs::read(f).expect("read")).expect("JSON"))
            .collect();
        let sum = |k: &str| {
            certs
                .iter()
                .map(|c| c[k].as_f64().unwrap_or(0.0))
                .sum::<f64>()
        };
        rows.push(Row {
            n,
            cpu,
            wall,
            slowest: certs
                .iter()
                .map(|c| c["seconds"].as_f64().unwrap_or(0.0))
                .fold(0.0, f64::max),
            fast_steps: sum("fast_steps") as u64,
            reach: sum("reach_seconds"),
        });
        let _ = std::fs::remove_dir_all(&sub);
    }
    let (_, cpu_b, _) = measure(|| mswap(&whole_args));
    let base = cpu_a.min(cpu_b);
    println!(
        "{name}: {run} transitions; one unsharded check: {base:.2} s CPU (runs: {cpu_a:.2} s, {cpu_b:.2} s)"
    );
    println!(
        "{:>4} {:>10} {:>8} {:>10} {:>13} {:>16} {:>15}",
        "N", "CPU s", "ratio", "wall s", "slowest s", "fast steps/run", "reach+length s"
    );
    for r in &rows {
        println!(
            "{:>4} {:>10.2} {:>8.3} {:>10.2} {:>13.3} {:>16.2} {:>15.2}",
            r.n,
            r.cpu,
            r.cpu / base,
            r.wall,
            r.slowest,
            r.fast_steps as f64 / run.max(1) as f64,
            r.reach
        );
    }
    let ratios: Vec<String> = rows
        .iter()
        .map(|r| format!("N={}: {:.3}x", r.n, r.cpu / base))
        .collect();
    println!("{name}: shards' CPU / unsharded: {}", ratios.join(", "));
}

fn main() {
    support::line();
    println!("shards: the CPU of all N shards against one unsharded check (1 thread each)");
    let kb: usize = std::env::var("MSWAP_BENCH_SHARD_KB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let shards: Vec<u64> = std::env::var("MSWAP_BENCH_SHARDS")
        .unwrap_or_else(|_| "1 2 4 16 64".into())
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    let guests = std::env::var("MSWAP_BENCH_SHARD_GUESTS").unwrap_or_else(|_| "sha256".into());
    let dir = support::scratch("shards");
    std::fs::create_dir_all(&dir).expect("dir");
    // A fixed pseudo-random input (the same on every machine).
    let input = dir.join("input.bin");
    let bytes: Vec<u8> = (0..kb * 1024)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&input, bytes).expect("input");
    for g in guests.split_whitespace() {
        bench_guest(g, &input, &shards, &dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
