// SPDX-License-Identifier: GPL-2.0

//! Inodes of a Rust filesystem, and how a new one is set up.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).

use super::{
    buffer_head::MetadataBuffers,
    ffi_ext,
    folio::Folio,
    fs::{FileSystem, Tables},
    super_block::SuperBlock,
};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};

/// What kind of object an inode is, which decides its operations.
pub(crate) enum InodeKind {
    /// A regular file: data read through the filesystem's read path.
    Regular,
    /// A directory: lookup and readdir through the filesystem, its blocks
    /// read through its page cache like file data.
    Directory,
    /// A symlink whose target is stored in the inode (NUL not included).
    FastSymlink(KVec<u8>),
    /// A symlink whose target is in its data blocks, read like file data.
    SlowSymlink,
    /// A device node, FIFO or socket, with its encoded device number.
    Special(u32),
}

/// How [`FileSystem::read_inode`] describes an inode.
pub(crate) struct InodeParams<D> {
    /// Kind, which must agree with the type bits of `mode`.
    pub(crate) kind: InodeKind,
    /// Type and permission bits.
    pub(crate) mode: u16,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Link count.
    pub(crate) nlink: u32,
    /// Owner.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
    /// Times, in seconds since the epoch.
    pub(crate) atime: i64,
    /// Modification time.
    pub(crate) mtime: i64,
    /// Change time.
    pub(crate) ctime: i64,
    /// Space used, in 512-byte units.
    pub(crate) blocks: u64,
    /// Generation number (NFS).
    pub(crate) generation: u32,
    /// Use large folios in the page cache for this inode's data.
    pub(crate) large_folios: bool,
    /// The filesystem's own per-inode data (pinned: it may hold locks).
    pub(crate) data: Pin<KBox<D>>,
}

/// What `i_private` of every inode of ours points to.
#[pin_data]
pub(crate) struct InodeBox<D> {
    pub(crate) data: Pin<KBox<D>>,
    /// Target of a fast symlink, NUL-terminated: `i_link` points into it.
    link: Option<KVec<u8>>,
    /// Dirty indirect blocks of this inode, written by its fsync.
    #[pin]
    metadata: MetadataBuffers,
}

/// An inode of any filesystem, borrowed for `'a`: what a bio needs to know
/// of the file whose data it carries.
///
/// # Invariants
///
/// `self.0` points to an inode that stays valid for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct RawInode<'a>(NonNull<bindings::inode>, PhantomData<&'a ()>);

impl RawInode<'_> {
    pub(crate) fn as_ptr(&self) -> *mut bindings::inode {
        self.0.as_ptr()
    }

    /// Records a write error in the inode's mapping, where every open file
    /// finds it at its next fsync (`mapping_set_error`).
    pub(crate) fn set_mapping_error(&self, err: kernel::error::Error) {
        // SAFETY: valid inode (type invariant).
        unsafe { ffi_ext::rmpage_inode_mapping_set_error(self.as_ptr().cast(), err.to_errno()) };
    }
}

/// The on-disk fields of an inode that the VFS keeps (`write_inode`).
pub(crate) struct InodeAttrs {
    /// Type and permission bits.
    pub(crate) mode: u16,
    /// Owner.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
    /// Links.
    pub(crate) nlink: u32,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Access, modification and change times, in seconds.
    pub(crate) atime: i64,
    /// Modification time.
    pub(crate) mtime: i64,
    /// Change time.
    pub(crate) ctime: i64,
    /// Space used, in 512-byte units.
    pub(crate) blocks: u64,
    /// Generation number.
    pub(crate) generation: u32,
}

/// An inode of filesystem `T`.
///
/// # Invariants
///
/// The wrapped inode is valid, belongs to a super_block of type `T` in state
/// [`super::super_block::Ready`], and, once its `I_NEW` state is cleared, has
/// `i_private` pointing to an `InodeBox<T::InodeData>` owned by the inode and
/// freed by `free_inode`, an RCU grace period after eviction. Every
/// `&Inode<T>` handed out is of such an inode.
#[repr(transparent)]
pub(crate) struct Inode<T: FileSystem>(Opaque<bindings::inode>, PhantomData<T>);

// SAFETY: inodes are refcounted with ihold/iput, which any thread may call.
unsafe impl<T: FileSystem> AlwaysRefCounted for Inode<T> {
    fn inc_ref(&self) {
        // SAFETY: the inode is valid and we hold a reference (the `&self`).
        unsafe { bindings::ihold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up a reference it holds.
        unsafe { bindings::iput(obj.as_ptr().cast()) };
    }
}

// SAFETY: the fields we touch after setup are read-only or protected by the
// kernel's own locking; `T::InodeData` is `Send + Sync`.
unsafe impl<T: FileSystem> Send for Inode<T> {}
// SAFETY: as above.
unsafe impl<T: FileSystem> Sync for Inode<T> {}

impl<T: FileSystem> Inode<T> {
    /// # Safety
    ///
    /// `ptr` is an inode of `T`, set up (not `I_NEW`), valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Self {
        // SAFETY: transparent wrapper; validity is the caller's guarantee.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: valid inode (type invariant); `i_ino` is fixed.
        unsafe { (*self.as_ptr()).i_ino }
    }

    /// The file size in bytes (`i_size_read`).
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: valid inode (type invariant).
        unsafe { ffi_ext::rmpage_i_size_read(self.as_ptr()) as u64 }
    }

    /// log2 of the block size.
    pub(crate) fn blkbits(&self) -> u32 {
        // SAFETY: valid inode (type invariant); `i_blkbits` is fixed.
        unsafe { u32::from((*self.as_ptr()).i_blkbits) }
    }

    /// The mounted super_block this inode belongs to.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: an inode keeps its super_block alive, and ours are only
        // handed out once the super_block is Ready (type invariant).
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    fn private(&self) -> &InodeBox<T::InodeData> {
        // SAFETY: `i_private` points to our InodeBox for the inode's lifetime
        // (type invariant).
        unsafe { &*(*self.as_ptr()).i_private.cast::<InodeBox<T::InodeData>>() }
    }

    /// The filesystem's per-inode data.
    pub(crate) fn data(&self) -> &T::InodeData {
        self.private().data.as_ref().get_ref()
    }

    /// The inode's dirty metadata buffers, which its fsync writes.
    pub(crate) fn metadata_buffers(&self) -> &MetadataBuffers {
        &self.private().metadata
    }

    /// The inode as bios see it.
    pub(crate) fn raw(&self) -> RawInode<'_> {
        // INVARIANT: `self` is valid for the borrow.
        RawInode(
            NonNull::new(self.as_ptr()).expect("inode is never NULL"),
            PhantomData,
        )
    }

    /// Adds `n` blocks of `1 << blkbits` bytes to the space the inode uses
    /// (`i_blocks`, under `i_lock`).
    pub(crate) fn add_blocks(&self, n: u64) {
        let bytes = n << self.blkbits();
        // SAFETY: valid inode; inode_add_bytes takes i_lock.
        unsafe { bindings::inode_add_bytes(self.as_ptr(), bytes as bindings::loff_t) };
    }

    /// Takes `n` blocks off the space the inode uses.
    pub(crate) fn sub_blocks(&self, n: u64) {
        let bytes = n << self.blkbits();
        // SAFETY: valid inode; inode_sub_bytes takes i_lock.
        unsafe { bindings::inode_sub_bytes(self.as_ptr(), bytes as bindings::loff_t) };
    }

    /// Tells writeback the inode itself must be written (`mark_inode_dirty`).
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: valid inode.
        unsafe { ffi_ext::rmpage_mark_inode_dirty(self.as_ptr().cast()) };
    }

    /// Tells a later fsync that the inode's buffer was dirtied without being
    /// waited on, so that it waits (`set_inode_metadata_writeback`).
    pub(crate) fn set_metadata_writeback(&self) {
        // SAFETY: valid inode.
        unsafe { ffi_ext::rmpage_set_inode_metadata_writeback(self.as_ptr().cast()) };
    }

    /// The link count (`i_nlink`).
    pub(crate) fn nlink(&self) -> u32 {
        // SAFETY: valid inode; `i_nlink` is read as the C filesystems read it.
        unsafe { ffi_ext::rmpage_inode_nlink(self.as_ptr().cast()) }
    }

    /// Type and permission bits (`i_mode`).
    pub(crate) fn mode(&self) -> u16 {
        // SAFETY: valid inode; the type bits never change and the others
        // change under `i_rwsem`, as a plain store.
        unsafe { (*self.as_ptr()).i_mode }
    }

    /// Whether the inode is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        u32::from(self.mode()) & bindings::S_IFMT == bindings::S_IFDIR
    }

    /// One more link, and the inode dirtied (`inode_inc_link_count`). The
    /// caller holds the locks the VFS takes around the change of a name.
    pub(crate) fn inc_link_count(&self) {
        // SAFETY: valid inode.
        unsafe { bindings::inc_nlink(self.as_ptr()) };
        self.mark_dirty();
    }

    /// One link less, and the inode dirtied (`inode_dec_link_count`); a
    /// count already at zero stays there (`drop_nlink` would warn).
    pub(crate) fn dec_link_count(&self) {
        if self.nlink() == 0 {
            return;
        }
        // SAFETY: valid inode with a link to drop.
        unsafe { bindings::drop_nlink(self.as_ptr()) };
        self.mark_dirty();
    }

    /// Sets the change time to now, and dirties the inode.
    pub(crate) fn touch_ctime(&self) {
        // SAFETY: valid inode.
        unsafe { ffi_ext::rmpage_inode_touch_ctime(self.as_ptr().cast()) };
    }

    /// Sets the modification and change times to now, and dirties the
    /// inode: a directory whose entries changed.
    pub(crate) fn touch_mtime_ctime(&self) {
        // SAFETY: valid inode.
        unsafe { ffi_ext::rmpage_inode_touch_mtime_ctime(self.as_ptr().cast()) };
    }

    /// Sets the size (`i_size_write`) and dirties the inode. The caller
    /// holds `i_rwsem`, as every writer of `i_size` must.
    pub(crate) fn set_size_dirty(&self, size: u64) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: valid inode; the caller holds i_rwsem.
        unsafe { ffi_ext::rmpage_i_size_write(self.as_ptr().cast(), size) };
        self.mark_dirty();
    }

    /// Writes `target` as the data of a new slow symlink (`page_symlink`,
    /// through the filesystem's own `write_begin` and `write_end`).
    pub(crate) fn write_symlink_target(&self, target: &[u8]) -> Result {
        // page_symlink takes the length with a NUL and copies one byte less.
        let len = c_int::try_from(target.len() + 1)?;
        // SAFETY: valid inode with page cache operations; `target` has the
        // `len - 1` bytes page_symlink copies.
        kernel::error::to_result(unsafe {
            bindings::page_symlink(self.as_ptr(), target.as_ptr().cast(), len)
        })
    }

    /// Writes the inode's dirty page cache and the inode itself, and waits
    /// for both (`filemap_write_and_wait`, then `sync_inode_metadata`).
    pub(crate) fn write_and_wait(&self) -> Result {
        // SAFETY: valid inode with a page cache; both calls may sleep, as
        // our callers may.
        unsafe {
            kernel::error::to_result(bindings::filemap_write_and_wait_range(
                (*self.as_ptr()).i_mapping,
                0,
                i64::MAX,
            ))?;
            kernel::error::to_result(bindings::sync_inode_metadata(self.as_ptr(), 1))
        }
    }

    /// Whether changes of this directory must reach the disk before the
    /// call returns (`IS_DIRSYNC`: `-o dirsync`, or the inode's flag).
    pub(crate) fn is_dirsync(&self) -> bool {
        // SAFETY: valid inode.
        unsafe { ffi_ext::rmpage_is_dirsync(self.as_ptr().cast()) }
    }

    /// The fields `write_inode` stores on disk.
    pub(crate) fn attrs(&self) -> InodeAttrs {
        let ptr = self.as_ptr();
        let (mut uid, mut gid) = (0u32, 0u32);
        let (mut atime, mut mtime, mut ctime) = (0i64, 0i64, 0i64);
        // SAFETY: valid inode; the helpers read fields the VFS keeps, and
        // the plain fields are read as the C filesystems read them.
        unsafe {
            ffi_ext::rmpage_inode_get_owner(ptr.cast(), &mut uid, &mut gid);
            ffi_ext::rmpage_inode_get_times(ptr.cast(), &mut atime, &mut mtime, &mut ctime);
            InodeAttrs {
                mode: (*ptr).i_mode,
                uid,
                gid,
                nlink: (*ptr).__bindgen_anon_1.i_nlink,
                size: self.size(),
                atime,
                mtime,
                ctime,
                blocks: bindings::inode_get_bytes(ptr) as u64 >> 9,
                generation: (*ptr).i_generation,
            }
        }
    }

    /// The folio of this inode's page cache that holds page `index`, read
    /// through the filesystem's `read_folio` if it is not cached yet, and
    /// uptodate (`read_mapping_folio`). It may start before `index` if it is
    /// a large folio. `EINVAL` for an inode without page cache reads (a
    /// device node or fast symlink).
    pub(crate) fn read_mapping_folio(&self, index: u64) -> Result<ARef<Folio>> {
        // SAFETY: valid inode (type invariant); the helper refuses mappings
        // without `read_folio` and returns a referenced folio or an ERR_PTR.
        let ptr = unsafe { ffi_ext::rmpage_read_mapping_folio(self.as_ptr().cast(), index) };
        let ptr = kernel::error::from_err_ptr(ptr)?;
        let ptr = NonNull::new(ptr).ok_or(EIO)?;
        // SAFETY: we own the reference read_mapping_folio took.
        Ok(unsafe { ARef::from_raw(ptr.cast()) })
    }

    /// Looks up `ino` in the inode cache or reads it.
    pub(crate) fn iget(sb: &SuperBlock<T>, ino: u64) -> Result<ARef<Self>> {
        // SAFETY: the super_block is valid and Ready.
        let ptr = unsafe { bindings::iget_locked(sb.as_ptr(), ino) };
        let ptr = NonNull::new(ptr).ok_or(ENOMEM)?;
        // SAFETY: iget_locked returned a referenced inode.
        let is_new = unsafe { ffi_ext::rmpage_inode_is_new(ptr.as_ptr().cast()) };
        if is_new {
            // A half-built inode must be failed, never left I_NEW: every later
            // iget of the same number would wait on it forever.
            match T::read_inode(sb, ino) {
                // SAFETY: `ptr` is I_NEW and ours to set up.
                Ok(params) => unsafe { Self::setup(ptr.as_ptr(), params) }.inspect_err(|_| {
                    // SAFETY: still I_NEW, and we give up our reference.
                    unsafe { bindings::iget_failed(ptr.as_ptr()) }
                })?,
                Err(e) => {
                    // SAFETY: still I_NEW, and we give up our reference.
                    unsafe { bindings::iget_failed(ptr.as_ptr()) };
                    return Err(e);
                }
            }
            // SAFETY: fully set up; this publishes it to other lookups.
            unsafe { bindings::unlock_new_inode(ptr.as_ptr()) };
        }
        // SAFETY: we own the reference iget_locked took, and the inode now
        // satisfies the type invariant.
        Ok(unsafe { ARef::from_raw(ptr.cast()) })
    }

    /// # Safety
    ///
    /// `inode` is an `I_NEW` inode of `T` that only the caller sets up.
    unsafe fn setup(inode: *mut bindings::inode, p: InodeParams<T::InodeData>) -> Result {
        let type_bits = u32::from(p.mode) & bindings::S_IFMT;
        let kind_ok = match &p.kind {
            InodeKind::Regular => type_bits == bindings::S_IFREG,
            InodeKind::Directory => type_bits == bindings::S_IFDIR,
            InodeKind::FastSymlink(_) | InodeKind::SlowSymlink => type_bits == bindings::S_IFLNK,
            InodeKind::Special(_) => matches!(
                type_bits,
                bindings::S_IFCHR | bindings::S_IFBLK | bindings::S_IFIFO | bindings::S_IFSOCK
            ),
        };
        if !kind_ok {
            return Err(EUCLEAN);
        }
        let size: i64 = p.size.try_into().map_err(|_| EFBIG)?;
        let mut link = None;
        if let InodeKind::FastSymlink(target) = &p.kind {
            let mut v = KVec::with_capacity(target.len() + 1, GFP_KERNEL)?;
            v.extend_from_slice(target, GFP_KERNEL)?;
            v.push(0, GFP_KERNEL)?;
            link = Some(v);
        }
        // SAFETY: `inode` is valid (caller's guarantee); its `i_data` lives
        // as long as the inode, which owns the box.
        let metadata = unsafe { MetadataBuffers::new(&raw mut (*inode).i_data) };
        let boxed = KBox::pin_init(
            pin_init!(InodeBox {
                data: p.data,
                link,
                metadata <- metadata,
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: the box is never moved out of: free_inode_box rebuilds the
        // Pin<KBox> from this pointer to drop it in place.
        let boxed = KBox::into_raw(unsafe { Pin::into_inner_unchecked(boxed) });

        // SAFETY: `inode` is I_NEW and ours (caller's guarantee); we set the
        // fields the VFS reads only after unlock_new_inode.
        unsafe {
            (*inode).i_mode = p.mode;
            ffi_ext::rmpage_inode_set_owner(inode.cast(), p.uid, p.gid);
            bindings::set_nlink(inode, p.nlink);
            ffi_ext::rmpage_i_size_write(inode.cast(), size);
            ffi_ext::rmpage_inode_set_times(inode.cast(), p.atime, p.mtime, p.ctime);
            (*inode).i_blocks = p.blocks;
            (*inode).i_generation = p.generation;
            (*inode).i_private = boxed.cast();
            match p.kind {
                InodeKind::Regular => {
                    (*inode).i_op = &Tables::<T>::FILE_IOPS;
                    ffi_ext::rmpage_inode_set_fop(inode.cast(), &Tables::<T>::FILE_FOPS);
                    (*inode).i_data.a_ops = &Tables::<T>::AOPS;
                }
                InodeKind::Directory => {
                    (*inode).i_op = &Tables::<T>::DIR_IOPS;
                    ffi_ext::rmpage_inode_set_fop(inode.cast(), &Tables::<T>::DIR_FOPS);
                    // Directory blocks are read through the directory's own
                    // page cache, as the C ext2 does.
                    (*inode).i_data.a_ops = &Tables::<T>::AOPS;
                }
                InodeKind::FastSymlink(_) => {
                    (*inode).i_op = &raw const bindings::simple_symlink_inode_operations;
                    let target = (*boxed)
                        .link
                        .as_mut()
                        .map_or(core::ptr::null_mut(), |l| l.as_mut_ptr());
                    ffi_ext::rmpage_inode_set_link(inode.cast(), target.cast());
                }
                InodeKind::SlowSymlink => {
                    (*inode).i_op = &raw const bindings::page_symlink_inode_operations;
                    (*inode).i_data.a_ops = &Tables::<T>::AOPS;
                    bindings::inode_nohighmem(inode);
                }
                InodeKind::Special(rdev) => {
                    bindings::init_special_inode(inode, p.mode, new_decode_dev(rdev));
                }
            }
            if p.large_folios {
                ffi_ext::rmpage_mapping_set_large_folios(inode.cast());
            }
        }
        Ok(())
    }
}

/// Owner and mode of an inode being created, as the VFS sets them from the
/// creating task and the parent directory (`inode_init_owner`: the
/// parent's group where it is setgid).
pub(crate) struct NewOwner {
    /// Type and permission bits.
    pub(crate) mode: u16,
    /// Owner.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
}

/// An inode being created (`I_NEW`), hashed under its number and linked
/// into no directory yet: the VFS makes it visible with
/// `d_instantiate_new`. Dropped without that (the filesystem could not
/// link it), it is discarded (`discard_new_inode`) and evicted: the
/// filesystem drops its link count to zero first, so that eviction frees
/// what it holds.
///
/// # Invariants
///
/// `self.0` is an `I_NEW` inode of `T`, set up as [`Inode`]'s invariant
/// requires (its `i_private` is ours), hashed by `insert_inode_locked`, with
/// one reference that this object owns.
pub(crate) struct NewInode<T: FileSystem>(NonNull<bindings::inode>, PhantomData<T>);

impl<T: FileSystem> NewInode<T> {
    /// Creates inode `ino` in directory `dir`'s filesystem: `describe`
    /// gets the owner and mode the VFS gives it and describes the rest.
    /// `EIO` if an inode `ino` is still in the inode cache (the bitmap
    /// said it was free: the filesystem reports that).
    pub(crate) fn new(
        dir: &Inode<T>,
        ino: u64,
        mode: u16,
        describe: impl FnOnce(&NewOwner) -> Result<InodeParams<T::InodeData>>,
    ) -> Result<Self> {
        // SAFETY: the super_block is Ready (an inode of it exists).
        let ptr = unsafe { bindings::new_inode(dir.super_block().as_ptr()) };
        let ptr = NonNull::new(ptr).ok_or(ENOMEM)?;
        let inode = ptr.as_ptr();
        let (mut uid, mut gid) = (0u32, 0u32);
        // SAFETY: `inode` is new, referenced by us and in no hash: ours to
        // set up. Its i_private is NULL, which our evict_inode allows for,
        // so that iput on the error paths below frees it.
        let owner = unsafe {
            (*inode).i_ino = ino;
            ffi_ext::rmpage_inode_init_owner(inode.cast(), dir.as_ptr().cast(), mode);
            ffi_ext::rmpage_inode_get_owner(inode.cast(), &mut uid, &mut gid);
            NewOwner {
                mode: (*inode).i_mode,
                uid,
                gid,
            }
        };
        // SAFETY: as above; setup failing leaves i_private NULL.
        let set_up =
            describe(&owner).and_then(|params| unsafe { Inode::<T>::setup(inode, params) });
        if let Err(e) = set_up {
            // SAFETY: our reference to an inode nobody else knows.
            unsafe { bindings::iput(inode) };
            return Err(e);
        }
        // SAFETY: set up; hashing it makes it I_NEW until d_instantiate_new
        // or discard_new_inode.
        if unsafe { bindings::insert_inode_locked(inode) } != 0 {
            // The number is in use in the cache: its on-disk bitmap lied.
            // The inode must not be deleted by its eviction: what it
            // describes is somebody else's.
            // SAFETY: ours, unhashed; make_bad_inode stops eviction from
            // treating it as a deleted inode of ours.
            unsafe {
                bindings::clear_nlink(inode);
                bindings::make_bad_inode(inode);
                bindings::iput(inode);
            }
            return Err(EIO);
        }
        // INVARIANT: set up, hashed, I_NEW, and our reference.
        Ok(Self(ptr, PhantomData))
    }

    /// Gives up the inode to the caller, which makes it visible
    /// (`d_instantiate_new` takes the reference and clears `I_NEW`).
    pub(crate) fn into_raw(self) -> *mut bindings::inode {
        let ptr = self.0.as_ptr();
        core::mem::forget(self);
        ptr
    }
}

impl<T: FileSystem> core::ops::Deref for NewInode<T> {
    type Target = Inode<T>;

    fn deref(&self) -> &Inode<T> {
        // SAFETY: set up and referenced by us (type invariant); `I_NEW` only
        // keeps other lookups waiting, and the filesystem may use it.
        unsafe { Inode::from_raw(self.0.as_ptr()) }
    }
}

impl<T: FileSystem> Drop for NewInode<T> {
    fn drop(&mut self) {
        // SAFETY: our I_NEW inode and its reference (type invariant):
        // discard_new_inode unlocks it and puts the reference.
        unsafe { bindings::discard_new_inode(self.0.as_ptr()) };
    }
}

/// Decodes a device number in the 32-bit on-disk encoding that ext2 and the
/// kernel's `new_decode_dev` use.
fn new_decode_dev(dev: u32) -> u32 {
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    (major << 20) | minor
}

/// Frees what [`Inode::setup`] attached; called from `free_inode`.
///
/// # Safety
///
/// `inode` is being evicted; nothing uses its `i_private` any more.
pub(crate) unsafe fn free_inode_box<T: FileSystem>(inode: *mut bindings::inode) {
    // SAFETY: the inode is valid during eviction (caller's guarantee).
    let p = unsafe { (*inode).i_private };
    if !p.is_null() {
        // SAFETY: a non-NULL `i_private` is the pinned InodeBox that setup
        // leaked; clearing it first keeps a second call harmless.
        unsafe {
            (*inode).i_private = core::ptr::null_mut();
            drop(Pin::new_unchecked(KBox::from_raw(
                p.cast::<InodeBox<T::InodeData>>(),
            )));
        }
    }
}
