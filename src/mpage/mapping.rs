// SPDX-License-Identifier: GPL-2.0

//! The one block-mapping type: what a filesystem's block mapper says about a
//! run of logical blocks, for reads and for writes alike. Plain Rust: the
//! engine, the ext2 block map and the `get_block` trampoline of the
//! buffer_head paths all speak it, and the host tests build it by hand.

/// What a block mapper says about a run of logical blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapKind {
    /// Not allocated: reads as zeroes.
    Hole,
    /// Allocated, contiguous on disk from `pblk`.
    Mapped {
        /// Device block of the run's first block.
        pblk: u64,
        /// Mapping the block after the run needs a metadata read (ext2: the
        /// next indirect block). I/O built so far should be submitted first,
        /// so that the disk sees the data and then the metadata in order
        /// (fs/mpage.c's BH_Boundary).
        boundary: bool,
    },
}

/// A run of `len` logical blocks starting at `lblk`, all of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mapping {
    /// First logical block.
    pub(crate) lblk: u64,
    /// Number of blocks, at least 1.
    pub(crate) len: u64,
    /// Hole or mapped.
    pub(crate) kind: MapKind,
    /// The mapper has already put these blocks' data in the page cache
    /// (fs/mpage.c: `get_block` returned an uptodate buffer). The folio then
    /// takes the buffer_head path, which knows block by block what is valid.
    pub(crate) filled: bool,
    /// The mapper allocated these blocks just now (BH_New): the disk holds
    /// whatever was there before, never this file's data, so a read zeroes
    /// them instead of reading them (as iomap does for IOMAP_F_NEW), and a
    /// writer must clean stale aliases of them from the device's cache.
    pub(crate) new: bool,
}

impl Mapping {
    /// A hole of `len` blocks from `lblk`.
    pub(crate) fn hole(lblk: u64, len: u64) -> Self {
        Self {
            lblk,
            len,
            kind: MapKind::Hole,
            filled: false,
            new: false,
        }
    }

    /// `len` blocks from `lblk`, on disk from `pblk`.
    pub(crate) fn mapped(lblk: u64, len: u64, pblk: u64, boundary: bool) -> Self {
        Self {
            lblk,
            len,
            kind: MapKind::Mapped { pblk, boundary },
            filled: false,
            new: false,
        }
    }

    /// Whether logical block `lblk` is inside the run.
    pub(crate) fn covers(&self, lblk: u64) -> bool {
        lblk >= self.lblk && lblk - self.lblk < self.len
    }

    /// The device block of `lblk`, if the run maps it.
    pub(crate) fn pblk_of(&self, lblk: u64) -> Option<u64> {
        match self.kind {
            MapKind::Mapped { pblk, .. } if self.covers(lblk) => Some(pblk + (lblk - self.lblk)),
            _ => None,
        }
    }
}
