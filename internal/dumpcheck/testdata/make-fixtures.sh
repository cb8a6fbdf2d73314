#!/usr/bin/env bash
# make-fixtures.sh regenerates the dumps in this folder with a real pg_dump,
# so the checker is tested against what PostgreSQL writes, not against our
# idea of it. Run it from anywhere, as root or as a normal user:
#
#   bash internal/dumpcheck/testdata/make-fixtures.sh [PGBIN]
#
# PGBIN defaults to /usr/lib/postgresql/15/bin. The server runs in a temp
# dir on a Unix socket only; as root, PostgreSQL runs as the postgres user,
# since it refuses root. Outputs (uncompressed: the tests compress them):
#   plain.sql         pg_dump -C            (services.postgresqlBackup's default)
#   cluster.sql       pg_dumpall            (backupAll)
#   custom-pipe.dump  pg_dump -Fc | cat     (no seek: data offsets not set)
#   custom-file.dump  pg_dump -Fc -f FILE   (seekable: data offsets set)
#   tar.tar           pg_dump -Ft
# Each comes from a database with a few tables, one large object (so the
# archive has a BLOBS data block) and an empty table.
set -euo pipefail

pgbin=${1:-/usr/lib/postgresql/15/bin}
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'as_pg "$pgbin/pg_ctl -D $work/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		su postgres -s /bin/bash -c "$1"
	else
		bash -c "$1"
	fi
}

[ "$(id -u)" = 0 ] && chown postgres "$work"
as_pg "$pgbin/initdb -D $work/data -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null"
as_pg "$pgbin/pg_ctl -D $work/data -w -l $work/log -o \"-k $work -c listen_addresses=''\" start >/dev/null"

psql() { as_pg "$pgbin/psql -X -q -v ON_ERROR_STOP=1 -h $work -U postgres $*"; }
psql "-c 'CREATE DATABASE shop'"
psql "-d shop" <<'SQL'
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL, since date);
CREATE TABLE orders (id serial PRIMARY KEY, customer int REFERENCES customer, total numeric(10,2), note text);
CREATE TABLE audit_empty (id bigint, at timestamptz);
INSERT INTO customer SELECT g, 'customer ' || g, date '2024-01-01' + g FROM generate_series(1, 40) g;
INSERT INTO orders (customer, total, note)
  SELECT 1 + g % 40, g * 1.25, CASE WHEN g % 7 = 0 THEN E'tab\there, line\nbreak' END FROM generate_series(1, 200) g;
SELECT lo_from_bytea(0, convert_to(repeat('large object payload ', 50), 'UTF8')) \gset
SQL

dump() { as_pg "$pgbin/pg_dump -h $work -U postgres $*"; }
dump "-C shop" >"$out/plain.sql"
dump "-Fc shop | cat" >"$out/custom-pipe.dump"
dump "-Fc -f $work/custom-file.dump shop"
dump "-Ft -f $work/tar.tar shop"
cp "$work/custom-file.dump" "$work/tar.tar" "$out/"
as_pg "$pgbin/pg_dumpall -h $work -U postgres" >"$out/cluster.sql"
ls -l "$out"/*.sql "$out"/*.dump "$out"/*.tar
