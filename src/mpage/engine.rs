// SPDX-License-Identifier: GPL-2.0

//! The read engine: carries out [`plan`](super::plan)'s decisions on real
//! folios and bios. Ordered like fs/mpage.c: the per-folio worker, then the
//! `read_folio` and `readahead` entry points.

use super::{
    plan::{bio_segments, plan_folio, BioPlanner, FolioPlan, FolioSpan, MapCache, Mapping},
    stats::Stats,
};
use crate::rust_bindings::{
    bio::{BlockDevice, ReadBio},
    folio::LockedFolio,
    readahead::Readahead,
};
use kernel::{bindings, page::PAGE_SIZE, prelude::*, sync::Arc};

/// A filesystem's block mapper, as the engine sees it.
pub(crate) trait Mapper {
    /// Maps logical block `lblk` and up to `max_blocks - 1` blocks after it.
    /// The answer starts at `lblk` and covers at least one block.
    fn map(&self, lblk: u64, max_blocks: u64) -> Result<Mapping>;
}

/// One file to read from: its geometry, its mapper, its mount's device and
/// counters, and the buffer_head path to fall back on.
pub(crate) struct ReadTarget<'a, M: Mapper> {
    pub(crate) bdev: BlockDevice<'a>,
    pub(crate) blkbits: u32,
    pub(crate) i_size: u64,
    pub(crate) mapper: &'a M,
    pub(crate) stats: &'a Arc<Stats>,
    /// Reads one folio through the buffer_head path
    /// (`block_read_full_folio`), which unlocks it.
    pub(crate) fallback: &'a dyn Fn(LockedFolio) -> Result,
}

/// State that crosses folios within one call (fs/mpage.c's
/// `mpage_readpage_args`): the reusable mapping and the open bio.
struct ReadState<'a, 't, M: Mapper> {
    t: &'t ReadTarget<'a, M>,
    readahead: bool,
    cache: MapCache,
    planner: BioPlanner,
    bio: Option<ReadBio<Stats>>,
}

impl<'a, 't, M: Mapper> ReadState<'a, 't, M> {
    fn new(t: &'t ReadTarget<'a, M>, readahead: bool) -> Self {
        Self {
            t,
            readahead,
            cache: MapCache::default(),
            planner: BioPlanner::default(),
            bio: None,
        }
    }

    /// Sends the open bio, if any, to the block layer.
    fn submit(&mut self) {
        if let Some(bio) = self.bio.take() {
            let s = self.t.stats;
            Stats::inc(&s.bios, 1);
            Stats::inc(&s.folios, bio.folios() as u64);
            Stats::inc(&s.bytes, bio.bytes() as u64);
            bio.submit();
        }
    }

    /// Reads one folio (fs/mpage.c's `do_mpage_readpage`). `pages_left`
    /// counts the pages of the request from this folio on.
    ///
    /// Returns an error only if the folio was failed right here (its blocks
    /// could not be mapped): readahead then stops, since the following
    /// folios would most likely fail the same way, each after a slow mapper
    /// call (the C engine learnt this in 2025).
    fn read_one(&mut self, folio: LockedFolio, pages_left: u64) -> Result {
        let t = self.t;
        let size = folio.size();
        let span = FolioSpan::new(
            folio.pos(),
            size as u64,
            t.i_size,
            t.blkbits,
            pages_left,
            PAGE_SIZE as u64,
        );
        let calls = self.cache.calls();
        let plan = plan_folio(span, folio.has_buffers(), &mut self.cache, |lblk, max| {
            t.mapper.map(lblk, max)
        });
        Stats::inc(&t.stats.map_calls, self.cache.calls() - calls);

        match plan {
            Err(e) => {
                self.submit();
                self.planner.closed();
                Stats::inc(&t.stats.read_errors, 1);
                folio.end_read(false);
                Err(e)
            }
            Ok(FolioPlan::AllHoles) => {
                let mut folio = folio;
                folio.zero_range(0, size);
                Stats::inc(&t.stats.hole_folios, 1);
                folio.finish_uptodate();
                Ok(())
            }
            Ok(FolioPlan::Confused(_)) => self.fall_back(folio),
            Ok(FolioPlan::Read {
                pblk,
                nblocks,
                boundary,
            }) => {
                let mut folio = folio;
                // The tail past the last block read is holes or past EOF.
                folio.zero_range((nblocks << t.blkbits) as usize, size);
                let steps = self.planner.read(pblk, nblocks, boundary, span.blocks);
                if steps.submit_before {
                    self.submit();
                }
                let len = (nblocks << t.blkbits) as usize;
                loop {
                    let bio = match self.bio.as_mut() {
                        Some(bio) => bio,
                        None => {
                            let sector = pblk << (t.blkbits - 9);
                            let segs = bio_segments(pages_left, u64::from(bindings::BIO_MAX_VECS));
                            match ReadBio::alloc(
                                t.bdev,
                                sector,
                                segs as usize,
                                self.readahead,
                                t.stats.clone(),
                            ) {
                                Some(bio) => self.bio.insert(bio),
                                // Only readahead allocations can fail; read
                                // this folio the slow way, like mpage.c.
                                None => {
                                    self.planner.closed();
                                    return self.fall_back(folio);
                                }
                            }
                        }
                    };
                    match bio.add_folio(folio, len, 0) {
                        Ok(()) => break,
                        // The bio is full: send it and start another one at
                        // this folio.
                        Err(back) => {
                            folio = back;
                            self.submit();
                        }
                    }
                }
                if steps.submit_after {
                    if boundary {
                        Stats::inc(&t.stats.boundary_submits, 1);
                    }
                    self.submit();
                }
                Ok(())
            }
        }
    }

    /// The buffer_head path, for folios one bio segment cannot describe.
    /// The open bio goes first, so the disk sees reads in file order.
    fn fall_back(&mut self, folio: LockedFolio) -> Result {
        self.submit();
        self.planner.closed();
        if folio.is_uptodate() {
            // Someone (a mapper that fills data, or buffers read earlier)
            // already made it valid: nothing to read.
            folio.unlock();
            return Ok(());
        }
        Stats::inc(&self.t.stats.fallbacks, 1);
        // The buffer_head path reports its errors on the folio itself.
        let _ = (self.t.fallback)(folio);
        Ok(())
    }
}

/// `read_folio` (fs/mpage.c's `mpage_read_folio`).
pub(crate) fn read_folio<M: Mapper>(t: &ReadTarget<'_, M>, folio: LockedFolio) -> Result {
    let pages = (folio.size() / PAGE_SIZE) as u64;
    let mut st = ReadState::new(t, false);
    let ret = st.read_one(folio, pages);
    st.submit();
    ret
}

/// `readahead` (fs/mpage.c's `mpage_readahead`).
pub(crate) fn readahead<M: Mapper>(t: &ReadTarget<'_, M>, ra: &mut Readahead<'_>) {
    let mut st = ReadState::new(t, true);
    while let Some(folio) = ra.next_folio() {
        let left = ra.pages_left() as u64;
        if st.read_one(folio, left).is_err() {
            // Stop: the folios not taken are unlocked by the page cache and
            // read again through read_folio only if someone wants them.
            break;
        }
    }
    st.submit();
}
