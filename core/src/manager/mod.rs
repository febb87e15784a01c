//! The token manager: cache, single flight, refresh ahead, stale-while-revalidate,
//! 401 invalidation, refresh-token grant, retries, fork safety, async callers.
//!
//! The cached token lives in an `ArcSwapOption` (in `cache::TokenCell`), so the
//! fast path is a lock-free load and a clock read; the bindings' hottest path
//! (`try_token_since`) reads a seqlock snapshot of the token's identity and fresh
//! window instead, with plain loads and the coarse clocks. Every token request runs
//! on the manager's own worker thread, started by the first fetch: a caller holding
//! a usable token never waits for a request (the refresh ahead of expiry runs there
//! while callers keep the current token), a caller with no usable token waits for
//! the one flight (blocking on a condition variable, or as a future woken by the
//! worker), and the HTTP client is created, used and dropped on that thread only,
//! so the blocking API works inside an async runtime.
//!
//! Everything that belongs to one OS process (the single-flight state and the
//! worker) lives in a `ProcessState` that is rebuilt when the process id
//! changes, so a manager inherited through `fork()` works in the child.
//!
//! Rooms: this file is the facade (`TokenManager` and the state it shares);
//! `cache` the cached token and the lock-free hot path; `flight` the
//! single-flight decisions (a pure type, model-checked in `model_check`);
//! `worker` the worker thread, publishing outcomes and the fork rebuild;
//! `acquire` one acquisition with its retries; `fleet` the shared store's side;
//! `future` the async caller; `clock` the boot-time clock.

mod acquire;
mod cache;
mod clock;
mod fleet;
mod flight;
mod future;
#[cfg(feature = "opentelemetry")]
mod metrics;
#[cfg(test)]
mod model_check;
#[cfg(test)]
mod tests;
mod worker;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};

use self::cache::{Cached, TokenCell};
use self::clock::Clock;
use self::fleet::Fleet;
use self::flight::{CacheState, Decision};
use self::future::{Callback, TokenFuture};
use self::worker::ProcessState;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, Listener, TokenAudit};
use crate::secret::SecretString;
use crate::stats::{Counters, Stats};
use crate::token::{strip_bearer, AccessToken};
use crate::transport::Transport;
use crate::urls;

type Flight = flight::Flight<Result<AccessToken>>;

/// How long before the refresh point the background refresher acts (at most).
pub(crate) const BACKGROUND_LEAD: Duration = Duration::from_secs(1);

/// Hands out valid access tokens, fetching one per lifetime however many threads ask.
///
/// `Send + Sync` and cheap to clone (clones share one cache). See the crate docs.
#[derive(Clone)]
pub struct TokenManager {
    shared: Arc<Shared>,
}

struct Shared {
    config: Config,
    cache: TokenCell,
    process: ArcSwap<ProcessState>,
    counters: Counters,
    clock: Arc<Clock>,
    /// The shared token store, when `shared_cache` is set (used by the worker only).
    fleet: Option<Fleet>,
    /// Who hears the manager's events besides `tracing` ([`TokenManager::on_event`]).
    listener: ArcSwapOption<Box<Listener>>,
}

impl Shared {
    /// Whether anyone hears events: a listener, or a `tracing` subscriber
    /// that takes the `cortiauth` target.
    fn listening(&self) -> bool {
        cfg!(feature = "opentelemetry")
            || self.listener.load().is_some()
            || tracing::enabled!(target: "cortiauth", tracing::Level::WARN)
    }

    fn event(&self, kind: EventKind) -> Event {
        Event::new(kind, &self.config.client_id)
    }

    fn token_event(&self, kind: EventKind, token: &AccessToken) -> Event {
        let mut e = self.event(kind);
        e.token = Some(TokenAudit::of(
            token,
            &self.config.client_id,
            &self.config.surface,
        ));
        e
    }

    /// Sends an event to `tracing` and the listener. Never called with a lock held.
    fn emit(&self, event: Event) {
        event.trace();
        #[cfg(feature = "opentelemetry")]
        metrics::record(&event);
        if let Some(listener) = self.listener.load_full() {
            // A panicking listener is its own bug: it must not take the worker down.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener(&event)));
        }
    }

    /// Before a token request: a rewritten secret file is read again.
    fn reload_credential(&self) {
        if let Some(loaded) = self.config.client_secret.reload_if_changed() {
            self.credential_event(&loaded);
        }
    }

    fn credential_event(&self, loaded: &crate::credential::Loaded) {
        log::info!(
            "cortiauth: client secret for client {} reloaded from {}",
            self.config.client_id,
            loaded.source.as_str()
        );
        if self.listening() {
            let mut e = self.event(EventKind::CredentialReloaded);
            e.credential_source = Some(loaded.source.as_str());
            self.emit(e);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TokenManager {
    /// Builds a manager. Nothing is fetched, and no thread or HTTP client is
    /// created, until the first call (with the background refresher on, its
    /// thread starts now and fetches right away).
    ///
    /// ```
    /// use cortiauth::{Config, TokenManager};
    /// let manager = TokenManager::new(
    ///     Config::builder()
    ///         .client_id("my-client")
    ///         .client_secret("my-secret")
    ///         .environment("eu") // auth.eu.corti.app, api.eu.corti.app
    ///         .tenant("base")
    ///         .build()?,
    /// )?;
    /// assert_eq!(manager.stats().token_requests, 0); // nothing is fetched yet
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn new(mut config: Config) -> Result<TokenManager> {
        Transport::check(&config)?;
        // This manager's secret rotates on its own (not the other managers'
        // built from clones of the same `Config`).
        config.client_secret = config.client_secret.detached();
        let fleet = Fleet::new(&config)?;
        let shared = Arc::new(Shared {
            fleet,
            config,
            cache: TokenCell::default(),
            process: ArcSwap::from_pointee(ProcessState::new(
                std::process::id(),
                Flight::default(),
            )),
            counters: Counters::default(),
            clock: Arc::default(),
            listener: ArcSwapOption::empty(),
        });
        #[cfg(feature = "opentelemetry")]
        metrics::watch(&shared);
        if shared.config.refresh.background {
            let process = shared.process.load_full();
            let mut flight = lock(&process.flight);
            if let Err(e) = shared.start_worker(&process, &mut flight) {
                log::warn!("cortiauth: cannot start the background refresher: {e}");
            }
        }
        Ok(TokenManager { shared })
    }

    /// A manager configured from the `CORTI_*` environment variables.
    ///
    /// ``` no_run
    /// // CORTI_CLIENT_ID, CORTI_CLIENT_SECRET (or _FILE), CORTI_ENVIRONMENT, CORTI_TENANT_NAME
    /// let manager = cortiauth::TokenManager::from_env()?;
    /// println!("{}", manager.token()?.secret());
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn from_env() -> Result<TokenManager> {
        TokenManager::new(Config::from_env()?)
    }

    /// The validated configuration the manager was built from.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// assert_eq!(manager.config().tenant(), "base");
    /// assert_eq!(manager.config().client_id(), "my-client");
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// A valid access token: from the cache when there is one, else fetched once
    /// for all concurrent callers. While a token is usable no caller waits: a
    /// refresh ahead of expiry runs on the manager's worker thread.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// let token = manager.token()?; // cached: no request while it is fresh
    /// let header = format!("Bearer {}", token.secret());
    /// assert!(token.expires_in().as_secs() > 200);
    /// # assert_eq!(header, "Bearer eyJ.a-token.sig");
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    #[inline]
    pub fn token(&self) -> Result<AccessToken> {
        if let Some(t) = self.shared.fresh(Cached::copy) {
            return Ok(t);
        }
        self.shared.token_blocking()
    }

    /// Runs `f` on a valid token without cloning it: the cheapest way to copy the
    /// value somewhere else.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// let length = manager.with_token(|t| t.secret().len())?;
    /// assert_eq!(length, 15);
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    #[inline]
    pub fn with_token<R>(&self, f: impl FnOnce(&AccessToken) -> R) -> Result<R> {
        let mut f = Some(f);
        if let Some(r) = self.shared.fresh(|c| (f.take().expect("once"))(&c.token)) {
            return Ok(r);
        }
        let token = self.shared.token_blocking()?;
        Ok((f.take().expect("once"))(&token))
    }

    /// A valid access token, for async callers: a cached token is returned at
    /// the first poll (no spawn, no blocking); a fetch runs on the manager's
    /// worker thread and wakes this future when it is done, so the executor
    /// thread never blocks. Runtime-agnostic (tokio, async-std, smol, …).
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// # async fn call(manager: cortiauth::TokenManager) -> Result<(), cortiauth::Error> {
    /// let token = manager.token_async().await?; // any runtime: tokio, async-std, smol
    /// println!("expires in {:?}", token.expires_in());
    /// # Ok(()) }
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn token_async(&self) -> impl Future<Output = Result<AccessToken>> + Send + 'static {
        TokenFuture {
            shared: Arc::clone(&self.shared),
            process: None,
            waited: None,
        }
    }

    /// A valid access token, for hosts with an event loop of their own (the
    /// Python and Node bindings bridge to asyncio and libuv with it): the
    /// completion-callback form of [`TokenManager::token_async`].
    ///
    /// Returns `Poll::Ready` when the answer is there without waiting (a usable
    /// token, or the outcome of a flight that just ended); `done` is then
    /// dropped uncalled. Otherwise `Poll::Pending`: this call has joined the
    /// one token request (single flight), and `done` is called exactly once,
    /// on the manager's worker thread, when that request ends. `done` should
    /// only hand the answer over (to an event loop's queue): the worker runs
    /// the next token request after it. No thread is started per call.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// use std::task::Poll;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// match manager.token_then(move |answer| drop(tx.send(answer))) {
    ///     Poll::Ready(answer) => assert!(answer.is_ok()), // a usable token: at once
    ///     Poll::Pending => { let _later = rx.recv(); }     // the worker calls back once
    /// }
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn token_then(
        &self,
        done: impl FnOnce(Result<AccessToken>) + Send + 'static,
    ) -> Poll<Result<AccessToken>> {
        if let Some(t) = self.shared.fresh(Cached::copy) {
            return Poll::Ready(Ok(t));
        }
        Callback::start(
            TokenFuture {
                shared: Arc::clone(&self.shared),
                process: None,
                waited: None,
            },
            Box::new(done),
        )
    }

    /// [`TokenManager::headers`] for async callers.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// # async fn call(manager: cortiauth::TokenManager) -> Result<(), cortiauth::Error> {
    /// let [(auth_name, auth), (tenant_name, tenant)] = manager.headers_async().await?;
    /// # Ok(()) }
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn headers_async(
        &self,
    ) -> impl Future<Output = Result<[(&'static str, String); 2]>> + Send + 'static {
        let token = self.token_async();
        let tenant = self.shared.config.tenant.clone();
        async move {
            let token = token.await?;
            Ok([
                ("Authorization", token.authorization_header()),
                ("Tenant-Name", tenant),
            ])
        }
    }

    /// [`TokenManager::websocket_url`] for async callers.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// # async fn call(manager: cortiauth::TokenManager) -> Result<(), cortiauth::Error> {
    /// let ws = manager
    ///     .websocket_url_async("wss://api.eu.corti.app/audio-bridge/v2/interactions/ID/streams?tenant-name=base")
    ///     .await?;
    /// # Ok(()) }
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn websocket_url_async(
        &self,
        stream_url: &str,
    ) -> impl Future<Output = Result<String>> + Send + 'static {
        let token = self.token_async();
        let stream_url = stream_url.to_string();
        async move { urls::websocket_url(&stream_url, token.await?.secret()) }
    }

    /// The cached token if one is there and not yet due for refresh. Never does
    /// I/O and never blocks (bindings use it to skip a thread hop).
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// match manager.cached_token() {
    ///     Some(token) => println!("cached, {:?} left", token.expires_in()),
    ///     None => println!("a call would fetch (or wait for) a token"),
    /// }
    /// # assert!(manager.cached_token().is_some());
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn cached_token(&self) -> Option<AccessToken> {
        self.shared.fresh(Cached::copy)
    }

    /// A usable token if one is cached, without ever waiting: before the refresh
    /// point as [`TokenManager::cached_token`], and also in the refresh window,
    /// where it starts the refresh on the worker thread (as `token()` would) and
    /// returns the current token. `None` only when a caller would have to wait
    /// for a token request. For bindings' synchronous fast paths.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// // Never waits: in the refresh window it starts the refresh and hands out the current token.
    /// let token = manager.try_token().expect("a usable token is cached");
    /// assert_eq!(token.secret(), "eyJ.a-token.sig");
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn try_token(&self) -> Option<AccessToken> {
        if let Some(t) = self.shared.fresh(Cached::copy) {
            return Some(t);
        }
        if let Some(t) = self.shared.usable_without_lock() {
            return Some(t);
        }
        let process = self.shared.process().ok()?;
        let mut flight = lock(&process.flight);
        let now = self.shared.clock.now();
        let cached = self.shared.cache.load_full()?;
        match cached.state(now) {
            CacheState::Unusable => None,
            state => {
                if let Decision::Cached { claimed: true } = flight.decide(now, state, None) {
                    if let Err(e) = self.shared.wake_worker(&process, &mut flight) {
                        log::warn!("cortiauth: cannot refresh ahead: {e:#}");
                    }
                }
                self.shared.counters.hit();
                Some(cached.copy())
            }
        }
    }

    /// [`TokenManager::try_token`] for a binding that keeps the strings it made
    /// for the last token it handed out, whose [`AccessToken::generation`] is
    /// `seen`: `Some(None)` when that same token is the one to hand out (nothing
    /// is copied), `Some(Some(token))` when it is another one, `None` when a
    /// caller would have to wait for a token request. Never blocks.
    #[doc(hidden)]
    #[inline]
    pub fn try_token_since(&self, seen: u64) -> Option<Option<AccessToken>> {
        // The hottest path: plain loads of the cached token's identity and window.
        if seen != 0
            && self
                .shared
                .cache
                .fresh_generation(self.shared.clock.coarse())
                == Some(seen)
        {
            self.shared.counters.hit();
            return Some(None);
        }
        let fresh = self
            .shared
            .fresh(|c| (c.token.generation() != seen).then(|| c.copy()));
        if fresh.is_some() {
            return fresh;
        }
        self.try_token()
            .map(|t| (t.generation() != seen).then_some(t))
    }

    /// The cached token while it is usable (even if a refresh is due), with its
    /// wall-clock expiry in [`AccessToken::expires_at_system`]: for saving it
    /// elsewhere (a disk cache) and [`TokenManager::seed`]ing a later manager.
    /// Never does I/O.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// // Save it elsewhere with its wall-clock expiry, seed a later manager with it.
    /// let t = manager.current_token().expect("a usable token");
    /// let later = cortiauth::TokenManager::new(manager.config().clone())?;
    /// assert!(later.seed(t.secret(), t.expires_at_system(), t.scope()));
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn current_token(&self) -> Option<AccessToken> {
        let now = self.shared.clock.now();
        let cached = self.shared.cache.load();
        let c = cached.as_ref()?;
        (now < c.usable_until).then(|| c.copy())
    }

    /// Seeds the cache with a token obtained elsewhere (a disk cache, the Corti
    /// SDK's `initialTokenResponse`, x/oauth2's `ReuseTokenSource`). The token is
    /// then used while this manager's freshness rule says so (its original
    /// lifetime unknown, the policy's largest margin is assumed: a Corti token
    /// with less than 60 s left is refreshed ahead at once, on the worker,
    /// while callers keep using it); after that the manager fetches its own. Returns whether it was taken: not if it is already past its
    /// usable time, or if the cached token lasts longer.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// use std::time::{Duration, SystemTime};
    /// let saved_expiry = SystemTime::now() + Duration::from_secs(240);
    /// let taken = manager.seed("eyJ.saved.token", saved_expiry, Some("openid"));
    /// assert!(!taken, "the cached token lasts longer");
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn seed(&self, access_token: &str, expires_at: SystemTime, scope: Option<&str>) -> bool {
        let access_token = strip_bearer(access_token);
        if access_token.is_empty() {
            return false;
        }
        let (now, instant, wall) = (self.shared.clock.now(), Instant::now(), SystemTime::now());
        let Ok(lifetime) = expires_at.duration_since(wall) else {
            return false;
        };
        let token = AccessToken::new(
            SecretString::new(access_token),
            "Bearer".into(),
            scope.map(str::to_string),
            (instant, wall),
            lifetime,
        );
        let seeded = Arc::new(Cached::seeded(
            token,
            now,
            &self.shared.config,
            &self.shared.clock,
        ));
        if now >= seeded.usable_until {
            return false;
        }
        let Ok(process) = self.shared.process() else {
            return false;
        };
        let mut taken = false;
        self.shared.cache.rcu(
            |current| {
                taken = match current {
                    Some(c) => now >= c.usable_until || c.usable_until < seeded.usable_until,
                    None => true,
                };
                if taken {
                    Some(Arc::clone(&seeded))
                } else {
                    current.clone()
                }
            },
            &process.snapshot,
        );
        taken
    }

    /// The access token's value.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// let value = manager.access_token()?; // a SecretString: Debug shows [REDACTED]
    /// assert_eq!(format!("{value:?}"), "\"[REDACTED]\"");
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn access_token(&self) -> Result<SecretString> {
        self.with_token(|t| SecretString::new(t.secret()))
    }

    /// `Bearer {token}`.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// assert_eq!(manager.authorization_header()?, "Bearer eyJ.a-token.sig");
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn authorization_header(&self) -> Result<String> {
        self.with_token(AccessToken::authorization_header)
    }

    /// The two headers every Corti API call carries: `Authorization` and `Tenant-Name`.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// let [(auth_name, auth), (tenant_name, tenant)] = manager.headers()?;
    /// assert_eq!((auth_name, tenant_name), ("Authorization", "Tenant-Name"));
    /// assert_eq!(tenant, "base");
    /// # let _ = auth;
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn headers(&self) -> Result<[(&'static str, String); 2]> {
        Ok([
            ("Authorization", self.authorization_header()?),
            ("Tenant-Name", self.shared.config.tenant.clone()),
        ])
    }

    /// `https://api.{environment}.corti.app/v2`, when an environment is configured.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// assert_eq!(manager.api_base_url(), Some("https://api.eu.corti.app/v2"));
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn api_base_url(&self) -> Option<&str> {
        self.shared.config.api_base_url()
    }

    /// A relative API path (`"/interactions"`, `"interactions/1"`, with or
    /// without a query) joined onto the API base URL. A `Config` error when no
    /// base URL is known or `path` is an absolute URL (the token must not travel
    /// to another host).
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// assert_eq!(manager.api_url("/interactions")?, "https://api.eu.corti.app/v2/interactions");
    /// assert!(manager.api_url("https://elsewhere.example/steal").is_err());
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn api_url(&self, path: &str) -> Result<String> {
        let base = self.api_base_url().ok_or_else(|| {
            Error::config(
                "no API base URL: set the environment (CORTI_ENVIRONMENT) or the API base URL",
            )
        })?;
        api_url(base, path)
    }

    /// The stream URL with `token=Bearer%20{access_token}` appended. Gets a valid
    /// token at each call, so a reconnect never reuses an expired one.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// let ws = manager.websocket_url("wss://api.eu.corti.app/audio-bridge/v2/interactions/ID/streams?tenant-name=base")?;
    /// assert!(ws.ends_with("&token=Bearer%20eyJ.a-token.sig"));
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn websocket_url(&self, stream_url: &str) -> Result<String> {
        self.with_token(|t| urls::websocket_url(stream_url, t.secret()))?
    }

    /// Drops the cached token if it is still `rejected_token` (the API answered
    /// 401 to it; `"Bearer x"` and `"x"` are both accepted). Returns whether it
    /// was dropped: a burst of 401s for one token causes one refresh.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// let sent = manager.token()?;
    /// // … the API answered 401 to it:
    /// assert!(manager.invalidate(sent.secret()));
    /// assert!(!manager.invalidate(sent.secret()), "one refresh however many 401s");
    /// assert!(manager.cached_token().is_none());
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn invalidate(&self, rejected_token: &str) -> bool {
        let rejected = strip_bearer(rejected_token);
        let cached = self.shared.cache.load();
        let Some(c) = cached.as_ref() else {
            return false;
        };
        if rejected.is_empty() || c.token.secret() != rejected {
            return false;
        }
        let Ok(process) = self.shared.process() else {
            return false;
        };
        let previous =
            self.shared
                .cache
                .compare_and_swap(&cached, None::<Arc<Cached>>, &process.snapshot);
        let dropped = match (previous.as_ref(), cached.as_ref()) {
            (Some(p), Some(c)) => Arc::ptr_eq(p, c),
            _ => false,
        };
        if dropped {
            log::debug!("cortiauth: cached token invalidated after the API rejected it");
            if self.shared.listening() {
                let e = self.shared.token_event(EventKind::TokenRejected, &c.token);
                self.shared.emit(e);
            }
            if let Some(fleet) = &self.shared.fleet {
                fleet.reject(rejected);
            }
            // The last fetch's outcome must not keep it alive either (a waiter
            // that has not read it yet then finds no token and fetches anew).
            let mut flight = lock(&process.flight);
            if matches!(&flight.outcome, Some(Ok(t)) if t.secret() == rejected) {
                flight.outcome = None;
            }
        }
        dropped
    }

    /// The one 401 rule of every HTTP integration (requests, httpx, fetch,
    /// reqwest, reqwest-middleware). A request carried `sent_token` to
    /// `sent_to`; the answer came with `status` from `answered_by` (the final
    /// URL, after redirects). Returns `true` when the API rejected the token: a
    /// 401 from the origin the token was sent to. The token is then
    /// invalidated (only if it is still the cached one, so a burst of 401s
    /// causes one refresh) and the integration sends the request once more with
    /// a fresh token, if its body can be sent again. A 401 from another origin
    /// (a redirect that left it, where the token was not sent) says nothing
    /// about the token: `false`, and nothing is invalidated.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Settings {
    /// #     client_id: Some("c".into()), client_secret: Some("s".into()),
    /// #     environment: Some("eu".into()), ..Default::default() }.build()?)?;
    /// let api = "https://api.eu.corti.app/v2/interactions";
    /// assert!(!manager.on_response("tok", api, api, 200));
    /// assert!(!manager.on_response("tok", api, "https://elsewhere.example/x", 401));
    /// assert!(manager.on_response("tok", api, api, 401));
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn on_response(
        &self,
        sent_token: &str,
        sent_to: &str,
        answered_by: &str,
        status: u16,
    ) -> bool {
        if status != 401 || !urls::same_origin(sent_to, answered_by) {
            return false;
        }
        self.invalidate(sent_token);
        true
    }

    /// Replaces the client secret in place, without a restart: the next token
    /// request sends the new one (the token in use stays until its refresh),
    /// and the shared cache's slot follows it. A later change of
    /// `client_secret_file`, if one is set, replaces it again.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Settings {
    /// #     client_id: Some("c".into()), client_secret: Some("old".into()),
    /// #     environment: Some("eu".into()), ..Default::default() }.build()?)?;
    /// manager.set_client_secret("the-new-secret");
    /// assert!(manager.credential_loaded_at() <= std::time::SystemTime::now());
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn set_client_secret(&self, secret: impl Into<SecretString>) {
        let loaded = self.shared.config.client_secret.set(secret.into());
        self.shared.credential_event(&loaded);
    }

    /// When the client secret in use was loaded: at start-up, or at its last
    /// rotation (a changed `client_secret_file`, or [`TokenManager::set_client_secret`]).
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// assert!(manager.credential_loaded_at() <= std::time::SystemTime::now());
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn credential_loaded_at(&self) -> SystemTime {
        self.shared.config.client_secret.current().loaded_at
    }

    /// [`Config::describe`] with what the manager knows beyond its settings:
    /// `credential_loaded_at_ms` (Unix milliseconds) and `credential_source`
    /// (`settings`, `file` or `set_client_secret`); never the secret.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// let shown: serde_json::Value = serde_json::from_str(&manager.describe()).unwrap();
    /// assert_eq!(shown["client_secret"], "[REDACTED]");
    /// assert_eq!(shown["credential_source"], "settings");
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn describe(&self) -> String {
        let mut v: serde_json::Value =
            serde_json::from_str(&self.shared.config.describe()).unwrap_or_default();
        let c = self.shared.config.client_secret.current();
        if let Some(m) = v.as_object_mut() {
            let at = c
                .loaded_at
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or_default();
            m.insert("credential_loaded_at_ms".into(), at.into());
            m.insert("credential_source".into(), c.source.as_str().into());
        }
        v.to_string()
    }

    /// Calls `listener` with every event of this manager (a token fetched, a
    /// fetch failed, a token from the shared cache, a shared-cache error, a
    /// credential reloaded, a token rejected), replacing any listener set
    /// before. Events also go to `tracing` (target `cortiauth`) either way.
    ///
    /// The listener runs on the thread that ran the token request (the
    /// manager's worker, or a caller that ran it) after the waiting callers
    /// have their token: keep it short, hand the event over. Never on the
    /// cached path: reading a cached token makes no event.
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// manager.on_event(|e| eprintln!("{}", e.summary())); // or e.to_json(), e.token (the audit record)
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn on_event(&self, listener: impl Fn(&Event) + Send + Sync + 'static) {
        self.shared
            .listener
            .store(Some(Arc::new(Box::new(listener) as Box<Listener>)));
    }

    /// Removes the listener set by [`TokenManager::on_event`].
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// manager.on_event(|e| println!("{}", e.kind));
    /// manager.remove_event_listener();
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn remove_event_listener(&self) {
        self.shared.listener.store(None);
    }

    /// The manager's counters (token requests, cache hits, refreshes, failures, shared cache).
    ///
    /// ```
    /// # let manager = cortiauth::TokenManager::new(cortiauth::Config::builder()
    /// #     .client_id("my-client").client_secret("my-secret").environment("eu").build()?)?;
    /// # let in_5_min = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    /// # manager.seed("eyJ.a-token.sig", in_5_min, None); // a cached token: no request here
    /// manager.token()?;
    /// let s = manager.stats();
    /// assert_eq!((s.token_requests, s.cache_hits), (0, 1)); // the seeded token, from the cache
    /// # Ok::<(), cortiauth::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        let mut stats = self.shared.counters.snapshot();
        if let Some(fleet) = &self.shared.fleet {
            fleet.add_stats(&mut stats);
        }
        stats
    }

    #[cfg(test)]
    fn clock(&self) -> &Clock {
        &self.shared.clock
    }
}

fn api_url(base: &str, path: &str) -> Result<String> {
    let path = path.trim();
    if path.contains("://") || path.starts_with("//") {
        return Err(Error::config(format!(
            "{path:?} is not a relative API path (absolute URLs are refused so that the token stays with the API)"
        )));
    }
    let base = base.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return Ok(base.to_string());
    }
    Ok(format!("{base}/{path}"))
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}
