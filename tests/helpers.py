"""Small helpers shared by tests (no project code: tests keep their oracles independent)."""

import larq as lq
import numpy as np
import tensorflow as tf


def tflite_op_counts(flatbuffer):
    """Operator name -> count in a TFLite flatbuffer, read with TensorFlow's own schema."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    builtin_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    counts = {}
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = code.customCode.decode() if code.customCode else builtin_names[builtin]
            counts[name] = counts.get(name, 0) + 1
    return counts


def binary_conv(filters, input_quantizer, kernel_quantizer, **kwargs):
    return lq.layers.QuantConv2D(
        filters,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer=input_quantizer,
        kernel_quantizer=kernel_quantizer,
        kernel_constraint="weight_clip",
        use_bias=False,
        **kwargs,
    )


def random_images(n, shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, *shape)).astype(np.float32)


def assert_close_to_scale(actual, expected, tolerance=1e-5):
    """|actual - expected| <= tolerance * max(1, max |expected|).

    Keras and the converted model compute the float layers in different orders (batch
    norm folded into the binary conv's multiplier): for logits of magnitude ~50 float32
    itself resolves only ~4e-6, so the bound scales with the outputs' magnitude.
    """
    scale = max(1.0, float(np.abs(expected).max()))
    diff = float(np.abs(np.asarray(actual) - np.asarray(expected)).max())
    assert diff <= tolerance * scale, f"max abs diff {diff:.3g} > {tolerance:g} x {scale:.3g}"


def clear_of_sign_ties(model, x, margin=1e-4):
    """Samples of x whose every binarized activation in `model` lies at least `margin`
    away from 0.

    The converted model computes the float layers in another order (batch norm folded
    into the binary conv's multiplier), so an activation within float rounding of 0 may
    take the other sign there: a tie, not a disagreement. Over millions of activations a
    few such ties are expected; agreement is only defined on the samples without one.
    """
    quant = [
        layer
        for layer in model.layers
        if isinstance(layer, lq.layers.QuantConv2D) and layer.input_quantizer is not None
    ]
    probe = tf.keras.Model(model.inputs, [layer.input for layer in quant])
    acts = probe.predict(x, verbose=0)
    acts = acts if isinstance(acts, list) else [acts]
    closest = np.min([np.abs(a).reshape(len(x), -1).min(axis=1) for a in acts], axis=0)
    return closest >= margin
