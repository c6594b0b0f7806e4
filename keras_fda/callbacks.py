"""Per-epoch schedules of the estimators' hyperparameters, as Keras callbacks.

Each callback finds every matching keras_fda quantizer in the model (nested models,
input and kernel quantizers alike) and assigns its schedule variable at the start of
every epoch; the compiled training step reads the variable, so nothing is retraced.
The value used is added to the epoch's logs (and so to `History`).

    model.fit(x, y, epochs=E, callbacks=keras_fda.callbacks.default())

`epochs` defaults to the `epochs` given to `fit`; pass it when training is split over
several `fit` calls. Epochs count from 0 and `initial_epoch` is honoured, so a resumed
run continues the schedule where it stopped.
"""

from keras_fda.quantizers import EDE, FDA, ReSTE, SignEstimator

import math

import tensorflow as tf

__all__ = [
    "FourierTermsSchedule",
    "ErrorDecaySchedule",
    "NoiseAlphaSchedule",
    "RectifiedPowerSchedule",
    "default",
    "find_quantizers",
    "fourier_terms",
    "error_decay_t_k",
    "noise_alpha",
    "rectified_power",
]


def fourier_terms(epoch, epochs, n_start=9, n_end=18):
    """FDA's n at `epoch`: n_start + floor((n_end - n_start) * epoch / epochs)."""
    return n_start + math.floor((n_end - n_start) * epoch / epochs)


def error_decay_t_k(epoch, epochs, t_min=0.1, t_max=10.0):
    """IR-Net's (t, k) at `epoch`: t log-linear from t_min to t_max, k = max(1, 1/t)."""
    log_t = math.log10(t_min) + (math.log10(t_max) - math.log10(t_min)) * epoch / epochs
    t = 10.0**log_t
    return t, max(1.0, 1.0 / t)


def noise_alpha(epoch, epochs, alpha_max=0.1, zero_at=1.0):
    """The noise branch's weight: alpha_max / 2 * (1 + cos(pi (epoch + 1) / D)).

    D = max(1, round(zero_at * epochs)) is the length of the decay: alpha is about
    alpha_max at the start, exactly 0 from epoch D - 1 on. With zero_at = 1 (the paper)
    it reaches 0 only at the last epoch; zero_at = 0.7 leaves the last 30% at 0.
    """
    decay_epochs = decay_length(epochs, zero_at)
    if epoch >= decay_epochs - 1:
        return 0.0
    return 0.5 * alpha_max * (1.0 + math.cos(math.pi * (epoch + 1) / decay_epochs))


def decay_length(epochs, zero_at):
    """Epochs over which alpha decays: round(zero_at * epochs), at least 1."""
    if not 0.0 < zero_at <= 1.0:
        raise ValueError(f"alpha's zero_at must be in (0, 1], got {zero_at!r}")
    return max(1, min(epochs, round(zero_at * epochs)))


def rectified_power(epoch, epochs, o_end=3.0):
    """ReSTE's o at `epoch`: 1 + (o_end - 1) (1 - cos(pi/2 epoch / epochs)), from 1 towards
    o_end (the authors' `main.py`)."""
    return 1.0 + (o_end - 1.0) * (1.0 - math.cos(0.5 * math.pi * epoch / epochs))


def find_quantizers(model, kind=SignEstimator):
    """Every quantizer of type `kind` reachable from `model`, each once."""
    found = []
    for module in model.submodules:
        if isinstance(module, kind) and module.built and not any(module is f for f in found):
            found.append(module)
    return found


class _EpochSchedule(tf.keras.callbacks.Callback):
    """Assign values to quantizer variables at the start of each epoch."""

    kind = SignEstimator
    log_names = ()

    def __init__(self, epochs=None, verbose=0):
        super().__init__()
        self.epochs = epochs
        self.verbose = verbose
        self._quantizers = []
        self._current = {}

    def on_train_begin(self, logs=None):
        if self.epochs is None:
            self.epochs = (self.params or {}).get("epochs")
        if not self.epochs:
            raise ValueError(f"{type(self).__name__} needs the number of epochs")
        self._quantizers = [q for q in find_quantizers(self.model, self.kind) if self.applies(q)]

    def applies(self, quantizer):
        return True

    def values(self, epoch):
        """Mapping of log name to value at `epoch`."""
        raise NotImplementedError

    def assign(self, quantizer, values):
        raise NotImplementedError

    def on_epoch_begin(self, epoch, logs=None):
        self._current = self.values(epoch)
        for quantizer in self._quantizers:
            self.assign(quantizer, self._current)
        if self.verbose and self._quantizers:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in self._current.items())
            print(
                f"{type(self).__name__}: epoch {epoch + 1}: {shown} "
                f"({len(self._quantizers)} quantizers)"
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._quantizers:
            logs.update(self._current)


class FourierTermsSchedule(_EpochSchedule):
    """Grow FDA's number of Fourier terms: n = n_start + floor((n_end - n_start) e / E).

    The defaults (9 to 18) are the paper's best setting and the public training code's
    `9 + floor(9 * epoch / epochs)`.
    """

    kind = FDA

    def __init__(self, n_start=9, n_end=18, **kwargs):
        super().__init__(**kwargs)
        self.n_start = n_start
        self.n_end = n_end

    def values(self, epoch):
        return {"fda_n_terms": float(fourier_terms(epoch, self.epochs, self.n_start, self.n_end))}

    def assign(self, quantizer, values):
        quantizer.n_terms_variable.assign(values["fda_n_terms"])


class ErrorDecaySchedule(_EpochSchedule):
    """IR-Net's EDE schedule: t = 10^(log10 t_min + (log10 t_max - log10 t_min) e / E),
    k = max(1, 1/t)."""

    kind = EDE

    def __init__(self, t_min=0.1, t_max=10.0, **kwargs):
        super().__init__(**kwargs)
        self.t_min = t_min
        self.t_max = t_max

    def values(self, epoch):
        t, k = error_decay_t_k(epoch, self.epochs, self.t_min, self.t_max)
        return {"ede_t": t, "ede_k": k}

    def assign(self, quantizer, values):
        quantizer.t_variable.assign(values["ede_t"])
        quantizer.k_variable.assign(values["ede_k"])


class NoiseAlphaSchedule(_EpochSchedule):
    """Decay the noise branch's alpha, cosine-shaped, from ~alpha_max to exactly 0 at the
    last epoch: alpha = alpha_max / 2 * (1 + cos(pi (e + 1) / E)).

    `zero_at` < 1 ends the decay earlier: over D = round(zero_at E) epochs, 0 from epoch
    D - 1 on (see `noise_alpha`).
    """

    def __init__(self, alpha_max=0.1, zero_at=1.0, **kwargs):
        super().__init__(**kwargs)
        decay_length(1, zero_at)  # reject a bad zero_at now, not at the first epoch
        self.alpha_max = alpha_max
        self.zero_at = zero_at

    def applies(self, quantizer):
        return quantizer.noise is not None

    def values(self, epoch):
        return {"noise_alpha": noise_alpha(epoch, self.epochs, self.alpha_max, self.zero_at)}

    def assign(self, quantizer, values):
        quantizer.alpha.assign(values["noise_alpha"])


class RectifiedPowerSchedule(_EpochSchedule):
    """Grow ReSTE's power: o = 1 + (o_end - 1) (1 - cos(pi/2 e / E)), o_end = 3 as in the
    authors' code (o = 1 at the first epoch: clipped straight-through)."""

    kind = ReSTE

    def __init__(self, o_end=3.0, **kwargs):
        super().__init__(**kwargs)
        self.o_end = o_end

    def values(self, epoch):
        return {"reste_o": rectified_power(epoch, self.epochs, self.o_end)}

    def assign(self, quantizer, values):
        quantizer.o_variable.assign(values["reste_o"])


def default(epochs=None, verbose=0, alpha_zero_at=1.0):
    """The four schedules with the papers' settings (`alpha_zero_at` < 1 ends the noise
    alpha's decay early). Each touches only the quantizers it applies to, so the list is
    safe for any model."""
    return [
        FourierTermsSchedule(epochs=epochs, verbose=verbose),
        ErrorDecaySchedule(epochs=epochs, verbose=verbose),
        RectifiedPowerSchedule(epochs=epochs, verbose=verbose),
        NoiseAlphaSchedule(epochs=epochs, verbose=verbose, zero_at=alpha_zero_at),
    ]
