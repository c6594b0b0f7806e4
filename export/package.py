"""Write an export package: into a temporary folder beside `--output`, moved into place
only when everything is written, so a failure never leaves a half-written package.

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
import contextlib
import json
import os
import shutil
import tempfile

import numpy as np

from keras_fda.errors import KerasFDAError
from keras_fda.export import c_sources

ARCH_FLAGS = {
    "arm64": "-march=armv8-a",
    "armv7": "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard",
}


def check_output(path, force):
    """Fail early when `path` exists, is not an empty folder, and `force` is not set."""
    if os.path.lexists(path):
        if not os.path.isdir(path) or os.path.islink(path):
            raise KerasFDAError(f"--output {path} exists and is not a folder; "
                                "choose another path")
        if os.listdir(path) and not force:
            raise KerasFDAError(f"--output {path} exists and is not empty; choose another "
                                "folder or pass --force to replace it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise KerasFDAError(f"the folder {parent} that --output goes in does not exist")
    if not os.access(parent, os.W_OK):
        raise KerasFDAError(f"cannot write in {parent}: choose another --output")


@contextlib.contextmanager
def staging(output):
    """A temporary folder beside `output`; removed unless `commit()` moved it into place.

    Yields `(folder, commit)`."""
    parent = os.path.dirname(os.path.abspath(output))
    folder = tempfile.mkdtemp(prefix=".keras-fda-export-", dir=parent)
    done = []

    def commit():
        target = os.path.abspath(output)
        old = None
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
        f.write(c_sources.MODEL_DATA_C_HEAD.format(model_name=model_name, cpu=cpu,
                                                   size=len(flatbuffer)))
        data = np.frombuffer(flatbuffer, np.uint8)
        for start in range(0, len(data), 16):
            row = ", ".join(f"0x{b:02x}" for b in data[start:start + 16])
            f.write(f"  {row},\n")
        f.write("};\n")


def write_linux_driver(folder, target, model_name, ops):
    """main.c and a Makefile that links only `ops` (the model's TFLite op names)."""
    with open(os.path.join(folder, "main.c"), "w") as f:
        f.write(c_sources.MAIN_C.format(model_name=model_name, target=target.name))
    with open(os.path.join(folder, "Makefile"), "w") as f:
        f.write(c_sources.MAKEFILE.format(target=target.name,
                                          cross_compiler=target.cross_compiler,
                                          arch_flags=ARCH_FLAGS[target.name],
                                          ops=" ".join(ops)))
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
        shutil.copytree(os.path.join(root, part), os.path.join(destination, part),
                        ignore=shutil.ignore_patterns("*.o", "*.a", "__pycache__"))
    return True


def write_samples(folder, inputs, outputs):
    np.save(os.path.join(folder, "sample_input.npy"), inputs)
    np.save(os.path.join(folder, "sample_output_lce.npy"), outputs)
    inputs[:1].astype(inputs.dtype.newbyteorder("<")).tofile(
        os.path.join(folder, "sample_input.bin"))
    outputs[:1].astype(outputs.dtype.newbyteorder("<")).tofile(
        os.path.join(folder, "sample_output_lce.bin"))


def write_manifest(folder, manifest):
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
