"""Size sanity: is the flatbuffer about as big as the model's weights need?

A converted model stores its weights once, packed: 1 bit per value of a binary kernel
(a QuantConv2D/QuantDense whose kernel quantizer is 1-bit), 1 byte per int8 value,
4 bytes per float. When the flatbuffer holds more than twice that in constant data,
the converter kept something it should not have (LCE #744: XNORNet's flatbuffer is
many times its weights), and the export says which constants take the room.
"""

import math

SIZE_FACTOR = 2  # warn above this many times the bytes the weights need
NAMED_TENSORS = 3


def _binary_kernel(layer):
    quantizer = getattr(layer, "kernel_quantizer", None)
    return quantizer is not None and getattr(quantizer, "precision", None) == 1


def _layers(model):
    import tensorflow as tf

    for layer in model.layers:
        if isinstance(layer, tf.keras.Model):
            yield from _layers(layer)
        else:
            yield layer


def weight_bytes_needed(model, int8=False):
    """Bytes the weights of `model` need in a deployed model: 1 bit per value of a
    binary kernel, 1 byte per value of an int8 kernel, 4 bytes per other value."""
    bits = 0
    for layer in _layers(model):
        kernel = getattr(layer, "kernel", None)
        for weight in layer.weights:
            values = math.prod(int(d) for d in weight.shape)
            if kernel is not None and weight is kernel and _binary_kernel(layer):
                bits += values
            elif int8 and kernel is not None and weight is kernel:
                bits += 8 * values
            else:
                bits += 32 * values
    return -(-bits // 8)


def oversize_warning(graph, needed_bytes):
    """None, or one line naming the largest constants when the flatbuffer holds more than
    SIZE_FACTOR x `needed_bytes` of constant data (its tables of ops, shapes and names
    are not weights and are not counted)."""
    stored = graph.weight_bytes()
    if stored <= SIZE_FACTOR * max(needed_bytes, 1):
        return None
    seen, largest = set(), []
    for tensor in sorted(graph.tensors, key=lambda t: -t.data_bytes):
        if tensor.constant and tensor.index not in seen:
            seen.add(tensor.index)
            largest.append(tensor)
        if len(largest) == NAMED_TENSORS:
            break
    named = ", ".join(
        f"'{t.name}' ({'x'.join(map(str, t.shape))} {t.dtype}, {t.data_bytes:,} bytes)"
        for t in largest
    )
    return (
        f"the flatbuffer holds {stored:,} bytes of constants, more than {SIZE_FACTOR}x the "
        f"{needed_bytes:,} bytes the model's weights need (1 bit per binary kernel value, "
        f"1 byte int8, 4 bytes float); largest: {named}; `keras-fda inspect` shows the "
        "ops that use them"
    )
