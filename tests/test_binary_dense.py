"""Binary QuantDense as packed ops (export/rewrite.py): a binary MLP of Fashion-MNIST's
shape exports with LceBconv2d instead of float FULLY_CONNECTED, its weights 1 bit per
value, and runs on every target (x86 host, arm64, Cortex-M7) within 1e-5 of the LCE
interpreter running that flatbuffer and within tolerance of Keras running the user's
(unrewritten) model. And the size sanity warning of export/sizes.py."""

import keras_fda  # noqa: F401  (Keras 2 first)
from keras_fda.export import export_model, runner, sizes
from keras_fda.export.graph import read_graph
from keras_fda.export.rewrite import binary_dense_as_conv

import json
import os

import helpers
import larq as lq
import larq_compute_engine as lce
import numpy as np
import pytest
import tensorflow as tf
from larq_compute_engine.tflite.python.interpreter import Interpreter

BINARY = dict(
    input_quantizer="ste_sign", kernel_quantizer="ste_sign", kernel_constraint="weight_clip"
)


def _randomize_batch_norms(model, seed):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 2.0, gamma.shape) * rng.choice([-1, 1], gamma.shape),
                    rng.normal(0, 1, beta.shape),
                    rng.normal(0, 5, mean.shape),
                    rng.uniform(10, 50, var.shape),
                ]
            )


def binary_mlp():
    """Flatten -> binary QuantDense 256 -> BN -> binary QuantDense 10 -> BN, with biases
    and batch norm statistics drawn away from their defaults."""
    tf.keras.utils.set_random_seed(5)
    inp = tf.keras.Input((28, 28, 1))
    x = tf.keras.layers.Flatten()(inp)
    x = lq.layers.QuantDense(256, use_bias=False, name="dense_256", **BINARY)(x)
    x = tf.keras.layers.BatchNormalization(name="bn_256")(x)
    x = lq.layers.QuantDense(10, name="dense_10", **BINARY)(x)
    out = tf.keras.layers.BatchNormalization(name="bn_10")(x)
    model = tf.keras.Model(inp, out, name="binary_mlp")
    _randomize_batch_norms(model, 6)
    bias = model.get_layer("dense_10").bias
    bias.assign(np.random.default_rng(7).normal(0, 3, bias.shape))
    return model


@pytest.fixture(scope="module")
def mlp():
    return binary_mlp()


@pytest.fixture(scope="module")
def inputs():
    # Fashion-MNIST-like pixels in [-1, 1]; none at 0, where Keras and LCE could tie
    x = np.random.default_rng(8).uniform(-1, 1, (6, 28, 28, 1)).astype(np.float32)
    x[np.abs(x) < 1e-3] = 0.5
    return x


@pytest.fixture(scope="module")
def package(mlp, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("binary_dense") / "pkg")
    export_model(mlp, "cortex-m", folder, board="mps2-an500", log=lambda *_: None)
    with open(os.path.join(folder, "manifest.json")) as f:
        return folder, json.load(f)


def test_rewrite_computes_what_the_model_computes(mlp, inputs):
    rewritten, names = binary_dense_as_conv(mlp)
    assert names == ["dense_256", "dense_10"]
    helpers.assert_close_to_scale(
        rewritten.predict(inputs, verbose=0), mlp.predict(inputs, verbose=0)
    )


def test_binary_dense_becomes_bconv_with_one_bit_weights(mlp, package):
    _, manifest = package
    assert manifest["ops"].get("LceBconv2d") == 2
    assert "FULLY_CONNECTED" not in manifest["ops"]
    before = read_graph(lce.convert_keras_model(mlp, target="arm")).weight_bytes()
    # 784x256 + 256x10 binary values need 25,408 bytes as bits; the float dense had 4x8x
    assert before >= 4 * (784 * 256 + 256 * 10)
    assert manifest["weight_bytes"] < (784 * 256 + 256 * 10) // 8 + 16 * 1024
    print(
        f"binary MLP weight bytes: {before:,} as FULLY_CONNECTED, {manifest['weight_bytes']:,} packed"
    )


@pytest.mark.parametrize("board", ["native", "arm64", "mps2-an500"])
def test_binary_mlp_runs_on_every_target(mlp, package, inputs, board):
    folder, _ = package
    got, _ = runner.run_package(folder, inputs, board=board, count_instructions=False)
    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        lce_out = Interpreter(f.read(), num_threads=1).predict(inputs)
    scale = np.maximum(1.0, np.abs(lce_out))
    assert float(np.max(np.abs(got - lce_out) / scale)) <= 1e-5
    helpers.assert_close_to_scale(got, mlp.predict(inputs, verbose=0), 1e-4)


def test_dense_that_is_not_binary_is_left_alone():
    inp = tf.keras.Input((16,))
    x = lq.layers.QuantDense(8, input_quantizer="ste_sign", name="float_kernel")(inp)
    x = lq.layers.QuantDense(8, **BINARY, name="binary")(x)
    seq = tf.keras.Input((4, 16))  # a dense over the last axis of a 3-D input
    y = lq.layers.QuantDense(8, **BINARY, name="on_3d")(seq)
    _, names = binary_dense_as_conv(tf.keras.Model(inp, x))
    assert names == ["binary"]
    model3d = tf.keras.Model(seq, y)
    assert binary_dense_as_conv(model3d) == (model3d, [])


def test_size_warning_names_the_largest_constant():
    """A float 4x4096 table the model multiplies by at run time: 64 KiB in the
    flatbuffer for a model whose weights need 80 bytes."""
    table = tf.constant(np.random.default_rng(0).normal(size=(4, 4096)).astype(np.float32))
    inp = tf.keras.Input((4,))
    x = tf.keras.layers.Dense(4, name="small")(inp)
    out = tf.keras.layers.Lambda(lambda t: tf.matmul(t, table), name="table")(x)
    model = tf.keras.Model(inp, out)
    graph = read_graph(lce.convert_keras_model(model, target="arm"))
    needed = sizes.weight_bytes_needed(model)
    assert needed == 4 * (4 * 4 + 4)
    warning = sizes.oversize_warning(graph, needed)
    assert warning is not None
    largest = warning[warning.index("largest: ") :]
    assert "float32, 65,536 bytes" in largest.split("), ")[0]  # named first


def test_no_size_warning_for_packed_weights(mlp, package):
    folder, manifest = package
    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        graph = read_graph(f.read())
    needed = sizes.weight_bytes_needed(mlp)
    # 1 bit per binary kernel value, 4 bytes per bias and batch norm value
    assert needed == (784 * 256 + 256 * 10) // 8 + 4 * (10 + 4 * 256 + 4 * 10)
    assert sizes.oversize_warning(graph, needed) is None


@lq.utils.set_precision(1)
def _scaled_sign(w):
    """XNOR-Net's weights: sign times the mean magnitude of each output channel's kernel."""
    return tf.reduce_mean(tf.abs(w), axis=[0, 1, 2]) * lq.quantizers.ste_sign(w)


def test_large_kernel_quantizer_is_folded_exactly(monkeypatch):
    """The converter leaves the quantizer of a kernel over 128 MiB as float ops on a float
    kernel (LCE #744, XNORNet); the fold hands it the quantized constant instead. Here
    with the threshold lowered to this small kernel: the same outputs as Keras runs, and
    one LceBconv2d with no quantizer ops left."""
    from keras_fda.export import rewrite

    x = tf.keras.Input((6, 6, 16))
    conv = lq.layers.QuantConv2D(
        32, 3, input_quantizer="ste_sign", kernel_quantizer=_scaled_sign, use_bias=False
    )
    model = tf.keras.Model(x, tf.keras.layers.BatchNormalization()(conv(x)))
    _randomize_batch_norms(model, seed=3)
    monkeypatch.setattr(rewrite, "FOLD_KERNELS_FROM_BYTES", 4 * 3 * 3 * 16 * 32)
    folded, names = rewrite.fold_large_kernel_quantizers(model)
    assert names == [conv.name]
    data = np.random.default_rng(5).normal(0, 1, (8, 6, 6, 16)).astype(np.float32)
    np.testing.assert_array_equal(folded(data).numpy(), model(data).numpy())
    ops = helpers.tflite_op_counts(lce.convert_keras_model(folded))
    assert ops.get("LceBconv2d") == 1 and not {"ABS", "MEAN", "CONV_2D"} & set(ops), ops
