"""A package's integrity: `keras-fda run` refuses a model.tflite that is not the one the
export wrote (the manifest records its SHA-256), and package folders get the user's umask
(mkdtemp alone would make them 0700)."""

from keras_fda.cli import main
from keras_fda.export import export_model

import hashlib
import os
import stat

import pytest
from click.testing import CliRunner

from tests import export_models


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    work = tmp_path_factory.mktemp("integrity")
    path = str(work / "tiny.keras")
    export_models.small_bnn().save(path)
    old = os.umask(0o022)
    try:
        folder = str(work / "pkg")
        manifest = export_model(path, "arm64", folder, log=lambda _: None)
    finally:
        os.umask(old)
    return folder, manifest


def test_manifest_records_the_models_sha256(package):
    folder, manifest = package
    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        assert manifest["model_sha256"] == hashlib.sha256(f.read()).hexdigest()


def test_package_folder_gets_the_umask(package):
    folder, _ = package
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o755


def test_run_refuses_a_changed_model(package, tmp_path):
    import shutil

    folder = str(tmp_path / "pkg")
    shutil.copytree(package[0], folder)
    path = os.path.join(folder, "model.tflite")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x10
    open(path, "wb").write(bytes(data))
    out = str(tmp_path / "y.npy")
    result = CliRunner().invoke(main, ["run", folder, "--board", "native", "-o", out])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not match the SHA-256" in lines[0]
    assert not os.path.exists(out)
