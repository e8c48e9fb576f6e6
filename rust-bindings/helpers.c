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

/*
 * Whether the folio belongs to a file on a read-only super_block. A folio
 * reference does not pin its inode, which truncation and eviction may free
 * meanwhile: inodes and super_blocks are freed after an RCU grace period, so
 * the chain is followed under rcu_read_lock.
 */
bool rmpage_folio_read_only(struct folio *folio)
{
	struct address_space *mapping;
	struct inode *host;
	bool ro = false;

	rcu_read_lock();
	mapping = folio_mapping(folio);
	host = mapping ? READ_ONCE(mapping->host) : NULL;
	if (host)
		ro = sb_rdonly(host->i_sb);
	rcu_read_unlock();
	return ro;
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
 * Readahead is optional: its allocations must not retry hard or warn, and
 * may fail (mpage.c does the same). Reads for read_folio must make progress,
 * so they come from the bio_set's mempool with GFP_KERNEL.
 */
struct bio *rmpage_bio_alloc(struct block_device *bdev, unsigned short nr_vecs,
			     unsigned int opf, bool readahead)
{
	gfp_t gfp = GFP_KERNEL;

	if (readahead)
		gfp |= __GFP_NORETRY | __GFP_NOWARN;
	return bio_alloc(bdev, nr_vecs, opf, gfp);
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

int rmpage_bio_status_errno(struct bio *bio)
{
	return blk_status_to_errno(bio->bi_status);
}

void rmpage_bio_io_error(struct bio *bio) { bio_io_error(bio); }

struct buffer_head *rmpage_sb_bread(struct super_block *sb, sector_t block)
{
	return sb_bread(sb, block);
}

void rmpage_brelse(struct buffer_head *bh) { brelse(bh); }
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
			u64 bavail, u64 files, u64 ffree, u64 namelen)
{
	buf->f_type = magic;
	buf->f_bsize = bsize;
	buf->f_blocks = blocks;
	buf->f_bfree = bfree;
	buf->f_bavail = bavail;
	buf->f_files = files;
	buf->f_ffree = ffree;
	buf->f_namelen = namelen;
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
