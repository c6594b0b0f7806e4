"""Per-op comparison of a TFLite model between the LCE interpreter (the oracle) and our
runtime (`kfda_host run`): names every op whose output differs, and the first one.

The LCE interpreter exposes only a model's outputs, so the tool rewrites the flatbuffer:
  * for LCE, one model whose outputs are every op's output (all intermediates at once);
  * for us, one single-op model per op (the op, its tensors and weights), fed the LCE
    interpreter's values of its inputs. Each op is judged on exactly the input LCE gave
    it, so every differing op shows, not only the first (errors do not propagate).

    python benchmarks/op_diff.py MODEL.tflite [--inputs N] [--seed S]
    python benchmarks/op_diff.py --twin       # bench.py's int8 twin of the example BNN

Inputs: zeros, -128, 127 (int8 inputs) and N-3 random samples.
"""

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import keras_fda  # noqa: E402,F401  (Keras 2 before TensorFlow/Larq)

import flatbuffers  # noqa: E402
import numpy as np  # noqa: E402
from larq_compute_engine.tflite.python.interpreter import Interpreter  # noqa: E402
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

_NP = {0: np.float32, 2: np.int32, 3: np.uint8, 9: np.int8, 4: np.int64}


def _unpack(fb):
    return schema.ModelT.InitFromPackedBuf(bytearray(fb), 0)


def _pack(model):
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _op_name(model, op):
    code = model.operatorCodes[op.opcodeIndex]
    if code.customCode:
        return code.customCode.decode()
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return names.get(builtin, str(builtin))


def _is_constant(model, tensor_index):
    buf = model.buffers[model.subgraphs[0].tensors[tensor_index].buffer]
    return buf.data is not None and len(buf.data) > 0


def all_outputs_model(fb):
    """The model with every op's output a model output (order: op order); the list of
    tensor indices."""
    model = _unpack(fb)
    graph = model.subgraphs[0]
    outs = [int(t) for op in graph.operators for t in op.outputs]
    graph.outputs = np.array(outs, dtype=np.int32)
    return _pack(model), outs


def single_op_model(fb, op_index):
    """A model of op `op_index` alone: its non-constant inputs are the model inputs."""
    model = _unpack(fb)
    graph = model.subgraphs[0]
    op = graph.operators[op_index]
    graph.operators = [op]
    ins = [int(t) for t in op.inputs if t >= 0 and not _is_constant(model, t)]
    graph.inputs = np.array(ins, dtype=np.int32)
    graph.outputs = np.array([int(t) for t in op.outputs], dtype=np.int32)
    return _pack(model), ins, [int(t) for t in op.outputs]


def lce_values(fb, samples):
    """{tensor index: array (N, ...)} of the model inputs and every op output, from the
    LCE interpreter. samples: list (one per model input) of (N, ...) arrays."""
    fb_all, outs = all_outputs_model(fb)
    interp = Interpreter(fb_all)
    res = interp.predict(samples if len(samples) > 1 else samples[0])
    res = res if isinstance(res, list) else [res]
    graph = _unpack(fb).subgraphs[0]
    values = {int(t): s for t, s in zip(graph.inputs, samples)}
    values.update(dict(zip(outs, res)))
    return values


def run_host(host, fb, inputs, work):
    """Outputs of `kfda_host run` (the binary at `host`): list of (N, ...) arrays."""
    sys.path.insert(0, ROOT)
    from tests.firmware.conftest import Host

    return Host(host, work).run(fb, inputs)


def diff_ops(fb, samples, host, work):
    """One row per op: (index, name, max |difference|, values differing, values)."""
    values = lce_values(fb, samples)
    model = _unpack(fb)
    rows = []
    for i, op in enumerate(model.subgraphs[0].operators):
        fb_op, ins, outs = single_op_model(fb, i)
        ours = run_host(host, fb_op, [values[t] for t in ins], work)
        worst, count, total = 0, 0, 0
        for t, o in zip(outs, ours):
            ref = values[t]
            d = np.abs(o.astype(np.float64) - ref.astype(np.float64))
            worst = max(worst, float(d.max()))
            count += int((d > (1e-5 if ref.dtype == np.float32 else 0)).sum())
            total += d.size
        rows.append((i, _op_name(model, op), worst, count, total))
    return rows


def default_samples(fb, n=8, seed=0):
    """zeros, extremes and random values for each model input."""
    interp = Interpreter(fb)
    rng = np.random.RandomState(seed)
    samples = []
    for dtype, shape in zip(interp.input_types, interp.input_shapes):
        shape = (n,) + tuple(shape[1:])
        if dtype == np.int8:
            x = rng.randint(-128, 128, shape).astype(np.int8)
            x[0], x[1], x[2] = 0, -128, 127
        else:
            x = rng.normal(0, 1, shape).astype(np.float32)
            x[0] = 0
        samples.append(x)
    return samples


def report(rows):
    first = next((r for r in rows if r[3]), None)
    for i, name, worst, count, total in rows:
        mark = "  DIFFERS" if count else ""
        print(f"op {i:3d} {name:18s} max diff {worst:g}  ({count}/{total} values){mark}")
    if first:
        print(f"first op that differs: op {first[0]} ({first[1]})")
    else:
        print("every op matches the LCE interpreter")
    return first


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", help="a .tflite file")
    p.add_argument("--twin", action="store_true", help="bench.py's int8 twin of the BNN")
    p.add_argument("--inputs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--host", help="kfda_host binary (default: built from firmware/)")
    args = p.parse_args()
    if args.twin:
        import bench

        fb = bench.convert(bench.conv_twin(bench.example_bnn()), **bench.INT8)
    elif args.model:
        with open(args.model, "rb") as f:
            fb = f.read()
    else:
        p.error("give MODEL.tflite or --twin")
    host = args.host
    if not host:
        from keras_fda.export.build import build_host_tool

        host = build_host_tool()
    with tempfile.TemporaryDirectory() as work:
        rows = diff_ops(fb, default_samples(fb, args.inputs, args.seed), host, work)
    return 1 if report(rows) else 0


if __name__ == "__main__":
    sys.exit(main())
