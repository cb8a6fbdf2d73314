#!/usr/bin/env bash
# Scenario steps on the database host: the dump units and what they leave.
# Run as root: bash dump.sh STEP [ARG...]. Settings come from the
# environment (lib.sh lists them, with the NixOS VM's defaults).
#
# Expects: a PostgreSQL server with databases db1 and db2 that root reaches
# with `runuser -u $SCENARIO_PG_USER -- psql`; a dump unit per database
# ($SCENARIO_DUMP_UNIT) that dumps into $SCENARIO_DUMP_DIR and runs
# `pgarchive push` after pg_dump, loading its secrets with LoadCredential=;
# $SCENARIO_PGARCHIVE, whose default config is $SCENARIO_CONFIG. restore
# runs it as an administrator types it, as root, without --config: on
# NixOS that is the wrapper services.pgarchive puts on the PATH, which runs
# the program as postgres with the units' secrets, so nixpkgs' default
# peer authentication lets it in ($SCENARIO_PGUSER empty); elsewhere
# $SCENARIO_PGUSER names the role root connects as.
#
# Steps:
#   pg-ready                       db2 answers (retry it until it does)
#   seed                           tables db1.t (5000 rows), db2.u (7000), db2.w (300)
#   push DB                        start DB's dump unit; it must succeed
#   push-fails DB                  start DB's dump unit; it must fail, and stay failed
#   dump-format DB plain|custom    DB's dump is a plain SQL or a custom-format (-Fc) dump
#   credentials DB ID PATH         DB's dump unit reads $SCENARIO_CONFIG (the one file),
#                                  which keeps the host path PATH of the secret ID; the
#                                  unit has LoadCredential=ID:PATH; its user cannot read
#                                  PATH (so a push that worked read the credential)
#   journal-fields DB TARGET       the unit's journal has push lines with
#                                  PGARCHIVE_DATABASE=DB, PGARCHIVE_TARGET=TARGET and
#                                  PGARCHIVE_OBJECT
#   journal-names-target DB TARGET the failed unit's error line names TARGET, and
#                                  lines carry PGARCHIVE_TARGET=TARGET
#   restore DB TARGET SCRATCH TABLE...
#                                  pgarchive restore DB from TARGET into the new
#                                  database SCRATCH; each TABLE has as many rows there
#                                  as in DB
#   restore-output DB TARGET       pgarchive restore DB from TARGET to standard output
#                                  is DB's dump file byte for byte (DB pushed once);
#                                  no secrets handed over by the wrapper are left in
#                                  /run/pgarchive-cli.*
#   rows DB TABLE N                TABLE of DB has N rows
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

step_pg_ready() {
	psql_as db2 "SELECT 1" >/dev/null
}

step_seed() {
	psql_as db1 "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g"
	psql_as db2 "CREATE TABLE u AS SELECT g AS id, now() AS at FROM generate_series(1, 7000) g"
	psql_as db2 "CREATE TABLE w AS SELECT g FROM generate_series(1, 300) g"
}

step_push() {
	start "$(dump_unit "$1")"
}

step_push_fails() {
	local unit
	unit=$(dump_unit "$1")
	if systemctl start "$unit"; then
		die "$unit succeeded; want it to fail"
	fi
	systemctl is-failed --quiet "$unit" || die "$unit is not failed"
}

step_dump_format() {
	local db=$1 format=$2
	decompress "$SCENARIO_DUMP_DIR/$db$SCENARIO_DUMP_SUFFIX" "$scratch/dump"
	case $format in
	plain)
		grep -q 'PostgreSQL database dump' "$scratch/dump" ||
			die "$db: not a plain SQL dump"
		;;
	custom)
		head -c 5 "$scratch/dump" >"$scratch/magic"
		[ "$(cat "$scratch/magic")" = PGDMP ] || die "$db: not a custom-format dump (no PGDMP)"
		;;
	*) die "dump-format: plain or custom, not $format" ;;
	esac
}

step_credentials() {
	local db=$1 id=$2 path=$3 unit config user
	unit=$(dump_unit "$db")
	config=$(readlink -f "$SCENARIO_CONFIG")
	systemctl show -p ExecStartPost --value "$unit" >"$scratch/post"
	# The unit names the file (or none: pgarchive's default is
	# /etc/pgarchive/config.toml).
	if grep -q -- '--config ' "$scratch/post"; then
		sed -n 's/.*--config \([^ ;]*\).*/\1/p' "$scratch/post" >"$scratch/named"
		while read -r named; do
			[ "$(readlink -f "$named")" = "$config" ] ||
				die "$unit reads $named, not $SCENARIO_CONFIG ($config)"
		done <"$scratch/named"
	fi
	grep -qF "\"$path\"" "$config" || die "$config does not name $path"
	if grep -q /run/credentials "$config"; then
		die "$config names a credentials directory: secrets must keep their host paths"
	fi
	systemctl cat "$unit" >"$scratch/unit"
	grep -qFx "LoadCredential=$id:$path" "$scratch/unit" ||
		die "$unit has no LoadCredential=$id:$path"
	user=$(systemctl show -p User --value "$unit")
	if runuser -u "${user:-root}" -- cat "$path" >/dev/null 2>&1; then
		die "$unit's user ${user:-root} can read $path itself: not a test of credentials"
	fi
}

step_journal_fields() {
	local db=$1 target=$2 unit
	unit=$(dump_unit "$db")
	journalctl --no-pager -o json -u "$unit" "PGARCHIVE_DATABASE=$db" "PGARCHIVE_TARGET=$target" >"$scratch/json"
	grep -q '"PGARCHIVE_OBJECT"' "$scratch/json" ||
		die "$unit: no journal entry with PGARCHIVE_DATABASE=$db PGARCHIVE_TARGET=$target PGARCHIVE_OBJECT"
}

step_journal_names_target() {
	local db=$1 target=$2 unit
	unit=$(dump_unit "$db")
	journal "$unit" "$scratch/all"
	grep -F 'pgarchive: error:' "$scratch/all" >"$scratch/errors" || die "$unit: no pgarchive: error: line"
	grep -qF "$target" "$scratch/errors" || die "$unit: the error does not name $target: $(cat "$scratch/errors")"
	journal "$unit" "$scratch/target" "PGARCHIVE_TARGET=$target"
	[ -s "$scratch/target" ] || die "$unit: no line with PGARCHIVE_TARGET=$target"
}

# pgarchive ARG...: $SCENARIO_PGARCHIVE as root runs it, PGUSER set when
# $SCENARIO_PGUSER is.
pgarchive() {
	local pgenv=()
	if [ -n "$SCENARIO_PGUSER" ]; then
		pgenv=("PGUSER=$SCENARIO_PGUSER")
	fi
	env "${pgenv[@]}" "$SCENARIO_PGARCHIVE" "$@"
}

step_restore() {
	local db=$1 target=$2 into=$3 table got want
	shift 3
	# --into creates the scratch database.
	pgarchive restore --database "$db" --identity "$SCENARIO_IDENTITY" --target "$target" --into "$into"
	for table in "$@"; do
		got=$(count "$into" "$table")
		want=$(count "$db" "$table")
		[ "$got" = "$want" ] || die "$into.$table: $got rows, want $want (as $db.$table)"
	done
}

step_restore_output() {
	local db=$1 target=$2 dump
	dump=$SCENARIO_DUMP_DIR/$db$SCENARIO_DUMP_SUFFIX
	pgarchive restore --database "$db" --identity "$SCENARIO_IDENTITY" --target "$target" --output - >"$scratch/restored"
	cmp -s "$scratch/restored" "$dump" ||
		die "restore --output - of $db from $target: $(wc -c <"$scratch/restored") bytes, not $dump ($(wc -c <"$dump") bytes)"
	if compgen -G '/run/pgarchive-cli.*' >"$scratch/left"; then
		die "secrets handed over are left behind: $(cat "$scratch/left")"
	fi
}

step_rows() {
	local got
	got=$(count "$1" "$2")
	[ "$got" = "$3" ] || die "$1.$2: $got rows, want $3"
}

run_step "usage: dump.sh pg-ready|seed|push|push-fails|dump-format|credentials|journal-fields|journal-names-target|restore|restore-output|rows ARG..." "$@"
