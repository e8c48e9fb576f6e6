// SPDX-License-Identifier: GPL-2.0

//! The decisions of ext2's block allocator (fs/ext2/balloc.c), in plain
//! Rust over bitmap bytes.
//!
//! The kernel side reads a group's block bitmap into a buffer_head, holds
//! the group's lock, and lets these functions choose and flip bits; it then
//! writes the bitmap, the descriptor and the super block back. Nothing here
//! touches the kernel, so the host tests in `tests/host` check every choice.
//!
//! Bitmaps are little-endian bit strings, as `ext2_test_bit` reads them: bit
//! `i` is bit `i % 8` of byte `i / 8`. Bit `i` of group `g`'s block bitmap
//! stands for block `group_first_block(g) + i`.

use super::format::{GroupDesc, SuperBlock, DESC_SIZE, RO_COMPAT_SPARSE_SUPER};

/// Bits of the bitmap that exist: `nbits`, but never past its bytes, so
/// that a short buffer cannot make an index go out of bounds.
fn usable_bits(bitmap: &[u8], nbits: u32) -> u32 {
    let have = (bitmap.len() as u64).saturating_mul(8);
    u64::from(nbits).min(have) as u32
}

/// Whether `bit` is set. The caller keeps `bit` below [`usable_bits`].
fn test_bit(bitmap: &[u8], bit: u32) -> bool {
    bitmap[(bit / 8) as usize] & (1 << (bit % 8)) != 0
}

/// First clear bit in `from..end`, skipping full bytes whole
/// (ext2_find_next_zero_bit).
fn next_zero_bit(bitmap: &[u8], from: u32, end: u32) -> Option<u32> {
    let mut bit = from;
    while bit < end {
        if bit & 7 == 0 && bitmap[(bit / 8) as usize] == 0xff {
            bit = bit.saturating_add(8);
            continue;
        }
        if !test_bit(bitmap, bit) {
            return Some(bit);
        }
        bit += 1;
    }
    None
}

/// First bit of the first wholly free byte that starts at or after `from`
/// and below `nbits` (find_next_usable_block's `memscan`). A free last byte
/// counts even if `nbits` cuts it: the run is cut there later.
fn next_free_byte(bitmap: &[u8], from: u32, nbits: u32) -> Option<u32> {
    let first = from.div_ceil(8);
    let end = nbits.div_ceil(8);
    (first..end)
        .find(|&byte| bitmap[byte as usize] == 0)
        .map(|byte| byte * 8)
}

/// Moves `bit` back over up to 7 free bits, not below `floor`: a free byte
/// is often the middle of a longer free extent, and starting at the
/// extent's head leaves no fragment before the allocation
/// (ext2_try_to_allocate does the same after find_next_usable_block).
fn back_to_extent_start(bitmap: &[u8], mut bit: u32, floor: u32) -> u32 {
    for _ in 0..7 {
        if bit <= floor || test_bit(bitmap, bit - 1) {
            break;
        }
        bit -= 1;
    }
    bit
}

/// The first bit to allocate at or after `goal`, by find_next_usable_block's
/// order of preference: the goal itself; else a free bit in the rest of the
/// goal's 64-bit window, which keeps a file near its last block; else the
/// start of a wholly free byte, likely a stretch that a run can grow into;
/// else any free bit. The caller keeps `goal` below `nbits`.
fn first_usable_bit(bitmap: &[u8], nbits: u32, goal: u32) -> Option<u32> {
    if !test_bit(bitmap, goal) {
        return Some(goal);
    }
    let window_end = (u64::from(goal | 63) + 1).min(u64::from(nbits)) as u32;
    if let Some(bit) = next_zero_bit(bitmap, goal + 1, window_end) {
        return Some(bit);
    }
    if let Some(bit) = next_free_byte(bitmap, goal + 1, nbits) {
        return Some(back_to_extent_start(bitmap, bit, goal));
    }
    next_zero_bit(bitmap, window_end, nbits)
}

/// Free bits from `start` on, at most `max` and never reaching `nbits`.
fn free_run_len(bitmap: &[u8], nbits: u32, start: u32, max: u32) -> u32 {
    let mut len = 0;
    while len < max && start + len < nbits && !test_bit(bitmap, start + len) {
        len += 1;
    }
    len
}

/// Chooses a run of up to `max` free bits among the first `nbits` of
/// `bitmap`, near `goal`: the first usable bit at or after `goal` (see
/// [`first_usable_bit`]), else, wrapping, the first usable bit from bit 0.
/// The run extends forward from there while its bits are free. Returns
/// `(first bit, length)`, the length at least 1; `None` if no bit is free
/// or `max` is 0. A goal at or past `nbits` counts as 0.
pub(crate) fn find_free_run(bitmap: &[u8], nbits: u32, goal: u32, max: u32) -> Option<(u32, u32)> {
    let nbits = usable_bits(bitmap, nbits);
    if max == 0 || nbits == 0 {
        return None;
    }
    let goal = if goal < nbits { goal } else { 0 };
    let start = first_usable_bit(bitmap, nbits, goal).or_else(|| {
        // Nothing free from the goal on: what is left lies before it.
        (goal > 0)
            .then(|| first_usable_bit(bitmap, nbits, 0))
            .flatten()
    })?;
    Some((start, free_run_len(bitmap, nbits, start, max)))
}

/// Whether only blocks reserved for root are left: `free` blocks, of which
/// `reserved` are kept for root (and the super block's resuid and resgid).
/// ext2_has_free_blocks asks this once per allocation, before it looks at
/// the caller; the allocation that passes may then take more than the
/// unreserved blocks left, as there.
pub(crate) fn only_reserved_left(free: u64, reserved: u64) -> bool {
    free < reserved.saturating_add(1)
}

/// Bytes of a bitmap an allocation looks at from its goal before it reads
/// the whole bitmap: 1024 blocks, more than one mapper call asks for.
pub(crate) const GOAL_WINDOW_BYTES: usize = 128;

/// The bytes of a bitmap of `nbits` bits to look at first for an allocation
/// at `goal`: `(first byte, length)`, from the goal's byte on, at most
/// [`GOAL_WINDOW_BYTES`]. A sequential writer's goal is free and the run it
/// wants starts there: the allocator then reads these bytes and not the
/// whole bitmap (ext2 tests bits in place in the buffer).
pub(crate) fn goal_window(goal: u32, nbits: u32) -> (u32, usize) {
    let first = goal / 8;
    let end = nbits.div_ceil(8);
    (
        first,
        (end.saturating_sub(first) as usize).min(GOAL_WINDOW_BYTES),
    )
}

/// The free run at `goal`, if the goal is free, within `window`: the bytes
/// of a bitmap of `nbits` bits from byte `first_byte` on, as
/// [`goal_window`] chose them. Returns its length, at most `max` and never
/// past the window or `nbits`; `None` if the goal is taken, lies outside
/// the window, or `max` is 0.
pub(crate) fn run_at_goal(
    window: &[u8],
    first_byte: u32,
    nbits: u32,
    goal: u32,
    max: u32,
) -> Option<u32> {
    let first_bit = first_byte.checked_mul(8)?;
    let nbits = usable_bits(window, nbits.checked_sub(first_bit)?);
    let start = goal.checked_sub(first_bit).filter(|&bit| bit < nbits)?;
    Some(free_run_len(window, nbits, start, max)).filter(|&len| len > 0)
}

/// The bytes that hold bits `start..start + len`: `(first, end)`.
pub(crate) fn byte_span(start: u32, len: u32) -> (u32, u32) {
    (
        start / 8,
        ((u64::from(start) + u64::from(len)).div_ceil(8)) as u32,
    )
}

/// The bits `start..start + len`, as bit indices, if they all lie within
/// `bitmap`; else the first that does not.
fn bit_range(bitmap: &[u8], start: u32, len: u32) -> Result<core::ops::Range<u32>, u32> {
    let have = usable_bits(bitmap, u32::MAX);
    let end = u64::from(start) + u64::from(len);
    if end > u64::from(have) {
        return Err(start.max(have));
    }
    Ok(start..end as u32)
}

/// Sets bits `start..start + len`: an allocation. If one of them is
/// already set (the same block allocated twice, the bitmap is corrupt) or
/// lies past the bitmap, returns it, the first such, and changes nothing.
pub(crate) fn set_bits(bitmap: &mut [u8], start: u32, len: u32) -> Result<(), u32> {
    let range = bit_range(bitmap, start, len)?;
    if let Some(taken) = range.clone().find(|&bit| test_bit(bitmap, bit)) {
        return Err(taken);
    }
    for bit in range {
        bitmap[(bit / 8) as usize] |= 1 << (bit % 8);
    }
    Ok(())
}

/// Clears bits `start..start + len`: a free. If one of them is already
/// clear (the same block freed twice, the bitmap is corrupt) or lies past
/// the bitmap, returns it, the first such, and changes nothing.
pub(crate) fn clear_bits(bitmap: &mut [u8], start: u32, len: u32) -> Result<(), u32> {
    let range = bit_range(bitmap, start, len)?;
    if let Some(free) = range.clone().find(|&bit| !test_bit(bitmap, bit)) {
        return Err(free);
    }
    for bit in range {
        bitmap[(bit / 8) as usize] &= !(1 << (bit % 8));
    }
    Ok(())
}

/// Clear bits among the first `nbits` of `bitmap` (ext2_count_free): a
/// group's free blocks, to check its descriptor against.
pub(crate) fn count_free(bitmap: &[u8], nbits: u32) -> u32 {
    let nbits = usable_bits(bitmap, nbits);
    let whole = (nbits / 8) as usize;
    let mut free: u32 = bitmap[..whole].iter().map(|b| b.count_zeros()).sum();
    let tail = nbits % 8;
    if tail != 0 {
        // Only the low `tail` bits of the last byte are in the bitmap.
        let mask = (1u8 << tail) - 1;
        free += (!bitmap[whole] & mask).count_ones();
    }
    free
}

/// The group of `block` and its bit in that group's bitmap; `None` for a
/// block outside the groups (before `s_first_data_block` or past the end).
pub(crate) fn group_of(fs: &SuperBlock, block: u64) -> Option<(u32, u32)> {
    if block < u64::from(fs.first_data_block) || block >= u64::from(fs.blocks_count) {
        return None;
    }
    let rel = block - u64::from(fs.first_data_block);
    // Checked: a division by a runtime value brings a panic path (division
    // by zero) that objtool cannot follow in the kernel build.
    let per_group = u64::from(fs.blocks_per_group);
    Some((
        rel.checked_div(per_group)? as u32,
        rel.checked_rem(per_group)? as u32,
    ))
}

/// First block of group `group`: where its super block copy goes, if it
/// has one (ext2_group_first_block_no).
pub(crate) fn group_first_block(fs: &SuperBlock, group: u32) -> u64 {
    u64::from(fs.first_data_block) + u64::from(group) * u64::from(fs.blocks_per_group)
}

/// Blocks in group `group`, the bits its bitmap uses: `blocks_per_group`
/// but for the last group, which ends with the file system; 0 past it.
pub(crate) fn blocks_in_group(fs: &SuperBlock, group: u32) -> u32 {
    let first = group_first_block(fs, group);
    let left = u64::from(fs.blocks_count).saturating_sub(first);
    left.min(u64::from(fs.blocks_per_group)) as u32
}

/// The groups to try, in order: the goal's group, then each following one,
/// wrapping to 0, as ext2_new_blocks walks them. Every group once; none if
/// there are no groups. A goal group past the end counts modulo `ngroups`.
pub(crate) fn group_order(goal_group: u32, ngroups: u32) -> impl Iterator<Item = u32> {
    let first = goal_group.checked_rem(ngroups).unwrap_or(0);
    (0..ngroups).map(move |i| {
        let n = u64::from(first) + u64::from(i);
        n.checked_rem(u64::from(ngroups)).unwrap_or(0) as u32
    })
}

/// Whether `n` is a power of `base` (base^1 and up): ext2's `test_root`.
fn is_power_of(n: u32, base: u32) -> bool {
    let mut power = u64::from(base);
    while power < u64::from(n) {
        power *= u64::from(base);
    }
    power == u64::from(n)
}

/// Whether group `group` holds a copy of the super block and of the
/// descriptor table (ext2_bg_has_super): with sparse_super only groups 0, 1
/// and the powers of 3, 5 and 7 do; without it, every group.
pub(crate) fn group_has_super(fs: &SuperBlock, group: u32) -> bool {
    if fs.feature_ro_compat & RO_COMPAT_SPARSE_SUPER == 0 || group <= 1 {
        return true;
    }
    is_power_of(group, 3) || is_power_of(group, 5) || is_power_of(group, 7)
}

/// Blocks of the group descriptor table (ext2's `s_gdb_count`).
pub(crate) fn gdt_blocks(fs: &SuperBlock) -> u32 {
    let per_block = (fs.block_size() / DESC_SIZE as u64) as u32;
    (fs.groups() + per_block - 1)
        .checked_div(per_block)
        .unwrap_or(0)
}

/// The metadata of group `group`, as `(first block, blocks)` runs: the
/// super block copy with the descriptor table and the blocks reserved for
/// its growth (an empty run in a group without a copy), the block bitmap,
/// the inode bitmap, the inode table. The reserved descriptor blocks count
/// whenever `s_reserved_gdt_blocks` says so, as e2fsprogs counts them: they
/// belong to the resize inode, never to a file.
pub(crate) fn metadata_runs(fs: &SuperBlock, group: u32, desc: &GroupDesc) -> [(u64, u64); 4] {
    let super_copy = if group_has_super(fs, group) {
        1 + u64::from(gdt_blocks(fs)) + u64::from(fs.reserved_gdt_blocks)
    } else {
        0
    };
    [
        (group_first_block(fs, group), super_copy),
        (u64::from(desc.block_bitmap), 1),
        (u64::from(desc.inode_bitmap), 1),
        (u64::from(desc.inode_table), fs.inode_table_blocks()),
    ]
}

/// Whether the blocks `start..start + len` touch group `group`'s metadata
/// (see [`metadata_runs`]). An allocation that does means its bitmap marks
/// metadata free: the bitmap is corrupt, as ext2_new_blocks's "Allocating
/// block in system zone" says, and so does a free that does.
pub(crate) fn metadata_overlap(
    fs: &SuperBlock,
    group: u32,
    desc: &GroupDesc,
    start: u64,
    len: u64,
) -> bool {
    let end = start.saturating_add(len);
    // Two runs meet when each starts before the other ends; an empty run
    // ends where it starts and meets nothing.
    metadata_runs(fs, group, desc)
        .iter()
        .any(|&(first, n)| start < first.saturating_add(n) && first < end && start < end)
}

/// The first metadata block of group `group` that its block bitmap marks
/// free, if any: a bitmap that does is corrupt and must not be allocated
/// from (ext2_valid_block_bitmap checks the bitmaps and the inode table;
/// this checks the super block copy and descriptor blocks too). A metadata
/// block outside the bitmap's `nbits` counts as marked free.
pub(crate) fn first_free_metadata(
    fs: &SuperBlock,
    group: u32,
    desc: &GroupDesc,
    bitmap: &[u8],
    nbits: u32,
) -> Option<u64> {
    let nbits = usable_bits(bitmap, nbits);
    let base = group_first_block(fs, group);
    let marked = |block: u64| {
        block
            .checked_sub(base)
            .filter(|&bit| bit < u64::from(nbits))
            .is_some_and(|bit| test_bit(bitmap, bit as u32))
    };
    metadata_runs(fs, group, desc)
        .into_iter()
        .flat_map(|(first, n)| first..first.saturating_add(n))
        .find(|&block| !marked(block))
}
