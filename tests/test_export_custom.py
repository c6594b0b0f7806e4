"""What Larq users hand to export: a model object, models with custom objects
(`--custom-objects`), models with Lambda layers (`--unsafe-lambda`), each with its
one-line error when the flag is missing."""

from keras_fda.cli import main
from keras_fda.export import export_model

import json
import os
import textwrap

import export_models
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from larq_compute_engine.tflite.python.interpreter import Interpreter
from test_export_errors import assert_one_line_error

# A module of the kind a user's project has: it registers a custom initializer and a
# custom layer with Keras. Unique names, so nothing else in the test run registers them.
CUSTOM_MODULE = textwrap.dedent(
    """
    import tensorflow as tf

    @tf.keras.utils.register_keras_serializable(package="kfda_test_zoo")
    class BlurInitializer(tf.keras.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return tf.random.stateless_normal(shape, seed=(1, 2), dtype=dtype) * 0.1

        def get_config(self):
            return {}

    @tf.keras.utils.register_keras_serializable(package="kfda_test_zoo")
    class TimesTwo(tf.keras.layers.Layer):
        def call(self, x):
            return x * 2.0
    """
)


def _unregister(package):
    registry = tf.keras.utils.get_custom_objects()
    for name in [n for n in registry if n.startswith(package + ">")]:
        del registry[name]


def _binary_head(x):
    import larq as lq

    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, **export_models.BINARY)(x)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.layers.Dense(10)(x)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("custom")
    module_path = folder / "kfda_test_zoo.py"
    module_path.write_text(CUSTOM_MODULE)
    namespace = {}
    exec(compile(CUSTOM_MODULE, str(module_path), "exec"), namespace)
    inp = tf.keras.Input((12, 12, 1))
    x = tf.keras.layers.Conv2D(
        32, 3, padding="same", kernel_initializer=namespace["BlurInitializer"](), name="stem"
    )(inp)
    x = namespace["TimesTwo"](name="times_two")(x)
    tf.keras.Model(inp, _binary_head(x)).save(str(folder / "custom.keras"))
    _unregister("kfda_test_zoo")  # as in a fresh process that did not import the module

    inp = tf.keras.Input((12, 12, 1))
    x = tf.keras.layers.Conv2D(32, 3, padding="same", name="stem")(inp)
    x = tf.keras.layers.Lambda(lambda t: t * 2.0, name="double_it")(x)
    lambda_model = tf.keras.Model(inp, _binary_head(x))
    lambda_model.save(str(folder / "lambda.keras"))
    lambda_model.save(str(folder / "lambda.h5"))
    return {
        "module": str(module_path),
        "custom": str(folder / "custom.keras"),
        "lambda": str(folder / "lambda.keras"),
        "lambda_h5": str(folder / "lambda.h5"),
    }


def run(args):
    return CliRunner().invoke(main, args)


def _exports(result, out):
    assert result.exit_code == 0, result.output
    with open(os.path.join(out, "manifest.json")) as f:
        assert json.load(f)["verification"]["max_abs_diff"] <= 1e-4


def test_unknown_custom_object_names_it_and_the_flag(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(["export", files["custom"], "--target", "cortex-m", "-o", out])
    assert_one_line_error(result, out, ["unknown object", "BlurInitializer", "--custom-objects"])


def test_custom_objects_from_a_file(files, tmp_path):
    out = str(tmp_path / "out")
    args = ["export", files["custom"], "--target", "cortex-m", "-o", out]
    try:
        _exports(run([*args, "--custom-objects", files["module"]]), out)
    finally:
        _unregister("kfda_test_zoo")


def test_custom_objects_module_that_does_not_import(files, tmp_path):
    out = str(tmp_path / "out")
    result = run(
        ["export", files["custom"], "--target", "cortex-m", "-o", out]
        + ["--custom-objects", "kfda_no_such_module"]
    )
    assert_one_line_error(result, out, ["--custom-objects kfda_no_such_module", "importing"])


@pytest.mark.parametrize("kind", ["lambda", "lambda_h5"])
def test_lambda_needs_the_flag(files, tmp_path, kind):
    out = str(tmp_path / "out")
    result = run(["export", files[kind], "--target", "cortex-m", "-o", out])
    assert_one_line_error(result, out, ["'double_it'", "--unsafe-lambda"])


def test_lambda_with_the_flag(files, tmp_path):
    out = str(tmp_path / "out")
    _exports(
        run(["export", files["lambda"], "--target", "cortex-m", "-o", out, "--unsafe-lambda"]),
        out,
    )
    # the converter folds the Lambda's x * 2 into the stem's weights; verification held
    # the flatbuffer to Keras running the Lambda
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["ops"]["LceBconv2d"] == 1


def test_model_object(tmp_path):
    """`export_model` takes the model in hand, as LCE's `convert_keras_model` does: the
    package's flatbuffer computes what the model computes (LCE interpreter vs Keras)."""
    model = export_models.small_bnn(input_shape=(16, 16, 1))
    manifest = export_model(model, "arm64", str(tmp_path / "out"), log=lambda *_: None)
    assert manifest["model"] == model.name
    x = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 1)).astype(np.float32)
    lce = Interpreter((tmp_path / "out" / "model.tflite").read_bytes()).predict(x)
    np.testing.assert_allclose(lce, model.predict(x, verbose=0), atol=1e-4)


def test_not_a_keras_model(tmp_path):
    out = str(tmp_path / "out")
    from keras_fda.errors import KerasFDAError

    with pytest.raises(KerasFDAError, match="is a dict, not a tf.keras Model"):
        export_model({"layers": []}, "arm64", out, log=lambda *_: None)
    assert not os.path.exists(out)
