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
/// Whether two URLs have the same origin (scheme, host, port; default ports
/// filled in). A URL that does not parse has no origin in common with any.
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin().is_tuple() && a.origin() == b.origin(),
        _ => false,
    }
}

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
    // One allocation of the largest size the URL can take: no reallocation
    // leaves a copy of the token behind.
    const PREFIX: &str = "token=Bearer%20";
    let mut out = String::with_capacity(
        base.len() + sep.len() + PREFIX.len() + 3 * access_token.len() + fragment.len(),
    );
    out.push_str(base);
    out.push_str(sep);
    out.push_str(PREFIX);
    out.extend(utf8_percent_encode(access_token, QUERY_VALUE));
    out.push_str(fragment);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let api = "https://api.eu.corti.app/v2/interactions";
        assert!(same_origin(api, "https://api.eu.corti.app:443/other?x=1"));
        assert!(same_origin(api, "https://API.eu.corti.app/v2"));
        assert!(!same_origin(api, "http://api.eu.corti.app/v2"));
        assert!(!same_origin(api, "https://api.eu.corti.app:8443/v2"));
        assert!(!same_origin(api, "https://evil.example/v2"));
        assert!(!same_origin(api, ""));
        assert!(!same_origin("not a url", "not a url"));
    }

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

    use proptest::prelude::*;

    fn host_strategy() -> impl Strategy<Value = (String, bool)> {
        // (host as written, whether it is this machine)
        prop_oneof![
            Just(("localhost".to_string(), true)),
            Just(("LocalHost".to_string(), true)),
            Just(("127.0.0.1".to_string(), true)),
            Just(("127.1.2.3".to_string(), true)),
            Just(("0x7f.1".to_string(), true)),
            Just(("[::1]".to_string(), true)),
            Just(("localhost.".to_string(), false)),
            Just(("localhost.evil.example".to_string(), false)),
            Just(("127.0.0.1.nip.io".to_string(), false)),
            Just(("10.0.0.1".to_string(), false)),
            Just(("[::ffff:127.0.0.1]".to_string(), false)),
            Just(("0.0.0.0".to_string(), false)),
            Just(("auth.eu.corti.app".to_string(), false)),
            "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}".prop_map(|h| {
                let local = h == "localhost";
                (h, local)
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Only https, or plain http to this machine, passes; never credentials.
        #[test]
        fn token_url_rules(
            scheme in prop_oneof![
                Just("https"), Just("http"), Just("HTTPS"), Just("ftp"), Just("ws"), Just("file")
            ],
            userinfo in prop_oneof![
                Just(""), Just("user@"), Just("user:pw@"), Just(":pw@"), Just("a%40b:c@")
            ],
            (host, local) in host_strategy(),
            port in proptest::option::of(1u16..),
            path in "(/[a-zA-Z0-9._~-]{0,12}){0,4}",
        ) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let raw = format!("{scheme}://{userinfo}{host}{port}{path}");
            let ok = check_token_url(&raw).is_ok();
            let scheme = scheme.to_ascii_lowercase();
            let expected = userinfo.is_empty()
                && (scheme == "https" || (scheme == "http" && local));
            prop_assert_eq!(ok, expected, "{}", raw);
        }

        /// Whatever the text, an accepted URL is https or loopback http, without
        /// credentials.
        #[test]
        fn any_accepted_url_is_safe(raw in "(?s)(https?://)?.{0,60}") {
            if check_token_url(&raw).is_ok() {
                let url = url::Url::parse(&raw).unwrap();
                prop_assert!(url.username().is_empty() && url.password().is_none(), "{}", raw);
                let host = url.host().unwrap();
                prop_assert!(
                    url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(&host)),
                    "{}", raw
                );
            }
        }
    }
}
