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
tools_bin=${PGARCHIVE_TOOLS_BIN:-/root/.cache/pgarchive-tools/bin}

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

say "done"
