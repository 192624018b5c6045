//! What `statetest` prints: one JSON line per case (`--json`), or a table
//! per folder and the failures with their reasons.

use crate::fixture::Case;
use crate::runner::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One case's line of `statetest --json`.
#[derive(Debug, Serialize)]
pub struct JsonLine<'a> {
    /// The fixture file, as found under the paths given.
    pub file: String,
    /// The test's name.
    pub name: &'a str,
    /// The fork.
    pub fork: &'a str,
    /// The position in the fork's post list.
    pub index: usize,
    /// Whether the case passes.
    pub pass: bool,
    /// A-steps the guest ran (0 if the case could not be encoded).
    pub steps: u64,
    /// The post-state root the guest computed (null if it printed none).
    pub hash: Option<&'a str>,
    /// The logs hash the guest computed (null if it printed none).
    pub logs: Option<&'a str>,
}

impl<'a> JsonLine<'a> {
    /// The line of `case` with `verdict`.
    pub fn new(case: &'a Case, verdict: &'a Verdict) -> JsonLine<'a> {
        let run = verdict.run.as_ref();
        JsonLine {
            file: case.file.display().to_string(),
            name: &case.name,
            fork: &case.fork,
            index: case.index,
            pass: verdict.pass,
            steps: run.map_or(0, |r| r.steps),
            hash: run.and_then(|r| r.state_root.as_deref()),
            logs: run.and_then(|r| r.logs_hash.as_deref()),
        }
    }
}

/// Totals of one folder.
#[derive(Debug, Default, Clone)]
pub struct FolderTotals {
    /// Cases run.
    pub cases: usize,
    /// Cases that pass.
    pub passed: usize,
    /// A-steps of every case.
    pub steps: Vec<u64>,
}

/// The summary table: per folder (the fixture file's directory), the cases,
/// how many pass and fail, and the A-steps per case (median and most).
pub fn table(results: &[(Case, Verdict)]) -> String {
    let mut folders: BTreeMap<String, FolderTotals> = BTreeMap::new();
    for (case, v) in results {
        let folder = case
            .file
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let t = folders.entry(folder).or_default();
        t.cases += 1;
        t.passed += usize::from(v.pass);
        if let Some(r) = &v.run {
            t.steps.push(r.steps);
        }
    }
    let width = folders.keys().map(String::len).max().unwrap_or(6).max(6);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<width$}  {:>6}  {:>6}  {:>6}  {:>14}  {:>14}",
        "folder", "cases", "pass", "fail", "median steps", "most steps"
    );
    let mut all = FolderTotals::default();
    for (folder, t) in &folders {
        let _ = writeln!(s, "{}", row(folder, t, width));
        all.cases += t.cases;
        all.passed += t.passed;
        all.steps.extend(&t.steps);
    }
    let _ = writeln!(s, "{}", row("all", &all, width));
    s
}

fn row(name: &str, t: &FolderTotals, width: usize) -> String {
    let mut steps = t.steps.clone();
    steps.sort_unstable();
    let median = steps.get(steps.len() / 2).copied().unwrap_or(0);
    let most = steps.last().copied().unwrap_or(0);
    format!(
        "{name:<width$}  {:>6}  {:>6}  {:>6}  {median:>14}  {most:>14}",
        t.cases,
        t.passed,
        t.cases - t.passed
    )
}
