//! Shared test helpers: a hermetic `pricefetch` command pointed at a mock Binance, and typed
//! structs that decode the JSON output strictly (unknown fields are an error, so a renamed
//! field fails a test).

pub mod proxy;

use std::time::Duration;

use assert_cmd::Command;
use mock_binance::MockServer;
use serde::Deserialize;

/// Environment that would change what pricefetch does; removed so tests see only their flags.
const AMBIENT: &[&str] = &[
    "PRICEFETCH_BASE_URL",
    "RUST_LOG",
    "NO_COLOR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// This test process's own scratch directory (a `tempfile` directory under the system's
/// temporary directory): every HOME, config directory and ledger a test makes lives inside it,
/// and it is removed when the process exits, so that `cargo test` leaves nothing behind.
pub fn scratch() -> &'static std::path::Path {
    static ROOT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    extern "C" fn remove_root() {
        if let Some(root) = ROOT.get() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
    ROOT.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("pricefetch-test-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        // Statics are never dropped: remove the directory when the test harness exits.
        // SAFETY: `remove_root` is an `extern "C" fn()` that neither unwinds nor calls `exit`.
        #[allow(
            unsafe_code,
            reason = "atexit with a function that neither unwinds nor exits"
        )]
        unsafe {
            libc::atexit(remove_root)
        };
        dir
    })
}

/// A new, empty directory named after `name` inside [`scratch`].
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = scratch().join(format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// An empty directory standing in for the user's home and config directory, so that a
/// developer's own `~/.config/pricefetch/config.toml` never leaks into a test.
pub fn empty_home() -> std::path::PathBuf {
    let dir = scratch().join("home");
    std::fs::create_dir_all(&dir).expect("temp home");
    dir
}

/// The binary with a clean environment, as a plain `std` command: the base of every builder
/// here, and what tests use directly when they hold its pipes or send it signals.
pub fn hermetic() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pricefetch"));
    for var in AMBIENT {
        cmd.env_remove(var);
    }
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("PRICEFETCH_") {
            cmd.env_remove(var);
        }
    }
    let home = empty_home();
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("PRICEFETCH_STATE_DIR", fresh_state_dir());
    cmd
}

/// `program` with the same clean environment as [`hermetic`], and the binary first on `PATH`:
/// for commands a user would type (a shell, `script`), pipes and all.
pub fn clean(program: &str) -> std::process::Command {
    let template = hermetic();
    let mut cmd = std::process::Command::new(program);
    for (key, value) in template.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_pricefetch"))
        .parent()
        .expect("the binary's directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).expect("a PATH"));
    cmd
}

/// `sh` with a clean environment (see [`clean`]).
pub fn hermetic_shell() -> std::process::Command {
    clean("sh")
}

/// Waits until at least `seconds` of the current wall-clock minute are left: for tests whose
/// outcome depends on the rate-limit minute not turning over mid-run (Binance's windows are
/// wall-clock minutes).
pub fn clear_of_minute_end(seconds: f64) {
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        % 60.0;
    if second > 60.0 - seconds {
        std::thread::sleep(Duration::from_secs_f64(60.5 - second));
    }
}

/// A new directory path for the shared rate-limit ledger (not created: pricefetch makes it).
/// Each command gets its own, so that a test never meets a ban or a pause another test left
/// for a mock on a reused port; tests of the sharing itself set one directory for all their
/// processes.
pub fn fresh_state_dir() -> std::path::PathBuf {
    let dir = scratch_dir("state");
    let _ = std::fs::remove_dir(&dir);
    dir
}

/// `script` (util-linux) running `line` in `sh` on a pseudo-terminal of `size` (columns, rows;
/// `None` leaves the size unknown), with the same clean environment and `PATH` as
/// [`hermetic_shell`]: what a person at a terminal sees. `-f` flushes what the program writes
/// at once, so a reader sees it as it happens.
pub fn on_a_pty(line: &str, size: Option<(u16, u16)>) -> std::process::Command {
    let mut cmd = clean("script");
    let line = match size {
        Some((cols, rows)) => format!("stty cols {cols} rows {rows}; {line}"),
        None => line.to_owned(),
    };
    cmd.env("TERM", "xterm").args(["-qfec", &line, "/dev/null"]);
    cmd
}

/// [`hermetic`] against `server`, one request per symbol (see [`pricefetch`]).
pub fn spawnable(server: &MockServer) -> std::process::Command {
    let mut cmd = hermetic();
    cmd.args(["--base-url", server.url()])
        .env("PRICEFETCH_STRATEGY", "each");
    cmd
}

/// `pricefetch` with a clean environment and no server: for usage errors.
pub fn bare() -> Command {
    with_timeout(hermetic())
}

/// A hang must fail the test, not block the suite.
fn with_timeout(cmd: std::process::Command) -> Command {
    let mut cmd = Command::from_std(cmd);
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// Waits (up to 20 s, else the test fails saying `what`) until `ready`, then sends `signal`
/// (`INT`, `TERM`, `HUP`) to `child` and returns what it printed.
pub fn signal_when(
    child: std::process::Child,
    what: &str,
    ready: impl Fn() -> bool,
    signal: &str,
) -> std::process::Output {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let what is in flight settle into the state the test means to interrupt.
    std::thread::sleep(Duration::from_millis(100));
    let sent = std::process::Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -{signal} failed");
    child.wait_with_output().expect("the child ends")
}

/// Each line of stdout as JSON (ndjson), failing the test on a line that is not.
pub fn ndjson(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Fails the test, showing stderr, unless stderr contains `text`.
pub fn assert_stderr_has(output: &std::process::Output, text: &str) {
    let err = stderr(output);
    assert!(err.contains(text), "stderr lacks {text:?}:\n{err}");
}

/// A mock whose WebSocket streams send an update every `interval_ms`.
pub fn streaming(interval_ms: u64) -> MockServer {
    MockServer::start_with(mock_binance::Options {
        streams: mock_binance::StreamOptions {
            interval: Duration::from_millis(interval_ms),
            ..mock_binance::StreamOptions::default()
        },
        ..mock_binance::Options::default()
    })
}

/// `pricefetch --base-url <mock>`, one request per symbol.
///
/// Most tests check what happens to a request (retries, the concurrency cap, rate limits), which
/// is clearest with one request per symbol, so this sets `PRICEFETCH_STRATEGY=each`. Tests of
/// batching pass `--strategy`, which wins over the variable.
pub fn pricefetch(server: &MockServer) -> Command {
    with_timeout(spawnable(server))
}

/// Decodes stdout as the `json` format, failing the test on any unexpected shape.
pub fn json_report(output: &std::process::Output) -> JsonReport {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not the JSON report ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 stderr")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "decoded strictly: every field the JSON has, read or not"
)]
pub struct JsonReport {
    pub mode: String,
    pub ticker: String,
    pub strategy: String,
    pub concurrency: usize,
    pub elapsed_ms: f64,
    pub requests: u32,
    pub retries: u32,
    pub isolation_requests: u32,
    pub hedged_requests: u32,
    pub weight: u32,
    pub used_weight: Option<u32>,
    pub ok: usize,
    pub failed: usize,
    pub interrupted: bool,
    pub deadline_hit: bool,
    pub error: Option<JsonError>,
    pub results: Vec<JsonResult>,
    pub comparison: Option<JsonComparison>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "decoded strictly: every field the JSON has, read or not"
)]
pub struct JsonResult {
    pub symbol: String,
    pub price: Option<String>,
    pub price_time: Option<String>,
    pub error: Option<JsonError>,
    pub elapsed_ms: f64,
    pub attempts: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonError {
    pub kind: String,
    pub status: Option<u16>,
    pub code: Option<i64>,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonComparison {
    pub runs: u32,
    pub warmup: u32,
    #[serde(rename = "async")]
    pub async_stats: JsonStats,
    pub sync: JsonStats,
    pub speedup: Option<JsonSpeedup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "decoded strictly: every field the JSON has, read or not"
)]
pub struct JsonStats {
    pub mean_ms: f64,
    pub stddev_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub samples_ms: Vec<f64>,
    pub requests_per_round: f64,
    pub failed: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "decoded strictly: every field the JSON has, read or not"
)]
pub struct JsonSpeedup {
    pub faster: String,
    pub ratio: f64,
    pub stddev: f64,
}

/// A program running on a pseudo-terminal (see [`on_a_pty`]) whose screen output is read as it
/// arrives: for live modes, whose whole point is what shows while they run.
pub struct Pty {
    child: std::process::Child,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Pty {
    /// Starts `pricefetch ARGS` (a shell line's words, already quoted) on a terminal of `size`.
    /// The shell prints its pid and then becomes pricefetch, so that [`Pty::signal`] reaches
    /// pricefetch itself.
    pub fn start(args: &str, size: (u16, u16)) -> Self {
        use std::io::Read;
        let mut child = on_a_pty(&format!("echo pid=$$; exec pricefetch {args}"), Some(size))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs");
        let mut stdout = child.stdout.take().expect("piped");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self { child, seen }
    }

    /// What the terminal has shown so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Waits (up to 20 s, else the test fails saying `what`) until the screen shows all of
    /// `texts`, while the program is still running; returns the screen.
    pub fn wait_for(&mut self, what: &str, texts: &[&str]) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                assert!(
                    self.child.try_wait().unwrap().is_none(),
                    "{what}: shown only once the program had ended:\n{screen}"
                );
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what} never showed on the terminal:\n{screen:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// As [`Pty::signal`], and what the terminal showed by the end.
    pub fn signal_and_screen(self, signal: &str) -> (Option<i32>, String) {
        let seen = std::sync::Arc::clone(&self.seen);
        let code = self.signal(signal);
        // The reader thread takes what was left in the terminal's buffer.
        std::thread::sleep(Duration::from_millis(200));
        let screen = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
        (code, screen)
    }

    /// Sends `signal` to pricefetch and waits for the terminal to close; the exit code.
    pub fn signal(mut self, signal: &str) -> Option<i32> {
        let screen = self.screen();
        let pid = screen
            .split("pid=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("the shell printed its pid");
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_owned()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} {pid} failed");
        self.child.wait().expect("script ends").code()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `promtool check metrics` on `text`, or `None` when promtool is not installed.
pub fn promtool(text: &str) -> Option<(bool, String)> {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// Runs an accounting tool (`bean-check`, `hledger`, `ledger`) on `text` written to a file:
/// `(accepted, what it said)`. `None` when the tool is not installed, which fails under CI
/// (`.ci/run` installs them: a check that silently skips there checks nothing).
pub fn accounting_tool(tool: &str, args: &[&str], text: &str) -> Option<(bool, String)> {
    let file = scratch_dir(tool).join("prices");
    std::fs::write(&file, text).unwrap();
    match std::process::Command::new(tool)
        .args(args)
        .arg(&file)
        .output()
    {
        Ok(out) => Some((
            out.status.success() && out.stderr.is_empty(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("{tool} is not installed; .ci/run installs it")
        }
        Err(_) => {
            eprintln!("skipped: {tool} is not installed");
            None
        }
    }
}
