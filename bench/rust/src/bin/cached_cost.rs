//! Cached-path cost in thread CPU time (immune to preemption on a busy
//! machine, unlike wall-clock benchmarks): `token()` and `with_token()`, on 1
//! and on 2 threads at once.
//!
//! `cargo run --release -p cortiauth-bench --bin cached_cost`

#[allow(dead_code)]
use std::hint::black_box;
use std::time::Duration;

use cortiauth::{Config, TokenManager};

fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn per_call(m: &TokenManager, with_token: bool, n: u64) -> f64 {
    let start = thread_cpu_ns();
    for _ in 0..n {
        if with_token {
            black_box(m.with_token(|t| t.secret().len()).unwrap());
        } else {
            drop(black_box(m.token().unwrap()));
        }
    }
    (thread_cpu_ns() - start) as f64 / n as f64
}

fn main() {
    let server = cortiauth_stub::Scenario::tokens(3600.0, Duration::ZERO);
    let config = Config::builder()
        .client_id("bench")
        .client_secret("bench-secret")
        .token_url(server.token_url())
        .build()
        .unwrap();
    let m = TokenManager::new(config).unwrap();
    m.token().unwrap();
    let n = 20_000_000;
    for with_token in [false, true] {
        let name = if with_token { "with_token" } else { "token" };
        let best1 = (0..3)
            .map(|_| per_call(&m, with_token, n))
            .fold(f64::MAX, f64::min);
        let m2 = m.clone();
        let other = std::thread::spawn(move || per_call(&m2, with_token, n));
        let mine = per_call(&m, with_token, n);
        let theirs = other.join().unwrap();
        println!(
            "cached {name}(): {best1:.1} ns CPU/call on 1 thread; {:.1} ns on 2 threads at once",
            mine.max(theirs)
        );
    }
}
