"""keras-fda: binary neural networks with better gradient estimators, deployed to Arm.

`export/` and `firmware/` live at the repository's top level (they are separate rooms
of the architecture) and install inside the `keras_fda` namespace, so no generic
top-level `export` module lands in site-packages.
"""

import os

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_requirements():
    with open(os.path.join(HERE, "requirements.txt")) as f:
        lines = (line.split("#")[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith("pytest")]


def firmware_files():
    """The C runtime's sources, installed as package data for `keras-fda run`."""
    root = os.path.join(HERE, "firmware")
    files = []
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith((".pyc",)) or "__pycache__" in folder:
                continue
            files.append(os.path.relpath(os.path.join(folder, name), root))
    return files


setup(
    name="keras-fda",
    version="0.1.0",
    description="Train binary neural networks with FDA/EDE/ApproxSign estimators (Larq) "
    "and deploy them as packed XNOR/popcount models to Arm Cortex-M and Linux.",
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9,<3.13",
    packages=["keras_fda", "keras_fda.models", "keras_fda.export", "keras_fda.firmware"],
    package_dir={
        "keras_fda": "keras_fda",
        "keras_fda.export": "export",
        "keras_fda.firmware": "firmware",
    },
    package_data={"keras_fda.firmware": firmware_files()},
    install_requires=read_requirements(),
    extras_require={"test": ["pytest==9.2.0", "pytest-xdist==3.8.0"]},
    entry_points={"console_scripts": ["keras-fda=keras_fda.cli:main"]},
)
