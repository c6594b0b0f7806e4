"""The Larq Zoo 2.4 architectures as tests/test_zoo.py and benchmarks/zoo.py build them:
random weights (nothing downloaded), 10 classes, small inputs, softmax cut off."""

# name: (module, input side). The smallest side each builds at (the deep ones pool down).
ARCHITECTURES = {
    "QuickNetSmall": ("sota", 32),
    "QuickNet": ("sota", 32),
    "QuickNetLarge": ("sota", 32),
    "BiRealNet": ("literature", 64),
    "BinaryResNetE18": ("literature", 32),
    "BinaryDenseNet28": ("literature", 32),
    "BinaryDenseNet37": ("literature", 32),
    "BinaryDenseNet37Dilated": ("literature", 32),
    "BinaryDenseNet45": ("literature", 32),
    "MeliusNet22": ("literature", 32),
    "RealToBinaryNet": ("literature", 32),
    "BinaryAlexNet": ("literature", 64),
    "DoReFaNet": ("literature", 64),
    "XNORNet": ("literature", 224),  # its 6x6 valid conv needs a 6x6 map: 220+ input
}
CORTEX_M_BOARD = "mps2-an500"  # Cortex-M7, 4 MiB flash, 4 MiB RAM: the registry's largest
LINUX_TARGETS = ["arm64", "armv7"]
RECORDS = 2


def build(name):
    """The architecture with seeded random weights, ending in its logits: the zoo's final
    softmax is cut off (near one-hot probabilities would hide differences)."""
    import larq_zoo
    import tensorflow as tf

    module, side = ARCHITECTURES[name]
    tf.keras.utils.set_random_seed(0)
    model = getattr(getattr(larq_zoo, module), name)(
        input_shape=(side, side, 3), weights=None, num_classes=10
    )
    last = model.layers[-1]
    if (
        isinstance(last, tf.keras.layers.Activation)
        and last.get_config()["activation"] == "softmax"
    ):
        model = tf.keras.Model(model.inputs, last.input, name=model.name)  # the logits
    return model


def export_quietly(model, folder, target, **kwargs):
    """export_model for the zoo: the oracle is the LCE interpreter on the same flatbuffer,
    so export's Keras check is off (random weights flip signs at float rounding)."""
    from keras_fda.export import export_model

    return export_model(
        model,
        target,
        folder,
        log=lambda *_: None,
        unsafe_lambda=True,
        num_verify=4,
        tolerance=float("inf"),
        min_top1=0.0,
        max_relative_error=float("inf"),
        **kwargs,
    )


def export_once(name, work):
    """(package folder, why the board was refused or None): `name` exported for the
    Cortex-M board, or for arm64 when its real memory is too small (the reason kept in
    NAME.refused), into work/NAME; a folder already there is reused. Other export
    errors (unsupported ops, a refused model) are raised."""
    from keras_fda.errors import KerasFDAError

    import os

    folder = os.path.join(work, name)
    refused = os.path.join(work, name + ".refused")
    if os.path.exists(os.path.join(folder, "manifest.json")):
        if os.path.exists(refused):
            with open(refused) as f:
                return folder, f.read()
        return folder, None
    model = build(name)
    try:
        export_quietly(model, folder, "cortex-m", board=CORTEX_M_BOARD)
        return folder, None
    except KerasFDAError as error:
        if "too large for" not in str(error):
            raise
        export_quietly(model, folder, "arm64")
        with open(refused, "w") as f:
            f.write(str(error))
        return folder, str(error)


def inputs(shape):
    import numpy as np

    return np.random.default_rng(1).uniform(-1, 1, (RECORDS, *shape)).astype(np.float32)


def lce_outputs(folder, x):
    import os

    import numpy as np
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        return np.asarray(Interpreter(f.read(), num_threads=1).predict(x))


def max_rel_diff(got, want):
    import numpy as np

    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))
