//! Async Rust: `token_async` on tokio's multi-thread and
//! current-thread runtimes, and the blocking API called inside a runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cortiauth::{Config, TokenManager};
use cortiauth_stub::Scenario;

fn manager(url: &str) -> TokenManager {
    let config = Config::builder()
        .client_id("async")
        .client_secret("async-secret")
        .token_url(url)
        .build()
        .unwrap();
    TokenManager::new(config).unwrap()
}

async fn two_hundred_tasks_one_request() {
    let server = Scenario::tokens(300.0, Duration::from_millis(200));
    let m = manager(&server.token_url());
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.token_async().await.unwrap().secret().to_string() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), "tok-1");
    }
    assert_eq!(
        server.requests(),
        1,
        "200 tasks on a cold manager, one request"
    );
    // Cached: ready at the first poll.
    let start = Instant::now();
    let [auth, tenant] = m.headers_async().await.unwrap();
    assert_eq!(auth.1, "Bearer tok-1");
    assert_eq!(tenant.0, "Tenant-Name");
    assert_eq!(
        m.websocket_url_async("wss://api.eu.corti.app/x?tenant-name=t")
            .await
            .unwrap(),
        "wss://api.eu.corti.app/x?tenant-name=t&token=Bearer%20tok-1"
    );
    assert!(start.elapsed() < Duration::from_millis(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_200_tasks_cause_one_request() {
    two_hundred_tasks_one_request().await;
}

#[tokio::test(flavor = "current_thread")]
async fn current_thread_200_tasks_cause_one_request() {
    two_hundred_tasks_one_request().await;
}

/// A ticker task keeps ticking while a slow (1 s) fetch is awaited: the
/// executor thread is never blocked.
#[tokio::test(flavor = "current_thread")]
async fn a_slow_fetch_does_not_block_the_executor() {
    let server = Scenario::tokens(300.0, Duration::from_secs(1));
    let m = manager(&server.token_url());
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticker = {
        let ticks = ticks.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(10));
            loop {
                interval.tick().await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let start = Instant::now();
    let token = m.token_async().await.unwrap();
    let took = start.elapsed();
    ticker.abort();
    assert_eq!(token.secret(), "tok-1");
    assert!(took >= Duration::from_secs(1));
    let ticks = ticks.load(Ordering::SeqCst);
    assert!(ticks >= 50, "the ticker ticked {ticks} times in {took:?}");
}

/// The blocking API inside a runtime: building, using and dropping a manager
/// must not panic (reqwest's blocking client panics when created or dropped
/// on a runtime thread; the manager keeps it on its own worker thread).
async fn blocking_api_inside_the_runtime() {
    let server = Scenario::tokens(300.0, Duration::ZERO);
    let m = manager(&server.token_url());
    assert_eq!(m.token().unwrap().secret(), "tok-1");
    assert!(m.invalidate("tok-1"));
    assert_eq!(m.authorization_header().unwrap(), "Bearer tok-2");
    drop(m);
    let m = manager(&server.token_url());
    let t = m.token_async().await.unwrap();
    assert_eq!(m.token().unwrap().secret(), t.secret());
    drop(m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_blocking_api_does_not_panic() {
    blocking_api_inside_the_runtime().await;
}

#[tokio::test(flavor = "current_thread")]
async fn current_thread_blocking_api_does_not_panic() {
    blocking_api_inside_the_runtime().await;
}
