"""The C runtime's sources, installed with the package as `keras_fda.firmware`.

Nothing here runs on a device: this module only tells Python tools where the C files are.
"""

import os


def source_dir():
    """The folder holding the firmware's C sources, Makefiles and linker scripts."""
    return os.path.dirname(os.path.abspath(__file__))
