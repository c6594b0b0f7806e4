"""What keras-fda knows about the places a model runs, and how to build for each: the one
registry of Cortex-M cores, Cortex-M boards, Linux targets and the host.

Everything else derives from it: the export's chip check (`chips.py`), the `--target`,
`--cpu` and `--board` values, the package's Makefile (`package.py`), the build and the
emulation of `keras-fda run`, the benchmarks. The firmware's hand-written Makefiles
(`firmware/boards/*/Makefile`, `firmware/targets/linux/Makefile`), the linker memory maps
(`firmware/targets/cortex-m/memory/*.ld`) and the boards' README tables are checked
against it value by value (tests/test_platforms.py), so a change here that the firmware
does not follow fails the tests.

Memory figures are the real part's: flash must hold the code and the flatbuffer (the
firmware reads weights in place), RAM the arena, the runtime and the stack. For the QEMU
reference machines "flash" is the memory the linker puts code and read-only data in (an
SSRAM bank on MPS2, QSPI on MPS3: QEMU's `hw/arm/mps2.c` and `hw/arm/mps2-tz.c`).
"""

from keras_fda.errors import KerasFDAError

import dataclasses

KiB = 1024
MiB = 1024 * KiB


@dataclasses.dataclass(frozen=True)
class Core:
    """A Cortex-M core as gcc sees it."""

    name: str  # -mcpu
    arch: str  # -march (Thumb-only on every Cortex-M)
    isa: str
    fpu: str  # the usual -mfpu; "" none (soft float), "auto": -mcpu picks it
    dsp: bool  # DSP extension (SMLAD, SXTB16...)
    default_board: str  # the board `--cpu` alone means


@dataclasses.dataclass(frozen=True)
class Region:
    """A memory region of a board, as the linker script gives it."""

    origin: int
    size: int


@dataclasses.dataclass(frozen=True)
class Board:
    """A Cortex-M board: the real part's memory, and for the firmware's boards
    (`firmware/boards/<name>/`) the core clock and the QEMU machine."""

    name: str
    core: str
    flash: Region
    ram: Region
    description: str
    note: str = ""  # where the memory is, in the part's own words
    qemu_machine: str = ""  # qemu-system-arm -M; "" for boards QEMU does not emulate
    core_hz: int = 0  # the clock the firmware's counter counts (SysTick, or the SoC's
    # timer where the chip has no SysTick); 0: no firmware
    fpu: str = ""  # this part's -mfpu when it differs from the core's usual one
    vectors: Region = None  # where the vector table goes when not at the start of flash
    aliases: tuple = ()  # other names accepted for it (older manifests, --board)

    kind = "cortex-m"

    @property
    def cpu(self):
        return self.core

    @property
    def flash_bytes(self):
        return self.flash.size

    @property
    def ram_bytes(self):
        return self.ram.size

    @property
    def qemu(self):
        return self.qemu_machine

    @property
    def emulated(self):
        return bool(self.qemu_machine)

    @property
    def run_description(self):
        return self.description

    @property
    def has_firmware(self):
        return self.core_hz > 0

    @property
    def cpu_flags(self):
        """-mcpu/-mfpu/-mfloat-abi: the board Makefile's CPU_FLAGS."""
        fpu = self.fpu or CORES[self.core].fpu
        flags = [f"-mcpu={self.core}"]
        if fpu and fpu != "auto":
            flags.append(f"-mfpu={fpu}")
        flags.append("-mfloat-abi=hard" if fpu else "-mfloat-abi=soft")
        return " ".join(flags)


@dataclasses.dataclass(frozen=True)
class Target:
    """A `--target` of the export, or the host: what the converter is told, the compiler
    and flags the firmware and the package's Makefile use, how `keras-fda run` runs it."""

    name: str
    converter_target: str  # larq_compute_engine's `target`: "arm" emits BMaxPool and
    # the zero-padding correction of binary convs
    linux: bool  # the package holds a C driver and a Makefile for the device
    cross_compiler: str  # the Debian cross gcc
    description: str  # what `--target` means
    arch_flags: str = ""  # -march/-mfpu/-mfloat-abi for Linux builds
    qemu: str = ""  # the qemu-user binary that runs its static binaries
    cpu: str = ""  # the core, as `keras-fda run` prints it
    run_description: str = ""

    emulated = True

    @property
    def kind(self):
        return "linux" if self.linux else "cortex-m"


CORES = {
    core.name: core
    for core in (
        Core("cortex-m0", "armv6-m", "Thumb (ARMv6-M)", "", False, "microbit"),
        Core("cortex-m0plus", "armv6-m", "Thumb (ARMv6-M)", "", False, "rp2040-pico"),
        Core("cortex-m3", "armv7-m", "Thumb-2 (ARMv7-M)", "", False, "mps2-an385"),
        Core(
            "cortex-m4", "armv7e-m", "Thumb-2 + DSP (ARMv7E-M)", "fpv4-sp-d16", True, "mps2-an386"
        ),
        Core(
            "cortex-m7", "armv7e-m", "Thumb-2 + DSP (ARMv7E-M)", "fpv5-sp-d16", True, "mps2-an500"
        ),
        Core(
            "cortex-m33",
            "armv8-m.main",
            "Thumb-2 + DSP (ARMv8-M Mainline)",
            "fpv5-sp-d16",
            True,
            "mps2-an505",
        ),
        # -mcpu=cortex-m55 selects the FPU and Helium (MVE) itself
        Core(
            "cortex-m55",
            "armv8.1-m.main",
            "Thumb-2 + DSP + Helium (ARMv8.1-M)",
            "auto",
            True,
            "mps3-an547",
        ),
    )
}

DEFAULT_CORE = "cortex-m4"  # what --target cortex-m means without --cpu or --board

_MPS2_NOTE = "ZBT SSRAM1 4 MiB at 0x0 (code), SSRAM2/3 4 MiB at 0x20000000 (data)"

BOARDS = {
    board.name: board
    for board in (
        # QEMU reference machines (firmware/boards/<name>)
        Board(
            "mps2-an385",
            "cortex-m3",
            Region(0x00000000, 4 * MiB),
            Region(0x20000000, 4 * MiB),
            "Arm MPS2 AN385, Cortex-M3",
            _MPS2_NOTE,
            "mps2-an385",
            25_000_000,
        ),
        Board(
            "mps2-an386",
            "cortex-m4",
            Region(0x00000000, 4 * MiB),
            Region(0x20000000, 4 * MiB),
            "Arm MPS2 AN386, Cortex-M4F",
            _MPS2_NOTE,
            "mps2-an386",
            25_000_000,
        ),
        Board(
            "mps2-an500",
            "cortex-m7",
            Region(0x00000000, 4 * MiB),
            Region(0x20000000, 4 * MiB),
            "Arm MPS2 AN500, Cortex-M7",
            _MPS2_NOTE,
            "mps2-an500",
            25_000_000,
            fpu="fpv5-d16",
        ),  # this M7 has the double-precision FPU
        # The M33 and M55 boot secure and stay so: the secure aliases (address bit 28 set).
        Board(
            "mps2-an505",
            "cortex-m33",
            Region(0x10000000, 4 * MiB),
            Region(0x38000000, 4 * MiB),
            "Arm MPS2 AN505, Cortex-M33",
            "SSRAM1 4 MiB at 0x10000000 (code), SSRAM2/3 4 MiB at 0x38000000 (data), secure "
            "aliases",
            "mps2-an505",
            20_000_000,
        ),
        Board(
            "mps3-an547",
            "cortex-m55",
            Region(0x38000000, 8 * MiB),
            Region(0x11000000, 2 * MiB),
            "Arm MPS3 AN547, Cortex-M55",
            "QSPI 8 MiB at 0x38000000 (read-only data), SRAM 2 MiB at 0x11000000, secure "
            "aliases; vector table in the ITCM at 0x10000000",
            "mps3-an547",
            32_000_000,
            vectors=Region(0x10000000, 512 * KiB),
        ),
        # QEMU machines of real chips, linked for the real part's memory
        Board(
            "netduinoplus2",
            "cortex-m4",
            Region(0x08000000, 1 * MiB),
            Region(0x20000000, 128 * KiB),
            "Netduino Plus 2 (STM32F405RG, Cortex-M4F)",
            "ST STM32F405RG: 1 MiB flash at 0x08000000, 128 KiB SRAM at 0x20000000 (the "
            "64 KiB CCM at 0x10000000 is left out: QEMU does not model it)",
            "netduinoplus2",
            168_000_000,  # QEMU's STM32F405 SoC: SYSCLK 168 MHz drives SysTick
            aliases=("stm32f405",),
        ),
        Board(
            "microbit",
            "cortex-m0",
            Region(0x00000000, 256 * KiB),
            Region(0x20000000, 16 * KiB),
            "BBC micro:bit v1 (nRF51822, Cortex-M0)",
            "Nordic nRF51822 QFAA: 256 KiB flash at 0x0, 16 KiB RAM at 0x20000000",
            "microbit",
            16_000_000,  # TIMER0 on the 16 MHz HFCLK (the nRF51 has no SysTick)
            aliases=("nrf51822",),
        ),
        # real boards
        Board(
            "stm32f746g-disco",
            "cortex-m7",
            Region(0x08000000, 1 * MiB),
            Region(0x20000000, 320 * KiB),
            "STM32F746G-Discovery (real board, build only)",
            "ST STM32F746 (NUCLEO-F746ZG, 32F746G-DISCO): 1 MiB flash, 320 KiB SRAM",
            core_hz=16_000_000,  # the HSI the chip resets to (board.c sets no PLL)
            aliases=("stm32f746",),
        ),
        Board(
            "rp2040-pico",
            "cortex-m0plus",
            Region(0x10000000, 2 * MiB),
            Region(0x20000000, 264 * KiB),
            "Raspberry Pi Pico",
            "Raspberry Pi Pico: 2 MiB QSPI flash, 264 KiB SRAM",
        ),
        Board(
            "samd21g18",
            "cortex-m0plus",
            Region(0x00000000, 256 * KiB),
            Region(0x20000000, 32 * KiB),
            "Microchip SAMD21G18 (Arduino Zero)",
            "Microchip SAMD21G18 (Arduino Zero): 256 KiB flash, 32 KiB SRAM",
        ),
        Board(
            "nrf52840",
            "cortex-m4",
            Region(0x00000000, 1 * MiB),
            Region(0x20000000, 256 * KiB),
            "Nordic nRF52840",
            "Nordic nRF52840: 1 MiB flash, 256 KiB RAM",
        ),
        Board(
            "nrf5340",
            "cortex-m33",
            Region(0x00000000, 1 * MiB),
            Region(0x20000000, 512 * KiB),
            "Nordic nRF5340 application core",
            "Nordic nRF5340 application core: 1 MiB flash, 512 KiB RAM",
        ),
    )
}

# armv7: every Raspberry Pi that runs an armv7 OS (Pi 2 v1.1 and later) has NEON and
# VFPv4, so -mfpu=neon-vfpv4; VFPv4 adds fused multiply-add, which changes no result
# because the runtime builds with -ffp-contract=off (no contraction into fma; the
# explicit fmas of float CONV_2D round the same with or without the instruction).
TARGETS = {
    target.name: target
    for target in (
        Target(
            "arm64",
            "arm",
            True,
            "aarch64-linux-gnu-gcc",
            "64-bit Arm Linux (Raspberry Pi 3/4/5 with a 64-bit OS)",
            "-march=armv8-a",
            "qemu-aarch64-static",
            "aarch64",
            "arm64 Linux, static, under qemu-aarch64-static",
        ),
        Target(
            "armv7",
            "arm",
            True,
            "arm-linux-gnueabihf-gcc",
            "32-bit Arm Linux with NEON (Raspberry Pi OS 32-bit)",
            "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard",
            "qemu-arm-static",
            "armv7-a",
            "armv7 Linux (hard float), static, under qemu-arm-static",
        ),
        Target(
            "cortex-m",
            "arm",
            False,
            "arm-none-eabi-gcc",
            "Arm Cortex-M microcontrollers, bare metal (choose the core with --cpu)",
        ),
    )
}

# The flags that give a Linux build of the runtime its threads (num_threads: LceBconv2d,
# CONV_2D and DEPTHWISE_CONV_2D split their output rows over pthreads, src/threads.c).
# Every Linux build sets them (firmware/Makefile, firmware/targets/linux/Makefile, the
# package's Makefile, runtime/build_library.py; tests/test_platforms.py holds each copy to
# this one); no bare-metal build does (no pthread dependency).
LINUX_THREAD_FLAGS = "-DKFDA_THREADS -pthread"

# This machine: the tests' and the planner's native builds.
HOST = Target(
    "native",
    "",
    True,
    "gcc",
    "this machine",
    cpu="host",
    run_description="this machine (x86), native",
)

# Executables the builds and runs need, and the Debian package that provides each.
DEBIAN_PACKAGES = {
    "make": "make",
    "gcc": "gcc",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
    "qemu-system-arm": "qemu-system-arm",
    "aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu",
    "arm-linux-gnueabihf-gcc": "gcc-arm-linux-gnueabihf",
    "qemu-aarch64-static": "qemu-user-static",
    "qemu-arm-static": "qemu-user-static",
}

# Other names `keras-fda run --board` and manifests use for the same places.
RUN_ALIASES = {"aarch64": "arm64", "x86": "native", "x86_64": "native"}
RUN_ALIASES.update({alias: b.name for b in BOARDS.values() for alias in b.aliases})


def get_target(name):
    """The export `--target`; `KerasFDAError` if unknown."""
    if name not in TARGETS:
        raise KerasFDAError(f"unknown --target {name!r}; choose one of {', '.join(TARGETS)}")
    return TARGETS[name]


def find_board(name):
    """The board called `name` (or one of its aliases), or None."""
    name = RUN_ALIASES.get(name, name)
    return BOARDS.get(name)


def run_places():
    """Where `keras-fda run` can run, by name: the firmware's boards, the Linux targets
    and the host."""
    places = {b.name: b for b in BOARDS.values() if b.has_firmware}
    places.update((t.name, t) for t in TARGETS.values() if t.linux)
    places[HOST.name] = HOST
    return places


def run_place(name):
    """The board or target `keras-fda run --board name` means; `KerasFDAError` if none."""
    places = run_places()
    place = places.get(RUN_ALIASES.get(name, name))
    if place is None:
        raise KerasFDAError(f"unknown board {name!r}; known: {', '.join(places)}")
    return place


def emulated_board(cpu):
    """The emulated board that stands in for a core; `KerasFDAError` if none."""
    core = CORES.get(cpu)
    if core is None or not BOARDS[core.default_board].emulated:
        emulated = [c.name for c in CORES.values() if BOARDS[c.default_board].emulated]
        raise KerasFDAError(
            f"no emulated board for cpu {cpu!r}; keras-fda run emulates "
            f"{', '.join(emulated)} (pass --board to pick one)"
        )
    return BOARDS[core.default_board]
