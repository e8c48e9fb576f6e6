// SPDX-License-Identifier: GPL-2.0

//! The write engine: fs/mpage.c's `__mpage_writepages` and
//! `mpage_write_folio`, carrying out [`write_plan`](super::write_plan)'s
//! decisions on real folios and bios.

use super::{
    bio_stream::{BioStream, NotAdded},
    engine::Mapper,
    stats::Stats,
    write_plan::{
        for_each_run, plan_buffered, plan_unbuffered, WriteConfusion, WriteMapCache, WritePlan,
        WriteRun, WriteSpan,
    },
};
use crate::rust_bindings::{
    bio::{BlockDevice, InFlight, SplitBuilder, Write, WriteBio},
    folio::WritebackFolio,
    inode::RawInode,
    writeback::{BlockPlug, Wbc, Writeback},
};
use kernel::prelude::*;

/// One file to write back: its geometry, its mapper, its mount's device and
/// counters, and the buffer_head path to fall back on.
pub(crate) struct WriteTarget<'a, M: Mapper> {
    pub(crate) bdev: BlockDevice<'a>,
    pub(crate) blkbits: u32,
    pub(crate) inode: RawInode<'a>,
    pub(crate) mapper: &'a M,
    /// The mount's counters, and its count of bios in flight, which every
    /// bio holds a unit of until its completion is over.
    pub(crate) stats: &'a InFlight<Stats>,
    /// Writes one folio through the buffer_head path
    /// (`block_write_full_folio`), which ends it either way.
    pub(crate) fallback: &'a dyn Fn(WritebackFolio) -> Result,
}

/// State that crosses folios within one writepages call (fs/mpage.c's
/// `mpage_data`): the open bio and where it ends on disk.
struct WriteState<'a, 't, M: Mapper> {
    target: &'t WriteTarget<'a, M>,
    wbc: Wbc<'t>,
    bios: BioStream<'t, Write>,
}

/// The segments a write bio has room for when it is made: those that fit
/// inside the bio itself (the block layer's `BIO_INLINE_VECS`), so that it
/// needs no vector array of its own and comes from the bio_set's per-CPU
/// cache. Most bios of a scattered write hold a folio or two; fs/mpage.c
/// gives each room for `BIO_MAX_VECS`, a 4 KiB array allocated and freed
/// per bio. A bio that fills grows to `BIO_MAX_VECS` ([`BioStream`]), so
/// bios end where mpage's end.
const FIRST_WRITE_VECS: usize = 4;

impl<M: Mapper> WriteTarget<'_, M> {
    /// A write bio starting at device block `pblk`, for writeback under
    /// `wbc`; `None` if memory is short.
    #[inline(always)]
    fn new_bio(&self, pblk: u64, wbc: Wbc<'_>) -> Option<WriteBio<Stats>> {
        WriteBio::alloc(
            self.bdev,
            pblk << (self.blkbits - 9),
            FIRST_WRITE_VECS,
            wbc,
            self.inode,
            self.stats,
        )
    }
}

impl<'a, 't, M: Mapper> WriteState<'a, 't, M> {
    /// Plans one folio: from its buffers if it has them, else through the
    /// mapper, allocating. A mapper error sends the folio to the buffer_head
    /// path, which asks again block by block and reports it.
    fn plan(&mut self, folio: &WritebackFolio, i_size: u64) -> WritePlan {
        let target = self.target;
        if folio.has_buffers() {
            // A large folio that mpage would hand to the buffer_head path
            // for being discontiguous is written in pieces instead.
            let may_split = folio.size() > kernel::page::PAGE_SIZE;
            return plan_buffered(folio.buffers(), folio.pos() >= i_size, may_split);
        }
        let span = WriteSpan::new(folio.pos(), folio.size() as u64, i_size, target.blkbits);
        // A mapping is kept for one folio only: the next folio is not locked
        // yet, and truncation could change its blocks meanwhile.
        let mut cache = WriteMapCache::default();
        let plan = plan_unbuffered(
            span,
            &mut cache,
            |lblk, max| target.mapper.map(lblk, max, true),
            // Old metadata of blocks allocated just now must not be written
            // over the new data (mpage pitfall 12).
            |pblk, len| target.bdev.clean_aliases(pblk, len),
        );
        Stats::inc(&target.stats.write_map_calls, cache.calls());
        plan.unwrap_or(WritePlan::Confused(WriteConfusion::Unmapped))
    }

    /// Writes one dirty folio (fs/mpage.c's `mpage_write_folio`).
    fn write_one(&mut self, mut folio: WritebackFolio) -> Result {
        let i_size = folio.i_size();
        let plan = self.plan(&folio, i_size);
        if !matches!(plan, WritePlan::PastEof) {
            zero_past_eof(&mut folio, i_size);
        }
        match plan {
            WritePlan::PastEof => {
                folio.skip();
                Ok(())
            }
            WritePlan::Confused(_) => self.fall_back(folio),
            WritePlan::Split { nblocks } => self.write_split(folio, nblocks),
            WritePlan::Write {
                pblk,
                nblocks,
                boundary,
                boundary_block,
            } => self.write_whole(folio, pblk, nblocks, boundary, boundary_block),
        }
    }

    /// Writes the first `nblocks` blocks of a folio, contiguous on disk from
    /// `pblk`, as one bio segment.
    fn write_whole(
        &mut self,
        folio: WritebackFolio,
        pblk: u64,
        nblocks: u64,
        boundary: bool,
        boundary_block: Option<u64>,
    ) -> Result {
        let blkbits = self.target.blkbits;
        let folio_blocks = (folio.size() >> blkbits) as u64;
        let steps = self
            .bios
            .planner
            .folio(pblk, nblocks, boundary, folio_blocks);
        let len = (nblocks << blkbits) as usize;
        self.bios
            .add(
                steps,
                boundary_block,
                folio,
                || self.target.new_bio(pblk, self.wbc),
                |bio, folio| {
                    bio.add_folio(folio, len, nblocks as usize)
                        .map_err(NotAdded::refused)
                },
            )
            // No bio for it, or even an empty bio refuses it: the buffer_head
            // path can still write it.
            .or_else(|not_added| self.fall_back(not_added.item))
    }

    /// Writes the first `nblocks` blocks of a large folio in pieces, one per
    /// run contiguous on disk, each joining the open bio when it continues
    /// it on disk; the folio's writeback ends when its last piece completes.
    fn write_split(&mut self, folio: WritebackFolio, nblocks: u64) -> Result {
        let target = self.target;
        // The runs are gathered while the folio is still ours to give to the
        // buffer_head path, should memory for them be short.
        let mut runs = KVec::<WriteRun>::new();
        if for_each_run(folio.buffers(), nblocks, |run| runs.push(run, GFP_KERNEL)).is_err() {
            return self.fall_back(folio);
        }
        let size = folio.size();
        let mut builder = match SplitBuilder::new_write(folio, nblocks as usize) {
            Ok(builder) => builder,
            Err(folio) => return self.fall_back(folio),
        };
        Stats::inc(&target.stats.write_split_folios, 1);
        let bits = target.blkbits;
        let mut res = Ok(());
        for run in runs.iter() {
            res = self.add_piece(&mut builder, run, bits);
            if res.is_err() {
                break;
            }
        }
        let end = (nblocks << bits) as usize;
        if res.is_ok() && end < size {
            res = builder.skip(end, size);
        }
        // The builder's end: the folio's writeback starts, it is unlocked,
        // and the writeback ends when its last piece completes. If a piece
        // found no bio (memory was short), the folio stays dirty and the
        // error (ENOMEM) goes back to writeback, which tries again.
        drop(builder);
        res
    }

    /// Adds one run of a split folio to the open bio or a new one.
    fn add_piece(&mut self, builder: &mut SplitBuilder, run: &WriteRun, bits: u32) -> Result {
        let bytes = (run.first << bits) as usize..((run.first + run.len) << bits) as usize;
        let steps = self.bios.planner.piece(run.pblk, run.len, run.boundary);
        self.bios
            .add_piece(steps, run.pblk + run.len - 1, builder, bytes, || {
                self.target.new_bio(run.pblk, self.wbc)
            })
    }

    /// The buffer_head path, for folios one bio segment cannot describe.
    /// The open bio goes first, so the disk sees writes in file order.
    fn fall_back(&mut self, folio: WritebackFolio) -> Result {
        self.bios.close();
        let target = self.target;
        Stats::inc(&target.stats.write_fallbacks, 1);
        let ret = (target.fallback)(folio);
        if let Err(e) = ret {
            // fs/mpage.c: the error must reach fsync.
            Stats::inc(&target.stats.write_errors, 1);
            target.inode.set_mapping_error(e);
        }
        ret
    }
}

/// Zeroes the part of a folio straddling EOF that lies past it. It must be
/// done on every writeback, because the folio may be mmapped: "the
/// remaining memory is zeroed when mapped, and writes to that region are not
/// written out to the file".
fn zero_past_eof(folio: &mut WritebackFolio, i_size: u64) {
    let (pos, size) = (folio.pos(), folio.size());
    if pos < i_size && pos + size as u64 > i_size {
        folio.zero_range((i_size - pos) as usize, size);
    }
}

/// `writepages` (fs/mpage.c's `__mpage_writepages`): writes the dirty
/// folios `wb` hands out, contiguous ones sharing bios, under a block plug.
/// An error on one folio does not stop a data-integrity walk; the first is
/// returned at the end.
pub(crate) fn writepages<'t, M: Mapper>(
    target: &'t WriteTarget<'_, M>,
    mut wb: Writeback<'t>,
) -> Result {
    let _plug = BlockPlug::start();
    let mut state = WriteState {
        target,
        wbc: wb.wbc(),
        bios: BioStream::new(target.stats, target.bdev, target.blkbits),
    };
    let mut prev = Ok(());
    while let Some(folio) = wb.next_folio(prev) {
        prev = state.write_one(folio);
    }
    state.bios.submit();
    wb.finish()
}
