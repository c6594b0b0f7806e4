"""Cross-target determinism on a whole Bi-Real-style model: x86 native, Cortex-M4
(mps2-an386) and Cortex-M7 (mps2-an500) under qemu-system-arm, arm64 under
qemu-aarch64-static give bit-identical outputs, within 1e-5 of the LCE interpreter.
Then every other target runs a tiny model against the same oracle."""

from keras_fda.export import report, runner
from keras_fda.export.package import read_package
from keras_fda.firmware import source_dir

import os

import numpy as np
import pytest
from lce_packages import lce_predict

pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(source_dir(), "src", "interpreter.c")),
    reason="the runtime core (firmware/src) has not been merged into this branch yet",
)

MAIN_TARGETS = ["native", "mps2-an386", "mps2-an500", "arm64"]
OTHER_TARGETS = ["mps2-an385", "mps2-an505", "mps3-an547", "armv7"]


@pytest.fixture(scope="module")
def bireal_inputs():
    rng = np.random.RandomState(11)
    x = rng.randn(6, 16, 16, 1).astype(np.float32)
    x[0] = 0.0  # every sign at exactly zero: the +1 side of the packing
    x[1] = np.abs(x[1])
    return x


@pytest.fixture(scope="module")
def bireal_runs(bireal_package, bireal_inputs):
    return {
        board: runner.run_package(
            bireal_package, bireal_inputs, board=board, count_instructions=(board == "arm64")
        )
        for board in MAIN_TARGETS
    }


def test_bireal_outputs_are_bit_identical_across_targets(bireal_runs):
    reference = bireal_runs["native"][0]
    for board, (outputs, _) in bireal_runs.items():
        assert outputs.dtype == np.float32 and outputs.shape == reference.shape
        assert outputs.tobytes() == reference.tobytes(), board


def test_bireal_matches_the_lce_interpreter(bireal_runs, bireal_package, bireal_inputs):
    want = lce_predict(bireal_package, bireal_inputs)
    np.testing.assert_allclose(bireal_runs["native"][0], want, rtol=0, atol=1e-5)


def test_bireal_stats(bireal_runs, bireal_package):
    m4 = bireal_runs["mps2-an386"][1]
    m7 = bireal_runs["mps2-an500"][1]
    arm64 = bireal_runs["arm64"][1]
    for stats in (m4, m7):
        assert stats["inferences"] == 6
        assert stats["instructions_per_inference"] > 10_000
        assert stats["flash_bytes"] > stats["model_bytes"]
        assert 0 < stats["arena_bytes"] <= stats["ram_bytes"]
        assert 0 < stats["stack_bytes"] < 16384  # painted at reset, measured at exit
    # The same code and data on an arm64 core: fewer instructions than Thumb-2 would be
    # odd to assert; it must at least have been counted from the exec trace.
    assert arm64["instructions_per_inference"] > 10_000


@pytest.mark.parametrize("board", OTHER_TARGETS)
def test_tiny_model_on_every_other_target(board, tiny_package):
    x = np.random.RandomState(2).randn(3, 8, 8, 1).astype(np.float32)
    outputs, stats = runner.run_package(tiny_package, x, board=board, count_instructions=False)
    native, _ = runner.run_package(tiny_package, x, board="native")
    assert outputs.tobytes() == native.tobytes()
    np.testing.assert_allclose(outputs, lce_predict(tiny_package, x), rtol=0, atol=1e-5)
    assert stats["inferences"] == 3


def test_int8_input_binary_conv_is_exact_on_every_main_target(session_dir):
    """int8 input (LceQuantize on int8, x < zero_point is bit 1) into a binary conv with
    folded batch norm: every target matches the LCE interpreter exactly."""
    import larq as lq
    import tensorflow as tf
    from lce_packages import make_package, randomize_batch_norms

    tf.keras.utils.set_random_seed(3)
    x = tf.keras.Input((8, 8, 32))
    h = lq.layers.QuantConv2D(
        32,
        3,
        padding="same",
        pad_values=1.0,
        use_bias=False,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
    )(x)
    model = tf.keras.Model(x, tf.keras.layers.BatchNormalization()(h))
    randomize_batch_norms(model, np.random.RandomState(0))
    package = make_package(
        model,
        str(session_dir / "int8_in"),
        inference_input_type=tf.int8,
        experimental_default_int8_range=(-3.0, 3.0),
    )
    xs = np.random.RandomState(0).randint(-128, 128, size=(4, 8, 8, 32)).astype(np.int8)
    xs[0] = read_package(package).inputs[0].zero_point  # exactly x == zero point: +1
    want = lce_predict(package, xs)
    for board in ["native", "mps2-an386", "mps2-an500", "arm64"]:
        outputs, _ = runner.run_package(package, xs, board=board, count_instructions=False)
        assert outputs.tobytes() == want.astype(outputs.dtype).tobytes(), board


@pytest.fixture(scope="module")
def int8_runs(session_dir):
    """The tiny BNN with int8 input and output (float conv, binary conv, mean, dense all
    int8 around the binary op), on the main targets."""
    import tensorflow as tf
    from lce_packages import make_package, tiny_model

    tf.keras.utils.set_random_seed(3)
    package = make_package(
        tiny_model(),
        str(session_dir / "int8_io"),
        inference_input_type=tf.int8,
        inference_output_type=tf.int8,
        experimental_default_int8_range=(-3.0, 3.0),
    )
    xs = np.random.RandomState(0).randint(-128, 128, size=(5, 8, 8, 1)).astype(np.int8)
    runs = {
        board: runner.run_package(package, xs, board=board, count_instructions=False)[0]
        for board in MAIN_TARGETS
    }
    return package, xs, runs


def test_int8_model_is_bit_identical_across_targets(int8_runs):
    _, _, runs = int8_runs
    for board, outputs in runs.items():
        assert outputs.dtype == np.int8
        assert outputs.tobytes() == runs["native"].tobytes(), board


def test_int8_model_is_exact_against_lce(int8_runs):
    package, xs, runs = int8_runs
    np.testing.assert_array_equal(runs["native"], lce_predict(package, xs))


def test_target_report_table(tiny_package):
    """The README's table: accuracy, agreement with references, instructions, sizes."""
    x = np.random.RandomState(4).randn(6, 8, 8, 1).astype(np.float32)
    lce = lce_predict(tiny_package, x)
    labels = lce.argmax(axis=1)
    rows = report.target_report(
        tiny_package, x, labels=labels, references={"LCE": lce}, boards=("mps2-an386", "native")
    )
    for row in rows:
        assert row["accuracy"] == 1.0 and row["agree_LCE"] == 1.0
        assert row["max_diff_LCE"] <= 1e-5
    assert rows[0]["instructions"] > 0 and rows[0]["flash_bytes"] > rows[0]["model_bytes"]
    table = report.format_target_table(rows).splitlines()
    assert table[0].split()[:3] == ["target", "accuracy", "agree"]
    assert table[1].startswith("mps2-an386 (cortex-m4)") and len(table) == 3
