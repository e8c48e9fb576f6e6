// SPDX-License-Identifier: GPL-2.0

//! Names (fs/ext2/namei.c): creating, linking, removing and renaming, in
//! the C ext2's order, which keeps the image one e2fsck can repair after a
//! crash at any point: a link count is raised before an entry points to the
//! inode, and dropped only after the entry is gone.

use super::{dir, inode, superblock::SbInfo, Rext2};
use crate::rust_bindings::{
    fs::{with_new_dir_guard, DirWriteGuard, NewKind, NewNode, Rename, RenameGuards},
    inode::{Inode, NewInode},
};
use kernel::prelude::*;

/// `create`, `mknod`, `symlink` and `mkdir`: a new inode under a new name.
pub(crate) fn create(
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    name: &[u8],
    node: NewNode<'_>,
) -> Result<NewInode<Rext2>> {
    match node.kind {
        NewKind::Directory => return mkdir(dir, guard, name, &node),
        NewKind::Symlink(target) => {
            // The target and its NUL must fit in a block (ext2_symlink).
            let block_size = SbInfo::of(dir.super_block()).fs.block_size();
            if target.len() as u64 + 1 > block_size {
                return Err(ENAMETOOLONG);
            }
        }
        NewKind::Regular | NewKind::Special(_) => {}
    }
    let inode = inode::new_inode(dir, &node)?;
    add_nondir(dir, guard, name, inode)
}

/// Links a new inode that is not a directory under `name`; if that fails
/// the inode goes, with what it holds (ext2_add_nondir).
fn add_nondir(
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    name: &[u8],
    inode: NewInode<Rext2>,
) -> Result<NewInode<Rext2>> {
    match dir::add_entry(dir, guard, name, inode.ino(), inode.mode()) {
        Ok(()) => Ok(inode),
        Err(e) => {
            inode.dec_link_count();
            Err(e)
        }
    }
}

/// A new directory: the parent's link count first (its `..` will point
/// there), then the directory with `.` and `..`, then its name
/// (ext2_mkdir).
fn mkdir(
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    name: &[u8],
    node: &NewNode<'_>,
) -> Result<NewInode<Rext2>> {
    dir.inc_link_count();
    let mut inode = match inode::new_inode(dir, node) {
        Ok(inode) => inode,
        Err(e) => {
            dir.dec_link_count();
            return Err(e);
        }
    };
    // Its entry in `dir` and its own `.`.
    inode.inc_link_count();
    let made = with_new_dir_guard(&mut inode, |new_dir, own| {
        dir::make_empty(new_dir, own, dir.ino())
    });
    let linked = made.and_then(|()| dir::add_entry(dir, guard, name, inode.ino(), inode.mode()));
    if let Err(e) = linked {
        inode.dec_link_count();
        inode.dec_link_count();
        dir.dec_link_count();
        return Err(e);
    }
    Ok(inode)
}

/// `link`: one more name for `inode` (ext2_link).
pub(crate) fn link(
    inode: &Inode<Rext2>,
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    name: &[u8],
) -> Result {
    inode.touch_ctime();
    inode.inc_link_count();
    dir::add_entry(dir, guard, name, inode.ino(), inode.mode()).inspect_err(|_| {
        inode.dec_link_count();
    })
}

/// `unlink`: the entry goes, then the link (ext2_unlink). The inode and its
/// blocks go at its last close ([`inode::delete_inode`]).
pub(crate) fn unlink(
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    name: &[u8],
    victim: &Inode<Rext2>,
) -> Result {
    let at = dir::find_entry(dir, guard, name)?.ok_or(ENOENT)?;
    dir::delete_entry(dir, guard, at)?;
    victim.touch_ctime();
    victim.dec_link_count();
    Ok(())
}

/// `rmdir`: an empty directory's entry goes, then its links and the one its
/// `..` gave the parent (ext2_rmdir).
pub(crate) fn rmdir(
    dir: &Inode<Rext2>,
    guard: &mut DirWriteGuard<'_>,
    name: &[u8],
    victim: &Inode<Rext2>,
    victim_guard: &mut DirWriteGuard<'_>,
) -> Result {
    if !dir::is_empty(victim, victim_guard) {
        return Err(ENOTEMPTY);
    }
    unlink(dir, guard, name, victim)?;
    victim.set_size_dirty(0);
    victim.dec_link_count();
    dir.dec_link_count();
    Ok(())
}

/// `rename` (ext2_rename): the new name is made to point to the inode
/// first (over the target's entry, or added), then the old entry goes; a
/// directory that changes parent gets its `..` pointed to the new parent
/// last, and the link counts follow the entries.
pub(crate) fn rename(mut rename: Rename<'_, Rext2>) -> Result {
    let (old_dir, moved, new_dir) = (rename.old_dir, rename.moved, rename.new_dir);
    let (old_name, new_name, target) = (rename.old_name, rename.new_name, rename.target);
    let RenameGuards {
        old,
        new,
        moved: moved_guard,
        target: target_guard,
    } = rename.guards();
    let old_at = dir::find_entry(old_dir, old, old_name)?.ok_or(ENOENT)?;
    let is_dir = moved.is_dir();
    // The moved directory's `..`, if it changes parent.
    let dotdot = match moved_guard {
        Some(moved_guard) => Some((dir::dotdot(moved, moved_guard)?, moved_guard)),
        None => None,
    };
    // Changes of `new_dir` go through its own guard, or `old_dir`'s when
    // the rename stays in one directory.
    let new_guard = match new {
        Some(guard) => guard,
        None => &mut *old,
    };
    match target {
        Some(target) => {
            if is_dir {
                let emptied = target_guard.is_some_and(|guard| dir::is_empty(target, guard));
                if !emptied {
                    return Err(ENOTEMPTY);
                }
            }
            let new_at = dir::find_entry(new_dir, new_guard, new_name)?.ok_or(ENOENT)?;
            dir::set_entry(new_dir, new_guard, new_at, moved.ino(), moved.mode(), true)?;
            target.touch_ctime();
            if is_dir {
                // Its `.` goes with its entry.
                target.dec_link_count();
            }
            target.dec_link_count();
        }
        None => {
            dir::add_entry(new_dir, new_guard, new_name, moved.ino(), moved.mode())?;
            if is_dir {
                // The moved directory's `..`.
                new_dir.inc_link_count();
            }
        }
    }
    // The inode changed: its ctime (for the benefit of backup programs).
    moved.touch_ctime();
    dir::delete_entry(old_dir, old, old_at)?;
    if is_dir {
        if let Some((at, moved_guard)) = dotdot {
            dir::set_entry(moved, moved_guard, at, new_dir.ino(), new_dir.mode(), false)?;
        }
        old_dir.dec_link_count();
    }
    Ok(())
}
