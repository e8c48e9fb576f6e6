// SPDX-License-Identifier: GPL-2.0

//! Buffer heads: metadata blocks read through the block device's page cache,
//! and the mapping result a `get_block` callback fills in.
//!
//! C header: [`include/linux/buffer_head.h`](srctree/include/linux/buffer_head.h).

use super::ffi_ext;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{bindings, prelude::*, types::Opaque};

/// A block read from the device, held in the buffer cache (`sb_bread`).
///
/// Its bytes live in the block device's page cache, which can be written
/// through the device while the filesystem is mounted
/// (CONFIG_BLK_DEV_WRITE_MOUNTED). So they are untrusted input that may
/// change under us: they are never lent out as a slice (a `&[u8]` promises
/// bytes that do not change), only copied out ([`BufferHead::read`],
/// [`BufferHead::read_le32s`]), and every parser checks the copy it holds.
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

    /// Stores `words` as little-endian 32-bit words into the block from
    /// word `index` on (`EINVAL` if they do not fit); the caller marks the
    /// buffer dirty, as for [`BufferHead::write`].
    pub(crate) fn write_le32s(&self, index: usize, words: &[u32]) -> Result {
        let (off, len) = word_span(index, words.len())?;
        if off + len > self.size {
            return Err(EINVAL);
        }
        // On disk order: a little-endian CPU stores the words as they are.
        let mut chunk = [0u32; 16];
        for (chunk_no, part) in words.chunks(chunk.len()).enumerate() {
            let bytes = if cfg!(target_endian = "little") {
                part
            } else {
                for (dst, word) in chunk.iter_mut().zip(part) {
                    *dst = word.to_le();
                }
                &chunk[..part.len()]
            };
            let at = off + chunk_no * chunk.len() * 4;
            // SAFETY: as in `write`: `at..at + 4 * part.len()` lies inside
            // `off..off + len`, checked above.
            unsafe {
                ffi_ext::rmpage_bh_store(
                    self.bh.as_ptr(),
                    at,
                    bytes.as_ptr().cast(),
                    part.len() * 4,
                )
            };
        }
        Ok(())
    }

    /// The buffer of block `block`, just allocated to the filesystem: never
    /// read from disk (whatever is there is stale), filled with zeroes and
    /// marked uptodate, for the caller to build new metadata in.
    ///
    /// # Safety
    ///
    /// As for [`BufferHead::bread`].
    pub(crate) unsafe fn new_zeroed(sb: *mut bindings::super_block, block: u64) -> Result<Self> {
        // SAFETY: guaranteed by the caller.
        let bh = unsafe { ffi_ext::rmpage_sb_getblk_zeroed(sb.cast(), block) };
        let bh = NonNull::new(bh).ok_or(ENOMEM)?;
        // SAFETY: `bh` is a valid buffer_head we hold a reference on.
        let size = unsafe { ffi_ext::rmpage_bh_size(bh.as_ptr()) };
        // INVARIANT: the helper marked it uptodate, and we hold a reference.
        Ok(Self { bh, size })
    }

    /// Copies `src` into the block at `off` (`EINVAL` if it does not fit).
    /// The caller marks the buffer dirty once its change is complete.
    ///
    /// Writers of one block serialise on the filesystem's own locks (the
    /// block map's, the allocator's, the inode table's); readers only copy
    /// bytes out, so a racing reader sees old or new bytes, never a torn
    /// object that it trusts (every parser checks what it reads).
    pub(crate) fn write(&self, off: usize, src: &[u8]) -> Result {
        let end = off.checked_add(src.len()).ok_or(EINVAL)?;
        if end > self.size {
            return Err(EINVAL);
        }
        // SAFETY: the buffer is referenced and uptodate, `size` bytes long
        // (type invariant), and `off..end` lies inside it.
        unsafe { ffi_ext::rmpage_bh_store(self.bh.as_ptr(), off, src.as_ptr().cast(), src.len()) };
        Ok(())
    }

    /// Marks the buffer dirty: the block device's writeback (or sync) writes
    /// it.
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: the buffer is referenced (type invariant).
        unsafe { ffi_ext::mark_buffer_dirty(self.bh.as_ptr().cast()) };
    }

    /// Marks the buffer dirty as metadata of `inode`: its fsync writes it
    /// too (`mmb_mark_buffer_dirty`).
    pub(crate) fn mark_dirty_for(&self, inode: &MetadataBuffers) {
        // SAFETY: the buffer is referenced (type invariant) and the list is
        // initialised and lives as long as its inode (its invariant).
        unsafe { ffi_ext::mmb_mark_buffer_dirty(self.bh.as_ptr().cast(), inode.as_ptr()) };
    }

    /// Writes the buffer now if it is dirty, and waits: `EIO` if that write
    /// failed, or an earlier one did that nobody has reported yet (the
    /// block was written behind our back by the device's writeback, and
    /// `BH_Write_EIO` stayed on it).
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: the buffer is referenced (type invariant).
        let ret = unsafe { ffi_ext::sync_dirty_buffer(self.bh.as_ptr().cast()) };
        // SAFETY: as above; the flag is read and cleared atomically.
        let earlier = unsafe {
            let failed = ffi_ext::rmpage_bh_write_io_error(self.bh.as_ptr());
            if failed {
                ffi_ext::rmpage_bh_clear_write_io_error(self.bh.as_ptr());
            }
            failed
        };
        kernel::error::to_result(ret)?;
        if earlier {
            return Err(EIO);
        }
        Ok(())
    }
}

impl Drop for BufferHead {
    fn drop(&mut self) {
        // SAFETY: we hold one reference (type invariant) and give it up.
        unsafe { ffi_ext::rmpage_brelse(self.bh.as_ptr()) };
    }
}

/// Byte offset and length of `count` 32-bit words from word `index`.
pub(crate) fn word_span(index: usize, count: usize) -> Result<(usize, usize)> {
    let off = index.checked_mul(4).ok_or(EINVAL)?;
    let len = count.checked_mul(4).ok_or(EINVAL)?;
    off.checked_add(len).ok_or(EINVAL)?;
    Ok((off, len))
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
    /// built so far should be submitted first; `new` that the blocks were
    /// allocated just now (BH_New: the caller zeroes what it does not write,
    /// and cleans stale aliases from the device's cache).
    pub(crate) fn map(&mut self, pblk: u64, bytes: usize, boundary: bool, new: bool) {
        // SAFETY: valid for 'a (type invariant); map_bh only fills fields.
        unsafe {
            ffi_ext::rmpage_bh_map(self.bh.as_ptr(), self.sb.cast(), pblk, bytes, boundary, new)
        };
    }
}

/// The dirty metadata buffers an inode's fsync must write besides the inode
/// itself (indirect blocks): `struct mapping_metadata_bhs`.
///
/// # Invariants
///
/// The list is initialised (`mmb_init`) for the inode that owns it, and
/// lives as long as that inode; it is pinned, since buffers link into it.
#[repr(transparent)]
pub(crate) struct MetadataBuffers(Opaque<bindings::mapping_metadata_bhs>);

impl MetadataBuffers {
    /// An initialiser for the list of the inode whose page cache is
    /// `mapping`.
    ///
    /// # Safety
    ///
    /// `mapping` is the `i_data` of the inode that will own the list, and
    /// stays valid as long as the list.
    pub(crate) unsafe fn new(mapping: *mut bindings::address_space) -> impl PinInit<Self> {
        // SAFETY: `Opaque` is transparent; mmb_init initialises the slot,
        // which is pinned where it lives (the inode's private box).
        unsafe {
            pin_init::pin_init_from_closure(move |slot: *mut Self| {
                ffi_ext::mmb_init(slot.cast(), mapping.cast());
                Ok(())
            })
        }
    }

    fn as_ptr(&self) -> *mut bindings::mapping_metadata_bhs {
        self.0.get()
    }

    /// Writes every buffer on the list and waits: the first write error.
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: initialised (type invariant).
        let ret = unsafe { ffi_ext::mmb_sync(self.as_ptr()) };
        kernel::error::to_result(ret)
    }

    /// Empties the list without writing (the inode is going away; the
    /// buffers stay dirty in the device's cache).
    pub(crate) fn invalidate(&self) {
        // SAFETY: initialised (type invariant).
        unsafe { ffi_ext::mmb_invalidate(self.as_ptr()) };
    }
}
