"""num_threads on Linux builds (issue 16 part 3): LceBconv2d, CONV_2D, DEPTHWISE_CONV_2D,
LceQuantize, ADD, MUL and the pools split their output rows over threads (ADD and MUL of
same-shape inputs their flat elements); LceBconv2d, CONV_2D, DEPTHWISE_CONV_2D and the
pools split output channels instead when the rows would leave a thread fewer than 4 output
pixels, FULLY_CONNECTED its units. The outputs must be
bit-identical for any thread count (each element computed by one thread with the same
arithmetic) and match the LCE interpreter as every model test requires: float within
1e-5, int8 exactly."""

import subprocess

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tests.export_models import small_bnn
from tests.firmware.conftest import assert_matches, convert, lce_predict
from tests.firmware.test_int8 import INT8, int8_conv_stack
from tests.firmware.test_models import _randomize

L = tf.keras.layers
BINARY = dict(
    input_quantizer="ste_sign",
    kernel_quantizer="ste_sign",
    kernel_constraint="weight_clip",
    use_bias=False,
)
THREADS = (1, 2, 3, 4)


def odd_rows():
    """Rows that 2, 3 and 4 threads do not divide, and layers with fewer rows than
    threads: CONV_2D (7 rows), DEPTHWISE_CONV_2D (7), ADD and a broadcast MUL (7), a
    strided same-zero LceBconv2d (4: channels at 3 threads, fewer than two rows each and
    uneven), a valid one (2) and one with a single output row."""
    x = L.Input((7, 9, 3))
    y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(y)
    y = L.Add()([y, L.Conv2D(16, 1)(y)])
    y = L.Multiply()([y, L.GlobalAveragePooling2D(keepdims=True)(y)])
    y = lq.layers.QuantConv2D(32, 3, strides=2, padding="same", **BINARY)(y)
    y = L.BatchNormalization()(y)
    y = lq.layers.QuantConv2D(40, 3, padding="valid", **BINARY)(y)
    y = lq.layers.QuantConv2D(8, (2, 3), padding="valid", **BINARY)(y)
    return tf.keras.Model(x, y)


def late_layers():
    """A network's late layers: too few output pixels per thread for a row split at 2, 3
    or 4 threads, so their channels are split. MAX_POOL_2D (3 rows, 30 input pixels
    gathered), CONV_2D 1x1 (3 rows, 36 channels: slices of 8 and 12), AVERAGE_POOL_2D (2
    rows), DEPTHWISE_CONV_2D with depth multiplier 2 (2 rows), CONV_2D 2x2 (2 rows),
    LceBconv2d with bitpacked output (2 rows, 4 words), LceBMaxPool2d (1 row of 4 words
    from 4 input pixels), LceBconv2d on one pixel (its slices written in place), MEAN, and
    FULLY_CONNECTED (10 units over the threads)."""
    x = L.Input((6, 5, 24))
    y = L.MaxPool2D(2, strides=2, padding="same")(x)
    y = L.Conv2D(36, 1, activation="relu")(y)
    y = L.AveragePooling2D(2, strides=1)(y)
    y = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(y)
    y = L.Conv2D(40, 2, padding="same")(y)
    y = lq.layers.QuantConv2D(128, 3, padding="same", pad_values=1.0, **BINARY)(y)
    y = L.BatchNormalization()(y)
    y = L.MaxPool2D(2, strides=1)(y)
    y = lq.layers.QuantConv2D(96, 1, **BINARY)(y)
    y = L.BatchNormalization()(y)
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(10)(y)
    return tf.keras.Model(x, y)


def flat_binary():
    """ADD and MUL of same-shape inputs split their flat elements in runs of 16 over the
    threads: 7x5x3 (210 elements for the batch of 2: a multiple of neither 16 nor the
    threads), 8 channels of a 1x1 map (16: one run, on the caller), 40 units (80: 5 runs);
    broadcast ones (a per-channel ADD, a MUL by a 1x1 map) keep the row split."""
    x = L.Input((7, 5, 3))
    y = L.Add()([x, L.Conv2D(3, 1)(x)])
    y = L.Multiply()([y, L.Conv2D(3, 3, padding="same", activation="tanh")(y)])
    y = L.Add()([y, L.GlobalAveragePooling2D(keepdims=True)(y)])
    y = L.Multiply()([y, L.Conv2D(3, 1)(L.GlobalAveragePooling2D(keepdims=True)(y))])
    y = L.Conv2D(8, 3, strides=2, activation="relu")(y)
    z = L.Conv2D(8, (3, 2))(y)
    z = L.Add()([z, L.Conv2D(8, 1, activation="relu")(z)])
    z = L.Multiply()([z, L.Conv2D(8, 1)(z)])
    z = L.Flatten()(z)
    u = L.Dense(40, activation="relu")(z)
    u = L.Add()([u, L.Dense(40)(z)])
    u = L.Multiply()([u, L.Dense(40, activation="sigmoid")(u)])
    return tf.keras.Model(x, u)


def _cases():
    rng = np.random.RandomState(16)
    tf.keras.utils.set_random_seed(16)
    cases = {}
    model = small_bnn()
    cases["float_small_bnn"] = (convert(model), [rng.normal(0, 1, (2, 28, 28, 1))])
    cases["int8_small_bnn"] = (
        convert(model, **INT8),
        [rng.randint(-128, 128, (2, 28, 28, 1)).astype(np.int8)],
    )
    model = odd_rows()
    _randomize(model, rng)
    cases["float_odd_rows"] = (convert(model), [rng.normal(0, 1, (2, 7, 9, 3))])
    cases["int8_odd_rows"] = (
        convert(model, **INT8),
        [rng.randint(-128, 128, (2, 7, 9, 3)).astype(np.int8)],
    )
    model = late_layers()
    _randomize(model, rng)
    cases["float_late_layers"] = (convert(model), [rng.normal(0, 1, (2, 6, 5, 24))])
    cases["int8_late_layers"] = (
        convert(model, **INT8),
        [rng.randint(-128, 128, (2, 6, 5, 24)).astype(np.int8)],
    )
    model = flat_binary()
    _randomize(model, rng)
    cases["float_flat_binary"] = (convert(model), [rng.normal(0, 1, (2, 7, 5, 3))])
    cases["int8_flat_binary"] = (
        convert(model, **INT8),
        [rng.randint(-128, 128, (2, 7, 5, 3)).astype(np.int8)],
    )
    model = int8_conv_stack()
    _randomize(model, rng)
    cases["int8_conv_stack"] = (
        convert(model, **INT8),
        [rng.randint(-128, 128, (2, 10, 9, 4)).astype(np.int8)],
    )
    return {
        name: (fb, [x.astype(np.float32) if x.dtype == np.float64 else x for x in inputs])
        for name, (fb, inputs) in cases.items()
    }


@pytest.fixture(scope="module")
def cases():
    return _cases()


@pytest.mark.parametrize(
    "name",
    [
        "float_small_bnn",
        "int8_small_bnn",
        "float_odd_rows",
        "int8_odd_rows",
        "float_late_layers",
        "int8_late_layers",
        "float_flat_binary",
        "int8_flat_binary",
        "int8_conv_stack",
    ],
)
def test_outputs_bit_identical_for_any_thread_count(kfda, cases, name):
    fb, inputs = cases[name]
    ref = lce_predict(fb, inputs)
    one = kfda.run(fb, inputs, threads=1)
    assert_matches(one, ref)
    for threads in THREADS[1:]:
        outs = kfda.run(fb, inputs, threads=threads)
        for o, o1 in zip(outs, one):
            assert o.tobytes() == o1.tobytes(), (name, threads)


@pytest.mark.parametrize(
    "name", ["float_odd_rows", "float_late_layers", "int8_late_layers", "int8_flat_binary"]
)
def test_threads_under_asan(kfda_asan, cases, name):
    """Per-thread scratch, row ranges and channel slices stay in bounds (ASAN/UBSAN, 4
    threads: every late layer splits channels)."""
    fb, inputs = cases[name]
    assert_matches(kfda_asan.run(fb, inputs, threads=4), lce_predict(fb, inputs))


def test_arena_one_share_of_scratch_per_thread(kfda, cases):
    """One thread plans the arena of a plain plan; more threads add one scratch share per
    thread and the pool: the arena grows with the thread count, never shrinks."""
    fb, _ = cases["int8_small_bnn"]
    plans = {t: kfda.plan(fb, t) for t in THREADS}
    plain = subprocess.run(
        [kfda.binary, "plan", kfda.write_model(fb)], capture_output=True, text=True, check=True
    ).stdout
    assert f'"arena_bytes":{plans[1]["arena_bytes"]},' in plain
    assert plans[1]["persist_bytes"] < plans[2]["persist_bytes"]  # the pool
    sizes = [plans[t]["arena_bytes"] for t in THREADS]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


@pytest.mark.parametrize("threads", ["0", "9", "x"])
def test_bad_thread_count_is_one_line(kfda, cases, threads):
    fb, _ = cases["float_odd_rows"]
    res = subprocess.run(
        [kfda.binary, "plan", "--threads", threads, kfda.write_model(fb)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "--threads must be 1 to 8" in res.stderr
