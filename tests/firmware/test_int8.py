"""int8 graphs (converter's default int8 ranges standing in for QAT statistics): int8
CONV_2D / DEPTHWISE_CONV_2D (per-channel), FULLY_CONNECTED, pools, MEAN, ADD, QUANTIZE,
DEQUANTIZE and int8 LceQuantize/LceBconv2d around the binary ops - outputs must match
the LCE interpreter exactly."""
import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tests.firmware.conftest import compare, convert
from tests.firmware.test_models import _randomize, birealnet

L = tf.keras.layers
INT8 = dict(experimental_default_int8_range=(-3.0, 3.0), inference_input_type=tf.int8,
            inference_output_type=tf.int8)


def int8_conv_stack():
    x = L.Input((10, 9, 4))
    y = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation=tf.nn.relu6)(y)
    y = L.Conv2D(12, 2, padding="valid")(y)
    y = L.MaxPool2D(2, padding="same")(y)
    y = L.AveragePooling2D(2, strides=1, padding="same")(y)
    s = L.Conv2D(12, 1)(y)
    y = L.Add()([y, s])
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(7)(y)
    return tf.keras.Model(x, y)


def int8_binary():
    x = L.Input((8, 8, 16))
    y = L.Conv2D(32, 3, padding="same")(x)
    y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                              kernel_quantizer="ste_sign", kernel_constraint="weight_clip",
                              use_bias=False)(y)
    y = L.BatchNormalization()(y)
    y = L.MaxPool2D(2)(y)  # an int8 op right after the bconv: int8 bconv output
    y = L.Conv2D(8, 1)(y)
    return tf.keras.Model(x, y)


@pytest.mark.parametrize("build", [
    int8_conv_stack,
    int8_binary,
    pytest.param("bireal", marks=pytest.mark.xfail(strict=True, reason=(
        "known gap: every layer up to the global average pool matches exactly, the final "
        "bias-free int8 FULLY_CONNECTED does not (under investigation)"))),
])
def test_int8_graph_exact(kfda, build):
    rng = np.random.RandomState(21)
    if build == "bireal":
        full = birealnet()
        _randomize(full, rng)
        model = tf.keras.Model(full.input, full.layers[-2].output)  # int8 softmax: not yet
    else:
        model = build()
        _randomize(model, rng)
    fb = convert(model, **INT8)
    shape = (3,) + tuple(model.input.shape[1:])
    compare(kfda, fb, [rng.randint(-128, 128, shape).astype(np.int8)])
