// SPDX-License-Identifier: GPL-2.0

//! Super blocks, in two states: being filled (`fill_super`) and mounted.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).

use super::{bio::BlockDevice, buffer_head::BufferHead, ffi_ext, fs::FileSystem, inode::Inode};
use core::marker::PhantomData;
use kernel::{bindings, prelude::*, sync::aref::ARef, types::Opaque};

/// Typestate: the super_block is being set up by `fill_super`; its
/// filesystem data does not exist yet.
pub(crate) struct New;
/// Typestate: the super_block is mounted and its data is set.
pub(crate) struct Ready;

/// A mounted (or mounting) filesystem instance: `struct super_block`.
///
/// # Invariants
///
/// The wrapped super_block is valid, belongs to filesystem type `T`, has its
/// block device open, and, in state [`Ready`], has `s_fs_info` pointing to a
/// `T::Data` created by [`FileSystem::fill_super`] that lives until `kill_sb`.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem, S = Ready>(
    Opaque<bindings::super_block>,
    PhantomData<(T, S)>,
);

impl<T: FileSystem, S> SuperBlock<T, S> {
    /// # Safety
    ///
    /// `ptr` points to a super_block of type `T` that satisfies the type
    /// invariants for state `S` during `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; validity is the
        // caller's guarantee.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The block device the filesystem lives on.
    pub(crate) fn bdev(&self) -> BlockDevice<'_> {
        // SAFETY: the device stays open as long as the super_block (type
        // invariant).
        unsafe { BlockDevice::from_raw((*self.as_ptr()).s_bdev) }
    }

    /// Reads block `block` of the device through the buffer cache.
    pub(crate) fn bread(&self, block: u64) -> Result<BufferHead> {
        // SAFETY: valid super_block with its device open and a block size
        // (fill_super sets one before reading, sb_min_blocksize otherwise).
        unsafe { BufferHead::bread(self.as_ptr(), block) }
    }

    /// Copies little-endian 32-bit words `index..index + out.len()` of block
    /// `block` (an indirect block's pointers) into `out`, in CPU order: a
    /// [`SuperBlock::bread`], a copy and a release in one call into C, for
    /// the block map's lookups. `EINVAL` if the words are not inside the
    /// block.
    pub(crate) fn read_le32s(&self, block: u64, index: usize, out: &mut [u32]) -> Result {
        let (off, len) = super::buffer_head::word_span(index, out.len())?;
        // SAFETY: valid super_block with its device open and a block size,
        // as for `bread`; `out` is ours, `len` bytes long, and any bytes are
        // a valid `u32`. The helper copies only bytes inside the block.
        let ret = unsafe {
            ffi_ext::rmpage_sb_read_bytes(
                self.as_ptr().cast(),
                block,
                off,
                out.as_mut_ptr().cast(),
                len,
            )
        };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        for word in out.iter_mut() {
            *word = u32::from_le(*word);
        }
        Ok(())
    }

    /// Little-endian word `index` of block `block`: [`SuperBlock::read_le32s`]
    /// for one word, without the copy (a block map pointer, read at each
    /// level of every lookup). `EINVAL` if the word is not inside the block.
    pub(crate) fn read_le32(&self, block: u64, index: usize) -> Result<u32> {
        let mut word = 0u32;
        let sb = self.as_ptr().cast();
        // SAFETY: `sb` is valid, its device open, as for `bread`; `word` is
        // ours; the helper reads only a word inside the block.
        let ret = unsafe { ffi_ext::rmpage_sb_read_le32(sb, block, index, &mut word) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(word)
    }

    /// The buffer of block `block`, just allocated: zeroes, never read from
    /// disk.
    pub(crate) fn new_block(&self, block: u64) -> Result<BufferHead> {
        // SAFETY: as for bread.
        unsafe { BufferHead::new_zeroed(self.as_ptr(), block) }
    }

    /// Forgets the cached buffer of freed block `block`, dirty or not: it
    /// must never be written over the block's next owner.
    pub(crate) fn forget_block(&self, block: u64) {
        // SAFETY: valid super_block with its device open.
        unsafe { ffi_ext::rmpage_forget_block(self.as_ptr().cast(), block) };
    }

    /// Turns the mount read-only from now on, after corruption was found
    /// (ext2's errors=remount-ro): nothing more is written.
    pub(crate) fn set_read_only(&self) {
        // SAFETY: the super_block is valid (type invariant); setting the
        // flag is what the C filesystems do on errors.
        unsafe { ffi_ext::rmpage_sb_set_rdonly(self.as_ptr().cast()) };
    }

    /// Whether the filesystem is mounted (or being mounted) read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: the super_block is valid (type invariant).
        unsafe { ffi_ext::rmpage_sb_rdonly(self.as_ptr().cast()) }
    }

    /// The device name, for messages.
    pub(crate) fn id(&self) -> &CStr {
        // SAFETY: `s_id` is a NUL-terminated array inside the super_block.
        unsafe { CStr::from_char_ptr((*self.as_ptr()).s_id.as_ptr()) }
    }
}

impl<T: FileSystem> SuperBlock<T, New> {
    /// Sets the block size used by [`SuperBlock::bread`] and the page cache.
    /// Fails with `EINVAL` if the device cannot do it (a size that is not a
    /// power of two, smaller than its logical block size, or larger than a
    /// page).
    pub(crate) fn set_block_size(&self, size: u32) -> Result {
        // SAFETY: the super_block is being filled, so nothing reads through
        // it concurrently.
        let got = unsafe { bindings::sb_set_blocksize(self.as_ptr(), size as c_int) };
        if got as u32 == size {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }
}

impl<T: FileSystem> SuperBlock<T, Ready> {
    /// The filesystem's per-mount data.
    pub(crate) fn data(&self) -> &T::Data {
        // SAFETY: in state Ready, `s_fs_info` points to a `T::Data` that lives
        // as long as the super_block (type invariant).
        unsafe { &*(*self.as_ptr()).s_fs_info.cast::<T::Data>() }
    }

    /// Gets inode `ino`, reading it with [`FileSystem::read_inode`] if it is
    /// not in the inode cache.
    pub(crate) fn iget(&self, ino: u64) -> Result<ARef<Inode<T>>> {
        Inode::<T>::iget(self, ino)
    }
}
