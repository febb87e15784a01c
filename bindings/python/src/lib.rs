//! The native half of the `cortiauth` Python package: `cortiauth._native`.
//!
//! Everything here is a thin layer over the Rust core. The public classes live
//! in the pure-Python package (`python/cortiauth`), which subclasses
//! [`manager::PyTokenManager`] so that the hot calls (`get_access_token()`) go
//! straight to Rust with no Python frame in between.
//!
//! Rules kept throughout: the GIL is released around every call that may do
//! network I/O or wait for another thread's fetch (`Python::detach`), and no
//! `repr`, message or exception carries the client secret or a token.

use pyo3::prelude::*;

mod convert;
mod errors;
mod manager;
mod token;

/// The audit fingerprint of a token: the first 16 hex digits of its SHA-256.
/// The same in every surface; a `"Bearer "` prefix is ignored.
#[pyfunction]
fn fingerprint(access_token: &str) -> String {
    cortiauth::fingerprint(access_token)
}

/// No more events reach Python (called at interpreter exit).
#[pyfunction]
fn _stop_events() {
    manager::EVENTS_STOPPED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The private native module of the `cortiauth` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<manager::PyTokenManager>()?;
    m.add_class::<token::PyToken>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CORE_VERSION", cortiauth::VERSION)?;
    m.add_function(wrap_pyfunction!(fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(_stop_events, m)?)?;
    Ok(())
}
