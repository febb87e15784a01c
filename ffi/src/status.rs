//! `cortiauth_status`: what every fallible function returns.

use std::ffi::{c_char, CStr};

/// The result of a call. The numbers are stable: they never change meaning, and a
/// number that is retired is never reused. New numbers may be added, so treat an
/// unknown one like any other failure.
///
/// `CORTIAUTH_STATUS_CONFIG` … `CORTIAUTH_STATUS_INVALID_RESPONSE` mirror the core
/// error kinds; the others are raised by the C layer itself.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum cortiauth_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL (the error message names it).
    NullParameter = 1,
    /// An argument is invalid: a string that is not UTF-8, an unknown enum value, a zero timeout.
    InvalidArgument = 2,
    /// The configuration is incomplete or invalid (missing client id, plain-http
    /// token URL to a remote host, …). The message says which setting to fix.
    Config = 3,
    /// The token endpoint answered with an OAuth error (`cortiauth_error_oauth_code()`
    /// gives the code, e.g. `"invalid_client"`).
    Oauth = 4,
    /// The token endpoint answered with an HTTP error that is not an OAuth error
    /// (`cortiauth_error_http_status()` gives the status, e.g. 404 for an unknown tenant).
    Http = 5,
    /// The request could not be sent or the connection failed (DNS, refused, TLS).
    Network = 6,
    /// The token endpoint did not answer in time.
    Timeout = 7,
    /// The token endpoint answered 2xx with something that is not a usable token.
    InvalidResponse = 8,
    /// The caller's buffer is too small; the size needed was written to `*needed`.
    BufferTooSmall = 9,
    /// A bug inside the library panicked; the panic was caught at the boundary.
    Panic = 10,
}

impl cortiauth_status {
    /// The stable lower-case name (the core kinds use the core's names).
    pub(crate) fn name(self) -> &'static CStr {
        match self {
            cortiauth_status::Ok => c"ok",
            cortiauth_status::NullParameter => c"null_parameter",
            cortiauth_status::InvalidArgument => c"invalid_argument",
            cortiauth_status::Config => c"config",
            cortiauth_status::Oauth => c"oauth",
            cortiauth_status::Http => c"http",
            cortiauth_status::Network => c"network",
            cortiauth_status::Timeout => c"timeout",
            cortiauth_status::InvalidResponse => c"invalid_response",
            cortiauth_status::BufferTooSmall => c"buffer_too_small",
            cortiauth_status::Panic => c"panic",
        }
    }

    pub(crate) fn from_u32(v: u32) -> Option<cortiauth_status> {
        ALL.iter().copied().find(|s| *s as u32 == v)
    }

    pub(crate) fn from_kind(kind: cortiauth::ErrorKind) -> cortiauth_status {
        match kind {
            cortiauth::ErrorKind::Config => cortiauth_status::Config,
            cortiauth::ErrorKind::OAuth => cortiauth_status::Oauth,
            cortiauth::ErrorKind::Http => cortiauth_status::Http,
            cortiauth::ErrorKind::Network => cortiauth_status::Network,
            cortiauth::ErrorKind::Timeout => cortiauth_status::Timeout,
            cortiauth::ErrorKind::InvalidResponse => cortiauth_status::InvalidResponse,
        }
    }
}

const ALL: [cortiauth_status; 11] = [
    cortiauth_status::Ok,
    cortiauth_status::NullParameter,
    cortiauth_status::InvalidArgument,
    cortiauth_status::Config,
    cortiauth_status::Oauth,
    cortiauth_status::Http,
    cortiauth_status::Network,
    cortiauth_status::Timeout,
    cortiauth_status::InvalidResponse,
    cortiauth_status::BufferTooSmall,
    cortiauth_status::Panic,
];

/// A short stable name for a status: `"ok"`, `"null_parameter"`, `"oauth"`, …
/// (`"unknown"` for a number this library does not know).
///
/// Takes the number as a `uint32_t` (what `cortiauth_status` is) so that any value
/// is safe to pass. The string is static: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn cortiauth_status_str(status: u32) -> *const c_char {
    ffi_boundary!(default: c"unknown".as_ptr(), {
        cortiauth_status::from_u32(status)
            .map_or(c"unknown", cortiauth_status::name)
            .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn numbers_are_stable() {
        // These numbers are part of the ABI: never change them.
        let expected = [
            (cortiauth_status::Ok, 0),
            (cortiauth_status::NullParameter, 1),
            (cortiauth_status::InvalidArgument, 2),
            (cortiauth_status::Config, 3),
            (cortiauth_status::Oauth, 4),
            (cortiauth_status::Http, 5),
            (cortiauth_status::Network, 6),
            (cortiauth_status::Timeout, 7),
            (cortiauth_status::InvalidResponse, 8),
            (cortiauth_status::BufferTooSmall, 9),
            (cortiauth_status::Panic, 10),
        ];
        for (s, n) in expected {
            assert_eq!(s as u32, n);
            assert_eq!(cortiauth_status::from_u32(n), Some(s));
        }
        assert_eq!(cortiauth_status::from_u32(11), None);
    }

    #[test]
    fn names_match_the_core_kinds() {
        use cortiauth::ErrorKind::*;
        for kind in [Config, OAuth, Http, Network, Timeout, InvalidResponse] {
            assert_eq!(
                cortiauth_status::from_kind(kind).name().to_str().unwrap(),
                kind.as_str()
            );
        }
        for s in ALL {
            let c = unsafe { CStr::from_ptr(cortiauth_status_str(s as u32)) };
            assert_eq!(c, s.name());
        }
        let c = unsafe { CStr::from_ptr(cortiauth_status_str(999)) };
        assert_eq!(c.to_str().unwrap(), "unknown");
    }
}
