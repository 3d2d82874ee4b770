//! libumockdev, loaded at run time with `dlopen` so that nothing flashline ships links it: the
//! Pi's build neither needs nor finds it, and only `flashline sim usb` asks for it.
//!
//! The parts of its C API used here (umockdev.h, 0.16+): a testbed (a temporary directory that
//! stands in for `/sys` and `/dev` in every process preloaded with `libumockdev-preload`), the
//! devices in it, uevents, and ioctl handlers: `UMockdevIoctlBase` objects whose `handle-ioctl`
//! signal runs in the testbed's worker thread with a `UMockdevIoctlClient` for each open file,
//! and `UMockdevIoctlData` for reading and writing the client's memory.

mod client;
mod handler;
mod testbed;

pub use client::{Client, IoctlArg, IoctlData, RetainedClient};
pub use handler::{IoctlHandler, IoctlService, IoctlThread};
pub use testbed::Testbed;

use std::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void, CStr, CString};
use std::sync::OnceLock;

/// The library and the preload, and the Debian packages they come in.
pub const LIBRARY: &str = "libumockdev.so.0";
pub const PRELOAD: &str = "libumockdev-preload.so.0";
pub const INSTALL_HINT: &str =
    "install umockdev (Debian: `apt install umockdev`, which brings libumockdev0)";

#[derive(Debug, thiserror::Error)]
pub enum UmockdevError {
    #[error("{LIBRARY} not found ({0}): {INSTALL_HINT}")]
    Missing(String),
    #[error("{LIBRARY} has no symbol {0} (umockdev 0.16 or newer is needed)")]
    Symbol(&'static str),
    #[error("umockdev: {0}")]
    Call(String),
}

/// The public head of every GObject (`GTypeInstance`, ref count, qdata).
#[repr(C)]
struct GObjectHead {
    g_type_instance: *mut c_void,
    ref_count: c_uint,
    qdata: *mut c_void,
}

/// `struct _UMockdevIoctlData` (umockdev.h): its public fields.
#[repr(C)]
pub struct RawIoctlData {
    head: GObjectHead,
    pub data: *mut u8,
    pub data_len: c_int,
    pub client_addr: c_ulong,
    private: *mut c_void,
}

pub(crate) type Ptr = *mut c_void;

/// Every function used, resolved once.
#[allow(clippy::type_complexity)]
pub struct Api {
    pub testbed_new: unsafe extern "C" fn() -> Ptr,
    pub get_root_dir: unsafe extern "C" fn(Ptr) -> *mut c_char,
    pub add_devicev: unsafe extern "C" fn(
        Ptr,
        *const c_char,
        *const c_char,
        *const c_char,
        *const *const c_char,
        *const *const c_char,
    ) -> *mut c_char,
    pub set_attribute_binary:
        unsafe extern "C" fn(Ptr, *const c_char, *const c_char, *const u8, c_int),
    pub set_attribute_link: unsafe extern "C" fn(Ptr, *const c_char, *const c_char, *const c_char),
    pub remove_device: unsafe extern "C" fn(Ptr, *const c_char),
    pub uevent: unsafe extern "C" fn(Ptr, *const c_char, *const c_char),
    pub attach_ioctl: unsafe extern "C" fn(Ptr, *const c_char, Ptr, *mut Ptr) -> c_int,
    pub detach_ioctl: unsafe extern "C" fn(Ptr, *const c_char, *mut Ptr) -> c_int,
    pub in_mock_environment: unsafe extern "C" fn() -> c_int,
    pub ioctl_base_new: unsafe extern "C" fn() -> Ptr,
    pub client_get_request: unsafe extern "C" fn(Ptr) -> c_ulong,
    pub client_get_arg: unsafe extern "C" fn(Ptr) -> *mut RawIoctlData,
    pub client_get_devnode: unsafe extern "C" fn(Ptr) -> *const c_char,
    pub client_complete: unsafe extern "C" fn(Ptr, c_long, c_int),
    pub data_resolve:
        unsafe extern "C" fn(*mut RawIoctlData, usize, usize, *mut Ptr) -> *mut RawIoctlData,
    pub data_set_ptr: unsafe extern "C" fn(*mut RawIoctlData, usize, *mut RawIoctlData) -> c_int,
    pub signal_connect_data:
        unsafe extern "C" fn(Ptr, *const c_char, Ptr, Ptr, Ptr, c_int) -> c_ulong,
    pub object_ref: unsafe extern "C" fn(Ptr) -> Ptr,
    pub object_unref: unsafe extern "C" fn(Ptr),
    pub object_weak_ref: unsafe extern "C" fn(Ptr, Ptr, Ptr),
    pub free: unsafe extern "C" fn(Ptr),
    pub error_free: unsafe extern "C" fn(Ptr),
    pub main_context_get_thread_default: unsafe extern "C" fn() -> Ptr,
    pub main_context_ref: unsafe extern "C" fn(Ptr) -> Ptr,
    pub main_context_invoke: unsafe extern "C" fn(Ptr, Ptr, Ptr),
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

/// The loaded library, or why it could not be loaded.
pub fn api() -> Result<&'static Api, UmockdevError> {
    API.get_or_init(load)
        .as_ref()
        .map_err(|e| UmockdevError::Missing(e.clone()))
}

fn dlerror() -> String {
    // SAFETY: dlerror returns a thread-local C string or null.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: non-null, NUL-terminated.
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

fn open(name: &str) -> Result<Ptr, String> {
    let c = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: a plain dlopen of a shared library by name.
    let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(dlerror());
    }
    Ok(handle)
}

/// A symbol's address as the function pointer type `F` it has.
///
/// # Safety
/// `F` is a function pointer type matching the symbol's C signature.
unsafe fn as_fn<F: Copy>(p: *mut c_void) -> F {
    debug_assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    std::mem::transmute_copy(&p)
}

fn load() -> Result<Api, String> {
    let umockdev = open(LIBRARY)?;
    // GLib and GObject come in with libumockdev; opening them by name finds those copies.
    let gobject = open("libgobject-2.0.so.0")?;
    let glib = open("libglib-2.0.so.0")?;
    macro_rules! sym {
        ($lib:expr, $name:literal) => {{
            let c = concat!($name, "\0");
            // SAFETY: dlsym on a handle from dlopen; the symbol's C type is the field's type
            // (umockdev.h, gobject/gsignal.h, glib/gmem.h), checked by the transmute's target.
            let p = unsafe { libc::dlsym($lib, c.as_ptr().cast()) };
            if p.is_null() {
                return Err(UmockdevError::Symbol($name).to_string());
            }
            // SAFETY: see above.
            unsafe { as_fn(p) }
        }};
    }
    Ok(Api {
        testbed_new: sym!(umockdev, "umockdev_testbed_new"),
        get_root_dir: sym!(umockdev, "umockdev_testbed_get_root_dir"),
        add_devicev: sym!(umockdev, "umockdev_testbed_add_devicev"),
        set_attribute_binary: sym!(umockdev, "umockdev_testbed_set_attribute_binary"),
        set_attribute_link: sym!(umockdev, "umockdev_testbed_set_attribute_link"),
        remove_device: sym!(umockdev, "umockdev_testbed_remove_device"),
        uevent: sym!(umockdev, "umockdev_testbed_uevent"),
        attach_ioctl: sym!(umockdev, "umockdev_testbed_attach_ioctl"),
        detach_ioctl: sym!(umockdev, "umockdev_testbed_detach_ioctl"),
        in_mock_environment: sym!(umockdev, "umockdev_in_mock_environment"),
        ioctl_base_new: sym!(umockdev, "umockdev_ioctl_base_new"),
        client_get_request: sym!(umockdev, "umockdev_ioctl_client_get_request"),
        client_get_arg: sym!(umockdev, "umockdev_ioctl_client_get_arg"),
        client_get_devnode: sym!(umockdev, "umockdev_ioctl_client_get_devnode"),
        client_complete: sym!(umockdev, "umockdev_ioctl_client_complete"),
        data_resolve: sym!(umockdev, "umockdev_ioctl_data_resolve"),
        data_set_ptr: sym!(umockdev, "umockdev_ioctl_data_set_ptr"),
        signal_connect_data: sym!(gobject, "g_signal_connect_data"),
        object_ref: sym!(gobject, "g_object_ref"),
        object_unref: sym!(gobject, "g_object_unref"),
        object_weak_ref: sym!(gobject, "g_object_weak_ref"),
        free: sym!(glib, "g_free"),
        error_free: sym!(glib, "g_error_free"),
        main_context_get_thread_default: sym!(glib, "g_main_context_get_thread_default"),
        main_context_ref: sym!(glib, "g_main_context_ref"),
        main_context_invoke: sym!(glib, "g_main_context_invoke"),
    })
}

/// Takes a `gchar*` the callee allocated.
pub(crate) fn take_string(api: &Api, p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string from GLib, freed with g_free after copying.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    // SAFETY: allocated by GLib.
    unsafe { (api.free)(p.cast()) };
    Some(s)
}

pub(crate) fn cstr(s: &str) -> CString {
    // Paths and attribute names built here never hold NUL; one that did would be cut there.
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

pub(crate) fn take_error(api: &Api, err: Ptr) -> String {
    if err.is_null() {
        return "failed".into();
    }
    #[repr(C)]
    struct GError {
        domain: u32,
        code: c_int,
        message: *const c_char,
    }
    // SAFETY: a GError set by the callee.
    let message = unsafe {
        let e = &*(err as *const GError);
        if e.message.is_null() {
            "failed".into()
        } else {
            CStr::from_ptr(e.message).to_string_lossy().into_owned()
        }
    };
    // SAFETY: owned by us now.
    unsafe { (api.error_free)(err) };
    message
}

/// The loaded API where it must already be loaded (a client exists only then).
pub(crate) fn api_unchecked() -> &'static Api {
    match API.get() {
        Some(Ok(api)) => api,
        // Clients and data only exist after `api()` succeeded.
        _ => unreachable!("umockdev used before it was loaded"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_said_with_the_package_to_install() {
        let why = open("libflashline-no-such-library.so.0").unwrap_err();
        assert!(why.contains("libflashline-no-such-library"), "{why}");
        let e = UmockdevError::Missing(why).to_string();
        assert!(
            e.contains(LIBRARY) && e.contains("apt install umockdev"),
            "{e}"
        );
    }
}
