"""Set-up of the runtime package tests: kfda-runtime installed from the checkout with
pip into a temporary folder, the models (converted once per session) with their inputs,
and the native C runtime's host driver (the fixtures of tests/firmware)."""

import contextlib
import fcntl
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.export_models import small_bnn
from tests.firmware.conftest import convert, host, kfda  # noqa: F401  (fixtures used here too)
from tests.firmware.test_int8 import INT8, int8_binary, int8_mul
from tests.firmware.test_models import _randomize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME = os.path.join(ROOT, "runtime")

L = tf.keras.layers


def _load_build_library():
    """runtime/build_library.py: how setup.py compiles the shared library (not installed)."""
    spec = importlib.util.spec_from_file_location(
        "kfda_runtime_build_library", os.path.join(RUNTIME, "build_library.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_library = _load_build_library()


@contextlib.contextmanager
def runtime_tree_lock():
    """pip and setup.py build inside runtime/ itself (build/, *.egg-info): one build at a
    time across the suite's worker processes."""
    os.makedirs(os.path.join(RUNTIME, "build"), exist_ok=True)
    with open(os.path.join(RUNTIME, "build", ".tests.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def pip_install(source, target):
    """`pip install SOURCE` into the folder TARGET, offline (the build needs only
    setuptools, already in the test environment)."""
    with runtime_tree_lock():
        done = _pip_install(source, target)
    assert done.returncode == 0, done.stderr


def _pip_install(source, target):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def runtime_site(tmp_path_factory):
    """A folder holding kfda_runtime as `pip install ./runtime` installs it."""
    target = tmp_path_factory.mktemp("kfda_runtime_site")
    pip_install(RUNTIME, target)
    return str(target)


@pytest.fixture(scope="session")
def kfda_runtime(runtime_site):
    """The installed package, imported in this process."""
    sys.path.insert(0, runtime_site)
    try:
        import kfda_runtime
    finally:
        sys.path.remove(runtime_site)
    assert kfda_runtime.__file__.startswith(runtime_site), kfda_runtime.__file__
    return kfda_runtime


def two_outputs():
    """Float, two outputs (a feature map and its pooled vector)."""
    x = L.Input((6, 5, 3))
    y = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    return tf.keras.Model(x, [y, L.GlobalAveragePooling2D()(y)])


def _model_cases():
    """name -> (flatbuffer, list of inputs (N, ...)), models the other suites export."""
    rng = np.random.RandomState(5)
    tf.keras.utils.set_random_seed(5)
    cases = {}
    cases["float_small_bnn"] = (
        convert(small_bnn()),
        [rng.normal(0, 1, (3, 28, 28, 1)).astype(np.float32)],
    )
    model = two_outputs()
    cases["float_two_outputs"] = (
        convert(model),
        [rng.normal(0, 1, (2, 6, 5, 3)).astype(np.float32)],
    )
    for name, build in (("int8_binary", int8_binary), ("int8_two_inputs", int8_mul)):
        model = build()
        _randomize(model, rng)
        inputs = [
            rng.randint(-128, 128, (3,) + tuple(i.shape[1:])).astype(np.int8) for i in model.inputs
        ]
        cases[name] = (convert(model, **INT8), inputs)
    return cases


@pytest.fixture(scope="session")
def model_cases():
    return _model_cases()


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize(
            "case", ["float_small_bnn", "float_two_outputs", "int8_binary", "int8_two_inputs"]
        )
