// SPDX-License-Identifier: GPL-2.0

//! Host tests for the parts of rmpage that do not depend on the kernel:
//! the read engine's decisions (`src/mpage/plan.rs`) and the ext2 on-disk
//! format (`src/ext2/format.rs`). The files are compiled as they are, so
//! their `pub(crate)` items are reachable from the test modules below.

// The kernel module uses items these tests leave alone.
#![allow(dead_code)]

#[path = "../../../src/mpage/plan.rs"]
mod plan;

#[path = "../../../src/ext2/format.rs"]
mod format;

#[cfg(test)]
mod plan_tests;

#[cfg(test)]
mod format_tests;
