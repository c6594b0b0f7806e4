"""The accuracy study: reports written, resume skips finished cells, settings guarded,
the ordering check says what the numbers say."""

from keras_fda import KerasFDAError, datasets
from keras_fda.study import StudySettings, load_cells, ordering_check, run_study

import csv
import json
import os

import pytest

from tests.test_cli import assert_one_line_error, keras_fda

needs_data = pytest.mark.skipif(
    not os.path.isdir(datasets.FASHION_MNIST_DIR),
    reason="Debian package dataset-fashion-mnist not installed",
)
TINY = dict(
    dataset="fashion-mnist",
    model="small_bnn",
    epochs=1,
    train_subset=512,
    test_subset=256,
    learning_rate=0.03,
)


@needs_data
def test_study_writes_reports_and_resumes(tmp_path, capsys):
    out = str(tmp_path / "report")
    summary = run_study(StudySettings(**TINY), ["ste_sign", "fda:n=9"], 1, out, verbose=0)
    assert set(summary) == {"ste_sign", "fda:n=9"}
    umask = os.umask(0)
    os.umask(umask)
    for name in ("results.csv", "results.md", "accuracy.png", "gradients.png", "study.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0
        assert os.stat(os.path.join(out, name)).st_mode & 0o777 == 0o666 & ~umask
    with open(os.path.join(out, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [(r["estimator"], r["seed"]) for r in rows] == [("fda:n=9", "0"), ("ste_sign", "0")]
    cells = {c["estimator"]: c for c in load_cells(out)}
    for row in rows:  # the CSV holds what the cells measured
        assert float(row["test_accuracy"]) == pytest.approx(
            cells[row["estimator"]]["test_accuracy"], abs=1e-4
        )
    first = {
        n: os.path.getmtime(os.path.join(out, "cells", n))
        for n in os.listdir(os.path.join(out, "cells"))
    }
    capsys.readouterr()
    # a second seed: only the two new cells run, the finished ones are untouched
    summary = run_study(StudySettings(**TINY), ["ste_sign", "fda:n=9"], 2, out, verbose=0)
    assert "2 of 4 cells to run" in capsys.readouterr().out
    assert all(summary[e][2] == 2 for e in summary)
    for name, mtime in first.items():
        assert os.path.getmtime(os.path.join(out, "cells", name)) == mtime
    # other settings in the same folder are refused with the reason
    with pytest.raises(KerasFDAError, match="epochs differ"):
        run_study(StudySettings(**{**TINY, "epochs": 2}), ["ste_sign"], 1, out, verbose=0)
    for knob in ({"recipe": "paper-sgd"}, {"noise_weight_decay": 0.1}, {"alpha_zero_at": 0.7}):
        with pytest.raises(KerasFDAError, match=f"{next(iter(knob))} differ"):
            run_study(StudySettings(**TINY, **knob), ["ste_sign"], 1, out, verbose=0)


@needs_data
def test_hypothesis_knobs_are_recorded_in_the_study(tmp_path):
    out = str(tmp_path / "knobs")
    settings = StudySettings(**TINY, recipe="paper-sgd", alpha_zero_at=0.5)
    run_study(settings, ["fda+noise"], 1, out, verbose=0)
    with open(os.path.join(out, "study.json")) as f:
        recorded = json.load(f)
    assert (recorded["recipe"], recorded["noise_weight_decay"], recorded["alpha_zero_at"]) == (
        "paper-sgd",
        0.0,
        0.5,
    )
    report = open(os.path.join(out, "results.md")).read()
    assert "recipe: paper-sgd; noise weight decay: 0; noise alpha reaches 0 at 0.5" in report
    # the same settings resume: nothing left to run
    assert run_study(settings, ["fda+noise"], 1, out, verbose=0)["fda+noise"][2] == 1


@needs_data
def test_mixed_bfloat16_study_trains_and_saves_float32_models(tmp_path):
    from keras_fda.study import model_path

    import tensorflow as tf

    out = str(tmp_path / "bf16")
    settings = StudySettings(**TINY, precision="mixed_bfloat16")
    run_study(settings, ["fda"], 1, out, verbose=0, save_models=True)
    assert tf.keras.mixed_precision.global_policy().name == "float32"  # restored
    with open(os.path.join(out, "study.json")) as f:
        assert json.load(f)["precision"] == "mixed_bfloat16"
    assert "precision: mixed_bfloat16" in open(os.path.join(out, "results.md")).read()
    saved = tf.keras.models.load_model(model_path(out, "fda", 0))
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    # a study folder from before the option (no "precision" key) resumes as float32
    old = str(tmp_path / "old")
    run_study(StudySettings(**TINY), ["ste_sign"], 1, old, verbose=0)
    with open(os.path.join(old, "study.json")) as f:
        key = json.load(f)
    for option in ("precision", "recipe", "noise_weight_decay", "alpha_zero_at"):
        del key[option]
    with open(os.path.join(old, "study.json"), "w") as f:
        json.dump(key, f)
    assert run_study(StudySettings(**TINY), ["ste_sign"], 1, old, verbose=0)["ste_sign"][2] == 1


def test_ordering_check_reports_holds_and_breaks():
    holds = {
        "fda+noise": (92.0, 0.1, 3, 1),
        "fda": (91.5, 0.1, 3, 1),
        "ede": (91.0, 0.2, 3, 1),
        "ste_sign": (90.0, 0.3, 3, 1),
    }
    assert ordering_check(holds).startswith("Ordering check: holds")
    broken = {**holds, "ede": (91.9, 0.2, 3, 1)}
    message = ordering_check(broken)
    assert "does NOT hold" in message and "fda 91.50 < ede 91.90" in message


def test_missing_cifar_directory_is_one_line(tmp_path):
    result = keras_fda(
        "compare",
        "--dataset",
        "cifar10",
        "--data-dir",
        str(tmp_path / "none"),
        "--output",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert_one_line_error(result, "CIFAR-10 not found", "cifar-10-python.tar.gz")
    assert not (tmp_path / "r").exists()


def test_noise_weight_decay_with_paper_sgd_is_one_line(tmp_path):
    result = keras_fda(
        "compare",
        "--estimators",
        "fda+noise",
        "--recipe",
        "paper-sgd",
        "--noise-weight-decay",
        "0.01",
        "--output",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert_one_line_error(result, "already decays every weight")
    assert not (tmp_path / "r").exists()


def test_unknown_estimator_option_is_one_line(tmp_path):
    result = keras_fda(
        "compare", "--estimators", "fda:eta=sin", "--output", str(tmp_path / "r"), cwd=tmp_path
    )
    assert_one_line_error(result, "estimator option 'eta=sin'")
    assert not (tmp_path / "r").exists()
