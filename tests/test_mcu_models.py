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
from keras_fda.export import platforms
from keras_fda.export.convert import convert
from keras_fda.export.platforms import KiB, get_target

import larq as lq
import numpy as np
import pytest
from export_models import randomize_batch_norms

# The board each model is for, and the total RAM (arena + runtime state + stack, as the
# export measures it) it must fit: the issue's 64 KiB goal on the STM32F405 (128 KiB of
# SRAM) and the nRF51822's whole 16 KiB.
BOARD = {"stm32f4_bnn": "netduinoplus2", "microbit_bnn": "microbit"}
TOTAL_RAM_GOAL = {"stm32f4_bnn": 64 * KiB, "microbit_bnn": 16 * KiB}
CHIP_RAM = TOTAL_RAM_GOAL


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


def test_int8_fits_and_runs_on_its_chip(converted, tmp_path):
    """The int8 export for the model's own board: its total RAM (the export refuses a
    model whose total exceeds the board's RAM) within the goal, and the emulated chip's
    outputs exactly the LCE interpreter's."""
    from keras_fda.export import export_model, runner

    from larq_compute_engine.tflite.python.interpreter import Interpreter

    name = converted["name"]
    folder = tmp_path / "package"
    calibration = tmp_path / "calibration.npy"
    np.save(calibration, np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32))
    manifest = export_model(
        converted["model"],
        "cortex-m",
        str(folder),
        board=BOARD[name],
        int8=True,
        calibration=str(calibration),
        log=lambda *_: None,
    )
    ram = manifest["ram"]
    assert ram["total_bytes"] <= TOTAL_RAM_GOAL[name], ram
    assert ram["board_ram_bytes"] == platforms.BOARDS[BOARD[name]].ram_bytes
    x = np.random.default_rng(1).integers(-128, 128, (2, 28, 28, 1), dtype=np.int8)
    got, stats = runner.run_package(str(folder), x, board=BOARD[name])
    want = Interpreter((folder / "model.tflite").read_bytes()).predict(x)
    assert np.array_equal(np.asarray(got).reshape(want.shape), want)
    assert stats["stack_bytes"] <= ram["stack_bytes"]
