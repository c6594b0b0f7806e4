"""Load the model to export: a `.keras` archive, an `.h5` file or a SavedModel folder.

Everything that can go wrong here is the user's input, so every failure becomes one
`KerasFDAError` saying what the file is and what export expects.
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export.graph import is_tflite

import os
import zipfile

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
EXPECTED = "export takes the .keras file (or SavedModel folder) written by model.save()"


def _first_line(error):
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


def check_model_path(path):
    """Check that `path` looks like a Keras model before TensorFlow is asked to read it."""
    if not os.path.exists(path):
        raise KerasFDAError(f"no such file or folder: {path}")
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise KerasFDAError(
                f"{path} is a folder without saved_model.pb, so not a SavedModel; {EXPECTED}"
            )
        return "savedmodel"
    with open(path, "rb") as f:
        head = f.read(16)
    if is_tflite(head):
        raise KerasFDAError(
            f"{path} is a TFLite flatbuffer, already converted; {EXPECTED} "
            "(to look inside a .tflite use `keras-fda inspect`)"
        )
    if head.startswith(HDF5_MAGIC):
        return "h5"
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise KerasFDAError(
                f"{path} is a damaged zip archive ({_first_line(error)}); save the model again"
            )
        if bad is not None:
            raise KerasFDAError(
                f"{path} is a damaged zip archive ({bad} fails its CRC); save the model again"
            )
        if "config.json" not in names:
            raise KerasFDAError(
                f"{path} is a zip archive without config.json, so not a .keras model; {EXPECTED}"
            )
        return "keras"
    raise KerasFDAError(
        f"{path} is not a Keras model (neither a .keras zip archive, an HDF5 "
        f"file nor a SavedModel); {EXPECTED}"
    )


def load_model(path):
    """The Keras model at `path`, with keras_fda's and Larq's objects registered."""
    kind = check_model_path(path)
    import keras_fda  # noqa: F401  (registers the keras_fda quantizers)

    import larq  # noqa: F401  (registers Larq's layers and quantizers)
    import tensorflow as tf

    try:
        model = tf.keras.models.load_model(path, compile=False)
    except Exception as error:
        raise KerasFDAError(
            f"could not load {path} as a Keras model ({_first_line(error)}); "
            "is it a model saved by keras_fda/Larq with this version?"
        )
    if not isinstance(model, tf.keras.Model) or not hasattr(model, "inputs"):
        raise KerasFDAError(
            f"{path} ({kind}) loads as {type(model).__name__}, not a Keras model; {EXPECTED}"
        )
    if not model.inputs or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise KerasFDAError(
            f"{path}: export supports models with one input and one output, "
            f"this one has {len(model.inputs or [])} and "
            f"{len(model.outputs or [])}"
        )
    shape = model.inputs[0].shape.as_list()
    if None in shape[1:]:
        raise KerasFDAError(
            f"{path}: the input shape {shape} has unknown dimensions; build "
            "the model with a fixed input size, e.g. Input((28, 28, 1))"
        )
    from keras_fda.training import float32_copy

    return float32_copy(model)  # trained with mixed precision: deployed in float32
