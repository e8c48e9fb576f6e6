// SPDX-License-Identifier: GPL-2.0

//! Tests of the ext2 on-disk format (`src/ext2/format.rs`) on byte images
//! built here, checked against fs/ext2 (ext2_fill_super,
//! ext2_check_descriptors, ext2_iget, ext2_block_to_path, ext2_get_blocks,
//! ext2_check_folio).

use crate::ext2::format::{
    dir_entry, dtype, scan_ptrs, BlockPath, Corrupt, DirEntry, GroupDesc, Inode, PtrRun,
    SuperBlock, EXT2_MAGIC, INCOMPAT_FILETYPE, RO_COMPAT_LARGE_FILE, S_IFDIR, S_IFLNK, S_IFREG,
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
/// `struct ext2_super_block`.
#[derive(Clone, Debug)]
struct SbImage {
    inodes_count: u32,
    blocks_count: u32,
    r_blocks_count: u32,
    free_blocks: u32,
    free_inodes: u32,
    first_data_block: u32,
    log_block_size: u32,
    blocks_per_group: u32,
    inodes_per_group: u32,
    magic: u16,
    rev_level: u32,
    first_ino: u32,
    inode_size: u16,
    compat: u32,
    incompat: u32,
    ro_compat: u32,
}

impl SbImage {
    /// A valid revision 1 file system with `block_size`-byte blocks and
    /// several groups, the last one short.
    fn new(block_size: u64) -> Self {
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
            magic: EXT2_MAGIC,
            rev_level: 1,
            first_ino: 11,
            inode_size: 256,
            compat: 0x0038,
            incompat: INCOMPAT_FILETYPE,
            ro_compat: RO_COMPAT_LARGE_FILE | 0x0001,
        }
    }

    /// The same as a revision 0 file system: no feature words; the
    /// revision 1 fields are left with values parse must ignore.
    fn rev0(mut self) -> Self {
        self.rev_level = 0;
        self.compat = 0;
        self.incompat = 0;
        self.ro_compat = 0;
        self.first_ino = 99;
        self.inode_size = 512;
        self
    }

    fn bytes(&self) -> Vec<u8> {
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
        put16(&mut b, 56, self.magic);
        put16(&mut b, 58, 1); // s_state: clean
        put32(&mut b, 76, self.rev_level);
        put32(&mut b, 84, self.first_ino);
        put16(&mut b, 88, self.inode_size);
        put32(&mut b, 92, self.compat);
        put32(&mut b, 96, self.incompat);
        put32(&mut b, 100, self.ro_compat);
        b[120..130].copy_from_slice(b"rext2-test"); // s_volume_name
        b
    }

    fn parse(&self) -> Result<SuperBlock, Corrupt> {
        SuperBlock::parse(&self.bytes(), PAGE)
    }

    fn edit(&self, f: impl FnOnce(&mut Self)) -> Self {
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
        s.inodes_count = 1024;
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
    let bad: [(&str, SbImage); 11] = [
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
            "inode table larger than the group",
            // 8192 inodes of 1 KiB in groups of 4096 1 KiB blocks.
            img.edit(|s| {
                s.blocks_per_group = 4096;
                s.inodes_per_group = 8192;
                s.inodes_count = 8192;
                s.inode_size = 1024;
            }),
        ),
    ];
    for (what, sb) in bad {
        assert_eq!(sb.parse(), Err(Corrupt::Geometry), "{what}");
    }
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
    let sb = img
        .edit(|s| {
            s.first_ino = 3;
            s.inodes_count = 3;
        })
        .parse()
        .unwrap();
    assert_eq!(sb.first_ino, 3);
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
// Pointer scans

fn scan(ptrs: &[u32], max: u64, at_end: bool) -> Result<PtrRun, Corrupt> {
    scan_ptrs(&sb_1k(), ptrs.iter().copied(), max, at_end)
}

fn mapped(pblk: u64, len: u64, boundary: bool) -> Result<PtrRun, Corrupt> {
    Ok(PtrRun::Mapped {
        pblk,
        len,
        boundary,
    })
}

#[test]
fn scan_hole_runs() {
    assert_eq!(
        scan(&[0, 0, 0, 5, 6], 10, false),
        Ok(PtrRun::Hole { len: 3 })
    );
    assert_eq!(scan(&[0], 10, true), Ok(PtrRun::Hole { len: 1 }));
    // Stopped by max, and holes are never boundaries.
    assert_eq!(scan(&[0; 8], 5, false), Ok(PtrRun::Hole { len: 5 }));
    assert_eq!(scan(&[0; 8], 8, true), Ok(PtrRun::Hole { len: 8 }));
}

#[test]
fn scan_contiguous_runs() {
    assert_eq!(
        scan(&[100, 101, 102, 200], 10, false),
        mapped(100, 3, false)
    );
    assert_eq!(scan(&[100, 101, 0, 102], 10, false), mapped(100, 2, false));
    assert_eq!(scan(&[100, 99, 100], 10, false), mapped(100, 1, false));
    assert_eq!(scan(&[100, 100], 10, false), mapped(100, 1, false));
    assert_eq!(scan(&[19999], 1, false), mapped(19999, 1, false));
}

#[test]
fn scan_runs_stop_at_max() {
    let ptrs: Vec<u32> = (100..120).collect();
    assert_eq!(scan(&ptrs, 4, false), mapped(100, 4, false));
    assert_eq!(scan(&ptrs, 1, false), mapped(100, 1, false));
    // max 0 still maps the first block.
    assert_eq!(scan(&ptrs, 0, false), mapped(100, 1, false));
}

#[test]
fn scan_boundary_only_at_the_end_of_the_array() {
    // The run uses up the array: boundary.
    assert_eq!(scan(&[100, 101, 102], 3, true), mapped(100, 3, true));
    assert_eq!(scan(&[100, 101, 102], 10, true), mapped(100, 3, true));
    assert_eq!(scan(&[7], 1, true), mapped(7, 1, true));
    // Not the array's end (the caller clamped max below it).
    assert_eq!(scan(&[100, 101, 102], 3, false), mapped(100, 3, false));
    // The run breaks before the end.
    assert_eq!(scan(&[100, 101, 300], 3, true), mapped(100, 2, false));
    assert_eq!(scan(&[100, 101, 0], 3, true), mapped(100, 2, false));
}

#[test]
fn scan_pointer_outside_the_filesystem_is_refused() {
    assert_eq!(scan(&[20000], 1, false), Err(Corrupt::BlockPointer(20000)));
    assert_eq!(
        scan(&[u32::MAX], 1, false),
        Err(Corrupt::BlockPointer(u64::from(u32::MAX)))
    );
    // The super block and boot block are no data.
    assert_eq!(scan(&[1, 2], 2, false), Err(Corrupt::BlockPointer(1)));
    // A run that walks off the end.
    assert_eq!(
        scan(&[19998, 19999, 20000, 20001], 4, false),
        Err(Corrupt::BlockPointer(20001))
    );
    // A bad pointer after the run is for the next scan.
    assert_eq!(
        scan(&[19998, 19999, 0, 50000], 4, false),
        mapped(19998, 2, false)
    );
}

#[test]
fn scan_of_nothing_is_refused() {
    assert_eq!(scan(&[], 4, true), Err(Corrupt::Geometry));
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
