//! Reading a token endpoint's 2xx body, tolerant of what real servers send.

use std::time::Duration;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::Value;

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
const MAX_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);

pub(crate) fn parse(
    body: &[u8],
    content_type: Option<&str>,
    default_lifetime: Duration,
) -> Result<TokenResponse> {
    let json: Value = serde_json::from_slice(body).map_err(|_| {
        let what = match content_type {
            Some(ct) if ct.contains("html") => "an HTML page".to_string(),
            Some(ct) => format!("non-JSON content ({ct})"),
            None => "non-JSON content".to_string(),
        };
        Error::invalid_response(format!(
            "token endpoint answered 2xx with {what}: check the token URL"
        ))
    })?;
    let obj = json
        .as_object()
        .ok_or_else(|| Error::invalid_response("token response is not a JSON object"))?;
    let access_token = match obj.get("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => SecretString::new(s.trim()),
        Some(_) => {
            return Err(Error::invalid_response(
                "access_token is empty or not a string",
            ))
        }
        None => return Err(Error::invalid_response("missing access_token")),
    };
    let token_type = match obj.get("token_type") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => "Bearer".to_string(),
    };
    let scope = match obj.get("scope") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    let lifetime = match obj.get("expires_in") {
        None | Some(Value::Null) => jwt_lifetime(access_token.expose()).unwrap_or(default_lifetime),
        Some(v) => seconds(v).ok_or_else(|| {
            Error::invalid_response("expires_in is not a positive number of seconds")
        })?,
    };
    let refresh = match (
        obj.get("refresh_token"),
        obj.get("refresh_expires_in").and_then(seconds),
    ) {
        (Some(Value::String(rt)), Some(life)) if !rt.is_empty() => {
            Some((SecretString::new(rt.as_str()), life))
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

/// A positive lifetime from a JSON number or numeric string (`300`, `"300"`, `299.5`).
fn seconds(v: &Value) -> Option<Duration> {
    let secs = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    let d = Duration::try_from_secs_f64(secs).ok()?;
    (secs > 0.0 && d <= MAX_LIFETIME).then_some(d)
}

const JWT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Remaining lifetime from a JWT's `exp` claim, when the token is a JWT.
/// The signature is not checked: this is only used to schedule a refresh.
fn jwt_lifetime(token: &str) -> Option<Duration> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    let claims: Value = serde_json::from_slice(&JWT_BASE64.decode(payload).ok()?).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    let left = exp - now;
    (left > 0.0).then(|| {
        Duration::try_from_secs_f64(left)
            .unwrap_or(MAX_LIFETIME)
            .min(MAX_LIFETIME)
    })
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
}
