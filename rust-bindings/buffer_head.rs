// SPDX-License-Identifier: GPL-2.0

//! Buffer heads: metadata blocks read through the block device's page cache,
//! and the mapping result a `get_block` callback fills in.
//!
//! C header: [`include/linux/buffer_head.h`](srctree/include/linux/buffer_head.h).

use super::ffi_ext;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{bindings, prelude::*};

/// A block read from the device, held in the buffer cache (`sb_bread`).
///
/// # Invariants
///
/// `self.0` points to an uptodate buffer_head of `size` bytes on which this
/// object holds one reference (dropped with `brelse`).
pub(crate) struct BufferHead {
    bh: NonNull<bindings::buffer_head>,
    size: usize,
}

// SAFETY: a referenced buffer_head may be released from any thread.
unsafe impl Send for BufferHead {}
// SAFETY: the refcount is atomic, and we only read the data. The device may
// still be written behind our back (CONFIG_BLK_DEV_WRITE_MOUNTED), so the
// bytes are untrusted input: every parser copies values out and checks them,
// and none relies on them staying the same.
unsafe impl Sync for BufferHead {}

impl BufferHead {
    /// Reads block `block` (in units of the super_block's block size).
    ///
    /// # Safety
    ///
    /// `sb` points to a valid super_block with an open block device and a
    /// block size set.
    pub(crate) unsafe fn bread(sb: *mut bindings::super_block, block: u64) -> Result<Self> {
        // SAFETY: guaranteed by the caller.
        let bh = unsafe { ffi_ext::rmpage_sb_bread(sb.cast(), block) };
        let bh = NonNull::new(bh).ok_or(EIO)?;
        // SAFETY: `bh` is a valid buffer_head we hold a reference on.
        let size = unsafe { ffi_ext::rmpage_bh_size(bh.as_ptr()) };
        // INVARIANT: sb_bread returns uptodate buffers only, referenced.
        Ok(Self { bh, size })
    }

    /// The block's contents.
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: the buffer is referenced and uptodate, `size` bytes long,
        // and its page stays mapped (lowmem) for as long as we hold it.
        unsafe {
            core::slice::from_raw_parts(
                ffi_ext::rmpage_bh_data(self.bh.as_ptr()).cast::<u8>(),
                self.size,
            )
        }
    }
}

impl Drop for BufferHead {
    fn drop(&mut self) {
        // SAFETY: we hold one reference (type invariant) and give it up.
        unsafe { ffi_ext::rmpage_brelse(self.bh.as_ptr()) };
    }
}

/// The `bh_result` of a `get_block` call: what the C buffer_head paths
/// (`block_read_full_folio`, the C mpage engine) learn from our block mapper.
///
/// # Invariants
///
/// `self.bh` points to a buffer_head the caller of `get_block` lent us for
/// `'a`, and `self.sb` to the super_block of the inode being mapped.
pub(crate) struct MapResult<'a> {
    bh: NonNull<bindings::buffer_head>,
    sb: *mut bindings::super_block,
    _p: PhantomData<&'a mut ()>,
}

impl<'a> MapResult<'a> {
    /// # Safety
    ///
    /// `bh` is the `bh_result` of a `get_block` call in progress and `sb` the
    /// super_block of the inode it maps.
    pub(crate) unsafe fn from_raw(
        bh: *mut bindings::buffer_head,
        sb: *mut bindings::super_block,
    ) -> Self {
        Self {
            bh: NonNull::new(bh).expect("bh_result is never NULL"),
            sb,
            _p: PhantomData,
        }
    }

    /// How many bytes the caller asked to map.
    pub(crate) fn requested_bytes(&self) -> usize {
        // SAFETY: the buffer_head is valid for 'a (type invariant).
        unsafe { ffi_ext::rmpage_bh_size(self.bh.as_ptr()) }
    }

    /// Reports `bytes` mapped at device block `pblk`. `boundary` says the next
    /// block's mapping needs another metadata read (BH_Boundary), so I/O
    /// built so far should be submitted first.
    pub(crate) fn map(&mut self, pblk: u64, bytes: usize, boundary: bool) {
        // SAFETY: valid for 'a (type invariant); map_bh only fills fields.
        unsafe {
            ffi_ext::rmpage_bh_map(
                self.bh.as_ptr(),
                self.sb.cast(),
                pblk,
                bytes,
                boundary,
                false,
            )
        };
    }
}
