"""The op registry (firmware/src/ops/): `kfda_host ops`, the export's supported_ops(), and
builds that link only some ops (OPS=..., -DKFDA_OPS_SELECTED)."""

import os
import re
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from tests.firmware.conftest import FIRMWARE, Host, convert, lce_predict


def _table_names():
    """The TFLite names of the rows of op_list.h (the registry's one source)."""
    with open(os.path.join(FIRMWARE, "src", "ops", "op_list.h")) as f:
        return re.findall(r"^KFDA_OP\((\w+),", f.read(), re.M)


def _ops(binary):
    res = subprocess.run([binary, "ops"], capture_output=True, text=True, check=True)
    return res.stdout.split()


def _build(tmp_path, ops):
    build = tmp_path / "build"
    subprocess.run(
        ["make", "-s", "-C", FIRMWARE, "-j2", f"BUILD={build}", f"OPS={ops}", "all"],
        check=True,
        capture_output=True,
        text=True,
    )
    return str(build / "kfda_host")


def test_host_lists_every_registered_op(host):
    names = _table_names()
    assert len(names) == 34 and len(set(names)) == len(names)
    assert _ops(host) == names


def test_export_supported_ops_come_from_the_host_tool(host, monkeypatch):
    from keras_fda.export import targets

    monkeypatch.setenv("KFDA_HOST", host)
    targets.supported_ops.cache_clear()
    try:
        assert targets.supported_ops() == frozenset(_table_names())
    finally:
        targets.supported_ops.cache_clear()


@pytest.fixture(scope="module")
def conv_dense():
    """A float model of CONV_2D, RESHAPE and FULLY_CONNECTED."""
    tf.keras.utils.set_random_seed(3)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer((6, 6, 2)),
            tf.keras.layers.Conv2D(4, 3, activation="relu"),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(5),
        ]
    )
    return convert(model)


def test_selected_ops_build_runs_its_model(tmp_path, conv_dense):
    binary = _build(tmp_path, "CONV_2D RESHAPE FULLY_CONNECTED")
    assert _ops(binary) == ["CONV_2D", "FULLY_CONNECTED", "RESHAPE"]
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 2)).astype(np.float32)
    (ours,) = Host(binary, str(tmp_path)).run(conv_dense, [x])
    np.testing.assert_allclose(ours, lce_predict(conv_dense, [x])[0], atol=1e-5, rtol=0)


def test_model_with_an_op_not_linked_is_refused(tmp_path, conv_dense):
    binary = _build(tmp_path, "CONV_2D RESHAPE")
    path = tmp_path / "model.tflite"
    path.write_bytes(conv_dense)
    res = subprocess.run([binary, "plan", str(path)], capture_output=True, text=True)
    assert res.returncode == 1 and res.stdout == ""
    assert re.fullmatch(
        r"kfda_host: unsupported op: unsupported op: FULLY_CONNECTED "
        r"\(op \d+\)\n",
        res.stderr,
    ), res.stderr
