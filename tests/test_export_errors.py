"""Bad input to `keras-fda export`: one line on stderr, exit 1, no traceback, and no
output folder (nor temporary folder) left behind."""

from keras_fda.cli import main

import os
import subprocess
import sys

import export_models
import numpy as np
import pytest
from click.testing import CliRunner

KERAS_FDA = os.path.join(os.path.dirname(sys.executable), "keras-fda")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    paths = {}
    good = folder / "good.keras"
    export_models.small_bnn(input_shape=(16, 16, 1)).save(str(good))
    paths["good"] = str(good)
    data = good.read_bytes()
    (folder / "truncated.keras").write_bytes(data[: len(data) // 2])
    paths["truncated"] = str(folder / "truncated.keras")
    (folder / "random.keras").write_bytes(np.random.default_rng(0).bytes(4096))
    paths["random"] = str(folder / "random.keras")
    import tensorflow as tf
    from larq_compute_engine import convert_keras_model

    (folder / "model.tflite").write_bytes(
        convert_keras_model(tf.keras.models.load_model(str(good)))
    )
    paths["tflite"] = str(folder / "model.tflite")
    x = tf.keras.Input((8, 4))  # the converter fails on it with MLIR diagnostics on fd 2
    lstm = tf.keras.Model(x, tf.keras.layers.Dense(3)(tf.keras.layers.LSTM(6)(x)))
    paths["lstm"] = str(folder / "lstm.keras")
    lstm.save(paths["lstm"])
    for name in ("unsupported", "too_big_for_flash", "too_big_for_ram"):
        paths[name] = str(folder / f"{name}.keras")
        getattr(export_models, name)().save(paths[name])
    return paths


def assert_one_line_error(result, output, contains):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("keras-fda: error: "), lines[0]
    for word in contains:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert not os.path.exists(output)
    parent = os.path.dirname(os.path.abspath(output))
    assert not [n for n in os.listdir(parent) if n.startswith(".keras-fda-")]


def run(args):
    return CliRunner().invoke(main, args)


def test_missing_file(tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", str(tmp_path / "nope.keras"), "--target", "arm64", "-o", out])
    assert_one_line_error(result, out, ["no such file", "nope.keras"])


def test_random_bytes(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", files["random"], "--target", "arm64", "-o", out])
    assert_one_line_error(result, out, ["not a Keras model"])


def test_truncated_zip(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", files["truncated"], "--target", "arm64", "-o", out])
    assert_one_line_error(result, out, ["truncated.keras"])


def test_tflite_instead_of_keras(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", files["tflite"], "--target", "cortex-m", "-o", out])
    assert_one_line_error(result, out, ["TFLite flatbuffer", "keras-fda inspect"])


def test_unsupported_layer(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", files["unsupported"], "--target", "cortex-m", "-o", out])
    assert_one_line_error(result, out, ["'squash'", "EXP"])


def test_unknown_target(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", files["good"], "--target", "riscv", "-o", out])
    assert_one_line_error(result, out, ["unknown --target 'riscv'", "arm64, armv7, cortex-m"])


def test_unknown_cpu(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(
        ["export", files["good"], "--target", "cortex-m", "--cpu", "cortex-m99", "-o", out]
    )
    assert_one_line_error(result, out, ["unknown --cpu 'cortex-m99'", "cortex-m55"])


def test_cpu_with_linux_target(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", files["good"], "--target", "arm64", "--cpu", "cortex-m4", "-o", out])
    assert_one_line_error(result, out, ["--cpu"])


def test_output_not_empty_then_force(files, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run(["export", files["good"], "--target", "arm64", "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"keras-fda: error: --output {out} exists and is not empty; choose another folder "
        "or pass --force to replace it"
    ]
    assert (out / "keep.txt").read_text() == "mine"
    result = run(["export", files["good"], "--target", "arm64", "-o", str(out), "--force"])
    assert result.exit_code == 0, result.output
    # kfda/ (the C runtime) is copied too once the firmware is part of the package
    assert sorted(set(os.listdir(out)) - {"kfda"}) == sorted(
        [
            "Makefile",
            "main.c",
            "manifest.json",
            "model.tflite",
            "sample_input.bin",
            "sample_input.npy",
            "sample_output_lce.bin",
            "sample_output_lce.npy",
        ]
    )
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".keras-fda-")]


def test_too_large_for_flash(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(
        [
            "export",
            files["too_big_for_flash"],
            "--target",
            "cortex-m",
            "--board",
            "samd21g18",
            "-o",
            out,
        ]
    )
    assert_one_line_error(result, out, ["model too large for samd21g18", "flash", "262,144"])


def test_too_large_for_ram(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(
        [
            "export",
            files["too_big_for_ram"],
            "--target",
            "cortex-m",
            "--cpu",
            "cortex-m0plus",
            "-o",
            out,
        ]
    )
    # the 64x64x32 float output alone is 524,288 bytes, over the Pico's 270,336
    assert_one_line_error(result, out, ["model too large for rp2040-pico", "RAM", "270,336"])


def test_too_large_for_microbit(files, tmp_path):
    """The micro:bit's nRF51822 has 16 KiB of RAM: the 16x16 small_bnn's float
    activations (a 16x16x32 float tensor alone is 32,768 bytes) do not fit."""
    out = str(tmp_path / "out")
    result = run(
        ["export", files["good"], "--target", "cortex-m", "--board", "microbit", "-o", out]
    )
    assert_one_line_error(result, out, ["model too large for microbit", "RAM", "16,384"])


def test_verification_failure_leaves_nothing(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", files["good"], "--target", "arm64", "-o", out, "--tolerance", "-1"])
    assert_one_line_error(result, out, ["verification failed"])


@pytest.mark.parametrize(
    "args, words",
    [
        (["export", "/nonexistent/model.keras", "--target", "arm64"], ["no such file"]),
        (["export", "RANDOM", "--target", "arm64"], ["not a Keras model"]),
        # the converter's own MLIR error lines (C++, on fd 2) stay hidden
        (["export", "LSTM", "--target", "arm64"], ["LCE converter could not", "KERAS_FDA_DEBUG"]),
    ],
)
def test_real_cli_process(files, tmp_path, args, words):
    """The installed console script itself: exit status 1, one stderr line."""
    args = [files.get(a.lower(), a) if a.isupper() else a for a in args]
    out = str(tmp_path / "out")
    done = subprocess.run(
        [KERAS_FDA, *args, "-o", out], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-fda: error: "), done.stderr
    assert all(w in lines[0] for w in words)
    assert not os.path.exists(out)


def test_inspect_bad_input(files, tmp_path):
    result = run(["inspect", files["random"]])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[0].startswith("keras-fda: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_inspect_names_an_unsupported_op(tmp_path):
    """A sound model with an op the runtime lacks: the table, and one line naming the op."""
    from larq_compute_engine import convert_keras_model

    path = tmp_path / "unsupported.tflite"
    path.write_bytes(convert_keras_model(export_models.unsupported()))
    result = run(["inspect", str(path)])
    assert result.exit_code == 0, result.output
    table, _, verdict = result.output.partition("keras-fda runtime:")
    index = next(line.split()[0] for line in table.splitlines() if " EXP " in line)
    assert verdict.startswith(f" does not run this model: op {index} is EXP"), verdict


def test_plan_hook_bad_kfda_host(files, tmp_path, monkeypatch):
    not_a_tool = tmp_path / "kfda_host"
    not_a_tool.write_text("nothing")
    monkeypatch.setenv("KFDA_HOST", str(not_a_tool))
    out = str(tmp_path / "out")
    result = run(["export", files["good"], "--target", "cortex-m", "-o", out])
    assert_one_line_error(result, out, ["KFDA_HOST"])


def test_plan_hook_uses_firmware_planner(files, tmp_path):
    """With the firmware's kfda_host built, arena_bytes is its plan, at least the
    activation lower bound."""
    from keras_fda.export import plan

    import json
    import shutil

    if shutil.which("cc") is None and plan.find_tool() is None:
        pytest.skip("no C compiler to build the firmware's kfda_host")
    assert plan.find_tool() is not None  # built on demand from the firmware sources
    out = tmp_path / "out"
    result = run(["export", files["good"], "--target", "cortex-m", "-o", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["arena_bytes"] >= manifest["activation_lower_bound_bytes"] > 0


@pytest.mark.parametrize(
    "args, words",
    [
        (["export", "--bogus"], ["No such option", "--bogus", "keras-fda export --help"]),
        (["plot", "-o", "TMP"], ["--output", "is a directory"]),
        (["nonsense"], ["No such command", "nonsense"]),
    ],
)
def test_usage_errors_in_one_line(tmp_path, args, words):
    result = run([str(tmp_path) if a == "TMP" else a for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-fda: error: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]


def test_ctrl_c_swallowed_by_the_converter_keeps_the_old_package(files, tmp_path, monkeypatch):
    """TensorFlow can swallow the KeyboardInterrupt of a Ctrl-C during conversion; the
    export must still stop with status 130 and leave the package it would replace."""
    from keras_fda.export import convert as convert_module

    import signal

    real_convert = convert_module.convert

    def convert_then_swallowed_ctrl_c(*args, **kwargs):
        flatbuffer = real_convert(*args, **kwargs)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
        except KeyboardInterrupt:
            pass  # what the converter's native code did with it
        return flatbuffer

    monkeypatch.setattr(convert_module, "convert", convert_then_swallowed_ctrl_c)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old_package_file").write_text("the package of an earlier export")
    result = run(["export", files["good"], "--target", "arm64", "-o", str(out), "--force"])
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines() == ["keras-fda: interrupted"], result.stderr
    assert os.listdir(out) == ["old_package_file"]
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".keras-fda-")]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("where", ["convert", "verify"])
def test_ctrl_c_surfacing_as_tensorflow_assertion(files, tmp_path, monkeypatch, where):
    """A Ctrl-C that cuts TensorFlow's stack-trace context surfaces as its __exit__'s
    "AssertionError: Concurrent access?" instead of the KeyboardInterrupt: still one
    line, status 130, and the old package kept."""
    from keras_fda.export import convert as convert_module
    from keras_fda.export import verify as verify_module

    import signal

    module, name = (convert_module, "convert") if where == "convert" else (verify_module, "verify")
    real = getattr(module, name)

    def interrupted_inside_tensorflow(*args, **kwargs):
        real(*args, **kwargs)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
        except KeyboardInterrupt:
            raise AssertionError("Concurrent access?")  # tf_stack.py's __exit__

    monkeypatch.setattr(module, name, interrupted_inside_tensorflow)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old_package_file").write_text("the package of an earlier export")
    result = run(["export", files["good"], "--target", "arm64", "-o", str(out), "--force"])
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines() == ["keras-fda: interrupted"], result.stderr
    assert os.listdir(out) == ["old_package_file"]


def test_ctrl_c_after_the_command(files, tmp_path):
    """Ctrl-C while Python exits (TensorFlow's and h5py's exit handlers run then): one
    line and status 130, not "Exception ignored in atexit callback" and a traceback."""
    script = (
        "import atexit, os, signal, sys, time\n"
        "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(5)))\n"
        f"sys.argv = ['keras-fda', 'inspect', {files['tflite']!r}]\n"
        "from keras_fda.cli import main\n"
        "main()\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert res.returncode == 130, (res.stdout, res.stderr)
    assert res.stderr.strip().splitlines()[-1] == "keras-fda: interrupted", res.stderr
    assert "Traceback" not in res.stderr and "ignored" not in res.stderr, res.stderr
