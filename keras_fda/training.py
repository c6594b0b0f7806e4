"""Training recipes: plain `model.fit` with the estimators' schedules.

A recipe names the optimizer, learning-rate schedule, batch size and augmentation of a
run; `fit` builds the optimizer, compiles the model and trains it with Keras' own
progress output and the keras_fda callbacks.
"""
import dataclasses
import time

import numpy as np
import tensorflow as tf

from keras_fda import callbacks as fda_callbacks


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


FASHION_MNIST = Recipe(optimizer="adam", learning_rate=1e-2, batch_size=128)
CIFAR10 = Recipe(optimizer="sgd", learning_rate=0.1, momentum=0.9, weight_decay=1e-4,
                 batch_size=128, augment=True)


def make_optimizer(recipe, steps):
    rate = recipe.learning_rate
    if recipe.cosine_decay:
        rate = tf.keras.optimizers.schedules.CosineDecay(recipe.learning_rate, max(1, steps))
    if recipe.optimizer == "sgd":
        return tf.keras.optimizers.SGD(rate, momentum=recipe.momentum,
                                       weight_decay=recipe.weight_decay or None)
    if recipe.optimizer == "adam":
        if recipe.weight_decay:
            return tf.keras.optimizers.AdamW(rate, weight_decay=recipe.weight_decay)
        return tf.keras.optimizers.Adam(rate)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")


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
                lambda xy, s: _augment(xy[0], xy[1], s), num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(recipe.batch_size).prefetch(tf.data.AUTOTUNE)


class EpochTimer(tf.keras.callbacks.Callback):
    """Wall-clock seconds of each training epoch (evaluation excluded)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def fit(model, train, test, epochs, recipe=FASHION_MNIST, seed=0, verbose=2, extra_callbacks=(),
        schedules=None):
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
        optimizer=make_optimizer(recipe, steps),
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
