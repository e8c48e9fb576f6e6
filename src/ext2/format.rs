// SPDX-License-Identifier: GPL-2.0

//! The ext2 on-disk format, parsed and checked in plain Rust.
//!
//! Everything here works on byte slices and plain integers, so the host
//! tests in `tests/host` check it without a kernel. All fields are
//! little-endian. Field offsets follow fs/ext2/ext2.h.

/// `s_magic`.
pub(crate) const EXT2_MAGIC: u16 = 0xEF53;
/// Size of the on-disk super block.
pub(crate) const SUPER_SIZE: usize = 1024;
/// Inode number of the root directory.
pub(crate) const ROOT_INO: u32 = 2;
/// Direct block pointers in an inode.
pub(crate) const NDIR_BLOCKS: usize = 12;
/// All block pointers in an inode (direct, single, double, triple).
pub(crate) const N_BLOCKS: usize = 15;
/// Size of a group descriptor.
pub(crate) const DESC_SIZE: usize = 32;

/// INCOMPAT: directory entries carry a file type.
pub(crate) const INCOMPAT_FILETYPE: u32 = 0x0002;
/// The INCOMPAT features rext2 can read.
pub(crate) const INCOMPAT_SUPPORTED: u32 = INCOMPAT_FILETYPE;

/// COMPAT: directories may be preallocated (a hint).
pub(crate) const COMPAT_DIR_PREALLOC: u32 = 0x0001;
/// COMPAT: AFS server inodes exist.
pub(crate) const COMPAT_IMAGIC_INODES: u32 = 0x0002;
/// COMPAT: the file system has an ext3 journal (named for the tests: the
/// kernel side only needs [`COMPAT_WRITABLE`]).
#[cfg(test)]
pub(crate) const COMPAT_HAS_JOURNAL: u32 = 0x0004;
/// COMPAT: inodes may have an extended attribute block (`i_file_acl`).
pub(crate) const COMPAT_EXT_ATTR: u32 = 0x0008;
/// COMPAT: inode 7 owns `s_reserved_gdt_blocks` after each descriptor table.
pub(crate) const COMPAT_RESIZE_INODE: u32 = 0x0010;
/// COMPAT: directories may carry an htree index.
pub(crate) const COMPAT_DIR_INDEX: u32 = 0x0020;
/// The COMPAT features a writer may leave as they are. A journal is not
/// among them: writing around it would leave ext3's view stale, so such a
/// file system stays read-only (the C ext2 only warns). Features newer than
/// dir_index (sparse_super2 moves the super block backups, for one) are
/// unknown to this writer, so they keep the mount read-only too.
pub(crate) const COMPAT_WRITABLE: u32 = COMPAT_DIR_PREALLOC
    | COMPAT_IMAGIC_INODES
    | COMPAT_EXT_ATTR
    | COMPAT_RESIZE_INODE
    | COMPAT_DIR_INDEX;

/// RO_COMPAT: only groups 0, 1 and powers of 3, 5 and 7 keep a copy of the
/// super block and the descriptor table.
pub(crate) const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
/// RO_COMPAT: files may be larger than 2 GiB (read-only mounts need not care).
pub(crate) const RO_COMPAT_LARGE_FILE: u32 = 0x0002;
/// RO_COMPAT: reserved for btree directories, never implemented; ext2
/// accepts it.
pub(crate) const RO_COMPAT_BTREE_DIR: u32 = 0x0004;
/// The RO_COMPAT features a writer understands: ext2's
/// `EXT2_FEATURE_RO_COMPAT_SUPP`.
pub(crate) const RO_COMPAT_WRITABLE: u32 =
    RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;

/// `s_state`: cleanly unmounted. A read-write mount clears it on disk until
/// it unmounts.
pub(crate) const STATE_VALID: u16 = 0x0001;
/// `s_state`: errors were detected.
pub(crate) const STATE_ERROR: u16 = 0x0002;
/// `s_max_mnt_count` a read-write mount sets when it finds 0 (ext2's
/// `EXT2_DFL_MAX_MNT_COUNT`).
pub(crate) const DEFAULT_MAX_MNT_COUNT: u16 = 20;
/// Bytes of an inode that every revision has: what [`Inode`] parses and
/// stores.
pub(crate) const INODE_CORE_SIZE: usize = 128;

/// Why an image is refused. Each maps to an errno and one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Corrupt {
    /// Not an ext2 super block.
    BadMagic(u16),
    /// Block size other than 1, 2 or 4 KiB (or larger than a page).
    BlockSize(u64),
    /// Revision newer than we know.
    Revision(u32),
    /// Revision 0 with feature flags or other revision-1 fields set.
    Rev0Features,
    /// INCOMPAT features we do not implement.
    Incompat(u32),
    /// Inode size not a power of two in 128..=block size.
    InodeSize(u32),
    /// Group geometry out of range.
    Geometry,
    /// The device is smaller than the block count says.
    DeviceTooSmall {
        /// Bytes the super block claims.
        need: u64,
        /// Bytes the device has.
        have: u64,
    },
    /// A group descriptor points outside its group.
    Descriptor(u32),
    /// A block pointer outside the filesystem.
    BlockPointer(u64),
    /// An inode number outside the filesystem.
    InodeNumber(u64),
    /// A directory entry with a bad record or name length.
    DirEntry {
        /// Byte offset of the entry in its directory.
        offset: u64,
    },
    /// An inode whose size disagrees with its kind or blocks.
    InodeSizeMismatch(u64),
    /// A file larger than the format allows.
    TooLarge(u64),
    /// A block bitmap marks this metadata block free.
    FreeMetadata(u64),
    /// The root inode cannot be the root of a mount (ext2_fill_super's
    /// check, or ext2_iget's on its links).
    Root(RootProblem),
    /// An inode with no links that is not deleted: it has a mode and no
    /// deletion time (ext2_iget: "filesystem may be corrupt").
    NoLinks(u16),
    /// A directory entry names a reserved inode other than the root (1 up
    /// to `first_ino - 1`: bad blocks, resize, journal, ...), which no
    /// directory may link (ext2_get_inode's "bad inode number").
    EntryReserved {
        /// Byte offset of the entry in its directory.
        offset: u64,
        /// The inode it names.
        ino: u32,
    },
    /// A directory entry names an inode past `s_inodes_count`
    /// (ext2_check_folio's "inode out of bounds").
    EntryOutOfBounds {
        /// Byte offset of the entry in its directory.
        offset: u64,
        /// The inode it names.
        ino: u32,
    },
    /// A directory entry names a deleted inode (ext2_lookup's "deleted
    /// inode referenced").
    DeletedInode(u64),
    /// A group's block bitmap and its descriptor disagree on how many
    /// blocks are free.
    FreeCount {
        /// The group.
        group: u32,
        /// Free blocks the bitmap shows.
        bitmap: u32,
        /// Free blocks the descriptor says.
        desc: u32,
    },
    /// An inode to be freed is already free in its group's inode bitmap
    /// (ext2_free_inode's "bit already cleared").
    InodeAlreadyFree(u64),
    /// The extended attribute block an inode names is not one.
    XattrBlock(u64),
}

/// What makes a root inode unusable, each with the C ext2's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RootProblem {
    /// Deleted ([`Inode::is_deleted`]): ext2_iget's `ESTALE`.
    Deleted,
    /// No links, but a mode and no deletion time: ext2_iget's
    /// `EFSCORRUPTED`.
    NoLinks,
    /// Not a directory, or a directory with no blocks or a size of 0:
    /// ext2_fill_super's "corrupt root inode", `EINVAL`.
    NotADirectory,
}

// Inlined: a directory walk reads three fields of every entry it passes.
#[inline(always)]
fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

#[inline(always)]
fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Writes `v` at `off`; callers check the length first, like `le16`'s.
fn put_le16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// Writes `v` at `off`; callers check the length first, like `le32`'s.
fn put_le32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// The super block fields rext2 uses, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SuperBlock {
    /// Inodes in the filesystem.
    pub(crate) inodes_count: u32,
    /// Blocks in the filesystem.
    pub(crate) blocks_count: u32,
    /// Blocks reserved for root.
    pub(crate) r_blocks_count: u32,
    /// The user who may use the reserved blocks besides root (the
    /// default `resuid`).
    pub(crate) def_resuid: u16,
    /// The group whose members may use them (the default `resgid`; group 0
    /// names nobody).
    pub(crate) def_resgid: u16,
    /// Free blocks.
    pub(crate) free_blocks: u32,
    /// Free inodes.
    pub(crate) free_inodes: u32,
    /// First data block (1 for 1 KiB blocks, else 0).
    pub(crate) first_data_block: u32,
    /// log2 of the block size.
    pub(crate) blkbits: u32,
    /// Blocks per group.
    pub(crate) blocks_per_group: u32,
    /// Inodes per group.
    pub(crate) inodes_per_group: u32,
    /// Revision.
    pub(crate) rev_level: u32,
    /// First non-reserved inode.
    pub(crate) first_ino: u32,
    /// On-disk inode size.
    pub(crate) inode_size: u32,
    /// Compatible features.
    pub(crate) feature_compat: u32,
    /// Incompatible features.
    pub(crate) feature_incompat: u32,
    /// Read-only compatible features.
    pub(crate) feature_ro_compat: u32,
    /// Blocks kept free after each descriptor table for online resize
    /// (`s_reserved_gdt_blocks`, revision 1 only; 0 in revision 0).
    pub(crate) reserved_gdt_blocks: u16,
    /// Last mount time (`s_mtime`).
    pub(crate) mtime: u32,
    /// Last write time (`s_wtime`).
    pub(crate) wtime: u32,
    /// Mounts since the last check (`s_mnt_count`).
    pub(crate) mnt_count: u16,
    /// Mounts allowed between checks (`s_max_mnt_count`, signed on disk:
    /// negative means no limit).
    pub(crate) max_mnt_count: u16,
    /// `STATE_VALID` and `STATE_ERROR` bits (`s_state`).
    pub(crate) state: u16,
    /// What to do on an error (`s_errors`: 1 continue, 2 remount read-only,
    /// 3 panic).
    pub(crate) errors: u16,
    /// The file system's UUID (`s_uuid`), from which `statfs` derives
    /// `f_fsid`.
    pub(crate) uuid: [u8; 16],
}

impl SuperBlock {
    /// Parses and checks the 1024-byte super block. `page_size` bounds the
    /// block size (the page cache cannot hold larger blocks here).
    pub(crate) fn parse(b: &[u8], page_size: u64) -> Result<Self, Corrupt> {
        if b.len() < SUPER_SIZE {
            return Err(Corrupt::Geometry);
        }
        let magic = le16(b, 56);
        if magic != EXT2_MAGIC {
            return Err(Corrupt::BadMagic(magic));
        }
        let log = le32(b, 24);
        if log > 2 || (1024u64 << log) > page_size {
            return Err(Corrupt::BlockSize(1024u64.checked_shl(log).unwrap_or(0)));
        }
        let blkbits = 10 + log;
        let block_size = 1u32 << blkbits;
        let rev_level = le32(b, 76);
        let (first_ino, inode_size, compat, incompat, ro_compat) = match rev_level {
            0 => {
                // A revision 0 file system has no feature words: anything in
                // them means the image is not what it says it is.
                if le32(b, 92) != 0 || le32(b, 96) != 0 || le32(b, 100) != 0 {
                    return Err(Corrupt::Rev0Features);
                }
                (11, 128, 0, 0, 0)
            }
            1 => (
                le32(b, 84),
                u32::from(le16(b, 88)),
                le32(b, 92),
                le32(b, 96),
                le32(b, 100),
            ),
            r => return Err(Corrupt::Revision(r)),
        };
        let unknown = incompat & !INCOMPAT_SUPPORTED;
        if unknown != 0 {
            return Err(Corrupt::Incompat(unknown));
        }
        if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
            return Err(Corrupt::InodeSize(inode_size));
        }
        let sb = Self {
            inodes_count: le32(b, 0),
            blocks_count: le32(b, 4),
            r_blocks_count: le32(b, 8),
            def_resuid: le16(b, 80),
            def_resgid: le16(b, 82),
            free_blocks: le32(b, 12),
            free_inodes: le32(b, 16),
            first_data_block: le32(b, 20),
            blkbits,
            blocks_per_group: le32(b, 32),
            inodes_per_group: le32(b, 40),
            rev_level,
            first_ino,
            inode_size,
            feature_compat: compat,
            feature_incompat: incompat,
            feature_ro_compat: ro_compat,
            // Where revision 0 had padding: mke2fs leaves it zero there,
            // but nothing guarantees it.
            reserved_gdt_blocks: if rev_level == 0 { 0 } else { le16(b, 206) },
            mtime: le32(b, 44),
            wtime: le32(b, 48),
            mnt_count: le16(b, 52),
            max_mnt_count: le16(b, 54),
            state: le16(b, 58),
            errors: le16(b, 60),
            uuid: {
                let mut uuid = [0u8; 16];
                uuid.copy_from_slice(&b[104..120]);
                uuid
            },
        };
        let bits_per_block = 8 * block_size;
        let inodes_per_block = block_size / inode_size;
        // ext2_fill_super's checks, each of which refuses the mount there
        // too: the fragment size is the block size; a group holds at least
        // a block of inodes, and its inode table, bitmaps and super block
        // copy with room to spare; and the inode count is exactly what the
        // groups hold (an inode is found by `inodes_per_group`: a count
        // that disagrees means that figure is wrong, and inodes would be
        // read from other inodes' slots).
        let geometry_ok = le32(b, 28) == le32(b, 24)
            && sb.blocks_per_group != 0
            && sb.blocks_per_group <= bits_per_block
            && sb.inodes_per_group >= inodes_per_block
            && sb.inodes_per_group <= bits_per_block
            && sb.blocks_per_group > sb.inodes_per_group / inodes_per_block + 3
            && sb.first_data_block == u32::from(blkbits == 10)
            && sb.blocks_count > sb.first_data_block
            && sb.first_ino > ROOT_INO
            && sb.inodes_count >= sb.first_ino
            && u64::from(sb.inodes_count)
                == u64::from(sb.groups()) * u64::from(sb.inodes_per_group);
        if !geometry_ok {
            return Err(Corrupt::Geometry);
        }
        Ok(sb)
    }

    /// Block size in bytes.
    pub(crate) fn block_size(&self) -> u64 {
        1 << self.blkbits
    }

    /// Number of block groups.
    pub(crate) fn groups(&self) -> u32 {
        // Checked: see desc_location.
        let bpg = self.blocks_per_group;
        let data_blocks = self.blocks_count.saturating_sub(self.first_data_block);
        (data_blocks.saturating_add(bpg.saturating_sub(1)))
            .checked_div(bpg)
            .unwrap_or(0)
    }

    /// Bytes the filesystem needs on its device.
    pub(crate) fn bytes(&self) -> u64 {
        u64::from(self.blocks_count) << self.blkbits
    }

    /// Checks that a device of `have` bytes holds the whole filesystem.
    pub(crate) fn check_device(&self, have: u64) -> Result<(), Corrupt> {
        if self.bytes() > have {
            return Err(Corrupt::DeviceTooSmall {
                need: self.bytes(),
                have,
            });
        }
        Ok(())
    }

    /// Block and offset of group descriptor `group`.
    pub(crate) fn desc_location(&self, group: u32) -> (u64, usize) {
        // Shifts, not a division by a runtime value: that brings a panic
        // path (division by zero) that objtool cannot follow in the kernel
        // build. Descriptors per block is a power of two.
        let shift = self.blkbits - DESC_SIZE.trailing_zeros();
        let block = u64::from(self.first_data_block) + 1 + u64::from(group >> shift);
        (block, (group & ((1 << shift) - 1)) as usize * DESC_SIZE)
    }

    /// Pointers in one indirect block.
    pub(crate) fn ptrs_per_block(&self) -> u64 {
        self.block_size() / 4
    }

    /// Largest file the block map can address (ext2_max_size, without the
    /// i_blocks limit that only matters for writes).
    pub(crate) fn max_bytes(&self) -> u64 {
        let p = self.ptrs_per_block();
        let blocks = NDIR_BLOCKS as u64 + p + p * p + p * p * p;
        (blocks << self.blkbits).min(i64::MAX as u64)
    }

    /// Whether `blk` may hold data: inside the filesystem and past the
    /// super block area.
    pub(crate) fn valid_data_block(&self, blk: u64) -> bool {
        blk > u64::from(self.first_data_block) && blk < u64::from(self.blocks_count)
    }

    /// Group and byte offset inside that group's inode table of inode `ino`.
    pub(crate) fn inode_location(&self, ino: u64) -> Result<(u32, u64), Corrupt> {
        if ino == 0 || ino > u64::from(self.inodes_count) {
            return Err(Corrupt::InodeNumber(ino));
        }
        let idx = ino - 1;
        let ipg = u64::from(self.inodes_per_group);
        let bad = Corrupt::InodeNumber(ino);
        let group = idx.checked_div(ipg).ok_or(bad)? as u32;
        let off = idx.checked_rem(ipg).ok_or(bad)? * u64::from(self.inode_size);
        Ok((group, off))
    }

    /// Checks the inode number `ino` of a directory entry at byte `offset`
    /// of its directory: 0 (an unused entry), the root, or an inode from
    /// `first_ino` to `inodes_count`. The C ext2 refuses the others too, at
    /// different places: past `inodes_count` when it checks the directory's
    /// page (ext2_check_folio), a reserved inode when the entry is looked
    /// up (ext2_get_inode through ext2_iget).
    pub(crate) fn check_entry_ino(&self, ino: u32, offset: u64) -> Result<(), Corrupt> {
        if ino > self.inodes_count {
            Err(Corrupt::EntryOutOfBounds { offset, ino })
        } else if ino != 0 && ino != ROOT_INO && ino < self.first_ino {
            Err(Corrupt::EntryReserved { offset, ino })
        } else {
            Ok(())
        }
    }

    /// Blocks of each group's inode table (ext2's `s_itb_per_group`).
    pub(crate) fn inode_table_blocks(&self) -> u64 {
        let bytes = u64::from(self.inodes_per_group) * u64::from(self.inode_size);
        (bytes + self.block_size() - 1) >> self.blkbits
    }

    /// Blocks that `statfs` leaves out of the total as metadata, as the C
    /// ext2 counts them by default (ext2_statfs without `minixdf`): those
    /// before `s_first_data_block`, each group's super block copy and
    /// descriptor table (in the groups that have them: with sparse_super,
    /// 0, 1 and the powers of 3, 5 and 7), and each group's two bitmaps and
    /// inode table. The blocks reserved for descriptor growth are not
    /// among them, as they are not in the C ext2's count.
    pub(crate) fn statfs_overhead(&self) -> u64 {
        let gdb = u64::from(super::balloc::gdt_blocks(self));
        let copies = (0..self.groups())
            .filter(|&g| super::balloc::group_has_super(self, g))
            .count() as u64;
        u64::from(self.first_data_block)
            + copies * (1 + gdb)
            + u64::from(self.groups()) * (2 + self.inode_table_blocks())
    }

    /// The COMPAT features that keep a mount read-only: those outside
    /// [`COMPAT_WRITABLE`]. 0 if none.
    pub(crate) fn compat_unwritable(&self) -> u32 {
        self.feature_compat & !COMPAT_WRITABLE
    }

    /// The RO_COMPAT features that keep a mount read-only: those outside
    /// [`RO_COMPAT_WRITABLE`], as ext2_fill_super refuses them for a
    /// read-write mount. 0 if none.
    pub(crate) fn ro_compat_unwritable(&self) -> u32 {
        self.feature_ro_compat & !RO_COMPAT_WRITABLE
    }

    /// Makes the changes a read-write mount makes as it starts
    /// (ext2_setup_super, then ext2_sync_fs): one more mount, a mount limit
    /// if there was none, the mount and write times, and `STATE_VALID`
    /// cleared, so that a crash before the unmount leaves the file system
    /// marked unchecked. Returns the state a clean unmount writes back.
    pub(crate) fn begin_write_mount(&mut self, now: u32) -> u16 {
        let mount_state = self.state;
        if self.max_mnt_count == 0 {
            self.max_mnt_count = DEFAULT_MAX_MNT_COUNT;
        }
        self.mnt_count = self.mnt_count.wrapping_add(1);
        self.mtime = now;
        self.wtime = now;
        self.state &= !STATE_VALID;
        mount_state
    }

    /// Takes the fields of the on-disk super block `disk` that someone else
    /// (e2fsck, say) may have changed while the file system was mounted
    /// read-only, before a remount read-write starts writing them again
    /// (ext2_reconfigure rereads `s_state`): the state and the mount counts.
    pub(crate) fn reread_mount_fields(&mut self, disk: &SuperBlock) {
        self.state = disk.state;
        self.mnt_count = disk.mnt_count;
        self.max_mnt_count = disk.max_mnt_count;
    }

    /// Makes the changes a remount read-only makes (ext2_reconfigure): the
    /// state the read-write mount found goes back (valid, if it was), and
    /// the mount time is now.
    pub(crate) fn end_write_mount(&mut self, mount_state: u16, now: u32) {
        self.state = mount_state;
        self.mtime = now;
    }

    /// Whether a read-write mount should warn that the file system needs
    /// checking: not cleanly unmounted, or errors found.
    pub(crate) fn needs_check(&self) -> bool {
        self.state & (STATE_VALID | STATE_ERROR) != STATE_VALID
    }

    /// Writes the fields a read-write mount changes (free counts, times,
    /// mount counts, state) into `raw`, a copy of the on-disk super block;
    /// every other byte is left as it is. The inverse of [`Self::parse`]
    /// for those fields. Nothing is written if `raw` is short.
    pub(crate) fn store_counters(&self, raw: &mut [u8]) -> Result<(), Corrupt> {
        if raw.len() < SUPER_SIZE {
            return Err(Corrupt::Geometry);
        }
        put_le32(raw, 12, self.free_blocks);
        put_le32(raw, 16, self.free_inodes);
        put_le32(raw, 44, self.mtime);
        put_le32(raw, 48, self.wtime);
        put_le16(raw, 52, self.mnt_count);
        put_le16(raw, 54, self.max_mnt_count);
        put_le16(raw, 58, self.state);
        Ok(())
    }
}

/// A group descriptor: where a group's metadata lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupDesc {
    /// Block bitmap block.
    pub(crate) block_bitmap: u32,
    /// Inode bitmap block.
    pub(crate) inode_bitmap: u32,
    /// First block of the inode table.
    pub(crate) inode_table: u32,
    /// Free blocks in the group.
    pub(crate) free_blocks: u16,
    /// Free inodes in the group.
    pub(crate) free_inodes: u16,
    /// Directories in the group (`bg_used_dirs_count`).
    pub(crate) used_dirs: u16,
}

impl GroupDesc {
    /// Parses descriptor `group` from its 32 bytes and checks that its
    /// bitmaps and inode table lie inside the group (ext2_check_descriptors).
    pub(crate) fn parse(sb: &SuperBlock, group: u32, b: &[u8]) -> Result<Self, Corrupt> {
        if b.len() < DESC_SIZE {
            return Err(Corrupt::Descriptor(group));
        }
        let d = Self {
            block_bitmap: le32(b, 0),
            inode_bitmap: le32(b, 4),
            inode_table: le32(b, 8),
            free_blocks: le16(b, 12),
            free_inodes: le16(b, 14),
            used_dirs: le16(b, 16),
        };
        let first =
            u64::from(sb.first_data_block) + u64::from(group) * u64::from(sb.blocks_per_group);
        let last = (first + u64::from(sb.blocks_per_group)).min(u64::from(sb.blocks_count));
        let inside = |b: u64| b >= first && b < last;
        let ok = inside(u64::from(d.block_bitmap))
            && inside(u64::from(d.inode_bitmap))
            && inside(u64::from(d.inode_table))
            && u64::from(d.inode_table) + sb.inode_table_blocks() <= last;
        if !ok {
            return Err(Corrupt::Descriptor(group));
        }
        Ok(d)
    }

    /// Writes the counts an allocation changes (free blocks, free inodes,
    /// directories) into `raw`, a copy of this descriptor's 32 bytes; every
    /// other byte is left as it is. Nothing is written if `raw` is short.
    pub(crate) fn store_counts(&self, raw: &mut [u8]) -> Result<(), Corrupt> {
        if raw.len() < DESC_SIZE {
            return Err(Corrupt::Geometry);
        }
        put_le16(raw, 12, self.free_blocks);
        put_le16(raw, 14, self.free_inodes);
        put_le16(raw, 16, self.used_dirs);
        Ok(())
    }
}

/// File type bits of `i_mode`.
pub(crate) const S_IFMT: u16 = 0o170000;
/// Regular file.
pub(crate) const S_IFREG: u16 = 0o100000;
/// Directory.
pub(crate) const S_IFDIR: u16 = 0o040000;
/// Symbolic link.
pub(crate) const S_IFLNK: u16 = 0o120000;

/// An on-disk inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Inode {
    /// Type and permissions.
    pub(crate) mode: u16,
    /// Owner (low and high halves joined).
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Access time.
    pub(crate) atime: u32,
    /// Change time.
    pub(crate) ctime: u32,
    /// Modification time.
    pub(crate) mtime: u32,
    /// Deletion time: non-zero on a deleted inode.
    pub(crate) dtime: u32,
    /// Links.
    pub(crate) links: u16,
    /// 512-byte sectors used.
    pub(crate) blocks: u32,
    /// Flags.
    pub(crate) flags: u32,
    /// Block pointers: 12 direct, then single, double, triple indirect.
    pub(crate) block: [u32; N_BLOCKS],
    /// Generation.
    pub(crate) generation: u32,
    /// Extended attribute block.
    pub(crate) file_acl: u32,
}

impl Inode {
    /// Parses the first 128 bytes of an on-disk inode.
    pub(crate) fn parse(b: &[u8]) -> Result<Self, Corrupt> {
        if b.len() < INODE_CORE_SIZE {
            return Err(Corrupt::Geometry);
        }
        let mode = le16(b, 0);
        let mut block = [0u32; N_BLOCKS];
        for (i, p) in block.iter_mut().enumerate() {
            *p = le32(b, 40 + 4 * i);
        }
        let size_lo = u64::from(le32(b, 4));
        // i_size_high (i_dir_acl in revision 0) extends regular files only.
        let size_hi = if mode & S_IFMT == S_IFREG {
            u64::from(le32(b, 108))
        } else {
            0
        };
        Ok(Self {
            mode,
            uid: u32::from(le16(b, 2)) | (u32::from(le16(b, 120)) << 16),
            gid: u32::from(le16(b, 24)) | (u32::from(le16(b, 122)) << 16),
            size: size_lo | (size_hi << 32),
            atime: le32(b, 8),
            ctime: le32(b, 12),
            mtime: le32(b, 16),
            dtime: le32(b, 20),
            links: le16(b, 26),
            blocks: le32(b, 28),
            flags: le32(b, 32),
            block,
            generation: le32(b, 100),
            file_acl: le32(b, 104),
        })
    }

    /// Writes this inode into `raw`, a copy of the on-disk inode: the exact
    /// inverse of [`Self::parse`]. Only the bytes parse reads are written;
    /// the rest (`osd1`, `i_faddr`, fragments, the bytes past 128) keep what
    /// is on disk, and so does `i_dir_acl` of anything but a regular file,
    /// as __ext2_write_inode keeps it. Nothing is written if `raw` is short
    /// or the size does not fit: only regular files have `i_size_high`.
    pub(crate) fn store(&self, raw: &mut [u8]) -> Result<(), Corrupt> {
        if raw.len() < INODE_CORE_SIZE {
            return Err(Corrupt::Geometry);
        }
        let regular = self.mode & S_IFMT == S_IFREG;
        if !regular && self.size > u64::from(u32::MAX) {
            return Err(Corrupt::TooLarge(self.size));
        }
        put_le16(raw, 0, self.mode);
        put_le16(raw, 2, self.uid as u16);
        put_le32(raw, 4, self.size as u32);
        put_le32(raw, 8, self.atime);
        put_le32(raw, 12, self.ctime);
        put_le32(raw, 16, self.mtime);
        put_le32(raw, 20, self.dtime);
        put_le16(raw, 24, self.gid as u16);
        put_le16(raw, 26, self.links);
        put_le32(raw, 28, self.blocks);
        put_le32(raw, 32, self.flags);
        for (i, p) in self.block.iter().enumerate() {
            put_le32(raw, 40 + 4 * i, *p);
        }
        put_le32(raw, 100, self.generation);
        put_le32(raw, 104, self.file_acl);
        if regular {
            put_le32(raw, 108, (self.size >> 32) as u32);
        }
        put_le16(raw, 120, (self.uid >> 16) as u16);
        put_le16(raw, 122, (self.gid >> 16) as u16);
        Ok(())
    }

    /// Whether the inode is deleted: no links, and no mode or a deletion
    /// time (ext2_iget's test, e2fsck's too). ext2_iget gives `ESTALE` for
    /// it, without a message: a directory entry that leads to it is what is
    /// corrupt, and the lookup says so.
    pub(crate) fn is_deleted(&self) -> bool {
        self.links == 0 && (self.mode == 0 || self.dtime != 0)
    }

    /// Checks the links of an inode that is not deleted: none, with a mode
    /// and no deletion time, is corruption (ext2_iget's `EFSCORRUPTED`).
    /// A deletion time on an inode that has links is not looked at, as
    /// ext2_iget does not look at it.
    pub(crate) fn check_links(&self) -> Result<(), Corrupt> {
        if self.links == 0 && !self.is_deleted() {
            return Err(Corrupt::NoLinks(self.mode));
        }
        Ok(())
    }

    /// Checks that this inode can be the root of a mount: what ext2_iget
    /// checks of its links, then ext2_fill_super's check, a directory with
    /// blocks and a non-zero size.
    pub(crate) fn check_root(&self) -> Result<(), Corrupt> {
        let problem = if self.is_deleted() {
            RootProblem::Deleted
        } else if self.links == 0 {
            RootProblem::NoLinks
        } else if self.mode & S_IFMT != S_IFDIR || self.blocks == 0 || self.size == 0 {
            RootProblem::NotADirectory
        } else {
            return Ok(());
        };
        Err(Corrupt::Root(problem))
    }

    /// Whether a symlink keeps its target in `block` (ext2's
    /// `ext2_inode_is_fast_symlink`: no data blocks besides an xattr block).
    pub(crate) fn is_fast_symlink(&self, blkbits: u32) -> bool {
        let ea_sectors = if self.file_acl != 0 {
            1u32 << (blkbits - 9)
        } else {
            0
        };
        self.blocks == ea_sectors
    }

    /// The target of a fast symlink: the first `size` bytes of `block`.
    pub(crate) fn fast_symlink_target(&self) -> Result<([u8; 4 * N_BLOCKS], usize), Corrupt> {
        let mut t = [0u8; 4 * N_BLOCKS];
        for (i, p) in self.block.iter().enumerate() {
            t[4 * i..4 * i + 4].copy_from_slice(&p.to_le_bytes());
        }
        let len = self.size as usize;
        if self.size >= t.len() as u64 || len == 0 {
            return Err(Corrupt::InodeSizeMismatch(self.size));
        }
        Ok((t, len))
    }
}

/// Where logical block `lblk` lives in the block map: `depth` levels of
/// offsets, the first into the inode's `block` array (ext2_block_to_path).
/// `None` if the block is beyond what the map can address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockPath {
    /// Number of valid entries in `offsets` (1 to 4).
    pub(crate) depth: usize,
    /// Index at each level.
    pub(crate) offsets: [u64; 4],
}

impl BlockPath {
    /// Computes the path of `lblk` for `ptrs` pointers per indirect block.
    pub(crate) fn new(lblk: u64, ptrs: u64) -> Option<Self> {
        // Pointers per block is a power of two (a quarter of the block
        // size): shifts and masks, no division (a division by a runtime
        // value brings a panic path that objtool cannot follow).
        if !ptrs.is_power_of_two() {
            return None;
        }
        let bits = ptrs.trailing_zeros();
        let mask = ptrs - 1;
        let direct = NDIR_BLOCKS as u64;
        let mut offsets = [0u64; 4];
        let depth;
        if lblk < direct {
            offsets[0] = lblk;
            depth = 1;
        } else if lblk - direct < ptrs {
            offsets[0] = 12;
            offsets[1] = lblk - direct;
            depth = 2;
        } else if lblk - direct - ptrs < ptrs * ptrs {
            let i = lblk - direct - ptrs;
            offsets[0] = 13;
            offsets[1] = i >> bits;
            offsets[2] = i & mask;
            depth = 3;
        } else if lblk - direct - ptrs - ptrs * ptrs < ptrs * ptrs * ptrs {
            let i = lblk - direct - ptrs - ptrs * ptrs;
            offsets[0] = 14;
            offsets[1] = i >> (2 * bits);
            offsets[2] = (i >> bits) & mask;
            offsets[3] = i & mask;
            depth = 4;
        } else {
            return None;
        }
        Some(Self { depth, offsets })
    }

    /// Pointers left in the last-level array from this block's slot on: a
    /// mapping may extend at most that far without another metadata read.
    pub(crate) fn left_in_last(&self, ptrs: u64) -> u64 {
        let last = self.offsets[self.depth - 1];
        if self.depth == 1 {
            NDIR_BLOCKS as u64 - last
        } else {
            ptrs - last
        }
    }
}

/// One directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DirEntry<'a> {
    /// Inode number; 0 for an unused entry.
    pub(crate) ino: u32,
    /// Record length: offset of the next entry.
    pub(crate) rec_len: usize,
    /// Name.
    pub(crate) name: &'a [u8],
    /// File type (FILETYPE feature), else 0.
    pub(crate) file_type: u8,
}

/// Parses the entry at `off` of directory block `b` (at byte `base` of the
/// directory, for messages), checking it like ext2_check_folio.
///
/// Every directory walk calls this on every entry it passes (the C ext2
/// checks a folio once, when it is read, and trusts it after): inlined, so
/// that the checks are a few compares in the walk's own loop.
#[inline(always)]
pub(crate) fn dir_entry(
    b: &[u8],
    off: usize,
    base: u64,
    filetype: bool,
) -> Result<DirEntry<'_>, Corrupt> {
    let bad = Corrupt::DirEntry {
        offset: base + off as u64,
    };
    // The 8-byte header in one piece: one bounds check, not one a byte.
    let header = b
        .get(off..)
        .and_then(|rest| rest.first_chunk::<8>())
        .ok_or(bad)?;
    let ino = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let rec_len = usize::from(u16::from_le_bytes([header[4], header[5]]));
    // A 64 KiB block would encode its full length as 0: not with our sizes.
    let (name_len, file_type) = if filetype {
        (usize::from(header[6]), header[7])
    } else {
        (usize::from(u16::from_le_bytes([header[6], header[7]])), 0)
    };
    if rec_len < 12 || rec_len % 4 != 0 || rec_len > b.len() - off || name_len + 8 > rec_len {
        return Err(bad);
    }
    if ino != 0 && name_len == 0 {
        return Err(bad);
    }
    Ok(DirEntry {
        ino,
        rec_len,
        name: b.get(off + 8..off + 8 + name_len).ok_or(bad)?,
        file_type,
    })
}

/// Converts an ext2 file type to a `d_type` (DT_*).
pub(crate) fn dtype(file_type: u8) -> u8 {
    match file_type {
        1 => 8,  // DT_REG
        2 => 4,  // DT_DIR
        3 => 2,  // DT_CHR
        4 => 6,  // DT_BLK
        5 => 1,  // DT_FIFO
        6 => 12, // DT_SOCK
        7 => 10, // DT_LNK
        _ => 0,  // DT_UNKNOWN
    }
}

/// Most links an inode may have (`EXT2_LINK_MAX`).
pub(crate) const LINK_MAX: u32 = 32000;

/// A directory with a hash index (`EXT2_INDEX_FL`, which ext2 names
/// `EXT2_BTREE_FL` too): the C ext2 keeps no index and clears the flag of a
/// directory it changes, and rext2 does as it does.
pub(crate) const FL_INDEX: u32 = 0x0000_1000;

/// Flags a new inode takes from its directory (`EXT2_FL_INHERITED`):
/// secure and undeletable removal, compression, sync, nodump, noatime,
/// journal data, notail, dirsync.
const FL_INHERITED: u32 = 0x0000_0001
    | 0x0000_0002
    | 0x0000_0004
    | 0x0000_0008
    | 0x0000_0040
    | 0x0000_0080
    | 0x0000_0200
    | 0x0000_0400
    | 0x0000_4000
    | 0x0000_8000
    | 0x0001_0000;

/// The top of a directory hierarchy (`EXT2_TOPDIR_FL`): its
/// subdirectories spread over the groups, as the root's do.
pub(crate) const FL_TOPDIR: u32 = 0x0002_0000;

/// Flags that mean nothing on a regular file: dirsync, topdir
/// (`EXT2_REG_FLMASK` keeps the others).
const FL_DIR_ONLY: u32 = 0x0001_0000 | FL_TOPDIR;

/// Flags that mean something on inodes other than files and directories
/// (`EXT2_OTHER_FLMASK`): nodump, noatime.
const FL_OTHER: u32 = 0x0000_0040 | 0x0000_0080;

/// The flags a new inode of mode `mode` takes from its directory's flags
/// (ext2_mask_flags over `EXT2_FL_INHERITED`).
pub(crate) fn inherited_flags(mode: u16, dir_flags: u32) -> u32 {
    let flags = dir_flags & FL_INHERITED;
    match mode & S_IFMT {
        S_IFDIR => flags,
        S_IFREG => flags & !FL_DIR_ONLY,
        _ => flags & FL_OTHER,
    }
}

/// The block pointers of a device inode for the kernel's device number
/// `rdev` (`MAJOR` in the top 12 bits, `MINOR` in the low 20): the old
/// 16-bit encoding in `i_block[0]` where it fits, the new 32-bit one in
/// `i_block[1]` otherwise, as ext2_mknod writes them.
pub(crate) fn device_pointers(rdev: u32) -> [u32; N_BLOCKS] {
    let (major, minor) = (rdev >> 20, rdev & 0xf_ffff);
    let mut block = [0u32; N_BLOCKS];
    if major < 256 && minor < 256 {
        block[0] = (major << 8) | minor;
    } else {
        block[1] = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
    }
    block
}

/// The block pointers of a fast symlink to `target` (under 60 bytes): the
/// target's bytes where the pointers are, NUL-padded.
pub(crate) fn fast_symlink_pointers(target: &[u8]) -> Option<[u32; N_BLOCKS]> {
    if target.len() >= 4 * N_BLOCKS {
        return None;
    }
    let mut bytes = [0u8; 4 * N_BLOCKS];
    bytes.get_mut(..target.len())?.copy_from_slice(target);
    let mut block = [0u32; N_BLOCKS];
    for (pointer, word) in block.iter_mut().zip(bytes.chunks_exact(4)) {
        *pointer = le32(word, 0);
    }
    Some(block)
}

/// The magic number of an extended attribute block (`EXT2_XATTR_MAGIC`).
const XATTR_MAGIC: u32 = 0xEA02_0000;

/// The header of an extended attribute block that counts how many inodes
/// share it: its reference count, if the header is valid (the magic
/// number, and one block: ext2_xattr_header_valid).
pub(crate) fn xattr_refcount(header: &[u8]) -> Option<u32> {
    if header.len() < 12 || le32(header, 0) != XATTR_MAGIC || le32(header, 8) != 1 {
        return None;
    }
    Some(le32(header, 4))
}
