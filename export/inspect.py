"""`keras-fda inspect`: the op table, binary vs float MACs and sizes of a `.tflite`."""

from keras_fda.errors import KerasFDAError
from keras_fda.export.graph import format_table, is_tflite, read_graph
from keras_fda.export.plan import find_tool, run_plan

import json
import os
import re


def inspect_path(path):
    """The report for a `.tflite` file, or for a package folder holding `model.tflite`."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.tflite")
    if not os.path.isfile(path):
        raise KerasFDAError(f"no such file: {path}")
    with open(path, "rb") as f:
        data = f.read()
    if not is_tflite(data):
        raise KerasFDAError(
            f"{path} is not a TFLite flatbuffer; inspect takes a .tflite "
            "written by `keras-fda export` (or its package folder)"
        )
    text = f"{path}\n\n" + format_table(read_graph(data))
    # the firmware's own checks: a model it refuses (damaged quantisation, sizes that
    # wrap, ...) is an error here too, not a table of numbers it will never run
    tool = find_tool()
    if tool is not None:
        try:
            run_plan(path, tool)
        except KerasFDAError as error:
            missing = re.findall(r"unsupported op: (\S+) \(op (\d+)\)", str(error))
            if not missing:
                raise
            # a sound model the runtime does not run (yet): the table is still the answer
            name, index = missing[-1]
            text += (
                f"\nkeras-fda runtime: does not run this model: op {index} is {name}, which it "
                "does not implement (`kfda_host ops` lists what it runs)"
            )
    manifest = os.path.join(os.path.dirname(path), "manifest.json")
    if os.path.isfile(manifest):
        try:
            with open(manifest) as f:
                info = json.load(f)
            v = info.get("verification") or {}
            text += (
                f"\npackage: target {info.get('target')}, cpu {info.get('cpu')}, "
                f"arena {info.get('arena_bytes')} bytes; verified on {v.get('inputs')} "
                f"inputs: max abs diff {v.get('max_abs_diff')}, top-1 agreement "
                f"{v.get('top1_agreement')}"
            )
        except (OSError, ValueError):
            text += "\npackage: manifest.json unreadable"
    return text
