//! Symbols as users type them and as Binance names them: normalised (`btc/usdt` -> `BTCUSDT`),
//! checked against Binance's rules (UTF-8 names included), de-duplicated, and read from
//! `--file`. The same rules check the names in Binance's answers ([`crate::answer`]).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::UsageError;

/// `BTC/USDT`, `btc-usdt`, ` btcusdt ` → `BTCUSDT`.
pub(crate) fn normalise(symbol: &str) -> String {
    symbol
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, '/' | '-'))
        // ASCII letters only: Unicode case mapping would turn `ß` into `SS` and `ﬀ` into `FF`.
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A symbol as Binance names them once separators are gone: 1 to 20 characters, Unicode letters
/// and digits (UTF-8 names since 2025-12-02, e.g. `币安人生USDT`), `_` and `.`; no lower-case
/// ASCII letter (those are upper-cased first).
pub(crate) fn is_valid(symbol: &str) -> bool {
    (1..=20).contains(&symbol.chars().count())
        && symbol
            .chars()
            .all(|c| (c.is_alphanumeric() && !c.is_ascii_lowercase()) || c == '_' || c == '.')
}

/// Normalises, checks and de-duplicates `(symbol, where it came from)` pairs.
pub(crate) fn normalise_all(raw: Vec<(String, String)>) -> Result<Vec<String>, UsageError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (given, origin) in raw {
        let symbol = normalise(&given);
        if !is_valid(&symbol) {
            let why = if symbol.is_empty() {
                "it is empty".to_owned()
            } else if symbol.chars().count() > 20 {
                format!(
                    "it is {} characters long; the most is 20",
                    symbol.chars().count()
                )
            } else {
                "only letters, digits, '_' and '.' are allowed ('/' and '-' are dropped)".to_owned()
            };
            // A token of a huge file is cut: the message names it, it does not echo it.
            let shown: String = match given.char_indices().nth(40) {
                Some((i, _)) => format!("{}…", &given[..i]),
                None => given.clone(),
            };
            return Err(UsageError(format!(
                "invalid symbol '{shown}' ({origin}): {why}"
            )));
        }
        if seen.insert(symbol.clone()) {
            out.push(symbol);
        }
    }
    if out.is_empty() {
        return Err(UsageError(
            "no symbols given: name them (pricefetch BTCUSDT ETHUSDT), use --file FILE, or keep \
             a watch-list in the config file (symbols = [...])"
                .into(),
        ));
    }
    Ok(out)
}

/// Symbols from a file or stdin: whitespace or commas between them, `#` to the end of a line
/// is a comment. Each symbol remembers its line for error messages.
pub(crate) fn read_symbol_file(path: &Path) -> Result<Vec<(String, String)>, UsageError> {
    let label = if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let reader: Box<dyn Read> =
        if path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(path).map_err(|e| {
                UsageError(format!("cannot read --file {label}: {}", file_reason(&e)))
            })?)
        };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(reader).lines().enumerate() {
        let line = line
            .map_err(|e| UsageError(format!("cannot read --file {label}: {}", file_reason(&e))))?;
        let content = line.split('#').next().unwrap_or("");
        for word in content.split(|c: char| c == ',' || c.is_whitespace()) {
            if !word.is_empty() {
                out.push((word.to_owned(), format!("{label} line {}", n + 1)));
            }
        }
    }
    Ok(out)
}

/// Why a symbol file could not be read: the OS's words, or that it is not text.
fn file_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::InvalidData {
        "not UTF-8 text".into()
    } else {
        crate::error::io_reason(e)
    }
}
/// The quote assets a bare asset is most often meant with, in the order they are offered.
const QUOTES: [&str; 5] = ["USDT", "FDUSD", "USDC", "BTC", "EUR"];

/// Which market a symbol's shape belongs to, when it is not `market`'s: `BTCUSD_PERP` and
/// `BTCUSD_250627` are COIN-M's, `BTCUSDT_250627` USD-M's quarterly; a spot name has no `_`.
/// The words of a hint for a -1121, or `None`.
pub(crate) fn other_market(symbol: &str, market: crate::market::Market) -> Option<String> {
    use crate::market::Market;
    let (head, tail) = symbol.split_once('_')?;
    let dated = tail.len() == 6 && tail.bytes().all(|b| b.is_ascii_digit());
    let shape = if tail == "PERP" || (dated && head.ends_with("USD")) {
        Market::Coinm
    } else if dated {
        Market::Usdm
    } else {
        return None;
    };
    (shape != market).then(|| {
        let which = match shape {
            Market::Coinm => "a COIN-M futures symbol",
            _ => "a USD-M futures symbol",
        };
        format!("{symbol} is {which}: add --market {}", shape.name())
    })
}

/// "Did you mean" for symbols Binance does not know, in the asked order, from the `listed`
/// pairs: two asked one after the other that make a pair (`btc usdt`: BTCUSDT), an asset where
/// a pair was meant (`BTC`: BTCUSDT, or `--in USDT BTC`), else the nearest pair by spelling.
pub(crate) fn suggestions(unknown: &[&str], listed: &[String]) -> Vec<String> {
    let set: std::collections::HashSet<&str> = listed.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&asked) = unknown.get(i) {
        i += 1;
        if let Some(&next) = unknown.get(i)
            && set.contains(format!("{asked}{next}").as_str())
        {
            out.push(format!("{asked} {next}: did you mean {asked}{next}?"));
            i += 1;
            continue;
        }
        let paired = QUOTES
            .iter()
            .find(|q| set.contains(format!("{asked}{q}").as_str()));
        if let Some(quote) = paired {
            out.push(format!(
                "{asked} is an asset: did you mean {asked}{quote} (or --in {quote} {asked})?"
            ));
        } else if let Some(near) = crate::text::nearest(asked, set.iter().copied()) {
            out.push(format!("{asked}: did you mean {near}?"));
        }
    }
    out
}
