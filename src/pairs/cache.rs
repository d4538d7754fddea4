//! The pairs of one exchange kept beside its ledger (`api.binance.com.pairs.json`), so that
//! `exchangeInfo` (weight 20, megabytes) is asked at most once an hour. Written to a private
//! temporary file and renamed into place, so a reader never sees half of it; read only when it
//! is ours, a regular file and not a symbolic link, like the ledger.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use super::Pair;

/// How long the pairs are trusted: listings change a few times a day at most, and an asset
/// that is not found refreshes them at once.
pub(crate) const TIME_TO_LIVE_MS: u64 = 60 * 60 * 1000;

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
pub(crate) fn path_in(dir: Option<&Path>, base_url: &Url) -> Option<PathBuf> {
    dir.map(|dir| path_for(dir, base_url))
}

/// Each cached pair's base and quote asset, by symbol (for labels: nothing when there is no
/// fresh cache, or no state directory).
pub(crate) fn assets(
    dir: Option<&Path>,
    base_url: &Url,
) -> std::collections::HashMap<String, (String, String)> {
    dir.and_then(|dir| load(&path_for(dir, base_url), crate::clock::unix_ms()))
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.symbol, (p.base, p.quote)))
        .collect()
}

/// The statuses Binance gives a pair (binance-api.md's `symbolStatus`, and the ones
/// `exchangeInfo` shows around an auction); a cache that names another was not written by us.
const STATUSES: &[&str] = &[
    "TRADING",
    "HALT",
    "BREAK",
    "END_OF_DAY",
    "CANCEL_ONLY",
    "PRE_TRADING",
    "POST_TRADING",
    "AUCTION_MATCH",
];

/// The cached pairs if they are younger than [`TIME_TO_LIVE_MS`] at `now_ms`; `None` when
/// there are none, they are old, or the file cannot be trusted or read. The file gets the
/// ledger's rules: ours, not a link, a regular file; open to others, it is made private (or,
/// when that fails, not read). Every entry is checked (`symbol` is `base` + `quote`, each symbol
/// once, a known status): a cache that fails is discarded whole, said with `-v`, and the caller
/// asks Binance again.
pub(crate) fn load(path: &Path, now_ms: u64) -> Option<Vec<Pair>> {
    let text = read_trusted(path)?;
    let cached: File = serde_json::from_str(&text)
        .inspect_err(|e| {
            tracing::info!(
                "{} is not a pairs cache ({e}): asking Binance",
                path.display()
            )
        })
        .ok()?;
    let fresh =
        now_ms.saturating_sub(cached.fetched_ms) < TIME_TO_LIVE_MS && cached.fetched_ms <= now_ms;
    if cached.version != 1 || !fresh {
        return None;
    }
    let pairs: Vec<Pair> = cached
        .pairs
        .into_iter()
        .map(|[symbol, base, quote, status]| Pair {
            symbol,
            base,
            quote,
            status,
        })
        .collect();
    if let Err(why) = check(&pairs) {
        tracing::info!(
            "{} is discarded ({why}): asking Binance for the pairs",
            path.display()
        );
        return None;
    }
    Some(pairs)
}

/// The cache's text, if the file is one this user can trust (see [`load`]).
fn read_trusted(path: &Path) -> Option<String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        tracing::warn!(
            "{} belongs to another user (uid {}), so it is not trusted: asking Binance for the pairs",
            path.display(),
            meta.uid()
        );
        return None;
    }
    if meta.mode() & 0o077 != 0
        && let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(0o600))
    {
        tracing::warn!(
            "{} is open to other users and cannot be made private ({}), so it is not trusted",
            path.display(),
            crate::error::io_reason(&e)
        );
        return None;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    Some(text)
}

/// Whether every cached pair is one Binance could have listed: `symbol` = `base` + `quote`,
/// no symbol twice, a known status.
fn check(pairs: &[Pair]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    for p in pairs {
        if p.base.is_empty()
            || p.quote.is_empty()
            || p.symbol.len() != p.base.len() + p.quote.len()
            || !p.symbol.starts_with(&p.base)
            || !p.symbol.ends_with(&p.quote)
        {
            return Err(format!("{} is not {} + {}", p.symbol, p.base, p.quote));
        }
        if !seen.insert(p.symbol.as_str()) {
            return Err(format!("{} is listed twice", p.symbol));
        }
        if !STATUSES.contains(&p.status.as_str()) {
            return Err(format!(
                "{} has the unknown status {:?}",
                p.symbol, p.status
            ));
        }
    }
    Ok(())
}

/// Writes `pairs` as fetched at `now_ms`: a private temporary file in the same directory,
/// renamed over the old one.
pub(crate) fn store(path: &Path, pairs: &[Pair], now_ms: u64) -> Result<(), String> {
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
    crate::ledger::file::replace_private(path, &body)
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

    fn pair(symbol: &str, base: &str, quote: &str, status: &str) -> Pair {
        Pair {
            symbol: symbol.into(),
            base: base.into(),
            quote: quote.into(),
            status: status.into(),
        }
    }

    #[test]
    fn a_cache_with_one_wrong_entry_is_discarded_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pairs.json");
        let good = pair("BTCEUR", "BTC", "EUR", "TRADING");
        store(&path, std::slice::from_ref(&good), 5).unwrap();
        assert!(load(&path, 5).is_some());
        for bad in [
            pair("BTCEUR", "EUR", "BTC", "TRADING"),
            pair("ETHEUR", "BTC", "EUR", "TRADING"),
            pair("BTCEUR", "BTC", "EUR", "TRADING"),
            pair("ETHBTC", "ETH", "BTC", "LISTED"),
            pair("BTC", "BTC", "", "TRADING"),
        ] {
            store(&path, &[good.clone(), bad.clone()], 5).unwrap();
            assert_eq!(load(&path, 5), None, "{bad:?}");
        }
    }

    #[test]
    fn a_cache_open_to_others_is_made_private_before_it_is_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pairs.json");
        store(&path, &[pair("BTCEUR", "BTC", "EUR", "TRADING")], 5).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(load(&path, 5).is_some());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
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
