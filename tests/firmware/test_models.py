"""Whole models: a small Bi-Real-style BNN (float first conv, binary blocks with
shortcuts, a max pool before a quantizer -> LceBMaxPool2d, a stride-2 binary block
with an average-pool + 1x1 float conv shortcut, global average pool, float Dense
classifier) - our native output against the LCE interpreter within 1e-5."""

import larq as lq
import numpy as np
import tensorflow as tf

from tests.firmware.conftest import compare, convert

L = tf.keras.layers
QK = dict(
    input_quantizer="ste_sign",
    kernel_quantizer="ste_sign",
    kernel_constraint="weight_clip",
    use_bias=False,
)


def birealnet(input_shape=(16, 16, 3), classes=10, filters=32):
    x = L.Input(input_shape)
    y = L.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    y = L.BatchNormalization(momentum=0.8)(y)
    # binary blocks with identity shortcuts (same-one padding)
    for _ in range(2):
        s = y
        y = lq.layers.QuantConv2D(filters, 3, padding="same", pad_values=1.0, **QK)(y)
        y = L.BatchNormalization(momentum=0.8)(y)
        y = L.Add()([y, s])
    # max pool feeding only a quantizer -> LceBMaxPool2d (no shortcut around it)
    y = L.MaxPool2D(2)(y)
    y = lq.layers.QuantConv2D(filters, 3, padding="same", pad_values=1.0, **QK)(y)
    y = L.BatchNormalization(momentum=0.8)(y)
    # downsampling block: binary stride 2 (same-zero), shortcut avgpool + 1x1 conv
    s = L.AveragePooling2D(2)(y)
    s = L.Conv2D(2 * filters, 1, use_bias=False)(s)
    s = L.BatchNormalization(momentum=0.8)(s)
    y = lq.layers.QuantConv2D(2 * filters, 3, strides=2, padding="same", **QK)(y)
    y = L.BatchNormalization(momentum=0.8)(y)
    y = L.Add()([y, s])
    y = L.Activation("relu")(y)
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(classes)(y)
    y = L.Activation("softmax")(y)
    return tf.keras.Model(x, y)


def _randomize(model, rng):
    for layer in model.layers:
        w = layer.get_weights()
        if isinstance(layer, L.BatchNormalization):
            c = w[0].shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 2, c),
                    rng.normal(0, 0.5, c),
                    rng.normal(0, 0.5, c),
                    rng.uniform(0.5, 2, c),
                ]
            )
        elif isinstance(layer, lq.layers.QuantConv2D):
            layer.set_weights([rng.uniform(-1, 1, w[0].shape)])


def test_birealnet_matches_lce(kfda):
    rng = np.random.RandomState(7)
    model = birealnet()
    _randomize(model, rng)
    fb = convert(model)
    plan = kfda.plan(fb)
    for op in (
        "LceQuantize",
        "LceBconv2d",
        "LceBMaxPool2d",
        "CONV_2D",
        "ADD",
        "MEAN",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ):
        assert op in plan["ops"], plan["ops"]
    assert plan["arena_bytes"] > 0 and plan["weight_bytes"] > 0
    # logits-level check: softmax outputs within 1e-5, and the same class
    inputs = [rng.normal(0, 1, (4, 16, 16, 3)).astype(np.float32)]
    ours, ref = compare(kfda, fb, inputs)
    np.testing.assert_array_equal(ours[0].argmax(-1), ref[0].argmax(-1))


def test_birealnet_without_softmax_logits(kfda):
    """The pre-softmax logits are larger numbers: check them within 1e-5 too."""
    rng = np.random.RandomState(8)
    full = birealnet()
    _randomize(full, rng)
    model = tf.keras.Model(full.input, full.layers[-2].output)
    fb = convert(model)
    inputs = [rng.normal(0, 1, (3, 16, 16, 3)).astype(np.float32)]
    compare(kfda, fb, inputs, atol=1e-5)
