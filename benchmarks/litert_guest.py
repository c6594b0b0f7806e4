"""Runs inside the emulated arm64 Python (Debian's python3.11 and numpy, the aarch64
ai-edge-litert wheel): one model on TF Lite's Interpreter (XNNPACK, the default
delegate, one thread), as a Pi user runs it. benchmarks/vs_tflite.py drives it and
counts, from qemu's log, the instructions between the two marker syscalls.

Usage: litert_guest.py MODEL INPUT OUTPUT MAPS
(INPUT: the raw input tensor; OUTPUT: the raw output tensor; MAPS: /proc/self/maps
at the end, where vs_tflite.py finds the libraries to trace.)
"""

import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def marker(name):
    """A syscall that names itself in qemu's -strace log (the file does not exist)."""
    os.access("/" + name, os.F_OK)


def main():
    model, input_path, output_path, maps_path = sys.argv[1:5]
    interpreter = Interpreter(model_path=model, num_threads=1)
    interpreter.allocate_tensors()
    given = interpreter.get_input_details()[0]
    wanted = interpreter.get_output_details()[0]
    x = np.fromfile(input_path, dtype=given["dtype"]).reshape(given["shape"])
    interpreter.set_tensor(given["index"], x)
    interpreter.invoke()  # the first inference sets XNNPACK's runtime up: not counted
    interpreter.set_tensor(given["index"], x)
    marker("kfda_counter_start")
    interpreter.invoke()
    marker("kfda_counter_stop")
    interpreter.get_tensor(wanted["index"]).tofile(output_path)
    with open("/proc/self/maps") as f, open(maps_path, "w") as out:
        out.write(f.read())


if __name__ == "__main__":
    main()
