// SPDX-License-Identifier: GPL-2.0

//! Bios, read and write, that own the folios they carry until completion.
//!
//! C headers: [`include/linux/bio.h`](srctree/include/linux/bio.h),
//! [`include/linux/blk_types.h`](srctree/include/linux/blk_types.h).

use super::{
    ffi_ext,
    folio::{Folio, ReadFolio, WritebackFolio},
    inode::RawInode,
    writeback::Wbc,
};
use core::{
    marker::{PhantomData, PhantomPinned},
    mem::{ManuallyDrop, MaybeUninit},
    ops::Deref,
    ptr::NonNull,
};
use kernel::{
    bindings,
    error::Error,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Full, Relaxed},
        Arc,
    },
};

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

    /// Drops the device cache's buffers of blocks `block..block + len`,
    /// just allocated to a file: whatever they held (old metadata) must not
    /// be written over the new data later (`clean_bdev_aliases`).
    pub(crate) fn clean_aliases(&self, block: u64, len: u64) {
        // SAFETY: the device is open (type invariant).
        unsafe { ffi_ext::clean_bdev_aliases(self.0.as_ptr().cast(), block, len) };
    }

    /// Starts the write of block `block + 1` if the device's cache holds it
    /// dirty: after data that ended at a BH_Boundary, that is most likely
    /// the indirect block mapping what follows, and it merges with the data
    /// (fs/buffer.c's `write_boundary_block`).
    pub(crate) fn write_boundary_block(&self, block: u64, block_size: u32) {
        // SAFETY: the device is open (type invariant).
        unsafe { ffi_ext::rmpage_write_boundary_block(self.0.as_ptr().cast(), block, block_size) };
    }

    /// Size of the device in bytes.
    pub(crate) fn nr_bytes(&self) -> u64 {
        // SAFETY: the device is open (type invariant).
        let n = unsafe { ffi_ext::rmpage_bdev_nr_bytes(self.0.as_ptr()) };
        n as u64
    }
}

/// What a bio reports when it completes, in whatever context the block
/// layer completes it (often interrupt context: no sleeping, no locks that
/// are taken elsewhere without disabling interrupts).
pub(crate) trait BioCompletion: Send + Sync + 'static {
    /// Called once per bio whose I/O failed, before its folios are ended,
    /// with its direction and the error.
    fn bio_failed(&self, write: bool, error: Error);
}

/// The bios of one mount that are in flight, and what their completions
/// report to: every [`Bio`] holds a [`BioToken`], one unit of the count,
/// from its allocation to the very last act of its completion, and dropping
/// an `InFlight` waits until no bio holds one.
///
/// Unmounting waits for every folio under I/O (`truncate_inode_pages_final`
/// in evict), but a completion goes on running module code after it ends
/// its last folio: it drops what its context held, puts the bio (and the
/// front pad the context lived in) and returns. Waiting
/// here, before the mount's data goes (the owner drops this in `kill_sb`,
/// after `kill_block_super`), keeps that tail's data alive without a
/// reference count per bio, and means that once the super block is gone
/// (and with it the module reference the mount holds) no completion of the
/// mount is anywhere but past its release (see [`BioToken`]'s drop and
/// [`synchronize_completions`] for the few instructions after it).
///
/// # Invariants
///
/// Only ever made pinned in a box ([`InFlight::new`]) and `!Unpin`, so its
/// address is stable until dropped. `count` is the number of live
/// [`BioToken`]s that point to it.
pub(crate) struct InFlight<C: BioCompletion> {
    count: Atomic<i32>,
    completion: Arc<C>,
    _pin: PhantomPinned,
}

impl<C: BioCompletion> InFlight<C> {
    /// A mount's count of bios in flight, none yet, whose completions report
    /// to `completion`.
    pub(crate) fn new(completion: Arc<C>) -> Result<Pin<KBox<Self>>> {
        Ok(KBox::pin(
            InFlight {
                count: Atomic::new(0),
                completion,
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?)
    }

    /// A unit of the count for a new bio.
    fn token(&self) -> BioToken<C> {
        // Relaxed: the bio that will carry the token reaches its completion
        // through the block layer, which orders this before the decrement.
        self.count.add(1, Relaxed);
        // INVARIANT: counted just now; `self` is pinned (type invariant).
        BioToken(NonNull::from(self))
    }
}

impl<C: BioCompletion> Deref for InFlight<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.completion
    }
}

impl<C: BioCompletion> Drop for InFlight<C> {
    fn drop(&mut self) {
        // SAFETY: `count` is a valid atomic_t-sized int that no one frees
        // while we wait; the helper sleeps until the last token is dropped.
        unsafe { ffi_ext::rmpage_in_flight_wait(self.count.as_ptr().cast()) };
    }
}

/// A bio's unit of its mount's [`InFlight`] count, and its way to the
/// mount's completion: it keeps both alive, with no reference count of its
/// own (the bio needs one atomic operation at each end, as an `Arc` would).
///
/// # Invariants
///
/// `self.0` points to a pinned [`InFlight`] whose count includes this
/// token; the `InFlight` is not dropped before the count reaches zero.
struct BioToken<C: BioCompletion>(NonNull<InFlight<C>>);

// SAFETY: the token gives shared access to an `InFlight` (atomic count, and a
// `C` that is `Send + Sync`) from whichever thread completes the bio.
unsafe impl<C: BioCompletion> Send for BioToken<C> {}
// SAFETY: as above.
unsafe impl<C: BioCompletion> Sync for BioToken<C> {}

impl<C: BioCompletion> BioToken<C> {
    /// What the bio's completion reports to.
    fn completion(&self) -> &C {
        // SAFETY: the `InFlight` lives while the token does (type invariant).
        unsafe { &self.0.as_ref().completion }
    }
}

impl<C: BioCompletion> Drop for BioToken<C> {
    /// Leaves the count: the last thing a completion does with anything of
    /// the mount's. The helper decrements and wakes the waiter inside an RCU
    /// read-side critical section, so that the module, which the mount's
    /// teardown lets go the moment the count reads zero, is not freed
    /// (`free_module` waits for RCU readers) before the wake-up returns.
    fn drop(&mut self) {
        // SAFETY: the count includes this token (type invariant), so the
        // `InFlight` is alive until the decrement, and the helper touches
        // nothing of it after the decrement but the address, to wake.
        unsafe { ffi_ext::rmpage_in_flight_put(self.0.as_ref().count.as_ptr().cast()) };
    }
}

/// Waits until no completion of any rmpage bio can still be running module
/// code: called when the module goes, after the last mount (whose teardown
/// waited for its [`InFlight`] count to reach zero).
///
/// What remains after a completion's count release is its return: the
/// helper's and `bio_end_io`'s epilogues. `free_module` calls
/// `synchronize_rcu`, which waits for completions run in interrupt or
/// softirq context (the usual case, loop's included), but a completion run
/// in a task (a threaded interrupt handler, dm-crypt's workqueue) may be
/// preempted right there, and a preempted task is an RCU quiescent state.
/// An RCU Tasks grace period ends only once every task has switched out
/// voluntarily or been in user mode, which a task preempted in module code
/// has not: the same wait that protects ftrace's trampolines. Without
/// `CONFIG_TASKS_RCU` this is `synchronize_rcu`: in a kernel without
/// preemption that suffices; in a preemptible one without RCU Tasks the
/// window is those few instructions.
pub(crate) fn synchronize_completions() {
    // SAFETY: may sleep; called from module exit, in process context.
    unsafe { ffi_ext::rmpage_synchronize_rcu_tasks() };
}

/// The direction of a [`Bio`], in its type: what may be added to it, and
/// what its completion does to its folios.
pub(crate) trait Direction {
    /// Whether bios of this direction write.
    const WRITE: bool;
}

/// Reads: folios locked for a read, ended by `folio_end_read`.
pub(crate) struct Read;
/// Writes: folios under writeback, ended by `folio_end_writeback`.
pub(crate) struct Write;

impl Direction for Read {
    const WRITE: bool = false;
}

impl Direction for Write {
    const WRITE: bool = true;
}

/// A large folio read or written in several pieces, by several bios: the
/// blocks inside it are not contiguous on disk, or holes come before data.
/// (fs/mpage.c hands such folios to the buffer_head path, which does every
/// block with a bio of its own; for a large folio that is hundreds of bios.)
///
/// The folio's I/O ends when its last piece completes: `pending` counts the
/// bytes under I/O plus one for the [`SplitBuilder`] still adding pieces.
///
/// # Invariants
///
/// For a read, `folio` is locked and its unlocking belongs to this object;
/// for a write (`write`), `folio` is under writeback and ending that belongs
/// to this object. Whoever brings `pending` to zero ends the I/O, exactly
/// once. `failed` is set if any piece failed: a read is then not marked
/// uptodate, a write records the error in the folio's mapping.
pub(crate) struct SplitFolio {
    folio: NonNull<bindings::folio>,
    pending: Atomic<usize>,
    failed: Atomic<bool>,
    write: bool,
}

// SAFETY: the counters are atomic; the folio pointer is only used to end the
// read, once, by whoever drops the count to zero.
unsafe impl Send for SplitFolio {}
// SAFETY: as above.
unsafe impl Sync for SplitFolio {}

impl SplitFolio {
    /// The shared state of `folio` read (or written) in pieces, holding the
    /// builder's unit; `None` if the small allocation fails. The caller
    /// hands the folio's end over to it.
    fn new(folio: &Folio, write: bool, flags: kernel::alloc::Flags) -> Option<Arc<Self>> {
        Arc::new(
            SplitFolio {
                folio: NonNull::new(folio.as_ptr()).expect("folio pointer is never NULL"),
                pending: Atomic::new(1),
                failed: Atomic::new(false),
                write,
            },
            flags,
        )
        .ok()
    }

    /// Drops `bytes` of pending I/O (or the builder's one), failed or not;
    /// the last one ends the read.
    fn complete(&self, bytes: usize, ok: bool) {
        if !ok {
            self.failed.store(true, Relaxed);
        }
        if self.pending.fetch_sub(bytes, Full) != bytes {
            return;
        }
        let ok = !self.failed.load(Relaxed);
        let folio = self.folio.as_ptr();
        if self.write {
            // SAFETY: the count reached zero here and only here, so the end
            // of the folio's writeback is ours (type invariant); its mapping
            // is stable while it is under writeback.
            unsafe {
                if !ok {
                    ffi_ext::rmpage_folio_set_mapping_error(folio, EIO.to_errno());
                }
                bindings::folio_end_writeback(folio);
            }
        } else {
            // SAFETY: the count reached zero here and only here, so we hold
            // the folio's unlocking (type invariant) and give it up.
            unsafe { bindings::folio_end_read(folio, ok) };
        }
    }
}

/// The engine's handle on a [`SplitFolio`] while it adds the pieces: it
/// gives byte ranges to bios, and zeroes holes of a read (or skips the part
/// of a write past EOF), each byte once and in order, so that no byte is
/// both zeroed here and read by the device. Dropping the builder lets the
/// folio's I/O end once its pieces have completed.
///
/// A write's builder keeps the folio locked while it adds the pieces, as
/// fs/mpage.c unlocks a folio only once it is in its bio, and unlocks it
/// when dropped.
///
/// # Invariants
///
/// `self.split` holds the builder's unit of `pending`; `self.next` is the
/// first byte of the folio not yet claimed; `self.size` is the folio's size.
/// For a write, the folio is locked on behalf of the builder.
pub(crate) struct SplitBuilder {
    split: Arc<SplitFolio>,
    next: usize,
    size: usize,
    /// For a write: the walk's writeback_control, and how many buffers to
    /// clean once every piece is in a bio.
    write: Option<(NonNull<bindings::writeback_control>, u32)>,
}

impl SplitBuilder {
    /// Takes over `folio`'s unlocking. Gives the folio back if the small
    /// allocation fails, or if the folio is uptodate (its bytes must not be
    /// written: see [`LockedFolio`]).
    pub(crate) fn new(folio: ReadFolio, readahead: bool) -> core::result::Result<Self, ReadFolio> {
        if folio.is_uptodate() {
            return Err(folio);
        }
        let size = folio.size();
        let Some(split) = SplitFolio::new(&folio, false, gfp(readahead)) else {
            return Err(folio);
        };
        // INVARIANT: the unlocking moved into `split`, holding our unit.
        let _ = folio.into_raw();
        Ok(Self {
            split,
            next: 0,
            size,
            write: None,
        })
    }

    /// Takes `folio` to be written in pieces; its first `clean` buffers are
    /// the blocks being written. The folio stays locked while the pieces are
    /// added (their bios may already be sent: the builder's unit keeps the
    /// writeback from ending). When the builder is dropped, the folio's
    /// writeback starts and it is unlocked; the buffers are cleaned only if
    /// every piece found its bio, and otherwise the folio stays dirty for a
    /// later writeback, as fs/mpage.c never cleans what it has not put in a
    /// bio. Gives the folio back if the small allocation fails.
    pub(crate) fn new_write(
        folio: WritebackFolio,
        clean: usize,
    ) -> core::result::Result<Self, WritebackFolio> {
        let size = folio.size();
        let Some(split) = SplitFolio::new(&folio, true, GFP_KERNEL) else {
            return Err(folio);
        };
        // SAFETY: `wbc` is the walk's and the folio is locked.
        unsafe { ffi_ext::rmpage_wbc_account_folio(folio.wbc().as_ptr().cast(), folio.as_ptr()) };
        let wbc = folio.wbc();
        let clean = if folio.has_buffers() {
            u32::try_from(clean).unwrap_or(u32::MAX)
        } else {
            0
        };
        // INVARIANT: the lock, and the writeback to start and end, move into
        // the builder and `split`, which holds our unit.
        let _ = folio.into_raw();
        Ok(Self {
            split,
            next: 0,
            size,
            write: Some((wbc, clean)),
        })
    }

    /// Leaves bytes `start..end` of a write's folio unwritten: they lie past
    /// EOF (and were zeroed), or past the blocks to write.
    pub(crate) fn skip(&mut self, start: usize, end: usize) -> Result {
        if !self.split.write {
            return Err(EINVAL);
        }
        self.claim(start, end)
    }

    /// Claims bytes `start..end`, which must start where the previous claim
    /// ended: no byte is skipped (it would be neither read nor zeroed, and the
    /// folio would become uptodate with stale memory) or claimed twice.
    fn claim(&mut self, start: usize, end: usize) -> Result {
        if start != self.next || start >= end || end > self.size {
            return Err(EINVAL);
        }
        self.next = end;
        Ok(())
    }

    /// Zeroes bytes `start..end` of a read's folio (a hole, or past EOF).
    pub(crate) fn zero(&mut self, start: usize, end: usize) -> Result {
        if self.split.write {
            return Err(EINVAL);
        }
        self.claim(start, end)?;
        // SAFETY: the folio is locked and ours until `pending` drops to zero,
        // which our unit prevents; no bio covers these bytes (claimed once).
        unsafe { ffi_ext::rmpage_folio_zero_segment(self.split.folio.as_ptr(), start, end) };
        Ok(())
    }

    /// Marks the read failed: the folio will not become uptodate.
    pub(crate) fn fail(&mut self) {
        self.split.failed.store(true, Relaxed);
    }

    /// Gives a read's folio back as it was handed over, locked and not
    /// uptodate, if none of its bytes is in a bio (its pieces' bios were
    /// cancelled, or never made): the caller may then read it another way.
    /// Bytes zeroed so far stay zeroed, which is harmless: the folio is not
    /// uptodate, and whoever reads it writes every byte. A write's builder,
    /// or one with pieces in bios, comes back instead.
    pub(crate) fn take_back(self) -> core::result::Result<ReadFolio, Self> {
        // Acquire: a piece's completion that dropped its bytes is over with
        // the folio before we take it.
        if self.write.is_some() || self.split.pending.load(Acquire) != 1 {
            return Err(self);
        }
        let this = ManuallyDrop::new(self);
        let folio = this.split.folio.as_ptr();
        // SAFETY: `this` is neither used nor dropped again, so its `split`
        // is moved out exactly once.
        drop(unsafe { core::ptr::read(&this.split) });
        // SAFETY: `pending` held our unit alone, so no bio holds a piece of
        // the folio, and none can get one: pieces are added only through
        // this builder, which is gone without ending the read. The
        // unlocking that `new` moved into the split folio is ours again,
        // and the folio is still locked and not uptodate.
        Ok(unsafe { ReadFolio::from_raw(folio) })
    }
}

impl Drop for SplitBuilder {
    fn drop(&mut self) {
        let complete = self.next == self.size;
        let folio = self.split.folio.as_ptr();
        match self.write {
            Some((wbc, clean)) => {
                // SAFETY: a write's builder holds the folio lock (type
                // invariant). Its writeback starts here, once; the pieces'
                // bios cannot end it before our unit is dropped below. A
                // folio not wholly put in bios is dirtied again, its buffers
                // left dirty, so that a later writeback writes it.
                unsafe {
                    if complete {
                        ffi_ext::rmpage_folio_clean_buffers(folio, clean);
                    } else {
                        bindings::folio_redirty_for_writepage(wbc.as_ptr(), folio);
                    }
                    ffi_ext::rmpage_folio_start_writeback(folio);
                    bindings::folio_unlock(folio);
                }
            }
            // Claims that were never made (an error stopped the walk) leave
            // a read's folio not uptodate, so a later read_folio starts
            // afresh.
            None if !complete => self.split.failed.store(true, Relaxed),
            None => {}
        }
        self.split.complete(1, true);
    }
}

/// Bytes in front of each of our bios, where its [`BioCtx`] lives.
const BIO_FRONT_PAD: usize = 64;

/// The module's bio_set, which every [`Bio`] comes from, with its
/// [`BioCtx`] in the front pad: a bio costs one allocation, as in
/// fs/mpage.c, not a second one for its context. It must outlive every bio
/// of every mount: the filesystem type's registration owns it, making it
/// before the first mount and dropping it after the last completion.
///
/// # Invariants
///
/// While this object exists, the C helpers' bio_set is initialised with a
/// front pad of [`BIO_FRONT_PAD`] bytes; there is at most one.
pub(crate) struct BioSet(());

impl BioSet {
    /// Sets up the module's bio_set; `EBUSY` if it is set up already.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: the helper refuses a second set-up; the pad is a multiple
        // of 8, so the bio behind it stays aligned.
        let ret = unsafe { ffi_ext::rmpage_bio_set_init(BIO_FRONT_PAD as u32) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: initialised just now, by us alone.
        Ok(Self(()))
    }
}

impl Drop for BioSet {
    fn drop(&mut self) {
        // SAFETY: set up (type invariant); the owner drops it only once no
        // bio of ours exists any more.
        unsafe { ffi_ext::rmpage_bio_set_exit() };
    }
}

/// The context in the front pad of `bio`.
///
/// # Safety
///
/// `bio` was allocated from the [`BioSet`] and not put yet.
unsafe fn front_pad<C: BioCompletion>(bio: *mut bindings::bio) -> NonNull<BioCtx<C>> {
    // SAFETY: the bio_set puts `BIO_FRONT_PAD` bytes of the same allocation
    // in front of every bio it hands out (BioSet invariant).
    let front = unsafe { bio.cast::<u8>().sub(BIO_FRONT_PAD) };
    NonNull::new(front.cast()).expect("a bio's front pad is never NULL")
}

/// What the front pad of a [`Bio`] holds.
struct BioCtx<C: BioCompletion> {
    /// The bio's unit of its mount's bios in flight, dropped last.
    token: BioToken<C>,
    write: bool,
    /// The split folios with pieces in this bio, ended by piece.
    splits: KVec<Arc<SplitFolio>>,
    /// Number of whole folios in the bio.
    folios: usize,
    /// Number of bytes the bio will transfer.
    bytes: usize,
    /// Whether the bio's small allocations must not wait (readahead's, or
    /// one filled while others are held back): they may fail.
    nowait: bool,
}

/// Allocation flags for the engine's small allocations (a bio's context, a
/// split folio's counter): GFP_KERNEL, as fs/mpage.c allocates for ext2's
/// mappings. Readahead is speculative: its allocations must neither stall
/// in reclaim nor wake the OOM killer (fs/mpage.c gives them
/// `__GFP_NORETRY`, which the kernel crate does not offer), and fail
/// quietly: GFP_NOWAIT. Its caller then reads the folio through the
/// buffer_head path or leaves it for read_folio. So must the allocations
/// for a bio filled while others are held back ([`ReadAlloc::Held`]).
fn gfp(nowait: bool) -> kernel::alloc::Flags {
    if nowait {
        GFP_NOWAIT | __GFP_NOWARN
    } else {
        GFP_KERNEL
    }
}

/// How a read bio may be allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadAlloc {
    /// For read_folio, which must make progress: from the bio_set's
    /// mempool, waiting for an element if memory is short.
    Wait,
    /// For readahead, which is optional: `REQ_RAHEAD`, no retrying or
    /// warning, and it may fail.
    Readahead,
    /// While earlier bios of the same read are held back unsent: not
    /// waiting at all, since what the mempool would wait for may be those
    /// very bios (block/bio.c: submit a bio before allocating the next).
    /// It may fail.
    Held,
}

impl ReadAlloc {
    /// The kind for a read by `readahead` or read_folio, with bios `held`
    /// back or not (only read_folio holds bios back).
    pub(crate) fn new(readahead: bool, held: bool) -> Self {
        match (readahead, held) {
            (_, true) => Self::Held,
            (true, false) => Self::Readahead,
            (false, false) => Self::Wait,
        }
    }

    /// Whether the bio's small allocations (its context, its list of split
    /// folios) must not wait either.
    fn nowait(self) -> bool {
        self != Self::Wait
    }
}

/// A bio being filled with folios, in direction `D`.
///
/// The bio owns every folio added to it until it completes. A read bio's
/// folios stay locked, and the completion ends the read on each (uptodate on
/// success) and unlocks it; pieces of a [`SplitFolio`] end that folio's read
/// when the last piece completes. A write bio's folios are under writeback
/// and unlocked from the moment they are added, and the completion ends
/// their writeback, recording an error in their mapping for fsync to report.
/// A `Bio` that is dropped without being submitted is completed with an I/O
/// error, so its folios still end exactly once.
///
/// # Invariants
///
/// `self.bio` points to a bio we allocated from the [`BioSet`] and have not
/// submitted, whose `bi_end_io` is [`bio_end_io::<C>`] and whose front pad,
/// which `self.ctx` points to, holds a `BioCtx<C>` with `write == D::WRITE`, holding a token of the mount's [`InFlight`]
/// count. Every whole folio in a read bio was a
/// [`ReadFolio`] whose unlocking passed to the bio; every folio in a write
/// bio was a [`WritebackFolio`] whose writeback the bio started; every piece
/// of a split folio is listed in `ctx.splits` and counted in its `pending`.
pub(crate) struct Bio<C: BioCompletion, D: Direction> {
    bio: NonNull<bindings::bio>,
    ctx: NonNull<BioCtx<C>>,
    _dir: PhantomData<D>,
}

/// A read bio.
pub(crate) type ReadBio<C> = Bio<C, Read>;
/// A write bio.
pub(crate) type WriteBio<C> = Bio<C, Write>;

// SAFETY: an unsubmitted bio is plain memory that we own; it may be filled and
// submitted from any thread.
unsafe impl<C: BioCompletion, D: Direction> Send for Bio<C, D> {}

impl<C: BioCompletion, D: Direction> Bio<C, D> {
    /// Wraps a bio fresh from the module's [`BioSet`], its context, which
    /// holds a token of `in_flight`, written into its front pad.
    ///
    /// # Safety
    ///
    /// `bio` was allocated from the [`BioSet`] just now and nobody else
    /// references it.
    unsafe fn wrap(
        bio: NonNull<bindings::bio>,
        sector: u64,
        in_flight: &InFlight<C>,
        nowait: bool,
    ) -> Self {
        const {
            assert!(size_of::<BioCtx<C>>() <= BIO_FRONT_PAD);
            assert!(align_of::<BioCtx<C>>() <= 8 && BIO_FRONT_PAD % 8 == 0);
        }
        // SAFETY: the caller's guarantee: the bio came from the bio_set.
        let ctx = unsafe { front_pad::<C>(bio.as_ptr()) };
        // SAFETY: the front pad is ours with the bio, large and aligned
        // enough (checked above), and holds nothing yet.
        unsafe {
            ctx.write(BioCtx {
                token: in_flight.token(),
                write: D::WRITE,
                splits: KVec::new(),
                folios: 0,
                bytes: 0,
                nowait,
            });
        }
        // SAFETY: `bio` is a fresh bio that only we reference.
        unsafe {
            (*bio.as_ptr()).bi_iter.bi_sector = sector;
            (*bio.as_ptr()).bi_end_io = Some(bio_end_io::<C>);
        }
        // INVARIANT: end_io is set and the context written; no folio yet.
        Self {
            bio,
            ctx,
            _dir: PhantomData,
        }
    }

    /// The bio's context.
    fn ctx(&self) -> &BioCtx<C> {
        // SAFETY: `ctx` is ours until submission (type invariant).
        unsafe { self.ctx.as_ref() }
    }

    /// The bio's context, to fill in.
    fn ctx_mut(&mut self) -> &mut BioCtx<C> {
        // SAFETY: `ctx` is ours until submission (type invariant).
        unsafe { self.ctx.as_mut() }
    }

    /// Counts a whole folio of `len` bytes that went into the bio.
    fn count_whole_folio(&mut self, len: usize) {
        let ctx = self.ctx_mut();
        ctx.folios += 1;
        ctx.bytes += len;
    }

    /// Gives up the bio as a raw pointer, still unsubmitted, its context in
    /// its front pad; [`Bio::from_raw`] takes it back.
    fn into_raw(self) -> *mut bindings::bio {
        let bio = self.bio.as_ptr();
        core::mem::forget(self);
        bio
    }

    /// # Safety
    ///
    /// `bio` came from [`Bio::into_raw`] of a `Bio<C, D>` and is taken back
    /// once.
    unsafe fn from_raw(bio: *mut bindings::bio) -> Self {
        // SAFETY: the caller's guarantee: a bio of ours, from the bio_set.
        let ctx = unsafe { front_pad::<C>(bio) };
        // INVARIANT: as it was when `into_raw` gave it up.
        Self {
            bio: NonNull::new(bio).expect("bio pointer is never NULL"),
            ctx,
            _dir: PhantomData,
        }
    }

    /// Adds bytes `offset..offset + len` of a split folio, claiming them from
    /// `builder`. `Err(EAGAIN)`: the bio is full, nothing was claimed; any
    /// other error: the piece could not be added.
    pub(crate) fn add_piece(
        &mut self,
        builder: &mut SplitBuilder,
        offset: usize,
        len: usize,
    ) -> Result {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if offset != builder.next
            || len == 0
            || end > builder.size
            || builder.split.write != D::WRITE
        {
            return Err(EINVAL);
        }
        // SAFETY: `ctx` is ours until submission (type invariant).
        let ctx = unsafe { &mut *self.ctx.as_ptr() };
        let listed = ctx.splits.iter().any(|s| Arc::ptr_eq(s, &builder.split));
        if !listed {
            ctx.splits.push(builder.split.clone(), gfp(ctx.nowait))?;
        }
        // Count the bytes before the bio can exist for the block layer.
        builder.split.pending.add(len, Relaxed);
        // SAFETY: the bio is ours and unsubmitted; the folio is locked (the
        // builder's unit keeps it so) and the range is inside it.
        let added = unsafe {
            bindings::bio_add_folio(self.bio.as_ptr(), builder.split.folio.as_ptr(), len, offset)
        };
        if !added {
            builder.split.pending.fetch_sub(len, Relaxed);
            if !listed {
                // No piece of it is in this bio: completion must not match it.
                ctx.splits.pop();
            }
            return Err(EAGAIN);
        }
        builder.claim(offset, end)?;
        ctx.bytes += len;
        Ok(())
    }

    /// Moves what the bio holds into a bio with room for `BIO_MAX_VECS`
    /// segments, if it is full and has less room than that: true if it
    /// did, and the bio has room again. False if memory for the new one is
    /// short (the allocation does not wait: this bio, unsent, may be the
    /// bio_set's reserve) or the bio is not that small and full; it is
    /// left as it was.
    pub(crate) fn grow(&mut self) -> bool {
        // SAFETY: the bio is ours and unsubmitted (type invariant); the
        // helper only reads it.
        let grown = unsafe { ffi_ext::rmpage_bio_grow(self.bio.as_ptr().cast()) };
        let Some(grown) = NonNull::new(grown.cast::<bindings::bio>()) else {
            return false;
        };
        // SAFETY: `grown` is a fresh bio from the bio_set, ours alone, with
        // this bio's segments, sector, size and `bi_end_io`; its front pad
        // holds nothing yet. The context moves there from this bio's pad,
        // which is not used again: the old bio is freed unsent, its
        // segments now the new one's.
        unsafe {
            let ctx = front_pad::<C>(grown.as_ptr());
            ctx.write(self.ctx.read());
            ffi_ext::rmpage_bio_free_moved(self.bio.as_ptr().cast());
            // INVARIANT: `grown` is unsubmitted, its end_io ours, its
            // context the one this bio had: it holds what this bio held.
            self.bio = grown;
            self.ctx = ctx;
        }
        true
    }

    /// Number of whole folios in the bio.
    pub(crate) fn folios(&self) -> usize {
        self.ctx().folios
    }

    /// Number of bytes the bio will transfer.
    pub(crate) fn bytes(&self) -> usize {
        self.ctx().bytes
    }

    /// Sends the bio to the block layer. Its completion ends the folios'
    /// I/O. An empty bio is not sent (a zero-length request confuses
    /// drivers); it is just freed.
    pub(crate) fn submit(self) {
        if self.bytes() == 0 {
            return;
        }
        let bio = self.bio.as_ptr();
        core::mem::forget(self);
        // SAFETY: the bio is fully set up (type invariant); from here the
        // block layer owns it until `bio_end_io` puts it.
        unsafe { bindings::submit_bio(bio) };
    }
}

impl<C: BioCompletion> Bio<C, Read> {
    /// Allocates a read bio for `nr_vecs` segments, starting at 512-byte
    /// `sector` of `bdev`, as `how` says ([`ReadAlloc`]): read_folio's come
    /// from the bio_set's mempool and wait for it; readahead's carry
    /// `REQ_RAHEAD`, and they and those filled while others are held back
    /// may fail (`None`): the caller then reads the folio another way. The
    /// bio counts in `in_flight`, its mount's, until its completion is over.
    pub(crate) fn alloc(
        bdev: BlockDevice<'_>,
        sector: u64,
        nr_vecs: usize,
        how: ReadAlloc,
        in_flight: &InFlight<C>,
    ) -> Option<Self> {
        let nr_vecs = nr_vecs.clamp(1, bindings::BIO_MAX_VECS as usize) as u16;
        let readahead = how == ReadAlloc::Readahead;
        let nowait = how == ReadAlloc::Held;
        // SAFETY: the helper only computes a flag word.
        let opf = unsafe { ffi_ext::rmpage_req_op_read(readahead) };
        // SAFETY: `bdev` is open (its invariant); `nr_vecs` is within
        // BIO_MAX_VECS. The bio_set is set up: `in_flight` belongs to a
        // mount, which the registration that owns the bio_set outlives.
        let bio =
            unsafe { ffi_ext::rmpage_bio_alloc(bdev.0.as_ptr(), nr_vecs, opf, readahead, nowait) };
        // SAFETY: a fresh bio from the bio_set, ours alone.
        Some(unsafe { Self::wrap(NonNull::new(bio)?, sector, in_flight, how.nowait()) })
    }

    /// Adds `len` bytes of `folio`, from `offset`, to the bio. On success the
    /// bio owns the folio; if the bio is full, the folio comes back, as does
    /// an uptodate folio (the device must not write its bytes: see
    /// [`ReadFolio`]).
    pub(crate) fn add_folio(
        &mut self,
        folio: ReadFolio,
        len: usize,
        offset: usize,
    ) -> core::result::Result<(), ReadFolio> {
        if len == 0 || offset.saturating_add(len) > folio.size() || folio.is_uptodate() {
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
        self.count_whole_folio(len);
        Ok(())
    }
}

impl<C: BioCompletion> Bio<C, Read> {
    /// Takes back a bio that was never sent, as if it had not been made:
    /// its pieces of split folios leave their folios' counts (a
    /// [`SplitBuilder`] still holding a folio keeps it from ending), its
    /// whole folios end their reads failed, and no error is reported, since
    /// no I/O failed. (Dropping an unsent bio reports it as failed I/O.)
    pub(crate) fn cancel(self) {
        let bio = self.into_raw();
        // SAFETY: the bio is ours and was never submitted; its context is
        // taken out of the front pad here, once.
        let BioCtx { token, splits, .. } = unsafe { front_pad::<C>(bio).read() };
        // SAFETY: a read bio that will never be submitted; its folios have
        // not been ended.
        unsafe { end_folios(bio, &splits, false, EIO.to_errno()) };
        drop_splits(splits);
        // SAFETY: we hold the bio's only reference; nothing touches it after.
        unsafe { bindings::bio_put(bio) };
        drop(token);
    }
}

/// Filled bios kept back from the block layer, in the order they were
/// filled: chained through `bi_next`, as `struct bio_list` chains them, so
/// that holding a bio costs no memory. (A holder that must undo its work
/// when memory is short cannot depend on an allocation to keep track of it.)
///
/// # Invariants
///
/// `head` is null, or the first of a chain through `bi_next` that ends at
/// `tail`, of bios from [`Bio::into_raw`] of `Bio<C, D>`s, owned here.
pub(crate) struct HeldBios<C: BioCompletion, D: Direction> {
    head: *mut bindings::bio,
    tail: *mut bindings::bio,
    _bios: PhantomData<Bio<C, D>>,
}

// SAFETY: as for `Bio`: unsubmitted bios are plain memory that we own.
unsafe impl<C: BioCompletion, D: Direction> Send for HeldBios<C, D> {}

impl<C: BioCompletion, D: Direction> HeldBios<C, D> {
    /// No bio held.
    pub(crate) fn new() -> Self {
        // INVARIANT: an empty chain.
        Self {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
            _bios: PhantomData,
        }
    }

    /// Holds `bio`, after those held already.
    pub(crate) fn push(&mut self, bio: Bio<C, D>) {
        let bio = bio.into_raw();
        // SAFETY: `bio` is ours and unsubmitted, so is `tail` if not null
        // (type invariant): their `bi_next` is free for us to use.
        unsafe {
            (*bio).bi_next = core::ptr::null_mut();
            if self.tail.is_null() {
                self.head = bio;
            } else {
                (*self.tail).bi_next = bio;
            }
        }
        // INVARIANT: `bio` ends the chain.
        self.tail = bio;
    }

    /// The first bio held, no longer held.
    pub(crate) fn pop(&mut self) -> Option<Bio<C, D>> {
        if self.head.is_null() {
            return None;
        }
        let bio = self.head;
        // SAFETY: `bio` heads the chain and is ours (type invariant); its
        // `bi_next` goes back to null, as the block layer expects.
        unsafe {
            self.head = (*bio).bi_next;
            (*bio).bi_next = core::ptr::null_mut();
        }
        if self.head.is_null() {
            self.tail = core::ptr::null_mut();
        }
        // SAFETY: `bio` came from `into_raw` (type invariant) and left the
        // chain just now.
        Some(unsafe { Bio::from_raw(bio) })
    }
}

impl<C: BioCompletion, D: Direction> Drop for HeldBios<C, D> {
    /// Bios still held are dropped, unsent: their folios' I/O fails.
    fn drop(&mut self) {
        while let Some(bio) = self.pop() {
            drop(bio);
        }
    }
}

impl<C: BioCompletion> Bio<C, Write> {
    /// Allocates a write bio for `nr_vecs` segments at 512-byte `sector` of
    /// `bdev`, for writeback under `wbc` of `inode`'s data: `REQ_OP_WRITE`
    /// with the flags `wbc` asks for, its cgroup, the inode's write hint.
    /// Write bios come from the bio_set's mempool and do not fail; should
    /// one still (`None`), the caller writes the folio through the
    /// buffer_head path. The bio counts in `in_flight`, its mount's, until
    /// its completion is over.
    pub(crate) fn alloc(
        bdev: BlockDevice<'_>,
        sector: u64,
        nr_vecs: usize,
        wbc: Wbc<'_>,
        inode: RawInode<'_>,
        in_flight: &InFlight<C>,
    ) -> Option<Self> {
        let nr_vecs = nr_vecs.clamp(1, bindings::BIO_MAX_VECS as usize) as u16;
        // SAFETY: `bdev` is open, `wbc` is the walk's writeback control and
        // `inode` the inode it writes (the types' invariants). The bio_set
        // is set up: `in_flight` belongs to a mount, which the registration
        // that owns the bio_set outlives.
        let bio = unsafe {
            ffi_ext::rmpage_bio_alloc_write(
                bdev.0.as_ptr(),
                nr_vecs,
                wbc.as_ptr().cast(),
                inode.as_ptr().cast(),
            )
        };
        // SAFETY: a fresh bio from the bio_set, ours alone.
        Some(unsafe { Self::wrap(NonNull::new(bio)?, sector, in_flight, false) })
    }

    /// Adds the first `len` bytes of `folio`, whose first `clean` buffers (if
    /// it has buffers) are the blocks being written, and starts the folio's
    /// writeback: the buffers' dirty bits are cleared, the writeback flag
    /// set, the folio unlocked (fs/mpage.c's order, so that a failure to add
    /// leaves every buffer dirty). If the bio is full the folio comes back
    /// untouched.
    pub(crate) fn add_folio(
        &mut self,
        folio: WritebackFolio,
        len: usize,
        clean: usize,
    ) -> core::result::Result<(), WritebackFolio> {
        if len == 0 || len > folio.size() {
            return Err(folio);
        }
        let clean = u32::try_from(clean).unwrap_or(u32::MAX);
        // SAFETY: the bio is ours and unsubmitted (type invariant); the folio
        // is valid and locked, the range lies inside it (checked above), and
        // `wbc` is the walk's. If the folio is added, the helper cleans its
        // buffers, starts its writeback and unlocks it; if not, it is left
        // as it was, locked.
        let added = unsafe {
            ffi_ext::rmpage_bio_add_write_folio(
                self.bio.as_ptr().cast(),
                folio.wbc().as_ptr().cast(),
                folio.as_ptr(),
                len,
                clean,
            )
        };
        if !added {
            return Err(folio);
        }
        // INVARIANT: the folio's writeback now belongs to the bio, and its
        // lock was given up by the helper.
        let _ = folio.into_raw();
        self.count_whole_folio(len);
        Ok(())
    }
}

impl<C: BioCompletion, D: Direction> Drop for Bio<C, D> {
    fn drop(&mut self) {
        if self.bytes() == 0 {
            // Nothing in it to fail, and no read to report: just free it.
            // SAFETY: the bio is ours and was never submitted, and `ctx` is
            // its context, in its front pad; neither is used again.
            unsafe {
                self.ctx.drop_in_place();
                bindings::bio_put(self.bio.as_ptr());
            }
            return;
        }
        // SAFETY: the bio is ours and was never submitted; completing it with
        // an error runs `bio_end_io`, which fails its folios' I/O, takes the
        // context out and puts the bio.
        unsafe { ffi_ext::rmpage_bio_io_error(self.bio.as_ptr()) };
    }
}

/// # Safety
///
/// Called by the block layer once, when a bio allocated by [`Bio::alloc`]
/// completes.
///
/// The completion of every [`Bio`]: like fs/mpage.c's `mpage_read_end_io`,
/// it ends the read on each folio of a read bio (uptodate on success) and
/// unlocks it, a piece of a split folio ending that folio only if it is the
/// last piece; like `mpage_write_end_io`, it ends the writeback of each
/// folio of a write bio, after recording an error in its mapping, where
/// fsync finds it (errseq: once for every open file).
///
/// Once the last folio is ended the filesystem may be unmounted and the
/// module unloaded: what runs after that is held by the bio's token of its
/// mount's [`InFlight`] count, which the mount waits for and which goes
/// last, and by [`synchronize_completions`].
unsafe extern "C" fn bio_end_io<C: BioCompletion>(bio: *mut bindings::bio) {
    // SAFETY: the block layer calls us once with the completed bio, one of
    // ours, from the bio_set: its context is taken out of the front pad here,
    // once, before the bio (and the pad with it) is put.
    let BioCtx {
        token,
        write,
        splits,
        ..
    } = unsafe { front_pad::<C>(bio).read() };
    let err = if splits.is_empty() {
        // SAFETY: the bio completed and holds whole folios only, whose I/O
        // it owns (Bio invariant); it is ours to put. The helper does
        // neither unless the I/O succeeded.
        let err = unsafe { ffi_ext::rmpage_bio_end_whole_folios_if_ok(bio, write) };
        if err == 0 {
            // The common case, done in that one call: folios ended, bio
            // put. The token goes last.
            drop_splits(splits);
            drop(token);
            return;
        }
        err
    } else {
        // SAFETY: `bio` is valid until we put it.
        unsafe { ffi_ext::rmpage_bio_status_errno(bio) }
    };
    // SAFETY: the bio completed; nothing of it has been ended or put.
    unsafe { end_io_slow(bio, token, write, splits, err) };
}

/// [`bio_end_io`] for a bio that failed (`err`) or holds pieces of split
/// folios, out of the common case's way: reports the error, ends the
/// folios, puts the bio and, last, drops `token`.
///
/// # Safety
///
/// `bio` completed; `token`, `write` and `splits` are its context's, taken
/// out of its front pad; none of its folios has been ended nor the bio put.
#[cold]
#[inline(never)]
unsafe fn end_io_slow<C: BioCompletion>(
    bio: *mut bindings::bio,
    token: BioToken<C>,
    write: bool,
    splits: KVec<Arc<SplitFolio>>,
    err: i32,
) {
    if err != 0 {
        token.completion().bio_failed(write, Error::from_errno(err));
    }
    // SAFETY: the bio completed: its folios are ours to end, once.
    unsafe { end_folios(bio, &splits, write, err) };
    drop_splits(splits);
    // SAFETY: we hold the bio's only reference; nothing touches it after.
    unsafe { bindings::bio_put(bio) };
    // The very last act: the mount may go once this is done.
    drop(token);
}

/// Lets go of a completed bio's list of split folios. Most bios have none,
/// and dropping an empty `KVec` still calls into the allocator (a
/// `krealloc` of nothing to nothing), once per bio.
fn drop_splits(splits: KVec<Arc<SplitFolio>>) {
    if splits.capacity() == 0 {
        // Nothing is owned: forgetting it leaks nothing.
        core::mem::forget(splits);
    }
}

/// Ends the I/O of every folio in `bio`, as its completion does: each piece
/// of a split folio (those listed in `splits`) leaves its folio's count,
/// each whole folio of a read ends its read, uptodate if `err` is 0, and
/// each of a write ends its writeback, the error recorded in its mapping.
///
/// # Safety
///
/// `bio` is a [`Bio`] of direction `write`, whose `splits` are those of its
/// context, that is done with (completed, or never to be submitted) and
/// whose folios have not been ended yet.
#[inline]
unsafe fn end_folios(bio: *mut bindings::bio, splits: &[Arc<SplitFolio>], write: bool, err: i32) {
    if splits.is_empty() {
        // SAFETY: as for this function; every folio in the bio is whole,
        // its read or writeback owned by the bio (Bio invariant).
        unsafe { ffi_ext::rmpage_bio_end_whole_folios(bio, write, err) };
    } else {
        // SAFETY: as for this function.
        unsafe { end_folios_with_splits(bio, splits, write, err) };
    }
}

/// [`end_folios`] for a bio that holds pieces of split folios: its folios
/// are walked from here, each looked up among `splits`.
///
/// # Safety
///
/// As for [`end_folios`].
unsafe fn end_folios_with_splits(
    bio: *mut bindings::bio,
    splits: &[Arc<SplitFolio>],
    write: bool,
    err: i32,
) {
    let mut iter = MaybeUninit::<bindings::folio_iter>::uninit();
    // SAFETY: `bio` is valid; the helper initialises `iter`.
    let mut folio = unsafe { ffi_ext::rmpage_bio_first_folio(bio, iter.as_mut_ptr()) };
    while !folio.is_null() {
        match splits.iter().find(|s| s.folio.as_ptr() == folio) {
            Some(split) => {
                // SAFETY: `iter` is initialised and describes this folio.
                let len = unsafe { (*iter.as_ptr()).length };
                split.complete(len, err == 0);
            }
            // SAFETY: the bio owned this whole folio's writeback (Bio
            // invariant); ending it gives that up. The folio's mapping is
            // stable while it is under writeback.
            None if write => unsafe {
                if err != 0 {
                    ffi_ext::rmpage_folio_set_mapping_error(folio, err);
                }
                bindings::folio_end_writeback(folio);
            },
            // SAFETY: the bio owned this whole folio's lock (Bio
            // invariant); ending the read releases it.
            None => unsafe { bindings::folio_end_read(folio, err == 0) },
        }
        // SAFETY: `iter` was initialised by the first call; the bio's vector
        // is still valid since we have not put the bio.
        folio = unsafe { ffi_ext::rmpage_bio_next_folio(bio, iter.as_mut_ptr()) };
    }
}
