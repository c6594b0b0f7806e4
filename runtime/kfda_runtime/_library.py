"""The compiled C runtime (libkfda_runtime.so, built at install time) and its ctypes
signatures. Only the shim's kfdart_* functions are used: Python never needs the layout
of the runtime's structs."""

import ctypes
import os

LIBRARY = "libkfda_runtime.so"
ERROR_LEN = 256

_session = ctypes.c_void_p
_SIGNATURES = {
    "kfdart_version": (ctypes.c_char_p, []),
    "kfdart_max_dims": (ctypes.c_int, []),
    "kfdart_max_threads": (ctypes.c_int, []),
    "kfdart_open": (
        _session,
        [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t],
    ),
    "kfdart_close": (None, [_session]),
    "kfdart_num_inputs": (ctypes.c_int, [_session]),
    "kfdart_num_outputs": (ctypes.c_int, [_session]),
    "kfdart_arena_bytes": (ctypes.c_size_t, [_session]),
    "kfdart_weight_bytes": (ctypes.c_size_t, [_session]),
    "kfdart_num_ops": (ctypes.c_int, [_session]),
    "kfdart_op_name": (ctypes.c_char_p, [_session, ctypes.c_int]),
    "kfdart_tensor": (
        ctypes.c_int,
        [
            _session,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_uint64),
            ctypes.POINTER(ctypes.c_float),
            ctypes.POINTER(ctypes.c_int32),
        ],
    ),
    "kfdart_run": (
        ctypes.c_int,
        [
            _session,
            ctypes.c_uint64,
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.POINTER(ctypes.c_void_p),
        ],
    ),
    "kfdart_error": (ctypes.c_char_p, [_session]),
}


def load():
    """The shared library with its signatures set."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY)
    if not os.path.isfile(path):
        raise ImportError(
            f"kfda_runtime's compiled runtime {path} is missing: install the "
            "package with pip (it builds the library with the C compiler)"
        )
    lib = ctypes.CDLL(path)  # CDLL releases the GIL during every call
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


lib = load()
MAX_DIMS = lib.kfdart_max_dims()  # the runtime's KFDA_MAX_DIMS
MAX_THREADS = lib.kfdart_max_threads()  # KFDA_MAX_THREADS (1: built without threads)
