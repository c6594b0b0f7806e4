"""The noise adaptation module of FDA (Xu et al., NeurIPS 2021, arXiv 2103.00841).

The truncated Fourier series s_n leaves an error against the true sign; FDA models it
with a small learned residual branch added to the binarized output during training:

    e(x) = relu(x W1) W2 + eta(x),      eta(x) = a * sin(x)   (a = 0.1, fixed)

W1 is d x h and W2 is h x d, without biases, with h = max(1, d // reduction). The public
code computes d // 64 and so builds a zero-width layer for d < 64; the max() guards it.

* On activations the MLP mixes the channel axis at every spatial position (d = channels).
* On weights it mixes the flattened fan-in of each output channel
  (d = kh * kw * c_in for a conv kernel, the last axis being the output channels).
"""

import math

import tensorflow as tf

ETA_CHOICES = ("sin", "linear", "none")
TARGET_CHOICES = ("activations", "weights")


class NoiseAdaptation(tf.keras.layers.Layer):
    """Learned estimate of the sign's truncation error: `e(x) = relu(x W1) W2 + eta(x)`.

    Arguments:
        reduction: k, the ratio of input width d to hidden width (hidden = max(1, d // k)).
        eta: the fixed part, `"sin"` (a sin x, the paper's best), `"linear"` (a x) or
            `"none"` (0): the paper's ablation reports 86.20 / 85.93 / 85.27 on CIFAR-10.
        eta_scale: a.
        target: `"activations"` (mix channels) or `"weights"` (mix the fan-in of each
            output channel; the last axis of the tensor is the output channel).

    Example:
        ```python
        noise = NoiseAdaptation(target="activations")
        e = noise(tf.random.normal([8, 14, 14, 64]))   # same shape as its input
        ```
    """

    def __init__(self, reduction=64, eta="sin", eta_scale=0.1, target="activations", **kwargs):
        super().__init__(**kwargs)
        if eta not in ETA_CHOICES:
            raise ValueError(f"eta must be one of {ETA_CHOICES}, got {eta!r}")
        if target not in TARGET_CHOICES:
            raise ValueError(f"target must be one of {TARGET_CHOICES}, got {target!r}")
        if int(reduction) < 1:
            raise ValueError(f"reduction must be a positive integer, got {reduction!r}")
        self.reduction = int(reduction)
        self.eta = eta
        self.eta_scale = float(eta_scale)
        self.target = target

    def build(self, input_shape):
        shape = tf.TensorShape(input_shape)
        if self.target == "weights":
            width = math.prod(int(d) for d in shape[:-1])
        else:
            width = int(shape[-1])
        hidden = max(1, width // self.reduction)

        # PyTorch's nn.Linear default, U(+-1/sqrt(fan_in)), as in the public training code.
        def init():
            return tf.keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform")

        self.w1 = self.add_weight(name="w1", shape=(width, hidden), initializer=init())
        self.w2 = self.add_weight(name="w2", shape=(hidden, width), initializer=init())
        super().build(input_shape)

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        if self.target == "weights":
            out_channels = tf.shape(x)[-1]
            per_channel = tf.transpose(tf.reshape(x, [-1, out_channels]))  # (c_out, d)
            mixed = tf.matmul(tf.nn.relu(tf.matmul(per_channel, self.w1)), self.w2)
            learned = tf.reshape(tf.transpose(mixed), tf.shape(x))
        else:
            hidden = tf.nn.relu(tf.tensordot(x, self.w1, axes=[[x.shape.rank - 1], [0]]))
            learned = tf.tensordot(hidden, self.w2, axes=[[x.shape.rank - 1], [0]])
            learned.set_shape(x.shape)
        if self.eta == "sin":
            return learned + self.eta_scale * tf.sin(x)
        if self.eta == "linear":
            return learned + self.eta_scale * x
        return learned

    def get_config(self):
        return {
            **super().get_config(),
            "reduction": self.reduction,
            "eta": self.eta,
            "eta_scale": self.eta_scale,
            "target": self.target,
        }
