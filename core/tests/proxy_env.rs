//! `HTTP(S)_PROXY` and `NO_PROXY` are honoured. A test binary of its own: the
//! proxy variables are process-wide.

mod support;

use cortiauth::{Config, ErrorKind, RetryPolicy, TokenManager};
use support::*;
use wiremock::matchers::method;
use wiremock::Mock;

#[test]
fn proxy_variables_are_honoured() {
    // The "proxy" is a stub that answers token requests itself.
    let proxy = Stub::start();
    proxy.mount(Mock::given(method("POST")).respond_with(Counting::new(300.0)));
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = || {
        Config::builder()
            .client_id("id")
            .client_secret(SECRET)
            .token_url(format!("http://127.0.0.1:{closed_port}/token"))
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    };
    std::env::set_var("HTTP_PROXY", proxy.server.uri());
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    let token = TokenManager::new(config()).unwrap().token().unwrap();
    assert_eq!(
        token.secret(),
        "tok-1",
        "the request went through the proxy"
    );
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(field(&seen[0], "client_id").as_deref(), Some("id"));

    // NO_PROXY for the host: a direct connection, to a closed port.
    std::env::set_var("NO_PROXY", "127.0.0.1");
    let e = TokenManager::new(config()).unwrap().token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert_eq!(proxy.requests().len(), 1, "the proxy was bypassed");
}
