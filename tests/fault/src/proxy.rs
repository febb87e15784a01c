//! A fault-injecting HTTP/1.1 proxy on loopback, between a token manager and
//! Keycloak, so that network faults happen exactly when and as often as a test says.
//!
//! Every connection carries one request: the proxy reads it, decides what to do
//! (a one-shot fault from the queue, a timed window of error answers, or plain
//! forwarding), sends it upstream with `Connection: close`, and answers with
//! `Connection: close` so the client never reuses a connection. It counts and
//! timestamps every request it received, with what it did to it.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What the proxy does to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status itself (Keycloak never sees the request).
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Forward, then send the answer's head at once and its body one byte per interval.
    SlowDrip { interval: Duration },
    /// Forward, send the head and half the body, then reset the connection (RST).
    ResetMidBody,
    /// Forward, then hold the answer this long before sending it.
    Delay(Duration),
}

/// What happened to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded; upstream answered this status and the client got all of it.
    Forwarded { status: u16 },
    /// Forwarded, but the client went away before it got the answer (it timed out).
    ClientGone,
    /// Upstream refused or could not be reached: the client's connection was reset.
    UpstreamDown,
    /// Upstream accepted the request but did not answer in time (frozen): reset.
    UpstreamSilent,
    /// Answered by the proxy itself.
    Injected { status: u16 },
    /// Forwarded, answer dripped (the client normally gives up first).
    Dripped,
    /// Forwarded, connection reset in the middle of the body.
    ResetMidBody,
}

impl Outcome {
    /// The client got a complete 200.
    pub fn is_success(&self) -> bool {
        *self == Outcome::Forwarded { status: 200 }
    }
}

#[derive(Clone, Debug)]
pub struct Record {
    /// When the request's head and body had arrived.
    pub at: Instant,
    /// When the proxy was done with it.
    pub done: Instant,
    pub outcome: Outcome,
}

struct State {
    upstream: SocketAddr,
    queue: VecDeque<Fault>,
    /// Answer with these statuses in turn until the instant passes.
    window: Option<(Instant, Vec<Fault>, usize)>,
    /// Requests received (counted when their body has arrived).
    received: usize,
    records: Vec<Record>,
    connections: usize,
}

struct Inner {
    state: Mutex<State>,
    changed: Condvar,
}

/// A running proxy; it stops accepting when dropped (threads finish on their own).
#[derive(Clone)]
pub struct Proxy {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `http://127.0.0.1:8080/…` or `127.0.0.1:8080` to a socket address.
pub fn socket_addr(url: &str) -> SocketAddr {
    let rest = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    rest.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("not a loopback http address: {url}"))
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy on loopback");
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                upstream,
                queue: VecDeque::new(),
                window: None,
                received: 0,
                records: Vec::new(),
                connections: 0,
            }),
            changed: Condvar::new(),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    let Some(inner) = weak.upgrade() else { return };
                    let Ok(conn) = conn else { continue };
                    lock(&inner.state).connections += 1;
                    std::thread::spawn(move || handle(&inner, conn));
                }
            })
            .unwrap();
        Proxy { addr, inner }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// This proxy's URL for an upstream URL's path (`…/realms/base/…/token`).
    pub fn url_for(&self, upstream_url: &str) -> String {
        let path = upstream_url
            .trim_start_matches("http://")
            .split_once('/')
            .map(|(_, p)| p)
            .unwrap_or("");
        format!("http://{}/{path}", self.addr)
    }

    pub fn set_upstream(&self, upstream: SocketAddr) {
        lock(&self.inner.state).upstream = upstream;
    }

    /// Applies `fault` to the next request that arrives (queued after earlier ones).
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.inner.state).queue.push_back(fault);
    }

    /// Answers every request with `faults` in turn until `until`.
    pub fn fail_until(&self, until: Instant, faults: Vec<Fault>) {
        lock(&self.inner.state).window = Some((until, faults, 0));
    }

    pub fn received(&self) -> usize {
        lock(&self.inner.state).received
    }

    pub fn connections(&self) -> usize {
        lock(&self.inner.state).connections
    }

    /// Completed requests, in the order they arrived.
    pub fn records(&self) -> Vec<Record> {
        let mut r = lock(&self.inner.state).records.clone();
        r.sort_by_key(|r| r.at);
        r
    }

    /// Waits until `n` requests have arrived; false after `timeout`.
    pub fn wait_received(&self, n: usize, timeout: Duration) -> bool {
        let state = lock(&self.inner.state);
        let (state, _) = self
            .inner
            .changed
            .wait_timeout_while(state, timeout, |s| s.received < n)
            .unwrap_or_else(PoisonError::into_inner);
        state.received >= n
    }

    /// Waits until `n` requests are completed; false after `timeout`.
    pub fn wait_completed(&self, n: usize, timeout: Duration) -> bool {
        let state = lock(&self.inner.state);
        let (state, _) = self
            .inner
            .changed
            .wait_timeout_while(state, timeout, |s| s.records.len() < n)
            .unwrap_or_else(PoisonError::into_inner);
        state.records.len() >= n
    }
}

/// Closes with RST instead of FIN (SO_LINGER 0), like a crashed peer.
fn reset(conn: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(conn);
}

/// The client closed its connection (it gave up waiting): it never half-closes first.
fn client_gone(conn: &TcpStream) -> bool {
    let _ = conn.set_nonblocking(true);
    let mut b = [0u8; 1];
    let gone = match conn.peek(&mut b) {
        Ok(n) => n == 0,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    let _ = conn.set_nonblocking(false);
    gone
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request (head and Content-Length body). None if the client closed first.
fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// The head with any `Connection`/`Keep-Alive` header replaced by `Connection: close`.
fn close_head(head: &str) -> String {
    let mut out: Vec<&str> = head
        .split("\r\n")
        .filter(|l| {
            let name = l.split(':').next().unwrap_or("").trim();
            !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive")
        })
        .collect();
    out.push("Connection: close");
    out.join("\r\n") + "\r\n\r\n"
}

fn reason(status: u16) -> &'static str {
    match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn handle(inner: &Inner, mut conn: TcpStream) {
    let Some((head, body)) = read_request(&mut conn) else {
        return;
    };
    let at = Instant::now();
    let (fault, upstream) = {
        let mut s = lock(&inner.state);
        s.received += 1;
        let fault = match s.queue.pop_front() {
            Some(f) => Some(f),
            None => match &mut s.window {
                Some((until, faults, next)) if at < *until => {
                    let f = faults[*next % faults.len()].clone();
                    *next += 1;
                    Some(f)
                }
                _ => None,
            },
        };
        (fault, s.upstream)
    };
    inner.changed.notify_all();
    let outcome = serve(&mut conn, &head, &body, fault, upstream);
    match outcome {
        Outcome::UpstreamDown | Outcome::UpstreamSilent | Outcome::ResetMidBody => reset(conn),
        _ => {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
    lock(&inner.state).records.push(Record {
        at,
        done: Instant::now(),
        outcome,
    });
    inner.changed.notify_all();
}

fn serve(
    conn: &mut TcpStream,
    head: &str,
    body: &[u8],
    fault: Option<Fault>,
    upstream: SocketAddr,
) -> Outcome {
    if let Some(Fault::Status {
        status,
        retry_after,
    }) = fault
    {
        let text = reason(status);
        let mut answer = format!("HTTP/1.1 {status} {text}\r\nContent-Type: text/plain\r\n");
        if let Some(s) = retry_after {
            answer.push_str(&format!("Retry-After: {s}\r\n"));
        }
        answer.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        ));
        let _ = conn.write_all(answer.as_bytes());
        return Outcome::Injected { status };
    }

    let Ok(mut up) = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) else {
        return Outcome::UpstreamDown;
    };
    // A frozen Keycloak still accepts connections (the kernel does), then says nothing.
    let _ = up.set_read_timeout(Some(Duration::from_secs(20)));
    let mut request = close_head(head).into_bytes();
    request.extend_from_slice(body);
    if up.write_all(&request).is_err() {
        return Outcome::UpstreamDown;
    }
    let mut answer = Vec::new();
    if let Err(e) = up.read_to_end(&mut answer) {
        if answer.is_empty() {
            return if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                Outcome::UpstreamSilent
            } else {
                Outcome::UpstreamDown
            };
        }
    }
    let Some(head_end) = find(&answer, b"\r\n\r\n") else {
        return Outcome::UpstreamDown;
    };
    let up_head = String::from_utf8_lossy(&answer[..head_end]).into_owned();
    let status = up_head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let out_head = close_head(&up_head).into_bytes();
    let out_body = &answer[head_end + 4..];

    match fault {
        Some(Fault::SlowDrip { interval }) => {
            if conn.write_all(&out_head).is_err() {
                return Outcome::Dripped;
            }
            for b in out_body {
                std::thread::sleep(interval);
                if conn.write_all(std::slice::from_ref(b)).is_err() {
                    break;
                }
            }
            Outcome::Dripped
        }
        Some(Fault::ResetMidBody) => {
            let _ = conn.write_all(&out_head);
            let _ = conn.write_all(&out_body[..out_body.len() / 2]);
            let _ = conn.flush();
            Outcome::ResetMidBody
        }
        other => {
            if let Some(Fault::Delay(d)) = other {
                std::thread::sleep(d);
            }
            if client_gone(conn) {
                return Outcome::ClientGone;
            }
            let mut all = out_head;
            all.extend_from_slice(out_body);
            if conn.write_all(&all).is_err() {
                return Outcome::ClientGone;
            }
            // The client has it all once it closes its side (after Connection: close).
            let _ = conn.shutdown(Shutdown::Write);
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut rest = [0u8; 64];
            // Whatever it reads (normally 0 bytes: EOF), a clean close means delivered.
            match conn.read(&mut rest) {
                Ok(_n) => Outcome::Forwarded { status },
                Err(_) => Outcome::ClientGone,
            }
        }
    }
}
