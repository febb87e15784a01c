//! The one-host store: a private directory of small files (unix).
//!
//! - the directory is created `0700` when missing; an existing one must be a real
//!   directory (not a symlink), owned by the effective user, with no group or
//!   other permission bits, or the store refuses to open;
//! - every file is opened relative to the directory's descriptor with
//!   `O_NOFOLLOW | O_NONBLOCK` and checked with `fstat`: a regular file, ours,
//!   no group/other bits; anything else (a symlink, a FIFO, a file of another
//!   user, `0644`) is refused without blocking;
//! - `{id}.token` = `"CTFILE1\n"` ‖ expiry (ms since the epoch, i64 BE) ‖ the
//!   sealed value; written to a temporary file (`O_EXCL`, `0600`) then renamed
//!   over, so readers see the old or the new file, never half of one;
//! - `{id}.lock` is `flock`ed (`LOCK_EX | LOCK_NB`, never blocking): the kernel
//!   drops the lock when the holder's process dies; the file is never deleted.
//!   A `flock` belongs to the open file description, which a `fork()`ed child
//!   inherits: a child living on would hold the lock for its whole life. So every
//!   held lock descriptor is also registered in [`HELD_LOCK_FDS`], and a
//!   `pthread_atfork` child handler closes them all in the child (the parent's
//!   descriptor keeps the lock).

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use super::envelope::{now_unix_ms, MAX_VALUE_LEN};
use super::{Entry, Holder, StoreError, StoreErrorKind, TokenStore};

const FILE_MAGIC: &[u8; 8] = b"CTFILE1\n";
const HEADER_LEN: usize = 16;

/// A [`TokenStore`] in a private directory, shared by the processes of one
/// user on one host (the CLI's `--cache`). See the module docs for the checks.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    dir_fd: OwnedFd,
    /// Locks this process holds: (slot id, owner) → the locked descriptor.
    held: Mutex<HashMap<(String, String), HeldLock>>,
}

/// How many file locks a process can hold at once (one per manager whose
/// fetch is under way); past that a lock attempt is a store error (a direct fetch).
const MAX_HELD_LOCKS: usize = 64;

/// The descriptors of every file lock this process holds (-1: a free entry),
/// for the fork handler. Atomics only: the handler runs in the child of a
/// `fork()`, where only async-signal-safe work is allowed.
static HELD_LOCK_FDS: [AtomicI32; MAX_HELD_LOCKS] = [const { AtomicI32::new(-1) }; MAX_HELD_LOCKS];

/// Runs in the child of every `fork()`: closes the child's copies of the held
/// lock descriptors, so the lock stays the parent's alone. `close` is
/// async-signal-safe.
extern "C" fn close_held_locks_in_child() {
    for entry in &HELD_LOCK_FDS {
        let fd = entry.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: fd was a descriptor of the parent's held lock, inherited here.
            unsafe { libc::close(fd) };
        }
    }
}

/// A held lock: its descriptor, its entry in [`HELD_LOCK_FDS`] and the process
/// that took it. Dropping it releases the lock, in that process only: in a
/// forked child the handler has closed the descriptor already (and its number
/// may have been reused since).
#[derive(Debug)]
struct HeldLock {
    fd: RawFd,
    entry: usize,
    pid: u32,
}

impl HeldLock {
    fn register(fd: OwnedFd) -> Result<HeldLock, StoreError> {
        static AT_FORK: Once = Once::new();
        AT_FORK.call_once(|| {
            // SAFETY: registers a plain extern "C" function with no preconditions.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(close_held_locks_in_child)) };
            if rc != 0 {
                log::warn!(
                    "cortiauth: pthread_atfork failed ({rc}): a forked child would keep file locks"
                );
            }
        });
        let raw = fd.as_raw_fd();
        let entry = HELD_LOCK_FDS
            .iter()
            .position(|e| {
                e.compare_exchange(-1, raw, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            })
            .ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Io,
                    format!("this process already holds {MAX_HELD_LOCKS} token file locks"),
                )
            })?;
        // The descriptor now belongs to the entry (closed by Drop or the fork handler).
        std::mem::forget(fd);
        Ok(HeldLock {
            fd: raw,
            entry,
            pid: std::process::id(),
        })
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            return;
        }
        let freed = HELD_LOCK_FDS[self.entry]
            .compare_exchange(self.fd, -1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if freed {
            // SAFETY: the descriptor is ours and closed exactly once (the entry was ours).
            unsafe { libc::close(self.fd) };
        }
    }
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fd is an open descriptor; st is written by fstat on success.
    cvt(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so st is initialised.
    Ok(unsafe { st.assume_init() })
}

/// Refuses anything but `kind` (S_IFREG/S_IFDIR), owned by us, without group/other bits.
fn check_private(st: &libc::stat, kind: libc::mode_t, what: &Path) -> Result<(), StoreError> {
    let unsafe_ = |why: String| StoreError::new(StoreErrorKind::Unsafe, why);
    if st.st_mode & libc::S_IFMT != kind {
        let expected = if kind == libc::S_IFDIR {
            "a directory"
        } else {
            "a regular file"
        };
        return Err(unsafe_(format!("{} is not {expected}", what.display())));
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if st.st_uid != me {
        return Err(unsafe_(format!(
            "{} is owned by uid {}, not by this user (uid {me})",
            what.display(),
            st.st_uid
        )));
    }
    let mode = st.st_mode & 0o7777;
    if mode & 0o077 != 0 {
        return Err(unsafe_(format!(
            "{} has mode {mode:04o}; it must not be accessible to group or others (chmod go-rwx)",
            what.display()
        )));
    }
    Ok(())
}

impl FileStore {
    /// Opens (creating it `0700` when missing) the directory `dir`, which must be
    /// absolute, ours and private.
    pub fn open(dir: &Path) -> Result<FileStore, StoreError> {
        if !dir.is_absolute() {
            return Err(StoreError::config(format!(
                "the token directory {} is not an absolute path",
                dir.display()
            )));
        }
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| StoreError::from_io(&format!("creating {}", dir.display()), &e))?;
        }
        let path = CString::new(dir.as_os_str().as_encoded_bytes())
            .map_err(|_| StoreError::config("the token directory path contains a NUL byte"))?;
        // SAFETY: path is a valid C string; the result is checked.
        let fd = cvt(unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        })
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => StoreError::new(
                StoreErrorKind::Unsafe,
                format!("{} is a symbolic link or not a directory", dir.display()),
            ),
            _ => StoreError::from_io(&format!("opening {}", dir.display()), &e),
        })?;
        // SAFETY: fd was just opened and is owned by nobody else.
        let dir_fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = fstat(dir_fd.as_raw_fd())
            .map_err(|e| StoreError::from_io(&format!("fstat {}", dir.display()), &e))?;
        check_private(&st, libc::S_IFDIR, dir)?;
        Ok(FileStore {
            dir: dir.to_path_buf(),
            dir_fd,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn held(&self) -> MutexGuard<'_, HashMap<(String, String), HeldLock>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn name(id: &str, suffix: &str) -> Result<CString, StoreError> {
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::config("a slot id must be 1 to 128 hex digits"));
        }
        Ok(CString::new(format!("{id}{suffix}")).expect("hex digits have no NUL"))
    }

    /// `openat(dir, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)`, then the
    /// `fstat` checks. `Ok(None)` when the file does not exist.
    fn open_checked(
        &self,
        name: &CString,
        flags: libc::c_int,
    ) -> Result<Option<OwnedFd>, StoreError> {
        let shown = self.dir.join(name.to_string_lossy().as_ref());
        // SAFETY: dir_fd is open, name is a valid C string; the result is checked.
        let fd = unsafe {
            libc::openat(
                self.dir_fd.as_raw_fd(),
                name.as_ptr(),
                flags | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOENT) => Ok(None),
                Some(libc::ELOOP) => Err(StoreError::new(
                    StoreErrorKind::Unsafe,
                    format!("{} is a symbolic link", shown.display()),
                )),
                _ => Err(StoreError::from_io(
                    &format!("opening {}", shown.display()),
                    &e,
                )),
            };
        }
        // SAFETY: fd was just opened and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = fstat(fd.as_raw_fd())
            .map_err(|e| StoreError::from_io(&format!("fstat {}", shown.display()), &e))?;
        check_private(&st, libc::S_IFREG, &shown)?;
        Ok(Some(fd))
    }

    fn flock(fd: &OwnedFd, op: libc::c_int) -> io::Result<bool> {
        // SAFETY: fd is open; flock with LOCK_NB never blocks.
        match cvt(unsafe { libc::flock(fd.as_raw_fd(), op | libc::LOCK_NB) }) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn open_lock_file(&self, id: &str, create: bool) -> Result<Option<OwnedFd>, StoreError> {
        let create = if create { libc::O_CREAT } else { 0 };
        self.open_checked(&Self::name(id, ".lock")?, libc::O_RDWR | create)
    }
}

impl TokenStore for FileStore {
    fn read_entry(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        let Some(fd) = self.open_checked(&Self::name(id, ".token")?, libc::O_RDONLY)? else {
            return Ok(None);
        };
        let mut data = Vec::new();
        File::from(fd)
            .take((HEADER_LEN + MAX_VALUE_LEN + 1) as u64)
            .read_to_end(&mut data)
            .map_err(|e| StoreError::from_io("reading a token file", &e))?;
        // Not our format: hand it up as is, it will count as garbage.
        let garbage = |data| Entry {
            value: data,
            ttl: Duration::ZERO,
        };
        let Some(rest) = data.strip_prefix(FILE_MAGIC.as_slice()) else {
            return Ok(Some(garbage(data)));
        };
        let Some((expiry, value)) = rest.split_first_chunk::<8>() else {
            return Ok(Some(garbage(data)));
        };
        // One host, one clock: the header's expiry is on the reader's clock too.
        let left = i64::from_be_bytes(*expiry).saturating_sub(now_unix_ms());
        if left <= 0 {
            return Ok(None);
        }
        Ok(Some(Entry {
            value: value.to_vec(),
            ttl: Duration::from_millis(left as u64),
        }))
    }

    fn write(&self, id: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let target = Self::name(id, ".token")?;
        let temp = CString::new(format!(
            ".{id}.{}.{:016x}.tmp",
            std::process::id(),
            fastrand::u64(..)
        ))
        .expect("no NUL");
        let expiry =
            now_unix_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let fd = self
            .open_checked(&temp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)?
            .ok_or_else(|| StoreError::new(StoreErrorKind::Io, "temporary file vanished"))?;
        let dir = self.dir_fd.as_raw_fd();
        let written = (|| {
            let mut f = File::from(fd);
            f.write_all(FILE_MAGIC)?;
            f.write_all(&expiry.to_be_bytes())?;
            f.write_all(value)?;
            drop(f);
            // SAFETY: both names are valid C strings relative to the open dir_fd.
            cvt(unsafe { libc::renameat(dir, temp.as_ptr(), dir, target.as_ptr()) })
        })();
        if let Err(e) = written {
            // SAFETY: as above.
            unsafe { libc::unlinkat(dir, temp.as_ptr(), 0) };
            return Err(StoreError::from_io("writing a token file", &e));
        }
        Ok(())
    }

    fn lock(&self, id: &str, owner: &str, _ttl: Duration) -> Result<Option<Holder>, StoreError> {
        let fd = self
            .open_lock_file(id, true)?
            .ok_or_else(|| StoreError::new(StoreErrorKind::Io, "lock file vanished"))?;
        if !Self::flock(&fd, libc::LOCK_EX).map_err(|e| StoreError::from_io("flock", &e))? {
            return Ok(Some(Holder::Process));
        }
        let held = HeldLock::register(fd)?;
        self.held()
            .insert((id.to_string(), owner.to_string()), held);
        Ok(None)
    }

    fn unlock(&self, id: &str, owner: &str) -> Result<bool, StoreError> {
        // Closing the descriptor releases the flock.
        Ok(self
            .held()
            .remove(&(id.to_string(), owner.to_string()))
            .is_some())
    }

    fn holder(&self, id: &str) -> Result<Option<Holder>, StoreError> {
        let Some(fd) = self.open_lock_file(id, false)? else {
            return Ok(None);
        };
        // A shared lock is refused while anyone holds the exclusive one.
        let free = Self::flock(&fd, libc::LOCK_SH).map_err(|e| StoreError::from_io("flock", &e))?;
        Ok((!free).then_some(Holder::Process))
    }

    fn describe(&self) -> String {
        match url::Url::from_directory_path(&self.dir) {
            Ok(u) => u.to_string(),
            Err(()) => format!("file://{}", self.dir.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Instant;

    const ID: &str = "00ff";
    const TTL: Duration = Duration::from_secs(60);

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn private_dir() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("tokens");
        (tmp, dir)
    }

    #[test]
    fn creates_a_private_dir_and_private_files_and_round_trips() {
        let (_tmp, dir) = private_dir();
        let s = FileStore::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(s.read(ID).unwrap(), None);
        s.write(ID, b"sealed bytes", TTL).unwrap();
        assert_eq!(s.read(ID).unwrap().as_deref(), Some(&b"sealed bytes"[..]));
        s.write(ID, b"replaced", TTL).unwrap();
        assert_eq!(s.read(ID).unwrap().as_deref(), Some(&b"replaced"[..]));
        assert!(s.try_lock(ID, "me", TTL).unwrap());
        let token = dir.join(format!("{ID}.token"));
        assert_eq!(mode(&token), 0o600);
        assert_eq!(mode(&dir.join(format!("{ID}.lock"))), 0o600);
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [format!("{ID}.lock"), format!("{ID}.token")]);
        assert!(s.describe().starts_with("file:///"), "{}", s.describe());
        // A second open of the same directory works (the checks pass on our own dir).
        FileStore::open(&dir).unwrap();
        // Bad ids never become paths.
        assert_eq!(s.read("../x").unwrap_err().kind(), StoreErrorKind::Config);
    }

    #[test]
    fn entries_expire_with_their_ttl() {
        let (_tmp, dir) = private_dir();
        let s = FileStore::open(&dir).unwrap();
        s.write(ID, b"v", Duration::from_millis(1)).unwrap();
        std::thread::sleep(Duration::from_millis(5)); // the TTL under test
        assert_eq!(s.read(ID).unwrap(), None);
        // A file of another format is handed up as is (and counts as garbage above).
        fs::write(dir.join(format!("{ID}.token")), b"junk").unwrap();
        fs::set_permissions(
            dir.join(format!("{ID}.token")),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        assert_eq!(s.read(ID).unwrap().as_deref(), Some(&b"junk"[..]));
    }

    #[test]
    fn loose_modes_symlinks_and_non_directories_are_refused() {
        let (_tmp, dir) = private_dir();
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let e = FileStore::open(&dir).unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Unsafe);
        assert!(e.message().contains("0755"), "{e}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        let s = FileStore::open(&dir).unwrap();

        let link = dir.parent().unwrap().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert_eq!(
            FileStore::open(&link).unwrap_err().kind(),
            StoreErrorKind::Unsafe
        );
        let plain = dir.parent().unwrap().join("plain");
        fs::write(&plain, b"").unwrap();
        assert!(FileStore::open(&plain).is_err());

        // A token file with loose modes, or a symlink to one, is refused (not read).
        let token = dir.join(format!("{ID}.token"));
        s.write(ID, b"v", TTL).unwrap();
        fs::set_permissions(&token, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(s.read(ID).unwrap_err().kind(), StoreErrorKind::Unsafe);
        fs::remove_file(&token).unwrap();
        let elsewhere = dir.join("elsewhere");
        fs::write(&elsewhere, b"x").unwrap();
        fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &token).unwrap();
        assert_eq!(s.read(ID).unwrap_err().kind(), StoreErrorKind::Unsafe);
        // Writing replaces the link itself, never writes through it.
        s.write(ID, b"v2", TTL).unwrap();
        assert_eq!(fs::read(&elsewhere).unwrap(), b"x");
        assert_eq!(s.read(ID).unwrap().as_deref(), Some(&b"v2"[..]));
    }

    #[test]
    fn foreign_owners_are_refused() {
        // SAFETY: no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: changing a file's owner needs root (this runs as root in CI)");
            return;
        }
        let chown = |p: &Path| {
            let c = CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: valid C string.
            assert_eq!(unsafe { libc::lchown(c.as_ptr(), 65534, 65534) }, 0);
        };
        let (_tmp, dir) = private_dir();
        let s = FileStore::open(&dir).unwrap();
        s.write(ID, b"v", TTL).unwrap();
        chown(&dir.join(format!("{ID}.token")));
        let e = s.read(ID).unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Unsafe);
        assert!(e.message().contains("uid 65534"), "{e}");
        fs::write(dir.join(format!("{ID}.lock")), b"").unwrap();
        fs::set_permissions(
            dir.join(format!("{ID}.lock")),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        chown(&dir.join(format!("{ID}.lock")));
        assert_eq!(
            s.try_lock(ID, "me", TTL).unwrap_err().kind(),
            StoreErrorKind::Unsafe
        );
        chown(&dir);
        assert_eq!(
            FileStore::open(&dir).unwrap_err().kind(),
            StoreErrorKind::Unsafe
        );
    }

    #[test]
    fn a_fifo_at_the_token_or_lock_path_does_not_block() {
        let (_tmp, dir) = private_dir();
        let s = FileStore::open(&dir).unwrap();
        for suffix in [".token", ".lock"] {
            let path = CString::new(
                dir.join(format!("{ID}{suffix}"))
                    .as_os_str()
                    .as_encoded_bytes(),
            )
            .unwrap();
            // SAFETY: valid C string.
            assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        }
        let t0 = Instant::now();
        assert_eq!(s.read(ID).unwrap_err().kind(), StoreErrorKind::Unsafe);
        assert_eq!(
            s.try_lock(ID, "me", TTL).unwrap_err().kind(),
            StoreErrorKind::Unsafe
        );
        assert_eq!(s.is_locked(ID).unwrap_err().kind(), StoreErrorKind::Unsafe);
        assert!(t0.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn lock_is_exclusive_across_descriptors_never_blocks_and_is_released() {
        let (_tmp, dir) = private_dir();
        let a = FileStore::open(&dir).unwrap();
        let b = FileStore::open(&dir).unwrap(); // as another process would
        assert!(!a.is_locked(ID).unwrap());
        assert!(a.try_lock(ID, "a", TTL).unwrap());
        let t0 = Instant::now();
        assert!(!b.try_lock(ID, "b", TTL).unwrap());
        assert!(!a.try_lock(ID, "a2", TTL).unwrap());
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert!(b.is_locked(ID).unwrap());
        assert!(!b.unlock(ID, "a").unwrap()); // not b's
        assert!(a.is_locked(ID).unwrap());
        assert!(a.unlock(ID, "a").unwrap());
        assert!(!b.is_locked(ID).unwrap());
        assert!(b.try_lock(ID, "b", TTL).unwrap());
        // The default wait: the holder writes, the waiter gets the value.
        b.write(ID, b"old", TTL).unwrap();
        let anyone = |_: &Holder| true;
        assert_eq!(
            a.wait(ID, Some(b"old"), Duration::from_millis(30), &anyone)
                .unwrap(),
            super::super::Waited::TimedOut
        );
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                b.write(ID, b"new", TTL).unwrap();
                b.unlock(ID, "b").unwrap();
            });
            match a
                .wait(ID, Some(b"old"), Duration::from_secs(10), &anyone)
                .unwrap()
            {
                super::super::Waited::Value(e) => assert_eq!(e.value, b"new"),
                other => panic!("{other:?}"),
            }
        });
    }

    /// Forks a child that runs `in_child` (async-signal-safe calls only, as
    /// required after fork in a threaded test), says so through a pipe, then
    /// only waits for its other pipe to close. Returns once the child is ready
    /// (its fork handlers have run too), with its pid and that pipe's write end.
    fn fork_idle_child(in_child: impl FnOnce()) -> (libc::pid_t, RawFd) {
        let (mut idle, mut ready) = ([0; 2], [0; 2]);
        // SAFETY: each array has room for two descriptors.
        unsafe {
            assert_eq!(libc::pipe(idle.as_mut_ptr()), 0);
            assert_eq!(libc::pipe(ready.as_mut_ptr()), 0);
        }
        // SAFETY: the child runs async-signal-safe code only and never returns.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            in_child();
            let mut b = [0u8; 1];
            // SAFETY: plain syscalls on the pipes' descriptors.
            unsafe {
                libc::write(ready[1], b"x".as_ptr().cast(), 1);
                libc::close(idle[1]);
                libc::read(idle[0], b.as_mut_ptr().cast(), 1);
                libc::_exit(0);
            }
        }
        let mut b = [0u8; 1];
        // SAFETY: the parent's ends; blocks until the child is ready.
        unsafe {
            libc::close(idle[0]);
            libc::close(ready[1]);
            assert_eq!(libc::read(ready[0], b.as_mut_ptr().cast(), 1), 1);
            libc::close(ready[0]);
        }
        (pid, idle[1])
    }

    fn kill_child(pid: libc::pid_t, pipe: RawFd) {
        // SAFETY: our own child and pipe.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            libc::close(pipe);
        }
    }

    #[test]
    fn the_lock_dies_with_its_process() {
        let (_tmp, dir) = private_dir();
        let s = FileStore::open(&dir).unwrap();
        // The child takes the lock itself (raw syscalls on a path prepared before fork).
        let path = CString::new(
            dir.join(format!("{ID}.lock"))
                .as_os_str()
                .as_encoded_bytes(),
        )
        .unwrap();
        let (pid, pipe) = fork_idle_child(|| unsafe {
            // SAFETY: async-signal-safe syscalls on a prepared path.
            let fd = libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o600);
            libc::flock(fd, libc::LOCK_EX);
        });
        assert_eq!(s.holder(ID).unwrap(), Some(Holder::Process));
        assert!(!s.try_lock(ID, "me", TTL).unwrap());
        // Kill the child: the kernel releases the flock.
        kill_child(pid, pipe);
        assert!(!s.is_locked(ID).unwrap());
        assert!(s.try_lock(ID, "next", TTL).unwrap());
    }

    #[test]
    fn a_forked_child_does_not_keep_the_lock() {
        let (_tmp, dir) = private_dir();
        let s = FileStore::open(&dir).unwrap();
        let other = FileStore::open(&dir).unwrap(); // as another process would
        assert!(s.try_lock(ID, "parent", TTL).unwrap());
        // A fork while the lock is held (a fetch under way): the child lives on.
        let (pid, pipe) = fork_idle_child(|| {});
        assert!(other.is_locked(ID).unwrap(), "the parent still holds it");
        assert!(s.unlock(ID, "parent").unwrap());
        // Released by the parent: free at once, though the child is alive.
        assert!(!other.is_locked(ID).unwrap(), "the child kept the lock");
        assert!(other.try_lock(ID, "other", TTL).unwrap());
        kill_child(pid, pipe);
    }
}
