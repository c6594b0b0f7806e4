"""num_threads on arm64 (issue 16 part 3): instructions of one inference executed by each
thread, for 1, 2 and 4 threads, under qemu-aarch64-static. Not a test: run
`python benchmarks/threads.py` (about 10 minutes on 2 cores).

Counting: as `emulation.count_linux_instructions` counts (qemu-user's `-d in_asm` gives
each translated block's instructions, `-d exec,nochain` one line per executed block), with
each executed block charged to the thread that ran it: in qemu-user every guest thread is
a vCPU and its trace lines read `Trace CPU_INDEX: ...`. The window is the main thread's
kfda_counter_start .. kfda_counter_ticks around one invoke (the pool's threads start at
load, before it; waiting threads block in futex and execute nothing). The figure that
bounds the latency is the busiest thread's count; the goal of the issue is at most 0.3x
the single-thread count at 4 threads.

Models: the README's example BNN (bench.example_bnn, keras_fda.models.small_bnn) at
28x28x1 and Larq Zoo's QuickNetSmall at 32x32x3 (as tests/test_zoo.py builds it), float
input and output, converted for "arm".
"""

from keras_fda.export import emulation, platforms

import argparse
import collections
import os
import subprocess
import sys
import tempfile

import bench
from arm64_profile import function_names

FIRMWARE = bench.FIRMWARE


def build_arm64(work):
    """The Linux application (firmware/targets/linux) for arm64, every op, threads on."""
    build = os.path.join(work, "arm64-threads")
    subprocess.run(
        ["make", "-s", "-C", os.path.join(FIRMWARE, "targets", "linux"), "-j2", "TARGET=arm64"]
        + [f"BUILD={build}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return os.path.join(build, "kfda_app")


def count_per_thread(binary, model_path, record, work, threads, name_of=None):
    """{vCPU index: instructions} of one inference on `threads` threads (0: the caller);
    with `name_of` (pc -> function) also {(vCPU, function): instructions}."""
    counts, by_function = collections.Counter(), collections.Counter()

    def charge(pc, size, line):
        cpu = int(line[6 : line.index(b":")])  # "Trace CPU: ..."
        counts[cpu] += size
        if name_of is not None:
            by_function[cpu, name_of(pc)] += size

    env = dict(os.environ, KFDA_NUM_THREADS=str(threads))
    total = emulation.count_linux_instructions(
        platforms.TARGETS["arm64"], binary, model_path, record, work, env=env, charge=charge
    )
    if total is None:
        raise RuntimeError(f"{binary} {model_path} did not count one inference")
    return counts, by_function


def models(names, side=32):
    for name in names:
        if name == "small_bnn":
            yield name, bench.example_bnn()
        elif name == "QuickNetSmall":
            import larq_zoo
            import tensorflow as tf

            tf.keras.utils.set_random_seed(0)
            model = larq_zoo.sota.QuickNetSmall(
                input_shape=(side, side, 3), weights=None, num_classes=10
            )
            yield f"{name} {side}x{side}", model
        else:
            raise SystemExit(f"threads.py: unknown model {name}: small_bnn or QuickNetSmall")


def print_by_function(title, counts, by_function, least=5000):
    """Each function's instructions on every thread (caller first), the busiest's largest
    first; functions under `least` on every thread left out."""
    cpus = sorted(counts)
    busiest = max(cpus, key=counts.get)
    functions = {f for _, f in by_function}
    rows = [
        [f] + [f"{by_function[c, f]:,}" for c in cpus]
        for f in sorted(functions, key=lambda f: -by_function[busiest, f])
        if max(by_function[c, f] for c in cpus) >= least
    ]
    bench.table(title, ["function"] + [f"thread {c}" for c in cpus], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="small_bnn,QuickNetSmall")
    ap.add_argument("--threads", default="1,2,4")
    ap.add_argument("--side", type=int, default=32, help="QuickNetSmall's input side")
    ap.add_argument(
        "--by-function",
        action="store_true",
        help="also print each thread's instructions per function (where the busiest one's go)",
    )
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kfda-threads-") as work:
        binary = build_arm64(work)
        name_of = function_names(binary) if args.by_function else None
        for name, model in models(args.models.split(","), args.side):
            fb = bench.convert(model)
            path = os.path.join(work, f"{name.split()[0]}.tflite")
            with open(path, "wb") as f:
                f.write(fb)
            record = bytes(bench.host_plan(fb, work)["inputs"][0]["bytes"])
            single = None
            for threads in thread_counts:
                counts, by_function = count_per_thread(binary, path, record, work, threads, name_of)
                busiest, total = max(counts.values()), sum(counts.values())
                single = single or (total if threads == 1 else None)
                per_thread = " / ".join(f"{counts[c]:,}" for c in sorted(counts))
                ratio = f"{busiest / single:.3f}x" if single else "-"
                rows.append([name, threads, f"{busiest:,}", ratio, f"{total:,}", per_thread])
                print(rows[-1], file=sys.stderr, flush=True)
                if by_function:
                    print_by_function(f"{name}, {threads} threads", counts, by_function)
    bench.table(
        "arm64 instructions per inference by thread (qemu-aarch64-static 7.2, one inference)",
        [
            "model",
            "threads",
            "busiest thread",
            "busiest / 1 thread",
            "all threads",
            "per thread (caller first)",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
