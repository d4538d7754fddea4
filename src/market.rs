//! The market's vocabulary, shared by every layer: which ticker (`TickerKind`, with its
//! endpoint, weight and fields), what one request selects (`Selection`), one symbol's ticker as
//! Binance sent it (`Ticker`), and one streamed update (`Update`). Imports nothing of the crate.

use std::time::SystemTime;

/// Which ticker endpoint to ask (`--ticker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TickerKind {
    /// `/api/v3/ticker/price`: the last price.
    Price,
    /// `/api/v3/ticker/24hr`: last price, change, high, low and volumes over 24 hours.
    #[value(name = "24h")]
    Day,
    /// `/api/v3/ticker/bookTicker`: best bid and ask.
    Book,
}

/// What one request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    /// `symbol=S`: answered with one object.
    One(&'a str),
    /// `symbols=["A","B"]`: answered with an array in the asked order.
    Many(&'a [String]),
    /// No selection: every symbol the exchange lists.
    All,
}

impl TickerKind {
    /// The endpoint, relative to the base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::Price => "api/v3/ticker/price",
            Self::Day => "api/v3/ticker/24hr",
            Self::Book => "api/v3/ticker/bookTicker",
        }
    }

    /// `price`, `24h` or `book`, as printed and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Day => "24h",
            Self::Book => "book",
        }
    }

    /// Request weight of one request (binance-api.md, "Endpoints used").
    pub fn weight(self, selection: Selection<'_>) -> u32 {
        match (self, selection) {
            (_, Selection::One(_)) => 2,
            (Self::Price | Self::Book, _) => 4,
            (Self::Day, Selection::Many(list)) if list.len() <= 20 => 2,
            (Self::Day, Selection::Many(list)) if list.len() <= 100 => 40,
            (Self::Day, _) => 80,
        }
    }

    /// Symbols per batch by default: the most one request may carry (100), except 24h, where
    /// 20 is the most that still costs the weight of one symbol.
    pub fn default_batch(self) -> usize {
        match self {
            Self::Day => 20,
            Self::Price | Self::Book => 100,
        }
    }

    /// The output field names, in column order; part of the output contract.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Price => &["price"],
            Self::Day => &[
                "last_price",
                "price_change",
                "price_change_percent",
                "high_price",
                "low_price",
                "volume",
                "quote_volume",
            ],
            Self::Book => &["bid_price", "bid_qty", "ask_price", "ask_qty"],
        }
    }
}

/// One symbol's ticker: the exact strings Binance sent, in the order of `kind.fields()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticker {
    /// e.g. `BTCUSDT`.
    pub symbol: String,
    /// e.g. `["97123.45000000"]` for a price; never parsed into floats.
    pub values: Vec<String>,
    /// When the price was taken (ms since the epoch): the 24h ticker's `closeTime`, otherwise
    /// when the answer arrived (the price ticker carries no time of its own).
    pub time_ms: u64,
}

impl Ticker {
    /// The first value: the price, the last price, or the bid.
    pub fn price(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }
}

/// One symbol's new values.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// e.g. `BTCUSDT`.
    pub symbol: String,
    /// The values of `--ticker`'s fields, as sent.
    pub values: Vec<String>,
    /// Binance's event time (ms since the epoch); book tickers have none.
    pub event_ms: Option<u64>,
    /// What orders one symbol's updates: the event time, or the book ticker's update id.
    pub order: u64,
    /// When this process read it.
    pub received: SystemTime,
    /// Reconnects of the connection it came on, so far.
    pub reconnects: u32,
    /// From the REST snapshot that opens a stream, not from the stream.
    pub snapshot: bool,
    /// Read from a replacement connection just after it took over (rollover, `serverShutdown`):
    /// it may repeat what the old connection delivered, the only place duplicates come from.
    pub overlap: bool,
}

impl Update {
    /// The price `--until` compares: the first value (price, last price, or bid).
    pub fn price(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }
}
