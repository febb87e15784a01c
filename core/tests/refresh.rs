//! Refresh: ahead of expiry while callers keep the valid token, stale while
//! revalidate when the server fails, the background refresher, and the refresh
//! token grant with its fallback. Against a loopback stub endpoint.

mod support;

use std::time::{Duration, Instant};

use cortiauth::{ErrorKind, RefreshPolicy, RetryPolicy, TokenManager};
use support::*;
use wiremock::ResponseTemplate;

#[test]
fn refreshes_ahead_of_expiry_and_keeps_serving_while_refreshing() {
    let stub = Stub::start();
    // 2 s lifetime and half of it as the margin: the refresh window opens at
    // 1 s, and the token is handed out until 1.9 s (5% expiry skew). The
    // endpoint takes 300 ms: a caller that waited for it would be seen, and the
    // refresh ends ~0.5 s before the old token's end (room for a loaded machine:
    // with the default 20% margin there were 50 ms, and it flaked).
    let tokens = Counting::new(2.0).delay(Duration::from_millis(300));
    stub.mount(token_mock(tokens.clone()));
    let cfg = stub
        .config()
        .refresh_policy(RefreshPolicy {
            margin_fraction: 0.5,
            ..RefreshPolicy::default()
        })
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    let first = m.token().unwrap();
    assert_eq!(first.secret(), "tok-1");
    assert!(m.cached_token().is_some());
    let refresh_at = first.expires_at() - Duration::from_millis(1000);
    std::thread::sleep(
        refresh_at.saturating_duration_since(Instant::now()) + Duration::from_millis(50),
    );
    assert!(m.cached_token().is_none(), "due for refresh");
    // Still valid for ~0.85 s: callers keep it and nobody waits for the refresh
    // (the non-blocking fast path of the bindings gets it too).
    assert_eq!(m.try_token().unwrap().secret(), "tok-1");
    for _ in 0..50 {
        let start = Instant::now();
        assert_eq!(m.token().unwrap().secret(), "tok-1");
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "a caller waited {:?} although a valid token exists",
            start.elapsed()
        );
    }
    assert!(
        eventually(Duration::from_secs(5), || m.cached_token().is_some()),
        "the refresh ahead finished"
    );
    assert_eq!(m.token().unwrap().secret(), "tok-2");
    assert_eq!(tokens.count(), 2, "one refresh for all those callers");
    assert_eq!(m.stats().waits, 1, "only the very first call waited");
    assert!(
        first.expires_in() > Duration::ZERO,
        "refreshed before the old token expired"
    );
}

#[test]
fn stale_while_revalidate_when_the_server_fails() {
    let stub = Stub::start();
    stub.mount(
        token_mock(Counting::new(2.0))
            .up_to_n_times(1)
            .with_priority(1),
    );
    stub.mount(token_mock(ResponseTemplate::new(500).set_body_string("boom")).with_priority(2));
    let cfg = stub
        .config()
        .retry_policy(RetryPolicy {
            failure_cooldown: Duration::from_millis(200),
            ..fast_retries()
        })
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    let first = m.token().unwrap();
    std::thread::sleep(
        first.expires_at().saturating_duration_since(Instant::now()) - Duration::from_millis(300),
    );
    // In the refresh window the server fails, but callers keep the old token.
    assert_eq!(m.token().unwrap().secret(), "tok-1");
    assert!(eventually(Duration::from_secs(5), || m.stats().failures == 1));
    for _ in 0..100 {
        assert_eq!(m.token().unwrap().secret(), "tok-1");
    }
    let s = m.stats();
    assert_eq!(
        s.failures, 1,
        "one refresh attempt, then the cooldown holds back"
    );
    assert_eq!(s.token_requests, 2);
    assert_eq!(s.last_error_kind, Some(ErrorKind::Http));
    // Past its usable time, the old token is no longer served: the error is.
    std::thread::sleep(first.expires_at().saturating_duration_since(Instant::now()));
    let e = m.token().unwrap_err();
    assert_eq!(e.http_status(), Some(500));
    assert!(e.is_transient());
}

#[test]
fn uses_the_refresh_token_grant_then_falls_back_to_client_credentials() {
    let stub = Stub::start();
    // First: client_credentials returns a refresh token; 1 s lifetime.
    let first = Counting::new(1.0)
        .extra(serde_json::json!({"refresh_token": "rt-1", "refresh_expires_in": 1800}));
    stub.mount(
        token_mock_for("grant_type=client_credentials", first)
            .up_to_n_times(1)
            .with_priority(1),
    );
    // Then the refresh grant works once, and fails the second time.
    stub.mount(
        token_mock_for("refresh_token=rt-1", ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "from-refresh", "expires_in": 1, "refresh_token": "rt-2", "refresh_expires_in": 1800
        })))
        .up_to_n_times(1),
    );
    stub.mount(token_mock_for(
        "refresh_token=rt-2",
        ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "Session not active"
        })),
    ));
    stub.mount(
        token_mock_for(
            "grant_type=client_credentials",
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "from-cc-again", "expires_in": 300
            })),
        )
        .with_priority(5),
    );
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let t = m.token().unwrap();
    assert_eq!(t.secret(), "tok-1");
    assert!(m.invalidate("tok-1"));
    assert_eq!(m.token().unwrap().secret(), "from-refresh");
    assert!(m.invalidate("from-refresh"));
    assert_eq!(m.token().unwrap().secret(), "from-cc-again");
    let reqs = stub.requests();
    let grants: Vec<_> = reqs
        .iter()
        .map(|r| field(r, "grant_type").unwrap())
        .collect();
    assert_eq!(
        grants,
        [
            "client_credentials",
            "refresh_token",
            "refresh_token",
            "client_credentials"
        ]
    );
    // Client authentication goes with the refresh grant too.
    assert_eq!(field(&reqs[1], "client_secret").as_deref(), Some(SECRET));
}

#[test]
fn background_refresher_refreshes_without_callers() {
    let stub = Stub::start();
    let tokens = Counting::new(1.0);
    stub.mount(token_mock(tokens.clone()));
    let cfg = stub.config().background_refresh(true).build().unwrap();
    let m = TokenManager::new(cfg).unwrap();
    // The refresher fetches on its own: wait (bounded) for a few refreshes.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokens.count() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(tokens.count() >= 3, "refreshed {} times", tokens.count());
    assert!(m.cached_token().is_some() || m.token().is_ok());
    // Dropping the manager stops the thread: no more requests afterwards.
    drop(m);
    std::thread::sleep(Duration::from_millis(50));
    let after_drop = tokens.count();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        tokens.count(),
        after_drop,
        "refresher stopped with its manager"
    );
}

#[test]
fn the_refresh_grant_and_its_fallback_share_one_deadline() {
    let stub = Stub::start();
    let first = Counting::new(300.0)
        .extra(serde_json::json!({"refresh_token": "rt-1", "refresh_expires_in": 1800}));
    stub.mount(
        token_mock_for("grant_type=client_credentials", first)
            .up_to_n_times(1)
            .with_priority(1),
    );
    stub.mount(
        token_mock(ResponseTemplate::new(503).set_delay(Duration::from_millis(400)))
            .with_priority(2),
    );
    let cfg = stub
        .config()
        .retry_policy(RetryPolicy {
            deadline: Duration::from_secs(1),
            ..fast_retries()
        })
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    assert!(m.invalidate(m.token().unwrap().secret()));
    let start = Instant::now();
    let e = m.token().unwrap_err();
    let took = start.elapsed();
    assert!(e.is_transient(), "{e}");
    assert!(
        took < Duration::from_millis(1600),
        "one 1 s deadline for both grants, took {took:?}"
    );
}

#[test]
fn a_transient_failure_keeps_the_refresh_token() {
    let stub = Stub::start();
    let first = Counting::new(300.0)
        .extra(serde_json::json!({"refresh_token": "rt-1", "refresh_expires_in": 1800}));
    stub.mount(
        token_mock_for("grant_type=client_credentials", first)
            .up_to_n_times(1)
            .with_priority(1),
    );
    // The refresh grant fails transiently for every attempt of one acquisition…
    stub.mount(
        token_mock_for("refresh_token=rt-1", ResponseTemplate::new(503))
            .up_to_n_times(3)
            .with_priority(2),
    );
    // …and works afterwards.
    stub.mount(
        token_mock_for(
            "refresh_token=rt-1",
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "from-refresh", "expires_in": 300
            })),
        )
        .with_priority(3),
    );
    stub.mount(
        token_mock_for(
            "grant_type=client_credentials",
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "from-cc", "expires_in": 300
            })),
        )
        .with_priority(4),
    );
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    assert!(m.invalidate(m.token().unwrap().secret()));
    assert_eq!(
        m.token().unwrap().secret(),
        "from-cc",
        "fell back this time"
    );
    assert!(m.invalidate("from-cc"));
    assert_eq!(
        m.token().unwrap().secret(),
        "from-refresh",
        "the refresh token was kept after a 503"
    );
}
