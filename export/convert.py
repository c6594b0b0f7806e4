"""Convert a Keras model with the Larq Compute Engine converter."""

from keras_fda.errors import KerasFDAError
from keras_fda.export.progress import quiet_tensorflow

import contextlib
import os
import sys
import tempfile


def convert(model, target, int8=False):
    """The LCE flatbuffer of `model` for `target` (a `platforms.Target`).

    With `int8`, the model must hold FakeQuant ops (see `keras_fda.export.int8`) and the
    flatbuffer takes and returns int8 tensors.
    """
    import tensorflow as tf
    from larq_compute_engine import convert_keras_model

    io_type = tf.int8 if int8 else tf.float32
    with native_stderr_captured() as captured:
        try:
            with quiet_tensorflow():
                flatbuffer = convert_keras_model(
                    model,
                    inference_input_type=io_type,
                    inference_output_type=io_type,
                    target=target.converter_target,
                )
        except Exception as error:
            failure = error
        else:
            failure = None
    if failure is not None:
        if os.environ.get("KERAS_FDA_DEBUG"):
            sys.stderr.write("".join(captured))
        first = (str(failure).strip().splitlines() or [type(failure).__name__])[0][:300]
        raise KerasFDAError(
            f"the LCE converter could not convert the model ({first}); "
            "check that every layer is a Keras/Larq layer TFLite supports"
            + ("" if os.environ.get("KERAS_FDA_DEBUG") else " (KERAS_FDA_DEBUG=1 shows its log)")
        )
    return bytes(flatbuffer)


@contextlib.contextmanager
def native_stderr_captured():
    """The process's file descriptor 2 into a temporary file while the block runs: the
    converter's MLIR diagnostics are written there by C++, past Python's sys.stderr.
    Yields a list that holds what was written once the block is over."""
    captured = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            captured.append(log.read().decode("utf-8", "replace"))
