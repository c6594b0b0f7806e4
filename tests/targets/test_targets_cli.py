"""`keras-fda run` on bad input: one line on stderr, exit status 1, no traceback, and no
output file. Plus the happy path when the runtime is there."""

from keras_fda.cli import main
from keras_fda.firmware import source_dir

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from lce_packages import make_package

REPRO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "repro")

needs_runtime = pytest.mark.skipif(
    not os.path.isfile(os.path.join(source_dir(), "src", "interpreter.c")),
    reason="the runtime core (firmware/src) has not been merged into this branch yet",
)


def run_cli(*args):
    result = CliRunner().invoke(main, ["run", *map(str, args)])
    return result


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, (result.exit_code, result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("keras-fda: error: ")
    assert "Traceback" not in result.output + result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture()
def inputs(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.RandomState(0).randn(3, 8, 8, 1).astype(np.float32))
    return path


def test_missing_package(tmp_path, inputs):
    out = tmp_path / "y.npy"
    assert_one_line_error(run_cli(tmp_path / "nope", "-i", inputs, "-o", out), "does not exist")
    assert not out.exists()


def test_missing_input_file(tmp_path, tiny_package):
    out = tmp_path / "y.npy"
    assert_one_line_error(
        run_cli(tiny_package, "-i", tmp_path / "x.npy", "-o", out), "does not exist"
    )
    assert not out.exists()


def test_not_a_flatbuffer(tmp_path, tiny_package, inputs):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_package, broken)
    (broken / "model.tflite").write_bytes(b"this is not a model" * 10)
    out = tmp_path / "y.npy"
    assert_one_line_error(run_cli(broken, "-i", inputs, "-o", out), "not a TFLite flatbuffer")
    assert not out.exists()


def test_corrupt_manifest(tmp_path, tiny_package, inputs):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_package, broken)
    (broken / "manifest.json").write_text('{"target": "cortex-m", "input": ')
    out = tmp_path / "y.npy"
    assert_one_line_error(run_cli(broken, "-i", inputs, "-o", out), "not valid JSON")
    assert not out.exists()


@needs_runtime
def test_truncated_flatbuffer(tmp_path, tiny_package, inputs):
    """TFL3 identifier present, body cut: the runtime's bounds checks reject it at load."""
    broken = tmp_path / "broken"
    shutil.copytree(tiny_package, broken)
    data = (broken / "model.tflite").read_bytes()
    (broken / "model.tflite").write_bytes(data[: len(data) // 2])
    out = tmp_path / "y.npy"
    assert_one_line_error(run_cli(broken, "-i", inputs, "-o", out))
    assert not out.exists()


def test_wrong_input_shape(tmp_path, tiny_package):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 7, 8, 1), np.float32))
    out = tmp_path / "y.npy"
    assert_one_line_error(run_cli(tiny_package, "-i", x, "-o", out), "input shape", "(N, 8, 8, 1)")
    assert not out.exists()


def test_wrong_input_dtype(tmp_path, tiny_package):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 8, 8, 1), np.float64))
    out = tmp_path / "y.npy"
    assert_one_line_error(run_cli(tiny_package, "-i", x, "-o", out), "float64", "float32")
    assert not out.exists()


def test_input_not_npy(tmp_path, tiny_package):
    x = tmp_path / "x.npy"
    x.write_text("1, 2, 3")
    out = tmp_path / "y.npy"
    assert_one_line_error(run_cli(tiny_package, "-i", x, "-o", out), ".npy")
    assert not out.exists()


def test_model_bigger_than_the_flash(tmp_path, inputs):
    """A 4.7 MB float Dense does not fit the 4 MiB image memory of mps2-an386."""
    tf.keras.utils.set_random_seed(0)
    x = tf.keras.Input((8, 8, 1))
    h = tf.keras.layers.Flatten()(x)
    h = tf.keras.layers.Dense(18000)(h)
    model = tf.keras.Model(x, tf.keras.layers.Dense(4)(h))
    package = make_package(model, str(tmp_path / "big"), cpu="cortex-m4")
    out = tmp_path / "y.npy"
    assert_one_line_error(
        run_cli(package, "-i", inputs, "-o", out), "does not fit mps2-an386", "flash"
    )
    assert not out.exists()


@needs_runtime
def test_arena_bigger_than_the_ram(tmp_path):
    """Activations of 2 x 1.6 MB do not fit the 2 MiB SRAM of mps3-an547."""
    tf.keras.utils.set_random_seed(0)
    x = tf.keras.Input((160, 160, 16))
    h = tf.keras.layers.Conv2D(16, 1)(x)
    model = tf.keras.Model(x, tf.keras.layers.GlobalAveragePooling2D()(h))
    package = make_package(model, str(tmp_path / "wide"), cpu="cortex-m55")
    xs = tmp_path / "x.npy"
    np.save(xs, np.zeros((1, 160, 160, 16), np.float32))
    out = tmp_path / "y.npy"
    assert_one_line_error(run_cli(package, "-i", xs, "-o", out), "does not fit mps3-an547", "RAM")
    assert not out.exists()


def test_real_board_is_not_run(tmp_path, tiny_package, inputs):
    out = tmp_path / "y.npy"
    assert_one_line_error(
        run_cli(tiny_package, "-i", inputs, "-o", out, "--board", "stm32f746g-disco"), "real board"
    )
    assert not out.exists()


@needs_runtime
def test_run_writes_outputs_and_counts(tmp_path, tiny_package, inputs):
    out = tmp_path / "y.npy"
    result = run_cli(tiny_package, "-i", inputs, "-o", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert np.load(out).shape == (3, 4)
    assert "instructions per inference" in result.output


def test_threads_on_a_microcontroller_is_one_line(tmp_path, tiny_package, inputs):
    out = tmp_path / "y.npy"
    assert_one_line_error(
        run_cli(tiny_package, "-i", inputs, "-o", out, "--threads", "2"), "microcontroller"
    )
    assert not out.exists()


@needs_runtime
def test_threads_on_linux_give_the_same_outputs(tmp_path, tiny_package, inputs):
    """The Linux application on 3 threads (KFDA_NUM_THREADS): its one-thread outputs."""
    outs = {}
    for threads in (1, 3):
        outs[threads] = tmp_path / f"y{threads}.npy"
        result = run_cli(
            tiny_package,
            "-i",
            inputs,
            "-o",
            outs[threads],
            "--board",
            "native",
            "--threads",
            threads,
        )
        assert result.exit_code == 0, result.output + result.stderr
    assert np.load(outs[3]).tobytes() == np.load(outs[1]).tobytes()


@needs_runtime
def test_missing_emulator_names_the_apt_package(tmp_path, tiny_package, inputs, monkeypatch):
    """With the builds cached, only the emulator is needed; without it on PATH the error
    says which Debian package to install."""
    assert run_cli(tiny_package, "-i", inputs, "-o", tmp_path / "warm.npy").exit_code == 0
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = tmp_path / "y.npy"
    assert_one_line_error(
        run_cli(tiny_package, "-i", inputs, "-o", out),
        "qemu-system-arm not found",
        "apt-get install qemu-system-arm",
    )
    assert not out.exists()


def test_package_for_a_real_board_runs_on_the_emulated_core(tmp_path, tiny_package):
    """A package exported for the STM32F746 (export/chips.py's name) runs on mps2-an500,
    the emulated Cortex-M7, and is still held to the real board's 1 MiB / 320 KiB."""
    from keras_fda.export import runner
    from keras_fda.export.package import read_package

    package = tmp_path / "for-disco"
    shutil.copytree(tiny_package, package)
    manifest = json.loads((package / "manifest.json").read_text())
    manifest.update(cpu="cortex-m7", chip={"board": "stm32f746", "cpu": "cortex-m7"})
    (package / "manifest.json").write_text(json.dumps(manifest))
    target, made_for = runner.choose_board(read_package(package))
    assert (target.name, made_for.name) == ("mps2-an500", "stm32f746g-disco")
    assert made_for.ram_bytes == 320 * 1024
    target, made_for = runner.choose_board(read_package(package), "arm64")
    assert (target.name, made_for) == ("arm64", None)


@needs_runtime
def test_nonfinite_inputs_warn_in_one_line(tmp_path, tiny_package):
    x = np.random.RandomState(1).randn(2, 8, 8, 1).astype(np.float32)
    x[0, 0, 0, 0], x[1, 3, 3, 0] = np.nan, -np.inf
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npy"
    result = run_cli(tiny_package, "-i", tmp_path / "x.npy", "-o", out, "--board", "native")
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-fda: warning: "), result.stderr
    assert "1 NaN and 1 infinite" in lines[0]
    assert np.load(out).shape == (2, 4)


@needs_runtime
@pytest.mark.parametrize(
    "repro, words",
    [
        ("r1_conv_zero_channels", ["CONV_2D", "zero channels"]),
        ("r5_int8_conv_bias_int32_max", ["CONV_2D", "accumulator"]),
        ("r9_int8_depthwise_shift", ["DEPTHWISE_CONV_2D", "requantisation"]),
    ],
)
def test_reproducer_in_a_package_is_refused(tmp_path, tiny_package, inputs, repro, words):
    """Issue 14's reproducers (tests/data/repro) as a package's model: one line, exit 1."""
    import hashlib

    broken = tmp_path / "broken"
    shutil.copytree(tiny_package, broken)
    data = open(os.path.join(REPRO, repro + ".tflite"), "rb").read()
    (broken / "model.tflite").write_bytes(data)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["model_sha256"] = hashlib.sha256(data).hexdigest()
    (broken / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "y.npy"
    result = run_cli(broken, "-i", inputs, "-o", out, "--board", "native")
    assert_one_line_error(result, "rejects", *words)
    assert not out.exists()
