// SPDX-License-Identifier: GPL-2.0

//! rmpage's multi-page block I/O engine: fs/mpage.c's `mpage_read_folio`,
//! `mpage_readahead` and `mpage_writepages` in Rust.
//!
//! The engine knows nothing about any on-disk format. A filesystem gives it a
//! [`Mapper`] (logical block → run of device blocks or a hole, allocating on
//! request, like ext4's `ext4_map_blocks`) and the folios to read or write;
//! the engine builds the largest bios it can, zeroes holes and the tail past
//! EOF, and hands the folios it cannot do in one piece to the buffer_head
//! paths. [`MountEngine`] is what a mount holds of it: which engine serves
//! the mount (ours, or the kernel's C fs/mpage.c for comparison), the
//! counters and their debugfs file.

pub(crate) mod bio_stream;
pub(crate) mod engine;
pub(crate) mod mapping;
pub(crate) mod plan;
pub(crate) mod stats;
pub(crate) mod write;
pub(crate) mod write_begin;
pub(crate) mod write_plan;

pub(crate) use engine::Mapper;
pub(crate) use stats::{Stats, StatsView};

use crate::{
    rust_bindings::{
        bio::InFlight,
        debugfs::Root,
        folio::ReadFolio,
        fs::{self as vfs, FileSystem},
        inode::Inode,
        readahead::Readahead,
        writeback::Writeback,
    },
    Engine,
};
use kernel::{debugfs, prelude::*, str::CStr, sync::Arc};

/// The engine as one mount uses it.
pub(crate) struct MountEngine {
    /// The counters, which the mount's bios report to, and the count of
    /// those bios in flight. Dropping it (in kill_sb, after every inode is
    /// gone) waits for the last completion to finish with the mount: a bio
    /// may still be completing after it ended its last folio, which is all
    /// that unmounting waits for.
    stats: Pin<KBox<InFlight<Stats>>>,
    engine: Engine,
    // `/sys/kernel/debug/rext2/<device>/stats`; the file goes before its
    // directory.
    _stats_file: Option<Pin<KBox<debugfs::File<StatsView>>>>,
    _debugfs_dir: Option<debugfs::Dir>,
}

impl MountEngine {
    /// The engine for a new mount of device `dev`: the one the `engine=`
    /// module parameter names now, with fresh counters shown under
    /// `/sys/kernel/debug/rext2/<dev>/stats`.
    pub(crate) fn new(dev: &CStr) -> Result<Self> {
        let engine = crate::engine_param();
        let stats = Arc::new(Stats::new(), GFP_KERNEL)?;
        let dir = Root::subdir(dev);
        let stats_file = match &dir {
            Some(dir) => {
                let view = StatsView {
                    engine: engine.name(),
                    stats: stats.clone(),
                };
                Some(KBox::pin_init(
                    dir.read_only_file(c"stats", view),
                    GFP_KERNEL,
                )?)
            }
            None => None,
        };
        Ok(Self {
            stats: InFlight::new(stats)?,
            engine,
            _stats_file: stats_file,
            _debugfs_dir: dir,
        })
    }

    /// Which engine serves the mount.
    pub(crate) fn engine(&self) -> Engine {
        self.engine
    }

    /// The mount's counters.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    fn read_target<'a, T: FileSystem, M: Mapper>(
        &'a self,
        inode: &'a Inode<T>,
        mapper: &'a M,
        fallback: &'a dyn Fn(ReadFolio) -> Result,
    ) -> engine::ReadTarget<'a, M> {
        engine::ReadTarget {
            bdev: inode.super_block().bdev(),
            blkbits: inode.blkbits(),
            i_size: inode.size(),
            mapper,
            stats: &self.stats,
            fallback,
        }
    }

    /// `read_folio` of `inode`, whose blocks `mapper` maps.
    pub(crate) fn read_folio<T: FileSystem, M: Mapper>(
        &self,
        inode: &Inode<T>,
        mapper: &M,
        folio: ReadFolio,
    ) -> Result {
        match self.engine {
            Engine::C => vfs::c_mpage_read_folio::<T>(folio),
            Engine::Rust => {
                let fallback = |f: ReadFolio| vfs::block_read_full_folio::<T>(f);
                engine::read_folio(&self.read_target(inode, mapper, &fallback), folio)
            }
        }
    }

    /// `readahead` of `inode`, whose blocks `mapper` maps.
    pub(crate) fn readahead<T: FileSystem, M: Mapper>(
        &self,
        inode: &Inode<T>,
        mapper: &M,
        ra: &mut Readahead<'_>,
    ) {
        match self.engine {
            Engine::C => vfs::c_mpage_readahead::<T>(ra),
            Engine::Rust => {
                let fallback = |f: ReadFolio| vfs::block_read_full_folio::<T>(f);
                engine::readahead(&self.read_target(inode, mapper, &fallback), ra)
            }
        }
    }

    /// `writepages` of `inode`, whose blocks `mapper` maps and allocates.
    pub(crate) fn writepages<T: FileSystem, M: Mapper>(
        &self,
        inode: &Inode<T>,
        mapper: &M,
        wb: Writeback<'_>,
    ) -> Result {
        match self.engine {
            Engine::C => vfs::c_mpage_writepages::<T>(wb),
            Engine::Rust => {
                let fallback = |f| vfs::block_write_full_folio::<T>(inode, f);
                let target = write::WriteTarget {
                    bdev: inode.super_block().bdev(),
                    blkbits: inode.blkbits(),
                    inode: inode.raw(),
                    mapper,
                    stats: &self.stats,
                    fallback: &fallback,
                };
                write::writepages(&target, wb)
            }
        }
    }
}
