//! Child processes of the controller: the server, the ceilings and the generators, all started
//! from the same `koogate` binary. Nothing in the caller's environment that koogate reads
//! (`KOOGATE_*`) reaches them, so a developer's configuration cannot change the figures; every
//! child dies with the controller (`kill_on_drop`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::process::{Child, Command};

/// `exe` with no `KOOGATE_*` variables, stdin closed, killed when dropped.
pub fn command(exe: &Path) -> Command {
    let mut command = Command::new(exe);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KOOGATE_") {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    command
}

/// A port the OS just had free: bound, read and released, so a child can bind it. (A child
/// binding port 0 would have to tell its port back; `koogate serve` only logs it.)
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A server child, its output going to a log file.
#[derive(Debug)]
pub struct ServerChild {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ServerChild {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub fn spawn(mut command: Command, name: &str, log: &Path) -> anyhow::Result<Self> {
        let file = std::fs::File::create(log).with_context(|| format!("{}", log.display()))?;
        let err = file.try_clone()?;
        command.stdout(Stdio::from(file)).stderr(Stdio::from(err));
        let child = command
            .spawn()
            .with_context(|| format!("starting the {name}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits until `addr` accepts connections (the servers bind only once fully started),
    /// failing early, with the log's tail, when the child exits.
    pub async fn wait_listening(
        &mut self,
        addr: SocketAddr,
        within: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "the {} exited during start-up ({status}); its log ends with:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "the {} did not listen on {addr} within {within:?}; its log ends with:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last `lines` lines of the child's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGKILL and reap: every figure is taken by then, and nothing here needs a clean stop.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
