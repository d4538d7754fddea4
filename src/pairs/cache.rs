//! The pairs of one exchange kept beside its ledger (`api.binance.com.pairs.json`), so that
//! `exchangeInfo` (weight 20, megabytes) is asked at most once an hour. Written to a private
//! temporary file and renamed into place, so a reader never sees half of it; read only when it
//! is ours, a regular file and not a symbolic link, like the ledger.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use super::Pair;

/// How long the pairs are trusted: listings change a few times a day at most, and an asset
/// that is not found refreshes them at once.
pub const TIME_TO_LIVE_MS: u64 = 60 * 60 * 1000;

/// Megabytes for every pair of the exchange; more is not a cache this program wrote.
const MAX_FILE: u64 = 16 << 20;

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    fetched_ms: u64,
    /// `[symbol, base, quote, status]`.
    pairs: Vec<[String; 4]>,
}

/// The cache file for the exchange behind `base_url`.
pub fn path_for(dir: &Path, base_url: &Url) -> PathBuf {
    crate::ledger::path_for(dir, base_url).with_extension("pairs.json")
}

/// The cache file for the exchange behind `base_url` in the state directory, if there is one
/// (none with `--no-shared-state`).
pub fn path_in(dir: Option<&Path>, base_url: &Url) -> Option<PathBuf> {
    dir.map(|dir| path_for(dir, base_url))
}

/// Each cached pair's base and quote asset, by symbol (for labels: nothing when there is no
/// fresh cache, or no state directory).
pub fn assets(
    dir: Option<&Path>,
    base_url: &Url,
) -> std::collections::HashMap<String, (String, String)> {
    dir.and_then(|dir| load(&path_for(dir, base_url), crate::clock::unix_ms()))
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.symbol, (p.base, p.quote)))
        .collect()
}

/// The cached pairs if they are younger than [`TIME_TO_LIVE_MS`] at `now_ms`; `None` when
/// there are none, they are old, or the file cannot be trusted or read.
pub fn load(path: &Path, now_ms: u64) -> Option<Vec<Pair>> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    let ours = std::os::unix::fs::MetadataExt::uid(&meta) == rustix::process::geteuid().as_raw();
    if !meta.is_file() || !ours || meta.len() > MAX_FILE {
        return None;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let cached: File = serde_json::from_str(&text).ok()?;
    let fresh =
        now_ms.saturating_sub(cached.fetched_ms) < TIME_TO_LIVE_MS && cached.fetched_ms <= now_ms;
    (cached.version == 1 && fresh).then(|| {
        cached
            .pairs
            .into_iter()
            .map(|[symbol, base, quote, status]| Pair {
                symbol,
                base,
                quote,
                status,
            })
            .collect()
    })
}

/// Writes `pairs` as fetched at `now_ms`: a private temporary file in the same directory,
/// renamed over the old one.
pub fn store(path: &Path, pairs: &[Pair], now_ms: u64) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::ledger::file::private_dir(dir)?;
    let body = serde_json::to_vec(&File {
        version: 1,
        fetched_ms: now_ms,
        pairs: pairs
            .iter()
            .map(|p| {
                [
                    p.symbol.clone(),
                    p.base.clone(),
                    p.quote.clone(),
                    p.status.clone(),
                ]
            })
            .collect(),
    })
    .map_err(|e| e.to_string())?;
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&temporary)
        .and_then(|mut f| f.write_all(&body))
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!(
            "cannot write {}: {}",
            path.display(),
            crate::error::io_reason(&e)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_come_back_while_fresh_and_not_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("x.pairs.json");
        let pairs = vec![Pair {
            symbol: "BTCEUR".into(),
            base: "BTC".into(),
            quote: "EUR".into(),
            status: "TRADING".into(),
        }];
        store(&path, &pairs, 1_000).unwrap();
        assert_eq!(
            load(&path, 1_000 + TIME_TO_LIVE_MS - 1),
            Some(pairs.clone())
        );
        assert_eq!(load(&path, 1_000 + TIME_TO_LIVE_MS), None);
        assert_eq!(load(&path, 999), None, "written in the future: not trusted");
        let mode = std::fs::metadata(&path).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(load(&path, 1_000), None);
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let pairs: Vec<Pair> = Vec::new();
        store(&real, &pairs, 5).unwrap();
        let link = dir.path().join("link.pairs.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(load(&link, 5), None);
    }
}
