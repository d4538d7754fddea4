//! The market's vocabulary, shared by every layer: which ticker (`TickerKind`, with its
//! endpoint, weight and fields), what one request selects (`Selection`), one symbol's ticker as
//! Binance sent it (`Ticker`), and one streamed update (`Update`). Imports nothing of the crate.

use std::time::SystemTime;

/// Which of Binance's exchanges a run talks to (`--market`): spot, or a futures market. Each
/// has its own hosts, symbols and budget; the futures endpoints mirror spot's names under their
/// own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Market {
    /// `api.binance.com`, `/api/v3`.
    #[default]
    Spot,
    /// USDⓈ-margined futures: `fapi.binance.com`, `/fapi/v1`.
    Usdm,
    /// Coin-margined futures: `dapi.binance.com`, `/dapi/v1`; answers arrays always.
    Coinm,
}

impl Market {
    /// `spot`, `usdm` or `coinm`, as `--market` takes it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Spot => "spot",
            Self::Usdm => "usdm",
            Self::Coinm => "coinm",
        }
    }

    /// The REST host a run asks when `--base-url` does not say.
    pub(crate) fn rest_host(self) -> &'static str {
        match self {
            Self::Spot => "https://api.binance.com",
            Self::Usdm => "https://fapi.binance.com",
            Self::Coinm => "https://dapi.binance.com",
        }
    }

    /// `path` (spot's, `api/v3/…`) in this market: `fapi/v1/…`, `dapi/v1/…`.
    pub(crate) fn api(self, path: &str) -> std::borrow::Cow<'_, str> {
        let prefix = match self {
            Self::Spot => return std::borrow::Cow::Borrowed(path),
            Self::Usdm => "fapi/v1/",
            Self::Coinm => "dapi/v1/",
        };
        let rest = path.strip_prefix("api/v3/").unwrap_or(path);
        std::borrow::Cow::Owned(format!("{prefix}{rest}"))
    }

    /// Whether this is a futures market.
    pub(crate) fn futures(self) -> bool {
        self != Self::Spot
    }

    /// The stream host a run connects to when `--stream-url` does not say.
    pub(crate) fn stream_host(self) -> &'static str {
        match self {
            Self::Spot => "wss://stream.binance.com:9443",
            Self::Usdm => "wss://fstream.binance.com",
            Self::Coinm => "wss://dstream.binance.com",
        }
    }

    /// Where under the stream host `kind`'s streams are served: USD-M routes its streams since
    /// 2026-04-23 (`/public` the book, `/market` the rest; an unrouted connection gets no mark
    /// price), spot and COIN-M do not.
    pub(crate) fn stream_route(self, kind: TickerKind) -> &'static str {
        match (self, kind) {
            (Self::Usdm, TickerKind::Book) => "public/",
            (Self::Usdm, _) => "market/",
            _ => "",
        }
    }

    /// Streams one connection may carry: 1,024 on spot, 200 on the futures.
    pub(crate) fn streams_per_connection(self) -> usize {
        match self {
            Self::Spot => 1024,
            Self::Usdm | Self::Coinm => 200,
        }
    }

    /// Candles one klines request asks for: spot's most, 1,000; the futures', 1,500.
    pub(crate) fn klines_page(self) -> u32 {
        match self {
            Self::Spot => 1000,
            Self::Usdm | Self::Coinm => 1500,
        }
    }

    /// The weight of one klines request for `limit` candles: 2 on spot; on the futures 1
    /// under 100, 2 under 500, 5 up to 1,000 and 10 above.
    pub(crate) fn klines_weight(self, limit: u32) -> u32 {
        match (self, limit) {
            (Self::Spot, _) => KLINES_WEIGHT,
            (_, 0..100) => 1,
            (_, 100..500) => 2,
            (_, 500..=1000) => 5,
            _ => 10,
        }
    }

    /// The weight of one `aggTrades` request: 4 on spot, 20 on the futures.
    pub(crate) fn agg_trades_weight(self) -> u32 {
        match self {
            Self::Spot => AGG_TRADES_WEIGHT,
            Self::Usdm | Self::Coinm => 20,
        }
    }

    /// The one stream of every symbol for `kind` (`--stream --all`): the mini tickers, or
    /// USD-M's mark prices every second; `None` where there is none (COIN-M streams its mark
    /// prices a symbol or a pair at a time: `--all` follows each contract the snapshot found).
    pub(crate) fn all_stream(self, kind: TickerKind) -> Option<&'static str> {
        match (self, kind) {
            (Self::Coinm, TickerKind::Mark) => None,
            (_, TickerKind::Mark) => Some("!markPrice@arr@1s"),
            _ => Some("!miniTicker@arr"),
        }
    }
}

/// Which ticker endpoint to ask (`--ticker`, `--window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TickerKind {
    /// `/api/v3/ticker/price`: the last price.
    Price,
    /// `/api/v3/ticker/24hr`: last price, change, high, low and volumes over 24 hours.
    Day,
    /// `/api/v3/ticker/bookTicker`: best bid and ask.
    Book,
    /// `/api/v3/avgPrice`: the average price over the last minutes (one symbol a request).
    Avg,
    /// `/api/v3/ticker` with `windowSize`: the 24h fields over a rolling window.
    Window(Window),
    /// `/api/v3/ticker/tradingDay` with `timeZone`: the 24h fields over the calendar day so
    /// far, in that zone.
    TradingDay(Offset),
    /// Futures only, `premiumIndex`: the mark and index prices and the funding rate.
    Mark,
}

/// A rolling window as Binance takes it: 1m…59m, 1h…23h or 1d…7d, units not combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    amount: u8,
    unit: u8,
}

impl Window {
    /// `15m`, `4h`, `7d`; says which sizes exist when `text` is not one.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "'{text}' is not a window Binance serves: give 1m to 59m, 1h to 23h or 1d to 7d \
                 (one unit, e.g. 15m)"
            )
        };
        let t = text.trim();
        let (digits, unit) = t.split_at(t.len().saturating_sub(1));
        let amount: u8 = digits.parse().map_err(|_| bad())?;
        let most = match unit {
            "m" => 59,
            "h" => 23,
            "d" => 7,
            _ => return Err(bad()),
        };
        if !(1..=most).contains(&amount) || digits.starts_with('0') {
            return Err(bad());
        }
        Ok(Self {
            amount,
            unit: unit.as_bytes()[0],
        })
    }

    /// As Binance's `windowSize` takes it, and as printed: `15m`.
    pub(crate) fn param(self) -> String {
        format!("{}{}", self.amount, char::from(self.unit))
    }
}

/// A fixed offset from UTC in minutes, as `tradingDay`'s `timeZone` takes it
/// (`-12:00` … `+14:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Offset(pub i16);

impl Offset {
    /// As Binance's `timeZone` takes it: `0`, `8`, `5:45`, `-3:30`.
    pub(crate) fn param(self) -> String {
        let (sign, m) = if self.0 < 0 {
            ("-", -self.0)
        } else {
            ("", self.0)
        };
        match (m / 60, m % 60) {
            (h, 0) => format!("{sign}{h}"),
            (h, min) => format!("{sign}{h}:{min:02}"),
        }
    }

    /// As people read it: `UTC`, `UTC+05:45`, `UTC-03:30`.
    pub(crate) fn label(self) -> String {
        if self.0 == 0 {
            return "UTC".into();
        }
        let sign = if self.0 < 0 { '-' } else { '+' };
        let m = self.0.unsigned_abs();
        format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

/// What one request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection<'a> {
    /// `symbol=S`: answered with one object.
    One(&'a str),
    /// `symbols=["A","B"]`: answered with an array in the asked order.
    Many(&'a [String]),
    /// No selection: every symbol the exchange lists.
    All,
}

impl TickerKind {
    /// The endpoint, relative to the base URL.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Price => "api/v3/ticker/price",
            Self::Day => "api/v3/ticker/24hr",
            Self::Book => "api/v3/ticker/bookTicker",
            Self::Avg => "api/v3/avgPrice",
            Self::Window(_) => "api/v3/ticker",
            Self::TradingDay(_) => "api/v3/ticker/tradingDay",
            // A futures endpoint: `Market::api` gives it its prefix.
            Self::Mark => "api/v3/premiumIndex",
        }
    }

    /// The endpoint's own parameter, if it has one: `windowSize` or `timeZone`.
    pub(crate) fn param(self) -> Option<(&'static str, String)> {
        match self {
            Self::Window(w) => Some(("windowSize", w.param())),
            Self::TradingDay(tz) => Some(("timeZone", tz.param())),
            Self::Price | Self::Day | Self::Book | Self::Avg | Self::Mark => None,
        }
    }

    /// `price`, `24h`, `book`, `avg`, `window` or `day`, as printed and in JSON.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Day => "24h",
            Self::Book => "book",
            Self::Avg => "avg",
            Self::Window(_) => "window",
            Self::TradingDay(_) => "day",
            Self::Mark => "mark",
        }
    }

    /// Request weight of one request (binance-api.md, "Endpoints used").
    pub(crate) fn weight(self, selection: Selection<'_>) -> u32 {
        let per_symbol = |n: usize| if n > 50 { 200 } else { 4 * n as u32 };
        match (self, selection) {
            (Self::Mark, Selection::All) => 10,
            (Self::Mark, _) => 1,
            (Self::Window(_) | Self::TradingDay(_), Selection::One(_)) => 4,
            (Self::Window(_) | Self::TradingDay(_), Selection::Many(list)) => {
                per_symbol(list.len())
            }
            (Self::Window(_) | Self::TradingDay(_), Selection::All) => 200,
            (_, Selection::One(_)) => 2,
            (Self::Price | Self::Book | Self::Avg, _) => 4,
            (Self::Day, Selection::Many(list)) if list.len() <= 20 => 2,
            (Self::Day, Selection::Many(list)) if list.len() <= 100 => 40,
            (Self::Day, _) => 80,
        }
    }

    /// [`TickerKind::weight`] in `market`: on the futures, the price ticker weighs 1 for a symbol
    /// and 2 for all, the book 2 and 5, the 24-hour ticker 1 and 40 (binance-api.md, "Futures").
    pub(crate) fn weight_in(self, market: Market, selection: Selection<'_>) -> u32 {
        match (market.futures(), self, selection) {
            (true, Self::Price, Selection::All) => 2,
            (true, Self::Price, _) => 1,
            (true, Self::Book, Selection::All) => 5,
            (true, Self::Day, Selection::All) => 40,
            (true, Self::Day, _) => 1,
            _ => self.weight(selection),
        }
    }

    /// Symbols per batch by default: the most one request may carry (100), except 24h, where
    /// 20 is the most that still costs the weight of one symbol, and avg, which takes one.
    pub(crate) fn default_batch(self) -> usize {
        match self {
            Self::Day => 20,
            Self::Avg | Self::Mark => 1,
            Self::Price | Self::Book | Self::Window(_) | Self::TradingDay(_) => 100,
        }
    }

    /// The WebSocket stream that follows this ticker (`<symbol>@…`), if `--stream` serves it.
    pub(crate) fn stream(self) -> Option<&'static str> {
        match self {
            Self::Price => Some("miniTicker"),
            Self::Day => Some("ticker"),
            Self::Book => Some("bookTicker"),
            Self::Mark => Some("markPrice@1s"),
            Self::Avg | Self::Window(_) | Self::TradingDay(_) => None,
        }
    }

    /// Whether one request may ask for many symbols (`symbols=[…]`) or the whole market.
    pub(crate) fn batches(self) -> bool {
        self != Self::Avg
    }

    /// Whether the endpoint takes `symbolStatus` (avgPrice does not).
    pub(crate) fn filters_status(self) -> bool {
        !matches!(self, Self::Avg | Self::Mark)
    }

    /// The output field names, in column order; part of the output contract.
    pub(crate) fn fields(self) -> &'static [&'static str] {
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
            Self::Avg => &["price", "mins"],
            // Rates exact, as sent; a quarterly's funding fields are empty (it has none).
            Self::Mark => &[
                "mark_price",
                "index_price",
                "estimated_settle_price",
                "funding_rate",
                "interest_rate",
                "next_funding_time",
            ],
            Self::Window(_) | Self::TradingDay(_) => Self::Day.fields(),
        }
    }
}

/// One symbol's ticker: the exact strings Binance sent, in the order of `kind.fields()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ticker {
    /// e.g. `BTCUSDT`.
    pub(crate) symbol: String,
    /// e.g. `["97123.45000000"]` for a price; never parsed into floats.
    pub(crate) values: Vec<String>,
    /// When the price was taken (ms since the epoch): the `closeTime` of the 24h, rolling,
    /// trading-day and average tickers, otherwise when the answer arrived (the price and book
    /// tickers carry no time of their own).
    pub(crate) time_ms: u64,
}

impl Ticker {
    /// The first value: the price, the last price, or the bid.
    pub(crate) fn price(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }
}

/// One symbol's new values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Update {
    /// e.g. `BTCUSDT`.
    pub(crate) symbol: String,
    /// The values of `--ticker`'s fields, as sent.
    pub(crate) values: Vec<String>,
    /// Binance's event time (ms since the epoch); book tickers have none.
    pub(crate) event_ms: Option<u64>,
    /// What orders one symbol's updates: the event time, or the book ticker's update id.
    pub(crate) order: u64,
    /// When this process read it.
    pub(crate) received: SystemTime,
    /// Reconnects of the connection it came on, so far.
    pub(crate) reconnects: u32,
    /// From the REST snapshot that opens a stream, not from the stream.
    pub(crate) snapshot: bool,
    /// Read from a replacement connection just after it took over (rollover, `serverShutdown`):
    /// it may repeat what the old connection delivered, the only place duplicates come from.
    pub(crate) overlap: bool,
}

impl Update {
    /// The price `--until` compares: the first value (price, last price, or bid).
    pub(crate) fn price(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }
}

/// Request weight of one `klines` (or `uiKlines`) request, and of one `aggTrades` request.
pub(crate) const KLINES_WEIGHT: u32 = 2;
/// See [`KLINES_WEIGHT`].
pub(crate) const AGG_TRADES_WEIGHT: u32 = 4;

/// One candle (kline) as Binance sent it: times in ms (read from ms or µs), decimals exact.
/// Its six decimals share one string (a year of 1m candles is half a million of them: one
/// allocation each, not six).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candle {
    /// When it opens, ms since the epoch (what identifies it).
    pub(crate) open_ms: i64,
    /// Its last millisecond.
    pub(crate) close_ms: i64,
    /// Trades in it: 0 for an interval without any (its prices repeat the previous close).
    pub(crate) trades: u64,
    /// Open, high, low, close, volume, quote volume, one after another.
    text: String,
    /// Where each of them ends in `text`.
    ends: [u16; 6],
}

impl Candle {
    /// A candle of these values: open, high, low, close, base volume, quote volume.
    pub(crate) fn new(open_ms: i64, values: [&str; 6], trades: u64, close_ms: i64) -> Self {
        let mut text = String::with_capacity(values.iter().map(|v| v.len()).sum());
        let mut ends = [0u16; 6];
        for (end, v) in ends.iter_mut().zip(values) {
            text.push_str(v);
            *end = u16::try_from(text.len()).unwrap_or(u16::MAX);
        }
        Self {
            open_ms,
            close_ms,
            trades,
            text,
            ends,
        }
    }

    fn field(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text
            .get(usize::from(start)..usize::from(self.ends[i]))
            .unwrap_or_default()
    }

    /// The last trade's price (the previous close when nothing traded).
    pub(crate) fn close(&self) -> &str {
        self.field(3)
    }
    /// Open, high, low, close, volume, quote volume.
    pub(crate) fn values(&self) -> [&str; 6] {
        [0, 1, 2, 3, 4, 5].map(|i| self.field(i))
    }
}

/// One funding of a perpetual: when, its rate (exact, may be negative), the mark price then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FundingRate {
    pub(crate) time_ms: i64,
    pub(crate) rate: String,
    /// Empty when Binance did not say.
    pub(crate) mark: String,
}

/// One aggregate trade: its id, price and time (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trade {
    /// Binance's aggregate trade id (`a`).
    pub(crate) id: u64,
    /// The price, as Binance wrote it.
    pub(crate) price: String,
    /// When, ms since the epoch.
    pub(crate) time_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_binance_sizes_only() {
        for good in ["1m", "15m", "59m", "1h", "23h", "1d", "7d"] {
            assert_eq!(Window::parse(good).unwrap().param(), good);
        }
        for bad in [
            "0m", "60m", "24h", "8d", "1h30m", "15", "m", "1w", "015m", "",
        ] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_are_written_as_binance_reads_them() {
        assert_eq!(Offset(0).param(), "0");
        assert_eq!(Offset(480).param(), "8");
        assert_eq!(Offset(345).param(), "5:45");
        assert_eq!(Offset(-210).param(), "-3:30");
        assert_eq!(Offset(-210).label(), "UTC-03:30");
    }

    #[test]
    fn rolling_and_trading_day_weights_are_4_a_symbol_capped_at_200() {
        let list = |n: usize| -> Vec<String> { (0..n).map(|i| format!("S{i}")).collect() };
        let w = TickerKind::Window(Window::parse("15m").unwrap());
        assert_eq!(w.weight(Selection::One("X")), 4);
        assert_eq!(w.weight(Selection::Many(&list(50))), 200);
        assert_eq!(w.weight(Selection::Many(&list(10))), 40);
        assert_eq!(w.weight(Selection::Many(&list(51))), 200);
        assert_eq!(
            TickerKind::TradingDay(Offset(0)).weight(Selection::Many(&list(3))),
            12
        );
        assert_eq!(TickerKind::Avg.weight(Selection::One("X")), 2);
    }
}
