//! 16 threads calling `token()` in a loop, recording what a caller sees: errors
//! (and whether a valid token existed when the call started), waits, tokens.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cortiauth::{AccessToken, TokenManager};

pub const THREADS: usize = 16;
/// A call that starts while the newest token seen still has this much life left
/// must succeed (the manager hands a token out until 0.5 s before a 10 s token expires).
pub const VALID_MARGIN: Duration = Duration::from_millis(750);
/// ... and must not wait longer than this (a valid token exists: nobody should wait
/// for a token request). Far below every timeout the scenarios inject.
pub const MAX_WAIT: Duration = Duration::from_millis(500);
/// Between two calls of one thread: a yield, not a spin.
const PAUSE: Duration = Duration::from_millis(1);
const MAX_TEXTS: usize = 64;

/// What the callers saw, merged over the threads.
#[derive(Debug, Default)]
pub struct Report {
    pub calls: u64,
    pub oks: u64,
    pub errors: u64,
    /// Errors of calls that started while a valid token existed.
    pub errors_while_valid: Vec<String>,
    /// Calls that started while a valid token existed and took longer than MAX_WAIT.
    pub waits_while_valid: u64,
    pub max_wait_while_valid: Duration,
    /// The longest call of all, valid token or not.
    pub max_call: Duration,
    /// Calls handed a token whose JWT `exp` had passed (1 s of rounding allowed).
    pub expired_handed_out: u64,
    pub error_kinds: BTreeMap<&'static str, u64>,
    pub http_statuses: BTreeSet<u16>,
    /// Display and Debug of errors (distinct, capped), for the secret check.
    pub error_texts: BTreeSet<String>,
    pub first_error: Option<Instant>,
    pub last_error: Option<Instant>,
    /// Per thread, when a call first succeeded again after an error.
    pub recoveries: Vec<Instant>,
    /// Every distinct access token handed out, in the order first seen.
    pub tokens: Vec<String>,
}

impl Report {
    /// When the callers got tokens again after `after` (the first thread to recover).
    pub fn recovered_after(&self, after: Instant) -> Option<Duration> {
        self.recoveries
            .iter()
            .filter(|t| **t >= after)
            .min()
            .map(|t| t.duration_since(after))
    }
}

struct Shared {
    base: Instant,
    /// Nanoseconds after `base` until which the newest token seen is valid.
    valid_until: AtomicU64,
    stop: AtomicBool,
    tokens: Mutex<Vec<String>>,
}

impl Shared {
    fn nanos(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.base).as_nanos() as u64
    }
    fn saw(&self, t: &AccessToken) {
        let until = t
            .expires_at()
            .checked_sub(VALID_MARGIN)
            .unwrap_or(self.base);
        let n = self.nanos(until);
        if self.valid_until.fetch_max(n, Ordering::SeqCst) < n {
            let mut tokens = self.tokens.lock().unwrap();
            if !tokens.iter().any(|s| s == t.secret()) {
                tokens.push(t.secret().to_string());
            }
        }
    }
    fn valid_at(&self, t: Instant, extra: Duration) -> bool {
        self.nanos(t + extra) < self.valid_until.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct ThreadReport {
    calls: u64,
    oks: u64,
    errors: u64,
    errors_while_valid: Vec<String>,
    waits_while_valid: u64,
    max_wait_while_valid: Duration,
    max_call: Duration,
    expired_handed_out: u64,
    error_kinds: BTreeMap<&'static str, u64>,
    http_statuses: BTreeSet<u16>,
    error_texts: BTreeSet<String>,
    first_error: Option<Instant>,
    last_error: Option<Instant>,
    recoveries: Vec<Instant>,
}

pub struct Soak {
    manager: TokenManager,
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<ThreadReport>>,
}

impl Soak {
    /// Fetches the first token on this thread, then starts the callers.
    pub fn start(manager: &TokenManager) -> (Soak, AccessToken) {
        let base = Instant::now();
        let shared = Arc::new(Shared {
            base,
            valid_until: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            tokens: Mutex::new(Vec::new()),
        });
        let first = manager.token().expect("the first token");
        shared.saw(&first);
        let handles = (0..THREADS)
            .map(|i| {
                let (m, s) = (manager.clone(), shared.clone());
                std::thread::Builder::new()
                    .name(format!("caller-{i}"))
                    .spawn(move || caller(&m, &s))
                    .unwrap()
            })
            .collect();
        (
            Soak {
                manager: manager.clone(),
                shared,
                handles,
            },
            first,
        )
    }

    /// Whether a token the callers were handed is still valid now.
    pub fn token_valid_now(&self) -> bool {
        self.shared.valid_at(Instant::now(), Duration::ZERO)
    }

    /// The instant until which the newest token seen so far counts as valid.
    pub fn valid_until(&self) -> Instant {
        self.shared.base + Duration::from_nanos(self.shared.valid_until.load(Ordering::SeqCst))
    }

    /// How many distinct tokens the callers have been handed so far.
    pub fn tokens_seen(&self) -> usize {
        self.shared.tokens.lock().unwrap().len()
    }

    pub fn manager(&self) -> &TokenManager {
        &self.manager
    }

    pub fn stop(self) -> Report {
        self.shared.stop.store(true, Ordering::SeqCst);
        let mut r = Report::default();
        for h in self.handles {
            let t = h.join().expect("a caller thread panicked");
            r.calls += t.calls;
            r.oks += t.oks;
            r.errors += t.errors;
            r.errors_while_valid.extend(t.errors_while_valid);
            r.waits_while_valid += t.waits_while_valid;
            r.max_wait_while_valid = r.max_wait_while_valid.max(t.max_wait_while_valid);
            r.max_call = r.max_call.max(t.max_call);
            r.expired_handed_out += t.expired_handed_out;
            for (k, n) in t.error_kinds {
                *r.error_kinds.entry(k).or_default() += n;
            }
            r.http_statuses.extend(t.http_statuses);
            for text in t.error_texts {
                if r.error_texts.len() < MAX_TEXTS {
                    r.error_texts.insert(text);
                }
            }
            r.first_error = min_opt(r.first_error, t.first_error);
            r.last_error = r.last_error.max(t.last_error);
            r.recoveries.extend(t.recoveries);
        }
        r.tokens = self.shared.tokens.lock().unwrap().clone();
        r
    }
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a JWT's `exp` (whole seconds) lies more than 1 s in the past: the
/// server's own word, whatever the manager or a shared store computed.
pub fn jwt_expired(token: &str) -> bool {
    use base64::Engine;
    let exp = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|v| v["exp"].as_u64());
    let Some(exp) = exp else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    now > exp as f64 + 1.0
}

fn caller(m: &TokenManager, s: &Shared) -> ThreadReport {
    let mut r = ThreadReport::default();
    let mut in_error = false;
    while !s.stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let valid = s.valid_at(start, Duration::ZERO);
        let valid_through_wait = s.valid_at(start, MAX_WAIT);
        let result = m.token();
        let end = Instant::now();
        let took = end - start;
        r.calls += 1;
        r.max_call = r.max_call.max(took);
        if valid_through_wait {
            r.max_wait_while_valid = r.max_wait_while_valid.max(took);
            if took > MAX_WAIT {
                r.waits_while_valid += 1;
            }
        }
        match result {
            Ok(t) => {
                r.oks += 1;
                if jwt_expired(t.secret()) {
                    r.expired_handed_out += 1;
                }
                s.saw(&t);
                if in_error {
                    r.recoveries.push(end);
                    in_error = false;
                }
            }
            Err(e) => {
                r.errors += 1;
                in_error = true;
                *r.error_kinds.entry(e.kind().as_str()).or_default() += 1;
                if let Some(st) = e.http_status() {
                    r.http_statuses.insert(st);
                }
                if r.first_error.is_none() {
                    r.first_error = Some(end);
                }
                r.last_error = Some(end);
                let text = format!("{e} | {e:?}");
                if valid && r.errors_while_valid.len() < 8 {
                    r.errors_while_valid.push(text.clone());
                }
                if r.error_texts.len() < MAX_TEXTS {
                    r.error_texts.insert(text);
                }
            }
        }
        std::thread::sleep(PAUSE);
    }
    r
}
