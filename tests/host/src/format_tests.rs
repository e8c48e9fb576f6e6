// SPDX-License-Identifier: GPL-2.0

//! Tests of the ext2 on-disk format (`src/ext2/format.rs`) on byte images
//! built here, checked against fs/ext2 (ext2_fill_super,
//! ext2_check_descriptors, ext2_iget, ext2_block_to_path, ext2_get_blocks,
//! ext2_check_folio).

use crate::ext2::format::{
    dir_entry, dtype, BlockPath, Corrupt, DirEntry, GroupDesc, Inode, RootProblem, SuperBlock,
    COMPAT_DIR_INDEX, COMPAT_EXT_ATTR, COMPAT_HAS_JOURNAL, COMPAT_RESIZE_INODE,
    DEFAULT_MAX_MNT_COUNT, EXT2_MAGIC, INCOMPAT_FILETYPE, RO_COMPAT_BTREE_DIR,
    RO_COMPAT_LARGE_FILE, RO_COMPAT_SPARSE_SUPER, STATE_ERROR, STATE_VALID, S_IFDIR, S_IFLNK,
    S_IFREG,
};

const PAGE: u64 = 4096;

fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

// ---------------------------------------------------------------------------
// Super block

/// The fields of a super block image; `bytes` lays them out like
/// `struct ext2_super_block`. The allocator's tests build on it too.
#[derive(Clone, Debug)]
pub(crate) struct SbImage {
    pub(crate) inodes_count: u32,
    pub(crate) blocks_count: u32,
    pub(crate) r_blocks_count: u32,
    pub(crate) free_blocks: u32,
    pub(crate) free_inodes: u32,
    pub(crate) first_data_block: u32,
    pub(crate) log_block_size: u32,
    pub(crate) blocks_per_group: u32,
    pub(crate) inodes_per_group: u32,
    pub(crate) mtime: u32,
    pub(crate) wtime: u32,
    pub(crate) mnt_count: u16,
    pub(crate) max_mnt_count: u16,
    pub(crate) magic: u16,
    pub(crate) state: u16,
    pub(crate) errors: u16,
    pub(crate) rev_level: u32,
    pub(crate) first_ino: u32,
    pub(crate) inode_size: u16,
    pub(crate) compat: u32,
    pub(crate) incompat: u32,
    pub(crate) ro_compat: u32,
    pub(crate) reserved_gdt_blocks: u16,
    pub(crate) uuid: [u8; 16],
}

impl SbImage {
    /// A valid revision 1 file system with `block_size`-byte blocks and
    /// several groups, the last one short.
    pub(crate) fn new(block_size: u64) -> Self {
        let (log, blocks_count, first_data_block, inodes_per_group): (u32, u32, u32, u32) =
            match block_size {
                // 19999 blocks after block 0 in groups of 8192: 3 groups.
                1024 => (0, 20000, 1, 1024),
                // 40000 blocks in groups of 16384: 3 groups.
                2048 => (1, 40000, 0, 2048),
                // 100000 blocks in groups of 32768: 4 groups.
                4096 => (2, 100000, 0, 8192),
                _ => panic!("no image for {block_size}-byte blocks"),
            };
        let blocks_per_group = 8 * block_size as u32;
        let groups = (blocks_count - first_data_block).div_ceil(blocks_per_group);
        Self {
            inodes_count: groups * inodes_per_group,
            blocks_count,
            r_blocks_count: blocks_count / 20,
            free_blocks: blocks_count / 2,
            free_inodes: groups * inodes_per_group - 11,
            first_data_block,
            log_block_size: log,
            blocks_per_group,
            inodes_per_group,
            mtime: 1_700_000_000,
            wtime: 1_700_000_100,
            mnt_count: 3,
            max_mnt_count: 0xffff, // -1: no limit, as mke2fs sets it
            magic: EXT2_MAGIC,
            state: STATE_VALID,
            errors: 1, // continue
            rev_level: 1,
            first_ino: 11,
            inode_size: 256,
            compat: 0x0038,
            incompat: INCOMPAT_FILETYPE,
            ro_compat: RO_COMPAT_LARGE_FILE | 0x0001,
            reserved_gdt_blocks: 0,
            uuid: *b"\x12\x34\x56\x78rext2-uuid\xab\xcd",
        }
    }

    /// The same as a revision 0 file system: no feature words; the
    /// revision 1 fields are left with values parse must ignore.
    pub(crate) fn rev0(mut self) -> Self {
        self.rev_level = 0;
        self.compat = 0;
        self.incompat = 0;
        self.ro_compat = 0;
        self.first_ino = 99;
        self.inode_size = 512;
        self.reserved_gdt_blocks = 7;
        self
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; 1024];
        put32(&mut b, 0, self.inodes_count);
        put32(&mut b, 4, self.blocks_count);
        put32(&mut b, 8, self.r_blocks_count);
        put32(&mut b, 12, self.free_blocks);
        put32(&mut b, 16, self.free_inodes);
        put32(&mut b, 20, self.first_data_block);
        put32(&mut b, 24, self.log_block_size);
        put32(&mut b, 28, self.log_block_size); // s_log_frag_size
        put32(&mut b, 32, self.blocks_per_group);
        put32(&mut b, 36, self.blocks_per_group); // s_frags_per_group
        put32(&mut b, 40, self.inodes_per_group);
        put32(&mut b, 44, self.mtime);
        put32(&mut b, 48, self.wtime);
        put16(&mut b, 52, self.mnt_count);
        put16(&mut b, 54, self.max_mnt_count);
        put16(&mut b, 56, self.magic);
        put16(&mut b, 58, self.state);
        put16(&mut b, 60, self.errors);
        put32(&mut b, 76, self.rev_level);
        put16(&mut b, 80, 1000); // s_def_resuid
        put16(&mut b, 82, 100); // s_def_resgid
        put32(&mut b, 84, self.first_ino);
        put16(&mut b, 88, self.inode_size);
        put32(&mut b, 92, self.compat);
        put32(&mut b, 96, self.incompat);
        put32(&mut b, 100, self.ro_compat);
        b[104..120].copy_from_slice(&self.uuid);
        b[120..130].copy_from_slice(b"rext2-test"); // s_volume_name
        put16(&mut b, 206, self.reserved_gdt_blocks);
        b
    }

    pub(crate) fn parse(&self) -> Result<SuperBlock, Corrupt> {
        SuperBlock::parse(&self.bytes(), PAGE)
    }

    pub(crate) fn edit(&self, f: impl FnOnce(&mut Self)) -> Self {
        let mut sb = self.clone();
        f(&mut sb);
        sb
    }
}

fn sb_1k() -> SuperBlock {
    SbImage::new(1024).parse().expect("valid 1 KiB image")
}

#[test]
fn superblock_1k_rev1_parses_every_field() {
    let sb = sb_1k();
    assert_eq!(
        sb,
        SuperBlock {
            inodes_count: 3072,
            blocks_count: 20000,
            r_blocks_count: 1000,
            def_resuid: 1000,
            def_resgid: 100,
            free_blocks: 10000,
            free_inodes: 3061,
            first_data_block: 1,
            blkbits: 10,
            blocks_per_group: 8192,
            inodes_per_group: 1024,
            rev_level: 1,
            first_ino: 11,
            inode_size: 256,
            feature_compat: 0x0038,
            feature_incompat: INCOMPAT_FILETYPE,
            feature_ro_compat: 0x0003,
            reserved_gdt_blocks: 0,
            mtime: 1_700_000_000,
            wtime: 1_700_000_100,
            mnt_count: 3,
            max_mnt_count: 0xffff,
            state: STATE_VALID,
            errors: 1,
            uuid: *b"\x12\x34\x56\x78rext2-uuid\xab\xcd",
        }
    );
    assert_eq!(sb.block_size(), 1024);
    assert_eq!(sb.groups(), 3);
    assert_eq!(sb.bytes(), 20000 * 1024);
    assert_eq!(sb.ptrs_per_block(), 256);
    // 12 + 256 + 256^2 + 256^3 blocks.
    assert_eq!(sb.max_bytes(), 16_843_020 * 1024);
    assert_eq!(sb.max_bytes(), 17_247_252_480);
    // Descriptors start in the block after the super block (block 1):
    // 32 to a 1 KiB block.
    assert_eq!(sb.desc_location(0), (2, 0));
    assert_eq!(sb.desc_location(2), (2, 64));
    assert_eq!(sb.desc_location(31), (2, 992));
    assert_eq!(sb.desc_location(33), (3, 32));
}

#[test]
fn superblock_2k_rev1_parses() {
    let sb = SbImage::new(2048).parse().unwrap();
    assert_eq!(
        (sb.blkbits, sb.first_data_block, sb.blocks_count),
        (11, 0, 40000)
    );
    assert_eq!(sb.block_size(), 2048);
    assert_eq!(sb.groups(), 3);
    assert_eq!(sb.ptrs_per_block(), 512);
    // 12 + 512 + 512^2 + 512^3 blocks.
    assert_eq!(sb.max_bytes(), 134_480_396 * 2048);
    // The super block sits inside block 0: descriptors from block 1, 64
    // to a block.
    assert_eq!(sb.desc_location(0), (1, 0));
    assert_eq!(sb.desc_location(63), (1, 63 * 32));
    assert_eq!(sb.desc_location(65), (2, 32));
}

#[test]
fn superblock_4k_rev1_parses() {
    let sb = SbImage::new(4096).parse().unwrap();
    assert_eq!((sb.blkbits, sb.first_data_block), (12, 0));
    assert_eq!((sb.inodes_per_group, sb.inodes_count), (8192, 32768));
    assert_eq!(sb.block_size(), 4096);
    assert_eq!(sb.groups(), 4);
    assert_eq!(sb.bytes(), 100000 * 4096);
    assert_eq!(sb.ptrs_per_block(), 1024);
    // 12 + 1024 + 1024^2 + 1024^3 blocks.
    assert_eq!(sb.max_bytes(), 1_074_791_436 * 4096);
    assert_eq!(sb.max_bytes(), 4_402_345_721_856);
    assert_eq!(sb.desc_location(3), (1, 96));
    assert_eq!(sb.desc_location(130), (2, 64));
}

#[test]
fn superblock_rev0_uses_fixed_first_ino_and_inode_size() {
    for bs in [1024, 2048, 4096] {
        let sb = SbImage::new(bs).rev0().parse().unwrap();
        assert_eq!(sb.rev_level, 0);
        assert_eq!(sb.first_ino, 11);
        assert_eq!(sb.inode_size, 128);
        assert_eq!(sb.reserved_gdt_blocks, 0);
        assert_eq!(
            (sb.feature_compat, sb.feature_incompat, sb.feature_ro_compat),
            (0, 0, 0)
        );
        assert_eq!(sb.block_size(), bs);
    }
}

#[test]
fn superblock_groups_round_up() {
    let img = SbImage::new(1024);
    // 8192 blocks after block 0 fill exactly one group; one more makes two.
    let one = img.edit(|s| {
        s.blocks_count = 8193;
        s.inodes_count = 1024;
    });
    assert_eq!(one.parse().unwrap().groups(), 1);
    let two = img.edit(|s| {
        s.blocks_count = 8194;
        s.inodes_count = 2048;
    });
    assert_eq!(two.parse().unwrap().groups(), 2);
}

#[test]
fn superblock_shorter_than_1024_bytes_is_refused() {
    let b = SbImage::new(1024).bytes();
    assert_eq!(SuperBlock::parse(&b[..1023], PAGE), Err(Corrupt::Geometry));
}

#[test]
fn superblock_bad_magic_is_refused() {
    let img = SbImage::new(1024).edit(|s| s.magic = 0x1234);
    assert_eq!(img.parse(), Err(Corrupt::BadMagic(0x1234)));
    let img = SbImage::new(1024).edit(|s| s.magic = 0x53EF);
    assert_eq!(img.parse(), Err(Corrupt::BadMagic(0x53EF)));
}

#[test]
fn superblock_8k_blocks_are_refused() {
    let img = SbImage::new(4096).edit(|s| s.log_block_size = 3);
    assert_eq!(img.parse(), Err(Corrupt::BlockSize(8192)));
    // Even where pages are large enough for them.
    assert_eq!(
        SuperBlock::parse(&img.bytes(), 65536),
        Err(Corrupt::BlockSize(8192))
    );
    let img = SbImage::new(4096).edit(|s| s.log_block_size = 6);
    assert_eq!(img.parse(), Err(Corrupt::BlockSize(65536)));
}

#[test]
fn superblock_absurd_log_block_size_is_refused_without_overflow() {
    let img = SbImage::new(4096).edit(|s| s.log_block_size = u32::MAX);
    assert_eq!(img.parse(), Err(Corrupt::BlockSize(0)));
}

#[test]
fn superblock_block_size_is_bounded_by_the_page_size() {
    let b = SbImage::new(4096).bytes();
    assert!(SuperBlock::parse(&b, 4096).is_ok());
    assert!(SuperBlock::parse(&b, 65536).is_ok());
    assert_eq!(SuperBlock::parse(&b, 2048), Err(Corrupt::BlockSize(4096)));
    let b = SbImage::new(2048).bytes();
    assert!(SuperBlock::parse(&b, 2048).is_ok());
    assert_eq!(SuperBlock::parse(&b, 1024), Err(Corrupt::BlockSize(2048)));
}

#[test]
fn superblock_revision_2_is_refused() {
    let img = SbImage::new(1024).edit(|s| s.rev_level = 2);
    assert_eq!(img.parse(), Err(Corrupt::Revision(2)));
}

#[test]
fn superblock_rev0_with_feature_words_is_refused() {
    let rev0 = SbImage::new(1024).rev0();
    assert_eq!(
        rev0.edit(|s| s.compat = 1).parse(),
        Err(Corrupt::Rev0Features)
    );
    assert_eq!(
        rev0.edit(|s| s.incompat = INCOMPAT_FILETYPE).parse(),
        Err(Corrupt::Rev0Features)
    );
    assert_eq!(
        rev0.edit(|s| s.ro_compat = RO_COMPAT_LARGE_FILE).parse(),
        Err(Corrupt::Rev0Features)
    );
}

#[test]
fn superblock_unknown_incompat_features_are_refused() {
    let img = SbImage::new(4096);
    // EXTENTS.
    assert_eq!(
        img.edit(|s| s.incompat = 0x40).parse(),
        Err(Corrupt::Incompat(0x40))
    );
    // Only the unknown bits are reported, FILETYPE is fine.
    assert_eq!(
        img.edit(|s| s.incompat = 0x40 | INCOMPAT_FILETYPE | 0x0004)
            .parse(),
        Err(Corrupt::Incompat(0x44))
    );
    // COMPRESSION.
    assert_eq!(
        img.edit(|s| s.incompat = 0x01).parse(),
        Err(Corrupt::Incompat(0x01))
    );
    // No INCOMPAT at all is fine, unknown COMPAT and RO_COMPAT are too
    // (the mount is read-only).
    assert!(img
        .edit(|s| {
            s.incompat = 0;
            s.compat = 0xffff_ffff;
            s.ro_compat = 0xffff_ffff;
        })
        .parse()
        .is_ok());
}

#[test]
fn superblock_inode_size_must_be_a_power_of_two_up_to_a_block() {
    let img = SbImage::new(1024);
    assert_eq!(
        img.edit(|s| s.inode_size = 100).parse(),
        Err(Corrupt::InodeSize(100))
    );
    assert_eq!(
        img.edit(|s| s.inode_size = 64).parse(),
        Err(Corrupt::InodeSize(64))
    );
    assert_eq!(
        img.edit(|s| s.inode_size = 3000).parse(),
        Err(Corrupt::InodeSize(3000))
    );
    // Inside 128..=1024 but not a power of two.
    assert_eq!(
        img.edit(|s| s.inode_size = 384).parse(),
        Err(Corrupt::InodeSize(384))
    );
    assert_eq!(
        img.edit(|s| s.inode_size = 0).parse(),
        Err(Corrupt::InodeSize(0))
    );
    assert_eq!(
        img.edit(|s| s.inode_size = 2048).parse(),
        Err(Corrupt::InodeSize(2048))
    );
    for ok in [128, 256, 512, 1024] {
        let sb = img.edit(|s| s.inode_size = ok).parse().unwrap();
        assert_eq!(sb.inode_size, u32::from(ok));
    }
    let sb = SbImage::new(4096)
        .edit(|s| s.inode_size = 4096)
        .parse()
        .unwrap();
    assert_eq!(sb.inode_size, 4096);
}

#[test]
fn superblock_bad_geometry_is_refused() {
    let img = SbImage::new(1024);
    let bad: [(&str, SbImage); 14] = [
        ("blocks_per_group 0", img.edit(|s| s.blocks_per_group = 0)),
        (
            "blocks_per_group over a bitmap",
            img.edit(|s| s.blocks_per_group = 8193),
        ),
        ("inodes_per_group 0", img.edit(|s| s.inodes_per_group = 0)),
        (
            "inodes_per_group over a bitmap",
            img.edit(|s| {
                s.inodes_per_group = 8193;
                s.inode_size = 128;
            }),
        ),
        (
            "first_data_block 0 with 1 KiB blocks",
            img.edit(|s| s.first_data_block = 0),
        ),
        (
            "first_data_block 1 with 4 KiB blocks",
            SbImage::new(4096).edit(|s| s.first_data_block = 1),
        ),
        ("no block past the first", img.edit(|s| s.blocks_count = 1)),
        ("first_ino 2", img.edit(|s| s.first_ino = 2)),
        (
            "fewer inodes than first_ino",
            img.edit(|s| s.inodes_count = 10),
        ),
        (
            "more inodes than the groups hold",
            img.edit(|s| s.inodes_count = 3 * 1024 + 1),
        ),
        (
            // ext2_fill_super's "invalid #inodes": inodes_per_group one
            // too many would read every inode past the first group from
            // another's slot (found by tests/15-fuzz.sh, seed 1, 43).
            "fewer inodes than the groups hold",
            img.edit(|s| s.inodes_count = 3 * 1024 - 1),
        ),
        (
            "inodes_per_group below a block of inodes",
            // 2 inodes of 256 bytes a group, in 1 KiB blocks.
            img.edit(|s| {
                s.inodes_per_group = 2;
                s.inodes_count = 3 * 2;
                s.first_ino = 3;
            }),
        ),
        (
            "inode table larger than the group",
            // 8192 inodes of 1 KiB in groups of 4096 1 KiB blocks.
            img.edit(|s| {
                s.blocks_per_group = 4096;
                s.blocks_count = 1 + 3 * 4096;
                s.inodes_per_group = 8192;
                s.inodes_count = 3 * 8192;
                s.inode_size = 1024;
            }),
        ),
        (
            "no room for the bitmaps beside the inode table",
            // An inode table of 253 blocks in groups of 256.
            img.edit(|s| {
                s.blocks_per_group = 256;
                s.blocks_count = 1 + 3 * 256;
                s.inodes_per_group = 253 * 8;
                s.inodes_count = 3 * 253 * 8;
                s.inode_size = 128;
            }),
        ),
    ];
    for (what, sb) in bad {
        assert_eq!(sb.parse(), Err(Corrupt::Geometry), "{what}");
    }
    // The fragment size is the block size (ext2_fill_super's "fragsize
    // log != blocksize log").
    let mut b = img.bytes();
    b[28] = 1;
    assert_eq!(SuperBlock::parse(&b, PAGE), Err(Corrupt::Geometry));
}

#[test]
fn superblock_geometry_at_its_limits_is_accepted() {
    let img = SbImage::new(1024);
    // A group as large as a bitmap block describes, a full inode count.
    let sb = img
        .edit(|s| {
            s.inodes_per_group = 8192;
            s.inodes_count = 3 * 8192;
            s.inode_size = 128;
        })
        .parse()
        .unwrap();
    assert_eq!(sb.inodes_count, 24576);
    // A single data block.
    let sb = img
        .edit(|s| {
            s.blocks_count = 2;
            s.inodes_count = 1024;
        })
        .parse()
        .unwrap();
    assert_eq!(sb.groups(), 1);
    // As few inodes as first_ino: one group of a block of inodes.
    let sb = img
        .edit(|s| {
            s.blocks_count = 1 + 8192;
            s.inodes_per_group = 8;
            s.inodes_count = 8;
            s.first_ino = 8;
            s.inode_size = 128;
        })
        .parse()
        .unwrap();
    assert_eq!(sb.first_ino, 8);
}

#[test]
fn device_smaller_than_the_filesystem_is_refused() {
    let sb = sb_1k();
    let need = 20000 * 1024;
    assert_eq!(sb.check_device(need), Ok(()));
    assert_eq!(sb.check_device(need + 4096), Ok(()));
    assert_eq!(
        sb.check_device(need - 1),
        Err(Corrupt::DeviceTooSmall {
            need,
            have: need - 1
        })
    );
    assert_eq!(
        sb.check_device(0),
        Err(Corrupt::DeviceTooSmall { need, have: 0 })
    );
}

#[test]
fn data_blocks_exclude_the_super_block_area_and_the_end() {
    let sb = sb_1k();
    assert!(!sb.valid_data_block(0));
    assert!(!sb.valid_data_block(1));
    assert!(sb.valid_data_block(2));
    assert!(sb.valid_data_block(19999));
    assert!(!sb.valid_data_block(20000));
    let sb4 = SbImage::new(4096).parse().unwrap();
    assert!(!sb4.valid_data_block(0));
    assert!(sb4.valid_data_block(1));
    assert!(!sb4.valid_data_block(100000));
}

#[test]
fn inode_location_by_group() {
    let sb = sb_1k();
    assert_eq!(sb.inode_location(0), Err(Corrupt::InodeNumber(0)));
    assert_eq!(sb.inode_location(1), Ok((0, 0)));
    assert_eq!(sb.inode_location(2), Ok((0, 256)));
    assert_eq!(sb.inode_location(1024), Ok((0, 1023 * 256)));
    assert_eq!(sb.inode_location(1025), Ok((1, 0)));
    assert_eq!(sb.inode_location(3072), Ok((2, 1023 * 256)));
    assert_eq!(sb.inode_location(3073), Err(Corrupt::InodeNumber(3073)));
}

#[test]
fn superblock_write_side_fields_are_parsed() {
    let sb = SbImage::new(4096)
        .edit(|s| {
            s.reserved_gdt_blocks = 24;
            s.state = STATE_ERROR;
            s.errors = 2;
            s.max_mnt_count = 30;
        })
        .parse()
        .unwrap();
    assert_eq!(sb.reserved_gdt_blocks, 24);
    assert_eq!((sb.mtime, sb.wtime), (1_700_000_000, 1_700_000_100));
    assert_eq!((sb.mnt_count, sb.max_mnt_count), (3, 30));
    assert_eq!((sb.state, sb.errors), (STATE_ERROR, 2));
}

#[test]
fn inode_table_blocks_round_up() {
    // 1024 inodes of 256 bytes in 1 KiB blocks.
    assert_eq!(sb_1k().inode_table_blocks(), 256);
    // 8192 inodes of 256 bytes in 4 KiB blocks.
    assert_eq!(
        SbImage::new(4096).parse().unwrap().inode_table_blocks(),
        512
    );
    // 20 inodes of 128 bytes fill two and a half 1 KiB blocks: 3.
    let odd = SbImage::new(1024).rev0().edit(|s| {
        s.inodes_per_group = 20;
        s.inodes_count = 60;
    });
    assert_eq!(odd.parse().unwrap().inode_table_blocks(), 3);
}

#[test]
fn mke2fs_default_features_are_writable() {
    // ext_attr, resize_inode, dir_index; sparse_super, large_file.
    let sb = SbImage::new(4096).parse().unwrap();
    assert_eq!(
        sb.feature_compat,
        COMPAT_EXT_ATTR | COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX
    );
    assert_eq!(sb.compat_unwritable(), 0);
    assert_eq!(sb.ro_compat_unwritable(), 0);
    // BTREE_DIR is in ext2's RO_COMPAT_SUPP, and every COMPAT bit up to
    // dir_index but the journal is harmless.
    let all_known = SbImage::new(4096).edit(|s| {
        s.compat = 0x3f & !COMPAT_HAS_JOURNAL;
        s.ro_compat = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;
    });
    let sb = all_known.parse().unwrap();
    assert_eq!((sb.compat_unwritable(), sb.ro_compat_unwritable()), (0, 0));
    // Revision 0 has no features at all.
    let sb = SbImage::new(1024).rev0().parse().unwrap();
    assert_eq!((sb.compat_unwritable(), sb.ro_compat_unwritable()), (0, 0));
}

#[test]
fn unknown_ro_compat_and_journal_keep_the_mount_read_only() {
    let img = SbImage::new(4096);
    // huge_file (0x8), dir_nlink (0x20), metadata_csum (0x400): only those
    // bits are reported.
    let sb = img.edit(|s| s.ro_compat |= 0x0428).parse().unwrap();
    assert_eq!(sb.ro_compat_unwritable(), 0x0428);
    assert_eq!(sb.compat_unwritable(), 0);
    // An ext3 file system with a clean journal mounts, but not for writing.
    let sb = img
        .edit(|s| s.compat |= COMPAT_HAS_JOURNAL)
        .parse()
        .unwrap();
    assert_eq!(sb.compat_unwritable(), COMPAT_HAS_JOURNAL);
    // sparse_super2 (0x200) moves the super block backups.
    let sb = img.edit(|s| s.compat |= 0x0200).parse().unwrap();
    assert_eq!(sb.compat_unwritable(), 0x0200);
}

#[test]
fn begin_write_mount_counts_the_mount_and_clears_valid() {
    let mut sb = SbImage::new(1024)
        .edit(|s| s.max_mnt_count = 0)
        .parse()
        .unwrap();
    assert_eq!(sb.begin_write_mount(1_800_000_000), STATE_VALID);
    assert_eq!((sb.mnt_count, sb.max_mnt_count), (4, DEFAULT_MAX_MNT_COUNT));
    assert_eq!((sb.mtime, sb.wtime), (1_800_000_000, 1_800_000_000));
    assert_eq!(sb.state, 0);
    // A file system with errors keeps them, and an existing limit (-1 here)
    // stays.
    let mut sb = SbImage::new(1024)
        .edit(|s| {
            s.state = STATE_VALID | STATE_ERROR;
            s.mnt_count = 0xffff;
        })
        .parse()
        .unwrap();
    assert_eq!(sb.begin_write_mount(5), STATE_VALID | STATE_ERROR);
    assert_eq!((sb.mnt_count, sb.max_mnt_count), (0, 0xffff));
    assert_eq!(sb.state, STATE_ERROR);
}

#[test]
fn remount_read_only_restores_the_mount_state_and_rereads_on_the_way_up() {
    // A read-write mount, then a remount read-only: the state found at the
    // mount goes back, the mount time is the remount's.
    let mut sb = sb_1k();
    let found = sb.begin_write_mount(100);
    assert!(sb.needs_check());
    sb.end_write_mount(found, 200);
    assert_eq!((sb.state, sb.mtime, sb.mnt_count), (STATE_VALID, 200, 4));
    assert!(!sb.needs_check());
    // Meanwhile e2fsck ran on the read-only file system and reset the mount
    // count; it found errors it left in place. The remount read-write takes
    // what is on disk now, then counts itself.
    let disk = SbImage::new(1024)
        .edit(|s| {
            s.mnt_count = 0;
            s.max_mnt_count = 0;
            s.state = STATE_VALID | STATE_ERROR;
            s.free_blocks = 1;
        })
        .parse()
        .unwrap();
    sb.reread_mount_fields(&disk);
    assert!(sb.needs_check());
    assert_eq!(sb.begin_write_mount(300), STATE_VALID | STATE_ERROR);
    assert_eq!(
        (sb.state, sb.mnt_count, sb.max_mnt_count, sb.mtime),
        (STATE_ERROR, 1, DEFAULT_MAX_MNT_COUNT, 300)
    );
    // The counts are the allocator's, not the disk's.
    assert_eq!(sb.free_blocks, 10000);
    // A file system that was not cleanly unmounted needs checking too.
    let mut unclean = sb_1k();
    unclean.state = 0;
    assert!(unclean.needs_check());
}

#[test]
fn statfs_overhead_counts_metadata_as_ext2_statfs_does() {
    // 1 KiB: block 0, then 3 groups with 1 descriptor block and 256 inode
    // table blocks each; with sparse_super groups 0 and 1 have a super
    // block copy and group 2 has none (ext2_bg_has_super).
    let sb = sb_1k();
    assert_eq!(sb.inode_table_blocks(), 256);
    assert_eq!(sb.statfs_overhead(), 1 + 2 * (1 + 1) + 3 * (2 + 256));
    // Without sparse_super every group has a copy.
    let sb = SbImage::new(1024)
        .edit(|s| s.ro_compat &= !RO_COMPAT_SPARSE_SUPER)
        .parse()
        .unwrap();
    assert_eq!(sb.statfs_overhead(), 1 + 3 * (1 + 1) + 3 * (2 + 256));
    // The blocks reserved for descriptor growth are not overhead here, as
    // they are not in the C ext2's figure.
    let sb = SbImage::new(1024)
        .edit(|s| s.reserved_gdt_blocks = 64)
        .parse()
        .unwrap();
    assert_eq!(sb.statfs_overhead(), 1 + 2 * (1 + 1) + 3 * (2 + 256));
    // 4 KiB: 4 groups, copies in 0, 1 and 3, inode tables of 8192 * 256
    // bytes.
    let sb = SbImage::new(4096).parse().unwrap();
    assert_eq!(sb.statfs_overhead(), 3 * (1 + 1) + 4 * (2 + 512));
    // 2 KiB: 3 groups, copies in 0 and 1, inode tables of 2048 * 256 bytes.
    let sb = SbImage::new(2048).parse().unwrap();
    assert_eq!(sb.statfs_overhead(), 2 * (1 + 1) + 3 * (2 + 256));
    // Groups 5, 7, 9, 25, 27, 49 have copies, 6 and 10 do not: 128 groups
    // of 1 KiB blocks need 4 descriptor blocks.
    let sb = SbImage::new(1024)
        .edit(|s| {
            s.blocks_count = 1 + 128 * 8192;
            s.inodes_per_group = 8;
            s.inodes_count = 128 * 8;
            s.free_inodes = 128 * 8 - 11;
        })
        .parse()
        .unwrap();
    // 0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125: 11 copies.
    assert_eq!(sb.statfs_overhead(), 1 + 11 * (1 + 4) + 128 * (2 + 2));
}

#[test]
fn superblock_keeps_the_uuid() {
    let sb = SbImage::new(4096)
        .edit(|s| s.uuid = [7; 16])
        .parse()
        .unwrap();
    assert_eq!(sb.uuid, [7; 16]);
}

#[test]
fn store_counters_round_trips_and_writes_only_its_fields() {
    let raw = SbImage::new(4096).bytes();
    let mut sb = SuperBlock::parse(&raw, PAGE).unwrap();
    sb.free_blocks = 0x0102_0304;
    sb.free_inodes = 0x0506_0708;
    sb.begin_write_mount(0x1122_3344);
    let mut out = raw.clone();
    sb.store_counters(&mut out).unwrap();
    assert_eq!(SuperBlock::parse(&out, PAGE), Ok(sb.clone()));
    let changed: Vec<usize> = (0..raw.len()).filter(|&i| raw[i] != out[i]).collect();
    let owned = [12..20, 44..56, 58..60];
    assert!(!changed.is_empty());
    assert!(changed.iter().all(|i| owned.iter().any(|r| r.contains(i))));
    // The rest of a block around it is left alone too.
    let mut block = vec![0xa5u8; 4096];
    block[..1024].copy_from_slice(&raw);
    sb.store_counters(&mut block).unwrap();
    assert!(block[1024..].iter().all(|&b| b == 0xa5));
}

#[test]
fn store_counters_into_a_short_buffer_writes_nothing() {
    let sb = sb_1k();
    let mut short = vec![0u8; 1023];
    assert_eq!(sb.store_counters(&mut short), Err(Corrupt::Geometry));
    assert!(short.iter().all(|&b| b == 0));
}

// ---------------------------------------------------------------------------
// Group descriptors

fn desc_bytes(block_bitmap: u32, inode_bitmap: u32, inode_table: u32) -> [u8; 32] {
    let mut b = [0u8; 32];
    put32(&mut b, 0, block_bitmap);
    put32(&mut b, 4, inode_bitmap);
    put32(&mut b, 8, inode_table);
    put16(&mut b, 12, 1234);
    put16(&mut b, 14, 567);
    put16(&mut b, 16, 8); // bg_used_dirs_count
    b
}

#[test]
fn group_desc_with_metadata_in_its_group_is_accepted() {
    // 1 KiB blocks, groups of 8192 from block 1: group 1 is 8193..16385.
    // Its inode table is 1024 * 256 / 1024 = 256 blocks.
    let sb = sb_1k();
    let d = GroupDesc::parse(&sb, 1, &desc_bytes(8195, 8196, 8197)).unwrap();
    assert_eq!(
        d,
        GroupDesc {
            block_bitmap: 8195,
            inode_bitmap: 8196,
            inode_table: 8197,
            free_blocks: 1234,
            free_inodes: 567,
            used_dirs: 8,
        }
    );
    // The group's first and last blocks, and a table ending at its end.
    assert!(GroupDesc::parse(&sb, 1, &desc_bytes(8193, 16384, 16385 - 256)).is_ok());
    // Group 0 starts at block 1.
    assert!(GroupDesc::parse(&sb, 0, &desc_bytes(1, 2, 3)).is_ok());
    // The last group is short: 16385..20000.
    assert!(GroupDesc::parse(&sb, 2, &desc_bytes(19999, 16385, 20000 - 256)).is_ok());
}

#[test]
fn group_desc_with_metadata_outside_its_group_is_refused() {
    let sb = sb_1k();
    let refused = Err(Corrupt::Descriptor(1));
    // Block bitmap in group 0, or one past group 1.
    assert_eq!(
        GroupDesc::parse(&sb, 1, &desc_bytes(100, 8196, 8197)),
        refused
    );
    assert_eq!(
        GroupDesc::parse(&sb, 1, &desc_bytes(16385, 8196, 8197)),
        refused
    );
    assert_eq!(
        GroupDesc::parse(&sb, 1, &desc_bytes(8192, 8196, 8197)),
        refused
    );
    // Inode bitmap outside.
    assert_eq!(
        GroupDesc::parse(&sb, 1, &desc_bytes(8195, 0, 8197)),
        refused
    );
    // Inode table starting outside, or running past the group's end.
    assert_eq!(
        GroupDesc::parse(&sb, 1, &desc_bytes(8195, 8196, 50)),
        refused
    );
    assert_eq!(
        GroupDesc::parse(&sb, 1, &desc_bytes(8195, 8196, 16385 - 255)),
        refused
    );
    // In the short last group, past blocks_count.
    assert_eq!(
        GroupDesc::parse(&sb, 2, &desc_bytes(20000, 16386, 16387)),
        Err(Corrupt::Descriptor(2))
    );
    assert_eq!(
        GroupDesc::parse(&sb, 2, &desc_bytes(16385, 16386, 20000 - 255)),
        Err(Corrupt::Descriptor(2))
    );
    // Group 0 does not include the boot block.
    assert_eq!(
        GroupDesc::parse(&sb, 0, &desc_bytes(0, 2, 3)),
        Err(Corrupt::Descriptor(0))
    );
}

#[test]
fn group_desc_shorter_than_32_bytes_is_refused() {
    let sb = sb_1k();
    let b = desc_bytes(8195, 8196, 8197);
    assert_eq!(
        GroupDesc::parse(&sb, 1, &b[..31]),
        Err(Corrupt::Descriptor(1))
    );
}

#[test]
fn group_desc_store_counts_round_trips_and_writes_only_the_counts() {
    let sb = sb_1k();
    let mut raw = desc_bytes(8195, 8196, 8197);
    // bg_pad and bg_reserved hold something; they must survive.
    for (i, b) in raw.iter_mut().enumerate().skip(18) {
        *b = i as u8;
    }
    let before = raw;
    let mut d = GroupDesc::parse(&sb, 1, &raw).unwrap();
    d.free_blocks = 0xfedc;
    d.free_inodes = 0x0102;
    d.used_dirs = 0x0304;
    d.store_counts(&mut raw).unwrap();
    assert_eq!(GroupDesc::parse(&sb, 1, &raw), Ok(d));
    assert_eq!(raw[..12], before[..12]);
    assert_eq!(raw[18..], before[18..]);
    // A short buffer is left as it is.
    let mut short = [0u8; 31];
    assert_eq!(d.store_counts(&mut short), Err(Corrupt::Geometry));
    assert_eq!(short, [0u8; 31]);
}

// ---------------------------------------------------------------------------
// Inodes

/// An on-disk inode of `mode` with `size`; the rest set by the test.
fn inode_bytes(mode: u16, size: u64) -> [u8; 128] {
    let mut b = [0u8; 128];
    put16(&mut b, 0, mode);
    put32(&mut b, 4, size as u32);
    put32(&mut b, 108, (size >> 32) as u32);
    put16(&mut b, 26, 1);
    b
}

#[test]
fn inode_fields_are_parsed() {
    let mut b = inode_bytes(S_IFREG | 0o644, 0x1234_5678);
    put16(&mut b, 2, 1000); // uid
    put32(&mut b, 8, 11); // atime
    put32(&mut b, 12, 12); // ctime
    put32(&mut b, 16, 13); // mtime
    put32(&mut b, 20, 0); // dtime
    put16(&mut b, 24, 100); // gid
    put16(&mut b, 26, 3); // links
    put32(&mut b, 28, 0x2468); // blocks
    put32(&mut b, 32, 0x10); // flags
    for i in 0..15 {
        put32(&mut b, 40 + 4 * i, 1000 + i as u32);
    }
    put32(&mut b, 100, 0xdead_beef); // generation
    put32(&mut b, 104, 777); // file_acl
    let ino = Inode::parse(&b).unwrap();
    let mut block = [0u32; 15];
    for (i, p) in block.iter_mut().enumerate() {
        *p = 1000 + i as u32;
    }
    assert_eq!(
        ino,
        Inode {
            mode: S_IFREG | 0o644,
            uid: 1000,
            gid: 100,
            size: 0x1234_5678,
            atime: 11,
            ctime: 12,
            mtime: 13,
            dtime: 0,
            links: 3,
            blocks: 0x2468,
            flags: 0x10,
            block,
            generation: 0xdead_beef,
            file_acl: 777,
        }
    );
}

#[test]
fn inode_size_high_counts_for_regular_files_only() {
    let size = (5u64 << 32) | 0x1000;
    let reg = Inode::parse(&inode_bytes(S_IFREG | 0o644, size)).unwrap();
    assert_eq!(reg.size, size);
    // In a directory the same word is i_dir_acl: not part of the size.
    let dir = Inode::parse(&inode_bytes(S_IFDIR | 0o755, size)).unwrap();
    assert_eq!(dir.size, 0x1000);
    let lnk = Inode::parse(&inode_bytes(S_IFLNK | 0o777, size)).unwrap();
    assert_eq!(lnk.size, 0x1000);
}

#[test]
fn inode_uid_and_gid_join_their_high_halves() {
    let mut b = inode_bytes(S_IFREG | 0o600, 0);
    put16(&mut b, 2, 0x5678);
    put16(&mut b, 120, 0x1234);
    put16(&mut b, 24, 0x9abc);
    put16(&mut b, 122, 0x0001);
    let ino = Inode::parse(&b).unwrap();
    assert_eq!(ino.uid, 0x1234_5678);
    assert_eq!(ino.gid, 0x0001_9abc);
}

#[test]
fn inode_shorter_than_128_bytes_is_refused() {
    let b = inode_bytes(S_IFREG, 0);
    assert_eq!(Inode::parse(&b[..127]), Err(Corrupt::Geometry));
    // A 256-byte on-disk inode parses from its first 128 bytes.
    let mut big = [0xffu8; 256];
    big[..128].copy_from_slice(&b);
    assert_eq!(Inode::parse(&big), Inode::parse(&b));
}

/// An inode with `links`, `dtime` and `mode` set (the other fields as
/// `inode_bytes` leaves them), parsed.
fn inode_with(mode: u16, links: u16, dtime: u32) -> Inode {
    let mut b = inode_bytes(mode, 0);
    put16(&mut b, 26, links);
    put32(&mut b, 20, dtime);
    Inode::parse(&b).unwrap()
}

#[test]
fn deleted_inodes_are_those_ext2_iget_calls_stale() {
    // (mode, links, dtime, deleted, links check): ext2_iget's test is
    // "no links, and no mode or a deletion time"; an inode with no links
    // but a mode and no deletion time is corrupt instead.
    let cases: [(u16, u16, u32, bool, Result<(), Corrupt>); 7] = [
        (S_IFREG | 0o644, 1, 0, false, Ok(())),
        (S_IFREG | 0o644, 0, 1_700_000_000, true, Ok(())),
        (0, 0, 0, true, Ok(())),
        (0, 0, 5, true, Ok(())),
        (
            S_IFDIR | 0o755,
            0,
            0,
            false,
            Err(Corrupt::NoLinks(S_IFDIR | 0o755)),
        ),
        // A deletion time with links left is not looked at, as in
        // ext2_iget.
        (S_IFREG | 0o644, 1, 1_700_000_000, false, Ok(())),
        (0, 3, 0, false, Ok(())),
    ];
    for (mode, links, dtime, deleted, links_ok) in cases {
        let i = inode_with(mode, links, dtime);
        assert_eq!(
            i.is_deleted(),
            deleted,
            "mode {mode:o} links {links} dtime {dtime}"
        );
        assert_eq!(
            i.check_links(),
            links_ok,
            "mode {mode:o} links {links} dtime {dtime}"
        );
    }
}

/// A root directory as mke2fs makes it: 4096 bytes, 8 sectors, 3 links.
fn root_bytes() -> [u8; 128] {
    let mut b = inode_bytes(S_IFDIR | 0o755, 4096);
    put16(&mut b, 26, 3);
    put32(&mut b, 28, 8);
    b
}

#[test]
fn root_inode_must_be_a_live_directory_with_blocks_and_a_size() {
    assert_eq!(Inode::parse(&root_bytes()).unwrap().check_root(), Ok(()));
    // ext2_fill_super's check: a directory, i_blocks and i_size non-zero.
    let not_dir = Err(Corrupt::Root(RootProblem::NotADirectory));
    let edits: [(&str, fn(&mut [u8; 128]), Result<(), Corrupt>); 8] = [
        ("a regular file", |b| put16(b, 0, S_IFREG | 0o644), not_dir),
        ("a symlink", |b| put16(b, 0, S_IFLNK | 0o777), not_dir),
        ("a directory of size 0", |b| put32(b, 4, 0), not_dir),
        ("a directory with no blocks", |b| put32(b, 28, 0), not_dir),
        // ext2_iget's checks come first: ESTALE, EFSCORRUPTED.
        (
            "deleted (no links, a deletion time)",
            |b| {
                put16(b, 26, 0);
                put32(b, 20, 1_700_000_000);
            },
            Err(Corrupt::Root(RootProblem::Deleted)),
        ),
        (
            "deleted (no links, no mode)",
            |b| {
                put16(b, 26, 0);
                put16(b, 0, 0);
            },
            Err(Corrupt::Root(RootProblem::Deleted)),
        ),
        (
            "no links, a mode, no deletion time",
            |b| put16(b, 26, 0),
            Err(Corrupt::Root(RootProblem::NoLinks)),
        ),
        // Links and a deletion time: ext2_iget does not look at dtime.
        ("a deletion time with links", |b| put32(b, 20, 5), Ok(())),
    ];
    for (what, edit, want) in edits {
        let mut b = root_bytes();
        edit(&mut b);
        assert_eq!(Inode::parse(&b).unwrap().check_root(), want, "{what}");
    }
}

/// An inode image like mke2fs and the kernel leave them: every byte that
/// `Inode` does not own holds something of its own.
fn busy_inode_bytes(mode: u16, size: u64) -> [u8; 256] {
    let mut b = [0u8; 256];
    for (i, x) in b.iter_mut().enumerate() {
        *x = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    b[..128].copy_from_slice(&inode_bytes(mode, size));
    put32(&mut b, 36, 0x0a0b_0c0d); // osd1
    put32(&mut b, 112, 0x1111_2222); // i_faddr
    put32(&mut b, 116, 0x3344_5566); // frag, fsize, pad
    put32(&mut b, 124, 0x7788_99aa); // l_i_reserved2
    b
}

/// Bytes `Inode::store` owns; `size_high` only for a regular file.
fn owned_inode_bytes(size_high: bool) -> Vec<usize> {
    let mut owned: Vec<usize> = (0..36).chain(40..108).chain(120..124).collect();
    if size_high {
        owned.extend(108..112);
    }
    owned
}

/// An inode with every field distinct and both halves of uid/gid set.
fn full_inode(mode: u16, size: u64) -> Inode {
    let mut block = [0u32; 15];
    for (i, p) in block.iter_mut().enumerate() {
        *p = 0x100 + 3 * i as u32;
    }
    Inode {
        mode,
        uid: 0x0001_03e8,
        gid: 0x0002_0064,
        size,
        atime: 0x6000_0001,
        ctime: 0x6000_0002,
        mtime: 0x6000_0003,
        dtime: 0,
        links: 2,
        blocks: 0x48,
        flags: 0x8_0000,
        block,
        generation: 0x1234_5678,
        file_acl: 0x9999,
    }
}

#[test]
fn inode_store_round_trips() {
    for (mode, size) in [
        (S_IFREG | 0o644, (7u64 << 32) | 0x89ab),
        (S_IFREG | 0o600, 0),
        (S_IFDIR | 0o755, 4096),
        (S_IFLNK | 0o777, 20),
        (0o020644, 0), // a character device: its number is in block[0]
    ] {
        let ino = full_inode(mode, size);
        let mut raw = busy_inode_bytes(mode, 123);
        ino.store(&mut raw).unwrap();
        assert_eq!(Inode::parse(&raw), Ok(ino.clone()), "mode {mode:o}");
        // Stored twice, the bytes are the same: nothing depends on them.
        let again = raw;
        ino.store(&mut raw).unwrap();
        assert_eq!(raw, again);
    }
}

#[test]
fn inode_store_writes_only_the_bytes_parse_reads() {
    for (mode, size_high) in [(S_IFREG | 0o644, true), (S_IFDIR | 0o755, false)] {
        let before = busy_inode_bytes(mode, 0);
        let mut raw = before;
        full_inode(mode, 0x1_0000_0000 * u64::from(size_high) + 77)
            .store(&mut raw)
            .unwrap();
        let owned = owned_inode_bytes(size_high);
        for i in 0..raw.len() {
            if !owned.contains(&i) {
                assert_eq!(raw[i], before[i], "mode {mode:o} byte {i}");
            }
        }
    }
}

#[test]
fn inode_store_keeps_a_directory_s_dir_acl() {
    let mut raw = busy_inode_bytes(S_IFDIR | 0o755, 0);
    put32(&mut raw, 108, 0x00c0_ffee); // i_dir_acl
    let mut dir = Inode::parse(&raw).unwrap();
    dir.size = 8192;
    dir.store(&mut raw).unwrap();
    assert_eq!(&raw[108..112], &0x00c0_ffeeu32.to_le_bytes());
    assert_eq!(Inode::parse(&raw).unwrap().size, 8192);
}

#[test]
fn inode_store_refuses_what_parse_could_not_read_back() {
    // Too short: nothing written.
    let mut short = [0u8; 127];
    assert_eq!(
        full_inode(S_IFREG, 1).store(&mut short),
        Err(Corrupt::Geometry)
    );
    assert_eq!(short, [0u8; 127]);
    // Only a regular file has i_size_high.
    let before = busy_inode_bytes(S_IFDIR | 0o755, 0);
    let mut raw = before;
    let big = 1u64 << 32;
    assert_eq!(
        full_inode(S_IFDIR | 0o755, big).store(&mut raw),
        Err(Corrupt::TooLarge(big))
    );
    assert_eq!(raw, before);
    // The largest 32-bit size is fine.
    let fits = full_inode(S_IFDIR | 0o755, u64::from(u32::MAX));
    fits.store(&mut raw).unwrap();
    assert_eq!(Inode::parse(&raw), Ok(fits));
}

/// A symlink inode whose target `t` sits in `i_block`.
fn fast_symlink(t: &[u8]) -> [u8; 128] {
    let mut b = inode_bytes(S_IFLNK | 0o777, t.len() as u64);
    b[40..40 + t.len()].copy_from_slice(t);
    b
}

#[test]
fn fast_symlink_is_detected_and_its_target_read() {
    let ino = Inode::parse(&fast_symlink(b"/etc/passwd")).unwrap();
    assert!(ino.is_fast_symlink(10));
    assert!(ino.is_fast_symlink(12));
    let (t, len) = ino.fast_symlink_target().unwrap();
    assert_eq!(&t[..len], b"/etc/passwd");
    // The longest fast target: 59 bytes.
    let long = [b'x'; 59];
    let ino = Inode::parse(&fast_symlink(&long)).unwrap();
    let (t, len) = ino.fast_symlink_target().unwrap();
    assert_eq!(&t[..len], &long[..]);
}

#[test]
fn fast_symlink_with_an_xattr_block_is_still_fast() {
    let with_sectors = |sectors: u32| {
        let mut b = fast_symlink(b"target");
        put32(&mut b, 104, 500); // file_acl
        put32(&mut b, 28, sectors);
        Inode::parse(&b).unwrap()
    };
    // Only the xattr block: 2 sectors with 1 KiB blocks, 8 with 4 KiB.
    assert!(with_sectors(2).is_fast_symlink(10));
    assert!(with_sectors(8).is_fast_symlink(12));
    // The xattr block and a data block.
    assert!(!with_sectors(4).is_fast_symlink(10));
    assert!(!with_sectors(8).is_fast_symlink(10));
    assert!(!with_sectors(16).is_fast_symlink(12));
}

#[test]
fn slow_symlink_is_not_fast() {
    let mut b = inode_bytes(S_IFLNK | 0o777, 300);
    put32(&mut b, 40, 1234); // the target's block
    put32(&mut b, 28, 2);
    let ino = Inode::parse(&b).unwrap();
    assert!(!ino.is_fast_symlink(10));
}

#[test]
fn fast_symlink_target_size_must_fit_the_block_array() {
    let mut b = fast_symlink(b"");
    put32(&mut b, 4, 60);
    let ino = Inode::parse(&b).unwrap();
    assert_eq!(
        ino.fast_symlink_target(),
        Err(Corrupt::InodeSizeMismatch(60))
    );
    let ino = Inode::parse(&fast_symlink(b"")).unwrap();
    assert_eq!(
        ino.fast_symlink_target(),
        Err(Corrupt::InodeSizeMismatch(0))
    );
    let mut b = fast_symlink(b"abc");
    put32(&mut b, 108, 1); // ignored for symlinks: still 3 bytes
    let ino = Inode::parse(&b).unwrap();
    assert_eq!(ino.size, 3);
    let (t, len) = ino.fast_symlink_target().unwrap();
    assert_eq!(&t[..len], b"abc");
}

// ---------------------------------------------------------------------------
// Block paths

fn path(depth: usize, offsets: [u64; 4]) -> Option<BlockPath> {
    Some(BlockPath { depth, offsets })
}

#[test]
fn block_path_with_256_pointers() {
    let p = 256;
    let cases = [
        (0, path(1, [0, 0, 0, 0])),
        (11, path(1, [11, 0, 0, 0])),
        (12, path(2, [12, 0, 0, 0])),
        (12 + p - 1, path(2, [12, 255, 0, 0])),
        (12 + p, path(3, [13, 0, 0, 0])),
        (12 + p + 3 * p + 7, path(3, [13, 3, 7, 0])),
        (12 + p + p * p - 1, path(3, [13, 255, 255, 0])),
        (12 + p + p * p, path(4, [14, 0, 0, 0])),
        (
            12 + p + p * p + 2 * p * p + 5 * p + 9,
            path(4, [14, 2, 5, 9]),
        ),
        (12 + p + p * p + p * p * p - 1, path(4, [14, 255, 255, 255])),
        (12 + p + p * p + p * p * p, None),
        (u64::MAX, None),
    ];
    for (lblk, want) in cases {
        assert_eq!(BlockPath::new(lblk, p), want, "lblk {lblk}");
    }
    assert_eq!(12 + p + p * p + p * p * p - 1, 16_843_019);
}

#[test]
fn block_path_with_1024_pointers() {
    let p = 1024;
    let cases = [
        (0, path(1, [0, 0, 0, 0])),
        (11, path(1, [11, 0, 0, 0])),
        (12, path(2, [12, 0, 0, 0])),
        (12 + p - 1, path(2, [12, 1023, 0, 0])),
        (12 + p, path(3, [13, 0, 0, 0])),
        (12 + p + p * p - 1, path(3, [13, 1023, 1023, 0])),
        (12 + p + p * p, path(4, [14, 0, 0, 0])),
        (
            12 + p + p * p + p * p * p - 1,
            path(4, [14, 1023, 1023, 1023]),
        ),
        (12 + p + p * p + p * p * p, None),
    ];
    for (lblk, want) in cases {
        assert_eq!(BlockPath::new(lblk, p), want, "lblk {lblk}");
    }
    assert_eq!(12 + p + p * p + p * p * p - 1, 1_074_791_435);
}

#[test]
fn left_in_last_counts_to_the_end_of_the_array() {
    // ext2_block_to_path's *boundary is left_in_last - 1.
    let p = 256;
    let left = |lblk| BlockPath::new(lblk, p).unwrap().left_in_last(p);
    assert_eq!(left(0), 12);
    assert_eq!(left(5), 7);
    assert_eq!(left(11), 1);
    assert_eq!(left(12), 256);
    assert_eq!(left(12 + 100), 156);
    assert_eq!(left(12 + p - 1), 1);
    assert_eq!(left(12 + p), 256);
    assert_eq!(left(12 + p + 3 * p + 7), 249);
    assert_eq!(left(12 + p + p * p - 1), 1);
    assert_eq!(left(12 + p + p * p), 256);
    assert_eq!(left(12 + p + p * p + p * p * p - 1), 1);
    let p = 1024;
    let left = |lblk| BlockPath::new(lblk, p).unwrap().left_in_last(p);
    assert_eq!(left(12), 1024);
    assert_eq!(left(12 + 1000), 24);
    assert_eq!(left(12 + p + p * p + 17), 1024 - 17);
}

// ---------------------------------------------------------------------------
// Directory entries

/// Writes an entry at `off` in the FILETYPE layout.
fn put_entry(b: &mut [u8], off: usize, ino: u32, rec_len: u16, name: &[u8], file_type: u8) {
    put32(b, off, ino);
    put16(b, off + 4, rec_len);
    b[off + 6] = name.len() as u8;
    b[off + 7] = file_type;
    b[off + 8..off + 8 + name.len()].copy_from_slice(name);
}

/// A 1 KiB directory block: ".", "..", "hello.txt" taking the rest.
fn dir_block() -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    put_entry(&mut b, 0, 2, 12, b".", 2);
    put_entry(&mut b, 12, 2, 12, b"..", 2);
    put_entry(&mut b, 24, 12, 1000, b"hello.txt", 1);
    b
}

#[test]
fn dir_entries_with_filetype() {
    let b = dir_block();
    let e = |off| dir_entry(&b, off, 0, true).unwrap();
    assert_eq!(
        e(0),
        DirEntry {
            ino: 2,
            rec_len: 12,
            name: b".",
            file_type: 2
        }
    );
    assert_eq!(
        e(12),
        DirEntry {
            ino: 2,
            rec_len: 12,
            name: b"..",
            file_type: 2
        }
    );
    assert_eq!(
        e(24),
        DirEntry {
            ino: 12,
            rec_len: 1000,
            name: b"hello.txt",
            file_type: 1
        }
    );
    assert_eq!(24 + e(24).rec_len, b.len());
}

#[test]
fn dir_entries_without_filetype() {
    // Revision 0 layout: a 16-bit name length, no type.
    let mut b = vec![0u8; 1024];
    put32(&mut b, 0, 2);
    put16(&mut b, 4, 12);
    put16(&mut b, 6, 1);
    b[8] = b'.';
    put32(&mut b, 12, 11);
    put16(&mut b, 16, 1012);
    put16(&mut b, 18, 10);
    b[20..30].copy_from_slice(b"lost+found");
    assert_eq!(
        dir_entry(&b, 0, 0, false),
        Ok(DirEntry {
            ino: 2,
            rec_len: 12,
            name: b".",
            file_type: 0
        })
    );
    assert_eq!(
        dir_entry(&b, 12, 0, false),
        Ok(DirEntry {
            ino: 11,
            rec_len: 1012,
            name: b"lost+found",
            file_type: 0
        })
    );
    // A FILETYPE block read without the feature: the type byte is part
    // of the name length and the entry no longer fits.
    let b = dir_block();
    assert_eq!(
        dir_entry(&b, 0, 0, false),
        Err(Corrupt::DirEntry { offset: 0 })
    );
}

#[test]
fn unused_dir_entry_is_valid() {
    let mut b = vec![0u8; 1024];
    put_entry(&mut b, 0, 0, 1024, b"", 0);
    assert_eq!(
        dir_entry(&b, 0, 0, true),
        Ok(DirEntry {
            ino: 0,
            rec_len: 1024,
            name: b"",
            file_type: 0
        })
    );
}

#[test]
fn dir_entry_name_fills_its_record() {
    // name_len + 8 == rec_len is allowed.
    let mut b = vec![0u8; 1024];
    put_entry(&mut b, 0, 5, 264, &[b'n'; 255], 1);
    let e = dir_entry(&b, 0, 0, true).unwrap();
    assert_eq!((e.rec_len, e.name.len()), (264, 255));
    put_entry(&mut b, 0, 5, 16, b"abcdefgh", 1);
    assert_eq!(dir_entry(&b, 0, 0, true).unwrap().name, b"abcdefgh");
}

#[test]
fn bad_dir_entries_are_refused() {
    // Each case: (what, offset in the block, ino, rec_len, name length).
    let cases: [(&str, usize, u32, u16, u8); 8] = [
        ("rec_len below 12, even unused", 24, 0, 8, 0),
        ("rec_len 0", 24, 12, 0, 1),
        ("rec_len not a multiple of 4", 24, 12, 14, 1),
        ("record crossing the block end", 1012, 12, 16, 1),
        ("record crossing the block end by far", 24, 12, 1004, 1),
        ("name longer than the record", 24, 12, 12, 5),
        ("name longer than a large record", 24, 12, 260, 255),
        ("used entry without a name", 24, 12, 12, 0),
    ];
    for (what, off, ino, rec_len, name_len) in cases {
        let mut b = dir_block();
        put32(&mut b, off, ino);
        put16(&mut b, off + 4, rec_len);
        b[off + 6] = name_len;
        // The offset reported is the entry's within the directory.
        assert_eq!(
            dir_entry(&b, off, 4096, true),
            Err(Corrupt::DirEntry {
                offset: 4096 + off as u64
            }),
            "{what}"
        );
    }
}

#[test]
fn dir_entry_header_past_the_block_is_refused() {
    let b = dir_block();
    for off in [1017, 1020, 1024, 2000] {
        assert_eq!(
            dir_entry(&b, off, 0, true),
            Err(Corrupt::DirEntry { offset: off as u64 }),
            "offset {off}"
        );
    }
    // The last 8 bytes can hold a header (which then is too short).
    assert_eq!(
        dir_entry(&b, 1016, 0, true),
        Err(Corrupt::DirEntry { offset: 1016 })
    );
}

#[test]
fn dir_entries_may_name_the_root_and_inodes_from_first_ino_on() {
    // 3 groups of 1024 inodes, first_ino 11.
    let sb = sb_1k();
    assert_eq!((sb.first_ino, sb.inodes_count), (11, 3072));
    for ino in [0, 2, 11, 12, 1024, 3071, 3072] {
        assert_eq!(sb.check_entry_ino(ino, 24), Ok(()), "inode {ino}");
    }
    // The reserved inodes: bad blocks (1), 3 to 6, resize (7), journal (8),
    // 9 and 10 (ext2_get_inode's "bad inode number").
    for ino in [1, 3, 4, 5, 6, 7, 8, 9, 10] {
        assert_eq!(
            sb.check_entry_ino(ino, 4096 + 24),
            Err(Corrupt::EntryReserved {
                offset: 4096 + 24,
                ino
            }),
            "inode {ino}"
        );
    }
    // Past s_inodes_count (ext2_check_folio's "inode out of bounds").
    for ino in [3073, 100_000, u32::MAX] {
        assert_eq!(
            sb.check_entry_ino(ino, 12),
            Err(Corrupt::EntryOutOfBounds { offset: 12, ino }),
            "inode {ino}"
        );
    }
}

#[test]
fn dir_entries_follow_a_larger_first_ino() {
    // A revision 1 file system whose first non-reserved inode is 20.
    let sb = SbImage::new(4096)
        .edit(|s| s.first_ino = 20)
        .parse()
        .unwrap();
    assert_eq!(sb.check_entry_ino(2, 0), Ok(()));
    assert_eq!(
        sb.check_entry_ino(11, 0),
        Err(Corrupt::EntryReserved { offset: 0, ino: 11 })
    );
    assert_eq!(
        sb.check_entry_ino(19, 0),
        Err(Corrupt::EntryReserved { offset: 0, ino: 19 })
    );
    assert_eq!(sb.check_entry_ino(20, 0), Ok(()));
    // Revision 0: first_ino is 11 whatever the field says.
    let rev0 = SbImage::new(1024).rev0().parse().unwrap();
    assert_eq!(rev0.first_ino, 11);
    assert_eq!(
        rev0.check_entry_ino(10, 0),
        Err(Corrupt::EntryReserved { offset: 0, ino: 10 })
    );
    assert_eq!(rev0.check_entry_ino(11, 0), Ok(()));
}

#[test]
fn dtype_maps_every_ext2_file_type() {
    let want = [
        (0, 0),  // unknown
        (1, 8),  // DT_REG
        (2, 4),  // DT_DIR
        (3, 2),  // DT_CHR
        (4, 6),  // DT_BLK
        (5, 1),  // DT_FIFO
        (6, 12), // DT_SOCK
        (7, 10), // DT_LNK
        (8, 0),
        (255, 0),
    ];
    for (ft, dt) in want {
        assert_eq!(dtype(ft), dt, "file type {ft}");
    }
}

#[test]
fn xattr_refcount_reads_a_valid_header_only() {
    let mut header = [0u8; 32];
    header[0..4].copy_from_slice(&0xEA02_0000u32.to_le_bytes());
    header[4..8].copy_from_slice(&3u32.to_le_bytes());
    header[8..12].copy_from_slice(&1u32.to_le_bytes());
    assert_eq!(crate::ext2::format::xattr_refcount(&header), Some(3));
    // More than one block, a wrong magic, or too short: not a header.
    let mut two_blocks = header;
    two_blocks[8] = 2;
    assert_eq!(crate::ext2::format::xattr_refcount(&two_blocks), None);
    let mut bad_magic = header;
    bad_magic[3] = 0xEB;
    assert_eq!(crate::ext2::format::xattr_refcount(&bad_magic), None);
    assert_eq!(crate::ext2::format::xattr_refcount(&header[..11]), None);
}
