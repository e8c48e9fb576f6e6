// SPDX-License-Identifier: GPL-2.0
/*
 * kprof: a QEMU TCG plugin that counts the guest kernel's executed
 * instructions per translation block, between a start and a stop request
 * that the guest makes by creating files in the VM's output directory
 * (plugin argument dir=PATH, shared with the guest at /tmp/out):
 *
 *   PATH/prof-start        zero the counts and count; answered with
 *                          PATH/prof-started
 *   PATH/prof-stop         (its content: a name) write PATH/prof-NAME.txt,
 *                          one "vaddr insns execs" line per block, and stop;
 *                          answered with PATH/prof-dumped
 *
 * Under -icount the guest runs one vCPU at a time on one host thread, so
 * the counts need no atomics. Only addresses in the kernel half are
 * counted: user space is the probe's own loop. scripts/profile.sh builds it
 * against the few plugin API functions it declares itself (API version 2,
 * which QEMU 10 still loads).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*vcpu_udata_cb)(unsigned int vcpu, void *udata);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
/* flags: QEMU_PLUGIN_CB_NO_REGS (0) */
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, vcpu_udata_cb cb,
						 int flags, void *udata);

__attribute__((visibility("default"))) int qemu_plugin_version = 2;

/* One translation of a block: a block translated again gets a second one. */
struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t execs;
	struct block *next;
};

static struct block *blocks;
static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int counting;
static char dir[512];

static void on_exec(unsigned int vcpu, void *udata)
{
	struct block *block = udata;

	if (counting)
		block->execs++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	struct block *block;

	if (vaddr < 0xffff800000000000ull)
		return;
	block = calloc(1, sizeof(*block));
	if (!block)
		return;
	block->vaddr = vaddr;
	block->insns = qemu_plugin_tb_n_insns(tb);
	pthread_mutex_lock(&blocks_lock);
	block->next = blocks;
	blocks = block;
	pthread_mutex_unlock(&blocks_lock);
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, 0, block);
}

/* Takes request file NAME if it is there, its content into BUF. */
static bool take_request(const char *name, char *buf, size_t len)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (buf) {
		size_t n = fread(buf, 1, len - 1, f);

		buf[n] = 0;
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = 0;
	}
	fclose(f);
	unlink(path);
	return true;
}

static void answer(const char *name)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f)
		fclose(f);
}

static void dump(const char *name)
{
	char path[700];
	struct block *block;
	FILE *f;

	snprintf(path, sizeof(path), "%s/prof-%s.txt", dir, name);
	f = fopen(path, "w");
	if (!f)
		return;
	pthread_mutex_lock(&blocks_lock);
	for (block = blocks; block; block = block->next)
		if (block->execs)
			fprintf(f, "%llx %llu %llu\n", (unsigned long long)block->vaddr,
				(unsigned long long)block->insns,
				(unsigned long long)block->execs);
	pthread_mutex_unlock(&blocks_lock);
	fclose(f);
}

/* The guest's requests arrive as files: look every 10 ms. */
static void *serve_requests(void *arg)
{
	char name[128];
	struct block *block;

	for (;;) {
		usleep(10000);
		if (take_request("prof-start", NULL, 0)) {
			pthread_mutex_lock(&blocks_lock);
			for (block = blocks; block; block = block->next)
				block->execs = 0;
			pthread_mutex_unlock(&blocks_lock);
			counting = 1;
			answer("prof-started");
		}
		if (take_request("prof-stop", name, sizeof(name))) {
			counting = 0;
			if (!strchr(name, '/'))
				dump(name);
			answer("prof-dumped");
		}
	}
	return NULL;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
							      const void *info, int argc,
							      char **argv)
{
	pthread_t thread;

	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "dir=", 4))
			snprintf(dir, sizeof(dir), "%s", argv[i] + 4);
	if (!dir[0] || pthread_create(&thread, NULL, serve_requests, NULL))
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
