#!/usr/bin/env bash
# Set up everything keras-fda needs on a Debian/Ubuntu machine, idempotently:
#   1. the apt packages (cross compilers, QEMU, the Fashion-MNIST data set, clang with
#      libFuzzer for firmware/fuzz),
#   2. a Python virtual environment with the pinned stack and keras-fda installed
#      in editable mode.
# Re-running is cheap: apt is skipped when every package is present, pip when the
# requirements have not changed since the last successful install.
# Environment: KERAS_FDA_VENV (default .venv in the repository), PYTHON (interpreter).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KERAS_FDA_VENV:-$ROOT/.venv}"

APT_PACKAGES=(
  python3-venv make gcc
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user-static
  dataset-fashion-mnist
  clang libclang-rt-dev
)

say() { echo "[bootstrap] $*" >&2; }

install_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing apt packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "need root or sudo to install: ${missing[*]}"; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for candidate in python3.11 python3.12 python3.10 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(not ((3, 9) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  say "no Python 3.9-3.12 found (TensorFlow 2.16 supports those); install python3.11"
  exit 1
}

install_python_env() {
  local stamp="$VENV/.keras-fda-installed"
  local want
  want="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT/requirements-zoo.txt" "$ROOT/constraints.txt" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/keras-fda" ]; then
    return 0
  fi
  local python
  python="$(pick_python)"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment $VENV with $python"
    "$python" -m venv "$VENV"
  fi
  say "installing the pinned Python stack (first time: a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade "pip==24.3.1" "setuptools==75.6.0" wheel
  "$VENV/bin/python" -m pip install -q -r "$ROOT/requirements.txt" -c "$ROOT/constraints.txt"
  "$VENV/bin/python" -m pip install -q -r "$ROOT/requirements-dev.txt"
  # Larq Zoo for tests/test_zoo.py, without its protobuf<3.21 pins: requirements-zoo.txt
  # says why and lists every package it needs.
  "$VENV/bin/python" -m pip install -q --no-deps -r "$ROOT/requirements-zoo.txt"
  # larq-zoo's wheel also installs its own test suite as a top-level package `tests`,
  # which would shadow this repository's tests/ (`from tests.firmware... import`)
  "$VENV/bin/python" - <<'PY'
import importlib.metadata as metadata, os, shutil
dist = metadata.distribution("larq-zoo")
if any(str(f).startswith("tests/") for f in dist.files or ()):
    shutil.rmtree(os.path.join(str(dist.locate_file("")), "tests"), ignore_errors=True)
PY
  "$VENV/bin/python" -m pip install -q --no-deps -e "$ROOT"
  echo "$want" > "$stamp"
}

install_apt_packages
install_python_env
say "ready: $VENV"
