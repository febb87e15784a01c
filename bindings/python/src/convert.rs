//! Python arguments onto the core's `cortiauth::Settings`, one field each.
//!
//! This is the only list of the constructor's settings in Rust: the native
//! `TokenManager.__new__` takes `*args, **kwargs` and hands them here. Python
//! conventions on the way in (durations in seconds, `scopes` as a list or a
//! space-separated string, `extra_params` as a mapping or pairs, `ca_cert_pem`
//! as `str`, `bytes` or a list of them); `None` leaves a setting at its default
//! (or at the `CORTI_*` variable's value with `from_env`). Defaults, the
//! replace rules and every range check are the core's (`Settings::build`):
//! nothing is checked here but what the core cannot see (a Python value that is
//! not a number of seconds, not a string, …).

use std::path::PathBuf;

use cortiauth::{duration_from_secs_f64, AuthMethod, SecretString, Settings};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyString, PyTuple};

use crate::errors::{config_error, to_py_err};

/// The settings that may also be passed positionally, in this order (the
/// constructor's signature since the first release).
const POSITIONAL: [&str; 8] = [
    "client_id",
    "client_secret",
    "environment",
    "tenant",
    "scopes",
    "token_url",
    "auth_method",
    "timeout",
];

/// The settings of `TokenManager(*args, **kwargs)`, from the `CORTI_*`
/// variables first when `from_env`.
pub fn settings(
    py: Python<'_>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
    from_env: bool,
) -> PyResult<Settings> {
    let mut s = if from_env {
        Settings::from_env()
    } else {
        Settings::default()
    };
    if args.len() > POSITIONAL.len() {
        return Err(PyTypeError::new_err(format!(
            "TokenManager() takes at most {} positional arguments ({}), {} were given",
            POSITIONAL.len(),
            POSITIONAL.join(", "),
            args.len()
        )));
    }
    // A secret given here replaces the environment's secret source (variable or
    // file); given both ways here, both stay set and the core refuses them.
    let given = |name: &str| -> PyResult<bool> {
        let positional = POSITIONAL[..args.len()].iter().position(|n| *n == name);
        Ok(match positional {
            Some(i) => !args.get_item(i)?.is_none(),
            None => match kwargs {
                Some(k) => k.get_item(name)?.is_some_and(|v| !v.is_none()),
                None => false,
            },
        })
    };
    if given("client_secret")? || given("client_secret_file")? {
        s.client_secret = None;
        s.client_secret_file = None;
    }
    for (name, value) in POSITIONAL.iter().zip(args.iter()) {
        set(py, &mut s, name, &value)?;
    }
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let key = key.cast::<PyString>()?.to_cow()?;
            if POSITIONAL[..args.len()].contains(&key.as_ref()) {
                return Err(PyTypeError::new_err(format!(
                    "TokenManager() got multiple values for argument '{key}'"
                )));
            }
            set(py, &mut s, &key, &value)?;
        }
    }
    s.binding = Some("python".into());
    Ok(s)
}

/// Sets the one field `name` of `s` from a Python value.
fn set(py: Python<'_>, s: &mut Settings, name: &str, v: &Bound<'_, PyAny>) -> PyResult<()> {
    if v.is_none() {
        return Ok(());
    }
    match name {
        "client_id" => s.client_id = Some(text(name, v)?),
        "client_secret" => s.client_secret = Some(SecretString::new(text(name, v)?)),
        "client_secret_file" => s.client_secret_file = Some(path(name, v)?),
        "environment" => s.environment = Some(text(name, v)?),
        "tenant" => s.tenant = Some(text(name, v)?),
        "scopes" => s.scopes = Some(scopes(v)?),
        "token_url" => s.token_url = Some(text(name, v)?),
        "api_base_url" => s.api_base_url = Some(text(name, v)?),
        "auth_method" => {
            let method: AuthMethod = text(name, v)?.parse().map_err(|e| to_py_err(py, e))?;
            s.auth_method = Some(method);
        }
        "extra_params" => {
            for (n, value) in pairs(v)? {
                s.set_extra_param(n, value);
            }
        }
        "timeout" => s.timeout = Some(seconds(py, name, v)?),
        "max_attempts" => s.max_attempts = Some(count(py, name, v)?),
        "initial_backoff" => s.initial_backoff = Some(seconds(py, name, v)?),
        "max_backoff" => s.max_backoff = Some(seconds(py, name, v)?),
        "retry_deadline" => s.retry_deadline = Some(seconds(py, name, v)?),
        "failure_cooldown" => s.failure_cooldown = Some(seconds(py, name, v)?),
        "refresh_margin" => s.refresh_margin = Some(seconds(py, name, v)?),
        "refresh_margin_fraction" => s.refresh_margin_fraction = Some(number(name, v)?),
        "expiry_skew" => s.expiry_skew = Some(seconds(py, name, v)?),
        "default_lifetime" => s.default_lifetime = Some(seconds(py, name, v)?),
        "background_refresh" => s.background_refresh = Some(flag(name, v)?),
        "ca_cert_pem" => s.ca_certificates_pem.extend(pems(v)?),
        "shared_cache" => s.shared_cache = Some(text(name, v)?),
        other => {
            return Err(PyTypeError::new_err(format!(
                "TokenManager() got an unexpected keyword argument '{other}'"
            )))
        }
    }
    Ok(())
}

fn type_error(name: &str, what: &str, v: &Bound<'_, PyAny>) -> PyErr {
    let got = v
        .get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string());
    PyTypeError::new_err(format!("{name} must be {what}, not {got}"))
}

fn text(name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    match v.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(type_error(name, "a str", v)),
    }
}

fn path(name: &str, v: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    v.extract()
        .map_err(|_| type_error(name, "a str or os.PathLike", v))
}

fn number(name: &str, v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error(name, "a number", v));
    }
    v.extract().map_err(|_| type_error(name, "a number", v))
}

fn flag(name: &str, v: &Bound<'_, PyAny>) -> PyResult<bool> {
    v.extract().map_err(|_| type_error(name, "a bool", v))
}

/// A number of seconds, converted by the core (NaN, negative or huge values
/// are a `ConfigError` naming the setting; ranges are checked by `build`).
fn seconds(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<std::time::Duration> {
    duration_from_secs_f64(name, number(name, v)?).map_err(|e| to_py_err(py, e))
}

/// A whole number that fits the core's field (its range is the core's to check).
fn count(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<u32> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error(name, "an int", v));
    }
    let n: i128 = v.extract().map_err(|_| type_error(name, "an int", v))?;
    u32::try_from(n).map_err(|_| config_error(py, format!("{name} out of range, got {n}")))
}

/// `"openid transcribe"` or `["openid", "transcribe"]` (the core splits on spaces).
fn scopes(v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(vec![s.to_cow()?.into_owned()]);
    }
    let type_error = || PyTypeError::new_err("scopes must be a string or an iterable of strings");
    let mut out = Vec::new();
    for item in v.try_iter().map_err(|_| type_error())? {
        let item = item?;
        let s = item.cast::<PyString>().map_err(|_| type_error())?;
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
