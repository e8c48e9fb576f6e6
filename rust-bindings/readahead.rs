// SPDX-License-Identifier: GPL-2.0

//! Readahead requests.
//!
//! C header: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h).

use super::{ffi_ext, folio::ReadFolio};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::bindings;

/// A readahead request: a run of locked folios, newly added to the page cache,
/// that the filesystem should start reading.
///
/// Folios not taken with [`Readahead::next_folio`] when the request ends are
/// unlocked by the page cache itself and read later through `read_folio` if
/// needed, so stopping early is always allowed.
///
/// # Invariants
///
/// `self.0` points to the `readahead_control` of a `->readahead` call in
/// progress, for `'a`.
pub(crate) struct Readahead<'a>(
    NonNull<bindings::readahead_control>,
    PhantomData<&'a mut ()>,
);

impl<'a> Readahead<'a> {
    /// # Safety
    ///
    /// `rac` is the argument of a `->readahead` call that lasts for `'a`.
    pub(crate) unsafe fn from_raw(rac: *mut bindings::readahead_control) -> Self {
        Self(
            NonNull::new(rac).expect("readahead_control is never NULL"),
            PhantomData,
        )
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::readahead_control {
        self.0.as_ptr()
    }

    /// Takes the next folio of the request, locked. Its unlocking is now ours.
    pub(crate) fn next_folio(&mut self) -> Option<ReadFolio> {
        // SAFETY: the request is in progress (type invariant).
        let folio = unsafe { ffi_ext::rmpage_readahead_folio(self.as_ptr()) };
        if folio.is_null() {
            return None;
        }
        // SAFETY: readahead_folio returns a locked folio whose unlocking
        // passes to the filesystem; the page cache keeps it while locked.
        Some(unsafe { ReadFolio::from_raw(folio) })
    }

    /// Pages left in the request, counting the folio last returned by
    /// [`Readahead::next_folio`].
    pub(crate) fn pages_left(&self) -> usize {
        // SAFETY: the request is in progress (type invariant).
        unsafe { ffi_ext::rmpage_readahead_count(self.as_ptr()) as usize }
    }
}
