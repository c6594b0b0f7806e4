"""Small models for the export tests, with their expected op counts worked out by hand
from the architecture and LCE's conversion rules (../shared/spec/LCE_MODELS.md).

Batch norms get trained-like statistics (`randomize_batch_norms`): with the initial ones
(mean 0, variance 1, beta 0) the sum of a binary conv, an integer, maps to exactly 0 and
sign(0) then depends on float rounding in Keras vs TFLite.
"""

import keras_fda  # noqa: F401  (binds Keras 2 before TensorFlow and Larq load)

import larq as lq
import numpy as np
import tensorflow as tf

BINARY = dict(
    input_quantizer="fda", kernel_quantizer="fda", kernel_constraint="weight_clip", use_bias=False
)


def randomize_batch_norms(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            n = gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, n).astype(np.float32),
                    rng.normal(0.0, 0.5, n).astype(np.float32),
                    rng.uniform(-3.0, 3.0, n).astype(np.float32),
                    rng.uniform(2.0, 20.0, n).astype(np.float32),
                ]
            )
    return model


def small_bnn(input_shape=(28, 28, 1), classes=10):
    """The Fashion-MNIST demo shape: float stem, two binary convs, float classifier.

    conv(float) -> BN -> bconv(same-one) -> BN -> maxpool -> bconv(same-zero) -> BN
    -> maxpool -> global average pool -> dense(float) -> softmax

    Expected: 2 LceBconv2d. 1 LceQuantize: the first binary conv quantizes the float
    stem; the second's input is the first's output, which after its folded batch norm
    is emitted bitpacked, through one LceBMaxPool2d (a max pool followed by a sign).
    The second bconv uses zero padding (the "arm" target's correction). Float MACs: the
    stem (28*28*32*9*1) and the classifier (64*10).
    """
    inp = tf.keras.Input(input_shape)
    x = tf.keras.layers.Conv2D(32, 3, padding="same", use_bias=False, name="stem")(inp)
    x = tf.keras.layers.BatchNormalization()(x)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, name="bconv1", **BINARY)(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.MaxPool2D(2)(x)
    x = lq.layers.QuantConv2D(64, 3, padding="same", name="bconv2", **BINARY)(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.MaxPool2D(2)(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = tf.keras.layers.Dense(classes, name="classifier")(x)
    x = tf.keras.layers.Activation("softmax")(x)
    return randomize_batch_norms(tf.keras.Model(inp, x, name="small_bnn"))


SMALL_BNN_EXPECTED = {
    "LceBconv2d": 2,
    "LceQuantize": 1,
    "LceBMaxPool2d": 1,
    "binary_macs": 28 * 28 * 32 * 9 * 32 + 14 * 14 * 64 * 9 * 32,
    "float_macs": 28 * 28 * 32 * 9 * 1 + 64 * 10,
}


def bireal_style(input_shape=(16, 16, 3), classes=10):
    """Bi-Real-style: a float shortcut around every binary conv.

    stem conv -> BN -> maxpool (the first block's quantizer follows a max pool)
    block 1: bconv 32, 3x3, same-one            + identity shortcut
    block 2: bconv 64, 3x3, stride 2, same-one  + avgpool -> 1x1 float conv -> BN shortcut
    block 3: bconv 64, 3x3, same-one            + identity shortcut
    global average pool -> dense(float) -> softmax

    Expected: 3 LceBconv2d, all pad_values 1, one with stride 2. 3 LceQuantize: every
    binary conv's input is a float sum that the shortcut also needs.
    """
    inp = tf.keras.Input(input_shape)
    x = tf.keras.layers.Conv2D(32, 3, padding="same", use_bias=False, name="stem")(inp)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.MaxPool2D(2)(x)

    def block(x, filters, strides, name):
        y = lq.layers.QuantConv2D(
            filters, 3, strides=strides, padding="same", pad_values=1.0, name=name, **BINARY
        )(x)
        y = tf.keras.layers.BatchNormalization()(y)
        if strides > 1 or x.shape[-1] != filters:
            x = tf.keras.layers.AveragePooling2D(strides)(x)
            x = tf.keras.layers.Conv2D(filters, 1, use_bias=False)(x)
            x = tf.keras.layers.BatchNormalization()(x)
        return tf.keras.layers.Add()([x, y])

    x = block(x, 32, 1, "bconv1")
    x = block(x, 64, 2, "bconv2")
    x = block(x, 64, 1, "bconv3")
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = tf.keras.layers.Dense(classes, name="classifier")(x)
    x = tf.keras.layers.Activation("softmax")(x)
    return randomize_batch_norms(tf.keras.Model(inp, x, name="bireal_style"))


BIREAL_EXPECTED = {
    "LceBconv2d": 3,
    "LceQuantize": 3,
    "binary_macs": 8 * 8 * 32 * 9 * 32 + 4 * 4 * 64 * 9 * 32 + 4 * 4 * 64 * 9 * 64,
    "float_macs": 16 * 16 * 32 * 9 * 3 + 4 * 4 * 64 * 32 + 64 * 10,
}


def with_quant_dense(input_shape=(16, 16, 1)):
    """A binary conv with 16 input channels, a pool between it and its batch norm, a
    QuantConv2D with a float input (findings the export must report), and a binary
    QuantDense (which the export rewrites as a 1x1 binary conv)."""
    inp = tf.keras.Input(input_shape)
    x = tf.keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(inp)
    x = tf.keras.layers.BatchNormalization()(x)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, name="narrow", **BINARY)(x)
    x = tf.keras.layers.MaxPool2D(2, name="pool")(x)
    x = tf.keras.layers.BatchNormalization(name="late_bn")(x)
    x = lq.layers.QuantConv2D(
        32,
        3,
        padding="same",
        input_quantizer=None,
        kernel_quantizer="fda",
        use_bias=False,
        name="float_input",
    )(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = lq.layers.QuantDense(10, name="binary_dense", **BINARY)(x)
    return randomize_batch_norms(tf.keras.Model(inp, x, name="with_quant_dense"))


def unsupported(input_shape=(16, 16, 1)):
    """An exponential activation: TFLite EXP, which the keras-fda runtime does not implement."""
    inp = tf.keras.Input(input_shape)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **BINARY)(inp)
    x = tf.keras.layers.Activation("exponential", name="squash")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inp, x, name="unsupported")


def too_big_for_flash(input_shape=(16, 16, 1)):
    """A float dense layer of 256 x 320 weights: about 330 kB, over a SAMD21's 256 KiB."""
    inp = tf.keras.Input(input_shape)
    x = tf.keras.layers.Flatten()(inp)
    x = tf.keras.layers.Dense(320)(x)
    return tf.keras.Model(inp, x, name="too_big")


def too_big_for_ram(input_shape=(64, 64, 1)):
    """A 64x64x32 float activation (512 KiB) next to its input: over a Pico's 264 KiB."""
    inp = tf.keras.Input(input_shape)
    x = tf.keras.layers.Conv2D(32, 3, padding="same")(inp)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inp, x, name="too_big_ram")


def example_small_bnn():
    """The README's example, `keras_fda.models.small_bnn("fda+noise")` (widths 32/64/128,
    two blocks per stage, identity shortcuts where the width stays).

    Expected: 6 LceBconv2d. 2 LceBMaxPool2d: each stage's first block changes the width,
    so it has no shortcut and its max pool has a quantizer as its only reader. 6
    LceQuantize: every binary conv's input is float (the stem, an Add, or a batch norm
    output that the next block's shortcut also reads), and the two pools quantize before
    pooling, so each of the 6 convs has exactly one quantize upstream of it.
    """
    from keras_fda.models import small_bnn as build

    return randomize_batch_norms(build("fda+noise"))


def _stage_macs(side, c_in, c_out):
    return side * side * c_out * 9 * c_in


EXAMPLE_SMALL_BNN_EXPECTED = {
    "LceBconv2d": 6,
    "LceQuantize": 6,
    "LceBMaxPool2d": 2,
    "binary_macs": 2 * _stage_macs(28, 32, 32)
    + _stage_macs(14, 32, 64)
    + _stage_macs(14, 64, 64)
    + _stage_macs(7, 64, 128)
    + _stage_macs(7, 128, 128),
    "float_macs": 28 * 28 * 32 * 9 * 1 + 128 * 10,
}
