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

Large 1-bit kernels quantized before conversion: see fold_large_kernel_quantizers.
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
    """A layer computing `dense` (then `batch_norm`) through a 1x1 QuantConv2D."""
    import larq as lq
    import tensorflow as tf

    channels = dense.input_shape[-1]
    config = dense.get_config()
    conv = lq.layers.QuantConv2D(
        config["units"],
        1,
        activation=dense.activation,
        use_bias=config["use_bias"],
        input_quantizer=dense.input_quantizer,
        kernel_quantizer=dense.kernel_quantizer,
        name=dense.name + "_as_conv",
    )
    layers = [tf.keras.layers.Reshape((1, 1, channels), name=dense.name + "_to_image"), conv]
    if batch_norm is not None:
        bn_config = batch_norm.get_config()
        bn_config["axis"] = -1
        bn_config["name"] = batch_norm.name
        layers.append(tf.keras.layers.BatchNormalization.from_config(bn_config))
    layers.append(tf.keras.layers.Reshape((config["units"],), name=dense.name + "_to_vector"))
    # unbuilt: clone_model calls it on the new graph's tensor; the weights come after
    return tf.keras.Sequential(layers, name=dense.name)


def _copy_dense_weights(dense, batch_norm, block):
    channels, units = dense.kernel.shape
    weights = dense.get_weights()
    weights[0] = weights[0].reshape(1, 1, channels, units)
    block.layers[1].set_weights(weights)
    if batch_norm is not None:
        block.layers[2].set_weights(batch_norm.get_weights())


def binary_dense_as_conv(model):
    """(model, names): `model` with every rewritable binary QuantDense computed by a 1x1
    binary conv (see the module docstring), and the names of those dense layers. The
    model itself when there is nothing to rewrite (or it is a subclassed model)."""
    import tensorflow as tf

    targets = [layer for layer in model.layers if rewritable_dense(layer)]
    if not targets or not getattr(model, "_is_graph_network", False):
        return model, []
    merged = {}
    for dense in targets:
        batch_norm = _following_batch_norm(dense)
        if batch_norm is not None:
            merged[batch_norm.name] = dense.name

    def clone(layer):
        if layer in targets:
            return _dense_as_conv_layer(layer, _following_batch_norm(layer))
        if layer.name in merged:  # computed inside the rewritten dense block
            return tf.keras.layers.Activation("linear", name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    with quiet_tensorflow():
        rewritten = tf.keras.models.clone_model(model, clone_function=clone)
    for old in model.layers:
        if old in targets:
            _copy_dense_weights(old, _following_batch_norm(old), rewritten.get_layer(old.name))
        elif old.name not in merged:
            rewritten.get_layer(old.name).set_weights(old.get_weights())
    return rewritten, [dense.name for dense in targets]


# TensorFlow's MLIR constant folding (which the LCE converter relies on to turn a
# quantized kernel into one constant) skips any op whose operands exceed 2**30 bits
# (128 MiB). Past that a kernel quantizer stays in the graph as ops on a float kernel
# (ABS, MEAN, TRANSPOSE, MUL) and the binary conv stays a float CONV_2D: XNORNet's
# 6x6x256x4096 kernel, 151 MB of float32 (LCE #744). Folding it here first is exact.
FOLD_KERNELS_FROM_BYTES = 16 * 2**20


def _foldable_kernel(layer):
    import larq as lq

    kernel = getattr(layer, "kernel", None)
    return (
        isinstance(layer, lq.layers.QuantConv2D | lq.layers.QuantDense)
        and _is_binary(getattr(layer, "kernel_quantizer", None))
        and kernel is not None
        and 4 * kernel.shape.num_elements() >= FOLD_KERNELS_FROM_BYTES
    )


def fold_large_kernel_quantizers(model):
    """(model, names): `model` with each large 1-bit-quantized kernel (over
    FOLD_KERNELS_FROM_BYTES as float32) replaced by its quantized values and no kernel
    quantizer, and those layers' names. The model itself when there is none."""
    import tensorflow as tf

    targets = [layer for layer in model.layers if _foldable_kernel(layer)]
    if not targets or not getattr(model, "_is_graph_network", False):
        return model, []

    def clone(layer):
        config = layer.get_config()
        if layer in targets:
            config.update(kernel_quantizer=None, kernel_constraint=None)
        return layer.__class__.from_config(config)

    with quiet_tensorflow():
        folded = tf.keras.models.clone_model(model, clone_function=clone)
    for old in model.layers:
        weights = old.get_weights()
        if old in targets:
            index = next(i for i, w in enumerate(old.weights) if w is old.kernel)
            weights[index] = old.kernel_quantizer(tf.constant(weights[index])).numpy()
        folded.get_layer(old.name).set_weights(weights)
    return folded, [layer.name for layer in targets]
