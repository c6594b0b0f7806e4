"""The ops Larq Zoo graphs and users' own BNNs add (issue 15), each on its own: a tiny
Keras model per op, converted with LCE, run by kfda_host and by the LCE interpreter.
Float outputs within 1e-5 x max(1, |y|) of the interpreter; int8 (where the converter
emits the op in int8: FakeQuant ranges stand in for QAT statistics) exactly equal."""

import numpy as np
import pytest
import tensorflow as tf

from tests.firmware.conftest import convert, lce_predict

L = tf.keras.layers
INT8_IO = dict(inference_input_type=tf.int8, inference_output_type=tf.int8)


def _fq(low, high):
    return L.Lambda(lambda t: tf.quantization.fake_quant_with_min_max_vars(t, low, high))


def _prelu(x):
    layer = L.PReLU(shared_axes=[1, 2])
    y = layer(x)
    layer.set_weights(
        [np.linspace(-0.6, 0.9, layer.get_weights()[0].size).reshape(layer.get_weights()[0].shape)]
    )
    return y


def _prelu_full(x):  # one alpha per element
    layer = L.PReLU()
    y = layer(x)
    shape = layer.get_weights()[0].shape
    layer.set_weights([np.random.RandomState(1).uniform(-0.5, 1.0, shape)])
    return y


CHANNELS = np.linspace(-1.0, 1.0, 6).astype(np.float32)

# name -> (op, the op applied to a (4, 5, 6) tensor, emitted in int8 too)
CASES = {
    "prelu": ("PRELU", _prelu, True),
    "prelu_full": ("PRELU", _prelu_full, True),
    "logistic": ("LOGISTIC", tf.sigmoid, True),
    "tanh": ("TANH", tf.tanh, True),
    "hard_swish": ("HARD_SWISH", lambda x: x * tf.nn.relu6(x + 3.0) / 6.0, True),
    "relu": ("RELU", tf.nn.relu, True),
    "relu6": ("RELU6", tf.nn.relu6, True),
    "relu_n1_to_1": ("RELU_N1_TO_1", lambda x: tf.clip_by_value(x, -1.0, 1.0), True),
    "abs": ("ABS", tf.abs, True),
    "round": ("ROUND", tf.round, False),
    "minimum": ("MINIMUM", lambda x: tf.minimum(x, 0.3), True),
    "maximum": ("MAXIMUM", lambda x: tf.maximum(x, CHANNELS), True),
    "sub": ("SUB", lambda x: x - tf.constant(CHANNELS), True),
    "split": ("SPLIT", lambda x: tf.split(x, 3, axis=-1), True),
    # more outputs than a model has (MeliusNet22's SPLITs have 8): put back in reverse
    "split_6": ("SPLIT", lambda x: tf.concat(tf.split(x, 6, axis=-1)[::-1], axis=-1), True),
    "transpose": ("TRANSPOSE", lambda x: tf.transpose(x, [0, 3, 1, 2]), True),
    "strided_slice": ("STRIDED_SLICE", lambda x: x[:, 1:4:2, ::-2, 1:], True),
    "strided_slice_shrink": ("STRIDED_SLICE", lambda x: x[:, -1, 1:5, :], True),
    "mean_channels": ("MEAN", lambda x: tf.reduce_mean(x, axis=-1), True),
    "mean_h_c_keep": ("MEAN", lambda x: tf.reduce_mean(x, axis=[1, 3], keepdims=True), True),
}


# int8 LOGISTIC / TANH have a fixed output quantization (1/256, -128 and 1/128, 0)
FIXED_OUTPUT_RANGE = {"logistic", "tanh"}


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def build(name, int8):
    tf.keras.utils.set_random_seed(0)
    _, apply, _ = CASES[name]
    x = L.Input((4, 5, 6))
    if not int8:
        return tf.keras.Model(x, apply(x))
    ys = _as_list(apply(_fq(-3.0, 3.0)(x)))
    if name in FIXED_OUTPUT_RANGE:  # the op's own output quantization, no requantization
        return tf.keras.Model(x, ys)
    return tf.keras.Model(x, [_fq(-2.0, 2.5)(y) for y in ys])


def converted(name, int8):
    """The flatbuffer of a case."""
    if int8:
        return convert(build(name, int8=True), **INT8_IO)
    return convert(build(name, int8=False))


def float_inputs(rng):
    x = rng.normal(0, 2.0, (16, 4, 5, 6)).astype(np.float32)
    x[0].flat[:8] = [0.5, 1.5, 2.5, -0.5, -1.5, -3.0, 3.0, 0.0]  # ties and knees
    return x


def assert_float_close(ours, ref):
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref):
        assert o.shape == r.shape and o.dtype == r.dtype == np.float32
        assert np.all(np.abs(o - r) <= 1e-5 * np.maximum(1.0, np.abs(r))), np.abs(o - r).max()


@pytest.mark.parametrize("name", sorted(CASES))
def test_single_op_float(kfda, name):
    op = CASES[name][0]
    fb = converted(name, False)
    assert op in kfda.plan(fb)["ops"]
    x = float_inputs(np.random.RandomState(3))
    assert_float_close(kfda.run(fb, [x]), lce_predict(fb, [x]))


@pytest.mark.parametrize("name", sorted(n for n, case in CASES.items() if case[2]))
def test_single_op_int8_exact(kfda, name):
    op = CASES[name][0]
    fb = converted(name, True)
    ops = kfda.plan(fb)["ops"]
    assert op in ops and "DEQUANTIZE" not in ops, ops  # the op itself runs in int8
    rng = np.random.RandomState(4)
    x = rng.randint(-128, 128, (16, 4, 5, 6)).astype(np.int8)
    x[0].flat[: 256 - 136] = np.arange(-128, -8)  # every int8 value appears
    x[1].flat[:120] = np.arange(-8, 112)
    x[2].flat[:16] = np.arange(112, 128)
    ours, ref = kfda.run(fb, [x]), lce_predict(fb, [x])
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref):
        assert o.dtype == np.int8
        np.testing.assert_array_equal(o, r)


def _reshape_to_squeeze(fb, squeeze_dims):
    """The converter writes tf.squeeze as RESHAPE; SQUEEZE (which TFLite and LCE run)
    comes from other converters. The same graph with its RESHAPE made a SQUEEZE."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(fb))
    (op,) = model.subgraphs[0].operators
    code = model.operatorCodes[op.opcodeIndex]
    assert code.builtinCode == schema.BuiltinOperator.RESHAPE
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.SQUEEZE
    op.inputs = op.inputs[:1]
    op.builtinOptionsType = schema.BuiltinOptions.SqueezeOptions
    op.builtinOptions = schema.SqueezeOptionsT()
    op.builtinOptions.squeezeDims = squeeze_dims
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


@pytest.mark.parametrize("int8", [False, True])
def test_squeeze(kfda, int8):
    x = L.Input((4, 1, 6))
    model = tf.keras.Model(x, tf.squeeze(x, axis=2))
    int8_kwargs = dict(experimental_default_int8_range=(-3.0, 3.0), **INT8_IO)
    fb = _reshape_to_squeeze(convert(model, **(int8_kwargs if int8 else {})), [2])
    assert kfda.plan(fb)["ops"] == {"SQUEEZE": 1}
    rng = np.random.RandomState(7)
    if int8:
        x = rng.randint(-128, 128, (4, 4, 1, 6)).astype(np.int8)
    else:
        x = rng.normal(0, 1, (4, 4, 1, 6)).astype(np.float32)
    ours, ref = kfda.run(fb, [x]), lce_predict(fb, [x])
    assert ours[0].shape == ref[0].shape == (4, 4, 6)
    np.testing.assert_array_equal(ours[0], ref[0])


def _conv_with_bias(**kwargs):
    def apply(x):
        layer = L.Conv2D(**kwargs)
        y = layer(x)
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel, np.random.RandomState(2).normal(0, 1, bias.shape)])
        return y

    return apply


def test_float_conv_is_the_interpreters_bit_for_bit(kfda):
    """Float CONV_2D is computed in the LCE interpreter's own order (the bias, then one
    fused multiply-add per tap): its outputs are the interpreter's, bit for bit. Biases
    non-zero; 3x3 same with stride 2 and relu, 1x1, dilated (the reference path), 4x3 valid."""
    tf.keras.utils.set_random_seed(0)
    x = L.Input((4, 5, 6))
    y = _conv_with_bias(filters=9, kernel_size=3, strides=2, padding="same", activation="relu")(x)
    y = _conv_with_bias(filters=5, kernel_size=1)(y)
    y = _conv_with_bias(filters=4, kernel_size=2, dilation_rate=2, padding="same")(y)
    z = _conv_with_bias(filters=7, kernel_size=(4, 3), padding="valid")(x)
    fb = convert(tf.keras.Model(x, [y, z]))
    assert "CONV_2D" in kfda.plan(fb)["ops"]
    data = float_inputs(np.random.RandomState(3))
    ours, ref = kfda.run(fb, [data]), lce_predict(fb, [data])
    assert len(ours) == len(ref) == 2
    for o, r in zip(ours, ref):
        np.testing.assert_array_equal(o, r)


def _dense_with_bias(units, **kwargs):
    def apply(x):
        layer = L.Dense(units, **kwargs)
        y = layer(x)
        if layer.use_bias:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, np.random.RandomState(units).normal(0, 1, bias.shape)])
        return y

    return apply


def test_float_fully_connected_is_the_interpreters_bit_for_bit(kfda):
    """Float FULLY_CONNECTED takes the LCE interpreter's two paths, each in its order:
    one input row with at least 4 units and 4 depth is TFLite's 4-lane float GEMV
    (depths 120, 7 and 6: no tail, tails of 3 and 2 values; 7, 6 and 4 units; relu fused);
    fewer units (3, no bias), fewer depth (3) or several rows (a Dense over the last axis
    of a 4-D tensor: 20 rows) are ruy's GEMM. Outputs equal the interpreter's, bit for bit."""
    tf.keras.utils.set_random_seed(0)
    x = L.Input((4, 5, 6))
    h = _dense_with_bias(7)(L.Flatten()(x))
    h = _dense_with_bias(6, activation="relu")(h)
    h = _dense_with_bias(3, use_bias=False)(_dense_with_bias(4)(h))
    y = _dense_with_bias(5)(h)
    rows = _dense_with_bias(9)(x)
    fb = convert(tf.keras.Model(x, [y, rows]))
    assert kfda.plan(fb)["ops"].get("FULLY_CONNECTED") == 6
    data = float_inputs(np.random.RandomState(3))
    ours, ref = kfda.run(fb, [data]), lce_predict(fb, [data])
    assert len(ours) == len(ref) == 2
    for o, r in zip(ours, ref):
        np.testing.assert_array_equal(o, r)


def test_float_conv_on_one_output_pixel_is_the_interpreters_bit_for_bit(kfda):
    """A float CONV_2D with one output pixel is a matrix x vector product, which the
    interpreter runs as TFLite's 4-lane float GEMV over the im2col row (padding taps as
    zeros), not ruy's GEMM (as QuickNet's 1x1 conv on its 1x1 map): a 4x5 valid conv (120
    taps x channels), a 1x1 conv (7: a tail of 3), a 3x3 same conv on the 1x1 map (9 taps,
    8 of them padding, x 5 channels: 45), a dilated one and one of 3 channels (ruy's)."""
    tf.keras.utils.set_random_seed(0)
    x = L.Input((4, 5, 6))
    ys = [_conv_with_bias(filters=7, kernel_size=(4, 5), padding="valid")(x)]
    ys.append(_conv_with_bias(filters=5, kernel_size=1, activation="relu")(ys[-1]))
    ys.append(_conv_with_bias(filters=6, kernel_size=3, padding="same")(ys[-1]))
    ys.append(_conv_with_bias(filters=4, kernel_size=2, dilation_rate=2, padding="same")(ys[-1]))
    ys.append(_conv_with_bias(filters=3, kernel_size=1)(ys[-1]))
    fb = convert(tf.keras.Model(x, ys[:1] + ys[2:]))  # the runtime takes 4 outputs at most
    assert kfda.plan(fb)["ops"] == {"CONV_2D": 5}
    data = float_inputs(np.random.RandomState(3))
    ours, ref = kfda.run(fb, [data]), lce_predict(fb, [data])
    assert len(ours) == len(ref) == 4
    for o, r in zip(ours, ref):
        np.testing.assert_array_equal(o, r)
