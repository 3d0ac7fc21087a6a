//! The Node-API glue: converts JavaScript arguments to Rust values and results back, and
//! nothing else; the logic lives in `queue.rs` and `limiter.rs`. Every exported function
//! runs under `catch_unwind`, so a panic becomes a JavaScript `Error` instead of aborting
//! the process, and every bad argument becomes a `TypeError` naming the function and the
//! argument.

mod bind_limiter;
mod bind_queue;
mod sys;

use std::any::Any;
use std::ffi::{CString, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

use sys::*;

/// What a binding throws back to JavaScript.
pub(crate) enum Thrown {
    Type(String),
    Range(String),
}

pub(crate) type JsResult = Result<napi_value, Thrown>;

/// A typed array's element type as Node-API names it.
pub(crate) trait Element: Copy {
    const KIND: i32;
    const NAME: &'static str;
}
impl Element for u8 {
    const KIND: i32 = UINT8_ARRAY;
    const NAME: &'static str = "a Uint8Array";
}
impl Element for u32 {
    const KIND: i32 = UINT32_ARRAY;
    const NAME: &'static str = "a Uint32Array";
}
impl Element for f64 {
    const KIND: i32 = FLOAT64_ARRAY;
    const NAME: &'static str = "a Float64Array";
}

/// The environment of one call, with the conversions the bindings need.
#[derive(Clone, Copy)]
pub(crate) struct Env {
    raw: napi_env,
    name: &'static str,
}

/// A typed array's memory, as a raw range: turned into a slice only once the caller has
/// checked that no two arrays of one call overlap (two `&mut` to one byte would be UB).
pub(crate) struct Typed<T> {
    ptr: *mut T,
    len: usize,
}

impl<T: Element> Typed<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    fn bytes(&self) -> (usize, usize) {
        let start = self.ptr as usize;
        (start, start + self.len * size_of::<T>())
    }
    /// # Safety
    /// The array must stay alive for the call (it does: it is an argument) and must not
    /// overlap any other slice in use (checked by [`Env::disjoint`]).
    pub(crate) unsafe fn slice<'a>(&self) -> &'a mut [T] {
        if self.len == 0 {
            return &mut [];
        }
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Env {
    pub(crate) fn type_error(&self, what: &str) -> Thrown {
        Thrown::Type(format!("switchboard-native {}: {what}", self.name))
    }

    pub(crate) fn range_error(&self, what: &str) -> Thrown {
        Thrown::Range(format!("switchboard-native {}: {what}", self.name))
    }

    pub(crate) fn number(&self, value: napi_value, arg: &str) -> Result<f64, Thrown> {
        let mut out = 0.0;
        match unsafe { napi_get_value_double(self.raw, value, &mut out) } {
            NAPI_OK => Ok(out),
            _ => Err(self.type_error(&format!("{arg} must be a number"))),
        }
    }

    pub(crate) fn is_number(&self, value: napi_value) -> bool {
        let mut kind = -1;
        unsafe { napi_typeof(self.raw, value, &mut kind) == NAPI_OK && kind == NAPI_NUMBER }
    }

    pub(crate) fn is_undefined(&self, value: napi_value) -> bool {
        let mut kind = -1;
        unsafe { napi_typeof(self.raw, value, &mut kind) == NAPI_OK && kind == NAPI_UNDEFINED }
    }

    pub(crate) fn typed<T: Element>(
        &self,
        value: napi_value,
        arg: &str,
    ) -> Result<Typed<T>, Thrown> {
        let wrong = || self.type_error(&format!("{arg} must be {}", T::NAME));
        let mut is = false;
        if unsafe { napi_is_typedarray(self.raw, value, &mut is) } != NAPI_OK || !is {
            return Err(wrong());
        }
        let (mut kind, mut len, mut data) = (-1, 0usize, ptr::null_mut::<c_void>());
        let (mut buffer, mut offset) = (ptr::null_mut(), 0usize);
        let status = unsafe {
            napi_get_typedarray_info(
                self.raw,
                value,
                &mut kind,
                &mut len,
                &mut data,
                &mut buffer,
                &mut offset,
            )
        };
        // A detached buffer reports a null pointer with length 0.
        if status != NAPI_OK || kind != T::KIND || (data.is_null() && len != 0) {
            return Err(wrong());
        }
        Ok(Typed {
            ptr: data.cast(),
            len,
        })
    }

    /// Fails when any two of the given byte ranges overlap.
    pub(crate) fn disjoint(&self, ranges: &[(usize, usize)]) -> Result<(), Thrown> {
        for (i, a) in ranges.iter().enumerate() {
            for b in &ranges[i + 1..] {
                if a.0 < b.1 && b.0 < a.1 && a.0 != a.1 && b.0 != b.1 {
                    return Err(self.type_error("typed array arguments must not share memory"));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn ranges<T: Element>(a: &Typed<T>) -> (usize, usize) {
        a.bytes()
    }

    pub(crate) fn double(&self, value: f64) -> JsResult {
        let mut out = ptr::null_mut();
        unsafe { napi_create_double(self.raw, value, &mut out) };
        Ok(out)
    }

    pub(crate) fn undefined(&self) -> JsResult {
        let mut out = ptr::null_mut();
        unsafe { napi_get_undefined(self.raw, &mut out) };
        Ok(out)
    }

    /// Moves `value` into a JavaScript external tagged with `tag`; the garbage collector
    /// drops it when the external is unreachable.
    pub(crate) fn external<T: 'static>(&self, value: T, tag: &napi_type_tag) -> JsResult {
        unsafe extern "C" fn finalize<T>(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
            // Dropping a value of this crate cannot panic; if it ever did, aborting beats UB.
            drop(unsafe { Box::from_raw(data.cast::<T>()) });
        }
        let data = Box::into_raw(Box::new(value)).cast::<c_void>();
        let mut out = ptr::null_mut();
        let status = unsafe {
            napi_create_external(self.raw, data, finalize::<T>, ptr::null_mut(), &mut out)
        };
        if status != NAPI_OK {
            drop(unsafe { Box::from_raw(data.cast::<T>()) });
            return Err(self.range_error("could not allocate the native object"));
        }
        unsafe { napi_type_tag_object(self.raw, out, tag) };
        Ok(out)
    }

    /// The value inside an external made by [`Env::external`] with the same `tag`.
    pub(crate) fn unwrap<'a, T>(
        &self,
        value: napi_value,
        tag: &napi_type_tag,
        what: &str,
    ) -> Result<&'a mut T, Thrown> {
        // Checking the kind first: the tag check throws its own vaguer error on primitives.
        let mut kind = -1;
        let external =
            unsafe { napi_typeof(self.raw, value, &mut kind) } == NAPI_OK && kind == NAPI_EXTERNAL;
        let mut ok = false;
        let checked = if external {
            unsafe { napi_check_object_type_tag(self.raw, value, tag, &mut ok) }
        } else {
            NAPI_OK
        };
        let mut data = ptr::null_mut();
        if checked != NAPI_OK
            || !ok
            || unsafe { napi_get_value_external(self.raw, value, &mut data) } != NAPI_OK
            || data.is_null()
        {
            return Err(self.type_error(&format!("the first argument must be {what}")));
        }
        // JavaScript is single-threaded and no binding calls back into JavaScript, so this
        // is the only reference for the duration of the call.
        Ok(unsafe { &mut *data.cast::<T>() })
    }
}

fn panic_text(payload: &Box<dyn Any + Send>) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

fn throw(env: napi_env, thrown: Thrown) -> napi_value {
    let mut pending = false;
    unsafe { napi_is_exception_pending(env, &mut pending) };
    if !pending {
        let (range, text) = match thrown {
            Thrown::Type(t) => (false, t),
            Thrown::Range(t) => (true, t),
        };
        let msg = CString::new(text.replace('\0', " ")).unwrap_or_default();
        unsafe {
            if range {
                napi_throw_range_error(env, ptr::null(), msg.as_ptr());
            } else {
                napi_throw_type_error(env, ptr::null(), msg.as_ptr());
            }
        }
    }
    ptr::null_mut()
}

/// Runs one binding: reads up to `N` arguments (missing ones are `undefined`), calls
/// `body`, turns its error or panic into a JavaScript exception.
pub(crate) fn call<const N: usize>(
    raw: napi_env,
    info: napi_callback_info,
    name: &'static str,
    body: fn(Env, [napi_value; N]) -> JsResult,
) -> napi_value {
    let env = Env { raw, name };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut argc = N;
        let mut argv = [ptr::null_mut(); N];
        let status = unsafe {
            napi_get_cb_info(
                raw,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if status != NAPI_OK {
            return Err(env.type_error("could not read the arguments"));
        }
        if argc < N {
            let mut undef = ptr::null_mut();
            unsafe { napi_get_undefined(raw, &mut undef) };
            argv[argc..].fill(undef);
        }
        body(env, argv)
    }));
    match result {
        Ok(Ok(value)) => value,
        Ok(Err(thrown)) => throw(raw, thrown),
        Err(payload) => {
            let text = format!(
                "switchboard-native {name}: internal panic: {}",
                panic_text(&payload)
            );
            let msg = CString::new(text.replace('\0', " ")).unwrap_or_default();
            unsafe { napi_throw_error(raw, ptr::null(), msg.as_ptr()) };
            ptr::null_mut()
        }
    }
}

/// Declares `extern "C"` callbacks that forward to [`call`].
macro_rules! bindings {
    ($($js:literal => $name:ident($argc:literal) = $body:path;)*) => {
        $(
            unsafe extern "C" fn $name(env: $crate::napi::sys::napi_env, info: $crate::napi::sys::napi_callback_info) -> $crate::napi::sys::napi_value {
                $crate::napi::call::<$argc>(env, info, $js, $body)
            }
        )*
        /// The exported functions, by their JavaScript name.
        pub(crate) const EXPORTS: &[(&str, $crate::napi::sys::napi_callback)] = &[$(($js, $name)),*];
    };
}
pub(crate) use bindings;

unsafe fn register(env: napi_env, exports: napi_value, list: &[(&str, napi_callback)]) -> bool {
    for (name, cb) in list {
        let Ok(cname) = CString::new(*name) else {
            return false;
        };
        let mut func = ptr::null_mut();
        let ok = unsafe {
            napi_create_function(
                env,
                cname.as_ptr(),
                name.len(),
                *cb,
                ptr::null_mut(),
                &mut func,
            ) == NAPI_OK
                && napi_set_named_property(env, exports, cname.as_ptr(), func) == NAPI_OK
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The module initializer every Node-API runtime looks up by this exact name.
///
/// # Safety
/// Called once per environment by the runtime with a valid `env` and `exports`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    let ok = catch_unwind(|| unsafe {
        register(env, exports, bind_queue::EXPORTS) && register(env, exports, bind_limiter::EXPORTS)
    });
    if !matches!(ok, Ok(true)) {
        let msg = c"switchboard-native: could not register the module's functions";
        unsafe { napi_throw_error(env, ptr::null(), msg.as_ptr()) };
        return ptr::null_mut();
    }
    exports
}
