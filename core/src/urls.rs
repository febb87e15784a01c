//! Corti's URL shapes and the rules a token URL must follow.

use std::net::IpAddr;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

pub(crate) fn corti_token_url(environment: &str, tenant: &str) -> String {
    format!("https://auth.{environment}.corti.app/realms/{tenant}/protocol/openid-connect/token")
}

pub(crate) fn corti_api_base_url(environment: &str) -> String {
    format!("https://api.{environment}.corti.app/v2")
}

/// Environment and tenant end up inside a host name and a path: allow only
/// what a DNS label or realm name holds, so a value cannot redirect the secret.
pub(crate) fn check_label(what: &str, value: &str, var: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "invalid {what} {value:?} ({var}): use letters, digits, '-' and '_' only"
        )))
    }
}

/// Whether the host is this machine: `localhost`, `127.0.0.0/8` or `::1`.
pub(crate) fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        url::Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// HTTPS everywhere, plain HTTP only to loopback hosts; no credentials in the URL.
pub(crate) fn check_token_url(raw: &str) -> Result<()> {
    let url = url::Url::parse(raw)
        .map_err(|e| Error::config(format!("token URL {raw:?} is not a valid URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "token URL must not contain credentials: set the client id and secret instead",
        ));
    }
    let host = url
        .host()
        .ok_or_else(|| Error::config(format!("token URL {raw:?} has no host")))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&host) => Ok(()),
        "http" => Err(Error::config(format!(
            "token URL {raw:?} uses plain http: https is required except for loopback hosts"
        ))),
        other => Err(Error::config(format!(
            "token URL {raw:?} has scheme {other:?}: use https"
        ))),
    }
}

/// Characters kept as they are in the `token` query value: RFC 3986 unreserved.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `token=Bearer%20{access_token}` to a stream URL returned by the API,
/// with `?` or `&` as the URL needs, before any fragment.
pub(crate) fn websocket_url(stream_url: &str, access_token: &str) -> Result<String> {
    let stream_url = stream_url.trim();
    if stream_url.is_empty() {
        return Err(Error::config("websocket stream URL is empty"));
    }
    let (base, fragment) = match stream_url.find('#') {
        Some(i) => stream_url.split_at(i),
        None => (stream_url, ""),
    };
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    let token = utf8_percent_encode(access_token, QUERY_VALUE);
    Ok(format!("{base}{sep}token=Bearer%20{token}{fragment}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_url_appends_with_the_right_separator() {
        assert_eq!(
            websocket_url("wss://api.eu.corti.app/audio-bridge/v2/interactions/1/streams?tenant-name=base", "ey.J_w-z").unwrap(),
            "wss://api.eu.corti.app/audio-bridge/v2/interactions/1/streams?tenant-name=base&token=Bearer%20ey.J_w-z"
        );
        assert_eq!(
            websocket_url("wss://h/s", "abc").unwrap(),
            "wss://h/s?token=Bearer%20abc"
        );
        assert_eq!(
            websocket_url("wss://h/s?", "abc").unwrap(),
            "wss://h/s?token=Bearer%20abc"
        );
        assert_eq!(
            websocket_url("wss://h/s?a=1&", "abc").unwrap(),
            "wss://h/s?a=1&token=Bearer%20abc"
        );
        assert_eq!(
            websocket_url("wss://h/s?a=1#f", "a+b/c=").unwrap(),
            "wss://h/s?a=1&token=Bearer%20a%2Bb%2Fc%3D#f"
        );
        assert!(websocket_url("  ", "abc").is_err());
    }

    #[test]
    fn labels_are_restricted() {
        assert!(check_label("tenant", "copiloteu", "X").is_ok());
        assert!(check_label("environment", "beta-eu", "X").is_ok());
        for bad in ["", "a.b", "a/b", "a b", "a?b", "a@b"] {
            assert!(check_label("tenant", bad, "X").is_err(), "{bad}");
        }
    }
}
