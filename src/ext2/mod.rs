// SPDX-License-Identifier: GPL-2.0

//! rext2: the ext2 on-disk format, read-only, served through rmpage's read
//! engine.
//!
//! Metadata (super block, group descriptors, inodes, indirect blocks) is
//! read through the buffer cache. File data, and directory blocks (as in the
//! C ext2), go through the page cache and the engine in [`crate::mpage`]
//! (or, with `engine=c`, the kernel's C fs/mpage.c with the same block
//! mapper).

pub(crate) mod format;

use crate::{
    mpage::{
        self,
        plan::{MapKind, Mapping},
        Mapper, ReadTarget, Stats, StatsView,
    },
    rust_bindings::{
        debugfs::Root,
        folio::LockedFolio,
        fs::{self as vfs, BlockRun, DirEmitter, FileSystem, StatFs, SuperParams},
        inode::{Inode, InodeKind, InodeParams},
        readahead::Readahead,
        super_block::{New, SuperBlock},
    },
    Engine,
};
use format::{Corrupt, GroupDesc, PtrRun};
use kernel::{
    debugfs,
    page::{PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc,
    },
};

/// The rext2 filesystem type.
pub(crate) struct Rext2;

/// Per-mount state.
pub(crate) struct SbInfo {
    sb: format::SuperBlock,
    groups: KVec<GroupDesc>,
    engine: Engine,
    pub(crate) stats: Arc<Stats>,
    // `/sys/kernel/debug/rext2/<device>/stats`; the file goes before its
    // directory.
    _stats_file: Option<Pin<KBox<debugfs::File<StatsView>>>>,
    _debugfs_dir: Option<debugfs::Dir>,
}

/// Per-inode state: the block map.
pub(crate) struct InodeInfo {
    block: [u32; format::N_BLOCKS],
    /// A corruption of this inode was logged: say it once, not on every
    /// retry of every reader.
    reported: Atomic<bool>,
}

/// Logs a corruption found in an inode's metadata (its block map or, for a
/// directory, its entries) once per inode, and gives its errno.
fn corrupt_inode(inode: &Inode<Rext2>, c: Corrupt) -> Error {
    if inode.data().reported.xchg(true, Relaxed) {
        return errno(c);
    }
    corrupt(inode.super_block(), inode.ino(), c)
}

/// Logs one `rext2:` line for a corruption and gives its errno.
fn corrupt<T: FileSystem, S>(sb: &SuperBlock<T, S>, ino: u64, c: Corrupt) -> Error {
    let dev = sb.id();
    match c {
        Corrupt::BadMagic(m) => pr_err!("rext2: {dev}: bad magic number {m:#06x}\n"),
        Corrupt::BlockSize(b) => pr_err!("rext2: {dev}: unsupported block size {b}\n"),
        Corrupt::Revision(r) => pr_err!("rext2: {dev}: unsupported revision {r}\n"),
        Corrupt::Rev0Features => {
            pr_err!("rext2: {dev}: revision 0 file system with feature flags set\n")
        }
        Corrupt::Incompat(f) => pr_err!("rext2: {dev}: unsupported INCOMPAT features {f:#x}\n"),
        Corrupt::InodeSize(s) => pr_err!("rext2: {dev}: bad inode size {s}\n"),
        Corrupt::Geometry => pr_err!("rext2: {dev}: bad geometry in super block\n"),
        Corrupt::DeviceTooSmall { need, have } => {
            pr_err!("rext2: {dev}: device has {have} bytes, file system needs {need}\n")
        }
        Corrupt::Descriptor(g) => pr_err!("rext2: {dev}: group descriptor {g} is corrupt\n"),
        Corrupt::BlockPointer(b) => {
            pr_err!("rext2: {dev}: inode {ino}: block pointer {b} outside the file system\n")
        }
        Corrupt::InodeNumber(i) => pr_err!("rext2: {dev}: inode {ino}: bad inode number {i}\n"),
        Corrupt::DirEntry { offset } => {
            pr_err!("rext2: {dev}: directory {ino}: bad entry at offset {offset}\n")
        }
        Corrupt::InodeSizeMismatch(s) => {
            pr_err!("rext2: {dev}: inode {ino}: size {s} disagrees with its kind or blocks\n")
        }
        Corrupt::TooLarge(s) => pr_err!("rext2: {dev}: inode {ino}: size {s} too large\n"),
    }
    errno(c)
}

/// The errno for a corruption: what mount refuses is EINVAL, like the C
/// ext2; what is found at run time is EUCLEAN (the kernel's EFSCORRUPTED).
fn errno(c: Corrupt) -> Error {
    match c {
        Corrupt::BadMagic(_)
        | Corrupt::BlockSize(_)
        | Corrupt::Revision(_)
        | Corrupt::Rev0Features
        | Corrupt::Incompat(_)
        | Corrupt::InodeSize(_)
        | Corrupt::Geometry
        | Corrupt::DeviceTooSmall { .. }
        | Corrupt::Descriptor(_) => EINVAL,
        _ => EUCLEAN,
    }
}

impl SbInfo {
    fn info(sb: &SuperBlock<Rext2>) -> &Self {
        sb.data()
    }
}

/// The block mapper of one inode: ext2's indirect block map.
struct BlockMap<'a> {
    inode: &'a Inode<Rext2>,
}

impl BlockMap<'_> {
    /// Maps `lblk` and up to `max - 1` following blocks of one kind, reading
    /// indirect blocks through the buffer cache (ext2_get_blocks, read-only).
    fn map_run(&self, lblk: u64, max: u64) -> Result<PtrRun> {
        let sbv = self.inode.super_block();
        let info = SbInfo::info(sbv);
        let fs = &info.sb;
        let ptrs = fs.ptrs_per_block();
        let Some(path) = format::BlockPath::new(lblk, ptrs) else {
            return Err(corrupt_inode(
                self.inode,
                Corrupt::TooLarge(lblk << fs.blkbits),
            ));
        };
        let left = path.left_in_last(ptrs);
        let max = max.clamp(1, left);
        let block = &self.inode.data().block;
        if path.depth == 1 {
            let start = path.offsets[0] as usize;
            let it = block[start..format::NDIR_BLOCKS].iter().copied();
            return format::scan_ptrs(fs, it, max, max == left)
                .map_err(|c| corrupt_inode(self.inode, c));
        }
        // Walk down the indirect blocks.
        let mut ptr = u64::from(block[path.offsets[0] as usize]);
        let mut bh = None;
        for level in 1..path.depth {
            if ptr == 0 {
                // A missing indirect block: everything under it is a hole,
                // at least up to the end of the last-level array.
                return Ok(PtrRun::Hole { len: max });
            }
            if !fs.valid_data_block(ptr) {
                return Err(corrupt_inode(self.inode, Corrupt::BlockPointer(ptr)));
            }
            let b = sbv.bread(ptr)?;
            let off = path.offsets[level] as usize * 4;
            if level + 1 < path.depth {
                let mut p = [0u8; 4];
                b.read(off, &mut p)?;
                ptr = u64::from(u32::from_le_bytes(p));
            } else {
                bh = Some((b, off));
            }
        }
        let Some((b, off)) = bh else {
            return Err(EUCLEAN);
        };
        format::scan_ptrs(fs, b.le32s(off), max, max == left)
            .map_err(|c| corrupt_inode(self.inode, c))
    }
}

impl Mapper for BlockMap<'_> {
    fn map(&self, lblk: u64, max_blocks: u64) -> Result<Mapping> {
        let (len, kind) = match self.map_run(lblk, max_blocks)? {
            PtrRun::Hole { len } => (len, MapKind::Hole),
            PtrRun::Mapped {
                pblk,
                len,
                boundary,
            } => (len, MapKind::Mapped { pblk, boundary }),
        };
        let mut m = Mapping {
            lblk,
            len,
            kind,
            filled: false,
            // Read-only: nothing is ever allocated.
            new: false,
        };
        // Testing (debug_filled_block): that one block comes back in a
        // mapping of its own, said to be filled, as a get_block that copies
        // a block's data into the page itself answers for that block only.
        if let Some(b) = crate::debug_filled_block().filter(|&b| b >= lblk && b - lblk < len) {
            if b > lblk {
                m.len = b - lblk;
            } else {
                m.len = 1;
                m.filled = true;
            }
            if m.len < len {
                // Cut short: the run goes on, so this is no boundary.
                if let MapKind::Mapped { boundary, .. } = &mut m.kind {
                    *boundary = false;
                }
            }
        }
        Ok(m)
    }

    fn may_fill(&self) -> bool {
        crate::debug_filled_block().is_some()
    }
}

impl Rext2 {
    fn read_group_descs(
        sb: &SuperBlock<Self, New>,
        fs: &format::SuperBlock,
    ) -> Result<KVec<GroupDesc>> {
        let n = fs.groups();
        let mut groups = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        let mut cur: Option<(u64, crate::rust_bindings::buffer_head::BufferHead)> = None;
        for g in 0..n {
            let (blk, off) = fs.desc_location(g);
            if cur.as_ref().map(|(b, _)| *b) != Some(blk) {
                if blk >= u64::from(fs.blocks_count) {
                    return Err(corrupt(sb, 0, Corrupt::Descriptor(g)));
                }
                cur = Some((blk, sb.bread(blk)?));
            }
            let Some((_, bh)) = cur.as_ref() else {
                return Err(EIO);
            };
            let mut raw = [0u8; format::DESC_SIZE];
            bh.read(off, &mut raw)?;
            let d = GroupDesc::parse(fs, g, &raw).map_err(|c| corrupt(sb, 0, c))?;
            groups.push(d, GFP_KERNEL)?;
        }
        Ok(groups)
    }

    fn target<'a>(
        inode: &'a Inode<Self>,
        mapper: &'a BlockMap<'a>,
        fallback: &'a dyn Fn(LockedFolio) -> Result,
    ) -> ReadTarget<'a, BlockMap<'a>> {
        let sb = inode.super_block();
        ReadTarget {
            bdev: sb.bdev(),
            blkbits: inode.blkbits(),
            i_size: inode.size(),
            mapper,
            stats: &SbInfo::info(sb).stats,
            fallback,
        }
    }

    /// Calls `f(idx, block)` on the blocks of directory `dir` from block
    /// `first` on, in order, until it returns `Some`. The blocks come from
    /// the directory's page cache (so through the read engine), as the C
    /// ext2 reads its directories, one page lookup for all the blocks of a
    /// page. A hole reads as zeroes, which the entry parser refuses like any
    /// other corrupt block.
    fn walk_dir_blocks<R>(
        dir: &Inode<Self>,
        first: u64,
        mut f: impl FnMut(u64, &[u8]) -> Result<Option<R>>,
    ) -> Result<Option<R>> {
        // Block sizes are powers of two, at most a page (the super block
        // check sees to it): shifts and masks, no division, and a block
        // never straddles two pages.
        let bits = dir.blkbits();
        let nblocks = dir.size() >> bits;
        let mut idx = first;
        while idx < nblocks {
            let page = (idx << bits) >> PAGE_SHIFT;
            let folio = dir.read_mapping_folio(page)?;
            // A large folio may begin before the page we asked for.
            let n = usize::try_from(page.checked_sub(folio.index()).ok_or(EIO)?)?;
            let found = folio.with_page(n, |p| -> Result<Option<R>> {
                while idx < nblocks && (idx << bits) >> PAGE_SHIFT == page {
                    let off = ((idx << bits) as usize) & (PAGE_SIZE - 1);
                    let block = p.get(off..off + (1usize << bits)).ok_or(EIO)?;
                    if let Some(r) = f(idx, block)? {
                        return Ok(Some(r));
                    }
                    idx += 1;
                }
                Ok(None)
            })??;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    fn has_filetype(sb: &SuperBlock<Self>) -> bool {
        SbInfo::info(sb).sb.feature_incompat & format::INCOMPAT_FILETYPE != 0
    }
}

impl FileSystem for Rext2 {
    const NAME: &'static CStr = c"rext2";
    type Data = SbInfo;
    type InodeData = InodeInfo;

    fn fill_super(sb: &SuperBlock<Self, New>) -> Result<SuperParams<SbInfo>> {
        if !sb.is_read_only() {
            pr_err!(
                "rext2: {}: read-write mounts are not supported yet; mount with -o ro\n",
                sb.id()
            );
            return Err(EROFS);
        }
        // The super block sits at byte 1024 whatever the block size: read it
        // with 1 KiB blocks first, then switch to the real size.
        sb.set_block_size(1024).inspect_err(|_| {
            pr_err!("rext2: {}: device cannot do 1 KiB blocks\n", sb.id());
        })?;
        // The super block is 1024 bytes, copied out of the buffer cache.
        let mut raw = KVec::from_elem(0u8, 1024, GFP_KERNEL)?;
        sb.bread(1)?.read(0, &mut raw)?;
        let fs =
            format::SuperBlock::parse(&raw, PAGE_SIZE as u64).map_err(|c| corrupt(sb, 0, c))?;
        fs.check_device(sb.bdev().nr_bytes())
            .map_err(|c| corrupt(sb, 0, c))?;
        if fs.block_size() != 1024 {
            sb.set_block_size(fs.block_size() as u32).inspect_err(|_| {
                pr_err!(
                    "rext2: {}: device cannot do {} byte blocks\n",
                    sb.id(),
                    fs.block_size()
                );
            })?;
            // Re-read at the new size and make sure it is the same image.
            sb.bread(0)?.read(1024, &mut raw)?;
            let again =
                format::SuperBlock::parse(&raw, PAGE_SIZE as u64).map_err(|c| corrupt(sb, 0, c))?;
            if again != fs {
                pr_err!("rext2: {}: super block changed while mounting\n", sb.id());
                return Err(EINVAL);
            }
        }
        let groups = Self::read_group_descs(sb, &fs)?;
        let engine = crate::engine_param();
        pr_info!(
            "rext2: {}: mounted read-only, {} byte blocks, {} groups, {} engine\n",
            sb.id(),
            fs.block_size(),
            fs.groups(),
            engine.name()
        );
        let stats = Arc::new(Stats::new(), GFP_KERNEL)?;
        let dir = Root::subdir(sb.id());
        let stats_file = match &dir {
            Some(dir) => {
                let view = StatsView {
                    engine: engine.name(),
                    stats: stats.clone(),
                };
                Some(KBox::pin_init(
                    dir.read_only_file(c"stats", view),
                    GFP_KERNEL,
                )?)
            }
            None => None,
        };
        Ok(SuperParams {
            magic: u64::from(format::EXT2_MAGIC),
            max_bytes: fs.max_bytes(),
            root_ino: u64::from(format::ROOT_INO),
            data: SbInfo {
                sb: fs,
                groups,
                engine,
                stats,
                _stats_file: stats_file,
                _debugfs_dir: dir,
            },
        })
    }

    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<InodeInfo>> {
        let info = SbInfo::info(sb);
        let fs = &info.sb;
        let (group, off) = fs.inode_location(ino).map_err(|c| corrupt(sb, ino, c))?;
        let gd = info.groups.get(group as usize).ok_or(EUCLEAN)?;
        let blk = u64::from(gd.inode_table) + (off >> fs.blkbits);
        let at = (off & (fs.block_size() - 1)) as usize;
        // The fields rext2 reads are in the first 128 bytes of every inode
        // size the format allows.
        let mut bytes = [0u8; 128];
        sb.bread(blk)?.read(at, &mut bytes)?;
        let raw = format::Inode::parse(&bytes).map_err(|c| corrupt(sb, ino, c))?;
        if raw.links == 0 || raw.dtime != 0 {
            // A deleted inode reached through a directory entry.
            return Err(corrupt(sb, ino, Corrupt::InodeNumber(ino)));
        }
        let bs = fs.block_size();
        let kind = match raw.mode & format::S_IFMT {
            format::S_IFREG => {
                if raw.size > fs.max_bytes() {
                    return Err(corrupt(sb, ino, Corrupt::TooLarge(raw.size)));
                }
                InodeKind::Regular
            }
            format::S_IFDIR => {
                if raw.size == 0 || raw.size % bs != 0 {
                    return Err(corrupt(sb, ino, Corrupt::InodeSizeMismatch(raw.size)));
                }
                InodeKind::Directory
            }
            format::S_IFLNK if raw.is_fast_symlink(fs.blkbits) => {
                let (t, len) = raw.fast_symlink_target().map_err(|c| corrupt(sb, ino, c))?;
                let mut v = KVec::with_capacity(len, GFP_KERNEL)?;
                v.extend_from_slice(&t[..len], GFP_KERNEL)?;
                InodeKind::FastSymlink(v)
            }
            format::S_IFLNK => {
                if raw.size == 0 || raw.size >= bs {
                    return Err(corrupt(sb, ino, Corrupt::InodeSizeMismatch(raw.size)));
                }
                InodeKind::SlowSymlink
            }
            _ => {
                // Device numbers: old encoding in block[0], new in block[1].
                let dev = if raw.block[0] != 0 {
                    raw.block[0]
                } else {
                    raw.block[1]
                };
                InodeKind::Special(dev)
            }
        };
        let large_folios = matches!(kind, InodeKind::Regular) && crate::large_folios_param();
        Ok(InodeParams {
            kind,
            mode: raw.mode,
            size: raw.size,
            nlink: u32::from(raw.links),
            uid: raw.uid,
            gid: raw.gid,
            atime: i64::from(raw.atime),
            mtime: i64::from(raw.mtime),
            ctime: i64::from(raw.ctime),
            blocks: u64::from(raw.blocks),
            generation: raw.generation,
            large_folios,
            data: InodeInfo {
                block: raw.block,
                reported: Atomic::new(false),
            },
        })
    }

    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>> {
        if name.len() > 255 {
            return Err(ENAMETOOLONG);
        }
        let sb = dir.super_block();
        let filetype = Self::has_filetype(sb);
        let bits = dir.blkbits();
        Self::walk_dir_blocks(dir, 0, |idx, data| {
            let mut off = 0usize;
            while off < data.len() {
                let e = format::dir_entry(data, off, idx << bits, filetype)
                    .map_err(|c| corrupt_inode(dir, c))?;
                if e.ino != 0 && e.name == name {
                    return Ok(Some(u64::from(e.ino)));
                }
                off += e.rec_len;
            }
            Ok(None)
        })
    }

    fn readdir(dir: &Inode<Self>, ctx: &mut DirEmitter<'_>) -> Result {
        let sb = dir.super_block();
        let filetype = Self::has_filetype(sb);
        let bits = dir.blkbits();
        let Ok(pos) = u64::try_from(ctx.pos()) else {
            return Ok(());
        };
        let first = pos >> bits;
        // Where to start in the first block; the others start at 0.
        let mut want = (pos - (first << bits)) as usize;
        Self::walk_dir_blocks(dir, first, |idx, data| {
            let base = idx << bits;
            // Entries are found by walking from the block's start: a position
            // inside an entry (after a concurrent change) moves to the next.
            let mut off = 0usize;
            while off < data.len() {
                let e = format::dir_entry(data, off, base, filetype)
                    .map_err(|c| corrupt_inode(dir, c))?;
                if off >= want {
                    // The position names the entry being emitted: if the
                    // caller's buffer is full, the next call starts here.
                    ctx.set_pos((base + off as u64) as i64);
                    if e.ino != 0 && !ctx.emit(e.name, u64::from(e.ino), format::dtype(e.file_type))
                    {
                        return Ok(Some(()));
                    }
                }
                off += e.rec_len;
                // Past an emitted entry: a corrupt entry after it then fails
                // the next call, instead of repeating what was emitted.
                if off >= want {
                    ctx.set_pos((base + off as u64) as i64);
                }
            }
            want = 0;
            ctx.set_pos((base + (1 << bits)) as i64);
            Ok(None)
        })?;
        Ok(())
    }

    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs> {
        let info = SbInfo::info(sb);
        let fs = &info.sb;
        let free_blocks: u64 = info.groups.iter().map(|g| u64::from(g.free_blocks)).sum();
        let free_inodes: u64 = info.groups.iter().map(|g| u64::from(g.free_inodes)).sum();
        Ok(StatFs {
            magic: u64::from(format::EXT2_MAGIC),
            block_size: fs.block_size(),
            blocks: u64::from(fs.blocks_count - fs.first_data_block),
            free_blocks,
            avail_blocks: free_blocks.saturating_sub(u64::from(fs.r_blocks_count)),
            files: u64::from(fs.inodes_count),
            free_files: free_inodes,
            name_len: 255,
        })
    }

    fn map_blocks(inode: &Inode<Self>, lblk: u64, max_blocks: u64) -> Result<Option<BlockRun>> {
        Ok(match (BlockMap { inode }).map_run(lblk, max_blocks)? {
            PtrRun::Hole { .. } => None,
            PtrRun::Mapped {
                pblk,
                len,
                boundary,
            } => Some(BlockRun {
                pblk,
                len,
                boundary,
            }),
        })
    }

    fn read_folio(inode: &Inode<Self>, folio: LockedFolio) -> Result {
        match SbInfo::info(inode.super_block()).engine {
            Engine::C => vfs::c_mpage_read_folio::<Self>(folio),
            Engine::Rust => {
                let mapper = BlockMap { inode };
                let fallback = |f: LockedFolio| vfs::block_read_full_folio::<Self>(f);
                mpage::read_folio(&Self::target(inode, &mapper, &fallback), folio)
            }
        }
    }

    fn readahead(inode: &Inode<Self>, ra: &mut Readahead<'_>) {
        match SbInfo::info(inode.super_block()).engine {
            Engine::C => vfs::c_mpage_readahead::<Self>(ra),
            Engine::Rust => {
                let mapper = BlockMap { inode };
                let fallback = |f: LockedFolio| vfs::block_read_full_folio::<Self>(f);
                mpage::readahead(&Self::target(inode, &mapper, &fallback), ra)
            }
        }
    }
}
