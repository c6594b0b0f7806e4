"""Shared test set-up: Keras 2 bound before TensorFlow loads, quiet logs, seeded runs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_fda  # noqa: E402,F401  (binds Keras 2 before any test imports TensorFlow)

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    tf.keras.utils.set_random_seed(1234)
    yield
    tf.keras.backend.clear_session()
