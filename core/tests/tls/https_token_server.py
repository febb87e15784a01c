"""A one-file HTTPS token endpoint for the private-CA test (core/tests/private_ca.rs).

Usage: https_token_server.py CERT KEY PORTFILE
Serves POST /token -> {"access_token": "tls-token", "expires_in": 300} over TLS on a
free loopback port, which it writes to PORTFILE once listening.

Why not the stub token server (tests/stub): this test needs a server speaking TLS
with a certificate chain the test makes itself (openssl, a private CA), and the
stub speaks plain HTTP only, so that it stays free of a TLS stack. Python's `ssl`
(OpenSSL) is also a different TLS implementation from the client's rustls: the
test checks that they interoperate, which a rustls server would not show.
"""
import http.server
import json
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"access_token": "tls-token", "expires_in": 300, "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


cert, key, portfile = sys.argv[1:4]
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402

os.rename(portfile + ".tmp", portfile)
server.serve_forever()
