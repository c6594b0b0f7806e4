"""`keras-fda plot`: what each estimator computes forward and lets through backward.

The backward curves are measured, not redrawn from formulas: each quantizer is run
under a GradientTape on a grid of x, so the plot shows exactly what training uses.
"""

from keras_fda import quantizers
from keras_fda.errors import KerasFDAError

import os

import numpy as np
import tensorflow as tf


def measured_curves(quantizer, x):
    """(forward, gradient) of `quantizer` at the points `x`, in training mode."""
    x = tf.constant(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = quantizer(x, training=True)
    return y.numpy(), tape.gradient(y, x).numpy()


def estimator_curves(
    n_values=(1, 5, 9, 17), ede_t=(0.1, 1.0, 10.0), reste_o=(1.0, 2.0, 3.0), points=601
):
    """Name -> (x, forward, gradient) for every estimator drawn by `plot_estimators`."""
    import larq

    x = np.linspace(-1.5, 1.5, points, dtype=np.float32)
    entries = [(f"FDA n={n}", quantizers.FDA(n_terms=n)) for n in n_values]
    entries += [(f"EDE t={t:g}", quantizers.EDE(t=t)) for t in ede_t]
    entries += [(f"ReSTE o={o:g}", quantizers.ReSTE(o=o)) for o in reste_o]
    entries += [
        ("ApproxSign", quantizers.ApproxSign()),
        ("STE", larq.quantizers.SteSign()),
        ("SwishSign", larq.quantizers.SwishSign()),
    ]
    return {name: (x, *measured_curves(q, x)) for name, q in entries}


def plot_estimators(path, n_values=(1, 5, 9, 17)):
    """Write a PNG: sign forward, then gradients of FDA (several n), EDE, ReSTE (several o),
    ApproxSign, STE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not path.lower().endswith(".png"):
        raise KerasFDAError(f"the plot is a PNG: give an output path ending in .png, not {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise KerasFDAError(f"folder {folder} does not exist: create it or choose another --output")
    curves = estimator_curves(n_values)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    x, forward, _ = curves[f"FDA n={n_values[0]}"]
    axes[0].plot(x, forward, color="black")
    axes[0].set_title("forward (all estimators): sign(x), sign(0) = +1")
    for name, (x, _, grad) in curves.items():
        ax = axes[1] if name.startswith("FDA") else axes[2]
        ax.plot(x, grad, label=name)
    axes[1].set_title("FDA backward: 4w/pi sum cos((2i+1)wx), w=0.1, clip |x|>1")
    axes[1].axhline(0, color="grey", linewidth=0.8)
    axes[1].annotate(
        "negative lobe near |x|=1 for large n",
        xy=(0.95, -0.05),
        xytext=(-1.45, -0.3),
        arrowprops={"arrowstyle": "->"},
    )
    axes[2].set_title("other estimators' backward")
    for ax in axes:
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
