//! The shared token store: one token per lifetime for a whole fleet of processes.
//!
//! Three layers, from the bottom:
//!
//! - [`TokenStore`]: a dumb, bounded key-value store of opaque bytes with a
//!   short fetch lock, implemented by [`MemoryStore`] (in-process), [`FileStore`]
//!   (one host, unix) and `RedisStore` (a fleet; cargo feature `redis`).
//!   Every operation is bounded by the store's timeout and returns a
//!   [`StoreError`] instead of blocking or panicking.
//! - [`StoreKey`] and [`StoredToken`]: the envelope. The slot id is derived from
//!   (token URL, client id, scope set) *and* the client secret, so it shows none
//!   of them; the value is ChaCha20-Poly1305 under a key derived from the client
//!   secret, with the binding as associated data.
//! - [`SharedCache`]: what a token manager calls on its slow path:
//!   [`SharedCache::get_or_fetch`] runs the fleet-wide single flight (read,
//!   lock, re-read, fetch, write, unlock; or wait for the holder's token), and
//!   never does worse than fetching directly: store errors are counted in
//!   [`StoreStats`] and fall through to the fetch.
//!
//! [`open`] turns a URL (`redis://…`, `rediss://…`, `file:///dir`, `memory:`)
//! into a store; `crate::redact::redact_url` renders such a URL without its password.
//! See `docs/design/shared-cache.md` for the protocol and formats.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::redact::redact_url;

mod envelope;
#[cfg(unix)]
mod file;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod shared;

#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub(crate) use envelope::now_unix_ms;
pub use envelope::{StoreKey, StoredToken, MAX_VALUE_LEN};
#[cfg(unix)]
pub use file::FileStore;
pub use memory::MemoryStore;
pub use shared::{FlightOptions, Outcome, SharedCache, StoreStats};

/// The default bound on one store operation: a slow store must not hold up a token request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);

/// What kind of store failure, for counters and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// The store URL or options are invalid, or the store kind is not compiled in.
    Config,
    /// The operation did not finish within the store's timeout.
    Timeout,
    /// The store cannot be reached (connection refused, reset, backing off after an error).
    Unavailable,
    /// The store answered something this code cannot use (a protocol error, a wrong type).
    Protocol,
    /// A file or directory fails the safety checks (owner, modes, not a regular file, symlink).
    Unsafe,
    /// Another I/O error.
    Io,
}

impl StoreErrorKind {
    /// `"config"`, `"timeout"`, `"unavailable"`, `"protocol"`, `"unsafe"`, `"io"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::Config => "config",
            StoreErrorKind::Timeout => "timeout",
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Protocol => "protocol",
            StoreErrorKind::Unsafe => "unsafe",
            StoreErrorKind::Io => "io",
        }
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store operation failed. The message never contains a password, a token or a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
}

impl StoreError {
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
        StoreError {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn config(message: impl Into<String>) -> StoreError {
        StoreError::new(StoreErrorKind::Config, message)
    }

    pub(crate) fn from_io(what: &str, e: &std::io::Error) -> StoreError {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::TimedOut | K::WouldBlock => StoreErrorKind::Timeout,
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::UnexpectedEof => StoreErrorKind::Unavailable,
            _ => StoreErrorKind::Io,
        };
        StoreError::new(kind, format!("{what}: {e}"))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token store: {}", self.message)
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for crate::Error {
    /// Only [`open`] errors are meant to reach callers (as configuration errors);
    /// run-time store errors are counted and fall through to a direct fetch.
    fn from(e: StoreError) -> crate::Error {
        crate::Error::config(e.to_string())
    }
}

/// A value read from a store, with the time it has left by the store's own clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The opaque bytes (still to be opened by [`StoreKey::open`]).
    pub value: Vec<u8>,
    /// The time the value has left by the store's clock (Redis `PTTL`, the
    /// file header on this host's clock): a clock writer and reader share,
    /// unlike the writer's wall clock inside the value.
    pub ttl: Duration,
}

/// Who holds a slot's fetch lock, as far as the store can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// The store vouches for the holder: a file lock is held by a live process
    /// of this user and goes away with it.
    Process,
    /// A lock value (Redis, memory) and the time it has left (`None`: it never
    /// expires). The cache checks it with [`StoreKey::lock_is_ours`].
    Value {
        /// The lock's value (at most [`MAX_LOCK_LEN`] bytes are read).
        owner: Vec<u8>,
        /// Time left on the lock, by the store's clock.
        ttl: Option<Duration>,
    },
}

/// Lock values longer than this are not read (ours are about 60 bytes).
pub const MAX_LOCK_LEN: usize = 256;

/// What [`TokenStore::wait`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waited {
    /// A value other than `previous` is in the slot (opaque bytes, still to be opened).
    Value(Entry),
    /// Nobody holds the slot's lock any more and no new value appeared: the
    /// holder gave up (its fetch failed) or died (its lock expired). Try to lock.
    Unlocked,
    /// The lock is held by someone `trusted` does not accept (a stranger's
    /// value, a lock without a TTL): do not wait for it.
    Foreign,
    /// Neither happened within the timeout.
    TimedOut,
}

/// A bounded key-value store of opaque values, with one fetch lock per slot.
///
/// `id` names a slot: the hex id of a [`StoreKey`] (64 lower-case hex digits).
/// Each implementation derives its own names from it (Redis keys, file names).
/// Values are opaque (sealed by [`StoreKey::seal`]); stores never look inside.
/// Every operation is bounded by a wall-clock deadline (the store's timeout).
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The slot's value and its remaining TTL, if one is there and its TTL has
    /// not run out. A value longer than the largest valid envelope is not read:
    /// it comes back as an [`Entry`] that does not open (counted as garbage).
    fn read_entry(&self, id: &str) -> Result<Option<Entry>, StoreError>;

    /// The slot's value, if any ([`read_entry`](Self::read_entry) without the TTL).
    fn read(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read_entry(id)?.map(|e| e.value))
    }

    /// Replaces the slot's value; it disappears by itself after `ttl`.
    fn write(&self, id: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;

    /// Takes the slot's fetch lock for `owner` unless someone holds it:
    /// `Ok(None)` when taken, else who holds it. The lock goes away by itself
    /// after `ttl` (Redis, memory) or when the holding process dies (file).
    fn lock(&self, id: &str, owner: &str, ttl: Duration) -> Result<Option<Holder>, StoreError>;

    /// [`lock`](Self::lock) as a yes/no: `Ok(false)` when someone holds it.
    fn try_lock(&self, id: &str, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.lock(id, owner, ttl)?.is_none())
    }

    /// Releases the lock if `owner` still holds it (compare and delete).
    /// `Ok(false)`: it had expired, or someone else holds it now.
    fn unlock(&self, id: &str, owner: &str) -> Result<bool, StoreError>;

    /// Who holds the slot's lock, if anybody.
    fn holder(&self, id: &str) -> Result<Option<Holder>, StoreError>;

    /// Whether anybody holds the slot's lock.
    fn is_locked(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.holder(id)?.is_some())
    }

    /// Waits at most `timeout` for a value other than `previous` to appear in
    /// the slot, or for the lock to be free, or for a holder that `trusted`
    /// refuses. The default polls [`read_entry`](Self::read_entry) and
    /// [`holder`](Self::holder) every 5–25 ms.
    fn wait(
        &self,
        id: &str,
        previous: Option<&[u8]>,
        timeout: Duration,
        trusted: &dyn Fn(&Holder) -> bool,
    ) -> Result<Waited, StoreError> {
        poll_wait(self, id, previous, timeout, trusted)
    }

    /// The store's URL with any password redacted, for `describe()` and logs.
    fn describe(&self) -> String;
}

/// The polling loop behind [`TokenStore::wait`].
pub(crate) fn poll_wait<S: TokenStore + ?Sized>(
    store: &S,
    id: &str,
    previous: Option<&[u8]>,
    timeout: Duration,
    trusted: &dyn Fn(&Holder) -> bool,
) -> Result<Waited, StoreError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    let changed = |e: &Option<Entry>| {
        e.as_ref()
            .is_some_and(|e| Some(e.value.as_slice()) != previous)
    };
    loop {
        let entry = store.read_entry(id)?;
        if changed(&entry) {
            return Ok(Waited::Value(entry.expect("changed")));
        }
        match store.holder(id)? {
            None => {
                // The holder may have written and unlocked between the two reads.
                let entry = store.read_entry(id)?;
                if changed(&entry) {
                    return Ok(Waited::Value(entry.expect("changed")));
                }
                return Ok(Waited::Unlocked);
            }
            Some(h) if !trusted(&h) => return Ok(Waited::Foreign),
            Some(_) => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Waited::TimedOut);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

/// Options of [`open_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Bound on one store operation (connect, command, file operation). Also set
    /// by a `timeout_ms=N` query parameter in the URL.
    pub timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Opens a store from its URL with the default options (see [`open_with`]).
pub fn open(url: &str) -> Result<Arc<dyn TokenStore>, StoreError> {
    open_with(url, &StoreOptions::default())
}

/// Opens a store from its URL:
///
/// - `redis://[user][:password@]host[:port][/db]`, `rediss://…` (TLS, system
///   roots), with the cargo feature `redis`;
/// - `file:///absolute/dir` (unix): the directory is created `0700` when missing
///   and refused when it is not ours or not private;
/// - `memory:` or `memory:NAME`: an in-process store, shared by every `open`
///   of the same URL in this process.
///
/// A `timeout_ms=N` query parameter (1..=60000) overrides `options.timeout`.
/// Errors name the URL with its password redacted.
pub fn open_with(url: &str, options: &StoreOptions) -> Result<Arc<dyn TokenStore>, StoreError> {
    let shown = redact_url(url);
    let fail = |why: &str| StoreError::config(format!("{why} (shared cache URL {shown})"));
    let (base, timeout) = split_timeout(url, options.timeout).map_err(|why| fail(&why))?;
    let scheme = base
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        "memory" => Ok(memory::named(&base)),
        "file" => {
            #[cfg(unix)]
            {
                let parsed =
                    url::Url::parse(&base).map_err(|e| fail(&format!("invalid URL: {e}")))?;
                if parsed
                    .host_str()
                    .is_some_and(|h| !h.is_empty() && h != "localhost")
                {
                    return Err(fail(
                        "a file: URL must name a local directory (file:///dir)",
                    ));
                }
                let dir = parsed.to_file_path().map_err(|_| {
                    fail("a file: URL must name an absolute directory (file:///dir)")
                })?;
                FileStore::open(&dir)
                    .map(|s| Arc::new(s) as Arc<dyn TokenStore>)
                    .map_err(|e| {
                        StoreError::new(
                            e.kind(),
                            format!("{} (shared cache URL {shown})", e.message()),
                        )
                    })
            }
            #[cfg(not(unix))]
            {
                Err(fail("the file store is only available on unix"))
            }
        }
        "redis" | "rediss" => {
            #[cfg(feature = "redis")]
            {
                RedisStore::open(&base, &shown, timeout)
                    .map(|s| Arc::new(s) as Arc<dyn TokenStore>)
                    .map_err(|e| fail(e.message()))
            }
            #[cfg(not(feature = "redis"))]
            {
                let _ = timeout;
                Err(fail(
                    "this build has no Redis support (build cortiauth with the cargo feature `redis`)",
                ))
            }
        }
        _ => Err(fail(
            "unknown shared cache URL scheme (expected redis://, rediss://, file:/// or memory:)",
        )),
    }
}

/// Checks a store URL without opening the store (no I/O, no connection): the
/// errors [`open`] would give for the URL itself (unknown scheme, a bad
/// `timeout_ms`, a kind of store this build lacks, a Redis URL the client
/// refuses). A manager calls it when it is built; the store is opened later.
pub fn check_url(url: &str) -> Result<(), StoreError> {
    let shown = redact_url(url);
    let fail = |why: &str| StoreError::config(format!("{why} (shared cache URL {shown})"));
    let (base, timeout) = split_timeout(url, DEFAULT_TIMEOUT).map_err(|why| fail(&why))?;
    let scheme = base
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        "memory" => Ok(()),
        "file" => {
            #[cfg(unix)]
            {
                let parsed =
                    url::Url::parse(&base).map_err(|e| fail(&format!("invalid URL: {e}")))?;
                if parsed
                    .host_str()
                    .is_some_and(|h| !h.is_empty() && h != "localhost")
                {
                    return Err(fail(
                        "a file: URL must name a local directory (file:///dir)",
                    ));
                }
                parsed
                    .to_file_path()
                    .map(|_| ())
                    .map_err(|_| fail("a file: URL must name an absolute directory (file:///dir)"))
            }
            #[cfg(not(unix))]
            {
                Err(fail("the file store is only available on unix"))
            }
        }
        "redis" | "rediss" => {
            #[cfg(feature = "redis")]
            {
                RedisStore::open(&base, &shown, timeout)
                    .map(|_| ())
                    .map_err(|e| fail(e.message()))
            }
            #[cfg(not(feature = "redis"))]
            {
                let _ = timeout;
                Err(fail(
                    "this build has no Redis support (build cortiauth with the cargo feature `redis`)",
                ))
            }
        }
        _ => Err(fail(
            "unknown shared cache URL scheme (expected redis://, rediss://, file:/// or memory:)",
        )),
    }
}

/// Removes a `timeout_ms=N` query parameter, returning the URL without it and the timeout.
fn split_timeout(url: &str, default: Duration) -> Result<(String, Duration), String> {
    let (head, fragment) = match url.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (url, None),
    };
    let Some((base, query)) = head.split_once('?') else {
        return Ok((url.to_string(), default));
    };
    let mut timeout = default;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("timeout_ms", v)) => {
                let ms: u64 = v
                    .parse()
                    .ok()
                    .filter(|ms| (1..=60_000).contains(ms))
                    .ok_or_else(|| format!("timeout_ms must be 1..=60000, not {v:?}"))?;
                timeout = Duration::from_millis(ms);
            }
            _ => kept.push(pair),
        }
    }
    let mut out = base.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Ok((out, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_errors_name_the_url_without_its_password() {
        for url in [
            "ftp://:hunter2@host/",
            "redis://:hunter2@host:6379/0?timeout_ms=0",
            "redis://:hunter2@host:6379/0?timeout_ms=abc",
        ] {
            let e = open(url).unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::Config);
            let text = format!("{e} {e:?}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("[REDACTED]"), "{text}");
        }
        let e = open("file://relative/dir").unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Config);
        let e = open("nonsense").unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Config);
        let converted: crate::Error = e.into();
        assert_eq!(converted.kind(), crate::ErrorKind::Config);
    }

    #[cfg(not(feature = "redis"))]
    #[test]
    fn redis_urls_say_the_feature_is_missing() {
        let e = open("redis://:pw@127.0.0.1:1").unwrap_err();
        assert!(e.message().contains("feature `redis`"), "{e}");
        assert!(!e.message().contains("pw@"), "{e}");
    }

    #[test]
    fn timeout_query_parameter() {
        let d = DEFAULT_TIMEOUT;
        assert_eq!(
            split_timeout("redis://h/0?timeout_ms=120", d).unwrap(),
            ("redis://h/0".to_string(), Duration::from_millis(120))
        );
        assert_eq!(
            split_timeout("redis://h/0?a=1&timeout_ms=7&b=2#insecure", d).unwrap(),
            (
                "redis://h/0?a=1&b=2#insecure".to_string(),
                Duration::from_millis(7)
            )
        );
        assert_eq!(
            split_timeout("memory:", d).unwrap(),
            ("memory:".to_string(), d)
        );
        assert!(split_timeout("redis://h?timeout_ms=60001", d).is_err());
    }

    #[test]
    fn memory_urls_share_one_store_per_name() {
        let a = open("memory:fleet-a").unwrap();
        let b = open("memory:fleet-a").unwrap();
        let c = open("memory:fleet-c").unwrap();
        a.write("00", b"v", Duration::from_secs(5)).unwrap();
        assert_eq!(b.read("00").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(c.read("00").unwrap(), None);
        assert_eq!(a.describe(), "memory:fleet-a");
    }
}
