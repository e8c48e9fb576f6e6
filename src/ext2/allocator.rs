// SPDX-License-Identifier: GPL-2.0

//! The block allocator of a mount (fs/ext2/balloc.c): block bitmaps and
//! free counts through the buffer cache, under the mount's allocation lock.
//! Which blocks to take is decided in [`super::balloc`]; this file reads and
//! writes the bitmaps, group descriptors and counts around those decisions.

use super::{
    balloc,
    format::{Corrupt, GroupDesc, SuperBlock, DESC_SIZE},
};
use crate::rust_bindings::{
    buffer_head::BufferHead, fs::FileSystem, super_block::SuperBlock as VfsSuperBlock,
};
use kernel::prelude::*;

/// What the allocation lock protects: the group descriptors and the free
/// counts, the super block's copy of them, and the metadata blocks dirtied
/// since the last sync.
pub(crate) struct Groups {
    /// Group descriptors, with their current free counts.
    pub(crate) descs: KVec<GroupDesc>,
    /// The super block, with its current free counts.
    pub(crate) fs: SuperBlock,
    /// Bitmap and descriptor blocks dirtied and not yet written by an fsync:
    /// fsync writes them, so that the blocks it made durable are also
    /// durably in use, and counted, for e2fsck.
    /// Each with the number of the change that last dirtied it: a block
    /// dirtied again while an fsync writes it stays on the list.
    dirty: KVec<(u64, u64)>,
    /// Changes made so far, numbering the entries of `dirty`.
    changes: u64,
    /// A copy of one bitmap, worked on and written back.
    scratch: KVec<u8>,
}

/// The outcome of an allocation or free that found the bitmaps corrupt.
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

impl Groups {
    /// The allocator's state for a mount of `fs` with descriptors `descs`.
    pub(crate) fn new(fs: SuperBlock, descs: KVec<GroupDesc>) -> Result<Self> {
        let scratch = KVec::from_elem(0u8, fs.block_size() as usize, GFP_KERNEL)?;
        Ok(Self {
            descs,
            fs,
            dirty: KVec::new(),
            changes: 0,
            scratch,
        })
    }

    /// Allocates between 1 and `max` contiguous blocks as near `goal` as
    /// possible: the goal's group first, then the following ones
    /// (ext2_new_blocks, without reservation windows).
    pub(crate) fn alloc<T: FileSystem, S>(
        &mut self,
        sb: &VfsSuperBlock<T, S>,
        goal: u64,
        max: u64,
    ) -> core::result::Result<(u64, u64), AllocError> {
        let ngroups = self.fs.groups();
        let (goal_group, goal_bit) = balloc::group_of(&self.fs, goal).unwrap_or((0, 0));
        // The blocks reserved for root are handed out to everybody: rext2
        // does not look at the caller's capabilities yet.
        if self.fs.free_blocks == 0 {
            return Err(AllocError::Kernel(ENOSPC));
        }
        let max = u32::try_from(max.max(1)).unwrap_or(u32::MAX);
        for group in balloc::group_order(goal_group, ngroups) {
            let g = group as usize;
            let desc = *self.descs.get(g).ok_or(EIO)?;
            if desc.free_blocks == 0 {
                continue;
            }
            let start_bit = if group == goal_group { goal_bit } else { 0 };
            if let Some(run) = self.alloc_in_group(sb, group, &desc, start_bit, max)? {
                return Ok(run);
            }
        }
        Err(AllocError::Kernel(ENOSPC))
    }

    /// Takes a free run in `group`, if it has one.
    fn alloc_in_group<T: FileSystem, S>(
        &mut self,
        sb: &VfsSuperBlock<T, S>,
        group: u32,
        desc: &GroupDesc,
        goal_bit: u32,
        max: u32,
    ) -> core::result::Result<Option<(u64, u64)>, AllocError> {
        let nbits = balloc::blocks_in_group(&self.fs, group);
        let bh = sb.bread(u64::from(desc.block_bitmap))?;
        bh.read(0, &mut self.scratch)?;
        self.check_bitmap(group, desc, nbits)?;
        let Some((bit, len)) = balloc::find_free_run(&self.scratch, nbits, goal_bit, max) else {
            return Ok(None);
        };
        let len = len.min(u32::from(desc.free_blocks));
        let first = balloc::group_first_block(&self.fs, group) + u64::from(bit);
        if balloc::metadata_overlap(&self.fs, group, desc, first, u64::from(len)) {
            // The bitmap says metadata is free: never hand it out.
            return Err(AllocError::Corrupt(Corrupt::BlockPointer(first)));
        }
        let desc_bh = self.prepare_change(sb, group)?;
        balloc::set_bits(&mut self.scratch, bit, len)
            .map_err(|b| AllocError::Corrupt(Corrupt::BlockPointer(u64::from(b))))?;
        self.commit_change(
            &bh,
            &desc_bh,
            desc.block_bitmap,
            group,
            bit,
            len,
            -i64::from(len),
        )?;
        Ok(Some((first, u64::from(len))))
    }

    /// Checks the bitmap in `scratch` against what the group descriptor says
    /// before trusting it with an allocation: metadata marked free, or a
    /// free count that disagrees, means the on-disk state is corrupt, and
    /// allocating from it could hand out a block that is in use.
    fn check_bitmap(
        &self,
        group: u32,
        desc: &GroupDesc,
        nbits: u32,
    ) -> core::result::Result<(), AllocError> {
        if let Some(block) =
            balloc::first_free_metadata(&self.fs, group, desc, &self.scratch, nbits)
        {
            return Err(AllocError::Corrupt(Corrupt::FreeMetadata(block)));
        }
        let free = balloc::count_free(&self.scratch, nbits);
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
        &mut self,
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
            let desc = *self.descs.get(group as usize).ok_or(EIO)?;
            if balloc::metadata_overlap(&self.fs, group, &desc, block, u64::from(len)) {
                return Err(AllocError::Corrupt(Corrupt::BlockPointer(block)));
            }
            let bh = sb.bread(u64::from(desc.block_bitmap))?;
            bh.read(0, &mut self.scratch)?;
            let desc_bh = self.prepare_change(sb, group)?;
            balloc::clear_bits(&mut self.scratch, bit, len)
                .map_err(|b| AllocError::Corrupt(Corrupt::BlockPointer(u64::from(b))))?;
            self.commit_change(
                &bh,
                &desc_bh,
                desc.block_bitmap,
                group,
                bit,
                len,
                i64::from(len),
            )?;
            block += u64::from(len);
        }
        Ok(())
    }

    /// Gets what changing `group`'s bitmap needs and can fail to get (its
    /// descriptor's buffer, room on the dirty list) before anything is
    /// changed: a change is made whole or not at all, so the bitmap and the
    /// counts never disagree because memory or a read failed half-way.
    fn prepare_change<T: FileSystem, S>(
        &mut self,
        sb: &VfsSuperBlock<T, S>,
        group: u32,
    ) -> Result<BufferHead> {
        let (blk, _) = self.fs.desc_location(group);
        let desc_bh = sb.bread(blk)?;
        self.dirty.reserve(2, GFP_KERNEL)?;
        Ok(desc_bh)
    }

    /// Makes a change prepared with [`Groups::prepare_change`]: writes the
    /// bitmap bytes that hold bits `bit..bit + len` (from the scratch copy),
    /// moves `delta` blocks into (or out of) the free counts of `group` and
    /// of the file system, writes the group's descriptor, and notes both
    /// blocks for fsync.
    #[allow(clippy::too_many_arguments)]
    fn commit_change(
        &mut self,
        bitmap_bh: &BufferHead,
        desc_bh: &BufferHead,
        bitmap_block: u32,
        group: u32,
        bit: u32,
        len: u32,
        delta: i64,
    ) -> Result {
        let from = (bit / 8) as usize;
        let to = (bit + len).div_ceil(8) as usize;
        bitmap_bh.write(from, self.scratch.get(from..to).ok_or(EINVAL)?)?;
        bitmap_bh.mark_dirty();
        let desc = self.descs.get_mut(group as usize).ok_or(EIO)?;
        desc.free_blocks =
            (i64::from(desc.free_blocks) + delta).clamp(0, i64::from(u16::MAX)) as u16;
        let desc = *desc;
        self.fs.free_blocks =
            (i64::from(self.fs.free_blocks) + delta).clamp(0, i64::from(u32::MAX)) as u32;
        let (desc_block, off) = self.fs.desc_location(group);
        let mut raw = [0u8; DESC_SIZE];
        desc_bh.read(off, &mut raw)?;
        desc.store_counts(&mut raw).map_err(|_| EIO)?;
        desc_bh.write(off, &raw)?;
        desc_bh.mark_dirty();
        // Room for both was reserved: these cannot fail.
        self.note_dirty(u64::from(bitmap_block))?;
        self.note_dirty(desc_block)
    }

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
