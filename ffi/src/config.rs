//! `cortiauth_config`: settings collected before a manager is built.

use std::ffi::c_char;
use std::ptr;
use std::time::Duration;

use cortiauth::{AuthMethod, Config, ConfigBuilder, RetryPolicy};

use crate::boundary::{arg_str, handle_mut, Handle};
use crate::error::Failure;
use crate::status::cortiauth_status;

/// Settings for a token manager, filled in with the `cortiauth_config_set_*`
/// functions and read by `cortiauth_manager_new` (which copies them: the config
/// may be freed or reused right after).
///
/// Nothing is validated until `cortiauth_manager_new`, except each setter's own
/// argument. Not thread-safe: do not use one config from two threads at once.
/// Release it with `cortiauth_config_free`.
pub struct cortiauth_config {
    _private: [u8; 0],
}

/// How the client authenticates at the token endpoint
/// (for `cortiauth_config_set_auth_method`). Numbers are stable.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cortiauth_auth_method {
    /// `client_id` and `client_secret` in the form body: Corti's documented way (the default).
    ClientSecretPost = 0,
    /// HTTP Basic authentication (Tiro.health and other RFC 6749 servers accept it).
    ClientSecretBasic = 1,
}

/// One hour: a longer wait for a token is a mistake (and would overflow clocks at the extreme).
const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// What a `cortiauth_config` points to.
pub struct ConfigState {
    builder: ConfigBuilder,
    /// Kept here so that setting a name twice replaces its value.
    extra_params: Vec<(String, String)>,
    ca_cert_pem: Option<Vec<u8>>,
    retry: RetryPolicy,
}

// SAFETY: every `*const cortiauth_config` handed out is a `Box<ConfigState>`.
unsafe impl Handle for cortiauth_config {
    type Inner = ConfigState;
}

impl ConfigState {
    fn new(builder: ConfigBuilder) -> ConfigState {
        ConfigState {
            builder: builder.user_agent_suffix(concat!("cortiauth-c/", env!("CARGO_PKG_VERSION"))),
            extra_params: Vec::new(),
            ca_cert_pem: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The validated core configuration.
    pub(crate) fn build(&self) -> Result<Config, Failure> {
        let mut b = self.builder.clone().retry_policy(self.retry);
        for (name, value) in &self.extra_params {
            b = b.extra_param(name.as_str(), value.as_str());
        }
        if let Some(pem) = &self.ca_cert_pem {
            b = b.add_ca_certificate_pem(pem.clone());
        }
        Ok(b.build()?)
    }

    fn into_raw(self) -> *mut cortiauth_config {
        Box::into_raw(Box::new(self)).cast()
    }
}

/// Applies `f` to the builder behind `config`.
///
/// SAFETY (caller): `config` is NULL or a live config not used elsewhere meanwhile.
unsafe fn update(
    config: *mut cortiauth_config,
    f: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Result<(), Failure> {
    // SAFETY: per the caller's contract.
    let state = unsafe { handle_mut(config, "config") }?;
    state.builder = f(std::mem::take(&mut state.builder));
    Ok(())
}

/// A new, empty configuration (token URL built from environment and tenant,
/// `client_secret_post`, scope `openid`, 10 s request timeout, 4 attempts).
///
/// Returns NULL only if the library failed internally. Free it with `cortiauth_config_free`.
#[no_mangle]
pub extern "C" fn cortiauth_config_new() -> *mut cortiauth_config {
    ffi_boundary!(default: ptr::null_mut(), {
        ConfigState::new(Config::builder()).into_raw()
    })
}

/// A configuration pre-filled from the environment variables `CORTI_CLIENT_ID`,
/// `CORTI_CLIENT_SECRET`, `CORTI_ENVIRONMENT`, `CORTI_TENANT_NAME`,
/// `CORTI_TOKEN_URL` and `CORTI_SCOPES` (read now); setters called afterwards
/// override them. Missing values are reported by `cortiauth_manager_new`.
///
/// Returns NULL only if the library failed internally. Free it with `cortiauth_config_free`.
#[no_mangle]
pub extern "C" fn cortiauth_config_from_env() -> *mut cortiauth_config {
    ffi_boundary!(default: ptr::null_mut(), {
        ConfigState::new(ConfigBuilder::from_env()).into_raw()
    })
}

/// Releases a configuration (its copy of the secret is zeroed). NULL is a no-op.
/// Managers built from it are not affected.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_free(config: *mut cortiauth_config) {
    ffi_boundary!(default: (), {
        if !config.is_null() {
            // SAFETY: made by `ConfigState::into_raw` (a Box), freed once (C contract).
            drop(unsafe { Box::from_raw(config.cast::<ConfigState>()) });
        }
    })
}

/// Sets the OAuth client id (required). The string is copied.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if the string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_client_id(
    config: *mut cortiauth_config,
    client_id: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let v = unsafe { arg_str(client_id, "client_id") }?;
        unsafe { update(config, |b| b.client_id(v)) }
    })
}

/// Sets the OAuth client secret (required). The string is copied into memory that
/// is zeroed when the config and managers are freed; it never appears in messages.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if the string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_client_secret(
    config: *mut cortiauth_config,
    client_secret: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let v = unsafe { arg_str(client_secret, "client_secret") }?;
        unsafe { update(config, |b| b.client_secret(v)) }
    })
}

/// Sets the Corti environment (`"eu"`, `"us"`, `"beta-eu"`, …): the token URL becomes
/// `https://auth.{environment}.corti.app/realms/{tenant}/protocol/openid-connect/token`
/// and the API base URL `https://api.{environment}.corti.app/v2`. `""` unsets it.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if the string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_environment(
    config: *mut cortiauth_config,
    environment: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let v = unsafe { arg_str(environment, "environment") }?;
        unsafe { update(config, |b| b.environment(v)) }
    })
}

/// Sets the tenant name: the Keycloak realm and the `Tenant-Name` header
/// (`"base"` when not set or set to `""`).
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if the string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_tenant(
    config: *mut cortiauth_config,
    tenant: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let v = unsafe { arg_str(tenant, "tenant") }?;
        unsafe { update(config, |b| b.tenant(v)) }
    })
}

/// Sets the full token URL, overriding the one built from environment and tenant
/// (Tiro.health: `"https://auth.tiro.health/oauth/token"`). Must be `https://`
/// (plain `http://` only to loopback hosts). `""` unsets it.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if the string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_token_url(
    config: *mut cortiauth_config,
    token_url: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let v = unsafe { arg_str(token_url, "token_url") }?;
        unsafe { update(config, |b| b.token_url(v)) }
    })
}

/// Sets the scopes to request, separated by spaces (`"transcribe streams"`);
/// `openid` is always sent first. Replaces earlier scopes; `""` requests `openid` only.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if the string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_scopes(
    config: *mut cortiauth_config,
    scopes: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let v = unsafe { arg_str(scopes, "scopes") }?;
        unsafe { update(config, |b| b.scopes(v.split_whitespace())) }
    })
}

/// Sets how the client authenticates: a `cortiauth_auth_method` value
/// (`CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_POST`, the default, or
/// `CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_BASIC`).
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if `config` is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` for an unknown value.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_auth_method(
    config: *mut cortiauth_config,
    auth_method: u32,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        let method = match auth_method {
            m if m == cortiauth_auth_method::ClientSecretPost as u32 => AuthMethod::ClientSecretPost,
            m if m == cortiauth_auth_method::ClientSecretBasic as u32 => AuthMethod::ClientSecretBasic,
            other => {
                return Err(Failure::invalid_argument(format!(
                    "unknown auth method {other}: use CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_POST or _BASIC"
                )))
            }
        };
        // SAFETY: C contract: NULL or a valid config.
        unsafe { update(config, |b| b.auth_method(method)) }
    })
}

/// Sets the timeout of one HTTP request to the token endpoint, in milliseconds
/// (10000 by default; at most one hour).
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if `config` is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` for 0 or more than 3600000.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_timeout_ms(
    config: *mut cortiauth_config,
    timeout_ms: u64,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
            return Err(Failure::invalid_argument(
                "timeout_ms must be between 1 and 3600000 (one hour)",
            ));
        }
        // SAFETY: C contract: NULL or a valid config.
        unsafe { update(config, |b| b.timeout(Duration::from_millis(timeout_ms))) }
    })
}

/// Sets how many attempts one token acquisition may make when failures are
/// transient (network errors, timeouts, 5xx, 429), the first included; 1 disables
/// retries (4 by default, with exponential backoff within a 30 s deadline).
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if `config` is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` for 0.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_max_attempts(
    config: *mut cortiauth_config,
    max_attempts: u32,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        if max_attempts == 0 {
            return Err(Failure::invalid_argument("max_attempts must be at least 1"));
        }
        // SAFETY: C contract: NULL or a valid config.
        let state = unsafe { handle_mut(config, "config") }?;
        state.retry.max_attempts = max_attempts;
        if max_attempts == 1 {
            state.retry.failure_cooldown = Duration::ZERO;
        }
        Ok(())
    })
}

/// Sets an extra form parameter sent with every token request (`"audience"`,
/// `"resource"`); setting a name again replaces its value. Names that cortiauth
/// sets itself (`grant_type`, `client_id`, …) are refused by `cortiauth_manager_new`.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if a string is not UTF-8 or the name is empty.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_extra_param(
    config: *mut cortiauth_config,
    name: *const c_char,
    value: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let state = unsafe { handle_mut(config, "config") }?;
        let name = unsafe { arg_str(name, "name") }?;
        let value = unsafe { arg_str(value, "value") }?;
        if name.trim().is_empty() {
            return Err(Failure::invalid_argument("extra parameter name is empty"));
        }
        match state.extra_params.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value.to_string(),
            None => state.extra_params.push((name.to_string(), value.to_string())),
        }
        Ok(())
    })
}

/// Sets extra CA certificates to trust, as PEM text (one or several
/// certificates), for private deployments; replaces earlier ones, `""` removes
/// them. The system's roots stay trusted. The PEM is parsed by `cortiauth_manager_new`.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if the string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_ca_cert_pem(
    config: *mut cortiauth_config,
    pem: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let state = unsafe { handle_mut(config, "config") }?;
        let pem = unsafe { arg_str(pem, "pem") }?;
        state.ca_cert_pem = (!pem.trim().is_empty()).then(|| pem.as_bytes().to_vec());
        Ok(())
    })
}

/// Turns the background refresher on or off (off by default). When on, the
/// manager starts a thread that fetches the first token right away and refreshes
/// ahead of expiry, so no caller ever waits for the network; the thread ends when
/// the last handle to the manager is freed.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if `config` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_background_refresh(
    config: *mut cortiauth_config,
    enabled: bool,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or a valid config.
        unsafe { update(config, |b| b.background_refresh(enabled)) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setters_check_their_arguments() {
        unsafe {
            let c = cortiauth_config_new();
            assert!(!c.is_null());
            assert_eq!(
                cortiauth_config_set_client_id(ptr::null_mut(), c"x".as_ptr()),
                cortiauth_status::NullParameter
            );
            assert_eq!(
                cortiauth_config_set_client_id(c, ptr::null()),
                cortiauth_status::NullParameter
            );
            assert_eq!(
                cortiauth_config_set_client_secret(c, c"\xc3\x28".as_ptr()),
                cortiauth_status::InvalidArgument
            );
            assert_eq!(
                cortiauth_config_set_auth_method(c, 7),
                cortiauth_status::InvalidArgument
            );
            assert_eq!(
                cortiauth_config_set_timeout_ms(c, 0),
                cortiauth_status::InvalidArgument
            );
            assert_eq!(
                cortiauth_config_set_max_attempts(c, 0),
                cortiauth_status::InvalidArgument
            );
            assert_eq!(
                cortiauth_config_set_extra_param(c, c" ".as_ptr(), c"v".as_ptr()),
                cortiauth_status::InvalidArgument
            );
            cortiauth_config_free(c);
            cortiauth_config_free(ptr::null_mut());
        }
    }

    #[test]
    fn settings_reach_the_core_config() {
        unsafe {
            let c = cortiauth_config_new();
            assert_eq!(
                cortiauth_config_set_client_id(c, c"id".as_ptr()),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_client_secret(c, c"s3cr3t".as_ptr()),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_environment(c, c"beta-eu".as_ptr()),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_tenant(c, c"copiloteu".as_ptr()),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_scopes(c, c"transcribe  streams".as_ptr()),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_auth_method(
                    c,
                    cortiauth_auth_method::ClientSecretBasic as u32
                ),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_timeout_ms(c, 2500),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_max_attempts(c, 2),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_extra_param(c, c"audience".as_ptr(), c"a".as_ptr()),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_set_extra_param(c, c"audience".as_ptr(), c"b".as_ptr()),
                cortiauth_status::Ok
            );
            let state = &*c.cast::<ConfigState>();
            assert_eq!(
                state.extra_params,
                [("audience".to_string(), "b".to_string())]
            );
            let cfg = state.build().unwrap();
            assert_eq!(cfg.client_id(), "id");
            assert_eq!(
                cfg.token_url(),
                "https://auth.beta-eu.corti.app/realms/copiloteu/protocol/openid-connect/token"
            );
            assert_eq!(cfg.scopes(), ["openid", "transcribe", "streams"]);
            assert_eq!(cfg.auth_method(), AuthMethod::ClientSecretBasic);
            assert_eq!(cfg.timeout(), Duration::from_millis(2500));
            assert_eq!(cfg.retry_policy().max_attempts, 2);
            assert!(!format!("{cfg:?}").contains("s3cr3t"));
            cortiauth_config_free(c);
        }
    }

    #[test]
    fn reserved_extra_params_are_a_config_error() {
        unsafe {
            let c = cortiauth_config_new();
            cortiauth_config_set_client_id(c, c"id".as_ptr());
            cortiauth_config_set_client_secret(c, c"secret".as_ptr());
            cortiauth_config_set_environment(c, c"eu".as_ptr());
            cortiauth_config_set_extra_param(c, c"client_id".as_ptr(), c"other".as_ptr());
            let e = (*c.cast::<ConfigState>()).build().err().unwrap();
            assert_eq!(e.status, cortiauth_status::Config);
            cortiauth_config_free(c);
        }
    }
}
