//! HTTPS to a token endpoint whose certificate comes from a private CA: refused
//! by default, accepted once the CA is added with `add_ca_certificate_pem`.
//! The CA and certificate are made by `openssl`; the server is Python's ssl module.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use cortiauth::{Config, ErrorKind, RetryPolicy, TokenManager};

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("openssl is installed");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a `localhost` certificate it signed, in `dir`.
fn make_certs(dir: &Path) {
    let p = |f: &str| dir.join(f);
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=cortiauth test CA",
        ])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(p("server.key"))
        .arg("-out")
        .arg(p("server.csr")));
    std::fs::write(
        p("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(p("server.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-extfile")
        .arg(p("ext.cnf"))
        .arg("-out")
        .arg(p("server.pem")));
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn private_ca_is_required_and_sufficient() {
    let dir = std::env::temp_dir().join(format!("cortiauth-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_certs(&dir);
    let portfile = dir.join("port");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/tls/https_token_server.py"
    );
    let _server = Server(
        Command::new("python3")
            .arg(script)
            .arg(dir.join("server.pem"))
            .arg(dir.join("server.key"))
            .arg(&portfile)
            .spawn()
            .unwrap(),
    );
    // The server writes its port once it listens (a signal, not a sleep).
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(&portfile) {
            break p;
        }
        assert!(Instant::now() < deadline, "HTTPS test server did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    let config = || {
        Config::builder()
            .client_id("id")
            .client_secret("tls-secret")
            .token_url(format!("https://localhost:{port}/token"))
            .retry_policy(RetryPolicy::none())
    };
    let e = TokenManager::new(config().build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "unknown CA is refused: {e}");
    // The TLS error is kept as the cause, not flattened into
    // the message: `source()` has it, `full_message()` shows it.
    let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
    assert!(
        causes
            .iter()
            .any(|c| c.to_lowercase().contains("certificate")),
        "{causes:?}"
    );
    assert!(!e.to_string().to_lowercase().contains("certificate"), "{e}");
    let full = e.full_message();
    assert!(full.to_lowercase().contains("certificate"), "{full}");
    assert!(full.starts_with(&e.to_string()[..20]), "{full}");

    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let m = TokenManager::new(config().add_ca_certificate_pem(ca).build().unwrap()).unwrap();
    assert_eq!(m.token().unwrap().secret(), "tls-token");

    let bad = config()
        .add_ca_certificate_pem(b"not a pem".to_vec())
        .build()
        .unwrap();
    assert_eq!(
        TokenManager::new(bad).unwrap_err().kind(),
        ErrorKind::Config
    );
    // A PEM block that is not base64: the parse error is the cause.
    let garbled = config()
        .add_ca_certificate_pem(
            b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".to_vec(),
        )
        .build()
        .unwrap();
    let e = TokenManager::new(garbled).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(
        std::error::Error::source(&e).is_some(),
        "{}",
        e.full_message()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
