"""Reader fuzz: mutated real flatbuffers (bit flips, truncation, random byte runs,
offsets pointed out of bounds) fed to the ASAN/UBSAN build, which must reject each one
with an error status or run it - never crash, never report a sanitizer error."""

import os
import shutil
import subprocess

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tests.firmware.conftest import FIRMWARE, convert
from tests.firmware.test_repro import REPRO

L = tf.keras.layers


@pytest.fixture(scope="module")
def seeds():
    x = L.Input((6, 6, 8))
    y = L.Conv2D(32, 3, padding="same")(x)
    y = lq.layers.QuantConv2D(
        32,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        use_bias=False,
    )(y)
    y = L.BatchNormalization()(y)
    y = lq.layers.QuantConv2D(
        32,
        3,
        padding="same",
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        use_bias=False,
    )(y)
    y = L.MaxPool2D(2)(y)
    y = lq.layers.QuantConv2D(
        32, 1, input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False
    )(y)
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(5, activation="softmax")(y)
    return [convert(tf.keras.Model(x, y))]


def mutants(fb, rng, count):
    fb = np.frombuffer(fb, dtype=np.uint8)
    out = []
    for i in range(count):
        m = fb.copy()
        kind = i % 5
        if kind == 0:  # bit flips
            for _ in range(rng.randint(1, 9)):
                pos = rng.randint(0, m.size)
                m[pos] ^= np.uint8(1 << rng.randint(0, 8))
        elif kind == 1:  # truncation
            m = m[: rng.randint(0, m.size)]
        elif kind == 2:  # a run of random bytes
            pos, n = rng.randint(0, m.size), rng.randint(1, 64)
            m[pos : pos + n] = rng.randint(0, 256, min(n, m.size - pos))
        elif kind == 3:  # a 32-bit word (offset, length, soffset) replaced by an extreme
            pos = rng.randint(0, m.size // 4) * 4
            val = rng.choice(
                [
                    0x7FFFFFFF,
                    0xFFFFFFFF,
                    0x80000000,
                    m.size,
                    m.size - 2,
                    rng.randint(0, 2**32, dtype=np.uint64),
                ]
            )
            m[pos : pos + 4] = np.frombuffer(np.uint32(val).tobytes(), dtype=np.uint8)
        else:  # a 16-bit vtable-sized field
            pos = rng.randint(0, min(m.size, 4096) // 2) * 2
            m[pos : pos + 2] = np.frombuffer(
                np.uint16(rng.randint(0, 65536)).tobytes(), dtype=np.uint8
            )
        out.append(m.tobytes())
    return out


def test_mutated_models_never_crash(host_asan, seeds, tmp_path):
    rng = np.random.RandomState(2024)
    paths = []
    for s, fb in enumerate(seeds):
        for i, m in enumerate(mutants(fb, rng, 400)):
            p = tmp_path / f"m{s}_{i}.tflite"
            p.write_bytes(m)
            paths.append(str(p))
    # also: empty file and pure noise
    (tmp_path / "empty.tflite").write_bytes(b"")
    (tmp_path / "noise.tflite").write_bytes(rng.randint(0, 256, 3000).astype(np.uint8).tobytes())
    paths += [str(tmp_path / "empty.tflite"), str(tmp_path / "noise.tflite")]
    res = subprocess.run([host_asan, "check"] + paths, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Sanitizer" not in res.stderr and "runtime error" not in res.stderr, res.stderr[-3000:]
    statuses = res.stdout.split("\n")[:-1]
    assert len(statuses) == len(paths)
    # most mutants are rejected as malformed; some (e.g. flipped weight bits) still run
    assert statuses.count("malformed model") > len(paths) // 4
    assert "ran" in statuses


def test_seed_model_runs_under_sanitizers(host_asan, seeds, tmp_path):
    p = tmp_path / "seed.tflite"
    p.write_bytes(seeds[0])
    res = subprocess.run([host_asan, "check", str(p)], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == "ran", res.stderr


def test_unsupported_op_is_named(host, tmp_path):
    x = L.Input((4, 4, 3))
    y = L.Lambda(lambda t: tf.math.exp(t))(x)
    p = tmp_path / "exp.tflite"
    p.write_bytes(convert(tf.keras.Model(x, y)))
    res = subprocess.run([host, "plan", str(p)], capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stderr.strip() == "kfda_host: unsupported op: unsupported op: EXP (op 0)"


def _libfuzzer_available():
    clang = shutil.which("clang")
    if not clang:
        return False
    res = subprocess.run(
        [clang, "-print-file-name=libclang_rt.fuzzer-x86_64.a"], capture_output=True, text=True
    )
    # clang prints the bare name back when it does not have the library
    return os.path.isabs(res.stdout.strip()) and os.path.isfile(res.stdout.strip())


@pytest.fixture(scope="module")
def int8_seed():
    """An int8 model with every requantising op the fuzzer should reach."""
    x = L.Input((6, 6, 4))
    y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, padding="same")(y)
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(5, activation="softmax")(y)
    return convert(
        tf.keras.Model(x, y),
        experimental_default_int8_range=(-3.0, 3.0),
        inference_input_type=tf.int8,
        inference_output_type=tf.int8,
    )


@pytest.mark.skipif(not _libfuzzer_available(), reason="needs clang with libFuzzer")
def test_libfuzzer_smoke(seeds, int8_seed, tmp_path):
    """A short run of the project's libFuzzer harness (firmware/fuzz, ASan and UBSan with
    float-cast-overflow): the issue-14 reproducers, the float and int8 seeds, then 20 s of
    mutation. Any sanitizer report or crash fails (the long run: firmware/fuzz/README.md)."""
    build = tmp_path / "build"
    subprocess.run(
        ["make", "-s", "-C", FIRMWARE, f"BUILD={build}", "fuzz"], check=True, capture_output=True
    )
    seed_dir = tmp_path / "seeds"
    shutil.copytree(REPRO, seed_dir)
    for i, fb in enumerate(seeds + [int8_seed]):
        (seed_dir / f"seed{i}.tflite").write_bytes(fb)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    res = subprocess.run(
        [str(build / "fuzz_model"), "-max_total_time=20", "-max_len=262144", "-seed=1"]
        + ["-rss_limit_mb=4096", "-print_final_stats=1", str(corpus), str(seed_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    tail = res.stderr[-3000:]
    assert res.returncode == 0, tail
    assert "runtime error" not in res.stderr and "Sanitizer" not in res.stderr, tail
    assert "stat::number_of_executed_units" in res.stderr, tail
