//! Value parsers for flags whose type alone cannot say what is wrong: durations, whole numbers
//! of at least 1, `--stale`. Each error says why in words, and clap names the flag.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// A whole number of at least 1 (`-c`, `--count`, `--runs`, `--weight-limit`), saying so
/// in words rather than in the integer type's.
pub(crate) fn at_least_one<N: std::str::FromStr>(s: &str) -> Result<N, String> {
    let t = s.trim();
    match t.parse::<u128>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(_) => t.parse().map_err(|_| format!("'{s}' is too large")),
        Err(_) if t.starts_with('-') => Err("must be at least 1".into()),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// `--serve`: where to listen: `PORT` (loopback), `:PORT`, `localhost:PORT`, or an IP address and
/// port (`0.0.0.0:9464`, `[::1]:9464`).
pub(crate) fn parse_addr(value: &str) -> Result<SocketAddr, String> {
    let loopback = |port: &str| {
        port.parse::<u16>()
            .map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p))
            .map_err(|_| format!("'{port}' is not a port (0 to 65535)"))
    };
    if let Some(port) = value
        .strip_prefix("localhost:")
        .or_else(|| value.strip_prefix(':'))
    {
        return loopback(port);
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return loopback(value);
    }
    value.parse().map_err(|_| {
        format!(
            "'{value}' is not an address to listen on: give a port (9464), or an IP address \
             and port (127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464)"
        )
    })
}

/// `--stale`: a duration of at least a second. Binance sends each stream at most once a second,
/// so anything shorter would replace healthy connections over and over.
pub(crate) fn parse_stale(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(1) {
        return Err(format!(
            "'{s}' is shorter than a second; streams update once a second, so give 1s or more"
        ));
    }
    Ok(d)
}

/// A positive duration: `500ms`, `2s`, `1m`, `1m30s`. Says why when it is not.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(format!(
            "'{s}' is negative; give a positive duration such as 2s"
        ));
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!("'{s}' has no unit; write {s}s or {s}ms"));
    }
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("'{s}' is not a duration ({e}); examples: 500ms, 2s, 1m"))?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

/// `--window`: a rolling window Binance serves.
pub(crate) fn parse_window(s: &str) -> Result<crate::market::Window, String> {
    crate::market::Window::parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_loopback() {
        let lo = |p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p);
        assert_eq!(parse_addr("9464"), Ok(lo(9464)));
        assert_eq!(parse_addr(":0"), Ok(lo(0)));
        assert_eq!(parse_addr("localhost:80"), Ok(lo(80)));
        assert_eq!(
            parse_addr("0.0.0.0:9464").unwrap().to_string(),
            "0.0.0.0:9464"
        );
        assert_eq!(parse_addr("[::1]:1").unwrap().to_string(), "[::1]:1");
        assert!(parse_addr("70000").unwrap_err().contains("not a port"));
        assert!(
            parse_addr("example.com:80")
                .unwrap_err()
                .contains("IP address")
        );
    }
}

/// A text flag whose shell completions offer `words` (`--candles`: the intervals; `--tz`: the
/// zones): clap takes any text, and the lowering says what is wrong in words ("1H: 1h is an
/// hour"), but `--candles <TAB>` offers the intervals rather than file names.
#[derive(Clone)]
pub(crate) struct Offers(pub(crate) fn() -> Vec<String>);

impl clap::builder::TypedValueParser for Offers {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            (self.0)()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// Binance's kline intervals, for `--candles`' completions.
pub(crate) fn intervals() -> Vec<String> {
    crate::interval::NAMES.map(str::to_owned).to_vec()
}

/// The time zones the bundled database names, and UTC, for `--tz`'s completions.
pub(crate) fn zones() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}
