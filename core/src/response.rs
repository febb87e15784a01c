//! Reading a token endpoint's 2xx body, tolerant of what real servers send.

use std::time::Duration;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SecretString;

/// What a successful token response carries that we use.
pub(crate) struct TokenResponse {
    pub access_token: SecretString,
    pub token_type: String,
    pub scope: Option<String>,
    pub lifetime: Duration,
    /// A refresh token and its lifetime, only when `refresh_expires_in > 0`.
    pub refresh: Option<(SecretString, Duration)>,
}

/// Lifetimes above this are treated as a broken response, not as "forever".
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);
/// Shorter access-token lifetimes (`expires_in: 0.001`) are raised to this, so a
/// server cannot make us send back-to-back token requests.
pub(crate) const MIN_LIFETIME: Duration = Duration::from_secs(1);

/// Reads a 2xx token response.
///
/// The access token's lifetime is `expires_in`, else the JWT's `exp`, else
/// `default_lifetime`; it is raised to [`MIN_LIFETIME`] (1 s) when shorter. A
/// JWT whose `exp` has already passed by our clock gets [`MIN_LIFETIME`] and a
/// warning: the server just issued it, so one of the two clocks is wrong.
/// `expires_in` of 0, below 0 or above 366 days is an error.
pub(crate) fn parse(
    body: &[u8],
    content_type: Option<&str>,
    default_lifetime: Duration,
) -> Result<TokenResponse> {
    let mut json: Value = serde_json::from_slice(body).map_err(|e| {
        let what = match content_type {
            Some(ct) if ct.contains("html") => "an HTML page".to_string(),
            Some(ct) => format!("non-JSON content ({})", printable_prefix(ct, 60)),
            None => "non-JSON content".to_string(),
        };
        // serde_json's syntax errors name a position, never the content.
        Error::invalid_response(format!(
            "token endpoint answered 2xx with {what}: check the token URL"
        ))
        .with_source(e)
    })?;
    let obj = json
        .as_object_mut()
        .ok_or_else(|| Error::invalid_response("token response is not a JSON object"))?;
    // The tokens are moved out of the parsed JSON, not copied: the secret
    // strings then live only in wiped-on-drop storage.
    let access_token = match obj.remove("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => trimmed_secret(s),
        Some(_) => {
            return Err(Error::invalid_response(
                "access_token is empty or not a string",
            ))
        }
        None => return Err(Error::invalid_response("missing access_token")),
    };
    // Unused, but a token: wiped rather than left in freed memory.
    if let Some(Value::String(id_token)) = obj.remove("id_token") {
        drop(Zeroizing::new(id_token));
    }
    let token_type = match obj.get("token_type") {
        Some(Value::String(s)) if !s.is_empty() => printable_prefix(s, 64),
        _ => "Bearer".to_string(),
    };
    let scope = match obj.get("scope") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    let lifetime = match obj.get("expires_in") {
        None | Some(Value::Null) => match jwt_exp_left(access_token.expose()) {
            Some(Ok(left)) => left,
            Some(Err(())) => {
                log::warn!(
                    "cortiauth: the new access token's JWT exp is already past by this machine's \
                     clock (clock skew?): using it for {MIN_LIFETIME:?} only; check the system clock"
                );
                MIN_LIFETIME
            }
            None => default_lifetime,
        },
        Some(v) => seconds(v).ok_or_else(|| {
            Error::invalid_response("expires_in is not a positive number of seconds up to 366 days")
        })?,
    };
    let lifetime = if lifetime < MIN_LIFETIME {
        log::debug!("cortiauth: token lifetime {lifetime:?} raised to the {MIN_LIFETIME:?} floor");
        MIN_LIFETIME
    } else {
        lifetime
    };
    let refresh_life = obj.get("refresh_expires_in").and_then(seconds);
    let refresh = match (obj.remove("refresh_token"), refresh_life) {
        (Some(Value::String(rt)), Some(life)) if !rt.is_empty() => {
            Some((SecretString::new(rt), life))
        }
        (Some(Value::String(rt)), _) => {
            drop(Zeroizing::new(rt));
            None
        }
        _ => None,
    };
    Ok(TokenResponse {
        access_token,
        token_type,
        scope,
        lifetime,
        refresh,
    })
}

/// The token without surrounding whitespace; the untrimmed copy is wiped.
fn trimmed_secret(s: String) -> SecretString {
    if s.trim().len() == s.len() {
        SecretString::new(s)
    } else {
        let s = Zeroizing::new(s);
        SecretString::new(s.trim())
    }
}

/// At most `max` characters of a server-sent label, without control characters.
fn printable_prefix(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// A positive lifetime from a JSON number or numeric string (`300`, `"300"`,
/// `299.5`), at most [`MAX_LIFETIME`].
fn seconds(v: &Value) -> Option<Duration> {
    let secs = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    // NaN and 0 included.
    if secs.is_nan() || secs <= 0.0 {
        return None;
    }
    let d = Duration::try_from_secs_f64(secs).ok()?;
    (d <= MAX_LIFETIME).then_some(d)
}

const JWT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The claims of a token that is a JWT (`header.payload.signature`), unchecked:
/// for scheduling and audit records, never for trust.
pub(crate) fn jwt_claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    let claims: Value = serde_json::from_slice(&JWT_BASE64.decode(payload).ok()?).ok()?;
    claims.is_object().then_some(claims)
}

/// Time left until a JWT's `exp` claim, when the token is a JWT with one:
/// `Err(())` when `exp` is already past. The signature is not checked: this
/// only schedules a refresh.
fn jwt_exp_left(token: &str) -> Option<Result<Duration, ()>> {
    let claims = jwt_claims(token)?;
    let exp = claims.get("exp")?.as_f64()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    let left = exp - now;
    if left.is_nan() {
        return None;
    }
    if left <= 0.0 {
        return Some(Err(()));
    }
    Some(Ok(Duration::try_from_secs_f64(left)
        .unwrap_or(MAX_LIFETIME)
        .min(MAX_LIFETIME)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Duration = Duration::from_secs(42);

    fn p(body: &str) -> Result<TokenResponse> {
        parse(body.as_bytes(), Some("application/json"), DEFAULT)
    }

    #[test]
    fn keycloak_response() {
        let r = p(r#"{"access_token":"ey.x.y","expires_in":300,"refresh_expires_in":0,"token_type":"Bearer","id_token":"e","not-before-policy":0,"scope":"openid email profile"}"#).unwrap();
        assert_eq!(r.access_token.expose(), "ey.x.y");
        assert_eq!(r.lifetime, Duration::from_secs(300));
        assert_eq!(r.scope.as_deref(), Some("openid email profile"));
        assert!(r.refresh.is_none());
    }

    #[test]
    fn expires_in_as_string_or_float() {
        assert_eq!(
            p(r#"{"access_token":"a","expires_in":"3600"}"#)
                .unwrap()
                .lifetime,
            Duration::from_secs(3600)
        );
        assert_eq!(
            p(r#"{"access_token":"a","expires_in":1.5}"#)
                .unwrap()
                .lifetime,
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn bad_expires_in_is_rejected() {
        for v in ["0", "-5", "\"soon\"", "true", "1e20", "{}"] {
            let e = p(&format!(r#"{{"access_token":"a","expires_in":{v}}}"#))
                .err()
                .unwrap_or_else(|| panic!("{v}"));
            assert_eq!(e.kind(), crate::ErrorKind::InvalidResponse);
        }
    }

    #[test]
    fn missing_expires_in_uses_jwt_exp_then_default() {
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1000;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"exp":{exp},"sub":"x"}}"#));
        let jwt = format!("eyJhbGciOiJub25lIn0.{payload}.sig");
        let life = p(&format!(r#"{{"access_token":"{jwt}"}}"#))
            .unwrap()
            .lifetime;
        assert!(
            life > Duration::from_secs(990) && life <= Duration::from_secs(1000),
            "{life:?}"
        );
        assert_eq!(p(r#"{"access_token":"opaque"}"#).unwrap().lifetime, DEFAULT);
    }

    #[test]
    fn garbage_is_invalid_response_without_echoing_the_body() {
        let e = parse(b"<html>login</html>", Some("text/html"), DEFAULT)
            .err()
            .unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidResponse);
        assert!(e.to_string().contains("HTML"), "{e}");
        assert!(!e.to_string().contains("login"));
        for body in [
            "[]",
            "{}",
            r#"{"access_token":""}"#,
            r#"{"access_token":5}"#,
            "null",
        ] {
            assert_eq!(
                p(body).err().unwrap().kind(),
                crate::ErrorKind::InvalidResponse,
                "{body}"
            );
        }
    }

    #[test]
    fn refresh_token_only_with_positive_lifetime() {
        let r = p(
            r#"{"access_token":"a","expires_in":10,"refresh_token":"r","refresh_expires_in":1800}"#,
        )
        .unwrap();
        let (rt, life) = r.refresh.unwrap();
        assert_eq!(rt.expose(), "r");
        assert_eq!(life, Duration::from_secs(1800));
        assert!(
            p(r#"{"access_token":"a","refresh_token":"r","refresh_expires_in":0}"#)
                .unwrap()
                .refresh
                .is_none()
        );
    }

    fn jwt_with_exp(exp: i64) -> String {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"exp":{exp},"sub":"x"}}"#));
        format!("eyJhbGciOiJub25lIn0.{payload}.sig")
    }

    fn now_secs() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// `expires_in: 0.001` used to be accepted as 1 ms, causing
    /// back-to-back token requests.
    #[test]
    fn tiny_lifetimes_are_raised_to_the_floor() {
        for v in ["0.001", "1e-9", "\"0.5\"", "0.999"] {
            let r = p(&format!(r#"{{"access_token":"a","expires_in":{v}}}"#)).unwrap();
            assert_eq!(r.lifetime, MIN_LIFETIME, "{v}");
        }
        assert_eq!(
            p(r#"{"access_token":"a","expires_in":1}"#)
                .unwrap()
                .lifetime,
            MIN_LIFETIME
        );
        // A JWT with less than a second left, and a tiny default.
        let r = p(&format!(
            r#"{{"access_token":"{}"}}"#,
            jwt_with_exp(now_secs() + 1)
        ))
        .unwrap();
        assert!(r.lifetime >= MIN_LIFETIME, "{:?}", r.lifetime);
        let r = parse(
            br#"{"access_token":"opaque"}"#,
            None,
            Duration::from_millis(1),
        )
        .unwrap();
        assert_eq!(r.lifetime, MIN_LIFETIME);
    }

    /// A JWT whose `exp` is already past used to get the 300 s
    /// default; it now gets the 1 s floor (and a warning naming clock skew).
    #[test]
    fn a_jwt_already_expired_gets_the_floor_not_the_default() {
        for exp in [now_secs() - 5, now_secs() - 100_000, 0, -1] {
            let r = p(&format!(r#"{{"access_token":"{}"}}"#, jwt_with_exp(exp))).unwrap();
            assert_eq!(r.lifetime, MIN_LIFETIME, "exp {exp}");
        }
    }

    #[test]
    fn json_errors_keep_their_cause() {
        let e = parse(b"{not json", Some("application/json"), DEFAULT)
            .err()
            .unwrap();
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.to_string().contains("line 1"), "{source}");
        assert!(
            !e.to_string().contains("line 1"),
            "Display is this layer only: {e}"
        );
        assert!(e.full_message().contains("line 1"), "{}", e.full_message());
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Never panics on any bytes.
        #[test]
        fn parse_never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&body, None, DEFAULT);
        }

        /// Whatever `expires_in` / JWT `exp` a server sends, an accepted
        /// response has a lifetime within [1 s, 366 d].
        #[test]
        fn accepted_lifetimes_are_bounded(
            expires_in in proptest::option::of(proptest::prop_oneof![
                proptest::num::f64::ANY.prop_map(|f| serde_json::json!(f)),
                proptest::num::i64::ANY.prop_map(|i| serde_json::json!(i)),
                proptest::num::u64::ANY.prop_map(|u| serde_json::json!(u)),
                "[0-9eE.+-]{0,12}".prop_map(|s| serde_json::json!(s)),
            ]),
            exp in proptest::option::of(proptest::num::f64::ANY),
            default_ms in 0u64..1_000_000,
        ) {
            let token = match exp {
                Some(exp) => {
                    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(serde_json::json!({ "exp": exp }).to_string());
                    format!("h.{payload}.s")
                }
                None => "opaque".to_string(),
            };
            let mut body = serde_json::json!({ "access_token": token });
            if let Some(v) = expires_in {
                body["expires_in"] = v;
            }
            let default = Duration::from_millis(default_ms).min(MAX_LIFETIME);
            if let Ok(r) = parse(body.to_string().as_bytes(), None, default) {
                prop_assert!(r.lifetime >= MIN_LIFETIME, "{:?}", r.lifetime);
                prop_assert!(r.lifetime <= MAX_LIFETIME, "{:?}", r.lifetime);
            }
        }
    }
}
