//! The one call on Node's hot path, `cachedStamp()`, as a plain N-API callback.
//!
//! napi-rs's closure trampoline allocates an argument vector on every call;
//! this callback reads no arguments and allocates nothing: one
//! `napi_get_cb_info` for its data, the core's `try_token_since`, one
//! `napi_create_double`. It is what makes a cached `await getAccessToken()`
//! no slower than a hand-written async function with an expiry check (docs/design/node.md).

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Function};
use napi::{check_status, sys, Env, Result};

use crate::Stamps;

/// A function bound to `stamps` returning the stamp of a usable token, or 0.
pub(crate) fn cached_stamp_fn<'e>(env: &'e Env, stamps: Stamps) -> Result<Function<'e, (), f64>> {
    let data = Box::into_raw(Box::new(stamps));
    let name = "cachedStamp";
    let mut raw = ptr::null_mut();
    let created = check_status!(unsafe {
        sys::napi_create_function(
            env.raw(),
            name.as_ptr().cast(),
            name.len() as isize,
            Some(cached_stamp),
            data.cast(),
            &mut raw,
        )
    });
    if let Err(e) = created {
        drop(unsafe { Box::from_raw(data) });
        return Err(e);
    }
    // The function owns `data`: freed when it is garbage-collected.
    check_status!(unsafe {
        sys::napi_add_finalizer(
            env.raw(),
            raw,
            data.cast(),
            Some(drop_stamps),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    })?;
    unsafe { Function::from_napi_value(env.raw(), raw) }
}

unsafe extern "C" fn cached_stamp(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut data: *mut c_void = ptr::null_mut();
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            &mut data,
        )
    };
    if status != sys::Status::napi_ok || data.is_null() {
        return throw(env, c"cortiauth internal error: cachedStamp has no manager");
    }
    // SAFETY: `data` is the `Stamps` boxed by `cached_stamp_fn`, alive while the function is.
    let stamps = unsafe { &*(data as *const Stamps) };
    let Ok(stamp) = catch_unwind(AssertUnwindSafe(|| stamps.cached())) else {
        return throw(env, c"cortiauth internal error: panic in cachedStamp");
    };
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
