#!/usr/bin/env bash
# Scenario steps for failure notices: on the database host (notified), and
# on the host receiving the webhook and the dead-man pings (received,
# pinged). Run as root: bash notify.sh STEP [ARG...]. Settings come from
# the environment (lib.sh lists them, with the NixOS VM's defaults).
#
# Expects: on the database host, a dump unit that failed (dump.sh
# push-fails) with OnFailure= starting $SCENARIO_NOTIFY_UNIT for it, whose
# config lists one notify URL; on the receiver, every POST kept as a file in
# $SCENARIO_WEBHOOK_DIR, the request path (with query) on its first line and
# the body after it. Retry notified, received and pinged until they pass:
# the notifier runs after the failure, asynchronously.
#
# Steps:
#   notified DB SECRET             DB's dump unit's notifier delivered to one URL,
#                                  did not fail, and SECRET (a part of the URL)
#                                  is in none of its journal lines
#   received DB HOST TARGET        a notice arrived saying DB's dump unit failed on
#                                  HOST with exit-code, that TARGET failed, with the
#                                  run's journal lines
#   pinged PATH                    a ping whose path starts with PATH arrived
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

step_notified() {
	local failed=$1 secret=$2 unit notifier
	unit=$(dump_unit "$failed")
	notifier=$(notify_unit "$unit")
	journal "$notifier" "$scratch/notifier"
	grep -qF "notified unit=$unit urls=1" "$scratch/notifier" ||
		die "$notifier: no 'notified unit=$unit urls=1' line yet"
	if systemctl is-failed --quiet "$notifier"; then
		die "$notifier failed"
	fi
	# URLs carry tokens: the notifier names them by place only.
	if grep -qF "$secret" "$scratch/notifier"; then
		die "$notifier: '$secret' is in its journal"
	fi
}

# posts PATTERN OUT: the files of the POSTs whose first line matches the
# extended regular expression PATTERN, into OUT.
posts() {
	local file first
	: >"$2"
	for file in "$SCENARIO_WEBHOOK_DIR"/*; do
		[ -f "$file" ] || continue
		IFS= read -r first <"$file" || true
		if [[ $first =~ $1 ]]; then
			printf '%s\n' "$file" >>"$2"
		fi
	done
}

step_received() {
	local db=$1 host=$2 target=$3 unit file want
	unit=$(dump_unit "$db")
	posts '^/notify' "$scratch/notices"
	[ -s "$scratch/notices" ] || die "no notice in $SCENARIO_WEBHOOK_DIR yet"
	: >"$scratch/message"
	while read -r file; do
		cat "$file" >>"$scratch/message"
	done <"$scratch/notices"
	for want in \
		"pgarchive: $unit failed on $host" \
		"result: exit-code" \
		"failed targets: $target" \
		"last journal lines of this run:"; do
		grep -qF -- "$want" "$scratch/message" || die "'$want' is not in the notice: $(cat "$scratch/message")"
	done
}

step_pinged() {
	local path=$1
	posts "^$path" "$scratch/pings"
	[ -s "$scratch/pings" ] || die "no ping to $path in $SCENARIO_WEBHOOK_DIR yet"
}

run_step "usage: notify.sh notified DB SECRET|received DB HOST TARGET|pinged PATH" "$@"
