// SPDX-License-Identifier: GPL-2.0

//! Inodes and their block maps (fs/ext2/inode.c): reading and writing the
//! on-disk inode, mapping and allocating blocks (the decisions are in
//! [`super::blockmap`]), and changing a file's size.

use super::{
    allocator::AllocError,
    blockmap::{self, Goal, MapStore},
    corrupt, corrupt_inode, dirent,
    format::{self, Corrupt},
    superblock::SbInfo,
    Rext2,
};
use crate::{
    mpage::{
        mapping::{MapKind, Mapping},
        Mapper, Stats,
    },
    rust_bindings::{
        fs::{now_seconds, truncate_page_cache, truncate_page_cache_past, NewKind, NewNode},
        inode::{Inode, InodeKind, InodeParams, NewInode, NewOwner},
        super_block::SuperBlock,
    },
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{atomic::Atomic, Mutex},
};

/// What the block map lock protects: the inode's block pointers, the fields
/// of its on-disk inode that the VFS does not keep, and where it allocated
/// last (ext2's `truncate_mutex` and `i_block_alloc_info`).
pub(crate) struct MapState {
    /// The on-disk inode as read, with `block` kept current.
    pub(crate) disk: format::Inode,
    /// (logical, device) block of the last allocation, for sequential
    /// writes to come out contiguous.
    last_alloc: Option<(u64, u64)>,
    /// Created and never written: its first write clears the whole
    /// on-disk inode first, which holds what a deleted inode left there
    /// (ext2's `EXT2_STATE_NEW`).
    new: bool,
}

/// Per-inode state.
#[pin_data]
pub(crate) struct InodeInfo {
    /// The block map and the on-disk fields it goes with; block mapping,
    /// allocation and truncation of the inode hold it.
    #[pin]
    pub(crate) map: Mutex<MapState>,
    /// The inode's group, where its blocks go first.
    group: u32,
    /// A corruption of this inode was logged: say it once, not on every
    /// retry of every reader.
    pub(crate) reported: Atomic<bool>,
    /// For a directory, the block where the last lookup found its name:
    /// the next one starts there (ext2's `i_dir_start_lookup`), so that
    /// names looked up in directory order, as `ls -l` and `find` do, cost a
    /// block each, not a walk from the first block.
    pub(crate) dir_start_lookup: Atomic<u64>,
    /// For a directory, where its searches for room start
    /// ([`dirent::RoomHint`], as a word).
    pub(crate) dir_room_hint: Atomic<u64>,
}

/// The metadata store of one inode's block map: indirect blocks through the
/// buffer cache (dirtied as the inode's metadata, so its fsync writes them),
/// blocks from the mount's allocator.
struct InodeStore<'a> {
    inode: &'a Inode<Rext2>,
    /// Blocks allocated (positive) or freed through this store.
    allocated: core::cell::Cell<u64>,
}

impl InodeStore<'_> {
    fn sb(&self) -> &SuperBlock<Rext2> {
        self.inode.super_block()
    }

    fn alloc_error(&self, e: AllocError) -> Error {
        match e {
            AllocError::Kernel(e) => e,
            AllocError::Corrupt(c) => corrupt(self.sb(), 0, c),
        }
    }
}

impl MapStore for InodeStore<'_> {
    type Error = Error;

    fn corrupt(&self, c: Corrupt) -> Error {
        corrupt_inode(self.inode, c)
    }

    fn read_ptrs(&self, blk: u64, start: usize, out: &mut [u32]) -> Result {
        self.sb().read_le32s(blk, start, out)
    }

    fn read_ptr(&self, blk: u64, index: usize) -> Result<u32> {
        self.sb().read_le32(blk, index)
    }

    fn write_ptrs(&self, blk: u64, start: usize, ptrs: &[u32]) -> Result {
        let bh = self.sb().bread(blk)?;
        bh.write_le32s(start, ptrs)?;
        bh.mark_dirty_for(self.inode.metadata_buffers());
        Ok(())
    }

    fn new_indirect(&self, blk: u64, start: usize, ptrs: &[u32]) -> Result {
        let bh = self.sb().new_block(blk)?;
        bh.write_le32s(start, ptrs)?;
        bh.mark_dirty_for(self.inode.metadata_buffers());
        Ok(())
    }

    fn alloc(&self, goal: u64, max: u64) -> Result<(u64, u64)> {
        let info = SbInfo::of(self.sb());
        let run = info
            .alloc
            .alloc(self.sb(), goal, max)
            .map_err(|e| self.alloc_error(e))?;
        self.allocated.set(self.allocated.get() + run.1);
        Stats::inc(&info.engine.stats().blocks_allocated, run.1);
        Ok(run)
    }

    fn free(&self, first: u64, count: u64, indirect: bool) -> Result {
        if indirect {
            for block in first..first.saturating_add(count) {
                self.sb().forget_block(block);
            }
        }
        SbInfo::of(self.sb())
            .alloc
            .free(self.sb(), first, count)
            .map_err(|e| self.alloc_error(e))
    }
}

/// Maps (and with `create`, allocates) blocks of `inode`: the one mapper
/// behind the engine and the kernel's buffer_head paths.
pub(crate) fn map_blocks(
    inode: &Inode<Rext2>,
    lblk: u64,
    max: u64,
    create: bool,
) -> Result<Mapping> {
    let info = SbInfo::of(inode.super_block());
    let data = inode.data();
    let store = InodeStore {
        inode,
        allocated: core::cell::Cell::new(0),
    };
    let mut map = data.map.lock();
    // Most calls with `create` find the block mapped too (a write over
    // data on disk): they are answered here, before anything an
    // allocation needs is gathered.
    let found = blockmap::lookup(&info.fs, &map.disk.block, &store, lblk, max)?;
    if !create || found.kind != MapKind::Hole {
        return Ok(found);
    }
    if inode.super_block().is_read_only() {
        return Err(EROFS);
    }
    let goal = Goal {
        last: map.last_alloc,
        group_start: super::balloc::group_first_block(&info.fs, data.group),
    };
    let done = blockmap::allocate(&info.fs, &mut map.disk.block, &store, lblk, max, &goal)?;
    if done.mapping.new {
        if let Some(pblk) = done.mapping.pblk_of(lblk + done.mapping.len - 1) {
            map.last_alloc = Some((lblk + done.mapping.len - 1, pblk));
        }
        inode.add_blocks(done.blocks);
        inode.mark_dirty();
    }
    Ok(done.mapping)
}

/// The block mapper the engine uses for one inode.
pub(crate) struct BlockMap<'a> {
    pub(crate) inode: &'a Inode<Rext2>,
}

impl Mapper for BlockMap<'_> {
    fn map(&self, lblk: u64, max_blocks: u64, create: bool) -> Result<Mapping> {
        let mut m = map_blocks(self.inode, lblk, max_blocks, create)?;
        if !create {
            debug_fill(&mut m);
        }
        Ok(m)
    }

    fn may_fill(&self) -> bool {
        crate::debug_filled_block().is_some()
    }
}

/// Testing (debug_filled_block): that one block comes back in a mapping of
/// its own, said to be filled, as a get_block that copies a block's data into
/// the page itself answers for that block only.
fn debug_fill(m: &mut Mapping) {
    let Some(b) = crate::debug_filled_block().filter(|&b| m.covers(b)) else {
        return;
    };
    let len = m.len;
    if b > m.lblk {
        m.len = b - m.lblk;
    } else {
        m.len = 1;
        m.filled = true;
    }
    if m.len < len {
        // Cut short: the run goes on, so this is no boundary.
        if let MapKind::Mapped { boundary, .. } = &mut m.kind {
            *boundary = false;
        }
    }
}

/// Frees the blocks of `inode` from byte `size` on (rounded up to a block).
fn free_blocks_from(inode: &Inode<Rext2>, size: u64) -> Result {
    let info = SbInfo::of(inode.super_block());
    let bits = info.fs.blkbits;
    let from = (size >> bits) + u64::from(size & ((1 << bits) - 1) != 0);
    let store = InodeStore {
        inode,
        allocated: core::cell::Cell::new(0),
    };
    let mut map = inode.data().map.lock();
    let freed = blockmap::truncate(&info.fs, &mut map.disk.block, &store, from);
    map.last_alloc = None;
    if let Ok(freed) = freed {
        inode.sub_blocks(freed);
    }
    // Even a truncate that failed half-way (an I/O error) changed the block
    // map: the inode must be written with it, or it would point at blocks
    // that are free.
    inode.mark_dirty();
    freed.map(|_| ())
}

/// Changes the size of a regular file (ext2_setsize): the page cache first
/// (zeroing the rest of the new last block, dropping the folios past it),
/// then the blocks past the new size.
pub(crate) fn set_size(inode: &Inode<Rext2>, size: u64) -> Result {
    if inode.super_block().is_read_only() {
        return Err(EROFS);
    }
    truncate_page_cache(inode, size)?;
    free_blocks_from(inode, size)
}

/// A write failed part-way (ext2_write_failed): the blocks it allocated
/// past EOF, and their folios, go.
pub(crate) fn write_failed(inode: &Inode<Rext2>, end: u64) {
    let size = inode.size();
    if end > size {
        truncate_page_cache_past(inode, size);
        // An error here was reported where it happened (corruption), and the
        // write already fails.
        let _ = free_blocks_from(inode, size);
    }
}

/// Where inode `ino`'s on-disk copy lives: its block and the offset in it.
fn location(sb: &SuperBlock<Rext2>, ino: u64) -> Result<(u64, usize)> {
    let info = SbInfo::of(sb);
    let fs = &info.fs;
    let (group, off) = fs.inode_location(ino).map_err(|c| corrupt(sb, ino, c))?;
    let table = info.alloc.inode_table(group).ok_or(EUCLEAN)?;
    let blk = u64::from(table) + (off >> fs.blkbits);
    Ok((blk, (off & (fs.block_size() - 1)) as usize))
}

/// `write_inode`: stores the inode into its table block (ext2_write_inode),
/// which is dirtied and waited on only by fsync (sync_inode_metadata).
pub(crate) fn write_inode(inode: &Inode<Rext2>) -> Result {
    let sb = inode.super_block();
    if sb.is_read_only() {
        return Ok(());
    }
    let (blk, at) = location(sb, inode.ino())?;
    let attrs = inode.attrs();
    let mut disk = inode.data().map.lock().disk.clone();
    disk.mode = attrs.mode;
    disk.uid = attrs.uid;
    disk.gid = attrs.gid;
    disk.links = u16::try_from(attrs.nlink).unwrap_or(u16::MAX);
    disk.size = attrs.size;
    disk.atime = attrs.atime as u32;
    disk.mtime = attrs.mtime as u32;
    disk.ctime = attrs.ctime as u32;
    disk.blocks = u32::try_from(attrs.blocks).map_err(|_| EFBIG)?;
    disk.generation = attrs.generation;
    let bh = sb.bread(blk)?;
    let mut raw = [0u8; format::INODE_CORE_SIZE];
    let new = inode.data().map.lock().new;
    if new {
        // What a deleted inode left past the fields rext2 writes goes too.
        let inode_size = SbInfo::of(sb).fs.inode_size as usize;
        let rest = [0u8; 256];
        let mut cleared = format::INODE_CORE_SIZE;
        while cleared < inode_size {
            let len = (inode_size - cleared).min(rest.len());
            bh.write(at + cleared, &rest[..len])?;
            cleared += len;
        }
    } else {
        bh.read(at, &mut raw)?;
    }
    disk.store(&mut raw).map_err(|c| corrupt_inode(inode, c))?;
    bh.write(at, &raw)?;
    bh.mark_dirty();
    if new {
        inode.data().map.lock().new = false;
    }
    inode.set_metadata_writeback();
    Ok(())
}

/// `sync_inode_metadata`: fsync's second half. The inode's indirect blocks,
/// the allocation metadata its blocks changed, then its table block, all
/// written and waited on (mpage pitfall 20).
pub(crate) fn sync_inode_metadata(inode: &Inode<Rext2>) -> Result {
    let sb = inode.super_block();
    let mut ret = inode.metadata_buffers().sync();
    ret = ret.and(SbInfo::of(sb).sync_allocation(sb));
    let (blk, _) = location(sb, inode.ino())?;
    ret.and(sb.bread(blk)?.sync())
}

/// Describes inode `ino` from its on-disk copy (ext2_iget).
pub(crate) fn read_inode(sb: &SuperBlock<Rext2>, ino: u64) -> Result<InodeParams<InodeInfo>> {
    let info = SbInfo::of(sb);
    let fs = &info.fs;
    let (blk, at) = location(sb, ino)?;
    // The fields rext2 reads are in the first 128 bytes of every inode
    // size the format allows.
    let mut bytes = [0u8; format::INODE_CORE_SIZE];
    sb.bread(blk)?.read(at, &mut bytes)?;
    let raw = format::Inode::parse(&bytes).map_err(|c| corrupt(sb, ino, c))?;
    // The root is read once, by the mount, which it must be able to serve
    // (ext2_fill_super's check, before the mount writes anything).
    if ino == u64::from(format::ROOT_INO) {
        raw.check_root().map_err(|c| corrupt(sb, ino, c))?;
    }
    // A deleted inode is stale, not corrupt (ext2_iget): the lookup that
    // met it through a directory entry reports the entry.
    if raw.is_deleted() {
        return Err(ESTALE);
    }
    raw.check_links().map_err(|c| corrupt(sb, ino, c))?;
    let kind = inode_kind(sb, ino, &raw)?;
    let large_folios = matches!(kind, InodeKind::Regular) && crate::large_folios_param();
    let group = (ino - 1)
        .checked_div(u64::from(fs.inodes_per_group))
        .unwrap_or(0) as u32;
    inode_params(raw, kind, group, large_folios, false)
}

/// What the VFS inode is set up with, for an inode of `kind` whose on-disk
/// copy is `disk` (read, or being created: `new`) in group `group`.
fn inode_params(
    disk: format::Inode,
    kind: InodeKind,
    group: u32,
    large_folios: bool,
    new: bool,
) -> Result<InodeParams<InodeInfo>> {
    let (mode, size, links, uid, gid) = (disk.mode, disk.size, disk.links, disk.uid, disk.gid);
    let (atime, mtime, ctime) = (disk.atime, disk.mtime, disk.ctime);
    let (blocks, generation) = (disk.blocks, disk.generation);
    let data = KBox::pin_init(
        try_pin_init!(InodeInfo {
            map <- new_mutex!(MapState {
                disk,
                last_alloc: None,
                new,
            }),
            group,
            reported: Atomic::new(false),
            dir_start_lookup: Atomic::new(0),
            dir_room_hint: Atomic::new(dirent::RoomHint::NONE.to_word()),
        }),
        GFP_KERNEL,
    )?;
    Ok(InodeParams {
        kind,
        mode,
        size,
        nlink: u32::from(links),
        uid,
        gid,
        // Signed on disk, as ext2_iget reads them.
        atime: i64::from(atime as i32),
        mtime: i64::from(mtime as i32),
        ctime: i64::from(ctime as i32),
        blocks: u64::from(blocks),
        generation,
        large_folios,
        data,
    })
}

/// What kind of object an on-disk inode is, checked against its size.
fn inode_kind(sb: &SuperBlock<Rext2>, ino: u64, raw: &format::Inode) -> Result<InodeKind> {
    let fs = &SbInfo::of(sb).fs;
    let bs = fs.block_size();
    Ok(match raw.mode & format::S_IFMT {
        format::S_IFREG => {
            if raw.size > fs.max_bytes() {
                return Err(corrupt(sb, ino, Corrupt::TooLarge(raw.size)));
            }
            InodeKind::Regular
        }
        format::S_IFDIR => {
            if raw.size == 0 || raw.size & (bs - 1) != 0 {
                return Err(corrupt(sb, ino, Corrupt::InodeSizeMismatch(raw.size)));
            }
            InodeKind::Directory
        }
        format::S_IFLNK if raw.is_fast_symlink(fs.blkbits) => {
            let (t, len) = raw.fast_symlink_target().map_err(|c| corrupt(sb, ino, c))?;
            let mut v = KVec::with_capacity(len, GFP_KERNEL)?;
            v.extend_from_slice(&t[..len], GFP_KERNEL)?;
            InodeKind::FastSymlink(v)
        }
        format::S_IFLNK => {
            if raw.size == 0 || raw.size >= bs {
                return Err(corrupt(sb, ino, Corrupt::InodeSizeMismatch(raw.size)));
            }
            InodeKind::SlowSymlink
        }
        _ => {
            // Device numbers: old encoding in block[0], new in block[1].
            let dev = if raw.block[0] != 0 {
                raw.block[0]
            } else {
                raw.block[1]
            };
            InodeKind::Special(dev)
        }
    })
}

/// Creates inode `ino`'s in-memory and on-disk description for a new name
/// in `dir` (ext2_new_inode, past the bitmap): owner and mode from the VFS,
/// times now, flags inherited from `dir`, a generation of its own, no
/// blocks. The on-disk inode is written by the first `write_inode`, which
/// clears the slot first.
fn describe_new(
    dir: &Inode<Rext2>,
    ino: u64,
    owner: &NewOwner,
    kind: &NewKind<'_>,
) -> Result<InodeParams<InodeInfo>> {
    let info = SbInfo::of(dir.super_block());
    let now = now_seconds() as u32;
    let dir_flags = dir.data().map.lock().disk.flags;
    let (kind, block, size) = match *kind {
        NewKind::Regular => (InodeKind::Regular, [0; format::N_BLOCKS], 0),
        NewKind::Directory => (InodeKind::Directory, [0; format::N_BLOCKS], 0),
        NewKind::Special(rdev) => {
            let block = format::device_pointers(rdev);
            let encoded = if block[0] != 0 { block[0] } else { block[1] };
            (InodeKind::Special(encoded), block, 0)
        }
        NewKind::Symlink(target) => match format::fast_symlink_pointers(target) {
            Some(block) => {
                let mut copy = KVec::with_capacity(target.len(), GFP_KERNEL)?;
                copy.extend_from_slice(target, GFP_KERNEL)?;
                (InodeKind::FastSymlink(copy), block, target.len() as u64)
            }
            // The target goes into a block once the inode exists.
            None => (InodeKind::SlowSymlink, [0; format::N_BLOCKS], 0),
        },
    };
    let generation = info.next_generation();
    let disk = format::Inode {
        mode: owner.mode,
        uid: owner.uid,
        gid: owner.gid,
        size,
        atime: now,
        ctime: now,
        mtime: now,
        dtime: 0,
        links: 1,
        blocks: 0,
        flags: format::inherited_flags(owner.mode, dir_flags),
        block,
        generation,
        file_acl: 0,
    };
    let group = ((ino - 1) / u64::from(info.fs.inodes_per_group)) as u32;
    let large_folios = matches!(kind, InodeKind::Regular) && crate::large_folios_param();
    inode_params(disk, kind, group, large_folios, true)
}

/// Allocates an inode for a new name in `dir` and sets it up (ext2_new_inode).
/// A slow symlink gets its target written; a directory is left without
/// blocks, for the caller to fill.
pub(crate) fn new_inode(dir: &Inode<Rext2>, node: &NewNode<'_>) -> Result<NewInode<Rext2>> {
    let sb = dir.super_block();
    if sb.is_read_only() {
        return Err(EROFS);
    }
    let info = SbInfo::of(sb);
    let is_dir = matches!(node.kind, NewKind::Directory);
    let dir_flags = dir.data().map.lock().disk.flags;
    let ino = info
        .alloc
        .alloc_inode(sb, dir.ino(), dir_flags, is_dir)
        .map_err(|e| alloc_error(sb, e))?;
    let inode = NewInode::new(dir, ino, node.mode, |owner| {
        describe_new(dir, ino, owner, &node.kind)
    });
    let inode = match inode {
        Ok(inode) => inode,
        Err(e) => {
            if e == EIO {
                // insert_inode_locked found the number in use: the bitmap
                // that said it was free is wrong (ext2_new_inode's error).
                pr_err!(
                    "rext2: {}: inode number already in use - inode={ino}\n",
                    sb.id()
                );
            } else {
                // Nothing holds the number: it goes back.
                let _ = info.alloc.free_inode(sb, ino, is_dir);
            }
            return Err(e);
        }
    };
    inode.mark_dirty();
    if let NewKind::Symlink(target) = node.kind {
        if format::fast_symlink_pointers(target).is_none() {
            // On failure the inode is discarded with its link dropped: its
            // eviction frees what the write allocated, and the inode.
            inode
                .write_symlink_target(target)
                .inspect_err(|_| inode.dec_link_count())?;
        }
    }
    Ok(inode)
}

/// The error of an allocation that failed: corruption is reported here.
fn alloc_error(sb: &SuperBlock<Rext2>, e: AllocError) -> Error {
    match e {
        AllocError::Kernel(e) => e,
        AllocError::Corrupt(c) => corrupt(sb, 0, c),
    }
}

/// The last reference to an inode without links is going: its blocks are
/// freed, the on-disk inode is marked deleted, and its number goes back to
/// the bitmap (ext2_evict_inode of a deleted inode, ext2_free_inode).
/// Errors are reported where they happen; eviction cannot fail.
pub(crate) fn delete_inode(inode: &Inode<Rext2>) {
    let sb = inode.super_block();
    if sb.is_read_only() {
        // A mount turned read-only by corruption writes nothing more; the
        // inode stays allocated for e2fsck to reclaim.
        return;
    }
    let info = SbInfo::of(sb);
    let (holds_blocks, is_dir) = {
        let map = inode.data().map.lock();
        // A fast symlink's pointers hold its target, a device's its number.
        let fast_symlink = map.disk.mode & format::S_IFMT == format::S_IFLNK
            && map.disk.is_fast_symlink(info.fs.blkbits);
        (
            inode.attrs().blocks != 0 && !fast_symlink,
            map.disk.mode & format::S_IFMT == format::S_IFDIR,
        )
    };
    inode.set_size_dirty(0);
    if holds_blocks {
        let _ = free_blocks_from(inode, 0);
    }
    drop_xattr_block(inode);
    inode.data().map.lock().disk.dtime = now_seconds() as u32;
    if write_inode(inode).is_err() {
        // The inode could not be marked deleted: it keeps its number, for
        // e2fsck to find, rather than being handed out while it looks in
        // use on disk.
        return;
    }
    if let Err(e) = info.alloc.free_inode(sb, inode.ino(), is_dir) {
        alloc_error(sb, e);
    }
}

/// A deleted inode lets go of its extended attribute block
/// (ext2_xattr_delete_inode): the last one to hold it frees it, the others
/// count themselves out of its header. rext2 writes no attributes, but
/// `mke2fs -d` and the C ext2 do.
fn drop_xattr_block(inode: &Inode<Rext2>) {
    let sb = inode.super_block();
    let info = SbInfo::of(sb);
    let block = {
        let mut map = inode.data().map.lock();
        core::mem::take(&mut map.disk.file_acl)
    };
    if block == 0 {
        return;
    }
    let block = u64::from(block);
    if !info.fs.valid_data_block(block) {
        corrupt(sb, inode.ino(), Corrupt::XattrBlock(block));
        return;
    }
    let _serialised = info.xattr.lock();
    let Ok(bh) = sb.bread(block) else {
        // The block stays allocated, for e2fsck to reclaim.
        return;
    };
    let mut header = [0u8; 12];
    let refcount = bh
        .read(0, &mut header)
        .ok()
        .and_then(|()| format::xattr_refcount(&header));
    match refcount {
        None => {
            corrupt(sb, inode.ino(), Corrupt::XattrBlock(block));
        }
        Some(0 | 1) => {
            sb.forget_block(block);
            if let Err(e) = info.alloc.free(sb, block, 1) {
                alloc_error(sb, e);
            }
        }
        Some(count) => {
            if bh.write(4, &(count - 1).to_le_bytes()).is_ok() {
                bh.mark_dirty();
            }
        }
    }
}
