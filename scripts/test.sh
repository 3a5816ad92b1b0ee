#!/usr/bin/env bash
# The README's test command: install everything into the active environment, then run the whole suite
# (slow integration tests included). Real data comes from ../shared/ when present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/install.sh"
cd "$here"
python -m pytest -q -p no:cacheprovider "$@"
