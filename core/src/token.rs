//! An access token as handed to callers: cheap to clone, redacted when printed.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The `Authorization` scheme prefix, for hosts that build the header value in
/// memory of their own (the C library writes it straight into the allocation
/// it returns).
pub const BEARER: &str = "Bearer ";

/// `"Bearer x"` → `"x"` (the scheme in any case, surrounding spaces ignored): a
/// token as callers hand it back (`invalidate`, `seed`, `fingerprint`).
pub(crate) fn strip_bearer(token: &str) -> &str {
    let t = token.trim();
    match t.get(..BEARER.len()) {
        Some(p) if p.eq_ignore_ascii_case(BEARER) => t[BEARER.len()..].trim_start(),
        _ => t,
    }
}

use crate::secret::SecretString;

/// A valid access token and what the server said about it.
///
/// Cloning is a reference-count increment. `Debug` never shows the value; use
/// [`AccessToken::secret`] to read it.
#[derive(Clone)]
pub struct AccessToken(Arc<TokenInner>);

struct TokenInner {
    value: SecretString,
    /// Names this token among all obtained in this process (see `generation()`).
    generation: u64,
    token_type: String,
    scope: Option<String>,
    /// Monotonic expiry, immune to wall-clock jumps.
    expires_at: Instant,
    /// The same moment on the wall clock, for callers.
    expires_at_system: SystemTime,
    lifetime: Duration,
}

impl AccessToken {
    pub(crate) fn new(
        value: SecretString,
        token_type: String,
        scope: Option<String>,
        requested_at: (Instant, SystemTime),
        lifetime: Duration,
    ) -> Self {
        AccessToken(Arc::new(TokenInner {
            value,
            generation: next_generation(),
            token_type,
            scope,
            expires_at: far_instant(requested_at.0, lifetime),
            expires_at_system: far_system_time(requested_at.1, lifetime),
            lifetime,
        }))
    }

    /// The raw token. Never log it.
    pub fn secret(&self) -> &str {
        self.0.value.expose()
    }

    /// `Bearer {token}`, the value of the `Authorization` header.
    pub fn authorization_header(&self) -> String {
        format!("{BEARER}{}", self.secret())
    }

    /// A number naming this token: the same for every copy of it, a new one
    /// for every token obtained in this process (fetched, seeded or read from
    /// a shared store), never 0. Bindings use it to reuse the string they made
    /// for a token without comparing values or addresses.
    pub fn generation(&self) -> u64 {
        self.0.generation
    }

    /// As the server sent it (`Bearer`).
    pub fn token_type(&self) -> &str {
        &self.0.token_type
    }

    /// The scope the server granted, when it said (`openid email profile`).
    pub fn scope(&self) -> Option<&str> {
        self.0.scope.as_deref()
    }

    /// When the token expires, on the monotonic clock.
    pub fn expires_at(&self) -> Instant {
        self.0.expires_at
    }

    /// When the token expires, on the wall clock.
    pub fn expires_at_system(&self) -> SystemTime {
        self.0.expires_at_system
    }

    /// When the token expires, in seconds since the Unix epoch.
    pub fn expires_at_unix(&self) -> i64 {
        match self.0.expires_at_system.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        }
    }

    /// Time left before expiry (zero once expired).
    pub fn expires_in(&self) -> Duration {
        self.0.expires_at.saturating_duration_since(Instant::now())
    }

    /// The lifetime the server gave the token.
    pub fn lifetime(&self) -> Duration {
        self.0.lifetime
    }

    #[cfg(test)]
    pub(crate) fn downgrade_for_test(&self) -> std::sync::Weak<impl Sized> {
        Arc::downgrade(&self.0)
    }

    /// A copy with its own reference count (for per-thread copies).
    pub(crate) fn detached_copy(&self) -> AccessToken {
        let t = &self.0;
        AccessToken(Arc::new(TokenInner {
            value: t.value.clone(),
            generation: t.generation,
            token_type: t.token_type.clone(),
            scope: t.scope.clone(),
            expires_at: t.expires_at,
            expires_at_system: t.expires_at_system,
            lifetime: t.lifetime,
        }))
    }
}

/// The next token's generation (starts at 1: 0 means "no token" to bindings).
fn next_generation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A day short of forever: what an absurd lifetime is cut to.
const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `at + d` without overflow: a huge lifetime from a server must not panic.
fn far_instant(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(FAR))
        .unwrap_or(at)
}

fn far_system_time(at: SystemTime, d: Duration) -> SystemTime {
    at.checked_add(d)
        .or_else(|| at.checked_add(FAR))
        .unwrap_or(at)
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &self.0.value)
            .field("token_type", &self.0.token_type)
            .field("scope", &self.0.scope)
            .field("expires_in", &self.expires_in())
            .finish()
    }
}
