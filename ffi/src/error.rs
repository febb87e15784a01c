//! `cortiauth_error`: the detail behind a failed call.

use std::borrow::Cow;
use std::ffi::{c_char, CString};
use std::ptr;

use crate::boundary::{handle, lossy_c_string, Handle};
use crate::status::cortiauth_status;

/// Details of a failure: a message that says what happened and what to do (never
/// containing the client secret or a token), the status, the OAuth error code and
/// the HTTP status when the token endpoint sent them.
///
/// Returned through the optional `cortiauth_error **err` parameter of fallible
/// functions. Owned by the caller: release it with `cortiauth_error_free`. It is
/// immutable, so its accessors may be called from any thread; the strings they
/// return live as long as the error.
pub struct cortiauth_error {
    _private: [u8; 0],
}

/// A failed call, as the extern functions return it internally. Cheap to build:
/// the C strings are only made when the caller asked for a `cortiauth_error`, so
/// a failure reported through a NULL `err` (a size query of
/// `cortiauth_manager_get_token_buf`, say) allocates nothing.
#[derive(Debug)]
pub struct Failure {
    pub(crate) status: cortiauth_status,
    detail: Detail,
}

#[derive(Debug)]
enum Detail {
    Core(cortiauth::Error),
    NullParameter(&'static str),
    InvalidArgument(Cow<'static, str>),
    BufferTooSmall { len: usize, needed: usize },
    Panic,
}

/// What a `cortiauth_error` points to (nothing secret: safe to print).
#[derive(Debug)]
pub struct ErrorData {
    status: cortiauth_status,
    message: CString,
    oauth_code: Option<CString>,
    oauth_description: Option<CString>,
    http_status: u16,
    transient: bool,
}

// SAFETY: every `*const cortiauth_error` handed out comes from `Failure::into_raw`.
unsafe impl Handle for cortiauth_error {
    type Inner = ErrorData;
}

impl Failure {
    pub(crate) fn null_parameter(name: &'static str) -> Failure {
        Failure {
            status: cortiauth_status::NullParameter,
            detail: Detail::NullParameter(name),
        }
    }

    pub(crate) fn invalid_argument(message: impl Into<Cow<'static, str>>) -> Failure {
        Failure {
            status: cortiauth_status::InvalidArgument,
            detail: Detail::InvalidArgument(message.into()),
        }
    }

    pub(crate) fn buffer_too_small(len: usize, needed: usize) -> Failure {
        Failure {
            status: cortiauth_status::BufferTooSmall,
            detail: Detail::BufferTooSmall { len, needed },
        }
    }

    pub(crate) fn panic() -> Failure {
        Failure {
            status: cortiauth_status::Panic,
            detail: Detail::Panic,
        }
    }

    /// The error object handed to C.
    pub(crate) fn into_raw(self) -> *mut cortiauth_error {
        let mut data = ErrorData {
            status: self.status,
            message: CString::default(),
            oauth_code: None,
            oauth_description: None,
            http_status: 0,
            transient: false,
        };
        let message = match self.detail {
            Detail::Core(e) => {
                if let cortiauth::Error::OAuth {
                    error_description: Some(d),
                    ..
                } = &e
                {
                    data.oauth_description = Some(lossy_c_string(d));
                }
                data.oauth_code = e.oauth_error().map(lossy_c_string);
                data.http_status = e.http_status().unwrap_or(0);
                data.transient = e.is_transient();
                // Display never contains the secret or a token (core guarantee).
                e.to_string()
            }
            Detail::NullParameter(name) => format!("argument `{name}` must not be NULL"),
            Detail::InvalidArgument(message) => message.into_owned(),
            Detail::BufferTooSmall { len, needed } => format!(
                "buffer too small: {len} bytes given, {needed} needed (the token and its NUL)"
            ),
            Detail::Panic => "internal error: cortiauth panicked (a bug: please report it); \
                              the call did not complete"
                .to_string(),
        };
        data.message = lossy_c_string(&message);
        Box::into_raw(Box::new(data)).cast()
    }
}

impl From<cortiauth::Error> for Failure {
    fn from(e: cortiauth::Error) -> Failure {
        Failure {
            status: cortiauth_status::from_kind(e.kind()),
            detail: Detail::Core(e),
        }
    }
}

/// The error's message: what happened and what to do, e.g.
/// `"token endpoint returned invalid_client (HTTP 401): … (check the client id and secret …)"`.
///
/// Never NULL for a valid error (NULL when `err` is NULL). The string belongs to
/// `err` and is valid until `cortiauth_error_free(err)`.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_message(err: *const cortiauth_error) -> *const c_char {
    ffi_boundary!(default: ptr::null(), {
        // SAFETY: `err` is NULL or a live error (C contract).
        match unsafe { handle(err, "err") } {
            Ok(f) => f.message.as_ptr(),
            Err(_) => ptr::null(),
        }
    })
}

/// The error's status (never `CORTIAUTH_STATUS_OK`);
/// `CORTIAUTH_STATUS_NULL_PARAMETER` when `err` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_status(err: *const cortiauth_error) -> cortiauth_status {
    ffi_boundary!(default: cortiauth_status::Panic, {
        // SAFETY: `err` is NULL or a live error (C contract).
        match unsafe { handle(err, "err") } {
            Ok(f) => f.status,
            Err(_) => cortiauth_status::NullParameter,
        }
    })
}

/// The OAuth `error` code the token endpoint returned (`"invalid_client"`,
/// `"invalid_scope"`, `"unauthorized_client"`, …), or NULL when the failure is not
/// an OAuth error (or `err` is NULL). Valid until `cortiauth_error_free(err)`.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_oauth_code(err: *const cortiauth_error) -> *const c_char {
    ffi_boundary!(default: ptr::null(), {
        // SAFETY: `err` is NULL or a live error (C contract).
        match unsafe { handle(err, "err") } {
            Ok(f) => f.oauth_code.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            Err(_) => ptr::null(),
        }
    })
}

/// The OAuth `error_description` the token endpoint returned, or NULL when there
/// was none. Valid until `cortiauth_error_free(err)`.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_oauth_description(
    err: *const cortiauth_error,
) -> *const c_char {
    ffi_boundary!(default: ptr::null(), {
        // SAFETY: `err` is NULL or a live error (C contract).
        match unsafe { handle(err, "err") } {
            Ok(f) => f.oauth_description.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            Err(_) => ptr::null(),
        }
    })
}

/// The HTTP status of the token endpoint's answer (401 for `invalid_client`, 404
/// for an unknown tenant, …), or 0 when there was no answer (network error,
/// timeout, configuration error) or `err` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_http_status(err: *const cortiauth_error) -> u16 {
    ffi_boundary!(default: 0, {
        // SAFETY: `err` is NULL or a live error (C contract).
        unsafe { handle(err, "err") }.map_or(0, |f| f.http_status)
    })
}

/// Whether trying again later may succeed (network errors, timeouts, 5xx, 429).
/// The manager already retried within its deadline before reporting the error.
/// False when `err` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_is_transient(err: *const cortiauth_error) -> bool {
    ffi_boundary!(default: false, {
        // SAFETY: `err` is NULL or a live error (C contract).
        unsafe { handle(err, "err") }.is_ok_and(|f| f.transient)
    })
}

/// Releases an error. NULL is a no-op. Free each error once; the strings its
/// accessors returned become invalid.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_free(err: *mut cortiauth_error) {
    ffi_boundary!(default: (), {
        if !err.is_null() {
            // SAFETY: made by `Failure::into_raw` (a Box), freed once (C contract).
            drop(unsafe { Box::from_raw(err.cast::<ErrorData>()) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn text(p: *const c_char) -> Option<String> {
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
    }

    #[test]
    fn oauth_errors_keep_their_code_and_http_status() {
        let e = Failure::from(cortiauth::Error::OAuth {
            error: "invalid_client".into(),
            error_description: Some("Invalid client credentials".into()),
            error_uri: None,
            http_status: 401,
        })
        .into_raw();
        unsafe {
            assert_eq!(cortiauth_error_status(e), cortiauth_status::Oauth);
            assert_eq!(
                text(cortiauth_error_oauth_code(e)).unwrap(),
                "invalid_client"
            );
            assert_eq!(
                text(cortiauth_error_oauth_description(e)).unwrap(),
                "Invalid client credentials"
            );
            assert_eq!(cortiauth_error_http_status(e), 401);
            assert!(!cortiauth_error_is_transient(e));
            assert!(text(cortiauth_error_message(e))
                .unwrap()
                .contains("CORTI_CLIENT_SECRET"));
            cortiauth_error_free(e);
        }
    }

    #[test]
    fn accessors_accept_null() {
        unsafe {
            assert!(cortiauth_error_message(ptr::null()).is_null());
            assert!(cortiauth_error_oauth_code(ptr::null()).is_null());
            assert!(cortiauth_error_oauth_description(ptr::null()).is_null());
            assert_eq!(cortiauth_error_http_status(ptr::null()), 0);
            assert!(!cortiauth_error_is_transient(ptr::null()));
            assert_eq!(
                cortiauth_error_status(ptr::null()),
                cortiauth_status::NullParameter
            );
            cortiauth_error_free(ptr::null_mut());
        }
    }

    #[test]
    fn network_errors_are_transient_and_have_no_http_status() {
        let e = Failure::from(cortiauth::Error::Network {
            message: "connection refused".into(),
        })
        .into_raw();
        unsafe {
            assert_eq!(cortiauth_error_status(e), cortiauth_status::Network);
            assert!(cortiauth_error_is_transient(e));
            assert_eq!(cortiauth_error_http_status(e), 0);
            assert!(cortiauth_error_oauth_code(e).is_null());
            cortiauth_error_free(e);
        }
    }
}
