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
//! The ledger must never make a run worse than having none: a corrupt, unreadable or
//! foreign-version file is replaced (one warning); a missing or read-only directory, a full
//! disk, or a lock not granted within [`LOCK_PATIENCE`] make the run go on with its own
//! in-process view ([`Step::Unavailable`], said once by the caller). A record from an earlier
//! minute counts nothing, and pauses and bans that have ended are ignored.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use url::Url;

/// The file format's version; a file with another one is replaced.
const VERSION: u32 = 1;

/// How long a busy lock is waited for before the run goes on without the ledger.
pub const LOCK_PATIENCE: Duration = Duration::from_secs(1);

/// What the file holds (JSON, one line, so that a person can read it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

/// What a reservation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
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
pub struct Ask {
    /// The most weight worth reserving now (what the round still plans to send).
    pub want: u32,
    /// The least that is any use: the weight of the request at hand (0: only look).
    pub at_least: u32,
    /// The unused rest of the previous lease, and its minute, given back first.
    pub back: Option<(u64, u32)>,
    /// The largest used-weight figure the server reported, and its minute, not yet shared.
    pub seen: Option<(u64, u32)>,
}

impl Ask {
    /// Exactly `weight`, nothing given back or seen: one request's reservation.
    pub fn exactly(weight: u32) -> Self {
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
}

/// One host's ledger file, opened for the run.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    host: String,
    file: File,
    /// Since when the lock has been refused without a break.
    busy_since: Option<Instant>,
    /// A corrupt or foreign file was replaced: the warning to give once.
    replaced: Option<String>,
}

/// The ledger's file for `base_url` in `dir`: one per host (and port), so that mirrors, which
/// are reached from the same IP, are counted against the base URL's ledger by the caller.
pub fn path_for(dir: &Path, base_url: &Url) -> PathBuf {
    dir.join(format!("{}.json", host_key(base_url).replace(':', "_")))
}

fn host_key(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// The directory of the shared state: `PRICEFETCH_STATE_DIR`, else the platform's state
/// directory (`~/.local/state/pricefetch` on Linux), else its cache directory.
pub fn default_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
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
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Ledger {
    /// Opens (creating them if needed) the directory and the file for `base_url`.
    pub fn open(dir: &Path, base_url: &Url) -> Result<Self, String> {
        let path = path_for(dir, base_url);
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {}", dir.display(), io_reason(&e)))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {}", path.display(), io_reason(&e)))?;
        Ok(Self {
            path,
            host: host_key(base_url),
            file,
            busy_since: None,
            replaced: None,
        })
    }

    /// The file's path, for `-v` and warnings.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A warning to give once: the file was corrupt or of another version and was replaced.
    pub fn take_replaced(&mut self) -> Option<String> {
        self.replaced.take()
    }

    /// Reserves a lease of up to `want` weight (at least `at_least`) in the current minute, if
    /// the budget takes it and no pause or ban is running. `back` is the unused rest of the
    /// previous lease (and its minute), given back first. `seen` is the largest
    /// `X-MBX-USED-WEIGHT-1M` this process saw (with its minute) since the last transaction:
    /// the server's count raises the ledger's.
    pub fn lease(&mut self, ask: Ask, budget: u32, now_ms: u64) -> Step<Verdict> {
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
    pub fn refund(&mut self, minute: u64, weight: u32, now_ms: u64) -> Step<()> {
        self.transact(now_ms, |r| {
            if r.minute == minute {
                r.used = r.used.saturating_sub(weight);
            }
        })
    }

    /// Records a 429's pause (`until_ms`), so that every process on the host waits it out.
    pub fn pause(&mut self, until_ms: u64, now_ms: u64) -> Step<()> {
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

    /// Reads the record as it stands (for tests and `-v`), without changing it.
    pub fn read(&mut self, now_ms: u64) -> Step<Record> {
        self.transact(now_ms, |r| r.clone())
    }

    /// Lock, read, change, write, unlock.
    fn transact<T>(&mut self, now_ms: u64, change: impl FnOnce(&mut Record) -> T) -> Step<T> {
        match self.file.try_lock() {
            Ok(()) => self.busy_since = None,
            Err(TryLockError::WouldBlock) => {
                let since = *self.busy_since.get_or_insert_with(Instant::now);
                if since.elapsed() > LOCK_PATIENCE {
                    return Step::Unavailable(format!(
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
            Ok(value) => Step::Done(value),
            Err(e) => Step::Unavailable(format!(
                "cannot update {}: {}",
                self.path.display(),
                io_reason(&e)
            )),
        }
    }

    fn locked<T>(
        &mut self,
        now_ms: u64,
        change: impl FnOnce(&mut Record) -> T,
    ) -> std::io::Result<T> {
        let mut text = Vec::with_capacity(256);
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_end(&mut text)?;
        let minute = now_ms / 60_000;
        let mut record = match serde_json::from_slice::<Record>(&text) {
            Ok(r) if r.version == VERSION => r,
            Ok(r) => {
                self.replaced = Some(format!("it was of version {}", r.version));
                Record::default()
            }
            // A new file is empty; anything else that does not parse was damaged.
            Err(_) if text.is_empty() => Record::default(),
            Err(e) => {
                self.replaced = Some(format!("it was unreadable ({e})"));
                Record::default()
            }
        };
        record.version = VERSION;
        record.host.clone_from(&self.host);
        if record.minute != minute {
            record.minute = minute;
            record.used = 0;
        }
        let before = record.clone();
        let value = change(&mut record);
        if record != before || !text.starts_with(b"{") {
            let mut line = serde_json::to_vec(&record).expect("a record serialises");
            line.push(b'\n');
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(&line)?;
            self.file.set_len(line.len() as u64)?;
        }
        Ok(value)
    }
}

/// The OS's words for an I/O error, without Rust's "(os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pricefetch-ledger-{name}-{}-{}",
            std::process::id(),
            unix_ms()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn url() -> Url {
        "http://127.0.0.1:8731".parse().unwrap()
    }

    /// 20 s into a wall-clock minute.
    const T: u64 = 1_700_000_000_000;

    fn used(step: Step<Verdict>) -> u32 {
        match step {
            Step::Done(Verdict::Reserved { used, .. }) => used,
            other => panic!("not reserved: {other:?}"),
        }
    }

    #[test]
    fn reservations_add_up_and_stop_at_the_budget() {
        let dir = temp_dir("budget");
        let mut a = Ledger::open(&dir, &url()).unwrap();
        let mut b = Ledger::open(&dir, &url()).unwrap();
        let now = T + 20_000;
        let minute = now / 60_000;
        assert_eq!(
            a.lease(Ask::exactly(4), 10, now),
            Step::Done(Verdict::Reserved {
                minute,
                used: 4,
                granted: 4
            })
        );
        assert_eq!(used(b.lease(Ask::exactly(4), 10, now)), 8);
        assert_eq!(
            a.lease(Ask::exactly(4), 10, now),
            Step::Done(Verdict::Full { used: 8 })
        );
        // A request that never reached the server gives its weight back.
        assert_eq!(b.refund(minute, 4, now), Step::Done(()));
        assert_eq!(used(a.lease(Ask::exactly(4), 10, now)), 8);
        // The server's own count raises the ledger's.
        let seen = Ask {
            seen: Some((minute, 9)),
            ..Ask::exactly(1)
        };
        assert_eq!(used(a.lease(seen, 10, now)), 10);
        // The next minute starts from nothing.
        assert_eq!(used(b.lease(Ask::exactly(4), 10, now + 60_000)), 4);
        assert_eq!(path_for(&dir, &url()), dir.join("127.0.0.1_8731.json"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_lease_takes_what_is_left_and_gives_back_its_rest() {
        let dir = temp_dir("lease");
        let mut a = Ledger::open(&dir, &url()).unwrap();
        let now = T;
        let minute = now / 60_000;
        let big = Ask {
            want: 30,
            at_least: 2,
            ..Ask::default()
        };
        assert!(matches!(
            a.lease(big, 19, now),
            Step::Done(Verdict::Reserved {
                granted: 19,
                used: 19,
                ..
            })
        ));
        // 5 of those 19 unused, given back while asking for 2 more.
        let again = Ask {
            back: Some((minute, 5)),
            ..Ask::exactly(2)
        };
        assert_eq!(used(a.lease(again, 19, now)), 16);
        // Only looking (for a pause or a ban) reserves nothing.
        assert_eq!(used(a.lease(Ask::default(), 19, now)), 16);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pauses_and_bans_hold_for_every_process_until_they_end() {
        let dir = temp_dir("pause");
        let mut a = Ledger::open(&dir, &url()).unwrap();
        let mut b = Ledger::open(&dir, &url()).unwrap();
        let now = T + 1_000;
        assert_eq!(a.pause(now + 30_000, now), Step::Done(()));
        assert_eq!(
            b.lease(Ask::exactly(2), 100, now),
            Step::Done(Verdict::Paused {
                until_ms: now + 30_000
            })
        );
        assert!(matches!(
            b.lease(Ask::exactly(2), 100, now + 30_001),
            Step::Done(Verdict::Reserved { .. })
        ));
        assert_eq!(a.ban(now + 120_000, now), Step::Done(()));
        assert_eq!(
            b.lease(Ask::exactly(2), 100, now + 40_000),
            Step::Done(Verdict::Banned {
                until_ms: now + 120_000
            })
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_replaced_once() {
        let dir = temp_dir("corrupt");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(path_for(&dir, &url()), "garbage\u{0}").unwrap();
        let mut a = Ledger::open(&dir, &url()).unwrap();
        assert!(matches!(
            a.lease(Ask::exactly(2), 10, T),
            Step::Done(Verdict::Reserved { used: 2, .. })
        ));
        assert!(a.take_replaced().unwrap().contains("unreadable"));
        assert!(matches!(
            a.lease(Ask::exactly(2), 10, T),
            Step::Done(Verdict::Reserved { used: 4, .. })
        ));
        assert_eq!(a.take_replaced(), None);
        std::fs::write(
            path_for(&dir, &url()),
            r#"{"version":99,"host":"x","minute":0,"used":0,"paused_until_ms":0,"banned_until_ms":0}"#,
        )
        .unwrap();
        assert!(matches!(
            a.lease(Ask::exactly(2), 10, T),
            Step::Done(Verdict::Reserved { used: 2, .. })
        ));
        assert!(a.take_replaced().unwrap().contains("version 99"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_lock_held_elsewhere_is_busy_then_unavailable() {
        let dir = temp_dir("lock");
        let mut a = Ledger::open(&dir, &url()).unwrap();
        let holder = File::open(path_for(&dir, &url())).unwrap();
        holder.lock().unwrap();
        assert_eq!(a.lease(Ask::exactly(2), 10, T), Step::Busy);
        a.busy_since = Some(Instant::now() - LOCK_PATIENCE - Duration::from_millis(1));
        assert!(
            matches!(a.lease(Ask::exactly(2), 10, T), Step::Unavailable(why) if why.contains("locked"))
        );
        holder.unlock().unwrap();
        assert!(matches!(a.lease(Ask::exactly(2), 10, T), Step::Done(_)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_reported() {
        let dir = temp_dir("file");
        std::fs::create_dir_all(&dir).unwrap();
        let blocker = dir.join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        let err = Ledger::open(&blocker.join("state"), &url()).unwrap_err();
        assert!(err.contains("cannot create"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
