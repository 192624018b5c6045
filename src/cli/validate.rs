//! Checks of options that must happen before any long work, each refusal
//! one line naming the option (exit code 2).
//!
//! `check` uses [`threads`]; the game subcommands adopt the rest with a
//! line each before their first pass: `validate::b(a.b)?`,
//! `validate::levels(&a.levels, a.b)?` (and [`levels_for`] once `b` is
//! known), `validate::url("--referee", &a.referee)?`, and
//! `output::check_writable("--transcript", path)?`.

use super::output::CliError;
use mswap::rules::levels::{Level, MAX_B, two_levels, with_strides};

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

/// `--levels two` or `strides:K1[,K2...]`: each stride a power of two
/// smaller than the one before (and than `2^b` when `b` is known). Returns
/// the strides (empty for `two`).
pub fn levels(spec: &str, b: Option<u32>) -> Result<Vec<u32>, CliError> {
    let bad = |why: String| CliError::usage(format!("--levels {spec}: {why}"));
    if spec == "two" {
        return Ok(Vec::new());
    }
    let ks = spec
        .strip_prefix("strides:")
        .ok_or_else(|| bad("use `two` or `strides:K[,K2...]`".into()))?;
    let mut out = Vec::new();
    let mut above = b;
    for k in ks.split(',') {
        let k: u32 = k
            .parse()
            .map_err(|_| bad(format!("{k:?} is not a number")))?;
        if k == 0 {
            return Err(bad("a stride of 2^0 steps is one step: leave it out".into()));
        }
        match above {
            Some(limit) if k >= limit => {
                return Err(bad(match (out.is_empty(), b) {
                    (true, Some(b)) => {
                        format!("stride 2^{k} is not smaller than the claim's 2^{b} steps")
                    }
                    _ => format!("stride 2^{k} is not smaller than the one before, 2^{limit}"),
                }));
            }
            _ => {}
        }
        above = Some(k);
        out.push(k);
    }
    Ok(out)
}

/// The levels of `spec` for a claim over `2^b` steps, checked.
pub fn levels_for(spec: &str, b: u32) -> Result<Vec<Level>, CliError> {
    let ks = levels(spec, Some(b))?;
    Ok(if ks.is_empty() {
        two_levels(b)
    } else {
        with_strides(b, &ks)
    })
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
        assert_eq!(levels("two", Some(20)).unwrap(), Vec::<u32>::new());
        assert_eq!(levels("strides:10,4", Some(20)).unwrap(), vec![10, 4]);
        assert_eq!(
            levels("strides:30", None).unwrap(),
            vec![30],
            "b not known yet"
        );
        let e = refused(levels("strides:30", Some(20)));
        assert_eq!(
            e,
            "--levels strides:30: stride 2^30 is not smaller than the claim's 2^20 steps"
        );
        assert!(refused(levels("strides:4,8", None)).contains("not smaller than the one before"));
        assert!(refused(levels("strides:x", None)).contains("\"x\" is not a number"));
        assert!(refused(levels("three", None)).contains("use `two`"));
        assert!(refused(levels("strides:0", None)).contains("2^0"));
        let l = levels_for("strides:8", 20).unwrap();
        assert_eq!(
            l.iter().map(|l| l.log2).collect::<Vec<_>>(),
            vec![12, 8, mswap::micro::LOG2_USTEPS]
        );
        mswap::rules::levels::validate(&l, 20).unwrap();
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
