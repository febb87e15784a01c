//! One scenario: a loopback HTTP listener of its own that answers by its script and
//! keeps a log and counters. Plain threads (no async runtime of its own), so it is
//! usable inside a test's runtime, from benchmarks and across `fork`.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::http::{read_request, write_response, ReadEnd, Request};
use crate::script::{render, Answer, ApiCheck, Step};

/// What a scenario has counted so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests received (counted when the whole request has arrived, before the answer).
    pub requests: usize,
    /// Answers written.
    pub answered: usize,
    /// Held requests whose client closed the connection before the release.
    pub abandoned: usize,
    /// Keep-alive connections the scenario closed for idleness.
    pub idle_closed: usize,
    /// Connections accepted.
    pub connections: usize,
}

/// A running scenario; dropping it stops its listener and lets held requests go
/// (their connections are closed without an answer).
pub struct Scenario {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    started: Instant,
    idle_close: Option<Duration>,
    stop: AtomicBool,
}

struct State {
    steps: Vec<Step>,
    step: usize,
    used: u32,
    log: Vec<Request>,
    counts: Counts,
    released: bool,
}

enum Held {
    Released,
    Abandoned,
    Stopped,
}

impl Scenario {
    /// Starts a scenario answering by `steps` (an empty list answers tokens).
    pub fn start(steps: Vec<Step>) -> Scenario {
        Scenario::start_with(steps, None)
    }

    /// Answers every request with a token (`tok-N`) living `expires_in` seconds,
    /// each after `delay`: the plain token endpoint of the tests and benches.
    pub fn tokens(expires_in: f64, delay: std::time::Duration) -> Scenario {
        Scenario::start(vec![Step::token().expires_in(expires_in).delay(delay)])
    }

    /// As [`Scenario::start`], closing keep-alive connections idle for `idle`
    /// (as Node's HTTP server does after 5 s).
    pub fn start_with(steps: Vec<Step>, idle_close: Option<Duration>) -> Scenario {
        let listener = crate::tcp::listen("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                steps,
                step: 0,
                used: 0,
                log: Vec::new(),
                counts: Counts::default(),
                released: false,
            }),
            changed: Condvar::new(),
            started: Instant::now(),
            idle_close,
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                s.lock().counts.connections += 1;
                let s = s.clone();
                std::thread::spawn(move || s.serve(conn));
            }
        });
        Scenario { shared, addr }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.url())
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.counts().requests
    }

    /// Every counter.
    pub fn counts(&self) -> Counts {
        self.shared.lock().counts
    }

    /// Every request received so far, in order.
    pub fn log(&self) -> Vec<Request> {
        self.shared.lock().log.clone()
    }

    /// Lets every held request (and every later one) answer.
    pub fn release(&self) {
        self.shared.lock().released = true;
        self.shared.changed.notify_all();
    }

    /// Replaces the script; the next request gets its first step. Held requests
    /// stay held until [`Scenario::release`].
    pub fn set_steps(&self, steps: Vec<Step>) {
        let mut state = self.shared.lock();
        state.steps = steps;
        state.step = 0;
        state.used = 0;
        state.released = false;
    }

    /// Waits until `done` holds for the counters, or `timeout` passes; says which.
    pub fn wait(&self, timeout: Duration, done: impl Fn(&Counts) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while !done(&state.counts) {
            if self.shared.stop.load(Ordering::SeqCst) {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Waits until `n` requests have arrived (a signal, not a sleep).
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait(timeout, |c| c.requests >= n)
    }

    /// Stops listening; held requests are closed without an answer and waits end.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }

    /// The counters and the log as JSON (what `GET /scenarios/{id}` answers).
    pub fn to_json(&self) -> serde_json::Value {
        let state = self.shared.lock();
        let c = state.counts;
        json!({
            "url": self.url(),
            "token_url": self.token_url(),
            "requests": c.requests,
            "answered": c.answered,
            "abandoned": c.abandoned,
            "idle_closed": c.idle_closed,
            "connections": c.connections,
            "released": state.released,
            "log": state.log.iter().map(Request::to_json).collect::<Vec<_>>(),
        })
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn serve(&self, conn: TcpStream) {
        let _ = conn.set_nodelay(true);
        let Ok(read_half) = conn.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut conn = conn;
        loop {
            let request = match read_request(&mut reader, self.idle_close, || {
                self.started.elapsed().as_millis() as u64
            }) {
                Ok(r) => r,
                Err(ReadEnd::Idle) => {
                    let _ = conn.shutdown(Shutdown::Both);
                    self.lock().counts.idle_closed += 1;
                    self.changed.notify_all();
                    return;
                }
                Err(ReadEnd::Closed) => return,
            };
            let close_after = request.wants_close();
            let (n, step) = self.arrive(&request);
            if step.hold {
                match self.hold(&conn) {
                    Held::Released => {}
                    Held::Abandoned => {
                        self.lock().counts.abandoned += 1;
                        self.changed.notify_all();
                        return;
                    }
                    Held::Stopped => {
                        let _ = conn.shutdown(Shutdown::Both);
                        return;
                    }
                }
            }
            if !step.delay.is_zero() {
                std::thread::sleep(step.delay);
            }
            // A write that fails ends the connection like an answer that closes it.
            let keep_open = self
                .answer(&mut conn, &request, n, &step)
                .unwrap_or_default();
            self.lock().counts.answered += 1;
            self.changed.notify_all();
            if !keep_open || close_after {
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
        }
    }

    /// Logs the request, counts it and takes the step that answers it.
    fn arrive(&self, request: &Request) -> (usize, Step) {
        let mut state = self.lock();
        state.log.push(request.clone());
        state.counts.requests += 1;
        let n = state.counts.requests;
        let step = match state.steps.get(state.step) {
            Some(step) => step.clone(),
            None => Step::token(),
        };
        state.used += 1;
        if state.used >= step.times && state.step + 1 < state.steps.len() {
            state.step += 1;
            state.used = 0;
        }
        drop(state);
        self.changed.notify_all();
        (n, step)
    }

    /// Waits for the release, watching whether the client gives up meanwhile.
    fn hold(&self, conn: &TcpStream) -> Held {
        let mut state = self.lock();
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Held::Stopped;
            }
            if state.released {
                return Held::Released;
            }
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            drop(state);
            if peer_closed(conn) {
                return Held::Abandoned;
            }
            state = self.lock();
        }
    }

    /// Writes the step's answer; says whether the connection may be reused.
    fn answer(
        &self,
        conn: &mut TcpStream,
        request: &Request,
        n: usize,
        step: &Step,
    ) -> std::io::Result<bool> {
        match &step.answer {
            Answer::Token {
                access_token,
                fields,
            } => {
                let mut body = serde_json::Map::new();
                body.insert("access_token".into(), render(access_token, n).into());
                for (k, v) in fields {
                    let v = match v {
                        serde_json::Value::String(s) => render(s, n).into(),
                        other => other.clone(),
                    };
                    body.insert(k.clone(), v);
                }
                let body = serde_json::Value::Object(body).to_string();
                write_response(conn, 200, &step.headers, body.as_bytes(), false)?;
            }
            Answer::Body { status, body } => {
                write_response(conn, *status, &step.headers, body, false)?;
            }
            Answer::Echo { status } => {
                write_response(conn, *status, &step.headers, &request.body, false)?;
            }
            Answer::Raw(chunks) => {
                for (pause, bytes) in chunks {
                    std::thread::sleep(*pause);
                    conn.write_all(bytes)?;
                    conn.flush()?;
                }
                return Ok(false);
            }
            Answer::Close => return Ok(false),
            Answer::Api(check) => {
                let (status, headers, body) = api_answer(check, request);
                let mut all = step.headers.clone();
                all.extend(headers);
                write_response(conn, status, &all, body.as_bytes(), false)?;
            }
        }
        Ok(true)
    }
}

/// Whether the client closed its side (a read would return end of file).
fn peer_closed(conn: &TcpStream) -> bool {
    if conn.set_nonblocking(true).is_err() {
        return true;
    }
    let mut byte = [0u8; 1];
    let closed = matches!(conn.peek(&mut byte), Ok(0))
        || matches!(conn.peek(&mut byte), Err(e) if e.kind() != std::io::ErrorKind::WouldBlock);
    let _ = conn.set_nonblocking(false);
    closed
}

fn api_answer(check: &ApiCheck, request: &Request) -> (u16, Vec<(String, String)>, String) {
    let rejected = (
        401,
        vec![(
            "www-authenticate".to_string(),
            r#"Bearer error="invalid_token""#.to_string(),
        )],
        String::new(),
    );
    let token = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("");
    if check.reject_all || token.is_empty() || check.revoked.iter().any(|r| r == token) {
        return rejected;
    }
    if let Some(tenant) = &check.tenant {
        if request.header("tenant-name") != Some(tenant.as_str()) {
            return (403, Vec::new(), "wrong tenant".into());
        }
    }
    if let Some(userinfo) = &check.userinfo {
        if get_status(userinfo, token) != Some(200) {
            return rejected;
        }
    }
    (
        200,
        vec![("content-type".into(), "application/json".into())],
        r#"{"ok":true}"#.into(),
    )
}

/// The status of a plain-HTTP GET of `url` with the bearer token (Keycloak's
/// userinfo endpoint on loopback checks the token's signature and expiry).
fn get_status(url: &str, token: &str) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut conn = TcpStream::connect(host).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let path = if path.is_empty() { "/" } else { path };
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
