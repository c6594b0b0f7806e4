"""Float builtin ops (and LceDequantize) in small converted models, against the LCE
interpreter within 1e-5. Each model strings several ops together to keep conversions
few; the op census from `kfda_host plan` shows which ops each model really contains."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tests.firmware.conftest import compare, convert

L = tf.keras.layers


def _randomize_bn(model, rng):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 2, c),
                    rng.normal(0, 1, c),
                    rng.normal(0, 0.5, c),
                    rng.uniform(0.5, 2, c),
                ]
            )


def conv_stack():
    x = L.Input((12, 11, 3))
    y = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, depth_multiplier=2, padding="valid", activation=tf.nn.relu6)(y)
    y = L.Conv2D(16, 2, dilation_rate=2, padding="same")(y)
    y = L.MaxPool2D(2, padding="same")(y)
    y = L.AveragePooling2D(2, strides=1, padding="same")(y)
    y = L.Flatten()(y)
    y = L.Dense(12, activation="relu")(y)
    y = L.Dense(10)(y)
    y = L.Softmax()(y)
    return tf.keras.Model(x, y), {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
        "FULLY_CONNECTED",
        "SOFTMAX",
        "RESHAPE",
    }


def elementwise():
    a = L.Input((5, 6, 8))
    b = L.Input((5, 6, 8))
    y = L.Add()([a, b])
    y = L.BatchNormalization()(y)  # MUL + ADD by per-channel constants (broadcast)
    z = L.Multiply()([y, b])
    z = L.ZeroPadding2D(((1, 0), (2, 1)))(z)
    w = L.Concatenate(axis=-1)([z, L.ZeroPadding2D(((1, 0), (2, 1)))(a)])
    g = L.GlobalAveragePooling2D()(w)
    g = L.Reshape((4, 4))(g)
    return tf.keras.Model([a, b], g), {"ADD", "MUL", "PAD", "CONCATENATION", "MEAN", "RESHAPE"}


def quant_dense():
    x = L.Input((40,))
    y = lq.layers.QuantDense(
        24, input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip"
    )(x)
    y = L.Dense(5)(y)
    return tf.keras.Model(x, y), {"LceQuantize", "LceDequantize", "FULLY_CONNECTED"}


@pytest.mark.parametrize("build", [conv_stack, elementwise, quant_dense])
def test_builtin_graph(kfda, build):
    rng = np.random.RandomState(3)
    model, expected_ops = build()
    _randomize_bn(model, rng)
    fb = convert(model)
    ops = set(kfda.plan(fb)["ops"])
    assert expected_ops <= ops, ops
    inputs = [rng.normal(0, 1, (4,) + tuple(i.shape[1:])).astype(np.float32) for i in model.inputs]
    compare(kfda, fb, inputs)
