//! Test support: a loopback stub token endpoint (wiremock) for the faults a real
//! server will not produce on demand, and a logger that records every log line
//! so tests can check that no secret is ever logged.
#![allow(dead_code)]

pub mod keycloak_admin;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cortiauth::{Config, ConfigBuilder, RetryPolicy};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Request, Respond, ResponseTemplate};

pub const SECRET: &str = "stub-client-secret-Zq9x";

/// A wiremock server on loopback, driven from plain (blocking) test code.
pub struct Stub {
    pub rt: tokio::runtime::Runtime,
    pub server: wiremock::MockServer,
}

impl Stub {
    pub fn start() -> Stub {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(wiremock::MockServer::start());
        Stub { rt, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.uri())
    }

    pub fn mount(&self, mock: wiremock::Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    pub fn reset(&self) {
        self.rt.block_on(self.server.reset());
    }

    pub fn requests(&self) -> Vec<Request> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
    }

    /// A config for this stub's `/token`, with fast retries for tests.
    pub fn config(&self) -> ConfigBuilder {
        Config::builder()
            .client_id("stub-client")
            .client_secret(SECRET)
            .token_url(self.url("/token"))
            .timeout(Duration::from_secs(5))
            .retry_policy(fast_retries())
    }
}

/// The token endpoint mock (`POST /token`) answering with `r`.
pub fn token_mock(r: impl Respond + 'static) -> wiremock::Mock {
    wiremock::Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(r)
}

/// A token endpoint mock for requests whose body contains `needle`.
pub fn token_mock_for(needle: &str, r: impl Respond + 'static) -> wiremock::Mock {
    wiremock::Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(needle))
        .respond_with(r)
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        deadline: Duration::from_secs(10),
        failure_cooldown: Duration::ZERO,
    }
}

/// Answers with a new token each time: `tok-1`, `tok-2`, … with the given lifetime.
#[derive(Clone)]
pub struct Counting {
    pub n: Arc<AtomicUsize>,
    pub expires_in: f64,
    pub delay: Duration,
    pub extra: serde_json::Value,
}

impl Counting {
    pub fn new(expires_in: f64) -> Counting {
        Counting {
            n: Arc::new(AtomicUsize::new(0)),
            expires_in,
            delay: Duration::ZERO,
            extra: serde_json::json!({}),
        }
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
    pub fn extra(mut self, v: serde_json::Value) -> Self {
        self.extra = v;
        self
    }
    pub fn count(&self) -> usize {
        self.n.load(Ordering::SeqCst)
    }
}

impl Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.n.fetch_add(1, Ordering::SeqCst) + 1;
        let mut body = serde_json::json!({
            "access_token": format!("tok-{i}"),
            "expires_in": self.expires_in,
            "token_type": "Bearer",
            "scope": "openid",
        });
        for (k, v) in self.extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(self.delay)
    }
}

/// The form fields of a recorded request.
pub fn form(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

pub fn field(req: &Request, name: &str) -> Option<String> {
    form(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Every log line of this test binary, for secret checks.
pub fn logs() -> &'static Mutex<Vec<String>> {
    static LOGS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LOGS.get_or_init(Default::default)
}

struct Recorder;
impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        logs()
            .lock()
            .unwrap()
            .push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

pub fn record_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        log::set_logger(&Recorder).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// Fails if any of `secrets` appears in `text`.
pub fn assert_no_secret(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "secret {s:?} leaked into: {text}");
    }
}

/// Polls `cond` every 5 ms for up to `limit` (for effects with no signal a
/// test can wait on, such as a refresh finishing on the manager's worker).
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits up to `limit` for the forked child `pid` and returns its wait status.
/// A child still running then is stuck (a lock held at the fork, a request that
/// never ends): its threads' stacks are put in the panic message (gdb when
/// installed, else the kernel's wait channels), then it is killed.
#[cfg(unix)]
pub fn wait_for_child(pid: libc::pid_t, limit: Duration) -> libc::c_int {
    let end = std::time::Instant::now() + limit;
    let mut status = 0;
    loop {
        // SAFETY: waitpid(2) on our own child, non-blocking.
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            return status;
        }
        if std::time::Instant::now() >= end {
            break;
        }
        // No signal reaches this thread when a child exits (SIGCHLD goes to any
        // thread of the test binary): poll.
        std::thread::sleep(Duration::from_millis(10));
    }
    let stacks = child_stacks(pid);
    // SAFETY: our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
    panic!("the forked child was still running after {limit:?}; its threads:\n{stacks}");
}

#[cfg(unix)]
fn child_stacks(pid: libc::pid_t) -> String {
    let gdb = std::process::Command::new("gdb")
        .args([
            "-p",
            &pid.to_string(),
            "-batch",
            "-nx",
            "-ex",
            "thread apply all bt 30",
        ])
        .stdin(std::process::Stdio::null())
        .output();
    if let Ok(out) = gdb {
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains("Thread") {
            return text.into_owned();
        }
    }
    let mut lines = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let read = |f: &str| {
                std::fs::read_to_string(task.path().join(f))
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            lines.push(format!(
                "{} {:?} wchan={} syscall={}",
                task.file_name().to_string_lossy(),
                read("comm"),
                read("wchan"),
                read("syscall")
            ));
        }
    }
    lines.join("\n")
}
