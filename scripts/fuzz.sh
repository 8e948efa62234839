#!/usr/bin/env bash
# Runs every native Go fuzzer in the repository for a while each, then lists the ones that failed:
#   scripts/fuzz.sh [DURATION]   (default 20s)
# A failing input is written under the package's testdata/fuzz/ by go test; commit it as a seed
# once the bug is fixed.
set -uo pipefail
cd "$(dirname "$0")/.."
t="${1:-20s}"
failed=()
while read -r f; do
  pkg="./$(dirname "${f#./}")"
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== $pkg $fn ($t)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg" || failed+=("$pkg $fn")
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort)
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all fuzzers passed"
