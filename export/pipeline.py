"""`export_model`: the whole export, from a `.keras` file to a verified package folder.

Order matters for the user: every check that needs no TensorFlow (target, cpu, output
folder, the file's type) runs first and fails in a second; then load, (int8 annotate and
calibrate), convert, check ops, report what did not binarize, verify against the LCE
interpreter, check the chip, and only then move the package into place.
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export import binarization, chips, package, plan, ram, rewrite, sizes, verify
from keras_fda.export import graph as graph_mod
from keras_fda.export.loading import check_model, check_model_path, load_model
from keras_fda.export.manifest import Manifest
from keras_fda.export.progress import say, step, warn
from keras_fda.export.targets import get_target, supported_ops

import hashlib
import os
import platform

import numpy as np

SAMPLE_COUNT = 4


def _versions(int8):
    import importlib.metadata as metadata

    names = ["keras-fda", "tensorflow", "tf-keras", "larq", "larq-compute-engine", "numpy"]
    if int8:
        names.append("tensorflow-model-optimization")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _layer_of(tensor_name):
    parts = tensor_name.split(";")[0].split("/")
    return parts[1] if len(parts) > 1 else parts[0]


class UnsupportedOpsError(KerasFDAError):
    """The converted graph holds ops the runtime lacks; `ops` lists them all."""

    def __init__(self, message, ops):
        super().__init__(message)
        self.ops = ops


def missing_ops(graph):
    """The ops of `graph` the keras-fda runtime does not implement, sorted."""
    supported = supported_ops()
    return sorted({op.type for op in graph.ops} - supported)


def check_ops(graph, target):
    """Fail when the graph holds an op the keras-fda runtime does not implement, naming
    the first layer that needs one and every missing op."""
    missing = missing_ops(graph)
    if missing:
        op = next(op for op in graph.ops if op.type in missing)
        raise UnsupportedOpsError(
            f"layer '{_layer_of(op.outputs[0].name)}' converts to {op.type}, which the "
            f"keras-fda runtime does not run on {target.name}"
            + (
                f" (the model also needs {', '.join(m for m in missing if m != op.type)})"
                if len(missing) > 1
                else ""
            )
            + f"; replace that layer (supported ops: {', '.join(sorted(supported_ops()))})",
            missing,
        )


def _tolerances(int8, tolerance, graph):
    """verify.verify's tolerance arguments: float outputs within --tolerance (default
    DEFAULT_FLOAT_RTOL) x max(1, |y|); int8 outputs within --tolerance (default
    DEFAULT_INT8_STEPS) steps of the output's scale."""
    if not int8:
        rtol = verify.DEFAULT_FLOAT_RTOL if tolerance is None else float(tolerance)
        return {"rtol": rtol}
    scale = graph.outputs[0].scale
    scale = float((max(scale) if isinstance(scale, list) else scale) or 1.0)
    steps = verify.DEFAULT_INT8_STEPS if tolerance is None else float(tolerance)
    return {"output_step": scale, "steps": steps}


def export_model(
    model,
    target,
    output,
    cpu=None,
    board=None,
    force=False,
    int8=False,
    calibration=None,
    fine_tune_epochs=0,
    verify_inputs=None,
    num_verify=16,
    tolerance=None,
    min_top1=None,
    max_relative_error=None,
    value_range=None,
    custom_objects=(),
    unsafe_lambda=False,
    model_name=None,
    log=say,
):
    """Export `model` for `target` into the folder `output`.

    `model` is a `tf.keras.Model` or the path of one saved by `model.save()` (.keras, .h5
    or a SavedModel folder). Loading a path first imports the modules `custom_objects`
    (names or .py files that register custom layers, quantizers, initializers); Lambda
    layers load only with `unsafe_lambda`. The package is named after `model_name`,
    default the file's name or the model's `name`. `max_relative_error` bounds the rms
    error of the interpreter against Keras relative to Keras's spread (default
    verify.DEFAULT_MAX_RELATIVE_ERROR; float("inf") with an infinite `tolerance` and
    `min_top1` 0 turns the Keras check off, for callers that hold the package to the
    interpreter themselves).

    Returns the manifest (also written to `output/manifest.json`).
    """
    package.forget_stale_interrupt()
    model_path = os.fspath(model) if isinstance(model, (str, os.PathLike)) else None
    target = get_target(target)
    if target.linux:
        if cpu is not None or board is not None:
            raise KerasFDAError(f"--cpu and --board apply to --target cortex-m, not {target.name}")
        core = chip_board = None
    else:
        core, chip_board = chips.resolve(cpu, board)
    if int8 and calibration is None:
        raise KerasFDAError(
            "--int8 needs --calibration data.npy (representative inputs, "
            "N x the model's input shape) to set the int8 ranges"
        )
    if calibration is not None and not int8:
        raise KerasFDAError("--calibration applies only with --int8")
    if num_verify < 1:
        raise KerasFDAError("--num-verify must be at least 1")
    package.check_output(output, force)
    if model_path is not None:
        check_model_path(model_path)
        with step(f"loading {model_path}", log):
            model = load_model(model_path, custom_objects, unsafe_lambda)
        default_name = os.path.splitext(os.path.basename(os.path.normpath(model_path)))[0]
    else:
        model = check_model(model)
        default_name = getattr(model, "name", None) or "model"
    model_name = str(model_name or default_name).replace("*/", "*_/")  # goes in C comments
    if verify_inputs is not None:
        inputs = verify.load_inputs(verify_inputs, model)
        value_range = (float(inputs.min()), float(inputs.max()))
        source = verify_inputs
    else:
        value_range = tuple(value_range) if value_range else verify.input_range(model)
        inputs = verify.make_inputs(model, num_verify, value_range)
        source = f"synthetic, uniform in [{value_range[0]:g}, {value_range[1]:g}]"

    reference = model
    converted = model
    rewritten = []
    int8_report = None
    if int8:
        from keras_fda.export import int8 as int8_mod

        labels = None
        if calibration.endswith(".npz"):
            data, labels = int8_mod.load_labelled(calibration)
            data = verify.check_shape(data, model, calibration)
        else:
            data = verify.load_inputs(calibration, model)
        reference, int8_report = int8_mod.quantize_model(
            model, data, fine_tune_epochs=fine_tune_epochs, labels=labels, log=log, warn=warn
        )
        converted = reference
    else:
        # verification still holds the flatbuffer to the user's model, not the rewrite
        converted, rewritten = rewrite.binary_dense_as_conv(model)
        if rewritten:
            log(f"binary QuantDense as 1x1 binary conv: {', '.join(rewritten)}")
        converted, folded = rewrite.fold_large_kernel_quantizers(converted)
        if folded:
            log(f"large 1-bit kernels quantized before conversion: {', '.join(folded)}")

    with step(
        f"converting with the LCE converter (target {target.converter_target}"
        f"{', int8 input/output' if int8 else ''})",
        log,
    ):
        from keras_fda.export.convert import convert

        flatbuffer = convert(converted, target, int8=int8)
    package.raise_if_interrupted()  # TensorFlow may have swallowed a Ctrl-C
    graph = graph_mod.read_graph(flatbuffer)
    check_ops(graph, target)

    oversize = sizes.oversize_warning(graph, sizes.weight_bytes_needed(model, int8))
    if oversize:
        warn(oversize)
    found = binarization.findings(model, graph, rewritten)
    for finding in found:
        warn(str(finding))
    if int8_report:
        int8_report["float_ops"] = int8_mod.float_ops(graph)
        if int8_report["float_ops"]:
            warn(
                "int8: these ops still compute in float: "
                + ", ".join(f"{name} x{n}" for name, n in int8_report["float_ops"].items())
            )

    limits = _tolerances(int8, tolerance, graph)
    top1_min = (
        min_top1
        if min_top1 is not None
        else (verify.DEFAULT_INT8_MIN_TOP1 if int8 else verify.DEFAULT_MIN_TOP1)
    )
    with step(f"verifying against the LCE interpreter on {len(inputs)} inputs", log):
        figures, lce_in, lce_raw = verify.verify(
            reference,
            flatbuffer,
            inputs,
            min_top1=top1_min,
            max_relative_error=max_relative_error,
            **limits,
        )
    figures["source"] = source
    top1 = figures["top1_agreement_beyond_ties"]
    within = (
        f"{figures['threshold_steps']:g} output step(s)"
        if int8
        else f"{figures['threshold']:g} x max(1, |y|)"
    )
    ties = figures["inputs_explained_by_sign_ties"]
    log(
        f"verification: {figures['inputs_strict']} of {figures['inputs']} inputs within "
        f"{within}"
        + (f", {ties} beyond it on sign ties" if ties else "")
        + f" (max abs diff {figures['max_abs_diff']:.3g}), top-1 agreement "
        f"{'n/a' if top1 is None else f'{100 * top1:.1f}%'} (ties within "
        f"{figures['tie_margin']:g} agreeing)"
    )

    with package.staging(output) as (folder, commit):
        tflite_path = os.path.join(folder, "model.tflite")
        with open(tflite_path, "wb") as f:
            f.write(flatbuffer)
        arena = plan.arena_bytes(tflite_path)
        if target.linux and arena is not None:  # the target's kernels add their own data
            with step(f"planning the arena on {target.name}", log):
                on_target = plan.target_arena_bytes(target, tflite_path)
            if on_target is None:
                log(
                    f"arena: the host's plan ({arena:,} bytes); {target.name}'s own adds its "
                    f"kernels' data: install {target.cross_compiler} and {target.qemu} for it"
                )
            arena = on_target or arena
        lower_bound = graph.activation_peak_bytes()
        ram_entry = None
        if chip_board is not None:
            chips.check_fits(
                chip_board,
                graph.flatbuffer_bytes,
                arena if arena is not None else lower_bound,
                arena_is_estimate=arena is None,
            )
            if arena is not None and ram.available():
                with step(f"measuring the runtime's RAM on {chip_board.name}", log):
                    parts = ram.measure(chip_board, sorted(graph.op_counts()))
                chips.check_fits(chip_board, graph.flatbuffer_bytes, arena, False, ram_parts=parts)
                ram_entry = ram.manifest_entry(arena, parts, chip_board)
                log(ram.describe(ram_entry))
        manifest = Manifest(
            model=model_name,
            target=target.name,
            cpu=core.name if core else None,
            input=graph_mod.io_details(graph.inputs[0]),
            output=graph_mod.io_details(graph.outputs[0]),
            input_range=list(value_range),
            int8=bool(int8),
            ops=graph.op_counts(),
            macs=graph.macs(),
            weight_bytes=graph.weight_bytes(),
            flatbuffer_bytes=graph.flatbuffer_bytes,
            model_sha256=hashlib.sha256(flatbuffer).hexdigest(),
            arena_bytes=arena,
            ram=ram_entry,
            activation_lower_bound_bytes=lower_bound,
            verification=figures,
            not_binarized=[
                {"layer": f.layer, "message": f.message} for f in found if not f.binarized
            ],
            advice=[{"layer": f.layer, "message": f.message} for f in found if f.binarized],
            float_ops=int8_report["float_ops"] if int8_report else None,
            int8_annotated_layers=int8_report["annotated"] if int8_report else None,
            versions=_versions(int8),
            chip=chips.manifest_entry(core, chip_board) if core else None,
        )
        count = min(SAMPLE_COUNT, len(lce_in))
        package.write_samples(folder, np.asarray(lce_in[:count]), np.asarray(lce_raw[:count]))
        if target.linux:
            manifest.runtime_included = package.write_linux_driver(
                folder, target, model_name, sorted(manifest.ops)
            )
        else:
            package.write_model_data(folder, flatbuffer, model_name, core.name)
        manifest.save(folder)
        commit()
    log(
        f"wrote {output}: model.tflite {graph.flatbuffer_bytes:,} bytes, "
        f"{manifest.ops.get('LceBconv2d', 0)} LceBconv2d, "
        f"{manifest.macs['binary']:,} binary / {manifest.macs['float']:,} float / "
        f"{manifest.macs['int8']:,} int8 MACs"
    )
    return manifest.to_dict()
