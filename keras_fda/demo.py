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
             seed=0, output="runs/demo", deploy_images=200):
    """Train one small BNN per estimator and print test accuracy and time per epoch; then
    deploy the most accurate one to arm64 and Cortex-M4 under QEMU (`deploy_images` test
    images; 0 skips the deployment)."""
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
    if deploy_images:
        best = max(rows, key=lambda r: float(r[1]))
        deploy(best[4], x_test[:deploy_images], y_test[:deploy_images], output)
    return rows


DEPLOY_TARGETS = (("arm64", None, "arm64"), ("cortex-m", "cortex-m4", "mps2-an386"))


def deploy(model_path, x, y, output):
    """Export `model_path` for arm64 and Cortex-M4, run both packages under QEMU on
    (x, y), and print what each target computed against Keras and the LCE interpreter."""
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    from keras_fda.export import export_model
    from keras_fda.export.runner import format_target_table, target_report

    keras_logits = tf.keras.models.load_model(model_path).predict(x, verbose=0)
    inputs_path = os.path.join(output, "deploy_inputs.npy")
    np.save(inputs_path, x)
    print(f"\n== deploying {model_path} on {len(x)} test images ==")
    verified, ran = [], []
    for target, cpu, board in DEPLOY_TARGETS:
        package = os.path.join(output, f"package-{target}")
        manifest = export_model(model_path, target, package, cpu=cpu, force=True,
                                verify_inputs=inputs_path)
        check = manifest["verification"]
        verified.append((target, cpu or "-", check["inputs"], f"{check['max_abs_diff']:.1e}",
                         f"{100 * check['top1_agreement']:.2f}",
                         f"{manifest['flatbuffer_bytes']:,}", f"{manifest['arena_bytes']:,}"))
        with open(os.path.join(package, "model.tflite"), "rb") as f:
            lce_logits = Interpreter(f.read()).predict(x)
        print(f"running {package} on {board} (QEMU)...", flush=True)
        ran += target_report(package, x, y, {"Keras": keras_logits, "LCE": lce_logits},
                             boards=(board,))
    print("\nExport verification (LCE interpreter vs Keras)")
    print(_table(verified, ["target", "cpu", "inputs", "max |diff|", "top-1 agree %",
                            "flatbuffer bytes", "arena bytes"]))
    print(f"\nOn the emulated targets: {len(x)} Fashion-MNIST test images (Keras test "
          f"accuracy {100 * np.mean(np.argmax(keras_logits, -1) == y):.2f}%); agreement = "
          "same predicted class (largest abs difference of the logits)")
    print(format_target_table(ran))
    identical = all(np.array_equal(r["outputs"], ran[0]["outputs"]) for r in ran)
    print("outputs bit-identical across targets: " + ("yes" if identical else "NO"))
    return verified, ran
