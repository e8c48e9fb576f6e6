// SPDX-License-Identifier: GPL-2.0

//! Writeback of a file's dirty folios: the `writeback_iter` walk, and the
//! block plug that batches the bios it builds.
//!
//! C headers: [`include/linux/writeback.h`](srctree/include/linux/writeback.h),
//! [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h).

use super::folio::WritebackFolio;
use core::{marker::PhantomData, mem::MaybeUninit, ptr::NonNull};
use kernel::{bindings, error::Error, prelude::*};

/// A `->writepages` call in progress: the dirty folios of one mapping that
/// writeback asks the filesystem to write, handed out one at a time, locked
/// and with their dirty bit cleared for the write ([`WritebackFolio`]).
///
/// `writeback_iter`'s error protocol is carried here: each folio's outcome
/// is reported with the next request ([`Writeback::next_folio`]). A
/// data-integrity walk (`WB_SYNC_ALL`) goes on through errors and returns the
/// first at the end; background writeback stops at the first error or when
/// `nr_to_write` runs out.
///
/// # Invariants
///
/// `mapping` and `wbc` are the arguments of a `->writepages` call that lasts
/// for `'a`. `folio` is the last folio `writeback_iter` returned (NULL before
/// the first call): the walk's folio batch still holds a reference on it.
pub(crate) struct Writeback<'a> {
    mapping: NonNull<bindings::address_space>,
    wbc: NonNull<bindings::writeback_control>,
    folio: *mut bindings::folio,
    error: c_int,
    done: bool,
    _call: PhantomData<&'a mut ()>,
}

impl<'a> Writeback<'a> {
    /// # Safety
    ///
    /// `mapping` and `wbc` are the arguments of a `->writepages` call that
    /// lasts for `'a`.
    pub(crate) unsafe fn from_raw(
        mapping: *mut bindings::address_space,
        wbc: *mut bindings::writeback_control,
    ) -> Self {
        Self {
            mapping: NonNull::new(mapping).expect("mapping is never NULL"),
            wbc: NonNull::new(wbc).expect("writeback_control is never NULL"),
            folio: core::ptr::null_mut(),
            error: 0,
            done: false,
            _call: PhantomData,
        }
    }

    /// The walk's writeback_control, for the bios it builds.
    pub(crate) fn wbc(&self) -> Wbc<'a> {
        Wbc(self.wbc, PhantomData)
    }

    /// The next dirty folio to write, after reporting how the previous one
    /// went (`prev`; `Ok(())` before the first). `None` when the walk is over.
    pub(crate) fn next_folio(&mut self, prev: Result) -> Option<WritebackFolio> {
        if self.done {
            return None;
        }
        if !self.folio.is_null() {
            self.error = prev.err().map_or(0, |e| e.to_errno());
        }
        // SAFETY: the call is in progress (type invariant); `folio` is the
        // previous folio, still referenced by the walk's batch, or NULL.
        let folio = unsafe {
            bindings::writeback_iter(
                self.mapping.as_ptr(),
                self.wbc.as_ptr(),
                self.folio,
                &mut self.error,
            )
        };
        self.folio = folio;
        if folio.is_null() {
            self.done = true;
            return None;
        }
        // SAFETY: writeback_iter returns a locked folio that it made clean
        // for the write; `wbc` outlives the WritebackFolio, which borrows
        // nothing longer than this call.
        Some(unsafe { WritebackFolio::from_raw(folio, self.wbc) })
    }

    /// Hands the call's arguments to C code that walks them itself (the C
    /// engine), before any folio was taken.
    pub(crate) fn into_raw(
        self,
    ) -> (
        *mut bindings::address_space,
        *mut bindings::writeback_control,
    ) {
        (self.mapping.as_ptr(), self.wbc.as_ptr())
    }

    /// Ends the walk: the error `writeback_iter` kept for the caller.
    pub(crate) fn finish(mut self) -> Result {
        while let Some(folio) = self.next_folio(Ok(())) {
            // Not reached by the engine, which walks to the end: a folio
            // handed out now stays dirty for a later writeback.
            drop(folio);
        }
        if self.error < 0 {
            Err(Error::from_errno(self.error))
        } else {
            Ok(())
        }
    }
}

/// The writeback_control of a `->writepages` call, for the write bios it
/// builds (`wbc_init_bio`, the REQ_ flags it asks for).
///
/// # Invariants
///
/// `self.0` is valid for `'a`, the duration of the call.
#[derive(Clone, Copy)]
pub(crate) struct Wbc<'a>(NonNull<bindings::writeback_control>, PhantomData<&'a ()>);

impl Wbc<'_> {
    pub(crate) fn as_ptr(&self) -> *mut bindings::writeback_control {
        self.0.as_ptr()
    }
}

/// A block plug (`blk_start_plug`): bios submitted while it is held are
/// queued on the task and sent together when it is dropped, so that
/// neighbouring bios merge.
///
/// # Invariants
///
/// `plug` was started by `blk_start_plug` and is finished exactly once, on
/// drop; it is boxed, so it does not move while the task points to it.
pub(crate) struct BlockPlug {
    plug: KBox<MaybeUninit<bindings::blk_plug>>,
}

impl BlockPlug {
    /// Starts a plug on the current task; `None` if its small allocation
    /// fails (the bios are then sent one by one, which is only slower).
    pub(crate) fn start() -> Option<Self> {
        let mut plug = KBox::new(MaybeUninit::uninit(), GFP_KERNEL).ok()?;
        // SAFETY: `blk_start_plug` initialises the plug, which is boxed and
        // outlives its use by the task (finished in drop).
        unsafe { bindings::blk_start_plug(plug.as_mut_ptr()) };
        Some(Self { plug })
    }
}

impl Drop for BlockPlug {
    fn drop(&mut self) {
        // SAFETY: started in `start` and finished once, here (invariant).
        unsafe { bindings::blk_finish_plug(self.plug.as_mut_ptr()) };
    }
}
