#!/usr/bin/env bash
# Scenario steps on the store that holds the archives (the VM tests' nas,
# an SFTP target's directory; the container test's local target). Run as
# a user who reads the archives: bash archives.sh STEP [ARG...]. Settings
# come from the environment (lib.sh lists them, with the NixOS VM's
# defaults).
#
# Expects: $SCENARIO_ARCHIVES/<database>/ holding the database's archives
# (<database>_<YYYYMMDDTHHMMSSZ><suffix>.age) and their manifests (.json),
# as the object layout says; for decrypts, stock `age` and the identity
# $SCENARIO_IDENTITY.
#
# Steps:
#   complete DB [N]       every archive of DB has its manifest, naming it and DB;
#                         there is at least one (exactly N when given);
#                         prints their paths
#   decrypts DB TEXT      the newest archive of DB opens with `age -d -i
#                         $SCENARIO_IDENTITY`, decompresses, and holds TEXT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# archives DB OUT: the paths of DB's archives, oldest first, into OUT.
archives() {
	local db=$1 out=$2 dir suffix
	dir=$SCENARIO_ARCHIVES/$db
	suffix=$(printf '%s' "$SCENARIO_DUMP_SUFFIX" | sed 's/\./\\./g')
	ls -1 "$dir" >"$scratch/names" || die "no directory $dir"
	grep -E "^${db}_[0-9]{8}T[0-9]{6}Z${suffix}\.age\$" "$scratch/names" >"$scratch/archives" || true
	sort "$scratch/archives" | sed "s|^|$dir/|" >"$out"
}

step_complete() {
	local db=$1 want=${2:-} n archive name
	archives "$db" "$scratch/paths"
	n=$(wc -l <"$scratch/paths")
	[ "$n" -gt 0 ] || die "no archive of $db in $SCENARIO_ARCHIVES/$db: $(cat "$scratch/names")"
	if [ -n "$want" ] && [ "$n" -ne "$want" ]; then
		die "$n archives of $db, want $want: $(cat "$scratch/paths")"
	fi
	while read -r archive; do
		name=$(basename "$archive")
		[ -s "$archive.json" ] || die "$archive has no manifest"
		grep -Eq "\"object\": *\"$name\"" "$archive.json" || die "$archive.json does not name $name"
		grep -Eq "\"database\": *\"$db\"" "$archive.json" || die "$archive.json is not of database $db"
	done <"$scratch/paths"
	cat "$scratch/paths"
}

step_decrypts() {
	local db=$1 text=$2 newest
	archives "$db" "$scratch/paths"
	newest=$(tail -n 1 "$scratch/paths")
	[ -n "$newest" ] || die "no archive of $db"
	age -d -i "$SCENARIO_IDENTITY" -o "$scratch/plain$SCENARIO_DUMP_SUFFIX" "$newest"
	decompress "$scratch/plain$SCENARIO_DUMP_SUFFIX" "$scratch/dump"
	grep -qF "$text" "$scratch/dump" || die "$newest: no '$text' in the dump"
}

run_step "usage: archives.sh complete DB [N]|decrypts DB TEXT" "$@"
