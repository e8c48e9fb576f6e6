// SPDX-License-Identifier: GPL-2.0
/*
 * The random-write probe: N 4 KiB pwrites at distinct random block offsets
 * of FILE (a fixed permutation, so every configuration writes the same
 * blocks in the same order), fsync, the same writes again over the cached
 * folios, fsync. Prints each phase's time (CLOCK_MONOTONIC: under -icount,
 * executed instructions) and, when PROF_DIR is set, has the kprof plugin
 * count each phase's kernel instructions, under the name TAG-PHASE.
 *
 *   PROF_DIR=/tmp/out PROF_TAG=rext2-rust probe FILE N
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *prof_dir, *prof_tag;

static void prof_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", prof_dir, name);
}

static int prof_exists(const char *name)
{
	char path[512];
	struct stat st;

	prof_path(path, sizeof(path), name);
	return stat(path, &st) == 0;
}

static void prof_remove(const char *name)
{
	char path[512];

	prof_path(path, sizeof(path), name);
	unlink(path);
}

/* Written aside and renamed: the plugin must never read half a request. */
static void prof_request(const char *name, const char *content)
{
	char path[512], tmp[512];
	FILE *f;

	prof_path(path, sizeof(path), name);
	snprintf(tmp, sizeof(tmp), "%s/tmp-%s", prof_dir, name);
	f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(1);
	}
	fputs(content, f);
	fclose(f);
	if (rename(tmp, path)) {
		perror(path);
		exit(1);
	}
}

static void prof_wait(const char *answer)
{
	while (!prof_exists(answer))
		usleep(1000);
	prof_remove(answer);
}

static void prof_start(void)
{
	if (!prof_dir)
		return;
	prof_remove("prof-started");
	prof_request("prof-start", "");
	prof_wait("prof-started");
}

static void prof_stop(const char *phase)
{
	char name[128];

	if (!prof_dir)
		return;
	snprintf(name, sizeof(name), "%s-%s", prof_tag, phase);
	prof_remove("prof-dumped");
	prof_request("prof-stop", name);
	prof_wait("prof-dumped");
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The file's blocks in a fixed random order (xorshift64, Fisher-Yates). */
static long *shuffled_blocks(long count)
{
	unsigned long long state = 88172645463325252ull;
	long *order = malloc(count * sizeof(*order));

	if (!order) {
		perror("malloc");
		exit(1);
	}
	for (long i = 0; i < count; i++)
		order[i] = i;
	for (long i = count - 1; i > 0; i--) {
		long j, swap;

		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		j = state % (i + 1);
		swap = order[i];
		order[i] = order[j];
		order[j] = swap;
	}
	return order;
}

int main(int argc, char **argv)
{
	static const char *phases[] = { "cold", "fsync", "warm", "fsync2" };
	char buf[4096];
	long *order, blocks;
	int fd, writes;

	if (argc != 3) {
		fprintf(stderr, "usage: probe FILE N\n");
		return 2;
	}
	writes = atoi(argv[2]);
	prof_dir = getenv("PROF_DIR");
	if (prof_dir && !*prof_dir)
		prof_dir = NULL;
	prof_tag = getenv("PROF_TAG") ? getenv("PROF_TAG") : "probe";
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	blocks = lseek(fd, 0, SEEK_END) / 4096;
	if (blocks < writes) {
		fprintf(stderr, "%s: %ld blocks, fewer than %d writes\n", argv[1], blocks, writes);
		return 1;
	}
	order = shuffled_blocks(blocks);
	memset(buf, 0x5a, sizeof(buf));
	for (int phase = 0; phase < 4; phase++) {
		int sync = phase == 1 || phase == 3;
		double start;

		prof_start();
		start = now_ns();
		if (sync && fsync(fd)) {
			perror("fsync");
			return 1;
		}
		for (int i = 0; !sync && i < writes; i++) {
			buf[0] = i;
			buf[1] = phase;
			if (pwrite(fd, buf, 4096, order[i] * 4096) != 4096) {
				perror("pwrite");
				return 1;
			}
		}
		double took = now_ns() - start;

		prof_stop(phases[phase]);
		if (sync)
			printf("%s %s %.3f ms\n", prof_tag, phases[phase], took / 1e6);
		else
			printf("%s %s %.1f ns/write\n", prof_tag, phases[phase], took / writes);
	}
	return 0;
}
