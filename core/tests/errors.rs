//! Errors: each failure of the token endpoint is its own error kind with a
//! message that says what to check (invalid responses, redirects, a wrong
//! tenant, timeouts, a closed port, Keycloak's 401), and no error, Debug output
//! or log line holds the secret. Against a loopback stub endpoint.

mod support;

use std::time::{Duration, Instant};

use cortiauth::{ErrorKind, RetryPolicy, TokenManager};
use support::*;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

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
    let port = cortiauth_stub::closed_port();
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
