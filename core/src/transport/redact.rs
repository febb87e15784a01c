//! Every redaction rule of the token exchange, in one place: the secret, the
//! refresh token and their encoded forms are blanked out of any text taken
//! from an answer before it is cut to length; control characters and bidi
//! overrides become spaces.

use base64::Engine;
use zeroize::Zeroizing;

use super::form::{basic_credentials, form_encode};
use super::{Grant, REDACTED};
use crate::config::Config;

/// Blanks out every form of the secrets a request carried from text a server
/// sent back, then makes it one short printable line.
pub(super) struct Redactor {
    /// Longest first, so that an encoded form is blanked whole.
    patterns: Vec<Zeroizing<String>>,
}

impl Redactor {
    pub(super) fn new(config: &Config, grant: Grant<'_>) -> Redactor {
        let mut patterns: Vec<Zeroizing<String>> = Vec::new();
        let secret = config.client_secret.expose();
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

    pub(super) fn scrub(&self, text: &str) -> Zeroizing<String> {
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
    pub(super) fn clean(&self, text: &str, max_chars: usize) -> String {
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
pub(super) fn add_forms(patterns: &mut Vec<Zeroizing<String>>, value: &str) {
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

pub(super) trait LowercaseHex {
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
pub(super) fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Control characters and bidi overrides made spaces (never longer than `text`).
pub(super) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    out.extend(
        text.chars()
            .map(|c| if is_unprintable(c) { ' ' } else { c }),
    );
    out
}
