"""The tensor arena a model needs: the firmware's own planner when it is built.

The firmware (branch `firmware`) builds a native host tool, `kfda_host`, whose
`kfda_host plan model.tflite` prints JSON with `arena_bytes`: the memory plan its
runtime will really use. `arena_bytes()` runs it when it can be found and returns
None otherwise, so the export works before the firmware exists and picks the real
number up as soon as it does.

Where it is looked for, first match wins:
1. the `KFDA_HOST` environment variable (a path to the executable);
2. `kfda_host` in the firmware's build folders (`firmware/build/`, `firmware/build/host/`);
3. `kfda_host` on PATH;
4. otherwise it is built from the installed firmware sources with the host's `cc` and
   `make`, once, into the build cache (`build.build_host_tool`).

Only when none of that is possible (no C compiler) the chip check uses `Graph.activation_peak_bytes()`, a lower bound (the
buffers one op reads and writes at once), so it only rejects models that cannot fit
whatever the plan.

A Linux target's own build plans more than the host's: its NEON kernels keep data of
their own in the arena (arm64 and armv7: the binary filters repacked once at load).
`target_arena_bytes` asks that build (`kfda_app --plan` under qemu-user).
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export import build, emulation

import json
import os
import shutil
import subprocess

TOOL = build.HOST_TOOL


def find_tool():
    """Path of the firmware's `kfda_host`, or None when it is not built."""
    explicit = os.environ.get("KFDA_HOST")
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise KerasFDAError(
                f"KFDA_HOST={explicit} is not an executable file; unset it or "
                "point it at the firmware's built kfda_host"
            )
        return explicit
    try:
        from keras_fda.firmware import source_dir

        firmware = source_dir()
    except ImportError:
        firmware = None
    if firmware:
        for folder in ("build", os.path.join("build", "host")):
            candidate = os.path.join(firmware, folder, TOOL)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which(TOOL)
    if found or not firmware or not (shutil.which("make") and shutil.which("cc")):
        return found
    return build.build_host_tool()


def run_plan(tflite_path, tool, timeout=60):
    """`tool plan tflite_path`'s JSON (arena_bytes, planned_bytes, weight_bytes, inputs...).
    A planner that fails is an error: the model is one the firmware cannot run."""
    try:
        done = subprocess.run(
            [tool, "plan", tflite_path], capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise KerasFDAError(f"{tool} plan failed to run ({error})")
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise KerasFDAError(f"the firmware's planner rejects the model: {reason}")
    try:
        plan = json.loads(done.stdout)
        int(plan["arena_bytes"])
    except (ValueError, KeyError, TypeError):
        raise KerasFDAError(
            f"{tool} plan printed no JSON with arena_bytes; rebuild the firmware's host tool"
        )
    return plan


def arena_bytes(tflite_path, timeout=60):
    """The firmware's planned arena for the model at `tflite_path`, or None if the
    planner is not built. A planner that runs and fails is an error: the model is one
    the firmware cannot run."""
    tool = find_tool()
    if tool is None:
        return None
    return int(run_plan(tflite_path, tool, timeout)["arena_bytes"])


def target_arena_bytes(target, tflite_path):
    """The arena the Linux `target`'s own build plans for the model at `tflite_path`
    (`kfda_app --plan`, under the target's qemu-user), or None when its cross compiler
    or qemu-user is not installed. The build is cached (export/build.py)."""
    tools = [target.cross_compiler, "make"] + ([target.qemu] if target.qemu else [])
    if not all(shutil.which(t) for t in tools):
        return None
    folder = build.build_firmware(target)
    command = [os.path.join(folder, "kfda_app"), "--plan", os.path.abspath(tflite_path)]
    log = emulation.run_command(
        ([target.qemu] if target.qemu else []) + command,
        cwd=folder,
        what=f"planning the arena on {target.name}",
    )
    planned = emulation.parse_app_output(log).get("arena_bytes")
    if planned is None:
        raise KerasFDAError(f"the {target.name} build printed no arena_bytes; rebuild it")
    return planned
