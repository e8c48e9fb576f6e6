// SPDX-License-Identifier: GPL-2.0

//! rext2: the ext2 on-disk format, served through rmpage's engine, read
//! and written: file data, and the namespace (create, link, unlink, mkdir,
//! rmdir, rename, symlink, mknod).
//!
//! Metadata (super block, group descriptors, bitmaps, inodes, indirect
//! blocks) goes through the buffer cache. File data, and directory blocks
//! (as in the C ext2), go through the page cache and the engine in
//! [`crate::mpage`] (or, with `engine=c`, the kernel's C fs/mpage.c with the
//! same block mapper). Laid out as fs/ext2/ is: the on-disk format and the
//! allocation, block-map and directory-block decisions in plain Rust
//! ([`format`], [`balloc`], [`ialloc`], [`blockmap`], [`dirent`]), the
//! kernel side by concern ([`superblock`], [`allocator`], [`inode`],
//! [`dir`], [`namei`]).

pub(crate) mod allocator;
pub(crate) mod balloc;
pub(crate) mod blockmap;
pub(crate) mod dir;
pub(crate) mod dirent;
pub(crate) mod format;
pub(crate) mod ialloc;
pub(crate) mod inode;
pub(crate) mod namei;
pub(crate) mod superblock;

use crate::{
    mpage::mapping::Mapping,
    rust_bindings::{
        folio::ReadFolio,
        fs::{
            DirEmitter, DirGuard, DirWriteGuard, FileSystem, NewNode, Rename, StatFs, SuperParams,
        },
        inode::{Inode, InodeParams, NewInode},
        readahead::Readahead,
        super_block::{New, SuperBlock},
        writeback::Writeback,
    },
};
use format::{Corrupt, RootProblem};
use inode::{BlockMap, InodeInfo};
use kernel::{
    prelude::*,
    sync::{aref::ARef, atomic::Relaxed},
};
use superblock::SbInfo;

/// The rext2 filesystem type.
pub(crate) struct Rext2;

/// Logs a corruption found in an inode's metadata (its block map or, for a
/// directory, its entries) once per inode, and gives its errno.
pub(crate) fn corrupt_inode(inode: &Inode<Rext2>, c: Corrupt) -> Error {
    if inode.data().reported.xchg(true, Relaxed) {
        return errno(c);
    }
    corrupt(inode.super_block(), inode.ino(), c)
}

/// Logs one `rext2:` line for a corruption and gives its errno. Corruption
/// met on a read-write mount turns it read-only (ext2's errors=remount-ro),
/// and the line says so: nothing more is written over metadata that cannot
/// be trusted.
pub(crate) fn corrupt<T: FileSystem, S>(sb: &SuperBlock<T, S>, ino: u64, c: Corrupt) -> Error {
    let dev = sb.id();
    let ro = if !refuses_mount(c) && !sb.is_read_only() {
        sb.set_read_only();
        "; the mount is read-only from now on"
    } else {
        ""
    };
    match c {
        Corrupt::BadMagic(m) => pr_err!("rext2: {dev}: bad magic number {m:#06x}{ro}\n"),
        Corrupt::BlockSize(b) => pr_err!("rext2: {dev}: unsupported block size {b}{ro}\n"),
        Corrupt::Revision(r) => pr_err!("rext2: {dev}: unsupported revision {r}{ro}\n"),
        Corrupt::Rev0Features => {
            pr_err!("rext2: {dev}: revision 0 file system with feature flags set{ro}\n")
        }
        Corrupt::Incompat(f) => pr_err!("rext2: {dev}: unsupported INCOMPAT features {f:#x}{ro}\n"),
        Corrupt::InodeSize(s) => pr_err!("rext2: {dev}: bad inode size {s}{ro}\n"),
        Corrupt::Geometry => pr_err!("rext2: {dev}: bad geometry in super block{ro}\n"),
        Corrupt::DeviceTooSmall { need, have } => {
            pr_err!("rext2: {dev}: device has {have} bytes, file system needs {need}{ro}\n")
        }
        Corrupt::Descriptor(g) => pr_err!("rext2: {dev}: group descriptor {g} is corrupt{ro}\n"),
        Corrupt::BlockPointer(b) => {
            pr_err!("rext2: {dev}: inode {ino}: block pointer {b} outside the file system{ro}\n")
        }
        Corrupt::InodeNumber(i) => pr_err!("rext2: {dev}: inode {ino}: bad inode number {i}{ro}\n"),
        Corrupt::DirEntry { offset } => {
            pr_err!("rext2: {dev}: directory {ino}: bad entry at offset {offset}{ro}\n")
        }
        Corrupt::InodeSizeMismatch(s) => {
            pr_err!("rext2: {dev}: inode {ino}: size {s} disagrees with its kind or blocks{ro}\n")
        }
        Corrupt::TooLarge(s) => pr_err!("rext2: {dev}: inode {ino}: size {s} too large{ro}\n"),
        Corrupt::Root(p) => {
            let why = match p {
                RootProblem::Deleted => "deleted",
                RootProblem::NoLinks => "no links",
                RootProblem::NotADirectory => "not a directory with blocks and a size",
            };
            pr_err!("rext2: {dev}: corrupt root inode ({why}), run e2fsck{ro}\n")
        }
        Corrupt::NoLinks(mode) => pr_err!(
            "rext2: {dev}: inode {ino} has no links but mode {mode:#o} and no deletion time{ro}\n"
        ),
        Corrupt::EntryReserved { offset, ino: i } => pr_err!(
            "rext2: {dev}: directory {ino}: entry at offset {offset} names reserved inode {i}{ro}\n"
        ),
        Corrupt::EntryOutOfBounds { offset, ino: i } => pr_err!(
            "rext2: {dev}: directory {ino}: entry at offset {offset} names inode {i}, past the last one{ro}\n"
        ),
        Corrupt::DeletedInode(i) => {
            pr_err!("rext2: {dev}: directory {ino}: deleted inode referenced: {i}{ro}\n")
        }
        Corrupt::FreeMetadata(b) => {
            pr_err!("rext2: {dev}: block bitmap marks metadata block {b} free{ro}\n")
        }
        Corrupt::FreeCount {
            group,
            bitmap,
            desc,
        } => pr_err!(
            "rext2: {dev}: group {group}: bitmap has {bitmap} free blocks, descriptor says {desc}{ro}\n"
        ),
        Corrupt::XattrBlock(b) => {
            pr_err!("rext2: {dev}: inode {ino}: bad extended attribute block {b}{ro}\n")
        }
        Corrupt::InodeAlreadyFree(i) => {
            pr_err!("rext2: {dev}: freeing inode {i}: bit already cleared{ro}\n")
        }
    }
    errno(c)
}

/// Whether a corruption refuses a mount (it is found while mounting),
/// rather than turning a mount that is there read-only.
fn refuses_mount(c: Corrupt) -> bool {
    matches!(
        c,
        Corrupt::BadMagic(_)
            | Corrupt::BlockSize(_)
            | Corrupt::Revision(_)
            | Corrupt::Rev0Features
            | Corrupt::Incompat(_)
            | Corrupt::InodeSize(_)
            | Corrupt::Geometry
            | Corrupt::DeviceTooSmall { .. }
            | Corrupt::Descriptor(_)
            | Corrupt::Root(_)
    )
}

/// The errno for a corruption: what mount refuses is EINVAL, like the C
/// ext2, but for a root inode that ext2_iget already refuses (`ESTALE` if
/// deleted, `EFSCORRUPTED` if it has no links). What is found at run time
/// is EUCLEAN (the kernel's EFSCORRUPTED), but where the C ext2 answers
/// otherwise and rext2 answers as it does: a directory entry that names a
/// reserved inode fails its lookup with `EINVAL` (ext2_get_inode), one
/// that names an inode past the last fails with `EIO` (ext2_check_folio
/// fails the directory's page), and so does one that names a deleted
/// inode (ext2_lookup). (Readdir gives `EIO` for every entry it refuses
/// for its inode number: [`dir::readdir`].)
fn errno(c: Corrupt) -> Error {
    match c {
        Corrupt::Root(RootProblem::Deleted) => ESTALE,
        Corrupt::Root(RootProblem::NoLinks) => EUCLEAN,
        Corrupt::EntryReserved { .. } => EINVAL,
        Corrupt::EntryOutOfBounds { .. } | Corrupt::DeletedInode(_) => EIO,
        c if refuses_mount(c) => EINVAL,
        _ => EUCLEAN,
    }
}

impl FileSystem for Rext2 {
    const NAME: &'static CStr = c"rext2";
    type Data = SbInfo;
    type InodeData = InodeInfo;

    fn fill_super(sb: &SuperBlock<Self, New>) -> Result<SuperParams<SbInfo>> {
        superblock::fill_super(sb)
    }

    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<InodeInfo>> {
        inode::read_inode(sb, ino)
    }

    fn mount_ready(sb: &SuperBlock<Self>) -> Result {
        superblock::mount_ready(sb)
    }

    fn lookup(
        dir: &Inode<Self>,
        guard: &DirGuard<'_>,
        name: &[u8],
    ) -> Result<Option<ARef<Inode<Self>>>> {
        dir::lookup(dir, guard, name)
    }

    fn readdir(dir: &Inode<Self>, guard: &DirGuard<'_>, ctx: &mut DirEmitter<'_>) -> Result {
        dir::readdir(dir, guard, ctx)
    }

    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs> {
        superblock::statfs(sb)
    }

    fn remount(sb: &SuperBlock<Self>, read_only: bool, synced: Result) -> Result<u64> {
        superblock::remount(sb, read_only, synced)
    }

    fn map_blocks(
        inode: &Inode<Self>,
        lblk: u64,
        max_blocks: u64,
        create: bool,
    ) -> Result<Mapping> {
        inode::map_blocks(inode, lblk, max_blocks, create)
    }

    fn read_folio(inode: &Inode<Self>, folio: ReadFolio) -> Result {
        let engine = &SbInfo::of(inode.super_block()).engine;
        engine.read_folio(inode, &BlockMap { inode }, folio)
    }

    fn readahead(inode: &Inode<Self>, ra: &mut Readahead<'_>) {
        let engine = &SbInfo::of(inode.super_block()).engine;
        engine.readahead(inode, &BlockMap { inode }, ra)
    }

    fn writepages(inode: &Inode<Self>, wb: Writeback<'_>) -> Result {
        let engine = &SbInfo::of(inode.super_block()).engine;
        engine.writepages(inode, &BlockMap { inode }, wb)
    }

    fn write_inode(inode: &Inode<Self>) -> Result {
        inode::write_inode(inode)
    }

    fn sync_inode_metadata(inode: &Inode<Self>) -> Result {
        inode::sync_inode_metadata(inode)
    }

    fn set_size(inode: &Inode<Self>, size: u64) -> Result {
        inode::set_size(inode, size)
    }

    fn write_failed(inode: &Inode<Self>, end: u64) {
        inode::write_failed(inode, end)
    }

    fn drops_written_buffers(_inode: &Inode<Self>) -> bool {
        crate::debug_nobh()
    }

    fn sync_fs(sb: &SuperBlock<Self>, wait: bool) -> Result {
        superblock::sync_fs(sb, wait)
    }

    fn put_super(sb: &SuperBlock<Self>) {
        superblock::put_super(sb)
    }

    fn create(
        dir: &Inode<Self>,
        guard: &mut DirWriteGuard<'_>,
        name: &[u8],
        node: NewNode<'_>,
    ) -> Result<NewInode<Self>> {
        namei::create(dir, guard, name, node)
    }

    fn link(
        inode: &Inode<Self>,
        dir: &Inode<Self>,
        guard: &mut DirWriteGuard<'_>,
        name: &[u8],
    ) -> Result {
        namei::link(inode, dir, guard, name)
    }

    fn unlink(
        dir: &Inode<Self>,
        guard: &mut DirWriteGuard<'_>,
        name: &[u8],
        victim: &Inode<Self>,
    ) -> Result {
        namei::unlink(dir, guard, name, victim)
    }

    fn rmdir(
        dir: &Inode<Self>,
        guard: &mut DirWriteGuard<'_>,
        name: &[u8],
        victim: &Inode<Self>,
        victim_guard: &mut DirWriteGuard<'_>,
    ) -> Result {
        namei::rmdir(dir, guard, name, victim, victim_guard)
    }

    fn rename(rename: Rename<'_, Self>) -> Result {
        namei::rename(rename)
    }

    fn delete_inode(inode: &Inode<Self>) {
        inode::delete_inode(inode)
    }
}
