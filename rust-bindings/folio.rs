// SPDX-License-Identifier: GPL-2.0

//! Folios of a file's page cache: referenced ([`Folio`], held through
//! [`ARef`]) and locked ([`LockedFolio`]).
//!
//! C headers: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h),
//! [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/highmem.h`](srctree/include/linux/highmem.h).

use super::ffi_ext;
use super::{fs::FileSystem, super_block::SuperBlock};
use crate::mpage::{write_begin::PrepareState, write_plan::BufferState};
use core::{marker::PhantomData, mem::MaybeUninit, ops::Deref, ptr::NonNull};
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

    /// Whether the folio belongs to the page cache of `inode`.
    pub(crate) fn belongs_to(&self, inode: *mut bindings::inode) -> bool {
        // SAFETY: valid folio (type invariant); the helper reads its mapping
        // once and compares pointers, following nothing.
        unsafe { ffi_ext::rmpage_folio_host_is(self.as_ptr(), inode.cast()) }
    }

    /// Maps page `n` of the folio into the kernel's address space
    /// (`kmap_local_folio`), for a borrow of its bytes that a lock
    /// `covered`: `EIO` if the folio is not uptodate (its bytes are not file
    /// contents), `EINVAL` if the lock does not cover it or it has no page
    /// `n`. The caller unmaps it with `kunmap_local`.
    fn map_page(&self, covered: bool, n: usize) -> Result<*mut core::ffi::c_void> {
        if !self.is_uptodate() {
            return Err(EIO);
        }
        if !covered {
            return Err(EINVAL);
        }
        let offset = n.checked_mul(PAGE_SIZE).ok_or(EINVAL)?;
        if offset >= self.size() {
            return Err(EINVAL);
        }
        // SAFETY: the folio is valid and `offset` lies inside it.
        Ok(unsafe { ffi_ext::rmpage_kmap_local_folio(self.as_ptr(), offset) })
    }

    /// Calls `f` with the bytes of page `n` of an uptodate folio, mapped
    /// into the kernel's address space for the call (`kmap_local_folio`).
    ///
    /// `guard` proves that nobody writes the folio's bytes meanwhile: the
    /// folio's own lock, or the lock its filesystem takes around every write
    /// of such folios (see [`ContentsGuard`]). Fails with `EIO` if the folio
    /// is not uptodate (its bytes are not file contents), and with `EINVAL`
    /// if the guard does not cover it or it has no page `n`. The mapping is
    /// local to the call, so mappings nest and unmap in order, as
    /// `kunmap_local` requires.
    pub(crate) fn with_page<R>(
        &self,
        guard: &impl ContentsGuard,
        n: usize,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        let addr = self.map_page(guard.covers(self), n)?;
        // SAFETY: `addr` maps the `PAGE_SIZE` bytes of page `n` until the
        // kunmap below. The folio is uptodate, and `guard` keeps every writer
        // of its bytes away while it is borrowed (ContentsGuard's contract).
        let bytes = unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), PAGE_SIZE) };
        let r = f(bytes);
        // SAFETY: `addr` came from kmap_local_folio above, and every mapping
        // made inside `f` was undone before it returned.
        unsafe { ffi_ext::rmpage_kunmap_local(addr) };
        Ok(r)
    }
}

impl Folio {
    /// Locks the folio (sleeping until it can), if it is still in the page
    /// cache of `inode`: `EAGAIN` if truncation took it out meanwhile.
    pub(crate) fn lock_in(&self, inode: *mut bindings::inode) -> Result<LockedFolio> {
        // SAFETY: valid folio, referenced by the caller (`&self`).
        unsafe { ffi_ext::rmpage_folio_lock(self.as_ptr()) };
        // INVARIANT: locked on behalf of the new object; checked below to be
        // in a page cache, so it stays valid while locked.
        // SAFETY: we just locked it, and the new object unlocks it.
        let locked = unsafe { LockedFolio::from_raw(self.as_ptr()) };
        if !self.belongs_to(inode) {
            return Err(EAGAIN);
        }
        Ok(locked)
    }
}

/// A lock whose holder, while it holds it mutably borrowed, is the only one
/// to read or write the bytes of some folios, apart from I/O: what
/// [`LockedFolio::with_page_mut`] needs to lend those bytes as a `&mut [u8]`.
///
/// # Safety
///
/// While a value of the implementing type is mutably borrowed, nothing but
/// the borrower reads or writes the bytes of a folio for which
/// [`ContentsGuard::covers`] returns true, except I/O started on the folio
/// (which the folio lock and [`LockedFolio::wait_writeback`] keep out).
pub(crate) unsafe trait ContentsWriter: ContentsGuard {}

/// A lock that keeps every writer away from the bytes of some folios while
/// it is held: what [`Folio::with_page`] needs to lend those bytes as a
/// `&[u8]`.
///
/// # Safety
///
/// While a value of the implementing type exists, nothing writes the bytes
/// of a folio for which [`ContentsGuard::covers`] returns true.
pub(crate) unsafe trait ContentsGuard {
    /// Whether the guard protects the bytes of `folio`.
    fn covers(&self, folio: &Folio) -> bool;
}

/// A folio of a file's page cache that the caller holds locked.
///
/// The lock alone promises nothing about what happens next: dropping a
/// `LockedFolio` unlocks it. What the page cache expects when it hands a
/// locked folio to a filesystem is a promise of its own, a type of its own
/// that wraps this one: [`ReadFolio`] (a read that must end, failed if
/// nothing else) and [`WritebackFolio`] (a write that must start, or the
/// folio must stay dirty). It derefs to [`Folio`] for what any referenced
/// folio offers; [`LockedFolio::get`] takes a reference that outlives the
/// lock.
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

    /// Unlocks the folio without changing its state.
    pub(crate) fn unlock(self) {
        drop(self);
    }

    /// Gives up the duty to unlock: the caller takes it.
    pub(crate) fn into_raw(self) -> *mut bindings::folio {
        let ptr = self.0.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// The folio's buffer_heads, of `blocksize` bytes each, from the one
    /// of block `first` of the folio to the last; attached now if the folio
    /// has none (`folio_create_buffers`). The walk to `first` is done in C,
    /// a pointer chase per block: a large folio has hundreds of buffers, and
    /// a small write wants one.
    pub(crate) fn create_buffers(&self, blocksize: usize, first: usize) -> BufferRing<'_> {
        let nblocks = self.size() / blocksize.max(1);
        if first >= nblocks {
            // SAFETY: an empty ring borrows nothing.
            return unsafe { BufferRing::from_head(core::ptr::null_mut(), core::ptr::null_mut()) };
        }
        // SAFETY: the folio is locked (type invariant), so attaching
        // buffers to it is ours to do; `blocksize` is the inode's, a power
        // of two no larger than the folio, and `first` is one of its blocks.
        let (head, start) = unsafe {
            let head = ffi_ext::rmpage_folio_create_buffers(self.as_ptr(), blocksize as u32);
            match first {
                0 => (head, head),
                _ => (head, ffi_ext::rmpage_bh_nth(head, first as u32)),
            }
        };
        // SAFETY: the folio stays locked while `self` is borrowed, and
        // `start` is in its ring.
        unsafe { BufferRing::from_head(head, start) }
    }

    /// Zeroes bytes `start..end` of a folio that is not uptodate: the parts
    /// of new blocks a write does not cover. An uptodate folio is left
    /// alone: readers that do not take the lock may be reading it.
    pub(crate) fn zero_range(&mut self, start: usize, end: usize) {
        if !self.is_uptodate() {
            self.zero_cut_off(start, end);
        }
    }

    /// Zeroes bytes `start..end` whether the folio is uptodate or not: the
    /// bytes a truncate cuts off its new last block, which readers must not
    /// see once the size drops (they are zeroed before it drops, as
    /// block_truncate_page zeroes them).
    pub(crate) fn zero_cut_off(&mut self, start: usize, end: usize) {
        let end = end.min(self.size());
        if start >= end {
            return;
        }
        // SAFETY: the folio is locked by us and `start < end <= size`.
        unsafe { ffi_ext::rmpage_folio_zero_segment(self.as_ptr(), start, end) };
    }

    /// Waits until no write of the folio is in flight. None starts while
    /// the lock is held, so its bytes may then change with no device
    /// reading them.
    pub(crate) fn wait_writeback(&self) {
        // SAFETY: the folio is locked by us.
        unsafe { bindings::folio_wait_writeback(self.as_ptr()) };
    }

    /// Calls `f` with the bytes of page `n` of the uptodate folio, to
    /// change. `writer` proves that nobody else reads or writes them
    /// meanwhile; the caller has waited for writeback
    /// ([`Self::wait_writeback`]) and commits what it changed
    /// ([`Self::commit_write`]). Fails as [`Folio::with_page`] does.
    pub(crate) fn with_page_mut<R>(
        &mut self,
        writer: &mut impl ContentsWriter,
        n: usize,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R> {
        let addr = self.map_page(writer.covers(self), n)?;
        // SAFETY: `addr` maps the `PAGE_SIZE` bytes of page `n` until the
        // kunmap below. We hold the folio lock, and `writer`, mutably
        // borrowed, keeps every other reader and writer away
        // (ContentsWriter's contract).
        let bytes = unsafe { core::slice::from_raw_parts_mut(addr.cast::<u8>(), PAGE_SIZE) };
        let r = f(bytes);
        // SAFETY: `addr` came from kmap_local_folio above, and every mapping
        // made inside `f` was undone before it returned.
        unsafe { ffi_ext::rmpage_kunmap_local(addr) };
        Ok(r)
    }

    /// Bytes `from..to`, prepared for a write and written, are committed:
    /// their buffers uptodate and dirty, and the folio dirty
    /// (`block_commit_write`).
    pub(crate) fn commit_write(&mut self, from: usize, to: usize) {
        let to = to.min(self.size());
        // SAFETY: the folio is locked by us and has buffers over `from..to`
        // (the write was prepared).
        unsafe { ffi_ext::block_commit_write(self.as_ptr().cast(), from.min(to), to) };
    }

    /// A write that prepared bytes `from..to` failed: the new blocks in
    /// that range are zeroed where the folio is not uptodate and dirtied,
    /// so that what the disk held before never reaches a reader
    /// (`folio_zero_new_buffers`).
    pub(crate) fn zero_new_buffers(&mut self, from: usize, to: usize) {
        // SAFETY: the folio is locked by us.
        unsafe { ffi_ext::folio_zero_new_buffers(self.as_ptr().cast(), from, to) };
    }
}

impl Drop for LockedFolio {
    fn drop(&mut self) {
        // SAFETY: we own the lock (type invariant) and give it up here; the
        // folio is not touched again since `self` is being destroyed.
        unsafe { bindings::folio_unlock(self.0.as_ptr()) };
    }
}

/// A locked folio that the page cache asked to read (`read_folio`,
/// readahead): the read must end, exactly once, and unlock the folio.
///
/// Every way out consumes it: [`ReadFolio::end_read`], handing it to a bio or
/// to the buffer_head path, or giving it back unread. Dropped without an end,
/// it fails the read, so the reader gets `EIO` and a retry starts afresh
/// instead of hanging on the lock. Nothing here writes the bytes of a folio
/// that is already uptodate (zeroing, or a bio reading into it): readers of
/// uptodate folios do not take the lock, and `end_read(true)` on one is
/// refused.
///
/// # Invariants
///
/// As for [`LockedFolio`]: `self.0` is a valid folio locked on behalf of
/// this object, whose read this object must end.
pub(crate) struct ReadFolio(NonNull<bindings::folio>);

// SAFETY: as for LockedFolio: reads end in any context.
unsafe impl Send for ReadFolio {}

impl Deref for ReadFolio {
    type Target = Folio;

    fn deref(&self) -> &Folio {
        // SAFETY: valid while locked, and the borrow cannot outlive `self`.
        unsafe { Folio::from_raw(self.0.as_ptr()) }
    }
}

impl ReadFolio {
    /// Takes over the read of `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a locked folio handed to `read_folio` or readahead, whose
    /// unlocking is the caller's to hand over.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::folio) -> Self {
        // INVARIANT: the caller guarantees validity and the lock.
        Self(NonNull::new(ptr).expect("locked folio pointer is never NULL"))
    }

    /// Gives up the duty to end the read: the caller takes it.
    pub(crate) fn into_raw(self) -> *mut bindings::folio {
        let ptr = self.0.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// The folio's lock without the promise of a read.
    fn into_locked(self) -> LockedFolio {
        // SAFETY: we hold the lock and hand it over.
        unsafe { LockedFolio::from_raw(self.into_raw()) }
    }

    /// A reference to the folio that outlives the read.
    pub(crate) fn get(&self) -> ARef<Folio> {
        ARef::from(&**self)
    }

    /// Whether the folio carries buffer_heads.
    pub(crate) fn has_buffers(&self) -> bool {
        // SAFETY: valid and locked, so its private data is stable.
        unsafe { ffi_ext::rmpage_folio_has_buffers(self.as_ptr()) }
    }

    /// Zeroes bytes `start..end` (holes, or past EOF) of a folio being read.
    /// An uptodate folio is left alone: its bytes are the file's.
    pub(crate) fn zero_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.size());
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
        if !self.is_uptodate() {
            // SAFETY: valid and locked by us; marking uptodate under the
            // lock is what the page cache requires.
            unsafe { ffi_ext::rmpage_folio_mark_uptodate(self.as_ptr()) };
        }
        self.unlock();
    }

    /// Ends the read: marks the folio uptodate if `success`, then unlocks it.
    pub(crate) fn end_read(self, success: bool) {
        // folio_end_read() must not be told of success on a folio that is
        // already uptodate; its contents stand as they are.
        let success = success && !self.is_uptodate();
        let ptr = self.into_raw();
        // SAFETY: we owned the lock and give it up here.
        unsafe { bindings::folio_end_read(ptr, success) };
    }

    /// Gives the folio back unread (readahead stopping, or a folio that is
    /// uptodate already): unlocks it, its state unchanged.
    pub(crate) fn unlock(self) {
        self.into_locked().unlock();
    }
}

impl Drop for ReadFolio {
    /// A read that was never ended fails, so that its reader gets EIO rather
    /// than waiting on the lock forever.
    fn drop(&mut self) {
        // SAFETY: we own the lock (type invariant) and give it up here.
        unsafe { bindings::folio_end_read(self.0.as_ptr(), false) };
    }
}

/// A locked, dirty folio that writeback took (`writeback_iter`), whose dirty
/// bit was cleared for the write: its contents must reach the disk, or the
/// folio must be dirty again.
///
/// Every way out consumes it: a write bio that starts its writeback
/// (`folio_start_writeback`) and unlocks it, the buffer_head write path, or
/// [`WritebackFolio::skip`] for a folio wholly past EOF, whose data nobody
/// will read. Dropped otherwise, it is redirtied
/// (`folio_redirty_for_writepage`) and unlocked, so the data is written by a
/// later writeback rather than lost.
///
/// Its position, size, first buffer (with that buffer's state) and the
/// file's size are read in one call when writeback hands it out: none of the
/// folio's changes while it is locked, the engine asks for them several
/// times per folio, and the size is read once per folio, as fs/mpage.c
/// reads it.
///
/// # Invariants
///
/// `self.wbc` is the writeback_control of the `writeback_iter` walk that
/// handed out the folio, valid for as long as this object. `info` holds the
/// locked folio's position, size and first buffer_head (`head`, null: it
/// has none) and, if it has one, that buffer's block, successor and state;
/// and the file's size read after the folio was locked.
pub(crate) struct WritebackFolio {
    folio: NonNull<bindings::folio>,
    wbc: NonNull<bindings::writeback_control>,
    info: ffi_ext::rmpage_wb_folio,
}

// SAFETY: as for LockedFolio.
unsafe impl Send for WritebackFolio {}

impl Deref for WritebackFolio {
    type Target = Folio;

    fn deref(&self) -> &Folio {
        // SAFETY: valid while locked, and the borrow cannot outlive `self`.
        unsafe { Folio::from_raw(self.folio.as_ptr()) }
    }
}

impl WritebackFolio {
    /// # Safety
    ///
    /// `ptr` is a folio that `writeback_iter(.., wbc, ..)` returned locked,
    /// whose unlocking is the caller's to hand over, and `wbc` outlives the
    /// returned object.
    pub(crate) unsafe fn from_raw(
        ptr: *mut bindings::folio,
        wbc: NonNull<bindings::writeback_control>,
    ) -> Self {
        let folio = NonNull::new(ptr).expect("locked folio pointer is never NULL");
        let mut info = MaybeUninit::<ffi_ext::rmpage_wb_folio>::uninit();
        // SAFETY: the folio is valid and locked (caller's guarantee), so its
        // mapping, size and buffers are stable; `info` is ours to fill, and
        // the helper writes every field of it.
        let info = unsafe {
            ffi_ext::rmpage_folio_writeback_info(folio.as_ptr(), info.as_mut_ptr());
            info.assume_init()
        };
        // INVARIANT: the caller guarantees the lock and `wbc`; `info` was
        // read under that lock.
        Self { folio, wbc, info }
    }

    /// Byte offset of the folio's first byte in the file.
    pub(crate) fn pos(&self) -> u64 {
        // A page cache position is never negative.
        self.info.pos as u64
    }

    /// Size of the folio in bytes.
    pub(crate) fn size(&self) -> usize {
        self.info.size
    }

    /// The file's size (`i_size_read`) when the folio was handed out.
    pub(crate) fn i_size(&self) -> u64 {
        // A file's size is never negative.
        self.info.i_size as u64
    }

    /// Gives up the duty to write or redirty: the caller takes it.
    pub(crate) fn into_raw(self) -> *mut bindings::folio {
        let ptr = self.folio.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// The writeback_control of the walk this folio came from.
    pub(crate) fn wbc(&self) -> NonNull<bindings::writeback_control> {
        self.wbc
    }

    /// Whether the folio carries buffer_heads.
    pub(crate) fn has_buffers(&self) -> bool {
        !self.info.head.is_null()
    }

    /// The folio's buffer_heads, one block each, in order; empty if it has
    /// none.
    pub(crate) fn buffers(&self) -> FolioBuffers<'_> {
        let info = &self.info;
        let first =
            (!info.head.is_null()).then(|| buffer_state(info.head_state, info.head_blocknr));
        // INVARIANT: `head` is the first buffer of the folio, which stays
        // locked while `self` is borrowed; `first` is its state and
        // `head_next` its successor.
        FolioBuffers {
            head: info.head,
            first,
            next: NonNull::new(info.head_next).filter(|next| next.as_ptr() != info.head),
            _folio: PhantomData,
        }
    }

    /// Zeroes bytes `start..end`: the part of the folio straddling EOF that
    /// lies past it, on every writeback, since the folio may be mmapped and
    /// written there.
    pub(crate) fn zero_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.size());
        if start >= end {
            return;
        }
        // SAFETY: the folio is valid and locked by us (writers hold the
        // lock), and `start < end <= size` keeps the write inside it.
        unsafe { ffi_ext::rmpage_folio_zero_segment(self.as_ptr(), start, end) };
    }

    /// Unlocks a folio wholly past EOF without writing it: truncation is
    /// removing it, and allocating blocks for it would leak them (fs/mpage.c
    /// paid for that in 2023).
    pub(crate) fn skip(self) {
        // SAFETY: we hold the lock and hand it over.
        unsafe { LockedFolio::from_raw(self.into_raw()) }.unlock();
    }
}

impl Drop for WritebackFolio {
    /// A folio that writeback took but did not write stays dirty.
    fn drop(&mut self) {
        // SAFETY: the folio is locked by us and `wbc` is the walk's (type
        // invariants); redirtying a locked folio is what the call is for,
        // and the unlock gives up our lock.
        unsafe {
            bindings::folio_redirty_for_writepage(self.wbc.as_ptr(), self.folio.as_ptr());
            bindings::folio_unlock(self.folio.as_ptr());
        }
    }
}

/// The ring of buffer_heads of a locked folio, one block each, in order.
///
/// # Invariants
///
/// `head` is the first buffer of a folio that stays locked for `'a`, and
/// `next` the next buffer to visit in its ring (None once back at `head`).
pub(crate) struct BufferRing<'a> {
    head: Option<NonNull<bindings::buffer_head>>,
    next: Option<NonNull<bindings::buffer_head>>,
    _folio: PhantomData<&'a ()>,
}

impl BufferRing<'_> {
    /// The buffers of the ring that starts at `head` (NULL: a folio without
    /// buffers), from `start` to the end of the ring.
    ///
    /// # Safety
    ///
    /// `head` is NULL or the first buffer of a folio that stays locked for
    /// the returned lifetime, and `start` NULL or a buffer of its ring.
    unsafe fn from_head<'a>(
        head: *mut bindings::buffer_head,
        start: *mut bindings::buffer_head,
    ) -> BufferRing<'a> {
        // INVARIANT: guaranteed by the caller.
        BufferRing {
            head: NonNull::new(head),
            next: NonNull::new(start),
            _folio: PhantomData,
        }
    }
}

impl<'a> Iterator for BufferRing<'a> {
    type Item = FolioBuffer<'a>;

    fn next(&mut self) -> Option<FolioBuffer<'a>> {
        let bh = self.next?;
        // SAFETY: the buffer belongs to the locked folio's ring (type
        // invariant), which nobody changes while the folio is locked.
        let after = unsafe { ffi_ext::rmpage_bh_next(bh.as_ptr()) };
        self.next = NonNull::new(after).filter(|n| Some(*n) != self.head);
        // INVARIANT: `bh` is in the ring of a folio locked for 'a.
        Some(FolioBuffer {
            bh,
            _folio: PhantomData,
        })
    }
}

/// One buffer_head of a locked folio.
///
/// Its flags are atomic bits that others may test; its mapping fields are
/// changed only under the folio lock, which the folio's owner holds.
///
/// # Invariants
///
/// `bh` is in the buffer ring of a folio that stays locked for `'a`.
pub(crate) struct FolioBuffer<'a> {
    bh: NonNull<bindings::buffer_head>,
    _folio: PhantomData<&'a ()>,
}

impl FolioBuffer<'_> {
    fn flags(&self) -> u32 {
        // SAFETY: valid while the folio is locked (type invariant).
        unsafe { ffi_ext::rmpage_bh_state(self.bh.as_ptr()) }
    }

    /// What `write_begin` needs to know of the buffer.
    pub(crate) fn prepare_state(&self) -> PrepareState {
        self.write_state().1
    }

    /// Whether the buffer is mapped, and its [`PrepareState`], read at once.
    pub(crate) fn write_state(&self) -> (bool, PrepareState) {
        let state = self.flags();
        let prepare = PrepareState {
            new: state & ffi_ext::RMPAGE_BH_NEW != 0,
            uptodate: state & ffi_ext::RMPAGE_BH_UPTODATE != 0,
        };
        (state & ffi_ext::RMPAGE_BH_MAPPED != 0, prepare)
    }

    /// Whether the buffer knows its device block (`BH_Mapped`).
    pub(crate) fn is_mapped(&self) -> bool {
        self.flags() & ffi_ext::RMPAGE_BH_MAPPED != 0
    }

    /// Maps the buffer to block `pblk` of the device of `sb`; `new`: the
    /// block was allocated just now (`BH_New`); `boundary`: mapping the
    /// next block needs a metadata read (`BH_Boundary`).
    pub(crate) fn map<T: FileSystem, S>(
        &mut self,
        sb: &SuperBlock<T, S>,
        pblk: u64,
        new: bool,
        boundary: bool,
    ) {
        // SAFETY: the folio is locked (type invariant), so nobody else maps
        // its buffers; they were made of the file system's block size, which
        // `sb` is live to give.
        unsafe {
            let size = (*sb.as_ptr()).s_blocksize;
            ffi_ext::rmpage_bh_map(
                self.bh.as_ptr(),
                sb.as_ptr().cast(),
                pblk,
                size,
                boundary,
                new,
            )
        };
    }

    /// Forgets that the block is new.
    pub(crate) fn clear_new(&mut self) {
        // SAFETY: valid while the folio is locked (type invariant).
        unsafe { ffi_ext::rmpage_bh_clear_new(self.bh.as_ptr()) };
    }

    /// Marks the buffer's bytes valid: they are the folio's, which are.
    pub(crate) fn set_uptodate(&mut self) {
        // SAFETY: valid while the folio is locked (type invariant).
        unsafe { ffi_ext::rmpage_bh_set_uptodate(self.bh.as_ptr()) };
    }

    /// Marks the buffer (and its folio) dirty.
    pub(crate) fn mark_dirty(&mut self) {
        // SAFETY: valid while the folio is locked (type invariant).
        unsafe { ffi_ext::mark_buffer_dirty(self.bh.as_ptr().cast()) };
    }

    /// Starts reading the block into the folio (the buffer is mapped and
    /// not uptodate); [`FolioBuffer::wait_read`] waits for it.
    pub(crate) fn start_read(&mut self) {
        // SAFETY: valid while the folio is locked (type invariant); the
        // read locks the buffer and fills it.
        unsafe { ffi_ext::rmpage_bh_read_nowait(self.bh.as_ptr()) };
    }

    /// Waits for a read started by [`FolioBuffer::start_read`]: whether the
    /// buffer is uptodate now.
    pub(crate) fn wait_read(&self) -> bool {
        // SAFETY: valid while the folio is locked (type invariant).
        unsafe { ffi_ext::rmpage_bh_wait_uptodate(self.bh.as_ptr()) }
    }
}

/// The buffer_heads of a folio under writeback, as [`BufferState`]s: the
/// first as [`WritebackFolio`] read it, then one call into C per buffer,
/// since writeback looks at every buffer of every folio it writes.
///
/// # Invariants
///
/// `head` is the first buffer of a folio that stays locked for `'a`;
/// `first`, until taken, is its state; `next` is the next buffer to visit
/// after it in its ring (None once back at `head`).
pub(crate) struct FolioBuffers<'a> {
    head: *mut bindings::buffer_head,
    first: Option<BufferState>,
    next: Option<NonNull<bindings::buffer_head>>,
    _folio: PhantomData<&'a ()>,
}

/// A buffer's [`BufferState`] from its state bits (`rmpage_bh_state`) and
/// block number, which means nothing unless it is mapped.
fn buffer_state(state: u32, pblk: u64) -> BufferState {
    let mapped = state & ffi_ext::RMPAGE_BH_MAPPED != 0;
    BufferState {
        mapped,
        dirty: state & ffi_ext::RMPAGE_BH_DIRTY != 0,
        uptodate: state & ffi_ext::RMPAGE_BH_UPTODATE != 0,
        boundary: state & ffi_ext::RMPAGE_BH_BOUNDARY != 0,
        pblk: if mapped { pblk } else { 0 },
    }
}

impl Iterator for FolioBuffers<'_> {
    type Item = BufferState;

    fn next(&mut self) -> Option<BufferState> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let bh = self.next?;
        let (mut pblk, mut after) = (0, core::ptr::null_mut());
        // SAFETY: the buffer belongs to the locked folio's ring (type
        // invariant), whose links and mapping nobody changes while the folio
        // is locked; the out-pointers are ours.
        let state =
            unsafe { ffi_ext::rmpage_bh_writeback_state(bh.as_ptr(), &mut pblk, &mut after) };
        self.next = NonNull::new(after).filter(|n| n.as_ptr() != self.head);
        Some(buffer_state(state, pblk))
    }
}
