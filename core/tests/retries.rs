//! Retries: what is retried (5xx, 429, temporarily_unavailable) and what is
//! not (OAuth errors), backoff, Retry-After (honoured, bounded, past the
//! deadline) and the failure cooldown. Against a loopback stub endpoint.

mod support;

use std::time::{Duration, Instant};

use cortiauth::{RetryPolicy, TokenManager};
use support::*;
use wiremock::ResponseTemplate;

#[test]
fn oauth_errors_are_not_retried() {
    for (status, code) in [
        (401, "invalid_client"),
        (400, "invalid_scope"),
        (400, "unauthorized_client"),
    ] {
        let stub = Stub::start();
        stub.mount(token_mock(ResponseTemplate::new(status).set_body_json(
            serde_json::json!({"error": code, "error_description": "nope"}),
        )));
        let e = TokenManager::new(stub.config().build().unwrap())
            .unwrap()
            .token()
            .unwrap_err();
        match &e {
            cortiauth::Error::OAuth {
                error,
                error_description,
                http_status,
                ..
            } => {
                assert_eq!(error, code);
                assert_eq!(error_description.as_deref(), Some("nope"));
                assert_eq!(*http_status, status);
            }
            other => panic!("expected OAuth, got {other:?}"),
        }
        assert_eq!(stub.requests().len(), 1);
    }
}

#[test]
fn server_errors_are_retried_with_backoff_then_reported() {
    let stub = Stub::start();
    stub.mount(token_mock(
        ResponseTemplate::new(503).set_body_string("upstream down"),
    ));
    let e = TokenManager::new(stub.config().build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.http_status(), Some(503));
    assert!(e.to_string().contains("upstream down"), "{e}");
    assert_eq!(stub.requests().len(), 3, "max_attempts");
}

#[test]
fn temporarily_unavailable_is_retried_until_success() {
    let stub = Stub::start();
    stub.mount(
        token_mock(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "temporarily_unavailable"})),
        )
        .up_to_n_times(2)
        .with_priority(1),
    );
    stub.mount(token_mock(Counting::new(300.0)).with_priority(2));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    assert_eq!(m.token().unwrap().secret(), "tok-1");
    assert_eq!(m.stats().token_requests, 3);
}

#[test]
fn retry_after_is_honoured() {
    let stub = Stub::start();
    stub.mount(
        token_mock(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
            .up_to_n_times(1)
            .with_priority(1),
    );
    stub.mount(token_mock(Counting::new(300.0)).with_priority(2));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let start = Instant::now();
    m.token().unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
}

#[test]
fn retry_after_beyond_the_deadline_fails_at_once() {
    let stub = Stub::start();
    stub.mount(token_mock(
        ResponseTemplate::new(429).insert_header("Retry-After", "120"),
    ));
    let start = Instant::now();
    let e = TokenManager::new(stub.config().build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.http_status(), Some(429));
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn failure_cooldown_holds_back_new_attempts() {
    let stub = Stub::start();
    stub.mount(token_mock(ResponseTemplate::new(500)));
    let cfg = stub
        .config()
        .retry_policy(RetryPolicy {
            max_attempts: 1,
            failure_cooldown: Duration::from_secs(60),
            ..fast_retries()
        })
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    for _ in 0..20 {
        assert_eq!(m.token().unwrap_err().http_status(), Some(500));
    }
    assert_eq!(stub.requests().len(), 1, "a dead server is not hammered");
    assert_eq!(m.stats().failures, 1);
}

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
