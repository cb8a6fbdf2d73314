#!/usr/bin/env bash
# Scenario steps on the database host: the job units beside the dump units.
# Run as root: bash jobs.sh STEP [ARG...]. Settings come from the
# environment (lib.sh lists them, with the NixOS VM's defaults).
#
# Expects: the units $SCENARIO_VERIFY_UNIT (pgarchive verify with an
# identity, so it decrypts), $SCENARIO_DRILL_UNIT (pgarchive drill on the
# local server, keeping its records in $SCENARIO_STATE_DIR, owned by
# $SCENARIO_PG_USER) and $SCENARIO_PRUNE_UNIT, all writing the metrics
# textfile $SCENARIO_METRICS; archives pushed before (dump.sh push).
#
# Steps:
#   verify          the verify unit succeeds and decrypted every archive (0 bad)
#   drill DB...     the drill unit succeeds, passes each DB, leaves no
#                   pgarchive_drill_* database, and keeps a record per DB
#   prune           the prune unit succeeds
#   metrics DB      the textfile has push, verify, drill and prune lines, and
#                   every drill success line of DB is 1 (its directory is
#                   $SCENARIO_METRICS_DIR_STAT, unless that is empty)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

step_verify() {
	start "$SCENARIO_VERIFY_UNIT"
	journal "$SCENARIO_VERIFY_UNIT" "$scratch/verify"
	grep -qF ', 0 bad (decrypted and read to the end)' "$scratch/verify" ||
		die "$SCENARIO_VERIFY_UNIT: no ', 0 bad (decrypted and read to the end)' line"
}

step_drill() {
	local db result left owner
	start "$SCENARIO_DRILL_UNIT"
	result=$(systemctl show -p Result --value "$SCENARIO_DRILL_UNIT")
	[ "$result" = success ] || die "$SCENARIO_DRILL_UNIT: Result=$result"
	journal "$SCENARIO_DRILL_UNIT" "$scratch/drill"
	for db in "$@"; do
		grep -qF "drill: passed database=$db" "$scratch/drill" ||
			die "$SCENARIO_DRILL_UNIT: no 'drill: passed database=$db'"
		# The records of this drill, for the next one to compare with.
		[ -s "$SCENARIO_STATE_DIR/drill/$SCENARIO_HOST/$db.json" ] ||
			die "no drill record $SCENARIO_STATE_DIR/drill/$SCENARIO_HOST/$db.json"
	done
	left=$(psql_as postgres "SELECT count(*) FROM pg_database WHERE starts_with(datname, 'pgarchive_drill_')")
	[ "$left" = 0 ] || die "$left pgarchive_drill_* database(s) left behind"
	owner=$(stat -c %U "$SCENARIO_STATE_DIR")
	[ "$owner" = "$SCENARIO_PG_USER" ] || die "$SCENARIO_STATE_DIR is owned by $owner, not $SCENARIO_PG_USER"
}

step_prune() {
	start "$SCENARIO_PRUNE_UNIT"
}

step_metrics() {
	local db=$1 dir got operation
	dir=$(dirname "$SCENARIO_METRICS")
	if [ -n "$SCENARIO_METRICS_DIR_STAT" ]; then
		got=$(stat -c %U:%G:%a "$dir")
		[ "$got" = "$SCENARIO_METRICS_DIR_STAT" ] || die "$dir is $got, want $SCENARIO_METRICS_DIR_STAT"
	fi
	cp "$SCENARIO_METRICS" "$scratch/prom"
	for operation in push verify drill prune; do
		grep -qF "operation=\"$operation\"" "$scratch/prom" ||
			die "$SCENARIO_METRICS: no operation=\"$operation\""
	done
	awk -v db="database=\"$db\"" '
		/^pgarchive_last_run_success\{/ && index($0, "operation=\"drill\"") && index($0, db) {
			n++
			if ($NF != "1") bad++
		}
		END { exit !(n > 0 && bad == 0) }
	' "$scratch/prom" || die "$SCENARIO_METRICS: the drill of $db did not succeed: $(cat "$scratch/prom")"
}

run_step "usage: jobs.sh verify|drill DB...|prune|metrics DB" "$@"
