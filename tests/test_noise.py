"""Noise adaptation: e(x) = relu(x W1) W2 + a sin(x), checked against NumPy, on
activations and weights, composed with every estimator."""

from keras_fda import quantizers as kq

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import binary_conv


def numpy_noise(x, w1, w2, target, eta="sin", a=0.1):
    x = x.astype(np.float64)
    if target == "weights":
        per_channel = x.reshape(-1, x.shape[-1]).T
        learned = (np.maximum(per_channel @ w1, 0) @ w2).T.reshape(x.shape)
    else:
        learned = np.maximum(x @ w1, 0) @ w2
    fixed = {"sin": a * np.sin(x), "linear": a * x, "none": 0.0}[eta]
    return learned + fixed


def sign(x):
    return np.where(x < 0, -1.0, 1.0)


@pytest.mark.parametrize(
    "shape,target,hidden",
    [
        ((2, 5, 5, 32), "activations", 1),  # d < 64: the max(1, .) guard
        ((2, 3, 3, 128), "activations", 2),
        ((3, 3, 32, 16), "weights", 4),  # d = 3*3*32 = 288
        ((64, 10), "weights", 1),  # a dense kernel, d = 64
    ],
)
@pytest.mark.parametrize("eta", ["sin", "linear", "none"])
def test_training_forward_is_sign_plus_alpha_e(shape, target, hidden, eta):
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    q = kq.FDA(noise_adaptation=True, noise_eta=eta, noise_alpha=0.3, target=target)
    y = q(x, training=True).numpy()
    w1, w2 = q.noise.w1.numpy(), q.noise.w2.numpy()
    assert w1.shape[1] == hidden and w2.shape[0] == hidden
    expected = sign(x) + 0.3 * numpy_noise(x, w1, w2, target, eta)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_inference_and_zero_alpha_give_pure_sign():
    x = np.random.default_rng(2).normal(size=(4, 6, 6, 32)).astype(np.float32)
    x[0, 0, 0, :4] = 0.0
    q = kq.FDA(noise_adaptation=True)
    np.testing.assert_array_equal(q(x, training=False).numpy(), sign(x))
    np.testing.assert_array_equal(q(x).numpy(), sign(x))  # no training flag: inference
    assert not np.array_equal(q(x, training=True).numpy(), sign(x))
    q.alpha.assign(0.0)
    np.testing.assert_array_equal(q(x, training=True).numpy(), sign(x))


@pytest.mark.parametrize(
    "make",
    [
        lambda: kq.EDE(noise_adaptation=True, noise_alpha=0.2),
        lambda: kq.ApproxSign(noise_adaptation=True, noise_alpha=0.2),
        lambda: kq.NoiseAdapted("ste_sign", noise_alpha=0.2),
        lambda: kq.NoiseAdapted(lq.quantizers.SwishSign(), noise_alpha=0.2),
    ],
    ids=["ede", "approx_sign", "ste_sign", "swish_sign"],
)
def test_composes_with_other_estimators(make):
    x = np.random.default_rng(3).uniform(-1.5, 1.5, size=(2, 4, 4, 64)).astype(np.float32)
    q = make()
    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        y = q(xt, training=True)
        noise = q.noise(xt)
    expected = sign(x) + 0.2 * numpy_noise(x, q.noise.w1.numpy(), q.noise.w2.numpy(), "activations")
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-5)
    # backward = the estimator's gradient + alpha * de/dx (no straight-through detach)
    plain = (
        type(q)(**{**q.get_config(), "noise_adaptation": False})
        if not isinstance(q, kq.NoiseAdapted)
        else q.quantizer
    )
    with tf.GradientTape() as tape2:
        tape2.watch(xt)
        y_plain = plain(xt)
    g = tape.gradient(y, xt).numpy()
    g_expected = tape2.gradient(y_plain, xt).numpy() + 0.2 * tape.gradient(noise, xt).numpy()
    np.testing.assert_allclose(g, g_expected, rtol=1e-5, atol=1e-6)


def test_noise_weights_train_end_to_end_and_roles_are_detected():
    q_in = kq.FDA(noise_adaptation=True)
    q_k = kq.FDA(noise_adaptation=True)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((8, 8, 32)),
            binary_conv(32, q_in, q_k),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(2),
        ]
    )
    assert q_in.role == "activations" and q_in.noise.w1.shape == (32, 1)
    assert q_k.role == "weights" and q_k.noise.w1.shape == (288, 4)
    noise_weights = [q_in.noise.w1, q_in.noise.w2, q_k.noise.w1, q_k.noise.w2]
    trainable = {id(v) for v in model.trainable_weights}
    assert all(id(w) in trainable for w in noise_weights)
    x = np.random.default_rng(4).normal(size=(16, 8, 8, 32)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=True)))
    grads = tape.gradient(loss, noise_weights)
    assert all(g is not None and np.abs(g.numpy()).max() > 0 for g in grads)
