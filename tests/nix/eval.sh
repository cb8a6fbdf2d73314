#!/usr/bin/env bash
# Evaluate the NixOS module with nixpkgs' lib only and print what it
# renders (tests/nix/eval.nix), as JSON. The assertions on it are in
# nixeval_test.go (go test ./tests/nix/); this is for looking.
#
#   NIXPKGS_LIB=/path/to/nixpkgs.lib tests/nix/eval.sh [jq filter]
#   e.g. tests/nix/eval.sh '.good.example.units["postgresqlBackup-db1"]'
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

if [ -z "${NIXPKGS_LIB:-}" ]; then
	echo "tests/nix/eval.sh: NIXPKGS_LIB is not set: skipping the NixOS module evaluation" \
		"(point it at a checkout of github.com/nix-community/nixpkgs.lib kept outside the repository)" >&2
	exit 0
fi

json=$(nix-instantiate --readonly-mode --eval --strict --json --expr "import $here/eval.nix { }")
if command -v jq >/dev/null; then
	printf '%s\n' "$json" | jq "${1:-.}"
else
	printf '%s\n' "$json"
fi
