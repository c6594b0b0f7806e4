"""Compile the keras-fda C runtime and the kfda_runtime shim into one shared library.

Used by setup.py when the package is installed (with the machine's own C compiler) and
by the tests to cross-compile it for arm64 and armhf. The runtime's sources are found,
never listed: every `*.c` and `*.S` under `firmware/src/` (recursively), headers from
`firmware/include/` and beside the sources.

Why a plain shared library loaded with ctypes rather than a CPython extension: it needs
no Python headers (not installed by default on a Pi), one build serves every CPython
version, and the C side stays plain C99 that the runtime's own flags compile.
"""

import glob
import os
import shlex
import shutil
import subprocess

LIBRARY = "libkfda_runtime.so"
SHIM = os.path.join("csrc", "kfda_runtime_shim.c")

# The runtime's own flags (firmware/Makefile): C99, -O2, and no fused multiply-add,
# so float results round exactly as the LCE reference kernels do.
RUNTIME_FLAGS = ["-std=c99", "-O2", "-ffp-contract=off"]
# Per target architecture, keyed by the compiler's `-dumpmachine` prefix. armv7 is
# what every 32-bit Raspberry Pi OS from the Pi 2 on runs (the Pi 1 and Zero are
# ARMv6: not supported). The values must equal the Linux targets' arch_flags in
# export/platforms.py (tests/runtime/test_packaging.py checks it).
ARCH_FLAGS = {
    "aarch64": ["-march=armv8-a"],
    "arm": ["-march=armv7-a", "-mfpu=neon-vfpv4", "-mfloat-abi=hard"],
}
SHARED_FLAGS = ["-shared", "-fPIC", "-fvisibility=hidden"]
# Threads (Interpreter(num_threads=N), pthreads): every Linux build of the runtime sets
# them; the copy of keras-fda's export/platforms.py LINUX_THREAD_FLAGS (checked by
# tests/runtime/test_packaging.py), as this package cannot import keras_fda.
THREAD_FLAGS = ["-DKFDA_THREADS", "-pthread"]


class BuildError(Exception):
    """The shared library cannot be built (no compiler, no sources, compile error)."""


def find_firmware(package_root):
    """The C runtime's folder: `firmware/` beside setup.py in an sdist, the repository's
    `firmware/` when installed from a checkout."""
    for candidate in (
        os.path.join(package_root, "firmware"),
        os.path.join(package_root, os.pardir, "firmware"),
    ):
        if os.path.isfile(os.path.join(candidate, "include", "kfda", "kfda.h")):
            return os.path.normpath(candidate)
    raise BuildError(
        f"the keras-fda C runtime (firmware/include/kfda/kfda.h) is neither in "
        f"{package_root} nor beside it: install from the keras-fda repository "
        "or from the kfda-runtime sdist"
    )


def runtime_sources(firmware):
    """Every C and assembly source of the runtime, sorted (a stable build)."""
    found = []
    for pattern in ("*.c", "*.S"):
        found += glob.glob(os.path.join(firmware, "src", "**", pattern), recursive=True)
    if not found:
        raise BuildError(f"no C sources under {os.path.join(firmware, 'src')}")
    return sorted(found)


def runtime_files(firmware):
    """What an sdist must carry of the runtime: everything under include/ and src/."""
    files = []
    for folder in ("include", "src"):
        for root, _, names in os.walk(os.path.join(firmware, folder)):
            files += [os.path.join(root, name) for name in names]
    return sorted(files)


def compiler(cc=None):
    """The compiler command as a list: `cc`, else $CC, else cc/gcc on PATH."""
    command = shlex.split(cc or os.environ.get("CC", ""))
    if not command:
        found = shutil.which("cc") or shutil.which("gcc")
        if not found:
            raise BuildError(
                "no C compiler found: install one (Debian/Raspberry Pi OS: "
                "sudo apt install gcc) and retry"
            )
        command = [found]
    return command


def target_flags(command):
    """The architecture flags for the machine the compiler builds for."""
    try:
        machine = subprocess.run(
            command + ["-dumpmachine"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise BuildError(f"cannot run the C compiler {' '.join(command)}: {error}")
    for prefix, flags in ARCH_FLAGS.items():
        if machine.startswith(prefix):
            return flags
    return []


def build(package_root, output, cc=None):
    """Compile the runtime and the shim into `output` (a .so). Extra flags, e.g. larger
    model limits (-DKFDA_MAX_IO=8), come from $KFDA_RUNTIME_CFLAGS. Returns the
    compile command."""
    firmware = find_firmware(package_root)
    command = compiler(cc)
    extra = shlex.split(os.environ.get("KFDA_RUNTIME_CFLAGS", ""))
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    partial = output + ".partial"
    full = (
        command
        + RUNTIME_FLAGS
        + target_flags(command)
        + SHARED_FLAGS
        + THREAD_FLAGS
        + extra
        + ["-I", os.path.join(firmware, "include"), os.path.join(package_root, SHIM)]
        + runtime_sources(firmware)
        + ["-lm", "-o", partial]
    )
    done = subprocess.run(full, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if "error" in line]
        reason = (lines or done.stderr.strip().splitlines() or ["no message"])[0]
        raise BuildError(f"compiling the C runtime failed: {reason}")
    os.replace(partial, output)
    return full
