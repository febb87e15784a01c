//! A manager's events for C hosts (a callback with a struct), secret rotation in
//! place, and the audit fingerprint of a token.

use std::ffi::{c_char, c_void, CString};

use crate::error::cortiauth_error;
use crate::handle::{arg_str, lossy_c_string, out, try_ref};
use crate::manager::cortiauth_manager;
use crate::status::cortiauth_status;

/// One event of a manager, as `cortiauth_event_callback` receives it. Every
/// string is valid during the call only (copy what you keep) and none holds a
/// token or a secret: a token is named by its fingerprint.
#[repr(C)]
pub struct cortiauth_event {
    /// `"token_fetched"`, `"fetch_failed"`, `"shared_cache_hit"`, `"store_error"`,
    /// `"credential_reloaded"` or `"token_rejected"`.
    pub name: *const c_char,
    /// The whole event as one line of JSON, with the same keys in every language
    /// (`event`, `at`, `client_id`, `trigger`, `duration_ms`, `attempts`,
    /// `error_kind`, `oauth_error`, `http_status`, `retry_after_ms`, `message`,
    /// `store_error`, `credential_source`, and `token`: the audit record with
    /// `fingerprint`, `jti`, `scope`, `audience`, `issued_at`, `expires_at`,
    /// `client_id`, `pid`, `surface`).
    pub json: *const c_char,
    /// The OAuth client.
    pub client_id: *const c_char,
    /// The fingerprint of the token concerned (16 hex digits), NULL when none.
    pub fingerprint: *const c_char,
    /// A failure (`fetch_failed`, `store_error`): log it as a warning.
    pub is_warning: bool,
}

/// Receives a manager's events. Called on the thread that ran the token request:
/// the manager's worker thread (a refresh ahead, the background refresher) or a
/// thread of yours that asked for a token and ran the request itself; never
/// concurrently for one manager's token requests, and never on the cached path.
/// Keep it short (copy the event and return): the next token request of this
/// manager waits for it. It must not free the manager.
pub type cortiauth_event_callback =
    Option<unsafe extern "C" fn(event: *const cortiauth_event, user_data: *mut c_void)>;

/// The host's `user_data`, handed back to its callback as it is.
struct UserData(*mut c_void);
// SAFETY: the pointer is only passed back to the host's callback, which the
// documentation says may be called from any thread.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// Calls `callback` (with `user_data`) for each event of `manager`, replacing
/// the callback set before; a NULL `callback` removes it. See
/// `cortiauth_event_callback` for the thread it runs on.
///
/// A call already under way on another thread may still finish after this
/// returns, or after `cortiauth_manager_free`: keep `user_data` valid for the
/// life of the process (a static or a leaked object), or until every thread
/// that may run a token request is done.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` when `manager` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_set_event_callback(
    manager: *const cortiauth_manager,
    callback: cortiauth_event_callback,
    user_data: *mut c_void,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY: C contract: NULL or a live handle.
        let m = unsafe { try_ref(manager, "manager") }?;
        let Some(callback) = callback else {
            m.tokens().remove_event_listener();
            return Ok(());
        };
        let user_data = UserData(user_data);
        m.tokens().on_event(move |e| {
            let name = lossy_c_string(e.kind.as_str());
            let json = lossy_c_string(&e.to_json());
            let client_id = lossy_c_string(&e.client_id);
            let fingerprint = e.token.as_ref().map(|t| lossy_c_string(&t.fingerprint));
            let event = cortiauth_event {
                name: name.as_ptr(),
                json: json.as_ptr(),
                client_id: client_id.as_ptr(),
                fingerprint: fingerprint.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                is_warning: e.kind.is_warning(),
            };
            let user_data = &user_data;
            // SAFETY: the host's callback, with the pointers it was given and
            // strings that live until it returns.
            unsafe { callback(&event, user_data.0) };
        });
        Ok(())
    })
}

/// Replaces the client secret in place, without a restart: the next token
/// request sends it (the token in use stays until its refresh), and the shared
/// cache's slot follows it. A later change of `client_secret_file`, if one is
/// set, replaces it again (a rewritten secret file is read again by itself,
/// before the next token request). `secret` is copied; wipe yours as you wish.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` when an argument is NULL,
/// `CORTIAUTH_STATUS_CONFIG` when `secret` is empty or not UTF-8. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_set_client_secret(
    manager: *const cortiauth_manager,
    secret: *const c_char,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY: C contract: NULL or valid pointers.
        let m = unsafe { try_ref(manager, "manager") }?;
        let secret = unsafe { arg_str(secret, "secret") }?;
        if secret.trim().is_empty() {
            return Err(cortiauth::Error::config("the new client secret is empty").into());
        }
        m.tokens().set_client_secret(secret);
        Ok(())
    })
}

/// When the client secret in use was loaded, in Unix milliseconds: when the
/// manager was built, or at its last rotation (a rewritten `client_secret_file`,
/// or `cortiauth_manager_set_client_secret`). 0 when `manager` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_credential_loaded_at_ms(
    manager: *const cortiauth_manager,
) -> i64 {
    ffi_boundary!(default: 0, {
        // SAFETY: C contract: NULL or a live handle.
        unsafe { try_ref(manager, "manager") }.map_or(0, |m| {
            m.tokens()
                .credential_loaded_at()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        })
    })
}

/// The length of a fingerprint with its terminating NUL (`cortiauth_fingerprint`).
pub const CORTIAUTH_FINGERPRINT_SIZE: usize = 17;

/// Writes the audit fingerprint of `access_token` (the first 16 hex digits of
/// its SHA-256, the same in every language; a `"Bearer "` prefix is ignored)
/// and a NUL into `out`, which holds `CORTIAUTH_FINGERPRINT_SIZE` bytes.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` when an argument is NULL,
/// `CORTIAUTH_STATUS_CONFIG` when `access_token` is not UTF-8.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_fingerprint(
    access_token: *const c_char,
    out: *mut [c_char; CORTIAUTH_FINGERPRINT_SIZE],
) -> cortiauth_status {
    ffi_boundary!(err: std::ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let token = unsafe { arg_str(access_token, "access_token") }?;
        let out = unsafe { self::out(out, "out") }?;
        let f = CString::new(cortiauth::fingerprint(token)).unwrap_or_default();
        for (o, b) in out.iter_mut().zip(f.as_bytes_with_nul()) {
            *o = *b as c_char;
        }
        Ok(())
    })
}
