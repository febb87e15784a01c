//! The C ABI of cortiauth: `libcortiauth.so` / `libcortiauth.a` and `include/cortiauth.h`.
//!
//! Everything here wraps the `cortiauth` core crate; nothing is reimplemented.
//! The header is generated from these sources by `ffi/generate-header.sh`
//! (a pinned cbindgen), so the doc comments below are the C documentation.
//!
//! Rules every entry point follows:
//! - its body runs inside `ffi_boundary!`: a panic never unwinds into C, it
//!   becomes `CORTIAUTH_STATUS_PANIC` (or NULL / false for functions without a status);
//! - every pointer goes through `handle::non_null` (NULL → `CORTIAUTH_STATUS_NULL_PARAMETER`),
//!   every string in through `handle::arg_str` (invalid UTF-8 → `CORTIAUTH_STATUS_INVALID_ARGUMENT`),
//!   every handle through `handle::try_ref` / `handle::try_mut`, made and
//!   released by the helpers of its ownership (`Box` or `Arc`, see `handle::Handle`);
//! - strings out are either copied into a caller's buffer or an owned `char *`
//!   (`handle::owned_string`) released with `cortiauth_string_free`;
//! - every `*_free` accepts NULL.
//!
//! The extern functions are `unsafe`: their safety contract is the C one stated in
//! each doc comment (pointers are NULL or valid for the stated use), so no
//! separate `# Safety` section is repeated on each of them.
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

// Layers, each module using only those listed before it (see `boundary`).
#[macro_use]
mod boundary;
mod config;
mod error;
mod events;
mod failure;
mod handle;
mod manager;
mod setters;
mod status;

pub use config::*;
pub use error::*;
pub use events::*;
pub use manager::*;
pub use status::*;

use std::ffi::c_char;

/// Major version of this header (`CORTIAUTH_VERSION` is `"MAJOR.MINOR.PATCH"`).
/// The library's own version is `cortiauth_version()`.
pub const CORTIAUTH_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const CORTIAUTH_VERSION_MINOR: u32 = 1;
/// Patch version of this header.
pub const CORTIAUTH_VERSION_PATCH: u32 = 0;

/// Parses a decimal `u32` at compile time (for the version checks below).
const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version component is not a number");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

// The version macros in the header must follow Cargo.toml: after a version bump
// this fails to compile until the constants above (and the header) are updated.
const _: () = {
    assert!(
        CORTIAUTH_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")),
        "CORTIAUTH_VERSION_MAJOR differs from Cargo.toml: update it and run ffi/generate-header.sh"
    );
    assert!(
        CORTIAUTH_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")),
        "CORTIAUTH_VERSION_MINOR differs from Cargo.toml: update it and run ffi/generate-header.sh"
    );
    assert!(
        CORTIAUTH_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")),
        "CORTIAUTH_VERSION_PATCH differs from Cargo.toml: update it and run ffi/generate-header.sh"
    );
    assert!(
        str_eq(env!("CARGO_PKG_VERSION"), cortiauth::VERSION),
        "the C library and the core crate must have the same version"
    );
};

static VERSION_C: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version, `"MAJOR.MINOR.PATCH"` (compare with `CORTIAUTH_VERSION`
/// to detect a header / library mismatch).
///
/// The string is static: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn cortiauth_version() -> *const c_char {
    VERSION_C.as_ptr().cast()
}

/// Releases a string returned by this library (`cortiauth_manager_get_token`,
/// `cortiauth_manager_authorization_header`, `cortiauth_manager_websocket_url`,
/// `cortiauth_manager_describe`, `cortiauth_config_describe`).
///
/// All of its bytes are overwritten with zeros before the memory is released,
/// since such strings hold access tokens: the whole allocation, even if the
/// caller shortened the string by writing a NUL into it (the library records the
/// allocation's size). `s` must come from this library and be freed once; never
/// pass it to `free()`. NULL is a no-op. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn cortiauth_string_free(s: *mut c_char) {
    ffi_boundary!(default: (), {
        // SAFETY: NULL or a string from `handle::owned_string`, freed once (C contract).
        unsafe { handle::free_owned_string(s) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::setters::*;
    use std::ffi::CStr;

    #[test]
    fn version_string_matches_the_constants() {
        let v = unsafe { CStr::from_ptr(cortiauth_version()) }
            .to_str()
            .unwrap();
        assert_eq!(
            v,
            format!(
                "{CORTIAUTH_VERSION_MAJOR}.{CORTIAUTH_VERSION_MINOR}.{CORTIAUTH_VERSION_PATCH}"
            )
        );
    }

    #[test]
    fn string_free_accepts_null_and_owned_strings() {
        unsafe {
            cortiauth_string_free(std::ptr::null_mut());
            cortiauth_string_free(handle::owned_string(&[b"token"], "token").unwrap());
        }
    }
}
