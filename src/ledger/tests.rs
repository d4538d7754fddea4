//! The ledger's transactions, file safety and budget keys, against real files in a
//! temporary directory.

use super::*;
use std::os::unix::fs::PermissionsExt;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pricefetch-ledger-{name}-{}-{}",
        std::process::id(),
        unix_ms()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn url() -> Url {
    "http://127.0.0.1:8731".parse().unwrap()
}

/// 20 s into a wall-clock minute.
const T: u64 = 1_700_000_000_000;

fn used(step: Step<Verdict>) -> u32 {
    match step {
        Step::Done(Verdict::Reserved { used, .. }) => used,
        other => panic!("not reserved: {other:?}"),
    }
}

#[test]
fn reservations_add_up_and_stop_at_the_budget() {
    let dir = temp_dir("budget");
    let mut a = Ledger::open(&dir, &url()).unwrap();
    let mut b = Ledger::open(&dir, &url()).unwrap();
    let now = T + 20_000;
    let minute = now / 60_000;
    assert_eq!(
        a.lease(Ask::exactly(4), 10, now),
        Step::Done(Verdict::Reserved {
            minute,
            used: 4,
            granted: 4
        })
    );
    assert_eq!(used(b.lease(Ask::exactly(4), 10, now)), 8);
    assert_eq!(
        a.lease(Ask::exactly(4), 10, now),
        Step::Done(Verdict::Full { used: 8 })
    );
    // A request that never reached the server gives its weight back.
    assert_eq!(b.refund(minute, 4, now), Step::Done(()));
    assert_eq!(used(a.lease(Ask::exactly(4), 10, now)), 8);
    // The server's own count raises the ledger's.
    let seen = Ask {
        seen: Some((minute, 9)),
        ..Ask::exactly(1)
    };
    assert_eq!(used(a.lease(seen, 10, now)), 10);
    // The next minute starts from nothing.
    assert_eq!(used(b.lease(Ask::exactly(4), 10, now + 60_000)), 4);
    assert_eq!(path_for(&dir, &url()), dir.join("127.0.0.1_8731.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_lease_takes_what_is_left_and_gives_back_its_rest() {
    let dir = temp_dir("lease");
    let mut a = Ledger::open(&dir, &url()).unwrap();
    let now = T;
    let minute = now / 60_000;
    let big = Ask {
        want: 30,
        at_least: 2,
        ..Ask::default()
    };
    assert!(matches!(
        a.lease(big, 19, now),
        Step::Done(Verdict::Reserved {
            granted: 19,
            used: 19,
            ..
        })
    ));
    // 5 of those 19 unused, given back while asking for 2 more.
    let again = Ask {
        back: Some((minute, 5)),
        ..Ask::exactly(2)
    };
    assert_eq!(used(a.lease(again, 19, now)), 16);
    // Only looking (for a pause or a ban) reserves nothing.
    assert_eq!(used(a.lease(Ask::default(), 19, now)), 16);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pauses_and_bans_hold_for_every_process_until_they_end() {
    let dir = temp_dir("pause");
    let mut a = Ledger::open(&dir, &url()).unwrap();
    let mut b = Ledger::open(&dir, &url()).unwrap();
    let now = T + 1_000;
    assert_eq!(a.pause(now + 30_000, now), Step::Done(()));
    assert_eq!(
        b.lease(Ask::exactly(2), 100, now),
        Step::Done(Verdict::Paused {
            until_ms: now + 30_000
        })
    );
    assert!(matches!(
        b.lease(Ask::exactly(2), 100, now + 30_001),
        Step::Done(Verdict::Reserved { .. })
    ));
    assert_eq!(a.ban(now + 120_000, now), Step::Done(()));
    assert_eq!(
        b.lease(Ask::exactly(2), 100, now + 40_000),
        Step::Done(Verdict::Banned {
            until_ms: now + 120_000
        })
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_file_is_kept_aside_then_replaced_once() {
    let dir = temp_dir("corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(path_for(&dir, &url()), "garbage\u{0}").unwrap();
    let mut a = Ledger::open(&dir, &url()).unwrap();
    assert!(matches!(
        a.lease(Ask::exactly(2), 10, T),
        Step::Done(Verdict::Reserved { used: 2, .. })
    ));
    let said = a.take_replaced().unwrap();
    assert!(
        said.contains("unreadable") && said.contains("kept as"),
        "{said}"
    );
    let aside = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().contains(".damaged-"))
        .expect("a copy kept aside");
    assert_eq!(std::fs::read(aside.path()).unwrap(), b"garbage\0");
    assert!(matches!(
        a.lease(Ask::exactly(2), 10, T),
        Step::Done(Verdict::Reserved { used: 4, .. })
    ));
    assert_eq!(a.take_replaced(), None);
    // Over the size cap (a symlink to /dev/zero is refused before this: not followed).
    std::fs::write(path_for(&dir, &url()), vec![b' '; 10_000]).unwrap();
    assert!(matches!(a.lease(Ask::exactly(2), 10, T), Step::Done(_)));
    assert!(a.take_replaced().unwrap().contains("over 8192 bytes"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_newer_or_older_file_never_loses_a_pause_or_a_ban() {
    let dir = temp_dir("version");
    std::fs::create_dir_all(&dir).unwrap();
    let path = path_for(&dir, &url());
    let mut a = Ledger::open(&dir, &url()).unwrap();
    // A newer pricefetch's file, with a ban and a field this version does not know.
    let newer = format!(
        r#"{{"version":2,"host":"x","minute":0,"used":0,"paused_until_ms":0,"banned_until_ms":{},"shiny":true}}"#,
        T + 60_000
    );
    std::fs::write(&path, &newer).unwrap();
    assert_eq!(
        a.lease(Ask::exactly(2), 10, T),
        Step::Done(Verdict::Banned {
            until_ms: T + 60_000
        })
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        newer,
        "left as it is"
    );
    // Once its ban is over, this version cannot coordinate through it.
    assert!(matches!(
        a.lease(Ask::exactly(2), 10, T + 120_000),
        Step::Uncoordinated(why) if why.contains("newer pricefetch")
    ));
    // Our version with an unknown field: read, and the pause kept.
    std::fs::write(
        &path,
        format!(
            r#"{{"version":1,"paused_until_ms":{},"extra":1}}"#,
            T + 5_000
        ),
    )
    .unwrap();
    assert_eq!(
        a.lease(Ask::exactly(2), 10, T),
        Step::Done(Verdict::Paused {
            until_ms: T + 5_000
        })
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_far_future_ban_is_read_as_three_days() {
    let dir = temp_dir("future");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        path_for(&dir, &url()),
        r#"{"version":1,"host":"x","minute":0,"used":0,"paused_until_ms":0,"banned_until_ms":99999999999999999}"#,
    )
    .unwrap();
    let mut a = Ledger::open(&dir, &url()).unwrap();
    assert_eq!(
        a.lease(Ask::exactly(2), 10, T),
        Step::Done(Verdict::Banned {
            until_ms: T + 3 * 24 * 3600 * 1000
        })
    );
    assert!(a.take_replaced().unwrap().contains("longest ban (3 days)"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_lock_held_elsewhere_is_busy_then_uncoordinated() {
    let dir = temp_dir("lock");
    let mut a = Ledger::open(&dir, &url()).unwrap();
    let holder = File::open(path_for(&dir, &url())).unwrap();
    holder.lock().unwrap();
    assert_eq!(a.lease(Ask::exactly(2), 10, T), Step::Busy);
    a.busy_since = Some(Instant::now() - LOCK_PATIENCE - Duration::from_millis(1));
    assert!(
        matches!(a.lease(Ask::exactly(2), 10, T), Step::Uncoordinated(why) if why.contains("locked"))
    );
    holder.unlock().unwrap();
    assert!(matches!(a.lease(Ask::exactly(2), 10, T), Step::Done(_)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[allow(unsafe_code, reason = "umask(2) set and restored around the check")]
fn the_directory_and_file_are_private_and_never_followed() {
    let dir = temp_dir("private");
    // SAFETY: umask only changes this process's file-creation mask; other tests create
    // files too, which is why it is put back at once.
    let old = unsafe { libc::umask(0) };
    let opened = Ledger::open(&dir, &url());
    unsafe { libc::umask(old) };
    opened.unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&path_for(&dir, &url())), 0o600);
    // A symbolic link planted at the file's place is not followed, and its target untouched.
    let target = dir.join("precious");
    std::fs::write(&target, "keep me").unwrap();
    std::fs::remove_file(path_for(&dir, &url())).unwrap();
    std::os::unix::fs::symlink(&target, path_for(&dir, &url())).unwrap();
    let err = Ledger::open(&dir, &url()).unwrap_err();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    // A directory that is a symbolic link is refused too.
    let link = temp_dir("private-link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    assert!(
        Ledger::open(&link, &url())
            .unwrap_err()
            .contains("symbolic link")
    );
    // Ours but open to others: made private.
    std::fs::remove_file(path_for(&dir, &url())).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    Ledger::open(&dir, &url()).unwrap();
    assert_eq!(mode(&dir), 0o700);
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stream_attempts_share_one_window_across_processes() {
    let dir = temp_dir("attempts");
    let mut a = Ledger::open(&dir, &url()).unwrap();
    let mut b = Ledger::open(&dir, &url()).unwrap();
    for i in 0..ATTEMPTS {
        let ledger = if i % 2 == 0 { &mut a } else { &mut b };
        assert_eq!(ledger.stream_attempt(T), Step::Done(None));
    }
    // The 301st, from either process, waits for the oldest to leave the window.
    assert_eq!(
        b.stream_attempt(T + 10_000),
        Step::Done(Some(Duration::from_secs(290)))
    );
    assert_eq!(a.stream_attempt(T + 300_000), Step::Done(None));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_ledger_deleted_under_a_process_is_rejoined() {
    let dir = temp_dir("deleted");
    let mut a = Ledger::open(&dir, &url()).unwrap();
    let mut b = Ledger::open(&dir, &url()).unwrap();
    assert_eq!(used(a.lease(Ask::exactly(2), 100, T)), 2);
    std::fs::remove_file(path_for(&dir, &url())).unwrap();
    // b starts a new file; a must count in it, not in the deleted one.
    assert_eq!(used(b.lease(Ask::exactly(2), 100, T)), 2);
    assert_eq!(used(a.lease(Ask::exactly(2), 100, T)), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binances_hosts_share_one_budget_and_others_go_by_address() {
    let key = |u: &str| budget_key(&u.parse().unwrap());
    for host in [
        "https://api.binance.com",
        "https://api-gcp.binance.com",
        "https://api3.binance.com",
        "https://data-api.binance.vision",
    ] {
        assert_eq!(key(host), "api.binance.com", "{host}");
    }
    assert_eq!(key("http://localhost:8731"), key("http://127.0.0.1:8731"));
    assert_eq!(key("http://127.0.0.1:8731"), "127.0.0.1:8731");
    assert_eq!(key("http://[::1]:8731"), "127.0.0.1:8731");
    assert_ne!(key("http://127.0.0.1:8731"), key("http://127.0.0.1:8732"));
    assert_eq!(
        key("https://no-such-host.invalid"),
        "no-such-host.invalid:443"
    );
}

#[test]
fn a_directory_that_cannot_be_made_is_reported() {
    let dir = temp_dir("file");
    std::fs::create_dir_all(&dir).unwrap();
    let blocker = dir.join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let err = Ledger::open(&blocker.join("state"), &url()).unwrap_err();
    assert!(err.contains("cannot create"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
