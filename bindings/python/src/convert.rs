//! Python arguments to a core `Config`.
//!
//! Python conventions on the way in: `scopes` as a list or a space-separated
//! string, `timeout` as seconds (float), `extra_params` as a mapping or pairs,
//! `ca_cert_pem` as `str`, `bytes` or a list of them. Validation itself is the
//! core's (`ConfigBuilder::build`); only what the core cannot see (a float
//! that is not a duration) is checked here.

use std::time::Duration;

use cortiauth::{AuthMethod, Config, ConfigBuilder, SecretString};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyMapping, PyString};

use crate::errors::{config_error, to_py_err};

/// Per-request timeout when the caller gives none (the issue's `timeout=30.0`).
pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;

/// Every keyword the native constructor accepts.
pub struct Options<'py> {
    pub from_env: bool,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub environment: Option<String>,
    pub tenant: Option<String>,
    pub scopes: Option<Bound<'py, PyAny>>,
    pub token_url: Option<String>,
    pub auth_method: Option<String>,
    pub timeout: Option<f64>,
    pub api_base_url: Option<String>,
    pub extra_params: Option<Bound<'py, PyAny>>,
    pub ca_cert_pem: Option<Bound<'py, PyAny>>,
    pub background_refresh: Option<bool>,
    pub max_attempts: Option<u32>,
    pub retry_deadline: Option<f64>,
}

pub fn build_config(py: Python<'_>, o: Options<'_>) -> PyResult<Config> {
    let mut b = if o.from_env {
        ConfigBuilder::from_env()
    } else {
        Config::builder()
    };
    if let Some(v) = o.client_id {
        b = b.client_id(v);
    }
    if let Some(v) = o.client_secret {
        b = b.client_secret(SecretString::new(v));
    }
    if let Some(v) = o.environment {
        b = b.environment(v);
    }
    if let Some(v) = o.tenant {
        b = b.tenant(v);
    }
    if let Some(v) = o.scopes {
        b = b.scopes(scopes(&v)?);
    }
    if let Some(v) = o.token_url {
        b = b.token_url(v);
    }
    if let Some(v) = o.api_base_url {
        b = b.api_base_url(v);
    }
    if let Some(v) = o.auth_method {
        let method: AuthMethod = v.parse().map_err(|e| to_py_err(py, e))?;
        b = b.auth_method(method);
    }
    let timeout = o.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
    b = b.timeout(seconds(py, "timeout", timeout)?);
    if let Some(v) = o.extra_params {
        for (name, value) in pairs(&v)? {
            b = b.extra_param(name, value);
        }
    }
    if let Some(v) = o.ca_cert_pem {
        for pem in pems(&v)? {
            b = b.add_ca_certificate_pem(pem);
        }
    }
    if let Some(on) = o.background_refresh {
        b = b.background_refresh(on);
    }
    if o.max_attempts.is_some() || o.retry_deadline.is_some() {
        let mut retry = cortiauth::RetryPolicy::default();
        if let Some(n) = o.max_attempts {
            retry.max_attempts = n;
        }
        if let Some(d) = o.retry_deadline {
            retry.deadline = seconds(py, "retry_deadline", d)?;
        }
        b = b.retry_policy(retry);
    }
    b = b.user_agent_suffix("python");
    b.build().map_err(|e| to_py_err(py, e))
}

/// A positive, finite number of seconds.
fn seconds(py: Python<'_>, what: &str, secs: f64) -> PyResult<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if secs > 0.0 => Ok(d),
        _ => Err(config_error(
            py,
            format!("{what} must be a positive number of seconds, got {secs}"),
        )),
    }
}

/// `"openid transcribe"` or `["openid", "transcribe"]` (the core splits on spaces).
fn scopes(v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(vec![s.to_cow()?.into_owned()]);
    }
    let mut out = Vec::new();
    for item in v
        .try_iter()
        .map_err(|_| PyTypeError::new_err("scopes must be a string or an iterable of strings"))?
    {
        let item = item?;
        let s = item.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err("scopes must be a string or an iterable of strings")
        })?;
        out.push(s.to_cow()?.into_owned());
    }
    Ok(out)
}

/// A mapping (`{"audience": "x"}`) or an iterable of `(name, value)` pairs.
fn pairs(v: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let type_error = || {
        PyTypeError::new_err(
            "extra_params must be a mapping or an iterable of (name, value) pairs of strings",
        )
    };
    let items = match v.cast::<PyMapping>() {
        Ok(m) => m.items()?.into_any(),
        Err(_) => v.clone(),
    };
    let mut out = Vec::new();
    for item in items.try_iter().map_err(|_| type_error())? {
        let (name, value): (String, String) = item?.extract().map_err(|_| type_error())?;
        out.push((name, value));
    }
    Ok(out)
}

/// One PEM (`str` or `bytes`) or an iterable of them.
fn pems(v: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    fn one(v: &Bound<'_, PyAny>) -> Option<Vec<u8>> {
        if let Ok(s) = v.cast::<PyString>() {
            return s.to_cow().ok().map(|s| s.as_bytes().to_vec());
        }
        v.cast::<PyBytes>().ok().map(|b| b.as_bytes().to_vec())
    }
    if let Some(pem) = one(v) {
        return Ok(vec![pem]);
    }
    let type_error = || PyTypeError::new_err("ca_cert_pem must be str, bytes or a list of them");
    let mut out = Vec::new();
    for item in v.try_iter().map_err(|_| type_error())? {
        out.push(one(&item?).ok_or_else(type_error)?);
    }
    Ok(out)
}
