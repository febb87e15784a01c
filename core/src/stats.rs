//! Counters a caller can read; the cache-hit counter is sharded so that
//! threads reading cached tokens do not fight over one cache line.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed};

use crate::error::ErrorKind;

/// A snapshot of a manager's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests sent to the token endpoint, retries included.
    pub token_requests: u64,
    /// Calls answered from the cache.
    pub cache_hits: u64,
    /// Tokens obtained (first fetch and every refresh).
    pub refreshes: u64,
    /// Token acquisitions that failed after their retries.
    pub failures: u64,
    /// The kind of the most recent failure, if any.
    pub last_error_kind: Option<ErrorKind>,
    /// Calls that had to wait for a token request (no usable token was cached).
    /// A refresh ahead of expiry never makes a caller wait.
    pub waits: u64,
    /// Shared cache (`shared_cache`): tokens taken from the store instead of
    /// being fetched (another process's fetch, or an earlier one).
    pub store_hits: u64,
    /// Shared cache: lookups that found no usable token there.
    pub store_misses: u64,
    /// Shared cache: store operations that failed (each one fell back to a
    /// direct fetch), opening the store included.
    pub store_errors: u64,
    /// Shared cache: times another process was fetching and this one waited for its token.
    pub store_waits: u64,
    /// Shared cache: the kind of the last store error.
    pub store_last_error: Option<crate::StoreErrorKind>,
}

const SHARDS: usize = 16;

#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicU64);

#[derive(Default)]
pub(crate) struct Counters {
    token_requests: AtomicU64,
    refreshes: AtomicU64,
    failures: AtomicU64,
    last_error_kind: AtomicU8,
    waits: AtomicU64,
    cache_hits: [Padded; SHARDS],
}

fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static SHARD: Cell<usize> = const { Cell::new(usize::MAX) });
    SHARD.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, Relaxed) % SHARDS);
        }
        s.get()
    })
}

const KINDS: [ErrorKind; 6] = [
    ErrorKind::Config,
    ErrorKind::OAuth,
    ErrorKind::Http,
    ErrorKind::Network,
    ErrorKind::Timeout,
    ErrorKind::InvalidResponse,
];

impl Counters {
    #[inline]
    pub fn hit(&self) {
        self.cache_hits[shard()].0.fetch_add(1, Relaxed);
    }
    /// Token requests sent so far (an acquisition's attempts are the difference).
    pub fn requests(&self) -> u64 {
        self.token_requests.load(Relaxed)
    }
    pub fn request_sent(&self) {
        self.token_requests.fetch_add(1, Relaxed);
    }
    pub fn waited(&self) {
        self.waits.fetch_add(1, Relaxed);
    }
    pub fn refreshed(&self) {
        self.refreshes.fetch_add(1, Relaxed);
    }
    pub fn failed(&self, kind: ErrorKind) {
        self.failures.fetch_add(1, Relaxed);
        let code = KINDS.iter().position(|k| *k == kind).map_or(0, |i| i + 1);
        self.last_error_kind.store(code as u8, Relaxed);
    }
    pub fn snapshot(&self) -> Stats {
        let code = self.last_error_kind.load(Relaxed) as usize;
        Stats {
            token_requests: self.token_requests.load(Relaxed),
            cache_hits: self.cache_hits.iter().map(|c| c.0.load(Relaxed)).sum(),
            refreshes: self.refreshes.load(Relaxed),
            failures: self.failures.load(Relaxed),
            last_error_kind: code.checked_sub(1).map(|i| KINDS[i]),
            waits: self.waits.load(Relaxed),
            ..Stats::default()
        }
    }
}
