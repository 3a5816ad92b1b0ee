#!/usr/bin/env bash
# The README's test command: install dejavu with its test extra into the active environment (scripts/install.sh:
# torch 2.13.0 if absent, then pip install ".[test]"), then run the whole suite (slow integration tests
# included). Real data comes from ../shared/ when present; with CI set, missing data fails instead of skipping.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/install.sh" test
cd "$here"
echo "test.sh: python -m pytest -q -p no:cacheprovider $*"
rc=0
python -m pytest -q -p no:cacheprovider "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "test.sh: FAILED: pytest collected no tests (exit 5)" >&2
fi
exit "$rc"
