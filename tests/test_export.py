"""Export the example-style models for every target and check the packages against
independent oracles: counts worked out from the architecture (export_models.py), the
LCE interpreter, Keras, and TensorFlow's own flatbuffer schema."""

from keras_fda.cli import main
from keras_fda.export import export_model, runner
from keras_fda.export.package import read_package

import collections
import json
import os
import re
import shutil
import subprocess

import export_models
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

TARGETS = ["arm64", "armv7", "cortex-m"]
MODELS = {
    "small_bnn": (export_models.small_bnn, export_models.SMALL_BNN_EXPECTED),
    "bireal_style": (export_models.bireal_style, export_models.BIREAL_EXPECTED),
    "example_small_bnn": (
        export_models.example_small_bnn,
        export_models.EXAMPLE_SMALL_BNN_EXPECTED,
    ),
}
CONTRACT_KEYS = {
    "format",
    "target",
    "cpu",
    "input",
    "output",
    "ops",
    "macs",
    "weight_bytes",
    "flatbuffer_bytes",
    "arena_bytes",
    "verification",
    "versions",
    "chip",
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def saved_models(workdir):
    paths = {}
    for i, (name, (build, _)) in enumerate(MODELS.items()):
        # a module fixture is built before the per-test seed: its weights must not depend
        # on which tests ran before it in this process
        tf.keras.utils.set_random_seed(i)
        paths[name] = str(workdir / f"{name}.keras")
        build().save(paths[name])
    return paths


@pytest.fixture(scope="module")
def packages(workdir, saved_models):
    """Every model exported for every target, once for the module."""
    out = {}
    for name, path in saved_models.items():
        for target in TARGETS:
            folder = str(workdir / f"{name}-{target}")
            cpu = "cortex-m7" if target == "cortex-m" else None
            export_model(path, target, folder, cpu=cpu, log=lambda _: None)
            out[name, target] = folder
    return out


def tflite_op_names(path):
    """Op names read with TensorFlow's flatbuffer schema, not the export's reader."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(open(path, "rb").read(), 0))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [
        c.customCode.decode()
        if c.customCode
        else names[max(c.builtinCode, c.deprecatedBuiltinCode)]
        for c in model.operatorCodes
    ]
    return [codes[op.opcodeIndex] for op in model.subgraphs[0].operators]


def read_manifest(folder):
    with open(os.path.join(folder, "manifest.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", list(MODELS))
def test_op_table_and_macs(packages, name, target):
    folder = packages[name, target]
    expected = MODELS[name][1]
    manifest = read_manifest(folder)
    ops = collections.Counter(tflite_op_names(os.path.join(folder, "model.tflite")))
    assert ops["LceBconv2d"] == expected["LceBconv2d"]
    assert ops["LceQuantize"] == expected["LceQuantize"]
    assert ops["LceBMaxPool2d"] == expected.get("LceBMaxPool2d", 0)
    assert manifest["ops"] == dict(ops)
    assert manifest["macs"] == {
        "binary": expected["binary_macs"],
        "float": expected["float_macs"],
        "int8": 0,
    }
    assert CONTRACT_KEYS <= set(manifest)
    assert manifest["format"] == 1 and manifest["target"] == target
    assert manifest["flatbuffer_bytes"] == os.path.getsize(os.path.join(folder, "model.tflite"))
    assert 0 < manifest["weight_bytes"] < manifest["flatbuffer_bytes"]


def test_bireal_bconv_attributes(packages):
    """Same-one padding and the stride-2 block survive conversion."""
    from keras_fda.export.graph import read_graph

    graph = read_graph(
        open(os.path.join(packages["bireal_style", "arm64"], "model.tflite"), "rb").read()
    )
    bconvs = [op for op in graph.ops if op.type == "LceBconv2d"]
    assert [op.options["pad_values"] for op in bconvs] == [1, 1, 1]
    assert sorted(op.options["stride_height"] for op in bconvs) == [1, 1, 2]
    assert [op.options["channels_in"] for op in bconvs] == [32, 32, 64]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", list(MODELS))
def test_verification_against_lce_and_keras(packages, saved_models, name, target):
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    folder = packages[name, target]
    manifest = read_manifest(folder)
    figures = manifest["verification"]
    assert figures["inputs"] == 16
    assert figures["threshold"] == 1e-4
    assert figures["max_abs_diff"] <= 1e-4
    assert figures["top1_agreement"] == 1.0

    x = np.load(os.path.join(folder, "sample_input.npy"))
    lce_expected = np.load(os.path.join(folder, "sample_output_lce.npy"))
    assert x.dtype == np.float32 and x.shape[1:] == tuple(manifest["input"]["shape"][1:])
    lce = Interpreter(open(os.path.join(folder, "model.tflite"), "rb").read()).predict(x)
    np.testing.assert_array_equal(lce, lce_expected)
    keras = tf.keras.models.load_model(saved_models[name]).predict(x, verbose=0)
    # the samples are among the verification inputs: their diff is within the reported one
    assert np.abs(keras - lce).max() <= figures["max_abs_diff"] + 1e-7
    assert (keras.argmax(1) == lce.argmax(1)).all()
    raw_in = np.fromfile(os.path.join(folder, "sample_input.bin"), np.float32)
    np.testing.assert_array_equal(raw_in, x[0].ravel())


@pytest.mark.parametrize("name", list(MODELS))
def test_cortex_m_model_data(packages, name, tmp_path):
    folder = packages[name, "cortex-m"]
    manifest = read_manifest(folder)
    assert manifest["cpu"] == "cortex-m7"
    assert manifest["chip"]["board"] == "mps2-an500"
    source = open(os.path.join(folder, "model_data.c")).read()
    header = open(os.path.join(folder, "model_data.h")).read()
    assert "extern const unsigned char kfda_model_data[];" in header
    assert "extern const unsigned int kfda_model_size;" in header
    assert "__attribute__((aligned(16))) const unsigned char kfda_model_data[]" in source
    body = source[source.index("kfda_model_data[] = {") :]
    data = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))
    assert data == open(os.path.join(folder, "model.tflite"), "rb").read()
    size = int(re.search(r"kfda_model_size = (\d+)u;", source).group(1))
    assert size == len(data)
    assert not os.path.exists(os.path.join(folder, "main.c"))
    compiler = shutil.which("arm-none-eabi-gcc")
    if compiler is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    obj = tmp_path / "model_data.o"
    subprocess.run(
        [
            compiler,
            "-mcpu=cortex-m7",
            "-mthumb",
            "-std=c99",
            "-Wall",
            "-Werror",
            "-c",
            os.path.join(folder, "model_data.c"),
            "-I",
            folder,
            "-o",
            str(obj),
        ],
        check=True,
    )
    symbols = subprocess.run(
        ["arm-none-eabi-nm", "-S", str(obj)], capture_output=True, text=True, check=True
    ).stdout
    address = re.search(r"^([0-9a-f]+) ([0-9a-f]+) R kfda_model_data$", symbols, re.M)
    assert address and int(address.group(2), 16) == size


@pytest.mark.parametrize("target", ["arm64", "armv7"])
def test_linux_driver(packages, target, tmp_path):
    folder = packages["small_bnn", target]
    assert os.path.isfile(os.path.join(folder, "main.c"))
    makefile = open(os.path.join(folder, "Makefile")).read()
    assert "kfda_run" in makefile and "KFDA_DIR" in makefile
    assert not os.path.exists(os.path.join(folder, "model_data.c"))
    from keras_fda.firmware import source_dir

    include = os.path.join(source_dir(), "include")
    if not os.path.isfile(os.path.join(include, "kfda", "kfda.h")):
        pytest.skip("the firmware's C API (firmware/include/kfda/kfda.h) is not in this tree")
    subprocess.run(
        [
            "gcc",
            "-std=c11",
            "-Wall",
            "-Werror",
            "-fsyntax-only",
            "-I",
            include,
            os.path.join(folder, "main.c"),
        ],
        check=True,
    )


@pytest.mark.parametrize("target", TARGETS)
def test_manifest_arena_against_the_targets_own_plan(packages, target):
    """A Linux package's arena is the one its target's runtime plans at load (there the
    NEON kernels keep the repacked binary filters in the arena); a Cortex-M package's is
    the 64-bit host's plan, an upper bound of the 32-bit board's."""
    folder = packages["small_bnn", target]
    x = np.load(os.path.join(folder, "sample_input.npy"))[:1]
    _, stats = runner.run_package(folder, x, count_instructions=False)
    arena = read_package(folder).manifest.arena_bytes
    if target == "cortex-m":
        assert 0 < stats["arena_bytes_needed"] <= arena
    else:
        assert stats["arena_bytes_needed"] == arena


def test_inspect_cli(packages):
    folder = packages["small_bnn", "arm64"]
    result = CliRunner().invoke(main, ["inspect", os.path.join(folder, "model.tflite")])
    assert result.exit_code == 0, result.output
    expected = export_models.SMALL_BNN_EXPECTED
    assert f"binary {expected['binary_macs']:,}" in result.stdout
    assert f"float {expected['float_macs']:,}" in result.stdout
    assert len(re.findall(r"^\d+\s+LceBconv2d\s", result.stdout, re.M)) == 2
    assert "flatbuffer: " in result.stdout


def test_not_binarized_report(workdir, capsys):
    path = str(workdir / "with_quant_dense.keras")
    export_models.with_quant_dense().save(path)
    manifest = export_model(path, "arm64", str(workdir / "wqd"))
    printed = capsys.readouterr().out
    not_binarized = {f["layer"] for f in manifest["not_binarized"]}
    # the binary QuantDense on a (batch, C) input is rewritten as a 1x1 binary conv
    assert not_binarized == {"float_input"}
    assert manifest["ops"]["LceBconv2d"] == 2
    assert "FULLY_CONNECTED" not in manifest["ops"]
    assert "binary QuantDense as 1x1 binary conv: binary_dense" in printed
    for layer, words in [
        ("narrow", "multiple of 32"),
        ("narrow", "before the pool"),
        ("float_input", "input_quantizer"),
    ]:
        assert re.search(rf"warning: layer '{layer}': .*{words}", printed), (layer, printed)


@pytest.mark.parametrize(
    "cpu",
    [
        "cortex-m0",
        "cortex-m0plus",
        "cortex-m3",
        "cortex-m4",
        "cortex-m7",
        "cortex-m33",
        "cortex-m55",
    ],
)
def test_every_cpu_resolves_to_a_board(cpu):
    from keras_fda.export import chips

    core, board = chips.resolve(cpu)
    assert core.name == cpu and board.cpu == cpu
    assert board.flash_bytes > 0 and board.ram_bytes > 0


@pytest.fixture(scope="module")
def int8_packages(workdir, saved_models):
    """bireal_style with --int8, calibrated on 128 inputs, for a Linux and the Cortex-M
    target."""
    calibration = str(workdir / "calibration.npy")
    np.save(
        calibration, np.random.default_rng(7).uniform(-1, 1, (128, 16, 16, 3)).astype(np.float32)
    )
    out = {}
    for target, cpu in (("arm64", None), ("cortex-m", "cortex-m4")):
        folder = str(workdir / f"int8-{target}")
        export_model(
            saved_models["bireal_style"],
            target,
            folder,
            cpu=cpu,
            int8=True,
            calibration=calibration,
            log=lambda _: None,
        )
        out[target] = folder
    return out


@pytest.mark.parametrize("target", ["arm64", "cortex-m"])
def test_int8_export(int8_packages, saved_models, target):
    from larq_compute_engine.tflite.python.interpreter import Interpreter
    from tensorflow.lite.python import schema_py_generated as schema

    folder = int8_packages[target]
    manifest = read_manifest(folder)
    path = os.path.join(folder, "model.tflite")
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(open(path, "rb").read(), 0))
    graph = model.subgraphs[0]
    names = tflite_op_names(path)
    ops = collections.Counter(names)
    expected = export_models.BIREAL_EXPECTED
    assert ops["LceBconv2d"] == expected["LceBconv2d"]
    assert ops["LceQuantize"] == expected["LceQuantize"]
    # whole-graph int8: no activation (non-constant tensor) is float32
    buffers = model.buffers
    for tensor in graph.tensors:
        constant = buffers[tensor.buffer].data is not None and len(buffers[tensor.buffer].data)
        if not constant:
            assert tensor.type != schema.TensorType.FLOAT32, tensor.name
    assert manifest["float_ops"] == {}
    for op, name in zip(graph.operators, names):
        if name in (
            "CONV_2D",
            "FULLY_CONNECTED",
            "MAX_POOL_2D",
            "AVERAGE_POOL_2D",
            "ADD",
            "MEAN",
            "SOFTMAX",
            "LceQuantize",
        ):
            assert graph.tensors[op.inputs[0]].type == schema.TensorType.INT8, name
        if name == "LceBconv2d":
            assert graph.tensors[op.outputs[0]].type == schema.TensorType.INT8
    assert manifest["macs"] == {
        "binary": expected["binary_macs"],
        "float": 0,
        "int8": expected["float_macs"],
    }
    # int8 in, int8 out, with the scales from the flatbuffer
    in_tensor = graph.tensors[graph.inputs[0]]
    out_tensor = graph.tensors[graph.outputs[0]]
    assert in_tensor.type == out_tensor.type == schema.TensorType.INT8
    assert manifest["input"]["dtype"] == manifest["output"]["dtype"] == "int8"
    assert manifest["input"]["scale"] == pytest.approx(float(in_tensor.quantization.scale[0]))
    assert manifest["output"]["zero_point"] == int(out_tensor.quantization.zeroPoint[0])
    # verification: against the quantization-aware Keras model, each input within one
    # output step or beyond it on sign ties (export/verify.py); one step on average
    figures = manifest["verification"]
    step = float(out_tensor.quantization.scale[0])
    assert figures["threshold"] is None
    assert figures["output_step"] == pytest.approx(step)
    assert figures["threshold_steps"] == 1.0
    assert figures["inputs_unexplained"] == 0
    assert figures["mean_abs_diff"] <= step
    assert figures["top1_agreement_beyond_ties"] >= 0.9
    assert figures["tie_margin"] == pytest.approx(2 * step)
    # samples as the model takes them, and the LCE outputs reproduce
    x = np.load(os.path.join(folder, "sample_input.npy"))
    assert x.dtype == np.int8
    lce = Interpreter(open(path, "rb").read()).predict(x)
    np.testing.assert_array_equal(lce, np.load(os.path.join(folder, "sample_output_lce.npy")))
    # every layer but the binary ones and the input (export_models.bireal_style)
    bireal = tf.keras.models.load_model(saved_models["bireal_style"])
    assert manifest["int8_annotated_layers"] == [
        layer.name
        for layer in bireal.layers
        if layer.name not in ("input_2", "bconv1", "bconv2", "bconv3")
        and not isinstance(layer, tf.keras.layers.InputLayer)
    ]
    assert len(manifest["int8_annotated_layers"]) == 15


def test_int8_zero_padded_binary_conv_stays_float(saved_models, tmp_path, capsys):
    """small_bnn's bconv2 pads with zeros: LCE and the runtime give it float output only,
    so the export says so, names the conv, and lists what stays float; bconv1's batch
    norm feeds only a max pool and bconv2, so bconv1 writes bitpacked output."""
    calibration = str(tmp_path / "calibration.npy")
    np.save(
        calibration, np.random.default_rng(7).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    )
    manifest = export_model(
        saved_models["small_bnn"],
        "arm64",
        str(tmp_path / "pkg"),
        int8=True,
        calibration=calibration,
        log=lambda _: None,
    )
    ops = manifest["ops"]
    assert ops["LceBMaxPool2d"] == 1 and ops["LceQuantize"] == 1
    assert "LceBconv2d" in manifest["float_ops"] and "MEAN" in manifest["float_ops"]
    assert "CONV_2D" not in manifest["float_ops"]
    out = capsys.readouterr().out
    assert "binary conv 'bconv2' pads with zeros" in out and "pad_values=1.0" in out


def test_int8_export_whatever_the_layer_names(tmp_path):
    """Keras names a first float conv `conv2d` and Larq a first binary one `quant_conv2d`;
    tfmot wraps a layer as `quant_` + its name, so the two used to collide ("The name
    'quant_conv2d' is used 2 times", issue 14). The export renames its clone's layers:
    the int8 package is built and passes export's verification against Keras."""
    import larq as lq

    inputs = tf.keras.Input((12, 12, 1))
    x = tf.keras.layers.Conv2D(8, 3, padding="same", name="conv2d")(inputs)
    x = tf.keras.layers.BatchNormalization(name="batch_normalization")(x)
    x = lq.layers.QuantConv2D(
        8,
        3,
        padding="same",
        pad_values=1.0,
        input_quantizer="ste_sign",
        kernel_quantizer="ste_sign",
        kernel_constraint="weight_clip",
        use_bias=False,
        name="quant_conv2d",
    )(x)
    x = tf.keras.layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    outputs = tf.keras.layers.Dense(4, name="dense")(x)
    model = tf.keras.Model(inputs, outputs)
    calibration = str(tmp_path / "calibration.npy")
    np.save(
        calibration, np.random.default_rng(3).uniform(-1, 1, (32, 12, 12, 1)).astype(np.float32)
    )
    manifest = export_model(
        model,
        "arm64",
        str(tmp_path / "pkg"),
        int8=True,
        calibration=calibration,
        log=lambda _: None,
    )
    assert manifest["ops"]["LceBconv2d"] == 1
    assert "CONV_2D" not in manifest["float_ops"]
    assert {"conv2d", "quant_conv2d"} <= {layer.name for layer in model.layers}  # untouched


def test_int8_needs_calibration(saved_models, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "export",
            saved_models["small_bnn"],
            "--target",
            "arm64",
            "--int8",
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 1
    assert "--calibration" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_mixed_precision_model_exports_in_float32(workdir, tmp_path):
    """A model trained under mixed_bfloat16 (float32 weights, bf16 compute) is deployed as
    the same weights in float32: the package matches a float32 build of it in Keras."""
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = export_models.small_bnn()
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)
    assert mixed.get_layer("bconv1").compute_dtype == "bfloat16"
    path = str(tmp_path / "mixed.keras")
    mixed.save(path)
    folder = str(tmp_path / "pkg")
    export_model(path, "arm64", folder, log=lambda _: None)
    assert read_manifest(folder)["verification"]["top1_agreement"] == 1.0

    float32 = export_models.small_bnn()
    float32.set_weights(mixed.get_weights())
    x = np.load(os.path.join(folder, "sample_input.npy"))
    expected = float32.predict(x, verbose=0)
    lce = np.load(os.path.join(folder, "sample_output_lce.npy"))
    assert lce.dtype == np.float32
    assert np.abs(lce - expected).max() <= 1e-4  # bf16 compute would be off by ~1e-2
