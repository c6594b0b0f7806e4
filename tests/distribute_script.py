"""Run in a fresh process by test_distribute.py: two logical CPU devices must be set up
before TensorFlow initialises its runtime, which the main test process already did."""
import json
import sys

import keras_fda  # binds Keras 2
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from keras_fda import quantizers as kq  # noqa: E402
from tests.helpers import binary_conv  # noqa: E402


def build():
    """No batch norm: per-replica batch statistics would legitimately differ."""
    inputs = tf.keras.Input((8, 8, 32))
    x = binary_conv(32, kq.FDA(noise_adaptation=True), kq.FDA(noise_adaptation=True))(inputs)
    x = binary_conv(32, kq.EDE(), kq.EDE())(x)
    x = binary_conv(32, "fda_approx_sign", "fda_approx_sign")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(4)(x))


def first_epoch_loss(strategy, weights, x, y):
    with strategy.scope():
        model = build()
        model.set_weights(weights)
        model.compile(tf.keras.optimizers.SGD(0.05),
                      tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0,
                        callbacks=keras_fda.callbacks.default())
    return history.history["loss"][0], model.get_weights()


tf.keras.utils.set_random_seed(0)
weights = build().get_weights()
rng = np.random.default_rng(0)
x = rng.normal(size=(128, 8, 8, 32)).astype(np.float32)
y = rng.integers(0, 4, 128)
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
one_loss, _ = first_epoch_loss(tf.distribute.OneDeviceStrategy("/cpu:0"), weights, x, y)
two_loss, _ = first_epoch_loss(mirrored, weights, x, y)
json.dump({"replicas": mirrored.num_replicas_in_sync, "one": one_loss, "two": two_loss}, sys.stdout)
