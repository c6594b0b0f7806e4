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
   `make`, once, into `~/.cache/keras-fda/` (keyed by a digest of the sources).

Only when none of that is possible (no C compiler) the chip check uses `Graph.activation_peak_bytes()`, a lower bound (the
buffers one op reads and writes at once), so it only rejects models that cannot fit
whatever the plan.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from keras_fda.errors import KerasFDAError

TOOL = "kfda_host"


def find_tool():
    """Path of the firmware's `kfda_host`, or None when it is not built."""
    explicit = os.environ.get("KFDA_HOST")
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise KerasFDAError(f"KFDA_HOST={explicit} is not an executable file; unset it or "
                                "point it at the firmware's built kfda_host")
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
    return shutil.which(TOOL) or (_build_cached(firmware) if firmware else None)


def _cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "keras-fda")


def _sources_digest(firmware):
    digest = hashlib.sha256()
    for folder in ("include", "src", "host"):
        for root, _, names in sorted(os.walk(os.path.join(firmware, folder))):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    path = os.path.join(root, name)
                    digest.update(os.path.relpath(path, firmware).encode())
                    with open(path, "rb") as f:
                        digest.update(f.read())
    with open(os.path.join(firmware, "Makefile"), "rb") as f:
        digest.update(f.read())
    return digest.hexdigest()[:16]


def _build_cached(firmware):
    """Build kfda_host from `firmware` into the cache; None without a compiler."""
    if not (shutil.which("make") and (shutil.which("cc") or shutil.which("gcc"))):
        return None
    if not os.path.isfile(os.path.join(firmware, "Makefile")):
        return None
    target = os.path.join(_cache_root(), f"kfda_host-{_sources_digest(firmware)}")
    tool = os.path.join(target, TOOL)
    if os.path.isfile(tool):
        return tool
    os.makedirs(_cache_root(), exist_ok=True)
    scratch = tempfile.mkdtemp(dir=_cache_root(), prefix=".build-")
    try:
        done = subprocess.run(["make", "-s", "-C", firmware, f"BUILD={scratch}", "all"],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise KerasFDAError(f"building the firmware's planner (kfda_host) failed: {reason}")
        try:
            os.replace(scratch, target)  # atomic: a concurrent build may have won
        except OSError:
            pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tool if os.path.isfile(tool) else None


def arena_bytes(tflite_path, timeout=60):
    """The firmware's planned arena for the model at `tflite_path`, or None if the
    planner is not built. A planner that runs and fails is an error: the model is one
    the firmware cannot run."""
    tool = find_tool()
    if tool is None:
        return None
    try:
        done = subprocess.run([tool, "plan", tflite_path], capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise KerasFDAError(f"{tool} plan failed to run ({error})")
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise KerasFDAError(f"the firmware's planner rejects the model: {reason}")
    try:
        value = json.loads(done.stdout)["arena_bytes"]
    except (ValueError, KeyError, TypeError):
        raise KerasFDAError(f"{tool} plan printed no JSON with arena_bytes; "
                            "rebuild the firmware's host tool")
    return int(value)
