#!/usr/bin/env bash
# Refresh vendorHash in nix/package.nix after go.mod or go.sum changed.
#
#   nix/update-vendor-hash.sh          build with Nix (>= 2.18, flakes): the
#                                      hash nixpkgs' buildGoModule computes
#   nix/update-vendor-hash.sh --local  without a Nix that can build: run
#                                      `go mod vendor` on the same sources
#                                      and hash the result with nix
#
# The first is authoritative. --local does what buildGoModule's goModules
# derivation does (go mod vendor on go.mod, go.sum, cmd/, internal/ and
# tests/harness, the files nix/package.nix builds from) and hashes the
# vendor directory as a NAR; it matches when the local Go is the same
# minor version as nixpkgs' (go mod vendor's output has been stable within
# one). --check computes the same and fails if nix/package.nix differs, so
# CI catches a go.mod change that forgot the hash.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/nix/package.nix"

set_hash() {
	sed -i -E "s|^([[:space:]]*vendorHash = ).*;|\1$1;|" "$pkg"
	grep -n 'vendorHash = ' "$pkg"
}

case "${1:-}" in
--local | --check)
	command -v go >/dev/null || { echo "update-vendor-hash: go is not on PATH" >&2; exit 2; }
	command -v nix >/dev/null || { echo "update-vendor-hash: nix is not on PATH" >&2; exit 2; }
	work=$(mktemp -d)
	trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
	(cd "$root" && cp -r --parents go.mod go.sum cmd internal tests/harness "$work/")
	(cd "$work" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod vendor)
	if [ -z "$(ls -A "$work/vendor" 2>/dev/null)" ]; then
		echo "update-vendor-hash: nothing to vendor; set vendorHash = null" >&2
		exit 1
	fi
	hash=$(nix --extra-experimental-features nix-command hash path "$work/vendor")
	echo "go $(go env GOVERSION): $hash"
	if [ "$1" = --check ]; then
		if ! grep -qF "vendorHash = \"$hash\";" "$pkg"; then
			echo "update-vendor-hash: nix/package.nix has $(grep -o 'vendorHash = .*;' "$pkg"), go.mod/go.sum give $hash: run nix/update-vendor-hash.sh --local" >&2
			exit 1
		fi
		echo "vendorHash is current"
		exit 0
	fi
	set_hash "\"$hash\""
	;;
"")
	command -v nix >/dev/null || { echo "update-vendor-hash: nix is not on PATH" >&2; exit 2; }
	set_hash "lib.fakeHash"
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	if nix --extra-experimental-features 'nix-command flakes' build --no-link \
		"$root#default.goModules" >"$log" 2>&1; then
		echo "update-vendor-hash: the build succeeded with lib.fakeHash; is vendorHash used?" >&2
		exit 1
	fi
	hash=$(sed -n -E 's/^[[:space:]]*got:[[:space:]]*(sha256-[A-Za-z0-9+/=]+).*/\1/p' "$log" | head -n 1)
	if [ -z "$hash" ]; then
		cat "$log" >&2
		echo "update-vendor-hash: no 'got: sha256-…' in the build log" >&2
		exit 1
	fi
	set_hash "\"$hash\""
	nix --extra-experimental-features 'nix-command flakes' build --no-link "$root#default"
	;;
*)
	echo "usage: $0 [--local]" >&2
	exit 2
	;;
esac
