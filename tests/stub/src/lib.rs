//! `cortiauth-stub`: one scriptable stub token server for the tests and benches of
//! every language, for the faults a real authorization server will not produce on
//! demand (Keycloak and the Tiro server stay for the real paths).
//!
//! A [`Scenario`] is a loopback HTTP listener of its own that answers each request
//! by its script (a list of [`Step`]s: tokens, delays, 5xx, 429 with `Retry-After`,
//! holds until released, garbage, redirects, OAuth errors, refresh tokens, a
//! protected API) and keeps a log and counters. Rust tests start scenarios in
//! process; the other languages ask the `cortiauth-stub` binary over HTTP
//! (`CORTIAUTH_STUB_URL`, started by `tests/servers/with-servers.sh`): see
//! tests/stub/README.md for the routes and the JSON form of a step.
//!
//! [`tcp`] holds the few servers that do not speak HTTP (a misbehaving Redis).

mod control;
mod http;
mod scenario;
mod script;
pub mod tcp;

pub use control::Stub;
pub use http::Request;
pub use scenario::{Counts, Scenario};
pub use script::Step;
pub use tcp::closed_port;
