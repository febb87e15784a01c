//! The panic boundary: the bottom module of the crate (it imports nothing from it).
//!
//! Module layers, each using only the ones above it:
//! `boundary` (this: the macro and the only `catch_unwind`) → `status` →
//! `failure` (the internal failure type) → `handle` (handle ownership, pointer
//! checks, C strings) → `error` (`cortiauth_error`, status reporting) →
//! `config`, `manager`, `lib`.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Wraps the body of every `extern "C"` function.
///
/// - `ffi_boundary!(err: err_ptr, { ... })`: the body yields `Result<(), Failure>`;
///   the function returns a `cortiauth_status` and fills the optional
///   `cortiauth_error **` out-parameter (NULL on success), through
///   [`crate::error::status_call`].
/// - `ffi_boundary!(default: value, { ... })`: the body yields the return value;
///   `value` (evaluated only after a panic) is returned if it panics.
///
/// Both go through [`guarded`], the crate's only `catch_unwind`.
macro_rules! ffi_boundary {
    (err: $err:expr, $body:block) => {
        $crate::error::status_call($err, || -> Result<(), $crate::failure::Failure> { $body })
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

#[cfg(test)]
mod tests {
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
}
