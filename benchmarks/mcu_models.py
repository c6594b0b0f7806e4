"""Figures of trained microcontroller models (keras_fda.models.stm32f4_bnn, microbit_bnn):
float accuracy in Keras, float and int8 accuracy in the LCE interpreter on the whole
Fashion-MNIST test set, and the firmware planner's arena and the flatbuffer size of each
export. Not a test: the models come from `keras-fda compare ... --save-models`.

    python benchmarks/mcu_models.py NAME=MODEL.keras [NAME=MODEL.keras ...] \
        [--calibration-size 512] [-o reports/mcu-models]

Each model is exported with `keras_fda.export.export_model` for `--target cortex-m
--board mps2-an386`, float and `--int8`. The int8 export calibrates on training images
(`--calibration-size` of them, a fixed random choice), never on test images. Writes
OUTPUT/results.json (one entry per NAME, merged with what is there) and prints it.
"""

import keras_fda  # noqa: F401  (binds Keras 2 before TensorFlow loads)

import argparse
import json
import os
import sys
import tempfile

import numpy as np

BOARD = "mps2-an386"


def lce_accuracy(flatbuffer, manifest, x, y, batch=500):
    """Top-1 accuracy of the LCE interpreter on (x, y); int8 input quantized as the
    manifest says."""
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    interpreter = Interpreter(flatbuffer)
    if manifest["int8"]:
        scale, zero = manifest["input"]["scale"], manifest["input"]["zero_point"]
        x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
    logits = [
        np.asarray(interpreter.predict(x[i : i + batch])).reshape(len(x[i : i + batch]), -1)
        for i in range(0, len(x), batch)
    ]
    return float(np.mean(np.concatenate(logits).argmax(1) == y))


def evaluate(name, model_path, calibration_size, workdir):
    from keras_fda import datasets, training
    from keras_fda.export import export_model
    from keras_fda.export.loading import load_model

    (x_train, _), (x_test, y_test) = datasets.load("fashion-mnist")
    pick = np.random.default_rng(1).permutation(len(x_train))[:calibration_size]
    calibration = os.path.join(workdir, f"{name}-calibration.npy")
    np.save(calibration, x_train[pick])
    model = load_model(model_path)
    entry = {
        "model_file": model_path,
        "parameters": int(model.count_params()),
        "keras_float_accuracy": training.evaluate_accuracy(model, x_test, y_test),
        "test_images": len(x_test),
        "calibration_images": calibration_size,
        "board": BOARD,
    }
    for int8 in (False, True):
        folder = os.path.join(workdir, f"{name}-{'int8' if int8 else 'float'}")
        manifest = export_model(
            model_path,
            "cortex-m",
            folder,
            board=BOARD,
            int8=int8,
            calibration=calibration if int8 else None,
            log=lambda _: None,
        )
        with open(os.path.join(folder, "model.tflite"), "rb") as f:
            flatbuffer = f.read()
        entry["int8" if int8 else "float"] = {
            "lce_accuracy": lce_accuracy(flatbuffer, manifest, x_test, y_test),
            "arena_bytes": manifest["arena_bytes"],
            "flatbuffer_bytes": manifest["flatbuffer_bytes"],
            "weight_bytes": manifest["weight_bytes"],
            "ops": manifest["ops"],
            "float_ops": manifest["float_ops"],
            "macs": manifest["macs"],
            "verification_max_abs_diff": manifest["verification"]["max_abs_diff"],
        }
    entry["int8_minus_float_points"] = 100 * (
        entry["int8"]["lce_accuracy"] - entry["float"]["lce_accuracy"]
    )
    entry["int8_float_arena_ratio"] = entry["int8"]["arena_bytes"] / entry["float"]["arena_bytes"]
    return entry


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="NAME=MODEL.keras")
    parser.add_argument("--calibration-size", type=int, default=512)
    parser.add_argument("-o", "--output", default="reports/mcu-models")
    args = parser.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    path = os.path.join(args.output, "results.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    with tempfile.TemporaryDirectory(prefix="mcu_models_") as workdir:
        for item in args.models:
            name, _, model_path = item.partition("=")
            if not model_path:
                sys.exit(f"expected NAME=MODEL.keras, got {item!r}")
            results[name] = evaluate(name, model_path, args.calibration_size, workdir)
            with open(path, "w") as f:
                json.dump(results, f, indent=1, sort_keys=True)
                f.write("\n")
            print(json.dumps({name: results[name]}, indent=1), flush=True)


if __name__ == "__main__":
    main()
