"""Fixtures of the target tests: session-wide packages (see lce_packages.py); builds are
cached by the runner, so each target is built once."""

import pytest
import tensorflow as tf
from lce_packages import bireal_model, make_package, tiny_model

from tests.firmware.conftest import host, kfda  # noqa: F401  (the x86 host driver, as fixtures)


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("targets")


@pytest.fixture(scope="session")
def bireal_package(session_dir):
    tf.keras.utils.set_random_seed(7)
    return make_package(bireal_model(), str(session_dir / "bireal"), cpu="cortex-m4")


@pytest.fixture(scope="session")
def tiny_package(session_dir):
    tf.keras.utils.set_random_seed(3)
    return make_package(tiny_model(), str(session_dir / "tiny"), cpu="cortex-m4")
