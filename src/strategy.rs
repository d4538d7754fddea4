//! How the symbols of a round are grouped into requests ([`Strategy`]: one each, `symbols=[…]`
//! batches, or the whole market), what each plan costs in request weight, and which symbols of
//! the whole market to keep ([`MarketFilter`]). Pure: no I/O, unit-tested here.

use std::ops::Range;

use crate::market::{Selection, TickerKind};

/// How the symbols of a round are grouped into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// One request per symbol.
    Each,
    /// `symbols=[…]` requests of at most this many symbols (a lone symbol goes as `symbol=`).
    Batch(usize),
    /// One request for every symbol the exchange lists (`--all`).
    All,
}

impl Strategy {
    /// `each`, `batch` or `all`, as printed and in JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Each => "each",
            Self::Batch(_) => "batch",
            Self::All => "all",
        }
    }

    /// The index ranges of `n` symbols that go in one request each.
    pub(crate) fn chunks(self, n: usize) -> Vec<Range<usize>> {
        let size = match self {
            Self::Each => 1,
            Self::Batch(size) => size.max(1),
            Self::All => n.max(1),
        };
        (0..n).step_by(size).map(|i| i..(i + size).min(n)).collect()
    }

    /// The weight of the dearest single request of a round over `n` symbols.
    pub(crate) fn largest_request(self, kind: TickerKind, n: usize) -> u32 {
        if self == Self::All {
            return kind.weight(Selection::All);
        }
        let names = vec![String::new(); n];
        self.chunks(n)
            .into_iter()
            .map(|r| kind.weight(selection(&names[r])))
            .max()
            .unwrap_or(0)
    }

    /// Request weight of one round over `n` symbols, without retries.
    pub(crate) fn weight(self, kind: TickerKind, n: usize) -> u64 {
        if self == Self::All {
            return u64::from(kind.weight(Selection::All));
        }
        let names = vec![String::new(); n];
        self.chunks(n)
            .into_iter()
            .map(|r| u64::from(kind.weight(selection(&names[r]))))
            .sum()
    }
}

/// How a chunk is asked for: a lone symbol as `symbol=`, which is cheaper than a batch of one.
pub(crate) fn selection(chunk: &[String]) -> Selection<'_> {
    match chunk {
        [one] => Selection::One(one),
        many => Selection::Many(many),
    }
}

/// Which symbols of the whole market to keep (`--all` with `--quote` / `--match`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MarketFilter {
    /// Keep symbols that end with this quote asset, e.g. `USDT`.
    pub(crate) quote: Option<String>,
    /// Keep symbols matching this glob (`*` any run, `?` one character), e.g. `*BTC`.
    pub(crate) pattern: Option<String>,
}

impl MarketFilter {
    /// Whether `symbol` passes every filter that is set.
    pub(crate) fn keeps(&self, symbol: &str) -> bool {
        self.quote.as_deref().is_none_or(|q| symbol.ends_with(q))
            && self.pattern.as_deref().is_none_or(|p| glob(p, symbol))
    }
}

/// `*` matches any run of characters, `?` exactly one; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_symbol_once_in_order() {
        assert_eq!(Strategy::Each.chunks(3), vec![0..1, 1..2, 2..3]);
        assert_eq!(Strategy::Batch(2).chunks(5), vec![0..2, 2..4, 4..5]);
        assert_eq!(Strategy::Batch(100).chunks(0), Vec::<Range<usize>>::new());
    }

    #[test]
    fn a_batch_costs_far_less_weight_than_one_request_each() {
        let (price, day) = (TickerKind::Price, TickerKind::Day);
        assert_eq!(Strategy::Each.weight(price, 1000), 2000);
        assert_eq!(Strategy::Batch(100).weight(price, 1000), 40);
        // The leftover single goes as symbol= (2), not as a batch of one (4).
        assert_eq!(Strategy::Batch(100).weight(price, 101), 6);
        assert_eq!(Strategy::Batch(20).weight(day, 100), 10);
        assert_eq!(Strategy::All.weight(day, 0), 80);
    }

    #[test]
    fn globs_and_quotes_filter_the_market() {
        assert!(glob("*BTC", "ETHBTC") && !glob("*BTC", "BTCUSDT"));
        assert!(glob("BTC*", "BTCUSDT") && glob("?TH*", "ETHBTC") && glob("*", ""));
        assert!(glob("*U*T", "BTCUSDT") && !glob("B?C", "BTCX"));
        let f = MarketFilter {
            quote: Some("USDT".into()),
            pattern: Some("S*".into()),
        };
        assert!(f.keeps("SOLUSDT") && !f.keeps("BTCUSDT") && !f.keeps("SOLBTC"));
        assert!(MarketFilter::default().keeps("ANYTHING"));
    }
}
