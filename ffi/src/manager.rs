//! `cortiauth_manager`: hands out valid access tokens.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use cortiauth::StoreErrorKind;
use cortiauth::{Settings, TokenManager};
use zeroize::Zeroizing;

use crate::config::cortiauth_config;
use crate::error::cortiauth_error;
use crate::failure::Failure;
use crate::handle::{
    arg_str, clone_arc, free_arc, into_arc, lossy_c_string, non_null, optional_out, out,
    owned_string, try_ref, Handle, SharedArc,
};
use crate::status::cortiauth_status;

/// A token manager: caches the access token, fetches one per token lifetime however
/// many threads ask at once, refreshes it ahead of expiry, retries transient failures.
///
/// Thread-safe: one manager is meant to be shared by every thread of the process
/// (all `cortiauth_manager_*` functions may be called concurrently on it). Create
/// one per client with `cortiauth_manager_new` or `cortiauth_manager_from_env` and
/// release it with `cortiauth_manager_free` once no thread uses it any more.
/// Works in a child after `fork()` (the child gets its own HTTP client).
pub struct cortiauth_manager {
    _private: [u8; 0],
}

/// Counters of a manager (`cortiauth_manager_stats`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct cortiauth_stats {
    /// HTTP requests sent to the token endpoint, retries included.
    pub token_requests: u64,
    /// Calls answered from the cache.
    pub cache_hits: u64,
    /// Tokens obtained (the first fetch and every refresh).
    pub refreshes: u64,
    /// Token acquisitions that failed after their retries.
    pub failures: u64,
    /// The status of the most recent failure, `CORTIAUTH_STATUS_OK` if none.
    pub last_error_status: cortiauth_status,
    /// Shared cache (`shared_cache`): tokens taken from the store instead of fetched.
    pub store_hits: u64,
    /// Shared cache: lookups that found no usable token there.
    pub store_misses: u64,
    /// Shared cache: store operations that failed (each fell back to a direct fetch).
    pub store_errors: u64,
    /// Shared cache: waits for another process's token request.
    pub store_waits: u64,
    /// Shared cache: the kind of the last store error, NULL if none: `"config"`,
    /// `"timeout"`, `"unavailable"`, `"protocol"`, `"unsafe"` or `"io"`. A static
    /// string: never free it.
    pub store_last_error: *const c_char,
}

/// What a `cortiauth_manager` points to (through an `Arc`).
pub struct Manager {
    tokens: TokenManager,
    tenant: CString,
    api_base_url: Option<CString>,
}

// SAFETY: every `*const cortiauth_manager` handed out is made by `into_arc` in
// `Manager::new_handle` (or is a `clone_arc` of one).
unsafe impl Handle for cortiauth_manager {
    type Inner = Manager;
    type Ownership = SharedArc;
}

impl Manager {
    /// The core's manager.
    pub(crate) fn tokens(&self) -> &TokenManager {
        &self.tokens
    }

    fn new_handle(config: cortiauth::Config) -> Result<*mut cortiauth_manager, Failure> {
        let tokens = TokenManager::new(config)?;
        let config = tokens.config();
        let manager = Manager {
            tenant: lossy_c_string(config.tenant()),
            api_base_url: config.api_base_url().map(lossy_c_string),
            tokens,
        };
        Ok(into_arc(manager))
    }
}

/// Builds a manager from a configuration (copied: `config` may be freed right
/// after). Nothing is fetched yet, unless the background refresher is on.
///
/// On success `*out` receives the manager (free it with `cortiauth_manager_free`)
/// and `*err`, if `err` is not NULL, is set to NULL. On failure `*out` is set to
/// NULL and `*err` to an error to free with `cortiauth_error_free`:
/// `CORTIAUTH_STATUS_CONFIG` when the configuration is incomplete or invalid (the
/// message names the setting or `CORTI_*` variable), `CORTIAUTH_STATUS_NULL_PARAMETER`.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_new(
    config: *const cortiauth_config,
    out: *mut *mut cortiauth_manager,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY (this block): C contract: NULL or valid pointers.
        let out = unsafe { self::out(out, "out") }?;
        *out = ptr::null_mut();
        *out = Manager::new_handle(unsafe { crate::config::build(config) }?)?;
        Ok(())
    })
}

/// Builds a manager from the environment variables read by
/// `cortiauth_config_from_env` (`CORTI_CLIENT_ID`, `CORTI_CLIENT_SECRET` or
/// `CORTI_CLIENT_SECRET_FILE`, `CORTI_ENVIRONMENT`, `CORTI_TENANT_NAME`, and
/// optionally `CORTI_TOKEN_URL`, `CORTI_SCOPES` (space-separated) and
/// `CORTIAUTH_SHARED_CACHE`). For more settings use `cortiauth_config_from_env`
/// and `cortiauth_manager_new`.
///
/// Same ownership and errors as `cortiauth_manager_new`.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_from_env(
    out: *mut *mut cortiauth_manager,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY: C contract: NULL or a valid pointer.
        let out = unsafe { self::out(out, "out") }?;
        *out = ptr::null_mut();
        let settings = Settings {
            binding: Some(crate::config::BINDING.to_string()),
            ..Settings::from_env()
        };
        *out = Manager::new_handle(settings.build()?)?;
        Ok(())
    })
}

/// A second handle to the same manager (same cache, same counters), for code that
/// wants to own its reference. Each handle is released with `cortiauth_manager_free`;
/// the manager lives until the last one is. Returns NULL when `manager` is NULL.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_clone(
    manager: *const cortiauth_manager,
) -> *mut cortiauth_manager {
    ffi_boundary!(default: ptr::null_mut(), {
        // SAFETY: NULL or a live handle (C contract).
        unsafe { clone_arc(manager) }
    })
}

/// Releases a handle to a manager. NULL is a no-op. When the last handle goes, the
/// cached token is zeroed and the background refresher (if any) stops. No other
/// thread may use this handle during or after the call.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_free(manager: *mut cortiauth_manager) {
    ffi_boundary!(default: (), {
        // SAFETY: NULL or a live handle (or clone), released once (C contract).
        unsafe { free_arc(manager) }
    })
}

/// A valid access token, as an owned NUL-terminated string: from the cache when
/// there is one (no I/O, no lock), else fetched once for all concurrent callers.
///
/// On success `*out_token` receives the token, which the caller owns and releases
/// with `cortiauth_string_free` (never `free()`); it stays valid after the manager
/// is freed. `out_expires_at_unix` may be NULL; otherwise it receives the token's
/// expiry in seconds since the Unix epoch. On failure `*out_token` is NULL and
/// `*err` (if `err` is not NULL) describes the failure: `CORTIAUTH_STATUS_OAUTH`
/// (e.g. `invalid_client`), `_HTTP`, `_NETWORK`, `_TIMEOUT`, `_INVALID_RESPONSE`,
/// `_NULL_PARAMETER`. Thread-safe; may block while a token is fetched.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_get_token(
    manager: *const cortiauth_manager,
    out_token: *mut *mut c_char,
    out_expires_at_unix: *mut i64,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY (this block): C contract: NULL or valid pointers.
        let out_token = unsafe { out(out_token, "out_token") }?;
        *out_token = ptr::null_mut();
        let mut expires = unsafe { optional_out(out_expires_at_unix) };
        if let Some(e) = expires.as_deref_mut() {
            *e = 0;
        }
        let m = unsafe { try_ref(manager, "manager") }?;
        let (token, expires_at) = m.tokens.with_token(|t| {
            (
                owned_string(&[t.secret().as_bytes()], "access token"),
                t.expires_at_unix(),
            )
        })?;
        *out_token = token?;
        if let Some(e) = expires {
            *e = expires_at;
        }
        Ok(())
    })
}

/// Copies a valid access token into the caller's buffer, with its terminating NUL:
/// no allocation on success, the cheapest way to read the cached token.
///
/// `*needed` (if `needed` is not NULL) receives the size the token needs, NUL
/// included; `*out_expires_at_unix` (if not NULL) its expiry in seconds since the
/// Unix epoch. When `len` is smaller than that, nothing is copied (`buf[0]` is set
/// to NUL if `len > 0`) and `CORTIAUTH_STATUS_BUFFER_TOO_SMALL` is returned:
/// retry with a buffer of `*needed` bytes. `buf` may be NULL only when `len` is 0
/// (a size query). Tokens of Corti and most servers fit in 4096 bytes. Other
/// failures as for `cortiauth_manager_get_token`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_get_token_buf(
    manager: *const cortiauth_manager,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
    out_expires_at_unix: *mut i64,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY (this block): C contract: NULL or valid pointers, `buf` valid for `len` bytes.
        let mut needed = unsafe { optional_out(needed) };
        if let Some(n) = needed.as_deref_mut() {
            *n = 0;
        }
        let mut expires = unsafe { optional_out(out_expires_at_unix) };
        if let Some(e) = expires.as_deref_mut() {
            *e = 0;
        }
        let m = unsafe { try_ref(manager, "manager") }?;
        let buf = if len > 0 {
            let b = non_null(buf, "buf")?;
            unsafe { b.as_ptr().write(0) };
            b.as_ptr().cast::<u8>()
        } else {
            ptr::null_mut()
        };
        m.tokens.with_token(|t| {
            let bytes = t.secret().as_bytes();
            let size = bytes.len() + 1;
            if let Some(n) = needed {
                *n = size;
            }
            if let Some(e) = expires {
                *e = t.expires_at_unix();
            }
            if len < size {
                return Err(Failure::buffer_too_small(len, size));
            }
            // SAFETY: `buf` holds `len >= size` bytes and cannot overlap the token.
            unsafe {
                ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
                buf.add(bytes.len()).write(0);
            }
            Ok(())
        })?
    })
}

/// The value of the `Authorization` header for a Corti API call: `"Bearer {token}"`
/// with a valid token.
///
/// On success `*out` receives an owned string to release with
/// `cortiauth_string_free`. Errors as for `cortiauth_manager_get_token`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_authorization_header(
    manager: *const cortiauth_manager,
    out: *mut *mut c_char,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY (this block): C contract: NULL or valid pointers.
        let out = unsafe { self::out(out, "out") }?;
        *out = ptr::null_mut();
        let m = unsafe { try_ref(manager, "manager") }?;
        // Built straight into the returned allocation: no unzeroed copy is left.
        *out = m.tokens.with_token(|t| {
            owned_string(
                &[cortiauth::surface::BEARER.as_bytes(), t.secret().as_bytes()],
                "access token",
            )
        })??;
        Ok(())
    })
}

/// The WebSocket URL to open for a stream: `stream_url` (as returned by the Corti
/// API when an interaction is created) with `token=Bearer%20{token}` appended as a
/// query parameter, using a valid token at each call (call it again on reconnect).
///
/// On success `*out` receives an owned string to release with
/// `cortiauth_string_free`. `CORTIAUTH_STATUS_CONFIG` if `stream_url` is empty;
/// other errors as for `cortiauth_manager_get_token`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_websocket_url(
    manager: *const cortiauth_manager,
    stream_url: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY (this block): C contract: NULL or valid pointers.
        let out = unsafe { self::out(out, "out") }?;
        *out = ptr::null_mut();
        let m = unsafe { try_ref(manager, "manager") }?;
        let stream_url = unsafe { arg_str(stream_url, "stream_url") }?;
        let url = Zeroizing::new(m.tokens.websocket_url(stream_url)?);
        *out = owned_string(&[url.as_bytes()], "websocket URL")?;
        Ok(())
    })
}

/// A relative Corti API path (`"/interactions"`, `"interactions/1?limit=5"`)
/// joined onto the API base URL (see `cortiauth_manager_api_base_url`), exactly
/// as every other surface joins it (the core does it). Nothing is fetched.
///
/// On success `*url` receives an owned string to release with
/// `cortiauth_string_free`. `CORTIAUTH_STATUS_CONFIG` when no API base URL is
/// configured (no environment, no `api_base_url`) or `path` is an absolute URL
/// (the token must not travel to another host); `_NULL_PARAMETER` /
/// `_INVALID_ARGUMENT` for a NULL or non-UTF-8 argument. On failure `*url` is
/// NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_api_url(
    manager: *const cortiauth_manager,
    path: *const c_char,
    url: *mut *mut c_char,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY (this block): C contract: NULL or valid pointers.
        let url = unsafe { out(url, "url") }?;
        *url = ptr::null_mut();
        let m = unsafe { try_ref(manager, "manager") }?;
        let path = unsafe { arg_str(path, "path") }?;
        let joined = m.tokens.api_url(path)?;
        *url = owned_string(&[joined.as_bytes()], "API URL")?;
        Ok(())
    })
}

/// Tells the manager that the API rejected `rejected_token` (HTTP 401): if it is
/// still the cached token, it is dropped so that the next call fetches a new one.
/// A burst of 401s for one token causes one refresh. The token or the
/// `Authorization` header value (`"Bearer <token>"`) are both accepted.
///
/// Returns true when the cached token was dropped, false when it had already been
/// replaced, or an argument is NULL or not UTF-8. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_invalidate(
    manager: *const cortiauth_manager,
    rejected_token: *const c_char,
) -> bool {
    ffi_boundary!(default: false, {
        // SAFETY: C contract: NULL or valid pointers.
        let (Ok(m), Ok(token)) = (unsafe { try_ref(manager, "manager") }, unsafe {
            arg_str(rejected_token, "rejected_token")
        }) else {
            return false;
        };
        m.tokens.invalidate(token)
    })
}

/// The one 401 rule of the HTTP integrations (the core's), for a C host's own
/// HTTP client: after a request that carried `sent_token` to `sent_to` was
/// answered with `status` from `answered_by` (the final URL, after redirects),
/// returns true when the API rejected the token (a 401 from the origin it was
/// sent to). The token is then invalidated: send the request once more with a
/// new one. A 401 from another origin (a redirect target, which never got the
/// token) returns false and invalidates nothing.
///
/// Returns false as well when an argument is NULL or not UTF-8. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_on_response(
    manager: *const cortiauth_manager,
    sent_token: *const c_char,
    sent_to: *const c_char,
    answered_by: *const c_char,
    status: u16,
) -> bool {
    ffi_boundary!(default: false, {
        // SAFETY: C contract: NULL or valid pointers.
        let args = unsafe {
            (
                try_ref(manager, "manager"),
                arg_str(sent_token, "sent_token"),
                arg_str(sent_to, "sent_to"),
                arg_str(answered_by, "answered_by"),
            )
        };
        let (Ok(m), Ok(token), Ok(sent_to), Ok(answered_by)) = args else {
            return false;
        };
        m.tokens.on_response(token, sent_to, answered_by, status)
    })
}

/// The tenant name, for the `Tenant-Name` header of Corti API calls (`"base"`
/// unless configured). Owned by the manager: valid until this handle is freed.
/// NULL when `manager` is NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_tenant(
    manager: *const cortiauth_manager,
) -> *const c_char {
    ffi_boundary!(default: ptr::null(), {
        // SAFETY: C contract: NULL or a live handle.
        unsafe { try_ref(manager, "manager") }.map_or(ptr::null(), |m| m.tenant.as_ptr())
    })
}

/// The Corti API base URL, `https://api.{environment}.corti.app/v2`, or NULL when
/// no environment is configured (a bare token URL) or `manager` is NULL. Owned by
/// the manager: valid until this handle is freed. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_api_base_url(
    manager: *const cortiauth_manager,
) -> *const c_char {
    ffi_boundary!(default: ptr::null(), {
        // SAFETY: C contract: NULL or a live handle.
        unsafe { try_ref(manager, "manager") }
            .ok()
            .and_then(|m| m.api_base_url.as_ref())
            .map_or(ptr::null(), |u| u.as_ptr())
    })
}

/// The manager's effective settings as one line of JSON, exactly as the core's
/// `Config::describe()` writes it (the same string Python, Node and the CLI show
/// for the same settings): every setting with its default filled in, keys
/// sorted, durations in milliseconds (`*_ms`), the secret as `"[REDACTED]"`, a
/// shared-cache password redacted, CA certificates counted, and `user_agent`
/// (`"cortiauth/<version> (c)"`). Nothing is fetched.
///
/// On success `*json` receives an owned string to release with
/// `cortiauth_string_free`; on failure it is NULL (`CORTIAUTH_STATUS_NULL_PARAMETER`).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_describe(
    manager: *const cortiauth_manager,
    json: *mut *mut c_char,
    err: *mut *mut cortiauth_error,
) -> cortiauth_status {
    ffi_boundary!(err: err, {
        // SAFETY (this block): C contract: NULL or valid pointers.
        let json = unsafe { out(json, "json") }?;
        *json = ptr::null_mut();
        let m = unsafe { try_ref(manager, "manager") }?;
        *json = owned_string(&[m.tokens.config().describe().as_bytes()], "description")?;
        Ok(())
    })
}

/// Copies the manager's counters into `*out` (for monitoring, and for tests: 16
/// threads asking at once cause `token_requests == 1`). Thread-safe.
///
/// Returns `CORTIAUTH_STATUS_NULL_PARAMETER` if an argument is NULL.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_manager_stats(
    manager: *const cortiauth_manager,
    out: *mut cortiauth_stats,
) -> cortiauth_status {
    ffi_boundary!(err: ptr::null_mut(), {
        // SAFETY: C contract: NULL or valid pointers.
        let out = unsafe { self::out(out, "out") }?;
        let m = unsafe { try_ref(manager, "manager") }?;
        let s = m.tokens.stats();
        *out = cortiauth_stats {
            token_requests: s.token_requests,
            cache_hits: s.cache_hits,
            refreshes: s.refreshes,
            failures: s.failures,
            last_error_status: s
                .last_error_kind
                .map_or(cortiauth_status::Ok, cortiauth_status::from_kind),
            store_hits: s.store_hits,
            store_misses: s.store_misses,
            store_errors: s.store_errors,
            store_waits: s.store_waits,
            store_last_error: s.store_last_error.map_or(ptr::null(), store_error_name),
        };
        Ok(())
    })
}

/// The kind's name as a static C string (the same words as `StoreErrorKind::as_str`).
fn store_error_name(kind: StoreErrorKind) -> *const c_char {
    let name: &'static CStr = match kind {
        StoreErrorKind::Config => c"config",
        StoreErrorKind::Timeout => c"timeout",
        StoreErrorKind::Unavailable => c"unavailable",
        StoreErrorKind::Protocol => c"protocol",
        StoreErrorKind::Unsafe => c"unsafe",
        StoreErrorKind::Io => c"io",
    };
    debug_assert_eq!(name.to_str(), Ok(kind.as_str()));
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;
    use crate::error::*;
    #[allow(unused_imports)]
    use crate::setters::*;
    use std::ffi::CStr;

    unsafe fn manager(token_url: &CStr) -> *mut cortiauth_manager {
        unsafe { manager_with(token_url, None) }
    }

    /// A manager with one attempt per token, and a shared cache when given.
    unsafe fn manager_with(
        token_url: &CStr,
        shared_cache: Option<&CStr>,
    ) -> *mut cortiauth_manager {
        let c = cortiauth_config_new();
        unsafe {
            cortiauth_config_set_client_id(c, c"id".as_ptr());
            cortiauth_config_set_client_secret(c, c"secret".as_ptr());
            cortiauth_config_set_token_url(c, token_url.as_ptr());
            cortiauth_config_set_max_attempts(c, 1);
            if let Some(url) = shared_cache {
                let status = cortiauth_config_set_shared_cache(c, url.as_ptr());
                assert_eq!(status, cortiauth_status::Ok);
            }
            let mut m = ptr::null_mut();
            let status = cortiauth_manager_new(c, &mut m, ptr::null_mut());
            assert_eq!(status, cortiauth_status::Ok);
            cortiauth_config_free(c);
            m
        }
    }

    #[test]
    fn config_errors_come_back_with_a_message() {
        unsafe {
            let c = cortiauth_config_new();
            let mut m = ptr::NonNull::dangling().as_ptr();
            let mut err = ptr::null_mut();
            let status = cortiauth_manager_new(c, &mut m, &mut err);
            assert_eq!(status, cortiauth_status::Config);
            assert!(m.is_null());
            let msg = CStr::from_ptr(cortiauth_error_message(err))
                .to_str()
                .unwrap();
            assert!(msg.contains("CORTI_CLIENT_ID"), "{msg}");
            cortiauth_error_free(err);
            cortiauth_config_free(c);
        }
    }

    #[test]
    fn unreachable_server_is_a_network_error_and_counted() {
        // Port 1 on loopback: nothing listens there, the connection is refused.
        unsafe {
            let m = manager(c"http://127.0.0.1:1/token");
            let mut tok = ptr::NonNull::dangling().as_ptr();
            let mut err = ptr::null_mut();
            let status = cortiauth_manager_get_token(m, &mut tok, ptr::null_mut(), &mut err);
            assert_eq!(status, cortiauth_status::Network);
            assert!(tok.is_null());
            assert_eq!(cortiauth_error_http_status(err), 0);
            cortiauth_error_free(err);
            let mut s = std::mem::zeroed::<cortiauth_stats>();
            assert_eq!(cortiauth_manager_stats(m, &mut s), cortiauth_status::Ok);
            assert_eq!(s.token_requests, 1);
            assert_eq!(s.failures, 1);
            assert_eq!(s.last_error_status, cortiauth_status::Network);
            assert!(
                s.store_last_error.is_null(),
                "no shared cache, no store error"
            );
            cortiauth_manager_free(m);
        }
    }

    #[test]
    fn stats_name_the_last_store_error() {
        use std::os::unix::fs::PermissionsExt;
        // A token directory others can read: the file store refuses it ("unsafe").
        let dir = std::env::temp_dir().join(format!("cortiauth-ffi-stats-{}", std::process::id()));
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o755)).unwrap();
        let url = CString::new(format!("file://{}", tokens.display())).unwrap();
        unsafe {
            let m = manager_with(c"http://127.0.0.1:1/token", Some(&url));
            let mut tok = ptr::null_mut();
            let status = cortiauth_manager_get_token(m, &mut tok, ptr::null_mut(), ptr::null_mut());
            assert_eq!(status, cortiauth_status::Network);
            let mut s = std::mem::zeroed::<cortiauth_stats>();
            assert_eq!(cortiauth_manager_stats(m, &mut s), cortiauth_status::Ok);
            assert!(s.store_errors >= 1, "{s:?}");
            assert_eq!(CStr::from_ptr(s.store_last_error), c"unsafe");
            cortiauth_manager_free(m);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn describe_is_the_cores_string_unchanged() {
        unsafe {
            let c = cortiauth_config_new();
            cortiauth_config_set_client_id(c, c"id".as_ptr());
            cortiauth_config_set_client_secret(c, c"secret-value".as_ptr());
            cortiauth_config_set_token_url(c, c"https://auth.example.test/token".as_ptr());
            let mut m = ptr::null_mut();
            assert_eq!(
                cortiauth_manager_new(c, &mut m, ptr::null_mut()),
                cortiauth_status::Ok
            );
            let (mut from_manager, mut from_config) = (ptr::null_mut(), ptr::null_mut());
            assert_eq!(
                cortiauth_manager_describe(m, &mut from_manager, ptr::null_mut()),
                cortiauth_status::Ok
            );
            assert_eq!(
                cortiauth_config_describe(c, &mut from_config, ptr::null_mut()),
                cortiauth_status::Ok
            );
            let text = CStr::from_ptr(from_manager).to_str().unwrap();
            assert_eq!(text, CStr::from_ptr(from_config).to_str().unwrap());
            let expected = crate::config::build(c).unwrap().describe();
            assert_eq!(text, expected);
            assert!(!text.contains("secret-value"));
            assert!(
                text.contains(r#""user_agent":"cortiauth/"#) && text.contains(" (c)\""),
                "{text}"
            );
            crate::cortiauth_string_free(from_manager);
            crate::cortiauth_string_free(from_config);
            let mut json = ptr::NonNull::dangling().as_ptr();
            assert_eq!(
                cortiauth_manager_describe(ptr::null(), &mut json, ptr::null_mut()),
                cortiauth_status::NullParameter
            );
            assert!(json.is_null());
            cortiauth_manager_free(m);
            cortiauth_config_free(c);
        }
    }

    #[test]
    fn handles_are_reference_counted() {
        unsafe {
            let m = manager(c"https://auth.example.test/token");
            let m2 = cortiauth_manager_clone(m);
            assert_eq!(m, m2);
            cortiauth_manager_free(m);
            assert_eq!(
                CStr::from_ptr(cortiauth_manager_tenant(m2))
                    .to_str()
                    .unwrap(),
                "base"
            );
            assert!(cortiauth_manager_api_base_url(m2).is_null());
            cortiauth_manager_free(m2);
            assert!(cortiauth_manager_clone(ptr::null()).is_null());
            cortiauth_manager_free(ptr::null_mut());
        }
    }

    #[test]
    fn on_response_is_the_cores_401_rule() {
        unsafe {
            let m = manager(c"https://auth.example.test/token");
            let api = c"https://api.eu.corti.app/v2/interactions";
            let elsewhere = c"https://login.example/";
            let on = |to: &CStr, by: &CStr, status| {
                cortiauth_manager_on_response(m, c"tok".as_ptr(), to.as_ptr(), by.as_ptr(), status)
            };
            assert!(on(api, api, 401));
            assert!(!on(api, api, 403));
            assert!(!on(api, elsewhere, 401));
            assert!(!cortiauth_manager_on_response(
                m,
                ptr::null(),
                api.as_ptr(),
                api.as_ptr(),
                401
            ));
            cortiauth_manager_free(m);
        }
    }

    #[test]
    fn null_arguments_are_reported() {
        unsafe {
            let mut err = ptr::null_mut();
            let mut tok = ptr::null_mut();
            let s = cortiauth_manager_get_token(ptr::null(), &mut tok, ptr::null_mut(), &mut err);
            assert_eq!(s, cortiauth_status::NullParameter);
            let msg = CStr::from_ptr(cortiauth_error_message(err))
                .to_str()
                .unwrap();
            assert!(msg.contains("manager"), "{msg}");
            cortiauth_error_free(err);
            let s = cortiauth_manager_get_token_buf(
                ptr::null(),
                ptr::null_mut(),
                0,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            );
            assert_eq!(s, cortiauth_status::NullParameter);
            assert!(!cortiauth_manager_invalidate(ptr::null(), c"x".as_ptr()));
            let api = c"https://api.eu.corti.app/v2/x";
            assert!(!cortiauth_manager_on_response(
                ptr::null(),
                c"x".as_ptr(),
                api.as_ptr(),
                api.as_ptr(),
                401
            ));
            assert_eq!(
                cortiauth_manager_stats(ptr::null(), ptr::null_mut()),
                cortiauth_status::NullParameter
            );
        }
    }
}
