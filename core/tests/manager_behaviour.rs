//! The manager's newer guarantees (issues 10, 11, 12), each failing on the
//! previous implementation: bounded arithmetic, Retry-After cooldowns, one
//! deadline per acquisition, refresh tokens kept on transient failures, cheap
//! managers that leave nothing behind, and the helpers bindings expose.

mod support;

use std::time::{Duration, Instant, SystemTime};

use cortiauth::{ErrorKind, RetryPolicy, TokenManager};
use support::*;
use wiremock::ResponseTemplate;

#[test]
fn a_huge_retry_after_panics_nothing() {
    let stub = Stub::start();
    stub.mount(token_mock(
        ResponseTemplate::new(429).insert_header("Retry-After", "18446744073709551615"),
    ));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let e = m.token().unwrap_err();
    assert_eq!(e.http_status(), Some(429));
    // The cooldown is bounded and honoured: no second request right away.
    assert_eq!(m.token().unwrap_err().http_status(), Some(429));
    assert_eq!(stub.requests().len(), 1);

    // The background refresher survives it too and keeps answering.
    let m = TokenManager::new(stub.config().background_refresh(true).build().unwrap()).unwrap();
    assert!(eventually(Duration::from_secs(5), || m.stats().failures >= 1));
    assert_eq!(m.token().unwrap_err().http_status(), Some(429));
}

#[test]
fn the_failure_cooldown_honours_retry_after() {
    let stub = Stub::start();
    stub.mount(token_mock(
        ResponseTemplate::new(503).insert_header("Retry-After", "3"),
    ));
    // No retries, no cooldown of our own: only the server's Retry-After holds callers back.
    let cfg = stub
        .config()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    for _ in 0..10 {
        assert_eq!(m.token().unwrap_err().http_status(), Some(503));
    }
    assert_eq!(
        stub.requests().len(),
        1,
        "the server asked for 3 s of quiet"
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

#[test]
fn invalidate_accepts_the_authorization_header_value() {
    let stub = Stub::start();
    let tokens = Counting::new(300.0);
    stub.mount(token_mock(tokens.clone()));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let header = m.authorization_header().unwrap();
    assert!(!m.invalidate("Bearer tok-other"));
    assert!(!m.invalidate(""));
    assert!(!m.invalidate("Bearer "));
    assert!(m.invalidate(&header), "{header:?} names the cached token");
    assert_eq!(m.token().unwrap().secret(), "tok-2");
    assert!(m.invalidate("bearer tok-2"));
}

#[test]
fn api_url_joins_relative_paths_onto_the_base() {
    let stub = Stub::start();
    let m = TokenManager::new(
        stub.config()
            .api_base_url("https://api.eu.corti.app/v2/")
            .build()
            .unwrap(),
    )
    .unwrap();
    for path in ["/interactions", "interactions", "  /interactions"] {
        assert_eq!(
            m.api_url(path).unwrap(),
            "https://api.eu.corti.app/v2/interactions"
        );
    }
    assert_eq!(
        m.api_url("/interactions/1/facts?limit=2").unwrap(),
        "https://api.eu.corti.app/v2/interactions/1/facts?limit=2"
    );
    assert_eq!(m.api_url("").unwrap(), "https://api.eu.corti.app/v2");
    let e = m.api_url("https://evil.example/steal").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(
        m.api_url("//evil.example/x").unwrap_err().kind(),
        ErrorKind::Config
    );

    let no_base = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let e = no_base.api_url("/interactions").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("API base URL"), "{e}");
}

#[test]
fn a_seeded_token_is_used_while_fresh_and_can_be_read_back() {
    let stub = Stub::start();
    let tokens = Counting::new(300.0);
    stub.mount(token_mock(tokens.clone()));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    assert!(m.current_token().is_none());
    assert!(
        m.try_token().is_none(),
        "nothing cached: a caller would wait"
    );
    let expires = SystemTime::now() + Duration::from_secs(250);
    assert!(m.seed("Bearer from-disk", expires, Some("openid")));
    let t = m.token().unwrap();
    assert_eq!(t.secret(), "from-disk");
    assert_eq!(t.scope(), Some("openid"));
    assert_eq!(
        tokens.count(),
        0,
        "no request while the seeded token is fresh"
    );
    let back = m.current_token().unwrap();
    assert_eq!(back.secret(), "from-disk");
    let drift = back
        .expires_at_system()
        .duration_since(expires)
        .unwrap_or_else(|e| e.duration());
    assert!(drift < Duration::from_millis(50), "{drift:?}");
    // A token that lasts less does not replace it; expired ones are refused.
    assert!(!m.seed(
        "shorter",
        SystemTime::now() + Duration::from_secs(100),
        None
    ));
    assert!(!m.seed("gone", SystemTime::now() - Duration::from_secs(1), None));
    assert!(!m.seed("", expires, None));
    assert_eq!(m.token().unwrap().secret(), "from-disk");

    // A seeded token within its refresh margin is usable but refreshed ahead.
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    // (With its lifetime unknown, the largest margin, 60 s, is assumed.)
    assert!(m.seed(
        "nearly-done",
        SystemTime::now() + Duration::from_secs(30),
        None
    ));
    assert_eq!(m.token().unwrap().secret(), "nearly-done");
    assert!(eventually(Duration::from_secs(5), || m
        .cached_token()
        .is_some()));
    assert_eq!(m.token().unwrap().secret(), "tok-1");
    // …and one already within its expiry skew is refused.
    assert!(!m.seed(
        "too-late",
        SystemTime::now() + Duration::from_millis(10),
        None
    ));
}
