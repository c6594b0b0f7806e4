"""LceBconv2d (and LceQuantize / LceBMaxPool2d around it) against the LCE interpreter:
a product of paddings, strides, dilations, channel counts, fused activations and output
kinds (float, int8, bitpacked). Float within 1e-5, int8 and bitpacked exact (a bitpacked
output is checked through the next binary conv, whose float output needs every bit)."""

import itertools

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tests.firmware.conftest import compare, convert

ACTS = {
    "none": None,
    "relu": "relu",
    "relu6": tf.nn.relu6,
    "relu1": lambda t: tf.clip_by_value(t, -1.0, 1.0),
}


def qconv(
    filters, k=3, padding="same", pad_values=0.0, strides=1, dilation=1, use_bias=False, **kw
):
    return lq.layers.QuantConv2D(
        filters,
        k,
        padding=padding,
        pad_values=pad_values,
        strides=strides,
        dilation_rate=dilation,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=use_bias,
        **kw,
    )


def random_bn(layer_input, rng):
    bn = tf.keras.layers.BatchNormalization()
    y = bn(layer_input)
    c = bn.gamma.shape[0]
    bn.set_weights(
        [
            rng.uniform(0.5, 2.0, c) * rng.choice([-1, 1], c),
            rng.normal(0, 1, c),
            rng.normal(0, 1, c),
            rng.uniform(0.5, 2.0, c),
        ]
    )
    return y


def randomize(model, rng):
    for layer in model.layers:
        if isinstance(layer, lq.layers.QuantConv2D):
            w = layer.get_weights()
            w[0] = rng.uniform(-1, 1, w[0].shape)
            layer.set_weights(w)


def assert_bitpacked_link(fb):
    """The first LceBconv2d must write bitpacked (int32) output: the second reads it."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(fb, 0))
    sg = model.subgraphs[0]
    kinds = [model.operatorCodes[op.opcodeIndex].customCode for op in sg.operators]
    assert kinds.count(b"LceBconv2d") == 2 and kinds.count(b"LceQuantize") == 1
    first = sg.operators[kinds.index(b"LceBconv2d")]
    assert sg.tensors[first.outputs[0]].type == schema.TensorType.INT32


PADDINGS = {"same_one": ("same", 1.0), "same_zero": ("same", 0.0), "valid": ("valid", 0.0)}

# A covering design rather than the full product (keeps conversions few): every
# padding x stride x dilation, channels and activations cycled across them.
CASES = []
for i, (pad, stride, dil) in enumerate(itertools.product(PADDINGS, (1, 2), (1, 2))):
    if stride == 2 and dil == 2:
        continue  # TF rejects strides > 1 together with dilation > 1
    cin = (32, 64, 48)[i % 3]
    cout = (32, 48, 64)[(i + 1) % 3]
    CASES.append((pad, stride, dil, cin, cout))


@pytest.mark.parametrize("pad,stride,dil,cin,cout", CASES)
def test_bconv_float_and_bitpacked(kfda, pad, stride, dil, cin, cout):
    """Two stacked binary convs: the first writes bitpacked output (fused threshold),
    the second float (with batch norm folded into multiplier/bias)."""
    rng = np.random.RandomState(hash((pad, stride, dil, cin, cout)) % 2**31)
    padding, pv = PADDINGS[pad]
    x = tf.keras.Input((9, 10, cin))
    y = qconv(cout, padding=padding, pad_values=pv if pv else 1.0, strides=stride, dilation=dil)(x)
    y = random_bn(y, rng)
    y = qconv(cout, padding=padding, pad_values=pv, dilation=dil)(y)
    y = random_bn(y, rng)
    model = tf.keras.Model(x, y)
    randomize(model, rng)
    fb = convert(model)
    assert_bitpacked_link(fb)
    inputs = [rng.normal(0, 1, (3, 9, 10, cin)).astype(np.float32)]
    inputs[0][0, 0, 0, :4] = [0.0, -0.0, 1e-7, -1e-7]  # exact zeros map to +1
    compare(kfda, fb, inputs)


@pytest.mark.parametrize("act", sorted(ACTS))
@pytest.mark.parametrize("pad", ["same_one", "valid"])
def test_bconv_fused_activation(kfda, act, pad):
    rng = np.random.RandomState(len(act) * 7 + len(pad))
    padding, pv = PADDINGS[pad]
    x = tf.keras.Input((7, 7, 48))
    y = qconv(40, padding=padding, pad_values=pv)(x)
    if ACTS[act] is not None:
        y = (
            tf.keras.layers.Activation(ACTS[act])(y)
            if isinstance(ACTS[act], str)
            else tf.keras.layers.Lambda(ACTS[act])(y)
        )
    model = tf.keras.Model(x, y)
    randomize(model, rng)
    fb = convert(model)
    compare(kfda, fb, [rng.normal(0, 1, (2, 7, 7, 48)).astype(np.float32)])


@pytest.mark.parametrize("pad", ["same_one", "valid"])
def test_bconv_int8_output(kfda, pad):
    """int8 model input (default int8 ranges): LceQuantize reads int8 with a zero point;
    the bconv's float output must match within 1e-5."""
    rng = np.random.RandomState(5)
    padding, pv = PADDINGS[pad]
    x = tf.keras.Input((8, 8, 32))
    y = qconv(32, padding=padding, pad_values=pv)(x)
    y = random_bn(y, rng)
    model = tf.keras.Model(x, y)
    randomize(model, rng)
    fb = convert(
        model,
        experimental_default_int8_range=(-3.0, 3.0),
        inference_input_type=tf.int8,
        inference_output_type=tf.int8,
    )
    inputs = [rng.randint(-128, 128, (3, 8, 8, 32)).astype(np.int8)]
    compare(kfda, fb, inputs)


def test_bmaxpool_between_binary_convs(kfda):
    rng = np.random.RandomState(11)
    x = tf.keras.Input((10, 10, 64))
    y = qconv(64, padding="same", pad_values=1.0)(x)
    y = random_bn(y, rng)
    y = tf.keras.layers.MaxPool2D(3, strides=2, padding="same")(y)
    y = qconv(48, padding="valid")(y)
    y = random_bn(y, rng)
    model = tf.keras.Model(x, y)
    randomize(model, rng)
    fb = convert(model)
    assert kfda.plan(fb)["ops"].get("LceBMaxPool2d") == 1
    compare(kfda, fb, [rng.normal(0, 1, (3, 10, 10, 64)).astype(np.float32)])
