"""A short real training run on Fashion-MNIST: every estimator learns (far above the 10%
of chance) with plain model.fit and the default schedules."""

from keras_fda import datasets, models, training

import os

import pytest
import tensorflow as tf

pytestmark = pytest.mark.skipif(
    not os.path.isdir(datasets.FASHION_MNIST_DIR),
    reason="Debian package dataset-fashion-mnist not installed",
)


@pytest.fixture(scope="module")
def fashion_subset():
    (x, y), (xt, yt) = datasets.load_fashion_mnist()
    return (x[:3000], y[:3000]), (xt[:2000], yt[:2000])


@pytest.mark.parametrize(
    "estimator", ["ste_sign", "approx_sign", "ede", "reste", "fda", "fda+noise"]
)
def test_every_estimator_learns_fashion_mnist(fashion_subset, estimator):
    (x, y), (xt, yt) = fashion_subset
    tf.keras.utils.set_random_seed(0)
    model = models.small_bnn(estimator, widths=(32, 32, 64), blocks_per_stage=1)
    # 48 steps in all: a larger step than the 60k-image recipe's so the test stays short
    quick = training.Recipe(learning_rate=3e-2)
    history, seconds = training.fit(model, (x, y), None, epochs=2, recipe=quick, verbose=0)
    accuracy = training.evaluate_accuracy(model, xt, yt)
    assert accuracy > 0.5, f"{estimator}: {accuracy:.3f}"
    assert len(seconds) == 2 and history["loss"][1] < history["loss"][0]
