//! `cortiauth.Token`: a token and what the server said about it, redacted in `repr`.

use std::time::UNIX_EPOCH;

use cortiauth::AccessToken;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

use crate::errors::to_py_err;

/// An access token. `repr()` and `str()` never show its value: read
/// `access_token` for that.
#[pyclass(module = "cortiauth", name = "Token", frozen)]
pub struct PyToken {
    pub(crate) token: AccessToken,
}

static FROM_TIMESTAMP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn unix_seconds(token: &AccessToken) -> f64 {
    match token.expires_at_system().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[pymethods]
impl PyToken {
    /// The raw token. Never log it.
    #[getter]
    fn access_token<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::new(py, self.token.secret())
    }

    /// As the server sent it (`Bearer`).
    #[getter]
    fn token_type(&self) -> &str {
        self.token.token_type()
    }

    /// The scope the server granted, or `None` when it did not say.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.token.scope()
    }

    /// When the token expires, on the wall clock. An aware `datetime` in UTC.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let from_timestamp = FROM_TIMESTAMP.get_or_try_init(py, || -> PyResult<_> {
            Ok(py
                .import("datetime")?
                .getattr("datetime")?
                .getattr("fromtimestamp")?
                .unbind())
        })?;
        let utc = UTC.get_or_try_init(py, || -> PyResult<_> {
            Ok(py
                .import("datetime")?
                .getattr("timezone")?
                .getattr("utc")?
                .unbind())
        })?;
        from_timestamp
            .bind(py)
            .call1((unix_seconds(&self.token), utc.bind(py)))
    }

    /// When the token expires, in seconds since the Unix epoch.
    #[getter]
    fn expires_at_unix(&self) -> f64 {
        unix_seconds(&self.token)
    }

    /// Seconds left before the token expires (0.0 once expired), measured now.
    #[getter]
    fn expires_in(&self) -> f64 {
        self.token.expires_in().as_secs_f64()
    }

    /// The lifetime the server gave the token, in seconds.
    #[getter]
    fn lifetime(&self) -> f64 {
        self.token.lifetime().as_secs_f64()
    }

    /// `"Bearer {token}"`, the value of the `Authorization` header.
    fn authorization_header(&self) -> String {
        self.token.authorization_header()
    }

    /// `stream_url` with `token=Bearer%20{token}` appended (for WebSocket streams).
    fn websocket_url(&self, py: Python<'_>, stream_url: &str) -> PyResult<String> {
        cortiauth::websocket_url(stream_url, self.token.secret()).map_err(|e| to_py_err(py, e))
    }

    fn __repr__(&self) -> String {
        format!(
            "Token(token_type='{}', scope='{}', expires_in={:.1}, access_token='[REDACTED]')",
            self.token.token_type(),
            self.token.scope().unwrap_or(""),
            self.token.expires_in().as_secs_f64()
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "cortiauth.Token cannot be pickled: pass the manager's settings to the other process and get a token there",
        ))
    }
}
