// SPDX-License-Identifier: GPL-2.0

//! The decisions of the mpage read engine, in plain Rust.
//!
//! Nothing here touches the kernel: given a folio's place in the file and a
//! block mapper, [`plan_folio`] decides whether the folio can go to disk in
//! one piece (and from where), is all holes, or must take the buffer_head
//! path; [`BioPlanner`] decides where a bio ends. The kernel side
//! (`engine.rs`) only carries these decisions out, so the host tests in
//! `tests/host` can drive every branch with a fake mapper.

pub(crate) use super::mapping::{MapKind, Mapping};

/// The mapping of the previous call, reused for the following folios as long
/// as it covers them (fs/mpage.c keeps it in `map_bh`): one mapper call per
/// extent, not per folio.
#[derive(Default, Debug)]
pub(crate) struct MapCache {
    last: Option<Mapping>,
    calls: u64,
}

impl MapCache {
    /// The mapping of `lblk`: the cached one if it covers `lblk`, else the
    /// mapper's answer for up to `limit - lblk` blocks (never past `limit`),
    /// which is then cached.
    fn lookup<E>(
        &mut self,
        lblk: u64,
        limit: u64,
        map: &mut impl FnMut(u64, u64) -> Result<Mapping, E>,
    ) -> Result<Mapping, E> {
        if let Some(m) = self.last.filter(|m| m.covers(lblk)) {
            return Ok(m);
        }
        self.calls += 1;
        let max = limit - lblk;
        let mut m = map(lblk, max)?;
        // A mapper answers for `lblk` on, for at least one block and at most
        // what was asked.
        m.lblk = lblk;
        if m.len > max {
            // Clamped: the run goes on, so its end is no boundary.
            m.len = max;
            if let MapKind::Mapped { boundary, .. } = &mut m.kind {
                *boundary = false;
            }
        }
        m.len = m.len.max(1);
        if m.new {
            m.kind = MapKind::Hole;
        }
        self.last = Some(m);
        Ok(m)
    }

    /// Mapper calls made through this cache.
    pub(crate) fn calls(&self) -> u64 {
        self.calls
    }
}

/// Why a folio takes the buffer_head path instead of one bio segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Confusion {
    /// The folio already has buffer_heads: their state is authoritative.
    HasBuffers,
    /// A hole followed by data inside the folio: a bio segment cannot skip.
    HoleThenData,
    /// The folio's blocks are not contiguous on disk.
    Discontiguous,
    /// The mapper says it already filled some of the folio's blocks.
    Filled,
    /// Only for a folio that may be read in pieces: a mapping ends at a
    /// BH_Boundary inside the folio. Mapping the next block reads metadata,
    /// and the data before the boundary should reach the disk first; read
    /// in pieces, it does (fs/mpage.c, which has no pieces, reads the
    /// metadata first whenever a boundary falls inside a folio).
    Boundary,
}

/// What to do with one folio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FolioPlan {
    /// Every block is a hole or past EOF: zero it, mark it uptodate, no I/O.
    AllHoles,
    /// Read blocks `0..nblocks` of the folio from device block `pblk` on,
    /// contiguous. If `nblocks` is less than the folio's blocks, the rest is
    /// holes or past EOF and is zeroed.
    Read {
        /// Device block of the folio's first block.
        pblk: u64,
        /// Blocks to read, from the folio's start.
        nblocks: u64,
        /// The folio ends exactly at the end of a boundary mapping.
        boundary: bool,
    },
    /// Take the buffer_head path (fs/mpage.c's "confused").
    Confused(Confusion),
}

/// Where a folio sits: its first logical block, its size in blocks, and the
/// first logical block the read must not map (the end of the readahead
/// request or EOF, whichever comes first).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FolioSpan {
    /// Logical block of the folio's first byte.
    pub(crate) first: u64,
    /// Blocks in the folio.
    pub(crate) blocks: u64,
    /// Mapping stops before this block: blocks at or past it are holes.
    pub(crate) limit: u64,
}

impl FolioSpan {
    /// The span of a folio at byte `pos` of `size` bytes, in a file of
    /// `i_size` bytes with `1 << blkbits`-byte blocks, when `pages_left`
    /// pages of `page_size` are left in the request (this folio included).
    pub(crate) fn new(
        pos: u64,
        size: u64,
        i_size: u64,
        blkbits: u32,
        pages_left: u64,
        page_size: u64,
    ) -> Self {
        let first = pos >> blkbits;
        let blocks = (size >> blkbits).max(1);
        // Never ask the mapper beyond what the caller asked us to read
        // (fs/mpage.c once asked for 4-16x too much with large folios), nor
        // beyond EOF.
        let request_end = first.saturating_add(pages_left.saturating_mul(page_size) >> blkbits);
        let eof = i_size.div_ceil(1u64 << blkbits);
        Self {
            first,
            blocks,
            limit: request_end.min(eof),
        }
    }
}

/// Decides how to read one folio, calling `map(lblk, max_blocks)` only for
/// blocks the cached mapping does not cover.
///
/// `max_blocks` never reaches past `span.limit`. A mapper error is returned
/// as is: the caller fails the folio (the buffer_head path would only ask the
/// mapper again and get the same error). `may_split` says the caller can read
/// the folio in pieces ([`walk_extents`]) rather than whole through the
/// buffer_head path: then a boundary inside the folio stops the plan before
/// the block after it is mapped ([`Confusion::Boundary`]).
pub(crate) fn plan_folio<E>(
    span: FolioSpan,
    has_buffers: bool,
    may_split: bool,
    cache: &mut MapCache,
    mut map: impl FnMut(u64, u64) -> Result<Mapping, E>,
) -> Result<FolioPlan, E> {
    if has_buffers {
        return Ok(FolioPlan::Confused(Confusion::HasBuffers));
    }
    let mut first_hole: Option<u64> = None;
    let mut first_pblk = 0u64;
    let mut boundary = false;
    let mut i = 0u64;
    while i < span.blocks {
        let lblk = span.first + i;
        if lblk >= span.limit {
            // Past EOF or the request: treat as holes, mapping nothing.
            first_hole.get_or_insert(i);
            break;
        }
        let m = cache.lookup(lblk, span.limit, &mut map)?;
        if m.filled {
            return Ok(FolioPlan::Confused(Confusion::Filled));
        }
        // Blocks of this mapping that fall inside the folio.
        let run = (m.lblk + m.len - lblk).min(span.blocks - i);
        match m.kind {
            MapKind::Hole => {
                first_hole.get_or_insert(i);
            }
            MapKind::Mapped { pblk, boundary: b } => {
                if first_hole.is_some() {
                    return Ok(FolioPlan::Confused(Confusion::HoleThenData));
                }
                let pblk_here = pblk + (lblk - m.lblk);
                if i == 0 {
                    first_pblk = pblk_here;
                } else if first_pblk + i != pblk_here {
                    return Ok(FolioPlan::Confused(Confusion::Discontiguous));
                }
                // The folio consumed the mapping up to its last block.
                boundary = b && lblk + run == m.lblk + m.len;
                // ... and goes on past it, into blocks that need mapping.
                if boundary && may_split && i + run < span.blocks && lblk + run < span.limit {
                    return Ok(FolioPlan::Confused(Confusion::Boundary));
                }
            }
        }
        i += run;
    }
    Ok(match first_hole {
        Some(0) => FolioPlan::AllHoles,
        // A hole ends the folio's I/O anyway: the bio is submitted for
        // that reason, not at a boundary.
        Some(n) => FolioPlan::Read {
            pblk: first_pblk,
            nblocks: n,
            boundary: false,
        },
        None => FolioPlan::Read {
            pblk: first_pblk,
            nblocks: span.blocks,
            boundary,
        },
    })
}

/// A run of a folio's blocks, all holes or all contiguous on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extent {
    /// First block, counted from the folio's start.
    pub(crate) first: u64,
    /// Number of blocks.
    pub(crate) len: u64,
    /// Holes (or past EOF or the request), or where they are on disk; a
    /// mapped extent's `boundary` says it ends where its mapping did, at a
    /// BH_Boundary.
    pub(crate) kind: MapKind,
}

/// Walks a folio's blocks as [`Extent`]s, in order, calling `visit` on
/// each: for large folios that [`plan_folio`] found confused, which rmpage
/// reads in pieces rather than block by block through buffer_heads. Uses the
/// same cache and limits as [`plan_folio`]; an error from `map` or `visit`
/// stops the walk.
pub(crate) fn walk_extents<E>(
    span: FolioSpan,
    cache: &mut MapCache,
    mut map: impl FnMut(u64, u64) -> Result<Mapping, E>,
    mut visit: impl FnMut(Extent) -> Result<(), E>,
) -> Result<(), E> {
    let mut cur: Option<Extent> = None;
    let mut i = 0u64;
    while i < span.blocks {
        let lblk = span.first + i;
        let (run, kind) = if lblk >= span.limit {
            (span.blocks - i, MapKind::Hole)
        } else {
            let m = cache.lookup(lblk, span.limit, &mut map)?;
            let run = (m.lblk + m.len - lblk).min(span.blocks - i);
            let kind = match m.kind {
                MapKind::Hole => MapKind::Hole,
                MapKind::Mapped { pblk, boundary } => MapKind::Mapped {
                    pblk: pblk + (lblk - m.lblk),
                    boundary: boundary && lblk + run == m.lblk + m.len,
                },
            };
            (run, kind)
        };
        // Extend the current extent if this run continues it.
        let joined = match (&mut cur, kind) {
            (Some(e), MapKind::Hole) if e.kind == MapKind::Hole => {
                e.len += run;
                true
            }
            (
                Some(Extent {
                    len,
                    kind:
                        MapKind::Mapped {
                            pblk: p0,
                            boundary: b0,
                        },
                    ..
                }),
                MapKind::Mapped { pblk, boundary },
            ) if *p0 + *len == pblk && !*b0 => {
                *len += run;
                *b0 = boundary;
                true
            }
            _ => false,
        };
        if !joined {
            if let Some(e) = cur.take() {
                visit(e)?;
            }
            cur = Some(Extent {
                first: i,
                len: run,
                kind,
            });
        }
        // An extent ending at a boundary cannot grow, and its I/O must go out
        // before the mapper reads the next block's metadata.
        if let Some(Extent {
            kind: MapKind::Mapped { boundary: true, .. },
            ..
        }) = cur
        {
            if let Some(e) = cur.take() {
                visit(e)?;
            }
        }
        i += run;
    }
    if let Some(e) = cur {
        visit(e)?;
    }
    Ok(())
}

/// What the engine does with the open bio around one folio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct BioSteps {
    /// Submit the open bio before adding this folio: the folio does not
    /// continue it on disk.
    pub(crate) submit_before: bool,
    /// Submit the bio right after adding this folio: a boundary was reached,
    /// or the folio ends in a hole, so nothing can follow it in this bio.
    pub(crate) submit_after: bool,
}

/// Tracks the open bio: where on disk the next folio must start to join it.
#[derive(Default, Debug)]
pub(crate) struct BioPlanner {
    /// Device block right after the open bio's last block, if a bio is open.
    next_pblk: Option<u64>,
}

impl BioPlanner {
    /// Whether a bio is open.
    #[cfg(test)]
    pub(crate) fn is_open(&self) -> bool {
        self.next_pblk.is_some()
    }

    /// Steps for a folio whose first `nblocks` blocks go to disk from `pblk`
    /// (planned as `Read { pblk, nblocks, boundary }`, or as a write) and
    /// that has `folio_blocks` blocks. Updates the open bio's end.
    pub(crate) fn folio(
        &mut self,
        pblk: u64,
        nblocks: u64,
        boundary: bool,
        folio_blocks: u64,
    ) -> BioSteps {
        let submit_before = matches!(self.next_pblk, Some(next) if next != pblk);
        let submit_after = boundary || nblocks < folio_blocks;
        self.next_pblk = if submit_after {
            None
        } else {
            Some(pblk + nblocks)
        };
        BioSteps {
            submit_before,
            submit_after,
        }
    }

    /// Steps for one piece of a split folio: `nblocks` blocks at `pblk`.
    /// Pieces join the open bio whenever they continue it on disk, whatever
    /// their place in memory.
    pub(crate) fn piece(&mut self, pblk: u64, nblocks: u64, boundary: bool) -> BioSteps {
        let submit_before = matches!(self.next_pblk, Some(next) if next != pblk);
        self.next_pblk = if boundary { None } else { Some(pblk + nblocks) };
        BioSteps {
            submit_before,
            submit_after: boundary,
        }
    }

    /// The open bio was submitted (full, or before a fallback).
    pub(crate) fn closed(&mut self) {
        self.next_pblk = None;
    }
}

/// Segments a bio is allocated with: one per page left in the request, as
/// fs/mpage.c does, up to the block layer's limit. With large folios a
/// segment can hold a whole folio, so this is an upper bound that fits.
pub(crate) fn bio_segments(pages_left: u64, max_vecs: u64) -> u64 {
    pages_left.clamp(1, max_vecs)
}

/// What a read does with a folio whose I/O could not be set up: an
/// allocation for it (a bio, a bio's context, a split folio's counter) or a
/// mapping of its blocks failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetupFailure {
    /// Read it through the buffer_head path, which allocates as it must:
    /// fs/mpage.c's `confused:` when a bio cannot be allocated. The reader
    /// of read_folio then never sees an allocation failure.
    BufferHeads,
    /// Unlock it unread and stop the readahead: read_folio reads it when
    /// someone wants it, and may allocate as readahead must not.
    GiveBack,
    /// Fail its read: it does not become uptodate, and readahead stops.
    Fail,
}

/// Decides a [`SetupFailure`]: `out_of_memory` if an allocation failed
/// (otherwise a mapping did, which reading again would not cure);
/// `readahead` for readahead, not read_folio; `in_flight` if some of the
/// folio is in a bio already (pieces of a split folio), so that it can no
/// longer be handed on whole. A folio read in pieces and one read whole get
/// the same answer as long as none of their bytes is in a bio: see
/// [`hold_split_bios`].
pub(crate) fn setup_failure(out_of_memory: bool, readahead: bool, in_flight: bool) -> SetupFailure {
    if !out_of_memory || in_flight {
        SetupFailure::Fail
    } else if readahead {
        SetupFailure::GiveBack
    } else {
        SetupFailure::BufferHeads
    }
}

/// Whether the bios of a folio read in pieces are held back until every
/// piece is in one. read_folio's are: an allocation that fails part way
/// through then finds none of the folio in flight, and the folio goes to
/// the buffer_head path whole, as a folio read in one piece does
/// ([`setup_failure`]). The engine maps the whole folio before it fills
/// the first of them, and allocates them without waiting for memory: a task
/// must not wait for a bio_set's reserve, or for I/O, while holding bios
/// that may be that reserve. Readahead sends each bio as it fills: a
/// failure gives up the folio anyway, and the pieces before a BH_Boundary
/// reach the disk before the metadata that the next mapping reads.
pub(crate) fn hold_split_bios(readahead: bool) -> bool {
    !readahead
}
