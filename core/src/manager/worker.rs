//! The worker and what belongs to one OS process: the single-flight state,
//! the worker thread that runs every token request (and, with background
//! refresh on, refreshes ahead on its own), publishing each outcome to the
//! cache and the waiters, and the rebuild after a `fork()`.

use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::task::Waker;
use std::time::Duration;

use super::acquire::{Acquired, Failed, Fetched};
use super::cache::{cache_state, Cached};
use super::clock::{after, until, Clock, Nanos};
use super::flight::{CacheState, Decision, Urgency};
use super::future::wake;
use super::{lock, Flight, Shared};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, Trigger};
use crate::token::AccessToken;
use crate::transport::Transport;

/// The background refresher never sleeps longer than this at once, so that a
/// system suspend (which stops the condition variable's clock) cannot make it
/// oversleep a refresh point by more than this.
pub(super) const MAX_NAP: Duration = Duration::from_secs(2);

/// What belongs to one OS process.
pub(super) struct ProcessState {
    pub(super) pid: u32,
    pub(super) flight: Mutex<Flight>,
    /// The HTTP client, built by the first token request. Used by one flight
    /// at a time: the worker's, or a blocking caller's that runs its own.
    pub(super) transport: Mutex<Option<Transport>>,
    /// Blocking callers wait here for `Flight::generation` to move.
    pub(super) done: Condvar,
    /// The worker waits here for work.
    pub(super) work: Condvar,
    /// Serialises this process's updates of the cached token's snapshot
    /// (`TokenCell`): a forked child has its own.
    pub(super) snapshot: Mutex<()>,
}

impl ProcessState {
    pub(super) fn new(pid: u32, flight: Flight) -> ProcessState {
        ProcessState {
            pid,
            flight: Mutex::new(flight),
            transport: Mutex::new(None),
            done: Condvar::new(),
            work: Condvar::new(),
            snapshot: Mutex::new(()),
        }
    }
}

impl Shared {
    /// No token, or one due for refresh: blocks only when no token is usable.
    pub(super) fn token_blocking(self: &Arc<Self>) -> Result<AccessToken> {
        if let Some(t) = self.usable_without_lock() {
            return Ok(t);
        }
        let process = self.process()?;
        // Outside an async runtime, the caller that claims the token request
        // runs it on its own thread: no hand-off to the worker and back (inside
        // one, blocking a runtime thread on I/O is not ours to do: the worker runs it).
        let run_here = tokio::runtime::Handle::try_current().is_err();
        let mut flight = lock(&process.flight);
        let mut waited = None;
        let mut woken = Vec::new();
        loop {
            match self.step(&process, &mut flight, waited, &mut woken, run_here) {
                Ok(outcome) => {
                    drop(flight);
                    wake(woken);
                    return outcome;
                }
                Err(Wait { generation, run }) => {
                    if waited.is_none() {
                        self.counters.waited();
                    }
                    waited = Some(generation);
                    if let Some(urgency) = run {
                        drop(flight);
                        wake(std::mem::take(&mut woken));
                        self.run_flight(&process, &mut lock(&process.transport), urgency);
                        flight = lock(&process.flight);
                        continue;
                    }
                    flight = process
                        .done
                        .wait(flight)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// One decision with the flight lock held: the answer, or what to wait
    /// for. Freshness is re-checked here, under the lock, so a caller that
    /// read an old token never claims a second flight. Async waiters to wake
    /// are put in `woken`: the caller wakes them once it has let go of the lock.
    /// With `run_here`, a token request this caller claims is handed back to
    /// it to run (`Wait::run`) instead of to the worker.
    pub(super) fn step(
        self: &Arc<Self>,
        process: &Arc<ProcessState>,
        flight: &mut Flight,
        waited: Option<u64>,
        woken: &mut Vec<Waker>,
        run_here: bool,
    ) -> std::result::Result<Result<AccessToken>, Wait> {
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
                if claimed && run_here {
                    if let Some(urgency) = flight.pending.take() {
                        return Err(Wait {
                            generation,
                            run: Some(urgency),
                        });
                    }
                }
                if claimed {
                    if let Err(e) = self.wake_worker(process, flight) {
                        // Nobody will run the flight: publish the failure.
                        woken.extend(flight.finish(Err(e.clone()), true, now, Duration::ZERO));
                        process.done.notify_all();
                        return Ok(Err(e));
                    }
                }
                Err(Wait {
                    generation,
                    run: None,
                })
            }
        }
    }

    pub(super) fn wake_worker(
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

    pub(super) fn start_worker(
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

    /// Runs one claimed fetch (on the worker, or on the blocking caller that
    /// claimed it) and publishes its outcome.
    pub(super) fn run_flight(
        &self,
        process: &ProcessState,
        transport: &mut Option<Transport>,
        urgency: Urgency,
    ) {
        let started = std::time::Instant::now();
        let requests_before = self.counters.requests();
        let store_errors_before = self.store_errors();
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
        // After the waiters are woken: a slow listener delays nobody's token.
        if let Some(mut event) = self.finish(process, result) {
            let (store_errors, last) = self.store_errors();
            if store_errors > store_errors_before.0 {
                let mut e = self.event(EventKind::StoreError);
                e.store_error = last;
                self.emit(e);
            }
            if event.kind != EventKind::SharedCacheHit {
                event.trigger = Some(match urgency {
                    Urgency::Needed => Trigger::Caller,
                    Urgency::Ahead => Trigger::Background,
                });
                event.duration = Some(started.elapsed());
                event.attempts = Some(
                    u32::try_from(self.counters.requests() - requests_before).unwrap_or(u32::MAX),
                );
            }
            self.emit(event);
        }
    }

    /// The shared cache's error count (opening it included) and the last error's kind.
    fn store_errors(&self) -> (u64, Option<crate::StoreErrorKind>) {
        match &self.fleet {
            Some(fleet) if self.listening() => {
                let mut stats = crate::stats::Stats::default();
                fleet.add_stats(&mut stats);
                (stats.store_errors, stats.store_last_error)
            }
            _ => (0, None),
        }
    }

    /// Caches `token`, obtained at `at`, and counts the refresh.
    fn cache_token(&self, process: &ProcessState, token: &AccessToken, at: Nanos) {
        let cached = Cached::new(token.clone(), at, &self.config, &self.clock);
        self.cache.store(Some(Arc::new(cached)), &process.snapshot);
        self.counters.refreshed();
    }

    /// Stores a new token (or records a failure), wakes every waiter, and
    /// returns the event that tells of it (not yet sent), when anyone listens:
    /// nobody pays for an audit record nobody reads.
    pub(super) fn finish(
        &self,
        process: &ProcessState,
        result: std::result::Result<Acquired, Failed>,
    ) -> Option<Event> {
        let listening = self.listening();
        let mut refresh_token = None;
        let mut cooldown = Duration::ZERO;
        let event;
        let outcome = match result {
            Ok(Acquired::Shared(token, at)) => {
                self.cache_token(process, &token, at);
                log::debug!(
                    "cortiauth: token for client {} from the shared cache (expires in {:?})",
                    self.config.client_id,
                    token.expires_in(),
                );
                event = listening.then(|| self.token_event(EventKind::SharedCacheHit, &token));
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
                self.cache_token(process, &token, at);
                log::debug!(
                    "cortiauth: new token for client {} (expires in {:?}, scope {:?})",
                    self.config.client_id,
                    lifetime,
                    token.scope()
                );
                event = listening.then(|| self.token_event(EventKind::TokenFetched, &token));
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
                event = listening.then(|| {
                    self.event(EventKind::FetchFailed)
                        .failed(&error, retry_after)
                });
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
        event
    }

    /// This process's state, rebuilt after a `fork()`.
    pub(super) fn process(self: &Arc<Self>) -> Result<Arc<ProcessState>> {
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

/// What a caller waits for: the flight `generation` to end; `run`, when the
/// caller claimed that flight and runs it itself.
pub(super) struct Wait {
    pub(super) generation: u64,
    pub(super) run: Option<Urgency>,
}

/// The worker thread: runs the fetches callers claim and, with background
/// refresh on, refreshes ahead on its own. It owns the HTTP client, which is
/// therefore created, used and dropped on this thread only. It holds the
/// manager weakly and stops when the manager is dropped.
fn worker(weak: Weak<Shared>, process: Arc<ProcessState>, clock: Arc<Clock>, background: bool) {
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
            shared.run_flight(&process, &mut lock(&process.transport), urgency);
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
