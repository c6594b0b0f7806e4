"""Run in fresh processes by test_distribute.py: a distribution strategy has to be set up
before TensorFlow initialises its runtime, which the main test process already did.

    python -m tests.distribute_script mirrored       # 2 logical CPUs vs one device
    python -m tests.distribute_script one-device     # the single-process reference
    TF_CONFIG=... python -m tests.distribute_script multi-worker   # one worker of several

Each prints one JSON line with the first-epoch loss.
"""

import keras_fda  # binds Keras 2
from keras_fda import quantizers as kq  # noqa: E402

import json
import sys

import numpy as np
import tensorflow as tf

from tests.helpers import binary_conv  # noqa: E402

GLOBAL_BATCH = 32


def build():
    """No batch norm: per-replica batch statistics would legitimately differ."""
    inputs = tf.keras.Input((8, 8, 32))
    x = binary_conv(32, kq.FDA(noise_adaptation=True), kq.FDA(noise_adaptation=True))(inputs)
    x = binary_conv(32, kq.EDE(), kq.EDE())(x)
    x = binary_conv(32, kq.ReSTE(), kq.ReSTE())(x)
    x = binary_conv(32, "fda_approx_sign", "fda_approx_sign")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(4)(x))


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(128, 8, 8, 32)).astype(np.float32), rng.integers(0, 4, 128)


def initial_weights():
    tf.keras.utils.set_random_seed(0)
    return build().get_weights()


def first_epoch_loss(strategy):
    """Train from the same weights on the same batches with the schedule callbacks."""
    weights = initial_weights()
    x, y = data()
    with strategy.scope():
        model = build()
        model.set_weights(weights)
        model.compile(
            tf.keras.optimizers.SGD(0.05),
            tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    history = model.fit(
        x,
        y,
        batch_size=GLOBAL_BATCH,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=keras_fda.callbacks.default(),
    )
    return history.history["loss"][0]


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "multi-worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG
        out = {"replicas": strategy.num_replicas_in_sync, "loss": first_epoch_loss(strategy)}
    elif mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        out = {
            "replicas": mirrored.num_replicas_in_sync,
            "one": first_epoch_loss(tf.distribute.OneDeviceStrategy("/cpu:0")),
            "two": first_epoch_loss(mirrored),
        }
    else:
        out = {"loss": first_epoch_loss(tf.distribute.OneDeviceStrategy("/cpu:0"))}
    json.dump(out, sys.stdout)
