"""Packages made straight from Keras models with the LCE converter (so the target tests
don't wait on the export stage), the LCE interpreter as the oracle, and the test models."""

import keras_fda  # noqa: F401  (Keras 2 first)

import json
import os

import larq as lq
import larq_compute_engine as lce
import numpy as np
import tensorflow as tf
from larq_compute_engine.tflite.python.interpreter import Interpreter

DTYPE_NAMES = {
    np.dtype(np.float32): "float32",
    np.dtype(np.int8): "int8",
    np.dtype(np.uint8): "uint8",
    np.dtype(np.int32): "int32",
}


def write_model_data_c(flatbuffer, path):
    """The model as the C array a Cortex-M image links in (what the export stage writes)."""
    lines = [
        "/* The model's flatbuffer, linked into the firmware. */",
        "__attribute__((aligned(16))) const unsigned char kfda_model_data[] = {",
    ]
    for i in range(0, len(flatbuffer), 16):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in flatbuffer[i : i + 16]) + ",")
    lines += ["};", f"const unsigned int kfda_model_size = {len(flatbuffer)}u;", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _tensor(interpreter, kind):
    shapes = getattr(interpreter, f"{kind}_shapes")
    types = getattr(interpreter, f"{kind}_types")
    scales = getattr(interpreter, f"{kind}_scales")
    zero_points = getattr(interpreter, f"{kind}_zero_points")
    return [
        {
            "shape": [int(d) for d in shape],
            "dtype": DTYPE_NAMES[np.dtype(dtype)],
            "scale": float(scale or 0.0),
            "zero_point": int(zp or 0),
        }
        for shape, dtype, scale, zp in zip(shapes, types, scales, zero_points)
    ]


def make_package(
    model, folder, target="cortex-m", cpu="cortex-m4", flatbuffer=None, **convert_kwargs
):
    """A package folder: model.tflite, manifest.json, model_data.c/.h (LCE target "arm");
    of `flatbuffer` when given (model None), else of `model` converted."""
    if flatbuffer is None:
        flatbuffer = lce.convert_keras_model(model, target="arm", **convert_kwargs)
    return write_package(flatbuffer, folder, target, cpu)


def write_package(flatbuffer, folder, target="cortex-m", cpu="cortex-m4"):
    """make_package for a flatbuffer converted already."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.tflite"), "wb") as f:
        f.write(flatbuffer)
    interpreter = Interpreter(flatbuffer, num_threads=1)
    inputs, outputs = _tensor(interpreter, "input"), _tensor(interpreter, "output")
    manifest = {
        "format": 1,
        "target": target,
        "cpu": cpu,
        "input": inputs[0] if len(inputs) == 1 else inputs,
        "output": outputs[0] if len(outputs) == 1 else outputs,
    }
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    write_model_data_c(flatbuffer, os.path.join(folder, "model_data.c"))
    with open(os.path.join(folder, "model_data.h"), "w") as f:
        f.write(
            "extern const unsigned char kfda_model_data[];\n"
            "extern const unsigned int kfda_model_size;\n"
        )
    return folder


def lce_predict(folder, x):
    """The oracle: the LCE interpreter's outputs for every record of x."""
    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        interpreter = Interpreter(f.read(), num_threads=1)
    return np.concatenate([interpreter.predict(x[i : i + 1]) for i in range(len(x))])


def randomize_batch_norms(model, rng):
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, n),
                    rng.normal(0, 0.3, n),
                    rng.normal(0, 0.5, n),
                    rng.uniform(0.5, 2.0, n),
                ]
            )


def bireal_model(seed=0):
    """A small Bi-Real-style network: float first conv, binary 3x3 blocks with identity
    shortcuts (same-zero and same-one padding), max pool before a quantizer (->
    LceBMaxPool2d), a strided binary block, global average pool, float Dense."""
    rng = np.random.RandomState(seed)
    binary = dict(
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
    )
    x = tf.keras.Input((16, 16, 1))
    h = tf.keras.layers.Conv2D(32, 3, padding="same", use_bias=False)(x)
    h = tf.keras.layers.BatchNormalization()(h)
    for pad_values in (0.0, 1.0):
        b = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=pad_values, **binary)(h)
        b = tf.keras.layers.BatchNormalization()(b)
        h = tf.keras.layers.Add()([b, h])
    h = tf.keras.layers.MaxPool2D(2)(h)
    b = lq.layers.QuantConv2D(64, 3, padding="same", pad_values=1.0, **binary)(h)
    h = tf.keras.layers.BatchNormalization()(b)
    b = lq.layers.QuantConv2D(64, 3, strides=2, padding="same", pad_values=1.0, **binary)(h)
    b = tf.keras.layers.BatchNormalization()(b)
    h = tf.keras.layers.Add()([b, tf.keras.layers.AveragePooling2D(2)(h)])
    h = tf.keras.layers.GlobalAveragePooling2D()(h)
    y = tf.keras.layers.Dense(10)(h)
    model = tf.keras.Model(x, y)
    randomize_batch_norms(model, rng)
    return model


def tiny_model():
    """The smallest useful BNN: float conv, one binary conv, pooling, dense."""
    x = tf.keras.Input((8, 8, 1))
    h = tf.keras.layers.Conv2D(32, 3, padding="same")(x)
    h = lq.layers.QuantConv2D(
        32,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        use_bias=False,
    )(h)
    h = tf.keras.layers.GlobalAveragePooling2D()(h)
    return tf.keras.Model(x, tf.keras.layers.Dense(4)(h))
