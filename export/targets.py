"""The export targets (`--target`): what the converter is told and what the package holds."""
import dataclasses

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


# The ops the keras-fda C runtime implements (firmware/src/kernels/, one op per file);
# the export refuses a model holding any other, naming the layer.
SUPPORTED_OPS = frozenset({
    "LceQuantize", "LceDequantize", "LceBconv2d", "LceBMaxPool2d",
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED",
    "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN",
    "ADD", "MUL", "RESHAPE", "PAD", "CONCATENATION", "SOFTMAX",
    "QUANTIZE", "DEQUANTIZE",
})
