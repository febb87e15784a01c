//! The cached token: the moments that matter for it (refresh point, last
//! usable moment, background point) on the manager's clock, per-thread copies,
//! and the lock-free reads of the hot path.

use std::cell::Cell;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::{ArcSwapOption, Guard};

use super::clock::{after, before, Clock, Coarse, FastWindow, Nanos};
use super::flight::CacheState;
use super::{Shared, BACKGROUND_LEAD};
use crate::config::Config;
use crate::token::AccessToken;

/// In the refresh window, how often a caller goes to the flight lock.
pub(super) const CLAIM_EVERY: Duration = Duration::from_millis(20);
/// Per-thread copies of each cached token (see `Cached::copies`).
pub(super) const STRIPES: usize = 8;

/// A token with the moments that matter for it (on the manager's clock).
pub(super) struct Cached {
    pub(super) token: AccessToken,
    /// Copies with their own reference counts, one per stripe of threads: two
    /// threads cloning the same `Arc` would fight over one cache line. They die
    /// with this entry (after `invalidate`, a refresh, or the manager's drop).
    pub(super) copies: [AccessToken; STRIPES],
    /// From here on, a refresh runs (on the worker) while callers keep this token.
    pub(super) refresh_at: Nanos,
    /// Up to (a little before) `refresh_at`, told by the coarse clocks (the hot path).
    pub(super) fresh_window: FastWindow,
    /// Up to here the token is handed out, even while refreshes fail.
    pub(super) usable_until: Nanos,
    /// When the background refresher acts (a little before `refresh_at`).
    pub(super) background_at: Nanos,
    /// Past `refresh_at`, callers go to the flight lock (to claim the refresh)
    /// at most once per `CLAIM_EVERY`; the others return this token lock-free.
    pub(super) next_claim: AtomicU64,
}

impl Cached {
    pub(super) fn new(
        token: AccessToken,
        fetched_at: Nanos,
        config: &Config,
        clock: &Clock,
    ) -> Cached {
        let margin = config.refresh.margin(token.lifetime());
        Cached::with_margin(token, fetched_at, config, margin, clock)
    }

    /// A token from elsewhere: its original lifetime is unknown, so the largest
    /// margin the policy allows is assumed (never more than the time left).
    pub(super) fn seeded(token: AccessToken, now: Nanos, config: &Config, clock: &Clock) -> Cached {
        let margin = config.refresh.max_margin.min(token.lifetime());
        Cached::with_margin(token, now, config, margin, clock)
    }

    fn with_margin(
        token: AccessToken,
        fetched_at: Nanos,
        config: &Config,
        margin: Duration,
        clock: &Clock,
    ) -> Cached {
        let policy = &config.refresh;
        let lifetime = token.lifetime();
        let expires = after(fetched_at, lifetime);
        let refresh_at = before(expires, margin);
        Cached {
            copies: std::array::from_fn(|_| token.detached_copy()),
            token,
            refresh_at,
            fresh_window: clock.fast_window(refresh_at),
            usable_until: before(expires, policy.skew(lifetime)),
            background_at: before(refresh_at, (margin / 2).min(BACKGROUND_LEAD)),
            next_claim: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(super) fn state(&self, now: Nanos) -> CacheState {
        if now < self.refresh_at {
            CacheState::Fresh
        } else if now < self.usable_until {
            CacheState::Due
        } else {
            CacheState::Unusable
        }
    }

    #[inline]
    pub(super) fn copy(&self) -> AccessToken {
        self.copies[stripe()].clone()
    }
}

pub(super) fn cache_state(cached: Option<&Cached>, now: Nanos) -> CacheState {
    cached.map_or(CacheState::Unusable, |c| c.state(now))
}

/// This thread's stripe, assigned round-robin on first use.
#[inline]
pub(super) fn stripe() -> usize {
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

impl Shared {
    /// The hot path: the cached token while it is before its refresh point.
    #[inline]
    pub(super) fn fresh<R>(&self, f: impl FnOnce(&Cached) -> R) -> Option<R> {
        let cached = self.cache.load();
        let c = cached.as_ref()?;
        // The coarse clocks first (a few ns); the manager's clock when they cannot tell.
        if c.fresh_window.holds(self.clock.coarse()) || self.clock.now() < c.refresh_at {
            self.counters.hit();
            Some(f(c))
        } else {
            None
        }
    }

    /// In the refresh window: the cached token, lock-free, unless this caller
    /// is the one (per `CLAIM_EVERY`) that goes to the lock to claim the refresh.
    #[inline]
    pub(super) fn usable_without_lock(&self) -> Option<AccessToken> {
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
}

/// The cached token, and a snapshot of its identity and fresh window that the
/// hot path reads with plain loads (an `ArcSwap` guard costs a fenced store).
/// Every change of the token goes through here and, under the current process's
/// lock (a forked child has its own: one held by a parent's thread at the fork
/// is never waited for), updates the snapshot from the token then cached: once
/// a change has returned, the snapshot says what the cell holds (a reader racing
/// with a change sees the old token, as it would through the `ArcSwap`).
#[derive(Default)]
pub(super) struct TokenCell {
    cell: ArcSwapOption<Cached>,
    snapshot: Snapshot,
}

/// A seqlock over the cached token's generation (0: none) and fresh window.
#[derive(Default)]
struct Snapshot {
    /// Odd while being written (or left odd by a parent's writer at a fork: the
    /// next writer moves it on to the next odd number).
    seq: AtomicU64,
    generation: AtomicU64,
    mono_until: AtomicU64,
    skew: AtomicU64,
}

impl TokenCell {
    #[inline]
    pub(super) fn load(&self) -> Guard<Option<Arc<Cached>>> {
        self.cell.load()
    }

    pub(super) fn load_full(&self) -> Option<Arc<Cached>> {
        self.cell.load_full()
    }

    /// `writing`: the current process's snapshot lock (`ProcessState::snapshot`).
    pub(super) fn store(&self, cached: Option<Arc<Cached>>, writing: &Mutex<()>) {
        self.cell.store(cached);
        self.resync(writing);
    }

    pub(super) fn compare_and_swap(
        &self,
        current: &Option<Arc<Cached>>,
        new: Option<Arc<Cached>>,
        writing: &Mutex<()>,
    ) -> Option<Arc<Cached>> {
        let previous = (*self.cell.compare_and_swap(current, new)).clone();
        self.resync(writing);
        previous
    }

    pub(super) fn rcu(
        &self,
        f: impl FnMut(&Option<Arc<Cached>>) -> Option<Arc<Cached>>,
        writing: &Mutex<()>,
    ) {
        self.cell.rcu(f);
        self.resync(writing);
    }

    /// The generation of the cached token if the coarse clocks tell it is
    /// before its refresh point; `None` when they cannot tell (or there is none).
    #[inline]
    pub(super) fn fresh_generation(&self, coarse: Option<Coarse>) -> Option<u64> {
        let s = &self.snapshot;
        let before = s.seq.load(Ordering::Acquire);
        let generation = s.generation.load(Ordering::Relaxed);
        let window = FastWindow::from_parts(
            s.mono_until.load(Ordering::Relaxed),
            s.skew.load(Ordering::Relaxed),
        );
        fence(Ordering::Acquire);
        let after = s.seq.load(Ordering::Relaxed);
        (before % 2 == 0 && before == after && generation != 0 && window.holds(coarse))
            .then_some(generation)
    }

    /// Leaves the snapshot as a writer interrupted by a fork would (tests).
    #[cfg(test)]
    pub(super) fn leave_mid_write(&self) {
        self.snapshot.seq.fetch_add(1, Ordering::Relaxed);
    }

    fn resync(&self, writing: &Mutex<()>) {
        let _writing = writing.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.cell.load();
        let (generation, window) = match current.as_deref() {
            Some(c) => (c.token.generation(), c.fresh_window),
            None => (0, FastWindow::NEVER),
        };
        let (mono_until, skew) = window.parts();
        let s = &self.snapshot;
        let seq = s.seq.load(Ordering::Relaxed);
        let odd = seq.wrapping_add(if seq % 2 == 0 { 1 } else { 2 });
        s.seq.store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
        s.generation.store(generation, Ordering::Relaxed);
        s.mono_until.store(mono_until, Ordering::Relaxed);
        s.skew.store(skew, Ordering::Relaxed);
        s.seq.store(odd.wrapping_add(1), Ordering::Release);
    }
}
