"""The reproducers of issue 14 (tests/data/repro, from the fuzzing campaign): models that
load let through before and that invoke cannot compute (undefined behaviour, wrapped
sizes). Each must be refused at plan and load with a status and one line naming the op
and the field, by the sanitized host build and by the 32-bit armv7 build (r6's size only
wraps there); `keras-fda inspect` refuses each in one line with exit status 1."""

from keras_fda.cli import main

import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from tests.firmware.conftest import FIRMWARE

REPRO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "repro")

# file -> (kfda status string, words of the one-line error)
REFUSED = {
    "r1_conv_zero_channels": ("shape mismatch", ["CONV_2D", "zero channels"]),
    "r2_int8_conv_out_scale_1e-30": ("unsupported type", ["CONV_2D", "requantisation"]),
    "r3_int8_conv_out_scale_1e-22": ("unsupported type", ["CONV_2D", "requantisation"]),
    "r4_int8_conv_filter_scale_nan": ("malformed model", ["CONV_2D", "filter scale"]),
    "r5_int8_conv_bias_int32_max": ("unsupported type", ["CONV_2D", "accumulator", "bias"]),
    "r6_persist_wrap32": ("limit exceeded", ["arena above 2 GiB"]),
    "r9_int8_depthwise_shift": ("unsupported type", ["DEPTHWISE_CONV_2D", "requantisation"]),
    "r10_int8_softmax_nan_scale": ("unsupported type", ["op 16", "requantisation"]),
    # the long campaign's one finding: no tensors, so zero-size tables memset at NULL
    "r11_no_tensors": ("malformed model", ["no tensors"]),
}


def _path(name):
    return os.path.join(REPRO, name + ".tflite")


def _assert_refused(res, name):
    status, words = REFUSED[name]
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert len(lines) == 1, res.stderr  # no sanitizer report, one line
    assert status in lines[0] and all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_plan_and_load_refuse(host_asan, name):
    _assert_refused(
        subprocess.run([host_asan, "plan", _path(name)], capture_output=True, text=True), name
    )
    # load with a generous arena: the refusal does not depend on the plan having failed
    res = subprocess.run([host_asan, "load", _path(name), "4096"], capture_output=True, text=True)
    assert res.returncode == 1 and not res.stderr, res.stderr
    assert REFUSED[name][0] in res.stdout and all(w in res.stdout for w in REFUSED[name][1])


@pytest.fixture(scope="module")
def host_armv7(tmp_path_factory):
    if not (shutil.which("arm-linux-gnueabihf-gcc") and shutil.which("qemu-arm-static")):
        pytest.skip("needs arm-linux-gnueabihf-gcc and qemu-arm-static")
    build = tmp_path_factory.mktemp("kfda_build_armv7")
    flags = "-O0 -static -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard"
    subprocess.run(
        ["make", "-s", "-C", FIRMWARE, "-j2", "CC=arm-linux-gnueabihf-gcc", f"BUILD={build}"]
        + [f"OPT={flags}", str(build / "kfda_host")],
        check=True,
        capture_output=True,
    )
    return ["qemu-arm-static", str(build / "kfda_host")]


@pytest.mark.parametrize("name", ["r6_persist_wrap32", "r1_conv_zero_channels"])
def test_32bit_target_refuses(host_armv7, name):
    """On a 32-bit size_t, r6's arena once wrapped to 48 bytes and load wrote before it."""
    _assert_refused(
        subprocess.run(host_armv7 + ["plan", _path(name)], capture_output=True, text=True), name
    )
    res = subprocess.run(host_armv7 + ["check", _path(name)], capture_output=True, text=True)
    assert res.returncode == 0 and REFUSED[name][0] in res.stdout, (res.stdout, res.stderr)


@pytest.mark.parametrize(
    "name, words",
    [
        ("r7_inspect_unicode", ["damaged", "tensor 25's name is not UTF-8"]),
        ("r8_inspect_keyerror", ["damaged", "op 9 (LceBconv2d)", "channels_in"]),
        ("r2_int8_conv_out_scale_1e-30", ["planner rejects", "requantisation"]),
        ("r6_persist_wrap32", ["planner rejects", "arena above 2 GiB"]),
    ],
)
def test_inspect_names_the_damage(name, words):
    result = CliRunner().invoke(main, ["inspect", _path(name)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-fda: error: "), result.stderr
    assert "internal error" not in lines[0] and all(w in lines[0] for w in words), lines[0]
