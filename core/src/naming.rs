//! Each surface's spelling of a setting's name, derived mechanically from the
//! canonical (snake_case) name in the settings table, and the lookup that turns
//! a name a user wrote back into its row: canonical spellings, old spellings
//! (with a deprecation), or an error with a "did you mean …?".

use std::fmt;

use crate::error::{Error, Result};
use crate::settings::{Field, Setting, Settings, Surface};

/// Whether a row holds a duration (spelled with `_ms` / `Ms` where a surface
/// takes milliseconds).
pub fn is_duration(row: &Setting) -> bool {
    matches!((row.field)(&mut Settings::default()), Field::Duration(_))
}

/// `max_backoff` → `maxBackoff`.
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The name of `row` in `surface`: `max_backoff` (Rust, Python), `max_backoff_ms`
/// (C), `maxBackoffMs` (Node), `max-backoff` (CLI).
pub fn spelling(row: &Setting, surface: Surface) -> String {
    let ms = is_duration(row);
    match surface {
        Surface::Rust | Surface::Python => row.name.to_string(),
        Surface::C if ms => format!("{}_ms", row.name),
        Surface::C => row.name.to_string(),
        Surface::Node if ms => format!("{}Ms", camel(row.name)),
        Surface::Node => camel(row.name),
        Surface::Cli => row.name.replace('_', "-"),
    }
}

/// Whether durations are given in milliseconds (C, Node) or seconds (Python,
/// the CLI) in `surface`, under its canonical spellings.
pub fn takes_millis(surface: Surface) -> bool {
    matches!(surface, Surface::C | Surface::Node)
}

/// An old spelling was used: it works, and the surface warns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deprecation {
    /// The spelling used.
    pub old: String,
    /// The spelling to use instead.
    pub new: String,
}

impl fmt::Display for Deprecation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the setting name {:?} is deprecated: use {:?}",
            self.old, self.new
        )
    }
}

/// A name resolved to its row.
#[derive(Debug)]
pub struct Resolved {
    pub row: &'static Setting,
    /// A duration given in milliseconds (else seconds).
    pub millis: bool,
    pub deprecated: Option<Deprecation>,
}

/// The row that `name` means in `surface`, or a configuration error naming it,
/// with the closest known name of the same surface when there is one.
pub fn resolve(table: &'static [Setting], surface: Surface, name: &str) -> Result<Resolved> {
    for row in table {
        if spelling(row, surface) == name {
            return Ok(Resolved {
                row,
                millis: takes_millis(surface) && is_duration(row),
                deprecated: None,
            });
        }
    }
    for row in table {
        for alias in row.aliases {
            if alias.surface == surface && alias.spelling == name {
                return Ok(Resolved {
                    row,
                    millis: is_duration(row) && (name.ends_with("Ms") || name.ends_with("_ms")),
                    deprecated: Some(Deprecation {
                        old: name.to_string(),
                        new: spelling(row, surface),
                    }),
                });
            }
        }
    }
    let shown: String = name.chars().take(64).collect();
    Err(match suggest(table, surface, name) {
        Some(hint) => Error::config(format!(
            "unknown setting {shown:?} (did you mean {hint:?}?)"
        )),
        None => Error::config(format!(
            "unknown setting {shown:?}: describe() lists every setting's name"
        )),
    })
}

/// Lower-case letters and digits only, without a trailing `ms`: the shape of a
/// name whatever its case, separators or unit.
fn key(name: &str) -> String {
    let k: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match k.strip_suffix("ms") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => k,
    }
}

/// The closest spelling of `surface` for a name that is unknown there: the same
/// name in another surface's spelling (`client_secret_file` in Node →
/// `clientSecretFile`), an old spelling's new one, or a near miss (`clientID`).
pub fn suggest(table: &'static [Setting], surface: Surface, name: &str) -> Option<String> {
    let wanted = key(name);
    let mut candidates: Vec<(String, &Setting)> = Vec::new();
    for row in table {
        for s in [
            Surface::Rust,
            Surface::C,
            Surface::Python,
            Surface::Node,
            Surface::Cli,
        ] {
            candidates.push((key(&spelling(row, s)), row));
        }
        if let Some(env) = row.env {
            let bare = env
                .trim_start_matches("CORTIAUTH_")
                .trim_start_matches("CORTI_");
            candidates.push((key(bare), row));
        }
        for alias in row.aliases {
            candidates.push((key(alias.spelling), row));
            if let Some((_, last)) = alias.spelling.rsplit_once('.') {
                candidates.push((key(last), row));
            }
        }
    }
    let pick = |row: &Setting| spelling(row, surface);
    if let Some((_, row)) = candidates.iter().find(|(k, _)| *k == wanted) {
        return Some(pick(row));
    }
    let mut best: Option<(usize, &Setting)> = None;
    for (k, row) in &candidates {
        let d = distance(k, &wanted);
        if d <= 2 && best.map_or(true, |(b, _)| d < b) {
            best = Some((d, row));
        }
    }
    best.map(|(_, row)| pick(row))
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur.push(substitute.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SETTINGS;

    fn row(name: &str) -> &'static Setting {
        SETTINGS.iter().find(|r| r.name == name).unwrap()
    }

    #[test]
    fn spellings_are_derived_from_the_canonical_name() {
        let r = row("max_backoff");
        assert_eq!(spelling(r, Surface::Rust), "max_backoff");
        assert_eq!(spelling(r, Surface::Python), "max_backoff");
        assert_eq!(spelling(r, Surface::C), "max_backoff_ms");
        assert_eq!(spelling(r, Surface::Node), "maxBackoffMs");
        assert_eq!(spelling(r, Surface::Cli), "max-backoff");
        let r = row("ca_certificates_pem");
        assert_eq!(spelling(r, Surface::Node), "caCertificatesPem");
        assert_eq!(spelling(r, Surface::C), "ca_certificates_pem");
    }

    #[test]
    fn old_spellings_resolve_with_a_deprecation() {
        let r = resolve(SETTINGS, Surface::Node, "refresh.maxMarginMs").unwrap();
        assert_eq!(r.row.name, "refresh_margin");
        assert!(r.millis);
        assert_eq!(r.deprecated.unwrap().new, "refreshMarginMs");
        let r = resolve(SETTINGS, Surface::Python, "ca_cert_pem").unwrap();
        assert_eq!(r.row.name, "ca_certificates_pem");
        assert!(r.deprecated.is_some());
        let r = resolve(SETTINGS, Surface::Node, "refreshMarginMs").unwrap();
        assert!(r.millis && r.deprecated.is_none());
        let r = resolve(SETTINGS, Surface::Python, "refresh_margin").unwrap();
        assert!(!r.millis);
    }

    #[test]
    fn unknown_names_suggest_the_surfaces_own_spelling() {
        let hint = |surface, name| resolve(SETTINGS, surface, name).unwrap_err().to_string();
        for (surface, name, expect) in [
            (Surface::Node, "clientID", "clientId"),
            (Surface::Node, "client_secret_file", "clientSecretFile"),
            (Surface::Node, "timeout", "timeoutMs"),
            (Surface::Node, "retry.deadline", "retryDeadlineMs"),
            (Surface::Node, "tenant_name", "tenant"),
            (Surface::Python, "timeout_ms", "timeout"),
            (Surface::Python, "refresh_margn", "refresh_margin"),
            (Surface::Python, "clientSecret", "client_secret"),
            (Surface::C, "timeout", "timeout_ms"),
            (Surface::Cli, "max_backoff", "max-backoff"),
        ] {
            let e = hint(surface, name);
            assert!(
                e.contains(&format!("(did you mean {expect:?}?)")),
                "{surface:?} {name}: {e}"
            );
        }
        let e = hint(Surface::Python, "completely_unrelated");
        assert!(!e.contains("did you mean"), "{e}");
    }
}
