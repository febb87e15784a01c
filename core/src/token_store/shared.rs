//! The fleet-wide single flight on top of a [`TokenStore`], as a manager uses it.

use arc_swap::ArcSwap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::envelope::now_unix_ms;
use super::{Entry, Holder, StoreError, StoreErrorKind, StoreKey, StoredToken, TokenStore, Waited};

/// How long a fetch may hold the lock, and how long others wait for its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlightOptions {
    /// The lock's TTL: it expires by itself after this, if its holder died
    /// (Redis, memory; a file lock goes when the holder's process does).
    /// Make it cover one whole fetch (request timeout × attempts).
    pub lock_ttl: Duration,
    /// How long a process waits for another one's fetch before fetching itself.
    /// At least `lock_ttl`, so that a dead holder's lock expires first.
    pub wait: Duration,
}

impl Default for FlightOptions {
    fn default() -> Self {
        FlightOptions {
            lock_ttl: Duration::from_secs(10),
            wait: Duration::from_secs(12),
        }
    }
}

/// Where [`SharedCache::get_or_fetch`]'s token came from.
#[derive(Debug)]
pub enum Outcome<T> {
    /// From the store (another process's fetch, or an earlier one of ours).
    Shared(StoredToken),
    /// From this call's `fetch` (with the lock held, or directly when the
    /// store failed or the wait ran out).
    Fetched(T),
}

/// Counters of one [`SharedCache`], for the manager's `stats()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Tokens taken from the store.
    pub hits: u64,
    /// Lookups that found no usable token (missing or due for refresh).
    pub misses: u64,
    /// Fetches made holding the fleet lock.
    pub locked_fetches: u64,
    /// Fetches made without it (store error, wait ran out, lock never free).
    pub direct_fetches: u64,
    /// Times another process held the lock and this one waited.
    pub waits: u64,
    /// Waits that ran out before a token appeared.
    pub wait_timeouts: u64,
    /// Values that did not open (garbage, tampered, another format).
    pub garbage: u64,
    /// Store operations that failed (timeouts, connection errors, unsafe files),
    /// and fetch locks held by a value this fleet did not write.
    pub errors: u64,
    /// The kind of the last store error.
    pub last_error: Option<StoreErrorKind>,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    locked_fetches: AtomicU64,
    direct_fetches: AtomicU64,
    waits: AtomicU64,
    wait_timeouts: AtomicU64,
    garbage: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<StoreErrorKind>>,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// One manager's view of a shared store: its slot, its keys, its counters.
///
/// The manager keeps its in-process cache in front; only its slow path (no
/// token, or one due for refresh) calls [`get_or_fetch`](Self::get_or_fetch).
pub struct SharedCache {
    store: Arc<dyn TokenStore>,
    /// Replaced when the client secret rotates: the slot follows it.
    key: ArcSwap<StoreKey>,
    counters: Counters,
}

impl fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedCache")
            .field("store", &self.store.describe())
            .field("slot", &self.key.load().id())
            .finish()
    }
}

/// Releases the lock when dropped, so a failing or panicking fetch frees it too.
struct LockGuard<'a> {
    cache: &'a SharedCache,
    owner: String,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let released = self
            .cache
            .store
            .unlock(self.cache.key.load().id(), &self.owner);
        if let Err(e) = released {
            self.cache.error(&e);
        }
    }
}

impl SharedCache {
    pub fn new(store: Arc<dyn TokenStore>, key: StoreKey) -> SharedCache {
        SharedCache {
            store,
            key: ArcSwap::from_pointee(key),
            counters: Counters::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    pub fn key(&self) -> Arc<StoreKey> {
        self.key.load_full()
    }

    /// Moves to another slot (the client secret rotated): the old one is
    /// simply no longer read.
    pub(crate) fn set_key(&self, key: StoreKey) {
        self.key.store(Arc::new(key));
    }

    pub fn stats(&self) -> StoreStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StoreStats {
            hits: get(&c.hits),
            misses: get(&c.misses),
            locked_fetches: get(&c.locked_fetches),
            direct_fetches: get(&c.direct_fetches),
            waits: get(&c.waits),
            wait_timeouts: get(&c.wait_timeouts),
            garbage: get(&c.garbage),
            errors: get(&c.errors),
            last_error: *c.last_error.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    fn error(&self, e: &StoreError) {
        bump(&self.counters.errors);
        *self
            .counters
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(e.kind());
        log::debug!("cortiauth: shared cache {}: {e}", self.store.describe());
    }

    /// Opens an entry from the store; garbage is counted and is `None`. The
    /// token's expiry is capped by the store's TTL (see [`StoredToken::clamped_to`]).
    fn open(&self, entry: &Entry) -> Option<StoredToken> {
        let t = self.key.load().open(&entry.value);
        if t.is_none() {
            bump(&self.counters.garbage);
        }
        t.map(|t| t.clamped_to(entry.ttl, now_unix_ms()))
    }

    /// Whether to wait for this holder of the slot's lock: a file lock (held by
    /// a live process of this user), or a lock value with this slot's MAC that
    /// lives no longer than it claims.
    fn trusted(&self, holder: &Holder) -> bool {
        match holder {
            Holder::Process => true,
            Holder::Value { owner, ttl } => self.key.load().lock_is_ours(owner, *ttl),
        }
    }

    /// A lock nobody of this fleet set: counted as a store error, never waited for.
    fn foreign_lock(&self) {
        self.error(&StoreError::new(
            StoreErrorKind::Protocol,
            "the fetch lock holds a value this fleet did not write (or one set again without \
             its TTL): fetching directly",
        ));
    }

    /// The slot's token, if there is one that opens (usable or not).
    /// Errors are counted and returned.
    pub fn load(&self) -> Result<Option<StoredToken>, StoreError> {
        match self.store.read_entry(self.key.load().id()) {
            Ok(entry) => Ok(entry.and_then(|e| self.open(&e))),
            Err(e) => {
                self.error(&e);
                Err(e)
            }
        }
    }

    /// Writes `token` into the slot until it expires. Errors are counted and returned.
    pub fn save(&self, token: &StoredToken) -> Result<(), StoreError> {
        let Some(ttl) = token.remaining_at(now_unix_ms()) else {
            return Ok(());
        };
        let sealed = self.key.load().seal(token);
        self.store
            .write(self.key.load().id(), &sealed, ttl)
            .inspect_err(|e| self.error(e))
    }

    /// The fleet-wide single flight. Returns a token from the store that
    /// `usable` accepts, or the result of `fetch`, which runs at most once:
    ///
    /// 1. read the slot: a usable token → `Shared`;
    /// 2. take the slot's lock (random owner, `lock_ttl`); got it → read again
    ///    (another process may just have written), else `fetch`, write what
    ///    `stored` makes of the result, release the lock (compare and delete);
    /// 3. someone holds the lock → wait (at most `wait` in all) for a new value:
    ///    usable → `Shared`; the lock went away without one (the holder failed or
    ///    died) → back to 2; the wait ran out → `fetch` directly.
    ///
    /// Any store error makes it `fetch` directly (and count the error): with the
    /// store down it costs one bounded store operation more than no store. So
    /// does a lock this fleet did not set (see [`StoreKey::lock_is_ours`]).
    /// A token read from the store never outlives the store's own TTL for it.
    /// `fetch`'s error is returned as is.
    pub fn get_or_fetch<T, E>(
        &self,
        options: &FlightOptions,
        usable: impl Fn(&StoredToken) -> bool,
        fetch: impl FnOnce() -> Result<T, E>,
        stored: impl FnOnce(&T) -> Option<StoredToken>,
    ) -> Result<Outcome<T>, E> {
        let plan = match self.plan(options, &usable) {
            Ok(plan) => plan,
            Err(shared) => return Ok(Outcome::Shared(shared)),
        };
        let value = fetch()?;
        match plan {
            Plan::Locked(guard) => {
                if let Some(t) = stored(&value) {
                    let _ = self.save(&t);
                }
                drop(guard);
            }
            Plan::Direct { save } => {
                if save {
                    if let Some(t) = stored(&value) {
                        let _ = self.save(&t);
                    }
                }
            }
        }
        Ok(Outcome::Fetched(value))
    }

    /// Steps 1–3 of [`get_or_fetch`](Self::get_or_fetch): a token from the
    /// store (as `Err`, to return it at once), or how to fetch.
    fn plan(
        &self,
        options: &FlightOptions,
        usable: &impl Fn(&StoredToken) -> bool,
    ) -> Result<Plan<'_>, StoredToken> {
        let key = self.key.load();
        let id = key.id();
        let deadline = Instant::now() + options.wait;
        let c = &self.counters;
        let shared = |t: StoredToken| {
            bump(&c.hits);
            t
        };
        let direct = |save: bool| {
            bump(&c.direct_fetches);
            Ok(Plan::Direct { save })
        };
        // The raw value last seen in the slot: waits look for another one.
        let mut seen: Option<Vec<u8>> = None;

        match self.store.read_entry(id) {
            Ok(Some(entry)) => {
                if let Some(t) = self.open(&entry).filter(usable) {
                    return Err(shared(t));
                }
                seen = Some(entry.value);
            }
            Ok(None) => {}
            Err(e) => {
                self.error(&e);
                bump(&c.misses);
                return direct(false);
            }
        }
        bump(&c.misses);

        // Bounded: each round either decides or waited; `Unlocked` can repeat
        // only as often as the lock changes hands.
        for _ in 0..8 {
            let owner = self.key.load().lock_owner(options.lock_ttl);
            match self.store.lock(id, &owner, options.lock_ttl) {
                Err(e) => {
                    self.error(&e);
                    return direct(false);
                }
                Ok(None) => {
                    let guard = LockGuard { cache: self, owner };
                    // Another process may have written between our read and the lock.
                    match self.store.read_entry(id) {
                        Ok(Some(entry)) if Some(&entry.value) != seen.as_ref() => {
                            if let Some(t) = self.open(&entry).filter(usable) {
                                return Err(shared(t));
                            }
                        }
                        Ok(_) => {}
                        Err(e) => self.error(&e),
                    }
                    bump(&c.locked_fetches);
                    return Ok(Plan::Locked(guard));
                }
                Ok(Some(holder)) if !self.trusted(&holder) => {
                    self.foreign_lock();
                    return direct(true);
                }
                Ok(Some(_)) => {
                    bump(&c.waits);
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        bump(&c.wait_timeouts);
                        return direct(true);
                    }
                    let trusted = |h: &Holder| self.trusted(h);
                    match self.store.wait(id, seen.as_deref(), left, &trusted) {
                        Err(e) => {
                            self.error(&e);
                            return direct(false);
                        }
                        Ok(Waited::Value(entry)) => {
                            if let Some(t) = self.open(&entry).filter(usable) {
                                return Err(shared(t));
                            }
                            seen = Some(entry.value);
                        }
                        Ok(Waited::Unlocked) => {}
                        Ok(Waited::Foreign) => {
                            self.foreign_lock();
                            return direct(true);
                        }
                        Ok(Waited::TimedOut) => {
                            bump(&c.wait_timeouts);
                            return direct(true);
                        }
                    }
                }
            }
        }
        direct(true)
    }
}

/// What [`SharedCache::plan`] decided.
enum Plan<'a> {
    /// Fetch with the lock held; write the token, then release.
    Locked(LockGuard<'a>),
    /// Fetch without the lock; write the token unless the store failed.
    Direct { save: bool },
}

#[cfg(test)]
mod tests {
    use super::super::{MemoryStore, StoreErrorKind};
    use super::*;
    use crate::secret::SecretString;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Barrier;
    use std::thread;

    fn key(secret: &str) -> StoreKey {
        StoreKey::new(
            "http://127.0.0.1:1/t",
            "client",
            &["openid"],
            &SecretString::new(secret),
        )
    }

    fn token(value: &str, lifetime_ms: u64) -> StoredToken {
        StoredToken {
            access_token: SecretString::new(value),
            token_type: "Bearer".into(),
            scope: None,
            expires_at_ms: now_unix_ms() + lifetime_ms as i64,
            lifetime_ms,
        }
    }

    fn fresh(t: &StoredToken) -> bool {
        t.remaining_at(now_unix_ms())
            .is_some_and(|left| left > t.lifetime() / 5)
    }

    fn run(cache: &SharedCache, fetches: &AtomicUsize, value: &str) -> Result<StoredToken, String> {
        let out = cache.get_or_fetch(
            &FlightOptions::default(),
            fresh,
            || {
                fetches.fetch_add(1, Ordering::SeqCst);
                // A token request takes a while: the others must wait, not fetch.
                thread::sleep(Duration::from_millis(50));
                Ok::<_, String>(token(value, 60_000))
            },
            |t| Some(t.clone()),
        )?;
        Ok(match out {
            Outcome::Shared(t) | Outcome::Fetched(t) => t,
        })
    }

    #[test]
    fn many_managers_on_one_store_fetch_once() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let fetches = AtomicUsize::new(0);
        let n = 16;
        let barrier = Barrier::new(n);
        let caches: Vec<SharedCache> = (0..n)
            .map(|_| SharedCache::new(store.clone(), key("secret")))
            .collect();
        let got: Vec<String> = thread::scope(|s| {
            let handles: Vec<_> = caches
                .iter()
                .enumerate()
                .map(|(i, cache)| {
                    let (barrier, fetches) = (&barrier, &fetches);
                    s.spawn(move || {
                        barrier.wait();
                        let t = run(cache, fetches, &format!("token-{i}")).unwrap();
                        t.access_token.expose().to_string()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert!(got.iter().all(|t| *t == got[0]), "{got:?}");
        let total = |f: fn(&StoreStats) -> u64| caches.iter().map(|c| f(&c.stats())).sum::<u64>();
        assert_eq!(total(|s| s.locked_fetches), 1);
        assert_eq!(total(|s| s.direct_fetches), 0);
        assert_eq!(total(|s| s.hits), n as u64 - 1);
        assert_eq!(total(|s| s.errors), 0);
        // Later calls: straight from the store.
        assert_eq!(
            run(&caches[3], &fetches, "x")
                .unwrap()
                .access_token
                .expose(),
            got[0]
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_token_due_for_refresh_is_fetched_again_once() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let a = SharedCache::new(store.clone(), key("secret"));
        let b = SharedCache::new(store.clone(), key("secret"));
        // Stored but inside the refresh margin: not usable, so one fetch, then shared.
        a.save(&token("old", 60_000)).unwrap();
        let mut stale = token("stale", 60_000);
        stale.expires_at_ms = now_unix_ms() + 5_000;
        a.save(&stale).unwrap();
        let fetches = AtomicUsize::new(0);
        assert_eq!(
            run(&a, &fetches, "new").unwrap().access_token.expose(),
            "new"
        );
        assert_eq!(
            run(&b, &fetches, "other").unwrap().access_token.expose(),
            "new"
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(a.stats().misses, 1);
        assert_eq!(b.stats().hits, 1);
    }

    #[test]
    fn another_secret_gets_nothing_and_fetches_itself() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let right = SharedCache::new(store.clone(), key("right"));
        let wrong = SharedCache::new(store.clone(), key("wrong"));
        let fetches = AtomicUsize::new(0);
        run(&right, &fetches, "right-token").unwrap();
        let out = wrong.get_or_fetch(
            &FlightOptions::default(),
            fresh,
            || Err::<StoredToken, _>("invalid_client"),
            |t| Some(t.clone()),
        );
        assert_eq!(out.unwrap_err(), "invalid_client");
        assert_eq!(wrong.stats().hits, 0);
        // Its failed fetch released the lock and left the right slot alone.
        assert!(!store.is_locked(wrong.key().id()).unwrap());
        assert_eq!(
            right.load().unwrap().unwrap().access_token.expose(),
            "right-token"
        );
    }

    #[test]
    fn garbage_is_a_counted_miss() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let cache = SharedCache::new(store.clone(), key("secret"));
        store
            .write(cache.key().id(), b"\x00garbage", Duration::from_secs(60))
            .unwrap();
        assert_eq!(cache.load().unwrap(), None);
        let fetches = AtomicUsize::new(0);
        assert_eq!(
            run(&cache, &fetches, "t").unwrap().access_token.expose(),
            "t"
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let s = cache.stats();
        assert_eq!((s.garbage, s.locked_fetches, s.errors), (2, 1, 0));
        // The garbage was replaced.
        assert_eq!(cache.load().unwrap().unwrap().access_token.expose(), "t");
    }

    #[test]
    fn a_failed_holder_hands_over_to_a_waiter() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let holder = SharedCache::new(store.clone(), key("secret"));
        let waiter = SharedCache::new(store.clone(), key("secret"));
        let started = Barrier::new(2);
        let fetches = AtomicUsize::new(0);
        thread::scope(|s| {
            let h = s.spawn(|| {
                holder.get_or_fetch(
                    &FlightOptions::default(),
                    fresh,
                    || {
                        started.wait();
                        thread::sleep(Duration::from_millis(50));
                        Err::<StoredToken, _>("server error")
                    },
                    |t| Some(t.clone()),
                )
            });
            started.wait();
            // The holder is fetching: the waiter waits, sees the lock go, fetches.
            let t = run(&waiter, &fetches, "second").unwrap();
            assert_eq!(t.access_token.expose(), "second");
            assert_eq!(h.join().unwrap().unwrap_err(), "server error");
        });
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let s = waiter.stats();
        assert_eq!((s.waits, s.locked_fetches, s.direct_fetches), (1, 1, 0));
    }

    #[test]
    fn a_dead_holders_lock_expires_and_a_waiter_fetches() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let cache = SharedCache::new(store.clone(), key("secret"));
        // A holder that died: its lock is there and nobody will release it.
        let ttl = Duration::from_millis(100);
        let dead = cache.key().lock_owner(ttl);
        assert!(store.try_lock(cache.key().id(), &dead, ttl).unwrap());
        let t0 = Instant::now();
        let fetches = AtomicUsize::new(0);
        run(&cache, &fetches, "t").unwrap();
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(90), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(cache.stats().locked_fetches, 1);
    }

    #[test]
    fn a_wait_that_runs_out_fetches_directly() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let cache = SharedCache::new(store.clone(), key("secret"));
        let ttl = Duration::from_secs(60);
        let slow = cache.key().lock_owner(ttl);
        assert!(store.try_lock(cache.key().id(), &slow, ttl).unwrap());
        let options = FlightOptions {
            lock_ttl: Duration::from_secs(10),
            wait: Duration::from_millis(50),
        };
        let t0 = Instant::now();
        let out = cache
            .get_or_fetch(
                &options,
                fresh,
                || Ok::<_, ()>(token("t", 60_000)),
                |t| Some(t.clone()),
            )
            .unwrap();
        assert!(matches!(out, Outcome::Fetched(_)));
        assert!(t0.elapsed() < Duration::from_secs(5));
        let s = cache.stats();
        assert_eq!((s.wait_timeouts, s.direct_fetches), (1, 1));
    }

    #[test]
    fn reader_never_outlives_store_ttl() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let cache = SharedCache::new(store.clone(), key("secret"));
        // A writer whose clock runs 15 s ahead wrote a 20 s token with 1.5 s left
        // (by its own clocks, so the store's TTL is right).
        let mut skewed = token("skewed", 20_000);
        skewed.expires_at_ms = now_unix_ms() + 1_500 + 15_000;
        let ttl = Duration::from_millis(1_500);
        store
            .write(cache.key().id(), &cache.key().seal(&skewed), ttl)
            .unwrap();
        let t = cache.load().unwrap().unwrap();
        let left = t.remaining_at(now_unix_ms()).unwrap();
        assert!(left <= ttl, "reports {left:?} left, the store says {ttl:?}");
        let at = t.to_access_token().unwrap();
        assert!(at.expires_in() <= ttl, "{:?}", at.expires_in());
        // Through get_or_fetch: taken while it lasts, with the same cap.
        let out = cache
            .get_or_fetch(
                &FlightOptions::default(),
                |t| t.remaining_at(now_unix_ms()).is_some(),
                || Err::<StoredToken, _>("no fetch expected"),
                |t| Some(t.clone()),
            )
            .unwrap();
        match out {
            Outcome::Shared(t) => assert!(t.remaining_at(now_unix_ms()).unwrap() <= ttl),
            Outcome::Fetched(_) => panic!("fetched"),
        }
    }

    #[test]
    fn a_strangers_lock_is_not_waited_for() {
        let lock_ttl = FlightOptions::default().lock_ttl;
        let member = key("secret");
        // Locks nobody of this fleet could have set, each held for a minute.
        for (what, owner) in [
            ("a stranger's value", "stranger".to_string()),
            (
                "another secret's lock",
                key("another-secret").lock_owner(lock_ttl),
            ),
            (
                "a copied lock set with a longer TTL",
                member.lock_owner(Duration::from_secs(5)),
            ),
        ] {
            let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
            let cache = SharedCache::new(store.clone(), key("secret"));
            let key = cache.key();
            let id = key.id();
            assert!(store.try_lock(id, &owner, Duration::from_secs(60)).unwrap());
            let fetches = AtomicUsize::new(0);
            let t0 = Instant::now();
            run(&cache, &fetches, "direct").unwrap();
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "{what}: {:?}",
                t0.elapsed()
            );
            assert_eq!(fetches.load(Ordering::SeqCst), 1, "{what}");
            // The token was written back for the others.
            assert_eq!(
                cache.load().unwrap().unwrap().access_token.expose(),
                "direct",
                "{what}"
            );
            let s = cache.stats();
            assert_eq!((s.errors, s.direct_fetches, s.waits), (1, 1, 0), "{what}");
            assert_eq!(s.last_error, Some(StoreErrorKind::Protocol), "{what}");
        }
    }

    /// Nothing in the slot; the lock is a fleet member's at first, a stranger's
    /// from the second look on (as if the member's lock expired and a stranger
    /// took the key).
    #[derive(Debug)]
    struct Squatted {
        member: String,
        looks: AtomicUsize,
    }
    impl TokenStore for Squatted {
        fn read_entry(&self, _: &str) -> Result<Option<Entry>, StoreError> {
            Ok(None)
        }
        fn write(&self, _: &str, _: &[u8], _: Duration) -> Result<(), StoreError> {
            Ok(())
        }
        fn lock(&self, id: &str, _: &str, _: Duration) -> Result<Option<Holder>, StoreError> {
            self.holder(id)
        }
        fn unlock(&self, _: &str, _: &str) -> Result<bool, StoreError> {
            Ok(false)
        }
        fn holder(&self, _: &str) -> Result<Option<Holder>, StoreError> {
            let owner = match self.looks.fetch_add(1, Ordering::SeqCst) {
                0 => self.member.clone(),
                _ => "stranger".to_string(),
            };
            Ok(Some(Holder::Value {
                owner: owner.into_bytes(),
                ttl: Some(Duration::from_secs(10)),
            }))
        }
        fn describe(&self) -> String {
            "squatted:".into()
        }
    }

    #[test]
    fn a_stranger_taking_the_lock_during_a_wait_ends_the_wait() {
        let store = Squatted {
            member: key("secret").lock_owner(Duration::from_secs(10)),
            looks: AtomicUsize::new(0),
        };
        let cache = SharedCache::new(Arc::new(store), key("secret"));
        let fetches = AtomicUsize::new(0);
        let t0 = Instant::now();
        run(&cache, &fetches, "t").unwrap();
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let s = cache.stats();
        assert_eq!((s.waits, s.errors, s.direct_fetches), (1, 1, 1));
    }

    /// A store where every operation fails, as a stopped Redis does.
    #[derive(Debug)]
    struct Down;
    impl TokenStore for Down {
        fn read_entry(&self, _: &str) -> Result<Option<Entry>, StoreError> {
            Err(StoreError::new(StoreErrorKind::Unavailable, "down"))
        }
        fn write(&self, _: &str, _: &[u8], _: Duration) -> Result<(), StoreError> {
            Err(StoreError::new(StoreErrorKind::Unavailable, "down"))
        }
        fn lock(&self, _: &str, _: &str, _: Duration) -> Result<Option<Holder>, StoreError> {
            Err(StoreError::new(StoreErrorKind::Unavailable, "down"))
        }
        fn unlock(&self, _: &str, _: &str) -> Result<bool, StoreError> {
            Err(StoreError::new(StoreErrorKind::Unavailable, "down"))
        }
        fn holder(&self, _: &str) -> Result<Option<Holder>, StoreError> {
            Err(StoreError::new(StoreErrorKind::Unavailable, "down"))
        }
        fn describe(&self) -> String {
            "down:".into()
        }
    }

    #[test]
    fn a_store_that_is_down_costs_one_error_and_a_direct_fetch() {
        let cache = SharedCache::new(Arc::new(Down), key("secret"));
        let fetches = AtomicUsize::new(0);
        assert_eq!(
            run(&cache, &fetches, "t").unwrap().access_token.expose(),
            "t"
        );
        let s = cache.stats();
        assert_eq!((s.errors, s.direct_fetches, s.locked_fetches), (1, 1, 0));
        assert_eq!(s.last_error, Some(StoreErrorKind::Unavailable));
        assert!(cache.save(&token("t", 60_000)).is_err());
        assert_eq!(cache.stats().errors, 2);
    }

    #[test]
    fn debug_shows_the_store_and_slot_only() {
        let cache = SharedCache::new(Arc::new(MemoryStore::new()), key("s3cret"));
        let shown = format!("{cache:?}");
        assert!(shown.contains(cache.key().id()));
        assert!(
            !shown.contains("s3cret") && !shown.contains("client"),
            "{shown}"
        );
    }
}
