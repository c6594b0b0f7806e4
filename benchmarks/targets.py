"""Instructions per inference of one package on every target keras-fda runs on.

    python benchmarks/targets.py out/                  # a package from `keras-fda export`
    python benchmarks/targets.py out/ --records 8 --boards mps2-an386,arm64

Runs the package's sample inputs (or random ones of the right shape and dtype) on each
board with `keras_fda.export.runner`, checks that every target gives the same bytes, and
prints instructions per inference; with the manifest's `macs` (written by the export),
also instructions per binary MAC, the figure kernel work moves (LCE_MODELS.md: 0.48
for XOR + SWAR popcount in C on an M4, 0.25 in hand-written assembly).
"""

import keras_fda  # noqa: F401  (Keras 2 first)
from keras_fda.export import platforms, runner
from keras_fda.export.package import read_package

import argparse
import json
import os

import numpy as np

# every place keras-fda run emulates
ALL = [
    name
    for name, place in platforms.run_places().items()
    if place.emulated and name != platforms.HOST.name
]


def inputs_for(package, records):
    sample = os.path.join(package.path, "sample_input.npy")
    if os.path.isfile(sample):
        x = np.load(sample)
        if len(x) >= records:
            return x[:records]
    spec = package.inputs[0]
    rng = np.random.RandomState(0)
    shape = (records,) + spec.shape[1:]
    if spec.dtype == np.int8:
        return rng.randint(-128, 128, size=shape).astype(np.int8)
    return rng.randn(*shape).astype(spec.dtype)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("--records", type=int, default=4)
    parser.add_argument("--boards", default=",".join(ALL))
    args = parser.parse_args()
    package = read_package(args.package)
    x = inputs_for(package, args.records)
    macs = package.manifest.macs or {}
    binary = macs.get("binary") if isinstance(macs, dict) else None
    reference, _ = runner.run_package(args.package, x, board="native")
    print(
        f"{'target':<28} {'instructions':>14} {'per binary MAC':>15} {'flash B':>10} "
        f"{'arena B':>9}  same bytes as x86"
    )
    for board in args.boards.split(","):
        outputs, stats = runner.run_package(args.package, x, board=board)
        count = stats.get("instructions_per_inference")
        ratio = f"{count / binary:.3f}" if count and binary else "-"
        same = outputs.tobytes() == reference.tobytes()
        print(
            f"{board + ' (' + stats['cpu'] + ')':<28} {count or 0:>14,} {ratio:>15} "
            f"{stats.get('flash_bytes') or 0:>10,} {stats['arena_bytes']:>9,}  {same}"
        )
    print(json.dumps({"records": len(x), "binary_macs": binary}))


if __name__ == "__main__":
    main()
