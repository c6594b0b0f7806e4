"""Export's default verification (export/verify.py) on untrained models: every model of
keras_fda.models, freshly built, exports with default options, float and int8, although
its random weights put many binarization inputs within rounding of 0 (sign ties). And a
genuinely wrong flatbuffer (weights changed before conversion, so LCE computes another
model than Keras) still fails verification, float and int8."""

import keras_fda  # noqa: F401  (binds Keras 2 before TensorFlow/Larq load)
from keras_fda import models
from keras_fda.errors import KerasFDAError
from keras_fda.export import convert as convert_module
from keras_fda.export.pipeline import export_model

import numpy as np
import pytest
import tensorflow as tf

# the MCU models at their default sizes; small_bnn at the same 28x28 input
MODELS = ["small_bnn", "stm32f4_bnn", "microbit_bnn"]


def _build(name, seed=0):
    tf.keras.utils.set_random_seed(seed)  # a fixed untrained model: the test is stable
    return getattr(models, name)("fda")


def _calibration(model, path):
    shape = tuple(model.inputs[0].shape[1:])
    data = np.random.default_rng(1).uniform(-1, 1, (32,) + shape).astype(np.float32)
    np.save(path, data)
    return str(path)


def _export(model, tmp_path, int8):
    options = {"int8": True, "calibration": _calibration(model, tmp_path / "c.npy")} if int8 else {}
    return export_model(model, "arm64", str(tmp_path / "out"), log=lambda *a: None, **options)


@pytest.mark.parametrize("int8", [False, True], ids=["float", "int8"])
@pytest.mark.parametrize("name", MODELS)
def test_untrained_model_exports_by_default(name, int8, tmp_path):
    figures = _export(_build(name), tmp_path, int8)["verification"]
    assert figures["inputs_unexplained"] == 0
    assert figures["inputs_strict"] >= figures["min_strict"] * figures["inputs"]
    # the ties are real: an untrained BNN's binary conv sums are often exactly 0
    assert figures["sign_ties_per_input"] > 0


def _scaled_kernel(layer_name, factor):
    """convert() on the model with one layer's kernel scaled, then restored: LCE gets a
    model whose weights differ from the Keras model's."""
    real = convert_module.convert

    def wrong_convert(model, target, int8=False):
        layer = model.get_layer(layer_name)
        weights = layer.get_weights()
        layer.set_weights([weights[0] * factor] + weights[1:])
        try:
            return real(model, target, int8=int8)
        finally:
            layer.set_weights(weights)

    return wrong_convert


@pytest.mark.parametrize("int8", [False, True], ids=["float", "int8"])
def test_wrong_flatbuffer_fails_verification(int8, tmp_path, monkeypatch):
    model = _build("small_bnn")
    # the last binary conv's kernel negated (a Larq layer: the same name in the int8
    # quantization-aware model): every input moves far beyond the tolerance, more than
    # sign ties may explain
    monkeypatch.setattr(convert_module, "convert", _scaled_kernel("stage2_block1_conv", -1.0))
    with pytest.raises(KerasFDAError, match="verification failed"):
        _export(model, tmp_path, int8)
    assert not (tmp_path / "out").exists()
