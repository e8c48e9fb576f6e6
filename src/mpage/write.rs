// SPDX-License-Identifier: GPL-2.0

//! The write engine: fs/mpage.c's `__mpage_writepages` and
//! `mpage_write_folio`, carrying out [`write_plan`](super::write_plan)'s
//! decisions on real folios and bios.

use super::{
    engine::Mapper,
    plan::BioPlanner,
    stats::Stats,
    write_plan::{plan_buffered, plan_unbuffered, WriteMapCache, WritePlan, WriteSpan},
};
use crate::rust_bindings::{
    bio::{BlockDevice, WriteBio},
    folio::WritebackFolio,
    inode::RawInode,
    writeback::{BlockPlug, Writeback},
};
use kernel::{bindings, prelude::*, sync::Arc};

/// One file to write back: its geometry, its mapper, its mount's device and
/// counters, and the buffer_head path to fall back on.
pub(crate) struct WriteTarget<'a, M: Mapper> {
    pub(crate) bdev: BlockDevice<'a>,
    pub(crate) blkbits: u32,
    pub(crate) inode: RawInode<'a>,
    pub(crate) mapper: &'a M,
    pub(crate) stats: &'a Arc<Stats>,
    /// Writes one folio through the buffer_head path
    /// (`block_write_full_folio`), which ends it either way.
    pub(crate) fallback: &'a dyn Fn(WritebackFolio) -> Result,
}

/// State that crosses folios within one writepages call (fs/mpage.c's
/// `mpage_data`): the reusable mapping and the open bio.
struct WriteState<'a, 't, M: Mapper> {
    target: &'t WriteTarget<'a, M>,
    cache: WriteMapCache,
    planner: BioPlanner,
    bio: Option<WriteBio<Stats>>,
}

impl<'a, 't, M: Mapper> WriteState<'a, 't, M> {
    /// Sends the open bio, if any, to the block layer.
    fn submit(&mut self) {
        if let Some(bio) = self.bio.take().filter(|bio| bio.bytes() > 0) {
            let stats = self.target.stats;
            Stats::inc(&stats.write_bios, 1);
            Stats::inc(&stats.write_folios, bio.folios() as u64);
            Stats::inc(&stats.write_bytes, bio.bytes() as u64);
            bio.submit();
        }
    }

    /// Plans one folio: from its buffers if it has them, else through the
    /// mapper, allocating. A mapper error sends the folio to the buffer_head
    /// path, which asks again block by block and reports it.
    fn plan(&mut self, folio: &WritebackFolio, i_size: u64) -> WritePlan {
        let target = self.target;
        if folio.has_buffers() {
            return plan_buffered(folio.buffers(), folio.pos() >= i_size);
        }
        let span = WriteSpan::new(folio.pos(), folio.size() as u64, i_size, target.blkbits);
        let calls = self.cache.calls();
        let plan = plan_unbuffered(
            span,
            &mut self.cache,
            |lblk, max| target.mapper.map(lblk, max, true),
            // Old metadata of blocks allocated just now must not be written
            // over the new data (mpage pitfall 12).
            |pblk, len| target.bdev.clean_aliases(pblk, len),
        );
        Stats::inc(&target.stats.write_map_calls, self.cache.calls() - calls);
        plan.unwrap_or(WritePlan::Confused(
            super::write_plan::WriteConfusion::Unmapped,
        ))
    }

    /// Writes one dirty folio (fs/mpage.c's `mpage_write_folio`).
    fn write_one(&mut self, mut folio: WritebackFolio) -> Result {
        let target = self.target;
        let i_size = target.inode.size();
        let (pblk, nblocks, boundary, boundary_block) = match self.plan(&folio, i_size) {
            WritePlan::PastEof => {
                folio.skip();
                return Ok(());
            }
            WritePlan::Confused(_) => return self.fall_back(folio),
            WritePlan::Write {
                pblk,
                nblocks,
                boundary,
                boundary_block,
            } => (pblk, nblocks, boundary, boundary_block),
        };
        let size = folio.size();
        let pos = folio.pos();
        if pos + size as u64 > i_size {
            // The folio straddles EOF. It must be zeroed past EOF on every
            // writeback, because it may be mmapped: "the remaining memory is
            // zeroed when mapped, and writes to that region are not written
            // out to the file".
            folio.zero_range((i_size - pos) as usize, size);
        }
        let folio_blocks = (size >> target.blkbits) as u64;
        let steps = self.planner.folio(pblk, nblocks, boundary, folio_blocks);
        if steps.submit_before {
            self.submit();
        }
        let len = (nblocks << target.blkbits) as usize;
        loop {
            let bio = match self.bio.as_mut() {
                Some(bio) => bio,
                None => {
                    let sector = pblk << (target.blkbits - 9);
                    match WriteBio::alloc(
                        target.bdev,
                        sector,
                        bindings::BIO_MAX_VECS as usize,
                        &folio,
                        target.inode,
                        target.stats.clone(),
                    ) {
                        Some(bio) => self.bio.insert(bio),
                        None => {
                            self.planner.closed();
                            return self.fall_back(folio);
                        }
                    }
                }
            };
            let empty = bio.bytes() == 0;
            match bio.add_folio(folio, len, nblocks as usize) {
                Ok(()) => break,
                // Even an empty bio refuses it: the buffer_head path can
                // still write it.
                Err(back) if empty => {
                    self.planner.closed();
                    return self.fall_back(back);
                }
                // The bio is full: send it and start another at this folio.
                Err(back) => {
                    folio = back;
                    self.submit();
                }
            }
        }
        if steps.submit_after {
            self.submit();
            if let Some(block) = boundary_block {
                Stats::inc(&target.stats.write_boundary_submits, 1);
                target
                    .bdev
                    .write_boundary_block(block, 1u32 << target.blkbits);
            }
        }
        Ok(())
    }

    /// The buffer_head path, for folios one bio segment cannot describe.
    /// The open bio goes first, so the disk sees writes in file order.
    fn fall_back(&mut self, folio: WritebackFolio) -> Result {
        self.submit();
        self.planner.closed();
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

/// `writepages` (fs/mpage.c's `__mpage_writepages`): writes the dirty
/// folios `wb` hands out, contiguous ones sharing bios, under a block plug.
/// An error on one folio does not stop a data-integrity walk; the first is
/// returned at the end.
pub(crate) fn writepages<M: Mapper>(target: &WriteTarget<'_, M>, mut wb: Writeback<'_>) -> Result {
    let _plug = BlockPlug::start();
    let mut state = WriteState {
        target,
        cache: WriteMapCache::default(),
        planner: BioPlanner::default(),
        bio: None,
    };
    let mut prev = Ok(());
    while let Some(folio) = wb.next_folio(prev) {
        prev = state.write_one(folio);
    }
    state.submit();
    wb.finish()
}
