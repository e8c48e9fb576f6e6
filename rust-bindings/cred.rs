// SPDX-License-Identifier: GPL-2.0

//! What a filesystem asks of the calling task's credentials.
//!
//! C headers: [`include/linux/cred.h`](srctree/include/linux/cred.h),
//! [`include/linux/capability.h`](srctree/include/linux/capability.h).

use super::ffi_ext;

/// Whether the calling task may allocate the blocks a filesystem keeps in
/// reserve: it has `CAP_SYS_RESOURCE`, its fsuid is `resuid`, or it is in
/// group `resgid` (group 0 names nobody). As in fs/ext2's
/// ext2_has_free_blocks, the capability is asked first (asking it is
/// audited and marks the task as having used privilege), so callers ask
/// only once the reserve is all that is left.
pub(crate) fn may_use_reserved_blocks(resuid: u32, resgid: u32) -> bool {
    // SAFETY: reads the current task's credentials, which are valid while
    // it runs; no pointer is involved.
    unsafe { ffi_ext::rmpage_may_use_reserved_blocks(resuid, resgid) }
}
