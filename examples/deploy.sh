#!/usr/bin/env bash
# From a trained model to a Cortex-M4 image and an arm64 binary, checked under QEMU.
#   examples/deploy.sh fmnist_fda.keras
set -euo pipefail
model="${1:?usage: examples/deploy.sh model.keras}"

# Cortex-M4: verified package, run under qemu-system-arm (mps2-an386), flashable image.
keras-fda export "$model" --target cortex-m --cpu cortex-m4 --output out-m4 --force
keras-fda inspect out-m4/model.tflite
keras-fda run out-m4 --output y-m4.npy                      # the package's sample inputs
make -C "$(python -c 'import keras_fda.firmware as f; print(f.source_dir())')/boards/mps2-an386" MODEL="$PWD/out-m4"

# arm64 (Raspberry Pi 3/4/5 with a 64-bit OS): package with a C driver and Makefile.
keras-fda export "$model" --target arm64 --output out-arm64 --force
keras-fda run out-arm64 --output y-arm64.npy                # under qemu-aarch64-static
python - <<'PY'
import numpy as np
a, b = np.load("y-m4.npy"), np.load("y-arm64.npy")
print("Cortex-M4 and arm64 outputs bit-identical:", a.tobytes() == b.tobytes())
PY
echo "copy out-arm64/ to the Pi and run: make && ./kfda_run"
