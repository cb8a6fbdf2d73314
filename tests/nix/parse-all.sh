#!/usr/bin/env bash
# Parse every .nix file of the repository with nix-instantiate --parse (Nix
# 2.8 here, so syntax newer than that fails too). Prints one line per file
# and a closing count; exits 1 if any file does not parse.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

if ! command -v nix-instantiate >/dev/null; then
	echo "parse-all: nix-instantiate not found (apt-get install nix-bin)" >&2
	exit 1
fi

passed=0
failed=0
while IFS= read -r -d '' f; do
	if out=$(nix-instantiate --parse "$f" 2>&1 >/dev/null); then
		echo "ok   $f"
		passed=$((passed + 1))
	else
		echo "FAIL $f"
		printf '%s\n' "$out" | sed 's/^/     /'
		failed=$((failed + 1))
	fi
done < <(
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		# Tracked and new files, not ignored ones.
		git ls-files -z --cached --others --exclude-standard -- '*.nix'
	else
		find . -name .git -prune -o -name '*.nix' -type f -print0
	fi
)

if [ $((passed + failed)) -eq 0 ]; then
	echo "parse-all: no .nix files found" >&2
	exit 1
fi
echo "parse: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
