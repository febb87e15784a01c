//! The manager's side of the shared token store (`shared_cache`): one
//! [`SharedCache`] per manager, opened lazily on the worker thread, and the
//! manager's freshness rule for tokens found there.
//!
//! Only the worker's flight calls into here: the cached path never touches the
//! store. A store that cannot be opened (Redis unreachable is not that: the
//! Redis store connects on its first operation; an unsafe cache directory is)
//! is counted as a store error and retried at most once per [`REOPEN_AFTER`];
//! meanwhile tokens are fetched directly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use super::clock::{before, Nanos};
use super::BACKGROUND_LEAD;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::stats::Stats;
use crate::token::AccessToken;
use crate::token_store::{
    self as store, FlightOptions, SharedCache, StoreErrorKind, StoreKey, StoredToken,
};

/// After a store failed to open, how long the manager fetches directly before
/// it tries to open it again.
pub(crate) const REOPEN_AFTER: Duration = Duration::from_secs(1);

/// Slack added to the retry deadline for the fleet lock's TTL.
const LOCK_SLACK: Duration = Duration::from_secs(1);
/// How much longer than the lock's TTL a process waits for the holder's token.
const WAIT_SLACK: Duration = Duration::from_secs(2);

pub(crate) struct Fleet {
    url: String,
    /// The slot's key, and the client secret generation it was made for (a
    /// rotated secret moves the slot: see [`Fleet::cache`]).
    key: Mutex<(u64, StoreKey)>,
    options: FlightOptions,
    opened: Mutex<Opened>,
    open_errors: AtomicU64,
    last_open_error: Mutex<Option<StoreErrorKind>>,
    /// The last token the API rejected (`invalidate`): never taken from the store again.
    rejected: Mutex<Option<SecretString>>,
}

#[derive(Default)]
struct Opened {
    /// The cache and the process that opened it (a forked child opens its own:
    /// pooled Redis connections and file locks must not be shared).
    cache: Option<(u32, Arc<SharedCache>)>,
    retry_at: Option<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Fleet {
    /// `None` without `shared_cache`. Checks the URL (a bad one is a `Config`
    /// error now); opens nothing.
    pub fn new(config: &Config) -> Result<Option<Fleet>> {
        let Some(url) = config.shared_cache() else {
            return Ok(None);
        };
        store::check_url(url).map_err(Error::from)?;
        Ok(Some(Fleet {
            url: url.to_string(),
            key: Mutex::new((config.client_secret.current().generation, store_key(config))),
            options: flight_options(config),
            opened: Mutex::new(Opened::default()),
            open_errors: AtomicU64::new(0),
            last_open_error: Mutex::new(None),
            rejected: Mutex::new(None),
        }))
    }

    /// The flight options for one acquisition that has `budget` left of its
    /// retry deadline: the wait for another process's token leaves time for a
    /// direct fetch (one request timeout, at most half the budget), so the
    /// caller's whole slow path stays inside the deadline.
    pub fn options_within(&self, budget: Duration, request_timeout: Duration) -> FlightOptions {
        let reserve = request_timeout.min(budget / 2);
        FlightOptions {
            lock_ttl: self.options.lock_ttl,
            wait: self.options.wait.min(budget.saturating_sub(reserve)),
        }
    }

    /// This process's shared cache, opened on first use, its slot following
    /// the client secret in use; `None` while the store cannot be opened
    /// (counted; retried after [`REOPEN_AFTER`]).
    pub fn cache(&self, config: &Config) -> Option<Arc<SharedCache>> {
        let cache = self.opened_cache()?;
        if config.store_binding.is_none() {
            let generation = config.client_secret.current().generation;
            let mut key = lock(&self.key);
            if key.0 != generation {
                *key = (generation, store_key(config));
                cache.set_key(key.1.clone());
            }
        }
        Some(cache)
    }

    fn opened_cache(&self) -> Option<Arc<SharedCache>> {
        let pid = std::process::id();
        let mut opened = lock(&self.opened);
        match opened.cache.take() {
            Some((owner, cache)) if owner == pid => {
                opened.cache = Some((owner, Arc::clone(&cache)));
                return Some(cache);
            }
            // Inherited through fork(): the parent's connections and locks
            // stay the parent's; never used nor closed here.
            Some((_, inherited)) => std::mem::forget(inherited),
            None => {}
        }
        let now = Instant::now();
        if opened.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        match store::open(&self.url) {
            Ok(s) => {
                let cache = Arc::new(SharedCache::new(s, lock(&self.key).1.clone()));
                opened.cache = Some((pid, Arc::clone(&cache)));
                opened.retry_at = None;
                Some(cache)
            }
            Err(e) => {
                self.open_errors.fetch_add(1, Ordering::Relaxed);
                *lock(&self.last_open_error) = Some(e.kind());
                log::warn!("cortiauth: shared cache unavailable, fetching directly: {e}");
                opened.retry_at = Some(now + REOPEN_AFTER);
                None
            }
        }
    }

    /// The manager's freshness rule for a token found in the store: usable if
    /// this manager, holding it, would not yet refresh it, even ahead (its
    /// background point). So every process of a fleet refreshes at the same
    /// moment, one of them fetches and the others take its token.
    pub fn usable(&self, t: &StoredToken, config: &Config) -> bool {
        let Some(left) = t.remaining_at(store::now_unix_ms()) else {
            return false;
        };
        let policy = config.refresh_policy();
        let margin = policy.margin(t.lifetime());
        let lead = (margin / 2).min(BACKGROUND_LEAD);
        if left <= (margin + lead).max(policy.skew(t.lifetime())) {
            return false;
        }
        let rejected = lock(&self.rejected);
        !matches!(&*rejected, Some(r) if r.expose() == t.access_token.expose())
    }

    /// The API rejected this token: never take it from the store again.
    pub fn reject(&self, token: &str) {
        *lock(&self.rejected) = Some(SecretString::new(token));
    }

    /// Adds the store counters to `stats`.
    pub fn add_stats(&self, stats: &mut Stats) {
        let open_errors = self.open_errors.load(Ordering::Relaxed);
        let mut last = *lock(&self.last_open_error);
        let cache = lock(&self.opened)
            .cache
            .as_ref()
            .map(|(_, c)| Arc::clone(c));
        if let Some(cache) = cache {
            let s = cache.stats();
            stats.store_hits = s.hits;
            stats.store_misses = s.misses;
            stats.store_waits = s.waits;
            stats.store_errors = s.errors;
            last = s.last_error.or(last);
        }
        stats.store_errors += open_errors;
        stats.store_last_error = last;
    }
}

/// The slot: (token URL, client id, scopes sent, client secret). Extra form
/// parameters (an `audience`, a `resource`) change the token too: they are
/// bound with the URL, so managers that send different ones do not share.
fn store_key(config: &Config) -> StoreKey {
    let mut url = config.token_url().to_string();
    if !config.extra_params.is_empty() {
        let mut params: Vec<String> = config
            .extra_params
            .iter()
            .map(|(k, v)| format!("{}={}", k.len(), k) + &format!("{}={}", v.len(), v))
            .collect();
        params.sort();
        url.push('\n');
        url.push_str(&params.join("\n"));
    }
    StoreKey::new(
        &url,
        config.client_id(),
        config.scopes(),
        &config.store_binding(),
    )
}

/// The lock outlives one whole acquisition. With retries, every attempt,
/// backoff and `Retry-After` sleep happens inside the retry deadline, so the
/// lock lives that long; with one attempt per grant there is no sleep, and an
/// acquisition is at most two requests (the refresh-token grant, then client
/// credentials). A little slack on top. Others wait a little longer than the
/// lock lives (but never past their own deadline: [`Fleet::options_within`]).
pub(crate) fn flight_options(config: &Config) -> FlightOptions {
    let retry = config.retry_policy();
    let longest = if retry.max_attempts <= 1 {
        config.timeout().saturating_mul(2).min(retry.deadline)
    } else {
        retry.deadline
    };
    let lock_ttl = longest.saturating_add(LOCK_SLACK);
    FlightOptions {
        lock_ttl,
        wait: lock_ttl.saturating_add(WAIT_SLACK),
    }
}

/// A token from the store as this process holds it: its expiry on the
/// manager's clock (`fetched_at`, back-dated by the time already used), on
/// `Instant` and on the wall clock. `None` if it expired meanwhile.
pub(crate) fn install(t: &StoredToken, now: Nanos) -> Option<(AccessToken, Nanos)> {
    let left = t.remaining_at(store::now_unix_ms())?;
    let used = t.lifetime().saturating_sub(left);
    let requested = (
        Instant::now().checked_sub(used)?,
        SystemTime::now().checked_sub(used)?,
    );
    let token = AccessToken::new(
        t.access_token.clone(),
        t.token_type.clone(),
        t.scope.clone(),
        requested,
        t.lifetime(),
    );
    Some((token, before(now, used)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    fn options(max_attempts: u32, timeout: u64, deadline: u64) -> FlightOptions {
        let config = Settings {
            client_id: Some("c".into()),
            client_secret: Some("s".into()),
            environment: Some("eu".into()),
            max_attempts: Some(max_attempts),
            timeout: Some(Duration::from_secs(timeout)),
            retry_deadline: Some(Duration::from_secs(deadline)),
            ..Settings::default()
        }
        .build()
        .unwrap();
        flight_options(&config)
    }

    #[test]
    fn the_fleet_lock_outlives_retry_after_sleeps() {
        // 4 attempts of ≤ 10 s and Retry-After sleeps: all within the 30 s deadline.
        let o = options(4, 10, 30);
        assert_eq!(o.lock_ttl, Duration::from_secs(31));
        assert_eq!(o.wait, Duration::from_secs(33));
        // Two attempts of 1 s, but a 120 s Retry-After fits in a 200 s deadline.
        assert_eq!(options(2, 1, 200).lock_ttl, Duration::from_secs(201));
        // One attempt: no sleeps, at most two requests.
        assert_eq!(options(1, 2, 30).lock_ttl, Duration::from_secs(5));
        assert_eq!(options(1, 20, 30).lock_ttl, Duration::from_secs(31));
    }
}
