"""Rewrites of the Keras model before conversion that compute exactly the same function
but convert to better ops.

Binary dense as a packed 1x1 convolution: LCE has no binary dense op, so a
`larq.layers.QuantDense` whose input and kernel quantizers are both 1-bit converts to a
float FULLY_CONNECTED with float32 weights (32x the bits the +-1 kernel needs). A dense
layer on a (batch, C) input is a 1x1 convolution on the same values laid out as a
(batch, 1, 1, C) image, so it becomes

    Reshape (1, 1, C) -> QuantConv2D(units, 1) [same quantizers, kernel, bias, activation]
    [-> the BatchNormalization that followed, now on the 4-D tensor] -> Reshape (units,)

which LCE converts to an LceBconv2d with a bit-packed kernel (its batch norm folded into
the conv's output multiplier and bias, as for any binary conv). Only rewritten when exact:
a 2-D input, both quantizers 1-bit (`precision == 1`), a Functional or Sequential model.
The kernel constraint matters only to training, so it is dropped.

Binary kernels folded before conversion: a 1-bit kernel quantizer (sign, or XNOR-Net's
per-filter mean |w| x sign) is computed by TensorFlow ops on the float kernel, which
the converter folds into a constant, except that TensorFlow's constant folding skips
tensors over 10 MiB (grappler's kMaxConstantSize). Such a kernel then stays float in the
flatbuffer with the quantizer's ops run at inference: LCE #744, XNORNet's flatbuffer ~10x
its weights. The export evaluates the quantizer once in Keras and gives the layer that
result as its kernel, with no kernel quantizer: the same values, a constant the
converter binarizes (+-alpha per output channel folds into the conv's multiplier).
"""

from keras_fda.export.progress import quiet_tensorflow


def _is_binary(quantizer):
    return quantizer is not None and getattr(quantizer, "precision", None) == 1


def rewritable_dense(layer):
    """True for a QuantDense that is exactly a binary 1x1 convolution."""
    import larq as lq

    if type(layer) is not lq.layers.QuantDense:
        return False
    if not (_is_binary(layer.input_quantizer) and _is_binary(layer.kernel_quantizer)):
        return False
    try:
        shape = layer.input_shape
    except AttributeError:  # shared layer with several input shapes
        return False
    return isinstance(shape, tuple) and len(shape) == 2 and shape[-1] is not None


def _only_consumer(layer):
    nodes = getattr(layer, "_outbound_nodes", [])
    return nodes[0].outbound_layer if len(nodes) == 1 else None


def _following_batch_norm(layer):
    """The BatchNormalization that alone consumes `layer`'s output on its last axis, or
    None. Taken into the rewrite so the converter folds it into the binary conv."""
    import tensorflow as tf

    after = _only_consumer(layer)
    if (
        isinstance(after, tf.keras.layers.BatchNormalization)
        and len(getattr(layer, "_inbound_nodes", [])) == 1
        and list(after.axis) in ([1], [-1])
    ):
        return after
    return None


def _dense_as_conv_layer(dense, batch_norm):
    """A layer computing `dense` (then `batch_norm`) through a 1x1 QuantConv2D, with the
    same weights."""
    import larq as lq
    import tensorflow as tf

    channels = dense.input_shape[-1]
    config = dense.get_config()
    fold = foldable_kernel(dense)
    conv = lq.layers.QuantConv2D(
        config["units"],
        1,
        activation=config["activation"],
        use_bias=config["use_bias"],
        input_quantizer=dense.input_quantizer,
        kernel_quantizer=None if fold else dense.kernel_quantizer,
        name=dense.name + "_as_conv",
    )
    layers = [tf.keras.layers.Reshape((1, 1, channels), name=dense.name + "_to_image"), conv]
    if batch_norm is not None:
        bn_config = batch_norm.get_config()
        bn_config["axis"] = -1
        bn_config["name"] = batch_norm.name
        layers.append(tf.keras.layers.BatchNormalization.from_config(bn_config))
    layers.append(tf.keras.layers.Reshape((config["units"],), name=dense.name + "_to_vector"))
    block = tf.keras.Sequential(layers, name=dense.name)
    block.build((None, channels))
    weights = dense.get_weights()
    if fold:
        weights[0] = dense.kernel_quantizer(dense.kernel).numpy()
    weights[0] = weights[0].reshape(1, 1, channels, config["units"])
    conv.set_weights(weights)
    if batch_norm is not None:
        layers[2].set_weights(batch_norm.get_weights())
    return block


FOLD_LIMIT_BYTES = 10 * 1024 * 1024  # TensorFlow's constant folding skips larger tensors


def foldable_kernel(layer):
    """True for a Larq layer whose 1-bit kernel quantizer TensorFlow will not fold."""
    import larq as lq

    if type(layer) not in (lq.layers.QuantConv2D, lq.layers.QuantDense):
        return False
    kernel = getattr(layer, "kernel", None)
    return (
        kernel is not None
        and _is_binary(layer.kernel_quantizer)
        and 4 * kernel.shape.num_elements() > FOLD_LIMIT_BYTES
    )


def _folded_kernel_layer(layer):
    config = layer.get_config()
    config["kernel_quantizer"] = None
    config["kernel_constraint"] = None
    folded = layer.__class__.from_config(config)
    folded.build(layer.input_shape)
    weights = layer.get_weights()
    weights[0] = layer.kernel_quantizer(layer.kernel).numpy()
    folded.set_weights(weights)
    return folded


def binary_dense_as_conv(model):
    """Only the binary dense rewrite of `prepare` (see the module docstring)."""
    rewritten, dense, _ = prepare(model, fold=False)
    return rewritten, dense


def prepare(model, fold=True):
    """(model, dense names, folded names): `model` with every rewritable binary
    QuantDense computed by a 1x1 binary conv and (with `fold`) every binary kernel too
    big for TensorFlow's constant folding folded (see the module docstring). The model
    itself when there is nothing to rewrite (or it is a subclassed model)."""
    import tensorflow as tf

    targets = [layer for layer in model.layers if rewritable_dense(layer)]
    big = [layer for layer in model.layers if fold and foldable_kernel(layer)]
    big = [layer for layer in big if layer not in targets]
    if not (targets or big) or not getattr(model, "_is_graph_network", False):
        return model, [], []
    merged = {}
    for dense in targets:
        batch_norm = _following_batch_norm(dense)
        if batch_norm is not None:
            merged[batch_norm.name] = dense.name

    def clone(layer):
        if layer in targets:
            return _dense_as_conv_layer(layer, _following_batch_norm(layer))
        if layer in big:
            return _folded_kernel_layer(layer)
        if layer.name in merged:  # computed inside the rewritten dense block
            return tf.keras.layers.Activation("linear", name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    with quiet_tensorflow():
        rewritten = tf.keras.models.clone_model(model, clone_function=clone)
    for old in model.layers:
        if old not in targets and old not in big and old.name not in merged:
            rewritten.get_layer(old.name).set_weights(old.get_weights())
    return rewritten, [dense.name for dense in targets], [layer.name for layer in big]
