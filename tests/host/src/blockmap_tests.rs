// SPDX-License-Identifier: GPL-2.0

//! Tests of ext2's indirect block map (`src/ext2/blockmap.rs`) over an
//! in-memory disk, checked against fs/ext2/inode.c (ext2_get_blocks,
//! ext2_alloc_branch, ext2_splice_branch, __ext2_truncate_blocks).

use crate::rng::Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::ext2::blockmap::{allocate, lookup, truncate, Allocated, Goal, MapStore};
use crate::ext2::format::{BlockPath, Corrupt, SuperBlock, N_BLOCKS};
use crate::format_tests::SbImage;
use crate::mpage::mapping::{MapKind, Mapping};

/// Blocks the fake disk keeps for itself (super block, bitmaps, inode
/// tables): allocations start past them.
const RESERVED: u64 = 200;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Error {
    Corrupt(Corrupt),
    NoSpace,
    Io(u64),
    /// The map misused the store: a test failure, never expected.
    Misuse(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Read(u64),
    Write {
        blk: u64,
        start: usize,
        ptrs: Vec<u32>,
    },
    NewIndirect {
        blk: u64,
        start: usize,
        ptrs: Vec<u32>,
    },
    Alloc {
        goal: u64,
        max: u64,
    },
    Free {
        first: u64,
        count: u64,
        indirect: bool,
    },
}

#[derive(Default)]
struct State {
    /// Blocks holding pointer arrays.
    indirect: BTreeMap<u64, Vec<u32>>,
    used: Vec<bool>,
    log: Vec<Call>,
    /// Longest run `alloc` hands out: fragmentation.
    max_run: Option<u64>,
    /// Blocks `alloc` may still hand out before it reports no space.
    budget: Option<u64>,
    /// Writes (`write_ptrs`, `new_indirect`) that succeed before they fail.
    writes_ok: Option<usize>,
    /// Blocks whose reads fail.
    bad_reads: BTreeSet<u64>,
    /// What `alloc` answers instead of allocating.
    alloc_answer: Option<(u64, u64)>,
    /// Blocks in use by others than the map under test.
    foreign: u64,
}

/// An in-memory disk: indirect blocks as pointer arrays, a bitmap, and a log
/// of every call.
struct Disk {
    fs: SuperBlock,
    ppb: usize,
    st: RefCell<State>,
}

impl Disk {
    fn new(block_size: u64) -> Self {
        let fs = SbImage::new(block_size).parse().unwrap();
        let mut used = vec![false; fs.blocks_count as usize];
        used[..RESERVED as usize].fill(true);
        Self {
            ppb: fs.ptrs_per_block() as usize,
            fs,
            st: RefCell::new(State {
                used,
                ..State::default()
            }),
        }
    }

    fn p(&self) -> u64 {
        self.ppb as u64
    }

    fn goal(&self) -> Goal {
        Goal {
            last: None,
            group_start: RESERVED,
        }
    }

    fn free_count(&self) -> usize {
        self.st.borrow().used.iter().filter(|&&u| !u).count()
    }

    fn is_used(&self, blk: u64) -> bool {
        self.st.borrow().used[blk as usize]
    }

    fn mark(&self, blk: u64) {
        let mut st = self.st.borrow_mut();
        assert!(!st.used[blk as usize], "block {blk} set up twice");
        st.used[blk as usize] = true;
    }

    /// Sets up indirect block `blk` with `ptrs` from slot `start`.
    fn ind(&self, blk: u64, start: usize, ptrs: &[u32]) {
        self.mark(blk);
        let mut a = vec![0u32; self.ppb];
        a[start..start + ptrs.len()].copy_from_slice(ptrs);
        self.st.borrow_mut().indirect.insert(blk, a);
    }

    /// Sets up data blocks.
    fn data(&self, blks: impl IntoIterator<Item = u64>) {
        for b in blks {
            self.mark(b);
        }
    }

    /// Marks blocks in use by something else than the map.
    fn occupy(&self, blks: impl IntoIterator<Item = u64>) {
        for b in blks {
            self.mark(b);
            self.st.borrow_mut().foreign += 1;
        }
    }

    fn ptrs(&self, blk: u64) -> Vec<u32> {
        self.st.borrow().indirect[&blk].clone()
    }

    fn take_log(&self) -> Vec<Call> {
        std::mem::take(&mut self.st.borrow_mut().log)
    }

    fn frees(&self) -> Vec<(u64, u64, bool)> {
        self.st
            .borrow()
            .log
            .iter()
            .filter_map(|c| match *c {
                Call::Free {
                    first,
                    count,
                    indirect,
                } => Some((first, count, indirect)),
                _ => None,
            })
            .collect()
    }

    fn allocs(&self) -> Vec<(u64, u64)> {
        self.st
            .borrow()
            .log
            .iter()
            .filter_map(|c| match *c {
                Call::Alloc { goal, max } => Some((goal, max)),
                _ => None,
            })
            .collect()
    }

    fn array_mut<'a>(&self, st: &'a mut State, blk: u64) -> Result<&'a mut Vec<u32>, Error> {
        if !st.used[blk as usize] {
            return Err(Error::Misuse(format!("block {blk} is free")));
        }
        st.indirect
            .get_mut(&blk)
            .ok_or_else(|| Error::Misuse(format!("block {blk} is no indirect block")))
    }

    fn count_write(&self, st: &mut State) -> Result<(), Error> {
        match st.writes_ok {
            Some(0) => Err(Error::Io(0)),
            Some(ref mut n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn store(
        &self,
        st: &mut State,
        blk: u64,
        start: usize,
        ptrs: &[u32],
        fresh: bool,
    ) -> Result<(), Error> {
        if start + ptrs.len() > self.ppb {
            return Err(Error::Misuse(format!("write past block {blk}")));
        }
        self.count_write(st)?;
        if fresh {
            if !st.used[blk as usize] || st.indirect.contains_key(&blk) {
                return Err(Error::Misuse(format!("block {blk} is not fresh")));
            }
            st.indirect.insert(blk, vec![0; self.ppb]);
        }
        self.array_mut(st, blk)?[start..start + ptrs.len()].copy_from_slice(ptrs);
        Ok(())
    }
}

impl MapStore for Disk {
    type Error = Error;

    fn corrupt(&self, c: Corrupt) -> Error {
        Error::Corrupt(c)
    }

    fn read_ptrs(&self, blk: u64, start: usize, out: &mut [u32]) -> Result<(), Error> {
        let mut st = self.st.borrow_mut();
        st.log.push(Call::Read(blk));
        if st.bad_reads.contains(&blk) {
            return Err(Error::Io(blk));
        }
        if start + out.len() > self.ppb {
            return Err(Error::Misuse(format!("read past block {blk}")));
        }
        out.copy_from_slice(&self.array_mut(&mut st, blk)?[start..start + out.len()]);
        Ok(())
    }

    fn write_ptrs(&self, blk: u64, start: usize, ptrs: &[u32]) -> Result<(), Error> {
        let mut st = self.st.borrow_mut();
        st.log.push(Call::Write {
            blk,
            start,
            ptrs: ptrs.to_vec(),
        });
        self.store(&mut st, blk, start, ptrs, false)
    }

    fn new_indirect(&self, blk: u64, start: usize, ptrs: &[u32]) -> Result<(), Error> {
        let mut st = self.st.borrow_mut();
        st.log.push(Call::NewIndirect {
            blk,
            start,
            ptrs: ptrs.to_vec(),
        });
        self.store(&mut st, blk, start, ptrs, true)
    }

    fn alloc(&self, goal: u64, max: u64) -> Result<(u64, u64), Error> {
        let mut st = self.st.borrow_mut();
        st.log.push(Call::Alloc { goal, max });
        if let Some(answer) = st.alloc_answer {
            return Ok(answer);
        }
        let max = max.min(st.max_run.unwrap_or(u64::MAX));
        let max = max.min(st.budget.unwrap_or(u64::MAX));
        let (lo, hi) = (
            u64::from(self.fs.first_data_block) + 1,
            st.used.len() as u64,
        );
        let goal = if (lo..hi).contains(&goal) { goal } else { lo };
        let first = (goal..hi)
            .chain(lo..goal)
            .find(|&b| !st.used[b as usize])
            .filter(|_| max > 0)
            .ok_or(Error::NoSpace)?;
        let mut got = 0;
        while got < max && first + got < hi && !st.used[(first + got) as usize] {
            st.used[(first + got) as usize] = true;
            got += 1;
        }
        if let Some(b) = st.budget.as_mut() {
            *b -= got;
        }
        Ok((first, got))
    }

    fn free(&self, first: u64, count: u64, indirect: bool) -> Result<(), Error> {
        let mut st = self.st.borrow_mut();
        st.log.push(Call::Free {
            first,
            count,
            indirect,
        });
        for b in first..first + count {
            if !st.used[b as usize] {
                return Err(Error::Misuse(format!("block {b} freed twice")));
            }
            let was_indirect = st.indirect.remove(&b).is_some();
            if was_indirect && !indirect {
                return Err(Error::Misuse(format!("indirect block {b} freed as data")));
            }
            st.used[b as usize] = false;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// An independent reading of the map

/// Every mapped block (logical -> device) and every indirect block of the
/// map, walked from the pointers alone.
fn walk(d: &Disk, i_block: &[u32; N_BLOCKS]) -> (BTreeMap<u64, u64>, BTreeSet<u64>) {
    fn tree(
        d: &Disk,
        blk: u32,
        levels: u32,
        base: u64,
        map: &mut BTreeMap<u64, u64>,
        ind: &mut BTreeSet<u64>,
    ) {
        assert!(ind.insert(u64::from(blk)), "indirect block {blk} twice");
        let p = d.p();
        for (i, &ptr) in d.ptrs(u64::from(blk)).iter().enumerate() {
            if ptr == 0 {
                continue;
            }
            if levels == 1 {
                map.insert(base + i as u64, u64::from(ptr));
            } else {
                let span = p.pow(levels - 1);
                tree(d, ptr, levels - 1, base + i as u64 * span, map, ind);
            }
        }
    }
    let (mut map, mut ind) = (BTreeMap::new(), BTreeSet::new());
    let p = d.p();
    for (i, &ptr) in i_block[..12].iter().enumerate() {
        if ptr != 0 {
            map.insert(i as u64, u64::from(ptr));
        }
    }
    let bases = [12, 12 + p, 12 + p + p * p];
    for (levels, &base) in (1..=3).zip(bases.iter()) {
        let ptr = i_block[11 + levels as usize];
        if ptr != 0 {
            tree(d, ptr, levels, base, &mut map, &mut ind);
        }
    }
    (map, ind)
}

/// The map and the disk agree: every block the map reaches is in use, once,
/// the indirect blocks are exactly the disk's pointer arrays, and nothing
/// else is in use (no leak). Returns the data map.
fn check_consistent(d: &Disk, i_block: &[u32; N_BLOCKS]) -> BTreeMap<u64, u64> {
    let (map, ind) = walk(d, i_block);
    let mut seen = BTreeSet::new();
    for &b in map.values().chain(ind.iter()) {
        assert!(d.is_used(b), "block {b} is referenced and free");
        assert!(seen.insert(b), "block {b} is referenced twice");
    }
    let st = d.st.borrow();
    assert_eq!(st.indirect.keys().copied().collect::<BTreeSet<_>>(), ind);
    let used = st.used.iter().filter(|&&u| u).count() as u64;
    let expected = RESERVED + st.foreign + seen.len() as u64;
    assert_eq!(used, expected, "blocks leaked");
    map
}

/// What the map should look like once the file of `n` blocks is written in
/// order, each block after the last: data and indirect blocks in one run
/// from RESERVED, each indirect block right before the data it points to.
fn sequential_layout(p: u64, n: u64) -> (BTreeMap<u64, u64>, u64) {
    let mut next = RESERVED;
    let mut map = BTreeMap::new();
    for lblk in 0..n {
        if lblk == 12 {
            next += 1; // single indirect
        } else if lblk >= 12 + p && (lblk - 12 - p).is_multiple_of(p) {
            next += if lblk == 12 + p { 2 } else { 1 }; // double, its IND
        }
        map.insert(lblk, next);
        next += 1;
    }
    (map, next - RESERVED)
}

fn hole(lblk: u64, len: u64) -> Result<Mapping, Error> {
    Ok(Mapping::hole(lblk, len))
}

fn mapped(lblk: u64, len: u64, pblk: u64, boundary: bool) -> Result<Mapping, Error> {
    Ok(Mapping::mapped(lblk, len, pblk, boundary))
}

fn fresh(lblk: u64, len: u64, pblk: u64, boundary: bool) -> Mapping {
    Mapping {
        new: true,
        ..Mapping::mapped(lblk, len, pblk, boundary)
    }
}

/// Writes a file of `n` blocks in order, as a writer asking for all that is
/// left each time would, keeping the sequential goal.
fn write_sequential(d: &Disk, i_block: &mut [u32; N_BLOCKS], n: u64) -> u64 {
    let mut goal = d.goal();
    let (mut lblk, mut blocks) = (0, 0);
    while lblk < n {
        let a = allocate(&d.fs, i_block, d, lblk, n - lblk, &goal).unwrap();
        let MapKind::Mapped { pblk, .. } = a.mapping.kind else {
            panic!("hole allocated at {lblk}");
        };
        assert!(a.mapping.new && a.mapping.lblk == lblk);
        goal.last = Some((lblk + a.mapping.len - 1, pblk + a.mapping.len - 1));
        lblk += a.mapping.len;
        blocks += a.blocks;
    }
    blocks
}

/// Pointers from `first` on, `n` of them.
fn run(first: u32, n: u32) -> Vec<u32> {
    (first..first + n).collect()
}

// ---------------------------------------------------------------------------
// Lookup

#[test]
fn direct_runs_stop_at_a_gap_a_jump_or_max() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[..9].copy_from_slice(&[300, 301, 302, 0, 0, 500, 501, 600, 600]);
    let l = |lblk, max| lookup(&d.fs, &ib, &d, lblk, max);
    assert_eq!(l(0, 100), mapped(0, 3, 300, false));
    assert_eq!(l(1, 100), mapped(1, 2, 301, false));
    assert_eq!(l(0, 2), mapped(0, 2, 300, false));
    // max 0 still maps one block.
    assert_eq!(l(0, 0), mapped(0, 1, 300, false));
    assert_eq!(l(3, 100), hole(3, 2));
    assert_eq!(l(5, 100), mapped(5, 2, 500, false));
    // The same block twice is no run.
    assert_eq!(l(7, 100), mapped(7, 1, 600, false));
    // Holes run to the end of the array, never boundaries.
    assert_eq!(l(9, 100), hole(9, 3));
    assert_eq!(l(9, 2), hole(9, 2));
    assert!(d.take_log().is_empty(), "direct blocks need no reads");
}

#[test]
fn direct_run_to_block_11_is_a_boundary() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[8..12].copy_from_slice(&run(400, 4));
    // The single indirect block continuing the run changes nothing.
    ib[12] = 404;
    let l = |lblk, max| lookup(&d.fs, &ib, &d, lblk, max);
    assert_eq!(l(8, 100), mapped(8, 4, 400, true));
    assert_eq!(l(8, 4), mapped(8, 4, 400, true));
    assert_eq!(l(8, 3), mapped(8, 3, 400, false));
    assert_eq!(l(11, 1), mapped(11, 1, 403, true));
}

#[test]
fn single_indirect_runs_and_boundary() {
    for bs in [1024, 4096] {
        let d = Disk::new(bs);
        let p = d.p();
        let mut ib = [0u32; N_BLOCKS];
        ib[12] = 1000;
        let mut ptrs = vec![0u32; d.ppb];
        ptrs[..10].copy_from_slice(&run(2000, 10));
        ptrs[d.ppb - 5..].copy_from_slice(&run(3000, 5));
        d.ind(1000, 0, &ptrs);
        let l = |lblk, max| lookup(&d.fs, &ib, &d, lblk, max);
        assert_eq!(l(12, 1000), mapped(12, 10, 2000, false));
        assert_eq!(l(15, 3), mapped(15, 3, 2003, false));
        assert_eq!(l(22, 100_000), hole(22, p - 15));
        let last5 = 12 + p - 5;
        assert_eq!(l(last5, 100_000), mapped(last5, 5, 3000, true));
        assert_eq!(l(last5 + 2, 3), mapped(last5 + 2, 3, 3002, true));
        assert_eq!(l(last5, 4), mapped(last5, 4, 3000, false));
    }
}

#[test]
fn double_and_triple_indirect_paths() {
    for bs in [1024, 4096] {
        let d = Disk::new(bs);
        let p = d.p();
        let mut ib = [0u32; N_BLOCKS];
        // Double: IND #3 at 1100 maps slots 7..9 to 5000...
        ib[13] = 1001;
        d.ind(1001, 3, &[1100]);
        d.ind(1100, 7, &run(5000, 3));
        // Triple: DIND #2 at 1201, its IND #5 at 1202, slots p-2.. at 6000.
        ib[14] = 1200;
        d.ind(1200, 2, &[1201]);
        d.ind(1201, 5, &[1202]);
        d.ind(1202, d.ppb - 2, &run(6000, 2));
        let l = |lblk, max| lookup(&d.fs, &ib, &d, lblk, max);
        let dind = 12 + p + 3 * p;
        assert_eq!(l(dind + 7, 100), mapped(dind + 7, 3, 5000, false));
        assert_eq!(l(dind + 8, 100), mapped(dind + 8, 2, 5001, false));
        assert_eq!(l(dind, 100), hole(dind, 7));
        let tind = 12 + p + p * p + 2 * p * p + 5 * p;
        assert_eq!(l(tind + p - 2, 100), mapped(tind + p - 2, 2, 6000, true));
        assert_eq!(l(tind + p - 1, 1), mapped(tind + p - 1, 1, 6001, true));
        assert_eq!(l(tind, 100_000), hole(tind, p - 2));
        // The last block the map can address.
        let end = 12 + p + p * p + p * p * p - 1;
        assert_eq!(l(end, 100), hole(end, 1));
    }
}

#[test]
fn one_block_lookups_answer_as_the_first_block_of_a_run() {
    // One-block lookups read the block's pointer alone; they must say what
    // the run scan says of that block: mapped or a hole, where, and whether
    // a boundary follows it.
    for bs in [1024, 4096] {
        let d = Disk::new(bs);
        let p = d.p();
        let mut ib = [0u32; N_BLOCKS];
        ib[9..12].copy_from_slice(&[300, 0, 302]);
        ib[12] = 1000;
        let mut ptrs = vec![0u32; d.ppb];
        ptrs[..3].copy_from_slice(&[2000, 2001, 2005]);
        ptrs[d.ppb - 2..].copy_from_slice(&run(3000, 2));
        d.ind(1000, 0, &ptrs);
        ib[13] = 1001;
        d.ind(1001, 0, &[1100]);
        d.ind(1100, d.ppb - 1, &[5000]);
        let l = |lblk, max| lookup(&d.fs, &ib, &d, lblk, max);
        let blocks = (0..16)
            .chain(12 + p - 3..12 + p + 2)
            .chain(12 + 2 * p - 2..12 + 2 * p + 1);
        for lblk in blocks {
            let run = l(lblk, 2).unwrap();
            let one = l(lblk, 1).unwrap();
            assert_eq!((one.lblk, one.len), (lblk, 1), "block {lblk}");
            assert_eq!(one.pblk_of(lblk), run.pblk_of(lblk), "block {lblk}");
            let boundary = |m: &Mapping| matches!(m.kind, MapKind::Mapped { boundary: true, .. });
            // A run of two that ends at the array's end has its boundary
            // after the second block; only a run of one shares it.
            if run.len == 1 {
                assert_eq!(boundary(&one), boundary(&run), "block {lblk}");
            }
        }
        assert_eq!(l(11, 1), mapped(11, 1, 302, true));
        assert_eq!(l(12 + 2 * p - 1, 1), mapped(12 + 2 * p - 1, 1, 5000, true));
    }
}

#[test]
fn missing_indirect_blocks_are_holes_to_the_end_of_their_array() {
    for bs in [1024, 4096] {
        let d = Disk::new(bs);
        let p = d.p();
        let mut ib = [0u32; N_BLOCKS];
        let l = |ib: &[u32; N_BLOCKS], lblk, max| lookup(&d.fs, ib, &d, lblk, max);
        // No single, double or triple indirect block at all.
        assert_eq!(l(&ib, 17, 100_000), hole(17, p - 5));
        assert_eq!(l(&ib, 17, 3), hole(17, 3));
        assert_eq!(l(&ib, 12 + p + 10, 100_000), hole(12 + p + 10, p - 10));
        let t = 12 + p + p * p;
        assert_eq!(l(&ib, t + 1, 100_000), hole(t + 1, p - 1));
        // A double indirect block without its IND #1.
        ib[13] = 1001;
        d.ind(1001, 0, &[1100]);
        d.ind(1100, 0, &[5000]);
        assert_eq!(l(&ib, 12 + 2 * p + 4, 100_000), hole(12 + 2 * p + 4, p - 4));
        assert_eq!(l(&ib, 12 + p, 100_000), mapped(12 + p, 1, 5000, false));
    }
}

#[test]
fn pointers_outside_the_file_system_are_corrupt() {
    let d = Disk::new(1024);
    let bad = |p| Err(Error::Corrupt(Corrupt::BlockPointer(p)));
    let mut ib = [0u32; N_BLOCKS];
    ib[0] = 20000;
    // The super block and boot block are no data either (1 KiB blocks).
    ib[1] = 1;
    ib[2] = u32::MAX;
    ib[5..9].copy_from_slice(&run(19998, 4));
    ib[9..11].copy_from_slice(&[19999, 50000]);
    ib[12] = 20001;
    let l = |lblk, max| lookup(&d.fs, &ib, &d, lblk, max);
    assert_eq!(l(0, 1), bad(20000));
    assert_eq!(l(1, 1), bad(1));
    assert_eq!(l(2, 1), bad(u64::from(u32::MAX)));
    // A run that walks off the end.
    assert_eq!(l(5, 4), bad(20001));
    // A bad pointer after the run is for the next lookup.
    assert_eq!(l(9, 2), mapped(9, 1, 19999, false));
    // An indirect block pointer is checked before it is read.
    assert_eq!(l(12, 1), bad(20001));
    assert!(d.take_log().is_empty());
}

#[test]
fn bad_pointers_deeper_down_are_corrupt() {
    let d = Disk::new(4096);
    let mut ib = [0u32; N_BLOCKS];
    ib[13] = 1001;
    d.ind(1001, 0, &[100_000]);
    ib[12] = 1002;
    d.ind(1002, 0, &[7, 0]);
    let bad = |p| Err(Error::Corrupt(Corrupt::BlockPointer(p)));
    assert_eq!(lookup(&d.fs, &ib, &d, 12 + 1024, 4), bad(100_000));
    // Block 0 at 4 KiB holds the super block.
    assert_eq!(lookup(&d.fs, &ib, &d, 12, 1), mapped(12, 1, 7, false));
    d.ind(1003, 0, &[0]);
    ib[12] = 0;
    assert_eq!(lookup(&d.fs, &ib, &d, 12, 1), hole(12, 1));
}

#[test]
fn blocks_past_the_triple_indirect_range_are_too_large() {
    for bs in [1024u64, 4096] {
        let d = Disk::new(bs);
        let p = d.p();
        let ib = [0u32; N_BLOCKS];
        let end = 12 + p + p * p + p * p * p;
        let too_large = |lblk: u64| Err(Error::Corrupt(Corrupt::TooLarge(lblk * bs)));
        assert_eq!(lookup(&d.fs, &ib, &d, end, 1), too_large(end));
        assert_eq!(
            lookup(&d.fs, &ib, &d, u64::MAX, 1),
            Err(Error::Corrupt(Corrupt::TooLarge(u64::MAX)))
        );
        let mut ib = ib;
        let a = allocate(&d.fs, &mut ib, &d, end, 1, &d.goal());
        assert_eq!(a, Err(Error::Corrupt(Corrupt::TooLarge(end * bs))));
        assert_eq!(truncate(&d.fs, &mut ib, &d, end), Ok(0));
        assert_eq!(truncate(&d.fs, &mut ib, &d, u64::MAX), Ok(0));
    }
}

#[test]
fn read_errors_are_passed_on() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[12] = 1000;
    d.ind(1000, 0, &[2000]);
    d.st.borrow_mut().bad_reads.insert(1000);
    assert_eq!(lookup(&d.fs, &ib, &d, 12, 1), Err(Error::Io(1000)));
    let free = d.free_count();
    let a = allocate(&d.fs, &mut ib, &d, 13, 1, &d.goal());
    assert_eq!(a, Err(Error::Io(1000)));
    assert_eq!(truncate(&d.fs, &mut ib, &d, 0), Err(Error::Io(1000)));
    assert_eq!(d.free_count(), free);
    assert_eq!(ib[12], 1000);
}

// ---------------------------------------------------------------------------
// Allocation

#[test]
fn sequential_file_is_one_run_with_each_indirect_block_before_its_data() {
    for (bs, n) in [(1024u64, 12 + 256 + 3 * 256 + 40), (4096, 12 + 1024 + 700)] {
        let d = Disk::new(bs);
        let free = d.free_count();
        let mut ib = [0u32; N_BLOCKS];
        let blocks = write_sequential(&d, &mut ib, n);
        let (want, total) = sequential_layout(d.p(), n);
        assert_eq!(check_consistent(&d, &ib), want);
        assert_eq!(blocks, total);
        assert_eq!(d.free_count(), free - total as usize);
        assert_eq!(ib[12] as u64, RESERVED + 12);
        // Every run allocated in one piece: ends only at array ends.
        let p = d.p();
        let runs: Vec<u64> = d.allocs().iter().map(|&(_, max)| max).collect();
        assert_eq!(runs[..3], [12, 1 + p, 2 + p.min(n - 12 - p)]);
    }
}

#[test]
fn allocated_runs_stop_at_the_array_end_with_a_boundary() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    let a = allocate(&d.fs, &mut ib, &d, 5, 100, &d.goal()).unwrap();
    assert_eq!(a.mapping, fresh(5, 7, RESERVED, true));
    assert_eq!(a.blocks, 7);
    assert_eq!(ib[5..12], run(RESERVED as u32, 7)[..]);
    let a = allocate(&d.fs, &mut ib, &d, 12, 3, &d.goal()).unwrap();
    assert_eq!(a.blocks, 4);
    assert!(!matches!(
        a.mapping.kind,
        MapKind::Mapped { boundary: true, .. }
    ));
    // The hole left at the end of the single indirect array.
    let a = allocate(&d.fs, &mut ib, &d, 15, 1000, &d.goal()).unwrap();
    assert_eq!((a.mapping.len, a.blocks), (256 - 3, 253));
    assert!(matches!(
        a.mapping.kind,
        MapKind::Mapped { boundary: true, .. }
    ));
    check_consistent(&d, &ib);
}

#[test]
fn mapped_blocks_are_returned_as_they_are() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[..3].copy_from_slice(&[300, 301, 0]);
    d.data([300, 301]);
    let a = allocate(&d.fs, &mut ib, &d, 0, 10, &d.goal()).unwrap();
    assert_eq!(
        a,
        Allocated {
            mapping: Mapping::mapped(0, 2, 300, false),
            blocks: 0
        }
    );
    assert!(d.take_log().is_empty());
}

#[test]
fn a_hole_between_mapped_blocks_is_filled_up_to_them() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[0] = 300;
    ib[4] = 310;
    ib[12] = 1000;
    d.data([300, 310, 2000]);
    d.ind(1000, 50, &[2000]);
    let a = allocate(&d.fs, &mut ib, &d, 1, 100, &d.goal()).unwrap();
    assert_eq!((a.mapping.lblk, a.mapping.len, a.blocks), (1, 3, 3));
    assert_eq!(ib[4], 310);
    let a = allocate(&d.fs, &mut ib, &d, 12 + 20, 100, &d.goal()).unwrap();
    assert_eq!((a.mapping.len, a.blocks), (30, 30));
    assert_eq!(d.ptrs(1000)[50], 2000);
    let map = check_consistent(&d, &ib);
    assert_eq!(map.len(), 3 + 3 + 30);
}

#[test]
fn goal_follows_the_last_allocation() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    let goal = Goal {
        last: Some((2, 5000)),
        group_start: RESERVED,
    };
    let a = allocate(&d.fs, &mut ib, &d, 3, 1, &goal).unwrap();
    assert_eq!(a.mapping, fresh(3, 1, 5001, false));
    // Not the block after the last one: the map decides.
    let a = allocate(&d.fs, &mut ib, &d, 9, 1, &goal).unwrap();
    assert_eq!(a.mapping, fresh(9, 1, 5001 + 6, false));
    // A goal outside the file system falls back to the group.
    let goal = Goal {
        last: Some((10, 19999)),
        group_start: RESERVED,
    };
    let a = allocate(&d.fs, &mut ib, &d, 11, 1, &goal).unwrap();
    assert_eq!(d.allocs().last(), Some(&(RESERVED, 1)));
    assert_eq!(a.mapping.pblk_of(11), Some(RESERVED));
}

#[test]
fn goal_keeps_the_distance_to_the_block_on_the_left() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[1] = 3000;
    d.data([3000]);
    let a = allocate(&d.fs, &mut ib, &d, 6, 1, &d.goal()).unwrap();
    assert_eq!(a.mapping.pblk_of(6), Some(3005));
    // In an indirect block, across chunks of pointers.
    ib[12] = 1000;
    d.ind(1000, 3, &[4000]);
    d.data([4000]);
    let a = allocate(&d.fs, &mut ib, &d, 12 + 200, 1, &d.goal()).unwrap();
    assert_eq!(a.mapping.pblk_of(12 + 200), Some(4000 + 197));
    check_consistent(&d, &ib);
}

#[test]
fn goal_without_neighbours_is_after_the_parent_or_in_the_group() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[12] = 1000;
    d.ind(1000, 0, &[]);
    let a = allocate(&d.fs, &mut ib, &d, 12 + 40, 2, &d.goal()).unwrap();
    assert_eq!(d.allocs(), [(1001, 2)]);
    assert_eq!(a.mapping, fresh(52, 2, 1001, false));
    let a = allocate(&d.fs, &mut ib, &d, 0, 2, &d.goal()).unwrap();
    assert_eq!(a.mapping, fresh(0, 2, RESERVED, false));
}

#[test]
fn new_indirect_blocks_come_first_in_the_run() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    let a = allocate(&d.fs, &mut ib, &d, 12, 10, &d.goal()).unwrap();
    let r = RESERVED as u32;
    assert_eq!(ib[12], r);
    assert_eq!(a.mapping, fresh(12, 10, RESERVED + 1, false));
    assert_eq!(a.blocks, 11);
    assert_eq!(
        d.take_log(),
        [
            Call::Alloc {
                goal: RESERVED,
                max: 11
            },
            Call::NewIndirect {
                blk: RESERVED,
                start: 0,
                ptrs: run(r + 1, 10)
            },
        ]
    );
}

#[test]
fn new_branch_is_filled_before_it_is_linked() {
    let d = Disk::new(1024);
    let p = d.p();
    let mut ib = [0u32; N_BLOCKS];
    // A double indirect block with IND #0 only: IND #2 hangs from it.
    ib[13] = 1000;
    d.ind(1000, 0, &[1001]);
    d.ind(1001, 0, &[]);
    let lblk = 12 + p + 2 * p + 5;
    let a = allocate(&d.fs, &mut ib, &d, lblk, 3, &d.goal()).unwrap();
    assert_eq!(a.blocks, 4);
    let log = d.take_log();
    let new = log
        .iter()
        .position(|c| matches!(c, Call::NewIndirect { .. }))
        .unwrap();
    let link = log
        .iter()
        .position(|c| matches!(c, Call::Write { blk: 1000, .. }))
        .unwrap();
    assert!(new < link, "{log:?}");
    let Call::NewIndirect {
        blk: ind, start, ..
    } = log[new]
    else {
        unreachable!()
    };
    assert_eq!(start, 5);
    assert_eq!(
        log[link],
        Call::Write {
            blk: 1000,
            start: 2,
            ptrs: vec![ind as u32]
        }
    );
    assert_eq!(log.len(), link + 1, "the link is the last write");
    // A whole new triple indirect branch: TIND, DIND, IND, top first.
    let t = 12 + p + p * p;
    let a = allocate(&d.fs, &mut ib, &d, t + p + 1, 2, &d.goal()).unwrap();
    assert_eq!(a.blocks, 5);
    let log = d.take_log();
    let news: Vec<_> = log
        .iter()
        .filter_map(|c| match c {
            Call::NewIndirect { blk, start, ptrs } => Some((*blk, *start, ptrs.clone())),
            _ => None,
        })
        .collect();
    let (tind, dind, ind) = (news[0].0, news[1].0, news[2].0);
    assert_eq!(tind, u64::from(ib[14]));
    assert_eq!(
        news,
        [
            (tind, 0, vec![dind as u32]),
            (dind, 1, vec![ind as u32]),
            (ind, 1, run(ind as u32 + 1, 2)),
        ]
    );
    check_consistent(&d, &ib);
}

#[test]
fn fragmented_space_takes_the_first_data_run() {
    let d = Disk::new(1024);
    let p = d.p();
    let mut ib = [0u32; N_BLOCKS];
    // Every other block free past 1000.
    d.occupy((RESERVED..1000).chain((1000..1200).step_by(2)));
    let goal = Goal {
        last: None,
        group_start: 1000,
    };
    // Double indirect: DIND, IND, then data, one block a call.
    let a = allocate(&d.fs, &mut ib, &d, 12 + p, 10, &goal).unwrap();
    assert_eq!(a.mapping, fresh(12 + p, 1, 1005, false));
    assert_eq!(a.blocks, 3);
    assert_eq!(d.allocs().len(), 3);
    assert_eq!(ib[13], 1001);
    assert_eq!(d.ptrs(1001)[0], 1003);
    // Some room: 2 indirect blocks and 1 data block from a run of 3.
    d.st.borrow_mut().max_run = Some(3);
    let a = allocate(&d.fs, &mut ib, &d, 12 + p + p * p, 10, &d.goal()).unwrap();
    assert_eq!(a.blocks, 4);
    assert_eq!(a.mapping.len, 1);
    check_consistent(&d, &ib);
}

#[test]
fn no_space_part_way_gives_everything_back() {
    for budget in [0, 1, 2, 3] {
        let d = Disk::new(1024);
        let p = d.p();
        let mut ib = [0u32; N_BLOCKS];
        d.st.borrow_mut().max_run = Some(1);
        d.st.borrow_mut().budget = Some(budget);
        let free = d.free_count();
        let lblk = 12 + p + p * p + 7;
        let a = allocate(&d.fs, &mut ib, &d, lblk, 4, &d.goal());
        assert_eq!(a, Err(Error::NoSpace), "budget {budget}");
        assert_eq!(d.free_count(), free);
        assert_eq!(ib, [0; N_BLOCKS]);
        let log = d.take_log();
        assert!(!log.iter().any(|c| matches!(c, Call::NewIndirect { .. })));
        let freed: u64 = log
            .iter()
            .map(|c| match c {
                Call::Free { count, .. } => *count,
                _ => 0,
            })
            .sum();
        assert_eq!(freed, budget);
    }
}

#[test]
fn failed_writes_give_everything_back() {
    // Fails on the 1st, 2nd, ... write of a branch of 3 new indirect blocks
    // under an existing triple indirect block: nothing stays.
    let d = Disk::new(1024);
    let p = d.p();
    let mut ib = [0u32; N_BLOCKS];
    ib[14] = 1000;
    d.ind(1000, 0, &[]);
    let lblk = 12 + p + p * p + 3 * p * p;
    for ok in 0..3 {
        let free = d.free_count();
        d.st.borrow_mut().writes_ok = Some(ok);
        let a = allocate(&d.fs, &mut ib, &d, lblk, 4, &d.goal());
        assert_eq!(a, Err(Error::Io(0)), "{ok} writes");
        assert_eq!(d.free_count(), free);
        assert_eq!(d.ptrs(1000), vec![0; d.ppb]);
        check_consistent(&d, &ib);
    }
}

#[test]
fn failed_data_pointer_writes_keep_what_was_linked() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[12] = 1000;
    d.ind(1000, 0, &[]);
    d.st.borrow_mut().writes_ok = Some(2);
    // 200 pointers: 13 chunks of 16; the first two go in.
    let a = allocate(&d.fs, &mut ib, &d, 12, 200, &d.goal()).unwrap();
    assert_eq!(a.mapping, fresh(12, 32, 1001, false));
    assert_eq!(a.blocks, 32);
    check_consistent(&d, &ib);
    // The rest meets the error.
    let a = allocate(&d.fs, &mut ib, &d, 12 + 32, 168, &d.goal());
    assert_eq!(a, Err(Error::Io(0)));
    assert_eq!(check_consistent(&d, &ib).len(), 32);
}

#[test]
fn corrupt_maps_and_allocators_allocate_nothing() {
    let d = Disk::new(1024);
    let mut ib = [0u32; N_BLOCKS];
    ib[13] = 30000;
    let free = d.free_count();
    let a = allocate(&d.fs, &mut ib, &d, 12 + 256 + 1, 1, &d.goal());
    assert_eq!(a, Err(Error::Corrupt(Corrupt::BlockPointer(30000))));
    assert!(d.take_log().is_empty());
    // An allocator answering blocks outside the file system, or none.
    for answer in [(19999, 2), (500, 0), (0, 1)] {
        d.st.borrow_mut().alloc_answer = Some(answer);
        let a = allocate(&d.fs, &mut ib, &d, 0, 4, &d.goal());
        assert!(
            matches!(a, Err(Error::Corrupt(Corrupt::BlockPointer(_)))),
            "{answer:?}"
        );
    }
    assert_eq!(d.free_count(), free);
    assert_eq!(ib[..12], [0; 12]);
}

// ---------------------------------------------------------------------------
// Truncation

/// A file of `n` blocks written in order, and the disk's free count before.
fn written(bs: u64, n: u64) -> (Disk, [u32; N_BLOCKS], usize) {
    let d = Disk::new(bs);
    let free = d.free_count();
    let mut ib = [0u32; N_BLOCKS];
    write_sequential(&d, &mut ib, n);
    d.take_log();
    (d, ib, free)
}

/// Truncates from `from` and checks the result against the map before:
/// exactly the blocks before `from` are left, the count is what left the
/// file, and the disk has them back.
fn truncate_and_check(d: &Disk, ib: &mut [u32; N_BLOCKS], from: u64) -> u64 {
    let (before, ind_before) = walk(d, ib);
    let free = d.free_count();
    let freed = truncate(&d.fs, ib, d, from).unwrap();
    let after = check_consistent(d, ib);
    let kept: BTreeMap<u64, u64> = before.range(..from).map(|(&l, &p)| (l, p)).collect();
    assert_eq!(after, kept, "from {from}");
    let (_, ind_after) = walk(d, ib);
    let gone = before.len() - after.len() + ind_before.len() - ind_after.len();
    assert_eq!(freed, gone as u64);
    assert_eq!(d.free_count(), free + gone);
    freed
}

#[test]
fn truncate_to_zero_frees_everything() {
    for (bs, n) in [(1024, 12 + 256 + 2 * 256 + 9), (4096, 12 + 1024 + 5)] {
        let (d, mut ib, free) = written(bs, n);
        let (_, total) = sequential_layout(d.p(), n);
        assert_eq!(truncate_and_check(&d, &mut ib, 0), total);
        assert_eq!(ib, [0; N_BLOCKS]);
        assert_eq!(d.free_count(), free);
        assert!(d.st.borrow().indirect.is_empty());
    }
}

#[test]
fn truncate_inside_the_direct_blocks() {
    let (d, mut ib, _) = written(1024, 12 + 300);
    assert_eq!(truncate_and_check(&d, &mut ib, 5), 7 + 300 + 3);
    assert_eq!(ib[..5], run(RESERVED as u32, 5)[..]);
}

#[test]
fn truncate_inside_the_single_indirect_block_keeps_it() {
    for bs in [1024, 4096] {
        let (d, mut ib, _) = written(bs, 12 + 1024 + 300);
        let ind = u64::from(ib[12]);
        truncate_and_check(&d, &mut ib, 12 + 100);
        assert_eq!(u64::from(ib[12]), ind);
        assert_eq!(ib[13], 0);
        let ptrs = d.ptrs(ind);
        assert!(ptrs[..100].iter().all(|&p| p != 0));
        assert!(ptrs[100..].iter().all(|&p| p == 0));
    }
}

#[test]
fn truncate_at_the_start_of_an_indirect_block_frees_it() {
    let (d, mut ib, _) = written(1024, 12 + 256 + 5 * 256);
    truncate_and_check(&d, &mut ib, 12 + 256 + 3 * 256);
    // DIND keeps IND #0..2.
    let dind = d.ptrs(u64::from(ib[13]));
    assert!(dind[..3].iter().all(|&p| p != 0));
    assert!(dind[3..].iter().all(|&p| p == 0));
    truncate_and_check(&d, &mut ib, 12 + 256);
    assert_eq!(ib[13], 0);
    truncate_and_check(&d, &mut ib, 12);
    assert_eq!(ib[12], 0);
}

#[test]
fn truncate_inside_the_double_indirect_range() {
    for bs in [1024u64, 4096] {
        let p = bs / 4;
        let (d, mut ib, _) = written(bs, 12 + p + 4 * p + 20);
        let from = 12 + p + 2 * p + 7;
        truncate_and_check(&d, &mut ib, from);
        let dind = d.ptrs(u64::from(ib[13]));
        assert!(dind[..3].iter().all(|&p| p != 0));
        assert!(dind[3..].iter().all(|&p| p == 0));
        let ind2 = d.ptrs(u64::from(dind[2]));
        assert!(ind2[..7].iter().all(|&p| p != 0));
        assert!(ind2[7..].iter().all(|&p| p == 0));
    }
}

#[test]
fn truncate_inside_the_triple_indirect_range() {
    for bs in [1024u64, 4096] {
        let d = Disk::new(bs);
        let p = d.p();
        let free = d.free_count();
        let mut ib = [0u32; N_BLOCKS];
        let t = 12 + p + p * p;
        // Blocks under DIND #0 and #1 of the triple indirect block.
        let lblks = [5, 20, t + 3, t + 2 * p + 9, t + 2 * p + 10, t + p * p + 4];
        for &l in &lblks {
            allocate(&d.fs, &mut ib, &d, l, 1, &d.goal()).unwrap();
        }
        truncate_and_check(&d, &mut ib, t + 2 * p + 10);
        truncate_and_check(&d, &mut ib, t + 2 * p + 5);
        // Nothing is left under the triple indirect block but block t + 3.
        assert_eq!(walk(&d, &ib).0.len(), 3);
        truncate_and_check(&d, &mut ib, t + 1);
        assert_eq!(ib[14], 0);
        truncate_and_check(&d, &mut ib, 0);
        assert_eq!(d.free_count(), free);
    }
}

#[test]
fn blocks_with_nothing_left_go_with_their_parents() {
    // ext2_find_shared: an indirect block holding nothing before the cut
    // goes, and so does its parent when that holds nothing before it either.
    let d = Disk::new(1024);
    let p = d.p();
    let mut ib = [0u32; N_BLOCKS];
    let far = 12 + p + 5 * p + 100;
    for l in [0, far] {
        allocate(&d.fs, &mut ib, &d, l, 1, &d.goal()).unwrap();
    }
    assert_eq!(truncate_and_check(&d, &mut ib, far - 50), 3);
    assert_eq!(ib[13], 0);
    assert_eq!(walk(&d, &ib).0.len(), 1);
}

#[test]
fn truncate_frees_in_runs_after_unlinking() {
    let (d, mut ib, _) = written(1024, 12 + 20);
    let r = RESERVED;
    assert_eq!(truncate_and_check(&d, &mut ib, 0), 33);
    assert_eq!(
        d.frees(),
        [(r, 12, false), (r + 13, 20, false), (r + 12, 1, true)]
    );
    // A kept indirect block: its pointers are zeroed before the blocks go.
    let (d, mut ib, _) = written(1024, 12 + 200);
    truncate_and_check(&d, &mut ib, 12 + 10);
    assert_eq!(d.frees(), [(r + 23, 190, false)]);
    let log = d.take_log();
    let zeroed = log
        .iter()
        .position(|c| matches!(c, Call::Write { blk, start: 10, ptrs } if *blk == r + 12 && ptrs.iter().all(|&p| p == 0)))
        .unwrap();
    let first_free = log
        .iter()
        .position(|c| matches!(c, Call::Free { .. }))
        .unwrap();
    assert!(zeroed < first_free, "{log:?}");
}

#[test]
fn truncate_unlinks_indirect_blocks_before_freeing_them() {
    let (d, mut ib, _) = written(1024, 12 + 256 + 4 * 256);
    let dind = u64::from(ib[13]);
    let ind2 = u64::from(d.ptrs(dind)[2]);
    truncate_and_check(&d, &mut ib, 12 + 256 + 256 + 3);
    let log = d.take_log();
    let unlink = log
        .iter()
        .position(|c| matches!(c, Call::Write { blk, start: 2, .. } if *blk == dind))
        .unwrap();
    let freed = log
        .iter()
        .position(|c| matches!(c, Call::Free { first, indirect: true, .. } if *first == ind2))
        .unwrap();
    assert!(unlink < freed);
    // Frees of indirect blocks say so; of data, not.
    for c in &log {
        if let Call::Free {
            first, indirect, ..
        } = c
        {
            assert_eq!(*indirect, *first == ind2 || *first == ind2 + 257);
        }
    }
}

#[test]
fn corrupt_pointers_stop_truncate_before_any_change() {
    let (d, mut ib, _) = written(1024, 12 + 256 + 300);
    // A bad pointer deep in the part to go.
    let dind = u64::from(ib[13]);
    let ind1 = u64::from(d.ptrs(dind)[1]);
    d.st.borrow_mut().indirect.get_mut(&ind1).unwrap()[30] = 25000;
    let before = ib;
    let free = d.free_count();
    let r = truncate(&d.fs, &mut ib, &d, 5);
    assert_eq!(r, Err(Error::Corrupt(Corrupt::BlockPointer(25000))));
    assert_eq!(ib, before);
    assert_eq!(d.free_count(), free);
    assert!(d.take_log().iter().all(|c| matches!(c, Call::Read(_))));
    // The kept part is not looked at.
    d.st.borrow_mut().indirect.get_mut(&ind1).unwrap()[30] = 0;
    ib[3] = 25000;
    assert!(truncate(&d.fs, &mut ib, &d, 5).is_ok());
    assert_eq!(ib[3], 25000);
}

#[test]
fn truncate_of_nothing_does_nothing() {
    let (d, mut ib, _) = written(1024, 20);
    assert_eq!(truncate(&d.fs, &mut ib, &d, 20), Ok(0));
    assert_eq!(truncate(&d.fs, &mut ib, &d, 12 + 256 + 40), Ok(0));
    assert!(d.frees().is_empty());
    let mut empty = [0u32; N_BLOCKS];
    assert_eq!(truncate(&d.fs, &mut empty, &d, 0), Ok(0));
}

#[test]
fn allocation_after_truncate_reuses_the_blocks() {
    let (d, mut ib, _) = written(1024, 12 + 100);
    let (before, _) = walk(&d, &ib);
    truncate_and_check(&d, &mut ib, 12 + 40);
    let goal = Goal {
        last: Some((12 + 39, before[&(12 + 39)])),
        group_start: RESERVED,
    };
    let a = allocate(&d.fs, &mut ib, &d, 12 + 40, 60, &goal).unwrap();
    assert_eq!(a.mapping, fresh(12 + 40, 60, before[&(12 + 40)], false));
    assert_eq!(walk(&d, &ib).0, before);
    truncate_and_check(&d, &mut ib, 0);
    write_sequential(&d, &mut ib, 12 + 100);
    assert_eq!(walk(&d, &ib).0, before);
}

// ---------------------------------------------------------------------------
// Round trips against a model

/// Checks every lookup from `0..limit` against `model`: each run is of one
/// kind, maximal up to `max` and the array's end, a boundary exactly there.
fn check_lookups(d: &Disk, ib: &[u32; N_BLOCKS], model: &BTreeMap<u64, u64>, limit: u64) {
    let p = d.p();
    let at = |l: u64| model.get(&l).copied();
    for lblk in 0..limit {
        for max in [1, 7, 100_000] {
            let m = lookup(&d.fs, ib, d, lblk, max).unwrap();
            let left = BlockPath::new(lblk, p).unwrap().left_in_last(p);
            assert_eq!(m.lblk, lblk);
            assert!(m.len >= 1 && m.len <= max.min(left), "{m:?}");
            for i in 0..m.len {
                assert_eq!(m.pblk_of(lblk + i), at(lblk + i), "{m:?}");
            }
            let next = lblk + m.len;
            if m.len < max.min(left) {
                let continues = match (at(lblk), at(next)) {
                    (None, None) => true,
                    (Some(first), Some(n)) => n == first + m.len,
                    _ => false,
                };
                assert!(!continues, "run {m:?} stopped early");
            }
            if let MapKind::Mapped { boundary, .. } = m.kind {
                assert_eq!(boundary, m.len == left, "{m:?}");
            }
        }
    }
}

#[test]
fn sparse_allocations_and_truncations_agree_with_a_model() {
    for bs in [1024u64, 4096] {
        let d = Disk::new(bs);
        let p = d.p();
        let free = d.free_count();
        let mut ib = [0u32; N_BLOCKS];
        let mut model = BTreeMap::new();
        let mut rng = Rng(bs);
        let limit = 12 + p + 3 * p;
        let mut goal = d.goal();
        for _ in 0..60 {
            let lblk = rng.below(limit);
            let max = 1 + rng.below(40);
            let a = allocate(&d.fs, &mut ib, &d, lblk, max, &goal).unwrap();
            let m = a.mapping;
            if m.new {
                for i in 0..m.len {
                    assert!(model
                        .insert(lblk + i, m.pblk_of(lblk + i).unwrap())
                        .is_none());
                }
                goal.last = Some((lblk + m.len - 1, m.pblk_of(lblk + m.len - 1).unwrap()));
            } else {
                assert_eq!(m.pblk_of(lblk), model.get(&lblk).copied());
            }
        }
        assert_eq!(check_consistent(&d, &ib), model);
        check_lookups(&d, &ib, &model, limit + 5);
        for from in [limit - 100, 12 + p + 2 * p + 1, 12 + p + 17, 100, 9, 0] {
            truncate_and_check(&d, &mut ib, from);
            model.retain(|&l, _| l < from);
            check_lookups(&d, &ib, &model, from.min(300) + 20);
        }
        assert_eq!(d.free_count(), free);
    }
}
