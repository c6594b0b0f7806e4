"""Issue 15's ops on emulated targets, batched into two graphs so each target builds
once: every new float op in one graph, every op the converter emits in int8 in another,
on arm64 under qemu-user and on a Cortex-M4 (mps2-an386). Outputs bit-identical to the
x86 host driver, and within 1e-5 x max(1, |y|) (float) or equal (int8) to the LCE
interpreter. Each op on its own: tests/firmware/test_single_ops.py."""

from keras_fda.export import runner

import larq_compute_engine as lce
import numpy as np
import pytest
import tensorflow as tf
from lce_packages import write_package

from tests.firmware.conftest import lce_predict
from tests.firmware.test_single_ops import (
    CASES,
    _prelu,
    assert_float_close,
    float_inputs,
)

L = tf.keras.layers


def _outputs(result):
    return result if isinstance(result, list) else [result]


def _check(package, x, board, kfda, fb):
    ours = _outputs(runner.run_package(package, x, board=board, count_instructions=False)[0])
    native = kfda.run(fb, [x])
    assert len(ours) == len(native)
    for o, n in zip(ours, native):
        assert o.tobytes() == n.tobytes(), board
    want = lce_predict(fb, [x])
    if x.dtype == np.float32:
        assert_float_close(ours, want)
    else:
        for o, r in zip(ours, want):
            np.testing.assert_array_equal(o, r)


def all_float_ops():
    """Every new float op in one graph with four outputs (one firmware build)."""
    tf.keras.utils.set_random_seed(0)
    x = L.Input((4, 5, 6))
    c = np.linspace(-1.0, 1.0, 6).astype(np.float32)
    branches = [
        _prelu(x * 2.0),  # not on x: RELU(x) shared with a branch undoes the PRELU fusion
        tf.sigmoid(x),
        tf.tanh(x),
        x * tf.nn.relu6(x + 3.0) / 6.0,
        tf.nn.relu(x),
        tf.nn.relu6(x),
        tf.clip_by_value(x, -1.0, 1.0),
        tf.abs(x),
        tf.round(x),
        tf.minimum(x, 0.3),
        tf.maximum(x, c),
        x - c,
    ]
    first, second = tf.split(x, 2, axis=-1)
    mean = tf.reduce_mean(x[:, 1:4:2, ::-2, 1:], axis=[1, 3])  # (3,)
    outputs = [  # CONCATENATION takes at most 8 inputs
        tf.concat(branches[:6], axis=-1),
        tf.concat(branches[6:], axis=-1),
        first,
        tf.transpose(second[:, 1], [0, 2, 1]) + mean[:, :, None],
    ]
    return tf.keras.Model(x, outputs)


def _fq(low, high):
    return L.Lambda(lambda t: tf.quantization.fake_quant_with_min_max_vars(t, low, high))


def all_int8_ops():
    """Every new op the converter emits in int8, in one graph with four outputs."""
    tf.keras.utils.set_random_seed(0)
    x = L.Input((4, 5, 6))
    a = _fq(-3.0, 3.0)(x)
    y = _fq(-2.0, 2.0)(_prelu(a))
    y = _fq(-1.0, 1.5)(y * tf.nn.relu6(y + 3.0) / 6.0)
    y = _fq(-2.0, 2.0)(y - tf.constant(np.linspace(-1.0, 1.0, 6).astype(np.float32)))
    y = tf.minimum(tf.maximum(y, -0.5), 0.75)
    y = _fq(0.0, 2.0)(tf.abs(_fq(0.0, 1.0)(tf.nn.relu6(y))))
    first, second = tf.split(a, 2, axis=-1)
    t = tf.transpose(first, [0, 3, 1, 2])[:, :, 1:4:2, ::-2]
    return tf.keras.Model(
        x,
        [
            y,
            tf.sigmoid(tf.tanh(a)),
            _fq(-1.0, 1.0)(tf.clip_by_value(_fq(0.0, 3.0)(tf.nn.relu(second)), -1.0, 1.0)),
            _fq(-1.0, 1.0)(tf.reduce_mean(t, axis=[1, 3])),
        ],
    )


@pytest.fixture(scope="module")
def packages(kfda, tmp_path_factory):
    """(package, flatbuffer, inputs) of the float and the int8 graph."""
    folder = tmp_path_factory.mktemp("single_ops")
    fb_float = lce.convert_keras_model(all_float_ops(), target="arm")
    fb_int8 = lce.convert_keras_model(
        all_int8_ops(), target="arm", inference_input_type=tf.int8, inference_output_type=tf.int8
    )
    float_ops = set(kfda.plan(fb_float)["ops"])
    assert {CASES[name][0] for name in CASES} <= float_ops, float_ops
    int8_ops = set(kfda.plan(fb_int8)["ops"])
    assert {CASES[name][0] for name in CASES if CASES[name][2]} <= int8_ops, int8_ops
    rng = np.random.RandomState(8)
    return {
        "float": (write_package(fb_float, str(folder / "float")), fb_float, float_inputs(rng)[:3]),
        "int8": (
            write_package(fb_int8, str(folder / "int8")),
            fb_int8,
            rng.randint(-128, 128, (3, 4, 5, 6)).astype(np.int8),
        ),
    }


@pytest.mark.parametrize("kind", ["float", "int8"])
@pytest.mark.parametrize("board", ["arm64", "mps2-an386"])
def test_new_ops_on_targets(packages, kfda, board, kind):
    package, fb, x = packages[kind]
    _check(package, x, board, kfda, fb)
