// SPDX-License-Identifier: GPL-2.0

//! Tests of the inode allocator's decisions (`src/ext2/ialloc.rs`) on
//! group counts and bitmaps built here, checked against fs/ext2/ialloc.c
//! (find_group_orlov, find_group_other, ext2_new_inode, ext2_free_inode).

use crate::ext2::format::{Corrupt, GroupDesc, SuperBlock};
use crate::ext2::ialloc::{
    allocatable_bits, counts_after, debt_after, find_group_orlov, find_group_other, first_free_in,
    inode_number, inode_position, inodes_in_group, release_bit, scan_windows, take_bit,
    GroupCounts, OrlovLimits, Totals, SCAN_BYTES,
};
use crate::format_tests::SbImage;

/// A file system of `ngroups` groups of 8192 1 KiB blocks and
/// `inodes_per_group` inodes each, with `inodes_count` inodes (the last
/// group short if that is below `ngroups * inodes_per_group`).
/// `SuperBlock::parse` refuses a short count, as ext2_fill_super does: it
/// is set after parsing, to show that the allocator never hands out an
/// inode past the count even so.
fn fs_of(ngroups: u32, inodes_per_group: u32, inodes_count: u32) -> SuperBlock {
    let mut fs = SbImage::new(1024)
        .edit(|sb| {
            sb.blocks_count = 1 + ngroups * 8192;
            sb.inodes_per_group = inodes_per_group;
            sb.inodes_count = ngroups * inodes_per_group;
            sb.free_inodes = inodes_count - 11;
        })
        .parse()
        .expect("valid image");
    fs.inodes_count = inodes_count;
    fs
}

/// `ngroups` whole groups of 256 inodes.
fn fs_groups(ngroups: u32) -> SuperBlock {
    fs_of(ngroups, 256, ngroups * 256)
}

/// `n` groups with the same counts.
fn uniform(n: usize, free_inodes: u32, free_blocks: u32, used_dirs: u32) -> Vec<GroupCounts> {
    vec![
        GroupCounts {
            free_inodes,
            free_blocks,
            used_dirs,
            debt: 0,
        };
        n
    ]
}

/// The totals of `groups`, as the mount's counters hold them.
fn totals(groups: &[GroupCounts]) -> Totals {
    Totals {
        free_inodes: groups.iter().map(|g| u64::from(g.free_inodes)).sum(),
        free_blocks: groups.iter().map(|g| u64::from(g.free_blocks)).sum(),
        dirs: groups.iter().map(|g| u64::from(g.used_dirs)).sum(),
    }
}

/// The lookup the decisions take, over `groups`.
fn lookup(groups: &[GroupCounts]) -> impl Fn(u32) -> Option<GroupCounts> + '_ {
    |g| groups.get(g as usize).copied()
}

/// Orlov over `groups`, the totals summed from them.
fn orlov(
    fs: &SuperBlock,
    groups: &[GroupCounts],
    parent_group: u32,
    top_level: bool,
    random: u32,
) -> Option<u32> {
    find_group_orlov(
        fs,
        &totals(groups),
        parent_group,
        top_level,
        random,
        lookup(groups),
    )
}

/// Counts `group` taking one inode, as the kernel side does.
fn take(groups: &mut [GroupCounts], group: u32, is_dir: bool) {
    let g = &mut groups[group as usize];
    g.free_inodes -= 1;
    g.used_dirs += u32::from(is_dir);
    g.debt = debt_after(g.debt, is_dir);
}

// ---------------------------------------------------------------------------
// Directories: Orlov

#[test]
fn top_level_directories_spread_over_the_groups() {
    let fs = fs_groups(8);
    let mut groups = uniform(8, 200, 4000, 1);
    let mut chosen = Vec::new();
    for random in [3, 3, 3, 3, 3, 3, 3, 3] {
        let g = orlov(&fs, &groups, 0, true, random).unwrap();
        take(&mut groups, g, true);
        chosen.push(g);
    }
    // Each takes the first group from the random one with the fewest
    // directories: every group once, from group 3 on.
    assert_eq!(chosen, [3, 4, 5, 6, 7, 0, 1, 2]);
}

#[test]
fn a_top_level_directory_goes_where_directories_are_fewest() {
    let fs = fs_groups(6);
    let mut groups = uniform(6, 200, 4000, 5);
    groups[1].used_dirs = 2;
    groups[4].used_dirs = 1;
    for random in 0..6 {
        assert_eq!(orlov(&fs, &groups, 0, true, random), Some(4), "{random}");
    }
    // Ties go to the first from the random start.
    groups[1].used_dirs = 1;
    assert_eq!(orlov(&fs, &groups, 0, true, 0), Some(1));
    assert_eq!(orlov(&fs, &groups, 0, true, 2), Some(4));
    assert_eq!(orlov(&fs, &groups, 0, true, 5), Some(1));
    // The random number is taken modulo the groups.
    assert_eq!(orlov(&fs, &groups, 0, true, 6 * 1000 + 2), Some(4));
}

#[test]
fn a_top_level_directory_needs_average_free_inodes_and_blocks() {
    let fs = fs_groups(4);
    let mut groups = uniform(4, 200, 4000, 3);
    // Fewest directories, but below average on inodes or blocks.
    groups[0] = GroupCounts {
        free_inodes: 10,
        free_blocks: 4000,
        used_dirs: 0,
        debt: 0,
    };
    groups[1] = GroupCounts {
        free_inodes: 250,
        free_blocks: 100,
        used_dirs: 0,
        debt: 0,
    };
    groups[3].used_dirs = 2;
    // Averages: 165 inodes, 3025 blocks: group 0 has too few inodes,
    // group 1 too few blocks, group 3 the fewest directories of the rest.
    assert_eq!(orlov(&fs, &groups, 0, true, 0), Some(3));
}

#[test]
fn a_top_level_directory_ignores_groups_with_inodes_per_group_directories() {
    // ext2 starts its best count at inodes_per_group: a group with that
    // many directories is never the spread's choice, and the fallback,
    // from the random group on, takes the first above average.
    let fs = fs_groups(3);
    let groups = uniform(3, 100, 4000, 256);
    assert_eq!(orlov(&fs, &groups, 0, true, 1), Some(1));
}

#[test]
fn a_top_level_directory_falls_back_from_the_random_group() {
    let fs = fs_groups(4);
    // Blocks: group 2 holds most, so no group is at or above average on
    // both inodes and blocks.
    let mut groups = uniform(4, 200, 100, 0);
    groups[2] = GroupCounts {
        free_inodes: 1,
        free_blocks: 10000,
        used_dirs: 0,
        debt: 0,
    };
    // Average free inodes 150: the first group from the random one with as
    // many, never group 2.
    assert_eq!(orlov(&fs, &groups, 0, true, 1), Some(1));
    assert_eq!(orlov(&fs, &groups, 0, true, 2), Some(3));
    assert_eq!(orlov(&fs, &groups, 2, true, 3), Some(3));
}

#[test]
fn orlov_limits_follow_ext2s_formulas() {
    // 4 groups of 8192 blocks and 256 inodes; 32769 blocks, 20000 free,
    // 900 free inodes, 40 directories.
    let fs = fs_groups(4);
    let t = Totals {
        free_inodes: 900,
        free_blocks: 20000,
        dirs: 40,
    };
    // blocks_per_dir = (32769 - 20000) / 40 = 319; max_debt = 8192 / 319
    // = 25, and 25 * 64 > 256 so 256 / 64 = 4.
    assert_eq!(
        OrlovLimits::new(&fs, &t),
        OrlovLimits {
            max_dirs: 40 / 4 + 256 / 16,
            max_debt: 4,
            min_inodes: 900 / 4 - 256 / 4,
            min_blocks: 20000 / 4 - 8192 / 4,
        }
    );
    // A full file system: the minimums go negative, and 0 directories
    // count as 1; a small blocks_per_dir counts as BLOCK_COST.
    let full = Totals {
        free_inodes: 0,
        free_blocks: 0,
        dirs: 0,
    };
    let limits = OrlovLimits::new(&fs_of(4, 8192, 4 * 8192), &full);
    // 1 directory over 4 groups is 0 of them per group.
    assert_eq!(limits.max_dirs, 8192 / 16);
    assert_eq!(limits.min_inodes, -(8192 / 4));
    assert_eq!(limits.min_blocks, -(8192 / 4));
    // 32769 / 1 blocks per dir: 8192 / 32769 = 0, made 1.
    assert_eq!(limits.max_debt, 1);
    let roomy = Totals {
        free_inodes: 4 * 8192,
        free_blocks: 32769,
        dirs: 1,
    };
    // blocks_per_dir 0 counts as 256: 8192 / 256 = 32 (32 * 64 <= 8192).
    // (ext2's cap at 255 is out of reach: blocks_per_group / 256 is at
    // most 128 with 4 KiB blocks.)
    assert_eq!(
        OrlovLimits::new(&fs_of(4, 8192, 4 * 8192), &roomy).max_debt,
        32
    );
}

#[test]
fn a_subdirectory_stays_in_its_parents_group() {
    let fs = fs_groups(8);
    let groups = uniform(8, 200, 4000, 2);
    for parent in 0..8 {
        assert_eq!(orlov(&fs, &groups, parent, false, 0), Some(parent));
    }
}

#[test]
fn a_subdirectory_leaves_a_group_in_debt() {
    let fs = fs_groups(4);
    let mut groups = uniform(4, 200, 4000, 2);
    // max_debt here is 256 / 64 = 4: four directories in a row in group 1
    // send the fifth on.
    for _ in 0..4 {
        assert_eq!(orlov(&fs, &groups, 1, false, 0), Some(1));
        take(&mut groups, 1, true);
    }
    assert_eq!(groups[1].debt, 4);
    assert_eq!(orlov(&fs, &groups, 1, false, 0), Some(2));
    // A file allocated in the group pays one back.
    take(&mut groups, 1, false);
    assert_eq!(orlov(&fs, &groups, 1, false, 0), Some(1));
}

#[test]
fn a_subdirectory_avoids_groups_with_many_directories_or_little_room() {
    let fs = fs_groups(4);
    let mut groups = uniform(4, 200, 6000, 2);
    // max_dirs = 36 / 4 + 256 / 16 = 25.
    groups[0].used_dirs = 30;
    assert_eq!(orlov(&fs, &groups, 0, false, 0), Some(1));
    // min_inodes: the average minus 256 / 4; with 113 free inodes, the
    // average is 713 / 4 = 178, and the minimum 114.
    groups[1].free_inodes = 113;
    assert_eq!(orlov(&fs, &groups, 0, false, 0), Some(2));
    groups[1].free_inodes = 114;
    assert_eq!(orlov(&fs, &groups, 0, false, 0), Some(1));
    groups[1].free_inodes = 50;
    // min_blocks: the average (18100 / 4 = 4525) minus 8192 / 4.
    groups[2].free_blocks = 100;
    assert_eq!(orlov(&fs, &groups, 0, false, 0), Some(3));
    // The search wraps.
    assert_eq!(orlov(&fs, &groups, 1, false, 0), Some(3));
    assert_eq!(orlov(&fs, &groups, 3, false, 0), Some(3));
    assert_eq!(orlov(&fs, &groups, 2, false, 0), Some(3));
    // No group passes (0 and 3 are in debt): the fallback takes the first
    // from the parent's with at least the average of free inodes (162).
    groups[0].debt = 255;
    groups[3].debt = 255;
    assert_eq!(orlov(&fs, &groups, 1, false, 0), Some(2));
    assert_eq!(orlov(&fs, &groups, 3, false, 0), Some(3));
}

#[test]
fn the_orlov_fallback_takes_any_free_inode_at_last() {
    let fs = fs_groups(4);
    // One free inode in the whole file system, in group 1; every group is
    // in debt and full of directories.
    let mut groups = uniform(4, 0, 0, 300);
    groups[1].free_inodes = 1;
    for g in groups.iter_mut() {
        g.debt = 255;
    }
    for parent in 0..4 {
        assert_eq!(orlov(&fs, &groups, parent, false, 0), Some(1));
        assert_eq!(orlov(&fs, &groups, parent, true, parent), Some(1));
    }
    // Average 0 (3 inodes over 4 groups): the fallback's first pass
    // already admits any group with an inode, from the parent on.
    groups[2].free_inodes = 1;
    groups[3].free_inodes = 1;
    assert_eq!(orlov(&fs, &groups, 2, false, 0), Some(2));
    assert_eq!(orlov(&fs, &groups, 0, false, 0), Some(1));
}

// ---------------------------------------------------------------------------
// Files: find_group_other

#[test]
fn a_file_goes_to_its_parents_group() {
    let fs = fs_groups(8);
    let groups = uniform(8, 1, 1, 0);
    for parent in 0..8 {
        assert_eq!(
            find_group_other(&fs, parent, 12345, lookup(&groups)),
            Some(parent)
        );
    }
}

#[test]
fn a_file_probes_quadratically_from_a_start_its_parent_moves() {
    let fs = fs_groups(8);
    let mut groups = uniform(8, 0, 0, 0);
    // Parent in group 2, inode 3: start (2 + 3) % 8 = 5, then 6, 0, 4.
    groups[4] = GroupCounts {
        free_inodes: 1,
        free_blocks: 1,
        ..Default::default()
    };
    groups[3] = groups[4];
    assert_eq!(find_group_other(&fs, 2, 3, lookup(&groups)), Some(4));
    groups[0] = groups[4];
    assert_eq!(find_group_other(&fs, 2, 3, lookup(&groups)), Some(0));
    groups[6] = groups[4];
    assert_eq!(find_group_other(&fs, 2, 3, lookup(&groups)), Some(6));
    // Group 5 itself is not probed: the probe adds 1 first.
    groups[6] = groups[1];
    groups[0] = groups[1];
    groups[4] = groups[1];
    groups[5] = groups[3];
    // Neither 6, 0 nor 4 has room: the linear search from group 3 (after
    // the parent's) takes 3.
    assert_eq!(find_group_other(&fs, 2, 3, lookup(&groups)), Some(3));
    // Another directory of the same group probes elsewhere.
    assert_eq!(find_group_other(&fs, 2, 2, lookup(&groups)), Some(5));
}

#[test]
fn the_probe_uses_the_inode_number_cut_to_32_bits() {
    let fs = fs_groups(7);
    let mut groups = uniform(7, 0, 0, 0);
    groups[4] = GroupCounts {
        free_inodes: 1,
        free_blocks: 1,
        ..Default::default()
    };
    // (0 + 3) % 7 = 3, + 1 = 4; the high bits of the inode number do not
    // count, as in ext2's (unsigned int) cast.
    assert_eq!(find_group_other(&fs, 0, 3, lookup(&groups)), Some(4));
    assert_eq!(
        find_group_other(&fs, 0, (1 << 32) + 3, lookup(&groups)),
        Some(4)
    );
}

#[test]
fn a_file_takes_a_group_without_free_blocks_last() {
    let fs = fs_groups(5);
    let mut groups = uniform(5, 0, 0, 0);
    // Inodes but no blocks in groups 1 and 3: linear from the parent's
    // next group.
    groups[1].free_inodes = 4;
    groups[3].free_inodes = 4;
    assert_eq!(find_group_other(&fs, 0, 99, lookup(&groups)), Some(1));
    assert_eq!(find_group_other(&fs, 1, 99, lookup(&groups)), Some(3));
    assert_eq!(find_group_other(&fs, 3, 99, lookup(&groups)), Some(1));
    // The parent's own group comes last in the linear search.
    assert_eq!(
        find_group_other(&fs, 3, 99, |g| (g == 3).then_some(groups[3])),
        Some(3)
    );
    // Blocks without inodes never do.
    groups[2].free_blocks = 100;
    assert_eq!(find_group_other(&fs, 2, 99, lookup(&groups)), Some(3));
}

// ---------------------------------------------------------------------------
// No free inode

#[test]
fn full_groups_are_skipped_by_every_policy() {
    let fs = fs_groups(6);
    for free in 0..6u32 {
        let mut groups = uniform(6, 0, 5000, 1);
        groups[free as usize].free_inodes = 3;
        for parent in 0..6 {
            assert_eq!(orlov(&fs, &groups, parent, true, parent), Some(free));
            assert_eq!(orlov(&fs, &groups, parent, false, 0), Some(free));
            assert_eq!(
                find_group_other(&fs, parent, 77, lookup(&groups)),
                Some(free)
            );
        }
    }
}

#[test]
fn no_free_inode_is_no_group() {
    let fs = fs_groups(6);
    let groups = uniform(6, 0, 5000, 1);
    for parent in 0..6 {
        assert_eq!(orlov(&fs, &groups, parent, true, parent), None);
        assert_eq!(orlov(&fs, &groups, parent, false, 0), None);
        assert_eq!(find_group_other(&fs, parent, 77, lookup(&groups)), None);
    }
}

// ---------------------------------------------------------------------------
// Bits and inode numbers

/// A bitmap of `nbits` bits with the bits of `used` set.
fn bitmap_with_used(nbits: u32, used: impl IntoIterator<Item = u32>) -> Vec<u8> {
    let mut b = vec![0u8; nbits.div_ceil(8) as usize];
    for bit in used {
        b[(bit / 8) as usize] |= 1 << (bit % 8);
    }
    b
}

/// The first free bit of `bitmap` within `bits`, found the way the kernel
/// side finds it: window by window, as it copies them out of the buffer.
fn scan(bitmap: &[u8], bits: std::ops::Range<u32>) -> Option<u32> {
    scan_windows(bits.clone()).find_map(|(first, len)| {
        let window = &bitmap[first as usize..first as usize + len];
        first_free_in(window, first, bits.clone())
    })
}

#[test]
fn reserved_inodes_are_never_handed_out() {
    let fs = fs_groups(4);
    assert_eq!(allocatable_bits(&fs, 0), 10..256);
    assert_eq!(allocatable_bits(&fs, 1), 0..256);
    // Group 0's bitmap with the reserved inodes marked free (a corrupt
    // bitmap): the first inode given is still s_first_ino.
    let empty = bitmap_with_used(256, []);
    let bit = scan(&empty, allocatable_bits(&fs, 0)).unwrap();
    assert_eq!(inode_number(&fs, 0, bit), 11);
    // A file system whose first_ino is 20.
    let late = SbImage::new(1024)
        .edit(|sb| sb.first_ino = 20)
        .parse()
        .unwrap();
    let empty_late = bitmap_with_used(late.inodes_per_group, []);
    let bit = scan(&empty_late, allocatable_bits(&late, 0)).unwrap();
    assert_eq!(inode_number(&late, 0, bit), 20);
    // Other groups start at their bit 0.
    let bit = scan(&empty, allocatable_bits(&fs, 2)).unwrap();
    assert_eq!(inode_number(&fs, 2, bit), 2 * 256 + 1);
}

#[test]
fn the_first_free_bit_is_taken() {
    let fs = fs_groups(2);
    let b = bitmap_with_used(256, (0..37).chain(38..100));
    assert_eq!(scan(&b, allocatable_bits(&fs, 0)), Some(37));
    assert_eq!(scan(&b, 38..256), Some(100));
    let full = bitmap_with_used(256, 0..256);
    assert_eq!(scan(&full, allocatable_bits(&fs, 1)), None);
}

#[test]
fn scanning_window_by_window_finds_what_the_whole_bitmap_shows() {
    // Pseudo-random bitmaps of 8192 bits, mostly full; the windows' answer
    // is the first clear bit in range, looked up bit by bit here.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..200 {
        let mut b = vec![0u8; 1024];
        for byte in b.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // One byte in 16 has a clear bit.
            *byte = if seed.is_multiple_of(16) {
                seed as u8 >> 1
            } else {
                0xff
            };
        }
        let start = (seed >> 20) as u32 % 8192;
        let end = start + ((seed >> 40) as u32 % (8192 - start + 1));
        let expected = (start..end).find(|&bit| b[(bit / 8) as usize] >> (bit % 8) & 1 == 0);
        assert_eq!(
            scan(&b, start..end),
            expected,
            "round {round}: {start}..{end}"
        );
    }
}

#[test]
fn scan_windows_cover_the_bits_bytes_in_bounded_pieces() {
    assert_eq!(scan_windows(10..256).collect::<Vec<_>>(), [(1, 31)]);
    let pieces: Vec<_> = scan_windows(0..8192).collect();
    assert_eq!(pieces.len(), 8192 / 8 / SCAN_BYTES);
    assert!(pieces.iter().all(|&(_, len)| len == SCAN_BYTES));
    // A range ending mid-byte includes that byte, and no more.
    assert_eq!(scan_windows(500..1003).collect::<Vec<_>>(), [(62, 64)]);
    assert_eq!(
        scan_windows(500..1100).collect::<Vec<_>>(),
        [(62, 64), (126, 12)]
    );
    assert_eq!(scan_windows(5..5).count(), 0);
}

#[test]
fn the_short_last_group_is_respected() {
    // 3 groups of 256 inodes but 600 inodes: the last group has 88 (a
    // count that ext2_fill_super and SuperBlock::parse refuse).
    let fs = fs_of(3, 256, 600);
    assert_eq!(inodes_in_group(&fs, 1), 256);
    assert_eq!(inodes_in_group(&fs, 2), 88);
    assert_eq!(inodes_in_group(&fs, 3), 0);
    assert_eq!(allocatable_bits(&fs, 2), 0..88);
    // The bits past inode 600 are free in the bitmap (mke2fs would mark
    // them in use) and still never taken.
    let b = bitmap_with_used(256, 0..88);
    assert_eq!(scan(&b, allocatable_bits(&fs, 2)), None);
    let b = bitmap_with_used(256, 0..87);
    let bit = scan(&b, allocatable_bits(&fs, 2)).unwrap();
    assert_eq!(inode_number(&fs, 2, bit), 600);
}

#[test]
fn inode_numbers_and_positions_are_inverse() {
    let fs = fs_of(3, 256, 600);
    for ino in 11..=600u64 {
        let (group, bit) = inode_position(&fs, ino).unwrap();
        assert!(bit < inodes_in_group(&fs, group));
        assert_eq!(inode_number(&fs, group, bit), ino);
    }
    assert_eq!(inode_position(&fs, 257), Ok((1, 0)));
    assert_eq!(inode_position(&fs, 256), Ok((0, 255)));
}

#[test]
fn reserved_and_nonexistent_inodes_are_never_freed() {
    let fs = fs_of(3, 256, 600);
    for ino in [0, 1, 2, 7, 10, 601, 768, u64::MAX] {
        assert_eq!(inode_position(&fs, ino), Err(Corrupt::InodeNumber(ino)));
    }
}

#[test]
fn freeing_a_free_inode_is_corruption() {
    let mut byte = 0b0000_0100u8;
    assert_eq!(release_bit(&mut byte, 8 * 5 + 2, 43), Ok(()));
    assert_eq!(byte, 0);
    assert_eq!(
        release_bit(&mut byte, 8 * 5 + 2, 43),
        Err(Corrupt::InodeAlreadyFree(43))
    );
    assert_eq!(byte, 0, "a refused free changes nothing");
    let mut byte = 0b1111_1011u8;
    assert_eq!(
        release_bit(&mut byte, 2, 3),
        Err(Corrupt::InodeAlreadyFree(3))
    );
    assert_eq!(byte, 0b1111_1011);
}

#[test]
fn taking_a_bit_says_whether_it_was_free() {
    let mut byte = 0b0000_0001u8;
    assert!(take_bit(&mut byte, 9));
    assert_eq!(byte, 0b0000_0011);
    assert!(!take_bit(&mut byte, 9));
    assert!(!take_bit(&mut byte, 0));
    assert_eq!(byte, 0b0000_0011);
}

#[test]
fn descriptor_counts_follow_each_take_and_release() {
    let desc = GroupDesc {
        block_bitmap: 3,
        inode_bitmap: 4,
        inode_table: 5,
        free_blocks: 700,
        free_inodes: 20,
        used_dirs: 6,
    };
    let file = counts_after(&desc, true, false);
    assert_eq!((file.free_inodes, file.used_dirs), (19, 6));
    let dir = counts_after(&desc, true, true);
    assert_eq!((dir.free_inodes, dir.used_dirs), (19, 7));
    assert_eq!(counts_after(&dir, false, true), desc);
    assert_eq!(counts_after(&file, false, false), desc);
    // Nothing else changes.
    assert_eq!(
        (
            dir.block_bitmap,
            dir.inode_bitmap,
            dir.inode_table,
            dir.free_blocks
        ),
        (3, 4, 5, 700)
    );
    // Counts that are wrong already stay in range rather than wrap.
    let empty = GroupDesc {
        free_inodes: 0,
        used_dirs: 0,
        ..desc
    };
    let after = counts_after(&empty, true, false);
    assert_eq!(after.free_inodes, 0);
    let after = counts_after(&empty, false, true);
    assert_eq!((after.free_inodes, after.used_dirs), (1, 0));
    let full = GroupDesc {
        free_inodes: u16::MAX,
        used_dirs: u16::MAX,
        ..desc
    };
    let after = counts_after(&full, true, true);
    assert_eq!(
        (after.free_inodes, after.used_dirs),
        (u16::MAX - 1, u16::MAX)
    );
    assert_eq!(counts_after(&full, false, false).free_inodes, u16::MAX);
}

#[test]
fn debt_stays_within_a_byte() {
    assert_eq!(debt_after(0, true), 1);
    assert_eq!(debt_after(255, true), 255);
    assert_eq!(debt_after(1, false), 0);
    assert_eq!(debt_after(0, false), 0);
}

// ---------------------------------------------------------------------------
// The allocation as the kernel side runs it

/// A file system in memory: each group's counts and inode bitmap, and the
/// totals, changed together as the kernel side changes them.
struct Model {
    fs: SuperBlock,
    groups: Vec<GroupCounts>,
    bitmaps: Vec<Vec<u8>>,
}

impl Model {
    /// A fresh file system: the reserved inodes in use, the root a
    /// directory, the bits past the last inode of a short group set, as
    /// mke2fs leaves them.
    fn new(fs: SuperBlock) -> Self {
        let ipg = fs.inodes_per_group;
        let mut groups = Vec::new();
        let mut bitmaps = Vec::new();
        for g in 0..fs.groups() {
            let bits = allocatable_bits(&fs, g);
            let used = (0..bits.start).chain(bits.end..ipg);
            bitmaps.push(bitmap_with_used(ipg, used));
            groups.push(GroupCounts {
                free_inodes: bits.len() as u32,
                free_blocks: 1000,
                used_dirs: u32::from(g == 0),
                debt: 0,
            });
        }
        Self {
            fs,
            groups,
            bitmaps,
        }
    }

    /// ext2_new_inode's bitmap part: the group the policy chooses, then the
    /// following ones, skipping those whose count says full; the first
    /// free bit there. `None` for ENOSPC.
    fn alloc(&mut self, parent: u64, is_dir: bool, random: u32) -> Option<u64> {
        let parent_group = ((parent - 1) / u64::from(self.fs.inodes_per_group)) as u32;
        let chosen = if is_dir {
            orlov(&self.fs, &self.groups, parent_group, parent == 2, random)
        } else {
            find_group_other(&self.fs, parent_group, parent, lookup(&self.groups))
        }?;
        let ngroups = self.fs.groups();
        for g in (0..ngroups).map(|i| (chosen + i) % ngroups) {
            if self.groups[g as usize].free_inodes == 0 {
                continue;
            }
            let Some(bit) = scan(&self.bitmaps[g as usize], allocatable_bits(&self.fs, g)) else {
                continue;
            };
            assert!(take_bit(
                &mut self.bitmaps[g as usize][(bit / 8) as usize],
                bit
            ));
            take(&mut self.groups, g, is_dir);
            return Some(inode_number(&self.fs, g, bit));
        }
        None
    }

    /// ext2_free_inode's bitmap part.
    fn free(&mut self, ino: u64, is_dir: bool) -> Result<(), Corrupt> {
        let (group, bit) = inode_position(&self.fs, ino)?;
        let byte = &mut self.bitmaps[group as usize][(bit / 8) as usize];
        release_bit(byte, bit, ino)?;
        let counts = &mut self.groups[group as usize];
        counts.free_inodes += 1;
        counts.used_dirs -= u32::from(is_dir);
        Ok(())
    }
}

#[test]
fn every_inode_is_handed_out_once_then_enospc() {
    let fs = fs_of(3, 256, 600);
    let mut model = Model::new(fs);
    let mut seen = std::collections::BTreeSet::new();
    let mut dirs = vec![2u64];
    for i in 0..590u32 {
        let is_dir = i % 5 == 0;
        let parent = dirs[(i as usize * 7) % dirs.len()];
        let ino = model.alloc(parent, is_dir, i).expect("a free inode");
        assert!((11..=600).contains(&ino), "inode {ino}");
        assert!(seen.insert(ino), "inode {ino} handed out twice");
        if is_dir {
            dirs.push(ino);
        }
    }
    assert_eq!(seen.len(), 590);
    assert!(model.groups.iter().all(|g| g.free_inodes == 0));
    assert_eq!(model.alloc(2, true, 0), None);
    assert_eq!(model.alloc(2, false, 0), None);
    assert_eq!(model.alloc(dirs[3], true, 0), None);
    // Freeing one makes exactly that one available again.
    model.free(345, false).unwrap();
    assert_eq!(model.alloc(dirs[1], false, 0), Some(345));
}

#[test]
fn a_count_that_lies_sends_the_allocation_to_the_next_group() {
    let fs = fs_groups(4);
    let mut model = Model::new(fs);
    // Group 1 says it has free inodes, its bitmap is full.
    model.bitmaps[1] = bitmap_with_used(256, 0..256);
    let ino = model.alloc(257, false, 0).unwrap();
    assert_eq!(ino, 2 * 256 + 1);
}

#[test]
fn files_follow_their_parent_and_directories_spread() {
    let fs = fs_groups(8);
    let mut model = Model::new(fs.clone());
    let dirs: Vec<u64> = (0..8)
        .map(|random| model.alloc(2, true, random * 3).unwrap())
        .collect();
    let mut groups_of_dirs: Vec<u32> = dirs
        .iter()
        .map(|&dir| inode_position(&fs, dir).unwrap().0)
        .collect();
    // Group 0, with the root and the reserved inodes, stays below the
    // average of free inodes: the first seven go one to each other group,
    // the eighth to one of them.
    let eighth = groups_of_dirs.pop().unwrap();
    groups_of_dirs.sort();
    assert_eq!(groups_of_dirs, (1..8).collect::<Vec<_>>());
    assert_ne!(eighth, 0);
    for &dir in &dirs {
        let group = inode_position(&fs, dir).unwrap().0;
        for _ in 0..5 {
            let file = model.alloc(dir, false, 0).unwrap();
            assert_eq!(inode_position(&fs, file).unwrap().0, group);
        }
    }
}

#[test]
fn a_double_free_is_reported_and_changes_nothing() {
    let mut model = Model::new(fs_groups(2));
    let ino = model.alloc(2, false, 0).unwrap();
    model.free(ino, false).unwrap();
    let before = (model.groups.clone(), model.bitmaps.clone());
    assert_eq!(model.free(ino, false), Err(Corrupt::InodeAlreadyFree(ino)));
    assert_eq!((model.groups.clone(), model.bitmaps.clone()), before);
    // The root and the other reserved inodes are refused before the bitmap.
    assert_eq!(model.free(2, true), Err(Corrupt::InodeNumber(2)));
}

#[test]
fn first_free_in_agrees_with_a_bit_by_bit_walk() {
    // Bitmaps made of full bytes, empty bytes and random ones, and ranges
    // that start and end anywhere, against the plainest walk.
    let mut rng = crate::rng::Rng(0x1a11_0c8e);
    for _ in 0..20_000 {
        let len = 1 + rng.below(80) as usize;
        let window: Vec<u8> = (0..len)
            .map(|_| match rng.below(4) {
                0 | 1 => 0xff,
                2 => 0,
                _ => rng.next() as u8,
            })
            .collect();
        let first_byte = rng.below(100) as u32;
        let base = first_byte * 8;
        let start = base.saturating_sub(16) + rng.below(len as u64 * 8 + 32) as u32;
        let end = start + rng.below(len as u64 * 8 + 32) as u32;
        let want = (start.max(base)..end.min(base + len as u32 * 8)).find(|&bit| {
            let rel = (bit - base) as usize;
            window[rel / 8] & (1 << (rel % 8)) == 0
        });
        assert_eq!(
            first_free_in(&window, first_byte, start..end),
            want,
            "{window:x?} {first_byte} {start}..{end}"
        );
    }
}
