//! The panic boundary and the checked conversion of everything C hands us.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::error::{cortiauth_error, Failure};
use crate::status::cortiauth_status;

/// Wraps the body of every `extern "C"` function.
///
/// - `ffi_boundary!(err: err_ptr, { ... })`: the body yields `Result<(), Failure>`;
///   the function returns a `cortiauth_status` and fills the optional
///   `cortiauth_error **` out-parameter (NULL on success).
/// - `ffi_boundary!(default: value, { ... })`: the body yields the return value;
///   `value` (evaluated only after a panic) is returned if it panics.
///
/// Both go through [`guarded`], the crate's only `catch_unwind`.
macro_rules! ffi_boundary {
    (err: $err:expr, $body:block) => {
        $crate::boundary::status_call($err, || -> Result<(), $crate::error::Failure> { $body })
    };
    (default: $default:expr, $body:block) => {
        $crate::boundary::guarded(|| $default, || $body)
    };
}

/// Runs `f`; if it panics, returns `on_panic()` instead of unwinding into C.
pub(crate) fn guarded<T>(on_panic: impl FnOnce() -> T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_payload) => on_panic(),
    }
}

/// Runs a status-returning body and reports its failure through `err` (may be NULL).
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
            Ok(()) => std::ptr::null_mut(),
            Err(failure) => failure.into_raw(),
        };
        // SAFETY: `err` is NULL or points to writable storage (the C contract).
        unsafe { err.write(value) };
    }
    status
}

/// The one NULL check: every pointer received from C goes through here.
pub(crate) fn non_null<T>(ptr: *const T, name: &'static str) -> Result<NonNull<T>, Failure> {
    NonNull::new(ptr.cast_mut()).ok_or_else(|| Failure::null_parameter(name))
}

/// A pointer argument as a shared reference.
///
/// SAFETY (caller): `ptr` is NULL or valid for reads for `'a`.
pub(crate) unsafe fn arg<'a, T>(ptr: *const T, name: &'static str) -> Result<&'a T, Failure> {
    // SAFETY: non-NULL, and valid per the caller's contract.
    non_null(ptr, name).map(|p| unsafe { p.as_ref() })
}

/// A required out-parameter as a mutable reference.
///
/// SAFETY (caller): `ptr` is NULL or valid for writes for `'a`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, name: &'static str) -> Result<&'a mut T, Failure> {
    // SAFETY: non-NULL, and valid per the caller's contract.
    non_null(ptr, name).map(|mut p| unsafe { p.as_mut() })
}

/// An optional out-parameter (NULL means "not wanted").
///
/// SAFETY (caller): `ptr` is NULL or valid for writes for `'a`.
pub(crate) unsafe fn optional_out<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    // SAFETY: per the caller's contract.
    unsafe { ptr.as_mut() }
}

/// A NUL-terminated UTF-8 string argument.
///
/// SAFETY (caller): `ptr` is NULL or a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn arg_str<'a>(
    ptr: *const c_char,
    name: &'static str,
) -> Result<&'a str, Failure> {
    let p = non_null(ptr, name)?;
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(p.as_ptr()) };
    // The message names the argument, never its value (it may be the secret).
    s.to_str()
        .map_err(|_| Failure::invalid_argument(format!("argument `{name}` is not valid UTF-8")))
}

/// A Rust string as a C string; a NUL inside (never expected) is an invalid response.
pub(crate) fn to_c_string(s: &str, what: &str) -> Result<CString, Failure> {
    CString::new(s).map_err(|_| {
        Failure::from(cortiauth::Error::InvalidResponse {
            message: format!("the {what} contains a NUL byte"),
        })
    })
}

/// Text for C (error messages and the like): NUL bytes are dropped, never an error.
pub(crate) fn lossy_c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// Opaque C handle types and what they point to on the Rust side.
///
/// SAFETY (implementor): pointers of type `*const Self` handed to C are always
/// made from a `Self::Inner` (`Box` or `Arc`).
pub(crate) unsafe trait Handle {
    type Inner;
}

/// A handle argument as a reference to its Rust value.
///
/// SAFETY (caller): `ptr` is NULL or a live handle made by this library.
pub(crate) unsafe fn handle<'a, H: Handle>(
    ptr: *const H,
    name: &'static str,
) -> Result<&'a H::Inner, Failure> {
    // SAFETY: a handle of type H points to an H::Inner (trait contract).
    unsafe { arg(ptr.cast::<H::Inner>(), name) }
}

/// A handle argument as a mutable reference to its Rust value.
///
/// SAFETY (caller): `ptr` is NULL or a live `Box`ed handle not used elsewhere meanwhile.
pub(crate) unsafe fn handle_mut<'a, H: Handle>(
    ptr: *mut H,
    name: &'static str,
) -> Result<&'a mut H::Inner, Failure> {
    // SAFETY: a handle of type H points to an H::Inner (trait contract).
    unsafe { out(ptr.cast::<H::Inner>(), name) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::*;

    #[test]
    fn a_panic_becomes_the_panic_status_and_an_error() {
        let mut err: *mut cortiauth_error = std::ptr::null_mut();
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
            let msg = CStr::from_ptr(cortiauth_error_message(err))
                .to_str()
                .unwrap();
            assert!(msg.contains("panic"), "{msg}");
            cortiauth_error_free(err);
        }
    }

    #[test]
    fn a_panic_in_a_value_function_returns_the_default() {
        let v: *const u8 = ffi_boundary!(default: std::ptr::null(), {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            b"x".as_ptr()
        });
        assert!(v.is_null());
    }

    #[test]
    fn success_clears_the_error_out_parameter() {
        let mut err: *mut cortiauth_error = std::ptr::NonNull::dangling().as_ptr();
        let status = ffi_boundary!(err: &mut err, { Ok(()) });
        assert_eq!(status, cortiauth_status::Ok);
        assert!(err.is_null());
        // And a NULL `err` is accepted.
        let status = ffi_boundary!(err: std::ptr::null_mut(), {
            Err(Failure::null_parameter("x"))
        });
        assert_eq!(status, cortiauth_status::NullParameter);
    }

    #[test]
    fn strings_are_checked() {
        unsafe {
            let e = arg_str(std::ptr::null(), "client_id").unwrap_err();
            assert_eq!(e.status, cortiauth_status::NullParameter);
            let bad = b"\xff\xfe\0";
            let e = arg_str(bad.as_ptr().cast(), "client_secret").unwrap_err();
            assert_eq!(e.status, cortiauth_status::InvalidArgument);
            assert_eq!(arg_str(c"ok".as_ptr(), "x").unwrap(), "ok");
        }
        assert_eq!(lossy_c_string("a\0b").to_str().unwrap(), "ab");
    }
}
