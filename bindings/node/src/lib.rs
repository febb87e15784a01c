//! Node.js bindings for cortiauth: the native half of the npm package `cortiauth`.
//!
//! This module is private to the package: `index.js` wraps it, turns the error
//! descriptors returned here into `Error` subclasses with a stable `code`, and adds
//! the `fetch` wrapper. Conventions:
//!
//! - Nothing here throws for a token error: fallible calls return either their value
//!   or a [`NativeError`] descriptor, so that the JavaScript layer maps every core
//!   error kind in one place (`index.js`, `toError`). Only panics and argument
//!   conversion failures surface as thrown errors.
//! - `tokenAsync` / `websocketUrlAsync` run the blocking core call on the libuv pool
//!   (`AsyncTask`); `cachedStamp` (the core's `cached_token()`) never blocks and never
//!   does I/O, so a cached token needs no thread hop.
//! - Every exported method runs inside `catch_unwind`, and the pool-side `compute`
//!   catches panics itself (a panic must not unwind into libuv).
//! - The access token reaches JavaScript as one string created straight from the
//!   core's buffer (no intermediate Rust copy); the client secret never leaves Rust.

#![deny(clippy::all)]

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use cortiauth::{AccessToken, AuthMethod, ConfigBuilder, TokenManager};
use napi::bindgen_prelude::*;
use napi::{JsString, ScopedTask};
use napi_derive::napi;
use zeroize::Zeroizing;

/// Options as the JavaScript layer passes them (already type-checked there).
#[napi(object)]
pub struct NativeOptions {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub environment: Option<String>,
    pub tenant_name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub token_url: Option<String>,
    pub api_base_url: Option<String>,
    pub auth_method: Option<String>,
    pub timeout_ms: Option<f64>,
    pub background_refresh: Option<bool>,
    pub ca_certificates_pem: Option<Vec<String>>,
    pub extra_params: Option<HashMap<String, String>>,
    pub user_agent_suffix: Option<String>,
    pub retry: Option<NativeRetryOptions>,
    pub refresh: Option<NativeRefreshOptions>,
}

#[napi(object)]
pub struct NativeRetryOptions {
    pub max_attempts: Option<u32>,
    pub initial_backoff_ms: Option<f64>,
    pub max_backoff_ms: Option<f64>,
    pub deadline_ms: Option<f64>,
    pub failure_cooldown_ms: Option<f64>,
}

#[napi(object)]
pub struct NativeRefreshOptions {
    pub max_margin_ms: Option<f64>,
    pub margin_fraction: Option<f64>,
    pub max_expiry_skew_ms: Option<f64>,
    pub default_lifetime_ms: Option<f64>,
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
}

fn millis(name: &str, v: f64) -> cortiauth::Result<Duration> {
    if v.is_finite() && v >= 0.0 {
        Ok(Duration::from_secs_f64(v / 1000.0))
    } else {
        Err(cortiauth::Error::Config {
            message: format!("{name} must be a finite, non-negative number of milliseconds"),
        })
    }
}

fn build(options: NativeOptions, from_env: bool) -> cortiauth::Result<TokenManager> {
    let mut b = if from_env {
        ConfigBuilder::from_env()
    } else {
        ConfigBuilder::default()
    };
    if let Some(v) = options.client_id {
        b = b.client_id(v);
    }
    if let Some(v) = options.client_secret {
        // Moved, not copied: the core keeps it in a zeroizing string.
        b = b.client_secret(v);
    }
    if let Some(v) = options.environment {
        b = b.environment(v);
    }
    if let Some(v) = options.tenant_name {
        b = b.tenant(v);
    }
    if let Some(v) = options.scopes {
        b = b.scopes(v);
    }
    if let Some(v) = options.token_url {
        b = b.token_url(v);
    }
    if let Some(v) = options.api_base_url {
        b = b.api_base_url(v);
    }
    if let Some(v) = options.auth_method {
        b = b.auth_method(v.parse::<AuthMethod>()?);
    }
    if let Some(v) = options.timeout_ms {
        b = b.timeout(millis("timeoutMs", v)?);
    }
    if let Some(v) = options.background_refresh {
        b = b.background_refresh(v);
    }
    for pem in options.ca_certificates_pem.unwrap_or_default() {
        b = b.add_ca_certificate_pem(pem.into_bytes());
    }
    let mut extra: Vec<_> = options
        .extra_params
        .unwrap_or_default()
        .into_iter()
        .collect();
    extra.sort();
    for (name, value) in extra {
        b = b.extra_param(name, value);
    }
    if let Some(r) = options.retry {
        let mut p = cortiauth::RetryPolicy::default();
        if let Some(v) = r.max_attempts {
            p.max_attempts = v;
        }
        if let Some(v) = r.initial_backoff_ms {
            p.initial_backoff = millis("retry.initialBackoffMs", v)?;
        }
        if let Some(v) = r.max_backoff_ms {
            p.max_backoff = millis("retry.maxBackoffMs", v)?;
        }
        if let Some(v) = r.deadline_ms {
            p.deadline = millis("retry.deadlineMs", v)?;
        }
        if let Some(v) = r.failure_cooldown_ms {
            p.failure_cooldown = millis("retry.failureCooldownMs", v)?;
        }
        b = b.retry_policy(p);
    }
    if let Some(r) = options.refresh {
        // Start from the builder's policy so `backgroundRefresh` set above is kept.
        let mut p = cortiauth::RefreshPolicy {
            background: options.background_refresh.unwrap_or(false),
            ..cortiauth::RefreshPolicy::default()
        };
        if let Some(v) = r.max_margin_ms {
            p.max_margin = millis("refresh.maxMarginMs", v)?;
        }
        if let Some(v) = r.margin_fraction {
            p.margin_fraction = v;
        }
        if let Some(v) = r.max_expiry_skew_ms {
            p.max_expiry_skew = millis("refresh.maxExpirySkewMs", v)?;
        }
        if let Some(v) = r.default_lifetime_ms {
            p.default_lifetime = millis("refresh.defaultLifetimeMs", v)?;
        }
        b = b.refresh_policy(p);
    }
    let mut agent = format!("cortiauth-node/{}", env!("CARGO_PKG_VERSION"));
    if let Some(s) = options.user_agent_suffix {
        agent.push(' ');
        agent.push_str(&s);
    }
    b = b.user_agent_suffix(agent);
    TokenManager::new(b.build()?)
}

/// Builds a manager from `options` (over the `CORTI_*` variables when `fromEnv`).
#[napi(catch_unwind)]
pub fn create_manager(
    options: NativeOptions,
    from_env: bool,
) -> Either<NativeTokenManager, NativeError> {
    match build(options, from_env) {
        Ok(inner) => Either::A(NativeTokenManager::new(inner)),
        Err(e) => Either::B(NativeError::from_core(&e)),
    }
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

/// Runs pool-side work, turning a panic into an error instead of unwinding into libuv.
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
/// return a stamp naming the valid token (a new stamp whenever the token changes),
/// and `seenAccessToken()` / `seenToken()` hand out the token that stamp names. The
/// JavaScript layer keeps the string it made for a stamp, so a cached read is one
/// native call that copies nothing; whether the token is still valid is decided by
/// the core at every call. The stamp functions are closures bound to the manager,
/// not methods: a call skips the receiver checks of a class method, which cost
/// several times the read itself (see NOTES.md).
#[napi]
pub struct NativeTokenManager {
    inner: TokenManager,
    stamps: Stamps,
}

/// Gives stamps to tokens; shared by the manager object and its stamp functions.
#[derive(Clone)]
struct Stamps {
    manager: TokenManager,
    seen: Arc<Mutex<Seen>>,
}

/// The token the last stamp named, kept alive so that its address identifies it.
#[derive(Default)]
struct Seen {
    token: Option<AccessToken>,
    stamp: u32,
}

impl Stamps {
    /// The stamp of `token`: the same as last time if it is the same token.
    fn observe(&self, token: AccessToken) -> u32 {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        // `seen.token` is alive, so no other token can have its buffer's address:
        // equal addresses mean the very same token.
        let same = seen
            .token
            .as_ref()
            .is_some_and(|t| std::ptr::eq(t.secret().as_ptr(), token.secret().as_ptr()));
        if !same {
            seen.stamp = seen.stamp.checked_add(1).unwrap_or(1);
            seen.token = Some(token);
        }
        seen.stamp
    }

    /// The stamp of the cached token, or 0. Never blocks, never does I/O.
    fn cached(&self) -> u32 {
        match self.manager.cached_token() {
            Some(t) => self.observe(t),
            None => 0,
        }
    }

    /// The stamp of a valid token, fetching on this thread if needed.
    fn blocking(&self) -> Either<u32, NativeError> {
        let token = match self.manager.cached_token() {
            Some(t) => Ok(t),
            None => self.manager.token(),
        };
        match token {
            Ok(t) => Either::A(self.observe(t)),
            Err(e) => Either::B(NativeError::from_core(&e)),
        }
    }

    fn seen(&self) -> Option<AccessToken> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.token.clone()
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
        }
    }
}

#[napi]
impl NativeTokenManager {
    /// A function returning the stamp of the cached token, or 0 when there is none
    /// or it is due for refresh. It never blocks and never does I/O.
    #[napi(catch_unwind)]
    pub fn cached_stamp_fn<'e>(&self, env: &'e Env) -> Result<Function<'e, (), u32>> {
        let stamps = self.stamps.clone();
        env.create_function_from_closure("cachedStamp", move |_| guarded(|| stamps.cached()))
    }

    /// A function returning the stamp of a valid token, fetching on the calling
    /// thread if needed (it blocks the event loop then), or an error descriptor.
    #[napi(catch_unwind)]
    pub fn stamp_sync_fn<'e>(
        &self,
        env: &'e Env,
    ) -> Result<Function<'e, (), Either<u32, NativeError>>> {
        let stamps = self.stamps.clone();
        env.create_function_from_closure("stampSync", move |_| guarded(|| stamps.blocking()))
    }

    /// The value of the token the last stamp named (null before any stamp).
    #[napi(catch_unwind)]
    pub fn seen_access_token<'e>(&self, env: &'e Env) -> Result<Option<JsString<'e>>> {
        match self.stamps.seen() {
            Some(t) => js_token(env, t.secret()).map(Some),
            None => Ok(None),
        }
    }

    /// The token the last stamp named (null before any stamp).
    #[napi(catch_unwind)]
    pub fn seen_token(&self) -> Option<NativeAccessToken> {
        self.stamps.seen().map(|inner| NativeAccessToken { inner })
    }

    /// A valid token, got on the libuv thread pool.
    #[napi(
        catch_unwind,
        ts_return_type = "Promise<NativeAccessToken | NativeError>"
    )]
    pub fn token_async(&self) -> AsyncTask<TokenTask> {
        AsyncTask::new(TokenTask {
            manager: self.inner.clone(),
        })
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

    /// The stream URL with `token=Bearer%20…` appended, built on the libuv pool.
    #[napi(catch_unwind, ts_return_type = "Promise<string | NativeError>")]
    pub fn websocket_url_async(&self, stream_url: String) -> AsyncTask<WebsocketUrlTask> {
        AsyncTask::new(WebsocketUrlTask {
            manager: self.inner.clone(),
            stream_url,
        })
    }

    /// Drops the cached token if it is still `rejected` (the API answered 401 to it).
    #[napi(catch_unwind)]
    pub fn invalidate(&self, rejected: String) -> bool {
        let rejected = Zeroizing::new(rejected);
        self.inner.invalidate(&rejected)
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
}

#[napi]
impl NativeAccessToken {
    #[napi(getter, catch_unwind)]
    pub fn access_token<'e>(&self, env: &'e Env) -> Result<JsString<'e>> {
        js_token(env, self.inner.secret())
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

/// Gets a valid token on the libuv pool.
pub struct TokenTask {
    manager: TokenManager,
}

impl Task for TokenTask {
    type Output = std::result::Result<AccessToken, cortiauth::Error>;
    type JsValue = Either<NativeAccessToken, NativeError>;

    fn compute(&mut self) -> Result<Self::Output> {
        guarded(|| self.manager.token())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(match output {
            Ok(inner) => Either::A(NativeAccessToken { inner }),
            Err(e) => Either::B(NativeError::from_core(&e)),
        })
    }
}

/// Builds a websocket URL (which embeds a valid token) on the libuv pool.
pub struct WebsocketUrlTask {
    manager: TokenManager,
    stream_url: String,
}

impl<'task> ScopedTask<'task> for WebsocketUrlTask {
    type Output = std::result::Result<Zeroizing<String>, cortiauth::Error>;
    type JsValue = Either<JsString<'task>, NativeError>;

    fn compute(&mut self) -> Result<Self::Output> {
        guarded(|| {
            self.manager
                .websocket_url(&self.stream_url)
                .map(Zeroizing::new)
        })
    }

    fn resolve(&mut self, env: &'task Env, output: Self::Output) -> Result<Self::JsValue> {
        match output {
            Ok(url) => env.create_string(url.as_str()).map(Either::A),
            Err(e) => Ok(Either::B(NativeError::from_core(&e))),
        }
    }
}
