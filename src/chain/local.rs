//! The one place that starts a local Ethereum node: finding `anvil`
//! (`--anvil PATH`, the build's `contracts/node_modules`, the `PATH`),
//! starting it on a free loopback port with a home directory of its own,
//! waiting until it answers, and stopping it when its [`Node`] is dropped
//! (or, on Ctrl-C, by [`stop_nodes`]). The chain demo and the tests start
//! their nodes here.

use super::rpc::{Chain, Key};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `contracts/` directory of the source tree this binary was built from.
pub const BUILD_CONTRACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts");

/// How long a starting node may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How many fresh ports to try when a node exits at once (another
/// process may take the free port between our look and anvil's bind).
const START_TRIES: u32 = 3;

/// Why no node could be started.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// `--anvil PATH` names no file.
    #[error("--anvil {}: no such file", path.display())]
    NoSuchFile {
        /// The path given.
        path: PathBuf,
    },
    /// No `anvil` in the build's contracts nor on the `PATH`.
    #[error(
        "anvil not found: not in {} (run `npm ci` in {BUILD_CONTRACTS}) nor on the PATH; \
         or give its path with --anvil PATH",
        looked.display()
    )]
    NotFound {
        /// Where the build's `anvil` would be.
        looked: PathBuf,
    },
    /// The `contracts/` directory given has no `anvil`.
    #[error("{} not found: run `npm ci` in {} first", bin.display(), contracts.display())]
    NotInstalled {
        /// The `anvil` looked for.
        bin: PathBuf,
        /// The contracts directory.
        contracts: PathBuf,
    },
    /// No free loopback port, or no home directory for the node.
    #[error("cannot prepare a node ({what}): {source}")]
    Prepare {
        /// What could not be done.
        what: String,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The process could not be started.
    #[error("cannot start {}: {source}", bin.display())]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The node exited before it answered.
    #[error("{} exited before it answered ({status})", bin.display())]
    Exited {
        /// The binary.
        bin: PathBuf,
        /// How it exited.
        status: std::process::ExitStatus,
    },
    /// The node did not answer in time.
    #[error("anvil did not answer at {url}: {reason}")]
    NoAnswer {
        /// Its URL.
        url: String,
        /// The last error.
        reason: String,
    },
}

/// A running node: the process and its own Foundry home directory.
type Running = Arc<Mutex<Option<(Child, PathBuf)>>>;

/// A node this process started; killed when dropped (or by [`stop_nodes`]).
pub struct Node {
    child: Running,
    /// Its JSON-RPC URL.
    pub url: String,
}

/// Every node this process started and has not stopped yet.
static NODES: Mutex<Vec<Running>> = Mutex::new(Vec::new());

/// Kills the node and removes its home: anvil keeps states that overflow
/// its memory in `~/.foundry/anvil/tmp/` and removes them only on a
/// graceful exit, so a killed one would leave them behind (its `HOME` and
/// `FOUNDRY_HOME` are a directory of its own).
fn stop(child: &Mutex<Option<(Child, PathBuf)>>) {
    if let Some((mut c, home)) = child.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = c.kill();
        let _ = c.wait();
        let _ = std::fs::remove_dir_all(home);
    }
}

/// Stops every node this process started (for a process about to exit
/// without unwinding, e.g. on Ctrl-C: no anvil is left running).
pub fn stop_nodes() {
    for child in NODES.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
        stop(&child);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        stop(&self.child);
        NODES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|c| !Arc::ptr_eq(c, &self.child));
    }
}

/// The `anvil` to start: `given` (`--anvil PATH`) if any, else the one
/// `npm ci` put in [`BUILD_CONTRACTS`], else the first `anvil` on the
/// `PATH`; so the demo finds it from any working directory.
pub fn find_anvil(given: Option<&Path>) -> Result<PathBuf, NodeError> {
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(NodeError::NoSuchFile {
                path: p.to_path_buf(),
            })
        };
    }
    let built = Path::new(BUILD_CONTRACTS).join("node_modules/.bin/anvil");
    if built.is_file() {
        return Ok(built);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("anvil"))
            .find(|p| p.is_file())
    });
    on_path.ok_or(NodeError::NotFound { looked: built })
}

/// Starts `anvil` from `contracts/node_modules/.bin` on a free loopback
/// port and waits until it answers.
pub fn start_anvil(contracts: &Path) -> Result<Node, NodeError> {
    let bin = contracts.join("node_modules/.bin/anvil");
    if !bin.exists() {
        return Err(NodeError::NotInstalled {
            bin,
            contracts: contracts.to_path_buf(),
        });
    }
    start_anvil_at(&bin)
}

/// Starts the `anvil` at `bin` on a free loopback port and waits until it
/// answers; a node that exits at once (its port taken meanwhile) is
/// started again on another port.
pub fn start_anvil_at(bin: &Path) -> Result<Node, NodeError> {
    let mut tries = 1;
    loop {
        match start_once(bin) {
            Err(NodeError::Exited { .. }) if tries < START_TRIES => tries += 1,
            other => return other,
        }
    }
}

/// A free loopback port (free when asked: the node binds it next).
fn free_port() -> Result<u16, NodeError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| NodeError::Prepare {
            what: "no free loopback port".into(),
            source,
        })
}

fn start_once(bin: &Path) -> Result<Node, NodeError> {
    let port = free_port()?;
    // A Foundry home of its own (see `stop`), removed with the node.
    static N: AtomicU64 = AtomicU64::new(0);
    let home = std::env::temp_dir().join(format!(
        "mswap-anvil-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&home).map_err(|source| NodeError::Prepare {
        what: format!("cannot create {}", home.display()),
        source,
    })?;
    let child = Command::new(bin)
        .env("FOUNDRY_HOME", &home)
        .env("HOME", &home)
        .args([
            "--port",
            &port.to_string(),
            "--host",
            "127.0.0.1",
            "--silent",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| {
            let _ = std::fs::remove_dir_all(&home);
            NodeError::Spawn {
                bin: bin.to_path_buf(),
                source,
            }
        })?;
    let child = Arc::new(Mutex::new(Some((child, home))));
    NODES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(child.clone());
    // From here the node is stopped when `node` is dropped, error or not.
    let node = Node {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_until_up(&node, bin, port)?;
    Ok(node)
}

/// Waits until the node's port accepts and it answers a JSON-RPC call;
/// fails at once if the process exits.
fn wait_until_up(node: &Node, bin: &Path, port: u16) -> Result<(), NodeError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + START_TIMEOUT;
    let no_answer = |reason: String| NodeError::NoAnswer {
        url: node.url.clone(),
        reason,
    };
    loop {
        let exited = node
            .child
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            .and_then(|(c, _)| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            return Err(NodeError::Exited {
                bin: bin.to_path_buf(),
                status,
            });
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        if Instant::now() >= deadline {
            return Err(no_answer(format!(
                "port {port} not open after {} s",
                START_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut probe =
        Chain::connect(&node.url, &Key::Dev(0)).map_err(|e| no_answer(e.to_string()))?;
    probe.patience = Some(
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1)),
    );
    probe
        .chain_id()
        .map(|_| ())
        .map_err(|e| no_answer(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_anvil_that_is_no_file_is_named() {
        let e = find_anvil(Some(Path::new("/no/such/anvil"))).unwrap_err();
        assert_eq!(e.to_string(), "--anvil /no/such/anvil: no such file");
    }

    #[test]
    fn contracts_without_anvil_say_to_run_npm_ci() {
        let dir = std::env::temp_dir().join(format!("mswap-no-anvil-{}", std::process::id()));
        let e = start_anvil(&dir).err().expect("no anvil there");
        assert!(
            matches!(&e, NodeError::NotInstalled { contracts, .. } if *contracts == dir),
            "{e}"
        );
        assert!(e.to_string().contains("run `npm ci`"), "{e}");
    }

    #[test]
    fn a_node_that_exits_at_once_is_an_error_not_a_wait() {
        // `false` exits with status 1 whatever its arguments.
        let bin = Path::new("/bin/false");
        if !bin.is_file() {
            panic!("/bin/false is missing");
        }
        // Exited, not NoAnswer: the exit is seen, not waited out.
        let e = start_anvil_at(bin).err().expect("false is no node");
        assert!(matches!(e, NodeError::Exited { .. }), "{e}");
    }
}
