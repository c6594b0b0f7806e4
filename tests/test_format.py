"""The formatters hold: ruff (lint and format) for Python, clang-format for the C runtime.

Configurations: `[tool.ruff]` in pyproject.toml, `.clang-format` at the root. To fix what
this reports: `ruff check --fix . && ruff format .` and
`git ls-files '*.c' '*.h' | xargs clang-format -i` (both installed in the venv by
scripts/bootstrap.sh from requirements-dev.txt).
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def _tool(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        pytest.fail(f"{name} is not installed in {BIN}: run scripts/bootstrap.sh")
    return path


def _run(args):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_lint():
    result = _run([_tool("ruff"), "check", "--no-cache", "."])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_ruff_format():
    result = _run([_tool("ruff"), "format", "--no-cache", "--check", "."])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_clang_format():
    files = _run(["git", "ls-files", "*.c", "*.h"]).stdout.split()
    assert files, "no C sources found by git ls-files"
    result = _run([_tool("clang-format"), "--dry-run", "--Werror", *files])
    assert result.returncode == 0, result.stderr[-4000:]
