//! The fleet store: Redis (or Valkey).
//!
//! - keys `cortiauth:v1:{id}:token` (the sealed value, `PX` = time to expiry)
//!   and `cortiauth:v1:{id}:lock` (the owner, `SET NX PX`);
//! - reads are one Lua script ([`PEEK`]) that returns the value *and* its
//!   `PTTL` (the store's clock, which writer and reader share), and the lock's
//!   value and `PTTL`, atomically; values longer than the largest envelope, or
//!   of another type, are never sent (a marker that does not open comes back);
//! - release = a Lua compare-and-delete, so an expired lock taken over by
//!   another process is never deleted by its former holder;
//! - **every command runs under one wall-clock deadline** (the store's
//!   timeout, 50 ms by default; a new connection gets one more for connecting
//!   and authenticating) and reads no more than a size budget. The `redis`
//!   crate parses the URL, encodes commands and decodes replies; this module
//!   owns the socket, because the crate's sync connection bounds each `read()`
//!   only: a server dripping a byte every 25 ms held a 50 ms command for 20 s;
//! - connections are pooled (taken out while in use, so no lock is held during
//!   I/O); after a connection-level error the pool is dropped and the store
//!   answers `Unavailable` at once for [`RECONNECT_AFTER`], then connects again.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redis::{Client, ConnectionAddr, ConnectionInfo, FromRedisValue, RedisError, Value};

use super::envelope::MAX_VALUE_LEN;
use super::{Entry, Holder, StoreError, StoreErrorKind, TokenStore, Waited, MAX_LOCK_LEN};

/// How long the store stays quiet after a connection-level error before it
/// tries to connect again.
pub const RECONNECT_AFTER: Duration = Duration::from_millis(500);
const MAX_IDLE: usize = 8;
/// The most a reply may be: a value, a lock and the framing around them.
const REPLY_BUDGET: usize = MAX_VALUE_LEN + MAX_LOCK_LEN + 256;
/// `peek(key, max)`: the key's value (or `!`, which does not open, when it is
/// longer than `max` or not a string; `""` when missing) and its `PTTL`.
const PEEK_FN: &str = "
local function peek(key, max)
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'none' then return '', -2 end
  local ttl = redis.call('PTTL', key)
  if kind ~= 'string' or redis.call('STRLEN', key) > max then return '!', ttl end
  return redis.call('GET', key), ttl
end
";

/// KEYS: token, lock. ARGV: max value length, max lock length.
/// Returns {value, value PTTL, lock, lock PTTL}.
const PEEK: &str = "
local v, vt = peek(KEYS[1], tonumber(ARGV[1]))
local l, lt = peek(KEYS[2], tonumber(ARGV[2]))
return {v, vt, l, lt}
";

/// KEYS: lock. ARGV: owner, TTL in ms, max lock length.
/// Returns {1, '', 0} when taken, else {0, holder, holder's PTTL}.
const LOCK: &str = "
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, '', 0} end
local l, lt = peek(KEYS[1], tonumber(ARGV[3]))
return {0, l, lt}
";

const UNLOCK: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// A [`TokenStore`] on a Redis server (`redis://`, `rediss://`). Cargo feature `redis`.
pub struct RedisStore {
    info: ConnectionInfo,
    shown: String,
    password: Option<String>,
    timeout: Duration,
    idle: Mutex<Vec<Conn>>,
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

/// A `PTTL` answer: `None` for -1 (no expiry) and -2 (gone).
fn pttl(ms: i64) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// The socket under a deadline and a byte budget: every read and write waits
/// at most until the deadline, and reads stop at the budget.
struct Bounded {
    sock: TcpStream,
    deadline: Instant,
    budget: usize,
}

impl Bounded {
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
        }
        Ok(left)
    }
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "reply too large",
            ));
        }
        self.sock.set_read_timeout(Some(self.left()?))?;
        let cap = buf.len().min(self.budget);
        let n = self.sock.read(&mut buf[..cap]).map_err(timed_out)?;
        self.budget -= n;
        Ok(n)
    }
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.set_write_timeout(Some(self.left()?))?;
        self.sock.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A socket timeout is `WouldBlock` on Linux: say what it means.
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "deadline passed")
    } else {
        e
    }
}

enum Stream {
    Plain(Bounded),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Bounded>>),
}

impl Stream {
    fn bounds(&mut self) -> &mut Bounded {
        match self {
            Stream::Plain(b) => b,
            Stream::Tls(t) => &mut t.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(b) => b.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(b) => b.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(b) => b.flush(),
            Stream::Tls(t) => t.flush(),
        }
    }
}

/// Why a command failed: the deadline, the size budget, or what Redis or the
/// socket said.
enum Failure {
    Deadline,
    TooLarge,
    Redis(RedisError),
}

impl From<RedisError> for Failure {
    fn from(e: RedisError) -> Failure {
        Failure::Redis(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Redis(e.into())
    }
}

/// One connection: the bounded stream and the crate's reply parser.
struct Conn {
    stream: Stream,
    parser: redis::Parser,
}

impl Conn {
    /// Sends `cmd` and reads its reply, all before `deadline`, reading at most `budget` bytes.
    fn call(
        &mut self,
        cmd: &redis::Cmd,
        deadline: Instant,
        budget: usize,
    ) -> Result<Value, Failure> {
        let bounds = self.stream.bounds();
        bounds.deadline = deadline;
        bounds.budget = budget;
        let outcome = (|| {
            self.stream.write_all(&cmd.get_packed_command())?;
            self.stream.flush()?;
            let value = self.parser.parse_value(&mut self.stream)?;
            value.extract_error()
        })();
        outcome.map_err(|e| {
            let bounds = self.stream.bounds();
            if Instant::now() >= bounds.deadline {
                Failure::Deadline
            } else if bounds.budget == 0 {
                Failure::TooLarge
            } else {
                Failure::Redis(e)
            }
        })
    }
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
        let info = client.get_connection_info().clone();
        match &info.addr {
            ConnectionAddr::Tcp(..)
            | ConnectionAddr::TcpTls {
                insecure: false, ..
            } => {}
            ConnectionAddr::TcpTls { insecure: true, .. } => {
                return Err(StoreError::config(
                    "rediss://…#insecure (no certificate check) is not supported: add the \
                     server's CA to the system's trust store",
                ))
            }
            _ => {
                return Err(StoreError::config(
                    "only redis:// and rediss:// over TCP are supported",
                ))
            }
        }
        let password = info.redis.password.clone();
        Ok(RedisStore {
            info,
            shown: shown.to_string(),
            password: password.filter(|p| !p.is_empty()),
            timeout,
            idle: Mutex::new(Vec::new()),
            quiet_until: Mutex::new(None),
        })
    }

    fn scrub(&self, mut message: String) -> String {
        if let Some(p) = &self.password {
            message = message.replace(p.as_str(), "[REDACTED]");
        }
        message
    }

    fn map_failure(&self, what: &str, f: Failure) -> StoreError {
        match f {
            Failure::Deadline => StoreError::new(
                StoreErrorKind::Timeout,
                format!(
                    "{what} on {}: no complete answer within {:?}",
                    self.shown, self.timeout
                ),
            ),
            Failure::TooLarge => StoreError::new(
                StoreErrorKind::Protocol,
                format!(
                    "{what} on {}: the answer is larger than {REPLY_BUDGET} bytes",
                    self.shown
                ),
            ),
            Failure::Redis(e) => {
                let kind = if e.is_timeout() {
                    StoreErrorKind::Timeout
                } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped()
                {
                    StoreErrorKind::Unavailable
                } else {
                    StoreErrorKind::Protocol
                };
                StoreError::new(kind, self.scrub(format!("{what} on {}: {e}", self.shown)))
            }
        }
    }

    /// A new connection: TCP (and TLS) connect, `AUTH` and `SELECT`, all
    /// within one timeout of its own.
    fn connect(&self) -> Result<Conn, Failure> {
        let deadline = Instant::now() + self.timeout;
        let (host, port, tls) = match &self.info.addr {
            ConnectionAddr::Tcp(host, port) => (host, *port, false),
            ConnectionAddr::TcpTls { host, port, .. } => (host, *port, true),
            _ => unreachable!("refused by open"),
        };
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
        let mut sock = None;
        for addr in (host.as_str(), port).to_socket_addrs()? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Deadline);
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    sock = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let sock = sock.ok_or(last)?;
        sock.set_nodelay(true)?;
        let bounded = Bounded {
            sock,
            deadline,
            budget: 0,
        };
        let stream = if tls {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let session = rustls::ClientConnection::new(crate::transport::plain_tls_config(), name)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            Stream::Tls(Box::new(rustls::StreamOwned::new(session, bounded)))
        } else {
            Stream::Plain(bounded)
        };
        let mut conn = Conn {
            stream,
            parser: redis::Parser::new(),
        };
        let redis = &self.info.redis;
        if let Some(password) = &redis.password {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = &redis.username {
                auth.arg(user);
            }
            auth.arg(password);
            conn.call(&auth, deadline, 4096)?;
        }
        if redis.db != 0 {
            conn.call(redis::cmd("SELECT").arg(redis.db), deadline, 4096)?;
        }
        Ok(conn)
    }

    fn connection(&self) -> Result<Conn, StoreError> {
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
        self.connect().map_err(|f| {
            self.went_quiet();
            self.map_failure("connect", f)
        })
    }

    fn went_quiet(&self) {
        guard(&self.idle).clear();
        *guard(&self.quiet_until) = Some(Instant::now() + RECONNECT_AFTER);
    }

    /// Runs one command on a pooled connection within one timeout; a failed
    /// connection is dropped (its state is unknown), and anything but a
    /// server's error answer makes the store quiet for a while.
    fn run<T: FromRedisValue>(&self, what: &str, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut c = self.connection()?;
        let deadline = Instant::now() + self.timeout;
        let reply = c
            .call(cmd, deadline, REPLY_BUDGET)
            .and_then(|v| T::from_redis_value(&v).map_err(Failure::Redis));
        match reply {
            Ok(v) => {
                let mut idle = guard(&self.idle);
                if idle.len() < MAX_IDLE {
                    idle.push(c);
                }
                Ok(v)
            }
            Err(f) => {
                let err = self.map_failure(what, f);
                if err.kind() != StoreErrorKind::Protocol {
                    self.went_quiet();
                }
                Err(err)
            }
        }
    }

    fn script(body: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(format!("{PEEK_FN}{body}"));
        cmd
    }

    /// The value and the lock of a slot, with their TTLs, in one round trip.
    fn peek(&self, id: &str) -> Result<(Option<Entry>, Option<Holder>), StoreError> {
        let mut cmd = Self::script(PEEK);
        cmd.arg(2)
            .arg(Self::token_key(id))
            .arg(Self::lock_key(id))
            .arg(MAX_VALUE_LEN)
            .arg(MAX_LOCK_LEN);
        let (value, value_ttl, lock, lock_ttl): (Vec<u8>, i64, Vec<u8>, i64) =
            self.run("read", &cmd)?;
        let entry = (value_ttl != -2).then(|| Entry {
            value,
            // No expiry: not one of ours (we always set one); never usable.
            ttl: pttl(value_ttl).unwrap_or(Duration::ZERO),
        });
        let holder = (lock_ttl != -2).then(|| Holder::Value {
            owner: lock,
            ttl: pttl(lock_ttl),
        });
        Ok((entry, holder))
    }

    fn token_key(id: &str) -> String {
        format!("cortiauth:v1:{id}:token")
    }

    fn lock_key(id: &str) -> String {
        format!("cortiauth:v1:{id}:lock")
    }
}

impl TokenStore for RedisStore {
    fn read_entry(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.peek(id)?.0)
    }

    fn write(&self, id: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(Self::token_key(id))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl));
        self.run("SET", &cmd)
    }

    fn lock(&self, id: &str, owner: &str, ttl: Duration) -> Result<Option<Holder>, StoreError> {
        let mut cmd = Self::script(LOCK);
        cmd.arg(1)
            .arg(Self::lock_key(id))
            .arg(owner)
            .arg(millis(ttl))
            .arg(MAX_LOCK_LEN);
        let (taken, holder, holder_ttl): (i64, Vec<u8>, i64) = self.run("lock", &cmd)?;
        Ok((taken != 1).then(|| Holder::Value {
            owner: holder,
            ttl: pttl(holder_ttl),
        }))
    }

    fn unlock(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(UNLOCK).arg(1).arg(Self::lock_key(id)).arg(owner);
        let deleted: i64 = self.run("unlock", &cmd)?;
        Ok(deleted == 1)
    }

    fn holder(&self, id: &str) -> Result<Option<Holder>, StoreError> {
        Ok(self.peek(id)?.1)
    }

    /// Polls with one [`PEEK`] per round (atomic: a holder that wrote and
    /// unlocked between two reads cannot be mistaken for one that gave up).
    fn wait(
        &self,
        id: &str,
        previous: Option<&[u8]>,
        timeout: Duration,
        trusted: &dyn Fn(&Holder) -> bool,
    ) -> Result<Waited, StoreError> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            let (entry, holder) = self.peek(id)?;
            if let Some(e) = entry.filter(|e| Some(e.value.as_slice()) != previous) {
                return Ok(Waited::Value(e));
            }
            match holder {
                None => return Ok(Waited::Unlocked),
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

    fn describe(&self) -> String {
        self.shown.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::open;
    use super::*;
    use crate::redact::redact_url;

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
        let port = cortiauth_stub::closed_port();
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

    /// A loopback "Redis" (the stub's raw TCP server) that reads a command, then
    /// answers with `answer`: each chunk after a pause. For faults a real server
    /// does not produce.
    fn misbehaving_server(answer: Vec<(Duration, Vec<u8>)>) -> cortiauth_stub::tcp::RawServer {
        cortiauth_stub::tcp::RawServer::start(cortiauth_stub::tcp::RawScript {
            read_first: true,
            chunks: answer,
            repeat: None,
            once: true,
        })
    }

    fn store_on(port: u16, budget: Duration) -> RedisStore {
        RedisStore::open(&format!("redis://127.0.0.1:{port}/0"), "shown", budget).unwrap()
    }

    #[test]
    fn a_dripping_server_is_cut_off_at_the_deadline() {
        // A reply that would be complete after 400 bytes × 25 ms = 10 s.
        let mut drip = vec![(Duration::ZERO, b"$400\r\n".to_vec())];
        drip.extend((0..400).map(|_| (Duration::from_millis(25), b"x".to_vec())));
        let server = misbehaving_server(drip);
        let s = store_on(server.port(), Duration::from_millis(50));
        let t0 = Instant::now();
        let e = s.read_entry("00").unwrap_err();
        let took = t0.elapsed();
        assert_eq!(e.kind(), StoreErrorKind::Timeout, "{e}");
        // One timeout for the command (connecting is quick on loopback), with slack for a busy machine.
        assert!(took < Duration::from_millis(500), "{took:?}");
        assert!(took >= Duration::from_millis(50), "{took:?}");
    }

    #[test]
    fn a_reply_past_the_budget_is_not_read() {
        // A 64 MB bulk string, sent as fast as the socket takes it.
        let mut huge = vec![(Duration::ZERO, b"*4\r\n$67108864\r\n".to_vec())];
        huge.extend((0..1024).map(|_| (Duration::ZERO, vec![b'x'; 65536])));
        let server = misbehaving_server(huge);
        let s = RedisStore::open(
            &format!("redis://127.0.0.1:{}/0", server.port()),
            "shown",
            Duration::from_secs(5),
        )
        .unwrap();
        let e = s.read_entry("00").unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Protocol, "{e}");
        assert!(e.message().contains("larger than"), "{e}");
    }

    #[test]
    fn garbage_answers_are_protocol_errors() {
        let server = misbehaving_server(vec![(
            Duration::ZERO,
            b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
        )]);
        // The answer comes at once: a budget a loaded machine never runs out of
        // (50 ms did, once, with three test binaries at a time).
        let s = store_on(server.port(), Duration::from_secs(2));
        let e = s.read_entry("00").unwrap_err();
        assert!(
            matches!(
                e.kind(),
                StoreErrorKind::Protocol | StoreErrorKind::Unavailable
            ),
            "{e}"
        );
    }
}
