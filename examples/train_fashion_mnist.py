"""Train a binary network on Fashion-MNIST with FDA and noise adaptation, then save it.

    python examples/train_fashion_mnist.py --epochs 10 --output fmnist_fda.keras

Uses only the installed package: keras_fda's quantizers inside plain Larq layers, and
plain model.fit with the estimators' schedules.
"""
import argparse

import keras_fda  # first: binds tf.keras to Keras 2 and registers "fda", "ede", ...
import larq as lq
import tensorflow as tf

from keras_fda import datasets


def build():
    def fda():
        return keras_fda.quantizers.FDA(noise_adaptation=True)

    inputs = tf.keras.Input((28, 28, 1))
    x = tf.keras.layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)  # float stem
    x = tf.keras.layers.BatchNormalization()(x)
    for filters in (32, 64, 128):
        x = lq.layers.QuantConv2D(filters, 3, padding="same", pad_values=1.0,
                                  input_quantizer=fda(), kernel_quantizer=fda(),
                                  kernel_constraint="weight_clip", use_bias=False)(x)
        x = tf.keras.layers.BatchNormalization()(x)
        x = tf.keras.layers.MaxPool2D(2)(x) if filters < 128 else x
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(10)(x))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--output", default="fmnist_fda.keras")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    (x, y), (x_test, y_test) = datasets.load_fashion_mnist(args.data_dir)
    model = build()
    lq.models.summary(model)
    model.compile(tf.keras.optimizers.Adam(1e-2),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=args.epochs, validation_data=(x_test, y_test),
              callbacks=keras_fda.callbacks.default(verbose=1))
    model.save(args.output)
    print(f"saved {args.output}; next: keras-fda export {args.output} --target cortex-m -o out/")


if __name__ == "__main__":
    main()
