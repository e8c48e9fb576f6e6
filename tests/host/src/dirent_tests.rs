// SPDX-License-Identifier: GPL-2.0

//! Tests of the directory-block changes (`src/ext2/dirent.rs`) on blocks
//! of 1, 2 and 4 KiB built here, checked against fs/ext2/dir.c
//! (ext2_add_link, ext2_delete_entry, ext2_make_empty, ext2_empty_dir,
//! ext2_set_link, ext2_dotdot) and against a walk of the block written
//! here, independent of the code under test.

use crate::ext2::dirent::{
    block_is_empty, dotdot, file_type_of, find_name_in, find_slot, init_dir_block, insert_at,
    new_empty_block, rec_len_for, remove_at, set_ino, RoomHint, FT_BLKDEV, FT_CHRDEV, FT_DIR,
    FT_FIFO, FT_REG_FILE, FT_SOCK, FT_SYMLINK, FT_UNKNOWN, NAME_MAX,
};
use crate::ext2::format::{dir_entry, Corrupt};
use crate::rng::Rng;

/// `find_name_in` over the whole block.
fn find_name(
    block: &[u8],
    base: u64,
    filetype: bool,
    name: &[u8],
) -> Result<Option<(usize, u32)>, Corrupt> {
    find_name_in(block, base, filetype, name, 0..block.len())
}

/// The block sizes ext2 has on a 4 KiB page.
const SIZES: [usize; 3] = [1024, 2048, 4096];

/// One entry, as the independent walk reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Raw {
    offset: usize,
    ino: u32,
    rec_len: usize,
    name: Vec<u8>,
    file_type: u8,
}

fn le16(b: &[u8], off: usize) -> usize {
    usize::from(u16::from_le_bytes([b[off], b[off + 1]]))
}

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Walks `block` byte by byte, asserting that it is a valid chain (every
/// record at least 12 bytes, a multiple of 4, holding its name, a used
/// entry with a name, the records ending exactly at the block's end), and
/// that `format::dir_entry` reads every entry the same. Gives the entries,
/// each with its byte 7 as it is (without FILETYPE, name_len's high byte).
fn chain(block: &[u8], filetype: bool) -> Vec<Raw> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < block.len() {
        assert!(off + 8 <= block.len(), "header past the end at {off}");
        let rec_len = le16(block, off + 4);
        // Without FILETYPE, the type byte is name_len's high byte.
        let name_len = if filetype {
            usize::from(block[off + 6])
        } else {
            le16(block, off + 6)
        };
        let file_type = block[off + 7];
        let ino = le32(block, off);
        assert!(rec_len >= 12, "rec_len {rec_len} at {off}");
        assert_eq!(rec_len % 4, 0, "rec_len {rec_len} at {off}");
        assert!(off + rec_len <= block.len(), "record past the end at {off}");
        assert!(name_len + 8 <= rec_len, "name past its record at {off}");
        assert!(
            ino == 0 || name_len != 0,
            "used entry without a name at {off}"
        );
        let name = block[off + 8..off + 8 + name_len].to_vec();
        let parsed = dir_entry(block, off, 0, filetype).unwrap();
        assert_eq!(
            (parsed.ino, parsed.rec_len, parsed.name, parsed.file_type),
            (
                ino,
                rec_len,
                &name[..],
                if filetype { file_type } else { 0 }
            )
        );
        out.push(Raw {
            offset: off,
            ino,
            rec_len,
            name,
            file_type,
        });
        off += rec_len;
    }
    assert_eq!(off, block.len());
    out
}

/// The used entries of a valid block, as (name, inode), in block order.
fn used(block: &[u8], filetype: bool) -> Vec<(Vec<u8>, u32)> {
    chain(block, filetype)
        .into_iter()
        .filter(|e| e.ino != 0)
        .map(|e| (e.name, e.ino))
        .collect()
}

/// Writes an entry's bytes directly: `name_len` may lie about the name.
fn put_raw(b: &mut [u8], off: usize, ino: u32, rec_len: u16, name_len: u8, name: &[u8], ft: u8) {
    b[off..off + 4].copy_from_slice(&ino.to_le_bytes());
    b[off + 4..off + 6].copy_from_slice(&rec_len.to_le_bytes());
    b[off + 6] = name_len;
    b[off + 7] = ft;
    b[off + 8..off + 8 + name.len()].copy_from_slice(name);
}

/// A block of `size` bytes holding `entries` (inode, rec_len, name, type)
/// in order, the last one's rec_len stretched to the end.
fn block_with(size: usize, entries: &[(u32, usize, &[u8], u8)]) -> Vec<u8> {
    let mut b = vec![0u8; size];
    let mut off = 0;
    for (i, &(ino, rec_len, name, ft)) in entries.iter().enumerate() {
        let rec_len = if i + 1 == entries.len() {
            size - off
        } else {
            rec_len
        };
        put_raw(&mut b, off, ino, rec_len as u16, name.len() as u8, name, ft);
        off += rec_len;
    }
    b
}

/// A fresh first block of directory 20 in directory 2.
fn dir_block(size: usize, filetype: bool) -> Vec<u8> {
    let mut b = vec![0xa5u8; size];
    init_dir_block(&mut b, 20, 2, filetype).unwrap();
    b
}

/// Asserts that `before` and `after` differ only inside `range`.
fn changed_only_in(before: &[u8], after: &[u8], (start, len): (usize, usize)) {
    assert!(start + len <= after.len());
    for (i, (x, y)) in before.iter().zip(after).enumerate() {
        if x != y {
            assert!(
                (start..start + len).contains(&i),
                "byte {i} changed outside {start}+{len}"
            );
        }
    }
}

fn bad(offset: u64) -> Corrupt {
    Corrupt::DirEntry { offset }
}

// ---------------------------------------------------------------------------
// Lengths and types

#[test]
fn rec_len_for_rounds_header_and_name_up_to_four() {
    // EXT2_DIR_REC_LEN(n) = (n + 8 + 3) & ~3.
    let cases = [(0, 8), (1, 12), (2, 12), (4, 12), (5, 16), (8, 16), (9, 20)];
    for (name_len, want) in cases {
        assert_eq!(rec_len_for(name_len), want, "name_len {name_len}");
    }
    assert_eq!(rec_len_for(NAME_MAX), 264);
    // Saturates rather than overflowing on a length nobody has.
    assert_eq!(rec_len_for(usize::MAX) % 4, 0);
}

#[test]
fn file_type_of_follows_the_mode_type_bits() {
    let cases = [
        (0o100644, FT_REG_FILE),
        (0o040755, FT_DIR),
        (0o020600, FT_CHRDEV),
        (0o060600, FT_BLKDEV),
        (0o010644, FT_FIFO),
        (0o140777, FT_SOCK),
        (0o120777, FT_SYMLINK),
        // Permission bits alone, or a type ext2 does not know.
        (0o000777, FT_UNKNOWN),
        (0o170000, FT_UNKNOWN),
        (0o030000, FT_UNKNOWN),
    ];
    for (mode, want) in cases {
        assert_eq!(file_type_of(mode), want, "mode {mode:o}");
    }
    // The numbers are the on-disk ones (EXT2_FT_*).
    assert_eq!(
        [
            FT_UNKNOWN,
            FT_REG_FILE,
            FT_DIR,
            FT_CHRDEV,
            FT_BLKDEV,
            FT_FIFO,
            FT_SOCK,
            FT_SYMLINK
        ],
        [0, 1, 2, 3, 4, 5, 6, 7]
    );
}

// ---------------------------------------------------------------------------
// New blocks

#[test]
fn new_empty_block_is_one_unused_entry_over_zeroes() {
    for size in SIZES {
        let mut b = vec![0xffu8; size];
        new_empty_block(&mut b).unwrap();
        assert_eq!(
            chain(&b, true),
            [Raw {
                offset: 0,
                ino: 0,
                rec_len: size,
                name: vec![],
                file_type: 0
            }]
        );
        assert!(b[6..].iter().all(|&x| x == 0));
        assert_eq!(find_slot(&b, 0, true, NAME_MAX), Ok(Some(0)));
    }
}

#[test]
fn new_empty_block_refuses_lengths_no_record_spans() {
    for len in [0, 8, 1022, 65536] {
        let mut b = vec![0xffu8; len];
        assert_eq!(new_empty_block(&mut b), Err(Corrupt::BlockSize(len as u64)));
        assert!(b.iter().all(|&x| x == 0xff), "length {len} written");
    }
}

#[test]
fn init_dir_block_writes_dot_and_dotdot_over_zeroes() {
    for size in SIZES {
        for filetype in [true, false] {
            let b = dir_block(size, filetype);
            let ft = if filetype { FT_DIR } else { 0 };
            assert_eq!(
                chain(&b, filetype),
                [
                    Raw {
                        offset: 0,
                        ino: 20,
                        rec_len: 12,
                        name: b".".to_vec(),
                        file_type: ft
                    },
                    Raw {
                        offset: 12,
                        ino: 2,
                        rec_len: size - 12,
                        name: b"..".to_vec(),
                        file_type: ft
                    }
                ]
            );
            // ext2_make_empty's memset: name padding and the rest are zero.
            assert_eq!(&b[9..12], [0, 0, 0]);
            assert!(b[22..].iter().all(|&x| x == 0));
            assert_eq!(dotdot(&b, 0, filetype), Ok((12, 2)));
            assert_eq!(block_is_empty(&b, 0, filetype, 20), Ok(true));
            assert_eq!(find_name(&b, 0, filetype, b"."), Ok(Some((0, 20))));
            assert_eq!(find_name(&b, 0, filetype, b".."), Ok(Some((12, 2))));
        }
    }
}

#[test]
fn init_dir_block_refuses_blocks_too_short_for_both() {
    for len in [0, 12, 20, 1026] {
        let mut b = vec![0xffu8; len];
        assert_eq!(
            init_dir_block(&mut b, 20, 2, true),
            Err(Corrupt::BlockSize(len as u64))
        );
        assert!(b.iter().all(|&x| x == 0xff), "length {len} written");
    }
    // 24 bytes is just enough.
    let mut b = vec![0u8; 24];
    init_dir_block(&mut b, 20, 2, true).unwrap();
    assert_eq!(used(&b, true), [(b".".to_vec(), 20), (b"..".to_vec(), 2)]);
}

// ---------------------------------------------------------------------------
// Adding a name

#[test]
fn a_name_splits_dotdot_in_a_new_directory() {
    for size in SIZES {
        let mut b = dir_block(size, true);
        let before = b.clone();
        assert_eq!(find_slot(&b, 0, true, 5), Ok(Some(12)));
        let range = insert_at(&mut b, 0, true, 12, b"hello", 31, FT_REG_FILE).unwrap();
        // C commits from the split entry to its old end.
        assert_eq!(range, (12, size - 12));
        changed_only_in(&before, &b, range);
        let entries = chain(&b, true);
        assert_eq!(entries[1].rec_len, 12);
        assert_eq!(
            entries[2],
            Raw {
                offset: 24,
                ino: 31,
                rec_len: size - 24,
                name: b"hello".to_vec(),
                file_type: FT_REG_FILE
            }
        );
        // The name's padding is zero.
        assert_eq!(&b[24 + 13..24 + 16], [0, 0, 0]);
        assert_eq!(find_name(&b, 0, true, b"hello"), Ok(Some((24, 31))));
    }
}

#[test]
fn an_unused_entry_is_taken_whole() {
    for size in SIZES {
        // ".", "..", an unused 20-byte entry (a deleted name left in it),
        // then "z" to the end.
        let mut b = block_with(
            size,
            &[
                (20, 12, b".", 2),
                (2, 12, b"..", 2),
                (0, 20, b"deleted", 1),
                (40, 0, b"z", 1),
            ],
        );
        let before = b.clone();
        // A 12-byte name fits the unused entry exactly: it comes first.
        assert_eq!(find_slot(&b, 0, true, 12), Ok(Some(24)));
        let range = insert_at(&mut b, 0, true, 24, b"twelve-bytes", 41, FT_DIR).unwrap();
        assert_eq!(range, (24, 20));
        changed_only_in(&before, &b, range);
        assert_eq!(
            chain(&b, true)[2],
            Raw {
                offset: 24,
                ino: 41,
                rec_len: 20,
                name: b"twelve-bytes".to_vec(),
                file_type: FT_DIR
            }
        );
        // A 13-byte name needs 24: the unused entry is too short, "z" has
        // the room.
        assert_eq!(find_slot(&before, 0, true, 13), Ok(Some(44)));
    }
}

#[test]
fn a_used_entry_fits_only_with_the_whole_record_to_spare() {
    for size in SIZES {
        // "a" needs 12; give it 12 + 16 and fill the rest of the block
        // with names that leave their records no room.
        let fillers: Vec<(usize, Vec<u8>)> = (40..size)
            .step_by(256)
            .map(|at| {
                let rec_len = (size - at).min(256);
                (rec_len, vec![b'f'; rec_len - 8])
            })
            .collect();
        let mut entries: Vec<(u32, usize, &[u8], u8)> = vec![(20, 12, b".", 2), (30, 28, b"a", 1)];
        entries.extend(
            fillers
                .iter()
                .map(|(rec_len, name)| (31, *rec_len, &name[..], 1)),
        );
        let b = block_with(size, &entries);
        // A 5..=8-byte name needs 16: fits after "a".
        assert_eq!(find_slot(&b, 0, true, 8), Ok(Some(12)));
        assert_eq!(find_slot(&b, 0, true, 5), Ok(Some(12)));
        // A 9-byte name needs 20: nowhere.
        assert_eq!(find_slot(&b, 0, true, 9), Ok(None));
        let mut full = b.clone();
        let range = insert_at(&mut full, 0, true, 12, b"eight..8", 32, 1).unwrap();
        assert_eq!(range, (12, 28));
        let entries = chain(&full, true);
        assert_eq!((entries[1].rec_len, entries[2].offset), (12, 24));
        assert_eq!(
            (entries[2].rec_len, &entries[2].name[..]),
            (16, &b"eight..8"[..])
        );
        assert_eq!(find_slot(&full, 0, true, 1), Ok(None));
    }
}

#[test]
fn insert_refuses_what_does_not_fit_and_writes_nothing() {
    for size in SIZES {
        let base = 3 * size as u64;
        let b = dir_block(size, true);
        let long = vec![b'x'; NAME_MAX + 1];
        let huge = vec![b'x'; size];
        let cases: [(usize, &[u8]); 6] = [
            // No name, or longer than ext2 names go.
            (12, b""),
            (12, &long),
            // A name longer than the entry's slack.
            (12, &huge),
            // "." has no slack at all.
            (0, b"a"),
            // Not where an entry starts.
            (4, b"a"),
            (size, b"a"),
        ];
        for (offset, name) in cases {
            let mut after = b.clone();
            assert_eq!(
                insert_at(&mut after, base, true, offset, name, 9, 1),
                Err(bad(base + offset as u64)),
                "offset {offset} name length {}",
                name.len()
            );
            assert_eq!(after, b);
        }
        let mut after = b.clone();
        assert_eq!(
            insert_at(&mut after, base, true, usize::MAX, b"a", 9, 1),
            Err(bad(u64::MAX))
        );
        assert_eq!(after, b);
    }
}

#[test]
fn a_255_byte_name_goes_into_any_block() {
    for size in SIZES {
        let mut b = dir_block(size, true);
        let name = vec![b'n'; NAME_MAX];
        let slot = find_slot(&b, 0, true, NAME_MAX).unwrap().unwrap();
        insert_at(&mut b, 0, true, slot, &name, 77, FT_SYMLINK).unwrap();
        assert_eq!(find_name(&b, 0, true, &name), Ok(Some((24, 77))));
        assert_eq!(chain(&b, true)[2].name, name);
    }
}

#[test]
fn without_filetype_the_type_byte_stays_zero() {
    for size in SIZES {
        let mut b = dir_block(size, false);
        let slot = find_slot(&b, 0, false, 3).unwrap().unwrap();
        insert_at(&mut b, 0, false, slot, b"abc", 12, FT_SYMLINK).unwrap();
        // chain() asserts every type byte is 0 without FILETYPE.
        assert_eq!(used(&b, false)[2], (b"abc".to_vec(), 12));
        set_ino(&mut b, 0, false, 24, 13, FT_DIR).unwrap();
        assert_eq!(used(&b, false)[2], (b"abc".to_vec(), 13));
        // Read as a 16-bit name length, the name is still 3 bytes.
        assert_eq!(le16(&b, 24 + 6), 3);
    }
}

// ---------------------------------------------------------------------------
// Removing a name

/// ".", "..", "a", "bb", "ccc" to the end of a block of `size`.
fn five_entries(size: usize) -> Vec<u8> {
    block_with(
        size,
        &[
            (20, 12, b".", 2),
            (2, 12, b"..", 2),
            (30, 12, b"a", 1),
            (31, 12, b"bb", 1),
            (32, 0, b"ccc", 1),
        ],
    )
}

#[test]
fn remove_merges_into_the_entry_before() {
    for size in SIZES {
        let mut b = five_entries(size);
        let before = b.clone();
        let range = remove_at(&mut b, 0, true, 36).unwrap();
        // From "a" to the end of "bb".
        assert_eq!(range, (24, 24));
        changed_only_in(&before, &b, range);
        assert_eq!(
            used(&b, true),
            [
                (b".".to_vec(), 20),
                (b"..".to_vec(), 2),
                (b"a".to_vec(), 30),
                (b"ccc".to_vec(), 32)
            ]
        );
        assert_eq!(chain(&b, true)[2].rec_len, 24);
        // C zeroes the merged entry's inode too.
        assert_eq!(le32(&b, 36), 0);
        // The last entry: "a" grows to the end of the block.
        let range = remove_at(&mut b, 0, true, 48).unwrap();
        assert_eq!(range, (24, size - 24));
        assert_eq!(chain(&b, true)[2].rec_len, size - 24);
        assert_eq!(find_name(&b, 0, true, b"ccc"), Ok(None));
    }
}

#[test]
fn removing_a_block_first_entry_clears_its_inode() {
    for size in SIZES {
        let mut b = block_with(size, &[(40, 16, b"first", 1), (41, 0, b"second", 1)]);
        let before = b.clone();
        let range = remove_at(&mut b, 0, true, 0).unwrap();
        assert_eq!(range, (0, 16));
        changed_only_in(&before, &b, range);
        let entries = chain(&b, true);
        assert_eq!((entries[0].ino, entries[0].rec_len), (0, 16));
        assert_eq!(used(&b, true), [(b"second".to_vec(), 41)]);
        // The unused entry is a slot again, and the name is gone.
        assert_eq!(find_name(&b, 0, true, b"first"), Ok(None));
        assert_eq!(find_slot(&b, 0, true, 8), Ok(Some(0)));
    }
}

#[test]
fn remove_refuses_offsets_where_no_entry_starts() {
    for size in SIZES {
        let base = size as u64;
        let b = five_entries(size);
        for offset in [1, 4, 30, 47, size - 4, size, size + 12, usize::MAX] {
            let mut after = b.clone();
            assert_eq!(
                remove_at(&mut after, base, true, offset),
                Err(bad(base.saturating_add(offset as u64))),
                "offset {offset}"
            );
            assert_eq!(after, b);
        }
    }
}

// ---------------------------------------------------------------------------
// Changing a link, "..", emptiness

#[test]
fn set_ino_changes_inode_and_type_of_one_entry() {
    for size in SIZES {
        let mut b = five_entries(size);
        let before = b.clone();
        let range = set_ino(&mut b, 0, true, 36, 99, FT_DIR).unwrap();
        assert_eq!(range, (36, 12));
        changed_only_in(&before, &b, range);
        let entries = chain(&b, true);
        assert_eq!((entries[3].ino, entries[3].file_type), (99, FT_DIR));
        assert_eq!(entries[3].name, b"bb");
        // Fixing "..", as a rename to another directory does.
        set_ino(&mut b, 0, true, 12, 7, FT_DIR).unwrap();
        assert_eq!(dotdot(&b, 0, true), Ok((12, 7)));
    }
}

#[test]
fn set_ino_refuses_unused_entries_and_offsets_inside_one() {
    for size in SIZES {
        let mut b = five_entries(size);
        remove_at(&mut b, 0, true, 0).unwrap();
        let cleared = b.clone();
        for offset in [0, 13, size] {
            assert_eq!(
                set_ino(&mut b, 0, true, offset, 5, 1),
                Err(bad(offset as u64)),
                "offset {offset}"
            );
            assert_eq!(b, cleared);
        }
    }
}

#[test]
fn dotdot_wants_dot_first_then_dotdot() {
    for size in SIZES {
        let base = 0;
        assert_eq!(dotdot(&five_entries(size), base, true), Ok((12, 2)));
        // "." longer than 12 bytes: ".." is wherever it ends.
        let wide = block_with(size, &[(20, 16, b".", 2), (2, 0, b"..", 2)]);
        assert_eq!(dotdot(&wide, base, true), Ok((16, 2)));
        let cases: [(Vec<u8>, u64); 5] = [
            // No "." first.
            (block_with(size, &[(20, 12, b"x", 2), (2, 0, b"..", 2)]), 0),
            // "." unused.
            (block_with(size, &[(0, 12, b".", 2), (2, 0, b"..", 2)]), 0),
            // The second is not "..".
            (
                block_with(size, &[(20, 12, b".", 2), (2, 0, b"..x", 2)]),
                12,
            ),
            // ".." unused.
            (block_with(size, &[(20, 12, b".", 2), (0, 0, b"..", 2)]), 12),
            // "." alone.
            (block_with(size, &[(20, 0, b".", 2)]), size as u64),
        ];
        for (b, at) in cases {
            assert_eq!(dotdot(&b, base, true), Err(bad(at)));
        }
    }
}

#[test]
fn block_is_empty_matches_ext2_empty_dir() {
    for size in SIZES {
        let check = |entries: &[(u32, usize, &[u8], u8)]| {
            block_is_empty(&block_with(size, entries), 0, true, 20).unwrap()
        };
        assert!(check(&[(20, 12, b".", 2), (2, 0, b"..", 2)]));
        // Unused entries do not count, whatever name they kept.
        assert!(check(&[(0, 16, b"gone", 1), (0, 0, b"also", 1)]));
        assert!(check(&[
            (20, 12, b".", 2),
            (2, 12, b"..", 2),
            (0, 0, b"x", 1)
        ]));
        assert!(!check(&[
            (20, 12, b".", 2),
            (2, 12, b"..", 2),
            (30, 0, b"x", 1)
        ]));
        // "." naming another inode is a name like any other.
        assert!(!check(&[(21, 12, b".", 2), (2, 0, b"..", 2)]));
        // Names that only start with dots.
        assert!(!check(&[
            (20, 12, b".", 2),
            (2, 12, b"..", 2),
            (30, 0, b"...", 1)
        ]));
        assert!(!check(&[
            (20, 12, b".", 2),
            (2, 12, b"..", 2),
            (30, 0, b".x", 1)
        ]));
        // As in C, "." (naming the directory) and ".." count as empty
        // wherever they are, a later block included; and a first block
        // without them is not looked at for it.
        assert!(check(&[
            (0, 12, b"", 0),
            (2, 12, b"..", 2),
            (20, 0, b".", 2)
        ]));
        assert!(check(&[(0, 0, b"", 0)]));
    }
}

// ---------------------------------------------------------------------------
// Corrupt blocks

/// Blocks of `size` that are not chains of entries, each with the offset
/// of the first bad entry.
fn corrupt_blocks(size: usize) -> Vec<(&'static str, Vec<u8>, usize)> {
    let good = five_entries(size);
    let mut out = Vec::new();
    let mut with = |what: &'static str, at: usize, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        out.push((what, b, at));
    };
    with("rec_len 0", 24, &|b| b[28..30].copy_from_slice(&[0, 0]));
    with("rec_len 8", 24, &|b| b[28..30].copy_from_slice(&[8, 0]));
    with("rec_len unaligned", 24, &|b| {
        b[28..30].copy_from_slice(&[14, 0])
    });
    with("rec_len past the end", 48, &|b| {
        b[52..54].copy_from_slice(&((size - 44) as u16).to_le_bytes())
    });
    with("rec_len 0xffff", 48, &|b| {
        b[52..54].copy_from_slice(&[0xff, 0xff])
    });
    with("name_len past rec_len", 36, &|b| b[42] = 5);
    with("used entry without a name", 36, &|b| b[42] = 0);
    with("chain short of the end", size - 4, &|b| {
        b[52..54].copy_from_slice(&((size - 52) as u16).to_le_bytes())
    });
    with("all zeroes", 0, &|b| b.fill(0));
    out
}

#[test]
fn every_function_refuses_a_corrupt_block_and_writes_nothing() {
    for size in SIZES {
        let base = 5 * size as u64;
        for (what, b, at) in corrupt_blocks(size) {
            let want = Err(bad(base + at as u64));
            assert_eq!(find_slot(&b, base, true, 1).map(|_| ()), want, "{what}");
            assert_eq!(find_name(&b, base, true, b"zz").map(|_| ()), want, "{what}");
            assert_eq!(dotdot(&b, base, true).map(|_| ()), want, "{what}");
            assert_eq!(
                block_is_empty(&b, base, true, 20).map(|_| ()),
                want,
                "{what}"
            );
            // The changes, at an entry that is good itself.
            let mut after = b.clone();
            let r = insert_at(&mut after, base, true, 12, b"n", 9, 1);
            assert_eq!(r.map(|_| ()), want, "{what}");
            let r = remove_at(&mut after, base, true, 12);
            assert_eq!(r.map(|_| ()), want, "{what}");
            let r = set_ino(&mut after, base, true, 12, 9, 1);
            assert_eq!(r.map(|_| ()), want, "{what}");
            assert_eq!(after, b, "{what}");
        }
    }
}

#[test]
fn a_type_byte_without_filetype_is_a_long_name_length() {
    // Without FILETYPE, byte 7 is name_len's high byte: a "type" there
    // makes the name longer than its record.
    for size in SIZES {
        let mut b = dir_block(size, true);
        assert_eq!(find_slot(&b, 0, false, 1), Err(bad(0)));
        assert_eq!(insert_at(&mut b, 0, false, 12, b"a", 5, 0), Err(bad(0)));
        assert_eq!(b, dir_block(size, true));
    }
}

#[test]
fn a_base_at_the_end_of_u64_is_refused_not_overflowed() {
    let mut b = dir_block(1024, true);
    let base = u64::MAX - 100;
    assert_eq!(find_slot(&b, base, true, 1), Err(bad(base)));
    assert_eq!(remove_at(&mut b, base, true, 12), Err(bad(base)));
    assert_eq!(b, dir_block(1024, true));
}

// ---------------------------------------------------------------------------
// Random workloads

/// A name of a random length (1 to 255, mostly short) that no other call
/// gives: it begins with `serial`.
fn random_name(rng: &mut Rng, serial: u32) -> Vec<u8> {
    let len = if rng.below(4) == 0 {
        1 + rng.below(255) as usize
    } else {
        1 + rng.below(24) as usize
    };
    let mut name = format!("{serial}-").into_bytes();
    while name.len() < len {
        name.push(b'a' + rng.below(26) as u8);
    }
    name.truncate(len.max(format!("{serial}").len()));
    name
}

/// Whether some entry of a valid block has room for `needed` bytes,
/// worked out from the independent walk.
fn room_for(block: &[u8], filetype: bool, needed: usize) -> bool {
    chain(block, filetype).iter().any(|e| {
        let own = if e.ino == 0 {
            0
        } else {
            (e.name.len() + 11) & !3
        };
        e.rec_len >= own + needed
    })
}

/// Inserts names until one finds no slot, checking the block and the model
/// after each; gives how many went in.
fn fill(
    b: &mut [u8],
    filetype: bool,
    model: &mut Vec<(Vec<u8>, u32)>,
    rng: &mut Rng,
    serial: &mut u32,
) -> usize {
    let mut inserted = 0;
    loop {
        *serial += 1;
        let name = random_name(rng, *serial);
        let ino = 100 + *serial;
        let Some(slot) = find_slot(b, 0, filetype, name.len()).unwrap() else {
            assert!(!room_for(b, filetype, rec_len_for(name.len())));
            return inserted;
        };
        assert!(room_for(b, filetype, rec_len_for(name.len())));
        let before = b.to_vec();
        let ft = 1 + rng.below(7) as u8;
        let range = insert_at(b, 0, filetype, slot, &name, ino, ft).unwrap();
        changed_only_in(&before, b, range);
        let entry = chain(b, filetype)
            .into_iter()
            .find(|e| e.name == name && e.ino == ino)
            .unwrap();
        assert_eq!(entry.file_type, if filetype { ft } else { 0 });
        model.push((name, ino));
        inserted += 1;
        check_model(b, filetype, model);
    }
}

/// Checks that the used entries of `b` are the model's, and that each is
/// found by name.
fn check_model(b: &[u8], filetype: bool, model: &[(Vec<u8>, u32)]) {
    let mut got = used(b, filetype);
    let mut want = model.to_vec();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for (name, ino) in model {
        let (offset, found) = find_name(b, 0, filetype, name).unwrap().unwrap();
        assert_eq!(found, *ino);
        assert_eq!(le32(b, offset), *ino);
    }
}

#[test]
fn fill_remove_every_other_and_refill_agree_with_a_model() {
    for size in SIZES {
        for filetype in [true, false] {
            for seed in 1..=40u64 {
                let mut rng = Rng(seed * 0x9e37_79b9 + size as u64);
                let mut serial = 0;
                let mut b = dir_block(size, filetype);
                let mut model = vec![(b".".to_vec(), 20), (b"..".to_vec(), 2)];
                let first = fill(&mut b, filetype, &mut model, &mut rng, &mut serial);
                assert!(first > 0, "size {size} seed {seed}");
                // Remove every other name, "." and ".." kept.
                let names: Vec<_> = model[2..].iter().step_by(2).cloned().collect();
                for (name, ino) in names {
                    let (offset, found) = find_name(&b, 0, filetype, &name).unwrap().unwrap();
                    assert_eq!(found, ino);
                    let before = b.clone();
                    let range = remove_at(&mut b, 0, filetype, offset).unwrap();
                    changed_only_in(&before, &b, range);
                    model.retain(|(n, _)| *n != name);
                    check_model(&b, filetype, &model);
                    assert_eq!(find_name(&b, 0, filetype, &name), Ok(None));
                }
                assert_eq!(dotdot(&b, 0, filetype), Ok((12, 2)));
                fill(&mut b, filetype, &mut model, &mut rng, &mut serial);
                // Then all of them: an empty directory again.
                assert_eq!(block_is_empty(&b, 0, filetype, 20), Ok(false));
                for (name, _) in model.split_off(2) {
                    let (offset, _) = find_name(&b, 0, filetype, &name).unwrap().unwrap();
                    remove_at(&mut b, 0, filetype, offset).unwrap();
                    chain(&b, filetype);
                }
                check_model(&b, filetype, &model);
                assert_eq!(block_is_empty(&b, 0, filetype, 20), Ok(true));
                assert_eq!(chain(&b, filetype)[1].rec_len, size - 12);
            }
        }
    }
}

#[test]
fn a_block_from_empty_fills_and_empties_too() {
    // A later block of a directory: no "." or "..", the first entry
    // cleared rather than merged.
    for size in SIZES {
        let mut rng = Rng(size as u64 * 77 + 1);
        let mut serial = 0;
        let mut b = vec![0u8; size];
        new_empty_block(&mut b).unwrap();
        let mut model = Vec::new();
        fill(&mut b, true, &mut model, &mut rng, &mut serial);
        for (name, _) in std::mem::take(&mut model) {
            let (offset, _) = find_name(&b, 0, true, &name).unwrap().unwrap();
            remove_at(&mut b, 0, true, offset).unwrap();
            chain(&b, true);
        }
        assert_eq!(block_is_empty(&b, 0, true, 20), Ok(true));
        // Everything merged into the first entry, which is unused.
        let entries = chain(&b, true);
        assert_eq!((entries.len(), entries[0].ino), (1, 0));
    }
}

/// A change to a block, giving the range it wrote.
type Change<'a> = dyn Fn(&mut [u8]) -> Result<(usize, usize), Corrupt> + 'a;

#[test]
fn mangled_blocks_never_panic_and_stay_chains_when_changed() {
    // Random bytes written over valid blocks: every function either
    // refuses, leaving the block as it was, or leaves a valid chain.
    let (mut changed, mut refused) = (0, 0);
    for size in SIZES {
        let mut rng = Rng(size as u64 + 3);
        for round in 0..3000 {
            let filetype = round % 2 == 0;
            let mut b = five_entries(size);
            if !filetype {
                for e in chain(&b, true) {
                    b[e.offset + 7] = 0;
                }
            }
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(64) as usize;
                b[at] = rng.next() as u8;
            }
            let offset =
                [0, 12, 24, 36, 48, rng.below(size as u64 + 8) as usize][rng.below(6) as usize];
            let _ = find_slot(&b, 0, filetype, 1 + rng.below(255) as usize);
            let _ = find_name(&b, 0, filetype, b"bb");
            let _ = dotdot(&b, 0, filetype);
            let _ = block_is_empty(&b, 0, filetype, 20);
            let ops: [&Change<'_>; 3] = [
                &|b| insert_at(b, 0, filetype, offset, b"new", 9, 1),
                &|b| remove_at(b, 0, filetype, offset),
                &|b| set_ino(b, 0, filetype, offset, 9, 1),
            ];
            for op in ops {
                let mut after = b.clone();
                match op(&mut after) {
                    Ok(range) => {
                        chain(&after, filetype);
                        changed_only_in(&b, &after, range);
                        changed += 1;
                    }
                    Err(_) => {
                        assert_eq!(after, b);
                        refused += 1;
                    }
                }
            }
        }
    }
    // Both ways out were taken, many times.
    assert!(
        changed > 3000 && refused > 3000,
        "{changed} changed, {refused} refused"
    );
}

// ---------------------------------------------------------------------------
// The room hint

/// A directory of `blocks`: where a name of `len` bytes goes, searched
/// from block `first` (the block, and the offset in it), or `None` when
/// the directory must grow.
fn place(blocks: &[Vec<u8>], first: u64, len: usize) -> Option<(u64, usize)> {
    (first..blocks.len() as u64).find_map(|idx| {
        find_slot(&blocks[idx as usize], 0, true, len)
            .unwrap()
            .map(|offset| (idx, offset))
    })
}

#[test]
fn room_hint_finds_the_block_a_walk_from_the_start_finds() {
    // Names of random lengths are added and removed at random, in a
    // directory of 1 KiB blocks; every search that starts where the hint
    // says must pick the same block and entry as ext2_add_link's walk from
    // the first block.
    let mut rng = Rng(0x2007_1e55);
    let mut blocks = vec![vec![0u8; 1024]];
    init_dir_block(&mut blocks[0], 2, 2, true).unwrap();
    let mut hint = RoomHint::NONE;
    // Where each live name is: (block, offset).
    let mut live: Vec<(u64, usize)> = Vec::new();
    let mut skipped = 0u64;
    for step in 0..20_000u32 {
        if live.is_empty() || rng.below(3) != 0 {
            // Short names mostly, and now and then a long one, so that
            // blocks full for long names still have room for short ones.
            let len = if rng.below(8) == 0 {
                6 + rng.below(NAME_MAX as u64 - 6) as usize
            } else {
                6 + rng.below(8) as usize
            };
            let needed = rec_len_for(len);
            let first = hint.first_block(needed);
            let want = place(&blocks, 0, len);
            assert_eq!(place(&blocks, first, len), want, "step {step}");
            skipped += first;
            let (block, offset) = want.unwrap_or_else(|| {
                blocks.push(vec![0u8; 1024]);
                new_empty_block(blocks.last_mut().unwrap()).unwrap();
                (blocks.len() as u64 - 1, 0)
            });
            // Unique names: the step, then padding.
            let mut name = format!("{step:05}").into_bytes();
            name.resize(len, b'x');
            insert_at(
                &mut blocks[block as usize],
                0,
                true,
                offset,
                &name,
                100 + step,
                1,
            )
            .unwrap();
            hint = hint.found_room(needed, block);
            // Where the new entry starts: the slot itself if it was
            // unused, else the split's second half.
            let at = find_name(&blocks[block as usize], 0, true, &name)
                .unwrap()
                .map(|(at, _)| at)
                .unwrap();
            live.push((block, at));
        } else {
            let (block, offset) = live.swap_remove(rng.below(live.len() as u64) as usize);
            remove_at(&mut blocks[block as usize], 0, true, offset).unwrap();
            hint = hint.room_made(block);
            // A removal merges the entry into the one before it: the
            // offsets of the others stay.
        }
        assert_eq!(RoomHint::from_word(hint.to_word()), hint);
    }
    // The hint did skip blocks: the test is not passing by starting at 0.
    assert!(
        blocks.len() > 8 && skipped > 20_000,
        "{} blocks, {skipped} skipped",
        blocks.len()
    );
}

#[test]
fn find_name_in_sees_only_the_entries_that_start_in_its_range() {
    for size in SIZES {
        let mut b = vec![0u8; size];
        init_dir_block(&mut b, 2, 2, true).unwrap();
        let mut at = Vec::new();
        for (i, name) in [b"aa".as_slice(), b"bb", b"cc", b"dd"].iter().enumerate() {
            let slot = find_slot(&b, 0, true, name.len()).unwrap().unwrap();
            insert_at(&mut b, 0, true, slot, name, 10 + i as u32, 1).unwrap();
            at.push(find_name(&b, 0, true, name).unwrap().unwrap().0);
        }
        // From "bb" on: "bb", "cc" and "dd", not "aa".
        let from = at[1];
        assert_eq!(
            find_name_in(&b, 0, true, b"bb", from..size),
            Ok(Some((at[1], 11)))
        );
        assert_eq!(
            find_name_in(&b, 0, true, b"dd", from..size),
            Ok(Some((at[3], 13)))
        );
        assert_eq!(find_name_in(&b, 0, true, b"aa", from..size), Ok(None));
        // Up to "cc": "aa" and "bb", and the walk stops before "cc".
        assert_eq!(
            find_name_in(&b, 0, true, b"aa", 0..at[2]),
            Ok(Some((at[0], 10)))
        );
        assert_eq!(find_name_in(&b, 0, true, b"cc", 0..at[2]), Ok(None));
        assert_eq!(find_name_in(&b, 0, true, b"dd", 0..at[2]), Ok(None));
        // An entry past the range's end is not checked either: a corrupt
        // record after it does not fail a walk that stops before it.
        let mut damaged = b.clone();
        damaged[at[3] + 4..at[3] + 6].copy_from_slice(&[0, 0]);
        assert_eq!(find_name_in(&damaged, 0, true, b"zz", 0..at[3]), Ok(None));
        assert!(find_name_in(&damaged, 0, true, b"zz", from..size).is_err());
    }
}
