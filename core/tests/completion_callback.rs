//! `TokenManager::token_then`, the completion-callback form of `token_async`
//! that the Python and Node bindings bridge to their event loops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use cortiauth::{Settings, TokenManager};
use cortiauth_stub::Scenario;

fn manager(url: &str) -> TokenManager {
    let settings = Settings {
        client_id: Some("callback".into()),
        client_secret: Some("callback-secret".into()),
        token_url: Some(url.into()),
        max_attempts: Some(1),
        ..Settings::default()
    };
    TokenManager::new(settings.build().unwrap()).unwrap()
}

/// Counts its drops: tells whether `done` was dropped uncalled.
struct Dropped(Arc<AtomicUsize>);
impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_thousand_cold_callers_share_one_request_and_each_is_called_once_on_the_worker() {
    let server = Scenario::tokens(300.0, Duration::from_millis(300));
    let m = manager(&server.token_url());
    let (tx, rx) = mpsc::channel();
    let mut pending = 0;
    for i in 0..1000 {
        let tx = tx.clone();
        let answer = m.token_then(move |r| {
            let thread = std::thread::current().name().map(str::to_string);
            tx.send((
                i,
                r.map(|t| (t.secret().to_string(), t.generation())),
                thread,
            ))
            .unwrap();
        });
        match answer {
            Poll::Pending => pending += 1,
            Poll::Ready(_) => panic!("a cold manager answered at once"),
        }
    }
    drop(tx);
    assert_eq!(pending, 1000);
    let mut seen = vec![0; 1000];
    let mut generations = std::collections::HashSet::new();
    for (i, r, thread) in rx.iter() {
        seen[i] += 1;
        let (value, generation) = r.unwrap();
        assert_eq!(value, "tok-1");
        generations.insert(generation);
        assert_eq!(thread.as_deref(), Some("cortiauth-worker"));
    }
    assert!(
        seen.iter().all(|&n| n == 1),
        "each done called exactly once"
    );
    assert_eq!(generations.len(), 1, "one token, one generation");
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_usable_token_is_ready_at_once_and_done_is_dropped_uncalled() {
    let server = Scenario::tokens(300.0, Duration::ZERO);
    let m = manager(&server.token_url());
    let first = m.token().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let called = Arc::new(AtomicUsize::new(0));
    let guard = Dropped(drops.clone());
    let c = called.clone();
    let answer = m.token_then(move |_| {
        let _guard = guard;
        c.fetch_add(1, Ordering::SeqCst);
    });
    let Poll::Ready(Ok(t)) = answer else {
        panic!("a cached token must be ready at once")
    };
    assert_eq!(t.generation(), first.generation());
    assert_eq!(drops.load(Ordering::SeqCst), 1, "done dropped");
    assert_eq!(called.load(Ordering::SeqCst), 0, "done not called");
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_failed_request_reaches_every_waiting_callback() {
    // Nothing listens there: the one request fails, every caller hears it.
    let port = cortiauth_stub::closed_port();
    let m = manager(&format!("http://127.0.0.1:{port}/token"));
    let (tx, rx) = mpsc::channel();
    for _ in 0..50 {
        let tx = tx.clone();
        if let Poll::Ready(r) = m.token_then(move |r| tx.send(r.map(|_| ())).unwrap()) {
            // The flight may already have failed: its outcome is handed out at once.
            assert!(r.is_err());
        }
    }
    drop(tx);
    let answers: Vec<_> = rx.iter().collect();
    assert!(!answers.is_empty());
    assert!(answers.iter().all(|r| r.is_err()));
    assert_eq!(m.stats().failures, 1, "one failed request for everyone");
}

#[test]
fn generation_names_a_token_and_changes_with_it() {
    let server = Scenario::tokens(300.0, Duration::ZERO);
    let m = manager(&server.token_url());
    let a = m.token().unwrap();
    let b = m.token().unwrap();
    assert_ne!(a.generation(), 0);
    assert_eq!(a.generation(), b.generation(), "copies of one token");
    let from_another_thread = {
        let m = m.clone();
        std::thread::spawn(move || m.token().unwrap().generation())
            .join()
            .unwrap()
    };
    assert_eq!(from_another_thread, a.generation());
    assert!(m.invalidate(a.secret()));
    let c = m.token().unwrap();
    assert_eq!(c.secret(), "tok-2");
    assert!(
        c.generation() > a.generation(),
        "a new token, a new generation"
    );
}

/// The HTTP client is driven on the worker only while a request runs: a pooled
/// connection the server closed while idle (Node's keepAliveTimeout, Keycloak's
/// idle timeout) must be noticed before it is reused, not cost a failed attempt.
#[test]
fn a_pooled_connection_closed_while_idle_is_not_reused() {
    let server = Scenario::start_with(vec![], Some(Duration::from_millis(100)));
    let m = manager(&server.token_url());
    let first = m.token().unwrap();
    assert!(m.invalidate(first.secret()));
    // Wait for the server to close the idle connection (a signal, not a sleep).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.counts().idle_closed == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never closed the connection"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = m.token().unwrap();
    assert_eq!(second.secret(), "tok-2");
    let stats = m.stats();
    assert_eq!(
        stats.token_requests, 2,
        "a failed attempt on the dead connection: {stats:?}"
    );
    assert_eq!(stats.failures, 0);
}
