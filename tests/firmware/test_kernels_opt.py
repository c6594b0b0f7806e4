"""Optimized kernels against their reference twins, bit for bit (firmware/host/kernel_test.c
runs LceBconv2d over a product of shapes, strides, dilations, paddings, activations and
output kinds, LceQuantize over special floats and zero points, LceBMaxPool2d over windows, the
float and int8 CONV_2D / ADD / MUL / MEAN twins, the float DEPTHWISE_CONV_2D twin, the float MAX_POOL_2D / AVERAGE_POOL_2D
twins, and the int8 requantisation helpers against their written-out references): natively (the portable carry-save kernel, plain and ASAN/UBSAN) and, when the
cross compiler and qemu-user are installed, on arm64 (the NEON kernels; the int8 conv
with and without dotprod: -cpu cortex-a76 and cortex-a72) and armv7; with
arm-none-eabi-gcc and qemu-system-arm, on Cortex-M4 and M33 (the Thumb-2 assembly loop) and
M3 (the portable C kernel built for Thumb-2 without DSP)."""

import re
import shutil
import subprocess

import pytest

from tests.firmware.conftest import FIRMWARE

SAN = "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"


def _build_and_run(tmp_path, make_args, runner=(), args=()):
    build = tmp_path / "build"
    subprocess.run(
        ["make", "-s", "-C", FIRMWARE, "-j2", f"BUILD={build}", *make_args, "kernel-test"],
        check=True,
        capture_output=True,
        text=True,
    )
    res = subprocess.run(
        [*runner, str(build / "kernel_test"), *args], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().endswith("ok")


def test_opt_matches_ref_native(tmp_path):
    _build_and_run(tmp_path, [])


def test_opt_matches_ref_asan(tmp_path):
    _build_and_run(tmp_path, [f"KT_FLAGS={SAN}", "OPT=-O1 -g"], args=["quick"])


@pytest.mark.skipif(
    not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64-static")),
    reason="needs aarch64-linux-gnu-gcc and qemu-aarch64-static",
)
@pytest.mark.parametrize(
    "cpu, mode",
    # Pi 5's core has dotprod (the int8 conv takes SDOT), Pi 4's has not (SMULL + SADALP)
    [("cortex-a76", "full"), ("cortex-a72", "quick")],
)
def test_opt_matches_ref_arm64_neon(tmp_path, cpu, mode):
    _build_and_run(
        tmp_path,
        ["CC=aarch64-linux-gnu-gcc", "KT_FLAGS=-static"],
        runner=["qemu-aarch64-static", "-cpu", cpu],
        args=["quick"] if mode == "quick" else [],
    )


@pytest.mark.skipif(
    not (shutil.which("arm-linux-gnueabihf-gcc") and shutil.which("qemu-arm-static")),
    reason="needs arm-linux-gnueabihf-gcc and qemu-arm-static",
)
@pytest.mark.parametrize("fpu", ["neon", "neon-vfpv4"])  # the Linux armv7 build: vfpv4 (FMA)
def test_opt_matches_ref_armv7_neon(tmp_path, fpu):
    _build_and_run(
        tmp_path,
        [
            "CC=arm-linux-gnueabihf-gcc",
            f"KT_FLAGS=-static -march=armv7-a -mfpu={fpu} -mfloat-abi=hard",
        ],
        runner=["qemu-arm-static"],
        args=["quick"],
    )


@pytest.mark.skipif(
    not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")),
    reason="needs arm-none-eabi-gcc and qemu-system-arm",
)
@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an505", "mps2-an385", "microbit"])
def test_opt_matches_ref_cortex_m(tmp_path, board):
    """kernel_test built for the board (KERNEL_TEST=1: quick product, semihosting). The
    micro:bit's Cortex-M0 (ARMv6-M) runs the portable C kernels, with buffers sized for
    its 16 KiB of RAM."""
    make = [
        "make",
        "-s",
        "-C",
        f"{FIRMWARE}/boards/{board}",
        "-j2",
        "KERNEL_TEST=1",
        f"BUILD={tmp_path / 'build'}",
    ]
    subprocess.run([*make, "all"], check=True, capture_output=True, text=True)
    # 900 s: on the FPU-less cores (mps2-an385, microbit) float CONV_2D's fused multiply-add
    # is computed exactly in soft double; 648 s measured for mps2-an385 on 2 loaded cores
    res = subprocess.run([*make, "run"], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().endswith("ok"), res.stdout + res.stderr
    nm = subprocess.run(
        ["arm-none-eabi-nm", str(tmp_path / "build" / "kfda_app.elf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if board == "microbit":  # ARMv6-M: no Thumb-2 assembly linked
        assert "_thumb2" not in nm
        assert "kfda_lce_bconv2d_opt" in nm
        # the small buffers still leave cases for every kernel
        counts = re.findall(r"^(.*) opt == ref: (\d+) cases$", res.stdout, re.M)
        assert len(counts) == 13 and all(int(n) > 0 for _, n in counts), res.stdout
    elif board != "mps2-an385":  # the assembly loop is what ran
        assert "kfda_bconv_popcount_thumb2" in nm
        assert "kfda_bconv_k18_thumb2" in nm and "kfda_bconv_k9_thumb2" in nm  # FPU boards
        assert "kfda_bconv_kn_thumb2" in nm


def test_reference_build_still_runs_models(tmp_path, kfda):
    """make KFDA_KERNELS=ref builds and plans without the optimized kernel's scratch."""
    build = tmp_path / "ref"
    subprocess.run(
        ["make", "-s", "-C", FIRMWARE, "-j2", f"BUILD={build}", "KFDA_KERNELS=ref", "all"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert (build / "kfda_host").exists()
