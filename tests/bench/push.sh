#!/usr/bin/env bash
# Push throughput and memory, side by side with stock tools, in one run.
#
#   bash tests/bench/push.sh [SIZE_MIB]      (default 1024)
#
# Makes a SIZE_MIB dump (plain pg_dump header, then incompressible bytes, so
# neither gzip nor the disk cache flatters the figures), then times with
# /usr/bin/time -v, each on a fresh target directory:
#   cp                          the disk's own copy speed
#   age -r (stock CLI)          encryption alone, one output
#   pgarchive push, 1 target    read + SHA-256 + age + one local target
#   pgarchive push, 3 targets   the same fanned out to three local targets
# and prints wall time, MiB/s and peak RSS for each. Memory must stay flat as
# SIZE_MIB grows (streaming, no temp files); compare two sizes to see it.
# Nothing is asserted: these are figures to read.
set -euo pipefail
cd "$(dirname "$0")/../.."

size_mib=${1:-1024}
work=$(mktemp -d /tmp/pgarchive-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

go build -o "$work/pgarchive" ./cmd/pgarchive
"$work/pgarchive" keygen >"$work/key.txt" 2>/dev/null
recipient=$(sed -n 's/^# public key: //p' "$work/key.txt")

mkdir -p "$work/dumps"
{
	printf -- '--\n-- PostgreSQL database dump\n--\n\n'
	head -c "$((size_mib * 1024 * 1024))" /dev/urandom
} >"$work/dumps/bench.sql"

config() {
	local n=$1
	printf 'dump_dir = "%s/dumps"\ncompression = "none"\nhost = "bench"\n[encryption]\nrecipients = ["%s"]\n' "$work" "$recipient"
	for i in $(seq 1 "$n"); do
		printf '[targets.t%d]\ntype = "local"\npath = "%s/t%d-%s"\n' "$i" "$work" "$i" "$RANDOM"
	done
}
config 1 >"$work/one.toml"
config 3 >"$work/three.toml"

measure() {
	local label=$1
	shift
	sync
	/usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt" || {
		cat "$work/stderr.txt" >&2
		exit 1
	}
	local wall rss
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
	python3 - "$label" "$wall" "$rss" "$size_mib" <<'EOF'
import sys
label, wall, rss, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
parts = [float(p) for p in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
print(f"{label:<28} {secs:8.2f} s {size / secs:9.1f} MiB/s {rss / 1024:9.1f} MiB peak RSS")
EOF
}

echo "dump: ${size_mib} MiB, $(nproc) cores, $(go version | cut -d' ' -f3)"
printf '%-28s %10s %15s %19s\n' "what" "wall" "throughput" "memory"
measure "cp" cp "$work/dumps/bench.sql" "$work/copy.sql"
measure "age -r (stock CLI)" sh -c "age -r '$recipient' -o '$work/out.age' '$work/dumps/bench.sql'"
measure "pgarchive push, 1 target" env PGARCHIVE_LOG=stderr "$work/pgarchive" --config "$work/one.toml" push --database bench
measure "pgarchive push, 3 targets" env PGARCHIVE_LOG=stderr "$work/pgarchive" --config "$work/three.toml" push --database bench
