"""Build a package's firmware for its target, run it under emulation, read the outputs.

`run_package(package_dir, inputs, board=None)` is what `keras-fda run` calls:

1. reads the package (a folder with `model.tflite`, `manifest.json` and, for Cortex-M,
   `model_data.c`) and checks the inputs against the manifest's shape and dtype;
2. asks the runtime for the model's memory plan (the native build of the application
   loads the model with `--plan`: a corrupt model fails here, in one line);
3. checks that the model and its arena fit the board, then builds the firmware with
   the board's Makefile (Cortex-M) or `targets/linux/Makefile` (arm64, armv7, native),
   into a cache keyed by the sources, the model, the arena and the flags;
4. runs it: `qemu-system-arm -icount shift=0` with semihosting for a Cortex-M board
   (instructions per inference from SysTick), `qemu-aarch64-static` /
   `qemu-arm-static` for Linux (instructions from an exec trace of one inference),
   natively on x86;
5. returns the outputs as NumPy arrays shaped by the manifest, and the statistics.

Every failure a user can cause is a `KerasFDAError` with one line saying what to do.
Nothing is written outside the build cache and a temporary run folder.
"""
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

from keras_fda.errors import KerasFDAError
from keras_fda.export import chips

__all__ = ["BOARDS", "Board", "run_package", "run_selftest", "read_package", "choose_board",
           "cache_dir", "build_firmware", "target_report", "format_target_table"]

KIB = 1024
MIB = 1024 * 1024

# Bytes the application itself takes beyond the model and the arena: code, the
# runtime's model struct (~40 KB), newlib's stdio, the stack. Used for the early
# "does it fit" check; the linker has the last word.
APP_RAM_OVERHEAD = 96 * KIB
APP_FLASH_OVERHEAD = 64 * KIB


@dataclasses.dataclass(frozen=True)
class Board:
    """A place the firmware runs: a Cortex-M board (emulated or real) or a Linux target."""

    name: str
    kind: str  # "cortex-m" or "linux"
    cpu: str
    flash_bytes: int = 0  # Cortex-M: the image region; 0 for Linux
    ram_bytes: int = 0
    qemu: str = ""  # qemu-system-arm -M value, or the qemu-user binary; "" = runs natively
    emulated: bool = True
    description: str = ""


def _cortex_m(name, description, chip_name=None, emulated=True):
    """A Cortex-M board whose core, flash and RAM come from export/chips.py, the one
    table of memory sizes that the export's chip check uses too."""
    chip = chips.BOARDS[chip_name or name]
    return Board(name, "cortex-m", chip.cpu, chip.flash_bytes, chip.ram_bytes,
                 chip.qemu_machine, emulated=emulated, description=description)


BOARDS = {
    b.name: b
    for b in [
        _cortex_m("mps2-an385", "Arm MPS2 AN385, Cortex-M3"),
        _cortex_m("mps2-an386", "Arm MPS2 AN386, Cortex-M4F"),
        _cortex_m("mps2-an500", "Arm MPS2 AN500, Cortex-M7"),
        _cortex_m("mps2-an505", "Arm MPS2 AN505, Cortex-M33"),
        _cortex_m("mps3-an547", "Arm MPS3 AN547, Cortex-M55"),
        # the firmware/boards folder's name; export/chips.py calls it stm32f746
        _cortex_m("stm32f746g-disco", "STM32F746G-Discovery (real board, build only)",
                  chip_name="stm32f746", emulated=False),
        Board("arm64", "linux", "aarch64", qemu="qemu-aarch64-static",
              description="arm64 Linux, static, under qemu-aarch64-static"),
        Board("armv7", "linux", "armv7-a", qemu="qemu-arm-static",
              description="armv7 Linux (hard float), static, under qemu-arm-static"),
        Board("native", "linux", "host", qemu="", description="this machine (x86), native"),
    ]
}

# The emulated board a package's `cpu` runs on when no board is given.
CPU_BOARDS = {
    "cortex-m3": "mps2-an385",
    "cortex-m4": "mps2-an386",
    "cortex-m7": "mps2-an500",
    "cortex-m33": "mps2-an505",
    "cortex-m55": "mps3-an547",
}
TARGET_BOARDS = {"arm64": "arm64", "aarch64": "arm64", "armv7": "armv7", "x86": "native",
                 "x86_64": "native", "native": "native",
                 # the export stage's names (export/chips.py) for the same boards
                 "stm32f746": "stm32f746g-disco"}

# Executables each kind of build needs, and the Debian package that provides each.
TOOLS = {
    "make": "make",
    "gcc": "gcc",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi",
    "qemu-system-arm": "qemu-system-arm",
    "aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu",
    "arm-linux-gnueabihf-gcc": "gcc-arm-linux-gnueabihf",
    "qemu-aarch64-static": "qemu-user-static",
    "qemu-arm-static": "qemu-user-static",
}

DTYPES = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8, "int32": np.int32,
          "int16": np.int16, "bool": np.bool_}

RUN_TIMEOUT_S = float(os.environ.get("KERAS_FDA_RUN_TIMEOUT", "900"))


# ---- the package -------------------------------------------------------------------

@dataclasses.dataclass
class TensorSpec:
    shape: tuple
    dtype: np.dtype
    scale: float = 0.0
    zero_point: int = 0

    @property
    def record_bytes(self):
        return int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize


@dataclasses.dataclass
class Package:
    path: str
    manifest: dict
    model_path: str
    model_bytes: bytes
    inputs: list
    outputs: list
    target: str
    cpu: str


def _tensor_specs(manifest, key):
    value = manifest.get(key + "s", manifest.get(key))
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise KerasFDAError(f"manifest.json has no '{key}' description (shape and dtype)")
    specs = []
    for item in value:
        try:
            dtype = np.dtype(DTYPES[str(item["dtype"])])
            shape = tuple(int(d) for d in item["shape"])
        except (KeyError, TypeError, ValueError):
            raise KerasFDAError(
                f"manifest.json's '{key}' needs a shape (list of ints) and a dtype "
                f"({', '.join(DTYPES)}), got {item!r}")
        if not shape or any(d <= 0 for d in shape):
            raise KerasFDAError(f"manifest.json's '{key}' shape {list(shape)} is not valid")
        scale, zero_point = item.get("scale"), item.get("zero_point")
        if isinstance(scale, list):  # per-channel: the first, as the runtime reports it
            scale = scale[0] if scale else None
        if isinstance(zero_point, list):
            zero_point = zero_point[0] if zero_point else None
        specs.append(TensorSpec(shape, dtype, float(scale or 0.0), int(zero_point or 0)))
    return specs


def read_package(package_dir):
    """Read and check a package folder; `KerasFDAError` if anything is missing or corrupt."""
    package_dir = os.fspath(package_dir)
    if not os.path.isdir(package_dir):
        raise KerasFDAError(f"package folder {package_dir} does not exist "
                            "(make one with `keras-fda export`)")
    manifest_path = os.path.join(package_dir, "manifest.json")
    model_path = os.path.join(package_dir, "model.tflite")
    for path in (manifest_path, model_path):
        if not os.path.isfile(path):
            raise KerasFDAError(f"{package_dir} is not a keras-fda package: "
                                f"{os.path.basename(path)} is missing")
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KerasFDAError(f"{manifest_path} is not valid JSON ({error})")
    if not isinstance(manifest, dict):
        raise KerasFDAError(f"{manifest_path} must hold a JSON object")
    with open(model_path, "rb") as f:
        model_bytes = f.read()
    if len(model_bytes) < 8 or model_bytes[4:8] != b"TFL3":
        raise KerasFDAError(f"{model_path} is not a TFLite flatbuffer (no TFL3 identifier)")
    return Package(
        path=package_dir,
        manifest=manifest,
        model_path=model_path,
        model_bytes=model_bytes,
        inputs=_tensor_specs(manifest, "input"),
        outputs=_tensor_specs(manifest, "output"),
        target=str(manifest.get("target", "cortex-m")).lower(),
        cpu=str(manifest.get("cpu", "")).lower(),
    )


def _package_board(package):
    """The board named by the package (the export's chip check), if any."""
    chip = package.manifest.get("chip")
    if isinstance(chip, dict) and chip.get("board"):
        return str(chip["board"])
    return package.manifest.get("board")


def _default_board(package):
    if package.target in ("cortex-m", "cortexm", "mcu"):
        name = CPU_BOARDS.get(package.cpu)
        if name is None:
            raise KerasFDAError(
                f"no emulated board for cpu {package.cpu!r}; keras-fda run emulates "
                f"{', '.join(CPU_BOARDS)} (pass --board to pick one)")
        return name
    name = TARGET_BOARDS.get(package.target)
    if name is None:
        raise KerasFDAError(f"unknown target {package.target!r} in manifest.json "
                            "(cortex-m, arm64, armv7 or x86)")
    return name


def choose_board(package, board=None):
    """(board to run on, board the package was made for or None).

    An explicit `board` is used as given (a real board is then refused by run_package).
    Otherwise the package's own board when it is emulated; a package made for a real
    board runs on the emulated board with the same core, and its memory is checked
    against the real board's when this module knows it."""
    if board is not None:
        name = TARGET_BOARDS.get(board, board)
        if name not in BOARDS:
            raise KerasFDAError(f"unknown board {board!r}; known: {', '.join(BOARDS)}")
        return BOARDS[name], None
    wanted = _package_board(package)
    wanted = TARGET_BOARDS.get(wanted, wanted) if wanted else None
    if wanted in BOARDS and BOARDS[wanted].emulated:
        return BOARDS[wanted], None
    return BOARDS[_default_board(package)], BOARDS.get(wanted) if wanted else None


def check_inputs(package, inputs):
    """The inputs as one C-contiguous array of N records; `KerasFDAError` if they don't fit."""
    spec = package.inputs[0]
    if spec.shape[0] != 1:
        raise KerasFDAError(f"the model's input has batch size {spec.shape[0]}; keras-fda run "
                            "feeds models converted with batch size 1")
    if len(package.inputs) != 1:
        raise KerasFDAError(f"the model has {len(package.inputs)} inputs; keras-fda run "
                            "feeds models with exactly one")
    inputs = np.asarray(inputs)
    if inputs.dtype != spec.dtype:
        raise KerasFDAError(
            f"input dtype is {inputs.dtype}, the model takes {spec.dtype} "
            f"(convert with x.astype('{spec.dtype}'))")
    record = spec.shape[1:]
    if inputs.shape == record:
        inputs = inputs[None]
    if inputs.ndim != len(spec.shape) or inputs.shape[1:] != record:
        raise KerasFDAError(
            f"input shape is {tuple(inputs.shape)}, the model takes (N, "
            f"{', '.join(str(d) for d in record)}) (one record: {spec.shape})")
    if len(inputs) == 0:
        raise KerasFDAError("no inputs: the array holds 0 records")
    return np.ascontiguousarray(inputs)


# ---- tools, cache, build -----------------------------------------------------------

def require_tools(*names):
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        packages = sorted({TOOLS.get(n, n) for n in missing})
        raise KerasFDAError(f"{', '.join(missing)} not found: install it with "
                            f"`sudo apt-get install {' '.join(packages)}`")


def _require_newlib():
    out = subprocess.run(["arm-none-eabi-gcc", "-print-file-name=rdimon.specs"],
                         capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(out):
        raise KerasFDAError("newlib for arm-none-eabi (rdimon.specs) not found: install it "
                            "with `sudo apt-get install libnewlib-arm-none-eabi`")


def cache_dir():
    """Where builds are cached: $KERAS_FDA_CACHE, else $XDG_CACHE_HOME/keras-fda."""
    root = os.environ.get("KERAS_FDA_CACHE")
    if not root:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                            os.path.join(os.path.expanduser("~"), ".cache"), "keras-fda")
    return root


def _source_dir():
    from keras_fda.firmware import source_dir

    return source_dir()


def _sources_digest(root):
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


def _make(args, what):
    require_tools("make")
    proc = subprocess.run(["make", "-s", "-j2"] + args, capture_output=True, text=True)
    if proc.returncode != 0:
        log = proc.stdout + proc.stderr
        overflow = re.search(r"region `(\w+)' overflowed(?: by (\d+) bytes)?", log)
        if overflow:
            raise _too_big_error(what, overflow.group(1), overflow.group(2))
        lines = [line for line in log.splitlines()
                 if ("error" in line.lower() or "undefined reference" in line)
                 and "collect2" not in line and not line.startswith("make")]
        detail = lines[0].strip() if lines else (log.strip().splitlines() or ["?"])[-1]
        raise KerasFDAError(f"building the firmware for {what} failed: {detail}")
    return proc.stdout


def _too_big_error(what, region, by):
    amount = f" by {int(by):,} bytes" if by else ""
    kind = "flash (the model and the code)" if region == "FLASH" else "RAM (the arena and buffers)"
    return KerasFDAError(f"the model does not fit {what}: {kind} overflows{amount}; "
                         "use a bigger board or a smaller model")


def build_firmware(board, package=None, arena_bytes=None, selftest=False, opt="-O2"):
    """Build the application for `board` (cached); return the build folder.

    Cortex-M images link the model in (so the package is part of the key); Linux
    binaries read it from a file (one build per target serves every model).
    """
    root = _source_dir()
    key = hashlib.sha256()
    key.update(_sources_digest(root).encode())
    key.update(f"{board.name}|{opt}|{selftest}|{arena_bytes}".encode())
    if board.kind == "cortex-m" and not selftest:
        key.update(package.model_bytes)
    build = os.path.join(cache_dir(), "build", f"{board.name}-{key.hexdigest()[:16]}")
    done = os.path.join(build, "built.ok")
    if os.path.isfile(done):
        os.utime(done)  # most recently used: kept by _prune_cache
        return build
    if board.kind == "cortex-m":
        require_tools("arm-none-eabi-gcc")
        _require_newlib()
    else:
        require_tools({"native": "gcc", "arm64": "aarch64-linux-gnu-gcc",
                       "armv7": "arm-linux-gnueabihf-gcc"}[board.name])
    os.makedirs(os.path.dirname(build), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=os.path.basename(build) + ".", dir=os.path.dirname(build))
    try:
        args = [f"BUILD={staging}", f"OPT={opt}"]
        if selftest:
            args.append("SELFTEST=1")
        if board.kind == "cortex-m":
            if not selftest:
                # model.tflite is what was planned and what the oracle ran: link it,
                # not a model_data.c that could be stale.
                args += [f"MODEL={os.path.abspath(package.path)}", f"ARENA={arena_bytes}",
                         "FROM_TFLITE=1"]
            _make(["-C", os.path.join(root, "boards", board.name)] + args, board.name)
        else:
            _make(["-C", os.path.join(root, "targets", "linux"), f"TARGET={board.name}"] + args,
                  board.name)
        with open(os.path.join(staging, "built.ok"), "w") as f:
            f.write("ok\n")
        try:
            os.rename(staging, build)
        except OSError:  # built meanwhile by someone else: theirs is as good
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune_cache(os.path.dirname(build), board.name)
    return build


CACHE_KEEP_PER_BOARD = 12


def _prune_cache(folder, board_name):
    """Keep the most recently used builds of a board; a Cortex-M build is one per model."""
    entries = []
    for name in os.listdir(folder):
        done = os.path.join(folder, name, "built.ok")
        if name.rsplit("-", 1)[0] == board_name and os.path.isfile(done):
            entries.append((os.path.getmtime(done), name))
    for _, name in sorted(entries, reverse=True)[CACHE_KEEP_PER_BOARD:]:
        shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


# ---- running -----------------------------------------------------------------------

def _parse_app_output(text):
    stats = {}
    for line in text.splitlines():
        m = re.match(r"kfda: (\w+) (\d+)(?: (?:of )?(\d+))?\s*$", line.strip())
        if m:
            name, a, b = m.group(1), int(m.group(2)), m.group(3)
            if name == "arena_bytes":
                stats["arena_bytes"] = a
                stats["arena_available"] = int(b)
            elif b is not None:
                stats[name] = (a, int(b))
            else:
                stats[name] = a
    return stats


def _app_error(text):
    for line in text.splitlines():
        if line.startswith("kfda: error: "):
            return line[len("kfda: error: "):].strip()
    return None


def _run(command, cwd, what, timeout=RUN_TIMEOUT_S):
    try:
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KerasFDAError(f"{what} did not finish within {timeout:.0f} s "
                            "(set KERAS_FDA_RUN_TIMEOUT to allow longer)")
    log = proc.stdout + "\n" + proc.stderr
    if proc.returncode != 0:
        error = _app_error(log)
        if error is None:
            tail = [line for line in proc.stderr.splitlines() if line.strip()]
            error = f"exit status {proc.returncode}" + (f": {tail[-1].strip()}" if tail else "")
        raise KerasFDAError(f"{what}: {error}")
    return log


def plan_arena(package):
    """The arena bytes the runtime's memory plan needs for this model: the native build's
    `--plan` (it also rejects a corrupt model in one line); without a host compiler, the
    manifest's `arena_bytes` (written by the export when it could plan)."""
    recorded = package.manifest.get("arena_bytes")
    if shutil.which("gcc") is None and isinstance(recorded, int) and recorded > 0:
        return recorded
    native = build_firmware(BOARDS["native"])
    log = _run([os.path.join(native, "kfda_app"), "--plan", os.path.abspath(package.model_path)],
               cwd=native, what=f"{package.model_path}")
    stats = _parse_app_output(log)
    if "arena_bytes" not in stats:
        raise KerasFDAError(f"the runtime printed no memory plan for {package.model_path}")
    return stats["arena_bytes"]


def _elf_sizes(build):
    sizes = {}
    path = os.path.join(build, "sizes.txt")
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                name, value = line.split()
                sizes[name] = int(value)
    return sizes


def _count_linux_instructions(board, binary, model_path, record, workdir):
    """Instructions of one inference on arm64/armv7, from qemu-user's logs (this QEMU has
    no plugins and no -icount in user mode): `-d in_asm` gives each translated block's
    instructions, `-d exec,nochain` one line per executed block, so the sum over the
    executed blocks between kfda_counter_start and kfda_counter_ticks is the count. It
    agrees with a -singlestep trace (one line per instruction) within a few instructions
    at about a sixth of the log."""
    input_path = os.path.join(workdir, "trace_input.bin")
    with open(input_path, "wb") as f:
        f.write(record)
    command = [board.qemu, "-d", "in_asm,exec,nochain", "-D", "/dev/stderr",
               binary, model_path, input_path, os.path.join(workdir, "trace_output.bin")]
    proc = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    sizes, block_pc, block_size = {}, None, 0
    counting, count, result = False, 0, None
    for line in proc.stderr:
        if line.startswith(b"Trace"):
            if result is not None:
                continue
            size = sizes.get(int(line.split(b"/", 2)[1], 16), 0)
            if counting:
                if line.endswith(b" kfda_counter_ticks\n"):
                    result, counting = count, False
                else:
                    count += size
            elif line.endswith(b" kfda_counter_start\n"):
                counting, count = True, 0
        elif line.startswith(b"0x"):
            if block_pc is None:
                block_pc = int(line[:line.index(b":")], 16)
            block_size += 1
        elif line.startswith(b"IN:"):
            block_pc, block_size = None, 0
        elif not line.strip() and block_pc is not None:
            sizes[block_pc], block_pc = block_size, None
    proc.wait()
    return result


def _execute(target, build, model_path, inputs, count_instructions=True):
    """Run the built application on the records of `inputs`; (raw output bytes, stats)."""
    binary = os.path.join(build, "kfda_app.elf" if target.kind == "cortex-m" else "kfda_app")
    stats = {}
    with tempfile.TemporaryDirectory(prefix="keras-fda-run-") as work:
        input_path = os.path.join(work, "input.bin")
        output_path = os.path.join(work, "output.bin")
        inputs.tofile(input_path)
        if target.kind == "cortex-m":
            command = ["qemu-system-arm", "-M", target.qemu, "-nographic", "-monitor", "none",
                       "-serial", "none", "-semihosting-config", "enable=on,target=native",
                       "-icount", "shift=0", "-kernel", binary]
        elif target.qemu:
            command = [target.qemu, binary, model_path, input_path, output_path]
        else:
            command = [binary, model_path, input_path, output_path]
        log = _run(command, cwd=work, what=f"running on {target.name}")
        app = _parse_app_output(log)
        if app.get("inferences") != len(inputs) or not os.path.isfile(output_path):
            raise KerasFDAError(f"the firmware on {target.name} ran {app.get('inferences', 0)} "
                                f"of {len(inputs)} inferences")
        stats["inferences"] = app["inferences"]
        if "instructions_per_inference" in app:
            least, most = app["instructions_per_inference"]
            stats["instructions_per_inference"] = most
            stats["instructions_per_inference_min"] = least
        if "stack_bytes" in app:
            stats["stack_bytes"] = app["stack_bytes"][0]
        if "ns_per_inference" in app and not target.qemu:
            stats["ns_per_inference"] = app["ns_per_inference"][1]
        if target.kind == "linux" and target.qemu and count_instructions:
            counted = _count_linux_instructions(target, binary, model_path,
                                                inputs[:1].tobytes(), work)
            if counted is not None:
                stats["instructions_per_inference"] = counted
        return np.fromfile(output_path, dtype=np.uint8), stats


SELFTEST_RECORD_BYTES = 256


def run_selftest(board, records, count_instructions=False):
    """Bring-up check of a board: build and run the plain-C self-test program
    (firmware/targets/app/model_selftest.c) on uint8 records of 256 bytes. Returns
    (uint32 popcount sums, float32 sums, stats); see that file for the formulas."""
    target = BOARDS[TARGET_BOARDS.get(board, board)]
    records = np.ascontiguousarray(records, dtype=np.uint8).reshape(-1, SELFTEST_RECORD_BYTES)
    if target.qemu:
        require_tools("qemu-system-arm" if target.kind == "cortex-m" else target.qemu)
    build = build_firmware(target, selftest=True)
    with tempfile.TemporaryDirectory(prefix="keras-fda-selftest-") as work:
        model_path = os.path.join(work, "selftest.model")
        with open(model_path, "wb") as f:
            f.write(b"KFST")
        raw, stats = _execute(target, build, model_path, records, count_instructions)
    raw = raw.reshape(len(records), 8)
    stats.update(_elf_sizes(build))
    return (np.ascontiguousarray(raw[:, :4]).view(np.uint32).ravel(),
            np.ascontiguousarray(raw[:, 4:]).view(np.float32).ravel(), stats)


def run_package(package_dir, inputs, board=None, count_instructions=True):
    """Run a package's model on its target (or `board`) for every record of `inputs`.

    inputs: array of shape (N,) + the model's input shape without its batch axis (or one
    record), with exactly the model's dtype. Returns (outputs, stats): outputs is one
    array of shape (N,) + output shape[1:] (a list of them for several outputs); stats a
    dict with board, inferences, arena_bytes, model_bytes and, where measured,
    instructions_per_inference (Cortex-M under -icount: exact per inference; arm64 and
    armv7: counted on the first record), flash_bytes, ram_bytes.
    """
    package = read_package(package_dir)
    target, made_for = choose_board(package, board)
    inputs = check_inputs(package, inputs)
    if target.kind == "cortex-m" and not target.emulated:
        raise KerasFDAError(f"{target.name} is a real board, not emulated: build its image "
                            f"with `make -C firmware/boards/{target.name} MODEL={package_dir}`"
                            " and flash it, or pass --board with an emulated board")
    limits = [target] + ([made_for] if made_for is not None else [])
    for chip in limits:
        if chip.kind == "cortex-m" and (len(package.model_bytes) + APP_FLASH_OVERHEAD >
                                        chip.flash_bytes):
            raise KerasFDAError(
                f"the model does not fit {chip.name}: its {len(package.model_bytes):,}-byte "
                f"flatbuffer and the code need more than the board's "
                f"{chip.flash_bytes // KIB:,} KiB of flash; use a bigger board or a smaller model")
    arena = plan_arena(package)
    stats = {"board": target.name, "description": target.description, "cpu": target.cpu,
             "model_bytes": len(package.model_bytes), "arena_bytes": arena}
    if made_for is not None:
        stats["made_for"] = made_for.name
        stats["description"] += f", standing in for {made_for.name} (same core)"

    if target.kind == "cortex-m":
        for chip in limits:
            if arena + APP_RAM_OVERHEAD > chip.ram_bytes:
                raise KerasFDAError(
                    f"the model does not fit {chip.name}: its {arena:,}-byte arena and the "
                    f"runtime need more than the board's {chip.ram_bytes // KIB:,} KiB of "
                    "RAM; use a bigger board or a smaller model")
        require_tools("qemu-system-arm")
        # Round the arena up so a small change of the plan doesn't rebuild.
        build = build_firmware(target, package, arena_bytes=max(16, -(-arena // 1024) * 1024))
        stats.update(_elf_sizes(build))
        stats["arena_bytes"] = arena
    else:
        if target.qemu:
            require_tools(target.qemu)
        build = build_firmware(target)

    raw, app = _execute(target, build, os.path.abspath(package.model_path), inputs,
                        count_instructions)
    stats.update(app)

    per_record = sum(spec.record_bytes for spec in package.outputs)
    if raw.size != per_record * len(inputs):
        raise KerasFDAError(f"the firmware wrote {raw.size} output bytes, the manifest's "
                            f"outputs need {per_record * len(inputs)}")
    raw = raw.reshape(len(inputs), per_record)
    outputs, offset = [], 0
    for spec in package.outputs:
        chunk = np.ascontiguousarray(raw[:, offset:offset + spec.record_bytes])
        outputs.append(chunk.view(spec.dtype).reshape((len(inputs),) + spec.shape[1:]))
        offset += spec.record_bytes
    return (outputs[0] if len(outputs) == 1 else outputs), stats


# ---- the table of the README's main job -------------------------------------------

def target_report(package_dir, inputs, labels=None, references=None,
                  boards=("mps2-an386", "arm64")):
    """Run the package on each board and compare: one row per board with the test
    accuracy (if labels), the agreement of the predicted class with each reference
    (e.g. {"Keras": keras_logits, "LCE": lce_logits}) and the largest absolute
    difference, instructions per inference, flash and arena bytes."""
    references = references or {}
    rows = []
    for board in boards:
        outputs, stats = run_package(package_dir, inputs, board=board)
        row = {"target": f"{board} ({stats['cpu']})", "board": board,
               "instructions": stats.get("instructions_per_inference"),
               "flash_bytes": stats.get("flash_bytes"), "arena_bytes": stats["arena_bytes"],
               "model_bytes": stats["model_bytes"], "outputs": outputs}
        flat = outputs.reshape(len(outputs), -1)
        if labels is not None:
            row["accuracy"] = float(np.mean(flat.argmax(axis=1) == np.asarray(labels)))
        for name, reference in references.items():
            reference = np.asarray(reference).reshape(len(flat), -1)
            row[f"agree_{name}"] = float(np.mean(flat.argmax(1) == reference.argmax(1)))
            row[f"max_diff_{name}"] = float(np.max(np.abs(flat.astype(np.float64) -
                                                          reference.astype(np.float64))))
        rows.append(row)
    return rows


def format_target_table(rows):
    """The rows of target_report as a plain-text table."""
    names = [k[len("agree_"):] for k in rows[0] if k.startswith("agree_")] if rows else []
    header = ["target", "accuracy"] + [f"agree {n}" for n in names] + \
        ["instr/inference", "flash B", "arena B"]
    lines = []
    for row in rows:
        cells = [row["target"], f"{row['accuracy']:.4f}" if "accuracy" in row else "-"]
        cells += [f"{row[f'agree_{n}']:.4f} ({row[f'max_diff_{n}']:.1e})" for n in names]
        cells += [f"{row['instructions']:,}" if row["instructions"] else "-",
                  f"{row['flash_bytes']:,}" if row["flash_bytes"] else "-",
                  f"{row['arena_bytes']:,}"]
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)) for cells in lines]
    return "\n".join(out)
