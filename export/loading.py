"""Load the model to export: a `.keras` archive, an `.h5` file or a SavedModel folder.

Everything that can go wrong here is the user's input, so every failure becomes one
`KerasFDAError` saying what the file is and what export expects.
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export.graph import is_tflite

import os
import re
import sys
import zipfile

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
EXPECTED = (
    "export takes a tf.keras Model, or the .keras file (or SavedModel folder) written by "
    "model.save()"
)


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


def import_custom_objects(modules):
    """Import each of `modules` (a module name, or a .py file) for the Keras objects it
    registers: custom layers, quantizers, initializers (`--custom-objects`)."""
    import importlib
    import importlib.util

    for name in modules or ():
        try:
            if name.endswith(".py"):
                if not os.path.isfile(name):
                    raise KerasFDAError(f"--custom-objects {name}: no such file")
                module_name = os.path.splitext(os.path.basename(name))[0]
                spec = importlib.util.spec_from_file_location(module_name, name)
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(name)
        except KerasFDAError:
            raise
        except Exception as error:
            raise KerasFDAError(
                f"--custom-objects {name}: importing it failed ({type(error).__name__}: "
                f"{_first_line(error)}); give an importable module name (on PYTHONPATH) "
                "or the path of a .py file"
            )


def _saved_config(path, kind):
    """The model's saved configuration as text, without TensorFlow ('' if unreadable)."""
    try:
        if kind == "keras":
            with zipfile.ZipFile(path) as archive:
                return archive.read("config.json").decode("utf-8", "replace")
        if kind == "h5":
            import h5py

            with h5py.File(path, "r") as f:
                config = f.attrs.get("model_config", "")
                return config.decode("utf-8", "replace") if isinstance(config, bytes) else config
        metadata = os.path.join(path, "keras_metadata.pb")
        if os.path.isfile(metadata):
            with open(metadata, "rb") as f:
                return f.read().decode("utf-8", "replace")
    except Exception:
        pass  # the load itself reports a damaged file
    return ""


def lambda_layers(config_text):
    """Names of the Keras `Lambda` layers in a saved model configuration."""
    names = []
    for match in re.finditer(r'"class_name":\s*"Lambda"', config_text):
        after = config_text[match.end() : match.end() + 2000]
        name = re.search(r'"name":\s*"([^"]+)"', after)
        names.append(name.group(1) if name else "?")
    return names


_UNKNOWN_OBJECT = (
    re.compile(r"Cannot deserialize object of type `([^`]+)`"),
    re.compile(r"Unknown [a-z ]+: '?([A-Za-z0-9_>.]+)'?"),
    re.compile(r"Could not locate (?:class|function) '([^']+)'"),
)


def _load_error(path, error):
    """The one-line `KerasFDAError` for a failed `tf.keras.models.load_model`."""
    text = str(error)
    if "deserialization of a Lambda layer" in text:
        return KerasFDAError(
            f"{path} has a Lambda layer (Python code Keras runs only in unsafe mode); "
            "if you trust the file, pass --unsafe-lambda"
        )
    for pattern in _UNKNOWN_OBJECT:
        found = pattern.search(text)
        if found:
            return KerasFDAError(
                f"could not load {path}: unknown object '{found.group(1)}'; pass "
                "--custom-objects MODULE (the module or .py file that defines and registers "
                "it; Larq Zoo models: --custom-objects larq_zoo)"
            )
    return KerasFDAError(
        f"could not load {path} as a Keras model ({type(error).__name__}: "
        f"{_first_line(error)}); is it a model saved by keras_fda/Larq with this version?"
    )


def load_model(path, custom_objects=(), unsafe_lambda=False):
    """The Keras model at `path`, with keras_fda's and Larq's objects registered, and the
    modules `custom_objects` imported first. Lambda layers load only with
    `unsafe_lambda` (Keras' `safe_mode=False`): their code runs when the file loads."""
    kind = check_model_path(path)
    import keras_fda  # noqa: F401  (registers the keras_fda quantizers)

    import larq  # noqa: F401  (registers Larq's layers and quantizers)
    import tensorflow as tf

    import_custom_objects(custom_objects)
    lambdas = lambda_layers(_saved_config(path, kind))
    if lambdas and not unsafe_lambda:
        raise KerasFDAError(
            f"{path} has Lambda layer{'s' if len(lambdas) > 1 else ''} "
            f"{', '.join(repr(n) for n in lambdas)}: loading runs their Python code; if you "
            "trust the file, pass --unsafe-lambda"
        )
    options = {"safe_mode": False} if unsafe_lambda and kind == "keras" else {}
    try:
        model = tf.keras.models.load_model(path, compile=False, **options)
    except KerasFDAError:
        raise
    except Exception as error:
        raise _load_error(path, error)
    return check_model(model, f"{path} ({kind})")


def check_model(model, what="the model"):
    """`model` (loaded, or handed to `export_model` as an object) checked for what export
    supports, as float32."""
    import tensorflow as tf

    if not isinstance(model, tf.keras.Model) or not hasattr(model, "inputs"):
        hint = ""
        if type(model).__module__.startswith("keras"):
            hint = (
                " (a Keras 3 model? keras_fda, Larq and LCE use tf.keras = Keras 2: "
                "import keras_fda before building it)"
            )
        raise KerasFDAError(
            f"{what} is a {type(model).__name__}, not a tf.keras Model{hint}; {EXPECTED}"
        )
    if not model.inputs or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise KerasFDAError(
            f"{what}: export supports models with one input and one output, "
            f"this one has {len(model.inputs or [])} and "
            f"{len(model.outputs or [])}"
        )
    shape = model.inputs[0].shape.as_list()
    if None in shape[1:]:
        raise KerasFDAError(
            f"{what}: the input shape {shape} has unknown dimensions; build "
            "the model with a fixed input size, e.g. Input((28, 28, 1))"
        )
    from keras_fda.training import float32_copy

    return float32_copy(model)  # trained with mixed precision: deployed in float32
