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
/// Its bytes live in the block device's page cache, which can be written
/// through the device while the filesystem is mounted
/// (CONFIG_BLK_DEV_WRITE_MOUNTED). So they are untrusted input that may
/// change under us: they are never lent out as a slice (a `&[u8]` promises
/// bytes that do not change), only copied out ([`BufferHead::read`],
/// [`BufferHead::le32s`]), and every parser checks the copy it holds.
///
/// # Invariants
///
/// `self.bh` points to an uptodate buffer_head of `self.size` bytes on which
/// this object holds one reference (dropped with `brelse`).
pub(crate) struct BufferHead {
    bh: NonNull<bindings::buffer_head>,
    size: usize,
}

// SAFETY: a referenced buffer_head may be released from any thread.
unsafe impl Send for BufferHead {}
// SAFETY: the refcount is atomic, and `&self` methods only copy bytes out.
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

    /// Copies bytes `off..off + dst.len()` of the block into `dst`; `EINVAL`
    /// if that range is not inside the block.
    pub(crate) fn read(&self, off: usize, dst: &mut [u8]) -> Result {
        let end = off.checked_add(dst.len()).ok_or(EINVAL)?;
        if end > self.size {
            return Err(EINVAL);
        }
        // SAFETY: the buffer is referenced and uptodate, `size` bytes long
        // (type invariant), and `off..end` lies inside it; `dst` is ours.
        // The helper's memcpy reads the bytes as the C side does, once.
        unsafe {
            ffi_ext::rmpage_bh_copy(self.bh.as_ptr(), off, dst.as_mut_ptr().cast(), dst.len())
        };
        Ok(())
    }

    /// The little-endian `u32`s of the block from byte `off` to its end
    /// (an array of block pointers), copied out a few at a time.
    pub(crate) fn le32s(&self, off: usize) -> Le32s<'_> {
        Le32s {
            bh: self,
            next: off.min(self.size),
            buf: [0; LE32_CHUNK],
            pos: 0,
            len: 0,
        }
    }
}

/// Bytes [`Le32s`] copies out at once.
const LE32_CHUNK: usize = 128;

/// Iterator over the little-endian `u32`s of a [`BufferHead`].
pub(crate) struct Le32s<'a> {
    bh: &'a BufferHead,
    /// Block offset of the first byte not copied yet.
    next: usize,
    buf: [u8; LE32_CHUNK],
    /// Next byte of `buf` to hand out, and bytes valid in it.
    pos: usize,
    len: usize,
}

impl Iterator for Le32s<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.pos + 4 > self.len {
            let n = (self.bh.size - self.next).min(LE32_CHUNK) & !3;
            if n == 0 || self.bh.read(self.next, &mut self.buf[..n]).is_err() {
                return None;
            }
            self.next += n;
            self.pos = 0;
            self.len = n;
        }
        let b = &self.buf[self.pos..self.pos + 4];
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
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
