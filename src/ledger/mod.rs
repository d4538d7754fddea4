//! The host's shared rate-limit state: one small file per API host that every pricefetch
//! process on this machine reads and updates under an advisory lock.
//!
//! Binance's request-weight budget, its `Retry-After` pauses and its bans belong to the *IP*
//! (binance-api.md), so ten cron jobs started at `:00`, or a run started right after a 429, must
//! behave as one careful client. The file holds, for the current wall-clock minute, the weight
//! reserved by every process (raised by any `X-MBX-USED-WEIGHT-1M` one of them saw), the end of
//! the latest `Retry-After` pause and the end of a ban. [`crate::throttle`] reserves each
//! request's weight here *before* sending it, so the fleet's total can never pass the budget.
//!
//! Every operation is one short transaction: `try_lock` the file, read it, change the record,
//! write it back, unlock (about 10 µs). The lock is never held across an `await`, and a lock
//! that stays busy is waited for asynchronously by the caller ([`Step::Busy`]).
//!
//! The ledger must never make a run worse than having none, nor let another local user steer
//! it. The directory is made 0700 and the file 0600 whatever the umask; neither is followed
//! through a symbolic link, and one not owned by this user (or writable by others, when it is
//! not ours to mend) is refused: the run goes on with its own view, as `--no-shared-state`
//! does ([`Step::Unavailable`], said once by the caller). A missing or read-only directory or a
//! full disk do the same. State that cannot be trusted to be current, a lock held past
//! [`LOCK_PATIENCE`], a file from a newer pricefetch or one that cannot be read, means the run
//! cannot coordinate ([`Step::Uncoordinated`]): the caller then sends at most a small share of
//! the budget a minute. A damaged file is kept beside the ledger for inspection before it is
//! rewritten, and a pause or a ban that can be read is never lost. Reads are capped at
//! [`MAX_FILE`]; times beyond Binance's longest ban are read as that ban. A ledger deleted
//! under a running process is noticed (by its inode) and rejoined. A record from an earlier
//! minute counts nothing, and pauses and bans that have ended are ignored.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::io_reason;

pub(crate) mod file;
pub(crate) mod limit;

use file::{private_dir, private_file};

/// The file format's version; a file with another one is replaced.
const VERSION: u32 = 1;

/// How long a busy lock is waited for before the run goes on without coordination.
pub(crate) const LOCK_PATIENCE: Duration = Duration::from_secs(3);

/// The most of a ledger file that is read: a record is about 120 bytes, and at most 300
/// stream connection attempts add about 3.3 KB.
pub(crate) const MAX_FILE: u64 = 8192;

/// WebSocket connection attempts Binance allows per IP in [`ATTEMPT_WINDOW`].
pub(crate) const ATTEMPTS: usize = 300;

/// The window of [`ATTEMPTS`]: 5 minutes.
pub(crate) const ATTEMPT_WINDOW: Duration = Duration::from_secs(300);

/// What the file holds (JSON, one line, so that a person can read it). Fields this version
/// does not know are ignored when read (and not written back).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    /// The file format's version; a file with another one is replaced.
    pub version: u32,
    /// The API host this ledger is for, e.g. `api.binance.com`.
    pub host: String,
    /// The wall-clock minute since the epoch that `used` counts.
    pub minute: u64,
    /// Weight reserved in that minute by every process on this host.
    pub used: u32,
    /// No request may be sent before this (unix ms): the end of the latest 429's `Retry-After`.
    pub paused_until_ms: u64,
    /// The IP is banned until this (unix ms): from a 418.
    pub banned_until_ms: u64,
    /// WebSocket connection attempts by every process on this host in the last 5 minutes
    /// (unix seconds, oldest first): Binance allows 300 per IP.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stream_attempts: Vec<u64>,
}

/// What a reservation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A lease was reserved in this minute; `used` is the minute's total with it.
    Reserved {
        /// The minute the weight counts in.
        minute: u64,
        /// The minute's total, this lease included.
        used: u32,
        /// The lease: between the asked least and most.
        granted: u32,
    },
    /// The minute's budget cannot take it; `used` is what the minute has spent.
    Full {
        /// The minute's total so far.
        used: u32,
    },
    /// A process on this host was told to wait until this time (unix ms).
    Paused {
        /// End of the pause, unix ms.
        until_ms: u64,
    },
    /// The IP is banned until this time (unix ms).
    Banned {
        /// End of the ban, unix ms.
        until_ms: u64,
    },
}

/// What a process asks the ledger for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ask {
    /// The most weight worth reserving now (what the round still plans to send).
    pub(crate) want: u32,
    /// The least that is any use: the weight of the request at hand (0: only look).
    pub(crate) at_least: u32,
    /// The unused rest of the previous lease, and its minute, given back first.
    pub(crate) back: Option<(u64, u32)>,
    /// The largest used-weight figure the server reported, and its minute, not yet shared.
    pub(crate) seen: Option<(u64, u32)>,
}

impl Ask {
    /// Exactly `weight`, nothing given back or seen: one request's reservation.
    #[cfg(test)]
    pub(crate) fn exactly(weight: u32) -> Self {
        Self {
            want: weight,
            at_least: weight,
            ..Self::default()
        }
    }
}

/// One attempt at a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<T> {
    /// Done.
    Done(T),
    /// Another process holds the lock: try again shortly.
    Busy,
    /// The ledger cannot be used for this run; the reason, for one warning.
    Unavailable(String),
    /// The state cannot be trusted to be current (its lock held too long, a file this version
    /// cannot read): the run must not burst; the reason, for one warning.
    Uncoordinated(String),
}

/// One host's ledger file, opened for the run.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    path: PathBuf,
    host: String,
    file: File,
    /// The open file's device and inode: another at the path means the ledger was replaced.
    id: (u64, u64),
    /// Times beyond Binance's longest ban were cut: the warning to give once.
    clamped: Option<String>,
    /// Since when the lock has been refused without a break.
    busy_since: Option<Instant>,
    /// A corrupt or foreign file was replaced: the warning to give once.
    replaced: Option<String>,
}

/// The ledger's file for `base_url` in `dir`: one per budget ([`budget_key`]), so that every
/// host reached from the same IP under one limit counts against one file.
pub fn path_for(dir: &Path, base_url: &Url) -> PathBuf {
    file_for(dir, &budget_key(base_url))
}

fn file_for(dir: &Path, key: &str) -> PathBuf {
    let name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}.json"))
}

/// Which budget `url` spends: `api.binance.com` for every Binance spot REST host (one limit per
/// IP across the cluster); any other host by the address it resolves to and its port, not by
/// its spelling (`localhost:P` and `127.0.0.1:P` are one server). A loopback address is
/// `127.0.0.1`, whichever it resolved to first; a host that does not resolve keeps its name.
pub(crate) fn budget_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or("unknown");
    if crate::host::BINANCE_SPOT_HOSTS.contains(&host.to_ascii_lowercase().as_str()) {
        return crate::host::BINANCE_SPOT_HOSTS[0].to_owned();
    }
    let port = url.port_or_known_default().unwrap_or(0);
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let resolved = match name.parse::<std::net::IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(name, port))
            .ok()
            .and_then(|addrs| {
                let mut ips: Vec<std::net::IpAddr> = addrs.map(|a| a.ip()).collect();
                ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
                ips.first().copied()
            }),
    };
    match resolved {
        Some(ip) if ip.is_loopback() => format!("127.0.0.1:{port}"),
        Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        Some(ip) => format!("{ip}:{port}"),
        None => format!("{name}:{port}"),
    }
}

/// The directory of the shared state: `PRICEFETCH_STATE_DIR`, else the platform's state
/// directory (`~/.local/state/pricefetch` on Linux), else its cache directory.
pub(crate) fn default_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = env("PRICEFETCH_STATE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "pricefetch")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.cache_dir())
            .to_path_buf(),
    )
}

/// Milliseconds since the epoch.
pub fn unix_ms() -> u64 {
    crate::clock::unix_ms()
}

impl Ledger {
    /// Opens (creating them if needed) the directory and the file for `base_url`'s budget.
    pub fn open(dir: &Path, base_url: &Url) -> Result<Self, String> {
        Self::open_in(dir, base_url, "spot")
    }

    /// [`Ledger::open`] for `budget` at that host: Binance's futures markets (`usdm`, `coinm`)
    /// have budgets of their own, never spot's (`127.0.0.1_8731.usdm`), and their funding
    /// history another (`usdm.funding`).
    pub fn open_in(dir: &Path, base_url: &Url, budget: &str) -> Result<Self, String> {
        let host = match budget {
            "spot" => budget_key(base_url),
            other => format!("{}.{other}", budget_key(base_url)),
        };
        let path = file_for(dir, &host);
        private_dir(dir)?;
        let file = private_file(&path)?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read {}: {}", path.display(), io_reason(&e)))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            path,
            host,
            file,
            id: (meta.dev(), meta.ino()),
            clamped: None,
            busy_since: None,
            replaced: None,
        })
    }

    /// Opens the file at the path again if it is no longer the one this process has open (it
    /// was deleted or replaced under a running process): everyone else uses the new one.
    fn rejoin(&mut self) -> Result<(), String> {
        let current = std::fs::symlink_metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if current == Some(self.id) {
            return Ok(());
        }
        private_dir(&self.dir)?;
        let file = private_file(&self.path)?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read {}: {}", self.path.display(), io_reason(&e)))?;
        tracing::info!(
            "shared state: {} was replaced; rejoined it",
            self.path.display()
        );
        self.file = file;
        self.id = (meta.dev(), meta.ino());
        Ok(())
    }

    /// The file's path, for `-v` and warnings.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A warning to give once: the file was damaged (and kept aside), or held times past
    /// Binance's longest ban.
    pub(crate) fn take_replaced(&mut self) -> Option<String> {
        self.replaced.take().or_else(|| self.clamped.take())
    }

    /// Reserves a lease of up to `want` weight (at least `at_least`) in the current minute, if
    /// the budget takes it and no pause or ban is running. `back` is the unused rest of the
    /// previous lease (and its minute), given back first. `seen` is the largest
    /// `X-MBX-USED-WEIGHT-1M` this process saw (with its minute) since the last transaction:
    /// the server's count raises the ledger's.
    pub(crate) fn lease(&mut self, ask: Ask, budget: u32, now_ms: u64) -> Step<Verdict> {
        self.transact(now_ms, |r| {
            if let Some((minute, unused)) = ask.back
                && minute == r.minute
            {
                r.used = r.used.saturating_sub(unused);
            }
            if let Some((minute, used)) = ask.seen
                && minute == r.minute
            {
                r.used = r.used.max(used);
            }
            if r.banned_until_ms > now_ms {
                return Verdict::Banned {
                    until_ms: r.banned_until_ms,
                };
            }
            if r.paused_until_ms > now_ms {
                return Verdict::Paused {
                    until_ms: r.paused_until_ms,
                };
            }
            let room = budget.saturating_sub(r.used);
            if room < ask.at_least {
                return Verdict::Full { used: r.used };
            }
            let granted = ask.want.max(ask.at_least).min(room);
            r.used += granted;
            Verdict::Reserved {
                minute: r.minute,
                used: r.used,
                granted,
            }
        })
    }

    /// Gives back weight reserved in `minute` for a request that never reached the server.
    pub(crate) fn refund(&mut self, minute: u64, weight: u32, now_ms: u64) -> Step<()> {
        self.transact(now_ms, |r| {
            if r.minute == minute {
                r.used = r.used.saturating_sub(weight);
            }
        })
    }

    /// Records a 429's pause (`until_ms`), so that every process on the host waits it out.
    pub(crate) fn pause(&mut self, until_ms: u64, now_ms: u64) -> Step<()> {
        self.transact(now_ms, |r| {
            r.paused_until_ms = r.paused_until_ms.max(until_ms)
        })
    }

    /// Records a 418's ban (`until_ms`): no process on the host sends before it ends.
    pub fn ban(&mut self, until_ms: u64, now_ms: u64) -> Step<()> {
        self.transact(now_ms, |r| {
            r.banned_until_ms = r.banned_until_ms.max(until_ms)
        })
    }

    /// Records one WebSocket connection attempt if the host's window has room (`None`: go), or
    /// says how long until it has (the oldest attempt leaves the window).
    pub(crate) fn stream_attempt(&mut self, now_ms: u64) -> Step<Option<Duration>> {
        self.transact(now_ms, |r| {
            let now_s = now_ms / 1000;
            let window = ATTEMPT_WINDOW.as_secs();
            r.stream_attempts
                .retain(|&t| t + window > now_s && t <= now_s);
            if r.stream_attempts.len() < ATTEMPTS {
                r.stream_attempts.push(now_s);
                return None;
            }
            let oldest = r.stream_attempts[0];
            Some(Duration::from_secs(oldest + window - now_s))
        })
    }

    /// Reads the record as it stands (for tests and `-v`), without changing it.
    pub fn read(&mut self, now_ms: u64) -> Step<Record> {
        self.transact(now_ms, |r| r.clone())
    }

    /// Lock, read, change, write, unlock.
    fn transact<T>(&mut self, now_ms: u64, change: impl FnOnce(&mut Record) -> T) -> Step<T> {
        if let Err(why) = self.rejoin() {
            return Step::Unavailable(why);
        }
        match self.file.try_lock() {
            Ok(()) => self.busy_since = None,
            Err(TryLockError::WouldBlock) => {
                let since = *self.busy_since.get_or_insert_with(Instant::now);
                if since.elapsed() > LOCK_PATIENCE {
                    return Step::Uncoordinated(format!(
                        "{} has been locked by another process for over {}s",
                        self.path.display(),
                        LOCK_PATIENCE.as_secs()
                    ));
                }
                return Step::Busy;
            }
            Err(TryLockError::Error(e)) => {
                return Step::Unavailable(format!(
                    "cannot lock {}: {}",
                    self.path.display(),
                    io_reason(&e)
                ));
            }
        }
        let result = self.locked(now_ms, change);
        let _ = self.file.unlock();
        match result {
            Ok(Ok(value)) => Step::Done(value),
            Ok(Err(why)) => Step::Uncoordinated(why),
            Err(e) => Step::Unavailable(format!(
                "cannot update {}: {}",
                self.path.display(),
                io_reason(&e)
            )),
        }
    }

    /// A copy of a damaged file beside it (`NAME.json.damaged-MS`), for inspection, before it is
    /// rewritten.
    fn keep_aside(&self, text: &[u8], now_ms: u64) -> String {
        let aside = self.path.with_extension(format!("json.damaged-{now_ms}"));
        let kept = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&aside)
            .and_then(|mut f| f.write_all(text));
        match kept {
            Ok(()) => format!("kept as {}", aside.display()),
            Err(e) => format!("could not keep a copy ({})", io_reason(&e)),
        }
    }

    /// The transaction under the lock. `Ok(Err(why))`: the state cannot be trusted (a file of
    /// a newer version, which is left as it is).
    fn locked<T>(
        &mut self,
        now_ms: u64,
        change: impl FnOnce(&mut Record) -> T,
    ) -> std::io::Result<Result<T, String>> {
        let mut text = Vec::with_capacity(256);
        self.file.seek(SeekFrom::Start(0))?;
        (&self.file).take(MAX_FILE + 1).read_to_end(&mut text)?;
        let minute = now_ms / 60_000;
        let parsed = if text.len() as u64 > MAX_FILE {
            Err(format!("it is over {MAX_FILE} bytes"))
        } else {
            serde_json::from_slice::<Record>(&text).map_err(|e| e.to_string())
        };
        let mut record = match parsed {
            Ok(r) if r.version == VERSION => r,
            Ok(r) if r.version > VERSION => {
                // A newer pricefetch's file: not ours to rewrite. Its pause and ban still hold.
                let mut seen = r.clone();
                self.clamp(&mut seen, now_ms);
                let holds = seen.paused_until_ms > now_ms || seen.banned_until_ms > now_ms;
                let value = change(&mut seen);
                if holds {
                    return Ok(Ok(value));
                }
                return Ok(Err(format!(
                    "{} was written by a newer pricefetch (version {}); it is left as it is",
                    self.path.display(),
                    r.version
                )));
            }
            Ok(r) => {
                // An older version: what it says of pauses and bans still holds.
                Record {
                    paused_until_ms: r.paused_until_ms,
                    banned_until_ms: r.banned_until_ms,
                    ..Record::default()
                }
            }
            // A new file is empty; anything else that does not parse was damaged.
            Err(_) if text.is_empty() => Record::default(),
            Err(why) => {
                let kept = self.keep_aside(&text, now_ms);
                self.replaced = Some(format!("it was unreadable ({why}); {kept}; replaced it"));
                Record::default()
            }
        };
        self.clamp(&mut record, now_ms);
        record.version = VERSION;
        record.host.clone_from(&self.host);
        if record.minute != minute {
            record.minute = minute;
            record.used = 0;
        }
        let before = record.clone();
        let value = change(&mut record);
        let rewritten = serde_json::to_vec(&record).expect("a record serialises");
        if record != before || !text.starts_with(&rewritten) {
            let mut line = rewritten;
            line.push(b'\n');
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(&line)?;
            self.file.set_len(line.len() as u64)?;
        }
        Ok(Ok(value))
    }

    /// Cuts a pause or a ban beyond Binance's longest (3 days) to that, and says so once.
    fn clamp(&mut self, record: &mut Record, now_ms: u64) {
        for (what, field) in [
            ("pause", &mut record.paused_until_ms),
            ("ban", &mut record.banned_until_ms),
        ] {
            let (ms, cut) = crate::clock::clamp_ms(*field, now_ms);
            if cut {
                self.clamped = Some(format!(
                    "it held a {what} ending past Binance's longest ban (3 days); read as {}",
                    crate::clock::rfc3339_seconds(ms)
                ));
                *field = ms;
            }
        }
    }
}

#[cfg(test)]
mod tests;
