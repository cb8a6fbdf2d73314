#!/usr/bin/env bash
# pgarchive's push and restore, side by side with what users would run
# instead, in one run (issue 13). Writes docs/benchmarks.md and
# docs/benchmarks.png.
#
#   bash tests/bench/run.sh [--sizes 256,2048,8192] [--rounds 3] [--scale 50] [--until HH:MM] [--no-profile]
#
#   --sizes   incompressible .sql.gz dumps to push, in MiB (default 256,2048,8192)
#   --rounds  how many times each case runs, round-robin (default 3)
#   --scale   pgbench -i -s for the restore cases; 0 skips them (default 50)
#   --until   start no round that would end after this time (UTC, HH:MM);
#             the page then says how many rounds ran
#   --no-profile  skip the perf profile of pushes to MinIO
#
# Builds pgarchive as users get it (go build, no test tags), the stock
# rclone 1.76 CLI when missing, then runs tests/bench's TestBench, which
# starts MinIO, sshd and PostgreSQL 15 on loopback through tests/harness,
# makes the dumps (kept in $PGARCHIVE_BENCH_CACHE, default
# /var/tmp/pgarchive-bench, for the next run) and times every case with GNU
# time. Disk: about twice the largest size, plus the sizes' sum for the cache.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/../.."
root=$PWD

sizes=256,2048,8192 rounds=3 scale=50 profile=1 deadline=0
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--scale) scale=$2; shift 2 ;;
	--until) deadline=$(date -u -d "$2" +%s); shift 2 ;;
	--no-profile) profile=0; shift ;;
	-h | --help) sed -n '2,20p' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ "$rounds" -ge 1 ] || { echo "run.sh: --rounds must be at least 1" >&2; exit 2; }

for tool in /usr/bin/time age gpg gzip psql pg_dump pgbench pg_restore /usr/sbin/sshd; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing: run tests/setup.sh" >&2; exit 1; }
done

tools=${PGARCHIVE_TOOLS_BIN:-/root/.cache/pgarchive-tools/bin}
rclone=$tools/rclone
if ! "$rclone" version 2>/dev/null | grep -q '^rclone v1\.76\.'; then
	echo "run.sh: building the rclone 1.76 CLI into $tools (Debian's 1.60 cannot talk to MinIO's S3 here)"
	mkdir -p "$tools"
	GOBIN=$tools go install github.com/rclone/rclone@v1.76.0
fi

work=$(mktemp -d /var/tmp/pgarchive-bench-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
cache=${PGARCHIVE_BENCH_CACHE:-/var/tmp/pgarchive-bench}
out=$cache/last-run # results.json and partsize.txt, kept after the run
rm -rf "$out"
mkdir -p "$out"

echo "run.sh: building pgarchive"
source=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- cmd internal go.mod go.sum 2>/dev/null || source="$source with uncommitted changes in cmd/, internal/ or go.mod"
go build -trimpath -o "$work/pgarchive" ./cmd/pgarchive

echo "run.sh: the part size rclone picks for a 50 GiB dump"
go test -count=1 -v -run 'PartSize' ./tests/bench >"$out/partsize.txt" 2>&1 || { cat "$out/partsize.txt"; exit 1; }
grep -E '^(=== RUN|--- |    partsize_test)' "$out/partsize.txt" | sed 's/^    //' >"$out/partsize.clean"
mv "$out/partsize.clean" "$out/partsize.txt"
cat "$out/partsize.txt"

echo "run.sh: measuring sizes $sizes MiB, $rounds rounds, pgbench scale $scale"
PGARCHIVE_BENCH_OUT=$out \
	PGARCHIVE_BENCH_DOC=$root/docs/benchmarks.md \
	PGARCHIVE_BINARY=$work/pgarchive \
	PGARCHIVE_BENCH_RCLONE=$rclone \
	PGARCHIVE_BENCH_CACHE=$cache \
	PGARCHIVE_BENCH_SIZES=$sizes \
	PGARCHIVE_BENCH_ROUNDS=$rounds \
	PGARCHIVE_BENCH_SCALE=$scale \
	PGARCHIVE_BENCH_PROFILE=$profile \
	PGARCHIVE_BENCH_DEADLINE=$deadline \
	PGARCHIVE_BENCH_SOURCE=$source \
	go test -count=1 -v -timeout 0 -run '^TestBench$' ./tests/bench

echo "run.sh: drawing docs/benchmarks.png"
(cd tests/bench/chart && go run . "$out/results.json" "$root/docs/benchmarks.png")
echo "run.sh: wrote docs/benchmarks.md and docs/benchmarks.png"
