//! The token manager: cache, single flight, refresh ahead, stale-while-revalidate,
//! 401 invalidation, refresh-token grant, retries, fork safety.
//!
//! The cached token lives in an `ArcSwapOption`, so the fast path is a lock-free
//! load and a clock read: no lock that a fetch holds is ever taken by a reader.
//! Everything that belongs to one OS process (the HTTP client and its thread, the
//! single-flight lock, the background refresher) lives in a `ProcessState` that
//! is rebuilt when the process id changes, so a manager inherited through
//! `fork()` works in the child instead of waiting on threads that do not exist.

use std::cell::RefCell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::response::TokenResponse;
use crate::secret::SecretString;
use crate::stats::{Counters, Stats};
use crate::token::AccessToken;
use crate::transport::{AttemptError, Grant, Transport};
use crate::urls;

/// Hands out valid access tokens, fetching one per lifetime however many threads ask.
///
/// `Send + Sync` and cheap to clone (clones share one cache). See the crate docs.
#[derive(Clone)]
pub struct TokenManager {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    cache: ArcSwapOption<Cached>,
    process: ArcSwap<ProcessState>,
    counters: Counters,
}

/// A token with the moments that matter for it.
struct Cached {
    /// Unique across managers: names this fetch in the per-thread copies.
    id: u64,
    token: AccessToken,
    /// From here on, one caller (or the background thread) refreshes.
    refresh_at: Instant,
    /// Up to here the token is handed out, even while refreshes fail.
    usable_until: Instant,
}

/// What belongs to one OS process.
struct ProcessState {
    pid: u32,
    /// Never dropped in a forked child: its worker thread only exists in the parent.
    transport: ManuallyDrop<Transport>,
    flight: Mutex<Flight>,
    done: Condvar,
    refresher: Arc<RefresherSignal>,
}

/// Single-flight state, behind `ProcessState::flight`.
#[derive(Default)]
struct Flight {
    in_flight: bool,
    /// Counts finished fetches; waiters wait for it to move.
    generation: u64,
    /// Result of the last finished fetch, handed to every waiter.
    outcome: Option<Result<AccessToken>>,
    refresh_token: Option<(SecretString, Instant)>,
    /// After a failure, callers with no valid token get `outcome` until then.
    cooldown_until: Option<Instant>,
}

#[derive(Default)]
struct RefresherSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Urgency {
    /// The caller has no valid token: retry within the deadline.
    Needed,
    /// A valid token exists: one attempt, the old token is used if it fails.
    Ahead,
}

struct Fetched {
    response: TokenResponse,
    requested_at: (Instant, SystemTime),
}

static NEXT_CACHED_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's own copies of the tokens it was recently handed. Cloning a
    /// copy touches only this thread's reference count, so threads reading the
    /// same cached token do not fight over one cache line.
    static THREAD_COPIES: RefCell<[(u64, Option<AccessToken>); 4]> = const {
        RefCell::new([(0, None), (0, None), (0, None), (0, None)])
    };
}

fn thread_copy(c: &Cached) -> AccessToken {
    THREAD_COPIES
        .try_with(|copies| {
            let mut copies = copies.borrow_mut();
            if let Some((_, Some(t))) = copies.iter().find(|(id, _)| *id == c.id) {
                return t.clone();
            }
            let copy = c.token.detached_copy();
            // Replace the oldest entry (the ids grow with time).
            let slot = copies
                .iter_mut()
                .min_by_key(|(id, _)| *id)
                .expect("non-empty");
            *slot = (c.id, Some(copy.clone()));
            copy
        })
        .unwrap_or_else(|_| c.token.clone())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TokenManager {
    /// Builds a manager. Nothing is fetched until the first call (or, with the
    /// background refresher on, right away on its thread).
    pub fn new(config: Config) -> Result<TokenManager> {
        let process = ProcessState::new(&config, std::process::id(), Flight::default())?;
        let shared = Arc::new(Shared {
            config,
            cache: ArcSwapOption::empty(),
            process: ArcSwap::from_pointee(process),
            counters: Counters::default(),
        });
        shared.start_refresher(&shared.process.load());
        Ok(TokenManager { shared })
    }

    /// A manager configured from the `CORTI_*` environment variables.
    pub fn from_env() -> Result<TokenManager> {
        TokenManager::new(Config::from_env()?)
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// A valid access token: from the cache when there is one, else fetched once
    /// for all concurrent callers.
    #[inline]
    pub fn token(&self) -> Result<AccessToken> {
        let now = Instant::now();
        {
            let cached = self.shared.cache.load();
            if let Some(c) = cached.as_ref() {
                if now < c.refresh_at {
                    self.shared.counters.hit();
                    return Ok(thread_copy(c));
                }
            }
        }
        self.shared.slow_path()
    }

    /// Runs `f` on a valid token without cloning it: the cheapest way to copy the
    /// value somewhere else.
    #[inline]
    pub fn with_token<R>(&self, f: impl FnOnce(&AccessToken) -> R) -> Result<R> {
        let now = Instant::now();
        {
            let cached = self.shared.cache.load();
            if let Some(c) = cached.as_ref() {
                if now < c.refresh_at {
                    self.shared.counters.hit();
                    return Ok(f(&c.token));
                }
            }
        }
        let token = self.shared.slow_path()?;
        Ok(f(&token))
    }

    /// The cached token if one is there and not yet due for refresh. Never does
    /// I/O and never blocks (bindings use it to skip a thread hop).
    pub fn cached_token(&self) -> Option<AccessToken> {
        let cached = self.shared.cache.load();
        let c = cached.as_ref()?;
        (Instant::now() < c.refresh_at).then(|| {
            self.shared.counters.hit();
            c.token.clone()
        })
    }

    /// The access token's value.
    pub fn access_token(&self) -> Result<SecretString> {
        self.with_token(|t| SecretString::new(t.secret()))
    }

    /// `Bearer {token}`.
    pub fn authorization_header(&self) -> Result<String> {
        self.with_token(AccessToken::authorization_header)
    }

    /// The two headers every Corti API call carries: `Authorization` and `Tenant-Name`.
    pub fn headers(&self) -> Result<[(&'static str, String); 2]> {
        Ok([
            ("Authorization", self.authorization_header()?),
            ("Tenant-Name", self.shared.config.tenant.clone()),
        ])
    }

    /// `https://api.{environment}.corti.app/v2`, when an environment is configured.
    pub fn api_base_url(&self) -> Option<&str> {
        self.shared.config.api_base_url()
    }

    /// The stream URL with `token=Bearer%20{access_token}` appended. Gets a valid
    /// token at each call, so a reconnect never reuses an expired one.
    pub fn websocket_url(&self, stream_url: &str) -> Result<String> {
        self.with_token(|t| urls::websocket_url(stream_url, t.secret()))?
    }

    /// Drops the cached token if it is still `rejected_token` (the API answered
    /// 401 to it). Returns whether it was dropped: a burst of 401s for one token
    /// causes one refresh.
    pub fn invalidate(&self, rejected_token: &str) -> bool {
        let cached = self.shared.cache.load();
        let Some(c) = cached.as_ref() else {
            return false;
        };
        if c.token.secret() != rejected_token {
            return false;
        }
        let previous = self
            .shared
            .cache
            .compare_and_swap(&*cached, None::<Arc<Cached>>);
        let dropped = match (previous.as_ref(), cached.as_ref()) {
            (Some(p), Some(c)) => Arc::ptr_eq(p, c),
            _ => false,
        };
        if dropped {
            log::debug!("cortiauth: cached token invalidated after the API rejected it");
        }
        dropped
    }

    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Shared {
    /// No token, or one due for refresh.
    fn slow_path(self: &Arc<Self>) -> Result<AccessToken> {
        let process = self.process()?;
        let now = Instant::now();
        let current = self.cache.load_full().filter(|c| now < c.usable_until);
        if let Some(current) = current {
            // Refresh ahead: one caller refreshes, everyone else keeps the old token.
            if self.try_begin(&process, now) {
                let result = self.run_flight(&process, Urgency::Ahead);
                return Ok(result.unwrap_or_else(|_| current.token.clone()));
            }
            self.counters.hit();
            return Ok(current.token.clone());
        }

        let mut flight = lock(&process.flight);
        loop {
            if let Some(c) = self.cache.load().as_ref() {
                if Instant::now() < c.usable_until {
                    self.counters.hit();
                    return Ok(c.token.clone());
                }
            }
            if flight.in_flight {
                let generation = flight.generation;
                while flight.in_flight && flight.generation == generation {
                    flight = process
                        .done
                        .wait(flight)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if let Some(outcome) = &flight.outcome {
                    return outcome.clone();
                }
                continue;
            }
            if let (Some(until), Some(Err(e))) = (flight.cooldown_until, &flight.outcome) {
                if Instant::now() < until {
                    return Err(e.clone());
                }
            }
            flight.in_flight = true;
            break;
        }
        drop(flight);
        self.run_flight(&process, Urgency::Needed)
    }

    /// Claims the flight for a refresh ahead, unless one runs or failures cool down.
    fn try_begin(&self, process: &ProcessState, now: Instant) -> bool {
        let mut flight = lock(&process.flight);
        let cooling = flight.cooldown_until.is_some_and(|until| now < until);
        if flight.in_flight || cooling {
            return false;
        }
        flight.in_flight = true;
        true
    }

    /// Fetches with the flight claimed, publishes the outcome, wakes the waiters.
    fn run_flight(&self, process: &ProcessState, urgency: Urgency) -> Result<AccessToken> {
        // If anything below panics, release the waiters with an error instead of
        // leaving them waiting forever.
        struct Release<'a>(&'a ProcessState, bool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    let mut f = lock(&self.0.flight);
                    f.in_flight = false;
                    f.generation += 1;
                    f.outcome = Some(Err(Error::Network {
                        message: "the token request was interrupted by a panic".into(),
                    }));
                    drop(f);
                    self.0.done.notify_all();
                }
            }
        }
        let mut release = Release(process, false);
        let result = self.fetch(process, urgency);
        let outcome = self.finish(process, result);
        release.1 = true;
        outcome
    }

    fn fetch(&self, process: &ProcessState, urgency: Urgency) -> Result<Fetched> {
        let refresh_token = {
            let flight = lock(&process.flight);
            flight
                .refresh_token
                .as_ref()
                .filter(|(_, expires)| Instant::now() + Duration::from_secs(5) < *expires)
                .map(|(rt, _)| rt.clone())
        };
        if let Some(rt) = refresh_token {
            match self.attempts(process, Grant::RefreshToken(&rt), urgency) {
                Ok(fetched) => return Ok(fetched),
                Err(e) => {
                    log::info!(
                        "cortiauth: refresh_token grant failed ({}), falling back to client_credentials",
                        e.kind()
                    );
                    lock(&process.flight).refresh_token = None;
                }
            }
        }
        self.attempts(process, Grant::ClientCredentials, urgency)
    }

    /// One grant, retried with backoff and full jitter within the deadline.
    fn attempts(
        &self,
        process: &ProcessState,
        grant: Grant<'_>,
        urgency: Urgency,
    ) -> Result<Fetched> {
        let policy = &self.config.retry;
        let max_attempts = match urgency {
            Urgency::Needed => policy.max_attempts,
            Urgency::Ahead => 1,
        };
        let deadline = Instant::now() + policy.deadline;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = self
                .config
                .timeout
                .min(remaining)
                .max(Duration::from_millis(1));
            let requested_at = (Instant::now(), SystemTime::now());
            self.counters.request_sent();
            match process.transport.request(&self.config, grant, timeout) {
                Ok(response) => {
                    return Ok(Fetched {
                        response,
                        requested_at,
                    })
                }
                Err(AttemptError { error, retry_after }) => {
                    if !error.is_transient() || attempt >= max_attempts {
                        return Err(error);
                    }
                    let wait = retry_after.unwrap_or_else(|| full_jitter(policy, attempt));
                    if Instant::now() + wait >= deadline {
                        log::warn!(
                            "cortiauth: token request failed, no time left to retry: {error}"
                        );
                        return Err(error);
                    }
                    log::warn!(
                        "cortiauth: token request failed (attempt {attempt}/{max_attempts}), retrying in {wait:?}: {error}"
                    );
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// Stores a new token (or records a failure) and wakes every waiter.
    fn finish(&self, process: &ProcessState, result: Result<Fetched>) -> Result<AccessToken> {
        let policy = &self.config.refresh;
        let mut refresh_token = None;
        let outcome = match result {
            Ok(Fetched {
                response,
                requested_at,
            }) => {
                let lifetime = response.lifetime;
                refresh_token = response
                    .refresh
                    .map(|(rt, life)| (rt, requested_at.0 + life));
                let token = AccessToken::new(
                    response.access_token,
                    response.token_type,
                    response.scope,
                    requested_at,
                    lifetime,
                );
                let expires = requested_at.0 + lifetime;
                self.cache.store(Some(Arc::new(Cached {
                    id: NEXT_CACHED_ID.fetch_add(1, Ordering::Relaxed),
                    token: token.clone(),
                    refresh_at: expires - policy.margin(lifetime),
                    usable_until: expires - policy.skew(lifetime),
                })));
                self.counters.refreshed();
                log::debug!(
                    "cortiauth: new token for client {} (expires in {:?}, scope {:?})",
                    self.config.client_id,
                    lifetime,
                    token.scope()
                );
                Ok(token)
            }
            Err(e) => {
                self.counters.failed(e.kind());
                log::warn!("cortiauth: token request failed: {e}");
                Err(e)
            }
        };
        let mut flight = lock(&process.flight);
        flight.in_flight = false;
        flight.generation += 1;
        if outcome.is_ok() {
            flight.refresh_token = refresh_token;
            flight.cooldown_until = None;
        } else {
            flight.cooldown_until = Some(Instant::now() + self.config.retry.failure_cooldown);
        }
        flight.outcome = Some(outcome.clone());
        drop(flight);
        process.done.notify_all();
        outcome
    }

    /// This process's state, rebuilt after a `fork()`.
    fn process(self: &Arc<Self>) -> Result<Arc<ProcessState>> {
        let current = self.process.load_full();
        let pid = std::process::id();
        if current.pid == pid {
            return Ok(current);
        }
        // Keep what the parent knew, unless its lock was held at the fork.
        let inherited = match current.flight.try_lock() {
            Ok(f) => Flight {
                refresh_token: f.refresh_token.clone(),
                ..Flight::default()
            },
            Err(_) => Flight::default(),
        };
        let fresh = Arc::new(ProcessState::new(&self.config, pid, inherited)?);
        let previous = self.process.compare_and_swap(&current, Arc::clone(&fresh));
        if Arc::ptr_eq(&previous, &current) {
            log::debug!("cortiauth: running in a forked child (pid {pid}): new HTTP client");
            self.start_refresher(&fresh);
            Ok(fresh)
        } else {
            Ok(self.process.load_full())
        }
    }

    fn start_refresher(self: &Arc<Self>, process: &ProcessState) {
        if !self.config.refresh.background {
            return;
        }
        let weak: Weak<Shared> = Arc::downgrade(self);
        let signal = Arc::clone(&process.refresher);
        let spawned = std::thread::Builder::new()
            .name("cortiauth-refresh".into())
            .spawn(move || loop {
                let Some(shared) = weak.upgrade() else { return };
                let wait = shared.refresh_tick();
                drop(shared);
                let stopped = lock(&signal.stopped);
                let (stopped, _) = signal
                    .wake
                    .wait_timeout_while(stopped, wait, |s| !*s)
                    .unwrap_or_else(PoisonError::into_inner);
                if *stopped {
                    return;
                }
            });
        if let Err(e) = spawned {
            log::warn!("cortiauth: cannot start the background refresher: {e}");
        }
    }

    /// Refreshes if due and says how long the background thread may sleep.
    fn refresh_tick(self: &Arc<Self>) -> Duration {
        let due = |s: &Self| match s.cache.load().as_ref() {
            Some(c) => c.refresh_at.saturating_duration_since(Instant::now()),
            None => Duration::ZERO,
        };
        if due(self).is_zero() {
            let _ = self.slow_path();
        }
        let wait = due(self);
        if wait.is_zero() {
            // The refresh failed (or runs elsewhere): try again soon, gently.
            self.config
                .retry
                .failure_cooldown
                .clamp(Duration::from_millis(200), Duration::from_secs(5))
        } else {
            wait
        }
    }
}

impl ProcessState {
    fn new(config: &Config, pid: u32, flight: Flight) -> Result<ProcessState> {
        Ok(ProcessState {
            pid,
            transport: ManuallyDrop::new(Transport::new(config)?),
            flight: Mutex::new(flight),
            done: Condvar::new(),
            refresher: Arc::default(),
        })
    }
}

impl Drop for ProcessState {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // Inherited through fork(): the HTTP client's worker thread and the
            // refresher do not exist here; dropping the client would wait on them.
            return;
        }
        *lock(&self.refresher.stopped) = true;
        self.refresher.wake.notify_all();
        // SAFETY: dropped exactly once, here, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.transport) };
    }
}

/// Exponential backoff with full jitter: a random wait in `[0, min(max, initial·2^(n-1))]`.
fn full_jitter(policy: &crate::config::RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .initial_backoff
        .saturating_mul(1u32 << (attempt - 1).min(20))
        .min(policy.max_backoff);
    let nanos = u64::try_from(exp.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_is_send_sync_and_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<TokenManager>();
        check::<AccessToken>();
        check::<Error>();
    }

    #[test]
    fn jitter_stays_within_the_exponential_cap() {
        let p = crate::config::RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..Default::default()
        };
        for attempt in 1..30 {
            let cap = Duration::from_millis(100 * (1u64 << (attempt - 1).min(20)))
                .min(Duration::from_millis(500));
            for _ in 0..50 {
                assert!(full_jitter(&p, attempt) <= cap);
            }
        }
    }
}
