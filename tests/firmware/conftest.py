"""Shared set-up of the firmware tests: native builds of the C runtime (plain -O2 and
ASAN/UBSAN), LCE conversion, and running one flatbuffer both through our host driver
and through the LCE Python interpreter (the oracle)."""

import keras_fda  # noqa: F401  (binds Keras 2 before TensorFlow/Larq load)

import json
import os
import subprocess

import larq_compute_engine as lce
import numpy as np
import pytest
from larq_compute_engine.tflite.python.interpreter import Interpreter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")


def _make(build_dir, target):
    subprocess.run(
        ["make", "-s", "-C", FIRMWARE, "-j2", f"BUILD={build_dir}", target],
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def host(tmp_path_factory):
    """Path of the natively built host driver (gcc -O2)."""
    build = tmp_path_factory.mktemp("kfda_build")
    _make(str(build), "all")
    return str(build / "kfda_host")


@pytest.fixture(scope="session")
def host_asan(tmp_path_factory):
    """Path of the host driver built with -fsanitize=address,undefined."""
    build = tmp_path_factory.mktemp("kfda_build_asan")
    _make(str(build), "asan")
    return str(build / "kfda_host_asan")


def convert(model, **kwargs):
    kwargs.setdefault("target", "arm")
    fb = lce.convert_keras_model(model, **kwargs)
    _save_fuzz_seed(fb)
    return fb


def _save_fuzz_seed(fb):
    """With KFDA_FUZZ_SEEDS=folder, every flatbuffer the tests convert is also written
    there: the seed corpus of the fuzzer (firmware/fuzz/README.md)."""
    import hashlib

    folder = os.environ.get("KFDA_FUZZ_SEEDS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        name = hashlib.sha256(fb).hexdigest()[:16] + ".tflite"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(fb)


def lce_predict(fb, inputs):
    """Run N samples through the LCE reference interpreter. inputs: list of (N, ...)."""
    interp = Interpreter(fb)
    out = interp.predict(inputs if len(inputs) > 1 else inputs[0])
    return out if isinstance(out, list) else [out]


_DTYPES = {"float32": np.float32, "int8": np.int8, "int32": np.int32, "uint8": np.uint8}


class Host:
    """Runs flatbuffers through a kfda_host binary."""

    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.count = 0

    def _path(self, name):
        self.count += 1
        return os.path.join(self.workdir, f"{self.count}_{name}")

    def write_model(self, fb):
        path = self._path("model.tflite")
        with open(path, "wb") as f:
            f.write(fb)
        return path

    def plan(self, fb, threads=1):
        res = subprocess.run(
            [self.binary, "plan", "--threads", str(threads), self.write_model(fb)],
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    def run(self, fb, inputs, threads=1):
        """inputs: list of arrays (N, ...) per model input -> list of (N, ...) outputs,
        computed with `threads` threads."""
        plan = self.plan(fb, threads)
        n = inputs[0].shape[0]
        model = self.write_model(fb)
        in_path, out_path = self._path("in.bin"), self._path("out.bin")
        with open(in_path, "wb") as f:
            for s in range(n):
                for spec, arr in zip(plan["inputs"], inputs):
                    sample = np.ascontiguousarray(arr[s], dtype=_DTYPES[spec["type"]])
                    assert sample.nbytes == spec["bytes"], (sample.shape, spec)
                    f.write(sample.tobytes())
        res = subprocess.run(
            [self.binary, "run", "--threads", str(threads), model, in_path, out_path, str(n)],
            capture_output=True,
            text=True,
        )
        assert res.returncode == 0, res.stderr
        raw = np.fromfile(out_path, dtype=np.uint8)
        per = sum(o["bytes"] for o in plan["outputs"])
        assert raw.size == per * n
        raw = raw.reshape(n, per)
        outs, off = [], 0
        for spec in plan["outputs"]:
            dt = _DTYPES[spec["type"]]
            chunk = raw[:, off : off + spec["bytes"]].copy().view(dt)
            outs.append(chunk.reshape([n] + spec["shape"][1:]))
            off += spec["bytes"]
        return outs


@pytest.fixture(scope="session")
def kfda(host, tmp_path_factory):
    return Host(host, str(tmp_path_factory.mktemp("kfda_run")))


@pytest.fixture(scope="session")
def kfda_asan(host_asan, tmp_path_factory):
    return Host(host_asan, str(tmp_path_factory.mktemp("kfda_run_asan")))


def assert_matches(ours, ref, atol=1e-5):
    """Float outputs within atol; integer outputs bit-exact."""
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref):
        assert o.shape == r.shape, (o.shape, r.shape)
        if np.issubdtype(r.dtype, np.floating):
            np.testing.assert_allclose(o, r, rtol=0, atol=atol)
        else:
            np.testing.assert_array_equal(o, r)


def compare(kfda, fb, inputs, atol=1e-5):
    ref = lce_predict(fb, inputs)
    ours = kfda.run(fb, inputs)
    assert_matches(ours, ref, atol)
    return ours, ref
