"""model.save / load_model round trips, no custom_objects needed."""

import keras_fda
from keras_fda import estimators, models

import numpy as np
import tensorflow as tf

from tests.helpers import random_images


def without_build_state(config):
    """A config without Keras' `build_config` entries (build state, not configuration)."""
    if isinstance(config, dict):
        return {k: without_build_state(v) for k, v in config.items() if k != "build_config"}
    return config


ESTIMATORS = [
    "fda",
    "fda+noise",
    "ede",
    "ede+noise",
    "approx_sign",
    "approx_sign+noise",
    "ste_sign+noise",
    "reste",
    "reste+noise",
]


def every_estimator_bnn():
    """A small BNN with one binary block per estimator: one round trip covers them all."""
    inputs = tf.keras.Input((16, 16, 1))
    x = tf.keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)
    for estimator in ESTIMATORS:
        make = estimators.quantizer_factory(estimator)
        x = models.binary_conv_block(x, 16, make, name=estimator.replace("+", "_"))
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(10)(x))


def test_keras_format_round_trip_is_exact(tmp_path):
    model = every_estimator_bnn()
    x = random_images(16, (16, 16, 1))
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, np.arange(16) % 10, epochs=2, verbose=0, callbacks=keras_fda.callbacks.default())
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # training-mode outputs too: noise weights, alpha and schedule variables came back
    np.testing.assert_array_equal(loaded(x, training=True).numpy(), model(x, training=True).numpy())
    quantized = 0
    for before, after in zip(model.layers, loaded.layers):
        quantized += getattr(before, "input_quantizer", None) is not None
        for attribute in ("input_quantizer", "kernel_quantizer"):
            if getattr(before, attribute, None) is not None:
                assert without_build_state(
                    getattr(after, attribute).get_config()
                ) == without_build_state(getattr(before, attribute).get_config())
    assert quantized == len(ESTIMATORS)
    # and training can resume from the loaded model
    loaded.fit(x, np.arange(16) % 10, epochs=1, verbose=0)
