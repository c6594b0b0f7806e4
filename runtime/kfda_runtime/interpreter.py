"""`Interpreter`: the keras-fda C runtime behind the API of Larq Compute Engine's
`larq_compute_engine.tflite.python.interpreter.Interpreter`, so code written for LCE
ports by changing its import."""

import ctypes
import os
import threading
import weakref
from collections.abc import Iterator

import numpy as np

from kfda_runtime._library import ERROR_LEN, MAX_DIMS, MAX_THREADS, lib

# kfda_type values (TFLite's TensorType) -> numpy dtypes.
_DTYPES = {
    0: np.float32,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    6: np.bool_,
    7: np.int16,
    9: np.int8,
}
_QUANTIZED = (np.int8, np.uint8)


class _Tensor:
    """One model input or output as the runtime describes it."""

    def __init__(self, kind, index, dtype, shape, nbytes, scale, zero_point):
        self.name = f"{kind} {index}"
        self.dtype = np.dtype(dtype)
        self.shape = shape
        # One sample per invoke: samples stack along a new first axis, which replaces
        # the model's batch dimension of 1 (as LCE's predict does).
        self.sample_shape = shape[1:] if shape and shape[0] == 1 else shape
        quantized = dtype in _QUANTIZED
        self.scale = scale if quantized else None
        self.zero_point = zero_point if quantized else None
        if int(np.prod(self.sample_shape, dtype=np.int64)) * self.dtype.itemsize != nbytes:
            raise ValueError(
                f"the model's {self.name} has shape {shape} of {self.dtype.name} "
                f"but {nbytes} bytes of data"
            )
        self.nbytes = nbytes

    def expected(self):
        return (
            f"shape (N, {', '.join(map(str, self.sample_shape))}) of {self.dtype.name}"
            if self.sample_shape
            else f"shape (N,) of {self.dtype.name}"
        )


def _read_model(flatbuffer_model):
    if isinstance(flatbuffer_model, (bytes, bytearray, memoryview)):
        return bytes(flatbuffer_model)
    if isinstance(flatbuffer_model, (str, os.PathLike)):
        try:
            with open(flatbuffer_model, "rb") as f:
                return f.read()
        except OSError as error:
            raise ValueError(
                f"cannot read the model file {os.fspath(flatbuffer_model)}: {error.strerror}"
            ) from None
    raise TypeError(
        "flatbuffer_model must be the model's bytes or the path of a .tflite "
        f"file, not {type(flatbuffer_model).__name__}"
    )


class Interpreter:
    """Runs a TFLite flatbuffer written by the LCE converter (`keras-fda export`'s
    `model.tflite`) with the keras-fda C runtime.

    # Arguments
        flatbuffer_model: the model's bytes (like LCE's Interpreter), or a path to it.
        num_threads: threads for the binary convolutions and convolutions (LceBconv2d,
            CONV_2D, DEPTHWISE_CONV_2D, LceQuantize, ADD and MUL split their output rows
            over them), an int >= 1.
            The outputs are the same, bit for bit, for any count. Values above the
            runtime's limit (KFDA_MAX_THREADS, 8) run on that many; the `num_threads`
            attribute says how many run.

    # Attributes
        input_types, output_types: lists of numpy dtypes.
        input_shapes, output_shapes: lists of tuples, with the model's batch dimension.
        input_scales, input_zero_points, output_scales, output_zero_points: per-tensor
            quantization of int8/uint8 tensors, None for the others.

    One Interpreter runs one batch at a time (calls from several threads wait for each
    other); create one per thread to run in parallel.
    """

    def __init__(self, flatbuffer_model, num_threads=1):
        if (
            isinstance(num_threads, bool)
            or not isinstance(num_threads, (int, np.integer))
            or num_threads < 1
        ):
            raise ValueError(f"num_threads must be an integer >= 1, not {num_threads!r}")
        self.num_threads = min(int(num_threads), MAX_THREADS)
        model = _read_model(flatbuffer_model)
        error = ctypes.create_string_buffer(ERROR_LEN)
        session = lib.kfdart_open(model, len(model), self.num_threads, error, ERROR_LEN)
        if not session:
            raise ValueError(
                f"the keras-fda runtime cannot load this model: "
                f"{error.value.decode(errors='replace')}"
            )
        self._session = session
        self._close = weakref.finalize(self, lib.kfdart_close, session)
        self._lock = threading.Lock()
        self._inputs = [self._describe(0, i) for i in range(lib.kfdart_num_inputs(session))]
        self._outputs = [self._describe(1, i) for i in range(lib.kfdart_num_outputs(session))]

    def _describe(self, is_output, index):
        type_, ndim = ctypes.c_int32(), ctypes.c_int32()
        dims = (ctypes.c_int32 * MAX_DIMS)()
        nbytes, scale, zero_point = ctypes.c_uint64(), ctypes.c_float(), ctypes.c_int32()
        lib.kfdart_tensor(
            self._session, is_output, index, type_, ndim, dims, nbytes, scale, zero_point
        )
        kind = "output" if is_output else "input"
        if type_.value not in _DTYPES:
            raise ValueError(
                f"the model's {kind} {index} has TFLite type {type_.value}, "
                "which numpy cannot hold here"
            )
        return _Tensor(
            kind,
            index,
            _DTYPES[type_.value],
            tuple(dims[: ndim.value]),
            nbytes.value,
            scale.value,
            zero_point.value,
        )

    def close(self):
        """Free the runtime's memory now (otherwise when the Interpreter is collected)."""
        with self._lock:
            self._close()

    def _live_session(self):
        if not self._close.alive:
            raise ValueError("this Interpreter was closed")
        return self._session

    # ---- the attributes of LCE's Interpreter ----------------------------------------
    input_types = property(lambda self: [t.dtype for t in self._inputs])
    input_shapes = property(lambda self: [t.shape for t in self._inputs])
    input_scales = property(lambda self: [t.scale for t in self._inputs])
    input_zero_points = property(lambda self: [t.zero_point for t in self._inputs])
    output_types = property(lambda self: [t.dtype for t in self._outputs])
    output_shapes = property(lambda self: [t.shape for t in self._outputs])
    output_scales = property(lambda self: [t.scale for t in self._outputs])
    output_zero_points = property(lambda self: [t.zero_point for t in self._outputs])

    # ---- what the runtime adds ------------------------------------------------------
    @property
    def arena_bytes(self):
        """Bytes of the runtime's tensor arena (activations and scratch) for this model."""
        return lib.kfdart_arena_bytes(self._live_session())

    @property
    def weight_bytes(self):
        """Bytes of constant tensors (weights) in the flatbuffer."""
        return lib.kfdart_weight_bytes(self._live_session())

    @property
    def ops(self):
        """The model's operators in execution order, by TFLite name."""
        session = self._live_session()
        return [lib.kfdart_op_name(session, i).decode() for i in range(lib.kfdart_num_ops(session))]

    def predict(self, x, verbose=0):
        """Output predictions for the input samples.

        # Arguments
            x: a numpy array of samples (N, ...) for a model with one input, a list of
                arrays for several inputs, or an iterator yielding single samples (an
                array, or a list of arrays) without the batch axis, as LCE accepts.
                Types must be the model's exactly (see input_types).
            verbose: accepted for compatibility with LCE; no progress bar is shown.

        # Returns
            A numpy array (N, ...) for a model with one output, else a list of them.
        """
        del verbose
        arrays = self._check(self._as_arrays(x))
        n = arrays[0].shape[0]
        outputs = [np.empty((n,) + t.sample_shape, t.dtype) for t in self._outputs]
        if n:
            in_pointers = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
            out_pointers = (ctypes.c_void_p * len(outputs))(*[o.ctypes.data for o in outputs])
            with self._lock:
                session = self._live_session()
                if lib.kfdart_run(session, n, in_pointers, out_pointers):
                    raise RuntimeError(
                        "the keras-fda runtime failed: "
                        + lib.kfdart_error(session).decode(errors="replace")
                    )
        return outputs[0] if len(outputs) == 1 else outputs

    def _as_arrays(self, x):
        if isinstance(x, np.ndarray):
            return [x]
        if isinstance(x, (list, tuple)):
            return list(x)
        if isinstance(x, Iterator):
            samples = [[s] if isinstance(s, np.ndarray) else list(s) for s in x]
            if not samples:
                raise ValueError("predict got an empty iterator: no samples to run")
            return [np.stack(column) for column in zip(*samples)]
        raise ValueError(
            "predict expects a numpy array, a list of numpy arrays (one per "
            f"model input) or an iterator of samples, not {type(x).__name__}"
        )

    def _check(self, arrays):
        """Arrays as the runtime reads them, or one ValueError naming what is expected."""
        if len(arrays) != len(self._inputs):
            raise ValueError(
                f"the model has {len(self._inputs)} input(s) but predict got {len(arrays)} array(s)"
            )
        checked = []
        for array, tensor in zip(arrays, self._inputs):
            if not isinstance(array, np.ndarray):
                raise ValueError(
                    f"{tensor.name}: expected a numpy array of "
                    f"{tensor.expected()}, got {type(array).__name__}"
                )
            if (
                array.dtype != tensor.dtype
                or array.shape[1:] != tensor.sample_shape
                or array.ndim != len(tensor.sample_shape) + 1
            ):
                got = (
                    array.dtype.name
                    if array.dtype.isnative
                    else f"{array.dtype.str} (byte-swapped)"
                )
                raise ValueError(
                    f"{tensor.name}: expected {tensor.expected()}, got shape {array.shape} of {got}"
                )
            checked.append(np.ascontiguousarray(array))
        if len({a.shape[0] for a in checked}) > 1:
            raise ValueError(
                "the inputs hold different numbers of samples: "
                + ", ".join(str(a.shape[0]) for a in checked)
            )
        return checked


def runtime_version():
    """The version of the C runtime compiled into this package (KFDA_VERSION)."""
    return lib.kfdart_version().decode()
