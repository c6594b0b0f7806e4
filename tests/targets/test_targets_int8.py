"""int8 exactly as the LCE interpreter on every kind of target: x86 native, arm64 and
armv7 under qemu-user, and Cortex-M4 (DSP kernels) under qemu-system-arm.

Two int8 models:
  * the benchmark's int8 twin of the example BNN (benchmarks/bench.py: every binary conv
    a plain int8 Conv2D, the converter's default ranges): CONV_2D, ADD, MAX_POOL_2D, MEAN,
    FULLY_CONNECTED;
  * the whole-graph int8 export (keras_fda.export.int8, as `keras-fda export --int8`) of
    the Bi-Real-style BNN: LceQuantize from int8, LceBconv2d with int8 output, int8 ADD,
    MAX_POOL_2D, AVERAGE_POOL_2D, QUANTIZE, MEAN, FULLY_CONNECTED, SOFTMAX.
Inputs: zeros, all -128, all 127 and random int8. Every output must equal the LCE
interpreter's, byte for byte."""

from keras_fda.export import runner
from keras_fda.firmware import source_dir

import importlib.util
import os

import numpy as np
import pytest
from lce_packages import lce_predict, make_package

from tests.helpers import tflite_op_counts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = ["native", "arm64", "armv7", "mps2-an386"]

pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(source_dir(), "src", "interpreter.c")),
    reason="the runtime core (firmware/src) has not been merged into this branch yet",
)


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench", os.path.join(ROOT, "benchmarks", "bench.py")
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def _whole_graph_int8_bireal():
    """export_models.bireal_style through the --int8 stage (calibrated on 64 inputs)."""
    from keras_fda.export import int8
    from keras_fda.export.convert import convert
    from keras_fda.export.platforms import get_target

    from tests import export_models

    data = np.random.default_rng(7).uniform(-1, 1, (64, 16, 16, 3)).astype(np.float32)
    qat, _ = int8.quantize_model(export_models.bireal_style(), data, log=lambda *_: None)
    return convert(qat, get_target("cortex-m"), int8=True)


def _inputs(shape, seed):
    x = np.random.RandomState(seed).randint(-128, 128, (5,) + tuple(shape)).astype(np.int8)
    x[0], x[1], x[2] = 0, -128, 127
    return x


@pytest.fixture(scope="module")
def int8_models(session_dir):
    bench = _bench()
    twin = bench.convert(bench.conv_twin(bench.example_bnn()), **bench.INT8)
    return {
        "twin": make_package(None, str(session_dir / "int8_twin"), flatbuffer=twin),
        "bireal": make_package(
            None, str(session_dir / "int8_bireal"), flatbuffer=_whole_graph_int8_bireal()
        ),
    }


@pytest.mark.parametrize("name", ["twin", "bireal"])
def test_int8_exactly_lce_on_every_target(int8_models, name):
    package = int8_models[name]
    with open(os.path.join(package, "model.tflite"), "rb") as f:
        ops = tflite_op_counts(f.read())
    assert "MEAN" in ops and "FULLY_CONNECTED" in ops
    if name == "bireal":
        assert {"LceBconv2d", "LceQuantize", "ADD", "SOFTMAX"} <= set(ops)
    x = _inputs((28, 28, 1) if name == "twin" else (16, 16, 3), seed=len(name))
    want = lce_predict(package, x)
    assert want.dtype == np.int8
    for board in TARGETS:
        outputs, _ = runner.run_package(package, x, board=board, count_instructions=False)
        assert outputs.dtype == np.int8 and outputs.shape == want.shape, board
        np.testing.assert_array_equal(outputs, want, err_msg=board)
