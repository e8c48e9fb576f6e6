// SPDX-License-Identifier: GPL-2.0

//! The decisions of ext2's inode allocator (fs/ext2/ialloc.c), in plain
//! Rust: which group a new inode goes to, which bit of that group's inode
//! bitmap it takes, and the inode number that bit stands for.
//!
//! The kernel side ([`super::allocator`]) gives these functions the counts
//! of each group as it keeps them in memory, reads the inode bitmap through
//! the buffer cache, holds the group's lock, and writes the bitmap, the
//! descriptor and the super block's counts back. Nothing here touches the
//! kernel, so the host tests in `tests/host` check every choice.
//!
//! Where rext2 differs from the C ext2:
//! - There is no `oldalloc` mount option, so no find_group_dir: directories
//!   always go by Orlov.
//! - The counts these functions read are exact (the allocator's, under its
//!   locks), not percpu_counter approximations; the C code's retries for
//!   approximate counts stay, as they also cover counts that lie.
//! - The bits below `s_first_ino` in group 0 (reserved inodes: bad blocks,
//!   root, resize, journal, ...) are never searched: a bitmap that marks one
//!   free is skipped over, where ext2_new_inode takes it and then fails the
//!   allocation with "reserved inode" (ext2_error, `EIO`).
//! - rext2 mounts a file system whose `s_inodes_count` is below groups ×
//!   `s_inodes_per_group` (ext2_fill_super refuses it): the last group then
//!   has fewer inodes, and its bits past `s_inodes_count` are never taken.

use super::format::{Corrupt, GroupDesc, SuperBlock};
use core::ops::Range;

/// What the placement policy looks at of one group: its descriptor's counts
/// and, for Orlov, the directories it took lately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct GroupCounts {
    /// Free inodes (`bg_free_inodes_count`).
    pub(crate) free_inodes: u32,
    /// Free blocks (`bg_free_blocks_count`).
    pub(crate) free_blocks: u32,
    /// Directories (`bg_used_dirs_count`).
    pub(crate) used_dirs: u32,
    /// Directories created in the group lately, less the other inodes
    /// created there since (ext2's `s_debts`, 0 to 255). Like the C one, it
    /// lives in memory for the mount only: it starts at 0 at every mount.
    pub(crate) debt: u8,
}

/// The file system's totals (ext2's percpu counters), which Orlov compares
/// each group with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Totals {
    /// Free inodes (`s_freeinodes_counter`).
    pub(crate) free_inodes: u64,
    /// Free blocks (`s_freeblocks_counter`).
    pub(crate) free_blocks: u64,
    /// Directories (`s_dirs_counter`).
    pub(crate) dirs: u64,
}

/// What a directory costs in inodes and blocks, for Orlov's debt limit
/// (ialloc.c's `INODE_COST` and `BLOCK_COST`).
const INODE_COST: i64 = 64;
const BLOCK_COST: i64 = 256;

/// Group `start + i`, wrapping at `ngroups`: the `i`th group of a cyclic
/// search from `start` (ialloc.c's `(parent_group + i) % ngroups`).
fn cyclic(start: u32, i: u32, ngroups: u32) -> u32 {
    let group = u64::from(start) + u64::from(i);
    group.checked_rem(u64::from(ngroups)).unwrap_or(0) as u32
}

/// Where a new directory goes (find_group_orlov). `parent_group` is the
/// parent directory's group; `top_level` says the parent is the root (ext2
/// also counts a parent with `EXT2_TOPDIR_FL`); `random` is the random
/// number the caller drew (ext2's `get_random_u32_below(ngroups)`), taken
/// modulo the number of groups so that tests can choose it. `group` gives
/// the counts of a group, `None` past the last one. `None` if no group has
/// a free inode.
///
/// Top-level directories spread: from the random group on, the group with
/// the fewest directories among those with at least the average of free
/// inodes and of free blocks. Others stay near their parent: the first
/// group from the parent's on whose directories, debt, free inodes and free
/// blocks are within Orlov's limits ([`OrlovLimits`]). If neither finds a
/// group, the first group from the same start with at least the average
/// of free inodes, then the first with any.
pub(crate) fn find_group_orlov(
    fs: &SuperBlock,
    totals: &Totals,
    parent_group: u32,
    top_level: bool,
    random: u32,
    group: impl Fn(u32) -> Option<GroupCounts>,
) -> Option<u32> {
    let ngroups = fs.groups();
    let avefreei = div(totals.free_inodes, ngroups);
    let avefreeb = div(totals.free_blocks, ngroups);
    let start = if top_level {
        let start = random.checked_rem(ngroups).unwrap_or(0);
        if let Some(best) = spread_top_level(fs, start, avefreei, avefreeb, &group) {
            return Some(best);
        }
        start
    } else {
        let limits = OrlovLimits::new(fs, totals);
        let near = (0..ngroups)
            .map(|i| cyclic(parent_group, i, ngroups))
            .find(|&g| group(g).is_some_and(|counts| limits.admit(&counts)));
        if near.is_some() {
            return near;
        }
        parent_group
    };
    orlov_fallback(ngroups, start, avefreei, &group)
}

/// `total / ngroups` (ext2 divides ints the same way); 0 with no groups.
fn div(total: u64, ngroups: u32) -> i64 {
    total.checked_div(u64::from(ngroups)).unwrap_or(0) as i64
}

/// Orlov for a top-level directory: from `start` on, the group with the
/// fewest directories (the first such) among those with a free inode and
/// at least `avefreei` free inodes and `avefreeb` free blocks.
fn spread_top_level(
    fs: &SuperBlock,
    start: u32,
    avefreei: i64,
    avefreeb: i64,
    group: &impl Fn(u32) -> Option<GroupCounts>,
) -> Option<u32> {
    let ngroups = fs.groups();
    // ext2 starts its best count at inodes_per_group: a group with that
    // many directories or more is never chosen here.
    let mut best: Option<(u32, u32)> = None;
    for g in (0..ngroups).map(|i| cyclic(start, i, ngroups)) {
        let Some(counts) = group(g) else { continue };
        let fewest = best.map_or(fs.inodes_per_group, |(_, dirs)| dirs);
        if counts.free_inodes == 0
            || counts.used_dirs >= fewest
            || i64::from(counts.free_inodes) < avefreei
            || i64::from(counts.free_blocks) < avefreeb
        {
            continue;
        }
        best = Some((g, counts.used_dirs));
    }
    best.map(|(g, _)| g)
}

/// Orlov's last resort: from `start` on, the first group with a free inode
/// and at least `avefreei` of them; if none, and the average was not 0
/// already, the first with any (ext2's comment: approximate counters can
/// fail the average on a tiny file system).
fn orlov_fallback(
    ngroups: u32,
    start: u32,
    avefreei: i64,
    group: &impl Fn(u32) -> Option<GroupCounts>,
) -> Option<u32> {
    let first_with = |least: i64| {
        (0..ngroups).map(|i| cyclic(start, i, ngroups)).find(|&g| {
            group(g).is_some_and(|c| c.free_inodes != 0 && i64::from(c.free_inodes) >= least)
        })
    };
    first_with(avefreei).or_else(|| if avefreei != 0 { first_with(0) } else { None })
}

/// Orlov's limits for a directory that is not top-level: the group may not
/// hold too many directories, nor have taken too many lately (debt), nor
/// have too few free inodes or blocks left. Signed, as in ext2, where the
/// minimums go negative (and so admit every group) on a fuller file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OrlovLimits {
    /// Fewer directories than this.
    pub(crate) max_dirs: i64,
    /// A debt below this.
    pub(crate) max_debt: i64,
    /// At least this many free inodes.
    pub(crate) min_inodes: i64,
    /// At least this many free blocks.
    pub(crate) min_blocks: i64,
}

impl OrlovLimits {
    /// The limits for `fs` with `totals`, as find_group_orlov computes them.
    pub(crate) fn new(fs: &SuperBlock, totals: &Totals) -> Self {
        let ngroups = fs.groups();
        let ipg = i64::from(fs.inodes_per_group);
        let bpg = i64::from(fs.blocks_per_group);
        // ext2 takes 1 for 0 directories ("percpu_counters are
        // approximate"); the root directory makes it 1 at least anyway.
        let ndirs = totals.dirs.max(1) as i64;
        let used_blocks = u64::from(fs.blocks_count).saturating_sub(totals.free_blocks) as i64;
        let blocks_per_dir = used_blocks / ndirs;
        let ngroups_i = i64::from(ngroups.max(1));
        let mut max_debt = bpg / blocks_per_dir.max(BLOCK_COST);
        if max_debt * INODE_COST > ipg {
            max_debt = ipg / INODE_COST;
        }
        Self {
            max_dirs: ndirs / ngroups_i + ipg / 16,
            max_debt: max_debt.clamp(1, 255),
            min_inodes: div(totals.free_inodes, ngroups) - ipg / 4,
            min_blocks: div(totals.free_blocks, ngroups) - bpg / 4,
        }
    }

    /// Whether a group with `counts` may take a directory.
    pub(crate) fn admit(&self, counts: &GroupCounts) -> bool {
        counts.free_inodes != 0
            && i64::from(counts.debt) < self.max_debt
            && i64::from(counts.used_dirs) < self.max_dirs
            && i64::from(counts.free_inodes) >= self.min_inodes
            && i64::from(counts.free_blocks) >= self.min_blocks
    }
}

/// Where a new inode that is not a directory goes (find_group_other): its
/// parent's group if that has a free inode and a free block; else a
/// quadratic probe from a start that `parent_ino` moves (so that the files
/// of one directory land together, and those of another directory of the
/// same group elsewhere), for a group with both; else, from the group after
/// the parent's, the first with a free inode. `None` if no group has one.
pub(crate) fn find_group_other(
    fs: &SuperBlock,
    parent_group: u32,
    parent_ino: u64,
    group: impl Fn(u32) -> Option<GroupCounts>,
) -> Option<u32> {
    let ngroups = fs.groups();
    let roomy = |g: u32| group(g).is_some_and(|c| c.free_inodes != 0 && c.free_blocks != 0);
    if roomy(parent_group) {
        return Some(parent_group);
    }
    // As ext2 computes it: in unsigned int, the inode number cut to 32
    // bits.
    let mut g = parent_group
        .wrapping_add(parent_ino as u32)
        .checked_rem(ngroups)?;
    let mut step = 1;
    while step < ngroups {
        // g and step are below ngroups: one subtraction wraps the sum.
        g += step;
        if g >= ngroups {
            g -= ngroups;
        }
        if roomy(g) {
            return Some(g);
        }
        step <<= 1;
    }
    (1..=ngroups)
        .map(|i| cyclic(parent_group, i, ngroups))
        .find(|&g| group(g).is_some_and(|c| c.free_inodes != 0))
}

/// The debt of a group after it took an inode: one more for a directory,
/// one less for anything else, within 0..=255 (ext2_new_inode).
pub(crate) fn debt_after(debt: u8, is_dir: bool) -> u8 {
    if is_dir {
        debt.saturating_add(1)
    } else {
        debt.saturating_sub(1)
    }
}

/// Group descriptor `desc` after its group took (`take`) or gave back an
/// inode, a directory if `is_dir`: one free inode less or more, one
/// directory more or less (ext2_new_inode, ext2_release_inode). The counts
/// stay within their 16 bits where ext2's would wrap: a count that would
/// is wrong already, and e2fsck recounts it.
pub(crate) fn counts_after(desc: &GroupDesc, take: bool, is_dir: bool) -> GroupDesc {
    let mut after = *desc;
    let dirs = u16::from(is_dir);
    if take {
        after.free_inodes = desc.free_inodes.saturating_sub(1);
        after.used_dirs = desc.used_dirs.saturating_add(dirs);
    } else {
        after.free_inodes = desc.free_inodes.saturating_add(1);
        after.used_dirs = desc.used_dirs.saturating_sub(dirs);
    }
    after
}

/// Inodes in group `group`: `s_inodes_per_group`, but in a last group cut
/// short by `s_inodes_count`; 0 past the last.
pub(crate) fn inodes_in_group(fs: &SuperBlock, group: u32) -> u32 {
    let first = u64::from(group) * u64::from(fs.inodes_per_group);
    let left = u64::from(fs.inodes_count).saturating_sub(first);
    left.min(u64::from(fs.inodes_per_group)) as u32
}

/// The bits of group `group`'s inode bitmap an allocation may take: all
/// its inodes' but, in group 0, the reserved inodes' below `s_first_ino`.
pub(crate) fn allocatable_bits(fs: &SuperBlock, group: u32) -> Range<u32> {
    let end = inodes_in_group(fs, group);
    let first = if group == 0 {
        fs.first_ino.saturating_sub(1).min(end)
    } else {
        0
    };
    first..end
}

/// Bytes of an inode bitmap the allocator copies out of its buffer at a
/// time: 512 inodes, on the stack.
pub(crate) const SCAN_BYTES: usize = 64;

/// The pieces in which to copy out the bytes that hold `bits`, in order:
/// `(first byte, length)`, each at most [`SCAN_BYTES`] long.
pub(crate) fn scan_windows(bits: Range<u32>) -> impl Iterator<Item = (u32, usize)> {
    let first = bits.start / 8;
    let end = if bits.is_empty() {
        first
    } else {
        bits.end.div_ceil(8)
    };
    (first..end)
        .step_by(SCAN_BYTES)
        .map(move |byte| (byte, ((end - byte) as usize).min(SCAN_BYTES)))
}

/// The first clear bit within `bits` that `window`, the bitmap's bytes
/// from byte `first_byte` on, holds (ext2_find_next_zero_bit): its index in
/// the whole bitmap. Bits outside `bits` or the window are not looked at.
pub(crate) fn first_free_in(window: &[u8], first_byte: u32, bits: Range<u32>) -> Option<u32> {
    let base = u64::from(first_byte) * 8;
    let window_end = base + window.len() as u64 * 8;
    let from = u64::from(bits.start).max(base);
    let to = u64::from(bits.end).min(window_end);
    let mut bit = from;
    while bit < to {
        let rel = (bit - base) as usize;
        let byte = *window.get(rel / 8)?;
        // Files are numbered in order, so a group's bitmap starts with a
        // long run of used inodes: a full byte is passed in one step.
        if rel % 8 == 0 && byte == 0xff {
            bit += 8;
            continue;
        }
        if byte & (1 << (rel % 8)) == 0 {
            return Some(bit as u32);
        }
        bit += 1;
    }
    None
}

/// The number of the inode that bit `bit` of group `group`'s bitmap stands
/// for (ext2_new_inode's `ino += group * EXT2_INODES_PER_GROUP(sb) + 1`).
pub(crate) fn inode_number(fs: &SuperBlock, group: u32, bit: u32) -> u64 {
    u64::from(group) * u64::from(fs.inodes_per_group) + u64::from(bit) + 1
}

/// The group of inode `ino` and its bit in the group's bitmap, for freeing
/// it: a reserved inode (below `s_first_ino`) or one past `s_inodes_count`
/// is never freed (ext2_free_inode's "reserved or nonexistent inode").
pub(crate) fn inode_position(fs: &SuperBlock, ino: u64) -> Result<(u32, u32), Corrupt> {
    let bad = Corrupt::InodeNumber(ino);
    if ino < u64::from(fs.first_ino) || ino > u64::from(fs.inodes_count) {
        return Err(bad);
    }
    let index = ino - 1;
    // Checked: a division by a runtime value brings a panic path (division
    // by zero) that objtool cannot follow in the kernel build.
    let ipg = u64::from(fs.inodes_per_group);
    match (index.checked_div(ipg), index.checked_rem(ipg)) {
        (Some(group), Some(bit)) => Ok((group as u32, bit as u32)),
        _ => Err(bad),
    }
}

/// Marks bit `bit % 8` of `byte`, the bitmap byte that holds bit `bit`, in
/// use. `false`, with nothing changed, if it already was: someone took it
/// since the bitmap was searched (ext2_new_inode's "we lost this inode").
pub(crate) fn take_bit(byte: &mut u8, bit: u32) -> bool {
    let mask = 1 << (bit % 8);
    let was_free = *byte & mask == 0;
    *byte |= mask;
    was_free
}

/// Clears inode `ino`'s bit, bit `bit % 8` of `byte` (ext2_free_inode). A
/// bit already clear means the inode is freed twice or the bitmap is
/// corrupt: reported as such ("bit already cleared"), nothing changed.
pub(crate) fn release_bit(byte: &mut u8, bit: u32, ino: u64) -> Result<(), Corrupt> {
    let mask = 1 << (bit % 8);
    if *byte & mask == 0 {
        return Err(Corrupt::InodeAlreadyFree(ino));
    }
    *byte &= !mask;
    Ok(())
}
