"""Building the firmware: the build cache, `build_firmware` (the application for a board or
a Linux target) and `build_host_tool` (the runtime's native `kfda_host`, the planner), and
the reading of make's errors into one line.

Builds go into `cache_dir()/build/<name>-<key>`, the key a digest of every firmware
source, the flags and (for Cortex-M images, which link the model in) the model, so an
edit rebuilds and a repeat is free. A build is made in a scratch folder and renamed into
place, so a concurrent or interrupted build never leaves a half-built one.
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export.platforms import DEBIAN_PACKAGES, TARGETS

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

HOST_TOOL = "kfda_host"
CACHE_KEEP_PER_BOARD = 12
# A build used this recently may still be running in another process (parallel exports,
# the test suite's workers): pruning leaves it for a later export.
CACHE_IN_USE_SECONDS = 3600


def require_tools(*names):
    """`KerasFDAError` naming the Debian packages to install if an executable is missing."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        packages = sorted({DEBIAN_PACKAGES.get(n, n) for n in missing})
        raise KerasFDAError(
            f"{', '.join(missing)} not found: install it with "
            f"`sudo apt-get install {' '.join(packages)}`"
        )


def _require_newlib():
    out = subprocess.run(
        ["arm-none-eabi-gcc", "-print-file-name=rdimon.specs"], capture_output=True, text=True
    ).stdout.strip()
    if not os.path.isabs(out):
        raise KerasFDAError(
            "newlib for arm-none-eabi (rdimon.specs) not found: install it "
            "with `sudo apt-get install libnewlib-arm-none-eabi`"
        )


def cache_dir():
    """Where builds are cached: $KERAS_FDA_CACHE, else $XDG_CACHE_HOME/keras-fda."""
    root = os.environ.get("KERAS_FDA_CACHE")
    if not root:
        root = os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
            "keras-fda",
        )
    return root


def firmware_dir():
    """The installed firmware sources (keras_fda.firmware)."""
    from keras_fda.firmware import source_dir

    return source_dir()


def sources_digest(root):
    """Hash of every firmware source file (path and content), so an edit rebuilds."""
    digest = hashlib.sha256()
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("build", "__pycache__"))
        for name in sorted(names):
            if name.endswith((".c", ".h", ".ld", ".mk", ".S", ".s")) or name == "Makefile":
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()


def make(args, what):
    """Run make; `KerasFDAError` with the first compiler or linker error as one line (a
    memory region that overflows says which, and by how much). Returns make's stdout."""
    require_tools("make")
    proc = subprocess.run(["make", "-s", "-j2"] + args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise make_error(proc.stdout + proc.stderr, what)
    return proc.stdout


def make_error(log, what):
    """The one-line `KerasFDAError` for a failed build of `what` with output `log`."""
    overflow = re.search(r"region `(\w+)' overflowed(?: by (\d+) bytes)?", log)
    if overflow:
        region, by = overflow.groups()
        amount = f" by {int(by):,} bytes" if by else ""
        kind = (
            "flash (the model and the code)" if region == "FLASH" else "RAM (the arena and buffers)"
        )
        return KerasFDAError(
            f"the model does not fit {what}: {kind} overflows{amount}; "
            "use a bigger board or a smaller model"
        )
    lines = [
        line
        for line in log.splitlines()
        if ("error" in line.lower() or "undefined reference" in line)
        and "collect2" not in line
        and not line.startswith("make")
    ]
    detail = lines[0].strip() if lines else (log.strip().splitlines() or ["?"])[-1]
    return KerasFDAError(f"building the firmware for {what} failed: {detail}")


def _cached_build(name, key, run_make):
    """The cache folder for `name` and `key`, built by `run_make(scratch)` if missing."""
    build = os.path.join(cache_dir(), "build", f"{name}-{key.hexdigest()[:16]}")
    done = os.path.join(build, "built.ok")
    if os.path.isfile(done):
        os.utime(done)  # most recently used: kept by _prune_cache
        return build
    os.makedirs(os.path.dirname(build), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=os.path.basename(build) + ".", dir=os.path.dirname(build))
    try:
        run_make(staging)
        with open(os.path.join(staging, "built.ok"), "w") as f:
            f.write("ok\n")
        try:
            os.rename(staging, build)
        except OSError:  # built meanwhile by someone else: theirs is as good
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune_cache(os.path.dirname(build), name)
    return build


def _prune_cache(folder, name):
    """Keep the most recently used builds of a board; a Cortex-M build is one per model."""
    entries = []
    for entry in os.listdir(folder):
        done = os.path.join(folder, entry, "built.ok")
        if entry.rsplit("-", 1)[0] == name and os.path.isfile(done):
            entries.append((os.path.getmtime(done), entry))
    now = time.time()
    for used, entry in sorted(entries, reverse=True)[CACHE_KEEP_PER_BOARD:]:
        if now - used > CACHE_IN_USE_SECONDS:
            shutil.rmtree(os.path.join(folder, entry), ignore_errors=True)


def build_firmware(place, package=None, arena_bytes=None, selftest=False, opt="-O2"):
    """Build the application for `place` (a `platforms.Board` or `Target`, cached); return
    the build folder, which holds `kfda_app.elf` (Cortex-M) or `kfda_app` (Linux).

    Cortex-M images link the model in (so the package is part of the key); Linux
    binaries read it from a file (one build per target serves every model).
    """
    root = firmware_dir()
    key = hashlib.sha256()
    key.update(sources_digest(root).encode())
    key.update(f"{place.name}|{opt}|{selftest}|{arena_bytes}".encode())
    if place.kind == "cortex-m" and not selftest:
        key.update(package.model_bytes)

    def run_make(scratch):
        args = [f"BUILD={scratch}", f"OPT={opt}"] + (["SELFTEST=1"] if selftest else [])
        if place.kind == "cortex-m":
            require_tools(TARGETS["cortex-m"].cross_compiler)
            _require_newlib()
            if not selftest:
                # model.tflite is what was planned and what the oracle ran: link it,
                # not a model_data.c that could be stale.
                args += [
                    f"MODEL={os.path.abspath(package.path)}",
                    f"ARENA={arena_bytes}",
                    "FROM_TFLITE=1",
                ]
            make(["-C", os.path.join(root, "boards", place.name)] + args, place.name)
        else:
            require_tools(place.cross_compiler)
            make(
                ["-C", os.path.join(root, "targets", "linux"), f"TARGET={place.name}"] + args,
                place.name,
            )

    return _cached_build(place.name, key, run_make)


def image_sizes(build):
    """{flash_bytes, ram_bytes, arena_bytes} of a Cortex-M build (its sizes.txt); {} for
    a Linux build."""
    sizes = {}
    path = os.path.join(build, "sizes.txt")
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                name, value = line.split()
                sizes[name] = int(value)
    return sizes


def build_host_tool():
    """The runtime's native host tool `kfda_host` (`kfda_host plan model.tflite` prints the
    memory plan as JSON), built from the installed firmware sources into the cache; its
    path. `KerasFDAError` if it cannot be built."""
    root = firmware_dir()
    key = hashlib.sha256(sources_digest(root).encode())

    def run_make(scratch):
        require_tools("make", "cc")
        make(["-C", root, f"BUILD={scratch}", "all"], f"the host ({HOST_TOOL})")

    return os.path.join(_cached_build("host", key, run_make), HOST_TOOL)
