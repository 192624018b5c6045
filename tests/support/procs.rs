//! Helpers for the tests that run the referee and the players as separate
//! processes of the binary: every child is killed when its handle drops
//! (a failing test leaves no referee behind), and a child's output is
//! read on threads as it comes (a player's first line names its game).
use super::cli::{BIN, spawn};
use super::guests::example_paths;
use mswap::rules::Side;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A running child: killed on drop; its output collected by threads.
pub struct Proc {
    child: Option<Child>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    first: mpsc::Receiver<String>,
}

/// How a child ended.
pub struct Ended {
    /// Exit code (-1: killed).
    pub code: i32,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

fn collect(
    r: impl Read + Send + 'static,
    first: Option<mpsc::Sender<String>>,
) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &first {
                let _ = tx.send(line.clone());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    })
}

impl Proc {
    /// Starts `mswap ARGS`; `lines_from_stderr` picks which stream's lines
    /// [`Proc::line`] returns.
    pub fn start(args: &[&std::ffi::OsStr], lines_from_stderr: bool) -> Proc {
        let mut child = spawn(Command::new(BIN).args(args));
        let (tx, first) = mpsc::channel();
        let (otx, etx) = if lines_from_stderr {
            (None, Some(tx))
        } else {
            (Some(tx), None)
        };
        let stdout = collect(child.stdout.take().unwrap(), otx);
        let stderr = collect(child.stderr.take().unwrap(), etx);
        Proc {
            child: Some(child),
            stdout: Some(stdout),
            stderr: Some(stderr),
            first,
        }
    }

    /// The next line of the chosen stream (within 60 s).
    pub fn line(&self) -> String {
        self.first
            .recv_timeout(Duration::from_secs(60))
            .expect("a line from the child")
    }

    /// Kills the child with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits for the child to exit (at most `secs`, then kills it and fails).
    pub fn finish(mut self, secs: u64) -> Ended {
        let mut child = self.child.take().expect("running");
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break Some(s);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout.take().unwrap().join().unwrap_or_default();
        let stderr = self.stderr.take().unwrap().join().unwrap_or_default();
        let Some(status) = status else {
            panic!("the child ran over {secs} s\nstdout:\n{stdout}\nstderr:\n{stderr}");
        };
        Ended {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// `mswap referee --listen LISTEN --data DATA [EXTRA]` and its URL (read
/// from its first line).
pub fn referee(data: &Path, listen: &str, extra: &[&str]) -> (Proc, String) {
    let mut args = vec![
        os("referee"),
        os("--listen"),
        os(listen),
        os("--data"),
        data.as_os_str(),
    ];
    args.extend(extra.iter().map(|a| os(a)));
    let p = Proc::start(&args, true);
    let line = p.line();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    (p, url)
}

/// `mswap defend` on the example with `lies`, saving the transcript; and
/// the game id from its first line.
pub fn defend(url: &str, lies: &[&str], transcript: &Path, extra: &[&str]) -> (Proc, String) {
    let p = player(
        "defend",
        url,
        &[os("--transcript"), transcript.as_os_str()],
        lies,
        extra,
    );
    let line = p.line();
    let id = line
        .trim()
        .strip_prefix("game: ")
        .unwrap_or_else(|| panic!("no game id in {line:?}"))
        .to_string();
    (p, id)
}

/// `mswap challenge` of game `id` on the example with `lies`.
pub fn challenge(url: &str, id: &str, lies: &[&str], extra: &[&str]) -> Proc {
    player("challenge", url, &[os("--game"), os(id)], lies, extra)
}

/// `mswap COMMAND --referee URL OPTS --checkpoints 3 EXAMPLE --input
/// EXAMPLE_INPUT` with `--lie` for each of `lies`, then `extra`.
fn player(command: &str, url: &str, opts: &[&OsStr], lies: &[&str], extra: &[&str]) -> Proc {
    let (elf, input) = example_paths();
    let mut args = vec![os(command), os("--referee"), os(url)];
    args.extend(opts);
    args.extend([
        os("--checkpoints"),
        os("3"),
        elf.as_os_str(),
        os("--input"),
        input.as_os_str(),
    ]);
    for l in lies {
        args.extend([os("--lie"), os(l)]);
    }
    args.extend(extra.iter().map(|a| os(a)));
    Proc::start(&args, false)
}

/// `(seq, side)` of every accepted move a player's log shows (its own and
/// its opponent's): lines `[seq N] SIDE ...` (after `[dispute 1] ` in a
/// defender's log), not `[seq N] refused ...`.
pub fn seen_moves(log: &str) -> Vec<(u64, Side)> {
    log.lines()
        .filter_map(|l| {
            let l = l.strip_prefix("[dispute 1] ").unwrap_or(l);
            let rest = l.strip_prefix("[seq ")?;
            let (n, rest) = rest.split_once("] ")?;
            let side = match rest.split_whitespace().next()? {
                "defender" => Side::Defender,
                "challenger" => Side::Challenger,
                _ => return None,
            };
            Some((n.parse().ok()?, side))
        })
        .collect()
}

/// Asserts that every move of `seen` (as [`seen_moves`] reads a log) is
/// in transcript `t`, made by the same side.
pub fn assert_in_transcript(seen: &[(u64, Side)], t: &mswap::rules::transcript::Transcript) {
    for &(seq, side) in seen {
        let m = t
            .moves
            .get(seq as usize)
            .unwrap_or_else(|| panic!("move {seq} of the log is not in the transcript: lost"));
        assert_eq!(m.side, side, "move {seq}");
    }
}

/// Reads a transcript file.
pub fn read_transcript(p: &Path) -> mswap::rules::transcript::Transcript {
    serde_json::from_slice(&std::fs::read(p).expect("transcript written"))
        .expect("transcript parses")
}

/// Asserts that `winner` exited with 0 (it won) and `loser` with 1 (it
/// lost); `what` and both logs make the message.
pub fn assert_won(winner: &Ended, loser: &Ended, what: &str) {
    assert_eq!(
        (winner.code, loser.code),
        (0, 1),
        "{what}\n{}\n{}",
        winner.stdout,
        loser.stdout
    );
}

/// Reads the transcript file `p` and checks it offline: `side` won.
pub fn transcript_won_by(p: &Path, side: Side) -> mswap::rules::transcript::Transcript {
    let t = read_transcript(p);
    let checked =
        mswap::rules::transcript::verify_transcript(&t, &mswap::elf::image_of(&t.program).unwrap())
            .unwrap_or_else(|e| panic!("{}: the transcript verifies: {e}", p.display()));
    assert_eq!(checked.winner, Some(side), "{}", p.display());
    t
}
