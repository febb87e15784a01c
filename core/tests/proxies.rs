//! Proxy variables: honoured for a remote token URL, never used for a loopback
//! one (the secret would travel in clear to the proxy). A test
//! binary of its own, and one test function: the proxy variables are process-wide.

mod support;

use cortiauth::{Config, ErrorKind, RetryPolicy, TokenManager};
use cortiauth_stub::{Scenario, Step};
use support::*;
use wiremock::matchers::method;
use wiremock::Mock;

/// A "proxy" on loopback (the stub) that logs every request and refuses it
/// with 403.
fn fake_proxy() -> Scenario {
    Scenario::start(vec![Step::status(403, "")])
}

/// The request lines the proxy has seen.
fn seen(proxy: &Scenario) -> Vec<String> {
    proxy
        .log()
        .iter()
        .map(|r| format!("{} {} HTTP/1.1", r.method, r.target))
        .collect()
}

const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

#[test]
fn loopback_never_uses_a_proxy_remote_hosts_do() {
    let proxy = fake_proxy();
    for var in PROXY_VARS {
        std::env::set_var(var, proxy.url());
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    // A loopback token endpoint, by address and by the name `localhost`: the
    // token comes straight from it, the proxy sees nothing.
    let stub = Stub::start();
    let counting = Counting::new(300.0);
    stub.mount(Mock::given(method("POST")).respond_with(counting.clone()));
    let port = stub.server.address().port();
    for url in [
        format!("http://127.0.0.1:{port}/token"),
        format!("http://localhost:{port}/token"),
    ] {
        let config = Config::builder()
            .client_id("id")
            .client_secret(SECRET)
            .token_url(&url)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let token = TokenManager::new(config).unwrap().token();
        assert!(token.is_ok(), "{url}: {:?}", token.err());
        assert_eq!(
            seen(&proxy),
            Vec::<String>::new(),
            "{url} went to the proxy"
        );
    }
    assert_eq!(counting.count(), 2);
    for req in stub.requests() {
        assert_eq!(field(&req, "client_secret").as_deref(), Some(SECRET));
    }

    // A remote token endpoint goes through HTTPS_PROXY (a CONNECT tunnel; the
    // fake proxy refuses it). `.invalid` is never resolved: the proxy is asked.
    let config = Config::builder()
        .client_id("id")
        .client_secret(SECRET)
        .token_url("https://token.proxy-test.invalid/token")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let e = TokenManager::new(config).unwrap().token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{}", e.full_message());
    let seen = seen(&proxy);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("CONNECT token.proxy-test.invalid:443 "),
        "{seen:?}"
    );
    assert_no_secret(&e.full_message(), &[SECRET]);

    for var in PROXY_VARS {
        std::env::remove_var(var);
    }
}
