"""The microcontroller models (keras_fda.models.stm32f4_bnn and microbit_bnn), untrained:
each builds, converts with the LCE converter in float and whole-graph int8, every binary
conv becomes an LceBconv2d, the int8 graph has no float32 activation, and the arena the
firmware's own planner (`kfda_host plan`) gives the int8 model fits the chip's RAM less a
reserve for the runtime state, the stack and the application. Training and accuracy are in
benchmarks/mcu_models.py and reports/mcu-models/, not here.
"""

from keras_fda import models
from keras_fda.export import graph as graph_mod
from keras_fda.export import int8 as int8_mod
from keras_fda.export import plan
from keras_fda.export.convert import convert
from keras_fda.export.platforms import KiB, get_target

import larq as lq
import numpy as np
import pytest
from export_models import randomize_batch_norms

# Total RAM each model is for: the 64 KiB goal for the STM32F4-class model (the
# STM32F405 has 128 KiB of SRAM) and the nRF51822's 16 KiB for the micro:bit model.
# TODO(issue 13 part 3): take them from export/platforms.py's netduinoplus2 and microbit
# boards once those land.
CHIP_RAM = {"stm32f4_bnn": 64 * KiB, "microbit_bnn": 16 * KiB}
# Reserve for the runtime state (kfda_model, a few KB once its tables come from the arena),
# the stack and the application's statics, until export/ram.py's measured figures land.
RESERVE = 8 * KiB
ARENA_BUDGET = {name: ram - RESERVE for name, ram in CHIP_RAM.items()}


@pytest.fixture(scope="module", params=sorted(CHIP_RAM))
def converted(request, tmp_path_factory):
    name = request.param
    model = randomize_batch_norms(models.build(name, "fda", (28, 28, 1)))
    calibration = np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)
    target = get_target("cortex-m")
    qat, _ = int8_mod.quantize_model(model, calibration, log=lambda _: None)
    int8_flatbuffer = convert(qat, target, int8=True)
    path = tmp_path_factory.mktemp(name) / "model.tflite"
    path.write_bytes(int8_flatbuffer)
    return {
        "name": name,
        "model": model,
        "float": graph_mod.read_graph(convert(model, target)),
        "int8": graph_mod.read_graph(int8_flatbuffer),
        "int8_path": str(path),
    }


def _binary_convs(model):
    return [layer for layer in model.layers if isinstance(layer, lq.layers.QuantConv2D)]


def test_registered(converted):
    assert models.ARCHITECTURES[converted["name"]] is getattr(models, converted["name"])


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_binary_convs_become_lce_bconv2d(converted, kind):
    counts = converted[kind].op_counts()
    assert counts.get("LceBconv2d", 0) == len(_binary_convs(converted["model"]))
    assert counts.get("CONV_2D", 0) == 1  # the stem, the only full-precision conv


def test_int8_has_no_float32_activation(converted):
    graph = converted["int8"]
    activations = [t for t in graph.tensors if not t.constant]
    assert activations and all(t.dtype != "float32" for t in activations), [
        (t.name, t.dtype) for t in activations if t.dtype == "float32"
    ]
    assert int8_mod.float_ops(graph) == {}


def test_bitpacked_chains(converted):
    """A binary conv read only by binary convs (directly or through a max pool) writes
    1 bit per value (int32 words); the others int8."""
    bconvs = [op for op in converted["int8"].ops if op.type == "LceBconv2d"]
    kinds = [op.outputs[0].dtype for op in bconvs]
    if converted["name"] == "microbit_bnn":  # a plain chain: all bitpacked but the last
        assert kinds == ["int32"] * (len(bconvs) - 1) + ["int8"]
    else:  # Bi-Real shortcuts: every output feeds an ADD
        assert kinds == ["int8"] * len(bconvs)


def test_int8_arena_fits_the_chip(converted):
    tool = plan.find_tool()
    assert tool is not None, "the firmware's planner (kfda_host) could not be built"
    arena = int(plan.run_plan(converted["int8_path"], tool)["arena_bytes"])
    assert arena <= ARENA_BUDGET[converted["name"]], (arena, ARENA_BUDGET[converted["name"]])
