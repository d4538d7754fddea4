//! Commodity names that plain-text accounting tools accept, for Binance's assets: `1INCH`,
//! `1000SATS` and UTF-8 names such as `币安人生` are assets too. Vocabulary: no network.
//!
//! - **ledger and hledger**: a name of letters only is written as it is; any other is quoted
//!   (`"1INCH"`), as ledger's own `pricedb` writes `"1000SATS"` and both tools read.
//! - **beancount**: its grammar takes `[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]`; any other name needs a
//!   mapping from the user (`--commodity 1INCH=ONEINCH`, or the config file's `[commodity]`
//!   table), or the symbol fails on its own: never a line that breaks the ledger.

use std::collections::BTreeMap;

/// Which tool's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Book {
    /// ledger and hledger (`P` directives).
    Ledger,
    /// beancount (`price` directives).
    Beancount,
}

/// The user's names for assets (`--commodity ASSET=NAME`), by asset.
pub(crate) type Mapping = BTreeMap<String, String>;

/// How `asset` is written for `book`, mapped first; `Err` says why it cannot be and how to
/// map it.
pub(crate) fn name(book: Book, asset: &str, mapping: &Mapping) -> Result<String, String> {
    let mapped = mapping.get(asset).map(String::as_str);
    let name = mapped.unwrap_or(asset);
    match book {
        Book::Ledger if name.chars().all(char::is_alphabetic) => Ok(name.to_owned()),
        Book::Ledger if !name.contains(['"', '\n']) => Ok(format!("\"{name}\"")),
        Book::Beancount if is_beancount(name) => Ok(name.to_owned()),
        _ => Err(match mapped {
            Some(name) => format!(
                "--commodity {asset}={name}: {name} is not a {} commodity name{}",
                book.tool(),
                book.rule()
            ),
            None => format!(
                "{asset} is not a {} commodity name{}: map it with --commodity {asset}=NAME \
                 (or a [commodity] table in the config file)",
                book.tool(),
                book.rule()
            ),
        }),
    }
}

impl Book {
    fn tool(self) -> &'static str {
        match self {
            Self::Ledger => "ledger",
            Self::Beancount => "beancount",
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Self::Ledger => " (it cannot hold a double quote)",
            Self::Beancount => {
                " (2 to 24 of A-Z 0-9 ' . _ -, starting with a capital letter and ending with a \
                 letter or digit)"
            }
        }
    }
}

/// Whether beancount's grammar takes `name` as a currency: `[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]`.
pub(crate) fn is_beancount(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    (2..=24).contains(&bytes.len())
        && first.is_ascii_uppercase()
        && (last.is_ascii_uppercase() || last.is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"'._-".contains(b))
}

/// `ASSET=NAME` as `--commodity` takes it.
pub(crate) fn parse_mapping(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((asset, name)) if !asset.trim().is_empty() && !name.trim().is_empty() => {
            Ok((asset.trim().to_uppercase(), name.trim().to_owned()))
        }
        _ => Err(format!(
            "'{text}' is not ASSET=NAME (e.g. --commodity 1INCH=ONEINCH)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_quotes_what_is_not_letters() {
        let none = Mapping::new();
        assert_eq!(name(Book::Ledger, "BTC", &none).unwrap(), "BTC");
        assert_eq!(name(Book::Ledger, "1INCH", &none).unwrap(), "\"1INCH\"");
        assert_eq!(
            name(Book::Ledger, "1000SATS", &none).unwrap(),
            "\"1000SATS\""
        );
        assert_eq!(name(Book::Ledger, "币安人生", &none).unwrap(), "币安人生");
    }

    #[test]
    fn beancount_takes_its_grammar_or_a_mapping() {
        let none = Mapping::new();
        assert_eq!(name(Book::Beancount, "BTC", &none).unwrap(), "BTC");
        let e = name(Book::Beancount, "1INCH", &none).unwrap_err();
        assert!(e.contains("--commodity 1INCH=NAME"), "{e}");
        assert!(name(Book::Beancount, "币安人生", &none).is_err());
        let map: Mapping = [("1INCH".into(), "ONEINCH".into())].into();
        assert_eq!(name(Book::Beancount, "1INCH", &map).unwrap(), "ONEINCH");
        let bad: Mapping = [("1INCH".into(), "oneinch".into())].into();
        let e = name(Book::Beancount, "1INCH", &bad).unwrap_err();
        assert!(
            e.starts_with("--commodity 1INCH=oneinch: oneinch is not"),
            "{e}"
        );
        for ok in ["BTC", "USDT", "A1", "FOO.BAR", "X'Y", "T-1"] {
            assert!(is_beancount(ok), "{ok}");
        }
        for bad in ["B", "1INCH", "BTC-", "btc", "ÉTH", "A_B_", &"A".repeat(25)] {
            assert!(!is_beancount(bad), "{bad}");
        }
        assert_eq!(
            parse_mapping("1inch=ONEINCH").unwrap(),
            ("1INCH".into(), "ONEINCH".into())
        );
        assert!(parse_mapping("1INCH").is_err());
    }
}
