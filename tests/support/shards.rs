//! Helpers of the tests of sharded checks: the unsharded verdict, a merge,
//! and every tampered set the merge must refuse.

use super::cli::{BIN, mswap, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `mswap check ELF --input INPUT --json` (plus `extra`): its JSON.
pub fn unsharded(elf: &str, input: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["check", elf, "--input", path(input), "--json"];
    args.extend_from_slice(extra);
    let o = mswap(&args, b"");
    assert!(o.status.success(), "unsharded check: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("check --json is JSON")
}

/// Runs every shard of `n` with the CLI into `dir`: the certificate paths in order.
pub fn run_shards(elf: &str, input: &Path, n: u64, dir: &Path, extra: &[&str]) -> Vec<PathBuf> {
    (0..n)
        .map(|k| {
            let out = dir.join(format!("shard-{k}-of-{n}.json"));
            let shard = format!("{k}/{n}");
            let mut args = vec![
                "check",
                elf,
                "--input",
                path(input),
                "--shard",
                &shard,
                "--out",
                path(&out),
                "--threads",
                "1",
            ];
            args.extend_from_slice(extra);
            let o = mswap(&args, b"");
            assert!(o.status.success(), "shard {shard}: {}", text(&o.stderr));
            out
        })
        .collect()
}

/// `mswap check --merge FILES --json` with `args` before: exit code, JSON
/// (`Null` if none), stderr.
pub fn merge(args: &[&str], files: &[PathBuf]) -> (i32, Value, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("check").args(args).arg("--json").arg("--merge");
    cmd.args(files);
    let o = super::cli::run(&mut cmd, b"");
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), v, text(&o.stderr))
}

/// The merge of `files` matches the unsharded check `whole` on every
/// figure both print.
pub fn assert_merges_to(files: &[PathBuf], whole: &Value) -> Value {
    let (code, m, err) = merge(&[], files);
    assert_eq!(code, 0, "merge: {err}");
    for key in [
        "program",
        "input",
        "valid",
        "transitions",
        "halted_after",
        "micro_steps",
        "max_micro_steps",
        "final_root",
    ] {
        assert_eq!(m[key], whole[key], "{key}: merged vs unsharded");
    }
    assert!(whole["final_root"].is_string(), "{whole}");
    assert_eq!(m["shards"], files.len() as u64);
    assert!(m["commitment"].is_string());
    m
}

/// A path as `&str` (the tests' paths are UTF-8).
pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Reads a certificate as JSON.
pub fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).expect("certificate")).expect("JSON")
}

/// Writes `v` to `dir/name`; its path.
pub fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).expect("JSON")).expect("write");
    p
}

/// A merge that must be refused with exit 1 and a message holding every
/// one of `words` (the shard and the field).
pub fn assert_refused(what: &str, args: &[&str], files: &[PathBuf], words: &[&str]) {
    let (code, out, err) = merge(args, files);
    assert_eq!(
        code, 1,
        "{what}: refused with exit 1, got {code}: {err} {out}"
    );
    // No verdict: with --json, only the error document of a failed command.
    if out != Value::Null {
        assert!(
            out.get("valid").is_none() && out["exit"] == 1 && out["error"].is_string(),
            "{what}: no verdict printed, at most the error: {out}"
        );
    }
    for w in words {
        assert!(err.contains(w), "{what}: the error names {w:?}: {err}");
    }
}

/// [`assert_tampered_sets_refused`] with the set beside it made here: the
/// same number of shards of `elf` on `other_input` (in `dir/other`), and
/// `hello` as the other program.
pub fn assert_tampered_sets_refused_beside(
    good: &[PathBuf],
    elf: &str,
    other_input: &[u8],
    dir: &Path,
) {
    let input = dir.join("other.input");
    std::fs::write(&input, other_input).expect("the other input");
    let sub = dir.join("other");
    std::fs::create_dir_all(&sub).expect("the other set's folder");
    let other = run_shards(elf, &input, good.len() as u64, &sub, &[]);
    assert_tampered_sets_refused(good, &other[1], &super::cli::guest("hello"), dir);
}

/// Every tampered version of a good set `good` (at least 3 shards) of
/// `elf` on `input` is refused, naming the shard and the field. `other`
/// is a certificate of the same program on another input, `elf2` another
/// program; `dir` is scratch space.
pub fn assert_tampered_sets_refused(good: &[PathBuf], other: &Path, elf2: &str, dir: &Path) {
    let n = good.len();
    assert!(n >= 3);
    let name = |k: usize| good[k].display().to_string();
    let with = |k: usize, p: PathBuf| {
        let mut v = good.to_vec();
        v[k] = p;
        v
    };
    let edit = |k: usize, f: &dyn Fn(&mut Value)| {
        let mut v = read(&good[k]);
        f(&mut v);
        write(dir, &format!("tampered-{k}.json"), &v)
    };
    // Shard `k`'s certificate as `f` edits it, in place of its own.
    let edited = |what: &str, k: usize, f: &dyn Fn(&mut Value), words: &[&str]| {
        assert_refused(what, &[], &with(k, edit(k, f)), words)
    };

    // Missing: one shard left out.
    let mut missing = good.to_vec();
    missing.remove(1);
    assert_refused("missing", &[], &missing, &["shard 1 of", "missing"]);

    // Duplicated: one shard given twice in place of another.
    assert_refused(
        "duplicated",
        &[],
        &with(2, good[1].clone()),
        &["shard 1 of", "twice", &name(1)],
    );
    let mut extra = good.to_vec();
    extra.push(good[0].clone());
    assert_refused(
        "duplicated (one more)",
        &[],
        &extra,
        &["shard 0 of", "twice"],
    );

    // Altered: the end root of a shard, its range, its transitions.
    let zero = "11".repeat(32);
    edited(
        "altered end_root",
        1,
        &|v| v["end_root"] = zero.clone().into(),
        &["(shard 2)", "start_root", "does not link", "(shard 1)"],
    );
    edited(
        "unlinked",
        2,
        &|v| v["start_root"] = zero.clone().into(),
        &["(shard 2)", "start_root", "does not link"],
    );
    edited(
        "not from S_0",
        0,
        &|v| v["start_root"] = zero.clone().into(),
        &["(shard 0)", "start_root", "initial root"],
    );
    edited(
        "altered range",
        1,
        &|v| {
            v["first_step"] = (v["first_step"].as_u64().unwrap() + 1).into();
            v["transitions"] = (v["transitions"].as_u64().unwrap() - 1).into();
        },
        &["(shard 1)", "first_step"],
    );
    edited(
        "altered transitions",
        1,
        &|v| v["transitions"] = (v["transitions"].as_u64().unwrap() - 1).into(),
        &["(shard 1)", "transitions"],
    );
    edited(
        "altered verdict",
        2,
        &|v| v["valid"] = false.into(),
        &["(shard 2)", "valid"],
    );
    edited(
        "altered run length",
        0,
        &|v| v["run_transitions"] = (v["run_transitions"].as_u64().unwrap() + 7).into(),
        &["(shard 0)", "run_transitions"],
    );
    edited(
        "index past N",
        1,
        &|v| v["shard"] = (n as u64).into(),
        &["shard", "is not below N"],
    );

    // Another program, another input.
    edited(
        "another program",
        1,
        &|v| v["program"] = zero.clone().into(),
        &["(shard 1)", "program"],
    );
    assert_refused(
        "another input",
        &[],
        &with(1, other.to_path_buf()),
        &["(shard 1)", "input"],
    );
    edited(
        "another microcode",
        2,
        &|v| v["microcode"] = zero.clone().into(),
        &["(shard 2)", "microcode"],
    );
    // The right certificates, but the merge is given another program.
    assert_refused(
        "merged with another ELF",
        &[elf2],
        good,
        &["(shard 0)", "program"],
    );

    // Wrong N: a shard of another split of the same run.
    edited(
        "wrong N",
        2,
        &|v| v["shards"] = (n as u64 * 2).into(),
        &["(shard 2)", "shards"],
    );

    // Not a certificate at all: a usage error (exit 2), naming the file.
    let junk = dir.join("junk.json");
    std::fs::write(&junk, b"{\"format\": 1}").expect("write");
    let (code, _, err) = merge(&[], &with(1, junk));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("junk.json") && err.contains("not a shard certificate"),
        "{err}"
    );
}
