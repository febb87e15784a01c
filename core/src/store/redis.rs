//! The fleet store: Redis (or Valkey) through the `redis` crate's sync API.
//!
//! - keys `cortiauth:v1:{id}:token` (the sealed value, `PX` = time to expiry)
//!   and `cortiauth:v1:{id}:lock` (the owner, `SET NX PX`);
//! - release = a Lua compare-and-delete, so an expired lock taken over by
//!   another process is never deleted by its former holder;
//! - every connection has connect, read and write timeouts (the store's
//!   timeout, 50 ms by default), so no operation blocks longer than that
//!   (plus one more when a new connection must be made);
//! - connections are pooled (taken out while in use, so no lock is held during
//!   I/O); after a connection-level error the pool is dropped and the store
//!   answers `Unavailable` at once for [`RECONNECT_AFTER`], then connects again.

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redis::{Client, Connection, RedisError};

use super::{StoreError, StoreErrorKind, TokenStore, Waited};

/// How long the store stays quiet after a connection-level error before it
/// tries to connect again.
pub const RECONNECT_AFTER: Duration = Duration::from_millis(500);
const MAX_IDLE: usize = 8;
const UNLOCK_SCRIPT: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// A [`TokenStore`] on a Redis server (`redis://`, `rediss://`). Cargo feature `redis`.
pub struct RedisStore {
    client: Client,
    shown: String,
    password: Option<String>,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    quiet_until: Mutex<Option<Instant>>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    /// `url` is the full URL (with its password); `shown` its redacted form.
    /// Does not connect: the first operation does.
    pub fn open(url: &str, shown: &str, timeout: Duration) -> Result<RedisStore, StoreError> {
        // The crate's parse errors are not shown: they could quote the URL.
        let client = Client::open(url).map_err(|e| {
            StoreError::config(format!(
                "invalid Redis URL ({:?}); expected redis://[user][:password@]host[:port][/db] or rediss://…",
                e.kind()
            ))
        })?;
        let password = client.get_connection_info().redis.password.clone();
        Ok(RedisStore {
            client,
            shown: shown.to_string(),
            password: password.filter(|p| !p.is_empty()),
            timeout,
            idle: Mutex::new(Vec::new()),
            quiet_until: Mutex::new(None),
        })
    }

    fn map_error(&self, what: &str, e: &RedisError) -> StoreError {
        let kind = if e.is_timeout() {
            StoreErrorKind::Timeout
        } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
            StoreErrorKind::Unavailable
        } else {
            StoreErrorKind::Protocol
        };
        let mut message = format!("{what} on {}: {e}", self.shown);
        if let Some(p) = &self.password {
            message = message.replace(p.as_str(), "[REDACTED]");
        }
        StoreError::new(kind, message)
    }

    fn connection(&self) -> Result<Connection, StoreError> {
        if let Some(until) = *guard(&self.quiet_until) {
            let now = Instant::now();
            if now < until {
                return Err(StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!(
                        "{} failed recently; next try in {} ms",
                        self.shown,
                        (until - now).as_millis()
                    ),
                ));
            }
        }
        if let Some(c) = guard(&self.idle).pop() {
            return Ok(c);
        }
        let c = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| {
                self.went_quiet();
                self.map_error("connect", &e)
            })?;
        let timeouts = c
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| c.set_write_timeout(Some(self.timeout)));
        timeouts.map_err(|e| self.map_error("setting timeouts", &e))?;
        Ok(c)
    }

    fn went_quiet(&self) {
        guard(&self.idle).clear();
        *guard(&self.quiet_until) = Some(Instant::now() + RECONNECT_AFTER);
    }

    /// Runs `f` on a pooled connection; a failed connection is dropped, and a
    /// connection-level failure makes the store quiet for a while.
    fn run<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let mut c = self.connection()?;
        match f(&mut c) {
            Ok(v) => {
                let mut idle = guard(&self.idle);
                if idle.len() < MAX_IDLE {
                    idle.push(c);
                }
                Ok(v)
            }
            Err(e) => {
                let err = self.map_error(what, &e);
                if err.kind() != StoreErrorKind::Protocol {
                    self.went_quiet();
                }
                Err(err)
            }
        }
    }

    fn token_key(id: &str) -> String {
        format!("cortiauth:v1:{id}:token")
    }

    fn lock_key(id: &str) -> String {
        format!("cortiauth:v1:{id}:lock")
    }
}

impl TokenStore for RedisStore {
    fn read(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run("GET", |c| {
            redis::cmd("GET").arg(Self::token_key(id)).query(c)
        })
    }

    fn write(&self, id: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.run("SET", |c| {
            redis::cmd("SET")
                .arg(Self::token_key(id))
                .arg(value)
                .arg("PX")
                .arg(millis(ttl))
                .query(c)
        })
    }

    fn try_lock(&self, id: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let reply: Option<String> = self.run("SET NX", |c| {
            redis::cmd("SET")
                .arg(Self::lock_key(id))
                .arg(owner)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query(c)
        })?;
        Ok(reply.is_some())
    }

    fn unlock(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let deleted: i64 = self.run("EVAL", |c| {
            redis::cmd("EVAL")
                .arg(UNLOCK_SCRIPT)
                .arg(1)
                .arg(Self::lock_key(id))
                .arg(owner)
                .query(c)
        })?;
        Ok(deleted == 1)
    }

    fn is_locked(&self, id: &str) -> Result<bool, StoreError> {
        let n: i64 = self.run("EXISTS", |c| {
            redis::cmd("EXISTS").arg(Self::lock_key(id)).query(c)
        })?;
        Ok(n > 0)
    }

    /// Polls with one `MGET token lock` per round (atomic: a holder that wrote
    /// and unlocked between two reads cannot be mistaken for one that gave up).
    fn wait(
        &self,
        id: &str,
        previous: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Waited, StoreError> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            let (value, lock): (Option<Vec<u8>>, Option<Vec<u8>>) = self.run("MGET", |c| {
                redis::cmd("MGET")
                    .arg(Self::token_key(id))
                    .arg(Self::lock_key(id))
                    .query(c)
            })?;
            if let Some(v) = value.filter(|v| Some(v.as_slice()) != previous) {
                return Ok(Waited::Value(v));
            }
            if lock.is_none() {
                return Ok(Waited::Unlocked);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Waited::TimedOut);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{open, redact_url};
    use super::*;

    #[test]
    fn urls_parse_without_connecting_and_never_show_the_password() {
        for url in [
            "redis://:hunter2@127.0.0.1:6379/0",
            "rediss://app:hunter2@cache.example:6380/1",
            "redis://127.0.0.1",
        ] {
            let s = open(url).unwrap();
            assert_eq!(s.describe(), redact_url(url));
            assert!(!format!("{s:?}").contains("hunter2"));
        }
        let e = open("redis://:hunter2@/nohost").unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Config);
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn nothing_listening_is_a_quick_unavailable_then_quiet() {
        // A port that was free a moment ago: connection refused on loopback.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let s = RedisStore::open(
            &format!("redis://:pw@127.0.0.1:{port}/0"),
            "shown",
            Duration::from_millis(50),
        )
        .unwrap();
        let t0 = Instant::now();
        let e = s.read("00").unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e}");
        let e = s.try_lock("00", "o", Duration::from_secs(1)).unwrap_err();
        assert!(e.message().contains("next try in"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(1));
    }
}
