//! The Rust side of the side-by-side benchmark (`bench/run.sh`): cortiauth's
//! `TokenManager` and bare reqwest against the benchmark's loopback token endpoint.
//!
//!     cargo run --release -p cortiauth-bench --bin bench_side -- BASE_URL [all|rss]
//!
//! Prints one JSON object per figure on stdout (`lang`, `impl`, `metric`, `value`,
//! optional `extra`); `bench/report.py` turns them into the table. Environment:
//! BENCH_QUICK=1 (short runs), BENCH_TAIL_S (15), BENCH_ROUNDS (5).

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use cortiauth::{Config, TokenManager};

const LANG: &str = "rust";
/// Between two calls of a refresh-tail caller.
const PAUSE: Duration = Duration::from_micros(100);

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn emit(imp: &str, metric: &str, value: f64, extra: &str) {
    let extra = serde_json::Value::String(extra.to_string());
    println!(
        "{{\"lang\":\"{LANG}\",\"impl\":\"{imp}\",\"metric\":\"{metric}\",\"value\":{value},\"extra\":{extra}}}"
    );
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn manager(url: &str, background: bool) -> TokenManager {
    let config = Config::builder()
        .client_id("bench")
        .client_secret("bench-secret")
        .token_url(url)
        .background_refresh(background)
        .build()
        .expect("config");
    TokenManager::new(config).expect("manager")
}

struct Server {
    base: String,
    http: reqwest::blocking::Client,
}

impl Server {
    fn count(&self) -> u64 {
        self.http
            .get(format!("{}/count", self.base))
            .send()
            .and_then(|r| r.text())
            .expect("GET /count")
            .trim()
            .parse()
            .expect("a count")
    }
}

fn new_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// One token request with bare reqwest on `client`.
fn bare_post(client: &reqwest::blocking::Client, url: &str) -> String {
    let body: serde_json::Value = serde_json::from_str(
        &client
            .post(url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "openid"),
                ("client_id", "bench"),
                ("client_secret", "bench-secret"),
            ])
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.text())
            .expect("POST"),
    )
    .expect("JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// Cached path: ns per `token()` with a valid cached token, one thread.
fn cached(s: &Server, rounds: usize) {
    let m = manager(&format!("{}/exp/300/delay/20/token", s.base), false);
    m.token().expect("token");
    let n = if quick() { 200_000 } else { 2_000_000 };
    let samples = (0..rounds)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..n {
                black_box(m.token().unwrap());
            }
            t0.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    emit("cortiauth", "cached_ns", median(samples), "token()");
}

/// Burst: 64 threads on a fresh manager: wall time until all have a token, requests sent.
fn burst(s: &Server, rounds: usize) {
    let url = format!("{}/exp/300/delay/20/token", s.base);
    let (mut walls, mut reqs) = (vec![], vec![]);
    for _ in 0..rounds {
        let m = manager(&url, false);
        let before = s.count();
        let barrier = Arc::new(Barrier::new(65));
        let threads: Vec<_> = (0..64)
            .map(|_| {
                let (m, b) = (m.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    m.token().expect("token");
                    Instant::now()
                })
            })
            .collect();
        barrier.wait();
        let t0 = Instant::now();
        let last = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .max()
            .unwrap();
        walls.push(last.saturating_duration_since(t0).as_secs_f64() * 1e3);
        reqs.push((s.count() - before) as f64);
    }
    emit("cortiauth", "burst_ms", median(walls), "");
    emit(
        "cortiauth",
        "burst_requests",
        reqs.iter().cloned().fold(0.0, f64::max),
        "",
    );
}

/// Latencies of a loop: a power-of-two histogram of every call plus the exact
/// values of the calls over 10 µs (rare), enough for an exact p99.9 whenever it
/// is over 10 µs.
struct Lat {
    calls: u64,
    hist: Vec<u64>,
    large: Vec<u64>,
}

impl Default for Lat {
    fn default() -> Self {
        Lat {
            calls: 0,
            hist: vec![0; 65],
            large: vec![],
        }
    }
}

impl Lat {
    fn add(&mut self, ns: u64) {
        self.calls += 1;
        self.hist[64 - ns.leading_zeros() as usize] += 1;
        if ns > 10_000 {
            self.large.push(ns);
        }
    }
    fn merge(&mut self, o: Lat) {
        self.calls += o.calls;
        for (a, b) in self.hist.iter_mut().zip(o.hist) {
            *a += b;
        }
        self.large.extend(o.large);
    }
    /// (calls over 1 ms, calls of 15 ms or more (a whole token request), p99.9 in ms).
    fn summary(&mut self) -> (u64, u64, f64) {
        self.large.sort_unstable();
        let slow = self.large.iter().filter(|&&v| v > 1_000_000).count() as u64;
        let slow20 = self.large.iter().filter(|&&v| v >= 15_000_000).count() as u64;
        let k = (self.calls as f64 * 0.001).ceil() as usize;
        let p999 = if k > 0 && self.large.len() >= k {
            self.large[self.large.len() - k] as f64
        } else {
            // Under 10 µs: the upper bound of the histogram bucket holding it.
            let rank = self.calls - k as u64;
            let mut seen = 0;
            let mut bound = 0.0;
            for (i, c) in self.hist.iter().enumerate() {
                seen += c;
                if seen > rank {
                    bound = 2f64.powi(i as i32);
                    break;
                }
            }
            bound
        };
        (slow, slow20, p999 / 1e6)
    }
}

/// Refresh tail: 4 threads calling `token()` in a loop for BENCH_TAIL_S over 3 s
/// tokens; `None`: the noise floor, the same loop cloning a constant `Arc<str>`.
fn tail(s: &Server, background: Option<bool>) {
    let secs = env_num("BENCH_TAIL_S", if quick() { 4.0 } else { 15.0 });
    let m = background.map(|bg| manager(&format!("{}/exp/3/delay/20/token", s.base), bg));
    let constant: Arc<str> = Arc::from("constant");
    if let Some(m) = &m {
        m.token().expect("token");
    }
    let before = s.count();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (m, constant) = (m.clone(), constant.clone());
            std::thread::spawn(move || {
                let mut lat = Lat::default();
                loop {
                    let t0 = Instant::now();
                    if t0 >= end {
                        break;
                    }
                    match &m {
                        Some(m) => drop(black_box(m.token().expect("token"))),
                        None => drop(black_box(constant.clone())),
                    }
                    lat.add(t0.elapsed().as_nanos() as u64);
                    // Callers do other work between calls: 4 tight loops on 2 cores
                    // would measure the scheduler's time slices, not the token.
                    std::thread::sleep(PAUSE);
                }
                lat
            })
        })
        .collect();
    let mut lat = Lat::default();
    for t in threads {
        lat.merge(t.join().unwrap());
    }
    let requests = s.count() - before;
    let (slow, slow20, p999) = lat.summary();
    let imp = match background {
        None => "noise floor",
        Some(false) => "cortiauth",
        Some(true) => "cortiauth+bg",
    };
    let extra = format!("{} calls, {:.0} lifetimes", lat.calls, secs / 3.0);
    emit(imp, "tail_slow", slow as f64, &extra);
    emit(imp, "tail_slow20", slow20 as f64, &extra);
    emit(imp, "tail_p999_ms", p999, &extra);
    emit(imp, "tail_requests", requests as f64, &extra);
}

/// Cold start: building a manager, and a new manager + first token against a bare POST:
/// on a client built once (as Go's `http.DefaultClient`, Node's global `fetch`
/// dispatcher), and with a new `Client` each time (which loads the root
/// certificates, as `TokenManager::new` does today). The endpoint answers with
/// `Connection: close`: every request opens a fresh connection.
fn cold(s: &Server, rounds: usize) {
    let url = format!("{}/exp/300/delay/0/close/token", s.base);
    let n = if quick() { 10 } else { 30 };
    let shared = new_client();
    // Warm-up: the first of each pays one-time process costs (page faults, lazy statics).
    drop(manager(&url, false));
    bare_post(&shared, &url);
    bare_post(&new_client(), &url);
    manager(&url, false).token().unwrap();
    let build: Vec<f64> = (0..n)
        .map(|_| {
            let t0 = Instant::now();
            let m = black_box(manager(&url, false));
            let us = t0.elapsed().as_secs_f64() * 1e6;
            drop(m);
            us
        })
        .collect();
    emit("cortiauth", "build_us", median(build), "TokenManager::new");
    let (mut first, mut bare, mut bare_new) = (vec![], vec![], vec![]);
    for _ in 0..n.max(rounds) {
        let t0 = Instant::now();
        let m = manager(&url, false);
        black_box(m.token().unwrap());
        first.push(t0.elapsed().as_secs_f64() * 1e3);
        drop(m);
        let t0 = Instant::now();
        black_box(bare_post(&shared, &url));
        bare.push(t0.elapsed().as_secs_f64() * 1e3);
        let t0 = Instant::now();
        black_box(bare_post(&new_client(), &url));
        bare_new.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    emit(
        "cortiauth",
        "first_token_ms",
        median(first),
        "new + token()",
    );
    emit(
        "bare reqwest",
        "first_token_ms",
        median(bare),
        "POST on a Client built once",
    );
    emit(
        "bare reqwest, new Client",
        "first_token_ms",
        median(bare_new),
        "Client::builder().build() + POST",
    );
}

fn rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Memory: RSS growth of a fresh process for a manager + its first token.
fn rss(base: &str) {
    let url = format!("{base}/exp/300/delay/0/token");
    let before = rss_kib();
    let m = manager(&url, false);
    m.token().expect("token");
    let after = rss_kib();
    emit(
        "cortiauth",
        "rss_kib",
        after - before,
        "manager + first token",
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: bench_side BASE_URL [all|rss]")
        .trim_end_matches('/')
        .to_string();
    let mode = args.next().unwrap_or_else(|| "all".into());
    if mode == "rss" {
        return rss(&base);
    }
    let s = Server {
        base: base.clone(),
        http: reqwest::blocking::Client::new(),
    };
    let rounds = env_num("BENCH_ROUNDS", if quick() { 3.0 } else { 5.0 }) as usize;
    cached(&s, rounds);
    burst(&s, rounds);
    cold(&s, rounds);
    tail(&s, None);
    tail(&s, Some(false));
    tail(&s, Some(true));
}
