"""kfda-runtime: the keras-fda C runtime for Python, with numpy as the only dependency.

Installing compiles the C runtime (the repository's `firmware/`, or the copy an sdist
carries) and a small shim into `kfda_runtime/libkfda_runtime.so` with the machine's C
compiler; Python loads it with ctypes (why: build_library.py).
"""

import os
import shutil
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_library  # noqa: E402


class BuildPyWithLibrary(build_py):
    """Python files, then the shared library beside them."""

    def run(self):
        super().run()
        into = HERE if getattr(self, "editable_mode", False) else self.build_lib
        try:
            build_library.build(HERE, self._library_path(into))
        except build_library.BuildError as error:
            sys.exit(f"kfda-runtime: {error}")

    def _library_path(self, root):
        return os.path.join(root, "kfda_runtime", build_library.LIBRARY)

    def get_outputs(self, include_bytecode=1):
        return super().get_outputs(include_bytecode) + [self._library_path(self.build_lib)]


class SdistWithRuntime(sdist):
    """The sdist carries the C runtime's include/ and src/ as firmware/."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        firmware = build_library.find_firmware(HERE)
        for path in build_library.runtime_files(firmware):
            target = os.path.join(base_dir, "firmware", os.path.relpath(path, firmware))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(path, target)


class DistributionWithLibrary(Distribution):
    """Not pure Python: the wheel holds a .so and installs into platlib."""

    def has_ext_modules(self):
        return True


class WheelForAnyPython(bdist_wheel):
    """Platform-specific (it holds a .so) but not tied to a CPython version or ABI."""

    def get_tag(self):
        return ("py3", "none", super().get_tag()[2])


setup(
    distclass=DistributionWithLibrary,
    cmdclass={
        "build_py": BuildPyWithLibrary,
        "sdist": SdistWithRuntime,
        "bdist_wheel": WheelForAnyPython,
    },
)
