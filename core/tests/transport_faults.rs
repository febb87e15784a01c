//! What the token endpoint sends back, at its worst: a `Retry-After` of
//! `u64::MAX` seconds, an error body echoing the whole request (secret in every
//! encoding), a closed port.

mod support;

use std::time::{Duration, Instant};

use base64::Engine;
use cortiauth::{AuthMethod, Config, ErrorKind, RetryPolicy, TokenManager};
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

/// A secret that every encoding changes: form (`+`, `%2F`), JSON (`\"`), Basic.
const ODD_SECRET: &str = "odd s3cret/with+\"quotes\"&more";

/// A `Retry-After` of `u64::MAX` seconds (or a date in the
/// year 9999) made `Instant + Duration` overflow and panic in the retry loop.
#[test]
fn a_huge_retry_after_fails_the_call_without_panicking() {
    for value in ["18446744073709551615", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        let stub = Stub::start();
        stub.mount(
            Mock::given(method("POST"))
                .and(path("/token"))
                .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", value)),
        );
        let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
        let start = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.token()));
        let e = result
            .unwrap_or_else(|_| panic!("Retry-After {value} panicked"))
            .unwrap_err();
        assert_eq!(e.http_status(), Some(503), "{e}");
        // Capped at 5 min, beyond the 10 s deadline: no retry, no wait.
        assert!(start.elapsed() < Duration::from_secs(3));
        assert_eq!(stub.requests().len(), 1);
        // And the manager still works afterwards.
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.token()));
        assert!(
            again.is_ok(),
            "second call after Retry-After {value} panicked"
        );
    }
}

/// Answers with the whole request (headers and body) in a non-JSON error body
/// and in an OAuth `error_description`.
fn echo(req: &Request) -> ResponseTemplate {
    let echoed = format!("{:?}\n{}", req.headers, String::from_utf8_lossy(&req.body));
    match String::from_utf8_lossy(&req.body).contains("alpha") {
        true => ResponseTemplate::new(500).set_body_string(echoed),
        false => ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_request",
            "error_description": echoed,
            "error_uri": format!("https://e.example/?{}", String::from_utf8_lossy(&req.body)),
        })),
    }
}

/// Only the literal secret used to be blanked, after the body had
/// been cut; a server echoing the form body or the Basic header leaked it.
#[test]
fn an_echoing_server_never_gets_the_secret_into_an_error() {
    let stub = Stub::start();
    stub.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(echo),
    );
    let form_secret: String = url::form_urlencoded::byte_serialize(ODD_SECRET.as_bytes()).collect();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("stub-client:{form_secret}"));
    for auth in [AuthMethod::ClientSecretPost, AuthMethod::ClientSecretBasic] {
        for scope in ["alpha", "beta"] {
            let config = stub
                .config()
                .client_secret(ODD_SECRET)
                .auth_method(auth)
                .scopes([scope])
                .retry_policy(RetryPolicy::none())
                .build()
                .unwrap();
            let e = TokenManager::new(config).unwrap().token().unwrap_err();
            let expected = if scope == "alpha" {
                ErrorKind::Http
            } else {
                ErrorKind::OAuth
            };
            assert_eq!(e.kind(), expected, "{e}");
            for text in [e.to_string(), e.full_message(), format!("{e:?}")] {
                assert_no_secret(
                    &text,
                    &[ODD_SECRET, &form_secret, &basic, "s3cret", "quotes"],
                );
                assert!(!text.contains('\n'), "{text}");
            }
        }
    }
}

/// The socket error is the error's `source()`, shown by
/// `full_message()`, not flattened into `Display`.
#[test]
fn a_closed_port_keeps_the_socket_error_as_the_cause() {
    let port = cortiauth_stub::closed_port();
    let cfg = Config::builder()
        .client_id("x")
        .client_secret(SECRET)
        .token_url(format!("http://127.0.0.1:{port}/token"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let e = TokenManager::new(cfg).unwrap().token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
    assert!(!causes.is_empty());
    assert!(
        causes
            .iter()
            .any(|c| c.to_lowercase().contains("connection refused")),
        "{causes:?}"
    );
    assert!(!e.to_string().to_lowercase().contains("connection refused"));
    assert!(e
        .full_message()
        .to_lowercase()
        .contains("connection refused"));
    // The clone every waiting caller gets keeps the cause too.
    assert!(std::error::Error::source(&e.clone()).is_some());
}

/// A request abandoned at its timeout closes its connection at once: the
/// server (here one that never answers) sees the client go, rather than
/// answering later into a socket nobody reads (the freeze scenario's check).
#[test]
fn a_timed_out_request_closes_its_connection() {
    // Holds every request, and counts the clients that give up meanwhile.
    let server = cortiauth_stub::Scenario::start(vec![cortiauth_stub::Step::token().hold()]);
    let url = server.token_url();
    let config = Config::builder()
        .client_id("c")
        .client_secret("s")
        .token_url(&url)
        .timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let m = TokenManager::new(config).unwrap();
    let e = m.token().unwrap_err();
    let failed_at = Instant::now();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        server.wait(Duration::from_secs(5), |c| c.abandoned == 1),
        "the client never closed the abandoned connection"
    );
    let closed_at = Instant::now();
    assert!(
        closed_at.saturating_duration_since(failed_at) < Duration::from_millis(500),
        "closed {:?} after the timeout",
        closed_at.saturating_duration_since(failed_at)
    );
}
