#!/usr/bin/env bash
# The test command: installs what is missing (scripts/bootstrap.sh), then runs the suite.
# Extra arguments go to pytest, e.g. ./test.sh -k quantizers
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/bootstrap.sh
VENV="${KERAS_FDA_VENV:-$PWD/.venv}"
exec "$VENV/bin/python" -m pytest tests "$@"
