//! Progress of long work on standard error: a bar on a terminal (total,
//! percentage, rate in human units, time left), and on anything else (a
//! CI log, a file) one plain line every few seconds
//! (`MSWAP_PROGRESS_SECS`, default 5; 0 turns the lines off).

use super::output::{duration, human};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const UNKNOWN: u64 = u64::MAX;

/// Progress of one long job.
pub struct Progress {
    what: String,
    unit: &'static str,
    bar: Option<ProgressBar>,
    /// When the last plain line was printed (non-terminal only).
    plain: Option<Mutex<Instant>>,
    every: Duration,
    done: AtomicU64,
    total: AtomicU64,
    start: Instant,
}

impl Progress {
    /// Progress of `what` counted in steps, `total` of them if known.
    pub fn new(what: &str, total: Option<u64>) -> Progress {
        Progress::with_unit(what, "steps", total)
    }

    /// Progress counted in `unit` (plural, e.g. "transitions").
    pub fn with_unit(what: &str, unit: &'static str, total: Option<u64>) -> Progress {
        let every = std::env::var("MSWAP_PROGRESS_SECS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(Duration::from_secs(5), Duration::from_secs_f64);
        let terminal = std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(total.unwrap_or(0));
            bar.set_style(style(unit, total.is_some()));
            bar.set_message(what.to_string());
            bar
        });
        let now = Instant::now();
        Progress {
            what: what.to_string(),
            unit,
            bar,
            plain: (!terminal && !every.is_zero()).then(|| Mutex::new(now)),
            every,
            done: AtomicU64::new(0),
            total: AtomicU64::new(total.unwrap_or(UNKNOWN)),
            start: now,
        }
    }

    /// Adds `n` units of progress.
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(n);
        }
        if let Some(last) = &self.plain {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= self.every {
                *last = Instant::now();
                eprintln!("mswap: {}", self.line());
            }
        }
    }

    /// Units done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// The total, if known.
    pub fn total(&self) -> Option<u64> {
        Some(self.total.load(Ordering::Relaxed)).filter(|&t| t != UNKNOWN)
    }

    /// One plain progress line: `checking: 1.20 M / 5.00 M transitions
    /// (24.0%), 4.14 M/s, 9 s left`.
    pub fn line(&self) -> String {
        let done = self.done();
        let secs = self.start.elapsed().as_secs_f64();
        let rate = done as f64 / secs.max(1e-9);
        match self.total() {
            Some(total) => {
                let left = total.saturating_sub(done) as f64 / rate;
                format!(
                    "{}: {} / {} {} ({:.1}%), {}/s, {} left",
                    self.what,
                    human(done as f64),
                    human(total as f64),
                    self.unit,
                    percent(done, total),
                    human(rate),
                    duration(left)
                )
            }
            None => format!(
                "{}: {} {}, {}/s, {} so far",
                self.what,
                human(done as f64),
                self.unit,
                human(rate),
                duration(secs)
            ),
        }
    }

    /// What was done, for a summary: `1.20 M of 5.00 M transitions (24.0%) in 3 s`.
    pub fn summary(&self) -> String {
        let done = self.done();
        let took = duration(self.start.elapsed().as_secs_f64());
        match self.total() {
            Some(t) => format!(
                "{done} of {t} {} ({:.1}%) in {took}",
                self.unit,
                percent(done, t)
            ),
            None => format!("{done} {} in {took}", self.unit),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// On Ctrl-C, removes the bar and says `mswap: interrupted` then
    /// `what` of the summary (see [`super::output::on_interrupt`]).
    pub fn on_interrupt(self: &Arc<Self>, what: impl Fn(&str) -> String + Send + 'static) {
        let p = self.clone();
        super::output::on_interrupt(move || {
            p.finish();
            eprintln!("mswap: interrupted{}", what(&p.summary()));
        });
    }
}

fn percent(done: u64, total: u64) -> f64 {
    if total == 0 {
        100.0
    } else {
        (done as f64 * 100.0 / total as f64).min(100.0)
    }
}

fn style(unit: &'static str, bar: bool) -> ProgressStyle {
    let template = if bar {
        "{msg} [{bar:30}] {percent:>3}% {done}/{total} {unit}, {rate}, {left} left"
    } else {
        "{spinner} {msg}: {done} {unit}, {rate}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("done", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", human(s.pos() as f64));
        })
        .with_key("total", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", human(s.len().unwrap_or(0) as f64));
        })
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/s", human(s.per_sec()));
        })
        .with_key("left", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", duration(s.eta().as_secs_f64()));
        })
        .with_key(
            "unit",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{unit}");
            },
        )
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_total_percent_rate_and_time_left() {
        let p = Progress::with_unit("running", "steps", None);
        p.add(1_500_000);
        let l = p.line();
        assert!(l.starts_with("running: 1.50 M steps, "), "{l}");
        assert!(l.ends_with("so far"), "{l}");
        let p = Progress::with_unit("checking", "transitions", Some(6_000_000));
        p.add(1_500_000);
        let l = p.line();
        assert!(
            l.starts_with("checking: 1.50 M / 6.00 M transitions (25.0%), "),
            "{l}"
        );
        assert!(l.ends_with(" left"), "{l}");
        assert!(
            p.summary()
                .starts_with("1500000 of 6000000 transitions (25.0%) in "),
            "{}",
            p.summary()
        );
    }
}
