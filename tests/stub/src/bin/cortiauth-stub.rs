//! `cortiauth-stub [--port PORT]`: runs the stub's control API on loopback and
//! prints `CORTIAUTH_STUB_URL=http://127.0.0.1:PORT` once it listens.

use std::io::Write;

fn main() {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = match args.next().and_then(|p| p.parse().ok()) {
                    Some(p) => p,
                    None => fail("--port takes a port number"),
                }
            }
            "-h" | "--help" => {
                println!("usage: cortiauth-stub [--port PORT]  (routes: tests/stub/README.md)");
                return;
            }
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    let stub = match cortiauth_stub::Stub::start(&format!("127.0.0.1:{port}")) {
        Ok(stub) => stub,
        Err(e) => fail(&format!("cannot listen on 127.0.0.1:{port}: {e}")),
    };
    println!("CORTIAUTH_STUB_URL={}", stub.url());
    let _ = std::io::stdout().flush();
    // Serve until killed.
    loop {
        std::thread::park();
    }
}

fn fail(message: &str) -> ! {
    eprintln!("cortiauth-stub: {message}");
    std::process::exit(2);
}
