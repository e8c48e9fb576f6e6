// SPDX-License-Identifier: GPL-2.0

//! The read engine: carries out [`plan`](super::plan)'s decisions on real
//! folios and bios. Ordered like fs/mpage.c: the per-folio worker, then the
//! `read_folio` and `readahead` entry points.

use super::{
    bio_stream::{BioStream, NotAdded},
    plan::{
        bio_segments, hold_split_bios, plan_folio, setup_failure, walk_extents, Confusion, Extent,
        FolioPlan, FolioSpan, MapCache, MapKind, Mapping, SetupFailure,
    },
    stats::Stats,
};
use crate::rust_bindings::{
    bio::{BlockDevice, InFlight, Read, ReadAlloc, ReadBio, SplitBuilder},
    folio::ReadFolio,
    readahead::Readahead,
};
use core::ops::Range;
use kernel::{bindings, error::Error, page::PAGE_SIZE, prelude::*};

/// A filesystem's block mapper, as the engine sees it.
pub(crate) trait Mapper {
    /// Maps logical block `lblk` and up to `max_blocks - 1` blocks after it;
    /// with `create`, a hole at `lblk` is allocated (and said `new`). The
    /// answer starts at `lblk` and covers at least one block.
    fn map(&self, lblk: u64, max_blocks: u64, create: bool) -> Result<Mapping>;

    /// Whether [`Mapper::map`] may answer [`Mapping::filled`]. A folio with
    /// a filled block must go to the buffer_head path whole, so the large
    /// folios of such a mapper are never read in pieces: the engine decides
    /// that before it has seen every block of the folio.
    fn may_fill(&self) -> bool {
        false
    }
}

/// One file to read from: its geometry, its mapper, its mount's device and
/// counters, and the buffer_head path to fall back on.
pub(crate) struct ReadTarget<'a, M: Mapper> {
    pub(crate) bdev: BlockDevice<'a>,
    pub(crate) blkbits: u32,
    pub(crate) i_size: u64,
    pub(crate) mapper: &'a M,
    /// The mount's counters, and its count of bios in flight, which every
    /// bio holds a unit of until its completion is over.
    pub(crate) stats: &'a InFlight<Stats>,
    /// Reads one folio through the buffer_head path
    /// (`block_read_full_folio`), which unlocks it.
    pub(crate) fallback: &'a dyn Fn(ReadFolio) -> Result,
}

impl<M: Mapper> ReadTarget<'_, M> {
    /// A read bio starting at device block `pblk`, with a segment for each
    /// of the request's `pages_left` pages, as fs/mpage.c allocates them;
    /// `None` if memory is short. `held`: bios of this read are held back
    /// unsent, so the allocation must not wait for memory.
    fn new_bio(
        &self,
        pblk: u64,
        pages_left: u64,
        readahead: bool,
        held: bool,
    ) -> Option<ReadBio<Stats>> {
        let segments = bio_segments(pages_left, u64::from(bindings::BIO_MAX_VECS));
        ReadBio::alloc(
            self.bdev,
            pblk << (self.blkbits - 9),
            segments as usize,
            ReadAlloc::new(readahead, held),
            self.stats,
        )
    }
}

/// State that crosses folios within one call (fs/mpage.c's
/// `mpage_readpage_args`): the reusable mapping and the open bio.
struct ReadState<'a, 't, M: Mapper> {
    target: &'t ReadTarget<'a, M>,
    readahead: bool,
    cache: MapCache,
    bios: BioStream<'a, Read>,
}

impl<'a, 't, M: Mapper> ReadState<'a, 't, M> {
    fn new(target: &'t ReadTarget<'a, M>, readahead: bool) -> Self {
        Self {
            target,
            readahead,
            cache: MapCache::default(),
            bios: BioStream::new(target.stats, target.bdev, target.blkbits),
        }
    }

    /// Reads one folio (fs/mpage.c's `do_mpage_readpage`). `pages_left`
    /// counts the pages of the request from this folio on.
    ///
    /// Returns an error if the folio failed before this returned (its
    /// blocks could not be mapped, here or on the buffer_head path):
    /// readahead then stops, since the following folios would most likely
    /// fail the same way, each after a slow mapper call (the C engine learnt
    /// this in 2025). Readahead also stops with `ENOMEM`, the folio left
    /// unread, when memory for its I/O is short.
    fn read_one(&mut self, folio: ReadFolio, pages_left: u64) -> Result {
        let target = self.target;
        if folio.is_uptodate() {
            // The page cache never asks for this, but an uptodate folio may
            // have readers that do not lock it: its bytes must not change.
            folio.unlock();
            return Ok(());
        }
        let size = folio.size();
        let span = FolioSpan::new(
            folio.pos(),
            size as u64,
            target.i_size,
            target.blkbits,
            pages_left,
            PAGE_SIZE as u64,
        );
        // A large folio that mpage would hand whole to the buffer_head path
        // (one bio per block) is read in pieces instead, unless the mapper
        // may say it filled blocks itself: those folios must go to the
        // buffer_head path whole, as in mpage.
        let may_split = size > PAGE_SIZE && !target.mapper.may_fill();
        let calls = self.cache.calls();
        let plan = plan_folio(
            span,
            folio.has_buffers(),
            may_split,
            &mut self.cache,
            |lblk, max| target.mapper.map(lblk, max, false),
        );
        Stats::inc(&target.stats.map_calls, self.cache.calls() - calls);

        match plan {
            Err(error) => {
                self.bios.close();
                Stats::inc(&target.stats.read_errors, 1);
                folio.end_read(false);
                Err(error)
            }
            Ok(FolioPlan::AllHoles) => {
                let mut folio = folio;
                folio.zero_range(0, size);
                Stats::inc(&target.stats.hole_folios, 1);
                folio.finish_uptodate();
                Ok(())
            }
            Ok(FolioPlan::Confused(
                Confusion::Discontiguous | Confusion::HoleThenData | Confusion::Boundary,
            )) if may_split => self.read_split(folio, span, pages_left),
            Ok(FolioPlan::Confused(_)) => self.fall_back(folio),
            Ok(FolioPlan::Read {
                pblk,
                nblocks,
                boundary,
            }) => {
                let mut folio = folio;
                // The tail past the last block read is holes or past EOF.
                folio.zero_range((nblocks << target.blkbits) as usize, size);
                self.read_whole(folio, pblk, nblocks, boundary, span, pages_left)
            }
        }
    }

    /// Reads the first `nblocks` blocks of a folio, contiguous on disk from
    /// `pblk`, as one bio segment; the rest of the folio is zeroed already.
    fn read_whole(
        &mut self,
        folio: ReadFolio,
        pblk: u64,
        nblocks: u64,
        boundary: bool,
        span: FolioSpan,
        pages_left: u64,
    ) -> Result {
        let steps = self
            .bios
            .planner
            .folio(pblk, nblocks, boundary, span.blocks);
        let len = (nblocks << self.target.blkbits) as usize;
        let added = self.bios.add(
            steps,
            boundary.then(|| pblk + nblocks - 1),
            folio,
            || self.target.new_bio(pblk, pages_left, self.readahead, false),
            |bio, folio| bio.add_folio(folio, len, 0).map_err(NotAdded::refused),
        );
        match added {
            Ok(()) => Ok(()),
            Err(NotAdded { item, error }) if error == ENOMEM => self.short_of_memory(item),
            // Even an empty bio refuses it: the buffer_head path can still
            // read it.
            Err(NotAdded { item, .. }) => self.fall_back(item),
        }
    }

    /// Reads a large folio in pieces: holes are zeroed here, each run of
    /// blocks contiguous on disk goes to a bio of its own (or continues the
    /// open one), and the folio ends when its last piece completes.
    fn read_split(&mut self, folio: ReadFolio, span: FolioSpan, pages_left: u64) -> Result {
        let mut builder = match SplitBuilder::new(folio, self.readahead) {
            Ok(builder) => builder,
            Err(folio) => return self.short_of_memory(folio),
        };
        Stats::inc(&self.target.stats.split_folios, 1);
        let res = if hold_split_bios(self.readahead) {
            self.read_split_held(&mut builder, span, pages_left)
        } else {
            self.map_extents(span, |state, extent| {
                state.read_extent(&mut builder, extent, pages_left)
            })
        };
        match res {
            Ok(()) => {
                // The builder's end: the folio ends when its last piece
                // completes.
                drop(builder);
                self.bios.release();
                Ok(())
            }
            Err(error) => {
                // What was held back never reaches the disk: the folio's
                // pieces are then in no bio.
                self.bios.discard();
                self.split_failed(builder, error)
            }
        }
    }

    /// read_folio's split read: the bios are held back until every piece is
    /// in one, so that a failure part way can still hand the folio on
    /// whole. Every block is mapped before the first bio is filled, so
    /// nothing waits for I/O (the mapper reads indirect blocks) while bios
    /// are held, and the held bios are allocated without waiting. A bio_set
    /// hands out bios from a small reserve when memory is short, and
    /// block/bio.c's rule is to submit one before allocating the next: a
    /// task that waits for the reserve while holding bios from it, or that
    /// makes others wait for it (the mapper's own reads, writeback), can
    /// wait forever.
    fn read_split_held(
        &mut self,
        builder: &mut SplitBuilder,
        span: FolioSpan,
        pages_left: u64,
    ) -> Result {
        let mut extents = KVec::new();
        self.map_extents(span, |_, extent| {
            extents.push(extent, GFP_KERNEL).map_err(|_| ENOMEM)
        })?;
        self.bios.hold();
        for extent in extents {
            self.read_extent(builder, extent, pages_left)?;
        }
        Ok(())
    }

    /// Maps the blocks of a folio read in pieces, handing each extent to
    /// `visit` as it is found.
    fn map_extents(
        &mut self,
        span: FolioSpan,
        mut visit: impl FnMut(&mut Self, Extent) -> Result,
    ) -> Result {
        let target = self.target;
        let mut cache = core::mem::take(&mut self.cache);
        let calls = cache.calls();
        let res = walk_extents(
            span,
            &mut cache,
            // `may_fill` kept filled mappings away from here; a mapper that
            // returns one anyway gets the folio failed, not misread.
            |lblk, max| match target.mapper.map(lblk, max, false) {
                Ok(mapping) if mapping.filled => Err(EIO),
                mapped => mapped,
            },
            |extent| visit(self, extent),
        );
        Stats::inc(&target.stats.map_calls, cache.calls() - calls);
        self.cache = cache;
        res
    }

    /// Zeroes a hole of a split folio, or adds a mapped extent to a bio.
    fn read_extent(
        &mut self,
        builder: &mut SplitBuilder,
        extent: Extent,
        pages_left: u64,
    ) -> Result {
        let start = (extent.first << self.target.blkbits) as usize;
        let end = ((extent.first + extent.len) << self.target.blkbits) as usize;
        match extent.kind {
            MapKind::Hole => builder.zero(start, end),
            MapKind::Mapped { pblk, boundary } => {
                self.add_piece(builder, pblk, extent.len, start..end, pages_left, boundary)
            }
        }
    }

    /// A split folio's walk stopped on `error`. Short of memory, the folio
    /// is taken back if none of it is in a bio, and then goes where a folio
    /// read whole would ([`short_of_memory`](Self::short_of_memory)). A
    /// failed mapping, or pieces in flight, fail the folio: it ends, not
    /// uptodate, when its last piece completes.
    fn split_failed(&mut self, builder: SplitBuilder, error: Error) -> Result {
        let mut builder = if error == ENOMEM {
            match builder.take_back() {
                Ok(folio) => return self.short_of_memory(folio),
                Err(builder) => builder,
            }
        } else {
            Stats::inc(&self.target.stats.read_errors, 1);
            builder
        };
        // `setup_failure(_, _, true)`, or a failed mapping: the folio fails.
        builder.fail();
        drop(builder);
        Err(error)
    }

    /// Adds `bytes` of a split folio, read from `nblocks` blocks at `pblk`,
    /// to the open bio or a new one.
    fn add_piece(
        &mut self,
        builder: &mut SplitBuilder,
        pblk: u64,
        nblocks: u64,
        bytes: Range<usize>,
        pages_left: u64,
        boundary: bool,
    ) -> Result {
        let steps = self.bios.planner.piece(pblk, nblocks, boundary);
        let held = self.bios.holding();
        self.bios
            .add_piece(steps, pblk + nblocks - 1, builder, bytes, || {
                self.target.new_bio(pblk, pages_left, self.readahead, held)
            })
    }

    /// A small allocation for `folio`'s I/O failed, none of the folio in a
    /// bio. Readahead, which is speculative and allocates without reclaim,
    /// gives the folio back unread and stops: read_folio reads it when
    /// someone wants it, and allocates as it must. Reading it through the
    /// buffer_head path instead (as fs/mpage.c does when a bio allocation
    /// fails) would take a buffer_head per block with __GFP_NOFAIL, just
    /// when memory is short. read_folio itself does take that path.
    fn short_of_memory(&mut self, folio: ReadFolio) -> Result {
        match setup_failure(true, self.readahead, false) {
            SetupFailure::BufferHeads => self.fall_back(folio),
            SetupFailure::GiveBack => {
                self.bios.close();
                folio.unlock();
                Err(ENOMEM)
            }
            SetupFailure::Fail => {
                self.bios.close();
                folio.end_read(false);
                Err(ENOMEM)
            }
        }
    }

    /// The buffer_head path, for folios one bio segment cannot describe.
    /// The open bio goes first, so the disk sees reads in file order.
    ///
    /// Returns an error if the folio visibly failed before the path
    /// returned (its mapper calls failed), so that readahead stops as it
    /// does after a failed mapping of our own.
    fn fall_back(&mut self, folio: ReadFolio) -> Result {
        self.bios.close();
        if folio.is_uptodate() {
            // Someone (a mapper that fills data, or buffers read earlier)
            // already made it valid: nothing to read.
            folio.unlock();
            return Ok(());
        }
        Stats::inc(&self.target.stats.fallbacks, 1);
        // Once handed over the folio is no longer ours, and may be unlocked
        // and even reclaimed before the call returns: a reference of our
        // own keeps it there to look at.
        let folio_ref = folio.get();
        // The buffer_head path reports its errors on the folio itself.
        let _ = (self.target.fallback)(folio);
        // Unlocked but not uptodate: the read has already failed, which for
        // block_read_full_folio means get_block failed on every block it
        // tried to map (or its I/O failed at once). fs/mpage.c's readahead
        // stops on the same test.
        if !folio_ref.is_locked() && !folio_ref.is_uptodate() {
            Stats::inc(&self.target.stats.read_errors, 1);
            return Err(EIO);
        }
        Ok(())
    }
}

/// `read_folio` (fs/mpage.c's `mpage_read_folio`).
pub(crate) fn read_folio<M: Mapper>(target: &ReadTarget<'_, M>, folio: ReadFolio) -> Result {
    let pages = (folio.size() / PAGE_SIZE) as u64;
    let mut state = ReadState::new(target, false);
    let ret = state.read_one(folio, pages);
    state.bios.submit();
    ret
}

/// `readahead` (fs/mpage.c's `mpage_readahead`).
pub(crate) fn readahead<M: Mapper>(target: &ReadTarget<'_, M>, ra: &mut Readahead<'_>) {
    let mut state = ReadState::new(target, true);
    while let Some(folio) = ra.next_folio() {
        let left = ra.pages_left() as u64;
        if state.read_one(folio, left).is_err() {
            // Stop (a failed mapping or read, or no memory): the folios not
            // taken are unlocked by the page cache and read again through
            // read_folio only if someone wants them.
            break;
        }
    }
    state.bios.submit();
}
