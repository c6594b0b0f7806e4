"""Export packages: writing one (into a temporary folder beside `--output`, moved into
place only when everything is written, so a failure never leaves a half-written package)
and reading one back (`read_package`, for `keras-fda run`).

Package layout (see export/README.md for the manifest's fields):

    model.tflite            the LCE flatbuffer
    manifest.json           target, cpu, ops, MACs, sizes, verification, versions, chip
    sample_input.npy        a few inputs, as the model takes them (float32 or int8)
    sample_output_lce.npy   the LCE interpreter's outputs for them
    sample_input.bin        the first input, raw little-endian (for the C driver)
    sample_output_lce.bin   its LCE output, raw
    cortex-m:   model_data.c, model_data.h
    arm64/armv7: main.c, Makefile, kfda/ (the C runtime, when installed)
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export import c_sources, platforms
from keras_fda.export.manifest import Manifest

import contextlib
import dataclasses
import hashlib
import os
import shutil
import signal
import tempfile
import threading

import numpy as np


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output(path, force):
    """Fail early when `path` exists, is not an empty folder, and `force` is not set."""
    if os.path.lexists(path):
        if not os.path.isdir(path) or os.path.islink(path):
            raise KerasFDAError(f"--output {path} exists and is not a folder; choose another path")
        if os.listdir(path) and not force:
            raise KerasFDAError(
                f"--output {path} exists and is not empty; choose another "
                "folder or pass --force to replace it"
            )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise KerasFDAError(f"the folder {parent} that --output goes in does not exist")
    if not os.access(parent, os.W_OK):
        raise KerasFDAError(f"cannot write in {parent}: choose another --output")


_interrupted = []  # Ctrl-C seen while sigint_noted() was active
_noting = []  # sigint_noted() blocks running now


@contextlib.contextmanager
def sigint_noted():
    """Remember Ctrl-C even when a library swallows the KeyboardInterrupt it raises (the
    TensorFlow converter can: the export then ran on and replaced the old package); the
    package's commit refuses to run after one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _interrupted.append(signum)
        raise KeyboardInterrupt

    _interrupted.clear()
    previous = signal.signal(signal.SIGINT, handler)
    _noting.append(True)
    try:
        yield
    finally:
        _noting.pop()
        signal.signal(signal.SIGINT, previous)
        # _interrupted stays set: the CLI reads it (interrupted()) to tell a Ctrl-C that
        # a library turned into another error from that error


def raise_if_interrupted():
    if _interrupted:
        raise KeyboardInterrupt


def interrupted():
    """Whether Ctrl-C came during the last sigint_noted() block."""
    return bool(_interrupted)


def forget_interrupt():
    _interrupted.clear()


def forget_stale_interrupt():
    """An export called from Python outside sigint_noted() starts afresh: a Ctrl-C noted by
    an earlier command in the same process is not this export's."""
    if not _noting:
        _interrupted.clear()


@contextlib.contextmanager
def sigint_deferred():
    """SIGINT held back while the block runs (delivered after it), where possible."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def staging(output):
    """A temporary folder beside `output`; removed unless `commit()` moved it into place.

    Yields `(folder, commit)`."""
    parent = os.path.dirname(os.path.abspath(output))
    folder = tempfile.mkdtemp(prefix=".keras-fda-export-", dir=parent)
    os.chmod(folder, 0o777 & ~_umask())  # mkdtemp makes 0700; a package gets the user's umask
    done = []

    def commit():
        target = os.path.abspath(output)
        old = None
        raise_if_interrupted()  # a Ctrl-C swallowed on the way never replaces a package
        with sigint_deferred():  # both renames or neither: never no package at all
            if os.path.lexists(target):
                if os.listdir(target):
                    old = tempfile.mkdtemp(prefix=".keras-fda-old-", dir=parent)
                    os.rmdir(old)
                    os.replace(target, old)
                else:
                    os.rmdir(target)
            os.replace(folder, target)
            done.append(True)
        if old:
            shutil.rmtree(old, ignore_errors=True)

    try:
        yield folder, commit
    finally:
        if not done:
            shutil.rmtree(folder, ignore_errors=True)


def write_model_data(folder, flatbuffer, model_name, cpu):
    """model_data.c/.h: the flatbuffer as a 16-byte aligned const array."""
    with open(os.path.join(folder, "model_data.h"), "w") as f:
        f.write(c_sources.MODEL_DATA_H.format(model_name=model_name, cpu=cpu))
    with open(os.path.join(folder, "model_data.c"), "w") as f:
        f.write(
            c_sources.MODEL_DATA_C_HEAD.format(model_name=model_name, cpu=cpu, size=len(flatbuffer))
        )
        data = np.frombuffer(flatbuffer, np.uint8)
        for start in range(0, len(data), 16):
            row = ", ".join(f"0x{b:02x}" for b in data[start : start + 16])
            f.write(f"  {row},\n")
        f.write("};\n")


def write_linux_driver(folder, target, model_name, ops=None):
    """main.c and a Makefile that links only `ops` (the model's TFLite op names; None:
    every op of the runtime)."""
    with open(os.path.join(folder, "main.c"), "w") as f:
        f.write(c_sources.MAIN_C.format(model_name=model_name, target=target.name))
    with open(os.path.join(folder, "Makefile"), "w") as f:
        f.write(
            c_sources.MAKEFILE.format(
                target=target.name,
                cross_compiler=target.cross_compiler,
                arch_flags=target.arch_flags,
                thread_flags=platforms.LINUX_THREAD_FLAGS,
                ops=" ".join(ops) if ops else "all",
            )
        )
    return copy_runtime(os.path.join(folder, "kfda"))


def copy_runtime(destination):
    """Copy the C runtime (include/ and src/) beside the driver; False when keras-fda was
    installed without it (the firmware not built into this version yet)."""
    try:
        from keras_fda.firmware import source_dir
    except ImportError:
        return False
    root = source_dir()
    if not os.path.isfile(os.path.join(root, "include", "kfda", "kfda.h")):
        return False
    for part in ("include", "src"):
        shutil.copytree(
            os.path.join(root, part),
            os.path.join(destination, part),
            ignore=shutil.ignore_patterns("*.o", "*.a", "__pycache__"),
        )
    return True


def write_samples(folder, inputs, outputs):
    np.save(os.path.join(folder, "sample_input.npy"), inputs)
    np.save(os.path.join(folder, "sample_output_lce.npy"), outputs)
    inputs[:1].astype(inputs.dtype.newbyteorder("<")).tofile(
        os.path.join(folder, "sample_input.bin")
    )
    outputs[:1].astype(outputs.dtype.newbyteorder("<")).tofile(
        os.path.join(folder, "sample_output_lce.bin")
    )


# ---- reading a package -------------------------------------------------------------

DTYPES = {
    "float32": np.float32,
    "int8": np.int8,
    "uint8": np.uint8,
    "int32": np.int32,
    "int16": np.int16,
    "bool": np.bool_,
}


@dataclasses.dataclass
class TensorSpec:
    shape: tuple
    dtype: np.dtype
    scale: float = 0.0
    zero_point: int = 0

    @property
    def record_bytes(self):
        return int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize


@dataclasses.dataclass
class Package:
    path: str
    manifest: Manifest
    model_path: str
    model_bytes: bytes
    inputs: list
    outputs: list

    @property
    def target(self):
        return str(self.manifest.target or "cortex-m").lower()

    @property
    def cpu(self):
        return str(self.manifest.cpu or "").lower()


def _tensor_specs(manifest, key):
    value = manifest.tensors(key)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise KerasFDAError(f"manifest.json has no '{key}' description (shape and dtype)")
    specs = []
    for item in value:
        try:
            dtype = np.dtype(DTYPES[str(item["dtype"])])
            shape = tuple(int(d) for d in item["shape"])
        except (KeyError, TypeError, ValueError):
            raise KerasFDAError(
                f"manifest.json's '{key}' needs a shape (list of ints) and a dtype "
                f"({', '.join(DTYPES)}), got {item!r}"
            )
        if not shape or any(d <= 0 for d in shape):
            raise KerasFDAError(f"manifest.json's '{key}' shape {list(shape)} is not valid")
        scale, zero_point = item.get("scale"), item.get("zero_point")
        if isinstance(scale, list):  # per-channel: the first, as the runtime reports it
            scale = scale[0] if scale else None
        if isinstance(zero_point, list):
            zero_point = zero_point[0] if zero_point else None
        specs.append(TensorSpec(shape, dtype, float(scale or 0.0), int(zero_point or 0)))
    return specs


def read_package(package_dir):
    """Read and check a package folder; `KerasFDAError` if anything is missing or corrupt."""
    package_dir = os.fspath(package_dir)
    if not os.path.isdir(package_dir):
        raise KerasFDAError(
            f"package folder {package_dir} does not exist (make one with `keras-fda export`)"
        )
    model_path = os.path.join(package_dir, "model.tflite")
    for name in ("manifest.json", "model.tflite"):
        if not os.path.isfile(os.path.join(package_dir, name)):
            raise KerasFDAError(f"{package_dir} is not a keras-fda package: {name} is missing")
    manifest = Manifest.load(package_dir)
    with open(model_path, "rb") as f:
        model_bytes = f.read()
    if manifest.model_sha256 is not None and (
        hashlib.sha256(model_bytes).hexdigest() != manifest.model_sha256
    ):
        raise KerasFDAError(
            f"{model_path} does not match the SHA-256 its manifest records: the "
            "file was changed or damaged; export the model again"
        )
    if len(model_bytes) < 8 or model_bytes[4:8] != b"TFL3":
        raise KerasFDAError(f"{model_path} is not a TFLite flatbuffer (no TFL3 identifier)")
    return Package(
        path=package_dir,
        manifest=manifest,
        model_path=model_path,
        model_bytes=model_bytes,
        inputs=_tensor_specs(manifest, "input"),
        outputs=_tensor_specs(manifest, "output"),
    )


def check_inputs(package, inputs):
    """The inputs as one C-contiguous array of N records; `KerasFDAError` if they don't fit."""
    spec = package.inputs[0]
    if spec.shape[0] != 1:
        raise KerasFDAError(
            f"the model's input has batch size {spec.shape[0]}; keras-fda run "
            "feeds models converted with batch size 1"
        )
    if len(package.inputs) != 1:
        raise KerasFDAError(
            f"the model has {len(package.inputs)} inputs; keras-fda run "
            "feeds models with exactly one"
        )
    inputs = np.asarray(inputs)
    if inputs.dtype != spec.dtype:
        raise KerasFDAError(
            f"input dtype is {inputs.dtype}, the model takes {spec.dtype} "
            f"(convert with x.astype('{spec.dtype}'))"
        )
    record = spec.shape[1:]
    if inputs.shape == record:
        inputs = inputs[None]
    if inputs.ndim != len(spec.shape) or inputs.shape[1:] != record:
        raise KerasFDAError(
            f"input shape is {tuple(inputs.shape)}, the model takes (N, "
            f"{', '.join(str(d) for d in record)}) (one record: {spec.shape})"
        )
    if len(inputs) == 0:
        raise KerasFDAError("no inputs: the array holds 0 records")
    return np.ascontiguousarray(inputs)


def split_outputs(package, raw, records):
    """The application's raw output bytes for `records` inputs as arrays shaped by the
    manifest: one array, or a list of them for several outputs."""
    per_record = sum(spec.record_bytes for spec in package.outputs)
    if raw.size != per_record * records:
        raise KerasFDAError(
            f"the firmware wrote {raw.size} output bytes, the manifest's "
            f"outputs need {per_record * records}"
        )
    raw = raw.reshape(records, per_record)
    outputs, offset = [], 0
    for spec in package.outputs:
        chunk = np.ascontiguousarray(raw[:, offset : offset + spec.record_bytes])
        outputs.append(chunk.view(spec.dtype).reshape((records,) + spec.shape[1:]))
        offset += spec.record_bytes
    return outputs[0] if len(outputs) == 1 else outputs
