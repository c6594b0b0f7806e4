"""Total RAM (issue 13 part 2): the export's figures for a Cortex-M board (arena +
runtime state + stack estimate, export/ram.py) hold against what the board really uses
under emulation: the stack's painted high-water mark and the image's static RAM; and the
chip check refuses a model on its total, with the numbers."""

from keras_fda.errors import KerasFDAError
from keras_fda.export import chips, plan, platforms, ram, runner

import json
import os

import numpy as np
import pytest

BOARD = "mps2-an386"


@pytest.fixture(scope="module")
def ram_package(tiny_package):
    """tiny_package with the `ram` entry the export writes (same functions)."""
    board = platforms.find_board(BOARD)
    path = os.path.join(tiny_package, "manifest.json")
    with open(path) as f:
        manifest = json.load(f)
    planned = plan.run_plan(os.path.join(tiny_package, "model.tflite"), plan.find_tool())
    arena, ops = planned["arena_bytes"], sorted(planned["ops"])
    manifest["ram"] = ram.manifest_entry(arena, ram.measure(board, ops), board)
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
    return tiny_package, manifest["ram"]


def test_measured_stack_and_ram_stay_within_the_estimate(ram_package):
    package, entry = ram_package
    assert (
        entry["total_bytes"] == entry["arena_bytes"] + entry["state_bytes"] + entry["stack_bytes"]
    )
    # the model struct is a header: the tables are in the arena
    assert 0 < entry["model_struct_bytes"] <= 256
    inputs = np.random.RandomState(1).uniform(-1, 1, (2, 8, 8, 1)).astype(np.float32)
    _, stats = runner.run_package(package, inputs, board=BOARD)
    assert 0 < stats["stack_bytes"] <= entry["stack_bytes"]
    assert stats["stack_estimate_bytes"] == entry["stack_bytes"]
    assert stats["ram_used_bytes"] <= entry["total_bytes"]
    # the compiler's call path alone is a real part of the measured depth
    assert entry["stack_call_path_bytes"] > 0


def test_chip_check_refuses_on_the_total():
    board = platforms.find_board(BOARD)
    arena = board.ram_bytes - 1000  # the arena alone fits
    parts = {"state_bytes": 600, "stack_bytes": 500}
    with pytest.raises(KerasFDAError) as error:
        chips.check_fits(board, 1000, arena, False, ram_parts=parts)
    message = str(error.value)
    assert "\n" not in message
    for number in (arena + 1100, arena, 600, 500, board.ram_bytes):
        assert f"{number:,}" in message
    chips.check_fits(board, 1000, arena, False, ram_parts={"state_bytes": 500, "stack_bytes": 500})


def test_deepest_path_follows_pointers_and_refuses_recursion():
    frames = {"main": 8, "a": 16, "eval_x": 100, "eval_y": 40, "k": 4}
    calls = {"main": {"a"}, "a": {"__indirect_call", "k"}, "eval_y": {"k"}}
    # the pointer targets are the op functions nothing calls directly
    assert ram.deepest_path(frames, calls, {"eval_x", "eval_y"}, "main") == 8 + 16 + 100
    assert ram.deepest_path(frames, calls, {"eval_y"}, "main") == 8 + 16 + 40 + 4
    with pytest.raises(KerasFDAError):
        ram.deepest_path(frames, {"main": {"a"}, "a": {"main"}}, set(), "main")
    # library calls count their allowance where they are made, on their own path
    calls = {"main": {"a", "printf"}, "a": {"k"}, "k": {"memcpy"}}
    stdio, other = ram.NEWLIB_STDIO_STACK_BYTES, ram.LIBRARY_STACK_BYTES
    assert ram.deepest_path(frames, calls, set(), "main") == 8 + max(stdio, 16 + 4 + other)
    assert ram.library_stack_bytes("snprintf") == stdio
    assert ram.library_stack_bytes("__aeabi_fadd") == other
