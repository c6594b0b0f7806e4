"""Int8 for the float layers, by quantization-aware annotation (tensorflow-model-
optimization), leaving the Larq layers binary.

1. Clone the model with `quantize_annotate_layer` on every float Conv2D, DepthwiseConv2D
   and Dense (Larq's QuantConv2D subclasses Conv2D: those are left alone), copy the
   trained weights, `quantize_apply`: FakeQuant ops around the annotated layers.
2. Calibrate the activation ranges on `--calibration` inputs: forward passes in training
   mode (that is when tfmot's range variables update), with the EMA decay (0.999, fixed
   in tfmot) replaced for the passes so that the ranges become the mean of the per-batch
   min/max rather than creeping from tfmot's initial [-6, 6]. Batch norms, dropout and FDA's noise branch are held in inference
   behaviour meanwhile, so the passes change nothing but the ranges.
3. Optionally fine-tune a few epochs when labels are given (an .npz with `x` and `y`).

The LCE converter then emits int8 builtin ops around the binary ones; what stays float
is listed by `float_ops`.
"""
import contextlib
import os

import numpy as np

from keras_fda.errors import KerasFDAError
from keras_fda.export.progress import quiet_tensorflow, step

CALIBRATION_BATCH = 64


def _is_larq(layer):
    return type(layer).__module__.split(".")[0] == "larq"


def _annotatable(layer):
    import tensorflow as tf

    kinds = (tf.keras.layers.Conv2D, tf.keras.layers.DepthwiseConv2D, tf.keras.layers.Dense)
    return isinstance(layer, kinds) and not _is_larq(layer)


def _follows_annotated_conv(layer):
    """A BatchNormalization whose only input is an annotated conv used only by it."""
    import tensorflow as tf

    if not isinstance(layer, tf.keras.layers.BatchNormalization) or len(layer._inbound_nodes) != 1:
        return False
    inbound = tf.nest.flatten(layer._inbound_nodes[0].inbound_layers)
    return (len(inbound) == 1 and _annotatable(inbound[0])
            and not isinstance(inbound[0], tf.keras.layers.Dense)
            and len(inbound[0]._outbound_nodes) == 1)


def annotate(model):
    """A clone of `model` with the float Conv2D/DepthwiseConv2D/Dense annotated, weights
    copied; returns (clone, names of the annotated layers)."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    names = []
    # a batch norm right after an annotated conv is annotated too: tfmot folds the pair
    # into one int8 conv instead of leaving a float MUL/ADD after it
    folded = {layer.name for layer in model.layers if _follows_annotated_conv(layer)}

    def clone(layer):
        new = layer.__class__.from_config(layer.get_config())
        if _annotatable(layer) or layer.name in folded:
            names.append(layer.name)
            return tfmot.quantization.keras.quantize_annotate_layer(new)
        return new

    annotated = tf.keras.models.clone_model(model, clone_function=clone)
    if len(annotated.layers) != len(model.layers):
        raise KerasFDAError("--int8: cloning the model changed its layers; export a functional "
                            "or Sequential model")
    for original, target in zip(model.layers, annotated.layers):
        target = getattr(target, "layer", target)  # inside the annotate wrapper
        target.set_weights(original.get_weights())
    return annotated, names


def _quantizers(obj, seen, depth=0):
    """tfmot MovingAverageQuantizers reachable from `obj` (a wrapper or a config)."""
    from tensorflow_model_optimization.python.core.quantization.keras import quantizers

    if depth > 4 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, quantizers.MovingAverageQuantizer):
        yield obj
        return
    if isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _quantizers(item, seen, depth + 1)
        return
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("tensorflow_model_opt"):
        for value in vars(obj).values():
            yield from _quantizers(value, seen, depth + 1)


@contextlib.contextmanager
def _inference_behaviour(model):
    """Batch norms frozen, dropout off, FDA noise alpha 0 while calibrating."""
    import tensorflow as tf

    saved = []
    for layer in model.submodules:
        if isinstance(layer, tf.keras.layers.BatchNormalization) and layer.trainable:
            layer.trainable = False
            saved.append(lambda layer=layer: setattr(layer, "trainable", True))
        elif isinstance(layer, tf.keras.layers.Dropout) and layer.rate:
            rate = layer.rate
            layer.rate = 0.0
            saved.append(lambda layer=layer, rate=rate: setattr(layer, "rate", rate))
        alpha = getattr(layer, "alpha", None)
        if isinstance(alpha, tf.Variable) and getattr(layer, "noise", None) is not None:
            value = alpha.numpy()
            alpha.assign(0.0)
            saved.append(lambda alpha=alpha, value=value: alpha.assign(value))
    try:
        yield
    finally:
        for restore in saved:
            restore()


def _calibrating_class():
    """A MovingAverageQuantizer whose EMA decay is ours to set (tfmot hard-codes 0.999)."""
    from tensorflow_model_optimization.python.core.quantization.keras import quant_ops, quantizers

    class CalibratingQuantizer(quantizers.MovingAverageQuantizer):
        decay = 0.0

        def __call__(self, inputs, training, weights, **kwargs):
            return quant_ops.MovingAvgQuantize(
                inputs, weights["min_var"], weights["max_var"], ema_decay=self.decay,
                is_training=training, num_bits=self.num_bits, per_channel=self.per_axis,
                symmetric=self.symmetric, narrow_range=self.narrow_range)

    return CalibratingQuantizer


def calibrate(model, data):
    """Set every activation range to the mean over batches of the batch min/max."""
    quantizers = []
    seen = set()
    for layer in model.layers:
        quantizers.extend(_quantizers(layer, seen))
    if not quantizers:
        return
    calibrating = _calibrating_class()
    classes = [q.__class__ for q in quantizers]
    batches = [data[i:i + CALIBRATION_BATCH] for i in range(0, len(data), CALIBRATION_BATCH)]
    try:
        for q in quantizers:
            q.__class__ = calibrating
        with _inference_behaviour(model):
            for k, batch in enumerate(batches):
                calibrating.decay = k / (k + 1.0)  # running mean of the batch ranges
                model(batch, training=True)
    finally:
        for q, cls in zip(quantizers, classes):
            q.__class__ = cls


def load_labelled(path):
    """(x, y) from an .npz holding arrays `x` and `y`."""
    if not os.path.isfile(path):
        raise KerasFDAError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["x"].astype(np.float32), archive["y"]
    except Exception:
        raise KerasFDAError(f"{path} must be an .npz with arrays 'x' (inputs) and 'y' "
                            "(integer labels) to fine-tune")


def quantize_model(model, data, fine_tune_epochs=0, labels=None, log=print):
    """The quantization-aware model to convert with int8 input and output, and a report
    `{"annotated": [...]}`."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    with step(f"int8: annotating the float layers (tensorflow-model-optimization)", log):
        annotated, names = annotate(model)
        if not names:
            raise KerasFDAError("--int8: the model has no float Conv2D, DepthwiseConv2D or "
                                "Dense layer to quantize; export it without --int8")
        try:
            with quiet_tensorflow():
                qat = tfmot.quantization.keras.quantize_apply(annotated)
        except Exception as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
            raise KerasFDAError(f"--int8: tensorflow-model-optimization could not quantize "
                                f"the model ({first})")
    with step(f"int8: calibrating activation ranges on {len(data)} inputs", log):
        calibrate(qat, data)
    if fine_tune_epochs and labels is not None:
        with step(f"int8: fine-tuning {fine_tune_epochs} epochs", log):
            qat.compile(optimizer=tf.keras.optimizers.Adam(1e-4),
                        loss=tf.keras.losses.SparseCategoricalCrossentropy())
            with _inference_behaviour(qat):
                qat.fit(data, labels, epochs=fine_tune_epochs, batch_size=32, verbose=0)
    return qat, {"annotated": names}


def float_ops(graph):
    """Op types (with counts) that still compute in float32 in an int8 export."""
    counts = {}
    for op in graph.ops:
        if op.type in ("QUANTIZE", "DEQUANTIZE", "LceQuantize", "LceDequantize"):
            continue
        if any(t is not None and not t.constant and t.dtype == "float32"
               for t in op.inputs + op.outputs):
            counts[op.type] = counts.get(op.type, 0) + 1
    return dict(sorted(counts.items()))
