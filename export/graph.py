"""Read a converted `.tflite` flatbuffer: its ops, tensors, MAC counts and sizes.

The flatbuffer is the only contract between the export and the firmware, so the figures
the manifest and `keras-fda inspect` print are computed here from the file itself, never
from the Keras model it came from.

MACs per op (batch included, from the tensor shapes in the file):

| op | MACs | kind |
|---|---|---|
| `LceBconv2d` | out_h * out_w * c_out * k_h * k_w * channels_in | binary (XNOR + popcount) |
| `CONV_2D` | out_h * out_w * c_out * k_h * k_w * c_in | float or int8, by input type |
| `DEPTHWISE_CONV_2D` | out_h * out_w * c_out * k_h * k_w | float or int8 |
| `FULLY_CONNECTED` | outputs * in_features | float or int8 |

`channels_in` is the binary conv's true input depth (an attribute): its filter is
stored packed, 32 channels to an int32 word.
"""

from keras_fda.errors import KerasFDAError

import dataclasses
import math

TFLITE_MAGIC = b"TFL3"

# TensorType values of the TFLite schema that the export meets.
DTYPE_NAMES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    6: "bool",
    7: "int16",
    9: "int8",
}
DTYPE_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1}
FLOAT32, INT32, INT8 = 0, 2, 9

# Ops the firmware may run in place (in_place_inputs of their registration in
# firmware/src/ops/, used by plan_in_place in firmware/src/interpreter.c).
IN_PLACE_OPS = ("ADD", "MUL", "RESHAPE")

MAC_OPS = ("LceBconv2d", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def is_tflite(data):
    """True when `data` (the first bytes of a file) is a TFLite flatbuffer."""
    return len(data) >= 8 and data[4:8] == TFLITE_MAGIC


@dataclasses.dataclass
class Tensor:
    index: int
    name: str
    shape: tuple
    dtype: str
    nbytes: int  # size of one value times the number of values
    constant: bool  # has data in the flatbuffer (weights, biases, thresholds)
    data_bytes: int  # bytes of that data in the file (0 for activations)
    scale: object = None  # float, a list for per-channel, or None
    zero_point: object = None


@dataclasses.dataclass
class Op:
    index: int
    type: str  # builtin name ("CONV_2D") or custom code ("LceBconv2d")
    inputs: list  # Tensor, or None for an omitted optional input
    outputs: list
    options: dict  # custom options (flexbuffer map) of LCE ops, else {}
    macs: int = 0
    mac_kind: str = ""  # "binary", "float", "int8" or ""


@dataclasses.dataclass
class Graph:
    ops: list
    tensors: list
    inputs: list
    outputs: list
    flatbuffer_bytes: int

    def op_counts(self):
        counts = {}
        for op in self.ops:
            counts[op.type] = counts.get(op.type, 0) + 1
        return dict(sorted(counts.items()))

    def macs(self):
        totals = {"binary": 0, "float": 0, "int8": 0}
        for op in self.ops:
            if op.mac_kind:
                totals[op.mac_kind] += op.macs
        return totals

    def weight_bytes(self):
        """Bytes of constant data (weights, biases, thresholds), each buffer counted once."""
        return sum(t.data_bytes for t in self.tensors if t.constant)

    def activation_peak_bytes(self):
        """The largest sum of one op's non-constant inputs and outputs.

        A lower bound on any arena: those buffers must all exist while the op runs,
        except that the firmware runs ADD, MUL and RESHAPE in place over an input of the
        output's size (and type) that is not a model input: such an op's output is not
        counted again.
        """
        io = {t.index for t in self.inputs + self.outputs}
        peak = 0
        for op in self.ops:
            live = {
                t.index: t.nbytes
                for t in op.inputs + op.outputs
                if t is not None and not t.constant
            }
            out = op.outputs[0] if op.outputs else None
            if (
                op.type in IN_PLACE_OPS
                and out is not None
                and any(
                    t is not None
                    and not t.constant
                    and t.index not in io
                    and t.nbytes == out.nbytes
                    and t.dtype == out.dtype
                    for t in op.inputs[: 1 if op.type == "RESHAPE" else 2]
                )
            ):
                live.pop(out.index, None)
            peak = max(peak, sum(live.values()))
        return peak


def _builtin_names():
    from larq_compute_engine.mlir.python import tflite_schema

    ops = tflite_schema.BuiltinOperator
    return {value: name for name, value in vars(ops).items() if not name.startswith("_")}


def _quantization(tensor):
    q = tensor.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        return None, None
    scale = [float(s) for s in q.scale]
    zero = [int(z) for z in q.zeroPoint] if q.zeroPoint is not None else [0] * len(scale)
    if len(scale) == 1:
        return scale[0], zero[0]
    return scale, zero


def _damaged(detail):
    return KerasFDAError(f"the TFLite flatbuffer is damaged: {detail}; export it again")


def _text(raw, what):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _damaged(f"{what} is not UTF-8 text")


def _tensor_at(tensors, i, what):
    if not 0 <= i < len(tensors):
        raise _damaged(f"{what} refers to tensor {i}, and there are {len(tensors)}")
    return tensors[i]


def read_graph(flatbuffer):
    """Parse a TFLite flatbuffer into a `Graph`; `KerasFDAError` if it is not one."""
    from flatbuffers import flexbuffers
    from larq_compute_engine.mlir.python import tflite_schema

    data = bytes(flatbuffer)
    if not is_tflite(data):
        raise KerasFDAError(
            "not a TFLite flatbuffer (no 'TFL3' identifier): "
            "give a .tflite written by `keras-fda export`"
        )
    try:
        model = tflite_schema.ModelT.InitFromObj(tflite_schema.Model.GetRootAsModel(data, 0))
    except Exception as error:  # a damaged flatbuffer fails anywhere inside the reader
        raise KerasFDAError(f"the TFLite flatbuffer is damaged ({error}): export it again")
    if not model.subgraphs:
        raise KerasFDAError("the TFLite flatbuffer has no subgraph: export it again")
    if len(model.subgraphs) > 1:
        raise KerasFDAError(
            f"the model has {len(model.subgraphs)} subgraphs (control flow); "
            "only single-graph models can be deployed"
        )
    builtin = _builtin_names()
    codes = []
    for code in model.operatorCodes:
        if code.customCode:
            codes.append(_text(code.customCode, f"custom op code {len(codes)}"))
        else:
            value = max(code.builtinCode, code.deprecatedBuiltinCode)
            codes.append(builtin.get(value, f"BUILTIN_{value}"))

    graph = model.subgraphs[0]
    tensors = []
    for index, t in enumerate(graph.tensors):
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        buffer = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
        data_bytes = 0 if buffer is None or buffer.data is None else len(buffer.data)
        if buffer is not None and buffer.offset > 1:
            data_bytes = int(buffer.size)
        scale, zero = _quantization(t)
        tensors.append(
            Tensor(
                index=index,
                name=_text(t.name, f"tensor {index}'s name") if t.name else f"tensor_{index}",
                shape=shape,
                dtype=DTYPE_NAMES.get(t.type, f"type{t.type}"),
                nbytes=math.prod(shape) * DTYPE_BYTES.get(t.type, 4),
                constant=data_bytes > 0,
                data_bytes=data_bytes,
                scale=scale,
                zero_point=zero,
            )
        )

    ops = []
    for index, o in enumerate(graph.operators):
        if not 0 <= o.opcodeIndex < len(codes):
            raise _damaged(f"op {index} has op code {o.opcodeIndex}, and there are {len(codes)}")
        where = f"op {index} ({codes[o.opcodeIndex]})"
        options = {}
        if o.customOptions is not None and len(o.customOptions):
            try:
                options = dict(flexbuffers.Loads(bytes(o.customOptions)))
            except Exception:  # flexbuffers fails anywhere on damaged bytes
                raise _damaged(f"{where} has unreadable custom options")
        op = Op(
            index=index,
            type=codes[o.opcodeIndex],
            inputs=[
                _tensor_at(tensors, i, f"{where} input") if i >= 0 else None
                for i in (o.inputs if o.inputs is not None else ())
            ],
            outputs=[
                _tensor_at(tensors, i, f"{where} output")
                for i in (o.outputs if o.outputs is not None else ())
            ],
            options=options,
        )
        try:
            op.macs, op.mac_kind = _macs(op)
        except KeyError as error:
            raise _damaged(f"{where} lacks its option {error}")
        except (IndexError, TypeError, ValueError, AttributeError):
            raise _damaged(f"{where} has inputs, outputs or options of the wrong form")
        ops.append(op)
    return Graph(
        ops=ops,
        tensors=tensors,
        inputs=[_tensor_at(tensors, i, "the model input") for i in graph.inputs],
        outputs=[_tensor_at(tensors, i, "the model output") for i in graph.outputs],
        flatbuffer_bytes=len(data),
    )


def _macs(op):
    """(MACs, kind) of one op; (0, "") for ops that do no multiply-accumulate."""
    if op.type not in MAC_OPS:
        return 0, ""
    out = op.outputs[0].shape
    kernel = op.inputs[1].shape
    if op.type == "LceBconv2d":
        # filter OHWI with I packed into int32 words; the true depth is an attribute
        c_out, k_h, k_w = kernel[0], kernel[1], kernel[2]
        return math.prod(out[:-1]) * c_out * k_h * k_w * int(op.options["channels_in"]), "binary"
    kind = "int8" if op.inputs[0].dtype == "int8" else "float"
    if op.type == "CONV_2D":
        return math.prod(out) * math.prod(kernel[1:]), kind
    if op.type == "DEPTHWISE_CONV_2D":
        return math.prod(out) * kernel[1] * kernel[2], kind
    return math.prod(out) * kernel[-1], kind  # FULLY_CONNECTED: weights (out, in)


def io_details(tensor):
    """The manifest's description of a model input or output."""
    return {
        "name": tensor.name,
        "shape": list(tensor.shape),
        "dtype": tensor.dtype,
        "scale": tensor.scale,
        "zero_point": tensor.zero_point,
    }


def format_table(graph):
    """The op table `keras-fda inspect` prints: one row per op, then the totals."""
    rows = [("#", "op", "output", "dtype", "MACs", "kind")]
    for op in graph.ops:
        out = op.outputs[0]
        rows.append(
            (
                str(op.index),
                op.type,
                "x".join(map(str, out.shape)) or "scalar",
                out.dtype,
                f"{op.macs:,}" if op.macs else "",
                op.mac_kind,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    macs = graph.macs()
    total = sum(macs.values())
    counts = ", ".join(f"{name} {n}" for name, n in graph.op_counts().items())
    lines += [
        "",
        f"ops: {counts}",
        f"MACs: binary {macs['binary']:,}, float {macs['float']:,}, int8 {macs['int8']:,}"
        + (f" ({100.0 * macs['binary'] / total:.1f}% binary)" if total else ""),
        f"weights: {graph.weight_bytes():,} bytes; flatbuffer: {graph.flatbuffer_bytes:,} bytes; "
        f"activations: at least {graph.activation_peak_bytes():,} bytes live at once",
    ]
    for kind, tensors in (("input", graph.inputs), ("output", graph.outputs)):
        for t in tensors:
            quant = f", scale {t.scale}, zero point {t.zero_point}" if t.scale is not None else ""
            lines.append(f"{kind}: {t.name} {list(t.shape)} {t.dtype}{quant}")
    return "\n".join(lines)
