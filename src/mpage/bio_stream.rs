// SPDX-License-Identifier: GPL-2.0

//! The bio loop of both engines, written once for either direction: a whole
//! folio, or a piece of a split folio, goes into the open bio, or into a new
//! one if none is open; a full bio is sent and the folio or piece starts the
//! next one; what no bio takes comes back to the caller, who reads or writes
//! it another way (the buffer_head path) or gives up.

use super::{
    plan::{BioPlanner, BioSteps},
    stats::{SentBios, Stats},
};
use crate::rust_bindings::bio::{Bio, BlockDevice, Direction, HeldBios, Read, SplitBuilder, Write};
use core::ops::Range;
use kernel::{error::Error, prelude::*};

/// What a direction does when a BH_Boundary has ended its bio.
pub(crate) trait AtBoundary: Direction {
    /// Called right after the bio that ends with device block `block` of
    /// `bdev` was sent, early, because a boundary follows that block.
    fn after_boundary(stats: &Stats, bdev: BlockDevice<'_>, block: u64, block_size: u32);
}

impl AtBoundary for Read {
    /// A read needs nothing more than the submit: the indirect block is
    /// read when the next folio is mapped.
    fn after_boundary(stats: &Stats, _bdev: BlockDevice<'_>, _block: u64, _block_size: u32) {
        Stats::inc(&stats.boundary_submits, 1);
    }
}

impl AtBoundary for Write {
    /// The indirect block that follows the boundary block is started right
    /// behind the data.
    fn after_boundary(stats: &Stats, bdev: BlockDevice<'_>, block: u64, block_size: u32) {
        Stats::inc(&stats.write_boundary_submits, 1);
        bdev.write_boundary_block(block, block_size);
    }
}

/// A whole folio or a split folio's builder that did not go into a bio, and
/// why.
pub(crate) struct NotAdded<T> {
    /// What was to be added, still the caller's.
    pub(crate) item: T,
    /// `ENOMEM`: no bio could be allocated. `EAGAIN`: even an empty bio
    /// refused it. Any other: the piece could not be added.
    pub(crate) error: Error,
}

impl<T> NotAdded<T> {
    /// `item` did not go into a bio, for `error`.
    pub(crate) fn new(item: T, error: Error) -> Self {
        Self { item, error }
    }

    /// `item` came back from a bio that would not take it, as a full bio
    /// gives back a whole folio.
    pub(crate) fn refused(item: T) -> Self {
        Self::new(item, EAGAIN)
    }
}

/// The bios one read or writeback call sends to `bdev`, in direction `D`:
/// the open one, those held back (if holding), and the planner that knows
/// where the open one ends on disk. The mount's counters learn of the bios
/// sent when the stream is dropped.
pub(crate) struct BioStream<'s, D: AtBoundary> {
    bio: Option<Bio<Stats, D>>,
    /// While holding ([`BioStream::hold`]): the bios filled since, not sent.
    held: Option<HeldBios<Stats, D>>,
    pub(crate) planner: BioPlanner,
    stats: &'s Stats,
    /// The bios sent (and grown) so far, added to `stats` when the stream
    /// is dropped.
    sent: SentBios,
    bdev: BlockDevice<'s>,
    blkbits: u32,
}

impl<D: AtBoundary> Drop for BioStream<'_, D> {
    fn drop(&mut self) {
        self.stats.add_sent(D::WRITE, &self.sent);
    }
}

impl BioStream<'_, Read> {
    /// Cancels the work done since [`BioStream::hold`]: the bios held back
    /// and the open one are taken back unsent, so that none of it reaches
    /// the disk and the folio pieces in them are in no bio. Bios are sent
    /// as they fill from here on. Without a hold, does nothing.
    pub(crate) fn discard(&mut self) {
        let Some(mut held) = self.held.take() else {
            return;
        };
        while let Some(bio) = held.pop() {
            bio.cancel();
        }
        if let Some(bio) = self.bio.take() {
            bio.cancel();
        }
        self.planner.closed();
    }
}

impl<'s, D: AtBoundary> BioStream<'s, D> {
    /// No bio open yet, on `bdev` with blocks of `1 << blkbits` bytes; the
    /// bios sent are counted in `stats`.
    pub(crate) fn new(stats: &'s Stats, bdev: BlockDevice<'s>, blkbits: u32) -> Self {
        Self {
            bio: None,
            held: None,
            planner: BioPlanner::default(),
            stats,
            sent: SentBios::default(),
            bdev,
            blkbits,
        }
    }

    /// Sends the open bio, if any, to the block layer, or holds it back if
    /// holding.
    pub(crate) fn submit(&mut self) {
        if let Some(bio) = self.bio.take().filter(|bio| bio.bytes() > 0) {
            match &mut self.held {
                Some(held) => held.push(bio),
                None => self.send(bio),
            }
        }
    }

    fn send(&mut self, bio: Bio<Stats, D>) {
        self.sent.count(bio.folios(), bio.bytes());
        bio.submit();
    }

    /// From here until [`BioStream::release`] or [`BioStream::discard`],
    /// bios that fill are held back instead of sent. The open bio is sent
    /// first, so that what is held is the new work alone.
    pub(crate) fn hold(&mut self) {
        self.close();
        self.held = Some(HeldBios::new());
    }

    /// Whether bios are held back ([`BioStream::hold`]).
    pub(crate) fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// Sends the bios held back, in the order they filled, and sends bios
    /// as they fill from here on. The open bio stays open.
    pub(crate) fn release(&mut self) {
        if let Some(mut held) = self.held.take() {
            while let Some(bio) = held.pop() {
                self.send(bio);
            }
        }
    }

    /// Sends what the open bio holds as it is: the next folio must start a
    /// bio of its own.
    pub(crate) fn close(&mut self) {
        self.submit();
        self.planner.closed();
    }

    /// Adds `item` to the open bio or a new one from `alloc`, with `add`,
    /// submitting before and after it as `steps` (from the planner) say;
    /// `boundary_block` is the device block a boundary follows, if one does.
    /// If no bio takes `item`, the open bio is sent and `item` comes back.
    pub(crate) fn add<T>(
        &mut self,
        steps: BioSteps,
        boundary_block: Option<u64>,
        item: T,
        alloc: impl FnMut() -> Option<Bio<Stats, D>>,
        add: impl FnMut(&mut Bio<Stats, D>, T) -> Result<(), NotAdded<T>>,
    ) -> Result<(), NotAdded<T>> {
        if steps.submit_before {
            self.submit();
        }
        if let Err(not_added) = self.add_or_resubmit(item, alloc, add) {
            self.close();
            return Err(not_added);
        }
        if steps.submit_after {
            self.submit_at_boundary(boundary_block);
        }
        Ok(())
    }

    /// Adds `bytes` of a split folio, claiming them from `builder`, as
    /// [`BioStream::add`] adds a whole folio; `last_block` is the piece's
    /// last device block, which a boundary may follow.
    pub(crate) fn add_piece(
        &mut self,
        steps: BioSteps,
        last_block: u64,
        builder: &mut SplitBuilder,
        bytes: Range<usize>,
        alloc: impl FnMut() -> Option<Bio<Stats, D>>,
    ) -> Result {
        self.add(steps, Some(last_block), builder, alloc, |bio, builder| {
            let added = bio.add_piece(builder, bytes.start, bytes.len());
            added.map_err(|error| NotAdded::new(builder, error))
        })
        .map_err(|not_added| not_added.error)
    }

    /// Adds `item` to the open bio, allocating one with `alloc` if none is
    /// open. A bio that already holds something and is too full for `item`
    /// grows if it was made small ([`Bio::grow`]); if it cannot, it is sent,
    /// and `item` starts another.
    fn add_or_resubmit<T>(
        &mut self,
        mut item: T,
        mut alloc: impl FnMut() -> Option<Bio<Stats, D>>,
        mut add: impl FnMut(&mut Bio<Stats, D>, T) -> Result<(), NotAdded<T>>,
    ) -> Result<(), NotAdded<T>> {
        loop {
            let bio = match &mut self.bio {
                Some(bio) => bio,
                None => match alloc() {
                    Some(bio) => self.bio.insert(bio),
                    None => return Err(NotAdded::new(item, ENOMEM)),
                },
            };
            let empty = bio.bytes() == 0;
            match add(bio, item) {
                Ok(()) => return Ok(()),
                // The bio is full: make room in it, or send it and start
                // another at this item.
                Err(not_added) if not_added.error == EAGAIN && !empty => {
                    item = not_added.item;
                    if bio.grow() {
                        self.sent.count_grown();
                    } else {
                        self.submit();
                    }
                }
                Err(not_added) => return Err(not_added),
            }
        }
    }

    /// Sends the open bio where the planner ends it after a folio or piece:
    /// at a BH_Boundary after device block `boundary_block`, or (`None`)
    /// because a hole follows.
    fn submit_at_boundary(&mut self, boundary_block: Option<u64>) {
        self.submit();
        if let Some(block) = boundary_block {
            D::after_boundary(self.stats, self.bdev, block, 1u32 << self.blkbits);
        }
    }
}
