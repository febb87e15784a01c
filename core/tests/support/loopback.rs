//! A tiny loopback token endpoint on plain std threads: usable from inside an
//! async runtime (no runtime of its own to drop) and from benchmarks. Answers
//! every POST with `tok-N`, after an optional delay, and counts requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Loopback {
    pub url: String,
    requests: Arc<AtomicUsize>,
    /// Keep-alive connections closed for idleness (see `start_closing_idle`).
    idle_closed: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// How one connection is served.
#[derive(Clone, Copy)]
struct Serve {
    expires_in: f64,
    delay: Duration,
    first_delay: Duration,
    /// Close a keep-alive connection idle this long (Node's `keepAliveTimeout`).
    idle_close: Option<Duration>,
}

impl Loopback {
    /// Tokens live `expires_in` seconds; each answer takes `delay`.
    pub fn start(expires_in: f64, delay: Duration) -> Loopback {
        Loopback::start_with(expires_in, delay, delay)
    }

    /// As [`Loopback::start`], but the first request takes `first_delay`
    /// (a token request that hangs while its sender is killed).
    pub fn start_with(expires_in: f64, delay: Duration, first_delay: Duration) -> Loopback {
        Loopback::serve(Serve {
            expires_in,
            delay,
            first_delay,
            idle_close: None,
        })
    }

    /// Answers at once, and closes a keep-alive connection left idle for
    /// `idle` (as Node's HTTP server does after 5 s).
    #[allow(dead_code)]
    pub fn start_closing_idle(expires_in: f64, idle: Duration) -> Loopback {
        Loopback::serve(Serve {
            expires_in,
            delay: Duration::ZERO,
            first_delay: Duration::ZERO,
            idle_close: Some(idle),
        })
    }

    fn serve(how: Serve) -> Loopback {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let idle_closed = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, c, s) = (requests.clone(), idle_closed.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (r, c) = (r.clone(), c.clone());
                std::thread::spawn(move || serve(conn, &r, &c, how));
            }
        });
        Loopback {
            url,
            requests,
            idle_closed,
            stop,
        }
    }

    /// Connections the server has closed for idleness so far.
    #[allow(dead_code)]
    pub fn idle_closed(&self) -> usize {
        self.idle_closed.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(
            self.url
                .trim_start_matches("http://")
                .trim_end_matches("/token"),
        );
    }
}

fn serve(conn: TcpStream, requests: &AtomicUsize, idle_closed: &AtomicUsize, how: Serve) {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        // Request line and headers.
        let mut first = true;
        loop {
            line.clear();
            let _ = conn.set_read_timeout(if first { how.idle_close } else { None });
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Err(e)
                    if first
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                {
                    let _ = conn.shutdown(std::net::Shutdown::Both);
                    idle_closed.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                Err(_) => return,
                Ok(_) => {}
            }
            if first {
                first = false;
                continue;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        let (expires_in, delay) = (
            how.expires_in,
            if n == 1 { how.first_delay } else { how.delay },
        );
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let json = format!(
            r#"{{"access_token":"tok-{n}","expires_in":{expires_in},"token_type":"Bearer","scope":"openid"}}"#
        );
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
            json.len()
        );
        if conn.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
