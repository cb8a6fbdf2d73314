#!/usr/bin/env bash
# The one command that tests pgarchive: installs what the tests need
# (tests/setup.sh), parses every .nix file, then vets and runs every Go test,
# integration suites included. Run it as root from anywhere; CI runs it
# through .ci/run.
#
# The NixOS module evaluation (tests/nix) needs a copy of
# nix-community/nixpkgs.lib outside the repository: set NIXPKGS_LIB to it.
# Without one those tests skip and say so.
set -euo pipefail

cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
bash tests/setup.sh

step "nix-instantiate --parse on every .nix file"
bash tests/nix/parse-all.sh

step "vendorHash in nix/package.nix matches go.mod and go.sum"
bash nix/update-vendor-hash.sh --check

if [[ -z ${NIXPKGS_LIB:-} && -d /root/.cache/pgarchive-tools/nixpkgs.lib ]]; then
	export NIXPKGS_LIB=/root/.cache/pgarchive-tools/nixpkgs.lib
fi
if [[ -n ${NIXPKGS_LIB:-} ]]; then
	step "NixOS module evaluation against $NIXPKGS_LIB"
else
	step "NIXPKGS_LIB not set: the NixOS module evaluation in tests/nix will skip"
fi

step "go vet ./..."
go vet ./...

step "go test -count=1 -timeout 25m ./..."
go test -count=1 -timeout 25m ./...
