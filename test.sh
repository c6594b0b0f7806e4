#!/usr/bin/env bash
# The test command: installs what is missing (scripts/bootstrap.sh), then runs the suite.
# Extra arguments go to pytest, e.g. ./test.sh -k quantizers (-n 0: in this process only).
# One pytest worker per core, a whole test file to a worker (its module fixtures are built
# once): most tests are single-threaded (the LCE converter, qemu, graph tracing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/bootstrap.sh
VENV="${KERAS_FDA_VENV:-$PWD/.venv}"
exec "$VENV/bin/python" -m pytest -n "${KFDA_TEST_WORKERS:-auto}" --dist loadfile tests "$@"
