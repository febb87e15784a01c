//! Gives the shared library its SONAME. The file cargo writes is
//! `libcortiauth_ffi.so`; `ffi/install.sh` installs it as `libcortiauth.so.X.Y.Z`
//! with the `libcortiauth.so.<abi>` and `libcortiauth.so` links beside it.
//!
//! The ABI version follows SemVer as cargo reads it: the major version from 1.0 on,
//! `0.minor` before (0.1 and 0.2 are incompatible), as cargo-c does.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_else(|_| "0".into());
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match os.as_str() {
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "solaris"
        | "illumos" => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcortiauth.so.{abi}");
        }
        "macos" | "ios" => {
            println!(
                "cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libcortiauth.{abi}.dylib"
            );
        }
        _ => {}
    }
}
