//! The in-process store: values and locks in a map, waits on a condition variable.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::{Entry, Holder, StoreError, TokenStore, Waited};

/// An in-process [`TokenStore`]: for tests, and for several managers of one
/// process that share `memory:NAME`. Operations never block on I/O.
#[derive(Debug, Default)]
pub struct MemoryStore {
    name: String,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    values: HashMap<String, (Vec<u8>, Instant)>,
    locks: HashMap<String, (String, Instant)>,
}

impl State {
    fn value(&mut self, id: &str, now: Instant) -> Option<Entry> {
        if self.values.get(id).is_some_and(|(_, until)| *until <= now) {
            self.values.remove(id);
        }
        self.values.get(id).map(|(v, until)| Entry {
            value: v.clone(),
            ttl: until.saturating_duration_since(now),
        })
    }

    fn owner(&mut self, id: &str, now: Instant) -> Option<&str> {
        if self.locks.get(id).is_some_and(|(_, until)| *until <= now) {
            self.locks.remove(id);
        }
        self.locks.get(id).map(|(o, _)| o.as_str())
    }

    fn holder(&mut self, id: &str, now: Instant) -> Option<Holder> {
        self.owner(id, now)?;
        let (owner, until) = &self.locks[id];
        Some(Holder::Value {
            owner: owner.as_bytes().to_vec(),
            ttl: Some(until.saturating_duration_since(now)),
        })
    }
}

impl MemoryStore {
    /// A private store (not reachable through [`open`](super::open)).
    pub fn new() -> MemoryStore {
        MemoryStore {
            name: "memory:".into(),
            ..MemoryStore::default()
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent maps.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `memory:NAME` → the process-wide store of that name.
pub(super) fn named(url: &str) -> Arc<dyn TokenStore> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<MemoryStore>>>> = OnceLock::new();
    let mut stores = STORES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    stores
        .entry(url.to_string())
        .or_insert_with(|| {
            Arc::new(MemoryStore {
                name: url.to_string(),
                ..MemoryStore::default()
            })
        })
        .clone()
}

fn deadline(ttl: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(ttl)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400))
}

impl TokenStore for MemoryStore {
    fn read_entry(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.state().value(id, Instant::now()))
    }

    fn write(&self, id: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.state()
            .values
            .insert(id.to_string(), (value.to_vec(), deadline(ttl)));
        self.changed.notify_all();
        Ok(())
    }

    fn lock(&self, id: &str, owner: &str, ttl: Duration) -> Result<Option<Holder>, StoreError> {
        let mut state = self.state();
        if let Some(h) = state.holder(id, Instant::now()) {
            return Ok(Some(h));
        }
        state
            .locks
            .insert(id.to_string(), (owner.to_string(), deadline(ttl)));
        Ok(None)
    }

    fn unlock(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.owner(id, Instant::now()) != Some(owner) {
            return Ok(false);
        }
        state.locks.remove(id);
        self.changed.notify_all();
        Ok(true)
    }

    fn holder(&self, id: &str) -> Result<Option<Holder>, StoreError> {
        Ok(self.state().holder(id, Instant::now()))
    }

    fn wait(
        &self,
        id: &str,
        previous: Option<&[u8]>,
        timeout: Duration,
        trusted: &dyn Fn(&Holder) -> bool,
    ) -> Result<Waited, StoreError> {
        let end = deadline(timeout);
        let mut state = self.state();
        loop {
            let now = Instant::now();
            if let Some(e) = state.value(id, now) {
                if Some(e.value.as_slice()) != previous {
                    return Ok(Waited::Value(e));
                }
            }
            // The wake-up for an expiring lock is the lock's own deadline.
            let lock_until = match state.holder(id, now) {
                None => return Ok(Waited::Unlocked),
                Some(h) if !trusted(&h) => return Ok(Waited::Foreign),
                Some(_) => state.locks[id].1,
            };
            if now >= end {
                return Ok(Waited::TimedOut);
            }
            let until = end.min(lock_until);
            state = self
                .changed
                .wait_timeout(state, until.saturating_duration_since(now))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    const TTL: Duration = Duration::from_secs(30);

    #[test]
    fn values_expire_with_their_ttl() {
        let s = MemoryStore::new();
        s.write("a", b"1", Duration::from_millis(30)).unwrap();
        assert_eq!(s.read("a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(s.read("b").unwrap(), None);
        // Waiting for the TTL is the behaviour under test, not synchronisation.
        thread::sleep(Duration::from_millis(40));
        assert_eq!(s.read("a").unwrap(), None);
    }

    #[test]
    fn lock_is_exclusive_released_by_its_owner_only_and_expires() {
        let s = MemoryStore::new();
        assert!(s.try_lock("a", "me", TTL).unwrap());
        assert!(!s.try_lock("a", "you", TTL).unwrap());
        assert!(s.try_lock("b", "you", TTL).unwrap());
        assert!(!s.unlock("a", "you").unwrap());
        assert!(s.is_locked("a").unwrap());
        assert!(s.unlock("a", "me").unwrap());
        assert!(!s.unlock("a", "me").unwrap());
        assert!(!s.is_locked("a").unwrap());
        assert!(s.try_lock("a", "short", Duration::from_millis(20)).unwrap());
        thread::sleep(Duration::from_millis(30));
        assert!(!s.is_locked("a").unwrap());
        assert!(s.try_lock("a", "next", TTL).unwrap());
        assert!(!s.unlock("a", "short").unwrap());
    }

    #[test]
    fn wait_wakes_on_a_new_value_on_unlock_and_on_lock_expiry() {
        let s = Arc::new(MemoryStore::new());
        let anyone = |_: &Holder| true;
        let value = |w: Waited| match w {
            Waited::Value(e) => Some(e.value),
            _ => None,
        };
        // Unlocked and nothing new: at once.
        assert_eq!(s.wait("a", None, TTL, &anyone).unwrap(), Waited::Unlocked);
        // Locked, a writer publishes: woken with the value, long before the timeout.
        assert!(s.try_lock("a", "holder", TTL).unwrap());
        s.write("a", b"old", TTL).unwrap();
        let t0 = Instant::now();
        let writer = {
            let s = s.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                s.write("a", b"new", TTL).unwrap();
            })
        };
        assert_eq!(
            value(
                s.wait("a", Some(b"old"), Duration::from_secs(10), &anyone)
                    .unwrap()
            )
            .as_deref(),
            Some(&b"new"[..])
        );
        assert!(t0.elapsed() < Duration::from_secs(5));
        writer.join().unwrap();
        // Locked, the holder gives up: Unlocked.
        let releaser = {
            let s = s.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                s.unlock("a", "holder").unwrap();
            })
        };
        assert_eq!(
            s.wait("a", Some(b"new"), Duration::from_secs(10), &anyone)
                .unwrap(),
            Waited::Unlocked
        );
        releaser.join().unwrap();
        // Locked by a holder that "died": the lock's own expiry wakes the waiter.
        assert!(s.try_lock("a", "dead", Duration::from_millis(50)).unwrap());
        let t0 = Instant::now();
        assert_eq!(
            s.wait("a", Some(b"new"), Duration::from_secs(10), &anyone)
                .unwrap(),
            Waited::Unlocked
        );
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(40) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        // Locked and nothing happens: the timeout.
        assert!(s.try_lock("a", "slow", TTL).unwrap());
        let t0 = Instant::now();
        assert_eq!(
            s.wait("a", Some(b"new"), Duration::from_millis(30), &anyone)
                .unwrap(),
            Waited::TimedOut
        );
        assert!(t0.elapsed() >= Duration::from_millis(30));
        // Locked by a holder the caller does not trust: at once, not after the timeout.
        let t0 = Instant::now();
        assert_eq!(
            s.wait("a", Some(b"new"), Duration::from_secs(10), &|_| false)
                .unwrap(),
            Waited::Foreign
        );
        assert!(t0.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn entries_carry_their_remaining_ttl_and_holders_their_lock() {
        let s = MemoryStore::new();
        s.write("a", b"v", Duration::from_secs(5)).unwrap();
        let e = s.read_entry("a").unwrap().unwrap();
        assert!(e.ttl <= Duration::from_secs(5) && e.ttl > Duration::from_secs(4));
        assert_eq!(s.lock("a", "me", TTL).unwrap(), None);
        match s.lock("a", "you", TTL).unwrap() {
            Some(Holder::Value { owner, ttl }) => {
                assert_eq!(owner, b"me");
                assert!(ttl.unwrap() <= TTL);
            }
            other => panic!("{other:?}"),
        }
    }
}
