"""Every target boots and computes: the plain-C self-test on each emulated Cortex-M board
and each Linux target (checked against NumPy), the SysTick instruction counter under
-icount (per inference and per op), and the real board's image builds and fits its memory
map."""

from keras_fda.export import emulation, platforms, runner
from keras_fda.firmware import source_dir

import os
import re
import subprocess

import numpy as np
import pytest

EMULATED = [b.name for b in platforms.BOARDS.values() if b.emulated]
LINUX = ["native", "arm64", "armv7"]


def selftest_oracle(records):
    pattern = ((37 * np.arange(256)) & 0xFF).astype(np.uint8)
    bits = np.unpackbits(records ^ pattern, axis=1).sum(axis=1).astype(np.uint32)
    halves = records.view(np.int8).astype(np.float32) * np.float32(0.5)
    sums = np.zeros(len(records), np.float32)
    for i in range(256):  # the same order of float additions as the C loop
        sums += halves[:, i]
    return bits, sums


@pytest.fixture(scope="module")
def records():
    rng = np.random.RandomState(5)
    rows = rng.randint(0, 256, size=(4, 256)).astype(np.uint8)
    rows[0] = 0  # all +0.5 * 0, popcount of the pattern alone
    rows[1] = 0x80  # -128 everywhere: the float sum is -16384
    return rows


@pytest.mark.parametrize("board", EMULATED + LINUX)
def test_selftest_runs_on_every_target(board, records):
    bits, sums, stats = runner.run_selftest(board, records)
    want_bits, want_sums = selftest_oracle(records)
    np.testing.assert_array_equal(bits, want_bits)
    np.testing.assert_array_equal(sums, want_sums)
    assert stats["inferences"] == len(records)
    if board in EMULATED:
        # Plausible for 256 iterations of a popcount and a float add (the M3 adds floats
        # in software, the M0 in software with Thumb-1 only: about 250 instructions an
        # iteration), and deterministic under -icount shift=0: a second run counts the same.
        count = stats["instructions_per_inference"]
        assert 256 * 5 < count < 256 * (400 if board == "microbit" else 200)
        again = runner.run_selftest(board, records)[2]
        assert again["instructions_per_inference"] == count
        assert again["instructions_per_inference_min"] == stats["instructions_per_inference_min"]


# The counter each board's image links: SysTick (targets/cortex-m/counter.c), or the
# micro:bit's TIMER0 (its nRF51 has no SysTick; see firmware/boards/microbit/README.md).
COUNTER_SOURCES = {"microbit": os.path.join("boards", "microbit", "counter_timer0.c")}


@pytest.mark.parametrize(
    "board", ["mps2-an386", "mps2-an505", "mps3-an547", "netduinoplus2", "microbit"]
)
def test_icount_counter_matches_a_known_loop(tmp_path, board):
    """The counter converts ticks to instructions exactly for each board's clock
    (export/platforms.py's core_hz, what QEMU's machine runs SysTick or the micro:bit's
    TIMER0 at): a subs/bne loop of 100,000 iterations is 200,000 instructions."""
    root = source_dir()
    src = os.path.join(root, "targets")
    program = tmp_path / "loop.c"
    program.write_text(
        '#include <stdio.h>\n#include <stdint.h>\n#include "kfda_app_platform.h"\n'
        "int main(void){ uint32_t n = 100000; kfda_counter_start();\n"
        '__asm volatile(".syntax unified\\n1: subs %0, %0, #1\\n\\tbne 1b" : "+r"(n));\n'
        "uint64_t t = kfda_counter_ticks();\n"
        'printf("%llu\\n", (unsigned long long)kfda_counter_instructions(t)); return 0; }\n'
    )
    core, hz = platforms.BOARDS[board].core, platforms.BOARDS[board].core_hz
    flags = [f"-mcpu={core}", "-mfloat-abi=soft"]
    counter = os.path.join(
        root, COUNTER_SOURCES.get(board, os.path.join("targets", "cortex-m", "counter.c"))
    )
    (tmp_path / "board_memory.ld").write_text(
        open(os.path.join(src, "cortex-m", "memory", board + ".ld")).read()
    )
    elf = tmp_path / f"{board}.elf"
    subprocess.run(
        [
            "arm-none-eabi-gcc",
            *flags,
            "-mthumb",
            "-O2",
            f"-DKFDA_CORE_HZ={hz}",
            f"-I{src}/app",
            str(program),
            f"{src}/cortex-m/startup.c",
            counter,
            f"{src}/cortex-m/semihost.c",
            "--specs=rdimon.specs",
            "-nostartfiles",
            f"-L{tmp_path}",
            f"-T{src}/cortex-m/cortex-m.ld",
            "-o",
            str(elf),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            "qemu-system-arm",
            "-M",
            board,
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
            "-kernel",
            str(elf),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    tick = 1e9 / hz
    assert abs(int(out.split()[0]) - 200000) <= 2 * tick, (board, out)


def test_per_op_counts_add_up_to_the_inference(tmp_path, tiny_package):
    """-DKFDA_PROFILE_OPS (benchmarks/bench.py --only ops): one line "kfda: op INDEX NAME
    COUNT" per op of an inference, in graph order, adding up to nearly the instructions of
    the plain build's inference (which also runs the invoke loop)."""
    # This checkout's firmware (source_dir() is the installed package's, which an
    # editable install may map to another checkout).
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    board = os.path.join(root, "firmware", "boards", "mps2-an386")
    (tmp_path / "input.bin").write_bytes(bytes(8 * 8 * 4))
    out = {}
    for tag, flags in (("plain", ""), ("ops", "-DKFDA_PROFILE_OPS")):
        make = [
            "make",
            "-s",
            "-C",
            board,
            f"MODEL={tiny_package}",
            f"BUILD={tmp_path / tag}",
            f"EXTRA_CFLAGS={flags}",
        ]
        subprocess.run([*make, "-j2", "all"], check=True, capture_output=True)
        out[tag] = subprocess.run(
            [*make, f"INPUT={tmp_path / 'input.bin'}", "run"],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    assert "kfda: op " not in out["plain"] and "kfda: op " in out["ops"], out["ops"][-500:]
    ops = re.findall(r"^kfda: op (\d+) (\w+) (\d+)\s*$", out["ops"], re.M)
    assert [(int(i), op) for i, op, _ in ops] == list(
        enumerate(["CONV_2D", "LceQuantize", "LceBconv2d", "MEAN", "FULLY_CONNECTED"])
    )
    total = emulation.parse_app_output(out["plain"])["instructions_per_inference"][0]
    # each count is whole SysTick ticks (40 instructions at the board's 25 MHz), so the
    # sum may pass the inference's own count by up to one tick per op
    tick = 1e9 / platforms.BOARDS["mps2-an386"].core_hz
    assert 0.95 * total < sum(int(n) for *_, n in ops) <= total + len(ops) * tick


def test_real_board_image_builds_and_fits(tmp_path):
    """STM32F746G-Discovery: the self-test image links into 1 MiB flash / 320 KiB RAM at
    0x08000000 / 0x20000000, with the vector table first."""
    build = tmp_path / "disco"
    subprocess.run(
        [
            "make",
            "-s",
            "-j2",
            "-C",
            os.path.join(source_dir(), "boards", "stm32f746g-disco"),
            "SELFTEST=1",
            f"BUILD={build}",
        ],
        check=True,
        capture_output=True,
    )
    assert (build / "kfda_app.bin").stat().st_size > 1024
    header = subprocess.run(
        ["arm-none-eabi-objdump", "-h", str(build / "kfda_app.elf")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    vectors = next(line.split() for line in header.splitlines() if " .vectors " in line)
    assert int(vectors[3], 16) == 0x08000000  # VMA: the vector table opens the flash
    sizes = dict(line.split() for line in (build / "sizes.txt").read_text().splitlines())
    assert int(sizes["flash_bytes"]) < 1024 * 1024 and int(sizes["ram_bytes"]) < 320 * 1024
