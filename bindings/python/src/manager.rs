//! `cortiauth._native.TokenManager`, the base class of `cortiauth.TokenManager`.
//!
//! Every method first asks the core for a usable token without waiting
//! (`try_token()`: no I/O, never blocks; in the refresh window it starts the
//! refresh on the core's worker thread and hands out the current token) with
//! the GIL held; only when there is none does it release the GIL
//! (`Python::detach`) and call `token()`, which may send the request or wait
//! for another thread's. So Python threads never wait on each other's network
//! calls, no caller waits during a refresh ahead, and the cached path costs no
//! GIL round trip.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::Poll;

use cortiauth::{AccessToken, TokenManager};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::convert::settings;
use crate::errors::to_py_err;
use crate::token::PyToken;

/// `cortiauth._manager._settle`, imported on the first async fetch.
static SETTLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `json.loads`, imported on the first `describe()`.
static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `cortiauth._events._deliver`, imported on the first event.
static DELIVER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Set by `_stop_events()` (an `atexit` hook of `cortiauth._events`): from then
/// on the worker thread never attaches to an interpreter that is shutting down.
pub(crate) static EVENTS_STOPPED: AtomicBool = AtomicBool::new(false);

/// Hands one core event to `cortiauth._events._deliver` (the `cortiauth`
/// logger and, when installed, OpenTelemetry), on the thread that ran the
/// token request, with the GIL taken for the call only.
fn deliver(event: &cortiauth::Event) {
    if EVENTS_STOPPED.load(Ordering::Relaxed) {
        return;
    }
    Python::attach(|py| {
        let deliver = DELIVER.get_or_try_init(py, || -> PyResult<_> {
            Ok(py
                .import("cortiauth._events")?
                .getattr("_deliver")?
                .unbind())
        });
        let result = deliver.and_then(|f| {
            f.bind(py).call1((
                event.kind.as_str(),
                event.to_json(),
                event.summary(),
                event.kind.is_warning(),
            ))
        });
        // A failing handler is the host's bug: shown as Python shows
        // unraisable errors, and the token request's outcome stands.
        if let Err(e) = result {
            e.write_unraisable(py, None);
        }
    });
}

/// The native token manager. Use `cortiauth.TokenManager`, its subclass.
#[pyclass(
    module = "cortiauth._native",
    name = "TokenManager",
    subclass,
    frozen,
    weakref
)]
pub struct PyTokenManager {
    inner: TokenManager,
    /// The Python strings of the token handed out last, reused while the core
    /// hands out the same token, so a cached call allocates nothing. Only ever
    /// locked with the GIL held and never across a GIL release, so it cannot
    /// deadlock and is never held at a `fork()`.
    last: Mutex<Option<LastToken>>,
    /// The `Tenant-Name` header value.
    tenant: Py<PyString>,
}

struct LastToken {
    token: AccessToken,
    /// The token's value.
    value: Py<PyString>,
    /// `Bearer {value}`, made on first use.
    header: Option<Py<PyString>>,
}

impl PyTokenManager {
    /// A valid token: a usable one at once (`try_token()`, also in the refresh
    /// window), else the core's slow path (fetch, or wait for the fetch another
    /// thread runs) with the GIL released.
    #[inline]
    fn token(&self, py: Python<'_>) -> PyResult<AccessToken> {
        if let Some(t) = self.inner.try_token() {
            return Ok(t);
        }
        let inner = &self.inner;
        py.detach(|| inner.token()).map_err(|e| to_py_err(py, e))
    }

    /// Runs `f` on the cached Python strings of `token`, made anew when the core
    /// hands out a different token than last time.
    #[inline]
    fn with_last<R>(
        &self,
        py: Python<'_>,
        token: &AccessToken,
        f: impl FnOnce(Python<'_>, &mut LastToken) -> R,
    ) -> R {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let same = last
            .as_ref()
            .is_some_and(|l| l.token.generation() == token.generation());
        if !same {
            *last = Some(LastToken {
                token: token.clone(),
                value: PyString::new(py, token.secret()).unbind(),
                header: None,
            });
        }
        f(py, last.as_mut().expect("just set"))
    }

    /// The token's value as a Python `str`.
    #[inline]
    fn value(&self, py: Python<'_>, token: &AccessToken) -> Py<PyString> {
        self.with_last(py, token, |py, l| l.value.clone_ref(py))
    }

    /// `Bearer {token}` as a Python `str`.
    fn header(&self, py: Python<'_>, token: &AccessToken) -> Py<PyString> {
        self.with_last(py, token, |py, l| {
            l.header
                .get_or_insert_with(|| PyString::new(py, &token.authorization_header()).unbind())
                .clone_ref(py)
        })
    }

    fn headers_dict<'py>(
        &self,
        py: Python<'py>,
        token: &AccessToken,
    ) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item(intern!(py, "Authorization"), self.header(py, token))?;
        d.set_item(intern!(py, "Tenant-Name"), self.tenant.bind(py))?;
        Ok(d)
    }
}

#[pymethods]
impl PyTokenManager {
    /// `TokenManager(*args, **kwargs)`: the settings of `cortiauth._types.Settings`
    /// (the first eight may be positional), mapped onto the core's `Settings` by
    /// `convert::settings`; with `from_env=True` the `CORTI_*` variables come first.
    #[new]
    #[pyo3(signature = (*args, from_env=false, **kwargs))]
    fn new(
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        from_env: bool,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let config = settings(py, args, kwargs, from_env)?
            .build()
            .map_err(|e| to_py_err(py, e))?;
        // Building the HTTP client reads the system's CA certificates: no GIL needed.
        let inner = py
            .detach(|| TokenManager::new(config))
            .map_err(|e| to_py_err(py, e))?;
        inner.on_event(deliver);
        let tenant = PyString::new(py, inner.config().tenant()).unbind();
        Ok(PyTokenManager {
            inner,
            last: Mutex::new(None),
            tenant,
        })
    }

    /// The effective settings, as the core describes them (the same JSON in every
    /// language). Every default filled in, durations in `*_ms`, the secret as
    /// `"[REDACTED]"`: `json.loads` of the core's `describe()`.
    fn describe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let loads = JSON_LOADS.get_or_try_init(py, || -> PyResult<_> {
            Ok(py.import("json")?.getattr("loads")?.unbind())
        })?;
        loads.bind(py).call1((self.inner.describe(),))
    }

    /// Replaces the client secret in place, without a restart. The next token
    /// request sends it (the token in use stays until its refresh), and the
    /// shared cache's slot follows it. A later change of `client_secret_file`
    /// replaces it again.
    fn set_client_secret(&self, secret: &str) {
        self.inner.set_client_secret(secret);
    }

    /// The core's `describe()` string itself (one line of JSON, sorted keys),
    /// for byte-for-byte comparisons across languages.
    fn _describe_json(&self) -> String {
        self.inner.config().describe()
    }

    /// A valid access token: cached, or fetched once for all concurrent callers.
    fn get_access_token(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        // The hot path: the core says the token last handed out is still the
        // one (no copy of it is made), and its string is reused.
        let changed = {
            let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            let seen = last.as_ref().map_or(0, |l| l.token.generation());
            match (self.inner.try_token_since(seen), last.as_ref()) {
                (Some(None), Some(l)) => return Ok(l.value.clone_ref(py)),
                (Some(Some(token)), _) => Some(token),
                _ => None,
            }
        };
        // Another token (its strings made once, by `value`), or the slow path.
        let token = match changed {
            Some(token) => token,
            None => self.token(py)?,
        };
        Ok(self.value(py, &token))
    }

    /// The cached access token if there is one not yet due for refresh, else
    /// `None`. Never does I/O and never blocks.
    fn cached_access_token(&self, py: Python<'_>) -> Option<Py<PyString>> {
        let token = self.inner.cached_token()?;
        Some(self.value(py, &token))
    }

    /// A valid token with its type, scope and expiry.
    fn get_token(&self, py: Python<'_>) -> PyResult<PyToken> {
        Ok(PyToken {
            token: self.token(py)?,
        })
    }

    /// Like `cached_access_token()`, as a `Token`.
    fn cached_token(&self) -> Option<PyToken> {
        self.inner.cached_token().map(|token| PyToken { token })
    }

    /// `"Bearer {token}"`.
    fn authorization_header(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        let token = self.token(py)?;
        Ok(self.header(py, &token))
    }

    /// `Authorization` and `Tenant-Name`: the headers every Corti API call carries.
    /// `{"Authorization": "Bearer …", "Tenant-Name": tenant}`.
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let token = self.token(py)?;
        self.headers_dict(py, &token)
    }

    /// Like `headers()` from the cached token, or `None`. Never blocks.
    fn cached_headers<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        match self.inner.cached_token() {
            Some(token) => Ok(Some(self.headers_dict(py, &token)?)),
            None => Ok(None),
        }
    }

    /// The async wrappers' fast path: `try_token()`'s value (a usable token,
    /// also in the refresh window, whose refresh it starts on the core's worker
    /// thread), or `None` when a caller would have to wait. Never blocks.
    fn _try_access_token(&self, py: Python<'_>) -> Option<Py<PyString>> {
        let token = self.inner.try_token()?;
        Some(self.value(py, &token))
    }

    /// The async wrappers' slow path, bridged by the core's `token_then()`: a
    /// `Token` when the answer is there without waiting (an error is raised at
    /// once), else an `asyncio.Future` of the `event_loop` that the core's
    /// worker thread settles through `loop.call_soon_threadsafe` when the one
    /// token request ends. No executor thread, no thread per call.
    fn _token_then<'py>(
        &self,
        py: Python<'py>,
        event_loop: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let future = event_loop.call_method0(intern!(py, "create_future"))?;
        let settle = SETTLE
            .get_or_try_init(py, || -> PyResult<_> {
                Ok(py
                    .import("cortiauth._manager")?
                    .getattr("_settle")?
                    .unbind())
            })?
            .clone_ref(py);
        let (target, waiting) = (event_loop.clone().unbind(), future.clone().unbind());
        let answer = self.inner.token_then(move |answer| {
            Python::attach(|py| {
                let (token, error) = match answer {
                    Ok(token) => (Some(PyToken { token }), None),
                    Err(e) => (None, Some(to_py_err(py, e))),
                };
                // A closed loop refuses: nobody is left to tell.
                let _ = target.bind(py).call_method1(
                    intern!(py, "call_soon_threadsafe"),
                    (settle, waiting, token, error),
                );
            })
        });
        match answer {
            Poll::Ready(Ok(token)) => Ok(Bound::new(py, PyToken { token })?.into_any()),
            Poll::Ready(Err(e)) => Err(to_py_err(py, e)),
            Poll::Pending => Ok(future),
        }
    }

    /// Like `_try_access_token()`, as a `Token`.
    fn _try_token(&self) -> Option<PyToken> {
        self.inner.try_token().map(|token| PyToken { token })
    }

    /// Like `_try_access_token()`, as the headers dict.
    fn _try_headers<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        match self.inner.try_token() {
            Some(token) => Ok(Some(self.headers_dict(py, &token)?)),
            None => Ok(None),
        }
    }

    /// A relative API path (`/interactions`, `interactions/1?limit=5`) joined
    /// onto the API base URL by the core. `ConfigError` when there is no
    /// API base URL or `path` is an absolute URL.
    fn api_url(&self, py: Python<'_>, path: &str) -> PyResult<String> {
        self.inner.api_url(path).map_err(|e| to_py_err(py, e))
    }

    /// The stream URL with `token=Bearer%20{access_token}` appended, from a valid token.
    fn websocket_url(&self, py: Python<'_>, stream_url: &str) -> PyResult<String> {
        let token = self.token(py)?;
        cortiauth::websocket_url(stream_url, token.secret()).map_err(|e| to_py_err(py, e))
    }

    /// Drops the cached token if it is still the rejected one (the API answered
    /// 401 to it). The core ignores a `"Bearer "` prefix. Returns whether it was
    /// dropped: many 401s for one token cause one new token request.
    fn invalidate(&self, rejected_token: &str) -> bool {
        self.inner.invalidate(rejected_token)
    }

    /// The one 401 rule of the HTTP integrations (the core's), for your own HTTP
    /// client. `True` when the
    /// answer to a request that carried `sent_token` to `sent_to` is a 401 from
    /// that origin (`answered_by` is the final URL after redirects). The token is
    /// then invalidated, and the request may be sent once more with a new one.
    fn on_response(&self, sent_token: &str, sent_to: &str, answered_by: &str, status: u16) -> bool {
        self.inner
            .on_response(sent_token, sent_to, answered_by, status)
    }

    /// The core's counters: token requests, cache hits, refreshes, failures, the
    /// shared cache's. The keys: `token_requests`, `cache_hits`, `refreshes`,
    /// `failures`, `last_error_kind`, `store_hits`, `store_misses`,
    /// `store_errors`, `store_waits`, `store_last_error`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("token_requests", s.token_requests)?;
        d.set_item("cache_hits", s.cache_hits)?;
        d.set_item("refreshes", s.refreshes)?;
        d.set_item("failures", s.failures)?;
        d.set_item("last_error_kind", s.last_error_kind.map(|k| k.as_str()))?;
        d.set_item("store_hits", s.store_hits)?;
        d.set_item("store_misses", s.store_misses)?;
        d.set_item("store_errors", s.store_errors)?;
        d.set_item("store_waits", s.store_waits)?;
        d.set_item("store_last_error", s.store_last_error.map(|k| k.as_str()))?;
        Ok(d)
    }

    /// The OAuth client id.
    #[getter]
    fn client_id(&self) -> &str {
        self.inner.config().client_id()
    }

    /// The Corti environment (`eu`, `us`, …), or `None` with a bare token URL.
    #[getter]
    fn environment(&self) -> Option<&str> {
        self.inner.config().environment()
    }

    /// The tenant: the Keycloak realm and the `Tenant-Name` header (`base` by default).
    #[getter]
    fn tenant(&self, py: Python<'_>) -> Py<PyString> {
        self.tenant.clone_ref(py)
    }

    /// The scopes requested, `openid` first.
    #[getter]
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.config().scopes())
    }

    /// The token endpoint.
    #[getter]
    fn token_url(&self) -> &str {
        self.inner.config().token_url()
    }

    /// How the client authenticates at the token endpoint. One of
    /// `client_secret_post`, `client_secret_basic`, `client_secret_jwt`,
    /// `private_key_jwt`, `tls_client_auth`.
    #[getter]
    fn auth_method(&self) -> &'static str {
        self.inner.config().auth_method().as_str()
    }

    /// Seconds allowed for one request to the token endpoint.
    #[getter]
    fn timeout(&self) -> f64 {
        self.inner.config().timeout().as_secs_f64()
    }

    /// `https://api.{environment}.corti.app/v2`, or `None` without an environment.
    #[getter]
    fn api_base_url(&self) -> Option<&str> {
        self.inner.api_base_url()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let this = slf.get();
        let c = this.inner.config();
        Ok(format!(
            "{}(client_id='{}', tenant='{}', token_url='{}', auth_method='{}')",
            slf.get_type().name()?,
            c.client_id(),
            c.tenant(),
            c.token_url(),
            c.auth_method().as_str()
        ))
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "cortiauth.TokenManager cannot be pickled: create one in each process (TokenManager.from_env() reads the CORTI_* variables)",
        ))
    }
}
