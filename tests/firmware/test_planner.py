"""Memory planner: hand-worked cases with exact offsets, the overlap checker on random
buffer sets, a real model's plan, and an arena one byte too small that must fail."""
import json
import subprocess

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tests.firmware.conftest import convert


def plan_buffers(host, tmp_path, bufs):
    path = tmp_path / "bufs.txt"
    path.write_text("".join(f"{s} {a} {b}\n" for s, a, b in bufs))
    res = subprocess.run([host, "planbufs", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


# (buffers as (size, first, last), expected offsets, expected total); alignment 16.
HAND_WORKED = [
    # a chain: each buffer meets only its neighbours, so two slots alternate
    ([(100, 0, 1), (50, 1, 2), (30, 2, 3)], [0, 112, 0], 176),
    # all alive at once: stacked largest first (64 at 0, 48 at 64, 16 at 112)
    ([(16, 0, 5), (64, 0, 5), (48, 0, 5)], [112, 0, 64], 128),
    # disjoint lifetimes share offset 0; the total is the largest buffer
    ([(40, 0, 0), (200, 1, 1), (8, 2, 2)], [0, 0, 0], 208),
    # a small buffer fits in the gap left between two others
    ([(64, 0, 2), (32, 0, 0), (64, 0, 2), (16, 1, 2)], [0, 128, 64, 128], 160),
    # zero-sized buffers take no space
    ([(0, 0, 3), (32, 0, 3)], [0, 0], 32),
]


@pytest.mark.parametrize("bufs,offsets,total", HAND_WORKED)
def test_hand_worked_plans(host, tmp_path, bufs, offsets, total):
    res = plan_buffers(host, tmp_path, bufs)
    assert res["offsets"] == offsets
    assert res["total"] == total
    assert res["check"] == 0


def test_random_plans_never_overlap(host, tmp_path):
    rng = np.random.RandomState(0)
    for trial in range(20):
        n = rng.randint(1, 60)
        first = rng.randint(0, 30, n)
        bufs = [(int(rng.randint(0, 5000)), int(f), int(f + rng.randint(0, 8))) for f in first]
        res = plan_buffers(host, tmp_path, bufs)
        assert res["check"] == 0
        # independent overlap check in Python
        for i, (si, fi, li) in enumerate(bufs):
            for j, (sj, fj, lj) in enumerate(bufs[:i]):
                if si and sj and fi <= lj and fj <= li:
                    oi, oj = res["offsets"][i], res["offsets"][j]
                    assert oi + si <= oj or oj + sj <= oi
        # bounded below by the largest live set, above by the sum of all buffers
        peak = max(sum(s for s, f, l in bufs if f <= t <= l) for t in range(40))
        assert peak <= res["total"] <= sum(-(-s // 16) * 16 for s, _, _ in bufs)


@pytest.fixture(scope="module")
def small_bnn(tmp_path_factory):
    x = tf.keras.Input((8, 8, 32))
    y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                              kernel_quantizer="ste_sign", use_bias=False)(x)
    y = tf.keras.layers.BatchNormalization()(y)
    y = tf.keras.layers.GlobalAveragePooling2D()(y)
    y = tf.keras.layers.Dense(4)(y)
    path = tmp_path_factory.mktemp("planner") / "small.tflite"
    path.write_bytes(convert(tf.keras.Model(x, y)))
    return str(path)


def test_real_model_plan_and_too_small_arena(host, small_bnn):
    plan = json.loads(subprocess.run([host, "plan", small_bnn], capture_output=True,
                                     text=True, check=True).stdout)
    need = plan["arena_bytes"]
    # op 0 (LceQuantize) holds the float input (8 KiB) and its packed copy (256 B);
    # op 1 holds the packed copy and the float conv output (8 KiB), which reuses the
    # input's place: the plan needs one 8 KiB slot, not two
    assert 8192 + 256 <= need < 2 * 8192
    ok = subprocess.run([host, "load", small_bnn, str(need)], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["status"] == "ok"
    small = subprocess.run([host, "load", small_bnn, str(need - 1)], capture_output=True, text=True)
    assert small.returncode == 1
    res = json.loads(small.stdout)
    assert res["status"] == "arena too small" and res["arena_bytes"] == need
