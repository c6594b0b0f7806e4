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
    for _trial in range(20):
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
        peak = max(sum(s for s, f, last in bufs if f <= t <= last) for t in range(40))
        assert peak <= res["total"] <= sum(-(-s // 16) * 16 for s, _, _ in bufs)


@pytest.fixture(scope="module")
def small_bnn(tmp_path_factory):
    x = tf.keras.Input((8, 8, 32))
    y = lq.layers.QuantConv2D(
        32,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        use_bias=False,
    )(x)
    y = tf.keras.layers.BatchNormalization()(y)
    y = tf.keras.layers.GlobalAveragePooling2D()(y)
    y = tf.keras.layers.Dense(4)(y)
    path = tmp_path_factory.mktemp("planner") / "small.tflite"
    path.write_bytes(convert(tf.keras.Model(x, y)))
    return str(path)


def test_real_model_plan_and_too_small_arena(host, small_bnn):
    plan = json.loads(
        subprocess.run([host, "plan", small_bnn], capture_output=True, text=True, check=True).stdout
    )
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


def _max_live_without_in_place(fb):
    """Largest sum of the non-constant tensors alive at one op, from TFLite's own reading
    of the flatbuffer: what any plan needs when every tensor has its own bytes."""
    interp = tf.lite.Interpreter(model_content=fb)
    ops = interp._get_ops_details()
    det = {d["index"]: d for d in interp.get_tensor_details()}
    written = {t for op in ops for t in op["outputs"]}
    graph_in = {d["index"] for d in interp.get_input_details()}
    life = {t: [0, 0] for t in graph_in}
    for k, op in enumerate(ops):
        for t in list(op["inputs"]) + list(op["outputs"]):
            if t >= 0 and (t in written or t in graph_in):
                a = life.setdefault(t, [k, k])
                a[0], a[1] = min(a[0], k), max(a[1], k)
    for d in interp.get_output_details():
        life[d["index"]][1] = len(ops) - 1
    nbytes = {t: int(np.prod(det[t]["shape"])) * det[t]["dtype"]().itemsize for t in life}
    return max(sum(nbytes[t] for t, (a, b) in life.items() if a <= k <= b) for k in range(len(ops)))


def test_shortcut_add_runs_in_place(kfda):
    """x + bconv(x) with x dying at the ADD: the ADD's output takes x's bytes, so the
    arena is below what any plan giving each tensor its own bytes needs, and the outputs
    still match the LCE interpreter (a shortcut used twice must not be overwritten)."""
    from tests.firmware.conftest import compare

    x = tf.keras.Input((12, 12, 3))
    y = tf.keras.layers.Conv2D(32, 3, padding="same", use_bias=False)(x)
    for _ in range(2):
        z = lq.layers.QuantConv2D(
            32,
            3,
            padding="same",
            pad_values=1.0,
            input_quantizer="ste_sign",
            kernel_quantizer="ste_sign",
            use_bias=False,
        )(y)
        z = tf.keras.layers.BatchNormalization()(z)
        y = tf.keras.layers.Add()([y, z])
    # y read by MUL (twice: by the scaling and the product) and by the ADD after it
    twice = tf.keras.layers.Multiply()([tf.keras.layers.Rescaling(0.01)(y), y])
    y = tf.keras.layers.Add()([twice, y])
    y = tf.keras.layers.GlobalAveragePooling2D()(y)
    model = tf.keras.Model(x, tf.keras.layers.Dense(4)(y))
    rng = np.random.RandomState(3)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            c = layer.get_weights()[0].shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 2, c),
                    rng.normal(0, 0.5, c),
                    rng.normal(0, 0.5, c),
                    rng.uniform(0.5, 2, c),
                ]
            )
    fb = convert(model)
    plan = kfda.plan(fb)
    assert plan["planned_bytes"] < _max_live_without_in_place(fb)
    compare(kfda, fb, [rng.normal(0, 1, (2, 12, 12, 3)).astype(np.float32)])


def test_arena_holds_the_tables_and_the_planner_workspace(host, small_bnn):
    """kfda.h's layout: arena = persistent part (tables, params) + max(planned part,
    planner workspace); kfda_model is a header, not tables; an arena too small even for
    the tables fails with a lower bound of the need, never more."""
    plan = json.loads(
        subprocess.run([host, "plan", small_bnn], capture_output=True, text=True, check=True).stdout
    )
    need = plan["arena_bytes"]
    assert need == plan["persist_bytes"] + max(plan["planned_bytes"], plan["workspace_bytes"])
    assert plan["workspace_bytes"] > 0 and plan["persist_bytes"] > 0
    assert plan["model_struct_bytes"] <= 512
    tiny = subprocess.run([host, "load", small_bnn, "32"], capture_output=True, text=True)
    res = json.loads(tiny.stdout)
    assert tiny.returncode == 1 and res["status"] == "arena too small"
    assert 32 < res["arena_bytes"] <= need
