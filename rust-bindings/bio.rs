// SPDX-License-Identifier: GPL-2.0

//! Read bios that own the folios they carry.
//!
//! C headers: [`include/linux/bio.h`](srctree/include/linux/bio.h),
//! [`include/linux/blk_types.h`](srctree/include/linux/blk_types.h).

use super::{ffi_ext, folio::LockedFolio};
use core::{marker::PhantomData, mem::MaybeUninit, ptr::NonNull};
use kernel::{bindings, error::Error, sync::Arc};

/// A block device, borrowed from the super_block that holds it open.
///
/// # Invariants
///
/// `self.0` points to a valid, open `struct block_device` for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct BlockDevice<'a>(NonNull<bindings::block_device>, PhantomData<&'a ()>);

impl<'a> BlockDevice<'a> {
    /// # Safety
    ///
    /// `ptr` points to a block device that stays open for `'a`.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::block_device) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(
            NonNull::new(ptr).expect("block device pointer is never NULL"),
            PhantomData,
        )
    }

    /// Size of the device in bytes.
    pub(crate) fn nr_bytes(&self) -> u64 {
        // SAFETY: the device is open (type invariant).
        let n = unsafe { ffi_ext::rmpage_bdev_nr_bytes(self.0.as_ptr()) };
        n as u64
    }
}

/// What a read bio reports when it completes, in whatever context the block
/// layer completes it (often interrupt context: no sleeping, no locks that
/// are taken elsewhere without disabling interrupts).
pub(crate) trait ReadCompletion: Send + Sync + 'static {
    /// Called once per bio, before its folios are ended and unlocked, with the
    /// error if the I/O failed.
    fn read_done(&self, error: Option<Error>);
}

/// A read bio being filled with folios.
///
/// The bio owns every folio added to it: they stay locked until the bio
/// completes, and the completion ends the read on each (uptodate on success)
/// and unlocks it. A `ReadBio` that is dropped without being submitted is
/// completed with an I/O error, so its folios are still unlocked exactly once.
///
/// # Invariants
///
/// `self.bio` points to a bio we allocated and have not submitted, whose
/// `bi_end_io` is [`read_end_io::<C>`] and whose `bi_private` holds one
/// reference of an `Arc<C>` (from [`Arc::into_raw`]). Every folio in it was a
/// [`LockedFolio`] whose unlocking passed to the bio.
pub(crate) struct ReadBio<C: ReadCompletion> {
    bio: NonNull<bindings::bio>,
    folios: usize,
    bytes: usize,
    _c: PhantomData<Arc<C>>,
}

// SAFETY: an unsubmitted bio is plain memory that we own; it may be filled and
// submitted from any thread.
unsafe impl<C: ReadCompletion> Send for ReadBio<C> {}

impl<C: ReadCompletion> ReadBio<C> {
    /// Allocates a read bio for `nr_vecs` segments, starting at 512-byte
    /// `sector` of `bdev`.
    ///
    /// Bios for readahead carry `REQ_RAHEAD` and are allocated without
    /// retrying or warning: they may fail (`None`), and the caller then reads
    /// the folio through the buffer_head path instead. Others come from the
    /// bio_set's mempool and do not fail.
    pub(crate) fn alloc(
        bdev: BlockDevice<'_>,
        sector: u64,
        nr_vecs: usize,
        readahead: bool,
        completion: Arc<C>,
    ) -> Option<Self> {
        let nr_vecs = nr_vecs.clamp(1, bindings::BIO_MAX_VECS as usize) as u16;
        // SAFETY: the helper only computes a flag word.
        let opf = unsafe { ffi_ext::rmpage_req_op_read(readahead) };
        // SAFETY: `bdev` is open (its invariant); `nr_vecs` is within
        // BIO_MAX_VECS.
        let bio = unsafe { ffi_ext::rmpage_bio_alloc(bdev.0.as_ptr(), nr_vecs, opf, readahead) };
        let bio = NonNull::new(bio)?;
        // SAFETY: `bio` is a fresh bio that only we reference.
        unsafe {
            (*bio.as_ptr()).bi_iter.bi_sector = sector;
            (*bio.as_ptr()).bi_end_io = Some(read_end_io::<C>);
            (*bio.as_ptr()).bi_private = Arc::into_raw(completion).cast_mut().cast();
        }
        // INVARIANT: end_io and private are set as required; no folio yet.
        Some(Self {
            bio,
            folios: 0,
            bytes: 0,
            _c: PhantomData,
        })
    }

    /// Adds `len` bytes of `folio`, from `offset`, to the bio. On success the
    /// bio owns the folio; if the bio is full, the folio comes back.
    pub(crate) fn add_folio(
        &mut self,
        folio: LockedFolio,
        len: usize,
        offset: usize,
    ) -> core::result::Result<(), LockedFolio> {
        if len == 0 || offset.saturating_add(len) > folio.size() {
            return Err(folio);
        }
        // SAFETY: the bio is ours and unsubmitted (type invariant); the folio
        // is valid and locked, and the range lies inside it (checked above).
        let added =
            unsafe { bindings::bio_add_folio(self.bio.as_ptr(), folio.as_ptr(), len, offset) };
        if !added {
            return Err(folio);
        }
        // INVARIANT: the folio's unlocking now belongs to the bio.
        let _ = folio.into_raw();
        self.folios += 1;
        self.bytes += len;
        Ok(())
    }

    /// Number of folios in the bio.
    pub(crate) fn folios(&self) -> usize {
        self.folios
    }

    /// Number of bytes the bio will read.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Sends the bio to the block layer. Its completion ends the reads.
    pub(crate) fn submit(self) {
        let bio = self.bio.as_ptr();
        core::mem::forget(self);
        // SAFETY: the bio is fully set up (type invariant); from here the
        // block layer owns it until `read_end_io` puts it.
        unsafe { bindings::submit_bio(bio) };
    }
}

impl<C: ReadCompletion> Drop for ReadBio<C> {
    fn drop(&mut self) {
        // SAFETY: the bio is ours and was never submitted; completing it with
        // an error runs `read_end_io`, which fails and unlocks its folios,
        // drops the completion reference and puts the bio.
        unsafe { ffi_ext::rmpage_bio_io_error(self.bio.as_ptr()) };
    }
}

/// The completion of every [`ReadBio`]: like fs/mpage.c's
/// `mpage_read_end_io`, it ends the read on each folio of the bio (uptodate
/// on success) and unlocks it.
///
/// # Safety
///
/// Called by the block layer once, when a bio allocated by [`ReadBio::alloc`] completes.
unsafe extern "C" fn read_end_io<C: ReadCompletion>(bio: *mut bindings::bio) {
    // SAFETY: the block layer calls us once with the completed bio, whose
    // `bi_private` holds the `Arc<C>` reference that `alloc` stored.
    let completion = unsafe { Arc::<C>::from_raw((*bio).bi_private.cast::<C>()) };
    // SAFETY: `bio` is valid until we put it.
    let err = unsafe { ffi_ext::rmpage_bio_status_errno(bio) };
    // Counters first: once the last folio is unlocked, the filesystem may be
    // unmounted. The Arc keeps the counters alive regardless.
    completion.read_done(if err == 0 {
        None
    } else {
        Some(Error::from_errno(err))
    });
    drop(completion);

    let mut iter = MaybeUninit::<bindings::folio_iter>::uninit();
    // SAFETY: `bio` is valid; the helper initialises `iter`.
    let mut folio = unsafe { ffi_ext::rmpage_bio_first_folio(bio, iter.as_mut_ptr()) };
    while !folio.is_null() {
        // SAFETY: the bio owned this folio's lock (ReadBio invariant); ending
        // the read releases it. `bio_first_folio` walks whole folios, so a
        // folio is ended once even if it spans several bio vectors.
        unsafe { bindings::folio_end_read(folio, err == 0) };
        // SAFETY: `iter` was initialised by the first call; the bio's vector
        // is still valid since we have not put the bio.
        folio = unsafe { ffi_ext::rmpage_bio_next_folio(bio, iter.as_mut_ptr()) };
    }
    // SAFETY: we hold the bio's only reference; nothing touches it after.
    unsafe { bindings::bio_put(bio) };
}
