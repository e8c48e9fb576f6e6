// SPDX-License-Identifier: GPL-2.0

//! Tests of the read engine's decisions (`src/mpage/plan.rs`) against a fake
//! block mapper, checked against fs/mpage.c's `do_mpage_readpage`.

use crate::mpage::plan::{
    bio_segments, hold_split_bios, plan_folio, setup_failure, walk_extents, BioPlanner, BioSteps,
    Confusion, Extent, FolioPlan, FolioSpan, MapCache, MapKind, Mapping, SetupFailure,
};
use crate::rng::Rng;

const PAGE: u64 = 4096;
const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// The error of a failing fake mapper: the block it failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IoError(u64);

/// A fake block mapper over a table of logical blocks, answering like
/// ext2_get_blocks: a run is one kind (hole, or blocks contiguous on disk),
/// stops at `max` and at the end of its pointer array, and is marked
/// `boundary` when it reaches that end.
struct FakeMap {
    /// Device block of each logical block; `None` is a hole. Blocks past
    /// the table are holes too.
    blocks: Vec<Option<u64>>,
    /// Sorted logical blocks that are the last slot of a pointer array.
    array_ends: Vec<u64>,
    /// Fail when asked for this block.
    fail_at: Option<u64>,
    /// Every `(lblk, max)` the mapper was asked.
    requests: Vec<(u64, u64)>,
}

impl FakeMap {
    /// A map from `(len, first device block or None for a hole)` extents.
    fn from_extents(extents: &[(u64, Option<u64>)]) -> Self {
        let mut blocks = Vec::new();
        for &(len, pblk) in extents {
            blocks.extend((0..len).map(|i| pblk.map(|p| p + i)));
        }
        Self {
            blocks,
            array_ends: Vec::new(),
            fail_at: None,
            requests: Vec::new(),
        }
    }

    /// `len` blocks stored contiguously from device block `pblk`.
    fn contiguous(len: u64, pblk: u64) -> Self {
        Self::from_extents(&[(len, Some(pblk))])
    }

    /// Pointer arrays that end at these logical blocks.
    fn with_array_ends(mut self, ends: &[u64]) -> Self {
        self.array_ends = ends.to_vec();
        self.array_ends.sort_unstable();
        self
    }

    /// The pointer arrays of ext2 with `ptrs` pointers per indirect block:
    /// the 12 direct pointers, then arrays of `ptrs` (single, double and
    /// triple indirect all end every `ptrs` blocks).
    fn with_ext2_arrays(self, ptrs: u64) -> Self {
        let len = self.blocks.len() as u64;
        let ends: Vec<u64> = std::iter::successors(Some(11), |e| Some(e + ptrs))
            .take_while(|&e| e < len)
            .collect();
        self.with_array_ends(&ends)
    }

    fn failing_at(mut self, lblk: u64) -> Self {
        self.fail_at = Some(lblk);
        self
    }

    fn calls(&self) -> u64 {
        self.requests.len() as u64
    }

    fn block(&self, lblk: u64) -> Option<u64> {
        self.blocks.get(lblk as usize).copied().flatten()
    }

    fn is_array_end(&self, lblk: u64) -> bool {
        self.array_ends.binary_search(&lblk).is_ok()
    }

    fn map(&mut self, lblk: u64, max: u64) -> Result<Mapping, IoError> {
        self.requests.push((lblk, max));
        assert!(max >= 1, "mapper asked for no block at {lblk}");
        if self.fail_at == Some(lblk) {
            return Err(IoError(lblk));
        }
        let first = self.block(lblk);
        let mut len = 1;
        while len < max && !self.is_array_end(lblk + len - 1) {
            let joins = match (first, self.block(lblk + len)) {
                (None, None) => true,
                (Some(p), Some(q)) => q == p + len,
                _ => false,
            };
            if !joins {
                break;
            }
            len += 1;
        }
        let kind = match first {
            None => MapKind::Hole,
            Some(pblk) => MapKind::Mapped {
                pblk,
                boundary: self.is_array_end(lblk + len - 1),
            },
        };
        Ok(Mapping {
            lblk,
            len,
            kind,
            filled: false,
            new: false,
        })
    }
}

/// The span of a folio at byte `pos` of `size` bytes with 4 KiB pages.
fn span(pos: u64, size: u64, i_size: u64, blkbits: u32, pages_left: u64) -> FolioSpan {
    FolioSpan::new(pos, size, i_size, blkbits, pages_left, PAGE)
}

/// Plans one folio without buffers through `map`.
fn plan(map: &mut FakeMap, cache: &mut MapCache, span: FolioSpan) -> Result<FolioPlan, IoError> {
    plan_folio(span, false, false, cache, |lblk, max| map.map(lblk, max))
}

/// Plans the folios of one readahead request of `nr_folios` folios of
/// `folio_size` bytes, starting at folio index `first_folio`, with one map
/// cache, like `mpage_readahead`.
fn plan_request(
    map: &mut FakeMap,
    i_size: u64,
    blkbits: u32,
    folio_size: u64,
    first_folio: u64,
    nr_folios: u64,
) -> (Vec<FolioPlan>, MapCache) {
    let mut cache = MapCache::default();
    let folio_pages = folio_size / PAGE;
    let plans = (0..nr_folios)
        .map(|i| {
            let pos = (first_folio + i) * folio_size;
            let pages_left = (nr_folios - i) * folio_pages;
            let s = span(pos, folio_size, i_size, blkbits, pages_left);
            plan(map, &mut cache, s).expect("mapper failed")
        })
        .collect();
    (plans, cache)
}

fn read(pblk: u64, nblocks: u64) -> FolioPlan {
    FolioPlan::Read {
        pblk,
        nblocks,
        boundary: false,
    }
}

fn read_boundary(pblk: u64, nblocks: u64) -> FolioPlan {
    FolioPlan::Read {
        pblk,
        nblocks,
        boundary: true,
    }
}

const NO_SUBMIT: BioSteps = BioSteps {
    submit_before: false,
    submit_after: false,
};

// ---------------------------------------------------------------------------
// FolioSpan

#[test]
fn folio_span_limit_is_request_end_when_eof_is_further() {
    // A 64 KiB folio at 64 KiB, 1 KiB blocks, 32 pages (128 KiB) left.
    let s = span(64 * KIB, 64 * KIB, MIB, 10, 32);
    assert_eq!((s.first, s.blocks, s.limit), (64, 64, 64 + 128));
}

#[test]
fn folio_span_limit_is_eof_rounded_up_to_a_block() {
    let s = span(0, 4 * KIB, 5000, 10, 16);
    assert_eq!((s.first, s.blocks, s.limit), (0, 4, 5));
    let s = span(4 * KIB, 4 * KIB, 5 * KIB, 10, 16);
    assert_eq!((s.first, s.blocks, s.limit), (4, 4, 5));
    let s = span(0, 4 * KIB, 0, 12, 1);
    assert_eq!((s.first, s.blocks, s.limit), (0, 1, 0));
}

#[test]
fn folio_span_has_at_least_one_block() {
    // A span smaller than a block still covers the block it sits in.
    let s = span(0, 512, 4 * KIB, 12, 1);
    assert_eq!((s.first, s.blocks, s.limit), (0, 1, 1));
}

#[test]
fn folio_span_with_4k_blocks_and_2m_folio() {
    let s = span(2 * MIB, 2 * MIB, 100 * MIB, 12, 1024);
    assert_eq!((s.first, s.blocks, s.limit), (512, 512, 512 + 1024));
}

// ---------------------------------------------------------------------------
// plan_folio: the basic shapes

#[test]
fn contiguous_file_reads_whole_folios_with_one_mapper_call() {
    // 16 KiB file, 1 KiB blocks stored from device block 1000.
    let mut map = FakeMap::contiguous(16, 1000);
    let (plans, cache) = plan_request(&mut map, 16 * KIB, 10, 4 * KIB, 0, 4);
    assert_eq!(
        plans,
        [read(1000, 4), read(1004, 4), read(1008, 4), read(1012, 4)]
    );
    assert_eq!(map.requests, [(0, 16)]);
    assert_eq!(cache.calls(), 1);
}

#[test]
fn map_is_reused_across_folios_one_call_per_extent() {
    // Two runs of 8 blocks (the first given as 6 + 2 contiguous blocks):
    // each is mapped once, the following folios reuse the mapping.
    let mut map = FakeMap::from_extents(&[(6, Some(100)), (2, Some(106)), (8, Some(500))]);
    let (plans, cache) = plan_request(&mut map, 16 * KIB, 10, 4 * KIB, 0, 4);
    assert_eq!(
        plans,
        [read(100, 4), read(104, 4), read(500, 4), read(504, 4)]
    );
    assert_eq!(map.requests, [(0, 16), (8, 8)]);
    assert_eq!(cache.calls(), 2);
}

#[test]
fn extent_ending_inside_a_folio_continues_contiguously() {
    // The array end at block 5 splits the run in two mapper calls, but
    // the disk blocks stay contiguous: folio 1 is read in one piece, and
    // the boundary of the first run is not the folio's end.
    let mut map = FakeMap::contiguous(12, 300).with_array_ends(&[5]);
    let (plans, cache) = plan_request(&mut map, 12 * KIB, 10, 4 * KIB, 0, 3);
    assert_eq!(plans, [read(300, 4), read(304, 4), read(308, 4)]);
    assert_eq!(map.requests, [(0, 12), (6, 6)]);
    assert_eq!(cache.calls(), 2);
}

#[test]
fn all_holes_folio_is_all_holes() {
    let mut map = FakeMap::from_extents(&[(4, Some(10)), (8, None), (4, Some(20))]);
    let (plans, cache) = plan_request(&mut map, 16 * KIB, 10, 4 * KIB, 0, 4);
    assert_eq!(
        plans,
        [
            read(10, 4),
            FolioPlan::AllHoles,
            FolioPlan::AllHoles,
            read(20, 4)
        ]
    );
    // The hole is one mapping, reused by the second all-holes folio.
    assert_eq!(map.requests, [(0, 16), (4, 12), (12, 4)]);
    assert_eq!(cache.calls(), 3);
}

#[test]
fn data_then_hole_reads_the_data_and_submits_after() {
    let mut map = FakeMap::from_extents(&[(4, Some(40)), (2, Some(77)), (2, None)]);
    let (plans, _) = plan_request(&mut map, 8 * KIB, 10, 4 * KIB, 0, 2);
    assert_eq!(plans, [read(40, 4), read(77, 2)]);
    // The mapper is still asked about the blocks after the hole starts:
    // data after the hole would make the folio confused.
    assert_eq!(map.requests, [(0, 8), (4, 4), (6, 2)]);

    let mut bios = BioPlanner::default();
    assert_eq!(bios.folio(40, 4, false, 4), NO_SUBMIT);
    // 77 does not continue the bio at 44, and the hole ends the next one.
    assert_eq!(
        bios.folio(77, 2, false, 4),
        BioSteps {
            submit_before: true,
            submit_after: true
        }
    );
    assert!(!bios.is_open());
}

#[test]
fn hole_then_data_is_confused() {
    let mut map = FakeMap::from_extents(&[(1, None), (3, Some(90))]);
    let mut cache = MapCache::default();
    let got = plan(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB, 10, 1));
    assert_eq!(got, Ok(FolioPlan::Confused(Confusion::HoleThenData)));
    assert_eq!(map.requests, [(0, 4), (1, 3)]);
}

#[test]
fn hole_then_data_in_the_last_block_is_confused() {
    let mut map = FakeMap::from_extents(&[(3, None), (1, Some(90))]);
    let mut cache = MapCache::default();
    let got = plan(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB, 10, 1));
    assert_eq!(got, Ok(FolioPlan::Confused(Confusion::HoleThenData)));
}

#[test]
fn discontiguous_blocks_in_a_folio_are_confused() {
    let mut map = FakeMap::from_extents(&[(2, Some(100)), (2, Some(200))]);
    let mut cache = MapCache::default();
    let got = plan(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB, 10, 1));
    assert_eq!(got, Ok(FolioPlan::Confused(Confusion::Discontiguous)));
    assert_eq!(map.requests, [(0, 4), (2, 2)]);
}

#[test]
fn blocks_going_backwards_on_disk_are_confused() {
    // Block 1 sits right before block 0 on disk.
    let mut map = FakeMap::from_extents(&[(1, Some(101)), (1, Some(100)), (2, Some(102))]);
    let mut cache = MapCache::default();
    let got = plan(&mut map, &mut cache, span(0, 4 * KIB, 4 * KIB, 10, 1));
    assert_eq!(got, Ok(FolioPlan::Confused(Confusion::Discontiguous)));
}

#[test]
fn folio_with_buffers_is_confused_without_mapping() {
    let mut map = FakeMap::contiguous(4, 100);
    let mut cache = MapCache::default();
    let got = plan_folio(
        span(0, 4 * KIB, 4 * KIB, 10, 1),
        true,
        false,
        &mut cache,
        |l, m| map.map(l, m),
    );
    assert_eq!(got, Ok(FolioPlan::Confused(Confusion::HasBuffers)));
    assert!(map.requests.is_empty());
    assert_eq!(cache.calls(), 0);
}

#[test]
fn mapper_error_propagates() {
    let mut map = FakeMap::from_extents(&[(2, Some(100)), (6, Some(300))]).failing_at(2);
    let mut cache = MapCache::default();
    let got = plan(&mut map, &mut cache, span(0, 4 * KIB, 8 * KIB, 10, 2));
    assert_eq!(got, Err(IoError(2)));
    assert_eq!(map.requests, [(0, 8), (2, 6)]);
    assert_eq!(cache.calls(), 2);
}

#[test]
fn mapper_error_on_a_later_folio_propagates() {
    let mut map = FakeMap::from_extents(&[(4, Some(100)), (4, Some(300))]).failing_at(4);
    let mut cache = MapCache::default();
    let first = plan(&mut map, &mut cache, span(0, 4 * KIB, 8 * KIB, 10, 2));
    assert_eq!(first, Ok(read(100, 4)));
    let second = plan(&mut map, &mut cache, span(4 * KIB, 4 * KIB, 8 * KIB, 10, 1));
    assert_eq!(second, Err(IoError(4)));
}

#[test]
fn mapper_answer_is_normalised() {
    // A sloppy mapper: says nothing useful about lblk or len. plan_folio
    // takes the answer as starting at the block asked, at least 1 long.
    let mut asked = Vec::new();
    let mut cache = MapCache::default();
    let got = plan_folio(
        span(0, 4 * KIB, 4 * KIB, 10, 1),
        false,
        false,
        &mut cache,
        |lblk, max| {
            asked.push((lblk, max));
            // A zero-length answer taken as is would ask forever.
            assert!(asked.len() <= 4, "mapper asked too often: {asked:?}");
            Ok::<_, IoError>(Mapping {
                lblk: 9999,
                len: 0,
                kind: MapKind::Mapped {
                    pblk: 50 + lblk,
                    boundary: false,
                },
                filled: false,
                new: false,
            })
        },
    );
    assert_eq!(got, Ok(read(50, 4)));
    assert_eq!(asked, [(0, 4), (1, 3), (2, 2), (3, 1)]);
}

// ---------------------------------------------------------------------------
// plan_folio: EOF and the readahead request

/// Asserts that no request maps a block at or past `end`.
fn assert_requests_below(map: &FakeMap, end: u64) {
    for &(lblk, max) in &map.requests {
        assert!(
            lblk < end && lblk + max <= end,
            "request ({lblk}, {max}) reaches past block {end}: {:?}",
            map.requests
        );
    }
}

#[test]
fn eof_inside_a_folio_reads_up_to_eof_only() {
    // 5000 bytes with 1 KiB blocks: 5 blocks (the 5th partly). The disk
    // has blocks past EOF mapped (preallocated): they must not be asked.
    let mut map = FakeMap::contiguous(64, 700);
    let (plans, cache) = plan_request(&mut map, 5000, 10, 4 * KIB, 0, 4);
    assert_eq!(
        plans,
        [
            read(700, 4),
            read(704, 1),
            FolioPlan::AllHoles,
            FolioPlan::AllHoles
        ]
    );
    assert_eq!(map.requests, [(0, 5)]);
    assert_eq!(cache.calls(), 1);
    assert_requests_below(&map, 5000u64.div_ceil(KIB));
}

#[test]
fn eof_on_a_block_boundary_maps_nothing_past_it() {
    let mut map = FakeMap::contiguous(64, 700);
    let (plans, _) = plan_request(&mut map, 6 * KIB, 10, 4 * KIB, 0, 3);
    assert_eq!(plans, [read(700, 4), read(704, 2), FolioPlan::AllHoles]);
    assert_eq!(map.requests, [(0, 6)]);
}

#[test]
fn eof_in_a_hole_folio_past_data() {
    // Data, then a hole that runs past EOF: a 7000-byte file has blocks
    // 0..7, so the hole is mapped only for blocks 5 and 6.
    let mut map = FakeMap::from_extents(&[(5, Some(30)), (59, None)]);
    let (plans, _) = plan_request(&mut map, 7000, 10, 4 * KIB, 0, 2);
    assert_eq!(plans, [read(30, 4), read(34, 1)]);
    assert_eq!(map.requests, [(0, 7), (5, 2)]);
    assert_requests_below(&map, 7);
}

#[test]
fn empty_file_is_all_holes_without_mapping() {
    let mut map = FakeMap::contiguous(4, 1);
    let (plans, cache) = plan_request(&mut map, 0, 10, 4 * KIB, 0, 1);
    assert_eq!(plans, [FolioPlan::AllHoles]);
    assert!(map.requests.is_empty());
    assert_eq!(cache.calls(), 0);
}

#[test]
fn large_folio_maps_only_what_readahead_asked_for() {
    // 64 KiB folios of 1 KiB blocks, a 10 MiB contiguous file, and a
    // readahead of two folios (32 pages) from folio 3: blocks 192..320.
    let mut map = FakeMap::contiguous(10 * 1024, 5000);
    let (plans, cache) = plan_request(&mut map, 10 * MIB, 10, 64 * KIB, 3, 2);
    assert_eq!(plans, [read(5192, 64), read(5256, 64)]);
    assert_eq!(map.requests, [(192, 128)]);
    assert_eq!(cache.calls(), 1);
    assert_requests_below(&map, 320);
}

#[test]
fn large_folio_maps_only_what_read_folio_asked_for() {
    // read_folio of one 64 KiB folio: 16 pages, 64 blocks from block 640.
    let mut map = FakeMap::contiguous(10 * 1024, 5000);
    let (plans, _) = plan_request(&mut map, 10 * MIB, 10, 64 * KIB, 10, 1);
    assert_eq!(plans, [read(5640, 64)]);
    assert_eq!(map.requests, [(640, 64)]);
}

#[test]
fn large_folio_requests_after_a_break_stay_within_the_request() {
    // The file breaks at block 200: the second call asks 200..320, not to
    // EOF nor a folio's worth past the request.
    let mut map = FakeMap::from_extents(&[(200, Some(5000)), (10 * 1024 - 200, Some(9000))]);
    let (plans, cache) = plan_request(&mut map, 10 * MIB, 10, 64 * KIB, 3, 2);
    assert_eq!(
        plans,
        [
            FolioPlan::Confused(Confusion::Discontiguous),
            read(9000 + 256 - 200, 64)
        ]
    );
    assert_eq!(map.requests, [(192, 128), (200, 120)]);
    assert_eq!(cache.calls(), 2);
    assert_requests_below(&map, 320);
}

#[test]
fn large_folio_crossing_eof_maps_only_to_eof() {
    // The same request, but EOF at 250 KiB + 7 bytes: block 250 is the
    // last one. Folio 3 (blocks 192..256) reads 59 blocks, folio 4 is past
    // EOF.
    let i_size = 250 * KIB + 7;
    let mut map = FakeMap::contiguous(10 * 1024, 5000);
    let (plans, cache) = plan_request(&mut map, i_size, 10, 64 * KIB, 3, 2);
    assert_eq!(plans, [read(5192, 59), FolioPlan::AllHoles]);
    assert_eq!(map.requests, [(192, 59)]);
    assert_eq!(cache.calls(), 1);
    assert_requests_below(&map, 251);
}

#[test]
fn large_folio_of_holes_up_to_eof() {
    let mut map = FakeMap::from_extents(&[(1024, None)]).with_ext2_arrays(256);
    let (plans, _) = plan_request(&mut map, 100 * KIB, 10, 64 * KIB, 0, 2);
    assert_eq!(plans, [FolioPlan::AllHoles, FolioPlan::AllHoles]);
    // Holes end at ext2's array ends too: 0..12, 12..100.
    assert_eq!(map.requests, [(0, 100), (12, 88)]);
    assert_requests_below(&map, 100);
}

// ---------------------------------------------------------------------------
// plan_folio: boundaries

#[test]
fn boundary_consumed_at_folio_end_is_reported() {
    // ext2 with 1 KiB blocks: the direct blocks end at block 11, the
    // single indirect ones at 11 + 256 = 267.
    let mut map = FakeMap::contiguous(300, 2000).with_ext2_arrays(256);
    let (plans, cache) = plan_request(&mut map, 300 * KIB, 10, 4 * KIB, 0, 75);
    assert_eq!(plans[0], read(2000, 4));
    assert_eq!(plans[1], read(2004, 4));
    // Blocks 8..12 end the direct run: reused from the cache, boundary.
    assert_eq!(plans[2], read_boundary(2008, 4));
    assert_eq!(plans[3], read(2012, 4));
    // Blocks 264..268 end the single indirect array.
    assert_eq!(plans[66], read_boundary(2264, 4));
    let boundaries: Vec<usize> = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, FolioPlan::Read { boundary: true, .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(boundaries, [2, 66]);
    assert_eq!(map.requests, [(0, 300), (12, 288), (268, 32)]);
    assert_eq!(cache.calls(), 3);
}

#[test]
fn boundary_not_at_folio_end_is_not_reported() {
    // 2 KiB blocks in 16 KiB folios (8 blocks): the direct run ends at
    // block 11, inside folio 1 (blocks 8..16). The request is two folios:
    // blocks 0..16.
    let mut map = FakeMap::contiguous(64, 100).with_ext2_arrays(512);
    let (plans, _) = plan_request(&mut map, 128 * KIB, 11, 16 * KIB, 0, 2);
    // Folio 1 continues on disk past the boundary: no boundary reported.
    assert_eq!(plans, [read(100, 8), read(108, 8)]);
    assert_eq!(map.requests, [(0, 16), (12, 4)]);
}

#[test]
fn boundary_with_4k_blocks_and_4k_folios() {
    // ext2 with 4 KiB blocks: arrays end at blocks 11 and 11 + 1024.
    let mut map = FakeMap::contiguous(1100, 100).with_ext2_arrays(1024);
    let (plans, cache) = plan_request(&mut map, 1100 * 4 * KIB, 12, 4 * KIB, 0, 1100);
    let expected: Vec<FolioPlan> = (0..1100)
        .map(|i| match i {
            11 | 1035 => read_boundary(100 + i, 1),
            _ => read(100 + i, 1),
        })
        .collect();
    assert_eq!(plans, expected);
    assert_eq!(map.requests, [(0, 1100), (12, 1088), (1036, 64)]);
    assert_eq!(cache.calls(), 3);
}

#[test]
fn mapping_clamped_by_eof_does_not_report_boundary() {
    // A mapper that ignores max and says its (long) run ends at a
    // boundary. Clamped to EOF, the run's end is no boundary.
    let mut cache = MapCache::default();
    let got = plan_folio(
        span(0, 4 * KIB, 4 * KIB, 10, 4),
        false,
        false,
        &mut cache,
        |lblk, _max| {
            Ok::<_, IoError>(Mapping {
                lblk,
                len: 100,
                kind: MapKind::Mapped {
                    pblk: 500,
                    boundary: true,
                },
                filled: false,
                new: false,
            })
        },
    );
    assert_eq!(got, Ok(read(500, 4)));
}

#[test]
fn mapping_clamped_by_the_request_does_not_report_boundary() {
    // The same with EOF far away and the request ending with this folio.
    let mut asked = Vec::new();
    let mut cache = MapCache::default();
    let got = plan_folio(
        span(8 * KIB, 4 * KIB, MIB, 10, 1),
        false,
        false,
        &mut cache,
        |lblk, max| {
            asked.push((lblk, max));
            Ok::<_, IoError>(Mapping {
                lblk,
                len: max + 1,
                kind: MapKind::Mapped {
                    pblk: 500,
                    boundary: true,
                },
                filled: false,
                new: false,
            })
        },
    );
    assert_eq!(got, Ok(read(500, 4)));
    assert_eq!(asked, [(8, 4)]);
}

#[test]
fn boundary_reached_exactly_at_the_limit_is_reported() {
    // ext2 sets the boundary when the run reaches the array's end, even if
    // max stopped it there too: that is a real boundary, kept.
    let mut map = FakeMap::contiguous(64, 100).with_ext2_arrays(256);
    let (plans, _) = plan_request(&mut map, 12 * KIB, 10, 4 * KIB, 0, 3);
    assert_eq!(plans, [read(100, 4), read(104, 4), read_boundary(108, 4)]);
    assert_eq!(map.requests, [(0, 12)]);
}

#[test]
fn run_cut_by_the_limit_before_the_array_end_has_no_boundary() {
    let mut map = FakeMap::contiguous(64, 100).with_ext2_arrays(256);
    let (plans, _) = plan_request(&mut map, 8 * KIB, 10, 4 * KIB, 0, 2);
    assert_eq!(plans, [read(100, 4), read(104, 4)]);
    assert_eq!(map.requests, [(0, 8)]);
}

// ---------------------------------------------------------------------------
// BioPlanner and bio_segments

#[test]
fn contiguous_folios_join_one_bio() {
    let mut p = BioPlanner::default();
    assert!(!p.is_open());
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    assert!(p.is_open());
    assert_eq!(p.folio(104, 4, false, 4), NO_SUBMIT);
    assert_eq!(p.folio(108, 4, false, 4), NO_SUBMIT);
    assert!(p.is_open());
}

#[test]
fn gap_on_disk_submits_before() {
    let mut p = BioPlanner::default();
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    let gap = BioSteps {
        submit_before: true,
        submit_after: false,
    };
    // Forwards, backwards, and overlapping the open bio.
    assert_eq!(p.folio(105, 4, false, 4), gap);
    assert_eq!(p.folio(50, 4, false, 4), gap);
    assert_eq!(p.folio(53, 4, false, 4), gap);
    // And then contiguous with the new bio again.
    assert_eq!(p.folio(57, 4, false, 4), NO_SUBMIT);
}

#[test]
fn boundary_submits_after_and_closes_the_bio() {
    let mut p = BioPlanner::default();
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    assert_eq!(
        p.folio(104, 4, true, 4),
        BioSteps {
            submit_before: false,
            submit_after: true
        }
    );
    assert!(!p.is_open());
    // The next folio, contiguous or not, starts a fresh bio.
    assert_eq!(p.folio(108, 4, false, 4), NO_SUBMIT);
    assert!(p.is_open());
}

#[test]
fn short_read_submits_after() {
    let mut p = BioPlanner::default();
    assert_eq!(
        p.folio(100, 3, false, 4),
        BioSteps {
            submit_before: false,
            submit_after: true
        }
    );
    assert!(!p.is_open());
    assert_eq!(p.folio(104, 4, false, 4), NO_SUBMIT);
}

#[test]
fn closed_bio_is_not_submitted_before_the_next_folio() {
    let mut p = BioPlanner::default();
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    p.closed();
    assert!(!p.is_open());
    // Not contiguous with the closed bio, but nothing is open to submit.
    assert_eq!(p.folio(900, 4, false, 4), NO_SUBMIT);
    assert!(p.is_open());
}

#[test]
fn bio_segments_follow_pages_left_up_to_the_limit() {
    assert_eq!(bio_segments(0, 256), 1);
    assert_eq!(bio_segments(1, 256), 1);
    assert_eq!(bio_segments(17, 256), 17);
    assert_eq!(bio_segments(256, 256), 256);
    assert_eq!(bio_segments(257, 256), 256);
    assert_eq!(bio_segments(u64::MAX, 256), 256);
}

// ---------------------------------------------------------------------------
// End to end: plan_folio + BioPlanner over whole files, like engine.rs

/// A bio the simulation built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SimBio {
    /// Device block of its first block.
    pblk: u64,
    /// Folios in it.
    folios: u64,
    /// Blocks in it.
    blocks: u64,
    /// Segments it was allocated with.
    segs: u64,
}

#[derive(Debug, Default)]
struct SimResult {
    bios: Vec<SimBio>,
    hole_folios: u64,
    fallbacks: u64,
}

/// Reads a whole file as one readahead request, the way engine.rs's
/// `read_one` carries out the plans: a bio holds at most
/// `bio_segments(pages_left, max_vecs)` folios and is sent when full.
fn simulate(
    map: &mut FakeMap,
    i_size: u64,
    blkbits: u32,
    folio_size: u64,
    max_vecs: u64,
) -> SimResult {
    let folio_pages = folio_size / PAGE;
    let nr_folios = i_size.div_ceil(folio_size);
    let mut cache = MapCache::default();
    let mut planner = BioPlanner::default();
    let mut open: Option<SimBio> = None;
    let mut res = SimResult::default();
    let submit = |open: &mut Option<SimBio>, res: &mut SimResult| {
        if let Some(bio) = open.take() {
            res.bios.push(bio);
        }
    };
    for i in 0..nr_folios {
        let pages_left = (nr_folios - i) * folio_pages;
        let s = span(i * folio_size, folio_size, i_size, blkbits, pages_left);
        match plan(map, &mut cache, s).expect("mapper failed") {
            FolioPlan::AllHoles => res.hole_folios += 1,
            FolioPlan::Confused(_) => {
                submit(&mut open, &mut res);
                planner.closed();
                res.fallbacks += 1;
            }
            FolioPlan::Read {
                pblk,
                nblocks,
                boundary,
            } => {
                let steps = planner.folio(pblk, nblocks, boundary, s.blocks);
                if steps.submit_before {
                    submit(&mut open, &mut res);
                }
                if open.is_some_and(|b| b.folios == b.segs) {
                    // Full: bio_add_folio fails, send it and start anew.
                    submit(&mut open, &mut res);
                }
                let bio = open.get_or_insert(SimBio {
                    pblk,
                    folios: 0,
                    blocks: 0,
                    segs: bio_segments(pages_left, max_vecs),
                });
                // Only folios that continue the bio on disk may join it.
                assert_eq!(
                    bio.pblk + bio.blocks,
                    pblk,
                    "folio {i} joins a bio it does not continue"
                );
                bio.folios += 1;
                bio.blocks += nblocks;
                if steps.submit_after {
                    submit(&mut open, &mut res);
                }
            }
        }
    }
    submit(&mut open, &mut res);
    res
}

#[test]
fn contiguous_64m_file_reads_in_64_bios_of_1m() {
    let blocks = 64 * MIB / 4096;
    let mut map = FakeMap::contiguous(blocks, 32768);
    let res = simulate(&mut map, 64 * MIB, 12, 4 * KIB, 256);
    assert_eq!(res.bios.len(), 64);
    let expected: Vec<SimBio> = (0..64)
        .map(|k| SimBio {
            pblk: 32768 + 256 * k,
            folios: 256,
            blocks: 256,
            segs: 256,
        })
        .collect();
    assert_eq!(res.bios, expected);
    assert_eq!((res.hole_folios, res.fallbacks), (0, 0));
    // One extent, one mapper call, for exactly the file.
    assert_eq!(map.requests, [(0, blocks)]);
}

#[test]
fn fragmented_file_reads_in_hand_counted_bios() {
    // 4 KiB blocks and folios, ext2 arrays of 1024 pointers (the direct
    // blocks end at 11, the single indirect ones at 1035), i_size ending
    // 100 bytes into block 999:
    //   0..12    at 5000   (the direct blocks; the indirect block is 5012)
    //   12..300  at 5013
    //   300..310 hole
    //   310..600 at 9000
    //   600..1000 at 20000
    let mut map = FakeMap::from_extents(&[
        (12, Some(5000)),
        (288, Some(5013)),
        (10, None),
        (290, Some(9000)),
        (400, Some(20000)),
    ])
    .with_ext2_arrays(1024);
    let i_size = 999 * 4096 + 100;
    let res = simulate(&mut map, i_size, 12, 4 * KIB, 256);
    let bio = |pblk, folios, segs| SimBio {
        pblk,
        folios,
        blocks: folios,
        segs,
    };
    assert_eq!(
        res.bios,
        [
            // Folios 0..12, ended by the boundary at block 11.
            bio(5000, 12, 256),
            // Folios 12..300: a full bio of 256, then 32 more; the hole
            // folios do not end the bio, the jump to 9000 does.
            bio(5013, 256, 256),
            bio(5013 + 256, 32, 256),
            // Folios 310..600: 256, then 34; the jump to 20000 ends it.
            bio(9000, 256, 256),
            bio(9256, 34, 256),
            // Folios 600..1000: 256, then the last 144 (144 pages left).
            bio(20000, 256, 256),
            bio(20256, 144, 144),
        ]
    );
    assert_eq!((res.hole_folios, res.fallbacks), (10, 0));
    assert_eq!(
        map.requests,
        [(0, 1000), (12, 988), (300, 700), (310, 690), (600, 400)]
    );
}

#[test]
fn fragmented_large_folios_fall_back_and_bios_stay_contiguous() {
    // 16 KiB folios of 1 KiB blocks over a file whose extents do not line
    // up with folios, with a hole in the middle of one folio.
    //   0..20   at 1000  folio 0 (0..16) reads 1000..1016
    //   20..40  at 3000  folio 1 (16..32): 1016..1020 then 3000: confused
    //   40..44  hole     folio 2 (32..48): 3012..3020, hole, data: confused
    //   44..64  at 7000  folio 3 (48..64) reads 7004..7020
    let mut map = FakeMap::from_extents(&[
        (20, Some(1000)),
        (20, Some(3000)),
        (4, None),
        (20, Some(7000)),
    ]);
    let res = simulate(&mut map, 64 * KIB, 10, 16 * KIB, 256);
    assert_eq!(
        res.bios,
        [
            SimBio {
                pblk: 1000,
                folios: 1,
                blocks: 16,
                segs: 16
            },
            SimBio {
                pblk: 7004,
                folios: 1,
                blocks: 16,
                segs: 4
            },
        ]
    );
    assert_eq!((res.hole_folios, res.fallbacks), (0, 2));
    assert_eq!(map.requests, [(0, 64), (20, 44), (40, 24), (44, 20)]);
}

// ---------------------------------------------------------------------------
// walk_extents: split folios

fn hole(first: u64, len: u64) -> Extent {
    Extent {
        first,
        len,
        kind: MapKind::Hole,
    }
}

fn mapped(first: u64, len: u64, pblk: u64) -> Extent {
    Extent {
        first,
        len,
        kind: MapKind::Mapped {
            pblk,
            boundary: false,
        },
    }
}

fn mapped_boundary(first: u64, len: u64, pblk: u64) -> Extent {
    Extent {
        first,
        len,
        kind: MapKind::Mapped {
            pblk,
            boundary: true,
        },
    }
}

/// Walks one folio through `map`, collecting the extents visited.
fn walk(map: &mut FakeMap, cache: &mut MapCache, span: FolioSpan) -> Result<Vec<Extent>, IoError> {
    let mut got = Vec::new();
    walk_extents(
        span,
        cache,
        |lblk, max| map.map(lblk, max),
        |e| {
            got.push(e);
            Ok(())
        },
    )?;
    Ok(got)
}

/// Asserts that `extents` tile a folio of `blocks` blocks: in order, from
/// block 0, without gaps or overlaps, and that none could be merged with
/// the next (two holes, or a run without boundary continued on disk).
fn assert_tiles(extents: &[Extent], blocks: u64) {
    let mut next = 0;
    for e in extents {
        assert_eq!(
            e.first, next,
            "extents do not follow each other: {extents:?}"
        );
        assert!(e.len >= 1, "empty extent: {extents:?}");
        next += e.len;
    }
    assert_eq!(next, blocks, "extents do not cover the folio: {extents:?}");
    for w in extents.windows(2) {
        match (w[0].kind, w[1].kind) {
            (MapKind::Hole, MapKind::Hole) => panic!("adjacent holes: {extents:?}"),
            (
                MapKind::Mapped {
                    pblk: p0,
                    boundary: false,
                },
                MapKind::Mapped { pblk: p1, .. },
            ) => assert_ne!(p0 + w[0].len, p1, "mergeable runs: {extents:?}"),
            _ => {}
        }
    }
}

#[test]
fn walk_discontiguous_64k_folio_of_4k_blocks_gives_two_extents() {
    // 16 blocks of 4 KiB: 6 at 1000, then 10 at 5000 (and more beyond).
    let mut map = FakeMap::from_extents(&[(6, Some(1000)), (10, Some(5000)), (16, Some(9000))]);
    let s = span(0, 64 * KIB, MIB, 12, 16);
    assert_eq!((s.first, s.blocks, s.limit), (0, 16, 16));
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, s).unwrap();
    assert_eq!(got, [mapped(0, 6, 1000), mapped(6, 10, 5000)]);
    assert_tiles(&got, 16);
    assert_eq!(map.requests, [(0, 16), (6, 10)]);
    assert_eq!(cache.calls(), 2);

    // plan_folio sends this very folio to the split path.
    let mut map = FakeMap::from_extents(&[(6, Some(1000)), (10, Some(5000)), (16, Some(9000))]);
    let mut cache = MapCache::default();
    assert_eq!(
        plan(&mut map, &mut cache, s),
        Ok(FolioPlan::Confused(Confusion::Discontiguous))
    );
}

#[test]
fn walk_after_plan_folio_with_the_engines_cache() {
    // engine.rs plans the folio, then walks it with the same cache: the
    // mapping plan_folio left behind (6..16) does not cover block 0, so the
    // walk asks for both runs again.
    let mut map = FakeMap::from_extents(&[(6, Some(1000)), (10, Some(5000)), (16, Some(9000))]);
    let s = span(0, 64 * KIB, MIB, 12, 16);
    let mut cache = MapCache::default();
    assert_eq!(
        plan(&mut map, &mut cache, s),
        Ok(FolioPlan::Confused(Confusion::Discontiguous))
    );
    let got = walk(&mut map, &mut cache, s).unwrap();
    assert_eq!(got, [mapped(0, 6, 1000), mapped(6, 10, 5000)]);
    assert_eq!(map.requests, [(0, 16), (6, 10), (0, 16), (6, 10)]);
    assert_eq!(cache.calls(), 4);
}

#[test]
fn walk_reuses_the_mapping_cached_by_the_previous_folio() {
    // Two 64 KiB folios of 4 KiB blocks: 0..20 at 1000, 20..32 at 3000.
    // Folio 0 is read whole; its mapping (0..20) covers the start of
    // folio 1, which the walk takes from the cache.
    let mut map = FakeMap::from_extents(&[(20, Some(1000)), (12, Some(3000))]);
    let mut cache = MapCache::default();
    let s0 = span(0, 64 * KIB, MIB, 12, 32);
    assert_eq!(plan(&mut map, &mut cache, s0), Ok(read(1000, 16)));
    let s1 = span(64 * KIB, 64 * KIB, MIB, 12, 16);
    assert_eq!((s1.first, s1.blocks, s1.limit), (16, 16, 32));
    let got = walk(&mut map, &mut cache, s1).unwrap();
    assert_eq!(got, [mapped(0, 4, 1016), mapped(4, 12, 3000)]);
    assert_tiles(&got, 16);
    assert_eq!(map.requests, [(0, 32), (20, 12)]);
    assert_eq!(cache.calls(), 2);
}

#[test]
fn walk_hole_then_data() {
    let mut map = FakeMap::from_extents(&[(5, None), (11, Some(700))]);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, span(0, 64 * KIB, MIB, 12, 16)).unwrap();
    assert_eq!(got, [hole(0, 5), mapped(5, 11, 700)]);
    assert_tiles(&got, 16);
    assert_eq!(map.requests, [(0, 16), (5, 11)]);
    assert_eq!(cache.calls(), 2);
}

#[test]
fn walk_data_hole_data_keeps_the_hole_even_if_the_disk_is_contiguous() {
    // The data after the hole sits at 107 = 100 + 4 + 3: skipping the
    // hole would be disk-contiguous, but the hole is an extent of its own.
    let mut map = FakeMap::from_extents(&[(4, Some(100)), (3, None), (9, Some(107))]);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, span(0, 64 * KIB, MIB, 12, 16)).unwrap();
    assert_eq!(got, [mapped(0, 4, 100), hole(4, 3), mapped(7, 9, 107)]);
    assert_tiles(&got, 16);
    assert_eq!(map.requests, [(0, 16), (4, 12), (7, 9)]);
}

#[test]
fn walk_hole_over_two_mapper_answers_is_one_extent() {
    // The hole 2..14 is answered as 2..8 and 8..14 (an array ends at 7).
    let mut map =
        FakeMap::from_extents(&[(2, Some(50)), (12, None), (2, Some(80))]).with_array_ends(&[7]);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, span(0, 64 * KIB, MIB, 12, 16)).unwrap();
    assert_eq!(got, [mapped(0, 2, 50), hole(2, 12), mapped(14, 2, 80)]);
    assert_tiles(&got, 16);
    assert_eq!(map.requests, [(0, 16), (2, 14), (8, 8), (14, 2)]);
}

#[test]
fn walk_past_eof_tail_is_a_hole_and_never_mapped() {
    // EOF 100 bytes before the end of block 9: blocks 10..16 of the
    // folio are past EOF, although the disk has them (preallocated).
    let i_size = 10 * 4096 - 100;
    let s = span(0, 64 * KIB, i_size, 12, 16);
    assert_eq!((s.first, s.blocks, s.limit), (0, 16, 10));
    let mut map = FakeMap::contiguous(64, 300);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, s).unwrap();
    assert_eq!(got, [mapped(0, 10, 300), hole(10, 6)]);
    assert_tiles(&got, 16);
    assert_eq!(map.requests, [(0, 10)]);
    assert_eq!(cache.calls(), 1);
    assert_requests_below(&map, 10);

    // A hole before EOF and the tail past it are one extent.
    let mut map = FakeMap::from_extents(&[(8, Some(300)), (56, None)]);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, s).unwrap();
    assert_eq!(got, [mapped(0, 8, 300), hole(8, 8)]);
    assert_eq!(map.requests, [(0, 10), (8, 2)]);
    assert_requests_below(&map, 10);

    // A mapper that would fail right at EOF is never asked there.
    let mut map = FakeMap::contiguous(64, 300).failing_at(10);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, s).unwrap();
    assert_eq!(got, [mapped(0, 10, 300), hole(10, 6)]);
    assert_eq!(map.requests, [(0, 10)]);

    // A folio wholly past EOF is one hole, with no mapper call.
    let s = span(64 * KIB, 64 * KIB, i_size, 12, 16);
    assert_eq!((s.first, s.blocks, s.limit), (16, 16, 10));
    let mut map = FakeMap::contiguous(64, 300);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, s).unwrap();
    assert_eq!(got, [hole(0, 16)]);
    assert!(map.requests.is_empty());
    assert_eq!(cache.calls(), 0);
}

#[test]
fn walk_merges_disk_contiguous_runs_across_mapper_answers() {
    // A mapper that answers at most 5 blocks at a time, all contiguous
    // from device block 100, without boundaries: one extent.
    let mut asked = Vec::new();
    let mut got = Vec::new();
    let mut cache = MapCache::default();
    let res = walk_extents(
        span(0, 64 * KIB, MIB, 12, 16),
        &mut cache,
        |lblk, max| {
            asked.push((lblk, max));
            Ok::<_, IoError>(Mapping {
                lblk,
                len: max.min(5),
                kind: MapKind::Mapped {
                    pblk: 100 + lblk,
                    boundary: false,
                },
                filled: false,
                new: false,
            })
        },
        |e| {
            got.push(e);
            Ok(())
        },
    );
    assert_eq!(res, Ok(()));
    assert_eq!(got, [mapped(0, 16, 100)]);
    assert_eq!(asked, [(0, 16), (5, 11), (10, 6), (15, 1)]);
    assert_eq!(cache.calls(), 4);
}

#[test]
fn walk_merged_extent_takes_the_boundary_of_its_last_answer() {
    // The same mapper, but its second answer (5..10) ends at a boundary:
    // 0..5 and 5..10 merge and the extent ends there with the boundary;
    // 10..15 and 15..16 merge into a second extent, without it.
    let mut asked = Vec::new();
    let mut got = Vec::new();
    let mut cache = MapCache::default();
    let res = walk_extents(
        span(0, 64 * KIB, MIB, 12, 16),
        &mut cache,
        |lblk, max| {
            asked.push((lblk, max));
            let len = max.min(5);
            Ok::<_, IoError>(Mapping {
                lblk,
                len,
                kind: MapKind::Mapped {
                    pblk: 100 + lblk,
                    boundary: lblk + len == 10,
                },
                filled: false,
                new: false,
            })
        },
        |e| {
            got.push(e);
            Ok(())
        },
    );
    assert_eq!(res, Ok(()));
    assert_eq!(got, [mapped_boundary(0, 10, 100), mapped(10, 6, 110)]);
    assert_tiles(&got, 16);
    assert_eq!(asked, [(0, 16), (5, 11), (10, 6), (15, 1)]);
}

#[test]
fn walk_does_not_merge_across_a_boundary_even_if_contiguous() {
    // An array ends at block 5; the disk goes on contiguously.
    let mut map = FakeMap::contiguous(32, 100).with_array_ends(&[5]);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, span(0, 64 * KIB, MIB, 12, 16)).unwrap();
    assert_eq!(got, [mapped_boundary(0, 6, 100), mapped(6, 10, 106)]);
    assert_tiles(&got, 16);
    assert_eq!(map.requests, [(0, 16), (6, 10)]);

    // ext2 with 4 KiB blocks: the 12 direct blocks end inside a 64 KiB
    // folio, and block 12 needs the single indirect block.
    let mut map = FakeMap::contiguous(2000, 100).with_ext2_arrays(1024);
    let mut cache = MapCache::default();
    let s = span(0, 64 * KIB, 2000 * 4096, 12, 16);
    let got = walk(&mut map, &mut cache, s).unwrap();
    assert_eq!(got, [mapped_boundary(0, 12, 100), mapped(12, 4, 112)]);
    assert_eq!(map.requests, [(0, 16), (12, 4)]);
}

#[test]
fn walk_boundary_at_the_folio_end_is_reported() {
    let mut map = FakeMap::contiguous(64, 100).with_array_ends(&[15]);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, span(0, 64 * KIB, MIB, 12, 32)).unwrap();
    assert_eq!(got, [mapped_boundary(0, 16, 100)]);
    assert_eq!(map.requests, [(0, 32)]);
}

#[test]
fn walk_boundary_only_where_the_mapping_ends() {
    // The mapping 0..21 ends at a boundary (block 20). Folio 0 (0..16)
    // stops inside it: no boundary. Folio 1 (16..32) takes 16..21 from
    // the cache, which ends the mapping: boundary, then 21..32.
    let mut map = FakeMap::contiguous(64, 100).with_array_ends(&[20]);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, span(0, 64 * KIB, MIB, 12, 32)).unwrap();
    assert_eq!(got, [mapped(0, 16, 100)]);
    let got = walk(&mut map, &mut cache, span(64 * KIB, 64 * KIB, MIB, 12, 16)).unwrap();
    assert_eq!(got, [mapped_boundary(0, 5, 116), mapped(5, 11, 121)]);
    assert_tiles(&got, 16);
    assert_eq!(map.requests, [(0, 32), (21, 11)]);
    assert_eq!(cache.calls(), 2);
}

#[test]
fn walk_boundary_reached_exactly_at_eof_is_kept() {
    // The array ends at block 9, EOF after block 9: the answer stops at
    // max and at the array end, a real boundary.
    let mut map = FakeMap::contiguous(64, 100).with_array_ends(&[9]);
    let mut cache = MapCache::default();
    let got = walk(&mut map, &mut cache, span(0, 64 * KIB, 10 * 4096, 12, 16)).unwrap();
    assert_eq!(got, [mapped_boundary(0, 10, 100), hole(10, 6)]);
    assert_eq!(map.requests, [(0, 10)]);
}

#[test]
fn walk_mapping_clamped_by_eof_has_no_boundary() {
    // A mapper that ignores max and says its long run ends at a boundary:
    // clamped to EOF (block 10), the run's end is no boundary.
    let mut asked = Vec::new();
    let mut got = Vec::new();
    let mut cache = MapCache::default();
    let res = walk_extents(
        span(0, 64 * KIB, 10 * 4096, 12, 16),
        &mut cache,
        |lblk, max| {
            asked.push((lblk, max));
            Ok::<_, IoError>(Mapping {
                lblk,
                len: 100,
                kind: MapKind::Mapped {
                    pblk: 500,
                    boundary: true,
                },
                filled: false,
                new: false,
            })
        },
        |e| {
            got.push(e);
            Ok(())
        },
    );
    assert_eq!(res, Ok(()));
    assert_eq!(got, [mapped(0, 10, 500), hole(10, 6)]);
    assert_eq!(asked, [(0, 10)]);
}

#[test]
fn walk_mapper_error_stops_the_walk_and_propagates() {
    // The error comes while the first extent is still open (it could
    // have been continued): nothing is visited.
    let mut map = FakeMap::from_extents(&[(6, Some(100)), (10, Some(300))]).failing_at(6);
    let mut cache = MapCache::default();
    let mut visited = Vec::new();
    let res = walk_extents(
        span(0, 64 * KIB, MIB, 12, 16),
        &mut cache,
        |lblk, max| map.map(lblk, max),
        |e| {
            visited.push(e);
            Ok(())
        },
    );
    assert_eq!(res, Err(IoError(6)));
    assert_eq!(visited, []);
    assert_eq!(map.requests, [(0, 16), (6, 10)]);
    assert_eq!(cache.calls(), 2);

    // Later: the extents closed before the error were visited, no more,
    // and the mapper is not asked past the failing block.
    let mut map =
        FakeMap::from_extents(&[(4, Some(100)), (4, Some(300)), (8, Some(500))]).failing_at(8);
    let mut cache = MapCache::default();
    let mut visited = Vec::new();
    let res = walk_extents(
        span(0, 64 * KIB, MIB, 12, 16),
        &mut cache,
        |lblk, max| map.map(lblk, max),
        |e| {
            visited.push(e);
            Ok(())
        },
    );
    assert_eq!(res, Err(IoError(8)));
    assert_eq!(visited, [mapped(0, 4, 100)]);
    assert_eq!(map.requests, [(0, 16), (4, 12), (8, 8)]);
    assert_eq!(cache.calls(), 3);
}

#[test]
fn walk_visitor_error_stops_the_walk_and_propagates() {
    // The visitor fails on the second extent (the hole 4..8): the walk
    // stops there, and never maps 12..16.
    let mut map =
        FakeMap::from_extents(&[(4, Some(100)), (4, None), (4, Some(300)), (4, Some(400))]);
    let mut cache = MapCache::default();
    let mut visited = Vec::new();
    let res = walk_extents(
        span(0, 64 * KIB, MIB, 12, 16),
        &mut cache,
        |lblk, max| map.map(lblk, max),
        |e| {
            visited.push(e);
            if visited.len() == 2 {
                Err(IoError(99))
            } else {
                Ok(())
            }
        },
    );
    assert_eq!(res, Err(IoError(99)));
    assert_eq!(visited, [mapped(0, 4, 100), hole(4, 4)]);
    // Block 8 was mapped to learn the hole had ended.
    assert_eq!(map.requests, [(0, 16), (4, 12), (8, 8)]);
    assert_eq!(cache.calls(), 3);

    // An error on the last extent, visited after the loop, propagates too.
    let mut map = FakeMap::contiguous(16, 100);
    let mut cache = MapCache::default();
    let mut visited = Vec::new();
    let res = walk_extents(
        span(0, 64 * KIB, MIB, 12, 16),
        &mut cache,
        |lblk, max| map.map(lblk, max),
        |e| {
            visited.push(e);
            Err(IoError(7))
        },
    );
    assert_eq!(res, Err(IoError(7)));
    assert_eq!(visited, [mapped(0, 16, 100)]);
    assert_eq!(map.requests, [(0, 16)]);
}

/// What `walk_extents` must give for `span`, worked out block by block
/// from the fake mapper's table: blocks past the limit are holes, holes
/// merge, mapped blocks merge while contiguous on disk unless the previous
/// one ends a pointer array (the boundary).
fn reference_extents(map: &FakeMap, s: FolioSpan) -> Vec<Extent> {
    let mut out: Vec<Extent> = Vec::new();
    for i in 0..s.blocks {
        let lblk = s.first + i;
        let pblk = if lblk < s.limit {
            map.block(lblk)
        } else {
            None
        };
        match pblk {
            None => match out.last_mut() {
                Some(e) if e.kind == MapKind::Hole => e.len += 1,
                _ => out.push(hole(i, 1)),
            },
            Some(p) => {
                let boundary = map.is_array_end(lblk);
                match out.last_mut() {
                    Some(Extent {
                        len,
                        kind:
                            MapKind::Mapped {
                                pblk: p0,
                                boundary: b0 @ false,
                            },
                        ..
                    }) if *p0 + *len == p => {
                        *len += 1;
                        *b0 = boundary;
                    }
                    _ => out.push(Extent {
                        first: i,
                        len: 1,
                        kind: MapKind::Mapped { pblk: p, boundary },
                    }),
                }
            }
        }
    }
    out
}

/// Checks that `got`, walked from a folio `plan_folio` planned as `p`,
/// agrees with that plan.
fn assert_agrees_with_plan(got: &[Extent], p: FolioPlan, blocks: u64) {
    let first_hole = got.iter().position(|e| e.kind == MapKind::Hole);
    match p {
        FolioPlan::AllHoles => assert_eq!(got, [hole(0, blocks)]),
        FolioPlan::Read {
            pblk,
            nblocks,
            boundary,
        } => {
            // Runs chained on disk from pblk over 0..nblocks, then at most
            // one hole to the end.
            let mut next = pblk;
            let mut done = 0;
            for e in got {
                if done == nblocks {
                    assert_eq!(*e, hole(nblocks, blocks - nblocks), "{got:?} vs {p:?}");
                    continue;
                }
                let MapKind::Mapped { pblk: p, .. } = e.kind else {
                    panic!("hole inside a read: {got:?} vs {p:?}");
                };
                assert_eq!(p, next, "{got:?} vs {p:?}");
                next += e.len;
                done += e.len;
            }
            assert_eq!(done, nblocks, "{got:?} vs {p:?}");
            if nblocks == blocks {
                let last = got.last().unwrap();
                assert_eq!(
                    last.kind,
                    MapKind::Mapped {
                        pblk: next - last.len,
                        boundary
                    }
                );
            } else {
                assert!(!boundary);
            }
        }
        FolioPlan::Confused(Confusion::HoleThenData) => {
            let h = first_hole.expect("no hole");
            assert!(
                got[h..]
                    .iter()
                    .any(|e| matches!(e.kind, MapKind::Mapped { .. })),
                "{got:?}"
            );
        }
        FolioPlan::Confused(Confusion::Discontiguous) => {
            let before_hole = &got[..first_hole.unwrap_or(got.len())];
            assert!(
                before_hole
                    .windows(2)
                    .any(|w| match (w[0].kind, w[1].kind) {
                        (MapKind::Mapped { pblk: a, .. }, MapKind::Mapped { pblk: b, .. }) =>
                            a + w[0].len != b,
                        _ => false,
                    }),
                "{got:?}"
            );
        }
        FolioPlan::Confused(Confusion::Boundary) => {
            // A mapped extent ends at a boundary with more of the folio after
            // it, and everything before it reads like one run from disk.
            let b = got
                .iter()
                .position(|e| matches!(e.kind, MapKind::Mapped { boundary: true, .. }))
                .expect("no boundary");
            assert!(b + 1 < got.len(), "{got:?}");
            for w in got[..=b].windows(2) {
                match (w[0].kind, w[1].kind) {
                    (MapKind::Mapped { pblk: a, .. }, MapKind::Mapped { pblk: c, .. }) => {
                        assert_eq!(a + w[0].len, c, "{got:?}")
                    }
                    _ => panic!("hole before the boundary: {got:?}"),
                }
            }
        }
        FolioPlan::Confused(Confusion::HasBuffers | Confusion::Filled) => unreachable!(),
    }
}

#[test]
fn walk_matches_a_block_by_block_model_on_random_files() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut walked = 0u64;
    let mut split = 0u64;
    let mut boundaries = 0u64;
    for seed in 0..400 {
        // 1 KiB blocks, folios of 4, 16 or 64 blocks.
        let folio_size = [4 * KIB, 16 * KIB, 64 * KIB][rng.below(3) as usize];
        let folio_pages = folio_size / PAGE;
        // A file of 1..=200 blocks, with up to 20 more on disk past EOF.
        let nb = 1 + rng.below(200);
        let total = nb + rng.below(21);
        let mut extents = Vec::new();
        let mut len = 0;
        let mut prev_end: Option<u64> = None;
        while len < total {
            let run = (1 + rng.below(12)).min(total - len);
            let pblk = if rng.below(4) == 0 {
                None
            } else {
                match prev_end {
                    // Often continue the previous data on disk (across a
                    // hole too), so that runs merge.
                    Some(end) if rng.below(2) == 0 => Some(end),
                    _ => Some(10_000 + rng.below(100_000)),
                }
            };
            if let Some(p) = pblk {
                prev_end = Some(p + run);
            }
            extents.push((run, pblk));
            len += run;
        }
        let ends: Vec<u64> = match rng.below(3) {
            0 => Vec::new(),
            1 => {
                let ptrs = [4, 8, 256][rng.below(3) as usize];
                std::iter::successors(Some(11), |e| Some(e + ptrs))
                    .take_while(|&e| e < total)
                    .collect()
            }
            _ => (0..1 + total / 10).map(|_| rng.below(total)).collect(),
        };
        let build = || FakeMap::from_extents(&extents).with_array_ends(&ends);
        let i_size = nb * KIB - rng.below(KIB);
        let nr_folios = i_size.div_ceil(folio_size) + rng.below(2);

        let mut map = build();
        let mut cache = MapCache::default();
        let mut limit = 0;
        for i in 0..nr_folios {
            let pages_left = (nr_folios - i) * folio_pages;
            let s = span(i * folio_size, folio_size, i_size, 10, pages_left);
            limit = s.limit;
            let got = walk(&mut map, &mut cache, s).unwrap();
            assert_eq!(
                got,
                reference_extents(&map, s),
                "seed {seed} folio {i}: {extents:?} ends {ends:?}"
            );
            assert_tiles(&got, s.blocks);
            walked += 1;
            if got.len() > 1 {
                split += 1;
            }

            // plan_folio, on a map and cache of its own, agrees; allowed to
            // split, it stops at an inner boundary and nowhere else.
            let mut pmap = build();
            let p = plan(&mut pmap, &mut MapCache::default(), s).unwrap();
            assert_agrees_with_plan(&got, p, s.blocks);
            let mut pmap = build();
            let ps = plan_folio(s, false, true, &mut MapCache::default(), |l, m| {
                pmap.map(l, m)
            })
            .unwrap();
            if ps == FolioPlan::Confused(Confusion::Boundary) {
                boundaries += 1;
                assert_agrees_with_plan(&got, ps, s.blocks);
            } else {
                assert_eq!(ps, p, "seed {seed} folio {i}");
            }
        }
        assert_eq!(limit, nb, "seed {seed}");
        assert_requests_below(&map, nb);
        // With one cache over the folios in order, the mapper is asked
        // exactly what one scan of the request would ask, each run once.
        let mut scan = build();
        let mut lblk = 0;
        while lblk < nb {
            lblk += scan.map(lblk, nb - lblk).unwrap().len;
        }
        assert_eq!(map.requests, scan.requests, "seed {seed}");
        assert_eq!(cache.calls(), scan.calls(), "seed {seed}");
    }
    // The generator does reach the interesting cases.
    assert!(
        walked > 4000 && split > 1000 && boundaries > 100,
        "{walked} {split} {boundaries}"
    );
}

#[test]

fn walk_visits_a_boundary_extent_before_mapping_past_it() {
    // A boundary says: submit the I/O built so far before mapping the next
    // block, whose mapping reads metadata (here ext2's single indirect
    // block, for block 12). The extent ending at the boundary must reach
    // the visitor (which submits it) before the mapper is asked for block
    // 12.
    #[derive(Debug, PartialEq, Eq)]
    enum Event {
        Map(u64, u64),
        Visit(Extent),
    }
    let events = std::cell::RefCell::new(Vec::new());
    let mut map = FakeMap::contiguous(2000, 100).with_ext2_arrays(1024);
    let mut cache = MapCache::default();
    let res = walk_extents(
        span(0, 64 * KIB, 2000 * 4096, 12, 16),
        &mut cache,
        |lblk, max| {
            events.borrow_mut().push(Event::Map(lblk, max));
            map.map(lblk, max)
        },
        |e| {
            events.borrow_mut().push(Event::Visit(e));
            Ok(())
        },
    );
    assert_eq!(res, Ok(()));
    assert_eq!(
        events.into_inner(),
        [
            Event::Map(0, 16),
            Event::Visit(mapped_boundary(0, 12, 100)),
            Event::Map(12, 4),
            Event::Visit(mapped(12, 4, 112)),
        ]
    );
}

// ---------------------------------------------------------------------------
// BioPlanner::piece

const BEFORE: BioSteps = BioSteps {
    submit_before: true,
    submit_after: false,
};

const AFTER: BioSteps = BioSteps {
    submit_before: false,
    submit_after: true,
};

const BOTH: BioSteps = BioSteps {
    submit_before: true,
    submit_after: true,
};

#[test]
fn piece_sequence_continues_breaks_and_closes() {
    let mut p = BioPlanner::default();
    assert!(!p.is_open());
    // Continuing pieces of different sizes join one bio.
    assert_eq!(p.piece(100, 4, false), NO_SUBMIT);
    assert!(p.is_open());
    assert_eq!(p.piece(104, 6, false), NO_SUBMIT);
    assert_eq!(p.piece(110, 2, false), NO_SUBMIT);
    // A gap on disk: submit the bio first, the new one stays open.
    assert_eq!(p.piece(200, 4, false), BEFORE);
    assert!(p.is_open());
    // A boundary: submit right after, nothing stays open.
    assert_eq!(p.piece(204, 4, true), AFTER);
    assert!(!p.is_open());
    // After it, even the contiguous next piece starts a fresh bio with
    // nothing to submit first.
    assert_eq!(p.piece(208, 4, false), NO_SUBMIT);
    assert!(p.is_open());
    // A gap and a boundary at once.
    assert_eq!(p.piece(300, 1, true), BOTH);
    assert!(!p.is_open());
    assert_eq!(p.piece(900, 2, false), NO_SUBMIT);
    assert!(p.is_open());
    // closed(): the bio was sent elsewhere; the next piece, contiguous or
    // not, submits nothing first.
    p.closed();
    assert!(!p.is_open());
    assert_eq!(p.piece(902, 2, false), NO_SUBMIT);
    assert!(p.is_open());
    p.closed();
    assert_eq!(p.piece(5, 1, false), NO_SUBMIT);
    assert_eq!(p.piece(6, 1, false), NO_SUBMIT);
}

#[test]
fn piece_going_backwards_or_overlapping_submits_before() {
    let mut p = BioPlanner::default();
    assert_eq!(p.piece(300, 4, false), NO_SUBMIT);
    // Right before the open bio on disk: not a continuation.
    assert_eq!(p.piece(296, 4, false), BEFORE);
    // Overlapping the open bio (296..300).
    assert_eq!(p.piece(299, 2, false), BEFORE);
    assert_eq!(p.piece(301, 1, false), NO_SUBMIT);
}

#[test]
fn pieces_and_whole_folios_share_the_open_bio() {
    let mut p = BioPlanner::default();
    assert_eq!(p.folio(100, 4, false, 4), NO_SUBMIT);
    assert_eq!(p.piece(104, 2, false), NO_SUBMIT);
    assert_eq!(p.piece(106, 2, false), NO_SUBMIT);
    assert_eq!(p.folio(108, 4, false, 4), NO_SUBMIT);
    assert_eq!(p.piece(112, 4, false), NO_SUBMIT);
    // A short folio read ends the bio; a piece never does without a
    // boundary, short or not.
    assert_eq!(p.folio(116, 2, false, 4), AFTER);
    assert!(!p.is_open());
    assert_eq!(p.piece(118, 1, false), NO_SUBMIT);
    assert!(p.is_open());
    assert_eq!(p.folio(500, 4, true, 4), BOTH);
    assert!(!p.is_open());
}

#[test]
fn split_folio_pieces_continue_the_bio_across_a_hole() {
    // 64 KiB folios of 4 KiB blocks over 0..20 at 1000, a hole 20..24,
    // 24..48 at 1020: folio 1 (16..32) has data, a hole, data, and its
    // data continues folio 0's on disk, so everything joins one bio.
    let mut map = FakeMap::from_extents(&[(20, Some(1000)), (4, None), (24, Some(1020))]);
    let i_size = 48 * 4096;
    let mut cache = MapCache::default();
    let mut p = BioPlanner::default();

    let s0 = span(0, 64 * KIB, i_size, 12, 48);
    assert_eq!(plan(&mut map, &mut cache, s0), Ok(read(1000, 16)));
    assert_eq!(p.folio(1000, 16, false, 16), NO_SUBMIT);

    let s1 = span(64 * KIB, 64 * KIB, i_size, 12, 32);
    assert_eq!(
        plan(&mut map, &mut cache, s1),
        Ok(FolioPlan::Confused(Confusion::HoleThenData))
    );
    let got = walk(&mut map, &mut cache, s1).unwrap();
    assert_eq!(got, [mapped(0, 4, 1016), hole(4, 4), mapped(8, 8, 1020)]);
    let steps: Vec<BioSteps> = got
        .iter()
        .filter_map(|e| match e.kind {
            MapKind::Hole => None,
            MapKind::Mapped { pblk, boundary } => Some(p.piece(pblk, e.len, boundary)),
        })
        .collect();
    assert_eq!(steps, [NO_SUBMIT, NO_SUBMIT]);

    // Folio 2 comes from the mapping the walk left in the cache.
    let s2 = span(128 * KIB, 64 * KIB, i_size, 12, 16);
    assert_eq!(plan(&mut map, &mut cache, s2), Ok(read(1028, 16)));
    assert_eq!(p.folio(1028, 16, false, 16), NO_SUBMIT);
    assert!(p.is_open());

    assert_eq!(
        map.requests,
        [(0, 48), (20, 28), (24, 24), (16, 32), (20, 28), (24, 24)]
    );
    assert_eq!(cache.calls(), 6);
}

#[test]
fn a_mapping_the_mapper_already_filled_takes_the_buffer_head_path() {
    // fs/mpage.c: get_block returned an uptodate buffer -> "confused".
    let mut cache = MapCache::default();
    let span = FolioSpan::new(0, 4096, 1 << 20, 10, 1, 4096);
    let plan = plan_folio(span, false, false, &mut cache, |lblk, max| {
        Ok::<_, IoError>(Mapping {
            lblk,
            len: max,
            kind: MapKind::Mapped {
                pblk: 500,
                boundary: false,
            },
            filled: lblk <= 2 && 2 < lblk + max,
            new: false,
        })
    });
    assert_eq!(plan, Ok(FolioPlan::Confused(Confusion::Filled)));
}

// ---------------------------------------------------------------------------
// Blocks the mapper allocated just now (BH_New) read as zeroes

/// A mapper over 1 KiB blocks of one contiguous extent from device block
/// 700, whose blocks `new_from..new_to` it reports as just allocated.
fn map_with_new_blocks(
    new_from: u64,
    new_to: u64,
) -> impl FnMut(u64, u64) -> Result<Mapping, IoError> {
    move |lblk, max| {
        let new = (new_from..new_to).contains(&lblk);
        // A run is one kind: it stops where newness changes.
        let end = if new {
            new_to
        } else if lblk < new_from {
            new_from
        } else {
            u64::MAX
        };
        Ok(Mapping {
            lblk,
            len: (end - lblk).min(max),
            kind: MapKind::Mapped {
                pblk: 700 + lblk,
                boundary: false,
            },
            filled: false,
            new,
        })
    }
}

#[test]
fn a_folio_of_new_blocks_is_zeroed_without_io() {
    let mut cache = MapCache::default();
    let s = span(0, 4 * KIB, MIB, 10, 1);
    let plan = plan_folio(s, false, false, &mut cache, map_with_new_blocks(0, 4));
    assert_eq!(plan, Ok(FolioPlan::AllHoles));
}

#[test]
fn data_then_new_blocks_reads_the_data_and_zeroes_the_rest() {
    let mut cache = MapCache::default();
    let s = span(0, 4 * KIB, MIB, 10, 1);
    let plan = plan_folio(s, false, false, &mut cache, map_with_new_blocks(2, 4));
    assert_eq!(plan, Ok(read(700, 2)));
}

#[test]
fn new_blocks_then_data_is_confused_like_a_hole_then_data() {
    let mut cache = MapCache::default();
    let s = span(0, 4 * KIB, MIB, 10, 1);
    let plan = plan_folio(s, false, false, &mut cache, map_with_new_blocks(0, 1));
    assert_eq!(plan, Ok(FolioPlan::Confused(Confusion::HoleThenData)));
}

#[test]
fn walk_reads_new_blocks_as_a_hole_between_data() {
    let mut cache = MapCache::default();
    let s = span(0, 16 * KIB, MIB, 10, 4);
    let mut got = Vec::new();
    let res = walk_extents(s, &mut cache, map_with_new_blocks(5, 9), |e| {
        got.push(e);
        Ok::<_, IoError>(())
    });
    assert_eq!(res, Ok(()));
    // The disk is contiguous across the new blocks, yet they are not read.
    assert_eq!(got, [mapped(0, 5, 700), hole(5, 4), mapped(9, 7, 709)]);
}

// ---------------------------------------------------------------------------
// A boundary inside a folio that may be read in pieces

/// Plans one folio that the engine may read in pieces.
fn plan_may_split(
    map: &mut FakeMap,
    cache: &mut MapCache,
    span: FolioSpan,
) -> Result<FolioPlan, IoError> {
    plan_folio(span, false, true, cache, |lblk, max| map.map(lblk, max))
}

#[test]
fn inner_boundary_stops_a_splittable_plan_before_the_next_mapping() {
    // 4 KiB blocks in a 64 KiB folio: the direct blocks end at block 11,
    // and the disk runs on contiguously past it.
    let mut map = FakeMap::contiguous(64, 500).with_ext2_arrays(1024);
    let s = span(0, 64 * KIB, MIB, 12, 16);
    let mut cache = MapCache::default();
    assert_eq!(
        plan_may_split(&mut map, &mut cache, s),
        Ok(FolioPlan::Confused(Confusion::Boundary))
    );
    // Block 12 was not mapped: its indirect block is read only after the
    // data before it went out.
    assert_eq!(map.requests, [(0, 16)]);
    // The walk starts from the cached mapping, sends blocks 0..12 as a
    // boundary extent, and only then maps block 12.
    let got = walk(&mut map, &mut cache, s).unwrap();
    assert_eq!(got, [mapped_boundary(0, 12, 500), mapped(12, 4, 512)]);
    assert_eq!(map.requests, [(0, 16), (12, 4)]);

    // The same folio when it may not be split: mpage's plan, one read.
    let mut map = FakeMap::contiguous(64, 500).with_ext2_arrays(1024);
    let mut cache = MapCache::default();
    assert_eq!(plan(&mut map, &mut cache, s), Ok(read(500, 16)));
    assert_eq!(map.requests, [(0, 16), (12, 4)]);
}

#[test]
fn boundary_at_the_folio_end_is_a_plain_read_even_when_splittable() {
    // 1 KiB blocks, a 16 KiB folio over blocks 252..268: the single
    // indirect array ends at block 267, the folio's last.
    let mut map = FakeMap::contiguous(300, 2000).with_ext2_arrays(256);
    let s = span(252 * KIB, 16 * KIB, MIB, 10, 16);
    let mut cache = MapCache::default();
    assert_eq!(
        plan_may_split(&mut map, &mut cache, s),
        Ok(read_boundary(2252, 16))
    );
}

#[test]
fn boundary_right_before_eof_is_a_plain_read_even_when_splittable() {
    // The file ends with block 11: nothing after the boundary to map.
    let mut map = FakeMap::contiguous(12, 700).with_ext2_arrays(1024);
    let s = span(0, 64 * KIB, 12 * 4 * KIB, 12, 16);
    let mut cache = MapCache::default();
    assert_eq!(plan_may_split(&mut map, &mut cache, s), Ok(read(700, 12)));
    assert_eq!(map.requests, [(0, 12)]);
}

#[test]
fn splittable_plans_differ_from_mpage_only_at_inner_boundaries() {
    // Discontiguous and hole-then-data folios are reported alike.
    let mut map = FakeMap::from_extents(&[(6, Some(1000)), (10, Some(5000))]);
    let s = span(0, 64 * KIB, MIB, 12, 16);
    assert_eq!(
        plan_may_split(&mut map, &mut MapCache::default(), s),
        Ok(FolioPlan::Confused(Confusion::Discontiguous))
    );
    let mut map = FakeMap::from_extents(&[(6, None), (10, Some(5000))]);
    assert_eq!(
        plan_may_split(&mut map, &mut MapCache::default(), s),
        Ok(FolioPlan::Confused(Confusion::HoleThenData))
    );
}

/// An allocation failure in read_folio sends the folio to the buffer_head
/// path, read in pieces or not, as long as none of it is in flight; and
/// read_folio's pieces are held back, so none of it is.
#[test]
fn read_folio_short_of_memory_falls_back_whole_or_split() {
    assert!(hold_split_bios(false));
    assert_eq!(setup_failure(true, false, false), SetupFailure::BufferHeads);
}

/// Readahead, short of memory, gives the folio back unread, and sends its
/// pieces as bios fill: one with pieces in flight can only fail.
#[test]
fn readahead_short_of_memory_gives_back_or_fails() {
    assert!(!hold_split_bios(true));
    assert_eq!(setup_failure(true, true, false), SetupFailure::GiveBack);
    assert_eq!(setup_failure(true, true, true), SetupFailure::Fail);
}

/// A failed mapping fails the folio whatever else holds: reading it again
/// another way maps the same blocks.
#[test]
fn failed_mapping_fails_the_folio() {
    for readahead in [false, true] {
        for in_flight in [false, true] {
            assert_eq!(
                setup_failure(false, readahead, in_flight),
                SetupFailure::Fail
            );
        }
    }
    assert_eq!(setup_failure(true, false, true), SetupFailure::Fail);
}
