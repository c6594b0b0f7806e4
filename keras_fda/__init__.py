"""keras-fda: train binary neural networks with better gradient estimators, deploy to Arm.

`import keras_fda` binds `tf.keras` to Keras 2 (tf-keras, needed by Larq and the LCE
converter) and registers the quantizer aliases `"fda"`, `"ede"`, `"reste"`, `"fda_approx_sign"`
and `"noise_adapted"` so Larq layers accept them by name.
"""

from keras_fda._keras2 import bind_keras2

bind_keras2()

from keras_fda import callbacks, models, quantizers  # noqa: E402  (after binding Keras 2)
from keras_fda.errors import KerasFDAError  # noqa: E402
from keras_fda.noise import NoiseAdaptation  # noqa: E402

__version__ = "0.1.0"

__all__ = ["callbacks", "models", "quantizers", "KerasFDAError", "NoiseAdaptation", "__version__"]
