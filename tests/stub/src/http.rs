//! HTTP/1.1 on a blocking socket: just enough to read one request (content-length or
//! chunked body) and write one answer. The stub's clients are cortiauth's transports,
//! the test suites' own HTTP clients and the fault proxy, all well-behaved.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// One request as the stub received it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `POST`, `GET`, `CONNECT`, …
    pub method: String,
    /// The request target as sent: `/token`, or an absolute URL through a proxy.
    pub target: String,
    /// The headers in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (chunked bodies joined).
    pub body: Vec<u8>,
    /// Milliseconds since the scenario started.
    pub at_ms: u64,
}

impl Request {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path of the target, without the query.
    pub fn path(&self) -> &str {
        let t = self.target.as_str();
        let t = match t.find("://") {
            Some(i) => t[i + 3..].find('/').map_or("/", |j| &t[i + 3 + j..]),
            None => t,
        };
        t.split('?').next().unwrap_or(t)
    }

    /// The body as `application/x-www-form-urlencoded` pairs, decoded.
    pub fn form(&self) -> Vec<(String, String)> {
        String::from_utf8_lossy(&self.body)
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (form_decode(k), form_decode(v))
            })
            .collect()
    }

    /// One form field, decoded.
    pub fn form_value(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Whether the client asked to close the connection after this answer.
    pub(crate) fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The request as JSON, for the log read over HTTP.
    pub fn to_json(&self) -> serde_json::Value {
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone().into()))
            .collect();
        let form: serde_json::Map<String, serde_json::Value> = self
            .form()
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect();
        serde_json::json!({
            "method": self.method,
            "target": self.target,
            "path": self.path(),
            "headers": headers,
            "body": String::from_utf8_lossy(&self.body),
            "form": form,
            "at_ms": self.at_ms,
        })
    }
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// How reading a request ended without one.
pub(crate) enum ReadEnd {
    /// The client closed the connection (or it broke).
    Closed,
    /// Nothing arrived within the idle timeout.
    Idle,
}

/// Reads one request; `idle` bounds the wait for its first byte.
pub(crate) fn read_request(
    reader: &mut BufReader<TcpStream>,
    idle: Option<std::time::Duration>,
    at_ms: impl Fn() -> u64,
) -> Result<Request, ReadEnd> {
    let mut line = String::new();
    reader.get_ref().set_read_timeout(idle).ok();
    match reader.read_line(&mut line) {
        Ok(0) => return Err(ReadEnd::Closed),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            return Err(ReadEnd::Idle)
        }
        Err(_) => return Err(ReadEnd::Closed),
        Ok(_) => {}
    }
    reader.get_ref().set_read_timeout(None).ok();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => return Err(ReadEnd::Closed),
            Ok(_) => {}
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
        at_ms: 0,
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                return Err(ReadEnd::Closed);
            }
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| ReadEnd::Closed)?;
            let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
            reader.read_exact(&mut chunk).map_err(|_| ReadEnd::Closed)?;
            if size == 0 {
                break;
            }
            request.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let length = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0usize);
        request.body = vec![0; length];
        reader
            .read_exact(&mut request.body)
            .map_err(|_| ReadEnd::Closed)?;
    }
    request.at_ms = at_ms();
    Ok(request)
}

/// Writes one answer with a content-length.
pub(crate) fn write_response(
    conn: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n", body.len()));
    if close {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    conn.write_all(&out)?;
    conn.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded() {
        let r = Request {
            method: "POST".into(),
            target: "http://127.0.0.1:1/realms/x/token?a=b".into(),
            headers: vec![],
            body: b"grant_type=client_credentials&scope=openid+streams&client_secret=a%2Bb%3D%25"
                .to_vec(),
            at_ms: 0,
        };
        assert_eq!(r.form_value("scope").as_deref(), Some("openid streams"));
        assert_eq!(r.form_value("client_secret").as_deref(), Some("a+b=%"));
        assert_eq!(r.path(), "/realms/x/token");
    }
}
