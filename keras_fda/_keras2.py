"""Bind TensorFlow's `tf.keras` to Keras 2 (tf-keras) before anything else touches it.

Larq and the Larq Compute Engine converter need Keras 2. TensorFlow 2.16 resolves
`tf.keras` lazily, on first attribute access, from the `TF_USE_LEGACY_KERAS`
environment variable; so setting it here works as long as nobody has used
`tf.keras` yet. If Keras 3 is already bound we stop with one clear error rather
than fail later inside Larq with an unrelated traceback.
"""

from keras_fda.errors import KerasFDAError

import os
import sys

_HOW_TO_FIX = (
    "import keras_fda (or larq) before using tf.keras, or set the environment variable "
    "TF_USE_LEGACY_KERAS=1 before TensorFlow is first imported"
)


def bind_keras2():
    """Make sure `tf.keras` is tf-keras (Keras 2); raise `KerasFDAError` if it cannot be."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    if "tensorflow" not in sys.modules:
        # TensorFlow's C++ start-up notices (oneDNN, missing CUDA on a CPU machine) bury
        # the output people came for; the keras-fda command hides its error lines too.
        quiet = "3" if os.path.basename(sys.argv[0] if sys.argv else "") == "keras-fda" else "2"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", quiet)
    import tensorflow as tf

    bound_to = tf.keras.layers.Layer.__module__.split(".")[0]
    if bound_to != "tf_keras":
        raise KerasFDAError(
            f"keras_fda needs Keras 2 (tf-keras), but tf.keras is already bound to "
            f"'{bound_to}' (Keras 3): {_HOW_TO_FIX}."
        )
    return tf
