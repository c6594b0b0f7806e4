"""Convert a Keras model with the Larq Compute Engine converter."""

from keras_fda.errors import KerasFDAError
from keras_fda.export.progress import quiet_tensorflow


def convert(model, target, int8=False):
    """The LCE flatbuffer of `model` for `target` (a `platforms.Target`).

    With `int8`, the model must hold FakeQuant ops (see `keras_fda.export.int8`) and the
    flatbuffer takes and returns int8 tensors.
    """
    import tensorflow as tf
    from larq_compute_engine import convert_keras_model

    io_type = tf.int8 if int8 else tf.float32
    try:
        with quiet_tensorflow():
            flatbuffer = convert_keras_model(
                model,
                inference_input_type=io_type,
                inference_output_type=io_type,
                target=target.converter_target,
            )
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise KerasFDAError(
            f"the LCE converter could not convert the model ({first}); "
            "check that every layer is a Keras/Larq layer TFLite supports"
        )
    return bytes(flatbuffer)
