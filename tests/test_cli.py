"""The keras-fda command line: help, plot, and one-line errors with a non-zero exit."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def keras_fda(*args, cwd=None):
    exe = shutil.which("keras-fda", path=os.path.dirname(sys.executable))
    command = [exe] if exe else [sys.executable, "-m", "keras_fda.cli"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "PYTHONPATH": ROOT},
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("keras-fda: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_lists_commands():
    result = keras_fda("--help")
    assert result.returncode == 0
    for command in ("plot", "demo"):
        assert command in result.stdout


def test_plot_writes_a_png(tmp_path):
    path = tmp_path / "estimators.png"
    result = keras_fda("plot", "--output", str(path), "--n-terms", "3,17")
    assert result.returncode == 0, result.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["plot", "--output", "x.pdf"], ["PNG"]),
        (["plot", "--output", "/no/such/folder/x.png"], ["does not exist"]),
        (["plot", "--n-terms", "3,x"], ["--n-terms"]),
        (["demo", "--estimators", "fda,magic"], ["unknown estimator 'magic'"]),
        (
            ["demo", "--data-dir", "/no/such/folder", "--estimators", "fda"],
            ["Fashion-MNIST not found"],
        ),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, args, fragments):
    assert_one_line_error(keras_fda(*args, cwd=tmp_path), *fragments)
    assert os.listdir(tmp_path) == []  # nothing half-written


def test_bench_forwards_to_bench_py(monkeypatch):
    """keras-fda bench runs benchmarks/bench.py with the options given (not run here)."""
    from keras_fda import cli

    import subprocess as sp

    from click.testing import CliRunner

    calls = []
    monkeypatch.setattr(sp, "call", lambda args: calls.append(args) or 0)
    result = CliRunner().invoke(
        cli.main, ["bench", "--quick", "--only", "layer", "--targets", "cortex-m4"]
    )
    assert result.exit_code == 0, result.output
    assert calls and calls[0][1].endswith(os.path.join("benchmarks", "bench.py"))
    assert calls[0][2:] == ["--quick", "--only", "layer", "--targets", "cortex-m4"]
    monkeypatch.setattr(sp, "call", lambda args: 3)
    result = CliRunner().invoke(cli.main, ["bench"])
    assert result.exit_code == 1 and "exited with status 3" in result.output
