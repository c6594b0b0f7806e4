"""Check the converted model against Keras, with the LCE `Interpreter` as the reference.

The interpreter runs LCE's reference kernels on x86; its outputs for the sample inputs
also go into the package, for the firmware's own tests to match.

Binary networks amplify rounding: a value within float rounding of 0 before a sign (a
sign tie) can come out +1 in Keras and -1 in LCE (which folds batch norms into the
binary conv's multiplier and bias, and thresholds its integer sums), and one flip moves
the next binary conv's sum by 2. Untrained models are full of ties: a binary conv's sum
is an even integer, often exactly 0 before a batch norm that keeps it 0.

So the check is per input. Every output within the tolerance (float: rtol x max(1, |y|);
int8: output steps) is a strict match. An input beyond it passes only when Keras shows
a sign tie on it (a binarization input within float rounding of 0, or for int8 within one
quantization step); an input beyond the tolerance with no tie is a real disagreement and
fails. And ties may not explain everything: the rms error must stay within a quarter
of the spread of Keras's outputs (ties can touch every input of an untrained model, so
no share of strict matches is required); top-1 agreement is counted on the matching
inputs. A genuinely wrong model (weights changed, a wrong kernel) differs on every input,
tie or not, far beyond both, and fails (tests/test_export_verify.py).
"""

from keras_fda.errors import KerasFDAError

import os

import numpy as np

# float: |keras - lce| <= rtol x max(1, |keras|). 1e-4, not the firmware tests' 1e-5
# (kfda against LCE on the same graph): Keras does not fold the batch norms LCE folds,
# and an untrained small_bnn's residual sums (up to ~100) differ by 8.9e-5 relative.
DEFAULT_FLOAT_RTOL = 1e-4
# int8: within one output step (the rounding of the last requantization)
DEFAULT_INT8_STEPS = 1.0
# a binarization input within this many float32 ULPs of its tensor's largest magnitude
# (per input) is a sign tie; for int8, within one quantization step of 0
TIE_ULPS = 64
# Ties can touch every input: an untrained stm32f4_bnn matches within the float
# tolerance on 0 of 16 inputs (max diff 12.2), small_bnn int8 within a step on 1 of 16
# (4,855 ties per input, max diff 6.3). So no share of inputs must match strictly
# (callers may ask one: min_strict); what must hold is the outputs' rms error against
# their spread: 0.038 for small_bnn int8, 1.04 once one binary conv's kernel is negated.
DEFAULT_MIN_STRICT = 0.0
DEFAULT_INT8_MIN_STRICT = 0.0
DEFAULT_MAX_RELATIVE_ERROR = 0.25
DEFAULT_INT8_MAX_RELATIVE_ERROR = 0.25
# top-1 (on the strictly matching inputs): a class Keras scores within this margin of
# its best is a tie (float: the tolerance; int8: two output steps)
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


def binarization_inputs(model):
    """Models computing, from the model's input, each tensor that a binary (1-bit, sign)
    input quantizer reads: where a value within rounding of 0 is a sign tie."""
    import tensorflow as tf

    probes = []
    for layer in model.layers:
        quantizer = getattr(layer, "input_quantizer", None)
        if quantizer is None or getattr(quantizer, "precision", None) != 1:
            continue
        # a layer can sit in several graphs (tfmot's int8 clone shares the Larq layers
        # with the float model): the input of this model's node
        for node in range(len(getattr(layer, "inbound_nodes", []))):
            try:
                probes.append(tf.keras.Model(model.inputs, layer.get_input_at(node)))
                break
            except (ValueError, AttributeError, KeyError):
                continue
    return probes


def _tie_counts(model, inputs, int8):
    """Per input: how many binarization inputs Keras computes within rounding of 0."""
    ties = np.zeros(len(inputs), np.int64)
    for probe in binarization_inputs(model):
        x = probe.predict(inputs, batch_size=32, verbose=0)
        x = np.abs(np.asarray(x, np.float32).reshape(len(inputs), -1))
        if int8:  # the fake-quant grid: its most common gap is one step
            margin = np.array([1.01 * _grid_step(row) for row in x])[:, None]
        else:
            margin = TIE_ULPS * np.finfo(np.float32).eps * x.max(1, keepdims=True)
        ties += (x <= margin).sum(1)
    return ties


def _grid_step(values):
    gaps = np.diff(np.unique(values))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else 0.0


def compare(keras_out, lce_out, allowed, tie_margin=0.0):
    """Per-input agreement and the figures. `allowed`: the largest |diff| for each Keras
    output. A class LCE picks that Keras scores within `tie_margin` of its best is a tie,
    not a disagreement (an untrained model's outputs are near-uniform, and int8 rounding
    moves them by steps): `top1_agreement` counts exact matches,
    `top1_agreement_beyond_ties` also counts ties as agreeing."""
    keras_out = np.asarray(keras_out, np.float32).reshape(len(keras_out), -1)
    lce_out = np.asarray(lce_out, np.float32).reshape(len(lce_out), -1)
    diff = np.abs(keras_out - lce_out)
    strict = (diff <= allowed).all(1)
    top1 = top1_ties = None
    if keras_out.shape[1] > 1 and strict.any():
        k, lce = keras_out[strict], lce_out[strict]
        picked = lce.argmax(1)
        top1 = float(np.mean(k.argmax(1) == picked))
        score = k[np.arange(len(picked)), picked]
        margin = np.broadcast_to(tie_margin, keras_out.shape)[strict].max(1)
        top1_ties = float(np.mean(score >= k.max(1) - margin))
    rel = diff / np.maximum(1.0, np.abs(keras_out))
    spread = float(np.sqrt(np.mean((keras_out - keras_out.mean()) ** 2)))
    figures = {
        # the error against the spread of Keras's outputs: 0 for a match, about 1.4 for
        # unrelated outputs of the same spread
        "relative_rms_error": float(np.sqrt(np.mean(diff**2)) / spread) if spread else None,
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "max_rel_diff": float(rel.max()),
        "max_abs_diff_strict": float(diff[strict].max()) if strict.any() else None,
        "top1_agreement": top1,
        "top1_agreement_beyond_ties": top1_ties,
        "tie_margin": float(np.max(tie_margin)),
    }
    return strict, figures


def verify(
    model,
    flatbuffer,
    inputs,
    rtol=None,
    output_step=None,
    steps=DEFAULT_INT8_STEPS,
    min_top1=DEFAULT_MIN_TOP1,
    min_strict=None,
    max_relative_error=None,
    tie_margin=None,
):
    """Run Keras and the LCE interpreter on `inputs`; return the figures and the
    interpreter's model-typed inputs and raw outputs. Float (`rtol`): each output within
    rtol x max(1, |y|); int8 (`output_step`): within `steps` output steps. Raise when an
    input is beyond that without a sign tie, when fewer than `min_strict` of the inputs
    match strictly (none by default), when the rms error exceeds `max_relative_error`
    of the spread of Keras's outputs, or when top-1 agreement on the matching inputs
    (ties within `tie_margin`) is under `min_top1` (module docstring: why)."""
    int8 = output_step is not None
    if min_strict is None:
        min_strict = DEFAULT_INT8_MIN_STRICT if int8 else DEFAULT_MIN_STRICT
    if max_relative_error is None:
        max_relative_error = DEFAULT_INT8_MAX_RELATIVE_ERROR if int8 else DEFAULT_MAX_RELATIVE_ERROR
    keras_out = np.asarray(model.predict(inputs, batch_size=32, verbose=0), np.float32)
    lce_in, lce_raw, lce_out = run_lce(flatbuffer, inputs)
    keras_flat = keras_out.reshape(len(inputs), -1)
    if int8:
        allowed = steps * output_step * (1 + 1e-6)
        tolerance_text = f"{steps:g} output step{'s' if steps != 1 else ''} ({output_step:.3g})"
    else:
        allowed = rtol * np.maximum(1.0, np.abs(keras_flat))
        tolerance_text = f"{rtol:g} x max(1, |y|)"
    if tie_margin is None:  # two outputs each within the tolerance may swap within twice it
        tie_margin = DEFAULT_INT8_TIE_STEPS * output_step if int8 else 2 * np.maximum(allowed, 0)
    strict, figures = compare(keras_flat, lce_out, allowed, tie_margin)
    ties = _tie_counts(model, inputs, int8)
    beyond = ~strict
    unexplained = np.flatnonzero(beyond & (ties == 0))
    figures = {
        "inputs": int(len(inputs)),
        **figures,
        "threshold": None if int8 else float(rtol),
        "threshold_kind": "output steps" if int8 else "relative: x max(1, |y|)",
        "threshold_steps": float(steps) if int8 else None,
        "output_step": float(output_step) if int8 else None,
        "inputs_strict": int(strict.sum()),
        "inputs_explained_by_sign_ties": int((beyond & (ties > 0)).sum()),
        "inputs_unexplained": int(unexplained.size),
        "sign_ties_per_input": float(ties.mean()),
        "min_strict": float(min_strict),
        "max_relative_rms_error": None if max_relative_error is None else float(max_relative_error),
        "min_top1_agreement": float(min_top1),
    }
    top1 = figures["top1_agreement_beyond_ties"]
    advice = (
        "check the inputs are in the model's range (--verify-inputs) and that the model "
        "was not changed after conversion"
    )
    limit = steps if int8 else rtol
    if limit < 0:  # nothing matches within it, and no tie explains that
        raise KerasFDAError(
            f"verification failed: a negative --tolerance ({limit:g}) admits no LCE output; "
            "give 0 or more"
        )
    if unexplained.size:
        i = int(unexplained[0])
        worst = float(np.abs(keras_flat[i] - lce_out.reshape(len(inputs), -1)[i]).max())
        raise KerasFDAError(
            f"verification failed: the LCE interpreter and Keras differ on {unexplained.size} "
            f"of {len(inputs)} inputs beyond {tolerance_text} with no sign tie to explain it "
            f"(input {i}: max abs diff {worst:.3g}); {advice}"
        )
    if strict.mean() < min_strict:
        raise KerasFDAError(
            f"verification failed: only {int(strict.sum())} of {len(inputs)} inputs match "
            f"within {tolerance_text} (minimum {100 * min_strict:g}%); the others hold sign "
            f"ties (max abs diff {figures['max_abs_diff']:.3g}), more than ties explain; "
            f"{advice}, or raise --tolerance"
        )
    relative = figures["relative_rms_error"]
    if max_relative_error is not None and relative is not None and relative > max_relative_error:
        raise KerasFDAError(
            f"verification failed: the LCE interpreter's outputs are {relative:.2f} of the "
            f"spread of Keras's away from them (rms; maximum {max_relative_error:g}, sign "
            f"ties included); {advice}"
        )
    if top1 is not None and top1 < min_top1:
        raise KerasFDAError(
            f"verification failed: top-1 agreement {100 * top1:.1f}% (ties within "
            f"{figures['tie_margin']:.3g} agreeing; minimum {100 * min_top1:g}%) on the {int(strict.sum())} "
            f"inputs matching within {tolerance_text}; {advice}"
        )
    return figures, lce_in, lce_raw
