//! The shared token cache's effect on a fleet: token requests sent
//! by N ∈ {1, 8, 32} processes over 3 token lifetimes (10 s tokens), each
//! process with its own manager asking for a token every 50 ms, with and without
//! the shared cache; and the cached-path cost with a store configured vs
//! without (it must not change: the cached path never touches the store).
//!
//! ```sh
//! cargo run --release -p cortiauth-bench --bin fleet            # file store
//! CORTIAUTH_REDIS_URL=redis://… cargo run --release -p cortiauth-bench --bin fleet -- redis
//! cargo run --release -p cortiauth-bench --bin fleet -- file 2 1   # 2 s tokens, 1 lifetime
//! ```
//!
//! Every fleet runs at the same time against its own loopback token endpoint
//! (which counts the requests) and its own store slot. Members are this binary
//! started again (`CORTIAUTH_FLEET_MEMBER`).

#[allow(dead_code)]
use std::hint::black_box;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cortiauth::{Config, TokenManager};

const MEMBER_ENV: &str = "CORTIAUTH_FLEET_MEMBER";
const SIZES: [usize; 3] = [1, 8, 32];

fn config(token_url: &str, store: Option<&str>) -> Config {
    let mut b = Config::builder()
        .client_id("fleet-bench")
        .client_secret("fleet-bench-secret-Wm4pQ8sZ")
        .token_url(token_url);
    if let Some(s) = store {
        b = b.shared_cache(s);
    }
    b.build().unwrap()
}

/// A member: asks for a token every 50 ms until `run_ms` has passed, prints
/// its own token_requests and store_errors.
fn member(spec: &str) {
    let mut parts = spec.splitn(3, '|');
    let (url, run_ms, store) = (
        parts.next().unwrap(),
        parts.next().unwrap().parse::<u64>().unwrap(),
        parts.next().filter(|s| !s.is_empty()),
    );
    let m = TokenManager::new(config(url, store)).unwrap();
    let end = Instant::now() + Duration::from_millis(run_ms);
    while Instant::now() < end {
        black_box(m.token().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = m.stats();
    println!("{} {}", s.token_requests, s.store_errors);
}

struct Fleet {
    n: usize,
    shared: bool,
    server: cortiauth_stub::Scenario,
    children: Vec<Child>,
}

fn cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// Best of 3 runs of `n` cached `token()` calls, in thread CPU ns per call.
fn cached_cost(m: &TokenManager, n: u64) -> f64 {
    m.token().unwrap();
    (0..3)
        .map(|_| {
            let start = cpu_ns();
            for _ in 0..n {
                drop(black_box(m.token().unwrap()));
            }
            (cpu_ns() - start) as f64 / n as f64
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    if let Ok(spec) = std::env::var(MEMBER_ENV) {
        member(&spec);
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = args.first().map_or("file", String::as_str);
    let lifetime: f64 = args.get(1).map_or(10.0, |v| v.parse().unwrap());
    let lifetimes: f64 = args.get(2).map_or(3.0, |v| v.parse().unwrap());
    let tmp = std::env::temp_dir().join(format!("cortiauth-fleet-{}", std::process::id()));
    let store_base = match kind {
        "redis" => std::env::var("CORTIAUTH_REDIS_URL")
            .expect("redis: set CORTIAUTH_REDIS_URL")
            .to_string(),
        _ => format!("file://{}", tmp.display()),
    };
    let store_url = |i: usize| -> String {
        match kind {
            // One slot per fleet: each fleet has its own token URL (port), which is in the key.
            "redis" => format!("{store_base}?timeout_ms=1000"),
            _ => format!("{store_base}/{i}"),
        }
    };
    let run_ms = (lifetime * lifetimes * 1000.0) as u64;
    let exe = std::env::current_exe().unwrap();
    println!(
        "fleet: {lifetimes} lifetimes of {lifetime} s tokens, every process asks every 50 ms; store: {}",
        cortiauth::surface::redact_url(&store_base)
    );
    let mut fleets = Vec::new();
    for (i, (n, shared)) in SIZES
        .iter()
        .flat_map(|&n| [(n, false), (n, true)])
        .enumerate()
    {
        let server = cortiauth_stub::Scenario::tokens(lifetime, Duration::from_millis(20));
        let store = if shared { store_url(i) } else { String::new() };
        let children = (0..n)
            .map(|_| {
                Command::new(&exe)
                    .env(
                        MEMBER_ENV,
                        format!("{}|{run_ms}|{store}", server.token_url()),
                    )
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        fleets.push(Fleet {
            n,
            shared,
            server,
            children,
        });
    }
    println!("| processes | shared cache | token requests (endpoint) | sum of members' token_requests | store errors |");
    println!("|---|---|---|---|---|");
    for f in &mut fleets {
        let (mut requests, mut errors) = (0u64, 0u64);
        for c in &mut f.children {
            let mut out = String::new();
            c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            assert!(c.wait().unwrap().success());
            let mut it = out.split_whitespace().map(|v| v.parse::<u64>().unwrap());
            requests += it.next().unwrap();
            errors += it.next().unwrap();
        }
        println!(
            "| {} | {} | {} | {} | {} |",
            f.n,
            if f.shared { "yes" } else { "no" },
            f.server.requests(),
            requests,
            errors
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);

    // The cached path: one manager with a store, one without.
    let server = cortiauth_stub::Scenario::tokens(3600.0, Duration::ZERO);
    let n = 10_000_000;
    let plain = TokenManager::new(config(&server.token_url(), None)).unwrap();
    let with_store = TokenManager::new(config(&server.token_url(), Some(&store_url(99)))).unwrap();
    for _ in 0..2 {
        let a = cached_cost(&plain, n);
        let b = cached_cost(&with_store, n);
        println!("cached token(): {a:.1} ns CPU/call without a store, {b:.1} ns with {kind} store");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
