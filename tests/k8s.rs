//! The Kubernetes manifests of the sharded check (deploy/k8s/): validated
//! offline against the Kubernetes API schemas by `kubernetes-validate`
//! (PyPI, which ships the schemas), checked for the shape the README
//! promises (an Indexed Job whose index is the shard, as many completions
//! as shards, a shared volume for the certificates), and their container
//! commands run here as each pod would run them (the volume a scratch
//! directory), down to the merge's verdict.
//!
//! Without `kubernetes-validate` the test fails naming the install command;
//! `MSWAP_SKIP_KUBERNETES=1` skips it with a warning.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::cli::{BIN, assert_says, guest, text};

fn manifest(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/k8s")
        .join(name)
}

/// The Python `kubernetes-validate` at `exe` runs with (its `#!` line,
/// when that is a Python; else `python3`, as for a pyenv shim), which has
/// PyYAML (a dependency of it).
fn python_of(exe: &Path) -> String {
    let head = std::fs::read_to_string(exe).unwrap_or_default();
    head.lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .map(|l| l.trim().to_string())
        .filter(|l| l.contains("python"))
        .unwrap_or_else(|| "python3".into())
}

/// The documents of a YAML file, as JSON (PyYAML).
fn documents(python: &str, file: &Path) -> Vec<Value> {
    let mut words = python.split_whitespace();
    let mut cmd = Command::new(words.next().unwrap_or("python3"));
    cmd.args(words).args([
        "-c",
        "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))",
    ]);
    let o = cmd.arg(file).output().expect("python runs");
    assert!(
        o.status.success(),
        "{}: {}",
        file.display(),
        text(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON")
}

/// Kubernetes' expansion of a container's command and args: `$(NAME)` of a
/// variable in `env` becomes its value, `$$` becomes `$`, anything else
/// stays as it is.
fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(')
            && let Some(j) = r.find(')')
            && let Some((_, v)) = env.iter().find(|(k, _)| *k == r[..j])
        {
            out.push_str(v);
            rest = &r[j + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The first container of a Job's pod: its shell script (the one arg of
/// `sh -c`) and its environment.
fn container(job: &Value) -> (String, Vec<(String, String)>) {
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["command"], serde_json::json!(["/bin/sh", "-c"]), "{c}");
    let env: Vec<(String, String)> = c["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                    (s("name"), s("value"))
                })
                .collect()
        })
        .unwrap_or_default();
    let script = c["args"][0].as_str().expect("one script").to_string();
    (expand(&script, &env), env)
}

/// Runs a pod's script with `/data` in `data` and `mswap` the binary under test.
fn run_pod(
    script: &str,
    env: &[(String, String)],
    data: &Path,
    extra: &[(&str, String)],
) -> std::process::Output {
    let bin = data.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("mswap");
    if !link.exists() {
        std::os::unix::fs::symlink(BIN, &link).unwrap();
    }
    let script = script.replace("/data/", &format!("{}/", data.display()));
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script);
    cmd.env(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("sh runs")
}

#[test]
fn the_manifests_validate_and_their_pods_check_and_merge() {
    let Some(validate) = support::tools::need(
        &support::tools::KUBERNETES,
        "the_manifests_validate_and_their_pods_check_and_merge",
        "the offline validation of deploy/k8s",
    ) else {
        return;
    };
    let python = python_of(&validate);
    let (check, merge) = (manifest("check-job.yaml"), manifest("merge-job.yaml"));
    let o = Command::new(&validate)
        .args(["--strict", "--no-warn"])
        .args([&check, &merge])
        .output()
        .expect("kubernetes-validate runs");
    assert!(
        o.status.success(),
        "schema validation: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );

    // The shape: an Indexed Job over a shared volume, completions = SHARDS.
    let docs = documents(&python, &check);
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("a Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let (script, env) = container(job);
    let shards = env
        .iter()
        .find(|(k, _)| k == "SHARDS")
        .map(|(_, v)| v.clone())
        .expect("SHARDS");
    assert_eq!(
        spec["completions"].to_string(),
        shards,
        "completions = SHARDS"
    );
    assert!(script.contains("$JOB_COMPLETION_INDEX/$SHARDS"), "{script}");
    let claim = &spec["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"];
    let pvc = docs
        .iter()
        .find(|d| d["kind"] == "PersistentVolumeClaim")
        .expect("the volume's claim");
    assert_eq!(&pvc["metadata"]["name"], claim);
    assert_eq!(pvc["spec"]["accessModes"][0], "ReadWriteMany");
    let merge_docs = documents(&python, &merge);
    let (merge_script, merge_env) = container(&merge_docs[0]);
    assert!(
        merge_env.contains(&("SHARDS".into(), shards.clone())),
        "the merge's SHARDS"
    );

    // The pods' scripts, run here for 3 shards: the merge's verdict is the
    // unsharded check's.
    let data = support::scratch("k8s");
    std::fs::copy(guest("sort"), data.join("program.elf")).unwrap();
    std::fs::copy(
        support::guest_dir().join("inputs/sort.txt"),
        data.join("input"),
    )
    .unwrap();
    let three = [("SHARDS", "3".to_string())];
    for k in 0..3 {
        let mut extra = vec![("JOB_COMPLETION_INDEX", k.to_string())];
        extra.extend(three.iter().cloned());
        let o = run_pod(&script, &env, &data, &extra);
        assert!(o.status.success(), "pod {k}: {}", text(&o.stderr));
        assert!(
            data.join(format!("certificates/shard-{k}-of-3.json"))
                .is_file()
        );
    }
    let o = run_pod(&merge_script, &merge_env, &data, &three);
    assert!(o.status.success(), "merge pod: {}", text(&o.stderr));
    let whole = support::cli::mswap(
        &[
            "check",
            &guest("sort"),
            "--input",
            data.join("input").to_str().unwrap(),
        ],
        b"",
    );
    let root_line = |out: &[u8]| {
        text(out)
            .lines()
            .find(|l| l.starts_with("final root:"))
            .map(str::to_string)
    };
    assert!(
        root_line(&whole.stdout).is_some(),
        "{}",
        text(&whole.stdout)
    );
    assert_eq!(root_line(&o.stdout), root_line(&whole.stdout));
    // A missing certificate fails the merge pod, naming it.
    std::fs::remove_file(data.join("certificates/shard-1-of-3.json")).unwrap();
    let o = run_pod(&merge_script, &merge_env, &data, &three);
    assert!(!o.status.success());
    assert_says(&o.stderr, "shard-1-of-3.json");
}

#[test]
fn kubernetes_expansion_is_as_documented() {
    let env = vec![("A".to_string(), "x".to_string())];
    assert_eq!(
        expand("$(A) $$(A) $(B) $$((k + 1)) $k", &env),
        "x $(A) $(B) $((k + 1)) $k"
    );
}
