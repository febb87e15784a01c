//! Proxy variables: honoured for a remote token URL, never used for a loopback
//! one (the secret would travel in clear to the proxy). A test
//! binary of its own, and one test function: the proxy variables are process-wide.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use cortiauth::{Config, ErrorKind, RetryPolicy, TokenManager};
use support::*;
use wiremock::matchers::method;
use wiremock::Mock;

/// A "proxy" on loopback that records the first line of every connection and
/// refuses it with 403.
struct FakeProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start() -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut line = String::new();
                let _ = BufReader::new(&conn).read_line(&mut line);
                log.lock().unwrap().push(line.trim().to_string());
                let _ = conn.write_all(
                    b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        FakeProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
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
    let proxy = FakeProxy::start();
    for var in PROXY_VARS {
        std::env::set_var(var, &proxy.url);
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
            proxy.seen(),
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
    let seen = proxy.seen();
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
