//! Cheap managers: building one takes microseconds and starts
//! nothing; dropping managers leaves no thread or memory behind. Alone in its
//! test binary so that no other test's managers are counted.

mod support;

use std::time::{Duration, Instant};

use cortiauth::TokenManager;
use support::*;

/// Threads of this process started by cortiauth or its HTTP client (the test
/// stub's runtime starts and stops threads of its own).
#[cfg(target_os = "linux")]
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("cortiauth") || name.starts_with("reqwest"))
        .count()
}

#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Creating managers is cheap, starts nothing, and leaves nothing behind;
/// one that fetched stops its worker when dropped.
#[test]
fn managers_are_cheap() {
    let stub = Stub::start();
    building_a_manager_takes_microseconds(&stub);
    #[cfg(target_os = "linux")]
    ten_thousand_managers_leave_no_thread_or_memory_behind(&stub);
}

#[cfg(target_os = "linux")]
fn ten_thousand_managers_leave_no_thread_or_memory_behind(stub: &Stub) {
    stub.mount(token_mock(Counting::new(300.0)));
    let config = stub.config().build().unwrap();
    let base_threads = threads();
    // Warm up allocator pools and the first fetch's one-time work.
    TokenManager::new(config.clone()).unwrap().token().unwrap();
    assert!(eventually(Duration::from_secs(5), || threads() == base_threads));
    let base_rss = rss_kib();
    let start = Instant::now();
    for _ in 0..10_000 {
        let m = TokenManager::new(config.clone()).unwrap();
        assert_eq!(
            threads(),
            base_threads,
            "a manager started a thread up front"
        );
        drop(m);
    }
    let per_manager = start.elapsed() / 10_000;
    // (The thread count above is read each time: that dominates this figure.)
    assert!(
        per_manager < Duration::from_millis(1),
        "{per_manager:?} per manager"
    );
    let grown = rss_kib().saturating_sub(base_rss);
    assert!(grown < 4 * 1024, "RSS grew by {grown} KiB");

    // A blocking caller runs its token request on its own thread: no worker.
    let managers: Vec<_> = (0..20)
        .map(|_| TokenManager::new(config.clone()).unwrap())
        .collect();
    for m in &managers {
        m.token().unwrap();
    }
    assert_eq!(threads(), base_threads, "a blocking fetch started a thread");
    drop(managers);

    // Managers whose async callers fetched (on the worker): their workers end with them.
    let managers: Vec<_> = (0..20)
        .map(|_| TokenManager::new(config.clone()).unwrap())
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    for m in &managers {
        let tx = tx.clone();
        if let std::task::Poll::Ready(t) = m.token_then(move |t| tx.send(t.is_ok()).unwrap()) {
            panic!("a cold manager answered at once: {t:?}");
        }
    }
    for _ in &managers {
        assert!(rx.recv().unwrap());
    }
    assert!(threads() > base_threads);
    drop(managers);
    assert!(
        eventually(Duration::from_secs(10), || threads() <= base_threads),
        "{} threads left, {base_threads} before",
        threads()
    );
}

fn building_a_manager_takes_microseconds(stub: &Stub) {
    let config = stub.config().build().unwrap();
    drop(TokenManager::new(config.clone()).unwrap());
    let n = 2_000;
    let start = Instant::now();
    for _ in 0..n {
        drop(TokenManager::new(config.clone()).unwrap());
    }
    let each = start.elapsed() / n;
    // 2.2 ms before (root certificates parsed and a thread started per manager).
    assert!(each < Duration::from_micros(300), "{each:?} per manager");
}
