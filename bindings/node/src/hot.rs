//! The one call on Node's hot path, `cachedStamp.call(handle)`, as a plain N-API callback.
//!
//! One function for every manager, so that the JavaScript call site sees one
//! target: with a function per manager, a second manager in the process made the
//! site polymorphic and every cached call ~20 ns slower (V8 no longer calls the
//! API function directly: 77 → 98 ns; 81 ns for one or many managers with this
//! shared function). The manager comes as the receiver, an External made by
//! `NativeTokenManager.cachedStampHandle()` and kept in a private field of the
//! JavaScript `TokenManager` (the package's exports do not reach this module).
//!
//! napi-rs's closure trampoline allocates an argument vector on every call; this
//! callback allocates nothing and copies no argument (the handle as an argument
//! cost 9 ns more than as the receiver): `napi_get_cb_info` for the receiver,
//! `napi_get_value_external`, the core's `try_token_since`, `napi_create_double`.
//! It is what makes a cached `await getAccessToken()` no slower than a hand-written
//! async function with an expiry check (docs/design/node.md).

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Function, Unknown};
use napi::{check_status, sys, Env, Result};

use crate::Stamps;

/// The handle of `stamps` for [`cached_stamp_fn`]'s function: an External owning
/// them (freed when it is garbage-collected).
pub(crate) fn stamp_handle<'e>(env: &'e Env, stamps: Stamps) -> Result<Unknown<'e>> {
    let data = Box::into_raw(Box::new(stamps));
    let mut raw = ptr::null_mut();
    let created = check_status!(unsafe {
        sys::napi_create_external(
            env.raw(),
            data.cast(),
            Some(drop_stamps),
            ptr::null_mut(),
            &mut raw,
        )
    });
    if let Err(e) = created {
        drop(unsafe { Box::from_raw(data) });
        return Err(e);
    }
    unsafe { Unknown::from_napi_value(env.raw(), raw) }
}

/// The function called as `f.call(handle)`: the stamp of a usable token of the manager
/// whose handle it is given, or 0.
pub(crate) fn cached_stamp_fn(env: &Env) -> Result<Function<'_, Unknown<'_>, f64>> {
    let name = "cachedStamp";
    let mut raw = ptr::null_mut();
    check_status!(unsafe {
        sys::napi_create_function(
            env.raw(),
            name.as_ptr().cast(),
            name.len() as isize,
            Some(cached_stamp),
            ptr::null_mut(),
            &mut raw,
        )
    })?;
    unsafe { Function::from_napi_value(env.raw(), raw) }
}

unsafe extern "C" fn cached_stamp(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // The handle comes as the receiver (`cachedStamp.call(handle)`): no argument
    // vector to copy.
    let mut handle: sys::napi_value = ptr::null_mut();
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            ptr::null_mut(),
            ptr::null_mut(),
            &mut handle,
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        return throw(
            env,
            c"cortiauth internal error: cachedStamp needs a manager handle",
        );
    }
    let mut data: *mut c_void = ptr::null_mut();
    // Fails (napi_invalid_arg) for anything but an External.
    if unsafe { sys::napi_get_value_external(env, handle, &mut data) } != sys::Status::napi_ok
        || data.is_null()
    {
        return throw(
            env,
            c"cortiauth internal error: cachedStamp was not given a manager handle",
        );
    }
    // SAFETY: the only Externals reaching here are `stamp_handle`'s (see the module
    // comment), alive while the handle is, which the caller holds.
    let stamps = unsafe { &*(data as *const Stamps) };
    // A panic is answered with NaN, not thrown: the JavaScript hot path then needs
    // no try/catch (which kept V8 from inlining it), and rejects on NaN.
    let stamp = catch_unwind(AssertUnwindSafe(|| stamps.cached())).unwrap_or(f64::NAN);
    let mut out = ptr::null_mut();
    if unsafe { sys::napi_create_double(env, stamp, &mut out) } != sys::Status::napi_ok {
        return throw(env, c"cortiauth internal error: cannot create a number");
    }
    out
}

fn throw(env: sys::napi_env, message: &std::ffi::CStr) -> sys::napi_value {
    unsafe { sys::napi_throw_error(env, ptr::null(), message.as_ptr()) };
    ptr::null_mut()
}

unsafe extern "C" fn drop_stamps(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // A panic must not unwind into V8's finalizer.
    let _ = catch_unwind(|| drop(unsafe { Box::from_raw(data.cast::<Stamps>()) }));
}
