// SPDX-License-Identifier: GPL-2.0

//! The decisions of `write_begin` on a folio with buffer_heads, in plain
//! Rust: fs/buffer.c's `__block_write_begin_int`, which prepares bytes
//! `from..to` of a locked folio for a `write()` to copy into.
//!
//! The C helper asks `get_block` for one block at a time, so a 1 MiB write
//! into a hole allocates block by block: 256 mapper calls, each walking the
//! block map and the bitmap again. Here the blocks of the range are mapped
//! a run at a time ([`blocks_to_map`]): one mapper call for each run of
//! unmapped buffers, as the engine's writeback asks for a folio's run.
//! What follows is per buffer, as in C ([`prepare_buffer`]): zero around
//! the write in blocks just allocated, read the rest of partial blocks that
//! are on disk. Only the buffers the write touches are visited: the C helper
//! walks every buffer of the folio on every write, which a large folio
//! (hundreds of buffers) makes the cost of a small write. The kernel side (`rust-bindings/fs.rs`) carries it out; the
//! host tests in `tests/host` drive every branch.

use core::ops::Range;

/// What the buffer_head of one block says, as far as `write_begin` cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PrepareState {
    /// The block was allocated by this `write_begin` (`BH_New`): the disk
    /// holds stale bytes there.
    pub(crate) new: bool,
    /// The buffer's bytes are valid (`BH_Uptodate`).
    pub(crate) uptodate: bool,
}

/// What `write_begin` does with one buffer once the blocks are mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PrepareBuffer {
    /// Nothing.
    Keep,
    /// The folio is uptodate, so the buffer's bytes are valid too.
    MarkUptodate,
    /// A block just allocated under an uptodate folio: the folio's bytes
    /// are what the block must hold, so the buffer is uptodate and dirty,
    /// and no longer new (nothing needs zeroing).
    CommitNew,
    /// A block just allocated that the write covers in part: the bytes of
    /// the block it does not cover are zeroed, or the disk's stale bytes
    /// would be written with it. Both ranges are folio offsets; either may
    /// be empty.
    ZeroAround {
        /// From the block's start to the write's.
        head: Range<usize>,
        /// From the write's end to the block's.
        tail: Range<usize>,
    },
    /// A block on disk, not in memory, that the write covers in part: read
    /// it before the write copies its part in.
    Read,
}

/// Decides for the buffer of bytes `block` of a folio (folio offsets), one
/// that bytes `write` of the folio touch and that is mapped now, as
/// `__block_write_begin_int` does after `get_block`.
///
/// Buffers the write does not touch are left alone, where the C helper
/// marks them uptodate if the folio is: buffers attached to an uptodate
/// folio are made uptodate then (`create_empty_buffers`), and the flag of
/// one the write does not touch changes nothing a write or a read does
/// (`block_commit_write` looks at it only to decide whether to mark a folio
/// uptodate that is not).
pub(crate) fn prepare_buffer(
    block: Range<usize>,
    write: &Range<usize>,
    folio_uptodate: bool,
    state: PrepareState,
) -> PrepareBuffer {
    let partial = block.start < write.start || block.end > write.end;
    if folio_uptodate && !state.new {
        return if folio_uptodate && !state.uptodate {
            PrepareBuffer::MarkUptodate
        } else {
            PrepareBuffer::Keep
        };
    }
    if state.new {
        if folio_uptodate {
            return PrepareBuffer::CommitNew;
        }
        if partial {
            return PrepareBuffer::ZeroAround {
                head: block.start..write.start.max(block.start),
                tail: write.end.min(block.end)..block.end,
            };
        }
        return PrepareBuffer::Keep;
    }
    if !state.uptodate && partial {
        PrepareBuffer::Read
    } else {
        PrepareBuffer::Keep
    }
}

/// How many blocks to ask the mapper for at the unmapped buffer of bytes
/// `block_start..` of a folio with blocks of `1 << blkbits` bytes, for bytes
/// `write` being written: every block from this one to the end of the write.
/// The mapper stops a run at the first block already on disk, so nothing
/// outside the write is allocated, and a failed write frees what it
/// allocated past EOF as it does today.
pub(crate) fn blocks_to_map(block_start: usize, write: &Range<usize>, blkbits: u32) -> u64 {
    let left = write.end.saturating_sub(block_start) as u64;
    left.div_ceil(1 << blkbits).max(1)
}

/// Where a write may end instead of failing whole when the disk runs out of
/// blocks at byte `failed_at` of the folio (the start of the first block of
/// `write` that could not be allocated), `valid_after` saying whether any
/// byte from there to the write's end is valid in memory (the folio is
/// uptodate, or a buffer there is).
///
/// A write covers a whole folio at a time, and with large folios that is
/// many blocks: failing it whole would leave the blocks before `failed_at`
/// unused, where the C ext2, allocating block by block, fills the disk to
/// its last block. So the write ends at `failed_at` when it began before
/// it: generic_perform_write copies the whole range, `write_end` commits
/// only the bytes before `failed_at`, and the next `write_begin`, there,
/// finds the disk full, so `write()` returns the bytes before it. The bytes
/// copied past `failed_at` are never committed: that is safe only where
/// nothing valid lies under them, since nobody could put it back; `None`
/// (fail whole) otherwise.
pub(crate) fn shortened_end(
    write: &Range<usize>,
    failed_at: usize,
    valid_after: bool,
) -> Option<usize> {
    (write.start < failed_at && failed_at < write.end && !valid_after).then_some(failed_at)
}
