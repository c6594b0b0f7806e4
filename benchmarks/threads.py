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

import argparse
import os
import subprocess
import sys
import tempfile

import bench

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


def count_per_thread(binary, model_path, record, work, threads):
    """{vCPU index: instructions} of one inference on `threads` threads (0: the caller)."""
    input_path = os.path.join(work, "threads_input.bin")
    with open(input_path, "wb") as f:
        f.write(record)
    command = ["qemu-aarch64-static", "-d", "in_asm,exec,nochain", "-D", "/dev/stderr"]
    command += [binary, model_path, input_path, os.path.join(work, "threads_output.bin")]
    env = dict(os.environ, KFDA_NUM_THREADS=str(threads))
    proc = subprocess.Popen(
        command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sizes, block_pc, block_size = {}, None, 0
    counting, counts, done = False, {}, False
    for line in proc.stderr:
        if line.startswith(b"Trace "):
            if done:
                continue
            cpu = int(line[6 : line.index(b":")])
            if counting:
                if line.endswith(b" kfda_counter_ticks\n"):
                    counting, done = False, True
                else:
                    counts[cpu] = counts.get(cpu, 0) + sizes.get(int(line.split(b"/", 2)[1], 16), 0)
            elif line.endswith(b" kfda_counter_start\n"):
                counting, counts = True, {}
        elif line.startswith(b"0x"):
            if block_pc is None:
                block_pc = int(line[: line.index(b":")], 16)
            block_size += 1
        elif line.startswith(b"IN:"):
            block_pc, block_size = None, 0
        elif not line.strip() and block_pc is not None:
            sizes[block_pc], block_pc = block_size, None
    if proc.wait() != 0 or not done:
        raise RuntimeError(f"{' '.join(command)} did not count one inference")
    return counts


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="small_bnn,QuickNetSmall")
    ap.add_argument("--threads", default="1,2,4")
    ap.add_argument("--side", type=int, default=32, help="QuickNetSmall's input side")
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kfda-threads-") as work:
        binary = build_arm64(work)
        for name, model in models(args.models.split(","), args.side):
            fb = bench.convert(model)
            path = os.path.join(work, f"{name.split()[0]}.tflite")
            with open(path, "wb") as f:
                f.write(fb)
            record = bytes(bench.host_plan(fb, work)["inputs"][0]["bytes"])
            single = None
            for threads in thread_counts:
                counts = count_per_thread(binary, path, record, work, threads)
                busiest, total = max(counts.values()), sum(counts.values())
                single = single or (total if threads == 1 else None)
                per_thread = " / ".join(f"{counts[c]:,}" for c in sorted(counts))
                ratio = f"{busiest / single:.3f}x" if single else "-"
                rows.append([name, threads, f"{busiest:,}", ratio, f"{total:,}", per_thread])
                print(rows[-1], file=sys.stderr, flush=True)
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
