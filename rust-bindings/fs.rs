// SPDX-License-Identifier: GPL-2.0

//! Filesystem types: the [`FileSystem`] trait a Rust filesystem implements,
//! its registration, and the C operation tables built from it.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h).

use super::{
    buffer_head::MapResult,
    ffi_ext,
    folio::{
        ContentsGuard, ContentsWriter, Folio, FolioBuffer, LockedFolio, ReadFolio, WritebackFolio,
    },
    inode::{free_inode_box, Inode, InodeParams, NewInode},
    readahead::Readahead,
    super_block::{New, SuperBlock},
    writeback::Writeback,
};
use crate::mpage::{
    mapping::{MapKind, Mapping},
    write_begin::{blocks_to_map, prepare_buffer, shortened_end, PrepareBuffer, PrepareState},
};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    error::{from_result, Error},
    prelude::*,
    str::CStr,
    types::Opaque,
};

/// What `fill_super` sets up.
pub(crate) struct SuperParams<D> {
    /// Per-mount data of the filesystem (pinned: it may hold locks).
    pub(crate) data: Pin<KBox<D>>,
    /// `s_magic`.
    pub(crate) magic: u64,
    /// Largest file size the format allows.
    pub(crate) max_bytes: u64,
    /// Inode number of the root directory.
    pub(crate) root_ino: u64,
    /// Most links an inode may have (`s_max_links`): the VFS refuses
    /// `link`, `mkdir` and `rename` past it with `EMLINK`.
    pub(crate) max_links: u32,
}

/// What kind of inode a new name is for.
pub(crate) enum NewKind<'a> {
    /// A regular file (`create`).
    Regular,
    /// A directory (`mkdir`).
    Directory,
    /// A symlink to this target (no NUL).
    Symlink(&'a [u8]),
    /// A device node, FIFO or socket (`mknod`), with the kernel's device
    /// number (`dev_t`).
    Special(u32),
}

/// A new name and the inode to create for it: its kind, and the mode the
/// caller asked for (type bits included; the umask is applied).
pub(crate) struct NewNode<'a> {
    /// Type and permission bits.
    pub(crate) mode: u16,
    /// What the inode is.
    pub(crate) kind: NewKind<'a>,
}

/// A rename (`RENAME_NOREPLACE` or none; the VFS has checked permissions,
/// loops and `EMLINK`). The directories' locks come with it: a directory
/// moved to another parent is locked too, as is a target.
pub(crate) struct Rename<'a, T: FileSystem> {
    /// Directory the name leaves.
    pub(crate) old_dir: &'a Inode<T>,
    /// The name in `old_dir`.
    pub(crate) old_name: &'a [u8],
    /// The inode being renamed.
    pub(crate) moved: &'a Inode<T>,
    /// Directory the name goes to (maybe `old_dir`).
    pub(crate) new_dir: &'a Inode<T>,
    /// The new name.
    pub(crate) new_name: &'a [u8],
    /// The inode `new_name` names now, which loses that name.
    pub(crate) target: Option<&'a Inode<T>>,
    /// Whether the guards of `old_dir` and `new_dir` are one.
    same_dir: bool,
    old_guard: DirWriteGuard<'a>,
    new_guard: DirWriteGuard<'a>,
    /// The moved directory's lock, if it changes parent (its `..` changes).
    moved_guard: Option<DirWriteGuard<'a>>,
    /// The target's lock, if it is a directory (it must be empty).
    target_guard: Option<DirWriteGuard<'a>>,
}

/// The locks of a rename, each for a different directory.
pub(crate) struct RenameGuards<'g, 'a> {
    /// `old_dir`'s.
    pub(crate) old: &'g mut DirWriteGuard<'a>,
    /// `new_dir`'s, if it is another directory than `old_dir`.
    pub(crate) new: Option<&'g mut DirWriteGuard<'a>>,
    /// The moved directory's, if it changes parent.
    pub(crate) moved: Option<&'g mut DirWriteGuard<'a>>,
    /// The target directory's, if the target is a directory.
    pub(crate) target: Option<&'g mut DirWriteGuard<'a>>,
}

impl<'a, T: FileSystem> Rename<'a, T> {
    /// The rename's directory locks, one for each directory.
    pub(crate) fn guards(&mut self) -> RenameGuards<'_, 'a> {
        RenameGuards {
            old: &mut self.old_guard,
            new: (!self.same_dir).then_some(&mut self.new_guard),
            moved: self.moved_guard.as_mut(),
            target: self.target_guard.as_mut(),
        }
    }
}

/// `statfs` figures.
pub(crate) struct StatFs {
    /// `f_type`.
    pub(crate) magic: u64,
    /// Block size.
    pub(crate) block_size: u64,
    /// Blocks in the filesystem (less its overhead).
    pub(crate) blocks: u64,
    /// Free blocks.
    pub(crate) free_blocks: u64,
    /// Free blocks for unprivileged users.
    pub(crate) avail_blocks: u64,
    /// Inodes.
    pub(crate) files: u64,
    /// Free inodes.
    pub(crate) free_files: u64,
    /// Longest name.
    pub(crate) name_len: u64,
    /// The filesystem's UUID, from which `f_fsid` is made
    /// (`uuid_to_fsid`).
    pub(crate) uuid: [u8; 16],
}

/// A Rust block-device filesystem.
pub(crate) trait FileSystem: Sized + Send + Sync + 'static {
    /// Name under which the type is registered (`/proc/filesystems`).
    const NAME: &'static CStr;
    /// Per-mount data (`s_fs_info`).
    type Data: Send + Sync;
    /// Per-inode data (`i_private`).
    type InodeData: Send + Sync;

    /// Reads and checks the on-disk super block; sets the block size.
    fn fill_super(sb: &SuperBlock<Self, New>) -> Result<SuperParams<Self::Data>>;
    /// Describes inode `ino`, which is not in the inode cache.
    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<Self::InodeData>>;
    /// Called once the root inode is read (by [`Self::read_inode`]) and
    /// before the mount is set up with it: what the mount writes to the
    /// device goes here, after everything that may refuse it. An error
    /// fails the mount, and [`Self::put_super`] is then not called.
    fn mount_ready(sb: &SuperBlock<Self>) -> Result;
    /// Finds `name` in directory `dir` and gets its inode (with
    /// [`SuperBlock::iget`]), or `None`.
    fn lookup(
        dir: &Inode<Self>,
        guard: &DirGuard<'_>,
        name: &[u8],
    ) -> Result<Option<kernel::sync::aref::ARef<Inode<Self>>>>;
    /// Emits the entries of `dir` from `ctx.pos()` on.
    fn readdir(dir: &Inode<Self>, guard: &DirGuard<'_>, ctx: &mut DirEmitter<'_>) -> Result;
    /// Filesystem statistics.
    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs>;
    /// A remount that switches between read-only (`read_only`) and
    /// read-write, with `s_umount` held, after the filesystem was synced
    /// (`synced` says how that went): on the way down no file is open for
    /// writing any more. `SB_RDONLY` changes once this returns `Ok`; an
    /// error leaves the mount as it was (and makes a forced remount
    /// read-only WARN: the way down should not fail). Returns the largest
    /// file size from then on.
    fn remount(sb: &SuperBlock<Self>, read_only: bool, synced: Result) -> Result<u64>;
    /// Maps `lblk` and up to `max_blocks - 1` following blocks: the one
    /// block mapper, for the engine and for the kernel's buffer_head paths
    /// (through `get_block`). With `create`, a hole at `lblk` is allocated
    /// (the answer then says `new`); `ENOSPC` when the disk is full.
    fn map_blocks(inode: &Inode<Self>, lblk: u64, max_blocks: u64, create: bool)
        -> Result<Mapping>;
    /// `read_folio`: reads one locked folio.
    fn read_folio(inode: &Inode<Self>, folio: ReadFolio) -> Result;
    /// `readahead`: starts reading the folios of `ra`.
    fn readahead(inode: &Inode<Self>, ra: &mut Readahead<'_>);
    /// `writepages`: writes the dirty folios that `wb` hands out.
    fn writepages(inode: &Inode<Self>, wb: Writeback<'_>) -> Result;
    /// `write_inode`: stores the inode in its on-disk table (the buffer is
    /// dirtied, not waited on).
    fn write_inode(inode: &Inode<Self>) -> Result;
    /// `sync_inode_metadata`: writes and waits for the inode's table block
    /// and its dirty metadata buffers (fsync's second half).
    fn sync_inode_metadata(inode: &Inode<Self>) -> Result;
    /// Changes the size of a regular file (truncate, extend), with
    /// `i_rwsem` held: frees the blocks past a smaller size.
    fn set_size(inode: &Inode<Self>, size: u64) -> Result;
    /// A write that would have ended at `end` failed part-way: frees the
    /// blocks it may have allocated past EOF (fs/ext2's ext2_write_failed).
    fn write_failed(inode: &Inode<Self>, end: u64);
    /// Testing: whether a folio that a write left uptodate gives up its
    /// buffer_heads, staying dirty, so that writeback maps it through
    /// [`Self::map_blocks`] (ext2's old `nobh` mode). No, by default.
    fn drops_written_buffers(_inode: &Inode<Self>) -> bool {
        false
    }
    /// `sync_fs`: writes the filesystem's own metadata (super block).
    fn sync_fs(sb: &SuperBlock<Self>, wait: bool) -> Result;
    /// `put_super`: the last words on unmount, after all inodes are gone.
    fn put_super(sb: &SuperBlock<Self>);
    /// Creates an inode for `name` in `dir` and links it there (`create`,
    /// `mknod`, `symlink`, `mkdir`; the VFS checked that `name` is not
    /// there). The VFS makes the new inode visible once this returns it.
    fn create(
        dir: &Inode<Self>,
        guard: &mut DirWriteGuard<'_>,
        name: &[u8],
        node: NewNode<'_>,
    ) -> Result<NewInode<Self>>;
    /// Adds `name` in `dir` for the existing `inode` (`link`).
    fn link(
        inode: &Inode<Self>,
        dir: &Inode<Self>,
        guard: &mut DirWriteGuard<'_>,
        name: &[u8],
    ) -> Result;
    /// Removes `name`, a name of `victim`, from `dir` (`unlink`).
    fn unlink(
        dir: &Inode<Self>,
        guard: &mut DirWriteGuard<'_>,
        name: &[u8],
        victim: &Inode<Self>,
    ) -> Result;
    /// Removes `name`, the directory `victim`, from `dir` if `victim` is
    /// empty (`rmdir`; `ENOTEMPTY` otherwise).
    fn rmdir(
        dir: &Inode<Self>,
        guard: &mut DirWriteGuard<'_>,
        name: &[u8],
        victim: &Inode<Self>,
        victim_guard: &mut DirWriteGuard<'_>,
    ) -> Result;
    /// Renames (`rename`).
    fn rename(rename: Rename<'_, Self>) -> Result;
    /// The last reference to an inode without links is going: frees what
    /// it holds on disk and the inode itself (ext2's evict of a deleted
    /// inode). Its page cache is already gone.
    fn delete_inode(inode: &Inode<Self>);
}

/// The kernel's C buffer_head read path for one folio
/// (`block_read_full_folio`), mapping through [`FileSystem::map_blocks`].
/// It unlocks the folio when the read ends.
pub(crate) fn block_read_full_folio<T: FileSystem>(folio: ReadFolio) -> Result {
    let ptr = folio.into_raw();
    // SAFETY: the folio is locked and its unlocking passes to
    // block_read_full_folio, which ends the read on every path.
    let ret = unsafe { ffi_ext::block_read_full_folio(ptr.cast(), Some(get_block::<T>)) };
    kernel::error::to_result(ret)
}

/// The kernel's C mpage engine for `read_folio` (`mpage_read_folio`), with a
/// `get_block` built on [`FileSystem::map_blocks`]: the engine we compare
/// against, on the same code and image.
pub(crate) fn c_mpage_read_folio<T: FileSystem>(folio: ReadFolio) -> Result {
    let ptr = folio.into_raw();
    // SAFETY: as for block_read_full_folio: mpage_read_folio takes over the
    // unlocking of the folio.
    let ret = unsafe { ffi_ext::mpage_read_folio(ptr.cast(), Some(get_block::<T>)) };
    kernel::error::to_result(ret)
}

/// The kernel's C mpage engine for readahead (`mpage_readahead`).
pub(crate) fn c_mpage_readahead<T: FileSystem>(ra: &mut Readahead<'_>) {
    // SAFETY: `ra` is the request of a readahead call in progress; the C
    // engine takes and unlocks its remaining folios.
    unsafe { ffi_ext::mpage_readahead(ra.as_ptr().cast(), Some(get_block::<T>)) };
}

/// The kernel's C mpage engine for `writepages` (`__mpage_writepages`, no
/// per-folio hook), with the same `get_block`.
pub(crate) fn c_mpage_writepages<T: FileSystem>(wb: Writeback<'_>) -> Result {
    let (mapping, wbc) = wb.into_raw();
    // SAFETY: the writepages call that `wb` came from is in progress; the C
    // engine walks the same mapping with the same writeback_control.
    let ret = unsafe {
        ffi_ext::__mpage_writepages(mapping.cast(), wbc.cast(), Some(get_block::<T>), None)
    };
    kernel::error::to_result(ret)
}

/// The kernel's buffer_head write path for one folio that the engine cannot
/// put in a bio whole (fs/buffer.c's `block_write_full_folio`, which is not
/// exported: its three cases are here, around the exported
/// `__block_write_full_folio`). It writes the folio's dirty blocks one by
/// one, mapping (and allocating) through `get_block`, and ends the folio.
pub(crate) fn block_write_full_folio<T: FileSystem>(
    inode: &Inode<T>,
    mut folio: WritebackFolio,
) -> Result {
    let i_size = inode.size();
    let pos = folio.pos();
    let size = folio.size();
    if pos >= i_size {
        // Wholly outside i_size: truncation is removing it.
        folio.skip();
        return Ok(());
    }
    if pos + size as u64 > i_size {
        // Straddles i_size: zero what lies past it on every writeback,
        // since it may be mmapped and written there.
        folio.zero_range((i_size - pos) as usize, size);
    }
    let wbc = folio.wbc();
    let ptr = folio.into_raw();
    // SAFETY: the folio is locked and dirty-for-io, its writeback is handed
    // over: __block_write_full_folio starts it or redirties, and unlocks.
    let ret = unsafe {
        ffi_ext::__block_write_full_folio(
            inode.as_ptr().cast(),
            ptr.cast(),
            Some(get_block::<T>),
            wbc.as_ptr().cast(),
        )
    };
    kernel::error::to_result(ret)
}

/// Moves EOF of a regular file to `size` in the page cache, as a size change
/// must before its blocks are freed: the part of the last block past `size`
/// is zeroed, in the page cache and on disk ([`zero_block_tail`], mpage
/// pitfall 19), then i_size is set and the folios past it go
/// (`truncate_setsize`). The caller holds `i_rwsem`.
pub(crate) fn truncate_page_cache<T: FileSystem>(inode: &Inode<T>, size: u64) -> Result {
    let size_arg = i64::try_from(size).map_err(|_| EFBIG)?;
    zero_block_tail(inode, size)?;
    // SAFETY: a live regular file of ours, with i_rwsem held by the caller.
    unsafe { bindings::truncate_setsize(inode.as_ptr(), size_arg) };
    Ok(())
}

/// Zeroes the bytes of the block holding byte `from` of `inode` from there
/// to the block's end, in the folio, and dirties the block so that the
/// disk gets the zeroes too: fs/buffer.c's `block_truncate_page`, which
/// cannot serve a large folio. It numbers the blocks from the start of the
/// page holding `from` while it walks the buffers from the start of the
/// folio, so in a large folio that begins pages earlier (as readahead makes
/// them, without buffers) it maps the buffer to a later block of the file:
/// the zeroed block is then written over that block, which the truncate
/// frees and the next allocation may hand out again, and the real last
/// block keeps the bytes that were cut off.
fn zero_block_tail<T: FileSystem>(inode: &Inode<T>, from: u64) -> Result {
    let blkbits = inode.blkbits();
    if from & ((1 << blkbits) - 1) == 0 {
        return Ok(());
    }
    // SAFETY: a live regular file of ours, with i_rwsem held by the caller,
    // so its mapping is stable.
    let folio = unsafe {
        ffi_ext::rmpage_grab_folio(
            (*inode.as_ptr()).i_mapping.cast(),
            from >> kernel::page::PAGE_SHIFT,
        )
    };
    let folio: *mut bindings::folio = kernel::error::from_err_ptr(folio)?.cast();
    // SAFETY: grab_folio returned the folio locked and referenced.
    let mut locked = unsafe { LockedFolio::from_raw(folio) };
    let res = zero_block_tail_in(inode, &mut locked, from);
    drop(locked);
    // SAFETY: the reference grab_folio took is ours; the folio is unlocked
    // and not used again.
    unsafe { ffi_ext::rmpage_folio_put(folio) };
    res
}

/// [`zero_block_tail`] in `folio`, locked, which holds byte `from`.
fn zero_block_tail_in<T: FileSystem>(
    inode: &Inode<T>,
    folio: &mut LockedFolio,
    from: u64,
) -> Result {
    let blkbits = inode.blkbits();
    let blocksize = 1usize << blkbits;
    let offset = (from - folio.pos()) as usize;
    let index = offset >> blkbits;
    let lblk = (folio.pos() >> blkbits) + index as u64;
    let folio_uptodate = folio.is_uptodate();
    {
        let mut buffers = folio.create_buffers(blocksize, index);
        let Some(mut buffer) = buffers.next() else {
            return Err(EIO);
        };
        if !buffer.is_mapped() {
            let mapping = T::map_blocks(inode, lblk, 1, false)?;
            let Some(pblk) = mapping.pblk_of(lblk) else {
                // A hole: it reads as zeroes already.
                return Ok(());
            };
            buffer.map(inode.super_block(), pblk, false, false);
        }
        if folio_uptodate {
            buffer.set_uptodate();
        } else if !buffer.prepare_state().uptodate {
            buffer.start_read();
            if !buffer.wait_read() {
                return Err(EIO);
            }
        }
        // Dirty before the zeroes go in is the same: the folio lock keeps
        // writeback out until both are done.
        buffer.mark_dirty();
    }
    folio.zero_cut_off(offset, (index + 1) << blkbits);
    Ok(())
}

/// Drops the page cache of `inode` past `size` (a failed write's folios past
/// EOF), without changing i_size.
pub(crate) fn truncate_page_cache_past<T: FileSystem>(inode: &Inode<T>, size: u64) {
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    // SAFETY: a live inode of ours; the caller holds i_rwsem.
    unsafe { bindings::truncate_pagecache(inode.as_ptr(), size) };
}

/// The time now, in seconds since the epoch.
pub(crate) fn now_seconds() -> i64 {
    // SAFETY: reads the clock.
    unsafe { ffi_ext::rmpage_now_seconds() }
}

/// `get_block_t` for the C buffer_head paths, on [`FileSystem::map_blocks`].
///
/// # Safety
///
/// Called by the kernel's buffer_head paths as a `get_block_t`, with an inode of `T`
/// whose folio they are reading or writing and a `bh_result` they own for the call.
unsafe extern "C" fn get_block<T: FileSystem>(
    inode: *mut bindings::inode,
    iblock: bindings::sector_t,
    bh_result: *mut bindings::buffer_head,
    create: c_int,
) -> c_int {
    // SAFETY: the C caller passes a live inode of ours (it came from a folio
    // of its page cache), set up since it has pages.
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    // SAFETY: `bh_result` is the caller's, for the duration of the call.
    let mut res = unsafe { MapResult::from_raw(bh_result, (*inode.as_ptr()).i_sb) };
    let blkbits = inode.blkbits();
    let max_blocks = ((res.requested_bytes() as u64) >> blkbits).max(1);
    from_result(|| {
        let m = T::map_blocks(inode, iblock, max_blocks, create != 0)?;
        if let MapKind::Mapped { pblk, boundary } = m.kind {
            let blocks = m.len.min(max_blocks);
            if m.new {
                // The device's cache may hold old metadata of these blocks
                // (an indirect block freed a moment ago): it must not be
                // written over the new data later (mpage pitfall 12).
                inode.super_block().bdev().clean_aliases(pblk, blocks);
            }
            res.map(
                pblk,
                (blocks << blkbits) as usize,
                boundary && blocks == m.len,
                m.new,
            );
        }
        Ok(0)
    })
}

/// Prepares bytes `from..to` of a locked folio of `inode` for a write to
/// copy into: fs/buffer.c's `__block_write_begin_int`, but the blocks of the
/// range are mapped (allocated) a run at a time, where the C helper asks
/// `get_block` for one block at a time, and only the buffers of the range
/// are visited, where the C helper walks every buffer of the folio (a large
/// folio has hundreds). The decisions are [`crate::mpage::write_begin`]'s.
/// On failure, new blocks in the range are zeroed and dirtied, so that a
/// stale block never reaches a reader. Returns where the write must end
/// if the disk ran out of blocks part-way ([`shortened_end`]).
fn prepare_write<T: FileSystem>(
    inode: &Inode<T>,
    folio: &mut LockedFolio,
    from: usize,
    to: usize,
) -> Result<Option<usize>> {
    let blkbits = inode.blkbits();
    if from & ((1 << blkbits) - 1) == 0 && to - from == 1 << blkbits {
        let res = prepare_whole_block(inode, folio, from >> blkbits);
        if res.is_err() {
            folio.zero_new_buffers(from, to);
        }
        return res.map(|()| None);
    }
    let res = prepare_buffers(inode, folio, &(from..to));
    let res = res.map(|prepared| {
        for range in prepared.zero.into_iter().flatten() {
            folio.zero_range(range.start, range.end);
        }
        prepared.end
    });
    if res.is_err() {
        folio.zero_new_buffers(from, to);
    }
    res
}

/// [`prepare_buffers`] for a write of exactly one whole block, the common
/// small write (4 KiB into 4 KiB blocks): nothing around it is read or
/// zeroed, and a disk found full fails it whole, so what is left is the
/// mapping and the buffer's flags, without the general walk's bookkeeping.
fn prepare_whole_block<T: FileSystem>(
    inode: &Inode<T>,
    folio: &LockedFolio,
    index: usize,
) -> Result {
    let blkbits = inode.blkbits();
    let folio_uptodate = folio.is_uptodate();
    let mut buffers = folio.create_buffers(1 << blkbits, index);
    let mut buffer = buffers.next().ok_or(EIO)?;
    let (mapped, mut state) = fresh_write_state(&mut buffer);
    if !mapped {
        let lblk = (folio.pos() >> blkbits) + index as u64;
        let (pblk, new, boundary) = map_one_for_write(inode, lblk)?;
        buffer.map(inode.super_block(), pblk, new, boundary);
        state.new = new;
    }
    let block = (index << blkbits)..((index + 1) << blkbits);
    match prepare_buffer(block.clone(), &block, folio_uptodate, state) {
        PrepareBuffer::MarkUptodate => buffer.set_uptodate(),
        PrepareBuffer::CommitNew => commit_new(&mut buffer),
        // A block the write covers whole is neither read nor zeroed
        // around.
        PrepareBuffer::Keep | PrepareBuffer::ZeroAround { .. } | PrepareBuffer::Read => {}
    }
    Ok(())
}

/// Whether `buffer` is mapped, and its [`PrepareState`], as a write finds
/// them: a BH_New left by an earlier write that failed says nothing now,
/// and is cleared.
fn fresh_write_state(buffer: &mut FolioBuffer<'_>) -> (bool, PrepareState) {
    let (mapped, mut state) = buffer.write_state();
    if state.new {
        buffer.clear_new();
        state.new = false;
    }
    (mapped, state)
}

/// [`map_for_write`] for the one block `lblk`: its device block, whether it
/// was allocated just now, and whether a boundary follows it, without the
/// run's bookkeeping.
fn map_one_for_write<T: FileSystem>(inode: &Inode<T>, lblk: u64) -> Result<(u64, bool, bool)> {
    let mapping = T::map_blocks(inode, lblk, 1, true)?;
    match mapping.kind {
        MapKind::Mapped { pblk, boundary } if mapping.len > 0 && mapping.lblk == lblk => {
            if mapping.new {
                // As in map_for_write (mpage pitfall 12).
                inode.super_block().bdev().clean_aliases(pblk, 1);
            }
            Ok((pblk, mapping.new, boundary && mapping.len == 1))
        }
        // Mapping with `create` allocates: anything else is the mapper's bug.
        _ => Err(EIO),
    }
}

/// A block just allocated under an uptodate folio: the folio's bytes are
/// what it must hold ([`PrepareBuffer::CommitNew`]).
fn commit_new(buffer: &mut FolioBuffer<'_>) {
    buffer.clear_new();
    buffer.set_uptodate();
    buffer.mark_dirty();
}

/// Byte ranges of a folio to zero around a write: the head of its first
/// block and the tail of its last, the only blocks a write can cover in
/// part (one block covered in part at both ends holds both).
type ZeroAround = [Option<core::ops::Range<usize>>; 2];

/// What [`prepare_buffers`] leaves the caller to do.
struct Prepared {
    /// Byte ranges to zero once the buffers are released.
    zero: ZeroAround,
    /// Where the write must end, the disk having run out of blocks there
    /// ([`shortened_end`]); `None`: where it was asked to.
    end: Option<usize>,
}

/// The buffers of `folio` that `write` touches, one by one: maps those not
/// mapped (one mapper call per run of blocks, allocating holes), then does
/// what [`prepare_buffer`] decides; waits for the reads it started.
fn prepare_buffers<T: FileSystem>(
    inode: &Inode<T>,
    folio: &LockedFolio,
    write: &core::ops::Range<usize>,
) -> Result<Prepared> {
    let blkbits = inode.blkbits();
    let blocksize = 1usize << blkbits;
    let first = write.start >> blkbits;
    let count = (write.end.div_ceil(blocksize) - first).max(1);
    let folio_uptodate = folio.is_uptodate();
    let mut run: Option<Mapping> = None;
    let mut zero: ZeroAround = Default::default();
    let mut reads: [Option<FolioBuffer<'_>>; 2] = [None, None];
    let mut res = Ok(());
    let mut end = None;
    let mut buffers = folio.create_buffers(blocksize, first).take(count);
    for (index, mut buffer) in (first..).zip(buffers.by_ref()) {
        let start = index << blkbits;
        let (mapped, mut state) = fresh_write_state(&mut buffer);
        if !mapped {
            let lblk = (folio.pos() >> blkbits) + index as u64;
            let mapped = match run {
                Some(mapping) if mapping.covers(lblk) => Ok(mapping),
                _ => map_for_write(inode, lblk, blocks_to_map(start, write, blkbits)),
            }
            .and_then(|mapping| {
                map_buffer(&mut buffer, inode.super_block(), &mapping, lblk)?;
                state.new = mapping.new;
                Ok(*run.insert(mapping))
            });
            if let Err(e) = mapped {
                if e == ENOSPC {
                    // Valid bytes from here on rule out a shorter write;
                    // the buffers after this one are looked at below.
                    let valid = folio_uptodate || state.uptodate;
                    end = shortened_end(write, start, valid);
                }
                // Reads already started must end before the folio goes
                // back unlocked, as in C.
                res = Err(e);
                break;
            }
        }
        let block = start..start + blocksize;
        match prepare_buffer(block, write, folio_uptodate, state) {
            PrepareBuffer::Keep => {}
            PrepareBuffer::MarkUptodate => buffer.set_uptodate(),
            PrepareBuffer::CommitNew => commit_new(&mut buffer),
            PrepareBuffer::ZeroAround { head, tail } => {
                let ranges = [head, tail].into_iter().filter(|r| !r.is_empty());
                for (slot, range) in zero.iter_mut().filter(|s| s.is_none()).zip(ranges) {
                    *slot = Some(range);
                }
            }
            PrepareBuffer::Read => {
                buffer.start_read();
                match reads.iter_mut().find(|slot| slot.is_none()) {
                    Some(slot) => *slot = Some(buffer),
                    None if !buffer.wait_read() => res = Err(EIO),
                    None => {}
                }
            }
        }
    }
    for buffer in reads.iter().flatten() {
        if !buffer.wait_read() {
            res = Err(EIO);
            end = None;
        }
    }
    if end.is_some() && !buffers.any(|buffer| buffer.prepare_state().uptodate) {
        // The disk is full from `end` on, and nothing valid lies under
        // the bytes past it: the write ends there.
        res = Ok(());
    }
    res.map(|()| Prepared { zero, end })
}

/// Maps `buffer`, the buffer of logical block `lblk`, as `mapping` says.
fn map_buffer<T: FileSystem>(
    buffer: &mut FolioBuffer<'_>,
    sb: &SuperBlock<T>,
    mapping: &Mapping,
    lblk: u64,
) -> Result {
    let MapKind::Mapped { pblk, boundary } = mapping.kind else {
        return Err(EIO);
    };
    let last = lblk == mapping.lblk + mapping.len - 1;
    buffer.map(
        sb,
        pblk + (lblk - mapping.lblk),
        mapping.new,
        boundary && last,
    );
    Ok(())
}

/// Maps (allocating) up to `max` blocks from `lblk` for a write.
fn map_for_write<T: FileSystem>(inode: &Inode<T>, lblk: u64, max: u64) -> Result<Mapping> {
    let mut mapping = T::map_blocks(inode, lblk, max, true)?;
    if mapping.len > max {
        // The boundary is past what we asked for.
        mapping.len = max;
        if let MapKind::Mapped { boundary, .. } = &mut mapping.kind {
            *boundary = false;
        }
    }
    match mapping.kind {
        MapKind::Mapped { pblk, .. } if mapping.len > 0 && mapping.lblk == lblk => {
            if mapping.new {
                // As get_block does: stale cached copies of these blocks
                // (an indirect block freed a moment ago) must not be
                // written over the new data later (mpage pitfall 12).
                inode.super_block().bdev().clean_aliases(pblk, mapping.len);
            }
            Ok(mapping)
        }
        // Mapping with `create` allocates: anything else is the mapper's bug.
        _ => Err(EIO),
    }
}

/// The name of `dentry`.
///
/// # Safety
///
/// The name is stable for `'a`: the caller holds the parent's `i_rwsem`
/// (or the dentry is being looked up).
unsafe fn dentry_name<'a>(dentry: *mut bindings::dentry) -> &'a [u8] {
    let mut len = 0u32;
    // SAFETY: the caller's guarantee; the helper returns the name's bytes.
    unsafe {
        let p = ffi_ext::rmpage_dentry_name(dentry.cast(), &mut len);
        core::slice::from_raw_parts(p, len as usize)
    }
}

/// The lock that keeps a directory's page cache still while lookup and
/// readdir read it: the VFS holds the directory's `i_rwsem` (shared) around
/// both, and every writer of directory blocks holds it exclusively.
///
/// # Invariants
///
/// `self.0` is a directory of ours whose `i_rwsem` the VFS holds for `'a`.
pub(crate) struct DirGuard<'a>(*mut bindings::inode, PhantomData<&'a ()>);

// SAFETY: while the guard exists the directory's i_rwsem is held (type
// invariant), so no writer of its folios runs: rext2 writes directory
// blocks only with i_rwsem held exclusively (it writes none yet at all), and
// truncation of a directory's page cache happens only at eviction, when
// nobody holds a reference to it.
unsafe impl ContentsGuard for DirGuard<'_> {
    fn covers(&self, folio: &Folio) -> bool {
        folio.belongs_to(self.0)
    }
}

/// The lock that gives one changer a directory's page cache: the VFS holds
/// the directory's `i_rwsem` exclusively around every call that changes a
/// directory (create, link, unlink, mkdir, rmdir, rename; and a directory
/// moved to another parent is locked too). Borrowed shared, it lets its
/// holder read the directory's folios ([`DirGuard`]); borrowed mutably, it
/// lets its holder change them ([`change_dir_block`]).
///
/// # Invariants
///
/// `self.0` is a directory of ours whose `i_rwsem` the VFS holds
/// exclusively for `'a`, or a new directory (`I_NEW`, in no directory yet)
/// that only the guard's holder reaches; either way, no other
/// `DirWriteGuard` of it exists.
pub(crate) struct DirWriteGuard<'a>(DirGuard<'a>);

impl<'a> DirWriteGuard<'a> {
    /// # Safety
    ///
    /// `dir` is a directory of ours whose `i_rwsem` the caller holds
    /// exclusively for `'a`, and no other `DirWriteGuard` of it exists.
    unsafe fn new(dir: *mut bindings::inode) -> Self {
        // INVARIANT: the caller's guarantee; exclusive implies shared.
        Self(DirGuard(dir, PhantomData))
    }
}

impl<'a> core::ops::Deref for DirWriteGuard<'a> {
    type Target = DirGuard<'a>;

    fn deref(&self) -> &DirGuard<'a> {
        &self.0
    }
}

// SAFETY: delegated to the shared guard it holds.
unsafe impl ContentsGuard for DirWriteGuard<'_> {
    fn covers(&self, folio: &Folio) -> bool {
        self.0.covers(folio)
    }
}

// SAFETY: with i_rwsem held exclusively (type invariant), no lookup or
// readdir reads the directory's folios, and every writer of them needs this
// guard, of which one exists per directory; while it is mutably borrowed,
// no `&DirGuard` taken from it is alive either.
unsafe impl ContentsWriter for DirWriteGuard<'_> {}

/// Calls `f` with the new directory `inode` and a guard to write its first
/// blocks with: an inode still `I_NEW` and in no directory is reached by
/// nobody else, and the borrow of `inode` keeps it so for the call.
pub(crate) fn with_new_dir_guard<T: FileSystem, R>(
    inode: &mut NewInode<T>,
    f: impl FnOnce(&Inode<T>, &mut DirWriteGuard<'_>) -> R,
) -> R {
    // SAFETY: as said above; a `NewInode` exists until it is published or
    // discarded, and `&mut` makes this the only guard made from it.
    let mut guard = unsafe { DirWriteGuard::new(inode.as_ptr()) };
    f(inode, &mut guard)
}

/// Changes block `block` of directory `dir` in its page cache, the way
/// ext2_prepare_chunk and ext2_commit_chunk do: the block is mapped (and
/// allocated, for a block past the end), `change` gets its bytes, and what
/// it changed is committed (buffers and folio dirty for writeback; the
/// directory grows to cover the block). `change` must leave the bytes as
/// they were when it fails.
pub(crate) fn change_dir_block<T: FileSystem, R>(
    dir: &Inode<T>,
    guard: &mut DirWriteGuard<'_>,
    block: u64,
    change: impl FnOnce(&mut [u8]) -> Result<R>,
) -> Result<R> {
    let blkbits = dir.blkbits();
    let pos = block << blkbits;
    let folio = dir.read_mapping_folio(pos >> kernel::page::PAGE_SHIFT)?;
    let mut locked = folio.lock_in(dir.as_ptr())?;
    locked.wait_writeback();
    let from = usize::try_from(pos - locked.pos())?;
    let to = from + (1usize << blkbits);
    prepare_write(dir, &mut locked, from, to)?;
    let in_page = from & (kernel::page::PAGE_SIZE - 1);
    let r = locked.with_page_mut(guard, from >> kernel::page::PAGE_SHIFT, |page| {
        page.get_mut(in_page..in_page + (1usize << blkbits))
            .ok_or(EIO)
            .and_then(change)
    })?;
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            drop(locked);
            // A block allocated past the end for nothing goes again.
            T::write_failed(dir, pos + (1u64 << blkbits));
            return Err(e);
        }
    };
    locked.commit_write(from, to);
    let end = pos + (1u64 << blkbits);
    if end > dir.size() {
        dir.set_size_dirty(end);
    }
    drop(locked);
    if dir.is_dirsync() {
        // `-o dirsync`: the change is on disk before the call returns
        // (ext2_handle_dirsync).
        dir.write_and_wait()?;
    }
    Ok(r)
}

/// A directory position and the `filldir` callback of a readdir call.
///
/// # Invariants
///
/// `self.0` points to the `dir_context` of an `iterate_shared` call in
/// progress, for `'a`.
pub(crate) struct DirEmitter<'a>(NonNull<bindings::dir_context>, PhantomData<&'a mut ()>);

impl DirEmitter<'_> {
    /// Current position (a byte offset in the directory, for ext2).
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: valid for 'a (type invariant).
        unsafe { (*self.0.as_ptr()).pos }
    }

    /// Moves the position.
    pub(crate) fn set_pos(&mut self, pos: i64) {
        // SAFETY: valid for 'a (type invariant); the caller owns `pos`.
        unsafe { (*self.0.as_ptr()).pos = pos };
    }

    /// Emits one entry; `false` means the caller's buffer is full, stop
    /// without advancing the position.
    pub(crate) fn emit(&mut self, name: &[u8], ino: u64, dtype: u8) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return false;
        };
        // SAFETY: valid for 'a (type invariant); `name` is `len` bytes.
        unsafe {
            ffi_ext::rmpage_dir_emit(
                self.0.as_ptr().cast(),
                name.as_ptr().cast(),
                len,
                ino,
                u32::from(dtype),
            )
        }
    }
}

/// `SB_RDONLY` (a macro in C).
const SB_RDONLY: c_uint = 1;

/// The operation tables of filesystem `T`. Constants, so that `&Tables::X`
/// is promoted to a `'static` table, one per filesystem type.
pub(crate) struct Tables<T: FileSystem>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const FC_OPS: ffi_ext::fs_context_operations = ffi_ext::fs_context_operations {
        get_tree: Some(Self::get_tree),
        reconfigure: Some(Self::reconfigure),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    const SOPS: bindings::super_operations = bindings::super_operations {
        evict_inode: Some(Self::evict_inode),
        free_inode: Some(Self::free_inode),
        write_inode: Some(Self::write_inode),
        sync_inode_metadata: Some(Self::sync_inode_metadata),
        put_super: Some(Self::put_super),
        sync_fs: Some(Self::sync_fs),
        statfs: Some(Self::statfs),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const AOPS: bindings::address_space_operations =
        bindings::address_space_operations {
            read_folio: Some(Self::read_folio),
            readahead: Some(Self::readahead),
            writepages: Some(Self::writepages),
            write_begin: Some(Self::write_begin),
            write_end: Some(Self::write_end),
            bmap: Some(Self::bmap),
            // Writes go through buffer_heads (write_begin attaches them), as
            // in the C ext2: these keep them in step with the folio.
            dirty_folio: Some(ffi_ext::block_dirty_folio),
            migrate_folio: Some(ffi_ext::buffer_migrate_folio),
            invalidate_folio: Some(ffi_ext::block_invalidate_folio),
            is_partially_uptodate: Some(ffi_ext::block_is_partially_uptodate),
            error_remove_folio: Some(bindings::generic_error_remove_folio),
            // SAFETY: all-zero (NULL pointers) is a valid table.
            ..unsafe { core::mem::zeroed() }
        };

    pub(crate) const FILE_IOPS: bindings::inode_operations = bindings::inode_operations {
        setattr: Some(Self::setattr),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const FILE_FOPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read_iter: Some(bindings::generic_file_read_iter),
        write_iter: Some(bindings::generic_file_write_iter),
        mmap_prepare: Some(Self::mmap_prepare),
        open: Some(bindings::generic_file_open),
        fsync: Some(bindings::simple_fsync),
        splice_read: Some(bindings::filemap_splice_read),
        splice_write: Some(bindings::iter_file_splice_write),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(bindings::filemap_fault),
        map_pages: Some(bindings::filemap_map_pages),
        page_mkwrite: Some(Self::page_mkwrite),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const DIR_IOPS: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(Self::lookup),
        create: Some(Self::create),
        link: Some(Self::link),
        unlink: Some(Self::unlink),
        symlink: Some(Self::symlink),
        mkdir: Some(Self::mkdir),
        rmdir: Some(Self::rmdir),
        mknod: Some(Self::mknod),
        rename: Some(Self::rename),
        setattr: Some(Self::setattr),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const DIR_FOPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(Self::iterate_shared),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    /// # Safety
    ///
    /// Called by the VFS as `init_fs_context` with a new `fs_context` of our type.
    unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
        let fc = fc.cast::<ffi_ext::fs_context>();
        // SAFETY: the VFS passes a new fs_context that we may set up.
        unsafe { (*fc).ops = &Self::FC_OPS };
        0
    }

    /// # Safety
    ///
    /// Called by the VFS as `fs_context_operations::get_tree`.
    unsafe extern "C" fn get_tree(fc: *mut ffi_ext::fs_context) -> c_int {
        // SAFETY: the VFS calls get_tree with a valid fs_context; the
        // callback is ours.
        unsafe { ffi_ext::get_tree_bdev(fc, Some(Self::fill_super)) }
    }

    /// # Safety
    ///
    /// Called by the VFS as `fs_context_operations::reconfigure` (remount).
    unsafe extern "C" fn reconfigure(fc: *mut ffi_ext::fs_context) -> c_int {
        // SAFETY: the VFS passes the remount's fs_context; the root dentry
        // pins the mounted super_block.
        let (flags, sb) = unsafe {
            (
                (*fc).sb_flags,
                SuperBlock::<T>::from_raw((*(*fc).root).d_sb),
            )
        };
        // reconfigure_super does not sync: as the C ext2 does, write
        // everything dirty first, so that a switch to read-only leaves
        // nothing behind (sync_filesystem does nothing on a read-only
        // mount).
        // SAFETY: reconfigure_super holds s_umount exclusively, as
        // sync_filesystem requires.
        let synced = kernel::error::to_result(unsafe { bindings::sync_filesystem(sb.as_ptr()) });
        // Only a switch between read-only and read-write concerns the
        // filesystem; other remounts change nothing (and, as in the C ext2,
        // a failed sync does not fail them: its errors stay with the files
        // and the device for fsync and syncfs to report).
        let want_ro = flags & SB_RDONLY != 0;
        if want_ro == sb.is_read_only() {
            return 0;
        }
        from_result(|| {
            let max_bytes = T::remount(sb, want_ro, synced)?;
            // SAFETY: s_umount is held exclusively; readers (write and
            // read checks, llseek) load s_maxbytes without a lock, so the
            // store is a single volatile one, as WRITE_ONCE would make it.
            unsafe {
                core::ptr::write_volatile(
                    &raw mut (*sb.as_ptr()).s_maxbytes,
                    max_bytes.min(i64::MAX as u64) as i64,
                )
            };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by `get_tree_bdev` with a new super_block of our type.
    unsafe extern "C" fn fill_super(
        sb: *mut bindings::super_block,
        _fc: *mut ffi_ext::fs_context,
    ) -> c_int {
        from_result(|| {
            // SAFETY: get_tree_bdev passes a new super_block of our type,
            // with its device open, that only this call sets up.
            let new = unsafe { SuperBlock::<T, New>::from_raw(sb) };
            let params = T::fill_super(new)?;
            // SAFETY: the data is never moved out of its box: kill_sb rebuilds
            // the Pin<KBox> from this pointer to drop it in place.
            let data = unsafe { Pin::into_inner_unchecked(params.data) };
            // SAFETY: as above. Once `s_fs_info` is set, `kill_sb` frees it on
            // every path, including a failure below.
            unsafe {
                (*sb).s_fs_info = KBox::into_raw(data).cast();
                (*sb).s_magic = params.magic as usize;
                (*sb).s_op = &Self::SOPS;
                (*sb).s_maxbytes = params.max_bytes.min(i64::MAX as u64) as i64;
                (*sb).s_time_gran = 1_000_000_000;
                // ext2's times are signed 32-bit seconds: the VFS clamps
                // what is set to them, as for the C ext2.
                (*sb).s_time_min = i64::from(i32::MIN);
                (*sb).s_time_max = i64::from(i32::MAX);
                (*sb).s_max_links = params.max_links;
            }
            // SAFETY: the super_block is now Ready.
            let ready = unsafe { SuperBlock::<T>::from_raw(sb) };
            let root = ready.iget(params.root_ino)?;
            // On failure the root goes (iput) and, s_root being unset,
            // put_super is not called.
            T::mount_ready(ready)?;
            // SAFETY: d_make_root consumes the inode reference we pass,
            // also on failure.
            let dentry = unsafe {
                bindings::d_make_root(kernel::sync::aref::ARef::into_raw(root).as_ptr().cast())
            };
            if dentry.is_null() {
                return Err(ENOMEM);
            }
            // SAFETY: the super_block is ours to set up.
            unsafe { (*sb).s_root = dentry };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `kill_sb` with a super_block of our type.
    unsafe extern "C" fn kill_sb(sb: *mut bindings::super_block) {
        // SAFETY: the VFS passes a super_block of ours being torn down. The
        // data goes after kill_block_super has evicted every inode.
        unsafe {
            let data = (*sb).s_fs_info;
            bindings::kill_block_super(sb);
            if !data.is_null() {
                drop(Pin::new_unchecked(KBox::from_raw(data.cast::<T::Data>())));
            }
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `evict_inode` with an inode of ours that has no users.
    unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
        // SAFETY: the VFS evicts an inode of ours, with no users left. An
        // inode that never finished setting up has no private box.
        unsafe {
            bindings::truncate_inode_pages_final(&raw mut (*inode).i_data);
            if !(*inode).i_private.is_null() {
                let ours = Inode::<T>::from_raw(inode);
                if ours.nlink() == 0 && !ffi_ext::rmpage_is_bad_inode(inode.cast()) {
                    // The last link went before the last reference: the
                    // file goes now, and its dirty indirect blocks with it.
                    T::delete_inode(ours);
                } else {
                    // A later fsync of the file (once read again) would not
                    // know its indirect blocks are dirty: write them now, as
                    // the C ext2 does. Errors stay on the buffers' mapping.
                    let _ = ours.metadata_buffers().sync();
                }
                ours.metadata_buffers().invalidate();
            }
            bindings::clear_inode(inode);
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `free_inode`, an RCU grace period after the
    /// inode was evicted: no RCU path walk can still see it.
    unsafe extern "C" fn free_inode(inode: *mut bindings::inode) {
        // Our data goes only now, since a fast symlink's `i_link` points into
        // it and RCU walkers read `i_link` without references. We have no
        // `alloc_inode`, so the inode goes back with `free_inode_nonrcu`.
        // SAFETY: the grace period has passed; nothing else uses the inode.
        unsafe {
            free_inode_box::<T>(inode);
            bindings::free_inode_nonrcu(inode);
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `statfs` with a dentry of a mounted filesystem of ours.
    unsafe extern "C" fn statfs(
        dentry: *mut bindings::dentry,
        buf: *mut bindings::kstatfs,
    ) -> c_int {
        from_result(|| {
            // SAFETY: the dentry is pinned by the caller, and its super_block
            // is mounted, so Ready.
            let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
            let st = T::statfs(sb)?;
            // SAFETY: `buf` is the caller's, for this call.
            unsafe {
                ffi_ext::rmpage_statfs_fill(
                    buf.cast(),
                    st.magic,
                    st.block_size,
                    st.blocks,
                    st.free_blocks,
                    st.avail_blocks,
                    st.files,
                    st.free_files,
                    st.name_len,
                    st.uuid.as_ptr(),
                )
            };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the page cache as `read_folio` with a locked folio of one of our inodes.
    unsafe extern "C" fn read_folio(
        _file: *mut bindings::file,
        folio: *mut bindings::folio,
    ) -> c_int {
        // SAFETY: read_folio gets a locked folio whose read is ours to end.
        let folio = unsafe { ReadFolio::from_raw(folio) };
        // SAFETY: the folio belongs to a mapping of one of our inodes, which
        // the page cache keeps alive while the folio is locked.
        let inode =
            unsafe { Inode::<T>::from_raw(ffi_ext::rmpage_folio_host(folio.as_ptr().cast())) };
        from_result(|| T::read_folio(inode, folio).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the page cache as `readahead` with a request on one of our inodes.
    unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
        // SAFETY: a readahead call in progress, for this function's duration.
        let mut ra = unsafe { Readahead::from_raw(rac) };
        // SAFETY: the request's mapping is one of our inodes' and pinned by
        // the caller.
        let inode = unsafe { Inode::<T>::from_raw((*(*rac).mapping).host) };
        T::readahead(inode, &mut ra);
    }

    /// # Safety
    ///
    /// Called by the page cache as `writepages` on a mapping of one of our inodes.
    unsafe extern "C" fn writepages(
        mapping: *mut bindings::address_space,
        wbc: *mut bindings::writeback_control,
    ) -> c_int {
        // SAFETY: the mapping's host is one of our inodes, pinned by the
        // caller for the call.
        let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
        // SAFETY: the arguments of this writepages call, for its duration.
        let wb = unsafe { Writeback::from_raw(mapping, wbc) };
        from_result(|| T::writepages(inode, wb).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by generic_perform_write as `write_begin` on one of our files.
    unsafe extern "C" fn write_begin(
        iocb: *const bindings::kiocb,
        mapping: *mut bindings::address_space,
        pos: bindings::loff_t,
        len: c_uint,
        foliop: *mut *mut bindings::folio,
        fsdata: *mut *mut c_void,
    ) -> c_int {
        // block_write_begin() would take a folio of one page whatever `len`
        // asks for, and refuse a range longer than that folio: take one
        // sized for the write (a large folio, where the mapping has them),
        // and prepare only the part of the range inside it, as
        // generic_perform_write expects.
        // SAFETY: `iocb` and `mapping` are the caller's for this call.
        let folio = unsafe {
            ffi_ext::rmpage_write_begin_get_folio(
                iocb.cast(),
                mapping.cast(),
                (pos as u64) >> kernel::page::PAGE_SHIFT,
                len as usize,
            )
        };
        let folio: *mut bindings::folio = match kernel::error::from_err_ptr(folio) {
            Ok(folio) => folio.cast(),
            Err(e) => return e.to_errno(),
        };
        // SAFETY: the mapping's host is one of our inodes, pinned by the
        // caller for the call.
        let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
        // SAFETY: write_begin_get_folio returned the folio locked and
        // referenced; the lock is ours until we hand the folio over.
        let mut locked = unsafe { LockedFolio::from_raw(folio) };
        let from = (pos as u64 - locked.pos()) as usize;
        let len = (len as usize).min(locked.size() - from);
        match prepare_write(inode, &mut locked, from, from + len) {
            Ok(end) => {
                // A write the disk cut short: write_end commits only the
                // bytes before `end`, which `fsdata` carries there as a
                // count from `pos` (no pointer: nothing is allocated).
                let commit = end.map_or(0, |end| end - from);
                // SAFETY: the caller takes the locked, referenced folio,
                // and hands `fsdata` back to write_end untouched.
                unsafe {
                    *foliop = locked.into_raw();
                    *fsdata = core::ptr::without_provenance_mut(commit);
                }
                0
            }
            Err(e) => {
                drop(locked);
                // SAFETY: the reference write_begin_get_folio took is ours
                // to give back; the folio is unlocked and not used again.
                unsafe { ffi_ext::rmpage_folio_put(folio) };
                T::write_failed(inode, pos as u64 + len as u64);
                e.to_errno()
            }
        }
    }

    /// # Safety
    ///
    /// Called by generic_perform_write as `write_end` after `write_begin`.
    unsafe extern "C" fn write_end(
        iocb: *const bindings::kiocb,
        mapping: *mut bindings::address_space,
        pos: bindings::loff_t,
        len: c_uint,
        copied: c_uint,
        folio: *mut bindings::folio,
        fsdata: *mut c_void,
    ) -> c_int {
        // SAFETY: the mapping's host is one of our inodes, pinned by the
        // caller for the call.
        let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
        let drop_buffers = T::drops_written_buffers(inode);
        if drop_buffers {
            // SAFETY: the folio write_begin returned, referenced until
            // generic_write_end puts it: the reference taken here keeps it
            // for after that.
            unsafe { ffi_ext::rmpage_folio_get(folio.cast()) };
        }
        // What write_begin could prepare when the disk ran out of blocks:
        // the bytes past it were copied but are not committed.
        let (commit_len, commit_copied) = match c_uint::try_from(fsdata.addr()) {
            Ok(0) | Err(_) => (len, copied),
            Ok(commit) => (len.min(commit), copied.min(commit)),
        };
        // SAFETY: generic_write_end commits the copied bytes, grows i_size
        // after they are in the folio (and dirties the inode), and unlocks
        // and puts the folio that write_begin returned.
        let ret = unsafe {
            ffi_ext::generic_write_end(
                iocb.cast(),
                mapping.cast(),
                pos,
                commit_len,
                commit_copied,
                folio.cast(),
                core::ptr::null_mut(),
            )
        };
        if drop_buffers {
            // SAFETY: the folio is ours by the reference taken above, which
            // is given back here; the helper takes the folio's lock itself
            // and checks that it is still in `mapping`.
            unsafe {
                ffi_ext::rmpage_folio_drop_written_buffers(mapping.cast(), folio.cast());
                ffi_ext::rmpage_folio_put(folio.cast());
            }
        }
        if ret < len as c_int {
            T::write_failed(inode, pos as u64 + u64::from(len));
        }
        ret
    }

    /// # Safety
    ///
    /// Called as `bmap` (FIBMAP) on a mapping of one of our inodes.
    unsafe extern "C" fn bmap(
        mapping: *mut bindings::address_space,
        block: bindings::sector_t,
    ) -> bindings::sector_t {
        // SAFETY: maps without creating, through our get_block.
        unsafe { ffi_ext::generic_block_bmap(mapping.cast(), block, Some(get_block::<T>)) }
    }

    /// # Safety
    ///
    /// Called by mmap as `mmap_prepare` for one of our regular files.
    unsafe extern "C" fn mmap_prepare(desc: *mut bindings::vm_area_desc) -> c_int {
        // SAFETY: the mapping being set up; the table is static.
        unsafe {
            ffi_ext::rmpage_mmap_prepare(desc.cast(), core::ptr::from_ref(&Self::VM_OPS).cast())
        }
    }

    /// # Safety
    ///
    /// Called by the fault handler as `page_mkwrite` for a mapping of ours.
    unsafe extern "C" fn page_mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: the fault in progress; its folio's blocks are allocated
        // through our get_block with the folio locked.
        unsafe { ffi_ext::rmpage_block_page_mkwrite(vmf.cast(), Some(get_block::<T>)) }
    }

    /// # Safety
    ///
    /// Called by notify_change as `setattr` on one of our regular files,
    /// with its i_rwsem held.
    unsafe extern "C" fn setattr(
        _idmap: *mut bindings::mnt_idmap,
        dentry: *mut bindings::dentry,
        attr: *mut bindings::iattr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: the dentry and attributes are the caller's, for the
            // call; the inode is one of ours.
            unsafe {
                kernel::error::to_result(ffi_ext::rmpage_setattr_prepare(
                    dentry.cast(),
                    attr.cast(),
                ))?;
                let inode =
                    Inode::<T>::from_raw(ffi_ext::rmpage_dentry_inode(dentry.cast()).cast());
                if (*attr).ia_valid & bindings::ATTR_SIZE != 0 {
                    let size = u64::try_from((*attr).ia_size).map_err(|_| EINVAL)?;
                    if size != inode.size() {
                        kernel::error::to_result(bindings::inode_newsize_ok(
                            inode.as_ptr(),
                            (*attr).ia_size,
                        ))?;
                        T::set_size(inode, size)?;
                    }
                }
                ffi_ext::rmpage_setattr_copy(inode.as_ptr().cast(), attr.cast());
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by writeback as `write_inode` on one of our inodes.
    unsafe extern "C" fn write_inode(
        inode: *mut bindings::inode,
        _wbc: *mut bindings::writeback_control,
    ) -> c_int {
        // SAFETY: a live inode of ours, pinned by writeback.
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        from_result(|| T::write_inode(inode).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by writeback as `sync_inode_metadata` on one of our inodes.
    unsafe extern "C" fn sync_inode_metadata(
        inode: *mut bindings::inode,
        _wbc: *mut bindings::writeback_control,
    ) -> c_int {
        // SAFETY: a live inode of ours, pinned by writeback.
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        from_result(|| T::sync_inode_metadata(inode).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the VFS as `sync_fs` on a mounted super_block of ours.
    unsafe extern "C" fn sync_fs(sb: *mut bindings::super_block, wait: c_int) -> c_int {
        // SAFETY: mounted, so Ready.
        let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
        from_result(|| T::sync_fs(sb, wait != 0).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by generic_shutdown_super as `put_super`, after every inode
    /// was evicted and before kill_sb frees our data.
    unsafe extern "C" fn put_super(sb: *mut bindings::super_block) {
        // SAFETY: still Ready: the data goes only in kill_sb.
        let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
        T::put_super(sb);
    }

    /// # Safety
    ///
    /// Called by the VFS as `lookup` with a directory of ours and a negative dentry.
    unsafe extern "C" fn lookup(
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        _flags: c_uint,
    ) -> *mut bindings::dentry {
        // SAFETY: the VFS passes a live directory of ours.
        let dir = unsafe { Inode::<T>::from_raw(dir) };
        // SAFETY: the dentry's name is stable during lookup.
        let name = unsafe { dentry_name(dentry) };
        // INVARIANT: the VFS holds the directory's i_rwsem around lookup.
        let guard = DirGuard(dir.as_ptr(), PhantomData);
        let inode = match T::lookup(dir, &guard, name) {
            Ok(None) => core::ptr::null_mut(),
            Ok(Some(i)) => kernel::sync::aref::ARef::into_raw(i).as_ptr().cast(),
            Err(e) => return e.to_ptr(),
        };
        // SAFETY: d_splice_alias consumes the inode reference (or NULL for a
        // negative dentry).
        unsafe { bindings::d_splice_alias(inode, dentry) }
    }

    /// Creates an inode for `dentry` in `dir` and makes it visible.
    ///
    /// # Safety
    ///
    /// Called from an inode operation that creates a name (`create`,
    /// `mknod`, `symlink`, `mkdir`): `dir` is a live directory of ours whose
    /// `i_rwsem` the VFS holds exclusively, `dentry` a negative dentry in it.
    unsafe fn make_node(
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        node: NewNode<'_>,
    ) -> Result {
        // SAFETY: the caller's guarantees.
        let (dir, name, mut guard) = unsafe {
            (
                Inode::<T>::from_raw(dir),
                dentry_name(dentry),
                DirWriteGuard::new(dir),
            )
        };
        let inode = T::create(dir, &mut guard, name, node)?;
        // SAFETY: d_instantiate_new takes our reference to the set-up,
        // linked inode and clears I_NEW.
        unsafe { bindings::d_instantiate_new(dentry, inode.into_raw()) };
        Ok(())
    }

    /// # Safety
    ///
    /// Called by the VFS as `create`, with `dir`'s `i_rwsem` held exclusively.
    unsafe extern "C" fn create(
        _idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
    ) -> c_int {
        let node = NewNode {
            mode,
            kind: NewKind::Regular,
        };
        // SAFETY: as make_node requires.
        from_result(|| unsafe { Self::make_node(dir, dentry, node) }.map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the VFS as `mknod`, with `dir`'s `i_rwsem` held exclusively.
    unsafe extern "C" fn mknod(
        _idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
        rdev: bindings::dev_t,
    ) -> c_int {
        let node = NewNode {
            mode,
            kind: NewKind::Special(rdev),
        };
        // SAFETY: as make_node requires.
        from_result(|| unsafe { Self::make_node(dir, dentry, node) }.map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the VFS as `symlink`, with `dir`'s `i_rwsem` held
    /// exclusively and a NUL-terminated target.
    unsafe extern "C" fn symlink(
        _idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        target: *const c_char,
    ) -> c_int {
        // SAFETY: the VFS passes a NUL-terminated string, live for the call.
        let target = unsafe { CStr::from_char_ptr(target) }.to_bytes();
        let node = NewNode {
            mode: (bindings::S_IFLNK | 0o777) as u16,
            kind: NewKind::Symlink(target),
        };
        // SAFETY: as make_node requires.
        from_result(|| unsafe { Self::make_node(dir, dentry, node) }.map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the VFS as `mkdir`, with `dir`'s `i_rwsem` held exclusively.
    unsafe extern "C" fn mkdir(
        _idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
    ) -> *mut bindings::dentry {
        let node = NewNode {
            mode: mode | bindings::S_IFDIR as u16,
            kind: NewKind::Directory,
        };
        // SAFETY: as make_node requires. NULL: `dentry` is the one used.
        match unsafe { Self::make_node(dir, dentry, node) } {
            Ok(()) => core::ptr::null_mut(),
            Err(e) => e.to_ptr(),
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `link`, with `dir`'s `i_rwsem` and the linked
    /// inode's held exclusively.
    unsafe extern "C" fn link(
        old_dentry: *mut bindings::dentry,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
    ) -> c_int {
        from_result(|| {
            // SAFETY: the VFS's guarantees: live dentries and inodes of ours,
            // `dir` locked exclusively.
            let (inode, dir, name, mut guard) = unsafe {
                (
                    Inode::<T>::from_raw(ffi_ext::rmpage_dentry_inode(old_dentry.cast()).cast()),
                    Inode::<T>::from_raw(dir),
                    dentry_name(dentry),
                    DirWriteGuard::new(dir),
                )
            };
            T::link(inode, dir, &mut guard, name)?;
            // SAFETY: the new dentry takes a reference of its own.
            unsafe {
                bindings::ihold(inode.as_ptr());
                bindings::d_instantiate(dentry, inode.as_ptr());
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `unlink`, with `dir`'s `i_rwsem` and the
    /// victim's held exclusively.
    unsafe extern "C" fn unlink(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
        from_result(|| {
            // SAFETY: the VFS's guarantees, as above.
            let (dir, name, victim, mut guard) = unsafe {
                (
                    Inode::<T>::from_raw(dir),
                    dentry_name(dentry),
                    Inode::<T>::from_raw(ffi_ext::rmpage_dentry_inode(dentry.cast()).cast()),
                    DirWriteGuard::new(dir),
                )
            };
            T::unlink(dir, &mut guard, name, victim).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `rmdir`, with `dir`'s `i_rwsem` and the
    /// victim directory's held exclusively.
    unsafe extern "C" fn rmdir(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
        from_result(|| {
            // SAFETY: the VFS's guarantees; the victim is another directory
            // than `dir`, locked by the VFS as well.
            let (dir, name, victim, mut guard, mut victim_guard) = unsafe {
                let victim = ffi_ext::rmpage_dentry_inode(dentry.cast()).cast();
                (
                    Inode::<T>::from_raw(dir),
                    dentry_name(dentry),
                    Inode::<T>::from_raw(victim),
                    DirWriteGuard::new(dir),
                    DirWriteGuard::new(victim),
                )
            };
            T::rmdir(dir, &mut guard, name, victim, &mut victim_guard).map(|()| 0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `rename`, with both directories locked
    /// (`lock_rename`), and the moved and target inodes locked as
    /// `vfs_rename` locks them.
    unsafe extern "C" fn rename(
        _idmap: *mut bindings::mnt_idmap,
        old_dir: *mut bindings::inode,
        old_dentry: *mut bindings::dentry,
        new_dir: *mut bindings::inode,
        new_dentry: *mut bindings::dentry,
        flags: c_uint,
    ) -> c_int {
        if flags & !bindings::RENAME_NOREPLACE != 0 {
            return EINVAL.to_errno();
        }
        // SAFETY: the VFS's guarantees: live dentries of ours, the moved
        // inode positive, the target maybe not.
        let (moved, target) = unsafe {
            (
                ffi_ext::rmpage_dentry_inode(old_dentry.cast()).cast::<bindings::inode>(),
                ffi_ext::rmpage_dentry_inode(new_dentry.cast()).cast::<bindings::inode>(),
            )
        };
        let same_dir = old_dir == new_dir;
        // SAFETY: as above.
        let moved_is_dir = unsafe { Inode::<T>::from_raw(moved) }.is_dir();
        // SAFETY: vfs_rename locks a directory that changes parent, and a
        // target; `lock_rename` locks both parents (once if the same).
        let guards = unsafe {
            (
                DirWriteGuard::new(old_dir),
                DirWriteGuard::new(new_dir),
                (moved_is_dir && !same_dir).then(|| DirWriteGuard::new(moved)),
                (!target.is_null() && Inode::<T>::from_raw(target).is_dir())
                    .then(|| DirWriteGuard::new(target)),
            )
        };
        // SAFETY: as above; the names are stable under the parents' locks.
        let rename = unsafe {
            Rename {
                old_dir: Inode::<T>::from_raw(old_dir),
                old_name: dentry_name(old_dentry),
                moved: Inode::<T>::from_raw(moved),
                new_dir: Inode::<T>::from_raw(new_dir),
                new_name: dentry_name(new_dentry),
                target: (!target.is_null()).then(|| Inode::<T>::from_raw(target)),
                same_dir,
                old_guard: guards.0,
                new_guard: guards.1,
                moved_guard: guards.2,
                target_guard: guards.3,
            }
        };
        from_result(|| T::rename(rename).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the VFS as `iterate_shared` with a directory of ours open in `file`.
    unsafe extern "C" fn iterate_shared(
        file: *mut bindings::file,
        ctx: *mut bindings::dir_context,
    ) -> c_int {
        // SAFETY: the file is open on a directory of ours.
        let dir = unsafe { Inode::<T>::from_raw(ffi_ext::rmpage_file_inode(file.cast())) };
        // INVARIANT: `ctx` is valid for this call.
        let mut emitter = DirEmitter(
            NonNull::new(ctx).expect("dir_context is never NULL"),
            PhantomData,
        );
        // INVARIANT: the VFS holds the directory's i_rwsem (shared) around
        // iterate_shared.
        let guard = DirGuard(dir.as_ptr(), PhantomData);
        from_result(|| T::readdir(dir, &guard, &mut emitter).map(|()| 0))
    }
}

/// Storage for a `struct file_system_type`.
///
/// It must be a `static`: the VFS keeps lockdep class keys inside it
/// (`s_umount_key` and friends), and lockdep accepts only keys in static
/// memory.
pub(crate) struct FileSystemType(Opaque<bindings::file_system_type>);

// SAFETY: the VFS serialises access to a registered type; we write it only
// before registering it, under `Registration::new`'s exclusive claim.
unsafe impl Sync for FileSystemType {}

impl FileSystemType {
    /// An unregistered, zeroed type, for a `static`.
    pub(crate) const fn new() -> Self {
        Self(Opaque::zeroed())
    }
}

/// A registered filesystem type, with the bio_set its mounts' bios come
/// from; unregistered on drop, and the bio_set torn down once the last
/// completion has returned.
///
/// # Invariants
///
/// `self.fs` is registered with the VFS, for filesystem `T`, until `drop`.
pub(crate) struct Registration<T: FileSystem> {
    fs: &'static FileSystemType,
    // Dropped after `drop` has unregistered the type and waited for the
    // completions: no bio of ours exists by then.
    _bios: super::bio::BioSet,
    _t: PhantomData<T>,
}

// SAFETY: registration and unregistration may happen on any thread.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Registers `T` in `fs` as a filesystem type owned by `module`, so that
    /// the module cannot be unloaded while a filesystem of this type is
    /// mounted. Fails with `EBUSY` if `fs` is registered already.
    pub(crate) fn new(
        fs: &'static FileSystemType,
        module: &'static kernel::ThisModule,
    ) -> Result<Self> {
        let ptr = fs.0.get();
        // SAFETY: an unregistered type is ours alone: the VFS does not see it,
        // and a registered one has a non-NULL `name`, which we refuse.
        if unsafe { !(*ptr).name.is_null() } {
            return Err(EBUSY);
        }
        // Before the type is visible: a mount may make bios at once.
        let bios = super::bio::BioSet::new()?;
        // SAFETY: as above, the type is still ours alone.
        unsafe {
            (*ptr).name = T::NAME.as_char_ptr();
            (*ptr).owner = module.as_ptr();
            (*ptr).fs_flags = bindings::FS_REQUIRES_DEV as c_int;
            (*ptr).init_fs_context = Some(Tables::<T>::init_fs_context);
            (*ptr).kill_sb = Some(Tables::<T>::kill_sb);
        }
        // SAFETY: the type is fully set up and static.
        let ret = unsafe { bindings::register_filesystem(ptr) };
        if ret != 0 {
            // SAFETY: not registered, so still ours.
            unsafe { (*ptr).name = core::ptr::null() };
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: registered just now.
        Ok(Self {
            fs,
            _bios: bios,
            _t: PhantomData,
        })
    }
}

impl<T: FileSystem> Drop for Registration<T> {
    fn drop(&mut self) {
        let ptr = self.fs.0.get();
        // SAFETY: registered (type invariant). The module's refcount kept us
        // from being dropped while any super_block of the type exists; once
        // unregistered the type is ours again.
        unsafe {
            bindings::unregister_filesystem(ptr);
            // Inodes are freed after an RCU grace period (`free_inode`):
            // wait for those callbacks, which run our code, to finish.
            bindings::rcu_barrier();
            // The last mount waited for its bios, but their completions may
            // still be returning through our code.
            super::bio::synchronize_completions();
            (*ptr).name = core::ptr::null();
        }
    }
}
