#!/usr/bin/env bash
# The one command that tests pgarchive: installs what the tests need
# (tests/setup.sh), parses every .nix file, then vets and runs every Go test,
# integration suites included. Run it as root from anywhere; CI runs it
# through .ci/run.
#
# The fault suite (tests/fault) compares docs/reliability.md with what its
# cases record; here a run in which some case could not run (no tmpfs
# mount, say) fails too, instead of leaving the table unchecked.
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

step "go test -count=1 -timeout 25m ./... (docs/reliability.md checked by tests/fault)"
PGARCHIVE_RELIABILITY_REQUIRED=1 go test -count=1 -timeout 25m ./...

# A brief run of every fuzz target, PGARCHIVE_FUZZTIME each (default 10s):
# the parsers of config, object names, manifests and dumps, the gzip
# decoder (against klauspost/compress), and the retention planner (which
# must always keep the newest good archive).
fuzz() {
	local name=$1 pkg=$2 listed
	listed=$(go test -list "^$name\$" "$pkg")
	if ! grep -qx "$name" <<<"$listed"; then
		printf 'fuzz target %s not found in %s\n' "$name" "$pkg" >&2
		return 1
	fi
	step "fuzz $name ($pkg) for ${PGARCHIVE_FUZZTIME:-10s}"
	go test -run '^$' -fuzz "^$name\$" -fuzztime "${PGARCHIVE_FUZZTIME:-10s}" "$pkg"
}
fuzz FuzzParse ./internal/config
fuzz FuzzParseObject ./internal/archive
fuzz FuzzParseManifest ./internal/archive
fuzz FuzzCheck ./internal/dumpcheck
fuzz FuzzInflate ./internal/inflate
fuzz FuzzPlan ./internal/retention
