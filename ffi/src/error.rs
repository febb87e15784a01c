//! `cortiauth_error`: the detail behind a failed call, and how a failure reaches C.

use std::ffi::{c_char, CString};
use std::ptr;

use crate::boundary::guarded;
use crate::failure::{Detail, Failure};
use crate::handle::{free_box, into_box, lossy_c_string, try_ref, Handle, OwnedBox};
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

// SAFETY: every `*const cortiauth_error` handed out is made by `into_box` in `new_error`.
unsafe impl Handle for cortiauth_error {
    type Inner = ErrorData;
    type Ownership = OwnedBox;
}

/// The error object handed to C.
fn new_error(failure: Failure) -> *mut cortiauth_error {
    let mut data = ErrorData {
        status: failure.status,
        message: lossy_c_string(&failure.message()),
        oauth_code: None,
        oauth_description: None,
        http_status: 0,
        transient: false,
    };
    if let Detail::Core(e) = &failure.detail {
        if let cortiauth::Error::OAuth {
            error_description: Some(d),
            ..
        } = e
        {
            data.oauth_description = Some(lossy_c_string(d));
        }
        data.oauth_code = e.oauth_error().map(lossy_c_string);
        data.http_status = e.http_status().unwrap_or(0);
        data.transient = e.is_transient();
    }
    into_box(data)
}

/// Runs a status-returning body (the `err:` arm of `ffi_boundary!`) and reports
/// its failure through `err` (may be NULL).
pub(crate) fn status_call(
    err: *mut *mut cortiauth_error,
    f: impl FnOnce() -> Result<(), Failure>,
) -> cortiauth_status {
    let result = guarded(|| Err(Failure::panic()), f);
    let status = match &result {
        Ok(()) => cortiauth_status::Ok,
        Err(failure) => failure.status,
    };
    if !err.is_null() {
        let value = match result {
            Ok(()) => ptr::null_mut(),
            Err(failure) => guarded(ptr::null_mut, || new_error(failure)),
        };
        // SAFETY: `err` is NULL or points to writable storage (the C contract).
        unsafe { err.write(value) };
    }
    status
}

/// The error's message: what happened and what to do, e.g.
/// `"token endpoint returned invalid_client (HTTP 401): … (check the client id and secret …)"`,
/// followed by its causes (`": cause: cause of the cause"`) when there are any.
///
/// Never NULL for a valid error (NULL when `err` is NULL). The string belongs to
/// `err` and is valid until `cortiauth_error_free(err)`.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_message(err: *const cortiauth_error) -> *const c_char {
    ffi_boundary!(default: ptr::null(), {
        // SAFETY: `err` is NULL or a live error (C contract).
        match unsafe { try_ref(err, "err") } {
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
        match unsafe { try_ref(err, "err") } {
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
        match unsafe { try_ref(err, "err") } {
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
        match unsafe { try_ref(err, "err") } {
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
        unsafe { try_ref(err, "err") }.map_or(0, |f| f.http_status)
    })
}

/// Whether trying again later may succeed (network errors, timeouts, 5xx, 429).
/// The manager already retried within its deadline before reporting the error.
/// False when `err` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_is_transient(err: *const cortiauth_error) -> bool {
    ffi_boundary!(default: false, {
        // SAFETY: `err` is NULL or a live error (C contract).
        unsafe { try_ref(err, "err") }.is_ok_and(|f| f.transient)
    })
}

/// Releases an error. NULL is a no-op. Free each error once; the strings its
/// accessors returned become invalid.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_error_free(err: *mut cortiauth_error) {
    ffi_boundary!(default: (), {
        // SAFETY: NULL or made by `new_error`, freed once (C contract).
        unsafe { free_box(err) }
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
        let e = new_error(Failure::from(cortiauth::Error::OAuth {
            error: "invalid_client".into(),
            error_description: Some("Invalid client credentials".into()),
            error_uri: None,
            http_status: 401,
        }));
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
        let e = new_error(Failure::from(cortiauth::Error::network(
            "connection refused",
        )));
        unsafe {
            assert_eq!(cortiauth_error_status(e), cortiauth_status::Network);
            assert!(cortiauth_error_is_transient(e));
            assert_eq!(cortiauth_error_http_status(e), 0);
            assert!(cortiauth_error_oauth_code(e).is_null());
            cortiauth_error_free(e);
        }
    }

    #[test]
    fn a_panic_becomes_the_panic_status_and_an_error() {
        let mut err: *mut cortiauth_error = ptr::null_mut();
        let status = ffi_boundary!(err: &mut err, {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Ok(())
        });
        assert_eq!(status, cortiauth_status::Panic);
        assert!(!err.is_null());
        unsafe {
            assert_eq!(cortiauth_error_status(err), cortiauth_status::Panic);
            let msg = text(cortiauth_error_message(err)).unwrap();
            assert!(msg.contains("panic"), "{msg}");
            cortiauth_error_free(err);
        }
    }

    #[test]
    fn success_clears_the_error_out_parameter() {
        let mut err: *mut cortiauth_error = ptr::NonNull::dangling().as_ptr();
        let status = ffi_boundary!(err: &mut err, { Ok(()) });
        assert_eq!(status, cortiauth_status::Ok);
        assert!(err.is_null());
        // And a NULL `err` is accepted.
        let status = ffi_boundary!(err: ptr::null_mut(), {
            Err(Failure::null_parameter("x"))
        });
        assert_eq!(status, cortiauth_status::NullParameter);
    }
}
