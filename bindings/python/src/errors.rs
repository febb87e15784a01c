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
    let factory = FROM_NATIVE.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("cortiauth._errors")?
            .getattr("_from_native")?
            .unbind())
    })?;
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
    let exception = factory
        .bind(py)
        .call((error.kind().as_str(), error.to_string()), Some(&attrs))?;
    Ok(PyErr::from_value(exception))
}

/// A configuration error raised by the binding itself (bad argument values
/// that the core cannot see, such as a negative timeout).
pub fn config_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_py_err(
        py,
        Error::Config {
            message: message.into(),
        },
    )
}
