"""Training recipes: plain `model.fit` with the estimators' schedules.

A recipe names the optimizer, learning-rate schedule, batch size and augmentation of a
run; `fit` builds the optimizer, compiles the model and trains it with Keras' own
progress output and the keras_fda callbacks.
"""

from keras_fda import callbacks as fda_callbacks
from keras_fda.errors import KerasFDAError
from keras_fda.noise import NoiseAdaptation
from keras_fda.study import RECIPE_CHOICES

import dataclasses
import time

import numpy as np
import tensorflow as tf


@dataclasses.dataclass
class Recipe:
    """How to train: the paper's CIFAR recipe and a short one for Fashion-MNIST."""

    optimizer: str = "adam"  # "adam" or "sgd"
    learning_rate: float = 1e-3
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0  # decoupled, on every trainable weight (sgd/adamw style)
    batch_size: int = 128
    cosine_decay: bool = True
    augment: bool = False  # random crop (4-pixel padding) + horizontal flip
    # decoupled, on the noise branch's W1 and W2 only (a hypothesis of the accuracy study)
    noise_weight_decay: float = 0.0


FASHION_MNIST = Recipe(optimizer="adam", learning_rate=1e-2, batch_size=128)
PAPER_SGD = Recipe(
    optimizer="sgd", learning_rate=0.1, momentum=0.9, weight_decay=1e-4, batch_size=128
)  # the FDA paper's optimizer, learning rate and decay
CIFAR10 = dataclasses.replace(PAPER_SGD, augment=True)


def recipe_for(dataset, name="default"):
    """The recipe `name` for `dataset`: "default" is the data set's own (Adam for
    Fashion-MNIST, the paper's SGD with crop + flip for CIFAR-10); "paper-sgd" is the
    FDA paper's SGD recipe (CIFAR-10 keeps its augmentation)."""
    if name not in RECIPE_CHOICES:
        raise KerasFDAError(f"recipe must be one of {', '.join(RECIPE_CHOICES)}, got {name!r}")
    if dataset == "cifar10":
        return CIFAR10
    return PAPER_SGD if name == "paper-sgd" else FASHION_MNIST


def noise_branch_variables(model):
    """The trainable weights (W1, W2) of every noise adaptation branch in `model`."""
    found = []
    for module in model.submodules:
        if isinstance(module, NoiseAdaptation):
            found += [v for v in module.trainable_weights if not any(v is f for f in found)]
    return found


def check_recipe(recipe):
    """Raise KerasFDAError for a combination `make_optimizer` cannot build: one decay rate
    for the noise branch and another for every weight."""
    if (
        recipe.noise_weight_decay
        and recipe.weight_decay
        and recipe.weight_decay != recipe.noise_weight_decay
    ):
        raise KerasFDAError(
            f"a noise weight decay of {recipe.noise_weight_decay:g} with a recipe that "
            f"already decays every weight (the noise branch included) by "
            f"{recipe.weight_decay:g} is not supported: drop one of them"
        )


def make_optimizer(recipe, steps, model=None):
    """The recipe's optimizer. With `noise_weight_decay` it decays the noise branches of
    `model` (and nothing else, unless the recipe decays every weight at the same rate)."""
    rate = recipe.learning_rate
    if recipe.cosine_decay:
        rate = tf.keras.optimizers.schedules.CosineDecay(recipe.learning_rate, max(1, steps))
    check_recipe(recipe)
    decay = recipe.weight_decay
    noise_only = bool(recipe.noise_weight_decay) and not recipe.weight_decay
    if recipe.noise_weight_decay:
        if model is None:
            raise ValueError("make_optimizer needs the model to find its noise branches")
        decay = recipe.noise_weight_decay
    if recipe.optimizer == "sgd":
        optimizer = tf.keras.optimizers.SGD(
            rate, momentum=recipe.momentum, weight_decay=decay or None
        )
    elif recipe.optimizer == "adam":
        # AdamW without decay on a weight updates it exactly as Adam does
        optimizer = (
            tf.keras.optimizers.AdamW(rate, weight_decay=decay)
            if decay
            else tf.keras.optimizers.Adam(rate)
        )
    else:
        raise ValueError(f"unknown optimizer {recipe.optimizer!r}")
    if noise_only:
        noise = noise_branch_variables(model)
        others = [v for v in model.trainable_variables if not any(v is n for n in noise)]
        # exclude_from_weight_decay reads an empty list as "exclude nothing"
        optimizer.exclude_from_weight_decay(
            var_list=others or None, var_names=None if noise else [".*"]
        )
    return optimizer


def _augment(images, labels, seed):
    """Random 4-pixel-padded crop and horizontal flip, as in the CIFAR recipe."""
    shape = tf.shape(images)
    padded = tf.pad(images, [[4, 4], [4, 4], [0, 0]], mode="REFLECT")
    cropped = tf.image.stateless_random_crop(padded, shape, seed=seed)
    flipped = tf.image.stateless_random_flip_left_right(cropped, seed=seed + 1)
    return flipped, labels


def dataset(x, y, recipe, shuffle_seed=0, training=True):
    """A batched tf.data pipeline; shuffled and augmented when training."""
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        data = data.shuffle(min(len(x), 20000), seed=shuffle_seed, reshuffle_each_iteration=True)
        if recipe.augment:
            counter = tf.data.Dataset.counter(start=shuffle_seed * 1_000_003)
            seeds = counter.map(lambda c: tf.stack([c, c]))
            data = tf.data.Dataset.zip((data, seeds)).map(
                lambda xy, s: _augment(xy[0], xy[1], s), num_parallel_calls=tf.data.AUTOTUNE
            )
    return data.batch(recipe.batch_size).prefetch(tf.data.AUTOTUNE)


class EpochTimer(tf.keras.callbacks.Callback):
    """Wall-clock seconds of each training epoch (evaluation excluded)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def fit(
    model,
    train,
    test,
    epochs,
    recipe=FASHION_MNIST,
    seed=0,
    verbose=2,
    extra_callbacks=(),
    schedules=None,
):
    """Compile and train `model` on `train` = (x, y); evaluate on `test` after each epoch.

    Returns (history dict, seconds per epoch list). `schedules` defaults to
    `keras_fda.callbacks.default(epochs)`, the estimators' schedules with the papers'
    settings.
    """
    if schedules is None:
        schedules = fda_callbacks.default(epochs=epochs)
    x, y = train
    steps = epochs * int(np.ceil(len(x) / recipe.batch_size))
    model.compile(
        optimizer=make_optimizer(recipe, steps, model),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    history = model.fit(
        dataset(x, y, recipe, shuffle_seed=seed),
        validation_data=None if test is None else dataset(*test, recipe, training=False),
        epochs=epochs,
        verbose=verbose,
        callbacks=[*schedules, timer, *extra_callbacks],
    )
    return history.history, timer.seconds


def evaluate_accuracy(model, x, y, batch_size=500):
    """Top-1 accuracy of a logits model."""
    logits = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def _float32_config(config):
    """`config` with every mixed-precision dtype policy replaced by float32."""
    if isinstance(config, dict):
        out = {}
        for key, value in config.items():
            if key == "dtype" and _is_mixed_policy(value):
                out[key] = "float32"
            else:
                out[key] = _float32_config(value)
        return out
    if isinstance(config, list):
        return [_float32_config(v) for v in config]
    return config


def _is_mixed_policy(value):
    if isinstance(value, dict):  # {"class_name": "Policy", "config": {"name": ...}}
        value = value.get("config", {}).get("name")
    return isinstance(value, str) and value.startswith("mixed_")


def float32_copy(model):
    """`model` trained under a mixed-precision policy, rebuilt with float32 layers and the
    same (float32) weights; a float32 model is returned as it is.

    What LCE converts and the runtime computes is float32; a model with bf16/f16 compute
    would convert its casts too.
    """
    if not any(layer.dtype_policy.name.startswith("mixed_") for layer in model.layers):
        return model
    clone = model.__class__.from_config(_float32_config(model.get_config()))
    clone.set_weights(model.get_weights())
    return clone
