"""`kfda-runtime` (or `python -m kfda_runtime`): look at a model and run it on .npy files.

    kfda-runtime info model.tflite
    kfda-runtime run model.tflite -i x.npy [-i x2.npy] -o y.npy [--threads N]
        (.npz for several outputs; N threads for the convolutions, the same outputs)

Errors are one line on stderr and exit status 1.
"""

import argparse
import sys

import numpy as np

from kfda_runtime.interpreter import Interpreter, runtime_version


def _info(args):
    interpreter = Interpreter(args.model)
    print(
        f"C runtime {runtime_version()}: {len(interpreter.ops)} ops, "
        f"arena {interpreter.arena_bytes} bytes, weights {interpreter.weight_bytes} bytes"
    )
    for kind in ("input", "output"):
        for i, (dtype, shape, scale, zero) in enumerate(
            zip(
                getattr(interpreter, f"{kind}_types"),
                getattr(interpreter, f"{kind}_shapes"),
                getattr(interpreter, f"{kind}_scales"),
                getattr(interpreter, f"{kind}_zero_points"),
            )
        ):
            quant = f", scale {scale:.9g}, zero point {zero}" if scale is not None else ""
            print(f"{kind} {i}: {dtype.name} {list(shape)}{quant}")


def _load_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path} as a .npy array: {error}") from None


def _run(args):
    interpreter = Interpreter(args.model, num_threads=args.threads)
    outputs = interpreter.predict([_load_npy(path) for path in args.input])
    if not isinstance(outputs, list):
        outputs = [outputs]
    if args.output.endswith(".npz"):
        np.savez(args.output, *outputs)
    elif len(outputs) == 1:
        np.save(args.output, outputs[0])
    else:
        raise ValueError(f"the model has {len(outputs)} outputs: give --output a .npz path")
    print(f"{outputs[0].shape[0]} samples -> {args.output}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kfda-runtime", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="the model's inputs, outputs, arena and ops")
    info.add_argument("model")
    info.set_defaults(handler=_info)
    run = commands.add_parser("run", help="run .npy input(s) (N samples each) through the model")
    run.add_argument("model")
    run.add_argument(
        "-i",
        "--input",
        action="append",
        required=True,
        help=".npy file of one model input; repeat for several inputs",
    )
    run.add_argument(
        "-o",
        "--output",
        required=True,
        help=".npy for one output, .npz (arr_0, arr_1...) for several",
    )
    run.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for the convolutions (the outputs are the same for any count)",
    )
    run.set_defaults(handler=_run)
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except (ValueError, TypeError, RuntimeError, OSError) as error:
        print(f"kfda-runtime: error: {error}", file=sys.stderr)
        return 1
    return 0
