//! What an ioctl handler works with: the client (an open file of an emulated node), its
//! request's argument, and blocks of the client's memory.

use std::ffi::{c_long, CStr};

use super::{api_unchecked, take_error, Ptr, RawIoctlData};

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
