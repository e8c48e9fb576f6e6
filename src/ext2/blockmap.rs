// SPDX-License-Identifier: GPL-2.0

//! ext2's indirect block map (fs/ext2/inode.c): lookup, allocation and
//! truncation, in plain Rust.
//!
//! An inode's `i_block` holds 12 pointers to data blocks, then one pointer
//! each to a single, double and triple indirect block. The map reads and
//! writes indirect blocks, and takes and gives back blocks, through a
//! [`MapStore`]: the kernel's is the buffer cache and the block bitmaps, the
//! host tests' an array in memory.
//!
//! Pointer arrays are copied a chunk at a time, never a whole 4 KiB block's
//! worth onto the kernel stack.

use super::format::{BlockPath, Corrupt, SuperBlock, NDIR_BLOCKS, N_BLOCKS};
use crate::mpage::mapping::{MapKind, Mapping};

/// The metadata a block map reads and writes: indirect blocks and the block
/// allocator.
pub(crate) trait MapStore {
    /// What the store's operations fail with.
    type Error;
    /// The error for a corruption found in the map (the kernel side logs it
    /// once per inode, gives EUCLEAN).
    fn corrupt(&self, c: Corrupt) -> Self::Error;
    /// Copies `out.len()` pointers of indirect block `blk` from index
    /// `start` on.
    fn read_ptrs(&self, blk: u64, start: usize, out: &mut [u32]) -> Result<(), Self::Error>;
    /// Pointer `index` of indirect block `blk`: [`MapStore::read_ptrs`] for
    /// one, which every lookup does at each level of the path.
    fn read_ptr(&self, blk: u64, index: usize) -> Result<u32, Self::Error> {
        let mut ptr = [0u32];
        self.read_ptrs(blk, index, &mut ptr)?;
        Ok(ptr[0])
    }
    /// Stores `ptrs` into indirect block `blk` from index `start` on, and
    /// marks it dirty (written with the inode's fsync).
    fn write_ptrs(&self, blk: u64, start: usize, ptrs: &[u32]) -> Result<(), Self::Error>;
    /// Makes freshly allocated block `blk` an indirect block of zeroes
    /// (never read from disk), with `ptrs` stored from index `start`.
    fn new_indirect(&self, blk: u64, start: usize, ptrs: &[u32]) -> Result<(), Self::Error>;
    /// Allocates between 1 and `max` contiguous free blocks, the first as
    /// close to `goal` as the allocator can; returns (first, count). Errors:
    /// no space (ENOSPC), corrupt bitmaps.
    fn alloc(&self, goal: u64, max: u64) -> Result<(u64, u64), Self::Error>;
    /// Frees `count` blocks from `first`. `indirect`: they held indirect
    /// blocks, whose cached (maybe dirty) buffers must be forgotten rather
    /// than written later over the block's next owner (bforget, mpage
    /// pitfall 18).
    fn free(&self, first: u64, count: u64, indirect: bool) -> Result<(), Self::Error>;
}

/// Where to allocate when the map itself suggests nothing better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Goal {
    /// (lblk, pblk) of the inode's last allocation: the next logical block
    /// goes right after it on disk (ext2's sequential heuristic).
    pub(crate) last: Option<(u64, u64)>,
    /// First block of the inode's group.
    pub(crate) group_start: u64,
}

/// What [`allocate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Allocated {
    /// The run at the requested block: just allocated (`new`) or found.
    pub(crate) mapping: Mapping,
    /// Blocks added to the file (data + indirect), for i_blocks.
    pub(crate) blocks: u64,
}

/// Pointers copied at a time: 64 bytes of stack, which the compiler clears
/// with a few stores. A larger buffer is cleared with `memset` on every
/// call, and most calls map one block (write_begin's, a random write's).
const CHUNK: usize = 16;

/// A chunk of zero pointers, to clear a chunk of an array with.
const ZEROES: [u32; CHUNK] = [0; CHUNK];

/// A pointer array of the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Array {
    /// The inode's `i_block`.
    Inode,
    /// An indirect block.
    Block(u64),
}

/// The file system and store one operation works with.
struct Meta<'a, S> {
    fs: &'a SuperBlock,
    store: &'a S,
}

// Hand-written: a derive would require `S: Clone`.
impl<S> Clone for Meta<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Meta<'_, S> {}

/// The arrays on the path to a block, as far as they exist (ext2_get_branch).
struct Branch {
    path: BlockPath,
    /// The array at each level: `arrays[0]` is `i_block`, `arrays[l]` the
    /// indirect block that `arrays[l - 1]` points to at `path.offsets[l - 1]`.
    arrays: [Array; 4],
    /// Levels whose array exists. Below `path.depth`, the pointer at the
    /// path's slot of the last of them is zero: an indirect block is missing.
    levels: usize,
}

impl Branch {
    /// The path's slot in the array of `level`.
    fn slot(&self, level: usize) -> usize {
        self.path.offsets[level] as usize
    }

    /// Whether the last-level array exists.
    fn complete(&self) -> bool {
        self.levels == self.path.depth
    }

    /// The deepest existing array and the path's slot in it: where the
    /// block's pointer, or the pointer to the missing indirect block, goes.
    fn end(&self) -> (Array, usize) {
        let level = self.levels - 1;
        (self.arrays[level], self.slot(level))
    }
}

/// Blocks taken for one allocation: the missing indirect blocks, the top of
/// the new branch first, then one contiguous run of data blocks.
#[derive(Default)]
struct NewBlocks {
    indirect: [u64; 3],
    n_indirect: usize,
    data: u64,
    count: u64,
}

impl NewBlocks {
    /// The new indirect blocks, top first.
    fn indirect(&self) -> &[u64] {
        &self.indirect[..self.n_indirect]
    }
}

/// Blocks to free, gathered into contiguous runs of one kind so that the
/// allocator sees one call per run (ext2_free_data).
#[derive(Default)]
struct Frees {
    first: u64,
    count: u64,
    indirect: bool,
    /// Blocks handed to `add` so far: they have left the file.
    total: u64,
}

impl Frees {
    /// Adds `blk` to the run, or frees the run and starts another with it.
    fn add<S: MapStore>(&mut self, store: &S, blk: u64, indirect: bool) -> Result<(), S::Error> {
        self.total += 1;
        if self.count > 0 && self.indirect == indirect && self.first + self.count == blk {
            self.count += 1;
            return Ok(());
        }
        let flushed = self.flush(store);
        // Kept even when that failed: the caller's last flush frees it.
        self.first = blk;
        self.count = 1;
        self.indirect = indirect;
        flushed
    }

    fn add_run<S: MapStore>(
        &mut self,
        store: &S,
        first: u64,
        count: u64,
        indirect: bool,
    ) -> Result<(), S::Error> {
        for blk in first..first.saturating_add(count) {
            self.add(store, blk, indirect)?;
        }
        Ok(())
    }

    /// Frees the run gathered so far.
    fn flush<S: MapStore>(&mut self, store: &S) -> Result<(), S::Error> {
        // Taken first: after an error the run is not freed a second time.
        let count = core::mem::take(&mut self.count);
        if count == 0 {
            return Ok(());
        }
        store.free(self.first, count, self.indirect)
    }
}

/// Converts a checked block number to its on-disk form. Checked block
/// numbers are below `blocks_count`, itself a `u32`: nothing is lost.
fn disk_ptr(blk: u64) -> u32 {
    blk as u32
}

/// Hands the pointers to `count` consecutive blocks from `first` to `put`
/// a chunk at a time, with the chunk's index in the run. On an error, says
/// how many were stored before it.
fn put_run<E>(
    first: u64,
    count: u64,
    mut put: impl FnMut(usize, &[u32]) -> Result<(), E>,
) -> Result<(), (u64, E)> {
    let mut buf = [0u32; CHUNK];
    let mut done = 0u64;
    while done < count {
        let chunk = &mut buf[..chunk_len(count - done)];
        for (i, p) in chunk.iter_mut().enumerate() {
            *p = disk_ptr(first + done + i as u64);
        }
        put(done as usize, chunk).map_err(|e| (done, e))?;
        done += chunk.len() as u64;
    }
    Ok(())
}

/// Length of the next chunk when `left` pointers remain.
fn chunk_len(left: u64) -> usize {
    left.min(CHUNK as u64) as usize
}

impl<S: MapStore> Meta<'_, S> {
    /// The store's error for `c`.
    fn corrupt(&self, c: Corrupt) -> S::Error {
        self.store.corrupt(c)
    }

    /// `p` if it may be followed or handed out: inside the file system,
    /// past the super block.
    fn check(&self, p: u64) -> Result<u64, S::Error> {
        if self.fs.valid_data_block(p) {
            Ok(p)
        } else {
            Err(self.corrupt(Corrupt::BlockPointer(p)))
        }
    }

    /// The path of `lblk` in the map (ext2_block_to_path).
    fn path_of(&self, lblk: u64) -> Result<BlockPath, S::Error> {
        BlockPath::new(lblk, self.fs.ptrs_per_block()).ok_or_else(|| {
            self.corrupt(Corrupt::TooLarge(lblk.saturating_mul(self.fs.block_size())))
        })
    }

    /// Number of pointers in `array`.
    fn array_end(&self, array: Array) -> usize {
        match array {
            Array::Inode => N_BLOCKS,
            Array::Block(_) => self.fs.ptrs_per_block() as usize,
        }
    }

    /// Copies the pointers of `array` from `start` on into `out`.
    fn read(
        &self,
        i_block: &[u32; N_BLOCKS],
        array: Array,
        start: usize,
        out: &mut [u32],
    ) -> Result<(), S::Error> {
        match array {
            Array::Block(blk) => self.store.read_ptrs(blk, start, out),
            Array::Inode => {
                let src = start
                    .checked_add(out.len())
                    .and_then(|end| i_block.get(start..end))
                    .ok_or_else(|| self.corrupt(Corrupt::Geometry))?;
                out.copy_from_slice(src);
                Ok(())
            }
        }
    }

    /// The pointer at `slot` of `array`.
    fn read_one(
        &self,
        i_block: &[u32; N_BLOCKS],
        array: Array,
        slot: usize,
    ) -> Result<u32, S::Error> {
        match array {
            Array::Block(blk) => self.store.read_ptr(blk, slot),
            Array::Inode => i_block
                .get(slot)
                .copied()
                .ok_or_else(|| self.corrupt(Corrupt::Geometry)),
        }
    }

    /// Stores `ptrs` into `array` from `start` on.
    fn write(
        &self,
        i_block: &mut [u32; N_BLOCKS],
        array: Array,
        start: usize,
        ptrs: &[u32],
    ) -> Result<(), S::Error> {
        match array {
            Array::Block(blk) => self.store.write_ptrs(blk, start, ptrs),
            Array::Inode => {
                let dst = start
                    .checked_add(ptrs.len())
                    .and_then(|end| i_block.get_mut(start..end))
                    .ok_or_else(|| self.corrupt(Corrupt::Geometry))?;
                dst.copy_from_slice(ptrs);
                Ok(())
            }
        }
    }

    /// Follows `path` down through its first `depth` levels, as far as the
    /// indirect blocks exist, checking every pointer followed.
    fn branch(
        &self,
        i_block: &[u32; N_BLOCKS],
        path: BlockPath,
        depth: usize,
    ) -> Result<Branch, S::Error> {
        let mut branch = Branch {
            path,
            arrays: [Array::Inode; 4],
            levels: 1,
        };
        while branch.levels < depth {
            let (array, slot) = branch.end();
            let ptr = self.read_one(i_block, array, slot)?;
            if ptr == 0 {
                break;
            }
            branch.arrays[branch.levels] = Array::Block(self.check(u64::from(ptr))?);
            branch.levels += 1;
        }
        Ok(branch)
    }

    /// The run of one kind that starts at `slot` of last-level `array`: at
    /// most `max` (>= 1) pointers, `left` being all the array holds from
    /// `slot` on. A mapped run is a boundary when it reaches the array's
    /// end: the next block needs another indirect block read.
    fn scan(
        &self,
        i_block: &[u32; N_BLOCKS],
        array: Array,
        slot: usize,
        lblk: u64,
        max: u64,
        left: u64,
    ) -> Result<Mapping, S::Error> {
        let mut buf = [0u32; CHUNK];
        let mut head = None;
        let mut len = 0u64;
        'scan: while len < max {
            let chunk = &mut buf[..chunk_len(max - len)];
            self.read(i_block, array, slot + len as usize, chunk)?;
            for &p in chunk.iter() {
                let first = *head.get_or_insert(p);
                let next = if first == 0 {
                    0
                } else {
                    u64::from(first) + len
                };
                if u64::from(p) != next {
                    break 'scan;
                }
                len += 1;
            }
        }
        match head {
            None => Err(self.corrupt(Corrupt::Geometry)),
            Some(0) => Ok(Mapping::hole(lblk, len)),
            Some(first) => {
                // Contiguous: the ends bound the rest.
                let pblk = self.check(u64::from(first))?;
                self.check(pblk + len - 1)?;
                Ok(Mapping::mapped(lblk, len, pblk, len == left))
            }
        }
    }

    /// The run at `lblk`, at most `max` blocks, read-only: down the path one
    /// pointer per level, as ext2_get_branch goes, keeping nothing of the
    /// way (most lookups find a mapped block, and this is the path every
    /// write to one takes). Under a missing indirect block, a hole up to the
    /// end of the last-level array.
    fn lookup(&self, i_block: &[u32; N_BLOCKS], lblk: u64, max: u64) -> Result<Mapping, S::Error> {
        let path = self.path_of(lblk)?;
        let left = path.left_in_last(self.fs.ptrs_per_block());
        let max = max.clamp(1, left);
        let mut array = Array::Inode;
        for &slot in &path.offsets[..path.depth - 1] {
            match self.read_one(i_block, array, slot as usize)? {
                0 => return Ok(Mapping::hole(lblk, max)),
                ptr => array = Array::Block(self.check(u64::from(ptr))?),
            }
        }
        let slot = path.offsets[path.depth - 1] as usize;
        if max == 1 {
            return self.single(i_block, array, slot, lblk, left);
        }
        self.scan(i_block, array, slot, lblk, max, left)
    }

    /// [`Meta::scan`] for one block, the run a 4 KiB write or a FIBMAP asks
    /// for: its one pointer, without the chunked copy.
    fn single(
        &self,
        i_block: &[u32; N_BLOCKS],
        array: Array,
        slot: usize,
        lblk: u64,
        left: u64,
    ) -> Result<Mapping, S::Error> {
        match self.read_one(i_block, array, slot)? {
            0 => Ok(Mapping::hole(lblk, 1)),
            ptr => {
                let pblk = self.check(u64::from(ptr))?;
                Ok(Mapping::mapped(lblk, 1, pblk, left == 1))
            }
        }
    }

    /// The run at `lblk`: its path, the clamp of `max` to the last-level
    /// array, the branch, and the run if that array exists.
    fn find(
        &self,
        i_block: &[u32; N_BLOCKS],
        lblk: u64,
        max: u64,
    ) -> Result<(Branch, u64, Option<Mapping>), S::Error> {
        let path = self.path_of(lblk)?;
        let left = path.left_in_last(self.fs.ptrs_per_block());
        let max = max.clamp(1, left);
        let branch = self.branch(i_block, path, path.depth)?;
        if !branch.complete() {
            return Ok((branch, max, None));
        }
        let (array, slot) = branch.end();
        let run = self.scan(i_block, array, slot, lblk, max, left)?;
        Ok((branch, max, Some(run)))
    }

    /// The nearest non-zero pointer left of `slot` in `array`, and how many
    /// slots away it is.
    fn nearest_left(
        &self,
        i_block: &[u32; N_BLOCKS],
        array: Array,
        slot: usize,
    ) -> Result<Option<(u32, u64)>, S::Error> {
        let mut buf = [0u32; CHUNK];
        let mut end = slot;
        while end > 0 {
            let start = end.saturating_sub(CHUNK);
            let chunk = &mut buf[..end - start];
            self.read(i_block, array, start, chunk)?;
            if let Some(i) = chunk.iter().rposition(|&p| p != 0) {
                return Ok(Some((chunk[i], (slot - start - i) as u64)));
            }
            end = start;
        }
        Ok(None)
    }

    /// Where the first new block should go (ext2_find_goal): after the
    /// inode's last allocation when this one continues it, else near the
    /// blocks around it in the map. Never outside the file system.
    fn goal(
        &self,
        i_block: &[u32; N_BLOCKS],
        branch: &Branch,
        lblk: u64,
        goal: &Goal,
    ) -> Result<u64, S::Error> {
        let sequential = goal
            .last
            .filter(|&(l, p)| p != 0 && l.checked_add(1) == Some(lblk))
            .map(|(_, p)| p.saturating_add(1));
        let near = match sequential {
            Some(next) => next,
            None => self.near(i_block, branch, goal)?,
        };
        Ok(if self.fs.valid_data_block(near) {
            near
        } else {
            goal.group_start
        })
    }

    /// A block near where the new pointer goes (ext2_find_near).
    fn near(
        &self,
        i_block: &[u32; N_BLOCKS],
        branch: &Branch,
        goal: &Goal,
    ) -> Result<u64, S::Error> {
        let (array, slot) = branch.end();
        if let Some((ptr, distance)) = self.nearest_left(i_block, array, slot)? {
            // As far from the block to the left as the slots are apart: a
            // sparse file filled in out of order still ends up in order on
            // disk. Next to a pointer to an indirect block, this is merely
            // where the allocator's forward search starts.
            return Ok(u64::from(ptr).saturating_add(distance));
        }
        Ok(match array {
            // ext2_find_near answers the indirect block itself, which is in
            // use: the allocator searches on from it. Asking for the block
            // right after it says what we want outright, so that an
            // allocator which tries the goal before searching gets it too.
            Array::Block(blk) => blk.saturating_add(1),
            Array::Inode => goal.group_start,
        })
    }

    /// `store.alloc`, with its answer checked: blocks outside the file
    /// system, or more than asked for, mean corrupt bitmaps behind it.
    fn alloc_run(&self, goal: u64, max: u64) -> Result<(u64, u64), S::Error> {
        let (first, got) = self.store.alloc(goal, max)?;
        if got == 0 || got > max {
            return Err(self.corrupt(Corrupt::BlockPointer(first)));
        }
        self.check(first)?;
        self.check(first.saturating_add(got - 1))?;
        Ok((first, got))
    }

    /// Takes `missing` indirect blocks and up to `count` data blocks,
    /// preferably in one run from `goal`, indirect blocks first so that each
    /// sits right before the data it points to (ext2_alloc_blocks). Asks
    /// again until it has every indirect block and at least one data block;
    /// the data blocks are the rest of the run that reached them, contiguous.
    fn alloc_blocks(&self, goal: u64, missing: usize, count: u64) -> Result<NewBlocks, S::Error> {
        let mut new = NewBlocks::default();
        let mut goal = goal;
        while new.count == 0 {
            let want = (missing - new.n_indirect) as u64 + count;
            let (mut first, mut got) = match self.alloc_run(goal, want) {
                Ok(run) => run,
                Err(e) => {
                    self.release(&new);
                    return Err(e);
                }
            };
            while new.n_indirect < missing && got > 0 {
                new.indirect[new.n_indirect] = first;
                new.n_indirect += 1;
                first += 1;
                got -= 1;
            }
            new.data = first;
            new.count = got;
            goal = first;
        }
        Ok(new)
    }

    /// Gives back what an allocation took, after it failed: nothing is
    /// leaked. The error being returned is the one to report, so errors
    /// here are dropped (the allocator reports corrupt bitmaps itself).
    fn release(&self, new: &NewBlocks) {
        let mut frees = Frees::default();
        for &blk in new.indirect() {
            let _ = frees.add(self.store, blk, true);
        }
        let _ = frees.add_run(self.store, new.data, new.count, false);
        let _ = frees.flush(self.store);
    }

    /// Fills in the new indirect blocks, each pointing to the next and the
    /// last to the data (ext2_alloc_branch). Nothing leads to them yet: the
    /// top is linked in afterwards, so the map never reaches a block that is
    /// not filled in.
    fn build(&self, branch: &Branch, new: &NewBlocks) -> Result<(), S::Error> {
        let indirect = new.indirect();
        for (i, &blk) in indirect.iter().enumerate() {
            let slot = branch.slot(branch.levels + i);
            match indirect.get(i + 1) {
                Some(&child) => self.store.new_indirect(blk, slot, &[disk_ptr(child)])?,
                None => put_run(new.data, new.count, |at, chunk| {
                    if at == 0 {
                        self.store.new_indirect(blk, slot, chunk)
                    } else {
                        self.store.write_ptrs(blk, slot + at, chunk)
                    }
                })
                .map_err(|(_, e)| e)?,
            }
        }
        Ok(())
    }

    /// Links the new blocks in where the branch ends (ext2_splice_branch):
    /// the top new indirect block, or else the data blocks themselves. On an
    /// error everything goes back, unless some data pointers are in already:
    /// the allocation then ends with those, and the caller, asking for the
    /// rest, meets the error again.
    fn splice(
        &self,
        i_block: &mut [u32; N_BLOCKS],
        branch: &Branch,
        new: &mut NewBlocks,
    ) -> Result<(), S::Error> {
        let (array, slot) = branch.end();
        let linked = match new.indirect().first() {
            Some(&top) => self
                .write(i_block, array, slot, &[disk_ptr(top)])
                .map_err(|e| (0, e)),
            None => put_run(new.data, new.count, |at, chunk| {
                self.write(i_block, array, slot + at, chunk)
            }),
        };
        match linked {
            Ok(()) => Ok(()),
            Err((0, e)) => {
                self.release(new);
                Err(e)
            }
            Err((stored, _)) => {
                let mut frees = Frees::default();
                let _ = frees.add_run(self.store, new.data + stored, new.count - stored, false);
                let _ = frees.flush(self.store);
                new.count = stored;
                Ok(())
            }
        }
    }
}

/// Maps `lblk` and up to `max - 1` following blocks of one kind, read-only
/// (ext2_get_blocks without create).
pub(crate) fn lookup<S: MapStore>(
    fs: &SuperBlock,
    i_block: &[u32; N_BLOCKS],
    store: &S,
    lblk: u64,
    max: u64,
) -> Result<Mapping, S::Error> {
    (Meta { fs, store }).lookup(i_block, lblk, max)
}

/// Like [`lookup`]; where `lblk` is a hole, allocates up to `max` blocks for
/// the run of the hole that starts at `lblk` (never past the end of the
/// last-level pointer array, never over an already mapped block), plus the
/// missing indirect blocks on its path, and returns them with `new = true`
/// (ext2_get_blocks with create). Where `lblk` is mapped, returns the
/// existing run (`new = false`, `blocks = 0`), but only after gathering the
/// branch an allocation needs: a caller that expects mapped blocks asks
/// [`lookup`] first.
pub(crate) fn allocate<S: MapStore>(
    fs: &SuperBlock,
    i_block: &mut [u32; N_BLOCKS],
    store: &S,
    lblk: u64,
    max: u64,
    goal: &Goal,
) -> Result<Allocated, S::Error> {
    let m = Meta { fs, store };
    let (branch, max, run) = m.find(i_block, lblk, max)?;
    // ext2_blks_to_allocate: the hole's run, or under a missing indirect
    // block everything up to the end of the last-level array.
    let count = match run {
        Some(mapping) if mapping.kind != MapKind::Hole => {
            return Ok(Allocated { mapping, blocks: 0 })
        }
        Some(hole) => hole.len,
        None => max,
    };
    let want = m.goal(i_block, &branch, lblk, goal)?;
    let mut new = m.alloc_blocks(want, branch.path.depth - branch.levels, count)?;
    if let Err(e) = m.build(&branch, &new) {
        m.release(&new);
        return Err(e);
    }
    m.splice(i_block, &branch, &mut new)?;
    let left = branch.path.left_in_last(fs.ptrs_per_block());
    let mapping = Mapping {
        new: true,
        ..Mapping::mapped(lblk, new.count, new.data, new.count == left)
    };
    Ok(Allocated {
        mapping,
        blocks: new.n_indirect as u64 + new.count,
    })
}

/// Frees every block of the file from logical block `from` on
/// (__ext2_truncate_blocks, ext2_free_branches): data blocks, and indirect
/// blocks that no longer hold any pointer; zeroes the pointers to freed
/// blocks in `i_block` and in the indirect blocks that are kept. Returns the
/// number of blocks freed (data + indirect), for i_blocks.
pub(crate) fn truncate<S: MapStore>(
    fs: &SuperBlock,
    i_block: &mut [u32; N_BLOCKS],
    store: &S,
    from: u64,
) -> Result<u64, S::Error> {
    let m = Meta { fs, store };
    // Nothing is mapped past what the map can address.
    let Some(path) = BlockPath::new(from, fs.ptrs_per_block()) else {
        return Ok(0);
    };
    // A dry run first reads and checks every pointer the truncation follows
    // or frees: a corrupt map is refused before anything changes, and the
    // real run, over the same (now cached) blocks, finds nothing to refuse.
    let mut dry = Truncation {
        m,
        apply: false,
        frees: Frees::default(),
    };
    dry.run(i_block, path)?;
    let mut t = Truncation {
        m,
        apply: true,
        frees: Frees::default(),
    };
    let ran = t.run(i_block, path);
    // What is still gathered is unlinked already: free it even after an
    // error, or it would leak.
    let flushed = t.frees.flush(store);
    ran.and(flushed)?;
    Ok(t.frees.total)
}

/// One pass of a truncation: checking only, or doing it (`apply`).
struct Truncation<'a, S> {
    m: Meta<'a, S>,
    apply: bool,
    frees: Frees,
}

impl<S: MapStore> Truncation<'_, S> {
    /// Frees from `path` on (__ext2_truncate_blocks, ext2_find_shared).
    fn run(&mut self, i_block: &mut [u32; N_BLOCKS], path: BlockPath) -> Result<(), S::Error> {
        if path.depth == 1 {
            return self.clear_inode(i_block, path.offsets[0] as usize);
        }
        // Trailing zero offsets: whole indirect blocks go, so the path to
        // clear from ends higher up.
        let mut depth = path.depth;
        while depth > 1 && path.offsets[depth - 1] == 0 {
            depth -= 1;
        }
        let branch = self.m.branch(i_block, path, depth)?;
        // The deepest indirect block on the branch with a pointer to keep,
        // left of the path, stays; below it nothing does.
        let mut keep = branch.levels - 1;
        while keep > 0
            && self
                .m
                .nearest_left(i_block, branch.arrays[keep], branch.slot(keep))?
                .is_none()
        {
            keep -= 1;
        }
        if keep == 0 {
            return self.clear_inode(i_block, branch.slot(0));
        }
        // In the block that stays, from the path's slot on; in those above
        // it, right of the path; then the inode's.
        let levels_under = |level: usize| path.depth - 1 - level;
        let array = branch.arrays[keep];
        self.clear_to_end(i_block, array, branch.slot(keep), levels_under(keep))?;
        for level in (1..keep).rev() {
            let array = branch.arrays[level];
            self.clear_to_end(i_block, array, branch.slot(level) + 1, levels_under(level))?;
        }
        self.clear_inode(i_block, branch.slot(0) + 1)
    }

    /// Clears `i_block` from `slot` on: direct blocks, then whole trees.
    fn clear_inode(&mut self, i_block: &mut [u32; N_BLOCKS], slot: usize) -> Result<(), S::Error> {
        if slot < NDIR_BLOCKS {
            self.clear(i_block, Array::Inode, slot, NDIR_BLOCKS, 0, true)?;
        }
        for s in slot.max(NDIR_BLOCKS)..N_BLOCKS {
            self.clear(i_block, Array::Inode, s, s + 1, s + 1 - NDIR_BLOCKS, true)?;
        }
        Ok(())
    }

    /// Clears indirect block `array` from `slot` on; the block stays.
    fn clear_to_end(
        &mut self,
        i_block: &mut [u32; N_BLOCKS],
        array: Array,
        slot: usize,
        levels: usize,
    ) -> Result<(), S::Error> {
        let end = self.m.array_end(array);
        self.clear(i_block, array, slot, end, levels, true)
    }

    /// Clears pointers `start..end` of `array`, each to a tree of `levels`
    /// indirect levels (0: a data block), checking each before anything is
    /// done with it. `unlink`: the array stays, so its pointers are zeroed
    /// before the blocks they point to are freed. An array that is freed
    /// itself is left as it is (its buffer is forgotten).
    fn clear(
        &mut self,
        i_block: &mut [u32; N_BLOCKS],
        array: Array,
        start: usize,
        end: usize,
        levels: usize,
        unlink: bool,
    ) -> Result<(), S::Error> {
        let mut buf = [0u32; CHUNK];
        let mut at = start;
        while at < end {
            let chunk = &mut buf[..chunk_len((end - at) as u64)];
            self.m.read(i_block, array, at, chunk)?;
            for &p in chunk.iter().filter(|&&p| p != 0) {
                self.m.check(u64::from(p))?;
            }
            if self.apply && unlink && chunk.iter().any(|&p| p != 0) {
                self.m.write(i_block, array, at, &ZEROES[..chunk.len()])?;
            }
            for &p in chunk.iter().filter(|&&p| p != 0) {
                self.drop_tree(i_block, u64::from(p), levels)?;
            }
            at += chunk.len();
        }
        Ok(())
    }

    /// Frees the tree under `blk`: its data and indirect blocks, then `blk`.
    fn drop_tree(
        &mut self,
        i_block: &mut [u32; N_BLOCKS],
        blk: u64,
        levels: usize,
    ) -> Result<(), S::Error> {
        if levels > 0 {
            let array = Array::Block(blk);
            let end = self.m.array_end(array);
            self.clear(i_block, array, 0, end, levels - 1, false)?;
        }
        if self.apply {
            self.frees.add(self.m.store, blk, levels > 0)?;
        }
        Ok(())
    }
}
