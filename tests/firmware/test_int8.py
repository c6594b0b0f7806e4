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
INT8_IO_ONLY = dict(inference_input_type=tf.int8, inference_output_type=tf.int8)
INT8 = dict(
    experimental_default_int8_range=(-3.0, 3.0),
    inference_input_type=tf.int8,
    inference_output_type=tf.int8,
)


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
    y = lq.layers.QuantConv2D(
        32,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )(y)
    y = L.BatchNormalization()(y)
    y = L.MaxPool2D(2)(y)  # an int8 op right after the bconv: int8 bconv output
    y = L.Conv2D(8, 1)(y)
    return tf.keras.Model(x, y)


@pytest.mark.parametrize(
    "build",
    [
        int8_conv_stack,
        int8_binary,
        "bireal",  # ends MEAN -> bias-free FULLY_CONNECTED -> SOFTMAX, all int8
    ],
)
def test_int8_graph_exact(kfda, build):
    rng = np.random.RandomState(21)
    if build == "bireal":
        model = birealnet()
        _randomize(model, rng)
    else:
        model = build()
        _randomize(model, rng)
    fb = convert(model, **INT8)
    shape = (3,) + tuple(model.input.shape[1:])
    compare(kfda, fb, [rng.randint(-128, 128, shape).astype(np.int8)])


# ---- single int8 ops (exact against the LCE interpreter) ----------------------------
# FakeQuant layers give each tensor its own range (as QAT does), so the converter emits
# the int8 op with distinct input/output scales and zero points.


def _fq(low, high):
    return L.Lambda(lambda t: tf.quantization.fake_quant_with_min_max_vars(t, low, high))


def int8_softmax():
    x = L.Input((3, 13))
    y = _fq(-5.0, 7.0)(x)
    y = L.Softmax()(y)
    return tf.keras.Model(x, y)


def int8_mul():
    a, b = L.Input((4, 5, 6)), L.Input((4, 5, 6))
    y = L.Multiply()([_fq(-2.0, 3.0)(a), _fq(-1.5, 0.5)(b)])
    return tf.keras.Model([a, b], _fq(-4.0, 3.5)(y))


def int8_mul_broadcast():
    a, b = L.Input((4, 5, 6)), L.Input((1, 1, 6))
    y = L.Multiply()([_fq(-2.0, 3.0)(a), _fq(0.0, 2.0)(b)])
    return tf.keras.Model([a, b], _fq(-3.0, 5.0)(y))


def int8_requantize():
    # a max pool keeps its input's scale; its output read at another range gets an
    # int8 -> int8 QUANTIZE after it
    x = L.Input((8, 8, 3))
    a = _fq(-1.0, 2.0)(x)
    return tf.keras.Model(
        x, [_fq(-6.0, 0.75)(L.MaxPool2D(2)(a)), _fq(-1.0, 2.0)(L.AveragePooling2D(2)(a))]
    )


@pytest.mark.parametrize(
    "build, op",
    [
        (int8_softmax, "SOFTMAX"),
        (int8_mul, "MUL"),
        (int8_mul_broadcast, "MUL"),
        (int8_requantize, "QUANTIZE"),
    ],
)
def test_int8_single_op_exact(kfda, build, op):
    model = build()
    fb = convert(model, inference_input_type=tf.int8, inference_output_type=tf.int8)
    assert op in kfda.plan(fb)["ops"]
    rng = np.random.RandomState(5)
    inputs = [
        rng.randint(-128, 128, (64,) + tuple(t.shape[1:])).astype(np.int8) for t in model.inputs
    ]
    compare(kfda, fb, inputs)


# ---- int8 -> int8 QUANTIZE (requantize) on every input value. TFLite's optimized kernel
# rounds its blocks of 16 values half up and the last n % 16 half away from zero, so the
# tensor (269 values: 16 blocks and a tail of 13) is fed every value at every position
# class. The ranges give input/output scale ratios below and above 1 and zero points of
# both signs.


@pytest.mark.parametrize(
    "in_range, out_range",
    [
        ((-1.0, 2.0), (-6.0, 0.75)),  # ratio 0.44, zero points -43 -> 96
        ((-3.0, 3.0), (-1.0, 1.0)),  # ratio 3, zero point ~0
        ((-8.0, 1.0), (-1.5, 0.3)),  # ratio 5, zero points 100 -> 85
        ((0.0, 5.0), (-5.0, 5.0)),  # ratio 0.5, zero point -128 -> 0
    ],
)
def test_int8_requantize_every_value(kfda, in_range, out_range):
    size = 16 * 16 + 13
    x = L.Input((size, 1, 1))
    y = L.MaxPool2D(1)(_fq(*in_range)(x))  # keeps the input's scale: QUANTIZE after it
    fb = convert(tf.keras.Model(x, _fq(*out_range)(y)), **INT8_IO_ONLY)
    assert "QUANTIZE" in kfda.plan(fb)["ops"]
    values = np.arange(-128, 128, dtype=np.int8)
    # sample k starts the sweep 13 * k positions later: every value lands in the tail
    inputs = np.stack([np.resize(np.roll(values, 13 * k), size) for k in range(20)])
    compare(kfda, fb, [inputs[:, :, None, None]])


# ---- int8 MEAN: the LCE interpreter's TFLite picks its kernel from keep_dims and the raw
# axes: QuantizedMeanOrSum (zero point out of the sum, 1/count in the multiplier), or, for
# keep_dims over H, W, the optimized 4D kernel (its NEON loop over blocks of 16 channels
# rounds half up, its scalar loop over the rest half away from zero).


def int8_mean(axis, keepdims, out_range, channels=16):
    def build():
        x = L.Input((5, 6, channels))
        y = L.Lambda(lambda t: tf.reduce_mean(t, axis=axis, keepdims=keepdims))(_fq(-1.0, 2.0)(x))
        return tf.keras.Model(x, _fq(*out_range)(y) if out_range else y)

    return build


@pytest.mark.parametrize(
    "build",
    [
        int8_mean([1, 2], False, (-0.2, 0.3)),  # global average pooling, clamping
        int8_mean([3], False, (-0.7, 1.1)),
        int8_mean([-3, -2], True, (-3.0, 1.0)),  # negative axes: not the 4D kernel
        int8_mean([1, 2], True, (-0.2, 0.3), channels=37),  # the 4D kernel: 32 NEON + 5
    ],
)
def test_int8_mean_exact(kfda, build):
    model = build()
    fb = convert(model, inference_input_type=tf.int8, inference_output_type=tf.int8)
    assert "MEAN" in kfda.plan(fb)["ops"]
    x = np.random.RandomState(9).randint(-128, 128, (24,) + tuple(model.input.shape[1:]))
    x[0], x[1], x[2] = 0, -128, 127
    compare(kfda, fb, [x.astype(np.int8)])


# ---- int8 DEPTHWISE_CONV_2D rounding: TFLite's optimized per-channel kernel requantises
# blocks of 8 output channels half up (NEON VQRDMULH + rounding shift) and the last
# cout % 8 channels half away from zero (gemmlowp); the two differ only on negative ties.
# 5 inputs x depth multiplier 2 = 10 channels (8 + 2); a narrow output range gives a right
# shift of ~5, so ties are frequent.


def int8_depthwise_ties():
    x = L.Input((6, 7, 5))
    depthwise = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    y = depthwise(_fq(-1.0, 1.0)(x))
    rng = np.random.RandomState(3)
    depthwise.set_weights([rng.uniform(-0.3, 0.3, (3, 3, 5, 2)), rng.uniform(-0.2, 0.2, 10)])
    return tf.keras.Model(x, _fq(-0.5, 0.5)(y))


def test_int8_depthwise_rounding_exact(kfda):
    model = int8_depthwise_ties()
    fb = convert(model, **INT8_IO_ONLY)
    assert "DEPTHWISE_CONV_2D" in kfda.plan(fb)["ops"]
    x = np.random.RandomState(4).randint(-128, 128, (32, 6, 7, 5)).astype(np.int8)
    compare(kfda, fb, [x])
