// SPDX-License-Identifier: GPL-2.0

//! Locked folios, as the page cache hands them to a filesystem's read path.
//!
//! C headers: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h),
//! [`include/linux/mm.h`](srctree/include/linux/mm.h).

use super::ffi_ext;
use core::ptr::NonNull;
use kernel::bindings;

/// A folio of a file's page cache that the caller holds locked.
///
/// `read_folio` and readahead receive their folios locked and must unlock each
/// of them exactly once, when its contents are known (read, zeroed, or
/// failed). Owning a `LockedFolio` is owning that duty: every way out of this
/// type ([`LockedFolio::unlock`], [`LockedFolio::end_read`], handing it to a
/// bio or to the buffer_head path) consumes it, and nothing may touch the folio
/// after that. It is deliberately neither `Clone` nor `Copy`.
///
/// # Invariants
///
/// `self.0` points to a valid folio that is locked (`PG_locked`) on behalf of
/// this object. A locked folio cannot be removed from the page cache or freed,
/// so it stays valid for as long as this object exists, whether or not the
/// caller holds a reference of its own.
pub(crate) struct LockedFolio(NonNull<bindings::folio>);

// SAFETY: the folio lock may be released from any context (bio completions
// unlock folios in interrupt context), so ownership may move across threads.
unsafe impl Send for LockedFolio {}

impl LockedFolio {
    /// Takes over the duty to unlock `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` points to a valid, locked folio whose unlocking is the caller's
    /// to hand over, and nobody else will unlock it.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::folio) -> Self {
        // INVARIANT: the caller guarantees validity and the lock.
        Self(NonNull::new(ptr).expect("locked folio pointer is never NULL"))
    }

    /// Gives up the duty to unlock: the caller takes it.
    pub(crate) fn into_raw(self) -> *mut bindings::folio {
        let ptr = self.0.as_ptr();
        core::mem::forget(self);
        ptr
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::folio {
        self.0.as_ptr()
    }

    /// Byte offset of the folio's first byte in the file.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: by the type invariant the folio is valid.
        let pos = unsafe { ffi_ext::rmpage_folio_pos(self.as_ptr()) };
        // A page cache position is never negative.
        pos as u64
    }

    /// Size of the folio in bytes (a power of two, at least `PAGE_SIZE`).
    pub(crate) fn size(&self) -> usize {
        // SAFETY: by the type invariant the folio is valid.
        unsafe { ffi_ext::rmpage_folio_size(self.as_ptr()) }
    }

    /// Whether the folio carries buffer_heads.
    pub(crate) fn has_buffers(&self) -> bool {
        // SAFETY: valid and locked, so its private data is stable.
        unsafe { ffi_ext::rmpage_folio_has_buffers(self.as_ptr()) }
    }

    /// Whether the folio's contents are already valid.
    pub(crate) fn is_uptodate(&self) -> bool {
        // SAFETY: by the type invariant the folio is valid.
        unsafe { ffi_ext::rmpage_folio_test_uptodate(self.as_ptr()) }
    }

    /// Zeroes bytes `start..end` of the folio.
    ///
    /// The range is clamped to the folio, so a caller cannot write outside it.
    pub(crate) fn zero_range(&mut self, start: usize, end: usize) {
        let size = self.size();
        let end = end.min(size);
        if start >= end {
            return;
        }
        // SAFETY: the folio is valid and locked by us, and `start < end <=
        // size` keeps the write inside it.
        unsafe { ffi_ext::rmpage_folio_zero_segment(self.as_ptr(), start, end) };
    }

    /// Marks the contents valid and unlocks: the end of a read that needed no
    /// I/O (a folio made only of holes).
    pub(crate) fn finish_uptodate(self) {
        // SAFETY: valid and locked by us; marking uptodate under the lock is
        // what the page cache requires.
        unsafe { ffi_ext::rmpage_folio_mark_uptodate(self.as_ptr()) };
        self.unlock();
    }

    /// Ends a read: marks the folio uptodate if `success`, then unlocks it.
    pub(crate) fn end_read(self, success: bool) {
        let ptr = self.into_raw();
        // SAFETY: we owned the lock (type invariant) and give it up here.
        unsafe { bindings::folio_end_read(ptr, success) };
    }

    /// Unlocks the folio without changing its state.
    pub(crate) fn unlock(self) {
        let ptr = self.into_raw();
        // SAFETY: we owned the lock (type invariant) and give it up here.
        unsafe { bindings::folio_unlock(ptr) };
    }
}

impl Drop for LockedFolio {
    /// A locked folio that is dropped without an explicit end would hang every
    /// later reader of that page; fail the read instead, so that the reader
    /// gets EIO and a retry starts afresh.
    fn drop(&mut self) {
        // SAFETY: we own the lock (type invariant) and give it up here; the
        // folio is not touched again since `self` is being destroyed.
        unsafe { bindings::folio_end_read(self.0.as_ptr(), false) };
    }
}
