"""keras-fda benchmarks: instruction counts under QEMU (deterministic), printed as tables of
ratios measured in one run. Not a test: run `make bench` (or `python benchmarks/bench.py`).

Tables
  1. per layer, per target: a 3x3 64->64 binary conv on 16x16 (float output): instructions of
     the LceBconv2d op, binary MACs, instructions per binary MAC, optimized vs reference.
     The op's instructions = the model's count minus the count of the same build with the
     bconv kernel stubbed out (-DKFDA_BENCH_SKIP_BCONV), so packing and I/O are excluded
     (the reference's stubbed build is a reference build too: LceQuantize differs).
  2. whole model: the README's example BNN (keras_fda.models.small_bnn) and a Bi-Real-style
     net, vs the same architectures with int8 convs (tfmot-free default int8 ranges), run by
     our own kernels on Cortex-M4: instructions per inference and weight bytes.
     Weight bytes also for the float32 twin (the same Conv2D architecture unquantized):
     the int8/BNN and float32/BNN ratios (1-bit weights: at most 8x and 32x).
  3. peak RAM: our arena (planned with in-place ADD/MUL/RESHAPE, + persistent data) vs
     TFLite Micro's greedy first-fit planner on the same graph, and the largest set of
     tensors alive at one op (the floor for any planner without in-place ops).
  ops (only with --only ops): instructions of each op of one inference of the example
     BNN and of its int8 twin on Cortex-M4 (-DKFDA_PROFILE_OPS: the counter around
     each op), to see where the instructions that are not the binary conv go.
  4. training step time of a QuantConv2D network per estimator, relative to Larq ste_sign.
  ram (only with --only ram): total RAM of the example BNN exported with `keras-fda export`
     for cortex-m4, float and --int8: arena + runtime state + stack estimate (the
     manifest's `ram`, export/ram.py) against the RAM of mps2-an386 and of the STM32F405
     (board netduinoplus2, 128 KiB), and the int8/float arena ratio.
Options: --quick (skip arm64 and training), --only TABLE[,TABLE].
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import keras_fda  # noqa: E402,F401  (Keras 2 before TensorFlow/Larq)
from keras_fda.export import emulation, plan, platforms  # noqa: E402
from keras_fda.export.build import build_host_tool  # noqa: E402

import larq as lq  # noqa: E402
import larq_compute_engine as lce  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

FIRMWARE = os.path.join(ROOT, "firmware")
L = tf.keras.layers
QK = dict(
    input_quantizer="ste_sign",
    kernel_quantizer="ste_sign",
    kernel_constraint="weight_clip",
    use_bias=False,
)
INT8 = dict(
    experimental_default_int8_range=(-3.0, 3.0),
    inference_input_type=tf.int8,
    inference_output_type=tf.int8,
)
VARIANTS = {
    "opt": "",
    "ref": "-DKFDA_KERNELS_REF",
    "skip": "-DKFDA_BENCH_SKIP_BCONV",
    "skip-ref": "-DKFDA_KERNELS_REF -DKFDA_BENCH_SKIP_BCONV",
}
VARIANTS_S8 = {
    "opt": "",
    "ref": "-DKFDA_KERNELS_REF",
    "skip": "-DKFDA_BENCH_SKIP_CONV_S8",
    "skip-ref": "-DKFDA_KERNELS_REF -DKFDA_BENCH_SKIP_CONV_S8",
}


def _randomize(model, seed=0):
    rng = np.random.RandomState(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        if isinstance(layer, L.BatchNormalization):  # gamma and beta are optional
            draw = {
                "gamma": lambda shape: rng.uniform(0.5, 1.5, shape),
                "beta": lambda shape: rng.normal(0, 0.3, shape),
                "moving_mean": lambda shape: rng.normal(0, 0.3, shape),
                "moving_variance": lambda shape: rng.uniform(0.5, 1.5, shape),
            }
            names = [v.name.split("/")[-1].split(":")[0] for v in layer.weights]
            ws = [draw[name](w.shape) for name, w in zip(names, ws)]
        else:
            ws = [rng.normal(0, 0.5, w.shape) for w in ws]
        layer.set_weights([w.astype(np.float32) for w in ws])


def host_plan(fb, work):
    """The runtime's memory plan of the flatbuffer `fb` (`kfda_host plan`'s JSON)."""
    path = os.path.join(work, "plan.tflite")
    with open(path, "wb") as f:
        f.write(fb)
    return plan.run_plan(path, build_host_tool())


# ---- counting one inference ---------------------------------------------------------------


def run_m4(fb, name, cflags, tag, work, board="mps2-an386"):
    """The application's output for one inference on a Cortex-M board (qemu -icount)."""
    model_dir = os.path.join(work, name)
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "model.tflite"), "wb") as f:
        f.write(fb)
    plan = host_plan(fb, work)
    record = np.zeros(plan["inputs"][0]["bytes"], np.uint8)
    record.tofile(os.path.join(model_dir, "input.bin"))
    build = os.path.join(work, f"{name}-{board}-{tag}")
    arena = -(-plan["arena_bytes"] // 1024) * 1024 + 1024
    args = [
        "make",
        "-s",
        "-C",
        os.path.join(FIRMWARE, "boards", board),
        f"MODEL={model_dir}",
        f"BUILD={build}",
        f"ARENA={arena}",
        f"EXTRA_CFLAGS={cflags}",
    ]
    subprocess.run(args + ["-j2", "all"], check=True, capture_output=True, text=True)
    res = subprocess.run(
        args + [f"INPUT={model_dir}/input.bin", "run"], capture_output=True, text=True, timeout=1800
    )
    return res.stdout + res.stderr


def count_m4(fb, name, variant, work, board="mps2-an386", variants=VARIANTS):
    """Instructions of one inference on a Cortex-M board under qemu -icount shift=0."""
    out = run_m4(fb, name, variants[variant], variant, work, board)
    stats = emulation.parse_app_output(out)
    if "instructions_per_inference" in stats:
        return stats["instructions_per_inference"][0]
    raise RuntimeError(f"no count from {board}: {out[-2000:]}")


def ops_m4(fb, name, work, board="mps2-an386"):
    """Instructions of each op of one inference (-DKFDA_PROFILE_OPS): [(index, op, count)]."""
    out = run_m4(fb, name, "-DKFDA_PROFILE_OPS", "ops", work, board)
    ops = [
        (int(i), op, int(n))
        for i, op, n in re.findall(r"^kfda: op (\d+) (\w+) (\d+)\s*$", out, re.M)
    ]
    if not ops:
        raise RuntimeError(f"no per-op counts from {board}: {out[-2000:]}")
    return ops


def count_arm64(fb, name, variant, work, variants=VARIANTS, cpu=None, record=None):
    """Instructions of one inference on arm64 (qemu-user block-level count; `cpu`: the
    qemu -cpu model, qemu's default when None; `record`: the input bytes, zeros when
    None)."""
    model = os.path.join(work, f"{name}.tflite")
    with open(model, "wb") as f:
        f.write(fb)
    plan = host_plan(fb, work)
    build = os.path.join(work, f"arm64-{name}-{variant}")
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            os.path.join(FIRMWARE, "targets", "linux"),
            "-j2",
            "TARGET=arm64",
            f"BUILD={build}",
            f"EXTRA_CFLAGS={variants[variant]}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    if record is None:
        record = bytes(plan["inputs"][0]["bytes"])
    return emulation.count_linux_instructions(
        platforms.TARGETS["arm64"], os.path.join(build, "kfda_app"), model, record, work, cpu=cpu
    )


# ---- models ---------------------------------------------------------------------------------


def bconv_layer(cin=64, cout=64, size=16):
    x = L.Input((size, size, cin))
    y = lq.layers.QuantConv2D(cout, 3, padding="same", pad_values=1.0, **QK)(x)
    model = tf.keras.Model(x, y)
    _randomize(model)
    return model


def conv_s8_layer(cin=64, cout=64, size=16):
    """The int8 twin of bconv_layer: one Conv2D, int8 in/out (default ranges)."""
    x = L.Input((size, size, cin))
    y = L.Conv2D(cout, 3, padding="same", use_bias=False)(x)
    model = tf.keras.Model(x, y)
    _randomize(model)
    return model


def bireal_style():
    from tests.firmware.test_models import birealnet

    model = birealnet(input_shape=(32, 32, 3), filters=32)
    _randomize(model)
    return model


def example_bnn():
    from keras_fda.models import small_bnn

    model = small_bnn("ste_sign")
    _randomize(model)
    return model


def conv_twin(model):
    """The same architecture with every QuantConv2D a plain Conv2D: converted with int8
    ranges, the int8 twin; converted as it is, the float32 twin."""

    def clone(layer):
        if isinstance(layer, lq.layers.QuantConv2D):
            c = layer.get_config()
            return L.Conv2D(
                c["filters"],
                c["kernel_size"],
                strides=c["strides"],
                padding=c["padding"],
                dilation_rate=c["dilation_rate"],
                use_bias=c["use_bias"],
                name=c["name"],
            )
        return layer.__class__.from_config(layer.get_config())

    twin = tf.keras.models.clone_model(model, clone_function=clone)
    _randomize(twin, 1)
    return twin


def convert(model, **kw):
    return lce.convert_keras_model(model, target="arm", **kw)


# ---- tables ---------------------------------------------------------------------------------


def table(title, header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print(f"\n### {title}\n")
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    sys.stdout.flush()


def per_layer(work, targets):
    fb = convert(bconv_layer())
    macs = 16 * 16 * 64 * 64 * 9
    rows = []
    for target in targets:
        count = count_m4 if target == "cortex-m4" else count_arm64
        n = {v: count(fb, "layer", v, work) for v in ("skip", "opt", "skip-ref", "ref")}
        opt, ref = n["opt"] - n["skip"], n["ref"] - n["skip-ref"]  # each minus its own rest
        rows.append(
            [
                target,
                "LceBconv2d 3x3 64->64 16x16",
                f"{opt:,}",
                f"{macs:,}",
                f"{opt / macs:.3f}",
                f"{ref / macs:.3f}",
                f"{ref / opt:.2f}x",
            ]
        )
    fb8 = convert(conv_s8_layer(), **INT8)
    for target in targets:
        count = count_m4 if target == "cortex-m4" else count_arm64
        n = {
            v: count(fb8, "conv8", v, work, variants=VARIANTS_S8)
            for v in ("skip", "opt", "skip-ref", "ref")
        }
        opt, ref = n["opt"] - n["skip"], n["ref"] - n["skip-ref"]
        rows.append(
            [
                target,
                "int8 CONV_2D 3x3 64->64 16x16",
                f"{opt:,}",
                f"{macs:,}",
                f"{opt / macs:.3f}",
                f"{ref / macs:.3f}",
                f"{ref / opt:.2f}x",
            ]
        )
    table(
        "Per layer: optimized vs reference kernels (one inference, instructions; MACs are "
        "binary MACs for LceBconv2d, int8 MACs for CONV_2D)",
        [
            "target",
            "layer",
            "instructions (opt)",
            "MACs",
            "instr/MAC opt",
            "instr/MAC ref",
            "ref/opt",
        ],
        rows,
    )


def whole_model(work):
    rows, ram_rows = [], []
    for name, build in (
        ("example BNN (small_bnn)", example_bnn),
        ("Bi-Real-style 32x32", bireal_style),
    ):
        bnn = build()
        fb_bnn = convert(bnn)
        twin = conv_twin(bnn)
        fb_int8 = convert(twin, **INT8)
        tag = name.split()[0].lower()
        n_bnn = count_m4(fb_bnn, f"{tag}-bnn", "opt", work)
        n_int8 = count_m4(fb_int8, f"{tag}-int8", "opt", work)
        p_bnn, p_int8 = host_plan(fb_bnn, work), host_plan(fb_int8, work)
        w_bnn, w_int8 = p_bnn["weight_bytes"], p_int8["weight_bytes"]
        w_f32 = host_plan(convert(twin), work)["weight_bytes"]
        rows.append(
            [
                name,
                f"{n_bnn:,}",
                f"{n_int8:,}",
                f"{n_int8 / n_bnn:.2f}x",
                f"{w_bnn:,}",
                f"{w_int8:,}",
                f"{w_f32:,}",
                f"{w_int8 / w_bnn:.2f}x",
                f"{w_f32 / w_bnn:.2f}x",
            ]
        )
        for kind, fb, planned in (("BNN", fb_bnn, p_bnn), ("int8", fb_int8, p_int8)):
            greedy, peak = greedy_first_fit(fb)
            ram_rows.append(
                [
                    f"{name} {kind}",
                    f"{planned['arena_bytes']:,}",
                    f"{planned['planned_bytes']:,}",
                    f"{greedy:,}",
                    f"{peak:,}",
                    f"{planned['arena_bytes'] / greedy:.3f}x",
                ]
            )
    table(
        "Whole model on Cortex-M4 (mps2-an386, optimized kernels): BNN vs int8 twin",
        [
            "model",
            "instr BNN",
            "instr int8",
            "int8/BNN",
            "weight bytes BNN",
            "weight bytes int8",
            "weight bytes float32",
            "int8/BNN",
            "float32/BNN",
        ],
        rows,
    )
    table(
        "Peak RAM: our arena (planned + persistent + scratch) vs TFLite Micro's greedy "
        "first-fit on the same graph (activations only)",
        [
            "model",
            "our arena",
            "our planned",
            "greedy first-fit",
            "max live (no in-place)",
            "arena/greedy",
        ],
        ram_rows,
    )


def per_op(work):
    """Instructions of each op of one inference of the example BNN and of its int8 twin."""
    bnn = example_bnn()
    for kind, fb in (("BNN", convert(bnn)), ("int8 twin", convert(conv_twin(bnn), **INT8))):
        ops = ops_m4(fb, f"ops-{kind.split()[0]}", work)
        total = sum(n for _, _, n in ops)
        table(
            f"Per op on Cortex-M4 (mps2-an386, optimized kernels): example BNN (small_bnn), "
            f"{kind}; total {total:,} instructions",
            ["#", "op", "instructions", "share"],
            [[i, op, f"{n:,}", f"{100 * n / total:.1f}%"] for i, op, n in ops],
        )


def greedy_first_fit(fb, align=16):
    """TFLite Micro's GreedyMemoryPlanner on the graph's non-constant tensors: largest
    first, each at the lowest aligned offset free among the buffers alive at the same time.
    Returns (high-water mark, largest sum of the tensors alive at one op): the second is
    a lower bound for any planner that gives every tensor its own bytes."""
    life, size = _lifetimes(fb)
    placed, high = [], 0
    for t in sorted(life, key=lambda t: -size[t]):
        s, (a, b) = -(-size[t] // align) * align, life[t]
        live = sorted((o, o + z) for (o, z, a2, b2) in placed if a2 <= b and a <= b2)
        off = 0
        for lo, hi in live:
            if off + s <= lo:
                break
            off = max(off, -(-hi // align) * align)
        placed.append((off, s, a, b))
        high = max(high, off + s)
    steps = range(max(b for _, b in life.values()) + 1)
    peak = max(sum(size[t] for t, (a, b) in life.items() if a <= k <= b) for k in steps)
    return high, peak


def _lifetimes(fb):
    """{tensor: [first op, last op]} and {tensor: bytes} of the non-constant tensors."""
    interp = tf.lite.Interpreter(model_content=fb)
    ops = interp._get_ops_details()
    details = {d["index"]: d for d in interp.get_tensor_details()}
    const = set()
    for i in details:
        try:
            interp.get_tensor(i)
            if i not in [o for op in ops for o in op["outputs"]] and i not in [
                t["index"] for t in interp.get_input_details()
            ]:
                const.add(i)
        except ValueError:
            pass
    life = {}
    for t in interp.get_input_details():
        life[t["index"]] = [0, 0]
    for k, op in enumerate(ops):
        for t in list(op["inputs"]) + list(op["outputs"]):
            if t < 0 or t in const:
                continue
            a = life.setdefault(t, [k, k])
            a[0], a[1] = min(a[0], k), max(a[1], k)
    for t in interp.get_output_details():
        life[t["index"]][1] = len(ops)
    size = {
        t: int(np.prod(details[t]["shape"])) * np.dtype(details[t]["dtype"]).itemsize for t in life
    }
    return life, size


def training(rounds=15, steps=5):
    """Step time per estimator, interleaved: every round times `steps` steps of each model
    in turn, so a change in machine load hits all estimators alike. Each ratio is the
    median over rounds of (estimator / ste_sign in the same round); ms/step the median."""
    import keras_fda.quantizers  # noqa: F401

    x = np.random.RandomState(0).normal(size=(64, 28, 28, 1)).astype(np.float32)
    y = np.random.RandomState(1).randint(0, 10, 64)
    estimators = (
        ("ste_sign (Larq)", lambda: "ste_sign"),
        ("fda", lambda: keras_fda.quantizers.FDA()),
        ("fda + noise adaptation", lambda: keras_fda.quantizers.FDA(noise_adaptation=True)),
        ("ede", lambda: keras_fda.quantizers.EDE()),
        ("approx_sign (Larq)", lambda: "approx_sign"),
    )
    models = []
    for _, make in estimators:
        tf.keras.utils.set_random_seed(0)
        inp = L.Input((28, 28, 1))
        h = L.Conv2D(32, 3, padding="same")(inp)
        for _ in range(3):
            h = lq.layers.QuantConv2D(
                32,
                3,
                padding="same",
                input_quantizer=make(),
                kernel_quantizer=make(),
                kernel_constraint="weight_clip",
                use_bias=False,
            )(h)
            h = L.BatchNormalization()(h)
        out = L.Dense(10)(L.GlobalAveragePooling2D()(h))
        model = tf.keras.Model(inp, out)
        model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.train_on_batch(x, y)  # trace + warm-up
        model.train_on_batch(x, y)
        models.append(model)
    times = np.zeros((rounds, len(models)))
    for r in range(rounds):
        for i, model in enumerate(models):
            t0 = time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(x, y)
            times[r, i] = (time.perf_counter() - t0) / steps
    ratios = times / times[:, :1]
    rows = []
    for i, (label, _) in enumerate(estimators):
        rows.append(
            [
                label,
                f"{np.median(times[:, i]) * 1e3:.1f}",
                f"{np.median(ratios[:, i]):.2f}x",
                f"{ratios[:, i].min():.2f}-{ratios[:, i].max():.2f}",
            ]
        )
    table(
        f"Training step time (QuantConv2D net, batch 64, 28x28, CPU), relative to ste_sign "
        f"({rounds} interleaved rounds of {steps} steps; medians)",
        ["estimator", "ms/step", "vs ste_sign", "range over rounds"],
        rows,
    )


RAM_MODELS = (  # (architecture, the board it is for, builds)
    ("small_bnn", "netduinoplus2", ("float", "int8")),
    ("stm32f4_bnn", "netduinoplus2", ("float", "int8")),
    ("microbit_bnn", "microbit", ("float", "int8")),
)


def ram_table(work):
    """The manifest's RAM parts of each model exported float and --int8 for the board it
    is for (untrained weights: RAM does not depend on them). A build the export
    refuses for that board is measured on the reference board of the same core."""
    from keras_fda.errors import KerasFDAError
    from keras_fda.export.pipeline import export_model
    from keras_fda.models import build

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tests"))
    from export_models import randomize_batch_norms  # a spread like trained BN statistics

    rows, arenas = [], {}
    for name, board_name, kinds in RAM_MODELS:
        model = randomize_batch_norms(build(name, "ste_sign", (28, 28, 1)))
        path = os.path.join(work, f"{name}.keras")
        model.save(path)
        calibration = os.path.join(work, "calibration.npy")
        rng = np.random.default_rng(7)
        np.save(calibration, rng.uniform(0, 1, (64,) + model.input_shape[1:]).astype(np.float32))
        board = platforms.find_board(board_name)
        for kind in kinds:
            options = dict(
                int8=kind == "int8",
                calibration=calibration if kind == "int8" else None,
                value_range=(0.0, 1.0),
                tolerance=1e-2 if kind == "float" else None,
                min_top1=0.0,
                log=lambda _: None,
                force=True,
            )
            out = os.path.join(work, f"ram-{name}-{kind}")
            try:
                manifest = export_model(path, "cortex-m", out, board=board.name, **options)
                measured_on = board.name
            except KerasFDAError as error:
                if "too large" not in str(error):
                    raise
                # the same core's QEMU reference board (4 MiB; an M3 for the M0)
                measured_on = "mps2-an386" if board.core == "cortex-m4" else "mps2-an385"
                manifest = export_model(path, "cortex-m", out, board=measured_on, **options)
            r = manifest["ram"]
            arenas[(name, kind)] = r["arena_bytes"]
            rows.append(
                [
                    f"{name} {kind}",
                    measured_on,
                    f"{r['arena_bytes']:,}",
                    f"{r['state_bytes']:,} ({r['model_struct_bytes']:,})",
                    f"{r['stack_bytes']:,}",
                    f"{r['total_bytes']:,}",
                    f"{board.name} {board.ram_bytes:,}",
                    "yes" if r["total_bytes"] <= board.ram_bytes else "no",
                ]
            )
    table(
        "Total RAM: arena + runtime state (kfda_model) + stack estimate, bytes, against the "
        "board each model is for",
        [
            "model",
            "measured on",
            "arena",
            "state (kfda_model)",
            "stack",
            "total",
            "board RAM",
            "fits",
        ],
        rows,
    )
    for name, _, _ in RAM_MODELS:
        ratio = arenas[(name, "int8")] / arenas[(name, "float")]
        print(f"int8/float arena, {name}: {ratio:.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip arm64 and training")
    ap.add_argument("--targets", default="cortex-m4,arm64", help="per-layer targets")
    ap.add_argument(
        "--only",
        default="layer,model,train",
        help="comma list of: layer, model (incl. peak RAM), ops, ram, train",
    )
    args = ap.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="kfda-bench-") as work:
        if "layer" in only:
            per_layer(
                work, [t for t in args.targets.split(",") if t == "cortex-m4" or not args.quick]
            )
        if "model" in only:
            whole_model(work)
        if "ops" in only:
            per_op(work)
        if "ram" in only:
            ram_table(work)
        if "train" in only and not args.quick:
            training()


if __name__ == "__main__":
    main()
