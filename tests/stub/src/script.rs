//! What a scenario answers: a list of steps, each for `times` requests, the last one
//! for every request after it. Written in Rust with the builder methods, or in JSON
//! by the other languages (`Step::from_json`, the format in tests/stub/README.md).

use std::time::Duration;

use serde_json::{json, Map, Value};

/// The answer to one request (or `times` requests in a row).
#[derive(Clone, Debug)]
pub struct Step {
    pub(crate) times: u32,
    pub(crate) delay: Duration,
    pub(crate) hold: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) answer: Answer,
}

#[derive(Clone, Debug)]
pub(crate) enum Answer {
    /// A token response: `{"access_token": …, "expires_in": …, …}`.
    Token {
        access_token: String,
        fields: Map<String, Value>,
    },
    /// Any status with a body as given.
    Body { status: u16, body: Vec<u8> },
    /// The request's own body sent back (to show what a server would echo).
    Echo { status: u16 },
    /// Bytes written as they are, each after its pause; then the connection is closed.
    Raw(Vec<(Duration, Vec<u8>)>),
    /// The connection closed after the request is read, with no answer.
    Close,
    /// A protected API: 401 unless the bearer token is accepted.
    Api(ApiCheck),
}

/// How the protected API decides (`Step::api`).
#[derive(Clone, Debug, Default)]
pub(crate) struct ApiCheck {
    pub(crate) userinfo: Option<String>,
    pub(crate) tenant: Option<String>,
    pub(crate) revoked: Vec<String>,
    pub(crate) reject_all: bool,
}

impl Step {
    fn new(answer: Answer) -> Step {
        Step {
            times: 1,
            delay: Duration::ZERO,
            hold: false,
            headers: Vec::new(),
            answer,
        }
    }

    /// A token response: `tok-{n}` (`{n}` is the request's number in its scenario),
    /// `Bearer`, 300 s, scope `openid`.
    pub fn token() -> Step {
        let mut fields = Map::new();
        fields.insert("token_type".into(), "Bearer".into());
        fields.insert("expires_in".into(), 300.into());
        fields.insert("scope".into(), "openid".into());
        Step::new(Answer::Token {
            access_token: "tok-{n}".into(),
            fields,
        })
        .header("content-type", "application/json")
    }

    /// Any status and body.
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Step {
        Step::new(Answer::Body {
            status,
            body: body.into(),
        })
    }

    /// An OAuth error response (`{"error": …}`), as a token endpoint sends it.
    pub fn oauth_error(status: u16, error: &str) -> Step {
        Step::status(status, json!({ "error": error }).to_string())
            .header("content-type", "application/json")
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Step {
        Step::status(status, Vec::new()).header("location", location)
    }

    /// The request's body sent back with `status`.
    pub fn echo(status: u16) -> Step {
        Step::new(Answer::Echo { status })
    }

    /// Bytes written as they are, each after its pause, then the connection closed.
    pub fn raw(chunks: Vec<(Duration, Vec<u8>)>) -> Step {
        Step::new(Answer::Raw(chunks))
    }

    /// Closes the connection without an answer.
    pub fn close() -> Step {
        Step::new(Answer::Close)
    }

    /// A protected API that answers 200 `{"ok":true}` to an accepted bearer token
    /// and 401 (`WWW-Authenticate: Bearer error="invalid_token"`) otherwise.
    pub fn api() -> Step {
        Step::new(Answer::Api(ApiCheck::default()))
    }

    /// The token value (a template: `{n}` is the request's number).
    pub fn access_token(mut self, template: &str) -> Step {
        if let Answer::Token { access_token, .. } = &mut self.answer {
            *access_token = template.into();
        }
        self
    }

    /// Sets (or with `None`, removes) a field of the token response.
    pub fn field(mut self, name: &str, value: Option<Value>) -> Step {
        if let Answer::Token { fields, .. } = &mut self.answer {
            match value {
                Some(v) => fields.insert(name.into(), v),
                None => fields.remove(name),
            };
        }
        self
    }

    /// The token's `expires_in` in seconds.
    pub fn expires_in(self, seconds: f64) -> Step {
        let v = if seconds.fract() == 0.0 {
            json!(seconds as i64)
        } else {
            json!(seconds)
        };
        self.field("expires_in", Some(v))
    }

    /// Adds a refresh token (a template like the access token).
    pub fn refresh_token(self, template: &str) -> Step {
        self.field("refresh_token", Some(template.into()))
    }

    /// The API accepts a token only when Keycloak's userinfo endpoint at `url` does.
    pub fn userinfo(mut self, url: &str) -> Step {
        if let Answer::Api(check) = &mut self.answer {
            check.userinfo = Some(url.into());
        }
        self
    }

    /// The API answers 403 unless `Tenant-Name` is `tenant`.
    pub fn tenant(mut self, tenant: &str) -> Step {
        if let Answer::Api(check) = &mut self.answer {
            check.tenant = Some(tenant.into());
        }
        self
    }

    /// The API answers 401 to these tokens.
    pub fn revoked(mut self, tokens: &[&str]) -> Step {
        if let Answer::Api(check) = &mut self.answer {
            check.revoked = tokens.iter().map(|t| t.to_string()).collect();
        }
        self
    }

    /// The API answers 401 to every token.
    pub fn reject_all(mut self) -> Step {
        if let Answer::Api(check) = &mut self.answer {
            check.reject_all = true;
        }
        self
    }

    /// This step answers `n` requests in a row (the last step answers all the rest).
    pub fn times(mut self, n: u32) -> Step {
        self.times = n.max(1);
        self
    }

    /// Waits this long before answering.
    pub fn delay(mut self, delay: Duration) -> Step {
        self.delay = delay;
        self
    }

    /// Holds the answer until the scenario is released (`Scenario::release`); a
    /// client that gives up meanwhile is counted as `abandoned`.
    pub fn hold(mut self) -> Step {
        self.hold = true;
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Step {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// A step from its JSON form (tests/stub/README.md).
    pub fn from_json(v: &Value) -> Result<Step, String> {
        let o = v.as_object().ok_or("a step is a JSON object")?;
        let known = [
            "times",
            "delay_ms",
            "hold",
            "headers",
            "status",
            "body",
            "json",
            "echo",
            "error",
            "error_description",
            "redirect",
            "raw",
            "close",
            "api",
            "access_token",
            "token_type",
            "expires_in",
            "scope",
            "refresh_token",
            "extra",
        ];
        if let Some(k) = o.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("unknown step field {k:?}"));
        }
        let status = |default: u16| -> Result<u16, String> {
            match o.get("status") {
                None => Ok(default),
                Some(s) => s
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| format!("status {s} is not an HTTP status")),
            }
        };
        let text = |k: &str| o.get(k).and_then(Value::as_str);
        let mut step = if let Some(location) = text("redirect") {
            Step::redirect(status(302)?, location)
        } else if let Some(error) = text("error") {
            let default = if error == "invalid_client" { 401 } else { 400 };
            let mut body = json!({ "error": error });
            if let Some(d) = o.get("error_description") {
                body["error_description"] = d.clone();
            }
            Step::status(status(default)?, body.to_string())
                .header("content-type", "application/json")
        } else if o.get("echo").and_then(Value::as_bool) == Some(true) {
            Step::echo(status(200)?)
        } else if o.get("close").and_then(Value::as_bool) == Some(true) {
            Step::close()
        } else if let Some(raw) = o.get("raw") {
            let chunks = raw.as_array().ok_or("raw is a list of {after_ms, data}")?;
            let chunks = chunks
                .iter()
                .map(|c| {
                    let pause = Duration::from_millis(
                        c.get("after_ms").and_then(Value::as_u64).unwrap_or(0),
                    );
                    let data = c.get("data").and_then(Value::as_str).unwrap_or("");
                    (pause, data.as_bytes().to_vec())
                })
                .collect();
            Step::raw(chunks)
        } else if let Some(api) = o.get("api") {
            let api = api.as_object().ok_or("api is an object")?;
            let mut step = Step::api();
            if let Answer::Api(check) = &mut step.answer {
                check.userinfo = api.get("userinfo").and_then(Value::as_str).map(Into::into);
                check.tenant = api.get("tenant").and_then(Value::as_str).map(Into::into);
                check.revoked = api
                    .get("revoked")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(Into::into).collect())
                    .unwrap_or_default();
                check.reject_all = api.get("reject_all").and_then(Value::as_bool) == Some(true);
            }
            step
        } else if let Some(body) = text("body") {
            Step::status(status(200)?, body)
        } else if let Some(body) = o.get("json") {
            Step::status(status(200)?, body.to_string()).header("content-type", "application/json")
        } else if o.contains_key("status") {
            Step::status(status(200)?, Vec::new())
        } else {
            let mut step = Step::token();
            if let Some(t) = text("access_token") {
                step = step.access_token(t);
            }
            for name in ["token_type", "expires_in", "scope", "refresh_token"] {
                if let Some(v) = o.get(name) {
                    step = step.field(name, (!v.is_null()).then(|| v.clone()));
                }
            }
            if let Some(extra) = o.get("extra").and_then(Value::as_object) {
                for (k, v) in extra {
                    step = step.field(k, Some(v.clone()));
                }
            }
            step
        };
        if let Some(n) = o.get("times") {
            step = step.times(n.as_u64().ok_or("times is a count")? as u32);
        }
        if let Some(ms) = o.get("delay_ms") {
            step = step.delay(Duration::from_millis(
                ms.as_u64().ok_or("delay_ms is milliseconds")?,
            ));
        }
        if o.get("hold").and_then(Value::as_bool) == Some(true) {
            step = step.hold();
        }
        if let Some(headers) = o.get("headers") {
            let headers = headers.as_object().ok_or("headers is an object")?;
            for (k, v) in headers {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                step = step.header(k, &v);
            }
        }
        Ok(step)
    }
}

/// Fills `{n}` in a template.
pub(crate) fn render(template: &str, n: usize) -> String {
    template.replace("{n}", &n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_steps_build_the_same_answers_as_the_builders() {
        let s = Step::from_json(&json!({"error": "invalid_client"})).unwrap();
        assert!(matches!(s.answer, Answer::Body { status: 401, .. }));
        let s = Step::from_json(&json!({"status": 429, "headers": {"Retry-After": 2}})).unwrap();
        assert!(matches!(s.answer, Answer::Body { status: 429, .. }));
        assert_eq!(
            s.headers,
            vec![("retry-after".to_string(), "2".to_string())]
        );
        let s =
            Step::from_json(&json!({"access_token": "a-{n}", "scope": null, "times": 3})).unwrap();
        let Answer::Token {
            access_token,
            fields,
        } = &s.answer
        else {
            panic!("a token step")
        };
        assert_eq!((access_token.as_str(), s.times), ("a-{n}", 3));
        assert!(!fields.contains_key("scope"));
        assert!(
            Step::from_json(&json!({"stauts": 200})).is_err(),
            "a typo is refused"
        );
    }
}
