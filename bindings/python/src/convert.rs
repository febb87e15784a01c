//! Python arguments onto the core's settings, by name.
//!
//! The native `TokenManager.__new__` takes `*args, **kwargs` and hands them
//! here. Each value becomes a `SettingValue` by its Python type (`None`, `bool`,
//! a number, `str`, `bytes`, `os.PathLike`, a mapping, an iterable); the names,
//! the units (seconds), the type checks, the old spellings and the "a secret
//! given here replaces the environment's" rule are the core's
//! (`Settings::apply`), as are the defaults and every range (`Settings::build`).
//! An unknown name or a wrong type raises `cortiauth.SettingError` (a
//! `ConfigError` and a `TypeError`); an old name a `DeprecationWarning`.

use std::ffi::CString;
use std::path::PathBuf;

use cortiauth::surface::{SettingValue, Surface};
use cortiauth::Settings;
use pyo3::exceptions::{PyDeprecationWarning, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyMapping, PyString, PyTuple};

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
    let mut items: Vec<(String, SettingValue)> = Vec::new();
    for (name, value) in POSITIONAL.iter().zip(args.iter()) {
        items.push((name.to_string(), value_of(&value)?));
    }
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let key = key.cast::<PyString>()?.to_cow()?.into_owned();
            if POSITIONAL[..args.len()].contains(&key.as_str()) {
                return Err(PyTypeError::new_err(format!(
                    "TokenManager() got multiple values for argument '{key}'"
                )));
            }
            let value = value_of(&value)?;
            items.push((key, value));
        }
    }
    let deprecations = s
        .apply(
            Surface::Python,
            items
                .iter_mut()
                .map(|(k, v)| (k.as_str(), std::mem::replace(v, SettingValue::Null))),
        )
        .map_err(|e| setting_error(py, &e))?;
    for d in deprecations {
        let message = CString::new(d.to_string()).unwrap_or_default();
        PyErr::warn(py, &py.get_type::<PyDeprecationWarning>(), &message, 2)?;
    }
    s.binding = Some("python".into());
    Ok(s)
}

/// `cortiauth.SettingError(message)`.
fn setting_error(py: Python<'_>, e: &cortiauth::Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = py.import("cortiauth._errors")?.getattr("SettingError")?;
        Ok(PyErr::from_value(class.call1((e.full_message(),))?))
    };
    build().unwrap_or_else(|import_error| import_error)
}

/// A Python value as the core's setting value, by its type.
fn value_of(v: &Bound<'_, PyAny>) -> PyResult<SettingValue> {
    if v.is_none() {
        return Ok(SettingValue::Null);
    }
    if v.is_instance_of::<PyBool>() {
        return Ok(SettingValue::Bool(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() {
        // An int too large for a float is a huge number either way: the core refuses it.
        return Ok(SettingValue::Number(v.extract().unwrap_or(f64::INFINITY)));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(SettingValue::Text(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(SettingValue::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(m) = v.cast::<PyMapping>() {
        return Ok(pairs(&m.items()?.into_any()).unwrap_or(SettingValue::Other));
    }
    if let Ok(path) = v.extract::<PathBuf>() {
        return Ok(SettingValue::Text(path.to_string_lossy().into_owned()));
    }
    let Ok(items) = v.try_iter() else {
        return Ok(SettingValue::Other);
    };
    let items: Vec<Bound<'_, PyAny>> = items.collect::<PyResult<_>>()?;
    if items
        .first()
        .is_some_and(|i| i.cast::<PyString>().is_err() && i.cast::<PyBytes>().is_err())
    {
        return Ok(pairs_of(&items).unwrap_or(SettingValue::Other));
    }
    let mut texts = Vec::new();
    let mut bytes = Vec::new();
    for item in &items {
        if let Ok(s) = item.cast::<PyString>() {
            let s = s.to_cow()?.into_owned();
            bytes.push(s.as_bytes().to_vec());
            texts.push(s);
        } else if let Ok(b) = item.cast::<PyBytes>() {
            bytes.push(b.as_bytes().to_vec());
        } else {
            return Ok(SettingValue::Other);
        }
    }
    Ok(if texts.len() == items.len() {
        SettingValue::List(texts)
    } else {
        SettingValue::BytesList(bytes)
    })
}

/// `(name, value)` pairs of strings from an iterable of pairs.
fn pairs(items: &Bound<'_, PyAny>) -> Option<SettingValue> {
    let items: Vec<Bound<'_, PyAny>> = items.try_iter().ok()?.collect::<PyResult<_>>().ok()?;
    pairs_of(&items)
}

fn pairs_of(items: &[Bound<'_, PyAny>]) -> Option<SettingValue> {
    items
        .iter()
        .map(|item| item.extract::<(String, String)>().ok())
        .collect::<Option<Vec<_>>>()
        .map(SettingValue::Pairs)
}
