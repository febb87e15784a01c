//! Unit tests that need the manager's insides: a simulated system suspend
//! (the manager's clock jumps, `Instant` does not) and the lifetime of the
//! per-thread token copies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::acquire::full_jitter;
use super::worker::MAX_NAP;
use super::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

struct Stub {
    _rt: tokio::runtime::Runtime,
    server: MockServer,
    count: Arc<AtomicUsize>,
}

struct Counting(Arc<AtomicUsize>, u64);

impl Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": format!("tok-{i}"), "expires_in": self.1, "token_type": "Bearer"
        }))
    }
}

fn stub(expires_in: u64) -> Stub {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(Counting(count.clone(), expires_in))
            .mount(&server)
            .await;
        server
    });
    Stub {
        _rt: rt,
        server,
        count,
    }
}

impl Stub {
    fn manager(&self, background: bool) -> TokenManager {
        let config = Config::builder()
            .client_id("unit")
            .client_secret("unit-secret")
            .token_url(format!("{}/token", self.server.uri()))
            .background_refresh(background)
            .build()
            .unwrap();
        TokenManager::new(config).unwrap()
    }
    fn requests(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

#[test]
fn after_a_suspend_an_expired_token_is_not_handed_out() {
    let stub = stub(300);
    let m = stub.manager(false);
    let first = m.token().unwrap();
    assert_eq!(first.secret(), "tok-1");
    // A 10-minute laptop sleep: CLOCK_MONOTONIC (Instant) stood still.
    m.clock().suspend(Duration::from_secs(600));
    assert!(
        m.cached_token().is_none(),
        "the token expired during the suspend"
    );
    assert!(m.current_token().is_none());
    assert_eq!(m.token().unwrap().secret(), "tok-2");
    assert_eq!(stub.requests(), 2);
}

#[test]
fn after_a_suspend_into_the_refresh_window_callers_keep_the_token_while_it_refreshes() {
    let stub = stub(300);
    let m = stub.manager(false);
    m.token().unwrap();
    // 250 s asleep: inside the 60 s margin, before the expiry skew.
    m.clock().suspend(Duration::from_secs(250));
    assert_eq!(m.token().unwrap().secret(), "tok-1");
    assert!(eventually(Duration::from_secs(5), || m
        .cached_token()
        .is_some()));
    assert_eq!(m.token().unwrap().secret(), "tok-2");
}

#[test]
fn the_background_refresher_does_not_oversleep_a_suspend() {
    let stub = stub(300);
    let m = stub.manager(true);
    assert!(eventually(Duration::from_secs(5), || stub.requests() == 1));
    assert!(eventually(Duration::from_secs(5), || m
        .cached_token()
        .is_some()));
    // The refresher sleeps towards a refresh point 4 minutes away; the system
    // sleeps past it. Without callers, it must notice within a nap (2 s).
    m.clock().suspend(Duration::from_secs(250));
    let start = Instant::now();
    assert!(
        eventually(Duration::from_secs(5), || stub.requests() == 2),
        "the refresher overslept"
    );
    assert!(start.elapsed() <= MAX_NAP + Duration::from_millis(500));
}

#[test]
fn per_thread_copies_die_with_invalidate_and_with_the_manager() {
    let stub = stub(300);
    let m = stub.manager(false);
    // The fetching call gets the fetched token, later calls this thread's copy.
    let fetched = m.token().unwrap().downgrade_for_test();
    let copy = m.token().unwrap().downgrade_for_test();
    let again = m.token().unwrap().downgrade_for_test();
    assert!(copy.ptr_eq(&again), "the same per-thread copy");
    assert!(copy.upgrade().is_some(), "held by the cache");
    // Neither is kept alive once the token is invalidated.
    assert!(m.invalidate("tok-1"));
    assert!(copy.upgrade().is_none(), "a copy outlived invalidate");
    assert!(
        fetched.upgrade().is_none(),
        "the fetched token outlived invalidate"
    );

    let fetched = m.token().unwrap().downgrade_for_test();
    let copy = m.token().unwrap().downgrade_for_test();
    assert!(copy.upgrade().is_some());
    drop(m);
    // The worker may hold the manager for a moment (it drops it on its own
    // thread then): the tokens die with it, not with some later fetch.
    assert!(
        eventually(Duration::from_secs(5), || copy.upgrade().is_none()
            && fetched.upgrade().is_none()),
        "a token outlived the manager"
    );
}

#[test]
fn api_url_and_bearer_helpers() {
    assert_eq!(strip_bearer("Bearer abc"), "abc");
    assert_eq!(strip_bearer("  bearer   abc "), "abc");
    assert_eq!(strip_bearer("abc"), "abc");
    assert_eq!(strip_bearer("Bearerabc"), "Bearerabc");
    assert_eq!(api_url("https://a/v2", "x").unwrap(), "https://a/v2/x");
    assert!(api_url("https://a/v2", "http://b/").is_err());
}

#[test]
fn manager_is_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<TokenManager>();
    check::<AccessToken>();
    check::<Error>();
}

#[test]
fn jitter_stays_within_the_exponential_cap() {
    let p = crate::config::RetryPolicy {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(500),
        ..Default::default()
    };
    for attempt in 1..30 {
        let cap = Duration::from_millis(100 * (1u64 << (attempt - 1).min(20)))
            .min(Duration::from_millis(500));
        for _ in 0..50 {
            assert!(full_jitter(&p, attempt) <= cap);
        }
    }
    // Attempt numbers past 32 must not overflow the shift.
    assert!(full_jitter(&p, u32::MAX) <= Duration::from_millis(500));
}

#[test]
fn a_401_from_the_api_drops_only_that_token_and_one_from_elsewhere_nothing() {
    let stub = stub(300);
    let m = stub.manager(false);
    let first = m.token().unwrap().secret().to_string();
    let api = "https://api.eu.corti.app/v2/interactions";
    // Not a 401, or a 401 after a redirect to another origin: the token stays.
    assert!(!m.on_response(&first, api, api, 403));
    assert!(!m.on_response(&first, api, "https://login.example/401", 401));
    assert_eq!(m.token().unwrap().secret(), first);
    assert_eq!(stub.requests(), 1);
    // A 401 for an older token than the cached one: retry, but the cache stays.
    assert!(m.on_response("an-older-token", api, api, 401));
    assert_eq!(m.token().unwrap().secret(), first);
    // A 401 from the API for the cached token: dropped, the next call fetches.
    assert!(m.on_response(
        &first,
        api,
        "https://api.eu.corti.app/v2/interactions/1",
        401
    ));
    let second = m.token().unwrap().secret().to_string();
    assert_ne!(second, first);
    assert_eq!(stub.requests(), 2);
}

#[test]
fn the_hot_snapshot_follows_every_change_of_the_cached_token() {
    let stub = stub(300);
    let m = stub.manager(false);
    let first = m.token().unwrap();
    let g1 = first.generation();
    // The snapshot answers for the token last seen.
    assert!(matches!(m.try_token_since(g1), Some(None)));
    assert!(m.shared.cache.fresh_generation(m.clock().coarse()) == Some(g1));
    // Invalidated: never again "the one you saw", from the snapshot or elsewhere.
    assert!(m.invalidate(first.secret()));
    assert_eq!(m.shared.cache.fresh_generation(m.clock().coarse()), None);
    assert!(!matches!(m.try_token_since(g1), Some(None)));
    let second = m.token().unwrap();
    assert_ne!(second.generation(), g1);
    match m.try_token_since(g1) {
        Some(Some(t)) => assert_eq!(t.generation(), second.generation()),
        other => panic!(
            "expected the new token, got {:?}",
            other.map(|t| t.is_some())
        ),
    }
    assert!(matches!(m.try_token_since(second.generation()), Some(None)));
    // A suspend past the expiry: the snapshot must not vouch for it.
    m.clock().suspend(Duration::from_secs(600));
    assert_eq!(m.shared.cache.fresh_generation(m.clock().coarse()), None);
    assert!(m.try_token_since(second.generation()).is_none());
}

#[test]
fn a_snapshot_left_mid_write_by_a_forked_parent_is_written_again() {
    let stub = stub(300);
    let m = stub.manager(false);
    m.token().unwrap();
    // As if a parent's thread had been writing the snapshot at the fork: readers
    // fall back to the cell, and the next write makes the snapshot usable again.
    m.shared.cache.leave_mid_write();
    assert_eq!(m.shared.cache.fresh_generation(m.clock().coarse()), None);
    let t = m.token().unwrap();
    assert!(matches!(m.try_token_since(t.generation()), Some(None)));
    assert!(m.invalidate(t.secret()));
    let t2 = m.token().unwrap();
    assert_eq!(
        m.shared.cache.fresh_generation(m.clock().coarse()),
        Some(t2.generation())
    );
}
