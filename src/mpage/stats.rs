// SPDX-License-Identifier: GPL-2.0

//! Per-mount counters of the engine, read and write side by side.

use crate::rust_bindings::bio::BioCompletion;
use core::fmt;
use kernel::{
    error::Error,
    sync::atomic::{Atomic, Relaxed},
    sync::Arc,
};

/// What the engine did on one mount. Counters only grow; they are read
/// without locking, each on its own.
pub(crate) struct Stats {
    /// Read bios submitted.
    pub(crate) bios: Atomic<u64>,
    /// Folios sent to disk in those bios.
    pub(crate) folios: Atomic<u64>,
    /// Bytes those bios read.
    pub(crate) bytes: Atomic<u64>,
    /// Folios made only of holes: zeroed, no I/O.
    pub(crate) hole_folios: Atomic<u64>,
    /// Folios handed to the buffer_head read path.
    pub(crate) fallbacks: Atomic<u64>,
    /// Large folios read in pieces (discontiguous, or holes before data),
    /// where fs/mpage.c would use the buffer_head path.
    pub(crate) split_folios: Atomic<u64>,
    /// Read bios submitted early at a BH_Boundary.
    pub(crate) boundary_submits: Atomic<u64>,
    /// Calls to the block mapper for reads.
    pub(crate) map_calls: Atomic<u64>,
    /// Read bios that completed with an error, plus folios failed by a
    /// mapping error (ours, or the buffer_head path's).
    pub(crate) read_errors: Atomic<u64>,
    /// Write bios submitted.
    pub(crate) write_bios: Atomic<u64>,
    /// Folios in those bios.
    pub(crate) write_folios: Atomic<u64>,
    /// Bytes those bios wrote.
    pub(crate) write_bytes: Atomic<u64>,
    /// Folios handed to the buffer_head write path.
    pub(crate) write_fallbacks: Atomic<u64>,
    /// Large folios written in pieces.
    pub(crate) write_split_folios: Atomic<u64>,
    /// Write bios submitted at a BH_Boundary (the indirect block after them
    /// started right behind).
    pub(crate) write_boundary_submits: Atomic<u64>,
    /// Calls to the block mapper for writes (folios without buffers).
    pub(crate) write_map_calls: Atomic<u64>,
    /// Blocks the filesystem allocated (data and indirect).
    pub(crate) blocks_allocated: Atomic<u64>,
    /// Write bios that completed with an error, plus folios whose buffer_head
    /// write failed at once.
    pub(crate) write_errors: Atomic<u64>,
    /// Bios of either direction that filled the few segments they were made
    /// with and grew to `BIO_MAX_VECS` (write bios start small).
    pub(crate) bios_grown: Atomic<u64>,
}

/// The bios one stream has sent, summed in plain integers and added to the
/// mount's [`Stats`] once, when the stream ends: a writeback of scattered
/// folios sends a bio per folio, and three atomic adds each would cost it
/// more than the sums do.
#[derive(Default)]
pub(crate) struct SentBios {
    bios: u64,
    folios: u64,
    bytes: u64,
    grown: u64,
}

impl SentBios {
    /// Counts a bio with `folios` whole folios and `bytes` bytes in it.
    pub(crate) fn count(&mut self, folios: usize, bytes: usize) {
        self.bios += 1;
        self.folios += folios as u64;
        self.bytes += bytes as u64;
    }

    /// Counts a bio that grew ([`Stats::bios_grown`]).
    pub(crate) fn count_grown(&mut self) {
        self.grown += 1;
    }
}

impl Stats {
    pub(crate) const fn new() -> Self {
        Self {
            bios: Atomic::new(0),
            folios: Atomic::new(0),
            bytes: Atomic::new(0),
            hole_folios: Atomic::new(0),
            fallbacks: Atomic::new(0),
            split_folios: Atomic::new(0),
            boundary_submits: Atomic::new(0),
            map_calls: Atomic::new(0),
            read_errors: Atomic::new(0),
            write_bios: Atomic::new(0),
            write_folios: Atomic::new(0),
            write_bytes: Atomic::new(0),
            write_fallbacks: Atomic::new(0),
            write_split_folios: Atomic::new(0),
            write_boundary_submits: Atomic::new(0),
            write_map_calls: Atomic::new(0),
            blocks_allocated: Atomic::new(0),
            write_errors: Atomic::new(0),
            bios_grown: Atomic::new(0),
        }
    }

    pub(crate) fn inc(counter: &Atomic<u64>, n: u64) {
        counter.add(n, Relaxed);
    }

    /// Adds the bios one stream sent to the block layer, write bios if
    /// `write`.
    pub(crate) fn add_sent(&self, write: bool, sent: &SentBios) {
        if sent.grown > 0 {
            Stats::inc(&self.bios_grown, sent.grown);
        }
        if sent.bios == 0 {
            return;
        }
        let (bio_count, folio_count, byte_count) = if write {
            (&self.write_bios, &self.write_folios, &self.write_bytes)
        } else {
            (&self.bios, &self.folios, &self.bytes)
        };
        Stats::inc(bio_count, sent.bios);
        Stats::inc(folio_count, sent.folios);
        Stats::inc(byte_count, sent.bytes);
    }

    /// The counters, named.
    pub(crate) fn snapshot(&self) -> [(&'static str, u64); 19] {
        [
            ("bios", self.bios.load(Relaxed)),
            ("folios", self.folios.load(Relaxed)),
            ("bytes", self.bytes.load(Relaxed)),
            ("hole_folios", self.hole_folios.load(Relaxed)),
            ("fallbacks", self.fallbacks.load(Relaxed)),
            ("split_folios", self.split_folios.load(Relaxed)),
            ("boundary_submits", self.boundary_submits.load(Relaxed)),
            ("map_calls", self.map_calls.load(Relaxed)),
            ("read_errors", self.read_errors.load(Relaxed)),
            ("write_bios", self.write_bios.load(Relaxed)),
            ("write_folios", self.write_folios.load(Relaxed)),
            ("write_bytes", self.write_bytes.load(Relaxed)),
            ("write_fallbacks", self.write_fallbacks.load(Relaxed)),
            ("write_split_folios", self.write_split_folios.load(Relaxed)),
            (
                "write_boundary_submits",
                self.write_boundary_submits.load(Relaxed),
            ),
            ("write_map_calls", self.write_map_calls.load(Relaxed)),
            ("blocks_allocated", self.blocks_allocated.load(Relaxed)),
            ("write_errors", self.write_errors.load(Relaxed)),
            ("bios_grown", self.bios_grown.load(Relaxed)),
        ]
    }
}

impl BioCompletion for Stats {
    fn bio_failed(&self, write: bool, _error: Error) {
        let errors = if write {
            &self.write_errors
        } else {
            &self.read_errors
        };
        Stats::inc(errors, 1);
    }
}

/// What `/sys/kernel/debug/rext2/<device>/stats` shows: one `name value`
/// line per counter, then the average read and write bio sizes in bytes.
pub(crate) struct StatsView {
    pub(crate) engine: &'static str,
    pub(crate) stats: Arc<Stats>,
}

impl fmt::Debug for StatsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "engine {}", self.engine)?;
        let s = &self.stats;
        for (name, value) in s.snapshot() {
            writeln!(f, "{name} {value}")?;
        }
        let avg = |bytes: &Atomic<u64>, bios: &Atomic<u64>| {
            bytes
                .load(Relaxed)
                .checked_div(bios.load(Relaxed))
                .unwrap_or(0)
        };
        writeln!(f, "avg_bio_bytes {}", avg(&s.bytes, &s.bios))?;
        writeln!(
            f,
            "avg_write_bio_bytes {}",
            avg(&s.write_bytes, &s.write_bios)
        )
    }
}
