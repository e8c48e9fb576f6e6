// SPDX-License-Identifier: GPL-2.0

//! Host tests for the parts of rmpage that do not depend on the kernel: the
//! engine's decisions (`src/mpage/`) and the ext2 format and allocation
//! logic (`src/ext2/`). The files are compiled as they are. They sit at the
//! top of this crate, so that `super::x` in them names a sibling file as it
//! does in the kernel crate, and `crate::mpage` and `crate::ext2` re-export
//! them, so that `crate::` paths resolve as they do there too.

// The kernel module uses items these tests leave alone, and the re-exports
// below serve the test modules only.
#![allow(dead_code, unused_imports)]

#[path = "../../../src/mpage/mapping.rs"]
mod mapping;
#[path = "../../../src/mpage/plan.rs"]
mod plan;
#[path = "../../../src/mpage/write_begin.rs"]
mod write_begin;
#[path = "../../../src/mpage/write_plan.rs"]
mod write_plan;

#[path = "../../../src/ext2/balloc.rs"]
mod balloc;
#[path = "../../../src/ext2/blockmap.rs"]
mod blockmap;
#[path = "../../../src/ext2/dirent.rs"]
mod dirent;
#[path = "../../../src/ext2/format.rs"]
mod format;
#[path = "../../../src/ext2/ialloc.rs"]
mod ialloc;

/// `src/mpage/`, as the kernel crate names it.
mod mpage {
    pub(crate) use super::{mapping, plan, write_begin, write_plan};
}

/// `src/ext2/`, as the kernel crate names it.
mod ext2 {
    pub(crate) use super::{balloc, blockmap, dirent, format, ialloc};
}

#[cfg(test)]
mod plan_tests;

#[cfg(test)]
mod write_plan_tests;

#[cfg(test)]
mod write_begin_tests;

#[cfg(test)]
mod format_tests;

#[cfg(test)]
mod balloc_tests;

#[cfg(test)]
mod blockmap_tests;

#[cfg(test)]
mod rng;

#[cfg(test)]
mod dirent_tests;

#[cfg(test)]
mod ialloc_tests;
