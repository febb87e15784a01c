//! Prints the refresh-tail figures for the Rust core, against a loopback token
//! endpoint on this machine:
//!
//! - calls that waited > 1 ms during the refresh tail: 4 threads calling
//!   `token()` for 15 s, 3 s tokens, an endpoint answering in 20 ms, with and
//!   without background refresh (target: 0), and the token requests sent;
//!   (4 busy threads on a 2-core machine are preempted inside calls now and
//!   then: the control run with 300 s tokens, where no refresh happens,
//!   shows that noise floor);
//! - building a manager (µs);
//! - a new manager's first token vs a bare reqwest POST with a new client.
//!
//! `cargo run --release -p cortiauth-bench --bin refresh_tail [-- seconds]`

#[allow(dead_code)]
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use cortiauth::{Config, TokenManager};
use cortiauth_stub::Scenario;

fn config(url: &str, background: bool) -> Config {
    Config::builder()
        .client_id("bench")
        .client_secret("bench-secret")
        .token_url(url)
        .background_refresh(background)
        .build()
        .unwrap()
}

fn refresh_tail(seconds: u64, background: bool, lifetime: f64) {
    let server = Scenario::tokens(lifetime, Duration::from_millis(20));
    let m = TokenManager::new(config(&server.token_url(), background)).unwrap();
    m.token().unwrap();
    let waits_before = m.stats().waits;
    let threads = 4;
    let barrier = Arc::new(Barrier::new(threads));
    let end = Instant::now() + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (m, b) = (m.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                let (mut calls, mut slow, mut worst) = (0u64, 0u64, Duration::ZERO);
                while Instant::now() < end {
                    let start = Instant::now();
                    std::hint::black_box(m.token().unwrap());
                    let took = start.elapsed();
                    calls += 1;
                    if took > Duration::from_millis(1) {
                        slow += 1;
                    }
                    worst = worst.max(took);
                }
                (calls, slow, worst)
            })
        })
        .collect();
    let (mut calls, mut slow, mut worst) = (0, 0, Duration::ZERO);
    for h in handles {
        let (c, s, w) = h.join().unwrap();
        calls += c;
        slow += s;
        worst = worst.max(w);
    }
    println!(
        "refresh tail ({}): {threads} threads × {seconds} s, {lifetime} s tokens, 20 ms endpoint: \
         {calls} calls, {} waited for a token request, {slow} took > 1 ms, worst {worst:?}, \
         {} token requests",
        if lifetime > 60.0 {
            "control, no refresh in the run: scheduler noise"
        } else if background {
            "background refresh"
        } else {
            "default"
        },
        m.stats().waits - waits_before,
        server.requests(),
    );
}

fn build_cost() {
    let config = config("http://127.0.0.1:9/token", false);
    drop(TokenManager::new(config.clone()).unwrap());
    let n = 10_000;
    let start = Instant::now();
    for _ in 0..n {
        drop(TokenManager::new(config.clone()).unwrap());
    }
    println!(
        "TokenManager::new + drop: {:.1} µs",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn first_token_vs_bare_post() {
    let server = Scenario::tokens(300.0, Duration::ZERO);
    let rounds = 30;
    let mut manager = Vec::new();
    let mut bare = Vec::new();
    // Warm up both paths (one-time process costs such as the root store).
    TokenManager::new(config(&server.token_url(), false))
        .unwrap()
        .token()
        .unwrap();
    drop(reqwest::blocking::Client::new());
    for _ in 0..rounds {
        let start = Instant::now();
        let m = TokenManager::new(config(&server.token_url(), false)).unwrap();
        std::hint::black_box(m.token().unwrap());
        manager.push(start.elapsed());
        drop(m);

        let start = Instant::now();
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let body = client
            .post(server.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=openid&client_id=bench&client_secret=bench-secret")
            .send()
            .unwrap()
            .text()
            .unwrap();
        std::hint::black_box(body);
        bare.push(start.elapsed());
        drop(client);
    }
    let (m, b) = (median(manager), median(bare));
    println!(
        "new manager + first token: {m:?}; new reqwest client + POST: {b:?}; ratio {:.2}×",
        m.as_secs_f64() / b.as_secs_f64()
    );
}

fn main() {
    let seconds = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    build_cost();
    first_token_vs_bare_post();
    refresh_tail(seconds, false, 3.0);
    refresh_tail(seconds, true, 3.0);
    refresh_tail(seconds, false, 300.0);
}
