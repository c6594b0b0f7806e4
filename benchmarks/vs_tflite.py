"""keras-fda against TensorFlow Lite + XNNPACK on emulated Raspberry Pi cores: instructions
per inference, all counted the same way. Not a test: run `python benchmarks/vs_tflite.py`.

Rows, for the example BNN (keras_fda.models.small_bnn) and Larq Zoo's QuickNetSmall at
32x32 (random weights; instruction counts do not depend on them):
  * the BNN on our runtime (the arm64 build of the checkout's kernels),
  * its int8 twin (bench.conv_twin: every QuantConv2D a Conv2D, default int8 ranges) on
    our own int8 kernels,
  * its int8 and float32 twins on TF Lite's Interpreter from the aarch64 `ai-edge-litert`
    wheel (XNNPACK, its default delegate, one thread) in an emulated arm64 Python:
    Debian bookworm's python3.11 + numpy (tests/runtime/debian_python.py) plus the
    wheel and Debian's libstdc++6, cached beside that sysroot.
Columns: `-cpu cortex-a72` (Raspberry Pi 4) and `-cpu cortex-a76` (Raspberry Pi 5,
dotprod). Never `-cpu max`: it has SVE and SME, which no Pi has.

How one inference is counted (export/emulation.py, `count_trace_window`): qemu-user's
`-d in_asm,exec,nochain` log, summing the executed blocks' instructions between two
markers. Our runtime: the app's kfda_counter_start/kfda_counter_ticks around
kfda_app_invoke (the first inference). TF Lite: `interpreter.invoke()` of the second
inference (the first sets XNNPACK's runtime up), between two marker syscalls that
`-strace` writes into the same log (benchmarks/litert_guest.py). Python start-up,
imports, interpreter creation and XNNPACK's weight packing are outside the window. So
that the trace stays affordable (Python's start-up alone is about 85 M executed blocks),
qemu's `-dfilter` limits it to the code an inference runs: TF Lite's libraries (the
wheel's .so files), libstdc++, libgcc_s, libc and libm. Left out are the Python
interpreter and numpy: the bytecode of the `invoke()` call itself, not TF Lite's work.

qemu 7.2 gives the guest the host's x86 /proc/cpuinfo, and TF Lite's CPU detection then
crashes in `Interpreter()`. qemu-user reads an absolute path inside the `-L` folder
first, so each core gets a root that links to the sysroot's folders and adds
proc/cpuinfo as the Pi's kernel writes it.

Each TF Lite output is compared with the LCE interpreter's on x86 (the table's last
column): float32, the largest difference relative to the largest output; int8, the
largest difference in steps. int8 is not exact: XNNPACK requantizes in float, TF Lite's
builtin kernels in fixed point, and a step of difference in one layer can grow in the
next ones (random weights saturate much of each layer).

Options: --models small_bnn,quicknet_small  --cpus cortex-a72,cortex-a76
         --engines ours,tflite (our BNN, the reference of the ratios, always runs)
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
from keras_fda.export import emulation  # noqa: E402

import bench  # noqa: E402  (TensorFlow, Larq and LCE after keras_fda)
import numpy as np  # noqa: E402

from tests.runtime import debian_python  # noqa: E402

LITERT = ("ai-edge-litert", "2.3.0")
PYTHON_VERSION = "3.11"  # Debian bookworm's python3.11 (debian_python.PACKAGES)
WHEEL_PLATFORM = "manylinux_2_27_aarch64"  # bookworm's glibc is 2.36
LIBRARIES = ("libstdc++6", "libgcc-s1")  # what the wheel's C++ needs beyond the sysroot
MULTIARCH = debian_python.ARCHES["arm64"].multiarch
GUEST = os.path.join(HERE, "litert_guest.py")

# /proc/cpuinfo of each Pi's 64-bit kernel (4 cores): the CPU part (0xd08 Cortex-A72,
# 0xd0b Cortex-A76) is what TF Lite's CPU detection reads; the features come from qemu.
CPUINFO_CORE = {
    "cortex-a72": (
        "BogoMIPS\t: 108.00\n"
        "Features\t: fp asimd evtstrm crc32 cpuid\n"
        "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n"
        "CPU part\t: 0xd08\nCPU revision\t: 3\n"
    ),
    "cortex-a76": (
        "BogoMIPS\t: 108.00\n"
        "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid "
        "asimdrdm lrcpc dcpop asimddp\n"
        "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\n"
        "CPU part\t: 0xd0b\nCPU revision\t: 1\n"
    ),
}
PI = {"cortex-a72": "Pi 4 (A72)", "cortex-a76": "Pi 5 (A76, dotprod)"}


# ---- the emulated TF Lite -----------------------------------------------------------------


def cache_folder():
    """Beside the Debian sysroots (same $XDG_CACHE_HOME / ~/.cache root)."""
    return os.path.join(debian_python.cache_root(), f"arm64-{LITERT[0]}-{LITERT[1]}")


def litert_site():
    """The aarch64 wheel from the package registry, unpacked (a folder for PYTHONPATH)."""
    site = os.path.join(cache_folder(), "site")
    if os.path.isdir(site):
        return site
    os.makedirs(cache_folder(), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".wheel-", dir=cache_folder())
    try:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--platform", WHEEL_PLATFORM,
            "--python-version", PYTHON_VERSION, "-d", work, f"{LITERT[0]}=={LITERT[1]}",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        wheels = glob.glob(os.path.join(work, "*.whl"))
        if done.returncode != 0 or not wheels:
            sys.exit(f"vs_tflite: pip could not download {'=='.join(LITERT)} for aarch64 "
                     f"({(done.stderr.strip().splitlines() or ['?'])[-1]})")  # fmt: skip
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(os.path.join(work, "site"))
        os.replace(os.path.join(work, "site"), site)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return site


def cpu_root(sysroot, cpu):
    """A root for qemu's -L: the sysroot's top folders as links, and the Pi's cpuinfo."""
    root = os.path.join(cache_folder(), f"root-{cpu}")
    os.makedirs(os.path.join(root, "proc"), exist_ok=True)
    for entry in os.listdir(sysroot):
        link = os.path.join(root, entry)
        if entry != "proc" and not os.path.lexists(link):
            os.symlink(os.path.join(sysroot, entry), link)
    with open(os.path.join(root, "proc", "cpuinfo"), "w") as f:
        f.write("\n".join(f"processor\t: {i}\n{CPUINFO_CORE[cpu]}" for i in range(4)))
    return root


class EmulatedLiteRT:
    def __init__(self):
        try:
            self.sysroot = debian_python.sysroot("arm64")
            libs = debian_python.extra_packages(
                "arm64", LIBRARIES, os.path.join(cache_folder(), "libs")
            )
        except debian_python.MirrorUnreachable as e:
            sys.exit(f"vs_tflite: {e}; the emulated Python needs Debian's packages once")
        self.site = litert_site()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONNOUSERSITE": "1",
            "PYTHONPATH": self.site,
            # an absolute host path outside the -L root: the guest loader opens it as is
            "LD_LIBRARY_PATH": ":".join(
                os.path.join(libs, d, MULTIARCH) for d in ("usr/lib", "lib")
            ),
        }

    def command(self, cpu, model, work, trace_filter=None):
        python = os.path.join(self.sysroot, "usr", "bin", "python3.11")
        qemu = [debian_python.ARCHES["arm64"].qemu, "-cpu", cpu, "-L", cpu_root(self.sysroot, cpu)]
        if trace_filter:
            qemu += ["-strace", "-dfilter", trace_filter]
            qemu += ["-d", "in_asm,exec,nochain", "-D", "/dev/stderr"]
        files = [os.path.join(work, n) for n in ("input.bin", "output.bin", "maps.txt")]
        return [*qemu, python, GUEST, model, *files]

    def traced_code(self, maps_path):
        """-dfilter's ranges: the executable mappings of TF Lite's libraries, libstdc++,
        libgcc_s, libc and libm (addresses are the same in every run: qemu-user's guest
        mmap is deterministic)."""
        ranges = []
        for line in open(maps_path):
            fields = line.split()
            if len(fields) < 6 or "x" not in fields[1]:
                continue
            path, name = fields[5], os.path.basename(fields[5])
            if path.startswith(self.site) or name.startswith(
                ("libc.so", "libm.so", "libstdc++.so", "libgcc_s.so")
            ):
                start, end = fields[0].split("-")
                ranges.append(f"0x{start}..0x{end}")
        return ",".join(ranges)

    def count(self, fb, record, cpu, work):
        """(instructions of one inference, its output bytes) for the flatbuffer `fb`."""
        model = os.path.join(work, "model.tflite")
        with open(model, "wb") as f:
            f.write(fb)
        with open(os.path.join(work, "input.bin"), "wb") as f:
            f.write(record)
        maps = os.path.join(work, "maps.txt")
        probe = subprocess.run(
            self.command(cpu, model, work), env=self.env, capture_output=True, text=True
        )
        if probe.returncode != 0:
            sys.exit(f"vs_tflite: TF Lite failed under -cpu {cpu}: {probe.stderr.strip()[-800:]}")
        trace_filter = self.traced_code(maps)
        os.remove(maps)  # the traced run writes its own
        count = emulation.count_trace_window(
            self.command(cpu, model, work, trace_filter),
            b'"/kfda_counter_start"',
            b'"/kfda_counter_stop"',
            work,
            self.env,
        )
        if count is None or not os.path.isfile(maps):
            sys.exit(f"vs_tflite: the traced TF Lite run under -cpu {cpu} counted no inference")
        if self.traced_code(maps) != trace_filter:  # the heap's end may move, not the code
            sys.exit("vs_tflite: the traced run's libraries lie elsewhere than the probe's")
        with open(os.path.join(work, "output.bin"), "rb") as f:
            return count, f.read()


# ---- models and rows ----------------------------------------------------------------------


def quicknet_small():
    import larq_zoo
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = larq_zoo.sota.QuickNetSmall(input_shape=(32, 32, 3), weights=None, num_classes=10)
    last = model.layers[-1]
    if isinstance(last, tf.keras.layers.Activation):  # the logits, as tests/test_zoo.py
        model = tf.keras.Model(model.inputs, last.input, name=model.name)
    bench._randomize(model)
    return model


MODELS = {
    "small_bnn": ("example BNN (small_bnn)", bench.example_bnn),
    "quicknet_small": ("QuickNetSmall 32x32", quicknet_small),
}


def lce_output(fb, record, dtype, shape):
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    x = np.frombuffer(record, dtype=dtype).reshape(shape)
    return np.asarray(Interpreter(fb, num_threads=1).predict(x)).ravel()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--models", default=",".join(MODELS), help="comma list of: " + ", ".join(MODELS)
    )
    ap.add_argument("--cpus", default=",".join(CPUINFO_CORE), help="qemu -cpu models")
    ap.add_argument("--engines", default="ours,tflite", help="comma list of: ours, tflite")
    args = ap.parse_args()
    cpus = args.cpus.split(",")
    for cpu in cpus:
        if cpu not in CPUINFO_CORE:
            sys.exit(f"vs_tflite: unknown --cpus entry {cpu!r}; use {', '.join(CPUINFO_CORE)}")
    litert = EmulatedLiteRT()
    began = time.time()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kfda-vs-tflite-") as work:
        for key in args.models.split(","):
            title, build = MODELS[key]
            bnn = build()
            twin = bench.conv_twin(bnn)
            fbs = {
                "BNN": bench.convert(bnn),
                "int8": bench.convert(twin, **bench.INT8),
                "float32": bench.convert(twin),
            }
            engines = [
                (f"{title}, keras-fda", "BNN", "ours"),
                (f"{title} int8 twin, keras-fda's int8 kernels", "int8", "ours"),
                (f"{title} int8 twin, TF Lite + XNNPACK", "int8", "tflite"),
                (f"{title} float32 twin, TF Lite + XNNPACK", "float32", "tflite"),
            ]
            counts = {}
            for label, kind, engine in engines:
                if engine not in args.engines.split(",") and kind != "BNN":
                    continue  # (our BNN always runs: every ratio is to it)
                fb = fbs[kind]
                info = bench.host_plan(fb, work)["inputs"][0]
                dtype = np.int8 if kind == "int8" else np.float32
                rng = np.random.default_rng(0)  # one input for every row of a model
                x = rng.uniform(-1, 1, info["shape"])
                x = (x * 127).astype(dtype) if kind == "int8" else x.astype(dtype)
                record = x.tobytes()
                diff = ""
                for cpu in cpus:
                    if engine == "ours":
                        n = bench.count_arm64(
                            fb, f"{key}-{kind}", "opt", work, cpu=cpu, record=record
                        )
                    else:
                        run = os.path.join(work, f"{key}-{kind}-{cpu}")
                        os.makedirs(run)
                        n, out = litert.count(fb, record, cpu, run)
                        want = lce_output(fb, record, dtype, info["shape"])
                        got = np.frombuffer(out, dtype=dtype).astype(np.float64)
                        gap = float(np.max(np.abs(got - want)))
                        if kind == "float32":
                            gap /= float(np.max(np.abs(want)))
                        diff = max(gap, float(diff or 0))
                    if n is None:
                        sys.exit(f"vs_tflite: no counted inference for {label} on {cpu}")
                    counts[(kind, engine, cpu)] = n
                    done = f"{time.time() - began:.0f} s" + (
                        f", max |diff| {diff:g}" if diff != "" else ""
                    )
                    print(f"  {label}, {cpu}: {n:,} ({done})", flush=True)
                ratios = [counts[(kind, engine, c)] / counts[("BNN", "ours", c)] for c in cpus]
                rows.append(
                    [label]
                    + [f"{counts[(kind, engine, c)]:,}" for c in cpus]
                    + [f"{r:.2f}x" for r in ratios]
                    + [f"{diff:g}" if diff != "" else "-"]
                )
    bench.table(
        f"Instructions per inference, arm64 under qemu-aarch64-static ({LITERT[0]} "
        f"{LITERT[1]}, one thread)",
        ["model and engine"]
        + [PI[c] for c in cpus]
        + [f"vs our BNN, {PI[c].split(' (')[0]}" for c in cpus]
        + ["vs LCE interpreter: largest difference (float32: relative)"],
        rows,
    )


if __name__ == "__main__":
    main()
