#!/usr/bin/env bash
# Scenario steps for the S3 target of the NixOS VM test restore-drill:
# Garage on nas. The container test serves S3 with MinIO instead and does
# not run these. Run as root: bash garage.sh STEP [ARG...].
#
# Expects: on nas, garage.service up with its S3 API on port 3900 and the
# `garage` command; on db, root.
#
# Environment (besides lib.sh's):
#   SCENARIO_S3_ID_FILE      where install-keys writes the key id      /var/lib/pgarchive-test/s3_id
#   SCENARIO_S3_SECRET_FILE  where install-keys writes its secret      /var/lib/pgarchive-test/s3_secret
#
# Steps:
#   setup                  (nas) lay out the one-node cluster, create the bucket
#                          pgarchive and a key that may read and write it; print
#                          "<key id> <secret key>"
#   install-keys ID SECRET (db) write the key to the files the garage target's
#                          secret_files name, readable by root only
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

: "${SCENARIO_S3_ID_FILE:=/var/lib/pgarchive-test/s3_id}"
: "${SCENARIO_S3_SECRET_FILE:=/var/lib/pgarchive-test/s3_secret}"

step_setup() {
	local node version tries=0 key_id="" secret=""
	garage node id >"$scratch/node" 2>/dev/null
	node=$(cat "$scratch/node")
	node=${node%%@*}
	garage layout assign -z dc1 -c 1G "$node" >&2
	garage layout show >"$scratch/layout"
	version=$(sed -n 's/.*Current cluster layout version: \([0-9][0-9]*\).*/\1/p' "$scratch/layout")
	[ -n "$version" ] || die "no layout version in garage layout show: $(cat "$scratch/layout")"
	garage layout apply --version $((version + 1)) >&2
	# The layout takes a moment to apply.
	until garage bucket create pgarchive >&2; do
		tries=$((tries + 1))
		[ "$tries" -lt 60 ] || die "garage bucket create kept failing"
		sleep 1
	done
	garage key create pgarchive-db >"$scratch/key"
	# The first "Key ID:" and "Secret key:" of the output, in any case.
	sed -n 's/.*Key ID:[[:space:]]*\([^[:space:]]*\).*/\1/Ip' "$scratch/key" >"$scratch/key_id"
	sed -n 's/.*Secret key:[[:space:]]*\([^[:space:]]*\).*/\1/Ip' "$scratch/key" >"$scratch/secret"
	read -r key_id <"$scratch/key_id" || true
	read -r secret <"$scratch/secret" || true
	if [ -z "$key_id" ] || [ -z "$secret" ]; then
		die "no key id or secret in garage key create's output"
	fi
	garage bucket allow --read --write pgarchive --key pgarchive-db >&2
	printf '%s %s\n' "$key_id" "$secret"
}

step_install_keys() {
	mkdir -p "$(dirname "$SCENARIO_S3_ID_FILE")" "$(dirname "$SCENARIO_S3_SECRET_FILE")"
	(
		umask 077
		printf %s "$1" >"$SCENARIO_S3_ID_FILE"
		printf %s "$2" >"$SCENARIO_S3_SECRET_FILE"
	)
}

run_step "usage: garage.sh setup|install-keys ID SECRET" "$@"
