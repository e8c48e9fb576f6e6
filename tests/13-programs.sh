#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Real programs on rext2 with each engine and on the in-kernel C ext2, at
# 4 KiB blocks, each checking its own result:
#  - SQLite (python3's sqlite3): a table of 3,000 rows built in
#    transactions, 900 updated and 900 deleted (in WAL mode, whose
#    shared-memory index is a shared mapping of a file on the mount), then
#    VACUUM; PRAGMA integrity_check is "ok" and the rows are the script's
#    model of them (sha256 of all rows, count, sums);
#  - git: init, add and commit of a copy of our src/, rust-bindings/ and
#    tests/ (less the host tests' build), then repack -a -d (a pack
#    written and renamed, the loose objects unlinked); git fsck --full is
#    clean, git status --porcelain empty, the files as the source;
#  - dbench (Debian's, NetBench-like load: creates, renames, unlinks,
#    directories) with 4 clients: exits 0.
# Then the file system is unmounted and mounted again: integrity_check,
# the same rows, git fsck --full, git status --porcelain empty; then
# e2fsck -fn is clean, and a read-only mount under the C ext2 gives the
# same database rows and the same git checks.
#
# RMPAGE_PROGRAMS_CONFIGS (default "rust": the programs check themselves,
# the C ext2 reads the result at the end, and the engines differ in data
# I/O, which 09-write covers with both) picks the configurations;
# RMPAGE_PROGRAMS_DBENCH_SECONDS (default 5) how long dbench runs.
. "$(dirname "$0")/lib/rmpage.sh"

read -r -a configs <<< "${RMPAGE_PROGRAMS_CONFIGS:-rust}"
has() { [[ " ${configs[*]} " == *" $1 "* ]]; }
for cfg in "${configs[@]}"; do
	case $cfg in rust | c | ext2) ;; *) echo "unknown configuration $cfg" >&2; exit 1 ;; esac
done
dbench_secs=${RMPAGE_PROGRAMS_DBENCH_SECONDS:-5}

ktap_print_header
ktap_set_plan $((9 * ${#configs[@]}))

if has rust || has c; then
	rm_load || ktap_exit_fail_msg "cannot load $RMPAGE_KO"
fi
mnt=$WORK/mnt
mkdir -p "$mnt"

# sqlite_db build|check DB [ro]: build: make the database, check it against
# the model, print "ok DIGEST"; check: integrity_check and the digest of
# the rows (ro: opened read-only and immutable, for a read-only mount).
sqlite_db() {
	timeout 600 python3 -S - "$@" <<'PY'
import hashlib, random, sqlite3, sys

mode, path = sys.argv[1], sys.argv[2]
ro = len(sys.argv) > 3


def digest(con):
    """sha256 of all rows in id order, and count(*), sum(k), sum(length(body))."""
    h = hashlib.sha256()
    for row in con.execute("SELECT id, k, body FROM t ORDER BY id"):
        h.update(repr(row).encode())
    count, ksum, blen = con.execute("SELECT count(*), sum(k), sum(length(body)) FROM t").fetchone()
    return f"{h.hexdigest()} {count} {ksum} {blen}"


def model_digest(rows):
    h = hashlib.sha256()
    for i in sorted(rows):
        h.update(repr((i, *rows[i])).encode())
    return f"{h.hexdigest()} {len(rows)} {sum(k for k, _ in rows.values())} {sum(len(b) for _, b in rows.values())}"


def integrity(con):
    return con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


if mode == "check":
    uri = f"file:{path}?mode=ro&immutable=1" if ro else f"file:{path}"
    con = sqlite3.connect(uri, uri=True)
    print("ok" if integrity(con) else "CORRUPT", digest(con))
    sys.exit(0)

rng = random.Random(13)
body = lambda: rng.randbytes(rng.randint(8, 800)).hex()
rows = {}
con = sqlite3.connect(path)
con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, body TEXT)")
con.execute("CREATE INDEX tk ON t (k)")
for start in range(1, 3001, 500):
    with con:
        for i in range(start, start + 500):
            rows[i] = (rng.randrange(1 << 30), body())
            con.execute("INSERT INTO t VALUES (?, ?, ?)", (i, *rows[i]))
con.execute("PRAGMA journal_mode=WAL")
ids = sorted(rows)
updates = rng.sample(ids, 900)
for start in range(0, len(updates), 100):
    with con:
        for i in updates[start:start + 100]:
            rows[i] = (rng.randrange(1 << 30), body())
            con.execute("UPDATE t SET k = ?, body = ? WHERE id = ?", (*rows[i], i))
with con:
    for i in rng.sample(ids, 900):
        if i in rows:
            del rows[i]
            con.execute("DELETE FROM t WHERE id = ?", (i,))
con.execute("PRAGMA journal_mode=DELETE")
con.execute("VACUUM")
got, want = digest(con), model_digest(rows)
ok = integrity(con) and got == want
if not ok:
    print(f"integrity {integrity(con)}, rows {got}, model {want}", file=sys.stderr)
con.close()
print("ok" if ok else "MISMATCH", got)
PY
}

# The source tree for git.
src=$WORK/git-src
rm -rf "$src"
mkdir -p "$src"
tar -c --exclude=target src rust-bindings tests | tar -x -C "$src"
nfiles=$(find "$src" -type f | wc -l)
GIT=(git -c user.name=rmpage -c user.email=rmpage@localhost -c init.defaultBranch=main -c gc.auto=0)

# git_check DIR: git fsck --full clean, git status --porcelain empty, and
# the files as the source (diff -r); prints what it found.
git_check() {
	local fsck status diffs rc
	fsck=$(cd "$1" && "${GIT[@]}" fsck --full --strict 2>&1)
	rc=$?
	status=$(cd "$1" && "${GIT[@]}" --no-optional-locks status --porcelain 2>&1)
	diffs=$(diff -r -q -x .git "$src" "$1" 2>&1)
	echo "fsck exit $rc${fsck:+ ($fsck)}, status '$status'${diffs:+, differs from the source: $diffs}" | head -c 600
	[ "$rc" = 0 ] && [ -z "$fsck" ] && [ -z "$status" ] && [ -z "$diffs" ]
}

for cfg in "${configs[@]}"; do
	name=$(cfg_name "$cfg")
	img=$WORK/programs-$cfg.img
	rm_mkfs "$img" 4096 256M "" -N 4096
	dev=$(rm_loop "$img")
	ktap_check "$name: read-write mount succeeds" mount_cfg "$cfg" "$dev"
	start=$(date +%s)

	t=$(date +%s)
	read -r sq_ok sq_digest < <(sqlite_db build "$mnt/db.sqlite" 2> "$WORK/sqlite.err")
	sed 's/^/# /' "$WORK/sqlite.err" | tail -n 6
	ktap_check_all "$name: SQLite builds 3000 rows, updates 900 and deletes 900 (WAL), VACUUMs; integrity_check ok and the rows are the model's (${sq_digest:-no digest}; $(( $(date +%s) - t ))s)" \
		'[ "$sq_ok" = ok ]'

	t=$(date +%s)
	out=$(cd "$mnt" && mkdir repo && cp -a "$src/." repo/ && cd repo &&
		"${GIT[@]}" init -q && "${GIT[@]}" add -A && "${GIT[@]}" commit -q -m "rmpage sources" &&
		"${GIT[@]}" repack -a -d -q && git_check .)
	rc=$?
	ktap_check "$name: git init, add, commit and repack -a -d of $nfiles files; fsck --full clean, status clean, the files as the source ($out; $(( $(date +%s) - t ))s)" \
		[ $rc = 0 ]

	if command -v dbench > /dev/null; then
		mkdir -p "$mnt/dbench"
		t=$(date +%s)
		timeout 300 dbench -c /usr/share/dbench/client.txt -D "$mnt/dbench" -t "$dbench_secs" 4 > "$WORK/dbench.out" 2>&1
		rc=$?
		grep -E 'Throughput|ERROR|rror' "$WORK/dbench.out" | head -n 5 | sed 's/^/# /'
		[ $rc = 0 ] || tail -n 10 "$WORK/dbench.out" | sed 's/^/# /'
		ktap_check "$name: dbench with 4 clients for ${dbench_secs}s exits 0 (exit $rc; $(( $(date +%s) - t ))s with setup and cleanup)" [ $rc = 0 ]
	else
		ktap_test_skip "$name: dbench with 4 clients exits 0" "no dbench (scripts/setup.sh installs it)"
	fi

	remounted=0
	umount "$mnt" && mount_cfg "$cfg" "$dev" && remounted=1
	rm_drop_caches
	read -r sq2_ok sq2_digest < <(sqlite_db check "$mnt/db.sqlite" 2>&1)
	ktap_check_all "$name: after umount and mount, integrity_check ${sq2_ok:-failed} and the same rows (${sq2_digest:-none})" \
		'[ $remounted = 1 ] && [ "$sq2_ok" = ok ] && [ "$sq2_digest" = "$sq_digest" ]'
	out=$(git_check "$mnt/repo")
	rc=$?
	ktap_check "$name: after umount and mount, git fsck --full clean, status --porcelain empty, the files as the source ($out)" [ $rc = 0 ]
	ktap_check "$name: umount succeeds" umount "$mnt"
	losetup -d "$dev"
	ktap_print_msg "$name: $(( $(date +%s) - start ))s"
	ktap_check "$name: e2fsck -fn is clean" rm_fsck "$img"

	dev=$(rm_loop "$img" ro)
	sq3_ok= sq3_digest= out= rc=1
	if mount -t ext2 -o ro "$dev" "$mnt"; then
		rm_drop_caches
		read -r sq3_ok sq3_digest < <(sqlite_db check "$mnt/db.sqlite" ro 2>&1)
		out=$(git_check "$mnt/repo")
		rc=$?
		umount "$mnt"
	fi
	losetup -d "$dev"
	ktap_check_all "$name: a read-only mount under the C ext2: integrity_check ${sq3_ok:-failed}, the same rows; git: $out" \
		'[ "$sq3_ok" = ok ] && [ "$sq3_digest" = "$sq_digest" ] && [ $rc = 0 ]'
	rm -f "$img"
done
rm -rf "$src"

ktap_finished
