"""kfda_runtime on x86, installed with pip from the checkout: outputs equal the C
runtime's host driver (the same C code) and match the LCE interpreter (the oracle:
float within 1e-5, int8 exact); the API and the errors of LCE's Interpreter."""

import os
import subprocess
import sys

import numpy as np
import pytest
from larq_compute_engine.tflite.python.interpreter import Interpreter as LCEInterpreter

from tests.export_models import unsupported
from tests.firmware.conftest import assert_matches, convert, lce_predict


def _as_list(outputs):
    return outputs if isinstance(outputs, list) else [outputs]


def test_outputs_equal_c_runtime_and_match_lce(kfda_runtime, kfda, model_cases, case):
    fb, inputs = model_cases[case]
    ours = _as_list(kfda_runtime.Interpreter(fb).predict(inputs if len(inputs) > 1 else inputs[0]))
    for got, want in zip(ours, kfda.run(fb, inputs)):
        np.testing.assert_array_equal(got, want)
    assert_matches(ours, lce_predict(fb, inputs))


def test_attributes_equal_lce(kfda_runtime, model_cases, case):
    fb, _ = model_cases[case]
    ours, lce = kfda_runtime.Interpreter(fb), LCEInterpreter(fb)
    for name in (
        "input_types",
        "input_shapes",
        "input_zero_points",
        "output_types",
        "output_shapes",
        "output_zero_points",
    ):
        assert getattr(ours, name) == getattr(lce, name), name
    for name in ("input_scales", "output_scales"):
        for got, want in zip(getattr(ours, name), getattr(lce, name)):
            assert got == (None if want is None else np.float32(want)), name


def test_model_from_path_and_misaligned_bytes(kfda_runtime, model_cases, tmp_path):
    """The C runtime needs a 16-byte aligned flatbuffer: the package copies it, whatever
    the caller's buffer (here every offset of a bytearray's memory)."""
    fb, inputs = model_cases["float_small_bnn"]
    want = kfda_runtime.Interpreter(fb).predict(inputs[0])
    path = tmp_path / "model.tflite"
    path.write_bytes(fb)
    np.testing.assert_array_equal(kfda_runtime.Interpreter(str(path)).predict(inputs[0]), want)
    np.testing.assert_array_equal(kfda_runtime.Interpreter(path).predict(inputs[0]), want)
    for offset in range(16):  # at least 15 of these addresses are not 16-byte aligned
        view = memoryview(bytearray(offset) + bytearray(fb))[offset:]
        np.testing.assert_array_equal(kfda_runtime.Interpreter(view).predict(inputs[0]), want)


def test_iterator_and_empty_batch(kfda_runtime, model_cases):
    fb, inputs = model_cases["int8_two_inputs"]
    interpreter = kfda_runtime.Interpreter(fb)
    want = interpreter.predict(inputs)
    samples = iter([[a[k] for a in inputs] for k in range(inputs[0].shape[0])])
    np.testing.assert_array_equal(interpreter.predict(samples), want)
    empty = interpreter.predict([a[:0] for a in inputs])
    assert empty.shape == (0,) + interpreter.output_shapes[0][1:]
    assert empty.dtype == interpreter.output_types[0]


@pytest.mark.parametrize(
    "name", ["float_small_bnn", "int8_binary", "int8_two_inputs", "float_two_outputs"]
)
def test_num_threads(kfda_runtime, kfda, model_cases, name):
    """1 to 4 threads give the C runtime's one-thread outputs, bit for bit (LceBconv2d and
    CONV_2D split over threads); more threads than the runtime's limit run on 8."""
    fb, inputs = model_cases[name]
    want = kfda.run(fb, inputs)
    for threads in (1, 2, 3, 4):
        interpreter = kfda_runtime.Interpreter(fb, num_threads=threads)
        assert interpreter.num_threads == threads
        got = interpreter.predict(inputs)
        got = got if isinstance(got, list) else [got]
        for g, w in zip(got, want):
            assert g.tobytes() == w.tobytes(), (name, threads)
    assert kfda_runtime.Interpreter(fb, num_threads=64).num_threads == 8


def test_bad_num_threads(kfda_runtime, model_cases):
    fb, _ = model_cases["float_two_outputs"]
    for bad in (0, -1, 1.5, "2", True, None):
        with pytest.raises(ValueError, match="num_threads must be an integer >= 1"):
            kfda_runtime.Interpreter(fb, num_threads=bad)


@pytest.mark.parametrize(
    "make_input, message",
    [
        (
            lambda x: x.astype(np.float64),
            r"input 0: expected shape \(N, 28, 28, 1\) of float32, "
            r"got shape \(3, 28, 28, 1\) of float64",
        ),
        (lambda x: x.astype(">f4"), r"got shape \(3, 28, 28, 1\) of >f4 \(byte-swapped\)"),
        (
            lambda x: x[:, :27],
            r"expected shape \(N, 28, 28, 1\) of float32, got shape \(3, 27, 28, 1\)",
        ),
        (lambda x: x[0], r"expected shape \(N, 28, 28, 1\) of float32, got shape \(28, 28, 1\)"),
        (lambda x: [x, x], r"the model has 1 input\(s\) but predict got 2 array\(s\)"),
        (lambda x: [x.tolist()], r"input 0: expected a numpy array of shape \(N, 28, 28, 1\)"),
        (lambda x: 3.0, r"predict expects a numpy array, a list of numpy arrays"),
    ],
)
def test_wrong_inputs_raise_one_clear_error(kfda_runtime, model_cases, make_input, message):
    fb, inputs = model_cases["float_small_bnn"]
    with pytest.raises(ValueError, match=message):
        kfda_runtime.Interpreter(fb).predict(make_input(inputs[0]))


def test_wrong_sample_counts_and_int_dtype(kfda_runtime, model_cases):
    fb, inputs = model_cases["int8_two_inputs"]
    interpreter = kfda_runtime.Interpreter(fb)
    with pytest.raises(ValueError, match="different numbers of samples: 3, 2"):
        interpreter.predict([inputs[0], inputs[1][:2]])
    with pytest.raises(ValueError, match=r"input 1: expected shape \(N, 4, 5, 6\) of int8"):
        interpreter.predict([inputs[0], inputs[1].astype(np.uint8)])


def test_bad_models(kfda_runtime, model_cases, tmp_path):
    with pytest.raises(ValueError, match="cannot load this model: malformed model: "):
        kfda_runtime.Interpreter(b"not a flatbuffer at all, just bytes")
    with pytest.raises(ValueError, match="cannot load this model: bad argument: empty"):
        kfda_runtime.Interpreter(b"")
    with pytest.raises(ValueError, match="cannot load this model: unsupported op: .*EXP"):
        kfda_runtime.Interpreter(convert(unsupported()))
    fb, _ = model_cases["float_small_bnn"]
    with pytest.raises(ValueError, match="cannot load this model"):
        kfda_runtime.Interpreter(fb[: len(fb) // 2])
    with pytest.raises(ValueError, match="cannot read the model file .*missing.tflite"):
        kfda_runtime.Interpreter(str(tmp_path / "missing.tflite"))
    with pytest.raises(TypeError, match="bytes or the path"):
        kfda_runtime.Interpreter(12)


def test_runtime_extras(kfda_runtime, kfda, model_cases):
    """Arena, weights and ops as the C runtime's own planner reports them."""
    fb, _ = model_cases["float_small_bnn"]
    interpreter = kfda_runtime.Interpreter(fb)
    plan = kfda.plan(fb)
    assert interpreter.arena_bytes == plan["arena_bytes"]
    assert interpreter.weight_bytes == plan["weight_bytes"]
    assert {op: interpreter.ops.count(op) for op in interpreter.ops} == plan["ops"]
    interpreter.close()
    interpreter.close()  # idempotent
    with pytest.raises(ValueError, match="this Interpreter was closed"):
        interpreter.predict(np.zeros((1, 28, 28, 1), np.float32))


def _run(args, site, **kwargs):
    env = dict(os.environ, PYTHONPATH=site)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, **kwargs
    )


def test_imports_numpy_and_nothing_of_tensorflow(runtime_site):
    done = _run(
        [
            "-c",
            "import sys, kfda_runtime; print(sorted({m.split('.')[0] for m in "
            "sys.modules} & {'tensorflow', 'larq', 'larq_compute_engine', "
            "'keras', 'tf_keras', 'keras_fda'}))",
        ],
        runtime_site,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cli_run_and_info(runtime_site, kfda, model_cases, tmp_path):
    fb, inputs = model_cases["int8_two_inputs"]
    model = tmp_path / "model.tflite"
    model.write_bytes(fb)
    for k, array in enumerate(inputs):
        np.save(tmp_path / f"x{k}.npy", array)
    done = _run(
        [
            "-m",
            "kfda_runtime",
            "run",
            str(model),
            "-i",
            str(tmp_path / "x0.npy"),
            "-i",
            str(tmp_path / "x1.npy"),
            "-o",
            str(tmp_path / "y.npy"),
        ],
        runtime_site,
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), kfda.run(fb, inputs)[0])
    done = _run(["-m", "kfda_runtime", "info", str(model)], runtime_site)
    assert done.returncode == 0, done.stderr
    assert "input 1: int8 [1, 4, 5, 6], scale" in done.stdout
    assert f"arena {kfda.plan(fb)['arena_bytes']} bytes" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["run", "{model}", "-i", "{x0}", "-o", "{y}"],
            "the model has 2 input(s) but predict got 1",
        ),
        (["run", "{missing}", "-i", "{x0}", "-o", "{y}"], "cannot read the model file"),
        (["run", "{model}", "-i", "{missing}", "-i", "{x0}", "-o", "{y}"], "cannot read"),
        (["info", "{x0}"], "cannot load this model"),
    ],
)
def test_cli_errors_are_one_line(runtime_site, model_cases, tmp_path, args, message):
    fb, inputs = model_cases["int8_two_inputs"]
    paths = {
        "model": tmp_path / "model.tflite",
        "x0": tmp_path / "x0.npy",
        "y": tmp_path / "y.npy",
        "missing": tmp_path / "missing",
    }
    paths["model"].write_bytes(fb)
    np.save(paths["x0"], inputs[0])
    done = _run(["-m", "kfda_runtime"] + [a.format(**paths) for a in args], runtime_site)
    assert done.returncode == 1
    assert done.stderr.startswith("kfda-runtime: error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
