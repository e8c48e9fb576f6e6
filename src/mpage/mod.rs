// SPDX-License-Identifier: GPL-2.0

//! rmpage's multi-page read engine: fs/mpage.c's `mpage_read_folio` and
//! `mpage_readahead` in Rust.
//!
//! The engine knows nothing about any on-disk format. A filesystem gives it a
//! [`Mapper`] (logical block → run of device blocks or a hole, like ext4's
//! `ext4_map_blocks`) and the locked folios to read; the engine builds the
//! largest bios it can, zeroes holes and the tail past EOF, and hands the
//! folios it cannot read in one piece to the buffer_head path.

pub(crate) mod engine;
pub(crate) mod plan;
pub(crate) mod stats;

pub(crate) use engine::{read_folio, readahead, Mapper, ReadTarget};
pub(crate) use stats::{Stats, StatsView};
