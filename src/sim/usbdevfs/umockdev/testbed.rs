//! The testbed: the temporary directory umockdev's preload puts in place of `/sys` and
//! `/dev`, its devices, uevents and attached ioctl handlers.

use std::ffi::{c_char, c_int, CString};

use super::{api, cstr, take_error, take_string, Api, IoctlHandler, Ptr, UmockdevError};

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
