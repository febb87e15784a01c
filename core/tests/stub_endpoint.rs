//! Behaviour of the token manager against a loopback stub endpoint: the faults
//! and timings a real server will not produce on demand.

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use cortiauth::{AuthMethod, ErrorKind, RefreshPolicy, RetryPolicy, TokenManager};
use support::*;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

#[test]
fn caches_one_token_for_a_thousand_calls() {
    let stub = Stub::start();
    let tokens = Counting::new(300.0);
    stub.mount(token_mock(tokens.clone()));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    for _ in 0..1000 {
        assert_eq!(m.token().unwrap().secret(), "tok-1");
    }
    assert_eq!(tokens.count(), 1);
    let s = m.stats();
    assert_eq!(s.token_requests, 1);
    assert_eq!(s.refreshes, 1);
    assert_eq!(s.cache_hits, 999);
    assert_eq!(s.failures, 0);
}

#[test]
fn sends_the_documented_form_with_client_secret_post() {
    let stub = Stub::start();
    stub.mount(token_mock(Counting::new(300.0)));
    let m = TokenManager::new(
        stub.config()
            .scopes(["transcribe", "openid"])
            .build()
            .unwrap(),
    )
    .unwrap();
    m.token().unwrap();
    let req = &stub.requests()[0];
    assert_eq!(
        field(req, "grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(field(req, "client_id").as_deref(), Some("stub-client"));
    assert_eq!(field(req, "client_secret").as_deref(), Some(SECRET));
    assert_eq!(field(req, "scope").as_deref(), Some("openid transcribe"));
    let h = |n: &str| req.headers.get(n).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        h("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(h("user-agent").unwrap().starts_with("cortiauth/"));
    assert!(h("authorization").is_none());
}

#[test]
fn client_secret_basic_sends_encoded_credentials_in_the_header() {
    let stub = Stub::start();
    stub.mount(token_mock(Counting::new(300.0)));
    let cfg = stub
        .config()
        .client_id("id with:colon")
        .client_secret("s&cret+/=")
        .auth_method(AuthMethod::ClientSecretBasic)
        .extra_param("audience", "https://api.example")
        .build()
        .unwrap();
    TokenManager::new(cfg).unwrap().token().unwrap();
    let req = &stub.requests()[0];
    use base64::Engine;
    let expected =
        base64::engine::general_purpose::STANDARD.encode("id+with%3Acolon:s%26cret%2B%2F%3D");
    assert_eq!(
        req.headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Basic {expected}")
    );
    assert_eq!(field(req, "client_secret"), None);
    assert_eq!(field(req, "client_id"), None);
    assert_eq!(
        field(req, "audience").as_deref(),
        Some("https://api.example")
    );
}

#[test]
fn sixty_four_threads_share_one_request() {
    let stub = Stub::start();
    let tokens = Counting::new(300.0).delay(Duration::from_millis(300));
    stub.mount(token_mock(tokens.clone()));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let barrier = Arc::new(Barrier::new(64));
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let (m, b) = (m.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                m.token().unwrap().secret().to_string()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), "tok-1");
    }
    assert_eq!(tokens.count(), 1);
    assert_eq!(m.stats().token_requests, 1);
}

#[test]
fn concurrent_callers_all_get_the_same_error() {
    let stub = Stub::start();
    stub.mount(token_mock(
        ResponseTemplate::new(401)
            .set_body_json(serde_json::json!({"error": "invalid_client", "error_description": "Invalid client credentials"}))
            .set_delay(Duration::from_millis(300)),
    ));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let barrier = Arc::new(Barrier::new(16));
    let errors: Vec<_> = (0..16)
        .map(|_| {
            let (m, b) = (m.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                m.token().unwrap_err()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    for e in &errors {
        assert_eq!(e.oauth_error(), Some("invalid_client"));
    }
    assert_eq!(
        stub.requests().len(),
        1,
        "invalid_client is never retried and shared"
    );
}

#[test]
fn refreshes_ahead_of_expiry_and_keeps_serving_while_refreshing() {
    let stub = Stub::start();
    // 2 s lifetime: margin 0.4 s, so the refresh window opens at 1.6 s. The
    // endpoint takes 300 ms: a caller that waited for it would be seen.
    let tokens = Counting::new(2.0).delay(Duration::from_millis(300));
    stub.mount(token_mock(tokens.clone()));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let first = m.token().unwrap();
    assert_eq!(first.secret(), "tok-1");
    assert!(m.cached_token().is_some());
    let refresh_at = first.expires_at() - Duration::from_millis(400);
    std::thread::sleep(
        refresh_at.saturating_duration_since(Instant::now()) + Duration::from_millis(50),
    );
    assert!(m.cached_token().is_none(), "due for refresh");
    // Still valid for ~0.35 s: callers keep it and nobody waits for the refresh
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
fn invalidate_drops_only_the_rejected_token_and_a_burst_refreshes_once() {
    let stub = Stub::start();
    let tokens = Counting::new(300.0).delay(Duration::from_millis(100));
    stub.mount(token_mock(tokens.clone()));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    assert_eq!(m.token().unwrap().secret(), "tok-1");
    assert!(!m.invalidate("some-other-token"));
    assert_eq!(m.token().unwrap().secret(), "tok-1");

    // 16 requests got a 401 for tok-1 at once.
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (m, b) = (m.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                m.invalidate("tok-1");
                m.token().unwrap().secret().to_string()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), "tok-2");
    }
    assert_eq!(tokens.count(), 2, "one refresh for the whole burst");
    assert!(!m.invalidate("tok-1"), "already gone");
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
fn malformed_responses_are_invalid_response_errors() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>Sign in</body></html>", "text/html"),
            "HTML",
        ),
        (
            ResponseTemplate::new(200).set_body_raw("{not json", "application/json"),
            "non-JSON",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"expires_in": 300})),
            "missing access_token",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "x", "expires_in": -1})),
            "expires_in",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "x", "expires_in": "later"})),
            "expires_in",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!(["access_token"])),
            "not a JSON object",
        ),
    ];
    for (response, expected) in cases {
        let stub = Stub::start();
        stub.mount(token_mock(response));
        let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
        let e = m.token().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
        assert!(
            e.to_string().contains(expected),
            "{e} should mention {expected}"
        );
        assert_eq!(
            stub.requests().len(),
            1,
            "invalid responses are not retried"
        );
    }
}

#[test]
fn expires_in_as_a_string_is_accepted() {
    let stub = Stub::start();
    stub.mount(token_mock(ResponseTemplate::new(200).set_body_json(
        serde_json::json!({"access_token": "x", "expires_in": "3600", "token_type": "bearer"}),
    )));
    let t = TokenManager::new(stub.config().build().unwrap())
        .unwrap()
        .token()
        .unwrap();
    assert_eq!(t.lifetime(), Duration::from_secs(3600));
    assert_eq!(t.scope(), None);
    assert_eq!(t.token_type(), "bearer");
}

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
fn redirects_are_refused() {
    let stub = Stub::start();
    stub.mount(token_mock(
        ResponseTemplate::new(302).insert_header("Location", "/elsewhere"),
    ));
    stub.mount(
        Mock::given(path("/elsewhere"))
            .respond_with(Counting::new(300.0))
            .expect(0),
    );
    let e = TokenManager::new(stub.config().build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.http_status(), Some(302));
    assert!(e.to_string().contains("redirect"), "{e}");
    assert!(stub.requests().iter().all(|r| r.url.path() == "/token"));
}

#[test]
fn unknown_tenant_404_is_an_http_error_with_a_hint() {
    let stub = Stub::start();
    stub.mount(token_mock(ResponseTemplate::new(404).set_body_json(
        serde_json::json!({"error": "Realm does not exist"}),
    )));
    let e = TokenManager::new(stub.config().build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Http);
    assert!(e.to_string().contains("CORTI_TENANT_NAME"), "{e}");
}

#[test]
fn slow_server_gives_a_timeout_error() {
    let stub = Stub::start();
    stub.mount(token_mock(
        Counting::new(300.0).delay(Duration::from_secs(3)),
    ));
    let cfg = stub
        .config()
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let start = Instant::now();
    let e = TokenManager::new(cfg).unwrap().token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn closed_port_gives_a_network_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = cortiauth::Config::builder()
        .client_id("x")
        .client_secret(SECRET)
        .token_url(format!("http://127.0.0.1:{port}/token"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let e = TokenManager::new(cfg).unwrap().token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(e.is_transient());
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
fn websocket_url_and_headers_use_a_valid_token() {
    let stub = Stub::start();
    stub.mount(token_mock(Counting::new(300.0)));
    let m = TokenManager::new(stub.config().tenant("copiloteu").build().unwrap()).unwrap();
    assert_eq!(
        m.websocket_url("wss://api.eu.corti.app/audio-bridge/v2/interactions/1/streams?tenant-name=copiloteu").unwrap(),
        "wss://api.eu.corti.app/audio-bridge/v2/interactions/1/streams?tenant-name=copiloteu&token=Bearer%20tok-1"
    );
    let [auth, tenant] = m.headers().unwrap();
    assert_eq!(auth, ("Authorization", "Bearer tok-1".to_string()));
    assert_eq!(tenant, ("Tenant-Name", "copiloteu".to_string()));
}

#[test]
fn no_secret_in_errors_debug_or_logs() {
    record_logs();
    let stub = Stub::start();
    // The server echoes the secret back in its error body and description.
    stub.mount(
        token_mock(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_request", "error_description": format!("bad secret {SECRET}")
        })))
        .up_to_n_times(1)
        .with_priority(1),
    );
    stub.mount(
        token_mock(ResponseTemplate::new(502).set_body_string(format!("proxy saw {SECRET}")))
            .up_to_n_times(3)
            .with_priority(2),
    );
    stub.mount(token_mock(Counting::new(300.0)).with_priority(3));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    let e1 = m.token().unwrap_err();
    let e2 = m.token().unwrap_err();
    let t = m.token().unwrap();
    let texts = [
        e1.to_string(),
        format!("{e1:?}"),
        e2.to_string(),
        format!("{e2:?}"),
        format!("{t:?}"),
        format!("{m:?}"),
        format!("{:?}", m.config()),
        format!("{:?}", m.access_token().unwrap()),
        logs().lock().unwrap().join("\n"),
    ];
    for text in &texts {
        assert_no_secret(text, &[SECRET, "tok-1"]);
    }
    assert!(format!("{e1}").contains("[REDACTED]"));
    assert!(
        !logs().lock().unwrap().is_empty(),
        "the failures were logged"
    );
}

#[cfg(unix)]
#[test]
fn works_in_a_forked_child() {
    let stub = Stub::start();
    let tokens = Counting::new(300.0);
    stub.mount(token_mock(tokens.clone()));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    assert_eq!(m.token().unwrap().secret(), "tok-1");
    // SAFETY: the child only uses the manager, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe { libc::alarm(20) }; // a hang kills the child: the parent sees a signal
        let cached = m.token().map(|t| t.secret() == "tok-1").unwrap_or(false);
        let dropped = m.invalidate("tok-1");
        let fresh = m.token().map(|t| t.secret() == "tok-2").unwrap_or(false);
        let code = if cached && dropped && fresh { 0 } else { 1 };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child died: status {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "child could not fetch a token"
    );
    assert_eq!(tokens.count(), 2);
    // The parent is unaffected.
    assert_eq!(m.token().unwrap().secret(), "tok-1");
}

#[cfg(unix)]
#[test]
fn background_refresher_restarts_in_a_forked_child() {
    let stub = Stub::start();
    let tokens = Counting::new(1.0);
    stub.mount(token_mock(tokens.clone()));
    let cfg = stub
        .config()
        .background_refresh(true)
        .refresh_policy(RefreshPolicy {
            background: true,
            ..Default::default()
        })
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    m.token().unwrap();
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe { libc::alarm(20) };
        // Keep asking for 3 s: tokens live 1 s, so refreshes must work here.
        let end = Instant::now() + Duration::from_secs(3);
        let mut ok = true;
        while Instant::now() < end {
            ok &= m.token().is_ok();
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status}"
    );
}

#[test]
fn keycloak_style_401_unauthorized_client_is_reported_as_invalid_client() {
    let stub = Stub::start();
    stub.mount(token_mock(ResponseTemplate::new(401).set_body_json(serde_json::json!({
        "error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"
    }))));
    let e = TokenManager::new(stub.config().build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.oauth_error(), Some("invalid_client"));
    // A 400 unauthorized_client (grant not allowed) keeps its code.
    let stub = Stub::start();
    stub.mount(token_mock(ResponseTemplate::new(400).set_body_json(
        serde_json::json!({"error": "unauthorized_client"}),
    )));
    let e = TokenManager::new(stub.config().build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.oauth_error(), Some("unauthorized_client"));
}
