//! Every redaction rule, in one place: what secrets are replaced with
//! ([`REDACTED`]); the token exchange's (the secret, the refresh token and
//! their encoded forms are blanked out of any text taken from an answer before
//! it is cut to length; control characters and bidi overrides become spaces);
//! and a URL's password ([`redact_url`]: shared-cache URLs in errors,
//! `describe()`, `Debug` and the CLI).

use base64::Engine;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::transport::form::{basic_credentials, form_encode};
use crate::transport::Grant;

/// What a secret is shown as, everywhere.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Blanks out every form of the secrets a request carried from text a server
/// sent back, then makes it one short printable line.
pub(crate) struct Redactor {
    /// Longest first, so that an encoded form is blanked whole.
    patterns: Vec<Zeroizing<String>>,
}

impl Redactor {
    pub(crate) fn new(config: &Config, grant: Grant<'_>, assertion: Option<&str>) -> Redactor {
        let mut patterns: Vec<Zeroizing<String>> = Vec::new();
        let loaded = config.client_secret.current();
        let secret = loaded.secret.expose();
        add_forms(&mut patterns, secret);
        // The Basic header, as sent and as some clients build it (no form-encoding).
        let b64 =
            |bytes: &[u8]| Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes));
        if !secret.is_empty() {
            patterns.push(b64(&basic_credentials(config)));
            let mut raw = Zeroizing::new(Vec::with_capacity(
                config.client_id.len() + 1 + secret.len(),
            ));
            raw.extend_from_slice(config.client_id.as_bytes());
            raw.push(b':');
            raw.extend_from_slice(secret.as_bytes());
            patterns.push(b64(&raw));
        }
        if let Grant::RefreshToken(rt) = grant {
            add_forms(&mut patterns, rt.expose());
        }
        // A client assertion is a credential while it lives (and its
        // signature part alone, in case a server echoes pieces of it).
        if let Some(jwt) = assertion {
            add_forms(&mut patterns, jwt);
            if let Some((_, signature)) = jwt.rsplit_once('.') {
                add_forms(&mut patterns, signature);
            }
        }
        // The same with control characters made spaces, as `clean` does.
        let mapped: Vec<Zeroizing<String>> = patterns
            .iter()
            .filter(|p| p.chars().any(is_unprintable))
            .map(|p| Zeroizing::new(printable(p)))
            .collect();
        patterns.extend(mapped);
        patterns.retain(|p| !p.is_empty());
        patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
        patterns.dedup();
        Redactor { patterns }
    }

    pub(crate) fn scrub(&self, text: &str) -> Zeroizing<String> {
        let mut out = Zeroizing::new(text.to_string());
        for p in &self.patterns {
            if out.contains(p.as_str()) {
                // The outgrown copy is wiped as it drops.
                out = Zeroizing::new(out.replace(p.as_str(), REDACTED));
            }
        }
        out
    }

    /// Scrubbed first, then cut: a secret crossing the cut cannot leak its head.
    pub(crate) fn clean(&self, text: &str, max_chars: usize) -> String {
        let scrubbed = self.scrub(&printable(&self.scrub(text)));
        let trimmed = scrubbed.trim();
        let mut out: String = trimmed.chars().take(max_chars).collect();
        if trimmed.chars().count() > max_chars {
            out.push('…');
        }
        out
    }
}

/// The literal value, its form- and percent-encoded forms (either hex case) and
/// its JSON-escaped form: what a server echoing the request may show.
pub(crate) fn add_forms(patterns: &mut Vec<Zeroizing<String>>, value: &str) {
    if value.is_empty() {
        return;
    }
    patterns.push(Zeroizing::new(value.to_string()));
    let form = form_encode(value);
    patterns.push(Zeroizing::new(form.to_ascii_lowercase_hex()));
    patterns.push(form);
    let mut pct = Zeroizing::new(String::with_capacity(3 * value.len()));
    pct.extend(percent_encoding::utf8_percent_encode(
        value,
        percent_encoding::NON_ALPHANUMERIC,
    ));
    patterns.push(Zeroizing::new(pct.to_ascii_lowercase_hex()));
    patterns.push(pct);
    if let Ok(json) = serde_json::to_string(value) {
        let json = Zeroizing::new(json);
        patterns.push(Zeroizing::new(json[1..json.len() - 1].to_string()));
    }
}

pub(crate) trait LowercaseHex {
    fn to_ascii_lowercase_hex(&self) -> String;
}

impl LowercaseHex for str {
    /// `%2F` → `%2f`, other characters unchanged.
    fn to_ascii_lowercase_hex(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut hex_left = 0;
        for c in self.chars() {
            if hex_left > 0 {
                out.push(c.to_ascii_lowercase());
                hex_left -= 1;
            } else {
                if c == '%' {
                    hex_left = 2;
                }
                out.push(c);
            }
        }
        out
    }
}

/// Control characters and bidirectional overrides: a log line forger's tools.
pub(crate) fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Control characters and bidi overrides made spaces (never longer than `text`).
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    out.extend(
        text.chars()
            .map(|c| if is_unprintable(c) { ' ' } else { c }),
    );
    out
}
/// The URL with the password (or, when there is no `user:` part, the whole
/// user info) replaced by `[REDACTED]`: `redis://:[REDACTED]@host:6379/0`.
///
/// Works on any string: a URL is parsed and rebuilt with the password
/// replaced; a string that does not parse, or whose `@` is not where the user
/// info ends (a password holding `/`, `?` or `#` unencoded makes the parser cut
/// the URL early), shows only its scheme: `redis://[REDACTED]`. A string
/// without `@` has no user info and is shown as it is.
pub fn redact_url(url: &str) -> String {
    if !url.contains('@') {
        return url.to_string();
    }
    let scheme_only = || {
        let scheme = url
            .split_once(':')
            .map(|(s, _)| s)
            .filter(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            })
            .unwrap_or("unknown");
        format!("{scheme}://[REDACTED]")
    };
    let Ok(parsed) = url::Url::parse(url) else {
        return scheme_only();
    };
    let has_userinfo = !parsed.username().is_empty() || parsed.password().is_some();
    let at_elsewhere = [Some(parsed.path()), parsed.query(), parsed.fragment()]
        .into_iter()
        .flatten()
        .any(|part| part.contains('@'));
    if !has_userinfo {
        // file:///a@b/c: an @ in a path is just a character, where paths are files.
        return if parsed.scheme() == "file" || !at_elsewhere {
            url.to_string()
        } else {
            scheme_only()
        };
    }
    if at_elsewhere {
        return scheme_only();
    }
    let mut out = format!("{}://", parsed.scheme());
    if parsed.password().is_some() {
        out.push_str(parsed.username());
        out.push(':');
    }
    out.push_str("[REDACTED]@");
    out.push_str(parsed.host_str().unwrap_or_default());
    if let Some(port) = parsed.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(parsed.path());
    if let Some(q) = parsed.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = parsed.fragment() {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_and_keeps_the_rest() {
        assert_eq!(
            redact_url("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:[REDACTED]@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("rediss://app:p%40ss:w@cache.example:6380"),
            "rediss://app:[REDACTED]@cache.example:6380"
        );
        // An @ in the password (unencoded): the last @ of the authority ends the user info.
        assert_eq!(
            redact_url("redis://u:a@b@host/1?x=1"),
            "redis://u:[REDACTED]@host/1?x=1"
        );
        assert_eq!(
            redact_url("redis://onlyword@host"),
            "redis://[REDACTED]@host"
        );
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
        assert_eq!(redact_url("file:///var/cache/x"), "file:///var/cache/x");
        assert_eq!(redact_url("memory:"), "memory:");
        // An @ after the authority is not user info.
        assert_eq!(redact_url("file:///a@b/c"), "file:///a@b/c");
        assert_eq!(redact_url("redis://[::1]:6379/2"), "redis://[::1]:6379/2");
        assert_eq!(
            redact_url("redis://:pw@[::1]:6379/2"),
            "redis://:[REDACTED]@[::1]:6379/2"
        );
    }

    #[test]
    fn passwords_with_url_delimiters_never_show() {
        // Unencoded, each of these makes a URL parser end the authority early.
        for password in [
            "pa/ss", "pa?ss", "pa#ss", "p@ss", "p:ss", "12/34", "1?x@", "/", "?#@:",
        ] {
            for url in [
                format!("redis://:{password}@cache.internal:6379/0"),
                format!("rediss://app:{password}@cache.internal:6380"),
                format!("redis://app:{password}@10.0.0.7/1?timeout_ms=100"),
                format!("redis:{password}@host"),
            ] {
                let shown = redact_url(&url);
                let secret_part = password.trim_matches(|c| "/?#@:".contains(c));
                assert!(
                    secret_part.is_empty() || !shown.contains(secret_part),
                    "{url} shown as {shown}"
                );
                assert!(shown.contains("[REDACTED]"), "{url} shown as {shown}");
                assert!(shown.starts_with("redis"), "{url} shown as {shown}");
            }
        }
        // Not a URL at all: the scheme only.
        assert_eq!(redact_url("redis://:a b@c d"), "redis://[REDACTED]");
        assert_eq!(redact_url("::pw@x"), "unknown://[REDACTED]");
    }
}
