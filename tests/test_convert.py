"""Every alias converts through the real LCE converter to packed binary ops, and the LCE
interpreter agrees with Keras."""

import keras_fda
from keras_fda import models
from keras_fda import quantizers as kq

import larq_compute_engine as lce
import numpy as np
import pytest
import tensorflow as tf
from larq_compute_engine.tflite.python.interpreter import Interpreter

from tests.helpers import (
    assert_close_to_scale,
    binary_conv,
    clear_of_sign_ties,
    random_images,
    tflite_op_counts,
)

QUANTIZERS = {
    "fda": lambda: "fda",
    "ede": lambda: "ede",
    "fda_approx_sign": lambda: "fda_approx_sign",
    "approx_sign (larq)": lambda: "approx_sign",
    "fda+noise": lambda: kq.FDA(noise_adaptation=True),
    "ede+noise": lambda: kq.EDE(noise_adaptation=True),
    "ste_sign+noise": lambda: kq.NoiseAdapted("ste_sign"),
    "reste": lambda: "reste",
    "reste+noise": lambda: kq.ReSTE(noise_adaptation=True),
}


def every_alias_model():
    inputs = tf.keras.Input((12, 12, 3))
    x = tf.keras.layers.Conv2D(32, 3, padding="same")(inputs)
    x = tf.keras.layers.BatchNormalization()(x)
    for make in QUANTIZERS.values():
        y = binary_conv(32, make(), make())(x)
        x = tf.keras.layers.Add()([x, tf.keras.layers.BatchNormalization()(y)])
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(10)(x))


def train_briefly(model, x):
    """A few steps so that schedule variables, noise weights and batch norm statistics
    are no longer at their initial values."""
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    y = np.random.default_rng(0).integers(0, 10, len(x))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=keras_fda.callbacks.default())


@pytest.fixture(scope="module")
def converted():
    tf.keras.utils.set_random_seed(7)
    model = every_alias_model()
    x = random_images(64, (12, 12, 3))
    train_briefly(model, x)
    return model, x, lce.convert_keras_model(model)


def test_every_alias_becomes_a_packed_binary_conv(converted):
    _, _, flatbuffer = converted
    counts = tflite_op_counts(flatbuffer)
    assert counts.get("LceBconv2d") == len(QUANTIZERS)
    assert counts.get("LceQuantize", 0) >= 1
    assert "CONV_2D" in counts  # the float first layer stays float


def test_lce_interpreter_agrees_with_keras(converted):
    """Within 1e-5 (to scale) on every sample without a sign tie, and on nearly all
    samples: a sample may differ only where one of its binarized activations lies within
    1e-4 of 0, which float rounding may send either way (tests.helpers.clear_of_sign_ties);
    over 32 K activations per sample such a sample is common, a flipped one rare."""
    model, x, flatbuffer = converted
    expected = model.predict(x, verbose=0)
    actual = Interpreter(flatbuffer).predict(x)
    scale = max(1.0, float(np.abs(expected).max()))
    agree = np.abs(actual - expected).reshape(len(x), -1).max(axis=1) <= 1e-5 * scale
    clear = clear_of_sign_ties(model, x)
    assert agree[clear].all() and clear.any()
    assert agree.mean() >= 0.9, agree.mean()


@pytest.mark.parametrize("widths,binary_pools", [((32, 64, 128), 2), ((32, 32, 64), 1)])
def test_small_bnn_converts_for_arm_with_binary_max_pool(widths, binary_pools):
    """A max pool becomes LceBMaxPool2d when a quantizer is its only reader; where the
    next block's identity shortcut also reads the pooled floats, it stays MAX_POOL_2D."""
    tf.keras.utils.set_random_seed(3)
    model = models.small_bnn("fda+noise", widths=widths, blocks_per_stage=1)
    x = random_images(8, (28, 28, 1))
    flatbuffer = lce.convert_keras_model(model, target="arm")
    counts = tflite_op_counts(flatbuffer)
    assert counts.get("LceBconv2d") == 3
    assert counts.get("LceBMaxPool2d", 0) == binary_pools
    assert counts.get("MAX_POOL_2D", 0) == 2 - binary_pools
    assert_close_to_scale(Interpreter(flatbuffer).predict(x), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "architecture,binary_convs,binary_pools", [("resnet20", 18, 0), ("vgg_small", 5, 2)]
)
def test_cifar_models_binarize_fully(architecture, binary_convs, binary_pools):
    """Every binary conv of the paper's CIFAR models becomes LceBconv2d."""
    tf.keras.utils.set_random_seed(5)
    model = models.build(architecture, "fda+noise", (32, 32, 3))
    x = random_images(2, (32, 32, 3))
    flatbuffer = lce.convert_keras_model(model, target="arm")
    counts = tflite_op_counts(flatbuffer)
    assert counts.get("LceBconv2d") == binary_convs
    # VGG-small's last pool feeds the float classifier, so two of its three pools binarize
    assert counts.get("LceBMaxPool2d", 0) == binary_pools
    assert_close_to_scale(Interpreter(flatbuffer).predict(x), model.predict(x, verbose=0))
