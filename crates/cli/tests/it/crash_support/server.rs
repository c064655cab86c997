//! `koogate serve` as a child process that can be killed with SIGKILL and started again on the
//! same port, data directory and database. Dropping the [`Server`] kills the child, so a failing
//! test never leaves a server behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Everything the child is started with; identical on every restart.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Names the log files (`{name}-{start}.log`): `server`, or `replica-N` of several.
    pub name: String,
    /// Shared by replicas: the first start generates `secrets.toml` there, the others read it.
    pub data_dir: PathBuf,
    pub port: u16,
    /// `None`: SQLite in `data_dir` (the zero-configuration default).
    pub database_url: Option<String>,
    pub hook_url: String,
    pub hook_secret: String,
    pub access_key: String,
    pub api_token: String,
    /// `KOOGATE_SANDBOX_ORDERS`: extra sandbox orders `SANDBOX000000`, ...
    pub sandbox_orders: usize,
}

#[derive(Debug)]
pub struct Server {
    spec: ServerSpec,
    child: Option<Child>,
    /// How many times the child was started (names its log file).
    starts: u32,
}

impl Server {
    pub fn new(spec: ServerSpec) -> Self {
        Self {
            spec,
            child: None,
            starts: 0,
        }
    }

    pub fn spec(&self) -> &ServerSpec {
        &self.spec
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.spec.port)
    }

    /// Starts the child with a clean environment: only the variables below, so that nothing in
    /// the developer's or CI's environment (a `KOOGATE_DATABASE_URL`, say) changes the test.
    pub fn start(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Err("the server is already running".into());
        }
        self.starts += 1;
        let log_path = self.log_path(self.starts);
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let spec = &self.spec;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_koogate"));
        cmd.arg("serve")
            .env_clear()
            .env("KOOGATE_LISTEN", format!("127.0.0.1:{}", spec.port))
            .env("KOOGATE_DATA_DIR", &spec.data_dir)
            .env("KOOGATE_ACCESS_KEY", &spec.access_key)
            .env("KOOGATE_API_TOKEN", &spec.api_token)
            .env("KOOGATE_HOOK_URL", &spec.hook_url)
            .env("KOOGATE_HOOK_SECRET", &spec.hook_secret)
            .env("KOOGATE_SANDBOX_ORDERS", spec.sandbox_orders.to_string())
            .env("KOOGATE_LOG", "info")
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        if let Some(url) = &spec.database_url {
            cmd.env("KOOGATE_DATABASE_URL", url);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start koogate serve: {e}"))?;
        self.child = Some(child);
        Ok(())
    }

    /// `kill -9`: SIGKILL (what `Child::kill` sends on Unix), then reaps the child.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until `/readyz` answers 200, failing early if the child exits.
    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> Result<(), String> {
        let url = format!("{}/readyz", self.base_url());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!(
                    "koogate serve exited with {status} during start-up; log tail:\n{}",
                    self.log_tail(40)
                ));
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "koogate serve not ready after 30 s; log tail:\n{}",
                    self.log_tail(40)
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The last `lines` lines of the current (latest) log file.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(self.starts)).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.spec
            .data_dir
            .join(format!("{}-{start}.log", self.spec.name))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `n` distinct ports that were free a moment ago (the OS picks them; the listeners are closed
/// again so the children can bind them, and re-bind them after every restart). All are held
/// until all are chosen, so no port is handed out twice.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| {
            std::net::TcpListener::bind(("127.0.0.1", 0))
                .unwrap_or_else(|e| panic!("no free port: {e}"))
        })
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().map(|addr| addr.port()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A fresh directory under the system temp dir, removed on drop unless the test failed (then it
/// is kept, with the server logs, and its path printed).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            super::say(&format!(
                "crash test: kept {} (server logs server-N.log, replica-R-N.log) for inspection",
                self.0.display()
            ));
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
