// SPDX-License-Identifier: GPL-2.0

//! The module's debugfs directory (`/sys/kernel/debug/rext2/`), under which
//! each mount puts a directory of its own.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h).

use core::pin::Pin;
use kernel::{debugfs::Dir, str::CStr};

kernel::sync::global_lock! {
    // SAFETY: initialised by `Root::new`, called once from module init,
    // before any mount can look it up.
    unsafe(uninit) static ROOT: Mutex<Option<Dir>> = None;
}

/// The module's debugfs root; removed when dropped (at module exit, after
/// every mount has gone, since mounts pin the module).
pub(crate) struct Root(());

impl Root {
    /// Creates `/sys/kernel/debug/<name>/`. Call once, from module init.
    pub(crate) fn new(name: &CStr) -> Self {
        // SAFETY: module init runs once per load, before any user of ROOT.
        unsafe { ROOT.init() };
        *ROOT.lock() = Some(Dir::new(name));
        Self(())
    }

    /// A directory `name` under the root, for one mount. Without debugfs
    /// (or if the root could not be made) the directory is inert.
    pub(crate) fn subdir(name: &CStr) -> Option<Dir> {
        ROOT.lock().as_ref().map(|root| root.subdir(name))
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        *ROOT.lock() = None;
    }
}
