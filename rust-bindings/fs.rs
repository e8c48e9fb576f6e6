// SPDX-License-Identifier: GPL-2.0

//! Filesystem types: the [`FileSystem`] trait a Rust filesystem implements,
//! its registration, and the C operation tables built from it.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h).

use super::{
    buffer_head::MapResult,
    ffi_ext,
    folio::LockedFolio,
    inode::{free_inode_box, Inode, InodeParams},
    readahead::Readahead,
    super_block::{New, SuperBlock},
};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    error::{from_result, Error},
    prelude::*,
    str::CStr,
    types::Opaque,
};

/// A mapped run of blocks, as a block mapper reports it to the kernel's
/// buffer_head paths.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockRun {
    /// Device block of the first block.
    pub(crate) pblk: u64,
    /// Number of contiguous blocks (at least 1).
    pub(crate) len: u64,
    /// The block after this run needs a metadata read to be mapped.
    pub(crate) boundary: bool,
}

/// What `fill_super` sets up.
pub(crate) struct SuperParams<D> {
    /// Per-mount data of the filesystem.
    pub(crate) data: D,
    /// `s_magic`.
    pub(crate) magic: u64,
    /// Largest file size the format allows.
    pub(crate) max_bytes: u64,
    /// Inode number of the root directory.
    pub(crate) root_ino: u64,
}

/// `statfs` figures.
pub(crate) struct StatFs {
    /// `f_type`.
    pub(crate) magic: u64,
    /// Block size.
    pub(crate) block_size: u64,
    /// Blocks in the filesystem (less its overhead).
    pub(crate) blocks: u64,
    /// Free blocks.
    pub(crate) free_blocks: u64,
    /// Free blocks for unprivileged users.
    pub(crate) avail_blocks: u64,
    /// Inodes.
    pub(crate) files: u64,
    /// Free inodes.
    pub(crate) free_files: u64,
    /// Longest name.
    pub(crate) name_len: u64,
}

/// A Rust block-device filesystem.
pub(crate) trait FileSystem: Sized + Send + Sync + 'static {
    /// Name under which the type is registered (`/proc/filesystems`).
    const NAME: &'static CStr;
    /// Per-mount data (`s_fs_info`).
    type Data: Send + Sync;
    /// Per-inode data (`i_private`).
    type InodeData: Send + Sync;

    /// Reads and checks the on-disk super block; sets the block size.
    fn fill_super(sb: &SuperBlock<Self, New>) -> Result<SuperParams<Self::Data>>;
    /// Describes inode `ino`, which is not in the inode cache.
    fn read_inode(sb: &SuperBlock<Self>, ino: u64) -> Result<InodeParams<Self::InodeData>>;
    /// Finds `name` in directory `dir`: its inode number, or `None`.
    fn lookup(dir: &Inode<Self>, name: &[u8]) -> Result<Option<u64>>;
    /// Emits the entries of `dir` from `ctx.pos()` on.
    fn readdir(dir: &Inode<Self>, ctx: &mut DirEmitter<'_>) -> Result;
    /// Filesystem statistics.
    fn statfs(sb: &SuperBlock<Self>) -> Result<StatFs>;
    /// Maps up to `max_blocks` blocks from logical block `lblk`: `None` is a
    /// hole.
    fn map_blocks(inode: &Inode<Self>, lblk: u64, max_blocks: u64) -> Result<Option<BlockRun>>;
    /// `read_folio`: reads one locked folio.
    fn read_folio(inode: &Inode<Self>, folio: LockedFolio) -> Result;
    /// `readahead`: starts reading the folios of `ra`.
    fn readahead(inode: &Inode<Self>, ra: &mut Readahead<'_>);
}

/// The kernel's C buffer_head read path for one folio
/// (`block_read_full_folio`), mapping through [`FileSystem::map_blocks`].
/// It unlocks the folio when the read ends.
pub(crate) fn block_read_full_folio<T: FileSystem>(folio: LockedFolio) -> Result {
    let ptr = folio.into_raw();
    // SAFETY: the folio is locked and its unlocking passes to
    // block_read_full_folio, which ends the read on every path.
    let ret = unsafe { ffi_ext::block_read_full_folio(ptr.cast(), Some(get_block::<T>)) };
    kernel::error::to_result(ret)
}

/// The kernel's C mpage engine for `read_folio` (`mpage_read_folio`), with a
/// `get_block` built on [`FileSystem::map_blocks`]: the engine we compare
/// against, on the same code and image.
pub(crate) fn c_mpage_read_folio<T: FileSystem>(folio: LockedFolio) -> Result {
    let ptr = folio.into_raw();
    // SAFETY: as for block_read_full_folio: mpage_read_folio takes over the
    // unlocking of the folio.
    let ret = unsafe { ffi_ext::mpage_read_folio(ptr.cast(), Some(get_block::<T>)) };
    kernel::error::to_result(ret)
}

/// The kernel's C mpage engine for readahead (`mpage_readahead`).
pub(crate) fn c_mpage_readahead<T: FileSystem>(ra: &mut Readahead<'_>) {
    // SAFETY: `ra` is the request of a readahead call in progress; the C
    // engine takes and unlocks its remaining folios.
    unsafe { ffi_ext::mpage_readahead(ra.as_ptr().cast(), Some(get_block::<T>)) };
}

/// `get_block_t` for the C buffer_head paths: read-only, so `create` is
/// ignored (never set by read paths).
///
/// # Safety
///
/// Called by the kernel's buffer_head paths as a `get_block_t`, with an inode of `T`
/// whose folio they are reading and a `bh_result` they own for the call.
unsafe extern "C" fn get_block<T: FileSystem>(
    inode: *mut bindings::inode,
    iblock: bindings::sector_t,
    bh_result: *mut bindings::buffer_head,
    _create: c_int,
) -> c_int {
    // SAFETY: the C caller passes a live inode of ours (it came from a folio
    // of its page cache), set up since it has pages.
    let inode = unsafe { Inode::<T>::from_raw(inode) };
    // SAFETY: `bh_result` is the caller's, for the duration of the call.
    let mut res = unsafe { MapResult::from_raw(bh_result, (*inode.as_ptr()).i_sb) };
    let blkbits = inode.blkbits();
    let max_blocks = ((res.requested_bytes() as u64) >> blkbits).max(1);
    from_result(|| {
        if let Some(run) = T::map_blocks(inode, iblock, max_blocks)? {
            let blocks = run.len.min(max_blocks);
            res.map(
                run.pblk,
                (blocks << blkbits) as usize,
                run.boundary && blocks == run.len,
            );
        }
        Ok(0)
    })
}

/// A directory position and the `filldir` callback of a readdir call.
///
/// # Invariants
///
/// `self.0` points to the `dir_context` of an `iterate_shared` call in
/// progress, for `'a`.
pub(crate) struct DirEmitter<'a>(NonNull<bindings::dir_context>, PhantomData<&'a mut ()>);

impl DirEmitter<'_> {
    /// Current position (a byte offset in the directory, for ext2).
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: valid for 'a (type invariant).
        unsafe { (*self.0.as_ptr()).pos }
    }

    /// Moves the position.
    pub(crate) fn set_pos(&mut self, pos: i64) {
        // SAFETY: valid for 'a (type invariant); the caller owns `pos`.
        unsafe { (*self.0.as_ptr()).pos = pos };
    }

    /// Emits one entry; `false` means the caller's buffer is full, stop
    /// without advancing the position.
    pub(crate) fn emit(&mut self, name: &[u8], ino: u64, dtype: u8) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return false;
        };
        // SAFETY: valid for 'a (type invariant); `name` is `len` bytes.
        unsafe {
            ffi_ext::rmpage_dir_emit(
                self.0.as_ptr().cast(),
                name.as_ptr().cast(),
                len,
                ino,
                u32::from(dtype),
            )
        }
    }
}

/// `SB_RDONLY` (a macro in C).
const SB_RDONLY: c_uint = 1;

/// The operation tables of filesystem `T`. Constants, so that `&Tables::X`
/// is promoted to a `'static` table, one per filesystem type.
pub(crate) struct Tables<T: FileSystem>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    const FC_OPS: ffi_ext::fs_context_operations = ffi_ext::fs_context_operations {
        get_tree: Some(Self::get_tree),
        reconfigure: Some(Self::reconfigure),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    const SOPS: bindings::super_operations = bindings::super_operations {
        evict_inode: Some(Self::evict_inode),
        free_inode: Some(Self::free_inode),
        statfs: Some(Self::statfs),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const AOPS: bindings::address_space_operations =
        bindings::address_space_operations {
            read_folio: Some(Self::read_folio),
            readahead: Some(Self::readahead),
            // Folios may carry buffer_heads from the fallback path: these
            // release them, as for ext2's own folios.
            invalidate_folio: Some(ffi_ext::block_invalidate_folio),
            is_partially_uptodate: Some(ffi_ext::block_is_partially_uptodate),
            error_remove_folio: Some(bindings::generic_error_remove_folio),
            // SAFETY: all-zero (NULL pointers) is a valid table.
            ..unsafe { core::mem::zeroed() }
        };

    pub(crate) const FILE_IOPS: bindings::inode_operations = bindings::inode_operations {
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const DIR_IOPS: bindings::inode_operations = bindings::inode_operations {
        lookup: Some(Self::lookup),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    pub(crate) const DIR_FOPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(Self::iterate_shared),
        // SAFETY: all-zero (NULL pointers) is a valid table.
        ..unsafe { core::mem::zeroed() }
    };

    /// # Safety
    ///
    /// Called by the VFS as `init_fs_context` with a new `fs_context` of our type.
    unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
        let fc = fc.cast::<ffi_ext::fs_context>();
        // SAFETY: the VFS passes a new fs_context that we may set up.
        unsafe { (*fc).ops = &Self::FC_OPS };
        0
    }

    /// # Safety
    ///
    /// Called by the VFS as `fs_context_operations::get_tree`.
    unsafe extern "C" fn get_tree(fc: *mut ffi_ext::fs_context) -> c_int {
        // SAFETY: the VFS calls get_tree with a valid fs_context; the
        // callback is ours.
        unsafe { ffi_ext::get_tree_bdev(fc, Some(Self::fill_super)) }
    }

    /// # Safety
    ///
    /// Called by the VFS as `fs_context_operations::reconfigure` (remount).
    unsafe extern "C" fn reconfigure(fc: *mut ffi_ext::fs_context) -> c_int {
        // SAFETY: the VFS passes the remount's fs_context.
        let flags = unsafe { (*fc).sb_flags };
        // Without this, a remount would simply clear SB_RDONLY: read-only
        // is all we serve.
        if flags & SB_RDONLY == 0 {
            // SAFETY: as above; the root dentry pins the super_block.
            let sb = unsafe { SuperBlock::<T>::from_raw((*(*fc).root).d_sb) };
            pr_err!(
                "rext2: {}: read-write remounts are not supported yet\n",
                sb.id()
            );
            return EROFS.to_errno();
        }
        0
    }

    /// # Safety
    ///
    /// Called by `get_tree_bdev` with a new super_block of our type.
    unsafe extern "C" fn fill_super(
        sb: *mut bindings::super_block,
        _fc: *mut ffi_ext::fs_context,
    ) -> c_int {
        from_result(|| {
            // SAFETY: get_tree_bdev passes a new super_block of our type,
            // with its device open, that only this call sets up.
            let new = unsafe { SuperBlock::<T, New>::from_raw(sb) };
            let params = T::fill_super(new)?;
            let data = KBox::new(params.data, GFP_KERNEL)?;
            // SAFETY: as above. Once `s_fs_info` is set, `kill_sb` frees it on
            // every path, including a failure below.
            unsafe {
                (*sb).s_fs_info = KBox::into_raw(data).cast();
                (*sb).s_magic = params.magic as usize;
                (*sb).s_op = &Self::SOPS;
                (*sb).s_maxbytes = params.max_bytes.min(i64::MAX as u64) as i64;
                (*sb).s_time_gran = 1_000_000_000;
            }
            // SAFETY: the super_block is now Ready.
            let ready = unsafe { SuperBlock::<T>::from_raw(sb) };
            let root = ready.iget(params.root_ino)?;
            // SAFETY: d_make_root consumes the inode reference we pass,
            // also on failure.
            let dentry = unsafe {
                bindings::d_make_root(kernel::sync::aref::ARef::into_raw(root).as_ptr().cast())
            };
            if dentry.is_null() {
                return Err(ENOMEM);
            }
            // SAFETY: the super_block is ours to set up.
            unsafe { (*sb).s_root = dentry };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `kill_sb` with a super_block of our type.
    unsafe extern "C" fn kill_sb(sb: *mut bindings::super_block) {
        // SAFETY: the VFS passes a super_block of ours being torn down. The
        // data goes after kill_block_super has evicted every inode.
        unsafe {
            let data = (*sb).s_fs_info;
            bindings::kill_block_super(sb);
            if !data.is_null() {
                drop(KBox::from_raw(data.cast::<T::Data>()));
            }
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `evict_inode` with an inode of ours that has no users.
    unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
        // SAFETY: the VFS evicts an inode of ours, with no users left.
        unsafe {
            bindings::truncate_inode_pages_final(&raw mut (*inode).i_data);
            bindings::clear_inode(inode);
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `free_inode`, an RCU grace period after the
    /// inode was evicted: no RCU path walk can still see it.
    unsafe extern "C" fn free_inode(inode: *mut bindings::inode) {
        // Our data goes only now, since a fast symlink's `i_link` points into
        // it and RCU walkers read `i_link` without references. We have no
        // `alloc_inode`, so the inode goes back with `free_inode_nonrcu`.
        // SAFETY: the grace period has passed; nothing else uses the inode.
        unsafe {
            free_inode_box::<T>(inode);
            bindings::free_inode_nonrcu(inode);
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `statfs` with a dentry of a mounted filesystem of ours.
    unsafe extern "C" fn statfs(
        dentry: *mut bindings::dentry,
        buf: *mut bindings::kstatfs,
    ) -> c_int {
        from_result(|| {
            // SAFETY: the dentry is pinned by the caller, and its super_block
            // is mounted, so Ready.
            let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
            let st = T::statfs(sb)?;
            // SAFETY: `buf` is the caller's, for this call.
            unsafe {
                ffi_ext::rmpage_statfs_fill(
                    buf.cast(),
                    st.magic,
                    st.block_size,
                    st.blocks,
                    st.free_blocks,
                    st.avail_blocks,
                    st.files,
                    st.free_files,
                    st.name_len,
                )
            };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the page cache as `read_folio` with a locked folio of one of our inodes.
    unsafe extern "C" fn read_folio(
        _file: *mut bindings::file,
        folio: *mut bindings::folio,
    ) -> c_int {
        // SAFETY: read_folio gets a locked folio whose unlocking is ours.
        let folio = unsafe { LockedFolio::from_raw(folio) };
        // SAFETY: the folio belongs to a mapping of one of our inodes, which
        // the page cache keeps alive while the folio is locked.
        let inode =
            unsafe { Inode::<T>::from_raw(ffi_ext::rmpage_folio_host(folio.as_ptr().cast())) };
        from_result(|| T::read_folio(inode, folio).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the page cache as `readahead` with a request on one of our inodes.
    unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
        // SAFETY: a readahead call in progress, for this function's duration.
        let mut ra = unsafe { Readahead::from_raw(rac) };
        // SAFETY: the request's mapping is one of our inodes' and pinned by
        // the caller.
        let inode = unsafe { Inode::<T>::from_raw((*(*rac).mapping).host) };
        T::readahead(inode, &mut ra);
    }

    /// # Safety
    ///
    /// Called by the VFS as `lookup` with a directory of ours and a negative dentry.
    unsafe extern "C" fn lookup(
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        _flags: c_uint,
    ) -> *mut bindings::dentry {
        // SAFETY: the VFS passes a live directory of ours.
        let dir = unsafe { Inode::<T>::from_raw(dir) };
        let mut len = 0u32;
        // SAFETY: the dentry's name is stable during lookup.
        let name = unsafe {
            let p = ffi_ext::rmpage_dentry_name(dentry.cast(), &mut len);
            core::slice::from_raw_parts(p, len as usize)
        };
        let inode = match T::lookup(dir, name) {
            Ok(None) => core::ptr::null_mut(),
            Ok(Some(ino)) => match dir.super_block().iget(ino) {
                Ok(i) => kernel::sync::aref::ARef::into_raw(i).as_ptr().cast(),
                Err(e) => return e.to_ptr(),
            },
            Err(e) => return e.to_ptr(),
        };
        // SAFETY: d_splice_alias consumes the inode reference (or NULL for a
        // negative dentry).
        unsafe { bindings::d_splice_alias(inode, dentry) }
    }

    /// # Safety
    ///
    /// Called by the VFS as `iterate_shared` with a directory of ours open in `file`.
    unsafe extern "C" fn iterate_shared(
        file: *mut bindings::file,
        ctx: *mut bindings::dir_context,
    ) -> c_int {
        // SAFETY: the file is open on a directory of ours.
        let dir = unsafe { Inode::<T>::from_raw(ffi_ext::rmpage_file_inode(file.cast())) };
        // INVARIANT: `ctx` is valid for this call.
        let mut emitter = DirEmitter(
            NonNull::new(ctx).expect("dir_context is never NULL"),
            PhantomData,
        );
        from_result(|| T::readdir(dir, &mut emitter).map(|()| 0))
    }
}

/// Storage for a `struct file_system_type`.
///
/// It must be a `static`: the VFS keeps lockdep class keys inside it
/// (`s_umount_key` and friends), and lockdep accepts only keys in static
/// memory.
pub(crate) struct FileSystemType(Opaque<bindings::file_system_type>);

// SAFETY: the VFS serialises access to a registered type; we write it only
// before registering it, under `Registration::new`'s exclusive claim.
unsafe impl Sync for FileSystemType {}

impl FileSystemType {
    /// An unregistered, zeroed type, for a `static`.
    pub(crate) const fn new() -> Self {
        Self(Opaque::zeroed())
    }
}

/// A registered filesystem type; unregistered on drop.
///
/// # Invariants
///
/// `self.fs` is registered with the VFS, for filesystem `T`, until `drop`.
pub(crate) struct Registration<T: FileSystem> {
    fs: &'static FileSystemType,
    _t: PhantomData<T>,
}

// SAFETY: registration and unregistration may happen on any thread.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Registers `T` in `fs` as a filesystem type owned by `module`, so that
    /// the module cannot be unloaded while a filesystem of this type is
    /// mounted. Fails with `EBUSY` if `fs` is registered already.
    pub(crate) fn new(
        fs: &'static FileSystemType,
        module: &'static kernel::ThisModule,
    ) -> Result<Self> {
        let ptr = fs.0.get();
        // SAFETY: an unregistered type is ours alone: the VFS does not see it,
        // and a registered one has a non-NULL `name`, which we refuse.
        unsafe {
            if !(*ptr).name.is_null() {
                return Err(EBUSY);
            }
            (*ptr).name = T::NAME.as_char_ptr();
            (*ptr).owner = module.as_ptr();
            (*ptr).fs_flags = bindings::FS_REQUIRES_DEV as c_int;
            (*ptr).init_fs_context = Some(Tables::<T>::init_fs_context);
            (*ptr).kill_sb = Some(Tables::<T>::kill_sb);
        }
        // SAFETY: the type is fully set up and static.
        let ret = unsafe { bindings::register_filesystem(ptr) };
        if ret != 0 {
            // SAFETY: not registered, so still ours.
            unsafe { (*ptr).name = core::ptr::null() };
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: registered just now.
        Ok(Self {
            fs,
            _t: PhantomData,
        })
    }
}

impl<T: FileSystem> Drop for Registration<T> {
    fn drop(&mut self) {
        let ptr = self.fs.0.get();
        // SAFETY: registered (type invariant). The module's refcount kept us
        // from being dropped while any super_block of the type exists; once
        // unregistered the type is ours again.
        unsafe {
            bindings::unregister_filesystem(ptr);
            // Inodes are freed after an RCU grace period (`free_inode`):
            // wait for those callbacks, which run our code, to finish.
            bindings::rcu_barrier();
            (*ptr).name = core::ptr::null();
        }
    }
}
