//! `--until 'BTCUSDT >= 100000'`: stop a `--stream` or a `--watch` as soon as a price crosses a
//! line, for scripts that wait for it.
//!
//! A condition is `SYMBOL OP NUMBER` with `OP` one of `<`, `<=`, `>`, `>=`, `==`; several,
//! separated by commas, mean *any*. Prices are compared as exact decimals on the strings
//! Binance sent, never as floats: `0.1` is `0.10000000`, and `0.30000000000000004` is not `0.3`.
//! A condition that does not parse, or that names a symbol the run does not fetch, is a usage
//! error before anything is sent.

use std::cmp::Ordering;

use crate::error::UsageError;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
    /// `==`
    Equal,
}

impl Op {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Self::Less => o == Ordering::Less,
            Self::LessOrEqual => o != Ordering::Greater,
            Self::Greater => o == Ordering::Greater,
            Self::GreaterOrEqual => o != Ordering::Less,
            Self::Equal => o == Ordering::Equal,
        }
    }
}

/// One `SYMBOL OP NUMBER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    /// The normalised symbol.
    pub(crate) symbol: String,
    /// The comparison.
    pub(crate) op: Op,
    /// The number, as written.
    pub(crate) value: String,
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            Op::Less => "<",
            Op::LessOrEqual => "<=",
            Op::Greater => ">",
            Op::GreaterOrEqual => ">=",
            Op::Equal => "==",
        };
        write!(f, "{} {op} {}", self.symbol, self.value)
    }
}

/// Conditions of which any one ends the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Until {
    /// At least one.
    pub(crate) conditions: Vec<Condition>,
}

impl Until {
    /// Parses `text`; every symbol must be in `symbols` (normalised), unless `any_symbol` (with
    /// `--all`, the market is the list).
    pub(crate) fn parse(
        text: &str,
        symbols: &[String],
        any_symbol: bool,
    ) -> Result<Self, UsageError> {
        let mut conditions = Vec::new();
        let parts: Vec<&str> = text.split(',').collect();
        for part in &parts {
            let part = part.trim();
            let bad = |why: &str| {
                UsageError(format!(
                    "invalid --until condition '{part}': {why}; write e.g. 'BTCUSDT >= 100000' \
                     (<, <=, >, >=, ==; commas between conditions mean any)"
                ))
            };
            if part.is_empty() && parts.len() > 1 {
                return Err(UsageError(format!(
                    "invalid --until '{text}': a condition between commas is empty (a stray \
                     comma?); write e.g. 'BTCUSDT >= 100000, ETHUSDT < 3000'"
                )));
            }
            if part.is_empty() {
                return Err(bad("it is empty"));
            }
            // The comparison is the run of operator characters after the symbol: it must be one
            // of the five, so that `=>` or `=<` is named as what it is.
            let Some(at) = part.find(['<', '>', '=', '!']) else {
                return Err(bad("no comparison"));
            };
            let len = part[at..]
                .find(|c| !matches!(c, '<' | '>' | '=' | '!'))
                .unwrap_or(part.len() - at);
            let op = match &part[at..at + len] {
                "<=" => Op::LessOrEqual,
                ">=" => Op::GreaterOrEqual,
                "==" => Op::Equal,
                "<" => Op::Less,
                ">" => Op::Greater,
                other => {
                    return Err(bad(&format!("'{other}' is not a comparison")));
                }
            };
            let symbol = crate::symbols::normalise(part[..at].trim());
            let value = part[at + len..].trim();
            if symbol.is_empty() {
                return Err(bad("no symbol"));
            }
            if !crate::decimal::is_number(value) {
                return Err(bad(&format!("'{value}' is not a decimal number")));
            }
            if !any_symbol && !symbols.contains(&symbol) {
                return Err(bad(&format!("{symbol} is not one of the symbols fetched")));
            }
            conditions.push(Condition {
                symbol,
                op,
                value: value.to_owned(),
            });
        }
        Ok(Self { conditions })
    }

    /// The first condition `price` of `symbol` makes true, if any.
    pub(crate) fn met_by(&self, symbol: &str, price: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| {
            c.symbol == symbol
                && crate::decimal::compare(price, &c.value).is_some_and(|o| c.op.holds(o))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Vec<String> {
        vec!["BTCUSDT".into(), "ETHUSDT".into()]
    }

    #[test]
    fn conditions_parse_and_any_one_ends_the_run() {
        let u = Until::parse("btc/usdt >= 100000, ETHUSDT<3000", &list(), false).unwrap();
        assert_eq!(u.conditions.len(), 2);
        assert_eq!(u.conditions[0].op, Op::GreaterOrEqual);
        assert!(u.met_by("BTCUSDT", "99999.99999999").is_none());
        assert!(u.met_by("BTCUSDT", "100000.00000000").is_some());
        assert!(u.met_by("ETHUSDT", "2999.99").is_some());
        assert!(u.met_by("ETHUSDT", "3000").is_none());
        let eq = Until::parse("ETHUSDT == 3412.17", &list(), false).unwrap();
        assert!(eq.met_by("ETHUSDT", "3412.17000000").is_some());
    }

    #[test]
    fn bad_conditions_say_why() {
        for (text, says) in [
            ("BTCUSDT", "no comparison"),
            ("BTCUSDT >= lots", "not a decimal number"),
            ("BTCUSDT >= 1e5", "not a decimal number"),
            (">= 5", "no symbol"),
            ("SOLUSDT > 1", "not one of the symbols fetched"),
            (
                "BTCUSDT > 1,",
                "a condition between commas is empty (a stray comma?)",
            ),
            ("", "it is empty"),
            (
                "BTCUSDT => 5",
                "'=>' is not a comparison; write e.g. 'BTCUSDT >= 100000' (<, <=",
            ),
            ("BTCUSDT = 5", "'=' is not a comparison"),
            ("BTCUSDT != 5", "'!=' is not a comparison"),
        ] {
            let err = Until::parse(text, &list(), false).unwrap_err();
            assert!(err.0.contains(says), "{text}: {}", err.0);
        }
        assert!(Until::parse("SOLUSDT > 1", &list(), true).is_ok());
    }
}
