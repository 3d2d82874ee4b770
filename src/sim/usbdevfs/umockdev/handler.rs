//! Ioctl handlers: a `UMockdevIoctlBase` whose signals (in umockdev's worker thread) call an
//! `IoctlService`, and a way to run work on that thread from any other.

use std::ffi::{c_int, CStr};

use super::{api, api_unchecked, Client, Ptr, UmockdevError};

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
    pub(super) raw: Ptr,
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
