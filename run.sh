#!/usr/bin/env bash
# The main job: installs what is missing (scripts/bootstrap.sh), then trains a small BNN
# on Fashion-MNIST with each estimator and prints the result table.
# Extra arguments go to `keras-fda demo`, e.g. ./run.sh --epochs 5
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/bootstrap.sh
VENV="${KERAS_FDA_VENV:-$PWD/.venv}"
exec "$VENV/bin/keras-fda" demo "$@"
