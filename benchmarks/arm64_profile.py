"""Instructions of one arm64 inference per function (where the non-bconv instructions go).

Counted as `bench.count_arm64` counts (qemu-aarch64-static's executed-block trace between
kfda_counter_start and kfda_counter_ticks, export/emulation.py), each executed block
charged to the function holding its address (`aarch64-linux-gnu-nm -n`). The total equals
bench.py's whole-model arm64 count for the same model and input (zeros).

    python benchmarks/arm64_profile.py small_bnn            # the example BNN
    python benchmarks/arm64_profile.py quicknet_small       # Larq Zoo's, 32x32 (vs_tflite.py's)
    python benchmarks/arm64_profile.py layer                # bench.py's 3x3 64->64 16x16 layer
    python benchmarks/arm64_profile.py layer --cflags=-DKFDA_BENCH_SKIP_BCONV
    python benchmarks/arm64_profile.py int8_twin --cpu cortex-a76   # Pi 5's core (dotprod)
    python benchmarks/arm64_profile.py int8_layer --cpu cortex-a72  # Pi 4's core

--cpu picks qemu's CPU model (default: qemu's own, `max`, which no Pi is; it has dotprod).
--target armv7 profiles the armv7 build (qemu-arm-static; armv7_count.py's total).
--blocks N also lists the N most executed basic blocks (address, function, instructions,
runs, total: the hot loops); --keep DIR keeps the build (kfda_app, for objdump -d).
"""

import argparse
import bisect
import collections
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from keras_fda.export import emulation, platforms  # noqa: E402

import bench  # noqa: E402

NM = {"arm64": "aarch64-linux-gnu-nm", "armv7": "arm-linux-gnueabihf-nm"}


def function_names(binary, target="arm64"):
    """pc -> the name of the function holding it in `binary` (the target's `nm -n`; a
    Thumb symbol's odd address taken even), "?" before the first one."""
    syms = []
    nm = subprocess.run([NM[target], "-n", binary], capture_output=True, text=True)
    for line in nm.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16) & ~1, parts[2]))
    syms.sort()
    addrs = [a for a, _ in syms]

    def name_of(pc):
        i = bisect.bisect_right(addrs, pc) - 1
        return syms[i][1] if i >= 0 else "?"

    return name_of


def profile(fb, cflags, work, cpu=None, blocks=None, target="arm64"):
    """Instructions per function; `blocks` (a dict), when given, gets per executed block
    (pc, size) its number of runs."""
    model = os.path.join(work, "model.tflite")
    with open(model, "wb") as f:
        f.write(fb)
    build = os.path.join(work, "build")
    subprocess.run(
        ["make", "-s", "-C", os.path.join(bench.FIRMWARE, "targets", "linux"), "-j2"]
        + [f"TARGET={target}", f"BUILD={build}", f"EXTRA_CFLAGS={cflags}"],
        check=True,
        capture_output=True,
        text=True,
    )
    binary = os.path.join(build, "kfda_app")
    name_of = function_names(binary, target)
    record = bytes(bench.host_plan(fb, work)["inputs"][0]["bytes"])
    per = collections.Counter()

    def charge(pc, size, line):
        per[name_of(pc)] += size
        if blocks is not None:
            blocks[pc, size] = blocks.get((pc, size), 0) + 1

    emulation.count_linux_instructions(
        platforms.TARGETS[target], binary, model, record, work, cpu=cpu, charge=charge
    )
    return per, name_of


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "model", choices=["small_bnn", "quicknet_small", "layer", "int8_twin", "int8_layer"]
    )
    ap.add_argument("--cflags", default="", help="EXTRA_CFLAGS of the build")
    ap.add_argument("--cpu", default=None, help="qemu -cpu, e.g. cortex-a72 or cortex-a76")
    ap.add_argument("--target", default="arm64", choices=sorted(NM), help="arm64 or armv7")
    ap.add_argument("--blocks", type=int, default=0, help="list the N most executed blocks")
    ap.add_argument("--keep", default=None, help="build in DIR and keep it")
    args = ap.parse_args()
    if args.model == "small_bnn":
        fb = bench.convert(bench.example_bnn())
    elif args.model == "quicknet_small":
        import vs_tflite  # its model, built once there

        fb = bench.convert(vs_tflite.quicknet_small())
    elif args.model == "layer":
        fb = bench.convert(bench.bconv_layer())
    elif args.model == "int8_twin":
        fb = bench.convert(bench.conv_twin(bench.example_bnn()), **bench.INT8)
    else:
        fb = bench.convert(bench.conv_s8_layer(), **bench.INT8)
    blocks = {} if args.blocks else None
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        per, name_of = profile(fb, args.cflags, args.keep, args.cpu, blocks, args.target)
    else:
        with tempfile.TemporaryDirectory(prefix="kfda-prof-") as work:
            per, name_of = profile(fb, args.cflags, work, args.cpu, blocks, args.target)
    total = sum(per.values())
    bench.table(
        f"{args.model} on {args.target} ({args.cpu or 'qemu max'}) per function; "
        f"total {total:,} instructions",
        ["function", "instructions", "share"],
        [[f, f"{n:,}", f"{100 * n / total:.1f}%"] for f, n in per.most_common() if n >= 1000],
    )
    if blocks:
        top = sorted(blocks.items(), key=lambda kv: -kv[0][1] * kv[1])[: args.blocks]
        bench.table(
            f"the {len(top)} most executed blocks",
            ["block", "function", "instructions", "runs", "total"],
            [
                [hex(pc), name_of(pc), size, f"{runs:,}", f"{size * runs:,}"]
                for (pc, size), runs in top
            ],
        )


if __name__ == "__main__":
    main()
