"""Running a built application on a board or Linux target and counting its instructions.

* Cortex-M: `qemu-system-arm -M <machine> -icount shift=0` with semihosting; with
  -icount every instruction takes the same virtual time, so the application's SysTick
  counter (targets/cortex-m/counter.c) reads instructions, exact per inference.
* arm64/armv7: the static binary under qemu-user (`qemu-aarch64-static`, ...), which
  has no -icount and no plugins: `count_linux_instructions` sums the executed blocks
  of one inference from QEMU's exec trace.
* the host: natively (it reports nanoseconds).

The application prints one fact per line, "kfda: NAME A [of|B]" (targets/app/main.c);
`parse_app_output` reads them.
"""

from keras_fda.errors import KerasFDAError

import os
import re
import subprocess
import tempfile

import numpy as np

RUN_TIMEOUT_S = float(os.environ.get("KERAS_FDA_RUN_TIMEOUT", "900"))

# qemu-system-arm's flags after -M (the same as the board Makefiles' `make run`)
QEMU_SYSTEM_FLAGS = [
    "-nographic",
    "-monitor",
    "none",
    "-serial",
    "none",
    "-semihosting-config",
    "enable=on,target=native",
    "-icount",
    "shift=0",
]


def parse_app_output(text):
    """The application's facts: {name: value} for "kfda: name A", {name: (A, B)} for
    "kfda: name A B", and arena_bytes / arena_available for "kfda: arena_bytes A of B"."""
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
            return line[len("kfda: error: ") :].strip()
    return None


def run_command(command, cwd, what, timeout=RUN_TIMEOUT_S, env=None):
    """Run `command` (in `env`, None: this process's); its stdout and stderr, or
    `KerasFDAError` with the application's own error line (or the exit status) when it
    fails or times out."""
    try:
        proc = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        raise KerasFDAError(
            f"{what} did not finish within {timeout:.0f} s "
            "(set KERAS_FDA_RUN_TIMEOUT to allow longer)"
        )
    log = proc.stdout + "\n" + proc.stderr
    if proc.returncode != 0:
        error = _app_error(log)
        if error is None:
            tail = [line for line in proc.stderr.splitlines() if line.strip()]
            error = f"exit status {proc.returncode}" + (f": {tail[-1].strip()}" if tail else "")
        raise KerasFDAError(f"{what}: {error}")
    return log


def count_linux_instructions(
    place, binary, model_path, record, workdir, env=None, cpu=None, charge=None
):
    """Instructions of one inference of `binary` on `record` (bytes) under `place`'s
    qemu-user (with `-cpu cpu` when given), or None if the trace holds no counted
    inference: the executed blocks between kfda_counter_start and kfda_counter_ticks
    (`count_trace_window`). With several threads (env's KFDA_NUM_THREADS) the blocks
    of every thread inside the window are summed; `charge` shares them out (per thread:
    benchmarks/threads.py, per function: benchmarks/arm64_profile.py)."""
    input_path = os.path.join(workdir, "trace_input.bin")
    with open(input_path, "wb") as f:
        f.write(record)
    command = [
        place.qemu,
        *(["-cpu", cpu] if cpu else []),
        "-d",
        "in_asm,exec,nochain",
        "-D",
        "/dev/stderr",
        binary,
        model_path,
        input_path,
        os.path.join(workdir, "trace_output.bin"),
    ]
    return count_trace_window(
        command, b" kfda_counter_start\n", b" kfda_counter_ticks\n", workdir, env, charge
    )


def count_trace_window(command, start, stop, cwd, env=None, charge=None):
    """Instructions a qemu-user `command` executes between the first log line holding
    `start` and the next holding `stop` (bytes), or None if there is no such window.

    qemu-user's logs: `-d in_asm` gives each translated block's instructions,
    `-d exec,nochain` one line per executed block, so the sum over the executed blocks
    between the markers is the count. A marker is an executed block's line (its symbol,
    for the main binary) or any other line of the same log (`-strace`'s line of a
    marker syscall). It agrees with a -singlestep trace (one line per instruction)
    within a few instructions at about a sixth of the log. `command` must send the log
    to its stderr (`-D /dev/stderr`).

    `charge(pc, size, line)`, when given, is called for each executed block in the
    window (its address, instructions and trace line, `Trace CPU: ...` where CPU is the
    guest thread in qemu-user) so that a caller can share the count out: per function
    (benchmarks/arm64_profile.py), per thread (benchmarks/threads.py)."""
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sizes, block_pc, block_size = {}, None, 0
    counting, count, result = False, 0, None
    for line in proc.stderr:
        if line.startswith(b"0x"):
            if block_pc is None:
                block_pc = int(line[: line.index(b":")], 16)
            block_size += 1
        elif line.startswith(b"IN:"):  # its symbol is no marker: translated, not run
            block_pc, block_size = None, 0
        elif not line.strip():
            if block_pc is not None:
                sizes[block_pc], block_pc = block_size, None
        elif result is not None:
            continue
        elif counting and stop in line:  # the marker blocks themselves are not counted
            result, counting = count, False
        elif not counting and start in line:
            counting, count = True, 0
        elif counting and line.startswith(b"Trace"):
            pc = int(line.split(b"/", 2)[1], 16)
            size = sizes.get(pc, 0)
            count += size
            if charge is not None:
                charge(pc, size, line)
    proc.wait()
    return result


def execute(place, build, model_path, inputs, count_instructions=True, threads=1):
    """Run the application built for `place` (in the folder `build`) on the records of
    `inputs`, on `threads` threads (Linux builds: KFDA_NUM_THREADS); (raw output bytes,
    stats). Stats: inferences, arena_bytes_needed (the runtime's plan on `place`), and
    where measured instructions_per_inference (and _min), stack_bytes, ns_per_inference
    (native)."""
    env = dict(os.environ, KFDA_NUM_THREADS=str(threads)) if threads != 1 else None
    binary = os.path.join(build, "kfda_app.elf" if place.kind == "cortex-m" else "kfda_app")
    stats = {}
    with tempfile.TemporaryDirectory(prefix="keras-fda-run-") as work:
        input_path = os.path.join(work, "input.bin")
        output_path = os.path.join(work, "output.bin")
        inputs.tofile(input_path)
        if place.kind == "cortex-m":
            command = ["qemu-system-arm", "-M", place.qemu, *QEMU_SYSTEM_FLAGS, "-kernel", binary]
        elif place.qemu:
            command = [place.qemu, binary, model_path, input_path, output_path]
        else:
            command = [binary, model_path, input_path, output_path]
        log = run_command(command, cwd=work, what=f"running on {place.name}", env=env)
        app = parse_app_output(log)
        if app.get("inferences") != len(inputs) or not os.path.isfile(output_path):
            raise KerasFDAError(
                f"the firmware on {place.name} ran {app.get('inferences', 0)} "
                f"of {len(inputs)} inferences"
            )
        stats["inferences"] = app["inferences"]
        if "arena_bytes" in app:  # what the runtime there planned at load
            stats["arena_bytes_needed"] = app["arena_bytes"]
        if "instructions_per_inference" in app:
            least, most = app["instructions_per_inference"]
            stats["instructions_per_inference"] = most
            stats["instructions_per_inference_min"] = least
        if "stack_bytes" in app:
            stats["stack_bytes"] = app["stack_bytes"][0]
        if "ns_per_inference" in app and not place.qemu:
            stats["ns_per_inference"] = app["ns_per_inference"][1]
        if place.kind == "linux" and place.qemu and count_instructions:
            counted = count_linux_instructions(
                place, binary, model_path, inputs[:1].tobytes(), work, env
            )
            if counted is not None:
                stats["instructions_per_inference"] = counted
        return np.fromfile(output_path, dtype=np.uint8), stats
