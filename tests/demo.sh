#!/usr/bin/env bash
# End-to-end demo on this machine: a real PostgreSQL 15, a dump made the way
# services.postgresqlBackup makes it, an encrypted push to two local
# targets, a listing, a restore into a new database, verify, a restore
# drill, status, and the same archive opened with the stock age CLI.
# Run as root on Debian 12:
#
#   bash tests/demo.sh
#
# Everything lives in a temporary directory that is removed at the end
# (set KEEP=1 to keep it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

bash tests/setup.sh

work=$(mktemp -d /tmp/pgarchive-demo.XXXXXX)
chmod 755 "$work"
pgbin=/usr/lib/postgresql/15/bin
cleanup() {
	su postgres -s /bin/sh -c "$pgbin/pg_ctl -D '$work/pgdata' -m immediate stop" >/dev/null 2>&1 || true
	if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "building pgarchive"
go build -o "$work/pgarchive" ./cmd/pgarchive
pgarchive=$work/pgarchive

step "starting PostgreSQL 15 in $work/pgdata (Unix socket only)"
mkdir -p "$work/pgdata" "$work/socket" "$work/backup"; touch "$work/pgdata.log"
# Two "disks": a local target's directory must exist (pgarchive never
# creates it, so an unmounted disk fails instead of filling the root disk).
mkdir -p "$work/disk1" "$work/disk2"
chown postgres: "$work/pgdata" "$work/socket" "$work/backup" "$work/pgdata.log"
su postgres -s /bin/sh -c "$pgbin/initdb -D '$work/pgdata' -U postgres --auth=trust >/dev/null"
su postgres -s /bin/sh -c "$pgbin/pg_ctl -D '$work/pgdata' -w -l '$work/pgdata.log' -o \"-c listen_addresses='' -k '$work/socket' -p 5433\" start >/dev/null"
export PGHOST=$work/socket PGPORT=5433 PGUSER=postgres

step "creating database 'shop' with pgbench data"
createdb shop
pgbench -i -q -s 2 shop
psql -X -At -c "SELECT 'accounts: ' || count(*) FROM pgbench_accounts" shop

step "dumping it as services.postgresqlBackup does (pg_dump -C | gzip -c -6 --rsyncable)"
su postgres -s /bin/bash -c "set -e -o pipefail; umask 0077; PGHOST=$PGHOST PGPORT=$PGPORT $pgbin/pg_dump -C shop | gzip -c -6 --rsyncable > '$work/backup/shop.in-progress.sql.gz'; mv '$work/backup/shop.in-progress.sql.gz' '$work/backup/shop.sql.gz'"
ls -l "$work/backup"

step "making a key pair (the private key stays off the database host in real life)"
"$pgarchive" keygen > "$work/key.txt" 2>/dev/null
recipient=$(sed -n 's/^# public key: //p' "$work/key.txt")
echo "recipient: $recipient"

cat > "$work/config.toml" <<EOF
dump_dir = "$work/backup"
compression = "gzip"
host = "demo"

[encryption]
recipients = ["$recipient"]

[targets.disk1]
type = "local"
path = "$work/disk1"

[targets.disk2]
type = "local"
path = "$work/disk2"

[drill]
state_dir = "$work/state"
EOF
export PGARCHIVE_CONFIG=$work/config.toml PGARCHIVE_LOG=stderr

step "pgarchive check-config"
"$pgarchive" check-config

step "pgarchive push --database shop (the ExecStartPost of postgresqlBackup-shop)"
"$pgarchive" push --database shop

step "pgarchive list"
"$pgarchive" list

step "pgarchive restore --database shop --into shop_restored"
"$pgarchive" restore --database shop --identity "$work/key.txt" --into shop_restored
src=$(psql -X -At -c "SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts" shop)
dst=$(psql -X -At -c "SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts" shop_restored)
echo "source:   $src"
echo "restored: $dst"
[ "$src" = "$dst" ] || { echo "MISMATCH" >&2; exit 1; }

step "pgarchive verify --identity (download, decrypt, read the dump to its end, on both targets)"
"$pgarchive" verify --identity "$work/key.txt"

step "pgarchive drill (restore into a scratch database, count rows, drop it)"
"$pgarchive" drill --identity "$work/key.txt" --database shop

step "pgarchive status"
"$pgarchive" status

step "the same archive without pgarchive: stock age + gunzip"
object=$(cd "$work/disk2" && find . -name '*.age' | head -n1)
age -d -i "$work/key.txt" "$work/disk2/$object" | gunzip | sed -n 1,5p
cmp <(age -d -i "$work/key.txt" "$work/disk2/$object") "$work/backup/shop.sql.gz" && echo "decrypted archive == dump file, byte for byte"

step "demo finished: push, list and restore all worked"
