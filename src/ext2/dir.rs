// SPDX-License-Identifier: GPL-2.0

//! Directories (fs/ext2/dir.c): lookup and readdir over the directory's
//! blocks, read through its own page cache as the C ext2 reads them.

use super::{
    corrupt_inode,
    format::{self, Corrupt},
    superblock::SbInfo,
    Rext2,
};
use crate::rust_bindings::{
    fs::{DirEmitter, DirGuard},
    inode::Inode,
};
use kernel::{
    page::{PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
    sync::aref::ARef,
};

/// Calls `f(idx, block)` on the blocks of directory `dir` from block `first`
/// on, in order, until it returns `Some`. The blocks come from the
/// directory's page cache (so through the read engine), one page lookup for
/// all the blocks of a page. A hole reads as zeroes, which the entry parser
/// refuses like any other corrupt block.
fn walk_dir_blocks<R>(
    dir: &Inode<Rext2>,
    guard: &DirGuard<'_>,
    first: u64,
    mut f: impl FnMut(u64, &[u8]) -> Result<Option<R>>,
) -> Result<Option<R>> {
    // Block sizes are powers of two, at most a page (the super block check
    // sees to it): shifts and masks, no division, and a block never
    // straddles two pages.
    let bits = dir.blkbits();
    let nblocks = dir.size() >> bits;
    let mut idx = first;
    while idx < nblocks {
        let page = (idx << bits) >> PAGE_SHIFT;
        let folio = dir.read_mapping_folio(page)?;
        // A large folio may begin before the page we asked for.
        let n = usize::try_from(page.checked_sub(folio.index()).ok_or(EIO)?)?;
        let found = folio.with_page(guard, n, |p| -> Result<Option<R>> {
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

fn has_filetype(dir: &Inode<Rext2>) -> bool {
    SbInfo::of(dir.super_block()).fs.feature_incompat & format::INCOMPAT_FILETYPE != 0
}

/// Finds `name` in `dir` and gets its inode, or `None` (ext2_lookup).
///
/// The entry found must name an inode a directory may link
/// ([`format::SuperBlock::check_entry_ino`]): a reserved inode fails with
/// `EINVAL`, one past the last with `EIO`, as in the C ext2. An entry that
/// leads to a deleted inode (`ESTALE` from iget) fails with `EIO`, and
/// says "deleted inode referenced", as ext2_lookup does. Each is
/// corruption of `dir`: one `rext2:` line for it, and a read-write mount
/// goes read-only.
pub(crate) fn lookup(
    dir: &Inode<Rext2>,
    guard: &DirGuard<'_>,
    name: &[u8],
) -> Result<Option<ARef<Inode<Rext2>>>> {
    if name.len() > 255 {
        return Err(ENAMETOOLONG);
    }
    let fs = &SbInfo::of(dir.super_block()).fs;
    let filetype = has_filetype(dir);
    let bits = dir.blkbits();
    let found = walk_dir_blocks(dir, guard, 0, |idx, data| {
        let mut off = 0usize;
        while off < data.len() {
            let e = format::dir_entry(data, off, idx << bits, filetype)
                .map_err(|c| corrupt_inode(dir, c))?;
            if e.ino != 0 && e.name == name {
                fs.check_entry_ino(e.ino, (idx << bits) + off as u64)
                    .map_err(|c| corrupt_inode(dir, c))?;
                return Ok(Some(u64::from(e.ino)));
            }
            off += e.rec_len;
        }
        Ok(None)
    })?;
    let Some(ino) = found else {
        return Ok(None);
    };
    match dir.super_block().iget(ino) {
        Ok(inode) => Ok(Some(inode)),
        Err(e) if e == ESTALE => Err(corrupt_inode(dir, Corrupt::DeletedInode(ino))),
        Err(e) => Err(e),
    }
}

/// Emits the entries of `dir` from the position in `ctx` on.
pub(crate) fn readdir(
    dir: &Inode<Rext2>,
    guard: &DirGuard<'_>,
    ctx: &mut DirEmitter<'_>,
) -> Result {
    let fs = &SbInfo::of(dir.super_block()).fs;
    let filetype = has_filetype(dir);
    let bits = dir.blkbits();
    let Ok(pos) = u64::try_from(ctx.pos()) else {
        return Ok(());
    };
    let first = pos >> bits;
    // Where to start in the first block; the others start at 0.
    let mut want = (pos - (first << bits)) as usize;
    walk_dir_blocks(dir, guard, first, |idx, data| {
        let base = idx << bits;
        // Entries are found by walking from the block's start: a position
        // inside an entry (after a concurrent change) moves to the next.
        let mut off = 0usize;
        while off < data.len() {
            let e =
                format::dir_entry(data, off, base, filetype).map_err(|c| corrupt_inode(dir, c))?;
            if off >= want {
                // The position names the entry being emitted: if the
                // caller's buffer is full, the next call starts here.
                ctx.set_pos((base + off as u64) as i64);
                // An entry that names an inode no directory may link fails
                // the call, and the next ones, with EIO: what the C ext2's
                // readdir gives for a page ext2_check_folio refuses (it
                // refuses inodes past the last; reserved inodes it lists,
                // and fails only their lookup).
                fs.check_entry_ino(e.ino, base + off as u64).map_err(|c| {
                    corrupt_inode(dir, c);
                    EIO
                })?;
                if e.ino != 0 && !ctx.emit(e.name, u64::from(e.ino), format::dtype(e.file_type)) {
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
