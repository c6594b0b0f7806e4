"""Example BNN architectures built from `larq.layers` and the keras_fda estimators.

Every binary convolution has input channels that are a multiple of 32 (so LCE packs
whole words), SAME-one padding (`pad_values=1`, no correction term) and a batch norm
right after it (so the converter folds it into the multiplier and bias). The classifier
is float32 whatever the global policy, so mixed-precision training gets float32 logits.
"""

from keras_fda.estimators import quantizer_factory

import re

import larq as lq
import tensorflow as tf

__all__ = [
    "small_bnn",
    "stm32f4_bnn",
    "microbit_bnn",
    "resnet20",
    "vgg_small",
    "binary_conv_block",
    "build",
]


def _model_name(prefix, estimator):
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', estimator)}"


def binary_conv_block(x, filters, make_quantizer, strides=1, shortcut=True, name=None):
    """sign(x) -> binary 3x3 conv -> batch norm, plus an identity shortcut (Bi-Real style)
    when the shapes allow one."""
    y = lq.layers.QuantConv2D(
        filters,
        3,
        strides=strides,
        padding="same",
        pad_values=1.0,
        input_quantizer=make_quantizer(),
        kernel_quantizer=make_quantizer(),
        kernel_constraint="weight_clip",
        use_bias=False,
        name=None if name is None else f"{name}_conv",
    )(x)
    y = tf.keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, name=None if name is None else f"{name}_bn"
    )(y)
    if shortcut and strides == 1 and x.shape[-1] == filters:
        y = tf.keras.layers.Add(name=None if name is None else f"{name}_add")([x, y])
    return y


def small_bnn(
    estimator="fda",
    input_shape=(28, 28, 1),
    num_classes=10,
    widths=(32, 64, 128),
    blocks_per_stage=2,
    **estimator_options,
):
    """A small Bi-Real-style BNN for 28x28 images (about 0.3 M binary weights by default).

    Full-precision first convolution and classifier; binary 3x3 blocks with identity
    shortcuts in between; 2x2 max pooling between stages (directly before a quantizer,
    so LCE emits a binary max pool); global average pooling; logits out.
    """
    make = quantizer_factory(estimator, **estimator_options)
    return _bireal_net(
        "small_bnn",
        estimator,
        make,
        input_shape,
        num_classes,
        widths[0],
        False,
        widths,
        blocks_per_stage,
    )


def _bireal_net(
    name,
    estimator,
    make,
    input_shape,
    num_classes,
    stem_width,
    stem_pool,
    widths,
    blocks_per_stage,
):
    """Float 3x3 stem + batch norm (optionally max-pooled at once), stages of Bi-Real
    blocks with a max pool between stages, global average pooling, float classifier."""
    inputs = tf.keras.Input(input_shape, name="image")
    x = tf.keras.layers.Conv2D(stem_width, 3, padding="same", use_bias=False, name="stem_conv")(
        inputs
    )
    x = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="stem_bn")(x)
    if stem_pool:
        # the only full-resolution tensor: pooled at once (a binary max pool, bitpacked output)
        x = tf.keras.layers.MaxPool2D(2, name="stem_pool")(x)
    for stage, width in enumerate(widths):
        if stage > 0:
            x = tf.keras.layers.MaxPool2D(2, name=f"pool{stage}")(x)
        for block in range(blocks_per_stage):
            x = binary_conv_block(x, width, make, name=f"stage{stage}_block{block}")
    x = tf.keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = tf.keras.layers.Dense(num_classes, name="classifier", dtype="float32")(x)
    return tf.keras.Model(inputs, outputs, name=_model_name(name, estimator))


def stm32f4_bnn(
    estimator="fda",
    input_shape=(28, 28, 1),
    num_classes=10,
    stem_width=32,
    widths=(64, 128),
    blocks_per_stage=3,
    **estimator_options,
):
    """A BNN for STM32F4-class chips (STM32F405/F411: Cortex-M4F, 128 KiB of SRAM), sized
    for at most 64 KiB of total RAM in an int8 export.

    Float 3x3 stem (32 channels) at 28x28, pooled at once to 14x14 (the only 28x28 map;
    a binary max pool, as the stem's only reader is a binary conv); Bi-Real blocks (binary
    3x3 conv + batch norm + identity shortcut where shapes allow): 3 at 14x14 (64), a
    max pool, 3 at 7x7 (128); global average pooling; float classifier. 0.46 M
    parameters, 36 M binary MACs (as many as small_bnn, whose 28x28 blocks cost it 59 KB
    of int8 arena).
    - Memory: planned arena (kfda_host plan) 35,056 B int8 (110,064 B float, 0.32x),
      flatbuffer 72,880 B int8; with the 8 KiB reserve for runtime state and stack,
      about 43 KB of the 64 KiB.
    - Fashion-MNIST, the README study's setting (all 60k images, 8 epochs, Adam lr 1e-2
      cosine, mixed_bfloat16, fda), seed 0: 91.91% in the study (bf16 convs), 91.75% in
      float32 Keras and the LCE interpreter, 91.13% int8 in the LCE interpreter (whole
      test set; reports/mcu-models/).
    """
    make = quantizer_factory(estimator, **estimator_options)
    return _bireal_net(
        "stm32f4_bnn",
        estimator,
        make,
        input_shape,
        num_classes,
        stem_width,
        True,
        widths,
        blocks_per_stage,
    )


def microbit_bnn(
    estimator="fda",
    input_shape=(28, 28, 1),
    num_classes=10,
    stem_width=32,
    stem_kernel=5,
    widths=(64, 128),
    convs_per_stage=2,
    **estimator_options,
):
    """A BNN for the BBC micro:bit (nRF51822: Cortex-M0, 16 KiB of RAM, 256 KiB of flash).

    5x5 stride-2 valid float stem (28x28 -> 12x12, 32 channels), then plain binary 3x3
    convs without shortcuts: 2 at 12x12 (64), a binary max pool, 2 at 6x6 (128); global
    average pooling; float classifier. 0.28 M parameters, 16 M binary MACs.
    - Memory: in an int8 export every binary conv but the last writes bitpacked output
      (1 bit per value), so the largest live set is the input and the stem's int8 output
      (784 + 4,608 B). Planned arena (kfda_host plan) 7,776 B int8 (23,584 B float),
      flatbuffer 44,344 B int8.
    - Fashion-MNIST, the README study's setting (all 60k images, 8 epochs, Adam lr 1e-2
      cosine, mixed_bfloat16, fda), seed 0: 90.22% in the study (bf16 convs), 90.03% in
      float32 Keras and the LCE interpreter, 89.63% int8 in the LCE interpreter (whole
      test set; reports/mcu-models/).
    """
    make = quantizer_factory(estimator, **estimator_options)
    inputs = tf.keras.Input(input_shape, name="image")
    # stride 2, valid: a 28x28 int8 map of 32 channels alone (25 KiB) would not fit the
    # chip; 12x12 is the largest part of the plan (with the input)
    x = tf.keras.layers.Conv2D(
        stem_width, stem_kernel, strides=2, padding="valid", use_bias=False, name="stem_conv"
    )(inputs)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="stem_bn")(x)
    for stage, width in enumerate(widths):
        if stage > 0:
            x = tf.keras.layers.MaxPool2D(2, name=f"pool{stage}")(x)
        for conv in range(convs_per_stage):
            # no shortcuts: an Add needs int8 inputs; without them every binary conv
            # but the last writes bitpacked output (1 bit per value)
            x = binary_conv_block(x, width, make, shortcut=False, name=f"stage{stage}_conv{conv}")
    x = tf.keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = tf.keras.layers.Dense(num_classes, name="classifier", dtype="float32")(x)
    return tf.keras.Model(inputs, outputs, name=_model_name("microbit_bnn", estimator))


def resnet20(
    estimator="fda", input_shape=(32, 32, 3), num_classes=10, width=32, **estimator_options
):
    """Binary ResNet-20 for 32x32 images, as in the FDA paper's CIFAR-10 tables, with
    Bi-Real shortcuts around every binary conv.

    Full-precision first conv and classifier. Three stages of 6 binary 3x3 convs at
    `width`, 2x and 4x channels (the paper's ResNet-20 has 16/32/64; the default 32 keeps
    every binary conv's input a whole number of 32-bit words). Downsampling shortcuts are
    2x2 average pooling + a float 1x1 conv + batch norm, as in Bi-Real Net.
    """
    make = quantizer_factory(estimator, **estimator_options)
    inputs = tf.keras.Input(input_shape, name="image")
    x = tf.keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="stem_bn")(x)
    for stage in range(3):
        filters = width * 2**stage
        for block in range(6):
            name = f"stage{stage}_conv{block}"
            strides = 2 if stage > 0 and block == 0 else 1
            y = binary_conv_block(x, filters, make, strides=strides, shortcut=False, name=name)
            if strides == 1 and x.shape[-1] == filters:
                shortcut = x
            else:
                shortcut = tf.keras.layers.AveragePooling2D(strides, name=f"{name}_down_pool")(x)
                shortcut = tf.keras.layers.Conv2D(
                    filters, 1, use_bias=False, name=f"{name}_down_conv"
                )(shortcut)
                shortcut = tf.keras.layers.BatchNormalization(
                    momentum=0.9, epsilon=1e-5, name=f"{name}_down_bn"
                )(shortcut)
            x = tf.keras.layers.Add(name=f"{name}_add")([shortcut, y])
    x = tf.keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    outputs = tf.keras.layers.Dense(num_classes, name="classifier", dtype="float32")(x)
    return tf.keras.Model(inputs, outputs, name=_model_name("resnet20", estimator))


def vgg_small(estimator="fda", input_shape=(32, 32, 3), num_classes=10, **estimator_options):
    """Binary VGG-small (128-128-P-256-256-P-512-512-P-FC) for 32x32 images, as in the
    FDA paper's CIFAR-10 tables: full-precision first conv and classifier."""
    make = quantizer_factory(estimator, **estimator_options)
    inputs = tf.keras.Input(input_shape, name="image")
    x = tf.keras.layers.Conv2D(128, 3, padding="same", use_bias=False, name="conv0")(inputs)
    x = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="bn0")(x)
    layer = 1
    for filters, pool in ((128, True), (256, False), (256, True), (512, False), (512, True)):
        x = binary_conv_block(x, filters, make, shortcut=False, name=f"conv{layer}")
        if pool:
            x = tf.keras.layers.MaxPool2D(2, name=f"pool{layer}")(x)
        layer += 1
    x = tf.keras.layers.Flatten(name="flatten")(x)
    outputs = tf.keras.layers.Dense(num_classes, name="classifier", dtype="float32")(x)
    return tf.keras.Model(inputs, outputs, name=_model_name("vgg_small", estimator))


ARCHITECTURES = {
    "small_bnn": small_bnn,
    "stm32f4_bnn": stm32f4_bnn,
    "microbit_bnn": microbit_bnn,
    "resnet20": resnet20,
    "vgg_small": vgg_small,
}


def build(architecture, estimator, input_shape, num_classes=10, **estimator_options):
    """One of ARCHITECTURES by name."""
    if architecture not in ARCHITECTURES:
        from keras_fda.errors import KerasFDAError

        raise KerasFDAError(f"unknown model {architecture!r}: choose {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[architecture](
        estimator, input_shape=input_shape, num_classes=num_classes, **estimator_options
    )
