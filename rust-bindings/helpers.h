/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for rmpage's Rust abstractions: one small exported function for
 * each static inline function or macro that Rust cannot call. No policy lives
 * here; every decision is made in Rust.
 */
#ifndef RMPAGE_HELPERS_H
#define RMPAGE_HELPERS_H

#include <linux/types.h>

struct bio;
struct block_device;
struct buffer_head;
struct dentry;
struct dir_context;
struct file;
struct file_operations;
struct folio;
struct folio_iter;
struct inode;
struct readahead_control;
struct super_block;

/* folio */
loff_t rmpage_folio_pos(struct folio *folio);
size_t rmpage_folio_size(struct folio *folio);
bool rmpage_folio_test_uptodate(struct folio *folio);
void rmpage_folio_mark_uptodate(struct folio *folio);
void rmpage_folio_zero_segment(struct folio *folio, size_t start, size_t end);
bool rmpage_folio_has_buffers(struct folio *folio);
void rmpage_folio_get(struct folio *folio);
void rmpage_folio_put(struct folio *folio);
u64 rmpage_folio_index(struct folio *folio);
bool rmpage_folio_test_locked(struct folio *folio);
bool rmpage_folio_host_is(struct folio *folio, struct inode *inode);
void *rmpage_kmap_local_folio(struct folio *folio, size_t offset);
void rmpage_kunmap_local(void *addr);
struct folio *rmpage_read_mapping_folio(struct inode *inode, u64 index);

/* readahead_control */
struct folio *rmpage_readahead_folio(struct readahead_control *rac);
unsigned int rmpage_readahead_count(struct readahead_control *rac);

/* bio */
int rmpage_bio_set_init(unsigned int front_pad);
void rmpage_bio_set_exit(void);
struct bio *rmpage_bio_alloc(struct block_device *bdev, unsigned short nr_vecs,
			     unsigned int opf, bool readahead, bool nowait);
unsigned int rmpage_req_op_read(bool readahead);
struct folio *rmpage_bio_first_folio(struct bio *bio, struct folio_iter *fi);
struct folio *rmpage_bio_next_folio(struct bio *bio, struct folio_iter *fi);
void rmpage_bio_end_whole_folios(struct bio *bio, bool write, int err);
int rmpage_bio_end_whole_folios_if_ok(struct bio *bio, bool write);
struct bio *rmpage_bio_grow(struct bio *old);
void rmpage_bio_free_moved(struct bio *old);
int rmpage_bio_status_errno(struct bio *bio);
void rmpage_bio_io_error(struct bio *bio);
void rmpage_in_flight_put(atomic_t *count);
void rmpage_in_flight_wait(atomic_t *count);
void rmpage_synchronize_rcu_tasks(void);

/* buffer_head */
struct buffer_head *rmpage_sb_bread(struct super_block *sb, sector_t block);
void rmpage_brelse(struct buffer_head *bh);
int rmpage_sb_read_bytes(struct super_block *sb, sector_t block, size_t off, void *dst,
			 size_t len);
int rmpage_sb_read_le32(struct super_block *sb, sector_t block, size_t index, u32 *out);
void rmpage_bh_copy(struct buffer_head *bh, size_t off, void *dst, size_t len);
size_t rmpage_bh_size(struct buffer_head *bh);
void rmpage_bh_map(struct buffer_head *bh, struct super_block *sb, sector_t block,
		   size_t size, bool boundary, bool is_new);

/* inode, dentry, file and super_block */
struct inode *rmpage_folio_host(struct folio *folio);
struct inode *rmpage_file_inode(struct file *file);
const unsigned char *rmpage_dentry_name(struct dentry *dentry, unsigned int *len);
void rmpage_inode_set_owner(struct inode *inode, u32 uid, u32 gid);
bool rmpage_sb_rdonly(struct super_block *sb);
void rmpage_inode_set_link(struct inode *inode, char *target);
void rmpage_inode_set_fop(struct inode *inode, const struct file_operations *fop);
struct kstatfs;
void rmpage_statfs_fill(struct kstatfs *buf, u64 magic, u64 bsize, u64 blocks, u64 bfree,
			u64 bavail, u64 files, u64 ffree, u64 namelen, const u8 *uuid);
loff_t rmpage_i_size_read(struct inode *inode);
void rmpage_i_size_write(struct inode *inode, loff_t size);
bool rmpage_inode_is_new(struct inode *inode);
void rmpage_mapping_set_large_folios(struct inode *inode);
loff_t rmpage_bdev_nr_bytes(struct block_device *bdev);
void rmpage_inode_set_times(struct inode *inode, s64 atime, s64 mtime, s64 ctime);
bool rmpage_dir_emit(struct dir_context *ctx, const char *name, int namelen,
		     u64 ino, unsigned int type);
int rmpage_engine_param(void);

/* the write side */
struct writeback_control;
struct vm_area_desc;
struct vm_operations_struct;
struct vm_fault;
struct iattr;
/* The buffer_head state bits, as bit masks (bindgen needs literals). */
#define RMPAGE_BH_UPTODATE 0x1u
#define RMPAGE_BH_DIRTY 0x2u
#define RMPAGE_BH_MAPPED 0x10u
#define RMPAGE_BH_NEW 0x20u
#define RMPAGE_BH_BOUNDARY 0x200u
void rmpage_folio_start_writeback(struct folio *folio);
bool rmpage_folio_test_writeback(struct folio *folio);
void rmpage_folio_set_mapping_error(struct folio *folio, int err);
unsigned int rmpage_req_op_write(struct writeback_control *wbc);
struct bio *rmpage_bio_alloc_write(struct block_device *bdev, unsigned short nr_vecs,
				   struct writeback_control *wbc, struct inode *inode);
void rmpage_wbc_account_folio(struct writeback_control *wbc, struct folio *folio);
/* A folio handed out for writeback, as rmpage_folio_writeback_info() reads it. */
struct rmpage_wb_folio {
	loff_t pos;
	size_t size;
	loff_t i_size;
	struct buffer_head *head;
	/* Of head, when not NULL: its block, the buffer after it, its state. */
	sector_t head_blocknr;
	struct buffer_head *head_next;
	unsigned int head_state;
};
void rmpage_folio_writeback_info(struct folio *folio, struct rmpage_wb_folio *info);
void rmpage_folio_clean_buffers(struct folio *folio, unsigned int n);
bool rmpage_bio_add_write_folio(struct bio *bio, struct writeback_control *wbc,
				struct folio *folio, size_t len, unsigned int clean);
struct buffer_head *rmpage_bh_next(struct buffer_head *bh);
unsigned int rmpage_bh_state(struct buffer_head *bh);
unsigned int rmpage_bh_writeback_state(struct buffer_head *bh, sector_t *blocknr,
				       struct buffer_head **next);
void rmpage_write_boundary_block(struct block_device *bdev, sector_t bblock,
				 unsigned int blocksize);
struct buffer_head *rmpage_sb_getblk_zeroed(struct super_block *sb, sector_t block);
void rmpage_bh_store(struct buffer_head *bh, size_t off, const void *src, size_t len);
void rmpage_bforget(struct buffer_head *bh);
bool rmpage_bh_write_io_error(struct buffer_head *bh);
void rmpage_bh_clear_write_io_error(struct buffer_head *bh);
void rmpage_mark_inode_dirty(struct inode *inode);
void rmpage_set_inode_metadata_writeback(struct inode *inode);
void rmpage_inode_get_owner(struct inode *inode, u32 *uid, u32 *gid);
void rmpage_inode_get_times(struct inode *inode, s64 *atime, s64 *mtime, s64 *ctime);
void rmpage_sb_set_rdonly(struct super_block *sb);
int rmpage_mmap_prepare(struct vm_area_desc *desc, const struct vm_operations_struct *ops);
struct folio *rmpage_grab_folio(struct address_space *mapping, u64 index);
void rmpage_folio_drop_written_buffers(struct address_space *mapping, struct folio *folio);
unsigned int rmpage_block_page_mkwrite(struct vm_fault *vmf,
				       int (*get_block)(struct inode *, sector_t,
							struct buffer_head *, int));
int rmpage_setattr_prepare(struct dentry *dentry, struct iattr *attr);
void rmpage_setattr_copy(struct inode *inode, struct iattr *attr);
struct inode *rmpage_dentry_inode(struct dentry *dentry);
void rmpage_inode_mapping_set_error(struct inode *inode, int err);
s64 rmpage_now_seconds(void);
struct kiocb;
struct address_space;
struct folio *rmpage_write_begin_get_folio(const struct kiocb *iocb,
					   struct address_space *mapping, u64 index, size_t len);
void rmpage_forget_block(struct super_block *sb, sector_t block);
struct buffer_head *rmpage_folio_create_buffers(struct folio *folio, unsigned int blocksize);
bool rmpage_may_use_reserved_blocks(u32 resuid, u32 resgid);
struct buffer_head *rmpage_bh_nth(struct buffer_head *head, unsigned int n);
void rmpage_bh_clear_new(struct buffer_head *bh);
void rmpage_bh_set_uptodate(struct buffer_head *bh);
void rmpage_bh_read_nowait(struct buffer_head *bh);
bool rmpage_bh_wait_uptodate(struct buffer_head *bh);

/* namespace */
void rmpage_folio_lock(struct folio *folio);
void rmpage_inode_init_owner(struct inode *inode, const struct inode *dir, umode_t mode);
void rmpage_inode_touch_mtime_ctime(struct inode *inode);
void rmpage_inode_touch_ctime(struct inode *inode);
unsigned int rmpage_inode_nlink(const struct inode *inode);
bool rmpage_is_bad_inode(struct inode *inode);
bool rmpage_is_dirsync(struct inode *inode);

#endif
