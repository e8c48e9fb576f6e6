// SPDX-License-Identifier: GPL-2.0

//! Per-mount counters of the read engine.

use crate::rust_bindings::bio::ReadCompletion;
use core::fmt;
use kernel::{
    error::Error,
    sync::atomic::{Atomic, Relaxed},
    sync::Arc,
};

/// What the engine did on one mount. Counters only grow; they are read
/// without locking, each on its own.
pub(crate) struct Stats {
    /// Bios submitted.
    pub(crate) bios: Atomic<u64>,
    /// Folios sent to disk in those bios.
    pub(crate) folios: Atomic<u64>,
    /// Bytes those bios read.
    pub(crate) bytes: Atomic<u64>,
    /// Folios made only of holes: zeroed, no I/O.
    pub(crate) hole_folios: Atomic<u64>,
    /// Folios handed to the buffer_head path.
    pub(crate) fallbacks: Atomic<u64>,
    /// Large folios read in pieces (discontiguous, or holes before data),
    /// where fs/mpage.c would use the buffer_head path.
    pub(crate) split_folios: Atomic<u64>,
    /// Bios submitted early at a BH_Boundary.
    pub(crate) boundary_submits: Atomic<u64>,
    /// Calls to the block mapper.
    pub(crate) map_calls: Atomic<u64>,
    /// Bios that completed with an error, plus folios failed by a mapping
    /// error (ours, or the buffer_head path's).
    pub(crate) read_errors: Atomic<u64>,
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
        }
    }

    pub(crate) fn inc(counter: &Atomic<u64>, n: u64) {
        counter.add(n, Relaxed);
    }

    /// The counters, named.
    pub(crate) fn snapshot(&self) -> [(&'static str, u64); 9] {
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
        ]
    }
}

impl ReadCompletion for Stats {
    fn read_done(&self, error: Option<Error>) {
        if error.is_some() {
            Stats::inc(&self.read_errors, 1);
        }
    }
}

/// What `/sys/kernel/debug/rext2/<device>/stats` shows: one `name value`
/// line per counter, then the average bio size in bytes.
pub(crate) struct StatsView {
    pub(crate) engine: &'static str,
    pub(crate) stats: Arc<Stats>,
}

impl fmt::Debug for StatsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "engine {}", self.engine)?;
        let snap = self.stats.snapshot();
        for (name, value) in snap {
            writeln!(f, "{name} {value}")?;
        }
        let (bios, bytes) = (snap[0].1, snap[2].1);
        writeln!(f, "avg_bio_bytes {}", bytes.checked_div(bios).unwrap_or(0))
    }
}
