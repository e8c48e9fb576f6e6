// SPDX-License-Identifier: GPL-2.0

//! rmpage: the kernel's multi-page block I/O engine (fs/mpage.c) in Rust,
//! serving the ext2-compatible filesystem `rext2`.
//!
//! - [`mpage`]: the engine, which knows no on-disk format;
//! - [`ext2`]: the format, read-only;
//! - `rust_bindings` (`rust-bindings/`): the kernel abstractions, the only
//!   place with `unsafe` code.

use kernel::prelude::*;

#[path = "../rust-bindings/lib.rs"]
pub(crate) mod rust_bindings;

#[deny(unsafe_code)]
mod ext2;
#[deny(unsafe_code)]
mod mpage;

module! {
    type: Rmpage,
    name: "rmpage",
    authors: ["rmpage developers"],
    description: "fs/mpage.c in Rust, serving the ext2-compatible rext2",
    license: "GPL",
    params: {
        large_folios: bool {
            default: true,
            description: "Let regular files use large folios in the page cache",
        },
        debug_filled_block: i64 {
            default: -1,
            description: "Testing: the block mapper says it already filled this logical block",
        },
        debug_nobh: bool {
            default: false,
            description: "Testing: written folios give up their buffer_heads, so writeback maps them",
        },
    },
}

/// Which engine reads file data on a mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// rmpage's own engine ([`mpage`]).
    Rust,
    /// The kernel's C fs/mpage.c, for side-by-side comparison.
    C,
}

impl Engine {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Engine::Rust => "rust",
            Engine::C => "c",
        }
    }
}

/// The `engine=` module parameter, read at each mount. An unknown value
/// falls back to the Rust engine, with a warning.
pub(crate) fn engine_param() -> Engine {
    match rust_bindings::engine_param() {
        Some(1) => Engine::C,
        Some(0) => Engine::Rust,
        _ => {
            pr_warn!("rext2: engine parameter is neither rust nor c; using rust\n");
            Engine::Rust
        }
    }
}

/// rext2's `struct file_system_type` (static, for lockdep's sake).
static REXT2_TYPE: rust_bindings::fs::FileSystemType = rust_bindings::fs::FileSystemType::new();

/// The `large_folios=` module parameter. Off, every folio is one page and
/// the engine follows fs/mpage.c to the letter, including its buffer_head
/// fallbacks; on (the default), readahead may use large folios, and a large
/// folio that fs/mpage.c would hand to buffer_heads is read in pieces.
pub(crate) fn large_folios_param() -> bool {
    module_parameters::large_folios.value()
}

/// The `debug_filled_block=` module parameter: for testing the engine's
/// rarely used path where a mapper returns data it filled itself (fs/mpage.c
/// once crashed there), the ext2 mapper claims to have filled this logical
/// block of every file. Off (`-1`) by default.
pub(crate) fn debug_filled_block() -> Option<u64> {
    u64::try_from(module_parameters::debug_filled_block.value()).ok()
}

/// The `debug_nobh=` module parameter: for testing the engine's write path
/// for folios without buffers (mapped through the mapper at writeback, and
/// a mapper error there, mpage pitfall 15), which rext2 never takes
/// otherwise since write_begin and page_mkwrite attach mapped buffers, a
/// folio a write leaves uptodate gives them up, as ext2's old `nobh` mode
/// did. Off by default.
pub(crate) fn debug_nobh() -> bool {
    module_parameters::debug_nobh.value()
}

struct Rmpage {
    // Dropped in order: no new mounts, then the debugfs root.
    _fs: rust_bindings::fs::Registration<ext2::Rext2>,
    _debugfs: rust_bindings::debugfs::Root,
}

impl kernel::Module for Rmpage {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let debugfs = rust_bindings::debugfs::Root::new(c"rext2");
        let fs = rust_bindings::fs::Registration::new(&REXT2_TYPE, module)?;
        pr_info!("registered rext2\n");
        Ok(Self {
            _fs: fs,
            _debugfs: debugfs,
        })
    }
}

impl Drop for Rmpage {
    fn drop(&mut self) {
        pr_info!("unregistering rext2\n");
    }
}
