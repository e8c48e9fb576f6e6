// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for rmpage's Rust abstractions (see helpers.h). Each wraps a
 * static inline function or a macro, nothing more.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mnt_idmapping.h>
#include <linux/wait_bit.h>
#include <linux/writeback.h>
#include <linux/pagemap.h>
#include <linux/rcupdate.h>
#include <linux/moduleparam.h>
#include <linux/module.h>
#include <linux/statfs.h>
#include <linux/string.h>
#include "helpers.h"

loff_t rmpage_folio_pos(struct folio *folio) { return folio_pos(folio); }
size_t rmpage_folio_size(struct folio *folio) { return folio_size(folio); }
bool rmpage_folio_test_uptodate(struct folio *folio) { return folio_test_uptodate(folio); }
void rmpage_folio_mark_uptodate(struct folio *folio) { folio_mark_uptodate(folio); }
bool rmpage_folio_has_buffers(struct folio *folio) { return folio_buffers(folio) != NULL; }
void rmpage_folio_get(struct folio *folio) { folio_get(folio); }
void rmpage_folio_put(struct folio *folio) { folio_put(folio); }
u64 rmpage_folio_index(struct folio *folio) { return folio->index; }
bool rmpage_folio_test_locked(struct folio *folio) { return folio_test_locked(folio); }

/* Whether the folio is in the page cache of @inode (pointers compared only). */
bool rmpage_folio_host_is(struct folio *folio, struct inode *inode)
{
	struct address_space *mapping = READ_ONCE(folio->mapping);

	return mapping && mapping == inode->i_mapping;
}

void *rmpage_kmap_local_folio(struct folio *folio, size_t offset)
{
	return kmap_local_folio(folio, offset);
}

void rmpage_kunmap_local(void *addr) { kunmap_local(addr); }

/*
 * An uptodate, referenced folio of the inode's page cache, or an ERR_PTR.
 * Inodes without a read_folio (device nodes, fast symlinks) have no page
 * cache to read.
 */
struct folio *rmpage_read_mapping_folio(struct inode *inode, u64 index)
{
	struct address_space *mapping = inode->i_mapping;

	if (!mapping->a_ops->read_folio || index > ULONG_MAX)
		return ERR_PTR(-EINVAL);
	return read_mapping_folio(mapping, index, NULL);
}

void rmpage_folio_zero_segment(struct folio *folio, size_t start, size_t end)
{
	folio_zero_segment(folio, start, end);
}

struct folio *rmpage_readahead_folio(struct readahead_control *rac)
{
	return readahead_folio(rac);
}

unsigned int rmpage_readahead_count(struct readahead_control *rac)
{
	return readahead_count(rac);
}


unsigned int rmpage_req_op_read(bool readahead)
{
	return REQ_OP_READ | (readahead ? REQ_RAHEAD : 0);
}

/*
 * Every bio of every rmpage mount comes from here, with the engine's context
 * for it in the bio_set's front pad, as iomap's ioends sit in front of their
 * bios: a bio costs one allocation, as in fs/mpage.c, and not a second one
 * for what its completion needs to know.
 */
static struct bio_set rmpage_bio_set;
static atomic_t rmpage_bio_set_live = ATOMIC_INIT(0);

/* -EBUSY: the bio_set is set up already; there is one per module. */
int rmpage_bio_set_init(unsigned int front_pad)
{
	int ret;

	if (atomic_cmpxchg(&rmpage_bio_set_live, 0, 1))
		return -EBUSY;
	/*
	 * The per-CPU cache serves the bios of up to BIO_INLINE_VECS (4)
	 * segments, which hold their vectors inline: a scattered write's bios
	 * come from it, with no slab allocation and no separate vector array
	 * (see rmpage_bio_grow()).
	 */
	ret = bioset_init(&rmpage_bio_set, BIO_POOL_SIZE, front_pad,
			  BIOSET_NEED_BVECS | BIOSET_PERCPU_CACHE);
	if (ret)
		atomic_set(&rmpage_bio_set_live, 0);
	return ret;
}

void rmpage_bio_set_exit(void)
{
	bioset_exit(&rmpage_bio_set);
	atomic_set(&rmpage_bio_set_live, 0);
}

/*
 * Readahead is optional: its allocations must not retry hard or warn, and
 * may fail (mpage.c does the same). Reads for read_folio must make progress,
 * so they come from the bio_set's mempool with GFP_KERNEL. @nowait: earlier
 * bios of the caller are still unsent, and may be the mempool's reserve that
 * GFP_KERNEL would wait for (bio_alloc_bioset(): submit a bio before
 * allocating the next), so the allocation does not wait at all.
 */
struct bio *rmpage_bio_alloc(struct block_device *bdev, unsigned short nr_vecs,
			     unsigned int opf, bool readahead, bool nowait)
{
	gfp_t gfp = GFP_KERNEL;

	if (nowait)
		gfp = GFP_NOWAIT | __GFP_NOWARN;
	else if (readahead)
		gfp |= __GFP_NORETRY | __GFP_NOWARN;
	return bio_alloc_bioset(bdev, nr_vecs, opf, gfp, &rmpage_bio_set);
}

/*
 * A new bio like @old, unsent and full, with room for BIO_MAX_VECS segments
 * and @old's segments copied into it; NULL if @old cannot grow (it is not
 * full, or has that room already) or memory is short. A write bio starts
 * with the few segments that fit inside it (most bios of a scattered write
 * carry a folio or two, and fs/mpage.c's BIO_MAX_VECS costs each a 4 KiB
 * vector array), and grows here the first time it fills. The allocation
 * does not wait: @old, not yet sent, may be the bio_set's reserve that a
 * waiting allocation would wait for (bio_alloc_bioset()); the caller then
 * sends @old as it is. @old is left as it was, for rmpage_bio_free_moved().
 */
struct bio *rmpage_bio_grow(struct bio *old)
{
	struct bio *bio;

	if (old->bi_vcnt < old->bi_max_vecs || old->bi_max_vecs >= BIO_MAX_VECS)
		return NULL;
	bio = bio_alloc_bioset(old->bi_bdev, BIO_MAX_VECS, old->bi_opf,
			       GFP_NOWAIT | __GFP_NOWARN, &rmpage_bio_set);
	if (!bio)
		return NULL;
	memcpy(bio->bi_io_vec, old->bi_io_vec, old->bi_vcnt * sizeof(*old->bi_io_vec));
	bio->bi_vcnt = old->bi_vcnt;
	bio->bi_iter = old->bi_iter;
	bio->bi_end_io = old->bi_end_io;
	bio->bi_private = old->bi_private;
	bio->bi_ioprio = old->bi_ioprio;
	bio->bi_write_hint = old->bi_write_hint;
	bio_clone_blkg_association(bio, old);
	return bio;
}

/* Frees a bio whose segments rmpage_bio_grow() moved to another, unsent. */
void rmpage_bio_free_moved(struct bio *old)
{
	old->bi_vcnt = 0;
	old->bi_iter.bi_size = 0;
	bio_put(old);
}

struct folio *rmpage_bio_first_folio(struct bio *bio, struct folio_iter *fi)
{
	bio_first_folio(fi, bio, 0);
	return fi->folio;
}

struct folio *rmpage_bio_next_folio(struct bio *bio, struct folio_iter *fi)
{
	bio_next_folio(fi, bio);
	return fi->folio;
}

/*
 * Ends every folio of a bio that holds whole folios only, as
 * mpage_end_io/mpage_write_end_io do: a write's writeback (the error, if
 * any, recorded in the mapping for fsync), or a read, uptodate unless it
 * failed. One call per bio: most bios hold no piece of a split folio, and
 * walking the bio's folios from Rust costs two calls into C per folio.
 */
static __always_inline void end_whole_folios(struct bio *bio, bool write, int err)
{
	struct folio_iter fi;

	bio_for_each_folio_all(fi, bio) {
		if (!write) {
			folio_end_read(fi.folio, err == 0);
			continue;
		}
		if (err)
			mapping_set_error(fi.folio->mapping, err);
		folio_end_writeback(fi.folio);
	}
}

void rmpage_bio_end_whole_folios(struct bio *bio, bool write, int err)
{
	end_whole_folios(bio, write, err);
}

/*
 * A completion's common case in one call: a bio of whole folios whose I/O
 * succeeded has its folios ended and is put. Otherwise nothing is done and
 * the errno is returned, for the caller to report before it ends them.
 */
int rmpage_bio_end_whole_folios_if_ok(struct bio *bio, bool write)
{
	if (bio->bi_status != BLK_STS_OK)
		return blk_status_to_errno(bio->bi_status);
	end_whole_folios(bio, write, 0);
	bio_put(bio);
	return 0;
}

int rmpage_bio_status_errno(struct bio *bio)
{
	return blk_status_to_errno(bio->bi_status);
}

void rmpage_bio_io_error(struct bio *bio) { bio_io_error(bio); }

/*
 * A bio leaves its mount's count of bios in flight, the last act of its
 * completion (InFlight in bio.rs). The count may reach zero here and the
 * mount's teardown, waiting in rmpage_in_flight_wait(), return at once and
 * let the module go; the decrement and the wake-up are an RCU read-side
 * critical section so that free_module()'s synchronize_rcu() waits for
 * them. atomic_dec_and_test() is fully ordered, as wake_up_var() requires,
 * and wake_up_var() uses only the address of the count, which may be freed
 * memory by then.
 */
void rmpage_in_flight_put(atomic_t *count)
{
	rcu_read_lock();
	if (atomic_dec_and_test(count))
		wake_up_var(count);
	rcu_read_unlock();
}

/*
 * Sleeps until no bio holds a unit of @count. The acquire orders whatever
 * the completions did before their decrements before what the caller does
 * next (free the mount's data).
 */
void rmpage_in_flight_wait(atomic_t *count)
{
	wait_var_event(count, !atomic_read_acquire(count));
}

/* A macro for synchronize_rcu() without CONFIG_TASKS_RCU. */
void rmpage_synchronize_rcu_tasks(void) { synchronize_rcu_tasks(); }

struct buffer_head *rmpage_sb_bread(struct super_block *sb, sector_t block)
{
	return sb_bread(sb, block);
}

void rmpage_brelse(struct buffer_head *bh) { brelse(bh); }

/*
 * Bytes @off..@off + @len of metadata block @block, copied into @dst: the
 * buffer is read (or found cached), copied from and released in one call,
 * since the block map reads one pointer per level this way on every
 * lookup. -EIO: the block cannot be read; -EINVAL: the bytes are not all
 * inside it.
 */
int rmpage_sb_read_bytes(struct super_block *sb, sector_t block, size_t off, void *dst,
			 size_t len)
{
	struct buffer_head *bh = sb_bread(sb, block);
	int ret = 0;

	if (!bh)
		return -EIO;
	if (off <= bh->b_size && len <= bh->b_size - off)
		memcpy(dst, bh->b_data + off, len);
	else
		ret = -EINVAL;
	brelse(bh);
	return ret;
}
/* Little-endian word @index of block @block: one block map pointer. */
int rmpage_sb_read_le32(struct super_block *sb, sector_t block, size_t index, u32 *out)
{
	struct buffer_head *bh = sb_bread(sb, block);
	int ret = 0;

	if (!bh)
		return -EIO;
	if (index < bh->b_size / sizeof(__le32))
		*out = le32_to_cpu(((__le32 *)bh->b_data)[index]);
	else
		ret = -EINVAL;
	brelse(bh);
	return ret;
}

void rmpage_bh_copy(struct buffer_head *bh, size_t off, void *dst, size_t len)
{
	memcpy(dst, bh->b_data + off, len);
}
size_t rmpage_bh_size(struct buffer_head *bh) { return bh->b_size; }

void rmpage_bh_map(struct buffer_head *bh, struct super_block *sb, sector_t block,
		   size_t size, bool boundary, bool is_new)
{
	map_bh(bh, sb, block);
	bh->b_size = size;
	if (boundary)
		set_buffer_boundary(bh);
	if (is_new)
		set_buffer_new(bh);
}

struct inode *rmpage_folio_host(struct folio *folio) { return folio->mapping->host; }
struct inode *rmpage_file_inode(struct file *file) { return file_inode(file); }

const unsigned char *rmpage_dentry_name(struct dentry *dentry, unsigned int *len)
{
	*len = dentry->d_name.len;
	return dentry->d_name.name;
}

void rmpage_inode_set_owner(struct inode *inode, u32 uid, u32 gid)
{
	i_uid_write(inode, uid);
	i_gid_write(inode, gid);
}

bool rmpage_sb_rdonly(struct super_block *sb) { return sb_rdonly(sb); }
void rmpage_inode_set_link(struct inode *inode, char *target) { inode->i_link = target; }

void rmpage_inode_set_fop(struct inode *inode, const struct file_operations *fop)
{
	inode->i_fop = fop;
}

void rmpage_statfs_fill(struct kstatfs *buf, u64 magic, u64 bsize, u64 blocks, u64 bfree,
			u64 bavail, u64 files, u64 ffree, u64 namelen, const u8 *uuid)
{
	u8 copy[16];

	memcpy(copy, uuid, sizeof(copy));
	buf->f_type = magic;
	buf->f_bsize = bsize;
	buf->f_blocks = blocks;
	buf->f_bfree = bfree;
	buf->f_bavail = bavail;
	buf->f_files = files;
	buf->f_ffree = ffree;
	buf->f_namelen = namelen;
	buf->f_fsid = uuid_to_fsid(copy);
}

loff_t rmpage_i_size_read(struct inode *inode) { return i_size_read(inode); }
void rmpage_i_size_write(struct inode *inode, loff_t size) { i_size_write(inode, size); }
bool rmpage_inode_is_new(struct inode *inode) { return inode_state_read_once(inode) & I_NEW; }

void rmpage_mapping_set_large_folios(struct inode *inode)
{
	mapping_set_large_folios(inode->i_mapping);
}

loff_t rmpage_bdev_nr_bytes(struct block_device *bdev) { return bdev_nr_bytes(bdev); }

void rmpage_inode_set_times(struct inode *inode, s64 atime, s64 mtime, s64 ctime)
{
	inode_set_atime(inode, atime, 0);
	inode_set_mtime(inode, mtime, 0);
	inode_set_ctime(inode, ctime, 0);
}

bool rmpage_dir_emit(struct dir_context *ctx, const char *name, int namelen,
		     u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, namelen, ino, type);
}


/*
 * The engine=rust|c module parameter. The kernel's Rust module! macro has no
 * string parameters, so it lives here; Rust reads it at each mount.
 */
static char rmpage_engine[8] = "rust";
module_param_string(engine, rmpage_engine, sizeof(rmpage_engine), 0644);
MODULE_PARM_DESC(engine, "Read engine for new mounts: rust (default) or c (fs/mpage.c)");

int rmpage_engine_param(void)
{
	int ret = -1;

	kernel_param_lock(THIS_MODULE);
	if (sysfs_streq(rmpage_engine, "rust"))
		ret = 0;
	else if (sysfs_streq(rmpage_engine, "c"))
		ret = 1;
	kernel_param_unlock(THIS_MODULE);
	return ret;
}

/* ---- the write side ---- */

void rmpage_folio_start_writeback(struct folio *folio) { folio_start_writeback(folio); }
bool rmpage_folio_test_writeback(struct folio *folio) { return folio_test_writeback(folio); }

/* mapping_set_error() on the folio's own mapping: the error reaches fsync. */
void rmpage_folio_set_mapping_error(struct folio *folio, int err)
{
	mapping_set_error(folio->mapping, err);
}

unsigned int rmpage_req_op_write(struct writeback_control *wbc)
{
	return REQ_OP_WRITE | wbc_to_write_flags(wbc);
}

/*
 * Write bios come from the bio_set's mempool with GFP_NOFS: they cannot fail,
 * and writeback must not recurse into the filesystem (fs/mpage.c does the
 * same).
 */
struct bio *rmpage_bio_alloc_write(struct block_device *bdev, unsigned short nr_vecs,
				   struct writeback_control *wbc, struct inode *inode)
{
	struct bio *bio = bio_alloc_bioset(bdev, nr_vecs, REQ_OP_WRITE | wbc_to_write_flags(wbc),
					   GFP_NOFS, &rmpage_bio_set);

	wbc_init_bio(wbc, bio);
	bio->bi_write_hint = inode->i_write_hint;
	return bio;
}

void rmpage_wbc_account_folio(struct writeback_control *wbc, struct folio *folio)
{
	wbc_account_cgroup_owner(wbc, folio, folio_size(folio));
}

/*
 * What writeback asks of every folio it takes, in one call rather than
 * four: its position and size, the file's size (fs/mpage.c reads it once
 * per folio too) and its first buffer, with that buffer's state, every
 * field written. None of the folio's changes while it is locked.
 */
void rmpage_folio_writeback_info(struct folio *folio, struct rmpage_wb_folio *info)
{
	struct buffer_head *head = folio_buffers(folio);

	info->pos = folio_pos(folio);
	info->size = folio_size(folio);
	info->i_size = i_size_read(folio->mapping->host);
	info->head = head;
	info->head_blocknr = head ? head->b_blocknr : 0;
	info->head_next = head ? head->b_this_page : NULL;
	info->head_state = head ? rmpage_bh_state(head) : 0;
}

/*
 * fs/mpage.c's clean_buffers(): the first @n buffers are in a write bio.
 * fs/mpage.c then frees the buffers of an uptodate folio when the kernel
 * holds too many (buffer_heads_over_limit, which modules cannot see); here
 * reclaim frees them when it takes the clean folio.
 */
void rmpage_folio_clean_buffers(struct folio *folio, unsigned int n)
{
	struct buffer_head *head = folio_buffers(folio), *bh = head;

	while (bh && n--) {
		clear_buffer_dirty(bh);
		bh = bh->b_this_page;
		if (bh == head)
			break;
	}
}

/*
 * A locked folio joins a write bio, in fs/mpage.c's order: its cgroup is
 * charged, it is added, and only once it is in the bio are its first @clean
 * buffers cleaned (a failure to add leaves every buffer dirty), its
 * writeback started and its lock dropped. One call per folio: this is the
 * engine's innermost loop.
 */
bool rmpage_bio_add_write_folio(struct bio *bio, struct writeback_control *wbc,
				struct folio *folio, size_t len, unsigned int clean)
{
	wbc_account_cgroup_owner(wbc, folio, folio_size(folio));
	if (!bio_add_folio(bio, folio, len, 0))
		return false;
	rmpage_folio_clean_buffers(folio, clean);
	folio_start_writeback(folio);
	folio_unlock(folio);
	return true;
}

/* The buffer_heads of a locked folio, walked from Rust one at a time. */
struct buffer_head *rmpage_bh_next(struct buffer_head *bh) { return bh->b_this_page; }

static_assert(RMPAGE_BH_UPTODATE == BIT(BH_Uptodate));
static_assert(RMPAGE_BH_DIRTY == BIT(BH_Dirty));
static_assert(RMPAGE_BH_MAPPED == BIT(BH_Mapped));
static_assert(RMPAGE_BH_NEW == BIT(BH_New));
static_assert(RMPAGE_BH_BOUNDARY == BIT(BH_Boundary));

/*
 * The buffer's state bits that the Rust side looks at, read at once, as
 * the buffer_*() tests read them (one word, no lock): writeback asks for
 * them on every buffer of every folio, write_begin on every buffer a
 * write touches.
 */
unsigned int rmpage_bh_state(struct buffer_head *bh)
{
	return READ_ONCE(bh->b_state) & (RMPAGE_BH_UPTODATE | RMPAGE_BH_DIRTY |
					 RMPAGE_BH_MAPPED | RMPAGE_BH_NEW |
					 RMPAGE_BH_BOUNDARY);
}

/* One buffer as writeback looks at it: its state, its block, the next one. */
unsigned int rmpage_bh_writeback_state(struct buffer_head *bh, sector_t *blocknr,
				       struct buffer_head **next)
{
	*blocknr = bh->b_blocknr;
	*next = bh->b_this_page;
	return rmpage_bh_state(bh);
}

/*
 * fs/buffer.c's write_boundary_block(), which is not exported: the block
 * after a BH_Boundary block is most likely the dirty indirect block that
 * maps what follows; start its write so that it merges with the data.
 */
void rmpage_write_boundary_block(struct block_device *bdev, sector_t bblock,
				 unsigned int blocksize)
{
	struct buffer_head *bh = __find_get_block_nonatomic(bdev, bblock + 1, blocksize);

	if (bh) {
		if (buffer_dirty(bh))
			write_dirty_buffer(bh, 0);
		put_bh(bh);
	}
}

/*
 * A block that was just allocated, in the buffer cache, filled with zeroes
 * and never read from disk (an indirect block is built there).
 */
struct buffer_head *rmpage_sb_getblk_zeroed(struct super_block *sb, sector_t block)
{
	struct buffer_head *bh = sb_getblk(sb, block);

	if (!bh)
		return NULL;
	lock_buffer(bh);
	memset(bh->b_data, 0, bh->b_size);
	set_buffer_uptodate(bh);
	unlock_buffer(bh);
	return bh;
}

void rmpage_bh_store(struct buffer_head *bh, size_t off, const void *src, size_t len)
{
	memcpy(bh->b_data + off, src, len);
}

void rmpage_bforget(struct buffer_head *bh) { bforget(bh); }
bool rmpage_bh_write_io_error(struct buffer_head *bh) { return buffer_write_io_error(bh); }
void rmpage_bh_clear_write_io_error(struct buffer_head *bh) { clear_buffer_write_io_error(bh); }

void rmpage_mark_inode_dirty(struct inode *inode) { mark_inode_dirty(inode); }
void rmpage_set_inode_metadata_writeback(struct inode *inode)
{
	set_inode_metadata_writeback(inode);
}

void rmpage_inode_get_owner(struct inode *inode, u32 *uid, u32 *gid)
{
	*uid = i_uid_read(inode);
	*gid = i_gid_read(inode);
}

void rmpage_inode_get_times(struct inode *inode, s64 *atime, s64 *mtime, s64 *ctime)
{
	*atime = inode_get_atime_sec(inode);
	*mtime = inode_get_mtime_sec(inode);
	*ctime = inode_get_ctime_sec(inode);
}

void rmpage_sb_set_rdonly(struct super_block *sb) { sb->s_flags |= SB_RDONLY; }

int rmpage_mmap_prepare(struct vm_area_desc *desc, const struct vm_operations_struct *ops)
{
	file_accessed(desc->file);
	desc->vm_ops = ops;
	return 0;
}

/*
 * page_mkwrite for block-mapped files: the blocks under the faulting folio
 * are allocated now, so that a full disk is a SIGBUS at the store, not a
 * lost write at writeback (the C ext2 allocates only at writeback).
 */
unsigned int rmpage_block_page_mkwrite(struct vm_fault *vmf, get_block_t get_block)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	int err;

	sb_start_pagefault(inode->i_sb);
	file_update_time(vmf->vma->vm_file);
	err = block_page_mkwrite(vmf->vma, vmf, get_block);
	sb_end_pagefault(inode->i_sb);
	return vmf_fs_error(err);
}

/*
 * Testing (the debug_nobh parameter): once a write has left a folio wholly
 * uptodate and its blocks mapped, give up its buffer_heads and leave the
 * folio dirty, as ext2's old nobh mode left written pages, so that
 * writeback maps the folio through the block mapper: the mpage path for
 * folios without buffers, which write_begin and page_mkwrite otherwise
 * never leave. A folio that moved on meanwhile (truncated, under
 * writeback), or with a buffer in use, locked, unmapped or not uptodate,
 * keeps its buffers.
 */
void rmpage_folio_drop_written_buffers(struct address_space *mapping, struct folio *folio)
{
	struct buffer_head *head, *bh;
	bool dirty;

	folio_lock(folio);
	head = folio_buffers(folio);
	if (folio->mapping != mapping || !head || !folio_test_uptodate(folio) ||
	    folio_test_writeback(folio))
		goto out;
	bh = head;
	do {
		if (atomic_read(&bh->b_count) || buffer_locked(bh) ||
		    !buffer_mapped(bh) || !buffer_uptodate(bh))
			goto out;
	} while ((bh = bh->b_this_page) != head);
	dirty = folio_test_dirty(folio);
	bh = head;
	do {
		clear_buffer_dirty(bh);
	} while ((bh = bh->b_this_page) != head);
	/* Freeing the buffers cancels the folio's dirty state with theirs. */
	if (try_to_free_buffers(folio)) {
		if (dirty)
			folio_mark_dirty(folio);
	} else if (dirty) {
		bh = head;
		do {
			mark_buffer_dirty(bh);
		} while ((bh = bh->b_this_page) != head);
	}
out:
	folio_unlock(folio);
}

int rmpage_setattr_prepare(struct dentry *dentry, struct iattr *attr)
{
	return setattr_prepare(&nop_mnt_idmap, dentry, attr);
}

void rmpage_setattr_copy(struct inode *inode, struct iattr *attr)
{
	setattr_copy(&nop_mnt_idmap, inode, attr);
	mark_inode_dirty(inode);
}

struct inode *rmpage_dentry_inode(struct dentry *dentry) { return d_inode(dentry); }

void rmpage_inode_mapping_set_error(struct inode *inode, int err)
{
	mapping_set_error(inode->i_mapping, err);
}

s64 rmpage_now_seconds(void) { return ktime_get_real_seconds(); }

/*
 * A block that was freed while its buffer may sit dirty in the device's
 * cache (an indirect block): forget it, so it is never written over the
 * block's next owner (fs/ext2's ext2_free_branches uses bforget too).
 */
void rmpage_forget_block(struct super_block *sb, sector_t block)
{
	struct buffer_head *bh = sb_find_get_block(sb, block);

	if (bh)
		bforget(bh);
}

/* A locked folio for a buffered write at @index, sized for @len (large folios). */
struct folio *rmpage_write_begin_get_folio(const struct kiocb *iocb,
					   struct address_space *mapping, u64 index, size_t len)
{
	return write_begin_get_folio(iocb, mapping, index, len);
}

/* The locked, referenced folio holding @index, created if missing. */
struct folio *rmpage_grab_folio(struct address_space *mapping, u64 index)
{
	return filemap_grab_folio(mapping, index);
}

/* write_begin's buffers (see rust-bindings/fs.rs, prepare_write) */
struct buffer_head *rmpage_folio_create_buffers(struct folio *folio, unsigned int blocksize)
{
	struct buffer_head *head = folio_buffers(folio);

	return head ? head : create_empty_buffers(folio, blocksize, 0);
}

/* The n-th buffer of a folio's ring (the caller keeps n below its count). */
struct buffer_head *rmpage_bh_nth(struct buffer_head *head, unsigned int n)
{
	while (n--)
		head = head->b_this_page;
	return head;
}

void rmpage_bh_clear_new(struct buffer_head *bh)
{
	if (buffer_new(bh))
		clear_buffer_new(bh);
}
void rmpage_bh_set_uptodate(struct buffer_head *bh) { set_buffer_uptodate(bh); }
void rmpage_bh_read_nowait(struct buffer_head *bh) { bh_read_nowait(bh, 0); }

bool rmpage_bh_wait_uptodate(struct buffer_head *bh)
{
	wait_on_buffer(bh);
	return buffer_uptodate(bh);
}

/* fs/ext2's ext2_has_free_blocks, past its count check (see cred.rs). */
bool rmpage_may_use_reserved_blocks(u32 resuid, u32 resgid)
{
	kgid_t gid = make_kgid(&init_user_ns, resgid);

	return capable(CAP_SYS_RESOURCE) ||
	       uid_eq(make_kuid(&init_user_ns, resuid), current_fsuid()) ||
	       (!gid_eq(gid, GLOBAL_ROOT_GID) && in_group_p(gid));
}

/* The namespace (see rust-bindings/fs.rs and inode.rs) */
void rmpage_folio_lock(struct folio *folio) { folio_lock(folio); }

/* A new inode of @dir, owned as the caller and @dir's setgid bit say. */
void rmpage_inode_init_owner(struct inode *inode, const struct inode *dir, umode_t mode)
{
	inode_init_owner(&nop_mnt_idmap, inode, dir, mode);
}

/* mtime and ctime to now, dirtied: a directory whose entries changed. */
void rmpage_inode_touch_mtime_ctime(struct inode *inode)
{
	inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode));
	mark_inode_dirty(inode);
}

void rmpage_inode_touch_ctime(struct inode *inode)
{
	inode_set_ctime_current(inode);
	mark_inode_dirty(inode);
}

unsigned int rmpage_inode_nlink(const struct inode *inode) { return inode->i_nlink; }
bool rmpage_is_bad_inode(struct inode *inode) { return is_bad_inode(inode); }
bool rmpage_is_dirsync(struct inode *inode) { return IS_DIRSYNC(inode); }
