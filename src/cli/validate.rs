//! Checks of options that must happen before any long work, each refusal
//! one line naming the option (exit code 2).
//!
//! `check` uses [`threads`]; the game subcommands adopt the rest with a
//! line each before their first pass: `validate::b(a.b)?`,
//! `validate::levels(&a.levels, a.b)?` (and [`levels_for`] once `b` is
//! known), `validate::url("--referee", &a.referee)?`, and
//! `output::check_writable("--transcript", path)?`.

use super::output::CliError;
use mswap::rules::levels::{
    DEFAULT_MICRO_K, DEFAULT_STEPS_K, Level, MAX_B, MAX_FAN, fan_ok, with_fans, with_strides,
};

/// The most worker threads `--threads` may ask for: 4 per core.
pub fn max_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * 4
}

/// Refuses a thread count that is zero or far beyond the machine.
pub fn threads(n: Option<usize>) -> Result<(), CliError> {
    match n {
        Some(0) => Err(CliError::usage("--threads 0: at least 1")),
        Some(n) if n > max_threads() => Err(CliError::usage(format!(
            "--threads {n}: at most {} on this machine (4 per core)",
            max_threads()
        ))),
        _ => Ok(()),
    }
}

/// `--b`: a claim covers `2^b` steps, `1 <= b <= MAX_B`.
pub fn b(b: Option<u32>) -> Result<(), CliError> {
    match b {
        Some(b) if b == 0 || b > MAX_B => Err(CliError::usage(format!(
            "--b {b}: from 1 to {MAX_B} (a claim covers 2^b steps)"
        ))),
        _ => Ok(()),
    }
}

/// The levels `--levels` asks for: the strides of extra steps levels and
/// the fan-out of the steps and the micro levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelSpec {
    /// Strides (log2) of extra steps levels; empty: one steps level.
    pub strides: Vec<u32>,
    /// Fan-out of every steps level.
    pub steps_k: u32,
    /// Fan-out of every micro level.
    pub micro_k: u32,
}

impl LevelSpec {
    /// Without `--levels`: one steps level and one micro level, with the
    /// default fan-outs.
    pub fn default_spec() -> LevelSpec {
        LevelSpec {
            strides: Vec::new(),
            steps_k: DEFAULT_STEPS_K,
            micro_k: DEFAULT_MICRO_K,
        }
    }

    /// The level list for a claim over `2^b` steps.
    pub fn levels(&self, b: u32) -> Vec<Level> {
        with_fans(with_strides(b, &self.strides), self.steps_k, self.micro_k)
    }
}

/// The usage of `--levels`.
const LEVELS_USAGE: &str =
    "use a comma-separated list of `two`, `strides:K[,K2...]`, `steps:k=N`, `micro:k=N`";

/// `--levels`: a comma-separated list of terms, `two` (one steps level,
/// one micro level), `strides:K1[,K2...]` (extra steps levels of strides
/// `2^K1`, `2^K2`, ...: each a power of two smaller than the one before and
/// than `2^b` when `b` is known), `steps:k=N` and `micro:k=N` (the fan-out
/// of the steps or micro levels, a power of two from 2 to `MAX_FAN`; 2
/// where the list does not say). Without `--levels` (`None`): the default
/// fan-outs, [`LevelSpec::default_spec`].
pub fn levels(spec: Option<&str>, b: Option<u32>) -> Result<LevelSpec, CliError> {
    let Some(spec) = spec else {
        return Ok(LevelSpec::default_spec());
    };
    let bad = |why: String| CliError::usage(format!("--levels {spec}: {why}"));
    let mut out = LevelSpec {
        strides: Vec::new(),
        steps_k: 2,
        micro_k: 2,
    };
    let mut above = b;
    let mut in_strides = false;
    for term in spec.split(',') {
        let fan = |kind: &str| -> Option<Result<u32, CliError>> {
            let n = term.strip_prefix(kind)?.strip_prefix(":k=")?;
            Some(match n.parse::<u32>() {
                Ok(k) if fan_ok(k) => Ok(k),
                _ => Err(bad(format!(
                    "{kind} fan-out {n:?} is not a power of two between 2 and {MAX_FAN}"
                ))),
            })
        };
        if term == "two" {
            in_strides = false;
            continue;
        }
        if let Some(k) = fan("steps") {
            out.steps_k = k?;
            in_strides = false;
            continue;
        }
        if let Some(k) = fan("micro") {
            out.micro_k = k?;
            in_strides = false;
            continue;
        }
        let k = match term.strip_prefix("strides:") {
            Some(k) => {
                in_strides = true;
                k
            }
            None if in_strides => term,
            None => return Err(bad(LEVELS_USAGE.into())),
        };
        let k: u32 = k
            .parse()
            .map_err(|_| bad(format!("{k:?} is not a number")))?;
        if k == 0 {
            return Err(bad("a stride of 2^0 steps is one step: leave it out".into()));
        }
        match above {
            Some(limit) if k >= limit => {
                return Err(bad(match (out.strides.is_empty(), b) {
                    (true, Some(b)) => {
                        format!("stride 2^{k} is not smaller than the claim's 2^{b} steps")
                    }
                    _ => format!("stride 2^{k} is not smaller than the one before, 2^{limit}"),
                }));
            }
            _ => {}
        }
        above = Some(k);
        out.strides.push(k);
    }
    Ok(out)
}

/// The levels of `spec` for a claim over `2^b` steps, checked.
pub fn levels_for(spec: Option<&str>, b: u32) -> Result<Vec<Level>, CliError> {
    Ok(levels(spec, Some(b))?.levels(b))
}

/// A referee's URL: `http://HOST:PORT` (a trailing `/` allowed), checked
/// by the client's one rule ([`mswap::referee::client::check_url`]). Returns
/// it without the trailing `/`.
pub fn url(option: &str, s: &str) -> Result<String, CliError> {
    use mswap::players::client::ClientError;
    use mswap::referee::client::check_url;
    check_url(s).map_err(|e| match e {
        ClientError::Url { reason, .. } => CliError::usage(format!("{option} {s}: {reason}")),
        other => CliError::usage(format!("{option} {s}: {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(r: Result<impl std::fmt::Debug, CliError>) -> String {
        let e = r.expect_err("refused");
        assert_eq!(e.code, 2, "{}", e.msg);
        e.msg
    }

    #[test]
    fn b_and_levels() {
        assert!(b(None).is_ok() && b(Some(20)).is_ok() && b(Some(MAX_B)).is_ok());
        assert!(refused(b(Some(70))).starts_with("--b 70: from 1 to 48"));
        assert!(refused(b(Some(0))).starts_with("--b 0:"));
        let strides = |s: &str, b| levels(Some(s), b).map(|l| l.strides);
        assert_eq!(strides("two", Some(20)).unwrap(), Vec::<u32>::new());
        assert_eq!(strides("strides:10,4", Some(20)).unwrap(), vec![10, 4]);
        assert_eq!(
            strides("strides:30", None).unwrap(),
            vec![30],
            "b not known yet"
        );
        let e = refused(levels(Some("strides:30"), Some(20)));
        assert_eq!(
            e,
            "--levels strides:30: stride 2^30 is not smaller than the claim's 2^20 steps"
        );
        assert!(
            refused(levels(Some("strides:4,8"), None)).contains("not smaller than the one before")
        );
        assert!(refused(levels(Some("strides:x"), None)).contains("\"x\" is not a number"));
        assert!(refused(levels(Some("three"), None)).contains("use a comma-separated list"));
        assert!(refused(levels(Some("strides:0"), None)).contains("2^0"));
        let l = levels_for(Some("strides:8"), 20).unwrap();
        assert_eq!(
            l.iter().map(|l| l.log2).collect::<Vec<_>>(),
            vec![12, 8, mswap::micro::LOG2_USTEPS]
        );
        assert!(l.iter().all(|l| l.k == 2), "the old syntax is binary");
        mswap::rules::levels::validate(&l, 20).unwrap();
    }

    #[test]
    fn fan_outs() {
        let spec = |s: &str| levels(Some(s), Some(30)).unwrap();
        assert_eq!(
            spec("steps:k=16,micro:k=8"),
            LevelSpec {
                strides: vec![],
                steps_k: 16,
                micro_k: 8
            }
        );
        assert_eq!(
            spec("strides:12,4,steps:k=32"),
            LevelSpec {
                strides: vec![12, 4],
                steps_k: 32,
                micro_k: 2
            }
        );
        assert_eq!(spec("micro:k=4").steps_k, 2);
        assert_eq!(levels(None, Some(30)).unwrap(), LevelSpec::default_spec());
        let l = levels_for(Some("strides:10,steps:k=4,micro:k=8"), 30).unwrap();
        assert_eq!(
            l.iter().map(|l| (l.log2, l.k)).collect::<Vec<_>>(),
            vec![(20, 4), (10, 4), (mswap::micro::LOG2_USTEPS, 8)]
        );
        mswap::rules::levels::validate(&l, 30).unwrap();
        for bad in [
            "steps:k=3",
            "micro:k=128",
            "steps:k=1",
            "steps:k=x",
            "micro:k=",
        ] {
            let e = refused(levels(Some(bad), None));
            assert!(
                e.starts_with(&format!("--levels {bad}: "))
                    && e.contains("power of two between 2 and 64"),
                "{e}"
            );
        }
        assert!(refused(levels(Some("steps:k=16,9"), None)).contains("use a comma-separated list"));
    }

    #[test]
    fn urls() {
        assert_eq!(
            url("--referee", "http://127.0.0.1:4000/").unwrap(),
            "http://127.0.0.1:4000"
        );
        assert!(url("--referee", "http://localhost:80").is_ok());
        assert!(url("--referee", "http://[::1]:4000").is_ok());
        for bad in [
            "127.0.0.1:4000",
            "https://x:1",
            "http://:4000",
            "http://host",
            "http://host:0",
            "http://host:99999",
            "http://host:4000/games",
            "http://u@host:1",
            "http://[::1]",
        ] {
            assert!(refused(url("--referee", bad)).starts_with(&format!("--referee {bad}: ")));
        }
    }

    #[test]
    fn threads_are_capped() {
        assert!(threads(None).is_ok() && threads(Some(1)).is_ok());
        assert!(threads(Some(max_threads())).is_ok());
        assert!(refused(threads(Some(0))).contains("at least 1"));
        assert!(refused(threads(Some(100_000))).starts_with("--threads 100000: at most "));
    }
}
