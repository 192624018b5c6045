//! The sharded double-check on a real Slurm: a single-node cluster from
//! Debian's packages (munge, slurmctld, slurmd, slurm-client) brought up by
//! deploy/slurm/local-up.sh in a directory of its own, the job array of
//! deploy/slurm/check.sbatch over 4 shards, the merge against the unsharded
//! check, and the tampered sets refused. Everything the test started is
//! stopped at the end (deploy/slurm/local-down.sh), also on failure.
//!
//! Without Slurm the test fails naming the package and the command that
//! installs it; `MSWAP_SKIP_SLURM=1` skips it with a warning.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::cli::{BIN, guest, text};
use support::shards::{assert_merges_to, assert_tampered_sets_refused_beside, path, unsharded};

/// How long the array may take, queueing included.
const JOB_TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the process runs as root (slurmd must).
fn root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// The local cluster: stopped (and its job cancelled) when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    job: Option<String>,
}

impl Cluster {
    fn up(dir: &Path) -> Cluster {
        let (ctld, slurmd) = (support::cli::free_port(), support::cli::free_port());
        let o = Command::new(repo().join("deploy/slurm/local-up.sh"))
            .arg(dir)
            .env("SLURMCTLD_PORT", ctld.to_string())
            .env("SLURMD_PORT", slurmd.to_string())
            .output()
            .expect("deploy/slurm/local-up.sh runs");
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
            job: None,
        };
        assert!(
            o.status.success(),
            "the local Slurm comes up: {}{}\n{}",
            text(&o.stdout),
            text(&o.stderr),
            cluster.logs()
        );
        cluster
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf).current_dir(&self.dir);
        c
    }

    /// The daemons' logs, for a failure's message.
    fn logs(&self) -> String {
        ["slurmctld.log", "slurmd.log"]
            .iter()
            .map(|f| {
                let t = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
                let tail: Vec<&str> = t.lines().rev().take(30).collect();
                format!(
                    "--- {f} (last lines)\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The job array's tasks and their states.
    fn states(&self, job: &str) -> Vec<(String, String)> {
        let o = self
            .cmd("squeue")
            .args(["-h", "-r", "-t", "all", "-o", "%i %T", "-j", job])
            .output()
            .expect("squeue runs");
        text(&o.stdout)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(a, b)| (a.to_string(), b.trim().to_string()))
            .collect()
    }

    /// Waits (bounded) until the `n` tasks of `job` have ended; their states.
    fn wait(&self, job: &str, n: usize) -> Vec<(String, String)> {
        let start = Instant::now();
        loop {
            let s = self.states(job);
            let ended = s
                .iter()
                .filter(|(_, st)| {
                    !matches!(
                        st.as_str(),
                        "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING"
                    )
                })
                .count();
            if s.len() == n && ended == n {
                return s;
            }
            assert!(
                start.elapsed() < JOB_TIMEOUT,
                "job {job} did not end within {JOB_TIMEOUT:?}: {s:?}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(job) = &self.job {
            let _ = self.cmd("scancel").arg(job).output();
        }
        let o = Command::new(repo().join("deploy/slurm/local-down.sh"))
            .arg(&self.dir)
            .output();
        if let Ok(o) = o {
            eprint!("{}", text(&o.stderr));
        }
    }
}

#[test]
fn the_job_array_on_a_local_slurm_merges_to_the_unsharded_check() {
    let test = "the_job_array_on_a_local_slurm_merges_to_the_unsharded_check";
    if support::tools::need(
        &support::tools::SLURM,
        test,
        "the job array on a real Slurm",
    )
    .is_none()
    {
        return;
    }
    assert!(
        root(),
        "a local Slurm must be started as root (slurmd runs jobs as their users): \
         run the tests as root, or set MSWAP_SKIP_SLURM=1 to skip this test"
    );

    // Under target/ (not /tmp): a directory of this test's own, kept for a
    // look at the logs after a failure.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    // About 1.7 M transitions: each of the 4 shards checks for a second or so.
    let input = dir.join("input.bin");
    let bytes: Vec<u8> = (0u32..20_000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&input, bytes).unwrap();
    let elf = guest("sha256");
    let outdir = dir.join("certificates");

    let mut cluster = Cluster::up(&dir.join("cluster"));
    let o = cluster
        .cmd("sbatch")
        .env("MSWAP", BIN)
        .args(["--parsable", "--array=0-3"])
        .arg(repo().join("deploy/slurm/check.sbatch"))
        .args([elf.as_str(), path(&input), path(&outdir)])
        .output()
        .expect("sbatch runs");
    assert!(
        o.status.success(),
        "sbatch: {}{}",
        text(&o.stderr),
        cluster.logs()
    );
    let job = text(&o.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    assert!(!job.is_empty(), "sbatch --parsable names the job");
    cluster.job = Some(job.clone());
    let states = cluster.wait(&job, 4);
    let task_logs = || {
        (0..4)
            .map(|k| {
                let f = cluster.dir.join(format!("mswap-check-{job}_{k}.out"));
                format!(
                    "--- {}\n{}",
                    f.display(),
                    std::fs::read_to_string(&f).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        states.iter().all(|(_, s)| s == "COMPLETED"),
        "every task completes: {states:?}\n{}",
        task_logs()
    );
    let files: Vec<PathBuf> = (0..4)
        .map(|k| outdir.join(format!("shard-{k}-of-4.json")))
        .collect();
    for f in &files {
        assert!(f.is_file(), "{} is written\n{}", f.display(), task_logs());
    }

    let whole = unsharded(&elf, &input, &[]);
    assert_merges_to(&files, &whole);

    // The tampered sets, with a shard of another input checked beside.
    assert_tampered_sets_refused_beside(&files, &elf, b"another input", &dir);
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}
