//! The throttle's rules on a paused clock: pauses, bans, the minute's budget, the
//! deadline.

use super::*;

fn limited(secs: u64) -> FetchError {
    FetchError::RateLimited {
        retry_after: Some(Duration::from_secs(secs)),
        msg: String::new(),
    }
}

fn throttle(weight_limit: u32, max_wait_secs: u64) -> Throttle {
    Throttle::new(Limits {
        weight_limit,
        max_wait: Duration::from_secs(max_wait_secs),
    })
}

/// 20 s into a wall-clock minute (in ms since the epoch).
const MINUTE_20S: u64 = 1000 * 60_000 + 20_000;

fn go(a: Result<Admit, FetchError>) -> Ticket {
    match a {
        Ok(Admit::Go(t)) => t,
        other => panic!("not admitted: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_admission_until_retry_after() {
    let t = Throttle::default();
    let ticket = t.admit(2).await.unwrap();
    // (A spent minute would add a wait for the wall-clock minute; see the budget tests.)
    t.observe(ticket, Some(10), Err(&limited(2)), 0.0).await;
    let start = Instant::now();
    t.admit(2).await.unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(t.last_used_weight(), Some(10));
    assert_eq!(t.run_weight(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_max_wait_fails_at_once() {
    let t = throttle(6000, 10);
    let ticket = t.admit(2).await.unwrap();
    t.observe(ticket, None, Err(&limited(120)), 0.0).await;
    let err = t.admit(2).await.unwrap_err();
    assert!(
        matches!(&err, FetchError::Throttled { retry_after, .. } if *retry_after > Duration::from_secs(119)),
        "{err:?}"
    );
    assert!(err.to_string().contains("--max-wait 10s"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_deadline_fails_at_once_as_rate_limited() {
    let t = Throttle::default().with_deadline(Some(Instant::now() + Duration::from_secs(5)));
    let ticket = t.admit(2).await.unwrap();
    t.observe(ticket, None, Err(&limited(30)), 0.0).await;
    let err = t.admit(2).await.unwrap_err();
    assert_eq!(err.kind(), "rate_limited");
    assert!(err.to_string().contains("--deadline"), "{err}");
}

#[test]
fn a_wait_just_past_the_minute_is_within_the_default_max_wait() {
    // 0.1 s into a minute: 59.9 s to the next, plus the margin and the jitter.
    let t = Throttle::default();
    let wait = to_next_minute(1_700_000_040_100) + Duration::from_millis(250);
    assert!(wait > Duration::from_secs(60));
    assert_eq!(t.too_long(wait, Instant::now()), None);
    assert!(
        t.too_long(Duration::from_secs(61), Instant::now())
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_without_retry_after_waits_for_the_next_minute_within_max_wait() {
    let t = Throttle::default();
    let ticket = t.admit(2).await.unwrap();
    let no_header = FetchError::RateLimited {
        retry_after: None,
        msg: String::new(),
    };
    t.observe(ticket, None, Err(&no_header), 0.0).await;
    let start = Instant::now();
    t.admit(2).await.unwrap();
    let waited = start.elapsed();
    assert!(waited <= Duration::from_millis(60_600), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_ban_fails_every_later_admission_and_wakes_those_waiting() {
    let t = std::sync::Arc::new(Throttle::default());
    let ban = FetchError::Banned {
        retry_after: Some(Duration::from_secs(120)),
        until_ms: Some(1),
        msg: String::new(),
    };
    let ticket = t.admit(2).await.unwrap();
    t.observe(ticket, None, Err(&limited(30)), 0.0).await;
    let waiting = tokio::spawn({
        let t = t.clone();
        async move { t.admit(2).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = Instant::now();
    t.observe(ticket, None, Err(&ban), 0.0).await;
    assert_eq!(waiting.await.unwrap().unwrap_err(), ban);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "the ban ended the wait at once"
    );
    assert_eq!(t.admit(2).await.unwrap_err(), ban);
}

#[tokio::test(start_paused = true)]
async fn a_request_refused_at_connect_costs_no_weight() {
    let t = Throttle::default();
    let ticket = t.admit(4).await.unwrap();
    let refused = FetchError::Connect {
        host: "h".into(),
        cause: "dns error".into(),
    };
    t.observe(ticket, None, Err(&refused), 0.0).await;
    assert_eq!(t.run_weight(), 0);
}

#[test]
fn a_limit_learned_from_the_exchange_replaces_the_default() {
    let t = throttle(2400, 60);
    assert_eq!(t.limits().budget(), 2280);
    t.learn_limit(1200);
    assert_eq!(t.limits().weight_limit, 1200);
    assert_eq!(t.limits().budget(), 1140);
    let now = Instant::now();
    go(t.try_admit(1140, now, MINUTE_20S));
    // Over the learned budget: the rest of the minute is waited out.
    assert!(matches!(
        t.try_admit(1, now, MINUTE_20S),
        Ok(Admit::Wait(_))
    ));
}

#[test]
fn the_minute_budget_keeps_a_margin_and_waits_for_the_next_minute() {
    let t = throttle(20, 60);
    assert_eq!(t.limits.budget(), 19);
    let now = Instant::now();
    for _ in 0..9 {
        go(t.try_admit(2, now, MINUTE_20S));
    }
    // 18 used; 2 more would pass the budget of 19: wait out the 40 s left, plus a little.
    assert_eq!(
        t.try_admit(2, now, MINUTE_20S),
        Ok(Admit::Wait(Duration::from_millis(40_250)))
    );
    // The next minute starts from zero.
    go(t.try_admit(2, now, MINUTE_20S + 40_000));
}

#[tokio::test]
async fn the_servers_figure_counts_other_processes_on_the_same_ip() {
    let t = throttle(20, 60);
    let now = Instant::now();
    let ticket = go(t.try_admit(2, now, MINUTE_20S));
    t.observe(ticket, Some(16), Ok(()), 0.0).await;
    go(t.try_admit(2, now, MINUTE_20S));
    assert!(
        matches!(t.try_admit(2, now, MINUTE_20S), Ok(Admit::Wait(_))),
        "16 + 2 + 2 > 19"
    );
    // A figure from a minute that has passed does not count against the new one.
    let next = MINUTE_20S + 40_000;
    go(t.try_admit(2, now, next));
    t.observe(ticket, Some(19), Ok(()), 0.0).await;
    go(t.try_admit(2, now, next));
}

#[tokio::test]
async fn the_servers_count_reported_is_the_newest_whatever_order_answers_arrive_in() {
    let t = throttle(6000, 60);
    let now = Instant::now();
    let ticket = go(t.try_admit(2, now, MINUTE_20S));
    t.observe(ticket, Some(6), Ok(()), 0.0).await;
    t.observe(ticket, Some(2), Ok(()), 0.0).await;
    assert_eq!(t.last_used_weight(), Some(6));
    let next = go(t.try_admit(2, now, MINUTE_20S + 40_000));
    t.observe(next, Some(2), Ok(()), 0.0).await;
    assert_eq!(
        t.last_used_weight(),
        Some(2),
        "a new minute starts a new count"
    );
    t.observe(ticket, Some(9), Ok(()), 0.0).await;
    assert_eq!(
        t.last_used_weight(),
        Some(2),
        "a late answer from the old minute"
    );
}

#[test]
fn waiting_longer_than_max_wait_for_the_next_minute_fails() {
    let t = throttle(4, 5);
    let now = Instant::now();
    go(t.try_admit(2, now, MINUTE_20S - 10_000));
    let err = t.try_admit(2, now, MINUTE_20S - 10_000).unwrap_err();
    assert!(matches!(err, FetchError::Throttled { .. }), "{err:?}");
    assert!(err.to_string().contains("weight is spent"), "{err}");
}
