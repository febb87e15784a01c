//! Loopback TCP servers that do not speak HTTP, for the faults of other protocols
//! (a Redis that stalls mid-answer, a port that accepts and never answers).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a raw server does with each connection.
#[derive(Clone, Debug, Default)]
pub struct RawScript {
    /// Read what the client sends first (one read) before answering.
    pub read_first: bool,
    /// Bytes written in order, each after its pause.
    pub chunks: Vec<(Duration, Vec<u8>)>,
    /// Then: write this chunk after every pause until the client goes (`None`: hold
    /// the connection open, reading, until the client goes).
    pub repeat: Option<(Duration, Vec<u8>)>,
    /// Serve only the first connection.
    pub once: bool,
}

/// A running raw server; dropping it stops accepting.
pub struct RawServer {
    port: u16,
    closed: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl RawServer {
    /// Starts serving `script` on a loopback port.
    pub fn start(script: RawScript) -> RawServer {
        let listener = listen("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let closed = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (closed.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (script, c) = (script.clone(), c.clone());
                let once = script.once;
                std::thread::spawn(move || {
                    serve(conn, &script);
                    c.fetch_add(1, Ordering::SeqCst);
                });
                if once {
                    return;
                }
            }
        });
        RawServer { port, closed, stop }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections that ended because the client closed them (or they broke).
    pub fn closed_by_client(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut conn: TcpStream, script: &RawScript) {
    let mut buf = [0u8; 4096];
    if script.read_first && matches!(conn.read(&mut buf), Ok(0) | Err(_)) {
        return;
    }
    for (pause, chunk) in &script.chunks {
        std::thread::sleep(*pause);
        if conn.write_all(chunk).is_err() {
            return;
        }
    }
    match &script.repeat {
        Some((pause, chunk)) => loop {
            std::thread::sleep(*pause);
            if conn.write_all(chunk).is_err() {
                return;
            }
        },
        None => while matches!(conn.read(&mut buf), Ok(n) if n > 0) {},
    }
}

/// A listener on `addr` (`127.0.0.1:0`: any free loopback port). Every listener of
/// the stub (the control API, each scenario, the raw servers) is made here.
pub(crate) fn listen(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// A loopback port where nothing listens (connection refused), free a moment ago.
pub fn closed_port() -> u16 {
    listen("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a loopback port")
}
