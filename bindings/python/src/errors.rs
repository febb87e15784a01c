//! Core errors to Python exceptions: the one conversion.
//!
//! The exception classes are plain Python classes (`cortiauth/_errors.py`), so
//! they pickle, subclass and document like any other. This function hands the
//! core error's kind and fields to `cortiauth._errors._from_native`, which
//! picks the class from the kind (`ErrorKind::as_str`) in one table.

use cortiauth::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `cortiauth._errors._from_native`, imported once.
static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Converts a core error into the matching `cortiauth.Error` subclass.
///
/// The core's `Display` never contains the secret or a token, and neither do
/// the fields passed along (the HTTP body is the core's short excerpt).
pub fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    match build(py, &error) {
        Ok(exception) => exception,
        // The package is broken (cortiauth._errors missing): say so, still without secrets.
        Err(import_error) => import_error,
    }
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    // The outer message is the whole chain on one line (what `str(e)` users
    // read); each `__cause__` carries its own layer.
    let exception = one_exception(py, error, error.full_message())?;
    // The causes (`std::error::Error::source`), each the `__cause__` of the one
    // before, so a traceback shows the chain. A cause that is no core error
    // becomes a plain `cortiauth.Error` with its message.
    let mut outer = exception.clone();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let inner = match cause.downcast_ref::<Error>() {
            Some(e) => one_exception(py, e, e.to_string())?,
            None => factory(py)?.call1(("error", cause.to_string()))?,
        };
        outer.setattr("__cause__", &inner)?;
        outer = inner;
        source = cause.source();
    }
    Ok(PyErr::from_value(exception))
}

fn factory(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    FROM_NATIVE
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py
                .import("cortiauth._errors")?
                .getattr("_from_native")?
                .unbind())
        })
        .map(|f| f.bind(py))
}

/// The exception for one core error, without its causes.
fn one_exception<'py>(
    py: Python<'py>,
    error: &Error,
    message: String,
) -> PyResult<Bound<'py, PyAny>> {
    let factory = factory(py)?;
    let attrs = PyDict::new(py);
    match error {
        Error::OAuth {
            error,
            error_description,
            error_uri,
            http_status,
        } => {
            attrs.set_item("error", error)?;
            attrs.set_item("error_description", error_description)?;
            attrs.set_item("error_uri", error_uri)?;
            attrs.set_item("status_code", http_status)?;
        }
        Error::Http { status, body } => {
            attrs.set_item("status_code", status)?;
            attrs.set_item("body", body)?;
        }
        _ => {}
    }
    factory.call((error.kind().as_str(), message), Some(&attrs))
}
