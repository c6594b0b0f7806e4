"""NaN and infinities in float models, as the LCE interpreter computes them.

TFLite's float kernels clamp a fused activation (or, without one, +-FLT_MAX) so that NaN
becomes the upper bound and +-inf the bounds: in the LCE interpreter a NaN pixel gives
FLT_MAX out of CONV_2D (6 with RELU6), not NaN. Ours must do the same on every input,
or a single NaN pixel changes the predicted class of a model that LCE still classifies.
The oracle is the LCE interpreter, on inputs made of NaN, -NaN, +-inf and +-FLT_MAX,
alone and sprinkled over random data."""

import numpy as np
import pytest
import tensorflow as tf

from tests.export_models import bireal_style
from tests.firmware.conftest import convert, lce_predict

L = tf.keras.layers
BIG = np.finfo(np.float32).max
NEG_NAN = np.float32(-np.nan)


def nonfinite_inputs(shape, seed=0):
    """(N, *shape): whole images of each special value, then random images with a few
    special values sprinkled in."""
    rng = np.random.default_rng(seed)
    specials = np.array([np.nan, NEG_NAN, np.inf, -np.inf, BIG, -BIG], np.float32)
    whole = [np.full(shape, v, np.float32) for v in specials]
    sprinkled = []
    for i in range(6):
        x = rng.normal(0, 1, shape).astype(np.float32)
        flat = x.reshape(-1)
        idx = rng.choice(flat.size, size=1 + i, replace=False)
        flat[idx] = rng.choice(specials, size=idx.size)
        sprinkled.append(x)
    one_nan = np.zeros(shape, np.float32)
    one_nan.reshape(-1)[0] = np.nan
    return np.stack(whole + sprinkled + [one_nan])


def compare_nonfinite(kfda, fb, inputs):
    """Outputs equal to LCE's: the same NaN and infinities, finite values within
    1e-5 x max(1, |y|) (sums near FLT_MAX round in a different order)."""
    ref = lce_predict(fb, inputs)
    ours = kfda.run(fb, inputs)
    for o, r in zip(ours, ref):
        np.testing.assert_array_equal(np.isnan(o), np.isnan(r))
        np.testing.assert_array_equal(np.isinf(o) * np.sign(o), np.isinf(r) * np.sign(r))
        np.testing.assert_allclose(o, r, rtol=1e-5, atol=1e-5)
    return ours, ref


def float_ops_model(activation):
    """Every float op with a fused activation clamp, each followed by the next."""
    x = L.Input((6, 6, 3))
    y = L.Conv2D(8, 3, padding="same", activation=activation)(x)
    y = L.DepthwiseConv2D(3, padding="same", activation=activation)(y)
    z = L.Conv2D(8, 1)(x)
    y = L.Add()([y, z])
    y = L.Multiply()([y, z])
    y = L.MaxPool2D(2)(y)
    y = L.AveragePooling2D(1)(y)
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(4, activation=activation)(y)
    return tf.keras.Model(x, y)


@pytest.mark.parametrize("activation", [None, "relu", "relu6"])
def test_float_ops_like_lce(kfda, activation):
    fb = convert(float_ops_model(activation))
    compare_nonfinite(kfda, fb, [nonfinite_inputs((6, 6, 3))])


def test_bireal_like_lce(kfda_asan):
    """The binary model of the issue: its class must not depend on us mapping NaN."""
    fb = convert(bireal_style())
    ours, ref = compare_nonfinite(kfda_asan, fb, [nonfinite_inputs((16, 16, 3), seed=1)])
    np.testing.assert_array_equal(np.argmax(ours[0], -1), np.argmax(ref[0], -1))
