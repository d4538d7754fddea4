//! Which exchange a stream connection was opened on, and its limits: spot's 1,024 streams and
//! 5 incoming messages a second a connection; the futures' 200 and 10.

/// Most streams one spot connection may carry.
pub const MAX_STREAMS: usize = 1024;
/// Most incoming messages per second on one spot connection.
pub const MAX_CONTROL_PER_SECOND: usize = 5;

/// Where a connection was opened: which exchange, and for USD-M which route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Venue {
    Spot,
    /// `/market`: everything but the book.
    UsdmMarket,
    /// `/public`: the book (high-frequency data).
    UsdmPublic,
    Coinm,
}

impl Venue {
    /// The venue of a route's first path segment, if it is one.
    pub(crate) fn of(route: &str) -> Option<Self> {
        match route {
            "market" => Some(Self::UsdmMarket),
            "public" => Some(Self::UsdmPublic),
            "coinm" => Some(Self::Coinm),
            _ => None,
        }
    }

    /// Most streams one connection may carry.
    pub(crate) fn max_streams(self) -> usize {
        match self {
            Self::Spot => MAX_STREAMS,
            _ => 200,
        }
    }

    /// Most incoming messages a second on one connection.
    pub(crate) fn max_per_second(self) -> usize {
        match self {
            Self::Spot => MAX_CONTROL_PER_SECOND,
            _ => 10,
        }
    }

    /// COIN-M (its contracts, its arrays).
    pub(crate) fn coin(self) -> bool {
        self == Self::Coinm
    }
}
