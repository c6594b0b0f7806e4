"""Quantizers: forward values, gradients against the spec's formulas written here in
NumPy (independently of the closed forms in keras_fda), and serialization."""

import keras_fda
from keras_fda import quantizers as kq

import math

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

# A grid that includes exact zeros, the clip edges |x| = 1 and points beyond them.
GRID = np.concatenate(
    [np.linspace(-1.5, 1.5, 301), [0.0, -0.0, 1.0, -1.0, 1e-7, -1e-7, 0.873, 0.874]]
).astype(np.float32)


def numpy_fda(x, n, omega=0.1, clip=True):
    """The defining sum of cosines, term by term (ESTIMATORS.md)."""
    x = x.astype(np.float64)
    total = sum(np.cos((2 * i + 1) * omega * x) for i in range(n + 1))
    grad = 4 * omega / math.pi * total
    return np.where(np.abs(x) > 1, 0.0, grad) if clip else grad


def numpy_ede(x, t, k):
    return k * t * (1 - np.tanh(t * x.astype(np.float64)) ** 2)


def numpy_approx_sign(x):
    x = x.astype(np.float64)
    return np.where(np.abs(x) < 1, 2 - 2 * np.abs(x), 0.0)


def numpy_reste(x, o, threshold=1.5, interval=0.1):
    """ReSTE's backward as the authors' Binary_ReSTE writes it: the derivative of
    |x|^(1/o) on interval < |x| <= threshold, the secant slope interval^(1/o) / interval
    on |x| <= interval, 0 beyond. The regions are decided in float32, as their float32
    tensors compare with the Python constants; the values are computed in float64."""
    abs32 = np.abs(x.astype(np.float32))
    edge, clip = np.float32(interval), np.float32(threshold)
    a = abs32.astype(np.float64)
    with np.errstate(divide="ignore"):
        power = (1 / o) * a ** ((1 - o) / o)
    secant = interval ** (1 / o) / interval
    grad = np.where(abs32 <= edge, secant, power)
    return np.where(abs32 > clip, 0.0, grad)


RESTE_GRID = np.concatenate(
    [
        np.linspace(-2, 2, 401),
        [0.0, -0.0, 1e-7, -1e-7, 0.1, -0.1, 0.1001, -0.0999, 1.5, -1.5, 1.5001, -1.4999],
    ]
).astype(np.float32)


def gradient(quantizer, x, training=True):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = quantizer(x, training=training)
    return y.numpy(), tape.gradient(y, x).numpy()


def expected_sign(x):
    return np.where(x < 0, -1.0, 1.0)


@pytest.mark.parametrize("n", [0, 1, 5, 9, 17, 18])
def test_fda_gradient_matches_fourier_sum(n):
    y, g = gradient(kq.FDA(n_terms=n), GRID)
    np.testing.assert_array_equal(y, expected_sign(GRID))
    np.testing.assert_allclose(g, numpy_fda(GRID, n), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("dtype, ulp", [(tf.bfloat16, 2.0**-7), (tf.float16, 2.0**-10)])
def test_half_precision_gradient_is_the_float32_formula_rounded_once(dtype, ulp):
    """Mixed precision: the bf16/f16 input is exact, so its gradient is the sum of cosines at
    that input, rounded to the half type: within one half-precision ulp of it (a phase
    computed in bf16 is off by more near n = 18's peaks)."""
    x_half = tf.cast(tf.constant(np.linspace(-1.0, 1.0, 4001, dtype=np.float32)), dtype)
    exact_x = tf.cast(x_half, tf.float32).numpy()
    policy = "mixed_bfloat16" if dtype == tf.bfloat16 else "mixed_float16"
    _, g = gradient(kq.FDA(n_terms=18, dtype=policy), x_half)
    assert g.dtype == x_half.dtype.as_numpy_dtype
    np.testing.assert_allclose(g.astype(np.float64), numpy_fda(exact_x, 18), rtol=ulp, atol=1e-5)


@pytest.mark.parametrize("omega", [0.05, 0.1, 0.5])
def test_fda_gradient_without_clip_other_omega(omega):
    _, g = gradient(kq.FDA(n_terms=9, omega=omega, clip=False), GRID)
    np.testing.assert_allclose(g, numpy_fda(GRID, 9, omega, clip=False), rtol=2e-5, atol=2e-6)


def test_fda_gradient_at_zero_and_clip_edges():
    _, g = gradient(kq.FDA(n_terms=9), np.array([0.0, 1.0, -1.0, 1.0001], np.float32))
    assert g[0] == pytest.approx(4 * 0.1 / math.pi * 10, rel=1e-6)  # n + 1 cosines of 0
    assert g[1] == pytest.approx(numpy_fda(np.array([1.0]), 9)[0], rel=1e-5)  # kept at |x| = 1
    assert g[2] == g[1]
    assert g[3] == 0.0  # clipped beyond


def test_fda_negative_lobe_for_n_17():
    """The spec's caution: with n = 17, w = 0.1 the estimate is negative for |x| > 0.873."""
    _, g = gradient(kq.FDA(n_terms=17), np.array([0.86, 0.872, 0.875, 0.95, -0.95], np.float32))
    assert g[0] > 0 and g[1] > 0
    assert (g[2:] < 0).all()


@pytest.mark.parametrize("t", [0.1, 1.0, 3.7, 10.0])
def test_ede_gradient(t):
    k = max(1.0, 1.0 / t)
    y, g = gradient(kq.EDE(t=t), GRID)
    np.testing.assert_array_equal(y, expected_sign(GRID))
    np.testing.assert_allclose(g, numpy_ede(GRID, t, k), rtol=1e-5, atol=1e-6)


def test_ede_explicit_k():
    _, g = gradient(kq.EDE(t=2.0, k=3.0), GRID)
    np.testing.assert_allclose(g, numpy_ede(GRID, 2.0, 3.0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("o", [1.0, 1.37, 2.0, 3.0])
def test_reste_gradient_matches_the_authors_formula(o):
    y, g = gradient(kq.ReSTE(o=o), RESTE_GRID)
    np.testing.assert_array_equal(y, expected_sign(RESTE_GRID))
    np.testing.assert_allclose(g, numpy_reste(RESTE_GRID, o), rtol=2e-6, atol=1e-7)


def test_reste_gradient_at_zero_and_the_boundaries():
    """o = 3: the secant slope 0.1^(1/3) / 0.1 on |x| <= 0.1 (x = 0 included), the power
    derivative just above 0.1 and at |x| = 1.5, nothing beyond; o = 1 is the clipped STE."""
    x = np.array([0.0, 0.1, -0.1, 0.1001, 1.5, -1.5, 1.5001], np.float32)
    _, g = gradient(kq.ReSTE(o=3.0), x)
    secant = 0.1 ** (1 / 3) / 0.1
    assert g[0] == pytest.approx(secant, rel=1e-6)
    assert g[1] == g[2] == g[0]
    assert g[3] == pytest.approx(1 / 3 * 0.1001 ** (-2 / 3), rel=1e-5)
    assert g[4] == g[5] == pytest.approx(1 / 3 * 1.5 ** (-2 / 3), rel=1e-6)
    assert g[6] == 0.0
    _, g1 = gradient(kq.ReSTE(o=1.0), x)
    np.testing.assert_array_equal(g1, [1, 1, 1, 1, 1, 1, 0])


def test_reste_half_precision_gradient_is_the_formula_rounded_once():
    x_half = tf.cast(tf.constant(np.linspace(-2.0, 2.0, 4001, dtype=np.float32)), tf.bfloat16)
    exact_x = tf.cast(x_half, tf.float32).numpy()
    _, g = gradient(kq.ReSTE(o=3.0, dtype="mixed_bfloat16"), x_half)
    assert g.dtype == x_half.dtype.as_numpy_dtype
    np.testing.assert_allclose(g.astype(np.float64), numpy_reste(exact_x, 3.0), rtol=2.0**-7)


def test_approx_sign_gradient_matches_formula_and_larq():
    y, g = gradient(kq.ApproxSign(), GRID)
    np.testing.assert_array_equal(y, expected_sign(GRID))
    np.testing.assert_allclose(g, numpy_approx_sign(GRID), rtol=1e-6, atol=1e-7)
    _, g_larq = gradient(lq.quantizers.get("approx_sign"), GRID)
    np.testing.assert_allclose(g, g_larq, atol=1e-7)


@pytest.mark.parametrize("alias", ["fda", "ede", "fda_approx_sign", "reste"])
def test_inference_forward_is_larq_sign(alias):
    quantizer = lq.quantizers.get(alias)
    y, _ = gradient(quantizer, GRID, training=False)
    np.testing.assert_array_equal(y, lq.math.sign(GRID).numpy())
    np.testing.assert_array_equal(y[GRID == 0], 1.0)  # sign(0) = +1


def test_aliases_resolve_to_our_classes():
    assert isinstance(lq.quantizers.get("fda"), kq.FDA)
    assert isinstance(lq.quantizers.get("ede"), kq.EDE)
    assert isinstance(lq.quantizers.get("fda_approx_sign"), kq.ApproxSign)
    assert isinstance(lq.quantizers.get("reste"), kq.ReSTE)
    # Larq's own alias is left alone.
    assert isinstance(lq.quantizers.get("approx_sign"), lq.quantizers.ApproxSign)


def test_schedule_variable_changes_gradient_without_new_quantizer():
    quantizer = kq.FDA(n_terms=9)
    _, g9 = gradient(quantizer, GRID)
    quantizer.n_terms_variable.assign(17.0)
    _, g17 = gradient(quantizer, GRID)
    np.testing.assert_allclose(g9, numpy_fda(GRID, 9), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(g17, numpy_fda(GRID, 17), rtol=2e-5, atol=2e-6)


def test_scale_weights_uses_detached_per_channel_mean():
    w = np.random.default_rng(0).normal(size=(3, 3, 4, 5)).astype(np.float32)
    quantizer = kq.FDA(scale_weights=True, target="weights")
    y, g = gradient(quantizer, w)
    scale = np.abs(w).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(y, expected_sign(w) * scale, rtol=1e-6)
    # detached: the gradient is the estimator's times the scale, no term through mean|w|
    np.testing.assert_allclose(g, numpy_fda(w, 9) * scale, rtol=2e-5, atol=2e-6)
    # activations are never scaled
    y_act, _ = gradient(kq.FDA(scale_weights=True, target="activations"), w)
    np.testing.assert_array_equal(y_act, expected_sign(w))


@pytest.mark.parametrize(
    "quantizer",
    [
        kq.FDA(n_terms=5, omega=0.2, clip=False, noise_adaptation=True, noise_reduction=8),
        kq.EDE(t=0.5, k=2.0, scale_weights=True, target="weights"),
        kq.ApproxSign(noise_adaptation=True, noise_eta="linear"),
        kq.NoiseAdapted("ste_sign", noise_eta="none", noise_alpha=0.05),
        kq.ReSTE(o=2.5, threshold=1.2, interval=0.05, noise_adaptation=True, target="weights"),
    ],
    ids=["fda", "ede", "approx_sign", "noise_adapted", "reste"],
)
def test_get_config_round_trip(quantizer):
    config = quantizer.get_config()
    restored = type(quantizer).from_config(config)
    assert restored.get_config() == config
    serialized = lq.quantizers.serialize(quantizer)
    again = lq.quantizers.get(serialized)
    assert type(again) is type(quantizer)
    assert again.get_config() == config


def test_precision_is_one_for_model_summaries():
    for cls in (kq.FDA, kq.EDE, kq.ApproxSign, kq.NoiseAdapted, kq.ReSTE):
        assert cls.precision == 1


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="target"):
        kq.FDA(target="bias")
    with pytest.raises(ValueError, match="eta"):
        keras_fda.NoiseAdaptation(eta="cos")
    with pytest.raises(ValueError, match="at least 1"):
        kq.ReSTE(o=0.5)
    with pytest.raises(ValueError, match="interval < threshold"):
        kq.ReSTE(interval=2.0)
