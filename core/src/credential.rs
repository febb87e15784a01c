//! The client secret as it is now, rotated without a restart: read again from
//! `client_secret_file` when that file changes, or replaced in place by
//! [`crate::TokenManager::set_client_secret`].
//!
//! A change is seen by a stamp of the file the path resolves to (device, inode,
//! size, modification and change times), taken before each token request: a
//! rewrite in place, a rename over the file and a Kubernetes `..data` symlink
//! swap all give another stamp. A file that cannot be read at that moment (half
//! written, between a delete and a create) leaves the secret as it was: the
//! next request looks again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::error::Result;
use crate::secret::SecretString;
use crate::secret_file::read_secret_file;

/// Where the secret in use came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// Given in the settings (or none: a method that signs with a key).
    Settings,
    /// Read from `client_secret_file`.
    File,
    /// Set by `set_client_secret`.
    Set,
}

impl Source {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::Settings => "settings",
            Source::File => "file",
            Source::Set => "set_client_secret",
        }
    }
}

/// One loaded secret.
pub(crate) struct Loaded {
    pub(crate) secret: SecretString,
    pub(crate) source: Source,
    pub(crate) loaded_at: SystemTime,
    /// Moves at every change of the secret (the shared cache's slot follows it).
    pub(crate) generation: u64,
    stamp: Option<FileStamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
    changed: i64,
    changed_ns: i64,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    // `metadata` follows symlinks: a swapped link target is another file.
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let (dev, ino, changed, changed_ns) = {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino(), m.ctime(), m.ctime_nsec())
    };
    #[cfg(not(unix))]
    let (dev, ino, changed, changed_ns) = (0, 0, 0, 0);
    Some(FileStamp {
        dev,
        ino,
        len: m.len(),
        modified: m.modified().ok(),
        changed,
        changed_ns,
    })
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// The rotating client secret. Cloning shares it (a manager detaches its own
/// copy when it is built, see [`ClientSecret::detached`]).
#[derive(Clone)]
pub(crate) struct ClientSecret {
    current: Arc<ArcSwap<Loaded>>,
    file: Option<PathBuf>,
    /// One reload at a time (the stamp check and the swap).
    reloading: Arc<Mutex<()>>,
}

impl ClientSecret {
    /// A secret given directly (or the empty one of a key-based method).
    pub(crate) fn given(secret: SecretString) -> ClientSecret {
        ClientSecret::with(secret, Source::Settings, None, None)
    }

    /// The secret in `path`, read now (errors name the file, never the content).
    pub(crate) fn from_file(path: &Path) -> Result<ClientSecret> {
        // Stamp first: a change after it is seen by the next check.
        let stamp = stamp(path);
        let secret = read_secret_file(path)?;
        Ok(ClientSecret::with(
            secret,
            Source::File,
            Some(path.to_path_buf()),
            stamp,
        ))
    }

    fn with(
        secret: SecretString,
        source: Source,
        file: Option<PathBuf>,
        stamp: Option<FileStamp>,
    ) -> ClientSecret {
        ClientSecret {
            current: Arc::new(ArcSwap::from_pointee(Loaded {
                secret,
                source,
                loaded_at: SystemTime::now(),
                generation: GENERATION.fetch_add(1, Ordering::Relaxed),
                stamp,
            })),
            file,
            reloading: Arc::default(),
        }
    }

    /// A copy that rotates on its own (a manager's, so that rotating it
    /// changes no other manager built from the same `Config`).
    pub(crate) fn detached(&self) -> ClientSecret {
        // A `Loaded` never changes: the copy shares it and swaps its own cell.
        ClientSecret {
            current: Arc::new(ArcSwap::new(self.current.load_full())),
            file: self.file.clone(),
            reloading: Arc::default(),
        }
    }

    /// The secret `loaded`, fixed: one token request's, so that what it sends
    /// and what its error messages are scrubbed of are the same secret.
    pub(crate) fn pinned(loaded: Arc<Loaded>) -> ClientSecret {
        ClientSecret {
            current: Arc::new(ArcSwap::new(loaded)),
            file: None,
            reloading: Arc::default(),
        }
    }

    /// The secret in use now.
    pub(crate) fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Before a token request: the file's secret again if the file changed.
    /// `Some` when the secret changed (for the `credential_reloaded` event).
    pub(crate) fn reload_if_changed(&self) -> Option<Arc<Loaded>> {
        let path = self.file.as_deref()?;
        let now = stamp(path);
        if now.is_none() || now == self.current.load().stamp {
            return None;
        }
        self.reload(path, now)
    }

    /// After `invalid_client`: the file read again whatever its stamp says
    /// (a rewrite within the file system's time granularity keeps the stamp).
    /// `Some` when the secret changed, so that one more attempt is worth it.
    pub(crate) fn reload_now(&self) -> Option<Arc<Loaded>> {
        let path = self.file.as_deref()?;
        self.reload(path, stamp(path))
    }

    fn reload(&self, path: &Path, stamp: Option<FileStamp>) -> Option<Arc<Loaded>> {
        let _one = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let secret = match read_secret_file(path) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("cortiauth: keeping the client secret in use: {e}");
                return None;
            }
        };
        let old = self.current.load_full();
        if old.secret == secret {
            // Same secret (a touch, a rewrite with the same value): remember the stamp only.
            self.current.store(Arc::new(Loaded {
                secret,
                source: old.source,
                loaded_at: old.loaded_at,
                generation: old.generation,
                stamp,
            }));
            return None;
        }
        let loaded = Arc::new(Loaded {
            secret,
            source: Source::File,
            loaded_at: SystemTime::now(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            stamp,
        });
        self.current.store(Arc::clone(&loaded));
        Some(loaded)
    }

    /// Replaces the secret in place (the file, if any, wins again when it changes).
    pub(crate) fn set(&self, secret: SecretString) -> Arc<Loaded> {
        let _one = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self.current.load_full();
        let loaded = Arc::new(Loaded {
            secret,
            source: Source::Set,
            loaded_at: SystemTime::now(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            // The file as it is now is not the secret any more; only a change counts.
            stamp: old.stamp,
        });
        self.current.store(Arc::clone(&loaded));
        loaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_rewrite_a_rename_over_and_a_symlink_swap_are_each_seen() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        write(&file, "one\n");
        let s = ClientSecret::from_file(&file).unwrap();
        let g1 = s.current().generation;
        assert_eq!(s.current().secret.expose(), "one");
        assert!(s.reload_if_changed().is_none(), "unchanged file: no reload");

        // Rename over (what editors and `kubectl cp` do).
        let tmp = dir.path().join("secret.tmp");
        write(&tmp, "two\n");
        std::fs::rename(&tmp, &file).unwrap();
        let r = s.reload_if_changed().expect("renamed over");
        assert_eq!(r.secret.expose(), "two");
        assert!(r.generation > g1);
        assert_eq!(r.source, Source::File);

        // Kubernetes: the path is a symlink through ..data, swapped atomically.
        #[cfg(unix)]
        {
            let k = dir.path().join("k8s");
            std::fs::create_dir(&k).unwrap();
            std::fs::create_dir(k.join("v1")).unwrap();
            std::fs::create_dir(k.join("v2")).unwrap();
            write(&k.join("v1/secret"), "three");
            write(&k.join("v2/secret"), "four");
            std::os::unix::fs::symlink("v1", k.join("..data")).unwrap();
            std::os::unix::fs::symlink("..data/secret", k.join("secret")).unwrap();
            let s = ClientSecret::from_file(&k.join("secret")).unwrap();
            assert_eq!(s.current().secret.expose(), "three");
            std::os::unix::fs::symlink("v2", k.join("..data.new")).unwrap();
            std::fs::rename(k.join("..data.new"), k.join("..data")).unwrap();
            assert_eq!(s.reload_if_changed().unwrap().secret.expose(), "four");
        }
    }

    #[test]
    fn a_missing_or_empty_file_keeps_the_secret_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        write(&file, "one");
        let s = ClientSecret::from_file(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(s.reload_if_changed().is_none());
        write(&file, "");
        assert!(s.reload_if_changed().is_none());
        assert_eq!(s.current().secret.expose(), "one");
        write(&file, "one");
        assert!(s.reload_now().is_none(), "same value: not a change");
        write(&file, "five");
        assert_eq!(s.reload_now().unwrap().secret.expose(), "five");
    }

    #[test]
    fn set_replaces_in_place_and_a_detached_copy_stays_apart() {
        let s = ClientSecret::given("a".into());
        let d = s.detached();
        let g = s.current().generation;
        let set = s.set("b".into());
        assert!(set.generation > g);
        assert_eq!(set.source, Source::Set);
        assert_eq!(s.current().secret.expose(), "b");
        assert_eq!(d.current().secret.expose(), "a");
        assert!(
            s.reload_if_changed().is_none(),
            "no file: nothing to reload"
        );
    }
}
