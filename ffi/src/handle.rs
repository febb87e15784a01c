//! Everything that crosses the boundary as a pointer: opaque handles (which record
//! whether C holds a `Box` or an `Arc`), pointer arguments, and C strings in and out.
//!
//! The handle part follows rustls-ffi's `Castable` idea: each opaque C type says
//! once, in its [`Handle`] impl, what it points to and how it is owned, and the
//! shared helpers below make, borrow, clone and free handles accordingly, so no
//! extern function casts a handle pointer by hand.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ffi::{c_char, CStr, CString};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use crate::failure::Failure;

/// C holds a `Box<Inner>`: one owner, freed once, may be borrowed mutably.
pub(crate) enum OwnedBox {}
/// C holds an `Arc<Inner>`: shared, cloned cheaply, immutable, thread-safe.
pub(crate) enum SharedArc {}

/// How a handle is owned ([`OwnedBox`] or [`SharedArc`]).
pub(crate) trait Ownership: private::Sealed {}
impl Ownership for OwnedBox {}
impl Ownership for SharedArc {}
mod private {
    pub trait Sealed {}
    impl Sealed for super::OwnedBox {}
    impl Sealed for super::SharedArc {}
}

/// An opaque C handle type: what it points to on the Rust side, and how C owns it.
///
/// SAFETY (implementor): every `*const Self` handed to C is made by [`into_box`]
/// (when `Ownership = OwnedBox`) or [`into_arc`] (when `Ownership = SharedArc`)
/// from a `Self::Inner`, so it points to a live `Inner`.
pub(crate) unsafe trait Handle {
    type Inner;
    type Ownership: Ownership;
}

/// A new `Box`-owned handle (released with [`free_box`]).
pub(crate) fn into_box<H: Handle<Ownership = OwnedBox>>(value: H::Inner) -> *mut H {
    Box::into_raw(Box::new(value)).cast()
}

/// A new `Arc`-owned handle (released with [`free_arc`], cloned with [`clone_arc`]).
pub(crate) fn into_arc<H: Handle<Ownership = SharedArc>>(value: H::Inner) -> *mut H {
    Arc::into_raw(Arc::new(value)).cast_mut().cast()
}

/// A handle argument as a shared reference to its Rust value (either ownership).
///
/// SAFETY (caller): `ptr` is NULL or a live handle made by this library, valid for `'a`.
pub(crate) unsafe fn try_ref<'a, H: Handle>(
    ptr: *const H,
    name: &'static str,
) -> Result<&'a H::Inner, Failure> {
    // SAFETY: a handle of type H points to an H::Inner (trait contract).
    unsafe { arg(ptr.cast::<H::Inner>(), name) }
}

/// A `Box`-owned handle argument as a mutable reference (an `Arc` is never
/// mutated: the bound makes that a compile error).
///
/// SAFETY (caller): `ptr` is NULL or a live handle not used elsewhere meanwhile.
pub(crate) unsafe fn try_mut<'a, H: Handle<Ownership = OwnedBox>>(
    ptr: *mut H,
    name: &'static str,
) -> Result<&'a mut H::Inner, Failure> {
    // SAFETY: a handle of type H points to an H::Inner (trait contract).
    unsafe { out(ptr.cast::<H::Inner>(), name) }
}

/// Releases a `Box`-owned handle; NULL is a no-op.
///
/// SAFETY (caller): `ptr` is NULL or a live handle, released once.
pub(crate) unsafe fn free_box<H: Handle<Ownership = OwnedBox>>(ptr: *mut H) {
    if !ptr.is_null() {
        // SAFETY: made by `into_box` (trait contract), released once (caller).
        drop(unsafe { Box::from_raw(ptr.cast::<H::Inner>()) });
    }
}

/// Releases one reference to an `Arc`-owned handle; NULL is a no-op.
///
/// SAFETY (caller): `ptr` is NULL or a live handle (or clone), released once.
pub(crate) unsafe fn free_arc<H: Handle<Ownership = SharedArc>>(ptr: *const H) {
    if !ptr.is_null() {
        // SAFETY: made by `into_arc` or `clone_arc` (trait contract), released once.
        drop(unsafe { Arc::from_raw(ptr.cast::<H::Inner>()) });
    }
}

/// A second reference to an `Arc`-owned handle (the same pointer, one more count);
/// NULL for NULL.
///
/// SAFETY (caller): `ptr` is NULL or a live handle.
pub(crate) unsafe fn clone_arc<H: Handle<Ownership = SharedArc>>(ptr: *const H) -> *mut H {
    if ptr.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: made by `into_arc` (trait contract) and still alive (caller).
    unsafe { Arc::increment_strong_count(ptr.cast::<H::Inner>()) };
    ptr.cast_mut()
}

/// The one NULL check: every pointer received from C goes through here.
pub(crate) fn non_null<T>(ptr: *const T, name: &'static str) -> Result<NonNull<T>, Failure> {
    NonNull::new(ptr.cast_mut()).ok_or_else(|| Failure::null_parameter(name))
}

/// A pointer argument as a shared reference.
///
/// SAFETY (caller): `ptr` is NULL or valid for reads for `'a`.
pub(crate) unsafe fn arg<'a, T>(ptr: *const T, name: &'static str) -> Result<&'a T, Failure> {
    // SAFETY: non-NULL, and valid per the caller's contract.
    non_null(ptr, name).map(|p| unsafe { p.as_ref() })
}

/// A required out-parameter as a mutable reference.
///
/// SAFETY (caller): `ptr` is NULL or valid for writes for `'a`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, name: &'static str) -> Result<&'a mut T, Failure> {
    // SAFETY: non-NULL, and valid per the caller's contract.
    non_null(ptr, name).map(|mut p| unsafe { p.as_mut() })
}

/// An optional out-parameter (NULL means "not wanted").
///
/// SAFETY (caller): `ptr` is NULL or valid for writes for `'a`.
pub(crate) unsafe fn optional_out<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    // SAFETY: per the caller's contract.
    unsafe { ptr.as_mut() }
}

/// A NUL-terminated UTF-8 string argument.
///
/// SAFETY (caller): `ptr` is NULL or a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn arg_str<'a>(
    ptr: *const c_char,
    name: &'static str,
) -> Result<&'a str, Failure> {
    let p = non_null(ptr, name)?;
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(p.as_ptr()) };
    // The message names the argument, never its value (it may be the secret).
    s.to_str()
        .map_err(|_| Failure::invalid_argument(format!("argument `{name}` is not valid UTF-8")))
}

/// Text kept by a handle (error messages, the tenant): NUL bytes are dropped,
/// never an error.
pub(crate) fn lossy_c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

// ---- owned strings: `char *` the caller releases with `cortiauth_string_free` ----
//
// Each is one allocation: a `usize` header holding the size of the text and its
// NUL, then the text. `cortiauth_string_free` reads the size from the header, so
// it wipes and frees the whole allocation even when the caller shortened the
// string by writing a NUL into it (`strlen` would miss the rest, and freeing with
// a smaller size than allocated is undefined behaviour for Rust's allocator API).

const HEADER: usize = std::mem::size_of::<usize>();

fn owned_layout(text_and_nul: usize) -> Layout {
    Layout::from_size_align(HEADER + text_and_nul, std::mem::align_of::<usize>())
        .expect("a string shorter than isize::MAX")
}

/// A new owned C string holding `parts` one after the other; `what` names it in
/// the error when a part holds a NUL byte (never expected from the core).
pub(crate) fn owned_string(parts: &[&[u8]], what: &str) -> Result<*mut c_char, Failure> {
    if parts.iter().any(|p| p.contains(&0)) {
        return Err(Failure::nul_in(what));
    }
    let size = parts.iter().map(|p| p.len()).sum::<usize>() + 1;
    let layout = owned_layout(size);
    // SAFETY: the layout has a non-zero size (header + NUL at least).
    let base = unsafe { alloc(layout) };
    if base.is_null() {
        handle_alloc_error(layout);
    }
    // SAFETY: `base` holds HEADER + size bytes, aligned for a usize; the parts do not
    // overlap the new allocation.
    unsafe {
        base.cast::<usize>().write(size);
        let mut at = base.add(HEADER);
        for p in parts {
            ptr::copy_nonoverlapping(p.as_ptr(), at, p.len());
            at = at.add(p.len());
        }
        at.write(0);
        Ok(base.add(HEADER).cast())
    }
}

/// The whole allocation behind an owned string, header included, whatever the
/// caller wrote into the text.
///
/// SAFETY (caller): `s` was returned by [`owned_string`] and is not freed yet.
unsafe fn owned_allocation<'a>(s: *mut c_char) -> &'a mut [u8] {
    // SAFETY: `s` is HEADER bytes into an allocation starting with its size.
    unsafe {
        let base = s.cast::<u8>().sub(HEADER);
        let size = base.cast::<usize>().read();
        std::slice::from_raw_parts_mut(base, HEADER + size)
    }
}

/// Wipes and frees an owned string; NULL is a no-op.
///
/// SAFETY (caller): `s` is NULL or was returned by [`owned_string`], freed once.
pub(crate) unsafe fn free_owned_string(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: per the caller's contract.
    let all = unsafe { owned_allocation(s) };
    let layout = owned_layout(all.len() - HEADER);
    let base = all.as_mut_ptr();
    wipe(all);
    // SAFETY: allocated by `owned_string` with this layout.
    unsafe { dealloc(base, layout) };
}

/// Overwrites `bytes` with zeros in a way the compiler may not elide (volatile
/// writes), a machine word at a time: `zeroize` writes byte by byte, which made
/// `cortiauth_string_free` of a 1.3 kB token cost more than the copy itself.
pub(crate) fn wipe(bytes: &mut [u8]) {
    // SAFETY: any bit pattern is a valid u64 and a valid u8.
    let (head, words, tail) = unsafe { bytes.align_to_mut::<u64>() };
    for b in head.iter_mut().chain(tail.iter_mut()) {
        // SAFETY: a valid, aligned, exclusive reference.
        unsafe { ptr::write_volatile(b, 0) };
    }
    for w in words.iter_mut() {
        // SAFETY: a valid, aligned, exclusive reference.
        unsafe { ptr::write_volatile(w, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::cortiauth_status;

    struct Boxed;
    // SAFETY: made only by `into_box` in these tests.
    unsafe impl Handle for Boxed {
        type Inner = String;
        type Ownership = OwnedBox;
    }
    struct Shared;
    // SAFETY: made only by `into_arc` in these tests.
    unsafe impl Handle for Shared {
        type Inner = String;
        type Ownership = SharedArc;
    }

    #[test]
    fn box_handles_are_borrowed_mutated_and_freed() {
        let h = into_box::<Boxed>("a".to_string());
        unsafe {
            try_mut(h, "h").unwrap().push('b');
            assert_eq!(try_ref(h, "h").unwrap(), "ab");
            free_box(h);
            free_box::<Boxed>(ptr::null_mut());
            let e = try_ref::<Boxed>(ptr::null(), "config").unwrap_err();
            assert_eq!(e.status, cortiauth_status::NullParameter);
        }
    }

    #[test]
    fn arc_handles_are_counted() {
        let h = into_arc::<Shared>("x".to_string());
        unsafe {
            let h2 = clone_arc(h);
            assert_eq!(h, h2);
            let counted =
                std::mem::ManuallyDrop::new(Arc::from_raw(h.cast_const().cast::<String>()));
            assert_eq!(Arc::strong_count(&counted), 2);
            free_arc(h);
            assert_eq!(try_ref(h2, "h").unwrap(), "x");
            free_arc(h2);
            assert!(clone_arc::<Shared>(ptr::null()).is_null());
        }
    }

    #[test]
    fn strings_are_checked() {
        unsafe {
            let e = arg_str(ptr::null(), "client_id").unwrap_err();
            assert_eq!(e.status, cortiauth_status::NullParameter);
            let bad = b"\xff\xfe\0";
            let e = arg_str(bad.as_ptr().cast(), "client_secret").unwrap_err();
            assert_eq!(e.status, cortiauth_status::InvalidArgument);
            assert!(e.message().contains("client_secret"));
            assert_eq!(arg_str(c"ok".as_ptr(), "x").unwrap(), "ok");
        }
        assert_eq!(lossy_c_string("a\0b").to_str().unwrap(), "ab");
    }

    #[test]
    fn wipe_clears_every_byte_whatever_the_alignment() {
        let mut v: Vec<u8> = (1..=200).collect();
        for start in 0..9 {
            v.iter_mut().for_each(|b| *b = 0xAA);
            wipe(&mut v[start..start + 150]);
            assert!(v[start..start + 150].iter().all(|b| *b == 0));
            assert!(v[..start].iter().all(|b| *b == 0xAA));
            assert!(v[start + 150..].iter().all(|b| *b == 0xAA));
        }
    }

    #[test]
    fn owned_strings_concatenate_and_refuse_nul() {
        let s = owned_string(&[b"Bearer ", b"abc"], "header").unwrap();
        unsafe {
            assert_eq!(CStr::from_ptr(s).to_str().unwrap(), "Bearer abc");
            free_owned_string(s);
            free_owned_string(ptr::null_mut());
        }
        let e = owned_string(&[b"a\0b"], "access token").unwrap_err();
        assert_eq!(e.status, cortiauth_status::InvalidResponse);
        assert!(e.message().contains("access token"));
    }

    #[test]
    fn a_shortened_string_is_still_wiped_and_freed_entirely() {
        let token = b"eyJhbGciOiJSUzI1NiJ9.payload.signature";
        let s = owned_string(&[token], "access token").unwrap();
        unsafe {
            // The caller truncates it in place, as C code may.
            s.add(5).write(0);
            assert_eq!(CStr::from_ptr(s).to_bytes().len(), 5);
            // The allocation still knows its full size: the free below wipes and
            // releases all of it (the old CString::from_raw saw 6 bytes).
            let all = owned_allocation(s);
            assert_eq!(all.len(), HEADER + token.len() + 1);
            assert_eq!(&all[HEADER + 6..HEADER + token.len()], &token[6..]);
            free_owned_string(s);
        }
    }
}
