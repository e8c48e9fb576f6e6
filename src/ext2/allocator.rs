// SPDX-License-Identifier: GPL-2.0

//! The block and inode allocator of a mount (fs/ext2/balloc.c,
//! fs/ext2/ialloc.c): bitmaps and free counts through the buffer cache.
//! Which blocks and inodes to take is decided in [`super::balloc`] and
//! [`super::ialloc`]; this file reads and writes the bitmaps, the group
//! descriptors and the counts around those decisions.
//!
//! Each group has a lock of its own, over its descriptor, its bitmap and
//! its descriptor's bytes on disk (ext2's `sb_bgl_lock`), so that writers in
//! different groups allocate side by side; the mount's lock covers the super
//! block's counts and the list of metadata blocks fsync must write. Order:
//! an inode's block map, then one group, then the mount.

use super::{
    balloc,
    format::{Corrupt, GroupDesc, SuperBlock, DESC_SIZE, FL_TOPDIR, ROOT_INO},
    ialloc::{self, GroupCounts, Totals},
};
use crate::rust_bindings::{
    buffer_head::BufferHead, cred::may_use_reserved_blocks, fs::FileSystem,
    random::random_u32_below, super_block::SuperBlock as VfsSuperBlock,
};
use kernel::{new_mutex, prelude::*, sync::Mutex};

/// What the mount's allocation lock protects.
pub(crate) struct MountCounts {
    /// The super block, with its current free counts.
    pub(crate) fs: SuperBlock,
    /// Directories, summed over the groups (ext2's `s_dirs_counter`), for
    /// the placement of new directories.
    dirs: u64,
    /// Bitmap and descriptor blocks dirtied and not yet written by an fsync:
    /// fsync writes them, so that the blocks it made durable are also
    /// durably in use, and counted, for e2fsck. Each with the number of the
    /// change that last dirtied it: a block dirtied again while an fsync
    /// writes it stays on the list.
    dirty: KVec<(u64, u64)>,
    /// Changes made so far, numbering the entries of `dirty`.
    changes: u64,
}

impl MountCounts {
    fn note_dirty(&mut self, block: u64) -> Result {
        self.changes += 1;
        match self.dirty.iter_mut().find(|(b, _)| *b == block) {
            Some(entry) => entry.1 = self.changes,
            None => self.dirty.push((block, self.changes), GFP_KERNEL)?,
        }
        Ok(())
    }

    /// A copy of the metadata blocks dirtied and not yet written, for the
    /// caller to write and wait on outside the lock.
    pub(crate) fn dirty_copy(&self) -> Result<KVec<(u64, u64)>> {
        let mut copy = KVec::with_capacity(self.dirty.len(), GFP_KERNEL)?;
        copy.extend_from_slice(&self.dirty, GFP_KERNEL)?;
        Ok(copy)
    }

    /// Block `block`, as change `change` left it, was written: it leaves
    /// the list unless a later change dirtied it again.
    pub(crate) fn written(&mut self, block: u64, change: u64) {
        self.dirty.retain(|entry| *entry != (block, change));
    }
}

/// The outcome of an allocation or free that failed.
pub(crate) enum AllocError {
    /// The kernel error (ENOSPC, EIO, ENOMEM).
    Kernel(Error),
    /// The on-disk metadata is inconsistent: the caller reports it.
    Corrupt(Corrupt),
}

impl From<Error> for AllocError {
    fn from(e: Error) -> Self {
        AllocError::Kernel(e)
    }
}

/// One group's allocation state, under the group's lock.
struct GroupState {
    /// The descriptor, with its current free counts.
    desc: GroupDesc,
    /// The group's block bitmap was checked against its descriptor since
    /// the mount; from then on only this allocator changes either.
    checked: bool,
    /// The group's directory debt, for placing directories (ext2's
    /// `s_debts`, in memory for the mount only, like the C one).
    debt: u8,
}

impl GroupState {
    /// What the inode placement policy looks at of this group.
    fn counts(&self) -> GroupCounts {
        GroupCounts {
            free_inodes: u32::from(self.desc.free_inodes),
            free_blocks: u32::from(self.desc.free_blocks),
            used_dirs: u32::from(self.desc.used_dirs),
            debt: self.debt,
        }
    }
}

/// A mount's block and inode allocator.
#[pin_data]
pub(crate) struct Allocator {
    /// The geometry (the counts in it are not kept: see `mount`).
    fs: SuperBlock,
    /// Each group's state, under the group's lock.
    groups: KVec<Pin<KBox<Mutex<GroupState>>>>,
    /// The mount's counts and dirty metadata.
    #[pin]
    pub(crate) mount: Mutex<MountCounts>,
}

impl Allocator {
    /// The allocator of a mount of `fs` with descriptors `descs`.
    pub(crate) fn new(fs: SuperBlock, descs: &[GroupDesc]) -> Result<impl PinInit<Self, Error>> {
        let mut groups = KVec::with_capacity(descs.len(), GFP_KERNEL)?;
        for desc in descs {
            let state = GroupState {
                desc: *desc,
                checked: false,
                debt: 0,
            };
            groups.push(KBox::pin_init(new_mutex!(state), GFP_KERNEL)?, GFP_KERNEL)?;
        }
        let mut counts = MountCounts {
            fs: fs.clone(),
            dirs: descs.iter().map(|d| u64::from(d.used_dirs)).sum(),
            dirty: KVec::new(),
            changes: 0,
        };
        // The free inodes as the descriptors count them, as ext2_fill_super
        // counts them (the super block's own count may lag after a crash):
        // what sync_fs writes from now on.
        let free_inodes: u64 = descs.iter().map(|d| u64::from(d.free_inodes)).sum();
        counts.fs.free_inodes = u32::try_from(free_inodes).unwrap_or(u32::MAX);
        Ok(try_pin_init!(Self {
            fs,
            groups,
            mount <- new_mutex!(counts),
        }))
    }

    /// First block of group `group`'s inode table.
    pub(crate) fn inode_table(&self, group: u32) -> Option<u32> {
        Some(self.groups.get(group as usize)?.lock().desc.inode_table)
    }

    /// Free blocks and inodes, summed over the groups (a snapshot).
    pub(crate) fn free_counts(&self) -> (u64, u64) {
        self.groups.iter().fold((0, 0), |(blocks, inodes), g| {
            let state = g.lock();
            (
                blocks + u64::from(state.desc.free_blocks),
                inodes + u64::from(state.desc.free_inodes),
            )
        })
    }

    /// Allocates between 1 and `max` contiguous blocks as near `goal` as
    /// possible: the goal's group first, then the following ones
    /// (ext2_new_blocks, without reservation windows). Once only the blocks
    /// reserved for root are free, only root, the super block's resuid and
    /// the members of its resgid get any (ENOSPC for the others).
    pub(crate) fn alloc<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        goal: u64,
        max: u64,
    ) -> core::result::Result<(u64, u64), AllocError> {
        let free = u64::from(self.mount.lock().fs.free_blocks);
        if balloc::only_reserved_left(free, u64::from(self.fs.r_blocks_count))
            && !may_use_reserved_blocks(
                u32::from(self.fs.def_resuid),
                u32::from(self.fs.def_resgid),
            )
        {
            return Err(AllocError::Kernel(ENOSPC));
        }
        let ngroups = self.fs.groups();
        let (goal_group, goal_bit) = balloc::group_of(&self.fs, goal).unwrap_or((0, 0));
        let max = u32::try_from(max.max(1)).unwrap_or(u32::MAX);
        for group in balloc::group_order(goal_group, ngroups) {
            let mut state = self.groups.get(group as usize).ok_or(EIO)?.lock();
            if state.desc.free_blocks == 0 {
                continue;
            }
            let start_bit = if group == goal_group { goal_bit } else { 0 };
            if let Some(run) = self.alloc_in_group(sb, group, &mut state, start_bit, max)? {
                return Ok(run);
            }
        }
        Err(AllocError::Kernel(ENOSPC))
    }

    /// Takes a free run in `group`, whose lock the caller holds, if it has
    /// one.
    fn alloc_in_group<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        group: u32,
        state: &mut GroupState,
        goal_bit: u32,
        max: u32,
    ) -> core::result::Result<Option<(u64, u64)>, AllocError> {
        let nbits = balloc::blocks_in_group(&self.fs, group);
        let bh = sb.bread(u64::from(state.desc.block_bitmap))?;
        // Once per group and mount: after that, the bitmap and the
        // descriptor change only here, together.
        if !state.checked {
            let bitmap = read_bytes(&bh, 0, nbits.div_ceil(8) as usize)?;
            self.check_bitmap(group, &state.desc, &bitmap, nbits)?;
            state.checked = true;
        }
        // Most allocations are a sequential writer's, whose goal is free:
        // look there before copying the whole bitmap out of its buffer.
        let (first_byte, window_len) = balloc::goal_window(goal_bit, nbits);
        let mut window = [0u8; balloc::GOAL_WINDOW_BYTES];
        let window = window.get_mut(..window_len).ok_or(EINVAL)?;
        bh.read(first_byte as usize, window)?;
        let (bit, len) = match balloc::run_at_goal(window, first_byte, nbits, goal_bit, max) {
            Some(len) => (goal_bit, len),
            None => {
                let bitmap = read_bytes(&bh, 0, nbits.div_ceil(8) as usize)?;
                match balloc::find_free_run(&bitmap, nbits, goal_bit, max) {
                    Some(run) => run,
                    None => return Ok(None),
                }
            }
        };
        let desc = &mut state.desc;
        let len = len.min(u32::from(desc.free_blocks));
        let first = balloc::group_first_block(&self.fs, group) + u64::from(bit);
        if balloc::metadata_overlap(&self.fs, group, desc, first, u64::from(len)) {
            // The bitmap says metadata is free: never hand it out.
            return Err(AllocError::Corrupt(Corrupt::BlockPointer(first)));
        }
        let change = Change {
            group,
            bit,
            len,
            delta: -i64::from(len),
        };
        self.change_bits(sb, &bh, desc, change, balloc::set_bits)?;
        Ok(Some((first, u64::from(len))))
    }

    /// Checks a group's bitmap against what its descriptor says before
    /// trusting it with an allocation: metadata marked free, or a free count
    /// that disagrees, means the on-disk state is corrupt, and allocating
    /// from it could hand out a block that is in use.
    fn check_bitmap(
        &self,
        group: u32,
        desc: &GroupDesc,
        bitmap: &[u8],
        nbits: u32,
    ) -> core::result::Result<(), AllocError> {
        if let Some(block) = balloc::first_free_metadata(&self.fs, group, desc, bitmap, nbits) {
            return Err(AllocError::Corrupt(Corrupt::FreeMetadata(block)));
        }
        let free = balloc::count_free(bitmap, nbits);
        if free != u32::from(desc.free_blocks) {
            return Err(AllocError::Corrupt(Corrupt::FreeCount {
                group,
                bitmap: free,
                desc: u32::from(desc.free_blocks),
            }));
        }
        Ok(())
    }

    /// Frees `count` blocks from `first`, group by group.
    pub(crate) fn free<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        first: u64,
        count: u64,
    ) -> core::result::Result<(), AllocError> {
        let mut block = first;
        let end = first.checked_add(count).ok_or(EINVAL)?;
        while block < end {
            let (group, bit) = balloc::group_of(&self.fs, block)
                .ok_or(AllocError::Corrupt(Corrupt::BlockPointer(block)))?;
            let in_group = u64::from(balloc::blocks_in_group(&self.fs, group) - bit);
            let len = (end - block).min(in_group) as u32;
            let mut state = self.groups.get(group as usize).ok_or(EIO)?.lock();
            let desc = &mut state.desc;
            if balloc::metadata_overlap(&self.fs, group, desc, block, u64::from(len)) {
                return Err(AllocError::Corrupt(Corrupt::BlockPointer(block)));
            }
            let bh = sb.bread(u64::from(desc.block_bitmap))?;
            let change = Change {
                group,
                bit,
                len,
                delta: i64::from(len),
            };
            self.change_bits(sb, &bh, desc, change, balloc::clear_bits)?;
            block += u64::from(len);
        }
        Ok(())
    }

    /// Allocates an inode for a new file, or directory if `is_dir`, in the
    /// directory `parent`, whose flags are `parent_flags` (ext2_new_inode's
    /// bitmap part): in the group the
    /// placement policy chooses ([`ialloc::find_group_orlov`] for a
    /// directory, [`ialloc::find_group_other`] for anything else), else in
    /// the following groups, should the chosen one's bitmap turn out full.
    /// Marks it in use in the inode bitmap and counts it in the group's
    /// descriptor and the super block. Returns its number; `ENOSPC` if no
    /// inode is free.
    pub(crate) fn alloc_inode<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        parent: u64,
        parent_flags: u32,
        is_dir: bool,
    ) -> core::result::Result<u64, AllocError> {
        let chosen = self
            .choose_inode_group(parent, parent_flags, is_dir)
            .ok_or(AllocError::Kernel(ENOSPC))?;
        for group in balloc::group_order(chosen, self.fs.groups()) {
            let mut state = self.groups.get(group as usize).ok_or(EIO)?.lock();
            // ext2_new_inode reads the bitmap of every group it walks past;
            // a group whose count says full is skipped here, as the block
            // allocator skips one, so that a full file system answers
            // ENOSPC without reading every bitmap.
            if state.desc.free_inodes == 0 {
                continue;
            }
            if let Some(ino) = self.alloc_inode_in_group(sb, group, &mut state, is_dir)? {
                return Ok(ino);
            }
            // The count said there was a free inode and the bitmap has
            // none: ext2 goes on to the next group without a word, and so
            // does rext2.
        }
        Err(AllocError::Kernel(ENOSPC))
    }

    /// The group where a new inode in directory `parent` goes, by the
    /// counts of each group as they are now (the policy reads them one
    /// group at a time, under that group's lock only, as ext2 reads its
    /// descriptors). `None` if no group has a free inode.
    fn choose_inode_group(&self, parent: u64, parent_flags: u32, is_dir: bool) -> Option<u32> {
        // An inode's group is where it lies (ext2_iget's i_block_group).
        let parent_group = self.fs.inode_location(parent).map_or(0, |(g, _)| g);
        let counts = |group: u32| Some(self.groups.get(group as usize)?.lock().counts());
        if !is_dir {
            return ialloc::find_group_other(&self.fs, parent_group, parent, counts);
        }
        let totals = {
            let mount = self.mount.lock();
            Totals {
                free_inodes: u64::from(mount.fs.free_inodes),
                free_blocks: u64::from(mount.fs.free_blocks),
                dirs: mount.dirs,
            }
        };
        // The subdirectories of the root and of a directory marked as the
        // top of a hierarchy (EXT2_TOPDIR_FL) spread.
        let top_level = parent == u64::from(ROOT_INO) || parent_flags & FL_TOPDIR != 0;
        let random = if top_level {
            random_u32_below(self.fs.groups())
        } else {
            0
        };
        ialloc::find_group_orlov(&self.fs, &totals, parent_group, top_level, random, counts)
    }

    /// Takes the first free inode of `group`, whose lock the caller holds,
    /// if its bitmap has one.
    fn alloc_inode_in_group<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        group: u32,
        state: &mut GroupState,
        is_dir: bool,
    ) -> core::result::Result<Option<u64>, AllocError> {
        let bh = sb.bread(u64::from(state.desc.inode_bitmap))?;
        let bits = ialloc::allocatable_bits(&self.fs, group);
        let mut from = bits.start;
        while let Some(bit) = first_free_inode(&bh, from..bits.end)? {
            let change = InodeChange {
                group,
                bit,
                take: true,
                is_dir,
            };
            if self.change_inode_bit(sb, &bh, state, change)? {
                return Ok(Some(ialloc::inode_number(&self.fs, group, bit)));
            }
            // Taken since it was found (the device was written under the
            // mount): ext2's "we lost this inode", look further.
            from = bit + 1;
        }
        Ok(None)
    }

    /// Frees inode `ino`, a directory if `is_dir` (ext2_free_inode's bitmap
    /// part): clears its bit and gives it back to the free counts of its
    /// group and of the file system. A reserved or nonexistent inode, or
    /// one whose bit is clear already, is corruption, and nothing changes.
    pub(crate) fn free_inode<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        ino: u64,
        is_dir: bool,
    ) -> core::result::Result<(), AllocError> {
        let (group, bit) = ialloc::inode_position(&self.fs, ino).map_err(AllocError::Corrupt)?;
        let mut state = self.groups.get(group as usize).ok_or(EIO)?.lock();
        let bh = sb.bread(u64::from(state.desc.inode_bitmap))?;
        let change = InodeChange {
            group,
            bit,
            take: false,
            is_dir,
        };
        self.change_inode_bit(sb, &bh, &mut state, change)?;
        Ok(())
    }

    /// The buffer, block and offset of group `group`'s descriptor, about to be
    /// changed with its bitmap, and room on the fsync list for both blocks:
    /// what can fail fails before anything is changed.
    fn descriptor_for_change<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        group: u32,
    ) -> core::result::Result<(BufferHead, u64, usize), AllocError> {
        let (desc_block, desc_off) = self.fs.desc_location(group);
        let desc_bh = sb.bread(desc_block)?;
        self.mount
            .lock()
            .dirty
            .reserve(2, GFP_KERNEL)
            .map_err(Error::from)?;
        Ok((desc_bh, desc_block, desc_off))
    }

    /// Sets or clears (`change.take`) one bit of a group's inode bitmap,
    /// with the group's lock held; counts the inode out of (or back into)
    /// the free counts of the group and of the file system, and the
    /// directory into (or out of) the directory counts; writes the group's
    /// descriptor, and notes both blocks for fsync. `false`, with nothing
    /// changed, if the bit to set is set already; a bit to clear that is
    /// clear already is corruption. As in [`Self::change_bits`], what can
    /// fail fails before anything is changed.
    fn change_inode_bit<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        bitmap_bh: &BufferHead,
        state: &mut GroupState,
        change: InodeChange,
    ) -> core::result::Result<bool, AllocError> {
        let (desc_bh, desc_block, desc_off) = self.descriptor_for_change(sb, change.group)?;
        let byte_off = (change.bit / 8) as usize;
        let mut byte = [0u8; 1];
        bitmap_bh.read(byte_off, &mut byte)?;
        if change.take {
            if !ialloc::take_bit(&mut byte[0], change.bit) {
                return Ok(false);
            }
        } else {
            let ino = ialloc::inode_number(&self.fs, change.group, change.bit);
            ialloc::release_bit(&mut byte[0], change.bit, ino).map_err(AllocError::Corrupt)?;
        }
        let changed = ialloc::counts_after(&state.desc, change.take, change.is_dir);
        let mut raw = [0u8; DESC_SIZE];
        desc_bh.read(desc_off, &mut raw)?;
        changed.store_counts(&mut raw).map_err(|_| EIO)?;
        // Both writes are in bounds (checked by the reads above).
        bitmap_bh.write(byte_off, &byte)?;
        bitmap_bh.mark_dirty();
        desc_bh.write(desc_off, &raw)?;
        desc_bh.mark_dirty();
        state.desc = changed;
        if change.take {
            state.debt = ialloc::debt_after(state.debt, change.is_dir);
        }
        let mut mount = self.mount.lock();
        let dirs = u64::from(change.is_dir);
        if change.take {
            mount.fs.free_inodes = mount.fs.free_inodes.saturating_sub(1);
            mount.dirs = mount.dirs.saturating_add(dirs);
        } else {
            mount.fs.free_inodes = mount.fs.free_inodes.saturating_add(1);
            mount.dirs = mount.dirs.saturating_sub(dirs);
        }
        // Room for both was reserved: these cannot fail.
        mount.note_dirty(u64::from(state.desc.inode_bitmap))?;
        mount.note_dirty(desc_block)?;
        Ok(true)
    }

    /// Changes `group`'s bitmap (`flip` sets or clears the bits of
    /// `change`), with the group's lock held; moves the blocks into (or out
    /// of) the free counts of the group and of the file system, writes the
    /// group's descriptor, and notes both blocks for fsync. Only the bytes
    /// that hold the changed bits are copied out of the bitmap and back.
    ///
    /// What can fail (reading the descriptor's block, room on the dirty
    /// list, a bit that is already as `flip` would make it) fails before
    /// anything is changed: the bitmap and the counts never disagree
    /// because memory or a read failed half-way.
    fn change_bits<T: FileSystem, S>(
        &self,
        sb: &VfsSuperBlock<T, S>,
        bitmap_bh: &BufferHead,
        desc: &mut GroupDesc,
        change: Change,
        flip: fn(&mut [u8], u32, u32) -> core::result::Result<(), u32>,
    ) -> core::result::Result<(), AllocError> {
        let (desc_bh, desc_block, desc_off) = self.descriptor_for_change(sb, change.group)?;
        let (from, to) = balloc::byte_span(change.bit, change.len);
        let mut bytes = read_bytes(bitmap_bh, from as usize, (to - from) as usize)?;
        flip(&mut bytes, change.bit - from * 8, change.len).map_err(|bit| {
            let block =
                balloc::group_first_block(&self.fs, change.group) + u64::from(from * 8 + bit);
            AllocError::Corrupt(Corrupt::BlockPointer(block))
        })?;
        let mut changed = *desc;
        changed.free_blocks =
            (i64::from(desc.free_blocks) + change.delta).clamp(0, i64::from(u16::MAX)) as u16;
        let mut raw = [0u8; DESC_SIZE];
        desc_bh.read(desc_off, &mut raw)?;
        changed.store_counts(&mut raw).map_err(|_| EIO)?;
        // Both writes are in bounds (checked by the reads above).
        bitmap_bh.write(from as usize, &bytes)?;
        bitmap_bh.mark_dirty();
        desc_bh.write(desc_off, &raw)?;
        desc_bh.mark_dirty();
        *desc = changed;
        let mut mount = self.mount.lock();
        mount.fs.free_blocks =
            (i64::from(mount.fs.free_blocks) + change.delta).clamp(0, i64::from(u32::MAX)) as u32;
        // Room for both was reserved: these cannot fail.
        mount.note_dirty(u64::from(desc.block_bitmap))?;
        mount.note_dirty(desc_block)?;
        Ok(())
    }
}

/// A copy of bytes `from..from + len` of a bitmap's buffer.
fn read_bytes(bh: &BufferHead, from: usize, len: usize) -> Result<KVec<u8>> {
    let mut bytes = KVec::from_elem(0u8, len, GFP_KERNEL)?;
    bh.read(from, &mut bytes)?;
    Ok(bytes)
}

/// The first free inode of an inode bitmap within `bits`, copied out of
/// its buffer a window at a time (on the stack: an allocation does not
/// allocate memory to look).
fn first_free_inode(bh: &BufferHead, bits: core::ops::Range<u32>) -> Result<Option<u32>> {
    let mut window = [0u8; ialloc::SCAN_BYTES];
    for (first_byte, len) in ialloc::scan_windows(bits.clone()) {
        let window = window.get_mut(..len).ok_or(EINVAL)?;
        bh.read(first_byte as usize, window)?;
        if let Some(bit) = ialloc::first_free_in(window, first_byte, bits.clone()) {
            return Ok(Some(bit));
        }
    }
    Ok(None)
}

/// One change of a group's inode bitmap: inode bit `bit` of `group`,
/// taken or given back, a directory's or not.
struct InodeChange {
    group: u32,
    bit: u32,
    take: bool,
    is_dir: bool,
}

/// One change of a group's bitmap: bits `bit..bit + len`, and what it does
/// to the free counts.
struct Change {
    group: u32,
    bit: u32,
    len: u32,
    delta: i64,
}
