//! The request-weight limit a futures market's `exchangeInfo` gave (`rateLimits`), kept a day
//! beside that budget's ledger (`fapi.binance.com_443.usdm.limit.json`), so that it is asked once a
//! day, not at every run. A private file, never read through a link, like the ledger.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use super::file::private_file;

/// How long a limit is trusted: Binance changes it rarely, and says so weeks ahead.
pub(crate) const TIME_TO_LIVE_MS: u64 = 24 * 60 * 60 * 1000;

#[derive(Serialize, Deserialize)]
struct Saved {
    fetched_ms: u64,
    weight_limit: u32,
}

/// The file for `budget` (`usdm`, `coinm`) of the exchange behind `base_url` in `dir`.
pub(crate) fn path_for(dir: &Path, base_url: &Url, budget: &str) -> PathBuf {
    let key = format!("{}.{budget}.limit", super::budget_key(base_url));
    super::file_for(dir, &key)
}

/// The limit saved at `path`, if it is fresh at `now_ms`.
pub(crate) fn load(path: &Path, now_ms: u64) -> Option<u32> {
    if !path.exists() {
        return None;
    }
    let mut text = String::new();
    private_file(path).ok()?.read_to_string(&mut text).ok()?;
    let saved: Saved = serde_json::from_str(&text).ok()?;
    let fresh = now_ms.saturating_sub(saved.fetched_ms) < TIME_TO_LIVE_MS;
    (fresh && saved.fetched_ms <= now_ms && saved.weight_limit > 0).then_some(saved.weight_limit)
}

/// Saves `limit` as fetched at `now_ms` (whole: a reader never sees half of it).
pub(crate) fn store(path: &Path, limit: u32, now_ms: u64) -> Result<(), String> {
    let body = serde_json::to_vec(&Saved {
        fetched_ms: now_ms,
        weight_limit: limit,
    })
    .map_err(|e| e.to_string())?;
    super::file::replace_private(path, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_comes_back_for_a_day_and_not_after() {
        let dir = tempfile::tempdir().unwrap();
        let url: Url = "http://127.0.0.1:8731/".parse().unwrap();
        let path = path_for(dir.path(), &url, "usdm");
        assert!(path.ends_with("127.0.0.1_8731.usdm.limit.json"), "{path:?}");
        assert_eq!(load(&path, 1_000), None);
        store(&path, 2400, 1_000).unwrap();
        assert_eq!(load(&path, 1_000 + TIME_TO_LIVE_MS - 1), Some(2400));
        assert_eq!(load(&path, 1_000 + TIME_TO_LIVE_MS), None);
        store(&path, 1200, 5_000).unwrap();
        assert_eq!(load(&path, 6_000), Some(1200));
    }
}
