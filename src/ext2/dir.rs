// SPDX-License-Identifier: GPL-2.0

//! Directories (fs/ext2/dir.c): lookup and readdir over the directory's
//! blocks, and entries added, removed and changed in them, all through the
//! directory's own page cache as in the C ext2 (so the directory's blocks are
//! read by the read engine and written back by the write engine). Where an
//! entry goes is decided in [`super::dirent`].

use super::{
    corrupt_inode, dirent,
    format::{self, Corrupt},
    superblock::SbInfo,
    Rext2,
};
use crate::rust_bindings::{
    fs::{change_dir_block, DirEmitter, DirGuard, DirWriteGuard},
    inode::Inode,
};
use core::{cmp::Ordering, ops::Range};
use kernel::{
    page::{PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
    sync::{aref::ARef, atomic::Relaxed},
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

/// Calls `f(idx, block, range)` on the blocks of directory `dir` until it
/// returns `Some((offset, _))`, for the entries that start in `range` of
/// each block, starting where the last lookup found its name and going
/// round (ext2_find_entry's `i_dir_start_lookup`): the rest of that block,
/// the blocks after it, the blocks before it, and last the start of that
/// block up to the hit. The entry found is where the next walk starts.
///
/// ext2 remembers only the page, and walks it from its start: names looked
/// up in directory order (`ls -l`, `find`, a cold `stat` of each name
/// `readdir` gave) then cost half a block each. A remembered offset costs
/// an entry, and is sound because it names an entry start for as long as
/// the directory's entries stay where they are: walks hold the directory's
/// lock shared, and every change that adds or removes an entry takes it
/// exclusively and sets the hint back to the start of its block
/// ([`hint_to_block_start`]); changing an entry's inode moves nothing.
fn walk_dir_entries_from_hint<R>(
    dir: &Inode<Rext2>,
    guard: &DirGuard<'_>,
    mut f: impl FnMut(u64, &[u8], Range<usize>) -> Result<Option<(usize, R)>>,
) -> Result<Option<R>> {
    let bits = dir.blkbits();
    let hint = &dir.data().dir_start_lookup;
    let start = hint.load(Relaxed);
    let start = if start < dir.size() { start } else { 0 };
    let start_block = start >> bits;
    let start_offset = (start - (start_block << bits)) as usize;
    let mut hit = None;
    let mut found = walk_dir_blocks(dir, guard, start_block, |idx, data| {
        let from = if idx == start_block { start_offset } else { 0 };
        let found = f(idx, data, from..data.len())?;
        Ok(found.map(|(offset, r)| {
            hit = Some((idx << bits) + offset as u64);
            r
        }))
    })?;
    if found.is_none() && start > 0 {
        // The entries before the hint, up to it.
        found = walk_dir_blocks(dir, guard, 0, |idx, data| {
            let until = match idx.cmp(&start_block) {
                Ordering::Less => data.len(),
                Ordering::Equal if start_offset > 0 => start_offset,
                _ => return Ok(Some(None)),
            };
            let found = f(idx, data, 0..until)?;
            Ok(found.map(|(offset, r)| {
                hit = Some((idx << bits) + offset as u64);
                Some(r)
            }))
        })?
        .flatten();
    }
    if let Some(pos) = hit {
        hint.store(pos, Relaxed);
    }
    Ok(found)
}

/// After a change to `dir`'s entries, which may have moved or merged the
/// one the lookup hint points at: the next walk starts at that block's
/// first entry instead.
fn hint_to_block_start(dir: &Inode<Rext2>) {
    let hint = &dir.data().dir_start_lookup;
    let bits = dir.blkbits();
    hint.store((hint.load(Relaxed) >> bits) << bits, Relaxed);
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
    let found = walk_dir_entries_from_hint(dir, guard, |idx, data, range| {
        let base = idx << bits;
        let Some((offset, ino)) = dirent::find_name_in(data, base, filetype, name, range)
            .map_err(|c| corrupt_inode(dir, c))?
        else {
            return Ok(None);
        };
        fs.check_entry_ino(ino, base + offset as u64)
            .map_err(|c| corrupt_inode(dir, c))?;
        Ok(Some((offset, u64::from(ino))))
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

/// Where an entry is: its directory block and its offset in the block.
#[derive(Clone, Copy)]
pub(crate) struct EntryAt {
    /// Directory block.
    pub(crate) block: u64,
    /// Byte offset in the block.
    pub(crate) offset: usize,
}

/// Finds the entry `name` in `dir` (ext2_find_entry).
pub(crate) fn find_entry(
    dir: &Inode<Rext2>,
    guard: &DirGuard<'_>,
    name: &[u8],
) -> Result<Option<EntryAt>> {
    let filetype = has_filetype(dir);
    let bits = dir.blkbits();
    walk_dir_entries_from_hint(dir, guard, |block, data, range| {
        let found = dirent::find_name_in(data, block << bits, filetype, name, range)
            .map_err(|c| corrupt_inode(dir, c))?;
        Ok(found.map(|(offset, _ino)| (offset, EntryAt { block, offset })))
    })
}

/// The file type byte of an entry for an inode of mode `mode`: 0 without
/// the `filetype` feature, where the byte is the high byte of the name's
/// length.
fn entry_type(dir: &Inode<Rext2>, mode: u16) -> u8 {
    if has_filetype(dir) {
        dirent::file_type_of(mode)
    } else {
        0
    }
}

/// A change of `dir`'s entries: the lookup hint, its times, and the flag of an index the C
/// ext2 does not keep either (ext2 clears `EXT2_BTREE_FL` too, so that
/// e2fsck does not trust an index that no longer matches).
fn entries_changed(dir: &Inode<Rext2>) {
    hint_to_block_start(dir);
    dir.data().map.lock().disk.flags &= !format::FL_INDEX;
    dir.touch_mtime_ctime();
}

/// Adds the entry `name` → `ino` (of mode `mode`) to `dir`: in the first
/// block with room, or in a new block at the end (ext2_add_link). The
/// search starts past the blocks the last searches found full
/// ([`dirent::RoomHint`]).
pub(crate) fn add_entry(
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    name: &[u8],
    ino: u64,
    mode: u16,
) -> Result {
    if name.len() > 255 {
        return Err(ENAMETOOLONG);
    }
    let ino = u32::try_from(ino).map_err(|_| EINVAL)?;
    let file_type = entry_type(dir, mode);
    let filetype = has_filetype(dir);
    let bits = dir.blkbits();
    let hint = room_hint(dir);
    let needed = dirent::rec_len_for(name.len());
    let first = hint.first_block(needed);
    let slot = walk_dir_blocks(dir, guard, first, |block, data| {
        let slot = dirent::find_slot(data, block << bits, filetype, name.len())
            .map_err(|c| corrupt_inode(dir, c))?;
        Ok(slot.map(|offset| (block, offset)))
    })?;
    let block = match slot {
        Some((block, offset)) => {
            change_dir_block(dir, guard, block, |data| {
                dirent::insert_at(data, block << bits, filetype, offset, name, ino, file_type)
                    .map_err(|c| corrupt_inode(dir, c))
            })?;
            block
        }
        None => {
            // No room: the directory grows by a block.
            let block = dir.size() >> bits;
            change_dir_block(dir, guard, block, |data| {
                dirent::new_empty_block(data)
                    .and_then(|()| {
                        dirent::insert_at(data, block << bits, filetype, 0, name, ino, file_type)
                    })
                    .map_err(|c| corrupt_inode(dir, c))
            })?;
            block
        }
    };
    set_room_hint(dir, hint.found_room(needed, block));
    entries_changed(dir);
    Ok(())
}

/// The directory's [`dirent::RoomHint`]. Read and changed only under the
/// directory's exclusive lock (a [`DirWriteGuard`]): the atomic is for
/// the type system, not for concurrent writers.
fn room_hint(dir: &Inode<Rext2>) -> dirent::RoomHint {
    dirent::RoomHint::from_word(dir.data().dir_room_hint.load(Relaxed))
}

fn set_room_hint(dir: &Inode<Rext2>, hint: dirent::RoomHint) {
    dir.data().dir_room_hint.store(hint.to_word(), Relaxed);
}

/// Removes the entry at `at` from `dir` (ext2_delete_entry).
pub(crate) fn delete_entry(
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    at: EntryAt,
) -> Result {
    let filetype = has_filetype(dir);
    let base = at.block << dir.blkbits();
    change_dir_block(dir, guard, at.block, |data| {
        dirent::remove_at(data, base, filetype, at.offset).map_err(|c| corrupt_inode(dir, c))
    })?;
    set_room_hint(dir, room_hint(dir).room_made(at.block));
    entries_changed(dir);
    Ok(())
}

/// Points the entry at `at` in `dir` to `ino` of mode `mode` instead
/// (ext2_set_link); `touch` changes `dir`'s times, as a rename over a
/// name does (fixing a moved directory's `..` does not).
pub(crate) fn set_entry(
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    at: EntryAt,
    ino: u64,
    mode: u16,
    touch: bool,
) -> Result {
    let ino = u32::try_from(ino).map_err(|_| EINVAL)?;
    let file_type = entry_type(dir, mode);
    let filetype = has_filetype(dir);
    let base = at.block << dir.blkbits();
    change_dir_block(dir, guard, at.block, |data| {
        dirent::set_ino(data, base, filetype, at.offset, ino, file_type)
            .map_err(|c| corrupt_inode(dir, c))
    })?;
    if touch {
        entries_changed(dir);
    }
    Ok(())
}

/// Writes the first block of the new directory `dir`, with `.` and `..`
/// (ext2_make_empty).
pub(crate) fn make_empty(dir: &Inode<Rext2>, guard: &mut DirWriteGuard<'_>, parent: u64) -> Result {
    let own = u32::try_from(dir.ino()).map_err(|_| EINVAL)?;
    let parent = u32::try_from(parent).map_err(|_| EINVAL)?;
    let filetype = has_filetype(dir);
    change_dir_block(dir, guard, 0, |data| {
        dirent::init_dir_block(data, own, parent, filetype).map_err(|c| corrupt_inode(dir, c))
    })
}

/// The `..` entry of directory `dir` (ext2_dotdot).
pub(crate) fn dotdot(dir: &Inode<Rext2>, guard: &DirGuard<'_>) -> Result<EntryAt> {
    let filetype = has_filetype(dir);
    let found = walk_dir_blocks(dir, guard, 0, |block, data| {
        let (offset, _parent) = dirent::dotdot(data, block << dir.blkbits(), filetype)
            .map_err(|c| corrupt_inode(dir, c))?;
        Ok(Some(EntryAt { block, offset }))
    })?;
    found.ok_or_else(|| corrupt_inode(dir, Corrupt::DirEntry { offset: 0 }))
}

/// Whether directory `dir` holds nothing but `.` and `..`
/// (ext2_empty_dir). A directory that cannot be read is taken as not
/// empty, as the C ext2 takes it, so that nothing is freed from under it.
pub(crate) fn is_empty(dir: &Inode<Rext2>, guard: &DirGuard<'_>) -> bool {
    let filetype = has_filetype(dir);
    let own = dir.ino() as u32;
    let bits = dir.blkbits();
    let found = walk_dir_blocks(dir, guard, 0, |block, data| {
        let empty = dirent::block_is_empty(data, block << bits, filetype, own)
            .map_err(|c| corrupt_inode(dir, c))?;
        Ok((!empty).then_some(()))
    });
    matches!(found, Ok(None))
}
