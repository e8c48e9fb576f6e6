// SPDX-License-Identifier: GPL-2.0

//! The block allocator of a mount (fs/ext2/balloc.c): block bitmaps and
//! free counts through the buffer cache. Which blocks to take is decided in
//! [`super::balloc`]; this file reads and writes the bitmaps, the group
//! descriptors and the counts around those decisions.
//!
//! Each group has a lock of its own, over its descriptor, its bitmap and
//! its descriptor's bytes on disk (ext2's `sb_bgl_lock`), so that writers in
//! different groups allocate side by side; the mount's lock covers the super
//! block's counts and the list of metadata blocks fsync must write. Order:
//! an inode's block map, then one group, then the mount.

use super::{
    balloc,
    format::{Corrupt, GroupDesc, SuperBlock, DESC_SIZE},
};
use crate::rust_bindings::{
    buffer_head::BufferHead, cred::may_use_reserved_blocks, fs::FileSystem,
    super_block::SuperBlock as VfsSuperBlock,
};
use kernel::{new_mutex, prelude::*, sync::Mutex};

/// What the mount's allocation lock protects.
pub(crate) struct MountCounts {
    /// The super block, with its current free counts.
    pub(crate) fs: SuperBlock,
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
    /// The group's bitmap was checked against its descriptor since the
    /// mount; from then on only this allocator changes either.
    checked: bool,
}

/// A mount's block allocator.
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
            };
            groups.push(KBox::pin_init(new_mutex!(state), GFP_KERNEL)?, GFP_KERNEL)?;
        }
        let counts = MountCounts {
            fs: fs.clone(),
            dirty: KVec::new(),
            changes: 0,
        };
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
        let (desc_block, desc_off) = self.fs.desc_location(change.group);
        let desc_bh = sb.bread(desc_block)?;
        self.mount
            .lock()
            .dirty
            .reserve(2, GFP_KERNEL)
            .map_err(Error::from)?;
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

/// One change of a group's bitmap: bits `bit..bit + len`, and what it does
/// to the free counts.
struct Change {
    group: u32,
    bit: u32,
    len: u32,
    delta: i64,
}
