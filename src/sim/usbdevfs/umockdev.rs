//! libumockdev, loaded at run time with `dlopen` so that nothing flashline ships links it: the
//! Pi's build neither needs nor finds it, and only `flashline sim usb` asks for it.
//!
//! The parts of its C API used here (umockdev.h, 0.16+): a testbed (a temporary directory that
//! stands in for `/sys` and `/dev` in every process preloaded with `libumockdev-preload`), the
//! devices in it, uevents, and ioctl handlers: `UMockdevIoctlBase` objects whose `handle-ioctl`
//! signal runs in the testbed's worker thread with a `UMockdevIoctlClient` for each open file,
//! and `UMockdevIoctlData` for reading and writing the client's memory.

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

type Ptr = *mut c_void;

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
fn take_string(api: &Api, p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string from GLib, freed with g_free after copying.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    // SAFETY: allocated by GLib.
    unsafe { (api.free)(p.cast()) };
    Some(s)
}

fn cstr(s: &str) -> CString {
    // Paths and attribute names built here never hold NUL; one that did would be cut there.
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

fn take_error(api: &Api, err: Ptr) -> String {
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

/// One umockdev testbed. Only one thread changes it (the bus thread); umockdev's own worker
/// thread serves the ioctl handlers.
pub struct Testbed {
    api: &'static Api,
    raw: Ptr,
    root: String,
}

// SAFETY: the testbed is only changed from the bus thread that owns it; umockdev synchronises
// its listener table itself.
unsafe impl Send for Testbed {}

impl Testbed {
    /// Creates the testbed; umockdev sets `$UMOCKDEV_DIR` in this process's environment, so
    /// programs started afterwards (preloaded) see it.
    pub fn new() -> Result<Testbed, UmockdevError> {
        let api = api()?;
        // SAFETY: plain constructor.
        let raw = unsafe { (api.testbed_new)() };
        if raw.is_null() {
            return Err(UmockdevError::Call("umockdev_testbed_new failed".into()));
        }
        // SAFETY: valid testbed.
        let root = take_string(api, unsafe { (api.get_root_dir)(raw) })
            .ok_or_else(|| UmockdevError::Call("no root dir".into()))?;
        Ok(Testbed { api, raw, root })
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// Whether this process runs with the preload (so umockdev's own uevent sender and its
    /// parent checks see the testbed's `/sys`).
    pub fn in_mock_environment(&self) -> bool {
        // SAFETY: reads the environment.
        unsafe { (self.api.in_mock_environment)() != 0 }
    }

    /// Adds a device (`/sys/devices/<name>`, or under `parent`) with attributes and udev
    /// properties; returns its sysfs path. No uevent: see `uevent`.
    pub fn add_device(
        &self,
        subsystem: &str,
        name: &str,
        parent: Option<&str>,
        attributes: &[(&str, String)],
        properties: &[(&str, String)],
    ) -> Result<String, UmockdevError> {
        let list = |pairs: &[(&str, String)]| -> Vec<CString> {
            pairs.iter().flat_map(|(k, v)| [cstr(k), cstr(v)]).collect()
        };
        let attrs = list(attributes);
        let props = list(properties);
        let nul_terminated = |v: &[CString]| -> Vec<*const c_char> {
            v.iter()
                .map(|c| c.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        let attr_ptrs = nul_terminated(&attrs);
        let prop_ptrs = nul_terminated(&props);
        let subsystem = cstr(subsystem);
        let name = cstr(name);
        let parent = parent.map(cstr);
        // SAFETY: NUL-terminated string arrays that outlive the call.
        let path = unsafe {
            (self.api.add_devicev)(
                self.raw,
                subsystem.as_ptr(),
                name.as_ptr(),
                parent.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                attr_ptrs.as_ptr(),
                prop_ptrs.as_ptr(),
            )
        };
        take_string(self.api, path)
            .ok_or_else(|| UmockdevError::Call(format!("adding device {name:?}")))
    }

    pub fn set_attribute_binary(&self, devpath: &str, name: &str, value: &[u8]) {
        let (d, n) = (cstr(devpath), cstr(name));
        // SAFETY: valid strings and a buffer of the given length.
        unsafe {
            (self.api.set_attribute_binary)(
                self.raw,
                d.as_ptr(),
                n.as_ptr(),
                value.as_ptr(),
                value.len() as c_int,
            )
        }
    }

    pub fn set_attribute_link(&self, devpath: &str, name: &str, target: &str) {
        let (d, n, t) = (cstr(devpath), cstr(name), cstr(target));
        // SAFETY: valid strings.
        unsafe { (self.api.set_attribute_link)(self.raw, d.as_ptr(), n.as_ptr(), t.as_ptr()) }
    }

    pub fn remove_device(&self, syspath: &str) {
        let p = cstr(syspath);
        // SAFETY: valid string.
        unsafe { (self.api.remove_device)(self.raw, p.as_ptr()) }
    }

    /// Sends a uevent (`add`, `remove`, `change`) to every preloaded process listening.
    pub fn uevent(&self, devpath: &str, action: &str) {
        let (p, a) = (cstr(devpath), cstr(action));
        // SAFETY: valid strings.
        unsafe { (self.api.uevent)(self.raw, p.as_ptr(), a.as_ptr()) }
    }

    /// Serves ioctls (and reads and writes) on `/dev/...` `dev` with `handler`.
    pub fn attach_ioctl(&self, dev: &str, handler: &IoctlHandler) -> Result<(), UmockdevError> {
        let d = cstr(dev);
        let mut err: Ptr = std::ptr::null_mut();
        // SAFETY: valid testbed, string and handler object.
        let ok = unsafe { (self.api.attach_ioctl)(self.raw, d.as_ptr(), handler.raw, &mut err) };
        if ok == 0 {
            return Err(UmockdevError::Call(format!(
                "attach ioctl {dev}: {}",
                take_error(self.api, err)
            )));
        }
        Ok(())
    }

    pub fn detach_ioctl(&self, dev: &str) {
        let d = cstr(dev);
        let mut err: Ptr = std::ptr::null_mut();
        // SAFETY: valid testbed and string.
        if unsafe { (self.api.detach_ioctl)(self.raw, d.as_ptr(), &mut err) } == 0 {
            log::debug!("detach ioctl {dev}: {}", take_error(self.api, err));
        }
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        // Removes the temporary directory and stops umockdev's worker.
        // SAFETY: our reference.
        unsafe { (self.api.object_unref)(self.raw) }
    }
}

/// What a `handle-ioctl` callback gets: the open file and its current request. Valid only
/// inside the callback (and, once referenced with `retain`, until released).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Client(pub(crate) usize);

impl Client {
    fn ptr(self) -> Ptr {
        self.0 as Ptr
    }

    pub fn request(self) -> u32 {
        // The preload passes requests as `unsigned int` (libumockdev-preload.c, ioctl()).
        // SAFETY: a live client.
        (unsafe { (api_unchecked().client_get_request)(self.ptr()) }) as u32
    }

    pub fn devnode(self) -> String {
        // SAFETY: a live client; the string is owned by it.
        let p = unsafe { (api_unchecked().client_get_devnode)(self.ptr()) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: NUL-terminated.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// The ioctl's argument: a pointer-sized buffer holding the client's value.
    pub fn arg(self) -> IoctlArg {
        // SAFETY: a live client; the property is owned by it (not referenced for us).
        IoctlArg(unsafe { (api_unchecked().client_get_arg)(self.ptr()) })
    }

    /// The argument as the integer the client passed (`ioctl(fd, REQ, value)`).
    pub fn arg_value(self) -> u64 {
        self.arg().read_u64(0).unwrap_or(0)
    }

    /// Finishes the request: the client's `ioctl()` returns `result` with `errno`. Any
    /// thread may call it.
    pub fn complete(self, result: i64, errno: i32) {
        // SAFETY: a live client with a request in progress.
        unsafe { (api_unchecked().client_complete)(self.ptr(), result as c_long, errno) }
    }

    /// Keeps the client alive beyond the callback (for a later `complete`).
    pub fn retain(self) -> RetainedClient {
        // SAFETY: a live GObject.
        unsafe { (api_unchecked().object_ref)(self.ptr()) };
        RetainedClient(self)
    }
}

/// A client referenced by us; released on drop.
pub struct RetainedClient(Client);

// SAFETY: GObject references may move between threads; `complete` is thread-safe.
unsafe impl Send for RetainedClient {}

impl RetainedClient {
    pub fn client(&self) -> Client {
        self.0
    }
}

impl Drop for RetainedClient {
    fn drop(&mut self) {
        // SAFETY: the reference taken in `retain`.
        unsafe { (api_unchecked().object_unref)(self.0.ptr()) }
    }
}

/// The unowned argument of the current request.
#[derive(Clone, Copy)]
pub struct IoctlArg(*mut RawIoctlData);

/// The bytes of a live IoctlData.
///
/// # Safety
/// `p` is null or a live UMockdevIoctlData that outlives `'a`.
unsafe fn data_bytes<'a>(p: *mut RawIoctlData) -> &'a [u8] {
    if p.is_null() {
        return &[];
    }
    let d = &*p;
    if d.data.is_null() || d.data_len <= 0 {
        return &[];
    }
    std::slice::from_raw_parts(d.data, d.data_len as usize)
}

impl IoctlArg {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the argument lives while its request is in progress.
        unsafe { data_bytes(self.0) }
    }

    pub fn read_u64(&self, at: usize) -> Option<u64> {
        let b = self.bytes().get(at..at + 8)?;
        Some(u64::from_ne_bytes(b.try_into().ok()?))
    }

    /// Reads the client's memory the pointer at `offset` points to (`len` bytes): a new,
    /// referenced block whose changes go back to the client when the request completes.
    pub fn resolve(&self, offset: usize, len: usize) -> Option<IoctlData> {
        resolve(self.0, offset, len)
    }
}

fn resolve(data: *mut RawIoctlData, offset: usize, len: usize) -> Option<IoctlData> {
    if data.is_null() || len == 0 {
        return None;
    }
    let mut err: Ptr = std::ptr::null_mut();
    // SAFETY: a live IoctlData; umockdev checks the offset against its length.
    let child = unsafe { (api_unchecked().data_resolve)(data, offset, len, &mut err) };
    if child.is_null() {
        if !err.is_null() {
            log::debug!("resolve: {}", take_error(api_unchecked(), err));
        }
        return None;
    }
    Some(IoctlData(child))
}

/// A block of client memory, referenced by us (umockdev_ioctl_data_resolve returns a new
/// reference); released on drop.
pub struct IoctlData(*mut RawIoctlData);

// SAFETY: only touched from umockdev's worker thread; references may be dropped anywhere.
unsafe impl Send for IoctlData {}

impl IoctlData {
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: we hold a reference to it.
        unsafe { data_bytes(self.0) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as `bytes`, and we hold the only Rust view of it.
        unsafe {
            let d = &*self.0;
            if d.data.is_null() || d.data_len <= 0 {
                return &mut [];
            }
            std::slice::from_raw_parts_mut(d.data, d.data_len as usize)
        }
    }

    /// The client's address of this block.
    pub fn client_addr(&self) -> u64 {
        // SAFETY: a live IoctlData.
        // `c_ulong` is 64 bits wherever this runs (x86_64, aarch64).
        #[allow(clippy::useless_conversion)]
        unsafe {
            u64::from((*self.0).client_addr)
        }
    }

    pub fn resolve(&self, offset: usize, len: usize) -> Option<IoctlData> {
        resolve(self.0, offset, len)
    }

    /// Makes the pointer at `offset` (in the client) point to `child`'s client memory when
    /// the request completes: how a reaped URB's address reaches the caller.
    pub fn set_ptr(&self, offset: usize, child: &IoctlData) -> bool {
        // SAFETY: live IoctlData objects; umockdev keeps its own reference to `child`.
        unsafe { (api_unchecked().data_set_ptr)(self.0, offset, child.0) != 0 }
    }
}

impl Drop for IoctlData {
    fn drop(&mut self) {
        // SAFETY: our reference from resolve.
        unsafe { (api_unchecked().object_unref)(self.0.cast()) }
    }
}

/// The loaded API where it must already be loaded (a client exists only then).
fn api_unchecked() -> &'static Api {
    match API.get() {
        Some(Ok(api)) => api,
        // Clients and data only exist after `api()` succeeded.
        _ => unreachable!("umockdev used before it was loaded"),
    }
}

/// What an ioctl handler does with each request of its devices' clients.
pub trait IoctlService: Send + Sync + 'static {
    /// Returns false to leave the request to umockdev (which then runs the real ioctl on the
    /// file, if there is one).
    fn ioctl(&self, client: Client) -> bool;
    /// A process opened one of the handler's device nodes.
    fn connected(&self, _client: Client) {}
    /// That file was closed (the client object is gone: only its id is left).
    fn closed(&self, _client: usize) {}
}

/// A `UMockdevIoctlBase` serving its requests with an `IoctlService`.
pub struct IoctlHandler {
    raw: Ptr,
}

// SAFETY: a GObject whose signals run in umockdev's worker thread.
unsafe impl Send for IoctlHandler {}
unsafe impl Sync for IoctlHandler {}

type ServiceBox = Box<dyn IoctlService>;

unsafe extern "C" fn on_ioctl(_base: Ptr, client: Ptr, data: Ptr) -> c_int {
    let service = &*(data as *const ServiceBox);
    // A panic must not unwind into C: the request is then left unanswered, which kills the
    // client with an error rather than us.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        service.ioctl(Client(client as usize))
    }))
    .map(c_int::from)
    .unwrap_or(0)
}

unsafe extern "C" fn on_connected(_base: Ptr, client: Ptr, data: Ptr) {
    let api = api_unchecked();
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let service = &*(data as *const ServiceBox);
        service.connected(Client(client as usize));
    }));
    // umockdev drops the client when its file closes (the stream ends; 0.17 emits no
    // "notify::connected" for it): hear of that as the object goes.
    (api.object_weak_ref)(client, on_client_gone as *const () as Ptr, data);
}

unsafe extern "C" fn on_client_gone(data: Ptr, client: Ptr) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let service = &*(data as *const ServiceBox);
        service.closed(client as usize);
    }));
}

impl IoctlHandler {
    /// A handler for `service`. Handlers live as long as the process (the testbed's clients
    /// may outlive any one device), so the service is never freed.
    pub fn new(service: Box<dyn IoctlService>) -> Result<IoctlHandler, UmockdevError> {
        let api = api()?;
        // SAFETY: plain constructor.
        let raw = unsafe { (api.ioctl_base_new)() };
        if raw.is_null() {
            return Err(UmockdevError::Call("umockdev_ioctl_base_new failed".into()));
        }
        let data = Box::into_raw(Box::new(service)) as Ptr;
        let connect = |signal: &CStr, f: Ptr| {
            // SAFETY: a live object, a callback of the signal's C signature, and data that
            // lives forever.
            unsafe {
                (api.signal_connect_data)(raw, signal.as_ptr(), f, data, std::ptr::null_mut(), 0)
            }
        };
        connect(c"handle-ioctl", on_ioctl as *const () as Ptr);
        connect(c"client-connected", on_connected as *const () as Ptr);
        Ok(IoctlHandler { raw })
    }
}

/// Runs closures on umockdev's worker thread (where all client memory is touched), from any
/// thread. Captured from inside a handler callback, which runs there.
#[derive(Clone, Copy)]
pub struct IoctlThread(usize);

// SAFETY: a referenced GMainContext; g_main_context_invoke is thread-safe.
unsafe impl Send for IoctlThread {}
unsafe impl Sync for IoctlThread {}

type Job = Box<dyn FnOnce() + Send>;

unsafe extern "C" fn run_job(data: Ptr) -> c_int {
    let job = Box::from_raw(data as *mut Job);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    0 // G_SOURCE_REMOVE
}

impl IoctlThread {
    /// The calling thread's main context: call from a handler callback (umockdev's worker
    /// pushes its own context as the thread default there).
    pub fn current() -> Option<IoctlThread> {
        let api = api_unchecked();
        // SAFETY: plain GLib call.
        let ctx = unsafe { (api.main_context_get_thread_default)() };
        if ctx.is_null() {
            return None;
        }
        // SAFETY: the extra reference keeps the context alive for the process.
        unsafe { (api.main_context_ref)(ctx) };
        Some(IoctlThread(ctx as usize))
    }

    pub fn run(&self, job: impl FnOnce() + Send + 'static) {
        let boxed: Box<Job> = Box::new(Box::new(job));
        // SAFETY: `run_job` takes back the box exactly once.
        unsafe {
            (api_unchecked().main_context_invoke)(
                self.0 as Ptr,
                run_job as *const () as Ptr,
                Box::into_raw(boxed) as Ptr,
            )
        }
    }
}
