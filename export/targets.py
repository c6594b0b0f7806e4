"""The export targets (`--target`): what the converter is told and what the package holds."""
import dataclasses
import functools
import subprocess

from keras_fda.errors import KerasFDAError


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    converter_target: str   # larq_compute_engine's `target`: "arm" emits BMaxPool and
                            # the zero-padding correction of binary convs
    linux: bool             # package a C driver and a Makefile to build on the device
    cross_compiler: str     # the Debian cross gcc for that target
    description: str


TARGETS = {t.name: t for t in (
    Target("arm64", "arm", True, "aarch64-linux-gnu-gcc",
           "64-bit Arm Linux (Raspberry Pi 3/4/5 with a 64-bit OS)"),
    Target("armv7", "arm", True, "arm-linux-gnueabihf-gcc",
           "32-bit Arm Linux with NEON (Raspberry Pi OS 32-bit)"),
    Target("cortex-m", "arm", False, "arm-none-eabi-gcc",
           "Arm Cortex-M microcontrollers, bare metal (choose the core with --cpu)"),
)}


def get_target(name):
    if name not in TARGETS:
        raise KerasFDAError(f"unknown --target {name!r}; choose one of {', '.join(TARGETS)}")
    return TARGETS[name]


@functools.lru_cache(maxsize=None)
def supported_ops():
    """The ops the keras-fda C runtime implements, as TFLite names: what its host tool's
    `kfda_host ops` prints (the op registry, firmware/src/ops/op_list.h), run once per
    process. The tool is found or built as export/plan.py does; the export refuses a model
    holding any other op, naming the layer."""
    from keras_fda.export import plan

    tool = plan.find_tool()
    if tool is None:
        raise KerasFDAError("cannot list the C runtime's ops: its host tool (kfda_host) is "
                            "not built and there is no C compiler (cc, make) to build it")
    try:
        done = subprocess.run([tool, "ops"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise KerasFDAError(f"{tool} ops failed to run ({error})")
    names = frozenset(done.stdout.split())
    if done.returncode != 0 or not names:
        raise KerasFDAError(f"{tool} ops printed no op list; rebuild the firmware's host tool")
    return names
