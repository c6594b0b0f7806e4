"""Train a binary network on Fashion-MNIST with FDA and noise adaptation, then save it.

    python examples/train_fashion_mnist.py --epochs 10 --output fmnist_fda.keras

On several machines, start the same command on each with `--multi-worker` and its own
TF_CONFIG (README, "Training on several devices"); worker 0 writes the model.

Uses only the installed package: keras_fda's quantizers inside plain Larq layers, and
plain model.fit with the estimators' schedules.
"""

import keras_fda  # first: binds tf.keras to Keras 2 and registers "fda", "ede", ...
from keras_fda import datasets

import argparse
import os
import shutil
import tempfile

import larq as lq
import tensorflow as tf


def build():
    def fda():
        return keras_fda.quantizers.FDA(noise_adaptation=True)

    inputs = tf.keras.Input((28, 28, 1))
    x = tf.keras.layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)  # float stem
    x = tf.keras.layers.BatchNormalization()(x)
    for filters in (32, 64, 128):
        x = lq.layers.QuantConv2D(
            filters,
            3,
            padding="same",
            pad_values=1.0,
            input_quantizer=fda(),
            kernel_quantizer=fda(),
            kernel_constraint="weight_clip",
            use_bias=False,
        )(x)
        x = tf.keras.layers.BatchNormalization()(x)
        x = tf.keras.layers.MaxPool2D(2)(x) if filters < 128 else x
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(10)(x))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--output", default="fmnist_fda.keras")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--multi-worker",
        action="store_true",
        help="train with MultiWorkerMirroredStrategy; the cluster comes from "
        "the TF_CONFIG environment variable",
    )
    args = parser.parse_args()

    # the strategy first: it must exist before TensorFlow runs anything
    strategy = (
        tf.distribute.MultiWorkerMirroredStrategy()
        if args.multi_worker
        else tf.distribute.get_strategy()
    )
    (x, y), (x_test, y_test) = datasets.load_fashion_mnist(args.data_dir)
    with strategy.scope():
        model = build()
        model.compile(
            tf.keras.optimizers.Adam(1e-2),
            tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    lq.models.summary(model)
    # batch 128 per replica: the global batch grows with the number of workers
    model.fit(
        x,
        y,
        batch_size=128 * strategy.num_replicas_in_sync,
        epochs=args.epochs,
        validation_data=(x_test, y_test),
        callbacks=keras_fda.callbacks.default(verbose=1),
    )
    worker = strategy.cluster_resolver.task_id if args.multi_worker else 0
    if worker == 0:
        model.save(args.output)
        print(
            f"saved {args.output}; next: keras-fda export {args.output} --target cortex-m -o out/"
        )
    else:  # every worker takes part in saving; only worker 0 keeps the file
        scratch = tempfile.mkdtemp()
        model.save(os.path.join(scratch, "model.keras"))
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
