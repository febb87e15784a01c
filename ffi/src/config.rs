//! `cortiauth_config`: a `cortiauth::Settings` filled in from C, one setter per field.
//!
//! Thin by design: each setter stores its argument in the matching `Settings`
//! field (durations in milliseconds through `Duration::from_millis`). Defaults,
//! ranges, the replace rules and the cooldown rule are the core's
//! (`Settings::build`, run by `cortiauth_manager_new` and `cortiauth_config_describe`).

use std::ffi::c_char;
use std::ptr;

use cortiauth::surface::{SettingValue, Surface};
use cortiauth::{AuthMethod, Settings};

use crate::error::cortiauth_error;
use crate::failure::Failure;
use crate::handle::{
    arg_str, free_box, into_box, out, owned_string, try_mut, try_ref, Handle, OwnedBox,
};
use crate::status::cortiauth_status;

/// Settings for a token manager, filled in with the `cortiauth_config_set_*`
/// functions (one per setting of the settings table in the README) and read by
/// `cortiauth_manager_new`, which copies them: the config may be freed or reused
/// right after.
///
/// Setters only store their value (they fail only for a NULL or non-UTF-8
/// argument, or an unknown enum value); every rule and range is checked by
/// `cortiauth_manager_new` (or `cortiauth_config_describe`), whose
/// `CORTIAUTH_STATUS_CONFIG` error names the setting. Not thread-safe: do not use
/// one config from two threads at once. Release it with `cortiauth_config_free`.
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
    /// A JWT assertion signed with HS256 over the client secret (RFC 7523).
    ClientSecretJwt = 2,
    /// A JWT assertion signed with the key of `cortiauth_config_set_private_key_file`:
    /// no client secret (RFC 7523).
    PrivateKeyJwt = 3,
    /// The TLS client certificate of `cortiauth_config_set_client_certificate_file`
    /// and `cortiauth_config_set_client_key_file` authenticates (RFC 8705).
    TlsClientAuth = 4,
}

// SAFETY: every `*const cortiauth_config` handed out is made by `into_box` in `new_config`.
unsafe impl Handle for cortiauth_config {
    type Inner = Settings;
    type Ownership = OwnedBox;
}

/// The surface name in the User-Agent (`cortiauth/<version> (c)`).
pub(crate) const BINDING: &str = "c";

fn new_config(settings: Settings) -> *mut cortiauth_config {
    into_box(Settings {
        binding: Some(BINDING.to_string()),
        ..settings
    })
}

/// Stores a typed value under the setting `name` (as C spells it) through the
/// core's one entry point. A typed value always fits its setting, so this
/// fails only for a NULL config.
///
/// SAFETY (caller): `config` is NULL or a live config not used elsewhere meanwhile.
pub(crate) unsafe fn set_named(
    config: *mut cortiauth_config,
    name: &'static str,
    value: SettingValue,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: per the caller's contract.
        let settings = unsafe { try_mut(config, "config") }?;
        settings.set(Surface::C, name, value)?;
        Ok(())
    })
}

/// [`set_named`] for a string argument (copied; must be UTF-8).
///
/// SAFETY (caller): as for [`set_named`]; `value` is NULL or a NUL-terminated string.
pub(crate) unsafe fn set_named_str(
    config: *mut cortiauth_config,
    name: &'static str,
    value: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: per the caller's contract.
        let settings = unsafe { try_mut(config, "config") }?;
        let value = unsafe { arg_str(value, name) }?;
        settings.set(Surface::C, name, SettingValue::Text(value.to_string()))?;
        Ok(())
    })
}

/// The settings behind a config, checked and with the defaults filled in.
///
/// SAFETY (caller): `config` is NULL or a live config.
pub(crate) unsafe fn build(config: *const cortiauth_config) -> Result<cortiauth::Config, Failure> {
    // SAFETY: per the caller's contract.
    let settings = unsafe { try_ref(config, "config") }?;
    Ok(settings.clone().build()?)
}

/// A new, empty configuration: every setting at the core's default (see the
/// settings table in the README, or `cortiauth_config_describe`).
///
/// Returns NULL only if the library failed internally. Free it with `cortiauth_config_free`.
#[no_mangle]
pub extern "C" fn cortiauth_config_new() -> *mut cortiauth_config {
    ffi_boundary!(default: ptr::null_mut(), { new_config(Settings::default()) })
}

/// A configuration pre-filled from the environment (read now): `CORTI_CLIENT_ID`,
/// `CORTI_CLIENT_SECRET`, `CORTI_CLIENT_SECRET_FILE`, `CORTI_ENVIRONMENT`,
/// `CORTI_TENANT_NAME`, `CORTI_TOKEN_URL`, `CORTI_SCOPES` and
/// `CORTIAUTH_SHARED_CACHE`; setters called afterwards override them. Missing
/// values are reported by `cortiauth_manager_new`.
///
/// Returns NULL only if the library failed internally. Free it with `cortiauth_config_free`.
#[no_mangle]
pub extern "C" fn cortiauth_config_from_env() -> *mut cortiauth_config {
    ffi_boundary!(default: ptr::null_mut(), { new_config(Settings::from_env()) })
}

/// Releases a configuration (its copy of the secret is zeroed). NULL is a no-op.
/// Managers built from it are not affected.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_free(config: *mut cortiauth_config) {
    ffi_boundary!(default: (), {
        // SAFETY: NULL or made by `new_config`, freed once (C contract).
        unsafe { free_box(config) }
    })
}

/// The effective settings this configuration would give a manager, as one line
/// of JSON (the string `cortiauth_manager_describe` returns for a manager built
/// from it): every setting with its default filled in, durations in
/// milliseconds, the secret as `"[REDACTED]"`. Nothing is fetched.
///
/// On success `*json` receives an owned string to release with
/// `cortiauth_string_free`. On failure `*json` is NULL:
/// `CORTIAUTH_STATUS_CONFIG` when the settings are incomplete or invalid (the
/// message names the setting), `CORTIAUTH_STATUS_NULL_PARAMETER`.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_describe(
    config: *const cortiauth_config,
    json: *mut *mut c_char,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY (this block): C contract: NULL or valid pointers.
        let json = unsafe { out(json, "json") }?;
        *json = ptr::null_mut();
        let config = unsafe { build(config) }?;
        *json = owned_string(&[config.describe().as_bytes()], "description")?;
        Ok(())
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
        // An unknown number is refused here: it has no Settings value to store.
        let method = match auth_method {
            m if m == cortiauth_auth_method::ClientSecretPost as u32 => AuthMethod::ClientSecretPost,
            m if m == cortiauth_auth_method::ClientSecretBasic as u32 => AuthMethod::ClientSecretBasic,
            m if m == cortiauth_auth_method::ClientSecretJwt as u32 => AuthMethod::ClientSecretJwt,
            m if m == cortiauth_auth_method::PrivateKeyJwt as u32 => AuthMethod::PrivateKeyJwt,
            m if m == cortiauth_auth_method::TlsClientAuth as u32 => AuthMethod::TlsClientAuth,
            other => {
                return Err(Failure::invalid_argument(format!(
                    "unknown auth method {other}: use CORTIAUTH_AUTH_METHOD_CLIENT_SECRET_POST, _BASIC, _JWT, CORTIAUTH_AUTH_METHOD_PRIVATE_KEY_JWT or CORTIAUTH_AUTH_METHOD_TLS_CLIENT_AUTH"
                )))
            }
        };
        // SAFETY: C contract: NULL or a valid config.
        unsafe { try_mut(config, "config") }?.auth_method = Some(method);
        Ok(())
    })
}

/// Sets an extra form parameter sent with every token request (`"audience"`,
/// `"resource"`); setting a name again replaces its value. Empty names and names
/// that cortiauth sets itself (`grant_type`, `client_id`, …) are refused by
/// `cortiauth_manager_new`.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if a string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_extra_param(
    config: *mut cortiauth_config,
    name: *const c_char,
    value: *const c_char,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let settings = unsafe { try_mut(config, "config") }?;
        let name = unsafe { arg_str(name, "name") }?;
        let value = unsafe { arg_str(value, "value") }?;
        settings.set_extra_param(name, value);
        Ok(())
    })
}

/// Deprecated: use `cortiauth_config_set_ca_certificates_pem` (the same
/// behaviour under the settings table's name; this old name still works).
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if the string is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set_ca_cert_pem(
    config: *mut cortiauth_config,
    pem: *const c_char,
) -> cortiauth_status {
    // SAFETY: C contract: NULL or valid pointers.
    unsafe { set_named_str(config, "ca_cert_pem", pem) }
}

/// Sets any setting by its name in the settings table as C spells it
/// (`"timeout_ms"`, `"client_id"`, `"refresh_margin_fraction"`, …), from its
/// value as text: a number (`"2500"`; durations in milliseconds, or with a unit:
/// `"2.5s"`), `"true"`/`"false"`, a string, or `"NAME=VALUE"` for
/// `extra_params`. For hosts that read settings from their own configuration
/// files; the typed setters are the same settings with C types.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL,
/// `CORTIAUTH_STATUS_INVALID_ARGUMENT` if a string is not UTF-8,
/// `CORTIAUTH_STATUS_CONFIG` for an unknown name (the error suggests the closest
/// known one) or a value of the wrong kind (the error never quotes the value).
#[no_mangle]
pub unsafe extern "C" fn cortiauth_config_set(
    config: *mut cortiauth_config,
    name: *const c_char,
    value: *const c_char,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY: per the caller's contract.
        let settings = unsafe { try_mut(config, "config") }?;
        let name = unsafe { arg_str(name, "name") }?;
        let value = unsafe { arg_str(value, "value") }?;
        settings.set(Surface::C, name, SettingValue::Parse(value.to_string()))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::free_owned_string;
    #[allow(unused_imports)]
    use crate::setters::*;
    use std::ffi::CStr;

    fn describe(c: *const cortiauth_config) -> Result<serde_json::Value, String> {
        unsafe {
            let mut json = ptr::null_mut();
            let mut err = ptr::null_mut();
            let status = cortiauth_config_describe(c, &mut json, &mut err);
            if status != cortiauth_status::Ok {
                let msg = CStr::from_ptr(crate::error::cortiauth_error_message(err))
                    .to_string_lossy()
                    .into_owned();
                crate::error::cortiauth_error_free(err);
                return Err(msg);
            }
            let v = serde_json::from_str(CStr::from_ptr(json).to_str().unwrap()).unwrap();
            free_owned_string(json);
            Ok(v)
        }
    }

    #[test]
    fn settings_by_name_old_names_and_unknown_names() {
        unsafe {
            let c = cortiauth_config_new();
            let ok = cortiauth_status::Ok;
            assert_eq!(cortiauth_config_set_client_id(c, c"id".as_ptr()), ok);
            assert_eq!(cortiauth_config_set_client_secret(c, c"s".as_ptr()), ok);
            assert_eq!(cortiauth_config_set_environment(c, c"eu".as_ptr()), ok);
            let mut err = ptr::null_mut();
            assert_eq!(
                cortiauth_config_set(c, c"max_backoff_ms".as_ptr(), c"5000".as_ptr(), &mut err),
                ok
            );
            assert_eq!(
                cortiauth_config_set(
                    c,
                    c"background_refresh".as_ptr(),
                    c"true".as_ptr(),
                    &mut err
                ),
                ok
            );
            let d = describe(c).unwrap();
            assert_eq!(d["max_backoff_ms"], 5000);
            assert_eq!(d["background_refresh"], true);
            // An unknown name: CONFIG, with the closest C spelling; nothing stored.
            let status =
                cortiauth_config_set(c, c"timeout".as_ptr(), c"secret-ish".as_ptr(), &mut err);
            assert_eq!(status, cortiauth_status::Config);
            let msg = CStr::from_ptr(crate::error::cortiauth_error_message(err))
                .to_string_lossy()
                .into_owned();
            crate::error::cortiauth_error_free(err);
            assert!(msg.contains("did you mean \"timeout_ms\""), "{msg}");
            assert!(!msg.contains("secret-ish"), "{msg}");
            // The old ca_cert_pem and the new name store the same.
            let pem = c"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
            assert_eq!(cortiauth_config_set_ca_cert_pem(c, pem.as_ptr()), ok);
            let old = describe(c).unwrap();
            assert_eq!(
                cortiauth_config_set_ca_certificates_pem(c, c"".as_ptr()),
                ok
            );
            assert_eq!(describe(c).unwrap()["ca_certificates"], 0);
            assert_eq!(
                cortiauth_config_set_ca_certificates_pem(c, pem.as_ptr()),
                ok
            );
            assert_eq!(describe(c).unwrap(), old);
            assert_eq!(old["ca_certificates"], 1);
            cortiauth_config_free(c);
        }
    }

    #[test]
    fn setters_check_only_pointers_utf8_and_enums() {
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
            // Ranges are the core's: the setter stores, the build refuses.
            assert_eq!(cortiauth_config_set_timeout_ms(c, 0), cortiauth_status::Ok);
            cortiauth_config_set_client_id(c, c"id".as_ptr());
            cortiauth_config_set_client_secret(c, c"secret".as_ptr());
            cortiauth_config_set_environment(c, c"eu".as_ptr());
            let e = describe(c).unwrap_err();
            assert!(e.contains("timeout must be"), "{e}");
            cortiauth_config_free(c);
            cortiauth_config_free(ptr::null_mut());
        }
    }

    #[test]
    fn every_setter_reaches_its_settings_field() {
        unsafe {
            let c = cortiauth_config_new();
            let ok = cortiauth_status::Ok;
            assert_eq!(cortiauth_config_set_client_id(c, c"id".as_ptr()), ok);
            assert_eq!(
                cortiauth_config_set_client_secret(c, c"s3cr3t".as_ptr()),
                ok
            );
            assert_eq!(cortiauth_config_set_environment(c, c"beta-eu".as_ptr()), ok);
            assert_eq!(cortiauth_config_set_tenant(c, c"copiloteu".as_ptr()), ok);
            assert_eq!(
                cortiauth_config_set_scopes(c, c"transcribe  streams".as_ptr()),
                ok
            );
            assert_eq!(
                cortiauth_config_set_api_base_url(c, c"https://api.example.test/v2/".as_ptr()),
                ok
            );
            assert_eq!(
                cortiauth_config_set_auth_method(
                    c,
                    cortiauth_auth_method::ClientSecretBasic as u32
                ),
                ok
            );
            assert_eq!(
                cortiauth_config_set_extra_param(c, c"audience".as_ptr(), c"a".as_ptr()),
                ok
            );
            assert_eq!(
                cortiauth_config_set_extra_param(c, c"audience".as_ptr(), c"b".as_ptr()),
                ok
            );
            assert_eq!(cortiauth_config_set_timeout_ms(c, 2500), ok);
            assert_eq!(cortiauth_config_set_max_attempts(c, 2), ok);
            assert_eq!(cortiauth_config_set_initial_backoff_ms(c, 250), ok);
            assert_eq!(cortiauth_config_set_max_backoff_ms(c, 2000), ok);
            assert_eq!(cortiauth_config_set_retry_deadline_ms(c, 12000), ok);
            assert_eq!(cortiauth_config_set_failure_cooldown_ms(c, 3000), ok);
            assert_eq!(cortiauth_config_set_refresh_margin_ms(c, 30000), ok);
            assert_eq!(cortiauth_config_set_refresh_margin_fraction(c, 0.1), ok);
            assert_eq!(cortiauth_config_set_default_lifetime_ms(c, 3_600_000), ok);
            assert_eq!(cortiauth_config_set_background_refresh(c, true), ok);
            assert_eq!(
                cortiauth_config_set_shared_cache(c, c"file:///tmp/cortiauth-cache".as_ptr()),
                ok
            );
            let d = describe(c).unwrap();
            assert_eq!(d["client_id"], "id");
            assert_eq!(d["client_secret"], "[REDACTED]");
            assert_eq!(
                d["token_url"],
                "https://auth.beta-eu.corti.app/realms/copiloteu/protocol/openid-connect/token"
            );
            assert_eq!(
                d["scopes"],
                serde_json::json!(["openid", "transcribe", "streams"])
            );
            assert_eq!(d["api_base_url"], "https://api.example.test/v2");
            assert_eq!(d["auth_method"], "client_secret_basic");
            assert_eq!(d["extra_params"], serde_json::json!([["audience", "b"]]));
            assert_eq!(d["timeout_ms"], 2500);
            assert_eq!(d["max_attempts"], 2);
            assert_eq!(d["initial_backoff_ms"], 250);
            assert_eq!(d["max_backoff_ms"], 2000);
            assert_eq!(d["retry_deadline_ms"], 12000);
            assert_eq!(d["failure_cooldown_ms"], 3000);
            assert_eq!(d["refresh_margin_ms"], 30000);
            assert_eq!(d["refresh_margin_fraction"], 0.1);
            assert_eq!(d["default_lifetime_ms"], 3_600_000);
            assert_eq!(d["background_refresh"], true);
            assert_eq!(d["shared_cache"], "file:///tmp/cortiauth-cache");
            assert!(d["user_agent"].as_str().unwrap().ends_with(" (c)"), "{d}");
            // The secret file replaces the secret (core's rule).
            assert_eq!(
                cortiauth_config_set_client_secret_file(c, c"/nonexistent/secret".as_ptr()),
                ok
            );
            let e = describe(c).unwrap_err();
            assert!(e.contains("/nonexistent/secret"), "{e}");
            assert!(!e.contains("s3cr3t"), "{e}");
            cortiauth_config_free(c);
        }
    }

    #[test]
    fn the_cooldown_rule_and_defaults_are_the_cores() {
        unsafe {
            let c = cortiauth_config_new();
            cortiauth_config_set_client_id(c, c"id".as_ptr());
            cortiauth_config_set_client_secret(c, c"secret".as_ptr());
            cortiauth_config_set_environment(c, c"eu".as_ptr());
            let d = describe(c).unwrap();
            assert_eq!(d["timeout_ms"], 10000);
            assert_eq!(d["failure_cooldown_ms"], 1000);
            cortiauth_config_set_max_attempts(c, 1);
            assert_eq!(describe(c).unwrap()["failure_cooldown_ms"], 0);
            cortiauth_config_set_failure_cooldown_ms(c, 2000);
            assert_eq!(describe(c).unwrap()["failure_cooldown_ms"], 2000);
            cortiauth_config_set_max_attempts(c, 0);
            assert!(describe(c).unwrap_err().contains("max_attempts"));
            cortiauth_config_free(c);
        }
    }

    #[test]
    fn reserved_or_empty_extra_params_are_a_config_error() {
        unsafe {
            for name in [c"client_id", c" "] {
                let c = cortiauth_config_new();
                cortiauth_config_set_client_id(c, c"id".as_ptr());
                cortiauth_config_set_client_secret(c, c"secret".as_ptr());
                cortiauth_config_set_environment(c, c"eu".as_ptr());
                cortiauth_config_set_extra_param(c, name.as_ptr(), c"other".as_ptr());
                let e = build(c).err().unwrap();
                assert_eq!(e.status, cortiauth_status::Config);
                cortiauth_config_free(c);
            }
        }
    }
}
