//! The async reqwest integrations (features `reqwest` and `reqwest-middleware`):
//! both headers, one invalidation and one retry after a same-origin 401, no
//! retry (and no token) for another origin reached by a redirect, one token
//! request for 200 concurrent tasks; and against the real Keycloak, whose
//! userinfo endpoint accepts the token.
//!
//! Each behaviour runs through both integrations (`Via`). The Keycloak test is
//! `#[ignore]`d (a plain `cargo test` has no servers); `scripts/test-suites.sh`
//! runs this file with `--include-ignored` under the servers. By hand:
//! `tests/servers/with-servers.sh cargo test -p cortiauth --features
//! reqwest-middleware --test http_integrations -- --include-ignored`.

use std::time::{Duration, SystemTime};

use cortiauth::reqwest::{send_authorized, AuthExt};
use cortiauth::reqwest_middleware::CortiAuth;
use cortiauth::{Config, ErrorKind, TokenManager};
use cortiauth_stub::{Scenario, Step};
use reqwest::{Body, Method, StatusCode};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Copy, Debug)]
enum Via {
    Helper,
    Middleware,
}

const BOTH: [Via; 2] = [Via::Helper, Via::Middleware];

fn manager(token_url: &str) -> TokenManager {
    let config = Config::builder()
        .client_id("async")
        .client_secret("async-secret")
        .token_url(token_url)
        .tenant("acme")
        .build()
        .unwrap();
    TokenManager::new(config).unwrap()
}

/// Sends `method url` with `body` through one integration; token errors come
/// back as the manager's error kind.
///
/// Each test builds one client (building one loads the root certificates: a
/// client per request made this file 35 times slower) and shares it, never
/// across tests: its pooled connections belong to the test's runtime.
async fn send(
    client: &reqwest::Client,
    via: Via,
    m: &TokenManager,
    method: Method,
    url: &str,
    body: Option<Body>,
) -> Result<reqwest::Response, Option<ErrorKind>> {
    let client = client.clone();
    match via {
        Via::Helper => {
            let mut rb = client.request(method, url);
            if let Some(b) = body {
                rb = rb.body(b);
            }
            rb.send_authorized(m)
                .await
                .map_err(|e| e.auth().map(cortiauth::Error::kind))
        }
        Via::Middleware => {
            let client = reqwest_middleware::ClientBuilder::new(client)
                .with(CortiAuth::new(m.clone()))
                .build();
            let mut rb = client.request(method, url);
            if let Some(b) = body {
                rb = rb.body(b);
            }
            rb.send().await.map_err(|e| match e {
                reqwest_middleware::Error::Middleware(e) => {
                    e.downcast_ref::<cortiauth::Error>().map(|e| e.kind())
                }
                reqwest_middleware::Error::Reqwest(_) => None,
            })
        }
    }
}

fn bearer(n: usize) -> String {
    format!("Bearer tok-{n}")
}

#[tokio::test]
async fn both_headers_are_sent_and_marked_sensitive() {
    let client = reqwest::Client::new();
    for via in BOTH {
        let tokens = Scenario::tokens(300.0, Duration::ZERO);
        let m = manager(&tokens.token_url());
        let api = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v2/interactions"))
            .and(header("authorization", bearer(1).as_str()))
            .and(header("tenant-name", "acme"))
            .respond_with(ResponseTemplate::new(200))
            .expect(2)
            .mount(&api)
            .await;
        let url = format!("{}/v2/interactions", api.uri());
        for _ in 0..2 {
            let r = send(&client, via, &m, Method::GET, &url, None)
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{via:?}");
        }
        assert_eq!(tokens.requests(), 1, "{via:?}: the token is cached");
        api.verify().await;
    }
}

#[tokio::test]
async fn the_plain_helper_function_and_a_built_request() {
    let tokens = Scenario::tokens(300.0, Duration::ZERO);
    let m = manager(&tokens.token_url());
    let api = MockServer::start().await;
    Mock::given(header("authorization", bearer(1).as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&api)
        .await;
    let client = reqwest::Client::new();
    let r = send_authorized(&m, client.get(api.uri())).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let mut request = client.get(api.uri()).build().unwrap();
    let token = cortiauth::reqwest::authorize(&m, &mut request)
        .await
        .unwrap();
    assert_eq!(token.secret(), "tok-1");
    assert!(request.headers()["authorization"].is_sensitive());
    assert!(
        !format!("{request:?}").contains("tok-1"),
        "the request's Debug shows the token"
    );
    let r = cortiauth::reqwest::execute_authorized(&m, &client, request)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    api.verify().await;
}

/// 401 to tok-1 → tok-1 invalidated, tok-2 fetched once, the request sent
/// again (with its body) and answered 200; later calls keep tok-2.
#[tokio::test]
async fn a_401_invalidates_and_retries_once_with_a_new_token() {
    let client = reqwest::Client::new();
    for via in BOTH {
        let tokens = Scenario::tokens(300.0, Duration::ZERO);
        let m = manager(&tokens.token_url());
        let api = MockServer::start().await;
        Mock::given(header("authorization", bearer(1).as_str()))
            .respond_with(ResponseTemplate::new(401))
            .expect(1)
            .mount(&api)
            .await;
        Mock::given(header("authorization", bearer(2).as_str()))
            .and(method("POST"))
            .and(wiremock::matchers::body_string("payload"))
            .respond_with(ResponseTemplate::new(200))
            .expect(2)
            .mount(&api)
            .await;
        let url = format!("{}/v2/facts", api.uri());
        let r = send(&client, via, &m, Method::POST, &url, Some("payload".into()))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{via:?}");
        assert_eq!(tokens.requests(), 2, "{via:?}: one new token after the 401");
        let r = send(&client, via, &m, Method::POST, &url, Some("payload".into()))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(tokens.requests(), 2, "{via:?}: tok-2 is cached");
        api.verify().await;
    }
}

/// A burst of requests rejected with the same token: one invalidation, one new
/// token for all of them (each retried once, all answered 200).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_401s_causes_one_new_token() {
    let client = reqwest::Client::new();
    for via in BOTH {
        let tokens = Scenario::tokens(300.0, Duration::from_millis(100));
        let m = manager(&tokens.token_url());
        let api = MockServer::start().await;
        Mock::given(header("authorization", bearer(1).as_str()))
            .respond_with(ResponseTemplate::new(401))
            .mount(&api)
            .await;
        Mock::given(header("authorization", bearer(2).as_str()))
            .respond_with(ResponseTemplate::new(200))
            .expect(50)
            .mount(&api)
            .await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (m, client, url) = (m.clone(), client.clone(), api.uri());
                tokio::spawn(async move {
                    send(&client, via, &m, Method::GET, &url, None)
                        .await
                        .unwrap()
                        .status()
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), StatusCode::OK, "{via:?}");
        }
        assert_eq!(tokens.requests(), 2, "{via:?}: one new token for the burst");
        api.verify().await;
    }
}

/// A second 401 (the new token rejected too) is returned, not retried again.
#[tokio::test]
async fn only_one_retry() {
    let client = reqwest::Client::new();
    for via in BOTH {
        let tokens = Scenario::tokens(300.0, Duration::ZERO);
        let m = manager(&tokens.token_url());
        let api = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401))
            .expect(2)
            .mount(&api)
            .await;
        let r = send(&client, via, &m, Method::GET, &api.uri(), None)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{via:?}");
        assert_eq!(tokens.requests(), 2, "{via:?}");
        api.verify().await;
    }
}

/// A streaming body cannot be sent twice: the 401 is returned, after the
/// token was invalidated (the next call fetches a new one).
#[tokio::test]
async fn a_401_with_a_streaming_body_invalidates_without_retrying() {
    let client = reqwest::Client::new();
    for via in BOTH {
        let tokens = Scenario::tokens(300.0, Duration::ZERO);
        let m = manager(&tokens.token_url());
        let api = MockServer::start().await;
        Mock::given(header("authorization", bearer(1).as_str()))
            .respond_with(ResponseTemplate::new(401))
            .expect(1)
            .mount(&api)
            .await;
        let body = Body::wrap(String::from("streamed"));
        let r = send(&client, via, &m, Method::POST, &api.uri(), Some(body))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{via:?}");
        assert_eq!(tokens.requests(), 1, "{via:?}");
        assert!(m.current_token().is_none(), "{via:?}: tok-1 invalidated");
        assert_eq!(m.token_async().await.unwrap().secret(), "tok-2");
        api.verify().await;
    }
}

/// The API redirects to another origin, which answers 401: that origin never
/// sees the token, and the 401 is not the API's verdict on it (no
/// invalidation, no retry).
#[tokio::test]
async fn a_401_from_another_origin_after_a_redirect_is_not_retried() {
    let client = reqwest::Client::new();
    for via in BOTH {
        let tokens = Scenario::tokens(300.0, Duration::ZERO);
        let m = manager(&tokens.token_url());
        let api = MockServer::start().await;
        let elsewhere = MockServer::start().await;
        Mock::given(path("/v2/moved"))
            .respond_with(
                ResponseTemplate::new(302)
                    .insert_header("location", format!("{}/landing", elsewhere.uri())),
            )
            .expect(1)
            .mount(&api)
            .await;
        Mock::given(path("/landing"))
            .respond_with(ResponseTemplate::new(401))
            .expect(1)
            .mount(&elsewhere)
            .await;
        let r = send(
            &client,
            via,
            &m,
            Method::GET,
            &format!("{}/v2/moved", api.uri()),
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{via:?}");
        assert_eq!(r.url().port(), Some(elsewhere.address().port()));
        api.verify().await;
        elsewhere.verify().await;
        let seen = elsewhere.received_requests().await.unwrap();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].headers.get("authorization").is_none(),
            "{via:?}: the token went to another origin"
        );
        assert_eq!(tokens.requests(), 1, "{via:?}: no new token");
        assert_eq!(
            m.current_token().map(|t| t.secret().to_string()).as_deref(),
            Some("tok-1"),
            "{via:?}: the token was not invalidated"
        );
    }
}

/// A same-origin redirect keeps the header (reqwest's rule), and a 401 at
/// the end of it is the API's: invalidated and retried.
#[tokio::test]
async fn a_401_after_a_same_origin_redirect_is_retried() {
    let client = reqwest::Client::new();
    for via in BOTH {
        let tokens = Scenario::tokens(300.0, Duration::ZERO);
        let m = manager(&tokens.token_url());
        let api = MockServer::start().await;
        Mock::given(path("/old"))
            .respond_with(ResponseTemplate::new(307).insert_header("location", "/new"))
            .mount(&api)
            .await;
        Mock::given(path("/new"))
            .and(header("authorization", bearer(1).as_str()))
            .respond_with(ResponseTemplate::new(401))
            .expect(1)
            .mount(&api)
            .await;
        Mock::given(path("/new"))
            .and(header("authorization", bearer(2).as_str()))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&api)
            .await;
        let r = send(
            &client,
            via,
            &m,
            Method::GET,
            &format!("{}/old", api.uri()),
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{via:?}");
        assert_eq!(tokens.requests(), 2, "{via:?}");
        api.verify().await;
    }
}

/// The token only travels over HTTPS or to loopback: a plain-HTTP remote URL
/// is refused before any token request or connection.
#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused() {
    let client = reqwest::Client::new();
    for via in BOTH {
        let tokens = Scenario::tokens(300.0, Duration::ZERO);
        let m = manager(&tokens.token_url());
        let e = send(
            &client,
            via,
            &m,
            Method::GET,
            "http://api.example.invalid/v2",
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(e, Some(ErrorKind::Config), "{via:?}");
        assert_eq!(tokens.requests(), 0, "{via:?}");
    }
}

/// 200 concurrent requests on a cold manager: one token request.
async fn two_hundred_tasks(via: Via) {
    let client = reqwest::Client::new();
    let tokens = Scenario::tokens(300.0, Duration::from_millis(200));
    let m = manager(&tokens.token_url());
    // The stub as the API (a wiremock server dropped inside a multi-thread runtime
    // once spun for minutes in its drop-time verify).
    let api = Scenario::start(vec![Step::api().tenant("acme")]);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let m = m.clone();
            let url = api.url();
            let client = client.clone();
            tokio::spawn(async move {
                send(&client, via, &m, Method::GET, &url, None)
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK, "{via:?}");
    }
    assert_eq!(
        tokens.requests(),
        1,
        "{via:?}: 200 tasks, one token request"
    );
    let seen = api.log();
    assert_eq!(seen.len(), 200, "{via:?}");
    assert!(
        seen.iter()
            .all(|r| r.header("authorization") == Some(bearer(1).as_str())),
        "{via:?}: every call carried the one token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_tasks_share_one_token_request_multi_thread() {
    for via in BOTH {
        two_hundred_tasks(via).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn two_hundred_tasks_share_one_token_request_current_thread() {
    for via in BOTH {
        two_hundred_tasks(via).await;
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests under tests/servers/with-servers.sh (scripts/test.sh does)")
    })
}

/// The real Keycloak: its userinfo endpoint answers 200 to the manager's token
/// and 401 to anything else. A manager seeded with a bogus token gets a 401,
/// invalidates it, fetches a real token and retries: 200, one token request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
async fn keycloak_userinfo_accepts_the_token_after_a_401_retry() {
    let token_url = var("CORTIAUTH_KC_TOKEN_URL_BASE");
    let userinfo = format!(
        "{}/userinfo",
        token_url
            .strip_suffix("/token")
            .expect("a Keycloak token URL")
    );
    let client = reqwest::Client::new();
    for via in BOTH {
        let config = Config::builder()
            .token_url(&token_url)
            .client_id(var("CORTIAUTH_KC_CLIENT_ID"))
            .client_secret(var("CORTIAUTH_KC_CLIENT_SECRET"))
            .tenant("base")
            .build()
            .unwrap();
        let m = TokenManager::new(config).unwrap();
        let r = send(&client, via, &m, Method::GET, &userinfo, None)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{via:?}");
        let body = r.text().await.unwrap();
        assert!(body.contains("\"sub\""), "{via:?}: {body}");
        assert_eq!(m.stats().token_requests, 1);

        let m = TokenManager::new(m.config().clone()).unwrap();
        let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
        assert!(m.seed("not-a-keycloak-token", in_an_hour, None));
        let r = send(&client, via, &m, Method::GET, &userinfo, None)
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{via:?}: retried with a real token"
        );
        assert_eq!(m.stats().token_requests, 1, "{via:?}");
        assert_ne!(
            m.current_token().unwrap().secret(),
            "not-a-keycloak-token",
            "{via:?}"
        );
    }
}
