"""The export's chip check: which core and board `--cpu`/`--board` mean, and whether a
model fits that board. The cores and boards themselves are in `platforms.py`.

Flash must hold the whole flatbuffer (the firmware links `model_data.c`, the model's
bytes, into flash and reads weights in place). RAM must hold the total: the tensor
arena, the runtime state (the image's static RAM: `kfda_model`, newlib, the heap reserve)
and the stack estimate (ram.py measures both on the board's real image); where the
Cortex-M toolchain is missing, the arena alone.
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export.platforms import BOARDS, CORES, DEFAULT_CORE, KiB, find_board


def _unknown_board(name):
    return KerasFDAError(f"unknown --board {name!r}; choose one of {', '.join(BOARDS)}")


def resolve(cpu, board=None):
    """The (Core, Board) for `--cpu` and an optional `--board`; `KerasFDAError` if unknown."""
    chosen = None
    if board is not None:
        chosen = find_board(board)
        if chosen is None:
            raise _unknown_board(board)
    if cpu is None:
        cpu = chosen.core if chosen else DEFAULT_CORE
    if cpu not in CORES:
        raise KerasFDAError(f"unknown --cpu {cpu!r}; choose one of {', '.join(CORES)}")
    chosen = chosen or BOARDS[CORES[cpu].default_board]
    if chosen.core != cpu:
        raise KerasFDAError(
            f"--board {board} has a {chosen.core}, not a {cpu}; boards with a "
            f"{cpu}: {', '.join(b.name for b in BOARDS.values() if b.core == cpu)}"
        )
    return CORES[cpu], chosen


def check_fits(board, flatbuffer_bytes, arena_bytes, arena_is_estimate, ram_parts=None):
    """Raise `KerasFDAError` (one line, with the numbers) if the model cannot fit `board`.
    ram_parts: {state_bytes, stack_bytes} (ram.measure); then RAM is held against the
    total arena + state + stack."""
    if flatbuffer_bytes > board.flash_bytes:
        raise KerasFDAError(
            f"model too large for {board.name} ({board.core}): its flatbuffer needs "
            f"{flatbuffer_bytes:,} bytes of flash, the board has {board.flash_bytes:,}; "
            "shrink the model or choose a board with more flash (--board)"
        )
    if arena_bytes is not None and ram_parts is not None:
        state, stack = ram_parts["state_bytes"], ram_parts["stack_bytes"]
        total = arena_bytes + state + stack
        if total > board.ram_bytes:
            raise KerasFDAError(
                f"model too large for {board.name} ({board.core}): it needs {total:,} bytes "
                f"of RAM (arena {arena_bytes:,} + runtime state {state:,} + stack {stack:,}), "
                f"the board has {board.ram_bytes:,}; use a smaller input or fewer channels, "
                "--int8, or a board with more RAM (--board)"
            )
    if arena_bytes is not None and arena_bytes > board.ram_bytes:
        what = "at least " if arena_is_estimate else ""
        raise KerasFDAError(
            f"model too large for {board.name} ({board.core}): its tensor arena needs "
            f"{what}{arena_bytes:,} bytes of RAM, the board has {board.ram_bytes:,}; "
            "use a smaller input or fewer channels, or a board with more RAM (--board)"
        )


def manifest_entry(core, board):
    """The manifest's `chip`."""
    return {
        "cpu": core.name,
        "arch": core.arch,
        "fpu": bool(core.fpu),
        "dsp": core.dsp,
        "board": board.name,
        "qemu_machine": board.qemu_machine or None,
        "flash_bytes": board.flash_bytes,
        "ram_bytes": board.ram_bytes,
    }


def format_table():
    """The table of `--cpu` values and boards (`keras-fda export --list-cpus`)."""
    rows = [("board", "cpu", "flash", "RAM", "qemu", "")]
    for b in BOARDS.values():
        default = "default for --cpu" if CORES[b.core].default_board == b.name else ""
        rows.append(
            (
                b.name,
                b.core,
                f"{b.flash_bytes // KiB:,} KiB",
                f"{b.ram_bytes // KiB:,} KiB",
                b.qemu_machine or "-",
                default,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
