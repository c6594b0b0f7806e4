"""The registry of cores, boards and targets (export/platforms.py) against the firmware's
own files, value by value: the board Makefiles, the linker memory maps, the boards'
README tables, the Linux Makefile and the package's Makefile; the flags against the real
compilers; the export's chip check against the linker's memory maps; the manifest type."""

from keras_fda.errors import KerasFDAError
from keras_fda.export import chips, package, platforms
from keras_fda.export.manifest import Manifest

import json
import os
import re
import shutil
import subprocess

import pytest

# This checkout's firmware (an editable install may map keras_fda.firmware elsewhere).
FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
BOARDS_DIR = os.path.join(FIRMWARE, "boards")
MEMORY_DIR = os.path.join(FIRMWARE, "targets", "cortex-m", "memory")
FIRMWARE_BOARDS = sorted(
    d for d in os.listdir(BOARDS_DIR) if os.path.isdir(os.path.join(BOARDS_DIR, d))
)
SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024}


def make_variables(path):
    """`NAME := value` assignments of a Makefile (the last one wins)."""
    values = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*([A-Z_]+)\s*:=\s*(.*?)\s*$", line)
            if m:
                values[m.group(1)] = m.group(2)
    return values


def memory_regions(path):
    """{region: Region} of a linker script's MEMORY block."""
    text = open(path).read()
    block = re.search(r"MEMORY\s*{(.*?)}", text, re.S).group(1)
    regions = {}
    for name, origin, size, unit in re.findall(
        r"(\w+)\s*\([rwx]+\)\s*:\s*ORIGIN\s*=\s*(0x[0-9a-fA-F]+),"
        r"\s*LENGTH\s*=\s*(\d+)([KM]?)",
        block,
    ):
        regions[name] = platforms.Region(int(origin, 16), int(size) * SIZE_UNITS[unit])
    return regions


def test_every_firmware_board_is_in_the_registry():
    firmware = sorted(b.name for b in platforms.BOARDS.values() if b.has_firmware)
    assert firmware == FIRMWARE_BOARDS
    assert sorted(name[:-3] for name in os.listdir(MEMORY_DIR)) == FIRMWARE_BOARDS


@pytest.mark.parametrize("name", FIRMWARE_BOARDS)
def test_board_makefile_matches_the_registry(name):
    board = platforms.BOARDS[name]
    values = make_variables(os.path.join(BOARDS_DIR, name, "Makefile"))
    assert values["BOARD"] == name
    assert values["QEMU_MACHINE"] == board.qemu_machine
    assert values["CPU_FLAGS"] == board.cpu_flags
    assert int(values["CORE_HZ"]) == board.core_hz


@pytest.mark.parametrize("name", FIRMWARE_BOARDS)
def test_linker_memory_map_matches_the_registry(name):
    board = platforms.BOARDS[name]
    regions = memory_regions(os.path.join(MEMORY_DIR, name + ".ld"))
    assert regions["FLASH"] == board.flash
    assert regions["RAM"] == board.ram
    if board.vectors is None:
        script = open(os.path.join(MEMORY_DIR, name + ".ld")).read()
        assert 'REGION_ALIAS("VECTORS", FLASH)' in script
    else:
        assert regions["VECTORS"] == board.vectors


def _readme_rows(name):
    rows = {}
    for line in open(os.path.join(BOARDS_DIR, name, "README.md")):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def _region_in_words(text):
    m = re.search(r"(\d+) (MiB|KiB) at (0x[0-9a-fA-F]+)", text)
    size = int(m.group(1)) * (1024 * 1024 if m.group(2) == "MiB" else 1024)
    return platforms.Region(int(m.group(3), 16), size)


@pytest.mark.parametrize("name", FIRMWARE_BOARDS)
def test_board_readme_table_matches_the_registry(name):
    board = platforms.BOARDS[name]
    rows = _readme_rows(name)
    assert rows["compiler flags"] == f"`{board.cpu_flags}`"
    flash = rows.get('image ("flash")') or rows["flash"]
    assert _region_in_words(flash) == board.flash
    assert _region_in_words(rows["RAM"]) == board.ram
    clock = rows.get("core clock") or rows["clock"]
    assert f"{board.core_hz / 1e6:g} MHz" in clock


def _linux_makefile_branches():
    """{TARGET: {CC, ARCH_FLAGS}} of firmware/targets/linux/Makefile's ifeq chain."""
    branches, current = {}, None
    for line in open(os.path.join(FIRMWARE, "targets", "linux", "Makefile")):
        m = re.match(r"(?:else )?ifeq \(\$\(TARGET\),(\w+)\)", line.strip())
        if m:
            current = branches.setdefault(m.group(1), {})
        elif line.strip() in ("else", "endif"):
            current = None
        elif current is not None:
            m = re.match(r"\s*(CC|ARCH_FLAGS)\s*:=\s*(.*?)\s*$", line)
            if m:
                current[m.group(1)] = m.group(2)
    return branches


def test_linux_makefile_matches_the_registry():
    branches = _linux_makefile_branches()
    linux = {t.name: t for t in platforms.TARGETS.values() if t.linux}
    assert set(branches) == set(linux) | {platforms.HOST.name}
    assert branches["native"] == {"CC": platforms.HOST.cross_compiler, "ARCH_FLAGS": ""}
    for name, target in linux.items():
        # static: the binaries run under qemu-user without the target's libc
        assert branches[name] == {
            "CC": target.cross_compiler,
            "ARCH_FLAGS": f"-static {target.arch_flags}",
        }


def test_thread_flags_only_in_linux_builds_and_equal_the_registrys(tmp_path):
    """KFDA_THREADS (pthreads) is set by every Linux build of the runtime with the registry's
    flags, and by no bare-metal build: no pthread dependency on a microcontroller."""
    flags = platforms.LINUX_THREAD_FLAGS
    assert make_variables(os.path.join(FIRMWARE, "Makefile"))["THREAD_FLAGS"] == flags
    linux = os.path.join(FIRMWARE, "targets", "linux", "Makefile")
    assert make_variables(linux)["THREAD_FLAGS"] == flags
    _, text = _package_makefile(tmp_path, "arm64")
    assert re.search(r"^THREAD_FLAGS = (.*)$", text, re.M).group(1) == flags
    bare_metal = [os.path.join(BOARDS_DIR, board, "Makefile") for board in FIRMWARE_BOARDS]
    bare_metal += [os.path.join(FIRMWARE, "targets", "ops.mk")]
    for root, _, names in os.walk(os.path.join(FIRMWARE, "targets", "cortex-m")):
        bare_metal += [os.path.join(root, n) for n in names if n.endswith((".mk", "Makefile"))]
    for path in bare_metal:
        if os.path.isfile(path):
            text = open(path).read()
            assert "KFDA_THREADS" not in text and "pthread" not in text, path


def _package_makefile(tmp_path, target):
    package.write_linux_driver(str(tmp_path), platforms.TARGETS[target], "m")
    return make_variables(str(tmp_path / "Makefile")), (tmp_path / "Makefile").read_text()


@pytest.mark.parametrize("target", ["arm64", "armv7"])
def test_package_makefile_and_firmware_use_the_same_flags(tmp_path, target):
    """What the package builds on the Pi and what `keras-fda run` ran under QEMU are
    compiled for the same architecture: the arch flags of the package's Makefile and of
    firmware/targets/linux/Makefile are the same, with no fused multiply-add."""
    _, text = _package_makefile(tmp_path, target)
    cflags = re.search(r"^CFLAGS \?= -O3 (.*)$", text, re.M).group(1)
    firmware = _linux_makefile_branches()[target]["ARCH_FLAGS"]
    assert firmware == f"-static {cflags}"
    assert "-ffp-contract=off" in text
    if target == "armv7":
        assert "-mfpu=neon-vfpv4" in cflags.split()


def test_armv7_package_builds_with_its_makefile(tmp_path):
    """The package's own Makefile cross-compiles the driver and every runtime source
    with the armv7 flags."""
    compiler = platforms.TARGETS["armv7"].cross_compiler
    if shutil.which(compiler) is None or shutil.which("make") is None:
        pytest.skip(f"{compiler} not installed")
    if not package.write_linux_driver(str(tmp_path), platforms.TARGETS["armv7"], "m"):
        pytest.skip("keras-fda installed without the C runtime")
    subprocess.run(
        ["make", "-s", "-C", str(tmp_path), f"CC={compiler}", "LDFLAGS=-static"],
        check=True,
        capture_output=True,
    )
    readelf = compiler.replace("-gcc", "-readelf")
    if shutil.which(readelf):
        header = subprocess.run(
            [readelf, "-A", str(tmp_path / "kfda_run")], capture_output=True, text=True, check=True
        ).stdout
        assert "Tag_Advanced_SIMD_arch: NEONv1 with Fused-MAC" in header
        assert "Tag_ABI_VFP_args: VFP registers" in header


@pytest.mark.parametrize("name", sorted(platforms.BOARDS))
def test_every_board_flags_compile(tmp_path, name):
    """Each board's flags are ones arm-none-eabi-gcc takes, and name the core's -march."""
    compiler = platforms.TARGETS["cortex-m"].cross_compiler
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} not installed")
    board = platforms.BOARDS[name]
    source = tmp_path / "f.c"
    source.write_text("float f(float a, float b) { return a * b; }\n")
    subprocess.run(
        [
            compiler,
            *board.cpu_flags.split(),
            "-mthumb",
            "-O2",
            "-c",
            str(source),
            "-o",
            str(tmp_path / "f.o"),
        ],
        check=True,
        capture_output=True,
    )
    defines = subprocess.run(
        [compiler, *board.cpu_flags.split(), "-mthumb", "-dM", "-E", "-"],
        input="",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    arch = platforms.CORES[board.core].arch
    profile = {
        "armv6-m": "6M",
        "armv7-m": "7M",
        "armv7e-m": "7EM",
        "armv8-m.main": "8M_MAIN",
        "armv8.1-m.main": "8M_MAIN",
    }[arch]  # gcc names 8.1-M Mainline 8M_MAIN too
    assert f"#define __ARM_ARCH_{profile}__ 1" in defines
    hard_float = "#define __ARM_PCS_VFP 1" in defines
    assert hard_float == bool(board.fpu or platforms.CORES[board.core].fpu)
    assert ("#define __ARM_FEATURE_DSP 1" in defines) == platforms.CORES[board.core].dsp


@pytest.mark.parametrize("name", FIRMWARE_BOARDS)
def test_chip_check_limits_are_the_linker_memory_maps(name):
    """The export's chip check and the runner hold a model to the memory the linker
    will give it, and `--board` accepts the board by every name."""
    regions = memory_regions(os.path.join(MEMORY_DIR, name + ".ld"))
    for alias in (name,) + platforms.BOARDS[name].aliases:
        core, board = chips.resolve(None, alias)
        assert (board.flash_bytes, board.ram_bytes) == (regions["FLASH"].size, regions["RAM"].size)
        chips.check_fits(board, board.flash_bytes, board.ram_bytes, arena_is_estimate=False)
        with pytest.raises(KerasFDAError, match="flash"):
            chips.check_fits(board, board.flash_bytes + 1, 0, arena_is_estimate=False)
        with pytest.raises(KerasFDAError, match="RAM"):
            chips.check_fits(board, 0, board.ram_bytes + 1, arena_is_estimate=False)


def test_cores_and_their_default_boards():
    for core in platforms.CORES.values():
        assert platforms.BOARDS[core.default_board].core == core.name
        assert chips.resolve(core.name)[1].name == core.default_board
    assert chips.resolve(None)[0].name == platforms.DEFAULT_CORE
    with pytest.raises(KerasFDAError, match="has a cortex-m4, not a cortex-m7"):
        chips.resolve("cortex-m7", "mps2-an386")
    with pytest.raises(KerasFDAError, match="unknown --board"):
        chips.resolve(None, "no-such-board")
    assert platforms.run_place("stm32f746").name == "stm32f746g-disco"
    assert platforms.run_place("aarch64").name == "arm64"
    with pytest.raises(KerasFDAError, match="unknown board"):
        platforms.run_place("rp2040-pico")  # no firmware for it: nothing to run


def test_manifest_round_trip_keeps_keys_and_order(tmp_path):
    written = {
        "format": 1,
        "model": "m",
        "target": "armv7",
        "cpu": None,
        "input": {"shape": [1, 2], "dtype": "float32"},
        "chip": None,
        "runtime_included": True,
        "from_the_future": [1],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(written))
    manifest = Manifest.load(str(tmp_path))
    assert manifest.target == "armv7" and manifest.runtime_included is True
    manifest.save(str(tmp_path))
    again = json.loads((tmp_path / "manifest.json").read_text())
    assert {k: again[k] for k in written} == written
    keys = list(again)
    assert keys[:4] == ["format", "model", "target", "cpu"]
    assert keys.index("chip") < keys.index("runtime_included") < keys.index("from_the_future")
    assert "runtime_included" not in Manifest(target="cortex-m").to_dict()


@pytest.mark.parametrize(
    "text, message", [("{", "not valid JSON"), ("[1, 2]", "must hold a JSON object")]
)
def test_manifest_load_errors(tmp_path, text, message):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(KerasFDAError, match=message):
        Manifest.load(str(tmp_path))
