//! `mswap check --shard K/N --out FILE.json` and `mswap check --merge`: a
//! set of shard certificates merges to the unsharded check's verdict and
//! final root, for several N, and every tampered set is refused naming the
//! shard and the field. (The same on a real Slurm: tests/slurm.rs.)

mod support;

use mswap::check::Options;
use mswap::check::merge::{MergeError, merge};
use mswap::check::shard::{Certificate, ShardId, ShardOptions, check_shard};
use mswap::elf::Program;
use mswap::micro::microcode::microcode;
use support::cli::{assert_says, guest, mswap, text};
use support::shards::{
    assert_merges_to, assert_refused, assert_tampered_sets_refused_beside, merge as merge_cli,
    path, read, run_shards, unsharded, write,
};

fn sort_input() -> std::path::PathBuf {
    support::guest_dir().join("inputs/sort.txt")
}

#[test]
fn shards_merge_to_the_unsharded_verdict_and_final_root() {
    let dir = support::scratch("shards-merge");
    let (elf, input) = (guest("sort"), sort_input());
    let whole = unsharded(&elf, &input, &[]);
    let mut commitments = Vec::new();
    for n in [1u64, 2, 3, 4, 7] {
        let sub = dir.join(format!("n{n}"));
        std::fs::create_dir_all(&sub).unwrap();
        let files = run_shards(&elf, &input, n, &sub, &[]);
        // Any order.
        let mut shuffled = files.clone();
        shuffled.reverse();
        let m = assert_merges_to(&shuffled, &whole);
        commitments.push(m["commitment"].clone());
        // The certificates name the ELF and input by path: the merge needs
        // no more, and takes them given too.
        let (code, m2, err) = merge_cli(&[&elf, "--input", path(&input)], &files);
        assert_eq!(code, 0, "{err}");
        assert_eq!(m2["commitment"], m["commitment"]);
    }
    commitments.dedup();
    assert_eq!(commitments.len(), 5, "each split is named by its own hash");
}

#[test]
fn a_capped_run_and_more_shards_than_transitions_merge_too() {
    let dir = support::scratch("shards-cap");
    let (elf, input) = (guest("sort"), sort_input());
    let whole = unsharded(&elf, &input, &["--max-steps", "1000"]);
    let files = run_shards(&elf, &input, 5, &dir, &["--max-steps", "1000"]);
    assert_merges_to(&files, &whole);
    // 9 transitions in 12 shards: three are empty and link to themselves.
    let whole = unsharded(&elf, &input, &["--max-steps", "9"]);
    let sub = dir.join("tiny");
    std::fs::create_dir_all(&sub).unwrap();
    let files = run_shards(&elf, &input, 12, &sub, &["--max-steps", "9"]);
    let empty = files.iter().filter(|f| read(f)["transitions"] == 0).count();
    assert_eq!(empty, 3);
    assert_merges_to(&files, &whole);
    // An empty range ends where it starts.
    let k = files
        .iter()
        .position(|f| read(f)["transitions"] == 0)
        .unwrap();
    let mut v = read(&files[k]);
    v["end_root"] = "33".repeat(32).into();
    let mut moved = files.clone();
    moved[k] = write(&sub, "empty.json", &v);
    assert_refused(
        "empty range moved",
        &[],
        &moved,
        &[&format!("(shard {k})"), "end_root", "empty range"],
    );
    // A shard of the uncapped run is not one of this set.
    let other = run_shards(&elf, &input, 12, &dir, &[]);
    let mut mixed = files.clone();
    mixed[4] = other[4].clone();
    assert_refused(
        "another cap",
        &[],
        &mixed,
        &["(shard 4)", "run_transitions"],
    );
}

#[test]
fn every_tampered_set_is_refused_naming_the_shard_and_the_field() {
    let dir = support::scratch("shards-tamper");
    let (elf, input) = (guest("sort"), sort_input());
    let good = run_shards(&elf, &input, 4, &dir, &[]);
    assert_tampered_sets_refused_beside(&good, &elf, b"5 3 9 1 7\n", &dir);
}

#[test]
fn a_shard_with_a_mismatch_makes_the_merged_verdict_a_mismatch() {
    let dir = support::scratch("shards-mismatch");
    let (elf, input) = (guest("sort"), sort_input());
    let files = run_shards(&elf, &input, 4, &dir, &[]);
    // Shard 2 as a failing shard writes it: no end root, the mismatch.
    let mut v = read(&files[2]);
    let step = v["first_step"].as_u64().unwrap() + 3;
    v["valid"] = false.into();
    v["end_root"] = serde_json::Value::Null;
    v["transitions"] = 0.into();
    v["mismatch"] = serde_json::json!({
        "step": step, "pc": 4096, "instruction": "0x00000013 addi x0, x0, 0",
        "difference": "A and AB disagree on x5"
    });
    let mut set = files.clone();
    set[2] = write(&dir, "failed-2.json", &v);
    // Shard 3 need not link to a failed shard.
    let mut v3 = read(&files[3]);
    v3["start_root"] = "22".repeat(32).into();
    set[3] = write(&dir, "after-3.json", &v3);
    let (code, m, err) = merge_cli(&[], &set);
    assert_eq!(code, 1, "{err}");
    assert_eq!(m["valid"], false);
    assert_eq!(m["final_root"], serde_json::Value::Null);
    assert_eq!(m["mismatch"]["shard"], 2);
    assert_eq!(m["mismatch"]["step"], step);
    assert!(
        err.contains("double-check failed") && err.contains("shard 2"),
        "{err}"
    );
    // Its step must lie in its range.
    v["mismatch"]["step"] = 0.into();
    set[2] = write(&dir, "failed-2.json", &v);
    assert_refused("mismatch outside", &[], &set, &["(shard 2)", "mismatch"]);
}

/// A genuinely failing shard: machine A's engine mistranslates one branch,
/// and the shard's certificate says where; the merge reports it.
#[test]
fn a_flawed_engine_in_one_shard_is_reported_by_the_merge() {
    use mswap::fast::Machine;
    use mswap::fast::isa::{Op, decode};
    use mswap::fast::jit::Engine;
    if !mswap::fast::jit::available() {
        eprintln!("warning: no JIT on this platform: the flawed-engine shard is not tested");
        return;
    }
    let (elf, input) = support::guest_elf("sort");
    let program = Program::load(&elf).unwrap();
    // The first conditional branch after step 3000.
    let mut m = Machine::with_engine(program.initial_state(&input), Engine::Interp);
    m.run(3000);
    loop {
        let pc = m.state().pc();
        let op = decode(mswap::fast::fetch(m.state(), pc).unwrap_or(0)).op;
        if matches!(
            op,
            Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
        ) {
            break;
        }
        m.run(1);
    }
    let pc = m.state().pc();
    let run = |k: u64, engine: Engine| -> (String, Certificate) {
        let opts = ShardOptions {
            id: ShardId::new(k, 2).unwrap(),
            max_steps: None,
            check: Options {
                engine,
                ..Options::default()
            },
            on_range: None,
        };
        let c = check_shard(&program, &input, &opts, microcode(), None, None);
        (format!("shard-{k}"), c)
    };
    let good = [run(0, Engine::Interp), run(1, Engine::Interp)];
    let whole = merge(&good, &program, &input, microcode()).expect("merges");
    assert!(whole.valid);
    let bad = run(1, Engine::FlawedJit(pc));
    // Shard 1 covers the second half of the run (about 5000 steps), where
    // the branch runs.
    assert!(bad.1.first_step < 3000, "{:?}", bad.1);
    assert!(!bad.1.valid, "the flaw at {pc:#x} is caught: {:?}", bad.1);
    let m = merge(&[good[0].clone(), bad], &program, &input, microcode()).expect("one verdict");
    assert!(!m.valid);
    let (k, mm) = m.mismatch.expect("the mismatch");
    assert_eq!(k, 1);
    assert!(mm.difference.contains("engine"), "{}", mm.difference);
    assert_eq!(m.final_root, None);
    // And an empty set is no verdict.
    assert_eq!(
        merge(&[], &program, &input, microcode()),
        Err(Box::new(MergeError::Empty))
    );
}

#[test]
fn shard_options_are_checked_before_any_work() {
    let dir = support::scratch("shards-usage");
    let elf = guest("sort");
    let out = dir.join("c.json");
    for (args, words) in [
        (vec!["--shard", "4/4", "--out", path(&out)], "not below N"),
        (vec!["--shard", "0/0", "--out", path(&out)], "N is 0"),
        (vec!["--shard", "x", "--out", path(&out)], "is not K/N"),
        (vec!["--shard", "0/4"], "--out"),
        (vec!["--out", path(&out)], "--shard"),
    ] {
        let mut a = vec!["check", elf.as_str()];
        a.extend(args.iter().copied());
        let o = mswap(&a, b"");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(words),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
    let o = mswap(
        &[
            "check",
            elf.as_str(),
            "--shard",
            "0/2",
            "--out",
            "/nonexistent-dir/c.json",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_says(&o.stderr, "--out");
    let o = mswap(&["check", "--merge"], b"");
    assert_eq!(o.status.code(), Some(2));
}
