// SPDX-License-Identifier: GPL-2.0

//! Tests of the write engine's decisions (`src/mpage/write_plan.rs`, and
//! `BioPlanner::folio` as `write.rs` uses it), checked against fs/mpage.c's
//! `mpage_write_folio`. Line numbers ("mpage NNN") are those of fs/mpage.c
//! in linux-source-7.3.

use crate::mpage::mapping::Mapping;
use crate::mpage::plan::{BioPlanner, BioSteps};
use crate::mpage::write_plan::{
    for_each_run, plan_buffered, plan_unbuffered, BufferState, WriteConfusion, WriteMapCache,
    WritePlan, WriteRun, WriteSpan,
};

const KIB: u64 = 1024;

/// 1 KiB blocks: a 4 KiB folio holds 4 of them.
const BLKBITS: u32 = 10;

/// The error of a failing fake mapper: the block it failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IoError(u64);

// ---------------------------------------------------------------------------
// Buffer states, as a folio's buffer_heads would carry them

/// A mapped, dirty, uptodate buffer on disk at `pblk`: ready to write.
fn dirty(pblk: u64) -> BufferState {
    BufferState {
        mapped: true,
        dirty: true,
        uptodate: true,
        boundary: false,
        pblk,
    }
}

/// Like [`dirty`], with BH_Boundary.
fn dirty_boundary(pblk: u64) -> BufferState {
    BufferState {
        boundary: true,
        ..dirty(pblk)
    }
}

/// An unmapped clean buffer: a hole nobody wrote (or past EOF).
fn clean_hole() -> BufferState {
    BufferState::default()
}

/// An unmapped dirty buffer: mmapped data over a hole (block_dirty_folio).
fn dirty_hole() -> BufferState {
    BufferState {
        dirty: true,
        uptodate: true,
        ..BufferState::default()
    }
}

/// Plans a folio with these buffers as fs/mpage.c would: never split.
fn buffered(buffers: &[BufferState], folio_past_eof: bool) -> WritePlan {
    plan_buffered(buffers.iter().copied(), folio_past_eof, false)
}

/// Plans a large folio with these buffers, which may be written in pieces.
fn buffered_large(buffers: &[BufferState], folio_past_eof: bool) -> WritePlan {
    plan_buffered(buffers.iter().copied(), folio_past_eof, true)
}

/// The runs `for_each_run` visits in the first `nblocks` buffers.
fn runs(buffers: &[BufferState], nblocks: u64) -> Vec<WriteRun> {
    let mut got = Vec::new();
    for_each_run::<()>(buffers.iter().copied(), nblocks, |r| {
        got.push(r);
        Ok(())
    })
    .unwrap();
    got
}

fn run(first: u64, len: u64, pblk: u64, boundary: bool) -> WriteRun {
    WriteRun {
        first,
        len,
        pblk,
        boundary,
    }
}

fn write(pblk: u64, nblocks: u64) -> WritePlan {
    WritePlan::Write {
        pblk,
        nblocks,
        boundary: false,
        boundary_block: None,
    }
}

fn confused(why: WriteConfusion) -> WritePlan {
    WritePlan::Confused(why)
}

// ---------------------------------------------------------------------------
// A fake allocating mapper, answering like ext2_get_blocks with create

/// A fake block mapper over a table of logical blocks that allocates holes,
/// like ext2_get_blocks with `create`: a run of existing blocks or of holes
/// is answered whole up to `max`, stops at the end of its pointer array and
/// is then marked `boundary`; holes are allocated contiguously from a goal
/// and said `new`.
struct AllocMap {
    /// Device block of each logical block; `None` is a hole. Blocks past the
    /// table are holes too.
    blocks: Vec<Option<u64>>,
    /// Next device block the allocator hands out.
    goal: u64,
    /// Sorted logical blocks that are the last slot of a pointer array.
    array_ends: Vec<u64>,
    /// Allocating the first block of an array first takes one device block
    /// for the indirect block that holds it (as ext2 does): data before and
    /// after an array end are then not contiguous.
    indirect_gaps: bool,
    /// Answer a hole (without allocating) when asked for this block.
    leave_hole_at: Option<u64>,
    /// Answer a filled mapping when asked for this block.
    fill_at: Option<u64>,
    /// Fail when asked for this block.
    fail_at: Option<u64>,
    /// Answer runs of existing blocks beyond `max` (a mapper that reports a
    /// whole extent); holes are still allocated only up to `max`.
    over_answer: bool,
    /// Every `(lblk, max)` the mapper was asked.
    requests: Vec<(u64, u64)>,
}

impl AllocMap {
    /// An empty file (all holes) whose blocks are allocated from `goal`.
    fn empty(goal: u64) -> Self {
        Self {
            blocks: Vec::new(),
            goal,
            array_ends: Vec::new(),
            indirect_gaps: false,
            leave_hole_at: None,
            fill_at: None,
            fail_at: None,
            over_answer: false,
            requests: Vec::new(),
        }
    }

    /// A file whose blocks already exist, as `(len, first device block or
    /// None for a hole)` extents; new blocks are allocated from `goal`.
    fn from_extents(extents: &[(u64, Option<u64>)], goal: u64) -> Self {
        let mut m = Self::empty(goal);
        for &(len, pblk) in extents {
            m.blocks.extend((0..len).map(|i| pblk.map(|p| p + i)));
        }
        m
    }

    fn with_array_ends(mut self, ends: &[u64]) -> Self {
        self.array_ends = ends.to_vec();
        self.array_ends.sort_unstable();
        self
    }

    fn with_indirect_gaps(mut self) -> Self {
        self.indirect_gaps = true;
        self
    }

    fn calls(&self) -> u64 {
        self.requests.len() as u64
    }

    fn block(&self, lblk: u64) -> Option<u64> {
        self.blocks.get(lblk as usize).copied().flatten()
    }

    /// Logical blocks the file has on disk now.
    fn allocated(&self) -> Vec<u64> {
        (0..self.blocks.len() as u64)
            .filter(|&l| self.block(l).is_some())
            .collect()
    }

    fn is_array_end(&self, lblk: u64) -> bool {
        self.array_ends.binary_search(&lblk).is_ok()
    }

    fn set(&mut self, lblk: u64, pblk: u64) {
        let i = lblk as usize;
        if self.blocks.len() <= i {
            self.blocks.resize(i + 1, None);
        }
        self.blocks[i] = Some(pblk);
    }

    fn map(&mut self, lblk: u64, max: u64) -> Result<Mapping, IoError> {
        self.requests.push((lblk, max));
        assert!(max >= 1, "mapper asked for no block at {lblk}");
        if self.fail_at == Some(lblk) {
            return Err(IoError(lblk));
        }
        if self.leave_hole_at == Some(lblk) {
            return Ok(Mapping::hole(lblk, 1));
        }
        if let Some(first) = self.block(lblk) {
            // Existing blocks: the contiguous run, up to the array end.
            let limit = if self.over_answer { u64::MAX } else { max };
            let mut len = 1;
            while len < limit
                && !self.is_array_end(lblk + len - 1)
                && self.block(lblk + len) == Some(first + len)
            {
                len += 1;
            }
            let boundary = self.is_array_end(lblk + len - 1);
            return Ok(Mapping {
                filled: self.fill_at == Some(lblk),
                ..Mapping::mapped(lblk, len, first, boundary)
            });
        }
        // A hole: allocate it, up to `max`, the array end or the next
        // existing block.
        let mut count = 1;
        while count < max
            && !self.is_array_end(lblk + count - 1)
            && self.block(lblk + count).is_none()
        {
            count += 1;
        }
        if self.indirect_gaps && lblk > 0 && self.is_array_end(lblk - 1) {
            self.goal += 1;
        }
        let first = self.goal;
        self.goal += count;
        for k in 0..count {
            self.set(lblk + k, first + k);
        }
        Ok(Mapping {
            new: true,
            filled: self.fill_at == Some(lblk),
            ..Mapping::mapped(lblk, count, first, self.is_array_end(lblk + count - 1))
        })
    }
}

/// The span of a folio of `size` bytes at `pos`, 1 KiB blocks.
fn span(pos: u64, size: u64, i_size: u64) -> WriteSpan {
    WriteSpan::new(pos, size, i_size, BLKBITS)
}

/// Plans one folio without buffers through `map`; also returns every
/// `(pblk, len)` the plan said was freshly allocated.
fn unbuffered(
    map: &mut AllocMap,
    cache: &mut WriteMapCache,
    span: WriteSpan,
) -> (Result<WritePlan, IoError>, Vec<(u64, u64)>) {
    let mut fresh = Vec::new();
    let plan = plan_unbuffered(
        span,
        cache,
        |lblk, max| map.map(lblk, max),
        |pblk, len| fresh.push((pblk, len)),
    );
    (plan, fresh)
}

const NO_SUBMIT: BioSteps = BioSteps {
    submit_before: false,
    submit_after: false,
};

// ---------------------------------------------------------------------------
// plan_buffered

#[test]
fn buffered_all_mapped_dirty_contiguous_writes_every_block() {
    // mpage 481-516: every buffer mapped, dirty, uptodate and following the
    // first on disk; first_unmapped stays blocks_per_folio (611).
    let got = buffered(&[dirty(500), dirty(501), dirty(502), dirty(503)], false);
    assert_eq!(got, write(500, 4));
}

#[test]
fn buffered_eof_folio_with_trailing_clean_holes_writes_only_the_head() {
    // mpage 490-492: a clean unmapped buffer sets first_unmapped and is
    // skipped; 611: only first_unmapped blocks go into the bio.
    let got = buffered(&[dirty(70), dirty(71), clean_hole(), clean_hole()], false);
    assert_eq!(got, write(70, 2));
}

#[test]
fn buffered_unmapped_dirty_buffer_is_confused() {
    // mpage 483-489: an unmapped dirty buffer (mmapped data over a hole)
    // goes to the buffer_head path, wherever it sits in the folio.
    let dirty_unmapped = confused(WriteConfusion::DirtyUnmapped);
    assert_eq!(
        buffered(&[dirty(10), dirty(11), dirty_hole(), dirty(13)], false),
        dirty_unmapped
    );
    assert_eq!(buffered(&[dirty_hole(), dirty(11)], false), dirty_unmapped);
    // After a clean hole too: it is not "hole then data" but still dirty.
    assert_eq!(
        buffered(
            &[dirty(10), clean_hole(), dirty_hole(), clean_hole()],
            false
        ),
        dirty_unmapped
    );
}

#[test]
fn buffered_hole_then_mapped_is_confused() {
    // mpage 495-496: "hole -> non-hole".
    let hole_then_data = confused(WriteConfusion::HoleThenData);
    assert_eq!(
        buffered(&[dirty(10), clean_hole(), dirty(12), dirty(13)], false),
        hole_then_data
    );
    assert_eq!(
        buffered(&[clean_hole(), dirty(11), dirty(12), dirty(13)], false),
        hole_then_data
    );
}

#[test]
fn buffered_mapped_but_clean_or_not_uptodate_is_partly_dirty() {
    // mpage 498-499: !buffer_dirty || !buffer_uptodate.
    let partly = confused(WriteConfusion::PartlyDirty);
    let clean = BufferState {
        dirty: false,
        ..dirty(12)
    };
    let stale = BufferState {
        uptodate: false,
        ..dirty(12)
    };
    assert_eq!(
        buffered(&[dirty(10), dirty(11), clean, dirty(13)], false),
        partly
    );
    assert_eq!(
        buffered(&[dirty(10), dirty(11), stale, dirty(13)], false),
        partly
    );
    // On the first buffer as well.
    let clean0 = BufferState {
        dirty: false,
        ..dirty(10)
    };
    assert_eq!(buffered(&[clean0, dirty(11)], false), partly);
}

#[test]
fn buffered_discontiguous_blocks_are_confused() {
    // mpage 500-502: b_blocknr != first_block + page_block, forwards or
    // backwards on disk (a folio that may not be split, as in mpage).
    let disc = confused(WriteConfusion::Discontiguous);
    assert_eq!(
        buffered(&[dirty(10), dirty(11), dirty(20), dirty(21)], false),
        disc
    );
    assert_eq!(buffered(&[dirty(11), dirty(10)], false), disc);
    // The same block twice is no continuation either.
    assert_eq!(buffered(&[dirty(10), dirty(10)], false), disc);
}

#[test]
fn buffered_without_a_mapped_buffer_is_none_mapped() {
    // mpage 515-524: first_unmapped == 0, "buffers, but they are all
    // unmapped".
    let got = buffered(
        &[clean_hole(), clean_hole(), clean_hole(), clean_hole()],
        false,
    );
    assert_eq!(got, confused(WriteConfusion::NoneMapped));
    // Past EOF too: the confusion checks come first, as in mpage.
    assert_eq!(
        buffered(&[clean_hole(); 4], true),
        confused(WriteConfusion::NoneMapped)
    );
}

#[test]
fn buffered_folio_past_eof_is_not_written() {
    // mpage 573-574: folio_pos >= i_size goes to block_write_full_folio,
    // which only unlocks a folio wholly outside i_size: rmpage skips it.
    let got = buffered(&[dirty(10), dirty(11), dirty(12), dirty(13)], true);
    assert_eq!(got, WritePlan::PastEof);
}

#[test]
fn buffered_boundary_on_the_last_buffer_ends_the_bio() {
    // mpage 507-511: boundary is the last mapped buffer's BH_Boundary, and
    // boundary_block that buffer's block; 622-626 submit and write it.
    let got = buffered(
        &[dirty(40), dirty(41), dirty(42), dirty_boundary(43)],
        false,
    );
    assert_eq!(
        got,
        WritePlan::Write {
            pblk: 40,
            nblocks: 4,
            boundary: true,
            boundary_block: Some(43),
        }
    );
}

#[test]
fn buffered_boundary_on_a_middle_buffer_is_remembered_not_ending() {
    // mpage 507-511: `boundary` is overwritten by each later buffer, but
    // boundary_block keeps the last block that had BH_Boundary.
    let got = buffered(
        &[dirty(40), dirty_boundary(41), dirty(42), dirty(43)],
        false,
    );
    assert_eq!(
        got,
        WritePlan::Write {
            pblk: 40,
            nblocks: 4,
            boundary: false,
            boundary_block: Some(41),
        }
    );
}

#[test]
fn buffered_boundary_before_trailing_holes_is_kept() {
    // mpage 490-492 + 507: clean holes do not touch `boundary`; the last
    // mapped buffer's BH_Boundary stands.
    let got = buffered(
        &[dirty(40), dirty_boundary(41), clean_hole(), clean_hole()],
        false,
    );
    assert_eq!(
        got,
        WritePlan::Write {
            pblk: 40,
            nblocks: 2,
            boundary: true,
            boundary_block: Some(41),
        }
    );
}

#[test]
fn buffered_discontiguous_large_folio_is_split() {
    // Where mpage 500-502 goes to the buffer_head path (one bio per
    // block), a large folio is written in pieces: every mapped buffer up to
    // the first clean hole (mpage 490-491's first_unmapped).
    assert_eq!(
        buffered_large(&[dirty(10), dirty(11), dirty(20), dirty(21)], false),
        WritePlan::Split { nblocks: 4 }
    );
    assert_eq!(
        buffered_large(&[dirty(10), dirty(30), dirty(20), clean_hole()], false),
        WritePlan::Split { nblocks: 3 }
    );
    // Contiguous, it is one segment as before.
    assert_eq!(
        buffered_large(&[dirty(10), dirty(11), dirty(12), dirty(13)], false),
        write(10, 4)
    );
}

#[test]
fn split_does_not_excuse_other_confusions_or_past_eof() {
    // mpage 488-489, 495-496 and 498-499 still apply after a discontiguity,
    // and 573-574 (past EOF) before any split.
    let clean = BufferState {
        dirty: false,
        ..dirty(21)
    };
    assert_eq!(
        buffered_large(&[dirty(10), dirty(20), clean], false),
        confused(WriteConfusion::PartlyDirty)
    );
    assert_eq!(
        buffered_large(&[dirty(10), dirty(20), dirty_hole()], false),
        confused(WriteConfusion::DirtyUnmapped)
    );
    assert_eq!(
        buffered_large(&[dirty(10), dirty(20), clean_hole(), dirty(30)], false),
        confused(WriteConfusion::HoleThenData)
    );
    assert_eq!(
        buffered_large(&[dirty(10), dirty(20)], true),
        WritePlan::PastEof
    );
}

#[test]
fn split_runs_break_at_discontiguities_and_after_boundaries() {
    // Each piece ends where the disk jumps, or after a BH_Boundary block
    // (mpage 507-511, 622-626: submit, then write the boundary block),
    // even when the next block is contiguous. Trailing holes are not
    // visited.
    let bufs = [
        dirty(10),
        dirty_boundary(11),
        dirty(12),
        dirty(40),
        dirty(41),
        dirty(7),
        clean_hole(),
        clean_hole(),
    ];
    assert_eq!(
        buffered_large(&bufs, false),
        WritePlan::Split { nblocks: 6 }
    );
    assert_eq!(
        runs(&bufs, 6),
        [
            run(0, 2, 10, true),
            run(2, 1, 12, false),
            run(3, 2, 40, false),
            run(5, 1, 7, false),
        ]
    );
}

#[test]
fn split_run_visitor_error_stops_the_walk() {
    let bufs = [dirty(10), dirty(20), dirty(30)];
    let mut seen = Vec::new();
    let got = for_each_run(bufs.iter().copied(), 3, |r| {
        seen.push(r.first);
        if r.first == 1 {
            Err("full")
        } else {
            Ok(())
        }
    });
    assert_eq!(got, Err("full"));
    assert_eq!(seen, [0, 1]);
}

// ---------------------------------------------------------------------------
// WriteSpan

#[test]
fn write_span_counts_file_blocks_rounded_up() {
    // mpage 536: (i_size + blocksize - 1) >> blkbits.
    let s = span(4 * KIB, 4 * KIB, 5000);
    assert_eq!((s.first, s.blocks, s.file_blocks), (4, 4, 5));
    let s = span(0, 4 * KIB, 0);
    assert_eq!((s.first, s.blocks, s.file_blocks), (0, 4, 0));
    let s = WriteSpan::new(0, 512, 4 * KIB, 12);
    assert_eq!((s.first, s.blocks, s.file_blocks), (0, 1, 1));
}

// ---------------------------------------------------------------------------
// plan_unbuffered

#[test]
fn unbuffered_folio_wholly_past_eof_maps_nothing() {
    // mpage 536-537 (pitfall 3): a folio past EOF must not allocate, or
    // truncate leaks the blocks. The mapper is never called.
    for (pos, i_size) in [(8 * KIB, 8 * KIB), (12 * KIB, 5 * KIB), (0, 0)] {
        let mut map = AllocMap::empty(1000);
        let mut cache = WriteMapCache::default();
        let (got, fresh) = unbuffered(&mut map, &mut cache, span(pos, 4 * KIB, i_size));
        assert_eq!(
            got,
            Ok(WritePlan::PastEof),
            "folio at {pos}, i_size {i_size}"
        );
        assert!(map.requests.is_empty());
        assert!(fresh.is_empty());
        assert_eq!(cache.calls(), 0);
        assert!(map.allocated().is_empty());
    }
}

#[test]
fn unbuffered_eof_folio_maps_only_blocks_inside_the_file() {
    // mpage 538, 563-564: mapping stops at last_block = (i_size - 1) >>
    // blkbits; first_unmapped = page_block (569) makes a short write.
    // 6500 bytes: blocks 0..7 inside, the second folio holds blocks 4, 5, 6.
    let mut map = AllocMap::empty(1000);
    let mut cache = WriteMapCache::default();
    let (got, fresh) = unbuffered(&mut map, &mut cache, span(4 * KIB, 4 * KIB, 6500));
    assert_eq!(got, Ok(write(1000, 3)));
    assert_eq!(map.requests, [(4, 3)]);
    assert_eq!(fresh, [(1000, 3)]);
    // Block 7 (past EOF) was never allocated.
    assert_eq!(map.allocated(), [4, 5, 6]);

    // i_size 5 KiB ends exactly at a block: last_block is 4.
    let mut map = AllocMap::empty(1000);
    let mut cache = WriteMapCache::default();
    let (got, _) = unbuffered(&mut map, &mut cache, span(4 * KIB, 4 * KIB, 5 * KIB));
    assert_eq!(got, Ok(write(1000, 1)));
    assert_eq!(map.requests, [(4, 1)]);
    assert_eq!(map.allocated(), [4]);
}

#[test]
fn unbuffered_whole_folio_is_one_mapper_call() {
    // mpage 540-545 asks get_block once per block (4 calls for this folio,
    // b_size of one block); rmpage asks once for all 4.
    let mut map = AllocMap::empty(2000);
    let mut cache = WriteMapCache::default();
    let (got, fresh) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 16 * KIB));
    assert_eq!(got, Ok(write(2000, 4)));
    assert_eq!(map.requests, [(0, 4)]);
    assert_eq!(cache.calls(), 1);
    assert!(cache.calls() < 4, "no fewer calls than mpage's get_block");
    assert_eq!(fresh, [(2000, 4)]);

    // Existing blocks: one call too, nothing fresh.
    let mut map = AllocMap::from_extents(&[(4, Some(300))], 9000);
    let mut cache = WriteMapCache::default();
    let (got, fresh) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 16 * KIB));
    assert_eq!(got, Ok(write(300, 4)));
    assert_eq!(map.calls(), 1);
    assert!(fresh.is_empty());
}

#[test]
fn unbuffered_fresh_once_per_new_run_never_for_existing_blocks() {
    // mpage 548-549: clean_bdev_bh_alias for each BH_New block; rmpage
    // cleans once per newly allocated run. Blocks 0-1 exist, 2-7 are a
    // hole split by the array end at 5: two new runs, contiguous on disk
    // with the existing blocks.
    let mut map = AllocMap::from_extents(&[(2, Some(500))], 502).with_array_ends(&[5]);
    let mut cache = WriteMapCache::default();
    let (got, fresh) = unbuffered(&mut map, &mut cache, span(0, 8 * KIB, 8 * KIB));
    assert_eq!(
        got,
        Ok(WritePlan::Write {
            pblk: 500,
            nblocks: 8,
            boundary: false,
            boundary_block: Some(505),
        })
    );
    assert_eq!(map.requests, [(0, 8), (2, 6), (6, 2)]);
    assert_eq!(fresh, [(502, 4), (506, 2)]);
}

#[test]
fn unbuffered_new_run_reused_from_the_cache_is_not_fresh_again() {
    // mpage 548: BH_New is reported once, by the call that allocated. A
    // mapper that allocates more than asked: its one new run covers the
    // next folio too, which is served from the cache and not cleaned again.
    let mut fresh = Vec::new();
    let mut cache = WriteMapCache::default();
    let mut calls = 0;
    let got = plan_unbuffered::<IoError>(
        span(0, 4 * KIB, 8 * KIB),
        &mut cache,
        |lblk, _max| {
            calls += 1;
            // Allocates 8 blocks at once, more than asked.
            Ok(Mapping {
                new: true,
                ..Mapping::mapped(lblk, 8, 1200, false)
            })
        },
        |pblk, len| fresh.push((pblk, len)),
    );
    assert_eq!(got, Ok(write(1200, 4)));
    let got = plan_unbuffered::<IoError>(
        span(4 * KIB, 4 * KIB, 8 * KIB),
        &mut cache,
        |_, _| panic!("the cached mapping covers the second folio"),
        |pblk, len| fresh.push((pblk, len)),
    );
    assert_eq!(got, Ok(write(1204, 4)));
    assert_eq!(calls, 1);
    assert_eq!(fresh, [(1200, 8)]);
}

#[test]
fn unbuffered_discontiguous_allocation_is_confused_but_still_cleaned() {
    // mpage 554-556: a block not following the first on disk. The indirect
    // block allocated for the array after block 1 puts a gap between runs.
    // 548-549 come before the check: the allocated run is cleaned anyway.
    let mut map = AllocMap::empty(100)
        .with_array_ends(&[1])
        .with_indirect_gaps();
    let mut cache = WriteMapCache::default();
    let (got, fresh) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB));
    assert_eq!(got, Ok(confused(WriteConfusion::Discontiguous)));
    assert_eq!(map.requests, [(0, 4), (2, 2)]);
    // 100-101, then 102 is the indirect block, then 103-104.
    assert_eq!(fresh, [(100, 2), (103, 2)]);
}

#[test]
fn unbuffered_existing_discontiguous_blocks_are_confused() {
    // mpage 554-556, over blocks that already exist.
    let mut map = AllocMap::from_extents(&[(2, Some(100)), (2, Some(200))], 9000);
    let mut cache = WriteMapCache::default();
    let (got, fresh) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB));
    assert_eq!(got, Ok(confused(WriteConfusion::Discontiguous)));
    assert_eq!(map.requests, [(0, 4), (2, 2)]);
    assert!(fresh.is_empty());
}

#[test]
fn unbuffered_hole_left_by_the_mapper_is_unmapped() {
    // mpage 546-547: !buffer_mapped after get_block with create.
    let mut map = AllocMap::from_extents(&[(2, Some(100))], 102);
    map.leave_hole_at = Some(2);
    let mut cache = WriteMapCache::default();
    let (got, _) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB));
    assert_eq!(got, Ok(confused(WriteConfusion::Unmapped)));
    assert_eq!(map.requests, [(0, 4), (2, 2)]);

    // Not in mpage's write path (its get_block does not fill when
    // writing): a filled mapping is refused too rather than written over.
    let mut map = AllocMap::from_extents(&[(4, Some(100))], 9000);
    map.fill_at = Some(0);
    let mut cache = WriteMapCache::default();
    let (got, _) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB));
    assert_eq!(got, Ok(confused(WriteConfusion::Unmapped)));
}

#[test]
fn unbuffered_mapper_error_propagates() {
    // mpage 544-545: a get_block error sends the folio to the buffer_head
    // path (write.rs does the same with the error returned here).
    let mut map = AllocMap::empty(100).with_array_ends(&[1]);
    map.fail_at = Some(2);
    let mut cache = WriteMapCache::default();
    let (got, fresh) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB));
    assert_eq!(got, Err(IoError(2)));
    assert_eq!(map.requests, [(0, 4), (2, 2)]);
    // The run allocated before the error was still cleaned.
    assert_eq!(fresh, [(100, 2)]);
}

#[test]
fn unbuffered_boundary_at_the_folio_end_ends_the_bio() {
    // mpage 550-553 and 561: the last block mapped carries BH_Boundary.
    let mut map = AllocMap::empty(100).with_array_ends(&[3]);
    let mut cache = WriteMapCache::default();
    let (got, _) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 8 * KIB));
    assert_eq!(
        got,
        Ok(WritePlan::Write {
            pblk: 100,
            nblocks: 4,
            boundary: true,
            boundary_block: Some(103),
        })
    );
}

#[test]
fn unbuffered_boundary_inside_the_folio_is_only_remembered() {
    // mpage 550-553: boundary_block keeps the block at the array end; 561:
    // `boundary` is that of the folio's last block, which has none.
    let mut map = AllocMap::from_extents(&[(8, Some(100))], 9000).with_array_ends(&[1, 5]);
    let mut cache = WriteMapCache::default();
    let (got, _) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 8 * KIB));
    assert_eq!(
        got,
        Ok(WritePlan::Write {
            pblk: 100,
            nblocks: 4,
            boundary: false,
            boundary_block: Some(101),
        })
    );
    assert_eq!(map.requests, [(0, 4), (2, 2)]);
}

#[test]
fn unbuffered_cached_mapping_serves_the_next_folio_without_a_call() {
    // fs/mpage.c's write path has no map cache (544 runs for every block);
    // WriteMapCache reuses a mapping that covers the next folio. An 8-block
    // existing extent reported whole by the first call.
    let mut map = AllocMap::from_extents(&[(8, Some(600))], 9000).with_array_ends(&[7]);
    map.over_answer = true;
    let mut cache = WriteMapCache::default();
    let (first, _) = unbuffered(&mut map, &mut cache, span(0, 4 * KIB, 8 * KIB));
    let (second, _) = unbuffered(&mut map, &mut cache, span(4 * KIB, 4 * KIB, 8 * KIB));
    assert_eq!(first, Ok(write(600, 4)));
    // The extent's boundary falls at the second folio's end.
    assert_eq!(
        second,
        Ok(WritePlan::Write {
            pblk: 604,
            nblocks: 4,
            boundary: true,
            boundary_block: Some(607),
        })
    );
    assert_eq!(map.requests, [(0, 4)]);
    assert_eq!(cache.calls(), 1);
}

#[test]
fn unbuffered_max_never_reaches_past_the_folio() {
    // Allocation is asked only for the blocks of the folio being written
    // (a hole after it may stay a hole): a mapper that keeps to `max`
    // is asked once per folio.
    let mut map = AllocMap::empty(100);
    let mut cache = WriteMapCache::default();
    for k in 0..3 {
        let (got, fresh) = unbuffered(&mut map, &mut cache, span(k * 4 * KIB, 4 * KIB, 64 * KIB));
        assert_eq!(got, Ok(write(100 + 4 * k, 4)));
        assert_eq!(fresh, [(100 + 4 * k, 4)]);
    }
    assert_eq!(map.requests, [(0, 4), (4, 4), (8, 4)]);
    assert_eq!(map.allocated(), (0..12).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------
// BioPlanner::folio for writes

#[test]
fn write_contiguous_folios_share_a_bio() {
    // mpage 592 (last_block_in_bio == first_block - 1) and 629.
    let mut p = BioPlanner::default();
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    assert_eq!(p.folio(104, 4, false, 4), NO_SUBMIT);
    assert_eq!(p.folio(108, 4, false, 4), NO_SUBMIT);
    assert!(p.is_open());
}

#[test]
fn write_discontiguous_folio_submits_before() {
    // mpage 592-593.
    let mut p = BioPlanner::default();
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    assert_eq!(
        p.folio(200, 4, false, 4),
        BioSteps {
            submit_before: true,
            submit_after: false,
        }
    );
    assert_eq!(p.folio(204, 4, false, 4), NO_SUBMIT);
}

#[test]
fn write_boundary_submits_after() {
    // mpage 622-623: boundary → mpage_bio_submit_write.
    let mut p = BioPlanner::default();
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    assert_eq!(
        p.folio(104, 4, true, 4),
        BioSteps {
            submit_before: false,
            submit_after: true,
        }
    );
    assert!(!p.is_open());
    // Even the contiguous next folio opens a new bio, with nothing to send.
    assert_eq!(p.folio(108, 4, false, 4), NO_SUBMIT);
}

#[test]
fn write_short_folio_submits_after() {
    // mpage 622: first_unmapped != blocks_per_folio.
    let mut p = BioPlanner::default();
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    assert_eq!(
        p.folio(104, 3, false, 4),
        BioSteps {
            submit_before: false,
            submit_after: true,
        }
    );
    assert!(!p.is_open());
}

#[test]
fn written_file_goes_out_in_bios_split_at_boundaries() {
    // write.rs end to end over a new 14 KiB file with ext2-like arrays
    // (array ends at 3 and 11, an indirect block allocated before each new
    // array): folios 0, 1, 2 and the EOF folio 3 (blocks 12, 13).
    let mut map = AllocMap::empty(1000)
        .with_array_ends(&[3, 11])
        .with_indirect_gaps();
    let mut cache = WriteMapCache::default();
    let mut p = BioPlanner::default();
    let mut steps = Vec::new();
    let i_size = 14 * KIB;
    for k in 0..4 {
        let s = span(k * 4 * KIB, 4 * KIB, i_size);
        let (plan, _) = unbuffered(&mut map, &mut cache, s);
        let Ok(WritePlan::Write {
            pblk,
            nblocks,
            boundary,
            ..
        }) = plan
        else {
            panic!("folio {k}: {plan:?}");
        };
        steps.push((
            (pblk, nblocks, boundary),
            p.folio(pblk, nblocks, boundary, s.blocks),
        ));
    }
    let after = BioSteps {
        submit_before: false,
        submit_after: true,
    };
    assert_eq!(
        steps,
        [
            // Blocks 0-3 end the direct array: boundary, the bio goes.
            ((1000, 4, true), after),
            // 1004 is the indirect block; 4-7 and 8-11 share a bio that
            // 11's boundary ends.
            ((1005, 4, false), NO_SUBMIT),
            ((1009, 4, true), after),
            // 1013 is the next indirect block; the EOF folio is short.
            ((1014, 2, false), after),
        ]
    );
    assert_eq!(map.requests, [(0, 4), (4, 4), (8, 4), (12, 2)]);
    assert!(!p.is_open());
}
