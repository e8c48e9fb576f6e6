// SPDX-License-Identifier: GPL-2.0

//! The decisions of the mpage write engine, in plain Rust: fs/mpage.c's
//! `mpage_write_folio`, up to the point where the folio goes into a bio or
//! to the buffer_head path.
//!
//! Given what a dirty folio's buffer_heads say about its blocks, or, for a
//! folio without buffers, what the block mapper says (allocating holes),
//! [`plan_buffered`] and [`plan_unbuffered`] decide whether the folio can go
//! to disk as one bio segment, from where, and whether a BH_Boundary ends the
//! bio after it. The kernel side (`write.rs`) carries this out; the host
//! tests in `tests/host` drive every branch.

use super::mapping::{MapKind, Mapping};

/// What a buffer_head says about one block of a folio under writeback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct BufferState {
    /// The buffer knows its device block (`BH_Mapped`).
    pub(crate) mapped: bool,
    /// Its bytes must be written (`BH_Dirty`).
    pub(crate) dirty: bool,
    /// Its bytes are valid (`BH_Uptodate`).
    pub(crate) uptodate: bool,
    /// Mapping the next block needs a metadata read (`BH_Boundary`).
    pub(crate) boundary: bool,
    /// The device block, if mapped.
    pub(crate) pblk: u64,
}

/// Why a dirty folio takes the buffer_head write path
/// (`block_write_full_folio`) instead of one bio segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteConfusion {
    /// An unmapped dirty buffer: mmapped data over a hole, which the
    /// buffer_head path maps block by block.
    DirtyUnmapped,
    /// A hole (unmapped buffer) followed by a mapped one.
    HoleThenData,
    /// A mapped buffer that is clean or not uptodate: only some blocks are
    /// to be written.
    PartlyDirty,
    /// The folio's blocks are not contiguous on disk.
    Discontiguous,
    /// The folio has buffers, but none is mapped.
    NoneMapped,
    /// The mapper left a block of the folio unmapped (or filled it itself).
    Unmapped,
}

/// What to do with one dirty folio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WritePlan {
    /// The folio lies wholly past EOF: truncation is removing it; write
    /// nothing and allocate nothing (fs/mpage.c leaked blocks here until
    /// 2023).
    PastEof,
    /// Write blocks `0..nblocks` of the folio, contiguous on disk from
    /// `pblk`. Fewer blocks than the folio has means the rest lies past EOF
    /// (or is a clean hole at the end of a buffered folio).
    Write {
        /// Device block of the folio's first block.
        pblk: u64,
        /// Blocks to write, from the folio's start.
        nblocks: u64,
        /// The last block written carries BH_Boundary: the bio must go now.
        boundary: bool,
        /// The last block of the folio that carried BH_Boundary: the
        /// indirect block after it is most likely dirty, and is written
        /// right after the bio (`write_boundary_block`).
        boundary_block: Option<u64>,
    },
    /// Only for a large folio whose buffers are all mapped, dirty and
    /// uptodate (up to the first clean hole) but not contiguous on disk:
    /// write its first `nblocks` blocks in pieces, one per run of blocks
    /// contiguous on disk ([`for_each_run`]), where fs/mpage.c would hand
    /// it to the buffer_head path and its one bio per block.
    Split {
        /// Blocks to write, from the folio's start.
        nblocks: u64,
    },
    /// Take the buffer_head path.
    Confused(WriteConfusion),
}

/// Tracks the blocks of a folio mapped so far, in order: contiguity and
/// boundaries, as `mpage_write_folio` tracks them in `first_block`,
/// `page_block`, `boundary` and `boundary_block`.
#[derive(Default)]
struct MappedRun {
    first: u64,
    len: u64,
    boundary: bool,
    boundary_block: Option<u64>,
}

impl MappedRun {
    /// Adds the folio's next block, on disk at `pblk`; false if it does not
    /// continue the run on disk.
    fn push(&mut self, pblk: u64, boundary: bool) -> bool {
        if self.len == 0 {
            self.first = pblk;
        } else if self.first.checked_add(self.len) != Some(pblk) {
            return false;
        }
        self.len += 1;
        self.boundary = boundary;
        if boundary {
            self.boundary_block = Some(pblk);
        }
        true
    }

    fn plan(&self) -> WritePlan {
        WritePlan::Write {
            pblk: self.first,
            nblocks: self.len,
            boundary: self.boundary,
            boundary_block: self.boundary_block,
        }
    }
}

/// Plans a folio that has buffer_heads, from their states in block order.
/// `folio_past_eof` says the folio starts at or past EOF; `may_split` that
/// the caller can write it in pieces (a large folio).
///
/// All mapped, dirty and uptodate, contiguous on disk, followed by nothing
/// or by clean holes: one bio segment. The same but discontiguous, where
/// the folio may be split: pieces. Anything else takes the buffer_head
/// path, which knows block by block what to write (fs/mpage.c: "confused").
pub(crate) fn plan_buffered(
    buffers: impl Iterator<Item = BufferState>,
    folio_past_eof: bool,
    may_split: bool,
) -> WritePlan {
    let mut run = MappedRun::default();
    let mut seen_hole = false;
    let mut split = false;
    for bh in buffers {
        if !bh.mapped {
            // Unmapped dirty buffers come from block_dirty_folio: mmapped
            // data over a hole.
            if bh.dirty {
                return WritePlan::Confused(WriteConfusion::DirtyUnmapped);
            }
            seen_hole = true;
            continue;
        }
        if seen_hole {
            return WritePlan::Confused(WriteConfusion::HoleThenData);
        }
        if !bh.dirty || !bh.uptodate {
            return WritePlan::Confused(WriteConfusion::PartlyDirty);
        }
        if split {
            run.len += 1;
        } else if !run.push(bh.pblk, bh.boundary) {
            if !may_split {
                return WritePlan::Confused(WriteConfusion::Discontiguous);
            }
            split = true;
            run.len += 1;
        }
    }
    if run.len == 0 {
        // Read over holes by the buffer_head path, or created by pagein.
        return WritePlan::Confused(WriteConfusion::NoneMapped);
    }
    if folio_past_eof {
        return WritePlan::PastEof;
    }
    if split {
        return WritePlan::Split { nblocks: run.len };
    }
    run.plan()
}

/// A run of a folio's blocks contiguous on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WriteRun {
    /// First block, counted from the folio's start.
    pub(crate) first: u64,
    /// Number of blocks.
    pub(crate) len: u64,
    /// Device block of the first.
    pub(crate) pblk: u64,
    /// The run's last block carries BH_Boundary: the bio must go after it.
    pub(crate) boundary: bool,
}

/// Calls `visit` on the runs of the first `nblocks` buffers, in order, each
/// as long as the blocks stay contiguous on disk and no boundary ends it
/// (for a folio planned as [`WritePlan::Split`]).
pub(crate) fn for_each_run<E>(
    buffers: impl Iterator<Item = BufferState>,
    nblocks: u64,
    mut visit: impl FnMut(WriteRun) -> Result<(), E>,
) -> Result<(), E> {
    let mut cur: Option<WriteRun> = None;
    for (i, bh) in (0..nblocks).zip(buffers) {
        match &mut cur {
            Some(r) if !r.boundary && r.pblk + r.len == bh.pblk => {
                r.len += 1;
                r.boundary = bh.boundary;
            }
            _ => {
                if let Some(r) = cur.take() {
                    visit(r)?;
                }
                cur = Some(WriteRun {
                    first: i,
                    len: 1,
                    pblk: bh.pblk,
                    boundary: bh.boundary,
                });
            }
        }
    }
    match cur {
        Some(r) => visit(r),
        None => Ok(()),
    }
}

/// Where a folio without buffers sits: its first logical block, its size in
/// blocks, and how many blocks of the file there are (EOF rounded up).
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteSpan {
    /// Logical block of the folio's first byte.
    pub(crate) first: u64,
    /// Blocks in the folio.
    pub(crate) blocks: u64,
    /// Blocks in the file: `i_size` rounded up to a block.
    pub(crate) file_blocks: u64,
}

impl WriteSpan {
    /// The span of a folio at byte `pos` of `size` bytes in a file of
    /// `i_size` bytes with `1 << blkbits`-byte blocks.
    pub(crate) fn new(pos: u64, size: u64, i_size: u64, blkbits: u32) -> Self {
        Self {
            first: pos >> blkbits,
            blocks: (size >> blkbits).max(1),
            file_blocks: i_size.div_ceil(1u64 << blkbits),
        }
    }

    /// Blocks of the folio that lie inside the file.
    fn blocks_in_file(&self) -> u64 {
        self.file_blocks.saturating_sub(self.first).min(self.blocks)
    }
}

/// The mapping of the previous call, reused for the following blocks of the
/// folio while it covers them: the mapper is asked once for all the blocks a
/// folio needs, not block by block as fs/mpage.c's `get_block` is. It is
/// never asked past the folio: a hole there would be allocated for data
/// nobody may write, and the block would then read as whatever the disk
/// held. (The caller keeps a cache for one folio: the next one is not locked
/// yet, and truncation may change its blocks meanwhile.)
#[derive(Default, Debug)]
pub(crate) struct WriteMapCache {
    last: Option<Mapping>,
    calls: u64,
}

impl WriteMapCache {
    /// Mapper calls made through this cache.
    pub(crate) fn calls(&self) -> u64 {
        self.calls
    }

    fn lookup<E>(
        &mut self,
        lblk: u64,
        max: u64,
        map: &mut impl FnMut(u64, u64) -> Result<Mapping, E>,
    ) -> Result<Mapping, E> {
        if let Some(m) = self.last.filter(|m| m.covers(lblk)) {
            return Ok(m);
        }
        self.calls += 1;
        let mut m = map(lblk, max.max(1))?;
        m.lblk = lblk;
        m.len = m.len.max(1);
        self.last = Some(m);
        Ok(m)
    }
}

/// Plans a folio without buffers: maps its blocks inside the file through
/// `map(lblk, max_blocks)`, which allocates holes, and calls `fresh` on each
/// run the mapper has just allocated (the caller cleans stale aliases of
/// those blocks from the device's cache). A folio wholly past EOF maps
/// nothing.
///
/// A mapper error is returned as is: the caller hands the folio to the
/// buffer_head path, which asks again block by block and reports the error.
pub(crate) fn plan_unbuffered<E>(
    span: WriteSpan,
    cache: &mut WriteMapCache,
    mut map: impl FnMut(u64, u64) -> Result<Mapping, E>,
    mut fresh: impl FnMut(u64, u64),
) -> Result<WritePlan, E> {
    let inside = span.blocks_in_file();
    if inside == 0 {
        return Ok(WritePlan::PastEof);
    }
    let mut run = MappedRun::default();
    let mut i = 0u64;
    while i < inside {
        let lblk = span.first + i;
        let before = cache.calls();
        let m = cache.lookup(lblk, inside - i, &mut map)?;
        let MapKind::Mapped { pblk, boundary } = m.kind else {
            return Ok(WritePlan::Confused(WriteConfusion::Unmapped));
        };
        if m.filled {
            return Ok(WritePlan::Confused(WriteConfusion::Unmapped));
        }
        if m.new && cache.calls() != before {
            fresh(pblk, m.len);
        }
        // Blocks of this mapping inside the folio and the file.
        let n = (m.lblk + m.len - lblk).min(inside - i);
        let at = pblk + (lblk - m.lblk);
        for k in 0..n {
            // Only the mapping's last block carries its boundary.
            let last_of_mapping = lblk + k + 1 == m.lblk + m.len;
            if !run.push(at + k, boundary && last_of_mapping) {
                return Ok(WritePlan::Confused(WriteConfusion::Discontiguous));
            }
        }
        i += n;
    }
    Ok(run.plan())
}
