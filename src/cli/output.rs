//! What every subcommand shares about its output: the exit codes and the
//! one-line error ([`CliError`]) each failure ends with, printing
//! that ends quietly on a closed pipe, JSON documents, files written whole
//! (`-` for standard output), and Ctrl-C.
//!
//! A subcommand adopts it with a few lines:
//! - print with `outln!` instead of `println!`
//!   (a closed pipe then ends the process like `head` ends `cat`; plain
//!   `println!` is caught by the panic hook of [`install`] as well);
//! - return `Ok(Exit::Negative.code())` for a negative verdict (lost game,
//!   invalid proof) and build errors with [`CliError::usage`] /
//!   [`CliError::io`] so each failure has its documented code;
//! - with `--json`, print the result once with [`json`];
//! - around long work, [`on_interrupt`] registers what to say if Ctrl-C
//!   stops it (the process then exits with 130).

use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// The process exit codes of `mswap` (shown by `--help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The honest result: the run halted normally, the check found no
    /// mismatch, the proof or transcript is valid, the game was won.
    Ok = 0,
    /// A negative verdict: a mismatch, an invalid proof or transcript, a lost game.
    Negative = 1,
    /// Usage: a bad option or argument, or a file given that is not what
    /// it should be (not an ELF file, ...); nothing was done.
    Usage = 2,
    /// I/O or network: a file cannot be read or written, a peer cannot be reached.
    Io = 3,
    /// Stopped by Ctrl-C (SIGINT) after printing what was done so far.
    Interrupted = 130,
}

impl Exit {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A failure the CLI reports in one line.
#[derive(Debug)]
pub struct CliError {
    /// The message.
    pub msg: String,
    /// The exit code.
    pub code: i32,
}

impl CliError {
    /// A bad option or argument, or a file that is not what it should be (exit code 2).
    pub fn usage(msg: impl Into<String>) -> CliError {
        CliError {
            msg: msg.into(),
            code: Exit::Usage.code(),
        }
    }

    /// A file that cannot be read or written, a peer that cannot be reached (exit code 3).
    pub fn io(msg: impl Into<String>) -> CliError {
        CliError {
            msg: msg.into(),
            code: Exit::Io.code(),
        }
    }

    /// A negative verdict: a mismatch, an invalid proof, a lost game (exit code 1).
    pub fn negative(msg: impl Into<String>) -> CliError {
        CliError {
            msg: msg.into(),
            code: Exit::Negative.code(),
        }
    }
}

/// Any other error (the library's: a referee that cannot be reached or
/// refuses, a file that cannot be written, ...): exit code 3. Usage errors
/// and negative verdicts use [`CliError::usage`] and [`CliError::negative`].
impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError {
            msg: e.to_string(),
            code: Exit::Io.code(),
        }
    }
}

/// The exit codes, for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    the honest result: valid proof or transcript, no mismatch, game won
  1    a negative verdict: invalid proof or transcript, a mismatch, game lost
  2    usage: a bad option or argument, or a file that is not what it should be
  3    I/O or network: a file cannot be read or written, a peer cannot be reached
  130  interrupted by Ctrl-C (after a summary of what was done)
  141  standard output was closed (as `cat` in `cat FILE | head -1`): no message
  run: the guest's own exit code, 124 if --max-steps stopped it, and
       128 + the signal Linux would send on a fault (as qemu-riscv64)";

/// Prints a line to standard output; a closed pipe ends the process quietly.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::cli::output::write_out(format_args!("{}\n", format_args!($($t)*)))
    };
}
pub(crate) use outln;

/// Writes to standard output: on a closed pipe the process ends as if
/// killed by SIGPIPE (like coreutils: no message, status 141 in a shell);
/// any other error is one line and exit code 3.
pub fn write_out(args: std::fmt::Arguments) {
    check_stdout_open();
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.flush()) {
        stdout_failed(e);
    }
}

/// Writes bytes to standard output (see [`write_out`]).
pub fn write_out_bytes(bytes: &[u8]) {
    check_stdout_open();
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|_| out.flush()) {
        stdout_failed(e);
    }
}

/// Whether the process started with standard output closed
/// (`mswap root ... >&-`). Rust's runtime then puts `/dev/null` there
/// (opened read-write), so every write would seem to succeed; a shell's
/// `> /dev/null` opens it write-only, which this tells apart.
#[cfg(target_os = "linux")]
fn stdout_was_closed() -> bool {
    let null = std::fs::read_link("/proc/self/fd/1").is_ok_and(|p| p == Path::new("/dev/null"));
    let flags = std::fs::read_to_string("/proc/self/fdinfo/1")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        });
    null && flags.is_some_and(|f| f & 0o3 == 0o2)
}

#[cfg(not(target_os = "linux"))]
fn stdout_was_closed() -> bool {
    false
}

/// Whether standard output was closed when the process started.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Fails like a write to a closed pipe would if standard output was
/// closed at start (std would silently drop the write).
fn check_stdout_open() {
    if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        stdout_failed(std::io::Error::from_raw_os_error(9)); // EBADF
    }
}

fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        closed_pipe();
    }
    eprintln!("mswap: cannot write to standard output: {e}");
    std::process::exit(Exit::Io.code());
}

/// Ends the process as if killed by SIGPIPE, which is what a reader that
/// closed the pipe expects (and what `set -o pipefail` scripts test for).
pub fn closed_pipe() -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGPIPE);
    std::process::exit(141);
}

/// Prints one JSON document (one line) on standard output.
pub fn json<T: Serialize>(v: &T) {
    match serde_json::to_string(v) {
        Ok(s) => write_out(format_args!("{s}\n")),
        Err(e) => {
            eprintln!("mswap: cannot encode the result as JSON: {e}");
            std::process::exit(Exit::Io.code());
        }
    }
}

/// Whether a command printed its final JSON document (see [`json_final`]).
static FINAL_JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints a command's final JSON document on a failure (as [`json`]);
/// the CLI then prints no generic error document of its own.
pub fn json_final<T: Serialize>(v: &T) {
    FINAL_JSON.store(true, std::sync::atomic::Ordering::Relaxed);
    json(v);
}

/// Whether [`json_final`] was called.
pub fn final_json_printed() -> bool {
    FINAL_JSON.load(std::sync::atomic::Ordering::Relaxed)
}

/// Writes `bytes` to `path` whole (a temporary name, then renamed, so a
/// failure never leaves a half-written file), or to standard output for `-`.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    if path.as_os_str() == "-" {
        write_out_bytes(bytes);
        return Ok(());
    }
    let tmp = temp_name(path);
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::io(format!("cannot write {}: {e}", path.display()))
        })
}

fn temp_name(path: &Path) -> std::path::PathBuf {
    path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ))
}

/// Checks before any long work that `path` can be written (`-` always
/// can): creates and removes a temporary file beside it.
pub fn check_writable(option: &str, path: &Path) -> Result<(), CliError> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    if path.is_dir() {
        return Err(CliError::usage(format!(
            "{option} {}: is a directory",
            path.display()
        )));
    }
    let tmp = temp_name(path);
    std::fs::write(&tmp, b"")
        .map_err(|e| CliError::io(format!("{option} {}: cannot write: {e}", path.display())))?;
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

type Summary = Box<dyn Fn() + Send>;
static ON_INTERRUPT: Mutex<Option<Summary>> = Mutex::new(None);

/// Registers what to print if Ctrl-C stops the current work (replacing
/// what was registered before). The process then exits with 130.
pub fn on_interrupt(f: impl Fn() + Send + 'static) {
    *ON_INTERRUPT.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
}

/// Forgets what [`on_interrupt`] registered (the work is over).
pub fn clear_interrupt() {
    *ON_INTERRUPT.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// Installs the process-wide handlers: Ctrl-C (SIGINT) prints the
/// registered summary and exits with 130; a `println!` on a closed pipe
/// ends quietly instead of panicking.
pub fn install() {
    if stdout_was_closed() {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // std's print macros panic with this message on a closed pipe.
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            closed_pipe();
        }
        default_hook(info);
    }));
    match signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    let summary = ON_INTERRUPT.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(f) = summary.as_ref() {
                        f();
                    }
                    std::process::exit(Exit::Interrupted.code());
                }
            });
        }
        Err(e) => eprintln!("mswap: warning: cannot handle Ctrl-C: {e}"),
    }
}

/// A hash as it is shown everywhere (screen, files, HTTP, errors): 64
/// lowercase hex digits, no prefix (`0x` is accepted on input).
pub fn hash(h: &mswap::hash::Hash) -> String {
    h.to_hex()
}

/// `n` things, singular or plural: `1 dispute`, `2 disputes`.
pub fn count(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// A count in human units: `4.14 M`, `950`, `1.20 G`.
pub fn human(x: f64) -> String {
    let (v, unit) = if x >= 1e9 {
        (x / 1e9, " G")
    } else if x >= 1e6 {
        (x / 1e6, " M")
    } else if x >= 1e4 {
        (x / 1e3, " k")
    } else {
        return format!("{x:.0}");
    };
    format!("{v:.2}{unit}")
}

/// A duration in human units: `850 ms`, `12 s`, `3 min 20 s`, `1 h 05 min`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.round() as u64;
    if secs < 1.0 {
        format!("{} ms", (secs * 1000.0).round() as u64)
    } else if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human(950.0), "950");
        assert_eq!(human(4_144_934.59), "4.14 M");
        assert_eq!(human(12_500.0), "12.50 k");
        assert_eq!(human(1.2e9), "1.20 G");
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(12.4), "12 s");
        assert_eq!(duration(200.0), "3 min 20 s");
        assert_eq!(duration(3900.0), "1 h 05 min");
        assert_eq!(duration(f64::INFINITY), "?");
    }

    #[test]
    fn outputs_are_checked_early_and_written_whole() {
        let dir = std::env::temp_dir().join(format!("mswap-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("out.json");
        check_writable("-o", &f).expect("a writable path");
        assert!(!f.exists(), "the check leaves nothing behind");
        let e = check_writable("-o", &dir).expect_err("a directory");
        assert_eq!((e.code, e.msg.contains("-o ")), (2, true), "{}", e.msg);
        let e = check_writable("--transcript", &dir.join("no/such/dir/t.json"))
            .expect_err("a missing directory");
        assert!(
            e.msg.starts_with("--transcript ") && e.code == 3,
            "{}",
            e.msg
        );
        write_output(&f, b"{}\n").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"{}\n");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn exit_codes_are_distinct_and_listed() {
        let all = [
            Exit::Ok,
            Exit::Negative,
            Exit::Usage,
            Exit::Io,
            Exit::Interrupted,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| b.code() != a.code()));
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {:<4} ", a.code())),
                "{a:?}"
            );
        }
    }
}
