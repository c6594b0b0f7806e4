"""Every Larq Zoo 2.4 architecture (random weights, small inputs, nothing downloaded)
exports and runs on arm64, armv7 (qemu-user) and a Cortex-M7 (mps2-an500 under
qemu-system-arm), each target's outputs within 1e-5 x max(1, |y|) of the LCE interpreter
running the same flatbuffer and bit-identical across targets.

An architecture whose converted graph needs ops the runtime lacks (the graph's ops minus
`supported_ops()`) is skipped, naming the ops. Each model is built and exported once.
KFDA_ZOO_FIGURES=path appends each run's figures (JSON lines); KFDA_ZOO_PACKAGES=dir
exports into dir and reuses what is there (benchmarks/zoo.py --work fills the same).

Models are compared on their logits (the zoo's final softmax is cut off: near one-hot
probabilities would hide differences). The default suite runs DEFAULT_ARCHITECTURES; the
whole zoo (converting 2-60 M parameter models takes most of an hour on 2 cores) runs
with KFDA_TEST_ZOO=all, e.g. `KFDA_TEST_ZOO=all ./test.sh -k zoo`.
"""

from keras_fda.export import runner
from keras_fda.export.pipeline import UnsupportedOpsError

import json
import os

import pytest

larq_zoo = pytest.importorskip(
    "larq_zoo", reason="larq-zoo is not installed (requirements-zoo.txt)"
)

from zoo_models import (  # noqa: E402
    ARCHITECTURES,
    CORTEX_M_BOARD,
    LINUX_TARGETS,
    export_once,
    inputs,
    lce_outputs,
    max_rel_diff,
)

DEFAULT_ARCHITECTURES = ("QuickNetSmall",)
WHOLE_ZOO = os.environ.get("KFDA_TEST_ZOO", "") == "all"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (package folder, exported for Cortex-M or not, why not), built once (or
    taken from $KFDA_ZOO_PACKAGES, the folder benchmarks/zoo.py --work fills)."""
    work = os.environ.get("KFDA_ZOO_PACKAGES") or str(tmp_path_factory.mktemp("zoo"))
    cache = {}

    def get(name):
        if name not in cache:
            try:
                folder, why_not = export_once(name, work)
                cache[name] = (folder, why_not is None, why_not)
            except UnsupportedOpsError as error:
                cache[name] = error
        if isinstance(cache[name], UnsupportedOpsError):
            pytest.skip(f"{name} needs ops the runtime lacks: {', '.join(cache[name].ops)}")
        return cache[name]

    return get


def _record(name, board, stats, diff):
    path = os.environ.get("KFDA_ZOO_FIGURES")
    if path:
        keep = ("instructions_per_inference", "flash_bytes", "arena_bytes", "model_bytes")
        row = {"architecture": name, "board": board, "max_rel_diff": diff}
        row.update({k: stats.get(k) for k in keep})
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")


def _marks(name):
    if not WHOLE_ZOO and name not in DEFAULT_ARCHITECTURES:
        return [pytest.mark.skip(reason="the whole zoo runs with KFDA_TEST_ZOO=all")]
    return []


@pytest.mark.parametrize("name", [pytest.param(name, marks=_marks(name)) for name in ARCHITECTURES])
def test_zoo_architecture_runs_on_every_target(exported, name):
    folder, for_cortex_m, why_not = exported(name)
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    shape = manifest["input"]["shape"][1:]
    x = inputs(shape)
    want = lce_outputs(folder, x)
    boards = LINUX_TARGETS + ([CORTEX_M_BOARD] if for_cortex_m else [])
    first = None
    for board in boards:
        got, stats = runner.run_package(
            folder, x, board=board, count_instructions=(board == CORTEX_M_BOARD)
        )
        diff = max_rel_diff(got, want)
        _record(name, board, stats, diff)
        assert diff <= 1e-5, (board, diff)
        if first is None:
            first = got
        assert got.tobytes() == first.tobytes(), board
    if not for_cortex_m:
        # the export refused the board for its real memory: say so, not pass silently
        assert "too large for " + CORTEX_M_BOARD in why_not
