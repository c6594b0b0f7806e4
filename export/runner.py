"""`keras-fda run`: build a package's firmware for its target, run it under emulation,
read the outputs.

`run_package(package_dir, inputs, board=None)`:

1. reads the package (`package.read_package`) and checks the inputs against the
   manifest's shape and dtype;
2. asks the runtime for the model's memory plan (`kfda_host plan`, the host tool
   `build.build_host_tool` builds: a corrupt model fails here, in one line);
3. checks that the model and its arena fit the board, then builds the firmware with
   the board's Makefile (Cortex-M) or `targets/linux/Makefile` (arm64, armv7, native),
   into the build cache (`build.build_firmware`);
4. runs it (`emulation.execute`): `qemu-system-arm -icount shift=0` with semihosting for
   a Cortex-M board, qemu-user for Linux, natively on the host;
5. returns the outputs as NumPy arrays shaped by the manifest, and the statistics.

Which boards and targets exist is `platforms.py`'s. Every failure a user can cause is a
`KerasFDAError` with one line saying what to do. Nothing is written outside the build
cache and a temporary run folder.
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export import build, emulation, platforms
from keras_fda.export.package import check_inputs, read_package, split_outputs
from keras_fda.export.plan import run_plan

import os
import shutil
import tempfile

import numpy as np

__all__ = ["run_package", "run_selftest", "choose_board", "plan_arena"]

KIB = 1024

# Bytes of flash the application itself takes beyond the model (code, newlib). Used for
# the early "does it fit" check; the linker has the last word.
APP_FLASH_OVERHEAD = 64 * KIB

CORTEX_M_TARGETS = ("cortex-m", "cortexm", "mcu")


def _default_place(package):
    if package.target in CORTEX_M_TARGETS:
        return platforms.emulated_board(package.cpu)
    name = platforms.RUN_ALIASES.get(package.target, package.target)
    place = platforms.run_places().get(name)
    if place is None or place.kind != "linux":
        raise KerasFDAError(
            f"unknown target {package.target!r} in manifest.json (cortex-m, arm64, armv7 or x86)"
        )
    return place


def choose_board(package, board=None):
    """(where to run, the board the package was made for or None).

    An explicit `board` is used as given (a real board is then refused by run_package).
    Otherwise the package's own board when it is emulated; a package made for a real
    board runs on the emulated board with the same core, and its memory is checked
    against the real board's."""
    if board is not None:
        return platforms.run_place(board), None
    wanted = package.manifest.board()
    made_for = platforms.find_board(wanted) if wanted else None
    if made_for is not None and not made_for.has_firmware:
        made_for = None  # checked by the export; this module checks the firmware's boards
    if made_for is not None and made_for.emulated:
        return made_for, None
    return _default_place(package), made_for


def plan_arena(package):
    """The arena bytes the runtime's memory plan needs for this model (`kfda_host plan`,
    which also rejects a corrupt model in one line); without a host compiler, the
    manifest's `arena_bytes` (written by the export when it could plan)."""
    recorded = package.manifest.arena_bytes
    if shutil.which("cc") is None and isinstance(recorded, int) and recorded > 0:
        return recorded
    return int(
        run_plan(os.path.abspath(package.model_path), build.build_host_tool())["arena_bytes"]
    )


SELFTEST_RECORD_BYTES = 256


def run_selftest(board, records, count_instructions=False):
    """Bring-up check of a board: build and run the plain-C self-test program
    (firmware/targets/app/model_selftest.c) on uint8 records of 256 bytes. Returns
    (uint32 popcount sums, float32 sums, stats); see that file for the formulas."""
    place = platforms.run_place(board)
    records = np.ascontiguousarray(records, dtype=np.uint8).reshape(-1, SELFTEST_RECORD_BYTES)
    if place.qemu:
        build.require_tools("qemu-system-arm" if place.kind == "cortex-m" else place.qemu)
    folder = build.build_firmware(place, selftest=True)
    with tempfile.TemporaryDirectory(prefix="keras-fda-selftest-") as work:
        model_path = os.path.join(work, "selftest.model")
        with open(model_path, "wb") as f:
            f.write(b"KFST")
        raw, stats = emulation.execute(place, folder, model_path, records, count_instructions)
    raw = raw.reshape(len(records), 8)
    stats.update(build.image_sizes(folder))
    return (
        np.ascontiguousarray(raw[:, :4]).view(np.uint32).ravel(),
        np.ascontiguousarray(raw[:, 4:]).view(np.float32).ravel(),
        stats,
    )


def _check_flash(chip, package):
    if len(package.model_bytes) + APP_FLASH_OVERHEAD > chip.flash_bytes:
        raise KerasFDAError(
            f"the model does not fit {chip.name}: its {len(package.model_bytes):,}-byte "
            f"flatbuffer and the code need more than the board's "
            f"{chip.flash_bytes // KIB:,} KiB of flash; use a bigger board or a smaller model"
        )


def _check_ram(chip, arena, recorded=None):
    """The manifest's total (arena + runtime state + stack, `export/ram.py`) against the
    board's RAM; for packages without one, the arena alone (what comes on top differs by
    board and is the linker's to check against the board's memory map)."""
    if isinstance(recorded, dict) and isinstance(recorded.get("total_bytes"), int):
        parts = {k: recorded.get(k) for k in ("state_bytes", "stack_bytes")}
        if all(isinstance(v, int) for v in parts.values()):
            total = arena + parts["state_bytes"] + parts["stack_bytes"]
            if total > chip.ram_bytes:
                raise KerasFDAError(
                    f"the model does not fit {chip.name}: it needs {total:,} bytes of RAM "
                    f"(arena {arena:,} + runtime state {parts['state_bytes']:,} + stack "
                    f"{parts['stack_bytes']:,}), the board has {chip.ram_bytes:,}; use a "
                    "bigger board or a smaller model"
                )
            return
    if arena > chip.ram_bytes:
        raise KerasFDAError(
            f"the model does not fit {chip.name}: its {arena:,}-byte arena alone needs "
            f"more than the board's {chip.ram_bytes // KIB:,} KiB of RAM; use a bigger "
            "board or a smaller model"
        )


def run_package(package_dir, inputs, board=None, count_instructions=True, threads=1):
    """Run a package's model on its target (or `board`) for every record of `inputs`.

    inputs: array of shape (N,) + the model's input shape without its batch axis (or one
    record), with exactly the model's dtype. Returns (outputs, stats): outputs is one
    array of shape (N,) + output shape[1:] (a list of them for several outputs); stats a
    dict with board, inferences, arena_bytes, model_bytes and, where measured,
    instructions_per_inference (Cortex-M under -icount: exact per inference; arm64 and
    armv7: counted on the first record, over all threads), flash_bytes, ram_bytes.
    threads: the Linux application's threads (KFDA_NUM_THREADS; the same outputs).
    """
    package = read_package(package_dir)
    place, made_for = choose_board(package, board)
    if threads != 1 and place.kind != "linux":
        raise KerasFDAError(
            f"--threads runs on the Linux targets (arm64, armv7); {place.name} is a "
            "microcontroller and runs one thread: drop --threads"
        )
    inputs = check_inputs(package, inputs)
    if place.kind == "cortex-m" and not place.emulated:
        raise KerasFDAError(
            f"{place.name} is a real board, not emulated: build its image "
            f"with `make -C firmware/boards/{place.name} MODEL={package_dir}`"
            " and flash it, or pass --board with an emulated board"
        )
    limits = [c for c in (place, made_for) if c is not None and c.kind == "cortex-m"]
    for chip in limits:
        _check_flash(chip, package)
    arena = plan_arena(package)
    stats = {
        "board": place.name,
        "description": place.run_description,
        "cpu": place.cpu,
        "model_bytes": len(package.model_bytes),
        "arena_bytes": arena,
        "threads": threads,
    }
    if made_for is not None:
        stats["made_for"] = made_for.name
        stats["description"] += f", standing in for {made_for.name} (same core)"

    if place.kind == "cortex-m":
        for chip in limits:
            _check_ram(chip, arena, package.manifest.ram)
        build.require_tools("qemu-system-arm")
        # The planned arena exactly (16-byte multiple): on a 16 KiB chip every byte counts,
        # and the model's bytes key the build anyway.
        folder = build.build_firmware(place, package, arena_bytes=max(16, -(-arena // 16) * 16))
        sizes = build.image_sizes(folder)
        stats.update(sizes)
        stats["arena_bytes_built"] = sizes.get("arena_bytes", arena)
        stats["arena_bytes"] = arena
    else:
        if place.qemu:
            build.require_tools(place.qemu)
        folder = build.build_firmware(place)

    raw, app = emulation.execute(
        place, folder, os.path.abspath(package.model_path), inputs, count_instructions, threads
    )
    stats.update(app)
    if place.kind == "cortex-m" and "stack_bytes" in stats and "ram_bytes" in stats:
        # RAM in use: the image's static RAM with the arena counted at the model's need
        # (the build rounds it up), plus the stack's measured high-water mark.
        built_arena = stats.get("arena_bytes_built", arena)
        stats["ram_used_bytes"] = stats["ram_bytes"] - built_arena + arena + stats["stack_bytes"]
    recorded = package.manifest.ram
    if isinstance(recorded, dict):
        for key in ("stack_bytes", "total_bytes"):
            if isinstance(recorded.get(key), int):
                stats[f"{key.split('_')[0]}_estimate_bytes"] = recorded[key]
    return split_outputs(package, raw, len(inputs)), stats
