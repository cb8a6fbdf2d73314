# Sourced by the scenario scripts beside it (dump.sh, jobs.sh, notify.sh,
# archives.sh, garage.sh): strict mode, the settings every script reads
# from the environment, and helpers. Not a script of its own.
#
# The NixOS VM tests (nix/tests/*.nix) run these scripts on their nodes with
# no environment set, so every default is the VM's; the Debian container
# test runs the same scripts with the variables below set to its own
# layout. Every step reads whole streams into files before looking at them:
# the NixOS test driver runs commands under `set -euo pipefail`, where a
# reader that stops early (grep -q, head) fails its pipe with status 141.
#
# Environment (default: the NixOS VM's):
#   SCENARIO_PGARCHIVE     the pgarchive command (NixOS: the
#                          wrapper on the PATH)                   pgarchive
#   SCENARIO_CONFIG        the config every unit reads            /etc/pgarchive/config.toml
#   SCENARIO_DUMP_UNIT     printf format of a database's dump
#                          unit (%s: the database)                postgresqlBackup-%s.service
#                          (Debian: pgarchive-dump@%s.service)
#   SCENARIO_NOTIFY_UNIT   printf format of the notifier instance
#                          for a failed unit (%s: its name)       pgarchive-notify@%s.service
#   SCENARIO_PRUNE_UNIT    the prune unit                         pgarchive-prune.service
#   SCENARIO_VERIFY_UNIT   the verify unit                        pgarchive-verify.service
#   SCENARIO_DRILL_UNIT    the drill unit                         pgarchive-drill.service
#   SCENARIO_DUMP_DIR      where the dumps are                    /var/backup/postgresql
#   SCENARIO_DUMP_SUFFIX   a dump's suffix after the database     .sql.gz
#   SCENARIO_PG_USER       the system user and role psql runs as  postgres
#   SCENARIO_PGUSER        the role `pgarchive restore` (run as
#                          root) connects as; empty: libpq's
#                          default, the user the command runs as
#                          (NixOS: its wrapper runs as postgres)  (empty)
#   SCENARIO_HOST          the host name archives are filed under uname -n
#   SCENARIO_IDENTITY      an age identity that opens archives    /etc/pgarchive-test/age-identity.txt
#   SCENARIO_ARCHIVES      on the store: the directory holding a
#                          <database>/ directory per database
#                          of the host                            /home/backup/pg/db
#   SCENARIO_STATE_DIR     drill.state_dir                        /var/lib/pgarchive
#   SCENARIO_METRICS       metrics.textfile                       /var/lib/prometheus-node-exporter-text-files/pgarchive.prom
#   SCENARIO_METRICS_DIR_STAT  owner:group:mode its directory must
#                          have ("" to skip the check)            root:postgres:775
#   SCENARIO_WEBHOOK_DIR   on the receiver: one file per POST,
#                          the request path on its first line     /var/lib/webhook
#   TMPDIR                 scratch files (removed on exit)        /tmp
set -euo pipefail

: "${SCENARIO_PGARCHIVE:=pgarchive}"
: "${SCENARIO_CONFIG:=/etc/pgarchive/config.toml}"
: "${SCENARIO_DUMP_UNIT:=postgresqlBackup-%s.service}"
: "${SCENARIO_NOTIFY_UNIT:=pgarchive-notify@%s.service}"
: "${SCENARIO_PRUNE_UNIT:=pgarchive-prune.service}"
: "${SCENARIO_VERIFY_UNIT:=pgarchive-verify.service}"
: "${SCENARIO_DRILL_UNIT:=pgarchive-drill.service}"
: "${SCENARIO_DUMP_DIR:=/var/backup/postgresql}"
: "${SCENARIO_DUMP_SUFFIX:=.sql.gz}"
: "${SCENARIO_PG_USER:=postgres}"
: "${SCENARIO_PGUSER=}"
: "${SCENARIO_HOST:=$(uname -n)}"
: "${SCENARIO_IDENTITY:=/etc/pgarchive-test/age-identity.txt}"
: "${SCENARIO_ARCHIVES:=/home/backup/pg/db}"
: "${SCENARIO_STATE_DIR:=/var/lib/pgarchive}"
: "${SCENARIO_METRICS:=/var/lib/prometheus-node-exporter-text-files/pgarchive.prom}"
: "${SCENARIO_METRICS_DIR_STAT=root:postgres:775}"
: "${SCENARIO_WEBHOOK_DIR:=/var/lib/webhook}"

scenario_name=$(basename "$0")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# die MESSAGE...: say what failed, on standard error, and fail the step.
die() {
	printf '%s: %s\n' "$scenario_name" "$*" >&2
	exit 1
}

# say MESSAGE...: progress, on standard error (standard output is data).
say() {
	printf '%s: %s\n' "$scenario_name" "$*" >&2
}

# dump_unit DB: the dump unit of database DB.
dump_unit() {
	# shellcheck disable=SC2059 # the format is the setting
	printf "$SCENARIO_DUMP_UNIT" "$1"
}

# notify_unit UNIT: the notifier instance started for failed unit UNIT.
notify_unit() {
	# shellcheck disable=SC2059
	printf "$SCENARIO_NOTIFY_UNIT" "$1"
}

# psql DB SQL: run SQL in DB as SCENARIO_PG_USER, unaligned, tuples only.
psql_as() {
	runuser -u "$SCENARIO_PG_USER" -- psql -v ON_ERROR_STOP=1 -tA -d "$1" -c "$2"
}

# count DB TABLE: the number of rows of TABLE in DB.
count() {
	psql_as "$1" "SELECT count(*) FROM $2"
}

# journal UNIT FILE [MATCH...]: UNIT's journal, messages only, into FILE.
journal() {
	local unit=$1 file=$2
	shift 2
	journalctl --no-pager -o cat -u "$unit" "$@" >"$file"
}

# start UNIT: start a oneshot unit and wait for it; on failure show its
# journal on standard output (the test driver logs a failed step's output).
start() {
	if ! systemctl start "$1"; then
		journal "$1" "$scratch/failed.log"
		cat "$scratch/failed.log"
		die "$1 failed"
	fi
}

# decompress FILE OUT: FILE, by its suffix, decompressed whole into OUT.
decompress() {
	case $1 in
	*.gz) gzip -dc "$1" >"$2" ;;
	*.zstd | *.zst) zstd -dcq "$1" -o "$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# run_step SCRIPT-USAGE "$@": call step_<name> for the first argument.
run_step() {
	local usage=$1
	shift
	local name=${1:-}
	if [ -z "$name" ] || ! declare -F "step_${name//-/_}" >/dev/null; then
		printf '%s\n' "$usage" >&2
		exit 2
	fi
	shift
	"step_${name//-/_}" "$@"
}
