"""The main job (`./run.sh`, `keras-fda demo`): train the small BNN on Fashion-MNIST with
each estimator and print a result table."""

from keras_fda import datasets
from keras_fda.estimators import parse as parse_estimator
from keras_fda.study import StudySettings, model_path, run_study

import os

import numpy as np
import tensorflow as tf


def _table(rows, columns):
    widths = [max(len(c), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


DEFAULT_ESTIMATORS = ("ste_sign", "approx_sign", "ede", "fda", "fda+noise")


def run_demo(
    estimators=DEFAULT_ESTIMATORS,
    epochs=3,
    train_subset=10000,
    data_dir=None,
    output="runs/demo",
    deploy_images=200,
):
    """A short accuracy study (one seed per estimator, `keras-fda compare`'s machinery:
    resumable, report files in `output`), then the most accurate model deployed to arm64
    and Cortex-M4 under QEMU on `deploy_images` test images (0 skips the deployment)."""
    for spec in estimators:
        parse_estimator(spec)  # fail on a misspelt name before loading any data
    settings = StudySettings(
        dataset="fashion-mnist",
        model="small_bnn",
        epochs=epochs,
        train_subset=train_subset,
        data_dir=data_dir or "",
    )
    study_dir = os.path.join(output, f"study-{epochs}ep-{train_subset or 'all'}")
    summary = run_study(settings, list(estimators), 1, study_dir, save_models=True)
    with open(os.path.join(study_dir, "results.md")) as f:
        print("\n" + f.read())
    print(f"(report, plots and trained models in {study_dir}/)")
    if deploy_images:
        best = max(summary, key=lambda e: summary[e][0])
        _, (x_test, y_test) = datasets.load_fashion_mnist(data_dir)
        deploy(
            model_path(study_dir, best, 0), x_test[:deploy_images], y_test[:deploy_images], output
        )
    return summary


DEPLOY_TARGETS = (("arm64", None, "arm64"), ("cortex-m", "cortex-m4", "mps2-an386"))


def deploy(model_path, x, y, output):
    """Export `model_path` for arm64 and Cortex-M4, run both packages under QEMU on
    (x, y), and print what each target computed against Keras and the LCE interpreter."""
    from keras_fda.export import export_model
    from keras_fda.export.report import format_target_table, target_report

    from larq_compute_engine.tflite.python.interpreter import Interpreter

    keras_logits = tf.keras.models.load_model(model_path).predict(x, verbose=0)
    inputs_path = os.path.join(output, "deploy_inputs.npy")
    np.save(inputs_path, x)
    print(f"\n== deploying {model_path} on {len(x)} test images ==")
    verified, ran = [], []
    for target, cpu, board in DEPLOY_TARGETS:
        package = os.path.join(output, f"package-{target}")
        manifest = export_model(
            model_path, target, package, cpu=cpu, force=True, verify_inputs=inputs_path
        )
        check = manifest["verification"]
        verified.append(
            (
                target,
                cpu or "-",
                check["inputs"],
                f"{check['max_abs_diff']:.1e}",
                f"{100 * check['top1_agreement']:.2f}",
                f"{manifest['flatbuffer_bytes']:,}",
                f"{manifest['arena_bytes']:,}",
            )
        )
        with open(os.path.join(package, "model.tflite"), "rb") as f:
            lce_logits = Interpreter(f.read()).predict(x)
        print(f"running {package} on {board} (QEMU)...", flush=True)
        ran += target_report(
            package, x, y, {"Keras": keras_logits, "LCE": lce_logits}, boards=(board,)
        )
    print("\nExport verification (LCE interpreter vs Keras)")
    print(
        _table(
            verified,
            [
                "target",
                "cpu",
                "inputs",
                "max |diff|",
                "top-1 agree %",
                "flatbuffer bytes",
                "arena bytes",
            ],
        )
    )
    print(
        f"\nOn the emulated targets: {len(x)} Fashion-MNIST test images (Keras test "
        f"accuracy {100 * np.mean(np.argmax(keras_logits, -1) == y):.2f}%); agreement = "
        "same predicted class (largest abs difference of the logits)"
    )
    print(format_target_table(ran))
    identical = all(np.array_equal(r["outputs"], ran[0]["outputs"]) for r in ran)
    print("outputs bit-identical across targets: " + ("yes" if identical else "NO"))
    return verified, ran
