"""The Larq Zoo closing table: one row per architecture and target (arm64, armv7 under
qemu-user, the Cortex-M7 board mps2-an500 under qemu-system-arm) with the ops, the largest
difference from the LCE interpreter, instructions per inference, flash and arena.

Each architecture is built as tests/test_zoo.py builds it (tests/zoo_models.py: random
weights, small inputs, logits), exported once into --work (reused on the next run: delete a
folder to export it again) and run on the test's two inputs. Instructions are counted as
bench.py counts them: exactly per inference on the Cortex-M7 (-icount), on arm64 and armv7
from qemu-user's block trace of the first record. Flash is the linked board image on the
Cortex-M7 and the flatbuffer on Linux. A model whose flatbuffer or arena does not fit the
board's real memory (export/platforms.py) gets one row saying so.

    python benchmarks/zoo.py [NAME ...] [--work DIR] [--jsonl FILE]

Prints a Markdown table (benchmarks/README.md has the last one) and, with --jsonl, appends
each row as a JSON line.
"""

import argparse
import collections
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import keras_fda  # noqa: E402,F401  (Keras 2 before TensorFlow/Larq)
from keras_fda.errors import KerasFDAError  # noqa: E402
from keras_fda.export import runner  # noqa: E402
from keras_fda.export.graph import read_graph  # noqa: E402

from zoo_models import (  # noqa: E402
    ARCHITECTURES,
    CORTEX_M_BOARD,
    LINUX_TARGETS,
    export_once,
    inputs,
    lce_outputs,
    max_rel_diff,
)


def rows_for(name, work, count_linux=True):
    side = ARCHITECTURES[name][1]
    label = f"{name} ({side}x{side}x3)"
    try:
        folder, why_not = export_once(name, work)
    except KerasFDAError as error:
        return [dict(architecture=label, target="-", error=str(error).splitlines()[0])]
    with open(os.path.join(folder, "model.tflite"), "rb") as f:
        graph = read_graph(f.read())
    ops = collections.Counter(op.type for op in graph.ops)
    op_text = ", ".join(f"{k} {v}" for k, v in sorted(ops.items()))
    with open(os.path.join(folder, "manifest.json")) as f:
        shape = json.load(f)["input"]["shape"][1:]
    x = inputs(shape)
    want = lce_outputs(folder, x)
    rows = []
    for board in LINUX_TARGETS + [CORTEX_M_BOARD]:
        row = dict(architecture=label, target=board, ops=op_text, op_count=len(graph.ops))
        if board == CORTEX_M_BOARD and why_not:
            row["error"] = why_not.splitlines()[0]
            rows.append(row)
            continue
        count = count_linux or board == CORTEX_M_BOARD
        got, stats = runner.run_package(folder, x, board=board, count_instructions=count)
        row.update(
            max_rel_diff=max_rel_diff(got, want),
            instructions=stats.get("instructions_per_inference"),
            flash=stats.get("flash_bytes") or stats["model_bytes"],
            flash_is_image="flash_bytes" in stats,
            arena=stats["arena_bytes"],
        )
        rows.append(row)
    return rows


def markdown(rows):
    lines = [
        "| architecture (input) | target | ops | max rel. diff vs LCE | instructions / inference"
        " | flash | arena |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(
                f"| {r['architecture']} | {r['target']} | {r.get('ops', '')} | {r['error']} | | | |"
            )
            continue
        ins = f"{r['instructions']:,}" if r.get("instructions") else "not counted"
        flash = f"{r['flash']:,}" if r["flash_is_image"] else f"model {r['flash']:,}"
        lines.append(
            f"| {r['architecture']} | {r['target']} | {r['op_count']}: {r['ops']} "
            f"| {r['max_rel_diff']:.1e} | {ins} | {flash} | {r['arena']:,} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="architectures (default: the whole zoo)")
    parser.add_argument("--work", default="/tmp/kfda-zoo", help="exported packages (kept)")
    parser.add_argument("--jsonl", help="append each row to this file as JSON")
    parser.add_argument("--export-only", action="store_true", help="only fill --work")
    parser.add_argument(
        "--no-linux-count",
        action="store_true",
        help="count instructions on the Cortex-M7 only (qemu-user's trace of a deep model is slow)",
    )
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rows = []
    for name in args.names or list(ARCHITECTURES):
        start = time.time()
        if args.export_only:
            try:
                export_once(name, args.work)
            except KerasFDAError as error:
                print(f"{name}: {str(error).splitlines()[0]}", file=sys.stderr)
            print(f"{name}: exported in {time.time() - start:.0f} s", file=sys.stderr, flush=True)
            continue
        new = rows_for(name, args.work, count_linux=not args.no_linux_count)
        print(f"{name}: {time.time() - start:.0f} s", file=sys.stderr, flush=True)
        if args.jsonl:
            with open(args.jsonl, "a") as f:
                for row in new:
                    f.write(json.dumps(row) + "\n")
        rows += new
    print(markdown(rows))


if __name__ == "__main__":
    main()
