//! Node.js bindings for cortiauth: the native half of the npm package `cortiauth`.
//!
//! This module is private to the package: `lib/manager.js` wraps it, `lib/errors.js`
//! turns the error descriptors returned here into `Error` subclasses with a stable
//! `code`, and `lib/fetch.js` adds the `fetch` wrapper. Conventions:
//!
//! - Settings: each [`NativeSetting`] is applied by name through the core's
//!   `Settings::apply` (names, units, types, old spellings); every
//!   default, rule and range check is the core's (`Settings::build`).
//! - Behaviour: the token cache, single flight, refresh ahead and
//!   stale-while-revalidate are the core's. Nothing here or in JavaScript keeps a
//!   token or an in-flight request: a usable token is read through the core's
//!   `try_token()` (no I/O, no wait, no thread hop, also in the refresh window,
//!   where the core starts the refresh on its worker thread); otherwise
//!   `tokenThen` joins the core's one token request through its completion
//!   callback (`token_then`), and the core's worker thread settles the Promise
//!   through a threadsafe function: the libuv pool is not used.
//! - Nothing here throws for a token error: fallible calls return either their value
//!   or a [`NativeError`] descriptor, so that the JavaScript layer maps every core
//!   error kind in one place (`lib/errors.js`, `toError`). Only panics and argument
//!   conversion failures surface as thrown errors.
//! - Every exported method runs inside `catch_unwind`; the core catches a
//!   panicking completion callback on its worker thread.
//! - The access token reaches JavaScript as one string created straight from the
//!   core's buffer (no intermediate Rust copy); the client secret never leaves Rust.

#![deny(clippy::all)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::UNIX_EPOCH;

use cortiauth::surface::{SettingValue, Surface};
use cortiauth::{AccessToken, Settings, TokenManager};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{JsDeferred, JsString};
use napi_derive::napi;
use zeroize::Zeroizing;

mod hot;

/// One setting as `lib/options.js` passes it: the option's name as written
/// (old nested names flattened to `retry.deadlineMs`) and its value in the
/// field that matches its JavaScript type. Names, units, type checks and old
/// spellings are the core's (`Settings::apply`).
#[napi(object)]
pub struct NativeSetting {
    pub name: String,
    pub text: Option<String>,
    pub number: Option<f64>,
    pub flag: Option<bool>,
    pub list: Option<Vec<String>>,
    /// In the order given; a name given twice keeps its last value (core rule).
    pub pairs: Option<Vec<NativeExtraParam>>,
    /// A value of a type no setting takes (the core names the type expected).
    pub other: Option<bool>,
}

#[napi(object)]
pub struct NativeExtraParam {
    pub name: String,
    pub value: String,
}

impl NativeSetting {
    fn value(self) -> SettingValue {
        if let Some(t) = self.text {
            SettingValue::Text(t)
        } else if let Some(n) = self.number {
            SettingValue::Number(n)
        } else if let Some(b) = self.flag {
            SettingValue::Bool(b)
        } else if let Some(l) = self.list {
            SettingValue::List(l)
        } else if let Some(p) = self.pairs {
            SettingValue::Pairs(p.into_iter().map(|p| (p.name, p.value)).collect())
        } else if self.other == Some(true) {
            SettingValue::Other
        } else {
            SettingValue::Null
        }
    }
}

/// A core error, flattened for the JavaScript layer (which builds the `Error`).
#[napi(object)]
pub struct NativeError {
    /// `config`, `oauth`, `http`, `network`, `timeout`, `invalid_response` or `internal`.
    pub kind: String,
    /// The core's message: what happened and what to check. Never holds a secret.
    pub message: String,
    pub oauth_error: Option<String>,
    pub oauth_error_description: Option<String>,
    pub oauth_error_uri: Option<String>,
    /// HTTP status of the token endpoint's answer, when there was one.
    pub status: Option<u32>,
    /// Whether the same call may succeed later.
    pub transient: bool,
    /// Messages of the error's `source()` chain, outermost first.
    pub causes: Vec<String>,
}

impl NativeError {
    fn from_core(e: &cortiauth::Error) -> NativeError {
        let (description, uri) = match e {
            cortiauth::Error::OAuth {
                error_description,
                error_uri,
                ..
            } => (error_description.clone(), error_uri.clone()),
            _ => (None, None),
        };
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        NativeError {
            kind: e.kind().as_str().to_string(),
            message: e.to_string(),
            oauth_error: e.oauth_error().map(str::to_string),
            oauth_error_description: description,
            oauth_error_uri: uri,
            status: e.http_status().map(u32::from),
            transient: e.is_transient(),
            causes,
        }
    }
}

/// A snapshot of the manager's counters.
#[napi(object)]
pub struct NativeStats {
    /// HTTP requests sent to the token endpoint, retries included.
    pub token_requests: f64,
    /// Calls answered from the cache.
    pub cache_hits: f64,
    /// Tokens obtained (first fetch and every refresh).
    pub refreshes: f64,
    /// Token acquisitions that failed after their retries.
    pub failures: f64,
    /// Kind of the most recent failure (`oauth`, `network`, …), or null.
    pub last_error_kind: Option<String>,
    /// Shared cache: tokens taken from the store instead of fetched.
    pub store_hits: f64,
    /// Shared cache: lookups that found no usable token there.
    pub store_misses: f64,
    /// Shared cache: store operations that failed (each fell back to a direct fetch).
    pub store_errors: f64,
    /// Shared cache: waits for another process's token request.
    pub store_waits: f64,
    /// Shared cache: kind of the last store error (`timeout`, `unavailable`, …), or null.
    pub store_last_error: Option<String>,
}

/// The options applied by name onto the core's settings (over the `CORTI_*`
/// variables when `from_env`), and the old spellings used.
fn settings(
    options: Vec<NativeSetting>,
    user_agent_suffix: Option<String>,
    from_env: bool,
) -> cortiauth::Result<(Settings, Vec<String>)> {
    let mut s = if from_env {
        Settings::from_env()
    } else {
        Settings::default()
    };
    let mut items: Vec<(String, SettingValue)> = options
        .into_iter()
        .map(|o| (o.name.clone(), o.value()))
        .collect();
    // Moved, not copied: a secret stays in one zeroizing value until the core has it.
    let deprecations = s.apply(
        Surface::Node,
        items
            .iter_mut()
            .map(|(n, v)| (n.as_str(), std::mem::replace(v, SettingValue::Null))),
    )?;
    s.binding = Some(match user_agent_suffix {
        Some(suffix) => format!("node; {suffix}"),
        None => "node".to_string(),
    });
    Ok((s, deprecations.iter().map(ToString::to_string).collect()))
}

fn build(
    options: Vec<NativeSetting>,
    user_agent_suffix: Option<String>,
    from_env: bool,
) -> cortiauth::Result<(TokenManager, Vec<String>)> {
    let (settings, deprecations) = settings(options, user_agent_suffix, from_env)?;
    Ok((TokenManager::new(settings.build()?)?, deprecations))
}

/// Where a manager's events go: `lib/manager.js`'s function that publishes them
/// on `diagnostics_channel` `cortiauth` (on the JavaScript thread). Weak: it never
/// keeps the process alive.
type EventSink = ThreadsafeFunction<String, (), String, Status, false, true>;

/// Sets this JavaScript environment's event sink (once, when `lib/manager.js`
/// loads; each worker thread has its own).
#[napi(catch_unwind, ts_args_type = "sink: (event: string) => void")]
pub fn set_event_sink(env: Env, sink: EventSink) -> Result<()> {
    env.set_instance_data(Arc::new(sink), (), |_| {})
}

/// Builds a manager from `options` (over the `CORTI_*` variables when
/// `fromEnv`); the old option names used are in its `deprecations()`.
#[napi(catch_unwind)]
pub fn create_manager(
    env: Env,
    options: Vec<NativeSetting>,
    user_agent_suffix: Option<String>,
    from_env: bool,
) -> Either<NativeTokenManager, NativeError> {
    match build(options, user_agent_suffix, from_env) {
        Ok((inner, deprecations)) => {
            // Events go to this environment's sink, queued for its thread
            // (never blocking the thread that ran the token request).
            if let Ok(Some(sink)) = env.get_instance_data::<Arc<EventSink>>() {
                let sink = Arc::clone(sink);
                inner.on_event(move |e| {
                    sink.call(e.to_json(), ThreadsafeFunctionCallMode::NonBlocking);
                });
            }
            let mut m = NativeTokenManager::new(inner);
            m.deprecations = deprecations;
            Either::A(m)
        }
        Err(e) => Either::B(NativeError::from_core(&e)),
    }
}

/// The function `cachedStamp.call(handle)` shared by every manager: the stamp of a
/// usable token (the core's `try_token()`) of the manager whose
/// `cachedStampHandle()` it is given, or 0 when a caller would have to wait for a
/// token request. It never blocks and never does I/O.
#[napi(catch_unwind, ts_return_type = "(this: unknown) => number")]
pub fn cached_stamp_function(env: &Env) -> Result<Function<'_, Unknown<'_>, f64>> {
    hot::cached_stamp_fn(env)
}

/// The audit fingerprint of a token: the first 16 hex digits of its SHA-256.
#[napi(catch_unwind)]
pub fn fingerprint(access_token: String) -> String {
    cortiauth::fingerprint(Zeroizing::new(access_token).as_str())
}

/// The version of the Rust core linked into this addon.
#[napi(catch_unwind)]
pub fn core_version() -> String {
    cortiauth::VERSION.to_string()
}

/// A JavaScript string holding the token, created from the core's buffer.
/// Tokens are ASCII (RFC 6750 `b64token`), so the cheaper latin-1 path applies.
fn js_token<'e>(env: &'e Env, value: &str) -> Result<JsString<'e>> {
    if value.is_ascii() {
        env.create_string_latin1(value.as_bytes())
    } else {
        env.create_string(value)
    }
}

fn internal(message: String) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("cortiauth internal error: {message}"),
    )
}

/// Runs a native closure's work, turning a panic into an error instead of
/// unwinding into V8.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        internal(message)
    })
}

/// The token manager. One per client; share it (it is cheap to call from anywhere
/// on its thread). Each worker thread builds its own.
///
/// Cheap repeated reads: the functions made by `cachedStampFn()` / `stampSyncFn()`
/// (and the tokens `tokenThen()` answers with) carry a stamp naming the token the
/// core handed out (its generation number: a new stamp whenever the token
/// changes), and `seenAccessToken()` / `seenAuthorization()` / `seenToken()` hand
/// out the token the last stamp function call named. The JavaScript layer
/// keeps the string it made for the last stamp, so a cached read is one native call
/// that copies nothing. This is no cache: whether a token is handed out at all is
/// decided by the core at every call. The stamp functions are closures bound to
/// the manager, not methods: a call skips the receiver checks of a class method,
/// which cost several times the read itself (see docs/design/node.md).
#[napi]
pub struct NativeTokenManager {
    inner: TokenManager,
    stamps: Stamps,
    /// The old option names the manager was made with, as warnings.
    deprecations: Vec<String>,
}

/// Gives stamps to tokens; shared by the manager object and its stamp functions.
#[derive(Clone)]
pub(crate) struct Stamps {
    manager: TokenManager,
    seen: Arc<Seen>,
}

/// The token the last stamp named, and its generation readable without the lock.
#[derive(Default)]
struct Seen {
    token: Mutex<Option<AccessToken>>,
    /// 0 when there is none (a token's generation is never 0).
    generation: AtomicU64,
}

impl Stamps {
    /// The stamp of `token`: the core's generation number, which names a token
    /// (the same for every copy of it), as a JavaScript number (exact below 2^53).
    fn observe(&self, token: AccessToken) -> f64 {
        let generation = token.generation();
        let mut seen = self
            .seen
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if seen.as_ref().map(AccessToken::generation) != Some(generation) {
            *seen = Some(token);
            self.seen.generation.store(generation, Ordering::Relaxed);
        }
        generation as f64
    }

    /// The stamp of a token the core hands out without waiting (`try_token()`:
    /// also in the refresh window, where the core starts the refresh on its worker
    /// thread), or 0 when a caller would have to wait for a token request. Never
    /// blocks, never does I/O.
    pub(crate) fn cached(&self) -> f64 {
        // The hot path: the token last named is still the one, nothing copied.
        let seen = self.seen.generation.load(Ordering::Relaxed);
        match self.manager.try_token_since(seen) {
            Some(None) => seen as f64,
            Some(Some(t)) => self.observe(t),
            None => 0.0,
        }
    }

    /// The stamp of the token the core's `token()` hands out (fetching on this
    /// thread if needed), or its error.
    fn token(&self) -> Either<f64, NativeError> {
        match self.manager.token() {
            Ok(t) => Either::A(self.observe(t)),
            Err(e) => Either::B(NativeError::from_core(&e)),
        }
    }

    fn seen(&self) -> Option<AccessToken> {
        let seen = self
            .seen
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.clone()
    }

    /// Lets go of the token the last stamp named (after `invalidate`).
    fn forget(&self) {
        let mut seen = self
            .seen
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *seen = None;
        self.seen.generation.store(0, Ordering::Relaxed);
    }
}

impl NativeTokenManager {
    fn new(inner: TokenManager) -> Self {
        NativeTokenManager {
            stamps: Stamps {
                manager: inner.clone(),
                seen: Arc::default(),
            },
            inner,
            deprecations: Vec::new(),
        }
    }
}

#[napi]
impl NativeTokenManager {
    /// The old option names this manager was made with, each as a warning text
    /// (`lib/manager.js` emits them as `DeprecationWarning`s).
    #[napi(catch_unwind)]
    pub fn deprecations(&self) -> Vec<String> {
        self.deprecations.clone()
    }

    /// This manager's handle for `cachedStampFunction()`'s function.
    #[napi(catch_unwind, ts_return_type = "unknown")]
    pub fn cached_stamp_handle<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        hot::stamp_handle(env, self.stamps.clone())
    }

    /// A function returning the stamp of the token the core's `token()` hands out,
    /// fetching on the calling thread if needed (it blocks the event loop then), or
    /// an error descriptor.
    #[napi(catch_unwind)]
    pub fn stamp_sync_fn<'e>(
        &self,
        env: &'e Env,
    ) -> Result<Function<'e, (), Either<f64, NativeError>>> {
        let stamps = self.stamps.clone();
        env.create_function_from_closure("stampSync", move |_| guarded(|| stamps.token()))
    }

    /// The value of the token the last stamp named (null before any stamp).
    #[napi(catch_unwind)]
    pub fn seen_access_token<'e>(&self, env: &'e Env) -> Result<Option<JsString<'e>>> {
        match self.stamps.seen() {
            Some(t) => js_token(env, t.secret()).map(Some),
            None => Ok(None),
        }
    }

    /// The core's `Authorization` value (`Bearer …`) for the token the last
    /// stamp named (null before any stamp).
    #[napi(catch_unwind)]
    pub fn seen_authorization<'e>(&self, env: &'e Env) -> Result<Option<JsString<'e>>> {
        match self.stamps.seen() {
            Some(t) => js_token(env, Zeroizing::new(t.authorization_header()).as_str()).map(Some),
            None => Ok(None),
        }
    }

    /// The token the last stamp named (null before any stamp).
    #[napi(catch_unwind)]
    pub fn seen_token(&self) -> Option<NativeAccessToken> {
        self.stamps.seen().map(|inner| NativeAccessToken {
            stamp: inner.generation() as f64,
            inner,
        })
    }

    /// A token from the core's `token_then()`: the token (or error) when the
    /// answer is there without waiting, else a Promise of it that the core's
    /// worker thread settles through a threadsafe function when the one token
    /// request ends. Neither the libuv pool nor a thread per call is used.
    #[napi(
        catch_unwind,
        ts_return_type = "NativeAccessToken | NativeError | Promise<NativeAccessToken | NativeError>"
    )]
    pub fn token_then<'e>(
        &self,
        env: &'e Env,
    ) -> Result<Either3<NativeAccessToken, NativeError, Object<'e>>> {
        let (deferred, promise) = env.create_deferred()?;
        let settle = Settle(Some(deferred));
        // The stamp is the token's generation; `seen` is left to the JavaScript
        // thread's own reads, so that a stamp and the strings made for it always
        // name one token.
        let answer = self
            .inner
            .token_then(move |answer| settle.resolve(answer.map(stamped)));
        Ok(match answer {
            std::task::Poll::Ready(answer) => match native_answer(answer.map(stamped)) {
                Either::A(t) => Either3::A(t),
                Either::B(e) => Either3::B(e),
            },
            std::task::Poll::Pending => Either3::C(promise),
        })
    }

    /// The core's `Config::describe()`: the effective settings as one line of JSON.
    #[napi(catch_unwind)]
    pub fn describe_json(&self) -> String {
        self.inner.config().describe()
    }

    /// The manager's `describe()`: the settings, and when and where the
    /// credential in use was loaded.
    #[napi(catch_unwind)]
    pub fn describe_manager_json(&self) -> String {
        self.inner.describe()
    }

    /// Replaces the client secret in place (the next token request sends it).
    #[napi(catch_unwind)]
    pub fn set_client_secret(&self, secret: String) {
        self.inner
            .set_client_secret(Zeroizing::new(secret).as_str());
    }

    /// The stream URL with `token=Bearer%20…` appended (blocks if a fetch is needed).
    #[napi(catch_unwind)]
    pub fn websocket_url_sync<'e>(
        &self,
        env: &'e Env,
        stream_url: String,
    ) -> Result<Either<JsString<'e>, NativeError>> {
        match self.inner.websocket_url(&stream_url) {
            Ok(url) => env
                .create_string(Zeroizing::new(url).as_str())
                .map(Either::A),
            Err(e) => Ok(Either::B(NativeError::from_core(&e))),
        }
    }

    /// The stream URL with `token=Bearer%20…` appended for a token this manager
    /// handed out (the async path gets it from `getAccessToken()`: the cached path
    /// takes no pool hop, a fetch shares the manager's one pool task).
    #[napi(catch_unwind)]
    pub fn websocket_url_with<'e>(
        &self,
        env: &'e Env,
        stream_url: String,
        access_token: String,
    ) -> Result<Either<JsString<'e>, NativeError>> {
        let access_token = Zeroizing::new(access_token);
        match cortiauth::websocket_url(&stream_url, &access_token) {
            Ok(url) => env
                .create_string(Zeroizing::new(url).as_str())
                .map(Either::A),
            Err(e) => Ok(Either::B(NativeError::from_core(&e))),
        }
    }

    /// A relative API path joined onto the API base URL by the core, or a config
    /// error (no base URL, or an absolute URL).
    #[napi(catch_unwind)]
    pub fn api_url(&self, path: String) -> Either<String, NativeError> {
        match self.inner.api_url(&path) {
            Ok(url) => Either::A(url),
            Err(e) => Either::B(NativeError::from_core(&e)),
        }
    }

    /// The core's 401 rule: whether the answer (`status` from `answered_by`, the
    /// final URL) to a request that carried `sent_token` to `sent_to` rejected
    /// the token; if so the token is invalidated and the request may be sent
    /// once more with a new one.
    #[napi(catch_unwind)]
    pub fn on_response(
        &self,
        sent_token: String,
        sent_to: String,
        answered_by: String,
        status: u32,
    ) -> bool {
        let sent_token = Zeroizing::new(sent_token);
        let status = u16::try_from(status).unwrap_or(0);
        let rejected = self
            .inner
            .on_response(&sent_token, &sent_to, &answered_by, status);
        if rejected {
            self.stamps.forget();
        }
        rejected
    }

    /// Drops the cached token if it is still `rejected` (the API answered 401 to it;
    /// `Bearer x` and `x` are both accepted: the core strips the prefix).
    #[napi(catch_unwind)]
    pub fn invalidate(&self, rejected: String) -> bool {
        let rejected = Zeroizing::new(rejected);
        let dropped = self.inner.invalidate(&rejected);
        if dropped {
            self.stamps.forget();
        }
        dropped
    }

    #[napi(catch_unwind)]
    pub fn stats(&self) -> NativeStats {
        let s = self.inner.stats();
        NativeStats {
            token_requests: s.token_requests as f64,
            cache_hits: s.cache_hits as f64,
            refreshes: s.refreshes as f64,
            failures: s.failures as f64,
            last_error_kind: s.last_error_kind.map(|k| k.as_str().to_string()),
            store_hits: s.store_hits as f64,
            store_misses: s.store_misses as f64,
            store_errors: s.store_errors as f64,
            store_waits: s.store_waits as f64,
            store_last_error: s.store_last_error.map(|k| k.as_str().to_string()),
        }
    }

    #[napi(getter, catch_unwind)]
    pub fn client_id(&self) -> String {
        self.inner.config().client_id().to_string()
    }

    #[napi(getter, catch_unwind)]
    pub fn tenant_name(&self) -> String {
        self.inner.config().tenant().to_string()
    }

    #[napi(getter, catch_unwind)]
    pub fn environment(&self) -> Option<String> {
        self.inner.config().environment().map(str::to_string)
    }

    #[napi(getter, catch_unwind)]
    pub fn token_url(&self) -> String {
        self.inner.config().token_url().to_string()
    }

    #[napi(getter, catch_unwind)]
    pub fn api_base_url(&self) -> Option<String> {
        self.inner.api_base_url().map(str::to_string)
    }

    #[napi(getter, catch_unwind)]
    pub fn scopes(&self) -> Vec<String> {
        self.inner.config().scopes().to_vec()
    }

    #[napi(getter, catch_unwind)]
    pub fn auth_method(&self) -> String {
        self.inner.config().auth_method().as_str().to_string()
    }
}

/// One access token as the core holds it; the value is read through a getter so
/// that it is copied once, straight into a JavaScript string.
#[napi]
pub struct NativeAccessToken {
    inner: AccessToken,
    stamp: f64,
}

type Answer = Either<NativeAccessToken, NativeError>;

/// The deferred of a `tokenThen()` promise. Dropped unsettled (the core
/// answered at once and dropped the callback), it settles anyway: an unsettled
/// deferred would keep its threadsafe function, and so the event loop, alive.
struct Settle(Option<JsDeferred<Answer, Resolver>>);

/// Makes the answer on the JavaScript thread.
type Resolver = Box<dyn FnOnce(Env) -> Result<Answer>>;

impl Settle {
    fn resolve(mut self, answer: cortiauth::Result<(f64, AccessToken)>) {
        if let Some(d) = self.0.take() {
            d.resolve(Box::new(move |_| Ok(native_answer(answer))));
        }
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            d.resolve(Box::new(|_| {
                Ok(Either::B(NativeError::from_core(
                    &cortiauth::Error::network("the token request was answered elsewhere"),
                )))
            }));
        }
    }
}

fn stamped(token: AccessToken) -> (f64, AccessToken) {
    (token.generation() as f64, token)
}

fn native_answer(
    answer: cortiauth::Result<(f64, AccessToken)>,
) -> Either<NativeAccessToken, NativeError> {
    match answer {
        Ok((stamp, inner)) => Either::A(NativeAccessToken { inner, stamp }),
        Err(e) => Either::B(NativeError::from_core(&e)),
    }
}

#[napi]
impl NativeAccessToken {
    /// The stamp naming this token (see `NativeTokenManager`).
    #[napi(getter, catch_unwind)]
    pub fn stamp(&self) -> f64 {
        self.stamp
    }

    #[napi(getter, catch_unwind)]
    pub fn access_token<'e>(&self, env: &'e Env) -> Result<JsString<'e>> {
        js_token(env, self.inner.secret())
    }

    /// The core's `Authorization` header value, `Bearer …`.
    #[napi(getter, catch_unwind)]
    pub fn authorization<'e>(&self, env: &'e Env) -> Result<JsString<'e>> {
        js_token(
            env,
            Zeroizing::new(self.inner.authorization_header()).as_str(),
        )
    }

    #[napi(getter, catch_unwind)]
    pub fn token_type(&self) -> String {
        self.inner.token_type().to_string()
    }

    #[napi(getter, catch_unwind)]
    pub fn scope(&self) -> Option<String> {
        self.inner.scope().map(str::to_string)
    }

    /// Expiry on the wall clock, in milliseconds since the Unix epoch.
    #[napi(getter, catch_unwind)]
    pub fn expires_at_ms(&self) -> f64 {
        match self.inner.expires_at_system().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64() * 1000.0,
            Err(e) => -(e.duration().as_secs_f64() * 1000.0),
        }
    }

    /// Time left before expiry, in milliseconds (0 once expired).
    #[napi(getter, catch_unwind)]
    pub fn expires_in_ms(&self) -> f64 {
        self.inner.expires_in().as_secs_f64() * 1000.0
    }

    /// The lifetime the server gave the token, in milliseconds.
    #[napi(getter, catch_unwind)]
    pub fn lifetime_ms(&self) -> f64 {
        self.inner.lifetime().as_secs_f64() * 1000.0
    }
}
