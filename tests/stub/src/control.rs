//! The control API: how Python, Node, C and shell scripts create scenarios and read
//! their logs over HTTP (the routes are listed in tests/stub/README.md).

use std::collections::HashMap;
use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http::{read_request, write_response, Request};
use crate::scenario::Scenario;
use crate::script::Step;

/// The stub server: a control listener that starts and stops scenarios.
pub struct Stub {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

#[derive(Default)]
struct Registry {
    next: AtomicU64,
    scenarios: Mutex<HashMap<u64, Arc<Scenario>>>,
}

impl Stub {
    /// Starts the control listener on `bind` (`127.0.0.1:0` for any free port).
    pub fn start(bind: &str) -> std::io::Result<Stub> {
        let listener = crate::tcp::listen(bind)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let registry = Arc::new(Registry::default());
        let flag = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let registry = registry.clone();
                std::thread::spawn(move || serve(conn, &registry));
            }
        });
        Ok(Stub { addr, stop })
    }

    /// `http://127.0.0.1:PORT`: what `CORTIAUTH_STUB_URL` holds.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: TcpStream, registry: &Registry) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut conn = conn;
    while let Ok(request) = read_request(&mut reader, None, || 0) {
        let (status, body) = route(&request, registry);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let headers = [("content-type".to_string(), "application/json".to_string())];
        let close = request.wants_close();
        if write_response(&mut conn, status, &headers, body.as_bytes(), close).is_err() || close {
            return;
        }
    }
}

type Answer = (u16, Option<Value>);

fn error(status: u16, message: impl std::fmt::Display) -> Answer {
    (status, Some(json!({ "error": message.to_string() })))
}

fn route(request: &Request, registry: &Registry) -> Answer {
    let path = request.path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let query = query(&request.target);
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["health"]) => (200, Some(json!({"ok": true}))),
        ("POST", ["scenarios"]) => create(request, registry),
        (method, ["scenarios", id, rest @ ..]) => {
            let Some(id) = id.parse::<u64>().ok() else {
                return error(404, "no such scenario");
            };
            let found = registry.scenarios.lock().unwrap().get(&id).cloned();
            let Some(scenario) = found else {
                return error(404, format!("no scenario {id}"));
            };
            match (method, rest) {
                ("GET", []) => (200, Some(scenario.to_json())),
                ("DELETE", []) => {
                    scenario.stop();
                    registry.scenarios.lock().unwrap().remove(&id);
                    (204, None)
                }
                ("POST", ["release"]) => {
                    scenario.release();
                    (204, None)
                }
                ("PUT", ["steps"]) => match steps(request) {
                    Ok((steps, _)) => {
                        scenario.set_steps(steps);
                        (204, None)
                    }
                    Err(e) => error(400, e),
                },
                ("GET", ["wait"]) => wait(&scenario, &query),
                _ => error(404, "no such route"),
            }
        }
        _ => error(404, "no such route"),
    }
}

fn create(request: &Request, registry: &Registry) -> Answer {
    let (steps, body) = match steps(request) {
        Ok(parsed) => parsed,
        Err(e) => return error(400, e),
    };
    let idle = body
        .get("idle_close_ms")
        .and_then(Value::as_u64)
        .map(Duration::from_millis);
    let scenario = Arc::new(Scenario::start_with(steps, idle));
    let id = registry.next.fetch_add(1, Ordering::SeqCst) + 1;
    let answer = json!({
        "id": id,
        "url": scenario.url(),
        "token_url": scenario.token_url(),
    });
    registry.scenarios.lock().unwrap().insert(id, scenario);
    (201, Some(answer))
}

/// The `steps` of a JSON body (`{"steps": [...]}`), and the body.
fn steps(request: &Request) -> Result<(Vec<Step>, Value), String> {
    let body: Value = if request.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&request.body).map_err(|e| format!("the body is not JSON: {e}"))?
    };
    let steps = match body.get("steps") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, s)| Step::from_json(s).map_err(|e| format!("step {i}: {e}")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("steps is a list".into()),
    };
    Ok((steps, body))
}

/// `GET /scenarios/{id}/wait?requests=N&abandoned=N&answered=N&timeout_ms=T`: answers
/// when every given counter has reached its value (200), or at the timeout (408).
fn wait(scenario: &Scenario, query: &HashMap<String, String>) -> Answer {
    let at_least = |k: &str| query.get(k).and_then(|v| v.parse::<usize>().ok());
    let (requests, answered, abandoned, idle_closed) = (
        at_least("requests"),
        at_least("answered"),
        at_least("abandoned"),
        at_least("idle_closed"),
    );
    let timeout = Duration::from_millis(
        query
            .get("timeout_ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000),
    );
    let started = Instant::now();
    let done = scenario.wait(timeout, |c| {
        requests.map_or(true, |n| c.requests >= n)
            && answered.map_or(true, |n| c.answered >= n)
            && abandoned.map_or(true, |n| c.abandoned >= n)
            && idle_closed.map_or(true, |n| c.idle_closed >= n)
    });
    let mut answer = scenario.to_json();
    answer["waited_ms"] = (started.elapsed().as_millis() as u64).into();
    (if done { 200 } else { 408 }, Some(answer))
}

fn query(target: &str) -> HashMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}
