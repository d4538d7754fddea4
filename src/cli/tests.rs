//! The clap definition: consistent, documented defaults, usage errors in words.

use super::*;
use std::num::NonZeroU32;

#[test]
fn clap_definition_is_consistent() {
    super::command().debug_assert();
}

#[test]
fn durations_accept_units_and_reject_the_rest_with_reasons() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
    assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
    assert!(parse_duration("-1s").unwrap_err().contains("negative"));
    assert!(
        parse_duration("0s")
            .unwrap_err()
            .contains("greater than zero")
    );
    assert!(parse_duration("5").unwrap_err().contains("no unit"));
    assert!(
        parse_duration("fast")
            .unwrap_err()
            .contains("not a duration")
    );
    assert!(parse_duration("").unwrap_err().contains("not a duration"));
}

#[test]
fn counts_say_they_must_be_at_least_1() {
    assert_eq!(
        at_least_one::<NonZeroUsize>("0"),
        Err("must be at least 1".into())
    );
    assert_eq!(
        at_least_one::<NonZeroUsize>("-3"),
        Err("must be at least 1".into())
    );
    assert_eq!(
        at_least_one::<NonZeroUsize>(" 8 ").map(NonZeroUsize::get),
        Ok(8)
    );
    assert!(
        at_least_one::<NonZeroU32>("99999999999")
            .unwrap_err()
            .contains("too large")
    );
    assert!(
        at_least_one::<NonZeroU32>("abc")
            .unwrap_err()
            .contains("not a whole number")
    );
}

#[test]
fn defaults_are_the_documented_ones() {
    let cli = Cli::try_parse_from(["pricefetch", "BTCUSDT"]).unwrap();
    assert_eq!(
        cli.concurrency, None,
        "16, or 64 for batches: decided with the plan"
    );
    assert_eq!(cli.fetch.timeout, Duration::from_secs(10));
    assert_eq!(cli.fetch.connect_timeout, Duration::from_secs(5));
    assert_eq!(cli.fetch.retries, 3);
    assert_eq!(cli.fetch.runs.get(), 3);
    assert_eq!(cli.fetch.warmup, 1);
    assert!(!cli.sync && !cli.compare);
}

#[test]
fn flag_conflicts_are_usage_errors() {
    for args in [
        &["pricefetch", "--sync", "--compare", "BTCUSDT"][..],
        &["pricefetch", "-c", "0", "BTCUSDT"],
        &["pricefetch", "--runs", "2", "BTCUSDT"],
        &["pricefetch", "-v", "-q", "BTCUSDT"],
        &["pricefetch", "-f", "xml", "BTCUSDT"],
    ] {
        let err = Cli::try_parse_from(args).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}");
    }
}
