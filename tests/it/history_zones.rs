//! `--candles` in a zone: daily candles open at local midnight, and a local day that a
//! daylight-saving change makes 23 or 25 hours long is one candle, built from its hours.

use crate::common;

use common::{ndjson, pricefetch, stderr};
use mock_binance::MockServer;

#[test]
fn daily_candles_open_at_local_midnight_across_a_daylight_saving_change() {
    let server = MockServer::start();
    // Paris moves from +01:00 to +02:00 on 2024-03-31.
    let out = pricefetch(&server)
        .args([
            "--candles",
            "1d",
            "--from",
            "2024-03-29",
            "--to",
            "2024-04-03",
        ])
        .args(["--tz", "Europe/Paris", "-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let opens: Vec<String> = ndjson(&out)
        .iter()
        .map(|r| r["open_time"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        opens,
        [
            "2024-03-28T23:00:00.000Z",
            "2024-03-29T23:00:00.000Z",
            "2024-03-30T23:00:00.000Z",
            "2024-03-31T22:00:00.000Z",
            "2024-04-01T22:00:00.000Z"
        ]
    );
    let mut zones: Vec<String> = crate::history::klines_hits(&server)
        .iter()
        .map(|h| h.params.get("timeZone").cloned().unwrap_or_default())
        .collect();
    zones.sort();
    assert_eq!(
        zones,
        ["", "1", "2"],
        "one request per offset, and the 23-hour day's hours"
    );
}

/// `--candles INTERVAL` rows of BTCUSDT over [from, to) in `zone`, as ndjson objects.
fn candles(
    server: &MockServer,
    interval: &str,
    range: (&str, &str),
    zone: &str,
) -> Vec<serde_json::Value> {
    let out = pricefetch(server)
        .args(["--candles", interval, "--from", range.0, "--to", range.1])
        .args(["--tz", zone, "-f", "ndjson", "BTCUSDT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ndjson(&out)
}

/// The period `day` as its hourly candles make it: open, high, low, close, volume, quote
/// volume and trades.
fn from_hours(hours: &[serde_json::Value]) -> [String; 7] {
    let dec = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    let high = hours
        .iter()
        .max_by(|a, b| dec(&a["high"]).total_cmp(&dec(&b["high"])))
        .unwrap();
    let low = hours
        .iter()
        .min_by(|a, b| dec(&a["low"]).total_cmp(&dec(&b["low"])))
        .unwrap();
    // Sums in units of 1e-8, exactly (every mock volume has 8 places).
    let sum = |field: &str| {
        let units: i128 = hours
            .iter()
            .map(|h| {
                h[field]
                    .as_str()
                    .unwrap()
                    .replace('.', "")
                    .parse::<i128>()
                    .unwrap()
            })
            .sum();
        let digits = format!("{units:09}");
        format!(
            "{}.{}",
            &digits[..digits.len() - 8],
            &digits[digits.len() - 8..]
        )
    };
    let trades: u64 = hours.iter().map(|h| h["trades"].as_u64().unwrap()).sum();
    [
        text(&hours[0]["open"]),
        text(&high["high"]),
        text(&low["low"]),
        text(&hours[hours.len() - 1]["close"]),
        sum("volume"),
        sum("quote_volume"),
        trades.to_string(),
    ]
}

fn values(row: &serde_json::Value) -> [String; 7] {
    let text = |f: &str| row[f].as_str().unwrap().to_owned();
    [
        text("open"),
        text("high"),
        text("low"),
        text("close"),
        text("volume"),
        text("quote_volume"),
        row["trades"].as_u64().unwrap().to_string(),
    ]
}

/// The open times of candle rows.
fn opens(rows: &[serde_json::Value]) -> Vec<&str> {
    rows.iter()
        .map(|r| r["open_time"].as_str().unwrap())
        .collect()
}

/// `row` is the period [from, to) built from its `hours` hourly candles, closing at `to`.
fn built_from_hours(
    server: &MockServer,
    row: &serde_json::Value,
    (from, to): (&str, &str),
    hours: usize,
) {
    let parts = candles(server, "1h", (from, to), "UTC");
    assert_eq!(parts.len(), hours);
    assert_eq!(values(row), from_hours(&parts));
    let last = parts[hours - 1]["close_time"].as_str().unwrap();
    assert_eq!(row["close_time"], last);
}

#[test]
fn one_candle_per_local_day_across_both_daylight_saving_changes() {
    let server = MockServer::start();
    // Autumn: four local days, the 27th of 25 hours (Binance at +02:00 would add a fifth).
    let days = candles(&server, "1d", ("2024-10-25", "2024-10-29"), "Europe/Paris");
    let want = [
        "2024-10-24T22",
        "2024-10-25T22",
        "2024-10-26T22",
        "2024-10-27T23",
    ];
    assert_eq!(opens(&days), want.map(|h| format!("{h}:00:00.000Z")));
    built_from_hours(
        &server,
        &days[2],
        ("2024-10-26T22:00Z", "2024-10-27T23:00Z"),
        25,
    );
    // Spring: the 23-hour 31 March, its close at local midnight, its volume counted once.
    let days = candles(&server, "1d", ("2024-03-30", "2024-04-02"), "Europe/Paris");
    let want = ["2024-03-29T23", "2024-03-30T23", "2024-03-31T22"];
    assert_eq!(opens(&days), want.map(|h| format!("{h}:00:00.000Z")));
    built_from_hours(
        &server,
        &days[1],
        ("2024-03-30T23:00Z", "2024-03-31T22:00Z"),
        23,
    );
    // Weeks and months: one each, the one holding the change built from its hours.
    let weeks = candles(&server, "1w", ("2024-10-14", "2024-11-04"), "Europe/Paris");
    assert_eq!(weeks.len(), 3, "{weeks:?}");
    let months = candles(&server, "1M", ("2024-09-01", "2024-12-01"), "Europe/Paris");
    let want = ["2024-08-31T22", "2024-09-30T22", "2024-10-31T23"];
    assert_eq!(opens(&months), want.map(|h| format!("{h}:00:00.000Z")));
    built_from_hours(
        &server,
        &months[1],
        ("2024-09-30T22:00Z", "2024-10-31T23:00Z"),
        745,
    );
}
