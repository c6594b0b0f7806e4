"""kfda_runtime in an emulated Arm Linux Python: the package's own Python code on
Debian bookworm's python3.11 and numpy (arm64 or armhf, under qemu-user), over the
shared library built with the cross compiler and the runtime's flags. Its outputs must
equal the x86 C runtime's bit for bit (floats included).

Slow (qemu-user, and the first run downloads the sysroot, about 110 MB per
architecture, into ~/.cache/keras-fda/debian-python/): marked `emulated`. `./test.sh`
runs arm64; KFDA_TEST_ARCHES=arm64,armhf runs both, `-m "not emulated"` neither.
"""

from keras_fda.export import export_model

import glob
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.export_models import small_bnn
from tests.runtime import debian_python
from tests.runtime.conftest import RUNTIME, build_library

SELECTED = os.environ.get("KFDA_TEST_ARCHES", "arm64").split(",")


@pytest.fixture
def emulated_runtime(request, tmp_path):
    """(command, environment) of an emulated python3.11 that imports kfda_runtime."""
    arch = request.param
    if arch not in SELECTED:
        pytest.skip(f"{arch} runs with KFDA_TEST_ARCHES=arm64,armhf (the default is arm64)")
    try:
        root = debian_python.sysroot(arch)
    except debian_python.MirrorUnreachable as error:
        pytest.skip(f"no emulated {arch} Python: {error}")
    package = tmp_path / "site" / "kfda_runtime"
    package.mkdir(parents=True)
    for source in glob.glob(os.path.join(RUNTIME, "kfda_runtime", "*.py")):
        shutil.copy(source, package)
    build_library.build(
        RUNTIME, str(package / build_library.LIBRARY), cc=debian_python.ARCHES[arch].cc
    )
    command, env = debian_python.python_command(arch, root)
    env["PYTHONPATH"] = str(tmp_path / "site")
    done = subprocess.run(
        command
        + ["-c", "import platform, kfda_runtime; print(platform.machine(), kfda_runtime.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    machine, location = done.stdout.split()
    assert machine == debian_python.ARCHES[arch].machine
    assert location.startswith(str(package))
    return command, env, arch


@pytest.mark.emulated
@pytest.mark.parametrize("emulated_runtime", ["arm64", "armhf"], indirect=True)
def test_emulated_outputs_equal_x86_c_runtime(emulated_runtime, kfda, model_cases, tmp_path):
    """On 4 threads (qemu-user runs each guest thread on a host thread): the x86 C
    runtime's one-thread outputs, bit for bit."""
    command, env, _ = emulated_runtime
    for name, (fb, inputs) in model_cases.items():
        model = tmp_path / f"{name}.tflite"
        model.write_bytes(fb)
        args = ["-m", "kfda_runtime", "run", str(model), "--threads", "4"]
        for k, array in enumerate(inputs):
            np.save(tmp_path / f"{name}_x{k}.npy", array)
            args += ["-i", str(tmp_path / f"{name}_x{k}.npy")]
        out = tmp_path / f"{name}_y.npz"
        done = subprocess.run(
            command + args + ["-o", str(out)], capture_output=True, text=True, env=env, timeout=600
        )
        assert done.returncode == 0, (name, done.stderr)
        with np.load(out) as saved:
            ours = [saved[f"arr_{k}"] for k in range(len(saved.files))]
        want = kfda.run(fb, inputs)
        assert len(ours) == len(want), name
        for got, expected in zip(ours, want):
            assert got.dtype == expected.dtype, name
            np.testing.assert_array_equal(got, expected, err_msg=name)


EXPORT_TARGET = {"arm64": "arm64", "armhf": "armv7"}


@pytest.mark.emulated
@pytest.mark.parametrize("emulated_runtime", ["arm64", "armhf"], indirect=True)
def test_exported_package_on_the_pi(emulated_runtime, tmp_path):
    """The README's Pi workflow on an exported package: its model.tflite from the
    emulated Python, and its own Makefile's C driver (cross-compiled here, the Pi's gcc
    there), both against the LCE outputs the export wrote."""
    command, env, arch = emulated_runtime
    saved = str(tmp_path / "small_bnn.keras")
    small_bnn().save(saved)
    package = tmp_path / "out"
    export_model(saved, EXPORT_TARGET[arch], str(package), log=lambda _: None)
    script = (
        "import numpy as np, sys; from kfda_runtime import Interpreter; "
        "y = Interpreter(sys.argv[1] + '/model.tflite').predict("
        "np.load(sys.argv[1] + '/sample_input.npy')); np.save(sys.argv[2], y)"
    )
    done = subprocess.run(
        command + ["-c", script, str(package), str(tmp_path / "y.npy")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(
        np.load(tmp_path / "y.npy"), np.load(package / "sample_output_lce.npy"), rtol=0, atol=1e-5
    )

    cc = debian_python.ARCHES[arch].cc
    built = subprocess.run(
        ["make", "-s", "-C", str(package), f"CC={cc}", "LDFLAGS=-static"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    ran = subprocess.run(
        [
            debian_python.ARCHES[arch].qemu,
            "./kfda_run",
            "model.tflite",
            "sample_input.bin",
            "sample_output_lce.bin",
            "1",
            "2",  # threads: the driver's option
        ],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    diff = re.search(r"max abs diff against the LCE interpreter: (\S+)", ran.stdout)
    assert diff and float(diff.group(1)) <= 1e-5, ran.stdout
    assert "(1 runs, 2 threads)" in ran.stdout, ran.stdout
