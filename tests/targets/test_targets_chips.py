"""The boards that emulate real chips, linked for the real chips' memory: netduinoplus2
(STM32F405, Cortex-M4F, 128 KiB of RAM) and microbit (nRF51822, Cortex-M0, 16 KiB).
A micro model, float and int8, runs on both: float within 1e-5 (relative) of the LCE
interpreter, int8 exactly equal to it, both bit-identical between the M4F and the
soft-float M0; and the image with its measured stack fits the chip's RAM."""

from keras_fda.export import platforms, runner

import larq as lq
import numpy as np
import pytest
import tensorflow as tf
from lce_packages import lce_predict, make_package, randomize_batch_norms

BOARDS = ["netduinoplus2", "microbit"]
L = tf.keras.layers


def micro_model():
    """Small enough for the micro:bit: float conv 8, binary 3x3 conv 8 (one-padded),
    global average pool, dense 4 on a 6x6x1 input."""
    x = tf.keras.Input((6, 6, 1))
    h = L.Conv2D(8, 3, padding="same", use_bias=False)(x)
    h = L.BatchNormalization()(h)
    h = lq.layers.QuantConv2D(
        8,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(h)
    h = L.BatchNormalization()(h)
    h = L.GlobalAveragePooling2D()(h)
    model = tf.keras.Model(x, L.Dense(4)(h))
    randomize_batch_norms(model, np.random.RandomState(1))
    return model


@pytest.fixture(scope="module")
def micro_packages(session_dir):
    tf.keras.utils.set_random_seed(3)
    model = micro_model()
    return {
        "float": make_package(model, str(session_dir / "micro-float"), cpu="cortex-m0"),
        # the converter's default ranges stand in for calibration: what is tested is that
        # the boards compute what the LCE interpreter computes
        "int8": make_package(
            model,
            str(session_dir / "micro-int8"),
            cpu="cortex-m0",
            experimental_default_int8_range=(-3.0, 3.0),
            inference_input_type=tf.int8,
            inference_output_type=tf.int8,
        ),
    }


def micro_inputs(kind):
    rng = np.random.RandomState(4)
    if kind == "int8":
        return rng.randint(-128, 128, size=(3, 6, 6, 1)).astype(np.int8)
    x = rng.randn(3, 6, 6, 1).astype(np.float32)
    x[0] = 0.0  # every sign at exactly zero
    return x


@pytest.fixture(scope="module")
def micro_runs(micro_packages):
    return {
        (kind, board): runner.run_package(micro_packages[kind], micro_inputs(kind), board=board)
        for kind in micro_packages
        for board in BOARDS
    }


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_micro_model_matches_the_lce_interpreter_on_both_chips(kind, micro_runs, micro_packages):
    want = lce_predict(micro_packages[kind], micro_inputs(kind))
    for board in BOARDS:
        outputs, stats = micro_runs[kind, board]
        assert stats["inferences"] == 3 and outputs.dtype == want.dtype, board
        if kind == "int8":
            np.testing.assert_array_equal(outputs, want, err_msg=board)
        else:
            scale = float(np.abs(want).max())
            np.testing.assert_allclose(outputs, want, rtol=1e-5, atol=1e-5 * scale, err_msg=board)
    # the M4F's hardware float and the M0's software float give the same bits
    m4, m0 = (micro_runs[kind, board][0] for board in BOARDS)
    assert m4.tobytes() == m0.tobytes()


@pytest.mark.parametrize("board", BOARDS)
def test_micro_model_fits_the_chips_ram(board, micro_runs):
    chip = platforms.BOARDS[board]
    for kind in ("float", "int8"):
        stats = micro_runs[kind, board][1]
        assert stats["instructions_per_inference"] > 10_000
        assert 0 < stats["arena_bytes"] < stats["ram_bytes"]
        # static RAM (arena, runtime state, newlib, heap) and the stack actually used
        assert stats["ram_bytes"] + stats["stack_bytes"] <= chip.ram_bytes
        assert stats["flash_bytes"] <= chip.flash_bytes
