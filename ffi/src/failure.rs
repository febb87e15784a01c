//! `Failure`: a failed call, as the extern functions carry it internally.
//!
//! Cheap to build: the C strings are only made when the caller asked for a
//! `cortiauth_error` (see `crate::error`), so a failure reported through a NULL
//! `err` (a size query of `cortiauth_manager_get_token_buf`, say) allocates nothing.

use std::borrow::Cow;

use crate::status::cortiauth_status;

#[derive(Debug)]
pub struct Failure {
    pub(crate) status: cortiauth_status,
    pub(crate) detail: Detail,
}

#[derive(Debug)]
pub(crate) enum Detail {
    Core(cortiauth::Error),
    NullParameter(&'static str),
    InvalidArgument(Cow<'static, str>),
    BufferTooSmall { len: usize, needed: usize },
    Panic,
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

    /// A string the core produced holds a NUL byte (never expected).
    pub(crate) fn nul_in(what: &str) -> Failure {
        Failure::from(cortiauth::Error::invalid_response(format!(
            "the {what} contains a NUL byte"
        )))
    }

    /// The message shown to C: what happened and what to do, with the chain of
    /// causes of a core error on one line (`Error::full_message`; never the secret
    /// or a token: the core guarantees that for the error and each cause).
    pub(crate) fn message(&self) -> String {
        match &self.detail {
            Detail::Core(e) => e.full_message(),
            Detail::NullParameter(name) => format!("argument `{name}` must not be NULL"),
            Detail::InvalidArgument(message) => message.to_string(),
            Detail::BufferTooSmall { len, needed } => format!(
                "buffer too small: {len} bytes given, {needed} needed (the token and its NUL)"
            ),
            Detail::Panic => "internal error: cortiauth panicked (a bug: please report it); \
                              the call did not complete"
                .to_string(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_carries_the_causes_once() {
        let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "os says no");
        let f = Failure::from(cortiauth::Error::network("cannot connect").with_source(cause));
        let m = f.message();
        assert!(m.contains("cannot connect"), "{m}");
        assert!(m.contains("os says no"), "{m}");
        assert_eq!(m.matches("os says no").count(), 1, "{m}");
    }
}
