//! The mock's market: realistic symbols with realistic magnitudes, generated ones for big runs,
//! and the JSON each ticker endpoint answers for a listing.

/// Realistic symbols with realistic magnitudes; prices are derived from these so that tests can
/// see small-coin prices such as `0.00001234` survive untouched.
pub(crate) const MARKET: &[(&str, &str, &str, f64)] = &[
    ("BTCUSDT", "BTC", "USDT", 97123.45),
    ("ETHUSDT", "ETH", "USDT", 3412.17),
    ("BNBUSDT", "BNB", "USDT", 612.3),
    ("SOLUSDT", "SOL", "USDT", 187.42),
    ("XRPUSDT", "XRP", "USDT", 0.6234),
    ("ADAUSDT", "ADA", "USDT", 0.4512),
    ("DOGEUSDT", "DOGE", "USDT", 0.1623),
    ("DOTUSDT", "DOT", "USDT", 6.731),
    ("LTCUSDT", "LTC", "USDT", 84.12),
    ("LINKUSDT", "LINK", "USDT", 14.87),
    ("TRXUSDT", "TRX", "USDT", 0.1234),
    ("AVAXUSDT", "AVAX", "USDT", 35.61),
    ("SHIBUSDT", "SHIB", "USDT", 0.00001234),
    ("PEPEUSDT", "PEPE", "USDT", 0.00000412),
    ("ETHBTC", "ETH", "BTC", 0.03512),
    ("BNBBTC", "BNB", "BTC", 0.006301),
    ("SOLBTC", "SOL", "BTC", 0.001929),
    ("XRPBTC", "XRP", "BTC", 0.00000642),
    ("BTCEUR", "BTC", "EUR", 91234.5),
    ("ETHEUR", "ETH", "EUR", 3205.11),
    ("BTCFDUSD", "BTC", "FDUSD", 97101.02),
    ("ETHFDUSD", "ETH", "FDUSD", 3410.0),
    // EUR against USDT, and Turkish lira quoted by USDT: ADA reaches EUR only through two legs
    // (ADAUSDT / EURUSDT), EUR reaches BTC only by an inverse (1 / BTCEUR), and TRY prices
    // multiply (ADAUSDT × USDTTRY).
    ("EURUSDT", "EUR", "USDT", 1.0823),
    ("USDTTRY", "USDT", "TRY", 34.512),
    // A UTF-8 name, as Binance has listed since 2025-12-02.
    ("币安人生USDT", "币安人生", "USDT", 0.1534),
    // Assets whose names start with a digit, which beancount's grammar refuses and ledger
    // reads only quoted.
    ("1INCHUSDT", "1INCH", "USDT", 0.2712),
    ("1000SATSUSDT", "1000SATS", "USDT", 0.0001523),
];

/// Pairs Binance still lists but that do not trade (binance-api.md: "all" and single answers
/// carry them with their last, stale price), with their `status`.
pub(crate) const NOT_TRADING: &[(&str, &str, &str, f64, &str)] = &[
    ("BCCBTC", "BCC", "BTC", 0.0, "BREAK"),
    ("XMRUSDT", "XMR", "USDT", 165.3, "BREAK"),
    ("LUNAUSDT", "LUNA", "USDT", 0.00008, "HALT"),
    // A delisted direct pair that a route must go around (LTC in EUR: LTCUSDT / EURUSDT).
    ("LTCEUR", "LTC", "EUR", 77.7, "BREAK"),
];

/// The statuses `symbolStatus` may ask for.
pub(crate) const STATUSES: &[&str] = &["TRADING", "HALT", "BREAK", "END_OF_DAY", "CANCEL_ONLY"];

/// One listed symbol.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) symbol: String,
    pub(crate) base: String,
    pub(crate) quote: String,
    pub(crate) price: String,
    /// `TRADING`, or `BREAK` (delisted) / `HALT`.
    pub(crate) status: &'static str,
}

/// The names of the first `n` generated symbols (`Options::extra_symbols`): `SYM0001USDT`, …
pub fn generated_symbols(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("SYM{i:04}USDT")).collect()
}

pub(crate) fn market(extra: usize, pairs: &[(String, String, String, String)]) -> Vec<Listing> {
    let mut out: Vec<Listing> = MARKET
        .iter()
        .map(|(s, b, q, p)| Listing {
            symbol: (*s).into(),
            base: (*b).into(),
            quote: (*q).into(),
            price: format!("{p:.8}"),
            status: "TRADING",
        })
        .chain(NOT_TRADING.iter().map(|(s, b, q, p, status)| Listing {
            symbol: (*s).into(),
            base: (*b).into(),
            quote: (*q).into(),
            price: format!("{p:.8}"),
            status,
        }))
        .collect();
    for (symbol, base, quote, price) in pairs {
        out.push(Listing {
            symbol: symbol.clone(),
            base: base.clone(),
            quote: quote.clone(),
            price: price.clone(),
            status: "TRADING",
        });
    }
    for (i, symbol) in generated_symbols(extra).into_iter().enumerate() {
        out.push(Listing {
            base: symbol.trim_end_matches("USDT").to_owned(),
            quote: "USDT".into(),
            price: format!("{:.8}", 1.0 + ((i + 1) as f64) * 0.012_345),
            status: "TRADING",
            symbol,
        });
    }
    out
}
