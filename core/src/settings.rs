//! Every setting a token manager has, as plain data.
//!
//! [`Settings`] is the one place the settings are declared (the idea of
//! golang.org/x/oauth2's `clientcredentials.Config`): every field is optional,
//! and [`Settings::build`] fills in the defaults, applies the replace-vs-append
//! rules and checks every range, once. The Rust builder, the `CORTI_*`
//! environment variables, the C setters, the Python keywords, the Node options
//! and the CLI flags are all field-by-field mappings onto it, and
//! [`Config::describe`](crate::Config::describe) shows the effective result with
//! the same field names in every surface.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{AuthMethod, Config};
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// All settings of a token manager; `None` (or empty) means "the default".
///
/// ```
/// use cortiauth::Settings;
/// let config = Settings {
///     client_id: Some("my-client".into()),
///     client_secret: Some("my-secret".into()),
///     environment: Some("eu".into()),
///     ..Settings::default()
/// }
/// .build()?;
/// assert_eq!(config.tenant(), "base");
/// # Ok::<(), cortiauth::Error>(())
/// ```
///
/// Defaults and rules (the same in every language):
///
/// | field | default | rule |
/// |---|---|---|
/// | `client_id` | required | |
/// | `client_secret` | required, unless `client_secret_file` | not both |
/// | `client_secret_file` | none | first line of the file, newline stripped |
/// | `environment` | none | required unless `token_url`; letters, digits, `-`, `_` |
/// | `tenant` | `base` | letters, digits, `-`, `_` |
/// | `scopes` | `openid` | `openid` always first, duplicates dropped; setting replaces |
/// | `token_url` | from environment and tenant | https, or http to a loopback host |
/// | `api_base_url` | from environment | |
/// | `auth_method` | `client_secret_post` | |
/// | `extra_params` | none | a name given twice keeps the last value |
/// | `timeout` | 10 s | (0, 1 h] |
/// | `max_attempts` | 4 | 1 to 100 |
/// | `initial_backoff` | 100 ms | ≤ 1 h |
/// | `max_backoff` | 5 s | ≤ 1 h |
/// | `retry_deadline` | 30 s | (0, 1 h] |
/// | `failure_cooldown` | 1 s, or 0 when `max_attempts` is 1 | ≤ 1 h |
/// | `refresh_margin` | 60 s | ≤ 1 day |
/// | `refresh_margin_fraction` | 0.2 | [0, 1] |
/// | `expiry_skew` | 10 s | ≤ 1 h |
/// | `default_lifetime` | 300 s | [1 s, 366 days] |
/// | `background_refresh` | false | |
/// | `ca_certificates_pem` | none | each entry adds certificates |
/// | `shared_cache` | none | `redis://…`, `rediss://…` or `file:///dir` |
/// | `binding` | `rust` | shown in the User-Agent |
#[derive(Clone, Default, PartialEq)]
pub struct Settings {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// A file holding the secret (the Docker/Kubernetes `_FILE` convention).
    pub client_secret_file: Option<PathBuf>,
    /// `eu`, `us`, `beta-eu`, …: picks `auth.{environment}.corti.app`.
    pub environment: Option<String>,
    /// The Keycloak realm and `Tenant-Name` header.
    pub tenant: Option<String>,
    /// Scopes to request besides `openid`; entries may hold several space-separated scopes.
    pub scopes: Option<Vec<String>>,
    /// The full token URL (Tiro: `https://auth.tiro.health/oauth/token`).
    pub token_url: Option<String>,
    pub api_base_url: Option<String>,
    pub auth_method: Option<AuthMethod>,
    /// Extra form parameters sent with every token request (`audience`, `resource`).
    pub extra_params: Vec<(String, String)>,
    /// Timeout of one HTTP request to the token endpoint.
    pub timeout: Option<Duration>,
    /// Attempts in all for a token the caller needs, the first included; 1 disables retries.
    pub max_attempts: Option<u32>,
    pub initial_backoff: Option<Duration>,
    pub max_backoff: Option<Duration>,
    /// Overall time budget for one token acquisition, retries included.
    pub retry_deadline: Option<Duration>,
    /// After a failure, callers with no valid token get that error at once for this long.
    pub failure_cooldown: Option<Duration>,
    /// The most a token is refreshed ahead of its expiry.
    pub refresh_margin: Option<Duration>,
    /// The share of a token's lifetime it is refreshed ahead (the smaller of the two wins).
    pub refresh_margin_fraction: Option<f64>,
    /// The most a token stops being handed out before it expires (5 % of its lifetime at most).
    pub expiry_skew: Option<Duration>,
    /// Lifetime assumed when the server sends no `expires_in` and the token is not a JWT.
    pub default_lifetime: Option<Duration>,
    /// Refresh ahead of expiry on a background thread.
    pub background_refresh: Option<bool>,
    /// Extra trusted CA certificates (PEM; one entry may hold several).
    pub ca_certificates_pem: Vec<Vec<u8>>,
    /// A token cache shared between processes: `redis://…`, `rediss://…`, `file:///dir`.
    pub shared_cache: Option<String>,
    /// Which surface built the manager (`rust`, `c`, `python`, `node`, `cli`), for the User-Agent.
    pub binding: Option<String>,
}

/// Names of the environment variables read by [`Settings::from_env`].
pub mod env {
    pub const CLIENT_ID: &str = "CORTI_CLIENT_ID";
    pub const CLIENT_SECRET: &str = "CORTI_CLIENT_SECRET";
    pub const CLIENT_SECRET_FILE: &str = "CORTI_CLIENT_SECRET_FILE";
    pub const ENVIRONMENT: &str = "CORTI_ENVIRONMENT";
    pub const TENANT_NAME: &str = "CORTI_TENANT_NAME";
    pub const TOKEN_URL: &str = "CORTI_TOKEN_URL";
    pub const SCOPES: &str = "CORTI_SCOPES";
    pub const SHARED_CACHE: &str = "CORTIAUTH_SHARED_CACHE";
}

pub(crate) mod defaults {
    use std::time::Duration;
    pub const TENANT: &str = "base";
    pub const TIMEOUT: Duration = Duration::from_secs(10);
    pub const MAX_ATTEMPTS: u32 = 4;
    pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
    pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
    pub const RETRY_DEADLINE: Duration = Duration::from_secs(30);
    pub const FAILURE_COOLDOWN: Duration = Duration::from_secs(1);
    pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
    pub const REFRESH_MARGIN_FRACTION: f64 = 0.2;
    pub const EXPIRY_SKEW: Duration = Duration::from_secs(10);
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
    pub const BINDING: &str = "rust";
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Settings {
    /// Settings read from `CORTI_CLIENT_ID`, `CORTI_CLIENT_SECRET`,
    /// `CORTI_CLIENT_SECRET_FILE`, `CORTI_ENVIRONMENT`, `CORTI_TENANT_NAME`,
    /// `CORTI_TOKEN_URL`, `CORTI_SCOPES` (space-separated) and
    /// `CORTIAUTH_SHARED_CACHE`; unset or blank variables stay `None`. Fields set
    /// afterwards override them; missing required values are reported by
    /// [`Settings::build`].
    pub fn from_env() -> Settings {
        Settings {
            client_id: env_var(env::CLIENT_ID),
            client_secret: env_var(env::CLIENT_SECRET).map(SecretString::new),
            client_secret_file: env_var(env::CLIENT_SECRET_FILE).map(PathBuf::from),
            environment: env_var(env::ENVIRONMENT),
            tenant: env_var(env::TENANT_NAME),
            token_url: env_var(env::TOKEN_URL),
            scopes: env_var(env::SCOPES)
                .map(|s| s.split_whitespace().map(str::to_string).collect()),
            shared_cache: env_var(env::SHARED_CACHE),
            ..Settings::default()
        }
    }

    /// Sets the secret, and forgets a secret file set before (a later setting wins).
    pub fn set_client_secret(&mut self, secret: impl Into<SecretString>) {
        self.client_secret = Some(secret.into());
        self.client_secret_file = None;
    }

    /// Sets the secret file, and forgets a secret set before (a later setting wins).
    pub fn set_client_secret_file(&mut self, path: impl Into<PathBuf>) {
        self.client_secret_file = Some(path.into());
        self.client_secret = None;
    }

    /// Sets an extra form parameter; a name set again keeps only its last value.
    pub fn set_extra_param(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match self.extra_params.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.extra_params.push((name, value)),
        }
    }

    /// Applies the defaults and checks every setting.
    pub fn build(self) -> Result<Config> {
        Config::from_settings(self)
    }
}

/// A duration setting given as a number of seconds (Python's convention).
/// Rejects NaN, infinities, negative and out-of-range values with a
/// configuration error naming the setting, instead of panicking later.
pub fn duration_from_secs_f64(setting: &str, secs: f64) -> Result<Duration> {
    if secs.is_finite() && secs >= 0.0 {
        if let Ok(d) = Duration::try_from_secs_f64(secs) {
            return Ok(d);
        }
    }
    Err(Error::config(format!(
        "{setting} must be a finite, non-negative number of seconds, got {}",
        shown(secs)
    )))
}

/// A duration setting given as a number of milliseconds (Node's and C's convention).
pub fn duration_from_millis_f64(setting: &str, millis: f64) -> Result<Duration> {
    if millis.is_finite() && millis >= 0.0 {
        if let Ok(d) = Duration::try_from_secs_f64(millis / 1000.0) {
            return Ok(d);
        }
    }
    Err(Error::config(format!(
        "{setting} must be a finite, non-negative number of milliseconds, got {}",
        shown(millis)
    )))
}

/// A number as a person would write it: `1e300`, not three hundred digits.
fn shown(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e15 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// Checks that a duration setting lies in `[min, max]`.
pub(crate) fn check_range(setting: &str, v: Duration, min: Duration, max: Duration) -> Result<()> {
    if v < min || v > max {
        let bound = |d: Duration| {
            if d >= Duration::from_secs(1) {
                format!("{} s", d.as_secs_f64())
            } else {
                format!("{} ms", d.as_millis())
            }
        };
        let what = if min.is_zero() {
            format!("at most {}", bound(max))
        } else {
            format!("between {} and {}", bound(min), bound(max))
        };
        return Err(Error::config(format!(
            "{setting} must be {what}, got {}",
            bound(v)
        )));
    }
    Ok(())
}

/// Duration ranges, checked by [`Settings::build`].
pub(crate) mod ranges {
    use super::{DAY, HOUR};
    use std::time::Duration;
    pub const TIMEOUT: (Duration, Duration) = (Duration::from_millis(1), HOUR);
    pub const BACKOFF: (Duration, Duration) = (Duration::ZERO, HOUR);
    pub const RETRY_DEADLINE: (Duration, Duration) = (Duration::from_millis(1), HOUR);
    pub const FAILURE_COOLDOWN: (Duration, Duration) = (Duration::ZERO, HOUR);
    pub const REFRESH_MARGIN: (Duration, Duration) = (Duration::ZERO, DAY);
    pub const EXPIRY_SKEW: (Duration, Duration) = (Duration::ZERO, HOUR);
    pub const DEFAULT_LIFETIME: (Duration, Duration) =
        (Duration::from_secs(1), Duration::from_secs(366 * 24 * 3600));
    pub const MAX_ATTEMPTS: u32 = 100;
}

pub(crate) use crate::store::redact_url;

/// The API base URL: an absolute http(s) URL, without a trailing slash.
pub(crate) fn check_api_base_url(raw: &str) -> Result<String> {
    let url = url::Url::parse(raw)
        .map_err(|e| Error::config(format!("api_base_url {raw:?} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(Error::config(format!(
            "api_base_url {raw:?} must be an http(s) URL with a host"
        )));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

/// `redis://`, `rediss://` or `file:///absolute/dir`: the shape only, so a
/// setting describes the same in every build; whether this build can open it
/// (the `redis` feature) is checked when a manager is made (`store::check_url`).
pub(crate) fn check_shared_cache_url(raw: &str) -> Result<()> {
    let shown = redact_url(raw);
    let url = url::Url::parse(raw).map_err(|_| {
        Error::config(format!(
            "shared_cache {shown:?} is not a URL: use redis://host:port, rediss://… or file:///dir"
        ))
    })?;
    match url.scheme() {
        "redis" | "rediss" if url.host().is_some() => Ok(()),
        "file" if url.path().starts_with('/') && url.path().len() > 1 => Ok(()),
        _ => Err(Error::config(format!(
            "shared_cache {shown:?}: use redis://host:port, rediss://host:port or file:///dir"
        ))),
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("client_secret_file", &self.client_secret_file)
            .field("environment", &self.environment)
            .field("tenant", &self.tenant)
            .field("scopes", &self.scopes)
            .field("token_url", &self.token_url)
            .field("api_base_url", &self.api_base_url)
            .field("auth_method", &self.auth_method)
            .field(
                "extra_params",
                &self.extra_params.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("retry_deadline", &self.retry_deadline)
            .field("background_refresh", &self.background_refresh)
            .field("ca_certificates_pem", &self.ca_certificates_pem.len())
            .field(
                "shared_cache",
                &self.shared_cache.as_deref().map(redact_url),
            )
            .field("binding", &self.binding)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_millis_reject_what_would_panic_later() {
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e20, 1e300] {
            assert!(duration_from_secs_f64("timeout", bad).is_err(), "{bad}");
        }
        // Representable but absurd: converted, then refused by build's range check.
        let huge = duration_from_secs_f64("retry_deadline", 1e19).unwrap();
        let e = Settings {
            client_id: Some("id".into()),
            client_secret: Some("secret".into()),
            environment: Some("eu".into()),
            retry_deadline: Some(huge),
            ..Settings::default()
        }
        .build()
        .unwrap_err();
        assert!(e.to_string().contains("retry_deadline must be"), "{e}");
        for bad in [f64::NAN, -0.5, 1e23, 1e300] {
            let e = duration_from_millis_f64("timeoutMs", bad).unwrap_err();
            assert!(e.to_string().contains("timeoutMs"), "{e}");
            assert!(e.to_string().len() < 120, "{e}");
        }
        assert_eq!(
            duration_from_secs_f64("t", 1.5).unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            duration_from_millis_f64("t", 250.0).unwrap(),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn extra_param_set_twice_keeps_the_last_value() {
        let mut s = Settings::default();
        s.set_extra_param("audience", "a");
        s.set_extra_param("resource", "r");
        s.set_extra_param("audience", "b");
        assert_eq!(
            s.extra_params,
            [
                ("audience".to_string(), "b".to_string()),
                ("resource".to_string(), "r".to_string())
            ]
        );
    }

    #[test]
    fn a_later_secret_source_replaces_the_earlier() {
        let mut s = Settings::default();
        s.set_client_secret_file("/run/secrets/x");
        s.set_client_secret("abc");
        assert!(s.client_secret_file.is_none());
        s.set_client_secret_file("/run/secrets/y");
        assert!(s.client_secret.is_none());
    }

    #[test]
    fn debug_redacts() {
        let s = Settings {
            client_secret: Some("hunter2-secret".into()),
            shared_cache: Some("redis://:redispass@127.0.0.1:6379/0".into()),
            ..Settings::default()
        };
        let d = format!("{s:?}");
        assert!(!d.contains("hunter2-secret"), "{d}");
        assert!(!d.contains("redispass"), "{d}");
    }
}
