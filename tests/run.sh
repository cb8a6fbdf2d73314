#!/usr/bin/env bash
# The one command that tests pgarchive: installs what the tests need
# (tests/setup.sh), then vets and runs every Go test, integration suites
# included. Run it as root from anywhere; CI runs it through .ci/run.
set -euo pipefail

cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
bash tests/setup.sh

step "go vet ./..."
go vet ./...

step "go test -count=1 -timeout 25m ./..."
go test -count=1 -timeout 25m ./...
