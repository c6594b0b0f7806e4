"""Example BNN architectures built from `larq.layers` and the keras_fda estimators.

Every binary convolution has input channels that are a multiple of 32 (so LCE packs
whole words), SAME-one padding (`pad_values=1`, no correction term) and a batch norm
right after it (so the converter folds it into the multiplier and bias).
"""
import tensorflow as tf
import larq as lq

from keras_fda.estimators import quantizer_factory

__all__ = ["small_bnn", "binary_conv_block"]


def binary_conv_block(x, filters, make_quantizer, strides=1, shortcut=True, name=None):
    """sign(x) -> binary 3x3 conv -> batch norm, plus an identity shortcut (Bi-Real style)
    when the shapes allow one."""
    y = lq.layers.QuantConv2D(
        filters, 3, strides=strides, padding="same", pad_values=1.0,
        input_quantizer=make_quantizer(), kernel_quantizer=make_quantizer(),
        kernel_constraint="weight_clip", use_bias=False,
        name=None if name is None else f"{name}_conv",
    )(x)
    y = tf.keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, name=None if name is None else f"{name}_bn")(y)
    if shortcut and strides == 1 and x.shape[-1] == filters:
        y = tf.keras.layers.Add(name=None if name is None else f"{name}_add")([x, y])
    return y


def small_bnn(estimator="fda", input_shape=(28, 28, 1), num_classes=10,
              widths=(32, 64, 128), blocks_per_stage=2, **estimator_options):
    """A small Bi-Real-style BNN for 28x28 images (about 0.3 M binary weights by default).

    Full-precision first convolution and classifier; binary 3x3 blocks with identity
    shortcuts in between; 2x2 max pooling between stages (directly before a quantizer,
    so LCE emits a binary max pool); global average pooling; logits out.
    """
    make = quantizer_factory(estimator, **estimator_options)
    inputs = tf.keras.Input(input_shape, name="image")
    x = tf.keras.layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="stem_bn")(x)
    for stage, width in enumerate(widths):
        if stage > 0:
            x = tf.keras.layers.MaxPool2D(2, name=f"pool{stage}")(x)
        for block in range(blocks_per_stage):
            x = binary_conv_block(x, width, make, name=f"stage{stage}_block{block}")
    x = tf.keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = tf.keras.layers.Dense(num_classes, name="classifier")(x)
    return tf.keras.Model(inputs, outputs, name=f"small_bnn_{estimator.replace('+', '_')}")
