"""The accuracy study's hypothesis knobs: the optimizers the recipes build, and weight decay
on the noise branch only. One step with zero gradients leaves Adam's and SGD's update at
0, so whatever moves is the decay alone: w -> w (1 - lr d), the decoupled decay's formula."""

from keras_fda import KerasFDAError, models, training
from keras_fda.noise import NoiseAdaptation

import numpy as np
import pytest
import tensorflow as tf


def small_model(estimator):
    return models.small_bnn(estimator, widths=(32, 32, 32), blocks_per_stage=1)


def step_with_zero_gradients(model, optimizer):
    before = [v.numpy() for v in model.trainable_variables]
    optimizer.apply_gradients([(tf.zeros_like(v), v) for v in model.trainable_variables])
    return before, [v.numpy() for v in model.trainable_variables]


def noise_kernel_ids(model):
    """ids of W1 and W2 of every noise branch, found by walking the layers' quantizers."""
    ids = set()
    for layer in model.layers:
        for name in ("input_quantizer", "kernel_quantizer"):
            quantizer = getattr(layer, name, None)
            noise = getattr(quantizer, "noise", None)
            if isinstance(noise, NoiseAdaptation):
                ids |= {id(noise.w1), id(noise.w2)}
    return ids


def test_noise_weight_decay_reaches_the_noise_kernels_and_nothing_else():
    model = small_model("fda+noise")
    rate, decay = 0.01, 0.5
    recipe = training.Recipe(
        optimizer="adam", learning_rate=rate, cosine_decay=False, noise_weight_decay=decay
    )
    optimizer = training.make_optimizer(recipe, 100, model)
    noise_ids = noise_kernel_ids(model)
    assert len(noise_ids) == 2 * 3 * 2  # 3 binary convs, input and kernel quantizers, W1 + W2
    before, after = step_with_zero_gradients(model, optimizer)
    for variable, old, new in zip(model.trainable_variables, before, after):
        if id(variable) in noise_ids:
            np.testing.assert_allclose(new, old * (1 - rate * decay), rtol=1e-6)
        else:
            np.testing.assert_array_equal(new, old)  # conv kernels, batch norm, classifier
    assert sum(id(v) in noise_ids for v in model.trainable_variables) == len(noise_ids)


def test_without_noise_weight_decay_nothing_decays():
    model = small_model("fda+noise")
    optimizer = training.make_optimizer(training.FASHION_MNIST, 100, model)
    assert type(optimizer) is tf.keras.optimizers.Adam
    before, after = step_with_zero_gradients(model, optimizer)
    for old, new in zip(before, after):
        np.testing.assert_array_equal(new, old)


def test_paper_sgd_recipe_builds_the_papers_optimizer():
    recipe = training.recipe_for("fashion-mnist", "paper-sgd")
    model = small_model("fda+noise")
    optimizer = training.make_optimizer(recipe, 1000, model)
    assert type(optimizer) is tf.keras.optimizers.SGD
    assert optimizer.momentum == 0.9
    assert optimizer.weight_decay == pytest.approx(1e-4)
    schedule = tf.keras.optimizers.schedules.deserialize(optimizer.get_config()["learning_rate"])
    assert isinstance(schedule, tf.keras.optimizers.schedules.CosineDecay)
    assert float(schedule(0)) == pytest.approx(0.1)
    assert float(schedule(500)) == pytest.approx(0.05, rel=1e-6)  # cosine: half way, half
    assert float(schedule(1000)) == pytest.approx(0.0, abs=1e-9)
    assert recipe.batch_size == 128 and not recipe.augment
    # every weight decays, the noise branch included: w (1 - 0.1 * 1e-4), no momentum yet
    before, after = step_with_zero_gradients(model, optimizer)
    for old, new in zip(before, after):  # a change of 1e-5 |w|: float32 rounds to 1.2e-7 |w|
        np.testing.assert_allclose(new, old * (1 - 0.1 * 1e-4), rtol=3e-7)
        assert (new != old).any() or not old.any()
    assert training.recipe_for("fashion-mnist") is training.FASHION_MNIST
    assert training.recipe_for("cifar10", "paper-sgd").augment


def test_noise_weight_decay_on_top_of_a_different_global_decay_is_refused():
    recipe = training.Recipe(optimizer="sgd", weight_decay=1e-4, noise_weight_decay=1e-2)
    with pytest.raises(KerasFDAError, match="already decays every weight"):
        training.make_optimizer(recipe, 10, small_model("fda+noise"))
    with pytest.raises(KerasFDAError, match="recipe must be one of"):
        training.recipe_for("fashion-mnist", "paper-adam")
