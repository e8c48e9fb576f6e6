// SPDX-License-Identifier: GPL-2.0

//! Tests of the block allocator's decisions (`src/ext2/balloc.rs`) on
//! bitmaps and geometries built here, checked against fs/ext2/balloc.c
//! (find_next_usable_block, ext2_try_to_allocate, ext2_new_blocks,
//! ext2_free_blocks, ext2_bg_has_super, ext2_valid_block_bitmap).

use crate::ext2::balloc::{
    blocks_in_group, byte_span, clear_bits, count_free, find_free_run, first_free_metadata,
    gdt_blocks, goal_window, group_first_block, group_has_super, group_of, group_order,
    metadata_overlap, metadata_runs, only_reserved_left, run_at_goal, set_bits, GOAL_WINDOW_BYTES,
};
use crate::ext2::format::{GroupDesc, SuperBlock, RO_COMPAT_SPARSE_SUPER};
use crate::format_tests::SbImage;

/// A bitmap of `nbits` bits (padding included) all in use but the
/// `(start, end)` runs of `free`.
fn bitmap_with_free(nbits: u32, free: &[(u32, u32)]) -> Vec<u8> {
    let mut b = vec![0xffu8; nbits.div_ceil(8) as usize];
    for bit in free.iter().flat_map(|&(start, end)| start..end) {
        b[(bit / 8) as usize] &= !(1 << (bit % 8));
    }
    b
}

/// Whether `bit` is set, read independently of the code under test.
fn is_set(b: &[u8], bit: u32) -> bool {
    b[(bit / 8) as usize] >> (bit % 8) & 1 == 1
}

// ---------------------------------------------------------------------------
// The goal window: what the allocator reads first

/// The window `goal_window` chooses, copied out of `bitmap` as the kernel
/// side copies it out of the buffer.
fn window_of(bitmap: &[u8], goal: u32, nbits: u32) -> (u32, Vec<u8>) {
    let (first, len) = goal_window(goal, nbits);
    (first, bitmap[first as usize..first as usize + len].to_vec())
}

#[test]
fn a_free_goal_gives_the_run_the_whole_bitmap_gives() {
    // Whenever the goal is free, the window's answer is find_free_run's,
    // cut only at the window's end.
    let b = bitmap_with_free(32768, &[(10, 20), (1000, 1100), (5000, 30000)]);
    for goal in [10, 13, 19, 1000, 1050, 5000, 5001, 6000, 29990] {
        for max in [1, 7, 64, 256, 1000] {
            let (first, window) = window_of(&b, goal, 32768);
            let len = run_at_goal(&window, first, 32768, goal, max).unwrap();
            let (bit, whole_len) = find_free_run(&b, 32768, goal, max).unwrap();
            assert_eq!(bit, goal);
            let window_end = first * 8 + window.len() as u32 * 8;
            assert_eq!(
                len,
                whole_len.min(window_end - goal),
                "goal {goal} max {max}"
            );
        }
    }
}

#[test]
fn a_taken_goal_leaves_the_choice_to_the_whole_bitmap() {
    let b = bitmap_with_free(4096, &[(40, 41), (80, 88)]);
    let (first, window) = window_of(&b, 10, 4096);
    assert_eq!(run_at_goal(&window, first, 4096, 10, 8), None);
    assert_eq!(run_at_goal(&window, first, 4096, 40, 0), None);
}

#[test]
fn the_window_stops_at_the_groups_last_bit() {
    // A last group of 1000 blocks: bits from 1000 on are padding, marked
    // free or not; no run reaches them.
    let mut b = bitmap_with_free(1024, &[(990, 1024)]);
    b[127] = 0;
    let (first, window) = window_of(&b, 990, 1000);
    assert_eq!((first, window.len()), (123, 2));
    assert_eq!(run_at_goal(&window, first, 1000, 990, 64), Some(10));
    // A goal at or past the end, or before the window, finds nothing.
    assert_eq!(goal_window(1000, 1000).1, 0);
    assert_eq!(run_at_goal(&[], 125, 1000, 1000, 8), None);
    assert_eq!(run_at_goal(&window, first, 1000, 900, 8), None);
}

#[test]
fn the_window_is_bounded() {
    assert_eq!(goal_window(0, 32768), (0, GOAL_WINDOW_BYTES));
    assert_eq!(goal_window(8 * 4090 + 3, 32768), (4090, 6));
}

#[test]
fn the_reserved_blocks_are_kept_once_no_other_is_free() {
    // ext2_has_free_blocks: free < reserved + 1.
    assert!(!only_reserved_left(1001, 1000));
    assert!(only_reserved_left(1000, 1000));
    assert!(only_reserved_left(0, 1000));
    // Nothing reserved: only an empty file system is full.
    assert!(!only_reserved_left(1, 0));
    assert!(only_reserved_left(0, 0));
    assert!(!only_reserved_left(u64::MAX, u64::MAX));
}

#[test]
fn byte_spans_cover_exactly_the_changed_bits() {
    assert_eq!(byte_span(0, 1), (0, 1));
    assert_eq!(byte_span(7, 2), (0, 2));
    assert_eq!(byte_span(8, 8), (1, 2));
    assert_eq!(byte_span(13, 100), (1, 15));
    assert_eq!(byte_span(32760, 8), (4095, 4096));
}

// ---------------------------------------------------------------------------
// find_free_run

#[test]
fn free_goal_is_taken_with_the_free_bits_after_it() {
    let b = bitmap_with_free(1024, &[(10, 20), (500, 600)]);
    assert_eq!(find_free_run(&b, 1024, 10, 8), Some((10, 8)));
    assert_eq!(find_free_run(&b, 1024, 15, 100), Some((15, 5)));
    assert_eq!(find_free_run(&b, 1024, 19, 100), Some((19, 1)));
}

#[test]
fn taken_goal_prefers_a_free_bit_in_its_64_bit_window() {
    // A lone free bit at 40 wins over the free byte at 80: it is near.
    let b = bitmap_with_free(1024, &[(40, 41), (80, 88)]);
    assert_eq!(find_free_run(&b, 1024, 10, 8), Some((40, 1)));
    // The window is the goal's own 64 bits: 64..128 for goal 64.
    let b = bitmap_with_free(1024, &[(70, 71), (200, 208)]);
    assert_eq!(find_free_run(&b, 1024, 64, 8), Some((70, 1)));
}

#[test]
fn past_the_window_a_free_byte_beats_a_lone_free_bit() {
    // Goal 60: its window ends at 64. Bit 70 is free but alone; byte 12
    // (bits 96..104) is wholly free and is taken first.
    let b = bitmap_with_free(1024, &[(70, 71), (96, 110)]);
    assert_eq!(find_free_run(&b, 1024, 60, 32), Some((96, 14)));
}

#[test]
fn free_byte_start_backs_up_to_its_extent_head() {
    // Bits 93..96 are free and join the free byte 12: the run starts at 93,
    // as ext2_try_to_allocate steps back over up to 7 free bits.
    let b = bitmap_with_free(1024, &[(93, 104)]);
    assert_eq!(find_free_run(&b, 1024, 0, 100), Some((93, 11)));
    // A goal in the middle of a free stretch is taken as it is.
    assert_eq!(find_free_run(&b, 1024, 95, 100), Some((95, 9)));
}

#[test]
fn without_a_free_byte_any_free_bit_after_the_goal() {
    let b = bitmap_with_free(1024, &[(100, 102), (300, 301)]);
    assert_eq!(find_free_run(&b, 1024, 0, 8), Some((100, 2)));
    assert_eq!(find_free_run(&b, 1024, 102, 8), Some((300, 1)));
}

#[test]
fn nothing_free_after_the_goal_wraps_to_the_start() {
    let b = bitmap_with_free(1024, &[(5, 8)]);
    assert_eq!(find_free_run(&b, 1024, 200, 8), Some((5, 3)));
    // The wrapped search keeps the order of preference: a free byte from
    // bit 0's window on wins over a later lone bit.
    let b = bitmap_with_free(1024, &[(100, 101), (128, 136)]);
    assert_eq!(find_free_run(&b, 1024, 500, 8), Some((128, 8)));
}

#[test]
fn full_bitmap_has_no_free_run() {
    let b = bitmap_with_free(1024, &[]);
    for goal in [0, 1, 63, 64, 1023, 5000] {
        assert_eq!(find_free_run(&b, 1024, goal, 8), None);
    }
}

#[test]
fn no_run_for_nothing_asked_or_no_bits() {
    let b = bitmap_with_free(1024, &[(0, 1024)]);
    assert_eq!(find_free_run(&b, 1024, 0, 0), None);
    assert_eq!(find_free_run(&b, 0, 0, 8), None);
    assert_eq!(find_free_run(&[], 1024, 0, 8), None);
}

#[test]
fn run_ends_at_max_at_a_used_bit_and_at_nbits() {
    let b = bitmap_with_free(1024, &[(0, 1024)]);
    assert_eq!(find_free_run(&b, 1024, 0, 1), Some((0, 1)));
    assert_eq!(find_free_run(&b, 1024, 1000, 100), Some((1000, 24)));
    assert_eq!(find_free_run(&b, 1000, 990, 100), Some((990, 10)));
    let mut b = bitmap_with_free(1024, &[(0, 1024)]);
    b[2] = 0x01;
    assert_eq!(find_free_run(&b, 1024, 0, 100), Some((0, 16)));
}

#[test]
fn bits_past_nbits_are_never_returned() {
    // Bits 100.. are clear (as padding might be) but not in the bitmap.
    let mut b = bitmap_with_free(1024, &[(100, 1024)]);
    assert_eq!(find_free_run(&b, 100, 0, 8), None);
    assert_eq!(find_free_run(&b, 100, 99, 8), None);
    // Bits 96..100 free inside, bit 100 free outside.
    b[12] = 0b1110_0000;
    assert_eq!(find_free_run(&b, 100, 0, 8), Some((96, 4)));
    // nbits larger than the buffer is cut to the buffer.
    let b = bitmap_with_free(16, &[(15, 16)]);
    assert_eq!(find_free_run(&b, 1 << 20, 0, 8), Some((15, 1)));
}

#[test]
fn last_partial_byte_counts_as_a_free_byte_up_to_nbits() {
    // nbits 100: byte 12 holds bits 96..100 and 4 bits of padding.
    let mut b = bitmap_with_free(104, &[]);
    b[12] = 0;
    assert_eq!(find_free_run(&b, 100, 30, 10), Some((96, 4)));
}

#[test]
fn goal_past_nbits_counts_as_zero() {
    let b = bitmap_with_free(1024, &[(0, 4), (500, 504)]);
    assert_eq!(find_free_run(&b, 1024, 1024, 8), Some((0, 4)));
    assert_eq!(find_free_run(&b, 1024, u32::MAX, 8), Some((0, 4)));
}

// ---------------------------------------------------------------------------
// Bit flips and counts

#[test]
fn set_and_clear_flip_exactly_their_bits() {
    let mut b = vec![0u8; 4];
    set_bits(&mut b, 3, 10).unwrap();
    assert_eq!(b, [0xf8, 0x1f, 0, 0]);
    clear_bits(&mut b, 4, 8).unwrap();
    assert_eq!(b, [0x08, 0x10, 0, 0]);
    set_bits(&mut b, 0, 0).unwrap();
    clear_bits(&mut b, 31, 0).unwrap();
    assert_eq!(b, [0x08, 0x10, 0, 0]);
    set_bits(&mut b, 16, 16).unwrap();
    assert_eq!(b, [0x08, 0x10, 0xff, 0xff]);
}

#[test]
fn double_allocation_is_reported_and_changes_nothing() {
    let mut b = bitmap_with_free(64, &[(0, 64)]);
    set_bits(&mut b, 20, 1).unwrap();
    set_bits(&mut b, 25, 1).unwrap();
    let before = b.clone();
    // The first bit already set is reported, the free ones before it stay
    // free.
    assert_eq!(set_bits(&mut b, 10, 20), Err(20));
    assert_eq!(set_bits(&mut b, 21, 10), Err(25));
    assert_eq!(b, before);
}

#[test]
fn double_free_is_reported_and_changes_nothing() {
    let mut b = bitmap_with_free(64, &[(30, 31), (40, 41)]);
    let before = b.clone();
    assert_eq!(clear_bits(&mut b, 25, 10), Err(30));
    assert_eq!(clear_bits(&mut b, 31, 20), Err(40));
    assert_eq!(b, before);
    assert!(!is_set(&b, 30) && is_set(&b, 29));
}

#[test]
fn flips_past_the_bitmap_are_refused_without_overflow() {
    let mut b = vec![0u8; 2];
    assert_eq!(set_bits(&mut b, 10, 7), Err(16));
    assert_eq!(set_bits(&mut b, 100, 1), Err(100));
    assert_eq!(set_bits(&mut b, u32::MAX, 2), Err(u32::MAX));
    assert_eq!(b, [0, 0]);
    let mut b = vec![0xffu8; 2];
    assert_eq!(clear_bits(&mut b, 15, 2), Err(16));
    assert_eq!(clear_bits(&mut b, 1, u32::MAX), Err(16));
    assert_eq!(b, [0xff, 0xff]);
}

#[test]
fn count_free_counts_only_the_first_nbits() {
    let b = bitmap_with_free(64, &[(0, 3), (8, 16), (60, 64)]);
    assert_eq!(count_free(&b, 64), 15);
    assert_eq!(count_free(&b, 62), 13);
    assert_eq!(count_free(&b, 9), 4);
    assert_eq!(count_free(&b, 0), 0);
    // Past the buffer nothing is counted.
    assert_eq!(count_free(&b, 1000), 15);
    assert_eq!(count_free(&[], 8), 0);
}

/// Allocating with scattered goals until nothing is left hands out every
/// free bit exactly once, and the count follows.
#[test]
fn allocating_until_full_uses_every_free_bit_once() {
    let nbits = 1000;
    let mut b = bitmap_with_free(1008, &[(0, 1000)]);
    for bit in (0..nbits).step_by(7) {
        set_bits(&mut b, bit, 1).unwrap();
    }
    let mut free = count_free(&b, nbits);
    let mut seed = 12345u32;
    while let Some((start, len)) = find_free_run(&b, nbits, seed % (nbits + 50), 1 + seed % 9) {
        assert!(len >= 1 && start + len <= nbits);
        set_bits(&mut b, start, len).unwrap();
        free -= len;
        assert_eq!(count_free(&b, nbits), free);
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345) >> 4;
    }
    assert_eq!(free, 0);
    assert!(b[125] == 0xff && (0..nbits).all(|bit| is_set(&b, bit)));
}

// ---------------------------------------------------------------------------
// Group geometry

fn parsed(block_size: u64) -> SuperBlock {
    SbImage::new(block_size).parse().unwrap()
}

#[test]
fn group_of_1k_blocks_starts_after_block_0() {
    let fs = parsed(1024);
    assert_eq!(group_of(&fs, 0), None);
    assert_eq!(group_of(&fs, 1), Some((0, 0)));
    assert_eq!(group_of(&fs, 8192), Some((0, 8191)));
    assert_eq!(group_of(&fs, 8193), Some((1, 0)));
    assert_eq!(group_of(&fs, 19999), Some((2, 3614)));
    assert_eq!(group_of(&fs, 20000), None);
    assert_eq!(group_of(&fs, u64::MAX), None);
}

#[test]
fn group_of_4k_blocks_starts_at_block_0() {
    let fs = parsed(4096);
    assert_eq!(group_of(&fs, 0), Some((0, 0)));
    assert_eq!(group_of(&fs, 32767), Some((0, 32767)));
    assert_eq!(group_of(&fs, 32768), Some((1, 0)));
    assert_eq!(group_of(&fs, 99999), Some((3, 1695)));
    assert_eq!(group_of(&fs, 100000), None);
}

#[test]
fn last_group_is_short() {
    let fs1 = parsed(1024);
    assert_eq!(
        (0..4)
            .map(|g| group_first_block(&fs1, g))
            .collect::<Vec<_>>(),
        [1, 8193, 16385, 24577]
    );
    assert_eq!(
        (0..4).map(|g| blocks_in_group(&fs1, g)).collect::<Vec<_>>(),
        [8192, 8192, 3615, 0]
    );
    let fs4 = parsed(4096);
    assert_eq!(group_first_block(&fs4, 3), 98304);
    assert_eq!(
        (0..5).map(|g| blocks_in_group(&fs4, g)).collect::<Vec<_>>(),
        [32768, 32768, 32768, 1696, 0]
    );
    assert_eq!(blocks_in_group(&fs4, u32::MAX), 0);
    // Every block of the file system is in exactly one group's bitmap.
    let total: u64 = (0..fs1.groups())
        .map(|g| u64::from(blocks_in_group(&fs1, g)))
        .sum();
    assert_eq!(total, 20000 - 1);
}

#[test]
fn group_order_starts_at_the_goal_and_wraps() {
    let order = |goal, n| group_order(goal, n).collect::<Vec<_>>();
    assert_eq!(order(2, 5), [2, 3, 4, 0, 1]);
    assert_eq!(order(0, 3), [0, 1, 2]);
    assert_eq!(order(0, 1), [0]);
    assert_eq!(order(7, 5), [2, 3, 4, 0, 1]);
    assert_eq!(order(3, 0), Vec::<u32>::new());
    let huge: Vec<u32> = group_order(u32::MAX - 1, u32::MAX).take(3).collect();
    assert_eq!(huge, [u32::MAX - 1, 0, 1]);
}

#[test]
fn gdt_blocks_hold_32_descriptors_per_kib() {
    assert_eq!(gdt_blocks(&parsed(1024)), 1);
    assert_eq!(gdt_blocks(&parsed(4096)), 1);
    // 33 groups of 1 KiB blocks: 32 descriptors fill the first block.
    let img = SbImage::new(1024).edit(|s| {
        s.blocks_count = 1 + 32 * 8192 + 1;
        s.inodes_count = 33 * s.inodes_per_group;
    });
    let big = img.parse().unwrap();
    assert_eq!(big.groups(), 33);
    assert_eq!(gdt_blocks(&big), 2);
}

#[test]
fn sparse_super_backups_are_in_0_1_and_powers_of_3_5_7() {
    let fs = parsed(1024);
    assert_ne!(fs.feature_ro_compat & RO_COMPAT_SPARSE_SUPER, 0);
    let backups: Vec<u32> = (0..400).filter(|&g| group_has_super(&fs, g)).collect();
    assert_eq!(backups, [0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343]);
    assert!(group_has_super(&fs, 3u32.pow(20)));
    assert!(!group_has_super(&fs, 3u32.pow(20) + 2));
    assert!(!group_has_super(&fs, u32::MAX));
}

#[test]
fn without_sparse_super_every_group_has_a_backup() {
    let fs = SbImage::new(1024).rev0().parse().unwrap();
    assert!((0..400).all(|g| group_has_super(&fs, g)));
}

// ---------------------------------------------------------------------------
// Metadata

/// 1 KiB blocks, sparse_super, 4 reserved descriptor blocks: group 1 has a
/// super block copy at 8193, its descriptor block at 8194 and the reserved
/// ones at 8195..8199, then its bitmaps and a 256-block inode table.
/// Group 2 has no copy, and its metadata starts 15 blocks in.
fn fs_with_resize() -> SuperBlock {
    SbImage::new(1024)
        .edit(|s| s.reserved_gdt_blocks = 4)
        .parse()
        .unwrap()
}

fn desc(block_bitmap: u32, inode_bitmap: u32, inode_table: u32) -> GroupDesc {
    GroupDesc {
        block_bitmap,
        inode_bitmap,
        inode_table,
        free_blocks: 0,
        free_inodes: 0,
        used_dirs: 0,
    }
}

#[test]
fn metadata_runs_with_and_without_a_super_block_copy() {
    let fs = fs_with_resize();
    assert_eq!(
        metadata_runs(&fs, 1, &desc(8199, 8200, 8201)),
        [(8193, 6), (8199, 1), (8200, 1), (8201, 256)]
    );
    assert_eq!(
        metadata_runs(&fs, 2, &desc(16400, 16401, 16402)),
        [(16385, 0), (16400, 1), (16401, 1), (16402, 256)]
    );
    // Group 0 of a 4 KiB file system: block 0 holds the super block.
    let fs4 = parsed(4096);
    assert_eq!(metadata_runs(&fs4, 0, &desc(2, 3, 4))[0], (0, 2));
}

#[test]
fn runs_touching_any_metadata_overlap() {
    let fs = fs_with_resize();
    let d = desc(8199, 8200, 8201);
    let hits = |start, len| metadata_overlap(&fs, 1, &d, start, len);
    assert!(hits(8193, 1), "super block copy");
    assert!(hits(8194, 1), "descriptor block");
    assert!(hits(8198, 1), "last reserved descriptor block");
    assert!(hits(8199, 1), "block bitmap");
    assert!(hits(8200, 1), "inode bitmap");
    assert!(hits(8201, 1), "inode table start");
    assert!(hits(8456, 1), "inode table end");
    assert!(hits(8400, 100), "run into the inode table's end");
    assert!(hits(8100, 100), "run from the group before into its copy");
    assert!(hits(0, u64::MAX), "everything");
}

#[test]
fn runs_next_to_metadata_do_not_overlap() {
    let fs = fs_with_resize();
    let d = desc(8199, 8200, 8201);
    assert!(!metadata_overlap(&fs, 1, &d, 8457, 100), "after the table");
    assert!(!metadata_overlap(&fs, 1, &d, 8093, 100), "before the copy");
    assert!(!metadata_overlap(&fs, 1, &d, 8300, 0), "an empty run");
    assert!(!metadata_overlap(&fs, 1, &d, u64::MAX - 1, 5), "far past");
    // Group 2 has no copy: its first blocks are data.
    let d2 = desc(16400, 16401, 16402);
    assert!(!metadata_overlap(&fs, 2, &d2, 16385, 15));
    assert!(metadata_overlap(&fs, 2, &d2, 16385, 16));
}

#[test]
fn without_resize_inode_the_copy_is_super_block_and_descriptors() {
    let fs = parsed(1024);
    let d = desc(8195, 8196, 8197);
    assert_eq!(metadata_runs(&fs, 1, &d)[0], (8193, 2));
    // Without sparse_super group 2 has its copy too.
    let all = SbImage::new(1024)
        .edit(|s| s.ro_compat &= !RO_COMPAT_SPARSE_SUPER)
        .parse()
        .unwrap();
    let d2 = desc(16387, 16388, 16389);
    assert!(metadata_overlap(&all, 2, &d2, 16386, 1));
    assert!(!metadata_overlap(&fs, 2, &d2, 16386, 1));
}

/// Group 1's bitmap with exactly its metadata in use.
fn bitmap_marking_metadata(fs: &SuperBlock, d: &GroupDesc) -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    for (first, n) in metadata_runs(fs, 1, d) {
        set_bits(&mut b, (first - 8193) as u32, n as u32).unwrap();
    }
    b
}

#[test]
fn bitmap_marking_all_metadata_is_valid() {
    let fs = fs_with_resize();
    let d = desc(8199, 8200, 8201);
    let b = bitmap_marking_metadata(&fs, &d);
    assert_eq!(count_free(&b, 8192), 8192 - 6 - 2 - 256);
    assert_eq!(first_free_metadata(&fs, 1, &d, &b, 8192), None);
}

#[test]
fn bitmap_marking_metadata_free_is_caught() {
    let fs = fs_with_resize();
    let d = desc(8199, 8200, 8201);
    for block in [8193, 8196, 8199, 8200, 8201, 8456] {
        let mut b = bitmap_marking_metadata(&fs, &d);
        clear_bits(&mut b, (block - 8193) as u32, 1).unwrap();
        assert_eq!(first_free_metadata(&fs, 1, &d, &b, 8192), Some(block));
        // The allocator would hand it out, and the overlap check stops it.
        let (bit, len) = find_free_run(&b, 8192, 0, 8).unwrap();
        assert_eq!(u64::from(bit) + 8193, block);
        assert!(metadata_overlap(&fs, 1, &d, block, u64::from(len)));
    }
}

#[test]
fn metadata_outside_the_bitmap_counts_as_free() {
    let fs = fs_with_resize();
    let d = desc(8199, 8200, 8201);
    let b = bitmap_marking_metadata(&fs, &d);
    // A bitmap cut before the inode table's end.
    assert_eq!(first_free_metadata(&fs, 1, &d, &b, 8300 - 8193), Some(8300));
    assert_eq!(first_free_metadata(&fs, 1, &d, &b[..10], 8192), Some(8273));
}
