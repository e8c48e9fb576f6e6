// SPDX-License-Identifier: GPL-2.0

//! Tests of `write_begin`'s decisions (`src/mpage/write_begin.rs`), checked
//! against fs/buffer.c's `__block_write_begin_int`: every kind of buffer
//! (new, on disk and uptodate or not), in folios that are uptodate or not,
//! written whole, in part, or across blocks.

use crate::mpage::write_begin::{
    blocks_to_map, prepare_buffer, shortened_end, PrepareBuffer, PrepareState,
};

const NEW: PrepareState = PrepareState {
    new: true,
    uptodate: false,
};
const ON_DISK: PrepareState = PrepareState {
    new: false,
    uptodate: false,
};
const CACHED: PrepareState = PrepareState {
    new: false,
    uptodate: true,
};

#[test]
fn a_new_block_wholly_written_needs_nothing() {
    assert_eq!(
        prepare_buffer(0..4096, &(0..4096), false, NEW),
        PrepareBuffer::Keep
    );
    assert_eq!(
        prepare_buffer(4096..8192, &(100..9000), false, NEW),
        PrepareBuffer::Keep
    );
}

#[test]
fn a_new_block_written_in_part_is_zeroed_around_the_write() {
    // The write starts inside the block and ends past it.
    assert_eq!(
        prepare_buffer(0..1024, &(100..5000), false, NEW),
        PrepareBuffer::ZeroAround {
            head: 0..100,
            tail: 1024..1024,
        }
    );
    // It ends inside the block.
    assert_eq!(
        prepare_buffer(4096..8192, &(0..5000), false, NEW),
        PrepareBuffer::ZeroAround {
            head: 4096..4096,
            tail: 5000..8192,
        }
    );
    // Both, within one block.
    assert_eq!(
        prepare_buffer(2048..3072, &(2100..2200), false, NEW),
        PrepareBuffer::ZeroAround {
            head: 2048..2100,
            tail: 2200..3072,
        }
    );
}

#[test]
fn a_new_block_under_an_uptodate_folio_keeps_the_folios_bytes() {
    for write in [0..4096, 100..200] {
        assert_eq!(
            prepare_buffer(0..4096, &write, true, NEW),
            PrepareBuffer::CommitNew
        );
    }
}

#[test]
fn a_block_on_disk_is_read_only_when_written_in_part() {
    assert_eq!(
        prepare_buffer(0..1024, &(10..1024), false, ON_DISK),
        PrepareBuffer::Read
    );
    assert_eq!(
        prepare_buffer(0..1024, &(0..1000), false, ON_DISK),
        PrepareBuffer::Read
    );
    assert_eq!(
        prepare_buffer(0..1024, &(0..1024), false, ON_DISK),
        PrepareBuffer::Keep
    );
    // Its bytes are in memory already: nothing to read.
    assert_eq!(
        prepare_buffer(0..1024, &(10..20), false, CACHED),
        PrepareBuffer::Keep
    );
    // The folio is uptodate: the buffer takes its word for it.
    assert_eq!(
        prepare_buffer(0..1024, &(10..20), true, ON_DISK),
        PrepareBuffer::MarkUptodate
    );
    assert_eq!(
        prepare_buffer(0..1024, &(10..20), true, CACHED),
        PrepareBuffer::Keep
    );
}

#[test]
fn the_mapper_is_asked_for_every_block_to_the_writes_end() {
    // 1 KiB blocks: a write of 5000..70000 in a 64 KiB folio.
    let write = 5000..70000;
    assert_eq!(blocks_to_map(4096, &write, 10), 65);
    assert_eq!(blocks_to_map(68 * 1024, &write, 10), 1);
    // 4 KiB blocks, a whole 1 MiB folio.
    assert_eq!(blocks_to_map(0, &(0..1 << 20), 12), 256);
    // The last block, written in part, is asked for alone.
    assert_eq!(blocks_to_map(4096, &(0..4097), 12), 1);
}

#[test]
fn a_write_that_runs_out_of_blocks_midway_ends_there() {
    // 4 KiB blocks, a 1 MiB write into a new large folio; the disk had 100
    // blocks: the write keeps them and ends at the 101st.
    assert_eq!(
        shortened_end(&(0..1 << 20), 100 << 12, false),
        Some(100 << 12)
    );
    // It began inside a block (read or zeroed around by then).
    assert_eq!(shortened_end(&(5000..1 << 20), 8192, false), Some(8192));
}

#[test]
fn a_write_that_gets_no_block_fails_whole() {
    // Its first block could not be had: nothing to keep.
    assert_eq!(shortened_end(&(0..1 << 20), 0, false), None);
    assert_eq!(shortened_end(&(5000..1 << 20), 4096, false), None);
}

#[test]
fn a_write_over_valid_bytes_past_the_failure_fails_whole() {
    // The bytes copied past the failure would replace valid ones (an
    // uptodate folio, or a hole already read as zeroes) without being
    // committed or written: nothing could restore them.
    assert_eq!(shortened_end(&(0..1 << 20), 100 << 12, true), None);
}

#[test]
fn a_failure_at_the_writes_end_is_not_a_shorter_write() {
    assert_eq!(shortened_end(&(0..8192), 8192, false), None);
}
