"""Instructions of one armv7 inference of the example BNN (or bench.py's bconv layer),
counted as `bench.count_arm64` counts on arm64: qemu-arm-static's executed-block trace
between kfda_counter_start and kfda_counter_ticks (export/emulation.py), input all zeros.

    python benchmarks/armv7_count.py                 # small_bnn
    python benchmarks/armv7_count.py quicknet_small  # Larq Zoo's, 32x32 (vs_tflite.py's)
    python benchmarks/armv7_count.py layer           # LceQuantize + LceBconv2d 3x3 64->64 16x16
    python benchmarks/armv7_count.py layer --cflags=-DKFDA_BENCH_SKIP_BCONV   # minus this
    python benchmarks/armv7_count.py --firmware DIR  # another checkout's firmware/ (a before)

Per function: benchmarks/arm64_profile.py's charging, arm64 only.
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "model", nargs="?", default="small_bnn", choices=["small_bnn", "quicknet_small", "layer"]
    )
    ap.add_argument("--firmware", default=bench.FIRMWARE, help="the firmware/ folder to build")
    ap.add_argument("--cflags", default="", help="EXTRA_CFLAGS of the build")
    args = ap.parse_args()
    if args.model == "small_bnn":
        fb = bench.convert(bench.example_bnn())
    elif args.model == "quicknet_small":
        import vs_tflite  # its model, built once there

        fb = bench.convert(vs_tflite.quicknet_small())
    else:
        fb = bench.convert(bench.bconv_layer())
    with tempfile.TemporaryDirectory(prefix="kfda-armv7-") as work:
        model = os.path.join(work, "model.tflite")
        with open(model, "wb") as f:
            f.write(fb)
        build = os.path.join(work, "build")
        subprocess.run(
            ["make", "-s", "-C", os.path.join(args.firmware, "targets", "linux"), "-j2"]
            + ["TARGET=armv7", f"BUILD={build}", f"EXTRA_CFLAGS={args.cflags}"],
            check=True,
            capture_output=True,
            text=True,
        )
        record = bytes(bench.host_plan(fb, work)["inputs"][0]["bytes"])
        n = bench.emulation.count_linux_instructions(
            bench.platforms.TARGETS["armv7"], os.path.join(build, "kfda_app"), model, record, work
        )
    print(f"{args.model} on armv7: {n:,} instructions per inference")


if __name__ == "__main__":
    main()
