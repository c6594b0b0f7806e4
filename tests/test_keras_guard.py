"""Importing keras_fda binds Keras 2, or says clearly why it cannot."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )


def test_import_first_binds_keras_2_and_larq_works():
    result = run_python(
        "import os, keras_fda, larq, tensorflow as tf\n"
        "assert os.environ['TF_USE_LEGACY_KERAS'] == '1'\n"
        "print(tf.keras.layers.Layer.__module__)\n"
        "larq.layers.QuantConv2D(32, 3, input_quantizer='fda')\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().startswith("tf_keras.")


def test_keras_3_already_bound_gives_one_clear_error():
    result = run_python(
        "import tensorflow as tf\n"
        "tf.keras.layers.Dense\n"  # binds tf.keras to Keras 3
        "try:\n"
        "    import keras_fda\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("KerasFDAError keras_fda needs Keras 2 (tf-keras)")
    assert "TF_USE_LEGACY_KERAS=1" in result.stdout
