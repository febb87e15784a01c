//! Setting a setting by name: the one entry point behind Python's keyword
//! arguments, Node's options, the CLI's flags, C's by-name setter and the
//! environment variables. Each surface hands over its names and values as it
//! has them; the conversion by kind, the unit of durations, the type checks and
//! the "a secret given here replaces the environment's" rule happen here, once.

use std::path::PathBuf;

use zeroize::Zeroize;

use crate::auth_method::AuthMethod;
use crate::error::{Error, Result};
use crate::naming::{self, Deprecation, Resolved};
use crate::secret::SecretString;
use crate::settings::{Field, Setting, Settings, Surface, SETTINGS};

/// A value for [`Settings::set`], in the shape the surface has it.
#[derive(Clone, PartialEq)]
pub enum SettingValue {
    /// Leaves the setting as it is (Python's `None`, JavaScript's `undefined`).
    Null,
    /// A string that is the value itself: text settings only.
    Text(String),
    /// A string to parse by the setting's kind (a flag, C's by-name setter, an
    /// environment variable): `2.5` or `2.5s` or `250ms` for a duration, `true`
    /// for a flag, `name=value` for an extra parameter.
    Parse(String),
    /// A number (durations in the unit the name says: seconds, or milliseconds for `…Ms`/`…_ms`).
    Number(f64),
    /// A flag.
    Bool(bool),
    /// Strings (scopes, PEM texts, `name=value` pairs).
    List(Vec<String>),
    /// `(name, value)` pairs (extra parameters).
    Pairs(Vec<(String, String)>),
    /// Bytes (a PEM as bytes).
    Bytes(Vec<u8>),
    /// Several PEMs, some of them bytes.
    BytesList(Vec<Vec<u8>>),
    /// A value of a type no setting takes (an error names the type expected).
    Other,
}

impl Drop for SettingValue {
    /// A value may be a secret: wipe the strings it holds.
    fn drop(&mut self) {
        match self {
            SettingValue::Text(s) | SettingValue::Parse(s) => s.zeroize(),
            SettingValue::List(l) => l.iter_mut().for_each(Zeroize::zeroize),
            SettingValue::Pairs(p) => p.iter_mut().for_each(|(_, v)| v.zeroize()),
            _ => {}
        }
    }
}

impl std::fmt::Debug for SettingValue {
    /// Never the value: it may be a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            SettingValue::Null => "Null",
            SettingValue::Text(_) => "Text",
            SettingValue::Parse(_) => "Parse",
            SettingValue::Number(_) => "Number",
            SettingValue::Bool(_) => "Bool",
            SettingValue::List(_) => "List",
            SettingValue::Pairs(_) => "Pairs",
            SettingValue::Bytes(_) => "Bytes",
            SettingValue::BytesList(_) => "BytesList",
            SettingValue::Other => "Other",
        };
        write!(f, "SettingValue::{kind}(..)")
    }
}

impl From<&str> for SettingValue {
    fn from(v: &str) -> Self {
        SettingValue::Text(v.to_string())
    }
}
impl From<String> for SettingValue {
    fn from(v: String) -> Self {
        SettingValue::Text(v)
    }
}
impl From<f64> for SettingValue {
    fn from(v: f64) -> Self {
        SettingValue::Number(v)
    }
}
impl From<bool> for SettingValue {
    fn from(v: bool) -> Self {
        SettingValue::Bool(v)
    }
}

/// What a type error says a setting takes.
fn expected(field: &Field<'_>, millis: bool) -> &'static str {
    match field {
        Field::Text(_) | Field::Secret(_) | Field::Url(_) => "a string",
        Field::Path(_) => "a path (string)",
        Field::AuthMethod(_) => "\"client_secret_post\", \"client_secret_basic\", \"client_secret_jwt\", \"private_key_jwt\" or \"tls_client_auth\"",
        Field::Duration(_) if millis => "a number of milliseconds",
        Field::Duration(_) => "a number of seconds",
        Field::Count(_) => "a whole number",
        Field::Fraction(_) => "a number",
        Field::Flag(_) => "a boolean",
        Field::Scopes(_) => "a string of space-separated scopes or a list of strings",
        Field::Pairs(_) => "(name, value) pairs of strings",
        Field::Pems(_) => "a PEM string or bytes, or a list of them",
    }
}

/// A number in a string, with an optional unit for durations (`2.5`, `2.5s`,
/// `250ms`): the number and whether it is in milliseconds.
fn parse_number(text: &str, millis: bool) -> Option<(f64, bool)> {
    let t = text.trim();
    let (t, millis) = if let Some(n) = t.strip_suffix("ms") {
        (n, true)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, false)
    } else {
        (t, millis)
    };
    t.trim().parse().ok().map(|n| (n, millis))
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_pair(text: &str) -> Option<(String, String)> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
}

/// Stores `value` into the field of `r` (`shown` names it in errors; the value
/// never appears in them).
fn store(s: &mut Settings, r: &Resolved, shown: &str, value: &SettingValue) -> Result<()> {
    use SettingValue as V;
    if matches!(value, V::Null) {
        return Ok(());
    }
    let what = expected(&(r.row.field)(&mut Settings::default()), r.millis);
    let wrong = || Error::config(format!("{shown} must be {what}"));
    let mut field = (r.row.field)(s);
    match (&mut field, value) {
        (Field::Text(f) | Field::Url(f), V::Text(v) | V::Parse(v)) => **f = Some(v.clone()),
        (Field::Secret(f), V::Text(v) | V::Parse(v)) => **f = Some(SecretString::new(v.as_str())),
        (Field::Path(f), V::Text(v) | V::Parse(v)) => **f = Some(PathBuf::from(v)),
        (Field::AuthMethod(f), V::Text(v) | V::Parse(v)) => {
            **f = Some(v.parse::<AuthMethod>()?);
        }
        (Field::Duration(f), V::Number(n)) => {
            **f = Some(duration(shown, *n, r.millis)?);
        }
        (Field::Duration(f), V::Parse(t)) => {
            let (n, millis) = parse_number(t, r.millis).ok_or_else(wrong)?;
            **f = Some(duration(shown, n, millis)?);
        }
        (Field::Count(f), V::Number(n)) => **f = Some(count(shown, *n)?),
        (Field::Count(f), V::Parse(t)) => {
            let n: f64 = t.trim().parse().map_err(|_| wrong())?;
            **f = Some(count(shown, n)?);
        }
        (Field::Fraction(f), V::Number(n)) => **f = Some(*n),
        (Field::Fraction(f), V::Parse(t)) => {
            **f = Some(t.trim().parse().map_err(|_| wrong())?);
        }
        (Field::Flag(f), V::Bool(b)) => **f = Some(*b),
        (Field::Flag(f), V::Parse(t)) => {
            **f = Some(parse_flag(t).ok_or_else(wrong)?);
        }
        (Field::Scopes(f), V::Text(t) | V::Parse(t)) => {
            **f = Some(t.split_whitespace().map(str::to_string).collect());
        }
        (Field::Scopes(f), V::List(l)) => **f = Some(l.clone()),
        (Field::Pairs(_), V::Pairs(pairs)) => {
            for (name, v) in pairs {
                s.set_extra_param(name.as_str(), v.as_str());
            }
        }
        (Field::Pairs(_), V::Parse(t)) => {
            let (name, v) = parse_pair(t)
                .ok_or_else(|| Error::config(format!("{shown} must be NAME=VALUE")))?;
            s.set_extra_param(name, v);
        }
        (Field::Pairs(_), V::List(l)) => {
            for t in l {
                let (name, v) = parse_pair(t)
                    .ok_or_else(|| Error::config(format!("{shown} must be NAME=VALUE pairs")))?;
                s.set_extra_param(name, v);
            }
        }
        // An empty PEM clears the list (C's `""`).
        (Field::Pems(f), V::Text(t) | V::Parse(t)) if t.trim().is_empty() => f.clear(),
        (Field::Pems(f), V::Text(t) | V::Parse(t)) => f.push(t.as_bytes().to_vec()),
        (Field::Pems(f), V::Bytes(b)) => f.push(b.clone()),
        (Field::Pems(f), V::BytesList(l)) => f.extend(l.iter().cloned()),
        (Field::Pems(f), V::List(l)) => f.extend(l.iter().map(|t| t.as_bytes().to_vec())),
        _ => return Err(wrong()),
    }
    Ok(())
}

fn duration(shown: &str, n: f64, millis: bool) -> Result<std::time::Duration> {
    if millis {
        crate::config::duration_from_millis_f64(shown, n)
    } else {
        crate::config::duration_from_secs_f64(shown, n)
    }
}

fn count(shown: &str, n: f64) -> Result<u32> {
    if n.is_finite() && n.fract() == 0.0 && n >= 0.0 {
        // `as` saturates: 1e22 becomes u32::MAX, which the range check reports.
        Ok(n as u32)
    } else {
        Err(Error::config(format!("{shown} must be a whole number")))
    }
}

impl Settings {
    /// Sets one setting by the name `surface` spells it, from a value in the
    /// shape that surface has it: `set(Surface::Node, "maxBackoffMs", 5000.0.into())`,
    /// `set(Surface::Python, "max_backoff", 5.0.into())`. An old spelling works
    /// and is returned as a [`Deprecation`] for the surface to warn about; an
    /// unknown name is a `Config` error with the closest known name. Ranges are
    /// checked by [`Settings::build`].
    pub fn set(
        &mut self,
        surface: Surface,
        name: &str,
        value: SettingValue,
    ) -> Result<Option<Deprecation>> {
        self.set_in(SETTINGS, surface, name, value)
    }

    /// [`set`](Self::set) against another settings table (tests add a row).
    #[doc(hidden)]
    pub fn set_in(
        &mut self,
        table: &'static [Setting],
        surface: Surface,
        name: &str,
        value: SettingValue,
    ) -> Result<Option<Deprecation>> {
        let r = naming::resolve(table, surface, name)?;
        // One setting at a time: a later secret source replaces the earlier
        // (as `set_client_secret` and `set_client_secret_file` do).
        if !matches!(value, SettingValue::Null) {
            match r.row.name {
                "client_secret" => self.client_secret_file = None,
                "client_secret_file" => self.client_secret = None,
                _ => {}
            }
        }
        store(self, &r, name, &value)?;
        Ok(r.deprecated)
    }

    /// Sets several settings at once, as one constructor call or command line
    /// gives them. A client secret or secret file given here (not null)
    /// replaces the one from the environment; given both ways here, both stay
    /// set and [`Settings::build`] refuses them. Every name is checked before
    /// any value is stored. Returns the old spellings used.
    pub fn apply<'a>(
        &mut self,
        surface: Surface,
        items: impl IntoIterator<Item = (&'a str, SettingValue)>,
    ) -> Result<Vec<Deprecation>> {
        let items: Vec<(&str, SettingValue)> = items.into_iter().collect();
        let mut resolved = Vec::with_capacity(items.len());
        for (name, value) in &items {
            resolved.push((naming::resolve(SETTINGS, surface, name)?, *name, value));
        }
        let secret_given = resolved.iter().any(|(r, _, v)| {
            matches!(r.row.name, "client_secret" | "client_secret_file")
                && !matches!(v, SettingValue::Null)
        });
        if secret_given {
            self.client_secret = None;
            self.client_secret_file = None;
        }
        let mut deprecations = Vec::new();
        for (r, name, value) in resolved {
            store(self, &r, name, value)?;
            deprecations.extend(r.deprecated);
        }
        Ok(deprecations)
    }

    /// Settings read from the environment variables of the settings table
    /// (`CORTI_CLIENT_ID`, `CORTI_CLIENT_SECRET`, `CORTI_CLIENT_SECRET_FILE`,
    /// `CORTI_ENVIRONMENT`, `CORTI_TENANT_NAME`, `CORTI_TOKEN_URL`,
    /// `CORTI_SCOPES` (space-separated), `CORTIAUTH_SHARED_CACHE`); unset or
    /// blank variables stay `None`. Fields set afterwards override them; missing
    /// required values are reported by [`Settings::build`].
    pub fn from_env() -> Settings {
        let mut s = Settings::default();
        for row in SETTINGS {
            let Some(var) = row.env else { continue };
            let Some(value) = std::env::var(var)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            let r = Resolved {
                row,
                millis: false,
                deprecated: None,
            };
            // Every variable is a text setting: storing cannot fail.
            let _ = store(&mut s, &r, var, &SettingValue::Parse(value));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{DefaultValue, Describe, Range};
    use std::time::Duration;

    fn v(x: f64) -> SettingValue {
        SettingValue::Number(x)
    }

    #[test]
    fn each_surface_sets_by_its_own_name_and_unit() {
        let mut s = Settings::default();
        s.set(Surface::Python, "max_backoff", v(5.0)).unwrap();
        assert_eq!(s.max_backoff, Some(Duration::from_secs(5)));
        s.set(Surface::Node, "maxBackoffMs", v(2500.0)).unwrap();
        assert_eq!(s.max_backoff, Some(Duration::from_millis(2500)));
        s.set(
            Surface::Cli,
            "max-backoff",
            SettingValue::Parse("1.5".into()),
        )
        .unwrap();
        assert_eq!(s.max_backoff, Some(Duration::from_millis(1500)));
        s.set(
            Surface::C,
            "max_backoff_ms",
            SettingValue::Parse("700".into()),
        )
        .unwrap();
        assert_eq!(s.max_backoff, Some(Duration::from_millis(700)));
        s.set(Surface::Node, "backgroundRefresh", true.into())
            .unwrap();
        assert_eq!(s.background_refresh, Some(true));
        s.set(Surface::Python, "scopes", "transcribe streams".into())
            .unwrap();
        assert_eq!(s.scopes.as_deref().unwrap(), ["transcribe", "streams"]);
        s.set(
            Surface::Cli,
            "max-attempts",
            SettingValue::Parse("2".into()),
        )
        .unwrap();
        assert_eq!(s.max_attempts, Some(2));
    }

    #[test]
    fn old_spellings_set_the_same_field_and_say_so() {
        let mut a = Settings::default();
        let d = a
            .set(Surface::Node, "retry.deadlineMs", v(1234.0))
            .unwrap()
            .unwrap();
        assert_eq!(d.new, "retryDeadlineMs");
        let mut b = Settings::default();
        assert!(b
            .set(Surface::Node, "retryDeadlineMs", v(1234.0))
            .unwrap()
            .is_none());
        assert!(a == b);
    }

    #[test]
    fn wrong_types_never_echo_the_value() {
        let mut s = Settings::default();
        let e = s
            .set(Surface::Python, "timeout", "secret-looking-value".into())
            .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("timeout must be a number of seconds"),
            "{e}"
        );
        let e = s
            .set(Surface::Node, "clientSecret", v(12345.0))
            .unwrap_err();
        assert!(!e.to_string().contains("12345"), "{e}");
        let e = s
            .set(Surface::C, "timeout_ms", SettingValue::Parse("soon".into()))
            .unwrap_err();
        assert!(e.to_string().contains("milliseconds"), "{e}");
        assert!(format!("{:?}", SettingValue::Text("hunter2".into()))
            .find("hunter2")
            .is_none());
    }

    #[test]
    fn a_secret_given_replaces_the_environments() {
        let mut s = Settings {
            client_secret_file: Some("/run/secrets/env".into()),
            ..Settings::default()
        };
        s.apply(Surface::Python, [("client_secret", "given".into())])
            .unwrap();
        assert!(s.client_secret_file.is_none());
        assert_eq!(s.client_secret.as_ref().unwrap().expose(), "given");
        // Both given in one call: both kept, and build refuses them.
        s.apply(
            Surface::Node,
            [
                ("clientSecret", "a".into()),
                ("clientSecretFile", "/x".into()),
            ],
        )
        .unwrap();
        assert!(s.client_secret.is_some() && s.client_secret_file.is_some());
        // A null secret changes nothing.
        let mut t = Settings {
            client_secret: Some("env".into()),
            ..Settings::default()
        };
        t.apply(Surface::Python, [("client_secret", SettingValue::Null)])
            .unwrap();
        assert_eq!(t.client_secret.unwrap().expose(), "env");
        // An unknown name stores nothing at all.
        let mut u = Settings::default();
        assert!(u
            .apply(Surface::Python, [("timeout", v(3.0)), ("timout", v(3.0))])
            .is_err());
        assert!(u.timeout.is_none());
    }

    /// A new setting is one table row: here a throw-away one (stored in an
    /// existing field), found by every surface's spelling, with its unit.
    #[test]
    fn a_new_row_is_accepted_by_name_everywhere() {
        static TABLE: &[Setting] = &[Setting {
            name: "throwaway_grace",
            env: None,
            default: DefaultValue::Duration(Duration::from_secs(1)),
            default_doc: "",
            range: Range::Any,
            doc: "A setting that exists only in this test.",
            describe: Describe::Named,
            aliases: &[],
            field: |s| Field::Duration(&mut s.timeout),
        }];
        let mut s = Settings::default();
        s.set_in(TABLE, Surface::Node, "throwawayGraceMs", v(1500.0))
            .unwrap();
        assert_eq!(s.timeout, Some(Duration::from_millis(1500)));
        s.set_in(TABLE, Surface::Python, "throwaway_grace", v(2.0))
            .unwrap();
        assert_eq!(s.timeout, Some(Duration::from_secs(2)));
        s.set_in(
            TABLE,
            Surface::Cli,
            "throwaway-grace",
            SettingValue::Parse("3s".into()),
        )
        .unwrap();
        assert_eq!(s.timeout, Some(Duration::from_secs(3)));
        let e = s
            .set_in(TABLE, Surface::Node, "throwawayGrace", v(1.0))
            .unwrap_err();
        assert!(
            e.to_string().contains("did you mean \"throwawayGraceMs\""),
            "{e}"
        );
    }
}
