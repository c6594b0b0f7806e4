"""Schedules: the values each epoch against the spec's formulas (written here), in nested
models, for input and kernel quantizers, without retracing the training step."""

import keras_fda
from keras_fda import quantizers as kq

import math

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import binary_conv

EPOCHS = 5


class Recorder(tf.keras.callbacks.Callback):
    """Reads every schedule variable at the first batch of each epoch."""

    def __init__(self, quantizers):
        super().__init__()
        self.quantizers = quantizers
        self.seen = []
        self.tracing_counts = []

    def on_epoch_end(self, epoch, logs=None):
        self.tracing_counts.append(self.model.train_function.experimental_get_tracing_count())

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.seen.append(
                [{name: float(v.numpy()) for name, v in q_vars(q).items()} for q in self.quantizers]
            )


def q_vars(q):
    out = {}
    if isinstance(q, kq.FDA):
        out["n"] = q.n_terms_variable
    if isinstance(q, kq.EDE):
        out["t"], out["k"] = q.t_variable, q.k_variable
    if isinstance(q, kq.ReSTE):
        out["o"] = q.o_variable
    if q.noise is not None:
        out["alpha"] = q.alpha
    return out


def spec_n(e, E):
    return 9 + math.floor(9 * e / E)


def spec_t_k(e, E, t_min=0.1, t_max=10.0):
    t = 10 ** (math.log10(t_min) + (math.log10(t_max) - math.log10(t_min)) * e / E)
    return t, max(1.0, 1.0 / t)


def spec_alpha(e, E):
    return 0.05 * (1 + math.cos(math.pi * (e + 1) / E))


def spec_o(e, E, o_end=3.0):
    """ReSTE's power: the authors' main.py, beta = 1 - cos(pi/2 e/E), o = 1 + beta (o_end - 1)."""
    return 1 + (1 - math.cos(e / E * math.pi * 0.5)) * (o_end - 1)


def nested_model():
    """An inner functional model used as a layer of an outer one."""
    quantizers = {
        "fda_in": kq.FDA(noise_adaptation=True),
        "fda_k": kq.FDA(),
        "ede_in": kq.EDE(),
        "ede_k": kq.EDE(noise_adaptation=True),
        "ste_in": kq.NoiseAdapted("ste_sign"),
        "ste_k": lq.quantizers.SteSign(),
        "reste_in": kq.ReSTE(noise_adaptation=True),
        "reste_k": kq.ReSTE(),
    }
    inner_in = tf.keras.Input((6, 6, 32))
    h = binary_conv(32, quantizers["fda_in"], quantizers["fda_k"])(inner_in)
    h = binary_conv(32, quantizers["ede_in"], quantizers["ede_k"])(h)
    h = binary_conv(32, quantizers["reste_in"], quantizers["reste_k"])(h)
    inner = tf.keras.Model(inner_in, h, name="inner")
    outer_in = tf.keras.Input((6, 6, 32))
    h = inner(outer_in)
    h = binary_conv(32, quantizers["ste_in"], quantizers["ste_k"])(h)
    out = tf.keras.layers.Dense(3)(tf.keras.layers.GlobalAveragePooling2D()(h))
    return tf.keras.Model(outer_in, out), quantizers


def test_find_quantizers_reaches_nested_input_and_kernel_quantizers():
    model, quantizers = nested_model()
    found = keras_fda.callbacks.find_quantizers(model)
    ours = [q for q in quantizers.values() if isinstance(q, kq.SignEstimator)]
    assert len(found) == len(ours)
    assert all(any(f is q for f in found) for q in ours)


def test_schedules_follow_formulas_each_epoch_without_retracing():
    model, quantizers = nested_model()
    tracked = [q for q in quantizers.values() if isinstance(q, kq.SignEstimator)]
    recorder = Recorder(tracked)
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).normal(size=(32, 6, 6, 32)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, size=32)
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[*keras_fda.callbacks.default(), recorder],
    )
    assert len(recorder.seen) == EPOCHS
    for epoch, values in enumerate(recorder.seen):
        t, k = spec_t_k(epoch, EPOCHS)
        for _q, v in zip(tracked, values):
            if "n" in v:
                assert v["n"] == spec_n(epoch, EPOCHS)
            if "t" in v:
                assert v["t"] == pytest.approx(t, rel=1e-6)
                assert v["k"] == pytest.approx(k, rel=1e-6)
            if "o" in v:
                assert v["o"] == pytest.approx(spec_o(epoch, EPOCHS), rel=1e-6)
            if "alpha" in v:
                assert v["alpha"] == pytest.approx(spec_alpha(epoch, EPOCHS), abs=1e-7)
    assert recorder.seen[-1][0]["alpha"] == 0.0  # exactly zero at the last epoch
    assert recorder.seen[0][-1]["o"] == 1.0  # ReSTE starts as the clipped STE
    assert history.history["fda_n_terms"] == [spec_n(e, EPOCHS) for e in range(EPOCHS)]
    assert history.history["reste_o"] == pytest.approx([spec_o(e, EPOCHS) for e in range(EPOCHS)])
    # the values changed every epoch; the step was never traced again after the first
    # epoch (Keras traces twice there, with or without schedules: variable creation)
    assert len(set(recorder.tracing_counts)) == 1


def test_schedule_honours_initial_epoch_and_explicit_epochs():
    model, quantizers = nested_model()
    recorder = Recorder([quantizers["fda_in"]])
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.zeros((8, 6, 6, 32), np.float32)
    y = np.zeros(8, np.int64)
    model.fit(
        x,
        y,
        epochs=10,
        initial_epoch=8,
        verbose=0,
        callbacks=[*keras_fda.callbacks.default(epochs=20), recorder],
    )
    assert [v[0]["n"] for v in recorder.seen] == [spec_n(8, 20), spec_n(9, 20)]
    assert recorder.seen[0][0]["alpha"] == pytest.approx(spec_alpha(8, 20), abs=1e-7)
    reste = Recorder([quantizers["reste_k"]])
    model.fit(
        x,
        y,
        epochs=13,
        initial_epoch=12,
        verbose=0,
        callbacks=[*keras_fda.callbacks.default(epochs=20), reste],
    )
    assert reste.seen[0][0]["o"] == pytest.approx(spec_o(12, 20), rel=1e-6)


@pytest.mark.parametrize("epochs, zero_at", [(8, 0.7), (20, 0.7), (5, 1.0), (3, 0.1)])
def test_alpha_reaches_zero_at_the_given_fraction_and_stays_there(epochs, zero_at):
    """alpha follows the paper's cosine over D = round(zero_at E) epochs: the spec's
    0.05 (1 + cos(pi (e + 1) / D)), 0 from epoch D - 1 to the end."""
    quantizer = kq.FDA(noise_adaptation=True)
    model = tf.keras.Sequential(
        [tf.keras.Input((32,)), lq.layers.QuantDense(2, input_quantizer=quantizer)]
    )
    recorder = Recorder([quantizer])
    model.compile("sgd", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(
        np.ones((4, 32), np.float32),
        np.zeros(4, np.int64),
        epochs=epochs,
        verbose=0,
        callbacks=[*keras_fda.callbacks.default(alpha_zero_at=zero_at), recorder],
    )
    decay = max(1, round(zero_at * epochs))
    expected = [spec_alpha(e, decay) if e < decay - 1 else 0.0 for e in range(epochs)]
    assert [v[0]["alpha"] for v in recorder.seen] == pytest.approx(expected, abs=1e-7)
    assert history.history["noise_alpha"] == pytest.approx(expected, abs=1e-7)
    assert expected[decay - 1 :] == [0.0] * (epochs - decay + 1)
    if zero_at == 1.0:  # the default is the paper's schedule
        assert expected == pytest.approx([spec_alpha(e, epochs) for e in range(epochs - 1)] + [0.0])


def test_alpha_zero_at_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="zero_at"):
        keras_fda.callbacks.NoiseAlphaSchedule(zero_at=0.0)
    with pytest.raises(ValueError, match="zero_at"):
        keras_fda.callbacks.default(alpha_zero_at=1.5)


def test_without_callbacks_the_documented_defaults_hold():
    q_fda, q_ede, q_noise = kq.FDA(), kq.EDE(), kq.ApproxSign(noise_adaptation=True)
    for q in (q_fda, q_ede, q_noise):
        q(tf.zeros((1, 32)))
    assert q_fda.n_terms_variable.numpy() == 9
    assert q_ede.t_variable.numpy() == pytest.approx(0.1)
    assert q_ede.k_variable.numpy() == pytest.approx(10.0)
    assert q_noise.alpha.numpy() == pytest.approx(0.1)
