//! The cache and the single flight: one token per lifetime however many
//! threads ask, the request's form, invalidation after a 401, seeding, and the
//! values built from a valid token (headers, WebSocket and API URLs). Against a
//! loopback stub endpoint.

mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

use cortiauth::{AuthMethod, ErrorKind, TokenManager};
use support::*;
use wiremock::ResponseTemplate;

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
