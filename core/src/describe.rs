//! How settings are shown: [`Config::describe`] (one line of JSON with the same
//! keys in every surface) and `Debug` for [`Settings`] and [`Config`], each a
//! loop over the settings table. Secrets never appear: the client secret is
//! `[REDACTED]`, a shared-cache password is redacted, extra parameter values
//! are shown for `audience` and `resource` only, CA certificates are counted.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::config::{redact_url, Config};
use crate::naming::is_duration;
use crate::settings::{Describe, Field, Setting, Settings, SETTINGS};

/// Extra form parameters whose values are shown: they name what the token is
/// for. Any other value may be a credential (a `client_assertion`).
const SHOWN_PARAM_VALUES: [&str; 2] = ["audience", "resource"];

fn shown_param_value<'a>(name: &str, value: &'a str) -> &'a str {
    if SHOWN_PARAM_VALUES.contains(&name) {
        value
    } else {
        "[REDACTED]"
    }
}

fn count_certificates(pems: &[Vec<u8>]) -> usize {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    pems.iter()
        .map(|pem| pem.windows(BEGIN.len()).filter(|w| *w == BEGIN).count())
        .sum()
}

/// The key `describe()` shows a row under, if it shows it.
pub fn describe_key(row: &Setting) -> Option<String> {
    match row.describe {
        Describe::Named if is_duration(row) => Some(format!("{}_ms", row.name)),
        Describe::Named => Some(row.name.to_string()),
        Describe::Key(k) => Some(k.to_string()),
        Describe::Hidden => None,
    }
}

/// A field as JSON: durations in milliseconds, secrets redacted.
fn json(field: Field<'_>) -> Value {
    let opt = |v: Option<String>| v.map_or(Value::Null, Value::from);
    match field {
        Field::Text(v) => opt(v.clone()),
        Field::Secret(_) => "[REDACTED]".into(),
        Field::Path(v) => opt(v.as_deref().map(|p| p.to_string_lossy().into_owned())),
        Field::Url(v) => opt(v.as_deref().map(redact_url)),
        Field::AuthMethod(v) => opt(v.map(|m| m.as_str().to_string())),
        Field::Duration(v) => v.map_or(Value::Null, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).into()
        }),
        Field::Count(v) => v.map_or(Value::Null, Value::from),
        Field::Fraction(v) => v.map_or(Value::Null, Value::from),
        Field::Flag(v) => v.map_or(Value::Null, Value::from),
        Field::Scopes(v) => v.clone().map_or(Value::Null, Value::from),
        // An array of pairs, in the order sent (an object would lose the order
        // and depend on the JSON library's map type).
        Field::Pairs(v) => Value::Array(
            v.iter()
                .map(|(k, v)| Value::from(vec![k.as_str(), shown_param_value(k, v)]))
                .collect(),
        ),
        Field::Pems(v) => count_certificates(v).into(),
    }
}

impl Config {
    /// The effective settings as one line of JSON: every row of the settings
    /// table with its default filled in, keys sorted, durations in milliseconds
    /// (keys ending in `_ms`), the secret as `"[REDACTED]"`, a shared-cache
    /// password redacted, extra parameter values shown for `audience` and
    /// `resource` only, CA certificates counted. Every binding returns this
    /// string unchanged, so the same settings describe identically everywhere
    /// (apart from `user_agent`, which names the binding).
    pub fn describe(&self) -> String {
        let mut effective = self.effective_settings();
        // A BTreeMap: the bytes do not depend on serde_json's `preserve_order`.
        let mut m: BTreeMap<String, Value> = BTreeMap::new();
        for row in SETTINGS {
            if let Some(key) = describe_key(row) {
                m.insert(key, json((row.field)(&mut effective)));
            }
        }
        m.insert("user_agent".into(), self.user_agent().into());
        m.insert(
            "private_key".into(),
            crate::client_auth::describe_private_key(self),
        );
        m.insert(
            "client_certificate".into(),
            crate::client_auth::describe_client_certificate(self),
        );
        serde_json::to_string(&m).expect("a map of JSON values serializes")
    }
}

/// A field as `Debug` shows it: as `describe()` does, `None` for unset.
struct Shown(Value);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Value::Null => f.write_str("None"),
            v => write!(f, "{v}"),
        }
    }
}

fn debug_rows(name: &str, s: &mut Settings, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut d = f.debug_struct(name);
    for row in SETTINGS {
        let field = (row.field)(s);
        let unset = match &field {
            Field::Secret(v) => v.is_none(),
            _ => false,
        };
        let shown = if unset { Value::Null } else { json(field) };
        d.field(row.name, &Shown(shown));
    }
    d.finish()
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_rows("Settings", &mut self.clone(), f)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_rows("Config", &mut self.effective_settings(), f)
    }
}
