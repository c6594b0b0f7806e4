"""The kfda-runtime distribution: the sdist carries the C runtime and installs from
itself, the wheel is tagged for any Python 3 on this platform, and the build uses the
runtime's own flags (the same facts the firmware Makefile and the export hold)."""

from keras_fda.export import platforms

import glob
import os
import re
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import pytest

from tests.runtime.conftest import ROOT, RUNTIME, build_library, pip_install, runtime_tree_lock


def test_arch_flags_are_the_registrys():
    """The runtime package cannot import keras_fda (numpy only), so it keeps its own copy
    of the Linux targets' flags; this holds it to the registry."""
    assert build_library.ARCH_FLAGS["aarch64"] == platforms.get_target("arm64").arch_flags.split()
    assert build_library.ARCH_FLAGS["arm"] == platforms.get_target("armv7").arch_flags.split()


def test_thread_flags_are_the_registrys():
    assert build_library.THREAD_FLAGS == platforms.LINUX_THREAD_FLAGS.split()


def test_runtime_flags_are_the_firmware_makefiles():
    with open(os.path.join(ROOT, "firmware", "Makefile")) as f:
        words = set(f.read().split())
    assert set(build_library.RUNTIME_FLAGS) <= words


def test_sdist_carries_the_runtime_and_installs_from_it(kfda, model_cases, tmp_path):
    dist = tmp_path / "dist"
    with runtime_tree_lock():
        done = subprocess.run(
            [sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(dist)],
            cwd=RUNTIME,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    (sdist,) = glob.glob(str(dist / "kfda_runtime-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    firmware = os.path.join(ROOT, "firmware")
    for path in build_library.runtime_files(firmware):
        assert "firmware/" + os.path.relpath(path, firmware) in names, path
    assert {
        "setup.py",
        "pyproject.toml",
        "build_library.py",
        "README.md",
        "csrc/kfda_runtime_shim.c",
        "kfda_runtime/interpreter.py",
    } <= names
    # pip builds it in a temporary folder: only the sdist's own copy of the runtime is there
    site = tmp_path / "site"
    pip_install(sdist, site)
    fb, inputs = model_cases["float_two_outputs"]
    (tmp_path / "model.tflite").write_bytes(fb)
    np.save(tmp_path / "x.npy", inputs[0])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kfda_runtime",
            "run",
            str(tmp_path / "model.tflite"),
            "-i",
            str(tmp_path / "x.npy"),
            "-o",
            str(tmp_path / "y.npz"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(site)),
    )
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "y.npz") as saved:
        for k, want in enumerate(kfda.run(fb, inputs)):
            np.testing.assert_array_equal(saved[f"arr_{k}"], want)


def test_wheel_is_for_any_python3_on_this_platform(tmp_path):
    with runtime_tree_lock():
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-index",
                "--no-build-isolation",
                "-w",
                str(tmp_path),
                RUNTIME,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stderr
    (wheel,) = glob.glob(str(tmp_path / "*.whl"))
    assert re.fullmatch(r"kfda_runtime-[\d.]+-py3-none-linux_x86_64\.whl", os.path.basename(wheel))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "kfda_runtime/" + build_library.LIBRARY in names
    assert re.findall(r"^Requires-Dist: (.*)$", metadata, re.M) == ["numpy"]


def test_build_without_a_compiler_says_so(tmp_path):
    with pytest.raises(build_library.BuildError, match="cannot run the C compiler no-such-cc"):
        build_library.build(RUNTIME, str(tmp_path / "lib.so"), cc="no-such-cc")
