// SPDX-License-Identifier: GPL-2.0

//! Changing one directory block, in plain Rust: the decisions of
//! fs/ext2/dir.c's ext2_add_link (where a new name goes, and how an entry
//! is split for it), ext2_delete_entry (merging an entry into the one
//! before it), ext2_make_empty, ext2_empty_dir, ext2_set_link and
//! ext2_dotdot. The kernel side locks the directory's folio, maps the
//! block, calls these on the block's bytes and commits the range they
//! return.
//!
//! A block is a chain of entries whose record lengths add up to the block
//! size (ext2's chunks are blocks). Every function here first walks the
//! whole block with [`format::dir_entry`], the check ext2_check_folio makes
//! before the C code touches a folio, so that a block that is not such a
//! chain is refused (`Corrupt::DirEntry` with the entry's offset in the
//! directory, `base` being the block's) and left as it is. A block that is
//! a chain stays one: nothing here writes outside the entries it checked,
//! and a refusal writes nothing.
//!
//! With the FILETYPE feature off, the byte after `name_len` is the high
//! byte of a 16-bit `name_len` (revision 0's layout): it stays 0 whatever
//! file type the caller gives, as ext2_set_de_type sees to in C.

use super::format::{self, Corrupt, DirEntry, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use core::ops::Range;

/// Longest name an entry holds (`EXT2_NAME_LEN`): `name_len` is a byte.
pub(crate) const NAME_MAX: usize = 255;

/// `EXT2_FT_UNKNOWN`: no type recorded (and every entry without FILETYPE).
pub(crate) const FT_UNKNOWN: u8 = 0;
/// `EXT2_FT_REG_FILE`.
pub(crate) const FT_REG_FILE: u8 = 1;
/// `EXT2_FT_DIR`.
pub(crate) const FT_DIR: u8 = 2;
/// `EXT2_FT_CHRDEV`.
pub(crate) const FT_CHRDEV: u8 = 3;
/// `EXT2_FT_BLKDEV`.
pub(crate) const FT_BLKDEV: u8 = 4;
/// `EXT2_FT_FIFO`.
pub(crate) const FT_FIFO: u8 = 5;
/// `EXT2_FT_SOCK`.
pub(crate) const FT_SOCK: u8 = 6;
/// `EXT2_FT_SYMLINK`.
pub(crate) const FT_SYMLINK: u8 = 7;

/// Character device (`S_IFCHR`).
const S_IFCHR: u16 = 0o020000;
/// Block device (`S_IFBLK`).
const S_IFBLK: u16 = 0o060000;
/// Named pipe (`S_IFIFO`).
const S_IFIFO: u16 = 0o010000;
/// Socket (`S_IFSOCK`).
const S_IFSOCK: u16 = 0o140000;

/// Bytes of an entry before its name: inode, rec_len, name_len, file type.
const HEADER: usize = 8;

/// The bytes an entry with a name of `name_len` bytes needs: its header and
/// name, rounded up to 4 (`EXT2_DIR_REC_LEN`).
pub(crate) const fn rec_len_for(name_len: usize) -> usize {
    name_len.saturating_add(HEADER + 3) & !3
}

/// Record length of ".", the first entry of a directory.
const DOT_REC_LEN: usize = rec_len_for(1);

/// The `EXT2_FT_*` type of an inode of mode `mode` (fs_umode_to_ftype):
/// [`FT_UNKNOWN`] for a mode with no file type bits ext2 knows.
pub(crate) fn file_type_of(mode: u16) -> u8 {
    match mode & S_IFMT {
        S_IFREG => FT_REG_FILE,
        S_IFDIR => FT_DIR,
        S_IFCHR => FT_CHRDEV,
        S_IFBLK => FT_BLKDEV,
        S_IFIFO => FT_FIFO,
        S_IFSOCK => FT_SOCK,
        S_IFLNK => FT_SYMLINK,
        _ => FT_UNKNOWN,
    }
}

/// The refusal for the entry at `offset` of a block at `base`.
fn bad_entry(base: u64, offset: usize) -> Corrupt {
    Corrupt::DirEntry {
        offset: base.saturating_add(offset as u64),
    }
}

/// The entries of a block, each with its offset, parsed and checked by
/// [`format::dir_entry`]. A corrupt entry ends the walk with its error;
/// the walk ends when the offsets reach the end of the block, which the
/// checks make the exact end of the last entry.
struct Entries<'a> {
    /// The block.
    block: &'a [u8],
    /// The block's offset in its directory, for the errors.
    base: u64,
    /// Whether entries carry a file type (the FILETYPE feature).
    filetype: bool,
    /// Where the next entry starts.
    offset: usize,
    /// Whether an entry was refused: the walk stops there.
    failed: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<(usize, DirEntry<'a>), Corrupt>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.block.len() {
            return None;
        }
        let at = self.offset;
        // dir_entry adds the offset to `base` for its message: a base this
        // close to the end of u64 is no directory's (and would overflow).
        let parsed = if self.base.checked_add(self.block.len() as u64).is_none() {
            Err(bad_entry(self.base, at))
        } else {
            format::dir_entry(self.block, at, self.base, self.filetype)
        };
        match parsed {
            Ok(entry) => {
                // dir_entry checked that the record ends inside the block,
                // and is at least 12 bytes long: the walk moves on.
                self.offset = at + entry.rec_len;
                Some(Ok((at, entry)))
            }
            Err(c) => {
                self.failed = true;
                Some(Err(c))
            }
        }
    }
}

/// Walks the entries of `block`, which starts at byte `base` of its
/// directory.
fn entries(block: &[u8], base: u64, filetype: bool) -> Entries<'_> {
    Entries {
        block,
        base,
        filetype,
        offset: 0,
        failed: false,
    }
}

/// Checks that `block` is a chain of valid entries that ends at its end.
fn check_block(block: &[u8], base: u64, filetype: bool) -> Result<(), Corrupt> {
    entries(block, base, filetype).try_for_each(|e| e.map(|_| ()))
}

/// What the walk finds at an entry's offset: the entry, and the offset of
/// the one before it in the block, if any.
struct Located {
    /// Offset of the entry before, `None` for the block's first.
    previous: Option<usize>,
    /// The entry's inode.
    ino: u32,
    /// The entry's record length.
    rec_len: usize,
    /// The length of the entry's name.
    name_len: usize,
}

/// Finds the entry that starts at `offset` in a block that is checked
/// whole on the way. An offset that is not where an entry starts (inside
/// one, or past the block) is refused: the caller's offset does not come
/// from this block.
fn locate(block: &[u8], base: u64, filetype: bool, offset: usize) -> Result<Located, Corrupt> {
    let mut previous = None;
    let mut found = None;
    for parsed in entries(block, base, filetype) {
        let (at, entry) = parsed?;
        if at == offset {
            found = Some(Located {
                previous,
                ino: entry.ino,
                rec_len: entry.rec_len,
                name_len: entry.name.len(),
            });
        }
        if at < offset {
            previous = Some(at);
        }
    }
    found.ok_or(bad_entry(base, offset))
}

/// Whether a new entry needing `needed` bytes fits in `entry`: an unused
/// entry as it is, a used one in what it has past its own needs (the two
/// tests of ext2_add_link).
fn fits(entry: &DirEntry<'_>, needed: usize) -> bool {
    if entry.ino == 0 {
        entry.rec_len >= needed
    } else {
        entry.rec_len >= rec_len_for(entry.name.len()).saturating_add(needed)
    }
}

/// The offset of the entry a new name of `name_len` bytes goes into, the
/// first that has room for it in `block` (at byte `base` of its
/// directory): an unused entry long enough, or a used one with that much
/// to spare. `None` if the block has no such entry.
///
/// Unlike ext2_add_link's walk, this one does not look for the name
/// already there (its `EEXIST`): [`find_name`] does, and the VFS has done
/// it before a create comes here.
pub(crate) fn find_slot(
    block: &[u8],
    base: u64,
    filetype: bool,
    name_len: usize,
) -> Result<Option<usize>, Corrupt> {
    let needed = rec_len_for(name_len);
    let mut slot = None;
    for parsed in entries(block, base, filetype) {
        let (at, entry) = parsed?;
        if slot.is_none() && fits(&entry, needed) {
            slot = Some(at);
        }
    }
    Ok(slot)
}

/// Writes `v` at `at` of `bytes`, if it lies inside.
fn put(bytes: &mut [u8], at: usize, v: &[u8]) -> Option<()> {
    bytes
        .get_mut(at..at.checked_add(v.len())?)?
        .copy_from_slice(v);
    Some(())
}

/// Writes an entry over `record`, its whole record (so its rec_len is the
/// record's length): the header, the name, and zeroes up to the name's
/// 4-byte boundary. The type byte is the file type with FILETYPE, else the
/// high byte of the name length, 0. Writes nothing and gives `None` if the
/// entry does not fit or the name is not 1 to 255 bytes.
fn write_entry(
    record: &mut [u8],
    ino: u32,
    name: &[u8],
    file_type: u8,
    filetype: bool,
) -> Option<()> {
    let rec_len = u16::try_from(record.len()).ok()?;
    let name_len = u8::try_from(name.len()).ok().filter(|&n| n != 0)?;
    let padded = record.get_mut(..rec_len_for(name.len()))?;
    let type_byte = if filetype { file_type } else { 0 };
    padded.fill(0);
    put(padded, 0, &ino.to_le_bytes())?;
    put(padded, 4, &rec_len.to_le_bytes())?;
    put(padded, 6, &[name_len, type_byte])?;
    put(padded, HEADER, name)
}

/// Sets the record length of the entry at `at` of `block`.
fn set_rec_len(block: &mut [u8], at: usize, rec_len: usize) -> Option<()> {
    let field = u16::try_from(rec_len).ok()?;
    put(block, at.checked_add(4)?, &field.to_le_bytes())
}

/// Writes a new entry for `name`, inode `ino`, at `offset`, which
/// [`find_slot`] gave (ext2_add_link's second half): an unused entry takes
/// the name whole, a used one is split, keeping the bytes it needs, the new
/// entry taking the rest. Gives the range of the block written, from the
/// entry at `offset` to its old end: what ext2_add_link commits.
///
/// `file_type` is recorded with FILETYPE only. Refused with nothing
/// written: a name not 1 to 255 bytes long (the callers check
/// `ENAMETOOLONG` first) or an entry at `offset` without the room, both
/// reported as the entry at `offset`.
pub(crate) fn insert_at(
    block: &mut [u8],
    base: u64,
    filetype: bool,
    offset: usize,
    name: &[u8],
    ino: u32,
    file_type: u8,
) -> Result<(usize, usize), Corrupt> {
    let bad = bad_entry(base, offset);
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(bad);
    }
    let target = locate(block, base, filetype, offset)?;
    let needed = rec_len_for(name.len());
    // What the entry at `offset` keeps: nothing if unused, else its own.
    let kept = if target.ino == 0 {
        0
    } else {
        rec_len_for(target.name_len)
    };
    if target.rec_len < kept.saturating_add(needed) {
        return Err(bad);
    }
    let end = offset + target.rec_len;
    let new_record = block.get_mut(offset + kept..end).ok_or(bad)?;
    write_entry(new_record, ino, name, file_type, filetype).ok_or(bad)?;
    if kept != 0 {
        set_rec_len(block, offset, kept).ok_or(bad)?;
    }
    Ok((offset, target.rec_len))
}

/// Checks that a block of `len` bytes can be a chain of entries at least
/// `min` bytes long: record lengths are multiples of 4 and 16-bit.
fn check_block_len(len: usize, min: usize) -> Result<(), Corrupt> {
    if len < min || len & 3 != 0 || len > usize::from(u16::MAX) {
        return Err(Corrupt::BlockSize(len as u64));
    }
    Ok(())
}

/// Makes `block` one unused entry that spans it, as ext2_add_link does with
/// the block past a directory's end before it puts a name there (the rest
/// zeroed, as that block reads before it is written). Refused for a block
/// length no record length can span (`Corrupt::BlockSize`).
pub(crate) fn new_empty_block(block: &mut [u8]) -> Result<(), Corrupt> {
    let len = block.len();
    check_block_len(len, rec_len_for(1))?;
    block.fill(0);
    set_rec_len(block, 0, len).ok_or(Corrupt::BlockSize(len as u64))
}

/// Writes the first block of a new directory, inode `self_ino` in the
/// directory `parent_ino` (ext2_make_empty): "." taking 12 bytes, ".."
/// taking the rest, both of type directory with FILETYPE; every other byte
/// zero. Refused for a block too short for both, or longer than a record
/// length can say (`Corrupt::BlockSize`).
pub(crate) fn init_dir_block(
    block: &mut [u8],
    self_ino: u32,
    parent_ino: u32,
    filetype: bool,
) -> Result<(), Corrupt> {
    let len = block.len();
    let refused = Corrupt::BlockSize(len as u64);
    check_block_len(len, DOT_REC_LEN + rec_len_for(2))?;
    block.fill(0);
    let (dot, dotdot) = block.split_at_mut_checked(DOT_REC_LEN).ok_or(refused)?;
    write_entry(dot, self_ino, b".", FT_DIR, filetype).ok_or(refused)?;
    write_entry(dotdot, parent_ino, b"..", FT_DIR, filetype).ok_or(refused)
}

/// Removes the entry at `offset` (ext2_delete_entry): the entry before it
/// in the block grows over it, or, if it is the block's first, its inode
/// becomes 0. Its inode is 0 either way, as C leaves it. Gives the range
/// changed, from the entry before (or this one) to this one's end: what
/// ext2_delete_entry commits. An offset where no entry of the block starts
/// is refused.
pub(crate) fn remove_at(
    block: &mut [u8],
    base: u64,
    filetype: bool,
    offset: usize,
) -> Result<(usize, usize), Corrupt> {
    let bad = bad_entry(base, offset);
    let target = locate(block, base, filetype, offset)?;
    let end = offset + target.rec_len;
    let from = target.previous.unwrap_or(offset);
    if let Some(previous) = target.previous {
        set_rec_len(block, previous, end - previous).ok_or(bad)?;
    }
    put(block, offset, &0u32.to_le_bytes()).ok_or(bad)?;
    Ok((from, end - from))
}

/// The offset and inode of the entry named `name` among those of `block`
/// that start in `range`, if a used one has it (ext2_match: unused entries
/// keep their names, but name nothing). The walk starts at `range.start`,
/// which must be where an entry starts (0, or an offset a walk of this
/// block found, with no change to the block since), and ends before the
/// first entry at or past `range.end`. The entries up to the match are
/// checked; those after it are not walked, as ext2_find_entry stops at its
/// match: a lookup of a name near a block's start costs the entries
/// before it, not the block.
pub(crate) fn find_name_in(
    block: &[u8],
    base: u64,
    filetype: bool,
    name: &[u8],
    range: Range<usize>,
) -> Result<Option<(usize, u32)>, Corrupt> {
    let mut walk = entries(block, base, filetype);
    walk.offset = range.start;
    while walk.offset < range.end {
        let Some(parsed) = walk.next() else {
            break;
        };
        let (at, entry) = parsed?;
        if entry.ino != 0 && same_name(entry.name, name) {
            return Ok(Some((at, entry.ino)));
        }
    }
    Ok(None)
}

/// Whether two names are the same. The last bytes are compared first:
/// names in one directory often share a prefix and differ at the end
/// (`f00001`, `f00002`, `page-1.html`), and one compare then settles most
/// entries of a walk without a call to `memcmp`.
#[inline(always)]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.last() == b.last() && a == b
}

/// Points the used entry at `offset` to inode `ino`, of type `file_type`
/// with FILETYPE (ext2_set_link: a rename over an existing name, or a
/// moved directory's ".."). Gives the range changed, the entry's record, as
/// ext2_set_link commits it. An offset where no used entry starts is
/// refused: an unused entry's left-over name is no link to change.
pub(crate) fn set_ino(
    block: &mut [u8],
    base: u64,
    filetype: bool,
    offset: usize,
    ino: u32,
    file_type: u8,
) -> Result<(usize, usize), Corrupt> {
    let bad = bad_entry(base, offset);
    let target = locate(block, base, filetype, offset)?;
    if target.ino == 0 {
        return Err(bad);
    }
    put(block, offset, &ino.to_le_bytes()).ok_or(bad)?;
    if filetype {
        put(block, offset + 7, &[file_type]).ok_or(bad)?;
    }
    Ok((offset, target.rec_len))
}

/// The offset and inode of the ".." entry of a directory's first block
/// (ext2_dotdot). ext2_dotdot takes the entry after the first, trusting
/// that the first is "."; here the first must be a used "." and the second
/// a used "..", or the block is refused at the one that is not.
pub(crate) fn dotdot(block: &[u8], base: u64, filetype: bool) -> Result<(usize, u32), Corrupt> {
    check_block(block, base, filetype)?;
    let mut walk = entries(block, base, filetype);
    let mut expect = |name: &[u8]| -> Result<(usize, u32), Corrupt> {
        match walk.next() {
            Some(Ok((at, entry))) if entry.ino != 0 && entry.name == name => Ok((at, entry.ino)),
            Some(Ok((at, _))) => Err(bad_entry(base, at)),
            Some(Err(c)) => Err(c),
            None => Err(bad_entry(base, block.len())),
        }
    };
    expect(b".")?;
    expect(b"..")
}

/// Whether `block`, a block of directory `dir_ino`, lets the directory be
/// removed (ext2_empty_dir, one block): every used entry is "." naming
/// `dir_ino` or "..". As in C, where in the directory they are is not
/// looked at, and neither is whether the first block has them.
pub(crate) fn block_is_empty(
    block: &[u8],
    base: u64,
    filetype: bool,
    dir_ino: u32,
) -> Result<bool, Corrupt> {
    let mut empty = true;
    for parsed in entries(block, base, filetype) {
        let (_, entry) = parsed?;
        let allowed =
            entry.ino == 0 || (entry.name == b"." && entry.ino == dir_ino) || entry.name == b"..";
        empty &= allowed;
    }
    Ok(empty)
}

/// What a directory's last searches for room found: no block below
/// `below` has room for an entry of `needed` bytes or more. ext2_add_link
/// walks every block from the first on each new name, so filling a
/// directory costs a walk of all its blocks per name; with this, the walk
/// starts where the last one found room, and a new name lands in the same
/// block as it would have in the C ext2 (the first with room), found
/// without re-reading the blocks known to be full.
///
/// Kept in memory only, per directory inode, and changed only under the
/// directory's exclusive lock, by the same calls that change its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RoomHint {
    /// Blocks below this one are full for `needed`.
    below: u64,
    /// The smallest entry the hint speaks for.
    needed: usize,
}

impl RoomHint {
    /// Knows nothing: every search starts at the first block.
    pub(crate) const NONE: Self = Self {
        below: 0,
        needed: 0,
    };

    /// The block a search for room for an entry of `needed` bytes starts
    /// at: where the hint says the full blocks end, if it speaks for an
    /// entry that small, else the first.
    pub(crate) fn first_block(self, needed: usize) -> u64 {
        if needed >= self.needed {
            self.below
        } else {
            0
        }
    }

    /// After a search for `needed` bytes, started at
    /// [`Self::first_block`], found room first in block `found` (or
    /// none, `found` being the directory's block count, where it grows):
    /// the blocks below `found` are full for `needed`.
    pub(crate) fn found_room(self, needed: usize, found: u64) -> Self {
        Self {
            below: found,
            needed,
        }
    }

    /// After an entry of block `block` was removed, which made room there.
    pub(crate) fn room_made(self, block: u64) -> Self {
        Self {
            below: self.below.min(block),
            ..self
        }
    }

    /// The hint as one word, for an atomic: the size in the top 16 bits
    /// (an entry needs at most 264 bytes), the block below them (a
    /// directory's blocks number fewer than 2^32).
    pub(crate) fn to_word(self) -> u64 {
        let needed = self.needed.min(u16::MAX as usize) as u64;
        (needed << 48) | (self.below & ((1 << 48) - 1))
    }

    /// The hint [`Self::to_word`] gave `word` for.
    pub(crate) fn from_word(word: u64) -> Self {
        Self {
            below: word & ((1 << 48) - 1),
            needed: (word >> 48) as usize,
        }
    }
}
