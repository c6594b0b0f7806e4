"""The accuracy study (`keras-fda compare`): estimators x seeds on one data set and model,
with means, spreads, curves and the FDA paper's numbers beside ours.

A study lives in one folder:

    study.json          the settings every cell shares (data, model, epochs, recipe)
    cells/*.json        one finished (estimator, seed) run each, written atomically
    results.csv         one row per cell
    results.md          mean +- std per estimator, the ordering check, the paper's table
    accuracy.png        test accuracy per epoch (mean over seeds, +- std band)
    gradients.png       every estimator's backward curve

Running the same command again skips finished cells, so a stopped study resumes; adding
estimators or seeds to a finished study runs only the new cells. Settings that change
results (epochs, model, data, precision, recipe, noise weight decay, alpha schedule) must
match the folder's, else it stops with one line.
"""

from keras_fda.errors import KerasFDAError

import contextlib
import csv
import dataclasses
import io
import json
import os
import re
import tempfile
import time

import numpy as np

PAPER_CIFAR10 = {
    # ESTIMATORS.md: FDA paper, CIFAR-10 top-1 (%); our estimator -> the paper's row
    "resnet20": {
        "FP32": 92.10,
        "DoReFa": 84.44,
        "IR-Net (ede)": 85.40,
        "FDA sine only (fda)": 85.83,
        "FDA sine + noise (fda+noise)": 86.20,
    },
    "vgg_small": {
        "FP32": 94.10,
        "DoReFa": 90.20,
        "IR-Net (ede)": 90.40,
        "BNN+ (swish_sign)": 91.31,
        "FDA (fda+noise)": 92.54,
    },
}
PRECISIONS = ("float32", "mixed_bfloat16")
RECIPE_CHOICES = ("default", "paper-sgd")  # see training.recipe_for
ORDERING = ("fda+noise", "fda", "ede", "ste_sign")  # the paper's claim, best first
DATASET_DEFAULT_MODEL = {"fashion-mnist": "small_bnn", "cifar10": "resnet20"}


@dataclasses.dataclass
class StudySettings:
    """What every cell of a study shares; a resumed study must match it."""

    dataset: str = "fashion-mnist"
    model: str = "small_bnn"
    epochs: int = 30
    train_subset: int = 0  # 0: the whole training set
    test_subset: int = 0
    learning_rate: float = 0.0  # 0: the data set's recipe
    precision: str = "float32"  # or "mixed_bfloat16": bf16 convolutions, float32 weights
    recipe: str = "default"  # or "paper-sgd" (training.recipe_for)
    noise_weight_decay: float = 0.0  # decoupled decay of the noise branches only
    alpha_zero_at: float = 1.0  # fraction of training at which the noise alpha reaches 0
    data_dir: str = ""  # where the data came from: not compared on resume

    def key(self):
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "data_dir"}


# what a study folder written before each option existed was trained with
OPTION_DEFAULTS = {
    "precision": "float32",
    "recipe": "default",
    "noise_weight_decay": 0.0,
    "alpha_zero_at": 1.0,
}


def _umask_mode():
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _write_atomically(path, data, binary=False):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            f.write(data)
        os.chmod(tmp, _umask_mode())  # mkstemp makes 0600; reports are for sharing
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cell_name(estimator, seed):
    return f"{re.sub(r'[^A-Za-z0-9_=-]', '_', estimator)}__seed{seed}"


def _open_study(output, settings):
    os.makedirs(os.path.join(output, "cells"), exist_ok=True)
    path = os.path.join(output, "study.json")
    if os.path.exists(path):
        try:
            with open(path) as f:
                existing = json.load(f)
        except (OSError, ValueError):
            raise KerasFDAError(f"{path} is damaged: remove it or use a new --output") from None
        for key, value in OPTION_DEFAULTS.items():  # studies from before an option existed
            existing.setdefault(key, value)
        if existing != settings.key():
            differs = sorted(k for k in settings.key() if existing.get(k) != settings.key()[k])
            raise KerasFDAError(
                f"{output} holds a study with other settings ({', '.join(differs)} differ): "
                "use a new --output, or the same settings to resume it"
            )
    else:
        _write_atomically(path, json.dumps(settings.key(), indent=2) + "\n")


def load_cells(output):
    """Every finished cell of the study in `output`."""
    folder = os.path.join(output, "cells")
    cells = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(folder, name)) as f:
                cells.append(json.load(f))
    return cells


PRESENTATION_ORDER = ("ste_sign", "swish_sign", "approx_sign", "ede", "reste", "fda")


def _presentation_key(estimator):
    """Baselines first, FDA last; an estimator's variants right after it."""
    base = estimator.split("+")[0].split(":")[0]
    rank = PRESENTATION_ORDER.index(base) if base in PRESENTATION_ORDER else len(PRESENTATION_ORDER)
    return rank, estimator


def summarize(cells):
    """estimator -> (mean %, std %, n, mean s/epoch), baselines first, FDA last."""
    by_estimator = {}
    for cell in sorted(cells, key=lambda c: (_presentation_key(c["estimator"]), c["seed"])):
        by_estimator.setdefault(cell["estimator"], []).append(cell)
    summary = {}
    for estimator, runs in by_estimator.items():
        accuracy = np.array([100 * r["test_accuracy"] for r in runs])
        summary[estimator] = (
            float(accuracy.mean()),
            float(accuracy.std(ddof=1)) if len(runs) > 1 else 0.0,
            len(runs),
            float(np.mean([np.mean(r["seconds_per_epoch"]) for r in runs])),
        )
    return summary


def ordering_check(summary):
    """The paper's ordering FDA+noise >= FDA >= EDE >= STE on the means, as one sentence."""
    present = [e for e in ORDERING if e in summary]
    if len(present) < 2:
        return "Ordering check: needs at least two of " + ", ".join(ORDERING) + "."
    pairs = list(zip(present, present[1:]))
    broken = [(a, b) for a, b in pairs if summary[a][0] < summary[b][0]]
    chain = " >= ".join(f"{e} ({summary[e][0]:.2f})" for e in present)
    if not broken:
        return f"Ordering check: holds on these data: {chain}."
    details = "; ".join(f"{a} {summary[a][0]:.2f} < {b} {summary[b][0]:.2f}" for a, b in broken)
    return (
        f"Ordering check: the paper's ordering {' >= '.join(present)} does NOT hold "
        f"on these data ({details}). Differences within one standard deviation are "
        "not evidence either way."
    )


def write_reports(output, settings):
    """results.csv, results.md and accuracy.png from the finished cells."""
    cells = load_cells(output)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "estimator",
            "seed",
            "test_accuracy",
            "best_test_accuracy",
            "seconds_per_epoch",
            "epochs",
            "dataset",
            "model",
        ]
    )
    for c in cells:
        writer.writerow(
            [
                c["estimator"],
                c["seed"],
                f"{c['test_accuracy']:.4f}",
                f"{max(c['accuracy_curve']):.4f}",
                f"{np.mean(c['seconds_per_epoch']):.2f}",
                c["epochs"],
                settings.dataset,
                settings.model,
            ]
        )
    _write_atomically(os.path.join(output, "results.csv"), buffer.getvalue())
    summary = summarize(cells)
    lines = [
        f"# {settings.model} on {settings.dataset}: {settings.epochs} epochs",
        "",
        f"Training images: {settings.train_subset or 'all'}; test images: "
        f"{settings.test_subset or 'all'}; precision: {settings.precision}; "
        f"recipe: {settings.recipe}; noise weight decay: {settings.noise_weight_decay:g}; "
        f"noise alpha reaches 0 at {settings.alpha_zero_at:g} of training. "
        "Test accuracy after the last epoch.",
        "",
        "| estimator | test accuracy % (mean +- std) | seeds | s/epoch |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {e} | {m:.2f} +- {s:.2f} | {n} | {t:.1f} |" for e, (m, s, n, t) in summary.items()
    ]
    lines += ["", ordering_check(summary), ""]
    paper = PAPER_CIFAR10.get(settings.model)
    if paper:
        lines += [
            f"The FDA paper on CIFAR-10, {settings.model} (400 epochs; top-1 %):",
            "",
            "| method | paper |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v:.2f} |" for k, v in paper.items()]
        lines.append("")
    _write_atomically(os.path.join(output, "results.md"), "\n".join(lines))
    if cells:
        _plot_curves(cells, os.path.join(output, "accuracy.png"), settings)
    return summary


def _plot_curves(cells, path, settings):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    by_estimator = {}
    for c in cells:
        by_estimator.setdefault(c["estimator"], []).append(c["accuracy_curve"])
    for estimator, curves in by_estimator.items():
        length = min(len(c) for c in curves)
        curves = 100 * np.array([c[:length] for c in curves])
        epochs = np.arange(1, length + 1)
        mean, std = curves.mean(axis=0), curves.std(axis=0)
        ax.plot(epochs, mean, label=f"{estimator} (n={len(curves)})")
        ax.fill_between(epochs, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy %")
    ax.set_title(f"{settings.model} on {settings.dataset}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.chmod(tmp, _umask_mode())
    os.replace(tmp, path)


@contextlib.contextmanager
def _precision_policy(name):
    """Build layers under the Keras mixed-precision policy `name`, then restore the old one.

    Under "mixed_bfloat16" the variables stay float32 and the convolutions run in
    bfloat16 (exact +-1 inputs for the binary ones, sums rounded to 8 significant bits),
    about 2x faster on CPUs with AVX512-BF16 or AMX and on GPUs.
    """
    import tensorflow as tf

    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)


def model_path(output, estimator, seed):
    """Where `run_study(..., save_models=True)` keeps a cell's trained model."""
    return os.path.join(output, "models", cell_name(estimator, seed) + ".keras")


def run_study(settings, estimators, seeds, output, verbose=2, save_models=False):
    """Train every missing (estimator, seed) cell, then write the reports. Returns the
    summary: estimator -> (mean %, std %, seeds, s/epoch). With `save_models`, each
    cell's trained model is kept (see `model_path`)."""
    from keras_fda import callbacks, datasets, models, training
    from keras_fda import estimators as estimator_specs

    import tensorflow as tf

    for spec in estimators:
        estimator_specs.parse(spec)  # fail early on a misspelt estimator
    if settings.precision not in PRECISIONS:
        raise KerasFDAError(
            f"precision must be one of {', '.join(PRECISIONS)}, got {settings.precision!r}"
        )
    if not 0.0 < settings.alpha_zero_at <= 1.0:
        raise KerasFDAError(f"alpha_zero_at must be in (0, 1], got {settings.alpha_zero_at!r}")
    if settings.noise_weight_decay < 0:
        raise KerasFDAError(f"noise weight decay must be >= 0, got {settings.noise_weight_decay!r}")
    recipe = dataclasses.replace(
        training.recipe_for(settings.dataset, settings.recipe),
        noise_weight_decay=settings.noise_weight_decay,
    )
    if settings.learning_rate:
        recipe = dataclasses.replace(recipe, learning_rate=settings.learning_rate)
    training.check_recipe(recipe)  # before the study folder exists
    # the data first: a missing data set must not leave an empty study folder behind
    (x_train, y_train), (x_test, y_test) = datasets.load(
        settings.dataset, settings.data_dir or None
    )
    _open_study(output, settings)
    if settings.train_subset:
        keep = np.random.default_rng(0).permutation(len(x_train))[: settings.train_subset]
        x_train, y_train = x_train[keep], y_train[keep]
    if settings.test_subset:
        x_test, y_test = x_test[: settings.test_subset], y_test[: settings.test_subset]
    from keras_fda.plotting import plot_estimators

    plot_estimators(os.path.join(output, "gradients.png"))
    done = {cell_name(c["estimator"], c["seed"]) for c in load_cells(output)}
    # seed-major, so that a study stopped early has every estimator at its first seeds
    todo = [(e, s) for s in range(seeds) for e in estimators if cell_name(e, s) not in done]
    print(
        f"study {output}: {settings.model} on {settings.dataset}, {len(x_train)} training "
        f"images, {settings.epochs} epochs; {len(todo)} of {len(estimators) * seeds} cells "
        "to run",
        flush=True,
    )
    for index, (estimator, seed) in enumerate(todo, 1):
        print(f"\n[{index}/{len(todo)}] {estimator}, seed {seed}", flush=True)
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(seed)
        with _precision_policy(settings.precision):
            model = models.build(settings.model, estimator, x_train.shape[1:])
        schedules = callbacks.default(epochs=settings.epochs, alpha_zero_at=settings.alpha_zero_at)
        if estimator_specs.uses_fixed_n(estimator):
            schedules = [s for s in schedules if not isinstance(s, callbacks.FourierTermsSchedule)]
        started = time.perf_counter()
        history, seconds = training.fit(
            model,
            (x_train, y_train),
            (x_test, y_test),
            settings.epochs,
            recipe=recipe,
            seed=seed,
            verbose=verbose,
            schedules=schedules,
        )
        cell = {
            "estimator": estimator,
            "seed": seed,
            "epochs": settings.epochs,
            "test_accuracy": float(history["val_accuracy"][-1]),
            "accuracy_curve": [float(v) for v in history["val_accuracy"]],
            "loss_curve": [float(v) for v in history["loss"]],
            "seconds_per_epoch": [float(v) for v in seconds],
            "wall_seconds": time.perf_counter() - started,
            "settings": settings.key(),
        }
        if save_models:
            os.makedirs(os.path.join(output, "models"), exist_ok=True)
            training.float32_copy(model).save(model_path(output, estimator, seed))
        _write_atomically(
            os.path.join(output, "cells", cell_name(estimator, seed) + ".json"),
            json.dumps(cell, indent=1) + "\n",
        )
        write_reports(output, settings)
        print(
            f"{estimator}, seed {seed}: test accuracy {100 * cell['test_accuracy']:.2f}%",
            flush=True,
        )
    return write_reports(output, settings)
