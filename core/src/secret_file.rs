//! Credentials from files: the client secret (the Docker/Kubernetes `_FILE`
//! convention) or standard input, and the private key of `private_key_jwt`.
//! One rule for what a credential file may be (a regular file, read without
//! blocking, at most 64 KiB), one for a secret's content (the first line), and
//! errors that name the source, never the content.

use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::settings::env;

/// The most a secret file (or standard input given as one) may hold: a
/// client secret is a few dozen bytes; a bound keeps `/dev/zero` or a huge
/// file from filling memory.
pub(crate) const MAX_SECRET_FILE_LEN: usize = 64 * 1024;

/// The first line of a secret file, without its line ending (see
/// [`read_credential_file`] for what the file may be). Errors name the file
/// and the variable, never the content.
pub(crate) fn read_secret_file(path: &Path) -> Result<SecretString> {
    let source = format!("file {} ({})", path.display(), env::CLIENT_SECRET_FILE);
    let content = read_credential_file(path, &format!("the client secret {source}"))?;
    client_secret_from_file_content(&content, &source)
}

/// The bytes of a credential file. It must be a regular file once symlinks are
/// followed (Kubernetes mounts secrets as symlinks); it is opened non-blocking,
/// so a FIFO or device is refused at once instead of blocking, and at most
/// [`MAX_SECRET_FILE_LEN`] bytes are read. `what` names it in errors ("the
/// private key file /run/key.pem (private_key_file)"); the content never
/// appears in them.
pub(crate) fn read_credential_file(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let failed = |why: String| Error::config(format!("{what} {why}"));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| failed(format!("cannot be read: {}", e.kind())))?;
    let meta = file
        .metadata()
        .map_err(|e| failed(format!("cannot be read: {}", e.kind())))?;
    if !meta.is_file() {
        return Err(failed(
            "is not a regular file (a directory, FIFO or device): point it at the file itself"
                .into(),
        ));
    }
    let mut content = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_FILE_LEN as u64 + 1)
        .read_to_end(&mut content)
        .map_err(|e| failed(format!("cannot be read: {}", e.kind())))?;
    if content.len() > MAX_SECRET_FILE_LEN {
        return Err(failed(format!(
            "is larger than {} KiB: is it the right file?",
            MAX_SECRET_FILE_LEN / 1024
        )));
    }
    Ok(content)
}

/// The client secret read from `reader` (a secret file, or standard input for
/// the CLI's `--client-secret-file -`): at most 64 KiB,
/// then the rule of [`client_secret_from_file_content`]. Errors name `source`,
/// never the content.
pub fn client_secret_from_reader(reader: impl std::io::Read, source: &str) -> Result<SecretString> {
    use std::io::Read;
    let mut content = Zeroizing::new(Vec::new());
    reader
        .take(MAX_SECRET_FILE_LEN as u64 + 1)
        .read_to_end(&mut content)
        .map_err(|e| {
            Error::config(format!(
                "the client secret {source} cannot be read: {}",
                e.kind()
            ))
        })?;
    if content.len() > MAX_SECRET_FILE_LEN {
        return Err(Error::config(format!(
            "the client secret {source} is larger than {} KiB: is it the right file?",
            MAX_SECRET_FILE_LEN / 1024
        )));
    }
    client_secret_from_file_content(&content, source)
}

/// The client secret in the content of a secret file: its first line without the
/// line ending, as `client_secret_file` and `CORTI_CLIENT_SECRET_FILE` read it, for
/// hosts that read the content themselves (the CLI's `--client-secret-file -`,
/// standard input). `source` names it in errors ("file /run/secret"); the content
/// never appears in them.
pub fn client_secret_from_file_content(content: &[u8], source: &str) -> Result<SecretString> {
    let failed = |what: &str| Error::config(format!("the client secret {source} {what}"));
    let first = content.split(|b| *b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let text = std::str::from_utf8(first).map_err(|_| failed("is not UTF-8 text"))?;
    if text.trim().is_empty() {
        return Err(failed("is empty"));
    }
    Ok(SecretString::new(text))
}
