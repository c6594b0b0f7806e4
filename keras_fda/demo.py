"""The main job (`./run.sh`, `keras-fda demo`): train a BNN (default `stm32f4_bnn`) on
Fashion-MNIST with each estimator and print a result table; deploy the most accurate model as float to
arm64 and Cortex-M4 and as int8 to the netduinoplus2 (an STM32F405, linked for its real
128 KiB of RAM), and print accuracy, instructions and RAM for each."""

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
    model="stm32f4_bnn",
    epochs=3,
    train_subset=10000,
    data_dir=None,
    output="runs/demo",
    deploy_images=200,
):
    """A short accuracy study (one seed per estimator, `keras-fda compare`'s machinery:
    resumable, report files in `output`), then the most accurate model deployed to arm64
    and Cortex-M4 under QEMU, and its int8 build to the netduinoplus2, on `deploy_images`
    test images (0 skips the deployment)."""
    for spec in estimators:
        parse_estimator(spec)  # fail on a misspelt name before loading any data
    settings = StudySettings(
        dataset="fashion-mnist",
        model=model,
        epochs=epochs,
        train_subset=train_subset,
        data_dir=data_dir or "",
    )
    study_dir = os.path.join(output, f"study-{model}-{epochs}ep-{train_subset or 'all'}")
    summary = run_study(settings, list(estimators), 1, study_dir, save_models=True)
    with open(os.path.join(study_dir, "results.md")) as f:
        print("\n" + f.read())
    print(f"(report, plots and trained models in {study_dir}/)")
    if deploy_images:
        best = max(summary, key=lambda e: summary[e][0])
        (x_train, _), (x_test, y_test) = datasets.load_fashion_mnist(data_dir)
        deploy(
            model_path(study_dir, best, 0),
            x_test[:deploy_images],
            y_test[:deploy_images],
            output,
            test_set=(x_test, y_test),
            calibration=x_train[:CALIBRATION_IMAGES],
            float_accuracy=summary[best][0] / 100,
        )
    return summary


DEPLOY_TARGETS = (("arm64", None, "arm64"), ("cortex-m", "cortex-m4", "mps2-an386"))
INT8_BOARD = "netduinoplus2"  # a real chip's memory: STM32F405, 128 KiB of SRAM
CALIBRATION_IMAGES = 500  # training images that set the int8 ranges


def lce_accuracy(flatbuffer, x, y):
    """Top-1 accuracy of a flatbuffer in the LCE interpreter on (x, y); float inputs are
    quantized with the model's input scale when it takes int8."""
    from keras_fda.export.verify import run_lce

    _, _, logits = run_lce(flatbuffer, x)
    return float(np.mean(np.argmax(logits.reshape(len(x), -1), -1) == y))


def quantize_inputs(package, x):
    """Float inputs as the package's model takes them (int8: its input scale and zero
    point, as the LCE interpreter's verification does)."""
    from keras_fda.export.package import read_package
    from keras_fda.export.verify import quantize

    spec = read_package(package).manifest.input
    if spec["dtype"] != "int8":
        return x
    return quantize(x, spec["scale"], spec["zero_point"])


def deploy(model_path, x, y, output, test_set=None, calibration=None, float_accuracy=None):
    """Export `model_path` for arm64 and Cortex-M4, run both packages under QEMU on
    (x, y), and print what each target computed against Keras and the LCE interpreter.
    With `calibration` (training inputs) also export the int8 build for the
    netduinoplus2 and run it there; with `test_set` measure the int8 build's accuracy in
    the LCE interpreter on all of it (the float build's is `float_accuracy`, the study's
    Keras figure on the same test set, when given; else measured like the int8 one).
    Last, a table of each board's RAM against its chip."""
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
    for row in ran:
        row["build"] = "float"
    flatbuffers = {"float": os.path.join(output, "package-cortex-m", "model.tflite")}
    if calibration is not None:
        int8_row, int8_verified = deploy_int8(model_path, x, y, output, calibration)
        verified.append(int8_verified)
        ran.append(int8_row)
        flatbuffers["int8"] = os.path.join(output, f"package-{INT8_BOARD}-int8", "model.tflite")
    accuracy = {} if float_accuracy is None else {"float": float_accuracy}
    if test_set is not None:
        x_all, y_all = test_set
        for build_name, path in flatbuffers.items():
            if build_name not in accuracy:
                print(f"{build_name}: accuracy in the LCE interpreter on {len(x_all):,} images...")
                with open(path, "rb") as f:
                    accuracy[build_name] = lce_accuracy(f.read(), x_all, y_all)
    print(format_ram_table(ran, accuracy, len(test_set[0]) if test_set is not None else 0))
    return verified, ran


def deploy_int8(model_path, x, y, output, calibration):
    """The int8 build (calibrated on `calibration`) for the netduinoplus2, run there on
    (x, y); its target_report row (agreement with the LCE interpreter's int8 outputs,
    which must be exact) and its export verification row."""
    from keras_fda.export import export_model
    from keras_fda.export.report import format_target_table, target_report
    from keras_fda.export.verify import run_lce

    package = os.path.join(output, f"package-{INT8_BOARD}-int8")
    calibration_path = os.path.join(output, "calibration.npy")
    np.save(calibration_path, calibration)
    manifest = export_model(
        model_path,
        "cortex-m",
        package,
        board=INT8_BOARD,
        force=True,
        int8=True,
        calibration=calibration_path,
        verify_inputs=os.path.join(output, "deploy_inputs.npy"),
    )
    check = manifest["verification"]
    verified = (
        f"cortex-m int8 ({INT8_BOARD})",
        manifest["cpu"],
        check["inputs"],
        f"{check['max_abs_diff']:.1e}",
        f"{100 * check['top1_agreement']:.2f}",
        f"{manifest['flatbuffer_bytes']:,}",
        f"{manifest['arena_bytes']:,}",
    )
    with open(os.path.join(package, "model.tflite"), "rb") as f:
        _, lce_raw, _ = run_lce(f.read(), x)
    print(f"running {package} on {INT8_BOARD} (QEMU)...", flush=True)
    (row,) = target_report(
        package, quantize_inputs(package, x), y, {"LCE int8": lce_raw}, boards=(INT8_BOARD,)
    )
    row["build"] = "int8"
    print(format_target_table([row]))
    exact = np.array_equal(row["outputs"].reshape(lce_raw.shape), lce_raw)
    print("int8 outputs equal to the LCE interpreter's: " + ("yes" if exact else "NO"))
    return row, verified


def format_ram_table(rows, accuracy, test_images):
    """Each board's build: accuracy (LCE interpreter, whole test set), instructions per
    inference, and RAM used against the chip's RAM."""
    table = []
    for row in rows:
        available = row.get("ram_available")
        used = (
            row["ram_bytes"] + row["stack_bytes"]
            if row.get("ram_bytes") and row.get("stack_bytes") is not None
            else None
        )
        table.append(
            (
                row["target"],
                row["build"],
                f"{100 * accuracy[row['build']]:.2f}" if row["build"] in accuracy else "-",
                f"{row['instructions']:,}" if row.get("instructions") else "-",
                f"{row['arena_bytes']:,}",
                f"{row['ram_bytes'] - row['arena_bytes']:,}" if row.get("ram_bytes") else "-",
                f"{row['stack_bytes']:,}" if row.get("stack_bytes") is not None else "-",
                f"{used:,}" if used else "-",
                f"{available:,}" if available else "-",
            )
        )
    return (
        f"\nRAM on each board (arena: the tensor arena; state: the rest of the image's static "
        "RAM: the runtime's kfda_model, newlib's data and its heap reserve; stack: the "
        "measured high-water mark; used = arena + state + stack; available: the chip's "
        f"RAM, which the image is linked for). Test accuracy on all "
        f"{test_images:,} test images: float in Keras (the study's figure), "
        "int8 in the LCE interpreter.\n"
        + _table(
            table,
            [
                "target",
                "build",
                "test acc %",
                "instr/inference",
                "arena B",
                "state B",
                "stack B",
                "RAM used B",
                "RAM available B",
            ],
        )
    )
