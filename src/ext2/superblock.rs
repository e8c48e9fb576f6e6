// SPDX-License-Identifier: GPL-2.0

//! Mounting and the super block (fs/ext2/super.c): the checks a mount makes,
//! the state a read-write mount keeps on disk, remounting between read-only
//! and read-write, `statfs`, `sync_fs` and the last words of an unmount.

use super::{
    allocator::Allocator,
    corrupt,
    format::{self, Corrupt, GroupDesc},
    Rext2,
};
use crate::{
    mpage::MountEngine,
    rust_bindings::{
        buffer_head::BufferHead,
        fs::{now_seconds, StatFs, SuperParams},
        random::random_u32,
        super_block::{New, SuperBlock},
    },
};
use kernel::{
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Mutex,
    },
};

/// Per-mount state.
#[pin_data]
pub(crate) struct SbInfo {
    /// The super block as mounted: geometry and features (its counters are
    /// kept by `alloc`).
    pub(crate) fs: format::SuperBlock,
    /// The engine serving this mount, with its counters.
    pub(crate) engine: MountEngine,
    /// The block and inode allocator, with its per-group and per-mount
    /// locks.
    #[pin]
    pub(crate) alloc: Allocator,
    /// The block holding the super block, and where in it. (Read again
    /// each time: a buffer held until kill_sb would outlive the device's
    /// page cache.)
    super_location: (u64, usize),
    /// The state to write back at a clean unmount or a remount read-only:
    /// what the last switch to read-write found on disk (a `u16`; set by
    /// fill_super and remount, which the VFS serialises with `s_umount`).
    mount_state: Atomic<u32>,
    /// Serialises changes of extended attribute blocks' reference counts
    /// (the C ext2 locks the block's buffer): two files sharing a block
    /// may be deleted at once.
    #[pin]
    pub(crate) xattr: Mutex<()>,
    /// The generation of the next inode created, from a random start as in
    /// the C ext2 (`s_next_generation`): NFS file handles of a deleted
    /// inode's number do not name its successor.
    next_generation: Atomic<u32>,
}

impl SbInfo {
    pub(crate) fn of(sb: &SuperBlock<Rext2>) -> &Self {
        sb.data()
    }

    /// The generation of a new inode.
    pub(crate) fn next_generation(&self) -> u32 {
        self.next_generation.fetch_add(1, Relaxed)
    }

    /// The state to write back when the mount stops writing.
    fn mount_state(&self) -> u16 {
        self.mount_state.load(Relaxed) as u16
    }

    /// Writes the current counts, times and `state` into the on-disk super
    /// block and, if `wait`, waits for it (ext2_sync_super).
    fn store_super(&self, sb: &SuperBlock<Rext2>, state: Option<u16>, wait: bool) -> Result {
        let (block, off) = self.super_location;
        let bh = sb.bread(block)?;
        let mut fs = self.alloc.mount.lock().fs.clone();
        fs.wtime = now_seconds() as u32;
        if let Some(state) = state {
            fs.state = state;
        }
        let mut raw = KVec::from_elem(0u8, format::SUPER_SIZE, GFP_KERNEL)?;
        bh.read(off, &mut raw)?;
        fs.store_counters(&mut raw).map_err(|_| EIO)?;
        bh.write(off, &raw)?;
        bh.mark_dirty();
        if wait {
            bh.sync()?;
        }
        Ok(())
    }

    /// Writes and waits for the bitmaps (block and inode) and group
    /// descriptors dirtied since the last time: what an fsync must also
    /// make durable so that e2fsck finds the file's blocks in use and
    /// counted. (The super block's
    /// free count may lag: e2fsck -n takes that as nothing to fix, and
    /// sync_fs writes it.)
    pub(crate) fn sync_allocation(&self, sb: &SuperBlock<Rext2>) -> Result {
        // A copy: the blocks leave the list only once written, so that a
        // concurrent fsync finds them there and waits for them too.
        let dirty = self.alloc.mount.lock().dirty_copy()?;
        let mut ret = Ok(());
        for &(block, change) in dirty.iter() {
            match sb.bread(block).and_then(|bh| bh.sync()) {
                Ok(()) => self.alloc.mount.lock().written(block, change),
                Err(e) => ret = ret.and(Err(e)),
            }
        }
        ret
    }
}

/// Reads the group descriptors.
fn read_group_descs(
    sb: &SuperBlock<Rext2, New>,
    fs: &format::SuperBlock,
) -> Result<KVec<GroupDesc>> {
    let n = fs.groups();
    let mut groups = KVec::with_capacity(n as usize, GFP_KERNEL)?;
    let mut cur: Option<(u64, BufferHead)> = None;
    for g in 0..n {
        let (blk, off) = fs.desc_location(g);
        if cur.as_ref().map(|(b, _)| *b) != Some(blk) {
            if blk >= u64::from(fs.blocks_count) {
                return Err(corrupt(sb, 0, Corrupt::Descriptor(g)));
            }
            cur = Some((blk, sb.bread(blk)?));
        }
        let Some((_, bh)) = cur.as_ref() else {
            return Err(EIO);
        };
        let mut raw = [0u8; format::DESC_SIZE];
        bh.read(off, &mut raw)?;
        let d = GroupDesc::parse(fs, g, &raw).map_err(|c| corrupt(sb, 0, c))?;
        groups.push(d, GFP_KERNEL)?;
    }
    Ok(groups)
}

/// Reads and checks the super block (at byte 1024 whatever the block size):
/// with 1 KiB blocks first, then again at the real size.
fn read_super(sb: &SuperBlock<Rext2, New>) -> Result<(format::SuperBlock, u64, usize)> {
    sb.set_block_size(1024).inspect_err(|_| {
        pr_err!("rext2: {}: device cannot do 1 KiB blocks\n", sb.id());
    })?;
    // The super block is 1024 bytes, copied out of the buffer cache.
    let mut raw = KVec::from_elem(0u8, format::SUPER_SIZE, GFP_KERNEL)?;
    sb.bread(1)?.read(0, &mut raw)?;
    let fs = format::SuperBlock::parse(&raw, PAGE_SIZE as u64).map_err(|c| corrupt(sb, 0, c))?;
    fs.check_device(sb.bdev().nr_bytes())
        .map_err(|c| corrupt(sb, 0, c))?;
    if fs.block_size() == 1024 {
        return Ok((fs, 1, 0));
    }
    sb.set_block_size(fs.block_size() as u32).inspect_err(|_| {
        pr_err!(
            "rext2: {}: device cannot do {} byte blocks\n",
            sb.id(),
            fs.block_size()
        );
    })?;
    // Re-read at the new size and make sure it is the same image.
    sb.bread(0)?.read(1024, &mut raw)?;
    let again = format::SuperBlock::parse(&raw, PAGE_SIZE as u64).map_err(|c| corrupt(sb, 0, c))?;
    if again != fs {
        pr_err!("rext2: {}: super block changed while mounting\n", sb.id());
        return Err(EINVAL);
    }
    Ok((fs, 0, 1024))
}

/// `fill_super`: mounts the file system, read-write unless asked for
/// read-only or the image has features rext2 cannot write.
pub(crate) fn fill_super(sb: &SuperBlock<Rext2, New>) -> Result<SuperParams<SbInfo>> {
    let (mut fs, super_block, super_off) = read_super(sb)?;
    let descs = read_group_descs(sb, &fs)?;
    // RO_COMPAT features nobody here knows refuse a read-write mount, as
    // in the C ext2; COMPAT features the C ext2 writes and rext2 does not
    // (a journal, say) leave the mount read-only.
    let unknown = fs.ro_compat_unwritable();
    if !sb.is_read_only() && unknown != 0 {
        pr_err!(
            "rext2: {}: cannot mount read-write: unsupported RO_COMPAT features {:#x}\n",
            sb.id(),
            unknown
        );
        return Err(EINVAL);
    }
    let unwritable = fs.compat_unwritable();
    if !sb.is_read_only() && unwritable != 0 {
        pr_warn!(
            "rext2: {}: features {:#x} cannot be written; mounting read-only\n",
            sb.id(),
            unwritable
        );
        sb.set_read_only();
    }
    let writable = !sb.is_read_only();
    if writable && fs.needs_check() {
        warn_needs_check(sb.id());
    }
    let mount_state = if writable {
        fs.begin_write_mount(now_seconds() as u32)
    } else {
        fs.state
    };
    let engine = MountEngine::new(sb.id())?;
    // The allocator exists on read-only mounts too, so that a remount
    // read-write finds it.
    let alloc = Allocator::new(fs.clone(), &descs)?;
    let max_bytes = max_bytes(&fs, writable);
    let info = KBox::pin_init(
        try_pin_init!(SbInfo {
            fs,
            engine,
            alloc <- alloc,
            xattr <- new_mutex!(()),
            super_location: (super_block, super_off),
            mount_state: Atomic::new(u32::from(mount_state)),
            next_generation: Atomic::new(random_u32()),
        }),
        GFP_KERNEL,
    )?;
    // The on-disk state is written by mount_ready, once the root inode is
    // read and checked: a mount refused for its root leaves the image as it
    // was.
    Ok(SuperParams {
        magic: u64::from(format::EXT2_MAGIC),
        max_bytes,
        root_ino: u64::from(format::ROOT_INO),
        max_links: format::LINK_MAX,
        data: info,
    })
}

/// `mount_ready`: the root inode was read and is fit to be the root
/// (`read_inode` checked it). A read-write mount marks the file system as not
/// cleanly unmounted, with the mount counted, until put_super says otherwise
/// (ext2_setup_super, which the C ext2 also calls only after its root
/// check).
pub(crate) fn mount_ready(sb: &SuperBlock<Rext2>) -> Result {
    let info = SbInfo::of(sb);
    let writable = !sb.is_read_only();
    if writable {
        let (block, off) = info.super_location;
        let bh = sb.bread(block)?;
        let mut raw = KVec::from_elem(0u8, format::SUPER_SIZE, GFP_KERNEL)?;
        bh.read(off, &mut raw)?;
        info.fs.store_counters(&mut raw).map_err(|_| EIO)?;
        bh.write(off, &raw)?;
        bh.mark_dirty();
        bh.sync()?;
    }
    // Said once the mount cannot fail any more: a refused mount prints its
    // one line, nothing else.
    pr_info!(
        "rext2: {}: mounted {}, {} byte blocks, {} groups, {} engine\n",
        sb.id(),
        if writable { "read-write" } else { "read-only" },
        info.fs.block_size(),
        info.fs.groups(),
        info.engine.engine().name()
    );
    Ok(())
}

/// The largest file a mount allows. Without the large_file feature, files
/// written stay under 2 GiB: i_size_high is not theirs to use (the C ext2
/// would set the feature instead); reading needs no such limit.
fn max_bytes(fs: &format::SuperBlock, writable: bool) -> u64 {
    if writable && fs.feature_ro_compat & format::RO_COMPAT_LARGE_FILE == 0 {
        fs.max_bytes().min((1 << 31) - 1)
    } else {
        fs.max_bytes()
    }
}

/// The warning of a switch to read-write on a file system that needs
/// checking (ext2_setup_super's).
fn warn_needs_check(dev: &CStr) {
    pr_warn!(
        "rext2: {dev}: mounting a file system that was not cleanly unmounted or has errors; run e2fsck\n"
    );
}

/// `reconfigure`, for a switch between read-only and read-write
/// (ext2_reconfigure), after the VFS made sure no file is open for writing
/// (on the way down) and the file system was synced (`synced`). Returns
/// the largest file size from then on.
///
/// Going read-only writes the bitmaps and descriptors allocation dirtied and
/// the super block with the state the read-write mount found, as an
/// unmount does, so that the file system is clean on disk while it stays
/// read-only. It does not fail, as the C ext2's does not: if the sync or
/// these writes failed, one `rext2:` line says so and the super block stays
/// marked not clean on disk. Going read-write makes the checks and changes a read-write
/// mount makes: features rext2 cannot write refuse it with `EROFS`, as
/// the C ext2 refuses unknown RO_COMPAT features on a remount (rext2 also
/// refuses the COMPAT features it does not write, which keep a read-write
/// mount read-only); otherwise the on-disk state is read again (e2fsck may
/// have run meanwhile), the mount is counted, and the file system is marked
/// not clean until it goes read-only again.
pub(crate) fn remount(sb: &SuperBlock<Rext2>, read_only: bool, synced: Result) -> Result<u64> {
    let info = SbInfo::of(sb);
    let now = now_seconds() as u32;
    if read_only {
        let written = synced
            .and_then(|()| info.sync_allocation(sb))
            .and_then(|()| {
                // Everything else is on disk: the super block may say clean.
                let found = info.mount_state();
                info.alloc.mount.lock().fs.end_write_mount(found, now);
                info.store_super(sb, None, true)
            });
        match written {
            Ok(()) => pr_info!("rext2: {}: remounted read-only\n", sb.id()),
            Err(e) => pr_err!(
                "rext2: {}: remounted read-only, but writing it back failed ({:?}); run e2fsck\n",
                sb.id(),
                e
            ),
        }
        return Ok(max_bytes(&info.fs, false));
    }
    // Features the code cannot write refuse the way up, with the C ext2's
    // errno: unknown RO_COMPAT ones, and COMPAT ones such as a journal.
    let refusals = [
        (
            info.fs.ro_compat_unwritable(),
            "unsupported RO_COMPAT features",
        ),
        (
            info.fs.compat_unwritable(),
            "features that cannot be written",
        ),
    ];
    if let Some((features, what)) = refusals.into_iter().find(|(bits, _)| *bits != 0) {
        pr_warn!(
            "rext2: {}: cannot remount read-write: {} {:#x}\n",
            sb.id(),
            what,
            features
        );
        return Err(EROFS);
    }
    let (block, off) = info.super_location;
    let mut raw = KVec::from_elem(0u8, format::SUPER_SIZE, GFP_KERNEL)?;
    sb.bread(block)?.read(off, &mut raw)?;
    let disk = format::SuperBlock::parse(&raw, PAGE_SIZE as u64).map_err(|c| corrupt(sb, 0, c))?;
    if disk.needs_check() {
        warn_needs_check(sb.id());
    }
    {
        let mut mount = info.alloc.mount.lock();
        mount.fs.reread_mount_fields(&disk);
        let found = mount.fs.begin_write_mount(now);
        info.mount_state.store(u32::from(found), Relaxed);
    }
    info.store_super(sb, None, true)?;
    pr_info!("rext2: {}: remounted read-write\n", sb.id());
    Ok(max_bytes(&info.fs, true))
}

/// `statfs`: the C ext2's figures (ext2_statfs), its metadata overhead left
/// out of the total.
pub(crate) fn statfs(sb: &SuperBlock<Rext2>) -> Result<StatFs> {
    let info = SbInfo::of(sb);
    let fs = &info.fs;
    let (free_blocks, free_inodes) = info.alloc.free_counts();
    Ok(StatFs {
        magic: u64::from(format::EXT2_MAGIC),
        block_size: fs.block_size(),
        blocks: u64::from(fs.blocks_count).saturating_sub(fs.statfs_overhead()),
        free_blocks,
        avail_blocks: free_blocks.saturating_sub(u64::from(fs.r_blocks_count)),
        files: u64::from(fs.inodes_count),
        free_files: free_inodes,
        name_len: 255,
        uuid: fs.uuid,
    })
}

/// `sync_fs`: the super block, with the current counts.
pub(crate) fn sync_fs(sb: &SuperBlock<Rext2>, wait: bool) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    SbInfo::of(sb).store_super(sb, None, wait)
}

/// `put_super`: a clean unmount writes back the state the mount found.
pub(crate) fn put_super(sb: &SuperBlock<Rext2>) {
    let info = SbInfo::of(sb);
    if !sb.is_read_only() {
        if let Err(e) = info.store_super(sb, Some(info.mount_state()), true) {
            pr_err!(
                "rext2: {}: cannot write the super block: {:?}\n",
                sb.id(),
                e
            );
        }
    }
}
