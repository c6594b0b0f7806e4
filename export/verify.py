"""Check the converted model against Keras, with the LCE `Interpreter` as the reference.

The interpreter runs LCE's reference kernels on x86; its outputs for the sample inputs
also go into the package, for the firmware's own tests to match.

Binary networks amplify rounding: a value within float rounding of 0 before a sign can
flip, and one flip moves the next binary conv's sum by 2. That is why the figures are
measured on the real model rather than assumed, and the threshold is configurable.
"""

from keras_fda.errors import KerasFDAError

import os

import numpy as np

DEFAULT_FLOAT_TOLERANCE = 1e-4
# int8: the Keras side is the fake-quant model. Each int8 activation may round one step
# apart (the converter folds batch norms into the LceBconv2d's multiplier and bias, Keras
# does not), and a step across the zero point flips the next binary conv's input bit, so
# single logits can move by several steps; what must hold is the average, in steps.
DEFAULT_INT8_MEAN_STEPS = 1.0
# top-1: a class Keras scores within this many output steps of its best is a tie
DEFAULT_INT8_TIE_STEPS = 2.0
DEFAULT_MIN_TOP1 = 1.0
DEFAULT_INT8_MIN_TOP1 = 0.9


def input_range(model):
    """The range synthetic inputs are drawn from: [0, 255] when the model rescales its
    input itself (a Rescaling layer first), else [-1, 1]."""
    import tensorflow as tf

    for layer in model.layers[:3]:
        if isinstance(layer, tf.keras.layers.Rescaling):
            return (0.0, 255.0)
    return (-1.0, 1.0)


def make_inputs(model, count, value_range, seed=0):
    shape = tuple(model.inputs[0].shape.as_list()[1:])
    low, high = value_range
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=(count,) + shape).astype(np.float32)


def load_inputs(path, model):
    """Inputs from a .npy file: shape (N, *input) or one sample (*input)."""
    if not os.path.isfile(path):
        raise KerasFDAError(f"no such file: {path} (the inputs must be a .npy array)")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as error:
        raise KerasFDAError(
            f"{path} is not a NumPy .npy array ({type(error).__name__}); "
            "save the inputs with numpy.save"
        )
    if not isinstance(data, np.ndarray) or not np.issubdtype(data.dtype, np.number):
        raise KerasFDAError(f"{path} does not hold a numeric array")
    return check_shape(data, model, path)


def check_shape(data, model, path):
    """`data` as float32 (N, *input), or `KerasFDAError` naming `path`."""
    shape = tuple(model.inputs[0].shape.as_list()[1:])
    if data.shape == shape:
        data = data[None]
    if data.shape[1:] != shape or data.shape[0] == 0:
        raise KerasFDAError(
            f"{path} holds an array of shape {data.shape}; the model takes "
            f"(N, {', '.join(map(str, shape))})"
        )
    return data.astype(np.float32)


def quantize(x, scale, zero_point):
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


def dequantize(q, scale, zero_point):
    return (q.astype(np.float32) - zero_point) * scale


def run_lce(flatbuffer, inputs):
    """The LCE interpreter's outputs for float `inputs`: (model-typed inputs, raw outputs,
    float outputs)."""
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    interpreter = Interpreter(flatbuffer, num_threads=1)
    x = inputs
    if interpreter.input_types[0] == np.int8:
        x = quantize(inputs, interpreter.input_scales[0], interpreter.input_zero_points[0])
    raw = interpreter.predict(x)
    y = raw
    if interpreter.output_types[0] == np.int8:
        y = dequantize(raw, interpreter.output_scales[0], interpreter.output_zero_points[0])
    return x, raw, y


def compare(keras_out, lce_out, tie_margin=0.0):
    """Differences and top-1 agreement. A class LCE picks that Keras scores within
    `tie_margin` of its best is a tie, not a disagreement (an untrained model's outputs
    are near-uniform, and int8 rounding moves them by steps): `top1_agreement` counts
    exact matches, `top1_agreement_beyond_ties` also counts ties as agreeing."""
    keras_out = np.asarray(keras_out, np.float32).reshape(len(keras_out), -1)
    lce_out = np.asarray(lce_out, np.float32).reshape(len(lce_out), -1)
    diff = np.abs(keras_out - lce_out)
    top1 = top1_ties = None
    if keras_out.shape[1] > 1:
        picked = lce_out.argmax(1)
        top1 = float(np.mean(keras_out.argmax(1) == picked))
        score = keras_out[np.arange(len(picked)), picked]
        top1_ties = float(np.mean(score >= keras_out.max(1) - tie_margin))
    return {
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "top1_agreement": top1,
        "top1_agreement_beyond_ties": top1_ties,
        "tie_margin": float(tie_margin),
    }


def verify(model, flatbuffer, inputs, tolerance, min_top1, mean_tolerance=None, tie_margin=0.0):
    """Run Keras and the LCE interpreter on `inputs`; return the figures and the
    interpreter's model-typed inputs and raw outputs. Raise if beyond the thresholds:
    the max abs diff over `tolerance` (None: not checked), the mean abs diff over
    `mean_tolerance` (None: not checked), the top-1 agreement (ties within `tie_margin`
    agreeing) under `min_top1`."""
    keras_out = model.predict(inputs, batch_size=32, verbose=0)
    lce_in, lce_raw, lce_out = run_lce(flatbuffer, inputs)
    figures = compare(keras_out, lce_out, tie_margin)
    figures = {
        "inputs": int(len(inputs)),
        **figures,
        "threshold": None if tolerance is None else float(tolerance),
        "mean_threshold": None if mean_tolerance is None else float(mean_tolerance),
        "min_top1_agreement": float(min_top1),
    }
    top1 = figures["top1_agreement_beyond_ties"]
    too_far = tolerance is not None and figures["max_abs_diff"] > tolerance
    too_far_on_average = mean_tolerance is not None and figures["mean_abs_diff"] > mean_tolerance
    if too_far or too_far_on_average or (top1 is not None and top1 < min_top1):
        top1_text = "n/a" if top1 is None else f"{100 * top1:.1f}%"
        limits = []
        if tolerance is not None:
            limits.append(f"max abs diff {figures['max_abs_diff']:.3g} (threshold {tolerance:g})")
        if mean_tolerance is not None:
            limits.append(
                f"mean abs diff {figures['mean_abs_diff']:.3g} (threshold {mean_tolerance:g})"
            )
        raise KerasFDAError(
            f"verification failed: the LCE interpreter and Keras differ by "
            f"{', '.join(limits) or 'n/a'}, top-1 agreement {top1_text} (ties within "
            f"{tie_margin:g} agreeing; minimum "
            f"{100 * min_top1:g}%) on {len(inputs)} inputs; check the inputs are in the "
            "model's range (--verify-inputs), or raise --tolerance if sign flips at float "
            "rounding are expected for this model"
        )
    return figures, lce_in, lce_raw
