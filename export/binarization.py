"""What did not binarize, and why: warnings naming the layer and the fix.

Read from the Keras model's architecture (the reasons) and checked against the converted
graph (which `LceBconv2d` ops exist), since the converter only says what it produced:

* a QuantConv2D whose input or kernel quantizer is not a 1-bit sign stays a float conv;
* a binary QuantDense binarizes only when the export rewrites it as a 1x1 binary conv
  (rewrite.py: a (batch, C) input); otherwise LCE has no binary dense op (float
  FULLY_CONNECTED on +-1 values after LceQuantize/LceDequantize);
* a pool between a binary conv and its BatchNormalization stops the fold of the batch
  norm into the conv's multiplier/bias, so float MUL/ADD stay after the pool;
* input channels that are not a multiple of 32 are padded to the next word, wasting that
  share of every XNOR/popcount.
"""

import dataclasses


@dataclasses.dataclass
class Finding:
    layer: str
    message: str
    binarized: bool  # False when the layer runs in float where a binary op was meant

    def __str__(self):
        return f"layer '{self.layer}': {self.message}"


def _layers(model):
    import tensorflow as tf

    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            yield from _layers(layer)
        else:
            yield layer


def _is_binary(quantizer):
    return quantizer is not None and getattr(quantizer, "precision", None) == 1


def _quantizer_name(quantizer):
    if quantizer is None:
        return "None"
    return getattr(quantizer, "name", None) or type(quantizer).__name__


def _consumers(layer):
    return [node.outbound_layer for node in getattr(layer, "_outbound_nodes", [])]


def _pool_before_batch_norm(layer):
    import tensorflow as tf

    pools = (tf.keras.layers.MaxPooling2D, tf.keras.layers.AveragePooling2D)
    for pool in _consumers(layer):
        if isinstance(pool, pools):
            for after in _consumers(pool):
                if isinstance(after, tf.keras.layers.BatchNormalization):
                    return pool.name, after.name
    return None


def _bconv_layer_names(graph):
    """Names of the Keras layers whose input feeds an LceBconv2d op.

    The converter names a binary conv's packed input after the consuming layer's
    input quantizer (`<model>/<layer>/<quantizer>/...`, possibly ';'-joined and cut)."""
    names = set()
    for op in graph.ops:
        if op.type != "LceBconv2d" or op.inputs[0] is None:
            continue
        for part in op.inputs[0].name.split(";"):
            pieces = part.split("/")
            if len(pieces) >= 2:
                names.add(pieces[1])
    return names


def expected_binary_convs(model):
    """The layers that should each become one LceBconv2d: QuantConv2D with 1-bit input
    and kernel quantizers."""
    import larq

    return [
        layer
        for layer in _layers(model)
        if isinstance(layer, larq.layers.QuantConv2D)
        and _is_binary(layer.input_quantizer)
        and _is_binary(layer.kernel_quantizer)
    ]


def findings(model, graph, rewritten=()):
    """All findings for `model` converted to `graph`; `rewritten` names the binary
    QuantDense layers the export converted as 1x1 binary convs (rewrite.py)."""
    import larq

    out = []
    in_graph = _bconv_layer_names(graph)
    expected = expected_binary_convs(model)
    bconv_count = sum(op.type == "LceBconv2d" for op in graph.ops)
    for layer in _layers(model):
        if isinstance(layer, larq.layers.QuantDense):
            binary = _is_binary(layer.input_quantizer) and _is_binary(layer.kernel_quantizer)
            if binary and layer.name not in rewritten:
                out.append(
                    Finding(
                        layer.name,
                        (
                            "QuantDense did not become LceBconv2d: LCE has no binary dense op and "
                            "the export rewrites one to a 1x1 binary conv only on a (batch, C) "
                            "input, so it runs as a float FULLY_CONNECTED on +-1 values; fix: "
                            "flatten its input first, or keep a float Dense classifier"
                        ),
                        False,
                    )
                )
            continue
        if not isinstance(layer, larq.layers.QuantConv2D):
            quantizers = [
                getattr(layer, a, None)
                for a in ("input_quantizer", "kernel_quantizer", "depthwise_quantizer")
            ]
            if type(layer).__module__.startswith("larq") and any(map(_is_binary, quantizers)):
                out.append(
                    Finding(
                        layer.name,
                        (
                            f"{type(layer).__name__} does not become LceBconv2d: LCE binarizes only "
                            "QuantConv2D, this runs in float on +-1 values; fix: use QuantConv2D"
                        ),
                        False,
                    )
                )
            continue
        if not _is_binary(layer.input_quantizer) or not _is_binary(layer.kernel_quantizer):
            which = [
                f"{role}_quantizer={_quantizer_name(q)}"
                for role, q in (
                    ("input", layer.input_quantizer),
                    ("kernel", layer.kernel_quantizer),
                )
                if not _is_binary(q)
            ]
            out.append(
                Finding(
                    layer.name,
                    (
                        f"QuantConv2D did not become LceBconv2d ({', '.join(which)} is not a 1-bit "
                        "sign), so it runs as a float CONV_2D; fix: give it input_quantizer and "
                        "kernel_quantizer such as 'ste_sign' or 'fda'"
                    ),
                    False,
                )
            )
            continue
        if in_graph and layer.name not in in_graph and bconv_count < len(expected):
            out.append(
                Finding(
                    layer.name,
                    (
                        "QuantConv2D with binary quantizers did not become LceBconv2d; the converter "
                        "did not recognise its quantizer as a pure sign (e.g. scale_weights or a "
                        "non-sign quantizer); see `keras-fda inspect` for what it became"
                    ),
                    False,
                )
            )
        channels_in = int(layer.kernel.shape[-2])  # kernel (k_h, k_w, c_in, c_out)
        if channels_in % 32:
            padded = -(-channels_in // 32) * 32
            out.append(
                Finding(
                    layer.name,
                    (
                        f"{channels_in} input channels are packed into {padded} bits, "
                        f"{100 * (padded - channels_in) / padded:.0f}% of each XNOR/popcount wasted; "
                        "fix: use a multiple of 32 input channels"
                    ),
                    True,
                )
            )
        if layer.filters % 8:
            out.append(
                Finding(
                    layer.name,
                    (f"{layer.filters} output channels: LCE's kernels prefer a multiple of 8"),
                    True,
                )
            )
        pooled = _pool_before_batch_norm(layer)
        if pooled:
            out.append(
                Finding(
                    layer.name,
                    (
                        f"pool '{pooled[0]}' sits between it and batch norm '{pooled[1]}', which stops "
                        "the fold into the binary conv: float MUL/ADD stay after the pool; fix: put the "
                        "BatchNormalization before the pool"
                    ),
                    True,
                )
            )
    if bconv_count < len(expected) and not any(not f.binarized for f in out):
        out.append(
            Finding(
                "*",
                (
                    f"{len(expected)} binary QuantConv2D layers but only {bconv_count} LceBconv2d ops; "
                    "see `keras-fda inspect` for what the others became"
                ),
                False,
            )
        )
    return out
