"""The RAM a model needs on a Cortex-M board: arena + runtime state + stack.

- **arena**: the runtime's own memory plan (`kfda_host plan`, see plan.py).
- **state**: the board image's static RAM other than the arena: `.data` + `.bss` (the
  `kfda_model` header, newlib's and the app's variables) + the `.heap` reserve the linker
  script keeps for newlib's stdio buffers, measured with `arm-none-eabi-size`/`nm` on the
  real image of the board's application. The
  `kfda_model` header's share (`model_struct_bytes`) is reported on its own.
- **stack**: an upper bound from the compiler: that image compiled with
  `-fstack-usage -fcallgraph-info=su`; the deepest call path from `main` through the
  runtime (an indirect call, i.e. an op's prepare/eval or a kernel table, counts as the
  deepest function that is only ever called through a pointer; a call into newlib or
  libgcc counts a documented allowance at its call site), plus `STACK_MARGIN` for the
  assembly kernels and one exception frame with FP context plus its handler.

The image is built once per board (and firmware version) into the build cache, linking
every op; the stack bound follows only the model's ops (the model's bytes go to flash
and change neither RAM nor stack).
"""

from keras_fda.errors import KerasFDAError
from keras_fda.export import build, platforms

import glob
import hashlib
import os
import re
import subprocess

# What the call graph cannot see, in bytes (a documented allowance, checked against
# the measured high-water mark by tests/targets/test_targets_ram.py):
# a call into newlib's stdio (printf, snprintf, fopen...: _vfprintf_r, _dtoa_r, the
# semihosting layer) counts this much at its call site
NEWLIB_STDIO_STACK_BYTES = 2048
# any other function the compiler did not compile here (memcpy/memset, libgcc's soft
# float and division, libm) counts this much at its call site
LIBRARY_STACK_BYTES = 256
EXCEPTION_FRAME_BYTES = 104  # Cortex-M entry with FP context: 26 words
ASM_KERNEL_STACK_BYTES = 64  # the Thumb-2 bconv kernels push r4-r11, lr (+ alignment)
STACK_MARGIN = EXCEPTION_FRAME_BYTES + ASM_KERNEL_STACK_BYTES
_STDIO = re.compile(
    r"^_?(v?[sfn]*printf|v?sn?printf|puts|fputs|putchar|fputc|fwrite|fread|fopen|fclose|"
    r"fflush|fseek|ftell|setvbuf|_write|_read|_open|_close|exit)(_r)?$"
)


def library_stack_bytes(name):
    """The allowance for a call to `name`, a function the call graph has no frame for."""
    return NEWLIB_STDIO_STACK_BYTES if _STDIO.match(name) else LIBRARY_STACK_BYTES


ENTRY = "main"
HANDLERS = ("SysTick_Handler", "kfda_systick_handler")
CROSS_TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm")


def available():
    """True when the Cortex-M toolchain that measures RAM is installed."""
    import shutil

    return all(shutil.which(t) for t in CROSS_TOOLS) and shutil.which("make") is not None


def firmware_board(board):
    """The board whose application image is measured: `board` itself when the firmware
    has it, else the emulated board with the same core."""
    return board if board.has_firmware else platforms.emulated_board(board.core)


def build_probe(board):
    """Build (cached, once per board and firmware version) `board`'s application linking
    every op, with stack-usage and call-graph output; return the build folder. The
    model it links is a placeholder: the model's bytes go to flash and change neither
    the static RAM nor the stack (which `measure` bounds for the model's own ops)."""
    place = firmware_board(board)
    root = build.firmware_dir()
    key = hashlib.sha256()
    key.update(build.sources_digest(root).encode())
    key.update(f"ram|{place.name}".encode())

    def run_make(scratch):
        build.require_tools(*CROSS_TOOLS)
        placeholder = os.path.join(scratch, "placeholder")
        os.makedirs(placeholder)
        with open(os.path.join(placeholder, "model.tflite"), "wb") as f:
            f.write(bytes(16))
        build.make(
            [
                "-C",
                os.path.join(root, "boards", place.name),
                f"BUILD={scratch}",
                f"MODEL={placeholder}",
                "FROM_TFLITE=1",
                "ARENA=16",
                "OPS=all",
                "EXTRA_CFLAGS=-fstack-usage -fcallgraph-info=su",
            ],
            place.name,
        )

    return build._cached_build(f"ram-{place.name}", key, run_make)


def op_files(ops):
    """The source stems (src/ops/<stem>.c) of the TFLite op names `ops` (op_list.h)."""
    with open(os.path.join(build.firmware_dir(), "src", "ops", "op_list.h")) as f:
        rows = re.findall(r"^KFDA_OP\((\w+), (\w+),", f.read(), re.M)
    stems = {name: stem for name, stem in rows}
    unknown = sorted(set(ops) - set(stems))
    if unknown:
        raise KerasFDAError(f"the runtime has no op {', '.join(unknown)}")
    return {stems[name] for name in ops}


def _section_sizes(elf):
    out = subprocess.run(
        ["arm-none-eabi-size", "-A", elf], capture_output=True, text=True, check=True
    ).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def _symbol_sizes(elf):
    out = subprocess.run(
        ["arm-none-eabi-nm", "-S", elf], capture_output=True, text=True, check=True
    ).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = int(parts[1], 16)
    return sizes


_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n[^"]*?\\n(\d+) bytes')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def read_call_graph(folder, stems=None):
    """(frame bytes of each compiled function, its callees, the functions that may be
    called through a pointer) from the `.ci` files. Pointer targets: functions of the
    op files `stems` (src/ops/<stem>.c: prepare and eval; every op file when None) and
    of the kernels (src/kernels/: kernel tables); objects are named src_ops_<stem>.c.*."""
    frames, calls, runtime = {}, {}, set()
    for path in sorted(glob.glob(os.path.join(folder, "*.ci"))):
        with open(path) as f:
            text = f.read()
        name = os.path.basename(path)
        op = name[len("src_ops_") : -len(".c.ci")] if name.startswith("src_ops_") else None
        pointer_file = name.startswith("src_kernels_") or (
            op is not None and (stems is None or op in stems)
        )
        for title, size in _NODE.findall(text):
            frames[title] = max(frames.get(title, 0), int(size))
            if pointer_file:
                runtime.add(title)
        for source, target in _EDGE.findall(text):
            calls.setdefault(source, set()).add(target)
    return frames, calls, runtime


def deepest_path(frames, calls, runtime, entry):
    """Bytes of the deepest call path from `entry`. A function the compiler did not see
    (newlib's, libgcc's) counts `library_stack_bytes` at its call site, so stdio called
    from main and a kernel's memcpy deep in invoke are each charged on their own path,
    not added together. An indirect call counts as the
    deepest of the pointer targets (read_call_graph) that nothing calls directly: the
    runtime's only function pointers are op prepare/eval, the ops' row functions and kernel
    tables; a target that would re-enter a function on the stack is not one (the runtime
    has no recursion). `KerasFDAError` on recursion: then there is no bound."""
    called = {t for targets in calls.values() for t in targets}
    pointer_targets = [f for f in runtime if f not in called]
    done, active = {}, set()
    reach = {}

    def reaches(fn):
        """The functions `fn` reaches through direct calls."""
        if fn not in reach:
            reach[fn], todo = set(), [fn]
            while todo:
                for callee in calls.get(todo.pop(), ()):
                    if callee not in reach[fn] and callee != "__indirect_call":
                        reach[fn].add(callee)
                        todo.append(callee)
        return reach[fn]

    def depth(fn):
        if fn in done:
            return done[fn]
        if fn in active:
            raise KerasFDAError(
                f"the runtime's call graph is recursive through {fn}: no stack bound"
            )
        active.add(fn)
        deepest = 0
        for callee in calls.get(fn, ()):
            if callee == "__indirect_call":
                # a pointer call never re-enters a function on the stack (the runtime
                # has no recursion): an op's eval hands its rows to kfda_op_run_rows,
                # which calls the op's row function, and a kernel's table calls a
                # kernel, never an eval
                options = [
                    depth(t) for t in pointer_targets if t not in active and not reaches(t) & active
                ]
                deepest = max([deepest] + options)
            elif callee not in frames:
                deepest = max(deepest, library_stack_bytes(callee))
            else:
                deepest = max(deepest, depth(callee))
        active.discard(fn)
        done[fn] = frames.get(fn, 0) + deepest
        return done[fn]

    return depth(entry)


def _find(frames, name):
    """The call-graph title of a function (static ones are prefixed with their file)."""
    if name in frames:
        return name
    matches = [t for t in frames if t.endswith(":" + name)]
    return matches[0] if matches else None


def measure(board, ops):
    """{state_bytes, model_struct_bytes, stack_bytes, stack_call_path_bytes,
    stack_margin_bytes, measured_on} of the application on `board` running a model
    with the TFLite ops `ops`."""
    folder = build_probe(board)
    elf = os.path.join(folder, "kfda_app.elf")
    sections = _section_sizes(elf)
    symbols = _symbol_sizes(elf)
    arena = symbols.get("kfda_arena", 0)
    static = sum(sections.get(s, 0) for s in (".data", ".bss", ".heap"))
    frames, calls, runtime = read_call_graph(os.path.join(folder, "obj"), op_files(ops))
    entry = _find(frames, ENTRY)
    if entry is None:
        raise KerasFDAError(f"no call graph for {ENTRY} in {folder}; rebuild the firmware")
    path = deepest_path(frames, calls, runtime, entry)
    handlers = [_find(frames, h) for h in HANDLERS]
    handler = max([deepest_path(frames, calls, runtime, h) for h in handlers if h] or [0])
    return {
        "state_bytes": static - arena,
        "model_struct_bytes": symbols.get("app_model", 0),
        "stack_bytes": path + handler + STACK_MARGIN,
        "stack_call_path_bytes": path,
        "stack_margin_bytes": handler + STACK_MARGIN,
        "measured_on": firmware_board(board).name,
    }


def total(arena_bytes, parts):
    """arena + state + stack."""
    return arena_bytes + parts["state_bytes"] + parts["stack_bytes"]


def manifest_entry(arena_bytes, parts, board):
    """The manifest's `ram`."""
    return {
        "arena_bytes": arena_bytes,
        "state_bytes": parts["state_bytes"],
        "model_struct_bytes": parts["model_struct_bytes"],
        "stack_bytes": parts["stack_bytes"],
        "stack_call_path_bytes": parts["stack_call_path_bytes"],
        "stack_margin_bytes": parts["stack_margin_bytes"],
        "total_bytes": total(arena_bytes, parts),
        "board_ram_bytes": board.ram_bytes,
        "measured_on": parts["measured_on"],
    }


def describe(entry):
    """One line: the parts and the total against the board's RAM."""
    return (
        f"RAM: arena {entry['arena_bytes']:,} + runtime state {entry['state_bytes']:,} "
        f"(kfda_model {entry['model_struct_bytes']:,}) + stack <= {entry['stack_bytes']:,} "
        f"= {entry['total_bytes']:,} bytes of the board's {entry['board_ram_bytes']:,}"
    )
