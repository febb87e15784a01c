//! The token manager: cache, single flight, refresh ahead, stale-while-revalidate,
//! 401 invalidation, refresh-token grant, retries, fork safety, async callers.
//!
//! The cached token lives in an `ArcSwapOption`, so the fast path is a lock-free
//! load and a clock read. Every token request runs on the manager's own worker
//! thread, started by the first fetch: a caller holding a usable token never
//! waits for a request (the refresh ahead of expiry runs there while callers
//! keep the current token), a caller with no usable token waits for the one
//! flight (blocking on a condition variable, or as a future woken by the
//! worker), and the HTTP client is created, used and dropped on that thread
//! only, so the blocking API works inside an async runtime.
//!
//! Everything that belongs to one OS process (the single-flight state and the
//! worker) lives in a `ProcessState` that is rebuilt when the process id
//! changes, so a manager inherited through `fork()` works in the child.

mod clock;
mod fleet;
mod flight;
#[cfg(test)]
mod model_check;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};

use self::clock::{after, before, until, Clock, Nanos};
use self::fleet::Fleet;
use self::flight::{CacheState, Decision, Urgency};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::response::TokenResponse;
use crate::secret::SecretString;
use crate::stats::{Counters, Stats};
use crate::store::{Outcome, StoredToken};
use crate::token::AccessToken;
use crate::transport::{AttemptError, Grant, Transport};
use crate::urls;

type Flight = flight::Flight<Result<AccessToken>>;

/// The longest `Retry-After` honoured, for retries and for the failure cooldown.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// The background refresher never sleeps longer than this at once, so that a
/// system suspend (which stops the condition variable's clock) cannot make it
/// oversleep a refresh point by more than this.
const MAX_NAP: Duration = Duration::from_secs(2);
/// How long before the refresh point the background refresher acts (at most).
pub(crate) const BACKGROUND_LEAD: Duration = Duration::from_secs(1);
/// In the refresh window, how often a caller goes to the flight lock.
const CLAIM_EVERY: Duration = Duration::from_millis(20);
/// Per-thread copies of each cached token (see `Cached::copies`).
const STRIPES: usize = 8;

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
    clock: Arc<Clock>,
    /// The shared token store, when `shared_cache` is set (used by the worker only).
    fleet: Option<Fleet>,
}

/// A token with the moments that matter for it (on the manager's clock).
struct Cached {
    token: AccessToken,
    /// Copies with their own reference counts, one per stripe of threads: two
    /// threads cloning the same `Arc` would fight over one cache line. They die
    /// with this entry (after `invalidate`, a refresh, or the manager's drop).
    copies: [AccessToken; STRIPES],
    /// From here on, a refresh runs (on the worker) while callers keep this token.
    refresh_at: Nanos,
    /// Up to here the token is handed out, even while refreshes fail.
    usable_until: Nanos,
    /// When the background refresher acts (a little before `refresh_at`).
    background_at: Nanos,
    /// Past `refresh_at`, callers go to the flight lock (to claim the refresh)
    /// at most once per `CLAIM_EVERY`; the others return this token lock-free.
    next_claim: AtomicU64,
}

impl Cached {
    fn new(token: AccessToken, fetched_at: Nanos, config: &Config) -> Cached {
        let margin = config.refresh.margin(token.lifetime());
        Cached::with_margin(token, fetched_at, config, margin)
    }

    /// A token from elsewhere: its original lifetime is unknown, so the largest
    /// margin the policy allows is assumed (never more than the time left).
    fn seeded(token: AccessToken, now: Nanos, config: &Config) -> Cached {
        let margin = config.refresh.max_margin.min(token.lifetime());
        Cached::with_margin(token, now, config, margin)
    }

    fn with_margin(
        token: AccessToken,
        fetched_at: Nanos,
        config: &Config,
        margin: Duration,
    ) -> Cached {
        let policy = &config.refresh;
        let lifetime = token.lifetime();
        let expires = after(fetched_at, lifetime);
        let refresh_at = before(expires, margin);
        Cached {
            copies: std::array::from_fn(|_| token.detached_copy()),
            token,
            refresh_at,
            usable_until: before(expires, policy.skew(lifetime)),
            background_at: before(refresh_at, (margin / 2).min(BACKGROUND_LEAD)),
            next_claim: AtomicU64::new(0),
        }
    }

    #[inline]
    fn state(&self, now: Nanos) -> CacheState {
        if now < self.refresh_at {
            CacheState::Fresh
        } else if now < self.usable_until {
            CacheState::Due
        } else {
            CacheState::Unusable
        }
    }

    #[inline]
    fn copy(&self) -> AccessToken {
        self.copies[stripe()].clone()
    }
}

fn cache_state(cached: Option<&Cached>, now: Nanos) -> CacheState {
    cached.map_or(CacheState::Unusable, |c| c.state(now))
}

/// This thread's stripe, assigned round-robin on first use.
#[inline]
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) });
    STRIPE
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
                s.set(i);
            }
            i
        })
        .unwrap_or(0)
}

/// What belongs to one OS process.
struct ProcessState {
    pid: u32,
    flight: Mutex<Flight>,
    /// Blocking callers wait here for `Flight::generation` to move.
    done: Condvar,
    /// The worker waits here for work.
    work: Condvar,
}

impl ProcessState {
    fn new(pid: u32, flight: Flight) -> ProcessState {
        ProcessState {
            pid,
            flight: Mutex::new(flight),
            done: Condvar::new(),
            work: Condvar::new(),
        }
    }
}

/// What one flight obtained.
enum Acquired {
    /// From the token endpoint.
    Fetched(Fetched),
    /// From the shared store: the token and when it was fetched, on the manager's clock.
    Shared(AccessToken, Nanos),
}

struct Fetched {
    response: TokenResponse,
    /// When the request was sent, on the manager's clock, `Instant` and the wall clock.
    requested_at: (Nanos, Instant, SystemTime),
}

/// A failed acquisition and the server's `Retry-After`, if it sent one.
struct Failed {
    error: Error,
    retry_after: Option<Duration>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TokenManager {
    /// Builds a manager. Nothing is fetched, and no thread or HTTP client is
    /// created, until the first call (with the background refresher on, its
    /// thread starts now and fetches right away).
    pub fn new(config: Config) -> Result<TokenManager> {
        Transport::check(&config)?;
        let fleet = Fleet::new(&config)?;
        let shared = Arc::new(Shared {
            fleet,
            config,
            cache: ArcSwapOption::empty(),
            process: ArcSwap::from_pointee(ProcessState::new(
                std::process::id(),
                Flight::default(),
            )),
            counters: Counters::default(),
            clock: Arc::default(),
        });
        if shared.config.refresh.background {
            let process = shared.process.load_full();
            let mut flight = lock(&process.flight);
            if let Err(e) = shared.start_worker(&process, &mut flight) {
                log::warn!("cortiauth: cannot start the background refresher: {e}");
            }
        }
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
    /// for all concurrent callers. While a token is usable no caller waits: a
    /// refresh ahead of expiry runs on the manager's worker thread.
    #[inline]
    pub fn token(&self) -> Result<AccessToken> {
        if let Some(t) = self.shared.fresh(Cached::copy) {
            return Ok(t);
        }
        self.shared.token_blocking()
    }

    /// Runs `f` on a valid token without cloning it: the cheapest way to copy the
    /// value somewhere else.
    #[inline]
    pub fn with_token<R>(&self, f: impl FnOnce(&AccessToken) -> R) -> Result<R> {
        let mut f = Some(f);
        if let Some(r) = self.shared.fresh(|c| (f.take().expect("once"))(&c.token)) {
            return Ok(r);
        }
        let token = self.shared.token_blocking()?;
        Ok((f.take().expect("once"))(&token))
    }

    /// A valid access token, for async callers: a cached token is returned at
    /// the first poll (no spawn, no blocking); a fetch runs on the manager's
    /// worker thread and wakes this future when it is done, so the executor
    /// thread never blocks. Runtime-agnostic (tokio, async-std, smol, …).
    pub fn token_async(&self) -> impl Future<Output = Result<AccessToken>> + Send + 'static {
        TokenFuture {
            shared: Arc::clone(&self.shared),
            process: None,
            waited: None,
        }
    }

    /// [`TokenManager::headers`] for async callers.
    pub fn headers_async(
        &self,
    ) -> impl Future<Output = Result<[(&'static str, String); 2]>> + Send + 'static {
        let token = self.token_async();
        let tenant = self.shared.config.tenant.clone();
        async move {
            let token = token.await?;
            Ok([
                ("Authorization", token.authorization_header()),
                ("Tenant-Name", tenant),
            ])
        }
    }

    /// [`TokenManager::websocket_url`] for async callers.
    pub fn websocket_url_async(
        &self,
        stream_url: &str,
    ) -> impl Future<Output = Result<String>> + Send + 'static {
        let token = self.token_async();
        let stream_url = stream_url.to_string();
        async move { urls::websocket_url(&stream_url, token.await?.secret()) }
    }

    /// The cached token if one is there and not yet due for refresh. Never does
    /// I/O and never blocks (bindings use it to skip a thread hop).
    pub fn cached_token(&self) -> Option<AccessToken> {
        self.shared.fresh(Cached::copy)
    }

    /// A usable token if one is cached, without ever waiting: before the refresh
    /// point as [`TokenManager::cached_token`], and also in the refresh window,
    /// where it starts the refresh on the worker thread (as `token()` would) and
    /// returns the current token. `None` only when a caller would have to wait
    /// for a token request. For bindings' synchronous fast paths.
    pub fn try_token(&self) -> Option<AccessToken> {
        if let Some(t) = self.shared.fresh(Cached::copy) {
            return Some(t);
        }
        if let Some(t) = self.shared.usable_without_lock() {
            return Some(t);
        }
        let process = self.shared.process().ok()?;
        let mut flight = lock(&process.flight);
        let now = self.shared.clock.now();
        let cached = self.shared.cache.load_full()?;
        match cached.state(now) {
            CacheState::Unusable => None,
            state => {
                if let Decision::Cached { claimed: true } = flight.decide(now, state, None) {
                    if let Err(e) = self.shared.wake_worker(&process, &mut flight) {
                        log::warn!("cortiauth: cannot refresh ahead: {e:#}");
                    }
                }
                self.shared.counters.hit();
                Some(cached.copy())
            }
        }
    }

    /// The cached token while it is usable (even if a refresh is due), with its
    /// wall-clock expiry in [`AccessToken::expires_at_system`]: for saving it
    /// elsewhere (a disk cache) and [`TokenManager::seed`]ing a later manager.
    /// Never does I/O.
    pub fn current_token(&self) -> Option<AccessToken> {
        let now = self.shared.clock.now();
        let cached = self.shared.cache.load();
        let c = cached.as_ref()?;
        (now < c.usable_until).then(|| c.copy())
    }

    /// Seeds the cache with a token obtained elsewhere (a disk cache, the Corti
    /// SDK's `initialTokenResponse`, x/oauth2's `ReuseTokenSource`). The token is
    /// then used while this manager's freshness rule says so (its original
    /// lifetime unknown, the policy's largest margin is assumed: a Corti token
    /// with less than 60 s left is refreshed ahead at once, on the worker,
    /// while callers keep using it); after that the manager fetches its own. Returns whether it was taken: not if it is already past its
    /// usable time, or if the cached token lasts longer.
    pub fn seed(&self, access_token: &str, expires_at: SystemTime, scope: Option<&str>) -> bool {
        let access_token = strip_bearer(access_token);
        if access_token.is_empty() {
            return false;
        }
        let (now, instant, wall) = (self.shared.clock.now(), Instant::now(), SystemTime::now());
        let Ok(lifetime) = expires_at.duration_since(wall) else {
            return false;
        };
        let token = AccessToken::new(
            SecretString::new(access_token),
            "Bearer".into(),
            scope.map(str::to_string),
            (instant, wall),
            lifetime,
        );
        let seeded = Arc::new(Cached::seeded(token, now, &self.shared.config));
        if now >= seeded.usable_until {
            return false;
        }
        let mut taken = false;
        self.shared.cache.rcu(|current| {
            taken = match current {
                Some(c) => now >= c.usable_until || c.usable_until < seeded.usable_until,
                None => true,
            };
            if taken {
                Some(Arc::clone(&seeded))
            } else {
                current.clone()
            }
        });
        taken
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

    /// A relative API path (`"/interactions"`, `"interactions/1"`, with or
    /// without a query) joined onto the API base URL. A `Config` error when no
    /// base URL is known or `path` is an absolute URL (the token must not travel
    /// to another host).
    pub fn api_url(&self, path: &str) -> Result<String> {
        let base = self.api_base_url().ok_or_else(|| {
            Error::config(
                "no API base URL: set the environment (CORTI_ENVIRONMENT) or the API base URL",
            )
        })?;
        api_url(base, path)
    }

    /// The stream URL with `token=Bearer%20{access_token}` appended. Gets a valid
    /// token at each call, so a reconnect never reuses an expired one.
    pub fn websocket_url(&self, stream_url: &str) -> Result<String> {
        self.with_token(|t| urls::websocket_url(stream_url, t.secret()))?
    }

    /// Drops the cached token if it is still `rejected_token` (the API answered
    /// 401 to it; `"Bearer x"` and `"x"` are both accepted). Returns whether it
    /// was dropped: a burst of 401s for one token causes one refresh.
    pub fn invalidate(&self, rejected_token: &str) -> bool {
        let rejected = strip_bearer(rejected_token);
        let cached = self.shared.cache.load();
        let Some(c) = cached.as_ref() else {
            return false;
        };
        if rejected.is_empty() || c.token.secret() != rejected {
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
            if let Some(fleet) = &self.shared.fleet {
                fleet.reject(rejected);
            }
            // The last fetch's outcome must not keep it alive either (a waiter
            // that has not read it yet then finds no token and fetches anew).
            if let Ok(process) = self.shared.process() {
                let mut flight = lock(&process.flight);
                if matches!(&flight.outcome, Some(Ok(t)) if t.secret() == rejected) {
                    flight.outcome = None;
                }
            }
        }
        dropped
    }

    pub fn stats(&self) -> Stats {
        let mut stats = self.shared.counters.snapshot();
        if let Some(fleet) = &self.shared.fleet {
            fleet.add_stats(&mut stats);
        }
        stats
    }

    #[cfg(test)]
    fn clock(&self) -> &Clock {
        &self.shared.clock
    }
}

/// `"Bearer x"` → `"x"` (any case, surrounding spaces ignored).
fn strip_bearer(token: &str) -> &str {
    let t = token.trim();
    match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => t[7..].trim_start(),
        _ => t,
    }
}

fn api_url(base: &str, path: &str) -> Result<String> {
    let path = path.trim();
    if path.contains("://") || path.starts_with("//") {
        return Err(Error::config(format!(
            "{path:?} is not a relative API path (absolute URLs are refused so that the token stays with the API)"
        )));
    }
    let base = base.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return Ok(base.to_string());
    }
    Ok(format!("{base}/{path}"))
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

/// The future of [`TokenManager::token_async`].
struct TokenFuture {
    shared: Arc<Shared>,
    process: Option<Arc<ProcessState>>,
    waited: Option<u64>,
}

impl Future for TokenFuture {
    type Output = Result<AccessToken>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.waited.is_none() {
            if let Some(t) = this.shared.fresh(Cached::copy) {
                return Poll::Ready(Ok(t));
            }
            if let Some(t) = this.shared.usable_without_lock() {
                return Poll::Ready(Ok(t));
            }
        }
        let process = match &this.process {
            Some(p) => Arc::clone(p),
            None => match this.shared.process() {
                Ok(p) => {
                    this.process = Some(Arc::clone(&p));
                    p
                }
                Err(e) => return Poll::Ready(Err(e)),
            },
        };
        let mut flight = lock(&process.flight);
        match this.shared.step(&process, &mut flight, this.waited) {
            Ok(token) => Poll::Ready(token),
            Err(generation) => {
                if this.waited.is_none() {
                    this.shared.counters.waited();
                }
                this.waited = Some(generation);
                flight.add_waker(cx.waker());
                Poll::Pending
            }
        }
    }
}

impl Shared {
    /// The hot path: the cached token while it is before its refresh point.
    #[inline]
    fn fresh<R>(&self, f: impl FnOnce(&Cached) -> R) -> Option<R> {
        let now = self.clock.now();
        let cached = self.cache.load();
        let c = cached.as_ref()?;
        if now < c.refresh_at {
            self.counters.hit();
            Some(f(c))
        } else {
            None
        }
    }

    /// In the refresh window: the cached token, lock-free, unless this caller
    /// is the one (per `CLAIM_EVERY`) that goes to the lock to claim the refresh.
    #[inline]
    fn usable_without_lock(&self) -> Option<AccessToken> {
        let now = self.clock.now();
        let cached = self.cache.load();
        let c = cached.as_ref()?;
        if now >= c.usable_until {
            return None;
        }
        let next = c.next_claim.load(Ordering::Relaxed);
        let mine = now >= next
            && c.next_claim
                .compare_exchange(
                    next,
                    after(now, CLAIM_EVERY),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if mine {
            return None;
        }
        self.counters.hit();
        Some(c.copy())
    }

    /// No token, or one due for refresh: blocks only when no token is usable.
    fn token_blocking(self: &Arc<Self>) -> Result<AccessToken> {
        if let Some(t) = self.usable_without_lock() {
            return Ok(t);
        }
        let process = self.process()?;
        let mut flight = lock(&process.flight);
        let mut waited = None;
        loop {
            match self.step(&process, &mut flight, waited) {
                Ok(outcome) => return outcome,
                Err(generation) => {
                    if waited.is_none() {
                        self.counters.waited();
                    }
                    waited = Some(generation);
                    flight = process
                        .done
                        .wait(flight)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// One decision with the flight lock held: the answer, or the generation to
    /// wait on. Freshness is re-checked here, under the lock, so a caller that
    /// read an old token never claims a second flight.
    fn step(
        self: &Arc<Self>,
        process: &Arc<ProcessState>,
        flight: &mut Flight,
        waited: Option<u64>,
    ) -> std::result::Result<Result<AccessToken>, u64> {
        let now = self.clock.now();
        let cached = self.cache.load_full();
        let state = cache_state(cached.as_deref(), now);
        match flight.decide(now, state, waited) {
            Decision::Cached { claimed } => {
                if claimed {
                    if let Err(e) = self.wake_worker(process, flight) {
                        log::warn!("cortiauth: cannot refresh ahead: {e:#}");
                    }
                }
                self.counters.hit();
                let c = cached.expect("a usable token is cached");
                Ok(Ok(c.copy()))
            }
            Decision::Outcome(outcome) => Ok(outcome),
            Decision::Wait {
                generation,
                claimed,
            } => {
                if claimed {
                    if let Err(e) = self.wake_worker(process, flight) {
                        // Nobody will run the flight: publish the failure.
                        let wakers = flight.finish(Err(e.clone()), true, now, Duration::ZERO);
                        wake(wakers);
                        process.done.notify_all();
                        return Ok(Err(e));
                    }
                }
                Err(generation)
            }
        }
    }

    fn wake_worker(
        self: &Arc<Self>,
        process: &Arc<ProcessState>,
        flight: &mut Flight,
    ) -> Result<()> {
        if !flight.worker_started {
            self.start_worker(process, flight)?;
        }
        process.work.notify_one();
        Ok(())
    }

    fn start_worker(
        self: &Arc<Self>,
        process: &Arc<ProcessState>,
        flight: &mut Flight,
    ) -> Result<()> {
        let weak = Arc::downgrade(self);
        let clock = Arc::clone(&self.clock);
        let background = self.config.refresh.background;
        let process_for_worker = Arc::clone(process);
        std::thread::Builder::new()
            .name("cortiauth-worker".into())
            .spawn(move || worker(weak, process_for_worker, clock, background))
            .map_err(|e| Error::network("cannot start the token worker thread").with_source(e))?;
        flight.worker_started = true;
        Ok(())
    }

    /// Runs one claimed fetch (on the worker) and publishes its outcome.
    fn run_flight(
        &self,
        process: &ProcessState,
        transport: &mut Option<Transport>,
        urgency: Urgency,
    ) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.acquire(process, transport, urgency)
        }))
        .unwrap_or_else(|_| {
            *transport = None;
            Err(Failed {
                error: Error::network("the token request was interrupted by a panic"),
                retry_after: None,
            })
        });
        self.finish(process, result);
    }

    /// One flight: through the shared store when one is configured (another
    /// process's token, or a fetch under the fleet lock, or a direct fetch
    /// when the store fails), else straight from the token endpoint. One
    /// deadline (`retry_deadline`) covers all of it: the wait for another
    /// process's fetch, the store's operations and our own attempts.
    fn acquire(
        &self,
        process: &ProcessState,
        transport: &mut Option<Transport>,
        urgency: Urgency,
    ) -> std::result::Result<Acquired, Failed> {
        let start = self.clock.now();
        let deadline = after(start, self.config.retry.deadline);
        let cache = self.fleet.as_ref().and_then(|f| Some((f, f.cache()?)));
        let Some((fleet, cache)) = cache else {
            return self
                .fetch(process, transport, urgency, deadline)
                .map(Acquired::Fetched);
        };
        let options = fleet.options_within(self.config.retry.deadline, self.config.timeout);
        let outcome = cache.get_or_fetch(
            &options,
            |t| fleet.usable(t, &self.config),
            || self.fetch(process, transport, urgency, deadline),
            stored_token,
        )?;
        match outcome {
            Outcome::Fetched(fetched) => Ok(Acquired::Fetched(fetched)),
            Outcome::Shared(t) => match fleet::install(&t, self.clock.now()) {
                Some((token, at)) => Ok(Acquired::Shared(token, at)),
                // Expired between the check and now: fetch it ourselves.
                None => self
                    .fetch(process, transport, urgency, deadline)
                    .map(Acquired::Fetched),
            },
        }
    }

    /// A token from the endpoint (the refresh-token grant first when we hold
    /// one, then client credentials), every attempt before `deadline`.
    fn fetch(
        &self,
        process: &ProcessState,
        transport: &mut Option<Transport>,
        urgency: Urgency,
        deadline: Nanos,
    ) -> std::result::Result<Fetched, Failed> {
        if transport.is_none() {
            *transport = Some(Transport::new(&self.config).map_err(|error| Failed {
                error,
                retry_after: None,
            })?);
        }
        let transport = transport.as_ref().expect("just built");
        let start = self.clock.now();
        let refresh_token = {
            let flight = lock(&process.flight);
            flight
                .refresh_token
                .as_ref()
                .filter(|(_, expires)| after(start, Duration::from_secs(5)) < *expires)
                .map(|(rt, _)| rt.clone())
        };
        if let Some(rt) = refresh_token {
            match self.attempts(transport, Grant::RefreshToken(&rt), urgency, deadline) {
                Ok(fetched) => return Ok(fetched),
                Err(failed) => {
                    if failed.error.is_transient() {
                        log::info!(
                            "cortiauth: refresh_token grant failed ({}), kept for next time; trying client_credentials",
                            failed.error.kind()
                        );
                    } else {
                        log::info!(
                            "cortiauth: refresh_token grant refused ({}), falling back to client_credentials",
                            failed.error.kind()
                        );
                        lock(&process.flight).refresh_token = None;
                    }
                    if self.clock.now() >= deadline {
                        return Err(failed);
                    }
                }
            }
        }
        self.attempts(transport, Grant::ClientCredentials, urgency, deadline)
    }

    /// One grant, retried with backoff and full jitter until `deadline`.
    fn attempts(
        &self,
        transport: &Transport,
        grant: Grant<'_>,
        urgency: Urgency,
        deadline: Nanos,
    ) -> std::result::Result<Fetched, Failed> {
        let policy = &self.config.retry;
        let max_attempts = match urgency {
            Urgency::Needed => policy.max_attempts.max(1),
            Urgency::Ahead => 1,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = self.clock.now();
            let timeout = self
                .config
                .timeout
                .min(until(now, deadline))
                .max(Duration::from_millis(1));
            let requested_at = (now, Instant::now(), SystemTime::now());
            self.counters.request_sent();
            match transport.request(&self.config, grant, timeout) {
                Ok(response) => {
                    return Ok(Fetched {
                        response,
                        requested_at,
                    })
                }
                Err(AttemptError { error, retry_after }) => {
                    let retry_after = retry_after.map(|d| d.min(MAX_RETRY_AFTER));
                    if !error.is_transient() || attempt >= max_attempts {
                        return Err(Failed { error, retry_after });
                    }
                    let wait = retry_after.unwrap_or_else(|| full_jitter(policy, attempt));
                    if after(self.clock.now(), wait) >= deadline {
                        log::warn!(
                            "cortiauth: token request failed, no time left to retry: {error:#}"
                        );
                        return Err(Failed { error, retry_after });
                    }
                    log::warn!(
                        "cortiauth: token request failed (attempt {attempt}/{max_attempts}), retrying in {wait:?}: {error:#}"
                    );
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// Stores a new token (or records a failure) and wakes every waiter.
    fn finish(&self, process: &ProcessState, result: std::result::Result<Acquired, Failed>) {
        let mut refresh_token = None;
        let mut cooldown = Duration::ZERO;
        let outcome = match result {
            Ok(Acquired::Shared(token, at)) => {
                self.cache
                    .store(Some(Arc::new(Cached::new(token.clone(), at, &self.config))));
                self.counters.refreshed();
                log::debug!(
                    "cortiauth: token for client {} from the shared cache (expires in {:?})",
                    self.config.client_id,
                    token.expires_in(),
                );
                Ok(token)
            }
            Ok(Acquired::Fetched(Fetched {
                response,
                requested_at: (at, instant, wall),
            })) => {
                let lifetime = response.lifetime;
                refresh_token = response.refresh.map(|(rt, life)| (rt, after(at, life)));
                let token = AccessToken::new(
                    response.access_token,
                    response.token_type,
                    response.scope,
                    (instant, wall),
                    lifetime,
                );
                self.cache
                    .store(Some(Arc::new(Cached::new(token.clone(), at, &self.config))));
                self.counters.refreshed();
                log::debug!(
                    "cortiauth: new token for client {} (expires in {:?}, scope {:?})",
                    self.config.client_id,
                    lifetime,
                    token.scope()
                );
                Ok(token)
            }
            Err(Failed { error, retry_after }) => {
                self.counters.failed(error.kind());
                log::warn!("cortiauth: token request failed: {error:#}");
                // The server's Retry-After (bounded) wins over the flat cooldown.
                cooldown = self
                    .config
                    .retry
                    .failure_cooldown
                    .max(retry_after.unwrap_or_default());
                Err(error)
            }
        };
        let failed = outcome.is_err();
        let mut flight = lock(&process.flight);
        if !failed {
            if let Some(rt) = refresh_token {
                flight.refresh_token = Some(rt);
            }
        }
        let wakers = flight.finish(outcome, failed, self.clock.now(), cooldown);
        drop(flight);
        process.done.notify_all();
        wake(wakers);
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
        let fresh = Arc::new(ProcessState::new(pid, inherited));
        let previous = self.process.compare_and_swap(&current, Arc::clone(&fresh));
        if Arc::ptr_eq(&previous, &current) {
            log::debug!("cortiauth: running in a forked child (pid {pid}): new worker");
            if self.config.refresh.background {
                let mut flight = lock(&fresh.flight);
                if let Err(e) = self.start_worker(&fresh, &mut flight) {
                    log::warn!("cortiauth: cannot start the background refresher: {e}");
                }
            }
            Ok(fresh)
        } else {
            Ok(self.process.load_full())
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let process = self.process.load();
        if process.pid != std::process::id() {
            // Inherited through fork(): no worker of ours runs here.
            return;
        }
        let mut flight = lock(&process.flight);
        flight.stopped = true;
        // No token or refresh token outlives the manager in here.
        flight.outcome = None;
        flight.refresh_token = None;
        drop(flight);
        process.work.notify_all();
    }
}

fn wake(wakers: Vec<std::task::Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// The worker thread: runs the fetches callers claim and, with background
/// refresh on, refreshes ahead on its own. It owns the HTTP client, which is
/// therefore created, used and dropped on this thread only. It holds the
/// manager weakly and stops when the manager is dropped.
fn worker(weak: Weak<Shared>, process: Arc<ProcessState>, clock: Arc<Clock>, background: bool) {
    let mut transport: Option<Transport> = None;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        // Decide with the manager held; the flight guard is always released
        // before `shared` is dropped (the manager's drop takes that lock).
        let (job, nap) = {
            let mut flight = lock(&process.flight);
            if flight.stopped {
                return;
            }
            let mut job = flight.pending.take();
            let mut nap = None;
            if job.is_none() && background {
                let now = clock.now();
                let cached = shared.cache.load();
                let state = match cached.as_ref() {
                    None => CacheState::Unusable,
                    Some(c) if now >= c.usable_until => CacheState::Unusable,
                    Some(c) if now >= c.background_at => CacheState::Due,
                    Some(_) => CacheState::Fresh,
                };
                if flight.claim_background(now, state) {
                    job = flight.pending.take();
                } else {
                    // Sleep until the background point (or the end of a
                    // cooldown), in naps short enough that a system suspend
                    // cannot make us oversleep it.
                    let target = match cached.as_ref() {
                        Some(c) if c.background_at > now => c.background_at,
                        _ => flight
                            .cooldown_until
                            .max(flight.ahead_after)
                            .max(after(now, Duration::from_millis(50))),
                    };
                    nap = Some(
                        until(now, target)
                            .min(MAX_NAP)
                            .max(Duration::from_millis(1)),
                    );
                }
            }
            (job, nap)
        };
        if let Some(urgency) = job {
            shared.run_flight(&process, &mut transport, urgency);
            continue;
        }
        drop(shared);
        let flight = lock(&process.flight);
        if flight.pending.is_some() || flight.stopped {
            continue;
        }
        let _guard = match nap {
            Some(nap) => {
                process
                    .work
                    .wait_timeout(flight, nap)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => process
                .work
                .wait_while(flight, |f| f.pending.is_none() && !f.stopped)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

/// What the shared store keeps of a fetched token (never a refresh token).
fn stored_token(f: &Fetched) -> Option<StoredToken> {
    let r = &f.response;
    let expires = f.requested_at.2.checked_add(r.lifetime)?;
    let expires_at_ms = expires
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())?;
    Some(StoredToken {
        access_token: r.access_token.clone(),
        token_type: r.token_type.clone(),
        scope: r.scope.clone(),
        expires_at_ms,
        lifetime_ms: u64::try_from(r.lifetime.as_millis())
            .ok()
            .filter(|&l| l > 0)?,
    })
}

/// Exponential backoff with full jitter: a random wait in `[0, min(max, initial·2^(n-1))]`.
fn full_jitter(policy: &crate::config::RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(policy.max_backoff);
    let nanos = u64::try_from(exp.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(..=nanos))
}
