"""Whole-graph int8 by quantization-aware annotation (tensorflow-model-optimization),
leaving the Larq layers binary.

Why tfmot and not hand-placed fake-quant layers: LCE's converter reads the same
FakeQuant ops either way, but tfmot also folds each float conv with its batch norm and
quantizes weights per channel, calibrates and fine-tunes with the same model, and
saves/loads with Keras; our part is only to say which layer's output needs a range.

1. Clone the model with `quantize_annotate_layer` on every layer but the Larq ones
   (their input and kernel quantizers are binary) and the input:
   - float Conv2D / DepthwiseConv2D / Dense and the batch norm right after a float conv
     (folded into it): tfmot's default 8-bit configs (int8 weights, per channel);
   - every other batch norm (the one after each binary conv, which LCE fuses into the
     LceBconv2d's multiplier and bias): its output only, so the LceBconv2d writes int8;
     but none where only binary layers read it: the LceBconv2d then writes bitpacked
     output, 1 bit per value;
   - Add, pools, global pooling, reshapes...: tfmot's defaults (an output range where the
     op needs one); any other layer: its output only.
   The input gets a range from tfmot's QuantizeLayer, the logits from the classifier.
   Layers are renamed where tfmot's wrapper name (`quant_` + name) would collide with an
   existing layer (Larq names its layers `quant_conv2d`, Keras names `conv2d`).
2. Calibrate the activation ranges on `--calibration` inputs: forward passes in training
   mode (that is when tfmot's range variables update), with the EMA decay (0.999, fixed
   in tfmot) replaced for the passes so that the ranges become the mean of the per-batch
   min/max rather than creeping from tfmot's initial [-6, 6]. Batch norms, dropout and
   FDA's noise branch are held in inference behaviour meanwhile, so the passes change
   nothing but the ranges.
3. Optionally fine-tune a few epochs when labels are given (an .npz with `x` and `y`).

The LCE converter then emits int8 builtin ops, LceQuantize from int8 and LceBconv2d with
int8 output: no float32 activation is left (`float_ops` lists any that is).
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export.progress import quiet_tensorflow, step

import contextlib
import os

import numpy as np

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
    return (
        len(inbound) == 1
        and _annotatable(inbound[0])
        and not isinstance(inbound[0], tf.keras.layers.Dense)
        and len(inbound[0]._outbound_nodes) == 1
    )


def _feeds_only_binary(layer):
    """True when every layer reading `layer`'s output binarizes it first (a Larq layer
    with an input quantizer), directly or through max pools (max pool then sign is the
    converter's LceBMaxPool2d on bitpacked values)."""
    import tensorflow as tf

    consumers = [node.outbound_layer for node in layer._outbound_nodes]
    return bool(consumers) and all(
        (_is_larq(c) and getattr(c, "input_quantizer", None) is not None)
        or (isinstance(c, tf.keras.layers.MaxPool2D) and _feeds_only_binary(c))
        for c in consumers
    )


def _zero_padded_binary_conv_before(layer):
    """The Larq conv right before `layer` if it pads with zeros (SAME, pad_values=0),
    else None. Neither LCE's optimized kernels nor ours give such a conv int8 output:
    the zero-padding correction is only done on float outputs."""
    if len(layer._inbound_nodes) != 1:
        return None
    import tensorflow as tf

    inbound = tf.nest.flatten(layer._inbound_nodes[0].inbound_layers)
    if len(inbound) != 1 or not _is_larq(inbound[0]):
        return None
    conv = inbound[0]
    zero_padded = (
        getattr(conv, "padding", "valid") == "same"
        and float(getattr(conv, "pad_values", 0.0)) == 0.0
    )
    return conv if zero_padded else None


def _output_quantize_config():
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_configs as configs,
    )

    return configs.Default8BitOutputQuantizeConfig()


def _quantize_scope():
    """The custom objects tfmot needs to clone an annotated model."""
    import tensorflow_model_optimization as tfmot

    return tfmot.quantization.keras.quantize_scope(
        {"Default8BitOutputQuantizeConfig": type(_output_quantize_config())}
    )


def _config_for(layer, folded, registry):
    """How `layer` is annotated: "default" (tfmot's registry), "output" (its output
    only) or None (left alone: Larq layers, the input)."""
    import tensorflow as tf

    if _is_larq(layer) or isinstance(layer, tf.keras.layers.InputLayer):
        return None
    if isinstance(layer, tf.keras.layers.MaxPool2D) and _feeds_only_binary(layer):
        return None
    if _annotatable(layer) or layer.name in folded:
        return "default"
    if isinstance(layer, tf.keras.layers.BatchNormalization):
        # read only by binary layers: no range, so the converter fuses the sign into the
        # LceBconv2d before it (bitpacked output, 1 bit per value)
        if _feeds_only_binary(layer) or _zero_padded_binary_conv_before(layer):
            return None
        return "output"
    return "default" if registry.supports(layer) else "output"


def _unique_names(model):
    """Layer names for the clone: a name whose tfmot wrapper name (`quant_` + name) is
    another layer's name gets a suffix, so quantize_apply never sees a name twice."""
    taken = {layer.name for layer in model.layers}
    names = {}
    for layer in model.layers:
        name = layer.name
        if "quant_" + name in taken:
            k = 1
            while f"{name}_int8_{k}" in taken or f"quant_{name}_int8_{k}" in taken:
                k += 1
            name = f"{name}_int8_{k}"
            taken.add(name)
        names[layer.name] = name
    return names


def annotate(model):
    """A clone of `model` with every layer but the Larq ones and the input annotated for
    int8, weights copied; returns (clone, names of the annotated layers in `model`)."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry,
    )

    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    names = []
    # a batch norm right after an annotated conv is annotated with it: tfmot folds the
    # pair into one int8 conv instead of leaving a float MUL/ADD after it
    folded = {layer.name for layer in model.layers if _follows_annotated_conv(layer)}
    new_names = _unique_names(model)

    def clone(layer):
        config = layer.get_config()
        config["name"] = new_names[layer.name]
        new = layer.__class__.from_config(config)
        how = _config_for(layer, folded, registry)
        if how is None:
            return new
        names.append(layer.name)
        quantize_config = _output_quantize_config() if how == "output" else None
        return tfmot.quantization.keras.quantize_annotate_layer(new, quantize_config)

    annotated = tf.keras.models.clone_model(model, clone_function=clone)
    if len(annotated.layers) != len(model.layers):
        raise KerasFDAError(
            "--int8: cloning the model changed its layers; export a functional or Sequential model"
        )
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
                inputs,
                weights["min_var"],
                weights["max_var"],
                ema_decay=self.decay,
                is_training=training,
                num_bits=self.num_bits,
                per_channel=self.per_axis,
                symmetric=self.symmetric,
                narrow_range=self.narrow_range,
            )

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
    batches = [data[i : i + CALIBRATION_BATCH] for i in range(0, len(data), CALIBRATION_BATCH)]
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
        raise KerasFDAError(
            f"{path} must be an .npz with arrays 'x' (inputs) and 'y' (integer labels) to fine-tune"
        )


def quantize_model(model, data, fine_tune_epochs=0, labels=None, log=print, warn=print):
    """The quantization-aware model to convert with int8 input and output, and a report
    `{"annotated": [...]}`."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    with step("int8: annotating the float layers (tensorflow-model-optimization)", log):
        annotated, names = annotate(model)
        if not names:
            raise KerasFDAError(
                "--int8: the model has no layer besides the Larq ones to "
                "quantize; export it without --int8"
            )
        try:
            with quiet_tensorflow(), _quantize_scope():
                qat = tfmot.quantization.keras.quantize_apply(annotated)
        except Exception as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
            raise KerasFDAError(
                f"--int8: tensorflow-model-optimization could not quantize the model ({first})"
            )
    for layer in model.layers:
        conv = _zero_padded_binary_conv_before(layer)
        if conv is not None and not _feeds_only_binary(layer):
            warn(
                f"int8: binary conv '{conv.name}' pads with zeros (padding='same', "
                "pad_values=0), which needs float output: it and what follows stay float; "
                "use pad_values=1.0 for a whole-int8 graph"
            )
    with step(f"int8: calibrating activation ranges on {len(data)} inputs", log):
        calibrate(qat, data)
    if fine_tune_epochs and labels is not None:
        with step(f"int8: fine-tuning {fine_tune_epochs} epochs", log):
            qat.compile(
                optimizer=tf.keras.optimizers.Adam(1e-4),
                loss=tf.keras.losses.SparseCategoricalCrossentropy(),
            )
            with _inference_behaviour(qat):
                qat.fit(data, labels, epochs=fine_tune_epochs, batch_size=32, verbose=0)
    return qat, {"annotated": names}


def float_ops(graph):
    """Op types (with counts) that still compute in float32 in an int8 export."""
    counts = {}
    for op in graph.ops:
        if op.type in ("QUANTIZE", "DEQUANTIZE", "LceQuantize", "LceDequantize"):
            continue
        if any(
            t is not None and not t.constant and t.dtype == "float32"
            for t in op.inputs + op.outputs
        ):
            counts[op.type] = counts.get(op.type, 0) + 1
    return dict(sorted(counts.items()))
