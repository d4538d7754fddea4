//! The JSON output contract: real output of every mode validates against schema/.

use crate::common;

use std::time::Duration;

use common::pricefetch;
use mock_binance::{ANY, Fault, MockServer};
use serde_json::{Value, json};

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/report.schema.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{doc:#}");
}

fn json_of(server: &MockServer, args: &[&str]) -> Value {
    let out = pricefetch(server)
        .args(["-f", "json"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[test]
fn every_json_mode_matches_the_schema() {
    let validator = jsonschema::validator_for(&schema()).expect("the schema is valid");
    let server = MockServer::with_latency(Duration::from_millis(5));
    server.always("SOLUSDT", Fault::Status(503));
    server.always("BNBUSDT", Fault::GeoBlock);
    let cases: [(&str, &[&str]); 15] = [
        ("in EUR", &["--in", "EUR", "BTC", "ADA", "EUR", "NOPE"]),
        ("avg", &["--ticker", "avg", "BTCUSDT", "NOSUCHCOIN"]),
        (
            "window",
            &[
                "--window",
                "4h",
                "--strategy",
                "batch",
                "BTCUSDT",
                "ETHUSDT",
            ],
        ),
        (
            "trading day",
            &["--ticker", "day", "--tz", "+05:45", "BTCUSDT"],
        ),
        (
            "24h",
            &["--ticker", "24h", "BTCUSDT", "ETHUSDT", "NOSUCHCOIN"],
        ),
        (
            "book",
            &[
                "--ticker",
                "book",
                "--strategy",
                "batch",
                "ETHBTC",
                "BTCUSDT",
            ],
        ),
        ("whole market", &["--all", "--quote", "BTC"]),
        (
            "24h whole market",
            &["--all", "--ticker", "24h", "--match", "S*"],
        ),
        (
            "batch with isolation",
            &["--strategy", "batch", "BTCUSDT", "NOSUCHCOIN", "ETHUSDT"],
        ),
        ("prices", &["BTCUSDT", "PEPEUSDT"]),
        (
            "failures",
            &["BTCUSDT", "NOSUCHCOIN", "SOLUSDT", "BNBUSDT", "-r", "0"],
        ),
        ("sync", &["--sync", "BTCUSDT", "ETHUSDT"]),
        (
            "compare",
            &["--compare", "--runs", "2", "BTCUSDT", "ETHUSDT"],
        ),
        (
            "compare with failures",
            &["--compare", "--runs", "1", "NOSUCHCOIN"],
        ),
        ("deadline", &["--deadline", "1ms", "BTCUSDT", "ETHUSDT"]),
    ];
    for (what, args) in cases {
        assert_valid(&validator, &json_of(&server, args), what);
    }
}

#[test]
fn an_all_failed_run_matches_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let server = MockServer::start();
    server.always(
        ANY,
        Fault::Ban {
            retry_after_secs: 60,
        },
    );
    let doc = json_of(&server, &["-c", "1", "BTCUSDT", "ETHUSDT"]);
    assert_eq!(doc["ok"], 0);
    assert_valid(&validator, &doc, "banned");
}

#[test]
fn every_ndjson_line_is_a_result() {
    let schema = schema();
    let result = jsonschema::validator_for(&json!({
        "$defs": schema["$defs"],
        "$ref": "#/$defs/result",
    }))
    .unwrap();
    let server = MockServer::start();
    let out = pricefetch(&server)
        .args(["-f", "ndjson", "BTCUSDT", "NOSUCHCOIN", "XRPUSDT"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        assert_valid(&result, &serde_json::from_str(line).unwrap(), line);
    }
}

#[test]
fn watch_output_matches_the_schema() {
    let schema = schema();
    let report = jsonschema::validator_for(&schema).unwrap();
    let result = jsonschema::validator_for(&json!({
        "$defs": schema["$defs"],
        "$ref": "#/$defs/result",
    }))
    .unwrap();
    let server = MockServer::start();
    for (format, validator) in [("json", &report), ("ndjson", &result)] {
        let out = pricefetch(&server)
            .args([
                "--watch",
                "1s",
                "--count",
                "1",
                "-f",
                format,
                "BTCUSDT",
                "NOSUCHCOIN",
            ])
            .output()
            .unwrap();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            assert_valid(validator, &serde_json::from_str(line).unwrap(), line);
        }
    }
}

#[test]
fn the_schema_rejects_what_it_should() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let server = MockServer::start();
    let mut doc = json_of(&server, &["BTCUSDT"]);
    doc["results"][0]["price"] = json!(97123.45);
    assert!(!validator.is_valid(&doc), "a float price must be refused");
    let mut doc = json_of(&server, &["BTCUSDT"]);
    doc["results"][0]["error"] =
        json!({"kind": "api", "status": 400, "code": -1121, "message": "x"});
    assert!(
        !validator.is_valid(&doc),
        "price and error together must be refused"
    );
}
