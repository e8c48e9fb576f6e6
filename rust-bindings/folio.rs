// SPDX-License-Identifier: GPL-2.0

//! Folios of a file's page cache: referenced ([`Folio`], held through
//! [`ARef`]) and locked ([`LockedFolio`]).
//!
//! C headers: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h),
//! [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/highmem.h`](srctree/include/linux/highmem.h).

use super::ffi_ext;
use core::{ops::Deref, ptr::NonNull};
use kernel::{
    bindings,
    page::PAGE_SIZE,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};

/// A folio in the page cache of a file: a power-of-two run of pages, at a
/// page index aligned to its size.
///
/// A `Folio` is only ever seen behind a reference that keeps it alive: an
/// [`ARef<Folio>`], which holds a folio reference (`folio_get`/`folio_put`),
/// or a `&Folio` borrowed from a [`LockedFolio`]. What it offers is what a
/// referenced but unlocked folio allows: its place in the file, its size,
/// its flags, and the contents of an uptodate folio. Anything that changes
/// the folio needs the lock, so it lives on [`LockedFolio`].
///
/// # Invariants
///
/// The wrapped folio is valid for as long as the `&Folio` (or the `ARef`) is.
#[repr(transparent)]
pub(crate) struct Folio(Opaque<bindings::folio>);

// SAFETY: folio references are atomic and may be taken and dropped from any
// context; `folio_put` frees the folio when the last one goes.
unsafe impl AlwaysRefCounted for Folio {
    fn inc_ref(&self) {
        // SAFETY: the folio is valid (type invariant), so its refcount is
        // positive and may be raised.
        unsafe { ffi_ext::rmpage_folio_get(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up a reference it holds.
        unsafe { ffi_ext::rmpage_folio_put(obj.as_ptr().cast()) };
    }
}

// SAFETY: nothing in `Folio` is tied to a thread: its accessors read flags
// and fields that the kernel updates atomically or under the folio lock.
unsafe impl Send for Folio {}
// SAFETY: as above; `&Folio` only reads.
unsafe impl Sync for Folio {}

impl Folio {
    /// # Safety
    ///
    /// `ptr` points to a folio that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::folio) -> &'a Self {
        // SAFETY: transparent wrapper; validity is the caller's guarantee.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::folio {
        self.0.get()
    }

    /// Index of the folio's first page in the file, in `PAGE_SIZE` units.
    pub(crate) fn index(&self) -> u64 {
        // SAFETY: valid folio (type invariant); a folio's index does not
        // change while it is in the page cache.
        unsafe { ffi_ext::rmpage_folio_index(self.as_ptr()) }
    }

    /// Byte offset of the folio's first byte in the file.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: valid folio (type invariant).
        let pos = unsafe { ffi_ext::rmpage_folio_pos(self.as_ptr()) };
        // A page cache position is never negative.
        pos as u64
    }

    /// Size of the folio in bytes (a power of two, at least `PAGE_SIZE`).
    pub(crate) fn size(&self) -> usize {
        // SAFETY: valid folio (type invariant); the size is fixed while the
        // folio is referenced.
        unsafe { ffi_ext::rmpage_folio_size(self.as_ptr()) }
    }

    /// Whether the folio's contents are valid (`PG_uptodate`). Once set on
    /// a folio of a read-only file it stays set.
    pub(crate) fn is_uptodate(&self) -> bool {
        // SAFETY: valid folio (type invariant); the flag is read atomically.
        unsafe { ffi_ext::rmpage_folio_test_uptodate(self.as_ptr()) }
    }

    /// Whether somebody holds the folio lock (`PG_locked`). Without the lock
    /// this is only a snapshot: a read in flight unlocks it at completion.
    pub(crate) fn is_locked(&self) -> bool {
        // SAFETY: valid folio (type invariant); the flag is read atomically.
        unsafe { ffi_ext::rmpage_folio_test_locked(self.as_ptr()) }
    }

    /// Calls `f` with the bytes of page `n` of an uptodate folio of a file
    /// on a read-only super_block, mapped into the kernel's address space
    /// for the call (`kmap_local_folio`).
    ///
    /// Only such a folio can be read without its lock: its bytes are the
    /// file's and nobody writes them. Fails with `EIO` if the folio is not
    /// uptodate (its bytes are not file contents), and with `EINVAL` if it
    /// has no page `n` or its file can be written. The mapping is local to
    /// the call, so mappings nest and unmap in order, as `kunmap_local`
    /// requires.
    pub(crate) fn with_page<R>(&self, n: usize, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        if !self.is_uptodate() {
            return Err(EIO);
        }
        let offset = n.checked_mul(PAGE_SIZE).ok_or(EINVAL)?;
        if offset >= self.size() {
            return Err(EINVAL);
        }
        // SAFETY: valid folio (type invariant); the helper reads its mapping
        // once and checks it before following it.
        if !unsafe { ffi_ext::rmpage_folio_read_only(self.as_ptr()) } {
            return Err(EINVAL);
        }
        // SAFETY: the folio is valid and `offset` lies inside it.
        let addr = unsafe { ffi_ext::rmpage_kmap_local_folio(self.as_ptr(), offset) };
        // SAFETY: `addr` maps the `PAGE_SIZE` bytes of page `n` until the
        // kunmap below. The folio is uptodate, and nothing in this crate
        // writes an uptodate folio (`LockedFolio`). Its file is on a
        // read-only super_block (checked above), which stays read-only: the
        // filesystems built on these abstractions refuse read-write remounts
        // (`Tables::reconfigure`), so no write path touches it either. So
        // nothing writes these bytes while we read them.
        let bytes = unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), PAGE_SIZE) };
        let r = f(bytes);
        // SAFETY: `addr` came from kmap_local_folio above, and every mapping
        // made inside `f` was undone before it returned.
        unsafe { ffi_ext::rmpage_kunmap_local(addr) };
        Ok(r)
    }
}

/// A folio of a file's page cache that the caller holds locked.
///
/// `read_folio` and readahead receive their folios locked and must unlock each
/// of them exactly once, when its contents are known (read, zeroed, or
/// failed). Owning a `LockedFolio` is owning that duty: every way out of this
/// type ([`LockedFolio::unlock`], [`LockedFolio::end_read`], handing it to a
/// bio or to the buffer_head path) consumes it, and nothing may touch the folio
/// after that. It is deliberately neither `Clone` nor `Copy`. It derefs to
/// [`Folio`] for what any referenced folio offers; [`LockedFolio::get`] takes
/// a reference that outlives the lock. Nothing writes the bytes of a folio
/// that is already uptodate (zeroing, or a bio reading into it): readers of
/// uptodate folios do not take the lock.
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

impl Deref for LockedFolio {
    type Target = Folio;

    fn deref(&self) -> &Folio {
        // SAFETY: the folio stays valid while locked, and the borrow cannot
        // outlive `self`, which holds the lock (type invariant).
        unsafe { Folio::from_raw(self.0.as_ptr()) }
    }
}

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

    /// A reference to the folio that stays valid after the lock is given
    /// up: for looking at the folio once a read it was handed to has
    /// started (or already ended).
    pub(crate) fn get(&self) -> ARef<Folio> {
        ARef::from(&**self)
    }

    /// Whether the folio carries buffer_heads.
    pub(crate) fn has_buffers(&self) -> bool {
        // SAFETY: valid and locked, so its private data is stable.
        unsafe { ffi_ext::rmpage_folio_has_buffers(self.as_ptr()) }
    }

    /// Zeroes bytes `start..end` of the folio.
    ///
    /// The range is clamped to the folio, so a caller cannot write outside it.
    /// An uptodate folio is left alone: its bytes are the file's, and
    /// [`Folio::with_page`] lets others read them without the lock.
    pub(crate) fn zero_range(&mut self, start: usize, end: usize) {
        let size = self.size();
        let end = end.min(size);
        if start >= end || self.is_uptodate() {
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
