//! What a manager did, as structured events: a token fetched (how long it
//! took, how many attempts, who waited), a fetch that failed, a token taken
//! from the shared cache, a shared-cache error, a credential reloaded, a token
//! an API rejected. Every event carries the audit record of its token (a
//! fingerprint, never the token) when there is one.
//!
//! Events are made only where a token request or a rejection happens: the
//! cached path never makes one, so its cost does not change. Each one goes to
//! `tracing` (target `cortiauth`) and to the listener set with
//! [`crate::TokenManager::on_event`] (which the Python, Node and C surfaces use
//! to deliver it in their own channel).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};
use crate::token::{strip_bearer, AccessToken};
use crate::StoreErrorKind;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A token came from the token endpoint.
    TokenFetched,
    /// A token request failed after its retries.
    FetchFailed,
    /// A token came from the shared cache (another process fetched it).
    SharedCacheHit,
    /// The shared cache failed (the manager fetched directly instead).
    StoreError,
    /// The client secret changed: its file was rewritten, or `set_client_secret`.
    CredentialReloaded,
    /// An API answered 401 to a token, which was then dropped.
    TokenRejected,
}

impl EventKind {
    /// The event's name in every surface: `token_fetched`, `fetch_failed`,
    /// `shared_cache_hit`, `store_error`, `credential_reloaded`, `token_rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TokenFetched => "token_fetched",
            EventKind::FetchFailed => "fetch_failed",
            EventKind::SharedCacheHit => "shared_cache_hit",
            EventKind::StoreError => "store_error",
            EventKind::CredentialReloaded => "credential_reloaded",
            EventKind::TokenRejected => "token_rejected",
        }
    }

    /// Failures are warnings; the rest is information.
    pub fn is_warning(self) -> bool {
        matches!(self, EventKind::FetchFailed | EventKind::StoreError)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who waited for a token request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trigger {
    /// A caller had no usable token and waited.
    Caller,
    /// Nobody waited: a refresh ahead of expiry (the background worker).
    Background,
}

impl Trigger {
    /// `caller` or `background`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Caller => "caller",
            Trigger::Background => "background",
        }
    }
}

/// The record to keep of every token issued to this process (the answer to
/// "which service held the token that leaked?"): a fingerprint, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenAudit {
    /// The first 16 hex digits of the token's SHA-256: the same in every
    /// surface for the same token ([`fingerprint`]).
    pub fingerprint: String,
    /// The JWT's `jti` claim, when the token is a JWT with one.
    pub jti: Option<String>,
    /// The scope granted (the response's `scope`, else the JWT's).
    pub scope: Option<String>,
    /// The JWT's `aud` claim (one or several audiences).
    pub audience: Vec<String>,
    /// The JWT's `iat` claim.
    pub issued_at: Option<SystemTime>,
    /// When the token expires.
    pub expires_at: SystemTime,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// This process.
    pub pid: u32,
    /// The surface that holds it: `rust`, `python`, `node`, `c`, `cli`.
    pub surface: String,
}

/// The fingerprint of an access token: the first 16 hex digits of its SHA-256
/// (64 bits: enough to tell tokens apart, useless to rebuild one). A
/// `"Bearer "` prefix is ignored.
pub fn fingerprint(access_token: &str) -> String {
    let digest = Sha256::digest(strip_bearer(access_token).as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl TokenAudit {
    pub(crate) fn of(token: &AccessToken, client_id: &str, surface: &str) -> TokenAudit {
        let claims = crate::response::jwt_claims(token.secret());
        let claim = |name: &str| claims.as_ref().and_then(|c| c.get(name));
        let text = |name: &str| claim(name).and_then(Value::as_str).map(str::to_string);
        let audience = match claim("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let issued_at = claim("iat")
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s >= 0.0)
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs_f64(s)));
        TokenAudit {
            fingerprint: fingerprint(token.secret()),
            jti: text("jti"),
            scope: token.scope().map(str::to_string).or_else(|| text("scope")),
            audience,
            issued_at,
            expires_at: token.expires_at_system(),
            client_id: client_id.to_string(),
            pid: std::process::id(),
            surface: surface.to_string(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "fingerprint": self.fingerprint,
            "jti": self.jti,
            "scope": self.scope,
            "audience": self.audience,
            "issued_at": self.issued_at.map(unix_secs),
            "expires_at": unix_secs(self.expires_at),
            "client_id": self.client_id,
            "pid": self.pid,
            "surface": self.surface,
        })
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One event. Nothing in it is a secret: no token, no client secret, no
/// refresh token (error details are the redacted ones of [`Error`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// When.
    pub at: SystemTime,
    /// The OAuth client.
    pub client_id: String,
    /// Who waited for the token request (`token_fetched`, `fetch_failed`).
    pub trigger: Option<Trigger>,
    /// How long the acquisition took, retries included.
    pub duration: Option<Duration>,
    /// HTTP requests it sent.
    pub attempts: Option<u32>,
    /// `fetch_failed`: the error's kind.
    pub error_kind: Option<ErrorKind>,
    /// `fetch_failed`: the OAuth `error` code (`invalid_client`, …).
    pub oauth_error: Option<String>,
    /// `fetch_failed`: the token endpoint's HTTP status.
    pub http_status: Option<u16>,
    /// `fetch_failed`: the server's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// `fetch_failed`: the error's message (redacted: never a secret).
    pub message: Option<String>,
    /// `store_error`: what failed.
    pub store_error: Option<StoreErrorKind>,
    /// `credential_reloaded`: `file` or `set_client_secret`.
    pub credential_source: Option<&'static str>,
    /// The token concerned (`token_fetched`, `shared_cache_hit`, `token_rejected`).
    pub token: Option<TokenAudit>,
}

impl Event {
    pub(crate) fn new(kind: EventKind, client_id: &str) -> Event {
        Event {
            kind,
            at: SystemTime::now(),
            client_id: client_id.to_string(),
            trigger: None,
            duration: None,
            attempts: None,
            error_kind: None,
            oauth_error: None,
            http_status: None,
            retry_after: None,
            message: None,
            store_error: None,
            credential_source: None,
            token: None,
        }
    }

    pub(crate) fn failed(mut self, error: &Error, retry_after: Option<Duration>) -> Event {
        self.error_kind = Some(error.kind());
        self.oauth_error = error.oauth_error().map(str::to_string);
        self.http_status = error.http_status();
        self.retry_after = retry_after;
        self.message = Some(error.to_string());
        self
    }

    /// The event as one JSON object: `event` (its name), `at` (Unix
    /// milliseconds), and only the fields it has (durations in `_ms`; the
    /// token's audit record under `token`). The same keys in every surface.
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("event".into(), self.kind.as_str().into());
        let at = self
            .at
            .duration_since(UNIX_EPOCH)
            .map(millis)
            .unwrap_or_default();
        m.insert("at".into(), at.into());
        m.insert("client_id".into(), self.client_id.clone().into());
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        put("trigger", self.trigger.map(|t| t.as_str().into()));
        put("duration_ms", self.duration.map(|d| millis(d).into()));
        put("attempts", self.attempts.map(Value::from));
        put("error_kind", self.error_kind.map(|k| k.as_str().into()));
        put("oauth_error", self.oauth_error.clone().map(Value::from));
        put("http_status", self.http_status.map(Value::from));
        put("retry_after_ms", self.retry_after.map(|d| millis(d).into()));
        put("message", self.message.clone().map(Value::from));
        put("store_error", self.store_error.map(|k| k.as_str().into()));
        put("credential_source", self.credential_source.map(Value::from));
        put("token", self.token.as_ref().map(TokenAudit::to_json));
        Value::Object(m).to_string()
    }

    /// One line for a log: the event's name and its main fields.
    pub fn summary(&self) -> String {
        let mut s = format!("cortiauth: {} (client {})", self.kind, self.client_id);
        if let Some(t) = self.trigger {
            s += &format!(", for the {}", t.as_str());
        }
        if let Some(d) = self.duration {
            s += &format!(", {} ms", millis(d));
        }
        if let Some(n) = self.attempts {
            s += &format!(", {n} attempt{}", if n == 1 { "" } else { "s" });
        }
        if let Some(m) = &self.message {
            s += &format!(": {m}");
        }
        if let Some(k) = self.store_error {
            s += &format!(": {}", k.as_str());
        }
        if let Some(src) = self.credential_source {
            s += &format!(" from {src}");
        }
        if let Some(t) = &self.token {
            s += &format!(", token {}", t.fingerprint);
        }
        s
    }

    /// Sends the event to `tracing` (target `cortiauth`).
    pub(crate) fn trace(&self) {
        let fingerprint = self.token.as_ref().map(|t| t.fingerprint.as_str());
        let jti = self.token.as_ref().and_then(|t| t.jti.as_deref());
        let duration_ms = self.duration.map(millis);
        let trigger = self.trigger.map(Trigger::as_str);
        let error_kind = self.error_kind.map(ErrorKind::as_str);
        let store_error = self.store_error.map(StoreErrorKind::as_str);
        let summary = self.summary();
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: "cortiauth",
                    $level,
                    event = self.kind.as_str(),
                    client_id = self.client_id.as_str(),
                    trigger,
                    duration_ms,
                    attempts = self.attempts,
                    error_kind,
                    oauth_error = self.oauth_error.as_deref(),
                    http_status = self.http_status,
                    store_error,
                    credential_source = self.credential_source,
                    fingerprint,
                    jti,
                    "{summary}"
                )
            };
        }
        if self.kind.is_warning() {
            emit!(tracing::Level::WARN);
        } else {
            emit!(tracing::Level::INFO);
        }
    }
}

/// A listener of a manager's events ([`crate::TokenManager::on_event`]).
pub(crate) type Listener = dyn Fn(&Event) + Send + Sync;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretString;
    use base64::Engine;
    use std::time::Instant;

    #[test]
    fn the_fingerprint_is_a_sha256_prefix_and_ignores_bearer() {
        // echo -n abc | sha256sum
        assert_eq!(fingerprint("abc"), "ba7816bf8f01cfea");
        assert_eq!(fingerprint("Bearer abc"), "ba7816bf8f01cfea");
        assert_eq!(fingerprint(" bearer  abc "), "ba7816bf8f01cfea");
    }

    #[test]
    fn the_audit_record_reads_the_jwt_claims_and_never_holds_the_token() {
        let claims = r#"{"jti":"j-1","aud":["a","b"],"iat":1700000000,"scope":"openid x"}"#;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwt = format!("{}.{}.sig", b64.encode("{}"), b64.encode(claims));
        let token = AccessToken::new(
            SecretString::new(jwt.clone()),
            "Bearer".into(),
            None,
            (Instant::now(), SystemTime::now()),
            Duration::from_secs(300),
        );
        let a = TokenAudit::of(&token, "client", "rust");
        assert_eq!(a.jti.as_deref(), Some("j-1"));
        assert_eq!(a.audience, ["a", "b"]);
        assert_eq!(a.scope.as_deref(), Some("openid x"));
        assert_eq!(
            a.issued_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(a.fingerprint, fingerprint(&jwt));
        let mut e = Event::new(EventKind::TokenFetched, "client");
        e.token = Some(a);
        e.trigger = Some(Trigger::Caller);
        let out = format!("{} {} {e:?}", e.to_json(), e.summary());
        assert!(!out.contains(&jwt) && !out.contains("sig"), "{out}");
        let v: Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["event"], "token_fetched");
        assert_eq!(v["trigger"], "caller");
        assert_eq!(v["token"]["jti"], "j-1");
        assert_eq!(v["token"]["issued_at"], 1_700_000_000);
        assert!(v.get("http_status").is_none(), "absent fields are left out");
    }
}
