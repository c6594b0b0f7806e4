"""The Cortex-M CPUs `--cpu` accepts, the boards with their flash and RAM, and the check
that a model fits one.

Flash must hold the whole flatbuffer (the firmware links `model_data.c`, the model's
bytes, into flash and reads weights in place); RAM must hold the tensor arena. Code and
stack are not counted: the numbers are the model's own needs against the board's totals.

Reference boards are the QEMU machines the firmware is tested on; their "flash" is the
memory the linker script puts code and read-only data in (an SSRAM bank on MPS2, QSPI
on MPS3: QEMU's `hw/arm/mps2.c` and `hw/arm/mps2-tz.c`), their RAM the data bank.
"""
import dataclasses

from keras_fda.errors import KerasFDAError

KiB = 1024
MiB = 1024 * KiB


@dataclasses.dataclass(frozen=True)
class Cpu:
    name: str
    arch: str            # the -march the firmware's Makefiles use
    fpu: bool            # single-precision FPU present on the reference board
    dsp: bool            # DSP extension (SMLAD, SXTB16...)
    default_board: str


@dataclasses.dataclass(frozen=True)
class Board:
    name: str
    cpu: str
    flash_bytes: int
    ram_bytes: int
    qemu_machine: str    # "" for boards QEMU does not emulate
    note: str


CPUS = {cpu.name: cpu for cpu in (
    Cpu("cortex-m0plus", "armv6-m", False, False, "rp2040-pico"),
    Cpu("cortex-m3", "armv7-m", False, False, "mps2-an385"),
    Cpu("cortex-m4", "armv7e-m", True, True, "mps2-an386"),
    Cpu("cortex-m7", "armv7e-m", True, True, "mps2-an500"),
    Cpu("cortex-m33", "armv8-m.main", True, True, "mps2-an505"),
    Cpu("cortex-m55", "armv8.1-m.main", True, True, "mps3-an547"),
)}

BOARDS = {board.name: board for board in (
    # QEMU reference machines
    Board("mps2-an385", "cortex-m3", 4 * MiB, 4 * MiB, "mps2-an385",
          "ZBT SSRAM1 4 MiB at 0x0 (code), SSRAM2/3 4 MiB at 0x20000000 (data)"),
    Board("mps2-an386", "cortex-m4", 4 * MiB, 4 * MiB, "mps2-an386",
          "ZBT SSRAM1 4 MiB at 0x0 (code), SSRAM2/3 4 MiB at 0x20000000 (data)"),
    Board("mps2-an500", "cortex-m7", 4 * MiB, 4 * MiB, "mps2-an500",
          "ZBT SSRAM1 4 MiB at 0x0 (code), SSRAM2/3 4 MiB at 0x20000000 (data)"),
    Board("mps2-an505", "cortex-m33", 4 * MiB, 4 * MiB, "mps2-an505",
          "SSRAM1 4 MiB at 0x10000000 (code), SSRAM2/3 4 MiB at 0x28000000 (data)"),
    Board("mps3-an547", "cortex-m55", 8 * MiB, 2 * MiB, "mps3-an547",
          "QSPI 8 MiB at 0x28000000 (read-only data), SRAM 2 MiB at 0x01000000"),
    # real boards
    Board("rp2040-pico", "cortex-m0plus", 2 * MiB, 264 * KiB, "",
          "Raspberry Pi Pico: 2 MiB QSPI flash, 264 KiB SRAM"),
    Board("samd21g18", "cortex-m0plus", 256 * KiB, 32 * KiB, "",
          "Microchip SAMD21G18 (Arduino Zero): 256 KiB flash, 32 KiB SRAM"),
    Board("nrf52840", "cortex-m4", 1 * MiB, 256 * KiB, "",
          "Nordic nRF52840: 1 MiB flash, 256 KiB RAM"),
    Board("stm32f746", "cortex-m7", 1 * MiB, 320 * KiB, "",
          "ST STM32F746 (NUCLEO-F746ZG, 32F746G-DISCO): 1 MiB flash, 320 KiB SRAM"),
    Board("nrf5340", "cortex-m33", 1 * MiB, 512 * KiB, "",
          "Nordic nRF5340 application core: 1 MiB flash, 512 KiB RAM"),
)}


def resolve(cpu, board=None):
    """The (Cpu, Board) for `--cpu` and an optional `--board`; `KerasFDAError` if unknown."""
    if cpu is None and board is not None:
        if board not in BOARDS:
            raise KerasFDAError(f"unknown --board {board!r}; choose one of {', '.join(BOARDS)}")
        cpu = BOARDS[board].cpu
    if cpu is None:
        cpu = "cortex-m4"
    if cpu not in CPUS:
        raise KerasFDAError(f"unknown --cpu {cpu!r}; choose one of {', '.join(CPUS)}")
    name = board or CPUS[cpu].default_board
    if name not in BOARDS:
        raise KerasFDAError(f"unknown --board {name!r}; choose one of {', '.join(BOARDS)}")
    chosen = BOARDS[name]
    if chosen.cpu != cpu:
        raise KerasFDAError(f"--board {name} has a {chosen.cpu}, not a {cpu}; boards with a "
                            f"{cpu}: {', '.join(b.name for b in BOARDS.values() if b.cpu == cpu)}")
    return CPUS[cpu], chosen


def check_fits(board, flatbuffer_bytes, arena_bytes, arena_is_estimate):
    """Raise `KerasFDAError` (one line, with the numbers) if the model cannot fit `board`."""
    if flatbuffer_bytes > board.flash_bytes:
        raise KerasFDAError(
            f"model too large for {board.name} ({board.cpu}): its flatbuffer needs "
            f"{flatbuffer_bytes:,} bytes of flash, the board has {board.flash_bytes:,}; "
            "shrink the model or choose a board with more flash (--board)")
    if arena_bytes is not None and arena_bytes > board.ram_bytes:
        what = "at least " if arena_is_estimate else ""
        raise KerasFDAError(
            f"model too large for {board.name} ({board.cpu}): its tensor arena needs "
            f"{what}{arena_bytes:,} bytes of RAM, the board has {board.ram_bytes:,}; "
            "use a smaller input or fewer channels, or a board with more RAM (--board)")


def manifest_entry(cpu, board):
    return {
        "cpu": cpu.name,
        "arch": cpu.arch,
        "fpu": cpu.fpu,
        "dsp": cpu.dsp,
        "board": board.name,
        "qemu_machine": board.qemu_machine or None,
        "flash_bytes": board.flash_bytes,
        "ram_bytes": board.ram_bytes,
    }


def format_table():
    """The table of `--cpu` values and boards (`keras-fda export --list-cpus`)."""
    rows = [("board", "cpu", "flash", "RAM", "qemu", "")]
    for b in BOARDS.values():
        default = "default for --cpu" if CPUS[b.cpu].default_board == b.name else ""
        rows.append((b.name, b.cpu, f"{b.flash_bytes // KiB:,} KiB", f"{b.ram_bytes // KiB:,} KiB",
                     b.qemu_machine or "-", default))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
