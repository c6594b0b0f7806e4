"""The main job (`./run.sh`, `keras-fda demo`): train the small BNN on Fashion-MNIST with
each estimator and print a result table."""
import os
import time

import numpy as np
import tensorflow as tf

from keras_fda import datasets, models, training
from keras_fda.estimators import parse as parse_estimator


def _table(rows, columns):
    widths = [max(len(c), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


DEFAULT_ESTIMATORS = ("ste_sign", "approx_sign", "ede", "fda", "fda+noise")


def run_demo(estimators=DEFAULT_ESTIMATORS, epochs=3, train_subset=10000, data_dir=None,
             seed=0, output="runs/demo"):
    """Train one small BNN per estimator; print test accuracy and time per epoch."""
    specs = list(estimators)
    for spec in specs:
        parse_estimator(spec)  # fail on a misspelt name before loading any data
    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist(data_dir)
    if train_subset:
        order = np.random.default_rng(seed).permutation(len(x_train))[:train_subset]
        x_train, y_train = x_train[order], y_train[order]
    os.makedirs(output, exist_ok=True)
    print(f"Fashion-MNIST: {len(x_train)} training images, {len(x_test)} test images; "
          f"{epochs} epochs per estimator; models go to {output}/")
    rows = []
    for spec in specs:
        print(f"\n== {spec} ==")
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(seed)
        model = models.small_bnn(spec)
        started = time.perf_counter()
        _, seconds = training.fit(model, (x_train, y_train), None, epochs, seed=seed)
        accuracy = training.evaluate_accuracy(model, x_test, y_test)
        path = os.path.join(output, f"{spec.replace('+', '_')}.keras")
        model.save(path)
        rows.append((spec, f"{100 * accuracy:.2f}", f"{np.mean(seconds):.1f}",
                     f"{time.perf_counter() - started:.0f}", path))
        print(f"{spec}: test accuracy {100 * accuracy:.2f}%")
    print("\nSmall BNN on Fashion-MNIST (test set, 10,000 images)")
    print(_table(rows, ["estimator", "test acc %", "s/epoch", "total s", "model"]))
    return rows

